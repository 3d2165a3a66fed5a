/**
 * Associative-embedding grouping, mmpose 0.x `_match_by_tag`, rule for rule:
 *
 * 1. Joint types are visited in the official order (for 17 joints: the head, shoulders,
 *    **hips**, then elbows, wrists, knees, ankles; otherwise 0..K-1). Candidates with a value
 *    not above `detectionThreshold` are dropped.
 * 2. The first joint type with candidates starts one person per candidate.
 * 3. Every later type is matched against the first `maxPeople` people (in creation order) by
 *    the Hungarian algorithm on the cost `round(|tag - mean tag|) * 100 - value`
 *    (`useDetectionVal`; else the plain distance), in float64 as numpy does. More candidates
 *    than people: the matrix is padded with columns of 1e10. A candidate joins its matched
 *    person when the plain distance is below `tagThreshold`; otherwise it starts a person.
 *    With `ignoreTooMuch`, a joint type is skipped once `maxPeople` people exist.
 *
 * Quirks kept because the official code has them: people are keyed by the first tag value
 * of the joint that started them (a Python dict keyed by a float32), so a new person whose
 * first tag equals an existing key **merges into that person** (its joint overwrites, its tag
 * list restarts); people beyond `maxPeople` are never matched again, so each of their later
 * joints starts yet another person; the mean tag is numpy's float32 mean.
 * @module
 */
import { munkres } from './hungarian.ts';
import { meanRowsF32, roundHalfEven } from './numeric.ts';
import type { Candidates, Grouped, GroupingParams } from './types.ts';

/** The official visiting order of joint types (`_Params.joint_order`). */
export function jointOrder(k: number): number[] {
  if (k === 17) return [0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16];
  return Array.from({ length: k }, (_, i) => i);
}

/** The padding cost of `_match_by_tag` for candidates beyond the people (float32 1e10). */
const PAD_COST = 1e10;

interface Person {
  joints: Float32Array; // (K, 3 + L)
  tags: Float32Array[]; // tags of its joints, in the order they joined
}

/**
 * Groups the top-k candidates into people.
 *
 * @param c candidates (K, M) from {@link topKCandidates}
 * @returns people (P, K, 3 + L): `x, y, value, tag...` per joint, zeros where missing
 */
export function matchByTag(
  c: Candidates,
  p: Pick<
    GroupingParams,
    'maxPeople' | 'detectionThreshold' | 'tagThreshold' | 'useDetectionVal' | 'ignoreTooMuch'
  >,
): Grouped {
  const { k, m, l } = c;
  const width = 3 + l;
  // Python dict semantics: equal floats are one key (0 and -0 too), but a NaN key never
  // equals another NaN, so each NaN gets a key of its own.
  const people = new Map<number | symbol, Person>();
  const keyOf = (t: number): number | symbol => (t === t ? t : Symbol('nan'));
  const place = (
    key: number | symbol,
    j: number,
    row: number,
    tag: Float32Array,
    restart: boolean,
  ) => {
    let person = people.get(key);
    if (!person) {
      person = { joints: new Float32Array(k * width), tags: [] };
      people.set(key, person);
    }
    writeJoint(c, j, row, person.joints, j * width);
    if (restart) person.tags = [tag];
    else person.tags.push(tag);
  };
  const mean = new Float32Array(l);

  const order = jointOrder(k);
  for (let i = 0; i < k; i++) {
    const j = order[i];
    const rows: number[] = [];
    for (let r = 0; r < m; r++) if (c.val[j * m + r] > p.detectionThreshold) rows.push(r);
    if (rows.length === 0) continue;
    const tagOf = (r: number) => c.tag.subarray((j * m + r) * l, (j * m + r + 1) * l);

    if (i === 0 || people.size === 0) {
      for (const r of rows) place(keyOf(c.tag[(j * m + r) * l]), j, r, tagOf(r), true);
      continue;
    }
    const keys = Array.from(people.keys()).slice(0, p.maxPeople);
    if (p.ignoreTooMuch && keys.length === p.maxPeople) continue;
    const groupedTags = keys.map((key) => meanRowsF32(people.get(key)!.tags, l, mean).slice());

    const added = rows.length;
    const grouped = keys.length;
    const cols = Math.max(added, grouped);
    const dist = new Float64Array(added * grouped);
    const cost = new Float64Array(added * cols).fill(PAD_COST);
    for (let a = 0; a < added; a++) {
      const t = (j * m + rows[a]) * l;
      const value = c.val[j * m + rows[a]];
      for (let g = 0; g < grouped; g++) {
        let s = 0;
        for (let q = 0; q < l; q++) {
          const d = c.tag[t + q] - groupedTags[g][q];
          s += d * d;
        }
        const norm = Math.sqrt(s);
        dist[a * grouped + g] = norm;
        cost[a * cols + g] = p.useDetectionVal ? roundHalfEven(norm) * 100 - value : norm;
      }
    }
    const match = munkres(cost, added, cols);
    for (let a = 0; a < added; a++) {
      const g = match[a];
      const r = rows[a];
      if (g >= 0 && g < grouped && dist[a * grouped + g] < p.tagThreshold) {
        place(keys[g], j, r, tagOf(r), false);
      } else {
        place(keyOf(c.tag[(j * m + r) * l]), j, r, tagOf(r), true);
      }
    }
  }

  const out = new Float32Array(people.size * k * width);
  let n = 0;
  for (const person of people.values()) out.set(person.joints, n++ * k * width);
  return { joints: out, people: people.size, k, l };
}

/** Candidate `row` of joint j as the official joint row `x, y, value, tag...` (float32). */
function writeJoint(c: Candidates, j: number, row: number, out: Float32Array, at: number): void {
  const i = j * c.m + row;
  out[at] = c.x[i];
  out[at + 1] = c.y[i];
  out[at + 2] = c.val[i];
  for (let q = 0; q < c.l; q++) out[at + 3 + q] = c.tag[i * c.l + q];
}
