/**
 * Type checks of the options of `createEstimator` and of each `estimate` call, before any
 * work: a wrong type is `INVALID_OPTION` naming the option, the type it takes and what it got
 * (`flipTest must be a boolean, got string "yes"`), instead of a later `TypeError`, a silent
 * truthy string or a `NaN` limit. Each option is checked by one entry of a table typed by the
 * option interfaces, so an option added to `src/types.ts` without a check does not compile.
 * Enumerated options are checked against their one list (`oneOf`), the weights request by its
 * own parser; what only the model can tell (a decode method on a bottom-up model, weights the
 * model lacks, the contents of `{ onnx, config }`) and the boxes' contents are checked where
 * they are used. Keys not listed are ignored (one-shot `estimate()` passes both kinds at once).
 * @module
 */
import { oneOf, SRPoseError } from '../errors.ts';
import { checkBoxList } from '../core/boxes.ts';
import { HUB_CACHES, type HubOptions } from '../hub/settings.ts';
import { DECODE_METHODS } from '../model/config.ts';
import { parseWeightsRequest } from '../model/weights.ts';
import { BACKEND_REQUESTS } from '../runtime/pose-session.ts';
import type { DetectionSettings, EstimateOptions, EstimatorOptions } from '../types.ts';

/** Checks one present (not `undefined`) option value; throws `INVALID_OPTION`. */
type Check = (value: unknown, name: string) => void;

/** At most this many characters of a given value appear in a message. */
const SHOWN_CHARS = 40;

/** What was given, for a message: its type and its value cut short (never throws). */
function describeValue(v: unknown, secret = false): string {
  if (v === null) return 'null';
  const type = typeof v;
  if (secret) return `${type} (not shown)`;
  if (Array.isArray(v)) return `an array of ${v.length} items`;
  if (type === 'function' || type === 'symbol') return `a ${type}`;
  let text: string;
  if (type === 'string') text = JSON.stringify(v);
  else if (type === 'bigint') text = `${v}n`;
  else if (type === 'object') {
    const proto = Object.getPrototypeOf(v);
    const kind = proto?.constructor?.name;
    if (kind && kind !== 'Object') return `${/^[AEIOU]/.test(kind) ? 'an' : 'a'} ${kind}`;
    try {
      text = JSON.stringify(v);
    } catch {
      return 'an object';
    }
  } else text = String(v);
  if (text.length > SHOWN_CHARS) text = `${text.slice(0, SHOWN_CHARS - 3)}...`;
  return `${type} ${text}`;
}

function invalid(name: string, expected: string, v: unknown, secret = false): SRPoseError {
  return new SRPoseError(
    'INVALID_OPTION',
    `${name} must be ${expected}, got ${describeValue(v, secret)}`,
  );
}

/** An object literal's kind: `{}`, `Object.create(null)`, or either from another realm. */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === null || Object.getPrototypeOf(proto) === null;
}

const boolean: Check = (v, name) => {
  if (typeof v !== 'boolean') throw invalid(name, 'a boolean', v);
};
const string: Check = (v, name) => {
  if (typeof v !== 'string') throw invalid(name, 'a string', v);
};
const secretString: Check = (v, name) => {
  if (typeof v !== 'string') throw invalid(name, 'a string', v, true);
};
const func: Check = (v, name) => {
  if (typeof v !== 'function') throw invalid(name, 'a function', v);
};
const positiveInteger: Check = (v, name) => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw invalid(name, 'a positive integer', v);
  }
};
const positiveNumber: Check = (v, name) => {
  if (typeof v !== 'number' || !Number.isFinite(v) || !(v > 0)) {
    throw invalid(name, 'a finite number > 0', v);
  }
};
const choice = (list: readonly string[]): Check => (v, name) => void oneOf(v, list, name);
const wasmModule: Check = (v, name) => {
  if (!(v instanceof WebAssembly.Module)) throw invalid(name, 'a WebAssembly.Module', v);
};

/** Each option of {@link HubOptions}. */
const HUB_CHECKS: Record<keyof HubOptions, Check> = {
  hubUrl: string,
  accessToken: secretString, // a token never appears in a message, even a mistyped one
  revision: string,
  cacheDir: string,
  cache: choice(HUB_CACHES),
  offline: boolean,
  onProgress: func,
};

/**
 * Checks a detector's settings (`scoreThreshold`, `nmsThreshold` in [0, 1], `maxPeople` a
 * positive integer), named `prefix` + key in messages: createEstimator's `detector` option
 * (before any download) and createDetector check with this.
 */
export function checkDetectionSettings(v: DetectionSettings, prefix = ''): void {
  for (const k of ['scoreThreshold', 'nmsThreshold'] as const) {
    const x = v[k];
    if (x !== undefined && (typeof x !== 'number' || !(x >= 0 && x <= 1))) {
      throw invalid(`${prefix}${k}`, 'a number in [0, 1]', x);
    }
  }
  if (v.maxPeople !== undefined) positiveInteger(v.maxPeople, `${prefix}maxPeople`);
}

/** Each option of {@link EstimatorOptions}. */
const ESTIMATOR_CHECKS: Record<keyof EstimatorOptions, Check> = {
  ...HUB_CHECKS,
  model: (v, name) => {
    // the type only: what a string names, and { onnx, config }'s contents, loadModel checks
    if (typeof v !== 'string' && !(v instanceof URL) && !isPlainObject(v)) {
      throw invalid(name, 'a Hub id, a directory path, a URL or { onnx, config }', v);
    }
  },
  detector: (v, name) => {
    if (typeof v === 'string' || v instanceof URL) return;
    if (!isPlainObject(v)) {
      throw invalid(name, 'a Hub id, a directory path, a URL, { onnx, config } or { model }', v);
    }
    if (!('model' in v)) return; // { onnx, config }: loadModel checks it
    ESTIMATOR_CHECKS.model(v.model, `${name}.model`);
    checkDetectionSettings(v, `${name}.`);
    if (v.weights !== undefined) parseWeightsRequest(v.weights);
  },
  backend: choice(BACKEND_REQUESTS),
  threads: positiveInteger,
  flipTest: boolean,
  weights: (v) => void parseWeightsRequest(v),
  prepared: boolean,
  decode: choice(DECODE_METHODS),
  maxPixels: positiveNumber,
  maxBoxes: positiveInteger,
  maxBatch: positiveInteger,
  wasmPaths: (v, name) => {
    if (typeof v === 'string') return;
    if (!isPlainObject(v) || !Object.values(v).every((p) => typeof p === 'string')) {
      throw invalid(name, 'a string or an object of strings (file name -> URL)', v);
    }
  },
  wasmModules: (v, name) => {
    if (!isPlainObject(v)) throw invalid(name, 'an object { ort?, codecs? }', v);
    if (v.ort !== undefined) wasmModule(v.ort, `${name}.ort`);
    if (v.codecs === undefined) return;
    if (!isPlainObject(v.codecs)) {
      throw invalid(`${name}.codecs`, 'an object of WebAssembly.Modules by file', v.codecs);
    }
    for (const [file, m] of Object.entries(v.codecs)) {
      if (m !== undefined) wasmModule(m, `${name}.codecs['${file}']`);
    }
  },
};

/** Each option of one {@link EstimateOptions} call. */
const ESTIMATE_CHECKS: Record<keyof EstimateOptions, Check> = {
  // Only that it is a list; the boxes themselves are checked against the image (validateBoxes),
  // with the same INVALID_BOX as every other box problem.
  boxes: (v) => {
    if (!Array.isArray(v)) checkBoxList(v, Infinity);
  },
  flipTest: boolean,
  signal: (v, name) => {
    if (typeof AbortSignal !== 'undefined' && v instanceof AbortSignal) return;
    // another realm's or a polyfill's signal
    const s = v as { aborted?: unknown; addEventListener?: unknown } | null;
    if (typeof s?.aborted !== 'boolean' || typeof s.addEventListener !== 'function') {
      throw invalid(name, 'an AbortSignal', v);
    }
  },
};

function checkAll(o: Record<string, unknown>, checks: Record<string, Check>): void {
  for (const [name, check] of Object.entries(checks)) {
    const v = o[name];
    if (v !== undefined) check(v, name);
  }
}

/**
 * Checks the options of one `estimate` call: `undefined` or a plain object whose `boxes` (an
 * array; its boxes are checked against the image later), `flipTest` (a boolean) and `signal`
 * (an AbortSignal) are each absent or of their type. Other keys are ignored. Throws
 * `INVALID_OPTION` (`INVALID_BOX` when `boxes` is not an array, as for any bad box list).
 */
export function checkEstimateOptions(o: unknown): asserts o is EstimateOptions | undefined {
  if (o === undefined) return;
  if (!isPlainObject(o)) throw invalid('the estimate options', 'an object', o);
  checkAll(o, ESTIMATE_CHECKS);
}

/**
 * Checks the options of `createEstimator`: a plain object with `model`, and every other
 * option of {@link EstimatorOptions} and {@link HubOptions} absent or of its type: booleans,
 * strings and functions as typed, `threads`, `maxBoxes` and `maxBatch` positive integers,
 * `maxPixels` a finite number > 0, `backend`, `decode`, `weights` and `cache` one of their
 * values. Other keys are ignored. Throws `INVALID_OPTION`.
 */
export function checkEstimatorOptions(o: unknown): asserts o is EstimatorOptions {
  if (!isPlainObject(o)) throw invalid('createEstimator options', 'an object { model, ... }', o);
  if (o.model === undefined) {
    throw new SRPoseError('INVALID_OPTION', 'createEstimator needs { model }');
  }
  checkAll(o, ESTIMATOR_CHECKS);
}
