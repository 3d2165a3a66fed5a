/**
 * `srpose eval`: the paper's metrics on COCO, CrowdPose and MPII, as the official test does.
 * It runs the model over the dataset (src/eval/run.ts: the official boxes, rescoring and
 * OKS-NMS), writes the results file in the official format (resumable), and scores it with
 * the metric the official evaluation uses (src/core/eval/); `--results` scores a file alone.
 * @module
 */
import { createEstimator } from '../estimator/estimator.ts';
import { SRPoseError } from '../errors.ts';
import { readLocalFile } from '../platform/files.ts';
import { nodeBuiltin } from '../platform/env.ts';
import {
  bottomUpJobs,
  checkCocoAnnotations,
  cocoJobs,
  DATASET_KEYPOINTS,
  EVAL_DATASETS,
  type EvalDataset,
  type MpiiAnnotation,
  mpiiJobs,
  type PersonDetection,
} from '../eval/datasets.ts';
import { runDataset } from '../eval/run.ts';
import { DATASET_SETTINGS, type Metric, METRICS, scoreResults } from '../eval/score.ts';
import { estimatorOptions, progressBar, rateBar } from './options.ts';

async function readJson(path: string, what: string): Promise<unknown> {
  const bytes = await readLocalFile(path, what);
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new SRPoseError('INVALID_OPTION', `${what} ${path} is not JSON`, { cause: e });
  }
}

/** Runs `srpose eval`; resolves to the exit code. */
export async function runEval(
  o: Record<string, any>,
  out: (s: string) => void,
): Promise<number> {
  const dataset = String(o.dataset ?? '') as EvalDataset;
  if (!EVAL_DATASETS.includes(dataset)) {
    throw new SRPoseError(
      'INVALID_OPTION',
      `--dataset must be one of ${EVAL_DATASETS.join(', ')}, got "${o.dataset ?? ''}"`,
    );
  }
  const metric = String(o.metric ?? DATASET_SETTINGS[dataset].metric) as Metric;
  if (!METRICS.includes(metric)) {
    throw new SRPoseError('INVALID_OPTION', `--metric must be one of ${METRICS.join(', ')}`);
  }
  if (!o.annotations) throw new SRPoseError('INVALID_OPTION', '--annotations FILE is required');
  const annotations = await readJson(String(o.annotations), 'annotations');
  const truth = dataset === 'mpii'
    ? await readJson(String(o.groundTruth ?? ''), 'MPII ground truth (--ground-truth)')
    : checkCocoAnnotations(annotations, String(o.annotations));

  let results: unknown;
  if (o.results) {
    results = await readJson(String(o.results), 'results');
  } else {
    results = await estimateDataset(dataset, annotations, o);
  }
  const scored = scoreResults(dataset, truth, results, metric);
  if (o.json) {
    out(JSON.stringify({ dataset, metric, names: scored.names, stats: scored.stats }));
  } else {
    const width = Math.max(...scored.names.map((n) => n.length));
    out(`${dataset}, ${metric}${o.results ? ` (${o.results})` : ''}:`);
    scored.names.forEach((n, i) => out(`  ${n.padEnd(width)}  ${scored.stats[i].toFixed(4)}`));
  }
  return 0;
}

async function estimateDataset(
  dataset: EvalDataset,
  annotations: unknown,
  o: Record<string, any>,
): Promise<unknown> {
  if (!o.images) throw new SRPoseError('INVALID_OPTION', '--images DIR is required');
  const settings = DATASET_SETTINGS[dataset];
  const outFile = String(o.out ?? `result_keypoints_${dataset}.json`);
  const download = progressBar();
  // the people are the dataset's (its detections or ground truth): no detector runs here, not
  // even one SRPOSE_DETECTOR names
  const options = estimatorOptions(
    { ...o, detector: undefined, detScore: undefined },
    download.update,
  );
  const estimator = await createEstimator(options).finally(download.stop);
  try {
    const k = estimator.info.keypoints.length;
    if (k !== DATASET_KEYPOINTS[dataset]) {
      throw new SRPoseError(
        'INVALID_OPTION',
        `the model has ${k} keypoints; ${dataset} has ${DATASET_KEYPOINTS[dataset]}`,
      );
    }
    const bottomUp = estimator.info.kind === 'bottom-up';
    if (bottomUp && dataset === 'mpii') {
      throw new SRPoseError(
        'INVALID_OPTION',
        'MPII is evaluated top-down, on its annotated people',
      );
    }
    const jobs = dataset === 'mpii'
      ? mpiiJobs(annotations as MpiiAnnotation[])
      : bottomUp
      ? bottomUpJobs(checkCocoAnnotations(annotations, String(o.annotations)))
      : cocoJobs(checkCocoAnnotations(annotations, String(o.annotations)), {
        useGtBoxes: o.useGtBoxes === true,
        detections: o.useGtBoxes
          ? undefined
          : o.detections
          ? (await readJson(String(o.detections), 'detections')) as PersonDetection[]
          : undefined,
        detScoreThreshold: settings.detScoreThreshold,
      });
    await checkResume(outFile, {
      dataset,
      annotations: String(o.annotations),
      detections: o.useGtBoxes ? 'ground truth' : String(o.detections ?? ''),
      model: String(o.model),
      flip: o.flip === undefined ? estimator.info.flipTest : Boolean(o.flip),
      softNms: o.softNms === true,
    });
    const bar = rateBar('images', jobs.length);
    const started = performance.now();
    try {
      return await runDataset({
        estimator,
        jobs,
        imagesDir: String(o.images),
        out: outFile,
        kind: dataset === 'mpii' ? 'mpii' : bottomUp ? 'bottom-up' : 'top-down',
        postprocess: o.softNms ? { ...settings.postprocess, softNms: true } : settings.postprocess,
        flipTest: o.flip === undefined ? undefined : Boolean(o.flip),
        onProgress: (p) =>
          bar.update(p.done, (p.done - p.skipped) / ((performance.now() - started) / 1000)),
      });
    } finally {
      bar.stop();
    }
  } finally {
    await estimator.dispose();
  }
}

/**
 * A results file resumes only the run that wrote it: its settings are kept beside it
 * (`<out>.run.json`) and must match.
 */
async function checkResume(outFile: string, run: Record<string, unknown>): Promise<void> {
  const fs = await nodeBuiltin<typeof import('node:fs/promises')>('fs/promises');
  const file = `${outFile}.run.json`;
  const before = await fs.readFile(file, 'utf8').then(JSON.parse, () => undefined);
  const exists = await fs.stat(outFile).then(() => true, () => false);
  if (exists && before && JSON.stringify(before) !== JSON.stringify(run)) {
    throw new SRPoseError(
      'INVALID_OPTION',
      `${outFile} holds the results of another run (${JSON.stringify(before)}): ` +
        'pass another --out, or remove it to start again',
    );
  }
  await fs.writeFile(file, JSON.stringify(run));
}
