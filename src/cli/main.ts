import cac from 'cac';
import { createEstimator } from '../estimator/estimator.ts';
import { isSRPoseError, SRPoseError } from '../errors.ts';
import { readLocalFile, writeLocalFile } from '../platform/files.ts';
import { renderPosesPng } from '../image/draw.ts';
import { readImage } from '../image/input.ts';
import { DEFAULT_MAX_PIXELS } from '../defaults.ts';
import { estimatorFlags, estimatorOptions, parseBoxes, progressBar } from './options.ts';
import type { EstimateResult } from '../types.ts';

function summary(file: string, r: EstimateResult): string {
  const lines = [
    `${file}: ${r.people.length} ${
      r.people.length === 1 ? 'person' : 'people'
    } (${r.backend}, ${r.weights} weights, ${r.threads} thread${r.threads === 1 ? '' : 's'}, ${
      r.timings.total.toFixed(1)
    } ms)`,
  ];
  r.people.forEach((p, i) => {
    lines.push(
      `  person ${i} box [${p.box.map((v) => v.toFixed(1)).join(', ')}] score ${
        p.score.toFixed(3)
      }`,
    );
    for (const k of p.keypoints) {
      lines.push(
        `    ${k.name.padEnd(15)} ${k.x.toFixed(1).padStart(8)} ${k.y.toFixed(1).padStart(8)}  ${
          k.score.toFixed(3)
        }`,
      );
    }
  });
  return lines.join('\n');
}

/** Runs the CLI; resolves to the exit code. */
export async function main(
  argv: string[],
  out = (s: string) => console.log(s),
  err = (s: string) => console.error(s),
): Promise<number> {
  const cli = cac('srpose');
  let action: Promise<number> | undefined;
  estimatorFlags(cli.command('estimate <...images>', 'Estimate poses in images (JPEG, PNG, WebP)'))
    .option(
      '--boxes <boxes>',
      "Person boxes x,y,w,h[;x,y,w,h...] (default: the detector's, else the whole image)",
    )
    .option('--json', 'Print the results as JSON')
    .option('--draw <file>', 'Write the (first) image with the skeletons drawn, as PNG')
    .action((images: string[], o: Record<string, any>) => {
      action = runEstimate(images, o, out);
    });
  estimatorFlags(
    cli.command(
      'video <file>',
      'Track poses through a video (read and written with ffmpeg): one JSON line per frame',
    ),
  )
    .option('--boxes <boxes>', 'People to track from the first frame (without a detector)')
    .option('--out <file>', 'Write the JSON lines to this file (default: standard output)')
    .option('--detect-every <n>', 'Find the people anew every n frames (default 10)')
    .option('--match-by <how>', 'oks | iou: how people keep their ids (default oks)')
    .option('--no-smooth', 'No One Euro smoothing of the keypoints')
    .option('--draw <file>', 'Write the video with the skeletons drawn (e.g. out.mp4)')
    .action((file: string, o: Record<string, any>) => {
      action = import('./video.ts').then((m) => m.runVideo(file, o, out, err));
    });
  estimatorFlags(
    cli.command(
      'eval',
      "The paper's metrics on COCO, CrowdPose or MPII, as the official test computes them",
    ),
  )
    .option('--dataset <name>', 'coco | crowdpose | mpii')
    .option('--annotations <file>', 'The annotation file (COCO format; MPII: mmpose mpii_val.json)')
    .option('--images <dir>', 'The folder of the images the annotations name')
    .option('--detections <file>', 'Person detections (COCO results format) to estimate in')
    .option('--use-gt-boxes', 'Estimate in the ground-truth boxes instead of detections')
    .option('--soft-nms', "mmpose's soft OKS-NMS instead of OKS-NMS (the configs' soft_nms)")
    .option('--ground-truth <file>', 'MPII: the PCKh ground truth (mpii_gt_val.mat as JSON)')
    .option(
      '--out <file>',
      'The results file, resumed when present (default result_keypoints_<dataset>.json)',
    )
    .option('--metric <name>', 'xtcocotools (default) | pycocotools (COCO)')
    .option('--results <file>', 'Score this results file; no model is run')
    .option('--json', 'Print the metrics as JSON, at full precision')
    .action((o: Record<string, any>) => {
      action = import('./eval.ts').then((m) => m.runEval(o, out));
    });
  cli
    .command(
      'publish <dir>',
      'Upload an exported model (srpose.json + ONNX + model card) to the Hub',
    )
    .option('--repo <repo>', 'Target repository owner/name')
    .option('--create', 'Create the repository if it does not exist')
    .option('--private', 'Create it private')
    .option('--hub-url <url>', 'Hub endpoint (default HF_ENDPOINT or https://huggingface.co)')
    .option('--token <token>', 'Hub token with write access (default HF_TOKEN)')
    .action((dir: string, o: Record<string, any>) => {
      action = runPublish(dir, o, out);
    });
  cli
    .command(
      'prepare <dir>',
      'Prepare an exported model for fast WASM starts (edge, browser): writes *.prepared.ort ' +
        'and records them in srpose.json (needs onnxruntime-node)',
    )
    .action((dir: string) => {
      action = runPrepare(dir, out);
    });
  cli.help();
  cli.version('0.1.0');
  try {
    cli.parse(['node', 'srpose', ...argv], { run: false });
    if (!cli.matchedCommand && argv.length > 0 && !cli.options.help && !cli.options.version) {
      err(`srpose: unknown command "${argv[0]}"; try srpose --help`);
      return 2;
    }
    await cli.runMatchedCommand();
    if (!action) {
      if (argv.length === 0) cli.outputHelp();
      return 0;
    }
    return await action;
  } catch (e) {
    err(isSRPoseError(e) ? `srpose: ${e.code}: ${e.message}` : `srpose: ${(e as Error).message}`);
    return isSRPoseError(e) && e.code !== 'INFERENCE_FAILED' ? 2 : 1;
  }
}

async function runEstimate(
  images: string[],
  o: Record<string, any>,
  out: (s: string) => void,
): Promise<number> {
  const boxes = o.boxes === undefined ? undefined : parseBoxes(String(o.boxes));
  const progress = progressBar();
  const estimator = await createEstimator(estimatorOptions(o, progress.update)).finally(
    progress.stop,
  );
  try {
    const results: { file: string; result: EstimateResult }[] = [];
    for (const file of images) {
      const bytes = await readLocalFile(file, 'image');
      // The image to draw on is decoded once, and estimated from those pixels.
      const img = o.draw && results.length === 0
        ? await readImage(bytes, DEFAULT_MAX_PIXELS)
        : undefined;
      const result = await estimator.estimate(img ?? bytes, { boxes });
      results.push({ file, result });
      if (!o.json) out(summary(file, result));
      if (img) {
        const png = await renderPosesPng(img, result.people, estimator.info.skeleton);
        await writeLocalFile(String(o.draw), png);
        if (!o.json) out(`wrote ${o.draw}`);
      }
    }
    if (o.json) out(JSON.stringify(results.length === 1 ? results[0] : results, null, 2));
    return 0;
  } finally {
    await estimator.dispose();
  }
}

async function runPublish(
  dir: string,
  o: Record<string, any>,
  out: (s: string) => void,
): Promise<number> {
  if (!o.repo) throw new SRPoseError('INVALID_OPTION', '--repo owner/name is required');
  const { publishModel } = await import('../model/publish.ts');
  const r = await publishModel(dir, {
    repo: String(o.repo),
    create: o.create === true,
    private: o.private === true,
    hubUrl: o.hubUrl,
    accessToken: o.token,
  });
  out(`published ${dir} to ${r.url}${r.commit ? ` (commit ${r.commit})` : ''}`);
  return 0;
}

async function runPrepare(dir: string, out: (s: string) => void): Promise<number> {
  const { prepareModel } = await import('../model/prepare.ts');
  const p = await prepareModel(dir);
  for (const [kind, f] of Object.entries(p.files)) {
    out(`${kind}: ${f!.file} (${f!.bytes} bytes), batch ${p.batch}, onnxruntime ${p.version}`);
  }
  return 0;
}
