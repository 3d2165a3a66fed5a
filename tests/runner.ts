// Runs the uvu suites under whichever runtime executes this file (Node via tsx, or Deno),
// so both run the very same test files. Usage: runner.ts [substring filter...]
import { run } from 'uvu/run';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join, relative } from 'node:path';

const root = fileURLToPath(new URL('.', import.meta.url));
const filters = (globalThis as any).process?.argv?.slice(2) ?? [];

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...await walk(p));
    else if (e.name.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}

const files = (await walk(root)).filter((f) => filters.length === 0 || filters.some((s: string) => f.includes(s)));
await run(files.map((file) => ({ name: relative(root, file), file: file.replace(/^\//, '') })), { bail: false });

// Every suite cleans up after itself; a child process or server left running would keep this
// process alive and hang CI. Say so and fail instead of hanging.
const leak = setTimeout(() => {
  console.error('runner: the tests are over but something they started still runs (a child process, server or timer); failing');
  (globalThis as any).process.exit(1);
}, 60_000);
(leak as any).unref?.();
