// docs/api/ is TypeDoc's reference of the public API (`npm run docs`, from the TSDoc of
// src/mod.ts, src/server/mod.ts, src/browser.ts): it must be what the sources generate now.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ROOT, tempDir } from '../helpers/env.ts';

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(relative(dir, join(e.parentPath, e.name)));
  }
  return out.sort();
}

test('docs/api is the API reference the sources generate (npm run docs)', async () => {
  const out = await tempDir('srpose-api-docs-');
  await new Promise<void>((resolve, reject) =>
    execFile(
      join(ROOT, 'node_modules', '.bin', 'typedoc'),
      ['--out', out, '--logLevel', 'Error'],
      { cwd: ROOT, timeout: 120_000 },
      (e, _stdout, stderr) => (e ? reject(new Error(`typedoc failed: ${stderr}`)) : resolve()),
    )
  );
  const committed = await files(join(ROOT, 'docs', 'api'));
  const generated = await files(out);
  assert.equal(committed, generated, 'docs/api files: run npm run docs');
  for (const f of generated) {
    const want = await readFile(join(out, f), 'utf8');
    const have = await readFile(join(ROOT, 'docs', 'api', f), 'utf8');
    assert.ok(have === want, `docs/api/${f} is stale: run npm run docs`);
  }
});

test.run();
