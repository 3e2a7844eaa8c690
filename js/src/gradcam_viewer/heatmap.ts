// The display rule for attribution maps; mirrors colorize() in nbviz/widgets/gradcam_viewer.py (the static PNG
// uses that one, so both must stay equal; js/tests/gradcam.test.ts and tests/widgets check the same numbers).

import type { DecodedArray, TypedArray } from '../lib/codecs';
import type { Normalization, Sign } from './protocol';

export interface DisplayOptions {
  sign: Sign;
  /** 0..1: pixels whose normalised magnitude is below are transparent. */
  threshold: number;
  /** 0..1 alpha of the other pixels. */
  opacity: number;
  normalization: Normalization;
  /** Largest |value| over the batch, for normalization "batch". */
  batchPeak: number;
}

/** Raw values of a quantised map (value = q * scale). */
export function dequantize(q: TypedArray, scale: number): Float32Array {
  const out = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) out[i] = q[i] * scale;
  return out;
}

/** RGBA pixels (length 4 * values.length) of a map through a 256-entry RGBA lookup table. */
export function colorize(values: ArrayLike<number>, lut: Uint8Array, opts: DisplayOptions): Uint8ClampedArray {
  const n = values.length;
  const out = new Uint8ClampedArray(4 * n);
  let lo = Infinity;
  let hi = -Infinity;
  let peak = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    if (Math.abs(v) > peak) peak = Math.abs(v);
  }
  if (opts.normalization === 'batch') peak = opts.batchPeak;
  const alpha = Math.floor(255 * opts.opacity + 0.5);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    let pos: number;
    let mag: number;
    if (opts.normalization === 'minmax') {
      pos = mag = hi > lo ? (v - lo) / (hi - lo) : 0;
    } else {
      const s = peak > 0 ? Math.min(1, Math.max(-1, v / peak)) : 0;
      if (opts.sign === 'both') {
        pos = (s + 1) / 2;
        mag = Math.abs(s);
      } else {
        pos = mag = Math.max(opts.sign === 'positive' ? s : -s, 0);
      }
    }
    const k = 4 * Math.min(255, Math.max(0, Math.floor(pos * 255 + 0.5)));
    out[4 * i] = lut[k];
    out[4 * i + 1] = lut[k + 1];
    out[4 * i + 2] = lut[k + 2];
    out[4 * i + 3] = mag >= opts.threshold ? alpha : 0;
  }
  return out;
}

/** The lookup table named `name` in an (M, 256, 4) stack, the first when unknown; a grey ramp without tables. */
export function lutFor(luts: DecodedArray | null, names: string[], name: string): Uint8Array {
  if (!luts || luts.shape.length !== 3 || luts.shape[1] !== 256 || luts.shape[2] !== 4 || luts.shape[0] === 0) {
    const grey = new Uint8Array(1024);
    for (let i = 0; i < 256; i++) grey.set([i, i, i, 255], 4 * i);
    return grey;
  }
  const m = Math.max(0, names.indexOf(name));
  const data = luts.data as Uint8Array;
  return data.subarray(m * 1024, (m + 1) * 1024);
}
