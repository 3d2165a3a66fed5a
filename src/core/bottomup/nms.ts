/**
 * Heatmap NMS and top-k candidates, as mmpose 0.x `HeatmapParser.nms` + `top_k` compute them
 * with PyTorch on the CPU:
 *
 * - NMS: `heatmaps * (max_pool2d(heatmaps, kernel, stride 1, padding) == heatmaps)`. A pixel
 *   survives when it equals the maximum of its window (padding never wins); every pixel of
 *   a plateau survives. Suppressed pixels become `v * 0` (0, -0 for negative values, NaN for
 *   NaN); a window holding a NaN has a NaN maximum (PyTorch's pooling propagates it), so
 *   nothing in it survives.
 * - top-k: `torch.topk(k=M)` over the H*W values of each joint. PyTorch's CPU kernel runs
 *   `std::partial_sort` (when 64 M <= H W) with the comparator "NaN first, then larger"; we
 *   replay libstdc++'s heap select + heap sort step for step, so **equal values come out in
 *   the same order as PyTorch's** (not by index: the order depends on the heap). For maps
 *   smaller than 64 M pixels PyTorch uses `std::nth_element` + `std::sort` instead, whose
 *   order of equal values we do not replay (ties there may differ, values never do).
 *
 * The window check runs lazily, only for pixels that could enter the current top-k, so the
 * NMS costs about one comparison per pixel.
 * @module
 */
import type { BottomUpMaps, Candidates } from './types.ts';

/** The comparator of PyTorch's topk (largest): NaN above everything, then `>`. */
const before = (a: number, b: number) => (a !== a && b === b) || a > b;

/**
 * The NMS value of pixel (x, y) of one (H, W) map at `base`: the value when it is the maximum
 * of its `kernel` x `kernel` window (offset by `padding`), else the value times 0.
 */
export function nmsValue(
  map: Float32Array,
  base: number,
  w: number,
  h: number,
  x: number,
  y: number,
  kernel: number,
  padding: number,
): number {
  const v = map[base + y * w + x];
  const y0 = Math.max(0, y - padding);
  const y1 = Math.min(h, y - padding + kernel);
  const x0 = Math.max(0, x - padding);
  const x1 = Math.min(w, x - padding + kernel);
  let max = -Infinity;
  for (let yy = y0; yy < y1; yy++) {
    const row = base + yy * w;
    for (let xx = x0; xx < x1; xx++) {
      const u = map[row + xx];
      if (u > max || u !== u) max = u;
    }
    if (max !== max) break;
  }
  return max === v ? v : v * 0;
}

/**
 * The NMS of (K, H, W) heatmaps into a new array: the straightforward definition, for tests
 * and references ({@link topKCandidates} never materialises it).
 */
export function nmsHeatmaps(
  heatmaps: Float32Array,
  k: number,
  h: number,
  w: number,
  kernel: number,
  padding: number,
): Float32Array {
  const out = new Float32Array(k * h * w);
  for (let j = 0; j < k; j++) {
    const base = j * h * w;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        out[base + y * w + x] = nmsValue(heatmaps, base, w, h, x, y, kernel, padding);
      }
    }
  }
  return out;
}

/**
 * Per joint, the `m` largest NMS values (`torch.topk` order, see the module notes), their
 * pixel and the tags there (`tags[j, y, x, :]`).
 *
 * @param maps heatmaps (K, H, W) and L tag planes (K, H, W)
 * @param m candidates per joint (`max_num_people`), at most H * W
 */
export function topKCandidates(
  maps: BottomUpMaps,
  m: number,
  kernel: number,
  padding: number,
): Candidates {
  const { k, h, w, l, heatmaps, tags } = maps;
  const n = h * w;
  if (!(m >= 1 && m <= n)) throw new RangeError(`top-k of ${m} from ${n} pixels`);
  const val = new Float32Array(k * m);
  const xs = new Int32Array(k * m);
  const ys = new Int32Array(k * m);
  const tag = new Float32Array(k * m * l);
  const hv = new Float64Array(m);
  const hi = new Int32Array(m);
  for (let j = 0; j < k; j++) {
    const base = j * n;
    const at = (i: number) => {
      const x = i % w;
      return nmsValue(heatmaps, base, w, h, x, (i - x) / w, kernel, padding);
    };
    heapSelect(heatmaps, base, n, m, at, hv, hi);
    sortHeap(hv, hi, m);
    for (let r = 0; r < m; r++) {
      const i = hi[r];
      const x = i % w;
      const y = (i - x) / w;
      val[j * m + r] = hv[r];
      xs[j * m + r] = x;
      ys[j * m + r] = y;
      for (let c = 0; c < l; c++) tag[(j * m + r) * l + c] = tags[c][base + i];
    }
  }
  return { val, x: xs, y: ys, tag, k, m, l };
}

/**
 * libstdc++ `__heap_select(first, first + m, last, comp)` over the NMS values of one map:
 * a heap of the first m values, then every later value that `comp`ares before the heap's top
 * replaces it (`__pop_heap`). The NMS value is only computed where it can matter: with the
 * top a number >= 0, a raw value not above it cannot enter (its NMS value is itself or 0).
 */
function heapSelect(
  raw: Float32Array,
  base: number,
  n: number,
  m: number,
  nmsAt: (i: number) => number,
  hv: Float64Array,
  hi: Int32Array,
): void {
  for (let i = 0; i < m; i++) {
    hv[i] = nmsAt(i);
    hi[i] = i;
  }
  if (m >= 2) {
    for (let parent = (m - 2) >> 1;; parent--) {
      adjustHeap(hv, hi, parent, m, hv[parent], hi[parent]);
      if (parent === 0) break;
    }
  }
  for (let i = m; i < n; i++) {
    const top = hv[0];
    if (top !== top) break; // nothing compares before NaN
    const v = raw[base + i];
    if (top >= 0 && v === v && !(v > top)) continue;
    const u = nmsAt(i);
    if (before(u, top)) {
      // __pop_heap(first, middle, i): *i = *first, then sift the value down from the root.
      adjustHeap(hv, hi, 0, m, u, i);
    }
  }
}

/** libstdc++ `__sort_heap`: pops the top to the end, shrinking, until one element is left. */
function sortHeap(hv: Float64Array, hi: Int32Array, m: number): void {
  for (let last = m - 1; last > 0; last--) {
    const v = hv[last];
    const i = hi[last];
    hv[last] = hv[0];
    hi[last] = hi[0];
    adjustHeap(hv, hi, 0, last, v, i);
  }
}

/** libstdc++ `__adjust_heap` (hole sifted to a leaf, then `__push_heap` back up). */
function adjustHeap(
  hv: Float64Array,
  hi: Int32Array,
  hole: number,
  len: number,
  v: number,
  vi: number,
): void {
  const top = hole;
  let child = hole;
  while (child < ((len - 1) >> 1)) {
    child = 2 * (child + 1);
    if (before(hv[child], hv[child - 1])) child--;
    hv[hole] = hv[child];
    hi[hole] = hi[child];
    hole = child;
  }
  if ((len & 1) === 0 && child === ((len - 2) >> 1)) {
    child = 2 * (child + 1);
    hv[hole] = hv[child - 1];
    hi[hole] = hi[child - 1];
    hole = child - 1;
  }
  let parent = (hole - 1) >> 1;
  while (hole > top && before(hv[parent], v)) {
    hv[hole] = hv[parent];
    hi[hole] = hi[parent];
    hole = parent;
    parent = (hole - 1) >> 1;
  }
  hv[hole] = v;
  hi[hole] = vi;
}
