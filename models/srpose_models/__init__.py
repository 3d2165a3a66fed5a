"""PyTorch re-implementation of the official SRPose (mmpose 0.x) models, without mmcv.

Module and parameter names follow the official code exactly, so an official checkpoint
(``{'state_dict': {'backbone.*', 'keypoint_head.*'}}``) loads with ``strict=True``.
"""
from .build import ARCHS, TopDownModel, arch_info, build_model  # noqa: F401
