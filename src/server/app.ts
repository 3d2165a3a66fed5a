/**
 * The pose API as one Hono app, the same on every platform: `functions/<platform>.ts` only
 * adapts it. Web-standard `Request` / `Response` only; nothing here knows where it runs.
 * @module
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { DEFAULT_MAX_BOXES } from '../defaults.ts';
import { SRPoseError } from '../errors.ts';
import { toCocoResults } from '../estimator/coco.ts';
import type { EstimateResult, EstimatorInfo } from '../types.ts';
import { errorResponse } from './errors.ts';
import { Limiter, withDeadline } from './limiter.ts';
import { ModelHolder } from './model-holder.ts';
import { mountDemo } from './demo.ts';
import { openApiDocument } from './openapi.ts';
import { readEstimateRequest } from './request.ts';
import { wasmMemoryBytes } from '../runtime/wasm-memory.ts';
import {
  type AppOptions,
  appOptionsFromEnv,
  DEFAULT_CONCURRENCY,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_QUEUE,
  DEFAULT_TIMEOUT_MS,
} from './settings.ts';

/** The Hono app with the model it serves. */
export type SRPoseApp = Hono & {
  /** Loads the model if not yet loaded; resolves to what it runs. */
  ready(): Promise<EstimatorInfo>;
  /** Frees the model (tests, graceful shutdown). */
  dispose(): Promise<void>;
};

/** Constant-time string comparison, so the API key cannot be guessed byte by byte from timings. */
function sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    diff |= (x[i % (x.length || 1)] ?? 0) ^ (y[i % (y.length || 1)] ?? 0);
  }
  return diff === 0;
}

function positive(name: string, v: number, min = 1): number {
  if (!Number.isFinite(v) || v < min) {
    throw new SRPoseError('INVALID_OPTION', `${name} must be >= ${min}, got ${v}`);
  }
  return v;
}

/** A mid-grey person-sized image: one run compiles the graph's kernels before real traffic. */
const WARMUP_IMAGE = { data: new Uint8Array(192 * 256 * 3).fill(128), width: 192, height: 256 };

/**
 * Builds the pose API: `POST /v1/estimate`, `GET /v1/models`, `GET /healthz`,
 * `GET /openapi.json`. Options default to {@link appOptionsFromEnv} of the process
 * environment; pass `appOptionsFromEnv(env)` explicitly where the environment is a binding.
 *
 * ```ts
 * const app = createApp({ model: 'owner/srpose-res50', apiKey: 'secret' });
 * Deno.serve(app.fetch);
 * ```
 */
export function createApp(options: AppOptions = appOptionsFromEnv()): SRPoseApp {
  const {
    apiKey,
    cors: corsOrigins,
    warmup,
    demo,
    log: logOption,
    maxBodyBytes: mb,
    concurrency: cc,
    maxQueue: mq,
    timeoutMs: tm,
    ...estimatorOptions
  } = options;
  const maxBodyBytes = positive('maxBodyBytes', mb ?? DEFAULT_MAX_BODY_BYTES);
  const maxBoxes = positive('maxBoxes', estimatorOptions.maxBoxes ?? DEFAULT_MAX_BOXES);
  const timeoutMs = positive('timeoutMs', tm ?? DEFAULT_TIMEOUT_MS);
  const limiter = new Limiter(cc ?? DEFAULT_CONCURRENCY, mq ?? DEFAULT_MAX_QUEUE);
  const log = logOption === false
    ? () => {}
    : logOption ?? ((entry: Record<string, unknown>) => console.log(JSON.stringify(entry)));
  const model = new ModelHolder(
    estimatorOptions.model === undefined
      ? undefined
      : { ...estimatorOptions, model: estimatorOptions.model, maxBoxes },
  );
  const openapi = openApiDocument({ maxBodyBytes, maxBoxes, auth: apiKey !== undefined });

  const app = new Hono();

  app.onError((e, c) => {
    const { status, body, headers } = errorResponse(e);
    // Only our own messages are logged: no stack traces, headers or tokens.
    if (status >= 500 && body.error.code !== 'BUSY' && body.error.code !== 'TIMEOUT') {
      log({
        level: 'error',
        code: body.error.code,
        message: e instanceof SRPoseError ? e.message : String((e as Error)?.message ?? e),
      });
    }
    // Answered before the body was read (or while reading it, past the limit): the rest of it
    // would poison a kept-alive connection, so ask the client not to reuse this one.
    const unread = c.req.raw.body !== null &&
      (!c.req.raw.bodyUsed || body.error.code === 'PAYLOAD_TOO_LARGE');
    return c.json(body, status as 400, {
      ...headers,
      'X-Error-Code': body.error.code,
      ...(unread ? { Connection: 'close' } : {}),
    });
  });
  app.notFound((c) =>
    c.json(
      {
        error: {
          code: 'NOT_FOUND',
          message: `no route ${c.req.method} ${new URL(c.req.url).pathname}`,
        },
      },
      404,
      { 'X-Error-Code': 'NOT_FOUND' },
    )
  );

  app.use('*', async (c, next) => {
    const t0 = performance.now();
    await next();
    const entry: Record<string, unknown> = {
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      status: c.res.status,
      ms: Math.round(performance.now() - t0),
    };
    if (c.res.status >= 400) entry.code = c.res.headers.get('x-error-code') ?? undefined;
    log(entry);
  });
  if (corsOrigins) {
    app.use(
      '*',
      cors({
        origin: corsOrigins === true ? '*' : corsOrigins,
        allowMethods: ['GET', 'POST', 'OPTIONS'],
        allowHeaders: ['Authorization', 'Content-Type'],
        exposeHeaders: ['Retry-After', 'Server-Timing'],
        maxAge: 600,
      }),
    );
  }
  app.use('/v1/*', async (c, next) => {
    if (apiKey === undefined || c.req.method === 'OPTIONS') return await next();
    const header = c.req.header('authorization') ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m || !sameSecret(m[1], apiKey)) {
      throw new SRPoseError(
        'UNAUTHORIZED',
        m
          ? 'the API key is wrong'
          : 'this server needs an API key: send Authorization: Bearer <key>',
      );
    }
    await next();
  });

  if (demo) mountDemo(app, demo);

  app.get('/healthz', (c) => {
    // The WASM heap, where the runtime sees it (precompiled modules: Workers, edge), since edge
    // isolates count it against their memory limit.
    const wasm = wasmMemoryBytes();
    return c.json({
      status: 'ok',
      model: model.state,
      ...(model.lastError ? { modelError: model.lastError } : {}),
      running: limiter.running,
      queued: limiter.queued,
      ...(wasm === undefined ? {} : { wasmMemoryBytes: wasm }),
    });
  });
  app.get('/openapi.json', (c) => c.json(openapi));

  app.get('/v1/models', async (c) => {
    const est = await withDeadline(model.get(), timeoutMs, 'loading the model');
    return c.json({ models: [est.info] });
  });

  app.post(
    '/v1/estimate',
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: () => {
        throw new SRPoseError(
          'PAYLOAD_TOO_LARGE',
          `the body is over the ${maxBodyBytes} byte limit`,
        );
      },
    }),
    async (c) => {
      const deadline = performance.now() + timeoutMs;
      const left = () => deadline - performance.now();
      const req = await readEstimateRequest(c.req.raw, maxBoxes);
      const est = await withDeadline(model.get(), left(), 'loading the model');
      const release = await limiter.acquire(left());
      const work = (async () => {
        try {
          return await est.estimate(req.image, { boxes: req.boxes, flipTest: req.flipTest });
        } finally {
          release();
        }
      })();
      const result: EstimateResult = await withDeadline(work, left(), 'the estimate');
      const t = result.timings;
      c.header(
        'Server-Timing',
        Object.entries(t).map(([k, v]) => `${k};dur=${v.toFixed(1)}`).join(', '),
      );
      return c.json(req.format === 'coco' ? toCocoResults(result, req.imageId) : result);
    },
  );

  if (warmup) {
    model.get()
      .then((est) => est.estimate(WARMUP_IMAGE))
      .then(() => log({ level: 'info', message: 'model loaded and warmed up' }))
      .catch((e) =>
        log({
          level: 'error',
          message: `warm-up failed: ${
            e instanceof SRPoseError ? `${e.code}: ${e.message}` : 'internal error'
          }`,
        })
      );
  }

  return Object.assign(app, {
    ready: async () => (await model.get()).info,
    dispose: () => model.dispose(),
  });
}
