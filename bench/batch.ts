/**
 * batch: how the chunk size of inference (EstimatorOptions.maxBatch: crops per
 * `session.run`, a box under the flip test counting two) trades speed for memory, on the
 * native backend in Node. Each maxBatch runs in a fresh process (`--child`), so its memory
 * readings are its own: one 32-box request with flip (64 crops), once to warm up and then
 * timed 3 times; ms per box (median), the peak resident memory over those runs (VmHWM, reset
 * once the model is loaded) and the resident memory after them (after a full GC). Two passes,
 * the sizes up then down, so a drift of the machine does not favour one end; `cpuPerWall` (CPU
 * seconds per second of the timed runs: about 2 where both cores ran) shows where it had
 * fewer cores to give. Ratios are to maxBatch 8, the default (DEFAULT_MAX_BATCH).
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import process from 'node:process';
import { createEstimator } from '../src/estimator/estimator.ts';
import { DEFAULT_MAX_BATCH } from '../src/defaults.ts';
import type { Box } from '../src/types.ts';
import { median, procMemory, resetPeak } from './stats.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PHOTO = join(ROOT, '..', 'shared', 'data', 'coco', '000000000785.jpg');
const BOX = [280.79, 44.73, 218.7, 346.68] as const;
const SIZES = [1, 2, 4, 8, 16, 32, 128];
const BOXES = 32;
const RUNS = 3;
const PASSES = 2;

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/** The child: one maxBatch, one JSON line on stdout. */
async function child(dir: string, maxBatch: number) {
  const image = await readFile(PHOTO);
  const boxes: Box[] = Array.from({ length: BOXES }, (_, i) => [
    BOX[0] - (i % 8) * 8,
    BOX[1] + (i >> 3) * 4,
    BOX[2],
    BOX[3],
  ]);
  const est = await createEstimator({ model: dir, backend: 'native', maxBatch });
  const load = procMemory();
  const reset = resetPeak();
  await est.estimate(image, { boxes, flipTest: true });
  const ms: number[] = [];
  const inference: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    const res = await est.estimate(image, { boxes, flipTest: true });
    ms.push(performance.now() - t);
    inference.push(res.timings.inference);
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuPerWall = (cpu.user + cpu.system) / 1000 / (performance.now() - t0);
  (globalThis as { gc?: () => void }).gc?.();
  const after = procMemory();
  const line = {
    maxBatch,
    threads: est.info.threads,
    msPerBox: ms.map((x) => x / BOXES),
    inferenceMsPerBox: inference.map((x) => x / BOXES),
    cpuPerWall,
    loadPeakMiB: load.peakMiB,
    loadedMiB: load.rssMiB,
    peakMiB: reset ? after.peakMiB : NaN,
    afterMiB: after.rssMiB,
  };
  await est.dispose();
  console.log(JSON.stringify(line));
}

function runChild(dir: string, maxBatch: number): Promise<any> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [
      '--expose-gc',
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      '--child',
      dir,
      String(maxBatch),
    ], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Uint8Array) => (out += d));
    p.on(
      'close',
      (code: number) =>
        code === 0
          ? resolve(JSON.parse(out.trim().split('\n').pop()!))
          : reject(new Error(`batch child maxBatch=${maxBatch} exited ${code}`)),
    );
  });
}

export async function batchBench(arch: string): Promise<unknown> {
  const dir = join(ROOT, '.cache', 'models', arch);
  if (!existsSync(join(dir, 'srpose.json')) || !existsSync(PHOTO)) {
    throw new Error('needs npm run models and ../shared/data');
  }
  const loadAtStart = loadavg()[0];
  const children: any[] = [];
  for (let pass = 0; pass < PASSES; pass++) {
    for (const maxBatch of pass % 2 ? SIZES.toReversed() : SIZES) {
      process.stderr.write(`[batch] pass ${pass + 1}, maxBatch ${maxBatch}\n`);
      children.push(await runChild(dir, maxBatch));
    }
  }
  // Per size: the median of every timed run, the largest memory readings of its processes.
  const rows = SIZES.map((maxBatch) => {
    const cs = children.filter((c) => c.maxBatch === maxBatch);
    return {
      maxBatch,
      msPerBox: median(cs.flatMap((c) => c.msPerBox)),
      msPerBoxPasses: cs.map((c) => round(median(c.msPerBox))),
      inferenceMsPerBox: median(cs.flatMap((c) => c.inferenceMsPerBox)),
      cpuPerWall: cs.map((c) => round(c.cpuPerWall, 2)),
      peakMiB: Math.max(...cs.map((c) => c.peakMiB)),
      afterMiB: Math.max(...cs.map((c) => c.afterMiB)),
    };
  });
  const base = rows.find((r) => r.maxBatch === DEFAULT_MAX_BATCH)!;
  const results = Object.fromEntries(rows.map((r) => [`maxBatch=${r.maxBatch}`, {
    cropsPerRun: Math.max(2, Math.min(r.maxBatch, 2 * BOXES) & ~1),
    msPerBox: round(r.msPerBox),
    msPerBoxPasses: r.msPerBoxPasses,
    inferenceMsPerBox: round(r.inferenceMsPerBox),
    cpuPerWall: r.cpuPerWall,
    peakMiB: round(r.peakMiB),
    afterMiB: round(r.afterMiB),
    vsDefault: {
      msPerBox: round(r.msPerBox / base.msPerBox, 3),
      peakMiB: round(r.peakMiB / base.peakMiB, 3),
      afterMiB: round(r.afterMiB / base.afterMiB, 3),
    },
  }]));
  return {
    suite: 'batch',
    model: arch,
    backend: 'native',
    threads: children[0].threads,
    // other work on the machine (1-min load average before this bench started anything)
    loadAverageAtStart: round(loadAtStart, 2),
    request: `${BOXES} boxes with flip (${2 * BOXES} crops), 1 warm-up + ${RUNS} runs`,
    passes: `${PASSES}, maxBatch up then down, a fresh process each`,
    memory: 'peak (VmHWM reset after loading) and after (full GC): the larger of the passes',
    defaultMaxBatch: DEFAULT_MAX_BATCH,
    loadedMiB: round(median(children.map((c) => c.loadedMiB))),
    loadPeakMiB: round(median(children.map((c) => c.loadPeakMiB))),
    results,
  };
}

if (process.argv[2] === '--child') await child(process.argv[3], Number(process.argv[4]));
