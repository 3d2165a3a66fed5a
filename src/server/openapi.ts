/**
 * The OpenAPI 3.1 description of the HTTP API, served at `GET /openapi.json`: its parameters
 * come from the request parser's own table and its enumerations from the lists the library
 * checks against, so the document cannot drift from what the server accepts and answers.
 */
import { DECODE_NAMES, GRAPHS, WEIGHTS_KINDS } from '../model/config.ts';
import { BACKENDS } from '../runtime/pose-session.ts';
import { ESTIMATE_PARAMS, IMAGE_TYPES } from './request.ts';

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
export function openApiDocument(
  limits: { maxBodyBytes: number; maxBoxes: number; auth: boolean },
): Record<string, unknown> {
  const described = Object.entries(ESTIMATE_PARAMS).map(([name, p]) => ({
    name,
    schema: p.schema,
    description: p.description(limits.maxBoxes),
  }));
  const params = described.map((p) => ({ ...p, in: 'query' }));
  const binary = { schema: { type: 'string', format: 'binary' } };
  const raw = Object.fromEntries(IMAGE_TYPES.map((t) => [t, binary]));
  return {
    openapi: '3.1.0',
    info: {
      title: 'srpose',
      version: '1',
      description: 'SRPose human pose estimation (ACM MM 2023) over HTTP.',
    },
    ...(limits.auth ? { security: [{ bearer: [] }] } : {}),
    paths: {
      '/v1/estimate': {
        post: {
          summary: 'Estimate the pose of each person box in an image',
          parameters: params,
          requestBody: {
            required: true,
            description: `The image (at most ${limits.maxBodyBytes} bytes), ` +
              `raw or as the \`image\` part of a form`,
            content: {
              ...raw,
              'multipart/form-data': {
                schema: {
                  type: 'object',
                  required: ['image'],
                  properties: {
                    image: binary.schema,
                    ...Object.fromEntries(
                      described.map((p) => [p.name, { ...p.schema, description: p.description }]),
                    ),
                  },
                },
              },
            },
          },
          responses: {
            200: {
              description: 'The people found',
              content: {
                'application/json': { schema: { $ref: '#/components/schemas/EstimateResult' } },
              },
            },
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
          responses: {
            200: {
              description: 'Model info',
              content: { 'application/json': { schema: { type: 'object' } } },
            },
            401: error('API key missing or wrong'),
            503: error('Model unavailable'),
          },
        },
      },
      '/healthz': {
        get: {
          summary: 'Liveness, and whether the model is loaded',
          security: [],
          responses: { 200: { description: 'Alive' } },
        },
      },
      '/openapi.json': {
        get: {
          summary: 'This document',
          security: [],
          responses: { 200: { description: 'OpenAPI 3.1' } },
        },
      },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: { code: { type: 'string' }, message: { type: 'string' } },
            },
          },
        },
        Keypoint: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            x: { type: 'number' },
            y: { type: 'number' },
            score: { type: 'number' },
          },
        },
        Person: {
          type: 'object',
          properties: {
            box: boxSchema,
            score: { type: 'number' },
            keypoints: { type: 'array', items: { $ref: '#/components/schemas/Keypoint' } },
          },
        },
        EstimateResult: {
          type: 'object',
          properties: {
            people: { type: 'array', items: { $ref: '#/components/schemas/Person' } },
            image: {
              type: 'object',
              properties: { width: { type: 'integer' }, height: { type: 'integer' } },
            },
            backend: { enum: BACKENDS },
            threads: { type: 'integer' },
            fallbackReason: { type: 'string' },
            flipTest: { type: 'boolean' },
            decode: { enum: DECODE_NAMES },
            model: { type: 'string' },
            weights: { enum: WEIGHTS_KINDS },
            graph: { enum: GRAPHS },
            timings: {
              type: 'object',
              additionalProperties: { type: 'number' },
              description: 'ms per stage',
            },
          },
        },
      },
    },
  };
}
