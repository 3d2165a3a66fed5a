/**
 * The flip test's merge on a WebAssembly SIMD kernel (kernels/flip.c): the mirrored crop's
 * heatmaps reversed four floats at a time, averaged in float32 as PyTorch does. The same floats
 * as flip.ts `mergeFlippedJs` (tests/core/flip-wasm.test.ts), faster even with the copies in and
 * out of the kernel's memory (`npm run bench -- kernels`). One box at a time, so the memory it
 * keeps is one box's plain and mirrored maps (6.7 MB for 17 x 256 x 192).
 * @module
 */
import { WASM_BASE64 } from './kernels/flip.wasm.ts';
import { align16, ensureMemory, type KernelExports, lazyKernel } from './wasm-kernel.ts';

interface FlipExports extends KernelExports {
  merge(
    plain: number,
    flipped: number,
    k: number,
    h: number,
    w: number,
    flipIndex: number,
    shift: number,
  ): void;
}

/** Largest plain + flipped maps of one box the kernel takes (its memory never shrinks). */
const MAX_BYTES = 16 << 20;

/** The compiled kernel with its memory; one per realm. */
export class WasmFlipMerger {
  readonly #k: FlipExports;
  readonly #base: number;

  constructor(exports: FlipExports) {
    this.#k = exports;
    this.#base = align16(Number(exports.__heap_base.value));
  }

  /**
   * As flip.ts `mergeFlippedJs` (same arguments, same result in `plain`); false, with nothing
   * written, when one box's maps exceed 16 MiB or memory cannot grow.
   */
  merge(
    plain: Float32Array,
    flipped: Float32Array,
    n: number,
    k: number,
    h: number,
    w: number,
    flipIndex: Int32Array,
    shift: boolean,
  ): boolean {
    const per = k * h * w;
    if (8 * per > MAX_BYTES || w < 1) return false;
    const idxP = this.#base;
    const plainP = align16(idxP + 4 * k);
    const flippedP = align16(plainP + 4 * per);
    if (!ensureMemory(this.#k.memory, flippedP + 4 * per)) return false;
    const buf = this.#k.memory.buffer;
    new Int32Array(buf, idxP, k).set(flipIndex);
    const p = new Float32Array(buf, plainP, per);
    const f = new Float32Array(buf, flippedP, per);
    for (let i = 0; i < n; i++) {
      p.set(plain.subarray(i * per, (i + 1) * per));
      f.set(flipped.subarray(i * per, (i + 1) * per));
      this.#k.merge(plainP, flippedP, k, h, w, idxP, shift ? 1 : 0);
      plain.set(p, i * per);
    }
    return true;
  }
}

/**
 * The realm's flip-merge kernel, compiled on first call; undefined where it cannot be
 * (wasm-kernel.ts).
 */
export const wasmFlipMerger = lazyKernel<FlipExports, WasmFlipMerger>(
  WASM_BASE64,
  (k) => new WasmFlipMerger(k),
);
