/**
 * wasm-session: what a onnxruntime-web session costs to create, one thread as in a Worker
 * isolate, for graphs prepared ahead of time (issue 17's edge lever), side by side:
 * - `exported`: the model as exported, `graphOptimizationLevel: 'all'` (today);
 * - `extended`: the graph onnxruntime-node saved at `extended` level (`optimizedModelFilePath`),
 *   loaded with optimisation off;
 * - `batch1`: the exported graph with its batch axis fixed to 1 (the input and output dims,
 *   rewritten by Python's onnx), `all`;
 * - `batch1-extended`: that graph saved by onnxruntime-node at `extended`, optimisation off;
 * - `symbolic batch`: `batch1-extended` with the symbolic batch axis given back to its input and
 *   output (the prepared graph before the ORT format), optimisation off; then the same with
 *   session options (the batch fixed by `freeDimensionOverrides`, `enableMemPattern` off) and
 *   saved in onnxruntime's own ORT format;
 * - `batch1-extended, ORT format`;
 * - `prepared`: what `srpose prepare` wrote for the model, when it has it (now the same as
 *   `batch1-extended, ORT format`).
 * Each in a fresh Node process (after compiling the WASM on a one-node model, reported apart):
 * (Python's onnx rewrites the dims and writes that one-node model.)
 * session creation, first run, median of 3 runs, the WASM memory after them (the peak: it
 * never shrinks), and the output's largest difference from `exported` on the same input.
 * `--arch=` (default hrformer_s), `--weights=` (fp32, fp16, int8).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { setBatchAxis } from '../src/runtime/onnx-proto.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const round = (x: number) => Math.round(x * 10) / 10;

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      cmd,
      args,
      { cwd: ROOT, maxBuffer: 64 << 20 },
      (e, out, err) =>
        e ? reject(new Error(`${cmd} ${args.join(' ')}: ${err || e.message}`)) : resolve(out),
    )
  );
}

const FIX_BATCH = `
import sys, onnx
m = onnx.load(sys.argv[1])
for v in list(m.graph.input) + list(m.graph.output):
    d = v.type.tensor_type.shape.dim[0]
    d.ClearField('dim_param'); d.dim_value = 1
onnx.save(m, sys.argv[2])
r = onnx.helper.make_model(onnx.helper.make_graph(
    [onnx.helper.make_node('Relu', ['x'], ['y'])], 'relu',
    [onnx.helper.make_tensor_value_info('x', onnx.TensorProto.FLOAT, [1])],
    [onnx.helper.make_tensor_value_info('y', onnx.TensorProto.FLOAT, [1])]),
    opset_imports=[onnx.helper.make_opsetid('', 13)])
r.ir_version = 8
onnx.save(r, sys.argv[3])
`;

const SAVE = `
const [src, out, level = 'extended'] = process.argv.slice(1);
const ort = (await import('onnxruntime-node')).default;
// a path ending in .ort is written in onnxruntime's own (flatbuffer) format
await ort.InferenceSession.create(src, {
  executionProviders: ['cpu'], graphOptimizationLevel: level, optimizedModelFilePath: out,
  logSeverityLevel: 3,
});
`;

/** onnxruntime-node writes `src` optimised at `level` to `out` (`.ort`: the ORT format). */
function save(src: string, out: string, level = 'extended'): Promise<string> {
  return run('node', ['--input-type=module', '-e', SAVE, src, out, level]);
}

/** In a fresh process: WASM compile, then the session; prints JSON (output as base64). */
const MEASURE = `
const [file, level, relu, extra] = process.argv.slice(1);
const { readFileSync } = await import('node:fs');
// the WASM memory, from the instance onnxruntime-web creates (imported or exported)
let memory;
const instantiate = WebAssembly.instantiate;
WebAssembly.instantiate = async function (...args) {
  const r = await instantiate.apply(this, args);
  const found = [...Object.values((r.instance ?? r).exports),
    ...Object.values(args[1] ?? {}).flatMap((m) => Object.values(m))];
  memory = found.find((v) => v instanceof WebAssembly.Memory) ?? memory;
  return r;
};
const ort = await import('onnxruntime-web');
ort.env.wasm.numThreads = 1;
// a one-node model first: compiling the 14 MB WASM is not the session's cost
const t0 = performance.now();
await ort.InferenceSession.create(readFileSync(relu), { executionProviders: ['wasm'] });
const wasmInit = performance.now() - t0;
const t1 = performance.now();
const s = await ort.InferenceSession.create(readFileSync(file), {
  executionProviders: ['wasm'], graphOptimizationLevel: level, ...JSON.parse(extra),
});
const session = performance.now() - t1;
const pixels = new Float32Array(3 * 256 * 192).map((_, i) => (i % 97) / 97);
const feeds = { [s.inputNames[0]]: new ort.Tensor('float32', pixels, [1, 3, 256, 192]) };
let t = performance.now();
const out = (await s.run(feeds))[s.outputNames[0]].data;
const firstRun = performance.now() - t;
const runs = [];
for (let i = 0; i < 3; i++) {
  t = performance.now();
  await s.run(feeds);
  runs.push(performance.now() - t);
}
runs.sort((a, b) => a - b);
console.log(JSON.stringify({ wasmInit, session, firstRun, steady: runs[1],
  wasmMemory: memory.buffer.byteLength,
  out: Buffer.from(out.buffer, out.byteOffset, out.byteLength).toString('base64') }));
`;

export async function wasmSessionBench(arch: string, weights: string): Promise<unknown> {
  const dir = join(ROOT, '.cache', 'models', arch);
  if (!existsSync(join(dir, 'srpose.json'))) throw new Error(`${dir}: run npm run models`);
  const config = JSON.parse(readFileSync(join(dir, 'srpose.json'), 'utf8'));
  const file = weights === config.onnx.weights ? config.onnx.file : config.onnx.variants?.[weights]
    ?.file;
  if (!file) throw new Error(`${arch} has no ${weights} weights`);
  const tmp = await mkdtemp(join(tmpdir(), 'srpose-wasm-session-'));
  try {
    const src = join(dir, file);
    const files: Record<string, [string, string, Record<string, unknown>?]> = {
      exported: [src, 'all'],
      extended: [join(tmp, 'extended.onnx'), 'disabled'],
      batch1: [join(tmp, 'batch1.onnx'), 'all'],
      'batch1-extended': [join(tmp, 'batch1-extended.onnx'), 'disabled'],
    };
    const relu = join(tmp, 'relu.onnx');
    await run('/usr/bin/python3', ['-c', FIX_BATCH, src, files.batch1[0], relu]);
    await save(src, files.extended[0]);
    await save(files.batch1[0], files['batch1-extended'][0]);
    // the prepared graph before the ORT format: batch1-extended with the symbolic batch axis
    // given back, then session options on it: the axis fixed when the session is made, and
    // onnxruntime's memory pattern (one planned block for the activations) off
    const symbolic = join(tmp, 'symbolic.onnx');
    const io = [config.onnx.input, config.onnx.output];
    const b1 = new Uint8Array(readFileSync(files['batch1-extended'][0]));
    writeFileSync(symbolic, setBatchAxis(b1, io, 'batch').bytes);
    const batch = { freeDimensionOverrides: { batch: 1 } };
    const noPattern = { enableMemPattern: false };
    files['symbolic batch'] = [symbolic, 'disabled'];
    files['symbolic batch, fixed at load'] = [symbolic, 'disabled', batch];
    files['symbolic batch, memory pattern off'] = [symbolic, 'disabled', noPattern];
    files['symbolic batch, fixed at load, memory pattern off'] = [symbolic, 'disabled', {
      ...batch,
      ...noPattern,
    }];
    files['symbolic batch, ORT format'] = [join(tmp, 'symbolic.ort'), 'disabled'];
    await save(symbolic, files['symbolic batch, ORT format'][0], 'disabled');
    files['batch1-extended, ORT format'] = [join(tmp, 'batch1-extended.ort'), 'disabled'];
    await save(files['batch1-extended'][0], files['batch1-extended, ORT format'][0], 'disabled');
    // what `srpose prepare` wrote for this model (now batch1-extended in ORT format)
    const prepared = config.onnx.prepared?.files?.[weights]?.file;
    if (prepared) files.prepared = [join(dir, prepared), 'disabled'];
    const out: Record<string, unknown> = {};
    let reference: Float32Array | undefined;
    for (const [name, [path, level, extra]] of Object.entries(files)) {
      const args = [
        '--input-type=module',
        '-e',
        MEASURE,
        path,
        level,
        relu,
        JSON.stringify(extra ?? {}),
      ];
      const r = JSON.parse(await run('node', args));
      const b = Buffer.from(r.out, 'base64');
      const y = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
      reference ??= y;
      let diff = 0;
      for (let i = 0; i < y.length; i++) diff = Math.max(diff, Math.abs(y[i] - reference[i]));
      out[name] = {
        bytes: readFileSync(path).byteLength,
        wasmInitMs: round(r.wasmInit),
        sessionMs: round(r.session),
        firstRunMs: round(r.firstRun),
        steadyMs: round(r.steady),
        wasmMemoryMB: round(r.wasmMemory / 1e6),
        maxAbsDiffFromExported: diff,
      };
    }
    return { suite: 'wasm-session', arch, weights, threads: 1, results: out };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
