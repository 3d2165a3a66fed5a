// src/image/input.ts without a browser: what is not an image is IMAGE_UNSUPPORTED naming what
// it got, ImageData-shaped objects are read as the same pixels, and the browser classes (put on
// globalThis here as small fakes, as feature detection finds them there) are refused with the
// typed error that says what to wait for, checked against maxPixels before any canvas is made,
// and read through a 2D canvas exactly. The same checks in real Chromium: tests/browser.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejects } from '../helpers/assert.ts';
import { tinyConfig, tinyOnnx } from '../helpers/tiny.ts';
import { readImage, toThreadImage } from '../../src/image/input.ts';
import { pixelsToRgb } from '../../src/image/pixels.ts';
import { createEstimator } from '../../src/estimator/estimator.ts';
import type { Estimator, ImageInput } from '../../src/types.ts';

const W = 40;
const H = 30;
function rgba(w = W, h = H): Uint8ClampedArray<ArrayBuffer> {
  const d = new Uint8ClampedArray(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    d.set([(i * 7) & 255, (i * 13) & 255, (i >> 2) & 255, 255], i * 4);
  }
  return d;
}
/** The shape of a DOM ImageData, a class instance whose fields are getters on its prototype. */
class FakeImageData {
  readonly #data: Uint8ClampedArray;
  readonly #w: number;
  readonly #h: number;
  constructor(data: Uint8ClampedArray, w: number, h: number) {
    this.#data = data;
    this.#w = w;
    this.#h = h;
  }
  get data() {
    return this.#data;
  }
  get width() {
    return this.#w;
  }
  get height() {
    return this.#h;
  }
  get colorSpace() {
    return 'srgb';
  }
}

/** Puts fakes on globalThis for one test, then restores what was there (Deno has some). */
async function withGlobals(fakes: Record<string, unknown>, body: () => Promise<void>) {
  const g = globalThis as Record<string, unknown>;
  const saved = Object.keys(fakes).map((k) => [k, Object.getOwnPropertyDescriptor(g, k)] as const);
  for (const [k, v] of Object.entries(fakes)) {
    Object.defineProperty(g, k, { value: v, configurable: true, writable: true });
  }
  try {
    await body();
  } finally {
    for (const [k, d] of saved) {
      if (d) Object.defineProperty(g, k, d);
      else delete g[k];
    }
  }
}

/** A 2D context over fixed pixels: records what is drawn, answers getImageData from `pixels`. */
function fakeCanvasClass(pixels: Uint8ClampedArray, drawn: unknown[], fail?: Error) {
  return class FakeOffscreenCanvas {
    constructor(readonly width: number, readonly height: number) {}
    getContext(kind: string, settings: Record<string, unknown>) {
      assert.is(kind, '2d');
      assert.is(settings.willReadFrequently, true);
      return {
        drawImage: (image: unknown, x: number, y: number, ...rest: unknown[]) => {
          assert.equal([x, y, rest.length], [0, 0, 0], 'drawn at its own size at (0, 0)');
          drawn.push(image);
        },
        getImageData: (x: number, y: number, w: number, h: number) => {
          if (fail) throw fail;
          assert.equal([x, y, w, h], [0, 0, this.width, this.height]);
          return new FakeImageData(pixels, w, h);
        },
      };
    }
  };
}

class FakeImage {
  complete = true;
  naturalWidth = W;
  naturalHeight = H;
  src = 'blob:photo';
  currentSrc = 'blob:photo';
}
class FakeVideo {
  readyState = 4;
  videoWidth = W;
  videoHeight = H;
}
class FakeFrame {
  displayWidth = W;
  displayHeight = H;
}
class FakeCanvas {
  width = W;
  height = H;
}

let est: Estimator;
test.before(async () => {
  est = await createEstimator({
    model: { onnx: await tinyOnnx(), config: tinyConfig() },
    backend: 'wasm',
  });
});
test.after(async () => {
  await est?.dispose();
});

test(
  'what is no image is IMAGE_UNSUPPORTED naming what it got; the estimator stays usable',
  async () => {
    const cases: [unknown, RegExp][] = [
      [{}, /got Object$/],
      [null, /got null$/],
      [42, /got number$/],
      ['photo.jpg', /got string$/],
      [new Map(), /got Map$/],
      [new Float32Array(12), /got Float32Array$/],
      [Object.create(null), /got object$/],
      [new FakeCanvas(), /got FakeCanvas$/], // no HTMLCanvasElement in this runtime
    ];
    for (const [input, re] of cases) {
      await rejects(readImage(input as ImageInput, 1e6), 'IMAGE_UNSUPPORTED', re);
      await rejects(est.estimate(input as ImageInput), 'IMAGE_UNSUPPORTED', re);
    }
    await rejects(
      readImage({} as ImageInput, 1e6),
      'IMAGE_UNSUPPORTED',
      /ImageData, ImageBitmap, canvas, <img>, <video>, VideoFrame/,
    );
    const ok = await est.estimate({ data: rgba(), width: W, height: H });
    assert.is(ok.people.length, 1);
  },
);

test(
  'ImageData-shaped objects (getters on a class) are the same pixels as { data, width, height }',
  async () => {
    const data = rgba();
    const plain = await readImage({ data, width: W, height: H }, 1e6);
    const fake = await readImage(new FakeImageData(data, W, H) as unknown as ImageInput, 1e6);
    assert.equal(fake, plain);
    // converted here (RGBA -> RGB): the estimator may free it; RGB given is the caller's own
    assert.equal(plain, {
      ...pixelsToRgb({ data, width: W, height: H, channels: 4 }),
      owned: true,
    });
    const rgb = new Uint8Array(W * H * 3);
    assert.equal(await readImage({ data: rgb, width: W, height: H }, 1e6), {
      data: rgb,
      width: W,
      height: H,
      owned: false,
    });
    const boxes = [[2, 3, 30, 20]] as const;
    assert.equal(
      (await est.estimate(new FakeImageData(data, W, H) as unknown as ImageInput, { boxes }))
        .people,
      (await est.estimate({ data, width: W, height: H }, { boxes })).people,
    );
    // The runtime's own ImageData, where it has one (Deno).
    if (typeof ImageData !== 'undefined') {
      const real = new ImageData(rgba(), W, H);
      assert.equal(await readImage(real, 1e6), plain);
      assert.equal(
        (await est.estimate(real, { boxes })).people,
        (await est.estimate({ data, width: W, height: H }, { boxes })).people,
      );
    }
    await rejects(
      readImage(new FakeImageData(data, W, H + 1) as unknown as ImageInput, 1e6),
      'INVALID_PIXELS',
    );
    await rejects(
      readImage(new FakeImageData(data, W, H) as unknown as ImageInput, W * H - 1),
      'IMAGE_TOO_LARGE',
    );
  },
);

test(
  'an <img> not loaded, a <video> without a frame, closed frames and bitmaps: IMAGE_UNSUPPORTED',
  async () => {
    class ImageBitmap {
      width = 0;
      height = 0;
    }
    await withGlobals({
      HTMLImageElement: FakeImage,
      HTMLVideoElement: FakeVideo,
      VideoFrame: FakeFrame,
      ImageBitmap,
    }, async () => {
      const loading = Object.assign(new FakeImage(), { complete: false, naturalWidth: 0 });
      await rejects(
        est.estimate(loading as any),
        'IMAGE_UNSUPPORTED',
        /not loaded yet.*decode\(\)/,
      );
      const broken = Object.assign(new FakeImage(), { naturalWidth: 0, naturalHeight: 0 });
      await rejects(readImage(broken as any, 1e6), 'IMAGE_UNSUPPORTED', /holds no image/);
      for (const readyState of [0, 1]) {
        const video = Object.assign(new FakeVideo(), { readyState });
        await rejects(
          est.estimate(video as any),
          'IMAGE_UNSUPPORTED',
          new RegExp(`no frame yet \\(readyState ${readyState}, needs 2`),
        );
      }
      const closed = Object.assign(new FakeFrame(), { displayWidth: 0, displayHeight: 0 });
      await rejects(readImage(closed as any, 1e6), 'IMAGE_UNSUPPORTED', /VideoFrame is closed/);
      await rejects(readImage(new ImageBitmap() as any, 1e6), 'IMAGE_UNSUPPORTED', /closed/);
      // The same refusals on the calling side of a pool, before anything crosses.
      assert.throws(() => toThreadImage(loading as any, 1e6), /not loaded yet/);
      assert.throws(() => toThreadImage(closed as any, 1e6), /VideoFrame is closed/);
    });
  },
);

test(
  'browser images: size checked before any canvas, then read exactly through a 2D canvas',
  async () => {
    const pixels = rgba();
    const drawn: unknown[] = [];
    await withGlobals({
      HTMLImageElement: FakeImage,
      HTMLVideoElement: FakeVideo,
      VideoFrame: FakeFrame,
      HTMLCanvasElement: FakeCanvas,
      OffscreenCanvas: fakeCanvasClass(pixels, drawn),
    }, async () => {
      const expected = pixelsToRgb({ data: pixels, width: W, height: H });
      const boxes = [[2, 3, 30, 20]] as const;
      const reference = (await est.estimate({ data: pixels, width: W, height: H }, { boxes }))
        .people;
      for (const input of [new FakeImage(), new FakeVideo(), new FakeFrame(), new FakeCanvas()]) {
        assert.equal(await readImage(input as any, 1e6), { ...expected, owned: true });
        assert.equal((await est.estimate(input as any, { boxes })).people, reference);
        assert.is(drawn.at(-1), input, 'the image itself is drawn');
        // Over the limit: refused from the size, nothing drawn.
        const count = drawn.length;
        await rejects(
          readImage(input as any, W * H - 1),
          'IMAGE_TOO_LARGE',
          new RegExp(`${W}x${H}`),
        );
        assert.is(drawn.length, count);
      }
      const empty = Object.assign(new FakeCanvas(), { width: 0 });
      await rejects(readImage(empty as any, 1e6), 'IMAGE_EMPTY', /<canvas> is 0x30/);
      // To a pool thread: read here, the buffer moved, the pixels as they are.
      const crossing = toThreadImage(new FakeVideo() as any, 1e6);
      assert.equal(crossing.image, { data: pixels, width: W, height: H, channels: 4 });
      assert.equal(crossing.transfer, [pixels.buffer]);
    });
    // Tainted by a cross-origin image: the canvas refuses to be read.
    const security = Object.assign(new Error('tainted'), { name: 'SecurityError' });
    await withGlobals({
      HTMLImageElement: FakeImage,
      OffscreenCanvas: fakeCanvasClass(pixels, drawn, security),
    }, async () => {
      await rejects(
        readImage(new FakeImage() as any, 1e6),
        'IMAGE_UNSUPPORTED',
        /cross-origin without CORS.*crossOrigin/,
      );
    });
  },
);

test(
  'no OffscreenCanvas and no document: a browser image is IMAGE_UNSUPPORTED, not a crash',
  async () => {
    await withGlobals({ HTMLVideoElement: FakeVideo, OffscreenCanvas: undefined }, async () => {
      await rejects(
        readImage(new FakeVideo() as any, 1e6),
        'IMAGE_UNSUPPORTED',
        /needs a 2D canvas.*\{ data, width, height \}/,
      );
    });
  },
);

test(
  'toThreadImage: bytes cross as they are, ImageData as plain pixels (copied, not moved)',
  () => {
    const png = new Uint8Array([137, 80, 78, 71]);
    assert.equal(toThreadImage(png, 1e6), { image: png, transfer: [] });
    const data = rgba();
    const crossing = toThreadImage(new FakeImageData(data, W, H) as unknown as ImageInput, 1e6);
    assert.equal(crossing.transfer, []);
    assert.is(Object.getPrototypeOf(crossing.image), Object.prototype);
    assert.equal(crossing.image, { data, width: W, height: H });
    const rgb = { data: new Uint8Array(W * H * 3), width: W, height: H, channels: 3 as const };
    assert.equal(toThreadImage(rgb, 1e6).image, rgb);
    const odd = toThreadImage(new Map() as unknown as ImageInput, 1e6);
    assert.ok(odd.image instanceof Map, 'what is no image crosses, for the thread to refuse');
  },
);

test.run();
