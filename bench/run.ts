// npm run bench [-- <suite>]: prints one JSON summary. Suites: pipeline (default), cold-start,
// http (bench/http.ts), browser (bench/browser.ts), bottom-up (bench/bottom-up.ts; --arch= a
// bottom-up test model, default bu_res50), models (bench/models.ts: weight variants), backends
// (bench/backends.ts: WASM 1 and 2 threads vs native in Node and Deno; --options: the native
// session options), kernels (bench/kernels.ts: the
// WebAssembly crop and flip-merge kernels against the JS loops), load (bench/load.ts: the server
// with inference on worker threads vs on the HTTP thread: throughput, /healthz under saturation,
// memory; --runtime=node (default), deno or node,deno; --requests= per level, default 24;
// --seconds= of saturation, default 15), batch (bench/batch.ts: per maxBatch, peak memory in a
// fresh process each and ms per box, every size in turn in one process), cli (bench/cli.ts:
// `srpose --help` built vs from the sources through tsx), wasm-session (bench/wasm-session.ts:
// onnxruntime-web session creation for graphs prepared ahead of time), detector
// (bench/detector.ts: the person detector's time and share beside the pose model; --detector=,
// default yolox_tiny), video (bench/video.ts: tracking vs detecting on every frame), eval
// (bench/eval.ts: srpose eval's images per second beside the bare estimates, and the metric).
//
// pipeline: per-stage ms of estimate() (decode image, crop, inference, decode heatmaps) for
// 1 and 4 boxes, next to a bare onnxruntime session.run on a tensor of the same shape in the
// same process, runs interleaved so both see the same machine state. Target: everything but
// inference <= 5% of estimate()'s total.
import * as ort from 'onnxruntime-web';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEstimator } from '../src/estimator/estimator.ts';
import type { Box, Timings } from '../src/types.ts';
import { median } from './stats.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = (globalThis as any).process.argv.slice(2) as string[];
/** The value of `--name=value` among the arguments, if given. */
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const suite = args.find((a) => !a.startsWith('--')) ?? 'pipeline';
const arch = flag('arch') ?? 'res50';
const runs = Number(flag('runs') ?? 9);
const WARMUP = 3; // V8 optimises the decode loops after a few calls

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

async function pipeline() {
  const dir = join(ROOT, '.cache', 'models', arch);
  if (!existsSync(join(dir, 'srpose.json'))) {
    throw new Error(`${dir} missing: run npm run models first`);
  }
  const photo = join(ROOT, '..', 'shared', 'data', 'coco', '000000000785.jpg');
  if (!existsSync(photo)) throw new Error(`${photo} missing: the benchmark needs ../shared/data`);
  const image = await readFile(photo);
  const est = await createEstimator({ model: dir, backend: 'wasm' });
  const bare = await ort.InferenceSession.create(await readFile(join(dir, 'model.onnx')), {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
  });
  const out: Record<string, unknown> = {};
  for (const nBoxes of [1, 4]) {
    const boxes: Box[] = Array.from(
      { length: nBoxes },
      (_, i) => [280.79 - 20 * i, 44.73 + 10 * i, 218.7, 346.68],
    );
    for (const flip of [false, true]) {
      const batch = flip ? 2 * nBoxes : nBoxes;
      const tensor = new ort.Tensor('float32', new Float32Array(batch * 3 * 256 * 192).fill(0.1), [
        batch,
        3,
        256,
        192,
      ]);
      const stages: Timings[] = [];
      const bareMs: number[] = [];
      for (let r = 0; r < WARMUP; r++) {
        await est.estimate(image, { boxes, flipTest: flip });
        await bare.run({ image: tensor });
      }
      for (let r = 0; r < runs; r++) {
        stages.push((await est.estimate(image, { boxes, flipTest: flip })).timings);
        const t = performance.now();
        await bare.run({ image: tensor });
        bareMs.push(performance.now() - t);
      }
      const m = (key: keyof Timings) => median(stages.map((s) => s[key] ?? 0));
      const total = m('total');
      out[`boxes=${nBoxes},flip=${flip}`] = {
        ms: {
          decode: round(m('decode')),
          crop: round(m('crop')),
          inference: round(m('inference')),
          postprocess: round(m('postprocess')),
          total: round(total),
        },
        bareSessionRunMs: round(median(bareMs)),
        estimateOverBareRun: round(total / median(bareMs)),
        nonInferenceShare: round(median(stages.map((s) => (s.total - s.inference) / s.total)), 4),
      };
    }
  }
  await est.dispose();
  await bare.release();
  const worstShare = Math.max(...Object.values(out).map((v: any) => v.nonInferenceShare));
  return {
    suite: 'pipeline',
    model: arch,
    backend: est.info.backend,
    threads: est.info.threads,
    runs,
    image: '000000000785.jpg (640x425 JPEG)',
    results: out,
    target: { nonInferenceShareMax: 0.05, worst: worstShare, met: worstShare <= 0.05 },
  };
}

const requests = Number(flag('requests') ?? 24);
const suites: Record<string, () => Promise<unknown>> = {
  pipeline,
  'cold-start': async () =>
    (await import('./cold-start.ts')).coldStartBench({
      arch,
      targets: (flag('target') ?? 'node').split(','),
      starts: Number(flag('starts') ?? 3),
      steady: 5,
      weights: flag('weights'),
      backend: flag('backend'),
      detector: flag('detector'),
      threads: Number(flag('threads')) || undefined,
      fromHub: args.includes('--from-hub'),
    }),
  http: async () => (await import('./http.ts')).httpBench(arch, requests),
  browser: async () => (await import('./browser.ts')).browserBench(arch, runs),
  models: async () => (await import('./models.ts')).modelsBench(Math.min(runs, 5)),
  backends: async () => {
    const b = await import('./backends.ts');
    return args.includes('--options')
      ? b.nativeOptionsBench(arch, runs)
      : b.backendsBench(arch, runs);
  },
  kernels: async () => (await import('./kernels.ts')).kernelsBench(),
  video: async () =>
    (await import('./video.ts')).videoBench({
      arch,
      detector: flag('detector'),
      frames: Number(flag('frames') ?? 30),
    }),
  eval: async () => (await import('./eval.ts')).evalBench({ arch, runs: Math.min(runs, 3) }),
  detector: async () =>
    (await import('./detector.ts')).detectorBench({
      runs: Math.min(runs, 5),
      arch,
      detector: flag('detector'),
    }),
  cli: async () => (await import('./cli.ts')).cliBench(runs),
  'wasm-session': async () =>
    (await import('./wasm-session.ts')).wasmSessionBench(
      flag('arch') ?? 'hrformer_s',
      flag('weights') ?? 'fp32',
    ),
  load: async () =>
    (await import('./load.ts')).loadBench(
      arch,
      (flag('runtime') ?? 'node').split(',') as any,
      requests,
      Number(flag('seconds') ?? 15),
    ),
  batch: async () => (await import('./batch.ts')).batchBench(arch),
  'bottom-up': async () => ({
    suite: 'bottom-up',
    ...await (await import('./bottom-up.ts')).bottomUpBench(
      runs,
      join(
        ROOT,
        '.cache',
        'models',
        flag('arch') ?? 'bu_res50',
      ),
    ),
  }),
};
if (!suites[suite]) {
  console.error(`unknown suite ${suite}; one of ${Object.keys(suites).join(', ')}`);
  (globalThis as any).process.exit(2);
}
console.log(JSON.stringify(await suites[suite](), null, 2));
