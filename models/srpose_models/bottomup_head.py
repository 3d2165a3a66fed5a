"""``BottomUpSimpleSRHead`` of the official SRPose code
(mmpose/models/keypoint_heads/bottom_up_simple_sr_head.py), the head of the bottom-up configs
configs/bottom_up/sr/coco/{res50,hrnet_w32}_sr_coco_512x512.py.

Layout (parameter names as the official checkpoints):

* ``deconv_layers``: ``num_deconv_layers`` x [ConvTranspose2d(k4, s2, p1, bias False), BN, ReLU]
  (``.0, .1, .3, .4, .6, .7`` hold the weights), or ``nn.Identity`` when 0 (HRNet-W32);
* ``tag_head``: 1x1 conv on the deconv features -> the associative-embedding tags, one map per
  joint (``tag_per_joint``), at the feature resolution (stride 4);
* ``kp_encoder``: [1x1 conv to ``per_kp_emb`` channels per joint, ReLU];
* ``heatmap_head``: 9x9 conv grouped by joint, ``pixel_shuffle**2`` outputs per joint, then
  ``pixel_shuffle`` (4): heatmaps at the input resolution.

forward returns, as the official head does, a one-element list holding
``cat([heatmaps, nearest-resized tags], 1)``: [N, 2K, H, W] (heatmap channels first).
The training loss (``MultiLossFactory``) holds no parameters, so it is left out.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .simple_head import _deconv_cfg


class BottomUpSimpleSRHead(nn.Module):
    def __init__(self, in_channels, num_joints=17, num_deconv_layers=3,
                 num_deconv_filters=(256, 256, 256), num_deconv_kernels=(4, 4, 4),
                 tag_per_joint=True, with_ae_loss=(True,), per_kp_emb=4, pixel_shuffle=1):
        super().__init__()
        if num_deconv_layers < 0:
            raise ValueError(f'num_deconv_layers ({num_deconv_layers}) should be >= 0')
        if num_deconv_layers and not (num_deconv_layers == len(num_deconv_filters)
                                      == len(num_deconv_kernels)):
            raise ValueError('num_deconv_layers, num_deconv_filters, num_deconv_kernels disagree')
        self.num_joints = num_joints
        self.pixel_shuffle = pixel_shuffle
        self.in_channels = in_channels
        self.tag_per_joint = tag_per_joint
        layers = []
        cin = in_channels
        for i in range(num_deconv_layers):
            k, p, op = _deconv_cfg(num_deconv_kernels[i])
            layers += [nn.ConvTranspose2d(cin, num_deconv_filters[i], k, stride=2, padding=p,
                                          output_padding=op, bias=False),
                       nn.BatchNorm2d(num_deconv_filters[i]),
                       nn.ReLU(inplace=True)]
            cin = num_deconv_filters[i]
        self.deconv_layers = nn.Sequential(*layers) if layers else nn.Identity()
        feat = cin
        self.kp_encoder = nn.Sequential(nn.Conv2d(feat, num_joints * per_kp_emb, 1), nn.ReLU())
        self.heatmap_head = nn.Conv2d(num_joints * per_kp_emb, num_joints * pixel_shuffle ** 2,
                                      9, stride=1, padding=4, groups=num_joints)
        if not with_ae_loss[0]:
            raise ValueError('the SRPose bottom-up configs always have a tag head')
        self.tag_head = nn.Conv2d(feat, num_joints if tag_per_joint else 1, 1)

    def forward(self, x):
        if isinstance(x, (list, tuple)):
            x = x[0]
        x = self.deconv_layers(x)
        tags = self.tag_head(x)
        heatmaps = F.pixel_shuffle(self.heatmap_head(self.kp_encoder(x)), self.pixel_shuffle)
        tags = F.interpolate(tags, heatmaps.shape[2:])  # mode 'nearest', as official
        return [torch.cat([heatmaps, tags], 1)]
