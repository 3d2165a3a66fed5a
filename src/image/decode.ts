/**
 * Encoded image -> packed RGB, pixel for pixel what `cv2.imread(path, IMREAD_COLOR)` + BGR->RGB
 * gives (OpenCV 4.6 with libjpeg-turbo / libpng / libwebp): alpha dropped, grey replicated,
 * 16-bit samples cut to their high byte, EXIF orientation applied.
 * @module
 */
import { discard } from '../core/buffer-pool.ts';
import { DEFAULT_MAX_PIXELS } from '../defaults.ts';
import { SRPoseError } from '../errors.ts';
import { decodeJpegRgba, decodePngRgba, decodeWebpRgba, type RgbaImage } from './codecs.ts';
import { packRgb, type RgbPixels } from './pixels.ts';
import { type ImageFormat, isComplete, probeImage } from './probe.ts';

/** A decoded image: packed RGB (height, width, 3), already in display orientation. */
export interface DecodedImage extends RgbPixels {
  format: ImageFormat;
}

export interface DecodeOptions {
  /** Largest `width * height` accepted, checked from the header before decoding. Default 40 MP. */
  maxPixels?: number;
}

const DECODERS: Record<ImageFormat, (bytes: Uint8Array) => Promise<RgbaImage>> = {
  jpeg: decodeJpegRgba,
  png: decodePngRgba,
  webp: decodeWebpRgba,
};

/**
 * Decodes JPEG / PNG / WebP bytes to packed RGB. Errors: `IMAGE_UNSUPPORTED` (another format,
 * CMYK or 12-bit JPEG, animated WebP), `IMAGE_EMPTY`, `IMAGE_TOO_LARGE` (before decoding),
 * `IMAGE_TRUNCATED` (bytes end before the image does), `IMAGE_CORRUPT` (the codec fails).
 */
export async function decodeImage(
  bytes: Uint8Array,
  options: DecodeOptions = {},
): Promise<DecodedImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (!(maxPixels > 0)) {
    throw new SRPoseError('INVALID_OPTION', `maxPixels must be > 0, got ${maxPixels}`);
  }
  const info = probeImage(bytes);
  const { format, width, height } = info;
  const name = format.toUpperCase();
  if (width * height > maxPixels) {
    throw new SRPoseError(
      'IMAGE_TOO_LARGE',
      `the ${name} is ${width}x${height} (${width * height} pixels), over maxPixels ${maxPixels}`,
    );
  }
  if (format === 'jpeg' && (info.channels !== 1 && info.channels !== 3)) {
    throw new SRPoseError(
      'IMAGE_UNSUPPORTED',
      `the JPEG has ${info.channels} colour components (CMYK?); ` +
        `only grey and YCbCr JPEGs are decoded`,
    );
  }
  if (format === 'jpeg' && info.bitDepth !== 8) {
    throw new SRPoseError(
      'IMAGE_UNSUPPORTED',
      `the JPEG has ${info.bitDepth}-bit samples; only 8-bit JPEGs are decoded`,
    );
  }
  if (info.animated) {
    throw new SRPoseError('IMAGE_UNSUPPORTED', 'animated WebP is not supported; pass one frame');
  }
  if (!isComplete(bytes, format)) {
    throw new SRPoseError(
      'IMAGE_TRUNCATED',
      `the ${name} data (${bytes.length} bytes) ends before the image does; the file is cut off`,
    );
  }
  const rgba = await DECODERS[format](bytes);
  if (rgba.width !== width || rgba.height !== height || rgba.data.length !== width * height * 4) {
    throw new SRPoseError(
      'IMAGE_CORRUPT',
      `the ${name} header says ${width}x${height} but ` +
        `the decoder gave ${rgba.width}x${rgba.height}`,
    );
  }
  const rgb = packRgb(rgba.data, width, height, 4, info.orientation);
  discard(rgba.data); // the decoder's RGBA, 4/3 of the image: freed now (see discard)
  return { ...rgb, format };
}
