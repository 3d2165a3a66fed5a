/**
 * Deno and Deno Deploy: `deno serve -A functions/deno.ts` (`--port`, default 8000).
 * On Deno Deploy (no writable disk) the Hub cache is the Cache API.
 */
import { appOptionsFromEnv, createApp } from '../src/server/mod.ts';
import { demoFromEnv } from './demo-files.ts';

const env = Deno.env.toObject();
const app = createApp({
  warmup: true,
  ...(env.DENO_DEPLOYMENT_ID ? { cache: 'web' } : {}),
  ...appOptionsFromEnv(env),
  demo: env.DENO_DEPLOYMENT_ID ? undefined : demoFromEnv(env, import.meta.url),
});

export default { fetch: app.fetch } satisfies Deno.ServeDefaultExport;

