/**
 * Person detection after the network: YOLOX's output decoded into scored boxes, and NMS, as
 * the official YOLOX code computes them (`yolox/utils/boxes.py` `postprocess`,
 * `yolox/utils/demo_utils.py` `demo_postprocess`, torchvision's `batched_nms`). Hand-written
 * for exactness: every product, box corner and IoU is rounded to float32 where PyTorch computes
 * in float32, so a box that sits on a threshold is kept or dropped as the official code does.
 * @module
 */

const f = Math.fround;

/** What the network outputs, per anchor: `[x, y, w, h, objectness, class scores...]`. */
export type YoloxOutput = 'yolox-decoded' | 'yolox-raw';

/** Candidate boxes (x1, y1, x2, y2, float32) with their scores and classes. */
export interface Candidates {
  boxes: Float32Array;
  /** `objectness * best class score` (float32), as the official NMS ranks them. */
  scores: Float32Array;
  classes: Int32Array;
}

/** The anchors of a YOLOX input: one per cell of each stride's grid, stride by stride. */
export function yoloxAnchorCount(width: number, height: number, strides: readonly number[]) {
  let n = 0;
  for (const s of strides) n += Math.floor(height / s) * Math.floor(width / s);
  return n;
}

/**
 * The candidates of one image's YOLOX output (`[A, 5 + classes]`, row-major): the boxes
 * decoded from the grid where the graph did not (`yolox-raw`: `(p + grid) * stride`,
 * `exp(p) * stride`, as `demo_postprocess`), each anchor's best class (the first on a tie, as
 * `torch.max`) and score `obj * class`, kept when `>= threshold`; corners as
 * `postprocess` computes them (`cx - w / 2` ...).
 */
export function yoloxCandidates(
  out: Float32Array,
  o: {
    format: YoloxOutput;
    width: number;
    height: number;
    strides: readonly number[];
    classes: number;
    threshold: number;
  },
): Candidates {
  const row = 5 + o.classes;
  const anchors = out.length / row;
  if (!Number.isInteger(anchors)) {
    throw new RangeError(`output of ${out.length} values is not rows of ${row}`);
  }
  const raw = o.format === 'yolox-raw';
  if (raw && anchors !== yoloxAnchorCount(o.width, o.height, o.strides)) {
    throw new RangeError(
      `${anchors} anchors, but a ${o.width}x${o.height} input with strides ` +
        `${o.strides} has ${yoloxAnchorCount(o.width, o.height, o.strides)}`,
    );
  }
  // each anchor's grid cell and stride (raw outputs only)
  const gx = new Float32Array(raw ? anchors : 0);
  const gy = new Float32Array(raw ? anchors : 0);
  const gs = new Float32Array(raw ? anchors : 0);
  if (raw) {
    let a = 0;
    for (const s of o.strides) {
      const w = Math.floor(o.width / s);
      const h = Math.floor(o.height / s);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++, a++) {
          gx[a] = x;
          gy[a] = y;
          gs[a] = s;
        }
      }
    }
  }
  const threshold = f(o.threshold);
  const keep: number[] = [];
  const scores: number[] = [];
  const classes: number[] = [];
  for (let a = 0; a < anchors; a++) {
    const base = a * row;
    let best = 0;
    let bestScore = out[base + 5];
    for (let c = 1; c < o.classes; c++) {
      const v = out[base + 5 + c];
      if (v > bestScore) {
        bestScore = v;
        best = c;
      }
    }
    const score = f(out[base + 4] * bestScore);
    // torch compares a float32 tensor with a Python float as float32
    if (score >= threshold) {
      keep.push(a);
      scores.push(score);
      classes.push(best);
    }
  }
  const boxes = new Float32Array(keep.length * 4);
  keep.forEach((a, i) => {
    const base = a * row;
    let cx = out[base], cy = out[base + 1], w = out[base + 2], h = out[base + 3];
    if (raw) {
      // demo_postprocess adds and multiplies by numpy's int64 grids and strides: in float64,
      // stored back into the float32 output; exp itself is float32 there
      cx = f((cx + gx[a]) * gs[a]);
      cy = f((cy + gy[a]) * gs[a]);
      w = f(f(Math.exp(w)) * gs[a]);
      h = f(f(Math.exp(h)) * gs[a]);
    }
    boxes[i * 4] = f(cx - f(w / 2));
    boxes[i * 4 + 1] = f(cy - f(h / 2));
    boxes[i * 4 + 2] = f(cx + f(w / 2));
    boxes[i * 4 + 3] = f(cy + f(h / 2));
  });
  return {
    boxes,
    scores: Float32Array.from(scores),
    classes: Int32Array.from(classes),
  };
}

/**
 * Indices of `scores` from highest to lowest; equal scores keep their order (the order
 * torch's CPU sort gives them).
 */
function byScore(scores: Float32Array, of?: ArrayLike<number>): number[] {
  const idx = of ? Array.from(of) : Array.from(scores, (_, i) => i);
  return idx.sort((a, b) => scores[b] - scores[a] || a - b);
}

/**
 * torchvision's `nms` (CPU kernel): boxes (x1, y1, x2, y2) by decreasing score, each dropping
 * the later ones whose IoU with it is `> iou`; float32 arithmetic throughout, areas without
 * the legacy +1. Returns the kept indices by decreasing score.
 */
export function nms(
  boxes: Float32Array,
  scores: Float32Array,
  iou: number,
  subset?: ArrayLike<number>,
): number[] {
  const order = byScore(scores, subset);
  const area = (i: number) =>
    f(f(boxes[i * 4 + 2] - boxes[i * 4]) * f(boxes[i * 4 + 3] - boxes[i * 4 + 1]));
  const suppressed = new Uint8Array(scores.length);
  const keep: number[] = [];
  for (let oi = 0; oi < order.length; oi++) {
    const i = order[oi];
    if (suppressed[i]) continue;
    keep.push(i);
    const ix1 = boxes[i * 4],
      iy1 = boxes[i * 4 + 1],
      ix2 = boxes[i * 4 + 2],
      iy2 = boxes[i * 4 + 3];
    const iarea = area(i);
    for (let oj = oi + 1; oj < order.length; oj++) {
      const j = order[oj];
      if (suppressed[j]) continue;
      const w = Math.max(0, f(Math.min(ix2, boxes[j * 4 + 2]) - Math.max(ix1, boxes[j * 4])));
      const h = Math.max(
        0,
        f(Math.min(iy2, boxes[j * 4 + 3]) - Math.max(iy1, boxes[j * 4 + 1])),
      );
      const inter = f(w * h);
      const ovr = f(inter / f(f(iarea + area(j)) - inter));
      if (ovr > iou) suppressed[j] = 1;
    }
  }
  return keep;
}

/**
 * torchvision's `batched_nms`: NMS within each class. Like torchvision on the CPU, up to 1000
 * boxes shift each class's boxes apart by `class * (max coordinate + 1)` (in float32, which
 * rounds the shifted corners) and run one NMS; more boxes run one NMS per class and merge the
 * kept boxes by decreasing score. Returns the kept indices by decreasing score.
 */
export function batchedNms(
  boxes: Float32Array,
  scores: Float32Array,
  classes: Int32Array,
  iou: number,
): number[] {
  const n = scores.length;
  if (n === 0) return [];
  if (boxes.length > 4000) {
    const kept: number[] = [];
    for (const c of new Set(classes)) {
      const members: number[] = [];
      for (let i = 0; i < n; i++) if (classes[i] === c) members.push(i);
      kept.push(...nms(boxes, scores, iou, members));
    }
    return byScore(scores, kept.sort((a, b) => a - b));
  }
  let max = -Infinity;
  for (let i = 0; i < boxes.length; i++) max = Math.max(max, boxes[i]);
  const shifted = new Float32Array(boxes.length);
  for (let i = 0; i < n; i++) {
    const offset = f(classes[i] * f(max + 1));
    for (let k = 0; k < 4; k++) shifted[i * 4 + k] = f(boxes[i * 4 + k] + offset);
  }
  return nms(shifted, scores, iou);
}
