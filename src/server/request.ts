/**
 * `POST /v1/estimate` bodies and parameters -> what the estimator needs, or a typed error.
 * Shapes only: box geometry against the image is checked by the estimator once decoded.
 * @module
 */
import { SRPoseError } from '../errors.ts';
import type { Box } from '../types.ts';

/** Raw body types accepted (the bytes are sniffed anyway: the type only gates). */
export const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'application/octet-stream'] as const;

/** What one estimate request asks for. */
export interface EstimateRequest {
  image: Uint8Array;
  boxes?: Box[];
  flipTest?: boolean;
  format: 'json' | 'coco';
  /** `image_id` of the COCO results. */
  imageId: number;
}

/** Reads a parameter from a multipart field first, then the query. */
type Param = (name: string) => string | undefined;

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
  if (!Array.isArray(v)) throw new SRPoseError('INVALID_BOX', 'boxes must be a JSON array of [x, y, width, height]');
  if (v.length === 0) throw new SRPoseError('INVALID_BOX', 'boxes is empty; leave it out to use the whole image');
  if (v.length > maxBoxes) throw new SRPoseError('INVALID_BOX', `${v.length} boxes; at most ${maxBoxes} per request`);
  v.forEach((b, i) => {
    if (!Array.isArray(b) || (b.length !== 4 && b.length !== 5) || !b.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw new SRPoseError('INVALID_BOX', `box ${i}: expected [x, y, width, height] or [x, y, width, height, score] of finite numbers`);
    }
  });
  return v as Box[];
}

function parseFlag(name: string, v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  const s = v.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off'].includes(s)) return false;
  throw new SRPoseError('INVALID_REQUEST', `${name} must be true or false, got ${JSON.stringify(v.slice(0, 40))}`);
}

function parseParams(param: Param, maxBoxes: number): Omit<EstimateRequest, 'image'> {
  const format = param('format') ?? 'json';
  if (format !== 'json' && format !== 'coco') {
    throw new SRPoseError('INVALID_REQUEST', `format must be json or coco, got ${JSON.stringify(format.slice(0, 40))}`);
  }
  const id = param('image_id') ?? '0';
  const imageId = Number(id);
  if (!/^\d{1,15}$/.test(id) || !Number.isSafeInteger(imageId)) {
    throw new SRPoseError('INVALID_REQUEST', `image_id must be a non-negative integer, got ${JSON.stringify(id.slice(0, 40))}`);
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
export async function readEstimateRequest(req: Request, maxBoxes: number): Promise<EstimateRequest> {
  const query = new URL(req.url).searchParams;
  const fromQuery: Param = (name) => query.get(name) ?? undefined;
  const type = mediaType(req.headers.get('content-type') ?? undefined);
  if (type === 'multipart/form-data') {
    let form: FormData;
    try {
      form = await req.formData();
    } catch (e) {
      if (e instanceof SRPoseError) throw e;
      throw new SRPoseError('INVALID_REQUEST', 'the multipart/form-data body cannot be parsed (check its boundary and parts)');
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
      `Content-Type ${type ? JSON.stringify(type.slice(0, 80)) : '(none)'} is not supported; send image/jpeg, image/png, image/webp or multipart/form-data`,
    );
  }
  const params = parseParams(fromQuery, maxBoxes); // cheap checks before reading the body
  const image = new Uint8Array(await req.arrayBuffer());
  if (image.byteLength === 0) throw new SRPoseError('INVALID_REQUEST', 'the body is empty; send the image bytes');
  return { image, ...params };
}
