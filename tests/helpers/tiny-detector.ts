// A tiny YOLOX-format person detector with a known answer, written in TypeScript
// (src/runtime/onnx-proto.ts): a 64x64 input, strides 8/16/32 (84 anchors), two classes
// (0 person, 1 other). Its output is a constant table of rows [cx, cy, w, h, obj, cls0, cls1],
// but for anchor 0's objectness, which is the letterboxed input's mean / 255: so the answer
// depends on the letterbox (pad 114, placement, ratio) as a real detector's would.
import {
  DataType,
  floatValue,
  model,
  node,
  tensor,
  tensorValue,
} from '../../src/runtime/onnx-proto.ts';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from './env.ts';
import { digestHex } from '../../src/platform/digest.ts';
import { yoloxAnchorCount } from '../../src/core/detection.ts';
import type { Detection } from '../../src/types.ts';

export const TINY_DET = { width: 64, height: 64, strides: [8, 16, 32], classes: 2 } as const;
const ROW = 5 + TINY_DET.classes;
const ANCHORS = yoloxAnchorCount(TINY_DET.width, TINY_DET.height, TINY_DET.strides);

/** The rows that are not zero, by anchor (decoded: centre, size in input pixels). */
export const TINY_DET_ROWS: Record<number, number[]> = {
  // a person, objectness = the input's mean / 255 (set by the graph)
  0: [20, 30, 10, 20, 0, 0.8, 0.1],
  // the same person, lower: IoU 0.747 with anchor 0, suppressed at 0.65
  1: [21, 31, 10, 20, 0.7, 0.7, 0],
  // something else on the person: another class, so class-aware NMS keeps anchor 0
  2: [20, 30, 10, 20, 0.95, 0.1, 1],
  // a second person, score 0.4
  3: [45, 40, 12, 16, 0.5, 0.8, 0],
  // a faint person, score 0.2: under the default 0.3, over the exp's 0.01
  4: [40, 10, 8, 8, 0.25, 0.8, 0],
  // the best score but no width: dropped, it cannot be cropped
  5: [10, 55, 0, 10, 0.9, 0.9, 0],
};

/** Anchor 0's score for a letterboxed input whose mean is `mean` (0..255), in float32. */
export const tinyDetScore0 = (mean: number) => {
  const f = Math.fround;
  return f(f(f(1 / 255) * f(mean)) * f(0.8));
};

/** The grid cell and stride of each anchor, as YOLOX orders them. */
function grid(): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (const s of TINY_DET.strides) {
    for (let y = 0; y < TINY_DET.height / s; y++) {
      for (let x = 0; x < TINY_DET.width / s; x++) out.push([x, y, s]);
    }
  }
  return out;
}

/** The ONNX bytes: `raw` writes the rows before the grid decode (`yolox-raw`). */
export function tinyDetectorOnnx(raw = false): Uint8Array {
  const table = new Float32Array(ANCHORS * ROW);
  const cells = grid();
  for (const [a, row] of Object.entries(TINY_DET_ROWS)) {
    const r = row.slice();
    if (raw) {
      const [gx, gy, s] = cells[Number(a)];
      r[0] = r[0] / s - gx;
      r[1] = r[1] / s - gy;
      r[2] = Math.log(r[2] / s);
      r[3] = Math.log(r[3] / s);
    }
    table.set(r, Number(a) * ROW);
  }
  const mask = new Float32Array(ANCHORS * ROW);
  mask[4] = 1 / 255;
  return model({
    name: 'tiny_detector',
    nodes: [
      node('ReduceMean', ['images'], ['mean'], { keepdims: 0 }),
      node('Mul', ['mask', 'mean'], ['obj0']),
      node('Add', ['table', 'obj0'], ['output']),
    ],
    initializers: [
      tensor('table', [1, ANCHORS, ROW], table),
      tensor('mask', [1, ANCHORS, ROW], mask),
    ],
    inputs: [floatValue('images', [1, 3, TINY_DET.height, TINY_DET.width])],
    outputs: [floatValue('output', [1, ANCHORS, ROW])],
  });
}

/** The detector's contract (`srpose-detector/1`), with `over` merged into its top level. */
export function tinyDetectorConfig(
  raw = false,
  over: Record<string, unknown> = {},
): Record<string, any> {
  return {
    format: 'srpose-detector/1',
    kind: 'detector',
    family: 'yolox',
    name: 'tiny_detector',
    arch: 'tiny',
    source: {},
    onnx: {
      file: 'model.onnx',
      input: 'images',
      output: 'output',
      outputFormat: raw ? 'yolox-raw' : 'yolox-decoded',
    },
    input: {
      width: TINY_DET.width,
      height: TINY_DET.height,
      colorOrder: 'BGR',
      pixelScale: 1,
      mean: [0, 0, 0],
      std: [1, 1, 1],
      padValue: 114,
      legacy: false,
    },
    classes: { count: TINY_DET.classes, person: 0 },
    decode: {
      strides: [...TINY_DET.strides],
      scoreThreshold: 0.01,
      nmsThreshold: 0.65,
      classAware: true,
    },
    ...over,
  };
}

/** `srpose.json` (with the ONNX sha256 and size) and `model.onnx`, as files. */
export async function tinyDetectorFiles(
  raw = false,
  over: Record<string, unknown> = {},
): Promise<Record<string, Uint8Array>> {
  const onnx = tinyDetectorOnnx(raw);
  const config = tinyDetectorConfig(raw, over);
  config.onnx = { ...config.onnx, sha256: await digestHex('SHA-256', onnx), bytes: onnx.length };
  return {
    'srpose.json': new TextEncoder().encode(JSON.stringify(config)),
    'model.onnx': onnx,
  };
}

/**
 * The tiny detector's people on a `w` x `h` image of grey 200, as the official pipeline gives them:
 * letterbox ratio min(64 / h, 64 / w), boxes / ratio, sorted by score.
 */
export function tinyDetExpected(
  w: number,
  h: number,
  o: { all?: boolean; inImage?: boolean } = {},
): Detection[] {
  const r = Math.min(64 / h, 64 / w);
  const nw = Math.floor(w * r), nh = Math.floor(h * r);
  const mean = (200 * nw * nh + 114 * (64 * 64 - nw * nh)) / (64 * 64);
  const f = Math.fround;
  const box = (cx: number, cy: number, bw: number, bh: number): Detection['box'] => {
    const [x1, y1, x2, y2] = [cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2].map((v) =>
      f(v / f(r))
    );
    return [x1, y1, x2 - x1, y2 - y1];
  };
  // anchors 0 and 1 overlap (IoU 0.747): NMS keeps the higher, anchor 0's score follows the
  // letterbox's mean
  const s0 = tinyDetScore0(mean), s1 = f(f(0.7) * f(0.7));
  const people = [
    s0 >= s1 ? { box: box(20, 30, 10, 20), score: s0 } : { box: box(21, 31, 10, 20), score: s1 },
    { box: box(45, 40, 12, 16), score: f(f(0.5) * f(0.8)) },
    ...(o.all ? [{ box: box(40, 10, 8, 8), score: f(f(0.25) * f(0.8)) }] : []),
  ];
  // `inImage`: without the boxes wholly outside the image (as the pose estimator leaves them)
  return people.filter((p) => !o.inImage || (p.box[0] < w && p.box[1] < h))
    .sort((a, b) => b.score - a.score);
}

/** A `w` x `h` image of grey 200 (RGB pixels), the input of {@link tinyDetExpected}. */
export const greyImage = (width: number, height: number) => ({
  data: new Uint8Array(width * height * 3).fill(200),
  width,
  height,
});

/** Writes the tiny detector's files into a new temporary folder; returns it. */
export async function tinyDetectorDir(
  raw = false,
  over: Record<string, unknown> = {},
): Promise<string> {
  const dir = await tempDir('srpose-detector-');
  for (const [name, bytes] of Object.entries(await tinyDetectorFiles(raw, over))) {
    await writeFile(join(dir, name), bytes);
  }
  return dir;
}

/** The rows of the tiny end-to-end detector: x1, y1, x2, y2, score (letterbox px), label. */
export const TINY_E2E_ROWS = [
  [15, 20, 25, 40, 0.9, 0],
  [30, 30, 40, 50, 0.95, 1],
  [39, 32, 51, 48, 0.4, 0],
  [5, 5, 9, 9, 0.2, 0],
];

/**
 * A tiny mmdeploy-style end-to-end detector (NMS in the graph): `dets [1, 4, 5]` (its scores
 * plus 0 x the input's mean, so the input is read) and int64 `labels [1, 4]`.
 */
export function tinyEndToEndOnnx(): Uint8Array {
  const n = TINY_E2E_ROWS.length;
  return model({
    name: 'tiny_end2end',
    nodes: [
      node('ReduceMean', ['images'], ['mean'], { keepdims: 0 }),
      node('Mul', ['zero', 'mean'], ['nothing']),
      node('Add', ['table', 'nothing'], ['dets']),
      node('Identity', ['classes'], ['labels']),
    ],
    initializers: [
      tensor('table', [1, n, 5], Float32Array.from(TINY_E2E_ROWS.flatMap((r) => r.slice(0, 5)))),
      tensor('zero', [], new Float32Array([0])),
      tensor('classes', [1, n], BigInt64Array.from(TINY_E2E_ROWS.map((r) => BigInt(r[5])))),
    ],
    inputs: [floatValue('images', [1, 3, TINY_DET.height, TINY_DET.width])],
    outputs: [
      floatValue('dets', [1, n, 5]),
      tensorValue('labels', [1, n], DataType.INT64),
    ],
  });
}

/** The end-to-end detector's folder; `labels: false` leaves the labels output out of it. */
export async function tinyEndToEndDir(labels = true): Promise<string> {
  const dir = await tempDir('srpose-detector-e2e-');
  const config = tinyDetectorConfig(false);
  config.onnx = {
    file: 'model.onnx',
    input: 'images',
    output: 'dets',
    outputFormat: 'mmdeploy-end2end',
    ...(labels ? { labels: 'labels' } : {}),
  };
  await writeFile(join(dir, 'srpose.json'), JSON.stringify(config));
  await writeFile(join(dir, 'model.onnx'), tinyEndToEndOnnx());
  return dir;
}
