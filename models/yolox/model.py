"""YOLOX (Megvii-BaseDetection/YOLOX) for inference: CSPDarknet backbone, PAFPN neck and the
decoupled head, written from the official semantics.

Module and parameter names are the official ones, so ``state_dict()`` has exactly the keys and
shapes of ``torch.load('yolox_s.pth')['model']`` and strict loading works. Only the eval path
exists: the forward returns the decoded ``[N, A, 5 + C]`` output of the official
``decode_in_inference`` (cx, cy, w, h in input pixels, sigmoid objectness, sigmoid class scores),
anchors ordered stride 8, 16, 32, each level row-major (index y * W + x).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

# exps/default/*.py: depth / width multipliers, depthwise convs, test size (H, W)
ARCHS = {
    'yolox_nano': {'depth': 0.33, 'width': 0.25, 'depthwise': True, 'input_size': (416, 416)},
    'yolox_tiny': {'depth': 0.33, 'width': 0.375, 'depthwise': False, 'input_size': (416, 416)},
    'yolox_s': {'depth': 0.33, 'width': 0.50, 'depthwise': False, 'input_size': (640, 640)},
    'yolox_m': {'depth': 0.67, 'width': 0.75, 'depthwise': False, 'input_size': (640, 640)},
}
NUM_CLASSES = 80
STRIDES = (8, 16, 32)
# the exps' init_yolo sets these on every BatchNorm; eps matters at inference
BN_EPS = 1e-3
BN_MOMENTUM = 0.03


class ConvBNAct(nn.Module):
    """Conv (no bias, 'same' padding) -> BN -> SiLU; the official ``BaseConv``."""

    def __init__(self, cin, cout, k, stride=1, groups=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class DepthwiseSeparable(nn.Module):
    """k x k depthwise ConvBNAct then 1x1 ConvBNAct; the official ``DWConv`` (nano)."""

    def __init__(self, cin, cout, k, stride=1):
        super().__init__()
        self.dconv = ConvBNAct(cin, cin, k, stride, groups=cin)
        self.pconv = ConvBNAct(cin, cout, 1)

    def forward(self, x):
        return self.pconv(self.dconv(x))


def conv3(depthwise):
    """The block the exp uses for 3x3 convs outside the stems: depthwise-separable for nano."""
    return DepthwiseSeparable if depthwise else ConvBNAct


class Bottleneck(nn.Module):
    def __init__(self, channels, shortcut, depthwise):
        super().__init__()
        self.conv1 = ConvBNAct(channels, channels, 1)
        self.conv2 = conv3(depthwise)(channels, channels, 3)
        self.shortcut = shortcut

    def forward(self, x):
        y = self.conv2(self.conv1(x))
        return x + y if self.shortcut else y


class CSPBlock(nn.Module):
    """Two 1x1 branches, bottlenecks on the first, concat, 1x1; the official ``CSPLayer``."""

    def __init__(self, cin, cout, n, shortcut=True, depthwise=False):
        super().__init__()
        hidden = int(cout * 0.5)
        self.conv1 = ConvBNAct(cin, hidden, 1)
        self.conv2 = ConvBNAct(cin, hidden, 1)
        self.conv3 = ConvBNAct(2 * hidden, cout, 1)
        self.m = nn.Sequential(*[Bottleneck(hidden, shortcut, depthwise) for _ in range(n)])

    def forward(self, x):
        return self.conv3(torch.cat([self.m(self.conv1(x)), self.conv2(x)], 1))


class SPP(nn.Module):
    """1x1 halving, max pools 5/9/13 (stride 1) concatenated with their input, 1x1."""

    KERNELS = (5, 9, 13)

    def __init__(self, cin, cout):
        super().__init__()
        hidden = cin // 2
        self.conv1 = ConvBNAct(cin, hidden, 1)
        self.m = nn.ModuleList([nn.MaxPool2d(k, 1, k // 2) for k in self.KERNELS])
        self.conv2 = ConvBNAct(hidden * (len(self.KERNELS) + 1), cout, 1)

    def forward(self, x):
        x = self.conv1(x)
        return self.conv2(torch.cat([x] + [pool(x) for pool in self.m], 1))


class SpaceToDepthStem(nn.Module):
    """The official ``Focus``: 2x2 pixel groups to channels (order: top-left, bottom-left,
    top-right, bottom-right), then a 3x3 ConvBNAct."""

    def __init__(self, cout):
        super().__init__()
        self.conv = ConvBNAct(12, cout, 3)

    def forward(self, x):
        x = torch.cat([x[..., 0::2, 0::2], x[..., 1::2, 0::2],
                       x[..., 0::2, 1::2], x[..., 1::2, 1::2]], 1)
        return self.conv(x)


class CSPDarknet(nn.Module):
    def __init__(self, depth, width, depthwise):
        super().__init__()
        c = int(width * 64)
        n = max(round(depth * 3), 1)
        down = conv3(depthwise)
        self.stem = SpaceToDepthStem(c)
        self.dark2 = nn.Sequential(down(c, 2 * c, 3, 2), CSPBlock(2 * c, 2 * c, n, True, depthwise))
        self.dark3 = nn.Sequential(down(2 * c, 4 * c, 3, 2),
                                   CSPBlock(4 * c, 4 * c, 3 * n, True, depthwise))
        self.dark4 = nn.Sequential(down(4 * c, 8 * c, 3, 2),
                                   CSPBlock(8 * c, 8 * c, 3 * n, True, depthwise))
        self.dark5 = nn.Sequential(down(8 * c, 16 * c, 3, 2), SPP(16 * c, 16 * c),
                                   CSPBlock(16 * c, 16 * c, n, False, depthwise))

    def forward(self, x):
        c3 = self.dark3(self.dark2(self.stem(x)))
        c4 = self.dark4(c3)
        return c3, c4, self.dark5(c4)


class PAFPN(nn.Module):
    """Top-down then bottom-up path over dark3..dark5; the official ``YOLOPAFPN`` (the
    backbone sits inside it, hence the ``backbone.backbone.*`` keys)."""

    def __init__(self, depth, width, depthwise):
        super().__init__()
        c3, c4, c5 = (int(c * width) for c in (256, 512, 1024))
        n = round(3 * depth)
        self.backbone = CSPDarknet(depth, width, depthwise)
        self.lateral_conv0 = ConvBNAct(c5, c4, 1)
        self.C3_p4 = CSPBlock(2 * c4, c4, n, False, depthwise)
        self.reduce_conv1 = ConvBNAct(c4, c3, 1)
        self.C3_p3 = CSPBlock(2 * c3, c3, n, False, depthwise)
        self.bu_conv2 = conv3(depthwise)(c3, c3, 3, 2)
        self.C3_n3 = CSPBlock(2 * c3, c4, n, False, depthwise)
        self.bu_conv1 = conv3(depthwise)(c4, c4, 3, 2)
        self.C3_n4 = CSPBlock(2 * c4, c5, n, False, depthwise)

    @staticmethod
    def up2(x):
        return F.interpolate(x, scale_factor=2.0, mode='nearest')

    def forward(self, x):
        x3, x4, x5 = self.backbone(x)
        top5 = self.lateral_conv0(x5)
        mid4 = self.C3_p4(torch.cat([self.up2(top5), x4], 1))
        top4 = self.reduce_conv1(mid4)
        out3 = self.C3_p3(torch.cat([self.up2(top4), x3], 1))
        out4 = self.C3_n3(torch.cat([self.bu_conv2(out3), top4], 1))
        out5 = self.C3_n4(torch.cat([self.bu_conv1(out4), top5], 1))
        return out3, out4, out5


class DecoupledHead(nn.Module):
    """Per level: 1x1 stem, two 3x3 convs each for the class and the box branch, 1x1
    predictors (class logits from the class branch, box and objectness from the box branch);
    the official ``YOLOXHead`` in eval mode with ``decode_in_inference``."""

    def __init__(self, width, depthwise, num_classes=NUM_CLASSES, strides=STRIDES):
        super().__init__()
        self.num_classes = num_classes
        self.strides = tuple(strides)
        ch = int(256 * width)
        block = conv3(depthwise)
        # registered in the official order, so that state_dict() lists keys as the checkpoints do
        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        self.cls_preds = nn.ModuleList()
        self.reg_preds = nn.ModuleList()
        self.obj_preds = nn.ModuleList()
        self.stems = nn.ModuleList()
        for cin in (int(c * width) for c in (256, 512, 1024)):
            self.stems.append(ConvBNAct(cin, ch, 1))
            self.cls_convs.append(nn.Sequential(block(ch, ch, 3), block(ch, ch, 3)))
            self.reg_convs.append(nn.Sequential(block(ch, ch, 3), block(ch, ch, 3)))
            self.cls_preds.append(nn.Conv2d(ch, num_classes, 1))
            self.reg_preds.append(nn.Conv2d(ch, 4, 1))
            self.obj_preds.append(nn.Conv2d(ch, 1, 1))

    def raw(self, feats):
        """Per level (box [N,4,h,w], objectness logit [N,1,h,w], class logits [N,C,h,w])."""
        out = []
        for k, x in enumerate(feats):
            x = self.stems[k](x)
            reg = self.reg_convs[k](x)
            out.append((self.reg_preds[k](reg), self.obj_preds[k](reg),
                        self.cls_preds[k](self.cls_convs[k](x))))
        return out

    def forward(self, feats):
        levels = []
        grids = []
        for (box, obj, cls), stride in zip(self.raw(feats), self.strides):
            y = torch.cat([box, obj.sigmoid(), cls.sigmoid()], 1)
            levels.append(y.flatten(2))
            grids.append(_grid(y.shape[2], y.shape[3], stride))
        y = torch.cat(levels, 2).permute(0, 2, 1)  # [N, A, 5 + C]
        xy_off, scale = (torch.cat(g, 0).to(y.dtype) for g in zip(*grids))
        # the official decode_outputs: xy = (p + grid) * stride, wh = exp(p) * stride
        return torch.cat([(y[..., 0:2] + xy_off) * scale, torch.exp(y[..., 2:4]) * scale,
                          y[..., 4:]], -1)


def _grid(h, w, stride):
    """(cell offsets [h*w, 2] as (x, y), strides [h*w, 1]) for a level, row-major.
    int() makes them constants when traced: the ONNX graph has a fixed input size."""
    h, w = int(h), int(w)
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing='ij')
    xy = torch.stack([xs, ys], -1).reshape(-1, 2).float()
    return xy, torch.full((h * w, 1), float(stride))


class YOLOX(nn.Module):
    def __init__(self, depth, width, depthwise, num_classes=NUM_CLASSES):
        super().__init__()
        self.backbone = PAFPN(depth, width, depthwise)
        self.head = DecoupledHead(width, depthwise, num_classes)

    def forward(self, x):
        return self.head(self.backbone(x))


def build_model(arch):
    """The network of an arch in eval mode (weights as nn.Module's defaults)."""
    if arch not in ARCHS:
        raise ValueError(f'unknown YOLOX arch {arch!r}; known: {", ".join(ARCHS)}')
    a = ARCHS[arch]
    return YOLOX(a['depth'], a['width'], a['depthwise']).eval()


def num_anchors(arch):
    h, w = ARCHS[arch]['input_size']
    return sum((h // s) * (w // s) for s in STRIDES)
