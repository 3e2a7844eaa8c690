// ProbMapPlayer front end: one panel per recorder (panel.ts: the class-probability map at the shown epoch,
// blended between recorded frames, coloured by lookup tables from Python, points on an overlay canvas) under one
// slider over the union of their epochs. Modes, interpolation and overlays are local: nothing here calls the
// model. State comes from traits (protocol.ts).

import type { AnyModel, RenderProps } from '@anywidget/types';
import { decodeArray } from '../lib/codecs';
import { el } from '../lib/dom';
import { cssColor, paletteRows } from '../lib/colors';
import { mountWidgetRoot } from '../lib/error_banner';
import type { Luts } from '../lib/display';
import { buildControls, setClassOptions, setPlayButton, SPEEDS } from './controls';
import { mountUi } from '../lib/ui/keys';
import { createPanel } from './panel';
import { epochLabel, nearestRecorded, stepForEpoch, timeline, unionEpochs, type Step } from './playback';
import type { PlayerTraits } from './protocol';
import './styles.css';
import '../lib/static_picture.css'; // hides the notebook's picture of the view beside it

/** Test hook on the root element (tests/ui, benchmarks). */
export interface PlayerHook {
  step: number;
  steps: Step[];
  frameCount: number;
  requests: number;
  /** Frames held by each panel. */
  panelFrames: number[];
  /** ms per drawn frame (blend + colour + upload, all panels), the last 500. */
  drawTimes: number[];
  setStep(k: number): void;
}

/** How often (ms) the shown epoch is sent to Python while playing: the chart marker follows, the kernel is spared. */
const SYNC_MS = 500;
/** CSS px between panels (compare mode). */
const PANEL_GAP = 8;

const bytesOf = (v: unknown): Uint8Array => {
  const d = decodeArray(v);
  return d ? new Uint8Array(d.data.buffer, d.data.byteOffset, d.data.byteLength) : new Uint8Array(0);
};

function render({ model, el: host }: Pick<RenderProps<PlayerTraits>, 'model' | 'el'>): () => void {
  const { root, banner } = mountWidgetRoot(model, host, 'nbviz-pm');
  const ui = mountUi(root); // shortcuts (Space plays / pauses, O loops)
  const runs = Math.max(1, (model.get('run_names') ?? []).length);
  const panels = Array.from({ length: runs }, (_, run) => createPanel(model as AnyModel<PlayerTraits>, run, root));
  const row = el('div', 'nbviz-pm-panels');
  row.style.gap = `${PANEL_GAP}px`;
  row.append(...panels.map((p) => p.root));
  const controls = buildControls();
  const legend = el('div', 'nbviz-pm-legend');
  root.append(row, controls.root, legend);

  let steps: Step[] = [];
  let step = 0;
  let playing = false;
  let raf = 0;
  let lastTick = 0;
  let lastSync = 0;
  let destroyed = false;
  const drawTimes: number[] = [];

  let luts: Luts = { region: new Uint8Array(0), boundary: new Uint8Array(0), cls: new Uint8Array(0), entropy: new Uint8Array(0) };
  const readLuts = () => {
    luts = {
      region: bytesOf(model.get('region_luts')),
      boundary: bytesOf(model.get('boundary_luts')),
      cls: bytesOf(model.get('class_lut')),
      entropy: bytesOf(model.get('entropy_lut')),
    };
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
    const width = Math.max(64, Number(model.get('size')) || 420);
    controls.root.style.maxWidth = `${Math.max(runs * width + (runs - 1) * PANEL_GAP, 320)}px`;
    step = Math.max(0, Math.min(step, steps.length - 1));
    const s = steps[step];
    const t0 = performance.now();
    let drawn = false;
    for (const panel of panels) drawn = panel.draw(s ? s.epoch : null, luts) || drawn;
    if (!drawn) return;
    drawTimes.push(performance.now() - t0);
    if (drawTimes.length > 500) drawTimes.shift();
    controls.slider.max = String(Math.max(steps.length - 1, 0));
    // One frame has nothing to play: no play button, slider or speed, only the epoch it shows.
    for (const part of controls.playback) part.hidden = steps.length < 2;
    controls.slider.value = String(step);
    controls.label.textContent = epochLabel(s);
    root.dataset.nbvizReady = 'true';
  };

  const rebuild = () => {
    const epochs = unionEpochs(panels.map((p) => p.epochs()));
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
    setPlayButton(controls.play, playing);
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
  // A drag released between recorded frames settles on the nearest one: the readout then names a true epoch.
  controls.slider.addEventListener('pointerup', () => setStep(nearestRecorded(steps, Number(controls.slider.value))));
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
  const unsubscribe = panels.map((p) => p.store.subscribe(rebuild));

  const hook: PlayerHook = {
    get step() { return step; },
    get steps() { return steps; },
    get frameCount() { return panels.reduce((n, p) => n + p.store.frames.length, 0); },
    get requests() { return panels.reduce((n, p) => n + p.store.requests, 0); },
    get panelFrames() { return panels.map((p) => p.store.frames.length); },
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
    unsubscribe.forEach((off) => off());
    ui.dispose();
    banner.destroy();
    root.remove();
  };
}

export default { render };
