// Traits of ModelGraph (nbviz/widgets/model_graph.py); both sides change together.

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
