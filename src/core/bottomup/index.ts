/**
 * Bottom-up SRPose (associative embedding), one module per official step: resize the whole
 * image, merge the flip test, NMS + top-k, group by tags (Hungarian), adjust + refine, back to
 * the image. See each module for the exact official rules it follows.
 * @module
 */
export type { BottomUpMaps, Candidates, Grouped, GroupingParams } from './types.ts';
export { type BottomUpFrame, bottomUpFrame, bottomUpMatrix } from './resize.ts';
export { mergeFlipBottomUp, splitOutput, tagPlanes } from './flip.ts';
export { nmsHeatmaps, nmsValue, topKCandidates } from './nms.ts';
export { munkres } from './hungarian.ts';
export { jointOrder, matchByTag } from './group.ts';
export { adjustJoints, personScores, refinePeople } from './refine.ts';
export { groupedToImage } from './transform.ts';
export { meanRowsF32, pairwiseSumF32, roundHalfEven } from './numeric.ts';
