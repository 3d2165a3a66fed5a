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
