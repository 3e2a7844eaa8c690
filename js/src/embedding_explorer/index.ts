// EmbeddingExplorer front end: a regl-scatterplot view of `points`, coloured by `categories` (legend) or
// `values` (colour bar), with selection (lasso / box), hidden categories, animated layout changes, a focus
// ring, hover tooltip, progress and error banner. State comes only from traits (protocol.ts).
// This file lays out the DOM, creates the scatterplot and assembles the parts, which share one
// `ExplorerCtx` (context.ts): camera.ts (fitting, size), overlay.ts (focus / hover rings), coloring.ts
// (theme, legend, colour bar, hidden categories), selection_sync.ts, points.ts (drawing), pointer.ts
// (mouse, keys, tooltip) and panels.ts (neighbours, labelling, tooltip images, thumbnails).

import type { AnyModel, RenderProps } from '@anywidget/types';
import createScatterplot from 'regl-scatterplot';
import { createLod } from './lod';
import { el as element } from '../lib/dom';
import { mountWidgetRoot } from '../lib/error_banner';
import { watchTheme } from '../lib/theme';
import { mountUi } from '../lib/ui/keys';
import { collectStreams, withStreams, type StreamModel } from '../lib/streams';
import { button, group, toolbar as uiToolbar } from '../lib/ui/toolbar';
import { createCamera } from './camera';
import { createColoring } from './coloring';
import { FALLBACK_WIDTH, initialState, type ExplorerCtx, type ScatterOptions, type Scatterplot } from './context';
import { colorMenu, titleLine } from './color_menu';
import { layoutSlider } from './layouts';
import { mountLinkedView, toView } from './linked_view';
import { createOverlay } from './overlay';
import { mountImagePanels, mountSidePanels } from './panels';
import { createPointer } from './pointer';
import { createPoints } from './points';
import { progressBar } from './progress';
import { acquireRenderer, releaseRenderer } from './renderer';
import { createSelectionSync } from './selection_sync';
import type { ExplorerTraits } from './protocol';
import './styles.css';
import '../lib/static_picture.css'; // hides the notebook's picture of the view beside it
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
  /** Points the library draws now (fewer than pointCount while a level-of-detail sample, its first-frame
   *  preview or a filter is on). */
  drawnPoints: number;
}

const div = (className: string): HTMLDivElement => element('div', className);

function render({ model: sent, el }: Pick<RenderProps<ExplorerTraits>, 'model' | 'el'>): () => void {
  // Large arrays arrive in pieces (lib/streams.ts): the bar shows how much, the view draws them once all are here.
  const streams = withStreams(sent as unknown as StreamModel, {
    onProgress: (p) => {
      if (!p) return syncProgress();
      const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
      progress.update(p.total ? p.received / p.total : 0,
        `Receiving ${p.keys.join(', ')}: ${mb(p.received)} of ${mb(p.total)} MB`);
    },
    onError: (message) => banner.setLocalError(message),
  });
  const model = streams.model as unknown as typeof sent;
  const { root, banner } = mountWidgetRoot(model, el, 'nbviz-embedding');
  const ui = mountUi(root); // shortcuts (L, B, R) and the narrow layout

  // Layout: toolbar above; below it the plot (grows) and the side panel (fixed width, hidden when empty).
  // Panels append their own DOM to `toolbar` and `side`.
  const toolbar = uiToolbar('nbviz-toolbar', 'plot tools');
  const main = div('nbviz-main');
  const plot = div('nbviz-plot');
  const side = div('nbviz-side');
  main.append(plot, side);
  root.append(toolbar, main);

  // Focusable so Escape (clear selection) reaches it after a click on the plot.
  plot.tabIndex = -1;
  const canvas = element('canvas', 'nbviz-scatter');
  const overlayCanvas = element('canvas', 'nbviz-overlay');
  const resetButton = button({ label: 'Reset view', icon: 'fit', shortcut: 'r', className: 'nbviz-reset',
    tip: 'Reset view: fit all points' });
  const legend = div('nbviz-legend');
  const colorbar = div('nbviz-colorbar');
  colorbar.hidden = true;
  const tip = div('nbviz-tooltip');
  tip.hidden = true;
  const progress = progressBar();
  plot.append(canvas, overlayCanvas, legend, colorbar, tip, progress.root);

  // The side panels are laid out before the plot is sized; their callbacks only run once the parts exist.
  const focusIndex = () => {
    const f = Number(model.get('focus'));
    return Number.isInteger(f) && f >= 0 && f < st.n ? f : -1;
  };
  const sidePanels = mountSidePanels(model, side, {
    focusIndex,
    drawOverlay: () => overlay.draw(),
    selected: () => st.selected,
  });
  const { requester, neighbors, labels, syncFocus, setFocus, syncLabels, syncActiveLabel } = sidePanels;
  const slider = layoutSlider((i) => {
    // change:layout_index (fired by set) animates locally; Python then echoes `points`, a no-op here.
    model.set('layout_index', i);
    model.save_changes();
  });

  const heightPx = () => Math.max(50, Math.round(Number(model.get('height')) || 400));
  const pointSize = () => {
    const s = Number(model.get('point_size'));
    return Number.isFinite(s) && s > 0 ? s : 3;
  };
  const width = plot.clientWidth || FALLBACK_WIDTH;
  const height = heightPx();
  plot.style.height = `${height}px`;
  const st = initialState(width, height);

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
      ui.dispose();
      banner.destroy();
      root.remove();
    };
  }

  // --- parts ------------------------------------------------------------------------------------
  const ctx: ExplorerCtx = { model, root, banner, plot, canvas, tip, scatter, st, pointSize, heightPx };
  const overlay = createOverlay(ctx, overlayCanvas, focusIndex);
  overlay.size();
  const selection = createSelectionSync(ctx);
  const menu = colorMenu((option) => {
    model.set('color_source', option);
    model.save_changes();
  });
  const title = titleLine();
  // The Reset button sits in the toolbar: over the plot it would hide the points in its corner.
  toolbar.append(title.root, selection.tools.root, group('view', '', resetButton), slider.root, menu.root, labels.root);
  const syncColorMenu = () => menu.sync((model.get('color_options') ?? []).map(String), String(model.get('color_source') ?? ''));
  const syncTitle = () => title.sync(String(model.get('plot_title') ?? ''));
  const coloring = createColoring(ctx, {
    legend,
    colorbar,
    syncSelection: selection.sync,
    drawOverlay: overlay.draw,
    redrawPoints: () => points.redrawPoints(),
    hiddenChanged: () => lod.cancel(),
  });
  const camera = createCamera(ctx, {
    sizeOverlay: overlay.size,
    drawOverlay: overlay.draw,
    applyTheme: coloring.applyTheme,
  });
  const syncLayouts = () =>
    slider.update(
      (model.get('layout_names') ?? []).map(String),
      (model.get('layouts') ?? []).length,
      Number(model.get('layout_index')) || 0,
    );
  const points = createPoints(ctx, {
    readCategories: coloring.readCategories,
    applyColors: coloring.applyColors,
    readVisible: coloring.readVisible,
    syncSelection: selection.sync,
    drawOverlay: overlay.draw,
    fitView: camera.fitView,
    syncLayouts,
    lod: () => lod,
  });
  const lod = createLod(ctx, { positions: points.positions, restore: coloring.applyFilter });
  const pointer = createPointer(ctx, {
    resetButton,
    selection,
    screenPosition: overlay.screenPosition,
    setFocus,
    fitView: camera.fitView,
  });
  let drawCount = 0;
  const onDraw = () => {
    drawCount++;
    overlay.draw();
    if (st.readyGeneration === st.generation && st.readyGeneration >= 0) {
      root.dataset.nbvizReady = 'true';
      st.readyGeneration = -1;
    }
  };
  const subDraw = scatter.subscribe('draw', onDraw);
  st.linked = mountLinkedView({
    model,
    scatter: scatter as unknown as Parameters<typeof mountLinkedView>[0]['scatter'],
    moved: () => !st.autoFit,
    markMoved: () => {
      st.autoFit = false;
    },
    fit: () => void camera.fitView(),
    redrawOverlay: () => overlay.draw(),
    drawn: () => st.drawn,
  });
  const disposePanels = mountImagePanels(ctx, {
    requester,
    overlay: overlayCanvas,
    placeTip: pointer.placeTip,
    screenPosition: overlay.screenPosition,
    syncActiveLabel,
    candidates: lod.candidates,
  });

  const observer = new ResizeObserver(camera.resize);
  observer.observe(plot);

  // --- traits -----------------------------------------------------------------------------------
  // Category codes and values live in regl-scatterplot's point state: changing them redraws the points
  // (same positions: no animation, the camera stays).
  const onCategories = points.onColumns;
  const onPointSize = () => {
    scatter.set({ pointSize: pointSize(), pointSizeSelected: pointSize() });
    overlay.draw();
  };
  const syncProgress = () => progress.update(Number(model.get('progress')), String(model.get('status') ?? ''));
  const handlers: Array<[string, () => void]> = [
    ['change:points', points.onPoints],
    ['change:layouts', syncLayouts],
    ['change:layout_index', points.onLayoutIndex],
    ['change:layout_index', syncFocus], // the neighbours of the focus in the set now shown
    ['change:layout_names', syncLayouts],
    ['change:categories', onCategories],
    ['change:values', onCategories],
    ['change:color_mode', coloring.applyHidden],
    ['change:category_names', coloring.applyColors],
    ['change:palette', coloring.onPalette],
    ['change:colormap_lut', coloring.onColormap],
    ['change:value_range', coloring.applyColors],
    ['change:color_title', coloring.applyColors],
    ['change:hidden_categories', coloring.applyHidden],
    ['change:focus', syncFocus],
    ['change:nside', syncFocus],
    ['change:selection', selection.sync],
    ['change:selection', lod.invalidate],
    ['change:lod_points', lod.invalidate], // a sample of the old size
    ['change:point_size', onPointSize],
    ['change:height', camera.onHeight],
    ['change:progress', syncProgress],
    ['change:status', syncProgress],
    ['change:label_options', syncLabels],
    ['change:color_options', syncColorMenu],
    ['change:color_source', syncColorMenu],
    ['change:plot_title', syncTitle],
    ['change:annotation_counts', syncLabels],
  ];
  for (const [name, fn] of handlers) model.on(name, fn);
  const unwatchTheme = watchTheme(coloring.applyTheme);

  const hook: ExplorerHook = {
    screenPosition: overlay.screenPosition,
    get pointCount() {
      return st.n;
    },
    get selectedCount() {
      return st.selected.length;
    },
    get drawCount() {
      return drawCount;
    },
    get drawnPoints() {
      // The library's own count: a first frame past `lod_points` hands it the sample alone (points.ts).
      return (scatter.get(scatter.get('isPointsFiltered') ? 'filteredPoints' : 'points') as unknown[]).length;
    },
    get camera() {
      return toView(scatter.get('cameraTarget') as number[], scatter.get('cameraDistance'));
    },
  };
  (root as HTMLElement & { nbviz?: ExplorerHook }).nbviz = hook;

  syncLayouts();
  syncLabels();
  syncColorMenu();
  syncTitle();
  syncProgress();
  syncFocus(); // lays out the neighbour panel before the first frame, so the plot does not jump later
  selection.sync();
  points.readPoints();
  points.redrawPoints();

  return () => {
    streams.dispose();
    disposePanels(); // panels block
    requester.dispose();
    neighbors.destroy();
    st.destroyed = true;
    st.generation++;
    for (const [name, fn] of handlers) model.off(name as `change:${keyof ExplorerTraits & string}`, fn);
    unwatchTheme();
    observer.disconnect();
    pointer.dispose();
    lod.dispose();
    st.linked?.destroy();
    scatter.unsubscribe(subDraw);
    scatter.destroy();
    releaseRenderer();
    ui.dispose();
    banner.destroy();
    root.remove();
  };
}

export type ExplorerModel = AnyModel<ExplorerTraits>;

// Pieces of large arrays can come before any view: collect them from the start (lib/streams.ts).
export default { initialize: ({ model }: { model: StreamModel }) => collectStreams(model), render };
