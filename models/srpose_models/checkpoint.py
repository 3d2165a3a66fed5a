"""Checkpoint loading with strict key/shape checking and readable errors, and the
deterministic random initialisation used for the parity-test models."""
import collections
import hashlib
import sys
import types

import torch
import torch.nn as nn


class CheckpointError(Exception):
    """A checkpoint that cannot be loaded into the model; the message says why."""


class _Stub:
    """Stands in for classes of packages that are not installed (e.g. mmcv objects pickled in
    an official checkpoint's 'meta'); the weights never need them."""

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        self.__dict__['_state'] = state


class _StubModule(types.ModuleType):
    def __init__(self, name):
        super().__init__(name)
        self.__path__ = []  # a package, so that submodules can be stubbed too
        self._classes = {}

    def __getattr__(self, attr):
        if attr.startswith('__'):
            raise AttributeError(attr)
        if attr not in self._classes:
            self._classes[attr] = type(attr, (_Stub,), {'__module__': self.__name__})
        return self._classes[attr]


def _torch_load(path):
    """torch.load(map_location='cpu', weights_only=False); modules the pickle names but this
    machine lacks are stubbed for the duration of the call (torch 1.13 ignores a custom
    pickle_module, so this is done through sys.modules)."""
    added = []
    try:
        for _ in range(64):
            try:
                return torch.load(path, map_location='cpu', weights_only=False)
            except ModuleNotFoundError as e:
                name = getattr(e, 'name', None)
                if not name or name in sys.modules:
                    raise
                sys.modules[name] = _StubModule(name)
                added.append(name)
        raise CheckpointError(f'{path}: too many unknown modules in the pickle')
    finally:
        for name in added:
            sys.modules.pop(name, None)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def read_state_dict(path):
    """torch.load(map_location='cpu') -> the state dict: ``obj['state_dict']`` (mmpose layout)
    or ``obj`` itself (a bare state dict); a ``module.`` prefix on every key is stripped."""
    try:
        obj = _torch_load(path)
    except FileNotFoundError:
        raise CheckpointError(f'checkpoint not found: {path}')
    except CheckpointError:
        raise
    except Exception as e:  # corrupt / not a torch file
        raise CheckpointError(f'cannot read checkpoint {path}: {type(e).__name__}: {e}')
    if isinstance(obj, dict) and 'state_dict' in obj:
        sd = obj['state_dict']
    elif isinstance(obj, dict) and 'model' in obj and isinstance(obj['model'], dict) \
            and not any(torch.is_tensor(v) for v in obj.values()):
        sd = obj['model']
    else:
        sd = obj
    if not isinstance(sd, dict) or not sd:
        raise CheckpointError(f'{path}: no state dict found (expected a dict with "state_dict" '
                              f'or a bare dict of tensors, got {type(obj).__name__})')
    bad = [k for k, v in sd.items() if not isinstance(k, str) or not torch.is_tensor(v)]
    if bad:
        raise CheckpointError(f'{path}: {len(bad)} state dict entries are not named tensors, '
                              f'e.g. {bad[:5]}')
    if all(k.startswith('module.') for k in sd):
        sd = collections.OrderedDict((k[len('module.'):], v) for k, v in sd.items())
    return sd


def _listing(title, names, limit=20):
    if not names:
        return ''
    more = f' ... and {len(names) - limit} more' if len(names) > limit else ''
    return f'\n  {title} ({len(names)}):\n    ' + '\n    '.join(names[:limit]) + more


def check_state_dict(model, sd, arch, where='checkpoint'):
    """Strict comparison of ``sd`` against ``model.state_dict()``: raises CheckpointError
    listing missing keys, unexpected keys (first 20 of each, with counts) and shape mismatches.
    A missing ``num_batches_tracked`` buffer is tolerated (it plays no role in inference)."""
    own = model.state_dict()
    missing = [k for k in own if k not in sd and not k.endswith('num_batches_tracked')]
    unexpected = [k for k in sd if k not in own]
    shapes = [f'{k}: checkpoint {tuple(sd[k].shape)} vs model {tuple(own[k].shape)}'
              for k in own if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or shapes:
        raise CheckpointError(
            f'{where} does not match arch {arch!r} (strict loading): '
            f'{len(missing)} missing, {len(unexpected)} unexpected, {len(shapes)} shape mismatches'
            + _dataset_hint(model, sd, arch)
            + _listing('missing keys', missing) + _listing('unexpected keys', unexpected)
            + _listing('shape mismatches', shapes))


def _dataset_hint(model, sd, arch):
    """A top-down checkpoint whose head predicts another number of keypoints than the model
    built (another dataset's keypoint set): one line naming the checkpoint's dataset and the
    ``--dataset`` to export it with; '' otherwise."""
    dataset = getattr(model, 'dataset', None)
    if dataset is None:
        return ''
    from .build import ARCHS, checkpoint_joints, datasets_with_joints  # no import cycle
    if arch not in ARCHS or ARCHS[arch].get('kind') == 'bottom-up':
        return ''
    key, want = checkpoint_joints(arch, model.state_dict())
    _, got = checkpoint_joints(arch, sd)
    if got is None or want is None or got == want:
        return ''
    names = datasets_with_joints(got)
    if names:
        which = ' or '.join(names)
        advice = f'export it with {" or ".join("--dataset " + n for n in names)}'
    else:
        which = 'no supported dataset'
        advice = 'no supported dataset has that many keypoints'
    return (f'\n  wrong dataset: the checkpoint predicts {got} keypoints ({key} has {got} output '
            f'channels: {which}), but the model was built for dataset {dataset!r} with {want} '
            f'keypoints; {advice}')


def load_checkpoint(model, path, arch):
    """Reads ``path`` and loads it into ``model`` strictly; returns the state dict used."""
    sd = read_state_dict(path)
    check_state_dict(model, sd, arch, where=f'checkpoint {path}')
    full = collections.OrderedDict(sd)
    for k, v in model.state_dict().items():  # tolerated: missing num_batches_tracked
        if k not in full:
            full[k] = v
    model.load_state_dict(full, strict=True)
    return full


# ---------------------------------------------------------------------------------------------
# deterministic random weights for parity tests

def _calibration_batches(seed, n=4, size=(256, 192)):
    g = torch.Generator().manual_seed(seed + 7919)
    h, w = size
    white = torch.randn(n, 3, h, w, generator=g)
    coarse = torch.randn(n, 3, h // 16, w // 16, generator=g) * 1.5
    smooth = torch.nn.functional.interpolate(coarse, size=(h, w), mode='bilinear',
                                             align_corners=False)
    return [white, smooth + 0.3 * torch.randn(n, 3, h, w, generator=g)]


def _output_layer(model):
    head = model.keypoint_head
    if hasattr(head, 'converge'):
        return head.converge[-1].conv
    return head.final_layer


def _bf16(v):
    return float(torch.tensor(v).to(torch.bfloat16).float())


# bottom-up outputs after rescaling, per joint on the calibration batches: heatmap mean and
# std, tag std (tags centred on 0)
BOTTOM_UP_HEATMAP_MEAN = -0.7
BOTTOM_UP_HEATMAP_STD = 0.1
BOTTOM_UP_TAG_STD = 0.5


@torch.no_grad()
def _rescale_bottom_up(model, batches):
    """Bottom-up (``BottomUpSimpleSRHead``): per joint k, rescales the ``heatmap_head`` outputs
    that pixel_shuffle turns into heatmap k (conv channels k*r*r .. k*r*r + r*r - 1) so that the
    heatmap has mean BOTTOM_UP_HEATMAP_MEAN and std BOTTOM_UP_HEATMAP_STD on the calibration
    batches (so only the strongest peaks pass the 0.1 detection threshold: a random model then
    finds tens of people, not hundreds), and ``tag_head`` channel k so that tag map k has mean
    0 and std BOTTOM_UP_TAG_STD (some candidates within the tag threshold of 1 of a person,
    some not). Factors and offsets rounded to bfloat16."""
    head = model.keypoint_head
    n = head.num_joints
    r2 = head.pixel_shuffle ** 2
    ys = torch.cat([model(x) for x in batches])
    for k in range(n):
        for conv, chans, y, mean_to, std_to in (
                (head.heatmap_head, slice(k * r2, (k + 1) * r2), ys[:, k],
                 BOTTOM_UP_HEATMAP_MEAN, BOTTOM_UP_HEATMAP_STD),
                (head.tag_head, slice(k, k + 1), ys[:, n + k], 0.0, BOTTOM_UP_TAG_STD)):
            f = _bf16(std_to / max(y.std().item(), 1e-12))
            conv.weight[chans] *= f
            conv.bias[chans] *= f
            conv.bias[chans] -= _bf16(y.mean().item() * f - mean_to)


@torch.no_grad()
def random_init(model, seed, target_std=1.5, size=None):
    """Deterministic weights with well-scaled activations (same seed -> identical tensors).

    Convs/linears: Kaiming-normal (fan_in, relu gain), biases U(-0.1, 0.1); BN and LayerNorm
    affine gamma ~ U(0.5, 1.5), beta ~ N(0, 0.2); HRFormer's relative position bias tables
    truncated N(0, 0.02) (the official init; the forward does not use them). BN running statistics come from a calibration pass
    (BN layers in train mode, momentum=None, i.e. the exact mean over the calibration batches),
    rounded to bfloat16 precision so that last-bit differences between thread counts cannot
    change the saved weights. Finally the output conv is rescaled so that the heatmaps have a
    standard deviation of ``target_std`` on the calibration batches (range of order 10); for the
    bottom-up models see ``_rescale_bottom_up``. ``size`` (height, width): the calibration
    batches' size, by default 256 x 192 (the COCO input; MPII models pass 256 x 256). Leaves the
    model in eval mode.
    """
    torch.manual_seed(seed)
    for _, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, mode='fan_in', nonlinearity='relu')
            if m.bias is not None:
                nn.init.uniform_(m.bias, -0.1, 0.1)
        elif isinstance(m, (nn.BatchNorm2d, nn.LayerNorm)):
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.normal_(m.bias, 0.0, 0.2)
    for name, p in model.named_parameters():  # HRFormer's (unused) relative position bias
        if name.endswith('relative_position_bias_table'):
            nn.init.trunc_normal_(p, std=0.02)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        batches = _calibration_batches(seed, size=size or (256, 192))
        model.eval()
        bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None
            bn.train()
        for x in batches:
            model(x)
        for bn in bns:
            bn.momentum = 0.1
            bn.eval()
            bn.running_mean.copy_(bn.running_mean.to(torch.bfloat16).float())
            bn.running_var.copy_(bn.running_var.to(torch.bfloat16).float())
        if hasattr(model.keypoint_head, 'tag_head'):
            _rescale_bottom_up(model, batches)
            return model.eval()
        ys = torch.cat([model(x) for x in batches])
        conv = _output_layer(model)
        mean = ys.mean().item()
        std = ys.std().item()
        k = float(torch.tensor(target_std / max(std, 1e-12)).to(torch.bfloat16).float())
        conv.weight.mul_(k)
        # centre the maps on zero: per-map maxima are then positive (~ +4 std), as when trained
        conv.bias.mul_(k).sub_(float(torch.tensor(mean * k).to(torch.bfloat16).float()))
    finally:
        torch.set_num_threads(threads)
    model.eval()
    return model
