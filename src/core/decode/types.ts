/**
 * Where one crop's heatmaps map back to in the image (mmpose `center` / `scale`, scale in units of
 * `pixelStd`).
 */
export interface CropFrame {
  center: readonly [number, number];
  scale: readonly [number, number];
}

/**
 * Decoded keypoints of a batch: `coords` is (N, K, 2) x, y in image pixels,
 * `scores` is (N, K) the heatmap value at the peak.
 */
export interface DecodedKeypoints {
  coords: Float64Array;
  scores: Float64Array;
}

/** Heatmaps of a batch: `data` is (N, K, H, W) row-major. */
export interface Heatmaps {
  data: Float32Array;
  n: number;
  k: number;
  h: number;
  w: number;
}
