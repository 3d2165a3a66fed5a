// The official evaluation post-processing (tests/python/eval_post_reference.py: mmpose's
// rescoring, OKS-NMS, its `evaluate` and PCKh, numpy's argsort) on a request, one subprocess.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { python, tempDir } from './env.ts';

/**
 * Runs the harness on `request` (its sections: argsort, oks, nms, evaluate, mpii...) and
 * resolves to its output (`'inf'` / `'-inf'` read back as infinities), what it printed (`info`)
 * and how long it took.
 */
export async function evalPostReference(
  request: unknown,
): Promise<{ out: any; info: any; ms: number }> {
  const dir = await tempDir('srpose-eval-post-');
  try {
    const input = join(dir, 'cases.json');
    const output = join(dir, 'official.json');
    await writeFile(input, JSON.stringify(request));
    const t0 = performance.now();
    const info = await python([join('tests', 'python', 'eval_post_reference.py'), input, output]);
    const ms = performance.now() - t0;
    const out = JSON.parse(
      await readFile(output, 'utf8'),
      (_k, v) => (v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v),
    );
    return { out, info, ms };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
