// Image thumbnails drawn at point positions on a 2-D canvas over the WebGL plot. Which points get one is
// re-chosen only when the view settles; between, every frame just re-blits cached bitmaps at the new positions.

import { Lru } from '../lib/lru';
import type { Requester } from '../lib/requests';

/** Wait for the view to rest this long before choosing points and asking Python for images. */
export const SETTLE_MS = 150;
/** Thumbnails kept decoded; a few thousand 32 px bitmaps are a few MB of GPU/CPU memory. */
export const CACHE_SIZE = 3000;
/** Indices per request, so one atlas PNG stays well under the websocket message limit. */
export const BATCH = 256;

/**
 * Up to `max` points to draw, spread over the view: the view is cut into square cells (at least one
 * thumbnail wide, more when `max` would not fill it) and each cell keeps its lowest index.
 * Deterministic, so a small pan keeps most of the same thumbnails.
 */
export function chooseThumbnails(
  candidates: ArrayLike<number>,
  position: (i: number) => readonly [number, number] | null | undefined,
  width: number,
  height: number,
  size: number,
  max: number,
): number[] {
  if (max <= 0 || width <= 0 || height <= 0) return [];
  const cell = Math.max(size, Math.sqrt((width * height) / max), 1);
  const cols = Math.ceil(width / cell);
  // About `max` cells (more only when thumbnails are large), so a flat array beats a Map at 1M candidates.
  const best = new Float64Array(cols * Math.ceil(height / cell)).fill(Infinity);
  for (let k = 0; k < candidates.length; k++) {
    const i = candidates[k];
    const p = position(i);
    if (!p || !(p[0] >= 0 && p[0] < width && p[1] >= 0 && p[1] < height)) continue;
    const c = Math.floor(p[1] / cell) * cols + Math.floor(p[0] / cell);
    if (i < best[c]) best[c] = i;
  }
  return Array.from(best.filter(Number.isFinite)).sort((a, b) => a - b).slice(0, max);
}

/**
 * A fast stand-in for `screenPosition` over many points: the 2-D camera maps data to screen by an affine
 * map, so fit it once from three well-spread points and apply it to all (one matrix product per point
 * in regl-scatterplot's own call is ~0.5 µs, which adds up to half a second at a million points).
 * Falls back to `screenPosition` when the three points are (nearly) collinear.
 */
export function affinePositions(
  data: ReadonlyArray<ReadonlyArray<number>>,
  candidates: ArrayLike<number>,
  screenPosition: (i: number) => readonly [number, number] | null,
): (i: number) => readonly [number, number] | null {
  const m = Math.min(candidates.length, 2000);
  if (m < 3) return screenPosition;
  const xy = (i: number) => data[i] ?? [NaN, NaN];
  // Reference points: the first candidate, the one farthest from it, the one farthest off their line.
  const a = candidates[0];
  let b = a;
  let c = a;
  let best = 0;
  for (let k = 1; k < m; k++) {
    const p = xy(candidates[k]);
    const d = (p[0] - xy(a)[0]) ** 2 + (p[1] - xy(a)[1]) ** 2;
    if (d > best) [best, b] = [d, candidates[k]];
  }
  best = 0;
  const [ax, ay] = xy(a);
  const [bx, by] = xy(b);
  for (let k = 1; k < m; k++) {
    const p = xy(candidates[k]);
    const area = Math.abs((bx - ax) * (p[1] - ay) - (by - ay) * (p[0] - ax));
    if (area > best) [best, c] = [area, candidates[k]];
  }
  const [cx, cy] = xy(c);
  const det = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
  const sa = screenPosition(a);
  const sb = screenPosition(b);
  const sc = screenPosition(c);
  if (!sa || !sb || !sc || !(Math.abs(det) > 1e-9)) return screenPosition;
  // Solve [u v] = [ax ay 1] M for each screen axis via the two edge vectors.
  const solve = (ua: number, ub: number, uc: number) => {
    const px = ((ub - ua) * (cy - ay) - (uc - ua) * (by - ay)) / det;
    const py = ((uc - ua) * (bx - ax) - (ub - ua) * (cx - ax)) / det;
    return [px, py, ua - px * ax - py * ay] as const;
  };
  const [ux, uy, u0] = solve(sa[0], sb[0], sc[0]);
  const [vx, vy, v0] = solve(sa[1], sb[1], sc[1]);
  return (i: number) => {
    const p = data[i];
    return p ? [ux * p[0] + uy * p[1] + u0, vx * p[0] + vy * p[1] + v0] : null;
  };
}

/** Cell k of a row-major atlas with `columns` cells of `size` px per row. */
export function atlasCell(k: number, columns: number, size: number): [number, number] {
  const cols = Math.max(1, Math.floor(columns));
  return [(k % cols) * size, Math.floor(k / cols) * size];
}

/** What the overlay needs from the plot. */
export interface ThumbnailHost {
  /** Points that may get a thumbnail: the visible (not filtered-out) ones; off-screen ones are skipped here. */
  candidates(): ArrayLike<number>;
  screenPosition(i: number): readonly [number, number] | null;
  /** The points' data coordinates ([x, y, ...] per point), for the fast affine positions. */
  data?(): ReadonlyArray<ReadonlyArray<number>>;
  /** Border colour of a point (its own colour), or null for the theme's border colour. */
  colorOf(i: number): string | null;
  /** The plot's size in CSS px. */
  size(): { width: number; height: number };
}

export interface ThumbnailOptions {
  enabled: boolean;
  size: number;
  max: number;
}

export interface ThumbnailOverlay {
  canvas: HTMLCanvasElement;
  /** Traits changed: show/hide, and re-choose now. */
  configure(options: ThumbnailOptions): void;
  /** The camera moved: re-choose once it rests. */
  viewChanged(): void;
  /** Every frame: draw the chosen thumbnails at their current positions. */
  redraw(): void;
  /** Different data: drop every cached image. */
  reset(): void;
  destroy(): void;
}

interface AtlasReply {
  indices: number[];
  size: number;
  columns: number;
}

export function mountThumbnails(canvas: HTMLCanvasElement, host: ThumbnailHost, requester: Requester): ThumbnailOverlay {
  canvas.classList.add('nbviz-thumbnails');
  canvas.dataset.count = '0';
  canvas.hidden = true;
  const ctx = canvas.getContext('2d');
  let options: ThumbnailOptions = { enabled: false, size: 32, max: 0 };
  let chosen: number[] = [];
  let colors = new Map<number, string | null>();
  let generation = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const cache = new Lru<string, ImageBitmap>(CACHE_SIZE, (b) => b.close());
  const pending = new Set<string>();
  const key = (size: number, i: number) => `${size}:${i}`;

  const fit = () => {
    const { width, height } = host.size();
    const dpr = window.devicePixelRatio || 1;
    const w = Math.round(width * dpr);
    const h = Math.round(height * dpr);
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
      canvas.style.width = `${width}px`;
      canvas.style.height = `${height}px`;
    }
    ctx?.setTransform(dpr, 0, 0, dpr, 0, 0);
    return { width, height };
  };

  const redraw = () => {
    if (!ctx || canvas.hidden) return;
    const { width, height } = fit();
    ctx.clearRect(0, 0, width, height);
    // Small images (8x8 digits) stay crisp, as in the neighbour grid.
    ctx.imageSmoothingEnabled = false;
    const s = options.size;
    const drawn: number[] = [];
    for (const i of chosen) {
      const bitmap = cache.peek(key(s, i));
      const p = bitmap && host.screenPosition(i);
      if (!bitmap || !p) continue;
      const x = p[0] - s / 2;
      const y = p[1] - s / 2;
      if (x > width || y > height || x + s < 0 || y + s < 0) continue;
      ctx.drawImage(bitmap, x, y, s, s);
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = colors.get(i) ?? 'rgba(128, 128, 128, 0.8)';
      ctx.strokeRect(x - 0.75, y - 0.75, s + 1.5, s + 1.5);
      drawn.push(i);
    }
    // Which points show an image: for tests and devtools (at most max_thumbnails numbers).
    canvas.dataset.count = String(drawn.length);
    canvas.dataset.indices = drawn.join(' ');
  };

  const decode = async (reply: AtlasReply, buffer: DataView, gen: number) => {
    const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength).slice();
    const atlas = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
    try {
      const s = reply.size;
      await Promise.all(
        reply.indices.map(async (i, k) => {
          const [sx, sy] = atlasCell(k, reply.columns, s);
          const bitmap = await createImageBitmap(atlas, sx, sy, s, s);
          if (gen === generation) cache.set(key(s, i), bitmap);
          else bitmap.close();
        }),
      );
    } finally {
      atlas.close();
    }
  };

  const fetchMissing = (size: number) => {
    const gen = generation;
    const missing = chosen.filter((i) => !cache.has(key(size, i)) && !pending.has(key(size, i)));
    for (let at = 0; at < missing.length; at += BATCH) {
      const batch = missing.slice(at, at + BATCH);
      batch.forEach((i) => pending.add(key(size, i)));
      requester
        .request<AtlasReply>('thumbnails', { indices: batch, size })
        .then(({ content, buffers }) => {
          if (gen !== generation) return;
          if (!buffers[0]) throw new Error('thumbnails reply has no image');
          return decode(content, buffers[0], gen);
        })
        .then(() => {
          delete canvas.dataset.error;
          redraw();
        })
        .catch((err: Error) => {
          // The plot stays usable without thumbnails; the reason is kept where tests and devtools see it.
          canvas.dataset.error = err.message;
        })
        .finally(() => batch.forEach((i) => pending.delete(key(size, i))));
    }
  };

  const choose = () => {
    clearTimeout(timer);
    if (canvas.hidden) return;
    const { width, height } = host.size();
    const candidates = host.candidates();
    const position = host.data ? affinePositions(host.data(), candidates, host.screenPosition) : host.screenPosition;
    chosen = chooseThumbnails(candidates, position, width, height, options.size, options.max);
    colors = new Map(chosen.map((i) => [i, host.colorOf(i)]));
    redraw();
    fetchMissing(options.size);
  };

  return {
    canvas,
    configure(next) {
      options = { ...next, size: Math.max(1, Math.round(next.size) || 32), max: Math.max(0, Math.floor(next.max) || 0) };
      canvas.hidden = !options.enabled;
      if (canvas.hidden) {
        clearTimeout(timer);
        chosen = [];
        canvas.dataset.count = '0';
        canvas.dataset.indices = '';
        return;
      }
      choose();
    },
    viewChanged() {
      if (canvas.hidden) return;
      clearTimeout(timer);
      timer = setTimeout(choose, SETTLE_MS);
    },
    redraw,
    reset() {
      generation++;
      pending.clear();
      cache.clear();
      chosen = [];
      redraw();
    },
    destroy() {
      clearTimeout(timer);
      generation++;
      cache.clear();
      canvas.remove();
    },
  };
}

const Z_NAMES = new Set(['valueZ', 'valueA', 'category']);
const W_NAMES = new Set(['valueW', 'valueB', 'value']);

/**
 * A point's colour as regl-scatterplot draws it (`colorBy` over its normalised colour list), as CSS.
 * valueA (valueZ) is a category code; valueB (valueW) a value in [0, 1] indexing the colour list.
 */
export function pointColorCss(
  colorBy: string | null | undefined,
  colors: ReadonlyArray<number> | ReadonlyArray<ReadonlyArray<number>>,
  point: ReadonlyArray<number> | undefined,
): string | null {
  const list = (typeof colors[0] === 'number' ? [colors] : colors) as ReadonlyArray<ReadonlyArray<number>>;
  if (!list.length || !point) return null;
  let k = 0;
  // regl-scatterplot reports colorBy under its own names (valueZ / valueW) whatever alias was set.
  if (list.length > 1 && Z_NAMES.has(String(colorBy))) k = Math.round(point[2]) % list.length;
  else if (list.length > 1 && W_NAMES.has(String(colorBy))) {
    k = Math.round(Math.min(Math.max(point[3], 0), 1) * (list.length - 1));
  }
  const c = list[k];
  if (!c || c.some((x) => !Number.isFinite(x))) return null;
  return `rgb(${Math.round(c[0] * 255)}, ${Math.round(c[1] * 255)}, ${Math.round(c[2] * 255)})`;
}
