/**
 * Instantiates one of the WebAssembly kernels of kernels/ (bytes committed as base64 by
 * scripts/build-kernels.sh), synchronously: each is under the 4 KB that browsers compile on a
 * main thread. Undefined where WebAssembly or its SIMD is missing, or where the embedder forbids
 * compiling code from bytes (Cloudflare Workers, a page whose CSP lacks `wasm-unsafe-eval`): the
 * callers then run their JavaScript loops, which give the same results.
 * @module
 */

/** What every kernel exports besides its functions. */
export interface KernelExports {
  memory: WebAssembly.Memory;
  /** The first byte above the module's own data and stack: where callers lay out theirs. */
  __heap_base: WebAssembly.Global;
}

/** The kernel's exports, or undefined where it cannot be compiled here. */
export function instantiateKernel<T extends KernelExports>(base64: string): T | undefined {
  try {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    return new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as unknown as T;
  } catch {
    return undefined;
  }
}

/** 16-byte alignment of a byte offset. */
export const align16 = (p: number): number => (p + 15) & ~15;

/** Grows `memory` to hold `end` bytes; false when it cannot (the caller falls back to JS). */
export function ensureMemory(memory: WebAssembly.Memory, end: number): boolean {
  if (end <= memory.buffer.byteLength) return true;
  try {
    memory.grow(Math.ceil((end - memory.buffer.byteLength) / 65536));
    return true;
  } catch {
    return false;
  }
}

/**
 * A getter of the realm's one `wrap`ped kernel, compiled at its first call (never, where no
 * caller needs it); undefined from then on where it cannot be compiled.
 */
export function lazyKernel<E extends KernelExports, T>(
  base64: string,
  wrap: (exports: E) => T,
): () => T | undefined {
  let kernel: T | null | undefined;
  return () => {
    if (kernel === undefined) {
      const exports = instantiateKernel<E>(base64);
      kernel = exports ? wrap(exports) : null;
    }
    return kernel ?? undefined;
  };
}
