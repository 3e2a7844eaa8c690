// Canvas drawing: the image (crisp, nearest) with a coloured map over it (smoothed, bilinear), at a given size.

import { colorizeHeatmap, type DisplayOptions } from '../lib/display';

export interface MapLayer {
  values: Float32Array;
  width: number;
  height: number;
}

/** Canvas size for an image of w x h fitted into a square of `size` CSS px, keeping the aspect ratio. */
export function fitSize(w: number, h: number, size: number): [number, number] {
  const s = size / Math.max(w, h, 1);
  return [Math.max(1, Math.round(w * s)), Math.max(1, Math.round(h * s))];
}

/** Draw `image` and, when given, `map` coloured with `lut` over it into `canvas`. */
export function drawOverlay(
  canvas: HTMLCanvasElement,
  image: CanvasImageSource | null,
  map: MapLayer | null,
  lut: Uint8Array,
  opts: DisplayOptions,
): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (image) {
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
  }
  if (!map || map.values.length !== map.width * map.height) return;
  const heat = document.createElement('canvas');
  heat.width = map.width;
  heat.height = map.height;
  const hctx = heat.getContext('2d');
  if (!hctx) return;
  const pixels = colorizeHeatmap(map.values, lut, opts);
  hctx.putImageData(new ImageData(pixels as Uint8ClampedArray<ArrayBuffer>, map.width, map.height), 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(heat, 0, 0, canvas.width, canvas.height);
}
