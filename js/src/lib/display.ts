// The display rule: how a value becomes a colour in the live views. Mirrors nbviz/display.py, which colours the
// static pictures (to_png, the fallback picture, GIF/MP4, saved HTML); js/tests/mirror_display.test.ts checks
// both against fixtures Python writes (tests/mirror/display.py), so a change to one copy alone fails a test.

import type { DecodedArray, TypedArray } from './codecs';
import { toUnitRgba, type Rgba } from './colors';

/** Entries of a colormap's lookup table. */
export const LUT_SIZE = 256;

/**
 * Entry of a `size`-entry lookup table for v in [0, 1]: clamp(floor(v * size), 0, size - 1), matplotlib's rule
 * (equal-width bins); NaN -> 0 (views that show missing values test for them first).
 */
export function lutIndex(v: number, size = LUT_SIZE): number {
  const k = Math.floor(v * size);
  return k >= size ? size - 1 : k > 0 ? k : 0; // NaN fails both tests: 0
}

// -- value colours (EmbeddingExplorer) ---------------------------------------------------------------------
// regl-scatterplot picks colour floor(w * (colours - 1)) for a continuous w, so the LUT gets one extra entry (the
// missing-value grey) and each value is moved to the middle of its LUT bin.

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
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v - v !== 0) {
      out[i] = 1; // NaN or infinite: missing
      continue;
    }
    out[i] = (lutIndex(v, size) + 0.5) / size;
  }
  return out;
}

// -- attribution heatmaps (GradCamViewer) ------------------------------------------------------------------
export type Sign = 'positive' | 'negative' | 'both';
export type Normalization = 'image' | 'batch' | 'minmax';

export interface DisplayOptions {
  sign: Sign;
  /** 0..1: pixels whose normalised magnitude is below are transparent. */
  threshold: number;
  /** 0..1 alpha at the peak magnitude; a pixel's alpha is opacity * magnitude, so zero leaves the image as it is. */
  opacity: number;
  /** A diverging colormap: one sign is drawn on its half, from the neutral middle out. */
  diverging: boolean;
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
export function colorizeHeatmap(values: ArrayLike<number>, lut: Uint8Array, opts: DisplayOptions): Uint8ClampedArray {
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
        mag = Math.max(opts.sign === 'positive' ? s : -s, 0);
        const half = opts.sign === 'positive' ? 0.5 + 0.5 * mag : 0.5 - 0.5 * mag;
        pos = opts.diverging ? half : mag;
      }
    }
    const k = 4 * lutIndex(pos);
    out[4 * i] = lut[k];
    out[4 * i + 1] = lut[k + 1];
    out[4 * i + 2] = lut[k + 2];
    out[4 * i + 3] = mag >= opts.threshold ? Math.floor(255 * opts.opacity * mag + 0.5) : 0;
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

// -- probability maps (ProbMapPlayer): only indexes the lookup tables Python sent (region / boundary per class,
// class / entropy shared); scales are fixed across frames ----------------------------------------------------
export type ProbabilityMode = 'region' | 'boundary' | 'class' | 'entropy';

export interface Luts {
  /** (C, 256, 4) uint8. */
  region: Uint8Array;
  /** (C, 256, 4) uint8. */
  boundary: Uint8Array;
  /** (256, 4) uint8. */
  cls: Uint8Array;
  /** (256, 4) uint8. */
  entropy: Uint8Array;
}

export interface ColorOptions {
  mode: ProbabilityMode;
  target: number;
  boundaryLine: boolean;
  lineRgba?: [number, number, number, number];
}

/** Winning class per cell (first of equals, like numpy's argmax). */
export function argmaxMap(p: ArrayLike<number>, c: number, out?: Uint16Array): Uint16Array {
  const cells = p.length / c;
  const k = out ?? new Uint16Array(cells);
  for (let cell = 0, at = 0; cell < cells; cell++, at += c) {
    let best = 0;
    for (let j = 1; j < c; j++) if (p[at + j] > p[at + best]) best = j;
    k[cell] = best;
  }
  return k;
}

/** RGBA of probabilities p (rows x cols x C) into out (rows x cols x 4). */
export function colorizeProbabilities(
  p: Float32Array, c: number, rows: number, cols: number, luts: Luts, opts: ColorOptions, out: Uint8ClampedArray,
  winners?: Uint16Array,
): Uint8ClampedArray {
  const cells = rows * cols;
  const put = (cell: number, lut: Uint8Array, at: number) => {
    out[4 * cell] = lut[at];
    out[4 * cell + 1] = lut[at + 1];
    out[4 * cell + 2] = lut[at + 2];
    out[4 * cell + 3] = lut[at + 3];
  };
  if (opts.mode === 'class') {
    const t = Math.min(Math.max(0, opts.target), c - 1);
    for (let cell = 0; cell < cells; cell++) put(cell, luts.cls, 4 * lutIndex(p[cell * c + t]));
    return out;
  }
  if (opts.mode === 'entropy') {
    const norm = Math.log(c);
    for (let cell = 0; cell < cells; cell++) {
      let h = 0;
      for (let j = cell * c; j < cell * c + c; j++) h -= p[j] * Math.log(Math.max(p[j], 1e-12));
      put(cell, luts.entropy, 4 * lutIndex(h / norm));
    }
    return out;
  }
  const k = argmaxMap(p, c, winners);
  for (let cell = 0; cell < cells; cell++) {
    const at = cell * c;
    const top = p[at + k[cell]];
    if (opts.mode === 'region') {
      put(cell, luts.region, 4 * (k[cell] * 256 + lutIndex((top - 1 / c) / (1 - 1 / c))));
    } else {
      let second = -Infinity;
      for (let j = 0; j < c; j++) if (j !== k[cell] && p[at + j] > second) second = p[at + j];
      put(cell, luts.boundary, 4 * (k[cell] * 256 + lutIndex(top - second)));
    }
  }
  if (opts.mode === 'boundary' && opts.boundaryLine) {
    const line = opts.lineRgba ?? [0, 0, 0, 255];
    const edge = flipMask(k, null, rows, cols);
    for (let cell = 0; cell < cells; cell++) if (edge[cell]) out.set(line, 4 * cell);
  }
  return out;
}

/**
 * Cells whose winner differs from the cell to the right or below (previous null: the boundary line), or from
 * the same cell of `previous` (the pixel-flip overlay). Mirrors flip_mask() in nbviz/display.py.
 */
export function flipMask(k: Uint16Array, previous: Uint16Array | null, rows: number, cols: number): Uint8Array {
  const out = new Uint8Array(rows * cols);
  if (previous) {
    for (let cell = 0; cell < out.length; cell++) out[cell] = k[cell] !== previous[cell] ? 1 : 0;
    return out;
  }
  for (let r = 0; r < rows; r++) {
    for (let q = 0; q < cols; q++) {
      const cell = r * cols + q;
      if (q + 1 < cols && k[cell] !== k[cell + 1]) out[cell] = 1;
      if (r + 1 < rows && k[cell] !== k[cell + cols]) out[cell] = 1;
    }
  }
  return out;
}
