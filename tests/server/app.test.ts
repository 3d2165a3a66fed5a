// The Hono app in-process (app.request): the bad-input suite, auth, limits, queue, deadline,
// CORS, model failures, and that nothing secret reaches a response or the log.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasShared, requirement, suiteSkipped, tempDir } from '../helpers/env.ts';
import { tinyConfig, tinyOnnx } from '../helpers/tiny.ts';
import { createApp, type SRPoseApp } from '../../src/server/mod.ts';
import { createEstimator } from '../../src/estimator/estimator.ts';
import {
  API_KEY,
  badInputCases,
  caseRequest,
  goodRequest,
  LIMITS,
  PHOTO,
  PHOTO_BOX,
} from './cases.ts';
import type { AppOptions } from '../../src/server/settings.ts';
import { encodePng } from '../../src/image/codecs.ts';
import { tinyDetectorDir, tinyDetExpected } from '../helpers/tiny-detector.ts';
import { demoFromEnv } from '../../functions/demo-files.ts';

const BASE = 'http://srpose.test';
const logs: string[] = [];
const apps: SRPoseApp[] = [];

async function tinyModel() {
  return { onnx: await tinyOnnx(0), config: tinyConfig() };
}

async function app(over: Partial<AppOptions> = {}): Promise<SRPoseApp> {
  const a = createApp({
    model: await tinyModel(),
    backend: 'wasm',
    apiKey: API_KEY,
    ...LIMITS,
    log: (e) => logs.push(JSON.stringify(e)),
    // Deno: inference in process (see tests/suites.ts, estimator/pool); Node: the default pool.
    ...('Deno' in globalThis ? { workers: 0 } : {}),
    ...over,
  });
  apps.push(a);
  return a;
}

test.after(async () => {
  for (const a of apps) await a.dispose();
});

if (!suiteSkipped(requirement([hasShared, 'server app tests need ../shared/data/coco']))) {
  test('a good request answers the estimate, equal to the library in-process', async () => {
    const a = await app();
    const res = await a.fetch(goodRequest(BASE));
    assert.is(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    assert.match(res.headers.get('server-timing') ?? '', /inference;dur=/);
    const body = await res.json();
    const est = await createEstimator({ model: await tinyModel(), backend: 'wasm' });
    const ref = await est.estimate(new Uint8Array(readFileSync(PHOTO)), {
      boxes: [PHOTO_BOX as [number, number, number, number]],
    });
    await est.dispose();
    assert.is(body.people.length, 1);
    assert.equal(body.people[0].keypoints, ref.people[0].keypoints);
    assert.equal(body.image, ref.image);
  });

  test(
    `the bad-input suite (${badInputCases().length} cases): ` +
      `status and code each, then a good request still works`,
    async () => {
      const a = await app();
      const cases = badInputCases();
      assert.ok(cases.length >= 30);
      const wrong: string[] = [];
      for (const c of cases) {
        const res = await a.fetch(caseRequest(c, BASE));
        const body = await res.json().catch(() => null);
        if (
          res.status !== c.status || body?.error?.code !== c.code ||
          typeof body?.error?.message !== 'string'
        ) {
          wrong.push(`${c.name}: ${res.status} ${JSON.stringify(body)}`);
        }
        if (res.headers.get('x-error-code') !== c.code) {
          wrong.push(`${c.name}: X-Error-Code ${res.headers.get('x-error-code')}`);
        }
      }
      assert.equal(wrong, []);
      assert.is((await a.fetch(goodRequest(BASE))).status, 200);
      assert.is(logs.some((l) => l.includes('"stack"') || l.includes('    at ')), false);
    },
  );

  test('multipart/form-data with image, boxes, flip and format=coco', async () => {
    const a = await app();
    const f = new FormData();
    f.append('image', new Blob([readFileSync(PHOTO)], { type: 'image/jpeg' }), 'p.jpg');
    f.append('boxes', JSON.stringify([PHOTO_BOX, [10, 10, 100, 200, 0.5]]));
    f.append('flip', 'false');
    f.append('format', 'coco');
    f.append('image_id', '785');
    const res = await a.fetch(
      new Request(`${BASE}/v1/estimate`, {
        method: 'POST',
        body: f,
        headers: { authorization: `Bearer ${API_KEY}` },
      }),
    );
    assert.is(res.status, 200);
    const results = await res.json();
    assert.is(results.length, 2);
    assert.is(results[0].image_id, 785);
    assert.is(results[0].category_id, 1);
    assert.is(results[0].keypoints.length, 51);
    assert.equal(results[1].bbox, [10, 10, 100, 200]);
  });

  test(
    'queue full: 503 BUSY with Retry-After; ' +
      'past the deadline: 504 TIMEOUT; the app keeps answering',
    async () => {
      const a = await app({ concurrency: 1, maxQueue: 1, flipTest: true });
      await a.ready();
      const answers = await Promise.all(
        Array.from({ length: 6 }, () => a.fetch(goodRequest(BASE))),
      );
      const statuses = answers.map((r) => r.status).sort();
      assert.ok(statuses.filter((s) => s === 200).length >= 2, String(statuses));
      const busy = answers.filter((r) => r.status === 503);
      assert.ok(busy.length >= 1, String(statuses));
      assert.is(busy[0].headers.get('retry-after'), '1');
      assert.is((await busy[0].json()).error.code, 'BUSY');

      const slow = await app({ timeoutMs: 1 });
      await slow.ready();
      const late = await slow.fetch(goodRequest(BASE));
      assert.is(late.status, 504);
      assert.is((await late.json()).error.code, 'TIMEOUT');
      const health = await (await slow.fetch(new Request(`${BASE}/healthz`))).json();
      assert.is(health.status, 'ok');
    },
  );

  test('CORS: preflight and exposed headers only when configured', async () => {
    const open = await app({ cors: ['https://app.example'] });
    const pre = await open.fetch(
      new Request(`${BASE}/v1/estimate`, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://app.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type',
        },
      }),
    );
    assert.ok(pre.status === 204 || pre.status === 200, String(pre.status));
    assert.is(pre.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.match(pre.headers.get('access-control-allow-headers') ?? '', /authorization/i);
    const closed = await app();
    const res = await closed.fetch(
      new Request(`${BASE}/healthz`, { headers: { origin: 'https://app.example' } }),
    );
    assert.is(res.headers.get('access-control-allow-origin'), null);
  });
}

test('healthz, openapi.json and models; the model loads once and lazily', async () => {
  const a = await app();
  const h0 = await (await a.fetch(new Request(`${BASE}/healthz`))).json();
  assert.is(h0.model, 'idle');
  const doc = await (await a.fetch(new Request(`${BASE}/openapi.json`))).json();
  assert.is(doc.openapi, '3.1.0');
  assert.ok(doc.paths['/v1/estimate'].post.responses['413']);
  const [m1, m2] = await Promise.all(
    [1, 2].map(() =>
      a.fetch(new Request(`${BASE}/v1/models`, { headers: { authorization: `Bearer ${API_KEY}` } }))
    ),
  );
  const info = (await m1.json()).models[0];
  assert.is(info.model, 'tiny');
  assert.is(info.backend, 'wasm');
  assert.equal(info.keypoints.length, 17);
  assert.is(m2.status, 200);
  assert.is((await (await a.fetch(new Request(`${BASE}/healthz`))).json()).model, 'ready');
});

test(
  'openapi.json describes what the server parses and answers: ' +
    'every parameter, each enumerated value, every result field',
  async () => {
    const a = await app();
    const doc = await (await a.fetch(new Request(`${BASE}/openapi.json`))).json();
    const post = doc.paths['/v1/estimate'].post;
    const query = post.parameters.map((p: any) => p.name);
    assert.equal(query, ['boxes', 'flip', 'format', 'image_id']);
    assert.equal(Object.keys(post.requestBody.content['multipart/form-data'].schema.properties), [
      'image',
      ...query,
    ]);
    const png = await encodePng({
      data: new Uint8Array(64 * 48 * 3).map((_, i) => (i * 13) & 255),
      width: 64,
      height: 48,
    });
    const auth = { authorization: `Bearer ${API_KEY}`, 'content-type': 'image/png' };
    const ask = (q: string) =>
      a.fetch(
        new Request(`${BASE}/v1/estimate?${q}`, {
          method: 'POST',
          body: png as BodyInit,
          headers: auth,
        }),
      );
    // every enumerated value of a parameter is accepted, one outside the list is refused
    for (const p of post.parameters.filter((p: any) => p.schema.enum)) {
      for (const v of p.schema.enum) {
        assert.is((await ask(`${p.name}=${v}`)).status, 200, `${p.name}=${v}`);
      }
      assert.is((await ask(`${p.name}=not-a-value`)).status, 400, `${p.name}=not-a-value`);
    }
    const result = await (await ask('boxes=[[2,2,40,30]]')).json();
    const schema = doc.components.schemas.EstimateResult.properties;
    for (const [k, v] of Object.entries(result)) {
      assert.ok(schema[k], `result field ${k} is not in the document`);
      if (schema[k].enum) {
        assert.ok(schema[k].enum.includes(v), `${k}: ${v} is not in ${schema[k].enum}`);
      }
    }
    assert.ok(
      schema.decode.enum.includes('associative-embedding'),
      'bottom-up models answer decode associative-embedding',
    );
    assert.equal(schema.weights.enum, ['fp32', 'fp16', 'int8']);
  },
);

test(
  'a model that cannot load: 503 with its code, ' +
    'retried on the next request; no token in answers or logs',
  async () => {
    const secret = 'hf_SECRET_token_never_shown';
    const seen: string[] = [];
    const a = createApp({
      model: 'srpose/unreachable',
      hubUrl: 'http://127.0.0.1:9',
      accessToken: secret,
      cacheDir: '/nonexistent-srpose-cache',
      backend: 'wasm',
      log: (e) => seen.push(JSON.stringify(e)),
    });
    apps.push(a);
    const r1 = await a.fetch(new Request(`${BASE}/v1/models`));
    assert.is(r1.status, 503);
    const b1 = await r1.text();
    assert.match(b1, /MODEL_/);
    assert.ok(r1.headers.get('retry-after'));
    const h = await (await a.fetch(new Request(`${BASE}/healthz`))).json();
    assert.is(h.model, 'failed');
    const r2 = await a.fetch(new Request(`${BASE}/v1/models`));
    assert.is(r2.status, 503); // tried again, not a cached failure
    const all = b1 + (await r2.text()) + JSON.stringify(h) + seen.join('\n');
    assert.is(all.includes(secret), false);
    assert.ok(seen.some((l) => l.includes('"level":"error"')));

    const none = createApp({ log: false });
    const r3 = await none.fetch(new Request(`${BASE}/v1/models`));
    assert.is(r3.status, 503);
    assert.match((await r3.json()).error.message, /SRPOSE_MODEL/);
  },
);

test('demo files have an etag: asked with it, 304, nothing read; written again, 200', async () => {
  const root = await tempDir('srpose-demo-files-');
  const stat = join(root, 'static');
  const models = join(root, 'models');
  mkdirSync(stat);
  mkdirSync(join(models, 'tiny'), { recursive: true });
  writeFileSync(join(stat, 'demo.mjs'), 'export {};');
  writeFileSync(join(models, 'tiny', 'srpose.json'), JSON.stringify(tinyConfig()));
  writeFileSync(join(models, 'tiny', 'model.onnx'), new Uint8Array(1000).fill(7));
  const demo = demoFromEnv(
    { SRPOSE_DEMO: '1', SRPOSE_DEMO_STATIC: stat, SRPOSE_DEMO_MODELS: models },
    import.meta.url,
  )!;
  let reads = 0;
  const app = createApp({
    log: false,
    demo: {
      ...demo,
      assets: async (path) => {
        const a = await demo.assets(path);
        return a && { ...a, read: () => (reads++, a.read()) };
      },
    },
  });
  const url = `${BASE}/models/tiny/model.onnx`;
  const first = await app.fetch(new Request(url));
  assert.is(first.status, 200);
  assert.is((await first.arrayBuffer()).byteLength, 1000);
  assert.is(first.headers.get('cache-control'), 'no-cache');
  const tag = first.headers.get('etag')!;
  assert.match(tag, /^W\/"/);
  const again = await app.fetch(new Request(url, { headers: { 'If-None-Match': tag } }));
  assert.is(again.status, 304);
  assert.is(again.headers.get('etag'), tag);
  assert.is((await again.arrayBuffer()).byteLength, 0);
  assert.is(reads, 1, 'a 304 reads no file');
  // exported again under the same name: a new tag, the new bytes
  writeFileSync(join(models, 'tiny', 'model.onnx'), new Uint8Array(999).fill(8));
  const changed = await app.fetch(new Request(url, { headers: { 'If-None-Match': tag } }));
  assert.is(changed.status, 200);
  assert.is.not(changed.headers.get('etag'), tag);
  assert.is((await changed.arrayBuffer()).byteLength, 999);
  const js = await app.fetch(new Request(`${BASE}/static/demo.mjs`));
  assert.is(js.headers.get('cache-control'), 'public, max-age=3600');
  assert.ok(js.headers.get('etag'));
  assert.is((await app.fetch(new Request(`${BASE}/models/tiny/missing.onnx`))).status, 404);
});

/** A body that sends `first` bytes and then nothing more, until cancelled. */
function stalledBody(first = 1000): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      c.enqueue(new Uint8Array(first));
    },
  });
}

const stalled = (signal?: AbortSignal) =>
  new Request(`${BASE}/v1/estimate`, {
    method: 'POST',
    headers: { 'content-type': 'image/jpeg', authorization: `Bearer ${API_KEY}` },
    body: stalledBody(),
    signal,
    duplex: 'half',
  } as RequestInit);

test(
  'a body still arriving at the deadline: 408 BODY_TIMEOUT with Connection: close, in time',
  async () => {
    const a = await app({ timeoutMs: 300 });
    await a.ready();
    const t = performance.now();
    const res = await a.fetch(stalled());
    const ms = performance.now() - t;
    assert.is(res.status, 408);
    assert.is((await res.json()).error.code, 'BODY_TIMEOUT');
    assert.is(res.headers.get('connection'), 'close');
    assert.ok(ms < 300 + 1000, `answered after ${ms} ms`);
  },
);

test('bodies being uploaded count toward the limits; a client leaving is a 499 info', async () => {
  logs.length = 0;
  const a = await app({ concurrency: 1, maxQueue: 0 });
  await a.ready();
  const leaving = new AbortController();
  const first = a.fetch(stalled(leaving.signal));
  await new Promise((r) => setTimeout(r, 50));
  const health = await (await a.fetch(new Request(`${BASE}/healthz`))).json();
  assert.equal([health.running, health.queued, health.receiving], [0, 0, 1]);
  const second = await a.fetch(stalled());
  assert.is(second.status, 503, 'admission is full while the first body arrives');
  assert.is((await second.json()).error.code, 'BUSY');
  leaving.abort();
  const gone = await first;
  assert.is(gone.status, 499);
  const line = logs.map((l) => JSON.parse(l)).find((e) => e.status === 499);
  assert.ok(line, logs.join('\n'));
  assert.is(line.level, 'info');
  assert.is(line.code, 'ABORTED');
  assert.not.ok(logs.some((l) => l.includes('"level":"error"')), logs.join('\n'));
  const after = await (await a.fetch(new Request(`${BASE}/healthz`))).json();
  assert.equal([after.running, after.queued, after.receiving], [0, 0, 0]);
});

test('/v1/models never shows where the model lies', async () => {
  const dir = await tempDir('srpose-models-');
  writeFileSync(join(dir, 'model.onnx'), await tinyOnnx(0));
  writeFileSync(join(dir, 'srpose.json'), JSON.stringify(tinyConfig()));
  const a = await app({ model: dir, apiKey: undefined });
  const text = await (await a.fetch(new Request(`${BASE}/v1/models`))).text();
  assert.match(text, /"keypoints"/);
  assert.not.match(text, /location/);
  assert.is(text.includes(dir), false);
});

/** `POST /v1/estimate` of a 128x96 grey PNG, no boxes. */
async function greyPngWithoutBoxes(): Promise<Request> {
  const rgba = new Uint8ClampedArray(128 * 96 * 4).map((_, i) => (i % 4 === 3 ? 255 : 200));
  return new Request(`${BASE}/v1/estimate`, {
    method: 'POST',
    body: await encodePng({ data: rgba, width: 128, height: 96 }) as Uint8Array<ArrayBuffer>,
    headers: { 'content-type': 'image/png', authorization: `Bearer ${API_KEY}` },
  });
}

test('with a detector (SRPOSE_DETECTOR), a photo without boxes answers everyone', async () => {
  const { appOptionsFromEnv } = await import('../../src/server/settings.ts');
  const det = await tinyDetectorDir();
  const env = appOptionsFromEnv({ SRPOSE_DETECTOR: det, SRPOSE_DETECTOR_SCORE: '0.35' });
  assert.equal(env.detector, { model: det, scoreThreshold: 0.35 });
  const a = await app({ detector: env.detector });
  const res = await a.fetch(await greyPngWithoutBoxes());
  assert.is(res.status, 200);
  const body = await res.json();
  assert.equal(body.people.map((p: any) => p.box), tinyDetExpected(128, 96).map((p) => p.box));
  assert.ok(body.timings.detect > 0);
});

test('edge defaults: the model and its detector; SRPOSE_DETECTOR=none turns it off', async () => {
  const { appOptionsFromEnv, edgeDefaults } = await import('../../src/server/settings.ts');
  const { DEFAULT_EDGE_DETECTOR, DEFAULT_EDGE_MODEL } = await import('../../src/defaults.ts');
  // as the edge functions merge them: the defaults, then what the environment says
  const edge = (env: Record<string, string>) => {
    const settings = appOptionsFromEnv(env);
    return { ...edgeDefaults(settings), ...settings };
  };
  const byDefault = edge({});
  assert.is(byDefault.model, DEFAULT_EDGE_MODEL);
  assert.is(byDefault.detector, DEFAULT_EDGE_DETECTOR);
  assert.is(byDefault.workers, 0);
  assert.is(byDefault.maxBatch, 2);
  assert.is(edge({ SRPOSE_DETECTOR: 'none' }).detector, false);
  assert.equal(edge({ SRPOSE_DETECTOR: 'a/det', SRPOSE_DETECTOR_SCORE: '0.5' }).detector, {
    model: 'a/det',
    scoreThreshold: 0.5,
  });
  // one's own model: no detector unless asked for
  assert.is(edge({ SRPOSE_MODEL: 'a/pose' }).detector, undefined);
  for (
    const env of [{ SRPOSE_DETECTOR_SCORE: '0.5' }, {
      SRPOSE_DETECTOR: 'none',
      SRPOSE_DETECTOR_SCORE: '0.5',
    }]
  ) {
    assert.throws(() => appOptionsFromEnv(env), (e: any) => e.code === 'INVALID_OPTION');
  }
  // `false` reaches no estimator: a photo without boxes is one person, as with no detector
  const a = await app({ detector: false });
  const res = await a.fetch(await greyPngWithoutBoxes());
  assert.is(res.status, 200);
  const body = await res.json();
  assert.equal(body.people.map((p: any) => p.box), [[0, 0, 128, 96]]);
  assert.is(body.timings.detect, undefined);
});

test('settings from an environment: typed errors for bad values', async () => {
  const { appOptionsFromEnv } = await import('../../src/server/settings.ts');
  const o = appOptionsFromEnv({
    SRPOSE_MODEL: 'a/b@v1',
    SRPOSE_MAX_BOXES: '8',
    SRPOSE_CORS_ORIGINS: 'https://a, https://b',
    SRPOSE_WARMUP: 'false',
    SRPOSE_PREPARED: '0',
    HF_TOKEN: 't',
  });
  assert.equal(o, {
    model: 'a/b@v1',
    maxBoxes: 8,
    cors: ['https://a', 'https://b'],
    warmup: false,
    prepared: false,
    accessToken: 't',
  });
  for (
    const [k, v] of [
      ['SRPOSE_MAX_BOXES', '0'],
      ['SRPOSE_TIMEOUT_MS', 'soon'],
      [
        'SRPOSE_WARMUP',
        'perhaps',
      ],
      ['SRPOSE_BACKEND', 'cuda'],
      ['SRPOSE_PREPARED', 'maybe'],
    ]
  ) {
    try {
      appOptionsFromEnv({ [k]: v });
      assert.unreachable(`${k}=${v} accepted`);
    } catch (e) {
      assert.is((e as { code?: string }).code, 'INVALID_OPTION', `${k}=${v}`);
    }
  }
});

test.run();
