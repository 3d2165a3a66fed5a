/** The OpenAPI 3.1 description of the HTTP API, served at `GET /openapi.json`. */
import { DEFAULT_MAX_BOXES } from '../defaults.ts';

const error = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

const boxSchema = {
  type: 'array',
  minItems: 4,
  maxItems: 5,
  items: { type: 'number' },
  description: '[x, y, width, height] in image pixels, optionally a detector score',
};

/** The document; `limits` fills in the configured sizes. */
export function openApiDocument(limits: { maxBodyBytes: number; maxBoxes: number; auth: boolean }): Record<string, unknown> {
  const params = [
    { name: 'boxes', in: 'query', schema: { type: 'string' }, description: `JSON array of person boxes, at most ${limits.maxBoxes} (default ${DEFAULT_MAX_BOXES}); none means the whole image` },
    { name: 'flip', in: 'query', schema: { type: 'boolean' }, description: 'flip test (average with the mirrored crop); default from the model' },
    { name: 'format', in: 'query', schema: { enum: ['json', 'coco'] }, description: '`coco`: the COCO keypoint results array' },
    { name: 'image_id', in: 'query', schema: { type: 'integer', minimum: 0 }, description: 'image_id of COCO results' },
  ];
  return {
    openapi: '3.1.0',
    info: { title: 'srpose', version: '1', description: 'SRPose human pose estimation (ACM MM 2023) over HTTP.' },
    ...(limits.auth ? { security: [{ bearer: [] }] } : {}),
    paths: {
      '/v1/estimate': {
        post: {
          summary: 'Estimate the pose of each person box in an image',
          parameters: params,
          requestBody: {
            required: true,
            description: `The image (at most ${limits.maxBodyBytes} bytes), raw or as the \`image\` part of a form`,
            content: {
              'image/jpeg': { schema: { type: 'string', format: 'binary' } },
              'image/png': { schema: { type: 'string', format: 'binary' } },
              'image/webp': { schema: { type: 'string', format: 'binary' } },
              'multipart/form-data': {
                schema: {
                  type: 'object',
                  required: ['image'],
                  properties: {
                    image: { type: 'string', format: 'binary' },
                    boxes: { type: 'string', description: 'JSON array of boxes' },
                    flip: { type: 'boolean' },
                    format: { enum: ['json', 'coco'] },
                    image_id: { type: 'integer' },
                  },
                },
              },
            },
          },
          responses: {
            200: { description: 'The people found', content: { 'application/json': { schema: { $ref: '#/components/schemas/EstimateResult' } } } },
            400: error('Undecodable image or invalid parameter'),
            401: error('API key missing or wrong'),
            413: error('Body over the byte limit, or image over the pixel limit'),
            415: error('Unsupported Content-Type'),
            422: error('Invalid boxes, or too many'),
            503: error('Queue full (see Retry-After) or model unavailable'),
            504: error('Deadline passed'),
          },
        },
      },
      '/v1/models': {
        get: {
          summary: "The loaded model's contract and backend",
          responses: { 200: { description: 'Model info', content: { 'application/json': { schema: { type: 'object' } } } }, 401: error('API key missing or wrong'), 503: error('Model unavailable') },
        },
      },
      '/healthz': { get: { summary: 'Liveness, and whether the model is loaded', security: [], responses: { 200: { description: 'Alive' } } } },
      '/openapi.json': { get: { summary: 'This document', security: [], responses: { 200: { description: 'OpenAPI 3.1' } } } },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } },
        },
        Keypoint: { type: 'object', properties: { name: { type: 'string' }, x: { type: 'number' }, y: { type: 'number' }, score: { type: 'number' } } },
        Person: {
          type: 'object',
          properties: { box: boxSchema, score: { type: 'number' }, keypoints: { type: 'array', items: { $ref: '#/components/schemas/Keypoint' } } },
        },
        EstimateResult: {
          type: 'object',
          properties: {
            people: { type: 'array', items: { $ref: '#/components/schemas/Person' } },
            image: { type: 'object', properties: { width: { type: 'integer' }, height: { type: 'integer' } } },
            backend: { enum: ['native', 'webgpu', 'wasm'] },
            threads: { type: 'integer' },
            fallbackReason: { type: 'string' },
            flipTest: { type: 'boolean' },
            decode: { enum: ['sr', 'default', 'dark'] },
            model: { type: 'string' },
            timings: { type: 'object', additionalProperties: { type: 'number' }, description: 'ms per stage' },
          },
        },
      },
    },
  };
}
