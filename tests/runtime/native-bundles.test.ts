// onnxruntime-node stays an optional dependency of the Node-side code only: esbuild's metafiles
// of the browser, Cloudflare Workers and Deno (Deno Deploy) bundles name it in no input and no
// import, the library bundle leaves it outside too, and plain Node running the built library
// still finds it in node_modules at run time (`backend: 'native'`).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, skipUnless, tempDir } from '../helpers/env.ts';
import { tinyConfig, tinyOnnx } from '../helpers/tiny.ts';
import { loadNative } from '../../src/runtime/native.ts';
import type { Metafile } from '../../scripts/build-common.ts';

const META = join(ROOT, 'dist', 'meta');
const built = ['browser', 'cloudflare', 'deno', 'lib'].every((t) =>
  existsSync(join(META, `${t}.json`))
);

/** Every input file, and every import of an input or an output, that names onnxruntime-node. */
async function nativeRefs(target: string): Promise<{ inputs: number; refs: string[] }> {
  const meta = JSON.parse(await readFile(join(META, `${target}.json`), 'utf8')) as Metafile;
  const refs: string[] = [];
  for (const [file, v] of [...Object.entries(meta.inputs), ...Object.entries(meta.outputs)]) {
    if (file.includes('onnxruntime-node')) refs.push(file);
    for (const i of v.imports) {
      if (i.path.includes('onnxruntime-node')) refs.push(`${file} -> ${i.path} (${i.kind})`);
    }
  }
  return { inputs: Object.keys(meta.inputs).length, refs };
}

for (const target of ['browser', 'cloudflare', 'deno', 'lib']) {
  test(`${target} bundle: onnxruntime-node in no input or import of its metafile`, async () => {
    if (skipUnless(built, 'dist/meta/*.json missing: run npm run build')) return;
    const { inputs, refs } = await nativeRefs(target);
    assert.ok(inputs > 10, `${target}: only ${inputs} inputs in the metafile`);
    assert.equal(refs, [], `${target} references onnxruntime-node`);
    // The native backend's loader is in every bundle (it decides at run time), with its import
    // left to the runtime.
    const { inputs: all } = JSON.parse(
      await readFile(join(META, `${target}.json`), 'utf8'),
    ) as Metafile;
    assert.ok(
      Object.keys(all).some((f) => f.endsWith('src/runtime/native.ts')),
      `${target} lacks src/runtime/native.ts`,
    );
  });
}

const PROBE = `
const [lib, dir] = process.argv.slice(1);
const { createEstimator } = await import(lib);
const est = await createEstimator({ model: dir, backend: 'native' });
const r = await est.estimate({ data: new Uint8Array(40 * 30 * 3).fill(99), width: 40, height: 30 });
console.log(JSON.stringify({ backend: r.backend, threads: r.threads, people: r.people.length }));
await est.dispose();
`;

test(
  'plain Node running the built library (lib/srpose.mjs) ' +
    'loads onnxruntime-node from node_modules',
  async () => {
    if (
      skipUnless(
        existsSync(join(ROOT, 'lib', 'srpose.mjs')),
        'lib/srpose.mjs missing: run npm run build',
      )
    ) return;
    if (skipUnless(typeof (await loadNative()) !== 'string', 'onnxruntime-node not installed')) {
      return;
    }
    const dir = await tempDir('srpose-native-lib-');
    await writeFile(join(dir, 'srpose.json'), JSON.stringify(tinyConfig()));
    await writeFile(join(dir, 'model.onnx'), await tinyOnnx());
    const lib = pathToFileURL(join(ROOT, 'lib', 'srpose.mjs')).href;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        'node',
        ['--input-type=module', '-e', PROBE, lib, dir],
        { cwd: ROOT },
        (e, stdout, stderr) => (e ? reject(new Error(stderr)) : resolve(stdout)),
      )
    );
    const r = JSON.parse(out.trim().split('\n').pop()!);
    assert.is(r.backend, 'native');
    assert.is(r.people, 1);
  },
);

test.run();
