import { SRPoseError } from '../errors.ts';

interface Waiter {
  grant: () => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * A concurrency limit with a bounded queue: at most `concurrency` jobs hold a slot, at most
 * `maxQueue` wait, and the rest are refused at once (`BUSY`), so a burst costs a bounded
 * amount of memory instead of piling up decoded images.
 */
export class Limiter {
  #running = 0;
  readonly #queue: Waiter[] = [];

  constructor(readonly concurrency: number, readonly maxQueue: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new SRPoseError(
        'INVALID_OPTION',
        `concurrency must be a positive integer, got ${concurrency}`,
      );
    }
    if (!Number.isInteger(maxQueue) || maxQueue < 0) {
      throw new SRPoseError('INVALID_OPTION', `maxQueue must be an integer >= 0, got ${maxQueue}`);
    }
  }

  get running(): number {
    return this.#running;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Waits for a slot for at most `waitMs`; resolves to the function that frees it (call it
   * exactly once). Rejects with `BUSY` when the queue is full and `TIMEOUT` when the wait runs
   * past `waitMs` (the request's remaining deadline).
   */
  acquire(waitMs: number): Promise<() => void> {
    if (this.#running < this.concurrency) {
      this.#running++;
      return Promise.resolve(this.#releaser());
    }
    if (this.#queue.length >= this.maxQueue) {
      return Promise.reject(
        new SRPoseError(
          'BUSY',
          `the server is busy (${this.#running} running, ` +
            `${this.#queue.length} waiting); retry shortly`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => resolve(this.#releaser()),
        timer: setTimeout(() => {
          const i = this.#queue.indexOf(waiter);
          if (i >= 0) this.#queue.splice(i, 1);
          reject(
            new SRPoseError('TIMEOUT', 'the request waited past its deadline for a free slot'),
          );
        }, Math.max(0, waitMs)),
      };
      this.#queue.push(waiter);
    });
  }

  #releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.#queue.shift();
      if (next) {
        clearTimeout(next.timer);
        next.grant(); // the slot passes straight to the next waiter
      } else {
        this.#running--;
      }
    };
  }
}

/**
 * Resolves like `work`, or rejects with `TIMEOUT` once `ms` have passed. The work itself
 * cannot be cancelled (onnxruntime runs to the end); it finishes in the background and keeps
 * its slot until then, so a slow request cannot let more work in than the limit allows.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new SRPoseError(
            'TIMEOUT',
            `${what} did not finish within the ${Math.round(ms)} ms deadline`,
          ),
        ),
      Math.max(0, ms),
    );
  });
  work.catch(() => undefined); // a late failure is not an unhandled rejection
  const end = performance.now() + ms;
  // Synchronous WASM can hold the event loop past the timer: a result that lands late is late too.
  const onTime = work.then((v) => {
    if (performance.now() > end) {
      throw new SRPoseError('TIMEOUT', `${what} finished after the ${Math.round(ms)} ms deadline`);
    }
    return v;
  });
  return Promise.race([onTime, late]).finally(() => clearTimeout(timer));
}
