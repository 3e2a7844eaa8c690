// Level of detail: while the camera moves over more points than `lod_points` (wheel zoom, drag pan), draw a
// stratified sample of them, and every point again once the camera rests. In software WebGL a frame costs
// time linear in the points drawn (~0.45 s per million here), so 10M points would pan at one frame per 4.5 s.
// The sample keeps each grid cell x category's share, and sparse cells and rare classes whole, so outliers and
// small classes do not vanish while moving; positions are exact (the sample goes through regl-scatterplot's
// filter, not a second copy of the points), selected points are always in it, and the settled frame is the
// full draw itself, pixel for pixel.

import type { TypedArray } from '../lib/codecs';
import { CLICK_SLOP, type ExplorerCtx } from './context';

/** Strata: a GRID x GRID grid over the normalised data square, per category. */
export const LOD_GRID = 64;
/** Each stratum keeps at least this many of its points (all of them when it has fewer). */
export const LOD_FLOOR = 4;
/** The camera rests once this long has passed after a frame without a further move. */
export const SETTLE_MS = 250;

/** A fixed pseudo-random number in [0, 1) per index: the same sample every gesture (no flicker). */
function unit(i: number): number {
  let h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

/**
 * Ascending indices of about `budget` of the points: the ones `keep` shows (all when null) with finite
 * positions, drawn per stratum (grid cell x category) in proportion to its size but never fewer than
 * LOD_FLOOR, plus every index in `must`. x, y are normalised positions (about [-1, 1]).
 */
export function stratifiedSample(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  codes: TypedArray | null,
  keep: Uint8Array | null,
  must: ArrayLike<number>,
  budget: number,
): number[] {
  const n = x.length;
  let k = 1;
  if (codes) for (let i = 0; i < n; i++) if (codes[i] >= k) k = Math.min(256, codes[i] + 1);
  const strata = new Int32Array(n).fill(-1);
  const counts = new Float64Array(LOD_GRID * LOD_GRID * k);
  const g = LOD_GRID / 2;
  let shown = 0;
  for (let i = 0; i < n; i++) {
    const px = x[i];
    const py = y[i];
    if ((keep && !keep[i]) || !(px - px === 0 && py - py === 0)) continue;
    const cx = Math.min(LOD_GRID - 1, Math.max(0, Math.floor((px + 1) * g)));
    const cy = Math.min(LOD_GRID - 1, Math.max(0, Math.floor((py + 1) * g)));
    const s = (cy * LOD_GRID + cx) * k + (codes ? Math.min(k - 1, codes[i]) : 0);
    strata[i] = s;
    counts[s]++;
    shown++;
  }
  // Quota per stratum: rate x size, at least the floor, at most all. Strata held at the floor or whole take
  // their share first; the rate is then set once so the rest fills what is left of the budget.
  let rate = Math.min(1, budget / Math.max(1, shown));
  let fixed = 0;
  let scalable = 0;
  for (const c of counts) {
    if (c === 0) continue;
    if (rate * c <= LOD_FLOOR) fixed += Math.min(c, LOD_FLOOR);
    else scalable += c;
  }
  if (scalable > 0) rate = Math.min(1, Math.max(0, budget - fixed) / scalable);
  const p = new Float64Array(counts.length);
  for (let s = 0; s < counts.length; s++) {
    const c = counts[s];
    if (c > 0) p[s] = Math.min(c, Math.max(LOD_FLOOR, rate * c)) / c;
  }
  const forced = new Uint8Array(n);
  for (let j = 0; j < must.length; j++) if (must[j] < n && strata[must[j]] >= 0) forced[must[j]] = 1;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = strata[i];
    if (s >= 0 && (forced[i] || unit(i) < p[s])) out.push(i);
  }
  return out;
}

export interface Lod {
  /** Whether the next draw of `count` points starts as the sample (it is then settled like a move). */
  startsSampled(count: number): boolean;
  /** The sample for the points just handed to the library (positions, codes, hidden mask, selection). */
  sample(x: Float32Array, y: Float32Array): number[];
  /** New points, categories, hidden classes or selection: the cached sample no longer holds. */
  invalidate(): void;
  /** A draw went in with the sample as its filter: show it, then settle to all points. */
  startedSampled(): void;
  /** The caller is about to set the library's filter itself (hidden classes changed): forget the sample. */
  cancel(): void;
  /** Where thumbnails are chosen past `lod_points`: the sample, moving or not (no jump when it settles). */
  candidates(): number[] | null;
  dispose(): void;
}

export function createLod(
  ctx: ExplorerCtx,
  deps: {
    /** Positions as handed to the library (normalised), or null before the first draw. */
    positions(): { x: Float32Array; y: Float32Array } | null;
    /** Put back the filter and selection the view has without LOD (hidden classes, the selection trait). */
    restore(): void;
  },
): Lod {
  const { model, st, scatter, plot, root } = ctx;
  const budget = () => {
    const b = Number(model.get('lod_points'));
    return Number.isFinite(b) && b > 0 ? Math.floor(b) : 0;
  };
  const applies = (count: number) => budget() > 0 && count > budget();
  let cached: number[] | null = null;
  let active = false;
  let timer: ReturnType<typeof setTimeout> | null = null;

  const sample = (x: Float32Array, y: Float32Array) => {
    cached ??= stratifiedSample(x, y, st.codes, st.visible, st.selected, budget());
    return cached;
  };
  const mark = (state: 'sample' | 'full') => {
    root.dataset.nbvizLod = state;
  };
  const settle = () => {
    timer = null;
    if (!active || st.destroyed) return;
    active = false;
    mark('full');
    deps.restore();
  };
  // Rest = no camera move for SETTLE_MS after a frame; every frame drawn while moving restarts the wait.
  const arm = () => {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(settle, SETTLE_MS);
  };
  const enter = () => {
    if (active) {
      arm();
      return;
    }
    const xy = deps.positions();
    if (!st.drawn || st.destroyed || !xy || !applies(st.n)) return;
    active = true;
    mark('sample');
    // Synchronous: the frame the camera is about to draw for this event already draws the sample.
    void scatter.filter(sample(xy.x, xy.y), { preventEvent: true });
    arm();
  };
  const onDraw = () => {
    if (active) arm();
  };

  // Before the camera's own handlers (capture phase): the move is known before its frame is drawn.
  let down: [number, number] | null = null;
  const onWheel = () => enter();
  const onDown = (e: PointerEvent) => {
    down = [e.clientX, e.clientY];
  };
  const onMove = (e: PointerEvent) => {
    if (!down || e.buttons === 0) return;
    // A lasso or box selects among the points the library draws: it must see them all.
    if (e.shiftKey || scatter.get('mouseMode') === 'lasso') return;
    if (Math.hypot(e.clientX - down[0], e.clientY - down[1]) > CLICK_SLOP) enter();
  };
  const onUp = () => {
    down = null;
  };
  plot.addEventListener('wheel', onWheel, { capture: true, passive: true });
  plot.addEventListener('pointerdown', onDown, { capture: true });
  plot.addEventListener('pointermove', onMove, { capture: true });
  window.addEventListener('pointerup', onUp, { capture: true });
  const subDraw = scatter.subscribe('draw', onDraw);
  const subLasso = scatter.subscribe('lassoStart', () => settleNow());

  const stop = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  const settleNow = () => {
    stop();
    settle();
  };
  return {
    startsSampled: applies,
    sample,
    invalidate: () => {
      cached = null;
    },
    startedSampled: () => {
      active = true;
      mark('sample');
      arm();
    },
    cancel: () => {
      stop();
      cached = null;
      if (active) mark('full');
      active = false;
    },
    candidates: () => {
      const xy = deps.positions();
      return xy && applies(st.n) ? sample(xy.x, xy.y) : null;
    },
    dispose: () => {
      stop();
      plot.removeEventListener('wheel', onWheel, { capture: true });
      plot.removeEventListener('pointerdown', onDown, { capture: true });
      plot.removeEventListener('pointermove', onMove, { capture: true });
      window.removeEventListener('pointerup', onUp, { capture: true });
      scatter.unsubscribe(subDraw);
      scatter.unsubscribe(subLasso);
    },
  };
}
