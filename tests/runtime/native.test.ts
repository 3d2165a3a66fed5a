// The native backend (onnxruntime-node) under whichever runtime runs this file (Node, Deno -A):
// it loads and runs, `auto` prefers it, and without the package `auto` falls back to WASM with
// the reason while `native` is BACKEND_UNAVAILABLE. Its keypoints on the shared COCO photos are
// compared with WASM's in tests/parity/pipeline.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import process from 'node:process';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { skipUnless, tempDir } from '../helpers/env.ts';
import { digestHex } from '../../src/platform/digest.ts';
import { rejects } from '../helpers/assert.ts';
import { createEstimator } from '../../src/estimator/estimator.ts';
import { tinyConfig, tinyOnnx } from '../helpers/tiny.ts';
import { createPoseSession } from '../../src/runtime/session.ts';
import { loadNative, NATIVE_PACKAGE } from '../../src/runtime/native.ts';
import { availableCores } from '../../src/platform/env.ts';

const io = { input: 'image', output: 'heatmaps' };
const MISSING = 'srpose-no-such-native-module';
const installed = typeof (await loadNative(NATIVE_PACKAGE)) !== 'string';
const input = new Float32Array(2 * 3 * 256 * 192).map((_, i) => Math.sin(i * 0.37));

test('onnxruntime-node is installed and loads here', async () => {
  const native = await loadNative(NATIVE_PACKAGE);
  assert.type(native, 'object', `onnxruntime-node does not load: ${native}`);
  if (typeof native !== 'string') assert.match(native.version, /^1\.30\./);
});

test(
  'backend native runs with all cores as intra-op threads, or the threads asked for',
  async () => {
    if (skipUnless(installed, 'onnxruntime-node not installed')) return;
    const onnx = await tinyOnnx();
    const s = await createPoseSession(onnx, io, { backend: 'native' });
    const one = await createPoseSession(onnx, io, { backend: 'native', threads: 1 });
    const wasm = await createPoseSession(onnx, io, { backend: 'wasm' });
    try {
      assert.is(s.backend, 'native');
      assert.is(s.threads, await availableCores());
      assert.is(s.fallbackReason, undefined);
      assert.is(one.threads, 1);
      const a = await s.run(input, [2, 3, 256, 192]);
      const b = await wasm.run(input, [2, 3, 256, 192]);
      assert.equal(Array.from(a.dims), [2, 17, 64, 48]);
      assert.ok(a.data instanceof Float32Array);
      let d = 0;
      for (let i = 0; i < a.data.length; i++) d = Math.max(d, Math.abs(a.data[i] - b.data[i]));
      assert.ok(d < 1e-4, `native vs wasm differ by ${d}`);
      // Runs in flight at once on one session: each gets its own answer; release waits for them.
      const many = await Promise.all([0, 1, 2].map(() => one.run(input, [2, 3, 256, 192])));
      for (const m of many) {
        assert.equal(Array.from(m.data.subarray(0, 64)), Array.from(many[0].data.subarray(0, 64)));
      }
      const late = one.run(input.subarray(0, 3 * 256 * 192), [1, 3, 256, 192]);
      await one.release();
      assert.equal(Array.from((await late).dims), [1, 17, 64, 48]);
    } finally {
      await s.release();
      await wasm.release();
    }
  },
);

test('auto prefers native where onnxruntime-node loads', async () => {
  if (skipUnless(installed, 'onnxruntime-node not installed')) return;
  const est = await createEstimator({ model: { onnx: await tinyOnnx(), config: tinyConfig() } });
  try {
    assert.is(est.info.backend, 'native');
    assert.is(est.info.fallbackReason, undefined);
    const r = await est.estimate({
      data: new Uint8Array(64 * 48 * 3).fill(90),
      width: 64,
      height: 48,
    });
    assert.is(r.backend, 'native');
    assert.is(r.threads, await availableCores());
  } finally {
    await est.dispose();
  }
});

test(
  'without the package: auto falls back to WASM with the reason, native is BACKEND_UNAVAILABLE',
  async () => {
    const onnx = await tinyOnnx();
    const s = await createPoseSession(onnx, io, { backend: 'auto', nativeModule: MISSING });
    try {
      assert.is(s.backend, 'wasm');
      assert.match(s.fallbackReason ?? '', new RegExp(`${MISSING} is not installed`));
    } finally {
      await s.release();
    }
    await rejects(
      createPoseSession(onnx, io, { backend: 'native', nativeModule: MISSING }),
      'BACKEND_UNAVAILABLE',
      /is not installed/,
    );
    // The same through SRPOSE_NATIVE_MODULE, which createEstimator (and the servers) read.
    process.env.SRPOSE_NATIVE_MODULE = MISSING;
    try {
      const est = await createEstimator({ model: { onnx, config: tinyConfig() } });
      assert.is(est.info.backend, 'wasm');
      assert.match(est.info.fallbackReason ?? '', /not installed/);
      await est.dispose();
      await rejects(
        createEstimator({ model: { onnx, config: tinyConfig() }, backend: 'native' }),
        'BACKEND_UNAVAILABLE',
        new RegExp(MISSING),
      );
    } finally {
      delete process.env.SRPOSE_NATIVE_MODULE;
    }
  },
);

test('native: bytes that are not ONNX are MODEL_INVALID, bad threads INVALID_OPTION', async () => {
  if (skipUnless(installed, 'onnxruntime-node not installed')) return;
  await rejects(
    createPoseSession(new TextEncoder().encode('not a model'), io, { backend: 'native' }),
    'MODEL_INVALID',
    /onnxruntime-node/,
  );
  await rejects(
    createPoseSession(await tinyOnnx(), io, { backend: 'native', threads: 0 }),
    'INVALID_OPTION',
    /threads/,
  );
  await rejects(
    createPoseSession(await tinyOnnx(), { input: 'pixels', output: 'heatmaps' }, {
      backend: 'native',
    }),
    'MODEL_INVALID',
    /pixels/,
  );
});

test(
  'the optimised graph is kept beside the Hub cache: a later session loads it, with the ' +
    'same output; a changed file is made again',
  async () => {
    if (skipUnless(installed, 'onnxruntime-node not installed')) return;
    const onnx = await tinyOnnx(5);
    const dir = join(await tempDir('srpose-derived-'), 'srpose-derived');
    const sha256 = await digestHex('SHA-256', onnx);
    const cache = { dir, sha256 };
    // the graph's bytes deferred, as a verified Hub blob is: read only when a session needs them
    let reads = 0;
    const graph = () => (reads++, Promise.resolve(onnx));
    const run = async () => {
      const s = await createPoseSession(graph, io, { backend: 'native', nativeCache: cache });
      try {
        return (await s.run(input, [2, 3, 256, 192])).data;
      } finally {
        await s.release();
      }
    };
    const plain = await createPoseSession(onnx, io, { backend: 'native' });
    const want = (await plain.run(input, [2, 3, 256, 192])).data;
    await plain.release();
    assert.equal(await run(), want); // made and saved
    assert.is(reads, 1);
    const [derived] = (await readdir(dir)).filter((f) => f.endsWith('.onnx'));
    assert.ok(derived?.startsWith(sha256), `${await readdir(dir)}`);
    const file = join(dir, derived!);
    const made = (await stat(file, { bigint: true })).mtimeNs;
    assert.equal(await run(), want); // loaded, not made again
    assert.is((await stat(file, { bigint: true })).mtimeNs, made);
    assert.is(reads, 1, 'the source graph is not read when the derived one serves');
    await writeFile(file, new Uint8Array(100)); // broken: refused by its record, made again
    assert.equal(await run(), want);
    assert.is(reads, 2);
    assert.ok((await stat(file)).size > 100);
    assert.equal((await readdir(dir)).filter((f) => f.endsWith('.incomplete')), []);
  },
);

test.run();
