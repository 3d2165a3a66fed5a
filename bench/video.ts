/**
 * `npm run bench -- video [--detector=yolox_tiny] [--arch=res50] [--frames=30]`: frames per
 * second of tracking (`createPoseTracker`, the detector every 10 frames, boxes carried between)
 * against finding the people on every frame (`detectEvery: 1`), for 1 and 5 people, per backend
 * (native, then WASM with 2 threads). The clip: 000000000785.jpg decoded once and shifted by a
 * pixel a frame (so every frame differs). The random-weight detector's scores are low, so it
 * runs at the exp's 0.01 with `maxPeople` 1 or 5; flip test off (the contract's on doubles the
 * pose side in both modes). Goal: tracking >= 3x the frames per second of detect-every-frame.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEstimator } from '../src/estimator/estimator.ts';
import { createPoseTracker } from '../src/estimator/tracker.ts';
import { readImage } from '../src/image/input.ts';
import { loadNative } from '../src/runtime/native.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PHOTO = join(ROOT, '..', 'shared', 'data', 'coco', '000000000785.jpg');
const round = (x: number) => Math.round(x * 100) / 100;

export async function videoBench(
  o: { detector?: string; arch?: string; frames?: number } = {},
): Promise<Record<string, unknown>> {
  const frames = o.frames ?? 30;
  const detDir = join(ROOT, '.cache', 'models', o.detector ?? 'yolox_tiny');
  const poseDir = join(ROOT, '.cache', 'models', o.arch ?? 'res50');
  for (const d of [detDir, poseDir]) {
    if (!existsSync(join(d, 'srpose.json'))) throw new Error(`${d}: run npm run models`);
  }
  const img = await readImage(new Uint8Array(readFileSync(PHOTO)), 1e9);
  // frame i: the photo moved i pixels left (the right edge repeats)
  const clip = Array.from({ length: frames }, (_, i) => {
    const data = new Uint8Array(img.data.length);
    for (let y = 0; y < img.height; y++) {
      const row = y * img.width * 3;
      data.set(img.data.subarray(row + 3 * i, row + 3 * img.width), row);
      data.set(img.data.subarray(row + 3 * (img.width - 1), row + 3 * img.width), row);
    }
    return { data, width: img.width, height: img.height };
  });
  const backends = typeof (await loadNative()) === 'string'
    ? ['wasm' as const]
    : ['native' as const, 'wasm' as const];
  const out: Record<string, unknown> = {};
  for (const backend of backends) {
    const rows: Record<string, unknown> = {};
    for (const people of [1, 5]) {
      const est = await createEstimator({
        model: poseDir,
        backend,
        threads: 2,
        weights: 'fp32',
        flipTest: false,
        detector: { model: detDir, scoreThreshold: 0.01, maxPeople: people },
      });
      try {
        const fps: Record<string, number> = {};
        for (const [mode, detectEvery] of [['everyFrame', 1], ['tracking', 10]] as const) {
          const tracker = createPoseTracker(est, { detectEvery, keypointThreshold: 0 });
          await tracker.track(clip[0], 0); // warm-up
          tracker.reset();
          const t0 = performance.now();
          for (let i = 0; i < frames; i++) await tracker.track(clip[i], 1000 + 33.3 * i);
          fps[mode] = round((1000 * frames) / (performance.now() - t0));
        }
        rows[people] = { ...fps, speedup: round(fps.tracking / fps.everyFrame) };
      } finally {
        await est.dispose();
      }
    }
    out[backend] = rows;
  }
  return {
    suite: 'video',
    detector: o.detector ?? 'yolox_tiny',
    pose: o.arch ?? 'res50',
    clip: `${frames} frames of 000000000785.jpg (640x425) shifted a pixel each`,
    flipTest: false,
    goal: 'tracking >= 3x the fps of detect-every-frame',
    results: out,
  };
}
