// What the parts of one EmbeddingExplorer view share (index.ts assembles them): the scatterplot and its
// DOM, the model, and the mutable view state that several parts read and write (point count, colour
// columns, hidden mask, selection, camera fitting, size, theme). Split out of index.ts so that each part
// (camera.ts, overlay.ts, coloring.ts, selection_sync.ts, points.ts, pointer.ts, panels.ts) can take the
// one `ExplorerCtx` instead of closing over a single 800-line render function.

import type { AnyModel } from '@anywidget/types';
import type createScatterplot from 'regl-scatterplot';
import type { TypedArray } from '../lib/codecs';
import type { ErrorBanner } from '../lib/error_banner';
import type { Theme } from '../lib/theme';
import type { LinkedView } from './linked_view';
import type { ExplorerTraits } from './protocol';

export type Scatterplot = ReturnType<typeof createScatterplot>;
export type ScatterOptions = NonNullable<Parameters<typeof createScatterplot>[0]>;
export type ScatterSettings = Parameters<Scatterplot['set']>[0];

/** Pointer travel (CSS px) beyond which a press is a pan, not a click; regl-scatterplot's lassoMinDist. */
export const CLICK_SLOP = 4;
/** Width used until the element is laid out (anywidget may render into a detached element). */
export const FALLBACK_WIDTH = 600;
/** Point animation when positions change with the same N (a projection replacing PCA, another layout). */
export const TRANSITION_MS = 600;

/** Mutable state of one view, shared by its parts. */
export interface ExplorerState {
  n: number;
  codes: TypedArray | null;
  /** The w column for colour by value (color_mode.ts), or null when `values` is missing or mismatched. */
  valueW: Float32Array | null;
  /** Drawn points as a 0/1 mask (hidden categories), or null for all. */
  visible: Uint8Array | null;
  half: { w: number; h: number };
  drawn: boolean;
  destroyed: boolean;
  generation: number;
  readyGeneration: number;
  /** Plot size in CSS px. */
  width: number;
  height: number;
  theme: Theme | null;
  /** The `selection` trait as the view has it. */
  selected: Uint32Array;
  /** Until the user pans or zooms, the view keeps fitting the data as the container settles. */
  autoFit: boolean;
  /** Camera and hover shared with linked views (mounted once the scatterplot's events are wired). */
  linked: LinkedView | null;
  /** While the k-d index of many points builds (points.ts), resolves when hover, click and lasso can find them. */
  indexing: Promise<void> | null;
}

export function initialState(width: number, height: number): ExplorerState {
  return {
    n: 0,
    codes: null,
    valueW: null,
    visible: null,
    half: { w: 0, h: 0 },
    drawn: false,
    destroyed: false,
    generation: 0,
    readyGeneration: -1,
    width,
    height,
    theme: null,
    selected: new Uint32Array(0),
    autoFit: true,
    linked: null,
    indexing: null,
  };
}

export interface ExplorerCtx {
  model: AnyModel<ExplorerTraits>;
  root: HTMLDivElement;
  banner: ErrorBanner;
  plot: HTMLDivElement;
  canvas: HTMLCanvasElement;
  /** The hover tooltip. */
  tip: HTMLDivElement;
  scatter: Scatterplot;
  st: ExplorerState;
  /** `point_size` in CSS px (3 when unset or bad). */
  pointSize(): number;
  /** `height` in CSS px (at least 50). */
  heightPx(): number;
}
