/**
 * http: requests/s and p50/p95 latency of POST /v1/estimate at concurrency 1, 2 and 8 against
 * the Node bundle (dist/node) and the Deno bundle (dist/deno under `deno serve`), next to
 * in-process `estimate()` on the same model, image and box at the same concurrency, all in one
 * run on this machine. One server runs at a time, so they do not share the cores.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import process from 'node:process';
import { createEstimator } from '../src/estimator/estimator.ts';
import { freePort, pool, serveCommand, startServer } from '../tests/helpers/servers.ts';
import { percentile } from './stats.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BOX = [280.79, 44.73, 218.7, 346.68] as const;

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

interface Level {
  concurrency: number;
  requests: number;
  rps: number;
  p50Ms: number;
  p95Ms: number;
  non200: number;
}

async function measure(
  concurrency: number,
  requests: number,
  call: () => Promise<boolean>,
): Promise<Level> {
  const lat: number[] = [];
  let non200 = 0;
  const t0 = performance.now();
  await pool(requests, concurrency, async () => {
    const t = performance.now();
    if (!await call()) non200++;
    lat.push(performance.now() - t);
  });
  const wall = performance.now() - t0;
  return {
    concurrency,
    requests,
    rps: round((requests / wall) * 1000, 2),
    p50Ms: round(percentile(lat, 50)),
    p95Ms: round(percentile(lat, 95)),
    non200,
  };
}

export async function httpBench(arch: string, requestsPerLevel: number): Promise<unknown> {
  const dir = join(ROOT, '.cache', 'models', arch);
  const photo = join(ROOT, '..', 'shared', 'data', 'coco', '000000000785.jpg');
  if (!existsSync(join(dir, 'srpose.json')) || !existsSync(photo)) {
    throw new Error('needs npm run models and ../shared/data');
  }
  const bundles = {
    node: join(ROOT, 'dist', 'node', 'index.mjs'),
    deno: join(ROOT, 'dist', 'deno', 'index.mjs'),
  };
  if (!existsSync(bundles.node) || !existsSync(bundles.deno)) {
    throw new Error('needs the bundles: npm run build');
  }
  const jpeg = new Uint8Array(await readFile(photo));
  const levels = [1, 2, 8];
  const warm = 3;

  const out: Record<string, Level[]> = {};
  // the servers' own choice (auto: native where onnxruntime-node loads), so both run alike
  const est = await createEstimator({ model: dir });
  for (let i = 0; i < warm; i++) await est.estimate(jpeg, { boxes: [BOX] });
  out.inProcess = [];
  for (const c of levels) {
    out.inProcess.push(
      await measure(
        c,
        requestsPerLevel,
        async () => (await est.estimate(jpeg, { boxes: [BOX] })).people.length === 1,
      ),
    );
  }
  const threads = est.info.threads;
  const backends: Record<string, string> = { inProcess: est.info.backend };
  await est.dispose();

  const url = `/v1/estimate?boxes=${encodeURIComponent(JSON.stringify([BOX]))}`;
  for (const runtime of ['node', 'deno'] as const) {
    const port = await freePort();
    const env = {
      SRPOSE_MODEL: dir,
      SRPOSE_MAX_QUEUE: '64',
      HOST: '127.0.0.1',
      PORT: String(port),
      XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp',
    };
    const [cmd, args] = serveCommand(runtime, bundles[runtime], port);
    const server = await startServer({ cmd, args, env, port, ready: (b) => b.model === 'ready' });
    try {
      const post = async () => {
        const r = await fetch(server.url + url, {
          method: 'POST',
          headers: { 'content-type': 'image/jpeg' },
          body: jpeg,
        });
        await r.arrayBuffer();
        return r.status === 200;
      };
      for (let i = 0; i < warm; i++) await post();
      backends[runtime] = (await (await fetch(server.url + '/v1/models')).json()).models[0].backend;
      out[runtime] = [];
      for (const c of levels) out[runtime].push(await measure(c, requestsPerLevel, post));
    } finally {
      await server.stop();
    }
  }
  const ratios = Object.fromEntries(['node', 'deno'].map((rt) => [
    rt,
    Object.fromEntries(
      out[rt].map((
        l,
        i,
      ) => [`c${l.concurrency}`, {
        rpsVsInProcess: round(l.rps / out.inProcess[i].rps, 3),
        p50VsInProcess: round(l.p50Ms / out.inProcess[i].p50Ms, 3),
      }]),
    ),
  ]));
  return {
    suite: 'http',
    model: arch,
    threads,
    backends,
    image: '000000000785.jpg (640x425 JPEG), 1 box, flip test on',
    requestsPerLevel,
    results: out,
    ratios,
  };
}
