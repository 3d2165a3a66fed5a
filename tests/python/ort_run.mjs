// Runs an ONNX model once on onnxruntime-web (WASM, the runtime the library uses) for the Python
// tests, which have no onnxruntime of their own:
//   node tests/python/ort_run.mjs MODEL.onnx INPUT.f32 N,C,H,W OUTPUT.f32
// reads the raw little-endian float32 input, writes the first output the same way and prints
// {"name", "dims"} as one JSON line.
import { readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-web';

const [modelPath, inputPath, shapeText, outputPath] = process.argv.slice(2);
if (!outputPath) {
  console.error('usage: node ort_run.mjs MODEL.onnx INPUT.f32 N,C,H,W OUTPUT.f32');
  process.exit(2);
}
const dims = shapeText.split(',').map(Number);
ort.env.wasm.numThreads = Math.min(2, availableParallelism());
const bytes = await readFile(inputPath);
const input = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
const session = await ort.InferenceSession.create(await readFile(modelPath), {
  executionProviders: ['wasm'],
  graphOptimizationLevel: 'all',
});
const name = session.outputNames[0];
const out =
  (await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', input, dims) }))[name];
await writeFile(
  outputPath,
  new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength),
);
console.log(JSON.stringify({ name, dims: Array.from(out.dims) }));
await session.release();
