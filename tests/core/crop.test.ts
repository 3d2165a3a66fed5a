// cropToTensor (warp + normalise in one pass) against the two steps it fuses, each verified
// against OpenCV / torchvision elsewhere (warp.test.ts, the pipeline parity tests):
// warpAffineBilinear then writeInputTensor, plain and mirrored.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getAffineTransform } from '../../src/core/affine.ts';
import { cropToTensor } from '../../src/core/crop.ts';
import { normalizeTable, writeInputTensor } from '../../src/core/normalize.ts';
import { warpAffineBilinear } from '../../src/core/warp.ts';

const lut = normalizeTable([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);

function twoSteps(
  src: Uint8Array,
  sw: number,
  sh: number,
  m: ArrayLike<number>,
  w: number,
  h: number,
  mirror: boolean,
): Float32Array {
  const crop = warpAffineBilinear(src, sw, sh, 3, m, w, h);
  const out = new Float32Array((mirror ? 2 : 1) * 3 * w * h);
  writeInputTensor(crop, w, h, lut, out, 0, false);
  if (mirror) writeInputTensor(crop, w, h, lut, out, 3 * w * h, true);
  return out;
}

test(
  'equals warpAffineBilinear + writeInputTensor: boxes inside, ' +
    'across and past the border, rotated, mirrored',
  () => {
    let seed = 5;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    let cases = 0;
    for (const [sw, sh] of [[640, 425], [37, 91], [2, 3]]) {
      const src = new Uint8Array(sw * sh * 3).map(() => Math.floor(rnd() * 256));
      for (let t = 0; t < 25; t++) {
        // centres from well inside to well outside the image, scales from tiny to 3x the image
        const center: [number, number] = [(rnd() * 1.6 - 0.3) * sw, (rnd() * 1.6 - 0.3) * sh];
        const scale: [number, number] = [
          (0.02 + rnd() * 3) * sw / 200,
          (0.02 + rnd() * 3) * sh / 200,
        ];
        const rot = t % 5 === 4 ? rnd() * 90 - 45 : 0;
        const [w, h] = t % 2 ? [192, 256] : [48, 64];
        const m = getAffineTransform(center, scale, rot, w, h, false);
        for (const mirror of [false, true]) {
          const want = twoSteps(src, sw, sh, m, w, h, mirror);
          const got = new Float32Array(want.length + 7).fill(NaN); // 7 spare: nothing written past
          cropToTensor(src, sw, sh, m, w, h, lut, got, 0, mirror ? 3 * w * h : -1);
          const i = want.findIndex((v, j) => v !== got[j]);
          assert.is(
            i,
            -1,
            `${sw}x${sh} case ${t} mirror ${mirror}: value ${i} is ${got[i]}, expected ${want[i]}`,
          );
          assert.ok(got.subarray(want.length).every((v) => Number.isNaN(v)));
          cases++;
        }
      }
    }
    assert.is(cases, 150);
  },
);

test('writes at the offsets asked for and leaves the rest of the batch alone', () => {
  const sw = 50, sh = 40;
  const src = new Uint8ClampedArray(sw * sh * 3).map((_, i) => (i * 29) & 255);
  const m = getAffineTransform([25, 20], [0.3, 0.4], 0, 24, 32, false);
  const per = 3 * 24 * 32;
  const batch = new Float32Array(4 * per).fill(7);
  cropToTensor(src, sw, sh, m, 24, 32, lut, batch, 1 * per, 3 * per);
  const want = twoSteps(new Uint8Array(src.buffer), sw, sh, m, 24, 32, true);
  assert.ok(
    batch.subarray(0, per).every((v) => v === 7) &&
      batch.subarray(2 * per, 3 * per).every((v) => v === 7),
  );
  assert.equal(Array.from(batch.subarray(per, 2 * per)), Array.from(want.subarray(0, per)));
  assert.equal(Array.from(batch.subarray(3 * per)), Array.from(want.subarray(per)));
});

test.run();
