// Prepared graphs (`srpose prepare`, srpose.json `onnx.prepared`): the batch-axis edit, the
// files and contract prepare writes (onnxruntime-node), when the estimator loads them (WASM on
// the same onnxruntime minor, not forbidden) and that a batch of any size runs through a graph
// folded for one crop, with the exported graph's keypoints. On tiny models; the real models'
// parity is in tests/parity/network and tests/parity/pipeline.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { skipUnless, tempDir } from '../helpers/env.ts';
import { rejects } from '../helpers/assert.ts';
import { tinyVariantFiles } from '../helpers/tiny.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { chooseWeights, preparedGraph } from '../../src/model/weights.ts';
import { prepareModel } from '../../src/model/prepare.ts';
import { contractFiles } from '../../src/model/publish.ts';
import { setBatchAxis } from '../../src/runtime/onnx-proto.ts';
import { loadNative } from '../../src/runtime/native.ts';
import { planBackend } from '../../src/runtime/session.ts';
import { createEstimator } from '../../src/estimator/estimator.ts';
import * as ort from 'onnxruntime-web';

const hasNative = typeof (await loadNative()) !== 'string';

/** The first dimension of the graph input and output, as onnxruntime reads them. */
async function batchDims(onnx: Uint8Array): Promise<unknown[]> {
  const s = await ort.InferenceSession.create(onnx, { executionProviders: ['wasm'] });
  try {
    return [...s.inputMetadata, ...s.outputMetadata].map((m: any) => m.shape?.[0]);
  } finally {
    await s.release();
  }
}

async function preparedDir(): Promise<string> {
  const dir = await tempDir('srpose-prepare-');
  for (const [name, bytes] of Object.entries(await tinyVariantFiles('fp32'))) {
    await writeFile(join(dir, name), bytes);
  }
  await prepareModel(dir);
  return dir;
}

test('setBatchAxis: sets the first dimension of the named input and output only', async () => {
  const files = await tinyVariantFiles();
  const onnx = files['model.onnx'];
  assert.equal(await batchDims(onnx), ['n', 'n']);
  const fixed = setBatchAxis(onnx, ['image', 'heatmaps'], 1);
  assert.is(fixed.changed, 2);
  assert.equal(await batchDims(fixed.bytes), [1, 1]);
  const back = setBatchAxis(fixed.bytes, ['image', 'heatmaps'], 'n');
  assert.equal([...back.bytes], [...onnx], 'fixed then named again: the bytes exported');
  const one = setBatchAxis(onnx, ['heatmaps'], 1);
  assert.is(one.changed, 1);
  assert.equal(await batchDims(one.bytes), ['n', 1]);
  assert.is(setBatchAxis(onnx, ['other'], 1).bytes, onnx, 'nothing named: the same bytes');
});

test('srpose prepare: fp32 and int8 in ORT format, batch 1, recorded in srpose.json', async () => {
  if (skipUnless(hasNative, 'srpose prepare needs onnxruntime-node')) return;
  const dir = await preparedDir();
  const raw = JSON.parse(await readFile(join(dir, 'srpose.json'), 'utf8'));
  const config = parseModelConfig(raw);
  const p = config.onnx.prepared!;
  assert.is(p.version, (await import('onnxruntime-node')).env.versions.node);
  assert.equal(Object.keys(p.files).sort(), ['fp32', 'int8'], 'fp16 is not prepared');
  assert.is(p.files.fp32!.file, 'model.prepared.ort');
  assert.is(p.files.int8!.file, 'model_int8.prepared.ort');
  for (const f of Object.values(p.files)) {
    const bytes = new Uint8Array(await readFile(join(dir, f!.file)));
    assert.is(bytes.byteLength, f!.bytes);
    // a flatbuffer with onnxruntime's file identifier (bytes 4-7), not an ONNX protobuf
    assert.is(new TextDecoder().decode(bytes.subarray(4, 8)), 'ORTM');
    assert.equal(await batchDims(bytes), [1, 1]);
  }
  assert.ok(
    contractFiles(config).some((f) => f.file === 'model_int8.prepared.ort'),
    'publish uploads the prepared files',
  );
});

test('srpose prepare again: files an earlier preparation named otherwise go', async () => {
  if (skipUnless(hasNative, 'srpose prepare needs onnxruntime-node')) return;
  const dir = await preparedDir();
  // as an earlier srpose recorded it: an ONNX file of the prepared graph
  const raw = JSON.parse(await readFile(join(dir, 'srpose.json'), 'utf8'));
  raw.onnx.prepared.files.int8.file = 'model_int8.prepared.onnx';
  await writeFile(join(dir, 'srpose.json'), JSON.stringify(raw));
  await writeFile(join(dir, 'model_int8.prepared.onnx'), new Uint8Array(8));
  const p = await prepareModel(dir);
  assert.is(p.files.int8!.file, 'model_int8.prepared.ort');
  assert.not.ok(existsSync(join(dir, 'model_int8.prepared.onnx')), 'the older file is removed');
  assert.ok((await readFile(join(dir, 'model_int8.prepared.ort'))).byteLength > 0);
  assert.ok((await readFile(join(dir, 'model.onnx'))).byteLength > 0, 'the exported graph stays');
});

test('the estimator loads the prepared graph on WASM only, and it runs any batch', async () => {
  if (skipUnless(hasNative, 'srpose prepare needs onnxruntime-node')) return;
  const dir = await preparedDir();
  const img = {
    data: new Uint8Array(160 * 120 * 3).map((_, i) => (i * 29) & 255),
    width: 160,
    height: 120,
  };
  const boxes: [number, number, number, number][] = [[0, 0, 80, 100], [40, 10, 100, 90], [
    5,
    5,
    150,
    110,
  ]];
  for (const weights of ['fp32', 'int8'] as const) {
    const prepared = await createEstimator({ model: dir, backend: 'wasm', weights });
    const exported = await createEstimator({
      model: dir,
      backend: 'wasm',
      weights,
      prepared: false,
    });
    const native = await createEstimator({ model: dir, backend: 'native', weights });
    try {
      assert.is(prepared.info.graph, 'prepared');
      assert.match(prepared.info.weightsReason, /graph prepared for onnxruntime/);
      assert.is(exported.info.graph, 'exported');
      assert.is(native.info.graph, 'exported');
      // 3 boxes with the flip test: a batch of 6 through a graph folded for 1
      const a = await prepared.estimate(img, { boxes, flipTest: true });
      const b = await exported.estimate(img, { boxes, flipTest: true });
      assert.is(a.graph, 'prepared');
      assert.is(a.people.length, 3);
      a.people.forEach((p, i) =>
        p.keypoints.forEach((k, j) => {
          const q = b.people[i].keypoints[j];
          assert.ok(
            Math.abs(k.x - q.x) < 1e-3 && Math.abs(k.y - q.y) < 1e-3,
            `${weights} ${i}/${j}`,
          );
          assert.ok(Math.abs(k.score - q.score) < 1e-4);
        })
      );
    } finally {
      await Promise.all([prepared.dispose(), exported.dispose(), native.dispose()]);
    }
  }
});

test('preparedGraph: WASM, same onnxruntime minor, allowed; else the exported graph', async () => {
  const files = await tinyVariantFiles('int8');
  const raw = JSON.parse(new TextDecoder().decode(files['srpose.json']));
  raw.onnx.prepared = {
    runtime: 'onnxruntime',
    version: '1.30.2',
    level: 'extended',
    batch: 1,
    files: { int8: { file: 'model_int8.prepared.ort', bytes: 10 } },
  };
  const config = parseModelConfig(raw);
  const wasm = { backend: 'wasm', shaderF16: false, wasmVersion: '1.30.0' };
  const int8 = chooseWeights(config, 'auto', wasm);
  assert.is(int8.spec.file, 'model_int8.prepared.ort');
  assert.is(int8.fixedBatch, 1);
  assert.is(chooseWeights(config, 'fp32', wasm).spec.file, 'model.onnx', 'fp32 has none');
  for (
    const plan of [
      { ...wasm, backend: 'native' },
      { ...wasm, backend: 'webgpu' },
      { ...wasm, prepared: false },
    ]
  ) {
    const c = chooseWeights(config, 'auto', plan);
    assert.is(c.spec.file, 'model_int8.onnx', JSON.stringify(plan));
    assert.is(c.fixedBatch, undefined);
  }
  const other = preparedGraph(
    config,
    chooseWeights(config, 'auto', { ...wasm, prepared: false }),
    { ...wasm, wasmVersion: '1.31.0' },
  );
  assert.is(other.spec.file, 'model_int8.onnx');
  assert.match(other.reason, /prepared graph is for onnxruntime 1\.30\.2, not 1\.31\.0/);
  // this process: onnxruntime-web's version as planned
  assert.is((await planBackend('wasm', false)).wasmVersion, ort.env.versions.web);
});

test('the contract: onnx.prepared is checked field by field', async () => {
  const files = await tinyVariantFiles('int8');
  const good = {
    runtime: 'onnxruntime',
    version: '1.30.0',
    level: 'extended',
    batch: 1,
    files: { int8: { file: 'model_int8.prepared.ort' } },
  };
  const withPrepared = (p: unknown) => {
    const raw = JSON.parse(new TextDecoder().decode(files['srpose.json']));
    raw.onnx.prepared = p;
    return raw;
  };
  assert.ok(parseModelConfig(withPrepared(good)).onnx.prepared);
  for (
    const [bad, message] of [
      [{ ...good, batch: 2 }, /onnx.prepared.batch must be 1/],
      [{ ...good, level: 'all' }, /onnx.prepared.level/],
      [{ ...good, version: 'latest' }, /onnx.prepared.version must be x.y.z/],
      [{ ...good, runtime: 'tflite' }, /onnx.prepared.runtime/],
      [{ ...good, files: { int4: { file: 'x.onnx' } } }, /the model has no int4/],
      [{ ...good, files: { int8: { file: '../x.onnx' } } }, /inside the model folder/],
    ] as const
  ) {
    await rejects(
      Promise.resolve().then(() => parseModelConfig(withPrepared(bad))),
      'MODEL_INVALID',
      message,
    );
  }
});

test.run();
