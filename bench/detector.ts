/**
 * `npm run bench -- detector [--runs=N] [--detector=yolox_tiny] [--arch=res50]`: what the person
 * detector costs beside the pose model, per backend (native, then WASM with 2 threads, in one
 * process), on 000000000785.jpg (640x425) decoded once: the detector alone (letterbox, run,
 * decode + NMS at the default score threshold) and the pose model on 1, 5 and 20 boxes (the
 * estimator's defaults: the contract's flip test), medians of `runs` after a warm-up, and the
 * detector's share of a full image's estimate, `detect / (detect + pose)`. Goal: <= 30% with
 * YOLOX-tiny and res50 for 5 people on native. The random-weight test detector finds a
 * different number of people than a trained one would, so the pose side is timed on given
 * boxes of the same photo; the full estimate with the detector (its own people at the exp's
 * 0.01 threshold, at most 20) is reported beside it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDetector } from '../src/estimator/detector.ts';
import { createEstimator } from '../src/estimator/estimator.ts';
import { readImage } from '../src/image/input.ts';
import { loadNative } from '../src/runtime/native.ts';
import type { Box } from '../src/types.ts';
import { median } from './stats.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PHOTO = join(ROOT, '..', 'shared', 'data', 'coco', '000000000785.jpg');
const round = (x: number) => Math.round(x * 10) / 10;

/** `n` boxes over the photo's person, shifted a little each. */
const boxesOf = (n: number): Box[] =>
  Array.from({ length: n }, (_, i) => [280.79 - 8 * i, 44.73 + 4 * i, 218.7, 346.68]);

async function timed(runs: number, job: () => Promise<number>): Promise<number> {
  await job();
  const t: number[] = [];
  for (let i = 0; i < runs; i++) t.push(await job());
  return median(t);
}

export async function detectorBench(
  o: { runs?: number; detector?: string; arch?: string } = {},
): Promise<Record<string, unknown>> {
  const runs = o.runs ?? 5;
  const detDir = join(ROOT, '.cache', 'models', o.detector ?? 'yolox_tiny');
  const poseDir = join(ROOT, '.cache', 'models', o.arch ?? 'res50');
  for (const d of [detDir, poseDir]) {
    if (!existsSync(join(d, 'srpose.json'))) throw new Error(`${d}: run npm run models`);
  }
  const img = await readImage(new Uint8Array(readFileSync(PHOTO)), 1e9);
  const backends = typeof (await loadNative()) === 'string'
    ? ['wasm' as const]
    : ['native' as const, 'wasm' as const];
  const out: Record<string, unknown> = {};
  for (const backend of backends) {
    const opts = { backend, threads: 2, weights: 'fp32' as const };
    const det = await createDetector({ model: detDir, ...opts });
    const est = await createEstimator({ model: poseDir, ...opts });
    const withDet = await createEstimator({
      model: poseDir,
      ...opts,
      // the exp's threshold: the random-weight detector's scores are low
      detector: { model: detDir, maxPeople: 20, scoreThreshold: 0.01 },
    });
    try {
      let found = 0;
      const detect = await timed(runs, async () => {
        const r = await det.detect(img);
        found = r.people.length;
        return r.timings.total;
      });
      const people: Record<string, unknown> = {};
      for (const n of [1, 5, 20]) {
        const boxes = boxesOf(n);
        const pose = await timed(runs, async () => {
          const r = await est.estimate(img, { boxes });
          return r.timings.total - r.timings.decode;
        });
        people[n] = {
          poseMs: round(pose),
          totalMs: round(detect + pose),
          detectShare: Math.round((1000 * detect) / (detect + pose)) / 1000,
        };
      }
      let full = 0;
      const fullMs = await timed(runs, async () => {
        const r = await withDet.estimate(img);
        full = r.people.length;
        return r.timings.total - r.timings.decode;
      });
      out[backend] = {
        detectMs: round(detect),
        detectorFound: found,
        people,
        estimateWithDetector: { people: full, ms: round(fullMs) },
      };
    } finally {
      await Promise.all([det.dispose(), est.dispose(), withDet.dispose()]);
    }
  }
  return {
    suite: 'detector',
    detector: o.detector ?? 'yolox_tiny',
    pose: o.arch ?? 'res50',
    photo: '000000000785.jpg (640x425), decoded once',
    threads: 2,
    runs,
    goal: 'detectShare <= 0.3 for 5 people on native',
    results: out,
  };
}
