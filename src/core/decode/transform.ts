import type { CropFrame } from './types.ts';

/**
 * mmpose `transform_preds` (standard, not UDP): heatmap pixel (x, y) of a (W, H) heatmap
 * -> image pixel, for the crop described by `frame`. Writes into `out[at]`, `out[at + 1]`.
 */
export function heatmapToImage(
  x: number,
  y: number,
  frame: CropFrame,
  w: number,
  h: number,
  pixelStd: number,
  out: Float64Array,
  at: number,
): void {
  // float32 at every step, as mmpose does it on float32 arrays: keeps parity exact.
  const f = Math.fround;
  const sw = f(frame.scale[0] * pixelStd);
  const sh = f(frame.scale[1] * pixelStd);
  out[at] = f(f(f(f(x) * f(sw / w)) + frame.center[0]) - f(sw * 0.5));
  out[at + 1] = f(f(f(f(y) * f(sh / h)) + frame.center[1]) - f(sh * 0.5));
}

/**
 * The quarter-pixel step of mmpose's 'default' post-process and of SRPose's decode:
 * move 0.25 px toward the higher neighbour on each axis, only strictly inside the border
 * (`1 < px < W - 1`, `1 < py < H - 1`, as the official code tests it).
 * `map` is one (H, W) heatmap starting at `base`. Returns the offsets in `out[0..1]`.
 */
export function quarterOffset(
  map: Float32Array,
  base: number,
  w: number,
  h: number,
  px: number,
  py: number,
  out: Float64Array,
): void {
  out[0] = 0;
  out[1] = 0;
  if (1 < px && px < w - 1 && 1 < py && py < h - 1) {
    const row = base + py * w;
    out[0] = Math.sign(map[row + px + 1] - map[row + px - 1]) * 0.25;
    out[1] = Math.sign(map[row + w + px] - map[row - w + px]) * 0.25;
  }
}

/**
 * mmpose `_get_max_preds` on one (H, W) map: first maximum in row-major order.
 * Returns the flat index, or -1 when the maximum is not > 0 (mmpose then reports
 * the keypoint at (-1, -1)); the maximum goes to `maxOut[0]`.
 */
export function argmaxPositive(
  map: Float32Array,
  base: number,
  size: number,
  maxOut: Float64Array,
): number {
  let best = 0;
  let bestVal = map[base];
  for (let i = 1; i < size; i++) {
    const v = map[base + i];
    if (v > bestVal) {
      bestVal = v;
      best = i;
    }
  }
  maxOut[0] = bestVal;
  return bestVal > 0 ? best : -1;
}
