// Drawing the points: read `points` (or the layout the slider picked), normalise them and hand them with
// their colour columns, hidden mask and selection to regl-scatterplot, animating when N is unchanged and
// fitting the camera for a new N. Draws run one at a time; changes meanwhile coalesce into one follow-up.
// Split out of index.ts.

import { buildIndex, buildIndexAsync, emptyIndex, NODE_SIZE, pointRows, WORKER_MIN } from './spatial_index';
import { decodeArray, type TypedArray } from '../lib/codecs';
import { TRANSITION_MS, type ExplorerCtx } from './context';
import { maskIndices } from './hidden';
import { layoutAt, sameValues } from './layouts';
import type { Lod } from './lod';
import { normalizePoints } from './normalize';
import { validIndices } from './selection';

/** The longest wait for the preview's frame before the full draw starts anyway. */
const PREVIEW_WAIT_MS = 500;

export interface Points {
  /** Read `points`; true when they differ from what is shown or on the way. */
  readPoints(): boolean;
  /** Draw the latest state now, or once the draw in flight is done. */
  redrawPoints(): void;
  /** `change:points`. */
  onPoints(): void;
  /** `change:categories` / `change:values`: redraw unless the draw in flight (or last) read these values. */
  onColumns(): void;
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
  /** The `categories` and `values` the latest draw read (the model's objects: a new value is a new object). */
  let columnsRead: [unknown, unknown] = [undefined, undefined];
  /** The k-d index of the positions `xy` (spatial_index.ts). */
  let indexed: { xy: TypedArray; index: ArrayBuffer } | null = null;
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

  /** The k-d index to draw `xy` with (spatial_index.ts). Past WORKER_MIN points the first frame does not wait for
   *  it: the library gets one that finds nothing, and the real one, built by a worker once that frame is on
   *  screen (on two cores it would slow the frame), is copied into the same buffer, which the library searches
   *  in place (KDBush.from keeps it). Until then hover, click and lasso wait for `st.indexing`. A redraw of the
   *  same positions (a recolour, hidden classes) keeps their index. Call `drawn` once the library has the points. */
  const indexFor = (xy: TypedArray, normed: { x: Float32Array; y: Float32Array }, gen: number) => {
    const count = normed.x.length;
    const known = indexed?.xy === xy ? indexed.index : null;
    const deferred = !known && count >= WORKER_MIN;
    const spatialIndex = known ?? (deferred ? emptyIndex(count) : buildIndex(normed.x, normed.y, NODE_SIZE));
    if (!deferred) indexed = { xy, index: spatialIndex };
    root.dataset.nbvizIndex = deferred ? 'building' : 'ready';
    let drawn = () => {};
    const afterDraw = new Promise<void>((resolve) => (drawn = resolve));
    // The library's next frame, once it has the points, is the first one showing them.
    const painted = () => new Promise((resolve) => scatter.subscribe('draw', () => setTimeout(resolve, 0), 1));
    const current = () => gen === st.generation && !st.destroyed;
    st.indexing = !deferred ? null : afterDraw.then(painted)
      .then(() => (current() ? buildIndexAsync(normed.x, normed.y) : null))
      .then((full) => {
        if (!full || !current()) return;
        if (scatter.get('spatialIndex') === spatialIndex) {
          new Uint8Array(spatialIndex).set(new Uint8Array(full));
          indexed = { xy, index: spatialIndex };
        } else banner.setLocalError('Hover and selection are off: this regl-scatterplot copies its spatial index');
        st.indexing = null;
        root.dataset.nbvizIndex = 'ready';
      });
    return { spatialIndex, drawn };
  };

  /** A new set of points past `lod_points` is first drawn as its level-of-detail sample alone: the library then
   *  builds rows and textures for the sample's points only, and the first frame does not wait for those of all
   *  N (about 2 s at 10M here). The full draw follows once that frame is on screen; until it is in, `st.drawn`
   *  stays false, so hover, clicks, the selection and the overlays wait for it as for any draw. */
  const drawPreview = async (data: Parameters<typeof pointRows>[0], keep: number[]) => {
    const pick = (col: ArrayLike<number>) => {
      const out = new Float32Array(keep.length);
      for (let j = 0; j < keep.length; j++) out[j] = col[keep[j]];
      return out;
    };
    const { x, y, valueA, valueB } = data;
    const rows = pointRows({ x: pick(x), y: pick(y), ...(valueA ? { valueA: pick(valueA) } : {}),
      ...(valueB ? { valueB: pick(valueB) } : {}) });
    // No index: nothing is picked in the preview, and the library would build one for it on this thread.
    await scatter.draw(rows, { spatialIndex: emptyIndex(rows.length), zDataType: 'categorical',
      wDataType: 'continuous' });
    await deps.fitView();
    root.dataset.nbvizLod = 'preview';
    // On screen: the library's next frame, then the browser's next one (a timeout, should no frame come).
    await new Promise((resolve) => {
      scatter.subscribe('draw', () => requestAnimationFrame(resolve), 1);
      setTimeout(resolve, PREVIEW_WAIT_MS);
    });
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
    columnsRead = [model.get('categories'), model.get('values')];
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
    if (sampled && keep && keep.length > 0 && !transition) {
      await drawPreview(data, keep);
      if (gen !== st.generation || st.destroyed) return;
    }
    const { spatialIndex, drawn } = indexFor(xy, normed, gen);
    const rows = pointRows(data);
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
    drawn();
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
  // Streamed arrays arrive together (lib/streams.ts): points and categories fire one after the other, and a
  // second draw of millions of points with what the first already drew would cost seconds.
  const onColumns = () => {
    if (model.get('categories') !== columnsRead[0] || model.get('values') !== columnsRead[1]) redrawPoints();
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

  return { readPoints, redrawPoints, onPoints, onColumns, onLayoutIndex, positions: () => norm };
}
