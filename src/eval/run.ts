/**
 * Runs an estimator over an evaluation dataset as the official test does (mmpose 0.x
 * `evaluate`): every job's people estimated, then per image the official post-processing
 * (top-down: rescoring by the keypoint scores above `vis_thr`, OKS-NMS at `oks_thr`;
 * bottom-up: none), and the results written in the official format, image by image, so a
 * stopped run resumes where it stopped.
 * @module
 */
import { boxToCenterScale } from '../core/boxes.ts';
import { topDownPostprocess } from '../core/eval/oks-nms.ts';
import { SRPoseError } from '../errors.ts';
import { joinPath, readLocalFile } from '../platform/files.ts';
import type { Estimator } from '../types.ts';
import type { EvalJob } from './datasets.ts';
import { openResults, readResults } from './results-file.ts';

/** A top-down result as mmpose writes it (`result_keypoints.json`). */
export interface TopDownResult {
  image_id: number;
  category_id: 1;
  keypoints: number[];
  score: number;
  center: [number, number];
  scale: [number, number];
}

/** A bottom-up result as mmpose writes it (with the keypoints' bounding box). */
export interface BottomUpResult {
  image_id: number;
  category_id: 1;
  keypoints: number[];
  score: number;
  bbox: [number, number, number, number];
}

/** An MPII prediction: the person's place in the annotation file and its keypoints. */
export interface MpiiResult {
  image: string;
  index: number;
  keypoints: number[];
  center: [number, number];
  scale: [number, number];
}

export type EvalResult = TopDownResult | BottomUpResult | MpiiResult;

/** The official post-processing settings (a test config's `data_cfg`). */
export interface PostprocessSettings {
  oksThr: number;
  visThr: number;
  softNms: boolean;
  sigmas: readonly number[];
}

/** Options of {@link runDataset}. */
export interface RunDatasetOptions {
  estimator: Estimator;
  jobs: readonly EvalJob[];
  imagesDir: string;
  /** The results file (resumed when it holds an earlier run's results). */
  out: string;
  /** How results are formed: top-down (COCO, CrowdPose), bottom-up, or MPII. */
  kind: 'top-down' | 'bottom-up' | 'mpii';
  postprocess: PostprocessSettings;
  flipTest?: boolean;
  /** Called after each image: images done (of all), people estimated. */
  onProgress?: (p: { done: number; total: number; skipped: number }) => void;
  signal?: AbortSignal;
}

const f32 = Math.fround;

/** Estimates every job not already in `out`; resolves to all the results, in file order. */
export async function runDataset(o: RunDatasetOptions): Promise<EvalResult[]> {
  const keyOf = (r: EvalResult) => ('image' in r ? r.image : String(r.image_id));
  const jobKey = (j: EvalJob) => (o.kind === 'mpii' ? j.file : String(j.imageId));
  const earlier = await readResults<EvalResult>(o.out, keyOf);
  const known = new Set(o.jobs.map(jobKey));
  for (const k of earlier.done) {
    if (!known.has(k)) {
      throw new SRPoseError(
        'INVALID_OPTION',
        `${o.out} holds results of image ${k}, which this dataset does not have: ` +
          'pass another --out',
      );
    }
  }
  const writer = await openResults(o.out, earlier.results);
  const all = [...earlier.results];
  let done = 0;
  const todo = o.jobs.filter((j) => !earlier.done.has(jobKey(j)));
  const skipped = o.jobs.length - todo.length;
  try {
    for (const job of todo) {
      if (o.signal?.aborted) break;
      const bytes = await readLocalFile(joinPath(o.imagesDir, job.file), 'image');
      const results = await estimateJob(o, job, bytes);
      await writer.add(results);
      all.push(...results);
      done++;
      o.onProgress?.({ done: done + skipped, total: o.jobs.length, skipped });
    }
  } finally {
    if (done + skipped === o.jobs.length) await writer.close();
  }
  return all;
}

async function estimateJob(
  o: RunDatasetOptions,
  job: EvalJob,
  bytes: Uint8Array,
): Promise<EvalResult[]> {
  const { estimator } = o;
  if (o.kind === 'bottom-up') {
    const r = await estimator.estimate(bytes, { flipTest: o.flipTest, signal: o.signal });
    return r.people.map((p): BottomUpResult => {
      const kp = p.keypoints.flatMap((k) => [k.x, k.y, k.score]);
      const xs = p.keypoints.map((k) => k.x);
      const ys = p.keypoints.map((k) => k.y);
      const x0 = Math.min(...xs);
      const y0 = Math.min(...ys);
      return {
        image_id: job.imageId,
        category_id: 1,
        keypoints: kp,
        score: p.score,
        bbox: [x0, y0, Math.max(...xs) - x0, Math.max(...ys) - y0],
      };
    });
  }
  const r = await estimator.estimate(bytes, {
    boxes: job.boxes,
    flipTest: o.flipTest,
    signal: o.signal,
  });
  const { width, height } = estimator.info.input;
  // The official pipeline holds keypoints, centres, scales and box scores in float32 arrays.
  const people = r.people.map((p, i) => {
    const box = job.boxes[i];
    const { center, scale } = boxToCenterScale(box, width, height);
    return {
      keypoints: p.keypoints.flatMap((k) => [f32(k.x), f32(k.y), f32(k.score)]),
      center,
      scale,
      area: f32(f32(scale[0] * 200) * f32(scale[1] * 200)),
      score: f32(box[4] ?? 1),
    };
  });
  if (o.kind === 'mpii') {
    return people.map((p, i) => ({
      image: job.file,
      index: job.index![i],
      keypoints: p.keypoints,
      center: p.center,
      scale: p.scale,
    }));
  }
  // rescoring by the keypoint scores, then OKS-NMS, as the dataset's evaluate does
  const [kept] = topDownPostprocess([people], {
    oksThr: o.postprocess.oksThr,
    visThr: o.postprocess.visThr,
    softNms: o.postprocess.softNms,
    sigmas: o.postprocess.sigmas,
  });
  return kept.map(({ person, score }): TopDownResult => ({
    image_id: job.imageId,
    category_id: 1,
    keypoints: person.keypoints,
    score,
    center: person.center,
    scale: person.scale,
  }));
}
