// The WebAssembly SIMD crop kernel (src/core/crop-wasm.ts, kernels/crop.c) against the JS loop
// it replaces (cropToTensorJs, itself held to cv2.warpAffine + torchvision in warp.test.ts and
// crop.test.ts): identical floats on random crops inside, across and outside the image, rotated,
// mirrored, on tiny and wide images; the cases it leaves to the JS loop (kernels.test.ts: its
// bytes not stale).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getAffineTransform, invertAffine } from '../../src/core/affine.ts';
import { cropToTensor, cropToTensorJs } from '../../src/core/crop.ts';
import { wasmCropper } from '../../src/core/crop-wasm.ts';
import { normalizeTable } from '../../src/core/normalize.ts';

const lut = normalizeTable([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
/** The largest |source coordinate| of the crop's corners. */
function farthest(m: ArrayLike<number>, w: number, h: number): number {
  const inv = invertAffine(m);
  let far = 0;
  for (const [x, y] of [[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]]) {
    far = Math.max(
      far,
      Math.abs(inv[0] * x + inv[1] * y + inv[2]),
      Math.abs(inv[3] * x + inv[4] * y + inv[5]),
    );
  }
  return far;
}

test('the kernel compiles here (Node and Deno have WebAssembly SIMD)', () => {
  assert.ok(wasmCropper(), 'wasmCropper() is undefined');
  assert.is(wasmCropper(), wasmCropper(), 'one kernel per realm');
});

test('identical to the JS loop: 400 random crops, plain and mirrored, at offsets', () => {
  const k = wasmCropper()!;
  let seed = 11;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  let cases = 0, declined = 0;
  for (const [sw, sh] of [[640, 425], [1, 1], [2, 3], [37, 91], [1500, 7], [5, 900]]) {
    const src = new Uint8Array(sw * sh * 3).map(() => Math.floor(rnd() * 256));
    const clamped = new Uint8ClampedArray(src.buffer);
    for (let t = 0; t < 34; t++) {
      // centres from well inside to well outside, scales from a few pixels to 3x the image
      const center: [number, number] = [(rnd() * 1.8 - 0.4) * sw, (rnd() * 1.8 - 0.4) * sh];
      const scale: [number, number] = [
        (0.01 + rnd() * 3) * sw / 200,
        (0.01 + rnd() * 3) * sh / 200,
      ];
      const rot = t % 4 === 3 ? rnd() * 180 - 90 : 0;
      const [w, h] = t % 3 === 0 ? [192, 256] : t % 3 === 1 ? [48, 64] : [7, 5];
      const m = getAffineTransform(center, scale, rot, w, h, t % 7 === 0);
      for (const mirror of [false, true]) {
        const per = 3 * w * h;
        const offset = t % 2 ? 5 : 0; // anywhere in the batch, not only at 0
        const want = new Float32Array(offset + 2 * per + 3).fill(NaN);
        const got = want.slice();
        cropToTensorJs(src, sw, sh, m, w, h, lut, want, offset, mirror ? offset + per : -1);
        if (
          !k.crop(
            t % 2 ? clamped : src,
            sw,
            sh,
            m,
            w,
            h,
            lut,
            got,
            offset,
            mirror ? offset + per : -1,
          )
        ) {
          // only where OpenCV's coordinates saturate (a source corner 32000+ px out)
          assert.ok(
            farthest(m, w, h) > 31000,
            `kernel declined ${sw}x${sh} case ${t} (corners within ${farthest(m, w, h)} px)`,
          );
          declined++;
          continue;
        }
        const i = want.findIndex((v, j) => !Object.is(v, got[j]));
        assert.is(
          i,
          -1,
          `${sw}x${sh} case ${t} mirror ${mirror}: value ${i} is ${got[i]}, expected ${want[i]}`,
        );
        cases++;
      }
    }
  }
  assert.ok(cases >= 380 && declined <= 20, `${cases} compared, ${declined} declined`);
});

test('a crop of a real photo size: same floats through cropToTensor as through the JS loop', () => {
  const sw = 640, sh = 425;
  const src = new Uint8Array(sw * sh * 3).map((_, i) => (i * 7919 + (i >> 9)) & 255);
  const m = getAffineTransform([390, 218], [1.367, 1.823], 0, 192, 256, false);
  const a = new Float32Array(2 * 3 * 256 * 192), b = a.slice();
  cropToTensor(src, sw, sh, m, 192, 256, lut, a, 0, 3 * 256 * 192);
  cropToTensorJs(src, sw, sh, m, 192, 256, lut, b, 0, 3 * 256 * 192);
  assert.ok(a.every((v, i) => v === b[i]));
  assert.ok(a.some((v) => v !== a[0]), 'a constant crop would prove nothing');
});

test(
  'declines, writing nothing, what the JS loop handles: saturating coordinates, huge rectangles',
  () => {
    const k = wasmCropper()!;
    const src = new Uint8Array(20 * 10 * 3).fill(200);
    // a centre 40000 px away: OpenCV saturates the taps to 16 bits there
    const m = getAffineTransform([40000, 5], [0.1, 0.1], 0, 16, 16, false);
    const out = new Float32Array(3 * 256).fill(7);
    assert.is(k.crop(src, 20, 10, m, 16, 16, lut, out, 0, -1), false);
    assert.ok(out.every((v) => v === 7));
    // and cropToTensor still gives the JS loop's answer there
    const want = out.slice();
    cropToTensorJs(src, 20, 10, m, 16, 16, lut, want, 0, -1);
    cropToTensor(src, 20, 10, m, 16, 16, lut, out, 0, -1);
    assert.equal(Array.from(out), Array.from(want));
    // the whole of a 3000x2000 photo: 18 MB of source would stay in the kernel's memory for good
    const big = new Uint8Array(3000 * 2000 * 3).map((_, i) => (i * 31) >> 4);
    const whole = getAffineTransform([1500, 1000], [15 * 1.25, 20 * 1.25], 0, 192, 256, false);
    const crop = new Float32Array(3 * 256 * 192).fill(7);
    assert.is(k.crop(big, 3000, 2000, whole, 192, 256, lut, crop, 0, -1), false);
    assert.ok(crop.every((v) => v === 7));
    const jsCrop = crop.slice();
    cropToTensorJs(big, 3000, 2000, whole, 192, 256, lut, jsCrop, 0, -1);
    cropToTensor(big, 3000, 2000, whole, 192, 256, lut, crop, 0, -1);
    assert.ok(crop.every((v, i) => v === jsCrop[i]) && jsCrop.some((v) => v !== jsCrop[0]));
    // a person box in it is taken
    const person = getAffineTransform([1500, 1000], [3, 4], 0, 192, 256, false);
    assert.ok(k.crop(big, 3000, 2000, person, 192, 256, lut, crop, 0, -1));
    cropToTensorJs(big, 3000, 2000, person, 192, 256, lut, jsCrop, 0, -1);
    assert.ok(crop.every((v, i) => v === jsCrop[i]));
  },
);

test.run();
