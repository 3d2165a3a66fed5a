// MPII PCKh (src/core/eval/pckh.ts) against the official TopDownMpiiDataset.evaluate run from
// its source (tests/python/eval_post_reference.py on the vendored file, scipy's loadmat
// returning the ground truth we generate): synthetic sets (missing joints, joints nobody
// shows, zero-size head boxes, errors exactly at the threshold, predictions shuffled and
// repeated by bbox id) and predictions perturbed from the shared MPII annotations. Every value
// of mmpose's name_value to 1e-12 (bit for bit in practice), NaN where numpy gives NaN.
// One Python process for the whole suite.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  MPII_GT_JOINT_NAMES,
  MPII_PCKH_LOW_THRESHOLD,
  type MpiiGroundTruth,
  mpiiPckh,
  PCKH_NAMES,
} from '../../src/core/eval/pckh.ts';
import { hasPython, PYTHON, SHARED, skipUnless } from '../helpers/env.ts';
import { evalPostReference } from '../helpers/eval-reference.ts';
import { Rand } from '../helpers/tiny.ts';
import { throwsCode } from '../helpers/assert.ts';

const f32 = Math.fround;

interface MpiiCase {
  name: string;
  /** M x 16 x [x, y, score]: mmpose's 0-based float32 keypoints, M >= N with repeats. */
  preds: number[][][];
  bboxIds: number[];
  batch: number;
  gt: MpiiGroundTruth;
}

/**
 * Predictions for a ground truth: 0-based (gt - 1) plus an error of `noise` head sizes in a
 * random direction, float32; the loader's order shuffled and some boxes repeated (same id,
 * same content), as distributed testing pads.
 */
function predict(r: Rand, gt: MpiiGroundTruth, noise: number, repeat: number) {
  const n = gt.joints.length;
  const people = gt.joints.map((joints, p) => {
    const [[x1, y1], [x2, y2]] = gt.headBoxes[p];
    const head = 0.6 * Math.hypot(x2 - x1, y2 - y1);
    return joints.map(([x, y]) => {
      const e = noise * head * r.next() * (r.next() < 0.1 ? 4 : 1);
      const a = 2 * Math.PI * r.next();
      return [f32(x - 1 + e * Math.cos(a)), f32(y - 1 + e * Math.sin(a)), f32(r.next())];
    });
  });
  const order = people.map((_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (let k = 0; k < repeat; k++) order.push(order[r.int(n)]);
  return { preds: order.map((i) => people[i]), bboxIds: order.map((i) => 100 + i) };
}

/** A ground truth the edge cases below may still edit. */
interface Gt extends MpiiGroundTruth {
  joints: number[][][];
  missing: number[][];
  headBoxes: [number[], number[]][];
}

function synthetic(r: Rand, n: number, missingRate: number): Gt {
  const joints: number[][][] = [];
  const missing: number[][] = [];
  const headBoxes: [number[], number[]][] = [];
  for (let p = 0; p < n; p++) {
    const cx = r.range(100, 1200);
    const cy = r.range(100, 700);
    const size = r.range(15, 90);
    joints.push(
      Array.from({ length: 16 }, () => [
        Math.round(cx + r.range(-3, 3) * size),
        Math.round(cy + r.range(-4, 4) * size),
      ]),
    );
    missing.push(Array.from({ length: 16 }, () => (r.next() < missingRate ? 1 : 0)));
    const x1 = cx + r.range(-size, 0);
    const y1 = cy - 4 * size;
    headBoxes.push([[x1, y1], [x1 + r.range(0.5, 1.5) * size, y1 + r.range(0.5, 1.5) * size]]);
  }
  return { joints, missing, headBoxes };
}

function syntheticCases(): MpiiCase[] {
  const r = new Rand(606);
  const out: MpiiCase[] = [];
  const add = (name: string, gt: MpiiGroundTruth, noise: number, repeat = 0, batch = 32) => {
    const { preds, bboxIds } = predict(r, gt, noise, repeat);
    out.push({ name, preds, bboxIds, batch, gt });
  };
  for (let t = 0; t < 24; t++) {
    const n = [1, 3, 17, 60, 250][t % 5];
    const gt = synthetic(r, n, [0, 0.1, 0.4][t % 3]);
    add(`synthetic ${t} (${n} people)`, gt, [0.3, 0.6, 1.2, 0.1][t % 4], t % 4, [1, 8, 64][t % 3]);
  }
  // a joint nobody shows: its PCKh is 0/0 = NaN, and so are both means
  const gtNaN = synthetic(r, 20, 0.05);
  gtNaN.missing.forEach((m) => (m[13] = 1));
  add('left shoulder missing everywhere', gtNaN, 0.5);
  // only pelvis and thorax shown: every weight is 0/0, both means masked
  const gtMasked = synthetic(r, 6, 0);
  gtMasked.missing.forEach((m) => m.forEach((_, j) => (m[j] = j === 6 || j === 7 ? 0 : 1)));
  add('only pelvis and thorax', gtMasked, 0.5);
  // zero-size head boxes: errors / 0 are inf (or NaN when exact), never counted
  const gtZero = synthetic(r, 12, 0.1);
  gtZero.headBoxes.forEach((b, p) => p % 3 === 0 && (b[1] = [...b[0]]));
  const zero = predict(r, synthetic(r, 12, 0), 0.4, 0);
  zero.preds.forEach((_, q) => {
    const p = zero.bboxIds[q] - 100;
    if (p % 2 === 0) zero.preds[q] = gtZero.joints[p].map(([x, y]) => [x - 1, y - 1, 1]);
  });
  out.push({ name: 'zero-size head boxes', ...zero, batch: 5, gt: gtZero });
  // errors of exactly 0.5 and 0.11 head sizes (head box 10 px wide: head size 6): counted
  const exact: MpiiGroundTruth = {
    joints: [Array.from({ length: 16 }, (_, j) => [100 + 10 * j, 200])],
    missing: [Array(16).fill(0)],
    headBoxes: [[[0, 0], [10, 0]]],
  };
  const errs = [3, 3.0001, 2.9999, 0.66, 0.6600001, 0.65, 0, 3, 6, 0.5, 1, 2, 3, 0.66, 3.5, 0];
  out.push({
    name: 'errors at the thresholds',
    preds: [exact.joints[0].map(([x, y], j) => [f32(x - 1 + errs[j]), y - 1, 1])],
    bboxIds: [0],
    batch: 1,
    gt: exact,
  });
  return out;
}

const SHARED_MPII = join(SHARED, 'mpii', 'test_mpii.json');

/**
 * The shared MPII annotations (mmpose's mpii_val.json format, 1-based joints) as ground truth:
 * `missing = 1 - joints_vis`, head boxes around the upper neck (8) and head top (9) joints.
 */
function sharedCases(): MpiiCase[] {
  if (!existsSync(SHARED_MPII)) return [];
  const anns: { joints: number[][]; joints_vis: number[] }[] = JSON.parse(
    readFileSync(SHARED_MPII, 'utf8'),
  );
  const r = new Rand(707);
  const out: MpiiCase[] = [];
  for (let t = 0; t < 16; t++) {
    const gt: MpiiGroundTruth = {
      joints: anns.map((a) => a.joints.map(([x, y]) => [x, y])),
      missing: anns.map((a) => a.joints_vis.map((v) => (v ? 0 : 1) || (r.next() < 0.05 ? 1 : 0))),
      headBoxes: anns.map((a) => {
        const [nx, ny] = a.joints[8];
        const [hx, hy] = a.joints[9];
        const d = Math.hypot(hx - nx, hy - ny) * r.range(0.2, 0.5);
        return [[Math.min(nx, hx) - d, Math.min(ny, hy) - d], [
          Math.max(nx, hx) + d,
          Math.max(ny, hy) + d,
        ]];
      }),
    };
    const { preds, bboxIds } = predict(r, gt, [0.05, 0.2, 0.5, 1][t % 4], t % 3);
    out.push({ name: `shared MPII, noise set ${t}`, preds, bboxIds, batch: 2, gt });
  }
  return out;
}

const cases = { synthetic: syntheticCases(), shared: sharedCases() };

const hasNumpy = () => hasPython('numpy');
const why = `${PYTHON} cannot import numpy: no official code to compare with`;

let reference: Promise<{ synthetic: any[]; shared: any[]; ms: number }>;
function official() {
  reference ??= (async () => {
    const { out: { mpii }, ms } = await evalPostReference({
      mpii: [...cases.synthetic, ...cases.shared],
    });
    return {
      synthetic: mpii.slice(0, cases.synthetic.length),
      shared: mpii.slice(cases.synthetic.length),
      ms,
    };
  })();
  return reference;
}

function compare(c: MpiiCase, want: [string, number | null][]): boolean {
  const { nameValue } = mpiiPckh(c.preds, c.gt, { bboxIds: c.bboxIds });
  assert.equal(nameValue.map(([n]) => n), want.map(([n]) => n), `${c.name}: names`);
  let exact = true;
  nameValue.forEach(([name, v], i) => {
    const w = want[i][1];
    if (w === null) {
      assert.ok(Number.isNaN(v), `${c.name}, ${name}: ${v} vs NaN (or masked)`);
      return;
    }
    assert.ok(Math.abs(v - w) <= 1e-12, `${c.name}, ${name}: ${v} vs ${w}`);
    exact &&= v === w;
  });
  return exact;
}

test('mpiiPckh = TopDownMpiiDataset.evaluate on synthetic sets', async () => {
  if (skipUnless(hasNumpy(), why)) return;
  const ref = await official();
  console.log(`  (official code: ${ref.ms.toFixed(0)} ms for the suite)`);
  let exact = 0;
  cases.synthetic.forEach((c, i) => (exact += compare(c, ref.synthetic[i]) ? 1 : 0));
  assert.is(exact, cases.synthetic.length, 'every set bit for bit');
  // the edge sets do reach their edges
  const nan = ref.synthetic[cases.synthetic.findIndex((c) => c.name.startsWith('left sh'))];
  assert.is(nan[1][1], null);
  assert.is(nan[7][1], null);
});

test('mpiiPckh = TopDownMpiiDataset.evaluate on the shared MPII annotations', async () => {
  if (skipUnless(existsSync(SHARED_MPII), `${SHARED_MPII} is absent (the shared test data)`)) {
    return;
  }
  if (skipUnless(hasNumpy(), why)) return;
  const ref = await official();
  cases.shared.forEach((c, i) => assert.ok(compare(c, ref.shared[i]), `${c.name}: bit for bit`));
});

test('the table by hand: names, order, the 0.11 of PCKh@0.1, pelvis and thorax left out', () => {
  const gt: MpiiGroundTruth = {
    joints: [Array.from({ length: 16 }, (_, j) => [100 + 10 * j, 200])],
    missing: [Array(16).fill(0)],
    headBoxes: [[[0, 0], [10, 0]]],
  };
  // head size 6: errors 3 (exactly 0.5, counted), 3.5 (not), 0.5 (within 0.11 too)
  const err = [3, 3.5, 0.5, 3, 0.5, 3.5, 100, 100, 0, 0.5, 3, 3.5, 0.5, 0.5, 3.5, 3];
  const preds = [gt.joints[0].map(([x, y], j) => [x - 1 + err[j], y - 1])];
  const { nameValue, perJoint, perJointLow } = mpiiPckh(preds, gt);
  assert.equal(nameValue.map(([n]) => n), [...PCKH_NAMES]);
  assert.is(MPII_PCKH_LOW_THRESHOLD, 0.11);
  assert.equal(Array.from(perJoint), err.map((e) => (e / 6 <= 0.5 ? 100 : 0)));
  assert.equal(Array.from(perJointLow), err.map((e) => (e / 6 <= 0.11 ? 100 : 0)));
  const v = Object.fromEntries(nameValue);
  assert.is(v.Head, 100); // head = joint 9, error 0.5
  assert.is(v.Ankle, 50); // rank 3 (in), lank 3.5 (out)
  assert.is(v.Knee, 50); // rkne 3.5, lkne 0.5
  assert.is(v.Hip, 100); // rhip 0.5, lhip 3
  // 14 joints weighed equally (pelvis and thorax, both wrong, left out): 10 of 14 within 0.5
  assert.ok(Math.abs(v.PCKh - (100 * 10) / 14) < 1e-12);
  assert.ok(Math.abs(v['PCKh@0.1'] - (100 * 6) / 14) < 1e-12);
});

test('invalid inputs -> INVALID_OPTION', () => {
  const gt: MpiiGroundTruth = {
    joints: [Array.from({ length: 16 }, () => [1, 1])],
    missing: [Array(16).fill(0)],
    headBoxes: [[[0, 0], [10, 10]]],
  };
  const preds = [Array.from({ length: 16 }, () => [0, 0])];
  const throws = (fn: () => unknown, re: RegExp) => throwsCode(fn, 'INVALID_OPTION', re);
  throws(() => mpiiPckh([...preds, ...preds], gt), /2 predictions for 1/);
  throws(() => mpiiPckh([preds[0].slice(1)], gt), /16 predicted joints/);
  throws(() => mpiiPckh(preds, { ...gt, missing: [Array(16).fill(2)] }), /0 or 1/);
  throws(() => mpiiPckh(preds, { ...gt, jointNames: MPII_GT_JOINT_NAMES.slice(1) }), /'rank'/);
  throws(() => mpiiPckh(preds, gt, { bboxIds: [1, 2] }), /bboxIds/);
  throws(() => mpiiPckh(preds, { ...gt, headBoxes: [] }), /one entry per person/);
  // repeated ids collapse to one prediction
  assert.is(mpiiPckh([...preds, ...preds], gt, { bboxIds: [4, 4] }).nameValue.length, 9);
});

test.run();
