/**
 * batch: how the chunk size of inference (EstimatorOptions.maxBatch: crops per
 * `session.run`, a box under the flip test counting two) trades speed for memory, on the
 * native backend in Node, with one 32-box request with flip (64 crops).
 *
 * - memory: each maxBatch in a fresh process (`--child`), so its readings are its own: the
 *   request once to warm up, then 3 timed runs; the peak resident memory over those runs
 *   (VmHWM, reset once the model is loaded) and the resident memory after them (after a full
 *   GC). Their ms per box is reported too (`freshProcessMsPerBox`), but processes minutes apart
 *   see a shared machine in different states.
 * - speed: one more process (`--paired`) holds an estimator per maxBatch and times them in
 *   turn, 3 rounds after a warm-up each; within a round they see the same machine, so the
 *   ratio to maxBatch 8 is taken per round (median over rounds). `cpuPerWall` (CPU seconds per
 *   second: about 2 where both cores ran) shows how much of the machine each round had.
 *
 * Ratios are to maxBatch 8, the default (DEFAULT_MAX_BATCH).
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
import type { Box, Estimator } from '../src/types.ts';
import { median, procMemory, resetPeak } from './stats.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PHOTO = join(ROOT, '..', 'shared', 'data', 'coco', '000000000785.jpg');
const BOX = [280.79, 44.73, 218.7, 346.68] as const;
const SIZES = [1, 2, 4, 8, 16, 32, 128];
const BOXES = 32;
const RUNS = 3;

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/** The request: 32 boxes around the person, shifted a little each so the crops differ. */
async function request(): Promise<{ image: Uint8Array; boxes: Box[] }> {
  const image = new Uint8Array(await readFile(PHOTO));
  const boxes: Box[] = Array.from({ length: BOXES }, (_, i) => [
    BOX[0] - (i % 8) * 8,
    BOX[1] + (i >> 3) * 4,
    BOX[2],
    BOX[3],
  ]);
  return { image, boxes };
}

const estimator = (dir: string, maxBatch: number) =>
  createEstimator({ model: dir, backend: 'native', maxBatch });

/** Wall ms of one estimate, and its inference share. */
async function timed(est: Estimator, image: Uint8Array, boxes: Box[]) {
  const t = performance.now();
  const res = await est.estimate(image, { boxes, flipTest: true });
  return { ms: performance.now() - t, inferenceMs: res.timings.inference };
}

/** `--child <dir> <maxBatch>`: one maxBatch in this fresh process; one JSON line. */
async function child(dir: string, maxBatch: number) {
  const { image, boxes } = await request();
  const est = await estimator(dir, maxBatch);
  const load = procMemory();
  const reset = resetPeak();
  await est.estimate(image, { boxes, flipTest: true });
  const ms: number[] = [];
  for (let r = 0; r < RUNS; r++) ms.push((await timed(est, image, boxes)).ms);
  (globalThis as { gc?: () => void }).gc?.();
  const after = procMemory();
  const line = {
    maxBatch,
    threads: est.info.threads,
    msPerBox: median(ms) / BOXES,
    loadPeakMiB: load.peakMiB,
    loadedMiB: load.rssMiB,
    peakMiB: reset ? after.peakMiB : NaN,
    afterMiB: after.rssMiB,
  };
  await est.dispose();
  console.log(JSON.stringify(line));
}

/** `--paired <dir>`: every maxBatch in this one process, timed in turn; one JSON line. */
async function paired(dir: string) {
  const { image, boxes } = await request();
  const ests: Estimator[] = [];
  for (const maxBatch of SIZES) ests.push(await estimator(dir, maxBatch));
  for (const est of ests) await est.estimate(image, { boxes, flipTest: true });
  const rounds: { ms: number[]; inferenceMs: number[]; cpuPerWall: number }[] = [];
  for (let r = 0; r < RUNS; r++) {
    const ms: number[] = [];
    const inferenceMs: number[] = [];
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    // each round starts at another size, so none is always first after the pause
    for (let k = 0; k < SIZES.length; k++) {
      const i = (k + r) % SIZES.length;
      const t = await timed(ests[i], image, boxes);
      ms[i] = t.ms;
      inferenceMs[i] = t.inferenceMs;
    }
    const cpu = process.cpuUsage(cpu0);
    rounds.push({
      ms,
      inferenceMs,
      cpuPerWall: (cpu.user + cpu.system) / 1000 / (performance.now() - t0),
    });
  }
  for (const est of ests) await est.dispose();
  console.log(JSON.stringify(rounds));
}

function runChild(args: string[]): Promise<any> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), ...args],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    p.stdout.on('data', (d: Uint8Array) => (out += d));
    p.on(
      'close',
      (code: number) =>
        code === 0
          ? resolve(JSON.parse(out.trim().split('\n').pop()!))
          : reject(new Error(`batch ${args.join(' ')} exited ${code}`)),
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
  for (const maxBatch of SIZES) {
    process.stderr.write(`[batch] memory: maxBatch ${maxBatch} in a fresh process\n`);
    children.push(await runChild(['--child', dir, String(maxBatch)]));
  }
  process.stderr.write(`[batch] speed: every maxBatch in one process, ${RUNS} rounds\n`);
  const rounds: { ms: number[]; inferenceMs: number[]; cpuPerWall: number }[] = await runChild([
    '--paired',
    dir,
  ]);
  const d = SIZES.indexOf(DEFAULT_MAX_BATCH);
  const base = children[d];
  const results = Object.fromEntries(SIZES.map((maxBatch, i) => {
    const c = children[i];
    return [`maxBatch=${maxBatch}`, {
      cropsPerRun: Math.max(2, Math.min(maxBatch, 2 * BOXES) & ~1),
      msPerBox: round(median(rounds.map((r) => r.ms[i])) / BOXES),
      inferenceMsPerBox: round(median(rounds.map((r) => r.inferenceMs[i])) / BOXES),
      freshProcessMsPerBox: round(c.msPerBox),
      peakMiB: round(c.peakMiB),
      afterMiB: round(c.afterMiB),
      vsDefault: {
        msPerBox: round(median(rounds.map((r) => r.ms[i] / r.ms[d])), 3),
        msPerBoxRounds: rounds.map((r) => round(r.ms[i] / r.ms[d], 3)),
        peakMiB: round(c.peakMiB / base.peakMiB, 3),
        afterMiB: round(c.afterMiB / base.afterMiB, 3),
      },
    }];
  }));
  return {
    suite: 'batch',
    model: arch,
    backend: 'native',
    threads: base.threads,
    // other work on the machine (1-min load average before this bench started anything)
    loadAverageAtStart: round(loadAtStart, 2),
    request: `${BOXES} boxes with flip (${2 * BOXES} crops)`,
    memory: `a fresh process per maxBatch: 1 warm-up + ${RUNS} runs; peak = VmHWM reset after ` +
      'loading, after = VmRSS after a full GC',
    speed: `one process, every maxBatch in turn: 1 warm-up each + ${RUNS} rounds; ratios per round`,
    cpuPerWallRounds: rounds.map((r) => round(r.cpuPerWall, 2)),
    defaultMaxBatch: DEFAULT_MAX_BATCH,
    loadedMiB: round(median(children.map((c) => c.loadedMiB))),
    loadPeakMiB: round(median(children.map((c) => c.loadPeakMiB))),
    results,
  };
}

if (process.argv[2] === '--child') await child(process.argv[3], Number(process.argv[4]));
if (process.argv[2] === '--paired') await paired(process.argv[3]);
