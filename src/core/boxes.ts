/**
 * Person boxes -> the (center, scale) frames of mmpose's top-down pipeline.
 * @module
 */
import { SRPoseError } from '../errors.ts';

/** A person box `[x, y, width, height]` in image pixels, optionally with a detector score. */
export type Box =
  | readonly [number, number, number, number]
  | readonly [number, number, number, number, number];

/** Box padding of mmpose's `_xywh2cs` (`padding=1.25`). */
export const DEFAULT_BOX_PADDING = 1.25;
/** mmpose's `pixel_std`: scales are in units of 200 pixels. */
export const DEFAULT_PIXEL_STD = 200;
/**
 * Largest magnitude of a box edge (`x`, `y`, `x + w`, `y + h`): 2^24. The crop frame's center
 * and scale are float32 (as mmpose's numpy arrays), which hold every integer only up to 2^24;
 * past it a box's edges round to other pixels, the crop means nothing, and the later scale x
 * pixel_std x heatmap arithmetic can overflow (`[0, 0, 1e308, 1e308]` gave null keypoints).
 * Within it every step of the pipeline stays finite.
 */
export const MAX_BOX_COORDINATE = 2 ** 24;

/** A crop frame: center (x, y) and scale (w, h) / pixelStd, each a float32 value. */
export interface BoxFrame {
  center: [number, number];
  scale: [number, number];
}

const f32 = Math.fround;

/**
 * mmpose 0.x `_xywh2cs` (test mode), dtype for dtype: the box is widened or heightened to
 * the input's aspect ratio in float64, then center and scale are rounded to float32 and the
 * scale multiplied by `padding` in float32, as numpy does.
 */
export function boxToCenterScale(
  box: readonly number[],
  inputWidth: number,
  inputHeight: number,
  padding = DEFAULT_BOX_PADDING,
  pixelStd = DEFAULT_PIXEL_STD,
): BoxFrame {
  const [x, y] = box;
  let w = box[2];
  let h = box[3];
  const aspect = inputWidth / inputHeight;
  const center: [number, number] = [f32(x + w * 0.5), f32(y + h * 0.5)];
  if (w > aspect * h) h = (w * 1.0) / aspect;
  else if (w < aspect * h) w = h * aspect;
  const pad = f32(padding);
  return { center, scale: [f32(f32(w / pixelStd) * pad), f32(f32(h / pixelStd) * pad)] };
}

/**
 * Checks the shape of a list of person boxes, before any image is known: an array of 1 to
 * `maxBoxes` boxes, each `[x, y, w, h]` or `[x, y, w, h, score]` of finite numbers (no holes),
 * its edges `x`, `y`, `x + w`, `y + h` within +-{@link MAX_BOX_COORDINATE} and its score, when
 * given, in [0, 1]. The library, the HTTP API and the CLI all check with this. Throws
 * `INVALID_BOX`.
 */
export function checkBoxList(boxes: unknown, maxBoxes: number): asserts boxes is Box[] {
  if (!Array.isArray(boxes)) {
    throw new SRPoseError('INVALID_BOX', 'boxes must be an array of [x, y, width, height]');
  }
  if (boxes.length === 0) {
    throw new SRPoseError('INVALID_BOX', 'boxes is empty; leave it out to use the whole image');
  }
  if (boxes.length > maxBoxes) {
    throw new SRPoseError('INVALID_BOX', `${boxes.length} boxes; at most ${maxBoxes} at once`);
  }
  for (let i = 0; i < boxes.length; i++) {
    const box = boxes[i];
    const bad = (why: string) => new SRPoseError('INVALID_BOX', `box ${i} ${show(box)}: ${why}`);
    if (!Array.isArray(box) || (box.length !== 4 && box.length !== 5)) {
      throw bad('expected [x, y, width, height] or [x, y, width, height, score]');
    }
    // a for loop, not every(): every() skips the holes of a sparse array
    for (let j = 0; j < box.length; j++) {
      if (typeof box[j] !== 'number' || !Number.isFinite(box[j])) {
        throw bad('every value must be a finite number');
      }
    }
    const [x, y, w, h, score] = box as number[];
    const edges = { x, y, 'x + width': x + w, 'y + height': y + h };
    for (const [name, v] of Object.entries(edges)) {
      if (!(Math.abs(v) <= MAX_BOX_COORDINATE)) {
        throw bad(`${name} is ${v}; box edges must lie within +-${MAX_BOX_COORDINATE} (2^24)`);
      }
    }
    if (box.length === 5 && !(score >= 0 && score <= 1)) {
      throw bad(`score is ${score}; a detector score must lie in [0, 1]`);
    }
  }
}

/**
 * Checks person boxes `[x, y, w, h]` (optionally `, score`) against an image: the shape of
 * {@link checkBoxList}, `w` and `h` positive, and some overlap with the image (a box partly
 * outside is fine: the crop pads with black). Throws `INVALID_BOX` naming the first bad box.
 */
export function validateBoxes(
  boxes: unknown,
  imageWidth: number,
  imageHeight: number,
  maxBoxes = Infinity,
): asserts boxes is Box[] {
  checkBoxList(boxes, maxBoxes);
  boxes.forEach((box, i) => {
    const bad = (why: string) => new SRPoseError('INVALID_BOX', `box ${i} ${show(box)}: ${why}`);
    const [x, y, w, h] = box;
    if (!(w > 0) || !(h > 0)) throw bad('width and height must be > 0');
    if (x >= imageWidth || y >= imageHeight || x + w <= 0 || y + h <= 0) {
      throw bad(`lies wholly outside the ${imageWidth}x${imageHeight} image`);
    }
  });
}

/** A box as the messages show it; never throws (BigInt, cycles), cut to 120 characters. */
function show(box: unknown): string {
  const one = (v: unknown): string => {
    if (typeof v === 'number') return String(v);
    if (typeof v === 'bigint') return `${v}n`;
    try {
      return JSON.stringify(v) ?? String(v);
    } catch {
      return Object.prototype.toString.call(v);
    }
  };
  const text = Array.isArray(box) ? `[${Array.from(box, one).join(', ')}]` : one(box);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
