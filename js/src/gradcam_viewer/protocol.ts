// The GradCamViewer contract with Python (nbviz/widgets/gradcam_viewer.py): synced traits. Both sides change
// together. Maps travel as int16 with a scale (value = q * scale); display settings are applied here only.

import type { WireArray } from '../lib/codecs';
import type { Normalization, Sign } from '../lib/display';

export type { Normalization, Sign };
export type SortBy = 'index' | 'confidence' | 'wrong' | 'class';

export interface TopClass {
  index: number;
  name: string;
  probability: number;
}

export interface ConfusionInfo {
  classes?: number[];
  names?: string[];
  probabilities?: number[];
  wrong?: boolean;
}

export interface GradCamTraits {
  error: string;
  error_details: string;
  /** Image shown large; set by a click in the grid. */
  index: number;
  layer: string;
  layers: string[];
  /** Second layer side by side, '' for none. */
  compare_layer: string;
  /** Class explained, -1 for the predicted class; set by a click on a top class. */
  target: number;
  method: string;
  opacity: number;
  sign: Sign;
  colormap: string;
  colormaps: string[];
  /** The names in colormaps that are diverging: one sign is drawn on its half. */
  diverging: string[];
  /** (M, 256, 4) uint8, one table per name in `colormaps`. */
  luts: WireArray | null;
  threshold: number;
  normalization: Normalization;
  sort_by: SortBy;
  size: number;
  /** PNG of the shown image. */
  image_png: DataView | null;
  /** (H, W) int16. */
  heatmap: WireArray | null;
  heatmap_scale: number;
  heatmap2: WireArray | null;
  heatmap2_scale: number;
  batch_peak: number;
  shown_target: number;
  top_classes: TopClass[];
  /** PNG atlas of the batch, grid_columns cells of grid_cell px per row. */
  grid_png: DataView | null;
  grid_columns: number;
  grid_cell: number;
  predictions: WireArray | null;
  confidences: WireArray | null;
  label_codes: WireArray | null;
  class_names: string[];
  show_confusion: boolean;
  /** (2, 2, H, W) int16: rows predicted / true class, columns positive / negative evidence. */
  confusion_maps: WireArray | null;
  confusion_scale: number;
  confusion_info: ConfusionInfo;
  computations: number;
}
