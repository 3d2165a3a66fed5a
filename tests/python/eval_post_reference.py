"""The official top-down evaluation code, run from its source for tests/core/oks-nms.test.ts and
tests/core/pckh.test.ts.

The official SRPose files are vendored unmodified under tests/python/vendor/mmpose/ (see the
README there): nms.py (oks_iou, oks_nms, soft_oks_nms) and the COCO, CrowdPose and MPII
top-down datasets, whose `evaluate` runs here on instances made without `__init__` (no
annotation file, no COCO API): the harness sets the attributes `evaluate` reads. What the
vendored files import and this machine lacks (mmcv's registry, the dataset base class,
xtcocotools, json_tricks, scipy.io) is stubbed in sys.modules first; numpy aliases removed in
numpy 1.24 (np.float, ...) are restored here, never by editing the vendored files.

Usage: eval_post_reference.py IN.json OUT.json. IN holds any of the sections below; OUT gets
the same sections with the official results. Prints one JSON line (numpy's version and which
float32 exp it runs). NaN and masked values come back as null, infinities as 'inf' / '-inf'.

  argsort: [[v, ...]]                 -> np.array(v).argsort()[::-1] (null in v = NaN)
  exp32: [v, ...]                     -> np.exp(np.array(v, np.float32))
  iou: [{g, d, ag, ad, sigmas, visThr}]  -> oks_iou (float32 inputs as the NMS passes them)
  nms: [{soft, kpts, scores, areas, thr, maxDets, sigmas, visThr}]  -> kept indices
  evaluate: [{dataset, oksThr, visThr, softNms, useNms, sigmas, batch, images}]
                                      -> what evaluate writes to result_keypoints.json
  mpii: [{preds, bboxIds, batch, gt}]  -> name_value of TopDownMpiiDataset.evaluate
"""
import importlib.util
import json
import math
import os
import sys
import tempfile
import types

import numpy as np

# no __pycache__ beside the vendored files
sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))
VENDOR = os.path.join(HERE, 'vendor', 'mmpose')

# numpy 1.24 removed these aliases; the vendored files still name np.float (MPII's _get_db)
for _name, _type in (('float', float), ('int', int), ('bool', bool), ('object', object)):
    if _name not in np.__dict__:
        setattr(np, _name, _type)


def _module(name, package=False, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    if package:
        m.__path__ = []
    sys.modules[name] = m
    return m


class _Registry:
    def register_module(self, *args, **kwargs):
        return lambda cls: cls


class _Missing:
    """A stand-in for what `evaluate` never reaches here (COCO API objects)."""

    def __init__(self, *args, **kwargs):
        raise RuntimeError('not available in the reference harness')


_GT = {}


def _loadmat(path, *args, **kwargs):
    assert os.path.basename(path) == 'mpii_gt_val.mat', path
    return _GT['current']


def _savemat(*args, **kwargs):
    raise RuntimeError('savemat: the harness passes no res_folder')


for _name in ('mmpose', 'mmpose.core', 'mmpose.datasets', 'mmpose.datasets.datasets',
              'mmpose.datasets.datasets.top_down', 'xtcocotools', 'scipy'):
    _module(_name, package=True)
_module('mmpose.datasets.registry', DATASETS=_Registry())
_module('mmpose.datasets.datasets.top_down.topdown_base_dataset',
        TopDownBaseDataset=type('TopDownBaseDataset', (), {}))
_module('xtcocotools.coco', COCO=_Missing)
_module('xtcocotools.cocoeval', COCOeval=_Missing)
_module('json_tricks', dump=json.dump, dumps=json.dumps, load=json.load, loads=json.loads)
_module('scipy.io', loadmat=_loadmat, savemat=_savemat)


def _load(name, file):
    spec = importlib.util.spec_from_file_location(name, os.path.join(VENDOR, file))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


nms = _load('mmpose.core.post_processing.nms', 'nms.py')
_module('mmpose.core.post_processing', package=True, oks_nms=nms.oks_nms,
        soft_oks_nms=nms.soft_oks_nms, oks_iou=nms.oks_iou, nms=nms.nms)
_TD = 'mmpose.datasets.datasets.top_down.'
coco_ds = _load(_TD + 'topdown_coco_dataset', 'topdown_coco_dataset.py')
crowd_ds = _load(_TD + 'topdown_crowdpose_dataset', 'topdown_crowdpose_dataset.py')
mpii_ds = _load(_TD + 'topdown_mpii_dataset', 'topdown_mpii_dataset.py')


def clean(x):
    """JSON-safe: numpy scalars to Python, NaN and masked to None, infinities to 'inf' and
    '-inf'."""
    if x is np.ma.masked:
        return None
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return clean(x.tolist())
    if isinstance(x, (np.floating, float)):
        x = float(x)
        if math.isinf(x):
            return 'inf' if x > 0 else '-inf'
        return None if math.isnan(x) else x
    if isinstance(x, np.integer):
        return int(x)
    return x


def f32(a):
    return np.array(a, dtype=np.float32)


def kpts_db(kpts, scores, areas):
    """`kpts_db` entries as `evaluate` hands them to the NMS: float32 keypoints (K, 3) and area,
    float64 score."""
    return [{'keypoints': f32(k).reshape(-1, 3), 'score': float(s), 'area': np.float32(a)}
            for k, s, a in zip(kpts, scores, areas)]


def sigmas_of(c):
    return None if c.get('sigmas') is None else np.array(c['sigmas'], dtype=np.float64)


def run_iou(c):
    return nms.oks_iou(f32(c['g']), f32(c['d']).reshape(len(c['d']), -1), np.float32(c['ag']),
                       f32(c['ad']), sigmas_of(c), c.get('visThr'))


def run_nms(c):
    db = kpts_db(c['kpts'], c['scores'], c['areas'])
    if c['soft']:
        keep = nms.soft_oks_nms(db, c['thr'], c.get('maxDets', 20), sigmas_of(c), c.get('visThr'))
    else:
        keep = nms.oks_nms(db, c['thr'], sigmas_of(c), c.get('visThr'))
    return [int(i) for i in keep]


PREFIX = 'data/images/val/'


def run_evaluate(c):
    cls = crowd_ds.TopDownCrowdPoseDataset if c['dataset'] == 'crowdpose' else \
        coco_ds.TopDownCocoDataset
    ds = object.__new__(cls)
    k = len(c['images'][0][0]['keypoints']) // 3
    ds.ann_info = {'num_joints': k}
    ds.img_prefix = PREFIX
    ds.use_nms = c['useNms']
    ds.soft_nms = c['softNms']
    ds.oks_thr = c['oksThr']
    ds.vis_thr = c['visThr']
    # the sigmas __init__ sets: the dataset's own
    ds.sigmas = np.array(c['sigmas'], dtype=np.float64)
    ds.classes = ['__background__', 'person']
    ds._class_to_coco_ind = {'person': 1}
    ds.name2id = {}
    ds._do_python_keypoint_eval = lambda res_file: [('AP', 0.0)]
    # the people in image order, cut into batches as the model's decode returns them
    flat = []
    for i, people in enumerate(c['images']):
        image_id = 1000 + i
        ds.name2id[f'{image_id:012d}.jpg'] = image_id
        for p in people:
            flat.append((PREFIX + f'{image_id:012d}.jpg', p))
    outputs = []
    b = c['batch']
    for s in range(0, len(flat), b):
        chunk = flat[s:s + b]
        preds = np.zeros((len(chunk), k, 3), dtype=np.float32)
        boxes = np.zeros((len(chunk), 6), dtype=np.float32)
        for q, (_, p) in enumerate(chunk):
            preds[q] = f32(p['keypoints']).reshape(k, 3)
            boxes[q, 0:2] = p['center']
            boxes[q, 2:4] = p['scale']
            boxes[q, 4] = p['area']
            boxes[q, 5] = p['score']
        outputs.append({'preds': preds, 'boxes': boxes, 'image_paths': [f for f, _ in chunk],
                        'bbox_ids': [p['bboxId'] for _, p in chunk]})
    with tempfile.TemporaryDirectory() as tmp:
        ds.evaluate(outputs, tmp)
        with open(os.path.join(tmp, 'result_keypoints.json')) as f:
            return json.load(f)


def run_mpii(c):
    gt = c['gt']
    n = len(gt['joints'])
    names = gt.get('jointNames') or ['rank', 'rkne', 'rhip', 'lhip', 'lkne', 'lank', 'pelv',
                                     'thor', 'neck', 'head', 'rwri', 'relb', 'rsho', 'lsho',
                                     'lelb', 'lwri']
    # the arrays as loadmat returns them: joints-first, float64
    _GT['current'] = {
        'dataset_joints': np.array([names]),
        'jnt_missing': np.array(gt['missing'], dtype=np.float64).reshape(n, 16).T.copy(),
        'pos_gt_src': np.array(gt['joints'], dtype=np.float64).reshape(n, 16, 2)
        .transpose(1, 2, 0).copy(),
        'headboxes_src': np.array(gt['headBoxes'], dtype=np.float64).reshape(n, 2, 2)
        .transpose(1, 2, 0).copy(),
    }
    ds = object.__new__(mpii_ds.TopDownMpiiDataset)
    ds.ann_file = 'data/mpii/annotations/mpii_val.json'
    preds = f32(c['preds'])
    ids = c['bboxIds']
    b = c['batch']
    outputs = [{'preds': preds[s:s + b], 'boxes': None, 'image_paths': None,
                'bbox_ids': ids[s:s + b]} for s in range(0, len(ids), b)]
    name_value = ds.evaluate(outputs, None)
    return [[k, v] for k, v in name_value.items()]


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    out = {}
    if 'argsort' in cases:
        out['argsort'] = [
            np.array([np.nan if v is None else v for v in a], dtype=np.float64).argsort()[::-1]
            for a in cases['argsort']]
    if 'exp32' in cases:
        with np.errstate(over='ignore', under='ignore'):
            out['exp32'] = np.exp(f32(cases['exp32'])).astype(np.float64)
    if 'iou' in cases:
        out['iou'] = [run_iou(c).astype(np.float64) for c in cases['iou']]
    if 'nms' in cases:
        out['nms'] = [run_nms(c) for c in cases['nms']]
    if 'evaluate' in cases:
        out['evaluate'] = [run_evaluate(c) for c in cases['evaluate']]
    if 'mpii' in cases:
        out['mpii'] = [run_mpii(c) for c in cases['mpii']]
    with open(sys.argv[2], 'w') as f:
        json.dump(clean(out), f)
    from numpy.core._multiarray_umath import __cpu_features__ as cpu
    simd_exp = cpu.get('AVX512F', False) or (cpu.get('AVX2', False) and cpu.get('FMA3', False))
    print(json.dumps({'numpy': np.__version__, 'simdExp': bool(simd_exp)}))


if __name__ == '__main__':
    main()
