// The AWS Lambda bundle (dist/lambda, hono/aws-lambda) invoked in-process with API Gateway v2
// (HTTP API / function URL) events, as Lambda's runtime would: same keypoints as the library,
// typed errors, binary bodies base64-encoded.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';
import { hasModel, hasShared, modelDir, ROOT, skipUnless, tempDir } from '../helpers/env.ts';
import { createEstimator } from '../../src/estimator/estimator.ts';
import { API_KEY, PHOTO, PHOTO_BOX } from './cases.ts';

const BUNDLE = join(ROOT, 'dist', 'lambda', 'index.mjs');

/** An API Gateway HTTP API (payload 2.0) event, as Lambda delivers it. */
function event(method: string, path: string, opts: { query?: string; headers?: Record<string, string>; body?: Uint8Array } = {}) {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: opts.query ?? '',
    headers: { host: 'abc123.lambda-url.eu-west-1.on.aws', 'x-forwarded-proto': 'https', ...opts.headers },
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
    body: opts.body ? btoa(Array.from(opts.body, (b) => String.fromCharCode(b)).join('')) : undefined,
    isBase64Encoded: opts.body !== undefined,
  };
}

const lambdaContext = { functionName: 'srpose', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 30_000 };

const skip = skipUnless(hasShared && hasModel('res50'), 'Lambda tests need ../shared/data/coco and the res50 test model') ||
  skipUnless(existsSync(BUNDLE), 'Lambda tests need the bundle: npm run build');

if (!skip) {
  test('API Gateway v2 events: estimate equals the library, errors typed, health answers', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { SRPOSE_MODEL: modelDir('res50'), SRPOSE_API_KEY: API_KEY, HF_HUB_CACHE: await tempDir('srpose-lambda-') });
    let handler: (e: unknown, c: unknown) => Promise<{ statusCode: number; headers: Record<string, string>; body: string; isBase64Encoded: boolean }>;
    try {
      ({ handler } = await import(pathToFileURL(BUNDLE).href));
    } finally {
      for (const k of ['SRPOSE_MODEL', 'SRPOSE_API_KEY', 'HF_HUB_CACHE']) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
    const jpeg = new Uint8Array(readFileSync(PHOTO));
    const auth = { authorization: `Bearer ${API_KEY}` };
    const res = await handler(event('POST', '/v1/estimate', { query: `boxes=${encodeURIComponent(JSON.stringify([PHOTO_BOX]))}`, headers: { 'content-type': 'image/jpeg', ...auth }, body: jpeg }), lambdaContext);
    assert.is(res.statusCode, 200, res.body);
    const got = JSON.parse(res.isBase64Encoded ? atob(res.body) : res.body);
    const est = await createEstimator({ model: modelDir('res50'), backend: 'wasm' });
    const ref = await est.estimate(jpeg, { boxes: [PHOTO_BOX as [number, number, number, number]] });
    await est.dispose();
    const worst = Math.max(...got.people[0].keypoints.map((k: { x: number; y: number }, i: number) => Math.hypot(k.x - ref.people[0].keypoints[i].x, k.y - ref.people[0].keypoints[i].y)));
    assert.ok(worst <= 1e-3, `Lambda keypoints differ by ${worst} px`);

    const bad = await handler(event('POST', '/v1/estimate', { headers: { 'content-type': 'text/plain', ...auth }, body: new TextEncoder().encode('hi') }), lambdaContext);
    assert.is(bad.statusCode, 415);
    assert.is(JSON.parse(bad.body).error.code, 'UNSUPPORTED_MEDIA_TYPE');
    const noKey = await handler(event('POST', '/v1/estimate', { headers: { 'content-type': 'image/jpeg' }, body: jpeg }), lambdaContext);
    assert.is(noKey.statusCode, 401);
    const health = await handler(event('GET', '/healthz'), lambdaContext);
    assert.is(health.statusCode, 200);
    assert.is(JSON.parse(health.body).model, 'ready');
  });
}

test.run();
