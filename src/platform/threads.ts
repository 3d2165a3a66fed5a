/**
 * Threads for the estimator pool, the same interface on every runtime that has them: Node's
 * `worker_threads`, and Web Workers (Deno, browsers). Cloudflare Workers and Deno Deploy have
 * none ({@link canStartThreads} is false there): their estimator runs in the isolate.
 * @module
 */
import { env, envVar, nodeBuiltin } from './env.ts';

/** One end of a thread's message channel. */
export interface Port {
  post(message: unknown, transfer?: Transferable[]): void;
  onMessage(fn: (message: any) => void): void;
}

/** A started thread, as its parent sees it. */
export interface Thread extends Port {
  /** Called once if the thread dies (an uncaught error, a crash or `process.exit` in it). */
  onExit(fn: (why: string) => void): void;
  /**
   * Node: whether the thread keeps the process alive. Idle pool threads do not, so a program
   * that forgets `dispose()` still exits.
   */
  keepAlive(on: boolean): void;
  terminate(): Promise<void>;
}

const g = globalThis as any;
/**
 * The runtime's own Web Worker, taken before onnxruntime-web starts: its Emscripten glue, seeing
 * `process` in Deno, replaces `globalThis.Worker` with Node's `worker_threads.Worker` (whose
 * messages never reach `onmessage`).
 */
const WebWorker: typeof Worker | undefined = g.Worker;

/**
 * Whether this runtime can start threads: Node, Deno outside Deno Deploy (which has no Web
 * Workers) and browsers; not Cloudflare Workers.
 */
export function canStartThreads(): boolean {
  if (env.isNode) return true;
  if (env.isDeno) {
    return envVar('DENO_DEPLOYMENT_ID') === undefined && typeof g.Worker === 'function';
  }
  return typeof g.Worker === 'function';
}

/**
 * Under Node a TypeScript entry (running from sources through tsx) needs tsx in the thread
 * too: Node does not pass the parent's loader hooks to worker threads.
 */
const TSX_BOOT = `
const { workerData } = require('node:worker_threads');
import(workerData.tsx).then((m) => { m.register(); return import(workerData.entry); });
`;

/**
 * A thread's death, told once to its listener, even when it died before the listener came:
 * Deno dispatches a worker's error from a promise continuation, which can run before the
 * caller of {@link startThread} has attached its handler.
 */
function exitOnce() {
  let listener: ((why: string) => void) | undefined;
  let reason: string | undefined;
  let told = false;
  const tell = () => {
    if (told || reason === undefined || !listener) return;
    told = true;
    listener(reason);
  };
  return {
    fire(why: string) {
      reason ??= why;
      tell();
    },
    listen(fn: (why: string) => void) {
      listener = fn;
      tell();
    },
    /** A terminated thread is not a death to report. */
    silence() {
      told = true;
    },
  };
}

/** Starts the module `url` as a thread named `name`. */
export async function startThread(url: URL, name: string): Promise<Thread> {
  if (env.isNode) {
    const wt = await nodeBuiltin<typeof import('node:worker_threads')>('worker_threads');
    const ts = url.pathname.endsWith('.ts');
    const worker = ts
      ? new wt.Worker(TSX_BOOT, {
        eval: true,
        name,
        workerData: { entry: url.href, tsx: import.meta.resolve('tsx/esm/api') },
      })
      : new wt.Worker(url, { name });
    const exit = exitOnce();
    worker.on('error', (e) => exit.fire(`uncaught ${(e as Error)?.name ?? 'error'} in the thread`));
    worker.on('exit', (code) => exit.fire(`the thread exited with code ${code}`));
    return {
      post: (m, transfer) => worker.postMessage(m, transfer as any),
      onMessage: (fn) => void worker.on('message', fn),
      onExit: exit.listen,
      keepAlive: (on) => (on ? worker.ref() : worker.unref()),
      terminate: async () => {
        exit.silence();
        await worker.terminate();
      },
    };
  }
  if (!WebWorker) throw new Error('this runtime has no Worker');
  const worker = new WebWorker(url, { type: 'module', name });
  const exit = exitOnce();
  worker.onerror = (e) => {
    e.preventDefault?.(); // reported through onExit, not as an uncaught error of the parent
    exit.fire(`the thread failed: ${e.message || 'it could not start (check its URL)'}`);
  };
  return {
    post: (m, transfer) => worker.postMessage(m, transfer ?? []),
    onMessage: (fn) => (worker.onmessage = (e) => fn(e.data)),
    onExit: exit.listen,
    keepAlive: () => {},
    terminate: () => {
      exit.silence();
      return Promise.resolve(worker.terminate());
    },
  };
}

/** The calling thread's channel to its parent (inside a thread started by {@link startThread}). */
export async function parentPort(): Promise<Port> {
  if (env.isNode) {
    const wt = await nodeBuiltin<typeof import('node:worker_threads')>('worker_threads');
    const port = wt.parentPort;
    if (!port) throw new Error('not a worker thread');
    return {
      post: (m, transfer) => port.postMessage(m, transfer as any),
      onMessage: (fn) => void port.on('message', fn),
    };
  }
  return {
    post: (m, transfer) => g.postMessage(m, transfer ?? []),
    onMessage: (fn) => g.addEventListener('message', (e: MessageEvent) => fn(e.data)),
  };
}
