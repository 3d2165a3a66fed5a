/**
 * `cv2.resize(img, (dstW, dstH), interpolation=cv2.INTER_LINEAR)` on uint8 pixels, reproducing
 * OpenCV 4.6's fixed-point path (`resizeGeneric_` with `HResizeLinear` / `VResizeLinear`) bit
 * for bit.
 *
 * Per axis OpenCV takes `scale = 1 / (dst / src)` in float64 and maps output column `dx` to
 * `fx = float32((dx + 0.5) * scale - 0.5)`, `sx = floor(fx)`, fraction `fx - sx` (float32). A
 * column left of the image (`sx < 0`) reads column 0, one at or past the last column reads
 * the last (fraction 0 in both cases); rows are clamped the same way, but keep their fraction
 * (both taps read the edge row). The weights are 11-bit (`INTER_RESIZE_COEF_BITS`):
 * `round(float32(1 - f) * 2048)` and `round(f * 2048)`, ties to even. The horizontal pass
 * keeps `h = s0 * a0 + s1 * a1` as int; the vertical pass is the SIMD formula
 * `(((b0 * (h0 >> 4)) >> 16) + ((b1 * (h1 >> 4)) >> 16) + 2) >> 2` for every pixel: 4.6
 * specialises `VResizeLinear` for 8U so that its scalar tail uses that formula too (not the
 * `FixedPtCast` rounding `(h0 * b0 + h1 * b1 + 2^21) >> 22`, which differs by 1 on some pixels).
 * The same size is a copy. An exact 2x downscale goes OpenCV's INTER_AREA fast path,
 * `(a + b + c + d + 2) >> 2`, which the formula above gives exactly (weights 1024 / 1024).
 * @module
 */
import { SRPoseError } from '../errors.ts';

/** OpenCV's `INTER_RESIZE_COEF_SCALE`: 1 << INTER_RESIZE_COEF_BITS (11). */
const COEF_SCALE = 2048;

/** `saturate_cast<short>(float)` of a value in [0, 2048]: `cvRound`, nearest, ties to even. */
function roundEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * One axis of the map: for each output index the source index of both taps (`i0`, `i1`,
 * clamped into the image) and their 11-bit weights (`w0`, `w1`).
 */
export interface ResizeAxis {
  i0: Int32Array;
  i1: Int32Array;
  w0: Int32Array;
  w1: Int32Array;
}

/**
 * OpenCV's coordinate tables for one axis of `src` -> `dst` samples: `fx`, `sx` and the
 * 11-bit weights as `hal::resize` builds them (`xofs` / `ialpha`, `yofs` / `ibeta`).
 * `clampFraction`: the column rule (a tap outside takes fraction 0); rows keep theirs.
 */
export function resizeAxis(src: number, dst: number, clampFraction: boolean): ResizeAxis {
  const scale = 1 / (dst / src); // 1. / inv_scale, inv_scale = (double)dst / src
  const i0 = new Int32Array(dst);
  const i1 = new Int32Array(dst);
  const w0 = new Int32Array(dst);
  const w1 = new Int32Array(dst);
  const f = Math.fround;
  for (let d = 0; d < dst; d++) {
    let fx = f((d + 0.5) * scale - 0.5);
    let sx = Math.floor(fx);
    fx = f(fx - sx);
    if (clampFraction && sx < 0) fx = 0, sx = 0;
    if (clampFraction && sx >= src - 1) fx = 0, sx = src - 1;
    i0[d] = sx < 0 ? 0 : sx >= src ? src - 1 : sx;
    i1[d] = sx + 1 < 0 ? 0 : sx + 1 >= src ? src - 1 : sx + 1;
    w0[d] = roundEven(f(1 - fx) * COEF_SCALE);
    w1[d] = roundEven(fx * COEF_SCALE);
  }
  return { i0, i1, w0, w1 };
}

/**
 * Resizes packed 8-bit pixels (`channels` 3 or 4, row-major) to `dstW` x `dstH` as
 * `cv2.resize(..., interpolation=cv2.INTER_LINEAR)` does. Writes into `out` when given
 * (length at least `dstW * dstH * channels`).
 */
export function resizeLinear(
  src: Uint8Array | Uint8ClampedArray,
  srcW: number,
  srcH: number,
  channels: number,
  dstW: number,
  dstH: number,
  out?: Uint8Array,
): Uint8Array {
  checkSource('resizeLinear', src, srcW, srcH, channels);
  if (!(isSize(dstW) && isSize(dstH))) {
    throw new SRPoseError(
      'INVALID_OPTION',
      `resizeLinear: the output size must be positive integers, got ${dstW}x${dstH}`,
    );
  }
  const need = dstW * dstH * channels;
  const dst = out ?? new Uint8Array(need);
  if (dst.length < need) {
    throw new SRPoseError(
      'INVALID_OPTION',
      `resizeLinear: out has ${dst.length} bytes, ${dstW}x${dstH}x${channels} needs ${need}`,
    );
  }
  resizeInto(src, srcW, srcH, channels, channels, dstW, dstH, dst);
  return dst;
}

const isSize = (v: number) => Number.isInteger(v) && v > 0;

/** Throws `INVALID_PIXELS` unless `src` holds `srcW * srcH * channels` bytes (3 or 4). */
export function checkSource(
  what: string,
  src: ArrayLike<number>,
  srcW: number,
  srcH: number,
  channels: number,
): void {
  const bad = (why: string) => new SRPoseError('INVALID_PIXELS', `${what}: ${why}`);
  if (channels !== 3 && channels !== 4) throw bad(`channels must be 3 or 4, got ${channels}`);
  if (!(isSize(srcW) && isSize(srcH))) {
    throw bad(`the image size must be positive integers, got ${srcW}x${srcH}`);
  }
  if (src.length !== srcW * srcH * channels) {
    throw bad(
      `the pixels are ${src.length} bytes, ${srcW}x${srcH}x${channels} is ${
        srcW * srcH * channels
      }`,
    );
  }
}

/**
 * The resize itself, unchecked: reads the first `cn` of the `inCh` channels of each source
 * pixel and writes `cn` channels per output pixel into `dst` (`cn` 3 or 4). The values do not
 * depend on `inCh`, so RGBA input gives exactly the RGB resize of its colour.
 */
export function resizeInto(
  src: Uint8Array | Uint8ClampedArray,
  srcW: number,
  srcH: number,
  inCh: number,
  cn: number,
  dstW: number,
  dstH: number,
  dst: Uint8Array,
): void {
  if (dstW === srcW && dstH === srcH) { // cv::resize: same size is src.copyTo(dst)
    if (inCh === cn) dst.set(src.subarray(0, srcW * srcH * cn));
    else {
      for (let i = 0, o = 0; o < srcW * srcH * cn; i += inCh, o += cn) {
        for (let k = 0; k < cn; k++) dst[o + k] = src[i + k];
      }
    }
    return;
  }
  const xs = resizeAxis(srcW, dstW, true);
  const ys = resizeAxis(srcH, dstH, false);
  // Source byte offsets of both taps per column (within a row).
  const x0 = new Int32Array(dstW);
  const x1 = new Int32Array(dstW);
  for (let d = 0; d < dstW; d++) {
    x0[d] = xs.i0[d] * inCh;
    x1[d] = xs.i1[d] * inCh;
  }
  const { w0: a0, w1: a1 } = xs;
  const width = dstW * cn;
  // Two horizontally resized rows, each kept as h >> 4 (all the vertical pass reads of it).
  const bufs = [new Int32Array(width), new Int32Array(width)];
  const rows = [-1, -1];
  const rowStride = srcW * inCh;
  const hrow = (sy: number, buf: Int32Array) => {
    const r = sy * rowStride;
    if (cn === 3) {
      for (let d = 0, o = 0; d < dstW; d++, o += 3) {
        const p = r + x0[d], q = r + x1[d], w0 = a0[d], w1 = a1[d];
        buf[o] = (src[p] * w0 + src[q] * w1) >> 4;
        buf[o + 1] = (src[p + 1] * w0 + src[q + 1] * w1) >> 4;
        buf[o + 2] = (src[p + 2] * w0 + src[q + 2] * w1) >> 4;
      }
    } else {
      for (let d = 0, o = 0; d < dstW; d++, o += cn) {
        const p = r + x0[d], q = r + x1[d], w0 = a0[d], w1 = a1[d];
        for (let k = 0; k < cn; k++) buf[o + k] = (src[p + k] * w0 + src[q + k] * w1) >> 4;
      }
    }
  };
  /** The buffer holding source row `sy`, computed unless `keep`'s slot already has it. */
  const row = (sy: number, keep: number): number => {
    if (rows[0] === sy) return 0;
    if (rows[1] === sy) return 1;
    const slot = keep === 0 ? 1 : 0;
    hrow(sy, bufs[slot]);
    rows[slot] = sy;
    return slot;
  };
  for (let dy = 0, o = 0; dy < dstH; dy++) {
    const s0 = row(ys.i0[dy], -1);
    const h0 = bufs[s0];
    const h1 = bufs[row(ys.i1[dy], s0)];
    const b0 = ys.w0[dy], b1 = ys.w1[dy];
    for (let x = 0; x < width; x++, o++) {
      dst[o] = (((b0 * h0[x]) >> 16) + ((b1 * h1[x]) >> 16) + 2) >> 2;
    }
  }
}
