/**
 * What this JavaScript runtime can do, detected once (transformers.js style) so the rest of
 * the code reads flags instead of sniffing globals.
 */
export interface RuntimeEnv {
  /** Node.js (also true for Bun); Deno sets `isDeno` instead. */
  readonly isNode: boolean;
  readonly isDeno: boolean;
  /** A page or a web worker. */
  readonly isBrowser: boolean;
  /** A local file system reachable through `node:fs` (Node, Deno, Lambda). */
  readonly hasFileSystem: boolean;
  /** `navigator.gpu` exists (an adapter may still be missing). */
  readonly hasWebGPU: boolean;
  /** SharedArrayBuffer usable: always in Node/Deno, in browsers only when cross-origin isolated. */
  readonly crossOriginIsolated: boolean;
}

const g = globalThis as any;
const isDeno = typeof g.Deno?.version?.deno === 'string';
const isNode = !isDeno && typeof g.process?.versions?.node === 'string';
const isBrowser = !isNode && !isDeno && (typeof g.window === 'object' || typeof g.importScripts === 'function');

/** The capabilities of the current runtime. */
export const env: RuntimeEnv = Object.freeze({
  isNode,
  isDeno,
  isBrowser,
  hasFileSystem: isNode || isDeno,
  hasWebGPU: typeof g.navigator?.gpu?.requestAdapter === 'function',
  crossOriginIsolated: isNode || isDeno ? true : g.crossOriginIsolated === true,
});

/**
 * Imports a Node built-in (`node:fs/promises`, ...). The specifier is built at run time so
 * browser and worker bundlers leave it alone; call it only where `env.hasFileSystem`.
 */
export function nodeBuiltin<T = any>(name: string): Promise<T> {
  return import(/* @vite-ignore */ 'node:' + name);
}

/** Number of logical cores this process may use. */
export async function availableCores(): Promise<number> {
  if (env.hasFileSystem) {
    const os = await nodeBuiltin<typeof import('node:os')>('os');
    return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  }
  return Math.max(1, Number(g.navigator?.hardwareConcurrency) || 1);
}
