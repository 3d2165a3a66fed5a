/**
 * Node server (`npm start`; also any container or VM): the Hono app on @hono/node-server.
 * Settings from the environment (docs/http.md "Settings"); PORT (default 8787) and HOST;
 * SRPOSE_DEMO=1 serves the demo page at `/`.
 */
import { serve } from '@hono/node-server';
import { appOptionsFromEnv, createApp, DEFAULT_TIMEOUT_MS } from '../src/server/mod.ts';
import { demoFromEnv } from './demo-files.ts';

const settings = appOptionsFromEnv(process.env);
const app = createApp({
  warmup: true,
  ...settings,
  demo: demoFromEnv(process.env, import.meta.url),
});
const port = Number(process.env.PORT ?? 8787);
const server = serve(
  { fetch: app.fetch, port, hostname: process.env.HOST ?? '0.0.0.0' },
  (info) => {
    console.log(JSON.stringify({ level: 'info', message: 'listening', port: info.port }));
  },
);

// The app answers a slow upload itself (408 at its deadline); Node's own limit (300 s by
// default) is only the backstop behind it.
(server as import('node:http').Server).requestTimeout = (settings.timeoutMs ?? DEFAULT_TIMEOUT_MS) +
  10_000;

// A stray rejection is logged, never fatal: one bad request must not take the others down.
process.on(
  'unhandledRejection',
  (e) =>
    console.log(
      JSON.stringify({
        level: 'error',
        message: `unhandled rejection: ${(e as Error)?.message ?? e}`,
      }),
    ),
);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => server.close(() => void app.dispose().finally(() => process.exit(0))));
}
