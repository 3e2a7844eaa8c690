// Playback steps and blending between recorded frames; mirrors timeline() / interpolate() in
// nbviz/kernels/probmap.py. Each recorded frame appears once; `interpolation` blended steps sit between
// neighbours, their epochs interpolated between the true (possibly uneven) epoch numbers.

import type { InterpolationType } from './protocol';

export interface Step {
  /** Recorded frame index. */
  i: number;
  /** Blend fraction towards frame i + 1, in [0, 1). */
  f: number;
  /** The (interpolated) epoch shown. */
  epoch: number;
}

/** Added to uint8 probabilities before the geometric blend (GEOMETRIC_EPS in Python). */
export const GEOMETRIC_EPS = 0.5;

export function timeline(epochs: readonly number[], interpolation: number): Step[] {
  const m = Math.max(0, Math.floor(interpolation));
  const steps: Step[] = [];
  epochs.forEach((e, i) => {
    steps.push({ i, f: 0, epoch: e });
    if (i + 1 < epochs.length) {
      for (let k = 1; k <= m; k++) {
        const f = k / (m + 1);
        steps.push({ i, f, epoch: e + f * (epochs[i + 1] - e) });
      }
    }
  });
  return steps;
}

/** Index of the step showing `epoch`: the recorded frame when there is one, else the nearest step. */
export function stepForEpoch(steps: readonly Step[], epoch: number): number {
  let best = 0;
  let bestD = Infinity;
  steps.forEach((s, k) => {
    const d = Math.abs(s.epoch - epoch) - (s.f === 0 ? 1e-9 : 0);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  });
  return best;
}

/** The recorded step (f = 0) nearest to step `k`: where a slider released between recorded frames settles. */
export function nearestRecorded(steps: readonly Step[], k: number): number {
  const at = steps[k];
  if (!at || at.f === 0) return k;
  const frame = at.f < 0.5 ? at.i : at.i + 1;
  return steps.findIndex((s) => s.i === frame && s.f === 0);
}

/**
 * What a map shows at `epoch` (possibly between recorded epochs): the last frame recorded at or before it (the
 * first before any), blended towards the next. Compare mode places each recorder on the shared slider with it.
 * Mirrors frame_at() in Python.
 */
export function frameAt(epochs: readonly number[], epoch: number): { i: number; f: number } {
  let j = -1;
  while (j + 1 < epochs.length && epochs[j + 1] <= epoch + 1e-9) j++;
  if (j < 0 || j + 1 >= epochs.length) return { i: Math.max(j, 0), f: 0 };
  const f = (epoch - epochs[j]) / (epochs[j + 1] - epochs[j]);
  return { i: j, f: f > 1e-9 ? f : 0 };
}

/** Sorted union of several epoch lists (the compare-mode slider). */
export function unionEpochs(lists: ReadonlyArray<readonly number[]>): number[] {
  return [...new Set(lists.flat())].sort((a, b) => a - b);
}

/** Epoch label: true epoch numbers, one decimal for interpolated steps. */
export function epochLabel(s: Step): string {
  return s.f === 0 || Number.isInteger(s.epoch) ? `epoch ${Math.round(s.epoch)}` : `epoch ${s.epoch.toFixed(1)}`;
}

/**
 * Blend two uint8 frames (cells x C, class fastest) at f into `out` as probabilities in [0, 1].
 * Linear mixes probabilities; geometric mixes their logarithms and renormalises per cell. Never class ids.
 */
export function blend(
  a: Uint8Array, b: Uint8Array | null, f: number, c: number, kind: InterpolationType, out: Float32Array,
): Float32Array {
  const n = a.length;
  if (!b || f <= 0) {
    for (let k = 0; k < n; k++) out[k] = a[k] / 255;
    return out;
  }
  if (kind === 'linear') {
    const g = 1 - f;
    for (let k = 0; k < n; k++) out[k] = (g * a[k] + f * b[k]) / 255;
    return out;
  }
  for (let cell = 0; cell < n; cell += c) {
    let sum = 0;
    for (let j = cell; j < cell + c; j++) {
      const v = Math.exp((1 - f) * Math.log(a[j] + GEOMETRIC_EPS) + f * Math.log(b[j] + GEOMETRIC_EPS));
      out[j] = v;
      sum += v;
    }
    for (let j = cell; j < cell + c; j++) out[j] /= sum;
  }
  return out;
}
