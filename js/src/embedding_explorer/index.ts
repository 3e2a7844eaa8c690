// EmbeddingExplorer front end: a regl-scatterplot view of `points`, coloured by `categories` (legend) or
// `values` (colour bar), with selection (lasso / box), hidden categories, animated layout changes, a focus
// ring, hover tooltip, progress and error banner. State comes only from traits (protocol.ts).

import type { AnyModel, RenderProps } from '@anywidget/types';
import createScatterplot from 'regl-scatterplot';
import { decodeArray, encodeArray, type TypedArray } from '../lib/codecs';
import { el as element } from '../lib/dom';
import { cssColor, paletteRows, toUnitRgba, type Rgba } from '../lib/colors';
import { mountWidgetRoot } from '../lib/error_banner';
import { parseRgb, readTheme, watchTheme, type Theme } from '../lib/theme';
import { valueColors, valueColumn } from './color_mode';
import { renderColorbar } from './colorbar';
import { colorEncoding } from './encoding';
import { drawRing, ringGeometry } from './focus_ring';
import { maskIndices, nextHidden, visibleMask } from './hidden';
import { layoutAt, layoutSlider, sameValues } from './layouts';
import { renderLegend } from './legend';
import { fitDistance, normalizePoints } from './normalize';
import { progressBar } from './progress';
import { acquireRenderer, releaseRenderer } from './renderer';
import { normalizeSelection, rectPolygon, screenToGl, selectionTools, validIndices, type SelectShape } from './selection';
import { tooltipPosition, tooltipText } from './tooltip';
import { createRequester } from '../lib/requests';
import { mountNeighborPanel } from './neighbors_panel';
import { labelBar } from './toolbar';
import type { ExplorerTraits } from './protocol';
import './styles.css';
import '../lib/static_picture.css'; // hides the notebook's picture of the view beside it
// --- panels (neighbours, thumbnails, labelling): imports ---
import { itemTooltip } from './item_tooltip';
import { mountLinkedView, toView, type LinkedView } from './linked_view';
import { mountThumbnails, pointColorCss } from './thumbnails';
import './panels.css';
export type { ExplorerTraits };

/** Test hook set on the root element (see tests/ui). */
export interface ExplorerHook {
  /** CSS px inside the plot (= canvas) of point i, or null while (re)drawing or for a bad index. */
  screenPosition(i: number): [number, number] | null;
  pointCount: number;
  /** Length of the `selection` trait as the view has it. */
  selectedCount: number;
  /** Frames in which the points were drawn so far (each costs a full WebGL draw). */
  drawCount: number;
  /** The camera as the `view` trait would hold it: [target x, target y, distance]. */
  camera: number[] | null;
}

type Scatterplot = ReturnType<typeof createScatterplot>;
type ScatterOptions = NonNullable<Parameters<typeof createScatterplot>[0]>;
type ScatterSettings = Parameters<Scatterplot['set']>[0];

/** Pointer travel (CSS px) beyond which a press is a pan, not a click; regl-scatterplot's lassoMinDist. */
const CLICK_SLOP = 4;
/** Width used until the element is laid out (anywidget may render into a detached element). */
const FALLBACK_WIDTH = 600;
/** Point animation when positions change with the same N (a projection replacing PCA, another layout). */
const TRANSITION_MS = 600;

const div = (className: string): HTMLDivElement => element('div', className);

function render({ model, el }: Pick<RenderProps<ExplorerTraits>, 'model' | 'el'>): () => void {
  const { root, banner } = mountWidgetRoot(model, el, 'nbviz-embedding');

  // Layout: toolbar above; below it the plot (grows) and the side panel (fixed width, hidden when empty).
  // Panels append their own DOM to `toolbar` and `side`.
  const toolbar = div('nbviz-toolbar');
  const main = div('nbviz-main');
  const plot = div('nbviz-plot');
  const side = div('nbviz-side');
  main.append(plot, side);
  root.append(toolbar, main);

  // Focusable so Escape (clear selection) reaches it after a click on the plot.
  plot.tabIndex = -1;
  const canvas = element('canvas', 'nbviz-scatter');
  const overlay = element('canvas', 'nbviz-overlay');
  const resetButton = element('button', 'nbviz-reset', 'Reset view');
  resetButton.type = 'button';
  resetButton.title = 'Fit all points in view';
  const legend = div('nbviz-legend');
  const colorbar = div('nbviz-colorbar');
  colorbar.hidden = true;
  const tip = div('nbviz-tooltip');
  tip.hidden = true;
  const progress = progressBar();
  plot.append(canvas, overlay, resetButton, legend, colorbar, tip, progress.root);

  const requester = createRequester(model as unknown as Parameters<typeof createRequester>[0]);
  const activeLabel = () => String(model.get('active_label') ?? '');
  const assign = (label: string, indices: number[]) => {
    if (!label) {
      labels.setStatus('type a label first');
      return;
    }
    requester
      .request<{ count: number; label: string }>('assign', { label, indices })
      .then(({ content }) => labels.setStatus(`labelled ${content.count} as ${content.label}`))
      .catch((err: Error) => labels.setStatus(err.message));
  };
  const neighbors = mountNeighborPanel(side, requester, (i) => {
    if (activeLabel()) assign(activeLabel(), [i]);
    else setFocus(i);
  });
  const slider = layoutSlider((i) => {
    // change:layout_index (fired by set) animates locally; Python then echoes `points`, a no-op here.
    model.set('layout_index', i);
    model.save_changes();
  });
  const labels = labelBar(
    (label) => assign(label, Array.from(selected)),
    (label) => {
      model.set('active_label', label);
      model.save_changes();
    },
  );

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
      // regl-scatterplot's selection mirrors the `selection` trait: selected points are drawn on top in the
      // theme's text colour with a ring, and the others fade, so a few stand out among a million.
      pointOutlineWidth: 2,
      pointSizeSelected: pointSize(),
      opacityInactiveScale: 0.35,
      deselectOnDblClick: false,
      deselectOnEscape: false,
      // Shift-drag selects (replacing); with Ctrl too it adds, with Alt too it removes. No rotation.
      actionKeyMap: { lasso: 'shift', merge: 'ctrl', remove: 'alt' },
      lassoType: 'freeform',
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
  /** The w column for colour by value (color_mode.ts), or null when `values` is missing or mismatched. */
  let valueW: Float32Array | null = null;
  /** Drawn points as a 0/1 mask (hidden categories), or null for all. */
  let visible: Uint8Array | null = null;
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
  /** Camera and hover shared with linked views (mounted once the scatterplot's events are wired). */
  let linked: LinkedView | null = null;
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
    const t = theme ?? { focus: '#e6007e', foreground: '#222', background: [255, 255, 255, 255] as Rgba };
    const halo = cssColor([t.background[0], t.background[1], t.background[2], 180]);
    drawRing(ctx, ring, t.focus, halo);
    // The point hovered in a linked view, in the theme's text colour so it is not taken for the focus.
    const linkedRing = ringGeometry(screenPosition(linked?.linkedHover() ?? -1), pointSize(), width, height);
    if (linkedRing) drawRing(ctx, { ...linkedRing, r: linkedRing.r - 3 }, t.foreground, halo, false);
  };
  sizeOverlay();

  const syncFocus = () => {
    drawOverlay();
    neighbors.show(focusIndex(), Number(model.get('nside')) || 0);
  };

  // --- selection (lasso / box / Python) -------------------------------------------------------
  let selected: Uint32Array = new Uint32Array(0);
  let shape: SelectShape = 'freeform';
  const tools = selectionTools(
    (s, dragSelects) => {
      shape = s;
      scatter.set({ lassoType: s, mouseMode: dragSelects ? 'lasso' : 'panZoom' } as ScatterSettings);
    },
    () => setSelection([]),
  );
  toolbar.append(tools.root, slider.root, labels.root);
  /** Show the trait's selection (regl-scatterplot drops indices that are hidden or out of range). */
  const syncSelection = () => {
    let s: TypedArray | null = null;
    try {
      s = decodeArray(model.get('selection'))?.data ?? null;
    } catch {
      s = null;
    }
    selected = s ? Uint32Array.from(s) : new Uint32Array(0);
    tools.setCount(selected.length);
    if (!drawn) return;
    const valid = validIndices(selected, n, visible);
    if (valid.length) scatter.select(valid, { preventEvent: true });
    else scatter.deselect({ preventEvent: true });
  };
  const setSelection = (indices: ArrayLike<number>) => {
    const sorted = normalizeSelection(indices, n);
    model.set('selection', encodeArray(sorted, [sorted.length]));
    model.save_changes();
    syncSelection();
  };

  // --- theme ----------------------------------------------------------------------------------
  /** Selected points in the theme's text colour: dark on light themes, light on dark ones. */
  const activeColor = (): Rgba => {
    const fg = parseRgb(theme?.foreground ?? '') ?? [0, 0, 0, 255];
    return toUnitRgba([fg[0], fg[1], fg[2], 255]);
  };
  const applyTheme = () => {
    if (!root.isConnected) return;
    theme = readTheme(root);
    const focus = parseRgb(theme.focus);
    scatter.set({
      backgroundColor: theme.background.map((c, i) => (i < 3 ? c / 255 : 1)) as Rgba,
      ...(focus ? { lassoColor: toUnitRgba(focus) } : {}),
    } as ScatterSettings);
    applyColors();
    drawOverlay();
  };

  // --- colours: legend (categories) or colour bar (values) ------------------------------------
  const valueMode = () => model.get('color_mode') === 'value' && valueW !== null;
  const safeDecode = (name: 'colormap' | 'values') => {
    try {
      return decodeArray(model.get(name));
    } catch {
      return null;
    }
  };
  const hiddenCodes = () => (model.get('hidden_categories') ?? []).map(Number).filter(Number.isInteger);
  const applyColors = () => {
    const title = String(model.get('color_title') ?? '');
    if (valueMode()) {
      const lut = paletteRows(safeDecode('colormap'));
      // colour list = LUT + missing grey; valueW picks from it (see color_mode.ts).
      const colors = valueColors(lut);
      scatter.set({
        colorBy: 'valueB',
        pointColor: colors,
        pointColorActive: activeColor(),
        pointColorHover: colors,
      } as unknown as ScatterSettings);
      legend.hidden = true;
      colorbar.hidden = false;
      renderColorbar(colorbar, lut, model.get('value_range') ?? [0, 1], title);
      return;
    }
    colorbar.hidden = true;
    const enc = colorEncoding(codes, rows);
    // A hover colour list of the palette's length keeps a hovered point's own colour.
    // The typings allow a colour list only for pointColor; the library takes lists for hover too.
    scatter.set({
      colorBy: enc.colorBy,
      pointColor: enc.colors,
      pointColorActive: activeColor(),
      pointColorHover: enc.colors,
    } as unknown as ScatterSettings);
    const names = (model.get('category_names') ?? []).map(String);
    renderLegend(legend, codes ? names : [], rows, new Set(hiddenCodes()), title, onLegend);
  };

  // --- hidden categories (legend click hides, double-click isolates) ---------------------------
  const onLegend = (code: number, isolate: boolean) => {
    const k = (model.get('category_names') ?? []).length;
    model.set('hidden_categories', nextHidden(hiddenCodes(), code, isolate, k));
    model.save_changes();
    applyHidden();
  };
  /** Sets `visible` from hidden_categories (category mode only: in value mode no legend could undo it). */
  const readVisible = () => {
    visible = valueMode() ? null : visibleMask(codes, hiddenCodes());
  };
  const applyHidden = () => {
    applyColors();
    readVisible();
    if (!drawn) return;
    if (visible) void scatter.filter(maskIndices(visible), { preventEvent: true });
    else void scatter.unfilter({ preventEvent: true });
    syncSelection(); // filter() drops hidden points from the library's selection; the trait keeps them
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
    // Categories or values that do not match the points are ignored rather than mis-coloured.
    codes = c && c.length === n && n > 0 ? c : null;
    const v = safeDecode('values')?.data ?? null;
    valueW = v && v.length === n && n > 0 ? valueColumn(v, paletteRows(safeDecode('colormap')).length) : null;
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

  /** Raw (N, 2) positions to show: `points`, or a layout the slider picked (set before Python echoes it). */
  let target: TypedArray = new Float32Array(0);
  /** Positions on screen now; the next draw animates from them when N is unchanged. */
  let shownXY: TypedArray | null = null;
  const readPoints = (): boolean => {
    try {
      const p = decodeArray(model.get('points'));
      let xy: TypedArray = new Float32Array(0);
      if (p && p.data.length > 0) {
        if (p.shape.length !== 2 || p.shape[1] !== 2) throw new Error(`points must have shape (N, 2), got [${p.shape}]`);
        xy = p.data;
      }
      banner.setLocalError('');
      // Python echoing the layout the slider already shows: nothing to do (no second animation).
      if (sameValues(xy, target)) return false;
      target = xy;
      return true;
    } catch (err) {
      banner.setLocalError(`Could not read points: ${String(err)}`);
      return false;
    }
  };

  const drawPoints = async () => {
    const gen = ++generation;
    root.dataset.nbvizReady = 'false';
    const xy = target;
    const count = xy.length >> 1;
    // Same N and new positions: animate, keeping the camera. Another N: redraw and fit.
    const sameN = shownXY !== null && count === n;
    const transition = sameN && count > 0 && xy !== shownXY;
    // regl-scatterplot forgets the old points here; no screen positions until the new ones are in.
    drawn = false;
    tip.hidden = true;
    const norm = normalizePoints(xy, count);
    n = count;
    half = { w: norm.halfWidth, h: norm.halfHeight };
    readCategories();
    applyColors();
    const data: Record<string, ArrayLike<number>> = { x: norm.x, y: norm.y };
    if (codes) data.valueA = codes;
    if (valueW) {
      // The library reads its value columns in order: without a valueA, valueB would be taken as the first.
      data.valueA = codes ?? new Float32Array(count);
      data.valueB = valueW;
    }
    readVisible();
    const keep = visible ? maskIndices(visible) : null;
    const sel = validIndices(selected, n, visible);
    // regl-scatterplot types its point columns as number[]; typed arrays are read the same way.
    // filter / select go in with the points, so hidden points never flash during the animation.
    await scatter.draw(data as unknown as { x: number[]; y: number[] }, {
      zDataType: 'categorical',
      wDataType: 'continuous',
      transition,
      transitionDuration: TRANSITION_MS,
      ...(keep ? { filter: keep } : {}),
      ...(sel.length ? { select: sel } : {}),
    });
    if (gen !== generation || destroyed) return;
    shownXY = xy;
    drawn = true;
    syncSelection();
    drawOverlay();
    readyGeneration = gen;
    // A new layout has new extents: fit it unless the user has moved the camera since the last fit.
    if (!sameN || autoFit) await fitView();
    else scatter.redraw();
    linked?.afterDraw();
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
  const onPoints = () => {
    if (readPoints()) redrawPoints();
  };
  /** The slider (or Python) picked a layout: animate to it now, without waiting for `points`. */
  const onLayoutIndex = () => {
    syncLayouts();
    let xy: TypedArray | null = null;
    try {
      xy = layoutAt(model.get('layouts'), Number(model.get('layout_index')));
    } catch (err) {
      banner.setLocalError(`Could not read layouts: ${String(err)}`);
    }
    if (!xy || sameValues(xy, target)) return;
    target = xy;
    redrawPoints();
  };

  // --- interaction ------------------------------------------------------------------------------
  let downAt: [number, number] | null = null;
  let clickedPoint = -1;
  let hovered = -1;
  let drawCount = 0;
  const setFocus = (i: number) => {
    const changed = model.get('focus') !== i;
    if (changed) model.set('focus', i);
    // The neighbour request goes out before the trait update, so the kernel answers it first.
    syncFocus();
    if (changed) model.save_changes();
  };
  /** A lasso / box was drawn during the current press (its click is then no click). */
  let lassoed = false;
  // Where the press ended (client px) and its modifier keys: pointerup comes before the library's mouseup.
  let upAt: [number, number] | null = null;
  let upMods = { ctrl: false, alt: false };
  const onPointerUp = (e: PointerEvent) => {
    upAt = [e.clientX, e.clientY];
    upMods = { ctrl: e.ctrlKey, alt: e.altKey };
  };
  const onPointerDown = (e: PointerEvent) => {
    downAt = e.target === canvas ? [e.clientX, e.clientY] : null;
    lassoed = false;
    if (downAt) plot.focus({ preventScroll: true });
  };
  const onWheel = () => {
    autoFit = false;
  };
  const isClick = (e: MouseEvent) => !downAt || Math.hypot(e.clientX - downAt[0], e.clientY - downAt[1]) < CLICK_SLOP;
  /** The hovered point when it lies under (x, y) client px: the library found it on the last pointer move. */
  const pointUnder = (x: number, y: number) => {
    const p = hovered >= 0 ? screenPosition(hovered) : null;
    const r = canvas.getBoundingClientRect();
    return p && Math.hypot(p[0] + r.left - x, p[1] + r.top - y) <= pointSize() + CLICK_SLOP ? hovered : -1;
  };
  // Capture phase, before regl-scatterplot's own click handler. A click on the hovered point focuses it
  // without the library's select / deselect, each of which would redraw all points (tens of ms per frame
  // with software WebGL, in the way of the neighbour reply). Otherwise the library hit-tests the click.
  const onClickCapture = (e: MouseEvent) => {
    if (e.target !== canvas || !drawn) return;
    if (lassoed) {
      // A closed lasso ends near where it began, which the library would take for a click on a point.
      e.stopPropagation();
      return;
    }
    if (!isClick(e)) return;
    const under = pointUnder(e.clientX, e.clientY);
    if (under >= 0) {
      e.stopPropagation();
      setFocus(under);
      return;
    }
    clickedPoint = -1;
    scatter.deselect({ preventEvent: true });
  };
  const onClick = (e: MouseEvent) => {
    if (e.target !== canvas || !drawn) return;
    if (!isClick(e)) return; // a pan, not a click
    syncSelection(); // a click focuses; it does not change the selection: restore its highlight
    setFocus(clickedPoint);
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key !== 'Escape') return;
    if (selected.length) setSelection([]);
    tools.setMode(null);
    scatter.set({ mouseMode: 'panZoom' } as ScatterSettings);
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
  // regl-scatterplot redraws every point on every mousemove over a point, even when the pointer did not move
  // (a click sends one): at a million points in software WebGL that is half a second in the way of the
  // neighbour reply. A move to the same place over our canvas carries nothing, so it stops here.
  let lastMove: [number, number] = [NaN, NaN];
  const onSameMove = (e: MouseEvent) => {
    if (e.target === canvas && e.buttons === 0 && e.clientX === lastMove[0] && e.clientY === lastMove[1]) {
      e.stopPropagation();
    }
    lastMove = [e.clientX, e.clientY];
  };
  window.addEventListener('mousemove', onSameMove, true);
  plot.addEventListener('pointerdown', onPointerDown);
  plot.addEventListener('wheel', onWheel, { passive: true });
  plot.addEventListener('click', onClickCapture, true);
  plot.addEventListener('click', onClick);
  plot.addEventListener('keydown', onKeyDown);
  window.addEventListener('pointerup', onPointerUp, true);
  plot.addEventListener('pointermove', onPointerMove);
  plot.addEventListener('pointerleave', onLeave);
  resetButton.addEventListener('click', onReset);

  const onLassoStart = () => {
    lassoed = true;
    tip.hidden = true;
  };
  const onSelect = ({ points }: { points: number[] }) => {
    if (points.length === 1) clickedPoint = points[0];
  };
  // A lasso / box gesture ended: the library's selection (merged or reduced with Ctrl / Alt) is the new trait.
  let reselecting = false;
  const onLassoEnd = () => {
    if (reselecting) return;
    if (shape === 'rectangle' && downAt && upAt) boxSelect(downAt, upAt);
    setSelection((scatter.get('selectedPoints') as number[] | undefined) ?? []);
  };
  // regl-scatterplot's box starts at the first sampled move and ends at the last throttled one; redo it
  // from the exact press and release points, so the box selects what the pointer spanned.
  const boxSelect = (from: [number, number], to: [number, number]) => {
    const r = canvas.getBoundingClientRect();
    const view = scatter.get('cameraView') as ArrayLike<number>;
    const poly = rectPolygon([from[0] - r.left, from[1] - r.top], [to[0] - r.left, to[1] - r.top]).map(
      ([x, y]) => screenToGl(x, y, view, width, height),
    );
    // Start from the trait's selection, so Ctrl (add) / Alt (remove) combine with it, not with the rough box.
    const keep = validIndices(selected, n, visible);
    if (keep.length) scatter.select(keep, { preventEvent: true });
    else scatter.deselect({ preventEvent: true });
    reselecting = true;
    try {
      scatter.lassoSelect(poly, { isGl: true, merge: upMods.ctrl, remove: upMods.alt && !upMods.ctrl });
    } finally {
      reselecting = false;
    }
  };
  const onPointOver = (i: number) => {
    hovered = i;
    linked?.hover(i);
    tip.textContent = tooltipText(i, codes ? codes[i] : null, model.get('category_names') ?? []);
    tip.hidden = false;
    placeTip();
  };
  const onPointOut = () => {
    hovered = -1;
    linked?.hover(-1);
    tip.hidden = true;
  };
  const onDraw = () => {
    drawCount++;
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
  const subLassoStart = scatter.subscribe('lassoStart', onLassoStart);
  const subLasso = scatter.subscribe('lassoEnd', onLassoEnd);
  linked = mountLinkedView({
    model,
    scatter: scatter as unknown as Parameters<typeof mountLinkedView>[0]['scatter'],
    moved: () => !autoFit,
    markMoved: () => {
      autoFit = false;
    },
    fit: () => void fitView(),
    redrawOverlay: () => drawOverlay(),
    drawn: () => drawn,
  });
  const unsubscribeAll = () => {
    linked?.destroy();
    scatter.unsubscribe(subLassoStart);
    scatter.unsubscribe(subLasso);
    scatter.unsubscribe(subSelect);
    scatter.unsubscribe(subOver);
    scatter.unsubscribe(subOut);
    scatter.unsubscribe(subDraw);
  };

  // --- panels (neighbours, thumbnails, labelling) ---
  // Tooltip details (image + metadata) and the thumbnails overlay; both ask Python through `requester`.
  // Subscribed after the tooltip's own pointOver, so details go under the text line it just set.
  const details = itemTooltip(tip, requester, () => !tip.hidden && placeTip());
  const thumbCanvas = document.createElement('canvas');
  plot.insertBefore(thumbCanvas, overlay); // under the focus ring
  const thumbs = mountThumbnails(thumbCanvas, {
    // Not 'pointsInView': its spatial-index query costs ~0.3 s at a million points; culling is cheap here.
    candidates: () => (drawn ? (scatter.get('filteredPoints') as number[]) : []),
    screenPosition,
    data: () => scatter.get('points') as number[][],
    colorOf: (i) => pointColorCss(String(scatter.get('colorBy')), scatter.get('pointColor') as number[][],
      (scatter.get('points') as number[][])[i]),
    size: () => ({ width, height }),
  }, requester);
  const syncThumbs = () => thumbs.configure({
    enabled: Boolean(model.get('thumbnails')) && Boolean(model.get('has_images')),
    size: Number(model.get('thumbnail_size')),
    max: Number(model.get('max_thumbnails')),
  });
  // The labelling toggle follows `active_label` when Python sets it.
  const syncActiveLabel = () => {
    const a = activeLabel();
    const toggle = labels.root.querySelector<HTMLInputElement>('.nbviz-label-toggle');
    const input = labels.root.querySelector<HTMLInputElement>('.nbviz-label-input');
    if (toggle) toggle.checked = a !== '';
    if (a && input) input.value = a;
    side.querySelector('.nbviz-neighbors')?.classList.toggle('nbviz-labelling-on', a !== '');
  };
  // New points (other N, or the first draw) may need other thumbnails: re-choose once they are in.
  let panelsSeen = '';
  const onPanelsDraw = () => {
    const seen = `${drawn}/${n}`;
    if (seen !== panelsSeen) {
      if (!panelsSeen.endsWith(`/${n}`)) details.clear();
      panelsSeen = seen;
      thumbs.viewChanged();
    }
    thumbs.redraw();
  };
  const panelSubOver = scatter.subscribe('pointOver', (i: number) => details.hover(i));
  const panelSubOut = scatter.subscribe('pointOut', () => details.hover(-1));
  const panelSubView = scatter.subscribe('view', () => thumbs.viewChanged());
  const panelSubDraw = scatter.subscribe('draw', onPanelsDraw);
  const panelHandlers: Array<[string, () => void]> = [
    ['change:thumbnails', syncThumbs],
    ['change:has_images', syncThumbs],
    ['change:thumbnail_size', syncThumbs],
    ['change:max_thumbnails', syncThumbs],
    ['change:hidden_categories', () => thumbs.viewChanged()],
    ['change:active_label', syncActiveLabel],
  ];
  for (const [name, fn] of panelHandlers) model.on(name, fn);
  syncThumbs();
  syncActiveLabel();
  const disposePanels = () => {
    scatter.unsubscribe(panelSubOver);
    scatter.unsubscribe(panelSubOut);
    scatter.unsubscribe(panelSubView);
    scatter.unsubscribe(panelSubDraw);
    for (const [name, fn] of panelHandlers) model.off(name as `change:${keyof ExplorerTraits & string}`, fn);
    details.destroy();
    thumbs.destroy();
  };
  // --- end panels ---

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
  // Category codes and values live in regl-scatterplot's point state: changing them redraws the points
  // (same positions: no animation, the camera stays).
  const onCategories = redrawPoints;
  const onPalette = () => {
    readCategories();
    applyColors();
  };
  // A LUT of another length moves the value bins (color_mode.ts): only then do the points need redrawing.
  const onColormap = () => {
    const before = valueW;
    readCategories();
    if (before && valueW && !sameValues(before, valueW)) redrawPoints();
    else applyColors();
  };
  const onPointSize = () => {
    scatter.set({ pointSize: pointSize(), pointSizeSelected: pointSize() });
    drawOverlay();
  };
  const onHeight = () => {
    plot.style.height = `${heightPx()}px`;
    resize();
  };
  const syncLayouts = () =>
    slider.update(
      (model.get('layout_names') ?? []).map(String),
      (model.get('layouts') ?? []).length,
      Number(model.get('layout_index')) || 0,
    );
  const syncLabels = () => labels.update((model.get('label_options') ?? []).map(String), model.get('annotation_counts') ?? {});
  const syncProgress = () => progress.update(Number(model.get('progress')), String(model.get('status') ?? ''));
  const handlers: Array<[string, () => void]> = [
    ['change:points', onPoints],
    ['change:layouts', syncLayouts],
    ['change:layout_index', onLayoutIndex],
    ['change:layout_names', syncLayouts],
    ['change:categories', onCategories],
    ['change:values', onCategories],
    ['change:color_mode', applyHidden],
    ['change:category_names', applyColors],
    ['change:palette', onPalette],
    ['change:colormap', onColormap],
    ['change:value_range', applyColors],
    ['change:color_title', applyColors],
    ['change:hidden_categories', applyHidden],
    ['change:focus', syncFocus],
    ['change:nside', syncFocus],
    ['change:selection', syncSelection],
    ['change:point_size', onPointSize],
    ['change:height', onHeight],
    ['change:progress', syncProgress],
    ['change:status', syncProgress],
    ['change:label_options', syncLabels],
    ['change:annotation_counts', syncLabels],
  ];
  for (const [name, fn] of handlers) model.on(name, fn);
  const unwatchTheme = watchTheme(applyTheme);

  const hook: ExplorerHook = {
    screenPosition,
    get pointCount() {
      return n;
    },
    get selectedCount() {
      return selected.length;
    },
    get drawCount() {
      return drawCount;
    },
    get camera() {
      return toView(scatter.get('cameraTarget') as number[], scatter.get('cameraDistance'));
    },
  };
  (root as HTMLElement & { nbviz?: ExplorerHook }).nbviz = hook;

  syncLayouts();
  syncLabels();
  syncProgress();
  syncFocus(); // lays out the neighbour panel before the first frame, so the plot does not jump later
  syncSelection();
  readPoints();
  redrawPoints();

  return () => {
    disposePanels(); // panels block
    requester.dispose();
    neighbors.destroy();
    destroyed = true;
    generation++;
    for (const [name, fn] of handlers) model.off(name as `change:${keyof ExplorerTraits & string}`, fn);
    unwatchTheme();
    observer.disconnect();
    plot.removeEventListener('pointerdown', onPointerDown);
    plot.removeEventListener('wheel', onWheel);
    plot.removeEventListener('click', onClickCapture, true);
    plot.removeEventListener('click', onClick);
    plot.removeEventListener('keydown', onKeyDown);
    window.removeEventListener('pointerup', onPointerUp, true);
    window.removeEventListener('mousemove', onSameMove, true);
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
