"""YOLOX person detector (Megvii-BaseDetection/YOLOX) for the detector stage: the network with
the official parameter names (model.py), checkpoints and seeded test weights (checkpoint.py),
and the official inference pipeline in Python (reference.py). Import with models/ on sys.path."""
from .model import ARCHS, NUM_CLASSES, STRIDES, build_model, num_anchors  # noqa: F401
