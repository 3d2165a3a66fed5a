// `await using` on every estimator: top-down, bottom-up and (under Node) the thread pool are
// disposed when their scope ends, however it ends, and then refuse work with DISPOSED; dispose
// and [Symbol.asyncDispose] may be called again. tsx compiles `await using` (esbuild lowers it
// for Node 20), Deno runs it as it is.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejects } from '../helpers/assert.ts';
import { tinyConfig, tinyOnnx } from '../helpers/tiny.ts';
import { tinyBottomUpConfig, tinyBottomUpOnnx } from '../helpers/tiny-bottomup.ts';
import { createEstimator } from '../../src/estimator/estimator.ts';
import { asyncDispose } from '../../src/estimator/dispose.ts';
import { createPooledEstimator } from '../../src/worker/pool.ts';
import type { Estimator } from '../../src/types.ts';

const pixels = { data: new Uint8Array(64 * 48 * 3).fill(90), width: 64, height: 48 };

const makers: Record<string, () => Promise<Estimator>> = {
  'top-down': async () =>
    createEstimator({ model: { onnx: await tinyOnnx(), config: tinyConfig() }, backend: 'wasm' }),
  'bottom-up': async () =>
    createEstimator({
      model: { onnx: await tinyBottomUpOnnx(), config: tinyBottomUpConfig() },
      backend: 'wasm',
    }),
};
// The pool under Node only: its Deno threads run in the server suites (see tests/suites.ts,
// estimator/pool.test.ts), never beside in-process WASM sessions.
if (!('Deno' in globalThis)) {
  makers['pool'] = async () =>
    createPooledEstimator({
      model: { onnx: await tinyOnnx(), config: tinyConfig() },
      backend: 'wasm',
      workers: 1,
    });
}

test('the runtime has Symbol.asyncDispose, and the estimators use it', () => {
  assert.is(typeof Symbol.asyncDispose, 'symbol');
  assert.is(asyncDispose, Symbol.asyncDispose);
});

for (const [kind, make] of Object.entries(makers)) {
  test(`${kind}: await using disposes at the end of the scope; DISPOSED after`, async () => {
    let kept: Estimator | undefined;
    {
      await using est = await make();
      kept = est;
      const r = await est.estimate(pixels);
      assert.ok(Array.isArray(r.people));
    }
    await rejects(kept.estimate(pixels), 'DISPOSED', /disposed; create a new one/);
    // Again, in every order: nothing happens.
    await kept[Symbol.asyncDispose]();
    await kept.dispose();
    await kept[Symbol.asyncDispose]();
  });

  test(`${kind}: a scope left by a throw disposes too`, async () => {
    let kept: Estimator | undefined;
    const boom = new Error('boom');
    try {
      await using est = await make();
      kept = est;
      throw boom;
    } catch (e) {
      assert.is(e, boom);
    }
    await rejects(kept!.estimate(pixels), 'DISPOSED');
  });
}

test.run();
