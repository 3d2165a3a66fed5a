/**
 * A thread of an estimator pool: one estimator, created, used and disposed by messages, so
 * decoding and inference never block the thread that started it (a page, an HTTP server).
 * @module
 */
import { createEstimator } from '../estimator/estimator.ts';
import { SRPoseError } from '../errors.ts';
import { parentPort } from '../platform/threads.ts';
import type { Estimator } from '../types.ts';
import type { Reply, Request } from './protocol.ts';

const port = await parentPort();
let estimator: Estimator | undefined;
/** Estimates received and not yet answered, so a cancel can reach one still in the queue. */
const running = new Map<number, AbortController>();

async function handle(req: Exclude<Request, { op: 'cancel' }>): Promise<Reply> {
  try {
    switch (req.op) {
      case 'create':
        if (estimator) {
          throw new SRPoseError('INVALID_OPTION', 'this worker already holds an estimator');
        }
        estimator = await createEstimator({
          ...req.options,
          onProgress: (progress) => port.post({ id: -1, progress } satisfies Reply),
        });
        return { id: req.id, ok: true, value: estimator.info };
      case 'estimate': {
        if (!estimator) throw new SRPoseError('DISPOSED', 'no estimator in this worker');
        const signal = running.get(req.id)?.signal;
        return {
          id: req.id,
          ok: true,
          value: await estimator.estimate(req.image, { ...req.options, signal }),
        };
      }
      case 'dispose':
        await estimator?.dispose();
        estimator = undefined;
        return { id: req.id, ok: true, value: null };
    }
  } catch (e) {
    const err = e instanceof SRPoseError
      ? e
      : new SRPoseError('INFERENCE_FAILED', 'inference failed in the worker', { cause: e });
    return { id: req.id, ok: false, code: err.code, message: err.message };
  } finally {
    running.delete(req.id);
  }
}

// Requests are handled one at a time, in order (the estimator runs one batch at a time anyway);
// a cancel acts at once.
let chain = Promise.resolve();
port.onMessage((req: Request) => {
  if (req.op === 'cancel') {
    running.get(req.id)?.abort(new SRPoseError(req.reason.code, req.reason.message));
    return;
  }
  if (req.op === 'estimate') running.set(req.id, new AbortController());
  chain = chain.then(async () => port.post(await handle(req)));
});
port.post({ id: 0, ready: true } satisfies Reply);
