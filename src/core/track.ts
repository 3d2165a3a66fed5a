/**
 * Tracking people from frame to frame, as mmpose's pose tracking (`get_track_id` with
 * `_track_by_iou` / `_track_by_oks`) and rtmlib's `PoseTracker` do it: a person's box for the
 * next frame is the bounding box of its keypoints, expanded about its centre; each person of a
 * frame takes, in order, the free track of the previous frame it overlaps most (IoU of boxes or
 * OKS of keypoints) when that is above the threshold, else a new id.
 * @module
 */
import { COCO_SIGMAS } from './sigmas.ts';

/** An `[x, y, w, h]` box. */
export type XYWH = readonly [number, number, number, number];

/** IoU of two `[x, y, w, h]` boxes (0 when either has no area). */
export function boxIou(a: XYWH, b: XYWH): number {
  const w = Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = a[2] * a[3] + b[2] * b[3] - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * OKS between two poses (`[x0, y0, x1, y1, ...]`) as mmpose's `oks_iou` computes it for
 * tracking: per keypoint `exp(-d^2 / (2 * (area + eps) * (2 sigma)^2))` with the mean of the
 * two box areas, averaged over every keypoint (no visibility threshold, as `_track_by_oks`).
 */
export function poseOks(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  area: number,
  sigmas: ArrayLike<number>,
): number {
  const k = sigmas.length;
  if (k === 0) return 0;
  let sum = 0;
  for (let j = 0; j < k; j++) {
    const dx = a[2 * j] - b[2 * j];
    const dy = a[2 * j + 1] - b[2 * j + 1];
    const v = (2 * sigmas[j]) ** 2;
    // numpy's spacing(1), as mmpose adds it
    sum += Math.exp(-((dx * dx + dy * dy) / v / (area + Number.EPSILON) / 2));
  }
  return sum / k;
}

/**
 * The box of a pose for the next frame: the bounding box of its keypoints with a score above
 * `threshold` (all when fewer than two are), scaled by `expansion` about its centre (rtmlib's
 * `pose_to_bbox`, which takes every keypoint: the threshold keeps a stray low-score keypoint
 * from stretching the box). Undefined when it has no area.
 */
export function keypointBox(
  coords: ArrayLike<number>,
  scores: ArrayLike<number>,
  threshold: number,
  expansion: number,
): XYWH | undefined {
  const k = scores.length;
  let count = 0;
  for (let j = 0; j < k; j++) if (scores[j] > threshold) count++;
  const use = (j: number) => count < 2 || scores[j] > threshold;
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let j = 0; j < k; j++) {
    if (!use(j)) continue;
    x0 = Math.min(x0, coords[2 * j]);
    y0 = Math.min(y0, coords[2 * j + 1]);
    x1 = Math.max(x1, coords[2 * j]);
    y1 = Math.max(y1, coords[2 * j + 1]);
  }
  const w = (x1 - x0) * expansion;
  const h = (y1 - y0) * expansion;
  if (!(w > 0 && h > 0)) return undefined;
  return [(x0 + x1) / 2 - w / 2, (y0 + y1) / 2 - h / 2, w, h];
}

/** What the matcher knows of a person: its box, and its keypoints for OKS. */
export interface TrackCandidate {
  box: XYWH;
  coords: ArrayLike<number>;
  scores: ArrayLike<number>;
}

/**
 * mmpose's greedy matching: each current person in order takes the previous frame's free
 * track with the highest similarity (`iou` of boxes, or `oks` of keypoints with the mean box
 * area) when it is above `threshold`; returns, per current person, the index of its previous
 * track or -1.
 */
export function matchTracks(
  current: readonly TrackCandidate[],
  previous: readonly TrackCandidate[],
  o: { by: 'iou' | 'oks'; threshold: number; sigmas?: ArrayLike<number> },
): number[] {
  const free = previous.map((_, i) => i);
  return current.map((c) => {
    let best = -1;
    let bestScore = -1;
    for (const i of free) {
      const p = previous[i];
      const s = o.by === 'iou' ? boxIou(c.box, p.box) : poseOks(
        c.coords,
        p.coords,
        (c.box[2] * c.box[3] + p.box[2] * p.box[3]) / 2,
        o.sigmas ?? COCO_SIGMAS,
      );
      if (s > bestScore) {
        bestScore = s;
        best = i;
      }
    }
    if (best < 0 || !(bestScore > o.threshold)) return -1;
    free.splice(free.indexOf(best), 1);
    return best;
  });
}
