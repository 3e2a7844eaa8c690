// The EmbeddingExplorer contract with Python (nbviz/widgets/embedding_explorer.py): synced traits and the
// request/response messages for on-demand data. Both sides change together.

import type { WireArray } from '../lib/codecs';

/** Synced traits. Arrays use the binary wire format of lib/codecs.ts. */
export interface ExplorerTraits {
  /** (N, 2) float32 positions shown now. A change with the same N animates points to their new place. */
  points: WireArray | null;
  /** Aligned layouts (AlignedUMAP, one per feature set): each (N, 2) float32; empty when there is one layout. */
  layouts: WireArray[];
  layout_names: string[];
  /** Index into `layouts` shown now (slider; set by either side). Python keeps `points` equal to that layout. */
  layout_index: number;

  /** Colour mode: "category" uses categories+palette; "value" uses values+colormap (with a colour bar). */
  color_mode: 'category' | 'value';
  /** (N,) uint8/uint16 category codes, or null. */
  categories: WireArray | null;
  category_names: string[];
  /** (K, 4) uint8 RGBA, one row per category. */
  palette: WireArray | null;
  /** Legend title, e.g. "label", "cluster" or a metadata column name. */
  color_title: string;
  /** What the points can be coloured by ("label", "cluster", "value", "column:NAME"); the menu offers them. */
  color_options: string[];
  /** What they are coloured by now, one of color_options ('' for nothing); the menu sets it. */
  color_source: string;
  /** What is plotted (projection, given layout), shown above the plot. */
  plot_title: string;
  /** (N,) float32 in [0, 1] (already normalised by Python; NaN = missing, drawn grey), or null. */
  values: WireArray | null;
  /** (256, 4) uint8 RGBA lookup table for values. */
  /** matplotlib name of the colormap (the kernel sends its table as colormap_lut). */
  colormap: string;
  colormap_lut: WireArray | null;
  /** [min, max] of the raw values, for the colour bar's tick labels. */
  value_range: number[];
  /** Category codes hidden by the legend (click hides/shows; double-click isolates). Set by either side. */
  hidden_categories: number[];

  /** Index of the focused point, -1 for none. Set by either side. */
  focus: number;
  /** Camera [target x, target y, distance] in the plot's normalised space (points span [-1, 1]); [] while the view
   *  fits the data. Set by the browser when the user pans or zooms, or by Python / a linked view. */
  view: number[];
  /** Point under the pointer, -1 for none. Set by the browser; a linked view draws a ring around it. */
  hovered: number;
  /** (M,) uint32 selected indices (lasso / rectangle / Python), or null for none. Set by either side. */
  selection: WireArray | null;

  point_size: number;
  /** Past this many points a pan or zoom draws a stratified sample of about this many (lod.ts); 0: never. */
  lod_points: number;
  height: number;
  /** Neighbour grid is nside x nside (clicked item first); 0 hides the panel (no neighbours wanted). */
  nside: number;
  /** True when items have images (neighbour grid, tooltip image and thumbnails are possible). */
  has_images: boolean;
  /** Draw image thumbnails at point positions. */
  thumbnails: boolean;
  thumbnail_size: number;
  max_thumbnails: number;

  /** Label names offered in the labelling bar (may grow when the user types a new one). */
  label_options: string[];
  /** The label assigned by clicks on neighbour images / "label selection"; "" = labelling off. */
  active_label: string;
  /** Count of annotated items per label name (for the labelling bar). */
  annotation_counts: Record<string, number>;

  /** Background work: progress in [0, 1], or -1 when idle; status text such as "UMAP: optimising layout". */
  progress: number;
  status: string;
  error: string;
  error_details: string;
}

/** Browser -> Python requests. Each carries a fresh `id`; the reply echoes it. */
export type ExplorerRequest =
  | { type: 'neighbors'; id: number; index: number }
  | { type: 'thumbnails'; id: number; indices: number[]; size: number }
  | { type: 'item'; id: number; index: number }
  | { type: 'assign'; id: number; label: string; indices: number[] };

/** Python -> browser replies (binary payloads in `buffers`). Any reply may instead be `{type, id, error}`. */
export type ExplorerReply =
  /** indices[0] is the query itself (distance 0), then its neighbours nearest first; buffers[k] is the PNG of
   *  indices[k] when has_images (else no buffers). */
  | { type: 'neighbors'; id: number; index: number; indices: number[]; distances: number[]; labels: string[] }
  /** buffers[0] is one PNG atlas: cell k (row-major, `columns` per row, `size` px square) holds indices[k]. */
  | { type: 'thumbnails'; id: number; indices: number[]; size: number; columns: number }
  /** buffers[0] is the item's PNG when has_images. metadata values are strings (show as text). */
  | { type: 'item'; id: number; index: number; label: string; metadata: Record<string, string> }
  | { type: 'assign'; id: number; label: string; count: number }
  | { type: ExplorerRequest['type']; id: number; error: string };
