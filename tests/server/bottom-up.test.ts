// The HTTP API and the CLI with a bottom-up model (chosen by its srpose.json): the whole image
// in, every person out, no boxes; the same people as the library in-process.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../helpers/env.ts';
import { DOTS, dotsPng, tinyBottomUpConfig, tinyBottomUpOnnx } from '../helpers/tiny-bottomup.ts';
import { COCO_GROUPING } from '../helpers/bottomup-scene.ts';
import { createApp, type SRPoseApp } from '../../src/server/mod.ts';
import { createEstimator } from '../../src/estimator/estimator.ts';
import { main } from '../../src/cli/main.ts';

const BASE = 'http://srpose.test';
let app: SRPoseApp;
let png: Uint8Array;

test.before(async () => {
  png = await dotsPng();
  app = createApp({
    model: { onnx: await tinyBottomUpOnnx(), config: tinyBottomUpConfig() },
    backend: 'wasm',
    log: () => {},
  });
});
test.after(async () => {
  await app?.dispose();
});

const post = (body: BodyInit, type?: string, query = '') =>
  app.fetch(
    new Request(`${BASE}/v1/estimate${query}`, {
      method: 'POST',
      body,
      headers: type ? { 'content-type': type } : {},
    }),
  );

test(
  'POST /v1/estimate with a bottom-up model: every person, equal to estimate() in-process',
  async () => {
    const res = await post(png as BodyInit, 'image/png');
    assert.is(res.status, 200);
    const body = await res.json();
    assert.is(body.decode, 'associative-embedding');
    assert.is(body.people.length, DOTS.length);
    const est = await createEstimator({
      model: { onnx: await tinyBottomUpOnnx(), config: tinyBottomUpConfig() },
      backend: 'wasm',
    });
    try {
      const ref = await est.estimate(png);
      assert.equal(body.people, ref.people);
    } finally {
      await est.dispose();
    }
    for (const d of DOTS) {
      assert.ok(
        body.people.some((p: any) =>
          Math.abs(p.keypoints[5].x - (d.x + 0.75)) < 0.01 &&
          Math.abs(p.keypoints[5].y - (d.y + 0.75)) < 0.01
        ),
        `dot ${d.x},${d.y}`,
      );
    }
    const coco =
      await (await post(png as BodyInit, 'image/png', '?format=coco&flip=false&image_id=7')).json();
    assert.is(coco.length, DOTS.length);
    assert.is(coco[0].image_id, 7);
    assert.is(coco[0].keypoints.length, 51);
  },
);

test(
  'boxes sent to a bottom-up model: 400 INVALID_OPTION saying why; then a good request works',
  async () => {
    const f = new FormData();
    f.append('image', new Blob([png as BlobPart], { type: 'image/png' }), 'dots.png');
    f.append('boxes', JSON.stringify([[0, 0, 100, 100]]));
    const res = await post(f);
    assert.is(res.status, 400);
    const body = await res.json();
    assert.is(body.error.code, 'INVALID_OPTION');
    assert.match(body.error.message, /bottom-up models take no boxes/);
    assert.is((await post(png as BodyInit, 'image/png')).status, 200);
  },
);

test('GET /v1/models tells the kind, the grouping settings and the decode', async () => {
  const info = (await (await app.fetch(new Request(`${BASE}/v1/models`))).json()).models[0];
  assert.is(info.kind, 'bottom-up');
  assert.is(info.decode, 'associative-embedding');
  // the contract's grouping (tiny-bottomup.ts), without tagPerJoint (always true)
  assert.equal(info.grouping, COCO_GROUPING);
});

test('the CLI estimates with a bottom-up model directory; --boxes is refused', async () => {
  const dir = await tempDir('srpose-cli-bu-');
  await writeFile(join(dir, 'srpose.json'), JSON.stringify(tinyBottomUpConfig()));
  await writeFile(join(dir, 'model.onnx'), await tinyBottomUpOnnx());
  const photo = join(dir, 'dots.png');
  await writeFile(photo, png);
  const cli = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(args, (s) => out.push(s), (s) => err.push(s));
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const json = await cli(['estimate', photo, '--model', dir, '--backend', 'wasm', '--json']);
  assert.is(json.code, 0, json.err);
  assert.is(JSON.parse(json.out).result.people.length, DOTS.length);
  const text = await cli(['estimate', photo, '--model', dir, '--backend', 'wasm']);
  assert.is(text.code, 0, text.err);
  assert.match(text.out, new RegExp(`${DOTS.length} people`));
  const boxed = await cli([
    'estimate',
    photo,
    '--model',
    dir,
    '--backend',
    'wasm',
    '--boxes',
    '0,0,10,10',
  ]);
  assert.not.equal(boxed.code, 0);
  assert.match(boxed.err, /INVALID_OPTION|no boxes/);
});

test.run();
