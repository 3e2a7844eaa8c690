// Pure helpers of the triplet view (no DOM): classifying an anchor's triplets at any margin, the whole set's counts
// from the difference histogram, the histogram's bars, the layout of the points. Python's definitions
// (nbviz/kernels/triplets.py): hard d(a,n) < d(a,p); semi-hard d(a,p) <= d(a,n) < d(a,p) + m; easy the rest.

import { KINDS, type KindCounts, type Sampling } from './protocol';
import { finiteBounds } from '../lib/bounds';

/** Index of a kind in KINDS (and in kind_colors): 0 easy, 1 semi-hard, 2 hard. */
export const EASY = 0;
export const SEMI = 1;
export const HARD = 2;

/** First index i with a[i] >= v in an ascending array (a.length when none). */
export function lowerBound(a: ArrayLike<number>, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** For one positive at distance dp, the negatives (ascending distances) [0, lo) are hard, [lo, hi) semi-hard,
 *  [hi, n) easy. */
export function kindBounds(neg: ArrayLike<number>, dp: number, m: number): [number, number] {
  return [lowerBound(neg, dp), lowerBound(neg, dp + m)];
}

export function kindOf(dn: number, dp: number, m: number): number {
  return dn < dp ? HARD : dn < dp + m ? SEMI : EASY;
}

/** Counts of an anchor's triplets by kind (negatives' distances ascending). */
export function kindCounts(pos: ArrayLike<number>, neg: ArrayLike<number>, m: number): KindCounts {
  let hard = 0;
  let below = 0;
  for (let i = 0; i < pos.length; i++) {
    const [lo, hi] = kindBounds(neg, pos[i], m);
    hard += lo;
    below += hi;
  }
  return { easy: pos.length * neg.length - below, semi_hard: below - hard, hard };
}

/** [before kind][now kind] (KINDS order) of an anchor's triplets from its distances in both sets (same order),
 *  one triplet at a time; null past `limit` triplets (too slow to redo while a slider moves). */
export function anchorMoves(pos0: ArrayLike<number>, neg0: ArrayLike<number>, pos1: ArrayLike<number>,
  neg1: ArrayLike<number>, m: number, limit = 4_000_000): number[][] | null {
  if (pos0.length * neg0.length > limit) return null;
  const out = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  for (let p = 0; p < pos0.length; p++) {
    const a0 = pos0[p];
    const a1 = pos1[p];
    for (let n = 0; n < neg0.length; n++) out[kindOf(neg0[n], a0, m)][kindOf(neg1[n], a1, m)]++;
  }
  return out;
}

export interface DiffHistogram {
  /** Share of the triplets per grid step; bin k is about start + k * step. */
  fractions: ArrayLike<number>;
  start: number;
  step: number;
}

/** Share of the differences below v: each bin spread over [value - step / 2, value + step / 2) (Python's
 *  MarginHistogram.fraction_below). Returns a function, the cumulative sums made once. */
export function cumulative(h: DiffHistogram): (v: number) => number {
  const n = h.fractions.length;
  const cdf = new Float64Array(n + 1);
  for (let k = 0; k < n; k++) cdf[k + 1] = cdf[k] + h.fractions[k];
  const first = h.start - 0.5 * h.step;
  return (v: number) => {
    if (!n || !(h.step > 0)) return 0;
    const x = (v - first) / h.step;
    if (x <= 0) return 0;
    if (x >= n) return cdf[n];
    const k = Math.floor(x);
    return cdf[k] + (x - k) * h.fractions[k];
  };
}

/** The whole set's counts at margin m, while the slider moves: exact where Python counted (margin m0), plus the
 *  histogram's share between m0 and m; hard does not depend on the margin. */
export function previewCounts(below: (v: number) => number, total: number, exact: KindCounts, m0: number,
  m: number): KindCounts {
  const hard = exact.hard;
  let under = exact.hard + exact.semi_hard;
  if (m !== m0) under = Math.round(under + total * (below(m) - below(m0)));
  under = Math.min(Math.max(under, hard), total);
  return { easy: total - under, semi_hard: under - hard, hard };
}

/** Bars of the differences over a range without the 0.5 % tails, with 0 and maxMargin in it (Python's
 *  display_histogram). */
export function displayHistogram(h: DiffHistogram, maxMargin: number, bins = 80): { edges: number[]; fractions: number[] } {
  const n = h.fractions.length;
  const center = (k: number) => h.start + k * h.step;
  let acc = 0;
  let lo = n ? center(n - 1) : 0;
  let hi = n ? center(n - 1) : 1;
  let foundLo = false;
  for (let k = 0; k < n; k++) {
    acc += h.fractions[k];
    if (!foundLo && acc >= 0.005) {
      lo = center(k);
      foundLo = true;
    }
    if (acc >= 0.995) {
      hi = center(k);
      break;
    }
  }
  lo = Math.min(lo, 0);
  hi = Math.max(hi, maxMargin, lo + 1e-9);
  const edges = Array.from({ length: bins + 1 }, (_, k) => lo + ((hi - lo) * k) / bins);
  const fractions = new Array<number>(bins).fill(0);
  for (let k = 0; k < n; k++) {
    const b = Math.floor(((center(k) - lo) / (hi - lo)) * bins);
    if (b >= 0 && b < bins) fractions[b] += h.fractions[k]; // the tails are left out
  }
  return { edges, fractions };
}

/** Screen positions (CSS px, y down) of (N, 2) points fitted in a width x height box with `pad` px around,
 *  the aspect kept. */
export function fitPoints(xy: ArrayLike<number>, width: number, height: number, pad = 10): Float32Array {
  const n = Math.floor(xy.length / 2);
  const { minX: x0, maxX: x1, minY: y0, maxY: y1 } = finiteBounds(xy, n);
  const out = new Float32Array(2 * n);
  if (!(x1 >= x0)) return out.fill(NaN);
  const scale = Math.min((width - 2 * pad) / Math.max(x1 - x0, 1e-12), (height - 2 * pad) / Math.max(y1 - y0, 1e-12));
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  for (let i = 0; i < n; i++) {
    out[2 * i] = width / 2 + (xy[2 * i] - cx) * scale;
    out[2 * i + 1] = height / 2 - (xy[2 * i + 1] - cy) * scale;
  }
  return out;
}

/** The point nearest (x, y) within `radius` px, or -1. */
export function nearestPoint(screen: ArrayLike<number>, x: number, y: number, radius = 8): number {
  let best = -1;
  let bestD = radius * radius;
  for (let i = 0; i < screen.length / 2; i++) {
    const d = (screen[2 * i] - x) ** 2 + (screen[2 * i + 1] - y) ** 2;
    if (d <= bestD) {
      best = i;
      bestD = d;
    }
  }
  return best;
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function kindName(kind: (typeof KINDS)[number]): string {
  return kind.replace('_', '-');
}

/** The positive whose margin band is drawn until another is picked: the median one (Python's median_positive). */
export function medianPositive(p: number): number {
  return p > 0 ? Math.floor(p / 2) : -1;
}

/** "hard 12 · semi-hard 345 · easy 6,789" (hard first: what training works on). */
export function countsText(c: KindCounts): string {
  return [...KINDS].reverse().map((k) => `${kindName(k)} ${formatCount(c[k])}`).join(' \u00b7 ');
}

/** What the whole-set counts are over: "counts over 2,000 of 100,000 anchors, sampled" or every anchor. */
export function samplingText(s: Partial<Sampling>): string {
  const n = formatCount(s.n_items ?? 0);
  if (s.sampled) return `counts over ${formatCount(s.n_anchors ?? 0)} of ${n} anchors, sampled`;
  if ((s.n_anchors ?? 0) < (s.n_items ?? 0)) return `counts over ${formatCount(s.n_anchors ?? 0)} of ${n} anchors`;
  return `counts over all ${n} anchors`;
}

/** About `count` round tick values in [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(count, 1);
  const base = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * base).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}
