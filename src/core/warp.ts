/**
 * `cv2.warpAffine(src, M, (dstW, dstH), flags=INTER_LINEAR)` with a constant 0 border,
 * reproducing OpenCV 4.6's fixed-point path exactly.
 *
 * OpenCV inverts `M` in float64, then maps each output pixel to source coordinates on a
 * 1/32 grid (`AB_BITS = 10`, `INTER_BITS = 5`): per row `X0 = round((M[1] y + M[2]) * 1024) + 16`,
 * per column `round(M[0] x * 1024)`, `X = (X0 + that) >> 5` (round half to even), integer
 * part `X >> 5` and fraction `X & 31`. The four taps are weighted by 15-bit coefficients
 * (`INTER_REMAP_COEF_BITS = 15`) and rounded with `(sum + 2^14) >> 15`; a tap outside the
 * image counts as 0, and so does a pixel whose 2x2 neighbourhood is wholly outside.
 * @module
 */
import { SRPoseError } from '../errors.ts';
import { invertAffine } from './affine.ts';

const INT_MIN = -2147483648;

/**
 * `saturate_cast<int>(double)` on x86 (`cvRound` via cvtsd2si): nearest, ties to even, out of range
 * -> INT_MIN.
 */
function cvRound(v: number): number {
  let r = Math.round(v);
  if (r - v === 0.5 && r % 2 !== 0) r -= 1;
  return r >= -2147483648 && r <= 2147483647 ? r : INT_MIN;
}

/** `saturate_cast<short>`. */
const toShort = (v: number) => (v < -32768 ? -32768 : v > 32767 ? 32767 : v);

/** The inverse of the forward matrix `m` and OpenCV's per-column offsets on its 1/1024 grid. */
export function warpGrid(
  m: ArrayLike<number>,
  dstW: number,
): { inv: Float64Array; adelta: Int32Array; bdelta: Int32Array } {
  const inv = invertAffine(m);
  const adelta = new Int32Array(dstW);
  const bdelta = new Int32Array(dstW);
  for (let x = 0; x < dstW; x++) {
    adelta[x] = cvRound(inv[0] * x * 1024);
    bdelta[x] = cvRound(inv[3] * x * 1024);
  }
  return { inv, adelta, bdelta };
}

/** Output row `y`'s source x origin on the 1/1024 grid, with the 1/64 rounding term. */
export const rowOriginX = (inv: Float64Array, y: number) =>
  (cvRound((inv[1] * y + inv[2]) * 1024) + 16) | 0;
/** Output row `y`'s source y origin on the 1/1024 grid, with the 1/64 rounding term. */
export const rowOriginY = (inv: Float64Array, y: number) =>
  (cvRound((inv[4] * y + inv[5]) * 1024) + 16) | 0;

/**
 * Warps packed 8-bit pixels (`channels` 3 or 4, row-major) through the forward affine
 * matrix `m` (image -> crop, row-major 2x3) into a `dstW` x `dstH` crop, bilinear, black
 * outside the image. Writes into `dst` when given (length `dstW * dstH * channels`).
 */
export function warpAffineBilinear(
  src: Uint8Array | Uint8ClampedArray,
  srcW: number,
  srcH: number,
  channels: number,
  m: ArrayLike<number>,
  dstW: number,
  dstH: number,
  dst?: Uint8Array,
): Uint8Array {
  const bad = (why: string) => new SRPoseError('INVALID_PIXELS', `warpAffineBilinear: ${why}`);
  if (channels !== 3 && channels !== 4) throw bad(`channels must be 3 or 4, got ${channels}`);
  if (!(srcW > 0 && srcH > 0 && dstW > 0 && dstH > 0)) {
    throw bad(`sizes must be > 0, got ${srcW}x${srcH} -> ${dstW}x${dstH}`);
  }
  if (src.length !== srcW * srcH * channels) {
    throw bad(
      `src has ${src.length} bytes, ${srcW}x${srcH}x${channels} is ${srcW * srcH * channels}`,
    );
  }
  const out = dst ?? new Uint8Array(dstW * dstH * channels);
  if (out.length < dstW * dstH * channels) {
    throw bad(`dst has ${out.length} bytes, needs ${dstW * dstH * channels}`);
  }
  warpInto(src, srcW, srcH, channels, m, dstW, dstH, out, undefined);
  return out;
}

/**
 * Normalised planar output: `lut` (3 x 256) values at `out[offset]`, the mirror at `mirrorOffset`
 * (< 0: none).
 */
export interface PlanarSink {
  lut: Float32Array;
  out: Float32Array;
  offset: number;
  mirrorOffset: number;
}

/**
 * The warp itself, into packed bytes (`packed`) or, for 3 channels, straight into normalised
 * planes (`planar`, see crop.ts): one loop, so both give the same pixels by construction.
 */
export function warpInto(
  src: Uint8Array | Uint8ClampedArray,
  srcW: number,
  srcH: number,
  channels: number,
  m: ArrayLike<number>,
  dstW: number,
  dstH: number,
  packed: Uint8Array | undefined,
  planar: PlanarSink | undefined,
): void {
  const { inv, adelta, bdelta } = warpGrid(m, dstW);
  const rowStride = srcW * channels;
  // Fast path: all four taps inside (coordinates past 32767 go the slow, saturating way).
  const innerW = Math.min(srcW - 1, 32767);
  const innerH = Math.min(srcH - 1, 32767);
  const px = new Uint8Array(channels); // one pixel, when not 3 channels inside the image
  const plane = dstW * dstH;
  const { lut, out, offset, mirrorOffset } = planar ??
    { lut: new Float32Array(0), out: new Float32Array(0), offset: 0, mirrorOffset: -1 };
  let o = 0;
  for (let y = 0; y < dstH; y++) {
    const X0 = rowOriginX(inv, y);
    const Y0 = rowOriginY(inv, y);
    const d = offset + y * dstW;
    const md = mirrorOffset + y * dstW + dstW - 1; // md - x: the mirrored column of x
    for (let x = 0; x < dstW; x++, o += channels) {
      const X = (X0 + adelta[x]) >> 5;
      const Y = (Y0 + bdelta[x]) >> 5;
      const sx = X >> 5;
      const sy = Y >> 5;
      const fx = X & 31;
      const fy = Y & 31;
      // Weights in units of 32: OpenCV's 15-bit table / 32, with the same rounding.
      const w11 = fx * fy;
      const w01 = (fx << 5) - w11;
      const w10 = (fy << 5) - w11;
      const w00 = 1024 - (fx << 5) - w10;
      const inside = (sx >>> 0) < innerW && (sy >>> 0) < innerH;
      let r = 0, g = 0, b = 0;
      if (channels === 3 && inside) {
        const p = sy * rowStride + sx * 3;
        const q = p + rowStride;
        r = (src[p] * w00 + src[p + 3] * w01 + src[q] * w10 + src[q + 3] * w11 + 512) >> 10;
        g = (src[p + 1] * w00 + src[p + 4] * w01 + src[q + 1] * w10 + src[q + 4] * w11 + 512) >> 10;
        b = (src[p + 2] * w00 + src[p + 5] * w01 + src[q + 2] * w10 + src[q + 5] * w11 + 512) >> 10;
      } else {
        if (inside) {
          const p = sy * rowStride + sx * channels;
          const q = p + rowStride;
          for (let c = 0; c < channels; c++) {
            px[c] = (src[p + c] * w00 + src[p + channels + c] * w01 + src[q + c] * w10 +
              src[q + channels + c] * w11 + 512) >> 10;
          }
        } else borderPixel(src, srcW, srcH, channels, sx, sy, w00, w01, w10, w11, px, 0);
        if (channels !== 3) {
          packed!.set(px, o);
          continue;
        }
        r = px[0];
        g = px[1];
        b = px[2];
      }
      if (packed) {
        packed[o] = r;
        packed[o + 1] = g;
        packed[o + 2] = b;
        continue;
      }
      const vr = lut[r];
      const vg = lut[256 + g];
      const vb = lut[512 + b];
      out[d + x] = vr;
      out[d + x + plane] = vg;
      out[d + x + 2 * plane] = vb;
      if (mirrorOffset >= 0) {
        out[md - x] = vr;
        out[md - x + plane] = vg;
        out[md - x + 2 * plane] = vb;
      }
    }
  }
}

/**
 * One output pixel whose taps are not all inside (OpenCV's saturating slow path): taps outside
 * the image count as 0, a pixel wholly outside is 0. `sx`, `sy` the top-left tap, `w..` the
 * weights in units of 1/1024; writes `channels` values at `out[o]`.
 */
export function borderPixel(
  src: Uint8Array | Uint8ClampedArray,
  srcW: number,
  srcH: number,
  channels: number,
  sx: number,
  sy: number,
  w00: number,
  w01: number,
  w10: number,
  w11: number,
  out: Uint8Array,
  o: number,
): void {
  const tx = toShort(sx);
  const ty = toShort(sy);
  if (tx >= srcW || tx + 1 < 0 || ty >= srcH || ty + 1 < 0) {
    for (let c = 0; c < channels; c++) out[o + c] = 0;
    return;
  }
  const in0x = tx >= 0;
  const in1x = tx + 1 < srcW;
  const in0y = ty >= 0;
  const in1y = ty + 1 < srcH;
  const p = ty * srcW * channels + tx * channels;
  const q = p + srcW * channels;
  for (let c = 0; c < channels; c++) {
    const v00 = in0x && in0y ? src[p + c] : 0;
    const v01 = in1x && in0y ? src[p + channels + c] : 0;
    const v10 = in0x && in1y ? src[q + c] : 0;
    const v11 = in1x && in1y ? src[q + channels + c] : 0;
    out[o + c] = (v00 * w00 + v01 * w01 + v10 * w10 + v11 * w11 + 512) >> 10;
  }
}
