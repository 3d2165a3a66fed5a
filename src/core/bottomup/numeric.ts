/**
 * numpy's float32 arithmetic where the grouping depends on it: `np.round` (half to even) and
 * `np.mean` of float32 values, whose summation order numpy decides (pairwise along a
 * reduced inner axis, row by row across an outer one). Checked against numpy 1.24.
 * @module
 */

import { pairwiseSum } from '../numpy.ts';

const f32 = Math.fround;

/** `np.round` / `np.rint`: nearest integer, ties to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * numpy's float32 `add.reduce` along an axis it runs as the inner loop (a 1-D or strided
 * array, or an (n, 1) array along axis 0): pairwise summation with 8 accumulators in blocks
 * of up to 128 values. `at(i)` gives the i-th value.
 */
export function pairwiseSumF32(at: (i: number) => number, start: number, n: number): number {
  return pairwiseSum(at, start, n, f32);
}

/**
 * `np.mean(vectors, axis=0)` of n float32 vectors of length l (n >= 1): with l = 1 numpy sums
 * pairwise, with l > 1 it adds the rows in order. Divides in float32.
 */
export function meanRowsF32(
  vectors: readonly Float32Array[],
  l: number,
  out: Float32Array,
): Float32Array {
  const n = vectors.length;
  if (l === 1) {
    out[0] = f32(pairwiseSumF32((i) => vectors[i][0], 0, n) / n);
    return out;
  }
  for (let c = 0; c < l; c++) {
    let s = vectors[0][c];
    for (let i = 1; i < n; i++) s = f32(s + vectors[i][c]);
    out[c] = f32(s / n);
  }
  return out;
}
