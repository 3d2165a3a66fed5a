// The bad-input suite of the HTTP API, as data: each case is a request and the status and
// error code it must get. The same table runs in-process (app.request) and over real HTTP
// against the Node and Deno servers, so transport-level limits are covered too.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED } from '../helpers/env.ts';
import { pngCorruptIdat, pngHeader } from '../helpers/png.ts';

export const API_KEY = 'k-test-0123456789';
export const PHOTO = join(SHARED, 'coco', '000000000785.jpg');
export const PHOTO_BOX = [280.79, 44.73, 218.7, 346.68];
/** The server limits the suite is written for. */
export const LIMITS = { maxBodyBytes: 1_000_000, maxBoxes: 64, maxPixels: 40_000_000 };

export interface Case {
  name: string;
  status: number;
  code: string;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  /** The body; a function builds it per request (streams and forms are single-use). */
  body?: Uint8Array | string | (() => BodyInit);
  /** `default`: `Bearer API_KEY`; `none`: no header; anything else: that Authorization value. */
  auth?: string;
}

const q = (boxes: unknown) =>
  `/v1/estimate?boxes=${
    encodeURIComponent(typeof boxes === 'string' ? boxes : JSON.stringify(boxes))
  }`;

function form(parts: Record<string, Blob | string>): () => FormData {
  return () => {
    const f = new FormData();
    for (const [k, v] of Object.entries(parts)) f.append(k, v);
    return f;
  };
}

/** The cases; needs the COCO photo (callers skip when ../shared is absent). */
export function badInputCases(): Case[] {
  const jpeg = new Uint8Array(readFileSync(PHOTO));
  const jpegBlob = () => new Blob([jpeg], { type: 'image/jpeg' });
  const J = { 'content-type': 'image/jpeg' };
  const noise = new Uint8Array(4096).map((_, i) => (i * 131 + 7) & 255);
  const oversized = new Uint8Array(LIMITS.maxBodyBytes + 1024);
  return [
    {
      name: 'empty body',
      status: 400,
      code: 'INVALID_REQUEST',
      headers: J,
      body: new Uint8Array(0),
    },
    {
      name: 'truncated JPEG',
      status: 400,
      code: 'IMAGE_TRUNCATED',
      headers: J,
      body: jpeg.slice(0, 3000),
    },
    {
      name: 'JPEG cut after its header',
      status: 400,
      code: 'IMAGE_TRUNCATED',
      headers: J,
      body: jpeg.slice(0, 400),
    },
    {
      name: 'random bytes as image/jpeg',
      status: 400,
      code: 'IMAGE_UNSUPPORTED',
      headers: J,
      body: noise,
    },
    {
      name: 'GIF',
      status: 400,
      code: 'IMAGE_UNSUPPORTED',
      headers: { 'content-type': 'image/png' },
      body: new TextEncoder().encode('GIF89a\x01\x00\x01\x00\x00\x00\x00;'),
    },
    {
      name: 'PNG header claiming 100000x100000',
      status: 413,
      code: 'IMAGE_TOO_LARGE',
      headers: { 'content-type': 'image/png' },
      body: pngHeader(100000, 100000),
    },
    {
      name: 'PNG header with no image data',
      status: 400,
      code: 'IMAGE_TRUNCATED',
      headers: { 'content-type': 'image/png' },
      body: pngHeader(64, 48),
    },
    {
      name: 'PNG header claiming 0x10',
      status: 400,
      code: 'IMAGE_EMPTY',
      headers: { 'content-type': 'image/png' },
      body: pngHeader(0, 10),
    },
    // The decoder fails (the header probe passes); the message is ours, not the codec's
    // ("`unwrap_throw` failed"): tests/image/decode.test.ts checks the words.
    {
      name: 'PNG whose IDAT is garbage, not zlib',
      status: 400,
      code: 'IMAGE_CORRUPT',
      headers: { 'content-type': 'image/png' },
      body: pngCorruptIdat(64, 48),
    },
    {
      name: 'WebP RIFF header only',
      status: 400,
      code: 'IMAGE_TRUNCATED',
      headers: { 'content-type': 'image/webp' },
      body: new TextEncoder().encode('RIFF\x10\x00\x00\x00WEBP'),
    },
    {
      name: 'text/plain',
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    },
    {
      name: 'application/json',
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
      headers: { 'content-type': 'application/json' },
      body: '{"image":"x"}',
    },
    {
      name: 'image/gif content type',
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
      headers: { 'content-type': 'image/gif' },
      body: jpeg,
    },
    {
      name: 'boxes not JSON',
      status: 422,
      code: 'INVALID_BOX',
      path: q('[[1,2,3'),
      headers: J,
      body: jpeg,
    },
    {
      name: 'boxes with NaN',
      status: 422,
      code: 'INVALID_BOX',
      path: q('[[NaN,1,2,3]]'),
      headers: J,
      body: jpeg,
    },
    {
      name: 'box with a string',
      status: 422,
      code: 'INVALID_BOX',
      path: q([[1, 2, 'a', 4]]),
      headers: J,
      body: jpeg,
    },
    {
      name: 'box with a negative width',
      status: 422,
      code: 'INVALID_BOX',
      path: q([[10, 10, -50, 80]]),
      headers: J,
      body: jpeg,
    },
    {
      name: 'box with zero height',
      status: 422,
      code: 'INVALID_BOX',
      path: q([[10, 10, 50, 0]]),
      headers: J,
      body: jpeg,
    },
    {
      name: 'box with three numbers',
      status: 422,
      code: 'INVALID_BOX',
      path: q([[10, 10, 50]]),
      headers: J,
      body: jpeg,
    },
    {
      name: 'box with an overflowing number',
      status: 422,
      code: 'INVALID_BOX',
      path: q('[[1e999,1,2,3]]'),
      headers: J,
      body: jpeg,
    },
    // Finite numbers whose arithmetic would not stay finite (issue 15): edges past 2^24, a score
    // outside [0, 1]. A box of 1e7 (within 2^24) is fine and not in this table.
    {
      name: 'box with edges past 2^24',
      status: 422,
      code: 'INVALID_BOX',
      path: q([[0, 0, 1e308, 1e308]]),
      headers: J,
      body: jpeg,
    },
    {
      name: 'box with a score of 1e308',
      status: 422,
      code: 'INVALID_BOX',
      path: q([[...PHOTO_BOX, 1e308]]),
      headers: J,
      body: jpeg,
    },
    {
      name: 'box with a score of -0.5',
      status: 422,
      code: 'INVALID_BOX',
      path: q([[...PHOTO_BOX, -0.5]]),
      headers: J,
      body: jpeg,
    },
    {
      name: 'box outside the image',
      status: 422,
      code: 'INVALID_BOX',
      path: q([[5000, 5000, 50, 80]]),
      headers: J,
      body: jpeg,
    },
    { name: 'boxes empty', status: 422, code: 'INVALID_BOX', path: q([]), headers: J, body: jpeg },
    {
      name: 'boxes an object',
      status: 422,
      code: 'INVALID_BOX',
      path: q({ x: 1 }),
      headers: J,
      body: jpeg,
    },
    {
      name: '100 boxes in the query',
      status: 422,
      code: 'INVALID_BOX',
      path: q(Array.from({ length: 100 }, () => [1, 1, 10, 10])),
      headers: J,
      body: jpeg,
    },
    // 1000 boxes overflow a URL (Node answers 431 to 16 KB of headers): a form carries them.
    {
      name: '1000 boxes in a form',
      status: 422,
      code: 'INVALID_BOX',
      body: form({
        image: jpegBlob(),
        boxes: JSON.stringify(Array.from({ length: 1000 }, () => [1, 1, 10, 10])),
      }),
    },
    {
      name: 'flip=maybe',
      status: 400,
      code: 'INVALID_REQUEST',
      path: '/v1/estimate?flip=maybe',
      headers: J,
      body: jpeg,
    },
    {
      name: 'format=xml',
      status: 400,
      code: 'INVALID_REQUEST',
      path: '/v1/estimate?format=xml',
      headers: J,
      body: jpeg,
    },
    {
      name: 'image_id=-1',
      status: 400,
      code: 'INVALID_REQUEST',
      path: '/v1/estimate?format=coco&image_id=-1',
      headers: J,
      body: jpeg,
    },
    {
      name: 'multipart without image',
      status: 400,
      code: 'INVALID_REQUEST',
      body: form({ boxes: '[[1,1,10,10]]' }),
    },
    {
      name: 'multipart with image as text',
      status: 400,
      code: 'INVALID_REQUEST',
      body: form({ image: 'not a file' }),
    },
    {
      name: 'multipart with a bad boundary',
      status: 400,
      code: 'INVALID_REQUEST',
      headers: { 'content-type': 'multipart/form-data; boundary=zzz' },
      body: '--aaa\r\ngarbage\r\n--aaa--\r\n',
    },
    {
      name: 'multipart with bad boxes',
      status: 422,
      code: 'INVALID_BOX',
      body: form({ image: jpegBlob(), boxes: '[[0,0,-1,1]]' }),
    },
    {
      name: 'multipart image that is not an image',
      status: 400,
      code: 'IMAGE_UNSUPPORTED',
      body: form({ image: new Blob([noise]) }),
    },
    {
      name: 'body over the limit (Content-Length)',
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
      headers: J,
      body: oversized,
    },
    {
      name: 'body over the limit (chunked, no Content-Length)',
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
      headers: J,
      body: () =>
        new ReadableStream({
          start(c) {
            for (let i = 0; i < 5; i++) c.enqueue(new Uint8Array(LIMITS.maxBodyBytes / 4));
            c.close();
          },
        }),
    },
    { name: 'no API key', status: 401, code: 'UNAUTHORIZED', headers: J, body: jpeg, auth: 'none' },
    {
      name: 'wrong API key',
      status: 401,
      code: 'UNAUTHORIZED',
      headers: J,
      body: jpeg,
      auth: `Bearer ${API_KEY}x`,
    },
    {
      name: 'Basic instead of Bearer',
      status: 401,
      code: 'UNAUTHORIZED',
      headers: J,
      body: jpeg,
      auth: `Basic ${API_KEY}`,
    },
    {
      name: 'models without API key',
      status: 401,
      code: 'UNAUTHORIZED',
      method: 'GET',
      path: '/v1/models',
      auth: 'none',
    },
    {
      name: 'GET on the estimate route',
      status: 404,
      code: 'NOT_FOUND',
      method: 'GET',
      path: '/v1/estimate',
    },
    {
      name: 'unknown route',
      status: 404,
      code: 'NOT_FOUND',
      path: '/v2/estimate',
      headers: J,
      body: jpeg,
    },
  ];
}

/** The Request for a case against `base` (a URL prefix). */
export function caseRequest(c: Case, base: string): Request {
  const headers = new Headers(c.headers ?? {});
  if (c.auth === undefined) headers.set('authorization', `Bearer ${API_KEY}`);
  else if (c.auth !== 'none') headers.set('authorization', c.auth);
  const body = typeof c.body === 'function' ? c.body() : c.body;
  const init: RequestInit & { duplex?: string } = {
    method: c.method ?? 'POST',
    headers,
    body: body as BodyInit | undefined,
  };
  if (body instanceof ReadableStream) init.duplex = 'half';
  return new Request(base + (c.path ?? '/v1/estimate'), init);
}

/** A good request: the photo and its box. */
export function goodRequest(base: string, over: { flip?: boolean } = {}): Request {
  const jpeg = new Uint8Array(readFileSync(PHOTO));
  const flip = over.flip === undefined ? '' : `&flip=${over.flip}`;
  return new Request(
    `${base}/v1/estimate?boxes=${encodeURIComponent(JSON.stringify([PHOTO_BOX]))}${flip}`,
    {
      method: 'POST',
      headers: { 'content-type': 'image/jpeg', authorization: `Bearer ${API_KEY}` },
      body: jpeg,
    },
  );
}
