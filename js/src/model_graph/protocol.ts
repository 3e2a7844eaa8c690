// Traits of ModelGraph (nbviz/widgets/model_graph.py); both sides change together.

import type { WireArray } from '../lib/codecs';

export interface GroupInfo {
  path: string;
  type: string;
  params: number;
  shape: string;
  depth: number;
}

export interface FoldInfo {
  id: string;
  members: string[];
  label: string;
}

export interface ModelGraphTraits {
  error: string;
  error_details: string;
  mode: string;
  fallback: string;
  /** Why the linked widgets did not take the selected layer: a note beside the fallback's. */
  refusal: string;
  node_ids: string[];
  node_paths: string[];
  node_types: string[];
  node_shapes: string[];
  node_kinds: string[];
  node_labels: string[];
  node_params: unknown;
  edge_index: unknown;
  groups: GroupInfo[];
  folds: FoldInfo[];
  expanded: string[];
  selected: string;
  unusable: Record<string, string>;
  height: number;
  /** The capture, past 0.5 s: fraction done in [0, 1], -1 when idle; and what runs now. */
  progress: number;
  status: string;
  view_layout: ViewLayout | Record<string, never>;
}

/** Set by the view once a layout is on screen, so the PNG / SVG exports draw the same boxes
 * (nbviz/widgets/model_graph_export.py); {} before. */
export interface ViewLayout {
  /** The open groups it was laid out for (the export draws it only while they are still the open ones). */
  expanded: string[];
  /** Drawn node ids, and 'frame:' + path for the frames of open groups, in the order of `boxes`' rows. */
  ids: string[];
  /** (N, 4) float32: x, y, w, h of each id, in graph units (CSS px at zoom 1). */
  boxes: WireArray;
  width: number;
  height: number;
}

/** The captured graph, decoded once. */
export interface GraphData {
  ids: string[];
  paths: string[];
  types: string[];
  shapes: string[];
  kinds: string[];
  labels: string[];
  params: ArrayLike<number>;
  /** Flat [source0, target0, source1, ...] node indices. */
  edges: ArrayLike<number>;
  groups: Map<string, GroupInfo>;
  folds: FoldInfo[];
}
