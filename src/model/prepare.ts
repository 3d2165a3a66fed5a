/**
 * `srpose prepare`: graphs prepared ahead of time for the WASM backend, where session creation
 * is most of a cold start (an edge isolate, a browser tab). For each weights kind the exported
 * graph gets its batch axis fixed to 1 (onnxruntime can then fold the shape arithmetic of that
 * axis) and onnxruntime-node saves it at the `extended` level (fusions: GELU, LayerNorm,
 * Conv + activation) in onnxruntime's own format (ORT: a flatbuffer that onnxruntime-web reads
 * without parsing a protobuf), which onnxruntime-web then loads with optimisation off. The batch
 * axis stays static: the estimator runs one crop at a time through it. (As ONNX, a static graph
 * took too much WASM memory for an edge isolate; in ORT format it fits and its session starts
 * sooner than a symbolic one's: docs/models.md "Prepared graphs".) The files and the
 * onnxruntime version go in `srpose.json` (`onnx.prepared`); `npm run bench -- wasm-session`
 * measures each step. fp16 weights are not prepared (see below).
 * @module
 */
import { SRPoseError } from '../errors.ts';
import { joinPath, readLocalFile, writeLocalFile } from '../platform/files.ts';
import { digestHex } from '../platform/digest.ts';
import { nodeBuiltin } from '../platform/env.ts';
import { loadNative } from '../runtime/native.ts';
import { setBatchAxis } from '../runtime/onnx-proto.ts';
import { type ExternalDataFile, parseContract, type PreparedGraphs } from './config.ts';
import { availableWeights, weightsFile } from './weights.ts';
import { verifyFile } from './source.ts';

/** The prepared file of a weights file: `model_int8.onnx` -> `model_int8.prepared.ort`. */
export function preparedName(file: string): string {
  return file.replace(/(\.onnx)?$/i, '.prepared.ort');
}

/**
 * Prepares every weights kind of the exported model in `dir` and records them in its
 * `srpose.json`; returns what was recorded. Needs onnxruntime-node (Node, or Deno with FFI).
 */
export async function prepareModel(
  dir: string,
  options: { nativeModule?: string } = {},
): Promise<PreparedGraphs> {
  const cfgPath = joinPath(dir, 'srpose.json');
  const where = `model ${dir}`;
  const raw = JSON.parse(new TextDecoder().decode(await readLocalFile(cfgPath, where)));
  const config = parseContract(raw, cfgPath);
  if (config.onnx.externalData?.length) {
    throw new SRPoseError(
      'INVALID_OPTION',
      `${where}: its weights are in external-data files; prepared graphs are made for ` +
        'single-file models (export without --external-data)',
    );
  }
  const native = await loadNative(options.nativeModule);
  if (typeof native === 'string') {
    throw new SRPoseError(
      'BACKEND_UNAVAILABLE',
      `srpose prepare needs onnxruntime-node: ${native}`,
    );
  }
  const fs = await nodeBuiltin<typeof import('node:fs/promises')>('fs/promises');
  const files: Partial<Record<string, ExternalDataFile>> = {};
  // fp16 is left out: preparing folds its cast to float32, an fp32-sized file (fp16 is for
  // WebGPU, which does not load prepared graphs)
  for (const kind of availableWeights(config).filter((k) => k !== 'fp16')) {
    const spec = weightsFile(config, kind)!;
    const bytes = await readLocalFile(joinPath(dir, spec.file), where);
    await verifyFile(spec, bytes, where);
    const file = preparedName(spec.file);
    const out = joinPath(dir, file);
    // onnxruntime writes its own format to a path ending in .ort
    const tmp = out.replace(/\.ort$/, '.incomplete.ort');
    const io = [config.onnx.input, config.onnx.output];
    try {
      const session = await native.InferenceSession.create(setBatchAxis(bytes, io, 1).bytes, {
        executionProviders: ['cpu'],
        // `extended`, not `all`: `all` adds layouts for this CPU (NCHWc) that WASM lacks
        graphOptimizationLevel: 'extended',
        optimizedModelFilePath: tmp,
        logSeverityLevel: 3,
      });
      await session.release();
      await fs.rename(tmp, out);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw new SRPoseError(
        'MODEL_INVALID',
        `${where}: onnxruntime-node could not prepare ${spec.file}: ${(e as Error).message}`,
        { cause: e },
      );
    }
    const made = await readLocalFile(out, where);
    files[kind] = { file, sha256: await digestHex('SHA-256', made), bytes: made.byteLength };
  }
  const prepared = {
    runtime: 'onnxruntime',
    version: native.version,
    level: 'extended',
    batch: 1,
    files,
  } as PreparedGraphs;
  // files an earlier preparation recorded under other names (an older format) go with it
  const stale = Object.values(config.onnx.prepared?.files ?? {})
    .map((f) => f!.file)
    .filter((f) => !Object.values(files).some((n) => n!.file === f));
  raw.onnx.prepared = prepared;
  // checked as any reader will read it, before it replaces the contract
  parseContract(raw, cfgPath);
  await writeLocalFile(cfgPath, new TextEncoder().encode(JSON.stringify(raw, null, 2) + '\n'));
  for (const f of stale) await fs.rm(joinPath(dir, f), { force: true });
  return prepared;
}
