import { createEstimator } from '../estimator/estimator.ts';
import { SRPoseError } from '../errors.ts';
import type { Estimator, EstimatorOptions } from '../types.ts';

/** Where the app's model is: not asked for yet, loading, ready, or the last load failed. */
export type ModelState = 'idle' | 'loading' | 'ready' | 'failed';

/**
 * One model per isolate: every request shares one load (a promise), the first request or the
 * warm-up starts it, and a failed load is forgotten so the next request tries again (a Hub
 * outage at cold start must not poison the isolate for its whole life).
 */
export class ModelHolder {
  #pending: Promise<Estimator> | undefined;
  #state: ModelState = 'idle';
  #lastError: string | undefined;

  constructor(
    private readonly options: EstimatorOptions | undefined,
    private readonly create: (o: EstimatorOptions) => Promise<Estimator> = createEstimator,
  ) {}

  get state(): ModelState {
    return this.#state;
  }

  get lastError(): string | undefined {
    return this.#lastError;
  }

  get(): Promise<Estimator> {
    if (!this.options?.model) {
      return Promise.reject(
        new SRPoseError(
          'MODEL_NOT_FOUND',
          'no model configured: set SRPOSE_MODEL (a Hub id, a directory or a URL)',
        ),
      );
    }
    if (!this.#pending) {
      this.#state = 'loading';
      const p = this.create(this.options);
      this.#pending = p;
      p.then(
        () => {
          this.#state = 'ready';
          this.#lastError = undefined;
        },
        (e) => {
          if (this.#pending === p) this.#pending = undefined;
          this.#state = 'failed';
          this.#lastError = e instanceof SRPoseError ? `${e.code}: ${e.message}` : 'internal error';
        },
      );
    }
    return this.#pending;
  }

  /** Disposes the loaded model (after a load in flight ends). */
  async dispose(): Promise<void> {
    const p = this.#pending;
    this.#pending = undefined;
    this.#state = 'idle';
    if (p) await (await p.catch(() => undefined))?.dispose();
  }
}
