/**
 * srpose: SRPose human pose estimation (ACM MM 2023) with onnxruntime-web, for Deno, Node,
 * browsers and workers.
 *
 * ```ts
 * import { createEstimator } from 'srpose';
 * const estimator = await createEstimator({ model: './srpose-res50' });
 * const result = await estimator.estimate(await Deno.readFile('photo.jpg'), {
 *   boxes: [[x, y, w, h]],
 * });
 * ```
 * @module
 */
export { createEstimator, estimate } from './estimator/estimator.ts';
export {
  createDetector,
  type Detector,
  type DetectorOptions,
  type DetectResult,
} from './estimator/detector.ts';
export { createPooledEstimator, type PoolOptions } from './worker/pool.ts';
export {
  createPoseTracker,
  type PoseTracker,
  type TrackedPerson,
  type TrackerOptions,
  type TrackResult,
} from './estimator/tracker.ts';
export { DEFAULT_ONE_EURO, KeypointSmoother, type OneEuroOptions } from './core/one-euro.ts';
export { toCocoResults } from './estimator/coco.ts';
export { isSRPoseError, SRPoseError, type SRPoseErrorCode } from './errors.ts';
export {
  type DetectorConfig,
  type ModelConfig,
  parseDetectorConfig,
  parseModelConfig,
} from './model/config.ts';
export { DEFAULT_MAX_BOXES, DEFAULT_MAX_PIXELS, KEYPOINT_SCORE_THRESHOLD } from './defaults.ts';
export type * from './types.ts';
