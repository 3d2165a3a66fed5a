/**
 * After grouping, as mmpose 0.x `HeatmapParser.parse` does it (not UDP):
 *
 * - {@link adjustJoints} (`adjust`): each found joint moves a quarter pixel toward its higher
 *   vertical and horizontal neighbour on its own heatmap, and **away** (-0.25) when the
 *   neighbours are equal or at the border (the neighbour index is clamped, so a border joint
 *   compares a pixel with itself), then +0.5 to the pixel centre;
 * - {@link personScores}: each person's score is the mean value over all K joints (missing
 *   ones count as 0), taken after `adjust` and before `refine`, in float32;
 * - {@link refinePeople} (`refine`): the person's mean tag (numpy's float32 mean of the tags
 *   under its found joints, positions truncated to pixels), then for every missing joint the
 *   first maximum of `heatmap - round(|tag - mean tag|)` over the whole map, with the same
 *   quarter step and +0.5; filled in when that heatmap value is > 0. Filled joints keep zero
 *   tags, as the official code leaves them.
 * @module
 */
import { meanRowsF32, pairwiseSumF32, roundHalfEven } from './numeric.ts';
import type { BottomUpMaps, Grouped } from './types.ts';

const f32 = Math.fround;

/** The quarter step of `adjust` / `refine` at integer pixel (x, y) of one (H, W) map. */
function quarterStep(
  map: Float32Array,
  base: number,
  w: number,
  h: number,
  x: number,
  y: number,
  out: Float64Array,
): void {
  const row = base + y * w;
  out[0] = map[row + Math.min(w - 1, x + 1)] > map[row + Math.max(0, x - 1)] ? 0.25 : -0.25;
  out[1] = map[base + Math.min(h - 1, y + 1) * w + x] > map[base + Math.max(0, y - 1) * w + x]
    ? 0.25
    : -0.25;
}

/**
 * `HeatmapParser.adjust` in place on grouped people (P, K, 3 + L) with heatmaps (K, H, W):
 * joints with a value > 0 get `x + 0.5 +- 0.25`, `y + 0.5 +- 0.25`.
 */
export function adjustJoints(g: Grouped, maps: BottomUpMaps): void {
  const { k, l } = g;
  const { h, w, heatmaps } = maps;
  const width = 3 + l;
  const step = new Float64Array(2);
  for (let p = 0; p < g.people; p++) {
    for (let j = 0; j < k; j++) {
      const at = (p * k + j) * width;
      if (!(g.joints[at + 2] > 0)) continue;
      const x = g.joints[at];
      const y = g.joints[at + 1];
      quarterStep(heatmaps, j * h * w, w, h, Math.trunc(x), Math.trunc(y), step);
      g.joints[at] = x + step[0] + 0.5;
      g.joints[at + 1] = y + step[1] + 0.5;
    }
  }
}

/** Each person's score: numpy's float32 mean of its K joint values (missing joints count 0). */
export function personScores(g: Grouped): Float32Array {
  const { k, l } = g;
  const width = 3 + l;
  const scores = new Float32Array(g.people);
  for (let p = 0; p < g.people; p++) {
    const base = p * k * width;
    scores[p] = f32(pairwiseSumF32((j) => g.joints[base + j * width + 2], 0, k) / k);
  }
  return scores;
}

/**
 * The search structure of refine: each joint's map cut into 16 x 16 pixel tiles, with each
 * tile's largest heatmap value and tag bounding box, built on first use and shared by every
 * person. A tile's pixels cannot score more than its largest value minus the rounded distance
 * from the person's mean tag to its tag box (`heatmap - round(distance)`, the round a
 * non-negative integer), so refine visits tiles best bound first and stops when no bound
 * reaches the best found. Tags are smooth over a person, so bounds are tight: a few tiles per
 * joint and person instead of the whole map.
 */
class Tiles {
  readonly #maps: BottomUpMaps;
  readonly #cache: (JointTiles | undefined)[];
  readonly tilesX: number;
  readonly tilesY: number;

  constructor(maps: BottomUpMaps) {
    this.#maps = maps;
    this.#cache = new Array(maps.k);
    this.tilesX = Math.ceil(maps.w / TILE);
    this.tilesY = Math.ceil(maps.h / TILE);
  }

  of(j: number): JointTiles {
    return this.#cache[j] ??= this.#build(j);
  }

  #build(j: number): JointTiles {
    const { h, w, l, heatmaps, tags } = this.#maps;
    const n = this.tilesX * this.tilesY;
    const maxValue = new Float64Array(n).fill(-Infinity);
    const lo = new Float64Array(n * l).fill(Infinity);
    const hi = new Float64Array(n * l).fill(-Infinity);
    const nan = new Uint8Array(n);
    const base = j * h * w;
    // Row by row, one tile-wide run at a time, the running extremes held in locals.
    for (let y = 0; y < h; y++) {
      for (let tx = 0; tx < this.tilesX; tx++) {
        const tile = (y >> TILE_BITS) * this.tilesX + tx;
        const x0 = tx << TILE_BITS;
        const end = base + y * w + Math.min(w, x0 + TILE);
        let mv = maxValue[tile];
        let lo0 = lo[tile * l], hi0 = hi[tile * l];
        let lo1 = l > 1 ? lo[tile * l + 1] : 0, hi1 = l > 1 ? hi[tile * l + 1] : 0;
        let bad = nan[tile];
        const tags0 = tags[0];
        const tags1 = tags[Math.min(1, l - 1)];
        for (let i = base + y * w + x0; i < end; i++) {
          const v = heatmaps[i];
          if (v > mv) mv = v;
          const t0 = tags0[i];
          if (t0 < lo0) lo0 = t0;
          if (t0 > hi0) hi0 = t0;
          if (t0 !== t0) bad = 1;
          if (l > 1) {
            const t1 = tags1[i];
            if (t1 < lo1) lo1 = t1;
            if (t1 > hi1) hi1 = t1;
            if (t1 !== t1) bad = 1;
          }
        }
        maxValue[tile] = mv;
        lo[tile * l] = lo0;
        hi[tile * l] = hi0;
        if (l > 1) {
          lo[tile * l + 1] = lo1;
          hi[tile * l + 1] = hi1;
        }
        nan[tile] = bad;
      }
    }
    return { maxValue, lo, hi, nan };
  }
}

interface JointTiles {
  /** Largest heatmap value per tile (-Infinity when all are NaN). */
  maxValue: Float64Array;
  /** Tag box per tile: (T, L) lows and highs over its non-NaN tags. */
  lo: Float64Array;
  hi: Float64Array;
  /** 1 where the tile holds a NaN tag (no bound). */
  nan: Uint8Array;
}

const TILE_BITS = 4;
const TILE = 1 << TILE_BITS;

/**
 * `HeatmapParser.refine` in place for every person of `g`, with heatmaps (K, H, W) and L tag
 * planes (K, H, W): fills the joints whose value is 0 (see the module notes). Exact; it measures
 * tags only where a tile's bound could still beat the best found (see `Tiles`). NaN in the
 * heatmaps is not handled as numpy does (np.argmax would return the first NaN).
 */
export function refinePeople(g: Grouped, maps: BottomUpMaps): void {
  const tiles = new Tiles(maps);
  for (let p = 0; p < g.people; p++) refinePerson(g, p, maps, tiles);
}

function refinePerson(g: Grouped, p: number, maps: BottomUpMaps, tiles: Tiles): void {
  const { k, l } = g;
  const { h, w, heatmaps, tags } = maps;
  const width = 3 + l;
  const base = p * k * width;
  const found: Float32Array[] = [];
  for (let j = 0; j < k; j++) {
    const at = base + j * width;
    if (!(g.joints[at + 2] > 0)) continue;
    const x = Math.min(w - 1, Math.max(0, Math.trunc(g.joints[at])));
    const y = Math.min(h - 1, Math.max(0, Math.trunc(g.joints[at + 1])));
    const i = (j * h + y) * w + x;
    found.push(Float32Array.from(tags, (plane) => plane[i]));
  }
  if (found.length === 0) return; // numpy would average nothing into NaN and fill nothing
  const prev = meanRowsF32(found, l, new Float32Array(l));
  const step = new Float64Array(2);
  const plane = h * w;
  const { tilesX } = tiles;
  const count = tilesX * tiles.tilesY;
  const bound = new Float64Array(count);
  const order = new Int32Array(count);
  for (let j = 0; j < k; j++) {
    const at = base + j * width;
    if (g.joints[at + 2] !== 0) continue; // only missing joints are replaced
    const hBase = j * plane;
    const jt = tiles.of(j);
    // Bounds: the largest value minus the rounded distance to the tag box, the distance shrunk
    // by 1e-5 so that float32 rounding of a real distance never falls below it.
    for (let c = 0; c < count; c++) {
      order[c] = c;
      let d2 = 0;
      if (!jt.nan[c]) {
        // the boxes cover the first two tag values (L <= 2 here)
        for (let q = 0; q < Math.min(l, 2); q++) {
          const gap = Math.max(0, jt.lo[c * l + q] - prev[q], prev[q] - jt.hi[c * l + q]);
          d2 += gap * gap;
        }
      }
      bound[c] = f32(jt.maxValue[c] - roundHalfEven(Math.sqrt(d2) * (1 - 1e-5)));
    }
    // np.argmax of heatmap - round(distance) in float32: the largest, first by index.
    let best = -Infinity;
    let bestIdx = -1;
    // Visit the tile with the best bound, drop every tile whose bound fell below the best, repeat.
    let left = count;
    for (;;) {
      let pick = -1;
      let kept = 0;
      for (let o = 0; o < left; o++) {
        const c = order[o];
        if (bound[c] < best || bound[c] === -Infinity) continue;
        order[kept++] = c;
        if (pick < 0 || bound[c] > bound[order[pick]]) pick = kept - 1;
      }
      if (pick < 0) break;
      const c = order[pick];
      order[pick] = order[--kept];
      left = kept;
      const x0 = (c % tilesX) << TILE_BITS;
      const y0 = ((c - (c % tilesX)) / tilesX) << TILE_BITS;
      for (let y = y0, ye = Math.min(h, y0 + TILE); y < ye; y++) {
        for (let x = x0, xe = Math.min(w, x0 + TILE); x < xe; x++) {
          const i = y * w + x;
          const v = heatmaps[hBase + i];
          if (v < best || (v === best && i > bestIdx)) continue; // v - round(d) <= v
          let s = 0;
          for (let q = 0; q < l; q++) {
            const d = f32(tags[q][hBase + i] - prev[q]);
            s = q === 0 ? f32(d * d) : f32(s + f32(d * d));
          }
          const norm = f32(v - roundHalfEven(f32(Math.sqrt(s))));
          if (norm > best || (norm === best && i < bestIdx) || (bestIdx < 0 && norm === norm)) {
            best = norm;
            bestIdx = i;
          }
        }
      }
    }
    if (bestIdx < 0) continue; // every candidate NaN
    const x = bestIdx % w;
    const y = (bestIdx - x) / w;
    const val = heatmaps[hBase + bestIdx];
    if (val > 0) {
      quarterStep(heatmaps, hBase, w, h, x, y, step);
      g.joints[at] = x + 0.5 + step[0];
      g.joints[at + 1] = y + 0.5 + step[1];
      g.joints[at + 2] = val;
    }
  }
}
