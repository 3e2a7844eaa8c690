// Camera fitting and plot size: fit all points in view (the Reset button, a new layout, a linked view with
// no camera), and follow the container's width and the `height` trait, refitting while the user has not
// moved the camera. Split out of index.ts.

import type { ExplorerCtx } from './context';
import { fitDistance, fitMargin } from './normalize';

export interface Camera {
  /** Fit the data, and keep fitting it as the container settles, until the user pans or zooms. */
  fitView(): Promise<unknown>;
  /** Follow the plot's width and the `height` trait (the ResizeObserver's callback). */
  resize(): void;
  /** `change:height`. */
  onHeight(): void;
}

export function createCamera(
  ctx: ExplorerCtx,
  deps: { sizeOverlay(): void; drawOverlay(): void; applyTheme(): void },
): Camera {
  const { st, scatter, plot, heightPx } = ctx;
  // Until the user pans or zooms, the view keeps fitting the data as the container settles
  // (notebook outputs often change width right after the first render).
  const fitView = () => {
    st.autoFit = true;
    const thumbs = ctx.model.get('thumbnails') ? Number(ctx.model.get('thumbnail_size')) || 0 : 0;
    const d = fitDistance(st.half.w, st.half.h, st.width / st.height, fitMargin(ctx.pointSize(), thumbs), st.height);
    return scatter.zoomToLocation([0, 0], d, { transition: false });
  };
  const resize = () => {
    const w = plot.clientWidth;
    const h = heightPx();
    if (!st.theme) deps.applyTheme();
    if (w <= 0 || (w === st.width && h === st.height)) return;
    st.width = w;
    st.height = h;
    plot.style.height = `${h}px`;
    scatter.set({ width: w, height: h });
    deps.sizeOverlay();
    if (st.autoFit && st.drawn) void fitView();
    deps.drawOverlay();
  };
  const onHeight = () => {
    plot.style.height = `${heightPx()}px`;
    resize();
  };
  return { fitView, resize, onHeight };
}
