"""YOLOX weights: strict loading of official checkpoints, saving in the official layout, and
the deterministic random weights of the test models.

Reading and key checking are those of the SRPose exporter (``srpose_models.checkpoint``:
``{"model": sd, ...}``, ``{"state_dict": sd}`` or a bare state dict, ``module.`` prefix
stripped, missing / unexpected / mis-shaped keys listed); models/ must be on sys.path.
"""
import collections
import os

import torch
import torch.nn as nn

from srpose_models.checkpoint import (CheckpointError, check_state_dict,  # noqa: F401
                                      read_state_dict, sha256_file)


def load_checkpoint(model, path, arch):
    """Loads ``path`` into ``model`` strictly (CheckpointError listing the differences)."""
    sd = read_state_dict(path)
    check_state_dict(model, sd, arch, where=f'checkpoint {path}')
    full = collections.OrderedDict(sd)
    for k, v in model.state_dict().items():  # tolerated: a missing num_batches_tracked
        full.setdefault(k, v)
    model.load_state_dict(full, strict=True)
    return model


def save_checkpoint(model, path):
    """The official layout (tools/train.py keeps more fields; inference reads only "model")."""
    sd = collections.OrderedDict((k, v.detach().clone()) for k, v in model.state_dict().items())
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.save({'model': sd, 'start_epoch': 0}, path)


# ---------------------------------------------------------------------------------------------
# deterministic random weights

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)

# raw head outputs after rescaling (mean, std over the calibration batches). Boxes about 4.5
# strides wide; objectness and class logits low, so that on a photo some tens of anchors pass
# the 0.01 score threshold, not thousands; the person class is lifted so that persons are
# among them (class 0 is otherwise the argmax of 1 anchor in 80).
TARGETS = {'xy': (0.0, 0.2), 'wh': (2.0, 0.25), 'obj': (-6.0, 1.2), 'cls': (-3.0, 0.8),
           'person': (-1.5, 0.8)}


def calibration_batches(seed, legacy, n=8, size=(320, 320)):
    """Synthetic photo-like inputs in the network's input convention. Noise alone calibrates
    badly: on real photos (flat regions, sharp edges, the letterbox's 114 band) the features
    then grow ~30x. So: a smooth colour gradient, 12-40 flat rectangles of random colours,
    light grain, and half of them letterboxed (a 114 band at the bottom or right). BGR 0..255,
    or for legacy models RGB / 255 normalised with the ImageNet mean and std."""
    g = torch.Generator().manual_seed(seed + 7919)
    h, w = size

    def uniform(lo, hi, shape=()):
        return lo + (hi - lo) * torch.rand(shape, generator=g)

    images = []
    for i in range(n):
        coarse = uniform(40, 215, (1, 3, 3, 3))
        x = nn.functional.interpolate(coarse, size=(h, w), mode='bilinear', align_corners=False)[0]
        for _ in range(int(uniform(12, 40))):
            x0, x1 = sorted(int(v) for v in uniform(0, w, (2,)))
            y0, y1 = sorted(int(v) for v in uniform(0, h, (2,)))
            patch = uniform(0, 255, (3, 1, 1))
            if bool(uniform(0, 1) < 0.3):  # textured: foliage, fabric, crowds
                patch = patch + uniform(10, 40) * torch.randn(3, y1 + 1 - y0, x1 + 1 - x0,
                                                              generator=g)
            x[:, y0:y1 + 1, x0:x1 + 1] = patch[:, :y1 + 1 - y0, :x1 + 1 - x0]
        x = x + 3.0 * torch.randn(3, h, w, generator=g)
        if i % 2:
            cut = int(uniform(0.55, 0.9) * (h if i % 4 == 1 else w))
            if i % 4 == 1:
                x[:, cut:] = 114.0
            else:
                x[:, :, cut:] = 114.0
        images.append(x.clamp(0, 255).round())  # as uint8 pixels
    x = torch.stack(images)
    if legacy:
        x = x.flip(1) / 255.0
        x = (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    return [x[: n // 2], x[n // 2:]]


def _bf16(v):
    # factors and statistics rounded to bfloat16: last-bit differences between thread counts
    # then cannot change the saved weights
    return float(torch.tensor(v).to(torch.bfloat16).float())


def _rescale(conv, outputs, channel_targets):
    """Affine change of a 1x1 predictor so that output channel c has the target mean / std."""
    for c, (mean_to, std_to) in channel_targets:
        y = outputs[:, c]
        f = _bf16(std_to / max(y.std().item(), 1e-12))
        conv.weight[c] *= f
        conv.bias[c] = conv.bias[c] * f - _bf16(y.mean().item() * f - mean_to)


@torch.no_grad()
def random_init(model, seed, legacy=False):
    """Deterministic weights with sane activations (same seed and legacy -> identical tensors).

    Convs: Kaiming-normal (fan_in), predictor biases U(-0.1, 0.1); BN gamma U(0.5, 1.5), beta
    N(0, 0.2); BN running statistics from a calibration pass (exact means over the batches of
    ``calibration_batches``, rounded to bfloat16); then each 1x1 predictor channel is rescaled
    to ``TARGETS``. ``legacy`` calibrates on legacy-normalised inputs. Leaves eval mode.
    """
    torch.manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode='fan_in', nonlinearity='relu')
            if m.weight[0].numel() > 1:  # zero-sum kernels: see the docstring
                m.weight -= m.weight.mean(dim=(1, 2, 3), keepdim=True)
            if m.bias is not None:
                nn.init.uniform_(m.bias, -0.1, 0.1)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.normal_(m.bias, 1.0, 0.2)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        batches = calibration_batches(seed, legacy)
        bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
        model.eval()
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average: the exact mean over the batches
            bn.train()
        for x in batches:
            model(x)
        for bn in bns:
            bn.momentum = 0.03
            bn.eval()
            bn.running_mean.copy_(bn.running_mean.to(torch.bfloat16).float())
            bn.running_var.copy_(bn.running_var.to(torch.bfloat16).float())
        head = model.head
        raws = [head.raw(model.backbone(x)) for x in batches]
        for k in range(len(head.strides)):
            box, obj, cls = (torch.cat([r[k][i] for r in raws]) for i in range(3))
            _rescale(head.reg_preds[k], box, [(0, TARGETS['xy']), (1, TARGETS['xy']),
                                              (2, TARGETS['wh']), (3, TARGETS['wh'])])
            _rescale(head.obj_preds[k], obj, [(0, TARGETS['obj'])])
            _rescale(head.cls_preds[k], cls, [(c, TARGETS['person' if c == 0 else 'cls'])
                                              for c in range(cls.shape[1])])
    finally:
        torch.set_num_threads(threads)
    return model.eval()
