#!/usr/bin/env python3
"""Reference YOLOX inference, written from the official semantics (Megvii-BaseDetection/YOLOX:
``ValTransform`` / ``preproc``, the model with ``decode_in_inference``, ``postprocess`` as the
COCO evaluator calls it, boxes divided by the resize ratio as in ``tools/demo.py``).

    python3 models/yolox/reference.py --arch yolox_nano (--checkpoint FILE | --random-init
        --seed N) [--legacy] --images a.jpg b.jpg --out out.json [--dump DIR]
        [--conf 0.01] [--nms 0.65] [--class-agnostic]

out.json: {"arch", "legacy", "input": {"width", "height"}, "conf", "nms", "classAgnostic",
"images": [{"path", "width", "height", "ratio", "resized": [w, h], "inputSha256",
"candidates", "detections": [[x1, y1, x2, y2, score, class], ...], "persons": [...]}]}.
``inputSha256`` hashes the letterboxed input, float32 little-endian [1,3,H,W]; ``--dump DIR``
also writes it (``<i>.input.f32``) and the decoded network output (``<i>.output.f32``,
[1,A,85]). Detections are in original-image pixels (not clipped), score = objectness x class
score (float32, as the official code), ordered as ``postprocess`` returns them (descending
score); ``persons`` keeps the class-0 rows of ``detections`` (NMS ran over all classes first).
"""
import argparse
import hashlib
import json
import os
import sys

if __package__ in (None, ''):  # run as a script: import the package from models/
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    __package__ = 'yolox'  # noqa: A001

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torchvision  # noqa: E402

# the exps' test settings (yolox_base.Exp)
TEST_CONF = 0.01
NMS_THRESHOLD = 0.65
PAD_VALUE = 114
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
PERSON = 0


def preprocess(img, size, legacy=False):
    """Letterbox as ``ValTransform``: -> (float32 [3,H,W], ratio).

    ``img`` is BGR uint8 [h,w,3] (cv2.imread). Scaled by r = min(H/h, W/w) to
    (floor(w*r), floor(h*r)) with bilinear cv2.resize, placed top-left on an H x W canvas of
    114, channels first, BGR 0..255. Legacy (checkpoints before 0.1.1rc0): RGB, /255, minus the
    ImageNet mean, over its std, each step rounded to float32 as numpy does it in place.
    """
    th, tw = size
    h, w = img.shape[:2]
    r = min(th / h, tw / w)
    nw, nh = int(w * r), int(h * r)
    canvas = np.full((th, tw, 3), PAD_VALUE, np.uint8)
    canvas[:nh, :nw] = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
    x = np.ascontiguousarray(canvas.transpose(2, 0, 1), dtype=np.float32)
    if legacy:
        x = x[::-1].copy()
        x /= 255.0
        x -= np.array(MEAN).reshape(3, 1, 1)
        x /= np.array(STD).reshape(3, 1, 1)
    return x, r


def postprocess(output, num_classes=80, conf_thre=TEST_CONF, nms_thre=NMS_THRESHOLD,
                class_agnostic=False):
    """Decoded output [N,A,5+C] -> per image a float32 tensor [k,7] (x1, y1, x2, y2, obj,
    class score, class) in input pixels, or None when nothing passes.

    As the official ``postprocess``: the class is the argmax of the class scores; rows with
    obj * class score >= conf_thre (float32) survive; NMS by torchvision, per class
    (``batched_nms``) unless ``class_agnostic``, with IoU > nms_thre suppressing; kept rows in
    the order torchvision returns them (descending score).
    """
    out = torch.as_tensor(output)
    results = []
    for pred in out:
        cx, cy, w, h = pred[:, 0], pred[:, 1], pred[:, 2], pred[:, 3]
        corners = torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
        cls_score, cls_id = pred[:, 5:5 + num_classes].max(1)
        score = pred[:, 4] * cls_score
        keep = score >= conf_thre
        if not bool(keep.any()):
            results.append(None)
            continue
        rows = torch.cat([corners, pred[:, 4:5], cls_score[:, None], cls_id[:, None].float()],
                         1)[keep]
        s = rows[:, 4] * rows[:, 5]
        if class_agnostic:
            idx = torchvision.ops.nms(rows[:, :4], s, nms_thre)
        else:
            idx = torchvision.ops.batched_nms(rows[:, :4], s, rows[:, 6], nms_thre)
        results.append(rows[idx])
    return results


def to_image(dets, ratio):
    """[k,7] in input pixels -> [[x1, y1, x2, y2, score, class]] in image pixels (float64
    values of the float32 results: boxes / ratio and obj * class score, as the demo)."""
    if dets is None:
        return []
    boxes = dets[:, :4] / ratio
    score = dets[:, 4] * dets[:, 5]
    return [[*map(float, b), float(s), int(c)]
            for b, s, c in zip(boxes.tolist(), score.tolist(), dets[:, 6].tolist())]


def build(arch, checkpoint=None, seed=None, legacy=False):
    """The PyTorch model of ``arch`` with the checkpoint's or the seed's weights."""
    from .checkpoint import load_checkpoint, random_init
    from .model import build_model
    model = build_model(arch)
    if checkpoint:
        load_checkpoint(model, checkpoint, arch)
    else:
        random_init(model, seed, legacy)
    return model.eval()


@torch.no_grad()
def detect(model, img, size, legacy=False, conf=TEST_CONF, nms=NMS_THRESHOLD,
           class_agnostic=False):
    """The whole pipeline on one BGR image: dict with the input, output and detections."""
    x, r = preprocess(img, size, legacy)
    y = model(torch.from_numpy(x)[None])
    dets = postprocess(y, model.head.num_classes, conf, nms, class_agnostic)[0]
    found = to_image(dets, r)
    return {'input': x, 'output': y.numpy(), 'ratio': r, 'detections': found,
            'persons': [d for d in found if d[5] == PERSON],
            'candidates': int(((y[0, :, 4] * y[0, :, 5:].max(1)[0]) >= conf).sum())}


def parse_args(argv):
    from .model import ARCHS
    p = argparse.ArgumentParser(prog='reference.py', description=__doc__.split('\n')[0])
    p.add_argument('--arch', required=True, choices=sorted(ARCHS))
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument('--checkpoint', help='official .pth ({"model": ...}) or a bare state dict')
    src.add_argument('--random-init', action='store_true', help='the exporter\'s seeded weights')
    p.add_argument('--seed', type=int, default=None)
    p.add_argument('--legacy', action='store_true', help='pre-0.1.1rc0 input normalisation')
    p.add_argument('--images', nargs='+', required=True)
    p.add_argument('--out', required=True, help='JSON file to write')
    p.add_argument('--dump', default=None, help='directory for <i>.input.f32 / <i>.output.f32')
    p.add_argument('--conf', type=float, default=TEST_CONF)
    p.add_argument('--nms', type=float, default=NMS_THRESHOLD)
    p.add_argument('--class-agnostic', action='store_true')
    a = p.parse_args(argv)
    if a.random_init and a.seed is None:
        p.error('--random-init needs --seed N')
    return a


def main(argv=None):
    from .checkpoint import CheckpointError
    from .model import ARCHS
    args = parse_args(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    try:
        model = build(args.arch, args.checkpoint, args.seed, args.legacy)
    except CheckpointError as e:
        print(f'reference.py: error: {e}', file=sys.stderr)
        return 2
    size = ARCHS[args.arch]['input_size']
    if args.dump:
        os.makedirs(args.dump, exist_ok=True)
    images = []
    for i, path in enumerate(args.images):
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            print(f'reference.py: error: cannot read image {path}', file=sys.stderr)
            return 2
        res = detect(model, img, size, args.legacy, args.conf, args.nms, args.class_agnostic)
        x = np.ascontiguousarray(res['input'][None], '<f4')
        if args.dump:
            x.tofile(os.path.join(args.dump, f'{i}.input.f32'))
            np.ascontiguousarray(res['output'], '<f4').tofile(
                os.path.join(args.dump, f'{i}.output.f32'))
        h, w = img.shape[:2]
        images.append({'path': path, 'width': w, 'height': h, 'ratio': res['ratio'],
                       'resized': [int(w * res['ratio']), int(h * res['ratio'])],
                       'inputSha256': hashlib.sha256(x.tobytes()).hexdigest(),
                       'candidates': res['candidates'], 'detections': res['detections'],
                       'persons': res['persons']})
    result = {'arch': args.arch, 'legacy': args.legacy,
              'input': {'width': size[1], 'height': size[0]}, 'conf': args.conf,
              'nms': args.nms, 'classAgnostic': args.class_agnostic, 'images': images}
    with open(args.out, 'w') as f:
        json.dump(result, f)
        f.write('\n')
    print(json.dumps({'out': args.out, 'images': len(images),
                      'detections': [len(i['detections']) for i in images],
                      'persons': [len(i['persons']) for i in images]}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
