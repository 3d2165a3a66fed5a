// A tiny top-down model with the real contract (input [N,3,256,192] -> heatmaps [N,17,64,48]):
// AveragePool(4) then a 5x5 convolution with seeded random weights, written in TypeScript
// (src/runtime/onnx-proto.ts), for tests of everything around the network. Its ONNX is checked
// and run against PyTorch in tests/parity/tiny-models.test.ts.
import { floatValue, model, node, tensor } from '../../src/runtime/onnx-proto.ts';
import { digestHex } from '../../src/platform/digest.ts';
import { COCO_SKELETON } from '../../src/image/draw.ts';

/** Uniform numbers in [-bound, bound) from a seed (mulberry32): deterministic test weights. */
export function uniform(seed: number, n: number, bound: number): Float32Array {
  let a = (seed * 0x9e3779b9 + 0x6d2b79f5) >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * bound;
  }
  return out;
}

const cached = new Map<number, Uint8Array>();

/**
 * The tiny model's ONNX bytes; another `seed` gives other weights (PyTorch's default init bounds).
 */
export function tinyOnnx(seed = 0): Promise<Uint8Array> {
  let bytes = cached.get(seed);
  if (!bytes) {
    const bound = 1 / Math.sqrt(3 * 5 * 5);
    bytes = model({
      name: 'tiny',
      nodes: [
        node('AveragePool', ['image'], ['pooled'], { kernel_shape: [4, 4], strides: [4, 4] }),
        node('Conv', ['pooled', 'weight', 'bias'], ['heatmaps'], {
          kernel_shape: [5, 5],
          pads: [2, 2, 2, 2],
        }),
      ],
      initializers: [
        tensor('weight', [17, 3, 5, 5], uniform(2 * seed, 17 * 3 * 5 * 5, bound)),
        tensor('bias', [17], uniform(2 * seed + 1, 17, bound)),
      ],
      inputs: [floatValue('image', ['n', 3, 256, 192])],
      outputs: [floatValue('heatmaps', ['n', 17, 64, 48])],
    });
    cached.set(seed, bytes);
  }
  return Promise.resolve(bytes);
}

export const COCO_KEYPOINTS = [
  'nose',
  'left_eye',
  'right_eye',
  'left_ear',
  'right_ear',
  'left_shoulder',
  'right_shoulder',
  'left_elbow',
  'right_elbow',
  'left_wrist',
  'right_wrist',
  'left_hip',
  'right_hip',
  'left_knee',
  'right_knee',
  'left_ankle',
  'right_ankle',
];

export function tinyConfig(over: Record<string, unknown> = {}): Record<string, any> {
  return {
    format: 'srpose-model/1',
    name: 'tiny',
    arch: 'tiny',
    kind: 'top-down',
    head: 'test',
    dataset: 'coco',
    source: {},
    onnx: { file: 'model.onnx', input: 'image', output: 'heatmaps' },
    input: {
      width: 192,
      height: 256,
      colorOrder: 'RGB',
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
    },
    heatmap: { width: 48, height: 64 },
    bbox: { padding: 1.25, pixelStd: 200 },
    keypoints: COCO_KEYPOINTS,
    skeleton: COCO_SKELETON.map(([a, b]) => [a, b]),
    flipPairs: [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12], [13, 14], [15, 16]],
    flipTest: { enabled: true, shiftHeatmap: true },
    decode: { method: 'default', modulateKernel: 11 },
    ...over,
  };
}

/**
 * The tiny model's files as a Hub repository holds them, the ONNX's sha256 and size in its config.
 */
export async function tinyModelFiles(seed = 0): Promise<Record<string, Uint8Array>> {
  const onnx = await tinyOnnx(seed);
  const d = await crypto.subtle.digest('SHA-256', onnx as Uint8Array<ArrayBuffer>);
  const sha256 = Array.from(new Uint8Array(d), (x) => x.toString(16).padStart(2, '0')).join('');
  const config = tinyConfig({
    onnx: { file: 'model.onnx', sha256, bytes: onnx.length, input: 'image', output: 'heatmaps' },
  });
  return { 'srpose.json': new TextEncoder().encode(JSON.stringify(config)), 'model.onnx': onnx };
}

let srLike: Uint8Array | undefined;

/**
 * A small graph with the operators of the SR head ([N,3,64,48] -> [N,17,64,48]): strided,
 * depthwise and grouped convolution, GELU as ONNX spells it (Erf), nearest Resize, AveragePool
 * and pixel shuffle (DepthToSpace, CRD), seeded weights. For backend comparisons.
 */
export function srLikeOnnx(): Uint8Array {
  const conv = (name: string, dims: number[], seed: number): Uint8Array[] => {
    const bound = 1 / Math.sqrt(dims[1] * dims[2] * dims[3]);
    const n = dims.reduce((a, b) => a * b);
    return [
      tensor(`${name}.weight`, dims, uniform(seed, n, bound)),
      tensor(`${name}.bias`, [dims[0]], uniform(seed + 1, dims[0], bound)),
    ];
  };
  const scalar = (name: string, v: number) => tensor(name, [], new Float32Array([v]));
  srLike ??= model({
    name: 'sr_like',
    nodes: [
      node('Conv', ['image', 'a.weight', 'a.bias'], ['a'], {
        kernel_shape: [3, 3],
        strides: [2, 2],
        pads: [1, 1, 1, 1],
      }),
      node('Conv', ['a', 'dw.weight', 'dw.bias'], ['dw'], {
        kernel_shape: [7, 7],
        pads: [3, 3, 3, 3],
        group: 34,
      }),
      node('Div', ['dw', 'sqrt2'], ['scaled']),
      node('Erf', ['scaled'], ['erf']),
      node('Add', ['erf', 'one'], ['erf1']),
      node('Mul', ['dw', 'erf1'], ['gelu2']),
      node('Mul', ['gelu2', 'half'], ['gelu']),
      node('Resize', ['gelu', '', 'scales'], ['up'], {
        mode: 'nearest',
        coordinate_transformation_mode: 'asymmetric',
        nearest_mode: 'floor',
      }),
      node('AveragePool', ['up'], ['pool'], { kernel_shape: [2, 2], strides: [2, 2] }),
      node('Conv', ['pool', 'g.weight', 'g.bias'], ['g'], {
        kernel_shape: [3, 3],
        pads: [1, 1, 1, 1],
        group: 17,
      }),
      node('DepthToSpace', ['g'], ['heatmaps'], { blocksize: 2, mode: 'CRD' }),
    ],
    initializers: [
      ...conv('a', [34, 3, 3, 3], 10),
      ...conv('dw', [34, 1, 7, 7], 12),
      ...conv('g', [68, 2, 3, 3], 14),
      scalar('sqrt2', Math.SQRT2),
      scalar('one', 1),
      scalar('half', 0.5),
      tensor('scales', [4], new Float32Array([1, 1, 2, 2])),
    ],
    inputs: [floatValue('image', ['n', 3, 64, 48])],
    outputs: [floatValue('heatmaps', ['n', 17, 64, 48])],
  });
  return srLike;
}

/** Files of a model whose fp32, fp16 and int8 "weights" are the tiny model with seeds 0, 1, 2. */
export async function tinyVariantFiles(recommended = 'fp16'): Promise<Record<string, Uint8Array>> {
  const [fp32, fp16, int8] = await Promise.all([0, 1, 2].map((s) => tinyOnnx(s)));
  const spec = async (file: string, b: Uint8Array) => ({
    file,
    sha256: await digestHex('SHA-256', b),
    bytes: b.length,
  });
  const config = tinyConfig({
    onnx: {
      ...(await spec('model.onnx', fp32)),
      input: 'image',
      output: 'heatmaps',
      weights: 'fp32',
      variants: {
        fp16: await spec('model_fp16.onnx', fp16),
        int8: await spec('model_int8.onnx', int8),
      },
      recommended,
    },
  });
  return {
    'srpose.json': new TextEncoder().encode(JSON.stringify(config)),
    'model.onnx': fp32,
    'model_fp16.onnx': fp16,
    'model_int8.onnx': int8,
  };
}

/** Uniform numbers in [0, 1) from a seed, drawn from {@link uniform}: seeded test inputs. */
export class Rand {
  private buf: Float32Array;
  private i = 0;
  constructor(private seed: number) {
    this.buf = uniform(seed, 4096, 0.5);
  }
  next(): number {
    if (this.i === this.buf.length) {
      this.buf = uniform(++this.seed * 7919, 4096, 0.5);
      this.i = 0;
    }
    return this.buf[this.i++] + 0.5;
  }
  range(a: number, b: number): number {
    return a + (b - a) * this.next();
  }
  int(n: number): number {
    return Math.min(n - 1, Math.floor(this.next() * n));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
}
