/** Messages between {@link createWorkerEstimator} and its worker (structured-clone data only). */
import type { SRPoseErrorCode } from '../errors.ts';
import type {
  EstimateOptions,
  EstimateResult,
  EstimatorInfo,
  EstimatorOptions,
  ImageInput,
} from '../types.ts';

/** Estimator options that cross to a worker: everything but callbacks. */
export type WorkerEstimatorOptions = Omit<EstimatorOptions, 'onProgress'>;

export type Request =
  | { id: number; op: 'create'; options: WorkerEstimatorOptions }
  | { id: number; op: 'estimate'; image: ImageInput; options?: EstimateOptions }
  | { id: number; op: 'dispose' };

export type Reply =
  | { id: number; ok: true; value: EstimatorInfo | EstimateResult | null }
  | { id: number; ok: false; code: SRPoseErrorCode; message: string }
  | { id: -1; progress: { file: string; loaded: number; total: number } };
