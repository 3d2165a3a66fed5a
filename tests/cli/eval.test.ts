// `srpose eval` end to end on a small dataset made here (PNG images, a COCO annotation file, a
// detections file) with the tiny pose model: the official results format, OKS-NMS of duplicate
// detections, resuming a stopped run, `--results` scoring alone, and typed errors. The metric
// itself is checked against xtcocotools / pycocotools in tests/core/coco-eval.test.ts, the
// post-processing against mmpose in tests/core/oks-nms.test.ts, and the whole pipeline against
// the official one in tests/parity/eval.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hasShared, SHARED, skipUnless, tempDir } from '../helpers/env.ts';
import { tinyConfig, tinyOnnx, uniform } from '../helpers/tiny.ts';
import { DOTS, dotsPng, tinyBottomUpConfig, tinyBottomUpOnnx } from '../helpers/tiny-bottomup.ts';
import { main } from '../../src/cli/main.ts';
import { encodePng } from '../../src/image/codecs.ts';
import { createEstimator } from '../../src/estimator/estimator.ts';
import { cocoJobs } from '../../src/eval/datasets.ts';
import { runDataset } from '../../src/eval/run.ts';
import { DATASET_SETTINGS, scoreResults } from '../../src/eval/score.ts';

const W = 160;
const H = 120;

/** Three images, two annotated people each, three detections each (one a duplicate). */
async function dataset() {
  const dir = await tempDir('srpose-eval-');
  await writeFile(join(dir, 'srpose.json'), JSON.stringify(tinyConfig()));
  await writeFile(join(dir, 'model.onnx'), await tinyOnnx());
  const images = [];
  const annotations = [];
  const detections = [];
  for (let i = 0; i < 3; i++) {
    const noise = uniform(100 + i, W * H, 1);
    const rgba = new Uint8ClampedArray(W * H * 4).map((_, j) =>
      j % 4 === 3 ? 255 : 128 + 120 * noise[j >> 2] * ((j % 4) - 1)
    );
    const file = `img${i}.png`;
    await writeFile(join(dir, file), await encodePng({ data: rgba, width: W, height: H }));
    const id = 10 + i;
    images.push({ id, file_name: file, width: W, height: H });
    for (let p = 0; p < 2; p++) {
      const box = [10 + 70 * p, 10, 60, 100];
      const kp = uniform(200 + 10 * i + p, 51, 1);
      const keypoints = Array.from({ length: 17 }, (_, k) => [
        box[0] + 30 + 25 * kp[3 * k],
        box[1] + 50 + 45 * kp[3 * k + 1],
        2,
      ]).flat();
      annotations.push({
        id: 100 * i + p,
        image_id: id,
        category_id: 1,
        iscrowd: 0,
        bbox: box,
        area: box[2] * box[3] * 0.6,
        keypoints,
        num_keypoints: 17,
      });
      detections.push({ image_id: id, category_id: 1, bbox: box, score: 0.9 - 0.1 * p });
    }
    // the first person detected twice: the same crop, the same keypoints, OKS 1
    detections.push({ image_id: id, category_id: 1, bbox: [10, 10, 60, 100], score: 0.5 });
  }
  const gt = { images, annotations, categories: [{ id: 1, name: 'person' }] };
  await writeFile(join(dir, 'gt.json'), JSON.stringify(gt));
  await writeFile(join(dir, 'dets.json'), JSON.stringify(detections));
  return { dir, gt, detections };
}

async function cli(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, (s) => out.push(s), (s) => err.push(s));
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** `srpose eval` on COCO-format files with a model on WASM, no flip, results to `out`. */
const cocoEvalArgs = (
  f: { annotations: string; images: string; detections?: string; model: string; out: string },
) => [
  'eval',
  '--dataset',
  'coco',
  '--annotations',
  f.annotations,
  '--images',
  f.images,
  ...(f.detections ? ['--detections', f.detections] : []),
  '--model',
  f.model,
  '--backend',
  'wasm',
  '--no-flip',
  '--out',
  f.out,
];

/** {@link cocoEvalArgs} on the made dataset in `dir` (gt.json, dets.json, the tiny model). */
const evalArgs = (dir: string, out: string) =>
  cocoEvalArgs({
    annotations: join(dir, 'gt.json'),
    images: dir,
    detections: join(dir, 'dets.json'),
    model: dir,
    out,
  });

test('results in the official format, duplicates removed by OKS-NMS; --json metrics', async () => {
  const { dir, gt } = await dataset();
  const out = join(dir, 'results.json');
  const r = await cli([...evalArgs(dir, out), '--json']);
  assert.is(r.code, 0, r.err);
  const metrics = JSON.parse(r.out);
  const results = JSON.parse(await readFile(out, 'utf8'));
  // per image in the detections' order: the two people (the duplicate suppressed)
  assert.equal(results.map((x: any) => x.image_id), [10, 10, 11, 11, 12, 12]);
  for (const x of results) {
    assert.equal(Object.keys(x).sort(), [
      'category_id',
      'center',
      'image_id',
      'keypoints',
      'scale',
      'score',
    ]);
    assert.is(x.keypoints.length, 51);
    for (const v of [...x.keypoints, ...x.center, ...x.scale, x.score]) {
      assert.ok(Number.isFinite(v));
    }
    // float32 values, as the official arrays hold them
    for (const v of x.keypoints) assert.is(Math.fround(v), v);
  }
  assert.equal(metrics.names, [
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
  assert.equal(metrics.stats, scoreResults('coco', gt, results).stats);
  assert.is(metrics.metric, 'xtcocotools');

  // --results: the same numbers, no model; --metric pycocotools is another metric
  const rescore = (...more: string[]) =>
    cli([
      'eval',
      '--dataset',
      'coco',
      '--annotations',
      join(dir, 'gt.json'),
      '--results',
      out,
      ...more,
    ]);
  const again = await rescore('--json');
  assert.is(again.code, 0, again.err);
  assert.equal(JSON.parse(again.out).stats, metrics.stats);
  const text = await rescore('--metric', 'pycocotools');
  assert.is(text.code, 0, text.err);
  assert.match(text.out, /^coco, pycocotools \(.*results\.json\):\n {2}AP {6}\d\.\d{4}/);
});

test('a stopped run resumes: done images are kept and skipped, the cut image redone', async () => {
  const { dir, gt, detections } = await dataset();
  const out = join(dir, 'results.json');
  assert.is((await cli(evalArgs(dir, out))).code, 0);
  const full = await readFile(out, 'utf8');
  // stopped while writing the second image: its first line only, and no closing bracket
  const lines = full.split('\n');
  await writeFile(out, lines.slice(0, 4).join('\n') + '\n' + lines[4].slice(0, 20));
  const est = await createEstimator({ model: dir, backend: 'wasm', flipTest: false });
  const progress: { done: number; skipped: number }[] = [];
  try {
    await runDataset({
      estimator: est,
      jobs: cocoJobs(gt, { detections }),
      imagesDir: dir,
      out,
      kind: 'top-down',
      postprocess: DATASET_SETTINGS.coco.postprocess,
      flipTest: false,
      onProgress: (p) => progress.push(p),
    });
  } finally {
    await est.dispose();
  }
  // image 10 kept (2 lines); image 11 was cut (1 of its 2 lines): redone with image 12
  assert.equal(progress.map((p) => [p.done, p.skipped]), [[2, 1], [3, 1]]);
  assert.is(await readFile(out, 'utf8'), full);
  // a finished file resumes with nothing to do
  assert.is((await cli(evalArgs(dir, out))).code, 0);
  assert.is(await readFile(out, 'utf8'), full);
});

test('bottom-up: every image, people with their boxes, no NMS; a known answer (AP 1)', async () => {
  // the tiny bottom-up model puts every keypoint of a dot's person at (x + 0.75, y + 0.75): a
  // ground truth there is found exactly (OKS 1), everyone once, nobody else
  const dir = await tempDir('srpose-eval-bu-');
  await writeFile(join(dir, 'srpose.json'), JSON.stringify(tinyBottomUpConfig()));
  await writeFile(join(dir, 'model.onnx'), await tinyBottomUpOnnx());
  await writeFile(join(dir, 'dots.png'), await dotsPng());
  const annotations = DOTS.map((d, i) => ({
    id: i + 1,
    image_id: 7,
    category_id: 1,
    iscrowd: 0,
    bbox: [d.x - 35, d.y - 35, 70, 70],
    area: 5000,
    keypoints: Array.from({ length: 17 }, () => [d.x + 0.75, d.y + 0.75, 2]).flat(),
    num_keypoints: 17,
  }));
  const gt = {
    images: [{ id: 7, file_name: 'dots.png', width: 640, height: 512 }],
    annotations,
    categories: [{ id: 1, name: 'person' }],
  };
  await writeFile(join(dir, 'gt.json'), JSON.stringify(gt));
  const out = join(dir, 'results.json');
  const r = await cli([
    ...cocoEvalArgs({ annotations: join(dir, 'gt.json'), images: dir, model: dir, out }),
    '--json',
  ]);
  assert.is(r.code, 0, r.err);
  const results = JSON.parse(await readFile(out, 'utf8'));
  assert.is(results.length, DOTS.length);
  for (const x of results) {
    assert.equal(Object.keys(x).sort(), ['bbox', 'category_id', 'image_id', 'keypoints', 'score']);
    assert.equal(x.bbox.slice(2), [0, 0], "the keypoints' extent: one point");
  }
  // AP, AP .5, AP .75, AP (M), AP (L) = -1 (no large person), AR the same
  assert.equal(JSON.parse(r.out).stats, [1, 1, 1, 1, -1, 1, 1, 1, 1, -1]);
});

test('the shared COCO photos and detections, tiny model: every image, --soft-nms', async () => {
  if (skipUnless(hasShared, 'needs ../shared/data/coco')) return;
  const coco = join(SHARED, 'coco');
  const dir = await tempDir('srpose-eval-shared-');
  await writeFile(join(dir, 'srpose.json'), JSON.stringify(tinyConfig()));
  await writeFile(join(dir, 'model.onnx'), await tinyOnnx());
  const args = (out: string) => [
    ...cocoEvalArgs({
      annotations: join(coco, 'test_coco.json'),
      images: coco,
      detections: join(coco, 'test_coco_det_AP_H_56.json'),
      model: dir,
      out,
    }),
    '--json',
  ];
  const hard = await cli(args(join(dir, 'hard.json')));
  assert.is(hard.code, 0, hard.err);
  const soft = await cli([...args(join(dir, 'soft.json')), '--soft-nms']);
  assert.is(soft.code, 0, soft.err);
  const h = JSON.parse(await readFile(join(dir, 'hard.json'), 'utf8'));
  const s = JSON.parse(await readFile(join(dir, 'soft.json'), 'utf8'));
  // the images in the detections' order; soft NMS keeps at most 20 an image, and no fewer
  const dets = JSON.parse(await readFile(join(coco, 'test_coco_det_AP_H_56.json'), 'utf8'));
  const order = [...new Set(dets.map((d: any) => d.image_id))];
  assert.equal([...new Set(h.map((r: any) => r.image_id))], order);
  for (const id of order) {
    const n = (rs: any[]) => rs.filter((r) => r.image_id === id).length;
    const boxes = dets.filter((d: any) => d.image_id === id).length;
    assert.ok(n(h) >= 1 && n(h) <= boxes);
    assert.is(n(s), Math.min(20, boxes));
  }
  const gt = JSON.parse(await readFile(join(coco, 'test_coco.json'), 'utf8'));
  assert.equal(JSON.parse(hard.out).stats, scoreResults('coco', gt, h).stats);
  assert.equal(JSON.parse(soft.out).stats, scoreResults('coco', gt, s).stats);
});

test('typed errors: dataset, keypoints, another run in --out, not a results file', async () => {
  const { dir } = await dataset();
  const out = join(dir, 'results.json');
  const bad = await cli(['eval', '--dataset', 'lsp', '--annotations', join(dir, 'gt.json')]);
  assert.is(bad.code, 2);
  assert.match(bad.err, /INVALID_OPTION: --dataset must be one of coco, crowdpose, mpii/);
  const args = evalArgs(dir, out);
  const crowd = await cli(args.map((a) => (a === 'coco' ? 'crowdpose' : a)));
  assert.is(crowd.code, 2);
  assert.match(crowd.err, /the model has 17 keypoints; crowdpose has 14/);
  assert.is((await cli(args)).code, 0);
  const flipped = await cli([...args.filter((a) => a !== '--no-flip'), '--flip']);
  assert.is(flipped.code, 2);
  assert.match(flipped.err, /holds the results of another run/);
  await writeFile(join(dir, 'notes.json'), '{"a": 1}');
  const notes = await cli([...evalArgs(dir, join(dir, 'notes.json'))]);
  assert.is(notes.code, 2);
  assert.match(notes.err, /is not a results file of srpose eval/);
  assert.is(await readFile(join(dir, 'notes.json'), 'utf8'), '{"a": 1}', 'left as it was');
});

test.run();
