/**
 * Public types of srpose. Defaults are named constants in `src/defaults.ts`.
 * @module
 */
import type { Backend, BackendRequest } from './runtime/pose-session.ts';
import type { DECODE_NAMES, DecodeMethod, Graph, WeightsKind } from './model/config.ts';
import type { WeightsRequest } from './model/weights.ts';
import type { GroupingParams } from './core/bottomup/types.ts';
import type { ModelSource } from './model/source.ts';
import type { HubOptions } from './hub/settings.ts';

export type {
  Backend,
  BackendRequest,
  DecodeMethod,
  Graph,
  GroupingParams,
  HubOptions,
  ModelSource,
  WeightsKind,
  WeightsRequest,
};

/** Top-down models estimate one person per box; bottom-up models find everyone in the image. */
export type ModelKind = 'top-down' | 'bottom-up';

/**
 * How keypoints come out of the heatmaps: a top-down {@link DecodeMethod}, or the bottom-up
 * associative-embedding grouping.
 */
export type DecodeName = (typeof DECODE_NAMES)[number];

/** The codecs' WASM binaries, named by their path inside the npm packages. */
export type CodecWasm =
  | '@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm'
  | '@jsquash/jpeg/codec/enc/mozjpeg_enc.wasm'
  | '@jsquash/png/codec/pkg/squoosh_png_bg.wasm'
  | '@jsquash/webp/codec/dec/webp_dec.wasm'
  | '@jsquash/webp/codec/enc/webp_enc.wasm'
  | '@jsquash/webp/codec/enc/webp_enc_simd.wasm';

import type { Box } from './core/boxes.ts';
export type { Box };

/**
 * `WebAssembly.Module` where the consumer's TypeScript libraries declare it (`dom`,
 * `webworker`), else `never`: the declarations compile with or without those libraries.
 */
export type WasmModule = typeof globalThis extends
  { WebAssembly: { Module: { prototype: infer M } } } ? M : never;

/** Decoded pixels, row-major, 3 (RGB) or 4 (RGBA) bytes per pixel. */
export interface Pixels {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  /** 3 or 4; inferred from `data.length` when omitted. */
  channels?: 3 | 4;
}

// Browser types, named without the DOM lib: each is the runtime's own type where the consumer's
// lib declares that global (DOM, web workers, Deno), and `never` where it does not (a Node-only
// project), so these declarations compile either way and never name a DOM global directly.

/** The instances of global class `K` where the lib declares it, else `never`. */
export type DomGlobal<K extends string> = typeof globalThis extends
  { [P in K]: { prototype: infer T } } ? T
  : never;
/** `ImageData` (DOM, workers, Deno), else `never`. */
export type DomImageData = DomGlobal<'ImageData'>;
/** `ImageBitmap`, else `never`. */
export type DomImageBitmap = DomGlobal<'ImageBitmap'>;
/** `HTMLCanvasElement`, else `never`. */
export type DomHTMLCanvasElement = DomGlobal<'HTMLCanvasElement'>;
/** `OffscreenCanvas`, else `never`. */
export type DomOffscreenCanvas = DomGlobal<'OffscreenCanvas'>;
/** `HTMLImageElement`, else `never`. */
export type DomHTMLImageElement = DomGlobal<'HTMLImageElement'>;
/** `HTMLVideoElement`, else `never`. */
export type DomHTMLVideoElement = DomGlobal<'HTMLVideoElement'>;
/** `VideoFrame` (WebCodecs), else `never`. */
export type DomVideoFrame = DomGlobal<'VideoFrame'>;
/** `CanvasRenderingContext2D`, else `never`. */
export type DomCanvasRenderingContext2D = DomGlobal<'CanvasRenderingContext2D'>;
/** `OffscreenCanvasRenderingContext2D`, else `never`. */
export type DomOffscreenCanvasRenderingContext2D = DomGlobal<'OffscreenCanvasRenderingContext2D'>;

/**
 * What browsers hold images in: read through a 2D canvas (`drawImage` at the image's own size,
 * then `getImageData`), so the pixels are exactly what a canvas shows of it. An `ImageData` is
 * read as it is, like {@link Pixels}. An `<img>` must have loaded (`await img.decode()`) and a
 * `<video>` must have a frame (`readyState >= 2`, HAVE_CURRENT_DATA), else `IMAGE_UNSUPPORTED`;
 * a closed `VideoFrame` or `ImageBitmap` is `IMAGE_UNSUPPORTED` too. Each type is `never` where
 * the lib lacks it.
 */
export type BrowserImage =
  | DomImageData
  | DomImageBitmap
  | DomHTMLCanvasElement
  | DomOffscreenCanvas
  | DomHTMLImageElement
  | DomHTMLVideoElement
  | DomVideoFrame;

/** A 2D canvas context {@link drawPoses} draws on (`never` where the lib has neither). */
export type CanvasContext2D = DomCanvasRenderingContext2D | DomOffscreenCanvasRenderingContext2D;

/**
 * An image: encoded JPEG / PNG / WebP bytes, decoded {@link Pixels}, or a {@link BrowserImage}
 * (`ImageData`, `ImageBitmap`, a canvas, `<img>`, `<video>`, `VideoFrame`) where the runtime has
 * them.
 */
export type ImageInput = Uint8Array | ArrayBuffer | Blob | Pixels | BrowserImage;

/** How a person detector filters its detections; each has a default. */
export interface DetectionSettings {
  /**
   * Lowest person score (objectness x class score) kept. Default 0.3, the threshold rtmlib and
   * mmpose's demos apply to detections before pose estimation; the official YOLOX evaluation
   * uses the exp's `test_conf` (0.01, the contract's `decode.scoreThreshold`).
   */
  scoreThreshold?: number;
  /** NMS IoU threshold. Default the contract's (`nmsthre` of the official exp: 0.65). */
  nmsThreshold?: number;
  /** Most people kept, highest scores first. Default 64, and at most the estimator's `maxBoxes`. */
  maxPeople?: number;
}

/**
 * The person detector of a top-down estimator: its model (a Hub id, a directory with a
 * detector's `srpose.json`, a URL, or `{ onnx, config }`), or that model with its settings and
 * weights. It runs on the pose model's backend, threads and Hub settings.
 */
export type DetectorChoice =
  | ModelSource
  | (DetectionSettings & { model: ModelSource; weights?: WeightsRequest });

/** One detected person: `[x, y, width, height]` in image pixels, and the detector's score. */
export interface Detection {
  box: [number, number, number, number];
  score: number;
}

/** What a person detector runs. */
export interface DetectorInfo extends Required<DetectionSettings> {
  model: string;
  arch: string;
  location: string;
  weights: WeightsKind;
  graph: Graph;
  backend: Backend;
  /** The letterboxed input size. */
  input: { width: number; height: number };
  load: { fetch: number; hash: number; session: number };
}

/** Options of {@link createEstimator}; the Hub options apply when `model` is a Hub id. */
export interface EstimatorOptions extends HubOptions {
  /**
   * A Hub id `owner/name[@revision]`, a local directory with `srpose.json` + ONNX, its URL, or
   * `{ onnx, config }` bytes.
   */
  model: ModelSource;
  /**
   * Top-down models: a person detector (YOLOX, see docs/detector.md). `estimate()` without
   * `boxes` then detects the people and estimates each one (each detection's score is its box
   * score); with `boxes` it is not run. Without a detector the whole image is one box.
   */
  detector?: DetectorChoice;
  /**
   * `auto` (default): `native` (onnxruntime-node, an optional dependency) where it loads (Node,
   * Deno with `--allow-ffi`), else WebGPU when a hardware adapter exists, else WASM SIMD + threads.
   */
  backend?: BackendRequest;
  /**
   * Native: this session's intra-op threads. WASM: process-wide, fixed by the first session.
   * Default all cores in Node/Deno.
   */
  threads?: number;
  /** Average with the mirrored crop's heatmaps; default from `srpose.json` (on for SRPose). */
  flipTest?: boolean;
  /**
   * Which weight file to load when the model offers several (`srpose.json` `onnx.variants`):
   * `auto` (default) takes fp16 on a WebGPU adapter with `shader-f16`, else the contract's
   * `recommended`; `fp32`, `fp16` or `int8` force one (`INVALID_OPTION` when it is missing).
   */
  weights?: WeightsRequest;
  /**
   * Use the graph the contract prepared for WASM (`onnx.prepared`, `srpose prepare`) when the
   * session will be WASM on the onnxruntime-web version that prepared it: it starts several
   * times faster and runs crops one at a time; its heatmaps differ from the exported graph's in
   * the last bits (fused kernels; docs/models.md states the keypoint displacement measured).
   * Default true; `false` loads the exported graph.
   */
  prepared?: boolean;
  /**
   * Heatmap decode of top-down models; default from `srpose.json` (`sr` for SRPose, `default` for
   * the baseline). Bottom-up models take none.
   */
  decode?: DecodeMethod;
  /** Largest image accepted, checked from the header before decoding. Default 40 MP. */
  maxPixels?: number;
  /** Most boxes one call may carry. Default 64. */
  maxBoxes?: number;
  /**
   * Most crops per onnxruntime run (a box under the flip test counts two); more boxes run in
   * chunks of this size, which bounds the memory one call takes. Default 4.
   */
  maxBatch?: number;
  /** Where onnxruntime-web finds its WASM files (browsers, bundles). */
  wasmPaths?: string | Record<string, string>;
  /**
   * Precompiled WebAssembly, for runtimes that refuse to compile WASM from bytes at run time
   * (Cloudflare Workers, Vercel Edge) and give `.wasm` imports as `WebAssembly.Module`s.
   * `ort`: onnxruntime-web's `ort-wasm-simd-threaded.wasm`, instantiated instead of fetched and
   * compiled (it then runs on one thread, and `wasmPaths` is not used); process-wide, fixed by
   * the first session like `threads`. `codecs`: the image codecs' `.wasm` by their path in the
   * npm packages; given, they replace the codec loader for the process (a codec left out is
   * then fetched by @jsquash beside its own module). Not needed in Node, Deno or browsers.
   */
  wasmModules?: {
    ort?: WasmModule;
    codecs?: Partial<Record<CodecWasm, WasmModule>>;
  };
}

/** Options of one {@link Estimator.estimate} call. */
export interface EstimateOptions {
  /**
   * Person boxes (top-down models); none means the whole image is one box. They go through the
   * network in batches of `maxBatch` crops. Bottom-up models find the people themselves and
   * refuse boxes (`INVALID_OPTION`).
   */
  boxes?: readonly Box[];
  /** Overrides the estimator's flip test for this call. */
  flipTest?: boolean;
  /**
   * Aborts the call: work not yet started never starts, running work stops before its next
   * batch; the call rejects with the signal's reason when it is an `SRPoseError`, else
   * `ABORTED`.
   */
  signal?: AbortSignal;
}

/** One keypoint in image pixels; `score` is the heatmap peak. */
export interface Keypoint {
  name: string;
  x: number;
  y: number;
  score: number;
}

/** One person: the box it came from, a score, and the keypoints in contract order. */
export interface Person {
  /**
   * Top-down: the box it was cropped from. Bottom-up: the bounding box of its keypoints with a
   * score > 0.
   */
  box: [number, number, number, number];
  /**
   * Top-down: mmpose's COCO rescoring, box score x mean keypoint score over those above 0.2.
   * Bottom-up: the official person score, the mean of all K keypoint scores at grouping
   * (missing ones count 0, joints filled by `refine` do not count).
   */
  score: number;
  keypoints: Keypoint[];
}

/** Milliseconds per stage of one estimate. */
export interface Timings {
  /** Image bytes -> RGB pixels (0 for decoded input). */
  decode: number;
  /**
   * Boxes -> affine crops -> normalised input batch (bottom-up: the whole image resized, =
   * `resize`).
   */
  crop: number;
  /** onnxruntime `session.run`. */
  inference: number;
  /** With a detector and no boxes: the whole detection (letterbox, its run, NMS). */
  detect?: number;
  /**
   * Flip merge + heatmap decode + back to image coordinates (bottom-up: `nms` + `grouping` +
   * `refine`).
   */
  postprocess: number;
  total: number;
  /** Bottom-up only: the image resized to the network input and normalised. */
  resize?: number;
  /** Bottom-up only: flip merge, heatmap NMS and top-k candidates per joint. */
  nms?: number;
  /** Bottom-up only: associative-embedding grouping (Hungarian matching by tags). */
  grouping?: number;
  /** Bottom-up only: adjust, person scores, refine, back to image coordinates. */
  refine?: number;
}

/** The result of {@link Estimator.estimate}. */
export interface EstimateResult {
  people: Person[];
  image: { width: number; height: number };
  /**
   * The backend that ran, its threads (native intra-op or WASM), and why a faster one was not used.
   */
  backend: Backend;
  threads: number;
  fallbackReason?: string;
  flipTest: boolean;
  decode: DecodeName;
  model: string;
  /** The weights that ran: `fp32`, `fp16` or `int8`. */
  weights: WeightsKind;
  /** The graph that ran: as exported, or prepared for WASM (see `EstimatorOptions.prepared`). */
  graph: Graph;
  timings: Timings;
}

/** What an estimator runs. */
export interface EstimatorInfo {
  model: string;
  arch: string;
  kind: ModelKind;
  location: string;
  /** The weight file loaded (`fp32`, `fp16`, `int8`) and why it was chosen. */
  weights: WeightsKind;
  weightsReason: string;
  /** The graph loaded: as exported, or prepared for WASM (see `EstimatorOptions.prepared`). */
  graph: Graph;
  backend: Backend;
  threads: number;
  fallbackReason?: string;
  /**
   * Top-down: the crop size. Bottom-up: the short side both ways (the long side follows the image's
   * aspect).
   */
  input: { width: number; height: number };
  /** Top-down: the heatmap size. Bottom-up: as `input` (heatmaps at the input's resolution). */
  heatmap: { width: number; height: number };
  keypoints: readonly string[];
  skeleton: readonly (readonly [number, number])[];
  flipTest: boolean;
  decode: DecodeName;
  /** Bottom-up only: the grouping settings from `srpose.json`. */
  grouping?: GroupingParams;
  /**
   * Milliseconds spent loading: getting the files (download or cache), hashing them, creating the
   * session.
   */
  load: { fetch: number; hash: number; session: number };
  /** The person detector, when the estimator has one. */
  detector?: DetectorInfo;
}

/**
 * `[Symbol.asyncDispose](): Promise<void>` where the lib declares `Symbol.asyncDispose`
 * (esnext.disposable, @types/node, Deno): exactly where `await using` type-checks. Elsewhere
 * nothing, so these types compile with any lib, and without a global augmentation (which JSR
 * refuses). At run time every estimator has the method, under `Symbol.asyncDispose` or, where
 * the runtime lacks it, `Symbol.for('Symbol.asyncDispose')` (what esbuild's `await using`
 * helper falls back to).
 */
export type AsyncDisposeMethod = SymbolConstructor extends
  { readonly asyncDispose: infer S extends symbol } ? { [K in S]: () => Promise<void> }
  : Record<never, never>;

/**
 * A loaded model: estimate poses, then dispose (or let `await using` dispose it at the end of
 * the scope).
 *
 * ```ts
 * await using estimator = await createEstimator({ model: './srpose-res50' });
 * const { people } = await estimator.estimate(image);
 * ```
 */
export interface Estimator extends AsyncDisposeMethod {
  readonly info: EstimatorInfo;
  estimate(image: ImageInput, options?: EstimateOptions): Promise<EstimateResult>;
  /**
   * Frees the session (or stops the threads); later estimates reject with `DISPOSED`. A second
   * call does nothing.
   */
  dispose(): Promise<void>;
}

/** One COCO keypoint result (`person_keypoints` results file format). */
export interface CocoResult {
  image_id: number;
  category_id: 1;
  keypoints: number[];
  score: number;
  bbox: [number, number, number, number];
}
