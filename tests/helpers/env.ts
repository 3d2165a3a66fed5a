// Paths and external tools the tests rely on, with skip messages when they are absent.
import { test } from 'uvu';
import { existsSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** `../shared/data` beside the repository (never copied in). */
export const SHARED = join(ROOT, '..', 'shared', 'data');
export const PYTHON = '/usr/bin/python3';
export const MODELS = join(ROOT, '.cache', 'models');

export const hasShared = existsSync(join(SHARED, 'coco'));

/** Directory of an exported random-weight test model (made by `npm run models`). */
export function modelDir(arch: string): string {
  return join(MODELS, arch);
}

export function hasModel(arch: string): boolean {
  return existsSync(join(modelDir(arch), 'srpose.json')) &&
    existsSync(join(modelDir(arch), 'checkpoint.pth'));
}

/**
 * The skips of this process, in order: the runner (tests/runner.ts) counts them per suite,
 * prints them, and fails the run under `CI=true`, where a missing tool or data set is a broken
 * CI rather than a pass.
 */
export const skips: { suite: string; why: string }[] = ((globalThis as any).__srposeSkips ??= []);

/** Records and logs a skip when `cond` is false; returns true when the test must stop. */
export function skipUnless(cond: unknown, why: string): boolean {
  if (cond) return false;
  console.log(`  [skip] ${why}`);
  skips.push({ suite: (globalThis as any).__srposeSuite ?? '?', why });
  return true;
}

/** A suite's requirement: call it where each test starts (`if (skip()) return;`). */
export type Requirement = (() => boolean) & { unmet?: string };

/**
 * A requirement of every test in a suite. Each check is `[met, why]`; the first unmet one is
 * the reason recorded for every test that calls it.
 */
export function requirement(...checks: [met: unknown, why: string][]): Requirement {
  const unmet = checks.find(([met]) => !met)?.[1];
  return Object.assign(() => (unmet ? skipUnless(false, unmet) : false), { unmet });
}

/**
 * For a suite whose tests cannot even be defined without `req` (they read its files at
 * definition): when unmet, registers one test that records the skip, and returns true.
 */
export function suiteSkipped(req: Requirement): boolean {
  if (req.unmet) test(`(requirement unmet) ${req.unmet}`, () => void req());
  return !!req.unmet;
}

const pythonProbes = new Map<string, boolean>();

/** Whether `/usr/bin/python3` imports every module named (probed once per set). */
export function hasPython(...modules: string[]): boolean {
  const key = modules.join(',');
  let ok = pythonProbes.get(key);
  if (ok === undefined) {
    ok = existsSync(PYTHON) &&
      spawnSync(PYTHON, ['-c', `import ${key}`], { stdio: 'ignore' }).status === 0;
    pythonProbes.set(key, ok);
  }
  return ok;
}

/** Runs `/usr/bin/python3 args...` in the repo root; resolves to its stdout's last JSON line. */
export function python(args: string[], timeoutMs = 600_000): Promise<any> {
  return new Promise((resolve, reject) => {
    const p = spawn(PYTHON, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) {
        return reject(new Error(`python ${args.join(' ')} exited ${code}: ${err.slice(-2000)}`));
      }
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(line ? JSON.parse(line) : null);
      } catch {
        reject(new Error(`python ${args[0]}: not JSON: ${line.slice(0, 200)}`));
      }
    });
  });
}

/** Reads a raw little-endian float32 file. */
export async function readF32(path: string): Promise<Float32Array> {
  const { readFile } = await import('node:fs/promises');
  const b = await readFile(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export async function writeF32(path: string, data: Float32Array): Promise<void> {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(path, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

export async function tempDir(prefix: string): Promise<string> {
  const { mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  return await mkdtemp(join(tmpdir(), prefix));
}
