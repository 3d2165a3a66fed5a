#!/usr/bin/env python3
"""Independent Python reference of the official SRPose / mmpose 0.x top-down pipeline.

Library functions (numpy + torch + OpenCV, following the official code step for step):

* ``decode_sr``      TopDownHigher.forward_test + keypoints_from_heatmaps (SR decode)
                     (mmpose/models/detectors/top_down_higher.py)
* ``decode_default`` keypoints_from_heatmaps(post_process='default')
* ``decode_dark``    keypoints_from_heatmaps(post_process='unbiased')  (DARK)
                     (mmpose/core/evaluation/top_down_eval.py)
* ``flip_test_heatmaps``  the official flip test (flip, swap pairs, flip back, shift, average)
* ``pipeline``       imread -> box -> center/scale -> warpAffine crop -> normalise -> torch model
                     -> [flip test] -> decode, in image pixels

The keypoint set (joints, flip pairs) and the input size are the model's: its srpose.json
(``dataset``, ``flipPairs``, ``input``) or, without one, ``--arch`` and ``--dataset``
(coco | crowdpose | mpii; default coco: 17 joints, 256x192).

CLI (one JSON line on stdout; raw little-endian float32 files in --out-dir):

    reference.py net --arch A [--dataset DS] --checkpoint C --batch B --seed S --out-dir D
    reference.py decode --method sr|default|dark --heatmaps F --shape N,K,H,W \
        --centers "x,y;..." --scales "w,h;..." [--kernel 11] [--pool 16]
    reference.py pipeline --arch A [--dataset DS] --checkpoint C --image P --boxes "x,y,w,h;..." \
        [--flip] [--method sr|default|dark]
    reference.py batch-pipeline --arch A [--dataset DS] --checkpoint C --spec FILE.json \
        --out FILE.json [--flip] [--method ...]
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import official  # noqa: E402
from srpose_models.build import (COCO_FLIP_PAIRS, INPUT_SIZE, arch_info,  # noqa: E402
                                 build_model, dataset_info)
from srpose_models.checkpoint import CheckpointError, load_checkpoint  # noqa: E402


# ------------------------------------------------------------------------------------------
# official decode, numpy

def get_max_preds(heatmaps):
    """``_get_max_preds``: argmax per map (first maximum in row-major order); preds are -1
    where the maximum is <= 0. Returns preds float32 (N,K,2), maxvals float32 (N,K,1)."""
    assert isinstance(heatmaps, np.ndarray) and heatmaps.ndim == 4
    N, K, _, W = heatmaps.shape
    flat = heatmaps.reshape((N, K, -1))
    idx = np.argmax(flat, 2).reshape((N, K, 1))
    maxvals = np.amax(flat, 2).reshape((N, K, 1))
    preds = np.tile(idx, (1, 1, 2)).astype(np.float32)
    preds[:, :, 0] = preds[:, :, 0] % W
    preds[:, :, 1] = preds[:, :, 1] // W
    preds = np.where(np.tile(maxvals, (1, 1, 2)) > 0.0, preds, -1)
    return preds, maxvals


def transform_preds(coords, center, scale, output_size):
    """``transform_preds`` (use_udp=False): heatmap coords -> image coords.

    dtypes (numpy 1.x value-based casting, as the official run): ``scale * 200`` is a float32
    array; ``scale_x = scale[0] / W`` is a float64 scalar, but ``coords[:, 0] * scale_x`` is a
    float32-array op, so scale_x is rounded to float32 first. Hence, in float32 steps:
    x = ((coord_x * f32(s200_x / W)) + center_x) - f32(s200_x * 0.5), likewise y."""
    scale = scale * 200.0
    scale_x = scale[0] / output_size[0]
    scale_y = scale[1] / output_size[1]
    target = np.ones_like(coords)
    target[:, 0] = coords[:, 0] * scale_x + center[0] - scale[0] * 0.5
    target[:, 1] = coords[:, 1] * scale_y + center[1] - scale[1] * 0.5
    return target


def _as_frames(centers, scales, n):
    c = np.asarray(centers, dtype=np.float32).reshape(n, 2)
    s = np.asarray(scales, dtype=np.float32).reshape(n, 2)
    return c, s


def _quarter_offset(heatmap, pred, px, py, W, H):
    """+-0.25 towards the higher neighbour, only if 1 < px < W-1 and 1 < py < H-1."""
    if 1 < px < W - 1 and 1 < py < H - 1:
        diff = np.array([heatmap[py][px + 1] - heatmap[py][px - 1],
                         heatmap[py + 1][px] - heatmap[py - 1][px]])
        pred += np.sign(diff) * .25


def decode_sr(heatmaps, centers, scales, pool=16):
    """The SR decode of ``TopDownHigher``: max_pool2d_with_indices(pool, pool) on the heatmaps,
    ``_get_max_preds`` on the pooled maxima (so the first pooled cell holding the global max in
    row-major order wins), look up that cell's argmax index in the full map, +-0.25 quarter
    offset, transform back. Quirk kept: when the max is <= 0, ``_get_max_preds`` gives (-1, -1)
    and ``max_i[n][k][:, -1, -1]`` picks the argmax of the LAST (bottom-right) pooled cell.
    Returns preds float32 (N,K,2) and maxvals float32 (N,K)."""
    heatmaps = np.ascontiguousarray(heatmaps, dtype=np.float32)
    N, K, H, W = heatmaps.shape
    c, s = _as_frames(centers, scales, N)
    t = torch.from_numpy(heatmaps.copy())
    max_v, max_i = F.max_pool2d_with_indices(t, pool, pool, return_indices=True)
    max_i = max_i.unsqueeze(2).repeat(1, 1, 2, 1, 1)
    max_i[:, :, 0] = max_i[:, :, 0] % W
    max_i[:, :, 1] = torch.div(max_i[:, :, 1], W, rounding_mode='floor')
    max_v = max_v.numpy()
    max_i = max_i.numpy()

    preds, maxvals = get_max_preds(max_v)
    for n in range(N):
        for k in range(K):
            heatmap = heatmaps[n][k]
            _px = int(preds[n][k][0])
            _py = int(preds[n][k][1])
            px = max_i[n][k][0][_py][_px]
            py = max_i[n][k][1][_py][_px]
            preds[n][k][0] = px
            preds[n][k][1] = py
            _quarter_offset(heatmap, preds[n][k], px, py, W, H)
    for i in range(N):
        preds[i] = transform_preds(preds[i], c[i], s[i], [W, H])
    return preds, maxvals[..., 0]


def decode_default(heatmaps, centers, scales):
    """``keypoints_from_heatmaps(post_process='default')``: argmax, +-0.25 quarter offset,
    transform back. Returns preds float32 (N,K,2), maxvals float32 (N,K)."""
    heatmaps = np.ascontiguousarray(heatmaps, dtype=np.float32)
    N, K, H, W = heatmaps.shape
    c, s = _as_frames(centers, scales, N)
    preds, maxvals = get_max_preds(heatmaps)
    for n in range(N):
        for k in range(K):
            px = int(preds[n][k][0])
            py = int(preds[n][k][1])
            _quarter_offset(heatmaps[n][k], preds[n][k], px, py, W, H)
    for i in range(N):
        preds[i] = transform_preds(preds[i], c[i], s[i], [W, H])
    return preds, maxvals[..., 0]


def gaussian_blur(heatmaps, kernel=11):
    """``_gaussian_blur``: per map, zero-pad by (kernel-1)/2, cv2.GaussianBlur(k, k, sigma 0),
    crop, rescale so the max equals the original max (in place, float32)."""
    assert kernel % 2 == 1
    border = (kernel - 1) // 2
    N, K, H, W = heatmaps.shape
    for i in range(N):
        for j in range(K):
            origin_max = np.max(heatmaps[i, j])
            dr = np.zeros((H + 2 * border, W + 2 * border), dtype=np.float32)
            dr[border:-border, border:-border] = heatmaps[i, j].copy()
            dr = cv2.GaussianBlur(dr, (kernel, kernel), 0)
            heatmaps[i, j] = dr[border:-border, border:-border].copy()
            with np.errstate(divide='ignore', invalid='ignore'):
                heatmaps[i, j] *= origin_max / np.max(heatmaps[i, j])
    return heatmaps


def taylor(heatmap, coord):
    """``_taylor``: one Newton step on the log heatmap, only if 1 < px < W-2 and 1 < py < H-2
    and the Hessian determinant is non-zero; updates ``coord`` in place (float32).

    dtypes: the heatmap is float32. dx, dy = 0.5 * (float32 difference), in float64.
    dxx = 0.25 * ((h[x+2] - 2*h[x]) + h[x-2]) and dyy likewise are float64, because 2*h is
    float64. dxy is a float32 chain (a - b - c + d, left to right) times 0.25, in float64.
    The inverse and offset are float64, and then coord = f32(coord + offset)."""
    H, W = heatmap.shape[:2]
    px, py = int(coord[0]), int(coord[1])
    if 1 < px < W - 2 and 1 < py < H - 2:
        dx = 0.5 * (heatmap[py][px + 1] - heatmap[py][px - 1])
        dy = 0.5 * (heatmap[py + 1][px] - heatmap[py - 1][px])
        dxx = 0.25 * (heatmap[py][px + 2] - 2 * heatmap[py][px] + heatmap[py][px - 2])
        dxy = 0.25 * (heatmap[py + 1][px + 1] - heatmap[py - 1][px + 1] -
                      heatmap[py + 1][px - 1] + heatmap[py - 1][px - 1])
        dyy = 0.25 * (heatmap[py + 2][px] - 2 * heatmap[py][px] + heatmap[py - 2][px])
        derivative = np.array([[dx], [dy]])
        hessian = np.array([[dxx, dxy], [dxy, dyy]])
        if dxx * dyy - dxy ** 2 != 0:
            hessianinv = np.linalg.inv(hessian)
            offset = -hessianinv @ derivative
            offset = np.squeeze(np.array(offset.T), axis=0)
            coord += offset
    return coord


def decode_dark(heatmaps, centers, scales, kernel=11):
    """``keypoints_from_heatmaps(post_process='unbiased')`` (DARK): argmax and maxvals on the
    raw maps, then log(max(blur(maps), 1e-10)) and a Taylor step. The caller's array is not
    modified (the official code blurs it in place)."""
    heatmaps = np.array(heatmaps, dtype=np.float32, copy=True)
    N, K, H, W = heatmaps.shape
    c, s = _as_frames(centers, scales, N)
    preds, maxvals = get_max_preds(heatmaps)
    with np.errstate(divide='ignore', invalid='ignore'):
        logs = np.log(np.maximum(gaussian_blur(heatmaps, kernel), 1e-10))
    for n in range(N):
        for k in range(K):
            preds[n][k] = taylor(logs[n][k], preds[n][k])
    for i in range(N):
        preds[i] = transform_preds(preds[i], c[i], s[i], [W, H])
    return preds, maxvals[..., 0]


def decode(method, heatmaps, centers, scales, kernel=11, pool=16):
    if method == 'sr':
        return decode_sr(heatmaps, centers, scales, pool=pool)
    if method == 'default':
        return decode_default(heatmaps, centers, scales)
    if method == 'dark':
        return decode_dark(heatmaps, centers, scales, kernel=kernel)
    raise ValueError(f'unknown decode method {method!r}')


# ------------------------------------------------------------------------------------------
# model, flip test, pipeline

def flip_back_shift(flipped, flip_pairs, shift=True):
    """Heatmaps of a flipped image -> heatmaps of the original: swap the left/right channels,
    flip horizontally, and (shift_heatmap) move every column one pixel right, column 0 keeping
    its value (``hm[..., 1:] = hm[..., :-1]`` as numpy does it, without an overlapping write)."""
    back = flipped.clone()
    for left, right in flip_pairs:
        back[:, left] = flipped[:, right]
        back[:, right] = flipped[:, left]
    back = back.flip(3)
    if shift:
        back = torch.cat([back[..., :1], back[..., :-1]], dim=3)
    return back


@torch.no_grad()
def flip_test_heatmaps(model, x, flip_pairs=COCO_FLIP_PAIRS, shift=True):
    """The official flip test: (model(x) + flip_back(model(x.flip(3)))) * 0.5, float32."""
    out = model(x)
    back = flip_back_shift(model(x.flip(3)), flip_pairs, shift)
    return (out + back) * 0.5


def _find_config(checkpoint):
    p = os.path.join(os.path.dirname(os.path.abspath(checkpoint)), 'srpose.json')
    if os.path.exists(p):
        with open(p) as f:
            return json.load(f)
    return None


def _deconv_as_conv(self, x):
    """ConvTranspose2d computed as a conv over the zero-inserted input: the same function
    (to float rounding) but ~6x faster than this CPU build's transposed-conv kernel."""
    s, p, op, k = self.stride[0], self.padding[0], self.output_padding[0], self.kernel_size[0]
    n, c, h, w = x.shape
    z = x.new_zeros(n, c, (h - 1) * s + 1, (w - 1) * s + 1)
    z[:, :, ::s, ::s] = x
    e = k - 1 - p
    z = F.pad(z, (e, e + op, e, e + op))
    return F.conv2d(z, self.weight.flip(2, 3).transpose(0, 1), self.bias)


def use_fast_deconv(model):
    """Swaps the forward of every plain ConvTranspose2d (square, groups 1, no dilation) for
    ``_deconv_as_conv``; used by the pipeline commands only (``net`` keeps the native op)."""
    import types
    for m in model.modules():
        if isinstance(m, torch.nn.ConvTranspose2d) and m.groups == 1 \
                and m.dilation == (1, 1) and len(set(m.stride)) == 1 \
                and len(set(m.padding)) == 1 and len(set(m.kernel_size)) == 1 \
                and len(set(m.output_padding)) == 1:
            m.forward = types.MethodType(_deconv_as_conv, m)
    return model


def model_dataset(cfg, dataset=None):
    """The model's dataset: ``dataset`` when given, else srpose.json's, else coco."""
    return dataset or (cfg or {}).get('dataset') or 'coco'


def load_model(checkpoint, arch=None, dataset=None):
    """(model, srpose.json dict or None, arch). ``checkpoint`` is a .pth or a model directory
    holding checkpoint.pth (+ srpose.json, which supplies the arch and the dataset when not
    given; without either: coco). ``model.dataset`` is the dataset built."""
    if os.path.isdir(checkpoint):
        checkpoint = os.path.join(checkpoint, 'checkpoint.pth')
    cfg = _find_config(checkpoint)
    if arch is None:
        if cfg is None:
            raise ValueError('no --arch and no srpose.json next to the checkpoint')
        arch = cfg['arch']
    model = build_model(arch, model_dataset(cfg, dataset))
    load_checkpoint(model, checkpoint, arch)
    return model.eval(), cfg, arch


def input_size(cfg, arch, dataset='coco'):
    """The network input (width, height): srpose.json's ``input``, else the arch + dataset's
    (COCO, CrowdPose 192 x 256, MPII 256 x 256)."""
    i = (cfg or {}).get('input') or {}
    if 'width' in i and 'height' in i:
        return (int(i['width']), int(i['height']))
    return tuple(arch_info(arch, dataset)['input'])


@torch.no_grad()
def heatmaps_of(model, x, flip=False, flip_pairs=COCO_FLIP_PAIRS, shift=True, chunk=32):
    outs = []
    for i in range(0, x.shape[0], chunk):
        xb = x[i:i + chunk]
        outs.append(flip_test_heatmaps(model, xb, flip_pairs, shift) if flip else model(xb))
    return torch.cat(outs).numpy()


def prepare(img, boxes, image_size=INPUT_SIZE):
    """Boxes [x, y, w, h] -> (input batch float32 [N,3,H,W], centers, scales); ``image_size``
    (W, H), by default COCO's 192 x 256."""
    xs, cs, ss = [], [], []
    for b in boxes:
        c, s = official.xywh2cs(*[float(v) for v in b], image_size=image_size)
        xs.append(official.to_input(official.crop(img, c, s, image_size=image_size)))
        cs.append(c)
        ss.append(s)
    x = torch.from_numpy(np.stack(xs)) if xs else torch.zeros(0, 3, image_size[1], image_size[0])
    return x, np.array(cs, dtype=np.float32).reshape(-1, 2), np.array(ss, dtype=np.float32).reshape(-1, 2)


def run_image(model, method, image_path, boxes, flip=False, kernel=11, pool=16,
              flip_pairs=COCO_FLIP_PAIRS, shift=True, image_size=INPUT_SIZE):
    img = official.imread_rgb(image_path)
    x, c, s = prepare(img, boxes, image_size)
    if x.shape[0] == 0:
        return {'keypoints': [], 'centers': [], 'scales': []}
    hm = heatmaps_of(model, x, flip, flip_pairs, shift)
    preds, maxvals = decode(method, hm, c, s, kernel=kernel, pool=pool)
    kps = np.concatenate([preds, maxvals[..., None]], axis=2).astype(np.float32)
    return {'keypoints': kps.tolist(), 'centers': c.tolist(), 'scales': s.tolist()}


def _decode_settings(cfg, arch, method=None, dataset='coco'):
    d = (cfg or {}).get('decode') or arch_info(arch, dataset)['decode']
    flip_pairs = (cfg or {}).get('flipPairs') or dataset_info(dataset)['flip_pairs']
    shift = ((cfg or {}).get('flipTest') or {}).get('shiftHeatmap', True)
    return (method or d['method'], d.get('modulateKernel', 11), d.get('poolKernel', 16),
            flip_pairs, shift)


def _settings(model, cfg, arch, method=None):
    """(method, kernel, pool, flip pairs, shift, input size) of a loaded model."""
    dataset = getattr(model, 'dataset', 'coco')
    return _decode_settings(cfg, arch, method, dataset) + (input_size(cfg, arch, dataset),)


def pipeline(model_dir_or_checkpoint, image_path, boxes, flip=False, arch=None, method=None,
             dataset=None):
    """The PyTorch reference pipeline -> {'keypoints': [[[x, y, score] x K] per box], ...}."""
    model, cfg, arch = load_model(model_dir_or_checkpoint, arch, dataset)
    use_fast_deconv(model)
    m, kernel, pool, pairs, shift, size = _settings(model, cfg, arch, method)
    return run_image(model, m, image_path, boxes, flip, kernel, pool, pairs, shift, size)


# ------------------------------------------------------------------------------------------
# CLI

def _pairs(text, what):
    out = []
    for part in filter(None, (p.strip() for p in text.split(';'))):
        v = [float(t) for t in part.split(',')]
        if len(v) != 2:
            raise SystemExit(f'reference.py: --{what}: expected "a,b;..." got {part!r}')
        out.append(v)
    return out


def _boxes(text):
    out = []
    for part in filter(None, (p.strip() for p in text.split(';'))):
        v = [float(t) for t in part.split(',')]
        if len(v) != 4:
            raise SystemExit(f'reference.py: --boxes: expected "x,y,w,h;..." got {part!r}')
        out.append(v)
    return out


def cmd_net(a):
    model, cfg, arch = load_model(a.checkpoint, a.arch, a.dataset)
    w, h = input_size(cfg, arch, model.dataset)
    g = torch.Generator().manual_seed(a.seed)
    x = torch.randn(a.batch, 3, h, w, generator=g)
    with torch.no_grad():
        y = model(x)
    os.makedirs(a.out_dir, exist_ok=True)
    x.numpy().astype('<f4').tofile(os.path.join(a.out_dir, 'input.f32'))
    y.numpy().astype('<f4').tofile(os.path.join(a.out_dir, 'heatmaps.f32'))
    meta = {'arch': arch, 'inputShape': list(x.shape), 'heatmapShape': list(y.shape),
            'min': float(y.min()), 'max': float(y.max())}
    with open(os.path.join(a.out_dir, 'meta.json'), 'w') as f:
        json.dump(meta, f)
    return meta


def cmd_decode(a):
    shape = [int(v) for v in a.shape.split(',')]
    if len(shape) != 4:
        raise SystemExit('reference.py: --shape must be N,K,H,W')
    hm = np.fromfile(a.heatmaps, dtype='<f4')
    if hm.size != np.prod(shape):
        raise SystemExit(f'reference.py: {a.heatmaps} has {hm.size} floats, shape {shape} '
                         f'needs {int(np.prod(shape))}')
    hm = hm.reshape(shape).astype(np.float32)
    c = _pairs(a.centers, 'centers')
    s = _pairs(a.scales, 'scales')
    if len(c) != shape[0] or len(s) != shape[0]:
        raise SystemExit(f'reference.py: need {shape[0]} centers and scales, '
                         f'got {len(c)} and {len(s)}')
    preds, maxvals = decode(a.method, hm, c, s, kernel=a.kernel, pool=a.pool)
    return {'preds': preds.astype(np.float64).tolist(),
            'maxvals': maxvals.astype(np.float64).tolist()}


def cmd_pipeline(a):
    model, cfg, arch = load_model(a.checkpoint, a.arch, a.dataset)
    use_fast_deconv(model)
    m, kernel, pool, pairs, shift, size = _settings(model, cfg, arch, a.method)
    return run_image(model, m, a.image, _boxes(a.boxes), a.flip, kernel, pool, pairs, shift,
                     size)


def cmd_batch_pipeline(a):
    model, cfg, arch = load_model(a.checkpoint, a.arch, a.dataset)
    use_fast_deconv(model)
    m, kernel, pool, pairs, shift, size = _settings(model, cfg, arch, a.method)
    with open(a.spec) as f:
        spec = json.load(f)
    results = []
    n = 0
    for item in spec:
        r = run_image(model, m, item['image'], item.get('boxes', []), a.flip, kernel, pool,
                      pairs, shift, size)
        r['image'] = item['image']
        results.append(r)
        n += len(item.get('boxes', []))
    with open(a.out, 'w') as f:
        json.dump(results, f)
    return {'images': len(results), 'boxes': n, 'method': m, 'flip': bool(a.flip),
            'out': a.out}


def main(argv=None):
    p = argparse.ArgumentParser(prog='reference.py', description=__doc__.split('\n')[0])
    sub = p.add_subparsers(dest='cmd', required=True)

    def model_args(q):
        q.add_argument('--checkpoint', required=True, help='.pth or a model dir')
        q.add_argument('--arch', default=None,
                       help='res50 | hrnet_w32 | hrformer_s | res50_simple (default: srpose.json)')
        q.add_argument('--dataset', default=None, choices=['coco', 'crowdpose', 'mpii'],
                       help='keypoint set (default: srpose.json\'s, else coco)')

    q = sub.add_parser('net', help='random input batch -> heatmaps (raw float32 files)')
    model_args(q)
    q.add_argument('--batch', type=int, default=1)
    q.add_argument('--seed', type=int, default=0)
    q.add_argument('--out-dir', required=True)

    q = sub.add_parser('decode', help='decode raw float32 heatmaps')
    q.add_argument('--method', required=True, choices=['sr', 'default', 'dark'])
    q.add_argument('--heatmaps', required=True)
    q.add_argument('--shape', required=True, help='N,K,H,W')
    q.add_argument('--centers', required=True, help='"x,y;x,y;..."')
    q.add_argument('--scales', required=True, help='"w,h;w,h;..."')
    q.add_argument('--kernel', type=int, default=11)
    q.add_argument('--pool', type=int, default=16)

    for name in ('pipeline', 'batch-pipeline'):
        q = sub.add_parser(name, help='the PyTorch reference pipeline')
        model_args(q)
        if name == 'pipeline':
            q.add_argument('--image', required=True)
            q.add_argument('--boxes', required=True, help='"x,y,w,h;..."')
        else:
            q.add_argument('--spec', required=True,
                           help='JSON [{"image": path, "boxes": [[x,y,w,h],...]}, ...]')
            q.add_argument('--out', required=True)
        q.add_argument('--flip', action='store_true')
        q.add_argument('--method', default=None, choices=['sr', 'default', 'dark'])

    a = p.parse_args(argv)
    torch.set_num_threads(2)
    try:
        res = {'net': cmd_net, 'decode': cmd_decode, 'pipeline': cmd_pipeline,
               'batch-pipeline': cmd_batch_pipeline}[a.cmd](a)
    except CheckpointError as e:
        print(f'reference.py: error: {e}', file=sys.stderr)
        return 2
    print(json.dumps(res))
    return 0


if __name__ == '__main__':
    sys.exit(main())
