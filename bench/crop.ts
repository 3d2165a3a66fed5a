// Crop benchmark (`npm run bench -- crop`): the top-down crop (warp + normalise, 256x192, plain
// and with its mirror) on the WebAssembly SIMD kernel (src/core/crop-wasm.ts) against the JS loop
// (cropToTensorJs), in Node and in Deno, interleaved in one process each; boxes of the photo
// 000000000785.jpg's person, and the whole photo. ms per crop (median of 9 rounds of 100) and
// JS / WASM ratios. The outputs are compared too: a kernel that is fast but wrong fails here.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PHOTO = join(ROOT, '..', 'shared', 'data', 'coco', '000000000785.jpg');

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

/** In this runtime: per-crop ms of both paths, interleaved. */
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
  for (const [name, box] of [['person box', [280.79, 44.73, 218.7, 346.68]], ['whole photo', [0, 0, img.width, img.height]]] as const) {
    const f = boxToCenterScale(box as unknown as [number, number, number, number], 192, 256, 1.25, 200);
    const m = getAffineTransform(f.center, f.scale, 0, 192, 256, false);
    for (const mirror of [false, true]) {
      const a = new Float32Array(2 * per), b = new Float32Array(2 * per);
      const js = () => cropToTensorJs(img.data, img.width, img.height, m, 192, 256, lut, a, 0, mirror ? per : -1);
      const wasm = () => k.crop(img.data, img.width, img.height, m, 192, 256, lut, b, 0, mirror ? per : -1);
      js();
      wasm();
      if (!a.every((v, i) => v === b[i])) throw new Error(`${name}: the kernel's crop differs from the JS loop's`);
      const t: Record<'js' | 'wasm', number[]> = { js: [], wasm: [] };
      for (let r = 0; r < 12; r++) {
        for (const [key, fn] of (r % 2 ? [['js', js], ['wasm', wasm]] : [['wasm', wasm], ['js', js]]) as ['js' | 'wasm', () => void][]) {
          const s = performance.now();
          for (let i = 0; i < 100; i++) fn();
          if (r >= 3) t[key].push((performance.now() - s) / 100);
        }
      }
      out[`${name}${mirror ? ' + mirror' : ''}`] = { jsMs: round(median(t.js)), wasmMs: round(median(t.wasm)), jsOverWasm: round(median(t.js) / median(t.wasm), 2) };
    }
  }
  return out;
}

/** Node in this process, Deno as a child running this file. */
export async function cropBench(): Promise<unknown> {
  if (!existsSync(PHOTO)) throw new Error(`${PHOTO} missing: the benchmark needs ../shared/data`);
  const node = await measure();
  const deno = await new Promise<unknown>((resolve, reject) => {
    const p = spawn(join(ROOT, 'node_modules', '.bin', 'deno'), ['run', '-A', fileURLToPath(import.meta.url), '--child'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let s = '';
    p.stdout!.on('data', (d) => (s += d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(JSON.parse(s.trim().split('\n').pop()!)) : reject(new Error(`deno child exited ${code}`))));
  });
  return { suite: 'crop', image: '000000000785.jpg (640x425)', crop: '256x192, normalised planar', node, deno };
}

if (process.argv.includes('--child')) console.log(JSON.stringify(await measure()));
