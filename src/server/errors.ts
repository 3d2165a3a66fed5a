import { SRPoseError, type SRPoseErrorCode } from '../errors.ts';

/** HTTP status of each error code: the client's fault is 4xx, ours or the model's 5xx. */
const STATUS: Record<SRPoseErrorCode, number> = {
  IMAGE_UNSUPPORTED: 400,
  IMAGE_TRUNCATED: 400,
  IMAGE_CORRUPT: 400,
  IMAGE_EMPTY: 400,
  INVALID_PIXELS: 400,
  INVALID_OPTION: 400,
  INVALID_REQUEST: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  IMAGE_TOO_LARGE: 413,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INVALID_BOX: 422,
  INFERENCE_FAILED: 500,
  INTERNAL: 500,
  BUSY: 503,
  MODEL_NOT_FOUND: 503,
  MODEL_INVALID: 503,
  MODEL_UNAUTHORIZED: 503,
  MODEL_DOWNLOAD_FAILED: 503,
  BACKEND_UNAVAILABLE: 503,
  DISPOSED: 503,
  // the CLI's own (`srpose video`); the server never reads videos
  VIDEO_UNREADABLE: 400,
  FFMPEG_UNAVAILABLE: 500,
  TIMEOUT: 504,
  BODY_TIMEOUT: 408,
  // nginx's "client closed request": only ever logged, the client is gone
  ABORTED: 499,
};

/** Seconds a client should wait before retrying a 503. */
export const RETRY_AFTER_BUSY_S = 1;
export const RETRY_AFTER_MODEL_S = 30;

/**
 * The JSON body and status of an error; anything not an {@link SRPoseError} is `INTERNAL`, its
 * details kept out.
 */
export function errorResponse(
  e: unknown,
): {
  status: number;
  body: { error: { code: SRPoseErrorCode; message: string } };
  headers: Record<string, string>;
} {
  if (!(e instanceof SRPoseError)) {
    return {
      status: 500,
      body: { error: { code: 'INTERNAL', message: 'internal error; see the server log' } },
      headers: {},
    };
  }
  const status = STATUS[e.code] ?? 500;
  const headers: Record<string, string> = {};
  if (e.code === 'BUSY') headers['Retry-After'] = String(RETRY_AFTER_BUSY_S);
  else if (status === 503) headers['Retry-After'] = String(RETRY_AFTER_MODEL_S);
  if (e.code === 'UNAUTHORIZED') headers['WWW-Authenticate'] = 'Bearer';
  return { status, body: { error: { code: e.code, message: e.message } }, headers };
}
