// Order of the batch grid, computed in the browser (no round trip): by index, by confidence (most sure first),
// wrong predictions first (then the least confident), or by predicted class.

import type { SortBy } from './protocol';

export interface BatchInfo {
  predictions: ArrayLike<number>;
  confidences: ArrayLike<number>;
  /** True class, -1 where unknown. */
  labels: ArrayLike<number>;
}

export function isWrong(info: BatchInfo, i: number): boolean {
  return info.labels[i] >= 0 && info.labels[i] !== info.predictions[i];
}

export function sortOrder(info: BatchInfo, by: SortBy): number[] {
  const order = Array.from({ length: info.predictions.length }, (_, i) => i);
  const conf = (i: number) => info.confidences[i];
  const keyed: Record<SortBy, (a: number, b: number) => number> = {
    index: (a, b) => a - b,
    confidence: (a, b) => conf(b) - conf(a) || a - b,
    wrong: (a, b) => Number(isWrong(info, b)) - Number(isWrong(info, a)) || conf(a) - conf(b) || a - b,
    class: (a, b) => info.predictions[a] - info.predictions[b] || conf(b) - conf(a) || a - b,
  };
  return order.sort(keyed[by]);
}
