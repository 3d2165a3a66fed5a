// Drawing people (src/image/draw.ts): COCO_SKELETON is the skeleton the exporter writes into
// srpose.json, drawPoses draws on any 2D context what scores above minScore (here a recording
// stand-in; pixels in real Chromium: tests/browser), and the PNG renderer the CLI uses draws the
// same limbs and keypoints.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from '../helpers/env.ts';
import { tinyConfig } from '../helpers/tiny.ts';
import { COCO_SKELETON, drawPoses, renderPoses, renderPosesPng } from '../../src/image/draw.ts';
import { decodeImage } from '../../src/image/decode.ts';
import { KEYPOINT_SCORE_THRESHOLD } from '../../src/defaults.ts';
import { isSRPoseError } from '../../src/errors.ts';
import type { CanvasContext2D, Person } from '../../src/types.ts';

test('COCO_SKELETON is the skeleton build.py writes into srpose.json', async () => {
  const py = await readFile(join(ROOT, 'models', 'srpose_models', 'build.py'), 'utf8');
  const m = /^COCO_SKELETON = (\[[\s\S]*?\]\])$/m.exec(py);
  assert.ok(m, 'COCO_SKELETON in build.py');
  assert.equal(COCO_SKELETON, JSON.parse(m![1]));
  assert.equal(COCO_SKELETON, tinyConfig().skeleton);
  assert.ok(Object.isFrozen(COCO_SKELETON) && Object.isFrozen(COCO_SKELETON[0]));
});

/** Seventeen keypoints on a row, scores from `scores` (default all 0.9). */
function person(scores: number[] = Array(17).fill(0.9)): Person {
  return {
    box: [0, 0, 100, 100],
    score: 1,
    keypoints: scores.map((score, i) => ({ name: `k${i}`, x: 10 + 5 * i, y: 20 + i, score })),
  };
}

/** A 2D context that records strokes and fills (with their style), and save/restore depth. */
function recorder(width = 320, height = 160) {
  const ops: { op: 'stroke' | 'fill'; style: string; pts: number[][]; width: number }[] = [];
  let pts: number[][] = [];
  let depth = 0;
  const ctx = {
    canvas: { width, height },
    strokeStyle: '#000',
    fillStyle: '#000',
    lineWidth: 1,
    lineCap: 'butt',
    save: () => void depth++,
    restore: () => void depth--,
    beginPath: () => void (pts = []),
    moveTo: (x: number, y: number) => void pts.push([x, y]),
    lineTo: (x: number, y: number) => void pts.push([x, y]),
    arc: (x: number, y: number, r: number) => void pts.push([x, y, r]),
    stroke: () => ops.push({ op: 'stroke', style: ctx.strokeStyle, pts, width: ctx.lineWidth }),
    fill: () => ops.push({ op: 'fill', style: ctx.fillStyle, pts, width: ctx.lineWidth }),
  };
  return { ctx, ops, depth: () => depth };
}

test('drawPoses: every limb and keypoint above minScore, in the context saved and restored', () => {
  const r = recorder();
  drawPoses(r.ctx as unknown as CanvasContext2D, [person(), person()]);
  const strokes = r.ops.filter((o) => o.op === 'stroke');
  const fills = r.ops.filter((o) => o.op === 'fill');
  assert.is(strokes.length, 2 * COCO_SKELETON.length);
  assert.is(fills.length, 2 * 17 * 2, 'a rim and a dot per keypoint');
  assert.is(r.depth(), 0, 'save and restore balance');
  // Default radius: max(1.5, min(w, h) / 160) = 1.5 on 320x160; limbs twice as wide.
  assert.equal(fills[1].pts, [[10, 20, 1.5]]);
  assert.equal(fills[0].pts, [[10, 20, 1.5 * 1.6]]);
  assert.is(strokes[0].width, 3);
  const [a, b] = COCO_SKELETON[0];
  assert.equal(strokes[0].pts, [[10 + 5 * a, 20 + a], [10 + 5 * b, 20 + b]]);
  assert.is.not(strokes[0].style, strokes[1].style, 'one colour per limb');
});

test('drawPoses: keypoints at or below minScore are left out, with their limbs', () => {
  const scores = Array(17).fill(0.9);
  scores[13] = KEYPOINT_SCORE_THRESHOLD; // left knee: limbs 15-13 and 13-11 go too
  scores[0] = 0.1; // nose: limbs 0-1 and 0-2
  const r = recorder();
  drawPoses(r.ctx as unknown as CanvasContext2D, [person(scores)]);
  assert.is(r.ops.filter((o) => o.op === 'fill').length, 2 * 15);
  assert.is(r.ops.filter((o) => o.op === 'stroke').length, COCO_SKELETON.length - 4);
  const high = recorder();
  drawPoses(high.ctx as unknown as CanvasContext2D, [person()], { minScore: 0.95 });
  assert.is(high.ops.length, 0);
  const low = recorder();
  drawPoses(low.ctx as unknown as CanvasContext2D, [person(scores)], { minScore: 0 });
  assert.is(low.ops.filter((o) => o.op === 'fill').length, 2 * 17);
});

test('drawPoses: options (skeleton, radius, lineWidth, colours) and their checks', () => {
  const r = recorder();
  drawPoses(r.ctx as unknown as CanvasContext2D, [person()], {
    skeleton: [[0, 1], [1, 2], [2, 3]],
    radius: 4,
    lineWidth: 1,
    colors: { limbs: ['red', 'blue'], keypoint: 'yellow', outline: 'black' },
  });
  const strokes = r.ops.filter((o) => o.op === 'stroke');
  assert.equal(strokes.map((s) => [s.style, s.width]), [['red', 1], ['blue', 1], ['red', 1]]);
  const fills = r.ops.filter((o) => o.op === 'fill');
  assert.equal(fills.slice(0, 2).map((f) => [f.style, f.pts[0][2]]), [['black', 6.4], [
    'yellow',
    4,
  ]]);
  // An empty skeleton draws keypoints only; a limb naming a missing keypoint is skipped.
  const dots = recorder();
  drawPoses(dots.ctx as unknown as CanvasContext2D, [person()], { skeleton: [[0, 40]] });
  assert.is(dots.ops.filter((o) => o.op === 'stroke').length, 0);
  for (const bad of [{ radius: 0 }, { radius: -1 }, { lineWidth: NaN }, { radius: Infinity }]) {
    try {
      drawPoses(recorder().ctx as unknown as CanvasContext2D, [person()], bad);
      assert.unreachable(JSON.stringify(bad));
    } catch (e) {
      assert.ok(isSRPoseError(e, 'INVALID_OPTION'), String(e));
    }
  }
});

test('renderPosesPng (the CLI --draw) paints keypoints white over the image', async () => {
  const img = { data: new Uint8Array(120 * 80 * 3).fill(40), width: 120, height: 80 };
  const p = person();
  const rgba = renderPoses(img, [p], COCO_SKELETON);
  const png = await decodeImage(await renderPosesPng(img, [p], COCO_SKELETON));
  for (const k of p.keypoints) {
    const i = Math.floor(k.y) * 120 + Math.floor(k.x);
    assert.equal([...rgba.data.subarray(4 * i, 4 * i + 3)], [255, 255, 255]);
    assert.equal([...png.data.subarray(3 * i, 3 * i + 3)], [255, 255, 255]);
  }
  assert.equal([...png.data.subarray(0, 3)], [40, 40, 40], 'away from the people: the image');
});

test.run();
