/**
 * Band maxima of heatmaps by ONNX Runtime: a two-node model built here (Reshape to
 * (N, K, bands, rows * W), ReduceMax over the last axis), run by the native backend, whose
 * ReduceMax is vectorised (AVX2 / NEON). The SR decode's first step is the largest value of
 * every `pool`-row band of each input-resolution map (src/core/decode/sr.ts); in JavaScript
 * that pass over 17 x 256 x 192 floats costs about as much per box as the crop, in ONNX Runtime
 * a tenth of it. ReduceMax returns one of its inputs exactly, so the decode is unchanged.
 * @module
 */

// Protocol-buffer wire format, the few ONNX fields used (onnx/onnx.proto3).
const VARINT = 0;
const BYTES = 2;

function varint(out: number[], v: number): void {
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

const utf8 = new TextEncoder();

/** One field: `[field number, value]`, a number (varint), string or bytes (length-delimited). */
type Field = [number, number | string | Uint8Array];

function message(fields: readonly Field[]): Uint8Array {
  const out: number[] = [];
  for (const [no, value] of fields) {
    if (typeof value === 'number') {
      varint(out, (no << 3) | VARINT);
      varint(out, value);
    } else {
      const bytes = typeof value === 'string' ? utf8.encode(value) : value;
      varint(out, (no << 3) | BYTES);
      varint(out, bytes.length);
      for (const b of bytes) out.push(b);
    }
  }
  return new Uint8Array(out);
}

const FLOAT = 1;
const INT64 = 7;
const ATTR_INT = 2;
const ATTR_INTS = 7;

/** A float tensor's ValueInfoProto, `rank` dimensions named d0, d1, ... (any size). */
function floatValue(name: string, rank: number): Uint8Array {
  const dims: Field[] = Array.from({ length: rank }, (_, i) => [1, message([[2, `d${i}`]])]);
  const tensorType = message([[1, FLOAT], [2, message(dims)]]);
  return message([[1, name], [2, message([[1, tensorType]])]]);
}

/**
 * The ONNX model (opset 17): `heatmaps` (N, K, H, W) float -> `bandmax` (N, K, bands), the
 * maximum of each of `bands` equal bands of rows (H divisible by `bands`).
 */
export function bandMaxModel(bands: number): Uint8Array {
  if (!Number.isInteger(bands) || bands < 1) throw new RangeError(`bands must be a positive integer, got ${bands}`);
  // Reshape's target (0 = keep N, 0 = keep K, bands, -1 = the rest), int64 little-endian.
  const shape = new Uint8Array(new BigInt64Array([0n, 0n, BigInt(bands), -1n]).buffer);
  const initializer = message([[1, 4], [2, INT64], [8, 'shape'], [9, shape]]);
  const reshape = message([[1, 'heatmaps'], [1, 'shape'], [2, 'bands'], [3, 'reshape'], [4, 'Reshape']]);
  const reduce = message([
    [1, 'bands'],
    [2, 'bandmax'],
    [3, 'reduce'],
    [4, 'ReduceMax'],
    [5, message([[1, 'axes'], [20, ATTR_INTS], [8, 3]])],
    [5, message([[1, 'keepdims'], [20, ATTR_INT], [3, 0]])],
  ]);
  const graph = message([
    [1, reshape],
    [1, reduce],
    [2, 'srpose-band-max'],
    [5, initializer],
    [11, floatValue('heatmaps', 4)],
    [12, floatValue('bandmax', 3)],
  ]);
  return message([[1, 8], [2, 'srpose'], [7, graph], [8, message([[1, ''], [2, 17]])]]);
}
