// The flip test's merge on its WebAssembly SIMD kernel (src/core/flip-wasm.ts, kernels/flip.c)
// against the JavaScript loop (mergeFlippedJs; flip.test.ts holds both to the official swap +
// mirror + shift + average): identical floats for heatmap sizes whose widths exercise the
// 4-wide loop and its remainder, shift on and off, several boxes, joints swapped; NaN kept.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { flipIndexFromPairs, mergeFlipped, mergeFlippedJs } from '../../src/core/flip.ts';
import { wasmFlipMerger } from '../../src/core/flip-wasm.ts';

const COCO_PAIRS: [number, number][] = [
  [1, 2],
  [3, 4],
  [5, 6],
  [7, 8],
  [9, 10],
  [11, 12],
  [13, 14],
  [15, 16],
];

test('the kernel compiles here (Node and Deno have WebAssembly SIMD)', () => {
  assert.ok(wasmFlipMerger());
  assert.is(wasmFlipMerger(), wasmFlipMerger());
});

test('identical to the JS loop: sizes, shift on and off, 1-3 boxes, swapped joints', () => {
  const m = wasmFlipMerger()!;
  let seed = 3;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  let cases = 0;
  for (
    const [n, k, h, w, pairs] of [
      [2, 17, 256, 192, COCO_PAIRS],
      [1, 17, 64, 48, COCO_PAIRS],
      [3, 5, 3, 7, [[1, 2], [3, 4]]],
      [1, 3, 4, 1, [[0, 2]]],
      [2, 2, 5, 2, [[0, 1]]],
      [1, 4, 2, 3, []],
      [1, 1, 3, 5, []],
      [1, 2, 2, 9, [[0, 1]]],
    ] as [number, number, number, number, [number, number][]][]
  ) {
    const len = n * k * h * w;
    // heatmap-like values: mostly small, some negative, exact zeros, a few large
    const maps = new Float32Array(2 * len).map(() => {
      const r = rnd();
      return r < 0.05 ? 0 : r < 0.1 ? (r - 0.075) * 4000 : (rnd() - 0.2) * 2;
    });
    const index = flipIndexFromPairs(k, pairs);
    for (const shift of [true, false]) {
      const want = maps.slice();
      const got = maps.slice();
      mergeFlippedJs(want.subarray(0, len), want.subarray(len), n, k, h, w, index, shift);
      assert.ok(m.merge(got.subarray(0, len), got.subarray(len), n, k, h, w, index, shift));
      const i = want.findIndex((v, j) => !Object.is(v, got[j]));
      assert.is(
        i,
        -1,
        `${n}x${k}x${h}x${w} shift ${shift}: value ${i} is ${got[i]}, expected ${want[i]}`,
      );
      assert.ok(
        got.subarray(len).every((v, j) => Object.is(v, maps[len + j])),
        'the flipped maps are left as they were',
      );
      cases++;
    }
  }
  assert.is(cases, 16);
});

test('NaN in a map stays NaN where it lands, as in the JS loop', () => {
  const k = 1, h = 2, w = 6;
  const plain = new Float32Array(k * h * w).fill(1);
  const flipped = new Float32Array(k * h * w).fill(3);
  flipped[2] = NaN;
  const a = plain.slice(), b = plain.slice();
  mergeFlippedJs(a, flipped, 1, k, h, w, new Int32Array([0]), true);
  mergeFlipped(b, flipped, 1, k, h, w, new Int32Array([0]), true);
  assert.equal(Array.from(b).map(String), Array.from(a).map(String));
  assert.is(a.filter((v) => Number.isNaN(v)).length, 1);
});

test('declines maps over 16 MiB a box (kept memory), and mergeFlipped still merges them', () => {
  const m = wasmFlipMerger()!;
  const k = 17, h = 512, w = 384; // 2 x 13.4 MB
  const len = k * h * w;
  const plain = new Float32Array(len).fill(1), flipped = new Float32Array(len).fill(3);
  assert.is(m.merge(plain, flipped, 1, k, h, w, flipIndexFromPairs(k, COCO_PAIRS), true), false);
  assert.ok(plain.every((v) => v === 1));
  mergeFlipped(plain, flipped, 1, k, h, w, flipIndexFromPairs(k, COCO_PAIRS), true);
  assert.ok(plain.every((v) => v === 2));
});

test.run();
