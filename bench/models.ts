// `npm run bench -- models`: every exported test model (res50, hrnet_w32, hrformer_s) in each of
// its weight files (fp32 / fp16 / int8): file size, session-create ms, inference ms of one
// 256x192 crop (WASM, 2 threads), peak resident memory of a process that loads it and runs
// the shared COCO boxes, and the keypoint displacement against fp32 on those boxes, in
// heatmap pixels (median, p95, max, share within 0.1 and 1 px). Each variant runs in a child
// process of its own, one after another, so memory and timings do not mix.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { displacementSummary, heatmapDisplacements } from '../src/core/displacement.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ARCHS = ['res50', 'hrnet_w32', 'hrformer_s'];
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

function child(dir: string, weights: string, runs: number): Promise<any> {
  return new Promise((resolve, reject) => {
    const p = spawn('node', [
      '--import',
      'tsx',
      join(ROOT, 'bench', 'models-child.ts'),
      dir,
      weights,
      String(runs),
    ], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Uint8Array) => (out += d));
    p.on(
      'close',
      (
        code: number,
      ) => (code === 0
        ? resolve(JSON.parse(out.trim().split('\n').pop()!))
        : reject(new Error(`${dir} ${weights}: child exited ${code}`))),
    );
  });
}

export async function modelsBench(runs = 5): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const arch of ARCHS) {
    const dir = join(ROOT, '.cache', 'models', arch);
    if (!existsSync(join(dir, 'srpose.json'))) {
      out[arch] = `not exported (npm run models)`;
      continue;
    }
    const config = JSON.parse(readFileSync(join(dir, 'srpose.json'), 'utf8'));
    const files: Record<string, string> = { [config.onnx.weights ?? 'fp32']: config.onnx.file };
    for (const [k, v] of Object.entries(config.onnx.variants ?? {})) {
      files[k] = (v as { file: string }).file;
    }
    const model = {
      inputWidth: config.input.width,
      inputHeight: config.input.height,
      heatmapWidth: config.heatmap.width,
      padding: config.bbox.padding,
      pixelStd: config.bbox.pixelStd,
    };
    let fp32: any;
    const rows: Record<string, unknown> = {};
    for (const weights of ['fp32', 'fp16', 'int8'].filter((w) => files[w])) {
      const r = await child(dir, weights, runs);
      if (weights === 'fp32') fp32 = r;
      const d = heatmapDisplacements(
        r.coords,
        fp32.coords,
        fp32.boxes,
        config.keypoints.length,
        model,
      );
      const s = displacementSummary(d);
      rows[weights] = {
        file: files[weights],
        fileMB: round(statSync(join(dir, files[weights])).size / 1e6),
        sessionMs: round(r.sessionMs),
        inferenceMs: round(r.inferenceMs),
        peakRssMB: r.peakRssBytes === null ? null : round(r.peakRssBytes / 1e6, 0),
        displacementVsFp32: {
          keypoints: d.length,
          median: round(s.median, 4),
          p95: round(s.p95, 4),
          max: round(s.max, 3),
          within01: round(s.within01, 4),
          within1: round(s.within1, 4),
        },
      };
    }
    out[arch] = rows;
  }
  return {
    suite: 'models',
    backend: 'wasm, 2 threads',
    inference: 'one 256x192 crop (batch 1, no flip), median of runs after a warm-up',
    displacement:
      'heatmap px vs fp32, every shared COCO box (GT + detections >= 0.3), flip test on',
    runs,
    models: out,
  };
}
