/**
 * Deno and Deno Deploy: `deno serve -A functions/deno.ts` (`--port`, default 8000).
 * On Deno Deploy (no writable disk) the Hub cache is the Cache API, and the default model is
 * the edge-sized HRFormer-S one (`DEFAULT_EDGE_MODEL`).
 */
import { appOptionsFromEnv, createApp } from '../src/server/mod.ts';
import { demoFromEnv } from './demo-files.ts';
import { DEFAULT_EDGE_MODEL, DEFAULT_EDGE_WEIGHTS } from '../src/defaults.ts';

const env = Deno.env.toObject();
const app = createApp({
  warmup: true,
  // Deno Deploy is an edge isolate: the edge-sized model (int8) unless SRPOSE_MODEL names another.
  ...(env.DENO_DEPLOYMENT_ID ? { cache: 'web', ...(env.SRPOSE_MODEL ? {} : { model: DEFAULT_EDGE_MODEL, weights: DEFAULT_EDGE_WEIGHTS }) } : {}),
  ...appOptionsFromEnv(env),
  demo: env.DENO_DEPLOYMENT_ID ? undefined : demoFromEnv(env, import.meta.url),
});

export default { fetch: app.fetch } satisfies Deno.ServeDefaultExport;

