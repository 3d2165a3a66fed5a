// The package as a plain-Node user gets it: `import 'srpose'` resolves to the esbuild bundle
// (dist/srpose.mjs, made by `npm run build` / `prepack`), and gives the same result as the
// TypeScript sources.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT, skipUnless, tempDir } from '../helpers/env.ts';
import { tinyConfig, tinyOnnx } from '../helpers/tiny.ts';
import { createEstimator } from '../../src/estimator/estimator.ts';

const SCRIPT = `
import { createEstimator } from 'srpose';
const [dir] = process.argv.slice(2);
const est = await createEstimator({ model: dir, backend: 'wasm' });
const data = new Uint8Array(40 * 30 * 3).map((_, i) => (i * 13) & 255);
const r = await est.estimate({ data, width: 40, height: 30 }, { boxes: [[2, 3, 30, 20]] });
console.log(JSON.stringify(r.people));
await est.dispose();
`;

test(
  'plain Node imports the built package and gets the same keypoints as the sources',
  async () => {
    if (
      skipUnless(
        existsSync(join(ROOT, 'dist', 'srpose.mjs')),
        'dist/srpose.mjs missing: run npm run build',
      )
    ) return;
    const dir = await tempDir('srpose-pkg-');
    await writeFile(join(dir, 'srpose.json'), JSON.stringify(tinyConfig()));
    await writeFile(join(dir, 'model.onnx'), await tinyOnnx());
    // inside the repository, so `srpose` resolves to this package by its own name
    const script = join(ROOT, 'tests', 'package', '.probe.mjs');
    await writeFile(script, SCRIPT);
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        'node',
        [script, dir],
        { cwd: ROOT },
        (e, stdout, stderr) => (e ? reject(new Error(stderr)) : resolve(stdout)),
      )
    );
    const est = await createEstimator({ model: dir, backend: 'wasm' });
    const data = new Uint8Array(40 * 30 * 3).map((_, i) => (i * 13) & 255);
    const want = await est.estimate({ data, width: 40, height: 30 }, { boxes: [[2, 3, 30, 20]] });
    await est.dispose();
    assert.equal(JSON.parse(out), JSON.parse(JSON.stringify(want.people)));
  },
);

test.run();
