/**
 * Deno and Deno Deploy: `deno serve -A functions/deno.ts` (`--port`, default 8000).
 * On Deno Deploy (no writable disk) the Hub cache is the Cache API, and the default model is
 * the edge-sized HRFormer-S one (`DEFAULT_EDGE_MODEL`).
 */
import { appOptionsFromEnv, createApp, edgeDefaults } from '../src/server/mod.ts';
import { demoFromEnv } from './demo-files.ts';

const env = Deno.env.toObject();
const settings = appOptionsFromEnv(env);
const deploy = env.DENO_DEPLOYMENT_ID !== undefined; // Deno Deploy is an edge isolate
const app = createApp({
  warmup: true,
  ...(deploy ? edgeDefaults(settings) : {}),
  ...settings,
  demo: deploy ? undefined : demoFromEnv(env, import.meta.url),
});

export default { fetch: app.fetch } satisfies Deno.ServeDefaultExport;
