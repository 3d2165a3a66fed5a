// Person boxes: the list check shared by library, HTTP and CLI refuses every box whose arithmetic
// would turn non-finite or meaningless (issue 15), and every box it lets through stays finite
// through crop frame, affine matrix and heatmap decode.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getAffineTransform } from '../../src/core/affine.ts';
import {
  boxToCenterScale,
  checkBoxList,
  MAX_BOX_COORDINATE,
  validateBoxes,
} from '../../src/core/boxes.ts';
import { decodeDark, decodeDefault, decodeSR, type Heatmaps } from '../../src/core/decode/index.ts';
import { isSRPoseError } from '../../src/errors.ts';

const M = MAX_BOX_COORDINATE;

/** The INVALID_BOX message `check` throws; fails when it does not throw or throws another. */
function refusal(check: () => void, what: string): string {
  try {
    check();
  } catch (e) {
    assert.ok(isSRPoseError(e, 'INVALID_BOX'), `${what}: ${e}`);
    return (e as Error).message;
  }
  assert.unreachable(`${what} was accepted`);
  return '';
}

/** One (K, H, W) heatmap batch per frame with a single peak per map, away from the border. */
function peaks(n: number, k: number, w: number, h: number): Heatmaps {
  const data = new Float32Array(n * k * h * w);
  for (let m = 0; m < n * k; m++) {
    const px = 3 + ((m * 37) % (w - 6));
    const py = 3 + ((m * 53) % (h - 6));
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        data[m * h * w + y * w + x] = Math.exp(-((x - px) ** 2 + (y - py) ** 2) / 8);
      }
    }
  }
  return { data, n, k, h, w };
}

test('MAX_BOX_COORDINATE is 2^24, where float32 stops holding every integer', () => {
  assert.is(M, 16777216);
  assert.is(Math.fround(M + 1), M); // 2^24 + 1 is not a float32
  assert.is(Math.fround(M - 1), M - 1);
});

test('boxes whose edges pass +-2^24 are refused, naming the box and the edge', () => {
  const cases: [unknown[], RegExp][] = [
    [[0, 0, 1e308, 1e308], /^box 1 \[0, 0, 1e\+308, 1e\+308\]: x \+ width is 1e\+308;.*2\^24/],
    [[0, 0, 10, 1e308], /^box 1 .*: y \+ height is 1e\+308/],
    [[-1e308, 0, 10, 10], /^box 1 .*: x is -1e\+308/],
    [[0, M + 1, 10, 10], /^box 1 .*: y is 16777217/],
    [[M, 0, 1, 1], /^box 1 .*: x \+ width is 16777217/],
    [[0, -M - 1, 10, 10], /^box 1 .*: y is -16777217/],
    [[-M, 0, -1, 10], /^box 1 .*: x \+ width is -16777217/],
    [[1e7, 1e7, 1e7, 1e7], /^box 1 .*: x \+ width is 20000000/],
  ];
  for (const [box, message] of cases) {
    const list = [[1, 1, 5, 5], box];
    const m1 = refusal(() => checkBoxList(list, 64), `checkBoxList ${JSON.stringify(box)}`);
    assert.match(m1, message);
    const m2 = refusal(() => validateBoxes(list, 640, 480), `validateBoxes ${JSON.stringify(box)}`);
    assert.is(m2, m1);
  }
});

test('box edges exactly at +-2^24 are accepted', () => {
  checkBoxList([[-M, -M, 2 * M, 2 * M], [0, 0, M, M], [M - 1, M - 1, 1, 1]], 64);
  checkBoxList([[M, M, -2 * M, -2 * M]], 64); // shape only; validateBoxes wants w, h > 0
  validateBoxes([[-M, -M, 2 * M, 2 * M], [0, 0, 1e7, 1e7]], 640, 480);
});

test('a detector score must be finite and within [0, 1]', () => {
  for (const score of [1e308, -0.5, 1.0000001, -1e-9]) {
    const m = refusal(
      () => checkBoxList([[0, 0, 10, 10, 0.5], [1, 2, 3, 4, score]], 64),
      `score ${score}`,
    );
    assert.match(m, new RegExp(`^box 1 \\[1, 2, 3, 4, ${String(score).replace('+', '\\+')}\\]`));
    assert.match(m, /score is .*\[0, 1\]/);
  }
  for (const score of [NaN, Infinity, -Infinity]) {
    assert.match(refusal(() => checkBoxList([[1, 2, 3, 4, score]], 64), `${score}`), /finite/);
  }
  checkBoxList([[0, 0, 10, 10, 0], [0, 0, 10, 10, 1], [0, 0, 10, 10, 0.37], [0, 0, 1, 1, -0]], 64);
  validateBoxes([[0, 0, 10, 10, 1]], 640, 480);
});

test('sparse arrays, BigInt and non-arrays stay refused', () => {
  // deno-lint-ignore no-sparse-arrays
  const sparse = [0, , 10, 10];
  assert.match(refusal(() => checkBoxList([sparse], 64), 'a sparse box'), /box 0 .*finite/);
  const holes = new Array(4);
  assert.match(refusal(() => checkBoxList([holes], 64), 'new Array(4)'), /box 0 .*finite/);
  assert.is(
    refusal(() => checkBoxList([[0, 0, 10n, 10]], 64), 'a BigInt'),
    'box 0 [0, 0, 10n, 10]: every value must be a finite number',
  );
  // the message never throws while showing the box, and stays short
  const cyclic: unknown[] = [0, 0, 1];
  cyclic.push(cyclic);
  assert.match(refusal(() => checkBoxList([cyclic], 64), 'a cyclic box'), /box 0 .*finite/);
  assert.match(refusal(() => checkBoxList([[0, 0, 1, [2n]]], 64), 'a nested BigInt'), /finite/);
  const long = refusal(() => checkBoxList(['x'.repeat(10000)], 64), 'a long string');
  assert.ok(long.length < 250, `${long.length} characters`);
  refusal(() => checkBoxList({ 0: [0, 0, 1, 1], length: 1 }, 64), 'an array-like');
  // deno-lint-ignore no-sparse-arrays
  refusal(() => checkBoxList([, [0, 0, 1, 1]], 64), 'a hole in the list');
});

test('every box inside the bounds stays finite: frame, affine matrix and decoded keypoints', () => {
  const extremes = [
    [-M, -M, 2 * M, 2 * M],
    [-M, -M, 2 * M, 1e-6],
    [-M, -M, 1e-6, 2 * M],
    [M - 1e-6, M - 1e-6, 1e-6, 1e-6],
    [0, 0, 1e7, 1e7],
  ];
  // the top-down inputs in use, and aspect ratios far beyond them
  for (const [iw, ih] of [[192, 256], [288, 384], [256, 192], [32, 1024], [1024, 32]]) {
    for (const box of extremes) {
      checkBoxList([box], 64);
      const what = `${JSON.stringify(box)} at ${iw}x${ih}`;
      const frame = boxToCenterScale(box, iw, ih);
      const values = [...frame.center, ...frame.scale];
      assert.ok(values.every(Number.isFinite), `${what}: frame ${values}`);
      for (const inv of [false, true]) {
        const m = getAffineTransform(frame.center, frame.scale, 0, iw, ih, inv);
        assert.ok(m.every(Number.isFinite), `${what}: affine (inv ${inv}) ${m}`);
      }
      const hm = peaks(1, 3, 48, 64);
      for (
        const [name, decoded] of [
          ['sr', decodeSR(hm, [frame])],
          ['default', decodeDefault(hm, [frame])],
          ['dark', decodeDark(hm, [frame])],
        ] as const
      ) {
        assert.ok(decoded.coords.every(Number.isFinite), `${what} ${name}: ${decoded.coords}`);
      }
    }
  }
});

test('the box the bound refuses does overflow the decode (why the bound exists)', () => {
  const frame = boxToCenterScale([0, 0, 1e308, 1e308], 192, 256);
  const { coords } = decodeDefault(peaks(1, 1, 48, 64), [frame]);
  assert.not.ok(coords.every(Number.isFinite), `${coords}`);
});

test.run();
