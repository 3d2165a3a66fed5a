// Pipeline parity on real COCO photos: estimate() (jsquash decode, OpenCV-exact crop,
// onnxruntime-web, TypeScript decode) vs the PyTorch reference pipeline (cv2.imread,
// cv2.warpAffine, torch model, official decode) on the same checkpoint, boxes and flip setting.
// >= 99% of keypoints within 0.25 heatmap pixels, and all within 1 but near-ties (two peaks of
// equal height, where ONNX Runtime and PyTorch may pick either; at most 0.5%).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { hasModel, hasShared, modelDir, python, ROOT, skipUnless, tempDir } from '../helpers/env.ts';
import { createEstimator } from '../../src/estimator/estimator.ts';
import { boxToCenterScale } from '../../src/core/boxes.ts';
import { type CocoSpec, cocoSpec } from '../helpers/coco.ts';

type Spec = CocoSpec;

/**
 * The PyTorch reference for this model, flip setting and spec. Node and Deno run the same
 * suite, so the result is kept under .cache/reference, keyed by the exporter stamp of the
 * model (which changes with the weights) and the request.
 */
async function reference(arch: string, flip: boolean, spec: Spec): Promise<any> {
  const dir = modelDir(arch);
  const stamp = (await readFile(join(dir, 'exporter.sha256'), 'utf8')).trim();
  const key = await sha256(JSON.stringify({ arch, flip, spec, stamp }));
  const cacheDir = join(ROOT, '.cache', 'reference');
  const cached = join(cacheDir, `${key}.json`);
  if (existsSync(cached)) return JSON.parse(await readFile(cached, 'utf8'));
  const tmp = await tempDir('srpose-pipe-');
  await writeFile(join(tmp, 'spec.json'), JSON.stringify(spec));
  await python(['models/reference.py', 'batch-pipeline', '--arch', arch, '--checkpoint', join(dir, 'checkpoint.pth'), '--spec', join(tmp, 'spec.json'), '--out', join(tmp, 'ref.json'), ...(flip ? ['--flip'] : [])]);
  const text = await readFile(join(tmp, 'ref.json'), 'utf8');
  await mkdir(cacheDir, { recursive: true });
  await writeFile(cached, text);
  return JSON.parse(text);
}

async function sha256(text: string): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, '0')).join('');
}

const cases: [arch: string, flip: boolean][] = [['res50', true], ['res50', false], ['hrformer_s', true], ['res50_simple', true]];

for (const [arch, flip] of cases) {
  test(`${arch}, flip ${flip ? 'on' : 'off'}: estimate() matches the PyTorch reference pipeline on COCO photos`, async () => {
    if (skipUnless(hasShared, `../shared/data/coco not found: pipeline parity skipped`)) return;
    if (skipUnless(hasModel(arch), `${arch} test model missing: run npm run models`)) return;
    const dir = modelDir(arch);
    const spec = await cocoSpec();
    const ref = await reference(arch, flip, spec);
    // the reference runs the fp32 checkpoint: the fp32 weights, not the contract's recommended
    // variant (res50 and hrformer_s also ship fp16 / int8 files, see tests/python/test_weights.py)
    const est = await createEstimator({ model: dir, backend: 'wasm', flipTest: flip, weights: 'fp32' });
    const { width: hw, height: hh } = est.info.heatmap;
    const dists: number[] = [];
    const far: { d: number; score: number; ref: number }[] = [];
    try {
      for (let i = 0; i < spec.length; i++) {
        const r = await est.estimate(await readFile(spec[i].image), { boxes: spec[i].boxes as any });
        assert.is(r.people.length, spec[i].boxes.length);
        r.people.forEach((p, b) => {
          const { scale } = boxToCenterScale(spec[i].boxes[b] as any, est.info.input.width, est.info.input.height);
          const px = (scale[0] * 200) / hw; // image pixels per heatmap pixel
          const py = (scale[1] * 200) / hh;
          p.keypoints.forEach((k, j) => {
            const [x, y, score] = ref[i].keypoints[b][j];
            const d = Math.hypot((k.x - x) / px, (k.y - y) / py);
            dists.push(d);
            if (d > 1) far.push({ d, score: k.score, ref: score });
          });
        });
      }
    } finally {
      await est.dispose();
    }
    const within = dists.filter((d) => d <= 0.25).length / dists.length;
    const worst = Math.max(...dists);
    console.log(
      `    ${arch} flip=${flip}: ${dists.length} keypoints, ${(100 * within).toFixed(2)}% within 0.25 hm px, worst ${worst.toFixed(4)} hm px` +
        (far.length ? `; beyond 1 px: ${far.map((f) => `${f.d.toFixed(1)} px (peak ${f.score.toFixed(5)} here, ${f.ref.toFixed(5)} in PyTorch)`).join(', ')}` : ''),
    );
    assert.ok(within >= 0.99, `only ${(100 * within).toFixed(2)}% within 0.25 heatmap px`);
    // Beyond 1 px only where two peaks tie: the peak we took is as high as PyTorch's (within
    // ONNX-vs-PyTorch rounding of the heatmaps, 1e-3), so the runtimes' last bits chose
    // between equal maxima; any other far keypoint fails, and ties stay rare.
    const untied = far.filter((f) => Math.abs(f.score - f.ref) > 2e-3);
    assert.equal(untied, [], `keypoints far from the reference without a tie: ${JSON.stringify(untied)}`);
    assert.ok(far.length <= Math.ceil(0.005 * dists.length), `${far.length} keypoints beyond 1 heatmap px`);
  });
}

test.run();
