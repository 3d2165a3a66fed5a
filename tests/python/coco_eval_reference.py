"""The reference COCO keypoint metrics, run from their unmodified sources in vendor/.

Usage: /usr/bin/python3 tests/python/coco_eval_reference.py SPEC.json

SPEC.json: {"cases": [{"flavour": F, "gt": <COCO ground truth>, "sigmas": [..] or null,
                       "sets": [{"name": str, "results": [<COCO keypoint results>]}]}]}
F is one of:
  xtcocotools        xtcocotools COCOeval(gt, dt, 'keypoints', sigmas) as mmpose 0.x calls it
  pycocotools        cocoapi COCOeval(gt, dt, 'keypoints'), params.kpt_oks_sigmas = sigmas
  crowdpose          crowdposetools COCOeval(gt, dt, 'keypoints') (its sigmas are fixed)
  xtcocotools-crowd  xtcocotools COCOeval(gt, dt, 'keypoints_crowd', sigmas, use_area=False),
                     mmpose's CrowdPose evaluation

Prints one JSON line: {"iouThrs": {F: [...]}, "recThrs": {F: [...]}, "cases": [{"sets":
[{"name", "stats"} or {"name", "error"}]}]}, floats as repr (exact). COCO stats are the ten of
_summarizeKps; CrowdPose's in mmpose's order AP, AP .5, AP .75, AR, AR .5, AR .75, AP(E),
AP(M), AP(H) (crowdposetools' stats[0, 1, 2, 5, 6, 7, 8, 9, 10]; its [3] and [4] are never set).
A set on which the reference raises (a result on an image outside the ground truth, an empty
result list for pycocotools) reports the exception instead.

Like mmpose, every evaluation reads the ground truth and the results from files (written to a
temporary directory): crowdposetools' loadRes accepts nothing else under Python 3, and its
crowd levels re-read the ground-truth file.
"""
import contextlib
import importlib.util
import io
import json
import math
import os
import sys
import tempfile
import types

import numpy as np

VENDOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'vendor')


def _refusing_module(name, why):
    """A module whose every attribute is a function that raises: never called for keypoints."""
    module = types.ModuleType(name)

    def __getattr__(attr):
        if attr.startswith('__'):
            raise AttributeError(attr)

        def refuse(*_args, **_kwargs):
            raise RuntimeError(f'{name}.{attr} called: {why}')

        return refuse

    module.__getattr__ = __getattr__
    return module


def _install_stubs():
    # coco.py imports matplotlib for showAnns only (not installed here); always the stub, so the
    # references run the same with or without it
    why = 'the reference harness does not draw'
    mpl = _refusing_module('matplotlib', why)
    for sub in ('pyplot', 'collections', 'patches'):
        stub = _refusing_module(f'matplotlib.{sub}', why)
        sys.modules[f'matplotlib.{sub}'] = stub
        setattr(mpl, sub, stub)
    sys.modules['matplotlib'] = mpl
    # np.float, removed in numpy 1.24, is what pycocotools' and crowdposetools' accumulate
    # cast with: patched here, never in the vendored files
    if 'float' not in np.__dict__:
        np.float = float


def _load(package):
    """vendor/<package>/{coco,cocoeval}.py as a private package, `mask` stubbed."""
    name = f'_srpose_reference_{package}'
    pkg = types.ModuleType(name)
    pkg.__path__ = [os.path.join(VENDOR, package)]
    sys.modules[name] = pkg
    # their compiled mask module (RLE, IoU of boxes and masks) is not built: keypoint
    # evaluation never calls it, and the stub raises if it did
    mask = _refusing_module(f'{name}.mask', 'masks are not part of keypoint evaluation')
    sys.modules[f'{name}.mask'] = mask
    pkg.mask = mask
    for mod in ('coco', 'cocoeval'):
        spec = importlib.util.spec_from_file_location(
            f'{name}.{mod}', os.path.join(VENDOR, package, f'{mod}.py'))
        module = importlib.util.module_from_spec(spec)
        sys.modules[f'{name}.{mod}'] = module
        spec.loader.exec_module(module)
        setattr(pkg, mod, module)
    return pkg


CROWDPOSE_SIGMAS = np.array(
    [.79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89, .79, .79]) / 10.0


def _evaluate(refs, flavour, gt_file, res_file, sigmas):
    if flavour in ('xtcocotools', 'xtcocotools-crowd'):
        ref = refs['xtcocotools']
        coco = ref.coco.COCO(gt_file)
        det = coco.loadRes(res_file)
        if flavour == 'xtcocotools':
            ev = ref.cocoeval.COCOeval(coco, det, 'keypoints', sigmas)
        else:
            ev = ref.cocoeval.COCOeval(
                coco, det, 'keypoints_crowd',
                CROWDPOSE_SIGMAS if sigmas is None else sigmas, use_area=False)
    elif flavour == 'pycocotools':
        ref = refs['pycocotools']
        coco = ref.coco.COCO(gt_file)
        det = coco.loadRes(res_file)
        ev = ref.cocoeval.COCOeval(coco, det, 'keypoints')
        if sigmas is not None:
            ev.params.kpt_oks_sigmas = sigmas
    elif flavour == 'crowdpose':
        ref = refs['crowdposetools']
        coco = ref.coco.COCO(gt_file)
        det = coco.loadRes(res_file)
        ev = ref.cocoeval.COCOeval(coco, det, 'keypoints')
    else:
        raise ValueError(f'unknown flavour {flavour}')
    ev.params.useSegm = None
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    # NaN (np.mean of nothing) is no JSON: it goes out as the string 'nan'
    stats = [float(v) if math.isfinite(v) else repr(float(v)) for v in ev.stats]
    if flavour == 'crowdpose':
        stats = [stats[i] for i in (0, 1, 2, 5, 6, 7, 8, 9, 10)]
    return stats


def main(spec_file):
    _install_stubs()
    refs = {p: _load(p) for p in ('xtcocotools', 'pycocotools', 'crowdposetools')}
    with open(spec_file) as f:
        spec = json.load(f)
    out = {'iouThrs': {}, 'recThrs': {}, 'cases': []}
    for flavour, ref in refs.items():
        params = ref.cocoeval.Params(iouType='keypoints')
        out['iouThrs'][flavour] = params.iouThrs.tolist()
        out['recThrs'][flavour] = params.recThrs.tolist()
    with tempfile.TemporaryDirectory(prefix='srpose-coco-eval-') as tmp:
        gt_file = os.path.join(tmp, 'gt.json')
        res_file = os.path.join(tmp, 'results.json')
        for case in spec['cases']:
            with open(gt_file, 'w') as f:
                json.dump(case['gt'], f)
            sigmas = None if case.get('sigmas') is None else np.array(case['sigmas'])
            sets = []
            for s in case['sets']:
                with open(res_file, 'w') as f:
                    json.dump(s['results'], f)
                try:
                    # the references print progress and summaries: the JSON line alone goes out
                    with contextlib.redirect_stdout(io.StringIO()):
                        stats = _evaluate(refs, case['flavour'], gt_file, res_file, sigmas)
                    sets.append({'name': s['name'], 'stats': stats})
                except Exception as e:  # the reference's own failure is the expected answer
                    sets.append({'name': s['name'], 'error': f'{type(e).__name__}: {e}'})
            out['cases'].append({'sets': sets})
    print(json.dumps(out))


if __name__ == '__main__':
    main(sys.argv[1])
