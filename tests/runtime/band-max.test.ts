// The band-maxima model (src/runtime/band-max.ts, written here byte by byte): valid ONNX to the
// onnx package's own checker, the graph it should be, and, run natively, the maxima a plain
// loop finds; the SR decode gives the same keypoints with them as without.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PYTHON, python, skipUnless, tempDir } from '../helpers/env.ts';
import { tinyOnnx } from '../helpers/tiny.ts';
import { bandMaxModel } from '../../src/runtime/band-max.ts';
import { loadNative, NATIVE_PACKAGE } from '../../src/runtime/native.ts';
import { createPoseSession } from '../../src/runtime/session.ts';
import { decodeSR } from '../../src/core/decode/sr.ts';

const io = { input: 'image', output: 'heatmaps' };
const installed = typeof (await loadNative(NATIVE_PACKAGE)) !== 'string';

/** The maxima of `bands` row bands of each (h, w) map, by a plain loop. */
function plainBandMax(
  data: Float32Array,
  n: number,
  k: number,
  h: number,
  w: number,
  bands: number,
): Float32Array {
  const out = new Float32Array(n * k * bands).fill(-Infinity);
  const rows = h / bands;
  for (let m = 0; m < n * k; m++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        out[m * bands + Math.floor(y / rows)] = Math.max(
          out[m * bands + Math.floor(y / rows)],
          data[(m * h + y) * w + x],
        );
      }
    }
  }
  return out;
}

let seed = 3;
const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
// few levels: the maxima repeat across bands and windows (the ties the decode must get right)
const maps = (len: number) => new Float32Array(len).map(() => Math.floor(rnd() * 6) / 5 - 0.3);

test(
  'the model is valid ONNX (onnx.checker, full check) with Reshape + ReduceMax(axes 3)',
  async () => {
    if (skipUnless(existsSync(PYTHON), `${PYTHON} absent`)) return;
    const dir = await tempDir('srpose-bandmax-');
    const file = join(dir, 'bandmax.onnx');
    await writeFile(file, bandMaxModel(16));
    const code = [
      'import json, sys, onnx',
      'from onnx import numpy_helper',
      'm = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True)',
      'g = m.graph',
      'print(json.dumps({"ops": [n.op_type for n in g.node], "opset": m.opset_import[0].version,',
      ' "inputs": [i.name for i in g.input], "outputs": [o.name for o in g.output],',
      ' "shape": list(numpy_helper.to_array(g.initializer[0])),',
      ' "attrs": {a.name: (list(a.ints) or a.i) for a in g.node[1].attribute}}, default=int))',
    ].join('\n');
    const info = await python(['-c', code, file]);
    assert.equal(info, {
      ops: ['Reshape', 'ReduceMax'],
      opset: 17,
      inputs: ['heatmaps'],
      outputs: ['bandmax'],
      shape: [0, 0, 16, -1],
      attrs: { axes: [3], keepdims: 0 },
    });
  },
);

test(
  'native band maxima equal a plain loop; other shapes and WASM sessions leave it to the decode',
  async () => {
    if (skipUnless(installed, 'onnxruntime-node not installed')) return;
    const onnx = await tinyOnnx();
    const s = await createPoseSession(onnx, io, { backend: 'native' });
    const wasm = await createPoseSession(onnx, io, { backend: 'wasm' });
    try {
      for (
        const [n, k, h, w, bands] of [[1, 17, 256, 192, 16], [3, 2, 32, 8, 4], [2, 5, 64, 48, 16]]
      ) {
        const data = maps(n * k * h * w + 5);
        // a view at an offset, as the flip-merged heatmaps are
        const view = data.subarray(5);
        const got = await s.bandMaxima!(view, [n, k, h, w], bands);
        assert.ok(got, `${[n, k, h, w]} / ${bands}: no maxima`);
        assert.equal(
          Array.from(got!),
          Array.from(plainBandMax(view, n, k, h, w, bands)),
          `${[n, k, h, w]} / ${bands}`,
        );
      }
      assert.is(
        await s.bandMaxima!(maps(2 * 30 * 8), [1, 2, 30, 8], 16),
        undefined,
        '30 rows are not 16 bands',
      );
      assert.is(wasm.bandMaxima, undefined);
    } finally {
      await s.release();
      await wasm.release();
    }
  },
);

test(
  'the SR decode picks the same pixels with given band maxima, and looks again at a NaN one',
  () => {
    const [n, k, h, w] = [2, 17, 256, 192];
    const data = maps(n * k * h * w);
    const frames = [{ center: [96, 128] as const, scale: [0.96, 1.28] as const }, {
      center: [300, 200] as const,
      scale: [2, 2.7] as const,
    }];
    const hm = { data, n, k, h, w };
    const bands = plainBandMax(data, n, k, h, w, 16);
    const want = decodeSR(hm, frames);
    const given = decodeSR(hm, frames, 16, 200, bands);
    assert.equal(Array.from(given.coords), Array.from(want.coords));
    assert.equal(Array.from(given.scores), Array.from(want.scores));
    bands.fill(NaN, 0, 16 * 5);
    const nan = decodeSR(hm, frames, 16, 200, bands);
    assert.equal(Array.from(nan.coords), Array.from(want.coords));
    try {
      decodeSR(hm, frames, 16, 200, bands.subarray(1));
      assert.unreachable('took band maxima of the wrong length');
    } catch (e) {
      assert.instance(e, RangeError);
    }
  },
);

test.run();
