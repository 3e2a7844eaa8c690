// ModelGraph front end: the captured graph, drawn for the open groups, on a 2-D canvas with pan / zoom / fit,
// expand (double-click a closed group) and collapse (click an open group's title), search, hover paths in and
// out, and a details panel. Layout is elkjs's layered algorithm in a web worker, one group at a time (layout.ts,
// elk.ts); while the worker is still starting, a first picture from longest-path layers.

import type { AnyModel, RenderProps } from '@anywidget/types';
import { decodeArray } from '../lib/codecs';
import { el } from '../lib/dom';
import { mountWidgetRoot } from '../lib/error_banner';
import { createRequester } from '../lib/requests';
import { resolveColor, watchTheme } from '../lib/theme';
import { renderDetails, type Details } from './details';
import { drawGraph, fitView, READABLE_K, hitTest, type Palette, type View } from './draw';
import { pageLayouter, sharedElk } from './elk';
import { GroupLayouts, layoutReport, TITLE, type Layout, type Layouter } from './layout';
import type { GraphData, ModelGraphTraits } from './protocol';
import { buildToolbar } from './toolbar';
import { mountUi } from '../lib/ui/keys';
import { statusLine } from '../lib/ui/toolbar';
import { pathsThrough, revealing, search, visibleGraph, type VisibleGraph } from './visible';
import '../embedding_explorer/styles.css'; // the shared .nbviz-root base and error banner styles
import './styles.css';
import '../lib/static_picture.css'; // hides the notebook's picture of the view beside it

type Model = AnyModel<ModelGraphTraits>;

// anywidget imports the bundle when the comm opens, while the kernel is still capturing: where cores are to spare,
// elkjs's worker starts now and its start-up overlaps the kernel's work. With fewer (a browser and a kernel on
// two cores), it would take CPU the capture needs (ResNet-50: first paint up to 1.8x later, benchmarks/README.md),
// so it starts once the first graph is on screen (drawn from longest-path layers where it needs elkjs).
const EAGER_CORES = 4;
if (typeof document !== 'undefined' && (navigator.hardwareConcurrency ?? 0) >= EAGER_CORES) {
  sharedElk().catch(() => undefined);
}

/** Test and benchmark hook on the root element. */
export interface ModelGraphHook {
  visibleCount(): number;
  visibleIds(): string[];
  /** Centre of a drawn node (or 'frame:' + path title bar) in page CSS px relative to the canvas. */
  screenPosition(id: string): [number, number] | null;
  /** Milliseconds of the last layout + draw, and how many groups it laid out. */
  lastLayoutMs: number;
  lastComputed: number;
  paints: number;
  /** performance.now() when a layout was last put on the canvas (benchmarks). */
  shownAt: number;
  /** True while the drawn layout is the longest-path stand-in shown until elkjs has started. */
  provisional: boolean;
  /** Where elkjs runs: 'worker', or 'main thread (why)'; '' until it has started. */
  readonly layoutEngine: string;
  /** The zoom of the view (1: node text at 11 px) and the drawn graph's box on the canvas, CSS px. */
  readonly zoom: number;
  readonly graphBox: [number, number, number, number] | null;
  /** performance.now() when elkjs had started and warmed up; 0 before (benchmarks). */
  readonly engineReadyAt: number;
}

function graphData(model: Model): GraphData {
  const params = decodeArray(model.get('node_params'));
  const edges = decodeArray(model.get('edge_index'));
  return {
    ids: model.get('node_ids') ?? [], paths: model.get('node_paths') ?? [], types: model.get('node_types') ?? [],
    shapes: model.get('node_shapes') ?? [], kinds: model.get('node_kinds') ?? [],
    labels: model.get('node_labels') ?? [], params: params?.data ?? [], edges: edges?.data ?? [],
    groups: new Map((model.get('groups') ?? []).map((g) => [g.path, g])), folds: model.get('folds') ?? [],
  };
}

function palette(host: Element): Palette {
  const c = (v: string, fb: string) => resolveColor(host, `var(${v}, ${fb})`);
  return {
    fg: c('--jp-ui-font-color1', 'rgba(0,0,0,0.87)'), muted: c('--jp-ui-font-color2', 'rgba(0,0,0,0.54)'),
    bg: c('--jp-layout-color0', '#ffffff'), node: c('--jp-layout-color1', '#ffffff'),
    group: c('--jp-layout-color3', '#bdbdbd'), frame: c('--jp-layout-color2', '#eeeeee'),
    border: c('--jp-border-color1', '#9e9e9e'), accent: c('--jp-brand-color1', '#1976d2'),
    warn: c('--jp-warn-color1', '#f57c00'),
  };
}

export function render({ model, el: host }: Pick<RenderProps<ModelGraphTraits>, 'model' | 'el'>,
  layouter: Layouter = pageLayouter()): () => void {
  const { root, banner } = mountWidgetRoot(model, host, 'nbviz-model-graph');
  const requester = createRequester(model);
  const ui = mountUi(root); // shortcuts (/ search, F fit, C collapse) and the narrow layout
  const { toolbar, searchBox, hitsLabel, fitButton, collapseButton, count } = buildToolbar();
  const notice = el('div', 'nbviz-mg-notice');
  const main = el('div', 'nbviz-mg-main');
  const stage = el('div', 'nbviz-mg-stage');
  const canvas = el('canvas', 'nbviz-mg-canvas');
  const tooltip = el('div', 'nbviz-mg-tooltip');
  tooltip.hidden = true;
  stage.append(canvas, tooltip);
  const panel = el('aside', 'nbviz-mg-details');
  main.append(stage, panel);
  const status = statusLine(); // a capture or other long work, past half a second
  root.append(toolbar, status.root, notice, main);
  renderDetails(panel, null);

  const ctx = canvas.getContext('2d')!;
  const layouts = new GroupLayouts(layouter);
  const standIn = new GroupLayouts(null);
  let data = graphData(model);
  let vis: VisibleGraph = visibleGraph(data, model.get('expanded') ?? []);
  let layout: Layout | null = null;
  let view: View = { k: 1, tx: 0, ty: 0 };
  let pal = palette(root);
  let hover: string | null = null;
  let hits = new Set<string>();
  let size = { w: 600, h: 400 };
  let generation = 0;
  let fitted = false;
  let moved = false;
  const hook: ModelGraphHook = {
    visibleCount: () => vis.nodes.length,
    visibleIds: () => vis.nodes.map((n) => n.id),
    screenPosition(id) {
      const b = layout?.boxes.get(id);
      if (!b) return null;
      const y = id.startsWith('frame:') ? b.y + TITLE / 2 : b.y + b.h / 2;
      return [(b.x + Math.min(b.w / 2, 40)) * view.k + view.tx, y * view.k + view.ty];
    },
    lastLayoutMs: 0,
    lastComputed: 0,
    paints: 0,
    shownAt: 0,
    provisional: false,
    get layoutEngine() {
      return layouter.engine ?? '';
    },
    get zoom() {
      return view.k;
    },
    get graphBox() {
      return layout ? [view.tx, view.ty, layout.width * view.k, layout.height * view.k] as [number, number, number, number] : null;
    },
    get engineReadyAt() {
      return layouter.readyAt ?? 0;
    },
  };
  (root as HTMLElement & { nbviz?: ModelGraphHook }).nbviz = hook;

  const paint = () => {
    if (!layout) return;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const highlight = hover ? pathsThrough(vis.edges, hover) : null;
    drawGraph(ctx, vis, layout, view, size, pal,
      { selected: model.get('selected') ?? '', highlight, hits, unusable: model.get('unusable') ?? {} }, TITLE);
    hook.paints++;
  };
  const fit = () => {
    if (!layout) return;
    view = fitView(layout.width, layout.height, size.w, size.h);
    moved = false;
    paint();
  };
  /** Bring a node into the middle of the view at a readable zoom (the search's first hit). */
  const centreOn = (id: string) => {
    const b = layout?.boxes.get(id);
    if (!b) return;
    const k = Math.max(view.k, READABLE_K);
    view = { k, tx: size.w / 2 - (b.x + b.w / 2) * k, ty: size.h / 2 - (b.y + b.h / 2) * k };
    paint();
  };
  const resize = () => {
    // Read again here, once attached: the HTML widget manager renders a view before inserting it in the page,
    // where no CSS colour resolves (an unset fillStyle paints everything black).
    pal = palette(root);
    const dpr = window.devicePixelRatio || 1;
    size = { w: Math.max(200, stage.clientWidth || 600), h: Number(model.get('height')) || 480 };
    canvas.width = Math.round(size.w * dpr);
    canvas.height = Math.round(size.h * dpr);
    canvas.style.width = `${size.w}px`;
    canvas.style.height = `${size.h}px`;
    // A view the user has not moved keeps framing the graph in the new size.
    if (!moved) fit();
    else paint();
  };
  const show = (next: Layout) => {
    layout = next;
    count.textContent = `${vis.nodes.length} shown of ${data.ids.length} nodes`;
    // Fitted once, on the first real layout (and on a stand-in before it), unless the user moved the view.
    if (!fitted && !moved) fit();
    else paint();
    root.dataset.nbvizPainted = 'true';
    hook.shownAt = performance.now();
    layouter.prepare?.(); // elkjs ready for the first expansion
  };
  // The layout on screen goes back to Python: static exports (to_png, to_svg) draw the same boxes.
  const report = (shown: Layout, expanded: string[]) => {
    model.set('view_layout', layoutReport(shown, expanded));
    model.save_changes();
  };
  const relayout = async () => {
    const mine = ++generation;
    const t0 = performance.now();
    const expanded = model.get('expanded') ?? [];
    vis = visibleGraph(data, expanded);
    // While elkjs is still starting (the first graph of a page), a picture from longest-path layers at once.
    const standInFirst = () => {
      void standIn.layout(vis).then((quick) => {
        if (mine !== generation) return;
        show(quick);
        hook.provisional = true;
      });
    };
    try {
      const next = await layouts.layout(vis, standInFirst);
      if (mine !== generation) return;
      show(next);
      report(next, expanded);
    } catch (err) {
      banner.setLocalError(`layout failed: ${String(err)}`);
      // Never a blank canvas: the longest-path layers stay.
      if (mine !== generation) return;
      const kept = await standIn.layout(vis);
      if (mine !== generation) return;
      show(kept);
      report(kept, expanded);
      return;
    }
    fitted = true;
    hook.provisional = false;
    hook.lastLayoutMs = performance.now() - t0;
    hook.lastComputed = layout!.computed;
    root.dataset.nbvizReady = 'true';
  };

  const setExpanded = (next: string[]) => {
    model.set('expanded', next);
    model.save_changes();
  };
  const nodeAt = (ev: MouseEvent): string | null => {
    if (!layout) return null;
    const r = canvas.getBoundingClientRect();
    return hitTest(layout, (ev.clientX - r.left - view.tx) / view.k, (ev.clientY - r.top - view.ty) / view.k, TITLE);
  };
  const showDetails = (path: string) => {
    if (!path) {
      renderDetails(panel, null);
      return;
    }
    requester.request<Details>('details', { path })
      .then((reply) => (model.get('selected') === path ? renderDetails(panel, reply.content) : undefined))
      .catch((err: Error) => renderDetails(panel, null, err.message));
  };

  // -- pointer: drag pans, wheel zooms, click selects / collapses, double-click expands --------------------
  let drag: { x: number; y: number; tx: number; ty: number; moved: boolean } | null = null;
  canvas.addEventListener('pointerdown', (ev) => {
    drag = { x: ev.clientX, y: ev.clientY, tx: view.tx, ty: view.ty, moved: false };
  });
  canvas.addEventListener('pointermove', (ev) => {
    if (drag && (drag.moved || Math.hypot(ev.clientX - drag.x, ev.clientY - drag.y) > 4)) {
      drag.moved = moved = true;
      view = { ...view, tx: drag.tx + ev.clientX - drag.x, ty: drag.ty + ev.clientY - drag.y };
      paint();
      return;
    }
    const id = nodeAt(ev);
    const next = id && !id.startsWith('frame:') ? id : null;
    const node = next ? vis.nodes.find((n) => n.id === next) : undefined;
    tooltip.hidden = !node;
    if (node) {
      const why = (model.get('unusable') ?? {})[node.path];
      tooltip.textContent = `${node.path || node.type}  ${node.shape}${why ? `\n${why}` : ''}`;
      tooltip.style.left = `${ev.offsetX + 12}px`;
      tooltip.style.top = `${ev.offsetY + 12}px`;
    }
    if (next !== hover) {
      hover = next;
      paint();
    }
  });
  canvas.addEventListener('pointerleave', () => {
    hover = null;
    tooltip.hidden = true;
    paint();
  });
  canvas.addEventListener('pointerup', (ev) => {
    const wasDrag = drag?.moved;
    drag = null;
    if (wasDrag) return;
    const id = nodeAt(ev);
    if (!id) return;
    if (id.startsWith('frame:')) {
      const path = id.slice(6);
      setExpanded((model.get('expanded') ?? []).filter((p) => p !== path && !p.startsWith(`${path}.`)));
      return;
    }
    const node = vis.nodes.find((n) => n.id === id);
    if (!node) return;
    model.set('selected', node.path);
    model.save_changes();
  });
  canvas.addEventListener('dblclick', (ev) => {
    const id = nodeAt(ev);
    const node = id ? vis.nodes.find((n) => n.id === id) : undefined;
    if (node && (node.kind === 'group' || node.kind === 'fold')) setExpanded([...(model.get('expanded') ?? []), node.id]);
  });
  canvas.addEventListener('wheel', (ev) => {
    ev.preventDefault();
    const r = canvas.getBoundingClientRect();
    const mx = ev.clientX - r.left;
    const my = ev.clientY - r.top;
    const k = Math.min(4, Math.max(0.02, view.k * Math.exp(-ev.deltaY * 0.0015)));
    moved = true;
    view = { k, tx: mx - ((mx - view.tx) * k) / view.k, ty: my - ((my - view.ty) * k) / view.k };
    paint();
  }, { passive: false });
  fitButton.addEventListener('click', fit);
  collapseButton.addEventListener('click', () => setExpanded([]));

  // -- search: highlight matches; Enter opens the groups around the first and selects it -------------------
  const runSearch = () => {
    const found = search(data, searchBox.value);
    hits = new Set(found.map((i) => vis.where[i]));
    hitsLabel.textContent = searchBox.value.trim() ? `${found.length} found` : '';
    paint();
    return found;
  };
  searchBox.addEventListener('input', runSearch);
  searchBox.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter') return;
    const found = runSearch();
    if (!found.length) return;
    const i = found[0];
    const next = revealing(data, model.get('expanded') ?? [], i);
    if (next.join('\n') === (model.get('expanded') ?? []).join('\n')) centreOn(vis.where[i]);
    else centreAfter = String(i);
    setExpanded(next);
    if (data.paths[i]) {
      model.set('selected', data.paths[i]);
      model.save_changes();
    }
  });

  // Opening or closing a group changes the graph's size: fit it again (the view the user moved included), and
  // after a search, centre its first hit.
  let centreAfter: string | null = null;
  const onExpanded = () => {
    fitted = false;
    moved = false;
    void relayout().then(() => {
      runSearch();
      if (centreAfter) centreOn(vis.where[Number(centreAfter)]);
      centreAfter = null;
    });
  };
  const onSelected = () => {
    paint();
    showDetails(model.get('selected') ?? '');
  };
  const onData = () => {
    data = graphData(model);
    void relayout();
  };
  const onNotice = () => {
    notice.textContent = [model.get('fallback') ?? '', model.get('refusal') ?? ''].filter(Boolean).join(' \u00b7 ');
    notice.hidden = !notice.textContent;
  };
  const onStatus = () => status.update(Number(model.get('progress') ?? -1), String(model.get('status') ?? ''));
  onStatus();
  const listeners: Array<[string, () => void]> = [['change:expanded', onExpanded], ['change:selected', onSelected],
    ['change:unusable', paint], ['change:height', resize], ['change:node_ids', onData], ['change:fallback', onNotice],
    ['change:refusal', onNotice], ['change:progress', onStatus], ['change:status', onStatus]];
  for (const [name, fn] of listeners) model.on(name, fn);
  const stopTheme = watchTheme(() => {
    pal = palette(root);
    paint();
  });
  const observer = new ResizeObserver(resize);
  observer.observe(stage);
  onNotice();
  resize();
  void relayout();
  if (model.get('selected')) showDetails(model.get('selected'));

  return () => {
    generation++;
    observer.disconnect();
    stopTheme();
    requester.dispose();
    ui.dispose();
    banner.destroy();
    for (const [name, fn] of listeners) model.off(name, fn);
    root.remove();
  };
}

export default { render: (props: RenderProps<ModelGraphTraits>) => render(props) };
