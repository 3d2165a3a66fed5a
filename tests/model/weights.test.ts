// Weight variants (srpose.json `onnx.weights`, `onnx.variants`, `onnx.recommended`): the
// contract is checked, the rules pick the file (forced, fp16 on WebGPU with shader-f16, else
// recommended), and only the chosen file is read or downloaded, from a directory, the Hub and
// bytes. The "variants" here are tiny models with other weights, so which one ran shows in the
// keypoints; real fp16 / int8 files are compared in tests/parity/weights.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { skipUnless, tempDir } from '../helpers/env.ts';
import { env } from '../../src/platform/env.ts';
import { rejects } from '../helpers/assert.ts';
import { tinyConfig, tinyOnnx, tinyVariantFiles } from '../helpers/tiny.ts';
import { startHubServer } from '../helpers/hub-server.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { chooseWeights } from '../../src/model/weights.ts';
import { probeWebGpu } from '../../src/runtime/webgpu.ts';
import { createEstimator } from '../../src/estimator/estimator.ts';
import type { EstimateResult, EstimatorOptions } from '../../src/types.ts';

const img = {
  data: new Uint8Array(64 * 48 * 3).map((_, i) => (i * 13) & 255),
  width: 64,
  height: 48,
};

async function writeDir(files: Record<string, Uint8Array>, skip: string[] = []): Promise<string> {
  const dir = await tempDir('srpose-variants-');
  for (const [name, bytes] of Object.entries(files)) {
    if (!skip.includes(name)) await writeFile(join(dir, name), bytes);
  }
  return dir;
}

async function run(opts: EstimatorOptions): Promise<EstimateResult> {
  const est = await createEstimator({ backend: 'wasm', ...opts });
  try {
    return await est.estimate(img, { flipTest: false });
  } finally {
    await est.dispose();
  }
}

/** The keypoints of the tiny model with `seed` weights, as the reference of "which file ran". */
const reference = async (seed: number) =>
  (await run({ model: { onnx: await tinyOnnx(seed), config: tinyConfig() } })).people;

test('the contract: variants and recommended are checked field by field', () => {
  const base = () =>
    tinyConfig({
      onnx: {
        file: 'model.onnx',
        input: 'image',
        output: 'heatmaps',
        variants: { int8: { file: 'model_int8.onnx' } },
        recommended: 'int8',
      },
    });
  const ok = parseModelConfig(base());
  assert.is(ok.onnx.weights, 'fp32');
  assert.is(ok.onnx.recommended, 'int8');
  assert.equal(ok.onnx.variants, {
    int8: { file: 'model_int8.onnx', sha256: undefined, bytes: undefined },
  });
  // an older contract: fp32 only, recommended fp32
  const old = parseModelConfig(tinyConfig());
  assert.equal([old.onnx.weights, old.onnx.recommended, old.onnx.variants], ['fp32', 'fp32', {}]);
  const broken: [string, (c: any) => void, RegExp][] = [
    [
      'unknown kind',
      (c) => (c.onnx.variants = { int4: { file: 'x.onnx' } }),
      /a key of onnx\.variants must be one of fp32, fp16, int8/,
    ],
    ['weights', (c) => (c.onnx.weights = 'bf16'), /onnx\.weights must be one of/],
    [
      'repeats the main file',
      (c) => (c.onnx.variants = { fp32: { file: 'x.onnx' } }),
      /repeats onnx\.weights/,
    ],
    ['recommended missing', (c) => (c.onnx.recommended = 'fp16'), /onnx\.recommended is fp16/],
    [
      'escaping path',
      (c) => (c.onnx.variants.int8.file = '../x.onnx'),
      /onnx\.variants\.int8\.file must be a relative path/,
    ],
    [
      'with external data',
      (c) => (c.onnx.externalData = [{ file: 'model.onnx.data' }]),
      /cannot be combined with onnx\.externalData/,
    ],
    ['bad size', (c) => (c.onnx.variants.int8.bytes = -1), /onnx\.variants\.int8\.bytes/],
  ];
  for (const [name, mutate, re] of broken) {
    const c = base();
    mutate(c);
    assert.throws(
      () => parseModelConfig(c),
      (e: Error) => (e as any).code === 'MODEL_INVALID' && re.test(e.message),
      name,
    );
  }
});

test(
  'the rules: forced, fp16 on WebGPU with shader-f16, ' +
    'else recommended; only among what is offered',
  async () => {
    const config = parseModelConfig(
      JSON.parse(new TextDecoder().decode((await tinyVariantFiles('int8'))['srpose.json'])),
    );
    const wasm = { backend: 'wasm', shaderF16: false };
    const f16gpu = { backend: 'webgpu', shaderF16: true };
    assert.equal(chooseWeights(config, 'auto', wasm).weights, 'int8');
    assert.equal(chooseWeights(config, 'auto', wasm).reason, 'recommended by srpose.json');
    assert.equal(
      chooseWeights(config, 'auto', { backend: 'webgpu', shaderF16: false }).weights,
      'int8',
    );
    assert.equal(chooseWeights(config, 'auto', f16gpu), {
      weights: 'fp16',
      spec: config.onnx.variants.fp16!,
      reason: 'WebGPU adapter with shader-f16',
    });
    // shader-f16 on a backend that is not WebGPU changes nothing
    assert.equal(
      chooseWeights(config, 'auto', { backend: 'wasm', shaderF16: true }).weights,
      'int8',
    );
    assert.equal(chooseWeights(config, 'fp32', f16gpu).weights, 'fp32');
    assert.equal(chooseWeights(config, 'fp32', f16gpu).spec.file, 'model.onnx');
    // offered: only the bytes given
    assert.equal(chooseWeights(config, 'auto', f16gpu, ['fp32']).weights, 'fp32');
    assert.throws(
      () => chooseWeights(config, 'fp16', wasm, ['fp32']),
      (e: Error) =>
        (e as any).code === 'INVALID_OPTION' && /no fp16 weights \(it has fp32\)/.test(e.message),
    );
    const plain = parseModelConfig(tinyConfig());
    assert.throws(
      () => chooseWeights(plain, 'int8', wasm),
      (e: Error) =>
        /has no int8 weights \(it has fp32\); export them with models\/export\.py --weights int8/
          .test(e.message),
    );
    assert.equal(chooseWeights(plain, 'auto', f16gpu).reason, 'the only weights');
  },
);

test(
  'from a directory: the recommended file runs, ' +
    'a forced one too, and only the chosen file is read',
  async () => {
    const files = await tinyVariantFiles('fp16');
    const [r0, r1, r2] = await Promise.all([0, 1, 2].map(reference));
    assert.not.equal(r0, r1, 'the three tiny models must differ for this test to mean anything');
    const dir = await writeDir(files);
    const auto = await run({ model: dir });
    assert.is(auto.weights, 'fp16');
    assert.equal(auto.people, r1);
    const int8 = await run({ model: dir, weights: 'int8' });
    assert.is(int8.weights, 'int8');
    assert.equal(int8.people, r2);
    assert.equal((await run({ model: dir, weights: 'fp32' })).people, r0);
    const est = await createEstimator({ model: dir, backend: 'wasm' });
    assert.is(est.info.weights, 'fp16');
    assert.is(est.info.weightsReason, 'recommended by srpose.json');
    await est.dispose();
    // model.onnx absent: the fp16 file is all that is read
    const only = await writeDir(files, ['model.onnx', 'model_int8.onnx']);
    assert.equal((await run({ model: only })).people, r1);
    await rejects(run({ model: only, weights: 'int8' }), 'MODEL_NOT_FOUND', /model_int8\.onnx/);
    await rejects(
      run({ model: dir, weights: 'int4' as any }),
      'INVALID_OPTION',
      /weights must be 'auto', 'fp32', 'fp16' or 'int8'/,
    );
    // a variant whose bytes do not match its sha256
    const bad = await writeDir({ ...files, 'model_int8.onnx': files['model_fp16.onnx'] });
    await rejects(
      run({ model: bad, weights: 'int8' }),
      'MODEL_INVALID',
      /model_int8\.onnx .*(sha256|bytes)/,
    );
  },
);

test('from the Hub: only the chosen file is downloaded', async () => {
  const server = await startHubServer();
  try {
    server.addRepo('srpose/variants');
    server.commit('srpose/variants', await tinyVariantFiles('int8'));
    const opts = { hubUrl: server.url, cacheDir: await tempDir('srpose-hubcache-') };
    const r = await run({ model: 'srpose/variants', ...opts });
    assert.is(r.weights, 'int8');
    assert.equal(r.people, await reference(2));
    assert.equal(
      ['model.onnx', 'model_fp16.onnx', 'model_int8.onnx'].map((f) =>
        server.downloads('srpose/variants', f)
      ),
      [0, 0, 1],
    );
    const fp16 = await run({ model: 'srpose/variants', weights: 'fp16', ...opts });
    assert.equal(fp16.people, await reference(1));
    assert.equal(
      ['model.onnx', 'model_fp16.onnx', 'model_int8.onnx'].map((f) =>
        server.downloads('srpose/variants', f)
      ),
      [0, 1, 1],
    );
  } finally {
    await server.stop();
  }
});

test('from bytes: the bytes given run (a variant by its file name in externalData)', async () => {
  const files = await tinyVariantFiles('fp16');
  const config = JSON.parse(new TextDecoder().decode(files['srpose.json']));
  const r = await run({ model: { onnx: files['model.onnx'], config } });
  assert.is(r.weights, 'fp32');
  assert.equal(r.people, await reference(0));
  const est = await createEstimator({
    model: { onnx: files['model.onnx'], config },
    backend: 'wasm',
  });
  assert.match(est.info.weightsReason, /the weights given \(srpose\.json recommends fp16\)/);
  await est.dispose();
  const withVariant = await run({
    model: {
      onnx: files['model.onnx'],
      config,
      externalData: { 'model_fp16.onnx': files['model_fp16.onnx'] },
    },
  });
  assert.is(withVariant.weights, 'fp16');
  await rejects(
    run({ model: { onnx: files['model.onnx'], config }, weights: 'int8' }),
    'INVALID_OPTION',
    /no int8 weights \(it has fp32\)/,
  );
});

// Node has no navigator.gpu (and env is read once, so none can be stood in): Deno runs this.
if (!env.isNode) {
  test(
    'probeWebGpu reports shader-f16 and refuses fallback ' +
      'adapters under auto (a stand-in navigator.gpu)',
    async () => {
      const gpu = (globalThis as any).navigator?.gpu;
      if (skipUnless(gpu, 'no navigator.gpu in this runtime')) return;
      const original = gpu.requestAdapter;
      const fake = (features: string[], isFallbackAdapter: boolean) => () =>
        Promise.resolve({
          features: new Set(features),
          info: { isFallbackAdapter, vendor: 'test', architecture: 'fake' },
        });
      try {
        gpu.requestAdapter = fake(['shader-f16'], false);
        assert.equal(await probeWebGpu('auto'), { shaderF16: true });
        gpu.requestAdapter = fake([], false);
        assert.equal(await probeWebGpu('auto'), { shaderF16: false });
        gpu.requestAdapter = fake(['shader-f16'], true);
        assert.match(
          (await probeWebGpu('auto')).unavailable ?? '',
          /software fallback \(test fake\)/,
        );
        assert.equal(await probeWebGpu('webgpu'), { shaderF16: true });
        gpu.requestAdapter = () => Promise.resolve(null);
        assert.match((await probeWebGpu('auto')).unavailable ?? '', /returned null/);
      } finally {
        gpu.requestAdapter = original;
      }
    },
  );
}

test.run();
