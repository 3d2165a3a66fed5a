// Backend choice: what `auto` picks in this runtime, explicit requests, and WebGPU vs WASM
// outputs where a WebGPU adapter exists (Deno offers one; Node has no navigator.gpu).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { srLikeOnnx } from '../helpers/tiny.ts';
import { createPoseSession } from '../../src/runtime/session.ts';
import { availableCores, env } from '../../src/platform/env.ts';
import { isSRPoseError } from '../../src/errors.ts';

const io = { input: 'image', output: 'heatmaps' };

const input = new Float32Array(2 * 3 * 64 * 48).map((_, i) => Math.sin(i * 0.37));

test(
  'auto without onnxruntime-node picks WASM here with all cores, ' +
    'and says why not native or WebGPU',
  async () => {
    const s = await createPoseSession(srLikeOnnx(), io, {
      backend: 'auto',
      nativeModule: 'srpose-no-such-native-module',
    });
    try {
      assert.is(s.backend, 'wasm');
      assert.is(s.threads, await availableCores());
      assert.type(s.fallbackReason, 'string');
      assert.match(s.fallbackReason!, env.isDeno ? /WebGPU/ : /navigator\.gpu is missing/);
      assert.match(s.fallbackReason!, /srpose-no-such-native-module is not installed/);
      const out = await s.run(input, [2, 3, 64, 48]);
      assert.equal(Array.from(out.dims), [2, 17, 64, 48]);
    } finally {
      await s.release();
    }
  },
);

test('an unknown backend is INVALID_OPTION', async () => {
  try {
    await createPoseSession(new Uint8Array(8), io, { backend: 'cuda' as any });
    assert.unreachable();
  } catch (e) {
    assert.ok(isSRPoseError(e, 'INVALID_OPTION'), String(e));
  }
});

test('bytes that are not ONNX are MODEL_INVALID', async () => {
  try {
    await createPoseSession(new TextEncoder().encode('not a model'), io, { backend: 'wasm' });
    assert.unreachable();
  } catch (e) {
    assert.ok(isSRPoseError(e, 'MODEL_INVALID'), String(e));
  }
});

test(
  'explicit webgpu: runs on an adapter and matches WASM, or is BACKEND_UNAVAILABLE without one',
  async () => {
    const onnx = srLikeOnnx();
    const adapter = env.hasWebGPU ? await (globalThis as any).navigator.gpu.requestAdapter() : null;
    if (!adapter) {
      try {
        await createPoseSession(onnx, io, { backend: 'webgpu' });
        assert.unreachable();
      } catch (e) {
        assert.ok(isSRPoseError(e, 'BACKEND_UNAVAILABLE'), String(e));
      }
      return;
    }
    const gpu = await createPoseSession(onnx, io, { backend: 'webgpu' });
    const cpu = await createPoseSession(onnx, io, { backend: 'wasm' });
    try {
      assert.is(gpu.backend, 'webgpu');
      const a = await gpu.run(input, [2, 3, 64, 48]);
      const b = await cpu.run(input, [2, 3, 64, 48]);
      let d = 0;
      for (let i = 0; i < a.data.length; i++) d = Math.max(d, Math.abs(a.data[i] - b.data[i]));
      console.log(
        `    webgpu (${adapter.info?.description ?? 'adapter'}) vs wasm: max |diff| ${
          d.toExponential(2)
        }`,
      );
      assert.ok(d < 1e-4, `webgpu vs wasm differ by ${d}`);
    } finally {
      await gpu.release();
      await cpu.release();
    }
  },
);

test.run();
