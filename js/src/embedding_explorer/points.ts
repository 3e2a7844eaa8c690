// Drawing the points: read `points` (or the layout the slider picked), normalise them and hand them with
// their colour columns, hidden mask and selection to regl-scatterplot, animating when N is unchanged and
// fitting the camera for a new N. Draws run one at a time; changes meanwhile coalesce into one follow-up.
// Split out of index.ts.

import { buildIndexAsync, pointRows } from './spatial_index';
import { decodeArray, type TypedArray } from '../lib/codecs';
import { TRANSITION_MS, type ExplorerCtx } from './context';
import { maskIndices } from './hidden';
import { layoutAt, sameValues } from './layouts';
import type { Lod } from './lod';
import { normalizePoints } from './normalize';
import { validIndices } from './selection';

export interface Points {
  /** Read `points`; true when they differ from what is shown or on the way. */
  readPoints(): boolean;
  /** Draw the latest state now, or once the draw in flight is done. */
  redrawPoints(): void;
  /** `change:points`. */
  onPoints(): void;
  /** `change:layout_index`: the slider (or Python) picked a layout. */
  onLayoutIndex(): void;
  /** Normalised positions handed to the library, or null before the first draw. */
  positions(): { x: Float32Array; y: Float32Array } | null;
}

export function createPoints(
  ctx: ExplorerCtx,
  deps: {
    readCategories(): void;
    applyColors(): void;
    readVisible(): void;
    syncSelection(): void;
    drawOverlay(): void;
    fitView(): Promise<unknown>;
    syncLayouts(): void;
    lod(): Lod;
  },
): Points {
  const { model, st, scatter, root, banner, tip } = ctx;

  /** Raw (N, 2) positions to show: `points`, or a layout the slider picked (set before Python echoes it). */
  let target: TypedArray = new Float32Array(0);
  /** Positions on screen now; the next draw animates from them when N is unchanged. */
  let shownXY: TypedArray | null = null;
  let norm: { x: Float32Array; y: Float32Array } | null = null;
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
    const gen = ++st.generation;
    root.dataset.nbvizReady = 'false';
    const xy = target;
    const count = xy.length >> 1;
    // Same N and new positions: animate, keeping the camera. Another N: redraw and fit.
    const sameN = shownXY !== null && count === st.n;
    const transition = sameN && count > 0 && xy !== shownXY;
    // regl-scatterplot forgets the old points here; no screen positions until the new ones are in.
    st.drawn = false;
    tip.hidden = true;
    const normed = normalizePoints(xy, count);
    norm = normed;
    st.n = count;
    st.half = { w: normed.halfWidth, h: normed.halfHeight };
    deps.readCategories();
    deps.applyColors();
    const data: Parameters<typeof pointRows>[0] = { x: normed.x, y: normed.y };
    if (st.codes) data.valueA = st.codes;
    if (st.valueW) {
      // The library reads its value columns in order: without a valueA, valueB would be taken as the first.
      data.valueA = st.codes ?? new Float32Array(count);
      data.valueB = st.valueW;
    }
    deps.readVisible();
    // Past `lod_points` the first frame (and a transition's) draws the level-of-detail sample, then settles.
    const lod = deps.lod();
    lod.invalidate();
    const sampled = lod.startsSampled(count);
    const keep = sampled ? lod.sample(normed.x, normed.y) : st.visible ? maskIndices(st.visible) : null;
    const sel = validIndices(st.selected, st.n, st.visible);
    // The k-d index builds in a worker while this thread makes the per-point rows (spatial_index.ts).
    const index = buildIndexAsync(normed.x, normed.y);
    const rows = pointRows(data);
    const spatialIndex = await index;
    if (gen !== st.generation || st.destroyed) return;
    // filter / select go in with the points, so hidden points never flash during the animation.
    await scatter.draw(rows, {
      spatialIndex,
      zDataType: 'categorical',
      wDataType: 'continuous',
      transition,
      transitionDuration: TRANSITION_MS,
      ...(keep ? { filter: keep } : {}),
      ...(sel.length ? { select: sel } : {}),
    });
    if (gen !== st.generation || st.destroyed) return;
    shownXY = xy;
    st.drawn = true;
    if (sampled) lod.startedSampled();
    deps.syncSelection();
    deps.drawOverlay();
    st.readyGeneration = gen;
    // A new layout has new extents: fit it unless the user has moved the camera since the last fit.
    if (!sameN || st.autoFit) await deps.fitView();
    else scatter.redraw();
    st.linked?.afterDraw();
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
        if (pending && !st.destroyed) {
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
    deps.syncLayouts();
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

  return { readPoints, redrawPoints, onPoints, onLayoutIndex, positions: () => norm };
}
