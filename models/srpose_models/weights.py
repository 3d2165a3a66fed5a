"""Smaller weight files from an fp32 ONNX model (onnx + numpy only): the graph and its fp32
compute are kept; only how the weights are stored changes, so the files run on every
onnxruntime backend (WASM, WebGPU, native).

* ``to_fp16``: every float32 initializer with at least ``FP16_MIN_ELEMENTS`` elements is stored
  as float16 and followed by ``Cast(to=FLOAT)``, whose output keeps the initializer's name, so
  the original consumers are untouched (values beyond float16's range are clipped to +-65504).
* ``to_int8``: weight-only, symmetric, per output channel: a float32 initializer with
  ndim >= 2 and at least ``INT8_MIN_ELEMENTS`` elements, used only as a weight (Conv /
  ConvTranspose ``W``, MatMul ``B``, Gemm ``B``), becomes int8 ``q = clip(round(w / scale),
  -127, 127)`` with ``scale = max|w| / 127`` per output channel (1 where a channel is all
  zeros) and ``DequantizeLinear(q, scale, zero_point=0, axis)`` producing the float32 weight
  under its old name. Output channel axis: Conv ``W`` 0, ConvTranspose ``W`` 1, MatMul ``B``
  the last, Gemm ``B`` 0 with ``transB=1`` else 1. Everything else stays float32.

``write_variant(src, dst, kind)`` writes ``dst`` from ``src`` (embedded weights only) and checks
it with ``onnx.checker``.
"""
import os
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

KINDS = ('fp32', 'fp16', 'int8')
FILES = {'fp32': 'model.onnx', 'fp16': 'model_fp16.onnx', 'int8': 'model_int8.onnx'}
FP16_MIN_ELEMENTS = 16
INT8_MIN_ELEMENTS = 1024
FP16_MAX = float(np.finfo(np.float16).max)


class WeightsError(Exception):
    """A model that cannot be rewritten (external data, old opset); the message says why."""


def _numel(t):
    n = 1
    for d in t.dims:
        n *= d
    return n


def _unique(name, taken):
    base, i = name, 1
    while name in taken:
        name = f'{base}_{i}'
        i += 1
    taken.add(name)
    return name


def _all_names(graph):
    names = {t.name for t in graph.initializer}
    names.update(i.name for i in graph.input)
    names.update(o.name for o in graph.output)
    for n in graph.node:
        names.update(n.input)
        names.update(n.output)
        names.add(n.name)
    return names


def _subgraph_inputs(graph):
    """Names that nodes of subgraphs (If / Loop / Scan bodies) read."""
    used = set()

    def walk(g):
        for n in g.node:
            for a in n.attribute:
                subs = list(a.graphs) + ([a.g] if a.HasField('g') else [])
                for s in subs:
                    for m in s.node:
                        used.update(m.input)
                    walk(s)
    walk(graph)
    return used


def _check_embedded(model):
    for t in model.graph.initializer:
        if t.data_location == TensorProto.EXTERNAL:
            raise WeightsError('the model keeps its weights in external data; fp16 / int8 '
                               'variants need embedded weights')


def _opset(model):
    return max([o.version for o in model.opset_import if o.domain in ('', 'ai.onnx')] or [0])


def _mark(model, kind):
    props = {p.key: p for p in model.metadata_props}
    if 'srpose.weights' in props:
        props['srpose.weights'].value = kind
    else:
        p = model.metadata_props.add()
        p.key, p.value = 'srpose.weights', kind


def to_fp16(model, min_elements=FP16_MIN_ELEMENTS):
    """A copy of ``model`` with float32 initializers of >= ``min_elements`` elements stored as
    float16 + ``Cast(to=FLOAT)``. Returns (model, stats)."""
    _check_embedded(model)
    out = onnx.ModelProto()
    out.CopyFrom(model)
    g = out.graph
    taken = _all_names(g)
    graph_inputs = {i.name for i in g.input}
    keep, casts = [], []
    stats = {'converted': 0, 'elements': 0, 'clipped': 0, 'kept': 0}
    for t in g.initializer:
        if t.data_type != TensorProto.FLOAT or _numel(t) < min_elements or t.name in graph_inputs:
            keep.append(t)
            stats['kept'] += 1
            continue
        w = numpy_helper.to_array(t)
        over = np.abs(w) > FP16_MAX
        stats['clipped'] += int(over.sum())
        h = np.clip(w, -FP16_MAX, FP16_MAX).astype(np.float16)
        stored = _unique(t.name + '_fp16', taken)
        keep.append(numpy_helper.from_array(h, stored))
        casts.append(helper.make_node('Cast', [stored], [t.name], to=TensorProto.FLOAT,
                                      name=_unique(t.name + '_cast', taken)))
        stats['converted'] += 1
        stats['elements'] += int(w.size)
    del g.initializer[:]
    g.initializer.extend(keep)
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(casts + nodes)
    _mark(out, 'fp16')
    return out, stats


def _weight_axis(node, index, ndim):
    """The output-channel axis of input ``index`` of ``node`` when it is a weight, else None."""
    if index != 1:
        return None
    if node.op_type == 'Conv':
        return 0
    if node.op_type == 'ConvTranspose':
        return 1
    if node.op_type == 'MatMul':
        return ndim - 1
    if node.op_type == 'Gemm' and ndim == 2:
        trans_b = next((a.i for a in node.attribute if a.name == 'transB'), 0)
        return 0 if trans_b else 1
    return None


def quantize_per_channel(w, axis):
    """(q int8, scale float32 [w.shape[axis]]): symmetric, ``scale = max|w| / 127`` per slice
    along ``axis`` (1 for an all-zero slice), ``q = clip(round(w / scale), -127, 127)``."""
    w = np.asarray(w, dtype=np.float32)
    moved = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)
    amax = np.abs(moved).max(axis=1).astype(np.float64)
    scale = (amax / 127.0).astype(np.float32)
    scale[scale == 0] = 1.0
    shape = [1] * w.ndim
    shape[axis] = -1
    q = np.clip(np.round(w / scale.reshape(shape)), -127, 127).astype(np.int8)
    return q, scale


def dequantize(q, scale, axis):
    shape = [1] * q.ndim
    shape[axis] = -1
    return q.astype(np.float32) * np.asarray(scale, np.float32).reshape(shape)


def to_int8(model, min_elements=INT8_MIN_ELEMENTS):
    """A copy of ``model`` with its large weights stored as per-channel int8 + DequantizeLinear.
    Returns (model, stats)."""
    _check_embedded(model)
    if _opset(model) < 13:
        raise WeightsError(f'int8 weights need opset >= 13 (per-axis DequantizeLinear), '
                           f'the model has {_opset(model)}')
    out = onnx.ModelProto()
    out.CopyFrom(model)
    g = out.graph
    taken = _all_names(g)
    graph_inputs = {i.name for i in g.input} | {o.name for o in g.output}
    in_subgraphs = _subgraph_inputs(g)
    consumers = {}
    for n in g.node:
        for i, name in enumerate(n.input):
            consumers.setdefault(name, []).append((n, i))
    keep, dqs = [], []
    stats = {'quantized': 0, 'elements': 0, 'kept': 0}
    for t in g.initializer:
        axis = None
        if (t.data_type == TensorProto.FLOAT and len(t.dims) >= 2 and _numel(t) >= min_elements
                and t.name not in graph_inputs and t.name not in in_subgraphs
                and t.name in consumers):
            axes = {_weight_axis(n, i, len(t.dims)) for n, i in consumers[t.name]}
            if len(axes) == 1:
                axis = axes.pop()
        if axis is None:
            keep.append(t)
            stats['kept'] += 1
            continue
        q, scale = quantize_per_channel(numpy_helper.to_array(t), axis)
        qn = _unique(t.name + '_quantized', taken)
        sn = _unique(t.name + '_scale', taken)
        zn = _unique(t.name + '_zero_point', taken)
        keep.extend([numpy_helper.from_array(q, qn), numpy_helper.from_array(scale, sn),
                     numpy_helper.from_array(np.zeros(scale.shape, np.int8), zn)])
        dqs.append(helper.make_node('DequantizeLinear', [qn, sn, zn], [t.name], axis=axis,
                                    name=_unique(t.name + '_dequantize', taken)))
        stats['quantized'] += 1
        stats['elements'] += int(q.size)
    del g.initializer[:]
    g.initializer.extend(keep)
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(dqs + nodes)
    _mark(out, 'int8')
    return out, stats


def int8_weights(model):
    """{fp32 weight name: (dequantized float32 array, q, scale, axis)} of an int8 variant."""
    inits = {t.name: t for t in model.graph.initializer}
    out = {}
    for n in model.graph.node:
        if n.op_type != 'DequantizeLinear' or n.input[0] not in inits:
            continue
        axis = next((a.i for a in n.attribute if a.name == 'axis'), 1)
        q = numpy_helper.to_array(inits[n.input[0]])
        scale = numpy_helper.to_array(inits[n.input[1]])
        out[n.output[0]] = (dequantize(q, scale, axis), q, scale, axis)
    return out


def convert(model, kind):
    if kind == 'fp16':
        return to_fp16(model)
    if kind == 'int8':
        return to_int8(model)
    raise ValueError(f'unknown weights kind {kind!r}; expected fp16 or int8')


def write_variant(src, dst, kind):
    """Writes the ``kind`` (fp16 | int8) variant of the ONNX file ``src`` to ``dst`` (a temporary
    file beside it, checked with onnx.checker, then renamed). Returns the conversion stats."""
    model = onnx.load(src)
    out, stats = convert(model, kind)
    onnx.checker.check_model(out)
    if [i.name for i in out.graph.input] != [i.name for i in model.graph.input] or \
            [o.name for o in out.graph.output] != [o.name for o in model.graph.output]:
        raise WeightsError(f'{kind} variant changed the graph inputs / outputs')
    fd, tmp = tempfile.mkstemp(suffix='.onnx', dir=os.path.dirname(os.path.abspath(dst)))
    os.close(fd)
    try:
        onnx.save(out, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return stats
