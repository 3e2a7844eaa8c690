// SketchInput: a drawing pad. The pointer's path goes to Python in batches (one per animation frame); Python inks
// the pixels (the one drawing rule, nbviz/widgets/sketch_input.py) and sends them back in `pixels`, which this view
// paints. An anywidget view, so the sketchpad works where ipycanvas does not (marimo).

import type { RenderProps } from '@anywidget/types';
import { decodeArray } from '../lib/codecs';
import { el } from '../lib/dom';
import { mountWidgetRoot } from '../lib/error_banner';
import { createRequester } from '../lib/requests';
import '../lib/static_picture.css';
import './styles.css';

export interface SketchTraits {
  pixels: unknown;
  scale: number;
  error: string;
  error_details: string;
}

/** Grey levels 0..255 (ink) as RGBA: ink is dark on a white pad. */
export function inkToRgba(levels: ArrayLike<number>): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(new ArrayBuffer(levels.length * 4));
  for (let i = 0; i < levels.length; i++) {
    const v = 255 - Math.max(0, Math.min(255, levels[i]));
    out.set([v, v, v, 255], i * 4);
  }
  return out;
}

function render({ model, el: host }: RenderProps<SketchTraits>): () => void {
  const { root, banner } = mountWidgetRoot(model, host, 'nbviz-sketch');
  const canvas = el('canvas', 'nbviz-sketch-canvas');
  const clear = el('button', 'nbviz-sketch-clear', 'Clear');
  clear.type = 'button';
  clear.title = 'Clear the pad';
  root.append(canvas, clear);
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
  const requester = createRequester(model as unknown as Parameters<typeof createRequester>[0]);
  const fail = (err: unknown) => banner.setLocalError(`SketchInput: ${String((err as Error)?.message ?? err)}`);

  const paint = () => {
    const px = decodeArray(model.get('pixels'));
    if (!px || px.shape.length !== 2) return;
    const [h, w] = px.shape;
    const scale = Math.max(1, Number(model.get('scale')) || 1);
    canvas.width = w;
    canvas.height = h;
    canvas.style.width = `${w * scale}px`;
    canvas.style.height = `${h * scale}px`;
    ctx.putImageData(new ImageData(inkToRgba(px.data as ArrayLike<number>), w, h), 0, 0);
    root.dataset.nbvizReady = 'true';
  };

  let queue: number[][] = [];
  let drawing = false;
  let frame = 0;
  const flush = () => {
    frame = 0;
    if (!queue.length) return;
    const points = queue;
    queue = [];
    requester.request('stroke', { points }).catch(fail);
  };
  const add = (e: PointerEvent) => {
    const r = canvas.getBoundingClientRect();
    queue.push([e.clientX - r.left, e.clientY - r.top]);
    if (!frame) frame = requestAnimationFrame(flush);
  };
  const down = (e: PointerEvent) => {
    drawing = true;
    canvas.setPointerCapture?.(e.pointerId);
    add(e);
  };
  const move = (e: PointerEvent) => {
    if (drawing) add(e);
  };
  const up = () => {
    drawing = false;
  };
  canvas.addEventListener('pointerdown', down);
  canvas.addEventListener('pointermove', move);
  canvas.addEventListener('pointerup', up);
  canvas.addEventListener('pointerleave', up);
  clear.addEventListener('click', () => requester.request('clear', {}).catch(fail));
  model.on('change:pixels', paint);
  model.on('change:scale', paint);
  paint();
  return () => {
    if (frame) cancelAnimationFrame(frame);
    requester.dispose();
    model.off('change:pixels', paint);
    model.off('change:scale', paint);
  };
}

export default { render };
