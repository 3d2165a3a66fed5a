/**
 * The top-down crop in one pass: `cv2.warpAffine` (bilinear, black border, OpenCV's fixed-point
 * arithmetic as in warp.ts) and torchvision's `to_tensor` + `normalize` (the lookup table of
 * normalize.ts) written straight into the planar network input, optionally with its mirror
 * (the flip-test input) beside it: warp.ts's own loop with another sink, so the same values as
 * warpAffineBilinear + writeInputTensor, without the packed crop in between (one pass over the
 * pixels fewer, which counts next to a native run; `npm run bench -- kernels` times this loop
 * per crop). Where WebAssembly compiles, the same arithmetic runs on the SIMD kernel of
 * crop-wasm.ts instead (faster, identical floats: `npm run bench -- kernels`).
 * @module
 */
import { type CropArgs, wasmCropper } from './crop-wasm.ts';
import { warpInto } from './warp.ts';

/**
 * Crops packed RGB `src` (`srcW` x `srcH`) through the forward matrix `m` (image -> crop) into
 * a normalised (3, `h`, `w`) tensor at `out[offset]`; with `mirrorOffset` >= 0 also its
 * mirror (columns reversed) at `out[mirrorOffset]`. `lut` from {@link normalizeTable}.
 */
export function cropToTensor(...args: CropArgs): void {
  if (!wasmCropper()?.crop(...args)) cropToTensorJs(...args);
}

/**
 * {@link cropToTensor} on the JS loop alone (where the kernel is not, and its reference in tests).
 */
export function cropToTensorJs(
  ...[src, srcW, srcH, m, w, h, lut, out, offset, mirrorOffset = -1]: CropArgs
): void {
  warpInto(src, srcW, srcH, 3, m, w, h, undefined, { lut, out, offset, mirrorOffset });
}
