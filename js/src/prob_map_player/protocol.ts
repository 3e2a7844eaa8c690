// Traits of ProbMapPlayer (nbviz/widgets/prob_map_player.py); both sides change together.

import type { ProbabilityMode } from '../lib/display';

export type Mode = ProbabilityMode;
export type InterpolationType = 'linear' | 'geometric';

export interface PlayerTraits {
  [key: string]: unknown;
  error: string;
  error_details: string;
  /** Frames stored over all recorders (the frame stores pull by run_epochs). */
  n_frames: number;
  grid_shape: [number, number];
  n_classes: number;
  /** Union of the recorders' epochs: the slider's recorded epochs. */
  epochs: number[];
  /** One name per panel ([""] with one recorder) and the epochs each recorder has stored. */
  run_names: string[];
  run_epochs: number[][];
  epoch: number;
  playing: boolean;
  fps: number;
  loop: boolean;
  mode: Mode;
  interpolation: number;
  interpolation_type: InterpolationType;
  target_class: number;
  boundary_line: boolean;
  show_train: boolean;
  show_test: boolean;
  show_flips: boolean;
  size: number;
  class_names: string[];
  palette: unknown;
  region_luts: unknown;
  boundary_luts: unknown;
  class_lut: unknown;
  entropy_lut: unknown;
  xlim: [number, number];
  ylim: [number, number];
  points: unknown;
  point_classes: unknown;
  test_points: unknown;
  test_classes: unknown;
  status: string;
  /** Per recorder, all its frames as one frames message whose buffers travel in the state: the persisted copy. */
  stored_frames: StoredFrames[];
}

/** A push from Python (no id) or the reply to a `frames` request: one buffer per map and per prediction array. */
export interface FramesMessage {
  type: 'frames';
  id?: number;
  /** The recorder (panel) the frames belong to; 0 without compare mode. */
  run?: number;
  start: number;
  count: number;
  pred_dtype: 'uint8' | 'uint16';
  /** Buffers each map comes in (chunks of at most 4 MiB, as arrays.py cuts them); 1 when absent. */
  map_chunks?: number;
}

/** A frames message kept in the `stored_frames` trait, its buffers beside it (ipywidgets restores them there). */
export interface StoredFrames extends FramesMessage {
  buffers: Array<DataView | ArrayBuffer | ArrayBufferView>;
}
