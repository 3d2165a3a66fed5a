/**
 * The demo page's self-check of every browser image kind, `srposeDemo.inputs(bytes, options)`
 * (tests/browser drives it): one photo as ImageData, ImageBitmap, `<canvas>`, OffscreenCanvas,
 * `<img>`, `<video>` (a canvas's captureStream) and VideoFrame, each estimated as it is and as
 * the `{ data, width, height }` a canvas reads of it, plus the PNG bytes of the same pixels and
 * the JPEG bytes themselves (our decoder, not Chromium's); the typed refusals of images that are
 * not ready; and drawPoses' pixels. Everything it returns is plain data.
 */
import { drawPoses } from '../browser.ts';
import type { Box, EstimateOptions, Estimator, Person, Pixels } from '../types.ts';

/** One input estimated as it is (`people`) and as the pixels a canvas reads of it (`reference`). */
export interface InputRun {
  kind: string;
  people: Person[];
  reference: Person[];
  /** The canvas-read pixels of this input equal the photo's (as decoded by Chromium). */
  samePixelsAsPhoto: boolean;
  /** Largest difference of any RGB sample from the photo's. */
  maxSampleDiff: number;
}

export interface InputsReport {
  width: number;
  height: number;
  runs: InputRun[];
  /** The JPEG bytes through our OpenCV-exact decoder. */
  jpegBytes: Person[];
  /** Chromium's decode of the photo (RGBA, base64), to compare with ours. */
  photoRgba: string;
  /** Images that are not ready: the error each gave. */
  refusals: { kind: string; code?: string; message: string }[];
  draw: {
    /** Keypoints above 0.2, and how many of them are white in the canvas afterwards. */
    keypoints: number;
    whiteAtKeypoints: number;
    changedPixels: number;
    /** minScore Infinity: nothing drawn. */
    changedWithHighMinScore: number;
    /** The same on an OffscreenCanvas context. */
    offscreenWhiteAtKeypoints: number;
  };
}

const canvasOf = (w: number, h: number) => {
  const c = document.createElement('canvas');
  c.width = w;
  c.height = h;
  return c;
};

/** What a 2D canvas reads of `image` drawn at its own size: the pixels the library must see. */
function canvasPixels(image: CanvasImageSource, w: number, h: number): Pixels {
  const ctx = canvasOf(w, h).getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(image, 0, 0);
  const d = ctx.getImageData(0, 0, w, h);
  return { data: d.data, width: w, height: h, channels: 4 };
}

function toBase64(d: Uint8ClampedArray): string {
  let s = '';
  for (let i = 0; i < d.length; i += 0x8000) {
    s += String.fromCharCode(...d.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

function sampleDiff(a: Pixels['data'], b: Pixels['data']): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    if ((i & 3) !== 3) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  }
  return worst;
}

/** A `<video>` playing a canvas's stream, once it shows a frame (paused on it). */
async function videoOf(source: HTMLCanvasElement): Promise<HTMLVideoElement> {
  const v = document.createElement('video');
  v.muted = true;
  v.playsInline = true;
  v.srcObject = source.captureStream();
  const ctx = source.getContext('2d')!;
  // A stream sends a frame when the canvas changes: repaint it until the video has one.
  const repaint = setInterval(() => ctx.drawImage(source, 0, 0), 50);
  try {
    await v.play();
    const t0 = performance.now();
    while (v.readyState < 2 || v.videoWidth === 0) {
      if (performance.now() - t0 > 20_000) throw new Error('the <video> got no frame in 20 s');
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    clearInterval(repaint);
  }
  v.pause();
  return v;
}

async function refusal(
  kind: string,
  p: Promise<unknown>,
): Promise<{ kind: string; code?: string; message: string }> {
  try {
    await p;
    return { kind, message: 'no error' };
  } catch (e) {
    return { kind, code: (e as { code?: string }).code, message: String((e as Error).message) };
  }
}

/**
 * Every input kind through `est` (in-thread or worker), with `boxes` and no flip test (the
 * comparisons need no more, and each kind is estimated twice).
 */
export async function checkInputs(
  bytes: Uint8Array,
  est: Estimator,
  boxes: Box[],
): Promise<InputsReport> {
  const opts: EstimateOptions = { boxes, flipTest: false };
  const jpeg = new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' });
  const decoded = await createImageBitmap(jpeg);
  const { width: w, height: h } = decoded;
  const canvas = canvasOf(w, h);
  canvas.getContext('2d', { willReadFrequently: true })!.drawImage(decoded, 0, 0);
  const photo = canvas.getContext('2d')!.getImageData(0, 0, w, h);
  const photoRun = await est.estimate({ data: photo.data, width: w, height: h }, opts);

  const offscreen = new OffscreenCanvas(w, h);
  offscreen.getContext('2d')!.putImageData(photo, 0, 0);
  const img = new Image();
  const url = URL.createObjectURL(jpeg);
  img.src = url;
  await img.decode();
  const streamed = canvasOf(w, h);
  streamed.getContext('2d')!.drawImage(canvas, 0, 0);
  const video = await videoOf(streamed);
  const frame = new VideoFrame(canvas, { timestamp: 0 });
  const bitmap = await createImageBitmap(canvas);

  const kinds: [string, ImageData | CanvasImageSource][] = [
    ['ImageData', photo],
    ['ImageBitmap', bitmap],
    ['HTMLCanvasElement', canvas],
    ['OffscreenCanvas', offscreen],
    ['HTMLImageElement', img],
    ['HTMLVideoElement', video],
    ['VideoFrame', frame],
  ];
  const runs: InputRun[] = [];
  for (const [kind, input] of kinds) {
    const px = kind === 'ImageData'
      ? { data: photo.data, width: w, height: h }
      : canvasPixels(input as CanvasImageSource, w, h);
    const people = (await est.estimate(input as ImageData | ImageBitmap, opts)).people;
    const same = sampleDiff(px.data, photo.data) === 0;
    const reference = same ? photoRun.people : (await est.estimate(px, opts)).people;
    runs.push({
      kind,
      people,
      reference,
      samePixelsAsPhoto: same,
      maxSampleDiff: sampleDiff(px.data, photo.data),
    });
  }
  // The bytes path: the PNG of the very same pixels (lossless: our decoder gives them back), and
  // the JPEG itself through our OpenCV-exact decoder.
  const png = await offscreen.convertToBlob({ type: 'image/png' });
  runs.push({
    kind: 'PNG bytes of the same pixels',
    people: (await est.estimate(new Uint8Array(await png.arrayBuffer()), opts)).people,
    reference: photoRun.people,
    samePixelsAsPhoto: true,
    maxSampleDiff: 0,
  });
  const jpegBytes = (await est.estimate(bytes, opts)).people;

  // Not ready: an <img> still loading, a <video> without a frame, a closed VideoFrame.
  const loading = new Image();
  loading.src = URL.createObjectURL(jpeg); // a new URL: not in the image cache, not complete yet
  const closed = new VideoFrame(canvas, { timestamp: 1 });
  closed.close();
  const refusals = [
    await refusal('HTMLImageElement loading', est.estimate(loading, opts)),
    await refusal(
      'HTMLVideoElement without a frame',
      est.estimate(document.createElement('video'), opts),
    ),
    await refusal('VideoFrame closed', est.estimate(closed, opts)),
  ];
  URL.revokeObjectURL(loading.src);

  frame.close();
  bitmap.close();
  URL.revokeObjectURL(url);
  (video.srcObject as MediaStream).getTracks().forEach((t) => t.stop());
  return {
    width: w,
    height: h,
    runs,
    jpegBytes,
    photoRgba: toBase64(photo.data),
    refusals,
    draw: checkDraw(photo, photoRun.people),
  };
}

function checkDraw(photo: ImageData, people: Person[]): InputsReport['draw'] {
  const { width: w, height: h } = photo;
  const shown = people.flatMap((p) => p.keypoints).filter((k) => k.score > 0.2);
  const white = (d: Uint8ClampedArray) =>
    shown.filter((k) => {
      const i = 4 * (Math.floor(k.y) * w + Math.floor(k.x));
      return d[i] === 255 && d[i + 1] === 255 && d[i + 2] === 255;
    }).length;
  const changed = (d: Uint8ClampedArray) => {
    let n = 0;
    for (let i = 0; i < d.length; i++) if (d[i] !== photo.data[i]) n++;
    return n;
  };
  const ctx = canvasOf(w, h).getContext('2d', { willReadFrequently: true })!;
  ctx.putImageData(photo, 0, 0);
  drawPoses(ctx, people);
  const drawn = ctx.getImageData(0, 0, w, h).data;
  ctx.putImageData(photo, 0, 0);
  drawPoses(ctx, people, { minScore: Infinity });
  const none = ctx.getImageData(0, 0, w, h).data;
  const off = new OffscreenCanvas(w, h).getContext('2d', { willReadFrequently: true })!;
  off.putImageData(photo, 0, 0);
  drawPoses(off, people);
  return {
    keypoints: shown.length,
    whiteAtKeypoints: white(drawn),
    changedPixels: changed(drawn),
    changedWithHighMinScore: changed(none),
    offscreenWhiteAtKeypoints: white(off.getImageData(0, 0, w, h).data),
  };
}
