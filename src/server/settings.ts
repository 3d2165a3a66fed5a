/**
 * The HTTP service's settings: options passed to {@link createApp}, or read from an
 * environment (process env, `Deno.env`, a Worker's `env` binding) by {@link appOptionsFromEnv}.
 * @module
 */
import { oneOf, SRPoseError } from '../errors.ts';
import { BACKEND_REQUESTS } from '../runtime/pose-session.ts';
import type { EstimatorOptions, ModelSource } from '../types.ts';
import type { DemoOptions } from './demo.ts';
import { parseWeightsRequest } from '../model/weights.ts';
import { parseYesNo, processEnv } from '../platform/env.ts';
import { DEFAULT_EDGE_DETECTOR, DEFAULT_EDGE_MODEL, DEFAULT_EDGE_WEIGHTS } from '../defaults.ts';

/** Largest request body accepted, in bytes. */
export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;
/**
 * Requests that may run (decode + crop + inference) at once; inference itself is serialised per
 * WASM module.
 */
export const DEFAULT_CONCURRENCY = 2;
/** Requests that may wait for a slot; one more is answered 503 with `Retry-After`. */
export const DEFAULT_MAX_QUEUE = 16;
/** Deadline of one request, from arrival to answer (queue wait included). */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** Options of the HTTP app; everything of {@link EstimatorOptions} applies to its model. */
export interface AppOptions extends Omit<EstimatorOptions, 'model' | 'detector'> {
  /** The model to serve: Hub id, directory, URL or bytes. Default `SRPOSE_MODEL`. */
  model?: ModelSource;
  /**
   * The person detector for requests without boxes (see {@link EstimatorOptions.detector});
   * `false`: none, which turns off the edge default ({@link edgeDefaults}). Default
   * `SRPOSE_DETECTOR` (`none` for `false`).
   */
  detector?: EstimatorOptions['detector'] | false;
  /** When set, every `/v1/*` request needs `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Largest body, bytes (413 past it). Default 10 MB. */
  maxBodyBytes?: number;
  /** Requests running at once. Default 2. */
  concurrency?: number;
  /** Requests waiting beyond those; more get 503. Default 16. */
  maxQueue?: number;
  /** Per-request deadline in ms (504 past it; 408 for a body still arriving). Default 30 s. */
  timeoutMs?: number;
  /**
   * Threads running the model, each with its own copy (memory: one model each) and `cores /
   * workers` onnxruntime threads, so inference never blocks the thread serving HTTP. Default 1
   * where the runtime has threads (Node, Deno): as fast as in-thread inference at every
   * concurrency, for no extra memory (`npm run bench -- load`); 2 serve a small request beside
   * a long one, but one request at a time at half speed. 0 (inference in the serving isolate)
   * where the runtime has none (Cloudflare Workers, Deno Deploy).
   */
  workers?: number;
  /** CORS: `true` or `'*'` for any origin, or the allowed origins. Default off. */
  cors?: boolean | string | string[];
  /** Load the model when the app is created and run it once, instead of on the first request. */
  warmup?: boolean;
  /**
   * Serve the demo page at `GET /` (browser inference; see docs/browser.md "The demo page"). Off by
   * default.
   */
  demo?: DemoOptions;
  /**
   * One structured line per request and per failure; default `console.log` of JSON. `false`
   * silences.
   */
  log?: ((entry: Record<string, unknown>) => void) | false;
}

type EnvLike = Record<string, unknown> | undefined;

function str(env: EnvLike, name: string): string | undefined {
  const v = env?.[name];
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

function int(env: EnvLike, name: string, min: number): number | undefined {
  const v = str(env, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    throw new SRPoseError(
      'INVALID_OPTION',
      `${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`,
    );
  }
  return n;
}

function bool(env: EnvLike, name: string): boolean | undefined {
  const v = str(env, name);
  const b = parseYesNo(v);
  if (b === null) {
    throw new SRPoseError(
      'INVALID_OPTION',
      `${name} must be true or false, got ${JSON.stringify(v)}`,
    );
  }
  return b;
}

/**
 * Reads the app's settings from an environment: `SRPOSE_MODEL`, `SRPOSE_API_KEY`,
 * `SRPOSE_MAX_BODY_BYTES`, `SRPOSE_MAX_BOXES`, `SRPOSE_MAX_PIXELS`, `SRPOSE_CONCURRENCY`,
 * `SRPOSE_MAX_QUEUE`, `SRPOSE_TIMEOUT_MS`, `SRPOSE_WORKERS`, `SRPOSE_CORS_ORIGINS` (`*` or a
 * comma list),
 * `SRPOSE_WARMUP`, `SRPOSE_BACKEND`, `SRPOSE_THREADS`, `SRPOSE_FLIP_TEST`, `SRPOSE_WEIGHTS`
 * (`auto`, `fp32`, `fp16`, `int8`), `SRPOSE_PREPARED`, `SRPOSE_DETECTOR` (a detector model)
 * with `SRPOSE_DETECTOR_SCORE`; the Hub's own
 * variables (`HF_ENDPOINT`, `HF_TOKEN`, `HF_HUB_CACHE`, `HF_HUB_OFFLINE`) are read where the
 * Hub client runs. Workers pass their `env` binding, which is not the process environment.
 */
export function appOptionsFromEnv(env: EnvLike = processEnv()): AppOptions {
  const cors = str(env, 'SRPOSE_CORS_ORIGINS');
  const backend = str(env, 'SRPOSE_BACKEND');
  if (backend !== undefined) oneOf(backend, BACKEND_REQUESTS, 'SRPOSE_BACKEND');
  const o: AppOptions = {
    model: str(env, 'SRPOSE_MODEL'),
    apiKey: str(env, 'SRPOSE_API_KEY'),
    maxBodyBytes: int(env, 'SRPOSE_MAX_BODY_BYTES', 1),
    maxBoxes: int(env, 'SRPOSE_MAX_BOXES', 1),
    maxPixels: int(env, 'SRPOSE_MAX_PIXELS', 1),
    concurrency: int(env, 'SRPOSE_CONCURRENCY', 1),
    maxQueue: int(env, 'SRPOSE_MAX_QUEUE', 0),
    timeoutMs: int(env, 'SRPOSE_TIMEOUT_MS', 1),
    workers: int(env, 'SRPOSE_WORKERS', 0),
    cors: cors === undefined
      ? undefined
      : cors === '*'
      ? '*'
      : cors.split(',').map((s) => s.trim()).filter(Boolean),
    warmup: bool(env, 'SRPOSE_WARMUP'),
    backend: backend as AppOptions['backend'],
    threads: int(env, 'SRPOSE_THREADS', 1),
    flipTest: bool(env, 'SRPOSE_FLIP_TEST'),
    weights: str(env, 'SRPOSE_WEIGHTS') === undefined
      ? undefined
      : parseWeightsRequest(str(env, 'SRPOSE_WEIGHTS')),
    prepared: bool(env, 'SRPOSE_PREPARED'),
    detector: detectorFromEnv(env),
    // Workers have no process env: their Hub settings come from the binding too.
    hubUrl: str(env, 'HF_ENDPOINT'),
    accessToken: str(env, 'HF_TOKEN'),
  };
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as AppOptions;
}

/** `SRPOSE_DETECTOR` and its score threshold `SRPOSE_DETECTOR_SCORE`, as the `detector` option. */
function detectorFromEnv(env: EnvLike): AppOptions['detector'] {
  const model = str(env, 'SRPOSE_DETECTOR');
  const score = str(env, 'SRPOSE_DETECTOR_SCORE');
  if (model === undefined || model === 'none') {
    if (score !== undefined) {
      throw new SRPoseError(
        'INVALID_OPTION',
        'SRPOSE_DETECTOR_SCORE needs SRPOSE_DETECTOR ' +
          `(at the edge, the default is ${DEFAULT_EDGE_DETECTOR})`,
      );
    }
    return model === 'none' ? false : undefined;
  }
  if (score === undefined) return model;
  const scoreThreshold = Number(score);
  if (score.trim() === '' || !(scoreThreshold >= 0 && scoreThreshold <= 1)) {
    throw new SRPoseError(
      'INVALID_OPTION',
      `SRPOSE_DETECTOR_SCORE must be a number in [0, 1], got ${JSON.stringify(score)}`,
    );
  }
  return { model, scoreThreshold };
}

/**
 * What an edge isolate (Cloudflare Workers, Deno Deploy: no writable disk, 128 MB, no threads)
 * adds under its settings: inference in the isolate, the Cache API for Hub downloads, crops
 * two at a time and, when `settings` name no model, the edge-sized {@link DEFAULT_EDGE_MODEL}
 * in {@link DEFAULT_EDGE_WEIGHTS} with the person detector {@link DEFAULT_EDGE_DETECTOR}
 * (explicit settings still win, spread after this: `SRPOSE_WEIGHTS`, `SRPOSE_DETECTOR`, `none`
 * for no detector). The isolate's memory with six people detected is measured in
 * docs/deploy.md.
 */
export function edgeDefaults(settings: AppOptions): AppOptions {
  // No threads in an edge isolate: inference runs in it (workers 0). Batches of two crops (a
  // crop and its mirror): the WASM heap grows to a batch's activations and never shrinks
  // (larger batches took the isolate over its 128 MB: docs/deploy.md).
  const edge: AppOptions = { cache: 'web', workers: 0, maxBatch: 2 };
  return settings.model === undefined
    ? {
      ...edge,
      model: DEFAULT_EDGE_MODEL,
      weights: DEFAULT_EDGE_WEIGHTS,
      detector: DEFAULT_EDGE_DETECTOR,
    }
    : edge;
}

/**
 * What a Node-based serverless function (AWS Lambda, Netlify, Vercel) adds under its settings:
 * the Hub cache in /tmp (the only writable place) unless `HF_HUB_CACHE` says otherwise, and one
 * inference thread (an instance serves one request at a time).
 */
export function functionDefaults(env: Record<string, string | undefined>): AppOptions {
  return { cacheDir: env.HF_HUB_CACHE ?? '/tmp/huggingface/hub', workers: 1 };
}
