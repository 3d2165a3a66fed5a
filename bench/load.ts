/**
 * load: the HTTP server with inference on its pool of worker threads (`workers`, the default:
 * SRPOSE_WORKERS = SRPOSE_CONCURRENCY = 2) next to inference on the thread serving HTTP
 * (`in-thread`, SRPOSE_WORKERS=0, how the server worked before the pool), on the Node bundle
 * (dist/node) and, with --runtime=deno, the Deno one (`deno serve` dist/deno). One server runs
 * at a time, so none shares the cores with another.
 *
 * - throughput: requests/s and p50/p95 latency of the one-box photo request (flip test on, the
 *   model's default) at client concurrency 1, 2, 4 and 8; target: workers/in-thread >= 0.9.
 * - saturation: 12 clients send a mix of 1-, 16- and 64-box requests, with and without flip,
 *   for 15 s to a server admitting 6 (SRPOSE_MAX_QUEUE=4: BUSY answers are part of the load),
 *   while a prober GETs /healthz every 50 ms; target: healthz p99 <= 50 ms with workers.
 *   A bare node:http server in a process of its own, probed alongside, shows what the loaded
 *   machine adds to any answer.
 * - memory (VmRSS and VmHWM of the server process, all its threads): idle 8 s after the
 *   warm-up (the lowest reading of the fresh servers); the peak of one 1-box and one 64-box
 *   request (flip on), each on a fresh server with the high-water mark reset after its
 *   warm-up; 5 s after the saturation burst; idle with SRPOSE_WORKERS=0, 1 and 2, whose
 *   differences are the cost of a worker.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import process from 'node:process';
import { Worker } from 'node:worker_threads';
import {
  freePort,
  pool,
  type RunningServer,
  serveCommand,
  startServer,
} from '../tests/helpers/servers.ts';
import { percentile, procMemory, resetPeak } from './stats.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PHOTO = join(ROOT, '..', 'shared', 'data', 'coco', '000000000785.jpg');
const BOX = [280.79, 44.73, 218.7, 346.68] as const;
const MODES = ['in-thread', 'workers'] as const;
type Mode = typeof MODES[number];
export type Runtime = 'node' | 'deno';

const LEVELS = [1, 2, 4, 8];
/** Throughput rounds per mode, each on a fresh server, the modes in turn. */
const ROUNDS = 2;
const CLIENTS = 12;
const SATURATION_QUEUE = 4;
const PROBE_EVERY_MS = 50;
const PROBE_TIMEOUT_MS = 10_000;
/** A client answered 503 (or cut off) waits this long before its next request. */
const BUSY_PAUSE_MS = 100;
const AFTER_BURST_MS = 5000;
/**
 * Quiet time after the warm-up before a memory reading: V8 frees the model's bytes (about
 * 100 MB per isolate holding a model) in an idle-time GC, mostly 6 to 7 s after the warm-up
 * but at a time of its choosing, so the idle memory of a setting is its lowest reading.
 */
const SETTLE_MS = 8000;
/** Servers started with SRPOSE_WORKERS=1 only for their idle memory. */
const ONE_WORKER_READINGS = 2;
/** Quiet time after the warm-up before a throughput run. */
const QUIET_MS = 1500;
const MIX = [1, 16, 64].flatMap((boxes) => [false, true].map((flip) => ({ boxes, flip })));

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (line: string) => process.stderr.write(`[load] ${line}\n`);

/** `n` boxes around the person, shifted a little each so the crops differ. */
const boxesOf = (n: number) =>
  Array.from({ length: n }, (_, i) => [
    BOX[0] - (i % 8) * 8,
    BOX[1] + ((i >> 3) % 8) * 2,
    BOX[2],
    BOX[3],
  ]);
const estimatePath = (boxes: number, flip?: boolean) =>
  `/v1/estimate?boxes=${encodeURIComponent(JSON.stringify(boxesOf(boxes)))}` +
  (flip === undefined ? '' : `&flip=${flip}`);

/** Settings of the runner's environment that would change the servers are blanked (= unset). */
const BASE_ENV = Object.fromEntries(
  [
    'SRPOSE_WORKERS',
    'SRPOSE_CONCURRENCY',
    'SRPOSE_MAX_QUEUE',
    'SRPOSE_TIMEOUT_MS',
    'SRPOSE_THREADS',
    'SRPOSE_BACKEND',
    'SRPOSE_FLIP_TEST',
    'SRPOSE_WEIGHTS',
    'SRPOSE_API_KEY',
    'SRPOSE_DEMO',
  ].map((k) => [k, '']),
);
const MODE_ENV: Record<Mode, Record<string, string>> = {
  'in-thread': { SRPOSE_WORKERS: '0' },
  workers: {},
};

interface Probed {
  ms: number[];
  unanswered: number;
  maxRunning: number;
  maxQueued: number;
}

/**
 * GETs each of `urls` every PROBE_EVERY_MS for `ms`, from a thread of its own so the load
 * clients' work in this process does not delay it, on a schedule that does not wait for slow
 * answers. A probe unanswered after PROBE_TIMEOUT_MS counts as that long.
 */
function probe(urls: string[], ms: number): Promise<Probed[]> {
  const code = `
    const { parentPort, workerData: { urls, ms, every, timeout } } = require('node:worker_threads');
    const sleep = (t) => new Promise((r) => setTimeout(r, t));
    (async () => {
      const out = urls.map(() => ({ ms: [], unanswered: 0, maxRunning: 0, maxQueued: 0 }));
      const probes = [];
      const t0 = performance.now();
      for (let k = 0; k * every < ms; k++) {
        probes.push(...urls.map(async (url, i) => {
          const t = performance.now();
          try {
            const r = await fetch(url, { signal: AbortSignal.timeout(timeout) });
            const body = await r.json();
            out[i].ms.push(performance.now() - t);
            out[i].maxRunning = Math.max(out[i].maxRunning, body.running ?? 0);
            out[i].maxQueued = Math.max(out[i].maxQueued, body.queued ?? 0);
          } catch {
            out[i].ms.push(timeout);
            out[i].unanswered++;
          }
        }));
        await sleep(Math.max(0, t0 + (k + 1) * every - performance.now()));
      }
      await Promise.all(probes);
      parentPort.postMessage(out);
    })();
  `;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, {
      eval: true,
      workerData: { urls, ms, every: PROBE_EVERY_MS, timeout: PROBE_TIMEOUT_MS },
    });
    w.once('message', (m) => (resolve(m), void w.terminate()));
    w.once('error', reject);
  });
}

/** Latency statistics of one probed URL. */
const latency = (p: Probed) => ({
  probes: p.ms.length,
  unanswered: p.unanswered,
  p50Ms: round(percentile(p.ms, 50)),
  p99Ms: round(percentile(p.ms, 99)),
  maxMs: round(Math.max(...p.ms)),
});

/**
 * The control: a bare node:http server in a process of its own, answering `{}` at once. Probed
 * next to /healthz, its latency is what the loaded machine (its cores, the scheduler) adds to
 * any answer, whatever the server does.
 */
async function startControl(): Promise<RunningServer> {
  const port = await freePort();
  const code = `require('node:http').createServer((q, r) => {
    r.setHeader('content-type', 'application/json');
    r.end('{}');
  }).listen(${port}, '127.0.0.1');`;
  return await startServer({ cmd: process.execPath, args: ['-e', code], port, readyPath: '/' });
}

interface Server extends RunningServer {
  backend: string;
  threads: number;
  workers: number;
  idleMiB: number;
}

interface Level {
  concurrency: number;
  requests: number;
  rps: number;
  /** requests/s of each round, to show the machine's drift. */
  rpsRounds: number[];
  p50Ms: number;
  p95Ms: number;
  non200: number;
}

/** One round of one level. */
interface Sample {
  lat: number[];
  wallMs: number;
  non200: number;
}

export async function loadBench(
  arch: string,
  runtimes: Runtime[],
  requestsPerLevel: number,
  saturationS = 15,
): Promise<unknown> {
  const dir = join(ROOT, '.cache', 'models', arch);
  if (!existsSync(join(dir, 'srpose.json')) || !existsSync(PHOTO)) {
    throw new Error('needs npm run models and ../shared/data');
  }
  const bundles: Record<Runtime, string> = {
    node: join(ROOT, 'dist', 'node', 'index.mjs'),
    deno: join(ROOT, 'dist', 'deno', 'index.mjs'),
  };
  for (const rt of runtimes) {
    if (!(rt in bundles)) throw new Error(`--runtime: node, deno or node,deno, got ${rt}`);
    if (!existsSync(bundles[rt])) throw new Error(`needs ${bundles[rt]}: npm run build`);
  }
  const jpeg = new Uint8Array(await readFile(PHOTO));
  const loadAtStart = loadavg()[0];

  /** A fresh server, warmed up (one estimate per worker) and left idle for `quietMs`. */
  async function launch(
    runtime: Runtime,
    env: Record<string, string>,
    quietMs = SETTLE_MS,
  ): Promise<Server> {
    const port = await freePort();
    const [cmd, args] = serveCommand(runtime, bundles[runtime], port);
    const server = await startServer({
      cmd,
      args,
      port,
      env: {
        ...BASE_ENV,
        SRPOSE_MODEL: dir,
        HOST: '127.0.0.1',
        PORT: String(port),
        XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp',
        ...env,
      },
      ready: (b) => b.model === 'ready',
      timeoutMs: 120_000,
    });
    try {
      const deadline = Date.now() + 120_000;
      while (!/warmed up|warm-up failed/.test(server.output())) {
        if (Date.now() > deadline) throw new Error('no warm-up in 120 s');
        await sleep(50);
      }
      if (server.output().includes('warm-up failed')) {
        throw new Error(`warm-up failed:\n${server.output().slice(-2000)}`);
      }
      const model = (await (await fetch(server.url + '/v1/models')).json()).models[0];
      const health = await (await fetch(server.url + '/healthz')).json();
      await sleep(quietMs);
      return {
        ...server,
        backend: model.backend,
        threads: model.threads,
        workers: health.workers,
        idleMiB: procMemory(server.pid).rssMiB,
      };
    } catch (e) {
      await server.stop();
      throw e;
    }
  }

  /** One estimate request: '200', or its status and X-Error-Code ('503 BUSY'). */
  async function post(
    server: Server,
    boxes: number,
    flip?: boolean,
    signal?: AbortSignal,
  ): Promise<string> {
    const r = await fetch(server.url + estimatePath(boxes, flip), {
      method: 'POST',
      headers: { 'content-type': 'image/jpeg' },
      body: jpeg,
      signal,
    });
    await r.arrayBuffer();
    return r.status === 200 ? '200' : `${r.status} ${r.headers.get('x-error-code') ?? ''}`.trim();
  }

  /** One round: `requests` one-box requests at each level. */
  async function throughput(server: Server, requests: number): Promise<Sample[]> {
    await pool(4, 2, () => post(server, 1));
    const samples: Sample[] = [];
    for (const concurrency of LEVELS) {
      const sample: Sample = { lat: [], wallMs: 0, non200: 0 };
      const t0 = performance.now();
      await pool(requests, concurrency, async () => {
        const t = performance.now();
        if (await post(server, 1) !== '200') sample.non200++;
        sample.lat.push(performance.now() - t);
      });
      sample.wallMs = performance.now() - t0;
      samples.push(sample);
    }
    return samples;
  }

  /** The rounds of each level pooled. */
  const levels = (rounds: Sample[][]): Level[] =>
    LEVELS.map((concurrency, i) => {
      const ss = rounds.map((r) => r[i]);
      const lat = ss.flatMap((s) => s.lat);
      const wallMs = ss.reduce((a, s) => a + s.wallMs, 0);
      return {
        concurrency,
        requests: lat.length,
        rps: round((lat.length / wallMs) * 1000, 2),
        rpsRounds: ss.map((s) => round((s.lat.length / s.wallMs) * 1000, 2)),
        p50Ms: round(percentile(lat, 50)),
        p95Ms: round(percentile(lat, 95)),
        non200: ss.reduce((a, s) => a + s.non200, 0),
      };
    });

  async function saturation(server: Server) {
    const peakReset = resetPeak(server.pid);
    const stop = new AbortController();
    const end = performance.now() + saturationS * 1000;
    const timer = setTimeout(() => stop.abort(), saturationS * 1000);
    const statuses: Record<string, number> = {};
    const count = (k: string) => (statuses[k] = (statuses[k] ?? 0) + 1);
    const clients = Array.from({ length: CLIENTS }, async (_, i) => {
      for (let k = 0; performance.now() < end; k++) {
        const { boxes, flip } = MIX[(i + k) % MIX.length];
        let status: string;
        try {
          status = await post(server, boxes, flip, stop.signal);
        } catch {
          status = stop.signal.aborted ? 'cut off at the end' : 'network error';
        }
        count(status);
        if (status !== '200' && !stop.signal.aborted) await sleep(BUSY_PAUSE_MS);
      }
    });
    const prober = probe([server.url + '/healthz', control.url + '/'], saturationS * 1000);
    const [[health, bare]] = await Promise.all([prober, ...clients]);
    clearTimeout(timer);
    const during = procMemory(server.pid);
    await sleep(AFTER_BURST_MS);
    const after = procMemory(server.pid);
    return {
      healthz: latency(health),
      control: latency(bare),
      statuses: Object.fromEntries(Object.entries(statuses).sort()),
      maxRunning: health.maxRunning,
      maxQueued: health.maxQueued,
      memoryMiB: {
        idleBefore: round(server.idleMiB),
        [peakReset ? 'peakDuring' : 'peakSinceStart']: round(during.peakMiB),
        atEnd: round(during.rssMiB),
        after5s: round(after.rssMiB),
      },
    };
  }

  /** The memory one request takes, on a fresh server. */
  async function peakOf(runtime: Runtime, mode: Mode, boxes: number, flip: boolean) {
    const server = await launch(runtime, MODE_ENV[mode]);
    try {
      const reset = resetPeak(server.pid);
      const t = performance.now();
      const status = await post(server, boxes, flip);
      const ms = performance.now() - t;
      const m = procMemory(server.pid);
      return {
        server,
        status,
        ms: round(ms),
        idle: round(server.idleMiB),
        [reset ? 'peak' : 'peakSinceStart']: round(m.peakMiB),
        rssAfter: round(m.rssMiB),
      };
    } finally {
      await server.stop();
    }
  }

  const out: Record<string, unknown> = {};
  const control = await startControl();
  try {
    for (const runtime of runtimes) {
      const idle: Record<string, number[]> = { 0: [], 1: [], 2: [] };
      const setup: Record<string, unknown> = {};
      const tp = {} as Record<Mode, Level[]>;
      const sat = {} as Record<Mode, Awaited<ReturnType<typeof saturation>>>;
      const peaks = {} as Record<Mode, Record<string, unknown>>;
      /** The server's setup and, where it was left to settle, its idle memory. */
      const note = (mode: Mode, s: Server, settled = true) => {
        if (settled) idle[String(s.workers)]?.push(s.idleMiB);
        setup[mode] = { backend: s.backend, threadsPerSession: s.threads, workers: s.workers };
      };
      // Rounds alternate the modes, so a drift of the machine touches both alike.
      const rounds: Record<Mode, Sample[][]> = { 'in-thread': [], workers: [] };
      for (let r = 0; r < ROUNDS; r++) {
        for (const mode of MODES) {
          const n = Math.ceil(requestsPerLevel / ROUNDS);
          say(`${runtime} ${mode}: throughput round ${r + 1}, ${n} requests per level`);
          const s = await launch(runtime, MODE_ENV[mode], QUIET_MS);
          note(mode, s, false);
          try {
            rounds[mode].push(await throughput(s, n));
          } finally {
            await s.stop();
          }
        }
      }
      for (const mode of MODES) tp[mode] = levels(rounds[mode]);
      for (const mode of MODES) {
        say(`${runtime} ${mode}: saturation, ${CLIENTS} clients for ${saturationS} s`);
        const s = await launch(runtime, {
          ...MODE_ENV[mode],
          SRPOSE_MAX_QUEUE: String(SATURATION_QUEUE),
        });
        note(mode, s);
        try {
          sat[mode] = await saturation(s);
        } finally {
          await s.stop();
        }
      }
      for (const mode of MODES) {
        peaks[mode] = {};
        for (const [boxes, flip] of [[1, true], [64, true]] as const) {
          say(`${runtime} ${mode}: peak memory of one ${boxes}-box request, flip ${flip}`);
          const { server, ...p } = await peakOf(runtime, mode, boxes, flip);
          note(mode, server);
          peaks[mode][`${boxes}box${flip ? 'Flip' : ''}`] = p;
        }
      }
      for (let i = 0; i < ONE_WORKER_READINGS; i++) {
        say(`${runtime}: idle memory with SRPOSE_WORKERS=1`);
        const one = await launch(runtime, { SRPOSE_WORKERS: '1' });
        idle[1].push(one.idleMiB);
        await one.stop();
      }

      const idleMiB = Object.fromEntries(
        Object.entries(idle).map(([w, xs]) => [`workers${w}`, round(Math.min(...xs))]),
      );
      const ratios = Object.fromEntries(tp.workers.map((l, i) => [`c${l.concurrency}`, {
        rps: round(l.rps / tp['in-thread'][i].rps, 3),
        p50: round(l.p50Ms / tp['in-thread'][i].p50Ms, 3),
        p95: round(l.p95Ms / tp['in-thread'][i].p95Ms, 3),
      }]));
      const worstRps = Math.min(...Object.values(ratios).map((r) => r.rps));
      const p99 = sat.workers.healthz.p99Ms;
      out[runtime] = {
        setup,
        throughput: {
          ...tp,
          workersOverInThread: ratios,
          target: { rpsRatioMin: 0.9, worst: worstRps, met: worstRps >= 0.9 },
        },
        saturation: {
          ...sat,
          target: { workersHealthzP99MaxMs: 50, p99Ms: p99, met: p99 <= 50 },
        },
        memoryMiB: {
          idleByWorkers: idleMiB,
          idleReadings: Object.fromEntries(
            Object.entries(idle).map(([w, xs]) => [`workers${w}`, xs.map((x) => round(x))]),
          ),
          firstWorker: round(idleMiB.workers1 - idleMiB.workers0),
          secondWorker: round(idleMiB.workers2 - idleMiB.workers1),
          oneRequest: peaks,
        },
      };
    }
  } finally {
    await control.stop();
  }
  return {
    suite: 'load',
    model: arch,
    cores: availableParallelism(),
    // other work on the machine (1-min load average before this bench started anything)
    loadAverageAtStart: round(loadAtStart, 2),
    image: '000000000785.jpg (640x425 JPEG)',
    throughput: {
      request: '1 box, flip test on (default)',
      requestsPerLevel,
      levels: LEVELS,
      rounds: `${ROUNDS}, in-thread and workers in turn, a fresh server each`,
    },
    saturation: {
      seconds: saturationS,
      clients: CLIENTS,
      mix: '1, 16, 64 boxes x flip on/off, in turn',
      server: `SRPOSE_MAX_QUEUE=${SATURATION_QUEUE} (2 running + 4 waiting admitted)`,
      busyPauseMs: BUSY_PAUSE_MS,
      probeEveryMs: PROBE_EVERY_MS,
      probeUnansweredAfterMs: PROBE_TIMEOUT_MS,
      control: 'a bare node:http server in its own process, probed alongside /healthz',
      afterBurstMs: AFTER_BURST_MS,
    },
    ...out,
  };
}
