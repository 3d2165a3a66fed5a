import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseModelConfig } from '../../src/model/config.ts';
import { isSRPoseError } from '../../src/errors.ts';

const valid = () => ({
  format: 'srpose-model/1',
  name: 'srpose_res50_coco_256x192',
  arch: 'res50',
  kind: 'top-down',
  head: 'TopDownSRPoseHead',
  dataset: 'coco',
  source: {},
  onnx: { file: 'model.onnx', sha256: null, input: 'image', output: 'heatmaps' },
  input: {
    width: 192,
    height: 256,
    colorOrder: 'RGB',
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
  },
  heatmap: { width: 192, height: 256 },
  bbox: { padding: 1.25, pixelStd: 200 },
  keypoints: Array.from({ length: 17 }, (_, i) => `k${i}`),
  skeleton: [[15, 13], [13, 11]],
  flipPairs: [[1, 2], [3, 4]],
  flipTest: { enabled: true, shiftHeatmap: true },
  decode: { method: 'sr', poolKernel: 16, modulateKernel: 11 },
});

test('a valid contract parses, typed', () => {
  const c = parseModelConfig(valid());
  if (c.kind !== 'top-down') throw new Error('kind');
  assert.is(c.decode.method, 'sr');
  assert.is(c.keypoints.length, 17);
  assert.equal(c.flipPairs[1], [3, 4]);
});

const broken: [string, (c: any) => void, RegExp][] = [
  ['format', (c) => (c.format = 'v0'), /format/],
  ['kind', (c) => (c.kind = 'sideways'), /kind/],
  [
    'kind bottom-up with a top-down body',
    (c) => (c.kind = 'bottom-up'),
    /grouping must be an object/,
  ],
  ['input width', (c) => (c.input.width = 0), /input\.width/],
  ['std zero', (c) => (c.input.std = [0.2, 0, 0.2]), /input\.std\[1\]/],
  ['mean length', (c) => (c.input.mean = [0.5]), /input\.mean/],
  ['heatmap larger than input', (c) => (c.heatmap.width = 400), /heatmap/],
  ['flip pair out of range', (c) => (c.flipPairs.push([5, 17])), /flipPairs\[2\]\[1\]/],
  ['skeleton not a pair', (c) => (c.skeleton.push([1])), /skeleton\[2\]/],
  ['decode method', (c) => (c.decode.method = 'magic'), /decode\.method/],
  ['pool bigger than heatmap', (c) => (c.decode.poolKernel = 512), /poolKernel/],
  ['even DARK kernel', (c) => (c.decode.modulateKernel = 10), /modulateKernel/],
  ['no keypoints', (c) => (c.keypoints = []), /keypoints/],
  ['onnx output missing', (c) => delete c.onnx.output, /onnx\.output/],
  ['not an object', (c) => (c.input = 'x'), /input must be an object/],
];
for (const [name, mutate, re] of broken) {
  test(`invalid contract: ${name} -> MODEL_INVALID naming the field`, () => {
    const c = valid();
    mutate(c);
    try {
      parseModelConfig(c);
      assert.unreachable('should have thrown');
    } catch (e) {
      assert.ok(isSRPoseError(e, 'MODEL_INVALID'), String(e));
      assert.match((e as Error).message, re);
    }
  });
}

test.run();
