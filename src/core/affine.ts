/**
 * The crop's affine matrix, bit for bit as mmpose 0.x `get_affine_transform` (float32 points)
 * followed by `cv2.getAffineTransform` (a 6x6 LU solve in float64) compute it.
 * Matrices are row-major 2x3 `[a, b, c, d, e, f]`: `x' = a x + b y + c`, `y' = d x + e y + f`.
 * @module
 */
import { DEFAULT_PIXEL_STD } from './boxes.ts';

const f32 = Math.fround;

/**
 * mmpose's `get_affine_transform(center, scale, rot, (outW, outH), inv=inv)` (standard, not
 * UDP; no shift): the matrix mapping image pixels to crop pixels, or crop to image with `inv`.
 * `center` and `scale` are float32 values (from {@link boxToCenterScale}); `rot` in degrees.
 */
export function getAffineTransform(
  center: readonly number[],
  scale: readonly number[],
  rot: number,
  outW: number,
  outH: number,
  inv = false,
  pixelStd = DEFAULT_PIXEL_STD,
): Float64Array {
  // scale_tmp = scale * 200 (float32); src_dir = rotate([0, src_w * -0.5]) in float64.
  const srcW = f32(f32(scale[0]) * f32(pixelStd));
  const half = srcW * -0.5;
  let sn = 0;
  let cs = 1;
  if (rot !== 0) {
    const rad = (Math.PI * rot) / 180;
    sn = Math.sin(rad);
    cs = Math.cos(rad);
  }
  const cx = f32(center[0]);
  const cy = f32(center[1]);
  // src[1] = center + src_dir, stored as float32; src[2] the third point, in float32.
  const src = threePoints(cx, cy, f32(cx + (0 * cs - half * sn)), f32(cy + (0 * sn + half * cs)));
  const dst = threePoints(
    f32(outW * 0.5),
    f32(outH * 0.5),
    f32(outW * 0.5 + 0),
    f32(outH * 0.5 + outW * -0.5),
  );
  return inv ? solveAffine(dst, src) : solveAffine(src, dst);
}

/**
 * mmpose's `_get_3rd_point` completing (a, b) in float32: b + rot90(a - b); returns `[a, b, third]`
 * flat.
 */
export function threePoints(ax: number, ay: number, bx: number, by: number): number[] {
  const dx = f32(ax - bx);
  const dy = f32(ay - by);
  return [ax, ay, bx, by, f32(bx + -dy), f32(by + dx)];
}

/**
 * `cv2.getAffineTransform(src, dst)` for three point pairs `[x0, y0, x1, y1, x2, y2]`:
 * OpenCV builds a 6x6 system and solves it with `hal::LU64f` (Gaussian elimination with
 * partial pivoting in float64), reproduced operation for operation. A degenerate triangle
 * gives all zeros, as OpenCV's failed solve does.
 */
export function solveAffine(src: readonly number[], dst: readonly number[]): Float64Array {
  const a = new Float64Array(36);
  const b = new Float64Array(6);
  for (let i = 0; i < 3; i++) {
    const j = i * 12;
    const k = i * 12 + 6;
    a[j] = a[k + 3] = src[2 * i];
    a[j + 1] = a[k + 4] = src[2 * i + 1];
    a[j + 2] = a[k + 5] = 1;
    b[i * 2] = dst[2 * i];
    b[i * 2 + 1] = dst[2 * i + 1];
  }
  return luSolve(a, b, 6) ? b : new Float64Array(6);
}

/**
 * OpenCV 4.6's `LUImpl` (one right-hand side), solving in place into `b`: pivot on the
 * largest |a|, eliminate with `alpha = a[j][i] * (-1 / a[i][i])`, back-substitute dividing by
 * the pivot. False when singular (|pivot| < 100 DBL_EPSILON).
 */
function luSolve(a: Float64Array, b: Float64Array, m: number): boolean {
  const eps = 2.220446049250313e-16 * 100;
  for (let i = 0; i < m; i++) {
    let k = i;
    for (let j = i + 1; j < m; j++) if (Math.abs(a[j * m + i]) > Math.abs(a[k * m + i])) k = j;
    if (Math.abs(a[k * m + i]) < eps) return false;
    if (k !== i) {
      for (let j = i; j < m; j++) [a[i * m + j], a[k * m + j]] = [a[k * m + j], a[i * m + j]];
      [b[i], b[k]] = [b[k], b[i]];
    }
    const d = -1 / a[i * m + i];
    for (let j = i + 1; j < m; j++) {
      const alpha = a[j * m + i] * d;
      for (let c = i + 1; c < m; c++) a[j * m + c] += alpha * a[i * m + c];
      b[j] += alpha * b[i];
    }
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < m; k++) s -= a[i * m + k] * b[k];
    b[i] = s / a[i * m + i];
  }
  return true;
}

/**
 * The inverse of a 2x3 affine matrix, computed as `cv2.warpAffine` does before warping
 * (`cv::invertAffineTransform` agrees); all zeros when singular.
 */
export function invertAffine(m: ArrayLike<number>): Float64Array {
  let det = m[0] * m[4] - m[1] * m[3];
  det = det !== 0 ? 1 / det : 0;
  const a11 = m[4] * det;
  const a22 = m[0] * det;
  const a12 = m[1] * -det;
  const a21 = m[3] * -det;
  const b1 = -a11 * m[2] - a12 * m[5];
  const b2 = -a21 * m[2] - a22 * m[5];
  return new Float64Array([a11, a12, b1, a21, a22, b2]);
}

/** Applies a 2x3 matrix to a point. */
export function applyAffine(m: ArrayLike<number>, x: number, y: number): [number, number] {
  return [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];
}
