// One map of the player: the frames of one recorder (`run`) at the slider's epoch, blended between its recorded
// frames and coloured by the lookup tables from Python, with its points on an overlay canvas. The player shows
// one panel, or one per recorder in compare mode; all follow the same slider, mode and overlays.

import type { AnyModel } from '@anywidget/types';
import { decodeArray, type TypedArray } from '../lib/codecs';
import { el } from '../lib/dom';
import { paletteRows } from '../lib/colors';
import { readTheme } from '../lib/theme';
import { argmaxMap, colorizeProbabilities, flipMask, type Luts } from '../lib/display';
import { frameStore, type FrameStore } from './frames';
import { drawPoints, toScreen } from './overlay';
import { blend, frameAt } from './playback';
import type { Mode, PlayerTraits } from './protocol';

const FLIP_RGBA: [number, number, number, number] = [230, 0, 126, 255];

export interface Panel {
  root: HTMLDivElement;
  store: FrameStore;
  /** Epochs of the frames this panel holds (recorded by Python and arrived here). */
  epochs(): number[];
  /** Draw the map at `epoch` (null: none yet); true when a frame was drawn. */
  draw(epoch: number | null, luts: Luts): boolean;
}

export function createPanel(model: AnyModel<PlayerTraits>, run: number, theme: HTMLElement): Panel {
  const root = el('div', 'nbviz-pm-panel');
  const title = el('div', 'nbviz-pm-title', String(model.get('run_names')?.[run] ?? ''));
  const stage = el('div', 'nbviz-pm-stage');
  const mapCanvas = el('canvas', 'nbviz-pm-map');
  const overlay = el('canvas', 'nbviz-pm-overlay');
  const status = el('div', 'nbviz-pm-status');
  stage.append(mapCanvas, overlay, status);
  root.append(title, stage);
  const store = frameStore(model, run);
  const mctx = mapCanvas.getContext('2d');
  const octx = overlay.getContext('2d');
  let probs = new Float32Array(0);
  let winners = new Uint16Array(0);
  let previousWinners = new Uint16Array(0);
  let image: ImageData | null = null;

  const epochs = () => (model.get('run_epochs')?.[run] ?? []).slice(0, store.frames.length);

  const layout = () => {
    const s = model.get('grid_shape') ?? [0, 0];
    const rows = Number(s[0]) || 0;
    const cols = Number(s[1]) || 0;
    const width = Math.max(64, Number(model.get('size')) || 420);
    const height = cols ? Math.round((width * rows) / cols) : width;
    stage.style.width = `${width}px`;
    stage.style.height = `${height}px`;
    title.style.maxWidth = `${width}px`;
    if (mapCanvas.width !== cols || mapCanvas.height !== rows) {
      mapCanvas.width = Math.max(cols, 1);
      mapCanvas.height = Math.max(rows, 1);
      image = null;
    }
    const dpr = window.devicePixelRatio || 1;
    overlay.width = Math.round(width * dpr);
    overlay.height = Math.round(height * dpr);
    octx?.setTransform(dpr, 0, 0, dpr, 0, 0);
    return { width, height, rows, cols };
  };

  const drawOverlay = (shown: number, width: number, height: number, rows: number, cols: number) => {
    if (!octx) return;
    octx.clearRect(0, 0, width, height);
    const xlim = model.get('xlim');
    const ylim = model.get('ylim');
    if (!xlim || !ylim) return;
    const place = (x: number, y: number) => toScreen(x, y, xlim, ylim, rows, cols, width, height);
    const palette = paletteRows(decodeArray(model.get('palette')));
    const frame = store.frames[shown];
    const outline = readTheme(theme).foreground;
    const layers: Array<[boolean, unknown, unknown, ArrayLike<number>, boolean]> = [
      [!!model.get('show_train'), model.get('points'), model.get('point_classes'), frame.preds, false],
      [!!model.get('show_test'), model.get('test_points'), model.get('test_classes'), frame.testPreds, true],
    ];
    for (const [show, pts, cls, preds, square] of layers) {
      const xy = decodeArray(pts);
      if (!show || !xy) continue;
      const codes = decodeArray(cls);
      drawPoints(octx, { xy: xy.data as Float32Array, classes: codes ? (codes.data as TypedArray) : null, preds, square },
        palette, place, square ? 3 : 3.5, outline);
    }
  };

  const draw = (epoch: number | null, luts: Luts): boolean => {
    const frames = store.frames;
    const c = Number(model.get('n_classes')) || 0;
    const { width, height, rows, cols } = layout();
    status.textContent = frames.length ? '' : String(model.get('status') || 'waiting for frames');
    if (epoch === null || !frames.length || !c || !mctx || !luts.region.length) return false;
    const { i, f } = frameAt(epochs(), epoch);
    const cells = rows * cols;
    if (probs.length !== cells * c) {
      probs = new Float32Array(cells * c);
      winners = new Uint16Array(cells);
      previousWinners = new Uint16Array(cells);
    }
    const next = f > 0 && i + 1 < frames.length ? frames[i + 1].map : null;
    blend(frames[i].map, next, f, c, model.get('interpolation_type') ?? 'linear', probs);
    if (!image) image = mctx.createImageData(cols, rows);
    const mode = (model.get('mode') ?? 'region') as Mode;
    colorizeProbabilities(probs, c, rows, cols, luts, {
      mode, target: Number(model.get('target_class')) || 0, boundaryLine: !!model.get('boundary_line'),
    }, image.data, winners);
    if (model.get('show_flips') && i > 0) {
      // Where the winning class changed since the previous recorded frame.
      if (mode === 'class' || mode === 'entropy') argmaxMap(probs, c, winners);
      argmaxMap(blend(frames[i - 1].map, null, 0, c, 'linear', new Float32Array(cells * c)), c, previousWinners);
      const flips = flipMask(winners, previousWinners, rows, cols);
      for (let cell = 0; cell < cells; cell++) if (flips[cell]) image.data.set(FLIP_RGBA, 4 * cell);
    }
    mctx.putImageData(image, 0, 0);
    drawOverlay(f >= 0.5 && i + 1 < frames.length ? i + 1 : i, width, height, rows, cols);
    return true;
  };

  return { root, store, epochs, draw };
}
