// The pose tracker over an estimator. Its logic (when people are found anew, boxes carried from
// the last keypoints, greedy OKS / IoU matching, lost tracks, smoothing by time) runs on a
// scripted estimator whose people walk known paths, so every expectation is exact; then on the
// real estimator with the tiny pose model and tiny detector, end to end.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tinyConfig, tinyOnnx } from '../helpers/tiny.ts';
import { tinyDetectorDir } from '../helpers/tiny-detector.ts';
import { rejects } from '../helpers/assert.ts';
import { uniform } from '../helpers/tiny.ts';
import { createEstimator } from '../../src/estimator/estimator.ts';
import { createPoseTracker } from '../../src/estimator/tracker.ts';
import type { EstimateOptions, EstimateResult, Estimator, Person } from '../../src/types.ts';

/** A standing person's 17 keypoints, 100 px tall, about its centre. */
const TEMPLATE = [
  [0, -45],
  [-3, -48],
  [3, -48],
  [-6, -46],
  [6, -46],
  [-15, -30],
  [15, -30],
  [-20, -10],
  [20, -10],
  [-22, 8],
  [22, 8],
  [-10, 5],
  [10, 5],
  [-10, 28],
  [10, 28],
  [-10, 50],
  [10, 50],
];

/** A scripted person: its centre at time t (s), or undefined when out of view. */
type Path = (t: number) => [number, number] | undefined;

/**
 * An estimator whose people follow `paths`: with a detector and no boxes it finds everyone in
 * view (boxes from their keypoints); given boxes, each box shows the person whose centre lies
 * in it, else nobody (scores 0). Frames are `{ t }` (seconds). `noise` adds seeded jitter.
 */
function scripted(paths: Path[], o: { detector: boolean; noise?: number }) {
  const calls: { detect: boolean; boxes: number }[] = [];
  let draw = 0;
  const pose = (c: [number, number]) => {
    const n = o.noise ? uniform(++draw, 34, o.noise) : new Float32Array(34);
    return TEMPLATE.map(([x, y], j) => ({
      name: `k${j}`,
      x: c[0] + x + n[2 * j],
      y: c[1] + y + n[2 * j + 1],
      score: 0.9,
    }));
  };
  const est = {
    info: { kind: 'top-down', detector: o.detector ? { model: 'scripted' } : undefined },
    estimate(frame: any, opts: EstimateOptions = {}): Promise<EstimateResult> {
      const t = frame.t as number;
      const seen = paths.map((p) => p(t));
      let people: Person[];
      if (opts.boxes === undefined) {
        if (!o.detector) throw new Error('no boxes and no detector');
        people = seen.filter((c) => c !== undefined).map((c) => ({
          box: [c![0] - 30, c![1] - 62, 60, 125],
          score: 0.9,
          keypoints: pose(c!),
        }));
      } else {
        people = opts.boxes.map((b) => {
          const c = seen.find((c) =>
            c && c[0] >= b[0] && c[0] <= b[0] + b[2] && c[1] >= b[1] && c[1] <= b[1] + b[3]
          );
          const keypoints = c
            ? pose(c)
            : TEMPLATE.map((_, j) => ({ name: `k${j}`, x: b[0], y: b[1], score: 0 }));
          return { box: [b[0], b[1], b[2], b[3]], score: c ? 0.9 : 0, keypoints };
        });
      }
      calls.push({ detect: opts.boxes === undefined, boxes: people.length });
      return Promise.resolve(
        { people, image: { width: 640, height: 480 }, timings: {} } as unknown as EstimateResult,
      );
    },
    dispose: () => Promise.resolve(),
  };
  return { estimator: est as unknown as Estimator, calls };
}

/** A walks right at 90 px/s along y 100; B walks left at 60 px/s along y 300. */
const walkers: Path[] = [(t) => [100 + 90 * t, 100], (t) => [500 - 60 * t, 300]];
const at = (t: number) => ({ t }) as any;

test('found on the first frame and every detectEvery frames; carried boxes keep ids', async () => {
  const { estimator, calls } = scripted(walkers, { detector: true });
  const tracker = createPoseTracker(estimator, { detectEvery: 3, smoothing: false });
  const detected: boolean[] = [];
  for (let i = 0; i < 9; i++) {
    const r = await tracker.track(at(i / 30), i * 33.3);
    detected.push(r.detected);
    assert.equal(r.people.map((p) => p.id), [0, 1], `frame ${i}`);
    // the carried boxes follow the walkers: their keypoints are the true ones
    assert.ok(Math.abs(r.people[0].keypoints[0].x - (100 + 90 * i / 30)) < 1e-9);
  }
  assert.equal(detected, [true, false, false, true, false, false, true, false, false]);
  assert.equal(calls.map((c) => c.detect), detected, 'the detector ran on those frames only');
});

test('IoU matching keeps ids; a person who leaves is lost, the next frame detects', async () => {
  const leaving: Path[] = [walkers[0], (t) => (t < 0.1 ? walkers[1](t) : undefined)];
  const { estimator } = scripted(leaving, { detector: true });
  const tracker = createPoseTracker(estimator, {
    detectEvery: 100,
    matchBy: 'iou',
    smoothing: false,
  });
  const r = [];
  for (let i = 0; i < 6; i++) r.push(await tracker.track(at(i / 30), i * 33.3));
  assert.equal(r.map((x) => x.people.map((p) => p.id)), [[0, 1], [0, 1], [0, 1], [0], [0], [0]]);
  // frame 3: B's box shows nobody (no keypoints: not kept), so frame 4 looks anew
  assert.equal(r.map((x) => x.detected), [true, false, false, false, true, false]);
});

test('a person who walks out of the frame is lost, without an error', async () => {
  // A runs right at 1500 px/s: its carried box leaves the 640-wide frame within a few frames
  const runner: Path[] = [
    (t) => (450 + 1500 * t < 640 ? [450 + 1500 * t, 100] : undefined),
    walkers[1],
  ];
  const { estimator } = scripted(runner, { detector: true });
  const tracker = createPoseTracker(estimator, { detectEvery: 100, smoothing: false });
  const ids: number[][] = [];
  for (let i = 0; i < 12; i++) {
    ids.push((await tracker.track(at(i / 30), i * 33.3)).people.map((p) => p.id));
  }
  assert.equal(ids[0], [0, 1]);
  assert.equal(ids.at(-1), [1], 'B is still tracked, A is gone');
});

test('boxes given by the caller (no detector), then carried; typed errors', async () => {
  const { estimator, calls } = scripted(walkers, { detector: false });
  const tracker = createPoseTracker(estimator, { smoothing: false });
  await rejects(tracker.track(at(0), 0), 'INVALID_OPTION', /no detector/);
  const r0 = await tracker.track(at(0), 0, { boxes: [[60, 30, 80, 140], [460, 230, 80, 140]] });
  assert.equal(r0.people.map((p) => p.id), [0, 1]);
  for (let i = 1; i < 15; i++) {
    const r = await tracker.track(at(i / 30), i * 33.3);
    assert.is(r.detected, false);
    assert.equal(r.people.map((p) => p.id), [0, 1]);
  }
  assert.ok(calls.every((c) => !c.detect));
  await rejects(tracker.track(at(1), 400), 'INVALID_OPTION', /timestamps must increase/);
  assert.throws(() => createPoseTracker(estimator, { detectEvery: 0 }), /detectEvery/);
  assert.throws(() => createPoseTracker(estimator, { matchBy: 'area' as any }), /matchBy/);
  assert.throws(() => createPoseTracker(estimator, { smoothing: { minCutoff: -1 } }), /minCutoff/);
});

test('smoothing by time: the first frame as estimated, then less jitter', async () => {
  const still: Path[] = [() => [200, 200]];
  const raw = createPoseTracker(scripted(still, { detector: true, noise: 2 }).estimator, {
    smoothing: false,
  });
  const smooth = createPoseTracker(scripted(still, { detector: true, noise: 2 }).estimator);
  const jitter = { raw: 0, smooth: 0 };
  let prev: { raw?: Person; smooth?: Person } = {};
  for (let i = 0; i < 90; i++) {
    const a = (await raw.track(at(i / 30), i * 33.3)).people[0];
    const b = (await smooth.track(at(i / 30), i * 33.3)).people[0];
    if (i === 0) assert.equal(b.keypoints, a.keypoints, 'the first frame passes through');
    if (i >= 30) {
      jitter.raw += Math.hypot(a.keypoints[0].x - prev.raw!.keypoints[0].x);
      jitter.smooth += Math.hypot(b.keypoints[0].x - prev.smooth!.keypoints[0].x);
    }
    prev = { raw: a, smooth: b };
  }
  assert.ok(jitter.smooth * 3 < jitter.raw, JSON.stringify(jitter));
});

test('reset forgets the tracks: the next frame detects and ids go on', async () => {
  const tracker = createPoseTracker(scripted(walkers, { detector: true }).estimator, {
    smoothing: false,
  });
  assert.is(tracker.tracking, 0);
  await tracker.track(at(0), 0);
  assert.is(tracker.tracking, 2);
  tracker.reset();
  assert.is(tracker.tracking, 0);
  const r = await tracker.track(at(0.1), 100);
  assert.is(r.detected, true);
  assert.equal(r.people.map((p) => p.id), [2, 3]);
});

test('on the real estimator (tiny pose model, tiny detector): tracked end to end', async () => {
  const est = await createEstimator({
    model: { onnx: await tinyOnnx(), config: tinyConfig() },
    backend: 'wasm',
    flipTest: false,
    detector: await tinyDetectorDir(),
  });
  try {
    const frame = { data: new Uint8Array(128 * 96 * 3).fill(200), width: 128, height: 96 };
    const tracker = createPoseTracker(est, { keypointThreshold: 0, minKeypoints: 0 });
    const first = await tracker.track(frame, 0);
    assert.is(first.detected, true);
    assert.equal(first.people.map((p) => p.id), [0, 1]);
    const second = await tracker.track(frame, 33);
    assert.is(second.detected, false);
    assert.is(second.estimate.timings.detect, undefined, 'no detector run on a carried frame');
    assert.is(second.people.length, 2);
  } finally {
    await est.dispose();
  }
});

test.run();
