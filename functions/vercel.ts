/**
 * Vercel Functions, Node.js runtime (`api/[[...route]].ts` re-exporting this file, or the
 * bundle in dist/vercel). Not the Edge runtime: its 1-4 MB code limit is below the WASM.
 * Read-only file system but for /tmp: the Hub cache lives there.
 */
import { handle } from 'hono/vercel';
import { appOptionsFromEnv, createApp, functionDefaults } from '../src/server/mod.ts';

const app = createApp({
  ...functionDefaults(process.env),
  ...appOptionsFromEnv(process.env),
});
const handler = handle(app);

export const GET = handler;
export const POST = handler;
export const OPTIONS = handler;
