/**
 * `npm run bench -- eval [--arch=res50] [--runs=3]`: images (and boxes) per second of
 * `srpose eval`'s run over the shared COCO photos with their 118 detections (the official test:
 * every detection, OKS-NMS, the results file written image by image), against the bare loop of
 * `estimate()` over the same boxes in the same process, runs interleaved; and the time of the
 * metric (xtcocotools' COCOeval in TypeScript) over the results. Per backend (native where it
 * loads, then WASM), flip test off. Goal: the evaluation's own work (results file, rescoring,
 * NMS) a few percent of the estimates.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEstimator } from '../src/estimator/estimator.ts';
import { checkCocoAnnotations, cocoJobs, type PersonDetection } from '../src/eval/datasets.ts';
import { runDataset } from '../src/eval/run.ts';
import { DATASET_SETTINGS, scoreResults } from '../src/eval/score.ts';
import { loadNative } from '../src/runtime/native.ts';
import { median } from './stats.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const COCO = join(ROOT, '..', 'shared', 'data', 'coco');
const round = (x: number) => Math.round(x * 100) / 100;

export async function evalBench(
  o: { arch?: string; runs?: number } = {},
): Promise<Record<string, unknown>> {
  const runs = o.runs ?? 3;
  const model = join(ROOT, '.cache', 'models', o.arch ?? 'res50');
  if (!existsSync(join(model, 'srpose.json'))) throw new Error(`${model}: run npm run models`);
  const gt = checkCocoAnnotations(
    JSON.parse(readFileSync(join(COCO, 'test_coco.json'), 'utf8')),
    'test_coco.json',
  );
  const detections: PersonDetection[] = JSON.parse(
    readFileSync(join(COCO, 'test_coco_det_AP_H_56.json'), 'utf8'),
  );
  const jobs = cocoJobs(gt, { detections });
  const boxes = jobs.reduce((n, j) => n + j.boxes.length, 0);
  const images = jobs.map((j) => new Uint8Array(readFileSync(join(COCO, j.file))));
  const backends = typeof (await loadNative()) === 'string'
    ? ['wasm' as const]
    : ['native' as const, 'wasm' as const];
  const out: Record<string, unknown> = {};
  const dir = await mkdtemp(join(tmpdir(), 'srpose-bench-eval-'));
  try {
    for (const backend of backends) {
      const est = await createEstimator({ model, backend, flipTest: false });
      try {
        const bare: number[] = [];
        const evals: number[] = [];
        const metric: number[] = [];
        // one warm-up round of each, then interleaved
        for (let r = -1; r < runs; r++) {
          let t = performance.now();
          for (let i = 0; i < jobs.length; i++) {
            await est.estimate(images[i], { boxes: jobs[i].boxes });
          }
          const bareMs = performance.now() - t;
          t = performance.now();
          const results = await runDataset({
            estimator: est,
            jobs,
            imagesDir: COCO,
            out: join(dir, `results-${backend}-${r}.json`),
            kind: 'top-down',
            postprocess: DATASET_SETTINGS.coco.postprocess,
          });
          const evalMs = performance.now() - t;
          t = performance.now();
          scoreResults('coco', gt, results);
          const metricMs = performance.now() - t;
          if (r >= 0) {
            bare.push(bareMs);
            evals.push(evalMs);
            metric.push(metricMs);
          }
        }
        const e = median(evals);
        out[backend] = {
          evalMs: round(e),
          bareEstimateMs: round(median(bare)),
          imagesPerSecond: round(jobs.length / (e / 1000)),
          boxesPerSecond: round(boxes / (e / 1000)),
          evalOverBare: round(e / median(bare)),
          metricMs: round(median(metric)),
        };
      } finally {
        await est.dispose();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { suite: 'eval', arch: o.arch ?? 'res50', images: jobs.length, boxes, runs, ...out };
}
