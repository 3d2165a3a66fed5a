#!/usr/bin/env python3
"""Independent Python reference of the official SRPose / mmpose 0.x bottom-up test pipeline
(``BottomUp.forward_test`` with the configs configs/bottom_up/sr/coco/*_sr_coco_512x512.py:
test_scale_factor [1], flip test, project2image, adjust and refine, no UDP).

Steps, each following the official code (file in the SRPose repository):

* ``test_size``        BottomUpGetImgSize / _get_multi_scale_size
                       (mmpose/datasets/pipelines/bottom_up_transform.py): short side 512, long
                       side rounded up to a multiple of 64, center, scale (units of 200 px)
* ``resize_align``     _resize_align_multi_scale: get_affine_transform + cv2.warpAffine
                       (bilinear, constant 0 border), then ToTensor + NormalizeTensor
* ``aggregate``        get_multi_stage_outputs + aggregate_results
                       (mmpose/core/evaluation/bottom_up_eval.py): flip back with flip_index,
                       bilinear projection to base_size, heatmaps averaged, tags stacked on a
                       5th axis ([N, K, H, W, T], T = 2 with the flip test)
* ``HeatmapParser``    mmpose/core/post_processing/group.py: max-pool NMS, top-k, match_by_tag
                       (Munkres, the ``munkres`` package as the official code), adjust, refine
* ``group_preds``      get_group_preds + transform_preds (post_transforms.py)

CLI (one JSON line on stdout; arrays as raw little-endian float32 files):

    reference_bottomup.py pipeline --model DIR --image PATH --dump OUT [--no-flip]
        DIR holds srpose.json and checkpoint.pth (without checkpoint.pth, srpose.json's
        source.randomInit seed rebuilds the weights). Writes OUT/input.f32 [1,3,H,W] (the
        normalised network input), OUT/output.f32 and OUT/output_flip.f32 [1,2K,H,W] (the
        network's raw outputs on the input and on the mirrored input), OUT/aggregated.f32
        [1,K,H,W], OUT/tags.f32 [1,K,H,W,T], OUT/meta.json, OUT/result.json.
    reference_bottomup.py parse --heatmaps F --tags F --shape K,H,W --config srpose.json \\
        [--no-adjust] [--no-refine]
        HeatmapParser.parse alone (batch 1; T read from the tags file's size); prints the
        grouped people in heatmap coordinates (before get_group_preds).
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
from munkres import Munkres  # noqa: E402

import official  # noqa: E402
from srpose_models.build import COCO_FLIP_INDEX, build_model, is_bottom_up  # noqa: E402
from srpose_models.checkpoint import CheckpointError, load_checkpoint, random_init  # noqa: E402

# _Params.joint_order for 17 joints: nose, eyes, ears, shoulders, HIPS, then elbows, wrists,
# knees, ankles (1-based in the official code: 1..7, 12, 13, 8..11, 14..17)
COCO_JOINT_ORDER = [0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16]


# ------------------------------------------------------------------------------------------
# pre-processing

def _ceil_to_multiple(x, base):
    return int(np.ceil(x / base)) * base


def test_size(h, w, input_size=512, multiple=64, current_scale=1, min_scale=1):
    """BottomUpGetImgSize (use_udp False) for an h x w image -> ((w_resized, h_resized),
    center int64 (2,), scale float64 (2,)).

    The short side becomes ``input_size`` (rounded up to ``multiple``), the long side
    ceil(input_size / short * long / multiple) * multiple, all in float64 in this order.
    scale = (w / 200, h_resized / w_resized * w / 200) for portrait images, (w_resized /
    h_resized * h / 200, h / 200) otherwise (w >= h); center = (round(w / 2), round(h / 2)) with
    Python's round, i.e. half to even (w = 425 -> 212)."""
    min_input = _ceil_to_multiple(min_scale * input_size, multiple)
    if w < h:
        w_r = int(min_input * current_scale / min_scale)
        h_r = int(_ceil_to_multiple(min_input / w * h, multiple) * current_scale / min_scale)
        scale_w = w / 200.0
        scale_h = h_r / w_r * w / 200.0
    else:
        h_r = int(min_input * current_scale / min_scale)
        w_r = int(_ceil_to_multiple(min_input / h * w, multiple) * current_scale / min_scale)
        scale_h = h / 200.0
        scale_w = w_r / h_r * h / 200.0
    center = np.array([round(w / 2.0), round(h / 2.0)])
    return (w_r, h_r), center, np.array([scale_w, scale_h])


def resize_align(img, input_size=512, multiple=64):
    """_resize_align_multi_scale at scale 1 + ToTensor + NormalizeTensor ->
    (x float32 [1,3,h_r,w_r], resized uint8 image, (w_r, h_r), center, scale)."""
    h, w = img.shape[:2]
    size, center, scale = test_size(h, w, input_size, multiple)
    trans = official.get_affine_transform(center, scale, 0, size)
    resized = cv2.warpAffine(img, trans, size)  # INTER_LINEAR, BORDER_CONSTANT 0
    x = torch.from_numpy(official.to_input(resized)[None])
    return x, resized, size, center, scale


# ------------------------------------------------------------------------------------------
# network outputs -> aggregated heatmaps and tags

def aggregate(out, out_flip, num_joints, flip_index, base_size):
    """get_multi_stage_outputs (one stage, with_heatmaps and with_ae, tag_per_joint,
    project2image) followed by aggregate_results at scale 1, for torch outputs [N, 2K, H, W].

    Flip: the mirrored input's output is flipped back along W and its channels permuted by
    ``flip_index`` (heatmaps and tags alike; no one-pixel shift as in top-down). Every map is
    then resized bilinearly (align_corners False) to base_size, which is the input size, so
    the resize is the identity. Returns (aggregated heatmaps [N,K,H,W] = (h + h_flip) / 2,
    tags [N,K,H,W,T]: T = 1, or 2 with the flip test: [..., 0] from the input, [..., 1] from
    the mirrored input)."""
    K = num_joints
    acc = 0
    acc = acc + out[:, :K]
    heatmaps = [acc / 1]
    tags = [out[:, K:]]
    if out_flip is not None and flip_index:
        back = torch.flip(out_flip, [3])
        acc = 0
        acc = acc + back[:, :K][:, flip_index, :, :]
        tags.append(back[:, K:][:, flip_index, :, :])
        heatmaps.append(acc / 1)
    size = (base_size[1], base_size[0])
    heatmaps = [F.interpolate(m, size=size, mode='bilinear', align_corners=False) for m in heatmaps]
    tags = [F.interpolate(m, size=size, mode='bilinear', align_corners=False) for m in tags]
    tags_list = [torch.unsqueeze(t, dim=4) for t in tags]
    avg = (heatmaps[0] + heatmaps[1]) / 2.0 if len(heatmaps) == 2 else heatmaps[0]
    aggregated = avg / float(1)  # averaged over the one test scale
    return aggregated, torch.cat(tags_list, dim=4)


# ------------------------------------------------------------------------------------------
# HeatmapParser

class GroupingParams:
    """The parser's settings, from srpose.json's ``grouping`` (the official test_cfg)."""

    def __init__(self, grouping, num_joints=17):
        self.num_joints = num_joints
        self.max_people = int(grouping['maxPeople'])
        self.nms_kernel = int(grouping['nmsKernel'])
        self.nms_padding = int(grouping['nmsPadding'])
        self.detection_threshold = grouping['detectionThreshold']
        self.tag_threshold = grouping['tagThreshold']
        self.use_detection_val = bool(grouping['useDetectionVal'])
        self.ignore_too_much = bool(grouping['ignoreTooMuch'])
        self.adjust = bool(grouping.get('adjust', True))
        self.refine = bool(grouping.get('refine', True))
        self.tag_per_joint = bool(grouping.get('tagPerJoint', True))
        self.joint_order = COCO_JOINT_ORDER if num_joints == 17 else list(range(num_joints))


def nms(heatmaps, kernel, padding):
    """Keeps a pixel where it equals the max over its kernel x kernel window (stride 1, the
    padding counting as -inf), zeroes the rest (multiplied by 0.0, so negatives become -0.0).
    Plateaus keep every pixel."""
    peak = F.max_pool2d(heatmaps, kernel, 1, padding)
    return heatmaps * torch.eq(peak, heatmaps).float()


def top_k(heatmaps, tags, p):
    """The ``max_people`` largest NMS'd values per map (torch.topk, sorted) with their (x, y)
    and the tag vectors there. Returns numpy tag_k [N,K,M,T] float32, loc_k [N,K,M,2] int64,
    val_k [N,K,M] float32."""
    peaks = nms(heatmaps, p.nms_kernel, p.nms_padding)
    N, K, H, W = peaks.shape
    val_k, ind = peaks.view(N, K, -1).topk(p.max_people, dim=2)
    tags = tags.reshape(tags.size(0), tags.size(1), W * H, -1)
    if not p.tag_per_joint:
        tags = tags.expand(-1, p.num_joints, -1, -1)
    tag_k = torch.stack([torch.gather(tags[..., i], 2, ind) for i in range(tags.size(3))], dim=3)
    loc_k = torch.stack((ind % W, torch.div(ind, W, rounding_mode='floor')), dim=3)
    return tag_k.numpy(), loc_k.numpy(), val_k.numpy()


def match_by_tag(tag_k, loc_k, val_k, p):
    """_match_by_tag for one image: tag_k [K,M,T], loc_k [K,M,2], val_k [K,M] ->
    people float32 [P, K, 3 + T] (x, y, score, tags...; zeros for joints not found).

    Joint types are visited in ``p.joint_order``; candidates with score > detection_threshold
    are kept, in top-k order. The first type with candidates makes one person per candidate.
    Every later type is matched against the first ``max_people`` people (in creation order)
    by the Munkres algorithm on the cost round(|tag - person mean tag|) * 100 - score (plain
    distance without use_detection_val), padded with 1e10 columns when there are more
    candidates than people; a pair joins the person only when the distance is below
    tag_threshold, otherwise the candidate starts a new person. People are keyed by the first
    tag value (float32) of the candidate that created them: a later candidate with the same
    value overwrites that person's joint and restarts its tag list, as the official dict
    does."""
    K = p.num_joints
    T = tag_k.shape[2]
    blank = np.zeros((K, 3 + T), dtype=np.float32)
    people = {}     # key -> [K, 3 + T] float32; dict order = creation order
    tag_lists = {}  # key -> list of float32 [T] tags of the person's joints
    for i, k in enumerate(p.joint_order):
        cand = np.concatenate((loc_k[k], val_k[k, :, None], tag_k[k]), 1)  # float64
        keep = cand[:, 2] > p.detection_threshold
        cand_tags = tag_k[k][keep]
        cand = cand[keep]
        if cand.shape[0] == 0:
            continue
        if i == 0 or len(people) == 0:
            for tag, joint in zip(cand_tags, cand):
                people.setdefault(tag[0], np.copy(blank))[k] = joint
                tag_lists[tag[0]] = [tag]
            continue
        keys = list(people.keys())[:p.max_people]
        means = [np.mean(tag_lists[key], axis=0) for key in keys]
        if p.ignore_too_much and len(keys) == p.max_people:
            continue
        diff = cand[:, None, 3:] - np.array(means)[None, :, :]
        dist = np.linalg.norm(diff, ord=2, axis=2)
        raw = np.copy(dist)
        if p.use_detection_val:
            dist = np.round(dist) * 100 - cand[:, 2:3]
        n_new, n_old = dist.shape
        if n_new > n_old:
            pad = np.zeros((n_new, n_new - n_old), dtype=np.float32) + 1e10
            dist = np.concatenate((dist, pad), axis=1)
        pairs = np.array(Munkres().compute(dist)).astype(int)
        for row, col in pairs:
            if row < n_new and col < n_old and raw[row][col] < p.tag_threshold:
                key = keys[col]
                people[key][k] = cand[row]
                tag_lists[key].append(cand_tags[row])
            else:
                key = cand_tags[row][0]
                people.setdefault(key, np.copy(blank))[k] = cand[row]
                tag_lists[key] = [cand_tags[row]]
    return np.array([people[key] for key in people]).astype(np.float32)


def adjust(ans, heatmaps):
    """HeatmapParser.adjust: for every found joint (score > 0) at integer (x, y), y moves
    +0.25 if the pixel below is strictly greater than the one above (rows clamped to the map),
    else -0.25; x likewise with right / left; then both get +0.5. In place; returns ans."""
    hms = heatmaps.numpy() if torch.is_tensor(heatmaps) else heatmaps
    _, _, H, W = hms.shape
    for b, people in enumerate(ans):
        for pi, person in enumerate(people):
            for k, joint in enumerate(person):
                if joint[2] > 0:
                    x, y = joint[0:2]
                    xx, yy = int(x), int(y)
                    hm = hms[b][k]
                    y = y + 0.25 if hm[min(H - 1, yy + 1), xx] > hm[max(0, yy - 1), xx] else y - 0.25
                    x = x + 0.25 if hm[yy, min(W - 1, xx + 1)] > hm[yy, max(0, xx - 1)] else x - 0.25
                    ans[b][pi, k, 0:2] = (x + 0.5, y + 0.5)
    return ans


def refine(heatmap, tag, keypoints):
    """HeatmapParser.refine (no UDP) for one person: heatmap [K,H,W], tag [K,H,W,T],
    keypoints [K, 3 + T] float32, filled in place and returned.

    The person's tag is the mean of the tags at its found joints (score > 0, position
    truncated to int and clipped). For every joint type, the argmax (first in row-major
    order) of heatmap - round(|tag - person tag|) gives (x + 0.5 +- 0.25, y + 0.5 +- 0.25,
    heatmap value there) (x: +0.25 if right > left, else -0.25; y: below > above); it replaces
    the joint only when the joint was not found (score == 0) and the value is > 0."""
    K, H, W = heatmap.shape
    if tag.ndim == 3:
        tag = tag[..., None]
    tag = tag[:K]  # the official zip(heatmap, tag) stops at K (tiled tags have K * K maps)
    found = []
    for k in range(K):
        if keypoints[k, 2] > 0:
            x, y = keypoints[k][:2].astype(int)
            found.append(tag[k, np.clip(y, 0, H - 1), np.clip(x, 0, W - 1)])
    person_tag = np.mean(found, axis=0)
    # all joint types at once, with the float32 operations of the official per-type
    # ((tag - person_tag) ** 2).sum(axis=2) ** 0.5: squares summed in tag order, then sqrt
    sq = None
    for t in range(tag.shape[3]):
        d = np.square(tag[..., t] - person_tag[t])
        sq = d if sq is None else sq + d
    norm = heatmap - np.round(np.sqrt(sq))
    best = np.argmax(norm.reshape(K, -1), axis=1)
    cand = []
    for k in range(K):
        yy, xx = divmod(int(best[k]), W)
        hm = heatmap[k]
        x = xx + 0.5 + (0.25 if hm[yy, min(W - 1, xx + 1)] > hm[yy, max(0, xx - 1)] else -0.25)
        y = yy + 0.5 + (0.25 if hm[min(H - 1, yy + 1), xx] > hm[max(0, yy - 1), xx] else -0.25)
        cand.append((x, y, hm[yy, xx]))
    cand = np.array(cand)
    for k in range(K):
        if cand[k, 2] > 0 and keypoints[k, 2] == 0:
            keypoints[k, :3] = cand[k, :3]
    return keypoints


def parse(heatmaps, tags, p, do_adjust=True, do_refine=True):
    """HeatmapParser.parse: heatmaps torch [N,K,H,W], tags torch [N,K,H,W,T] ->
    (ans: list over the batch of float32 [P, K, 3 + T], scores: list of float32 person scores
    of image 0). A person's score is the mean of its K joint scores (0 for joints not found)
    after adjust and BEFORE refine; refine only runs on image 0, as in the official code."""
    tag_k, loc_k, val_k = top_k(heatmaps, tags, p)
    ans = [match_by_tag(t, lc, v, p) for t, lc, v in zip(tag_k, loc_k, val_k)]
    if do_adjust:
        ans = adjust(ans, heatmaps)
    scores = [person[:, 2].mean() for person in ans[0]]
    if do_refine:
        hm0 = heatmaps[0].numpy()
        tg0 = tags[0].numpy()
        if not p.tag_per_joint:
            tg0 = np.tile(tg0, (p.num_joints, 1, 1, 1))
        people = ans[0]
        for i in range(len(people)):
            people[i] = refine(hm0, tg0, people[i])
        ans = [people]
    return ans, scores


# ------------------------------------------------------------------------------------------
# back to the image

def transform_preds(coords, center, scale, output_size):
    """post_transforms.transform_preds (use_udp False) as get_group_preds calls it with a
    person's [K, 3 + T] float32 rows: x = coord_x * f32(scale_x * 200 / W) + center_x -
    f32(scale_x * 200 * 0.5) in float32 steps (numpy 1.x casting), y likewise. Every other
    column of the result is 1.0 (np.ones_like), the keypoint scores included."""
    assert coords.shape[1] in (2, 4, 5)
    scale = scale * 200.0
    scale_x = scale[0] / output_size[0]
    scale_y = scale[1] / output_size[1]
    target = np.ones_like(coords)
    target[:, 0] = coords[:, 0] * scale_x + center[0] - scale[0] * 0.5
    target[:, 1] = coords[:, 1] * scale_y + center[1] - scale[1] * 0.5
    return target


def group_preds(grouped, center, scale, heatmap_size):
    """get_group_preds (use_udp False): the people of image 0 in image pixels."""
    return [transform_preds(person, center, scale, heatmap_size) for person in grouped[0]]


# ------------------------------------------------------------------------------------------
# model and pipeline

def load_bottom_up_model(model_dir, checkpoint=None):
    """(model in eval mode, srpose.json dict) from a model directory: DIR/checkpoint.pth (or
    ``checkpoint``), else the random weights of srpose.json's source.randomInit seed."""
    with open(os.path.join(model_dir, 'srpose.json')) as f:
        cfg = json.load(f)
    arch = cfg.get('arch')
    if not arch or not is_bottom_up(arch):
        raise ValueError(f'{model_dir}: srpose.json arch {arch!r} is not a bottom-up arch')
    model = build_model(arch)
    ckpt = checkpoint or os.path.join(model_dir, 'checkpoint.pth')
    if os.path.exists(ckpt):
        load_checkpoint(model, ckpt, arch)
    else:
        seed = ((cfg.get('source') or {}).get('randomInit') or {}).get('seed')
        if seed is None:
            raise ValueError(f'{model_dir}: no checkpoint.pth and no source.randomInit seed')
        random_init(model, seed)
    return model.eval(), cfg


def flip_index_of(cfg):
    """The channel permutation of the flip test, from srpose.json's flipPairs."""
    K = len(cfg.get('keypoints') or COCO_FLIP_INDEX)
    index = list(range(K))
    for a, b in cfg.get('flipPairs') or []:
        index[a], index[b] = b, a
    return index


def fast_model(model):
    """The pipeline runs ConvTranspose2d as an equivalent conv (reference.use_fast_deconv):
    the same function to float rounding, several times faster on this CPU build."""
    from reference import use_fast_deconv
    return use_fast_deconv(model)


@torch.no_grad()
def run_pipeline(model, cfg, image_path, flip=None):
    """The whole official test pipeline on one image; returns a dict of arrays and results."""
    flip = bool((cfg.get('flipTest') or {}).get('enabled', True)) if flip is None else flip
    inp = cfg.get('input') or {}
    K = len(cfg['keypoints'])
    p = GroupingParams(cfg['grouping'], K)
    img = official.imread_rgb(image_path)
    x, _, base_size, center, scale = resize_align(img, inp.get('size', 512),
                                                  inp.get('multipleOf', 64))
    out = model(x)
    out_flip = model(torch.flip(x, [3])) if flip else None
    aggregated, tags = aggregate(out, out_flip, K, flip_index_of(cfg) if flip else None,
                                 base_size)
    grouped, scores = parse(aggregated, tags, p, p.adjust, p.refine)
    H, W = aggregated.shape[2:]
    preds = group_preds(grouped, center, scale, [W, H])
    people = []
    for person, grouped_person, score in zip(preds, grouped[0], scores):
        kps = [[float(person[k, 0]), float(person[k, 1]), float(grouped_person[k, 2])]
               for k in range(K)]
        people.append({'keypoints': kps, 'score': float(score)})
    return {
        'image': img, 'input': x, 'output': out, 'output_flip': out_flip,
        'aggregated': aggregated, 'tags': tags, 'grouped': grouped[0], 'scores': scores,
        'people': people, 'base_size': base_size, 'center': center, 'scale': scale, 'flip': flip,
    }


def _write_f32(path, t):
    a = t.numpy() if torch.is_tensor(t) else np.asarray(t)
    np.ascontiguousarray(a, dtype='<f4').tofile(path)


def cmd_pipeline(a):
    model, cfg = load_bottom_up_model(a.model, a.checkpoint)
    fast_model(model)
    r = run_pipeline(model, cfg, a.image, flip=False if a.no_flip else None)
    os.makedirs(a.dump, exist_ok=True)
    _write_f32(os.path.join(a.dump, 'input.f32'), r['input'])
    _write_f32(os.path.join(a.dump, 'output.f32'), r['output'])
    if r['output_flip'] is not None:
        _write_f32(os.path.join(a.dump, 'output_flip.f32'), r['output_flip'])
    _write_f32(os.path.join(a.dump, 'aggregated.f32'), r['aggregated'])
    _write_f32(os.path.join(a.dump, 'tags.f32'), r['tags'])
    h, w = r['image'].shape[:2]
    meta = {
        'arch': cfg['arch'],
        'image': a.image,
        'imageSize': [w, h],
        'baseSize': list(r['base_size']),                 # [w_resized, h_resized]
        'inputShape': list(r['input'].shape),             # [1, 3, H, W]
        'outputShape': list(r['output'].shape),           # [1, 2K, H, W]
        'aggregatedShape': list(r['aggregated'].shape),   # [1, K, H, W]
        'tagsShape': list(r['tags'].shape),               # [1, K, H, W, T]
        'center': [int(v) for v in r['center']],
        'scale': [float(v) for v in r['scale']],          # units of 200 px
        'flip': r['flip'],
        'flipIndex': flip_index_of(cfg),
        'grouping': cfg['grouping'],
        'files': sorted(f for f in os.listdir(a.dump) if f.endswith('.f32')),
        'keypointScore': 'the grouped joint score (the official transform_preds writes 1.0)',
    }
    with open(os.path.join(a.dump, 'meta.json'), 'w') as f:
        json.dump(meta, f, indent=1)
    grouped = [{'keypoints': [[float(v) for v in row[:3]] for row in person],
                'tags': [[float(v) for v in row[3:]] for row in person]}
               for person in r['grouped']]
    with open(os.path.join(a.dump, 'result.json'), 'w') as f:
        json.dump({'people': r['people'], 'grouped': grouped}, f)
    return {'image': a.image, 'dump': a.dump, 'people': len(r['people']),
            'baseSize': meta['baseSize'], 'center': meta['center'], 'scale': meta['scale'],
            'tagsShape': meta['tagsShape']}


def _read_f32(path, count, what):
    a = np.fromfile(path, dtype='<f4')
    if count is not None and a.size != count:
        raise SystemExit(f'reference_bottomup.py: {what} {path} has {a.size} floats, '
                         f'expected {count}')
    return a.astype(np.float32)


def cmd_parse(a):
    shape = [int(v) for v in a.shape.split(',')]
    if len(shape) != 3:
        raise SystemExit('reference_bottomup.py: --shape must be K,H,W')
    K, H, W = shape
    with open(a.config) as f:
        cfg = json.load(f)
    p = GroupingParams(cfg['grouping'], K)
    hm = _read_f32(a.heatmaps, K * H * W, '--heatmaps').reshape(1, K, H, W)
    tg = _read_f32(a.tags, None, '--tags')
    per = (K if p.tag_per_joint else 1) * H * W
    if tg.size == 0 or tg.size % per:
        raise SystemExit(f'reference_bottomup.py: --tags has {tg.size} floats, not a multiple '
                         f'of {per}')
    T = tg.size // per
    tg = tg.reshape(1, K if p.tag_per_joint else 1, H, W, T)
    if H * W < p.max_people:
        raise SystemExit(f'reference_bottomup.py: the maps need at least maxPeople '
                         f'({p.max_people}) pixels for top-k')
    adj = p.adjust and not a.no_adjust
    ref = p.refine and not a.no_refine
    ans, scores = parse(torch.from_numpy(hm), torch.from_numpy(tg), p, adj, ref)
    people = [{'keypoints': [[float(v) for v in row[:3]] for row in person],
               'tags': [[float(v) for v in row[3:]] for row in person],
               'score': float(s)} for person, s in zip(ans[0], scores)]
    return {'shape': [K, H, W], 'tagDims': T, 'adjust': adj, 'refine': ref, 'people': people}


def main(argv=None):
    ap = argparse.ArgumentParser(prog='reference_bottomup.py', description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    q = sub.add_parser('pipeline', help='the official bottom-up test pipeline on one image')
    q.add_argument('--model', required=True, help='model directory (srpose.json [+ checkpoint.pth])')
    q.add_argument('--checkpoint', default=None, help='weights instead of DIR/checkpoint.pth')
    q.add_argument('--image', required=True)
    q.add_argument('--dump', required=True, help='output directory for the arrays and JSON')
    q.add_argument('--no-flip', action='store_true', help='without the flip test')
    q = sub.add_parser('parse', help='HeatmapParser.parse on raw float32 maps')
    q.add_argument('--heatmaps', required=True, help='[1,K,H,W] float32')
    q.add_argument('--tags', required=True, help='[1,K,H,W,T] float32')
    q.add_argument('--shape', required=True, help='K,H,W')
    q.add_argument('--config', required=True, help='srpose.json (its grouping settings)')
    q.add_argument('--no-adjust', action='store_true')
    q.add_argument('--no-refine', action='store_true')
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    try:
        res = {'pipeline': cmd_pipeline, 'parse': cmd_parse}[a.cmd](a)
    except (CheckpointError, ValueError) as e:
        print(f'reference_bottomup.py: error: {e}', file=sys.stderr)
        return 2
    print(json.dumps(res))
    return 0


if __name__ == '__main__':
    sys.exit(main())
