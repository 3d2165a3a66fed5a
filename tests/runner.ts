// Runs the uvu suites of tests/suites.ts under whichever runtime executes this file (Node via
// tsx, or Deno), so both run the very same test files.
// Usage: runner.ts [--tier fast|full] [substring filter...]
//   fast: the fast tier only; full (default): every suite for this runtime.
// After uvu's summary it prints one line `N passed, N failed, N skipped`, then each skip's
// reason; under CI=true a skip fails the run.
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join, relative } from 'node:path';
import process from 'node:process';
import { SUITES } from './suites.ts';

const root = fileURLToPath(new URL('.', import.meta.url));
const args = process.argv.slice(2);
const tierAt = args.indexOf('--tier');
const tier = tierAt >= 0 ? args.splice(tierAt, 2)[1] : 'full';
if (tier !== 'fast' && tier !== 'full') {
  throw new Error(`runner: --tier is fast or full, got ${tier}`);
}
const filters = args;
const runtime = 'Deno' in globalThis ? 'deno' : 'node';
const CI = process.env.CI === 'true' || process.env.CI === '1';

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...await walk(p));
    else if (e.name.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}

const files = (await walk(root)).map((f) => relative(root, f));
const unlisted = files.filter((f) => !SUITES[f]);
const gone = Object.keys(SUITES).filter((f) => !files.includes(f));
if (unlisted.length || gone.length) {
  console.error(
    `runner: tests/suites.ts is out of date: not listed ${
      JSON.stringify(unlisted)
    }, listed but missing ${JSON.stringify(gone)}`,
  );
  process.exit(1);
}
const optedOut: string[] = [];
const chosen = files.filter((f) => {
  const s = SUITES[f];
  if (tier === 'fast' && s.tier !== 'fast') return false;
  if (runtime === 'deno' && s.runtimes !== 'both') return false;
  if (!filters.every((x) => !x) && !filters.some((x) => f.includes(x))) return false;
  if (s.optIn && !process.env[s.optIn]) {
    return void optedOut.push(`${f} (set ${s.optIn}: ${s.why})`);
  }
  return true;
});
console.log(
  `runner: ${chosen.length} suites under ${runtime}, tier ${tier}${
    filters.length ? `, filter ${filters.join(' ')}` : ''
  }`,
);
for (const o of optedOut) console.log(`runner: not run, opt-in: ${o}`);

// uvu's own run(), with each suite's runners wrapped to count its tests and time it. uvu (and
// helpers/env.ts, which imports it) must load after UVU_DEFER is set: imports stay dynamic.
const g = globalThis as any;
g.UVU_DEFER = 1;
const uvu = await import('uvu');
const { skips } = await import('./helpers/env.ts');
const totals = { tests: 0, passed: 0 };
const seconds = new Map<string, number>();
for (const [i, name] of chosen.entries()) {
  g.UVU_INDEX = i;
  g.UVU_QUEUE.push([name]);
  g.__srposeSuite = name;
  await import('file:///' + join(root, name).replace(/^\//, ''));
}
for (const group of g.UVU_QUEUE) {
  const name: string = group[0];
  for (let j = 1; j < group.length; j++) {
    const run = group[j];
    group[j] = async () => {
      g.__srposeSuite = name;
      const t0 = performance.now();
      const result = await run();
      const [, ran, , max] = result;
      totals.tests += max;
      totals.passed += ran;
      seconds.set(name, (seconds.get(name) ?? 0) + (performance.now() - t0) / 1000);
      return result;
    };
  }
}
await uvu.exec(false);

const skipped = skips.length;
const failed = totals.tests - totals.passed;
console.log(
  `${
    totals.passed - skipped
  } passed, ${failed} failed, ${skipped} skipped (${runtime}, tier ${tier})`,
);
for (const s of skips) console.log(`  skipped in ${s.suite}: ${s.why}`);
// every suite of 5 s or more: where the CI budget goes (CONTRIBUTING.md's timing table)
const slow = [...seconds].sort((a, b) => b[1] - a[1]).filter(([, s]) => s >= 5).map((
  [n, s],
) => `${n} ${s.toFixed(0)} s`);
console.log(`  slowest: ${slow.join(', ')}`);
if (failed) process.exitCode = 1;
if (CI && skipped) {
  console.error(
    `runner: CI=true and ${skipped} test(s) skipped: ` +
      `a missing tool or data set is a broken CI, not a pass`,
  );
  process.exitCode = 1;
}

// Every suite cleans up after itself; a child process or server left running would keep this
// process alive and hang CI. Say so and fail instead of hanging.
const leak = setTimeout(() => {
  console.error(
    'runner: the tests are over but something they started ' +
      'still runs (a child process, server or timer); failing',
  );
  process.exit(1);
}, 60_000);
(leak as any).unref?.();
