// The package as users install it: `npm pack` (prepack builds lib/), then a fresh project
// outside the repository installs the tarball from the registry like any dependency, and:
//   a. a Node ES module script estimates the shared photo: the sources' keypoints exactly;
//   b. `npx srpose --help` and `npx srpose estimate` work (built JavaScript, no tsx);
//   c. a strict TypeScript consumer (`strict`, `noUncheckedIndexedAccess`,
//      `exactOptionalPropertyTypes`, `skipLibCheck: false`) compiles with 0 errors, with and
//      without the DOM library, under nodenext and bundler resolution;
//   d. Deno imports the installed npm package and estimates;
//   e. esbuild bundles `import 'srpose'` for the browser with no flags, and the bundle estimates
//      in Chromium, on the page and in the worker estimator (`srpose/worker` bundled as an
//      entry): the pixels of the same photo, within 1e-3 px of Node (another WASM build);
//   f. `deno publish --dry-run` passes and lists only library files; a Deno script importing
//      that file set through an import map, as JSR serves it (dependencies as `npm:`), estimates,
//      on WASM and on the native backend (onnxruntime-node fetched by Deno as `npm:`);
//   g. `npx srpose prepare` (onnxruntime-node of the consumer's onnxruntime-web minor) writes the
//      prepared graphs, and `npx srpose estimate` runs on them with the exported graph's keypoints.
// Also the tarball's size and contents (issue 16: <= 1 MB, no deploy bundles, no WASM copies).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, relative } from 'node:path';
import {
  hasModel,
  hasShared,
  modelDir,
  requirement,
  ROOT,
  SHARED,
  tempDir,
} from '../helpers/env.ts';
import { DENO } from '../helpers/servers.ts';
import { browserMissing, launchChromium } from '../browser/demo-page.ts';
import { createEstimator } from '../../src/estimator/estimator.ts';
import { tinyVariantFiles } from '../helpers/tiny.ts';
import { decodeImage } from '../../src/image/decode.ts';
import type { Box, EstimateResult } from '../../src/types.ts';

const PHOTO = join(SHARED, 'coco', '000000000785.jpg');
const BOX: Box = [280.79, 44.73, 218.7, 346.68];
const MODEL = modelDir('res50');
const skip = requirement(
  [hasShared, 'package consumers need ../shared/data/coco'],
  [hasModel('res50'), 'package consumers need the res50 test model (npm run models)'],
);

interface Run {
  stdout: string;
  stderr: string;
}

/** Runs a command; rejects with its output on a non-zero exit. */
function run(cmd: string, args: string[], cwd: string, timeout = 300_000): Promise<Run> {
  return new Promise((resolve, reject) =>
    execFile(
      cmd,
      args,
      { cwd, timeout, maxBuffer: 64 << 20, env: { ...process.env, NO_COLOR: '1' } },
      (e, stdout, stderr) =>
        e
          ? reject(new Error(`${cmd} ${args.join(' ')} failed: ${e.message}\n${stdout}\n${stderr}`))
          : resolve({ stdout, stderr }),
    )
  );
}

/** The version of a dev dependency installed here: the consumer gets the very same. */
async function installed(pkg: string): Promise<string> {
  return JSON.parse(await readFile(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8'))
    .version;
}

const keypoints = (r: EstimateResult) => r.people.map((p) => p.keypoints);
const worst = (a: EstimateResult, b: EstimateResult) => {
  const ka = a.people[0]!.keypoints;
  const kb = b.people[0]!.keypoints;
  assert.is(ka.length, kb.length);
  return Math.max(...ka.map((k, i) => Math.hypot(k.x - kb[i]!.x, k.y - kb[i]!.y)));
};

let project = '';
let tarball = '';
let reference: EstimateResult; // the sources in this process, WASM
let dryRun: Promise<Run>; // deno publish --dry-run, started in before

const ESTIMATE_SCRIPT = `
import { createEstimator } from 'srpose';
import { readFile } from 'node:fs/promises';
const [model, photo, box] = process.argv.slice(2);
const est = await createEstimator({ model, backend: 'wasm' });
const r = await est.estimate(await readFile(photo), { boxes: [JSON.parse(box)] });
console.log(JSON.stringify(r));
await est.dispose();
`;

test.before(async () => {
  if (skip()) return;
  // Independent of the install: started now, awaited by test f.
  dryRun = run(DENO, ['publish', '--dry-run', '--allow-dirty'], ROOT);
  dryRun.catch(() => {}); // its failure is test f's to report
  const packs = await tempDir('srpose-pack-');
  // npm pack runs prepack (the lib/ build), as `npm publish` does
  const packed = await run('npm', ['pack', '--pack-destination', packs, '--json'], ROOT);
  const [{ filename }] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('[')));
  tarball = join(packs, filename);
  project = await tempDir('srpose-consumer-');
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  const dev = await Promise.all(
    ['typescript', '@types/node', 'esbuild'].map(async (p) => `${p}@${await installed(p)}`),
  );
  const install = run('npm', ['install', tarball, ...dev, '--no-audit', '--no-fund'], project);
  const est = await createEstimator({ model: MODEL, backend: 'wasm' });
  reference = await est.estimate(await readFile(PHOTO), { boxes: [BOX] });
  await est.dispose();
  await install;
});

test('the tarball: <= 1 MB, library files only (no bundles, WASM, tests, exporter)', async () => {
  if (skip()) return;
  const list = await run('tar', ['-tzf', tarball], ROOT);
  const files = list.stdout.trim().split('\n').map((f) => f.replace(/^package\//, ''));
  const { size } = await stat(tarball);
  assert.ok(size <= 1 << 20, `tarball ${size} bytes`);
  const outside = files.filter((f) =>
    !/^(lib\/.*\.(mjs|d\.ts)|bin\/srpose\.mjs|LICENSE|README\.md|package\.json)$/.test(f)
  );
  assert.equal(outside, [], 'files outside lib/, bin/, LICENSE, README.md');
  assert.ok(files.includes('LICENSE'));
  for (const f of ['lib/srpose.mjs', 'lib/server.mjs', 'lib/browser.mjs', 'lib/cli.mjs']) {
    assert.ok(files.includes(f), f);
  }
  const pkg = JSON.parse(await readFile(join(project, 'node_modules/srpose/package.json'), 'utf8'));
  assert.not.ok('tsx' in (pkg.dependencies ?? {}), 'tsx is not a run-time dependency');
  assert.not.ok(pkg.scripts?.prepare, 'no prepare script runs in consumers');
  for (const key of ['repository', 'homepage', 'keywords', 'license']) assert.ok(pkg[key], key);
});

test("a. a Node ES module script estimates the photo: the sources' keypoints", async () => {
  if (skip()) return;
  await writeFile(join(project, 'estimate.mjs'), ESTIMATE_SCRIPT);
  const out = await run('node', ['estimate.mjs', MODEL, PHOTO, JSON.stringify(BOX)], project);
  const got = JSON.parse(out.stdout) as EstimateResult;
  assert.is(got.backend, 'wasm');
  assert.equal(keypoints(got), keypoints(reference));
});

test('b. npx srpose --help and npx srpose estimate (built JavaScript)', async () => {
  if (skip()) return;
  const help = await run('npx', ['--no-install', 'srpose', '--help'], project);
  assert.match(help.stdout, /estimate/);
  assert.match(help.stdout, /publish/);
  const out = await run('npx', [
    '--no-install',
    'srpose',
    'estimate',
    PHOTO,
    '--model',
    MODEL,
    '--backend',
    'wasm',
    '--boxes',
    BOX.join(','),
    '--json',
  ], project);
  const people = JSON.parse(out.stdout).result.people;
  assert.equal(people.map((p: any) => p.keypoints), keypoints(reference));
});

const TS_CONSUMER = `
import { createEstimator, type EstimateResult, isSRPoseError, type Keypoint } from 'srpose';
import { createApp } from 'srpose/server';
import { createWorkerEstimator } from 'srpose/browser';

export async function main(bytes: Uint8Array): Promise<number | undefined> {
  const est = await createEstimator({ model: './model', backend: 'wasm', maxBatch: 2 });
  try {
    const r: EstimateResult = await est.estimate(bytes, { boxes: [[0, 0, 10, 10, 0.9]] });
    const nose: Keypoint | undefined = r.people[0]?.keypoints[0];
    return nose?.x;
  } catch (e) {
    if (isSRPoseError(e)) return e.code.length;
    throw e;
  } finally {
    await est.dispose();
  }
}
export const app = createApp({ model: './model' });
export const worker = typeof createWorkerEstimator;
`;

/** The consumer's tsconfig: strict everything, libraries' declarations checked too. */
const tsconfig = (module: string, lib: string[], types: string[]) =>
  JSON.stringify({
    compilerOptions: {
      target: 'es2022',
      module,
      moduleResolution: module === 'nodenext' ? 'nodenext' : 'bundler',
      strict: true,
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: true,
      skipLibCheck: false,
      noEmit: true,
      lib,
      types,
    },
    files: ['consumer.ts'],
  });

test('c. a strict TypeScript consumer compiles with 0 errors, with or without DOM', async () => {
  if (skip()) return;
  await writeFile(join(project, 'consumer.ts'), TS_CONSUMER);
  const variants: [string, string[], string[]][] = [
    ['nodenext', ['es2022'], ['node']], // a Node-only project: no DOM
    ['nodenext', ['es2022', 'dom', 'dom.iterable'], ['node']],
    ['esnext', ['es2022', 'dom'], []], // a browser project: bundler resolution, no Node types
  ];
  const tsc = join(project, 'node_modules', '.bin', 'tsc');
  await Promise.all(variants.map(async ([module, lib, types], i) => {
    await writeFile(join(project, `tsconfig.${i}.json`), tsconfig(module, lib, types));
    const out = await run(tsc, ['-p', `tsconfig.${i}.json`], project).catch((e: Error) => ({
      stdout: e.message,
      stderr: '',
    }));
    assert.is(out.stdout.trim(), '', `${module} ${lib.join(',')} types=${types}`);
  }));
});

test('d. Deno imports the installed npm package and estimates', async () => {
  if (skip()) return;
  await writeFile(join(project, 'estimate-deno.ts'), ESTIMATE_SCRIPT);
  const out = await run(DENO, [
    'run',
    '--allow-all',
    'estimate-deno.ts',
    MODEL,
    PHOTO,
    JSON.stringify(BOX),
  ], project);
  const got = JSON.parse(out.stdout) as EstimateResult;
  assert.is(got.backend, 'wasm');
  assert.ok(worst(got, reference) <= 1e-3, `${worst(got, reference)} px`);
});

const PAGE =
  `<!doctype html><meta charset="utf-8"><script type="module" src="/out/app.js"></script>`;
const APP = `
import { createEstimator } from 'srpose';
import { createWorkerEstimator } from 'srpose/browser';
window.estimate = async (box, inWorker) => {
  const raw = new Uint8Array(await (await fetch('/pixels.rgb')).arrayBuffer());
  const { width, height } = await (await fetch('/pixels.json')).json();
  const options = { model: location.origin + '/model/', wasmPaths: '/ort/' };
  const est = inWorker
    ? await createWorkerEstimator({
        ...options,
        workerUrl: new URL('/out/worker.js', location.href),
      })
    : await createEstimator(options);
  const r = await est.estimate({ data: raw, width, height }, { boxes: [box] });
  await est.dispose();
  return r;
};
window.ready = true;
`;
// The worker estimator's thread, bundled as the consumer's own entry (docs/browser.md).
const WORKER = `import 'srpose/worker';\n`;

/** A static server for the page: the consumer project, the model, onnxruntime-web's files. */
async function staticServer(routes: Record<string, string>): Promise<Server> {
  const types: Record<string, string> = {
    '.html': 'text/html',
    '.js': 'text/javascript',
    '.mjs': 'text/javascript',
    '.wasm': 'application/wasm',
    '.json': 'application/json',
  };
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url!, 'http://x').pathname);
    const prefix = Object.keys(routes).sort((a, b) => b.length - a.length).find((p) =>
      path.startsWith(p)
    );
    try {
      const file = join(routes[prefix!]!, path.slice(prefix!.length) || 'index.html');
      const body = await readFile(file);
      res.writeHead(200, {
        'content-type': types[extname(file)] ?? 'application/octet-stream',
        // cross-origin isolated: WASM threads, as a production page would serve them
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
      });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

test('e. esbuild bundles "srpose" for browsers, no flags; it estimates in Chromium', async () => {
  if (skip()) return;
  const missing = browserMissing();
  assert.is(missing, undefined, `Chromium: ${missing}`);
  const web = join(project, 'web');
  await mkdir(web, { recursive: true });
  await writeFile(join(web, 'index.html'), PAGE);
  await writeFile(join(web, 'app.js'), APP);
  await writeFile(join(web, 'worker.js'), WORKER);
  await run(join(project, 'node_modules', '.bin', 'esbuild'), [
    'web/app.js',
    'web/worker.js',
    '--bundle',
    '--format=esm',
    '--outdir=web/out',
  ], project);
  const px = await decodeImage(await readFile(PHOTO));
  await writeFile(join(web, 'pixels.rgb'), px.data);
  await writeFile(join(web, 'pixels.json'), JSON.stringify({ width: px.width, height: px.height }));
  const server = await staticServer({
    '/': web,
    '/model/': MODEL,
    '/ort/': join(project, 'node_modules', 'onnxruntime-web', 'dist'),
  });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const logs: string[] = [];
    page.on('console', (m) => logs.push(m.text()));
    page.on('pageerror', (e) => logs.push(e.message));
    const { port } = server.address() as AddressInfo;
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => (window as any).ready === true, null, { timeout: 30_000 });
    for (const inWorker of [false, true]) {
      const got = await page.evaluate(
        ([box, w]) => (window as any).estimate(box, w),
        [BOX, inWorker] as const,
      ).catch((e: Error) => {
        throw new Error(`${e.message}\n${logs.join('\n')}`);
      }) as EstimateResult;
      assert.is(got.backend, 'wasm');
      assert.ok(worst(got, reference) <= 1e-3, `worker ${inWorker}: ${worst(got, reference)} px`);
    }
  } finally {
    await browser.close();
    server.close();
  }
});

test('f. deno publish --dry-run: library files only; the JSR set estimates in Deno', async () => {
  if (skip()) return;
  const dry = await dryRun;
  const text = dry.stdout + dry.stderr;
  assert.match(text, /Dry run complete/);
  const files = [...text.matchAll(/file:\/\/(\S+)/g)].map((m) => relative(ROOT, m[1]!));
  assert.ok(files.includes('src/mod.ts') && files.includes('LICENSE'), files.join(' '));
  const outside = files.filter((f) => !/^(src\/.*\.ts|LICENSE|README\.md|deno\.json)$/.test(f));
  assert.equal(outside, [], 'published files outside the library');
  assert.not.ok(
    files.some((f) => /^src\/(cli\/|eval\/|platform\/ffmpeg\.ts)/.test(f)),
    'the CLI (with srpose eval and video) is npm-only',
  );
  // The file set as JSR serves it: bare imports become npm: specifiers of package.json's ranges.
  const jsr = await tempDir('srpose-jsr-');
  for (const f of files) {
    await mkdir(dirname(join(jsr, 'pkg', f)), { recursive: true });
    await cp(join(ROOT, f), join(jsr, 'pkg', f));
  }
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
  const imports: Record<string, string> = { '@srpose/srpose': './pkg/src/mod.ts' };
  for (const [name, range] of Object.entries<string>(pkg.dependencies)) {
    imports[name] = `npm:${name}@${range}`;
    imports[`${name}/`] = `npm:/${name}@${range}/`;
  }
  await writeFile(join(jsr, 'deno.json'), JSON.stringify({ imports }));
  // On WASM, and on the optional native backend: no import map names onnxruntime-node, Deno
  // fetches it as npm:. Both at once: they wait on the registry more than on the cores.
  const script = ESTIMATE_SCRIPT.replace(`from 'srpose'`, `from '@srpose/srpose'`);
  const box = JSON.stringify(BOX);
  const [wasm, native] = await Promise.all(['wasm', 'native'].map(async (backend) => {
    const main = `main-${backend}.ts`;
    await writeFile(join(jsr, main), script.replace(`backend: 'wasm'`, `backend: '${backend}'`));
    const out = await run(DENO, ['run', '--allow-all', '--no-lock', main, MODEL, PHOTO, box], jsr);
    return JSON.parse(out.stdout) as EstimateResult;
  }));
  assert.is(wasm!.backend, 'wasm');
  assert.ok(worst(wasm!, reference) <= 1e-3, `${worst(wasm!, reference)} px`);
  assert.is(native!.backend, 'native');
  assert.ok(worst(native!, reference) <= 1e-3, `${worst(native!, reference)} px`);
});

// Last: it adds onnxruntime-node to the consumer, which the tests above run without.
test('g. npx srpose prepare (onnxruntime-node), then estimate on the prepared graph', async () => {
  if (skip()) return;
  // onnxruntime-node's own install script downloads what this machine cannot fetch, so npm drops
  // the optional dependency; its npm tarball has the CPU binaries and works without the script.
  // The version of the consumer's onnxruntime-web (a graph prepared by another minor is not used)
  const web = JSON.parse(
    await readFile(join(project, 'node_modules', 'onnxruntime-web', 'package.json'), 'utf8'),
  ).version;
  const minor = (v: string) => v.split('.').slice(0, 2).join('.');
  assert.is(
    minor(web),
    minor(await installed('onnxruntime-node')),
    "the consumer's onnxruntime-web is not of srpose's onnxruntime-node minor (package.json ~)",
  );
  const ortNode = `onnxruntime-node@${web}`;
  await run('npm', ['install', ortNode, '--ignore-scripts', '--no-audit', '--no-fund'], project);
  const tiny = await tempDir('srpose-package-prepare-');
  for (const [name, bytes] of Object.entries(await tinyVariantFiles('fp32'))) {
    await writeFile(join(tiny, name), bytes);
  }
  const prepared = await run('npx', ['--no-install', 'srpose', 'prepare', tiny], project);
  assert.match(prepared.stdout, /int8: model_int8\.prepared\.ort \(\d+ bytes\), batch 1/);
  const onTiny = await run('npx', [
    '--no-install',
    'srpose',
    'estimate',
    PHOTO,
    '--model',
    tiny,
    '--backend',
    'wasm',
    '--weights',
    'int8',
    '--boxes',
    BOX.join(','),
    '--json',
  ], project);
  const got = JSON.parse(onTiny.stdout).result;
  assert.is(got.graph, 'prepared');
  // the exported graph's keypoints, in process
  const exported = await createEstimator({
    model: tiny,
    backend: 'wasm',
    weights: 'int8',
    prepared: false,
  });
  try {
    const want = await exported.estimate(await readFile(PHOTO), { boxes: [BOX] });
    got.people[0].keypoints.forEach((k: any, j: number) => {
      const q = want.people[0].keypoints[j];
      assert.ok(Math.abs(k.x - q.x) < 1e-3 && Math.abs(k.y - q.y) < 1e-3, `keypoint ${j}`);
    });
  } finally {
    await exported.dispose();
  }
});

test.run();
