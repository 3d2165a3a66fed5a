/**
 * An {@link Estimator} whose work runs on a small pool of threads, each owning its own
 * estimator (its own onnxruntime session and a copy of the weights), so the calling thread
 * only posts images and receives results: an HTTP server stays responsive while the model
 * runs, a page stays interactive. Same API and results as `createEstimator`.
 * @module
 */
import { abortError, SRPoseError } from '../errors.ts';
import { availableCores } from '../platform/env.ts';
import { checkEstimateOptions, checkEstimatorOptions } from '../estimator/options.ts';
import { asyncDispose } from '../estimator/dispose.ts';
import { DEFAULT_MAX_PIXELS } from '../defaults.ts';
import { toThreadImage } from '../image/input.ts';
import { type Port, startThread, type Thread } from '../platform/threads.ts';
import type {
  EstimateOptions,
  EstimateResult,
  Estimator,
  EstimatorInfo,
  ImageInput,
} from '../types.ts';
import type { Reply, Request, WireError, WorkerEstimatorOptions } from './protocol.ts';

/** Options of {@link createPooledEstimator}. */
export interface PoolOptions extends WorkerEstimatorOptions {
  /** Threads, each with its own estimator (memory: one model each). Default 1. */
  workers?: number;
  /**
   * The thread's script: default `worker.ts` beside this module when running from sources,
   * `srpose-worker.mjs` beside the bundle otherwise (the layout of every srpose build).
   */
  workerUrl?: string | URL;
  /** Download progress of the model files (first thread only: the others find them cached). */
  onProgress?: (p: { file: string; loaded: number; total: number }) => void;
}

type Body = Request extends infer R ? R extends { id: number } ? Omit<R, 'id'> : never : never;

/** The script a pool thread runs, from where this module was loaded. */
export function defaultWorkerUrl(): URL {
  return import.meta.url.endsWith('.ts')
    ? new URL('./worker.ts', import.meta.url)
    : new URL('./srpose-worker.mjs', import.meta.url);
}

/**
 * How long a thread may take to load its module (not the model: that has no limit here). A
 * module that cannot load must fail the pool, never hang it.
 */
const THREAD_START_MS = 30_000;

/** Waits for a thread's first message, or fails after {@link THREAD_START_MS}. */
async function loaded(m: Member): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new SRPoseError(
            'BACKEND_UNAVAILABLE',
            `an estimator thread did not start within ${THREAD_START_MS / 1000} s`,
          ),
        ),
      THREAD_START_MS,
    );
  });
  try {
    await Promise.race([m.ready, m.died, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** One thread and its estimator; handles one estimate at a time. */
class Member {
  readonly #pending = new Map<
    number,
    { resolve: (v: any) => void; reject: (e: unknown) => void }
  >();
  #next = 1;
  #dead: SRPoseError | undefined;
  #ready: () => void = () => {};
  #died: (e: SRPoseError) => void = () => {};
  /** Rejects when the thread dies. */
  readonly died: Promise<never>;
  /** Resolves once the thread's module has loaded (its first message). */
  readonly ready: Promise<void>;
  busy = false;

  constructor(
    readonly thread: Thread,
    onProgress: PoolOptions['onProgress'],
    onDeath: (m: Member) => void,
  ) {
    this.ready = new Promise((resolve) => (this.#ready = resolve));
    this.died = new Promise<never>((_, reject) => (this.#died = reject));
    this.died.catch(() => undefined);
    thread.onMessage((r: Reply) => {
      if ('progress' in r) return onProgress?.(r.progress);
      if ('ready' in r) return this.#ready();
      const p = this.#pending.get(r.id);
      if (!p) return;
      this.#pending.delete(r.id);
      // A thread keeps the process alive only while a call waits on it.
      if (this.#pending.size === 0) thread.keepAlive(false);
      if (r.ok) p.resolve(r.value);
      else p.reject(new SRPoseError(r.code, r.message));
    });
    thread.onExit((why) => {
      this.#dead = new SRPoseError('INFERENCE_FAILED', `an estimator thread stopped (${why})`);
      this.#died(this.#dead);
      for (const p of this.#pending.values()) p.reject(this.#dead);
      this.#pending.clear();
      onDeath(this);
    });
  }

  get alive(): boolean {
    return this.#dead === undefined;
  }

  /**
   * Posts a request, moving `transfer`; resolves with its reply. `sent` gets the id (to cancel
   * it).
   */
  call<T>(body: Body, sent?: (id: number) => void, transfer?: ArrayBuffer[]): Promise<T> {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#next++;
    sent?.(id);
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.thread.keepAlive(true);
      this.thread.post({ ...body, id } as Request, transfer);
    });
  }

  cancel(id: number, reason: unknown): void {
    const e = abortError(reason);
    const wire: WireError = { code: e.code, message: e.message };
    if (this.alive) (this.thread as Port).post({ id, op: 'cancel', reason: wire });
  }
}

interface Job {
  /** The image as it crosses: browser images already read into pixels (see toThreadImage). */
  image: ImageInput;
  transfer: ArrayBuffer[];
  options: EstimateOptions | undefined;
  resolve: (r: EstimateResult) => void;
  reject: (e: unknown) => void;
  /** Detaches the abort listener. */
  done: () => void;
}

/**
 * Starts `workers` threads and creates the estimator in each: the first alone (it downloads
 * and caches the model), the others together once it is there. The threads share the cores:
 * unless `threads` is given, each runs `cores / workers` of them (at least one).
 *
 * ```ts
 * const estimator = await createPooledEstimator({ model: 'owner/srpose-res50', workers: 2 });
 * const result = await estimator.estimate(jpegBytes, { boxes });
 * ```
 */
export async function createPooledEstimator(options: PoolOptions): Promise<Estimator> {
  const { workers: w, workerUrl, onProgress, ...rest } = options;
  checkEstimatorOptions({ ...rest, model: rest.model ?? '' });
  const workers = w ?? 1;
  if (!Number.isInteger(workers) || workers < 1) {
    throw new SRPoseError('INVALID_OPTION', `workers must be a positive integer, got ${w}`);
  }
  const url = workerUrl === undefined ? defaultWorkerUrl() : new URL(workerUrl);
  const estimatorOptions: WorkerEstimatorOptions = {
    ...rest,
    threads: rest.threads ?? Math.max(1, Math.floor((await availableCores()) / workers)),
  };
  const members: Member[] = [];
  const queue: Job[] = [];
  let disposed = false;
  let info: EstimatorInfo | undefined;

  const spawn = async (progress?: PoolOptions['onProgress']): Promise<Member> => {
    let thread: Thread;
    try {
      thread = await startThread(url, 'srpose');
    } catch (e) {
      throw new SRPoseError(
        'BACKEND_UNAVAILABLE',
        `cannot start an estimator thread from ${url.href}`,
        { cause: e },
      );
    }
    const m = new Member(thread, progress, onDeath);
    try {
      await loaded(m);
      info = await m.call<EstimatorInfo>({ op: 'create', options: estimatorOptions });
    } catch (e) {
      await thread.terminate();
      throw e;
    }
    return m;
  };

  // A thread that dies (a crash in native code, out of memory) failed its one job; a new one
  // takes its place, so the pool keeps its size.
  const onDeath = (m: Member) => {
    const i = members.indexOf(m);
    // A thread that died while starting is its spawn's failure, not a member to replace.
    if (i < 0 || disposed) return;
    members.splice(i, 1);
    spawn().then(
      (fresh) => {
        if (disposed) return void fresh.thread.terminate();
        members.push(fresh);
        pump();
      },
      (e) => {
        if (members.length === 0) { for (const job of queue.splice(0)) job.reject(e); }
      },
    );
  };

  const pump = () => {
    for (const m of members) {
      if (queue.length === 0) return;
      if (m.busy || !m.alive) continue;
      const job = queue.shift()!;
      run(m, job);
    }
  };

  const run = (m: Member, job: Job) => {
    m.busy = true;
    const signal = job.options?.signal;
    const { signal: _, ...wireOptions } = job.options ?? {};
    let id = 0;
    const onAbort = () => {
      m.cancel(id, signal!.reason);
      job.reject(abortError(signal!.reason));
    };
    m.call<EstimateResult>(
      { op: 'estimate', image: job.image, options: wireOptions },
      (sent) => (id = sent),
      job.transfer,
    ).then(job.resolve, job.reject).finally(() => {
      signal?.removeEventListener('abort', onAbort);
      m.busy = false;
      pump();
    });
    job.done();
    signal?.addEventListener('abort', onAbort, { once: true });
  };

  try {
    members.push(await spawn(onProgress));
    members.push(...await Promise.all(Array.from({ length: workers - 1 }, () => spawn())));
  } catch (e) {
    disposed = true;
    await Promise.all(members.map((m) => m.thread.terminate()));
    throw e;
  }

  const maxPixels = estimatorOptions.maxPixels ?? DEFAULT_MAX_PIXELS;
  const dispose = async (): Promise<void> => {
    if (disposed) return;
    disposed = true;
    const gone = new SRPoseError('DISPOSED', 'this estimator was disposed; create a new one');
    for (const job of queue.splice(0)) job.reject(gone);
    await Promise.all(
      members.splice(0).map(async (m) => {
        try {
          m.thread.keepAlive(true);
          await m.call<null>({ op: 'dispose' });
        } catch {
          // a dead thread has nothing left to free
        } finally {
          await m.thread.terminate();
        }
      }),
    );
  };

  return {
    info: info!,
    estimate(image: ImageInput, opts?: EstimateOptions): Promise<EstimateResult> {
      if (disposed) {
        return Promise.reject(
          new SRPoseError('DISPOSED', 'this estimator was disposed; create a new one'),
        );
      }
      try {
        checkEstimateOptions(opts); // here: a bad option must not fail as a clone error
      } catch (e) {
        return Promise.reject(e);
      }
      const signal = opts?.signal;
      // Work whose caller has given up never starts.
      if (signal?.aborted) return Promise.reject(abortError(signal.reason));
      let crossing: ReturnType<typeof toThreadImage>;
      try {
        // A canvas, <img>, <video>... is read here: the thread could neither receive nor draw it.
        crossing = toThreadImage(image, maxPixels);
      } catch (e) {
        return Promise.reject(e);
      }
      return new Promise<EstimateResult>((resolve, reject) => {
        const job: Job = { ...crossing, options: opts, resolve, reject, done: () => {} };
        if (signal) {
          const drop = () => {
            const i = queue.indexOf(job);
            if (i >= 0) queue.splice(i, 1);
            reject(abortError(signal.reason));
          };
          signal.addEventListener('abort', drop, { once: true });
          job.done = () => signal.removeEventListener('abort', drop);
        }
        queue.push(job);
        pump();
      });
    },
    dispose,
    [asyncDispose]: dispose,
  };
}
