// The TripletSpace contract with Python (nbviz/widgets/triplet_space.py): synced traits. Both sides change together.

import type { WireArray } from '../lib/codecs';

/** The kinds, in the order of kind_colors and of each row / column of moved_counts. */
export const KINDS = ['easy', 'semi_hard', 'hard'] as const;
export type Kind = (typeof KINDS)[number];
export type KindCounts = Record<Kind, number>;

export interface Sampling {
  n_anchors: number;
  n_items: number;
  sampled: boolean;
  /** Triplets of those anchors. */
  total: number;
}

export interface TripletTraits {
  title: string;
  /** Height of the scatter, CSS px. */
  height: number;
  /** (N, 2) float32 positions. */
  points: WireArray | null;
  /** (N,) uint8 / uint16 label codes, names in `classes`, (K, 4) uint8 RGBA `palette`. */
  codes: WireArray | null;
  classes: string[];
  palette: WireArray | null;
  /** (3, 4) uint8 RGBA of easy, semi-hard, hard (Python's colours, nbviz/colors.py). */
  kind_colors: WireArray | null;
  /** CSS colours: the anchor's ring and the positives. */
  accents: { anchor?: string; positive?: string };
  metric: string;
  /** The margin Python counted at: the slider writes it when released. Either side. */
  margin: number;
  max_margin: number;
  /** The anchor shown, -1 for none: a click writes it. Either side. */
  anchor: number;
  /** Exact counts over the counted anchors at `margin`. */
  counts: Partial<KindCounts>;
  sampling: Partial<Sampling>;
  /** (B,) float32: share of the triplets whose d(a,n) - d(a,p) is about diff_start + k * diff_step. */
  diff_hist: WireArray | null;
  diff_start: number;
  diff_step: number;
  /** The anchor's positives / negatives (uint32, nearest first) and their float32 distances; the `_d0` ones in the
   *  before set (same order), or null. */
  anchor_pos: WireArray | null;
  anchor_pos_d: WireArray | null;
  anchor_neg: WireArray | null;
  anchor_neg_d: WireArray | null;
  anchor_pos_d0: WireArray | null;
  anchor_neg_d0: WireArray | null;
  has_before: boolean;
  /** 3 x 3 [before kind][now kind] (KINDS order) at `margin`; [] without a before set. */
  moved_counts: number[][];
  moves_sampling: { n_anchors?: number; sampled?: boolean };
  error: string;
  error_details: string;
}
