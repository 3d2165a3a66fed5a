// The tiny test models are written in TypeScript (tests/helpers/tiny*.ts on
// src/runtime/onnx-proto.ts). Here each one passes onnx's full checker and onnxruntime-web's
// output equals PyTorch's for the network it stands for (the modules the Python exports used
// to build), computed from the weights read out of the ONNX file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hasPython, python, readF32, skipUnless, tempDir, writeF32 } from '../helpers/env.ts';
import { srLikeOnnx, tinyOnnx } from '../helpers/tiny.ts';
import { tinyBottomUpOnnx } from '../helpers/tiny-bottomup.ts';
import { createPoseSession } from '../../src/runtime/session.ts';

const SCRIPT = `
import sys, json, numpy as np, onnx, torch, torch.nn.functional as F
from onnx import numpy_helper
kind, model_path, input_path, out_path = sys.argv[1:5]
shape = json.loads(sys.argv[5])
m = onnx.load(model_path)
onnx.checker.check_model(m, full_check=True)
w = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in m.graph.initializer}
x = torch.from_numpy(np.fromfile(input_path, dtype=np.float32).reshape(shape))
with torch.no_grad():
    if kind == 'tiny':
        y = F.conv2d(F.avg_pool2d(x, 4), w['weight'], w['bias'], padding=2)
    elif kind == 'bottom-up':
        y = F.conv2d(x, w['weight'], w['bias'])
    else:
        a = F.conv2d(x, w['a.weight'], w['a.bias'], stride=2, padding=1)
        y = F.gelu(F.conv2d(a, w['dw.weight'], w['dw.bias'], padding=3, groups=34))
        y = F.avg_pool2d(F.interpolate(y, scale_factor=2.0), 2)
        y = F.pixel_shuffle(F.conv2d(y, w['g.weight'], w['g.bias'], padding=1, groups=17), 2)
y.numpy().astype(np.float32).tofile(out_path)
print(json.dumps({'shape': list(y.shape)}))
`;

const cases = [
  {
    kind: 'tiny',
    onnx: () => tinyOnnx(0),
    io: { input: 'image', output: 'heatmaps' },
    shape: [2, 3, 256, 192],
    out: [2, 17, 64, 48],
  },
  {
    kind: 'tiny',
    onnx: () => tinyOnnx(1),
    io: { input: 'image', output: 'heatmaps' },
    shape: [1, 3, 256, 192],
    out: [1, 17, 64, 48],
  },
  {
    kind: 'bottom-up',
    onnx: tinyBottomUpOnnx,
    io: { input: 'image', output: 'output' },
    shape: [1, 3, 64, 96],
    out: [1, 34, 64, 96],
  },
  {
    kind: 'sr-like',
    onnx: () => Promise.resolve(srLikeOnnx()),
    io: { input: 'image', output: 'heatmaps' },
    shape: [2, 3, 64, 48],
    out: [2, 17, 64, 48],
  },
];

for (const c of cases) {
  test(
    `${c.kind} model ${c.shape.join('x')}: ` +
      `onnx.checker passes and onnxruntime-web equals PyTorch`,
    async () => {
      if (
        skipUnless(
          hasPython('torch', 'onnx'),
          'the tiny models are checked against PyTorch and onnx (apt: python3-torch python3-onnx)',
        )
      ) return;
      const tmp = await tempDir('srpose-tinycheck-');
      const onnx = await c.onnx();
      const input = new Float32Array(c.shape.reduce((a, b) => a * b)).map((_, i) =>
        Math.sin(i * 0.013) * 2 + Math.cos(i * 0.7)
      );
      await writeFile(join(tmp, 'model.onnx'), onnx);
      await writeF32(join(tmp, 'input.f32'), input);
      const meta = await python([
        '-c',
        SCRIPT,
        c.kind,
        join(tmp, 'model.onnx'),
        join(tmp, 'input.f32'),
        join(tmp, 'out.f32'),
        JSON.stringify(c.shape),
      ]);
      assert.equal(meta.shape, c.out);
      const want = await readF32(join(tmp, 'out.f32'));
      const s = await createPoseSession(onnx, c.io, { backend: 'wasm' });
      try {
        const got = await s.run(input, c.shape);
        assert.equal(Array.from(got.dims), c.out);
        let d = 0, range = 0;
        for (let i = 0; i < want.length; i++) {
          d = Math.max(d, Math.abs(got.data[i] - want[i]));
          range = Math.max(range, Math.abs(want[i]));
        }
        assert.ok(range > 0.1, `degenerate output (max |y| ${range})`);
        assert.ok(
          d <= 1e-5 * Math.max(1, range),
          `onnxruntime-web vs PyTorch: max |diff| ${d} (max |y| ${range})`,
        );
      } finally {
        await s.release();
      }
    },
  );
}

test.run();
