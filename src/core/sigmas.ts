/**
 * The per-keypoint OKS sigmas, defined once: OKS-NMS and the metric (src/core/eval/), pose
 * tracking by OKS (src/core/track.ts). Computed as mmpose computes them
 * (`np.array([.26, .25, ...]) / 10.0`: `0.026000000000000002`, not `0.026`), so every OKS is the
 * official one to the bit.
 * @module
 */

/** The 17 COCO keypoints' sigmas (pycocotools, mmpose's `TopDownCocoDataset`). */
export const COCO_SIGMAS: readonly number[] = Object.freeze(
  [.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89]
    .map((s) => s / 10.0),
);

/** The 14 CrowdPose keypoints' sigmas (crowdposetools, mmpose's `TopDownCrowdPoseDataset`). */
export const CROWDPOSE_SIGMAS: readonly number[] = Object.freeze(
  [.79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89, .79, .79].map((s) => s / 10.0),
);
