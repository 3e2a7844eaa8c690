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

/** What the ends (and middle) of the colour key say, per sign: the evidence a colour stands for. */
export function keyLabels(opts: DisplayOptions): string[] {
  if (opts.normalization === 'minmax') return ['min', 'max'];
  if (opts.sign === 'both') return ['against', '0', 'for'];
  return opts.sign === 'positive' ? ['0', 'for'] : ['0', 'against'];
}

/**
 * The colour key: a strip drawn by the display rule itself (values from zero, or the most negative, to the peak
 * magnitude), over white, so its colours and transparency are exactly those of the map.
 */
export function drawKey(canvas: HTMLCanvasElement, lut: Uint8Array, opts: DisplayOptions): void {
  const ctx = canvas.getContext('2d');
  const n = canvas.width;
  if (!ctx || n < 2) return;
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / (n - 1);
    values[i] = opts.normalization === 'minmax' || opts.sign === 'positive' ? t : opts.sign === 'negative' ? -t : 2 * t - 1;
  }
  const row = colorizeHeatmap(values, lut, { ...opts, normalization: opts.normalization === 'minmax' ? 'minmax' : 'image' });
  const white = new Uint8ClampedArray(4 * n * canvas.height);
  for (let y = 0; y < canvas.height; y++) {
    for (let x = 0; x < n; x++) {
      const a = row[4 * x + 3] / 255;
      for (let c = 0; c < 3; c++) white[4 * (y * n + x) + c] = Math.round(255 * (1 - a) + row[4 * x + c] * a);
      white[4 * (y * n + x) + 3] = 255;
    }
  }
  ctx.putImageData(new ImageData(white, n, canvas.height), 0, 0);
}
