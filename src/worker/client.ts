/**
 * An {@link Estimator} that runs in a web worker: the page stays responsive while images are
 * decoded and the model runs. Same API and results as `createEstimator`; errors arrive as
 * {@link SRPoseError}s with their codes.
 * @module
 */
import type { Estimator } from '../types.ts';
import { createPooledEstimator, type PoolOptions } from './pool.ts';

/** Options of {@link createWorkerEstimator}. */
export interface WorkerOptions extends Omit<PoolOptions, 'workers'> {
  /**
   * The worker script; default `srpose-worker.mjs` beside this module (the browser bundle's
   * layout).
   */
  workerUrl?: string | URL;
}

/**
 * Starts a module worker and creates the estimator inside it (a pool of one thread).
 *
 * ```ts
 * const estimator = await createWorkerEstimator({ model: 'owner/srpose-res50' });
 * const result = await estimator.estimate(await file.arrayBuffer());
 * ```
 */
export function createWorkerEstimator(options: WorkerOptions): Promise<Estimator> {
  return createPooledEstimator({ ...options, workers: 1 });
}
