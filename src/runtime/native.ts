/**
 * The native backend: the same `model.onnx` on ONNX Runtime's own CPU execution provider
 * through onnxruntime-node, the Node-API addon (MLAS kernels with AVX2 / AVX-512 / NEON, where
 * onnxruntime-web has 128-bit WASM SIMD). An optional dependency: it is imported by a name
 * built at run time ({@link importOptional}), so no bundle includes or references it, and only
 * where addons load (Node, Deno with `--allow-ffi`: `env.hasNativeAddons`).
 * @module
 */
import type * as ort from 'onnxruntime-web';
import { SRPoseError } from '../errors.ts';
import { env, envVar, importOptional, nodeBuiltin } from '../platform/env.ts';
import { digestHex } from '../platform/digest.ts';
import { bytesOf, type DeferredBytes } from '../platform/files.ts';
import { bandMaxModel } from './band-max.ts';
import { type OutputData, type PoseSession, rawSessions } from './pose-session.ts';

/** The package imported by default. */
export const NATIVE_PACKAGE = 'onnxruntime-node';

/**
 * Session options of native sessions, each chosen by measurement on Res-50
 * (`npm run bench -- backends --options` measures every one of them; its numbers are in
 * docs/backends.md "Session options"):
 * - `graphOptimizationLevel: 'all'`: the NCHWc layout transformations on top of `extended`'s
 *   fusions; faster per run than `basic` or `extended`, for more resident memory (the
 *   reordered weights) and a slower session creation.
 * - `enableCpuMemArena: true`: faster runs than without, with 4 boxes and even with 1;
 *   without it the resident memory between runs is lower, the peak the same; shrinking it
 *   after every run (a run option) gives nothing back either. What stays resident after a burst
 *   is one `maxBatch` chunk's, whatever the request (docs/http.md "Limits, and why").
 * - `session.intra_op.allow_spinning: '0'`: intra-op threads sleep instead of spinning between
 *   tasks: alike on an idle machine, faster per run on a busy one (spinning threads compete
 *   with the work for the cores), and no CPU burnt spinning between requests.
 * - `executionMode: 'sequential'`, `interOpNumThreads: 1`: ResNet and the SR head are one chain
 *   of nodes, with no parallel branches for inter-op threads to run.
 * `intraOpNumThreads` comes from the `threads` option: default all cores, faster per run than
 * one thread even for one crop.
 */
export const NATIVE_SESSION_OPTIONS = Object.freeze(
  {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    enableCpuMemArena: true,
    enableMemPattern: true,
    executionMode: 'sequential',
    interOpNumThreads: 1,
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  } as const,
);

/**
 * What this library uses of onnxruntime-node (its API is onnxruntime-common's, as
 * onnxruntime-web's).
 */
export interface NativeOrt {
  readonly InferenceSession: typeof ort.InferenceSession;
  readonly Tensor: typeof ort.Tensor;
  /** onnxruntime-node's version. */
  readonly version: string;
}

/**
 * The specifier imported for onnxruntime-node: the `SRPOSE_NATIVE_MODULE` environment variable
 * (a package name, or a path / `file:` URL of the package's entry file such as
 * `/opt/nodejs/node_modules/onnxruntime-node/dist/index.js`) or `onnxruntime-node`.
 */
export function nativeSpecifier(): string {
  return envVar('SRPOSE_NATIVE_MODULE') || NATIVE_PACKAGE;
}

const loaded = new Map<string, Promise<NativeOrt | string>>();

/**
 * Imports onnxruntime-node (once per specifier); resolves to it, or to the reason it cannot be
 * used here (not Node/Deno, Deno without FFI permission, not installed, the addon failed).
 */
export function loadNative(specifier: string = nativeSpecifier()): Promise<NativeOrt | string> {
  if (!env.hasNativeAddons) {
    return Promise.resolve(
      env.isDeno
        ? `onnxruntime-node is a Node-API addon, which Deno loads only with --allow-ffi`
        : `onnxruntime-node is a Node-API addon, which only Node and Deno load`,
    );
  }
  let p = loaded.get(specifier);
  if (!p) {
    p = importNative(specifier);
    loaded.set(specifier, p);
  }
  return p;
}

/**
 * Imports the specifier; in Deno a bare package name that no import map or node_modules
 * resolves (a JSR install of srpose) is tried again as `npm:<name>`, which Deno fetches itself.
 */
async function importBare(specifier: string): Promise<any> {
  try {
    return await importOptional(specifier);
  } catch (e) {
    if (!env.isDeno || !/^[@a-z]/i.test(specifier) || /^[a-z]+:/i.test(specifier)) throw e;
    return await importOptional(`npm:${specifier}`).catch(() => Promise.reject(e));
  }
}

async function importNative(specifier: string): Promise<NativeOrt | string> {
  let m: any;
  try {
    m = await importBare(specifier);
  } catch (e) {
    const message = (e as Error).message ?? String(e);
    const missing = (e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' ||
      /cannot find|not found|could not find|not a dependency/i.test(message);
    return missing
      ? `${specifier} is not installed (an optional dependency: ` +
        `npm install onnxruntime-node): ${message}`
      : `${specifier} failed to load: ${message}`;
  }
  const mod = typeof m?.InferenceSession?.create === 'function' ? m : m?.default;
  if (typeof mod?.InferenceSession?.create !== 'function' || typeof mod?.Tensor !== 'function') {
    return `${specifier} is not onnxruntime-node (no InferenceSession / Tensor exports)`;
  }
  return {
    InferenceSession: mod.InferenceSession,
    Tensor: mod.Tensor,
    version: String(mod.env?.versions?.node ?? 'unknown'),
  };
}

/** Where a native session keeps its optimised graph: a folder, and the source graph's sha256. */
export interface OptimizedGraphCache {
  dir: string;
  sha256: string;
}

/**
 * Creates a native CPU session for the ONNX bytes with {@link NATIVE_SESSION_OPTIONS} and
 * `threads` intra-op threads; rejects with onnxruntime's own error.
 *
 * With `cache`, the graph as onnxruntime optimised it (`optimizedModelFilePath`) is kept in
 * `cache.dir` and later sessions load that file with optimisation off: most of a session's
 * creation is the `all`-level optimisation (`npm run bench -- cold-start`). That file holds
 * layouts for this CPU (NCHWc blocks), so its name carries the source's sha256, the
 * onnxruntime version and the CPU; it is trusted while it is the file recorded when it was
 * written (size, mtime, inode), else made again, as the Hub cache treats its blobs.
 */
export async function openNativeSession(
  native: NativeOrt,
  onnx: DeferredBytes,
  threads: number,
  externalData?: { path: string; data: Uint8Array }[],
  cache?: OptimizedGraphCache,
): Promise<ort.InferenceSession> {
  const options = {
    ...NATIVE_SESSION_OPTIONS,
    executionProviders: [...NATIVE_SESSION_OPTIONS.executionProviders],
    intraOpNumThreads: threads,
    ...(externalData?.length ? { externalData } : {}),
  };
  if (!cache || externalData?.length || !env.hasFileSystem) {
    return native.InferenceSession.create(await bytesOf(onnx), options);
  }
  const fs = await nodeBuiltin<typeof import('node:fs/promises')>('fs/promises');
  const file = `${cache.dir}/${cache.sha256}-ort${native.version}-${await cpuKey()}.onnx`;
  const record = `${file}.srpose-verified`;
  const stamp = async () => {
    const st = await fs.stat(file, { bigint: true }).catch(() => undefined);
    return st && `${st.size} ${st.mtimeNs} ${st.ino}`;
  };
  const [now, recorded] = await Promise.all([
    stamp(),
    fs.readFile(record, 'utf8').catch(() => undefined),
  ]);
  if (now !== undefined && now === recorded) {
    try {
      return await native.InferenceSession.create(file, {
        ...options,
        graphOptimizationLevel: 'disabled',
      });
    } catch {
      // unreadable after all: made again below
    }
  }
  const tmp = `${cache.dir}/${crypto.randomUUID()}.incomplete`;
  try {
    await fs.mkdir(cache.dir, { recursive: true });
  } catch {
    // a read-only disk: no cache
    return native.InferenceSession.create(await bytesOf(onnx), options);
  }
  const session = await native.InferenceSession.create(await bytesOf(onnx), {
    ...options,
    optimizedModelFilePath: tmp,
    // its warning that the file fits this CPU only is why the file's name carries the CPU
    logSeverityLevel: 3,
  });
  try {
    await fs.rename(tmp, file);
    const written = await stamp();
    if (written) {
      await fs.writeFile(`${tmp}.record`, written);
      await fs.rename(`${tmp}.record`, record);
    }
  } catch {
    // the cache is a help, never a failure
  } finally {
    await fs.rm(tmp, { force: true });
    await fs.rm(`${tmp}.record`, { force: true });
  }
  return session;
}

/** This machine's CPU, for names of files only valid on it: a short hash of arch and model. */
async function cpuKey(): Promise<string> {
  const os = await nodeBuiltin<typeof import('node:os')>('os');
  const cpu = `${os.arch()} ${os.cpus()[0]?.model ?? '?'}`;
  return (await digestHex('SHA-256', new TextEncoder().encode(cpu))).slice(0, 12);
}

/**
 * A {@link PoseSession} over a native session. onnxruntime-node runs on the calling thread (its
 * intra-op pool helping) and `Session::Run` is thread-safe, so runs are not queued; `release`
 * waits for the runs in flight.
 */
export function wrapNative(
  native: NativeOrt,
  session: ort.InferenceSession,
  threads: number,
  io: { input: string; output: string },
  fallbackReason?: string,
): PoseSession {
  const inflight = new Set<Promise<unknown>>();
  // The band-maxima sessions, one per band count, made on first use; undefined if one failed.
  const reducers = new Map<number, Promise<ort.InferenceSession | undefined>>();
  const reducer = (bands: number) => {
    let r = reducers.get(bands);
    if (!r) {
      r = openNativeSession(native, bandMaxModel(bands), threads).catch(() => undefined);
      reducers.set(bands, r);
    }
    return r;
  };
  const track = <T>(job: Promise<T>): Promise<T> => {
    inflight.add(job);
    void job.then(() => inflight.delete(job), () => inflight.delete(job));
    return job;
  };
  /** One `session.run` on a (n, 3, h, w) input, its failure in our words. */
  const runOnce = async (input: Float32Array, dims: readonly number[]) => {
    try {
      return await session.run({ [io.input]: new native.Tensor('float32', input, dims) });
    } catch (e) {
      throw new SRPoseError(
        'INFERENCE_FAILED',
        `onnxruntime (native) failed: ${(e as Error).message}`,
        { cause: e },
      );
    }
  };
  const pose: PoseSession = {
    backend: 'native',
    threads,
    fallbackReason,
    bandMaxima(data, dims, bands) {
      return track((async () => {
        // a shape it cannot take opens no session
        if (dims.length !== 4 || dims[2] % bands !== 0) return undefined;
        const s = await reducer(bands);
        if (!s) return undefined;
        try {
          const t = (await s.run({ heatmaps: new native.Tensor('float32', data, dims) })).bandmax;
          return t.data instanceof Float32Array && t.data.length === dims[0] * dims[1] * bands
            ? t.data
            : undefined;
        } catch {
          return undefined; // the decode does the same work itself
        }
      })());
    },
    run(input, dims) {
      return track((async () => {
        const t = (await runOnce(input, dims))[io.output];
        if (t.type !== 'float32') {
          throw new SRPoseError(
            'MODEL_INVALID',
            `output ${io.output} is ${t.type}, expected float32`,
          );
        }
        // The addon's typed arrays are this realm's; copy only if one ever is not.
        const data = t.data instanceof Float32Array
          ? t.data
          : new Float32Array(t.data as ArrayLike<number>);
        return { data, dims: t.dims };
      })());
    },
    runOutputs(input, dims) {
      return track((async () => {
        const all: Record<string, { data: OutputData; dims: readonly number[] }> = {};
        for (const [name, t] of Object.entries(await runOnce(input, dims))) {
          all[name] = { data: t.data as OutputData, dims: t.dims };
        }
        return all;
      })());
    },
    async release() {
      await Promise.allSettled(inflight);
      await session.release();
      for (const r of reducers.values()) await (await r)?.release();
    },
  };
  rawSessions.set(pose, session);
  return pose;
}
