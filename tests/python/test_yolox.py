"""Tests of the YOLOX detector: models/yolox (network, checkpoints, reference pipeline) and
models/export_yolox.py. yolox_nano at random init, seed 0; photos from ../shared/data.

Run from the repository root:
    /usr/bin/python3 -m unittest tests/python/test_yolox.py -v
"""
import collections
import contextlib
import functools
import glob
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:  # also runnable as `python3 -m unittest tests/python/test_yolox.py`
    sys.path.insert(0, HERE)

from support import MODELS, ROOT  # noqa: E402  (puts models/ on sys.path)

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402

from model_cache import HAS_ORT, ort_run  # noqa: E402  (onnxruntime-web through Node)
from yolox import ARCHS, build_model, num_anchors  # noqa: E402
from yolox import reference as ref  # noqa: E402
from yolox.checkpoint import CheckpointError, load_checkpoint, random_init  # noqa: E402

PY = sys.executable or '/usr/bin/python3'
EXPORT = os.path.join(MODELS, 'export_yolox.py')
DATA = os.path.normpath(os.path.join(ROOT, '..', 'shared', 'data'))
PHOTOS = sorted(glob.glob(os.path.join(DATA, d, '*.jpg')) for d in ('coco', 'crowdpose', 'mpii'))
PHOTOS = [p for group in PHOTOS for p in group]
needs_photos = unittest.skipUnless(
    PHOTOS, f'no photos in {DATA} (../shared/data/{{coco,crowdpose,mpii}}/*.jpg beside the repo)')
torch.set_num_threads(2)
F32 = np.float32


def start_export(*args):
    return subprocess.Popen([PY, '-W', 'ignore', EXPORT, *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(proc):
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@functools.lru_cache(maxsize=None)
def seeded_state():
    """The weights of --random-init --seed 0 (yolox_nano), computed once per run."""
    return random_init(build_model('yolox_nano'), 0).state_dict()


def seeded_model():
    m = build_model('yolox_nano')
    m.load_state_dict(seeded_state())
    return m.eval()


def n_params(model):
    return sum(p.numel() for p in model.parameters())


class ModelTest(unittest.TestCase):
    """Structure against the official code (numbers from the official modules; see
    models/README.md for the comparison run against the YOLOX source)."""

    def test_official_parameter_and_key_counts(self):
        # params: YOLOX README 0.91M / 5.06M / 9.0M / 25.3M
        want = {'yolox_nano': (912_159, 642), 'yolox_tiny': (5_055_855, 462),
                'yolox_s': (8_968_255, 462), 'yolox_m': (25_326_495, 606)}
        for arch, (params, keys) in want.items():
            m = build_model(arch)
            self.assertEqual((n_params(m), len(m.state_dict())), (params, keys), arch)
            eps = {b.eps for b in m.modules() if isinstance(b, torch.nn.BatchNorm2d)}
            self.assertEqual(eps, {1e-3}, arch)

    def test_official_names_and_shapes(self):
        sd = build_model('yolox_nano').state_dict()
        shapes = {
            'backbone.backbone.stem.conv.conv.weight': (16, 12, 3, 3),  # Focus: 4 x 3 channels
            'backbone.backbone.dark2.0.dconv.conv.weight': (16, 1, 3, 3),  # depthwise (nano)
            'backbone.backbone.dark2.0.pconv.bn.running_var': (32,),
            'backbone.backbone.dark3.1.m.2.conv2.pconv.conv.weight': (32, 32, 1, 1),
            'backbone.backbone.dark5.1.conv2.conv.weight': (256, 512, 1, 1),  # SPP
            'backbone.backbone.dark5.2.conv3.bn.num_batches_tracked': (),
            'backbone.lateral_conv0.conv.weight': (128, 256, 1, 1),
            'backbone.C3_p4.m.0.conv2.dconv.conv.weight': (64, 1, 3, 3),
            'backbone.bu_conv1.pconv.conv.weight': (128, 128, 1, 1),
            'head.stems.2.conv.weight': (64, 256, 1, 1),
            'head.cls_convs.0.1.dconv.conv.weight': (64, 1, 3, 3),
            'head.cls_preds.0.weight': (80, 64, 1, 1),
            'head.reg_preds.1.bias': (4,),
            'head.obj_preds.2.weight': (1, 64, 1, 1),
        }
        for k, s in shapes.items():
            self.assertEqual(tuple(sd[k].shape), s, k)
        # the official registration order (checkpoints list their keys in it)
        heads = [k.split('.')[1] for k in sd if k.startswith('head.')]
        self.assertEqual(list(dict.fromkeys(heads)),
                         ['cls_convs', 'reg_convs', 'cls_preds', 'reg_preds', 'obj_preds', 'stems'])
        s = build_model('yolox_s').state_dict()
        self.assertEqual(tuple(s['backbone.backbone.dark2.0.conv.weight'].shape), (64, 32, 3, 3))
        # dark3 / dark4 hold 3 x max(round(3 * depth), 1) bottlenecks: 3 (s), 6 (m)
        for arch, n in (('yolox_s', 3), ('yolox_m', 6)):
            sd = build_model(arch).state_dict()
            self.assertEqual(len({k.split('.')[5] for k in sd
                                  if k.startswith('backbone.backbone.dark4.1.m.')}), n, arch)
        with self.assertRaises(ValueError):
            build_model('yolox_l')

    def test_decoded_output_layout(self):
        """[1, A, 85]: anchors stride 8, 16, 32, each level row-major; cx, cy = (p + (x, y)) *
        stride, w, h = exp(p) * stride, then sigmoid objectness and class scores."""
        m = seeded_model()
        x = torch.from_numpy(np.random.RandomState(0).randint(0, 256, (1, 3, 416, 416)).astype(F32))
        with torch.no_grad():
            y = m(x)[0].numpy()
            raw = m.head.raw(m.backbone(x))
        self.assertEqual(y.shape, (num_anchors('yolox_nano'), 85))
        self.assertEqual(y.shape[0], 52 * 52 + 26 * 26 + 13 * 13)
        i = 0
        for (box, obj, cls), s in zip(raw, (8, 16, 32)):
            h, w = box.shape[2:]
            for yy, xx in ((0, 0), (0, w - 1), (h - 1, 0), (h // 2, w // 3), (h - 1, w - 1)):
                row = y[i + yy * w + xx]
                b = box[0, :, yy, xx].numpy()
                np.testing.assert_allclose(row[:2], (b[:2] + [xx, yy]) * s, rtol=1e-6, atol=1e-5)
                np.testing.assert_allclose(row[2:4], np.exp(b[2:4]) * s, rtol=1e-5)
                np.testing.assert_allclose(row[4], torch.sigmoid(obj[0, 0, yy, xx]).item(),
                                           rtol=1e-6)
                np.testing.assert_allclose(row[5:], torch.sigmoid(cls[0, :, yy, xx]).numpy(),
                                           rtol=1e-6)
            i += h * w
        self.assertEqual(i, y.shape[0])


class RandomInitTest(unittest.TestCase):
    def test_seeds(self):
        # same seed, same weights: ExportTest compares the exporter's saved checkpoint (another
        # process) with seeded_state(); here another seed gives other weights, BN statistics
        # from the calibration pass, eps 1e-3
        a = seeded_state()
        c = random_init(build_model('yolox_nano'), 1).state_dict()
        self.assertFalse(torch.equal(a['head.cls_preds.0.weight'], c['head.cls_preds.0.weight']))
        self.assertFalse(torch.all(a['backbone.backbone.dark3.1.conv1.bn.running_var'] == 1))


class CheckpointTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix='yolox-ckpt-')
        cls.sd = seeded_state()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def test_official_layout_and_bare_state_dict_load(self):
        # official .pth: "model" plus plain fields (start_epoch, optimizer, ...)
        torch.save({'model': self.sd, 'start_epoch': 300, 'optimizer': {'state': {}}},
                   self.path('official.pth'))
        torch.save(collections.OrderedDict(self.sd), self.path('bare.pth'))
        for name in ('official.pth', 'bare.pth'):
            m = load_checkpoint(build_model('yolox_nano'), self.path(name), 'yolox_nano')
            got = m.state_dict()
            self.assertTrue(all(torch.equal(got[k], self.sd[k]) for k in self.sd), name)

    def test_renamed_key_is_refused_with_both_names(self):
        sd = collections.OrderedDict(
            ('head.cls_pred.0.weight' if k == 'head.cls_preds.0.weight' else k, v)
            for k, v in self.sd.items())
        torch.save({'model': sd, 'start_epoch': 0}, self.path('renamed.pth'))
        with self.assertRaises(CheckpointError) as cm:
            load_checkpoint(build_model('yolox_nano'), self.path('renamed.pth'), 'yolox_nano')
        msg = str(cm.exception)
        self.assertIn("arch 'yolox_nano'", msg)
        self.assertIn('1 missing, 1 unexpected, 0 shape mismatches', msg)
        self.assertIn('head.cls_preds.0.weight', msg)
        self.assertIn('head.cls_pred.0.weight', msg)
        # the CLI's exit status 2: ExportTest.test_renamed_key_exits_2
        # a tiny model's weights are refused by the nano (shapes and depthwise keys differ)
        with self.assertRaises(CheckpointError) as cm:
            m = build_model('yolox_nano')
            torch.save({'model': build_model('yolox_tiny').state_dict()}, self.path('tiny.pth'))
            load_checkpoint(m, self.path('tiny.pth'), 'yolox_nano')
        self.assertIn('shape mismatches', str(cm.exception))


EXPECTED_INPUT = {'width': 416, 'height': 416, 'colorOrder': 'BGR', 'pixelScale': 1,
                  'mean': [0, 0, 0], 'std': [1, 1, 1], 'padValue': 114, 'legacy': False}
EXPECTED_DECODE = {'strides': [8, 16, 32], 'scoreThreshold': 0.01, 'nmsThreshold': 0.65,
                   'classAware': True}


class ExportTest(unittest.TestCase):
    """--random-init --save-checkpoint, then --checkpoint of that file (yolox_nano, seed 0)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix='yolox-export-')
        cls.a = os.path.join(cls.tmp.name, 'a')
        cls.b = os.path.join(cls.tmp.name, 'b')
        cls.ckpt = os.path.join(cls.a, 'checkpoint.pth')
        cls.bad = os.path.join(cls.tmp.name, 'renamed.pth')
        sd = collections.OrderedDict(
            ('head.cls_pred.0.weight' if k == 'head.cls_preds.0.weight' else k, v)
            for k, v in build_model('yolox_nano').state_dict().items())
        torch.save({'model': sd, 'start_epoch': 0}, cls.bad)
        # the refused checkpoint runs beside the first export (2 cores, the tests' budget)
        p1 = start_export('--arch', 'yolox_nano', '--random-init', '--seed', '0', '--out', cls.a,
                          '--save-checkpoint', cls.ckpt)
        p_bad = start_export('--arch', 'yolox_nano', '--checkpoint', cls.bad, '--out',
                             os.path.join(cls.tmp.name, 'bad'))
        cls.r_bad = finish(p_bad)
        cls.r1 = finish(p1)
        cls.r2 = finish(start_export('--arch', 'yolox_nano', '--checkpoint', cls.ckpt,
                                     '--out', cls.b))
        cls.contracts = []
        for d in (cls.a, cls.b):
            with open(os.path.join(d, 'srpose.json')) as f:
                cls.contracts.append(json.load(f))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_renamed_key_exits_2(self):
        r = self.r_bad
        self.assertEqual(r.returncode, 2, r.stderr[-2000:])
        self.assertIn("arch 'yolox_nano'", r.stderr)
        self.assertIn('missing keys (1)', r.stderr)
        self.assertIn('head.cls_preds.0.weight', r.stderr)
        self.assertIn('unexpected keys (1)', r.stderr)
        self.assertIn('head.cls_pred.0.weight', r.stderr)
        self.assertNotIn('Traceback', r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp.name, 'bad', 'model.onnx')))

    def test_round_trip_gives_the_same_onnx_bytes(self):
        self.assertEqual(self.r1.returncode, 0, self.r1.stderr[-3000:])
        self.assertEqual(self.r2.returncode, 0, self.r2.stderr[-3000:])
        with open(os.path.join(self.a, 'model.onnx'), 'rb') as f:
            da = f.read()
        with open(os.path.join(self.b, 'model.onnx'), 'rb') as f:
            db = f.read()
        self.assertEqual(hashlib.sha256(da).hexdigest(), hashlib.sha256(db).hexdigest())
        self.assertEqual(json.loads(self.r1.stdout.strip().splitlines()[-1])['params'], 912_159)

    def test_saved_checkpoint_is_the_official_layout(self):
        obj = torch.load(self.ckpt, map_location='cpu')
        self.assertEqual(set(obj), {'model', 'start_epoch'})
        m = build_model('yolox_nano')
        m.load_state_dict(obj['model'], strict=True)
        seeded = seeded_state()
        self.assertTrue(all(torch.equal(obj['model'][k], seeded[k]) for k in seeded))

    def test_contract(self):
        a, b = self.contracts
        self.assertEqual(list(a), ['format', 'kind', 'family', 'name', 'arch', 'source', 'onnx',
                                   'input', 'classes', 'decode'])
        self.assertEqual((a['format'], a['kind'], a['family'], a['name'], a['arch']),
                         ('srpose-detector/1', 'detector', 'yolox', 'yolox_nano_coco_416',
                          'yolox_nano'))
        self.assertEqual(set(a['source']), {'repository', 'checkpoint', 'checkpointSha256',
                                            'randomInit', 'exporter', 'command', 'torch', 'opset'})
        self.assertEqual(a['source']['repository'], 'Megvii-BaseDetection/YOLOX')
        self.assertEqual(a['source']['randomInit'], {'seed': 0})
        self.assertIsNone(a['source']['checkpoint'])
        self.assertIsNone(a['source']['checkpointSha256'])
        self.assertEqual(a['source']['exporter'], 'models/export_yolox.py')
        self.assertEqual(a['source']['torch'], torch.__version__)
        self.assertEqual(a['source']['opset'], 17)
        self.assertIn('--random-init', a['source']['command'])
        with open(os.path.join(self.a, 'model.onnx'), 'rb') as f:
            data = f.read()
        self.assertEqual(a['onnx'], {'file': 'model.onnx',
                                     'sha256': hashlib.sha256(data).hexdigest(),
                                     'bytes': len(data), 'input': 'images', 'output': 'output',
                                     'outputFormat': 'yolox-decoded'})
        self.assertEqual(a['input'], EXPECTED_INPUT)
        self.assertEqual(a['classes'], {'count': 80, 'person': 0})
        self.assertEqual(a['decode'], EXPECTED_DECODE)
        with open(self.ckpt, 'rb') as f:
            self.assertEqual(b['source']['checkpointSha256'], hashlib.sha256(f.read()).hexdigest())
        self.assertEqual(b['source']['checkpoint'], 'checkpoint.pth')
        self.assertIsNone(b['source']['randomInit'])
        self.assertEqual(a['onnx'], b['onnx'])

    def test_legacy_contract(self):
        import export_yolox
        args = export_yolox.parse_args(['--arch', 'yolox_s', '--random-init', '--seed', '0',
                                        '--out', 'x', '--legacy'])
        c = export_yolox.contract(args, os.path.join(self.a, 'model.onnx'), None)
        self.assertEqual(c['name'], 'yolox_s_coco_640')
        self.assertEqual(c['input'], {'width': 640, 'height': 640, 'colorOrder': 'RGB',
                                      'pixelScale': 0.00392156862745098,
                                      'mean': [0.485, 0.456, 0.406], 'std': [0.229, 0.224, 0.225],
                                      'padValue': 114, 'legacy': True})
        self.assertEqual(c['decode'], EXPECTED_DECODE)

    def test_onnx_interface(self):
        m = onnx.load(os.path.join(self.a, 'model.onnx'))
        onnx.checker.check_model(m)
        self.assertEqual([o.version for o in m.opset_import if o.domain in ('', 'ai.onnx')], [17])
        dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]  # noqa: E731
        self.assertEqual([(i.name, dims(i)) for i in m.graph.input], [('images', [1, 3, 416, 416])])
        self.assertEqual([(o.name, dims(o)) for o in m.graph.output], [('output', [1, 3549, 85])])
        self.assertEqual(m.graph.output[0].type.tensor_type.elem_type, onnx.TensorProto.FLOAT)
        ops = collections.Counter(n.op_type for n in m.graph.node)
        self.assertEqual(ops['Exp'], 1)       # the wh decode
        self.assertEqual(ops['MaxPool'], 3)   # SPP
        self.assertEqual(ops['Resize'], 2)    # PAFPN upsampling, nearest

    @needs_photos
    @unittest.skipUnless(HAS_ORT, 'node or node_modules/onnxruntime-web missing (npm ci)')
    def test_onnxruntime_equals_pytorch_on_a_photo(self):
        x, _ = ref.preprocess(cv2.imread(PHOTOS[0]), (416, 416))
        model = seeded_model()
        with torch.no_grad():
            want = model(torch.from_numpy(x)[None]).numpy()[0]
        got = ort_run(os.path.join(self.a, 'model.onnx'), x[None], self.tmp.name)[0]
        self.assertEqual(got.shape, want.shape)
        # relative, with the stride as the floor of the box columns (cx = (p + x) * stride: a
        # cell-0 centre near 0 px carries the error of p times the stride) and 1 for the scores
        strides = np.repeat([8.0, 16.0, 32.0], [52 * 52, 26 * 26, 13 * 13])[:, None]
        floor = np.concatenate([np.repeat(strides, 4, 1), np.ones((len(got), 81))], 1)
        rel = np.abs(got - want) / np.maximum(np.abs(want), floor)
        self.assertLess(rel.max(), 1e-4)
        # and the detections agree
        a = ref.postprocess(torch.from_numpy(got)[None])[0]
        b = ref.postprocess(torch.from_numpy(want)[None])[0]
        self.assertEqual(a[:, 6].tolist(), b[:, 6].tolist())
        np.testing.assert_allclose(a[:, :4].numpy(), b[:, :4].numpy(), rtol=1e-4, atol=1e-3)


class PreprocessTest(unittest.TestCase):
    def check(self, img, size, expect_ratio, expect_wh):
        x, r = ref.preprocess(img, size)
        h, w = img.shape[:2]
        th, tw = size
        # independently: ratio, floored size, bilinear resize top-left, 114 to the right/bottom
        self.assertEqual(r, min(th / h, tw / w))
        self.assertAlmostEqual(r, expect_ratio, places=12)
        nw, nh = int(np.floor(w * r)), int(np.floor(h * r))
        self.assertEqual((nw, nh), expect_wh)
        want = np.full((th, tw, 3), 114, np.uint8)
        want[:nh, :nw] = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
        self.assertEqual(x.dtype, np.float32)
        self.assertEqual(x.shape, (3, th, tw))
        np.testing.assert_array_equal(x, want.transpose(2, 0, 1).astype(F32))  # BGR, 0..255
        self.assertTrue((x[:, nh:, :] == 114).all() and (x[:, :, nw:] == 114).all())
        return x, r

    @needs_photos
    def test_landscape_photo(self):
        img = cv2.imread(os.path.join(DATA, 'coco', '000000000785.jpg'))
        self.assertEqual(img.shape, (425, 640, 3))
        x, _ = self.check(img, (416, 416), 0.65, (416, 276))  # 425 * 0.65 = 276.25: floored
        self.assertFalse((x[:, 275, :] == 114).all())          # last image row
        self.assertTrue((x[:, 276, :] == 114).all())           # first pad row

    @needs_photos
    def test_portrait_photo_pads_the_right(self):
        img = np.ascontiguousarray(cv2.imread(os.path.join(DATA, 'coco', '000000000785.jpg'))
                                   .transpose(1, 0, 2))  # 640 x 425
        self.check(img, (640, 640), 1.0, (425, 640))  # no resize, pad 215 columns
        self.check(img, (416, 416), 0.65, (276, 416))

    def test_products_just_below_an_integer_are_floored(self):
        # 720 * (416 / 720) = 415.99999999999994 in doubles: the official int() gives 415, so a
        # 720 x 720 photo is resized to 415 x 415 and keeps a 1-pixel band of 114 on the right
        # and at the bottom (the same for heights 165, 180, 360, 369, ... at 416)
        self.assertEqual(720 * (416 / 720), 415.99999999999994)
        img = np.random.RandomState(1).randint(0, 256, (720, 720, 3)).astype(np.uint8)
        x, _ = self.check(img, (416, 416), 416 / 720, (415, 415))
        self.assertTrue((x[:, 415, :] == 114).all() and (x[:, :, 415] == 114).all())
        img = np.random.RandomState(2).randint(0, 256, (1000, 999, 3)).astype(np.uint8)
        self.check(img, (416, 416), 0.416, (415, 416))  # 999 * 0.416 = 415.584

    def test_legacy_normalisation(self):
        img = np.random.RandomState(3).randint(0, 256, (300, 200, 3)).astype(np.uint8)
        x, r = ref.preprocess(img, (416, 416), legacy=True)
        plain, r2 = ref.preprocess(img, (416, 416))
        self.assertEqual(r, r2)
        rgb = plain[::-1].astype(np.float64) / 255.0
        mean = np.reshape([0.485, 0.456, 0.406], (3, 1, 1))
        std = np.reshape([0.229, 0.224, 0.225], (3, 1, 1))
        want = (rgb - mean) / std
        np.testing.assert_allclose(x, want, rtol=0, atol=1e-6)
        self.assertEqual(x.dtype, np.float32)


def anchors(rows):
    """Decoded output [1, n, 85] from (cx, cy, w, h, obj, {class: score})."""
    y = np.zeros((1, len(rows), 85), F32)
    for i, (cx, cy, w, h, obj, cls) in enumerate(rows):
        y[0, i, :5] = (cx, cy, w, h, obj)
        for c, s in cls.items():
            y[0, i, 5 + c] = s
    return torch.from_numpy(y)


class PostprocessTest(unittest.TestCase):
    """The official postprocess semantics on hand-made outputs with known answers."""

    def test_class_aware_nms(self):
        y = anchors([
            (50, 50, 20, 20, 0.9, {0: 0.9}),     # person, kept
            (51, 50, 20, 20, 0.8, {0: 0.9}),     # IoU 0.905 with the first: suppressed
            (51, 50, 20, 20, 0.95, {16: 0.5}),   # dog over the person: other class, kept
            (200, 50, 20, 20, 0.5, {0: 0.5}),    # far away, kept
        ])
        d = ref.postprocess(y)[0]
        # rows x1, y1, x2, y2, obj, class score, class; descending obj * class score
        self.assertEqual(d[:, 6].tolist(), [0, 16, 0])
        np.testing.assert_allclose(d[:, :4].numpy(), [[40, 40, 60, 60], [41, 40, 61, 60],
                                                      [190, 40, 210, 60]])
        np.testing.assert_allclose((d[:, 4] * d[:, 5]).numpy(), [0.81, 0.475, 0.25], rtol=1e-6)
        agnostic = ref.postprocess(y, class_agnostic=True)[0]
        self.assertEqual(agnostic[:, 6].tolist(), [0, 0])

    def test_iou_at_the_threshold_is_kept(self):
        # IoU 13 / 20 = 0.65 exactly (float32 0.64999998): suppression needs IoU > threshold
        y = anchors([(10, 0.5, 20, 1, 0.9, {0: 1.0}), (6.5, 0.5, 13, 1, 0.8, {0: 1.0}),
                     (6.5, 0.5, 13.5, 1, 0.7, {0: 1.0})])  # IoU 13.5 / 20 = 0.675: suppressed
        d = ref.postprocess(y)[0]
        np.testing.assert_allclose(d[:, :4].numpy(), [[0, 0, 20, 1], [0, 0, 13, 1]])
        d = ref.postprocess(y, nms_thre=0.5)[0]
        self.assertEqual(len(d), 1)

    def test_score_threshold_compares_in_float32(self):
        # obj 0.5 * cls 0.02 = float32(0.01) exactly, which is below the double 0.01: the
        # official comparison (float32 tensor >= python float) happens in float32 and keeps it
        self.assertEqual(F32(0.5) * F32(0.02), F32(0.01))
        self.assertLess(float(F32(0.01)), 0.01)
        y = anchors([(50, 50, 10, 10, 0.5, {3: 0.02}),
                     (150, 50, 10, 10, 0.5, {3: float(np.nextafter(F32(0.02), F32(0)))}),
                     (250, 50, 10, 10, 0.009, {3: 1.0})])
        d = ref.postprocess(y)[0]
        self.assertEqual(d[:, 0].tolist(), [45.0])
        self.assertIsNone(ref.postprocess(y, conf_thre=0.6)[0])

    def test_the_class_is_the_argmax_and_persons_are_filtered_after(self):
        # an anchor whose best class is not person is no person, whatever its person score
        y = anchors([(50, 50, 20, 20, 0.9, {0: 0.6, 16: 0.7}),
                     (300, 50, 20, 20, 0.9, {0: 0.5, 2: 0.5})])  # tie: the lower class index
        d = ref.postprocess(y)[0]
        self.assertEqual(d[:, 6].tolist(), [16, 0])
        np.testing.assert_allclose(d[:, 5].numpy(), [0.7, 0.5])
        found = ref.to_image(d, 0.5)
        self.assertEqual([f[5] for f in found], [16, 0])
        self.assertEqual(found[1][:4], [580.0, 80.0, 620.0, 120.0])  # boxes / ratio, unclipped

    def test_boxes_are_divided_by_the_ratio_in_float32_and_not_clipped(self):
        y = anchors([(3, 5, 20, 30, 0.9, {0: 0.9})])
        d = ref.postprocess(y)[0]
        r = 416 / 425
        out = ref.to_image(d, r)[0]
        want = np.array([-7, -10, 13, 20], F32) / F32(r)  # torch divides a float32 by float32(r)
        self.assertEqual(out[:4], want.astype(np.float64).tolist())
        self.assertEqual(out[4], float(F32(0.9) * F32(0.9)))

    def test_equal_scores_and_empty_outputs(self):
        y = anchors([(50, 50, 10, 10, 0.5, {1: 0.5}), (150, 50, 10, 10, 0.5, {1: 0.5}),
                     (250, 50, 10, 10, 0.5, {1: 0.5})])
        d = ref.postprocess(y)[0]
        self.assertEqual(d[:, 0].tolist(), [45.0, 145.0, 245.0])  # ties: anchor order
        self.assertIsNone(ref.postprocess(anchors([(5, 5, 2, 2, 0.001, {0: 0.5})]))[0])
        self.assertEqual(ref.to_image(None, 1.0), [])


@needs_photos
class ReferenceCliTest(unittest.TestCase):
    def test_json_and_dump(self):
        with tempfile.TemporaryDirectory(prefix='yolox-ref-') as tmp:
            out = os.path.join(tmp, 'out.json')
            photos = [os.path.join(DATA, 'coco', '000000000785.jpg'), PHOTOS[-1]]
            with contextlib.redirect_stdout(io.StringIO()):  # its one-line summary
                rc = ref.main(['--arch', 'yolox_nano', '--random-init', '--seed', '0',
                               '--images', *photos, '--out', out,
                               '--dump', os.path.join(tmp, 'dump')])
            self.assertEqual(rc, 0)
            with open(out) as f:
                res = json.load(f)
            self.assertEqual((res['arch'], res['legacy'], res['input'], res['conf'], res['nms'],
                              res['classAgnostic']),
                             ('yolox_nano', False, {'width': 416, 'height': 416}, 0.01, 0.65, False))
            total = 0
            for i, (im, path) in enumerate(zip(res['images'], photos)):
                self.assertEqual(im['path'], path)
                img = cv2.imread(path)
                x, r = ref.preprocess(img, (416, 416))
                self.assertEqual((im['width'], im['height'], im['ratio']),
                                 (img.shape[1], img.shape[0], r))
                with open(os.path.join(tmp, 'dump', f'{i}.input.f32'), 'rb') as f:
                    data = f.read()
                self.assertEqual(data, x.astype('<f4').tobytes())
                self.assertEqual(im['inputSha256'], hashlib.sha256(data).hexdigest())
                y = np.fromfile(os.path.join(tmp, 'dump', f'{i}.output.f32'), '<f4')
                self.assertEqual(y.size, 3549 * 85)
                dets = im['detections']
                self.assertTrue(all(len(d) == 6 for d in dets))
                scores = [d[4] for d in dets]
                self.assertEqual(scores, sorted(scores, reverse=True))
                self.assertTrue(all(s >= float(F32(0.01)) for s in scores))
                self.assertEqual(im['persons'], [d for d in dets if d[5] == 0])
                self.assertLessEqual(len(dets), im['candidates'])
                total += len(im['persons'])
            # the seeded weights give some tens of detections per photo, persons among them
            self.assertGreater(total, 5)
            self.assertLess(len(res['images'][0]['detections']), 300)


if __name__ == '__main__':
    unittest.main()
