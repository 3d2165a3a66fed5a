// The serverless bundles invoked in-process the way their platforms call them: AWS Lambda
// (dist/lambda, hono/aws-lambda) with API Gateway v2 events, Vercel (dist/vercel: web-standard
// GET/POST exports) and Netlify (dist/netlify: default export (Request, context)). Each gives
// the library's keypoints and typed errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';
import {
  hasModel,
  hasShared,
  modelDir,
  requirement,
  ROOT,
  suiteSkipped,
  tempDir,
} from '../helpers/env.ts';
import { createEstimator } from '../../src/estimator/estimator.ts';
import { API_KEY, goodRequest, PHOTO, PHOTO_BOX } from './cases.ts';

const BUNDLE = join(ROOT, 'dist', 'lambda', 'index.mjs');
const bundle = (target: string) => join(ROOT, 'dist', target, 'index.mjs');

/** An API Gateway HTTP API (payload 2.0) event, as Lambda delivers it. */
function event(
  method: string,
  path: string,
  opts: { query?: string; headers?: Record<string, string>; body?: Uint8Array } = {},
) {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: opts.query ?? '',
    headers: {
      host: 'abc123.lambda-url.eu-west-1.on.aws',
      'x-forwarded-proto': 'https',
      ...opts.headers,
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.lambda-url.eu-west-1.on.aws',
      domainPrefix: 'abc123',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'srpose-test' },
      requestId: 'req-1',
      routeKey: '$default',
      stage: '$default',
      time: '25/Nov/2026:10:00:00 +0000',
      timeEpoch: 1795600000000,
    },
    body: opts.body
      ? btoa(Array.from(opts.body, (b) => String.fromCharCode(b)).join(''))
      : undefined,
    isBase64Encoded: opts.body !== undefined,
  };
}

const lambdaContext = {
  functionName: 'srpose',
  awsRequestId: 'req-1',
  getRemainingTimeInMillis: () => 30_000,
};

const skip = requirement([
  hasShared && hasModel('res50'),
  'Lambda tests need ../shared/data/coco and the res50 test model',
], [
  ['lambda', 'vercel', 'netlify'].every((t) => existsSync(bundle(t))),
  'serverless tests need the bundles: npm run build',
]);

/** Imports a bundle with the server's settings in the environment it reads at load time. */
async function importWith(file: string, vars: Record<string, string>): Promise<any> {
  const saved = { ...process.env };
  Object.assign(process.env, vars);
  try {
    return await import(pathToFileURL(file).href);
  } finally {
    for (const k of Object.keys(vars)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}

async function reference() {
  const est = await createEstimator({ model: modelDir('res50'), backend: 'wasm' });
  const ref = await est.estimate(new Uint8Array(readFileSync(PHOTO)), {
    boxes: [PHOTO_BOX as [number, number, number, number]],
  });
  await est.dispose();
  return ref;
}

function worstDiff(
  got: { people: { keypoints: { x: number; y: number }[] }[] },
  ref: Awaited<ReturnType<typeof reference>>,
): number {
  return Math.max(
    ...got.people[0].keypoints.map((k, i) =>
      Math.hypot(k.x - ref.people[0].keypoints[i].x, k.y - ref.people[0].keypoints[i].y)
    ),
  );
}

if (!suiteSkipped(skip)) {
  test(
    'API Gateway v2 events: estimate equals the library, errors typed, health answers',
    async () => {
      const { handler } = await importWith(BUNDLE, {
        SRPOSE_MODEL: modelDir('res50'),
        SRPOSE_API_KEY: API_KEY,
        HF_HUB_CACHE: await tempDir('srpose-lambda-'),
      });
      const jpeg = new Uint8Array(readFileSync(PHOTO));
      const auth = { authorization: `Bearer ${API_KEY}` };
      const res = await handler(
        event('POST', '/v1/estimate', {
          query: `boxes=${encodeURIComponent(JSON.stringify([PHOTO_BOX]))}`,
          headers: { 'content-type': 'image/jpeg', ...auth },
          body: jpeg,
        }),
        lambdaContext,
      );
      assert.is(res.statusCode, 200, res.body);
      const got = JSON.parse(res.isBase64Encoded ? atob(res.body) : res.body);
      const ref = await reference();
      const worst = worstDiff(got, ref);
      assert.ok(worst <= 1e-3, `Lambda keypoints differ by ${worst} px`);

      const bad = await handler(
        event('POST', '/v1/estimate', {
          headers: { 'content-type': 'text/plain', ...auth },
          body: new TextEncoder().encode('hi'),
        }),
        lambdaContext,
      );
      assert.is(bad.statusCode, 415);
      assert.is(JSON.parse(bad.body).error.code, 'UNSUPPORTED_MEDIA_TYPE');
      const noKey = await handler(
        event('POST', '/v1/estimate', { headers: { 'content-type': 'image/jpeg' }, body: jpeg }),
        lambdaContext,
      );
      assert.is(noKey.statusCode, 401);
      const health = await handler(event('GET', '/healthz'), lambdaContext);
      assert.is(health.statusCode, 200);
      assert.is(JSON.parse(health.body).model, 'ready');
    },
  );

  for (const target of ['vercel', 'netlify']) {
    test(
      `${target}: the bundle's handler answers web-standard Requests like the library`,
      async () => {
        const mod = await importWith(bundle(target), {
          SRPOSE_MODEL: modelDir('res50'),
          SRPOSE_API_KEY: API_KEY,
          HF_HUB_CACHE: await tempDir(`srpose-${target}-`),
        });
        const call: (r: Request) => Promise<Response> = target === 'vercel'
          ? (r) => Promise.resolve(mod[r.method](r))
          : (r) => Promise.resolve(mod.default(r, {}));
        if (target === 'netlify') assert.ok(mod.config.path.includes('/v1/*'));
        const res = await call(goodRequest('https://srpose.example'));
        assert.is(res.status, 200, await res.clone().text());
        assert.ok(worstDiff(await res.json(), await reference()) <= 1e-3);
        const bad = await call(
          new Request('https://srpose.example/v1/estimate', {
            method: 'POST',
            headers: { 'content-type': 'image/jpeg', authorization: `Bearer ${API_KEY}` },
            body: new Uint8Array([0xff, 0xd8, 0xff]),
          }),
        );
        assert.is(bad.status, 400);
        assert.is((await bad.json()).error.code, 'IMAGE_TRUNCATED');
      },
    );
  }
}

test.run();
