#!/usr/bin/env python3
"""A tiny SRPose model for the browser WebGPU test (tests/browser/browser.test.ts).

    /usr/bin/python3 tests/browser/tiny_srpose.py --out DIR [--seed 0]

The real contract (input ``image`` float32 [N,3,256,192], output ``heatmaps`` [N,17,256,192],
opset 17, only the batch axis dynamic, decode method ``sr``) and the real head
(``TopDownSRPoseHead`` of models/srpose_models with the official level layout: 4 levels,
upsample_log [3,2,1,2], the last level pixel-shuffling 64x48 features by 4), on a small
ResNet-like backbone (BasicBlocks, feature maps at strides 4/8/16/32) with 8-32 channels
instead of 256-2048. Random weights from models/srpose_models' ``random_init`` (fixed seed,
calibrated BN, heatmaps of std 1.5), so WebGPU and WASM see well-separated peaks.

SwiftShader (the software WebGPU adapter of headless Chromium) runs Res-50 SRPose in about
40 s a box; this one takes about a second. Writes DIR/model.onnx and DIR/srpose.json; prints
one JSON line (out, onnx bytes, parameter count, seconds).
"""
import argparse
import hashlib
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = os.path.join(ROOT, 'models')
if MODELS not in sys.path:
    sys.path.insert(0, MODELS)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from export import MEAN, STD, FORMAT, export_onnx  # noqa: E402
from srpose_models.build import (COCO_FLIP_PAIRS, COCO_KEYPOINTS, COCO_SKELETON,  # noqa: E402
                                 INPUT_SIZE, NUM_JOINTS, TopDownModel)
from srpose_models.checkpoint import random_init  # noqa: E402
from srpose_models.resnet import BasicBlock  # noqa: E402
from srpose_models.srpose_head import TopDownSRPoseHead  # noqa: E402

STAGES = (8, 16, 16, 32)  # channels at strides 4, 8, 16, 32


class TinyBackbone(nn.Module):
    """Stem (two stride-2 3x3 convs) then one BasicBlock per stage; returns the four maps from
    high to low resolution, as ResNet(out_indices=(0, 1, 2, 3)) does."""

    def __init__(self, channels=STAGES):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
            nn.Conv2d(8, channels[0], 3, 2, 1, bias=False), nn.BatchNorm2d(channels[0]),
            nn.ReLU(inplace=True))
        layers = []
        cin = channels[0]
        for i, c in enumerate(channels):
            stride = 1 if i == 0 else 2
            down = None if stride == 1 and cin == c else nn.Sequential(
                nn.Conv2d(cin, c, 1, stride, bias=False), nn.BatchNorm2d(c))
            layers.append(BasicBlock(cin, c, stride=stride, downsample=down))
            cin = c
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        x = self.stem(x)
        outs = []
        for layer in self.layers:
            x = layer(x)
            outs.append(x)
        return tuple(outs)


def build_tiny():
    backbone = TinyBackbone()
    head = TopDownSRPoseHead(in_channels=list(STAGES[::-1]), out_channels=[32, 16, 8, 8],
                             num_joints=NUM_JOINTS, upsample_log=[3, 2, 1, 2],
                             per_emb_nums=[4, 2, 1, 1], supervises=[True, True, True, True])
    return TopDownModel(backbone, head, 'tiny_srpose').eval()


def contract(onnx_path, seed, opset):
    with open(onnx_path, 'rb') as f:
        data = f.read()
    return {
        'format': FORMAT,
        'name': 'tiny_srpose_coco_256x192',
        'arch': 'tiny_srpose',
        'kind': 'top-down',
        'head': 'TopDownSRPoseHead',
        'dataset': 'coco',
        'source': {
            'config': None,
            'checkpoint': None,
            'checkpointSha256': None,
            'randomInit': {'seed': seed},
            'exporter': 'tests/browser/tiny_srpose.py',
            'command': 'python3 ' + ' '.join(sys.argv),
            'torch': torch.__version__,
            'opset': opset,
        },
        'onnx': {'file': 'model.onnx', 'sha256': hashlib.sha256(data).hexdigest(),
                 'bytes': len(data), 'input': 'image', 'output': 'heatmaps'},
        'input': {'width': INPUT_SIZE[0], 'height': INPUT_SIZE[1], 'colorOrder': 'RGB',
                  'mean': MEAN, 'std': STD},
        'heatmap': {'width': INPUT_SIZE[0], 'height': INPUT_SIZE[1]},
        'bbox': {'padding': 1.25, 'pixelStd': 200},
        'keypoints': list(COCO_KEYPOINTS),
        'skeleton': [list(p) for p in COCO_SKELETON],
        'flipPairs': [list(p) for p in COCO_FLIP_PAIRS],
        'flipTest': {'enabled': True, 'shiftHeatmap': True},
        'decode': {'method': 'sr', 'poolKernel': 16, 'modulateKernel': 11},
    }


def main():
    p = argparse.ArgumentParser(prog='tiny_srpose.py', description=__doc__.split('\n')[0])
    p.add_argument('--out', required=True)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--opset', type=int, default=17)
    a = p.parse_args()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    t0 = time.time()
    model = random_init(build_tiny(), a.seed)
    os.makedirs(a.out, exist_ok=True)
    onnx_path = os.path.join(a.out, 'model.onnx')
    tmp = onnx_path + '.tmp'
    export_onnx(model, tmp, a.opset, INPUT_SIZE)  # checks [N, 17, 256, 192] through torch and ONNX
    os.replace(tmp, onnx_path)
    cfg = contract(onnx_path, a.seed, a.opset)
    with open(os.path.join(a.out, 'srpose.json'), 'w') as f:
        json.dump(cfg, f, indent=2)
        f.write('\n')
    print(json.dumps({'out': a.out, 'onnxBytes': cfg['onnx']['bytes'],
                      'params': sum(t.numel() for t in model.parameters()),
                      'seconds': round(time.time() - t0, 2)}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
