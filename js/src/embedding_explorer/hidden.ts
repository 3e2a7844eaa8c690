// Categories hidden from the legend: pure logic for toggling, isolating, and the indices left to draw.

import type { TypedArray } from '../lib/codecs';

/**
 * The hidden codes after a legend action on `code` (of `k` categories): a click hides or shows it; a
 * double-click (`isolate`) hides all others, or shows everything when it is already the only one shown.
 */
export function nextHidden(hidden: readonly number[], code: number, isolate: boolean, k: number): number[] {
  const set = new Set(hidden);
  if (isolate) {
    const others: number[] = [];
    for (let c = 0; c < k; c++) if (c !== code) others.push(c);
    const alreadyIsolated = !set.has(code) && others.every((c) => set.has(c));
    return alreadyIsolated ? [] : others;
  }
  if (set.has(code)) set.delete(code);
  else set.add(code);
  return [...set].sort((a, b) => a - b);
}

/** Per-point 1 (drawn) / 0 (hidden) mask, or null when nothing is hidden. */
export function visibleMask(codes: TypedArray | null, hidden: readonly number[]): Uint8Array | null {
  if (!codes || hidden.length === 0) return null;
  const hiddenSet = new Set(hidden);
  let max = 0;
  for (const h of hidden) if (h > max) max = h;
  const shown = new Uint8Array(max + 1).map((_, c) => (hiddenSet.has(c) ? 0 : 1));
  const out = new Uint8Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = codes[i] > max ? 1 : shown[codes[i]];
  return out;
}

/** Ascending indices where mask is 1 (what regl-scatterplot's filter() takes: a plain array). */
export function maskIndices(mask: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) out.push(i);
  return out;
}
