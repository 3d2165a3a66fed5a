// Backends benchmark (`npm run bench -- backends [--runs=N] [--arch=res50]`): for Node and for
// Deno, per-run milliseconds of WASM with 1 and 2 threads and of native (onnxruntime-node), for
// 1 and 4 boxes (a batch of 1 and 4 crops of 256x192, flip test off), on the res50 test model and
// 000000000785.jpg. Each measurement is a child process of its own (onnxruntime-web fixes its
// thread count per process), Node ones through tsx and Deno ones as `deno run -A`; each child
// prints one JSON line, merged here. Per child and batch: `bare session.run` (onnxruntime's own
// `run` on the estimator's own session, a tensor of the same shape) and `estimate()` (total and
// stages), in rounds of one each, the order alternating, ratios taken within each round;
// `estimate()` on the photo's decoded pixels, then on its JPEG bytes. The target is estimate()
// on pixels / bare native run <= 1.05 (the pipeline's own work: crops, heatmap decode, the
// session wrapper); the JPEG decode is reported beside it, with OpenCV's native decode of the
// same file as the floor any decoder could reach.
//
// `npm run bench -- backends --options`: the native session options instead (Node, 1 and 4
// boxes): intra-op threads 1 and 2, graph optimisation basic / extended / all,
// the CPU memory arena on, off, or shrunk after every run (a run option), intra-op threads
// spinning or not; per-run ms with all settings
// interleaved in one process, resident memory from one process per setting.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import type { Timings } from '../src/types.ts';
import { median } from './stats.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PHOTO = join(ROOT, '..', 'shared', 'data', 'coco', '000000000785.jpg');
const WARMUP = 3;

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
const mib = (bytes: number) => round(bytes / 2 ** 20, 1);
const boxesOf = (n: number) =>
  Array.from(
    { length: n },
    (_, i) => [280.79 - 20 * i, 44.73 + 10 * i, 218.7, 346.68] as [number, number, number, number],
  );

/** What one child measures. */
interface ChildSpec {
  backend: 'wasm' | 'native';
  threads: number;
  /**
   * Native session options over NATIVE_SESSION_OPTIONS (the --options sweep); `runOptions`
   * among them is passed to every run instead.
   */
  options?: Record<string, unknown>;
  /** Only the bare run (the --options sweep), not estimate(). */
  bareOnly?: boolean;
  /**
   * The --options timing child: these native settings (name, threads, options), runs interleaved.
   */
  sweep?: [string, number, Record<string, unknown>][];
  boxes: number[];
  runs: number;
  dir: string;
}

/** In a child: loads the model both ways, runs them interleaved, prints one JSON line. */
async function child(spec: ChildSpec): Promise<void> {
  const { createEstimator } = await import('../src/estimator/estimator.ts');
  const onnx = new Uint8Array(await readFile(join(spec.dir, 'model.onnx')));
  const image = new Uint8Array(await readFile(PHOTO));
  const rss0 = process.memoryUsage().rss;
  let sessionMs = 0; // creating the onnxruntime session (the estimator's, or the bare one)
  let bare: (n: number) => Promise<unknown>;
  let release: () => Promise<void> = async () => {};
  let tensorOf: (n: number) => unknown;
  const shape = (n: number) => [n, 3, 256, 192];
  const fill = (n: number) => new Float32Array(n * 3 * 256 * 192).fill(0.1);
  if (spec.backend === 'native') {
    const { loadNative } = await import('../src/runtime/native.ts');
    const native = await loadNative();
    if (typeof native === 'string') throw new Error(native);
    tensorOf = (n) => new native.Tensor('float32', fill(n), shape(n));
  } else {
    const ort = await import('onnxruntime-web');
    // the estimator below sets the same before any session starts
    ort.env.wasm.numThreads = spec.threads;
    tensorOf = (n) => new ort.Tensor('float32', fill(n), shape(n));
  }
  const est = spec.bareOnly
    ? undefined
    : await createEstimator({ model: spec.dir, backend: spec.backend, threads: spec.threads });
  if (est && (est.info.backend !== spec.backend || est.info.threads !== spec.threads)) {
    throw new Error(
      `asked for ${spec.backend} x${spec.threads}, ` +
        `got ${est.info.backend} x${est.info.threads} (${est.info.fallbackReason})`,
    );
  }
  const tensors = new Map<number, unknown>();
  const feed = (n: number) => {
    if (!tensors.has(n)) tensors.set(n, tensorOf(n));
    return { image: tensors.get(n) as any };
  };
  if (est) {
    // The bare run is onnxruntime's own session.run on the estimator's very session: identical
    // sessions in one process differ by 1-7% per run, more than the overhead measured here.
    const { estimatorSessions } = await import('../src/estimator/estimator.ts');
    const { rawSessions } = await import('../src/runtime/pose-session.ts');
    const raw = rawSessions.get(estimatorSessions.get(est)!)!;
    bare = (n) => raw.run(feed(n));
    sessionMs = est.info.load.session;
  } else {
    // --options memory children: a session of their own with the settings under test
    const { loadNative, NATIVE_SESSION_OPTIONS } = await import('../src/runtime/native.ts');
    const native = await loadNative();
    if (typeof native === 'string') throw new Error(native);
    const { runOptions, ...options } = spec.options ?? {};
    const t0 = performance.now();
    const s = await native.InferenceSession.create(
      onnx,
      {
        ...NATIVE_SESSION_OPTIONS,
        executionProviders: ['cpu'],
        intraOpNumThreads: spec.threads,
        ...options,
      } as any,
    );
    sessionMs = performance.now() - t0;
    bare = (n) => s.run(feed(n), runOptions as any);
    release = () => s.release();
  }
  // The photo decoded once, for estimate() on pixels: the pipeline without the JPEG decode.
  const { decodeImage } = await import('../src/image/decode.ts');
  const pixels = await decodeImage(new Uint8Array(image));
  const out: Record<string, unknown> = {};
  for (const n of spec.boxes) {
    const boxes = boxesOf(n);
    // Rounds of a bare run and one estimate() call back to back, in an order that alternates,
    // and their ratio within the round: a shared machine drifts by more than the few percent
    // measured here, and rounds cancel most of it. The pixels rounds first, then the JPEG
    // rounds, so that the JPEG decode's garbage (collected by V8 on threads that compete with
    // inference for the cores) stays out of the pixels measurement.
    const phase = async (input: Uint8Array | typeof pixels) => {
      const runMs: number[] = [];
      const stages: Timings[] = [];
      const ratio: number[] = [];
      const inference: number[] = [];
      for (let r = 0; r < WARMUP + spec.runs; r++) {
        const timeBare = async () => {
          const t = performance.now();
          await bare(n);
          return performance.now() - t;
        };
        const first = r % 2 === 0 ? await timeBare() : 0;
        const e = est ? (await est.estimate(input, { boxes, flipTest: false })).timings : undefined;
        const runOnce = r % 2 === 0 ? first : await timeBare();
        if (r < WARMUP) continue;
        runMs.push(runOnce);
        if (e) {
          stages.push(e);
          ratio.push(e.total / runOnce);
          inference.push(e.inference / runOnce);
        }
      }
      return { runMs, stages, ratio, inference };
    };
    const px = await phase(pixels);
    const jpeg = est ? await phase(image) : undefined;
    const runMs = px.runMs;
    const pixelStages = px.stages;
    const stages = jpeg?.stages ?? [];
    const ratios = { pixels: px.ratio, inference: px.inference, jpeg: jpeg?.ratio ?? [] };
    const run = median(runMs);
    const m = (of: Timings[], key: keyof Timings) => median(of.map((t) => t[key] ?? 0));
    const stagesOf = (of: Timings[]) => ({
      decode: round(m(of, 'decode')),
      crop: round(m(of, 'crop')),
      inference: round(m(of, 'inference')),
      postprocess: round(m(of, 'postprocess')),
    });
    out[`boxes=${n}`] = {
      runMs: round(run),
      ...(est
        ? {
          // estimate() on the JPEG bytes (decode included) and on its decoded pixels
          estimateMs: round(m(stages, 'total')),
          stagesMs: stagesOf(stages),
          estimatePixelsMs: round(m(pixelStages, 'total')),
          pixelStagesMs: stagesOf(pixelStages),
          // medians of the per-round ratios
          estimateOverRun: round(median(ratios.jpeg), 3),
          estimatePixelsOverRun: round(median(ratios.pixels), 3),
          inferenceOverRun: round(median(ratios.inference), 3),
          // (total - inference) / total of estimate() on pixels: its own work, free of run noise
          pixelsNonInferenceShare: round(
            median(pixelStages.map((t) => (t.total - t.inference) / t.total)),
            4,
          ),
        }
        : {}),
    };
  }
  const usage = process.memoryUsage();
  await est?.dispose();
  await release();
  // Peak resident memory of the process (Node: resourceUsage().maxRSS, KiB); Deno has none.
  const maxRss = typeof process.resourceUsage === 'function'
    ? process.resourceUsage().maxRSS * 1024
    : NaN;
  console.log(
    JSON.stringify({
      sessionMs: round(sessionMs),
      rssBeforeMiB: mib(rss0),
      rssAfterMiB: mib(usage.rss),
      ...(maxRss > 0 ? { maxRssMiB: mib(maxRss) } : {}),
      ...out,
    }),
  );
}

/** The 1, 5 and 15 minute load averages: benchmarks on a shared machine say how busy it was. */
const load = () => loadavg().map((x) => round(x));

/**
 * In a child: one native session per setting, runs interleaved round-robin (with a pause for
 * the previous session's intra-op threads to stop spinning), so a busy machine slows every
 * setting alike; prints the medians as one JSON line.
 */
async function sweepChild(spec: ChildSpec): Promise<void> {
  const { loadNative, NATIVE_SESSION_OPTIONS } = await import('../src/runtime/native.ts');
  const native = await loadNative();
  if (typeof native === 'string') throw new Error(native);
  const onnx = new Uint8Array(await readFile(join(spec.dir, 'model.onnx')));
  const sessions = [];
  const runOptions: unknown[] = [];
  for (const [, threads, { runOptions: run, ...options }] of spec.sweep!) {
    runOptions.push(run);
    sessions.push(
      await native.InferenceSession.create(
        onnx,
        {
          ...NATIVE_SESSION_OPTIONS,
          executionProviders: ['cpu'],
          intraOpNumThreads: threads,
          ...options,
        } as any,
      ),
    );
  }
  const out: Record<string, Record<string, number>> = Object.fromEntries(
    spec.sweep!.map(([name]) => [name, {}]),
  );
  const pause = () => new Promise((r) => setTimeout(r, 20));
  for (const n of spec.boxes) {
    const image = new native.Tensor('float32', new Float32Array(n * 3 * 256 * 192).fill(0.1), [
      n,
      3,
      256,
      192,
    ]);
    const ms: number[][] = sessions.map(() => []);
    for (let r = 0; r < WARMUP + spec.runs; r++) {
      for (let i = 0; i < sessions.length; i++) {
        await pause();
        const t = performance.now();
        await sessions[i].run({ image }, runOptions[i] as any);
        if (r >= WARMUP) ms[i].push(performance.now() - t);
      }
    }
    spec.sweep!.forEach(([name], i) => (out[name][`boxes=${n}`] = round(median(ms[i]))));
  }
  for (const s of sessions) await s.release();
  console.log(JSON.stringify(out));
}

/** Runs one child under `runtime` and resolves to its JSON line. */
function runChild(runtime: 'node' | 'deno', spec: ChildSpec): Promise<any> {
  const script = join(ROOT, 'bench', 'backends.ts');
  const arg = `--child=${JSON.stringify(spec)}`;
  const before = load();
  const [cmd, args] = runtime === 'node'
    ? ['node', ['--import', 'tsx', script, arg]]
    : [join(ROOT, 'node_modules', '.bin', 'deno'), ['run', '-A', script, arg]];
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, {
      cwd: ROOT,
      // Mesa (Deno's software WebGPU adapter) complains on stderr without a runtime dir.
      env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? tmpdir() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout!.on('data', (d) => (out += d));
    p.stderr!.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0) {
        return reject(
          new Error(
            `${runtime} ${spec.backend} x${spec.threads} exited ${code}: ${err.slice(-2000)}`,
          ),
        );
      }
      resolve({ loadAverage: { before, after: load() }, ...JSON.parse(line) });
    });
  });
}

/** The backends suite: WASM x1, WASM x2 and native, 1 and 4 boxes, in Node and Deno. */
export async function backendsBench(arch: string, runs: number): Promise<unknown> {
  const dir = join(ROOT, '.cache', 'models', arch);
  if (!existsSync(join(dir, 'srpose.json'))) {
    throw new Error(`${dir} missing: run npm run models first`);
  }
  if (!existsSync(PHOTO)) throw new Error(`${PHOTO} missing: the benchmark needs ../shared/data`);
  const { availableCores } = await import('../src/platform/env.ts');
  const cores = await availableCores();
  const loadBefore = load();
  const result: Record<string, any> = {};
  const configs: [string, Omit<ChildSpec, 'dir' | 'runs' | 'boxes'>][] = [
    ['wasm-1-thread', { backend: 'wasm', threads: 1 }],
    ['wasm-2-threads', { backend: 'wasm', threads: 2 }],
    [`native-${cores}-threads`, { backend: 'native', threads: cores }],
  ];
  for (const runtime of ['node', 'deno'] as const) {
    result[runtime] = {};
    for (const [name, c] of configs) {
      result[runtime][name] = await runChild(runtime, { ...c, boxes: [1, 4], runs, dir });
    }
  }
  const nativeKey = configs[2][0];
  const speedup: Record<string, unknown> = {};
  const worstOf = (key: string) => {
    let worst = 0;
    for (const runtime of ['node', 'deno']) {
      for (const n of [1, 4]) {
        worst = Math.max(worst, result[runtime][nativeKey][`boxes=${n}`][key]);
      }
    }
    return worst;
  };
  const jpegShare: Record<string, unknown> = {};
  for (const runtime of ['node', 'deno']) {
    for (const n of [1, 4]) {
      const k = `boxes=${n}`;
      const nat = result[runtime][nativeKey][k];
      speedup[`${runtime},${k}`] = round(result[runtime]['wasm-2-threads'][k].runMs / nat.runMs);
      jpegShare[`${runtime},${k}`] = round(nat.stagesMs.decode / nat.runMs, 3);
    }
  }
  const pixels = worstOf('estimatePixelsOverRun');
  const stage = worstOf('inferenceOverRun');
  const floor = await opencvJpegMs();
  const nodeRun1 = result.node[nativeKey]['boxes=1'].runMs;
  return {
    suite: 'backends',
    model: arch,
    image: '000000000785.jpg (640x425 JPEG), flip test off',
    runs,
    cores,
    loadAverage: { before: loadBefore, after: load() },
    results: result,
    nativeSpeedupOverWasm2Threads: speedup,
    // The target: estimate() on decoded pixels (crops, inference, heatmap decode: all of the
    // pipeline's own work) over the bare native run. With JPEG bytes the decode is on top: its
    // share of one run, and OpenCV's native libjpeg-turbo on the same file as the floor of any
    // decoder here (imdecode alone over the 1-box native run).
    target: {
      max: 1.05,
      estimatePixelsOverNativeRun: { worst: pixels, met: pixels <= 1.05 },
      inferenceStageOverNativeRun: { worst: stage, met: stage <= 1.05 },
      // the same pipeline work as a share of estimate()'s own total (no bare run in it)
      pixelsNonInferenceShare: { worst: worstOf('pixelsNonInferenceShare') },
    },
    withJpeg: {
      estimateOverNativeRun: { worst: worstOf('estimateOverRun') },
      jpegDecodeOverRun: jpegShare,
      ...(floor
        ? { opencvImdecodeMs: floor, opencvImdecodeOverNodeRun1Box: round(floor / nodeRun1, 3) }
        : {}),
    },
  };
}

/**
 * OpenCV's `cv2.imdecode` (native libjpeg-turbo, one thread) on the photo, median ms of 30 after
 * 5 warm-up, when /usr/bin/python3 has cv2; undefined otherwise.
 */
function opencvJpegMs(): Promise<number | undefined> {
  const code = [
    'import cv2, sys, time, numpy as np',
    'cv2.setNumThreads(1)',
    'b = np.frombuffer(open(sys.argv[1], "rb").read(), np.uint8)',
    'ts = []',
    'for i in range(35):',
    '    t = time.perf_counter(); cv2.imdecode(b, cv2.IMREAD_COLOR); ' +
    'ts.append(time.perf_counter() - t)',
    'print(sorted(ts[5:])[15] * 1000)',
  ].join('\n');
  return new Promise((resolve) => {
    const p = spawn('/usr/bin/python3', ['-c', code, PHOTO], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    p.on('error', () => resolve(undefined));
    p.on('close', (c) => resolve(c === 0 ? round(Number(out.trim())) : undefined));
  });
}

/** The --options suite: one Node child per native session setting, 1 box. */
export async function nativeOptionsBench(arch: string, runs: number): Promise<unknown> {
  const dir = join(ROOT, '.cache', 'models', arch);
  if (!existsSync(join(dir, 'model.onnx'))) {
    throw new Error(`${dir} missing: run npm run models first`);
  }
  const settings: [string, number, Record<string, unknown>][] = [
    ['threads=1', 1, {}],
    ['threads=2', 2, {}],
    ['graph=basic', 2, { graphOptimizationLevel: 'basic' }],
    ['graph=extended', 2, { graphOptimizationLevel: 'extended' }],
    ['graph=all', 2, { graphOptimizationLevel: 'all' }],
    ['arena=off', 2, { enableCpuMemArena: false }],
    ['arena=off,memPattern=off', 2, { enableCpuMemArena: false, enableMemPattern: false }],
    ['arena=shrink', 2, {
      runOptions: { extra: { memory: { enable_memory_arena_shrinkage: 'cpu:0' } } },
    }],
    ['spinning=on', 2, { extra: { session: { intra_op: { allow_spinning: '1' } } } }],
  ];
  const loadBefore = load();
  // Time: all settings in one process, interleaved. Memory: one process per setting.
  const { loadAverage, ...perRunMs } = await runChild('node', {
    backend: 'native',
    threads: 2,
    sweep: settings,
    boxes: [1, 4],
    runs,
    dir,
  });
  const memory: Record<string, unknown> = {};
  for (const [name, threads, options] of settings) {
    const r = await runChild('node', {
      backend: 'native',
      threads,
      options,
      bareOnly: true,
      boxes: [1, 4],
      runs: 2,
      dir,
    });
    memory[name] = { sessionMs: r.sessionMs, rssAfterMiB: r.rssAfterMiB, maxRssMiB: r.maxRssMiB };
  }
  return {
    suite: 'backends --options',
    model: arch,
    runs,
    loadAverage: { before: loadBefore, timing: loadAverage, after: load() },
    perRunMs,
    memory,
  };
}

const childArg = process.argv.find((a) => a.startsWith('--child='));
if (childArg) {
  const spec = JSON.parse(childArg.slice('--child='.length)) as ChildSpec;
  await (spec.sweep ? sweepChild(spec) : child(spec));
}
