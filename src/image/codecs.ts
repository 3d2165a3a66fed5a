/**
 * The JPEG / PNG / WebP codecs (@jsquash: mozjpeg, squoosh png, libwebp compiled to WASM),
 * each initialised once on first use. This is the only image module that knows the platform:
 * the codecs' `.wasm` files come from an injectable {@link WasmLoader}; the default reads them
 * from the installed packages in Node and Deno, and lets @jsquash fetch them next to its own
 * modules in browsers and workers.
 * @module
 */
import mozjpegDecoder from '@jsquash/jpeg/codec/dec/mozjpeg_dec.js';
import { defaultOptions as jpegDefaults } from '@jsquash/jpeg/meta.js';
import initPng, {
  decode as pngDecode,
  encode as pngEncode,
} from '@jsquash/png/codec/pkg/squoosh_png.js';
import webpDecoder from '@jsquash/webp/codec/dec/webp_dec.js';
import { defaultOptions as webpDefaults } from '@jsquash/webp/meta.js';
import { SRPoseError } from '../errors.ts';
import type { CodecWasm } from '../types.ts';
import { env, nodeBuiltin } from '../platform/env.ts';

export type { CodecWasm };

/**
 * Supplies a codec's compiled WASM. Resolve to `undefined` to let @jsquash fetch the file
 * itself (`new URL(file, import.meta.url)`, which works in browsers and bundlers that copy
 * the `.wasm` assets).
 */
export type WasmLoader = (file: CodecWasm) => Promise<WebAssembly.Module | undefined>;

/** Decoded pixels straight from a codec: RGBA, 8 bits per sample. */
export interface RgbaImage {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
}

/** Pixels to encode: row-major RGBA (or RGB, inferred from `data.length`). */
export interface EncodeInput {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
}

// Silence the codecs' own stderr and keep its last lines for our error messages.
let codecLog: string[] = [];
const quiet = { print: () => {}, printErr: (line: string) => void codecLog.push(String(line)) };

/** Reads a codec's `.wasm` from the installed package (Node, Deno). */
async function readInstalledWasm(file: CodecWasm): Promise<WebAssembly.Module | undefined> {
  const [{ readFile }, { createRequire }, { fileURLToPath }, { existsSync }] = await Promise.all([
    nodeBuiltin('fs/promises'),
    nodeBuiltin('module'),
    nodeBuiltin('url'),
    nodeBuiltin('fs'),
  ]);
  // A bundle (dist/<target>/) carries the codecs beside itself: deployments have no node_modules.
  const beside = import.meta.url.startsWith('file:')
    ? fileURLToPath(new URL(`./${file.split('/').pop()}`, import.meta.url))
    : '';
  if (beside && existsSync(beside)) return await WebAssembly.compile(await readFile(beside));
  let path: string;
  try {
    path = createRequire(import.meta.url).resolve(file);
  } catch {
    // Deno without node_modules: resolve the package's entry point, then the file beside it.
    const pkg = file.split('/').slice(0, 2).join('/');
    const entry = (import.meta as any).resolve?.(pkg) as string | undefined;
    if (!entry?.startsWith('file:')) return undefined;
    path = fileURLToPath(new URL(file.slice(pkg.length + 1), entry.replace(/[^/]*$/, '')));
  }
  return await WebAssembly.compile(await readFile(path));
}

const defaultLoader: WasmLoader = (file) =>
  env.hasFileSystem ? readInstalledWasm(file) : Promise.resolve(undefined);
let loader: WasmLoader = defaultLoader;

/**
 * Replaces how codec WASM is loaded (`undefined` restores the default). JPEG and WebP codecs
 * restart with it on their next use; the PNG codec keeps its first instance, so set the
 * loader before the first PNG is decoded or encoded.
 */
export function setWasmLoader(next: WasmLoader | undefined): void {
  loader = next ?? defaultLoader;
  compiled.clear();
  for (const codec of [jpeg, jpegEncoder, webp, webpEncoder]) codec.reset();
}

const compiled = new Map<CodecWasm, Promise<WebAssembly.Module | undefined>>();

/** The loader's module for `file`, compiled once and kept (instances are cheap to restart). */
function loadWasm(file: CodecWasm): Promise<WebAssembly.Module | undefined> {
  let pending = compiled.get(file);
  if (!pending) {
    pending = loader(file).catch((e) => {
      compiled.delete(file);
      throw new SRPoseError(
        'BACKEND_UNAVAILABLE',
        `cannot load the image codec ${file}: ${(e as Error)?.message ?? e}`,
        { cause: e },
      );
    });
    compiled.set(file, pending);
  }
  return pending;
}

/**
 * Instantiates an Emscripten codec from its factory, with our WASM when the loader gives one
 * (else the factory fetches the file beside its module), its output silenced.
 */
async function emscripten<M>(
  factory: (opts: Record<string, unknown>) => Promise<M>,
  file: CodecWasm,
): Promise<M> {
  const module = await loadWasm(file);
  if (!module) return await factory({ noInitialRun: true, ...quiet });
  let fail: (e: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => (fail = reject));
  const instantiateWasm = (
    imports: WebAssembly.Imports,
    done: (instance: WebAssembly.Instance) => void,
  ) => {
    WebAssembly.instantiate(module, imports).then(done, fail);
    return {};
  };
  return await Promise.race([factory({ noInitialRun: true, ...quiet, instantiateWasm }), failed]);
}

/** One shared initialisation per codec; a failed or trapped one starts over on the next call. */
class Codec<M> {
  #pending: Promise<M> | undefined;
  constructor(private readonly init: () => Promise<M>, readonly restartable = true) {}
  get(): Promise<M> {
    return this.#pending ??= this.init().catch((e) => {
      this.#pending = undefined;
      throw e instanceof SRPoseError ? e : new SRPoseError(
        'BACKEND_UNAVAILABLE',
        `cannot start an image codec: ${(e as Error)?.message ?? e}`,
        { cause: e },
      );
    });
  }
  /** Drops a trapped instance (Emscripten aborts for good), so the next call starts afresh. */
  reset(): void {
    if (this.restartable) this.#pending = undefined;
  }
}

type JpegModule = { decode(data: ArrayBufferView, preserveOrientation: boolean): ImageData | null };
type JpegEncModule = {
  encode(data: ArrayBufferView, width: number, height: number, options: object): Uint8Array | null;
};
type WebpDecModule = { decode(data: ArrayBufferView): ImageData | null };
type WebpEncModule = {
  encode(data: ArrayBufferView, width: number, height: number, options: object): Uint8Array | null;
};

const jpeg = new Codec(() =>
  emscripten<JpegModule>(mozjpegDecoder as any, '@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm')
);
const jpegEncoder = new Codec(async () => {
  const glue = await import('@jsquash/jpeg/codec/enc/mozjpeg_enc.js');
  return await emscripten<JpegEncModule>(
    glue.default as any,
    '@jsquash/jpeg/codec/enc/mozjpeg_enc.wasm',
  );
});
const webp = new Codec(() =>
  emscripten<WebpDecModule>(webpDecoder as any, '@jsquash/webp/codec/dec/webp_dec.wasm')
);
const webpEncoder = new Codec(async () => {
  // The SIMD build when WASM SIMD validates, as @jsquash/webp/encode.js chooses.
  const [glue, file] = wasmSimd()
    ? [
      await import('@jsquash/webp/codec/enc/webp_enc_simd.js'),
      '@jsquash/webp/codec/enc/webp_enc_simd.wasm' as const,
    ]
    : [
      await import('@jsquash/webp/codec/enc/webp_enc.js'),
      '@jsquash/webp/codec/enc/webp_enc.wasm' as const,
    ];
  return await emscripten<WebpEncModule>(glue.default as any, file);
});
// wasm-bindgen keeps one instance per module: initialised once, never restarted.
const png = new Codec(async () => {
  const module = await loadWasm('@jsquash/png/codec/pkg/squoosh_png_bg.wasm');
  await (module ? initPng(module) : initPng());
  return { decode: pngDecode, encode: pngEncode };
}, false);

/** The WASM SIMD probe of wasm-feature-detect, which @jsquash/webp uses to pick its encoder. */
function wasmSimd(): boolean {
  const probe = [
    0,
    97,
    115,
    109,
    1,
    0,
    0,
    0,
    1,
    5,
    1,
    96,
    0,
    1,
    123,
    3,
    2,
    1,
    0,
    10,
    10,
    1,
    8,
    0,
    65,
    0,
    253,
    15,
    253,
    98,
    11,
  ];
  try {
    return WebAssembly.validate(new Uint8Array(probe));
  } catch {
    return false;
  }
}

/**
 * Runs one codec call; any failure (a thrown error, a WASM trap, libjpeg's `exit()`, no result)
 * becomes `IMAGE_CORRUPT` with `message`. Messages are ours alone: they reach HTTP clients, and
 * a codec's own text (a Rust panic's "`unwrap_throw` failed", libjpeg's words, trap names) says
 * nothing useful there. That text stays in `cause` for logs: the original error, wrapped in one
 * holding the codec's last stderr lines when it printed any.
 */
async function run<M, T>(message: string, codec: Codec<M>, call: (m: M) => T | null): Promise<T> {
  const m = await codec.get();
  codecLog = [];
  try {
    const out = call(m);
    if (!out) throw new Error('the codec returned no image');
    return out;
  } catch (e) {
    // A trap, or libjpeg's exit() on a fatal error, can leave the instance broken or leaking:
    // the next call gets a fresh one.
    if (e instanceof WebAssembly.RuntimeError || (e as { name?: string })?.name === 'ExitStatus') {
      codec.reset();
    }
    const cause = codecLog.length > 0
      ? new Error(`codec output: ${codecLog.slice(-3).join('; ')}`, { cause: e })
      : e;
    throw new SRPoseError('IMAGE_CORRUPT', message, { cause });
  } finally {
    codecLog = [];
  }
}

/** JPEG -> RGBA (EXIF orientation not applied). */
export function decodeJpegRgba(bytes: Uint8Array): Promise<RgbaImage> {
  return run(
    'the JPEG is corrupt: its markers or compressed data cannot be decoded',
    jpeg,
    (m) => m.decode(bytes, false),
  );
}

/** PNG -> RGBA, 8 bits per sample (16-bit samples keep their high byte). */
export function decodePngRgba(bytes: Uint8Array): Promise<RgbaImage> {
  return run(
    'the PNG is corrupt: its chunks or compressed data cannot be decoded',
    png,
    (m) => m.decode(bytes),
  );
}

/** WebP (lossy, lossless, with alpha; not animated) -> RGBA. */
export function decodeWebpRgba(bytes: Uint8Array): Promise<RgbaImage> {
  return run(
    'the WebP is corrupt: its VP8 / VP8L data cannot be decoded',
    webp,
    (m) => m.decode(bytes),
  );
}

/** RGB or RGBA pixels as the RGBA `ImageData`-like object the encoders take. */
function rgbaOf(img: EncodeInput): { data: Uint8ClampedArray; width: number; height: number } {
  const { data, width, height } = img;
  const n = width * height;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new SRPoseError('INVALID_PIXELS', `cannot encode a ${width}x${height} image`);
  }
  let rgba: Uint8ClampedArray;
  if (data.length === n * 4) {
    rgba = new Uint8ClampedArray(data); // a copy: the encoders read the whole underlying buffer
  } else if (data.length === n * 3) {
    rgba = new Uint8ClampedArray(n * 4);
    for (let i = 0, j = 0; i < n * 3; i += 3, j += 4) {
      rgba[j] = data[i];
      rgba[j + 1] = data[i + 1];
      rgba[j + 2] = data[i + 2];
      rgba[j + 3] = 255;
    }
  } else {
    throw new SRPoseError(
      'INVALID_PIXELS',
      `${data.length} bytes is neither RGB nor RGBA for ${width}x${height}`,
    );
  }
  return { data: rgba, width, height };
}

/** Encodes RGB or RGBA pixels as an 8-bit RGBA PNG. */
export async function encodePng(img: EncodeInput): Promise<Uint8Array<ArrayBuffer>> {
  const { data, width, height } = rgbaOf(img);
  return await run(
    `PNG encoding of ${width}x${height} pixels failed`,
    png,
    (m) => m.encode(new Uint8Array(data.buffer), width, height, 8) as Uint8Array<ArrayBuffer>,
  );
}

/**
 * Encodes RGB or RGBA pixels as WebP: lossless and exact (alpha and hidden colours kept) by
 * default, else lossy at `quality` 0..100.
 */
export async function encodeWebp(
  img: EncodeInput,
  options: { lossless?: boolean; quality?: number } = {},
): Promise<Uint8Array<ArrayBuffer>> {
  const { data, width, height } = rgbaOf(img);
  const lossless = options.lossless ?? true;
  const settings = {
    ...webpDefaults,
    ...(lossless ? { lossless: 1, exact: 1, quality: 75 } : { quality: options.quality ?? 90 }),
  };
  return await run(
    `WebP encoding of ${width}x${height} pixels failed`,
    webpEncoder,
    (m) => m.encode(data, width, height, settings) as Uint8Array<ArrayBuffer> | null,
  );
}

/**
 * Encodes RGB or RGBA pixels as JPEG (mozjpeg; alpha dropped): `quality` 0..100 (default 90),
 * `progressive` (default false), `grey` for a one-component (luma) JPEG.
 */
export async function encodeJpeg(
  img: EncodeInput,
  options: { quality?: number; progressive?: boolean; grey?: boolean } = {},
): Promise<Uint8Array<ArrayBuffer>> {
  const { data, width, height } = rgbaOf(img);
  const settings = {
    ...jpegDefaults,
    quality: options.quality ?? 90,
    progressive: options.progressive ?? false,
    baseline: !(options.progressive ?? false),
    ...(options.grey ? { color_space: 1 } : {}),
  };
  return await run(
    `JPEG encoding of ${width}x${height} pixels failed`,
    jpegEncoder,
    (m) => m.encode(data, width, height, settings) as Uint8Array<ArrayBuffer> | null,
  );
}
