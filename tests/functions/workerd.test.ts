// The Cloudflare Workers bundle (dist/cloudflare, built here) in Cloudflare's own runtime:
// `workerd serve` with the generated workerd.capnp, its model loaded by Hub id from the local
// Hub-compatible server, its Cache API stored in a temporary directory. The keypoints equal the
// library's in-process ones, nothing compiles WASM from bytes, a second request and a restarted
// workerd (a new isolate) download nothing, PNG and WebP decode, bad input gets its error codes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { hasModel, hasShared, modelDir, requirement, skipUnless, tempDir } from '../helpers/env.ts';
import { type HubServer, startHubServer } from '../helpers/hub-server.ts';
import {
  freePort,
  type RunningServer,
  startServer,
  WORKERD,
  workerdArgs,
} from '../helpers/servers.ts';
import { tinyConfig, tinyOnnx } from '../helpers/tiny.ts';
import { API_KEY, badInputCases, caseRequest, LIMITS, PHOTO, PHOTO_BOX } from '../server/cases.ts';
import {
  buildCloudflare,
  CLOUDFLARE_BINDINGS,
  CLOUDFLARE_DIR,
} from '../../scripts/build-cloudflare.ts';
import { createEstimator } from '../../src/estimator/estimator.ts';
import { decodeJpegRgba, encodePng, encodeWebp } from '../../src/image/codecs.ts';
import type { EstimateResult } from '../../src/types.ts';
import {
  DEFAULT_EDGE_DETECTOR,
  DEFAULT_EDGE_MODEL,
  DEFAULT_EDGE_WEIGHTS,
} from '../../src/defaults.ts';
import { publishModel } from '../../src/model/publish.ts';

const REPO = 'srpose/workers-model';
/** The local Hub's write token: `srpose publish` uploads the edge model with it. */
const HUB_TOKEN = 'hf_workerd_test';
const CODEGEN_REFUSED =
  /Wasm code generation disallowed|WebAssembly\.(compile|Module)\(\) .*disallowed|CompileError/i;

const skip = requirement([hasShared, 'workerd tests need ../shared/data/coco'], [
  WORKERD !== undefined,
  'workerd tests need the workerd package (npm ci)',
]);

/**
 * The model to serve: the edge default, HRFormer-S (with its weight variants; the Worker loads
 * the recommended one), when exported; else res50; else the tiny one (needs PyTorch).
 * `onnx` is the file the Worker will download.
 */
async function modelFiles(): Promise<
  { files: Record<string, Uint8Array>; onnx: string; dir?: string }
> {
  const arch = ['hrformer_s', 'res50'].find(hasModel);
  if (arch) {
    const dir = modelDir(arch);
    const config = JSON.parse(readFileSync(join(dir, 'srpose.json'), 'utf8'));
    const variants: Record<string, { file: string }> = config.onnx.variants ?? {};
    const names = [config.onnx.file, ...Object.values(variants).map((v) => v.file)];
    const files = Object.fromEntries(
      ['srpose.json', ...names].map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))]),
    );
    const recommended = config.onnx.recommended ?? 'fp32';
    return { dir, onnx: variants[recommended]?.file ?? config.onnx.file, files };
  }
  const config = tinyConfig();
  return {
    onnx: config.onnx.file,
    files: {
      'srpose.json': new TextEncoder().encode(JSON.stringify(config)),
      [config.onnx.file]: await tinyOnnx(0),
    },
  };
}

let hub: HubServer;
let cacheDir: string;
let onnxFile: string;
let server: RunningServer | undefined;
let reference: EstimateResult;
let images: { jpeg: Uint8Array; png: Uint8Array; webp: Uint8Array };
let sizes: { path: string; bytes: number; gzip: number }[];

/**
 * Starts workerd on the built config, every binding set here (none leaks in from this
 * environment); `extra` arguments go to `workerd serve` (the inspector's address, say).
 */
async function startWorkerd(
  extra: string[] = [],
  cache = cacheDir,
  bindings: Record<string, string> = {},
): Promise<RunningServer> {
  const port = await freePort();
  const env: Record<string, string> = Object.fromEntries(CLOUDFLARE_BINDINGS.map((k) => [k, '']));
  Object.assign(env, {
    SRPOSE_MODEL: REPO,
    HF_ENDPOINT: hub.url,
    SRPOSE_API_KEY: API_KEY,
    SRPOSE_MAX_BODY_BYTES: String(LIMITS.maxBodyBytes),
    SRPOSE_TIMEOUT_MS: '120000',
    ...bindings,
  });
  return await startServer({
    cmd: WORKERD!,
    args: [...workerdArgs(join(CLOUDFLARE_DIR, 'workerd.capnp'), port, cache), ...extra],
    env,
    port,
    timeoutMs: 30_000,
    ready: (b) => b?.status === 'ok',
  });
}

/**
 * The random-weight YOLOX-nano test model scores people 0.01-0.03 on the photo, below the
 * default threshold: the memory test sets 0.02, where it finds six (the most pose runs).
 */
const DETECTOR_SCORE = 0.02;

function estimateRequest(url: string, body: Uint8Array, type: string, boxes = true): Request {
  return new Request(
    boxes
      ? `${url}/v1/estimate?boxes=${encodeURIComponent(JSON.stringify([PHOTO_BOX]))}`
      : `${url}/v1/estimate`,
    {
      method: 'POST',
      headers: { 'content-type': type, authorization: `Bearer ${API_KEY}` },
      body: body as Uint8Array<ArrayBuffer>,
    },
  );
}

async function estimateOver(
  url: string,
  body: Uint8Array,
  type: string,
  boxes = true,
): Promise<EstimateResult> {
  const res = await fetch(estimateRequest(url, body, type, boxes), {
    signal: AbortSignal.timeout(180_000),
  });
  const text = await res.text();
  assert.is(res.status, 200, `${type}: ${res.status} ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

function worstDistance(got: EstimateResult, want: EstimateResult): number {
  assert.is(got.people.length, want.people.length);
  return Math.max(
    ...got.people.flatMap((p, i) =>
      p.keypoints.map((k, j) =>
        Math.hypot(k.x - want.people[i].keypoints[j].x, k.y - want.people[i].keypoints[j].y)
      )
    ),
  );
}

function assertNoCodegenRefusal(s = server): void {
  const log = s?.output() ?? '';
  assert.not.match(log, CODEGEN_REFUSED, `workerd refused to compile WASM:\n${log.slice(-2000)}`);
}

test.before(async () => {
  if (skip()) return;
  ({ files: sizes } = await buildCloudflare());
  const model = await modelFiles();
  onnxFile = model.onnx;
  hub = await startHubServer({ token: HUB_TOKEN });
  hub.addRepo(REPO);
  hub.commit(REPO, model.files);
  cacheDir = await tempDir('srpose-workerd-cache-');

  const jpeg = new Uint8Array(readFileSync(PHOTO));
  const pixels = await decodeJpegRgba(jpeg);
  // Lossless: the same pixels as the JPEG decodes to, so the same keypoints.
  images = { jpeg, png: await encodePng(pixels), webp: await encodeWebp(pixels) };
  // In-process on WASM, the weights the Worker will choose (srpose.json's recommendation).
  const est = await createEstimator({
    model: model.dir ??
      {
        onnx: model.files[model.onnx],
        config: JSON.parse(new TextDecoder().decode(model.files['srpose.json'])),
      },
    backend: 'wasm',
  });
  reference = await est.estimate(jpeg, { boxes: [PHOTO_BOX as [number, number, number, number]] });
  await est.dispose();
});

test.after(async () => {
  await server?.stop();
  await hub?.stop();
  if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
});

test(
  'the bundle: worker.mjs, its .wasm modules, ' +
    "wrangler.toml and workerd.capnp; within the paid plan's 10 MB gzip",
  () => {
    if (skip()) return;
    const names = sizes.map((f) => f.path.split('/').pop());
    for (
      const f of [
        'worker.mjs',
        'ort-wasm-simd-threaded.wasm',
        'mozjpeg_dec.wasm',
        'squoosh_png_bg.wasm',
        'webp_dec.wasm',
        'wrangler.toml',
        'workerd.capnp',
      ]
    ) {
      assert.ok(names.includes(f), `dist/cloudflare/${f} missing: ${names}`);
    }
    const deployed = sizes.filter((f) => /\.(mjs|wasm)$/.test(f.path));
    const gzip = deployed.reduce((n, f) => n + f.gzip, 0);
    assert.ok(gzip < 10 * 2 ** 20, `${gzip} bytes gzip`);
    const bundle = readFileSync(join(CLOUDFLARE_DIR, 'worker.mjs'), 'utf8');
    assert.match(bundle, /from\s*"\.\/ort-wasm-simd-threaded\.wasm"/);
    assert.not.match(bundle, /from\s*"node:/, 'no static node: imports');
    console.log(
      `    dist/cloudflare: ${
        deployed.map((f) =>
          `${f.path.split('/').pop()} ${(f.bytes / 1e6).toFixed(2)} MB (${
            (f.gzip / 1e6).toFixed(2)
          } gz)`
        ).join(', ')
      }; ${(gzip / 1e6).toFixed(2)} MB gzip in all`,
    );
  },
);

test(
  'workerd: the keypoints of the library in-process (1e-3 px), from precompiled WASM only',
  async () => {
    if (skip()) return;
    server = await startWorkerd();
    const got = await estimateOver(server.url, images.jpeg, 'image/jpeg');
    const worst = worstDistance(got, reference);
    assert.ok(worst <= 1e-3, `keypoints differ from in-process by ${worst} px`);
    assert.is(got.backend, 'wasm');
    assert.is(got.threads, 1);
    assertNoCodegenRefusal();
    assert.is(hub.downloads(REPO, onnxFile), 1);
    console.log(
      `    workerd: first request (Hub download + session + run) ok, RSS ${
        (server.rss() / 2 ** 20).toFixed(0)
      } MiB`,
    );
  },
);

test('workerd: a second request is served by the loaded model, with no Hub traffic', async () => {
  if (skip()) return;
  const before = hub.requests.length;
  const got = await estimateOver(server!.url, images.jpeg, 'image/jpeg');
  assert.ok(worstDistance(got, reference) <= 1e-3);
  assert.is(
    hub.requests.length,
    before,
    `new Hub requests: ${hub.requests.slice(before).map((r) => `${r.method} ${r.path}`)}`,
  );
});

test("workerd: PNG and WebP (lossless, the same pixels) give the JPEG's keypoints", async () => {
  if (skip()) return;
  for (const [body, type] of [[images.png, 'image/png'], [images.webp, 'image/webp']] as const) {
    const worst = worstDistance(await estimateOver(server!.url, body, type), reference);
    assert.ok(worst <= 1e-3, `${type}: keypoints differ by ${worst} px`);
  }
  assertNoCodegenRefusal();
});

test('workerd: the bad-input suite gets its statuses and error codes', async () => {
  if (skip()) return;
  const wrong: string[] = [];
  for (const c of badInputCases()) {
    const r = await fetch(caseRequest(c, server!.url), { signal: AbortSignal.timeout(30_000) });
    const body = await r.json().catch(() => null);
    if (r.status !== c.status || body?.error?.code !== c.code) {
      wrong.push(`${c.name}: ${r.status} ${JSON.stringify(body)?.slice(0, 200)}`);
    }
  }
  assert.equal(wrong, []);
  assert.is(
    (await fetch(estimateRequest(server!.url, images.jpeg, 'image/jpeg'))).status,
    200,
    'still serving',
  );
});

test(
  'workerd restarted (a new isolate): the model comes from the Cache API, not the Hub',
  async () => {
    if (skip()) return;
    await server!.stop();
    assert.ok(readdirSync(cacheDir).length >= 2, 'Cache API entries on disk');
    const downloads = hub.downloads(REPO, onnxFile);
    const configDownloads = hub.downloads(REPO, 'srpose.json');
    server = await startWorkerd();
    const got = await estimateOver(server.url, images.jpeg, 'image/jpeg');
    assert.ok(worstDistance(got, reference) <= 1e-3);
    assert.is(hub.downloads(REPO, onnxFile), downloads, 'the ONNX was downloaded again');
    assert.is(
      hub.downloads(REPO, 'srpose.json'),
      configDownloads,
      'srpose.json was downloaded again',
    );
    assertNoCodegenRefusal();
    console.log(
      `    workerd restarted: model from the Cache API, RSS ${
        (server.rss() / 2 ** 20).toFixed(0)
      } MiB`,
    );
  },
);

/** A Chrome DevTools Protocol session on one of workerd's isolates (`--inspector-addr`). */
async function inspect(
  port: number,
  worker: string,
): Promise<{ call(method: string): Promise<any>; close(): void }> {
  const list =
    await (await fetch(`http://127.0.0.1:${port}/json/list`, { signal: AbortSignal.timeout(5000) }))
      .json();
  const target = list.find((t: any) => t.id === worker);
  assert.ok(target, `no inspector target ${worker}: ${JSON.stringify(list.map((t: any) => t.id))}`);
  // Deno has a WebSocket; Node 20 has none without a flag, so the `ws` package stands in.
  const WS = (globalThis as any).WebSocket ?? (await import('ws')).WebSocket;
  const ws = new WS(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error(`cannot connect to ${target.webSocketDebuggerUrl}`));
  });
  let id = 0;
  const pending = new Map<number, (m: any) => void>();
  ws.onmessage = (e: { data: unknown }) => {
    const m = JSON.parse(String(e.data));
    pending.get(m.id)?.(m);
    pending.delete(m.id);
  };
  return {
    call: (method) =>
      new Promise((resolve, reject) => {
        const i = ++id;
        const timer = setTimeout(
          () => (pending.delete(i), reject(new Error(`${method}: no answer in 60 s`))),
          60_000,
        );
        pending.set(
          i,
          (
            m,
          ) => (clearTimeout(timer),
            m.error ? reject(new Error(`${method}: ${m.error.message}`)) : resolve(m.result)),
        );
        ws.send(JSON.stringify({ id: i, method }));
      }),
    close: () => ws.close(),
  };
}

const MB = 1e6;
// Cloudflare: "Each isolate can consume up to 128 MB of memory, including the JavaScript heap
// and WebAssembly allocations" (developers.cloudflare.com/workers/platform/limits/#memory).
const ISOLATE_LIMIT = 128 * MB;

test(
  'workerd: the edge defaults (HRFormer-S int8, its prepared graph, YOLOX-nano) fit the 128 MB ' +
    'isolate (JS heap from the inspector + WASM memory) cold, warm and with six people detected',
  async () => {
    if (skip()) return;
    if (
      skipUnless(
        hasModel('hrformer_s') && hasModel('yolox_nano'),
        'isolate memory: the hrformer_s and yolox_nano test models are not exported ' +
          '(npm run models); measured only for the edge defaults',
      )
    ) return;
    // Published as the docs say (`srpose publish`: srpose.json and every file it names, the
    // weight variants and prepared graphs included), then served by Hub id.
    for (
      const [dir, repo] of [['hrformer_s', DEFAULT_EDGE_MODEL], [
        'yolox_nano',
        DEFAULT_EDGE_DETECTOR,
      ]]
    ) {
      await publishModel(modelDir(dir), {
        repo,
        hubUrl: hub.url,
        accessToken: HUB_TOKEN,
        create: true,
      });
    }
    const edgeConfig = JSON.parse(
      readFileSync(join(modelDir('hrformer_s'), 'srpose.json'), 'utf8'),
    );
    // the graph prepared for WASM, not the exported one, is what an isolate downloads
    const edgeFile: string = edgeConfig.onnx.prepared.files[DEFAULT_EDGE_WEIGHTS].file;
    const exportedFile: string = edgeConfig.onnx.variants[DEFAULT_EDGE_WEIGHTS].file;
    const inProcess = await createEstimator({
      model: modelDir('hrformer_s'),
      backend: 'wasm',
      weights: DEFAULT_EDGE_WEIGHTS,
      detector: { model: modelDir('yolox_nano'), scoreThreshold: DETECTOR_SCORE },
    });
    assert.is(inProcess.info.graph, 'prepared');
    const boxedReference = await inProcess.estimate(images.jpeg, {
      boxes: [PHOTO_BOX as [number, number, number, number]],
    });
    const detectedReference = await inProcess.estimate(images.jpeg);
    await inProcess.dispose();
    assert.is(detectedReference.people.length, 6, 'six people at this threshold');
    await server?.stop();
    server = undefined;
    const inspectorPort = await freePort();
    const cold = await tempDir('srpose-workerd-cold-');
    // No SRPOSE_MODEL: the Worker's own defaults. SRPOSE_DETECTOR names the default detector
    // only to lower its threshold for the random weights (the pairing itself is edgeDefaults',
    // tests/server/app).
    const wd = await startWorkerd(['--inspector-addr', `127.0.0.1:${inspectorPort}`], cold, {
      SRPOSE_MODEL: '',
      SRPOSE_DETECTOR: DEFAULT_EDGE_DETECTOR,
      SRPOSE_DETECTOR_SCORE: String(DETECTOR_SCORE),
    });
    const cdp = await inspect(inspectorPort, 'srpose');
    try {
      const peak = { used: 0, total: 0, backing: 0 };
      const sample = async () => {
        // answered between the isolate's tasks: WASM inference runs on the isolate's one thread
        const h = await cdp.call('Runtime.getHeapUsage');
        peak.used = Math.max(peak.used, h.usedSize);
        peak.total = Math.max(peak.total, h.totalSize);
        peak.backing = Math.max(peak.backing, h.backingStorageSize ?? 0);
      };
      const measured = async (what: string, boxes: boolean, want: EstimateResult) => {
        let done = false;
        const request = estimateOver(wd.url, images.jpeg, 'image/jpeg', boxes).finally(
          () => (done = true),
        );
        let samples = 0;
        while (!done) {
          await sample();
          samples++;
          await new Promise((r) => setTimeout(r, 20));
        }
        const got = await request;
        await sample();
        const health = await (await fetch(`${wd.url}/healthz`)).json();
        assert.equal(got.people.map((p) => p.box), want.people.map((p) => p.box), what);
        assert.ok(worstDistance(got, want) <= 1e-3, `${what}: keypoints differ from in-process`);
        assert.is(got.weights, DEFAULT_EDGE_WEIGHTS);
        assert.is(got.graph, 'prepared');
        assert.is(got.timings.detect === undefined, boxes, `${what}: detector run`);
        assert.ok(
          Number.isFinite(health.wasmMemoryBytes) && health.wasmMemoryBytes > 0,
          `${what}: /healthz reports no wasmMemoryBytes`,
        );
        return { what, samples, wasm: health.wasmMemoryBytes as number };
      };
      const runs = [
        await measured('cold (Hub downloads, sessions, first run)', true, boxedReference),
        await measured('warm', true, boxedReference),
      ];
      // Six people detected twice over: memory that waited for the GC would pile up.
      for (const i of [1, 2]) {
        runs.push(await measured(`six people detected (${i})`, false, detectedReference));
      }
      assert.is(hub.downloads(DEFAULT_EDGE_MODEL, edgeFile), 1, `${edgeFile} from the Hub`);
      assert.is(hub.downloads(DEFAULT_EDGE_MODEL, exportedFile), 0, `${exportedFile} unused`);
      const wasm = Math.max(...runs.map((r) => r.wasm));
      // JS heap as V8 has committed it (>= used), plus ArrayBuffer backing stores outside the
      // heap (the downloaded model bytes, images, heatmaps), plus the WASM linear memory.
      const total = peak.total + peak.backing + wasm;
      console.log(
        `    isolate memory (${DEFAULT_EDGE_MODEL} ${DEFAULT_EDGE_WEIGHTS} prepared + ` +
          `${DEFAULT_EDGE_DETECTOR}): JS heap used ${(peak.used / MB).toFixed(1)} MB / ` +
          `committed ${(peak.total / MB).toFixed(1)} MB, ArrayBuffer backing stores ${
            (peak.backing / MB).toFixed(1)
          } MB, WASM memory ${(wasm / MB).toFixed(1)} MB: ${(total / MB).toFixed(1)} MB of 128 (${
            runs.map((r) => `${r.samples} samples ${r.what}`).join(', ')
          }); workerd process RSS ${(wd.rss() / MB).toFixed(0)} MB`,
      );
      assert.ok(total < ISOLATE_LIMIT, `isolate memory ${(total / MB).toFixed(1)} MB over 128 MB`);
      assertNoCodegenRefusal(wd);
    } finally {
      try {
        cdp.close();
      } finally {
        await wd.stop();
      }
      rmSync(cold, { recursive: true, force: true });
    }
  },
);

test.run();
