/**
 * The top-down crop in one pass: `cv2.warpAffine` (bilinear, black border, OpenCV's fixed-point
 * arithmetic as in warp.ts) and torchvision's `to_tensor` + `normalize` (the lookup table of
 * normalize.ts) written straight into the planar network input, optionally with its mirror
 * (the flip-test input) beside it: warp.ts's own loop with another sink, so the same values as
 * warpAffineBilinear + writeInputTensor, without the packed crop in between (about a fifth less
 * time, which counts next to a native run).
 * @module
 */
import { warpInto } from './warp.ts';

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
  warpInto(src, srcW, srcH, 3, m, w, h, undefined, { lut, out, offset, mirrorOffset });
}
