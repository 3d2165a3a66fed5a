/**
 * Messages between an estimator pool ({@link createPooledEstimator}, and the browser's
 * `createWorkerEstimator`) and its threads: structured-clone data only.
 * @module
 */
import type { SRPoseErrorCode } from '../errors.ts';
import type {
  EstimateOptions,
  EstimateResult,
  EstimatorInfo,
  EstimatorOptions,
  ImageInput,
} from '../types.ts';

/** Estimator options that cross to a thread: everything but callbacks. */
export type WorkerEstimatorOptions = Omit<EstimatorOptions, 'onProgress'>;

/** Per-call options that cross to a thread: the signal stays behind (see `cancel`). */
export type WorkerEstimateOptions = Omit<EstimateOptions, 'signal'>;

/** An error as it crosses threads. */
export interface WireError {
  code: SRPoseErrorCode;
  message: string;
}

export type Request =
  | { id: number; op: 'create'; options: WorkerEstimatorOptions }
  | { id: number; op: 'estimate'; image: ImageInput; options?: WorkerEstimateOptions }
  /** Aborts estimate `id` (queued or running: it stops at its next batch); no reply. */
  | { id: number; op: 'cancel'; reason: WireError }
  | { id: number; op: 'dispose' };

export type Reply =
  /** Sent once, first: the thread's module has loaded and listens. */
  | { id: 0; ready: true }
  | { id: number; ok: true; value: EstimatorInfo | EstimateResult | null }
  | ({ id: number; ok: false } & WireError)
  | { id: -1; progress: { file: string; loaded: number; total: number } };
