import type { CropFrame, DecodedKeypoints, Heatmaps } from './types.ts';
import { argmaxPositive, heatmapToImage } from './transform.ts';

/**
 * OpenCV `getGaussianKernel(size, 0)` for float images: sigma from the kernel size
 * (`0.3 * ((size - 1) * 0.5 - 1) + 0.8`, 2.0 for 11), normalised to sum 1.
 */
export function gaussianKernel(size: number): Float32Array {
  const sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8;
  const scale2X = -0.5 / (sigma * sigma);
  const k = new Float32Array(size);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const x = i - (size - 1) * 0.5;
    k[i] = Math.exp(scale2X * x * x);
    sum += k[i];
  }
  for (let i = 0; i < size; i++) k[i] = k[i] / sum;
  return k;
}

/** OpenCV BORDER_REFLECT_101 index (`gfedcb|abcdefgh|gfedcba`). */
function reflect101(i: number, n: number): number {
  if (n === 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
  return i;
}

/**
 * mmpose `_gaussian_blur` on one (H, W) map, in place: zero-pad by the kernel radius,
 * `cv2.GaussianBlur` (separable, reflect-101 border), crop, and rescale so the maximum
 * is the original maximum. `tmp` holds two padded planes.
 */
function modulate(
  map: Float32Array,
  base: number,
  w: number,
  h: number,
  kernel: Float32Array,
  tmp: Float32Array,
): void {
  const r = (kernel.length - 1) >> 1;
  const pw = w + 2 * r;
  const ph = h + 2 * r;
  const padded = tmp.subarray(0, pw * ph);
  const rows = tmp.subarray(pw * ph, 2 * pw * ph);
  padded.fill(0);
  let originMax = -Infinity;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = map[base + y * w + x];
      padded[(y + r) * pw + x + r] = v;
      if (v > originMax) originMax = v;
    }
  }
  for (let y = 0; y < ph; y++) {
    for (let x = 0; x < pw; x++) {
      let s = 0;
      for (let t = -r; t <= r; t++) s += kernel[t + r] * padded[y * pw + reflect101(x + t, pw)];
      rows[y * pw + x] = s;
    }
  }
  let blurMax = -Infinity;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let t = -r; t <= r; t++) {
        s += kernel[t + r] * rows[reflect101(y + r + t, ph) * pw + x + r];
      }
      map[base + y * w + x] = s;
      if (s > blurMax) blurMax = s;
    }
  }
  const gain = originMax / blurMax;
  for (let i = 0; i < w * h; i++) map[base + i] = Math.log(Math.max(map[base + i] * gain, 1e-10));
}

/**
 * DARK ("unbiased", Zhang et al. CVPR 2020) as mmpose `keypoints_from_heatmaps(
 * post_process='unbiased')`: argmax on the raw maps, Gaussian modulation, log, then one
 * Newton step of the second-order Taylor expansion around the peak (`_taylor`, only when
 * `1 < px < W - 2` and `1 < py < H - 2`).
 *
 * @param hm heatmaps (N, K, H, W); not modified
 * @param frames N crop frames
 * @param kernel modulation kernel size (11 for sigma 2 training targets)
 * @returns coords (N, K, 2) in image pixels and scores (N, K)
 */
export function decodeDark(
  hm: Heatmaps,
  frames: readonly CropFrame[],
  kernel = 11,
  pixelStd = 200,
): DecodedKeypoints {
  if (kernel % 2 !== 1) throw new RangeError(`DARK kernel must be odd, got ${kernel}`);
  const { n, k, h, w } = hm;
  const plane = h * w;
  const logMap = new Float32Array(plane);
  const r = (kernel - 1) >> 1;
  const tmp = new Float32Array(2 * (w + 2 * r) * (h + 2 * r));
  const g = gaussianKernel(kernel);
  const coords = new Float64Array(n * k * 2);
  const scores = new Float64Array(n * k);
  const max = new Float64Array(1);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const base = (i * k + j) * plane;
      const idx = argmaxPositive(hm.data, base, plane, max);
      let px = idx >= 0 ? idx % w : -1;
      let py = idx >= 0 ? (idx - px) / w : -1;
      if (1 < px && px < w - 2 && 1 < py && py < h - 2) {
        logMap.set(hm.data.subarray(base, base + plane));
        modulate(logMap, 0, w, h, g, tmp);
        const at = (yy: number, xx: number) => logMap[yy * w + xx];
        const dx = 0.5 * (at(py, px + 1) - at(py, px - 1));
        const dy = 0.5 * (at(py + 1, px) - at(py - 1, px));
        const dxx = 0.25 * (at(py, px + 2) - 2 * at(py, px) + at(py, px - 2));
        const dxy = 0.25 *
          (at(py + 1, px + 1) - at(py - 1, px + 1) - at(py + 1, px - 1) + at(py - 1, px - 1));
        const dyy = 0.25 * (at(py + 2, px) - 2 * at(py, px) + at(py - 2, px));
        const det = dxx * dyy - dxy * dxy;
        if (det !== 0) {
          // offset = -H^-1 d with H = [[dxx, dxy], [dxy, dyy]]
          px -= (dyy * dx - dxy * dy) / det;
          py -= (-dxy * dx + dxx * dy) / det;
        }
      }
      heatmapToImage(px, py, frames[i], w, h, pixelStd, coords, (i * k + j) * 2);
      scores[i * k + j] = max[0];
    }
  }
  return { coords, scores };
}
