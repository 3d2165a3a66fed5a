import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { flipIndexFromPairs, mergeFlipped } from '../../src/core/flip.ts';

// The official flip-back, spelled out step by step on nested arrays: swap pairs, mirror, shift.
function reference(
  plain: number[][][],
  flipped: number[][][],
  pairs: [number, number][],
  shift: boolean,
): number[][][] {
  const back = flipped.map((m) => m.map((r) => r.slice()));
  for (const [a, b] of pairs) {
    [back[a], back[b]] = [
      flipped[b].map((r) => r.slice()),
      flipped[a].map((r) => r.slice()),
    ];
  }
  const mirrored = back.map((m) => m.map((r) => r.slice().reverse()));
  const shifted = shift ? mirrored.map((m) => m.map((r) => [r[0], ...r.slice(0, -1)])) : mirrored;
  return plain.map((m, k) =>
    m.map((r, y) => r.map((v, x) => Math.fround(Math.fround(v + shifted[k][y][x]) * 0.5)))
  );
}

test('mergeFlipped equals the official swap + mirror + shift + average', () => {
  const k = 5, h = 3, w = 7;
  const pairs: [number, number][] = [[1, 2], [3, 4]];
  let seed = 1;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 4 - 1;
  const plain = new Float32Array(k * h * w).map(rnd);
  const flipped = new Float32Array(k * h * w).map(rnd);
  const nested = (a: Float32Array) =>
    Array.from(
      { length: k },
      (_, j) =>
        Array.from({ length: h }, (_, y) =>
          Array.from(a.subarray(j * h * w + y * w, j * h * w + y * w + w))),
    );
  for (const shift of [true, false]) {
    const want = reference(nested(plain), nested(flipped), pairs, shift);
    const got = plain.slice();
    mergeFlipped(got, flipped, 1, k, h, w, flipIndexFromPairs(k, pairs), shift);
    assert.equal(nested(got), want, `shift=${shift}`);
  }
});

test('flipIndexFromPairs maps each joint to its mirror', () => {
  assert.equal(Array.from(flipIndexFromPairs(5, [[1, 2], [3, 4]])), [0, 2, 1, 4, 3]);
});

test.run();
