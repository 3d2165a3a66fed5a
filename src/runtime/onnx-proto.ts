/**
 * A minimal ONNX model writer: the protocol-buffer wire format and the few ONNX messages
 * (onnx/onnx.proto3) that small generated graphs need. Used for the band-max model the native
 * backend runs beside a pose model, and by the tests to build tiny models without PyTorch.
 * @module
 */

const VARINT = 0;
const BYTES = 2;
const FIXED32 = 5;

/** Varint of a non-negative safe integer, or of an int64 (two's complement) as a bigint. */
function varint(out: number[], v: number | bigint): void {
  let b = BigInt.asUintN(64, BigInt(v));
  while (b > 0x7fn) {
    out.push(Number(b & 0x7fn) | 0x80);
    b >>= 7n;
  }
  out.push(Number(b));
}

const utf8 = new TextEncoder();

/**
 * One field: `[field number, value]`. A number or bigint is a varint (int64, negatives
 * included), a string or bytes are length-delimited, `{ f32 }` is a fixed32 float.
 */
export type Field = [number, number | bigint | string | Uint8Array | { f32: number }];

/** A message of `fields`, in the order given (repeated fields are repeated entries). */
export function message(fields: readonly Field[]): Uint8Array {
  const out: number[] = [];
  for (const [no, value] of fields) {
    if (typeof value === 'number' || typeof value === 'bigint') {
      varint(out, (no << 3) | VARINT);
      varint(out, value);
    } else if (typeof value === 'string' || value instanceof Uint8Array) {
      const bytes = typeof value === 'string' ? utf8.encode(value) : value;
      varint(out, (no << 3) | BYTES);
      varint(out, bytes.length);
      for (const b of bytes) out.push(b);
    } else {
      varint(out, (no << 3) | FIXED32);
      for (const b of new Uint8Array(new Float32Array([value.f32]).buffer)) out.push(b);
    }
  }
  return new Uint8Array(out);
}

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT64: 7 } as const;

/** A float32 or int64 initializer (TensorProto) with raw little-endian data. */
export function tensor(
  name: string,
  dims: readonly number[],
  data: Float32Array | BigInt64Array,
): Uint8Array {
  const type = data instanceof Float32Array ? DataType.FLOAT : DataType.INT64;
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return message([...dims.map((d): Field => [1, d]), [2, type], [8, name], [9, raw]]);
}

/** An attribute value: an int, a list of ints, a string or a float (AttributeProto). */
export type Attribute = number | readonly number[] | string | { f32: number };

function attribute(name: string, value: Attribute): Uint8Array {
  if (typeof value === 'string') return message([[1, name], [20, 3], [4, value]]);
  if (typeof value === 'number') return message([[1, name], [20, 2], [3, value]]);
  if (Array.isArray(value)) {
    return message([[1, name], [20, 7], ...value.map((v): Field => [8, v])]);
  }
  return message([[1, name], [20, 1], [2, value as { f32: number }]]);
}

/** A node (NodeProto) of the default domain. */
export function node(
  op: string,
  inputs: readonly string[],
  outputs: readonly string[],
  attributes: Record<string, Attribute> = {},
  name = outputs[0],
): Uint8Array {
  return message([
    ...inputs.map((i): Field => [1, i]),
    ...outputs.map((o): Field => [2, o]),
    [3, name],
    [4, op],
    ...Object.entries(attributes).map(([k, v]): Field => [5, attribute(k, v)]),
  ]);
}

/** A float tensor's ValueInfoProto; a string dimension is symbolic, a number fixed. */
export function floatValue(name: string, dims: readonly (number | string)[]): Uint8Array {
  const shape = message(
    dims.map((d): Field => [1, message([typeof d === 'number' ? [1, d] : [2, d]])]),
  );
  const tensorType = message([[1, DataType.FLOAT], [2, shape]]);
  return message([[1, name], [2, message([[1, tensorType]])]]);
}

/** The graph's parts: nodes in topological order, initializers, inputs and outputs. */
export type Graph = {
  name: string;
  nodes: Uint8Array[];
  initializers?: Uint8Array[];
  inputs: Uint8Array[];
  outputs: Uint8Array[];
};

/** A ModelProto (IR version 8, the default domain at `opset`). */
export function model(graph: Graph, opset = 17): Uint8Array {
  const g = message([
    ...graph.nodes.map((n): Field => [1, n]),
    [2, graph.name],
    ...(graph.initializers ?? []).map((t): Field => [5, t]),
    ...graph.inputs.map((v): Field => [11, v]),
    ...graph.outputs.map((v): Field => [12, v]),
  ]);
  return message([[1, 8], [2, 'srpose'], [7, g], [8, message([[1, ''], [2, opset]])]]);
}
