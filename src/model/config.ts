import { SRPoseError } from '../errors.ts';
import type { GroupingParams } from '../core/bottomup/types.ts';

/** Decode methods a model contract may name (see `src/core/decode/`). */
export const DECODE_METHODS = ['sr', 'default', 'dark'] as const;
export type DecodeMethod = (typeof DECODE_METHODS)[number];
/** The decode a result reports: a top-down {@link DecodeMethod}, or the bottom-up grouping. */
export const DECODE_NAMES = [...DECODE_METHODS, 'associative-embedding'] as const;

/**
 * The `onnx` section of a contract (pose model or detector): the graph file, its external data,
 * weight variants and prepared graphs, and the tensor names.
 */
export interface OnnxSection {
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
}

/** Fields every model contract has, whatever its kind. */
interface ModelConfigBase {
  format: 'srpose-model/1';
  name: string;
  arch: string;
  head: string;
  dataset: string;
  source: Record<string, unknown>;
  onnx: OnnxSection;
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

/** The contract format of person detectors. */
export const DETECTOR_FORMAT = 'srpose-detector/1';

/**
 * What a detector graph outputs: `yolox-decoded` `[1, A, 5 + classes]` with boxes decoded in
 * the graph (models/export_yolox.py, or the official `tools/export_onnx.py
 * --decode_in_inference`); `yolox-raw`, the same before the grid decode (the official
 * `export_onnx.py` default); `mmdeploy-end2end`, `dets [1, N, 5]` (x1, y1, x2, y2, score) and
 * `labels [1, N]` after NMS in the graph (mmdeploy, as rtmlib uses it).
 */
export const DETECTOR_OUTPUTS = ['yolox-decoded', 'yolox-raw', 'mmdeploy-end2end'] as const;
export type DetectorOutput = (typeof DETECTOR_OUTPUTS)[number];

/**
 * A person detector's contract, `srpose.json` with `format: "srpose-detector/1"` (see
 * docs/detector.md for every field): the YOLOX family.
 */
export interface DetectorConfig {
  format: typeof DETECTOR_FORMAT;
  kind: 'detector';
  family: 'yolox';
  name: string;
  arch: string;
  source: Record<string, unknown>;
  /** `labels`: the labels output of `mmdeploy-end2end` graphs (`output` is then `dets`). */
  onnx: OnnxSection & { outputFormat: DetectorOutput; labels?: string };
  /**
   * The letterbox input: `width` x `height`, pad value, channel order, and the normalisation
   * `(pixel * pixelScale - mean) / std` (`legacy`: the RGB, /255, ImageNet mean/std of YOLOX
   * checkpoints older than 0.1.1rc0).
   */
  input: {
    width: number;
    height: number;
    colorOrder: 'BGR' | 'RGB';
    pixelScale: number;
    mean: number[];
    std: number[];
    padValue: 114;
    legacy: boolean;
  };
  classes: { count: number; person: number };
  /** The official `postprocess` settings: the exp's `test_conf` and `nmsthre`. */
  decode: { strides: number[]; scoreThreshold: number; nmsThreshold: number; classAware: boolean };
}

/** YOLOX's input since 0.1.1rc0: BGR pixels as they are. */
export const YOLOX_INPUT = Object.freeze({
  colorOrder: 'BGR',
  pixelScale: 1,
  mean: [0, 0, 0],
  std: [1, 1, 1],
});
/** YOLOX's input before 0.1.1rc0 (`--legacy`): RGB, / 255, ImageNet mean and std. */
export const LEGACY_YOLOX_INPUT = Object.freeze({
  colorOrder: 'RGB',
  pixelScale: 1 / 255,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
});

/** An `srpose.json` of either kind; `kind` tells which. */
export type ModelConfig = TopDownModelConfig | BottomUpModelConfig;

/**
 * Graphs prepared ahead of time (`srpose prepare`) so that a WASM session starts fast: the batch
 * axis fixed to `batch` and the graph saved by onnxruntime at `level` (in its ORT format;
 * earlier preparations wrote ONNX files, which load the same way), to be loaded with
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
  const c = parseContract(value, where);
  if (c.kind === 'detector') {
    throw new SRPoseError(
      'MODEL_INVALID',
      `${where}: a person detector's contract (${DETECTOR_FORMAT}), not a pose model's: ` +
        'pass it as the detector',
    );
  }
  return c;
}

/**
 * Checks a person detector's `srpose.json` (`srpose-detector/1`, written by
 * `models/export_yolox.py`) as {@link parseModelConfig} checks a pose model's.
 */
export function parseDetectorConfig(value: unknown, where = 'srpose.json'): DetectorConfig {
  const c = parseContract(value, where);
  if (c.kind !== 'detector') {
    throw new SRPoseError(
      'MODEL_INVALID',
      `${where}: a ${c.kind} pose model's contract, not a person detector's (${DETECTOR_FORMAT})`,
    );
  }
  return c;
}

/** Checks a contract of either family (a pose model's or a person detector's). */
export function parseContract(value: unknown, where = 'srpose.json'): ModelConfig | DetectorConfig {
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

  const vec3 = (v: unknown, path: string, min: number): number[] => {
    const a = arr(v, path);
    if (a.length !== 3) fail(`${path} must have 3 values`);
    return a.map((x, i) => num(x, `${path}[${i}]`, min, 1e6));
  };
  const bool = (v: unknown, path: string): boolean =>
    typeof v === 'boolean' ? v : fail(`${path} must be true or false, got ${JSON.stringify(v)}`);

  const c = obj(value, 'the config');
  if (c.format === DETECTOR_FORMAT) return parseDetector(c, onnxSection(obj(c.onnx, 'onnx')));
  if (c.format !== 'srpose-model/1') {
    fail(
      `format must be "srpose-model/1" or "${DETECTOR_FORMAT}", got ${JSON.stringify(c.format)}`,
    );
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
  if (input.colorOrder !== 'RGB') fail(`input.colorOrder must be "RGB"`);

  const base: ModelConfigBase = {
    format: 'srpose-model/1',
    name: str(c.name, 'name'),
    arch: str(c.arch, 'arch'),
    head: str(c.head, 'head'),
    dataset: str(c.dataset, 'dataset'),
    source: c.source === undefined ? {} : obj(c.source, 'source'),
    onnx: onnxSection(onnx),
    keypoints,
    skeleton: arr(c.skeleton ?? [], 'skeleton').map((v, i) => pair(v, `skeleton[${i}]`)),
    flipPairs: arr(c.flipPairs, 'flipPairs').map((v, i) => pair(v, `flipPairs[${i}]`)),
  };
  function parseDetector(c: Record<string, unknown>, onnx: OnnxSection): DetectorConfig {
    if (c.kind !== 'detector') fail(`kind must be "detector", got ${JSON.stringify(c.kind)}`);
    if (c.family !== 'yolox') fail(`family must be "yolox", got ${JSON.stringify(c.family)}`);
    const o = obj(c.onnx, 'onnx');
    const outputFormat = (DETECTOR_OUTPUTS as readonly unknown[]).includes(o.outputFormat)
      ? o.outputFormat as DetectorOutput
      : fail(
        `onnx.outputFormat must be one of ${DETECTOR_OUTPUTS.join(', ')}, got ${
          JSON.stringify(o.outputFormat)
        }`,
      );
    // mmdeploy graphs without labels (rtmlib's person-only detectors) give persons only
    const labels = outputFormat === 'mmdeploy-end2end' && o.labels !== undefined
      ? str(o.labels, 'onnx.labels')
      : undefined;
    const input = obj(c.input, 'input');
    const colorOrder = input.colorOrder === 'BGR' || input.colorOrder === 'RGB'
      ? input.colorOrder
      : fail(`input.colorOrder must be "BGR" or "RGB", got ${JSON.stringify(input.colorOrder)}`);
    const classes = obj(c.classes, 'classes');
    const count = int(classes.count, 'classes.count', 1, 10000);
    const decode = obj(c.decode, 'decode');
    const legacy = bool(input.legacy, 'input.legacy');
    const pixelScale = num(input.pixelScale, 'input.pixelScale', 1e-6, 1e6);
    const mean = vec3(input.mean, 'input.mean', -1e6);
    const std = vec3(input.std, 'input.std', 1e-12);
    // the two preprocessings YOLOX has (data_augment.py `preproc`), reproduced op for op; the
    // fields say which, and must say it consistently
    const want = legacy ? LEGACY_YOLOX_INPUT : YOLOX_INPUT;
    if (
      colorOrder !== want.colorOrder || pixelScale !== want.pixelScale ||
      mean.some((m, i) => m !== want.mean[i]) || std.some((v, i) => v !== want.std[i])
    ) {
      fail(
        `input (legacy ${legacy}) must be ${JSON.stringify(want)}: the only ` +
          'normalisations YOLOX has',
      );
    }
    const strides = arr(decode.strides, 'decode.strides').map((v, i) =>
      int(v, `decode.strides[${i}]`, 1, 1024)
    );
    if (strides.length === 0) fail('decode.strides must list at least one stride');
    return {
      format: DETECTOR_FORMAT,
      kind: 'detector',
      family: 'yolox',
      name: str(c.name, 'name'),
      arch: str(c.arch, 'arch'),
      source: c.source === undefined ? {} : obj(c.source, 'source'),
      onnx: { ...onnx, outputFormat, ...(labels === undefined ? {} : { labels }) },
      input: {
        width: int(input.width, 'input.width', 32, 4096),
        height: int(input.height, 'input.height', 32, 4096),
        colorOrder,
        pixelScale,
        mean,
        std,
        padValue: input.padValue === 114
          ? 114
          : fail(`input.padValue must be 114 (YOLOX's), got ${JSON.stringify(input.padValue)}`),
        legacy,
      },
      classes: { count, person: int(classes.person, 'classes.person', 0, count - 1) },
      decode: {
        strides,
        scoreThreshold: num(decode.scoreThreshold, 'decode.scoreThreshold', 0, 1),
        nmsThreshold: num(decode.nmsThreshold, 'decode.nmsThreshold', 0, 1),
        classAware: bool(decode.classAware, 'decode.classAware'),
      },
    };
  }
  function onnxSection(onnx: Record<string, unknown>): OnnxSection {
    return {
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
      ...(onnx.prepared === undefined ? {} : { prepared: preparedGraphs(onnx.prepared, onnx) }),
    };
  }
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
  function preparedGraphs(v: unknown, onnx: Record<string, unknown>): PreparedGraphs {
    const p = obj(v, 'onnx.prepared');
    if (p.runtime !== 'onnxruntime') fail('onnx.prepared.runtime must be "onnxruntime"');
    if (p.level !== 'extended') fail('onnx.prepared.level must be "extended"');
    if (p.batch !== 1) fail('onnx.prepared.batch must be 1');
    const version = str(p.version, 'onnx.prepared.version');
    if (!/^\d+\.\d+\.\d+/.test(version)) fail('onnx.prepared.version must be x.y.z');
    const files: Partial<Record<WeightsKind, ExternalDataFile>> = {};
    const offered = [onnx.weights ?? 'fp32', ...Object.keys(onnx.variants ?? {})] as unknown[];
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
