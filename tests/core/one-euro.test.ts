// The 1€ filter: equal to the authors' reference algorithm (tests/core/one_euro_reference.py,
// after github.com/casiez/OneEuroFilter) on recorded-like sequences, then what the defaults do
// to body keypoints in pixels: jitter on a still pose, lag on fast movement, timestamps (not
// frame counts) driving it, and typed errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import {
  DEFAULT_ONE_EURO,
  KeypointSmoother,
  OneEuroFilter,
  type OneEuroOptions,
} from '../../src/core/one-euro.ts';
import { isSRPoseError, type SRPoseErrorCode } from '../../src/errors.ts';
import { hasPython, PYTHON, python, skipUnless, tempDir } from '../helpers/env.ts';

// ---- seeded noise -------------------------------------------------------------------------

/** mulberry32: uniform in [0, 1) from a 32-bit seed. */
function uniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples (Box-Muller) from a seed. */
function gaussian(seed: number): () => number {
  const u = uniform(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

const std = (a: ArrayLike<number>) => {
  const n = a.length;
  let m = 0;
  for (let i = 0; i < n; i++) m += a[i] / n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (a[i] - m) ** 2 / n;
  return Math.sqrt(v);
};
const rms = (a: ArrayLike<number>) =>
  Math.sqrt(Array.from(a, (v) => v * v).reduce((s, v) => s + v) / a.length);
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

/** Timestamps (ms) of `n` frames at `fps`, from `start`. */
const frames = (n: number, fps: number, start = 0) =>
  Array.from({ length: n }, (_, i) => start + (i * 1000) / fps);

function throwsCode(fn: () => unknown, code: SRPoseErrorCode, re?: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.ok(isSRPoseError(e, code), `expected ${code}, got ${e}`);
    if (re) assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected ${code}`);
}

// ---- against the authors' algorithm -------------------------------------------------------

type Sequence = { name: string; t: number[]; x: number[] } & Required<OneEuroOptions>;

function sequences(): Sequence[] {
  const noise = gaussian(7);
  const out: Sequence[] = [];
  const add = (name: string, t: number[], x: number[], o: OneEuroOptions = {}) =>
    out.push({ name, t, x, ...DEFAULT_ONE_EURO, ...o });
  const t30 = frames(300, 30, 1234.5);
  add('still pose, 2 px noise', t30, t30.map(() => 412.3 + 2 * noise()));
  add('fast linear, 600 px/s', t30, t30.map((t) => 50 + 0.6 * (t - 1234.5) + noise()));
  add(
    'sine 1.5 Hz, 80 px',
    t30,
    t30.map((t) => 300 + 80 * Math.sin((2 * Math.PI * 1.5 * t) / 1000) + 1.5 * noise()),
    { minCutoff: 1, beta: 0.02 },
  );
  add('step of 150 px', t30, t30.map((_t, i) => (i < 120 ? 200 : 350) + noise()), {
    minCutoff: 1,
    beta: 0.007,
    dCutoff: 1,
  });
  // a webcam's irregular frames: 33 ms +- 12, drops, a repeated and an earlier timestamp
  const u = uniform(11);
  const tj: number[] = [0];
  for (let i = 1; i < 300; i++) {
    const dt = i === 40 || i === 41
      ? 0
      : i === 90
      ? -5
      : u() < 0.1
      ? 66.7
      : 33.3 + 24 * (u() - 0.5);
    tj.push(tj[i - 1] + dt);
  }
  add('irregular timestamps', tj, tj.map((t) => 150 + 0.25 * t + 2 * noise()), { beta: 0.05 });
  // the second sample repeats the first's timestamp: the rate is still `frequency`
  const tr = [500, 500, 520, 540, 540, 560, ...frames(60, 60, 580)];
  add('repeated at start', tr, tr.map((_, i) => 10 * i + noise()), { frequency: 25 });
  add('beta 0, 120 fps', frames(240, 120), frames(240, 120).map(() => 5 * noise()), {
    minCutoff: 3,
    beta: 0,
    dCutoff: 0.7,
  });
  return out;
}

test("equals the authors' reference algorithm (Python) within 1e-12", async () => {
  if (skipUnless(hasPython('json'), `${PYTHON} is missing: no reference to compare with`)) return;
  const seqs = sequences();
  const dir = await tempDir('srpose-one-euro-');
  const file = join(dir, 'sequences.json');
  const { writeFile, rm } = await import('node:fs/promises');
  await writeFile(file, JSON.stringify(seqs));
  const want: number[][] = await python([join('tests', 'core', 'one_euro_reference.py'), file]);
  await rm(dir, { recursive: true, force: true });
  let worst = 0;
  seqs.forEach((s, k) => {
    const scalar = new OneEuroFilter(s);
    const pair = new KeypointSmoother(1, s);
    const out = new Float64Array(2);
    s.t.forEach((t, i) => {
      const a = scalar.filter(s.x[i], t);
      pair.smooth([s.x[i], -s.x[i]], t, out);
      const d = Math.max(Math.abs(a - want[k][i]), Math.abs(out[0] - a), Math.abs(out[1] + a));
      assert.ok(d <= 1e-12, `${s.name}, sample ${i}: ${a} vs ${want[k][i]}`);
      worst = Math.max(worst, d);
    });
  });
  console.log(`    ${seqs.length} sequences: largest difference from the reference ${worst}`);
});

// ---- what the defaults do to keypoints in pixels ------------------------------------------

const K = 17;

test('still pose, 2 px noise at 30 fps: the defaults cut the jitter at least 3x', () => {
  const noise = gaussian(2024);
  const truth = Array.from({ length: 2 * K }, (_, i) => 100 + 23 * i);
  const smoother = new KeypointSmoother(K);
  const raw: number[] = [];
  const res: number[] = [];
  const rawStep: number[] = [];
  const resStep: number[] = [];
  let prevIn: number[] = [];
  let prevOut: Float64Array = new Float64Array(0);
  frames(300, 30).forEach((t, f) => {
    const input = truth.map((v) => v + 2 * noise());
    const out = smoother.smooth(input, t);
    // from 1 s on: the first sample passes through, and the filter settles
    if (f >= 30) {
      input.forEach((v, i) => {
        raw.push(v - truth[i]);
        res.push(out[i] - truth[i]);
        rawStep.push(v - prevIn[i]);
        resStep.push(out[i] - prevOut[i]);
      });
    }
    prevIn = input;
    prevOut = out;
  });
  const reduction = rms(raw) / rms(res);
  const stepReduction = std(rawStep) / std(resStep);
  console.log(
    `    still pose, noise ${rms(raw).toFixed(2)} px: error ${rms(res).toFixed(2)} px ` +
      `(${reduction.toFixed(1)}x less), frame-to-frame jitter ${stepReduction.toFixed(1)}x less`,
  );
  assert.ok(reduction >= 3, `error only ${reduction.toFixed(2)}x smaller`);
  assert.ok(stepReduction >= 8, `frame-to-frame jitter only ${stepReduction.toFixed(2)}x smaller`);
});

/** Steady-state lag (px, ms) of the defaults on a keypoint moving at `speed` px/s. */
function lag(speed: number, t: number[], options?: OneEuroOptions): { px: number; ms: number } {
  const smoother = new KeypointSmoother(1, options);
  const errors: number[] = [];
  const t0 = t[0];
  t.forEach((ti) => {
    const x = 20 + (speed * (ti - t0)) / 1000;
    const out = smoother.smooth([x, 40], ti);
    // steady state: from 1 s on
    if (ti - t0 >= 1000) errors.push(x - out[0]);
  });
  const px = mean(errors);
  return { px, ms: (px / speed) * 1000 };
}

test('fast movement: the defaults lag about a frame at 300 px/s', () => {
  const t = frames(90, 30);
  const slow = lag(100, t);
  const fast = lag(300, t);
  const faster = lag(1000, t);
  console.log(
    `    lag at 30 fps: 100 px/s ${slow.px.toFixed(1)} px (${slow.ms.toFixed(0)} ms), ` +
      `300 px/s ${fast.px.toFixed(1)} px (${fast.ms.toFixed(0)} ms), ` +
      `1000 px/s ${faster.px.toFixed(1)} px (${faster.ms.toFixed(0)} ms)`,
  );
  assert.ok(fast.ms > 0 && fast.ms <= 45, `${fast.ms} ms at 300 px/s`);
  assert.ok(faster.ms > 0 && faster.ms <= 25, `${faster.ms} ms at 1000 px/s`);
  // the speed term at work: faster movement, less lag in time
  assert.ok(faster.ms < fast.ms && fast.ms < slow.ms);
  // with noise the lag stays (averaged over 17 keypoints)
  const noise = gaussian(5);
  const smoother = new KeypointSmoother(K);
  const errors: number[] = [];
  t.forEach((ti) => {
    const x = 0.3 * ti;
    const out = smoother.smooth(Array.from({ length: 2 * K }, () => x + 2 * noise()), ti);
    if (ti >= 1000) out.forEach((v) => errors.push(x - v));
  });
  const noisy = (mean(errors) / 300) * 1000;
  console.log(`    with 2 px noise: ${noisy.toFixed(0)} ms at 300 px/s`);
  assert.ok(Math.abs(noisy - fast.ms) < 10, `${noisy} ms with noise vs ${fast.ms} without`);
});

test('timestamps drive it, not frame counts', () => {
  // beta 0: a ramp lags exactly tau = 1 / (2 pi minCutoff) in time, whatever the frame times
  const tau = 1000 / (2 * Math.PI * 2);
  const u = uniform(3);
  const irregular = [0];
  while (irregular.length < 600) {
    irregular.push(irregular[irregular.length - 1] + (u() < 0.15 ? 66.7 : 20 + 26 * u()));
  }
  for (
    const [name, t] of [
      ['30 fps', frames(300, 30)],
      ['60 fps', frames(600, 60)],
      ['irregular with drops', irregular],
    ] as const
  ) {
    const { ms } = lag(300, t, { minCutoff: 2, beta: 0 });
    assert.ok(Math.abs(ms - tau) < 1e-3, `${name}: ${ms} ms vs tau ${tau}`);
  }
  // the defaults: the same movement at 60 fps lags about as long in time as at 30 fps (a
  // filter counting frames would halve it)
  const at30 = lag(300, frames(90, 30));
  const at60 = lag(300, frames(180, 60));
  console.log(
    `    lag at 300 px/s: ${at30.ms.toFixed(0)} ms at 30 fps, ${at60.ms.toFixed(0)} ms at 60 fps`,
  );
  assert.ok(at60.ms > 0.7 * at30.ms && at60.ms < 1.1 * at30.ms, `${at30.ms} vs ${at60.ms}`);
});

// ---- behaviour at the edges ---------------------------------------------------------------

test('first sample passes through; reset starts afresh', () => {
  const f = new OneEuroFilter();
  assert.is(f.filter(123.25, 1000), 123.25);
  const second = f.filter(130, 1033);
  assert.ok(second > 123.25 && second < 130);
  f.reset();
  assert.is(f.filter(-7, 500), -7, 'after reset, even at an earlier time');
  const s = new KeypointSmoother(2);
  assert.equal(Array.from(s.smooth([1, 2, 3, 4], 0)), [1, 2, 3, 4]);
  const moved = s.smooth(new Float64Array([11, 12, 13, 14]), 33);
  assert.ok(moved.every((v, i) => v > i + 1 && v < i + 11));
  s.reset();
  assert.equal(Array.from(s.smooth([5, 6, 7, 8], 66)), [5, 6, 7, 8]);
  // in place
  const inPlace = new Float64Array([6, 7, 8, 9]);
  assert.is(s.smooth(inPlace, 99, inPlace), inPlace);
  assert.ok(inPlace[0] > 5 && inPlace[0] < 6);
});

test('a repeated or earlier timestamp gives a finite value at the last rate', () => {
  const f = new OneEuroFilter();
  f.filter(0, 0);
  const a = f.filter(10, 0); // the second sample at the same time: `frequency` (30 Hz)
  assert.ok(Number.isFinite(a) && a > 0 && a < 10, `${a}`);
  const b = f.filter(20, 33.3);
  const c = f.filter(20, 33.3);
  const d = f.filter(25, 10);
  for (const v of [b, c, d]) assert.ok(Number.isFinite(v), `${v}`);
  // the same timestamp filters like one more sample at the previous rate
  const g = new OneEuroFilter();
  const h = new OneEuroFilter();
  g.filter(0, 0);
  h.filter(0, 0);
  g.filter(10, 62.5);
  h.filter(10, 62.5);
  assert.is(g.filter(20, 62.5), h.filter(20, 125)); // 0.0625 s each: exact in binary
});

test('a non-finite coordinate passes through and restarts that coordinate', () => {
  const s = new KeypointSmoother(2);
  s.smooth([0, 0, 0, 0], 0);
  s.smooth([10, 10, 10, 10], 33);
  const lost = s.smooth([20, NaN, 20, 20], 66);
  assert.ok(Number.isNaN(lost[1]));
  assert.ok(lost[0] > 0 && lost[0] < 20 && lost[2] === lost[0] && lost[3] === lost[0]);
  const back = s.smooth([30, 77, 30, 30], 99);
  assert.is(back[1], 77, 'restarts: passes through');
  assert.ok(back[0] < 30 && Number.isFinite(back[0]));
});

test('invalid options, counts, lengths and timestamps -> INVALID_OPTION', () => {
  const bad: [OneEuroOptions, RegExp][] = [
    [{ minCutoff: 0 }, /minCutoff/],
    [{ minCutoff: -1, beta: 0, dCutoff: 1 }, /minCutoff/],
    [{ minCutoff: NaN }, /minCutoff/],
    [{ minCutoff: Infinity }, /minCutoff/],
    [{ beta: -0.001 }, /beta/],
    [{ beta: NaN }, /beta/],
    [{ beta: Infinity }, /beta/],
    [{ dCutoff: 0 }, /dCutoff/],
    [{ dCutoff: -2 }, /dCutoff/],
    [{ frequency: 0 }, /frequency/],
    [{ minCutoff: '1' as unknown as number }, /minCutoff/],
  ];
  for (const [o, re] of bad) {
    throwsCode(() => new OneEuroFilter(o), 'INVALID_OPTION', re);
    throwsCode(() => new KeypointSmoother(17, o), 'INVALID_OPTION', re);
  }
  new OneEuroFilter({ beta: 0 });
  for (const n of [0, -1, 1.5, NaN]) {
    throwsCode(() => new KeypointSmoother(n), 'INVALID_OPTION', /numKeypoints/);
  }
  const s = new KeypointSmoother(2);
  throwsCode(() => s.smooth([1, 2, 3], 0), 'INVALID_OPTION', /2 x 2/);
  throwsCode(() => s.smooth([1, 2, 3, 4], 0, new Float64Array(2)), 'INVALID_OPTION', /2 x 2/);
  throwsCode(() => s.smooth([1, 2, 3, 4], NaN), 'INVALID_OPTION', /timestampMs/);
  throwsCode(() => new OneEuroFilter().filter(1, Infinity), 'INVALID_OPTION', /timestampMs/);
});

test.run();
