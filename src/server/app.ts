/**
 * The pose API as one Hono app, the same on every platform: `functions/<platform>.ts` only
 * adapts it. Web-standard `Request` / `Response` only; nothing here knows where it runs.
 * @module
 */
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { DEFAULT_MAX_BOXES } from '../defaults.ts';
import { SRPoseError } from '../errors.ts';
import { toCocoResults } from '../estimator/coco.ts';
import type { EstimateResult, EstimatorInfo } from '../types.ts';
import { errorResponse } from './errors.ts';
import { abortReason, deadlineSignal, Limiter, untilAborted } from './limiter.ts';
import { ModelHolder } from './model-holder.ts';
import { createEstimator } from '../estimator/estimator.ts';
import { createPooledEstimator } from '../worker/pool.ts';
import { canStartThreads } from '../platform/threads.ts';
import { mountDemo } from './demo.ts';
import { openApiDocument } from './openapi.ts';
import { type EstimateRequest, readEstimateRequest } from './request.ts';
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
    workers: wk,
    detector,
    ...rest
  } = options;
  // `detector: false` turns off a default detector; the estimator knows only "none given"
  const estimatorOptions = detector === false || detector === undefined
    ? rest
    : { ...rest, detector };
  const maxBodyBytes = positive('maxBodyBytes', mb ?? DEFAULT_MAX_BODY_BYTES);
  const maxBoxes = positive('maxBoxes', estimatorOptions.maxBoxes ?? DEFAULT_MAX_BOXES);
  const timeoutMs = positive('timeoutMs', tm ?? DEFAULT_TIMEOUT_MS);
  const limiter = new Limiter(cc ?? DEFAULT_CONCURRENCY, mq ?? DEFAULT_MAX_QUEUE);
  // Inference off the thread that serves HTTP wherever the runtime has threads (see `workers`).
  const workers = wk ?? (canStartThreads() ? 1 : 0);
  if (!Number.isInteger(workers) || workers < 0) {
    throw new SRPoseError('INVALID_OPTION', `workers must be an integer >= 0, got ${wk}`);
  }
  const log = logOption === false
    ? () => {}
    : logOption ?? ((entry: Record<string, unknown>) => console.log(JSON.stringify(entry)));
  const model = new ModelHolder(
    estimatorOptions.model === undefined
      ? undefined
      : { ...estimatorOptions, model: estimatorOptions.model, maxBoxes },
    workers > 0 ? (o) => createPooledEstimator({ ...o, workers }) : createEstimator,
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
      (!c.req.raw.bodyUsed || body.error.code === 'PAYLOAD_TOO_LARGE' ||
        body.error.code === 'BODY_TIMEOUT');
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
    // A client that left is not a failure of ours (status 499, as nginx logs it).
    log({ level: c.res.status >= 500 ? 'warn' : 'info', ...entry });
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
      receiving: limiter.receiving,
      workers,
      ...(wasm === undefined ? {} : { wasmMemoryBytes: wasm }),
    });
  });
  app.get('/openapi.json', (c) => c.json(openapi));

  app.get('/v1/models', async (c) => {
    const deadline = deadlineSignal(timeoutMs, 'loading the model');
    try {
      const est = await untilAborted(model.get(), deadline.signal);
      // Where the files lie on this machine is the operator's business, not the client's.
      const { location: _, ...info } = est.info;
      return c.json({ models: [info] });
    } finally {
      deadline.clear();
    }
  });

  app.post(
    '/v1/estimate',
    async (c) => {
      // Admitted before the body is read: bodies being uploaded count toward the limits.
      const leave = limiter.enter();
      const t0 = performance.now();
      // One signal for the request: its deadline, or its client going away.
      const deadline = deadlineSignal(timeoutMs, 'the request');
      const client = c.req.raw.signal;
      const signal = AbortSignal.any([deadline.signal, ...(client ? [client] : [])]);
      let working: Promise<unknown> | undefined;
      try {
        let req: EstimateRequest;
        try {
          req = await untilAborted(
            readEstimateRequest(c.req.raw, { maxBoxes, maxBodyBytes }, signal),
            signal,
          );
        } catch (e) {
          if (client?.aborted) throw abortReason(client);
          if (deadline.signal.aborted) {
            throw new SRPoseError(
              'BODY_TIMEOUT',
              `the body was still arriving at the ${timeoutMs} ms deadline`,
            );
          }
          throw e;
        }
        const est = await untilAborted(model.get(), signal);
        const release = await limiter.acquire(signal);
        const work = est.estimate(req.image, {
          boxes: req.boxes,
          flipTest: req.flipTest,
          signal,
        }).finally(release);
        working = work;
        const result: EstimateResult = await untilAborted(work, signal);
        // In-thread inference can hold the event loop past the timer: late is late.
        if (performance.now() - t0 > timeoutMs) {
          throw new SRPoseError(
            'TIMEOUT',
            `the request finished after its ${timeoutMs} ms deadline`,
          );
        }
        const t = result.timings;
        c.header(
          'Server-Timing',
          Object.entries(t).map(([k, v]) => `${k};dur=${v.toFixed(1)}`).join(', '),
        );
        return c.json(req.format === 'coco' ? toCocoResults(result, req.imageId) : result);
      } catch (e) {
        // A body cut off by its client fails to read with the runtime's own error.
        if (client?.aborted) throw abortReason(client);
        throw e;
      } finally {
        deadline.clear();
        // The request stays counted while its work runs on, answered or not.
        if (working) working.then(leave, leave);
        else leave();
      }
    },
  );

  if (warmup) {
    model.get()
      // Every worker once (an idle one takes each call).
      .then((est) =>
        Promise.all(Array.from({ length: Math.max(1, workers) }, () => est.estimate(WARMUP_IMAGE)))
      )
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
