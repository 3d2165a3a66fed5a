#!/usr/bin/env python3
"""Export a YOLOX person detector (Megvii-BaseDetection/YOLOX) to ONNX plus its contract.

    python3 models/export_yolox.py --arch yolox_nano --checkpoint yolox_nano.pth --out DIR
    python3 models/export_yolox.py --arch yolox_nano --random-init --seed 0 --out DIR \
        --save-checkpoint DIR/checkpoint.pth

DIR/model.onnx: input ``images`` float32 [1,3,H,W] (the exp's test size, batch fixed to 1),
output ``output`` float32 [1,A,85], decoded as the official model with
``decode_in_inference``: per anchor cx, cy, w, h in input pixels, sigmoid objectness, 80 sigmoid
class scores (anchors stride 8, 16, 32, each level row-major). DIR/srpose.json: the detector
contract (models/README.md). ``--legacy`` for checkpoints before 0.1.1rc0, which expect RGB /
255 normalised inputs. A checkpoint that does not match the arch exits with status 2 and a
message listing the missing / unexpected keys.
"""
import argparse
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

from yolox.checkpoint import (CheckpointError, load_checkpoint, random_init,  # noqa: E402
                              save_checkpoint, sha256_file)
from yolox.model import ARCHS, NUM_CLASSES, STRIDES, build_model, num_anchors  # noqa: E402
from yolox.reference import MEAN, NMS_THRESHOLD, PAD_VALUE, PERSON, STD, TEST_CONF  # noqa: E402

FORMAT = 'srpose-detector/1'
INPUT = 'images'
OUTPUT = 'output'


def fail(msg, code=2):
    print(f'export_yolox.py: error: {msg}', file=sys.stderr)
    sys.exit(code)


def parse_args(argv):
    p = argparse.ArgumentParser(prog='export_yolox.py',
                                description='Export a YOLOX detector to ONNX + srpose.json.')
    p.add_argument('--arch', required=True, choices=sorted(ARCHS))
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument('--checkpoint', help='official .pth ({"model": ...}) or a bare state dict')
    src.add_argument('--random-init', action='store_true',
                     help='deterministic random weights (parity tests); needs --seed')
    p.add_argument('--seed', type=int, default=None, help='seed for --random-init')
    p.add_argument('--out', required=True, help='output directory')
    p.add_argument('--save-checkpoint', default=None,
                   help='also write the weights used, official layout {"model", "start_epoch"}')
    p.add_argument('--legacy', action='store_true',
                   help='checkpoint before 0.1.1rc0: RGB, /255, ImageNet mean/std inputs')
    p.add_argument('--opset', type=int, default=17)
    a = p.parse_args(argv)
    if a.random_init and a.seed is None:
        p.error('--random-init needs --seed N')
    if a.checkpoint and a.seed is not None:
        p.error('--seed only goes with --random-init')
    return a


def export_onnx(model, path, arch, opset):
    h, w = ARCHS[arch]['input_size']
    want = (1, num_anchors(arch), 5 + NUM_CLASSES)
    dummy = torch.zeros(1, 3, h, w)
    with torch.no_grad():  # shape check through torch before writing anything
        got = tuple(model(dummy).shape)
    if got != want:
        raise RuntimeError(f'model output {got} != expected {want}')
    with warnings.catch_warnings():
        # the anchor grids become constants on purpose (int() of the traced feature sizes)
        warnings.simplefilter('ignore')
        torch.onnx.export(model, dummy, path, export_params=True, opset_version=opset,
                          do_constant_folding=True, input_names=[INPUT],
                          output_names=[OUTPUT])
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    dims = [d.dim_param or d.dim_value for d in m.graph.output[0].type.tensor_type.shape.dim]
    if tuple(dims) != want:
        raise RuntimeError(f'ONNX output dims {dims} != {list(want)}')


def contract(args, onnx_path, ckpt_sha):
    h, w = ARCHS[args.arch]['input_size']
    with open(onnx_path, 'rb') as f:
        data = f.read()
    legacy = bool(args.legacy)
    return {
        'format': FORMAT,
        'kind': 'detector',
        'family': 'yolox',
        'name': f'{args.arch}_coco_{h}' if h == w else f'{args.arch}_coco_{h}x{w}',
        'arch': args.arch,
        'source': {
            'repository': 'Megvii-BaseDetection/YOLOX',
            'checkpoint': os.path.basename(args.checkpoint) if args.checkpoint else None,
            'checkpointSha256': ckpt_sha,
            'randomInit': {'seed': args.seed} if args.random_init else None,
            'exporter': 'models/export_yolox.py',
            'command': shlex.join(['python3'] + sys.argv),
            'torch': torch.__version__,
            'opset': args.opset,
        },
        'onnx': {'file': 'model.onnx', 'sha256': hashlib.sha256(data).hexdigest(),
                 'bytes': len(data), 'input': INPUT, 'output': OUTPUT,
                 'outputFormat': 'yolox-decoded'},
        'input': {'width': w, 'height': h, 'colorOrder': 'RGB' if legacy else 'BGR',
                  'pixelScale': 1 / 255 if legacy else 1,
                  'mean': list(MEAN) if legacy else [0, 0, 0],
                  'std': list(STD) if legacy else [1, 1, 1],
                  'padValue': PAD_VALUE, 'legacy': legacy},
        'classes': {'count': NUM_CLASSES, 'person': PERSON},
        'decode': {'strides': list(STRIDES), 'scoreThreshold': TEST_CONF,
                   'nmsThreshold': NMS_THRESHOLD, 'classAware': True},
    }


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    t0 = time.time()
    model = build_model(args.arch)
    try:
        if args.random_init:
            random_init(model, args.seed, args.legacy)
        else:
            load_checkpoint(model, args.checkpoint, args.arch)
    except CheckpointError as e:
        fail(str(e))
    model.eval()
    ckpt_sha = sha256_file(args.checkpoint) if args.checkpoint else None
    t1 = time.time()
    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, 'model.onnx')
    # written next to the target, then renamed: a failed export never leaves a half file
    fd, tmp = tempfile.mkstemp(suffix='.onnx', dir=args.out)
    os.close(fd)
    try:
        export_onnx(model, tmp, args.arch, args.opset)
        os.chmod(tmp, 0o644)
        os.replace(tmp, onnx_path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    t2 = time.time()
    if args.save_checkpoint:
        save_checkpoint(model, args.save_checkpoint)
    cfg = contract(args, onnx_path, ckpt_sha)
    with open(os.path.join(args.out, 'srpose.json'), 'w') as f:
        json.dump(cfg, f, indent=2)
        f.write('\n')
    print(json.dumps({'arch': args.arch, 'out': args.out, 'onnxBytes': cfg['onnx']['bytes'],
                      'onnxSha256': cfg['onnx']['sha256'],
                      'params': sum(p.numel() for p in model.parameters()),
                      'weightsSeconds': round(t1 - t0, 2), 'exportSeconds': round(t2 - t1, 2)}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
