/**
 * browser: per-stage ms (decode, crop, inference, postprocess, total) measured inside headless
 * Chromium on the demo page (dist/browser, served by the Node bundle), medians over `runs`
 * after warm-up, next to the same model, image and box in this process (`createEstimator`,
 * WASM), with browser/Node ratios:
 *   - WASM with 1 and 2 threads (separate pages, `?threads=N`, cross-origin isolated), on the
 *     main thread, and with 2 threads in the web worker;
 *   - WebGPU where Chromium has an adapter (`--enable-unsafe-webgpu`). Here that is SwiftShader,
 *     a software fallback adapter (reported): it takes ~40 s a box for res50, so WebGPU runs on
 *     the tiny SRPose model (tests/browser/tiny_srpose.py) with at most 3 runs, next to WASM on
 *     that model in the same page and in this process.
 * One thing runs at a time, so nothing shares the cores.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEstimator } from '../src/estimator/estimator.ts';
import type { EstimateOptions, Timings } from '../src/types.ts';
import { tempDir } from '../tests/helpers/env.ts';
import {
  BOX,
  browserMissing,
  exportTinySRPose,
  launchChromium,
  openDemo,
  PHOTO,
  readPhoto,
  servedModels,
  startDemoServer,
  WEBGPU_ARGS,
} from '../tests/browser/demo-page.ts';
import { median } from './stats.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WARMUP = 2;
const WEBGPU_RUNS_MAX = 3;
const STAGES = ['decode', 'crop', 'inference', 'postprocess', 'total'] as const;
type Stages = Record<(typeof STAGES)[number], number>;

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
const medians = (ts: Timings[]): Stages =>
  Object.fromEntries(STAGES.map((k) => [k, round(median(ts.map((t) => t[k])))])) as Stages;
const ratios = (a: Stages, b: Stages) =>
  Object.fromEntries(STAGES.map((k) => [k, b[k] > 0 ? round(a[k] / b[k], 2) : null]));

async function inProcess(dir: string, runs: number, opts: EstimateOptions) {
  const photo = await readPhoto();
  const est = await createEstimator({ model: dir, backend: 'wasm' });
  try {
    for (let i = 0; i < WARMUP; i++) await est.estimate(photo, opts);
    const ts: Timings[] = [];
    for (let i = 0; i < runs; i++) ts.push((await est.estimate(photo, opts)).timings);
    return { backend: est.info.backend, threads: est.info.threads, ms: medians(ts) };
  } finally {
    await est.dispose();
  }
}

export async function browserBench(arch: string, runs: number): Promise<unknown> {
  const dir = join(ROOT, '.cache', 'models', arch);
  if (!existsSync(join(dir, 'srpose.json')) || !existsSync(PHOTO)) {
    throw new Error('needs npm run models and ../shared/data');
  }
  const missing = browserMissing();
  if (missing) throw new Error(missing);
  const photo = await readPhoto();
  const opts = { boxes: [BOX], flipTest: true };

  const node = await inProcess(dir, runs, opts);

  const tinyDir = join(await tempDir('srpose-bench-tiny-'), 'tiny_srpose');
  let tinyError: string | undefined;
  await exportTinySRPose(tinyDir).catch((
    e,
  ) => (tinyError = `tiny SRPose export failed: ${(e as Error).message.split('\n')[0]}`));
  const models = await servedModels({
    [arch]: dir,
    ...(tinyError ? {} : { tiny_srpose: tinyDir }),
  });
  const server = await startDemoServer(models, dir);
  let chromium = '';
  try {
    // WASM, one page per thread count (onnxruntime-web fixes its threads per page).
    const wasm: Record<string, unknown> = {};
    const browser = await launchChromium();
    chromium = browser.version();
    try {
      for (const [threads, worker] of [[1, false], [2, false], [2, true]] as const) {
        const demo = await openDemo(browser, `${server.url}/?threads=${threads}`);
        try {
          const ts: Timings[] = [];
          let info: Record<string, unknown> = {};
          for (let i = 0; i < WARMUP + runs; i++) {
            const r = await demo.run(photo, {
              model: `models/${arch}/`,
              backend: 'wasm',
              worker,
              ...opts,
            }, 180_000);
            if (!r.ok) {
              throw new Error(
                `WASM ${threads} threads${worker ? ' (worker)' : ''} failed in the page: ${
                  JSON.stringify(r.error)
                }\n${demo.logs()}`,
              );
            }
            if (r.result.threads !== threads) {
              throw new Error(
                `?threads=${threads} ran on ${r.result.threads} threads (${
                  r.result.fallbackReason ?? 'stale dist/browser? npm run build'
                })`,
              );
            }
            if (i >= WARMUP) ts.push(r.result.timings);
            info = {
              threads: r.result.threads,
              crossOriginIsolated: r.crossOriginIsolated,
              ...(r.result.fallbackReason ? { fallbackReason: r.result.fallbackReason } : {}),
            };
          }
          const ms = medians(ts);
          wasm[`threads=${threads}${worker ? ',worker' : ''}`] = {
            ...info,
            worker,
            ms,
            ratioToNode: ratios(ms, node.ms),
          };
        } finally {
          await demo.close();
        }
      }
    } finally {
      await browser.close();
    }

    // WebGPU where Chromium has an adapter.
    let webgpu: Record<string, unknown>;
    const gpuBrowser = await launchChromium(WEBGPU_ARGS);
    try {
      const demo = await openDemo(gpuBrowser, `${server.url}/`);
      const adapter = await demo.adapter();
      if (!adapter.adapter) {
        webgpu = { flags: WEBGPU_ARGS, adapter, skipped: 'no WebGPU adapter in this Chromium' };
      } else if (tinyError) webgpu = { flags: WEBGPU_ARGS, adapter, skipped: tinyError };
      else {
        const gpuRuns = Math.max(1, Math.min(runs, WEBGPU_RUNS_MAX));
        const model = 'models/tiny_srpose/';
        const measure = async (backend: 'webgpu' | 'wasm', n: number) => {
          const ts: Timings[] = [];
          let firstRunMs = 0;
          for (let i = 0; i < 1 + n; i++) {
            const t0 = performance.now();
            const r = await demo.run(photo, { model, backend, ...opts }, 300_000);
            if (!r.ok) {
              throw new Error(
                `${backend} on the tiny model failed in the page: ${
                  JSON.stringify(r.error)
                }\n${demo.logs()}`,
              );
            }
            if (r.result.backend !== backend) {
              throw new Error(`asked for ${backend}, ran on ${r.result.backend}`);
            }
            if (i === 0) firstRunMs = round(performance.now() - t0);
            else ts.push(r.result.timings);
          }
          return { firstRunMsIncludingSessionCreation: firstRunMs, ms: medians(ts) };
        };
        const gpu = await measure('webgpu', gpuRuns);
        const wasmTiny = await measure('wasm', Math.max(gpuRuns, runs));
        await demo.close();
        const nodeTiny = await inProcess(tinyDir, Math.max(gpuRuns, runs), opts);
        webgpu = {
          flags: WEBGPU_ARGS,
          adapter,
          softwareFallbackAdapter: adapter.isFallbackAdapter === true,
          note: adapter.isFallbackAdapter
            ? 'SwiftShader (software): backend auto does not use it; ' +
              'res50 takes ~40 s a box on it, so this runs the tiny SRPose model'
            : 'a hardware adapter',
          model: 'tiny_srpose (tests/browser/tiny_srpose.py: ' +
            'TopDownSRPoseHead on a small ResNet-like backbone, random weights, seed 0)',
          runs: gpuRuns,
          webgpu: gpu,
          wasmSamePage: { threads: 2, ...wasmTiny },
          nodeInProcess: nodeTiny,
          ratioToWasmSamePage: ratios(gpu.ms, wasmTiny.ms),
          ratioToNode: ratios(gpu.ms, nodeTiny.ms),
        };
      }
    } finally {
      await gpuBrowser.close();
    }

    return {
      suite: 'browser',
      model: arch,
      chromium: `Chromium ${chromium} (headless, /usr/bin/chromium)`,
      image: '000000000785.jpg (640x425 JPEG)',
      box: BOX,
      flipTest: true,
      warmup: WARMUP,
      runs,
      note: 'medians of the library timings measured in the page ' +
        '(browser) and in this process (Node); ratio = browser / Node',
      node,
      wasm,
      webgpu,
    };
  } finally {
    await server.stop();
    for (const d of [models, dirname(tinyDir)]) await rm(d, { recursive: true, force: true });
  }
}
