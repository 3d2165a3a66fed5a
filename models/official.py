"""The official SRPose / mmpose 0.x top-down pre-processing, re-implemented with numpy + OpenCV.

This is the reference our TypeScript pipeline is compared against, so it follows the
official code (mmpose/datasets/datasets/top_down/topdown_coco_dataset.py `_xywh2cs`,
mmpose/core/post_processing/post_transforms.py `get_affine_transform`,
mmpose/datasets/pipelines/top_down_transform.py `TopDownAffine`) dtype for dtype:
centers and scales are float32, the warp matrix comes from cv2.getAffineTransform.
"""
import cv2
import numpy as np

PIXEL_STD = 200.0
PADDING = 1.25
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def imread_rgb(path):
    """`mmcv.imread(path, 'color', channel_order='rgb')`: cv2.imread then BGR -> RGB. (H, W, 3) uint8."""
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f'cv2 cannot read {path}')
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def xywh2cs(x, y, w, h, image_size=(192, 256), padding=PADDING):
    """Box [x, y, w, h] -> (center float32 (2,), scale float32 (2,)) as `_xywh2cs` in test mode."""
    aspect_ratio = image_size[0] / image_size[1]
    center = np.array([x + w * 0.5, y + h * 0.5], dtype=np.float32)
    if w > aspect_ratio * h:
        h = w * 1.0 / aspect_ratio
    elif w < aspect_ratio * h:
        w = h * aspect_ratio
    scale = np.array([w / PIXEL_STD, h / PIXEL_STD], dtype=np.float32)
    scale = scale * padding
    return center, scale


def _rotate_point(pt, angle_rad):
    sn, cs = np.sin(angle_rad), np.cos(angle_rad)
    return [pt[0] * cs - pt[1] * sn, pt[0] * sn + pt[1] * cs]


def _get_3rd_point(a, b):
    direction = a - b
    return b + np.array([-direction[1], direction[0]], dtype=np.float32)


def get_affine_transform(center, scale, rot, output_size, shift=(0., 0.), inv=False):
    """mmpose 0.x `get_affine_transform` (standard, not UDP). Returns a (2, 3) float64 matrix."""
    scale_tmp = scale * PIXEL_STD
    shift = np.array(shift)
    src_w = scale_tmp[0]
    dst_w, dst_h = output_size
    rot_rad = np.pi * rot / 180
    src_dir = _rotate_point([0., src_w * -0.5], rot_rad)
    dst_dir = np.array([0., dst_w * -0.5])
    src = np.zeros((3, 2), dtype=np.float32)
    src[0, :] = center + scale_tmp * shift
    src[1, :] = center + src_dir + scale_tmp * shift
    src[2, :] = _get_3rd_point(src[0, :], src[1, :])
    dst = np.zeros((3, 2), dtype=np.float32)
    dst[0, :] = [dst_w * 0.5, dst_h * 0.5]
    dst[1, :] = np.array([dst_w * 0.5, dst_h * 0.5]) + dst_dir
    dst[2, :] = _get_3rd_point(dst[0, :], dst[1, :])
    if inv:
        return cv2.getAffineTransform(np.float32(dst), np.float32(src))
    return cv2.getAffineTransform(np.float32(src), np.float32(dst))


def crop(img, center, scale, image_size=(192, 256)):
    """`TopDownAffine` (use_udp=False): bilinear warp, constant 0 border. (h, w, C) uint8."""
    trans = get_affine_transform(center, scale, 0, image_size)
    return cv2.warpAffine(img, trans, (int(image_size[0]), int(image_size[1])), flags=cv2.INTER_LINEAR)


def to_input(crop_rgb):
    """ToTensor + NormalizeTensor as torchvision does them, in float32. (3, h, w) float32."""
    x = crop_rgb.astype(np.float32).transpose(2, 0, 1) / np.float32(255)
    mean = np.array(MEAN, dtype=np.float32)[:, None, None]
    std = np.array(STD, dtype=np.float32)[:, None, None]
    return ((x - mean) / std).astype(np.float32)
