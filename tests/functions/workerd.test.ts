// The Cloudflare Workers bundle (dist/cloudflare, built here) in Cloudflare's own runtime:
// `workerd serve` with the generated workerd.capnp, its model loaded by Hub id from the local
// Hub-compatible server, its Cache API stored in a temporary directory. The keypoints equal the
// library's in-process ones, nothing compiles WASM from bytes, a second request and a restarted
// workerd (a new isolate) download nothing, PNG and WebP decode, bad input gets its error codes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { hasModel, hasShared, modelDir, ROOT, skipUnless, tempDir } from '../helpers/env.ts';
import { type HubServer, startHubServer } from '../helpers/hub-server.ts';
import { freePort, type RunningServer, startServer } from '../helpers/servers.ts';
import { tinyConfig, tinyOnnx } from '../helpers/tiny.ts';
import { API_KEY, badInputCases, caseRequest, LIMITS, PHOTO, PHOTO_BOX } from '../server/cases.ts';
import { buildCloudflare, CLOUDFLARE_BINDINGS, CLOUDFLARE_DIR } from '../../scripts/build-cloudflare.ts';
import { createEstimator } from '../../src/estimator/estimator.ts';
import { decodeJpegRgba, encodePng, encodeWebp } from '../../src/image/codecs.ts';
import type { EstimateResult } from '../../src/types.ts';

const WORKERD = [
  join(ROOT, 'node_modules', '@cloudflare', 'workerd-linux-64', 'bin', 'workerd'),
  join(ROOT, 'node_modules', '.bin', 'workerd'),
].find((p) => existsSync(p));
const REPO = 'srpose/workers-model';
const CODEGEN_REFUSED = /Wasm code generation disallowed|WebAssembly\.(compile|Module)\(\) .*disallowed|CompileError/i;

const skip = skipUnless(hasShared, 'workerd tests need ../shared/data/coco') ||
  skipUnless(WORKERD !== undefined, 'workerd tests need the workerd package (npm ci)');

/** The model to serve: the res50 test model when exported, else the tiny one (needs PyTorch). */
async function modelFiles(): Promise<{ files: Record<string, Uint8Array>; onnx: string; dir?: string }> {
  if (hasModel('res50')) {
    const dir = modelDir('res50');
    const config = JSON.parse(readFileSync(join(dir, 'srpose.json'), 'utf8'));
    return { dir, onnx: config.onnx.file, files: { 'srpose.json': readFileSync(join(dir, 'srpose.json')), [config.onnx.file]: readFileSync(join(dir, config.onnx.file)) } };
  }
  const config = tinyConfig();
  return { onnx: config.onnx.file, files: { 'srpose.json': new TextEncoder().encode(JSON.stringify(config)), [config.onnx.file]: await tinyOnnx(0) } };
}

let hub: HubServer;
let cacheDir: string;
let onnxFile: string;
let server: RunningServer | undefined;
let reference: EstimateResult;
let images: { jpeg: Uint8Array; png: Uint8Array; webp: Uint8Array };
let sizes: { path: string; bytes: number; gzip: number }[];

/** Starts workerd on the built config, every binding set here (none leaks in from this environment). */
async function startWorkerd(): Promise<RunningServer> {
  const port = await freePort();
  const env: Record<string, string> = Object.fromEntries(CLOUDFLARE_BINDINGS.map((k) => [k, '']));
  Object.assign(env, {
    SRPOSE_MODEL: REPO,
    HF_ENDPOINT: hub.url,
    SRPOSE_API_KEY: API_KEY,
    SRPOSE_MAX_BODY_BYTES: String(LIMITS.maxBodyBytes),
    SRPOSE_TIMEOUT_MS: '120000',
  });
  return await startServer({
    cmd: WORKERD!,
    args: ['serve', join(CLOUDFLARE_DIR, 'workerd.capnp'), '--socket-addr', `http=127.0.0.1:${port}`, '--directory-path', `srpose-cache=${cacheDir}`],
    env,
    port,
    timeoutMs: 30_000,
    ready: (b) => b?.status === 'ok',
  });
}

function estimateRequest(url: string, body: Uint8Array, type: string): Request {
  return new Request(`${url}/v1/estimate?boxes=${encodeURIComponent(JSON.stringify([PHOTO_BOX]))}`, {
    method: 'POST',
    headers: { 'content-type': type, authorization: `Bearer ${API_KEY}` },
    body: body as Uint8Array<ArrayBuffer>,
  });
}

async function estimateOver(url: string, body: Uint8Array, type: string): Promise<EstimateResult> {
  const res = await fetch(estimateRequest(url, body, type), { signal: AbortSignal.timeout(180_000) });
  const text = await res.text();
  assert.is(res.status, 200, `${type}: ${res.status} ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

function worstDistance(got: EstimateResult, want: EstimateResult): number {
  assert.is(got.people.length, want.people.length);
  return Math.max(...got.people.flatMap((p, i) => p.keypoints.map((k, j) => Math.hypot(k.x - want.people[i].keypoints[j].x, k.y - want.people[i].keypoints[j].y))));
}

function assertNoCodegenRefusal(): void {
  const log = server?.output() ?? '';
  assert.not.match(log, CODEGEN_REFUSED, `workerd refused to compile WASM:\n${log.slice(-2000)}`);
}

test.before(async () => {
  if (skip) return;
  ({ files: sizes } = await buildCloudflare());
  const model = await modelFiles();
  onnxFile = model.onnx;
  hub = await startHubServer();
  hub.addRepo(REPO);
  hub.commit(REPO, model.files);
  cacheDir = await tempDir('srpose-workerd-cache-');

  const jpeg = new Uint8Array(readFileSync(PHOTO));
  const pixels = await decodeJpegRgba(jpeg);
  // Lossless: the same pixels as the JPEG decodes to, so the same keypoints.
  images = { jpeg, png: await encodePng(pixels), webp: await encodeWebp(pixels) };
  const est = await createEstimator({ model: { onnx: model.files[model.onnx], config: JSON.parse(new TextDecoder().decode(model.files['srpose.json'])) }, backend: 'wasm' });
  reference = await est.estimate(jpeg, { boxes: [PHOTO_BOX as [number, number, number, number]] });
  await est.dispose();
});

test.after(async () => {
  await server?.stop();
  await hub?.stop();
  if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
});

test('the bundle: worker.mjs, its .wasm modules, wrangler.toml and workerd.capnp; within the paid plan\'s 10 MB gzip', () => {
  if (skip) return;
  const names = sizes.map((f) => f.path.split('/').pop());
  for (const f of ['worker.mjs', 'ort-wasm-simd-threaded.wasm', 'mozjpeg_dec.wasm', 'squoosh_png_bg.wasm', 'webp_dec.wasm', 'wrangler.toml', 'workerd.capnp']) {
    assert.ok(names.includes(f), `dist/cloudflare/${f} missing: ${names}`);
  }
  const deployed = sizes.filter((f) => /\.(mjs|wasm)$/.test(f.path));
  const gzip = deployed.reduce((n, f) => n + f.gzip, 0);
  assert.ok(gzip < 10 * 2 ** 20, `${gzip} bytes gzip`);
  const bundle = readFileSync(join(CLOUDFLARE_DIR, 'worker.mjs'), 'utf8');
  assert.match(bundle, /from\s*"\.\/ort-wasm-simd-threaded\.wasm"/);
  assert.not.match(bundle, /from\s*"node:/, 'no static node: imports');
  console.log(`    dist/cloudflare: ${deployed.map((f) => `${f.path.split('/').pop()} ${(f.bytes / 1e6).toFixed(2)} MB (${(f.gzip / 1e6).toFixed(2)} gz)`).join(', ')}; ${(gzip / 1e6).toFixed(2)} MB gzip in all`);
});

test('workerd: the keypoints of the library in-process (1e-3 px), from precompiled WASM only', async () => {
  if (skip) return;
  server = await startWorkerd();
  const got = await estimateOver(server.url, images.jpeg, 'image/jpeg');
  const worst = worstDistance(got, reference);
  assert.ok(worst <= 1e-3, `keypoints differ from in-process by ${worst} px`);
  assert.is(got.backend, 'wasm');
  assert.is(got.threads, 1);
  assertNoCodegenRefusal();
  assert.is(hub.downloads(REPO, onnxFile), 1);
  console.log(`    workerd: first request (Hub download + session + run) ok, RSS ${(server.rss() / 2 ** 20).toFixed(0)} MiB`);
});

test('workerd: a second request is served by the loaded model, with no Hub traffic', async () => {
  if (skip) return;
  const before = hub.requests.length;
  const got = await estimateOver(server!.url, images.jpeg, 'image/jpeg');
  assert.ok(worstDistance(got, reference) <= 1e-3);
  assert.is(hub.requests.length, before, `new Hub requests: ${hub.requests.slice(before).map((r) => `${r.method} ${r.path}`)}`);
});

test('workerd: PNG and WebP (lossless, the same pixels) give the JPEG\'s keypoints', async () => {
  if (skip) return;
  for (const [body, type] of [[images.png, 'image/png'], [images.webp, 'image/webp']] as const) {
    const worst = worstDistance(await estimateOver(server!.url, body, type), reference);
    assert.ok(worst <= 1e-3, `${type}: keypoints differ by ${worst} px`);
  }
  assertNoCodegenRefusal();
});

test('workerd: the bad-input suite gets its statuses and error codes', async () => {
  if (skip) return;
  const wrong: string[] = [];
  for (const c of badInputCases()) {
    const r = await fetch(caseRequest(c, server!.url), { signal: AbortSignal.timeout(30_000) });
    const body = await r.json().catch(() => null);
    if (r.status !== c.status || body?.error?.code !== c.code) wrong.push(`${c.name}: ${r.status} ${JSON.stringify(body)?.slice(0, 200)}`);
  }
  assert.equal(wrong, []);
  assert.is((await fetch(estimateRequest(server!.url, images.jpeg, 'image/jpeg'))).status, 200, 'still serving');
});

test('workerd restarted (a new isolate): the model comes from the Cache API, not the Hub', async () => {
  if (skip) return;
  await server!.stop();
  assert.ok(readdirSync(cacheDir).length >= 2, 'Cache API entries on disk');
  const downloads = hub.downloads(REPO, onnxFile);
  const configDownloads = hub.downloads(REPO, 'srpose.json');
  server = await startWorkerd();
  const got = await estimateOver(server.url, images.jpeg, 'image/jpeg');
  assert.ok(worstDistance(got, reference) <= 1e-3);
  assert.is(hub.downloads(REPO, onnxFile), downloads, 'the ONNX was downloaded again');
  assert.is(hub.downloads(REPO, 'srpose.json'), configDownloads, 'srpose.json was downloaded again');
  assertNoCodegenRefusal();
  console.log(`    workerd restarted: model from the Cache API, RSS ${(server.rss() / 2 ** 20).toFixed(0)} MiB`);
});

test.run();
