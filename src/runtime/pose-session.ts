/**
 * What a session is to the rest of the library ({@link PoseSession}, the backends), apart from
 * how each backend makes one (session.ts, native.ts), so that those import it and not each
 * other.
 * @module
 */
/**
 * Execution backends this library drives: onnxruntime-node's native CPU provider (`native`,
 * Node and Deno), onnxruntime-web's WebGPU and WASM.
 */
export const BACKENDS = ['native', 'webgpu', 'wasm'] as const;
export type Backend = (typeof BACKENDS)[number];

/**
 * What the caller asks for: a backend, or `auto` (native where onnxruntime-node loads, else
 * WebGPU when a hardware adapter exists, else WASM).
 */
export const BACKEND_REQUESTS = ['auto', ...BACKENDS] as const;
export type BackendRequest = (typeof BACKEND_REQUESTS)[number];

/** An output tensor's values as onnxruntime gives them, by its element type. */
export type OutputData = Float32Array | BigInt64Array | Int32Array | Uint8Array;

/** One ONNX model ready to run, with the backend that really runs it. */
export interface PoseSession {
  readonly backend: Backend;
  readonly threads: number;
  /** Why a faster backend was not used (absent when the first choice ran). */
  readonly fallbackReason?: string;
  /** Runs a (n, 3, h, w) batch; resolves to the output's data and dims. */
  run(
    input: Float32Array,
    dims: readonly number[],
  ): Promise<{ data: Float32Array; dims: readonly number[] }>;
  /**
   * Runs a (n, 3, h, w) batch and resolves to every output of the graph by name (a graph with
   * several outputs or non-float ones: detectors with NMS in the graph).
   */
  runOutputs(
    input: Float32Array,
    dims: readonly number[],
  ): Promise<Record<string, { data: OutputData; dims: readonly number[] }>>;
  /**
   * Native only: the maximum of each of `bands` equal bands of rows of every (H, W) map of
   * `data` (N, K, H, W), as (N, K, bands), by ONNX Runtime (see band-max.ts); undefined when
   * that cannot run, and the caller computes them itself.
   */
  bandMaxima?(
    data: Float32Array,
    dims: readonly number[],
    bands: number,
  ): Promise<Float32Array | undefined>;
  /**
   * Frees the memory of an output {@link run} gave, once the caller is done with it, where the
   * output is a copy only the caller holds (WASM, WebGPU): heatmaps are MBs a crop, and an
   * isolate's GC leaves tens of MB of them waiting (see `discard`). Absent on native.
   */
  freeOutput?(data: OutputData): void;
  release(): Promise<void>;
}

/**
 * The onnxruntime session under each {@link PoseSession}, for benchmarks that time a bare
 * `session.run` on the very session the estimator uses (identical sessions in one process
 * differ by a few percent per run). Not part of the public API.
 */
export const rawSessions = new WeakMap<
  PoseSession,
  // onnxruntime's InferenceSession, structurally: public declarations name no onnxruntime type
  { run(feeds: Record<string, any>): Promise<unknown> }
>();
