"""Tests of the bottom-up half: the BottomUpSimpleSRHead models (official structure and names,
strict loading), their ONNX export (against PyTorch, on onnxruntime-web through Node), the
srpose.json contract, and models/reference_bottomup.py (the official test-time resize, the
HeatmapParser on hand-built maps with a known answer, the pipeline CLI on a COCO photo).

Run from the repository root:
    /usr/bin/python3 -m unittest discover -s tests/python -p 'test_*.py'
"""
import collections
import glob
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import unittest

from support import MODELS, ROOT  # noqa: E402  (puts models/ on sys.path)

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402

import reference_bottomup as RB  # noqa: E402
from srpose_models import build_model  # noqa: E402
from srpose_models.checkpoint import CheckpointError, load_checkpoint  # noqa: E402
from model_cache import HAS_ORT, ort_run  # noqa: E402  (one onnxruntime-web runner for the Python tests)

PY = sys.executable or '/usr/bin/python3'
EXPORT = os.path.join(MODELS, 'export.py')
REF = os.path.join(MODELS, 'reference_bottomup.py')
COCO_785 = os.path.join(ROOT, '..', 'shared', 'data', 'coco', '000000000785.jpg')
torch.set_num_threads(2)

GROUPING_RES50 = {'maxPeople': 30, 'nmsKernel': 5, 'nmsPadding': 2, 'detectionThreshold': 0.1,
                  'tagThreshold': 1, 'useDetectionVal': True, 'ignoreTooMuch': False,
                  'adjust': True, 'refine': True, 'tagPerJoint': True}


def run(*args, timeout=600):
    return subprocess.run([PY, '-W', 'ignore', *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def last_json(r):
    return json.loads(r.stdout.strip().splitlines()[-1])


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def exporter_stamp():
    """The stamp models/make_test_models.sh writes: sha256 of export.py + srpose_models/*.py."""
    h = hashlib.sha256()
    for path in [EXPORT] + sorted(glob.glob(os.path.join(MODELS, 'srpose_models', '*.py'))):
        with open(path, 'rb') as f:
            h.update(f.read())
    return h.hexdigest()


def cached_test_model(arch):
    """.cache/models/<arch> when make_test_models.sh made it from the current sources."""
    d = os.path.join(ROOT, '.cache', 'models', arch)
    try:
        with open(os.path.join(d, 'exporter.sha256')) as f:
            ok = f.read().strip() == exporter_stamp()
    except OSError:
        return None
    files = ('model.onnx', 'srpose.json', 'checkpoint.pth')
    return d if ok and all(os.path.exists(os.path.join(d, n)) for n in files) else None


class StructureTest(unittest.TestCase):
    """The two bottom-up models against the official configs and README."""

    @classmethod
    def setUpClass(cls):
        cls.models = {a: build_model(a) for a in ('bu_res50', 'bu_hrnet_w32')}

    def test_param_counts_match_the_official_table(self):
        # README of haonanwang0522/SRPose, bottom-up "SR head (ours)": Resnet-50 23.51M + 10.60M,
        # HRNet-W32 28.54M + 0.09M (the backbone without stage4's multiscale fuse)
        res, hr = self.models['bu_res50'], self.models['bu_hrnet_w32']
        self.assertEqual(n_params(res.backbone), 23_508_032)
        self.assertEqual(round(n_params(res.keypoint_head) / 1e6, 2), 10.60)
        self.assertEqual(n_params(res.keypoint_head), 10_597_541)
        self.assertEqual(round(n_params(hr.backbone) / 1e6, 2), 28.54)
        self.assertEqual(round(n_params(hr.keypoint_head) / 1e6, 2), 0.09)
        self.assertEqual(n_params(hr.keypoint_head), 91_205)

    def test_head_names_and_shapes_are_official(self):
        sd = self.models['bu_res50'].state_dict()
        head = {k: tuple(v.shape) for k, v in sd.items() if k.startswith('keypoint_head.')}
        want = {
            'keypoint_head.deconv_layers.0.weight': (2048, 256, 4, 4),
            'keypoint_head.deconv_layers.3.weight': (256, 256, 4, 4),
            'keypoint_head.deconv_layers.7.running_var': (256,),
            'keypoint_head.kp_encoder.0.weight': (68, 256, 1, 1),
            'keypoint_head.kp_encoder.0.bias': (68,),
            'keypoint_head.heatmap_head.weight': (272, 4, 9, 9),  # groups=17, 16 = 4**2 per joint
            'keypoint_head.heatmap_head.bias': (272,),
            'keypoint_head.tag_head.weight': (17, 256, 1, 1),
            'keypoint_head.tag_head.bias': (17,),
        }
        for k, s in want.items():
            self.assertEqual(head[k], s, k)
        self.assertEqual(len(head), 24)
        hr = {k: tuple(v.shape) for k, v in self.models['bu_hrnet_w32'].state_dict().items()
              if k.startswith('keypoint_head.')}
        self.assertEqual(hr, {
            'keypoint_head.kp_encoder.0.weight': (68, 32, 1, 1), 'keypoint_head.kp_encoder.0.bias': (68,),
            'keypoint_head.heatmap_head.weight': (272, 4, 9, 9), 'keypoint_head.heatmap_head.bias': (272,),
            'keypoint_head.tag_head.weight': (17, 32, 1, 1), 'keypoint_head.tag_head.bias': (17,)})
        hsd = self.models['bu_hrnet_w32'].state_dict()
        # stage4 without multiscale output: the last module fuses into branch 0 only
        self.assertIn('backbone.stage4.2.fuse_layers.0.3.0.weight', hsd)
        self.assertFalse(any(k.startswith('backbone.stage4.2.fuse_layers.1.') for k in hsd))
        self.assertIn('backbone.stage4.1.fuse_layers.3.0.0.0.weight', hsd)

    def test_forward_layout(self):
        x = torch.randn(1, 3, 128, 192, generator=torch.Generator().manual_seed(0))
        for arch, m in self.models.items():
            with torch.no_grad():
                y = m(x)
                head_out = m.keypoint_head(m.backbone(x))
            self.assertEqual(tuple(y.shape), (1, 34, 128, 192), arch)
            self.assertIsInstance(head_out, list)  # the official head returns [output]
            self.assertTrue(torch.equal(head_out[0], y))
            tags = y[:, 17:]  # stride-4 tags, nearest-upsampled: constant 4x4 blocks
            self.assertTrue(torch.equal(tags, tags[:, :, ::4, ::4].repeat_interleave(4, 2)
                                        .repeat_interleave(4, 3)), arch)


class StrictLoadingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix='srpose-bu-ckpt-')

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def test_missing_and_unexpected_keys_exit_2(self):
        for arch, drop, extra in [
                ('bu_res50', 'keypoint_head.tag_head.weight', 'keypoint_head.final_layer.weight'),
                ('bu_hrnet_w32', 'backbone.stage4.2.fuse_layers.0.1.0.weight',
                 'keypoint_head.deconv_layers.0.weight')]:
            sd = collections.OrderedDict(build_model(arch).state_dict())
            del sd[drop]
            sd[extra] = torch.zeros(3)
            ck = self.path(f'{arch}-bad.pth')
            torch.save({'state_dict': sd, 'meta': {}}, ck)
            with self.assertRaises(CheckpointError) as cm:
                load_checkpoint(build_model(arch), ck, arch)
            self.assertIn('1 missing, 1 unexpected', str(cm.exception))
            r = run(EXPORT, '--arch', arch, '--checkpoint', ck, '--out', self.path(f'out-{arch}'))
            self.assertEqual(r.returncode, 2, r.stderr[-2000:])
            self.assertIn(f"arch '{arch}'", r.stderr)
            self.assertIn('missing keys (1)', r.stderr)
            self.assertIn(drop, r.stderr)
            self.assertIn(extra, r.stderr)
            self.assertNotIn('Traceback', r.stderr)
            self.assertFalse(os.path.exists(self.path(f'out-{arch}/model.onnx')))

    def test_a_top_down_checkpoint_is_refused(self):
        ck = self.path('res50_simple.pth')
        torch.save({'state_dict': build_model('res50_simple').state_dict()}, ck)
        with self.assertRaises(CheckpointError) as cm:
            load_checkpoint(build_model('bu_res50'), ck, 'bu_res50')
        msg = str(cm.exception)
        # the deconvs are the same; final_layer is not ours, kp_encoder / heatmap / tag heads missing
        self.assertIn('6 missing, 2 unexpected, 0 shape mismatches', msg)
        self.assertIn('keypoint_head.final_layer.weight', msg)


class ExportTest(unittest.TestCase):
    """bu_res50 (random weights, seed 0: the make_test_models.sh model when it is current, else
    exported here) and bu_hrnet_w32 (PyTorch's default init, exported from a checkpoint):
    the ONNX signature, srpose.json, and onnxruntime-web's output against PyTorch's at two
    input sizes (max |diff| <= 1e-4 of the output's range, heatmaps and tags apart)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix='srpose-bu-export-')
        cls.res50 = cached_test_model('bu_res50')
        cls.r_res50 = None
        if cls.res50 is None:
            cls.res50 = os.path.join(cls.tmp.name, 'bu_res50')
            cls.r_res50 = run(EXPORT, '--arch', 'bu_res50', '--random-init', '--seed', '0',
                              '--out', cls.res50, '--save-checkpoint',
                              os.path.join(cls.res50, 'checkpoint.pth'))
        torch.manual_seed(1)
        cls.hr_model = build_model('bu_hrnet_w32')
        with torch.no_grad():  # default init leaves the heads tiny: give the maps some range
            cls.hr_model.keypoint_head.heatmap_head.weight.mul_(30)
            cls.hr_model.keypoint_head.tag_head.weight.mul_(30)
        cls.hr_ckpt = os.path.join(cls.tmp.name, 'hr.pth')
        torch.save({'state_dict': cls.hr_model.state_dict()}, cls.hr_ckpt)
        cls.hrnet = os.path.join(cls.tmp.name, 'bu_hrnet_w32')
        cls.r_hrnet = run(EXPORT, '--arch', 'bu_hrnet_w32', '--checkpoint', cls.hr_ckpt,
                          '--out', cls.hrnet)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_exit_status(self):
        if self.r_res50 is not None:
            self.assertEqual(self.r_res50.returncode, 0, self.r_res50.stderr[-3000:])
            self.assertEqual(last_json(self.r_res50)['params'], 23_508_032 + 10_597_541)
        self.assertEqual(self.r_hrnet.returncode, 0, self.r_hrnet.stderr[-3000:])

    def test_onnx_signature(self):
        for d in (self.res50, self.hrnet):
            m = onnx.load(os.path.join(d, 'model.onnx'))
            onnx.checker.check_model(m)
            self.assertEqual([o.version for o in m.opset_import if o.domain in ('', 'ai.onnx')], [17])
            dims = lambda v: [x.dim_param or x.dim_value for x in v.type.tensor_type.shape.dim]  # noqa: E731
            self.assertEqual([i.name for i in m.graph.input], ['image'])
            self.assertEqual([o.name for o in m.graph.output], ['output'])
            self.assertEqual(dims(m.graph.input[0]), ['batch', 3, 'height', 'width'])
            self.assertEqual(dims(m.graph.output[0]), ['batch', 34, 'height', 'width'])
            ops = collections.Counter(n.op_type for n in m.graph.node)
            self.assertEqual(ops['DepthToSpace'], 1, d)
            self.assertEqual(ops['Concat'] >= 1, True)

    def test_contract(self):
        with open(os.path.join(self.res50, 'srpose.json')) as f:
            c = json.load(f)
        with open(os.path.join(self.res50, 'model.onnx'), 'rb') as f:
            data = f.read()
        self.assertEqual(list(c), ['format', 'name', 'arch', 'kind', 'head', 'dataset', 'source',
                                   'onnx', 'input', 'keypoints', 'skeleton', 'flipPairs',
                                   'flipTest', 'grouping', 'projectToImage'])
        self.assertEqual((c['format'], c['name'], c['arch'], c['kind'], c['head'], c['dataset']),
                         ('srpose-model/1', 'srpose_bu_res50_coco_512x512', 'bu_res50',
                          'bottom-up', 'BottomUpSimpleSRHead', 'coco'))
        self.assertEqual(c['onnx'], {'file': 'model.onnx', 'sha256': hashlib.sha256(data).hexdigest(),
                                     'bytes': len(data), 'input': 'image', 'output': 'output',
                                     'weights': 'fp32', 'recommended': 'fp32'})
        self.assertEqual(c['input'], {'size': 512, 'multipleOf': 64, 'colorOrder': 'RGB',
                                      'mean': [0.485, 0.456, 0.406], 'std': [0.229, 0.224, 0.225]})
        self.assertEqual(len(c['keypoints']), 17)
        self.assertEqual(len(c['skeleton']), 19)
        self.assertEqual(c['flipPairs'], [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12], [13, 14], [15, 16]])
        self.assertEqual(c['flipTest'], {'enabled': True})
        self.assertEqual(c['grouping'], GROUPING_RES50)
        self.assertIs(c['projectToImage'], True)
        self.assertEqual(c['source']['config'], 'configs/bottom_up/sr/coco/res50_sr_coco_512x512.py')
        self.assertEqual(c['source']['randomInit'], {'seed': 0})
        self.assertEqual(c['source']['opset'], 17)
        with open(os.path.join(self.hrnet, 'srpose.json')) as f:
            h = json.load(f)
        self.assertEqual(h['name'], 'srpose_bu_hrnet_w32_coco_512x512')
        self.assertEqual(h['source']['config'], 'configs/bottom_up/sr/coco/hrnet_w32_sr_coco_512x512.py')
        self.assertEqual(h['source']['checkpoint'], 'hr.pth')
        self.assertIsNone(h['source']['randomInit'])
        # hrnet_w32_sr_coco_512x512.py: nms_kernel 11, nms_padding 5; the rest as res50
        self.assertEqual(h['grouping'], dict(GROUPING_RES50, nmsKernel=11, nmsPadding=5))
        self.assertEqual({k: v for k, v in h.items() if k not in ('name', 'arch', 'source', 'onnx', 'grouping')},
                         {k: v for k, v in c.items() if k not in ('name', 'arch', 'source', 'onnx', 'grouping')})

    @unittest.skipUnless(HAS_ORT, 'node or node_modules/onnxruntime-web missing (npm ci)')
    def test_onnxruntime_equals_pytorch_at_two_sizes(self):
        res50, _ = RB.load_bottom_up_model(self.res50)
        g = torch.Generator().manual_seed(3)
        for name, model, path, shapes in [
                ('bu_res50', res50, self.res50, [(1, 3, 256, 384), (2, 3, 320, 256)]),
                ('bu_hrnet_w32', self.hr_model, self.hrnet, [(1, 3, 256, 384), (1, 3, 384, 320)])]:
            for shape in shapes:
                x = torch.randn(*shape, generator=g)
                with torch.no_grad():
                    want = model(x).numpy()
                got = ort_run(os.path.join(path, 'model.onnx'), x.numpy(), self.tmp.name)
                self.assertEqual(got.shape, (shape[0], 34, shape[2], shape[3]))
                for part, sl in (('heatmaps', slice(0, 17)), ('tags', slice(17, 34))):
                    w, o = want[:, sl], got[:, sl]
                    rng = float(w.max() - w.min())
                    err = float(np.abs(o - w).max())
                    print(f'    {name} {shape} {part}: max |ort - torch| = {err:.2e} '
                          f'= {err / rng:.1e} of the range {rng:.3g}')
                    self.assertGreater(rng, 1e-3)
                    self.assertLessEqual(err, 1e-4 * rng, f'{name} {shape} {part}')


def _scene():
    """Hand-built maps (K=17, 24x32, T=2) with a known parse; see ParserTest."""
    K, H, W = 17, 24, 32
    hm = np.zeros((K, H, W), np.float32)
    tg = np.zeros((K, H, W, 2), np.float32)
    A, B, C = (1.0, 1.0), (5.0, 5.0), (9.0, 9.0)

    def put(k, x, y, v, tag):
        hm[k, y, x] = v
        tg[k, y, x] = tag
    put(0, 5, 6, 0.9, A)           # A's nose
    hm[0, 6, 6] = 0.3              # ... with a higher right neighbour (NMS removes it)
    put(0, 20, 10, 0.8, B)         # B's nose
    put(1, 6, 5, 0.7, A)           # A's left eye
    put(1, 21, 9, 0.95, B)         # B's left eye (the stronger candidate: first row)
    put(3, 4, 4, 0.05, A)          # a left ear below the detection threshold
    put(5, 22, 15, 0.6, B)         # B's left shoulder
    put(5, 2, 20, 0.5, C)          # a shoulder with a far tag: a new person, C
    put(11, 8, 18, 0.4, (1.3, 0.8))  # A's left hip (tag distance 0.36 < 1)
    return hm, tg


class ParserTest(unittest.TestCase):
    """HeatmapParser.parse on hand-built maps, with the answer worked out by hand from the
    official code (group.py)."""

    def parse(self, hm, tg, adjust=True, refine=True, **over):
        p = RB.GroupingParams(dict(GROUPING_RES50, **over), hm.shape[0])
        ans, scores = RB.parse(torch.from_numpy(hm[None]), torch.from_numpy(tg[None]), p, adjust, refine)
        return ans[0], [float(s) for s in scores]

    def test_known_answer(self):
        hm, tg = _scene()
        people, scores = self.parse(hm, tg)
        self.assertEqual(people.shape, (3, 17, 5))
        A, B, C = people
        found = lambda p: {k: tuple(float(v) for v in p[k, :3]) for k in range(17) if p[k, 2] > 0}  # noqa: E731
        f32 = lambda v: float(np.float32(v))  # noqa: E731
        # people in creation order: A and B from the noses (the first joint type), C from the
        # unmatched shoulder. adjust: +-0.25 towards the larger neighbour (ties: -0.25), +0.5;
        # A's nose has a larger right neighbour.
        # refine fills missing joints at the max of heatmap - round(|tag - person tag|): for A
        # (tag ~(1.1, 0.93)) only the sub-threshold ear (tag (1, 1)); for B and C, whose tags
        # are far from the background's 0, the background scores -7 / -13, so they also take
        # the best pixels of other people's joints (official behaviour).
        self.assertEqual(found(A), {0: (5.75, 6.25, f32(0.9)), 1: (6.25, 5.25, f32(0.7)),
                                    3: (4.25, 4.25, f32(0.05)), 11: (8.25, 18.25, f32(0.4))})
        self.assertEqual(found(B), {0: (20.25, 10.25, f32(0.8)), 1: (21.25, 9.25, f32(0.95)),
                                    3: (4.25, 4.25, f32(0.05)), 5: (22.25, 15.25, f32(0.6)),
                                    11: (8.25, 18.25, f32(0.4))})
        self.assertEqual(found(C), {0: (20.25, 10.25, f32(0.8)), 1: (21.25, 9.25, f32(0.95)),
                                    3: (4.25, 4.25, f32(0.05)), 5: (2.25, 20.25, f32(0.5)),
                                    11: (8.25, 18.25, f32(0.4))})
        # tags of the matched joints; refined joints keep zero tags
        self.assertEqual(A[11, 3:].tolist(), [f32(1.3), f32(0.8)])
        self.assertEqual(B[3, 3:].tolist(), [0.0, 0.0])
        # scores: mean of the K joint scores before refine
        want = [np.float32(np.array(v + [0] * (17 - len(v)), np.float32).mean())
                for v in ([0.9, 0.7, 0.4], [0.8, 0.95, 0.6], [0.5])]
        self.assertEqual(scores, [float(v) for v in want])

    def test_without_adjust_and_refine(self):
        hm, tg = _scene()
        people, scores = self.parse(hm, tg, adjust=False, refine=False)
        self.assertEqual(people.shape, (3, 17, 5))
        self.assertEqual(people[0, 0, :3].tolist(), [5.0, 6.0, float(np.float32(0.9))])
        self.assertEqual(int((people[:, :, 2] > 0).sum()), 7)  # the 7 detections, no fills
        # refine without adjust: found joints stay integer, fills get the 0.5 offset
        people, _ = self.parse(hm, tg, adjust=False, refine=True)
        self.assertEqual(people[0, 3, :2].tolist(), [4.25, 4.25])
        self.assertEqual(people[0, 0, :2].tolist(), [5.0, 6.0])

    def test_tag_threshold_and_max_people(self):
        hm, tg = _scene()
        # with every candidate beyond the threshold, each detection is its own person
        # a lower tag threshold: A's hip (distance 0.36) starts a fourth person
        people, _ = self.parse(hm, tg, refine=False, tagThreshold=0.3)
        self.assertEqual([sorted(np.nonzero(p[:, 2])[0].tolist()) for p in people],
                         [[0, 1], [0, 1, 5], [5], [11]])
        # maxPeople 1: top-1 candidate per joint type, matched against the first person only.
        # The eye (B's, tag 5) starts a person keyed 5.0; B's shoulder, too far from A, starts
        # "another" person with the same key 5.0: the official dict hands back the eye's person
        people, _ = self.parse(hm, tg, refine=False, maxPeople=1)
        self.assertEqual([sorted(np.nonzero(p[:, 2])[0].tolist()) for p in people], [[0, 11], [1, 5]])

    def test_official_unit_test_case(self):
        # tests/post_processing/test_group.py of the official repository
        hm = np.zeros((17, 32, 32), np.float32)
        tg = np.zeros((17, 32, 32, 1), np.float32)
        for k, (y, x), v in [(0, (10, 10), 0.8), (1, (12, 12), 0.9), (4, (8, 8), 0.8), (8, (6, 6), 0.9)]:
            hm[k, y, x] = v
            tg[k, y, x, 0] = v
        people, _ = self.parse(hm, tg, True, True, maxPeople=1)
        self.assertEqual(people[0, 0, 0], 10.25)
        people, _ = self.parse(hm, tg, False, False, maxPeople=1, tagPerJoint=False)
        self.assertEqual(people[0, 0, 0], 10.0)
        people, _ = self.parse(hm, tg, False, True, maxPeople=1, tagPerJoint=False)
        self.assertEqual(people[0, 0, 0], 10.0)
        # NMS: a smaller neighbour within the window is suppressed
        t = torch.zeros(1, 1, 5, 5)
        t[0, 0, 3, 3] = 1
        t[0, 0, 3, 2] = 0.8
        self.assertEqual(float(RB.nms(t, 5, 2)[0, 0, 3, 2]), 0.0)

    def test_parse_cli_equals_the_library(self):
        hm, tg = _scene()
        with tempfile.TemporaryDirectory(prefix='srpose-bu-parse-') as d:
            hm.astype('<f4').tofile(os.path.join(d, 'hm.f32'))
            tg.astype('<f4').tofile(os.path.join(d, 'tg.f32'))
            cfg = os.path.join(d, 'srpose.json')
            with open(cfg, 'w') as f:
                json.dump({'grouping': GROUPING_RES50}, f)
            r = run(REF, 'parse', '--heatmaps', os.path.join(d, 'hm.f32'), '--tags',
                    os.path.join(d, 'tg.f32'), '--shape', '17,24,32', '--config', cfg)
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            out = last_json(r)
            r2 = run(REF, 'parse', '--heatmaps', os.path.join(d, 'hm.f32'), '--tags',
                     os.path.join(d, 'tg.f32'), '--shape', '17,24,32', '--config', cfg,
                     '--no-adjust', '--no-refine')
            out2 = last_json(r2)
        people, scores = self.parse(hm, tg)
        self.assertEqual((out['tagDims'], out['adjust'], out['refine']), (2, True, True))
        self.assertEqual([p['keypoints'] for p in out['people']], people[:, :, :3].tolist())
        self.assertEqual([p['tags'] for p in out['people']], people[:, :, 3:].tolist())
        self.assertEqual([p['score'] for p in out['people']], scores)
        self.assertEqual((out2['adjust'], out2['refine']), (False, False))
        self.assertEqual(out2['people'][0]['keypoints'][0], [5.0, 6.0, float(np.float32(0.9))])


class ResizeTest(unittest.TestCase):
    def test_test_size_is_the_official_one(self):
        # landscape 640x425: short side 512, long side ceil(512 / 425 * 640 / 64) * 64 = 832;
        # center round(212.5) = 212 (Python rounds half to even)
        size, center, scale = RB.test_size(425, 640)
        self.assertEqual((size, center.tolist(), scale.tolist()), ((832, 512), [320, 212], [3.453125, 2.125]))
        self.assertEqual(center.dtype, np.int64)
        size, center, scale = RB.test_size(640, 427)  # portrait: 512 / 427 * 640 = 767.4 -> 768
        self.assertEqual((size, center.tolist(), scale.tolist()),
                         ((512, 768), [214, 320], [2.135, 768 / 512 * 427 / 200.0]))
        self.assertEqual(RB.test_size(512, 512)[0], (512, 512))
        self.assertEqual(RB.test_size(100, 300)[0], (1536, 512))
        self.assertEqual(RB.test_size(512, 577)[0], (640, 512))


@unittest.skipUnless(os.path.exists(COCO_785), 'no ../shared/data/coco')
class PipelineTest(unittest.TestCase):
    """reference_bottomup.py pipeline on 000000000785.jpg (640x425) with the bu_res50 model."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix='srpose-bu-pipe-')
        model = cached_test_model('bu_res50')
        if model is None:  # weights from srpose.json's seed; no ONNX needed
            model = os.path.join(cls.tmp.name, 'model')
            os.makedirs(model)
            import export
            args = export.parse_args(['--arch', 'bu_res50', '--random-init', '--seed', '0', '--out', model])
            fake = os.path.join(model, 'model.onnx')
            with open(fake, 'wb') as f:
                f.write(b'\0')
            with open(os.path.join(model, 'srpose.json'), 'w') as f:
                json.dump(export.contract(args, fake, None), f)
        cls.model = model
        cls.dump = os.path.join(cls.tmp.name, 'dump')
        cls.r = run(REF, 'pipeline', '--model', model, '--image', COCO_785, '--dump', cls.dump)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def load(self, name, shape):
        a = np.fromfile(os.path.join(self.dump, name), '<f4')
        self.assertEqual(a.size, int(np.prod(shape)), name)
        return a.reshape(shape)

    def test_dump(self):
        self.assertEqual(self.r.returncode, 0, self.r.stderr[-3000:])
        line = last_json(self.r)
        with open(os.path.join(self.dump, 'meta.json')) as f:
            meta = json.load(f)
        with open(os.path.join(self.dump, 'result.json')) as f:
            result = json.load(f)
        self.assertEqual(line['people'], len(result['people']))
        self.assertEqual((meta['imageSize'], meta['baseSize'], meta['center'], meta['scale']),
                         ([640, 425], [832, 512], [320, 212], [3.453125, 2.125]))
        self.assertEqual(meta['inputShape'], [1, 3, 512, 832])
        self.assertEqual(meta['tagsShape'], [1, 17, 512, 832, 2])
        self.assertTrue(meta['flip'])
        self.assertEqual(meta['flipIndex'], [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15])
        x = self.load('input.f32', meta['inputShape'])
        out = self.load('output.f32', meta['outputShape'])
        outf = self.load('output_flip.f32', meta['outputShape'])
        agg = self.load('aggregated.f32', meta['aggregatedShape'])
        tags = self.load('tags.f32', meta['tagsShape'])
        # the input: the photo scaled by 512/425 about its centre, the sides zero (normalised 0)
        zero = (np.zeros(3, np.float32) - [0.485, 0.456, 0.406]) / np.array([0.229, 0.224, 0.225], np.float32)
        np.testing.assert_allclose(x[0, :, 256, 0], zero.astype(np.float32), rtol=0, atol=1e-6)
        self.assertGreater(float(np.abs(x[0, :, 256, 416] - x[0, :, 256, 0]).max()), 0.0)
        # aggregation: (h + flipped-back h[flip_index]) / 2; tags stacked [orig, flipped back]
        fi = meta['flipIndex']
        back = outf[:, :, :, ::-1]
        np.testing.assert_array_equal(agg, ((out[:, :17] + back[:, :17][:, fi]) / np.float32(2)).astype(np.float32))
        np.testing.assert_array_equal(tags[..., 0], out[:, 17:])
        np.testing.assert_array_equal(tags[..., 1], back[:, 17:][:, fi])
        # people: 17 keypoints each, the grouped ones mapped to the image by transform_preds
        self.assertGreater(len(result['people']), 0)
        sx = np.float32(3.453125 * 200.0 / 832)
        for p, g in zip(result['people'], result['grouped']):
            self.assertEqual(len(p['keypoints']), 17)
            for (x_img, y_img, s), (xh, yh, sh) in zip(p['keypoints'], g['keypoints']):
                self.assertEqual(s, sh)
                want = np.float32(np.float32(np.float32(xh) * sx) + np.float32(320)) - np.float32(3.453125 * 100.0)
                self.assertEqual(x_img, float(want))
        # the parse CLI on the dumped maps reproduces the grouping
        r = run(REF, 'parse', '--heatmaps', os.path.join(self.dump, 'aggregated.f32'), '--tags',
                os.path.join(self.dump, 'tags.f32'), '--shape', '17,512,832',
                '--config', os.path.join(self.model, 'srpose.json'))
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        parsed = last_json(r)
        self.assertEqual([p['keypoints'] for p in parsed['people']], [g['keypoints'] for g in result['grouped']])
        self.assertEqual([p['score'] for p in parsed['people']], [p['score'] for p in result['people']])
        print(f"    pipeline 000000000785.jpg: {len(result['people'])} people (random weights)")


if __name__ == '__main__':
    unittest.main()
