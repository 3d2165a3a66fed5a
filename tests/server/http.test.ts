// The deployable bundles over real HTTP on 127.0.0.1: dist/node (Node + @hono/node-server) and
// dist/deno (`deno serve`). Each gives the keypoints the library gives in-process, answers the
// bad-input suite, and survives a load of 200 requests at concurrency 8 with flat memory.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import {
  hasModel,
  hasShared,
  modelDir,
  requirement,
  ROOT,
  suiteSkipped,
  tempDir,
} from '../helpers/env.ts';
import { DENO, freePort, pool, type RunningServer, startServer } from '../helpers/servers.ts';
import { tinyConfig, tinyOnnx } from '../helpers/tiny.ts';
import { createEstimator } from '../../src/estimator/estimator.ts';
import type { EstimateResult } from '../../src/types.ts';
import {
  API_KEY,
  badInputCases,
  caseRequest,
  goodRequest,
  LIMITS,
  PHOTO,
  PHOTO_BOX,
} from './cases.ts';

const BUNDLES = {
  node: join(ROOT, 'dist', 'node', 'index.mjs'),
  deno: join(ROOT, 'dist', 'deno', 'index.mjs'),
};
type Runtime = keyof typeof BUNDLES;

async function start(
  runtime: Runtime,
  model: string,
  extra: Record<string, string> = {},
): Promise<RunningServer> {
  const port = await freePort();
  const env = {
    SRPOSE_MODEL: model,
    SRPOSE_API_KEY: API_KEY,
    SRPOSE_MAX_BODY_BYTES: String(LIMITS.maxBodyBytes),
    HOST: '127.0.0.1',
    PORT: String(port),
    XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp',
    ...extra,
  };
  const [cmd, args] = runtime === 'node'
    ? [process.execPath.includes('deno') ? 'node' : process.execPath, [BUNDLES.node]]
    : [DENO, ['serve', '--allow-all', '--host', '127.0.0.1', '--port', String(port), BUNDLES.deno]];
  return await startServer({
    cmd,
    args: args as string[],
    env,
    port,
    ready: (b) => b.model === 'ready',
  });
}

/** A copy of the tiny model as a directory (load tests: fast inference, same code path). */
async function tinyDir(): Promise<string> {
  const dir = await tempDir('srpose-tiny-dir-');
  writeFileSync(join(dir, 'model.onnx'), await tinyOnnx(0));
  writeFileSync(join(dir, 'srpose.json'), JSON.stringify(tinyConfig()));
  return dir;
}

const skip = requirement([
  hasShared && hasModel('res50'),
  'HTTP tests need ../shared/data/coco and the res50 test model (npm run models)',
], [
  existsSync(BUNDLES.node) && existsSync(BUNDLES.deno),
  'HTTP tests need the bundles: npm run build',
]);
const skipped = suiteSkipped(skip);

let reference: EstimateResult;
test.before(async () => {
  if (skipped) return;
  const est = await createEstimator({ model: modelDir('res50'), backend: 'wasm' });
  reference = await est.estimate(new Uint8Array(readFileSync(PHOTO)), {
    boxes: [PHOTO_BOX as [number, number, number, number]],
  });
  await est.dispose();
});

for (const runtime of ['node', 'deno'] as Runtime[]) {
  if (skipped) break;
  test(
    `${runtime}: same keypoints as in-process, ` +
      `the bad-input suite over HTTP, still answering after`,
    async () => {
      const server = await start(runtime, modelDir('res50'));
      try {
        const res = await fetch(goodRequest(server.url));
        assert.is(res.status, 200, await res.clone().text());
        const got: EstimateResult = await res.json();
        assert.is(got.people.length, 1);
        const worst = Math.max(
          ...got.people[0].keypoints.map((k, i) =>
            Math.hypot(
              k.x - reference.people[0].keypoints[i].x,
              k.y - reference.people[0].keypoints[i].y,
            )
          ),
        );
        assert.ok(worst <= 1e-3, `keypoints differ from in-process by ${worst} px`);

        const wrong: string[] = [];
        for (const c of badInputCases()) {
          const r = await fetch(caseRequest(c, server.url));
          const body = await r.json().catch(() => null);
          if (r.status !== c.status || body?.error?.code !== c.code) {
            wrong.push(`${c.name}: ${r.status} ${JSON.stringify(body)?.slice(0, 200)}`);
          }
        }
        assert.equal(wrong, []);
        const after = await fetch(goodRequest(server.url));
        assert.is(after.status, 200);
        assert.equal((await after.json()).people[0].keypoints, got.people[0].keypoints);
        assert.not.match(server.output(), /\n\s+at /); // no stack traces in the log
      } finally {
        await server.stop();
      }
    },
  );

  test(
    `${runtime}: 200 requests at concurrency 8: ` +
      `all 200 or 503, none lost or malformed, memory flat`,
    async () => {
      const server = await start(runtime, await tinyDir(), { SRPOSE_MAX_QUEUE: '4' });
      try {
        // Warm-up: every code path (decode, crop, both flip branches), alone and at the server's
        // concurrency (native runs overlap, each with its own working memory), then the baseline.
        for (let i = 0; i < 4; i++) {
          assert.is((await fetch(goodRequest(server.url, { flip: i % 2 === 0 }))).status, 200);
        }
        // (48: RSS levels off after a few dozen concurrent requests; 16 left Deno at 1.44-1.52x)
        await pool(
          48,
          8,
          (i) =>
            fetch(goodRequest(server.url, { flip: i % 2 === 0 }), {
              signal: AbortSignal.timeout(60_000),
            }).then((r) => r.body?.cancel()),
        );
        const warm = server.rss();
        const t0 = Date.now();
        const answers = await pool(200, 8, async (i) => {
          const r = await fetch(goodRequest(server.url, { flip: i % 2 === 0 }), {
            signal: AbortSignal.timeout(60_000),
          });
          const body = await r.json().catch(() => undefined);
          return {
            status: r.status,
            ok: r.status === 200
              ? body?.people?.[0]?.keypoints?.length === 17
              : body?.error?.code === 'BUSY' && r.headers.get('retry-after') === '1',
          };
        });
        const statuses = answers.map((a) => a.status);
        assert.is(answers.length, 200);
        assert.equal(statuses.filter((s) => s !== 200 && s !== 503), [], 'only 200 or 503');
        assert.ok(answers.every((a) => a.ok), 'every answer well-formed');
        assert.ok(
          statuses.filter((s) => s === 200).length >= 100,
          `${statuses.filter((s) => s === 200).length} of 200 served`,
        );
        const after = server.rss();
        if (Number.isFinite(warm)) {
          assert.ok(
            after <= 1.5 * warm,
            `RSS ${after / 2 ** 20} MiB after the run vs ${warm / 2 ** 20} MiB after warm-up`,
          );
        }
        const health = await (await fetch(`${server.url}/healthz`)).json();
        assert.equal([health.running, health.queued], [0, 0]);
        console.log(
          `    ${runtime}: 200 requests in ${Date.now() - t0} ms, ${
            statuses.filter((s) => s === 503).length
          } x 503, RSS ${(warm / 2 ** 20).toFixed(0)} -> ${(after / 2 ** 20).toFixed(0)} MiB`,
        );
      } finally {
        await server.stop();
      }
    },
  );
}

test.run();
