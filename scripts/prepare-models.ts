/**
 * `srpose prepare` on model directories from the sources (no build needed): used by
 * models/make_test_models.sh for the test models that have prepared WASM graphs.
 * Usage: tsx scripts/prepare-models.ts DIR...
 */
import { prepareModel } from '../src/model/prepare.ts';

for (const dir of process.argv.slice(2)) {
  const t0 = performance.now();
  const p = await prepareModel(dir);
  const files = Object.entries(p.files).map(([k, f]) => `${k} ${f!.file}`).join(', ');
  console.log(
    `models: ${dir} prepared for onnxruntime ${p.version} in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s (${files})`,
  );
}
