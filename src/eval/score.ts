/**
 * The official metric of each dataset, over a results file: COCO's keypoint AP / AR
 * (xtcocotools' COCOeval, as mmpose 0.x and so the official SRPose evaluation; pycocotools' on
 * request), CrowdPose's (xtcocotools with the crowd index split), MPII's PCKh; and each
 * dataset's test settings (the official configs' `data_cfg`).
 * @module
 */
import {
  type CocoGroundTruth,
  type CocoKeypointResult,
  evaluateKeypoints,
} from '../core/eval/coco-eval.ts';
import { COCO_SIGMAS, CROWDPOSE_SIGMAS } from '../core/sigmas.ts';
import {
  COCO_TOPDOWN_EVAL,
  CROWDPOSE_TOPDOWN_EVAL,
  MPII_TOPDOWN_EVAL,
} from '../core/eval/oks-nms.ts';
import { type MpiiGroundTruth, mpiiPckh } from '../core/eval/pckh.ts';
import { SRPoseError } from '../errors.ts';
import type { EvalDataset } from './datasets.ts';
import type { MpiiResult, PostprocessSettings } from './run.ts';

/** The metrics `srpose eval` computes. */
export const METRICS = ['xtcocotools', 'pycocotools', 'crowdpose', 'pckh'] as const;
export type Metric = typeof METRICS[number];

/** What a dataset's official test does. */
export interface DatasetSettings {
  /** Its metric (the official evaluation's). */
  metric: Metric;
  /** The metrics that apply to it. */
  metrics: readonly Metric[];
  /** Detections scoring below this are not estimated (`det_bbox_thr`). */
  detScoreThreshold: number;
  postprocess: PostprocessSettings;
}

const post = (c: typeof COCO_TOPDOWN_EVAL, sigmas: readonly number[]): PostprocessSettings => ({
  oksThr: c.oksThr,
  visThr: c.visThr,
  softNms: c.softNms,
  sigmas,
});

/** Each dataset's official test settings (src/core/eval/oks-nms.ts says where each is from). */
export const DATASET_SETTINGS: Record<EvalDataset, DatasetSettings> = {
  coco: {
    metric: 'xtcocotools',
    metrics: ['xtcocotools', 'pycocotools'],
    detScoreThreshold: COCO_TOPDOWN_EVAL.detBboxThr,
    postprocess: post(COCO_TOPDOWN_EVAL, COCO_SIGMAS),
  },
  crowdpose: {
    metric: 'crowdpose',
    metrics: ['crowdpose'],
    detScoreThreshold: CROWDPOSE_TOPDOWN_EVAL.detBboxThr,
    postprocess: post(CROWDPOSE_TOPDOWN_EVAL, CROWDPOSE_SIGMAS),
  },
  mpii: {
    metric: 'pckh',
    metrics: ['pckh'],
    detScoreThreshold: MPII_TOPDOWN_EVAL.detBboxThr,
    postprocess: post(MPII_TOPDOWN_EVAL, COCO_SIGMAS),
  },
};

/** Named metric values, in the order the official evaluation prints them. */
export interface Scores {
  names: string[];
  stats: number[];
}

/**
 * Scores `results` (a results file's content) against the dataset's ground truth with
 * `metric`; `INVALID_OPTION` for a metric the dataset does not use or malformed inputs.
 */
export function scoreResults(
  dataset: EvalDataset,
  truth: unknown,
  results: unknown,
  metric: Metric = DATASET_SETTINGS[dataset].metric,
): Scores {
  const settings = DATASET_SETTINGS[dataset];
  if (!settings.metrics.includes(metric)) {
    throw new SRPoseError(
      'INVALID_OPTION',
      `${dataset} is scored with ${settings.metrics.join(' or ')}, not ${metric}`,
    );
  }
  if (!Array.isArray(results)) {
    throw new SRPoseError('INVALID_OPTION', 'a results file holds a JSON array of results');
  }
  if (metric === 'pckh') {
    return pckhOf(truth as MpiiGroundTruth, results as MpiiResult[]);
  }
  // mmpose scores CrowdPose with xtcocotools' `keypoints_crowd`: crowdposetools' metric, but
  // results whose keypoint scores are all <= 0 are dropped first (as xtcocotools drops them)
  const kept = metric === 'crowdpose'
    ? (results as CocoKeypointResult[]).filter((r) =>
      Array.isArray(r?.keypoints) && r.keypoints.some((v, i) => i % 3 === 2 && v > 0)
    )
    : (results as CocoKeypointResult[]);
  return evaluateKeypoints(truth as CocoGroundTruth, kept, {
    flavour: metric,
    sigmas: settings.postprocess.sigmas,
  });
}

/**
 * PCKh of MPII predictions against the ground truth (mpii_gt_val.mat as JSON), each prediction
 * at its place in the annotation file (`index`, the official `bbox_id`).
 */
function pckhOf(truth: MpiiGroundTruth, results: readonly MpiiResult[]): Scores {
  const joints = results.map((r) => {
    const k = r.keypoints;
    return Array.from({ length: k.length / 3 }, (_, j) => [k[3 * j], k[3 * j + 1]]);
  });
  const r = mpiiPckh(joints, truth, { bboxIds: results.map((p) => p.index) });
  return { names: r.nameValue.map(([n]) => n), stats: r.nameValue.map(([, v]) => v) };
}
