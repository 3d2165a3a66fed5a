/**
 * Builds every target with esbuild and prints their sizes as JSON:
 * - `lib/`: what the npm package ships (see build-lib.ts);
 * - `dist/<target>/index.mjs` for node, deno, lambda, vercel, netlify: one self-contained
 *   bundle of `functions/<target>.ts` with the WASM it loads beside it (deployments have no
 *   node_modules), and `dist/cloudflare/` (see build-cloudflare.ts).
 * The onnxruntime-web and codec WASM artefacts are first copied from node_modules into `wasm/`;
 * bundles take them from there. Usage: `tsx scripts/build.ts [target ...]` (default: all).
 */
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { copyWasm, ROOT, type Sized, sizeOf, writeMetafile } from './build-common.ts';
import { builtinModules } from 'node:module';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type { Sized };

/**
 * What the Node-like bundles load at run time: onnxruntime-web's threaded SIMD build and the image
 * decoders.
 */
export const NODE_WASM = [
  'onnxruntime-web/dist/ort-wasm-simd-threaded.wasm',
  'onnxruntime-web/dist/ort-wasm-simd-threaded.mjs',
  '@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm',
  '@jsquash/png/codec/pkg/squoosh_png_bg.wasm',
  '@jsquash/webp/codec/dec/webp_dec.wasm',
];

/** The estimator pool's thread, bundled beside each server (src/worker/pool.ts finds it). */
export const WORKER_ENTRY = { 'srpose-worker': join(ROOT, 'src/worker/worker.ts') };

const nodeBundle = (entry: string, outdir: string, extra: BuildOptions = {}): BuildOptions => ({
  entryPoints: { index: join(ROOT, entry), ...WORKER_ENTRY },
  outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
  // CommonJS dependencies call require(); give the ES module one.
  banner: {
    js: "import { createRequire as __srposeRequire } from 'node:module'; " +
      'const require = __srposeRequire(import.meta.url);',
  },
  ...extra,
});

/** Deno wants Node built-ins as `node:` specifiers; some dependencies import them bare. */
const nodePrefix: Plugin = {
  name: 'node-prefix',
  setup(b) {
    const bare = new RegExp(`^(${builtinModules.map((m) => m.replace(/[/]/g, '\\/')).join('|')})$`);
    b.onResolve({ filter: bare }, (a) => ({ path: `node:${a.path}`, external: true }));
  },
};

/** Function targets: entry, and esbuild options beyond the Node defaults. */
const FUNCTIONS: Record<string, { entry: string; options?: BuildOptions }> = {
  node: { entry: 'functions/node.ts' },
  lambda: { entry: 'functions/lambda.ts' },
  vercel: { entry: 'functions/vercel.ts' },
  netlify: { entry: 'functions/netlify.ts' },
  deno: {
    entry: 'functions/deno.ts',
    options: {
      platform: 'neutral',
      conditions: ['deno', 'node', 'import'],
      mainFields: ['module', 'main'],
      external: ['node:*'],
      target: 'es2022',
      plugins: [nodePrefix],
    },
  },
};

async function buildFunction(name: string, wasm: string[]): Promise<Sized[]> {
  const { entry, options } = FUNCTIONS[name];
  const outdir = join(ROOT, 'dist', name);
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const built = await build(
    nodeBundle(entry, outdir, name === 'deno' ? { ...options, banner: {} } : options),
  );
  writeMetafile(name, built.metafile);
  for (const w of wasm) copyFileSync(w, join(outdir, basename(w)));
  return readdirSync(outdir).map((f) => sizeOf(join(outdir, f)));
}

export async function buildAll(
  targets: string[],
): Promise<Record<string, { files: Sized[]; total: { bytes: number; gzip: number } }>> {
  const wasm = copyWasm(NODE_WASM);
  const result: Record<string, { files: Sized[]; total: { bytes: number; gzip: number } }> = {};
  const add = (name: string, files: Sized[]) => {
    result[name] = {
      files,
      total: files.reduce((t, f) => ({ bytes: t.bytes + f.bytes, gzip: t.gzip + f.gzip }), {
        bytes: 0,
        gzip: 0,
      }),
    };
  };
  for (const t of targets) {
    if (t === 'lib') {
      const { buildLib } = await import('./build-lib.ts');
      add(t, (await buildLib()).files);
    } else if (t === 'browser') {
      const { buildBrowser } = await import('./build-browser.ts');
      add(t, (await buildBrowser()).files);
    } else if (t === 'cloudflare') {
      const { buildCloudflare } = await import('./build-cloudflare.ts');
      add(t, (await buildCloudflare()).files);
    } else if (t in FUNCTIONS) add(t, await buildFunction(t, wasm));
    else {throw new Error(
        `unknown target ${t}; known: lib, browser, cloudflare, ${
          Object.keys(FUNCTIONS).join(', ')
        }`,
      );}
  }
  return result;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const all = ['lib', 'browser', ...Object.keys(FUNCTIONS), 'cloudflare'];
  const asked = process.argv.slice(2);
  const targets = asked.length ? asked : all;
  const result = await buildAll(targets);
  console.log(
    JSON.stringify(Object.fromEntries(Object.entries(result).map(([k, v]) => [k, v.total]))),
  );
}
