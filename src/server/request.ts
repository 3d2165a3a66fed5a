/**
 * `POST /v1/estimate` bodies and parameters -> what the estimator needs, or a typed error.
 * Shapes only: box geometry against the image is checked by the estimator once decoded.
 * @module
 */
import { oneOf, SRPoseError } from '../errors.ts';
import { parseYesNo } from '../platform/env.ts';
import { checkBoxList } from '../core/boxes.ts';
import type { Box } from '../types.ts';

/** Raw body types accepted (the bytes are sniffed anyway: the type only gates). */
export const IMAGE_TYPES = [
  'image/jpeg',
  'image/png',
  'image/webp',
  'application/octet-stream',
] as const;

/** Answer formats: the result object, or COCO's keypoint results array. */
export const OUTPUT_FORMATS = ['json', 'coco'] as const;

/**
 * The parameters of `POST /v1/estimate` (query, or form fields), as the parser below reads them
 * and the OpenAPI document (openapi.ts) lists them: one definition for both.
 */
export const ESTIMATE_PARAMS = {
  boxes: {
    schema: { type: 'string' },
    description: (maxBoxes: number) =>
      `JSON array of person boxes [x, y, width, height(, score)], ` +
      `at most ${maxBoxes}; none means the whole image`,
  },
  flip: {
    schema: { type: 'boolean' },
    description: () => 'flip test (average with the mirrored crop); default from the model',
  },
  format: {
    schema: { enum: OUTPUT_FORMATS },
    description: () => '`coco`: the COCO keypoint results array',
  },
  image_id: {
    schema: { type: 'integer', minimum: 0 },
    description: () => 'image_id of COCO results',
  },
} as const;

/** What one estimate request asks for. */
export interface EstimateRequest {
  image: Uint8Array;
  boxes?: Box[];
  flipTest?: boolean;
  format: (typeof OUTPUT_FORMATS)[number];
  /** `image_id` of the COCO results. */
  imageId: number;
}

/** Reads a parameter from a multipart field first, then the query. */
type Param = (name: keyof typeof ESTIMATE_PARAMS) => string | undefined;

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

/** Parses the JSON `boxes` parameter: `[[x, y, w, h], ...]`, optionally a fifth score each. */
export function parseBoxes(text: string, maxBoxes: number): Box[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new SRPoseError('INVALID_BOX', 'boxes must be JSON: [[x, y, width, height], ...]');
  }
  checkBoxList(v, maxBoxes);
  return v;
}

function parseFlag(name: string, v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  const b = parseYesNo(v);
  if (b == null) {
    throw new SRPoseError(
      'INVALID_REQUEST',
      `${name} must be true or false, got ${JSON.stringify(v.slice(0, 40))}`,
    );
  }
  return b;
}

function parseParams(param: Param, maxBoxes: number): Omit<EstimateRequest, 'image'> {
  const format = oneOf(param('format') ?? 'json', OUTPUT_FORMATS, 'format', 'INVALID_REQUEST');
  const id = param('image_id') ?? '0';
  const imageId = Number(id);
  if (!/^\d{1,15}$/.test(id) || !Number.isSafeInteger(imageId)) {
    throw new SRPoseError(
      'INVALID_REQUEST',
      `image_id must be a non-negative integer, got ${JSON.stringify(id.slice(0, 40))}`,
    );
  }
  const boxes = param('boxes');
  return {
    boxes: boxes === undefined ? undefined : parseBoxes(boxes, maxBoxes),
    flipTest: parseFlag('flip', param('flip')),
    format,
    imageId,
  };
}

/**
 * Reads an estimate request: a raw image body (`image/jpeg|png|webp` or
 * `application/octet-stream`) with parameters in the query, or `multipart/form-data` with an
 * `image` file and the parameters as fields (or in the query).
 */
export async function readEstimateRequest(
  req: Request,
  limits: { maxBoxes: number; maxBodyBytes: number },
  signal?: AbortSignal,
): Promise<EstimateRequest> {
  const { maxBoxes } = limits;
  const body = () => readBody(req, limits.maxBodyBytes, signal);
  const query = new URL(req.url).searchParams;
  const fromQuery: Param = (name) => query.get(name) ?? undefined;
  const type = mediaType(req.headers.get('content-type') ?? undefined);
  if (type === 'multipart/form-data') {
    let form: FormData;
    try {
      const bytes = await body();
      form = await new Response(bytes as BodyInit, {
        headers: { 'content-type': req.headers.get('content-type')! },
      })
        .formData();
    } catch (e) {
      if (e instanceof SRPoseError || signal?.aborted) throw e;
      throw new SRPoseError(
        'INVALID_REQUEST',
        'the multipart/form-data body cannot be parsed (check its boundary and parts)',
      );
    }
    const image = form.get('image');
    if (image === null || typeof image === 'string') {
      throw new SRPoseError('INVALID_REQUEST', 'multipart/form-data needs an `image` file part');
    }
    const field: Param = (name) => {
      const v = form.get(name);
      return typeof v === 'string' ? v : fromQuery(name);
    };
    const params = parseParams(field, maxBoxes);
    return { image: new Uint8Array(await image.arrayBuffer()), ...params };
  }
  if (!(IMAGE_TYPES as readonly string[]).includes(type)) {
    throw new SRPoseError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Type ${
        type ? JSON.stringify(type.slice(0, 80)) : '(none)'
      } is not supported; send image/jpeg, image/png, image/webp or multipart/form-data`,
    );
  }
  const params = parseParams(fromQuery, maxBoxes); // cheap checks before reading the body
  const image = await body();
  if (image.byteLength === 0) {
    throw new SRPoseError('INVALID_REQUEST', 'the body is empty; send the image bytes');
  }
  return { image, ...params };
}

/**
 * After a body is refused as too large, the rest of it is still read and dropped, up to this
 * many bytes in all and for at most {@link LINGER_MS}, so that a client still sending reads our
 * 413 instead of a reset connection (closing a socket with unread data resets it): a
 * "lingering close", as nginx does. Past either bound the stream is cancelled.
 */
const LINGER_BYTES = 32 * 2 ** 20;
const LINGER_MS = 2000;

/** Reads and drops the rest of a refused body within the lingering bounds; then cancels it. */
async function drain(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  read: number,
  signal?: AbortSignal,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<{ done: true }>((r) => {
    timer = setTimeout(() => r({ done: true }), LINGER_MS);
  });
  try {
    while (read <= LINGER_BYTES && !signal?.aborted) {
      const next = await Promise.race([reader.read(), late]);
      if (next.done) return;
      read += next.value.byteLength;
    }
  } catch {
    // the client went away: nothing left to drain
  } finally {
    clearTimeout(timer);
    void reader.cancel().catch(() => undefined);
  }
}

/**
 * The whole body, at most `maxBytes` (`PAYLOAD_TOO_LARGE` past it, from `Content-Length` before
 * reading or while counting a chunked body), read chunk by chunk so that an abort (the
 * request's deadline) cancels the stream itself: the runtime then stops receiving it, where a
 * response alone would leave a slow upload trickling in. Hand-written instead of Hono's
 * `bodyLimit`, which reads a chunked body whole before the handler runs, outside the deadline
 * and the admission count.
 */
async function readBody(
  req: Request,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const tooLarge = () =>
    new SRPoseError('PAYLOAD_TOO_LARGE', `the body is over the ${maxBytes} byte limit`);
  const declared = Number(req.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    if (req.body && declared <= LINGER_BYTES) await drain(req.body.getReader(), 0, signal);
    throw tooLarge();
  }
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const cancel = () => void reader.cancel(signal?.reason).catch(() => undefined);
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await drain(reader, size, signal);
        throw tooLarge();
      }
      chunks.push(value);
    }
    if (chunks.length === 1) return chunks[0];
    const out = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    return out;
  } finally {
    signal?.removeEventListener('abort', cancel);
  }
}
