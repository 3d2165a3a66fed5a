import cac from 'cac';
import { Presets, SingleBar } from 'cli-progress';
import { createEstimator } from '../estimator/estimator.ts';
import { parseWeightsRequest, WEIGHTS_REQUESTS } from '../model/weights.ts';
import { DECODE_METHODS } from '../model/config.ts';
import { BACKEND_REQUESTS } from '../runtime/pose-session.ts';
import { envVar } from '../platform/env.ts';
import { isSRPoseError, SRPoseError } from '../errors.ts';
import { readLocalFile, writeLocalFile } from '../platform/files.ts';
import { renderPosesPng } from '../image/draw.ts';
import { readImage } from '../image/input.ts';
import { DEFAULT_MAX_PIXELS } from '../defaults.ts';
import { checkBoxList } from '../core/boxes.ts';
import type { Box, EstimateResult, EstimatorOptions } from '../types.ts';

/**
 * Parses `x,y,w,h[;x,y,w,h...]` (each optionally `,score`); the list is checked as the library
 * checks it.
 */
export function parseBoxes(text: string): Box[] {
  const boxes = text.split(';').filter((s) => s.trim() !== '').map((part, i) => {
    const v = part.split(',').map((s) => (s.trim() === '' ? NaN : Number(s.trim())));
    if (v.length !== 4 && v.length !== 5) {
      throw new SRPoseError('INVALID_BOX', `--boxes entry ${i} "${part}" must be x,y,w,h`);
    }
    return v;
  });
  checkBoxList(boxes, Infinity);
  return boxes;
}

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
  cli
    .command('estimate <...images>', 'Estimate poses in images (JPEG, PNG, WebP)')
    .option('--model <model>', 'Model: a Hub id owner/name[@revision], a directory or a URL', {
      default: envVar('SRPOSE_MODEL'),
    })
    .option(
      '--boxes <boxes>',
      "Person boxes x,y,w,h[;x,y,w,h...] (default: the detector's, else the whole image)",
    )
    .option('--detector <model>', 'Person detector (YOLOX): a Hub id, a directory or a URL', {
      default: envVar('SRPOSE_DETECTOR'),
    })
    .option('--det-score <t>', 'Lowest detection score kept (default 0.3)')
    .option('--flip', 'Flip test (average with the mirrored crop)')
    .option('--no-flip', 'No flip test')
    .option('--backend <backend>', BACKEND_REQUESTS.join(' | '), { default: 'auto' })
    .option('--threads <n>', 'native intra-op / WASM threads (default: all cores)')
    .option('--decode <method>', `${DECODE_METHODS.join(' | ')} (default: from srpose.json)`)
    .option(
      '--weights <kind>',
      `${WEIGHTS_REQUESTS.join(' | ')}: which weight file to load (default auto)`,
    )
    .option('--revision <rev>', 'Hub branch, tag or commit (also owner/name@rev)')
    .option('--hub-url <url>', 'Hub endpoint (default HF_ENDPOINT or https://huggingface.co)')
    .option('--token <token>', 'Hub token for private or gated models (default HF_TOKEN)')
    .option('--cache-dir <dir>', 'Hub cache (default HF_HUB_CACHE or ~/.cache/huggingface/hub)')
    .option('--offline', 'Use the Hub cache only (also HF_HUB_OFFLINE=1)')
    .option('--json', 'Print the results as JSON')
    .option('--draw <file>', 'Write the (first) image with the skeletons drawn, as PNG')
    .action((images: string[], o: Record<string, any>) => {
      action = runEstimate(images, o, out);
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
      'Prepare an exported model for fast WASM starts (edge, browser): writes *.prepared.onnx ' +
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
  if (!o.model) {
    throw new SRPoseError('INVALID_OPTION', '--model is required (or set SRPOSE_MODEL)');
  }
  const boxes = o.boxes === undefined ? undefined : parseBoxes(String(o.boxes));
  const progress = progressBar();
  const estimator = await createEstimator({
    model: String(o.model),
    revision: o.revision === undefined ? undefined : String(o.revision),
    hubUrl: o.hubUrl,
    accessToken: o.token,
    cacheDir: o.cacheDir,
    offline: o.offline === true ? true : undefined,
    onProgress: progress.update,
    backend: o.backend,
    threads: o.threads === undefined ? undefined : Number(o.threads),
    decode: o.decode,
    weights: o.weights === undefined ? undefined : parseWeightsRequest(String(o.weights)),
    flipTest: o.flip === undefined ? undefined : Boolean(o.flip),
    detector: detectorOption(o),
  }).finally(progress.stop);
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

function detectorOption(o: Record<string, any>): EstimatorOptions['detector'] {
  if (!o.detector) {
    if (o.detScore !== undefined) {
      throw new SRPoseError('INVALID_OPTION', '--det-score needs --detector');
    }
    return undefined;
  }
  const model = String(o.detector);
  if (o.detScore === undefined) return model;
  const scoreThreshold = Number(o.detScore);
  if (!(scoreThreshold >= 0 && scoreThreshold <= 1)) {
    throw new SRPoseError('INVALID_OPTION', `--det-score must be in [0, 1], got ${o.detScore}`);
  }
  return { model, scoreThreshold };
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

/** A download progress bar on stderr (cli-progress), shown only on a terminal. */
function progressBar(): {
  update: (p: { file: string; loaded: number; total: number }) => void;
  stop: () => void;
} {
  const stderr = (globalThis as any).process?.stderr;
  if (!stderr?.isTTY) return { update: () => {}, stop: () => {} };
  let bar: any;
  let file = '';
  return {
    update: (p) => {
      if (p.file !== file) {
        bar?.stop();
        file = p.file;
        bar = new SingleBar({
          format: `${p.file} [{bar}] {percentage}% {value}/{total} bytes`,
          stream: stderr,
        }, Presets.shades_classic);
        bar.start(p.total, 0);
      }
      bar.update(p.loaded);
    },
    stop: () => bar?.stop(),
  };
}
