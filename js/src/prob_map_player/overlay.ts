// Points over the map: training points by class, test points (squares), misclassified ones hollow.

import { colorForCode, cssColor, type Rgba } from '../lib/colors';

export interface PointLayer {
  xy: Float32Array;
  classes: ArrayLike<number> | null;
  preds: ArrayLike<number>;
  square: boolean;
}

/** CSS px of a data point: grid cell centres sit at pixel centres, as the map image is drawn. */
export function toScreen(
  x: number, y: number, xlim: [number, number], ylim: [number, number], rows: number, cols: number,
  width: number, height: number,
): [number, number] {
  const u = ((x - xlim[0]) / (xlim[1] - xlim[0])) * (cols - 1) + 0.5;
  const v = ((ylim[1] - y) / (ylim[1] - ylim[0])) * (rows - 1) + 0.5;
  return [(u / cols) * width, (v / rows) * height];
}

export function drawPoints(
  ctx: CanvasRenderingContext2D, layer: PointLayer, rows: Rgba[], place: (x: number, y: number) => [number, number],
  radius: number, outline: string,
): void {
  const n = layer.xy.length / 2;
  ctx.lineWidth = 1.25;
  ctx.strokeStyle = outline;
  for (let i = 0; i < n; i++) {
    const [px, py] = place(layer.xy[2 * i], layer.xy[2 * i + 1]);
    const label = layer.classes ? layer.classes[i] : layer.preds[i];
    const wrong = layer.classes !== null && i < layer.preds.length && layer.preds[i] !== label;
    ctx.beginPath();
    if (layer.square) ctx.rect(px - radius, py - radius, 2 * radius, 2 * radius);
    else ctx.arc(px, py, radius, 0, 2 * Math.PI);
    if (wrong) {
      // Hollow: a ring in the class colour inside the outline.
      ctx.stroke();
      ctx.beginPath();
      ctx.arc(px, py, Math.max(radius - 1.5, 1), 0, 2 * Math.PI);
      ctx.strokeStyle = cssColor(colorForCode(rows, label));
      ctx.stroke();
      ctx.strokeStyle = outline;
    } else {
      ctx.fillStyle = cssColor(colorForCode(rows, label));
      ctx.fill();
      ctx.stroke();
    }
  }
}
