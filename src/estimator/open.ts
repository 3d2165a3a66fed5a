/**
 * Loading a model and opening its session, the same way for pose models and person
 * detectors: the weights (and graph) chosen before the download from the backend to come,
 * the files fetched and checked, the session created, and the time each step took.
 * @module
 */
import { discard } from '../core/buffer-pool.ts';
import type { Contract } from '../model/weights.ts';
import { type BackendPlan, chooseWeights, parseWeightsRequest } from '../model/weights.ts';
import {
  type ChooseWeights,
  type LoadedModel,
  loadModel,
  type ModelSource,
  type ParseContract,
} from '../model/source.ts';
import { createPoseSession, planBackend } from '../runtime/session.ts';
import type { PoseSession } from '../runtime/pose-session.ts';
import type { EstimatorOptions } from '../types.ts';
import type { HubOptions } from '../hub/settings.ts';

/**
 * What opening a model reads of the caller's options: the estimator's own (their public types
 * name no onnxruntime or WebAssembly global, see src/types.ts).
 */
export type OpenOptions =
  & HubOptions
  & Pick<EstimatorOptions, 'backend' | 'threads' | 'weights' | 'prepared' | 'wasmPaths'>
  & { wasmModules?: Pick<NonNullable<EstimatorOptions['wasmModules']>, 'ort'> };

/** A model with its session and load times (ms: files, hashing, session creation). */
export interface OpenedModel<C extends Contract> {
  model: LoadedModel<C>;
  session: PoseSession;
  load: { fetch: number; hash: number; session: number };
}

const now = () => performance.now();

/** Loads `source` (its contract checked by `parse`) and opens its session. */
export async function openModel<C extends Contract>(
  source: ModelSource,
  options: OpenOptions,
  parse: ParseContract<C>,
): Promise<OpenedModel<C>> {
  const weights = parseWeightsRequest(options.weights);
  const backend = options.backend ?? 'auto';
  // WebGPU's adapter is asked only when it could change the choice (fp16 on shader-f16, or a
  // graph prepared for WASM).
  const choose: ChooseWeights<C> = async (config, offered) => {
    const probeGpu = (weights === 'auto' && offered.includes('fp16')) ||
      (config.onnx.prepared !== undefined && options.prepared !== false);
    const plan: BackendPlan = {
      ...await planBackend(backend, probeGpu),
      prepared: options.prepared,
    };
    return chooseWeights(config, weights, plan, offered);
  };
  const stats = { hashMs: 0 };
  const t0 = now();
  const model = await loadModel(source, options, stats, choose, parse);
  const t1 = now();
  const session = await createPoseSession(model.onnx, model.config.onnx, {
    backend: options.backend,
    threads: options.threads,
    wasmPaths: options.wasmPaths,
    externalData: model.externalData,
    wasmModule: options.wasmModules?.ort,
    nativeCache: model.derivedCache,
    fixedBatch: model.fixedBatch,
  });
  // The session holds its own copy: the bytes read here (tens of MB) are freed now, not when
  // the GC next runs (an isolate's 128 MB budget).
  if (model.readHere) {
    for (const b of [model.onnx, ...model.externalData.map((e) => e.data)]) {
      if (b instanceof Uint8Array) discard(b); // deferred bytes: read by the session, if at all
    }
  }
  return {
    model,
    session,
    load: { fetch: t1 - t0 - stats.hashMs, hash: stats.hashMs, session: now() - t1 },
  };
}
