// The deployable bundles over real HTTP on 127.0.0.1: dist/node (Node + @hono/node-server) and
// dist/deno (`deno serve`). Each gives the keypoints the library gives in-process, answers the
// bad-input suite, and stays responsive and bounded under a mixed load (LOAD below).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import process from 'node:process';
import { hasModel, hasShared, modelDir, requirement, ROOT, suiteSkipped } from '../helpers/env.ts';
import { freePort, type RunningServer, serveCommand, startServer } from '../helpers/servers.ts';
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
  const [cmd, args] = serveCommand(runtime, BUNDLES[runtime], port);
  return await startServer({
    cmd,
    args,
    env,
    port,
    ready: (b) => b.model === 'ready',
  });
}

/**
 * The load test: clients in a loop for `seconds`, each request the next of `mix` (boxes, flip;
 * an upload its client aborts; a body that drips in past the deadline). The deadline is short
 * so that 64 boxes with flip outlast it on 2 cores.
 */
const LOAD = {
  timeoutMs: 4000,
  seconds: 10,
  clients: 8,
  /** Peak RSS over the warm server's: two pool threads' working memory, chunked batches. */
  rssGrowth: 1024 * 2 ** 20,
  mix: [
    { boxes: 1, flip: false },
    { boxes: 16, flip: true },
    'abort',
    { boxes: 64, flip: true },
    { boxes: 1, flip: true },
    'slow',
    { boxes: 16, flip: false },
    { boxes: 64, flip: false },
  ] as const,
};

/** Starts an upload and aborts it mid-body; the server must shrug it off. */
async function abortedUpload(base: string): Promise<string> {
  const ctl = new AbortController();
  const body = new ReadableStream({
    start(c) {
      c.enqueue(new Uint8Array(50_000));
    },
  });
  const t = setTimeout(() => ctl.abort(), 200);
  try {
    const r = await fetch(`${base}/v1/estimate`, {
      method: 'POST',
      headers: { 'content-type': 'image/jpeg', authorization: `Bearer ${API_KEY}` },
      body,
      signal: ctl.signal,
      duplex: 'half',
    } as RequestInit);
    return `abort answered ${r.status}`; // possible: a 503 before the body is read
  } catch {
    return 'abort';
  } finally {
    clearTimeout(t);
  }
}

/** A body that arrives a byte at a time: status, code, when, and whether the server closed. */
function slowBody(
  base: string,
  giveUpMs: number,
): Promise<{ status: number; code?: string; ms: number; closed: boolean }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve) => {
    const t0 = performance.now();
    const s = connect(Number(port), hostname);
    let got = '';
    let answered = 0;
    const drip = setInterval(() => s.writable && s.write('x'), 100);
    const done = (closed: boolean) => {
      clearInterval(drip);
      clearTimeout(giveUp);
      s.destroy();
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(got)?.[1] ?? 0);
      const code = /"code":"(\w+)"/.exec(got)?.[1];
      resolve({ status, code, ms: (answered || performance.now()) - t0, closed });
    };
    const giveUp = setTimeout(() => done(false), giveUpMs);
    s.on('data', (d) => {
      if (!answered) answered = performance.now();
      got += d;
    });
    s.on('close', () => done(true));
    s.on('error', () => undefined);
    s.write(
      `POST /v1/estimate HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${API_KEY}\r\n` +
        `Content-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\n`,
    );
  });
}

/**
 * Sends a body 3x over the limit in 64 KB pieces, a little at a time, as a client on a slow link
 * would: the server refuses it early (Content-Length), and still lets the client finish sending
 * and read the 413 (a lingering close) instead of resetting the connection mid-upload.
 */
function oversizedUpload(url: string): Promise<{ status: number; writeError?: string }> {
  const { hostname, port } = new URL(url);
  const total = 3 * LIMITS.maxBodyBytes;
  return new Promise((resolve) => {
    const s = connect(Number(port), hostname);
    let got = '';
    let writeError: string | undefined;
    s.on('data', (d) => (got += d));
    s.on('error', (e) => (writeError ??= (e as Error).message));
    s.on(
      'close',
      () => resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(got)?.[1] ?? 0), writeError }),
    );
    s.write(
      `POST /v1/estimate HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${API_KEY}\r\n` +
        `Content-Type: image/jpeg\r\nContent-Length: ${total}\r\nConnection: close\r\n\r\n`,
    );
    let sent = 0;
    const piece = new Uint8Array(64 * 1024);
    const next = () => {
      if (s.destroyed) return;
      if (sent >= total) return void s.end();
      const n = Math.min(piece.length, total - sent);
      s.write(piece.subarray(0, n));
      sent += n;
      setTimeout(next, 2);
    };
    next();
    setTimeout(() => s.destroy(), 20_000);
  });
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
        const upload = await oversizedUpload(server.url);
        assert.equal(upload, { status: 413, writeError: undefined }, 'lingering close');
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
    `${runtime} under load: 1-, 16- and 64-box requests with and without flip, aborted ` +
      `uploads and slow bodies; every answer 200 or typed, deadlines hold, ` +
      `/healthz under 1 s throughout, memory bounded`,
    async () => {
      const server = await start(runtime, modelDir('res50'), {
        SRPOSE_TIMEOUT_MS: String(LOAD.timeoutMs),
        SRPOSE_MAX_QUEUE: '4',
      });
      try {
        assert.is((await fetch(goodRequest(server.url))).status, 200);
        const warm = server.rss();
        let peak = warm;
        let stop = false;
        // The prober: /healthz every 100 ms, each with a 1 s budget, and the server's RSS.
        const health: number[] = [];
        const healthFailures: string[] = [];
        const probing = (async () => {
          while (!stop) {
            const t = performance.now();
            try {
              const r = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(1000) });
              await r.json();
              health.push(performance.now() - t);
            } catch (e) {
              healthFailures.push(`${(e as Error).name} after ${performance.now() - t} ms`);
            }
            peak = Math.max(peak, server.rss());
            await new Promise((r) => setTimeout(r, 100));
          }
        })();
        const wrong: string[] = [];
        const seen: Record<string, number> = {};
        const count = (k: string) => (seen[k] = (seen[k] ?? 0) + 1);
        const until = Date.now() + LOAD.seconds * 1000;
        await Promise.all(Array.from({ length: LOAD.clients }, async (_, client) => {
          for (let i = client; Date.now() < until; i += LOAD.clients) {
            const kind = LOAD.mix[i % LOAD.mix.length];
            const t = performance.now();
            if (kind === 'abort') {
              count(await abortedUpload(server.url));
              continue;
            }
            if (kind === 'slow') {
              const got = await slowBody(server.url, LOAD.timeoutMs + 5000);
              count(`slow ${got.status} ${got.code}`);
              const late = got.ms - LOAD.timeoutMs;
              // Deno.serve keeps the connection until the body ends, whatever the handler does
              // (the stream is cancelled, Connection: close is sent); Node closes it.
              const closed = got.closed || runtime === 'deno';
              if (!(got.status === 503 || (got.status === 408 && late <= 1000 && closed))) {
                wrong.push(`slow body: ${JSON.stringify(got)}`);
              }
              continue;
            }
            const n = kind.boxes;
            const r = await fetch(
              `${server.url}/v1/estimate?flip=${kind.flip}&boxes=${
                encodeURIComponent(JSON.stringify(Array.from({ length: n }, () => PHOTO_BOX)))
              }`,
              {
                method: 'POST',
                headers: { 'content-type': 'image/jpeg', authorization: `Bearer ${API_KEY}` },
                body: readFileSync(PHOTO),
                signal: AbortSignal.timeout(LOAD.timeoutMs + 10_000),
              },
            );
            const ms = performance.now() - t;
            const body = await r.json().catch(() => undefined);
            const code = body?.error?.code;
            count(`${n}${kind.flip ? 'f' : ''} ${r.status}`);
            if (r.status === 503) await new Promise((w) => setTimeout(w, 150)); // back off a little
            const ok = r.status === 200
              ? body?.people?.length === n
              : (r.status === 503 && code === 'BUSY') || (r.status === 504 && code === 'TIMEOUT');
            if (!ok) wrong.push(`${n} boxes flip=${kind.flip}: ${r.status} ${code}`);
            if (ms > LOAD.timeoutMs + 1000) {
              wrong.push(`${n} boxes flip=${kind.flip}: ${r.status} after ${Math.round(ms)} ms`);
            }
          }
        }));
        // Then everything drains: nothing running, waiting or half-received.
        const drained = Date.now() + 20_000;
        let last: any;
        while (Date.now() < drained) {
          last = await (await fetch(`${server.url}/healthz`)).json();
          if (last.running + last.queued + last.receiving === 0) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        stop = true;
        await probing;
        assert.equal(wrong, []);
        assert.equal([last.running, last.queued, last.receiving], [0, 0, 0], 'drained');
        assert.equal(healthFailures, [], '/healthz answered every probe within 1 s');
        const worst = Math.max(...health);
        assert.ok(seen['64f 504'] ?? seen['64f 200'], `a 64-box flip request ran: ${seen}`);
        assert.is((await fetch(goodRequest(server.url))).status, 200, 'still serving');
        if (Number.isFinite(warm)) {
          assert.ok(
            peak <= warm + LOAD.rssGrowth,
            `RSS peaked at ${peak / 2 ** 20} MiB, ${warm / 2 ** 20} MiB when warm`,
          );
        }
        console.log(
          `    ${runtime}: ${JSON.stringify(seen)}; /healthz max ${
            Math.round(worst)
          } ms of ${health.length}; RSS ${(warm / 2 ** 20).toFixed(0)} -> peak ${
            (peak / 2 ** 20).toFixed(0)
          } MiB`,
        );
      } finally {
        await server.stop();
      }
    },
  );
}

test.run();
