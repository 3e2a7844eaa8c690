// Turns the category / palette traits into regl-scatterplot colour settings.

import { colorForCode, toUnitRgba, type Rgba } from '../lib/colors';
import type { TypedArray } from '../lib/codecs';

export interface ColorEncoding {
  /** One unit RGBA per category code that occurs (or one colour when there are no categories). */
  colors: Rgba[];
  colorBy: 'valueA' | null;
}

/** Largest code present; codes past the palette get a wrapped colour rather than an undefined one. */
export function maxCode(codes: TypedArray): number {
  let m = 0;
  for (let i = 0; i < codes.length; i++) if (codes[i] > m) m = codes[i];
  return m;
}

export function colorEncoding(codes: TypedArray | null, rows: Rgba[]): ColorEncoding {
  if (!codes || codes.length === 0) return { colors: [toUnitRgba(rows[0])], colorBy: null };
  const k = Math.max(rows.length, maxCode(codes) + 1);
  const colors: Rgba[] = [];
  for (let c = 0; c < k; c++) colors.push(toUnitRgba(colorForCode(rows, c)));
  return { colors, colorBy: 'valueA' };
}
