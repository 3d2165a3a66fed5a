/**
 * Every failure the library reports is an {@link SRPoseError} with a stable `code`,
 * so callers (and the HTTP layer) can branch on it without parsing messages.
 */
export type SRPoseErrorCode =
  | 'IMAGE_UNSUPPORTED' // not JPEG / PNG / WebP bytes, pixels or a readable browser image
  | 'IMAGE_TRUNCATED' // header or data ends early
  | 'IMAGE_CORRUPT' // the codec could not decode the data
  | 'IMAGE_TOO_LARGE' // width * height over the pixel limit (checked from the header)
  | 'IMAGE_EMPTY' // zero width or height
  | 'INVALID_PIXELS' // decoded pixels whose size does not match width * height * channels
  | 'INVALID_BOX' // non-finite, empty or off-image box
  | 'INVALID_OPTION' // an option outside its domain
  | 'MODEL_NOT_FOUND' // model directory / URL / file missing
  | 'MODEL_INVALID' // srpose.json fails validation or does not match the ONNX graph
  | 'MODEL_UNAUTHORIZED' // the Hub refused (401/403): private or gated, token missing or wrong
  | 'MODEL_DOWNLOAD_FAILED' // the download kept failing, or its bytes do not match the Hub's hash
  | 'BACKEND_UNAVAILABLE' // the requested backend cannot run here
  | 'INFERENCE_FAILED' // onnxruntime failed while running
  | 'DISPOSED' // the estimator was disposed
  | 'VIDEO_UNREADABLE' // ffmpeg could not read (or write) the video file (`srpose video`)
  | 'FFMPEG_UNAVAILABLE' // ffmpeg / ffprobe is not installed (`srpose video`)
  // The HTTP API's own refusals (src/server):
  | 'INVALID_REQUEST' // a query parameter or form field outside its domain
  | 'UNSUPPORTED_MEDIA_TYPE' // a body that is not image/jpeg, image/png, image/webp or
  //                          multipart/form-data
  | 'PAYLOAD_TOO_LARGE' // the body is over the server's byte limit
  | 'UNAUTHORIZED' // an API key is configured and the request's bearer token is missing or wrong
  | 'BUSY' // the bounded queue is full: retry after the Retry-After seconds
  | 'TIMEOUT' // the request passed its deadline
  | 'BODY_TIMEOUT' // the request body was still arriving at the deadline (slow upload)
  | 'ABORTED' // the caller gave up: an estimate's `signal` aborted, or the client disconnected
  | 'NOT_FOUND' // no such route
  | 'INTERNAL'; // anything unexpected (details go to the server log, never to the client)

/** Error type of the whole library; `code` is stable, `message` says what to do. */
export class SRPoseError extends Error {
  readonly code: SRPoseErrorCode;
  constructor(code: SRPoseErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SRPoseError';
    this.code = code;
  }
}

/** True when `e` is an {@link SRPoseError} (optionally with the given code). */
export function isSRPoseError(e: unknown, code?: SRPoseErrorCode): e is SRPoseError {
  return e instanceof SRPoseError && (code === undefined || e.code === code);
}

/**
 * `value` when it is one of `choices`, else an {@link SRPoseError} (`code`, default
 * `INVALID_OPTION`) that lists them: every enumerated setting is checked with its one list.
 */
export function oneOf<T extends string>(
  value: unknown,
  choices: readonly T[],
  name: string,
  code: SRPoseErrorCode = 'INVALID_OPTION',
): T {
  if ((choices as readonly unknown[]).includes(value)) return value as T;
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : String(value);
  const list = choices.map((c) => `'${c}'`);
  throw new SRPoseError(
    code,
    `${name} must be ${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}, got ${shown}`,
  );
}

/**
 * Throws once `signal` has aborted: its reason when that is an {@link SRPoseError} (a deadline's
 * `TIMEOUT`), else `ABORTED`. Long work calls it between its steps.
 */
export function stopIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal.reason);
}

/** An abort reason as an error: an {@link SRPoseError} as is, anything else `ABORTED`. */
export function abortError(
  reason: unknown,
  message = 'the estimate was aborted by its caller',
): SRPoseError {
  return reason instanceof SRPoseError ? reason : new SRPoseError('ABORTED', message);
}
