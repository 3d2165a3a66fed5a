// The estimator pool (src/worker/pool.ts): threads that each own an estimator give the results
// the estimator gives in-process, work whose caller gave up never starts or stops early, bad
// input keeps its typed error across the thread boundary, and a pool that cannot start fails
// cleanly instead of hanging.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tinyConfig, tinyOnnx } from '../helpers/tiny.ts';
import { rejects } from '../helpers/assert.ts';
import { createEstimator } from '../../src/estimator/estimator.ts';
import { createPooledEstimator } from '../../src/worker/pool.ts';
import { encodePng } from '../../src/image/codecs.ts';
import { SRPoseError } from '../../src/errors.ts';
import type { Box, Estimator } from '../../src/types.ts';

const model = async () => ({ onnx: await tinyOnnx(3), config: tinyConfig() });
let png: Uint8Array;
let inProcess: Estimator;
let pool: Estimator;

const boxes = (n: number): Box[] =>
  Array.from({ length: n }, (_, i) => [(i * 7) % 40, (i * 3) % 30, 20 + (i % 5), 18 + (i % 7)]);

test.before(async () => {
  png = await encodePng({
    data: new Uint8Array(64 * 48 * 3).map((_, i) => (i * 31 + (i >> 7)) & 255),
    width: 64,
    height: 48,
  });
  inProcess = await createEstimator({ model: await model(), backend: 'wasm' });
  pool = await createPooledEstimator({ model: await model(), backend: 'wasm', workers: 2 });
});
test.after(async () => {
  await inProcess.dispose();
  await pool.dispose();
});

test('pooled results equal in-process ones, calls at once spread over the threads', async () => {
  assert.equal(
    { ...pool.info, threads: 0, load: 0 },
    { ...inProcess.info, threads: 0, load: 0 },
  );
  const calls = [
    { boxes: boxes(1) },
    { boxes: boxes(5), flipTest: true },
    { boxes: boxes(17), flipTest: false },
    { boxes: boxes(9), flipTest: true },
  ];
  const pooled = await Promise.all(calls.map((o) => pool.estimate(png, o)));
  for (let i = 0; i < calls.length; i++) {
    const ref = await inProcess.estimate(png, calls[i]);
    assert.equal(pooled[i].people, ref.people, `call ${i}`);
  }
});

test('boxes run in chunks of maxBatch crops with the same answer as one batch', async () => {
  const chunked = await createEstimator({ model: await model(), backend: 'wasm', maxBatch: 3 });
  try {
    for (const flipTest of [false, true]) {
      const opts = { boxes: boxes(11), flipTest };
      assert.equal(
        (await chunked.estimate(png, opts)).people,
        (await inProcess.estimate(png, opts)).people,
      );
    }
  } finally {
    await chunked.dispose();
  }
});

test('bad input keeps its typed error across the thread; the pool stays usable', async () => {
  await rejects(pool.estimate(png, { boxes: [[0, 0, -5, 10]] }), 'INVALID_BOX');
  await rejects(pool.estimate(new Uint8Array([1, 2, 3, 4])), 'IMAGE_UNSUPPORTED');
  assert.is((await pool.estimate(png, { boxes: boxes(2) })).people.length, 2);
});

test('an aborted signal: the work never starts, the reason is the error', async () => {
  for (const est of [inProcess, pool]) {
    await rejects(est.estimate(png, { signal: AbortSignal.abort() }), 'ABORTED');
    const ctl = new AbortController();
    ctl.abort(new SRPoseError('TIMEOUT', 'deadline passed'));
    await rejects(est.estimate(png, { signal: ctl.signal }), 'TIMEOUT', /deadline passed/);
  }
});

test('a call aborted while queued or running rejects at once; the others finish', async () => {
  const one = await createPooledEstimator({
    model: await model(),
    backend: 'wasm',
    workers: 1,
    maxBatch: 1,
  });
  try {
    const long = one.estimate(png, { boxes: boxes(64), flipTest: true });
    const queued = new AbortController();
    const waiting = one.estimate(png, { boxes: boxes(64), signal: queued.signal });
    queued.abort();
    await rejects(waiting, 'ABORTED');
    assert.is((await long).people.length, 64);

    const running = new AbortController();
    const cut = one.estimate(png, { boxes: boxes(64), flipTest: true, signal: running.signal });
    await new Promise((r) => setTimeout(r, 5));
    running.abort(new SRPoseError('TIMEOUT', 'late'));
    await rejects(cut, 'TIMEOUT', /late/);
    // the thread took the cancel and serves the next call
    assert.is((await one.estimate(png, { boxes: boxes(3) })).people.length, 3);
  } finally {
    await one.dispose();
  }
});

test('dispose: queued calls and later ones are DISPOSED', async () => {
  const p = await createPooledEstimator({ model: await model(), backend: 'wasm', workers: 1 });
  const first = p.estimate(png, { boxes: boxes(8) });
  const second = p.estimate(png, { boxes: boxes(8) });
  const disposed = p.dispose();
  await rejects(second, 'DISPOSED');
  await first.catch(() => undefined); // running: it finishes or is cut by the dispose
  await disposed;
  await rejects(p.estimate(png), 'DISPOSED');
});

test('a pool that cannot start its threads or model fails with a typed error', async () => {
  await rejects(
    createPooledEstimator({ model: await model(), workers: 0 }),
    'INVALID_OPTION',
  );
  const bad = createPooledEstimator({
    model: await model(),
    backend: 'wasm',
    workerUrl: new URL('./no-such-worker.mjs', import.meta.url),
  });
  try {
    await bad;
    assert.unreachable('a missing worker script must fail');
  } catch (e) {
    assert.instance(e, SRPoseError);
  }
  await rejects(
    createPooledEstimator({ model: { onnx: new Uint8Array(8), config: tinyConfig() } }),
    'MODEL_INVALID',
  );
});

test.run();
