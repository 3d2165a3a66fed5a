// Bottom-up benchmark: per-stage milliseconds of the bottom-up pipeline at a 512 short side
// (a 640x480 image -> a 704x512 network input, flip test on, as the official test_cfg):
//
// - resize: the whole image warped to the input and normalised, with its mirror (one batch);
// - inference: onnxruntime-web (WASM) session.run on that [2, 3, 512, 704] batch, when a
//   bottom-up model is exported (.cache/models/bu_res50, or the `model` argument);
// - nms: flip merge + heatmap NMS + top-k; grouping: Hungarian matching by tags; refine:
//   adjust, scores, refine, back to the image. These run on synthetic network outputs (1, 5
//   and 30 people with Gaussian joints, noise, missing and weak joints: tests/helpers/
//   bottomup-scene.ts), whose grouping is known, so every run is also checked.
//
// Target: grouping under 10% of inference at 30 people (reported as groupingOverInference).
// Usage: `bottomUpBench(runs)` returns the JSON; bench/run.ts wires it in.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  adjustJoints,
  bottomUpFrame,
  bottomUpMatrix,
  groupedToImage,
  matchByTag,
  mergeFlipBottomUp,
  personScores,
  refinePeople,
  topKCandidates,
} from '../src/core/bottomup/index.ts';
import { flipIndexFromPairs } from '../src/core/flip.ts';
import { normalizeTable, writeInputTensor } from '../src/core/normalize.ts';
import { warpAffineBilinear } from '../src/core/warp.ts';
import { loadModel } from '../src/model/source.ts';
import { createPoseSession } from '../src/runtime/session.ts';
import { asFlipOutputs, COCO_GROUPING, makeScene } from '../tests/helpers/bottomup-scene.ts';
import { median } from './stats.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GROUPING = COCO_GROUPING;
const FLIP = flipIndexFromPairs(17, [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12], [13, 14], [
  15,
  16,
]]);
const K = 17;
const IMAGE = { width: 640, height: 480 };
const TARGET = 0.1;

const round = (x: number) => Math.round(x * 100) / 100;

/** A 640x480 RGB test picture with some structure. */
function picture(): Uint8Array {
  const { width: w, height: h } = IMAGE;
  const d = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      d.set([(x * 3) & 255, (y * 5) & 255, (x ^ y) & 255], (y * w + x) * 3);
    }
  }
  return d;
}

/**
 * Runs the benchmark `runs` times per stage (after one warm-up) and returns medians in ms.
 * `model`: a bottom-up model folder for the inference stage (default `.cache/models/bu_res50`).
 */
export async function bottomUpBench(
  runs = 5,
  model = join(ROOT, '.cache', 'models', 'bu_res50'),
): Promise<Record<string, unknown>> {
  const frame = bottomUpFrame(IMAGE.width, IMAGE.height, 512, 64);
  const { width: w, height: h } = frame;
  const lut = normalizeTable([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
  const img = picture();
  const per = 3 * w * h;
  const input = new Float32Array(2 * per);
  const resize = () => {
    const resized = warpAffineBilinear(
      img,
      IMAGE.width,
      IMAGE.height,
      3,
      bottomUpMatrix(frame),
      w,
      h,
    );
    writeInputTensor(resized, w, h, lut, input, 0, false);
    writeInputTensor(resized, w, h, lut, input, per, true);
  };
  const resizeMs: number[] = [];
  for (let r = 0; r <= runs; r++) {
    const t = performance.now();
    resize();
    if (r > 0) resizeMs.push(performance.now() - t);
  }

  let inference: number | null = null;
  let inferenceNote =
    `no bottom-up model at ${model} (export one: models/export.py --arch bu_res50)`;
  if (existsSync(join(model, 'srpose.json'))) {
    const loaded = await loadModel(model);
    const session = await createPoseSession(loaded.onnx, loaded.config.onnx, { backend: 'wasm' });
    try {
      const ms: number[] = [];
      for (let r = 0; r <= Math.max(1, Math.min(runs, 3)); r++) {
        const t = performance.now();
        await session.run(input, [2, 3, h, w]);
        if (r > 0) ms.push(performance.now() - t);
      }
      inference = median(ms);
      inferenceNote = `${loaded.config.arch}, wasm, ${session.threads} threads, [2, 3, ${h}, ${w}]`;
    } finally {
      await session.release();
    }
  }

  const scenes: Record<string, unknown> = {};
  let grouping30 = 0;
  for (const people of [1, 5, 30]) {
    const scene = makeScene({
      k: K,
      w,
      h,
      people,
      seed: 7 + people,
      missing: 0.1,
      weak: 0.1,
      noise: 0.08,
      borders: true,
    });
    const { plain, flipped } = asFlipOutputs(scene, FLIP);
    const stage = { nms: [] as number[], grouping: [] as number[], refine: [] as number[] };
    let found = 0;
    for (let r = 0; r <= runs; r++) {
      const a = plain.slice(), b = flipped.slice(); // the merge works in place
      const t0 = performance.now();
      const maps = mergeFlipBottomUp(a, b, K, h, w, FLIP);
      const candidates = topKCandidates(
        maps,
        GROUPING.maxPeople,
        GROUPING.nmsKernel,
        GROUPING.nmsPadding,
      );
      const t1 = performance.now();
      const grouped = matchByTag(candidates, GROUPING);
      const t2 = performance.now();
      adjustJoints(grouped, maps);
      personScores(grouped);
      refinePeople(grouped, maps);
      groupedToImage(grouped, frame, w, h);
      const t3 = performance.now();
      found = grouped.people;
      if (r === 0) continue; // warm-up
      stage.nms.push(t1 - t0);
      stage.grouping.push(t2 - t1);
      stage.refine.push(t3 - t2);
    }
    const expected = scene.people.filter((p) => p.joints.some((j) => j && !j.weak)).length;
    if (found !== expected) {
      throw new Error(`bench scene with ${people} people grouped into ${found}`);
    }
    const m = {
      nms: round(median(stage.nms)),
      grouping: round(median(stage.grouping)),
      refine: round(median(stage.refine)),
    };
    if (people === 30) grouping30 = median(stage.grouping);
    scenes[`people=${people}`] = { ms: m, peopleFound: found };
  }
  return {
    input: `${IMAGE.width}x${IMAGE.height} image -> ${w}x${h} network input, flip test (batch 2)`,
    runs,
    ms: {
      resize: round(median(resizeMs)),
      inference: inference === null ? null : round(inference),
    },
    inference: inferenceNote,
    scenes,
    groupingOverInference: inference === null
      ? null
      : Math.round((grouping30 / inference) * 10000) / 10000,
    target: `grouping at 30 people < ${TARGET * 100}% of inference`,
    pass: inference === null ? null : grouping30 / inference < TARGET,
  };
}

// Run alone: `npx tsx bench/bottom-up.ts [runs] [model dir]`.
if (import.meta.url === `file://${(globalThis as any).process?.argv?.[1]}`) {
  const args = (globalThis as any).process.argv.slice(2);
  console.log(JSON.stringify(await bottomUpBench(args[0] ? Number(args[0]) : 5, args[1]), null, 1));
}
