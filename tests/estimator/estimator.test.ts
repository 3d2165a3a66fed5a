// The public API around the network, on a tiny model with the real contract: inputs of every
// kind, batching, COCO output, and every bad input as a typed error that leaves the estimator
// usable.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hasShared, SHARED, skipUnless, tempDir } from '../helpers/env.ts';
import { tinyConfig, tinyOnnx } from '../helpers/tiny.ts';
import { rejects } from '../helpers/assert.ts';
import { createEstimator, estimate } from '../../src/estimator/estimator.ts';
import { toCocoResults } from '../../src/estimator/coco.ts';
import { encodePng } from '../../src/image/codecs.ts';
import { isSRPoseError } from '../../src/errors.ts';
import type { Estimator } from '../../src/types.ts';

// A 64x48 RGBA test picture with some structure.
function picture(w = 64, h = 48): Uint8ClampedArray {
  const d = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      d.set([(x * 4) & 255, (y * 5) & 255, (x * y) & 255, 255], (y * w + x) * 4);
    }
  }
  return d;
}

let est: Estimator;

test.before(async () => {
  est = await createEstimator({
    model: { onnx: await tinyOnnx(), config: tinyConfig() },
    backend: 'wasm',
  });
});
test.after(async () => {
  await est.dispose();
});

test('info describes the model and backend', () => {
  assert.is(est.info.backend, 'wasm');
  assert.is(est.info.keypoints.length, 17);
  assert.equal(est.info.heatmap, { width: 48, height: 64 });
  assert.is(est.info.decode, 'default');
});

test('PNG bytes, ArrayBuffer, Blob, RGBA and RGB pixels give the same keypoints', async () => {
  const rgba = picture();
  const png = await encodePng({ data: rgba, width: 64, height: 48 });
  const rgb = new Uint8Array(64 * 48 * 3);
  for (let i = 0; i < 64 * 48; i++) rgb.set(rgba.subarray(i * 4, i * 4 + 3), i * 3);
  const boxes = [[4, 3, 30, 40], [20, 0, 44, 48, 0.5]] as const;
  const inputs = [png, png.slice().buffer, new Blob([png]), { data: rgba, width: 64, height: 48 }, {
    data: rgb,
    width: 64,
    height: 48,
  }];
  const given = [png, rgba, rgb].map((b) => b.slice());
  const results = [];
  for (const input of inputs) results.push(await est.estimate(input as any, { boxes }));
  for (const r of results.slice(1)) assert.equal(r.people, results[0].people);
  // the estimator frees what it made (decoded pixels, heatmaps), never what it was given
  assert.equal([png, rgba, rgb], given);
  const r = results[0];
  assert.is(r.people.length, 2);
  assert.equal(r.image, { width: 64, height: 48 });
  assert.equal(r.people[1].box, [20, 0, 44, 48]);
  assert.is(r.people[0].keypoints[5].name, 'left_shoulder');
  assert.ok(
    r.people.every((p) => p.keypoints.every((k) => Number.isFinite(k.x) && Number.isFinite(k.y))),
  );
  assert.ok(r.timings.total >= r.timings.inference && r.timings.inference > 0);
  assert.is(results[3].timings.decode < results[0].timings.decode + 50, true);
  // box score scales the person score (mmpose rescoring)
  const kept = r.people[1].keypoints.filter((k) => k.score > 0.2);
  const mean = kept.length ? kept.reduce((s, k) => s + k.score, 0) / kept.length : 0;
  assert.ok(Math.abs(r.people[1].score - 0.5 * mean) < 1e-9);
});

test("the caller's model bytes stay theirs: a second estimator is made from them", async () => {
  const onnx = await tinyOnnx();
  const copy = onnx.slice();
  const model = { onnx, config: tinyConfig() };
  const first = await createEstimator({ model, backend: 'wasm' });
  await first.dispose();
  assert.equal(onnx, copy);
  const second = await createEstimator({ model, backend: 'wasm' });
  await second.dispose();
});

test('no boxes: the whole image is one box', async () => {
  const r = await est.estimate({ data: picture(), width: 64, height: 48 });
  assert.is(r.people.length, 1);
  assert.equal(r.people[0].box, [0, 0, 64, 48]);
});

test('boxes are batched: each person equals its single-box result', async () => {
  const img = { data: picture(), width: 64, height: 48 };
  const boxes = [[0, 0, 32, 48], [32, 0, 32, 48], [10, 10, 20, 20]] as const;
  const all = await est.estimate(img, { boxes });
  for (let i = 0; i < boxes.length; i++) {
    const one = await est.estimate(img, { boxes: [boxes[i]] });
    assert.equal(one.people[0].keypoints, all.people[i].keypoints);
  }
});

test('flip test per call changes the heatmaps used', async () => {
  const img = { data: picture(), width: 64, height: 48 };
  const on = await est.estimate(img, { flipTest: true });
  const off = await est.estimate(img, { flipTest: false });
  assert.is(on.flipTest, true);
  assert.is(off.flipTest, false);
  assert.not.equal(
    on.people[0].keypoints.map((k) => k.score),
    off.people[0].keypoints.map((k) => k.score),
  );
});

test('COCO results format', async () => {
  const r = await est.estimate({ data: picture(), width: 64, height: 48 }, {
    boxes: [[1, 2, 30, 40]],
  });
  const [c] = toCocoResults(r, 785);
  assert.is(c.image_id, 785);
  assert.is(c.category_id, 1);
  assert.is(c.keypoints.length, 51);
  assert.equal(c.keypoints.slice(0, 3), [
    r.people[0].keypoints[0].x,
    r.people[0].keypoints[0].y,
    r.people[0].keypoints[0].score,
  ]);
});

test('bad images are typed errors', async () => {
  await rejects(est.estimate(new Uint8Array(0)), 'IMAGE_UNSUPPORTED');
  await rejects(
    est.estimate(new TextEncoder().encode('definitely not an image')),
    'IMAGE_UNSUPPORTED',
  );
  // PNG signature + IHDR claiming 100000 x 100000: refused from the header
  const huge = new Uint8Array([
    0x89,
    0x50,
    0x4e,
    0x47,
    0x0d,
    0x0a,
    0x1a,
    0x0a,
    0,
    0,
    0,
    13,
    0x49,
    0x48,
    0x44,
    0x52,
    0,
    1,
    0x86,
    0xa0,
    0,
    1,
    0x86,
    0xa0,
    8,
    2,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
  ]);
  await rejects(est.estimate(huge), 'IMAGE_TOO_LARGE');
  await rejects(est.estimate({ data: new Uint8Array(0), width: 0, height: 0 }), 'IMAGE_EMPTY');
  await rejects(est.estimate({ data: new Uint8Array(10), width: 4, height: 4 }), 'INVALID_PIXELS');
  await rejects(
    est.estimate({ data: new Uint8Array(48), width: 4.5, height: 4 } as any),
    'INVALID_PIXELS',
  );
  if (!skipUnless(hasShared, `${SHARED} is absent: truncated shared photo not tried`)) {
    const jpg = await readFile(join(SHARED, 'coco', '000000000785.jpg'));
    const cut = jpg.subarray(0, Math.floor(jpg.length * 0.3));
    try {
      await est.estimate(cut);
      assert.unreachable('truncated JPEG accepted');
    } catch (e) {
      assert.ok(
        isSRPoseError(e, 'IMAGE_TRUNCATED') || isSRPoseError(e, 'IMAGE_CORRUPT'),
        String(e),
      );
    }
  }
});

test('bad boxes are INVALID_BOX naming the box', async () => {
  const img = { data: picture(), width: 64, height: 48 };
  for (
    const box of [[NaN, 0, 10, 10], [0, 0, Infinity, 10], [0, 0, 0, 10], [0, 0, 10, -1], [
      100,
      100,
      10,
      10,
    ], [-50, -50, 10, 10]]
  ) {
    await rejects(est.estimate(img, { boxes: [[1, 1, 5, 5], box as any] }), 'INVALID_BOX', /1/);
  }
  await rejects(est.estimate(img, { boxes: [] }), 'INVALID_BOX');
  await rejects(
    est.estimate(img, { boxes: Array.from({ length: 65 }, () => [0, 0, 10, 10] as const) }),
    'INVALID_BOX',
    /64/,
  );
  await rejects(est.estimate(img, { boxes: 'nope' as any }), 'INVALID_BOX');
});

test('after all those errors the estimator still works', async () => {
  const r = await est.estimate({ data: picture(), width: 64, height: 48 });
  assert.is(r.people.length, 1);
});

test('bad models are typed errors', async () => {
  const onnx = await tinyOnnx();
  const dir = await tempDir('srpose-badmodel-');
  await rejects(createEstimator({ model: join(dir, 'nope') }), 'MODEL_NOT_FOUND', /srpose\.json/);
  await writeFile(join(dir, 'srpose.json'), '{ nope');
  await rejects(createEstimator({ model: dir }), 'MODEL_INVALID', /JSON/);
  await writeFile(join(dir, 'srpose.json'), JSON.stringify(tinyConfig()));
  await rejects(createEstimator({ model: dir }), 'MODEL_NOT_FOUND', /model\.onnx/);
  await writeFile(join(dir, 'model.onnx'), onnx);
  const ok = await createEstimator({ model: dir, backend: 'wasm' });
  await ok.dispose();
  await rejects(ok.estimate({ data: picture(), width: 64, height: 48 }), 'DISPOSED');
  await writeFile(
    join(dir, 'srpose.json'),
    JSON.stringify(
      tinyConfig({
        onnx: { file: 'model.onnx', sha256: '00'.repeat(32), input: 'image', output: 'heatmaps' },
      }),
    ),
  );
  await rejects(createEstimator({ model: dir }), 'MODEL_INVALID', /sha256/);
  await rejects(
    createEstimator({
      model: {
        onnx,
        config: tinyConfig({ onnx: { file: 'm', input: 'pixels', output: 'heatmaps' } }),
      },
    }),
    'MODEL_INVALID',
    /pixels/,
  );
  // the contract says 256x192 heatmaps, the graph gives 64x48: caught at the first estimate
  const wrong = await createEstimator({
    model: { onnx, config: tinyConfig({ heatmap: { width: 192, height: 256 } }) },
    backend: 'wasm',
  });
  await rejects(
    wrong.estimate({ data: picture(), width: 64, height: 48 }),
    'MODEL_INVALID',
    /output/,
  );
  await wrong.dispose();
  await rejects(
    createEstimator({ model: { onnx, config: tinyConfig() }, decode: 'magic' as any }),
    'INVALID_OPTION',
  );
  await rejects(createEstimator(undefined as any), 'INVALID_OPTION');
});

test('a model directory by file: URL, and the one-shot estimate()', async () => {
  const dir = await tempDir('srpose-urlmodel-');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'srpose.json'), JSON.stringify(tinyConfig()));
  await writeFile(join(dir, 'model.onnx'), await tinyOnnx());
  const img = { data: picture(), width: 64, height: 48 };
  const r = await estimate(img, { model: new URL(`file://${dir}/`), backend: 'wasm' });
  const ref = await est.estimate(img);
  assert.equal(r.people, ref.people);
});

test('a model directory by http URL; a missing one is MODEL_NOT_FOUND naming the URL', async () => {
  const { createServer } = await import('node:http');
  const files: Record<string, Uint8Array> = {
    '/m/srpose.json': new TextEncoder().encode(JSON.stringify(tinyConfig())),
    '/m/model.onnx': await tinyOnnx(),
  };
  const server = createServer((req, res) => {
    const body = files[req.url ?? ''];
    res.writeHead(body ? 200 : 404).end(body ?? 'not found');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  try {
    const img = { data: picture(), width: 64, height: 48 };
    const r = await estimate(img, { model: `http://127.0.0.1:${port}/m`, backend: 'wasm' });
    assert.equal(r.people, (await est.estimate(img)).people);
    await rejects(
      createEstimator({ model: `http://127.0.0.1:${port}/absent/` }),
      'MODEL_NOT_FOUND',
      /404/,
    );
  } finally {
    await new Promise((ok) => server.close(ok));
  }
});

test.run();
