/**
 * cold-start: how long a fresh runtime takes from its start to its first result, and where the
 * time goes; then the steady time of a request. Every start loads the model by Hub id from the
 * local Hub-compatible server (tests/helpers/hub-server.ts), with a cold cache (download) and a
 * warm one (the same cache again), `--starts=` times each (medians). One box, no flip test.
 *
 * Targets (`--target=node,deno,workerd,browser`, default node):
 * - node / deno: a fresh process runs the built library (lib/, `npm run build`) through
 *   bench/cold-start-child.mjs. Stages from the child's own clock (from process start):
 *   `runtimeAndImport` (runtime start + importing the library), `fetch` (Hub requests + download
 *   or cache read), `hash`, `session`, `firstRun`.
 * - workerd and browser: see bench/cold-start-edge.ts.
 *
 * `--arch=` the exported test model (default res50; hrformer_s is the edge default),
 * `--weights=fp32|fp16|int8` (default the contract's recommended), `--backend=` for node/deno
 * (default native), `--threads=` for the browser page (default its cores), `--from-hub` (browser:
 * the model by Hub id), `--detector=` (workerd: a person detector beside, e.g. yolox_nano).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './stats.ts';
import { type ColdStartOptions, PHOTO, serveModel } from './cold-start-model.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DENO = join(ROOT, 'node_modules', '.bin', 'deno');
const round = (x: number) => Math.round(x * 10) / 10;

/** One fresh node or deno process: its JSON line and the parent's spawn-to-exit view. */
function startOnce(
  runtime: 'node' | 'deno',
  repo: string,
  hubUrl: string,
  cache: string,
  o: ColdStartOptions,
): Promise<any> {
  const child = join(ROOT, 'bench', 'cold-start-child.mjs');
  const args = [repo, PHOTO, o.backend ?? 'native', o.weights ?? 'auto', String(o.steady)];
  const [cmd, argv] = runtime === 'node'
    ? ['node', [child, ...args]]
    : [DENO, ['run', '--allow-all', child, ...args]];
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, argv, {
      cwd: ROOT,
      env: { ...process.env, HF_ENDPOINT: hubUrl, HF_HUB_CACHE: cache, HF_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.on('data', (d: Uint8Array) => (out += d));
    p.on(
      'close',
      (code) =>
        code === 0
          ? resolve(JSON.parse(out.trim().split('\n').pop()!))
          : reject(new Error(`${runtime} cold-start child exited ${code}`)),
    );
  });
}

/** Medians of the runs: time to first result and its stages, then the steady request. */
function summary(rs: any[]) {
  const m = (f: (r: any) => number) => round(median(rs.map(f)));
  return {
    startToFirstResultMs: m((r) => r.firstResult),
    stagesMs: {
      runtimeAndImport: m((r) => r.imported),
      fetch: m((r) => r.load.fetch),
      hash: m((r) => r.load.hash),
      session: m((r) => r.load.session),
      other: m((r) => r.loaded - r.imported - r.load.fetch - r.load.hash - r.load.session),
      firstRun: m((r) => r.firstRun),
    },
    steadyMs: m((r) => median(r.steadyMs)),
    backend: rs[0].backend,
    weights: rs[0].weights,
  };
}

async function processTarget(runtime: 'node' | 'deno', o: ColdStartOptions) {
  if (!existsSync(join(ROOT, 'lib', 'srpose.mjs'))) throw new Error('run npm run build first');
  const { hub, repo } = await serveModel(o.arch);
  const cache = await mkdtemp(join(tmpdir(), 'srpose-coldstart-'));
  const runs: Record<'cold' | 'warm', any[]> = { cold: [], warm: [] };
  try {
    for (let i = 0; i < o.starts; i++) {
      await rm(cache, { recursive: true, force: true });
      runs.cold.push(await startOnce(runtime, repo, hub.url, cache, o));
      runs.warm.push(await startOnce(runtime, repo, hub.url, cache, o));
    }
  } finally {
    await hub.stop();
    await rm(cache, { recursive: true, force: true });
  }
  return { coldCache: summary(runs.cold), warmCache: summary(runs.warm) };
}

export async function coldStartBench(o: ColdStartOptions): Promise<unknown> {
  const out: Record<string, unknown> = {};
  for (const target of o.targets) {
    if (target === 'node' || target === 'deno') out[target] = await processTarget(target, o);
    else if (target === 'workerd' || target === 'browser') {
      const edge = await import('./cold-start-edge.ts');
      out[target] = await edge.edgeTarget(target, o);
    } else throw new Error(`unknown target ${target}: node, deno, workerd, browser`);
  }
  return {
    suite: 'cold-start',
    model: o.arch,
    weights: o.weights ?? 'recommended',
    hub: 'local Hub-compatible server on 127.0.0.1 (tests/helpers/hub-server.ts)',
    starts: o.starts,
    goals: { workerdFirstMs: 1500, workerdSteadyMs: 400, serverWarmFirstMs: 1500 },
    ...out,
  };
}
