/**
 * An {@link Estimator} that runs in a web worker: the page stays responsive while images are
 * decoded and the model runs. Same API and results as `createEstimator`; errors arrive as
 * {@link SRPoseError}s with their codes.
 * @module
 */
import { SRPoseError } from '../errors.ts';
import type {
  EstimateOptions,
  EstimateResult,
  Estimator,
  EstimatorInfo,
  ImageInput,
} from '../types.ts';
import type { Reply, Request, WorkerEstimatorOptions } from './protocol.ts';

/** Options of {@link createWorkerEstimator}. */
export interface WorkerOptions extends WorkerEstimatorOptions {
  /**
   * The worker script; default `srpose-worker.mjs` beside this module (the browser bundle's
   * layout).
   */
  workerUrl?: string | URL;
  /** Download progress of the model files, relayed from the worker. */
  onProgress?: (p: { file: string; loaded: number; total: number }) => void;
}

type Pending = { resolve: (v: unknown) => void; reject: (e: unknown) => void };
type RequestBody = Request extends infer R ? R extends { id: number } ? Omit<R, 'id'> : never
  : never;

/**
 * Starts a module worker and creates the estimator inside it.
 *
 * ```ts
 * const estimator = await createWorkerEstimator({ model: 'owner/srpose-res50' });
 * const result = await estimator.estimate(await file.arrayBuffer());
 * ```
 */
export async function createWorkerEstimator(options: WorkerOptions): Promise<Estimator> {
  const { workerUrl, onProgress, ...rest } = options;
  const worker = new Worker(workerUrl ?? new URL('./srpose-worker.mjs', import.meta.url), {
    type: 'module',
    name: 'srpose',
  });
  const pending = new Map<number, Pending>();
  let next = 1;
  let broken: SRPoseError | undefined;
  const failAll = (e: SRPoseError) => {
    broken = e;
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  worker.onmessage = (e: MessageEvent<Reply>) => {
    const r = e.data;
    if ('progress' in r) return onProgress?.(r.progress);
    const p = pending.get(r.id);
    if (!p) return;
    pending.delete(r.id);
    if (r.ok) p.resolve(r.value);
    else p.reject(new SRPoseError(r.code, r.message));
  };
  worker.onerror = (e) =>
    failAll(
      new SRPoseError(
        'BACKEND_UNAVAILABLE',
        `the srpose worker failed: ${e.message || 'could not start it (check workerUrl)'}`,
      ),
    );
  const call = <T>(req: RequestBody, transfer: Transferable[] = []): Promise<T> => {
    if (broken) return Promise.reject(broken);
    const id = next++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ ...req, id } as Request, transfer);
    });
  };
  let info: EstimatorInfo;
  try {
    info = await call<EstimatorInfo>({ op: 'create', options: rest });
  } catch (e) {
    worker.terminate();
    throw e;
  }
  let disposed = false;
  return {
    info,
    estimate(image: ImageInput, opts?: EstimateOptions): Promise<EstimateResult> {
      if (disposed) {
        return Promise.reject(
          new SRPoseError('DISPOSED', 'this estimator was disposed; create a new one'),
        );
      }
      return call<EstimateResult>({ op: 'estimate', image, options: opts });
    },
    async dispose(): Promise<void> {
      if (disposed) return;
      disposed = true;
      try {
        await call<null>({ op: 'dispose' });
      } finally {
        worker.terminate();
      }
    },
  };
}
