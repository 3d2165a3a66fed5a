// A tiny top-down model with the real contract (input [N,3,256,192] -> heatmaps [N,17,64,48]),
// exported by PyTorch once per process, for tests of everything around the network.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { python, tempDir } from './env.ts';

const SCRIPT = `
import sys, torch, torch.nn as nn
torch.manual_seed(int(sys.argv[2]))
m = nn.Sequential(nn.AvgPool2d(4), nn.Conv2d(3, 17, 5, padding=2)).eval()
torch.onnx.export(m, torch.randn(1, 3, 256, 192), sys.argv[1], input_names=['image'], output_names=['heatmaps'], opset_version=17, dynamic_axes={'image': {0: 'n'}, 'heatmaps': {0: 'n'}})
print('{}')
`;

const cached = new Map<number, Promise<Uint8Array>>();

/** The tiny model's ONNX bytes; another `seed` gives other weights. */
export function tinyOnnx(seed = 0): Promise<Uint8Array> {
  let p = cached.get(seed);
  if (!p) {
    p = (async () => {
      const file = join(await tempDir('srpose-tinymodel-'), 'model.onnx');
      await python(['-c', SCRIPT, file, String(seed)]);
      return new Uint8Array(await readFile(file));
    })();
    cached.set(seed, p);
  }
  return p;
}

export const COCO_KEYPOINTS = ['nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle'];

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
    input: { width: 192, height: 256, colorOrder: 'RGB', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
    heatmap: { width: 48, height: 64 },
    bbox: { padding: 1.25, pixelStd: 200 },
    keypoints: COCO_KEYPOINTS,
    skeleton: [[15, 13], [13, 11], [16, 14], [14, 12], [11, 12], [5, 11], [6, 12], [5, 6], [5, 7], [6, 8], [7, 9], [8, 10], [1, 2], [0, 1], [0, 2], [1, 3], [2, 4], [3, 5], [4, 6]],
    flipPairs: [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12], [13, 14], [15, 16]],
    flipTest: { enabled: true, shiftHeatmap: true },
    decode: { method: 'default', modulateKernel: 11 },
    ...over,
  };
}

/** The tiny model's files as a Hub repository holds them, the ONNX's sha256 and size in its config. */
export async function tinyModelFiles(seed = 0): Promise<Record<string, Uint8Array>> {
  const onnx = await tinyOnnx(seed);
  const d = await crypto.subtle.digest('SHA-256', onnx as Uint8Array<ArrayBuffer>);
  const sha256 = Array.from(new Uint8Array(d), (x) => x.toString(16).padStart(2, '0')).join('');
  const config = tinyConfig({ onnx: { file: 'model.onnx', sha256, bytes: onnx.length, input: 'image', output: 'heatmaps' } });
  return { 'srpose.json': new TextEncoder().encode(JSON.stringify(config)), 'model.onnx': onnx };
}
