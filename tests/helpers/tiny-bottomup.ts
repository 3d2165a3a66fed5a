// A tiny bottom-up "network" with a known answer: a 1x1 convolution that undoes the
// normalisation, so heatmap j = red / 255 and tag j = green / 255 * TAG_GAIN at every pixel
// (input [N, 3, H, W] -> output [N, 34, H, W], any H, W). A picture of bright dots on green
// patches is then a crowd of people, each with its 17 joints on its dot: we know where every
// keypoint must land, in image pixels. Written in TypeScript (src/runtime/onnx-proto.ts);
// checked against PyTorch in tests/parity/tiny-models.test.ts.
import { floatValue, model, node, tensor } from '../../src/runtime/onnx-proto.ts';
import { COCO_KEYPOINTS } from './tiny.ts';
import { COCO_GROUPING } from './bottomup-scene.ts';
import { encodePng } from '../../src/image/codecs.ts';

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];
const TAG_GAIN = 40;

let cached: Uint8Array | undefined;

/** The tiny bottom-up model's ONNX bytes. */
export function tinyBottomUpOnnx(): Promise<Uint8Array> {
  if (!cached) {
    const weight = new Float32Array(34 * 3);
    const bias = new Float32Array(34);
    for (let j = 0; j < 17; j++) {
      weight[j * 3 + 0] = STD[0];
      bias[j] = MEAN[0];
      weight[(17 + j) * 3 + 1] = STD[1] * TAG_GAIN;
      bias[17 + j] = MEAN[1] * TAG_GAIN;
    }
    cached = model({
      name: 'tiny_bu',
      nodes: [node('Conv', ['image', 'weight', 'bias'], ['output'], { kernel_shape: [1, 1] })],
      initializers: [tensor('weight', [34, 3, 1, 1], weight), tensor('bias', [34], bias)],
      inputs: [floatValue('image', ['n', 3, 'h', 'w'])],
      outputs: [floatValue('output', ['n', 34, 'h', 'w'])],
    });
  }
  return Promise.resolve(cached);
}

/** A bottom-up `srpose.json` with the official COCO test_cfg grouping; `over` replaces fields. */
export function tinyBottomUpConfig(over: Record<string, unknown> = {}): Record<string, any> {
  return {
    format: 'srpose-model/1',
    kind: 'bottom-up',
    arch: 'tiny_bu',
    head: 'test',
    name: 'tiny_bu',
    dataset: 'coco',
    source: {},
    onnx: { file: 'model.onnx', input: 'image', output: 'output' },
    input: { size: 512, multipleOf: 64, colorOrder: 'RGB', mean: MEAN, std: STD },
    keypoints: COCO_KEYPOINTS,
    skeleton: [[15, 13], [13, 11]],
    flipPairs: [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12], [13, 14], [15, 16]],
    flipTest: { enabled: true },
    grouping: { ...COCO_GROUPING, tagPerJoint: true },
    projectToImage: true,
    ...over,
  };
}

/**
 * People as dots: red peak (x, y) with a dimmer right and lower neighbour (so adjust steps
 * +0.25 both ways), on a 7x7 green patch carrying the tag. Every keypoint of a dot's person
 * lands at (x + 0.75, y + 0.75) with score red / 255.
 */
export const DOTS = [
  { x: 40, y: 30, red: 250, green: 20 },
  { x: 300, y: 200, red: 200, green: 60 },
  { x: 310, y: 206, red: 120, green: 100 }, // close to the one before: another tag
  { x: 600, y: 500, red: 90, green: 140 },
  { x: 2, y: 480, red: 180, green: 180 },
];

/** The dots as an RGB picture; at 640x512 the bottom-up resize is the identity. */
export function dotsPicture(w = 640, h = 512): { data: Uint8Array; width: number; height: number } {
  const data = new Uint8Array(w * h * 3);
  const set = (x: number, y: number, c: number, v: number) => (data[(y * w + x) * 3 + c] = v);
  for (const d of DOTS) {
    for (let y = d.y - 3; y <= d.y + 3; y++) {
      for (let x = d.x - 3; x <= d.x + 3; x++) {
        if (x >= 0 && y >= 0 && x < w && y < h) set(x, y, 1, d.green);
      }
    }
    set(d.x, d.y, 0, d.red);
    set(d.x + 1, d.y, 0, d.red >> 1);
    set(d.x, d.y + 1, 0, d.red >> 1);
    set(d.x - 1, d.y, 0, d.red >> 2);
    set(d.x, d.y - 1, 0, d.red >> 2);
  }
  return { data, width: w, height: h };
}

/** The dots picture as PNG bytes (lossless: the HTTP and CLI paths see the same pixels). */
export function dotsPng(): Promise<Uint8Array> {
  return encodePng(dotsPicture());
}
