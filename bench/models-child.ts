// One model variant in a process of its own (so its peak RSS is its own), for `npm run bench --
// models`: session creation, inference of one 256x192 crop, and the keypoints of every shared
// COCO box (flip test as srpose.json says), printed as one JSON line.
import { readFile } from 'node:fs/promises';
import { createEstimator } from '../src/estimator/estimator.ts';
import { cocoSpec } from '../tests/helpers/coco.ts';
import type { WeightsKind } from '../src/types.ts';

const [dir, weights, runsArg] = (globalThis as any).process.argv.slice(2) as [
  string,
  WeightsKind,
  string,
];
const runs = Number(runsArg ?? 5);
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];

const est = await createEstimator({ model: dir, backend: 'wasm', weights, threads: 2 });
const spec = await cocoSpec();
const first = await readFile(spec[0].image);
const box = spec[0].boxes[0] as [number, number, number, number];
const inference: number[] = [];
for (let r = 0; r <= runs; r++) {
  const t = (await est.estimate(first, { boxes: [box], flipTest: false })).timings.inference;
  if (r > 0) inference.push(t); // the first run warms up
}
const coords: number[] = [];
const boxes: number[][] = [];
for (const s of spec) {
  const r = await est.estimate(await readFile(s.image), {
    boxes: s.boxes as [number, number, number, number][],
  });
  for (const p of r.people) for (const k of p.keypoints) coords.push(k.x, k.y);
  boxes.push(...s.boxes);
}
const status = await readFile('/proc/self/status', 'utf8').catch(() => '');
const hwm = /VmHWM:\s+(\d+)\s+kB/.exec(status);
console.log(JSON.stringify({
  weights: est.info.weights,
  sessionMs: est.info.load.session,
  inferenceMs: median(inference),
  threads: est.info.threads,
  peakRssBytes: hwm ? Number(hwm[1]) * 1024 : null,
  boxes,
  coords,
}));
await est.dispose();
