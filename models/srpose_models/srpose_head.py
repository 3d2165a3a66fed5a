"""``TopDownSRPoseHead`` of the official SRPose code
(mmpose/models/keypoint_heads/top_down_srpose_head.py), every submodule kept so that an
official checkpoint loads strictly.

Eval forward = the official inference path: the coarse-to-fine feature path runs through all
levels, but only the LAST level's ``kp_encoder`` + ``converge`` produce the output heatmaps
(the LR head and the intermediate SR heads only feed training losses). With the COCO configs
the output is [N, 17, 256, 192] (64x48 features, pixel-shuffled by 2**2).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvergeHead(nn.Module):
    """Grouped conv (one group per joint) to up_ratio**2 channels per joint, then pixel_shuffle."""

    def __init__(self, in_dim, up_ratio, kernel_size, padding, num_joints):
        super().__init__()
        self.in_dim = in_dim
        self.up_ratio = up_ratio
        self.num_joints = num_joints
        self.conv = nn.Conv2d(in_dim * num_joints, (up_ratio ** 2) * num_joints, kernel_size,
                              1, padding, 1, num_joints)

    def forward(self, x):
        return F.pixel_shuffle(self.conv(x), self.up_ratio)


class ConvBlock(nn.Module):
    """ConvNeXt-style block: dw 7x7 conv, BN, Linear(4x) + GELU + Linear, residual."""

    def __init__(self, dim):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.norm = nn.BatchNorm2d(dim)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)

    def forward(self, x):
        y = self.norm(self.dwconv(x))
        y = y.permute(0, 2, 3, 1)
        y = self.pwconv2(self.act(self.pwconv1(y)))
        return x + y.permute(0, 3, 1, 2)


class TopDownSRPoseHead(nn.Module):
    def __init__(self, in_channels=(2048, 1024, 512, 256), out_channels=(256, 128, 64, 32),
                 num_joints=17, upsample_log=(3, 2, 1, 2), per_emb_nums=(16, 8, 4, 4),
                 supervises=(True, True, True, True)):
        super().__init__()
        in_channels, out_channels = list(in_channels), list(out_channels)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_joints = num_joints
        self.upsample_log = list(upsample_log)
        self.supervises = list(supervises)

        self.lr_head = nn.Sequential(nn.Conv2d(in_channels[0], num_joints, 1), nn.ReLU())
        self.lr_fuse = nn.Sequential(nn.Conv2d(num_joints, out_channels[0], 1), nn.ReLU())
        self.pre_interpolate = nn.ModuleList([nn.Sequential(
            nn.Conv2d(out_channels[i - 1], out_channels[i - 1], 3, 1, 1, 1, out_channels[i - 1]),
            nn.Conv2d(out_channels[i - 1], out_channels[i], 1),
            nn.BatchNorm2d(out_channels[i]),
            nn.ReLU(),
        ) for i in range(1, len(out_channels))])
        self.pre_fuse = nn.ModuleList([nn.Sequential(
            nn.Conv2d(i, o, 1), nn.BatchNorm2d(o), nn.ReLU(),
        ) for i, o in zip(in_channels, out_channels)])
        self.fuse = nn.ModuleList([nn.Conv2d(2 * o, o, 1) for o in out_channels[1:]])
        self.post_fuse = nn.ModuleList(
            [nn.Sequential(*[ConvBlock(o) for _ in range(2)]) for o in out_channels[1:]])
        self.kp_encoder = nn.ModuleList([
            nn.Sequential(nn.Conv2d(oc, pe * num_joints, 1), nn.ReLU()) if sup else nn.Identity()
            for oc, pe, sup in zip(out_channels, per_emb_nums, supervises)])
        num = len(out_channels)
        # kernel 11 - 2 * (num - i), padding 5 - (num - i): 3/1, 5/2, 7/3, 9/4 for 4 levels
        self.converge = nn.ModuleList([
            ConvergeHead(per_emb_nums[i], 2 ** upsample_log[i], 11 - 2 * (num - i), 5 - (num - i),
                         num_joints) if supervises[i] else nn.Identity()
            for i in range(num)])

    def forward(self, xs):
        """xs: backbone maps from high to low resolution (as ResNet/HRNet return them).

        Training returns the list of all supervised heatmaps (LR first); eval returns only the
        last level's SR heatmaps, as the official head does.
        """
        xs = list(xs)[::-1]
        heatmaps = []
        feat = None
        for i in range(len(xs)):
            if i == 0:
                hp = self.lr_head(xs[0])
                heatmaps.append(hp)
                feat = self.pre_fuse[0](xs[0]) + self.lr_fuse(hp)
            else:
                feat = self.pre_interpolate[i - 1](feat)
                feat = F.interpolate(feat, xs[i].shape[2:])  # mode 'nearest', as official
                feat = torch.cat([feat, self.pre_fuse[i](xs[i])], 1)
                feat = self.fuse[i - 1](feat)
                feat = self.post_fuse[i - 1](feat)
            if self.supervises[i] and self.training:
                heatmaps.append(self.converge[i](self.kp_encoder[i](feat)))
        if self.training:
            return heatmaps
        return self.converge[-1](self.kp_encoder[-1](feat))
