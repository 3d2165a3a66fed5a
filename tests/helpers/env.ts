// Paths and external tools the tests rely on, with skip messages when they are absent.
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
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
  return existsSync(join(modelDir(arch), 'srpose.json')) && existsSync(join(modelDir(arch), 'checkpoint.pth'));
}

/** Logs once why a suite is skipped and returns true when it must be. */
export function skipUnless(cond: boolean, why: string): boolean {
  if (!cond) console.log(`  [skip] ${why}`);
  return !cond;
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
      if (code !== 0) return reject(new Error(`python ${args.join(' ')} exited ${code}: ${err.slice(-2000)}`));
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
