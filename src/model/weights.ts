/**
 * Which weight file of a model to load. A contract may offer the same graph with fp32, fp16
 * and int8 weights (`onnx.weights`, `onnx.variants`, `onnx.recommended`); the choice is made
 * before anything large is downloaded, from what the backend will be:
 *
 * - a kind the user forces is used, or refused when the model lacks it;
 * - WebGPU on an adapter with `shader-f16` takes fp16 when the model has it;
 * - otherwise the contract's `recommended` kind.
 * @module
 */
import { oneOf, SRPoseError } from '../errors.ts';
import {
  type ExternalDataFile,
  type OnnxSection,
  WEIGHTS_KINDS,
  type WeightsKind,
} from './config.ts';

/** What the weights choice reads of a contract (a pose model's or a detector's). */
export type Contract = { name: string; onnx: OnnxSection };

/** What the user asks for: a weights kind, or `auto` (the rules above). */
/** What a caller may ask for: a kind, or `auto` (the rules of {@link chooseWeights}). */
export const WEIGHTS_REQUESTS = ['auto', ...WEIGHTS_KINDS] as const;
export type WeightsRequest = (typeof WEIGHTS_REQUESTS)[number];

/** What the weights choice knows of the backend to come. */
export interface BackendPlan {
  /**
   * The backend the session will most likely use (`native` when onnxruntime-node loads,
   * `webgpu` only when an adapter is usable).
   */
  backend: string;
  /** The WebGPU adapter offers the `shader-f16` feature. */
  shaderF16: boolean;
  /** The onnxruntime-web version that would run a WASM session (for prepared graphs). */
  wasmVersion?: string;
  /** Whether a prepared graph may be used (the estimator's `prepared` option). */
  prepared?: boolean;
}

/** The chosen file and why it was chosen. */
export interface WeightsChoice {
  weights: WeightsKind;
  spec: ExternalDataFile;
  reason: string;
  /** Set when `spec` is a prepared graph: its fixed batch size (the session runs crops so). */
  fixedBatch?: number;
}

/** The weight kinds a contract offers, `onnx.file`'s first. */
export function availableWeights(config: Contract): WeightsKind[] {
  return [config.onnx.weights, ...(Object.keys(config.onnx.variants) as WeightsKind[])];
}

/** The file holding `kind` weights, if the contract has one. */
export function weightsFile(config: Contract, kind: WeightsKind): ExternalDataFile | undefined {
  if (kind === config.onnx.weights) {
    return { file: config.onnx.file, sha256: config.onnx.sha256, bytes: config.onnx.bytes };
  }
  return config.onnx.variants[kind];
}

/** Checks a user's weights option. */
export function parseWeightsRequest(v: unknown): WeightsRequest {
  return v === undefined ? 'auto' : oneOf(v, WEIGHTS_REQUESTS, 'weights');
}

/**
 * Picks the weight file to load for `request` on the planned backend, among the kinds
 * `offered` (default: all the contract lists).
 */
export function chooseWeights(
  config: Contract,
  request: WeightsRequest,
  plan: BackendPlan,
  offered: readonly WeightsKind[] = availableWeights(config),
): WeightsChoice {
  const pick = (kind: WeightsKind, reason: string): WeightsChoice =>
    preparedGraph(config, { weights: kind, spec: weightsFile(config, kind)!, reason }, plan);
  if (request !== 'auto') {
    if (!offered.includes(request)) {
      throw new SRPoseError(
        'INVALID_OPTION',
        `model ${config.name} has no ${request} weights (it has ${
          offered.join(', ') || 'none'
        }); export them with models/export.py --weights ${request}`,
      );
    }
    return pick(request, 'asked for');
  }
  if (plan.backend === 'webgpu' && plan.shaderF16 && offered.includes('fp16')) {
    return pick('fp16', 'WebGPU adapter with shader-f16');
  }
  const kind = config.onnx.recommended;
  if (offered.includes(kind)) {
    return pick(kind, offered.length === 1 ? 'the only weights' : 'recommended by srpose.json');
  }
  return pick(
    offered.includes(config.onnx.weights) ? config.onnx.weights : offered[0],
    `the weights given (srpose.json recommends ${kind})`,
  );
}

/**
 * The prepared graph of the chosen weights (`onnx.prepared`) in place of the exported one,
 * where the session will be WASM on an onnxruntime-web of the version that prepared it (same
 * major.minor) and the caller allows it; otherwise the choice as it is.
 */
export function preparedGraph(
  config: Contract,
  choice: WeightsChoice,
  plan: BackendPlan,
): WeightsChoice {
  const p = config.onnx.prepared;
  const spec = p?.files[choice.weights];
  if (!p || !spec || plan.backend !== 'wasm' || plan.prepared === false) return choice;
  const minor = (v: string) => v.split('.').slice(0, 2).join('.');
  if (plan.wasmVersion === undefined || minor(plan.wasmVersion) !== minor(p.version)) {
    return {
      ...choice,
      reason: `${choice.reason}; its prepared graph is for onnxruntime ${p.version}, ` +
        `not ${plan.wasmVersion ?? 'this runtime'}`,
    };
  }
  return {
    weights: choice.weights,
    spec,
    reason: `${choice.reason}; graph prepared for onnxruntime ${
      minor(p.version)
    } (batch ${p.batch})`,
    fixedBatch: p.batch,
  };
}
