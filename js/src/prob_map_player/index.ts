// ProbMapPlayer front end: a 2-D canvas of the class-probability map at the shown epoch, blended between
// recorded frames, coloured by lookup tables from Python, with the points on an overlay canvas. Modes,
// interpolation and overlays are local: nothing here calls the model. State comes from traits (protocol.ts).

import type { AnyModel, RenderProps } from '@anywidget/types';
import { decodeArray, type TypedArray } from '../lib/codecs';
import { el } from '../lib/dom';
import { cssColor, paletteRows } from '../lib/colors';
import { mountWidgetRoot } from '../lib/error_banner';
import { readTheme } from '../lib/theme';
import { argmaxMap, colorize, flipMask, type Luts } from './colorize';
import { buildControls, setClassOptions, SPEEDS } from './controls';
import { frameStore } from './frames';
import { drawPoints, toScreen } from './overlay';
import { blend, epochLabel, stepForEpoch, timeline, type Step } from './playback';
import type { Mode, PlayerTraits } from './protocol';
import './styles.css';

/** Test hook on the root element (tests/ui, benchmarks). */
export interface PlayerHook {
  step: number;
  steps: Step[];
  frameCount: number;
  requests: number;
  /** ms per drawn frame (blend + colour + upload), the last 500. */
  drawTimes: number[];
  setStep(k: number): void;
}

/** How often (ms) the shown epoch is sent to Python while playing: the chart marker follows, the kernel is spared. */
const SYNC_MS = 500;
const FLIP_RGBA: [number, number, number, number] = [230, 0, 126, 255];

const bytesOf = (v: unknown): Uint8Array => {
  const d = decodeArray(v);
  return d ? new Uint8Array(d.data.buffer, d.data.byteOffset, d.data.byteLength) : new Uint8Array(0);
};

function render({ model, el: host }: Pick<RenderProps<PlayerTraits>, 'model' | 'el'>): () => void {
  const { root, banner } = mountWidgetRoot(model, host, 'nbviz-pm');
  const stage = el('div', 'nbviz-pm-stage');
  const mapCanvas = el('canvas', 'nbviz-pm-map');
  const overlay = el('canvas', 'nbviz-pm-overlay');
  const status = el('div', 'nbviz-pm-status');
  stage.append(mapCanvas, overlay, status);
  const controls = buildControls();
  const legend = el('div', 'nbviz-pm-legend');
  root.append(stage, controls.root, legend);
  const store = frameStore(model as AnyModel<PlayerTraits>);

  let steps: Step[] = [];
  let step = 0;
  let playing = false;
  let raf = 0;
  let lastTick = 0;
  let lastSync = 0;
  let destroyed = false;
  const drawTimes: number[] = [];
  let probs = new Float32Array(0);
  let winners = new Uint16Array(0);
  let previousWinners = new Uint16Array(0);
  let image: ImageData | null = null;
  const mctx = mapCanvas.getContext('2d');
  const octx = overlay.getContext('2d');

  const shape = (): [number, number] => {
    const s = model.get('grid_shape') ?? [0, 0];
    return [Number(s[0]) || 0, Number(s[1]) || 0];
  };
  const classes = () => Number(model.get('n_classes')) || 0;
  let luts: Luts = { region: new Uint8Array(0), boundary: new Uint8Array(0), cls: new Uint8Array(0), entropy: new Uint8Array(0) };
  const readLuts = () => {
    luts = {
      region: bytesOf(model.get('region_luts')),
      boundary: bytesOf(model.get('boundary_luts')),
      cls: bytesOf(model.get('class_lut')),
      entropy: bytesOf(model.get('entropy_lut')),
    };
  };
  const layout = () => {
    const [rows, cols] = shape();
    const width = Math.max(64, Number(model.get('size')) || 420);
    const height = cols ? Math.round((width * rows) / cols) : width;
    stage.style.width = `${width}px`;
    stage.style.height = `${height}px`;
    controls.root.style.maxWidth = `${Math.max(width, 320)}px`;
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

  const drawLegend = () => {
    const rows = paletteRows(decodeArray(model.get('palette')));
    const names = model.get('class_names') ?? [];
    legend.replaceChildren(...names.map((name, k) => {
      const item = el('span', 'nbviz-pm-legend-item');
      const sw = el('span', 'nbviz-pm-swatch');
      sw.style.background = cssColor(rows[k % rows.length]);
      item.append(sw, document.createTextNode(String(name)));
      return item;
    }));
    setClassOptions(controls.target, names);
    controls.target.value = String(model.get('target_class') ?? 0);
  };

  const draw = () => {
    if (destroyed) return;
    const frames = store.frames;
    const c = classes();
    const { width, height, rows, cols } = layout();
    status.textContent = frames.length ? '' : String(model.get('status') || 'waiting for frames');
    if (!frames.length || !c || !mctx || !luts.region.length) return;
    step = Math.min(step, steps.length - 1);
    const s = steps[step];
    const t0 = performance.now();
    const cells = rows * cols;
    if (probs.length !== cells * c) {
      probs = new Float32Array(cells * c);
      winners = new Uint16Array(cells);
      previousWinners = new Uint16Array(cells);
    }
    const next = s.f > 0 && s.i + 1 < frames.length ? frames[s.i + 1].map : null;
    blend(frames[s.i].map, next, s.f, c, model.get('interpolation_type') ?? 'linear', probs);
    if (!image) image = mctx.createImageData(cols, rows);
    const mode = (model.get('mode') ?? 'region') as Mode;
    colorize(probs, c, rows, cols, luts, {
      mode, target: Number(model.get('target_class')) || 0, boundaryLine: !!model.get('boundary_line'),
    }, image.data, winners);
    if (model.get('show_flips') && s.i > 0) {
      // Where the winning class changed since the previous recorded frame.
      if (mode === 'class' || mode === 'entropy') argmaxMap(probs, c, winners);
      argmaxMap(blend(frames[s.i - 1].map, null, 0, c, 'linear', new Float32Array(cells * c)), c, previousWinners);
      const flips = flipMask(winners, previousWinners, rows, cols);
      for (let cell = 0; cell < cells; cell++) if (flips[cell]) image.data.set(FLIP_RGBA, 4 * cell);
    }
    mctx.putImageData(image, 0, 0);
    drawTimes.push(performance.now() - t0);
    if (drawTimes.length > 500) drawTimes.shift();
    drawOverlay(s, width, height, rows, cols);
    controls.slider.max = String(Math.max(steps.length - 1, 0));
    controls.slider.value = String(step);
    controls.label.textContent = epochLabel(s);
    root.dataset.nbvizReady = 'true';
  };

  const drawOverlay = (s: Step, width: number, height: number, rows: number, cols: number) => {
    if (!octx) return;
    octx.clearRect(0, 0, width, height);
    const xlim = model.get('xlim');
    const ylim = model.get('ylim');
    if (!xlim || !ylim) return;
    const place = (x: number, y: number) => toScreen(x, y, xlim, ylim, rows, cols, width, height);
    const palette = paletteRows(decodeArray(model.get('palette')));
    const frame = store.frames[s.f >= 0.5 && s.i + 1 < store.frames.length ? s.i + 1 : s.i];
    const outline = readTheme(root).foreground;
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

  const rebuild = () => {
    const epochs = (model.get('epochs') ?? []).slice(0, store.frames.length);
    const shown = steps[step]?.epoch;
    steps = timeline(epochs, Number(model.get('interpolation')) || 0);
    step = steps.length ? stepForEpoch(steps, shown ?? Number(model.get('epoch'))) : 0;
    draw();
  };

  const syncEpoch = (force: boolean) => {
    const s = steps[step];
    if (!s) return;
    const now = performance.now();
    const e = Math.round(s.epoch);
    if (e !== model.get('epoch') && (force || now - lastSync > SYNC_MS)) {
      lastSync = now;
      model.set('epoch', e);
      model.save_changes();
    }
  };

  const setStep = (k: number, sync = true) => {
    step = Math.max(0, Math.min(k, steps.length - 1));
    draw();
    if (sync) syncEpoch(true);
  };

  const tick = (now: number) => {
    if (!playing || destroyed) return;
    const fps = Math.max(0.5, Number(model.get('fps')) || 10);
    if (now - lastTick >= 1000 / fps) {
      lastTick = now;
      if (step + 1 < steps.length) setStep(step + 1, false);
      else if (model.get('loop')) setStep(0, false);
      else {
        setPlaying(false);
        return;
      }
      syncEpoch(false);
    }
    raf = requestAnimationFrame(tick);
  };
  const setPlaying = (on: boolean, fromModel = false) => {
    playing = on && steps.length > 1;
    controls.play.textContent = playing ? 'Pause' : 'Play';
    cancelAnimationFrame(raf);
    if (playing) {
      if (step >= steps.length - 1) step = 0;
      lastTick = 0;
      raf = requestAnimationFrame(tick);
    } else syncEpoch(true);
    if (!fromModel && model.get('playing') !== playing) {
      model.set('playing', playing);
      model.save_changes();
    }
  };

  // --- controls -> traits ------------------------------------------------------------------------
  const save = (name: string, value: unknown) => {
    model.set(name, value as never);
    model.save_changes();
  };
  controls.play.addEventListener('click', () => setPlaying(!playing));
  controls.slider.addEventListener('input', () => setStep(Number(controls.slider.value), false));
  controls.slider.addEventListener('change', () => syncEpoch(true));
  controls.speed.addEventListener('change', () => save('fps', Number(controls.speed.value)));
  controls.loop.addEventListener('change', () => save('loop', controls.loop.checked));
  controls.mode.addEventListener('change', () => save('mode', controls.mode.value));
  controls.blend.addEventListener('change', () => save('interpolation_type', controls.blend.value));
  controls.target.addEventListener('change', () => save('target_class', Number(controls.target.value)));
  for (const [name, box] of Object.entries(controls.toggles)) box.addEventListener('change', () => save(name, box.checked));

  const syncControls = () => {
    const fps = Number(model.get('fps')) || 10;
    const nearest = SPEEDS.reduce((a, b) => (Math.abs(b - fps) < Math.abs(a - fps) ? b : a));
    controls.speed.value = String(nearest);
    controls.loop.checked = !!model.get('loop');
    controls.mode.value = String(model.get('mode'));
    controls.blend.value = String(model.get('interpolation_type'));
    controls.target.value = String(model.get('target_class'));
    controls.target.hidden = model.get('mode') !== 'class';
    controls.toggles.show_test.parentElement!.hidden = !model.get('test_points');
    for (const [name, box] of Object.entries(controls.toggles)) box.checked = !!model.get(name);
  };

  // --- traits -> view ----------------------------------------------------------------------------
  const onTraits = () => {
    syncControls();
    draw();
  };
  const onColours = () => {
    readLuts();
    drawLegend();
    draw();
  };
  const onEpoch = () => {
    const e = Number(model.get('epoch'));
    if (steps[step] && Math.round(steps[step].epoch) === e) return;
    if (steps.length) setStep(stepForEpoch(steps, e), false);
  };
  const onPlaying = () => setPlaying(!!model.get('playing'), true);
  const traitEvents: Array<[string, () => void]> = [
    ['change:mode', onTraits], ['change:interpolation_type', onTraits], ['change:target_class', onTraits],
    ['change:boundary_line', onTraits], ['change:show_train', onTraits], ['change:show_test', onTraits],
    ['change:show_flips', onTraits], ['change:size', onTraits], ['change:fps', onTraits], ['change:loop', onTraits],
    ['change:palette', onColours], ['change:region_luts', onColours], ['change:class_names', onColours],
    ['change:n_classes', onColours], ['change:epochs', rebuild], ['change:interpolation', rebuild],
    ['change:epoch', onEpoch], ['change:playing', onPlaying], ['change:status', draw],
  ];
  for (const [name, fn] of traitEvents) model.on(name, fn);
  const unsubscribe = store.subscribe(rebuild);

  const hook: PlayerHook = {
    get step() { return step; },
    get steps() { return steps; },
    get frameCount() { return store.frames.length; },
    get requests() { return store.requests; },
    drawTimes,
    setStep: (k: number) => setStep(k),
  };
  (root as HTMLElement & { nbviz?: PlayerHook }).nbviz = hook;

  readLuts();
  drawLegend();
  syncControls();
  rebuild();
  if (model.get('playing')) setPlaying(true, true);

  return () => {
    destroyed = true;
    cancelAnimationFrame(raf);
    for (const [name, fn] of traitEvents) model.off(name, fn);
    unsubscribe();
    banner.destroy();
    root.remove();
  };
}

export default { render };
