// ONNX external data: `models/export.py --external-data` writes the weights to model.onnx.data
// and names it in srpose.json; the model loads from a directory, the Hub and bytes, and gives
// exactly the keypoints of the same weights exported inline.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  hasModel,
  hasShared,
  modelDir,
  requirement,
  SHARED,
  suiteSkipped,
  tempDir,
} from '../helpers/env.ts';
import { rejects } from '../helpers/assert.ts';
import { startHubServer } from '../helpers/hub-server.ts';
import { createEstimator } from '../../src/estimator/estimator.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import type { EstimateResult, ModelSource } from '../../src/types.ts';

const INLINE = modelDir('res50_simple');
const EXTERNAL = modelDir('res50_simple-external');
const box = [280.79, 44.73, 218.7, 346.68] as const;

async function run(
  model: ModelSource,
  extra: Record<string, unknown> = {},
): Promise<EstimateResult> {
  const est = await createEstimator({ model, backend: 'wasm', ...extra });
  try {
    return await est.estimate(
      new Uint8Array(readFileSync(join(SHARED, 'coco', '000000000785.jpg'))),
      { boxes: [box] },
    );
  } finally {
    await est.dispose();
  }
}

test('srpose.json: external-data paths must stay inside the model folder', () => {
  const cfg = JSON.parse(readFileSync(join(EXTERNAL, 'srpose.json'), 'utf8'));
  for (const file of ['../weights.bin', '/etc/passwd', 'a/../../b']) {
    assert.throws(
      () => parseModelConfig({ ...cfg, onnx: { ...cfg.onnx, externalData: [{ file }] } }),
      /inside the model folder/,
    );
  }
  assert.equal(parseModelConfig(cfg).onnx.externalData?.map((e) => e.file), ['model.onnx.data']);
});

if (
  !suiteSkipped(
    requirement([
      hasShared && hasModel('res50_simple') && hasModel('res50_simple-external'),
      'external-data tests need ../shared/data and npm run models',
    ]),
  )
) {
  test("a directory, the Hub and bytes give the inline model's keypoints exactly", async () => {
    const cfg = JSON.parse(readFileSync(join(EXTERNAL, 'srpose.json'), 'utf8'));
    assert.ok(
      readFileSync(join(EXTERNAL, 'model.onnx')).byteLength < 100_000,
      'the ONNX file holds no weights',
    );
    const ref = await run(INLINE);
    const fromDir = await run(EXTERNAL);
    assert.equal(fromDir.people, ref.people);

    const hub = await startHubServer();
    try {
      hub.addRepo('srpose/external');
      hub.commit(
        'srpose/external',
        Object.fromEntries(
          ['srpose.json', 'model.onnx', 'model.onnx.data'].map((
            f,
          ) => [f, new Uint8Array(readFileSync(join(EXTERNAL, f)))]),
        ),
      );
      const fromHub = await run('srpose/external', {
        hubUrl: hub.url,
        cacheDir: await tempDir('srpose-ext-'),
      });
      assert.equal(fromHub.people, ref.people);
      assert.is(hub.downloads('srpose/external', 'model.onnx.data'), 1);
    } finally {
      await hub.stop();
    }

    const fromBytes = await run({
      config: cfg,
      onnx: readFileSync(join(EXTERNAL, 'model.onnx')),
      externalData: { 'model.onnx.data': readFileSync(join(EXTERNAL, 'model.onnx.data')) },
    });
    assert.equal(fromBytes.people, ref.people);
  });

  test('a missing or altered external-data file is a typed error', async () => {
    const cfg = JSON.parse(readFileSync(join(EXTERNAL, 'srpose.json'), 'utf8'));
    const onnx = readFileSync(join(EXTERNAL, 'model.onnx'));
    await rejects(
      createEstimator({ model: { config: cfg, onnx }, backend: 'wasm' }),
      'MODEL_NOT_FOUND',
      /model\.onnx\.data/,
    );
    const data = new Uint8Array(readFileSync(join(EXTERNAL, 'model.onnx.data')));
    data[1000] ^= 1;
    await rejects(
      createEstimator({
        model: { config: cfg, onnx, externalData: { 'model.onnx.data': data } },
        backend: 'wasm',
      }),
      'MODEL_INVALID',
      /sha256/,
    );
  });
}

test.run();
