// Palette helpers. Python is the single source of colour: the browser only indexes the (K, 4) uint8 RGBA table.

import type { DecodedArray } from './codecs';

export type Rgba = [number, number, number, number];

/** Grey used only when Python sent no palette at all, so points never vanish. */
export const FALLBACK_RGBA: Rgba = [128, 128, 128, 255];

/** Rows of a (K, 4) uint8 palette as 0..255 RGBA tuples; null or malformed input gives one fallback row. */
export function paletteRows(palette: DecodedArray | null): Rgba[] {
  if (!palette || palette.shape.length !== 2 || palette.shape[1] !== 4 || palette.shape[0] === 0) {
    return [FALLBACK_RGBA];
  }
  const { data } = palette;
  const rows: Rgba[] = [];
  for (let k = 0; k < palette.shape[0]; k++) {
    rows.push([data[4 * k], data[4 * k + 1], data[4 * k + 2], data[4 * k + 3]]);
  }
  return rows;
}

/** RGBA scaled to 0..1, the form regl-scatterplot takes without guessing the range. */
export function toUnitRgba(c: Rgba): Rgba {
  return [c[0] / 255, c[1] / 255, c[2] / 255, c[3] / 255];
}

export function cssColor(c: Rgba): string {
  return `rgba(${c[0]}, ${c[1]}, ${c[2]}, ${+(c[3] / 255).toFixed(3)})`;
}

/** Colour row for a category code: codes beyond the palette wrap, so a short palette still draws every point. */
export function colorForCode(rows: Rgba[], code: number): Rgba {
  return rows[((code % rows.length) + rows.length) % rows.length];
}
