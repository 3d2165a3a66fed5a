// The PyTorch / Python references of the parity suites, computed once and kept under
// .cache/reference/<key>/: Node's run computes them, Deno's run (and every later run) reads them.
// The key holds the model's ONNX sha256 (it changes with the weights), the reference scripts'
// sources (models/*.py and models/srpose_models/*.py: a change to the reference recomputes),
// the arguments and the sha256 of every input file named in them.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { python, ROOT } from './env.ts';
import { digestHex } from '../../src/platform/digest.ts';

/** Stands for the output folder in a reference's arguments. */
export const OUT = '<out>';

const sha256 = (data: string | Uint8Array) =>
  digestHex('SHA-256', typeof data === 'string' ? new TextEncoder().encode(data) : data);

let sourcesKey: Promise<string> | undefined;

/** sha256 over the reference scripts' sources. */
function referenceSources(): Promise<string> {
  sourcesKey ??= (async () => {
    const parts: string[] = [];
    for (const dir of ['models', join('models', 'srpose_models'), join('models', 'yolox')]) {
      for (const f of (await readdir(join(ROOT, dir))).filter((f) => f.endsWith('.py')).sort()) {
        parts.push(f, await sha256(await readFile(join(ROOT, dir, f))));
      }
    }
    return sha256(parts.join('\n'));
  })();
  return sourcesKey;
}

/** The ONNX sha256 a model's srpose.json records (the weights it was exported with). */
export async function modelSha256(dir: string): Promise<string> {
  return JSON.parse(await readFile(join(dir, 'srpose.json'), 'utf8')).onnx.sha256;
}

/**
 * Runs `/usr/bin/python3 args` unless its result is cached: `OUT` in `args` (alone or as the
 * start of a path) becomes the output folder. `models` are the model folders the arguments read;
 * `inputs` the other files they read (hashed into the key). Returns the folder (its files as the
 * script wrote them) and the JSON the script printed last.
 */
export async function cachedReference(
  args: string[],
  opts: { models?: string[]; inputs?: string[]; timeoutMs?: number } = {},
): Promise<{ dir: string; out: any }> {
  const key = await sha256(JSON.stringify({
    args: args.map((
      a,
    ) => (opts.inputs?.includes(a)
      ? `<input ${opts.inputs.indexOf(a)}>`
      : a.startsWith(ROOT)
      ? a.slice(ROOT.length)
      : a)
    ),
    models: await Promise.all((opts.models ?? []).map(modelSha256)),
    inputs: await Promise.all((opts.inputs ?? []).map(async (f) => sha256(await readFile(f)))),
    sources: await referenceSources(),
  }));
  const root = join(ROOT, '.cache', 'reference');
  const dir = join(root, key.slice(0, 32));
  const printed = join(dir, 'printed.json');
  if (!existsSync(printed)) {
    await mkdir(root, { recursive: true });
    const tmp = await mkdtemp(join(root, 'tmp-'));
    try {
      const out = await python(
        args.map((a) => (a.startsWith(OUT) ? tmp + a.slice(OUT.length) : a)),
        opts.timeoutMs,
      );
      await writeFile(join(tmp, 'printed.json'), JSON.stringify(out ?? null));
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  return { dir, out: JSON.parse(await readFile(printed, 'utf8')) };
}
