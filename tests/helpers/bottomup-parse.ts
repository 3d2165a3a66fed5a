// mmpose 0.x `HeatmapParser.parse` for one image: NMS + top-k, grouping, `adjust`, the person
// scores, `refine`, composed from src/core/bottomup's steps in the official order. The
// estimator (src/estimator/bottom-up.ts) runs the same steps one by one to time them. Used by
// tests/core/bottomup.test.ts.
import {
  adjustJoints,
  type BottomUpMaps,
  type Grouped,
  type GroupingParams,
  matchByTag,
  personScores,
  refinePeople,
  topKCandidates,
} from '../../src/core/bottomup/index.ts';

/**
 * Groups one image's heatmaps and tags into people.
 *
 * @param maps heatmaps (K, H, W) and L tag planes (K, H, W)
 * @returns people (P, K, 3 + L) in heatmap pixels and their scores (P)
 */
export function parseBottomUp(
  maps: BottomUpMaps,
  params: GroupingParams,
): { grouped: Grouped; scores: Float32Array } {
  const candidates = topKCandidates(maps, params.maxPeople, params.nmsKernel, params.nmsPadding);
  const grouped = matchByTag(candidates, params);
  if (params.adjust) adjustJoints(grouped, maps);
  const scores = personScores(grouped);
  if (params.refine) refinePeople(grouped, maps);
  return { grouped, scores };
}
