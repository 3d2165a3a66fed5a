// One cold start in a fresh Node or Deno process, run by `npm run bench -- cold-start`: the
// built library (lib/, as users install it) loads a model by Hub id (HF_ENDPOINT and
// HF_HUB_CACHE come from the parent), estimates once, then `steady` more times; prints one JSON
// line. performance.now() counts from this process's start (Node and Deno alike).
import { readFile } from 'node:fs/promises';

const [model, photo, backend, weights, steady] = process.argv.slice(2);
const { createEstimator } = await import('../lib/srpose.mjs');
const imported = performance.now();
const est = await createEstimator({ model, backend, weights });
const loaded = performance.now();
const image = await readFile(photo);
const boxes = [[280.79, 44.73, 218.7, 346.68]];
const first = await est.estimate(image, { boxes });
const firstResult = performance.now();
const steadyMs = [];
for (let i = 0; i < Number(steady); i++) {
  const t = performance.now();
  await est.estimate(image, { boxes });
  steadyMs.push(performance.now() - t);
}
console.log(JSON.stringify({
  imported,
  loaded,
  firstResult,
  load: est.info.load,
  firstRun: first.timings.total,
  backend: first.backend,
  weights: first.weights,
  steadyMs,
}));
await est.dispose();
