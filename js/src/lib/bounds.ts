// The box of interleaved (N, 2) points, counting only points whose both coordinates are finite.

export interface Bounds {
  minX: number;
  maxX: number;
  minY: number;
  maxY: number;
}

/** minX > maxX when no point is finite. */
export function finiteBounds(xy: ArrayLike<number>, n: number): Bounds {
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    const px = xy[2 * i];
    const py = xy[2 * i + 1];
    // One test per point that also rejects NaN/Infinity (a point counts only if both are finite).
    if (px - px === 0 && py - py === 0) {
      if (px < minX) minX = px;
      if (px > maxX) maxX = px;
      if (py < minY) minY = py;
      if (py > maxY) maxY = py;
    }
  }
  return { minX, maxX, minY, maxY };
}
