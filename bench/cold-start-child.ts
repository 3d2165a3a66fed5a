// One cold start, run in its own process by `npm run bench -- cold-start`: load the model by
// Hub id (HF_ENDPOINT / HF_HUB_CACHE come from the parent), estimate once, print the stages.
// `performance.now()` counts from this process's start.
import { readFile } from 'node:fs/promises';
import { createEstimator } from '../src/estimator/estimator.ts';

const [model, photo] = (globalThis as any).process.argv.slice(2);
const tImport = performance.now();
const est = await createEstimator({ model, backend: 'wasm' });
const r = await est.estimate(await readFile(photo), { boxes: [[280.79, 44.73, 218.7, 346.68]] });
const firstResult = performance.now();
console.log(
  JSON.stringify({ firstResult, imports: tImport, load: est.info.load, firstRun: r.timings.total }),
);
await est.dispose();
