/**
 * The bottom-up input frame, as mmpose 0.x `BottomUpGetImgSize` + `BottomUpResizeAlign`
 * (`_get_multi_scale_size`, `_resize_align_multi_scale`) at test scale 1, not UDP:
 *
 * - the short side becomes `size` (itself rounded up to `multipleOf`), the long side
 *   `size / short * long` rounded up to `multipleOf` (the official code hard-codes 64);
 * - `center` is `(round(w / 2), round(h / 2))` with Python's `round` (half to even, integers);
 * - `scale` is in units of 200 px, float64: the short side's length over 200, the other side
 *   so that the aspect ratio is the network input's;
 * - the warp matrix is `get_affine_transform(center, scale, 0, (width, height))` with the
 *   scale in float64 (top-down rounds it to float32 first), solved by `cv2.getAffineTransform`,
 *   for `cv2.warpAffine` (`src/core/warp.ts`) to resize the whole image.
 * @module
 */
import { solveAffine, threePoints } from '../affine.ts';
import { roundHalfEven } from './numeric.ts';

const f32 = Math.fround;

/** Where the network input sits in the image. */
export interface BottomUpFrame {
  /** Network input width and height (`base_size`). */
  width: number;
  height: number;
  /** mmpose `center`: integers. */
  center: [number, number];
  /** mmpose `scale`: (w, h) / 200, float64. */
  scale: [number, number];
}

/** mmpose `_ceil_to_multiples_of`. */
const ceilTo = (x: number, base: number) => Math.ceil(x / base) * base;

/**
 * The input size, center and scale for an image of `imageWidth` x `imageHeight`.
 *
 * @param size the network's short side (`data_cfg.image_size`, 512)
 * @param multipleOf both sides are multiples of it (64 in the official code)
 */
export function bottomUpFrame(
  imageWidth: number,
  imageHeight: number,
  size: number,
  multipleOf: number,
): BottomUpFrame {
  const w = imageWidth;
  const h = imageHeight;
  const min = ceilTo(size, multipleOf);
  let width: number;
  let height: number;
  let sw: number;
  let sh: number;
  if (w < h) {
    width = min;
    height = ceilTo((min / w) * h, multipleOf);
    sw = w / 200.0;
    sh = ((height / width) * w) / 200.0;
  } else {
    height = min;
    width = ceilTo((min / h) * w, multipleOf);
    sh = h / 200.0;
    sw = ((width / height) * h) / 200.0;
  }
  return { width, height, center: [roundHalfEven(w / 2), roundHalfEven(h / 2)], scale: [sw, sh] };
}

/**
 * The image -> input matrix (row-major 2x3, float64) of `get_affine_transform` with a float64
 * scale, as `cv2.getAffineTransform` solves it.
 */
export function bottomUpMatrix(frame: BottomUpFrame): Float64Array {
  const [cx, cy] = frame.center;
  const half = frame.scale[0] * 200.0 * -0.5;
  const { width: ow, height: oh } = frame;
  const src = threePoints(f32(cx), f32(cy), f32(cx + 0), f32(cy + half));
  const dst = threePoints(
    f32(ow * 0.5),
    f32(oh * 0.5),
    f32(ow * 0.5 + 0),
    f32(oh * 0.5 + ow * -0.5),
  );
  return solveAffine(src, dst);
}
