import type { CropFrame, DecodedKeypoints, Heatmaps } from './types.ts';
import { heatmapToImage, quarterOffset } from './transform.ts';

/**
 * SRPose's decode of input-resolution heatmaps, as the official `TopDownHigher` does it:
 *
 * 1. max-pool with a `pool` x `pool` window and stride (PyTorch keeps the first maximum of a
 *    window in row-major order), remembering where each window's maximum sits;
 * 2. `_get_max_preds` on the pooled maxima: the first largest window in row-major order;
 *    when that maximum is not > 0 mmpose's (-1, -1) indexes the *last* window (numpy
 *    negative indexing), which we reproduce rather than fix;
 * 3. the window's argmax pixel, a quarter-pixel step toward the higher neighbour strictly
 *    inside the border, and `transform_preds` back to the image. The score is the peak value.
 *
 * Picking windows first makes ties resolve as the official code does, not as a plain argmax.
 *
 * @param hm heatmaps (N, K, H, W), H and W at input resolution (256 x 192 for top-down)
 * @param frames N crop frames
 * @returns coords (N, K, 2) in image pixels and scores (N, K)
 */
export function decodeSR(
  hm: Heatmaps,
  frames: readonly CropFrame[],
  pool = 16,
  pixelStd = 200,
): DecodedKeypoints {
  const { n, k, h, w, data } = hm;
  const ph = Math.floor(h / pool);
  const pw = Math.floor(w / pool);
  if (ph < 1 || pw < 1) throw new RangeError(`heatmap ${w}x${h} is smaller than the ${pool} px pool`);
  const coords = new Float64Array(n * k * 2);
  const scores = new Float64Array(n * k);
  const off = new Float64Array(2);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const base = (i * k + j) * h * w;
      let bestVal = -Infinity;
      let bestIdx = -1;
      let lastIdx = -1;
      for (let cy = 0; cy < ph; cy++) {
        for (let cx = 0; cx < pw; cx++) {
          // Window maximum, first in row-major order (strict >).
          let wIdx = -1;
          let wVal = -Infinity;
          for (let y = cy * pool, ye = y + pool; y < ye; y++) {
            const row = base + y * w;
            for (let x = cx * pool, xe = x + pool; x < xe; x++) {
              const v = data[row + x];
              if (v > wVal || wIdx < 0) {
                wVal = v;
                wIdx = y * w + x;
              }
            }
          }
          if (wVal > bestVal || bestIdx < 0) {
            bestVal = wVal;
            bestIdx = wIdx;
          }
          lastIdx = wIdx;
        }
      }
      const idx = bestVal > 0 ? bestIdx : lastIdx;
      const px = idx % w;
      const py = (idx - px) / w;
      quarterOffset(data, base, w, h, px, py, off);
      heatmapToImage(px + off[0], py + off[1], frames[i], w, h, pixelStd, coords, (i * k + j) * 2);
      scores[i * k + j] = bestVal;
    }
  }
  return { coords, scores };
}
