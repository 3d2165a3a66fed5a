/**
 * The top-down crop in one pass: `cv2.warpAffine` (bilinear, black border, OpenCV's fixed-point
 * arithmetic as in warp.ts) and torchvision's `to_tensor` + `normalize` (the lookup table of
 * normalize.ts) written straight into the planar network input, optionally with its mirror
 * (the flip-test input) beside it. The same values as warpAffineBilinear + writeInputTensor,
 * without the packed crop in between: about a fifth less time, which counts next to a native
 * run.
 * @module
 */
import { borderPixel, rowOriginX, rowOriginY, warpGrid } from './warp.ts';

/**
 * Crops packed RGB `src` (`srcW` x `srcH`) through the forward matrix `m` (image -> crop) into
 * a normalised (3, `h`, `w`) tensor at `out[offset]`; with `mirrorOffset` >= 0 also its
 * mirror (columns reversed) at `out[mirrorOffset]`. `lut` from {@link normalizeTable}.
 */
export function cropToTensor(
  src: Uint8Array | Uint8ClampedArray,
  srcW: number,
  srcH: number,
  m: ArrayLike<number>,
  w: number,
  h: number,
  lut: Float32Array,
  out: Float32Array,
  offset: number,
  mirrorOffset = -1,
): void {
  const { inv, adelta, bdelta } = warpGrid(m, w);
  const rowStride = srcW * 3;
  const innerW = Math.min(srcW - 1, 32767);
  const innerH = Math.min(srcH - 1, 32767);
  const plane = w * h;
  const px = new Uint8Array(3); // a border pixel
  for (let y = 0; y < h; y++) {
    const X0 = rowOriginX(inv, y);
    const Y0 = rowOriginY(inv, y);
    const d = offset + y * w;
    const md = mirrorOffset + y * w + w - 1; // md - x: the mirrored column of x
    for (let x = 0; x < w; x++) {
      const X = (X0 + adelta[x]) >> 5;
      const Y = (Y0 + bdelta[x]) >> 5;
      const sx = X >> 5;
      const sy = Y >> 5;
      const fx = X & 31;
      const fy = Y & 31;
      const w11 = fx * fy;
      const w01 = (fx << 5) - w11;
      const w10 = (fy << 5) - w11;
      const w00 = 1024 - (fx << 5) - w10;
      let r, g, b;
      if ((sx >>> 0) < innerW && (sy >>> 0) < innerH) {
        const p = sy * rowStride + sx * 3;
        const q = p + rowStride;
        r = lut[(src[p] * w00 + src[p + 3] * w01 + src[q] * w10 + src[q + 3] * w11 + 512) >> 10];
        g = lut[256 + ((src[p + 1] * w00 + src[p + 4] * w01 + src[q + 1] * w10 + src[q + 4] * w11 + 512) >> 10)];
        b = lut[512 + ((src[p + 2] * w00 + src[p + 5] * w01 + src[q + 2] * w10 + src[q + 5] * w11 + 512) >> 10)];
      } else {
        borderPixel(src, srcW, srcH, 3, sx, sy, w00, w01, w10, w11, px, 0);
        r = lut[px[0]];
        g = lut[256 + px[1]];
        b = lut[512 + px[2]];
      }
      out[d + x] = r;
      out[d + x + plane] = g;
      out[d + x + 2 * plane] = b;
      if (mirrorOffset >= 0) {
        out[md - x] = r;
        out[md - x + plane] = g;
        out[md - x + 2 * plane] = b;
      }
    }
  }
}
