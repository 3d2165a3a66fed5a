/**
 * What the CLI's commands share: the flags that make an estimator, their parsing, the
 * `--boxes` syntax and the download progress bar.
 * @module
 */
import type { Command } from 'cac';
import { Presets, SingleBar } from 'cli-progress';
import { parseWeightsRequest, WEIGHTS_REQUESTS } from '../model/weights.ts';
import { DECODE_METHODS } from '../model/config.ts';
import { BACKEND_REQUESTS } from '../runtime/pose-session.ts';
import { envVar } from '../platform/env.ts';
import { SRPoseError } from '../errors.ts';
import { checkBoxList } from '../core/boxes.ts';
import type { Box, EstimatorOptions } from '../types.ts';

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

/** The flags that make an estimator, shared by `estimate` and `video`. */
export function estimatorFlags(command: Command): Command {
  return command
    .option('--model <model>', 'Model: a Hub id owner/name[@revision], a directory or a URL', {
      default: envVar('SRPOSE_MODEL'),
    })
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
    .option('--offline', 'Use the Hub cache only (also HF_HUB_OFFLINE=1)');
}

/** The estimator options of the parsed flags (see {@link estimatorFlags}). */
export function estimatorOptions(
  o: Record<string, any>,
  onProgress: EstimatorOptions['onProgress'],
): EstimatorOptions {
  if (!o.model) {
    throw new SRPoseError('INVALID_OPTION', '--model is required (or set SRPOSE_MODEL)');
  }
  return {
    model: String(o.model),
    revision: o.revision === undefined ? undefined : String(o.revision),
    hubUrl: o.hubUrl,
    accessToken: o.token,
    cacheDir: o.cacheDir,
    offline: o.offline === true ? true : undefined,
    onProgress,
    backend: o.backend,
    threads: o.threads === undefined ? undefined : Number(o.threads),
    decode: o.decode,
    weights: o.weights === undefined ? undefined : parseWeightsRequest(String(o.weights)),
    flipTest: o.flip === undefined ? undefined : Boolean(o.flip),
    detector: detectorOption(o),
  };
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

/** A download progress bar on stderr (cli-progress), shown only on a terminal. */
export function progressBar(): {
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

/**
 * A bar of items done (of `total` when known) and items a second, on stderr when it is a
 * terminal (cli-progress): `srpose video`'s frames, `srpose eval`'s images.
 */
export function rateBar(unit: string, total: number | undefined): {
  update: (done: number, perSecond: number) => void;
  stop: () => void;
} {
  const stderr = (globalThis as any).process?.stderr;
  if (!stderr?.isTTY) return { update: () => {}, stop: () => {} };
  const bar = new SingleBar({
    format: total
      ? `${unit} [{bar}] {value}/{total} | {rate} ${unit}/s | eta {eta_formatted}`
      : `${unit} {value} | {rate} ${unit}/s`,
    stream: stderr,
  });
  bar.start(total ?? 0, 0, { rate: '-' });
  return {
    update: (done, perSecond) => bar.update(done, { rate: perSecond.toFixed(1) }),
    stop: () => bar.stop(),
  };
}
