/**
 * Builds the browser target into `dist/browser/`, everything served from one origin:
 * - `srpose.mjs`: the library + `createWorkerEstimator` (src/browser.ts);
 * - `srpose-worker.mjs`: the worker `createWorkerEstimator` starts (src/worker/worker.ts);
 * - `demo.mjs`: the demo page's script (src/demo/main.ts); shared code in `chunk-*.mjs`;
 * - onnxruntime-web's browser builds, each kept as its own file (its WASM threads start workers
 *   from its own URL, and it finds its `.wasm` beside itself): `ort.wasm.bundle.min.mjs` +
 *   `ort-wasm-simd-threaded.wasm` (WASM SIMD threads, 14 MB), what WASM sessions load, and
 *   `ort.bundle.min.mjs` + `ort-wasm-simd-threaded.jsep.wasm` (WebGPU + WASM, 28 MB), loaded
 *   only for a WebGPU session: a page on WASM fetches and compiles half the bytes;
 * - the JPEG / PNG / WebP decoders' `.wasm`, which @jsquash fetches beside the bundle.
 * The `.wasm` files come from node_modules through `wasm/`. Run alone, `tsx
 * scripts/build-browser.ts` prints the sizes as JSON.
 */
import { build, type Plugin } from 'esbuild';
import { copyFileSync, readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { browserBuild, copyWasm, ROOT, type Sized, sizeOf, writeMetafile } from './build-common.ts';

export const BROWSER_DIR = join(ROOT, 'dist', 'browser');

/** Files copied beside the bundle, as they are. */
export const BROWSER_FILES = [
  'onnxruntime-web/dist/ort.wasm.bundle.min.mjs',
  'onnxruntime-web/dist/ort-wasm-simd-threaded.wasm',
  'onnxruntime-web/dist/ort.bundle.min.mjs',
  'onnxruntime-web/dist/ort-wasm-simd-threaded.jsep.wasm',
  '@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm',
  '@jsquash/png/codec/pkg/squoosh_png_bg.wasm',
  '@jsquash/webp/codec/dec/webp_dec.wasm',
];

const browserResolve: Plugin = {
  name: 'srpose-browser',
  setup(b) {
    // onnxruntime-web's WASM-only build for WASM sessions, its WebGPU build (imported when a
    // WebGPU session is made: src/runtime/session.ts) for WebGPU, both beside the bundle.
    b.onResolve(
      { filter: /^onnxruntime-web$/ },
      () => ({ path: './ort.wasm.bundle.min.mjs', external: true }),
    );
    b.onResolve(
      { filter: /^onnxruntime-web\/webgpu$/ },
      () => ({ path: './ort.bundle.min.mjs', external: true }),
    );
    b.onResolve(
      { filter: /^@huggingface\/hub$/ },
      () => ({ path: browserBuild('@huggingface/hub', './dist/index.mjs') }),
    );
  },
};

export async function buildBrowser(): Promise<{ files: Sized[] }> {
  rmSync(BROWSER_DIR, { recursive: true, force: true });
  const built = await build({
    entryPoints: {
      srpose: join(ROOT, 'src/browser.ts'),
      'srpose-worker': join(ROOT, 'src/worker/worker.ts'),
      demo: join(ROOT, 'src/demo/main.ts'),
    },
    outdir: BROWSER_DIR,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunk-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
    plugins: [browserResolve],
    // the static onnxruntime-web here has no WebGPU: WebGPU sessions import the WebGPU build
    define: { 'globalThis.__SRPOSE_WASM_ONLY_ORT__': 'true' },
  });
  writeMetafile('browser', built.metafile);
  for (const f of copyWasm(BROWSER_FILES)) copyFileSync(f, join(BROWSER_DIR, basename(f)));
  return { files: readdirSync(BROWSER_DIR).sort().map((f) => sizeOf(join(BROWSER_DIR, f))) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(JSON.stringify((await buildBrowser()).files));
}
