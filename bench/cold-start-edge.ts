/**
 * cold-start, edge targets (see bench/cold-start.ts for the common part):
 * - workerd: the built Cloudflare Worker (`dist/cloudflare`, `npm run build`) in a fresh
 *   workerd process per start, the model by Hub id (`SRPOSE_MODEL`, `HF_ENDPOINT`), the Cache API
 *   in a fresh or the same disk directory (cold / warm). Stages: `runtimeStart` (spawn until
 *   `/healthz` answers: workerd start + compiling the WASM, which Cloudflare does at upload),
 *   then the first `POST /v1/estimate` split by the model's own `info.load` (`fetch`, `hash`,
 *   `session`) and the rest (`firstRun`: decode + first inference + HTTP); then the steady
 *   request.
 * - browser: headless Chromium loads the demo page the Node bundle serves (dist/browser, WASM
 *   in the page's web worker, its default; cross-origin isolated), the model from that server
 *   (`--from-hub`: by Hub id from the local Hub server): page load to first result, then the
 *   steady request; each start a fresh browser on a new profile (a first
 *   visit), then again on the same profile (a returning visitor: the browser's HTTP cache and
 *   its cache of compiled WASM code). Compare with node --backend=wasm.
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { median } from './stats.ts';
import { type ColdStartOptions, PHOTO, serveModel } from './cold-start-model.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BOX = [280.79, 44.73, 218.7, 346.68];
const round = (x: number) => Math.round(x * 10) / 10;

/** One request; its wall time and the estimator's own stage timings (`timings`). */
async function post(
  url: string,
  image: Uint8Array,
): Promise<{ ms: number; timings: Record<string, number> }> {
  const t = performance.now();
  const q = new URLSearchParams({ boxes: JSON.stringify([BOX]), flip: 'false' });
  const res = await fetch(`${url}/v1/estimate?${q}`, {
    method: 'POST',
    headers: { 'content-type': 'image/jpeg' },
    body: image as Uint8Array<ArrayBuffer>,
  });
  if (!res.ok) throw new Error(`estimate: ${res.status} ${await res.text()}`);
  const body = await res.json();
  return { ms: performance.now() - t, timings: body.timings };
}

async function workerdStart(
  repo: string,
  detector: string | undefined,
  hubUrl: string,
  cache: string,
  o: ColdStartOptions,
): Promise<Record<string, number>> {
  const { CLOUDFLARE_BINDINGS, CLOUDFLARE_DIR } = await import('../scripts/build-cloudflare.ts');
  const { freePort, startServer, WORKERD, workerdArgs } = await import(
    '../tests/helpers/servers.ts'
  );
  if (!WORKERD) throw new Error('workerd is not installed (npm ci)');
  const port = await freePort();
  const env: Record<string, string> = Object.fromEntries(CLOUDFLARE_BINDINGS.map((k) => [k, '']));
  Object.assign(env, {
    SRPOSE_MODEL: repo,
    HF_ENDPOINT: hubUrl,
    SRPOSE_TIMEOUT_MS: '120000',
    ...(o.weights ? { SRPOSE_WEIGHTS: o.weights } : {}),
    // the edge default loads the prepared graph; SRPOSE_PREPARED=0 measures the exported one
    ...(process.env.SRPOSE_PREPARED ? { SRPOSE_PREPARED: process.env.SRPOSE_PREPARED } : {}),
    ...(detector ? { SRPOSE_DETECTOR: detector } : {}),
  });
  const image = new Uint8Array(readFileSync(PHOTO));
  const t0 = performance.now();
  const wd = await startServer({
    cmd: WORKERD,
    args: workerdArgs(join(CLOUDFLARE_DIR, 'workerd.capnp'), port, cache),
    env,
    port,
    timeoutMs: 30_000,
    ready: (b) => b?.status === 'ok',
  });
  try {
    const runtimeStart = performance.now() - t0;
    const { ms: first, timings } = await post(wd.url, image);
    const startToFirstResult = performance.now() - t0;
    const info = (await (await fetch(`${wd.url}/v1/models`)).json()).models[0];
    const steady: number[] = [];
    for (let i = 0; i < o.steady; i++) steady.push((await post(wd.url, image)).ms);
    const { fetch: f, hash, session } = info.load;
    const d = info.detector?.load;
    const detectorLoad = d ? d.fetch + d.hash + d.session : 0;
    return {
      startToFirstResult,
      runtimeStart,
      fetch: f,
      hash,
      session,
      ...(d ? { detectorLoad } : {}),
      firstRun: first - f - hash - session - detectorLoad,
      // the first request's own stages: the image decode and the first inference
      firstDecode: timings.decode,
      firstInference: timings.inference,
      steady: median(steady),
      rssMiB: wd.rss() / 2 ** 20,
      weights: info.weights,
    };
  } finally {
    await wd.stop();
  }
}

/**
 * One visit to the demo page (served by `server`) in a fresh Chromium on the profile folder
 * `profile`: a new folder is a first visit, the same again a returning visitor's (HTTP cache and
 * V8's compiled-code cache kept).
 */
async function browserStart(
  o: ColdStartOptions,
  server: { url: string },
  profile: string,
  hub?: { url: string; repo: string },
): Promise<Record<string, number | string>> {
  const page = await import('../tests/browser/demo-page.ts');
  const context = await page.launchChromiumProfile(profile);
  try {
    const photo = await page.readPhoto();
    const query = new URLSearchParams({
      ...(o.threads ? { threads: String(o.threads) } : {}),
      ...(hub ? { hub: hub.url } : {}),
    });
    const demo = await page.openDemo(context, `${server.url}/?${query}`);
    // from the navigation, as a user's browser loads the page (not Playwright's new tab)
    const t0 = demo.navigationStart;
    const pageLoad = performance.now() - t0;
    const run = {
      model: hub ? hub.repo : `models/${o.arch}/`,
      backend: 'wasm' as const,
      flipTest: false,
      weights: o.weights,
    };
    const first = await demo.run(photo, run, 300_000);
    if (!first.ok) throw new Error(`browser: ${first.error.message}`);
    const startToFirstResult = performance.now() - t0;
    const firstEstimate = first.result.timings.total;
    // the same estimator's own account of its load (fetch, hash, session), from the page
    const info = await demo.page.evaluate(
      (r) => (globalThis as any).srposeDemo.info(r),
      run,
    );
    const { fetch: modelFetch, hash, session } = info.load;
    const steady: number[] = [];
    for (let i = 0; i < o.steady; i++) {
      const t = performance.now();
      await demo.run(photo, run, 300_000);
      steady.push(performance.now() - t);
    }
    await demo.close();
    return {
      graph: info.graph,
      weights: first.result.weights,
      threads: first.result.threads,
      startToFirstResult,
      pageLoad,
      modelFetch,
      hash,
      session,
      firstEstimate,
      steady: median(steady),
    };
  } finally {
    await context.close();
  }
}

/** `--target=workerd` or `browser`: medians over `o.starts` fresh starts, cold and warm. */
export async function edgeTarget(target: 'workerd' | 'browser', o: ColdStartOptions) {
  const med = (rs: Record<string, number | string>[]) =>
    Object.fromEntries(
      Object.keys(rs[0]).map((k) => [
        k,
        typeof rs[0][k] === 'number' ? round(median(rs.map((r) => r[k] as number))) : rs[0][k],
      ]),
    );
  if (target === 'browser') {
    const page = await import('../tests/browser/demo-page.ts');
    const models = await page.servedModels({ [o.arch]: join(ROOT, '.cache', 'models', o.arch) });
    const server = await page.startDemoServer(models, `models/${o.arch}/`);
    const served = o.fromHub ? await serveModel(o.arch) : undefined;
    const hub = served && { url: served.hub.url, repo: served.repo };
    const runs: Record<'cold' | 'warm', Record<string, number | string>[]> = {
      cold: [],
      warm: [],
    };
    try {
      for (let i = 0; i < o.starts; i++) {
        const profile = await mkdtemp(join(tmpdir(), 'srpose-coldstart-chromium-'));
        try {
          runs.cold.push(await browserStart(o, server, profile, hub));
          runs.warm.push(await browserStart(o, server, profile, hub));
        } finally {
          await rm(profile, { recursive: true, force: true });
        }
      }
    } finally {
      await server.stop();
      await served?.hub.stop();
    }
    return {
      note: 'demo page, every start a fresh browser: a first visit (new profile), then a ' +
        `returning one (the same profile); the model ${
          hub ? 'by Hub id from the local Hub server' : 'by URL from the demo server'
        }`,
      firstVisit: med(runs.cold),
      returningVisit: med(runs.warm),
    };
  }
  const { hub, repo } = await serveModel(o.arch);
  const detector = o.detector ? (await serveModel(o.detector, hub)).repo : undefined;
  const cache = await mkdtemp(join(tmpdir(), 'srpose-coldstart-workerd-'));
  const runs: Record<'cold' | 'warm', Record<string, number>[]> = { cold: [], warm: [] };
  try {
    for (let i = 0; i < o.starts; i++) {
      await rm(cache, { recursive: true, force: true });
      await mkdir(cache, { recursive: true }); // workerd wants the directory to exist
      runs.cold.push(await workerdStart(repo, detector, hub.url, cache, o));
      runs.warm.push(await workerdStart(repo, detector, hub.url, cache, o));
    }
  } finally {
    await hub.stop();
    await rm(cache, { recursive: true, force: true });
  }
  return { coldCache: med(runs.cold), warmCache: med(runs.warm) };
}
