/**
 * Shapes shared by the bottom-up (associative embedding) steps. Every array is row-major.
 * @module
 */

/**
 * The network's output of one image after the flip merge: what mmpose 0.x calls the
 * aggregated heatmaps and the tags.
 * - `heatmaps`: (K, H, W)
 * - `tags`: L planes, each (K, H, W): mmpose's tags (K, H, W, L) with the last axis split,
 *   L = 1 without the flip test, 2 with it (plain, flipped)
 */
export interface BottomUpMaps {
  heatmaps: Float32Array;
  tags: Float32Array[];
  /** Joints K. */
  k: number;
  h: number;
  w: number;
  /** Tag values per pixel L. */
  l: number;
}

/** The grouping settings of the official `test_cfg` (names in camelCase). */
export interface GroupingParams {
  /** `max_num_people`: candidates per joint (top-k) and the most people matched against. */
  maxPeople: number;
  /** `nms_kernel`, `nms_padding`: the max-pool window of the heatmap NMS. */
  nmsKernel: number;
  nmsPadding: number;
  /** `detection_threshold`: candidates at or below it are dropped. */
  detectionThreshold: number;
  /** `tag_threshold`: largest tag distance that joins a person. */
  tagThreshold: number;
  /** `use_detection_val`: cost `round(distance) * 100 - value` instead of the distance. */
  useDetectionVal: boolean;
  /** `ignore_too_much`: skip a joint type once `maxPeople` people exist. */
  ignoreTooMuch: boolean;
  /** `adjust`: the quarter-pixel step toward the higher neighbour (and the 0.5 px centre). */
  adjust: boolean;
  /** `refine`: fill each person's missing joints from its mean tag. */
  refine: boolean;
}

/**
 * Top-k candidates of every joint after the heatmap NMS (`HeatmapParser.top_k`), M = maxPeople:
 * - `val`: (K, M) heatmap values, largest first
 * - `x`, `y`: (K, M) their pixel columns and rows
 * - `tag`: (K, M, L) the tags there
 */
export interface Candidates {
  val: Float32Array;
  x: Int32Array;
  y: Int32Array;
  tag: Float32Array;
  k: number;
  m: number;
  l: number;
}

/**
 * Grouped people (`_match_by_tag`'s answer): `joints` is (P, K, 3 + L) float32, each joint
 * `x, y, value, tag...` in heatmap pixels; a joint not found is all zeros.
 */
export interface Grouped {
  joints: Float32Array;
  people: number;
  k: number;
  l: number;
}
