"""mmpose 0.x ``ResNet`` backbone (mmpose/models/backbones/resnet.py), pytorch style.

Names as mmpose builds them with mmcv: ``build_norm_layer(dict(type='BN'), c, postfix=i)``
names a BatchNorm2d ``bn{i}`` (mmcv infers the abbreviation 'bn' from ``_BatchNorm``),
and the downsample branch is ``nn.Sequential(conv, bn)`` -> ``downsample.0`` / ``downsample.1``.
So the keys are ``conv1, bn1, layer1.0.conv1, layer1.0.bn1, ..., layer1.0.downsample.0``.
"""
import torch.nn as nn


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_channels, out_channels, stride=1, dilation=1, downsample=None):
        super().__init__()
        mid = out_channels // self.expansion
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.conv1 = nn.Conv2d(in_channels, mid, 3, stride=stride, padding=dilation,
                               dilation=dilation, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """Pytorch style: the stride-2 layer is the 3x3 conv (conv2)."""
    expansion = 4

    def __init__(self, in_channels, out_channels, stride=1, dilation=1, downsample=None):
        super().__init__()
        mid = out_channels // self.expansion
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.conv1 = nn.Conv2d(in_channels, mid, 1, stride=1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride=stride, padding=dilation, dilation=dilation,
                               bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def make_res_layer(block, num_blocks, in_channels, out_channels, stride=1):
    """mmpose ``ResLayer`` (downsample_first=True, avg_down=False)."""
    downsample = None
    if stride != 1 or in_channels != out_channels:
        downsample = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
            nn.BatchNorm2d(out_channels))
    layers = [block(in_channels, out_channels, stride=stride, downsample=downsample)]
    for _ in range(1, num_blocks):
        layers.append(block(out_channels, out_channels))
    return nn.Sequential(*layers)


class ResNet(nn.Module):
    arch_settings = {
        18: (BasicBlock, (2, 2, 2, 2)),
        34: (BasicBlock, (3, 4, 6, 3)),
        50: (Bottleneck, (3, 4, 6, 3)),
        101: (Bottleneck, (3, 4, 23, 3)),
        152: (Bottleneck, (3, 8, 36, 3)),
    }

    def __init__(self, depth=50, in_channels=3, stem_channels=64, base_channels=64,
                 strides=(1, 2, 2, 2), out_indices=(3,)):
        super().__init__()
        block, stage_blocks = self.arch_settings[depth]
        self.out_indices = tuple(out_indices)
        self.conv1 = nn.Conv2d(in_channels, stem_channels, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.res_layers = []
        cin, cout = stem_channels, base_channels * block.expansion
        self.out_channels = []
        for i, n in enumerate(stage_blocks):
            name = f'layer{i + 1}'
            self.add_module(name, make_res_layer(block, n, cin, cout, stride=strides[i]))
            self.res_layers.append(name)
            self.out_channels.append(cout)
            cin, cout = cout, cout * 2

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        outs = []
        for i, name in enumerate(self.res_layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        if len(outs) == 1:
            return outs[0]
        return tuple(outs)
