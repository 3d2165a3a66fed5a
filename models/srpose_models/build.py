"""``build_model(arch)`` and the per-arch metadata of the three supported COCO 256x192 models.

State dict keys are ``backbone.*`` and ``keypoint_head.*`` (mmpose's TopDown detector layout).
"""
import copy

import torch.nn as nn

from .hrnet import HRNET_W32_EXTRA, HRNet
from .resnet import ResNet
from .simple_head import TopDownSimpleHead
from .srpose_head import TopDownSRPoseHead

COCO_KEYPOINTS = [
    'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder',
    'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip',
    'left_knee', 'right_knee', 'left_ankle', 'right_ankle',
]
# mmpose's COCO skeleton, 0-based
COCO_SKELETON = [[15, 13], [13, 11], [16, 14], [14, 12], [11, 12], [5, 11], [6, 12], [5, 6],
                 [5, 7], [6, 8], [7, 9], [8, 10], [1, 2], [0, 1], [0, 2], [1, 3], [2, 4],
                 [3, 5], [4, 6]]
COCO_FLIP_PAIRS = [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12], [13, 14], [15, 16]]

INPUT_SIZE = (192, 256)  # (width, height)
NUM_JOINTS = 17

ARCHS = {
    'res50': dict(
        name='srpose_res50_coco_256x192',
        head='TopDownSRPoseHead',
        config='configs/top_down/srpose/coco/res50_srpose_coco_256x192.py',
        heatmap=(192, 256),
        decode={'method': 'sr', 'poolKernel': 16, 'modulateKernel': 11},
    ),
    'hrnet_w32': dict(
        name='srpose_hrnet_w32_coco_256x192',
        head='TopDownSRPoseHead',
        config='configs/top_down/srpose/coco/hrnet_w32_srpose_coco_256x192.py',
        heatmap=(192, 256),
        decode={'method': 'sr', 'poolKernel': 16, 'modulateKernel': 11},
    ),
    'res50_simple': dict(
        name='srpose_res50_simple_coco_256x192',
        head='TopDownSimpleHead',
        config='configs/top_down/resnet/coco/res50_coco_256x192.py',
        heatmap=(48, 64),
        decode={'method': 'default', 'modulateKernel': 11},
    ),
}


def arch_info(arch):
    if arch not in ARCHS:
        raise KeyError(f'unknown arch {arch!r}; expected one of {", ".join(ARCHS)}')
    return copy.deepcopy(ARCHS[arch])


class TopDownModel(nn.Module):
    """mmpose ``TopDown``/``TopDownHigher`` minus the data plumbing: image -> heatmaps."""

    def __init__(self, backbone, keypoint_head, arch):
        super().__init__()
        self.backbone = backbone
        self.keypoint_head = keypoint_head
        self.arch = arch

    def forward(self, image):
        return self.keypoint_head(self.backbone(image))


def build_model(arch):
    """The model of ``arch`` (res50 | hrnet_w32 | res50_simple) as its official config builds it,
    in eval mode and with PyTorch's default initialisation."""
    arch_info(arch)
    if arch == 'res50':
        backbone = ResNet(depth=50, out_indices=(0, 1, 2, 3))
        head = TopDownSRPoseHead(in_channels=[2048, 1024, 512, 256],
                                 out_channels=[256, 128, 64, 32], num_joints=NUM_JOINTS,
                                 upsample_log=[3, 2, 1, 2], per_emb_nums=[16, 8, 4, 4],
                                 supervises=[True, True, True, True])
    elif arch == 'hrnet_w32':
        backbone = HRNet(copy.deepcopy(HRNET_W32_EXTRA))
        head = TopDownSRPoseHead(in_channels=[256, 128, 64, 32],
                                 out_channels=[256, 128, 64, 32], num_joints=NUM_JOINTS,
                                 upsample_log=[3, 2, 1, 2], per_emb_nums=[16, 8, 4, 4],
                                 supervises=[True, True, True, True])
    else:  # res50_simple
        backbone = ResNet(depth=50)
        head = TopDownSimpleHead(in_channels=2048, out_channels=NUM_JOINTS)
    return TopDownModel(backbone, head, arch).eval()
