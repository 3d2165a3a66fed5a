// Synthetic bottom-up network outputs with a known answer: every person is a set of Gaussian
// joints (heatmaps) with one constant tag under each (tag maps); same-type joints of different
// people are far enough apart for the 5x5 NMS to keep each peak, so the official grouping must
// give back exactly these people. Used by tests/core/bottomup.test.ts and bench/bottom-up.ts.
import type { BottomUpMaps, GroupingParams } from '../../src/core/bottomup/index.ts';

/** The official COCO `test_cfg` grouping of bu_res50 (mmpose's HeatmapParser settings). */
export const COCO_GROUPING: GroupingParams = {
  maxPeople: 30,
  nmsKernel: 5,
  nmsPadding: 2,
  detectionThreshold: 0.1,
  tagThreshold: 1,
  useDetectionVal: true,
  ignoreTooMuch: false,
  adjust: true,
  refine: true,
};

export interface SceneJoint {
  /** The peak pixel. */
  px: number;
  py: number;
  /** The Gaussian's centre is (px + dx, py + dy); dx, dy are +-0.2, so (px, py) is the maximum. */
  dx: number;
  dy: number;
  /** The peak pixel's value (float32). */
  peak: number;
  /** Below the detection threshold: only `refine` can find it. */
  weak: boolean;
}

export interface ScenePerson {
  tag: number;
  /** One entry per joint type; null when the person has no such joint at all. */
  joints: (SceneJoint | null)[];
}

export interface Scene {
  maps: BottomUpMaps;
  people: ScenePerson[];
}

export interface SceneOptions {
  k: number;
  w: number;
  h: number;
  people: number;
  seed: number;
  /** Probability that a joint is absent. */
  missing?: number;
  /** Probability that a present joint is weak (value 0.06, below a 0.1 threshold). */
  weak?: number;
  /** Put some joints on the map's border pixels. */
  borders?: boolean;
  /**
   * People crowd into a region this many pixels wide around the map's centre (default: the whole
   * map).
   */
  spread?: number;
  sigma?: number;
  /**
   * Background like a real network's: heatmap noise in [-noise / 2, noise / 2] (keep it under
   * the detection threshold) and random tags over the people's range, instead of 0 and
   * {@link BACKGROUND_TAG}. Keypoints are still exact (a peak and its neighbours are well
   * above it), but refine may then fill an absent joint from the background.
   */
  noise?: number;
}

/** Tag of the background (far from every person's). */
export const BACKGROUND_TAG = 500;
// Gaussians are cut off here, so peaks 7 px apart never touch each other's 5x5 window
const RADIUS = 4;
const SEPARATION = 7;

/**
 * Builds heatmaps (K, H, W) and one tag plane (K, H, W) for `people` people (see the file notes).
 */
export function makeScene(o: SceneOptions): Scene {
  const { k, w, h } = o;
  const sigma = o.sigma ?? 1.5;
  let seed = o.seed;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const heatmaps = new Float32Array(k * h * w);
  const tags = new Float32Array(k * h * w).fill(BACKGROUND_TAG);
  const owner = new Float32Array(k * h * w); // the value that owns a pixel's tag
  if (o.noise) {
    for (let i = 0; i < heatmaps.length; i++) {
      heatmaps[i] = (rnd() - 0.5) * o.noise;
      tags[i] = (rnd() - 0.5) * 2 * (o.people + 1);
    }
    owner.fill(-Infinity);
  }
  const spread = Math.min(o.spread ?? Infinity, w, h);
  const people: ScenePerson[] = [];
  const taken: [number, number][][] = Array.from({ length: k }, () => []);
  for (let p = 0; p < o.people; p++) {
    // Tags 2 apart, so round(distance) between people is >= 2 and a person's own is 0.
    // odd: never 0, the tag refine leaves
    const person: ScenePerson = { tag: 2 * (p - (o.people >> 1)) + 1, joints: [] };
    for (let j = 0; j < k; j++) {
      if (rnd() < (o.missing ?? 0)) {
        person.joints.push(null);
        continue;
      }
      let px = 0, py = 0;
      for (let tries = 0;; tries++) {
        if (tries > 10000) throw new Error('scene too crowded');
        if (o.borders && rnd() < 0.15) {
          const side = Math.floor(rnd() * 4);
          px = side === 0 ? 0 : side === 1 ? w - 1 : Math.floor(rnd() * w);
          py = side === 2 ? 0 : side === 3 ? h - 1 : Math.floor(rnd() * h);
        } else {
          px = Math.floor((w - spread) / 2 + rnd() * spread);
          py = Math.floor((h - spread) / 2 + rnd() * spread);
        }
        if (
          taken[j].every(([x, y]) => Math.max(Math.abs(x - px), Math.abs(y - py)) >= SEPARATION)
        ) break;
      }
      taken[j].push([px, py]);
      const dx = rnd() < 0.5 ? -0.2 : 0.2;
      const dy = rnd() < 0.5 ? -0.2 : 0.2;
      const weak = rnd() < (o.weak ?? 0);
      const amp = weak ? 0.06 : 0.3 + 0.7 * rnd();
      const cx = px + dx, cy = py + dy;
      for (let y = Math.max(0, py - RADIUS); y <= Math.min(h - 1, py + RADIUS); y++) {
        for (let x = Math.max(0, px - RADIUS); x <= Math.min(w - 1, px + RADIUS); x++) {
          const i = j * h * w + y * w + x;
          const v = Math.fround(
            amp * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma * sigma)),
          );
          if (v > owner[i] && v > heatmaps[i]) {
            owner[i] = v;
            heatmaps[i] = v;
            tags[i] = person.tag;
          }
        }
      }
      person.joints.push({ px, py, dx, dy, peak: heatmaps[j * h * w + py * w + px], weak });
    }
    people.push(person);
  }
  return { maps: { heatmaps, tags: [tags], k, h, w, l: 1 }, people };
}

/**
 * The official adjusted position of a scene joint in heatmap pixels: the peak plus 0.5, plus a
 * quarter toward the higher neighbour; on the border the neighbour index is clamped, so the
 * peak compares with itself (left/top: -0.25, right/bottom: +0.25).
 */
export function expectedPosition(jt: SceneJoint, w: number, h: number): [number, number] {
  const step = (
    p: number,
    d: number,
    n: number,
  ) => (p === 0 ? -0.25 : p === n - 1 ? 0.25 : d > 0 ? 0.25 : -0.25);
  return [jt.px + 0.5 + step(jt.px, jt.dx, w), jt.py + 0.5 + step(jt.py, jt.dy, h)];
}

/**
 * The scene as the network's two outputs under the flip test: the image's (2K, H, W) and the
 * mirrored image's (its exact mirror, left/right joints swapped with `flipIndex`).
 */
export function asFlipOutputs(
  scene: Scene,
  flipIndex: Int32Array,
): { plain: Float32Array; flipped: Float32Array } {
  const { k, h, w, heatmaps, tags } = scene.maps;
  const plane = h * w;
  const plain = new Float32Array(2 * k * plane);
  plain.set(heatmaps, 0);
  plain.set(tags[0], k * plane);
  const flipped = new Float32Array(2 * k * plane);
  for (let c = 0; c < 2 * k; c++) {
    const j = c % k;
    const src = (c - j + flipIndex[j]) * plane;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        flipped[c * plane + y * w + x] = plain[src + y * w + (w - 1 - x)];
      }
    }
  }
  return { plain, flipped };
}
