/**
 * Netlify Functions (v2, Node.js on Lambda): `netlify/functions/srpose.mjs` is the bundle in
 * dist/netlify. Read-only file system but for /tmp: the Hub cache lives there.
 */
import { handle } from 'hono/netlify';
import { appOptionsFromEnv, createApp } from '../src/server/mod.ts';

const app = createApp({
  cacheDir: process.env.HF_HUB_CACHE ?? '/tmp/huggingface/hub',
  ...appOptionsFromEnv(process.env),
});

export default handle(app);
export const config = { path: ['/v1/*', '/healthz', '/openapi.json'] };
