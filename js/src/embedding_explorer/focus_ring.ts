// The focus ring lives on a 2-D overlay canvas, not in WebGL, so it stays crisp and costs
// nothing to move while panning.

export const RING_STROKE = 3;

/** Ring radius in CSS px: clears the point itself, yet is never too small to spot. */
export function ringRadius(pointSize: number): number {
  return Math.max(9, 2 * (Number.isFinite(pointSize) ? pointSize : 0));
}

export interface Ring {
  x: number;
  y: number;
  r: number;
}

/** Where to draw the ring, or null when there is none to draw (no focus, or fully off-canvas). */
export function ringGeometry(
  pos: readonly [number, number] | undefined | null,
  pointSize: number,
  width: number,
  height: number,
): Ring | null {
  if (!pos || !Number.isFinite(pos[0]) || !Number.isFinite(pos[1])) return null;
  const r = ringRadius(pointSize);
  const reach = r + RING_STROKE;
  if (pos[0] < -reach || pos[1] < -reach || pos[0] > width + reach || pos[1] > height + reach) return null;
  return { x: pos[0], y: pos[1], r };
}

/** Clear the overlay and draw the ring (if any). The context is in CSS px (scaled by dpr by the caller). */
export function drawRing(
  ctx: CanvasRenderingContext2D,
  ring: Ring | null,
  color: string,
  haloColor: string,
  clear = true,
): void {
  if (clear) ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  if (!ring) return;
  ctx.beginPath();
  ctx.arc(ring.x, ring.y, ring.r, 0, 2 * Math.PI);
  // A thin halo in the background colour keeps the ring visible over dense, same-coloured clusters.
  ctx.lineWidth = RING_STROKE + 2;
  ctx.strokeStyle = haloColor;
  ctx.stroke();
  ctx.lineWidth = RING_STROKE;
  ctx.strokeStyle = color;
  ctx.stroke();
}
