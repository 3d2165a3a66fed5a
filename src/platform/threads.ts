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
    let exitFn: ((why: string) => void) | undefined;
    let exited = false;
    const exit = (why: string) => {
      if (exited) return;
      exited = true;
      exitFn?.(why);
    };
    worker.on('error', (e) => exit(`uncaught ${(e as Error)?.name ?? 'error'} in the thread`));
    worker.on('exit', (code) => exit(`the thread exited with code ${code}`));
    return {
      post: (m, transfer) => worker.postMessage(m, transfer as any),
      onMessage: (fn) => void worker.on('message', fn),
      onExit: (fn) => (exitFn = fn),
      keepAlive: (on) => (on ? worker.ref() : worker.unref()),
      terminate: async () => {
        exited = true;
        await worker.terminate();
      },
    };
  }
  const worker: Worker = new g.Worker(url, { type: 'module', name });
  let exitFn: ((why: string) => void) | undefined;
  worker.onerror = (e) => {
    e.preventDefault?.(); // reported through onExit, not as an uncaught error of the parent
    exitFn?.(`the thread failed: ${e.message || 'it could not start (check its URL)'}`);
  };
  return {
    post: (m, transfer) => worker.postMessage(m, transfer ?? []),
    onMessage: (fn) => (worker.onmessage = (e) => fn(e.data)),
    onExit: (fn) => (exitFn = fn),
    keepAlive: () => {},
    terminate: () => Promise.resolve(worker.terminate()),
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
    onMessage: (fn) => (g.onmessage = (e: MessageEvent) => fn(e.data)),
  };
}
