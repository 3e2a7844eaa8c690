// The request-driven panels, which ask Python through one `requester`: the side panels (neighbours of the
// focused point, the labelling bar, and the focus that drives them), mounted before the scatterplot so the
// layout does not jump, and the image panels (the tooltip's image + metadata, the thumbnails overlay),
// mounted once the scatterplot's own events are wired. Split out of index.ts.

import { createRequester, type Requester } from '../lib/requests';
import type { ExplorerCtx } from './context';
import { itemTooltip } from './item_tooltip';
import { mountNeighborPanel, type NeighborPanel } from './neighbors_panel';
import type { ExplorerTraits } from './protocol';
import { mountThumbnails, pointColorCss } from './thumbnails';
import { labelBar, type LabelBar } from './toolbar';

type Model = ExplorerCtx['model'];

export interface SidePanels {
  requester: Requester;
  neighbors: NeighborPanel;
  labels: LabelBar;
  /** Draw the focus ring and show the focused point's neighbours (`change:focus`, `change:nside`). */
  syncFocus(): void;
  /** Focus point i (-1: none). */
  setFocus(i: number): void;
  /** `change:label_options`, `change:annotation_counts`. */
  syncLabels(): void;
  /** The labelling toggle follows `active_label` when Python sets it. */
  syncActiveLabel(): void;
}

export function mountSidePanels(
  model: Model,
  side: HTMLElement,
  deps: { focusIndex(): number; drawOverlay(): void; selected(): ArrayLike<number> },
): SidePanels {
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
  const labels = labelBar(
    (label) => assign(label, Array.from(deps.selected())),
    (label) => {
      model.set('active_label', label);
      model.save_changes();
    },
  );

  const syncFocus = () => {
    deps.drawOverlay();
    neighbors.show(deps.focusIndex(), Number(model.get('nside')) || 0, Number(model.get('layout_index')) || 0);
  };
  const setFocus = (i: number) => {
    const changed = model.get('focus') !== i;
    if (changed) model.set('focus', i);
    // The neighbour request goes out before the trait update, so the kernel answers it first.
    syncFocus();
    if (changed) model.save_changes();
  };
  const syncLabels = () => labels.update((model.get('label_options') ?? []).map(String), model.get('annotation_counts') ?? {});
  // The labelling toggle follows `active_label` when Python sets it.
  const syncActiveLabel = () => {
    const a = activeLabel();
    const toggle = labels.root.querySelector<HTMLInputElement>('.nbviz-label-toggle');
    const input = labels.root.querySelector<HTMLInputElement>('.nbviz-label-input');
    if (toggle) toggle.checked = a !== '';
    if (a && input) input.value = a;
    side.querySelector('.nbviz-neighbors')?.classList.toggle('nbviz-labelling-on', a !== '');
  };
  return { requester, neighbors, labels, syncFocus, setFocus, syncLabels, syncActiveLabel };
}

/** Tooltip details and thumbnails; returns their dispose. */
export function mountImagePanels(
  ctx: ExplorerCtx,
  deps: {
    requester: Requester;
    /** The focus-ring canvas: thumbnails go under it. */
    overlay: HTMLCanvasElement;
    placeTip(): void;
    screenPosition(i: number): [number, number] | null;
    syncActiveLabel(): void;
    /** Points that may get a thumbnail (the level-of-detail sample past `lod_points`), or null for all shown. */
    candidates(): number[] | null;
  },
): () => void {
  const { model, st, scatter, plot, tip } = ctx;
  const { requester, overlay, placeTip, screenPosition, syncActiveLabel } = deps;
  // Tooltip details (image + metadata) and the thumbnails overlay; both ask Python through `requester`.
  // Subscribed after the tooltip's own pointOver, so details go under the text line it just set.
  const details = itemTooltip(tip, requester, () => !tip.hidden && placeTip());
  const thumbCanvas = document.createElement('canvas');
  plot.insertBefore(thumbCanvas, overlay); // under the focus ring
  const thumbs = mountThumbnails(thumbCanvas, {
    // Not 'pointsInView': its spatial-index query costs ~0.3 s at a million points; culling is cheap here.
    candidates: () => (st.drawn ? (deps.candidates() ?? (scatter.get('filteredPoints') as number[])) : []),
    screenPosition,
    data: () => scatter.get('points') as number[][],
    colorOf: (i) => pointColorCss(String(scatter.get('colorBy')), scatter.get('pointColor') as number[][],
      (scatter.get('points') as number[][])[i]),
    size: () => ({ width: st.width, height: st.height }),
  }, requester);
  const syncThumbs = () => thumbs.configure({
    enabled: Boolean(model.get('thumbnails')) && Boolean(model.get('has_images')),
    size: Number(model.get('thumbnail_size')),
    max: Number(model.get('max_thumbnails')),
  });
  // New points (other N, or the first draw) may need other thumbnails: re-choose once they are in.
  let panelsSeen = '';
  const onPanelsDraw = () => {
    const seen = `${st.drawn}/${st.n}`;
    if (seen !== panelsSeen) {
      if (!panelsSeen.endsWith(`/${st.n}`)) details.clear();
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
  return () => {
    scatter.unsubscribe(panelSubOver);
    scatter.unsubscribe(panelSubOut);
    scatter.unsubscribe(panelSubView);
    scatter.unsubscribe(panelSubDraw);
    for (const [name, fn] of panelHandlers) model.off(name as `change:${keyof ExplorerTraits & string}`, fn);
    details.destroy();
    thumbs.destroy();
  };
}
