/**
 * The assignment problem (Munkres / Hungarian), step for step as the `munkres` Python package
 * (1.1.x, `Munkres.compute`) that the official associative-embedding grouping calls, so that
 * where several assignments cost the same the same one is chosen.
 *
 * What that implementation does, and we with it:
 * - a rectangular matrix is padded to square with zeros (extra rows or columns), and only the
 *   pairs inside the original matrix are returned, sorted by row;
 * - step 1 subtracts each row's minimum; step 2 stars, row by row, the first zero whose row
 *   and column hold no star; step 3 covers starred columns and stops when all are covered;
 * - step 4 primes uncovered zeros found by a wrapped scan that starts at the last primed
 *   position and, within a row, keeps the *last* uncovered zero it meets (the package's loop
 *   does not stop at the first one);
 * - step 6 adds the smallest uncovered value to covered rows, then subtracts it from
 *   uncovered columns, cell by cell in that order (float64, as Python does), starting from
 *   `sys.maxsize` when looking for the minimum.
 * @module
 */

/** Python's `sys.maxsize` on 64-bit builds: the start of step 6's minimum search. */
const PY_MAXSIZE = 9223372036854775807;

/**
 * Solves the minimum-cost assignment of a `rows` x `cols` cost matrix (row-major, float64).
 * Returns, for each row, its column, or -1 when the row was matched to a padding column
 * (only possible when `rows > cols`). Every column < cols gets at most one row.
 *
 * @param cost (rows, cols) costs; not modified
 */
export function munkres(cost: ArrayLike<number>, rows: number, cols: number): Int32Array {
  const n = Math.max(rows, cols);
  const result = new Int32Array(rows).fill(-1);
  if (rows === 0 || cols === 0) return result;
  // Padded working copy (n, n).
  const c = new Float64Array(n * n);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) c[i * n + j] = cost[i * cols + j];
  const rowCovered = new Uint8Array(n);
  const colCovered = new Uint8Array(n);
  // 0 none, 1 starred, 2 primed
  const marked = new Uint8Array(n * n);
  const path = new Int32Array(4 * n * 2);

  const clearCovers = () => {
    rowCovered.fill(0);
    colCovered.fill(0);
  };
  const findStarInRow = (r: number) => {
    for (let j = 0; j < n; j++) if (marked[r * n + j] === 1) return j;
    return -1;
  };
  const findStarInCol = (col: number) => {
    for (let i = 0; i < n; i++) if (marked[i * n + col] === 1) return i;
    return -1;
  };
  const findPrimeInRow = (r: number) => {
    for (let j = 0; j < n; j++) if (marked[r * n + j] === 2) return j;
    return -1;
  };
  // The package's __find_a_zero: rows from i0 wrapping, columns from j0 wrapping; within the
  // first row holding an uncovered zero, the last such zero in scan order wins.
  const findAZero = (i0: number, j0: number): [number, number] => {
    let row = -1;
    let col = -1;
    let i = i0;
    for (;;) {
      if (!rowCovered[i]) {
        let j = j0;
        do {
          if (c[i * n + j] === 0 && !colCovered[j]) {
            row = i;
            col = j;
          }
          j = (j + 1) % n;
        } while (j !== j0);
      }
      if (row >= 0) break;
      i = (i + 1) % n;
      if (i === i0) break;
    }
    return [row, col];
  };

  // Step 1: subtract each row's minimum.
  for (let i = 0; i < n; i++) {
    let min = c[i * n];
    for (let j = 1; j < n; j++) if (c[i * n + j] < min) min = c[i * n + j];
    for (let j = 0; j < n; j++) c[i * n + j] -= min;
  }
  // Step 2: star the first free zero of each row.
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (c[i * n + j] === 0 && !colCovered[j] && !rowCovered[i]) {
        marked[i * n + j] = 1;
        colCovered[j] = 1;
        rowCovered[i] = 1;
        break;
      }
    }
  }
  clearCovers();

  let step = 3;
  let z0r = 0;
  let z0c = 0;
  // The algorithm ends in O(n^3) steps; the bound only guards against a float cost matrix
  // that never reaches an exact zero (where Python would loop for ever).
  for (let guard = 0;; guard++) {
    if (guard > 64 * n * n * n + 1000) throw new RangeError('munkres: no convergence');
    if (step === 3) {
      let count = 0;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          if (marked[i * n + j] === 1 && !colCovered[j]) {
            colCovered[j] = 1;
            count++;
          }
        }
      }
      if (count >= n) break;
      step = 4;
    } else if (step === 4) {
      let row = 0;
      let col = 0;
      for (;;) {
        [row, col] = findAZero(row, col);
        if (row < 0) {
          step = 6;
          break;
        }
        marked[row * n + col] = 2;
        const starCol = findStarInRow(row);
        if (starCol >= 0) {
          col = starCol;
          rowCovered[row] = 1;
          colCovered[col] = 0;
        } else {
          z0r = row;
          z0c = col;
          step = 5;
          break;
        }
      }
    } else if (step === 5) {
      let count = 0;
      path[0] = z0r;
      path[1] = z0c;
      for (;;) {
        const r = findStarInCol(path[count * 2 + 1]);
        if (r < 0) break;
        count++;
        path[count * 2] = r;
        path[count * 2 + 1] = path[(count - 1) * 2 + 1];
        const pc = findPrimeInRow(path[count * 2]);
        count++;
        path[count * 2] = path[(count - 1) * 2];
        path[count * 2 + 1] = pc;
      }
      for (let p = 0; p <= count; p++) {
        const at = path[p * 2] * n + path[p * 2 + 1];
        marked[at] = marked[at] === 1 ? 0 : 1;
      }
      clearCovers();
      for (let p = 0; p < n * n; p++) if (marked[p] === 2) marked[p] = 0;
      step = 3;
    } else {
      // Step 6.
      let min = PY_MAXSIZE;
      for (let i = 0; i < n; i++) {
        if (rowCovered[i]) continue;
        for (let j = 0; j < n; j++) if (!colCovered[j] && min > c[i * n + j]) min = c[i * n + j];
      }
      let events = 0;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          if (rowCovered[i]) {
            c[i * n + j] += min;
            events++;
          }
          if (!colCovered[j]) {
            c[i * n + j] -= min;
            events++;
          }
          if (rowCovered[i] && !colCovered[j]) events -= 2;
        }
      }
      if (events === 0) throw new RangeError('munkres: the cost matrix cannot be solved');
      step = 4;
    }
  }
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      if (marked[i * n + j] === 1) {
        result[i] = j;
        break;
      }
    }
  }
  return result;
}
