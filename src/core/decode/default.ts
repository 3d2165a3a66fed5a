import type { CropFrame, DecodedKeypoints, Heatmaps } from './types.ts';
import { argmaxPositive, heatmapToImage, quarterOffset } from './transform.ts';

/**
 * mmpose `keypoints_from_heatmaps(post_process='default')`, the decode of low-resolution
 * heatmaps (SimpleBaseline, 64x48): argmax, a quarter-pixel step toward the higher
 * neighbour, then back to the image.
 *
 * @param hm heatmaps (N, K, H, W)
 * @param frames N crop frames
 * @returns coords (N, K, 2) in image pixels and scores (N, K)
 */
export function decodeDefault(
  hm: Heatmaps,
  frames: readonly CropFrame[],
  pixelStd = 200,
): DecodedKeypoints {
  const { n, k, h, w, data } = hm;
  const coords = new Float64Array(n * k * 2);
  const scores = new Float64Array(n * k);
  const max = new Float64Array(1);
  const off = new Float64Array(2);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const base = (i * k + j) * h * w;
      const idx = argmaxPositive(data, base, h * w, max);
      let px = -1;
      let py = -1;
      if (idx >= 0) {
        px = idx % w;
        py = (idx - px) / w;
        quarterOffset(data, base, w, h, px, py, off);
        px += off[0];
        py += off[1];
      }
      heatmapToImage(px, py, frames[i], w, h, pixelStd, coords, (i * k + j) * 2);
      scores[i * k + j] = max[0];
    }
  }
  return { coords, scores };
}
