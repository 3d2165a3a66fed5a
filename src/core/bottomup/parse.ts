/**
 * mmpose 0.x `HeatmapParser.parse` for one image: NMS + top-k, grouping, `adjust`, the
 * person scores, `refine`. The estimator runs the same steps one by one to time them.
 * @module
 */
import { matchByTag } from './group.ts';
import { topKCandidates } from './nms.ts';
import { adjustJoints, personScores, refinePeople } from './refine.ts';
import type { BottomUpMaps, Grouped, GroupingParams } from './types.ts';

/**
 * Groups one image's heatmaps and tags into people.
 *
 * @param maps heatmaps (K, H, W) and L tag planes (K, H, W)
 * @returns people (P, K, 3 + L) in heatmap pixels and their scores (P)
 */
export function parseBottomUp(maps: BottomUpMaps, params: GroupingParams): { grouped: Grouped; scores: Float32Array } {
  const candidates = topKCandidates(maps, params.maxPeople, params.nmsKernel, params.nmsPadding);
  const grouped = matchByTag(candidates, params);
  if (params.adjust) adjustJoints(grouped, maps);
  const scores = personScores(grouped);
  if (params.refine) refinePeople(grouped, maps);
  return { grouped, scores };
}
