/**
 * The srpose HTTP API (Hono): `createApp(options)` serves `POST /v1/estimate`,
 * `GET /v1/models`, `GET /healthz` and `GET /openapi.json` on any runtime with web-standard
 * `Request` / `Response`; `functions/` holds one thin entry per platform.
 * @module
 */
export { createApp, type SRPoseApp } from './app.ts';
export {
  type AppOptions,
  appOptionsFromEnv,
  DEFAULT_CONCURRENCY,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_QUEUE,
  DEFAULT_TIMEOUT_MS,
  edgeDefaults,
  functionDefaults,
} from './settings.ts';
export { Limiter } from './limiter.ts';
