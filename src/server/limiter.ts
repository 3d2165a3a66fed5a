import { abortError, SRPoseError } from '../errors.ts';

interface Waiter {
  grant: () => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/** The abort reason as an error: ours as is (a deadline's `TIMEOUT`), else `ABORTED`. */
export function abortReason(signal: AbortSignal): SRPoseError {
  return abortError(signal.reason, 'the client closed the connection');
}

/**
 * Admission and a concurrency limit: at most `concurrency + maxQueue` requests are inside the
 * server at once, counted from before their body is read until their work ends (a body being
 * uploaded takes memory too), and at most `concurrency` of them run; the rest wait their turn
 * and anything beyond is refused at once (`BUSY`), so a burst costs a bounded amount of memory.
 */
export class Limiter {
  #inside = 0;
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

  /** Requests holding a slot. */
  get running(): number {
    return this.#running;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Requests admitted and neither running nor queued: receiving their body, or answered already
   * while their last work finishes. */
  get receiving(): number {
    return this.#inside - this.#running - this.#queue.length;
  }

  /**
   * Admits a request, or throws `BUSY` when `concurrency + maxQueue` are inside already.
   * Returns the function that lets it out (call it once its work has ended).
   */
  enter(): () => void {
    if (this.#inside >= this.concurrency + this.maxQueue) {
      throw new SRPoseError(
        'BUSY',
        `the server is busy (${this.#running} running, ${this.#queue.length} waiting, ` +
          `${this.receiving} receiving); retry shortly`,
      );
    }
    this.#inside++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#inside--;
    };
  }

  /**
   * Waits for a slot until `signal` aborts (the request's deadline or its client leaving);
   * resolves to the function that frees it (call it exactly once). An aborted wait rejects with
   * the signal's reason ({@link abortReason}).
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.#running < this.concurrency) {
      this.#running++;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener('abort', waiter.onAbort);
          resolve(this.#releaser());
        },
        signal,
        onAbort: () => {
          const i = this.#queue.indexOf(waiter);
          if (i >= 0) this.#queue.splice(i, 1);
          reject(abortReason(signal!));
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  #releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.#queue.shift();
      if (next) next.grant(); // the slot passes straight to the next waiter
      else this.#running--;
    };
  }
}

/**
 * Resolves like `work`, or rejects with the abort reason as soon as `signal` aborts. The work
 * itself goes on to its next check of the signal; its late failure is not an unhandled
 * rejection.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.catch(() => undefined);
  if (signal.aborted) return Promise.reject(abortReason(signal));
  let onAbort: () => void = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/** A signal that aborts with `TIMEOUT` after `ms` (cleared by `clear`). */
export function deadlineSignal(ms: number, what: string): { signal: AbortSignal; clear(): void } {
  const ctl = new AbortController();
  const timer = setTimeout(
    () =>
      ctl.abort(
        new SRPoseError(
          'TIMEOUT',
          `${what} did not finish within the ${Math.round(ms)} ms deadline`,
        ),
      ),
    Math.max(0, ms),
  );
  return { signal: ctl.signal, clear: () => clearTimeout(timer) };
}
