// Bottom-up parity on real photos (../shared/data/coco and crowdpose) against
// models/reference_bottomup.py, the official test pipeline in PyTorch + numpy + munkres, on the
// same random-weight model (.cache/models/bu_*):
//
// 1. network input: our resize + normalisation equals the reference's input.f32 bit for bit;
// 2. grouping: our NMS, top-k, grouping, adjust, refine and transform on the reference's own
//    aggregated heatmaps and tags give the same people: same count, every keypoint within
//    0.01 px, same scores (people matched by keypoints);
// 3. network: onnxruntime-web on input.f32 against PyTorch's outputs, at two image sizes;
// 4. estimate(): the whole pipeline with onnxruntime-web in place of PyTorch, compared the same
//    way (ORT and PyTorch differ in the last bits, which may move a rare near-tie).
//
// The reference's dumps are large (~100 MB per photo), so they are cached under
// .cache/reference/bottomup/<key>/ (keyed by the model's ONNX sha256, the photo and the
// flip setting) for later runs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { digestHex } from '../../src/platform/digest.ts';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  hasModel,
  hasShared,
  modelDir,
  python,
  readF32,
  ROOT,
  SHARED,
  skipUnless,
} from '../helpers/env.ts';
import {
  adjustJoints,
  bottomUpFrame,
  type BottomUpMaps,
  bottomUpMatrix,
  groupedToImage,
  matchByTag,
  personScores,
  refinePeople,
  tagPlanes,
  topKCandidates,
} from '../../src/core/bottomup/index.ts';
import { normalizeTable, writeInputTensor } from '../../src/core/normalize.ts';
import { warpAffineBilinear } from '../../src/core/warp.ts';
import { createEstimator } from '../../src/estimator/estimator.ts';
import { readImage } from '../../src/image/input.ts';
import { loadModel } from '../../src/model/source.ts';
import { createPoseSession } from '../../src/runtime/session.ts';

const REFERENCE = join(ROOT, 'models', 'reference_bottomup.py');

/** Photos per arch: Res-50 on all of them, HRNet-W32 (slower) on the first of each dataset. */
async function photos(all: boolean): Promise<string[]> {
  const out: string[] = [];
  for (const set of ['coco', 'crowdpose']) {
    const dir = join(SHARED, set);
    if (!existsSync(dir)) continue;
    const jpgs = (await readdir(dir)).filter((f) => f.endsWith('.jpg')).sort().map((f) =>
      join(dir, f)
    );
    out.push(...(all ? jpgs : jpgs.slice(0, 1)));
  }
  return out;
}

interface Reference {
  dir: string;
  meta: any;
  result: { people: { keypoints: number[][]; score: number }[] };
}

/**
 * The reference dump of one photo (cached; see the file notes). `network`: keep the raw outputs
 * too.
 */
async function reference(arch: string, photo: string, network: boolean): Promise<Reference> {
  const dir = modelDir(arch);
  const sha = JSON.parse(await readFile(join(dir, 'srpose.json'), 'utf8')).onnx.sha256;
  const key = await sha256(JSON.stringify({ sha, photo: basename(photo), flip: true, network }));
  const root = join(ROOT, '.cache', 'reference', 'bottomup');
  const cached = join(root, key.slice(0, 24));
  if (!existsSync(join(cached, 'result.json'))) {
    await mkdir(root, { recursive: true });
    const tmp = await mkdtemp(join(root, 'tmp-'));
    try {
      await python([REFERENCE, 'pipeline', '--model', dir, '--image', photo, '--dump', tmp]);
      if (!network) {
        await Promise.all(
          ['output.f32', 'output_flip.f32'].map((f) => rm(join(tmp, f), { force: true })),
        );
      }
      await rm(cached, { recursive: true, force: true });
      await rename(tmp, cached);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  return {
    dir: cached,
    meta: JSON.parse(await readFile(join(cached, 'meta.json'), 'utf8')),
    result: JSON.parse(await readFile(join(cached, 'result.json'), 'utf8')),
  };
}

const sha256 = (text: string) => digestHex('SHA-256', new TextEncoder().encode(text));

interface Compared {
  people: [number, number];
  keypoints: number;
  within: number;
  worst: number;
  worstScore: number;
}

/**
 * Matches our people to the reference's by keypoints (each reference person takes the unused
 * one of ours with the most keypoints within 0.01 px) and counts keypoints within 0.01 px.
 */
function compare(
  ours: { x: number; y: number; score: number }[][],
  oursScores: number[],
  ref: Reference['result']['people'],
): Compared {
  const used = new Set<number>();
  let within = 0, keypoints = 0, worst = 0, worstScore = 0;
  for (const rp of ref) {
    let best = -1, bestN = -1;
    ours.forEach((p, i) => {
      if (used.has(i)) return;
      const n = p.filter((k, j) =>
        Math.abs(k.x - rp.keypoints[j][0]) <= 0.01 && Math.abs(k.y - rp.keypoints[j][1]) <= 0.01
      ).length;
      if (n > bestN) {
        [best, bestN] = [i, n];
      }
    });
    keypoints += rp.keypoints.length;
    if (best < 0) continue;
    used.add(best);
    within += bestN;
    ours[best].forEach((k, j) => {
      worst = Math.max(
        worst,
        Math.abs(k.x - rp.keypoints[j][0]),
        Math.abs(k.y - rp.keypoints[j][1]),
        Math.abs(k.score - rp.keypoints[j][2]),
      );
    });
    worstScore = Math.max(worstScore, Math.abs(oursScores[best] - rp.score));
  }
  return { people: [ours.length, ref.length], keypoints, within, worst, worstScore };
}

// bu_hrnet_w32 is not among the default test models (its export and WASM runs take minutes):
// its case runs when it has been exported, `bash models/make_test_models.sh bu_hrnet_w32`.
const OPT_IN = 'bu_hrnet_w32';
if (!hasModel(OPT_IN)) {
  console.log(`  [opt-in] ${OPT_IN}: not exported (bash models/make_test_models.sh ${OPT_IN})`);
}
const archs = [['bu_res50', true], ['bu_hrnet_w32', false]] as const;
for (const [arch, all] of archs.filter(([a]) => a !== OPT_IN || hasModel(OPT_IN))) {
  test(
    `${arch}: ` +
      `input, grouping, network and estimate() match the bottom-up reference on real photos`,
    async () => {
      if (
        skipUnless(
          existsSync(REFERENCE),
          'models/reference_bottomup.py not found: bottom-up parity skipped',
        )
      ) return;
      if (skipUnless(hasShared, '../shared/data not found: bottom-up parity skipped')) return;
      if (
        skipUnless(
          hasModel(arch),
          `${arch} test model missing (.cache/models/${arch}): run npm run models`,
        )
      ) return;
      const model = await loadModel(modelDir(arch));
      const config = model.config;
      if (config.kind !== 'bottom-up') throw new Error(`${arch} is not a bottom-up model`);
      const k = config.keypoints.length;
      const lut = normalizeTable(config.input.mean, config.input.std);
      const est = await createEstimator({ model: modelDir(arch), backend: 'wasm' });
      const session = await createPoseSession(model.onnx, config.onnx, { backend: 'wasm' });
      const sizes = new Set<string>();
      try {
        for (const photo of await photos(all)) {
          const name = `${basename(join(photo, '..'))}/${basename(photo)}`;
          // network parity at two image sizes (the first landscape and the first other shape)
          const img = await readImage(await readFile(photo), 40_000_000);
          const frame = bottomUpFrame(
            img.width,
            img.height,
            config.input.size,
            config.input.multipleOf,
          );
          const size = `${frame.width}x${frame.height}`;
          const network = sizes.size < 2 && !sizes.has(size);
          const ref = await reference(arch, photo, network);
          const { meta } = ref;

          // 1. network input
          assert.equal([frame.width, frame.height], meta.baseSize, `${name}: input size`);
          assert.equal(frame.center, meta.center, `${name}: center`);
          assert.equal(frame.scale, meta.scale, `${name}: scale`);
          const resized = warpAffineBilinear(
            img.data,
            img.width,
            img.height,
            3,
            bottomUpMatrix(frame),
            frame.width,
            frame.height,
          );
          const input = new Float32Array(3 * frame.width * frame.height);
          writeInputTensor(resized, frame.width, frame.height, lut, input, 0, false);
          const want = await readF32(join(ref.dir, 'input.f32'));
          let differ = 0;
          for (let i = 0; i < want.length; i++) if (input[i] !== want[i]) differ++;
          assert.is(differ, 0, `${name}: ${differ} of ${want.length} input values differ`);

          // 2. grouping on the reference's aggregated maps
          const [, , h, w] = meta.aggregatedShape;
          const l = meta.tagsShape[4];
          const maps: BottomUpMaps = {
            heatmaps: await readF32(join(ref.dir, 'aggregated.f32')),
            tags: tagPlanes(await readF32(join(ref.dir, 'tags.f32')), l),
            k,
            h,
            w,
            l,
          };
          const g = config.grouping;
          const t0 = performance.now();
          const grouped = matchByTag(
            topKCandidates(maps, g.maxPeople, g.nmsKernel, g.nmsPadding),
            g,
          );
          if (g.adjust) adjustJoints(grouped, maps);
          const scores = personScores(grouped);
          if (g.refine) refinePeople(grouped, maps);
          const coords = groupedToImage(grouped, frame, w, h);
          const groupMs = performance.now() - t0;
          const people = Array.from(
            { length: grouped.people },
            (_, p) =>
              Array.from(
                { length: k },
                (_, j) => ({
                  x: coords[(p * k + j) * 2],
                  y: coords[(p * k + j) * 2 + 1],
                  score: grouped.joints[(p * k + j) * (3 + l) + 2],
                }),
              ),
          );
          const c = compare(people, Array.from(scores), ref.result.people);
          console.log(
            `    ${name} ${size}: grouping on the reference maps: ${c.people[0]} vs ${
              c.people[1]
            } people, ${c.within}/${c.keypoints} keypoints within 0.01 px (worst ${
              c.worst.toExponential(1)
            }), scores ${c.worstScore.toExponential(1)}, ${groupMs.toFixed(0)} ms`,
          );
          assert.is(c.people[0], c.people[1], `${name}: people`);
          assert.is(c.within, c.keypoints, `${name}: keypoints within 0.01 px`);
          assert.ok(c.worstScore <= 1e-6, `${name}: score differs by ${c.worstScore}`);

          // 3. network
          if (network) {
            sizes.add(size);
            const out = await session.run(want, [1, 3, h, w]);
            const torch = await readF32(join(ref.dir, 'output.f32'));
            let lo = Infinity, hi = -Infinity, diff = 0;
            for (let i = 0; i < torch.length; i++) {
              lo = Math.min(lo, torch[i]);
              hi = Math.max(hi, torch[i]);
              diff = Math.max(diff, Math.abs(out.data[i] - torch[i]));
            }
            console.log(
              `    ${name} ${size}: onnxruntime-web vs PyTorch output: max |diff| ${
                diff.toExponential(2)
              } over a range of ${(hi - lo).toFixed(3)}`,
            );
            assert.equal(Array.from(out.dims), meta.outputShape);
            assert.ok(diff <= 1e-3 * (hi - lo), `${name}: network output differs by ${diff}`);
          }

          // 4. estimate()
          const r = await est.estimate(await readFile(photo));
          const e = compare(
            r.people.map((p) => p.keypoints),
            r.people.map((p) => p.score),
            ref.result.people,
          );
          // no people on either side: nothing to compare
          const share = e.keypoints === 0 ? 1 : e.within / e.keypoints;
          console.log(
            `    ${name}: estimate(): ${e.people[0]} vs ${
              e.people[1]
            } people, ${e.within}/${e.keypoints} keypoints within 0.01 px; inference ${
              r.timings.inference.toFixed(0)
            } ms, nms ${r.timings.nms!.toFixed(0)}, grouping ${
              r.timings.grouping!.toFixed(1)
            }, refine ${r.timings.refine!.toFixed(0)}`,
          );
          assert.ok(
            Math.abs(e.people[0] - e.people[1]) <= 1,
            `${name}: estimate() found ${e.people[0]} people, the reference ${e.people[1]}`,
          );
          assert.ok(
            share >= 0.95,
            `${name}: only ${(share * 100).toFixed(1)}% of keypoints within 0.01 px`,
          );
        }
      } finally {
        await est.dispose();
        await session.release();
      }
    },
  );
}

test.run();
