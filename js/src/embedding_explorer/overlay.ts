// The 2-D overlay canvas over the points: the focus ring and, in the theme's text colour, the ring on the
// point hovered in a linked view (focus_ring.ts draws them), plus the screen position of a point that both
// the rings and the tests (`el.nbviz.screenPosition`) use. Split out of index.ts.

import { cssColor, type Rgba } from '../lib/colors';
import type { ExplorerCtx } from './context';
import { drawRing, ringGeometry } from './focus_ring';

export interface Overlay {
  /** Match the canvas to the plot size (device px, drawn in CSS px). */
  size(): void;
  /** CSS px inside the plot of point i, or null while (re)drawing or for a bad index. */
  screenPosition(i: number): [number, number] | null;
  /** Redraw the rings. */
  draw(): void;
}

export function createOverlay(ctx: ExplorerCtx, overlay: HTMLCanvasElement, focusIndex: () => number): Overlay {
  const { st, scatter, pointSize } = ctx;
  const g = overlay.getContext('2d');
  const size = () => {
    const dpr = window.devicePixelRatio || 1;
    overlay.width = Math.round(st.width * dpr);
    overlay.height = Math.round(st.height * dpr);
    overlay.style.width = `${st.width}px`;
    overlay.style.height = `${st.height}px`;
    g?.setTransform(dpr, 0, 0, dpr, 0, 0);
  };
  const screenPosition = (i: number): [number, number] | null => {
    if (!st.drawn || i < 0 || i >= st.n) return null;
    const p = scatter.getScreenPosition(i);
    return p ? [p[0], p[1]] : null;
  };
  // A ring marks a point that is drawn: none where a hidden category's point was.
  const shownAt = (i: number) => (i >= 0 && st.visible && !st.visible[i] ? null : screenPosition(i));
  const draw = () => {
    if (!g) return;
    const ring = ringGeometry(shownAt(focusIndex()), pointSize(), st.width, st.height);
    const t = st.theme ?? { focus: '#e6007e', foreground: '#222', background: [255, 255, 255, 255] as Rgba };
    const halo = cssColor([t.background[0], t.background[1], t.background[2], 180]);
    drawRing(g, ring, t.focus, halo);
    // The point hovered in a linked view, in the theme's text colour so it is not taken for the focus.
    const linkedRing = ringGeometry(shownAt(st.linked?.linkedHover() ?? -1), pointSize(), st.width, st.height);
    if (linkedRing) drawRing(g, { ...linkedRing, r: linkedRing.r - 3 }, t.foreground, halo, false);
  };
  return { size, screenPosition, draw };
}
