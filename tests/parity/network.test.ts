// Network parity: onnxruntime-web heatmaps vs PyTorch's on the same random-weight model and
// the same random input batch (max |diff| <= 1e-3 of the heatmap range).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { hasModel, modelDir, readF32, skipUnless } from '../helpers/env.ts';
import { cachedReference, OUT } from '../helpers/reference.ts';
import { loadModel } from '../../src/model/source.ts';
import { createPoseSession, planBackend } from '../../src/runtime/session.ts';
import { chooseWeights } from '../../src/model/weights.ts';

const cases: [arch: string, prepared: boolean][] = [
  ['res50', false],
  ['hrnet_w32', false],
  ['hrformer_s', false],
  ['hrformer_s', true],
  ['res50_simple', false],
];
for (const [arch, prepared] of cases) {
  const graph = prepared ? ' (its prepared graph, batch 1, run twice)' : '';
  test(`${arch}${graph}: onnxruntime-web (wasm) heatmaps equal PyTorch's`, async () => {
    if (skipUnless(hasModel(arch), `${arch} test model missing: run npm run models`)) return;
    const dir = modelDir(arch);
    const { dir: tmp, out: meta } = await cachedReference([
      'models/reference.py',
      'net',
      '--arch',
      arch,
      '--checkpoint',
      join(dir, 'checkpoint.pth'),
      '--batch',
      '2',
      '--seed',
      '1',
      '--out-dir',
      OUT,
    ], { models: [dir] });
    const input = await readF32(join(tmp, 'input.f32'));
    const want = await readF32(join(tmp, 'heatmaps.f32'));
    // the fp32 weights as the estimator picks their graph for WASM
    const plan = await planBackend('wasm', false);
    const model = await loadModel(
      dir,
      {},
      undefined,
      (config) => chooseWeights(config, 'fp32', { ...plan, prepared }),
    );
    if (model.config.kind !== 'top-down') throw new Error(`${arch} is not a top-down model`);
    assert.is(model.fixedBatch, prepared ? 1 : undefined);
    const { heatmap } = model.config;
    const session = await createPoseSession(model.onnx, model.config.onnx, {
      backend: 'wasm',
      fixedBatch: model.fixedBatch,
    });
    try {
      const out = await session.run(input, meta?.inputShape ?? [2, 3, 256, 192]);
      assert.equal(Array.from(out.dims), [2, 17, heatmap.height, heatmap.width]);
      let lo = Infinity, hi = -Infinity, maxDiff = 0;
      for (let i = 0; i < want.length; i++) {
        lo = Math.min(lo, want[i]);
        hi = Math.max(hi, want[i]);
        maxDiff = Math.max(maxDiff, Math.abs(out.data[i] - want[i]));
      }
      const range = hi - lo;
      console.log(
        `    ${arch}${prepared ? ' prepared' : ''}: max |ort - torch| = ${
          maxDiff.toExponential(2)
        }, heatmap range ${range.toFixed(3)}`,
      );
      assert.ok(range > 1e-3, `degenerate heatmaps (range ${range})`);
      assert.ok(maxDiff <= 1e-3 * range, `max diff ${maxDiff} > 1e-3 x range ${range}`);
    } finally {
      await session.release();
    }
  });
}

test.run();
