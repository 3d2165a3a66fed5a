// The bottom-up estimator end to end on a tiny "network" with a known answer
// (tests/helpers/tiny-bottomup.ts): every dot of a picture is a person whose keypoints we know.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejects } from '../helpers/assert.ts';
import { COCO_KEYPOINTS } from '../helpers/tiny.ts';
import {
  DOTS,
  dotsPicture as picture,
  tinyBottomUpConfig as bottomUpConfig,
  tinyBottomUpOnnx,
} from '../helpers/tiny-bottomup.ts';
import { createEstimator } from '../../src/estimator/estimator.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import type { Estimator } from '../../src/types.ts';

let onnx: Uint8Array;
let est: Estimator;

test.before(async () => {
  onnx = await tinyBottomUpOnnx();
  est = await createEstimator({ model: { onnx, config: bottomUpConfig() }, backend: 'wasm' });
});
test.after(async () => {
  await est?.dispose();
});

test('info: a bottom-up model, grouping settings, no decode method', () => {
  assert.is(est.info.kind, 'bottom-up');
  assert.is(est.info.decode, 'associative-embedding');
  assert.equal(est.info.input, { width: 512, height: 512 });
  assert.is(est.info.grouping?.maxPeople, 30);
  assert.is(est.info.flipTest, true);
});

test(
  'every dot is one person with its keypoints where the official pipeline puts them',
  async () => {
    // 640x512: short side already 512, long side a multiple of 64: the resize is the identity
    for (const flipTest of [false, true]) {
      const r = await est.estimate(picture(), { flipTest });
      assert.is(r.flipTest, flipTest);
      assert.is(r.people.length, DOTS.length, `flip ${flipTest}`);
      for (const d of DOTS) {
        const p = r.people.find((q) =>
          Math.abs(q.keypoints[0].x - (d.x + 0.75)) < 0.01 &&
          Math.abs(q.keypoints[0].y - (d.y + 0.75)) < 0.01
        );
        assert.ok(
          p,
          `flip ${flipTest}: no person at dot ${JSON.stringify(d)}: ${
            JSON.stringify(r.people.map((q) => [q.keypoints[0].x, q.keypoints[0].y]))
          }`,
        );
        for (const k of p!.keypoints) {
          // peak + 0.5 + 0.25 toward the brighter right / lower neighbour
          assert.ok(
            Math.abs(k.x - (d.x + 0.75)) < 0.01 && Math.abs(k.y - (d.y + 0.75)) < 0.01,
            `${k.name} at ${k.x},${k.y}`,
          );
          assert.ok(Math.abs(k.score - d.red / 255) < 1e-4, `${k.name} score ${k.score}`);
        }
        assert.ok(Math.abs(p!.score - d.red / 255) < 1e-4, `person score ${p!.score}`);
        assert.equal(p!.box.map((v) => Math.round(v * 100) / 100), [d.x + 0.75, d.y + 0.75, 0, 0]);
      }
      const t = r.timings;
      for (const key of ['resize', 'nms', 'grouping', 'refine'] as const) {
        assert.ok(t[key]! >= 0, `timings.${key}`);
      }
      assert.is(t.crop, t.resize);
      assert.ok(Math.abs(t.postprocess - (t.nms! + t.grouping! + t.refine!)) < 1e-6);
    }
  },
);

test(
  'any image size: the input follows the image (dynamic [1, 3, H, W]) and keypoints scale back',
  async () => {
    // The same picture at half size: 320x256 -> input 640x512, a 2x upscale. The dot's peak moves
    // through the bilinear resize, so only check that people come back near the dots.
    const w = 320, h = 256;
    const data = new Uint8Array(w * h * 3);
    for (const d of DOTS) {
      const x = d.x >> 1, y = d.y >> 1;
      for (let yy = y - 2; yy <= y + 2; yy++) {
        for (let xx = x - 2; xx <= x + 2; xx++) {
          if (xx >= 0 && yy >= 0 && xx < w && yy < h) data[(yy * w + xx) * 3 + 1] = d.green;
        }
      }
      data[(y * w + x) * 3] = d.red;
    }
    const r = await est.estimate({ data, width: w, height: h }, { flipTest: false });
    assert.ok(r.people.length >= 3, `${r.people.length} people`);
    for (const p of r.people) {
      const near = DOTS.some((d) =>
        Math.hypot(p.keypoints[0].x - d.x / 2, p.keypoints[0].y - d.y / 2) < 2
      );
      assert.ok(near, `person at ${p.keypoints[0].x},${p.keypoints[0].y} is near no dot`);
    }
    // a portrait image: width becomes 512
    const tall = await est.estimate(
      { data: new Uint8Array(100 * 300 * 3), width: 100, height: 300 },
      { flipTest: false },
    );
    assert.equal(tall.people, []);
  },
);

test('boxes, decode and elongated images are refused with clear errors', async () => {
  await rejects(
    est.estimate(picture(), { boxes: [[0, 0, 10, 10]] }),
    'INVALID_OPTION',
    /bottom-up models take no boxes/,
  );
  await rejects(
    est.estimate({ data: new Uint8Array(3000 * 100 * 3), width: 3000, height: 100 }),
    'IMAGE_TOO_LARGE',
    /network input/,
  );
  await rejects(
    createEstimator({ model: { onnx, config: bottomUpConfig() }, backend: 'wasm', decode: 'sr' }),
    'INVALID_OPTION',
    /decode/,
  );
  // a contract whose keypoints do not match the output's channels
  const wrong = await createEstimator({
    model: {
      onnx,
      config: bottomUpConfig({
        keypoints: COCO_KEYPOINTS.slice(0, 14),
        flipPairs: [],
        skeleton: [],
      }),
    },
    backend: 'wasm',
  });
  try {
    await rejects(
      wrong.estimate(picture(), { flipTest: false }),
      'MODEL_INVALID',
      /2, 34|heatmaps \+ 14 tag maps/,
    );
  } finally {
    await wrong.dispose();
  }
  // still usable
  assert.is((await est.estimate(picture(), { flipTest: false })).people.length, DOTS.length);
});

test('bottom-up contract: every field checked, MODEL_INVALID naming it', () => {
  const ok = parseModelConfig(bottomUpConfig());
  assert.is(ok.kind, 'bottom-up');
  if (ok.kind === 'bottom-up') assert.equal(ok.grouping.nmsKernel, 5);
  const broken: [string, (c: any) => void, RegExp][] = [
    ['size', (c) => (c.input.size = 0), /input\.size/],
    ['multipleOf', (c) => (c.input.multipleOf = 'x'), /input\.multipleOf/],
    ['grouping missing', (c) => delete c.grouping, /grouping must be an object/],
    ['maxPeople', (c) => (c.grouping.maxPeople = 0), /grouping\.maxPeople/],
    [
      'kernel vs padding',
      (c) => (c.grouping.nmsKernel = 3),
      /nmsKernel \(3\) must be 2 \* grouping\.nmsPadding \+ 1/,
    ],
    ['threshold', (c) => (c.grouping.detectionThreshold = -1), /grouping\.detectionThreshold/],
    ['tag threshold', (c) => (c.grouping.tagThreshold = 'one'), /grouping\.tagThreshold/],
    ['boolean', (c) => (c.grouping.refine = 1), /grouping\.refine/],
    ['shared tags', (c) => (c.grouping.tagPerJoint = false), /tagPerJoint/],
    ['flip', (c) => (c.flipTest.enabled = 'yes'), /flipTest\.enabled/],
    ['projectToImage', (c) => (c.projectToImage = 'no'), /projectToImage/],
    [
      'maps below the input resolution',
      (c) => (c.projectToImage = false),
      /projectToImage must be true/,
    ],
  ];
  for (const [name, mutate, re] of broken) {
    const c = bottomUpConfig();
    c.input = { ...c.input };
    c.grouping = { ...c.grouping };
    c.flipTest = { ...c.flipTest };
    mutate(c);
    assert.throws(
      () => parseModelConfig(c),
      (e: Error) => (e as any).code === 'MODEL_INVALID' && re.test(e.message),
      name,
    );
  }
});

test.run();
