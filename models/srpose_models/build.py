"""``build_model(arch, dataset)`` and the per-arch metadata of the supported models: four
top-down models (COCO 256x192; also CrowdPose 256x192 and MPII 256x256, ``DATASETS``) and two
bottom-up COCO 512x512 models (``bu_*``).

State dict keys are ``backbone.*`` and ``keypoint_head.*`` (mmpose's TopDown / BottomUp detector
layout). Only the joint-count dependent layers of the head differ between datasets.
"""
import copy

import torch.nn as nn

from .bottomup_head import BottomUpSimpleSRHead
from .hrformer import HRT, HRT_SMALL_EXTRA
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
# the bottom-up flip test's channel permutation (mmpose's ann_info['flip_index'] for COCO)
COCO_FLIP_INDEX = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]

INPUT_SIZE = (192, 256)  # (width, height)
NUM_JOINTS = 17

# CrowdPose (mmpose 0.x TopDownCrowdPoseDataset, as the official SRPose repository ships it)
CROWDPOSE_KEYPOINTS = [
    'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist',
    'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle', 'top_head',
    'neck',
]
CROWDPOSE_FLIP_PAIRS = [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11]]
# mmpose's configs/_base_/datasets/crowdpose.py skeleton_info (the SRPose repository's
# vis_pose_result has no CrowdPose branch), links by name turned into 0-based indices
CROWDPOSE_SKELETON = [[10, 8], [8, 6], [11, 9], [9, 7], [6, 7], [0, 6], [1, 7], [0, 1], [0, 2],
                      [1, 3], [2, 4], [3, 5], [12, 13], [1, 13], [0, 13]]

# MPII (mmpose 0.x TopDownMpiiDataset)
MPII_KEYPOINTS = [
    'right_ankle', 'right_knee', 'right_hip', 'left_hip', 'left_knee', 'left_ankle', 'pelvis',
    'thorax', 'upper_neck', 'head_top', 'right_wrist', 'right_elbow', 'right_shoulder',
    'left_shoulder', 'left_elbow', 'left_wrist',
]
MPII_FLIP_PAIRS = [[0, 5], [1, 4], [2, 3], [10, 15], [11, 14], [12, 13]]
# mmpose/apis/inference.py vis_pose_result, TopDownMpiiDataset (1-based there), 0-based
MPII_SKELETON = [[0, 1], [1, 2], [2, 6], [6, 3], [3, 4], [4, 5], [6, 7], [7, 8], [8, 9], [8, 12],
                 [12, 11], [11, 10], [8, 13], [13, 14], [14, 15]]

# The keypoint sets of the top-down models. ``input_size`` (width, height) and the flip test
# come from the official test config of each dataset (``configs``: the mmpose config per arch
# whose channel_cfg / data_cfg / test_cfg give them; the official repository ships SRPose
# configs for COCO only, so the SR archs take the COCO SRPose architecture with these
# datasets' channel_cfg and data_cfg). Every one of these test configs has flip_test=True,
# shift_heatmap=True, post_process='default', modulate_kernel=11, as COCO's.
DATASETS = {
    'coco': dict(
        dataset_class='TopDownCocoDataset',
        keypoints=COCO_KEYPOINTS,
        flip_pairs=COCO_FLIP_PAIRS,
        skeleton=COCO_SKELETON,
        input_size=INPUT_SIZE,
        configs=None,  # the arch's own config (ARCHS[arch]['config'])
    ),
    'crowdpose': dict(
        dataset_class='TopDownCrowdPoseDataset',
        keypoints=CROWDPOSE_KEYPOINTS,
        flip_pairs=CROWDPOSE_FLIP_PAIRS,
        skeleton=CROWDPOSE_SKELETON,
        input_size=(192, 256),
        configs={
            'res50': 'configs/top_down/resnet/crowdpose/res50_crowdpose_256x192.py',
            'hrnet_w32': 'configs/top_down/hrnet/crowdpose/hrnet_w32_crowdpose_256x192.py',
            # no HRFormer CrowdPose config in the repository: the ResNet one's data settings
            'hrformer_s': 'configs/top_down/resnet/crowdpose/res50_crowdpose_256x192.py',
            'res50_simple': 'configs/top_down/resnet/crowdpose/res50_crowdpose_256x192.py',
        },
    ),
    'mpii': dict(
        dataset_class='TopDownMpiiDataset',
        keypoints=MPII_KEYPOINTS,
        flip_pairs=MPII_FLIP_PAIRS,
        skeleton=MPII_SKELETON,
        input_size=(256, 256),
        configs={
            'res50': 'configs/top_down/resnet/mpii/res50_mpii_256x256.py',
            'hrnet_w32': 'configs/top_down/hrnet/mpii/hrnet_w32_mpii_256x256.py',
            'hrformer_s': 'configs/top_down/resnet/mpii/res50_mpii_256x256.py',
            'res50_simple': 'configs/top_down/resnet/mpii/res50_mpii_256x256.py',
        },
    ),
}

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
    'hrformer_s': dict(
        name='srpose_hrformer_s_coco_256x192',
        head='TopDownSRPoseHead',
        config='configs/top_down/srpose/coco/hrt_small_srpose_coco_256x192.py',
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
    # bottom-up: backbone + BottomUpSimpleSRHead, output [N, 2K, H, W] (K heatmaps, then K tags)
    # at the input resolution; test_cfg of the official configs in 'grouping'
    'bu_res50': dict(
        name='srpose_bu_res50_coco_512x512',
        kind='bottom-up',
        head='BottomUpSimpleSRHead',
        config='configs/bottom_up/sr/coco/res50_sr_coco_512x512.py',
        input_size=512,
        multiple_of=64,  # _get_multi_scale_size rounds the long side up to a multiple of 64
        grouping={'maxPeople': 30, 'nmsKernel': 5, 'nmsPadding': 2, 'detectionThreshold': 0.1,
                  'tagThreshold': 1, 'useDetectionVal': True, 'ignoreTooMuch': False,
                  'adjust': True, 'refine': True, 'tagPerJoint': True},
    ),
    'bu_hrnet_w32': dict(
        name='srpose_bu_hrnet_w32_coco_512x512',
        kind='bottom-up',
        head='BottomUpSimpleSRHead',
        config='configs/bottom_up/sr/coco/hrnet_w32_sr_coco_512x512.py',
        input_size=512,
        multiple_of=64,
        grouping={'maxPeople': 30, 'nmsKernel': 11, 'nmsPadding': 5, 'detectionThreshold': 0.1,
                  'tagThreshold': 1, 'useDetectionVal': True, 'ignoreTooMuch': False,
                  'adjust': True, 'refine': True, 'tagPerJoint': True},
    ),
}
BOTTOM_UP_ARCHS = tuple(a for a, v in ARCHS.items() if v.get('kind') == 'bottom-up')


def dataset_info(dataset):
    """The keypoint set of ``dataset`` (a key of ``DATASETS``): a deep copy."""
    if dataset not in DATASETS:
        raise ValueError(f'unknown dataset {dataset!r}; known datasets: {", ".join(DATASETS)}')
    return copy.deepcopy(DATASETS[dataset])


def arch_info(arch, dataset='coco'):
    """The metadata of ``arch`` for ``dataset``: name, head, config, heatmap (width, height),
    decode, and (top-down) input (width, height), keypoints, skeleton, flip_pairs,
    dataset_config (the config the dataset's values come from; None for COCO, where it is
    ``config``). COCO gives exactly ``ARCHS[arch]`` plus those keys. Bottom-up archs: COCO only
    (ValueError for another dataset)."""
    if arch not in ARCHS:
        raise ValueError(f'unknown arch {arch!r}; known archs: {", ".join(ARCHS)}')
    info = copy.deepcopy(ARCHS[arch])
    ds = dataset_info(dataset)
    if info.get('kind') == 'bottom-up':
        if dataset != 'coco':
            raise ValueError(f'arch {arch!r} is bottom-up: exported for coco only (the official '
                             f'repository has bottom-up SR configs for COCO only), not {dataset!r}')
        return info
    w, h = ds['input_size']
    info.update(input=(w, h), keypoints=ds['keypoints'], skeleton=ds['skeleton'],
                flip_pairs=ds['flip_pairs'], dataset_config=None)
    if dataset != 'coco':
        # the heatmaps keep the arch's stride: the input itself (SR head) or 1/4 (SimpleBaseline)
        stride = INPUT_SIZE[0] // info['heatmap'][0]
        info['heatmap'] = (w // stride, h // stride)
        info['name'] = f'srpose_{arch}_{dataset}_{h}x{w}'
        info['dataset_config'] = ds['configs'][arch]
        if info['head'] == 'TopDownSimpleHead':  # the official config is the dataset's own
            info['config'] = ds['configs'][arch]
    return info


def checkpoint_joints(arch, sd):
    """(key, K): the head layer of ``arch`` whose output channels are the keypoints, and K in
    the top-down state dict ``sd`` (None when that layer is absent)."""
    simple = ARCHS.get(arch, {}).get('head') == 'TopDownSimpleHead'
    key = 'keypoint_head.final_layer.weight' if simple else 'keypoint_head.lr_head.0.weight'
    v = sd.get(key)
    return (key, int(v.shape[0])) if v is not None and v.dim() >= 1 else (key, None)


def datasets_with_joints(k):
    return [d for d, v in DATASETS.items() if len(v['keypoints']) == k]


class TopDownModel(nn.Module):
    """mmpose ``TopDown``/``TopDownHigher`` minus the data plumbing: image -> heatmaps."""

    def __init__(self, backbone, keypoint_head, arch, dataset='coco'):
        super().__init__()
        self.backbone = backbone
        self.keypoint_head = keypoint_head
        self.arch = arch
        self.dataset = dataset

    def forward(self, image):
        return self.keypoint_head(self.backbone(image))


class BottomUpModel(nn.Module):
    """mmpose ``BottomUp`` minus the data plumbing and the grouping: image [N,3,H,W] -> the
    head's one output [N, 2K, H, W] (K heatmaps at the input resolution, then K tag maps).
    H and W must be multiples of 32 (the backbones' stride)."""

    def __init__(self, backbone, keypoint_head, arch):
        super().__init__()
        self.backbone = backbone
        self.keypoint_head = keypoint_head
        self.arch = arch
        self.dataset = 'coco'
        self.num_joints = keypoint_head.num_joints

    def forward(self, image):
        return self.keypoint_head(self.backbone(image))[0]


def is_bottom_up(model_or_arch):
    arch = model_or_arch if isinstance(model_or_arch, str) else model_or_arch.arch
    return arch in BOTTOM_UP_ARCHS


def _srpose_head(in_channels, num_joints=NUM_JOINTS):
    return TopDownSRPoseHead(in_channels=in_channels, out_channels=[256, 128, 64, 32],
                             num_joints=num_joints, upsample_log=[3, 2, 1, 2],
                             per_emb_nums=[16, 8, 4, 4], supervises=[True, True, True, True])


def _res50(dataset='coco'):
    return TopDownModel(ResNet(depth=50, out_indices=(0, 1, 2, 3)),
                        _srpose_head([2048, 1024, 512, 256], _num_joints(dataset)), 'res50',
                        dataset)


def _hrnet_w32(dataset='coco'):
    return TopDownModel(HRNet(copy.deepcopy(HRNET_W32_EXTRA)),
                        _srpose_head([256, 128, 64, 32], _num_joints(dataset)), 'hrnet_w32',
                        dataset)


def _hrformer_s(dataset='coco'):
    # HRT small (hrt_small_srpose_coco_256x192.py): four maps 32/64/128/256 ch at strides
    # 4/8/16/32, fed to the head high to low resolution exactly as HRNet-W32's
    return TopDownModel(HRT(copy.deepcopy(HRT_SMALL_EXTRA)),
                        _srpose_head([256, 128, 64, 32], _num_joints(dataset)), 'hrformer_s',
                        dataset)


def _res50_simple(dataset='coco'):
    # SimpleBaseline: ResNet-50's last map (stride 32, 2048 ch), 3 deconvs -> 64x48 heatmaps
    backbone = ResNet(depth=50)
    head = TopDownSimpleHead(in_channels=2048, out_channels=_num_joints(dataset))
    return TopDownModel(backbone, head, 'res50_simple', dataset)


def _num_joints(dataset):
    return len(DATASETS[dataset]['keypoints'])


def _bu_res50():
    # ResNet-50, out_indices (3,) (stride 32, 2048 ch); head: 3 deconvs -> stride 4
    backbone = ResNet(depth=50)
    head = BottomUpSimpleSRHead(in_channels=2048, num_joints=NUM_JOINTS, tag_per_joint=True,
                                with_ae_loss=[True], per_kp_emb=4, pixel_shuffle=4)
    return BottomUpModel(backbone, head, 'bu_res50')


def _bu_hrnet_w32():
    # HRNet-W32 with stage4 multiscale_output False (the default): one stride-4 map, 32 ch
    extra = copy.deepcopy(HRNET_W32_EXTRA)
    del extra['stage4']['multiscale_output']
    backbone = HRNet(extra)
    head = BottomUpSimpleSRHead(in_channels=32, num_joints=NUM_JOINTS, num_deconv_layers=0,
                                tag_per_joint=True, with_ae_loss=[True], per_kp_emb=4,
                                pixel_shuffle=4)
    return BottomUpModel(backbone, head, 'bu_hrnet_w32')


# one builder per entry of ARCHS (a test checks the two key sets are equal)
BUILDERS = {
    'res50': _res50,
    'hrnet_w32': _hrnet_w32,
    'hrformer_s': _hrformer_s,
    'res50_simple': _res50_simple,
    'bu_res50': _bu_res50,
    'bu_hrnet_w32': _bu_hrnet_w32,
}


def build_model(arch, dataset='coco'):
    """The model of ``arch`` (a key of ``ARCHS``: res50 | hrnet_w32 | hrformer_s | res50_simple |
    bu_res50 | bu_hrnet_w32) for ``dataset`` (coco | crowdpose | mpii; the bottom-up archs: coco
    only) as its official config builds it, in eval mode and with PyTorch's default
    initialisation. Raises ``ValueError`` naming the known archs for any other arch, and for an
    arch of ``ARCHS`` that has no builder, rather than building another model; likewise for an
    unknown dataset."""
    arch_info(arch, dataset)
    if arch not in BUILDERS:
        raise ValueError(f'arch {arch!r} has no builder in build_model; archs with one: '
                         f'{", ".join(BUILDERS)}')
    if arch in BOTTOM_UP_ARCHS:
        return BUILDERS[arch]().eval()
    return BUILDERS[arch](dataset).eval()
