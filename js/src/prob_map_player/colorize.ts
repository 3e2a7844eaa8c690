// Colour modes of a probability map; mirrors colorize() in nbviz/kernels/probmap.py. Only indexes the lookup
// tables Python sent (region / boundary per class, class / entropy shared): scales are fixed across frames.

import type { Mode } from './protocol';

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
  mode: Mode;
  target: number;
  boundaryLine: boolean;
  lineRgba?: [number, number, number, number];
}

const lutIndex = (v: number): number => Math.min(255, Math.max(0, Math.round(v * 255)));

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
export function colorize(
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
 * the same cell of `previous` (the pixel-flip overlay). Mirrors flip_mask() in Python.
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
