/**
 * numpy's summation, where the grouping decides the last bits: pairwise summation
 * (`pairwise_sum_DOUBLE` / `_FLOAT`) with eight running sums over blocks of up to 128 values and
 * halves above. One implementation for float64 (the metric, OKS) and float32 (bottom-up
 * grouping), the precision given by `round`. Checked against numpy 1.24 through the suites of
 * its callers.
 * @module
 */

const same = (x: number) => x;

/**
 * The pairwise sum of `n` values from `start` (`at(i)` gives value i), every addition rounded
 * by `round` (identity: float64; `Math.fround`: float32).
 */
export function pairwiseSum(
  at: (i: number) => number,
  start: number,
  n: number,
  round: (x: number) => number = same,
): number {
  if (n < 8) {
    let s = 0;
    for (let i = 0; i < n; i++) s = round(s + at(start + i));
    return s;
  }
  if (n <= 128) {
    const r = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let j = 0; j < 8; j++) r[j] = at(start + j);
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] = round(r[j] + at(start + i + j));
    }
    let s = round(
      round(round(r[0] + r[1]) + round(r[2] + r[3])) +
        round(round(r[4] + r[5]) + round(r[6] + r[7])),
    );
    for (; i < n; i++) s = round(s + at(start + i));
    return s;
  }
  let half = n >> 1;
  half -= half % 8;
  return round(
    pairwiseSum(at, start, half, round) + pairwiseSum(at, start + half, n - half, round),
  );
}
