"""``TopDownSimpleHead`` (SimpleBaseline; mmpose/models/keypoint_heads/top_down_simple_head.py)
with the COCO config of configs/top_down/resnet/coco/res50_coco_256x192.py: three
ConvTranspose2d(256, k4, s2, p1, output_padding 0, bias False) + BN + ReLU as
``deconv_layers.{0..8}``, then a 1x1 ``final_layer`` conv -> [N, 17, 64, 48].
"""
import torch.nn as nn


def _deconv_cfg(kernel):
    if kernel == 4:
        return 4, 1, 0
    if kernel == 3:
        return 3, 1, 1
    if kernel == 2:
        return 2, 0, 0
    raise ValueError(f'unsupported deconv kernel {kernel}')


class TopDownSimpleHead(nn.Module):
    def __init__(self, in_channels=2048, out_channels=17, num_deconv_layers=3,
                 num_deconv_filters=(256, 256, 256), num_deconv_kernels=(4, 4, 4)):
        super().__init__()
        layers = []
        cin = in_channels
        for i in range(num_deconv_layers):
            k, p, op = _deconv_cfg(num_deconv_kernels[i])
            layers += [
                nn.ConvTranspose2d(cin, num_deconv_filters[i], k, stride=2, padding=p,
                                   output_padding=op, bias=False),
                nn.BatchNorm2d(num_deconv_filters[i]),
                nn.ReLU(inplace=True),
            ]
            cin = num_deconv_filters[i]
        self.deconv_layers = nn.Sequential(*layers) if layers else nn.Identity()
        self.final_layer = nn.Conv2d(cin, out_channels, 1, stride=1, padding=0)

    def forward(self, x):
        if isinstance(x, (list, tuple)):
            x = x[0]  # in_index=0 with a single selected map
        return self.final_layer(self.deconv_layers(x))
