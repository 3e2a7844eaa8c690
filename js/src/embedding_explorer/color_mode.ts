// Colour by value: `values` in [0, 1] through the 256-entry LUT Python sent, NaN drawn grey.
// regl-scatterplot picks colour floor(w * (colours - 1)) for a continuous w, so the LUT gets one extra
// entry (the missing-value grey) and each value is moved to the middle of its LUT bin.

import { toUnitRgba, type Rgba } from '../lib/colors';

/** Colour of missing values (NaN), 0..255 RGBA. */
export const MISSING_RGBA: Rgba = [160, 160, 160, 255];

/** Unit-RGBA colour list for regl-scatterplot: the LUT rows, then the missing-value grey. */
export function valueColors(lut: readonly Rgba[]): Rgba[] {
  return [...lut.map(toUnitRgba), toUnitRgba(MISSING_RGBA)];
}

/**
 * Per-point w column for a LUT of `size` rows: bin k = clamp(floor(v * size), 0, size - 1) (matplotlib's
 * rule, so the live view matches static exports), stored as (k + 0.5) / size; NaN / missing -> 1 (the grey).
 */
export function valueColumn(values: ArrayLike<number>, size: number): Float32Array {
  const out = new Float32Array(values.length);
  const last = size - 1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v - v !== 0) {
      out[i] = 1; // NaN or infinite: missing
      continue;
    }
    const k = Math.min(Math.max(Math.floor(v * size), 0), last);
    out[i] = (k + 0.5) / size;
  }
  return out;
}
