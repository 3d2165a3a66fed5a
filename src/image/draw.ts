import { KEYPOINT_SCORE_THRESHOLD } from '../defaults.ts';
import type { Person } from '../types.ts';
import { encodePng } from './codecs.ts';
import type { RgbImage } from './input.ts';

// One colour per limb, cycling; keypoints in white with a dark rim.
const PALETTE: readonly (readonly [number, number, number])[] = [
  [255, 128, 0],
  [255, 153, 51],
  [255, 178, 102],
  [230, 230, 0],
  [255, 153, 255],
  [153, 204, 255],
  [255, 102, 255],
  [255, 51, 255],
  [102, 178, 255],
  [51, 153, 255],
  [255, 153, 153],
  [255, 102, 102],
  [255, 51, 51],
  [153, 255, 153],
  [102, 255, 102],
  [51, 255, 51],
  [0, 255, 0],
  [0, 0, 255],
  [255, 0, 0],
];

function disc(
  rgba: Uint8ClampedArray,
  w: number,
  h: number,
  cx: number,
  cy: number,
  r: number,
  c: readonly number[],
): void {
  const x0 = Math.max(0, Math.floor(cx - r));
  const x1 = Math.min(w - 1, Math.ceil(cx + r));
  const y0 = Math.max(0, Math.floor(cy - r));
  const y1 = Math.min(h - 1, Math.ceil(cy + r));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) {
        const o = (y * w + x) * 4;
        rgba[o] = c[0];
        rgba[o + 1] = c[1];
        rgba[o + 2] = c[2];
      }
    }
  }
}

function line(
  rgba: Uint8ClampedArray,
  w: number,
  h: number,
  ax: number,
  ay: number,
  bx: number,
  by: number,
  r: number,
  c: readonly number[],
): void {
  // Stamps discs along the segment: simple, and thick lines come out round-capped.
  const steps = Math.max(1, Math.ceil(Math.hypot(bx - ax, by - ay) / Math.max(0.5, r * 0.5)));
  for (let s = 0; s <= steps; s++) {
    disc(rgba, w, h, ax + (bx - ax) * s / steps, ay + (by - ay) * s / steps, r, c);
  }
}

/**
 * Draws people over the image: limbs of `skeleton` and keypoints whose score is above
 * `minScore` (mmpose's 0.2 by default). Returns RGBA pixels.
 */
export function renderPoses(
  img: RgbImage,
  people: readonly Person[],
  skeleton: readonly (readonly [number, number])[],
  minScore = KEYPOINT_SCORE_THRESHOLD,
): { data: Uint8ClampedArray; width: number; height: number } {
  const { width: w, height: h } = img;
  const rgba = new Uint8ClampedArray(w * h * 4);
  for (let i = 0, j = 0; i < w * h * 3; i += 3, j += 4) {
    rgba[j] = img.data[i];
    rgba[j + 1] = img.data[i + 1];
    rgba[j + 2] = img.data[i + 2];
    rgba[j + 3] = 255;
  }
  const r = Math.max(1.5, Math.min(w, h) / 160);
  for (const p of people) {
    skeleton.forEach(([a, b], li) => {
      const ka = p.keypoints[a];
      const kb = p.keypoints[b];
      if (ka && kb && ka.score > minScore && kb.score > minScore) {
        line(rgba, w, h, ka.x, ka.y, kb.x, kb.y, r, PALETTE[li % PALETTE.length]);
      }
    });
    for (const k of p.keypoints) {
      if (k.score <= minScore) continue;
      disc(rgba, w, h, k.x, k.y, r * 1.6, [32, 32, 32]);
      disc(rgba, w, h, k.x, k.y, r, [255, 255, 255]);
    }
  }
  return { data: rgba, width: w, height: h };
}

/** {@link renderPoses}, encoded as PNG. */
export async function drawPoses(
  img: RgbImage,
  people: readonly Person[],
  skeleton: readonly (readonly [number, number])[],
  minScore?: number,
): Promise<Uint8Array> {
  return await encodePng(renderPoses(img, people, skeleton, minScore));
}
