// mmpose's top-down evaluation post-processing (src/core/eval/oks-nms.ts) against the official
// SRPose code run from its source (tests/python/eval_post_reference.py on the vendored nms.py and
// TopDownCocoDataset / TopDownCrowdPoseDataset.evaluate): numpy's argsort order of equal
// scores (an adversarial input reaches its heapsort), numpy's float32 exp, oks_iou bit for bit,
// the kept indices of oks_nms / soft_oks_nms on generated crowds (duplicates, near-duplicates,
// equal scores, keypoints below vis_thr, zero areas), and the results file `evaluate` writes.
// One Python process for the whole suite.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  argsortDescending,
  COCO_TOPDOWN_EVAL,
  CROWDPOSE_TOPDOWN_EVAL,
  expFloat32,
  MPII_TOPDOWN_EVAL,
  numpyArgsort,
  oksIou,
  oksNms,
  rescoreByKeypoints,
  softOksNms,
  topDownPostprocess,
} from '../../src/core/eval/oks-nms.ts';
import { COCO_SIGMAS, CROWDPOSE_SIGMAS } from '../../src/core/sigmas.ts';
import { hasPython, PYTHON, skipUnless } from '../helpers/env.ts';
import { evalPostReference } from '../helpers/eval-reference.ts';
import { Rand } from '../helpers/tiny.ts';
import { throwsCode } from '../helpers/assert.ts';

const f32 = Math.fround;

// ---- seeded inputs ------------------------------------------------------------------------

interface Person {
  keypoints: number[];
  score: number;
  area: number;
  center: [number, number];
  scale: [number, number];
  bboxId: number;
}

const VIS = f32(0.2);

/** Keypoint scores of one person: high, low (mostly below 0.2), all equal, or at float32(0.2). */
function keypointScores(r: Rand, k: number): number[] {
  const mode = r.int(5);
  return Array.from({ length: k }, () => {
    switch (mode) {
      case 0:
        return f32(r.range(0.3, 1));
      case 1:
        return f32(r.range(0, 0.25));
      case 2:
        return 0.5;
      case 3:
        return r.pick([VIS, 0.2, 0.1, f32(0.9)]);
      default:
        return f32(r.next());
    }
  });
}

/**
 * An image of `n` people: fresh ones spread over a 640x480 frame, exact duplicates (another box
 * score or the same), near-duplicates (keypoints moved by up to 2 px), zero areas, box scores
 * 1, 0.9 or random (float32, as mmpose stores them), ids in order.
 */
function makeImage(r: Rand, k: number, n: number, firstId = 0): Person[] {
  const people: Person[] = [];
  const crowd = { x: r.range(100, 540), y: r.range(100, 380) };
  for (let i = 0; i < n; i++) {
    const kind = r.next();
    if (i > 0 && kind < 0.15) {
      const src = people[r.int(i)];
      people.push({
        ...src,
        keypoints: [...src.keypoints],
        score: r.next() < 0.5 ? src.score : f32(r.next()),
        bboxId: firstId + i,
      });
      continue;
    }
    if (i > 0 && kind < 0.35) {
      const src = people[r.int(i)];
      const kp = src.keypoints.map((v, q) =>
        q % 3 === 2 ? (r.next() < 0.5 ? v : f32(r.next())) : f32(v + r.range(-2, 2))
      );
      people.push({ ...src, keypoints: kp, bboxId: firstId + i });
      continue;
    }
    // people of a crowd overlap: most stand near one spot
    const near = r.next() < 0.7;
    const cx = near ? crowd.x + r.range(-60, 60) : r.range(0, 640);
    const cy = near ? crowd.y + r.range(-60, 60) : r.range(0, 480);
    const h = r.next() < 0.1 ? r.range(2, 20) : r.range(40, 400);
    const w = h * r.range(0.4, 0.9);
    const scores = keypointScores(r, k);
    const keypoints: number[] = [];
    for (let j = 0; j < k; j++) {
      keypoints.push(f32(cx + (r.next() - 0.5) * w), f32(cy + (r.next() - 0.5) * h), scores[j]);
    }
    const scale: [number, number] = [f32((w * 1.25) / 200), f32((h * 1.25) / 200)];
    const area = r.next() < 0.08 ? 0 : f32(f32(scale[0] * 200) * f32(scale[1] * 200));
    const score = r.next() < 0.3 ? 1 : r.next() < 0.3 ? f32(0.9) : f32(r.next());
    people.push({
      keypoints,
      score,
      area,
      center: [f32(cx), f32(cy)],
      scale,
      bboxId: firstId + i,
    });
  }
  return people;
}

// ---- the cases ------------------------------------------------------------------------------

interface NmsCase {
  soft: boolean;
  kpts: number[][];
  scores: number[];
  areas: number[];
  thr: number;
  maxDets?: number;
  sigmas: number[] | null;
  visThr: number | null;
}

interface EvalCase {
  dataset: 'coco' | 'crowdpose';
  oksThr: number;
  visThr: number;
  softNms: boolean;
  useNms: boolean;
  batch: number;
  sigmas: readonly number[];
  images: Person[][];
}

/** A median-of-three killer for numpy's argsort (McIlroy's adversary, run on our replay). */
function killer(n: number): number[] {
  const gas = n;
  const val = new Array<number>(n).fill(gas);
  let solid = 0;
  let candidate = 0;
  numpyArgsort(n, (x, y) => {
    if (val[x] === gas && val[y] === gas) {
      if (x === candidate) val[x] = solid++;
      else val[y] = solid++;
    }
    if (val[x] === gas) candidate = x;
    else if (val[y] === gas) candidate = y;
    return val[x] < val[y];
  });
  return val;
}

function argsortCases(): (number | null)[][] {
  const r = new Rand(101);
  const out: (number | null)[][] = [];
  for (let t = 0; t < 160; t++) {
    const n = 1 + r.int(t < 80 ? 40 : 300);
    const levels = 1 + r.int(6);
    out.push(Array.from({ length: n }, () => r.int(levels) / levels));
  }
  for (const n of [16, 17, 33, 100]) {
    const up = Array.from({ length: n }, (_, i) => i);
    out.push(up, [...up].reverse(), up.map(() => 0.25));
    out.push(up.map((i) => Math.min(i, n - 1 - i)), up.map((i) => i % 3));
  }
  // NaN (null in JSON) sorts last in numpy's argsort
  out.push([0.5, null, 0.5, 0.1, null, 0.9, 0.5]);
  out.push(Array.from({ length: 40 }, (_, i) => (i % 7 === 0 ? null : (i % 4) / 4)));
  // adversarial: reaches numpy's heapsort; coarsened so that its run holds equal values
  for (const n of [64, 100, 200, 500]) {
    const k = killer(n);
    out.push(k, k.map((v) => Math.floor(v / 2)));
    out.push(k.map((v) => (v < n / 2 ? v : Math.floor(n / 2 + (v - n / 2) / 4))));
    out.push(k.map((v) => (v < n / 4 ? v : n)));
  }
  return out;
}

function exp32Cases(): number[] {
  const r = new Rand(202);
  const out: number[] = [];
  // what the soft NMS feeds it: -oks^2 / thr
  for (let i = 0; i < 20000; i++) {
    const o = f32(r.next());
    out.push(f32(-f32(o * o) / f32(r.pick([0.3, 0.5, 0.9, 1, 0.05]))));
  }
  for (let i = 0; i < 5000; i++) out.push(f32(r.range(-110, 90)));
  out.push(0, -0, 1, -1, 88.72283935546875, 88.7228, -103.97208404541015625, -103.972, -87.4);
  out.push(-100, -126 * Math.LN2, f32(-1e-30), f32(1e-30));
  // where x log2(e) is a half-integer the rounding of k = rint(x log2 e) decides: two ulps around
  const bits = new Float32Array(1);
  const ints = new Int32Array(bits.buffer);
  for (let n = -151; n < 129; n++) {
    bits[0] = (n + 0.5) / f32(Math.LOG2E);
    const at = ints[0];
    for (let d = -2; d <= 2; d++) {
      ints[0] = at + d;
      out.push(bits[0]);
    }
  }
  return out;
}

function iouCases(): {
  g: number[];
  d: number[][];
  ag: number;
  ad: number[];
  sigmas: number[] | null;
  visThr: number | null;
}[] {
  const r = new Rand(303);
  const out = [];
  for (let t = 0; t < 60; t++) {
    const crowd = t % 3 === 0;
    const k = crowd ? 14 : 17;
    const people = makeImage(r, k, 2 + r.int(30));
    out.push({
      g: people[0].keypoints,
      d: people.slice(1).map((p) => p.keypoints),
      ag: people[0].area,
      ad: people.slice(1).map((p) => p.area),
      sigmas: crowd ? [...CROWDPOSE_SIGMAS] : t % 2 ? [...COCO_SIGMAS] : null,
      visThr: r.pick([null, 0.2, VIS, 0.5, 0]),
    });
  }
  return out;
}

function nmsCases(): NmsCase[] {
  const r = new Rand(404);
  const out: NmsCase[] = [];
  for (let t = 0; t < 160; t++) {
    const crowd = t % 4 === 3;
    const k = crowd ? 14 : 17;
    const n = t < 10 ? 1 + r.int(3) : 1 + r.int(t % 5 === 0 ? 60 : 25);
    const people = makeImage(r, k, n);
    const scoreMode = r.int(3);
    const scores = people.map((p) =>
      scoreMode === 0
        ? rescoreByKeypoints(p.keypoints, p.score, 0.2)
        : scoreMode === 1
        ? r.pick([0.25, 0.5, 0.75])
        : r.next()
    );
    const soft = t % 2 === 1;
    out.push({
      soft,
      kpts: people.map((p) => p.keypoints),
      scores,
      areas: people.map((p) => p.area),
      thr: r.pick(soft ? [0.9, 0.5, 0.3, 1.0] : [0.9, 0.5, 0.3, 0.7, 0.95, 1.0]),
      maxDets: soft ? r.pick([20, 20, 5, 1, 0]) : undefined,
      sigmas: crowd ? [...CROWDPOSE_SIGMAS] : r.next() < 0.5 ? [...COCO_SIGMAS] : null,
      visThr: r.pick([null, null, 0.2, VIS, 0.5]),
    });
  }
  return out;
}

function evalCases(): EvalCase[] {
  const r = new Rand(505);
  const out: EvalCase[] = [];
  for (let t = 0; t < 24; t++) {
    const crowd = t % 3 === 2;
    const k = crowd ? 14 : 17;
    let id = 0;
    const images: Person[][] = [];
    const nImages = 1 + r.int(8);
    for (let i = 0; i < nImages; i++) {
      const people = makeImage(r, k, 1 + r.int(t % 4 === 0 ? 45 : 20), id);
      id += people.length;
      // the loader's order is not the id order; padding repeats a box (same id, same content)
      for (let q = people.length - 1; q > 0; q--) {
        if (r.next() < 0.3) {
          const s = r.int(q + 1);
          [people[q], people[s]] = [people[s], people[q]];
        }
      }
      if (r.next() < 0.4) people.push({ ...people[r.int(people.length)] });
      images.push(people);
    }
    out.push({
      dataset: crowd ? 'crowdpose' : 'coco',
      oksThr: r.pick([0.9, 0.9, 0.5, 0.75]),
      visThr: r.pick([0.2, 0.2, 0, 0.5]),
      softNms: t % 2 === 1,
      useNms: t !== 4,
      batch: r.pick([1, 7, 32, 64]),
      sigmas: crowd ? CROWDPOSE_SIGMAS : COCO_SIGMAS,
      images,
    });
  }
  return out;
}

// ---- the reference, once --------------------------------------------------------------------

const cases = {
  argsort: argsortCases(),
  exp32: exp32Cases(),
  iou: iouCases(),
  nms: nmsCases(),
  evaluate: evalCases(),
};

const hasNumpy = () => hasPython('numpy');
const why = `${PYTHON} cannot import numpy: no official code to compare with`;

let reference: Promise<{ out: any; info: { numpy: string; simdExp: boolean }; ms: number }>;
function official() {
  reference ??= evalPostReference(cases);
  return reference;
}

// ---- against the official code --------------------------------------------------------------

test("argsort()[::-1]: numpy 1.24's order of equal values, NaN, heapsort fallback", async () => {
  if (skipUnless(hasNumpy(), why)) return;
  const { out, info, ms } = await official();
  console.log(`  (official code: numpy ${info.numpy}, ${ms.toFixed(0)} ms for the suite)`);
  cases.argsort.forEach((a, i) => {
    const got = argsortDescending(a.map((v) => (v === null ? NaN : v)));
    assert.equal(got, out.argsort[i], `argsort case ${i} (n = ${a.length})`);
  });
});

test("expFloat32 = numpy's float32 exp (AVX2/AVX-512 kernel) bit for bit", async () => {
  if (skipUnless(hasNumpy(), why)) return;
  const { out, info } = await official();
  const why2 = `numpy here runs the C library's expf (no AVX2+FMA3 or AVX-512F): not compared`;
  if (skipUnless(info.simdExp, why2)) return;
  let naive = 0;
  cases.exp32.forEach((x, i) => {
    const want = out.exp32[i];
    assert.ok(Object.is(expFloat32(x), want), `exp(${x}): ${expFloat32(x)} vs ${want}`);
    if (f32(Math.exp(x)) !== want) naive++;
  });
  // what the emulation is for: the correctly rounded exp differs from numpy's this often
  assert.ok(naive > 1000, `only ${naive} values differ from Math.fround(Math.exp(x))`);
});

test('oksIou = oks_iou bit for bit (float32), with and without vis_thr, zero areas', async () => {
  if (skipUnless(hasNumpy(), why)) return;
  const { out } = await official();
  cases.iou.forEach((c, i) => {
    const got = oksIou(c.g, c.d, c.ag, c.ad, c.sigmas ?? undefined, c.visThr ?? undefined);
    assert.equal(Array.from(got), out.iou[i], `oks_iou case ${i}`);
  });
});

test('oksNms / softOksNms keep exactly the official indices (160 crowds)', async () => {
  if (skipUnless(hasNumpy(), why)) return;
  const { out } = await official();
  let kept = 0;
  let ties = 0;
  cases.nms.forEach((c, i) => {
    const db = c.kpts.map((k, q) => ({ keypoints: k, score: c.scores[q], area: c.areas[q] }));
    const sigmas = c.sigmas ?? undefined;
    const visThr = c.visThr ?? undefined;
    const got = c.soft
      ? softOksNms(db, c.thr, c.maxDets, sigmas, visThr)
      : oksNms(db, c.thr, sigmas, visThr);
    assert.equal(got, out.nms[i], `${c.soft ? 'soft ' : ''}nms case ${i} (${db.length} people)`);
    kept += got.length;
    if (new Set(c.scores).size < c.scores.length) ties++;
  });
  assert.ok(ties > 50, `only ${ties} cases with equal scores`);
  assert.ok(kept > 500, `only ${kept} people kept in all`);
});

test('topDownPostprocess = TopDownCocoDataset / CrowdPose evaluate: the results file', async () => {
  if (skipUnless(hasNumpy(), why)) return;
  const { out } = await official();
  let exact = 0;
  let total = 0;
  cases.evaluate.forEach((c, i) => {
    const kept = topDownPostprocess(c.images, {
      oksThr: c.oksThr,
      visThr: c.visThr,
      softNms: c.softNms,
      useNms: c.useNms,
      sigmas: c.sigmas,
    });
    const got = kept.flatMap((image, m) =>
      image.map((k) => ({
        image_id: 1000 + m,
        keypoints: k.person.keypoints.map(f32),
        score: k.score,
        center: k.person.center,
        scale: k.person.scale,
      }))
    );
    const want = out.evaluate[i];
    const what = `evaluate case ${i} (${c.dataset}, ${c.softNms ? 'soft' : 'hard'} NMS)`;
    assert.is(got.length, want.length, `${what}: people kept`);
    got.forEach((g, q) => {
      const w = want[q];
      assert.is(g.image_id, w.image_id, `${what}, result ${q}: image`);
      assert.equal(g.keypoints, w.keypoints, `${what}, result ${q}: keypoints`);
      assert.equal(g.center, w.center, `${what}, result ${q}: center`);
      assert.equal(g.scale, w.scale, `${what}, result ${q}: scale`);
      assert.is(w.category_id, 1);
      assert.ok(
        Math.abs(g.score - w.score) <= 1e-12,
        `${what}, result ${q}: ${g.score} vs ${w.score}`,
      );
      if (g.score === w.score) exact++;
      total++;
    });
  });
  assert.is(exact, total, 'every rescored score bit for bit');
});

// ---- the quirks, by hand ----------------------------------------------------------------------

const pose = (x: number, y: number, s = 1, k = 17) =>
  Array.from({ length: k }, (_, j) => [x + 3 * j, y + 5 * j, s]).flat();

test('equal scores: for up to 16 people the later index wins, as numpy', () => {
  const far = (i: number) => ({ keypoints: pose(1000 * i, 0), score: 0.5, area: 100 });
  assert.equal(oksNms([0, 1, 2, 3].map(far), 0.9), [3, 2, 1, 0]);
  assert.equal(argsortDescending([0.5, 0.5, 0.7, 0.5]), [2, 3, 1, 0]);
  // identical people: only the last of the equal scores is kept
  const same = { keypoints: pose(10, 10), score: 0.5, area: 100 };
  assert.equal(oksNms([same, same, same], 0.9), [2]);
});

test('soft NMS drops nobody for overlap alone, stops at 20, decays by exp(-oks^2 / thr)', () => {
  const same = (score: number) => ({ keypoints: pose(10, 10), score, area: 100 });
  assert.equal(softOksNms([same(0.9), same(0.8), same(0.7)], 0.9), [0, 1, 2]);
  const many = Array.from({ length: 25 }, (_, i) => same(1 - i / 100));
  assert.is(softOksNms(many, 0.9).length, 20);
  // oks 1 decays 0.8 to 0.8 * exp(-1 / 0.9) ~ 0.263 < 0.3 of a far-away person
  const far = { keypoints: pose(900, 900), score: 0.3, area: 100 };
  assert.equal(softOksNms([same(0.9), same(0.8), far], 0.9), [0, 2, 1]);
  assert.equal(oksNms([same(0.9), same(0.8), far], 0.9), [0, 2]);
});

test('zero areas: coinciding keypoints overlap 1, any distance 0 (the np.spacing(1) term)', () => {
  const a = pose(10, 10);
  const b = pose(10, 10.01);
  assert.equal(Array.from(oksIou(a, [a, b], 0, [0, 0])), [1, 0]);
});

test("vis_thr in oks_iou masks only the other person's keypoints (Python's `and`)", () => {
  const g = pose(10, 10, 0); // every keypoint of g below vis_thr: ignored anyway
  const d = pose(10, 10, 1).map((v, q) => (q === 2 ? 0 : v)); // d's first keypoint masked
  const moved = d.map((v, q) => (q === 0 ? v + 1000 : v)); // moving it changes nothing
  const [x, y] = oksIou(g, [d, moved], 100, [100, 100], undefined, 0.2);
  assert.is(x, 1);
  assert.is(y, 1);
  assert.is(oksIou(g, [moved], 100, [100])[0] < 1, true);
  // float32(0.2) is not above 0.2 in float32 (oks_iou) but is in float64 (the rescoring)
  const edge = pose(10, 10, VIS);
  assert.is(oksIou(g, [edge], 100, [100], undefined, 0.2)[0], 0);
  assert.is(rescoreByKeypoints(edge, 1, 0.2), VIS);
});

test('rescoreByKeypoints: box score x mean keypoint score above vis_thr, 0 when none', () => {
  const kp = [0, 0, 0.5, 0, 0, 0.1, 0, 0, 1];
  assert.is(rescoreByKeypoints(kp, 0.8, 0.2), 0.75 * f32(0.8));
  assert.is(rescoreByKeypoints(kp, 0.8, 1), 0);
  // `_sort_and_unique_bboxes`, then the NMS without vis_thr
  const p = (id: number, x: number) => ({ keypoints: pose(x, 0), score: 1, area: 100, bboxId: id });
  const kept = topDownPostprocess([[p(5, 0), p(2, 500), p(5, 900)]]);
  assert.equal(kept[0].map((k) => k.index).sort(), [0, 1]);
});

test('the official configurations', () => {
  assert.equal({ ...COCO_TOPDOWN_EVAL }, {
    useGtBbox: false,
    detBboxThr: 0,
    useNms: true,
    softNms: false,
    nmsThr: 1,
    oksThr: 0.9,
    visThr: 0.2,
    bboxFile: 'COCO_val2017_detections_AP_H_56_person.json',
  });
  assert.is(CROWDPOSE_TOPDOWN_EVAL.bboxFile, 'det_for_crowd_test_0.1_0.5.json');
  assert.is(CROWDPOSE_TOPDOWN_EVAL.oksThr, 0.9);
  assert.is(MPII_TOPDOWN_EVAL.useGtBbox, true);
  assert.is(MPII_TOPDOWN_EVAL.useNms, false);
  assert.is(COCO_SIGMAS[0], 0.26 / 10);
  assert.is(COCO_SIGMAS.length, 17);
  assert.is(CROWDPOSE_SIGMAS.length, 14);
});

test('invalid inputs -> INVALID_OPTION', () => {
  const throws = (fn: () => unknown, re: RegExp) => throwsCode(fn, 'INVALID_OPTION', re);
  const p = { keypoints: pose(0, 0), score: 1, area: 1 };
  throws(() => oksNms([p], NaN), /thr/);
  throws(() => oksNms([{ ...p, keypoints: [1, 2, 3] }], 0.9), /51 values/);
  throws(() => oksNms([p], 0.9, CROWDPOSE_SIGMAS), /42 values/);
  throws(() => oksNms([p], 0.9, []), /sigmas/);
  throws(() => softOksNms([p], 0), /thr must be > 0/);
  throws(() => softOksNms([p], 0.9, 1.5), /maxDets/);
  throws(() => oksIou(p.keypoints, [p.keypoints], 1, []), /aD/);
  throws(() => rescoreByKeypoints([1, 2], 1, 0.2), /triples/);
  throws(() => topDownPostprocess([[p]], { softNms: 'yes' as any }), /softNms/);
  assert.equal(oksNms([], 0.9), []);
  assert.equal(softOksNms([], 0.9), []);
});

test.run();
