/**
 * The bottom-up flip test, as mmpose 0.x `get_multi_stage_outputs` + `aggregate_results`
 * (one stage, one scale, `project2image` onto the same size): the mirrored image's output is
 * mirrored back (no one-pixel shift, unlike top-down), its joints re-indexed with the flip
 * index; heatmaps are averaged, `(plain + flipped) / 2` in float32, and tags are **not**
 * averaged but stacked on a last axis, `[plain, flipped]`, so that the grouping measures tag
 * distances in 2-D.
 *
 * Network outputs are large (2K maps at the input's resolution), so both functions work on
 * views and in place rather than copying them.
 * @module
 */
import type { BottomUpMaps } from './types.ts';

/**
 * One image's network output (2K, H, W), K heatmaps then K tag maps, as
 * {@link BottomUpMaps} without the flip test: heatmaps (K, H, W) and one tag plane, both
 * views on `output`.
 */
export function splitOutput(output: Float32Array, k: number, h: number, w: number): BottomUpMaps {
  const plane = k * h * w;
  if (output.length < 2 * plane) {
    throw new RangeError(
      `output has ${output.length} values, (2 x ${k}, ${h}, ${w}) needs ${2 * plane}`,
    );
  }
  return {
    heatmaps: output.subarray(0, plane),
    tags: [output.subarray(plane, 2 * plane)],
    k,
    h,
    w,
    l: 1,
  };
}

/**
 * Merges the outputs of an image and of its mirror, each (2K, H, W), **in place**: the
 * averaged heatmaps overwrite `plain`'s heatmaps and the mirrored-back tags overwrite
 * `flipped`'s heatmaps; the result's arrays are views on the two inputs.
 *
 * @param plain the image's output (2K, H, W)
 * @param flipped the mirrored image's output (2K, H, W)
 * @param flipIndex for each joint j, the joint whose mirrored map becomes j's
 * @returns heatmaps (K, H, W) averaged and two tag planes (K, H, W): `[plain, flipped back]`
 */
export function mergeFlipBottomUp(
  plain: Float32Array,
  flipped: Float32Array,
  k: number,
  h: number,
  w: number,
  flipIndex: Int32Array,
): BottomUpMaps {
  const plane = h * w;
  const half = k * plane;
  if (plain.length < 2 * half || flipped.length < 2 * half) {
    throw new RangeError(`outputs must hold (2 x ${k}, ${h}, ${w}) values`);
  }
  // Heatmaps first (they read the mirrored heatmaps), then the tags take their place.
  for (let j = 0; j < k; j++) {
    const dst = j * plane;
    const src = flipIndex[j] * plane + w - 1; // src - x: column x mirrored back
    for (let y = 0; y < plane; y += w) {
      for (let x = 0; x < w; x++) {
        plain[dst + y + x] = (plain[dst + y + x] + flipped[src + y - x]) / 2;
      }
    }
  }
  for (let j = 0; j < k; j++) {
    const dst = j * plane;
    const src = half + flipIndex[j] * plane + w - 1;
    for (let y = 0; y < plane; y += w) {
      for (let x = 0; x < w; x++) flipped[dst + y + x] = flipped[src + y - x];
    }
  }
  return {
    heatmaps: plain.subarray(0, half),
    tags: [plain.subarray(half, 2 * half), flipped.subarray(0, half)],
    k,
    h,
    w,
    l: 2,
  };
}

/** mmpose's tags (K, H, W, L), the last axis interleaved, as L planes (K, H, W) (copies). */
export function tagPlanes(tags: Float32Array, l: number): Float32Array[] {
  const n = tags.length / l;
  return Array.from({ length: l }, (_, q) => {
    const plane = new Float32Array(n);
    for (let i = 0; i < n; i++) plane[i] = tags[i * l + q];
    return plane;
  });
}
