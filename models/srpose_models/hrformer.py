"""HRFormer (``HRT``, High-Resolution Transformer) backbone as the official SRPose code builds it
(mmpose/models/backbones/hrt.py with modules/transformer_block.py,
modules/multihead_isa_pool_attention.py, modules/multihead_isa_attention.py,
modules/bottleneck_block.py), re-implemented without mmcv, einops or timm.

Layout and names (official, so a checkpoint loads strictly):

* stem ``conv1, bn1, conv2, bn2`` (two stride-2 3x3 convs), ``layer1``: mmcv Bottlenecks
  (``conv{1,2,3}``, ``bn{1,2,3}``, ``downsample.{0,1}``);
* ``transition{1,2,3}``: as HRNet (``None`` where a branch passes through);
* ``stage{2,3,4}.{module}.branches.{b}.{block}``: ``GeneralTransformerBlock`` =
  ``norm1`` (LayerNorm, eps 1e-6), ``attn.attn`` (``q_proj, k_proj, v_proj, out_proj``,
  ``relative_position_bias_table`` [(2w-1)^2, heads], buffer ``relative_position_index``
  [w^2, w^2]), ``norm2``, ``mlp`` (``fc1, norm1, dw3x3, norm2, fc2, norm3``: 1x1 conv, BN,
  GELU, depthwise 3x3, BN, GELU, 1x1 conv, BN, GELU);
* ``stage{s}.{m}.fuse_layers.{i}.{j}``: j > i ``Sequential(conv1x1, BN, Upsample bilinear)``;
  j < i a Sequential of stride-2 steps ``Sequential(dw conv3x3, BN, conv1x1, BN[, ReLU])``.

Attention: each map (after LayerNorm) is zero-padded, centred, to multiples of the window (7),
cut into non-overlapping 7x7 windows and each window runs multi-head self-attention (49 tokens,
padding tokens included: there is no mask, as in the official code); then the windows are put
back and the padding removed. The official ``MHA_`` builds the relative position bias but its
addition to the attention logits is commented out in the SRPose repository
(``# + relative_position_bias.unsqueeze(0)``), so the trained models never used it: the table
and its index are kept (checkpoints hold them) and the forward leaves them out, as the official
one does. ``drop_path`` (stochastic depth, rate up to 0.1) is the identity at inference.

The blocks compute channels-last (B, H, W, C) where the official ones flatten to tokens
(B, H*W, C), and project q, k, v with one stacked matmul: the same values in fewer ONNX nodes.
Run against the official modules (mmcv stubbed) with the same random weights, the four branch
outputs agree to 3e-6 at 256x192 and at 224x160 (where no map size is a multiple of 7). Key
order differs only inside ``layer1.0`` (the official Bottleneck registers ``downsample`` first),
which strict loading does not care about.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .resnet import Bottleneck, make_res_layer


def _static(v):
    """A size as a Python int: traced into the ONNX graph as a constant (the exported models
    have a fixed input size), so the window reshapes stay static and ONNX shape inference keeps
    every dim; only the batch axis is dynamic (-1 in every reshape)."""
    return int(v)


def _zero_pad(x, dim, before, after):
    """Zero padding of ``x`` along ``dim`` (what ``F.pad`` does), built from a zeroed slice of
    ``x`` and Concat: torch 1.13 exports F.pad with computed pads that ONNX shape inference
    cannot see through, which would leave every later dim unknown."""
    if not (before or after):
        return x
    z = x.narrow(dim, 0, 1) * 0.0
    return torch.cat([z] * before + [x] + [z] * after, dim=dim)


class WindowMultiheadAttention(nn.Module):
    """The official ``MHA_`` (``attn.attn``): q/k/v/out projections (``nn.Linear`` with bias);
    q is scaled by head_dim ** -0.5 after its projection. Input (windows, tokens, C).

    q, k and v come from one matmul with the three weights stacked (the ONNX graph holds the
    stacked weight as one initializer, folded at export): the same dot products as three
    projections, in a third of the graph nodes."""

    def __init__(self, embed_dim, num_heads, window_size=7):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError('embed_dim must be divisible by num_heads')
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.window_size = window_size
        # registration order of the official module: k, v, q, out
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        w = window_size
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * w - 1) ** 2, num_heads))
        # index of token pair (a, b) of a window: (dy + w - 1) * (2w - 1) + (dx + w - 1)
        ys, xs = torch.meshgrid(torch.arange(w), torch.arange(w), indexing='ij')
        ys, xs = ys.flatten(), xs.flatten()
        dy = ys[:, None] - ys[None, :] + (w - 1)
        dx = xs[:, None] - xs[None, :] + (w - 1)
        self.register_buffer('relative_position_index', dy * (2 * w - 1) + dx)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def forward(self, x):
        n, c = _static(x.shape[1]), self.embed_dim
        h, d = self.num_heads, self.head_dim
        weight = torch.cat([self.q_proj.weight, self.k_proj.weight, self.v_proj.weight])
        bias = torch.cat([self.q_proj.bias, self.k_proj.bias, self.v_proj.bias])
        qkv = F.linear(x, weight, bias).reshape(-1, n, 3, h, d).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * (float(d) ** -0.5), qkv[1], qkv[2]  # (windows, heads, n, d)
        attn = torch.softmax(torch.matmul(q, k.transpose(2, 3)), dim=-1)
        out = torch.matmul(attn, v).transpose(1, 2).reshape(-1, n, c)
        return self.out_proj(out)


class InterlacedPoolAttention(nn.Module):
    """The official ``InterlacedPoolAttention`` (``block.attn``): centred zero padding to
    multiples of the window, 7x7 windows, attention per window, back, de-pad. Input and output
    (B, H, W, C) (the official one takes the same values as tokens (B, H*W, C))."""

    def __init__(self, embed_dim, num_heads, window_size=7):
        super().__init__()
        self.dim = embed_dim
        self.num_heads = num_heads
        self.window_size = window_size
        self.attn = WindowMultiheadAttention(embed_dim, num_heads, window_size)

    def forward(self, x):
        c, hgt, wid = self.dim, _static(x.shape[1]), _static(x.shape[2])
        ws = self.window_size
        ph = math.ceil(hgt / ws) * ws - hgt
        pw = math.ceil(wid / ws) * ws - wid
        # F.pad(x, (0, 0, pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)) as official
        x = _zero_pad(_zero_pad(x, 1, ph // 2, ph - ph // 2), 2, pw // 2, pw - pw // 2)
        hp, wp = hgt + ph, wid + pw
        qh, qw = hp // ws, wp // ws
        # (n, qh*ws, qw*ws, c) -> (n*qh*qw, ws*ws, c): one row per window, official order
        win = x.reshape(-1, qh, ws, qw, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws * ws, c)
        out = self.attn(win)
        out = out.reshape(-1, qh, qw, ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, hp, wp, c)
        if ph or pw:
            out = out[:, ph // 2:ph // 2 + hgt, pw // 2:pw // 2 + wid, :]
        return out


class MlpDWBN(nn.Module):
    """The official ``MlpDWBN`` of transformer_block.py; input and output (B, H, W, C) (the
    official one: tokens (B, H*W, C), the same values)."""

    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.fc1 = nn.Conv2d(in_features, hidden_features, 1)
        self.act1 = nn.GELU()
        self.norm1 = nn.BatchNorm2d(hidden_features)
        self.dw3x3 = nn.Conv2d(hidden_features, hidden_features, 3, 1, 1, groups=hidden_features)
        self.act2 = nn.GELU()
        self.norm2 = nn.BatchNorm2d(hidden_features)
        self.fc2 = nn.Conv2d(hidden_features, out_features, 1)
        self.act3 = nn.GELU()
        self.norm3 = nn.BatchNorm2d(out_features)

    def forward(self, x):
        y = x.permute(0, 3, 1, 2)
        y = self.act1(self.norm1(self.fc1(y)))
        y = self.act2(self.norm2(self.dw3x3(y)))
        y = self.act3(self.norm3(self.fc2(y)))
        return y.permute(0, 2, 3, 1)


class GeneralTransformerBlock(nn.Module):
    """x + attn(LN(x)); x + mlp(LN(x)), LayerNorm over the channels of every pixel (computed
    channels-last; the official block flattens the map to tokens, the same values)."""
    expansion = 1

    def __init__(self, inplanes, planes, num_heads, window_size=7, mlp_ratio=4.0):
        super().__init__()
        if inplanes != planes:
            raise ValueError('GeneralTransformerBlock: inplanes != planes')
        self.dim = inplanes
        self.out_dim = planes
        self.attn = InterlacedPoolAttention(inplanes, num_heads, window_size)
        self.norm1 = nn.LayerNorm(inplanes, eps=1e-6)
        self.norm2 = nn.LayerNorm(planes, eps=1e-6)
        self.drop_path = nn.Identity()  # DropPath at training time; no parameters
        self.mlp = MlpDWBN(inplanes, int(inplanes * mlp_ratio), planes)

    def forward(self, x):
        t = x.permute(0, 2, 3, 1)
        t = t + self.drop_path(self.attn(self.norm1(t)))
        t = t + self.drop_path(self.mlp(self.norm2(t)))
        return t.permute(0, 3, 1, 2)


class HighResolutionTransformerModule(nn.Module):
    def __init__(self, num_branches, num_blocks, in_channels, num_channels, multiscale_output,
                 num_heads, num_window_sizes, num_mlp_ratios):
        super().__init__()
        if not (num_branches == len(num_blocks) == len(num_channels) == len(in_channels)):
            raise ValueError('HighResolutionTransformerModule: branch counts disagree')
        self.in_channels = list(in_channels)
        self.num_branches = num_branches
        self.multiscale_output = multiscale_output
        self.branches = nn.ModuleList([nn.Sequential(*[
            GeneralTransformerBlock(self.in_channels[i] if k == 0 else num_channels[i],
                                    num_channels[i], num_heads=num_heads[i],
                                    window_size=num_window_sizes[i],
                                    mlp_ratio=num_mlp_ratios[i])
            for k in range(num_blocks[i])]) for i in range(num_branches)])
        self.in_channels = list(num_channels)
        self.fuse_layers = self._make_fuse_layers()
        self.relu = nn.ReLU(inplace=True)

    def _make_fuse_layers(self):
        if self.num_branches == 1:
            return None
        c = self.in_channels
        rows = []
        for i in range(self.num_branches if self.multiscale_output else 1):
            row = []
            for j in range(self.num_branches):
                if j > i:
                    row.append(nn.Sequential(
                        nn.Conv2d(c[j], c[i], 1, bias=False),
                        nn.BatchNorm2d(c[i]),
                        nn.Upsample(scale_factor=2 ** (j - i), mode='bilinear',
                                    align_corners=False)))
                elif j == i:
                    row.append(None)
                else:
                    steps = []
                    for k in range(i - j):
                        last = k == i - j - 1
                        cout = c[i] if last else c[j]
                        step = [nn.Conv2d(c[j], c[j], 3, stride=2, padding=1, groups=c[j],
                                          bias=False),
                                nn.BatchNorm2d(c[j]),
                                nn.Conv2d(c[j], cout, 1, bias=False),
                                nn.BatchNorm2d(cout)]
                        if not last:
                            step.append(nn.ReLU(inplace=True))
                        steps.append(nn.Sequential(*step))
                    row.append(nn.Sequential(*steps))
            rows.append(nn.ModuleList(row))
        return nn.ModuleList(rows)

    def forward(self, xs):
        xs = [self.branches[i](xs[i]) for i in range(self.num_branches)]
        if self.num_branches == 1:
            return xs
        out = []
        for i in range(len(self.fuse_layers)):
            y = xs[0] if i == 0 else self.fuse_layers[i][0](xs[0])
            for j in range(1, self.num_branches):
                if j == i:
                    y = y + xs[j]
                else:
                    z = self.fuse_layers[i][j](xs[j])
                    size = tuple(_static(v) for v in xs[i].shape[2:])
                    if j > i and tuple(_static(v) for v in z.shape[2:]) != size:
                        # official: resize(..., size=x[i].shape[2:], bilinear); the identity
                        # when the map sizes divide (always at 256x192)
                        z = F.interpolate(z, size=size, mode='bilinear', align_corners=False)
                    y = y + z
            out.append(self.relu(y))
        return out


class HRT(nn.Module):
    """HRFormer backbone; ``extra`` as the official config's ``model.backbone.extra``. Returns
    the four branch maps (strides 4, 8, 16, 32) with ``stage4.multiscale_output=True``."""

    def __init__(self, extra, in_channels=3):
        super().__init__()
        self.extra = extra
        self.conv1 = nn.Conv2d(in_channels, 64, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.conv2 = nn.Conv2d(64, 64, 3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)

        s1 = extra['stage1']
        if s1['block'] != 'BOTTLENECK':
            raise ValueError('HRT: stage1 must be BOTTLENECK')
        stage1_out = s1['num_channels'][0] * Bottleneck.expansion
        self.layer1 = make_res_layer(Bottleneck, s1['num_blocks'][0], 64, stage1_out)

        self.stage_cfgs = []
        pre = [stage1_out]
        for s in (2, 3, 4):
            cfg = extra[f'stage{s}']
            if cfg['block'] != 'TRANSFORMER_BLOCK':
                raise ValueError(f'HRT: stage{s} must be TRANSFORMER_BLOCK')
            self.stage_cfgs.append(cfg)
            chans = list(cfg['num_channels'])  # GeneralTransformerBlock.expansion == 1
            self.add_module(f'transition{s - 1}', self._make_transition_layer(pre, chans))
            multiscale = cfg.get('multiscale_output', False) if s == 4 else True
            modules = []
            for m in range(cfg['num_modules']):
                ms = multiscale or m < cfg['num_modules'] - 1
                modules.append(HighResolutionTransformerModule(
                    cfg['num_branches'], cfg['num_blocks'], chans, cfg['num_channels'], ms,
                    cfg['num_heads'], cfg['num_window_sizes'], cfg['num_mlp_ratios']))
            self.add_module(f'stage{s}', nn.Sequential(*modules))
            pre = chans
        self.out_channels = pre

    @staticmethod
    def _make_transition_layer(pre, cur):
        layers = []
        for i in range(len(cur)):
            if i < len(pre):
                layers.append(None if cur[i] == pre[i] else nn.Sequential(
                    nn.Conv2d(pre[i], cur[i], 3, stride=1, padding=1, bias=False),
                    nn.BatchNorm2d(cur[i]),
                    nn.ReLU(inplace=True)))
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

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        y_list = [self.layer1(x)]
        for s, cfg in zip((2, 3, 4), self.stage_cfgs):
            trans = getattr(self, f'transition{s - 1}')
            x_list = [trans[i](y_list[-1]) if trans[i] is not None else y_list[i]
                      for i in range(cfg['num_branches'])]
            y_list = getattr(self, f'stage{s}')(x_list)
        return y_list


# configs/top_down/srpose/coco/hrt_small_srpose_coco_256x192.py, model.backbone.extra
# (drop_path_rate 0.1 only matters in training)
HRT_SMALL_EXTRA = dict(
    drop_path_rate=0.1,
    stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(2,),
                num_channels=(64,), num_heads=[2], num_mlp_ratios=[4]),
    stage2=dict(num_modules=1, num_branches=2, block='TRANSFORMER_BLOCK', num_blocks=(2, 2),
                num_channels=(32, 64), num_heads=[1, 2], num_mlp_ratios=[4, 4],
                num_window_sizes=[7, 7]),
    stage3=dict(num_modules=4, num_branches=3, block='TRANSFORMER_BLOCK', num_blocks=(2, 2, 2),
                num_channels=(32, 64, 128), num_heads=[1, 2, 4], num_mlp_ratios=[4, 4, 4],
                num_window_sizes=[7, 7, 7]),
    stage4=dict(multiscale_output=True, num_modules=2, num_branches=4, block='TRANSFORMER_BLOCK',
                num_blocks=(2, 2, 2, 2), num_channels=(32, 64, 128, 256),
                num_heads=[1, 2, 4, 8], num_mlp_ratios=[4, 4, 4, 4],
                num_window_sizes=[7, 7, 7, 7]),
)
