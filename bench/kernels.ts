// Kernels benchmark (`npm run bench -- kernels`): the WebAssembly SIMD kernels against the JS
// loops they replace, in Node and in Deno, interleaved in one process each:
// - the top-down crop (warp + normalise, 256x192, plain and with its mirror; crop-wasm.ts vs
//   cropToTensorJs) of the photo 000000000785.jpg's person box and of the whole photo;
// - the flip test's merge of one box's 17 heatmaps of 256x192 (flip-wasm.ts vs mergeFlippedJs),
//   copies in and out of the kernel's memory included.
// ms per call (median of 9 rounds of 100, the flip merge of 9 rounds of 20) and JS / WASM ratios.
// The outputs are compared first: a kernel that is fast but wrong fails here.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { median } from './stats.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PHOTO = join(ROOT, '..', 'shared', 'data', 'coco', '000000000785.jpg');

const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

/** ms per call of `a` and `b`, in alternating rounds of `calls` after 3 warm-up rounds. */
function interleaved(a: () => void, b: () => void, calls: number): [number, number] {
  const t: [number[], number[]] = [[], []];
  for (let r = 0; r < 12; r++) {
    for (const i of r % 2 ? [0, 1] : [1, 0]) {
      const fn = i ? b : a;
      const s = performance.now();
      for (let c = 0; c < calls; c++) fn();
      if (r >= 3) t[i].push((performance.now() - s) / calls);
    }
  }
  return [median(t[0]), median(t[1])];
}
const row = ([js, wasm]: [number, number]) => ({
  jsMs: round(js),
  wasmMs: round(wasm),
  jsOverWasm: round(js / wasm, 2),
});

/** In this runtime: per-call ms of both paths of each kernel, interleaved. */
async function measure(): Promise<Record<string, unknown>> {
  const { cropToTensorJs } = await import('../src/core/crop.ts');
  const { wasmCropper } = await import('../src/core/crop-wasm.ts');
  const { getAffineTransform } = await import('../src/core/affine.ts');
  const { boxToCenterScale } = await import('../src/core/boxes.ts');
  const { normalizeTable } = await import('../src/core/normalize.ts');
  const { decodeImage } = await import('../src/image/decode.ts');
  const img = await decodeImage(new Uint8Array(await readFile(PHOTO)));
  const k = wasmCropper();
  if (!k) throw new Error('the WebAssembly crop kernel does not compile here');
  const lut = normalizeTable([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
  const per = 3 * 256 * 192;
  const out: Record<string, unknown> = {};
  for (
    const [name, box] of [['person box', [280.79, 44.73, 218.7, 346.68]], ['whole photo', [
      0,
      0,
      img.width,
      img.height,
    ]]] as const
  ) {
    const f = boxToCenterScale(
      box as unknown as [number, number, number, number],
      192,
      256,
      1.25,
      200,
    );
    const m = getAffineTransform(f.center, f.scale, 0, 192, 256, false);
    for (const mirror of [false, true]) {
      const a = new Float32Array(2 * per), b = new Float32Array(2 * per);
      const js = () =>
        cropToTensorJs(img.data, img.width, img.height, m, 192, 256, lut, a, 0, mirror ? per : -1);
      const wasm = () =>
        k.crop(img.data, img.width, img.height, m, 192, 256, lut, b, 0, mirror ? per : -1);
      js();
      wasm();
      if (!a.every((v, i) => v === b[i])) {
        throw new Error(`${name}: the kernel's crop differs from the JS loop's`);
      }
      out[`crop, ${name}${mirror ? ' + mirror' : ''}`] = row(interleaved(js, wasm, 100));
    }
  }
  // the flip merge: one box, COCO's 17 joints and pairs, shift on (the official setting)
  const { flipIndexFromPairs, mergeFlippedJs } = await import('../src/core/flip.ts');
  const { wasmFlipMerger } = await import('../src/core/flip-wasm.ts');
  const f = wasmFlipMerger();
  if (!f) throw new Error('the WebAssembly flip kernel does not compile here');
  const len = 17 * 256 * 192;
  const index = flipIndexFromPairs(17, [
    [1, 2],
    [3, 4],
    [5, 6],
    [7, 8],
    [9, 10],
    [11, 12],
    [13, 14],
    [15, 16],
  ]);
  const maps = new Float32Array(2 * len).map((_, i) => Math.sin(i * 0.37) * 0.5 + 0.2);
  const a = maps.slice(), b = maps.slice();
  mergeFlippedJs(a.subarray(0, len), a.subarray(len), 1, 17, 256, 192, index, true);
  f.merge(b.subarray(0, len), b.subarray(len), 1, 17, 256, 192, index, true);
  if (!a.every((v, i) => Object.is(v, b[i]))) {
    throw new Error("the flip kernel's merge differs from the JS loop's");
  }
  // merging again and again drifts the values toward the flipped ones: the work stays the same
  out['flip merge, 17 x 256 x 192'] = row(interleaved(
    () => mergeFlippedJs(a.subarray(0, len), a.subarray(len), 1, 17, 256, 192, index, true),
    () => f.merge(b.subarray(0, len), b.subarray(len), 1, 17, 256, 192, index, true),
    20,
  ));
  return out;
}

/** Node in this process, Deno as a child running this file. */
export async function kernelsBench(): Promise<unknown> {
  if (!existsSync(PHOTO)) throw new Error(`${PHOTO} missing: the benchmark needs ../shared/data`);
  const node = await measure();
  const deno = await new Promise<unknown>((resolve, reject) => {
    const p = spawn(join(ROOT, 'node_modules', '.bin', 'deno'), [
      'run',
      '-A',
      fileURLToPath(import.meta.url),
      '--child',
    ], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let s = '';
    p.stdout!.on('data', (d) => (s += d));
    p.on('error', reject);
    p.on(
      'close',
      (
        code,
      ) => (code === 0
        ? resolve(JSON.parse(s.trim().split('\n').pop()!))
        : reject(new Error(`deno child exited ${code}`))),
    );
  });
  return {
    suite: 'kernels',
    image: '000000000785.jpg (640x425)',
    crop: '256x192, normalised planar',
    node,
    deno,
  };
}

if (process.argv.includes('--child')) console.log(JSON.stringify(await measure()));
