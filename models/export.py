#!/usr/bin/env python3
"""Export an SRPose / SimpleBaseline model (top-down or bottom-up) to ONNX plus its model contract.

    python3 models/export.py --arch res50 --checkpoint SRPose_res50.pth --out DIR
    python3 models/export.py --arch hrnet_w32 --random-init --seed 0 --out DIR \
        --save-checkpoint DIR/checkpoint.pth
    python3 models/export.py --arch bu_res50 --random-init --seed 0 --out DIR
    python3 models/export.py --arch hrformer_s --random-init --seed 0 --out DIR \
        --weights fp32,fp16,int8

Top-down (res50, hrnet_w32, hrformer_s, res50_simple): DIR/model.onnx (opset 17, input
``image`` float32 [N,3,256,192], output ``heatmaps`` [N,17,H,W], only the batch axis dynamic,
weights embedded); ``--dataset crowdpose`` gives [N,3,256,192] -> [N,14,H,W] and ``--dataset
mpii`` [N,3,256,256] -> [N,16,H,W] (the keypoint set, flip pairs and skeleton of that dataset in
srpose.json). Bottom-up (bu_res50, bu_hrnet_w32): input ``image`` float32 [N,3,H,W] with
N, H, W dynamic (H, W multiples of 32), output ``output`` [N,34,H,W] (17 heatmaps, then 17 tag
maps). ``--weights fp32,fp16,int8`` also writes DIR/model_fp16.onnx (float16 storage, Cast to
float32) and DIR/model_int8.onnx (per-channel int8 weights, DequantizeLinear); model.onnx is
always fp32 (srpose_models/weights.py). Also DIR/srpose.json (see models/README.md). A
checkpoint that does not match the arch exits with status 2 and a message listing the missing /
unexpected keys.
"""
import argparse
import shutil
import collections
import hashlib
import json
import os
import shlex
import sys
import tempfile
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import torch  # noqa: E402

from srpose_models.build import (COCO_FLIP_PAIRS, COCO_KEYPOINTS, COCO_SKELETON,  # noqa: E402
                                 NUM_JOINTS, arch_info, build_model, ARCHS, DATASETS,
                                 is_bottom_up)
from srpose_models.checkpoint import (CheckpointError, load_checkpoint, random_init,  # noqa: E402
                                      sha256_file)
from srpose_models.weights import FILES as WEIGHT_FILES, KINDS as WEIGHT_KINDS, WeightsError  # noqa: E402,E501

FORMAT = 'srpose-model/1'
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def fail(msg, code=2):
    print(f'export.py: error: {msg}', file=sys.stderr)
    sys.exit(code)


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog='export.py', description='Export an SRPose model to ONNX + srpose.json.')
    p.add_argument('--arch', required=True, choices=sorted(ARCHS))
    p.add_argument('--dataset', default='coco', choices=list(DATASETS),
                   help='keypoint set of a top-down arch: coco (17, 256x192; the default), '
                        'crowdpose (14, 256x192) or mpii (16, 256x256)')
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument('--checkpoint', help='mmpose checkpoint (.pth): {"state_dict": ...} or bare')
    src.add_argument('--random-init', action='store_true',
                     help='deterministic random weights (parity tests); needs --seed')
    p.add_argument('--seed', type=int, default=None, help='seed for --random-init')
    p.add_argument('--out', required=True, help='output directory')
    p.add_argument('--save-checkpoint', default=None,
                   help='also write the weights used, mmpose layout {"state_dict", "meta"}')
    p.add_argument('--opset', type=int, default=17)
    p.add_argument('--external-data', action='store_true',
                   help='weights in model.onnx.data beside a small model.onnx (ONNX external data)')
    p.add_argument('--weights', default='fp32', metavar='KINDS',
                   help='comma list of weight files to write, of fp32 (model.onnx, always '
                        'written), fp16 (model_fp16.onnx), int8 (model_int8.onnx); default fp32')
    p.add_argument('--recommend', choices=WEIGHT_KINDS, default=None,
                   help='onnx.recommended in srpose.json (default fp16 when exported, else fp32)')
    a = p.parse_args(argv)
    kinds = [k.strip() for k in a.weights.split(',') if k.strip()]
    bad = [k for k in kinds if k not in WEIGHT_KINDS]
    if bad or not kinds:
        p.error(f'--weights: {", ".join(bad) or "nothing"} not among {", ".join(WEIGHT_KINDS)} '
                f'(a comma list, e.g. fp32,fp16,int8)')
    # model.onnx (fp32) is always written; the variants in the order fp16, int8
    a.variants = [k for k in WEIGHT_KINDS if k != 'fp32' and k in kinds]
    if a.external_data and a.variants:
        p.error(f'--external-data cannot be combined with --weights {",".join(a.variants)}: '
                'the fp16 / int8 files embed their weights (export them without --external-data)')
    if a.recommend is None:
        a.recommend = 'fp16' if 'fp16' in a.variants else 'fp32'
    if a.recommend != 'fp32' and a.recommend not in a.variants:
        p.error(f'--recommend {a.recommend} needs --weights with {a.recommend}')
    if a.random_init and a.seed is None:
        p.error('--random-init needs --seed N')
    if a.checkpoint and a.seed is not None:
        p.error('--seed only goes with --random-init')
    if is_bottom_up(a.arch) and a.dataset != 'coco':
        p.error(f'--dataset {a.dataset}: the bottom-up arch {a.arch} is exported for coco only '
                '(the official repository has bottom-up SR configs for COCO only)')
    return a


def build_weights(args):
    model = build_model(args.arch, args.dataset)
    if args.random_init:
        if args.dataset == 'coco':
            random_init(model, args.seed)
        else:  # calibration batches at the dataset's input size
            w, h = arch_info(args.arch, args.dataset)['input']
            random_init(model, args.seed, size=(h, w))
    else:
        load_checkpoint(model, args.checkpoint, args.arch)
    return model.eval()


def save_checkpoint(model, path, args):
    sd = collections.OrderedDict((k, v.detach().clone()) for k, v in model.state_dict().items())
    info = arch_info(args.arch, args.dataset)
    meta = {
        'arch': args.arch,
        'config': info['config'],
        'exporter': 'models/export.py',
        'torch': torch.__version__,
        'randomInit': {'seed': args.seed} if args.random_init else None,
    }
    if args.dataset != 'coco':  # (COCO checkpoints stay as they were)
        meta.update(dataset=args.dataset, datasetConfig=info['dataset_config'])
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.save({'state_dict': sd, 'meta': meta}, path)


def export_onnx(model, path, opset, heatmap_wh, input_wh=(192, 256), num_joints=NUM_JOINTS):
    w, h = input_wh
    hw, hh = heatmap_wh
    with torch.no_grad():  # shape check through torch before writing anything
        y = model(torch.zeros(2, 3, h, w))
    want = (2, num_joints, hh, hw)
    if tuple(y.shape) != want:
        raise RuntimeError(f'model output {tuple(y.shape)} != expected {want}')
    dummy = torch.randn(1, 3, h, w, generator=torch.Generator().manual_seed(0))
    warnings.filterwarnings('ignore', message='The shape inference of prim::Constant')
    torch.onnx.export(
        model, dummy, path,
        export_params=True, opset_version=opset, do_constant_folding=True,
        input_names=['image'], output_names=['heatmaps'],
        dynamic_axes={'image': {0: 'batch'}, 'heatmaps': {0: 'batch'}},
    )
    import onnx
    m = onnx.load(path)
    out = m.graph.output[0].type.tensor_type.shape.dim
    if any(d.dim_param for d in out[1:]):
        # torch's shape inference loses the dims after a Resize whose sizes it computes from a
        # Shape whose batch dim has no name (HRFormer's reshapes): ONNX's own inference (with
        # data propagation) gets them back; only a static result is written
        inferred = _infer_output_dims(m)
        if inferred[1:] == [num_joints, hh, hw]:
            for d, v in zip(out[1:], inferred[1:]):
                d.dim_value = v
            onnx.save(m, path)
            m = onnx.load(path)
            out = m.graph.output[0].type.tensor_type.shape.dim
    onnx.checker.check_model(m)
    dims = [d.dim_param or d.dim_value for d in out]
    if dims[1:] != [num_joints, hh, hw] or not out[0].dim_param:
        raise RuntimeError(f'ONNX output dims {dims} != [batch, {num_joints}, {hh}, {hw}]')


def _infer_output_dims(m):
    """The first output's dims by ONNX shape inference alone (torch's value_info dropped)."""
    import onnx
    c = onnx.ModelProto()
    c.CopyFrom(m)
    del c.graph.value_info[:]
    for d in c.graph.output[0].type.tensor_type.shape.dim[1:]:
        d.Clear()
    c = onnx.shape_inference.infer_shapes(c, data_prop=True)
    return [d.dim_param or d.dim_value for d in c.graph.output[0].type.tensor_type.shape.dim]


# bottom-up: traced at this size, exported with N, H and W dynamic
BOTTOM_UP_TRACE_HW = (256, 320)


def export_onnx_bottom_up(model, path, opset):
    """Bottom-up ONNX: input ``image`` [N,3,H,W], output ``output`` [N,2K,H,W], all of N, H, W
    dynamic (H, W multiples of 32)."""
    h, w = BOTTOM_UP_TRACE_HW
    with torch.no_grad():  # shape check through torch before writing anything
        y = model(torch.zeros(1, 3, h + 32, w - 64))
    want = (1, 2 * NUM_JOINTS, h + 32, w - 64)
    if tuple(y.shape) != want:
        raise RuntimeError(f'model output {tuple(y.shape)} != expected {want}')
    dummy = torch.randn(1, 3, h, w, generator=torch.Generator().manual_seed(0))
    warnings.filterwarnings('ignore', message='The shape inference of prim::Constant')
    torch.onnx.export(
        model, dummy, path,
        export_params=True, opset_version=opset, do_constant_folding=True,
        input_names=['image'], output_names=['output'],
        dynamic_axes={'image': {0: 'batch', 2: 'height', 3: 'width'},
                      'output': {0: 'batch', 2: 'height', 3: 'width'}},
    )
    import onnx
    m = onnx.load(path)
    out = m.graph.output[0].type.tensor_type.shape.dim
    # ONNX shape inference cannot see the channels through the tags' Resize (its sizes come
    # from Shape): the graph output would say 'Concatoutput_dim_1'; declare the known 2K
    if len(out) == 4 and out[1].dim_param:
        out[1].dim_value = 2 * NUM_JOINTS
        onnx.save(m, path)
        m = onnx.load(path)
    onnx.checker.check_model(m)
    out = m.graph.output[0].type.tensor_type.shape.dim
    dims = [d.dim_param or d.dim_value for d in out]
    if dims != ['batch', 2 * NUM_JOINTS, 'height', 'width']:
        raise RuntimeError(f'ONNX output dims {dims} != [batch, {2 * NUM_JOINTS}, height, width]')


EXTERNAL_FILE = 'model.onnx.data'


def save_external(onnx_path):
    """Rewrites model.onnx with its weights in model.onnx.data (both written, then renamed)."""
    import onnx
    m = onnx.load(onnx_path)
    out_dir = os.path.dirname(onnx_path)
    tmp_dir = tempfile.mkdtemp(dir=out_dir)
    try:
        onnx.save_model(m, os.path.join(tmp_dir, 'model.onnx'), save_as_external_data=True,
                        all_tensors_to_one_file=True, location=EXTERNAL_FILE, size_threshold=1024)
        os.replace(os.path.join(tmp_dir, EXTERNAL_FILE), os.path.join(out_dir, EXTERNAL_FILE))
        os.replace(os.path.join(tmp_dir, 'model.onnx'), onnx_path)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def file_entry(path, name):
    with open(path, 'rb') as f:
        data = f.read()
    return {'file': name, 'sha256': hashlib.sha256(data).hexdigest(), 'bytes': len(data)}


def _source(args, info, ckpt_sha):
    src = {
        'config': info['config'],
        'checkpoint': os.path.basename(args.checkpoint) if args.checkpoint else None,
        'checkpointSha256': ckpt_sha,
        'randomInit': {'seed': args.seed} if args.random_init else None,
        'exporter': 'models/export.py',
        'command': shlex.join(['python3'] + sys.argv),
        'torch': torch.__version__,
        'opset': args.opset,
    }
    if info.get('dataset_config'):  # not COCO: the config that gives the dataset's values
        src['datasetConfig'] = info['dataset_config']
    return src


def _weights_fields(args, onnx_path):
    """``onnx.weights`` (model.onnx is fp32), ``onnx.variants`` (the fp16 / int8 files written,
    only when there are any) and ``onnx.recommended``."""
    out_dir = os.path.dirname(onnx_path)
    fields = {'weights': 'fp32'}
    variants = {k: file_entry(os.path.join(out_dir, WEIGHT_FILES[k]), WEIGHT_FILES[k])
                for k in getattr(args, 'variants', [])}
    if variants:
        fields['variants'] = variants
    fields['recommended'] = getattr(args, 'recommend', 'fp32')
    return fields


def write_weight_variants(args, onnx_path):
    """model_fp16.onnx / model_int8.onnx from model.onnx (srpose_models/weights.py); variant
    files of an earlier export that this one does not write are removed (srpose.json would no
    longer describe them). Returns {kind: stats}."""
    from srpose_models.weights import write_variant
    out_dir = os.path.dirname(onnx_path)
    stats = {}
    for kind in WEIGHT_KINDS:
        if kind == 'fp32':
            continue
        path = os.path.join(out_dir, WEIGHT_FILES[kind])
        if kind in args.variants:
            stats[kind] = write_variant(onnx_path, path, kind)
        elif os.path.exists(path):
            os.remove(path)
    return stats


def contract_bottom_up(args, onnx_path, ckpt_sha):
    """srpose.json of a bottom-up model (kind "bottom-up"): the test_cfg of the official config
    in ``grouping``, the test-time resize in ``input`` (short side ``size``, long side rounded
    up to ``multipleOf``)."""
    info = arch_info(args.arch)
    with open(onnx_path, 'rb') as f:
        data = f.read()
    return {
        'format': FORMAT,
        'name': info['name'],
        'arch': args.arch,
        'kind': 'bottom-up',
        'head': info['head'],
        'dataset': 'coco',
        'source': _source(args, info, ckpt_sha),
        'onnx': {'file': 'model.onnx', 'sha256': hashlib.sha256(data).hexdigest(),
                 'bytes': len(data), 'input': 'image', 'output': 'output',
                 **({'externalData': [file_entry(os.path.join(os.path.dirname(onnx_path), EXTERNAL_FILE),
                                                 EXTERNAL_FILE)]} if args.external_data else {}),
                 **_weights_fields(args, onnx_path)},
        'input': {'size': info['input_size'], 'multipleOf': info['multiple_of'],
                  'colorOrder': 'RGB', 'mean': MEAN, 'std': STD},
        'keypoints': list(COCO_KEYPOINTS),
        'skeleton': [list(p) for p in COCO_SKELETON],
        'flipPairs': [list(p) for p in COCO_FLIP_PAIRS],
        'flipTest': {'enabled': True},
        'grouping': dict(info['grouping']),
        'projectToImage': True,
    }


def contract(args, onnx_path, ckpt_sha):
    if is_bottom_up(args.arch):
        return contract_bottom_up(args, onnx_path, ckpt_sha)
    info = arch_info(args.arch, args.dataset)
    hw, hh = info['heatmap']
    iw, ih = info['input']
    with open(onnx_path, 'rb') as f:
        data = f.read()
    return {
        'format': FORMAT,
        'name': info['name'],
        'arch': args.arch,
        'kind': 'top-down',
        'head': info['head'],
        'dataset': args.dataset,
        'source': _source(args, info, ckpt_sha),
        'onnx': {'file': 'model.onnx', 'sha256': hashlib.sha256(data).hexdigest(),
                 'bytes': len(data), 'input': 'image', 'output': 'heatmaps',
                 **({'externalData': [file_entry(os.path.join(os.path.dirname(onnx_path), EXTERNAL_FILE),
                                                 EXTERNAL_FILE)]} if args.external_data else {}),
                 **_weights_fields(args, onnx_path)},
        'input': {'width': iw, 'height': ih, 'colorOrder': 'RGB', 'mean': MEAN, 'std': STD},
        'heatmap': {'width': hw, 'height': hh},
        'bbox': {'padding': 1.25, 'pixelStd': 200},
        'keypoints': list(info['keypoints']),
        'skeleton': [list(p) for p in info['skeleton']],
        'flipPairs': [list(p) for p in info['flip_pairs']],
        'flipTest': {'enabled': True, 'shiftHeatmap': True},
        'decode': dict(info['decode']),
    }


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    t0 = time.time()
    try:
        model = build_weights(args)
    except CheckpointError as e:
        fail(str(e))
    ckpt_sha = sha256_file(args.checkpoint) if args.checkpoint else None
    t1 = time.time()
    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, 'model.onnx')
    # write next to the target, then rename: a failed export never leaves a half file
    fd, tmp = tempfile.mkstemp(suffix='.onnx', dir=args.out)
    os.close(fd)
    try:
        if is_bottom_up(args.arch):
            export_onnx_bottom_up(model, tmp, args.opset)
        else:
            info = arch_info(args.arch, args.dataset)
            export_onnx(model, tmp, args.opset, info['heatmap'], info['input'],
                        len(info['keypoints']))
        os.chmod(tmp, 0o644)
        os.replace(tmp, onnx_path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    if args.external_data:
        save_external(onnx_path)
    try:
        variant_stats = write_weight_variants(args, onnx_path)
    except WeightsError as e:
        fail(str(e))
    t2 = time.time()
    if args.save_checkpoint:
        save_checkpoint(model, args.save_checkpoint, args)
    cfg = contract(args, onnx_path, ckpt_sha)
    with open(os.path.join(args.out, 'srpose.json'), 'w') as f:
        json.dump(cfg, f, indent=2)
        f.write('\n')
    print(json.dumps({'arch': args.arch, 'dataset': args.dataset, 'out': args.out,
                      'onnxBytes': cfg['onnx']['bytes'],
                      'onnxSha256': cfg['onnx']['sha256'],
                      **({'variants': {k: dict(v, **variant_stats[k])
                                       for k, v in cfg['onnx']['variants'].items()}}
                         if variant_stats else {}),
                      'params': sum(p.numel() for p in model.parameters()),
                      'weightsSeconds': round(t1 - t0, 2), 'exportSeconds': round(t2 - t1, 2)}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
