"""mmpose 0.x ``HRNet`` backbone (mmpose/models/backbones/hrnet.py).

Module names as the official code: stem ``conv1, bn1, conv2, bn2``; ``layer1`` (Bottleneck
x4); ``transition{1,2,3}`` (ModuleList, ``None`` where a branch passes through unchanged);
``stage{2,3,4}.{module}.branches.{b}.{block}`` and ``.fuse_layers.{i}.{j}`` where
j > i is ``Sequential(conv1x1, bn, Upsample)`` (-> ``.0``, ``.1``), j == i is ``None`` and
j < i is a Sequential of stride-2 ``Sequential(conv3x3, bn[, relu])`` (-> ``.{k}.0``, ``.{k}.1``).
With ``stage4.multiscale_output=True`` (the SRPose config) the last module fuses all four
outputs and the backbone returns four maps (strides 4, 8, 16, 32).
"""
import torch.nn as nn

from .resnet import BasicBlock, Bottleneck, make_res_layer


class HRModule(nn.Module):
    def __init__(self, num_branches, block, num_blocks, in_channels, num_channels,
                 multiscale_output=False, upsample_mode='nearest', align_corners=None):
        super().__init__()
        if not (num_branches == len(num_blocks) == len(num_channels) == len(in_channels)):
            raise ValueError('HRModule: branch counts disagree')
        self.in_channels = list(in_channels)
        self.num_branches = num_branches
        self.multiscale_output = multiscale_output
        self.upsample_mode = upsample_mode
        self.align_corners = align_corners
        self.branches = nn.ModuleList(
            [self._make_one_branch(i, block, num_blocks, num_channels) for i in range(num_branches)])
        self.fuse_layers = self._make_fuse_layers()
        self.relu = nn.ReLU(inplace=True)

    def _make_one_branch(self, i, block, num_blocks, num_channels, stride=1):
        cout = num_channels[i] * block.expansion
        downsample = None
        if stride != 1 or self.in_channels[i] != cout:
            downsample = nn.Sequential(
                nn.Conv2d(self.in_channels[i], cout, 1, stride=stride, bias=False),
                nn.BatchNorm2d(cout))
        layers = [block(self.in_channels[i], cout, stride=stride, downsample=downsample)]
        self.in_channels[i] = cout
        for _ in range(1, num_blocks[i]):
            layers.append(block(cout, cout))
        return nn.Sequential(*layers)

    def _make_fuse_layers(self):
        if self.num_branches == 1:
            return None
        c = self.in_channels
        n_out = self.num_branches if self.multiscale_output else 1
        fuse_layers = []
        for i in range(n_out):
            row = []
            for j in range(self.num_branches):
                if j > i:
                    row.append(nn.Sequential(
                        nn.Conv2d(c[j], c[i], 1, stride=1, padding=0, bias=False),
                        nn.BatchNorm2d(c[i]),
                        nn.Upsample(scale_factor=2 ** (j - i), mode=self.upsample_mode,
                                    align_corners=self.align_corners)))
                elif j == i:
                    row.append(None)
                else:
                    downs = []
                    for k in range(i - j):
                        if k == i - j - 1:
                            downs.append(nn.Sequential(
                                nn.Conv2d(c[j], c[i], 3, stride=2, padding=1, bias=False),
                                nn.BatchNorm2d(c[i])))
                        else:
                            downs.append(nn.Sequential(
                                nn.Conv2d(c[j], c[j], 3, stride=2, padding=1, bias=False),
                                nn.BatchNorm2d(c[j]),
                                nn.ReLU(inplace=True)))
                    row.append(nn.Sequential(*downs))
            fuse_layers.append(nn.ModuleList(row))
        return nn.ModuleList(fuse_layers)

    def forward(self, x):
        if self.num_branches == 1:
            return [self.branches[0](x[0])]
        x = [self.branches[i](x[i]) for i in range(self.num_branches)]
        out = []
        for i in range(len(self.fuse_layers)):
            y = 0
            for j in range(self.num_branches):
                y = y + (x[j] if i == j else self.fuse_layers[i][j](x[j]))
            out.append(self.relu(y))
        return out


class HRNet(nn.Module):
    blocks_dict = {'BASIC': BasicBlock, 'BOTTLENECK': Bottleneck}

    def __init__(self, extra, in_channels=3):
        super().__init__()
        self.extra = extra
        self.conv1 = nn.Conv2d(in_channels, 64, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.conv2 = nn.Conv2d(64, 64, 3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        up = extra.get('upsample', {'mode': 'nearest', 'align_corners': None})
        self.upsample_cfg = up

        s1 = extra['stage1']
        block = self.blocks_dict[s1['block']]
        stage1_out = s1['num_channels'][0] * block.expansion
        self.layer1 = make_res_layer(block, s1['num_blocks'][0], 64, stage1_out)

        self.stage_cfgs = []
        pre = [stage1_out]
        for s in (2, 3, 4):
            cfg = extra[f'stage{s}']
            self.stage_cfgs.append(cfg)
            block = self.blocks_dict[cfg['block']]
            chans = [c * block.expansion for c in cfg['num_channels']]
            self.add_module(f'transition{s - 1}', self._make_transition_layer(pre, chans))
            multiscale = cfg.get('multiscale_output', False) if s == 4 else True
            stage, pre = self._make_stage(cfg, chans, multiscale)
            self.add_module(f'stage{s}', stage)
        self.out_channels = pre

    @staticmethod
    def _make_transition_layer(pre, cur):
        layers = []
        for i in range(len(cur)):
            if i < len(pre):
                if cur[i] != pre[i]:
                    layers.append(nn.Sequential(
                        nn.Conv2d(pre[i], cur[i], 3, stride=1, padding=1, bias=False),
                        nn.BatchNorm2d(cur[i]),
                        nn.ReLU(inplace=True)))
                else:
                    layers.append(None)
            else:
                downs = []
                for j in range(i + 1 - len(pre)):
                    cin = pre[-1]
                    cout = cur[i] if j == i - len(pre) else cin
                    downs.append(nn.Sequential(
                        nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False),
                        nn.BatchNorm2d(cout),
                        nn.ReLU(inplace=True)))
                layers.append(nn.Sequential(*downs))
        return nn.ModuleList(layers)

    def _make_stage(self, cfg, in_channels, multiscale_output=True):
        block = self.blocks_dict[cfg['block']]
        modules = []
        for i in range(cfg['num_modules']):
            # multiscale_output only matters for the last module of the stage
            ms = not (not multiscale_output and i == cfg['num_modules'] - 1)
            m = HRModule(cfg['num_branches'], block, cfg['num_blocks'], in_channels,
                         cfg['num_channels'], ms, self.upsample_cfg['mode'],
                         self.upsample_cfg['align_corners'])
            modules.append(m)
            in_channels = m.in_channels
        return nn.Sequential(*modules), in_channels

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        y_list = [self.layer1(x)]
        for s, cfg in zip((2, 3, 4), self.stage_cfgs):
            trans = getattr(self, f'transition{s - 1}')
            x_list = []
            for i in range(cfg['num_branches']):
                if trans[i] is not None:
                    x_list.append(trans[i](y_list[-1]))
                else:
                    x_list.append(y_list[i])
            y_list = getattr(self, f'stage{s}')(x_list)
        return y_list


HRNET_W32_EXTRA = dict(
    stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(4,),
                num_channels=(64,)),
    stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(4, 4),
                num_channels=(32, 64)),
    stage3=dict(num_modules=4, num_branches=3, block='BASIC', num_blocks=(4, 4, 4),
                num_channels=(32, 64, 128)),
    stage4=dict(multiscale_output=True, num_modules=3, num_branches=4, block='BASIC',
                num_blocks=(4, 4, 4, 4), num_channels=(32, 64, 128, 256)),
)
