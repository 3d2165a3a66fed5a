/**
 * Reuses large Float32Arrays between calls (the network's input batches): a fresh one costs
 * zeroing and page faults on every call, and garbage the collector then sweeps on a thread
 * that competes with inference for the cores. A buffer is handed out to one caller at a time;
 * at most `maxFree` buffers of at most `maxLength` floats are kept while free.
 * @module
 */
export class Float32Pool {
  readonly #free: Float32Array[] = [];
  readonly #maxFree: number;
  readonly #maxLength: number;

  constructor(maxFree = 2, maxLength = 16 * 3 * 256 * 192) {
    this.#maxFree = maxFree;
    this.#maxLength = maxLength;
  }

  /** A buffer of exactly `length` floats, not zeroed: the caller overwrites all of it. */
  acquire(length: number): Float32Array {
    const i = this.#free.findIndex((b) => b.length === length);
    if (i < 0) return new Float32Array(length);
    const [b] = this.#free.splice(i, 1);
    return b;
  }

  /** Hands a buffer back; kept for the next {@link acquire} when the pool has room for it. */
  release(buffer: Float32Array): void {
    // length 0: detached (transferred to a worker), nothing to reuse
    if (buffer.length === 0 || buffer.length > this.#maxLength || this.#free.includes(buffer)) {
      return;
    }
    // the newest first: a different size replaces the oldest
    this.#free.unshift(buffer);
    if (this.#free.length > this.#maxFree) this.#free.pop();
  }
}

/**
 * Frees `view`'s memory now rather than when the garbage collector next runs, by detaching its
 * buffer (`ArrayBuffer.prototype.transfer(0)`, ES2024; where absent, nothing happens). V8
 * collects large ArrayBuffers only once tens of MB of them wait, which an isolate with a
 * 128 MB budget cannot afford (docs/deploy.md). Only for a view that spans its whole buffer
 * (nothing else can share it) and that no one else holds; returns whether it was freed.
 */
export function discard(view: ArrayBufferView): boolean {
  const buffer = view.buffer as ArrayBuffer & { transfer?: (length: number) => ArrayBuffer };
  if (
    typeof buffer.transfer !== 'function' || view.byteOffset !== 0 ||
    view.byteLength !== buffer.byteLength || view.byteLength === 0
  ) return false;
  try {
    buffer.transfer(0);
    return true;
  } catch {
    return false; // not detachable (WebAssembly memory, an external buffer): left to the GC
  }
}
