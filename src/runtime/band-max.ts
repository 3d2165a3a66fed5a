/**
 * Band maxima of heatmaps by ONNX Runtime: a two-node model built here (Reshape to
 * (N, K, bands, rows * W), ReduceMax over the last axis), run by the native backend, whose
 * ReduceMax is vectorised (AVX2 / NEON). The SR decode's first step is the largest value of
 * every `pool`-row band of each input-resolution map (src/core/decode/sr.ts); in JavaScript
 * that pass over 17 x 256 x 192 floats costs per box on the order of the crop, in ONNX Runtime
 * much less (the `postprocess` stage of `npm run bench -- backends`, WASM against native,
 * measures it). ReduceMax returns one of its inputs exactly, so the decode is unchanged.
 * @module
 */

import { floatValue, model, node, tensor } from './onnx-proto.ts';

/**
 * The ONNX model (opset 17): `heatmaps` (N, K, H, W) float -> `bandmax` (N, K, bands), the
 * maximum of each of `bands` equal bands of rows (H divisible by `bands`).
 */
export function bandMaxModel(bands: number): Uint8Array {
  if (!Number.isInteger(bands) || bands < 1) {
    throw new RangeError(`bands must be a positive integer, got ${bands}`);
  }
  // Reshape's target: 0 = keep N, 0 = keep K, bands, -1 = the rest.
  return model({
    name: 'srpose-band-max',
    nodes: [
      node('Reshape', ['heatmaps', 'shape'], ['bands'], {}, 'reshape'),
      node('ReduceMax', ['bands'], ['bandmax'], { axes: [3], keepdims: 0 }, 'reduce'),
    ],
    initializers: [tensor('shape', [4], new BigInt64Array([0n, 0n, BigInt(bands), -1n]))],
    inputs: [floatValue('heatmaps', ['d0', 'd1', 'd2', 'd3'])],
    outputs: [floatValue('bandmax', ['d0', 'd1', 'd2'])],
  });
}
