/**
 * Netlify Functions (v2, Node.js on Lambda): `netlify/functions/srpose.mjs` is the bundle in
 * dist/netlify. Read-only file system but for /tmp: the Hub cache lives there.
 */
import { handle } from 'hono/netlify';
import { appOptionsFromEnv, createApp, functionDefaults } from '../src/server/mod.ts';

const app = createApp({
  ...functionDefaults(process.env),
  ...appOptionsFromEnv(process.env),
});

export default handle(app);
export const config = { path: ['/v1/*', '/healthz', '/openapi.json'] };
