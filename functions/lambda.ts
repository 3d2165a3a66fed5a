/**
 * AWS Lambda (API Gateway HTTP API v2, REST v1, ALB or a function URL): `handler`.
 * The file system is read-only but for /tmp, so the Hub cache lives there (warm invocations
 * of one execution environment reuse it).
 */
import { handle } from 'hono/aws-lambda';
import { appOptionsFromEnv, createApp, functionDefaults } from '../src/server/mod.ts';

const app = createApp({
  ...functionDefaults(process.env),
  ...appOptionsFromEnv(process.env),
});

export const handler = handle(app);
