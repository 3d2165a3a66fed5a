// `srpose eval` against the official evaluation on a shared COCO photo and its detections
// (res50 test model, flip test off):
//   1. the results file equals, value for value, what the official `TopDownCocoDataset.evaluate`
//      (vendored, run by tests/python/eval_post_reference.py) writes from the same per-box
//      predictions (the estimator's, as the model's forward_test would hand them over);
//   2. its metrics equal xtcocotools' COCOeval (vendored, tests/python/coco_eval_reference.py)
//      on that file, to 1e-12;
//   3. the official pipeline end to end (the PyTorch reference pipeline of models/reference.py,
//      then the official evaluate and xtcocotools) gives the same metrics: per-box keypoints
//      agree as parity/pipeline bounds them, so the numbers do (0 here: random weights).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  hasModel,
  hasShared,
  modelDir,
  python,
  requirement,
  SHARED,
  suiteSkipped,
  tempDir,
} from '../helpers/env.ts';
import { COCO_SIGMAS, CROWDPOSE_SIGMAS } from '../../src/core/sigmas.ts';
import { cachedReference, OUT } from '../helpers/reference.ts';
import { evalPostReference } from '../helpers/eval-reference.ts';
import { main } from '../../src/cli/main.ts';
import { createEstimator } from '../../src/estimator/estimator.ts';
import { boxToCenterScale } from '../../src/core/boxes.ts';
import { loadNative, NATIVE_PACKAGE } from '../../src/runtime/native.ts';
import type { Box } from '../../src/types.ts';
import { COCO_TOPDOWN_EVAL } from '../../src/core/eval/oks-nms.ts';

const req = requirement(
  [hasShared, 'eval parity needs ../shared/data/coco'],
  [hasModel('res50'), 'eval parity needs the res50 test model (npm run models)'],
  [hasModel('res50_crowdpose'), 'eval parity needs the res50_crowdpose test model'],
  [hasModel('res50_mpii'), 'eval parity needs the res50_mpii test model'],
);
const COCO = join(SHARED, 'coco');
// one of the four photos (22 of the 118 detections): the PyTorch side's time stays small
const IMAGES = [785];
const backend = typeof (await loadNative(NATIVE_PACKAGE)) !== 'string' ? 'native' : 'wasm';
const f32 = Math.fround;

interface Job {
  imageId: number;
  file: string;
  boxes: Box[];
}

/** The official loader: person detections in file order, grouped by image as they come. */
async function officialJobs(dir: string): Promise<{ jobs: Job[]; detFile: string }> {
  const gt = JSON.parse(await readFile(join(COCO, 'test_coco.json'), 'utf8'));
  const dets = JSON.parse(await readFile(join(COCO, 'test_coco_det_AP_H_56.json'), 'utf8'))
    .filter((d: any) => IMAGES.includes(d.image_id));
  const detFile = join(dir, 'dets.json');
  await writeFile(detFile, JSON.stringify(dets));
  const jobs = new Map<number, Job>();
  for (const d of dets) {
    if (d.category_id !== 1 || d.score < COCO_TOPDOWN_EVAL.detBboxThr) continue;
    if (!jobs.has(d.image_id)) {
      const file = gt.images.find((im: any) => im.id === d.image_id).file_name;
      jobs.set(d.image_id, { imageId: d.image_id, file, boxes: [] });
    }
    jobs.get(d.image_id)!.boxes.push([d.bbox[0], d.bbox[1], d.bbox[2], d.bbox[3], d.score]);
  }
  return { jobs: [...jobs.values()], detFile };
}

/** The official evaluate over per-box predictions (keypoints, centre, scale), image by image. */
async function officialEvaluate(
  jobs: Job[],
  preds: { keypoints: number[]; center: number[]; scale: number[] }[][],
  dataset: 'coco' | 'crowdpose' = 'coco',
): Promise<any[]> {
  let bboxId = 0;
  const images = jobs.map((job, i) =>
    job.boxes.map((b, q) => ({
      keypoints: preds[i][q].keypoints,
      center: preds[i][q].center,
      scale: preds[i][q].scale,
      // TopDown.forward_test: boxes[:, 4] = np.prod(s * 200.0, axis=1), float32
      area: f32(f32(preds[i][q].scale[0] * 200) * f32(preds[i][q].scale[1] * 200)),
      score: b[4] ?? 1,
      bboxId: bboxId++,
    }))
  );
  const { out } = await evalPostReference({
    evaluate: [{
      dataset,
      oksThr: COCO_TOPDOWN_EVAL.oksThr,
      visThr: COCO_TOPDOWN_EVAL.visThr,
      softNms: COCO_TOPDOWN_EVAL.softNms,
      useNms: COCO_TOPDOWN_EVAL.useNms,
      sigmas: dataset === 'coco' ? COCO_SIGMAS : CROWDPOSE_SIGMAS,
      batch: 32, // the test config's samples_per_gpu
      images,
    }],
  });
  const [results] = out.evaluate;
  // the harness names image i 1000 + i
  return results.map((r: any) => ({ ...r, image_id: jobs[r.image_id - 1000].imageId }));
}

/** xtcocotools' stats of `results` on a shared ground truth (mmpose's call for CrowdPose). */
async function xtcocotools(
  dir: string,
  results: any[],
  annotations = join(COCO, 'test_coco.json'),
  flavour = 'xtcocotools',
  sigmas: readonly number[] = COCO_SIGMAS,
): Promise<number[]> {
  const gt = JSON.parse(await readFile(annotations, 'utf8'));
  const spec = join(dir, `coco-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(
    spec,
    JSON.stringify({
      cases: [{ flavour, gt, sigmas, sets: [{ name: 'r', results }] }],
    }),
  );
  const out = await python(['tests/python/coco_eval_reference.py', spec]);
  const set = out.cases[0].sets[0];
  if (set.error) throw new Error(`xtcocotools: ${set.error}`);
  return set.stats;
}

test('srpose eval = the official evaluate and xtcocotools on the same predictions', async () => {
  if (suiteSkipped(req)) return;
  const dir = await tempDir('srpose-eval-parity-');
  const { jobs, detFile } = await officialJobs(dir);
  const out = join(dir, 'results.json');
  const printed: string[] = [];
  const code = await main(
    [
      'eval',
      '--dataset',
      'coco',
      '--annotations',
      join(COCO, 'test_coco.json'),
      '--images',
      COCO,
      '--detections',
      detFile,
      '--model',
      modelDir('res50'),
      '--backend',
      backend,
      '--no-flip',
      '--out',
      out,
      '--json',
    ],
    (s) => printed.push(s),
    (s) => printed.push(s),
  );
  assert.is(code, 0, printed.join('\n'));
  const ours = JSON.parse(await readFile(out, 'utf8'));
  const stats = JSON.parse(printed.join('\n')).stats;

  // the per-box predictions, as the model's test step hands them to evaluate (float32)
  const est = await createEstimator({ model: modelDir('res50'), backend, flipTest: false });
  const preds = [];
  try {
    for (const job of jobs) {
      const r = await est.estimate(await readFile(join(COCO, job.file)), { boxes: job.boxes });
      preds.push(r.people.map((p, q) => {
        const { center, scale } = boxToCenterScale(job.boxes[q], 192, 256);
        return {
          keypoints: p.keypoints.flatMap((k) => [f32(k.x), f32(k.y), f32(k.score)]),
          center,
          scale,
        };
      }));
    }
  } finally {
    await est.dispose();
  }
  const official = await officialEvaluate(jobs, preds);
  assert.is(ours.length, official.length, 'as many people kept');
  ours.forEach((r: any, i: number) => {
    const o = official[i];
    assert.equal(
      [r.image_id, r.category_id, r.score, r.center, r.scale, r.keypoints],
      [o.image_id, o.category_id, o.score, o.center, o.scale, o.keypoints],
      `result ${i}`,
    );
  });
  const reference = await xtcocotools(dir, official);
  stats.forEach((v: number, i: number) =>
    assert.ok(Math.abs(v - reference[i]) <= 1e-12, `stat ${i}: ${v} vs ${reference[i]}`)
  );

  // the official pipeline end to end: PyTorch reference keypoints -> evaluate -> xtcocotools
  const spec = join(dir, 'spec.json');
  await writeFile(
    spec,
    JSON.stringify(jobs.map((j) => ({
      image: join(COCO, j.file),
      boxes: j.boxes.map((b) => b.slice(0, 4)),
    }))),
  );
  const ref = await cachedReference([
    'models/reference.py',
    'batch-pipeline',
    '--arch',
    'res50',
    '--checkpoint',
    join(modelDir('res50'), 'checkpoint.pth'),
    '--spec',
    spec,
    '--out',
    join(OUT, 'ref.json'),
  ], { models: [modelDir('res50')], inputs: [spec] });
  const torch = JSON.parse(await readFile(join(ref.dir, 'ref.json'), 'utf8'));
  const torchPreds = torch.map((img: any) =>
    img.keypoints.map((kp: number[][], q: number) => ({
      keypoints: kp.flat(),
      center: img.centers[q],
      scale: img.scales[q],
    }))
  );
  const pipeline = await xtcocotools(dir, await officialEvaluate(jobs, torchPreds));
  stats.forEach((v: number, i: number) =>
    assert.ok(Math.abs(v - pipeline[i]) <= 1e-3, `official pipeline stat ${i}: ${pipeline[i]}`)
  );
  console.log(
    `    ${ours.length} results kept of ${jobs.reduce((n, j) => n + j.boxes.length, 0)} boxes; ` +
      `AP ${stats[0]} (official pipeline ${pipeline[0]}); ${backend}`,
  );
});

/** Runs `srpose eval` in process; returns its results file and printed metrics. */
async function srposeEval(args: string[], out: string): Promise<{ results: any[]; stats: any }> {
  const printed: string[] = [];
  const code = await main(
    ['eval', ...args, '--backend', backend, '--no-flip', '--out', out, '--json'],
    (s) => printed.push(s),
    (s) => printed.push(s),
  );
  assert.is(code, 0, printed.join('\n'));
  return {
    results: JSON.parse(await readFile(out, 'utf8')),
    stats: JSON.parse(printed.join('\n')).stats,
  };
}

/** The estimator's per-box predictions (float32, with the crop's centre and scale). */
async function predictions(model: string, images: string, jobs: Job[]) {
  const est = await createEstimator({ model, backend, flipTest: false });
  const { width, height } = est.info.input;
  try {
    const preds = [];
    for (const job of jobs) {
      const r = await est.estimate(await readFile(join(images, job.file)), { boxes: job.boxes });
      preds.push(r.people.map((p, q) => {
        const { center, scale } = boxToCenterScale(job.boxes[q], width, height);
        return {
          keypoints: p.keypoints.flatMap((k) => [f32(k.x), f32(k.y), f32(k.score)]),
          center,
          scale,
        };
      }));
    }
    return preds;
  } finally {
    await est.dispose();
  }
}

test("CrowdPose: srpose eval = the official evaluate and mmpose's xtcocotools call", async () => {
  if (suiteSkipped(req)) return;
  const dir = await tempDir('srpose-eval-crowd-');
  const CROWD = join(SHARED, 'crowdpose');
  const annotations = join(CROWD, 'test_crowdpose.json');
  const detFile = join(CROWD, 'test_crowdpose_det_AP_40.json');
  const gt = JSON.parse(await readFile(annotations, 'utf8'));
  const jobs = new Map<number, Job>();
  for (const d of JSON.parse(await readFile(detFile, 'utf8'))) {
    if (d.category_id !== 1) continue;
    if (!jobs.has(d.image_id)) {
      const file = gt.images.find((im: any) => im.id === d.image_id).file_name;
      jobs.set(d.image_id, { imageId: d.image_id, file, boxes: [] });
    }
    jobs.get(d.image_id)!.boxes.push([d.bbox[0], d.bbox[1], d.bbox[2], d.bbox[3], d.score]);
  }
  const model = modelDir('res50_crowdpose');
  const { results, stats } = await srposeEval([
    '--dataset',
    'crowdpose',
    '--annotations',
    annotations,
    '--images',
    CROWD,
    '--detections',
    detFile,
    '--model',
    model,
  ], join(dir, 'results.json'));
  const official = await officialEvaluate(
    [...jobs.values()],
    await predictions(model, CROWD, [...jobs.values()]),
    'crowdpose',
  );
  assert.equal(results, official);
  const reference = await xtcocotools(
    dir,
    official,
    annotations,
    'xtcocotools-crowd',
    CROWDPOSE_SIGMAS,
  );
  assert.is(stats.length, 9);
  stats.forEach((v: number, i: number) =>
    assert.ok(Math.abs(v - reference[i]) <= 1e-12, `stat ${i}: ${v} vs ${reference[i]}`)
  );
});

test('MPII: the official centre and scale, and PCKh = TopDownMpiiDataset.evaluate', async () => {
  if (suiteSkipped(req)) return;
  const dir = await tempDir('srpose-eval-mpii-');
  const MPII = join(SHARED, 'mpii');
  const annotations = join(MPII, 'test_mpii.json');
  const people = JSON.parse(await readFile(annotations, 'utf8'));
  // the PCKh ground truth: the annotated joints (1-based), their visibility, and a head box
  // made from the upper neck (8) and head top (9), as MPII's head boxes frame that segment
  const truth = {
    joints: people.map((p: any) => p.joints),
    missing: people.map((p: any) => p.joints_vis.map((v: number) => 1 - v)),
    headBoxes: people.map((p: any) => {
      const [a, b] = [p.joints[8], p.joints[9]];
      const r = Math.hypot(a[0] - b[0], a[1] - b[1]) / 2;
      const [cx, cy] = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
      return [[cx - r, cy - r], [cx + r, cy + r]];
    }),
  };
  const gtFile = join(dir, 'mpii_gt_val.json');
  await writeFile(gtFile, JSON.stringify(truth));
  const model = modelDir('res50_mpii');
  const { results, stats } = await srposeEval([
    '--dataset',
    'mpii',
    '--annotations',
    annotations,
    '--images',
    MPII,
    '--ground-truth',
    gtFile,
    '--model',
    model,
  ], join(dir, 'results.json'));
  assert.is(results.length, people.length);
  // each person's crop: TopDownMpiiDataset's centre and scale (float64 there, float32 here)
  for (const r of results) {
    const a = people[r.index];
    const s = a.scale * 1.25;
    const c = [a.center[0] - 1, a.center[1] + 15 * a.scale - 1];
    assert.ok(Math.abs(r.center[0] - c[0]) <= 1e-4 && Math.abs(r.center[1] - c[1]) <= 1e-4);
    assert.ok(Math.abs(r.scale[0] - s) <= 1e-6 && Math.abs(r.scale[1] - s) <= 1e-6);
  }
  const byIndex = [...results].sort((a: any, b: any) => a.index - b.index);
  const { out } = await evalPostReference({
    mpii: [{
      preds: byIndex.map((r: any) =>
        Array.from({ length: 16 }, (_, j) => r.keypoints.slice(3 * j, 3 * j + 3))
      ),
      bboxIds: byIndex.map((r: any) => r.index),
      batch: 32,
      gt: truth,
    }],
  });
  const [nameValue] = out.mpii;
  assert.equal(nameValue.map(([n]: [string]) => n), [
    'Head',
    'Shoulder',
    'Elbow',
    'Wrist',
    'Hip',
    'Knee',
    'Ankle',
    'PCKh',
    'PCKh@0.1',
  ]);
  stats.forEach((v: number, i: number) => {
    const want = nameValue[i][1];
    assert.ok(
      (v === null && want === null) || Math.abs(v - want) <= 1e-12,
      `${nameValue[i][0]}: ${v} vs ${want}`,
    );
  });
});

test.run();
