/**
 * MPII's PCKh as `TopDownMpiiDataset.evaluate` of the official SRPose code (mmpose 0.x, after
 * HRNet's) computes it, equal to it run from its source (tests/core/pckh.test.ts):
 *
 * - predictions are mmpose's 0-based float32 keypoints, turned 1-based as `preds + 1.0` in
 *   float32 to meet the ground truth of `mpii_gt_val.mat` (MATLAB's 1-based pixels, float64);
 * - a joint is correct when `|pred - gt| / (0.6 * |head box diagonal|) <= 0.5`, counted over the
 *   joints not missing (`jnt_missing`); PCKh per joint is `100 * correct / visible` (NaN for a
 *   joint no person shows, which then makes the mean NaN, as numpy does);
 * - the table is mmpose's `name_value`: Head, then the mean of the left and right joint for
 *   Shoulder, Elbow, Wrist, Hip, Knee, Ankle, then `PCKh`, the mean over all joints but pelvis
 *   and thorax weighted by their visible counts, and `PCKh@0.1`, the same at a threshold of
 *   `np.arange(0, 0.51, 0.01)[11]`, **0.11** (not 0.1), with the per-joint values rounded to
 *   float32 first (mmpose's `pckAll` array is float32);
 * - the means are numpy's sums (pairwise, over the 16 joints with pelvis and thorax as 0).
 * @module
 */
import { SRPoseError } from '../../errors.ts';
import { pairwiseSum } from './oks-nms.ts';

const f32 = Math.fround;

/** `SC_BIAS`: the head size is 0.6 times the head box's diagonal. */
export const MPII_PCKH_SC_BIAS = 0.6;
/** The PCKh threshold, in head sizes. */
export const MPII_PCKH_THRESHOLD = 0.5;
/**
 * The threshold of mmpose's `PCKh@0.1`: `np.arange(0, 0.5 + 0.01, 0.01)[11]` = `0 + 11 * 0.01`,
 * which is 0.11 (an off-by-one of the HRNet code mmpose copied).
 */
export const MPII_PCKH_LOW_THRESHOLD = 0 + 11 * 0.01;

/**
 * `dataset_joints` of `mpii_gt_val.mat`: its joints' names, in mmpose's MPII joint order
 * (0 right ankle ... 15 left wrist).
 */
export const MPII_GT_JOINT_NAMES: readonly string[] = Object.freeze([
  'rank',
  'rkne',
  'rhip',
  'lhip',
  'lkne',
  'lank',
  'pelv',
  'thor',
  'neck',
  'head',
  'rwri',
  'relb',
  'rsho',
  'lsho',
  'lelb',
  'lwri',
]);

/** The names of mmpose's PCKh `name_value`, in its order. */
export const PCKH_NAMES = Object.freeze(
  ['Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle', 'PCKh', 'PCKh@0.1'] as const,
);

/** One name of {@link PCKH_NAMES}. */
export type PckhName = (typeof PCKH_NAMES)[number];

/**
 * The content of `mpii_gt_val.mat` as JSON, one entry per person (in the order of
 * `mpii_val.json`, which the predictions follow), its arrays transposed to person-first.
 */
export interface MpiiGroundTruth {
  /** `dataset_joints`, the joints' names; default {@link MPII_GT_JOINT_NAMES}. */
  readonly jointNames?: readonly string[];
  /** `pos_gt_src` (16 x 2 x N) as N x 16 x `[x, y]`, 1-based pixels. */
  readonly joints: readonly (readonly (readonly number[])[])[];
  /** `jnt_missing` (16 x N) as N x 16, each 1 (missing: not counted) or 0. */
  readonly missing: readonly (readonly number[])[];
  /** `headboxes_src` (2 x 2 x N) as N x `[[x1, y1], [x2, y2]]`, the head box's corners. */
  readonly headBoxes: readonly (readonly [readonly number[], readonly number[]])[];
}

/** What {@link mpiiPckh} returns. */
export interface PckhResult {
  /** mmpose's `name_value`, names and order as {@link PCKH_NAMES}. */
  nameValue: [PckhName, number][];
  /** PCKh of each of the 16 joints (mmpose's `PCKh` array, before pelvis/thorax are masked). */
  perJoint: Float64Array;
  /** PCKh of each joint at {@link MPII_PCKH_LOW_THRESHOLD}, float32 (`pckAll[11]`). */
  perJointLow: Float32Array;
  /** Persons in which each joint is not missing (`jnt_count`). */
  jointCount: Float64Array;
}

/** Options of {@link mpiiPckh}. */
export interface PckhOptions {
  /**
   * The predictions' `bbox_id`s: when given, the predictions are sorted by them and repeated
   * ids dropped (the first kept), as `_sort_and_unique_bboxes`, before they meet the ground
   * truth in order. Without, the predictions are in the ground truth's order.
   */
  bboxIds?: ArrayLike<number>;
}

function invalid(message: string): SRPoseError {
  return new SRPoseError('INVALID_OPTION', message);
}

const J = 16;

/**
 * MPII PCKh of top-down predictions against `mpii_gt_val.mat`, as mmpose computes it.
 *
 * @param predictions N x 16 x `[x, y, ...]`: mmpose's keypoints (0-based pixels, float32; more
 *   than two values per joint are ignored, as `preds[..., :2]`).
 * @param gt The ground truth, N people.
 * @param options `bboxIds` to sort and deduplicate the predictions by.
 * @throws SRPoseError `INVALID_OPTION` when the shapes disagree, a name is missing from
 *   `jointNames`, or a `missing` flag is not 0 or 1.
 */
export function mpiiPckh(
  predictions: ArrayLike<ArrayLike<ArrayLike<number>>>,
  gt: MpiiGroundTruth,
  options: PckhOptions = {},
): PckhResult {
  let preds = Array.from(predictions);
  if (options.bboxIds !== undefined) {
    const ids = options.bboxIds;
    if (ids.length !== preds.length) {
      throw invalid(`bboxIds must hold one id per prediction (${preds.length}), got ${ids.length}`);
    }
    const order = preds.map((_, i) => i).sort((a, b) => ids[a] - ids[b] || a - b);
    preds = order.filter((i, q) => q === 0 || ids[order[q - 1]] !== ids[i]).map((i) => preds[i]);
  }
  const n = gt?.joints?.length;
  if (n === undefined || gt.missing?.length !== n || gt.headBoxes?.length !== n) {
    throw invalid('gt must hold joints, missing and headBoxes with one entry per person each');
  }
  if (preds.length !== n) {
    throw invalid(`${preds.length} predictions for ${n} ground-truth people`);
  }
  const names = gt.jointNames ?? MPII_GT_JOINT_NAMES;
  const at = (name: string) => {
    const i = names.indexOf(name);
    if (i < 0) throw invalid(`jointNames has no '${name}'`);
    return i;
  };
  const pair = (name: string) => [at(`l${name}`), at(`r${name}`)];
  const groups = [[at('head')], pair('sho'), pair('elb'), pair('wri'), pair('hip'), pair('kne')];
  groups.push(pair('ank'));

  const count = new Float64Array(J);
  const hits = new Float64Array(J);
  const hitsLow = new Float64Array(J);
  for (let p = 0; p < n; p++) {
    const pred = preds[p];
    const g = gt.joints[p];
    const miss = gt.missing[p];
    const box = gt.headBoxes[p];
    if (pred?.length !== J || g?.length !== J || miss?.length !== J || box?.length !== 2) {
      throw invalid(
        `person ${p}: 16 predicted joints, 16 gt joints, 16 missing flags and a ` +
          'head box [[x1, y1], [x2, y2]] are needed',
      );
    }
    const hx = box[1][0] - box[0][0];
    const hy = box[1][1] - box[0][1];
    const head = Math.sqrt(hx * hx + hy * hy) * MPII_PCKH_SC_BIAS;
    for (let j = 0; j < J; j++) {
      const m = miss[j];
      if (m !== 0 && m !== 1) throw invalid(`missing[${p}][${j}] must be 0 or 1, got ${m}`);
      const vis = 1 - m;
      // preds[..., :2] + 1.0 is float32; the difference with the float64 gt is float64
      const dx = f32(f32(pred[j][0]) + 1) - g[j][0];
      const dy = f32(f32(pred[j][1]) + 1) - g[j][1];
      const err = Math.sqrt(dx * dx + dy * dy) / head * vis;
      count[j] += vis;
      hits[j] += (err <= MPII_PCKH_THRESHOLD ? 1 : 0) * vis;
      hitsLow[j] += (err <= MPII_PCKH_LOW_THRESHOLD ? 1 : 0) * vis;
    }
  }
  const perJoint = new Float64Array(J);
  const perJointLow = new Float32Array(J);
  for (let j = 0; j < J; j++) {
    perJoint[j] = 100 * hits[j] / count[j];
    perJointLow[j] = f32(100 * hitsLow[j] / count[j]);
  }
  // pelvis and thorax (6, 7) are masked out of the means; so is any non-finite ratio
  const masked = (j: number) => j === 6 || j === 7;
  let total = 0;
  for (let j = 0; j < J; j++) if (!masked(j)) total += count[j];
  const ratio = (j: number) => count[j] / total;
  const out = (j: number) => !masked(j) && Number.isFinite(ratio(j));
  const mean = (v: ArrayLike<number>) =>
    total === 0 ? NaN : pairwiseSum((j) => (out(j) ? v[j] * ratio(j) : 0), J);
  const value = (js: number[]) => {
    const v = js.map((j) => (masked(j) ? NaN : perJoint[j]));
    return v.length === 1 ? v[0] : 0.5 * (v[0] + v[1]);
  };
  const nameValue: [PckhName, number][] = groups.map((js, i) => [PCKH_NAMES[i], value(js)]);
  nameValue.push(['PCKh', mean(perJoint)], ['PCKh@0.1', mean(perJointLow)]);
  return { nameValue, perJoint, perJointLow, jointCount: count };
}
