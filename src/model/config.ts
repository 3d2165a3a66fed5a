import { SRPoseError } from '../errors.ts';
import type { GroupingParams } from '../core/bottomup/types.ts';

/** Decode methods a model contract may name (see `src/core/decode/`). */
export const DECODE_METHODS = ['sr', 'default', 'dark'] as const;
export type DecodeMethod = (typeof DECODE_METHODS)[number];
/** The decode a result reports: a top-down {@link DecodeMethod}, or the bottom-up grouping. */
export const DECODE_NAMES = [...DECODE_METHODS, 'associative-embedding'] as const;

/** Fields every model contract has, whatever its kind. */
interface ModelConfigBase {
  format: 'srpose-model/1';
  name: string;
  arch: string;
  head: string;
  dataset: string;
  source: Record<string, unknown>;
  onnx: {
    file: string;
    sha256?: string;
    bytes?: number;
    input: string;
    output: string;
    /** Weight files beside the ONNX (`save_as_external_data`), named as the graph names them. */
    externalData?: ExternalDataFile[];
    /** How `file` stores its weights (always `fp32` from the exporter). */
    weights: WeightsKind;
    /** The same graph with smaller weight files (`model_fp16.onnx`, `model_int8.onnx`), by kind. */
    variants: Partial<Record<WeightsKind, ExternalDataFile>>;
    /** The weights to load where no rule picks another (see `src/model/weights.ts`). */
    recommended: WeightsKind;
    /** The same graphs prepared ahead of time for onnxruntime's WASM backend (`srpose prepare`). */
    prepared?: PreparedGraphs;
  };
  keypoints: string[];
  skeleton: [number, number][];
  flipPairs: [number, number][];
}

/**
 * The contract of a top-down model (one person per box crop), `srpose.json`, written by
 * `models/export.py` next to `model.onnx`. See docs/models.md ("The model contract") for every
 * field.
 */
export interface TopDownModelConfig extends ModelConfigBase {
  kind: 'top-down';
  input: { width: number; height: number; colorOrder: 'RGB'; mean: number[]; std: number[] };
  heatmap: { width: number; height: number };
  bbox: { padding: number; pixelStd: number };
  flipTest: { enabled: boolean; shiftHeatmap: boolean };
  decode: { method: DecodeMethod; poolKernel?: number; modulateKernel?: number };
}

/**
 * The contract of a bottom-up model (the whole image in, every person out, grouped by
 * associative-embedding tags). The ONNX output is `[N, 2K, H, W]`: K heatmaps then K tag
 * maps, both at the input's resolution.
 */
export interface BottomUpModelConfig extends ModelConfigBase {
  kind: 'bottom-up';
  /** `size`: the short side fed to the network; both sides are multiples of `multipleOf`. */
  input: { size: number; multipleOf: number; colorOrder: 'RGB'; mean: number[]; std: number[] };
  flipTest: { enabled: boolean };
  /** The official `test_cfg` of the grouping (see `src/core/bottomup/`). */
  grouping: GroupingParams & { tagPerJoint: true };
  /**
   * `project2image`: the maps are at the input's resolution, as SRPose's SR head outputs them.
   * The only layout supported: `false` (maps at a lower resolution, resized by the grouping)
   * is refused when the contract is read.
   */
  projectToImage: true;
}

/** An `srpose.json` of either kind; `kind` tells which. */
export type ModelConfig = TopDownModelConfig | BottomUpModelConfig;

/**
 * Graphs prepared ahead of time (`srpose prepare`) so that a WASM session starts fast: the batch
 * axis fixed to `batch` and the graph saved by onnxruntime at `level`, to be loaded with
 * optimisation off by an onnxruntime-web of the same major.minor `version` (the saved graph
 * names that version's fused kernels). One file per weights kind.
 */
export interface PreparedGraphs {
  runtime: 'onnxruntime';
  version: string;
  level: 'extended';
  batch: 1;
  files: Partial<Record<WeightsKind, ExternalDataFile>>;
}

/**
 * Which graph a session runs: the one exported (`onnx.file` or a weights variant), or the same
 * weights' graph prepared for WASM (`onnx.prepared`).
 */
export const GRAPHS = ['exported', 'prepared'] as const;
export type Graph = (typeof GRAPHS)[number];

/** One external-data file of the ONNX graph. */
export interface ExternalDataFile {
  file: string;
  sha256?: string;
  bytes?: number;
}

/**
 * How a model file stores its weights: `fp32`; `fp16` (stored as float16, cast to float32 in
 * the graph); `int8` (weight-only, per output channel, symmetric, dequantized in the graph).
 */
export const WEIGHTS_KINDS = ['fp32', 'fp16', 'int8'] as const;
export type WeightsKind = (typeof WEIGHTS_KINDS)[number];

/**
 * Checks an `srpose.json` value field by field and returns it typed; every problem is an
 * `SRPoseError('MODEL_INVALID')` naming the field, so a bad upload fails before any session.
 */
export function parseModelConfig(value: unknown, where = 'srpose.json'): ModelConfig {
  const fail = (msg: string): never => {
    throw new SRPoseError('MODEL_INVALID', `${where}: ${msg}`);
  };
  const obj = (v: unknown, path: string): Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? v as Record<string, unknown>
      : fail(`${path} must be an object`);
  const int = (v: unknown, path: string, min: number, max: number): number =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max
      ? v as number
      : fail(`${path} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  const num = (v: unknown, path: string, min: number, max: number): number =>
    typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max
      ? v
      : fail(`${path} must be a number in [${min}, ${max}], got ${JSON.stringify(v)}`);
  const str = (v: unknown, path: string): string =>
    typeof v === 'string' && v.length > 0 ? v : fail(`${path} must be a non-empty string`);
  const arr = (v: unknown, path: string): unknown[] =>
    Array.isArray(v) ? v : fail(`${path} must be an array`);
  const weightsKind = (v: unknown, path: string): WeightsKind =>
    (WEIGHTS_KINDS as readonly unknown[]).includes(v)
      ? v as WeightsKind
      : fail(`${path} must be one of ${WEIGHTS_KINDS.join(', ')}, got ${JSON.stringify(v)}`);
  // Files are fetched beside srpose.json, so a path may not climb out of the model's folder.
  const relFile = (v: unknown, path: string): string => {
    const file = str(v, path);
    if (file.startsWith('/') || file.split(/[\\/]/).includes('..')) {
      fail(`${path} must be a relative path inside the model folder`);
    }
    return file;
  };
  const fileSpec = (v: unknown, path: string): ExternalDataFile => {
    const e = obj(v, path);
    return {
      file: relFile(e.file, `${path}.file`),
      sha256: e.sha256 === undefined || e.sha256 === null
        ? undefined
        : str(e.sha256, `${path}.sha256`),
      bytes: e.bytes === undefined
        ? undefined
        : int(e.bytes, `${path}.bytes`, 0, Number.MAX_SAFE_INTEGER),
    };
  };

  const c = obj(value, 'the config');
  if (c.format !== 'srpose-model/1') {
    fail(`format must be "srpose-model/1", got ${JSON.stringify(c.format)}`);
  }
  if (c.kind !== 'top-down' && c.kind !== 'bottom-up') {
    fail(`kind must be "top-down" or "bottom-up", got ${JSON.stringify(c.kind)}`);
  }
  const onnx = obj(c.onnx, 'onnx');
  const input = obj(c.input, 'input');
  const flipTest = obj(c.flipTest, 'flipTest');
  const keypoints = arr(c.keypoints, 'keypoints').map((v, i) => str(v, `keypoints[${i}]`));
  const k = keypoints.length;
  if (k < 1 || k > 1000) fail(`keypoints must list 1..1000 names, got ${k}`);
  const pair = (v: unknown, path: string): [number, number] => {
    const p = arr(v, path);
    if (p.length !== 2) fail(`${path} must be a pair`);
    return [int(p[0], `${path}[0]`, 0, k - 1), int(p[1], `${path}[1]`, 0, k - 1)];
  };
  const vec3 = (v: unknown, path: string, min: number): number[] => {
    const a = arr(v, path);
    if (a.length !== 3) fail(`${path} must have 3 values`);
    return a.map((x, i) => num(x, `${path}[${i}]`, min, 1e6));
  };
  const bool = (v: unknown, path: string): boolean =>
    typeof v === 'boolean' ? v : fail(`${path} must be true or false, got ${JSON.stringify(v)}`);
  if (input.colorOrder !== 'RGB') fail(`input.colorOrder must be "RGB"`);

  const base: ModelConfigBase = {
    format: 'srpose-model/1',
    name: str(c.name, 'name'),
    arch: str(c.arch, 'arch'),
    head: str(c.head, 'head'),
    dataset: str(c.dataset, 'dataset'),
    source: c.source === undefined ? {} : obj(c.source, 'source'),
    onnx: {
      file: str(onnx.file, 'onnx.file'),
      sha256: onnx.sha256 === undefined || onnx.sha256 === null
        ? undefined
        : str(onnx.sha256, 'onnx.sha256'),
      bytes: onnx.bytes === undefined
        ? undefined
        : int(onnx.bytes, 'onnx.bytes', 1, Number.MAX_SAFE_INTEGER),
      input: str(onnx.input, 'onnx.input'),
      output: str(onnx.output, 'onnx.output'),
      ...(onnx.externalData === undefined ? {} : {
        externalData: arr(onnx.externalData, 'onnx.externalData').map((v, i) =>
          fileSpec(v, `onnx.externalData[${i}]`)
        ),
      }),
      ...weightVariants(onnx),
      ...(onnx.prepared === undefined ? {} : { prepared: preparedGraphs(onnx.prepared) }),
    },
    keypoints,
    skeleton: arr(c.skeleton ?? [], 'skeleton').map((v, i) => pair(v, `skeleton[${i}]`)),
    flipPairs: arr(c.flipPairs, 'flipPairs').map((v, i) => pair(v, `flipPairs[${i}]`)),
  };
  function weightVariants(
    o: Record<string, unknown>,
  ): Pick<ModelConfigBase['onnx'], 'weights' | 'variants' | 'recommended'> {
    const weights = o.weights === undefined ? 'fp32' : weightsKind(o.weights, 'onnx.weights');
    const variants: Partial<Record<WeightsKind, ExternalDataFile>> = {};
    if (o.variants !== undefined) {
      for (const [kind, spec] of Object.entries(obj(o.variants, 'onnx.variants'))) {
        const k = weightsKind(kind, `a key of onnx.variants`);
        if (k === weights) fail(`onnx.variants.${k} repeats onnx.weights (${weights}: onnx.file)`);
        variants[k] = fileSpec(spec, `onnx.variants.${k}`);
      }
      if (Object.keys(variants).length > 0 && o.externalData !== undefined) {
        fail('onnx.variants cannot be combined with onnx.externalData');
      }
    }
    const recommended = o.recommended === undefined
      ? weights
      : weightsKind(o.recommended, 'onnx.recommended');
    if (recommended !== weights && !variants[recommended]) {
      fail(
        `onnx.recommended is ${recommended}, which neither onnx.weights nor onnx.variants provides`,
      );
    }
    return { weights, variants, recommended };
  }
  function preparedGraphs(v: unknown): PreparedGraphs {
    const p = obj(v, 'onnx.prepared');
    if (p.runtime !== 'onnxruntime') fail('onnx.prepared.runtime must be "onnxruntime"');
    if (p.level !== 'extended') fail('onnx.prepared.level must be "extended"');
    if (p.batch !== 1) fail('onnx.prepared.batch must be 1');
    const version = str(p.version, 'onnx.prepared.version');
    if (!/^\d+\.\d+\.\d+/.test(version)) fail('onnx.prepared.version must be x.y.z');
    const files: Partial<Record<WeightsKind, ExternalDataFile>> = {};
    const offered = [onnx.weights ?? 'fp32', ...Object.keys(onnx.variants ?? {})];
    for (const [kind, spec] of Object.entries(obj(p.files, 'onnx.prepared.files'))) {
      if (!offered.includes(kind)) fail(`onnx.prepared.files.${kind}: the model has no ${kind}`);
      files[weightsKind(kind, 'a key of onnx.prepared.files')] = fileSpec(
        spec,
        `onnx.prepared.files.${kind}`,
      );
    }
    return { runtime: 'onnxruntime', version, level: 'extended', batch: 1, files };
  }
  const mean = vec3(input.mean, 'input.mean', -1e6);
  const std = vec3(input.std, 'input.std', 1e-12);

  if (c.kind === 'bottom-up') {
    const g = obj(c.grouping, 'grouping');
    const nmsKernel = int(g.nmsKernel, 'grouping.nmsKernel', 1, 99);
    const nmsPadding = int(g.nmsPadding, 'grouping.nmsPadding', 0, 49);
    // max_pool2d(kernel, stride 1, padding) keeps the map's size only then (else torch.eq fails).
    if (nmsKernel !== 2 * nmsPadding + 1) {
      fail(`grouping.nmsKernel (${nmsKernel}) must be 2 * grouping.nmsPadding + 1`);
    }
    if (g.tagPerJoint !== true) {
      fail(
        'grouping.tagPerJoint must be true (one tag map per joint; ' +
          'shared tag maps are not supported)',
      );
    }
    if (c.projectToImage !== undefined && c.projectToImage !== true) {
      fail(
        `projectToImage must be true (maps at the input's resolution, as the SR head outputs ` +
          `them; lower-resolution maps are not supported), got ${JSON.stringify(c.projectToImage)}`,
      );
    }
    const size = int(input.size, 'input.size', 32, 4096);
    const multipleOf = int(input.multipleOf, 'input.multipleOf', 1, 1024);
    return {
      ...base,
      kind: 'bottom-up',
      input: { size, multipleOf, colorOrder: 'RGB', mean, std },
      flipTest: { enabled: bool(flipTest.enabled, 'flipTest.enabled') },
      grouping: {
        maxPeople: int(g.maxPeople, 'grouping.maxPeople', 1, 1000),
        nmsKernel,
        nmsPadding,
        detectionThreshold: num(g.detectionThreshold, 'grouping.detectionThreshold', 0, 1e6),
        tagThreshold: num(g.tagThreshold, 'grouping.tagThreshold', 0, 1e6),
        useDetectionVal: bool(g.useDetectionVal, 'grouping.useDetectionVal'),
        ignoreTooMuch: bool(g.ignoreTooMuch, 'grouping.ignoreTooMuch'),
        adjust: bool(g.adjust, 'grouping.adjust'),
        refine: bool(g.refine, 'grouping.refine'),
        tagPerJoint: true,
      },
      projectToImage: true,
    };
  }

  const heatmap = obj(c.heatmap, 'heatmap');
  const bbox = obj(c.bbox, 'bbox');
  const decode = obj(c.decode, 'decode');
  const method = decode.method as DecodeMethod;
  if (!(DECODE_METHODS as readonly unknown[]).includes(method)) {
    fail(
      `decode.method must be one of ${DECODE_METHODS.join(', ')}, got ${
        JSON.stringify(decode.method)
      }`,
    );
  }
  const inW = int(input.width, 'input.width', 8, 4096);
  const inH = int(input.height, 'input.height', 8, 4096);
  const hmW = int(heatmap.width, 'heatmap.width', 1, 4096);
  const hmH = int(heatmap.height, 'heatmap.height', 1, 4096);
  if (hmW > inW || hmH > inH) fail(`heatmap ${hmW}x${hmH} is larger than the input ${inW}x${inH}`);
  const poolKernel = decode.poolKernel === undefined
    ? undefined
    : int(decode.poolKernel, 'decode.poolKernel', 1, 256);
  if (method === 'sr' && poolKernel !== undefined && (hmW < poolKernel || hmH < poolKernel)) {
    fail(`decode.poolKernel ${poolKernel} does not fit the ${hmW}x${hmH} heatmap`);
  }
  const modulateKernel = decode.modulateKernel === undefined
    ? undefined
    : int(decode.modulateKernel, 'decode.modulateKernel', 1, 99);
  if (modulateKernel !== undefined && modulateKernel % 2 !== 1) {
    fail('decode.modulateKernel must be odd');
  }

  return {
    ...base,
    kind: 'top-down',
    input: {
      width: inW,
      height: inH,
      colorOrder: 'RGB',
      mean,
      std,
    },
    heatmap: { width: hmW, height: hmH },
    bbox: {
      padding: num(bbox.padding, 'bbox.padding', 0.1, 100),
      pixelStd: num(bbox.pixelStd, 'bbox.pixelStd', 1e-6, 1e6),
    },
    flipTest: {
      enabled: flipTest.enabled === true,
      shiftHeatmap: flipTest.shiftHeatmap === true,
    },
    decode: { method, poolKernel, modulateKernel },
  };
}
