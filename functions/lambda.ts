/**
 * AWS Lambda (API Gateway HTTP API v2, REST v1, ALB or a function URL): `handler`.
 * The file system is read-only but for /tmp, so the Hub cache lives there (warm invocations
 * of one execution environment reuse it).
 */
import { handle } from 'hono/aws-lambda';
import { appOptionsFromEnv, createApp } from '../src/server/mod.ts';

const app = createApp({
  cacheDir: process.env.HF_HUB_CACHE ?? '/tmp/huggingface/hub',
  ...appOptionsFromEnv(process.env),
});

export const handler = handle(app);
