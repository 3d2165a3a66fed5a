/**
 * The evaluation datasets and what the official test configs do with them (mmpose 0.x, as the
 * official SRPose code ships it): which people each image is estimated for (detected boxes
 * above `det_bbox_thr`, or the ground-truth boxes with `use_gt_bbox`; MPII's annotated centre
 * and scale), and in which order (the order the official data loader gives, which the results
 * file and the metric's tie-breaking follow).
 * @module
 */
import { SRPoseError } from '../errors.ts';
import type { Box } from '../types.ts';

/** The datasets `srpose eval` knows. */
export const EVAL_DATASETS = ['coco', 'crowdpose', 'mpii'] as const;
export type EvalDataset = typeof EVAL_DATASETS[number];

/** The number of keypoints of each dataset's models. */
export const DATASET_KEYPOINTS: Record<EvalDataset, number> = { coco: 17, crowdpose: 14, mpii: 16 };

/** One image to estimate: its file, and the people in it in the official order. */
export interface EvalJob {
  imageId: number;
  /** The file name, relative to the images folder. */
  file: string;
  /** Person boxes `[x, y, w, h, score]` (empty for a bottom-up model: it finds everyone). */
  boxes: Box[];
  /**
   * MPII: each person's place in the annotation file (the PCKh ground truth is in that order).
   */
  index?: number[];
}

/** A COCO-format keypoint annotation file (COCO, CrowdPose), as loaded from JSON. */
export interface CocoAnnotations {
  images: { id: number; file_name: string; width: number; height: number; crowdIndex?: number }[];
  annotations: {
    id: number;
    image_id: number;
    category_id?: number;
    iscrowd?: number;
    bbox?: number[];
    area?: number;
    keypoints?: number[];
    num_keypoints?: number;
  }[];
  categories?: { id: number; name: string }[];
}

/** A detection of a COCO-format detections file. */
export interface PersonDetection {
  image_id: number;
  category_id: number;
  bbox: number[];
  score: number;
}

/** One person of an MPII annotation file (mmpose's `mpii_val.json`). */
export interface MpiiAnnotation {
  image: string;
  center: [number, number];
  scale: number;
  joints?: number[][];
  joints_vis?: number[];
}

const bad = (what: string) => new SRPoseError('INVALID_OPTION', what);

/** Checks the shape of a COCO-format annotation file; throws `INVALID_OPTION`. */
export function checkCocoAnnotations(v: unknown, file: string): CocoAnnotations {
  const a = v as CocoAnnotations;
  if (!a || !Array.isArray(a.images) || !Array.isArray(a.annotations)) {
    throw bad(`${file}: not a COCO keypoint annotation file (images and annotations lists)`);
  }
  for (const img of a.images) {
    if (!Number.isFinite(img?.id) || typeof img.file_name !== 'string') {
      throw bad(`${file}: an image without id or file_name: ${JSON.stringify(img)}`);
    }
  }
  return a;
}

/**
 * The top-down jobs of a COCO-format dataset, as mmpose's `TopDownCocoDataset` (and
 * `TopDownCrowdPoseDataset`) builds them in test mode:
 * - with `detections`: every person detection (category 1) scoring at least `detScoreThreshold`,
 *   in the file's order, grouped by image in order of first appearance;
 * - with `useGtBoxes`: each image (annotation file order) with its non-crowd annotations that
 *   have keypoints, boxes clipped to the image as `_load_coco_keypoint_annotation_kernel` does
 *   (`x2 = min(width - 1, x1 + max(0, w - 1))`), score 1.
 * Images without a person get no job (and so no results), as there.
 */
export function cocoJobs(
  gt: CocoAnnotations,
  o: { detections?: readonly PersonDetection[]; useGtBoxes?: boolean; detScoreThreshold?: number },
): EvalJob[] {
  const images = new Map(gt.images.map((img) => [img.id, img]));
  const jobs = new Map<number, EvalJob>();
  const job = (imageId: number): EvalJob => {
    let j = jobs.get(imageId);
    if (!j) {
      const img = images.get(imageId);
      if (!img) throw bad(`image_id ${imageId} is not in the annotation file`);
      j = { imageId, file: img.file_name, boxes: [] };
      jobs.set(imageId, j);
    }
    return j;
  };
  if (o.useGtBoxes) {
    const byImage = new Map<number, CocoAnnotations['annotations']>();
    for (const a of gt.annotations) {
      if (!byImage.has(a.image_id)) byImage.set(a.image_id, []);
      byImage.get(a.image_id)!.push(a);
    }
    for (const img of gt.images) {
      for (const a of byImage.get(img.id) ?? []) {
        if (a.iscrowd || !a.bbox) continue;
        const [x, y, w, h] = a.bbox;
        const x1 = Math.max(0, x);
        const y1 = Math.max(0, y);
        const x2 = Math.min(img.width - 1, x1 + Math.max(0, w - 1));
        const y2 = Math.min(img.height - 1, y1 + Math.max(0, h - 1));
        if (!((a.area === undefined || a.area > 0) && x2 > x1 && y2 > y1)) continue;
        if (!a.keypoints || Math.max(...a.keypoints) === 0) continue;
        if (a.num_keypoints === 0) continue;
        job(img.id).boxes.push([x1, y1, x2 - x1, y2 - y1, 1]);
      }
    }
  } else {
    if (!o.detections) throw bad('a detections file is needed (or use the ground-truth boxes)');
    const thr = o.detScoreThreshold ?? 0;
    o.detections.forEach((d, i) => {
      if (d?.category_id !== 1) return;
      if (!Array.isArray(d.bbox) || d.bbox.length < 4 || !Number.isFinite(d.score)) {
        throw bad(`detection ${i} is not { image_id, category_id, bbox, score }`);
      }
      if (d.score < thr) return;
      job(d.image_id).boxes.push([d.bbox[0], d.bbox[1], d.bbox[2], d.bbox[3], d.score]);
    });
  }
  return [...jobs.values()];
}

/** Bottom-up jobs: every image of the annotation file, in its order, no boxes. */
export function bottomUpJobs(gt: CocoAnnotations): EvalJob[] {
  return gt.images.map((img) => ({ imageId: img.id, file: img.file_name, boxes: [] }));
}

/**
 * MPII jobs, as `TopDownMpiiDataset` builds them: each annotated person's centre (1-based,
 * moved down by 15 x scale, then made 0-based) and scale (x 1.25), as the box whose centre and
 * scale the estimator's `_xywh2cs` (padding 1.25, square input) gives back; people grouped by
 * image in order of first appearance, each with its place in the file.
 */
export function mpiiJobs(annotations: readonly MpiiAnnotation[]): EvalJob[] {
  const jobs = new Map<string, EvalJob>();
  annotations.forEach((a, i) => {
    if (typeof a?.image !== 'string' || !Array.isArray(a.center) || !Number.isFinite(a.scale)) {
      throw bad(`MPII annotation ${i} is not { image, center, scale }`);
    }
    let [cx, cy] = a.center;
    let s = a.scale;
    if (cx !== -1) {
      cy += 15 * s;
      s *= 1.25;
    }
    cx -= 1;
    cy -= 1;
    // the estimator pads the box by 1.25 itself: the box is the unpadded square
    const side = (s * 200) / 1.25;
    let j = jobs.get(a.image);
    if (!j) {
      j = { imageId: jobs.size, file: a.image, boxes: [], index: [] };
      jobs.set(a.image, j);
    }
    j.boxes.push([cx - side / 2, cy - side / 2, side, side, 1]);
    j.index!.push(i);
  });
  return [...jobs.values()];
}
