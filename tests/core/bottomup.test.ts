// Bottom-up (associative embedding) steps: synthetic scenes grouped back exactly, the
// Hungarian algorithm against brute force (and the munkres package's choice among equal
// optima), NMS + top-k against the plain definition (and PyTorch's order of equal values), the
// flip merge against its definition, the official input size / center / scale.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import {
  bottomUpFrame,
  bottomUpMatrix,
  groupedToImage,
  type GroupingParams,
  jointOrder,
  meanRowsF32,
  mergeFlipBottomUp,
  munkres,
  nmsHeatmaps,
  pairwiseSumF32,
  roundHalfEven,
  topKCandidates,
} from '../../src/core/bottomup/index.ts';
import { applyAffine } from '../../src/core/affine.ts';
import { flipIndexFromPairs } from '../../src/core/flip.ts';
import { parseBottomUp } from '../helpers/bottomup-parse.ts';
import {
  asFlipOutputs,
  COCO_GROUPING,
  expectedPosition,
  makeScene,
  type Scene,
} from '../helpers/bottomup-scene.ts';
import { hasPython, PYTHON, python, skipUnless, tempDir, writeF32 } from '../helpers/env.ts';

const PARAMS: GroupingParams = COCO_GROUPING;
const COCO_FLIP = flipIndexFromPairs(17, [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12], [
  13,
  14,
], [15, 16]]);

let seed = 11;
const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;

/**
 * Checks the grouping of a scene: as many people as the scene has with a detectable joint,
 * each made of exactly one scene person's joints (by tag), every keypoint within 0.01 px of
 * the official adjusted position (in image pixels), weak joints found by refine, absent ones
 * zero, and the official score.
 */
function checkScene(
  scene: Scene,
  params: GroupingParams,
  what: string,
  l = 1,
  maps = scene.maps,
): number {
  const { k, w, h } = scene.maps;
  const t0 = performance.now();
  const { grouped, scores } = parseBottomUp(maps, params);
  const ms = performance.now() - t0;
  // any frame: compare in image pixels
  const frame = bottomUpFrame(w * 2 + 1, h * 2 + 3, Math.min(w, h), 1);
  const coords = groupedToImage(grouped, frame, w, h);
  const sx = (frame.scale[0] * 200) / w, sy = (frame.scale[1] * 200) / h;
  const toImage = (
    [x, y]: [number, number],
  ) => [
    x * sx + frame.center[0] - frame.scale[0] * 100,
    y * sy + frame.center[1] - frame.scale[1] * 100,
  ];

  const detectable = scene.people.filter((p) => p.joints.some((j) => j && !j.weak));
  assert.is(grouped.people, detectable.length, `${what}: number of people`);
  const width = 3 + l;
  const seen = new Set<number>();
  for (let p = 0; p < grouped.people; p++) {
    // Which scene person: the tag under its first found joint (all must agree).
    let tag: number | undefined;
    for (let j = 0; j < k; j++) {
      const at = (p * k + j) * width;
      if (grouped.joints[at + 2] > 0 && grouped.joints[at + 3] !== 0) {
        if (tag === undefined) tag = grouped.joints[at + 3];
        assert.is(grouped.joints[at + 3], tag, `${what}: person ${p} mixes tags`);
      }
    }
    const truth = scene.people.find((s) => s.tag === tag);
    assert.ok(truth, `${what}: person ${p} has no scene person (tag ${tag})`);
    assert.not.ok(seen.has(truth!.tag), `${what}: scene person ${truth!.tag} split in two`);
    seen.add(truth!.tag);
    let sum = 0;
    for (let j = 0; j < k; j++) {
      const jt = truth!.joints[j];
      const at = (p * k + j) * width;
      const found = grouped.joints[at + 2];
      const findable = jt && (!jt.weak || params.refine);
      if (!findable) {
        assert.is(found, 0, `${what}: person ${truth!.tag} joint ${j} should be missing`);
        continue;
      }
      assert.is(found, jt!.peak, `${what}: person ${truth!.tag} joint ${j} value`);
      if (!jt!.weak) sum += jt!.peak;
      const [ex, ey] = toImage(params.adjust ? expectedPosition(jt!, w, h) : [jt!.px, jt!.py]);
      const gx = coords[(p * k + j) * 2], gy = coords[(p * k + j) * 2 + 1];
      assert.ok(
        Math.abs(gx - ex) < 0.01 && Math.abs(gy - ey) < 0.01,
        `${what}: person ${truth!.tag} joint ${j} at (${gx}, ${gy}), expected (${ex}, ${ey})`,
      );
    }
    assert.ok(Math.abs(scores[p] - sum / k) < 1e-6, `${what}: score ${scores[p]} vs ${sum / k}`);
  }
  return ms;
}

for (
  const [people, opts] of [
    [1, { spread: 60 }],
    [5, { spread: 50, borders: true }],
    [30, { borders: true }],
  ] as const
) {
  test(
    `grouping gives back ${people} synthetic people exactly ` +
      `(overlapping, borders, missing and weak joints)`,
    () => {
      const times: string[] = [];
      for (let s = 0; s < 3; s++) {
        const base = { k: 17, w: 320, h: 256, people, seed: 1000 * people + s, ...opts };
        // all joints; missing joints (no refine: they stay missing); weak joints that only refine
        // finds
        const full = makeScene(base);
        times.push(checkScene(full, PARAMS, `${people} people, seed ${s}`).toFixed(1));
        checkScene(
          makeScene({ ...base, missing: 0.3 }),
          { ...PARAMS, refine: false },
          `${people} people with missing joints, seed ${s}`,
        );
        checkScene(
          makeScene({ ...base, weak: 0.25 }),
          PARAMS,
          `${people} people with weak joints, seed ${s}`,
        );
        checkScene(makeScene({ ...base, missing: 0.2 }), {
          ...PARAMS,
          refine: false,
          adjust: false,
          useDetectionVal: false,
        }, `${people} people, no adjust, plain distance, seed ${s}`);
        // The flip test: the mirrored output mirrors back onto the same maps; tags become 2-D.
        const { plain, flipped } = asFlipOutputs(full, COCO_FLIP);
        const merged = mergeFlipBottomUp(plain, flipped, 17, full.maps.h, full.maps.w, COCO_FLIP);
        assert.equal(merged.heatmaps, full.maps.heatmaps);
        checkScene(full, PARAMS, `${people} people, flip merged, seed ${s}`, 2, merged);
      }
      console.log(`    ${people} people on 17 x 256 x 320 maps: parse ${times.join(', ')} ms`);
    },
  );
}

test(
  'grouping with more people than maxPeople: each later joint beyond them starts a person',
  () => {
    const scene = makeScene({ k: 17, w: 320, h: 256, people: 8, seed: 5 });
    const { grouped } = parseBottomUp(scene.maps, { ...PARAMS, maxPeople: 4, refine: false });
    // top-4 candidates per joint; the first joint type starts 4 people, each later type's 4
    // candidates are matched to them (the 4 largest of each type need not be the same people)
    assert.ok(grouped.people >= 4);
    const ignore =
      parseBottomUp(scene.maps, { ...PARAMS, maxPeople: 4, refine: false, ignoreTooMuch: true })
        .grouped;
    // ignore_too_much: with 4 people started by the nose, every later joint type is skipped
    assert.is(ignore.people, 4);
    for (let p = 0; p < 4; p++) {
      for (let j = 1; j < 17; j++) assert.is(ignore.joints[(p * 17 + j) * 4 + 2], 0);
    }
  },
);

test('people keyed by their first tag: equal first tags merge, as the official dict does', () => {
  const scene = makeScene({ k: 17, w: 160, h: 128, people: 2, seed: 3 });
  // give both people the same tag: the second person's joints land in the first one's entry
  const [tags] = scene.maps.tags;
  for (let i = 0; i < tags.length; i++) {
    if (tags[i] === scene.people[1].tag) tags[i] = scene.people[0].tag;
  }
  const { grouped } = parseBottomUp(scene.maps, { ...PARAMS, refine: false });
  assert.is(grouped.people, 1);
});

test('official joint order visits hips before elbows for COCO', () => {
  assert.equal(jointOrder(17), [0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16]);
  assert.equal(jointOrder(14), Array.from({ length: 14 }, (_, i) => i));
});

// ---- Hungarian ----------------------------------------------------------------------------

function bruteForce(cost: number[], rows: number, cols: number): number {
  let best = Infinity;
  const used = new Array(cols).fill(false);
  const go = (r: number, sum: number) => {
    if (r === rows) return void (best = Math.min(best, sum));
    for (let c = 0; c < cols; c++) {
      if (used[c]) continue;
      used[c] = true;
      go(r + 1, sum + cost[r * cols + c]);
      used[c] = false;
    }
  };
  go(0, 0);
  return best;
}

function randomMatrices(count: number): { cost: number[]; rows: number; cols: number }[] {
  return Array.from({ length: count }, () => {
    const rows = 1 + Math.floor(rnd() * 6);
    const cols = rows + Math.floor(rnd() * 3); // rows <= cols, as _match_by_tag always makes it
    const kind = rnd();
    const cost = Array.from({ length: rows * cols }, () =>
      // many exact ties (small integers, the 100 x round() costs) or continuous values
      kind < 0.4
        ? Math.floor(rnd() * 4)
        : kind < 0.7
        ? Math.floor(rnd() * 3) * 100 - rnd()
        : rnd() * 10);
    return { cost, rows, cols };
  });
}

test('munkres finds the optimum of random rectangular matrices (vs brute force)', () => {
  for (const { cost, rows, cols } of randomMatrices(400)) {
    const a = munkres(cost, rows, cols);
    const cols_ = new Set(a);
    assert.is(cols_.size, rows, 'distinct columns');
    let sum = 0;
    for (let r = 0; r < rows; r++) {
      assert.ok(a[r] >= 0 && a[r] < cols);
      sum += cost[r * cols + a[r]];
    }
    const best = bruteForce(cost, rows, cols);
    assert.ok(
      Math.abs(sum - best) < 1e-9,
      `${rows}x${cols} ${JSON.stringify(cost)}: ${sum} vs optimum ${best}`,
    );
  }
  assert.equal(Array.from(munkres([], 0, 3)), []);
});

test('munkres picks the same optimum as the munkres package where several tie', async () => {
  if (skipUnless(hasPython('munkres'), `${PYTHON} cannot import munkres (apt: python3-munkres)`)) {
    return;
  }
  const cases = randomMatrices(300);
  const script = 'import sys, json\nfrom munkres import Munkres\nout = []\n' +
    'for c in json.load(sys.stdin if False else open(sys.argv[1])):\n' +
    '    m = [c["cost"][r * c["cols"]:(r + 1) * c["cols"]] for r in range(c["rows"])]\n' +
    '    out.append([p[1] for p in Munkres().compute(m)])\nprint(json.dumps(out))';
  const dir = await tempDir('srpose-munkres-');
  const file = join(dir, 'cases.json');
  const { writeFile } = await import('node:fs/promises');
  await writeFile(file, JSON.stringify(cases));
  const want: number[][] = await python(['-c', script, file]);
  let ties = 0;
  cases.forEach(({ cost, rows, cols }, i) => {
    const got = Array.from(munkres(cost, rows, cols));
    assert.equal(got, want[i], `case ${i} ${rows}x${cols} ${JSON.stringify(cost)}`);
    if (new Set(cost).size < cost.length) ties++;
  });
  console.log(
    `    ${cases.length} matrices (${ties} with equal costs): ` +
      `the same assignment as munkres ${'1.1'}`,
  );
});

// ---- NMS + top-k ---------------------------------------------------------------------------

test('NMS + top-k equal the plain definition on maps without ties', () => {
  const k = 3, h = 61, w = 47, m = 30;
  const heatmaps = new Float32Array(k * h * w).map(() => rnd() * 2 - 0.5);
  const tags = [
    new Float32Array(k * h * w).map(() => rnd()),
    new Float32Array(k * h * w).map(() => rnd()),
  ];
  const c = topKCandidates({ heatmaps, tags, k, h, w, l: 2 }, m, 5, 2);
  const nms = nmsHeatmaps(heatmaps, k, h, w, 5, 2);
  for (let j = 0; j < k; j++) {
    // the plain definition: a pixel survives when no pixel of its 5x5 window is larger
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let max = -Infinity;
        for (let yy = Math.max(0, y - 2); yy <= Math.min(h - 1, y + 2); yy++) {
          for (let xx = Math.max(0, x - 2); xx <= Math.min(w - 1, x + 2); xx++) {
            max = Math.max(max, heatmaps[j * h * w + yy * w + xx]);
          }
        }
        const v = heatmaps[j * h * w + y * w + x];
        assert.is(nms[j * h * w + y * w + x], v === max ? v : v * 0);
      }
    }
    const order = Array.from({ length: h * w }, (_, i) => i).sort((a, b) =>
      nms[j * h * w + b] - nms[j * h * w + a] || a - b
    );
    for (let r = 0; r < m; r++) {
      const i = order[r];
      assert.is(c.val[j * m + r], nms[j * h * w + i]);
      assert.equal([c.x[j * m + r], c.y[j * m + r]], [i % w, Math.floor(i / w)]);
      assert.equal(Array.from(c.tag.subarray((j * m + r) * 2, (j * m + r) * 2 + 2)), [
        tags[0][j * h * w + i],
        tags[1][j * h * w + i],
      ]);
    }
  }
});

test('top-k orders equal values as torch.topk does (libstdc++ partial_sort)', async () => {
  if (skipUnless(hasPython('torch'), `${PYTHON} cannot import torch (apt: python3-torch)`)) return;
  // Plateaus and repeated values: whole regions of equal maxima survive the NMS.
  const k = 4, h = 64, w = 80, m = 30;
  const heatmaps = new Float32Array(k * h * w);
  for (let i = 0; i < heatmaps.length; i++) {
    heatmaps[i] = Math.floor(rnd() * 6) / 5 - (rnd() < 0.1 ? 0.5 : 0);
  }
  const dir = await tempDir('srpose-topk-');
  const file = join(dir, 'hm.f32');
  await writeF32(file, heatmaps);
  const script = `import sys, json, numpy as np, torch
hm = torch.from_numpy(np.fromfile(sys.argv[1], dtype=np.float32).reshape(1, ${k}, ${h}, ${w}))
mx = torch.nn.functional.max_pool2d(hm, 5, 1, 2)
nms = hm * torch.eq(mx, hm).float()
val, ind = nms.view(1, ${k}, -1).topk(${m}, dim=2)
print(json.dumps({'val': val[0].tolist(), 'ind': ind[0].tolist()}))`;
  const want: { val: number[][]; ind: number[][] } = await python(['-c', script, file]);
  const c = topKCandidates(
    { heatmaps, tags: [new Float32Array(k * h * w)], k, h, w, l: 1 },
    m,
    5,
    2,
  );
  let ties = 0;
  for (let j = 0; j < k; j++) {
    for (let r = 0; r < m; r++) {
      assert.is(c.val[j * m + r], Math.fround(want.val[j][r]), `joint ${j} rank ${r} value`);
      assert.is(c.y[j * m + r] * w + c.x[j * m + r], want.ind[j][r], `joint ${j} rank ${r}: index`);
      if (r > 0 && want.val[j][r] === want.val[j][r - 1]) ties++;
    }
  }
  console.log(
    `    ${k} x ${m} candidates, ${ties} equal to their predecessor: the same order as torch.topk`,
  );
});

// ---- flip, sizes, numerics -----------------------------------------------------------------

test('flip merge: heatmaps averaged after mirroring back with the flip index, tags stacked', () => {
  const k = 5, h = 3, w = 4;
  const idx = flipIndexFromPairs(k, [[1, 2], [3, 4]]);
  const plain = new Float32Array(2 * k * h * w).map(() => rnd() * 4 - 1);
  const flipped = new Float32Array(2 * k * h * w).map(() => rnd() * 4 - 1);
  const m = mergeFlipBottomUp(plain.slice(), flipped.slice(), k, h, w, idx); // in place: on copies
  assert.is(m.l, 2);
  for (let j = 0; j < k; j++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const back = (c: number) => flipped[c * h * w + y * w + (w - 1 - x)];
        const i = j * h * w + y * w + x;
        assert.is(m.heatmaps[i], Math.fround(Math.fround(plain[i] + back(idx[j])) / 2));
        assert.is(m.tags[0][i], plain[k * h * w + i]);
        assert.is(m.tags[1][i], back(k + idx[j]));
      }
    }
  }
});

test(
  'input frame: short side to the size, ' +
    'long side up to the multiple, center and scale as mmpose',
  () => {
    // 640x480 -> 683 -> 704 wide; center (320, 240); scale w/200 on the short side
    assert.equal(bottomUpFrame(640, 480, 512, 64), {
      width: 704,
      height: 512,
      center: [320, 240],
      scale: [(704 / 512) * 480 / 200, 2.4],
    });
    assert.equal(bottomUpFrame(480, 640, 512, 64), {
      width: 512,
      height: 704,
      center: [240, 320],
      scale: [2.4, (704 / 512) * 480 / 200],
    });
    // Python's round(213.5) == 214, round(212.5) == 212
    assert.equal(bottomUpFrame(427, 640, 512, 64).center, [214, 320]);
    assert.equal(bottomUpFrame(425, 640, 512, 64).center, [212, 320]);
    assert.is(bottomUpFrame(427, 640, 512, 64).height, 768);
    assert.is(bottomUpFrame(640, 427, 512, 32).width, 768);
    assert.is(bottomUpFrame(500, 500, 512, 64).width, 512);
    // the matrix maps the image center to the input center and the short side onto the input
    const f = bottomUpFrame(640, 480, 512, 64);
    const m = bottomUpMatrix(f);
    const [cx, cy] = applyAffine(m, 320, 240);
    assert.ok(Math.abs(cx - 352) < 1e-9 && Math.abs(cy - 256) < 1e-9);
    const [, y0] = applyAffine(m, 320, 0);
    assert.ok(Math.abs(y0) < 1e-9);
  },
);

test('numpy numerics: half-to-even rounding, float32 means summed as numpy 1.24 sums them', () => {
  assert.equal([0.5, 1.5, 2.5, -0.5, -1.5, 2.4999, 3.5].map(roundHalfEven), [
    0,
    2,
    2,
    -0,
    -2,
    2,
    4,
  ]);
  // [2^24, 1 x 15] in float32: in order every + 1 rounds away (2^24); numpy's 8 pairwise
  // accumulators keep them: a.sum() == 16777230, a.mean() == 1048576.9 (also as an (n, 1)
  // column along axis 0), while an (n, 2) array along axis 0 sums row by row: 1048576.
  const a = [16777216, ...new Array(15).fill(1)];
  assert.is(pairwiseSumF32((i) => a[i], 0, 16), 16777230);
  assert.is(
    meanRowsF32(a.map((v) => new Float32Array([v])), 1, new Float32Array(1))[0],
    Math.fround(1048576.9),
  );
  assert.equal(
    Array.from(meanRowsF32(a.map((v) => new Float32Array([v, v])), 2, new Float32Array(2))),
    [1048576, 1048576],
  );
});

test.run();
