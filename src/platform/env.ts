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
  /**
   * Node-API addons can be loaded (onnxruntime-node): Node, and Deno when it may use FFI
   * (`--allow-ffi` / `-A`; never on Deno Deploy).
   */
  readonly hasNativeAddons: boolean;
}

const g = globalThis as any;
const isDeno = typeof g.Deno?.version?.deno === 'string';
const isNode = !isDeno && typeof g.process?.versions?.node === 'string';
const isBrowser = !isNode && !isDeno &&
  (typeof g.window === 'object' || typeof g.importScripts === 'function');

/** Deno permission `desc` is granted already (queried without prompting). */
function denoGranted(desc: { name: string; variable?: string }): boolean {
  try {
    return g.Deno.permissions.querySync(desc).state === 'granted';
  } catch {
    return false;
  }
}

/** The capabilities of the current runtime. */
export const env: RuntimeEnv = Object.freeze({
  isNode,
  isDeno,
  isBrowser,
  hasFileSystem: isNode || isDeno,
  hasWebGPU: typeof g.navigator?.gpu?.requestAdapter === 'function',
  crossOriginIsolated: isNode || isDeno ? true : g.crossOriginIsolated === true,
  hasNativeAddons: isNode || (isDeno && denoGranted({ name: 'ffi' })),
});

/**
 * Imports a Node built-in (`node:fs/promises`, ...). The specifier is built at run time so
 * browser and worker bundlers leave it alone; call it only where `env.hasFileSystem`.
 */
export function nodeBuiltin<T = any>(name: string): Promise<T> {
  return import(/* @vite-ignore */ 'node:' + name);
}

/**
 * Imports a package whose name is only known at run time (an optional dependency such as
 * onnxruntime-node): bundlers cannot see the specifier, so no bundle includes or references
 * the package. Call it only where the runtime resolves packages (Node, Deno).
 */
export function importOptional<T = any>(specifier: string): Promise<T> {
  return import(/* @vite-ignore */ specifier);
}

/**
 * An environment variable, or undefined when unset or empty: `process.env` in Node; in Deno
 * only when reading it is already allowed (never prompts); undefined elsewhere. The one reader
 * of the process environment, with {@link processEnv}.
 */
export function envVar(name: string): string | undefined {
  const v = isDeno
    ? (denoGranted({ name: 'env', variable: name }) ? g.Deno.env.get(name) : undefined)
    : isNode
    ? g.process.env[name]
    : undefined;
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * The whole process environment where it may be read (Node; Deno with `--allow-env`), else
 * `{}` (Deno without the permission: never prompts; browsers and Workers, whose settings come
 * from elsewhere).
 */
export function processEnv(): Record<string, string> {
  if (isDeno) return denoGranted({ name: 'env' }) ? g.Deno.env.toObject() : {};
  return isNode ? { ...g.process.env } : {};
}

/** The words of a yes/no setting (environment variables, query parameters), any case. */
export const YES_WORDS = ['1', 'true', 'yes', 'on'] as const;
export const NO_WORDS = ['0', 'false', 'no', 'off'] as const;

/**
 * A yes/no word as a boolean: undefined when absent or empty, null when it is neither a
 * {@link YES_WORDS} nor a {@link NO_WORDS} word (the caller names the setting in its error).
 */
export function parseYesNo(v: string | undefined): boolean | undefined | null {
  const s = v?.trim().toLowerCase();
  if (!s) return undefined;
  if ((YES_WORDS as readonly string[]).includes(s)) return true;
  return (NO_WORDS as readonly string[]).includes(s) ? false : null;
}

/** Number of logical cores this process may use. */
export async function availableCores(): Promise<number> {
  if (env.hasFileSystem) {
    const os = await nodeBuiltin<typeof import('node:os')>('os');
    return typeof os.availableParallelism === 'function'
      ? os.availableParallelism()
      : os.cpus().length;
  }
  return Math.max(1, Number(g.navigator?.hardwareConcurrency) || 1);
}
