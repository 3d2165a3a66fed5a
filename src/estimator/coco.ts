import type { CocoResult, EstimateResult } from '../types.ts';

/**
 * The COCO keypoint results format (`[{ image_id, category_id: 1, keypoints: [x, y, s, ...],
 * score }]`), as `pycocotools` and mmpose's evaluation read it.
 */
export function toCocoResults(result: EstimateResult, imageId: number): CocoResult[] {
  return result.people.map((p) => ({
    image_id: imageId,
    category_id: 1,
    keypoints: p.keypoints.flatMap((k) => [k.x, k.y, k.score]),
    score: p.score,
    bbox: p.box,
  }));
}
