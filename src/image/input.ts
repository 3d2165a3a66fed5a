/**
 * Any {@link ImageInput} -> packed RGB: encoded bytes are decoded (OpenCV-exact), caller
 * pixels (and `ImageData`) are checked and packed, and the images browsers hold (`ImageBitmap`,
 * canvases, `<img>`, `<video>`, `VideoFrame`) are drawn on a 2D canvas and read back with
 * `getImageData`. Every browser class is looked up when an image arrives, never at module load,
 * so this module loads in Node, Deno and workers alike.
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

function isBytes(v: unknown): v is Uint8Array | ArrayBuffer | Blob {
  return v instanceof Uint8Array || v instanceof ArrayBuffer ||
    (typeof Blob !== 'undefined' && v instanceof Blob);
}

/** A browser image ready to draw: what it is, and the size `drawImage(image, 0, 0)` draws. */
interface DrawableImage {
  image: CanvasImageSource;
  width: number;
  height: number;
  /** How messages name it: `ImageBitmap`, `<img>`, ... */
  what: string;
}

/** `v instanceof globalThis[name]`, false where the runtime has no such class. */
function isA(v: unknown, name: string): boolean {
  const c = (globalThis as Record<string, unknown>)[name];
  return typeof c === 'function' && v instanceof (c as abstract new (...a: never[]) => unknown);
}

const unsupported = (message: string, cause?: unknown) =>
  new SRPoseError('IMAGE_UNSUPPORTED', message, cause === undefined ? undefined : { cause });

/**
 * `input` as a {@link DrawableImage} when it is one of the browser's image classes (undefined
 * otherwise); an image that cannot be drawn yet is `IMAGE_UNSUPPORTED` saying what to wait for.
 */
function drawable(input: unknown): DrawableImage | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  if (isA(input, 'ImageBitmap')) {
    const b = input as ImageBitmap;
    // createImageBitmap never makes an empty bitmap: 0x0 is one that was closed.
    if (b.width === 0 && b.height === 0) throw unsupported('the ImageBitmap is closed');
    return { image: b, width: b.width, height: b.height, what: 'ImageBitmap' };
  }
  if (isA(input, 'HTMLCanvasElement') || isA(input, 'OffscreenCanvas')) {
    const c = input as HTMLCanvasElement | OffscreenCanvas;
    const what = isA(input, 'OffscreenCanvas') ? 'OffscreenCanvas' : '<canvas>';
    return { image: c, width: c.width, height: c.height, what };
  }
  if (isA(input, 'HTMLImageElement')) {
    const img = input as HTMLImageElement;
    if (!img.complete) {
      throw unsupported(
        `the <img> has not loaded yet (${JSON.stringify(img.currentSrc || img.src)}): ` +
          'await img.decode() before estimating',
      );
    }
    if (img.naturalWidth === 0 || img.naturalHeight === 0) {
      throw unsupported(
        `the <img> holds no image (${JSON.stringify(img.currentSrc || img.src)} ` +
          'failed to load or decode)',
      );
    }
    return { image: img, width: img.naturalWidth, height: img.naturalHeight, what: '<img>' };
  }
  if (isA(input, 'HTMLVideoElement')) {
    const v = input as HTMLVideoElement;
    if (v.readyState < 2) {
      throw unsupported(
        `the <video> has no frame yet (readyState ${v.readyState}, needs 2 = ` +
          "HAVE_CURRENT_DATA): wait for its 'loadeddata' event",
      );
    }
    return { image: v, width: v.videoWidth, height: v.videoHeight, what: '<video>' };
  }
  if (isA(input, 'VideoFrame')) {
    const f = input as VideoFrame;
    // A closed frame reports a zero size (and format null).
    if (f.displayWidth === 0 || f.displayHeight === 0) {
      throw unsupported('the VideoFrame is closed');
    }
    return { image: f, width: f.displayWidth, height: f.displayHeight, what: 'VideoFrame' };
  }
  return undefined;
}

/** A 2D context to read pixels through: an OffscreenCanvas, else a `<canvas>` of the page. */
function scratchContext(
  width: number,
  height: number,
  what: string,
): OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D {
  const settings: CanvasRenderingContext2DSettings = {
    willReadFrequently: true,
    alpha: true,
    colorSpace: 'srgb',
  };
  let ctx: OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D | null = null;
  if (typeof OffscreenCanvas !== 'undefined') {
    ctx = new OffscreenCanvas(width, height).getContext('2d', settings);
  } else if (typeof document !== 'undefined') {
    const c = document.createElement('canvas');
    c.width = width;
    c.height = height;
    ctx = c.getContext('2d', settings);
  }
  if (!ctx) {
    throw unsupported(
      `reading a ${what} needs a 2D canvas (OffscreenCanvas or a document), ` +
        'which this runtime lacks: pass { data, width, height } or encoded bytes',
    );
  }
  return ctx;
}

/**
 * The RGBA pixels of a browser image exactly as a 2D canvas holds them: drawn at its own size at
 * (0, 0) on a fresh sRGB canvas, then `getImageData`. Checks the size against `maxPixels` first.
 */
function readDrawable(src: DrawableImage, maxPixels: number): Pixels & { channels: 4 } {
  const { width, height, what } = src;
  if (width === 0 || height === 0) {
    throw new SRPoseError('IMAGE_EMPTY', `the ${what} is ${width}x${height}`);
  }
  if (width * height > maxPixels) {
    throw new SRPoseError(
      'IMAGE_TOO_LARGE',
      `the ${what} is ${width}x${height} (${width * height} pixels), over maxPixels ${maxPixels}`,
    );
  }
  const ctx = scratchContext(width, height, what);
  try {
    ctx.drawImage(src.image, 0, 0);
  } catch (e) {
    throw unsupported(`the ${what} cannot be drawn on a canvas (${(e as Error)?.name})`, e);
  }
  let data: Uint8ClampedArray;
  try {
    data = ctx.getImageData(0, 0, width, height).data;
  } catch (e) {
    if ((e as Error)?.name === 'SecurityError') {
      throw unsupported(
        `the ${what} is cross-origin without CORS, so no canvas may read it: serve it with ` +
          "Access-Control-Allow-Origin and set crossOrigin = 'anonymous'",
        e,
      );
    }
    throw unsupported(`the ${what}'s pixels cannot be read (${(e as Error)?.name})`, e);
  }
  return { data, width, height, channels: 4 };
}

/** Pixels read by {@link readImage}: `owned` when made there, so the caller may free them. */
export interface ReadImage extends RgbImage {
  /** Decoded, converted or drawn here (not the caller's own buffer). */
  readonly owned: boolean;
}

/** Decodes or unpacks `input`; `maxPixels` is checked from the header before decoding. */
export async function readImage(input: ImageInput, maxPixels: number): Promise<ReadImage> {
  if (isPixels(input)) {
    const px = pixelsToRgb(input);
    if (px.width * px.height > maxPixels) {
      throw new SRPoseError(
        'IMAGE_TOO_LARGE',
        `the pixels are ${px.width}x${px.height}, over the ${maxPixels} pixel limit`,
      );
    }
    return { ...px, owned: px.data.buffer !== input.data.buffer };
  }
  if (isBytes(input)) {
    return { ...await decodeImage(await toBytes(input), { maxPixels }), owned: true };
  }
  const src = drawable(input);
  if (src) return { ...pixelsToRgb(readDrawable(src, maxPixels)), owned: true };
  throw unsupported(
    'image must be encoded bytes (Uint8Array, ArrayBuffer, Blob), { data, width, height } or a ' +
      'browser image (ImageData, ImageBitmap, canvas, <img>, <video>, VideoFrame), got ' +
      describe(input),
  );
}

/** A value's kind for messages: `null`, `number`, a class name. */
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  const name = (v as object).constructor?.name;
  return typeof name === 'string' && name ? name : 'object';
}

/**
 * `input` as it may cross to an estimator thread: a browser image (which structured clone cannot
 * carry, or which the thread could not draw without a canvas) is read here, on the calling side,
 * into RGBA pixels whose buffer is transferred; `ImageData` crosses as plain pixels (cloned: the
 * caller keeps theirs; a thread's runtime may not clone the class); bytes cross as they are.
 * `maxPixels` bounds what is read here.
 */
export function toThreadImage(
  input: ImageInput,
  maxPixels: number,
): { image: ImageInput; transfer: ArrayBuffer[] } {
  if (isPixels(input)) {
    const { data, width, height, channels } = input;
    const image = { data, width, height, ...(channels === undefined ? {} : { channels }) };
    return { image, transfer: [] };
  }
  const src = isBytes(input) ? undefined : drawable(input);
  if (!src) return { image: input, transfer: [] }; // bytes, or the thread's IMAGE_UNSUPPORTED
  const px = readDrawable(src, maxPixels);
  return { image: px, transfer: [px.data.buffer as ArrayBuffer] };
}
