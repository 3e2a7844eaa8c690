// The ComponentsView contract with Python (nbviz/widgets/components_view.py, ComponentsView; compare.py fills the
// same view): synced traits and the one request. Both sides change together.

import type { WireArray } from '../lib/codecs';

/** One column of the view, as ComponentsProbe._columns (or compare()) writes it. */
export interface Column {
  /** The principal component (0-based) the column shows. */
  index: number;
  /** "PC1 · 23.4%", or the table's title. */
  title: string;
  /** Percent of the variance along the component (0 for a table). */
  percent: number;
  /** Item indices at the low end (lowest first) and at the high end (highest first); a table's rows are `low`. */
  low: number[];
  high: number[];
  /** Text standing for each of those items (label, metadata or "#i"). */
  low_text: string[];
  high_text: string[];
  /** "table": a list of items with `values` (compare mode: the items that moved most). */
  kind?: 'table';
  values?: number[];
}

/** A row of the summary table (faithfulness, shift per component), free-form text. */
export interface SummaryRow {
  name: string;
  value: string;
}

/** Synced traits. "Either side" traits are written by the browser on clicks and slider moves. */
export interface ComponentsTraits {
  title: string;
  columns: Column[];
  /** Items have images: tiles ask for them with the `images` request; else they show their text. */
  has_images: boolean;
  /** Pixel size of a tile's image. */
  image_size: number;
  /** The two components shown as the explorer's axes, [i, j]; [] before any click. Either side. */
  active: number[];
  /** The component walked along and the step of the walk (0..walk_steps - 1). Either side. */
  walk_component: number;
  walk_step: number;
  walk_steps: number;
  /** Score of each step of the walk along walk_component. */
  walk_positions: number[];
  /** Items nearest the current walk position (nearest first) and their text. */
  walk_indices: number[];
  walk_text: string[];
  /** (n_components, C) float32 correlation of each component with each column; NaN where undefined; null
   *  when there is nothing to correlate with. */
  correlations: WireArray | null;
  /** The heatmap's columns (label classes and numeric metadata columns) and their kinds ("label" / "metadata"). */
  corr_columns: string[];
  corr_kinds: Array<'label' | 'metadata'>;
  /** The heatmap cell last clicked, [component, column]; [] for none. Either side. */
  corr_cell: number[];
  /** The item last clicked in a column, the walk or a table (the explorer focuses it); -1 for none. Either side. */
  picked: number;
  summary: SummaryRow[];
  /** Long work for this view (past 0.5 s): fraction done in [0, 1], -1 when idle; and what runs now. */
  progress: number;
  status: string;
  error: string;
  error_details: string;
}

/** Browser -> Python (`request('images', ...)`): PNGs of items, each `size` px at most. */
export type ImagesRequest = { indices: number[]; size: number };

/** Python -> browser: buffers[k] is the PNG of indices[k]. Or `{type, id, error}` (the request rejects). */
export interface ImagesReply {
  type: 'images';
  id: number;
  indices: number[];
}
