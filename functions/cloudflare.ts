/**
 * Cloudflare Workers (and workerd): a module Worker serving the Hono app. Build with
 * `tsx scripts/build-cloudflare.ts` into dist/cloudflare/ (worker.mjs, the `.wasm` modules,
 * wrangler.toml, workerd.capnp), then `wrangler deploy -c dist/cloudflare/wrangler.toml` or
 * `npx workerd serve dist/cloudflare/workerd.capnp`.
 *
 * Workers refuse to compile WebAssembly from bytes at run time, so every `.wasm` is imported
 * as a module (compiled when the Worker is uploaded) and handed over through `wasmModules`;
 * onnxruntime-web then runs on one thread. Settings come from the `env` binding (vars and
 * secrets: SRPOSE_MODEL, SRPOSE_API_KEY, HF_ENDPOINT, HF_TOKEN, ...); Hub downloads are cached
 * with the Cache API. One app, and one model, per isolate: by default the edge-sized HRFormer-S
 * model (`DEFAULT_EDGE_MODEL`), which fits the 128 MB isolate.
 */
// @ts-types="./wasm-module.d.ts"
import ortWasm from '../wasm/ort-wasm-simd-threaded.wasm';
// @ts-types="./wasm-module.d.ts"
import jpegWasm from '../wasm/mozjpeg_dec.wasm';
// @ts-types="./wasm-module.d.ts"
import pngWasm from '../wasm/squoosh_png_bg.wasm';
// @ts-types="./wasm-module.d.ts"
import webpWasm from '../wasm/webp_dec.wasm';
import { appOptionsFromEnv, createApp, edgeDefaults, type SRPoseApp } from '../src/server/mod.ts';
import { errorResponse } from '../src/server/errors.ts';
import type { ExecutionContext } from 'hono';

const wasmModules = {
  ort: ortWasm,
  codecs: {
    '@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm': jpegWasm,
    '@jsquash/png/codec/pkg/squoosh_png_bg.wasm': pngWasm,
    '@jsquash/webp/codec/dec/webp_dec.wasm': webpWasm,
  },
} as const;

let app: SRPoseApp | undefined;

/** The app of this isolate, built on its first request (bindings exist only from then on). */
function appFor(env: Record<string, unknown>): SRPoseApp {
  const settings = appOptionsFromEnv(env);
  return app ??= createApp({ ...edgeDefaults(settings), ...settings, wasmModules });
}

export default {
  fetch(
    request: Request,
    env: Record<string, unknown>,
    ctx: ExecutionContext,
  ): Response | Promise<Response> {
    let served: SRPoseApp;
    try {
      served = appFor(env);
    } catch (e) {
      // A bad setting (SRPOSE_* binding): the deployment's fault, answered as such on every
      // request.
      const { body } = errorResponse(e);
      console.log(
        JSON.stringify({
          level: 'error',
          code: body.error.code,
          message: `bad settings: ${body.error.message}`,
        }),
      );
      return Response.json(body, { status: 500, headers: { 'X-Error-Code': body.error.code } });
    }
    return served.fetch(request, env, ctx);
  },
};
