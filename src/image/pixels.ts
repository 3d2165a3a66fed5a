/**
 * Caller-supplied pixels and bytes, normalised: packed RGB out of RGB / RGBA, with an EXIF
 * orientation applied on the way when asked.
 * @module
 */
import { SRPoseError } from '../errors.ts';
import type { Pixels } from '../types.ts';

/** Packed RGB pixels, row-major: `data` is (height, width, 3). */
export interface RgbPixels {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * Checks caller pixels and returns them as packed RGB: RGB data is used as is (no copy),
 * RGBA drops its alpha (as `cv2.imread(IMREAD_COLOR)` does). Channels come from `channels`
 * or, when omitted, from `data.length`. Throws `INVALID_PIXELS` for a mismatch,
 * `IMAGE_EMPTY` for a zero width or height.
 */
export function pixelsToRgb(px: Pixels): RgbPixels {
  if (!px || typeof px !== 'object') {
    throw new SRPoseError('INVALID_PIXELS', 'pixels must be { data, width, height }');
  }
  const { data, width, height, channels } = px;
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    throw new SRPoseError(
      'INVALID_PIXELS',
      'pixels.data must be a Uint8Array or Uint8ClampedArray',
    );
  }
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width < 0 || height < 0) {
    throw new SRPoseError(
      'INVALID_PIXELS',
      `pixels width and height must be whole numbers, got ${width}x${height}`,
    );
  }
  if (width === 0 || height === 0) {
    throw new SRPoseError('IMAGE_EMPTY', `the pixels are ${width}x${height}`);
  }
  if (channels !== undefined && channels !== 3 && channels !== 4) {
    throw new SRPoseError('INVALID_PIXELS', `pixels.channels must be 3 or 4, got ${channels}`);
  }
  const n = width * height;
  const c = channels ?? (data.length === n * 3 ? 3 : data.length === n * 4 ? 4 : 0);
  if (c === 0 || data.length !== n * c) {
    const expected = channels
      ? `${n * channels} (${width}x${height}x${channels})`
      : `${n * 3} (RGB) or ${n * 4} (RGBA)`;
    throw new SRPoseError(
      'INVALID_PIXELS',
      `pixels.data has ${data.length} bytes; ${width}x${height} needs ${expected}`,
    );
  }
  const bytes = data instanceof Uint8Array
    ? data
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return c === 3 ? { data: bytes, width, height } : packRgb(bytes, width, height, 4, 1);
}

/**
 * Packs RGB / RGBA samples as RGB, applying an EXIF orientation (1..8) as OpenCV's
 * `ExifTransform` does: 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise,
 * 7 transverse, 8 rotate 90 counter-clockwise. 5..8 swap width and height.
 */
export function packRgb(
  src: ArrayLike<number>,
  width: number,
  height: number,
  channels: number,
  orientation = 1,
): RgbPixels {
  const swap = orientation >= 5 && orientation <= 8;
  const w = swap ? height : width;
  const h = swap ? width : height;
  // Source pixel of output (x, y) = start + x * dx + y * dy, in pixels.
  const last = width * (height - 1);
  const [start, dx, dy] = (
    {
      2: [width - 1, -1, width],
      3: [last + width - 1, -1, -width],
      4: [last, 1, -width],
      5: [0, width, 1],
      6: [last, -width, 1],
      7: [last + width - 1, -width, -1],
      8: [width - 1, width, -1],
    } as Record<number, [number, number, number]>
  )[orientation] ?? [0, 1, width];
  const out = new Uint8Array(w * h * 3);
  if (
    dx === 1 && dy === width && channels === 4 && isBytesOnLittleEndian(src) &&
    src.byteOffset % 4 === 0
  ) {
    rgbaToRgbWords(src, width * height, out);
  } else if (dx === 1 && dy === width) {
    for (let i = 0, o = 0, end = width * height * channels; i < end; i += channels, o += 3) {
      out[o] = src[i];
      out[o + 1] = src[i + 1];
      out[o + 2] = src[i + 2];
    }
  } else {
    const sx = dx * channels;
    for (let y = 0, o = 0; y < h; y++) {
      for (let x = 0, i = (start + y * dy) * channels; x < w; x++, i += sx, o += 3) {
        out[o] = src[i];
        out[o + 1] = src[i + 1];
        out[o + 2] = src[i + 2];
      }
    }
  }
  return { data: out, width: w, height: h };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/**
 * A byte array whose bytes can be read as little-endian 32-bit words (every platform we target).
 */
const isBytesOnLittleEndian = (a: ArrayLike<number>): a is Uint8Array | Uint8ClampedArray =>
  LITTLE_ENDIAN && (a instanceof Uint8Array || a instanceof Uint8ClampedArray);

/**
 * RGBA -> RGB four pixels at a time as 32-bit words (16 bytes in, 12 out; little-endian): four
 * bytes per load and store instead of one, where the byte loop was most of a decode's time
 * outside the codec (an RGBA decoder's output; the `decode` stage of `npm run bench` and of
 * `npm run bench -- backends` measures it). `src` 4-byte aligned.
 */
function rgbaToRgbWords(src: Uint8Array | Uint8ClampedArray, n: number, out: Uint8Array): void {
  const s = new Uint32Array(src.buffer, src.byteOffset, n);
  const o = new Uint32Array(out.buffer, out.byteOffset, (3 * n) >> 2);
  let i = 0;
  for (let j = 0, end = n & ~3; i < end; i += 4, j += 3) {
    const a = s[i], b = s[i + 1], c = s[i + 2], d = s[i + 3];
    o[j] = (a & 0xffffff) | (b << 24);
    o[j + 1] = ((b >>> 8) & 0xffff) | (c << 16);
    o[j + 2] = ((c >>> 16) & 0xff) | (d << 8);
  }
  for (; i < n; i++) {
    out[3 * i] = src[4 * i];
    out[3 * i + 1] = src[4 * i + 1];
    out[3 * i + 2] = src[4 * i + 2];
  }
}

/**
 * Encoded image bytes from a `Uint8Array` (as is), any other byte view, an `ArrayBuffer` or a
 * `Blob`.
 */
export async function toBytes(
  input: Uint8Array | ArrayBuffer | ArrayBufferView | Blob,
): Promise<Uint8Array> {
  if (input instanceof Uint8Array) return input;
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) {
    return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  }
  if (typeof Blob !== 'undefined' && input instanceof Blob) {
    return new Uint8Array(await input.arrayBuffer());
  }
  const what = input === null
    ? 'null'
    : typeof input === 'object'
    ? (input as object).constructor?.name ?? 'object'
    : typeof input;
  throw new SRPoseError(
    'IMAGE_UNSUPPORTED',
    `expected image bytes (Uint8Array, ArrayBuffer or Blob), got ${what}`,
  );
}
