"""Helpers shared by test_hrformer.py and test_weights.py: the random-weight test models (the
ones models/make_test_models.sh left in .cache/models when they are current, else exported once
per test process into a temporary directory) and onnxruntime-web through Node."""
import atexit
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

from support import MODELS, ROOT  # noqa: E402  (puts models/ on sys.path)

import numpy as np  # noqa: E402

PY = sys.executable or '/usr/bin/python3'
EXPORT = os.path.join(MODELS, 'export.py')
ORT_RUN = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'ort_run.mjs')
NODE = shutil.which('node')
HAS_ORT = bool(NODE) and os.path.isdir(os.path.join(ROOT, 'node_modules', 'onnxruntime-web'))
VARIANTS = ('fp16', 'int8')

_exported = {}
_tmp = None


def run(*args, timeout=1200):
    return subprocess.run([PY, '-W', 'ignore', *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def run_export(*args, timeout=1200):
    return run(EXPORT, *args, timeout=timeout)


def last_json(r):
    return json.loads(r.stdout.strip().splitlines()[-1])


def exporter_stamp():
    """The stamp models/make_test_models.sh writes: sha256 of export.py + srpose_models/*.py."""
    h = hashlib.sha256()
    for path in [EXPORT] + sorted(glob.glob(os.path.join(MODELS, 'srpose_models', '*.py'))):
        with open(path, 'rb') as f:
            h.update(f.read())
    return h.hexdigest()


def _current(d):
    try:
        with open(os.path.join(d, 'exporter.sha256')) as f:
            if f.read().strip() != exporter_stamp():
                return False
        with open(os.path.join(d, 'srpose.json')) as f:
            variants = json.load(f)['onnx'].get('variants', {})
    except (OSError, ValueError, KeyError):
        return False
    files = ['model.onnx', 'srpose.json', 'checkpoint.pth'] + [v['file'] for v in variants.values()]
    return set(variants) == set(VARIANTS) and all(os.path.exists(os.path.join(d, n)) for n in files)


def get_test_model(arch):
    """(directory, export result or None): .cache/models/<arch> when make_test_models.sh made it
    from the current sources with --weights fp32,fp16,int8, else the same export (seed 0) done
    here once per process."""
    cached = os.path.join(ROOT, '.cache', 'models', arch)
    if _current(cached):
        return cached, None
    global _tmp
    if arch not in _exported:
        if _tmp is None:
            _tmp = tempfile.mkdtemp(prefix='srpose-test-models-')
            atexit.register(shutil.rmtree, _tmp, True)
        d = os.path.join(_tmp, arch)
        r = run_export('--arch', arch, '--random-init', '--seed', '0', '--out', d,
                       '--save-checkpoint', os.path.join(d, 'checkpoint.pth'),
                       '--weights', 'fp32,fp16,int8',
                       *(['--recommend', 'fp32'] if arch == 'res50' else []))  # as make_test_models.sh
        _exported[arch] = (d, r)
    return _exported[arch]


def ort_run(onnx_path, x, tmp):
    """onnxruntime-web (WASM, in Node) output of the model on x (numpy float32)."""
    inp = os.path.join(tmp, 'ort-in.f32')
    out = os.path.join(tmp, 'ort-out.f32')
    np.ascontiguousarray(x, '<f4').tofile(inp)
    r = subprocess.run([NODE, ORT_RUN, onnx_path, inp, ','.join(map(str, x.shape)), out],
                       cwd=ROOT, capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise AssertionError(f'ort_run.mjs exited {r.returncode}: {r.stderr[-2000:]}')
    dims = json.loads(r.stdout.strip().splitlines()[-1])['dims']
    return np.fromfile(out, '<f4').reshape(dims)
