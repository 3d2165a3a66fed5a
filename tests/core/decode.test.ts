import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeDark, decodeDefault, decodeSR, type Heatmaps } from '../../src/core/decode/index.ts';

// Encodes keypoints as Gaussians (the training targets) and decodes them back.
function gaussians(w: number, h: number, points: [number, number][], sigma: number): Heatmaps {
  const data = new Float32Array(points.length * w * h);
  points.forEach(([px, py], k) => {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        data[k * w * h + y * w + x] = Math.exp(
          -((x - px) ** 2 + (y - py) ** 2) / (2 * sigma * sigma),
        );
      }
    }
  });
  return { data, n: 1, k: points.length, h, w };
}

// A frame whose transform is easy to invert: scale * 200 = heatmap size * 2, so image = 2 * hm +
// offset.
const frameFor = (w: number, h: number) => ({
  center: [500, 300] as const,
  scale: [(2 * w) / 200, (2 * h) / 200] as const,
});
const toImage = (w: number, h: number, x: number, y: number) => [2 * x + 500 - w, 2 * y + 300 - h];

test('SR decode recovers Gaussian peaks to the quarter pixel, back in image pixels', () => {
  const pts: [number, number][] = [[100.3, 40.8], [20.6, 200.2], [150, 128], [5.4, 250.6]];
  const hm = gaussians(192, 256, pts, 8);
  const { coords, scores } = decodeSR(hm, [frameFor(192, 256)]);
  pts.forEach(([x, y], k) => {
    const [ex, ey] = toImage(192, 256, x, y);
    assert.ok(
      Math.abs(coords[2 * k] - ex) <= 2 * 0.25 + 1e-9,
      `x of ${k}: ${coords[2 * k]} vs ${ex}`,
    );
    assert.ok(
      Math.abs(coords[2 * k + 1] - ey) <= 2 * 0.25 + 1e-9,
      `y of ${k}: ${coords[2 * k + 1]} vs ${ey}`,
    );
    assert.ok(scores[k] > 0.9 && scores[k] <= 1);
  });
  // exactly on a pixel and inside: no offset at all (both neighbours equal)
  assert.equal([coords[4], coords[5]], toImage(192, 256, 150, 128));
});

test('SR decode breaks ties window first, as max_pool2d_with_indices + _get_max_preds do', () => {
  const w = 192, h = 256;
  const hm: Heatmaps = { data: new Float32Array(w * h).fill(0.1), n: 1, k: 1, h, w };
  hm.data[17 * w + 100] = 5; // window (1, 6): first in plain row-major order
  hm.data[20 * w + 3] = 5; // window (1, 0): first window in row-major order of windows
  const { coords } = decodeSR(hm, [{ center: [96, 128], scale: [192 / 200, 256 / 200] }]);
  assert.equal([coords[0], coords[1]], [3, 20]);
  const plain = decodeDefault(hm, [{ center: [96, 128], scale: [192 / 200, 256 / 200] }]);
  assert.equal([plain.coords[0], plain.coords[1]], [100, 17]);
});

test(
  'SR decode with no positive peak uses the last window, as the official (-1, -1) index does',
  () => {
    const w = 192, h = 256;
    const hm: Heatmaps = { data: new Float32Array(w * h).fill(-1), n: 1, k: 1, h, w };
    hm.data[5 * w + 5] = -0.1; // the largest value, in the first window
    hm.data[250 * w + 180] = -0.5; // the largest value of the last window
    const { coords, scores } = decodeSR(hm, [{ center: [96, 128], scale: [192 / 200, 256 / 200] }]);
    assert.equal([coords[0], coords[1]], [180, 250]);
    assert.ok(Math.abs(scores[0] - -0.1) < 1e-7);
  },
);

// Both axes step, or neither: the official test is on x and y together.
test('SR decode steps a quarter pixel only strictly inside the border', () => {
  const w = 192, h = 256;
  const frame = { center: [96, 128] as const, scale: [192 / 200, 256 / 200] as const };
  for (
    const [x, y, dx, dy] of [
      [1, 50, 0, 0],
      [2, 50, 0.25, 0.25],
      [190, 50, 0.25, 0.25],
      [191, 50, 0, 0],
      [50, 1, 0, 0],
      [50, 254, 0.25, 0.25],
      [50, 255, 0, 0],
    ]
  ) {
    const hm: Heatmaps = { data: new Float32Array(w * h), n: 1, k: 1, h, w };
    hm.data[y * w + x] = 1;
    if (x + 1 < w) hm.data[y * w + x + 1] = 0.5;
    if (y + 1 < h) hm.data[(y + 1) * w + x] = 0.5;
    const { coords } = decodeSR(hm, [frame]);
    assert.equal([coords[0], coords[1]], [x + dx, y + dy], `peak at ${x},${y}`);
  }
});

test('default decode: argmax + quarter offset on 64x48 maps; no positive peak -> (-1, -1)', () => {
  const pts: [number, number][] = [[20.3, 30.7], [40.9, 10.1]];
  const hm = gaussians(48, 64, pts, 2);
  const { coords } = decodeDefault(hm, [frameFor(48, 64)]);
  pts.forEach(([x, y], k) => {
    const [ex, ey] = toImage(48, 64, x, y);
    assert.ok(
      Math.abs(coords[2 * k] - ex) <= 0.5 + 1e-9 && Math.abs(coords[2 * k + 1] - ey) <= 0.5 + 1e-9,
    );
  });
  const neg: Heatmaps = { data: new Float32Array(48 * 64).fill(-2), n: 1, k: 1, h: 64, w: 48 };
  const d = decodeDefault(neg, [frameFor(48, 64)]);
  assert.equal([d.coords[0], d.coords[1]], toImage(48, 64, -1, -1));
});

test('DARK recovers sub-pixel Gaussian peaks far better than the quarter offset', () => {
  const pts: [number, number][] = [[20.3, 30.7], [25.62, 12.18], [10.5, 50.45]];
  const hm = gaussians(48, 64, pts, 2);
  const copy = hm.data.slice();
  const { coords } = decodeDark(hm, [frameFor(48, 64)], 11);
  assert.equal(hm.data, copy, 'input heatmaps untouched');
  pts.forEach(([x, y], k) => {
    const [ex, ey] = toImage(48, 64, x, y);
    // 0.05 heatmap px = 0.1 image px in this frame
    assert.ok(
      Math.abs(coords[2 * k] - ex) < 0.1 && Math.abs(coords[2 * k + 1] - ey) < 0.1,
      `k=${k}: ${coords[2 * k]},${coords[2 * k + 1]} vs ${ex},${ey}`,
    );
  });
});

// The official SR decode spelt out: pool every window (first maximum of each), take the first
// largest window, or the last window when no maximum is > 0. decodeSR finds the same pixel
// without pooling; this checks it on maps full of exact ties, on sizes the pool does not divide.
function pooledPeak(d: Float32Array, w: number, h: number, pool: number): [number, number] {
  let bestVal = -Infinity, bestIdx = -1, lastIdx = -1;
  for (let cy = 0; cy < Math.floor(h / pool); cy++) {
    for (let cx = 0; cx < Math.floor(w / pool); cx++) {
      let wVal = -Infinity, wIdx = -1;
      for (let y = cy * pool; y < (cy + 1) * pool; y++) {
        for (let x = cx * pool; x < (cx + 1) * pool; x++) {
          if (wIdx < 0 || d[y * w + x] > wVal) (wVal = d[y * w + x]), (wIdx = y * w + x);
        }
      }
      if (bestIdx < 0 || wVal > bestVal) (bestVal = wVal), (bestIdx = wIdx);
      lastIdx = wIdx;
    }
  }
  return [bestVal > 0 ? bestIdx : lastIdx, bestVal];
}

test(
  'SR decode picks the pixel the pooled official decode picks, ties and odd sizes included',
  () => {
    let seed = 11;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    let checked = 0;
    for (const [w, h, pool] of [[192, 256, 16], [50, 70, 16], [48, 64, 4], [33, 17, 8]]) {
      for (let t = 0; t < 60; t++) {
        // few distinct levels so the maximum repeats in many windows; a third all non-positive
        const levels = 1 + Math.floor(rnd() * 4);
        const sign = t % 3 === 0 ? -1 : 1;
        const data = new Float32Array(w * h).map(() => sign * Math.floor(rnd() * levels) / 4);
        // keep the peak (no offset) exact: the quarter step is compared by the other tests
        const hm: Heatmaps = { data, n: 1, k: 1, h, w };
        const frame = { center: [w / 2, h / 2] as const, scale: [w / 200, h / 200] as const };
        const [idx, val] = pooledPeak(data, w, h, pool);
        const { coords, scores } = decodeSR(hm, [frame], pool);
        const px = idx % w, py = Math.floor(idx / w);
        // decodeSR may add a quarter step toward the higher neighbour: within 0.25 of the pixel
        assert.ok(
          Math.abs(coords[0] - px) <= 0.25 && Math.abs(coords[1] - py) <= 0.25,
          `${w}x${h}/${pool} #${t}: ${coords[0]},${coords[1]} vs pixel ${px},${py}`,
        );
        assert.is(scores[0], val);
        checked++;
      }
    }
    assert.is(checked, 240);
  },
);

test.run();
