// EmbeddingExplorer front end: a regl-scatterplot view of `points`, coloured by `categories`,
// with a focus ring, hover tooltip, legend and error banner. State comes only from traits.

import type { AnyModel, RenderProps } from '@anywidget/types';
import createScatterplot from 'regl-scatterplot';
import { decodeArray, type TypedArray, type WireArray } from '../lib/codecs';
import { cssColor, paletteRows, type Rgba } from '../lib/colors';
import { mountErrorBanner } from '../lib/error_banner';
import { readTheme, watchTheme, type Theme } from '../lib/theme';
import { colorEncoding } from './encoding';
import { drawRing, ringGeometry } from './focus_ring';
import { renderLegend } from './legend';
import { fitDistance, normalizePoints } from './normalize';
import { acquireRenderer, releaseRenderer } from './renderer';
import { tooltipPosition, tooltipText } from './tooltip';
import './styles.css';

export interface ExplorerTraits {
  points: WireArray | null;
  categories: WireArray | null;
  category_names: string[];
  palette: WireArray | null;
  focus: number;
  point_size: number;
  height: number;
  error: string;
  error_details: string;
}

/** Test hook set on the root element (see tests/ui). */
export interface ExplorerHook {
  screenPosition(i: number): [number, number] | null;
  pointCount: number;
}

type Scatterplot = ReturnType<typeof createScatterplot>;
type ScatterOptions = NonNullable<Parameters<typeof createScatterplot>[0]>;
type ScatterSettings = Parameters<Scatterplot['set']>[0];

/** Pointer travel (CSS px) beyond which a press is a pan, not a click; regl-scatterplot's lassoMinDist. */
const CLICK_SLOP = 4;
/** Width used until the element is laid out (anywidget may render into a detached element). */
const FALLBACK_WIDTH = 600;

function div(className: string): HTMLDivElement {
  const d = document.createElement('div');
  d.className = className;
  return d;
}

function render({ model, el }: Pick<RenderProps<ExplorerTraits>, 'model' | 'el'>): () => void {
  const root = div('nbviz-root nbviz-embedding');
  root.dataset.nbvizReady = 'false';
  el.append(root);
  const banner = mountErrorBanner(model, root);

  const plot = div('nbviz-plot');
  const canvas = document.createElement('canvas');
  canvas.className = 'nbviz-scatter';
  const overlay = document.createElement('canvas');
  overlay.className = 'nbviz-overlay';
  const resetButton = document.createElement('button');
  resetButton.type = 'button';
  resetButton.className = 'nbviz-reset';
  resetButton.textContent = 'Reset view';
  resetButton.title = 'Fit all points in view';
  const legend = div('nbviz-legend');
  const tip = div('nbviz-tooltip');
  tip.hidden = true;
  plot.append(canvas, overlay, resetButton, legend, tip);
  root.append(plot);

  const heightPx = () => Math.max(50, Math.round(Number(model.get('height')) || 400));
  const pointSize = () => {
    const s = Number(model.get('point_size'));
    return Number.isFinite(s) && s > 0 ? s : 3;
  };
  let width = plot.clientWidth || FALLBACK_WIDTH;
  let height = heightPx();
  plot.style.height = `${height}px`;

  let theme: Theme | null = null;
  let scatter: Scatterplot;
  try {
    scatter = createScatterplot({
      renderer: acquireRenderer(),
      canvas,
      width,
      height,
      pointSize: pointSize(),
      // point_size means CSS px at every zoom level.
      pointScaleMode: 'constant',
      // Events in the same tick, so the focus ring never lags the points by a frame.
      syncEvents: true,
      // Blob workers can be blocked by a notebook host's CSP; indexing on the main thread always works.
      spatialIndexUseWorker: false,
      // Selection is only used to draw the focused point on top; its own styling is turned off.
      pointOutlineWidth: 0,
      pointSizeSelected: 0,
      deselectOnDblClick: false,
      deselectOnEscape: false,
      // No lasso / rotate until the Python side has traits for them.
      actionKeyMap: {},
      // actionKeyMap is missing from regl-scatterplot 1.16's typings (it has the old keyMap).
    } as ScatterOptions);
  } catch (err) {
    releaseRenderer();
    banner.setLocalError('This browser cannot draw the plot (WebGL is unavailable).', String(err));
    return () => {
      banner.destroy();
      root.remove();
    };
  }

  // --- data state -----------------------------------------------------------------------------
  let n = 0;
  let codes: TypedArray | null = null;
  let rows: Rgba[] = paletteRows(null);
  let half = { w: 0, h: 0 };
  let drawn = false;
  let destroyed = false;
  let generation = 0;
  let readyGeneration = -1;

  const focusIndex = () => {
    const f = Number(model.get('focus'));
    return Number.isInteger(f) && f >= 0 && f < n ? f : -1;
  };

  // --- overlay (focus ring) -------------------------------------------------------------------
  const ctx = overlay.getContext('2d');
  const sizeOverlay = () => {
    const dpr = window.devicePixelRatio || 1;
    overlay.width = Math.round(width * dpr);
    overlay.height = Math.round(height * dpr);
    overlay.style.width = `${width}px`;
    overlay.style.height = `${height}px`;
    ctx?.setTransform(dpr, 0, 0, dpr, 0, 0);
  };
  const screenPosition = (i: number): [number, number] | null => {
    if (!drawn || i < 0 || i >= n) return null;
    const p = scatter.getScreenPosition(i);
    return p ? [p[0], p[1]] : null;
  };
  const drawOverlay = () => {
    if (!ctx) return;
    const ring = ringGeometry(screenPosition(focusIndex()), pointSize(), width, height);
    const t = theme ?? { focus: '#e6007e', background: [255, 255, 255, 255] as Rgba };
    drawRing(ctx, ring, t.focus, cssColor([t.background[0], t.background[1], t.background[2], 180]));
  };
  sizeOverlay();

  const syncFocus = () => {
    if (drawn) {
      const f = focusIndex();
      // Selecting the focused point makes regl-scatterplot draw it above all others.
      if (f >= 0) scatter.select([f], { preventEvent: true });
      else scatter.deselect({ preventEvent: true });
    }
    drawOverlay();
  };

  // --- theme ----------------------------------------------------------------------------------
  const applyTheme = () => {
    if (!root.isConnected) return;
    theme = readTheme(root);
    scatter.set({ backgroundColor: theme.background.map((c, i) => (i < 3 ? c / 255 : 1)) as Rgba });
    drawOverlay();
  };

  // --- colours & legend -----------------------------------------------------------------------
  const applyColors = () => {
    const enc = colorEncoding(codes, rows);
    // Equal-length lists make regl-scatterplot use them as-is for hover/selection, so
    // hovering or focusing a point never changes its colour.
    // The typings allow a colour list only for pointColor; the library takes lists for all three.
    scatter.set({
      colorBy: enc.colorBy,
      pointColor: enc.colors,
      pointColorActive: enc.colors,
      pointColorHover: enc.colors,
    } as unknown as ScatterSettings);
    const names = (model.get('category_names') ?? []).map(String);
    renderLegend(legend, codes ? names : [], rows);
  };

  const readCategories = () => {
    let c: TypedArray | null = null;
    try {
      c = decodeArray(model.get('categories'))?.data ?? null;
      rows = paletteRows(decodeArray(model.get('palette')));
    } catch (err) {
      banner.setLocalError(`Could not read categories or palette: ${String(err)}`);
      rows = paletteRows(null);
    }
    // Categories that do not match the points are ignored rather than mis-coloured.
    codes = c && c.length === n && n > 0 ? c : null;
  };

  // --- points -----------------------------------------------------------------------------------
  // Until the user pans or zooms, the view keeps fitting the data as the container settles
  // (notebook outputs often change width right after the first render).
  let autoFit = true;
  const fitView = () => {
    autoFit = true;
    const d = fitDistance(half.w, half.h, width / height);
    return scatter.zoomToLocation([0, 0], d, { transition: false });
  };

  const drawPoints = async () => {
    const gen = ++generation;
    root.dataset.nbvizReady = 'false';
    // regl-scatterplot forgets the old points here; no screen positions until the new ones are in.
    drawn = false;
    tip.hidden = true;
    let xy: TypedArray = new Float32Array(0);
    try {
      const p = decodeArray(model.get('points'));
      if (p && p.data.length > 0) {
        if (p.shape.length !== 2 || p.shape[1] !== 2) throw new Error(`points must have shape (N, 2), got [${p.shape}]`);
        xy = p.data;
      }
      banner.setLocalError('');
    } catch (err) {
      banner.setLocalError(`Could not read points: ${String(err)}`);
    }
    const norm = normalizePoints(xy, xy.length / 2);
    n = norm.x.length;
    half = { w: norm.halfWidth, h: norm.halfHeight };
    readCategories();
    applyColors();
    const data = codes ? { x: norm.x, y: norm.y, valueA: codes } : { x: norm.x, y: norm.y };
    // regl-scatterplot types its point columns as number[]; typed arrays are read the same way.
    await scatter.draw(data as unknown as { x: number[]; y: number[] }, { zDataType: 'categorical' });
    if (gen !== generation || destroyed) return;
    drawn = true;
    syncFocus();
    readyGeneration = gen;
    await fitView();
  };

  // regl-scatterplot rejects a draw() while another is running: run one at a time and
  // coalesce changes that arrive meanwhile into a single follow-up draw of the latest state.
  let inFlight = false;
  let pending = false;
  const redrawPoints = () => {
    if (inFlight) {
      pending = true;
      return;
    }
    inFlight = true;
    drawPoints()
      .catch((err) => banner.setLocalError(`Could not draw points: ${String(err)}`, String(err?.stack ?? '')))
      .finally(() => {
        inFlight = false;
        if (pending && !destroyed) {
          pending = false;
          redrawPoints();
        }
      });
  };

  // --- interaction ------------------------------------------------------------------------------
  let downAt: [number, number] | null = null;
  let clickedPoint = -1;
  const setFocus = (i: number) => {
    if (model.get('focus') !== i) {
      model.set('focus', i);
      model.save_changes();
    }
    syncFocus();
  };
  const onPointerDown = (e: PointerEvent) => {
    downAt = e.target === canvas ? [e.clientX, e.clientY] : null;
  };
  const onWheel = () => {
    autoFit = false;
  };
  // Capture phase, before regl-scatterplot's own click handler: clear its selection so a click on
  // the already-focused point still reports a `select`, and note that nothing was hit yet.
  const onClickCapture = (e: MouseEvent) => {
    if (e.target !== canvas || !drawn) return;
    clickedPoint = -1;
    scatter.deselect({ preventEvent: true });
  };
  const onClick = (e: MouseEvent) => {
    if (e.target !== canvas || !drawn) return;
    const moved = downAt ? Math.hypot(e.clientX - downAt[0], e.clientY - downAt[1]) : 0;
    if (moved >= CLICK_SLOP) {
      syncFocus(); // a pan, not a click: restore the selection cleared above
      return;
    }
    setFocus(clickedPoint);
  };
  let pointer: [number, number] = [0, 0];
  const placeTip = () => {
    const [x, y] = tooltipPosition(pointer[0], pointer[1], tip.offsetWidth, tip.offsetHeight, width, height);
    tip.style.transform = `translate(${x}px, ${y}px)`;
  };
  const onPointerMove = (e: PointerEvent) => {
    const r = plot.getBoundingClientRect();
    pointer = [e.clientX - r.left, e.clientY - r.top];
    // A drag that started on the canvas is a pan: stop auto-fitting.
    if (e.buttons && downAt && Math.hypot(e.clientX - downAt[0], e.clientY - downAt[1]) >= CLICK_SLOP) autoFit = false;
    if (!tip.hidden) placeTip();
  };
  const onLeave = () => {
    tip.hidden = true;
  };
  const onReset = () => {
    void fitView();
  };
  plot.addEventListener('pointerdown', onPointerDown);
  plot.addEventListener('wheel', onWheel, { passive: true });
  plot.addEventListener('click', onClickCapture, true);
  plot.addEventListener('click', onClick);
  plot.addEventListener('pointermove', onPointerMove);
  plot.addEventListener('pointerleave', onLeave);
  resetButton.addEventListener('click', onReset);

  const onSelect = ({ points }: { points: number[] }) => {
    if (points.length === 1) clickedPoint = points[0];
  };
  const onPointOver = (i: number) => {
    tip.textContent = tooltipText(i, codes ? codes[i] : null, model.get('category_names') ?? []);
    tip.hidden = false;
    placeTip();
  };
  const onPointOut = () => {
    tip.hidden = true;
  };
  const onDraw = () => {
    drawOverlay();
    if (readyGeneration === generation && readyGeneration >= 0) {
      root.dataset.nbvizReady = 'true';
      readyGeneration = -1;
    }
  };
  const subSelect = scatter.subscribe('select', onSelect);
  const subOver = scatter.subscribe('pointOver', onPointOver);
  const subOut = scatter.subscribe('pointOut', onPointOut);
  const subDraw = scatter.subscribe('draw', onDraw);
  const unsubscribeAll = () => {
    scatter.unsubscribe(subSelect);
    scatter.unsubscribe(subOver);
    scatter.unsubscribe(subOut);
    scatter.unsubscribe(subDraw);
  };

  // --- size -------------------------------------------------------------------------------------
  const resize = () => {
    const w = plot.clientWidth;
    const h = heightPx();
    if (!theme) applyTheme();
    if (w <= 0 || (w === width && h === height)) return;
    width = w;
    height = h;
    plot.style.height = `${h}px`;
    scatter.set({ width: w, height: h });
    sizeOverlay();
    if (autoFit && drawn) void fitView();
    drawOverlay();
  };
  const observer = new ResizeObserver(resize);
  observer.observe(plot);

  // --- traits -----------------------------------------------------------------------------------
  // Colour codes live in regl-scatterplot's point state, so new categories redraw the points.
  const onCategories = redrawPoints;
  const onPalette = () => {
    readCategories();
    applyColors();
  };
  const onPointSize = () => {
    scatter.set({ pointSize: pointSize() });
    drawOverlay();
  };
  const onHeight = () => {
    plot.style.height = `${heightPx()}px`;
    resize();
  };
  const handlers: Array<[string, () => void]> = [
    ['change:points', redrawPoints],
    ['change:categories', onCategories],
    ['change:category_names', applyColors],
    ['change:palette', onPalette],
    ['change:focus', syncFocus],
    ['change:point_size', onPointSize],
    ['change:height', onHeight],
  ];
  for (const [name, fn] of handlers) model.on(name, fn);
  const unwatchTheme = watchTheme(applyTheme);

  const hook: ExplorerHook = {
    screenPosition,
    get pointCount() {
      return n;
    },
  };
  (root as HTMLElement & { nbviz?: ExplorerHook }).nbviz = hook;

  redrawPoints();

  return () => {
    destroyed = true;
    generation++;
    for (const [name, fn] of handlers) model.off(name as `change:${keyof ExplorerTraits & string}`, fn);
    unwatchTheme();
    observer.disconnect();
    plot.removeEventListener('pointerdown', onPointerDown);
    plot.removeEventListener('wheel', onWheel);
    plot.removeEventListener('click', onClickCapture, true);
    plot.removeEventListener('click', onClick);
    plot.removeEventListener('pointermove', onPointerMove);
    plot.removeEventListener('pointerleave', onLeave);
    resetButton.removeEventListener('click', onReset);
    unsubscribeAll();
    scatter.destroy();
    releaseRenderer();
    banner.destroy();
    root.remove();
  };
}

export type ExplorerModel = AnyModel<ExplorerTraits>;

export default { render };
