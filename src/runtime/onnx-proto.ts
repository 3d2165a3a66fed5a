/**
 * A minimal ONNX model writer: the protocol-buffer wire format and the few ONNX messages
 * (onnx/onnx.proto3) that small generated graphs need. Used for the band-max model the native
 * backend runs beside a pose model, and by the tests to build tiny models without PyTorch.
 * Also one edit of an existing model ({@link setBatchAxis}), copying everything else as is.
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
  return tensorValue(name, dims, DataType.FLOAT);
}

/** A tensor's ValueInfoProto of element type `type` (a {@link DataType}). */
export function tensorValue(
  name: string,
  dims: readonly (number | string)[],
  type: number,
): Uint8Array {
  const shape = message(
    dims.map((d): Field => [1, message([typeof d === 'number' ? [1, d] : [2, d]])]),
  );
  const tensorType = message([[1, type], [2, shape]]);
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

/** One field of an encoded message: its number, wire type and byte range (value included). */
interface RawField {
  no: number;
  wire: number;
  start: number;
  /** Where a length-delimited value starts (after its length). */
  value: number;
  end: number;
}

function readVarint(b: Uint8Array, at: number): [value: number, next: number] {
  let v = 0;
  let scale = 1;
  for (let i = at; i < b.length; i++) {
    v += (b[i] & 0x7f) * scale;
    if (b[i] < 0x80) return [v, i + 1];
    scale *= 128;
  }
  throw new Error('truncated varint');
}

/** The top-level fields of an encoded message (nested messages are not decoded). */
function fields(b: Uint8Array): RawField[] {
  const out: RawField[] = [];
  let at = 0;
  while (at < b.length) {
    const start = at;
    const [key, next] = readVarint(b, at);
    const no = Math.floor(key / 8);
    const wire = key % 8;
    let value = next;
    if (wire === VARINT) at = readVarint(b, next)[1];
    else if (wire === 1) at = next + 8;
    else if (wire === FIXED32) at = next + 4;
    else if (wire === BYTES) {
      const [len, v] = readVarint(b, next);
      value = v;
      at = v + len;
    } else throw new Error(`unsupported wire type ${wire}`);
    if (at > b.length) throw new Error('truncated field');
    out.push({ no, wire, start, value, end: at });
  }
  return out;
}

/** Field `no` holding the length-delimited `value`, as its key + length and the value. */
function lengthDelimited(no: number, value: Uint8Array): Uint8Array[] {
  const head: number[] = [];
  varint(head, (no << 3) | BYTES);
  varint(head, value.length);
  return [new Uint8Array(head), value];
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * Rewrites the message `b` by applying `edit` to each length-delimited field numbered `no`
 * (its value bytes in, new bytes or `undefined` for unchanged out); the rest is copied as is.
 */
function editFields(
  b: Uint8Array,
  no: number,
  edit: (value: Uint8Array, index: number) => Uint8Array | undefined,
): { bytes: Uint8Array; changed: number } {
  const parts: Uint8Array[] = [];
  let changed = 0;
  let index = 0;
  let copied = 0;
  for (const f of fields(b)) {
    if (f.no !== no || f.wire !== BYTES) continue;
    const next = edit(b.subarray(f.value, f.end), index++);
    if (next === undefined) continue;
    parts.push(b.subarray(copied, f.start), ...lengthDelimited(f.no, next));
    copied = f.end;
    changed++;
  }
  if (changed === 0) return { bytes: b, changed };
  parts.push(b.subarray(copied));
  return { bytes: concat(parts), changed };
}

/**
 * The model with the first dimension of the graph inputs and outputs named in `names` set to
 * `dim`: a size, or a symbolic name (`dim_param`). Weights and nodes are copied untouched.
 * Returns the number of inputs and outputs changed (0: none named, the bytes as they were).
 */
export function setBatchAxis(
  onnxModel: Uint8Array,
  names: readonly string[],
  dim: number | string,
): { bytes: Uint8Array; changed: number } {
  const first = message([typeof dim === 'number' ? [1, dim] : [2, dim]]);
  const named = new Set(names);
  let changed = 0;
  // ValueInfoProto: name(1), type(2) -> TypeProto.tensor_type(1) -> shape(2) -> dim(1)
  const fixValue = (v: Uint8Array) => {
    const name = fields(v).find((f) => f.no === 1);
    if (!name || !named.has(new TextDecoder().decode(v.subarray(name.value, name.end)))) {
      return undefined;
    }
    return nested(v, [2, 1, 2], (shape) => {
      const r = editFields(shape, 1, (_, i) => (i === 0 ? first : undefined));
      return r.changed ? r.bytes : undefined;
    });
  };
  const graph = (g: Uint8Array) => {
    let out = g;
    for (const no of [11, 12]) {
      const r = editFields(out, no, (v) => fixValue(v));
      changed += r.changed;
      out = r.bytes;
    }
    return out === g ? undefined : out;
  };
  return { bytes: editFields(onnxModel, 7, graph).bytes, changed };
}

/** Applies `edit` to the message at the path of field numbers inside `b` (first of each). */
function nested(
  b: Uint8Array,
  path: readonly number[],
  edit: (inner: Uint8Array) => Uint8Array | undefined,
): Uint8Array | undefined {
  if (path.length === 0) return edit(b);
  const r = editFields(
    b,
    path[0],
    (v, i) => (i === 0 ? nested(v, path.slice(1), edit) : undefined),
  );
  return r.changed ? r.bytes : undefined;
}
