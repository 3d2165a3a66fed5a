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
 * @param bandMax optional precomputed maximum of every `pool`-row band, (N, K, H / pool), as the
 *   native backend's ReduceMax gives it (H and W divisible by `pool`); computed here otherwise
 * @returns coords (N, K, 2) in image pixels and scores (N, K)
 */
export function decodeSR(
  hm: Heatmaps,
  frames: readonly CropFrame[],
  pool = 16,
  pixelStd = 200,
  bandMax?: Float32Array,
): DecodedKeypoints {
  const { n, k, h, w, data } = hm;
  const ph = Math.floor(h / pool);
  const pw = Math.floor(w / pool);
  if (ph < 1 || pw < 1) {
    throw new RangeError(`heatmap ${w}x${h} is smaller than the ${pool} px pool`);
  }
  if (bandMax && (ph * pool !== h || pw * pool !== w || bandMax.length !== n * k * ph)) {
    throw new RangeError(
      `bandMax has ${bandMax.length} values; (${n}, ${k}, ${h} / ${pool}) needs ${
        n * k * ph
      }, with ${w}x${h} divisible by ${pool}`,
    );
  }
  const coords = new Float64Array(n * k * 2);
  const scores = new Float64Array(n * k);
  const off = new Float64Array(2);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const base = (i * k + j) * h * w;
      // The largest window maximum is the largest pixel of the pooled area, and the first
      // window holding it lies in the first band of windows (`pool` rows) with that maximum:
      // one pass of band maxima, then a look inside that band alone (see bandPeak).
      let bestVal = -Infinity;
      let band = 0;
      for (let cy = 0; cy < ph; cy++) {
        let m = bandMax ? bandMax[(i * k + j) * ph + cy] : NaN;
        // not given, or NaN in the band (ReduceMax may pass it on; the decode skips it)
        if (m !== m) m = bandMaxOf(data, base + cy * pool * w, w, pool, pw);
        if (m > bestVal) {
          bestVal = m;
          band = cy;
        }
      }
      const idx = bestVal > 0
        ? bandPeak(data, base, w, pool, band, pw, bestVal)
        : windowArgmax(data, base, w, pool, ph - 1, pw - 1);
      const px = idx % w;
      const py = (idx - px) / w;
      quarterOffset(data, base, w, h, px, py, off);
      heatmapToImage(px + off[0], py + off[1], frames[i], w, h, pixelStd, coords, (i * k + j) * 2);
      scores[i * k + j] = bestVal;
    }
  }
  return { coords, scores };
}

/**
 * Index (in the plane) of the pixel equal to `peak` in the leftmost window of band `cy` that
 * holds one; within that window the first in row-major order. With `cy` the first band holding
 * the peak, this is where max_pool2d_with_indices + `_get_max_preds` put it.
 */
function bandPeak(
  data: Float32Array,
  base: number,
  w: number,
  pool: number,
  cy: number,
  pw: number,
  peak: number,
): number {
  // Each row only needs looking at left of the best window so far.
  let cx = pw;
  for (let y = cy * pool, ye = y + pool; y < ye; y++) {
    const row = base + y * w;
    for (let x = 0, xe = cx * pool; x < xe; x++) {
      if (data[row + x] === peak) {
        cx = Math.floor(x / pool);
        break;
      }
    }
  }
  return windowArgmax(data, base, w, pool, cy, Math.min(cx, pw - 1));
}

/** Index of the first maximum (row-major, strict >) of window (cy, cx), PyTorch's pooling index. */
function windowArgmax(
  data: Float32Array,
  base: number,
  w: number,
  pool: number,
  cy: number,
  cx: number,
): number {
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
  return wIdx;
}

/** Largest value of the band of `pool` rows from `start`, over its `pw` windows' columns. */
function bandMaxOf(data: Float32Array, start: number, w: number, pool: number, pw: number): number {
  if (pw * pool === w) return maxOf(data, start, start + pool * w);
  let m = -Infinity;
  for (let y = 0; y < pool; y++) {
    m = Math.max(m, maxOf(data, start + y * w, start + y * w + pw * pool));
  }
  return m;
}

/**
 * Largest value of `data[start..end)` (NaN skipped; -Infinity when none): four independent maxima,
 * for speed.
 */
function maxOf(data: Float32Array, start: number, end: number): number {
  let a = -Infinity, b = -Infinity, c = -Infinity, d = -Infinity;
  let i = start;
  for (const e4 = end - 3; i < e4; i += 4) {
    const v0 = data[i], v1 = data[i + 1], v2 = data[i + 2], v3 = data[i + 3];
    if (v0 > a) a = v0;
    if (v1 > b) b = v1;
    if (v2 > c) c = v2;
    if (v3 > d) d = v3;
  }
  for (; i < end; i++) if (data[i] > a) a = data[i];
  return Math.max(a, b, c, d);
}
