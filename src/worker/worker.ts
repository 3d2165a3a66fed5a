/**
 * The worker side of {@link createWorkerEstimator}: one estimator per worker, created, used
 * and disposed by messages, so decoding and inference never block the page.
 * @module
 */
import { createEstimator } from '../estimator/estimator.ts';
import { SRPoseError } from '../errors.ts';
import type { Estimator } from '../types.ts';
import type { Reply, Request } from './protocol.ts';

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<Request>) => void) | null;
  postMessage(m: Reply): void;
};
let estimator: Estimator | undefined;

async function handle(req: Request): Promise<Reply> {
  try {
    switch (req.op) {
      case 'create':
        if (estimator) {
          throw new SRPoseError('INVALID_OPTION', 'this worker already holds an estimator');
        }
        estimator = await createEstimator({
          ...req.options,
          onProgress: (progress) => scope.postMessage({ id: -1, progress }),
        });
        return { id: req.id, ok: true, value: estimator.info };
      case 'estimate':
        if (!estimator) throw new SRPoseError('DISPOSED', 'no estimator in this worker');
        return { id: req.id, ok: true, value: await estimator.estimate(req.image, req.options) };
      case 'dispose':
        await estimator?.dispose();
        estimator = undefined;
        return { id: req.id, ok: true, value: null };
    }
  } catch (e) {
    const err = e instanceof SRPoseError
      ? e
      : new SRPoseError('INFERENCE_FAILED', (e as Error)?.message ?? String(e));
    return { id: req.id, ok: false, code: err.code, message: err.message };
  }
}

// Requests are handled one at a time, in order: the estimator runs one batch at a time anyway.
let chain = Promise.resolve();
scope.onmessage = (e) => {
  chain = chain.then(async () => scope.postMessage(await handle(e.data)));
};
