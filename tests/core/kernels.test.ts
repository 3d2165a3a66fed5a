// The WebAssembly kernels' committed bytes (src/core/kernels/<name>.wasm.ts, written by
// scripts/build-kernels.sh) against their C sources: the recorded sha256 is the source's, and
// with clang installed a rebuild gives the very same module.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import process from 'node:process';
import { ROOT, skipUnless, tempDir } from '../helpers/env.ts';

const DIR = join(ROOT, 'src', 'core', 'kernels');
const hex = (b: ArrayBuffer) =>
  Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');
const kernels = async () =>
  (await readdir(DIR)).filter((f) => f.endsWith('.c')).map((f) => f.slice(0, -2)).sort();

test('every kernel has its module, built from the C source as it is', async () => {
  const names = await kernels();
  assert.equal(names, ['crop', 'flip']);
  for (const name of names) {
    const { SOURCE_SHA256, WASM_BASE64 } = await import(`../../src/core/kernels/${name}.wasm.ts`);
    const c = await readFile(join(DIR, `${name}.c`));
    assert.is(
      hex(await crypto.subtle.digest('SHA-256', c)),
      SOURCE_SHA256,
      `${name}.c changed: run scripts/build-kernels.sh`,
    );
    const bytes = Uint8Array.from(atob(WASM_BASE64), (ch) => ch.charCodeAt(0));
    assert.ok(
      bytes.length < 4096,
      `${name}: ${bytes.length} bytes, over what a browser main thread compiles synchronously`,
    );
    assert.ok(WebAssembly.validate(bytes), `${name}: not a valid module`);
  }
});

test('rebuilding with clang gives the committed bytes (skipped without clang)', async () => {
  if (
    skipUnless(
      spawnSync('clang', ['--version']).status === 0,
      'clang not installed (apt-get install clang lld): kernels not rebuilt',
    )
  ) return;
  const dir = await tempDir('srpose-kernels-');
  try {
    const r = spawnSync('bash', [join(ROOT, 'scripts', 'build-kernels.sh')], {
      env: { ...process.env, KERNELS_OUT: dir },
    });
    assert.is(r.status, 0, String(r.stderr));
    const other: string[] = [];
    for (const name of await kernels()) {
      const built = await readFile(join(dir, `${name}.wasm.ts`), 'utf8');
      const committed = await readFile(join(DIR, `${name}.wasm.ts`), 'utf8');
      // the first line names the compiler: another clang version may build other bytes
      const first = (s: string) => s.slice(0, s.indexOf('\n'));
      if (first(built) !== first(committed)) {
        other.push(`${name} (${first(built)})`);
        continue;
      }
      assert.ok(built === committed, `${name}: the bytes differ: run scripts/build-kernels.sh`);
    }
    skipUnless(
      other.length === 0,
      `another compiler built ${other.join(', ')}: bytes not compared`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
