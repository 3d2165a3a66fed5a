// resizeLinear against cv2.resize(INTER_LINEAR) and letterbox against YOLOX's ValTransform
// (legacy and not): random images of many sizes (3 and 4 channels), then the shared photos.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { letterbox, letterboxSize } from '../../src/core/letterbox.ts';
import { resizeLinear } from '../../src/core/resize.ts';
import { isSRPoseError, type SRPoseErrorCode } from '../../src/errors.ts';
import { cv2Dump, cv2Missing, firstDifference } from '../helpers/cv2.ts';
import { hasShared, readF32, SHARED, skipUnless } from '../helpers/env.ts';

const bytes = async (dir: string, file: string) => new Uint8Array(await readFile(join(dir, file)));

let ref: Awaited<ReturnType<typeof cv2Dump>>;

test.before(async () => {
  ref = await cv2Dump('letterbox');
});

test.after(async () => {
  if (ref) await rm(ref.dir, { recursive: true, force: true });
});

/** First value whose float32 bits differ, as "plane p (x, y): got vs want", or undefined. */
function firstFloatDifference(
  got: Float32Array,
  want: Float32Array,
  width: number,
  height: number,
): string | undefined {
  if (got.length !== want.length) return `length ${got.length} vs ${want.length}`;
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < g.length; i++) {
    if (g[i] !== w[i]) {
      let n = 0;
      for (let j = i; j < g.length; j++) if (g[j] !== w[j]) n++;
      const p = i % (width * height);
      return `plane ${Math.floor(i / (width * height))} (${p % width}, ${Math.floor(p / width)}): ${
        got[i]
      } vs ${want[i]} (${n} values differ)`;
    }
  }
  return undefined;
}

/** The official input of a dumped letterbox case (integer inputs are stored as uint8). */
async function wanted(dir: string, r: any): Promise<Float32Array> {
  return r.f32 ? await readF32(join(dir, r.f32)) : Float32Array.from(await bytes(dir, r.u8));
}

function throwsCode(fn: () => unknown, code: SRPoseErrorCode, what: string) {
  try {
    fn();
  } catch (e) {
    assert.ok(isSRPoseError(e, code), `${what}: ${e}`);
    return;
  }
  assert.unreachable(`${what}: accepted`);
}

const withAlpha = (rgb: Uint8Array, seed: number) => {
  const n = rgb.length / 3;
  const rgba = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    rgba.set(rgb.subarray(i * 3, i * 3 + 3), i * 4);
    rgba[i * 4 + 3] = (i * 131 + seed) & 255;
  }
  return rgba;
};

test('same size, exact halves, constants and typed refusals need no OpenCV', () => {
  const w = 6, h = 4;
  const src = new Uint8Array(w * h * 3).map((_, i) => (i * 37 + 11) & 255);
  assert.equal(resizeLinear(src, w, h, 3, w, h), src);
  // an exact 2x downscale is the rounded mean of each 2x2 block (OpenCV's INTER_AREA fast path)
  const half = resizeLinear(src, w, h, 3, w / 2, h / 2);
  for (let y = 0; y < h / 2; y++) {
    for (let x = 0; x < w / 2; x++) {
      for (let c = 0; c < 3; c++) {
        const at = (xx: number, yy: number) => src[(yy * w + xx) * 3 + c];
        const sum = at(2 * x, 2 * y) + at(2 * x + 1, 2 * y) + at(2 * x, 2 * y + 1) +
          at(2 * x + 1, 2 * y + 1);
        assert.is(half[(y * (w / 2) + x) * 3 + c], (sum + 2) >> 2, `(${x}, ${y}) channel ${c}`);
      }
    }
  }
  const flat = resizeLinear(new Uint8Array([7, 200, 33, 255]), 1, 1, 4, 9, 5);
  for (let i = 0; i < flat.length; i++) assert.is(flat[i], [7, 200, 33, 255][i % 4]);

  const out = new Uint8Array(100);
  assert.is(resizeLinear(src, w, h, 3, 5, 5, out), out);
  throwsCode(() => resizeLinear(src, w, h, 2, 5, 5), 'INVALID_PIXELS', 'two channels');
  throwsCode(() => resizeLinear(src, w, h + 1, 3, 5, 5), 'INVALID_PIXELS', 'short source');
  throwsCode(() => resizeLinear(src, 0, h, 3, 5, 5), 'INVALID_PIXELS', 'zero width');
  throwsCode(() => resizeLinear(src, w, h, 3, 0, 5), 'INVALID_OPTION', 'zero output width');
  throwsCode(() => resizeLinear(src, w, h, 3, 5.5, 5), 'INVALID_OPTION', 'fractional width');
  throwsCode(() => resizeLinear(src, w, h, 3, 6, 6, out), 'INVALID_OPTION', 'short out');

  const box = letterbox(src, w, h, 3, { width: 12, height: 12 });
  assert.is(box.ratio, 2);
  assert.equal(box.resized, { width: 12, height: 8 });
  assert.is(box.data.length, 3 * 12 * 12);
  assert.ok(box.data.subarray(12 * 8, 12 * 12).every((v) => v === 114), 'pad rows');
  const buf = new Float32Array(3 * 12 * 12 + 5);
  assert.is(letterbox(src, w, h, 3, { width: 12, height: 12, out: buf }).data, buf);
  assert.equal(buf.subarray(0, 3 * 144), box.data);
  const thin = new Uint8Array(1000 * 3); // 1000x1: 416x0 on a 416x416 canvas
  const refusals = [
    [src, w, h, { width: 0, height: 12 }, 'zero width'],
    [src, w, h, { width: 12, height: 12.5 }, 'fractional height'],
    [src, w, h, { width: NaN, height: 12 }, 'NaN width'],
    [src, w, h, { width: 12, height: 12, out: new Float32Array(10) }, 'short out'],
    [src, w, h, { width: 12, height: 12, scratch: new Uint8Array(10) }, 'short scratch'],
    [thin, 1000, 1, { width: 416, height: 416 }, 'an image resized to nothing'],
  ] as const;
  for (const [img, iw, ih, opts, what] of refusals) {
    throwsCode(() => letterbox(img, iw, ih, 3, opts), 'INVALID_OPTION', what);
  }
  throwsCode(
    () => letterbox(src, w, h, 1, { width: 8, height: 8 }),
    'INVALID_PIXELS',
    'one channel',
  );
  throwsCode(
    () => letterbox(src.subarray(1), w, h, 3, { width: 8, height: 8 }),
    'INVALID_PIXELS',
    'short letterbox source',
  );
  // float64 as Python: 23 * (416 / 23) is 415.99999999999994, so int() gives 415
  assert.equal(letterboxSize(23, 10, 416, 416), { ratio: 416 / 23, width: 415, height: 180 });
});

test('resizeLinear equals cv2.resize INTER_LINEAR on random images, 3 and 4 channels', async () => {
  if (cv2Missing(ref, 'letterbox')) return;
  const cases = ref.index.resizes.filter((r: any) => r.what === 'fixed' || r.what === 'random');
  const counts: Record<string, number> = {};
  for (const [i, r] of cases.entries()) {
    const src = await bytes(ref.dir, r.src);
    const got = resizeLinear(src, r.width, r.height, r.channels, r.dstW, r.dstH);
    const diff = firstDifference(got, await bytes(ref.dir, r.dst), r.dstW, r.channels);
    assert.not.ok(
      diff,
      `case ${i} ${r.what} ${r.width}x${r.height}x${r.channels} -> ${r.dstW}x${r.dstH}: ${diff}`,
    );
    const kind = `${r.channels}ch ${
      r.dstW === r.width && r.dstH === r.height
        ? 'same'
        : r.dstW * r.dstH > r.width * r.height
        ? 'up'
        : 'down'
    }`;
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  assert.ok(cases.length >= 280, `${cases.length} cases`);
  console.log(
    `  ${cases.length} random resizes equal cv2 ${ref.index.cv2}: ${JSON.stringify(counts)}`,
  );
});

test('letterbox equals YOLOX ValTransform on random images, legacy or not, RGB(A)', async () => {
  if (cv2Missing(ref, 'letterbox')) return;
  const cases = ref.index.letterboxes.filter((r: any) => r.what === 'random');
  let legacy = 0;
  for (const [i, r] of cases.entries()) {
    const rgb = await bytes(ref.dir, r.src);
    const want = await wanted(ref.dir, r);
    const opts = { width: r.inputW, height: r.inputH, legacy: r.legacy };
    const what = `case ${i} ${r.width}x${r.height} -> ${r.inputW}x${r.inputH}${
      r.legacy ? ' legacy' : ''
    }`;
    for (const [px, ch] of [[rgb, 3], [withAlpha(rgb, i), 4]] as const) {
      const got = letterbox(px, r.width, r.height, ch, opts);
      assert.is(got.ratio, r.ratio, `${what}: ratio`);
      assert.equal([got.resized.width, got.resized.height], r.resized, `${what}: resized`);
      const diff = firstFloatDifference(got.data, want, r.inputW, r.inputH);
      assert.not.ok(diff, `${what} (${ch} channels): ${diff}`);
    }
    if (r.legacy) legacy++;
  }
  assert.ok(cases.length >= 40, `${cases.length} cases`);
  console.log(`  ${cases.length} random letterboxes (${legacy} legacy) equal, RGB and RGBA`);
});

test('the shared photos: letterbox (640, 416 legacy) and resizes equal the official', async () => {
  if (cv2Missing(ref, 'letterbox')) return;
  if (skipUnless(hasShared, `${SHARED} is absent: no shared photos for letterbox`)) return;
  const boxes = ref.index.letterboxes.filter((r: any) => r.what !== 'random');
  const resizes = ref.index.resizes.filter((r: any) => r.what !== 'fixed' && r.what !== 'random');
  assert.ok(boxes.length >= 2 && resizes.length >= 3, 'no photo cases in the dump');
  const images = new Map<string, Uint8Array>();
  const image = async (file: string) => {
    let px = images.get(file);
    if (!px) images.set(file, px = await bytes(ref!.dir, file));
    return px;
  };
  let ms = 0;
  for (const r of boxes) {
    const rgb = await image(r.src);
    const out = new Float32Array(3 * r.inputW * r.inputH);
    const t0 = performance.now();
    const got = letterbox(rgb, r.width, r.height, 3, {
      width: r.inputW,
      height: r.inputH,
      legacy: r.legacy,
      out,
    });
    ms += performance.now() - t0;
    const what = `${r.what} ${r.width}x${r.height} -> ${r.inputW}x${r.inputH}${
      r.legacy ? ' legacy' : ''
    }`;
    assert.is(got.ratio, r.ratio, `${what}: ratio`);
    assert.equal([got.resized.width, got.resized.height], r.resized, `${what}: resized`);
    const diff = firstFloatDifference(got.data, await wanted(ref.dir, r), r.inputW, r.inputH);
    assert.not.ok(diff, `${what}: ${diff}`);
  }
  let resizeMs = 0;
  for (const r of resizes) {
    const src = await image(r.src);
    const t0 = performance.now();
    const got = resizeLinear(src, r.width, r.height, 3, r.dstW, r.dstH);
    resizeMs += performance.now() - t0;
    const diff = firstDifference(got, await bytes(ref.dir, r.dst), r.dstW, 3);
    assert.not.ok(diff, `${r.what} ${r.width}x${r.height} -> ${r.dstW}x${r.dstH}: ${diff}`);
  }
  console.log(
    `  ${boxes.length} photo letterboxes equal (${
      (ms / boxes.length).toFixed(2)
    } ms each), ${resizes.length} photo resizes equal (${
      (resizeMs / resizes.length).toFixed(2)
    } ms each)`,
  );
});

test.run();
