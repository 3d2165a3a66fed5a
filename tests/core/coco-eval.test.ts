// The COCO keypoint metric against its three references (xtcocotools as mmpose calls it,
// pycocotools, crowdposetools), run from their unmodified sources in tests/python/vendor by
// tests/python/coco_eval_reference.py: prediction sets generated here from a seeded PRNG, on
// synthetic ground truths built here (crowd regions, every area range and its bounds, images
// without persons, v = 0/1/2, num_keypoints that disagrees with the labels, two categories, an
// annotation id 0) and on the shared COCO and CrowdPose annotations; every stat within 1e-12.
// Then the easy mistakes directly: linspace bits, tie order, -1 for an empty range, errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  COCO_IOU_THRESHOLDS,
  COCO_METRIC_FLAVOURS,
  COCO_RECALL_THRESHOLDS,
  type CocoAnnotation,
  type CocoGroundTruth,
  type CocoKeypointResult,
  type CocoMetricFlavour,
  evaluateKeypoints,
  linspace,
} from '../../src/core/eval/coco-eval.ts';
import { COCO_SIGMAS, CROWDPOSE_SIGMAS } from '../../src/core/sigmas.ts';
import { isSRPoseError } from '../../src/errors.ts';
import {
  hasPython,
  hasShared,
  PYTHON,
  python,
  SHARED,
  skipUnless,
  tempDir,
} from '../helpers/env.ts';

// ---- seeded generators ----------------------------------------------------------------------

/** mulberry32 with a few helpers: deterministic data from a seed. */
class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  range(a: number, b: number): number {
    return a + (b - a) * this.next();
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  normal(): number {
    return Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next());
  }
}

/** A seed from a name, so each set's data depends only on its name and ground truth. */
function seedOf(...parts: (string | number)[]): number {
  let h = 2166136261;
  for (const ch of parts.join('|')) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return h >>> 0;
}

type Kind = 'coco' | 'crowdpose';
const KEYPOINTS: Record<Kind, number> = { coco: 17, crowdpose: 14 };
type Size = 'small' | 'medium' | 'large';

interface GtSpec {
  name: string;
  kind: Kind;
  seed: number;
  /** The awkward annotations: inconsistent num_keypoints, unknown image / category, ... */
  odd?: boolean;
  /** A second category with its own persons (K = 2). */
  twoCategories?: boolean;
  /** Annotation id 0 (pycocotools' matrices use 0 for "no match"). */
  idZero?: boolean;
  /** Some annotations without iscrowd (xtcocotools defaults it; the others would fail). */
  noIscrowd?: boolean;
  /** CrowdPose: no image with crowdIndex < 0.2 (an empty easy level). */
  noEasy?: boolean;
}

/** A person box of the size class: its `area` (0.45-0.7 of the box) falls in that range. */
function personBox(r: Rng, size: Size): number[] {
  const w = size === 'small' ? r.range(8, 28) : size === 'medium' ? r.range(45, 85) : r.range(
    120,
    300,
  );
  const h = w * r.range(1.2, 1.9);
  return [r.range(0, 640 - w), r.range(0, 480 - h), w, h];
}

function person(
  r: Rng,
  kind: Kind,
  id: number,
  image_id: number,
  category_id: number,
  size: Size,
  unlabelled = 0.25,
): CocoAnnotation {
  const k = KEYPOINTS[kind];
  const bbox = personBox(r, size);
  const keypoints: number[] = [];
  for (let j = 0; j < k; j++) {
    const v = r.chance(unlabelled) ? 0 : r.chance(0.3) ? 1 : 2;
    // COCO ground truth holds integer pixels; CrowdPose's too
    keypoints.push(
      v ? Math.round(bbox[0] + r.next() * bbox[2]) : 0,
      v ? Math.round(bbox[1] + r.next() * bbox[3]) : 0,
      v,
    );
  }
  const v = keypoints.filter((_, i) => i % 3 === 2);
  const a: CocoAnnotation = {
    id,
    image_id,
    category_id,
    keypoints,
    bbox,
    iscrowd: 0,
    // CrowdPose's num_keypoints counts the visible ones only
    num_keypoints: v.filter((x) => (kind === 'coco' ? x > 0 : x === 2)).length,
  };
  if (kind === 'coco') a.area = bbox[2] * bbox[3] * r.range(0.45, 0.7);
  return a;
}

function syntheticGt(spec: GtSpec): CocoGroundTruth {
  const r = new Rng(spec.seed);
  const { kind } = spec;
  const k = KEYPOINTS[kind];
  const ids = new Set<number>();
  while (ids.size < 11) ids.add(1 + r.int(5000));
  const imageIds = [...ids]; // file order is not id order
  const levels = spec.noEasy
    ? [0.2, 0.35, 0.5, 0.79, 0.8, 0.95]
    : [0.05, 0.19999, 0.2, 0.5, 0.79, 0.8, 0.95];
  const images = imageIds.map((id, i) => ({
    id,
    file_name: `${id}.jpg`,
    width: 640,
    height: 480,
    ...(kind === 'crowdpose' ? { crowdIndex: levels[i % levels.length] } : {}),
  }));
  const annotations: CocoAnnotation[] = [];
  let nextId = 100 + r.int(100);
  const sizes: Size[] = ['small', 'medium', 'large'];
  // the last two images have no person
  imageIds.slice(0, -2).forEach((img) => {
    const n = 1 + r.int(5);
    for (let p = 0; p < n; p++) {
      annotations.push(person(r, kind, nextId++, img, 1, sizes[r.int(3)]));
    }
  });
  const at = (i: number) => annotations[i % annotations.length];
  // area exactly on the medium bounds: inclusive on both sides
  if (kind === 'coco') {
    at(1).area = 32 ** 2;
    at(4).area = 96 ** 2;
  }
  // a crowd region: no keypoints, ignored, and it absorbs detections inside it
  const crowd = (img: number, flag: number | boolean = 1) => {
    const bbox = [r.range(0, 300), r.range(0, 200), r.range(150, 300), r.range(100, 250)];
    const a: CocoAnnotation = {
      id: nextId++,
      image_id: img,
      category_id: 1,
      keypoints: new Array(3 * k).fill(0),
      bbox,
      iscrowd: flag,
      num_keypoints: 0,
    };
    if (kind === 'coco') a.area = bbox[2] * bbox[3] * 0.6;
    annotations.push(a);
  };
  crowd(imageIds[0]);
  crowd(imageIds[3]);
  if (spec.odd) {
    crowd(imageIds[5], true);
    // labelled but num_keypoints 0: pycocotools / crowdpose ignore it, xtcocotools does not
    at(2).num_keypoints = 0;
    // no label but num_keypoints 5: xtcocotools ignores it, the others score it by its box
    const blank = at(6);
    blank.keypoints = blank.keypoints.map(() => 0);
    blank.num_keypoints = 5;
    // a person with nothing labelled, consistent: ignored by all, matched by box distance
    const none = person(r, kind, nextId++, imageIds[2], 1, 'large', 1);
    annotations.push(none);
    // only v = 2 counted (CrowdPose's convention) on a COCO file
    const partial = at(7);
    partial.num_keypoints = partial.keypoints.filter((v, i) => i % 3 === 2 && v === 2).length;
    // an image outside the image list, a category outside the category list: left out
    annotations.push(person(r, kind, nextId++, 999_999, 1, 'large'));
    annotations.push(person(r, kind, nextId++, imageIds[1], 7, 'large'));
    // an id used twice in one image: both entries resolve to the last annotation
    annotations.push({ ...person(r, kind, at(9).id, at(9).image_id, 1, 'medium') });
  }
  if (spec.twoCategories) {
    imageIds.slice(2, 7).forEach((img) => {
      annotations.push(person(r, kind, nextId++, img, 3, sizes[r.int(3)]));
    });
  }
  if (spec.idZero) at(3).id = 0;
  if (spec.odd) {
    // a crowd region annotated with keypoints: ignored for iscrowd alone
    const labelledCrowd = person(r, kind, nextId++, imageIds[4], 1, 'large');
    labelledCrowd.iscrowd = 1;
    annotations.push(labelledCrowd);
    // the same person twice: equal OKS, the later one is taken (with id 0, it matters)
    annotations.push({ ...at(3), id: nextId++ });
    // no extent: the OKS denominator is np.spacing(1) alone
    if (kind === 'coco') at(8).area = 0;
    else at(8).bbox = [at(8).bbox[0], at(8).bbox[1], 0, at(8).bbox[3]];
  }
  if (spec.noIscrowd) [at(0), at(5)].forEach((a) => delete a.iscrowd);
  const categories = [{ id: 1, name: 'person' }];
  if (spec.twoCategories) categories.push({ id: 3, name: 'statue' });
  return { images, annotations, categories };
}

/** Everything a prediction set is made from. */
interface Ctx {
  gt: CocoGroundTruth;
  k: number;
  r: Rng;
}

/** Persons of the evaluated images (crowd regions left out), in file order. */
function persons(c: Ctx): CocoAnnotation[] {
  const images = new Set(c.gt.images.map((im) => im.id));
  return c.gt.annotations.filter((a) => images.has(a.image_id) && !a.iscrowd);
}

/** A detection of `a`: labelled keypoints moved by `noise` x the box size, others anywhere. */
function detect(c: Ctx, a: CocoAnnotation, noise: number, score = c.r.next()): CocoKeypointResult {
  const [bx, by, bw, bh] = a.bbox;
  const s = Math.sqrt(bw * bh);
  const keypoints: number[] = [];
  for (let j = 0; j < c.k; j++) {
    const labelled = a.keypoints[3 * j + 2] > 0;
    keypoints.push(
      labelled ? a.keypoints[3 * j] + noise * s * c.r.normal() : bx + c.r.next() * bw,
      labelled ? a.keypoints[3 * j + 1] + noise * s * c.r.normal() : by + c.r.next() * bh,
      c.r.range(0.05, 1),
    );
  }
  return { image_id: a.image_id, category_id: a.category_id, keypoints, score };
}

/** A person where there is none: boxes of every size, some exactly on the range bounds. */
function falsePositive(c: Ctx, image_id: number, score = c.r.next()): CocoKeypointResult {
  const sides = [[32, 32], [96, 96], [31, 33], [10, 20], [60, 80], [200, 300]];
  const [w, h] = sides[c.r.int(sides.length)];
  const x = c.r.range(0, 400), y = c.r.range(0, 200);
  const keypoints: number[] = [];
  for (let j = 0; j < c.k; j++) {
    // the first two keypoints span the box exactly: the keypoint extent is w x h too
    const px = j === 0 ? x : j === 1 ? x + w : x + c.r.next() * w;
    const py = j === 0 ? y : j === 1 ? y + h : y + c.r.next() * h;
    keypoints.push(px, py, c.r.range(0.05, 1));
  }
  return { image_id, category_id: 1, keypoints, score, bbox: [x, y, w, h] };
}

const noBox = (d: CocoKeypointResult): CocoKeypointResult => {
  const { bbox: _bbox, ...rest } = d;
  return rest;
};
const imageIds = (c: Ctx) => c.gt.images.map((im) => im.id);
/** One of the first `n` images of the file (all of them when there are fewer). */
const someImage = (c: Ctx, n: number) => imageIds(c)[c.r.int(Math.min(n, c.gt.images.length))];
const categoryOf = (c: Ctx) => (c.gt.categories ?? [{ id: 1 }]).map((x) => x.id);

/** Named prediction sets; each is generated from its own seed. */
const SETS: [string, (c: Ctx) => CocoKeypointResult[]][] = [
  ['exact copies', (c) => persons(c).map((a) => detect(c, a, 0))],
  ['noise 0.02', (c) => persons(c).map((a) => detect(c, a, 0.02))],
  ['noise 0.06', (c) => persons(c).map((a) => detect(c, a, 0.06))],
  ['noise 0.12', (c) => persons(c).map((a) => detect(c, a, 0.12))],
  ['noise 0.3', (c) => persons(c).map((a) => detect(c, a, 0.3))],
  ['noise 0 to 0.5 per person', (c) => persons(c).map((a) => detect(c, a, c.r.range(0, 0.5)))],
  [
    '40% missed',
    (c) => persons(c).filter(() => c.r.next() > 0.4).map((a) => detect(c, a, 0.05)),
  ],
  ['false positives', (c) => [
    ...persons(c).map((a) => detect(c, a, 0.05)),
    ...Array.from({ length: 25 }, () => noBox(falsePositive(c, someImage(c, 5)))),
  ]],
  ['tied scores and duplicates', (c) => {
    const out = persons(c).map((a) => detect(c, a, 0.08, [0.3, 0.6, 0.9][c.r.int(3)]));
    return [...out, ...out.filter(() => c.r.chance(0.3)).map((d) => ({ ...d }))];
  }],
  ['one score for all, across images', (c) => persons(c).map((a) => detect(c, a, 0.1, 0.5))],
  ['35 on one image: high-scored false positives first', (c) => {
    const img = persons(c)[0].image_id;
    const fps = Array.from({ length: 30 }, () => falsePositive(c, img, c.r.range(0.5, 1)));
    const tps = persons(c).map((a) => detect(c, a, 0.03, c.r.range(0.1, 0.3)));
    return [...fps, ...tps].map(noBox);
  }],
  ['with bbox, some on the area bounds', (c) => [
    ...persons(c).map((a) => ({
      ...detect(c, a, 0.05),
      bbox: a.bbox.map((v) => v * c.r.range(0.9, 1.1)),
    })),
    ...Array.from({ length: 12 }, () => falsePositive(c, someImage(c, 8))),
  ]],
  ['first without bbox, others with: areas from keypoints', (c) =>
    persons(c).map((a, i) => ({
      ...detect(c, a, 0.07),
      ...(i === 0 ? {} : { bbox: [0, 0, 1e4, 1e4] }),
    }))],
  ['keypoint scores zero, negative or partly zero', (c) =>
    persons(c).map((a, i) => {
      const d = detect(c, a, 0.06);
      const mode = i === 0 ? 3 : c.r.int(4);
      d.keypoints = d.keypoints.map((v, j) =>
        j % 3 !== 2 ? v : mode === 0 ? 0 : mode === 1 ? -v : mode === 2 && j % 2 ? 0 : v
      );
      return d;
    })],
  ['on images without persons', (c) => {
    const ids = imageIds(c);
    return [
      ...persons(c).map((a) => detect(c, a, 0.05)),
      ...ids.slice(-2).flatMap((
        img,
      ) => [noBox(falsePositive(c, img)), noBox(falsePositive(c, img))]),
    ];
  }],
  ['inside crowd regions', (c) => {
    const crowds = c.gt.annotations.filter((a) => a.iscrowd);
    const inside = crowds.flatMap((a) =>
      Array.from({ length: 6 }, () => {
        const [bx, by, bw, bh] = a.bbox;
        const keypoints = Array.from({ length: c.k }, () => [
          bx + c.r.range(-0.5, 1.5) * bw,
          by + c.r.range(-0.5, 1.5) * bh,
          c.r.range(0.1, 1),
        ]).flat();
        return { image_id: a.image_id, category_id: 1, keypoints, score: c.r.next() };
      })
    ).filter((d) => imageIds(c).includes(d.image_id));
    return [...persons(c).map((a) => detect(c, a, 0.08)), ...inside];
  }],
  ['integer coordinates and scores', (c) =>
    persons(c).map((a) => {
      const d = detect(c, a, 0.05, c.r.int(3));
      d.keypoints = d.keypoints.map((v, j) => (j % 3 === 2 ? 1 : Math.round(v)));
      return d;
    })],
  ['unknown category', (c) =>
    persons(c).map((a) => ({
      ...detect(c, a, 0.04),
      ...(c.r.chance(0.3) ? { category_id: 99 } : {}),
    }))],
  ['collapsed and sprawling detections', (c) =>
    persons(c).map((a) => {
      const d = detect(c, a, 0.05);
      const mode = c.r.int(3);
      if (mode === 0) d.keypoints = d.keypoints.map((v, j) => (j % 3 === 2 ? v : 50));
      if (mode === 1) d.keypoints = [-2000, ...d.keypoints.slice(1)];
      return d;
    })],
  [
    'every category',
    (c) =>
      categoryOf(c).flatMap((cat) =>
        persons(c).map((a) => ({ ...detect(c, a, 0.08), category_id: cat }))
      ),
  ],
  ['empty', () => []],
  ['an image outside the ground truth', (c) => [
    ...persons(c).map((a) => detect(c, a, 0.05)),
    { ...detect(c, persons(c)[0], 0.05), image_id: 987_654_321 },
  ]],
  ['first with bbox, a later one without', (c) =>
    persons(c).map((a, i) => ({
      ...detect(c, a, 0.05),
      ...(i === 0 ? { bbox: a.bbox } : {}),
    }))],
];

interface Case {
  flavour: CocoMetricFlavour | 'xtcocotools-crowd';
  label: string;
  gt: CocoGroundTruth;
  sigmas: number[] | null;
  sets: { name: string; results: CocoKeypointResult[] }[];
}

function makeCase(
  flavour: Case['flavour'],
  label: string,
  gt: CocoGroundTruth,
  kind: Kind,
): Case {
  const sets = SETS.map(([name, make]) => {
    const c = { gt, k: KEYPOINTS[kind], r: new Rng(seedOf(label, name)) };
    return { name, results: make(c) };
  });
  return { flavour, label, gt, sigmas: null, sets };
}

const SYNTHETIC: Record<Kind, GtSpec[]> = {
  coco: [
    { name: 'synthetic COCO', kind: 'coco', seed: 11 },
    { name: 'synthetic COCO, odd annotations', kind: 'coco', seed: 12, odd: true, idZero: true },
    { name: 'synthetic COCO, two categories', kind: 'coco', seed: 13, twoCategories: true },
  ],
  crowdpose: [
    { name: 'synthetic CrowdPose', kind: 'crowdpose', seed: 21 },
    {
      name: 'synthetic CrowdPose, odd, no easy image',
      kind: 'crowdpose',
      seed: 22,
      odd: true,
      noEasy: true,
    },
  ],
};

const SHARED_GT: Record<Kind, string> = {
  coco: join(SHARED, 'coco', 'test_coco.json'),
  crowdpose: join(SHARED, 'crowdpose', 'test_crowdpose.json'),
};
const sharedPresent = hasShared && Object.values(SHARED_GT).every((f) => existsSync(f));

/** Every case: each flavour on its synthetic ground truths, and on the shared ones if present. */
function cases(): Case[] {
  const out: Case[] = [];
  const kinds: [Case['flavour'], Kind][] = [
    ['xtcocotools', 'coco'],
    ['pycocotools', 'coco'],
    ['crowdpose', 'crowdpose'],
    ['xtcocotools-crowd', 'crowdpose'],
  ];
  for (const [flavour, kind] of kinds) {
    for (const spec of SYNTHETIC[kind]) {
      out.push(makeCase(flavour, spec.name, syntheticGt(spec), kind));
    }
    if (flavour === 'xtcocotools') {
      const spec = { name: 'synthetic COCO, iscrowd missing', kind, seed: 14, noIscrowd: true };
      out.push(makeCase(flavour, spec.name, syntheticGt(spec), kind));
    }
    if (sharedPresent) {
      const gt = JSON.parse(readFileSync(SHARED_GT[kind], 'utf8'));
      out.push(makeCase(flavour, `shared ${kind}`, gt, kind));
    }
  }
  // a sigmas argument, as mmpose passes one (xtcocotools) or the params hold it (pycocotools)
  const spread = COCO_SIGMAS.map((s, i) => s * (0.5 + i / 16));
  for (const flavour of ['xtcocotools', 'pycocotools'] as const) {
    const c = makeCase(
      flavour,
      'synthetic COCO, other sigmas',
      syntheticGt(SYNTHETIC.coco[0]),
      'coco',
    );
    c.sigmas = spread;
    c.sets = c.sets.slice(0, 8);
    out.push(c);
  }
  return out;
}

// ---- against the references ------------------------------------------------------------------

const pythonReady = hasPython('numpy');
const whyNoPython = `${PYTHON} with numpy is missing: no reference to compare with`;

interface RefSet {
  name: string;
  stats?: number[];
  error?: string;
}
interface RefOutput {
  iouThrs: Record<string, number[]>;
  recThrs: Record<string, number[]>;
  cases: { sets: RefSet[] }[];
}

let computed: Promise<{ cases: Case[]; ref: RefOutput }> | undefined;

/** Runs the harness once for every case (one Python process), then reuses its answer. */
function reference(): Promise<{ cases: Case[]; ref: RefOutput }> {
  computed ??= (async () => {
    const all = cases();
    const dir = await tempDir('srpose-coco-eval-');
    const { writeFile, rm } = await import('node:fs/promises');
    const spec = join(dir, 'spec.json');
    await writeFile(spec, JSON.stringify({ cases: all }));
    try {
      const ref: RefOutput = await python([
        join('tests', 'python', 'coco_eval_reference.py'),
        spec,
      ]);
      return { cases: all, ref };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  })();
  return computed;
}

type Outcome = { stats: number[] } | { error: unknown };

function run(
  gt: CocoGroundTruth,
  results: CocoKeypointResult[],
  flavour: CocoMetricFlavour,
  sigmas: number[] | null,
): Outcome {
  try {
    return {
      stats: evaluateKeypoints(gt, results, { flavour, sigmas: sigmas ?? undefined }).stats,
    };
  } catch (error) {
    return { error };
  }
}

/** Compares every set of the cases of `flavour` (synthetic or shared) with the reference. */
async function compare(flavour: CocoMetricFlavour, shared: boolean): Promise<void> {
  const { cases: all, ref } = await reference();
  let sets = 0, refused = 0, worst = 0;
  all.forEach((c, ci) => {
    if (c.flavour !== flavour || c.label.startsWith('shared') !== shared) return;
    c.sets.forEach((s, si) => {
      const want = ref.cases[ci].sets[si];
      const got = run(c.gt, s.results, flavour, c.sigmas);
      const where = `${flavour}, ${c.label}, '${s.name}'`;
      sets++;
      if (want.error !== undefined) {
        if (s.name === 'empty' && /IndexError/.test(want.error)) {
          // pycocotools and crowdposetools index results[0]: ours measures nothing instead
          assert.ok('stats' in got, `${where}: ${'error' in got ? got.error : ''}`);
          if ('stats' in got) assert.ok(got.stats.every((v) => v === 0 || v === -1), where);
          return;
        }
        assert.ok('error' in got, `${where}: the reference fails (${want.error}), ours did not`);
        if ('error' in got) {
          assert.ok(isSRPoseError(got.error, 'INVALID_OPTION'), `${where}: ${got.error}`);
        }
        refused++;
        return;
      }
      if ('error' in got) assert.unreachable(`${where}: ${got.error}`);
      const stats = (got as { stats: number[] }).stats;
      assert.is(stats.length, want.stats!.length, where);
      stats.forEach((v, i) => {
        const d = Math.abs(v - want.stats![i]);
        worst = Math.max(worst, d);
        assert.ok(d <= 1e-12, `${where}, stat ${i}: ${v} vs ${want.stats![i]}`);
      });
    });
  });
  console.log(
    `    ${flavour}${shared ? ' (shared data)' : ''}: ${sets} sets, ${refused} refused as the ` +
      `reference refuses them, largest difference ${worst}`,
  );
  assert.ok(sets >= (shared ? SETS.length : 30), `${sets} sets`);
}

for (const flavour of COCO_METRIC_FLAVOURS) {
  test(`${flavour}: equals the reference on synthetic ground truths (1e-12)`, async () => {
    if (skipUnless(pythonReady, whyNoPython)) return;
    await compare(flavour, false);
  });
}

test('equals the references on the shared COCO and CrowdPose annotations (1e-12)', async () => {
  if (skipUnless(pythonReady, whyNoPython)) return;
  if (skipUnless(sharedPresent, `${SHARED} lacks coco/ or crowdpose/ annotations`)) return;
  for (const flavour of COCO_METRIC_FLAVOURS) await compare(flavour, true);
});

test("mmpose's CrowdPose metric (keypoints_crowd) = crowdpose less unscored", async () => {
  if (skipUnless(pythonReady, whyNoPython)) return;
  const { cases: all, ref } = await reference();
  let n = 0;
  all.forEach((c, ci) => {
    if (c.flavour !== 'xtcocotools-crowd') return;
    c.sets.forEach((s, si) => {
      const want = ref.cases[ci].sets[si];
      const scored = s.results.filter((d) => d.keypoints.some((v, j) => j % 3 === 2 && v > 0));
      const sameMode = !!s.results[0]?.bbox?.length === !!scored[0]?.bbox?.length;
      const got = run(c.gt, scored, 'crowdpose', null);
      if (want.error !== undefined || !sameMode) return;
      assert.ok('stats' in got, `${c.label}, '${s.name}'`);
      const stats = (got as { stats: number[] }).stats;
      stats.forEach((v, i) => {
        assert.ok(Math.abs(v - want.stats![i]) <= 1e-12, `${c.label}, '${s.name}', stat ${i}`);
      });
      n++;
    });
  });
  assert.ok(n >= 30, `${n} sets`);
});

test('the sets exercise the differences between the references', async () => {
  if (skipUnless(pythonReady, whyNoPython)) return;
  const { cases: all, ref } = await reference();
  const stats = (flavour: string, label: string, name: string) => {
    const ci = all.findIndex((c) => c.flavour === flavour && c.label === label);
    return ref.cases[ci].sets.find((s) => s.name === name)?.stats;
  };
  const label = 'synthetic COCO, odd annotations';
  const differ = SETS.filter(([name]) => {
    const a = stats('xtcocotools', label, name);
    const b = stats('pycocotools', label, name);
    return a && b && a.some((v, i) => v !== b[i]);
  });
  assert.ok(differ.length >= 5, `xtcocotools and pycocotools differ on ${differ.length} sets`);
});

// ---- the easy mistakes, directly ---------------------------------------------------------------

test('thresholds are np.linspace bit for bit', async () => {
  assert.is(COCO_IOU_THRESHOLDS.length, 10);
  assert.is(COCO_RECALL_THRESHOLDS.length, 101);
  // numpy's i * step + start: not 0.9, and not what .5 + .05 * i gives everywhere
  assert.ok(Object.is(COCO_IOU_THRESHOLDS[8], 0.8999999999999999));
  assert.ok(Object.is(COCO_IOU_THRESHOLDS[5], 0.75));
  assert.ok(Object.is(COCO_IOU_THRESHOLDS[9], 0.95));
  COCO_RECALL_THRESHOLDS.forEach((v, i) => assert.ok(Object.is(v, i * (1 / 100)), `recall ${i}`));
  assert.equal(Array.from(linspace(0, 1, 1)), [0]);
  assert.equal(Array.from(linspace(2, 3, 2)), [2, 3]);
  if (skipUnless(pythonReady, whyNoPython)) return;
  const { ref } = await reference();
  for (const f of ['xtcocotools', 'pycocotools', 'crowdposetools']) {
    ref.iouThrs[f].forEach((v, i) => assert.ok(Object.is(v, COCO_IOU_THRESHOLDS[i]), `${f} ${i}`));
    ref.recThrs[f].forEach((v, i) =>
      assert.ok(Object.is(v, COCO_RECALL_THRESHOLDS[i]), `${f} ${i}`)
    );
  }
});

/** One large person per image, all 17 keypoints visible. */
function oneEach(imageIds: number[]): CocoGroundTruth {
  const r = new Rng(5);
  return {
    images: imageIds.map((id) => ({ id })),
    annotations: imageIds.map((img, i) => {
      const a = person(r, 'coco', 10 + i, img, 1, 'large', 0);
      a.area = 20000;
      return a;
    }),
    categories: [{ id: 1 }],
  };
}

const exact = (a: CocoAnnotation, score: number): CocoKeypointResult => ({
  image_id: a.image_id,
  category_id: 1,
  keypoints: a.keypoints.map((v, j) => (j % 3 === 2 ? 1 : v)),
  score,
});
const far = (image_id: number, score: number): CocoKeypointResult => ({
  image_id,
  category_id: 1,
  keypoints: Array.from({ length: 51 }, (_, j) => (j % 3 === 2 ? 1 : 5000 + j)),
  score,
});

test('equal scores rank by image id, then file order (stable sorts)', () => {
  // files list image 2 first; image 1's miss comes before its hit
  const gt = oneEach([2, 1]);
  const [a2, a1] = gt.annotations;
  const results = [exact(a2, 0.5), far(1, 0.5), exact(a1, 0.5)];
  for (const flavour of COCO_METRIC_FLAVOURS.filter((f) => f !== 'crowdpose')) {
    const { stats } = evaluateKeypoints(gt, results, { flavour });
    // ranked miss, hit, hit: precision 2/3 at every recall. File order would give
    // hit, miss, hit: precision 1 up to recall .5, 2/3 after (AP 0.835)
    assert.ok(Math.abs(stats[0] - 2 / 3) < 1e-12, `${flavour}: AP ${stats[0]}`);
    assert.ok(Math.abs(stats[5] - 1) < 1e-12, `${flavour}: AR ${stats[5]}`);
  }
  // more than 20 on an image: the 20 best by score (ties in file order) are kept
  const many = [exact(a1, 0.1), ...Array.from({ length: 20 }, () => far(1, 0.1))];
  assert.is(evaluateKeypoints(gt, many).stats[5], 0.5, 'the hit, first of 21 tied, is kept');
  const late = [...Array.from({ length: 20 }, () => far(1, 0.1)), exact(a1, 0.1)];
  assert.is(evaluateKeypoints(gt, late).stats[5], 0, 'the hit, 21st of 21 tied, is cut');
});

test('an area range without ground truth gives -1', () => {
  const gt = oneEach([1, 2, 3]);
  const results = gt.annotations.map((a) => exact(a, 0.9));
  for (const flavour of ['xtcocotools', 'pycocotools'] as const) {
    const m = evaluateKeypoints(gt, results, { flavour });
    assert.equal(m.names, [
      'AP',
      'AP .5',
      'AP .75',
      'AP (M)',
      'AP (L)',
      'AR',
      'AR .5',
      'AR .75',
      'AR (M)',
      'AR (L)',
    ]);
    // every person is large: nothing medium to measure
    assert.is(m.stats[3], -1);
    assert.is(m.stats[8], -1);
    assert.ok(Math.abs(m.stats[4] - 1) < 1e-12 && m.stats[9] === 1);
  }
  // no ground truth at all: every stat -1
  const none = evaluateKeypoints(
    { images: [{ id: 1 }], annotations: [], categories: [{ id: 1 }] },
    [
      far(1, 0.3),
    ],
  );
  assert.equal(none.stats, new Array(10).fill(-1));
});

test('where the flavours differ: unscored detections, num_keypoints, id 0', () => {
  const gt = oneEach([1, 2]);
  const [a1, a2] = gt.annotations;
  // a detection without a positive keypoint score: dropped by xtcocotools, a miss elsewhere
  const unscored = {
    ...far(1, 0.9),
    keypoints: far(1, 0.9).keypoints.map((v, j) => (j % 3 === 2 ? 0 : v)),
  };
  const results = [unscored, exact(a1, 0.5), exact(a2, 0.5)];
  assert.ok(Math.abs(evaluateKeypoints(gt, results).stats[0] - 1) < 1e-12);
  assert.ok(evaluateKeypoints(gt, results, { flavour: 'pycocotools' }).stats[0] < 0.9);
  // num_keypoints 0 on a labelled person: pycocotools ignores it, xtcocotools counts labels
  // (so a person nobody detected costs recall in one, nothing in the other)
  const zero: CocoGroundTruth = { ...gt, annotations: [{ ...a1, num_keypoints: 0 }, a2] };
  assert.is(evaluateKeypoints(zero, [exact(a2, 0.5)]).stats[5], 0.5);
  assert.is(evaluateKeypoints(zero, [exact(a2, 0.5)], { flavour: 'pycocotools' }).stats[5], 1);
  const two = [exact(a1, 0.5), exact(a2, 0.5)];
  // ground-truth id 0: pycocotools stores matches by id with 0 meaning none
  const idZero: CocoGroundTruth = { ...gt, annotations: [{ ...a1, id: 0 }, a2] };
  assert.is(evaluateKeypoints(idZero, two).stats[5], 1);
  assert.is(evaluateKeypoints(idZero, two, { flavour: 'pycocotools' }).stats[5], 0.5);
});

function throwsInvalid(fn: () => unknown, re: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.ok(isSRPoseError(e, 'INVALID_OPTION'), `expected INVALID_OPTION, got ${e}`);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected INVALID_OPTION ${re}`);
}

test('bad inputs -> INVALID_OPTION', () => {
  const gt = oneEach([1, 2]);
  const ok = [exact(gt.annotations[0], 0.5)];
  const flavour = 'coco' as unknown as CocoMetricFlavour;
  throwsInvalid(() => evaluateKeypoints(gt, ok, { flavour }), /flavour/);
  throwsInvalid(() => evaluateKeypoints(gt, ok, { sigmas: CROWDPOSE_SIGMAS }), /keypoints/);
  throwsInvalid(() => evaluateKeypoints(gt, ok, { sigmas: [] }), /sigmas/);
  throwsInvalid(() => evaluateKeypoints(gt, ok, { sigmas: COCO_SIGMAS.map(() => 0) }), /sigmas/);
  throwsInvalid(() => evaluateKeypoints(gt, [far(3, 0.5)]), /not an image of the ground truth/);
  throwsInvalid(() => evaluateKeypoints(gt, {} as unknown as CocoKeypointResult[]), /array/);
  throwsInvalid(() => evaluateKeypoints({} as CocoGroundTruth, ok), /images/);
  throwsInvalid(() => evaluateKeypoints(gt, [{ ...ok[0], keypoints: [1, 2, 3] }]), /keypoints/);
  const noArea: CocoGroundTruth = {
    ...gt,
    annotations: gt.annotations.map(({ area: _area, ...a }) => a as CocoAnnotation),
  };
  throwsInvalid(() => evaluateKeypoints(noArea, ok, { flavour: 'pycocotools' }), /area/);
  throwsInvalid(() => evaluateKeypoints(noArea, ok), /area/);
  const noCount: CocoGroundTruth = {
    ...gt,
    annotations: gt.annotations.map(({ num_keypoints: _n, ...a }) => a as CocoAnnotation),
  };
  throwsInvalid(() => evaluateKeypoints(noCount, ok, { flavour: 'pycocotools' }), /num_keypoints/);
  evaluateKeypoints(noCount, ok); // xtcocotools counts the labels instead
  throwsInvalid(
    () => evaluateKeypoints(gt, ok, { flavour: 'crowdpose', sigmas: COCO_SIGMAS }),
    /crowdIndex/,
  );
  throwsInvalid(() => evaluateKeypoints(gt, [{ ...ok[0], bbox: [1, 2, 3, 4] }, ok[0]]), /bbox/);
});

test.run();
