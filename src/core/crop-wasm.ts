/**
 * The top-down crop on a WebAssembly SIMD kernel (kernels/crop.c): warp.ts's planar warp step
 * by step in integer arithmetic, so the same floats, faster than the JS loop in Node and in
 * Deno (`npm run bench -- kernels` measures both); next to a native run the saving is a small
 * but measurable share of estimate() (the `crop` stage of `npm run bench -- backends`). The
 * module is small enough to compile synchronously at first use (wasm-kernel.ts); where it
 * cannot be (Cloudflare Workers) {@link wasmCropper} is undefined and crop.ts uses the JS loop.
 * @module
 */
import { WASM_BASE64 } from './kernels/crop.wasm.ts';
import { align16 as align, ensureMemory, type KernelExports, lazyKernel } from './wasm-kernel.ts';
import { rowOriginX, rowOriginY, warpGrid } from './warp.ts';

interface CropExports extends KernelExports {
  crop(
    lut: number,
    adelta: number,
    bdelta: number,
    x0: number,
    y0: number,
    dstW: number,
    dstH: number,
    src: number,
    srcW: number,
    srcH: number,
    ox: number,
    oy: number,
    stride: number,
    out: number,
    mirror: number,
  ): void;
}

/**
 * The crop's arguments (crop.ts `cropToTensor`): packed RGB `src` of `srcW` x `srcH`, the
 * forward matrix `m` (image -> crop), the crop's `w` x `h`, the normalise table `lut`, the
 * batch `out` with the crop's offset and its mirror's (< 0 or absent: none).
 */
export type CropArgs = [
  src: Uint8Array | Uint8ClampedArray,
  srcW: number,
  srcH: number,
  m: ArrayLike<number>,
  w: number,
  h: number,
  lut: Float32Array,
  out: Float32Array,
  offset: number,
  mirrorOffset?: number,
];

/**
 * Largest source rectangle and output copied into the kernel's memory, which never shrinks:
 * larger crops (whole 12 MP photos, bottom-up inputs of big images) take the JS loop, where the
 * copy would cost what the kernel saves anyway. A 256x192 crop needs 1.2 MB of output and its
 * box's rectangle: a person of 1000x2000 pixels is 6 MB.
 */
const MAX_BYTES = 16 << 20;
/** Beyond this the warp saturates to OpenCV's 16-bit coordinates: the JS loop handles that. */
const MAX_COORD = 32000;

/** The compiled kernel with its memory; one per realm (JS is single-threaded: no reentrancy). */
export class WasmCropper {
  readonly #k: CropExports;
  readonly #base: number;

  constructor(exports: CropExports) {
    this.#k = exports;
    this.#base = align(Number(exports.__heap_base.value));
  }

  /**
   * As crop.ts `cropToTensorJs` (same arguments, same output); false, with nothing written,
   * when the crop is one the kernel leaves to the JS loop (saturating coordinates, over 16 MiB
   * of source rectangle and output, memory that cannot grow).
   */
  crop(...[src, srcW, srcH, m, w, h, lut, out, offset, mirrorOffset = -1]: CropArgs): boolean {
    const { inv, adelta, bdelta } = warpGrid(m, w);
    // The taps' bounding rectangle: the warp is monotone in x and in y, so the corners bound it.
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const y of [0, h - 1]) {
      for (const x of [0, w - 1]) {
        const sx = (rowOriginX(inv, y) + adelta[x]) >> 10;
        const sy = (rowOriginY(inv, y) + bdelta[x]) >> 10;
        x0 = Math.min(x0, sx);
        x1 = Math.max(x1, sx + 1);
        y0 = Math.min(y0, sy);
        y1 = Math.max(y1, sy + 1);
      }
    }
    if (!(Math.max(-x0, x1, -y0, y1) < MAX_COORD)) return false;
    const ox = Math.max(0, x0), oy = Math.max(0, y0);
    const rw = Math.max(0, Math.min(srcW - 1, x1) - ox + 1),
      rh = Math.max(0, Math.min(srcH - 1, y1) - oy + 1);
    const stride = rw * 3;
    const plane = w * h;
    const mirror = mirrorOffset >= 0;
    if (stride * rh + 4 * plane * (mirror ? 6 : 3) > MAX_BYTES) return false;
    // layout: lut | adelta | bdelta | row x0 | row y0 | out (3 or 6 planes) | source rectangle
    const lutP = this.#base;
    const adP = align(lutP + 768 * 4);
    const bdP = align(adP + 4 * w);
    const x0P = align(bdP + 4 * w);
    const y0P = align(x0P + 4 * h);
    const outP = align(y0P + 4 * h);
    const srcP = align(outP + 4 * plane * (mirror ? 6 : 3));
    const end = srcP + stride * rh + 16; // the kernel reads 8 bytes from a tap pair's first
    const mem = this.#k.memory;
    if (!ensureMemory(mem, end)) return false; // the JS loop needs no memory of its own
    const buf = mem.buffer;
    new Float32Array(buf, lutP, 768).set(lut);
    new Int32Array(buf, adP, w).set(adelta);
    new Int32Array(buf, bdP, w).set(bdelta);
    const rx = new Int32Array(buf, x0P, h);
    const ry = new Int32Array(buf, y0P, h);
    for (let y = 0; y < h; y++) {
      rx[y] = rowOriginX(inv, y);
      ry[y] = rowOriginY(inv, y);
    }
    const bytes = new Uint8Array(buf);
    if (rw === srcW) bytes.set(src.subarray(oy * stride, (oy + rh) * stride), srcP);
    else {for (let y = 0; y < rh; y++) {
        bytes.set(
          src.subarray(((oy + y) * srcW + ox) * 3, ((oy + y) * srcW + ox) * 3 + stride),
          srcP + y * stride,
        );
      }}
    this.#k.crop(
      lutP,
      adP,
      bdP,
      x0P,
      y0P,
      w,
      h,
      srcP,
      srcW,
      srcH,
      ox,
      oy,
      stride,
      outP,
      mirror ? 1 : 0,
    );
    out.set(new Float32Array(buf, outP, 3 * plane), offset);
    if (mirror) out.set(new Float32Array(buf, outP + 12 * plane, 3 * plane), mirrorOffset);
    return true;
  }
}

/**
 * The realm's crop kernel, compiled on first call; undefined where it cannot be (wasm-kernel.ts).
 */
export const wasmCropper = lazyKernel<CropExports, WasmCropper>(
  WASM_BASE64,
  (k) => new WasmCropper(k),
);
