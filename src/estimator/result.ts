/**
 * What both estimator kinds (top-down, bottom-up) report the same way: the parts of
 * {@link EstimatorInfo} that come from the model and its session, and the frame of every
 * {@link EstimateResult}.
 * @module
 */
import type { ModelConfig } from '../model/config.ts';
import type { LoadedModel } from '../model/source.ts';
import type { PoseSession } from '../runtime/pose-session.ts';
import type { EstimateResult, EstimatorInfo, Person } from '../types.ts';

/** Where the weights came from, as the estimators receive it. */
export type ModelOrigin = Pick<
  LoadedModel,
  'location' | 'weights' | 'weightsReason' | 'fixedBatch'
>;

/** The info fields that do not depend on the model kind. */
export function commonInfo(
  config: ModelConfig,
  session: PoseSession,
  origin: ModelOrigin,
  load: EstimatorInfo['load'],
) {
  return {
    model: config.name,
    arch: config.arch,
    location: origin.location,
    weights: origin.weights,
    weightsReason: origin.weightsReason,
    graph: origin.fixedBatch === undefined ? 'exported' as const : 'prepared' as const,
    backend: session.backend,
    threads: session.threads,
    fallbackReason: session.fallbackReason,
    keypoints: config.keypoints,
    skeleton: config.skeleton,
    load,
  };
}

/** One estimate's result: its people and timings in the frame every result has. */
export function result(
  info: EstimatorInfo,
  session: PoseSession,
  image: { width: number; height: number },
  people: Person[],
  flipTest: boolean,
  timings: EstimateResult['timings'],
): EstimateResult {
  return {
    people,
    image: { width: image.width, height: image.height },
    backend: session.backend,
    threads: session.threads,
    ...(session.fallbackReason ? { fallbackReason: session.fallbackReason } : {}),
    flipTest,
    decode: info.decode,
    model: info.model,
    weights: info.weights,
    graph: info.graph,
    timings,
  };
}
