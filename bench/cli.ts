/**
 * cli: `srpose --help` as users run it (the built `bin/srpose.mjs` -> lib/cli.mjs, run by
 * `npm run build`), side by side with the CLI run from its TypeScript sources through tsx (how
 * it ran before it was built): wall time from process start to exit and peak resident memory,
 * median of `runs` fresh processes each, interleaved. Goal: help <= 0.5 s.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './stats.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const round = (x: number) => Math.round(x * 10) / 10;

/** Wall ms of one `node <args>` process, start to exit. */
function timed(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const p = spawn('node', args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    p.on('error', reject);
    p.on('exit', (code) => {
      const ms = performance.now() - t;
      if (code !== 0) return reject(new Error(`node ${args.join(' ')} exited ${code}`));
      resolve(ms);
    });
  });
}

/** Peak RSS of one run, read by GNU time where it is installed. */
function peak(args: string[]): Promise<number> {
  if (!existsSync('/usr/bin/time')) return Promise.resolve(NaN);
  return new Promise((resolve) => {
    let err = '';
    const p = spawn('/usr/bin/time', ['-f', '%M', 'node', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', () => resolve(Number(err.trim().split('\n').pop()) / 1024));
  });
}

export async function cliBench(runs: number): Promise<unknown> {
  if (!existsSync(join(ROOT, 'lib', 'cli.mjs'))) {
    throw new Error('lib/cli.mjs missing: run npm run build first');
  }
  const ways: Record<string, string[]> = {
    built: ['bin/srpose.mjs', '--help'],
    tsxSources: [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      "process.exitCode = await (await import('./src/cli/main.ts')).main(['--help'])",
    ],
  };
  const ms: Record<string, number[]> = { built: [], tsxSources: [] };
  for (const args of Object.values(ways)) await timed(args); // the files into the page cache
  for (let r = 0; r < runs; r++) {
    for (const [name, args] of Object.entries(ways)) ms[name].push(await timed(args));
  }
  const summary: Record<string, unknown> = {};
  for (const [name, args] of Object.entries(ways)) {
    summary[name] = { helpMs: round(median(ms[name])), peakMiB: round(await peak(args)) };
  }
  const built = median(ms.built);
  return {
    suite: 'cli',
    runs,
    ...summary,
    ratioTsxToBuilt: round(median(ms.tsxSources) / built),
    goalHelpMs: 500,
    met: built <= 500,
  };
}
