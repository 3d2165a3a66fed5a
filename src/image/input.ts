/**
 * Any {@link ImageInput} -> packed RGB: encoded bytes are decoded (OpenCV-exact), caller
 * pixels are checked and packed.
 * @module
 */
import { SRPoseError } from '../errors.ts';
import type { ImageInput, Pixels } from '../types.ts';
import { decodeImage } from './decode.ts';
import { pixelsToRgb, type RgbPixels, toBytes } from './pixels.ts';

/** Packed RGB pixels, (height, width, 3). */
export type RgbImage = RgbPixels;

function isPixels(v: unknown): v is Pixels {
  return typeof v === 'object' && v !== null && 'data' in v && 'width' in v && 'height' in v;
}

/** Decodes or unpacks `input`; `maxPixels` is checked from the header before decoding. */
export async function readImage(input: ImageInput, maxPixels: number): Promise<RgbImage> {
  if (isPixels(input)) {
    const px = pixelsToRgb(input);
    if (px.width * px.height > maxPixels) {
      throw new SRPoseError(
        'IMAGE_TOO_LARGE',
        `the pixels are ${px.width}x${px.height}, over the ${maxPixels} pixel limit`,
      );
    }
    return px;
  }
  if (
    !(input instanceof Uint8Array || input instanceof ArrayBuffer ||
      (typeof Blob !== 'undefined' && input instanceof Blob))
  ) {
    throw new SRPoseError(
      'IMAGE_UNSUPPORTED',
      'image must be encoded bytes (Uint8Array, ArrayBuffer, Blob) or { data, width, height }',
    );
  }
  return await decodeImage(await toBytes(input), { maxPixels });
}
