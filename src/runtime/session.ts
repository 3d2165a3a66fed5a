import * as ort from 'onnxruntime-web';
import { oneOf, SRPoseError } from '../errors.ts';
import { trackWasmMemory } from './wasm-memory.ts';
import { discard } from '../core/buffer-pool.ts';
import { bytesOf, type DeferredBytes } from '../platform/files.ts';
import { availableCores, env } from '../platform/env.ts';
import {
  type Backend,
  BACKEND_REQUESTS,
  type BackendRequest,
  type OutputData,
  type PoseSession,
  rawSessions,
} from './pose-session.ts';
import { probeWebGpu } from './webgpu.ts';
import {
  loadNative,
  nativeSpecifier,
  openNativeSession,
  type OptimizedGraphCache,
  wrapNative,
} from './native.ts';

export type { Backend, BackendRequest, PoseSession };

export interface SessionOptions {
  backend?: BackendRequest;
  /**
   * Native: intra-op threads of this session. WASM: threads of the process (fixed by its first
   * WASM session). Default all cores in Node/Deno; WASM in browsers only when cross-origin
   * isolated.
   */
  threads?: number;
  /**
   * What `native` imports as onnxruntime-node: a package name or the path / `file:` URL of its
   * entry file. Default the `SRPOSE_NATIVE_MODULE` environment variable, else `onnxruntime-node`.
   */
  nativeModule?: string;
  /** Where onnxruntime-web finds its `.wasm` / `.mjs` files (a URL prefix or per-file map). */
  wasmPaths?: ort.Env.WasmPrefixOrFilePaths;
  /**
   * The graph's external-data files (weights saved beside the ONNX), by the name the graph uses.
   */
  externalData?: { path: string; data: Uint8Array }[];
  /**
   * `ort-wasm-simd-threaded.wasm` already compiled, for runtimes that refuse to compile WASM
   * from bytes (Cloudflare Workers, Vercel Edge): onnxruntime-web instantiates it instead of
   * fetching and compiling its file, on one thread (`wasmPaths` is then not used).
   */
  wasmModule?: WebAssembly.Module;
  /** Native: where to keep the optimised graph (see {@link openNativeSession}). */
  nativeCache?: OptimizedGraphCache;
  /**
   * The graph is prepared for WASM (`onnx.prepared`): its batch axis is fixed to this size and
   * it was optimised ahead of time. It runs on WASM only, with optimisation off, a batch of
   * crops `fixedBatch` at a time.
   */
  fixedBatch?: number;
}

/** What {@link planBackend} foresees. */
export interface PlannedBackend {
  backend: Backend;
  /** The WebGPU adapter offers `shader-f16` (false when it was not asked). */
  shaderF16: boolean;
  /** The onnxruntime-web version a WASM session would run on. */
  wasmVersion?: string;
}

/**
 * The backend {@link createPoseSession} will pick for `request`, as far as it can be told
 * before the model is loaded, so that the right file is downloaded: native where
 * onnxruntime-node loads (under `auto`), else WebGPU where an adapter serves (asked only when
 * `probeGpu`; otherwise WASM is assumed), else WASM.
 */
export async function planBackend(
  request: BackendRequest,
  probeGpu: boolean,
  nativeModule?: string,
): Promise<PlannedBackend> {
  const wasmVersion = ort.env.versions.web;
  if (request === 'native') return { backend: 'native', shaderF16: false, wasmVersion };
  if (
    request === 'auto' && typeof await loadNative(nativeModule ?? nativeSpecifier()) !== 'string'
  ) {
    return { backend: 'native', shaderF16: false, wasmVersion };
  }
  if (request !== 'wasm' && probeGpu) {
    const gpu = await probeWebGpu(request);
    if (gpu.unavailable === undefined) {
      return { backend: 'webgpu', shaderF16: gpu.shaderF16, wasmVersion };
    }
  }
  return { backend: 'wasm', shaderF16: false, wasmVersion };
}

/**
 * All sessions of one onnxruntime-web module share a single WASM instance and its thread
 * pool, so their calls cannot overlap usefully; overlapping ones (several sessions created
 * or run at once) were seen to hang Deno. One queue per module serialises them.
 */
const queues = new WeakMap<object, Promise<unknown>>();
function serialized<T>(mod: object, job: () => Promise<T>): Promise<T> {
  const next = (queues.get(mod) ?? Promise.resolve()).then(job);
  queues.set(mod, next.catch(() => undefined));
  return next;
}

// onnxruntime-web reads its WASM settings once, when the first session initialises the
// backend; later sessions share those threads, and we report what is really in effect.
let wasmThreads: number | undefined;
let wasmThreadsReason: string | undefined;

/**
 * Stands in `ort.env.wasm.wasmBinary` for a precompiled module. A non-empty `wasmBinary` makes
 * onnxruntime-web start its embedded Emscripten glue (no `import.meta.url`, no `.mjs` to
 * import) and hand these bytes to `WebAssembly.instantiate`, where {@link usePrecompiled}'s
 * hook swaps in the module: nothing is compiled from bytes.
 */
const PLACEHOLDER = new TextEncoder().encode(
  'srpose: precompiled WebAssembly.Module, see wasmModule',
);
let precompiled: WebAssembly.Module | undefined;

function isPlaceholder(source: unknown): boolean {
  let bytes: Uint8Array;
  if (source instanceof ArrayBuffer) bytes = new Uint8Array(source);
  else if (ArrayBuffer.isView(source)) {
    bytes = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  } else return false;
  return bytes.byteLength === PLACEHOLDER.byteLength && bytes.every((b, i) => b === PLACEHOLDER[i]);
}

/**
 * Sets the placeholder and wraps `WebAssembly.instantiate` (once per process: onnxruntime-web
 * is configured once) so that the placeholder bytes instantiate `module` and resolve as
 * instantiating bytes does (`{ module, instance }`); every other call goes through untouched.
 */
function usePrecompiled(module: WebAssembly.Module): void {
  const first = precompiled === undefined;
  precompiled = module;
  ort.env.wasm.wasmBinary = PLACEHOLDER.slice();
  if (!first) return;
  const wasm = WebAssembly as {
    instantiate: (source: unknown, imports?: WebAssembly.Imports) => Promise<unknown>;
  };
  const instantiate = wasm.instantiate;
  wasm.instantiate = function (source: unknown, imports?: WebAssembly.Imports): Promise<unknown> {
    if (precompiled && isPlaceholder(source)) {
      const m = precompiled;
      return (instantiate.call(WebAssembly, m, imports) as Promise<WebAssembly.Instance>).then(
        (instance) => {
          trackWasmMemory(imports, instance);
          return { module: m, instance };
        },
      );
    }
    return instantiate.call(WebAssembly, source, imports);
  };
}

async function configureWasm(opts: SessionOptions): Promise<{ threads: number; reason?: string }> {
  if (wasmThreads !== undefined) return { threads: wasmThreads, reason: wasmThreadsReason };
  let threads: number;
  let reason: string | undefined;
  if (opts.wasmModule !== undefined) {
    if (!(opts.wasmModule instanceof WebAssembly.Module)) {
      throw new SRPoseError(
        'INVALID_OPTION',
        'wasmModules.ort must be a WebAssembly.Module ' +
          '(ort-wasm-simd-threaded.wasm imported as a module)',
      );
    }
    // onnxruntime-web starts its WASM threads as workers from its script's URL, which a
    // precompiled setup (no URL, no workers) does not have: one thread, said when more were wanted.
    if ((opts.threads ?? await availableCores()) > 1) {
      reason = 'a precompiled onnxruntime WASM module (wasmModules.ort) runs on one thread: ' +
        'its worker threads need the script URL it is loaded without';
    }
    threads = 1;
    usePrecompiled(opts.wasmModule);
  } else {
    threads = opts.threads ?? await availableCores();
    if (threads > 1 && !env.crossOriginIsolated) {
      threads = 1;
      reason =
        'WASM threads need cross-origin isolation (COOP/COEP headers); running on one thread';
    }
    if (opts.wasmPaths !== undefined) ort.env.wasm.wasmPaths = opts.wasmPaths;
  }
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.simd = true;
  if (opts.wasmModule !== undefined) ort.env.wasm.proxy = false;
  wasmThreads = threads;
  wasmThreadsReason = reason;
  return { threads, reason };
}

/**
 * The onnxruntime-web build that has the WebGPU execution provider. A bundler's browser build
 * of `onnxruntime-web` has it; Node/Deno resolve `onnxruntime-web` to its WASM-only Node build,
 * and srpose's own browser bundle (dist/browser) to the WASM-only browser build (half the
 * WebAssembly to fetch and compile when no WebGPU session is made), so Deno and that bundle
 * import the WebGPU build here; Deno points it at the package's own WASM files.
 */
async function webgpuOrt(): Promise<typeof ort> {
  // set by scripts/build-browser.ts
  const wasmOnly = (globalThis as { __SRPOSE_WASM_ONLY_ORT__?: boolean })
    .__SRPOSE_WASM_ONLY_ORT__ === true;
  if (wasmOnly) {
    const gpu = await import('onnxruntime-web/webgpu') as typeof ort;
    // the settings the page gave the WASM build (threads, where the files are) hold for it too
    if (ort.env.wasm.wasmPaths !== undefined) gpu.env.wasm.wasmPaths = ort.env.wasm.wasmPaths;
    if (ort.env.wasm.numThreads !== undefined) gpu.env.wasm.numThreads = ort.env.wasm.numThreads;
    return gpu;
  }
  if (!env.isDeno) return ort;
  const gpu = await import('onnxruntime-web/webgpu') as typeof ort;
  if (gpu.env.wasm.wasmPaths === undefined) {
    gpu.env.wasm.wasmPaths = new URL('.', import.meta.resolve('onnxruntime-web/webgpu')).href;
  }
  // Its threaded WASM spawns workers from blob: URLs, which Deno's module loader refuses;
  // with WebGPU the CPU only runs glue, so one thread costs nothing.
  gpu.env.wasm.numThreads = 1;
  return gpu;
}

function wrap(
  mod: typeof ort,
  session: ort.InferenceSession,
  backend: Backend,
  threads: number,
  inputName: string,
  outputName: string,
  fallbackReason?: string,
): PoseSession {
  /** One `session.run` on a (n, 3, h, w) input, its failure in our words. */
  const runOnce = async (input: Float32Array, dims: readonly number[]) => {
    try {
      return await session.run({ [inputName]: new mod.Tensor('float32', input, dims) });
    } catch (e) {
      throw new SRPoseError(
        'INFERENCE_FAILED',
        `onnxruntime (${backend}) failed: ${(e as Error).message}`,
        { cause: e },
      );
    }
  };
  const pose: PoseSession = {
    backend,
    threads,
    fallbackReason,
    run(input, dims) {
      return serialized(mod, async () => {
        const t = (await runOnce(input, dims))[outputName];
        const data = backend === 'wasm' ? t.data : await t.getData();
        if (!(data instanceof Float32Array)) {
          throw new SRPoseError(
            'MODEL_INVALID',
            `output ${outputName} is ${t.type}, expected float32`,
          );
        }
        return { data, dims: t.dims };
      });
    },
    runOutputs(input, dims) {
      return serialized(mod, async () => {
        const all: Record<string, { data: OutputData; dims: readonly number[] }> = {};
        for (const [name, t] of Object.entries(await runOnce(input, dims))) {
          all[name] = {
            data: (backend === 'wasm' ? t.data : await t.getData()) as OutputData,
            dims: t.dims,
          };
        }
        return all;
      });
    },
    // every output is a fresh copy out of the WASM heap or the GPU
    freeOutput: (data) => void discard(data),
    release: () => serialized(mod, () => session.release()),
  };
  rawSessions.set(pose, session);
  return pose;
}

/**
 * Creates an onnxruntime session for the ONNX bytes, choosing the backend: native
 * (onnxruntime-node) when asked for or, under `auto`, where it loads; else WebGPU when asked
 * for (or `auto` with a hardware adapter); else WASM SIMD with threads. Under `auto` each
 * backend that cannot serve (not installed, no adapter, unsupported op, out of memory) falls
 * back to the next, and the reasons are kept in `fallbackReason`.
 */
export async function createPoseSession(
  graph: DeferredBytes,
  io: { input: string; output: string },
  opts: SessionOptions = {},
): Promise<PoseSession> {
  // read once, and only if a backend needs the bytes (see DeferredBytes)
  let read: Promise<Uint8Array> | undefined;
  const bytes = () => (read ??= bytesOf(graph));
  const request = oneOf(opts.backend ?? 'auto', BACKEND_REQUESTS, 'backend');
  if (opts.threads !== undefined && (!Number.isInteger(opts.threads) || opts.threads < 1)) {
    throw new SRPoseError(
      'INVALID_OPTION',
      `threads must be a positive integer, got ${opts.threads}`,
    );
  }
  if (opts.fixedBatch !== undefined && request !== 'wasm' && request !== 'auto') {
    throw new SRPoseError(
      'INVALID_OPTION',
      `a graph prepared for WASM cannot run on ${request}; load the exported graph for it`,
    );
  }
  const prepared = opts.fixedBatch !== undefined;
  let nativeReason: string | undefined;
  if (!prepared && (request === 'native' || request === 'auto')) {
    const native = await loadNative(opts.nativeModule ?? nativeSpecifier());
    if (typeof native === 'string') nativeReason = native;
    else {
      const threads = opts.threads ?? await availableCores();
      let s: ort.InferenceSession | undefined;
      try {
        s = await openNativeSession(native, bytes, threads, opts.externalData, opts.nativeCache);
      } catch (e) {
        // Under auto, WASM gets the same bytes next and reports a model that is really invalid.
        if (request === 'native') {
          throw new SRPoseError(
            'MODEL_INVALID',
            `onnxruntime-node cannot load the model: ${(e as Error).message}`,
            { cause: e },
          );
        }
        nativeReason = `onnxruntime-node session failed: ${(e as Error).message}`;
      }
      if (s) {
        checkIo(s, io);
        return wrapNative(native, s, threads, io);
      }
    }
    if (request === 'native') throw new SRPoseError('BACKEND_UNAVAILABLE', nativeReason!);
  }
  let onnx: Uint8Array;
  try {
    onnx = await bytes();
  } catch (e) {
    if (e instanceof SRPoseError) throw e;
    throw new SRPoseError('MODEL_INVALID', `cannot read the model: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const { threads, reason: threadReason } = await configureWasm(opts);
  let fallback: string | undefined;
  if (request !== 'wasm' && !prepared) {
    fallback = (await probeWebGpu(request)).unavailable;
    if (fallback === undefined) {
      try {
        const gpu = await webgpuOrt();
        const s = await serialized(
          gpu,
          () =>
            gpu.InferenceSession.create(onnx, {
              executionProviders: ['webgpu'],
              graphOptimizationLevel: 'all',
              ...external(opts),
            }),
        );
        checkIo(s, io);
        return wrap(
          gpu,
          s,
          'webgpu',
          gpu.env.wasm.numThreads ?? threads,
          io.input,
          io.output,
          nativeReason,
        );
      } catch (e) {
        if (e instanceof SRPoseError) throw e;
        fallback = `WebGPU session failed: ${(e as Error).message}`;
      }
    }
    if (request === 'webgpu') throw new SRPoseError('BACKEND_UNAVAILABLE', fallback);
  }
  let s: ort.InferenceSession;
  try {
    s = await serialized(
      ort,
      () =>
        ort.InferenceSession.create(onnx, {
          executionProviders: ['wasm'],
          // a prepared graph was optimised when it was saved: doing it again is the cost it saves
          graphOptimizationLevel: prepared ? 'disabled' : 'all',
          ...external(opts),
        }),
    );
  } catch (e) {
    throw new SRPoseError(
      'MODEL_INVALID',
      `onnxruntime cannot load the model: ${(e as Error).message}`,
      { cause: e },
    );
  }
  checkIo(s, io);
  const reasons = [nativeReason, fallback, threadReason].filter((r) => r !== undefined);
  const pose = wrap(
    ort,
    s,
    'wasm',
    threads,
    io.input,
    io.output,
    reasons.length ? reasons.join('; ') : undefined,
  );
  return opts.fixedBatch === undefined ? pose : inBatchesOf(pose, opts.fixedBatch);
}

/**
 * Runs a batch of any size through a session whose graph takes exactly `size` crops, `size` at
 * a time, into one output (a batch not a multiple of `size` is refused: the prepared graphs
 * have size 1).
 */
function inBatchesOf(pose: PoseSession, size: number): PoseSession {
  const run: PoseSession['run'] = async (input, dims) => {
    const n = dims[0];
    if (n === size) return pose.run(input, dims);
    if (n % size !== 0) {
      throw new SRPoseError('INFERENCE_FAILED', `a batch of ${n} does not split into ${size}s`);
    }
    const per = input.length / n;
    let out: Float32Array | undefined;
    let outDims: readonly number[] = [];
    for (let i = 0; i < n; i += size) {
      const part = await pose.run(input.subarray(i * per, (i + size) * per), [
        size,
        ...dims.slice(1),
      ]);
      const each = part.data.length / size;
      out ??= new Float32Array(n * each);
      out.set(part.data, i * each);
      pose.freeOutput?.(part.data); // copied into out
      outDims = [n, ...part.dims.slice(1)];
    }
    return { data: out!, dims: outDims };
  };
  // runOutputs (detectors, batch 1) passes through as it is
  const batched: PoseSession = { ...pose, run };
  const raw = rawSessions.get(pose);
  if (raw) rawSessions.set(batched, raw);
  return batched;
}

function external(opts: SessionOptions): Pick<ort.InferenceSession.SessionOptions, 'externalData'> {
  return opts.externalData?.length ? { externalData: opts.externalData } : {};
}

function checkIo(s: ort.InferenceSession, io: { input: string; output: string }): void {
  if (!s.inputNames.includes(io.input) || !s.outputNames.includes(io.output)) {
    void s.release();
    throw new SRPoseError(
      'MODEL_INVALID',
      `the ONNX graph has inputs [${s.inputNames}] and outputs [${s.outputNames}]; ` +
        `srpose.json names ${io.input} -> ${io.output}`,
    );
  }
}
