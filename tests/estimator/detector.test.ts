// The person detector (YOLOX contract) and the estimator with a detector, on a tiny detector
// whose answer is known (tests/helpers/tiny-detector.ts): letterbox, decode (decoded and raw
// outputs), class-aware NMS, thresholds, boxes back in image pixels, and the detections as the
// pose model's boxes with their scores. The real YOLOX parity is in tests/parity/detector.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejects } from '../helpers/assert.ts';
import { tinyConfig, tinyOnnx } from '../helpers/tiny.ts';
import {
  greyImage,
  tinyDetectorDir,
  tinyDetExpected as expected,
  tinyEndToEndDir,
} from '../helpers/tiny-detector.ts';
import { tinyBottomUpConfig, tinyBottomUpOnnx } from '../helpers/tiny-bottomup.ts';
import { createDetector } from '../../src/estimator/detector.ts';
import { createEstimator } from '../../src/estimator/estimator.ts';
import type { Detection } from '../../src/types.ts';

const detectorDir = tinyDetectorDir;
const grey = greyImage;

function assertPeople(got: Detection[], want: Detection[], tol = 0) {
  assert.is(got.length, want.length, JSON.stringify(got));
  got.forEach((p, i) => {
    p.box.forEach((v, k) =>
      assert.ok(Math.abs(v - want[i].box[k]) <= tol, `${i}.box[${k}] ${v} vs ${want[i].box[k]}`)
    );
    assert.ok(Math.abs(p.score - want[i].score) <= 1e-6, `${i}: ${p.score} vs ${want[i].score}`);
  });
}

test('the known answer: letterbox, decode, class-aware NMS, persons, boxes / ratio', async () => {
  const det = await createDetector({ model: await detectorDir(), backend: 'wasm' });
  try {
    assert.is(det.info.scoreThreshold, 0.3);
    assert.is(det.info.nmsThreshold, 0.65);
    assert.equal(det.info.input, { width: 64, height: 64 });
    // wide, tall and square images: the pad is bottom or right, the ratio the smaller one
    for (const [w, h] of [[128, 96], [48, 128], [64, 64], [200, 37]]) {
      const r = await det.detect(grey(w, h));
      assertPeople(r.people, expected(w, h));
      assert.ok(r.timings.total >= r.timings.inference);
    }
  } finally {
    await det.dispose();
  }
});

test('raw outputs (the official export_onnx.py default) decode to the same people', async () => {
  const det = await createDetector({ model: await detectorDir(true), backend: 'wasm' });
  try {
    assertPeople((await det.detect(grey(128, 96))).people, expected(128, 96), 1e-4);
  } finally {
    await det.dispose();
  }
});

test('mmdeploy end-to-end graphs (dets + labels, NMS in the graph), read as rtmlib', async () => {
  const f = Math.fround;
  const r = 0.5; // a 128x96 image in 64x64
  const person = (x1: number, y1: number, x2: number, y2: number, score: number) => ({
    box: [f(x1 / r), f(y1 / r), f(x2 / r) - f(x1 / r), f(y2 / r) - f(y1 / r)],
    score: f(score),
  });
  for (const labels of [true, false]) {
    const det = await createDetector({ model: await tinyEndToEndDir(labels), backend: 'wasm' });
    try {
      const got = (await det.detect(grey(128, 96))).people;
      assertPeople(got, [
        // without labels every row is a person (rtmlib's person-only detectors)
        ...(labels ? [] : [person(30, 30, 40, 50, 0.95)]),
        person(15, 20, 25, 40, 0.9),
        person(39, 32, 51, 48, 0.4),
      ] as Detection[]);
    } finally {
      await det.dispose();
    }
  }
});

test('settings: score threshold, NMS IoU, max people, class-agnostic NMS', async () => {
  const dir = await detectorDir();
  const img = grey(128, 96);
  const run = async (o: Record<string, unknown>, d = dir) => {
    const det = await createDetector({ model: d, backend: 'wasm', ...o });
    try {
      return (await det.detect(img)).people;
    } finally {
      await det.dispose();
    }
  };
  // the exp's test_conf keeps the faint person
  assertPeople(await run({ scoreThreshold: 0.01 }), expected(128, 96, { all: true }));
  assert.is((await run({ maxPeople: 1 })).length, 1);
  // IoU 0.747: kept under a 0.8 threshold, so the duplicate (score 0.49 < 0.56) comes second
  const loose = await run({ nmsThreshold: 0.8 });
  assert.is(loose.length, 3);
  assert.ok(Math.abs(loose[1].score - Math.fround(0.7 * 0.7)) < 1e-6);
  // class-agnostic: the other class's box (0.95) suppresses the first person
  const agnostic = await run(
    {},
    await detectorDir(false, {
      decode: { strides: [8, 16, 32], scoreThreshold: 0.01, nmsThreshold: 0.65, classAware: false },
    }),
  );
  assertPeople(agnostic, [expected(128, 96)[1]]);
  for (const bad of [{ scoreThreshold: 2 }, { nmsThreshold: -1 }, { maxPeople: 0 }]) {
    await rejects(run(bad), 'INVALID_OPTION');
  }
});

test('the estimator with a detector: every person found, estimated with its score', async () => {
  const pose = { onnx: await tinyOnnx(), config: tinyConfig() };
  const est = await createEstimator({
    model: pose,
    backend: 'wasm',
    detector: await detectorDir(),
  });
  try {
    assert.equal(est.info.detector?.model, 'tiny_detector');
    const img = grey(128, 96);
    const r = await est.estimate(img);
    const want = expected(128, 96);
    assert.is(r.people.length, 2);
    assert.ok((r.timings.detect ?? 0) > 0, 'timings.detect');
    // the same boxes, given by hand with their scores: the same people
    const byHand = await est.estimate(img, {
      boxes: want.map((p) => [...p.box, p.score] as [number, number, number, number, number]),
    });
    assert.is(byHand.timings.detect, undefined, 'boxes given: the detector does not run');
    assert.equal(r.people, byHand.people);
    r.people.forEach((p, i) => assert.equal(p.box, want[i].box));
    // a detection wholly outside the image (48 wide: the second person's box starts at 78) is
    // kept by the detector, as the official boxes are, but has nothing to crop
    const tall = grey(48, 128);
    assert.is(expected(48, 128).length, 2);
    const inImage = await est.estimate(tall);
    assert.equal(
      inImage.people.map((p) => p.box),
      expected(48, 128, { inImage: true }).map((p) => p.box),
    );
    assert.is(inImage.people.length, 1);
    // nobody found: nobody estimated (not the whole image)
    const settings = await createEstimator({
      model: pose,
      backend: 'wasm',
      detector: { model: await detectorDir(), scoreThreshold: 0.99 },
    });
    try {
      assert.equal((await settings.estimate(img)).people, []);
    } finally {
      await settings.dispose();
    }
  } finally {
    await est.dispose();
  }
});

test('typed errors: swapped contracts, bottom-up with a detector, a bad option', async () => {
  const dir = await detectorDir();
  const pose = { onnx: await tinyOnnx(), config: tinyConfig() };
  await rejects(
    createEstimator({ model: pose, backend: 'wasm', detector: '/nonexistent/srpose-detector' }),
    'MODEL_NOT_FOUND',
    /srpose-detector/,
  );
  await rejects(
    createEstimator({ model: pose, backend: 'wasm', detector: dir, decode: 'best' as any }),
    'INVALID_OPTION',
    /decode/,
  );
  await rejects(createEstimator({ model: dir, backend: 'wasm' }), 'MODEL_INVALID', /detector/);
  await rejects(
    createDetector({ model: { onnx: await tinyOnnx(), config: tinyConfig() }, backend: 'wasm' }),
    'MODEL_INVALID',
    /not a person detector/,
  );
  const bu = { onnx: await tinyBottomUpOnnx(), config: tinyBottomUpConfig() };
  await rejects(
    createEstimator({ model: bu, backend: 'wasm', detector: dir }),
    'INVALID_OPTION',
    /bottom-up/,
  );
  await rejects(
    createEstimator({
      model: { onnx: await tinyOnnx(), config: tinyConfig() },
      detector: { model: dir, scoreThreshold: 'high' } as any,
    }),
    'INVALID_OPTION',
    /detector.scoreThreshold/,
  );
  await rejects(
    createDetector({ model: await detectorDir(false, { family: 'ssd' }), backend: 'wasm' }),
    'MODEL_INVALID',
    /family/,
  );
});

test.run();
