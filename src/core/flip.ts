import { wasmFlipMerger } from './flip-wasm.ts';

/**
 * Flip test, as the official SRPose / mmpose `inference_model`: the heatmaps of the mirrored
 * crop are mirrored back, left/right joints swapped (`flipPairs`), shifted one pixel right
 * (`shift_heatmap`, column 0 keeps its value) and averaged with the plain heatmaps in float32,
 * on the WebAssembly SIMD kernel of flip-wasm.ts where it compiles, else {@link mergeFlippedJs}
 * (the same floats).
 *
 * @param plain heatmaps of the crops, (N, K, H, W); receives the average in place
 * @param flipped heatmaps of the mirrored crops, (N, K, H, W)
 * @param flipIndex for each joint k, the joint whose mirrored map becomes k's
 */
export function mergeFlipped(...args: Parameters<typeof mergeFlippedJs>): void {
  if (!wasmFlipMerger()?.merge(...args)) mergeFlippedJs(...args);
}

/**
 * {@link mergeFlipped} on the JavaScript loop alone: the heatmaps of the mirrored crop mirrored
 * back, joints swapped, shifted one pixel right when `shift`, averaged with the plain ones.
 *
 * @param plain heatmaps of the crops, (N, K, H, W); receives the average in place
 * @param flipped heatmaps of the mirrored crops, (N, K, H, W)
 * @param flipIndex for each joint k, the joint whose mirrored map becomes k's
 */
export function mergeFlippedJs(
  plain: Float32Array,
  flipped: Float32Array,
  n: number,
  k: number,
  h: number,
  w: number,
  flipIndex: Int32Array,
  shift: boolean,
): void {
  const plane = h * w;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const dst = (i * k + j) * plane;
      const src = (i * k + flipIndex[j]) * plane;
      for (let y = 0; y < h; y++) {
        const d = dst + y * w;
        const s = src + y * w + w - 1; // s - x is the mirrored column x
        // shifted: out[x] = back[x - 1] = flipped[w - x] for x >= 1; out[0] = back[0]
        plain[d] = (plain[d] + flipped[s]) * 0.5;
        if (shift) {
          for (let x = 1; x < w; x++) plain[d + x] = (plain[d + x] + flipped[s - x + 1]) * 0.5;
        } else {
          for (let x = 1; x < w; x++) plain[d + x] = (plain[d + x] + flipped[s - x]) * 0.5;
        }
      }
    }
  }
}

/** For each of `k` joints, its mirrored partner (itself when unpaired). */
export function flipIndexFromPairs(
  k: number,
  pairs: readonly (readonly [number, number])[],
): Int32Array {
  const idx = new Int32Array(k);
  for (let j = 0; j < k; j++) idx[j] = j;
  for (const [a, b] of pairs) {
    idx[a] = b;
    idx[b] = a;
  }
  return idx;
}
