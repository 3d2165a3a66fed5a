// Box -> (center, scale) -> affine matrix against the Python reference (models/official.py:
// numpy float32 steps + cv2.getAffineTransform), compared double for double.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rm } from 'node:fs/promises';
import { applyAffine, getAffineTransform, invertAffine } from '../../src/core/affine.ts';
import { boxToCenterScale, validateBoxes } from '../../src/core/boxes.ts';
import { isSRPoseError } from '../../src/errors.ts';
import { cv2Dump, cv2Missing } from '../helpers/cv2.ts';

/** Distance in units in the last place between two doubles (0 when bit-identical). */
function ulps(a: number, b: number): number {
  if (Object.is(a, b)) return 0;
  const v = new DataView(new ArrayBuffer(16));
  v.setFloat64(0, a);
  v.setFloat64(8, b);
  const key = (i: number) => {
    const n = v.getBigInt64(i);
    return n < 0n ? -(n & 0x7fffffffffffffffn) : n;
  };
  const d = key(0) - key(8);
  return Number(d < 0n ? -d : d);
}

let ref: { dir: string; index: any } | undefined;

test.before(async () => {
  ref = await cv2Dump('affine');
});

test.after(async () => {
  if (ref) await rm(ref.dir, { recursive: true, force: true });
});

test('boxToCenterScale equals xywh2cs (float32) on 3000 random boxes', () => {
  if (cv2Missing(ref, 'affine')) return;
  for (const [i, r] of ref.index.boxes.entries()) {
    const { center, scale } = boxToCenterScale(r.box, 192, 256);
    assert.equal(
      [...center, ...scale],
      [...r.center, ...r.scale],
      `box ${i} ${JSON.stringify(r.box)}`,
    );
  }
});

test(
  'getAffineTransform equals get_affine_transform + cv2.getAffineTransform bit for bit (rot 0)',
  () => {
    if (cv2Missing(ref, 'affine')) return;
    let worst = 0;
    for (const [i, r] of ref.index.boxes.entries()) {
      const { center, scale } = boxToCenterScale(r.box, 192, 256);
      for (const [inv, want] of [[false, r.matrix], [true, r.inverse]] as const) {
        const got = getAffineTransform(center, scale, 0, 192, 256, inv);
        for (let k = 0; k < 6; k++) worst = Math.max(worst, ulps(got[k], want[k]));
        if (worst > 0) assert.equal(Array.from(got), want, `box ${i} inv=${inv}`);
      }
    }
    console.log(
      `  affine (rot 0): ${ref.index.boxes.length * 2} matrices, max difference ${worst} ulp`,
    );
  },
);

test('getAffineTransform with rotation and other output sizes', () => {
  if (cv2Missing(ref, 'affine')) return;
  let worst = 0;
  let exact = 0;
  let total = 0;
  for (const [i, r] of ref.index.frames.entries()) {
    for (const [inv, want] of [[false, r.matrix], [true, r.inverse]] as const) {
      const got = getAffineTransform(r.center, r.scale, r.rot, r.size[0], r.size[1], inv);
      let d = 0;
      for (let k = 0; k < 6; k++) d = Math.max(d, ulps(got[k], want[k]));
      total++;
      if (d === 0) exact++;
      worst = Math.max(worst, d);
      // Without rotation no trigonometry is involved: demand exact equality.
      if (r.rot === 0) assert.equal(Array.from(got), want, `frame ${i} inv=${inv}`);
      else {for (let k = 0; k < 6; k++) {
          assert.ok(
            Math.abs(got[k] - want[k]) <= 1e-9 * Math.max(1, Math.abs(want[k])),
            `frame ${i} rot=${r.rot} inv=${inv} [${k}]: ${got[k]} vs ${want[k]}`,
          );
        }}
    }
  }
  console.log(
    `  affine (any rot): ${exact}/${total} bit-identical, ` +
      `max difference ${worst} ulp (rotations use Math.sin/cos where numpy uses libm)`,
  );
});

test('the matrix maps the box center to the crop center and back', () => {
  const { center, scale } = boxToCenterScale([280.79, 44.73, 218.7, 346.68], 192, 256);
  const m = getAffineTransform(center, scale, 0, 192, 256);
  const [x, y] = applyAffine(m, center[0], center[1]);
  assert.ok(Math.abs(x - 96) < 1e-9 && Math.abs(y - 128) < 1e-9, `${x}, ${y}`);
  const back = applyAffine(invertAffine(m), 96, 128);
  assert.ok(Math.abs(back[0] - center[0]) < 1e-9 && Math.abs(back[1] - center[1]) < 1e-9);
  const inv = getAffineTransform(center, scale, 0, 192, 256, true);
  const m2 = invertAffine(inv);
  for (let k = 0; k < 6; k++) {
    assert.ok(Math.abs(m2[k] - m[k]) < 1e-9 * Math.max(1, Math.abs(m[k])));
  }
});

test('a wide box grows in height to the input aspect ratio, a tall one in width', () => {
  assert.equal(boxToCenterScale([0, 0, 300, 100], 192, 256).scale, [
    Math.fround(Math.fround(300 / 200) * 1.25),
    Math.fround(Math.fround(400 / 200) * 1.25),
  ]);
  assert.equal(boxToCenterScale([0, 0, 30, 400], 192, 256).scale, [
    Math.fround(Math.fround(300 / 200) * 1.25),
    Math.fround(Math.fround(400 / 200) * 1.25),
  ]);
});

test('validateBoxes: INVALID_BOX for non-finite, empty and off-image boxes, naming the box', () => {
  const cases: [unknown[], RegExp][] = [
    [[0, 0, NaN, 10], /box 1 .*finite/],
    [[0, Infinity, 10, 10], /box 1 .*finite/],
    [[0, 0, 0, 10], /box 1 .*> 0/],
    [[0, 0, 10, -5], /box 1 .*> 0/],
    [[640, 0, 10, 10], /box 1 .*outside/],
    [[-20, 0, 20, 10], /box 1 .*outside/],
    [[0, 480, 10, 10], /box 1 .*outside/],
    [[0, 0, 10], /box 1 /],
    [[0, 0, 10, 10, NaN], /box 1 .*finite/],
    [[0, '1', 10, 10], /box 1 .*finite/],
  ];
  for (const [box, message] of cases) {
    try {
      validateBoxes([[1, 1, 5, 5], box as number[]], 640, 480);
      assert.unreachable(`accepted ${JSON.stringify(box)}`);
    } catch (e) {
      assert.ok(isSRPoseError(e, 'INVALID_BOX'), `${JSON.stringify(box)}: ${e}`);
      assert.match((e as Error).message, message);
    }
  }
  validateBoxes([[-10, -10, 11, 11], [639, 479, 100, 100], [0, 0, 640, 480, 0.5]], 640, 480);
});

test.run();
