// Pointer, mouse and keyboard on the plot: click to focus a point (without the library's costly
// select / deselect), pan and wheel (which stop auto-fitting), lasso / box gestures written to the
// `selection` trait, Escape to clear, the Reset button, and the hover tooltip. Split out of index.ts.

import { CLICK_SLOP, type ExplorerCtx, type ScatterSettings } from './context';
import { rectPolygon, screenToGl, validIndices } from './selection';
import type { SelectionSync } from './selection_sync';
import { tooltipPosition, tooltipText } from './tooltip';

export interface Pointer {
  /** Put the tooltip beside the pointer, inside the plot. */
  placeTip(): void;
  dispose(): void;
}

export function createPointer(
  ctx: ExplorerCtx,
  deps: {
    resetButton: HTMLButtonElement;
    selection: SelectionSync;
    screenPosition(i: number): [number, number] | null;
    setFocus(i: number): void;
    fitView(): Promise<unknown>;
  },
): Pointer {
  const { model, st, scatter, plot, canvas, tip, pointSize } = ctx;
  const { resetButton, selection, screenPosition, setFocus } = deps;
  const { tools } = selection;

  let downAt: [number, number] | null = null;
  let clickedPoint = -1;
  let hovered = -1;
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
  // Zooming or panning moves the points under the pointer: the tooltip (and the linked hover ring) go, and come
  // back at the next move over a point.
  const dropHover = () => {
    tip.hidden = true;
    if (hovered >= 0) {
      hovered = -1;
      st.linked?.hover(-1);
    }
  };
  const onWheel = () => {
    st.autoFit = false;
    dropHover();
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
    if (e.target !== canvas || !st.drawn) return;
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
    if (e.target !== canvas || !st.drawn) return;
    if (!isClick(e)) return; // a pan, not a click
    selection.sync(); // a click focuses; it does not change the selection: restore its highlight
    setFocus(clickedPoint);
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key !== 'Escape') return;
    if (st.selected.length) selection.set([]);
    tools.setMode(null);
    scatter.set({ mouseMode: 'panZoom' } as ScatterSettings);
  };
  let pointer: [number, number] = [0, 0];
  const placeTip = () => {
    const [x, y] = tooltipPosition(pointer[0], pointer[1], tip.offsetWidth, tip.offsetHeight, st.width, st.height);
    tip.style.transform = `translate(${x}px, ${y}px)`;
  };
  const onPointerMove = (e: PointerEvent) => {
    const r = plot.getBoundingClientRect();
    pointer = [e.clientX - r.left, e.clientY - r.top];
    // A drag that started on the canvas is a pan: stop auto-fitting.
    if (e.buttons && downAt && Math.hypot(e.clientX - downAt[0], e.clientY - downAt[1]) >= CLICK_SLOP) {
      st.autoFit = false;
      dropHover();
    }
    if (!tip.hidden) placeTip();
  };
  const onLeave = () => {
    tip.hidden = true;
  };
  const onReset = () => {
    void deps.fitView();
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
  const onLassoEnd = (event?: { coordinates?: unknown }) => {
    if (reselecting) return;
    const mods = { merge: upMods.ctrl, remove: upMods.alt && !upMods.ctrl };
    // regl-scatterplot's box starts at the first sampled move and ends at the last throttled one; redo it
    // from the exact press and release points, so the box selects what the pointer spanned.
    const poly = selection.shape() === 'rectangle' && downAt && upAt ? boxPolygon(downAt, upAt) : null;
    const indexing = st.indexing;
    if (indexing) {
      // The k-d index of many points is still building and found nothing: select once it is here.
      const shape = poly ?? pairs(event?.coordinates);
      reselect(null, mods);
      if (shape && shape.length >= 3) {
        void indexing.then(() => {
          if (st.destroyed) return;
          reselect(shape, mods);
          selection.set((scatter.get('selectedPoints') as number[] | undefined) ?? []);
        });
      }
      return;
    }
    if (poly) reselect(poly, mods);
    selection.set((scatter.get('selectedPoints') as number[] | undefined) ?? []);
  };
  /** The lasso's vertices as [x, y] pairs (the library's types say flat numbers; it sends pairs). */
  const pairs = (c: unknown): [number, number][] | null => {
    if (!Array.isArray(c)) return null;
    if (c.every((p) => Array.isArray(p) && p.length >= 2)) return c.map((p) => [Number(p[0]), Number(p[1])]);
    const out: [number, number][] = [];
    for (let i = 0; i + 1 < c.length; i += 2) out.push([Number(c[i]), Number(c[i + 1])]);
    return out;
  };
  const boxPolygon = (from: [number, number], to: [number, number]) => {
    const r = canvas.getBoundingClientRect();
    const view = scatter.get('cameraView') as ArrayLike<number>;
    return rectPolygon([from[0] - r.left, from[1] - r.top], [to[0] - r.left, to[1] - r.top]).map(
      ([x, y]) => screenToGl(x, y, view, st.width, st.height),
    );
  };
  /** The trait's selection back in the library, then the polygon (GL coordinates) selected with Ctrl (add) /
   *  Alt (remove) combining with it, not with what the library's rough gesture selected. */
  const reselect = (poly: [number, number][] | null, mods: { merge: boolean; remove: boolean }) => {
    const keep = validIndices(st.selected, st.n, st.visible);
    if (keep.length) scatter.select(keep, { preventEvent: true });
    else scatter.deselect({ preventEvent: true });
    if (!poly) return;
    reselecting = true;
    try {
      scatter.lassoSelect(poly, { isGl: true, ...mods });
    } finally {
      reselecting = false;
    }
  };
  const onPointOver = (i: number) => {
    hovered = i;
    st.linked?.hover(i);
    tip.textContent = tooltipText(i, st.codes ? st.codes[i] : null, model.get('category_names') ?? []);
    tip.hidden = false;
    placeTip();
  };
  const onPointOut = () => {
    hovered = -1;
    st.linked?.hover(-1);
    tip.hidden = true;
  };
  const subSelect = scatter.subscribe('select', onSelect);
  const subOver = scatter.subscribe('pointOver', onPointOver);
  const subOut = scatter.subscribe('pointOut', onPointOut);
  const subLassoStart = scatter.subscribe('lassoStart', onLassoStart);
  const subLasso = scatter.subscribe('lassoEnd', onLassoEnd);

  const dispose = () => {
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
    scatter.unsubscribe(subLassoStart);
    scatter.unsubscribe(subLasso);
    scatter.unsubscribe(subSelect);
    scatter.unsubscribe(subOver);
    scatter.unsubscribe(subOut);
  };
  return { placeTip, dispose };
}
