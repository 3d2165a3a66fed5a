/**
 * How far two estimates of the same boxes lie apart, in heatmap pixels of each box's crop
 * (image pixels x heatmap width / box width after padding), so models and crops of any size
 * compare on one scale.
 * @module
 */
import { boxToCenterScale } from './boxes.ts';

/**
 * Per-keypoint distances (heatmap px) between `a` and `b`, each (boxes, K, 2) image-pixel
 * coordinates flattened, for the boxes they were estimated from.
 */
export function heatmapDisplacements(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  boxes: readonly (readonly number[])[],
  k: number,
  model: {
    inputWidth: number;
    inputHeight: number;
    heatmapWidth: number;
    padding: number;
    pixelStd: number;
  },
): Float64Array {
  const out = new Float64Array(boxes.length * k);
  boxes.forEach((box, i) => {
    const { scale } = boxToCenterScale(
      box,
      model.inputWidth,
      model.inputHeight,
      model.padding,
      model.pixelStd,
    );
    const perPx = model.heatmapWidth / (scale[0] * model.pixelStd);
    for (let j = 0; j < k; j++) {
      const at = (i * k + j) * 2;
      out[i * k + j] = Math.hypot(a[at] - b[at], a[at + 1] - b[at + 1]) * perPx;
    }
  });
  return out;
}

/** Median, 95th percentile, max and the share within 0.1 / 1 px of distances. */
export function displacementSummary(
  d: ArrayLike<number>,
): { median: number; p95: number; max: number; within01: number; within1: number } {
  const s = Float64Array.from(d).sort();
  const q = (
    p: number,
  ) => (s.length ? s[Math.min(s.length - 1, Math.floor(p * (s.length - 1)))] : 0);
  let w01 = 0, w1 = 0;
  for (const v of s) {
    if (v <= 0.1) w01++;
    if (v <= 1) w1++;
  }
  return {
    median: q(0.5),
    p95: q(0.95),
    max: s.length ? s[s.length - 1] : 0,
    within01: w01 / (s.length || 1),
    within1: w1 / (s.length || 1),
  };
}
