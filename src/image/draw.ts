/**
 * People drawn over an image: on a 2D canvas ({@link drawPoses}, exported by `srpose/browser`),
 * or into RGBA / PNG bytes ({@link renderPoses}, {@link renderPosesPng}: the CLI's `--draw`).
 * Both draw the same way: limbs in one colour each, keypoints in white with a dark rim, only
 * what scores above `minScore`.
 * @module
 */
import { KEYPOINT_SCORE_THRESHOLD } from '../defaults.ts';
import { SRPoseError } from '../errors.ts';
import type { CanvasContext2D, Person } from '../types.ts';
import { encodePng } from './codecs.ts';
import type { RgbImage } from './input.ts';

/**
 * mmpose's COCO skeleton: 19 limbs as pairs of indices into the 17 COCO keypoints (nose, eyes,
 * ears, shoulders, elbows, wrists, hips, knees, ankles). The skeleton of every model srpose
 * exports (`srpose.json` `skeleton`, written by models/srpose_models/build.py; the tests check
 * the two agree); a model's own is `estimator.info.skeleton`.
 */
export const COCO_SKELETON: readonly (readonly [number, number])[] = Object.freeze(
  (
    [
      [15, 13],
      [13, 11],
      [16, 14],
      [14, 12],
      [11, 12],
      [5, 11],
      [6, 12],
      [5, 6],
      [5, 7],
      [6, 8],
      [7, 9],
      [8, 10],
      [1, 2],
      [0, 1],
      [0, 2],
      [1, 3],
      [2, 4],
      [3, 5],
      [4, 6],
    ] as const
  ).map((limb) => Object.freeze(limb)),
);

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
export async function renderPosesPng(
  img: RgbImage,
  people: readonly Person[],
  skeleton: readonly (readonly [number, number])[],
  minScore?: number,
): Promise<Uint8Array> {
  return await encodePng(renderPoses(img, people, skeleton, minScore));
}

/** Options of {@link drawPoses}. */
export interface DrawPosesOptions {
  /**
   * Limbs as pairs of keypoint indices; default {@link COCO_SKELETON} (pass
   * `estimator.info.skeleton` for a model with other keypoints). Empty: keypoints only.
   */
  skeleton?: readonly (readonly [number, number])[];
  /**
   * Keypoints scoring at or below it are not drawn, nor the limbs that end in them; default
   * `KEYPOINT_SCORE_THRESHOLD` (mmpose's 0.2).
   */
  minScore?: number;
  /**
   * Keypoint radius in canvas pixels; default `max(1.5, min(width, height) / 160)` of the
   * canvas, as the CLI's `--draw` renders.
   */
  radius?: number;
  /** Limb width in canvas pixels; default twice `radius`. */
  lineWidth?: number;
  /** CSS colours; defaults as the CLI's `--draw`. */
  colors?: {
    /** One per limb of `skeleton`, cycling; default mmpose-like oranges, pinks, blues, greens. */
    limbs?: readonly string[];
    /** Keypoint fill; default white. */
    keypoint?: string;
    /** The rim around each keypoint; default near-black. */
    outline?: string;
  };
}

const LIMB_COLORS: readonly string[] = PALETTE.map(([r, g, b]) => `rgb(${r}, ${g}, ${b})`);

function positive(v: number | undefined, name: string): number | undefined {
  if (v !== undefined && !(typeof v === 'number' && v > 0 && Number.isFinite(v))) {
    throw new SRPoseError('INVALID_OPTION', `${name} must be a positive number, got ${v}`);
  }
  return v;
}

/**
 * Draws `people` (an estimate's `people`, in the canvas's pixels: draw the image at its own size
 * first) on a 2D canvas context: each limb of the skeleton whose two keypoints score above
 * `minScore`, then each such keypoint. The context's state (styles, transform, path) is saved
 * and restored around the drawing, so its transform applies, as to any drawing.
 *
 * ```ts
 * const { people } = await estimator.estimate(video);
 * ctx.drawImage(video, 0, 0);
 * drawPoses(ctx, people, { skeleton: estimator.info.skeleton });
 * ```
 */
export function drawPoses(
  ctx: CanvasContext2D,
  people: readonly Person[],
  options: DrawPosesOptions = {},
): void {
  const c: CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D = ctx;
  const skeleton = options.skeleton ?? COCO_SKELETON;
  const minScore = options.minScore ?? KEYPOINT_SCORE_THRESHOLD;
  const r = positive(options.radius, 'radius') ??
    Math.max(1.5, Math.min(c.canvas.width, c.canvas.height) / 160);
  const limbColors = options.colors?.limbs?.length ? options.colors.limbs : LIMB_COLORS;
  const shown = (k: Person['keypoints'][number] | undefined) =>
    k !== undefined && k.score > minScore && Number.isFinite(k.x) && Number.isFinite(k.y);
  c.save();
  try {
    c.lineCap = 'round';
    c.lineWidth = positive(options.lineWidth, 'lineWidth') ?? 2 * r;
    for (const p of people) {
      skeleton.forEach(([a, b], i) => {
        const ka = p.keypoints[a];
        const kb = p.keypoints[b];
        if (!shown(ka) || !shown(kb)) return;
        c.strokeStyle = limbColors[i % limbColors.length]!;
        c.beginPath();
        c.moveTo(ka!.x, ka!.y);
        c.lineTo(kb!.x, kb!.y);
        c.stroke();
      });
      for (const k of p.keypoints) {
        if (!shown(k)) continue;
        c.fillStyle = options.colors?.outline ?? 'rgb(32, 32, 32)';
        c.beginPath();
        c.arc(k.x, k.y, r * 1.6, 0, 2 * Math.PI);
        c.fill();
        c.fillStyle = options.colors?.keypoint ?? 'rgb(255, 255, 255)';
        c.beginPath();
        c.arc(k.x, k.y, r, 0, 2 * Math.PI);
        c.fill();
      }
    }
  } finally {
    c.restore();
  }
}
