// Data coordinates -> regl-scatterplot's GL space, keeping the aspect ratio. Mirrors normalize_points and
// fit_distance in nbviz/export.py, which place the points of the PNG (keep both in step; tests/mirror/normalize.py).

import { finiteBounds } from '../lib/bounds';

export interface Normalized {
  x: Float32Array;
  y: Float32Array;
  /** Half extents of the data's bounding box in GL units (the box is centred on 0). */
  halfWidth: number;
  halfHeight: number;
}

/** Fraction of GL space left free around the data, so edge points are not cut. */
export const PADDING = 0.05;

/**
 * Map interleaved (N, 2) points into [-1, 1]^2: centred, the longer side spanning 2 * (1 - PADDING).
 * Non-finite coordinates stay NaN (not drawn) and do not affect the bounds.
 */
export function normalizePoints(xy: ArrayLike<number>, n: number): Normalized {
  const { minX, maxX, minY, maxY } = finiteBounds(xy, n);
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  if (minX > maxX) {
    x.fill(NaN);
    y.fill(NaN);
    return { x, y, halfWidth: 0, halfHeight: 0 };
  }
  const span = Math.max(maxX - minX, maxY - minY);
  // A single point (or all points equal) has no span: show it at the centre, unscaled.
  const scale = span > 0 ? (2 * (1 - PADDING)) / span : 1;
  const cx = (minX + maxX) / 2;
  const cy = (minY + maxY) / 2;
  for (let i = 0; i < n; i++) {
    const px = xy[2 * i];
    const py = xy[2 * i + 1];
    const ok = px - px === 0 && py - py === 0;
    x[i] = ok ? (px - cx) * scale : NaN;
    y[i] = ok ? (py - cy) * scale : NaN;
  }
  return { x, y, halfWidth: ((maxX - minX) * scale) / 2, halfHeight: ((maxY - minY) * scale) / 2 };
}

/**
 * Camera distance that fits a centred box of the given half extents (plus padding) into a canvas
 * of aspect width/height. regl-scatterplot shows GL y in [-d, d] and x in [-d * aspect, d * aspect].
 * With a `margin` (CSS px) and the canvas `height`, the outermost points also keep that far from every edge, so
 * a point (its radius, its thumbnail) is never cut by the frame.
 */
export function fitDistance(halfWidth: number, halfHeight: number, aspect: number, margin = 0, height = 0): number {
  const hw = Math.max(halfWidth, 1e-6) + PADDING;
  const hh = Math.max(halfHeight, 1e-6) + PADDING;
  let d = Math.max(hw / Math.max(aspect, 1e-6), hh);
  const width = aspect * height;
  if (margin > 0 && width > 2 * margin && height > 2 * margin) {
    // A point at GL x lands x * height / (2d) px from the centre: keep that within half the canvas less the margin.
    d = Math.max(d, (Math.max(halfWidth, 0) * height) / (width - 2 * margin),
      (Math.max(halfHeight, 0) * height) / (height - 2 * margin));
  }
  return Number.isFinite(d) && d > 0 ? d : 1;
}

/** The margin (CSS px) the fit keeps around the points: their radius, half a thumbnail when they show, a gap. */
export function fitMargin(pointSize: number, thumbnailSize: number): number {
  return pointSize / 2 + thumbnailSize / 2 + 6;
}
