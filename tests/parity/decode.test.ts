// Decode parity: given the same heatmaps, the TypeScript decoders equal the Python reference
// of the official decode (models/reference.py) to 1e-3 px.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { hasModel, modelDir, readF32, skipUnless, tempDir, writeF32 } from '../helpers/env.ts';
import { cachedReference, OUT } from '../helpers/reference.ts';
import {
  type CropFrame,
  decodeDark,
  decodeDefault,
  decodeSR,
  type Heatmaps,
} from '../../src/core/decode/index.ts';

const K = 17;

// Heatmaps from PyTorch on random weights (many near-equal peaks) plus hand-made hard cases:
// exact ties across windows, no positive value, a constant map, peaks on every border.
function hardCases(h: number, w: number): Float32Array {
  const plane = h * w;
  const out = new Float32Array(K * plane);
  let seed = 7;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  for (let k = 0; k < K; k++) {
    const m = out.subarray(k * plane, (k + 1) * plane);
    switch (k % 6) {
      case 0: // ties: same value at several places
        m.fill(0.01);
        for (let t = 0; t < 4; t++) m[Math.floor(rnd() * plane)] = 3;
        break;
      case 1: // all negative
        for (let i = 0; i < plane; i++) m[i] = -1 - rnd();
        break;
      case 2: // constant
        m.fill(0.5);
        break;
      case 3: // peak on a border pixel
        m.fill(0);
        m[Math.floor(rnd() * w)] = 2; // top row
        break;
      default: { // smooth random bump with noise
        const cx = rnd() * w, cy = rnd() * h, s = 1 + rnd() * 6;
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            m[y * w + x] = Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * s * s)) + 0.01 * rnd();
          }
        }
      }
    }
  }
  return out;
}

async function compare(
  method: 'sr' | 'default' | 'dark',
  hm: Heatmaps,
  frames: CropFrame[],
  tmp: string,
) {
  const file = join(tmp, `${method}-hm.f32`);
  await writeF32(file, hm.data);
  const { out: ref } = await cachedReference([
    'models/reference.py',
    'decode',
    '--method',
    method,
    '--heatmaps',
    file,
    '--shape',
    [hm.n, hm.k, hm.h, hm.w].join(','),
    '--centers',
    frames.map((f) => f.center.join(',')).join(';'),
    '--scales',
    frames.map((f) => f.scale.join(',')).join(';'),
    '--kernel',
    '11',
  ], { inputs: [file] });
  const got = method === 'sr'
    ? decodeSR(hm, frames)
    : method === 'dark'
    ? decodeDark(hm, frames, 11)
    : decodeDefault(hm, frames);
  // Compared in heatmap pixels (the unit the decoders work in) and in image pixels.
  let worstHm = 0, worstImg = 0, worstScore = 0;
  for (let i = 0; i < hm.n; i++) {
    const px = (frames[i].scale[0] * 200) / hm.w;
    const py = (frames[i].scale[1] * 200) / hm.h;
    for (let k = 0; k < hm.k; k++) {
      const [x, y] = ref.preds[i][k];
      const j = i * hm.k + k;
      const dx = Math.abs(got.coords[2 * j] - x), dy = Math.abs(got.coords[2 * j + 1] - y);
      worstImg = Math.max(worstImg, dx, dy);
      worstHm = Math.max(worstHm, dx / px, dy / py);
      worstScore = Math.max(worstScore, Math.abs(got.scores[j] - ref.maxvals[i][k]));
    }
  }
  console.log(
    `    ${method}: ${hm.n * hm.k} keypoints, max |ts - python| = ${
      worstHm.toExponential(2)
    } heatmap px = ${worstImg.toExponential(2)} image px, scores ${worstScore.toExponential(2)}`,
  );
  assert.ok(worstHm <= 1e-3, `${method}: max diff ${worstHm} heatmap px`);
  // The argmax-based decodes are exact up to float32 rounding even in image pixels; DARK's
  // Newton step amplifies float32 rounding of the blurred log-maps (numpy works in float32).
  if (method !== 'dark') assert.ok(worstImg <= 1e-3, `${method}: max diff ${worstImg} image px`);
  assert.ok(worstScore <= 1e-6, `${method}: score diff ${worstScore}`);
}

const frames = (n: number): CropFrame[] =>
  Array.from(
    { length: n },
    (_, i) => ({
      center: [Math.fround(300.5 + 17 * i), Math.fround(200.25 - 9 * i)],
      scale: [Math.fround(1.6 + 0.1 * i), Math.fround(2.1333 + 0.1333 * i)],
    }),
  );

for (const [arch, methods] of [['res50', ['sr']], ['res50_simple', ['default', 'dark']]] as const) {
  test(`${methods.join(' + ')} decode of ${arch} heatmaps equals the official decode`, async () => {
    if (skipUnless(hasModel(arch), `${arch} test model missing: run npm run models`)) return;
    const tmp = await tempDir('srpose-decode-');
    const { dir: netDir, out: meta } = await cachedReference([
      'models/reference.py',
      'net',
      '--arch',
      arch,
      '--checkpoint',
      join(modelDir(arch), 'checkpoint.pth'),
      '--batch',
      '2',
      '--seed',
      '3',
      '--out-dir',
      OUT,
    ], { models: [modelDir(arch)] });
    const [n, k, h, w] = meta.heatmapShape as number[];
    const net = await readF32(join(netDir, 'heatmaps.f32'));
    const data = new Float32Array((n + 1) * k * h * w);
    data.set(net);
    data.set(hardCases(h, w), n * k * h * w);
    for (const m of methods) await compare(m, { data, n: n + 1, k, h, w }, frames(n + 1), tmp);
  });
}

test.run();
