/**
 * YOLOX's test-time input (`ValTransform` / `preproc` in Megvii-BaseDetection/YOLOX
 * `yolox/data/data_augment.py`), bit for bit: the image scaled by
 * `r = min(height / h, width / w)` (float64) to `(int(w * r), int(h * r))` with
 * `cv2.resize(INTER_LINEAR)` (./resize.ts), placed top-left on a `height` x `width` canvas of
 * 114, channels first as float32.
 *
 * YOLOX reads `cv2.imread` BGR images: the planes are B, G, R with values 0..255 as they are.
 * `legacy` (checkpoints before 0.1.1rc0) flips them back to R, G, B and normalises in place as
 * numpy does it: `x /= 255.0` in float32, then `x -= mean` and `x /= std` with float64 arrays,
 * each computed in float64 and stored as float32.
 * @module
 */
import { SRPoseError } from '../errors.ts';
import { checkSource, resizeInto } from './resize.ts';

/** The canvas value around the resized image (`preproc`'s `np.ones(...) * 114`). */
export const LETTERBOX_PAD_VALUE = 114;
/** The legacy normalisation's mean (R, G, B), float64 as in `ValTransform`. */
export const LEGACY_MEAN: readonly number[] = Object.freeze([0.485, 0.456, 0.406]);
/** The legacy normalisation's std (R, G, B), float64 as in `ValTransform`. */
export const LEGACY_STD: readonly number[] = Object.freeze([0.229, 0.224, 0.225]);

/** The network input and how to fill it (the `input` of a detector's srpose.json fits). */
export interface LetterboxOptions {
  /** Input width and height (the exp's `test_size` is `(height, width)`). */
  width: number;
  height: number;
  /** Checkpoints before YOLOX 0.1.1rc0: RGB, / 255, ImageNet mean and std. */
  legacy?: boolean;
  /** Where to write the `3 x height x width` tensor (length at least that). */
  out?: Float32Array;
  /** Room for the resized pixels (at least `resized.width * resized.height * 3` bytes). */
  scratch?: Uint8Array;
}

/** A letterboxed input. */
export interface Letterboxed {
  /** `(3, height, width)` float32: B, G, R planes, or R, G, B normalised with `legacy`. */
  data: Float32Array;
  /** The scale from image to input pixels, `min(height / h, width / w)` (float64). */
  ratio: number;
  /** The size of the image on the canvas: `(int(w * ratio), int(h * ratio))`. */
  resized: { width: number; height: number };
}

/** The ratio and resized size `preproc` computes for a `w` x `h` image (Python float64). */
export function letterboxSize(
  w: number,
  h: number,
  width: number,
  height: number,
): { ratio: number; width: number; height: number } {
  const ratio = Math.min(height / h, width / w);
  return { ratio, width: Math.floor(w * ratio), height: Math.floor(h * ratio) };
}

/**
 * Per output plane, the 256 values a pixel value becomes (planes in output order: B, G, R, or
 * R, G, B with `legacy`), with the float32 roundings of the official numpy code.
 */
export function letterboxTable(legacy: boolean): Float32Array {
  const lut = new Float32Array(3 * 256);
  const f = Math.fround;
  for (let c = 0; c < 3; c++) {
    for (let v = 0; v < 256; v++) {
      lut[c * 256 + v] = legacy ? f(f(f(v / 255) - LEGACY_MEAN[c]) / LEGACY_STD[c]) : v;
    }
  }
  return lut;
}

const tables: Record<'legacy' | 'plain', Float32Array | undefined> = {
  legacy: undefined,
  plain: undefined,
};

/**
 * Letterboxes packed RGB pixels (`channels` 3, or 4 with the alpha ignored) of a `srcW` x
 * `srcH` image into YOLOX's input tensor, as `ValTransform` does to the `cv2.imread` (BGR) image
 * of the same picture.
 */
export function letterbox(
  src: Uint8Array | Uint8ClampedArray,
  srcW: number,
  srcH: number,
  channels: number,
  opts: LetterboxOptions,
): Letterboxed {
  checkSource('letterbox', src, srcW, srcH, channels);
  const { width, height, legacy = false } = opts;
  const bad = (why: string) => new SRPoseError('INVALID_OPTION', `letterbox: ${why}`);
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) {
    throw bad(`the input size must be positive integers, got ${width}x${height}`);
  }
  const { ratio, width: nw, height: nh } = letterboxSize(srcW, srcH, width, height);
  if (nw < 1 || nh < 1) {
    throw bad(
      `a ${srcW}x${srcH} image scaled by ${ratio} into ${width}x${height} is ${nw}x${nh} pixels`,
    );
  }
  const plane = width * height;
  const data = opts.out ?? new Float32Array(3 * plane);
  if (data.length < 3 * plane) {
    throw bad(`out has ${data.length} values, 3x${height}x${width} needs ${3 * plane}`);
  }
  const px = opts.scratch ?? new Uint8Array(nw * nh * 3);
  if (px.length < nw * nh * 3) {
    throw bad(`scratch has ${px.length} bytes, ${nw}x${nh}x3 needs ${nw * nh * 3}`);
  }
  resizeInto(src, srcW, srcH, channels, 3, nw, nh, px);

  const lut = legacy
    ? (tables.legacy ??= letterboxTable(true))
    : (tables.plain ??= letterboxTable(false));
  // Output plane p reads RGB channel ch[p] (B, G, R unless legacy).
  const ch = legacy ? [0, 1, 2] : [2, 1, 0];
  for (let p = 0; p < 3; p++) {
    const t = p * 256;
    const k = ch[p];
    const pad = lut[t + LETTERBOX_PAD_VALUE];
    const base = p * plane;
    for (let y = 0; y < nh; y++) {
      const d = base + y * width;
      for (let x = 0, s = y * nw * 3 + k; x < nw; x++, s += 3) data[d + x] = lut[t + px[s]];
      data.fill(pad, d + nw, d + width);
    }
    data.fill(pad, base + nh * width, base + plane);
  }
  return { data, ratio, resized: { width: nw, height: nh } };
}
