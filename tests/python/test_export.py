"""Tests of models/srpose_models (official structure and names) and models/export.py.

Run from the repository root:
    /usr/bin/python3 -m unittest discover -s tests/python -p 'test_*.py'
"""
import collections
import json
import os
import subprocess
import sys
import tempfile
import unittest
import unittest.mock

from support import MODELS, ROOT  # noqa: E402  (puts models/ on sys.path)

import onnx  # noqa: E402
import torch  # noqa: E402
from onnx import numpy_helper  # noqa: E402

from srpose_models import build  # noqa: E402
from srpose_models import build_model  # noqa: E402
from srpose_models.checkpoint import (CheckpointError, load_checkpoint,  # noqa: E402
                                      random_init, read_state_dict)

PY = sys.executable or '/usr/bin/python3'
EXPORT = os.path.join(MODELS, 'export.py')
torch.set_num_threads(2)


def run_export(*args):
    return subprocess.run([PY, '-W', 'ignore', EXPORT, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def inference_params(model, size):
    """Parameters that the eval forward actually uses (those receiving a gradient)."""
    model.zero_grad(set_to_none=True)
    model.eval()
    model(torch.randn(1, 3, *size)).sum().backward()
    used = sum(p.numel() for p in model.parameters() if p.grad is not None)
    model.zero_grad(set_to_none=True)
    return used


EXPECTED_CONTRACT_KEYS = {
    'format', 'name', 'arch', 'kind', 'head', 'dataset', 'source', 'onnx', 'input', 'heatmap',
    'bbox', 'keypoints', 'skeleton', 'flipPairs', 'flipTest', 'decode'}


class ModelStructureTest(unittest.TestCase):
    """Structure and parameter names against the official code and the paper's numbers."""

    @classmethod
    def setUpClass(cls):
        cls.models = {a: build_model(a) for a in ('res50', 'hrnet_w32', 'res50_simple')}

    def test_param_counts_match_the_official_table(self):
        # README of haonanwang0522/SRPose, COCO val, top-down: "Params Backbone / Other".
        # The "Other" column counts what inference uses: the SR head minus the intermediate
        # kp_encoder/converge heads (those only feed the training losses).
        res50, hrnet, simple = (self.models[a] for a in ('res50', 'hrnet_w32', 'res50_simple'))
        self.assertEqual(n_params(res50.backbone), 23_508_032)  # 23.51M
        self.assertEqual(n_params(simple.backbone), 23_508_032)
        self.assertEqual(n_params(hrnet.backbone), 29_305_536)  # 29.30M (multiscale stage4)
        self.assertEqual(round(n_params(simple.keypoint_head) / 1e6, 2), 10.49)
        used_res50 = inference_params(res50, (128, 96)) - n_params(res50.backbone)
        used_hrnet = inference_params(hrnet, (128, 96)) - n_params(hrnet.backbone)
        self.assertEqual(round(used_res50 / 1e6, 2), 1.29)
        self.assertEqual(round(used_hrnet / 1e6, 2), 0.65)
        # the table's backbone column reads as (rounded total) - (rounded other):
        # res50 24.80 - 1.29 = 23.51, hrnet 29.95 - 0.65 = 29.30 (29,305,536 itself is 29.31)
        for bb, other, want in [(res50.backbone, used_res50, 23.51), (hrnet.backbone, used_hrnet, 29.30)]:
            total = round((n_params(bb) + other) / 1e6, 2)
            self.assertAlmostEqual(total - round(other / 1e6, 2), want, places=6)
        # the whole head, with the training-only heads, loads from / saves to checkpoints
        unused = 317_696  # kp_encoder.0-2 + converge.0-2
        self.assertEqual(n_params(res50.keypoint_head) - used_res50, unused)
        self.assertEqual(n_params(hrnet.keypoint_head) - used_hrnet, unused)

    def test_resnet_names_are_mmpose_names(self):
        sd = self.models['res50'].state_dict()
        for k in ['backbone.conv1.weight', 'backbone.bn1.running_mean',
                  'backbone.layer1.0.conv1.weight', 'backbone.layer1.0.bn3.bias',
                  'backbone.layer1.0.downsample.0.weight', 'backbone.layer1.0.downsample.1.running_var',
                  'backbone.layer4.2.bn3.num_batches_tracked', 'backbone.layer3.5.conv2.weight']:
            self.assertIn(k, sd)
        self.assertFalse(any('norm' in k.split('.')[-2] for k in sd if k.startswith('backbone.')))
        self.assertFalse(any(k.startswith('backbone.fc') for k in sd))
        self.assertEqual(tuple(sd['backbone.layer2.0.conv2.weight'].shape), (128, 128, 3, 3))
        self.assertEqual(tuple(sd['backbone.layer2.0.conv1.weight'].shape), (128, 256, 1, 1))

    def test_srpose_head_has_every_official_submodule(self):
        sd = self.models['res50'].state_dict()
        shapes = {
            'keypoint_head.lr_head.0.weight': (17, 2048, 1, 1),
            'keypoint_head.lr_fuse.0.weight': (256, 17, 1, 1),
            'keypoint_head.pre_interpolate.0.0.weight': (256, 1, 3, 3),
            'keypoint_head.pre_interpolate.2.2.running_var': (32,),
            'keypoint_head.pre_fuse.3.0.weight': (32, 256, 1, 1),
            'keypoint_head.fuse.2.weight': (32, 64, 1, 1),
            'keypoint_head.post_fuse.2.1.dwconv.weight': (32, 1, 7, 7),
            'keypoint_head.post_fuse.0.0.pwconv1.weight': (512, 128),
            'keypoint_head.post_fuse.1.1.norm.running_mean': (64,),
            'keypoint_head.kp_encoder.0.0.weight': (272, 256, 1, 1),
            'keypoint_head.kp_encoder.3.0.weight': (68, 32, 1, 1),
            'keypoint_head.converge.0.conv.weight': (1088, 16, 3, 3),  # 8x up, k3
            'keypoint_head.converge.1.conv.weight': (272, 8, 5, 5),    # 4x up, k5
            'keypoint_head.converge.2.conv.weight': (68, 4, 7, 7),     # 2x up, k7
            'keypoint_head.converge.3.conv.weight': (272, 4, 9, 9),    # 4x up, k9
        }
        for k, s in shapes.items():
            self.assertEqual(tuple(sd[k].shape), s, k)
        head_keys = [k for k in sd if k.startswith('keypoint_head.')]
        self.assertEqual(len(head_keys), 147)
        hr = self.models['hrnet_w32'].state_dict()
        self.assertEqual(tuple(hr['keypoint_head.lr_head.0.weight'].shape), (17, 256, 1, 1))
        self.assertEqual(tuple(hr['keypoint_head.pre_fuse.3.0.weight'].shape), (32, 32, 1, 1))

    def test_hrnet_names_are_official_names(self):
        sd = self.models['hrnet_w32'].state_dict()
        for k in ['backbone.conv1.weight', 'backbone.bn2.running_var',
                  'backbone.layer1.3.bn3.weight', 'backbone.layer1.0.downsample.1.weight',
                  'backbone.transition1.0.0.weight', 'backbone.transition1.1.0.0.weight',
                  'backbone.transition2.2.0.0.weight', 'backbone.transition3.3.0.1.running_mean',
                  'backbone.stage2.0.branches.1.3.conv2.weight',
                  'backbone.stage3.3.fuse_layers.2.0.1.0.weight',
                  'backbone.stage4.2.fuse_layers.0.3.0.weight',
                  'backbone.stage4.2.fuse_layers.3.0.0.0.weight',
                  'backbone.stage4.2.fuse_layers.3.0.2.1.weight',
                  'backbone.stage4.2.fuse_layers.3.2.0.1.running_var']:
            self.assertIn(k, sd)
        # branches that pass through have no transition; no fuse layer for i == j
        self.assertFalse(any(k.startswith('backbone.transition2.0.') for k in sd))
        self.assertFalse(any(k.startswith('backbone.stage4.2.fuse_layers.3.3.') for k in sd))
        self.assertFalse(any(k.startswith('backbone.stage4.') and 'fuse_layers.4' in k for k in sd))
        # fuse_layers.3.0: 32 -> 32 -> 32 -> 256, three stride-2 convs
        self.assertEqual(tuple(sd['backbone.stage4.2.fuse_layers.3.0.0.0.weight'].shape), (32, 32, 3, 3))
        self.assertEqual(tuple(sd['backbone.stage4.2.fuse_layers.3.0.2.0.weight'].shape), (256, 32, 3, 3))
        self.assertEqual(tuple(sd['backbone.transition1.0.0.weight'].shape), (32, 256, 3, 3))

    def test_forward_shapes(self):
        x = torch.randn(1, 3, 256, 192)
        with torch.no_grad():
            feats = self.models['hrnet_w32'].backbone(x)
            self.assertEqual([tuple(f.shape) for f in feats],
                             [(1, 32, 64, 48), (1, 64, 32, 24), (1, 128, 16, 12), (1, 256, 8, 6)])
            feats = self.models['res50'].backbone(x)
            self.assertEqual([tuple(f.shape[1:]) for f in feats],
                             [(256, 64, 48), (512, 32, 24), (1024, 16, 12), (2048, 8, 6)])
            self.assertEqual(tuple(self.models['res50'].keypoint_head(feats).shape), (1, 17, 256, 192))
            self.assertEqual(tuple(self.models['res50_simple'](x).shape), (1, 17, 64, 48))
        # training mode returns the LR heatmaps and all four SR levels
        head = self.models['res50'].keypoint_head.train()
        try:
            outs = head([f.detach() for f in feats])
        finally:
            head.eval()
        self.assertEqual([tuple(o.shape[2:]) for o in outs],
                         [(8, 6), (64, 48), (64, 48), (64, 48), (256, 192)])

    def test_unknown_arch_raises_instead_of_building_another_model(self):
        with self.assertRaises(ValueError) as cm:
            build_model('res101')
        self.assertIn("'res101'", str(cm.exception))
        for arch in build.ARCHS:
            self.assertIn(arch, str(cm.exception))
        # an arch listed in ARCHS without a builder must not fall through to another model
        self.assertEqual(set(build.BUILDERS), set(build.ARCHS))
        with unittest.mock.patch.dict(build.ARCHS, {'res101': dict(build.ARCHS['res50'])}):
            with self.assertRaises(ValueError) as cm:
                build_model('res101')
        self.assertIn("'res101' has no builder", str(cm.exception))
        self.assertNotIn('res101', build.ARCHS)


class RandomInitTest(unittest.TestCase):
    def test_same_seed_same_weights_and_sane_heatmaps(self):
        a = random_init(build_model('res50'), 5)
        b = random_init(build_model('res50'), 5)
        c = random_init(build_model('res50'), 6)
        sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
        self.assertEqual(list(sa), list(sb))
        self.assertTrue(all(torch.equal(sa[k], sb[k]) for k in sa))
        self.assertFalse(torch.equal(sa['backbone.conv1.weight'], sc['backbone.conv1.weight']))
        # BN statistics come from the calibration pass, not the defaults
        self.assertFalse(torch.all(sa['backbone.layer3.2.bn2.running_var'] == 1))
        self.assertFalse(a.training)
        g = torch.Generator().manual_seed(0)
        with torch.no_grad():
            y = a(torch.randn(2, 3, 256, 192, generator=g))
        rng = (y.amax(dim=(2, 3)) - y.amin(dim=(2, 3)))
        self.assertTrue(torch.isfinite(y).all())
        self.assertGreater(rng.min().item(), 2.0)
        self.assertLess(rng.max().item(), 60.0)
        self.assertGreater(y.amax(dim=(2, 3)).min().item(), 0.0)  # positive maxima
        # distinct peaks: the global maximum is unique in every map
        flat = y.flatten(2)
        top2 = flat.topk(2, dim=2).values
        self.assertTrue(bool((top2[..., 0] > top2[..., 1]).all()))


class CheckpointLoadingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix='srpose-ckpt-')
        cls.model = build_model('res50_simple')
        cls.sd = cls.model.state_dict()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def test_bare_and_module_prefixed_state_dicts_load(self):
        torch.manual_seed(0)
        sd = collections.OrderedDict((k, v.clone() + (torch.rand_like(v) if v.is_floating_point() else 0))
                                     for k, v in self.sd.items())
        torch.save(sd, self.path('bare.pth'))
        torch.save({'state_dict': collections.OrderedDict(('module.' + k, v) for k, v in sd.items()),
                    'meta': {'epoch': 3}}, self.path('module.pth'))
        for name in ('bare.pth', 'module.pth'):
            m = build_model('res50_simple')
            load_checkpoint(m, self.path(name), 'res50_simple')
            got = m.state_dict()
            self.assertTrue(all(torch.equal(got[k], sd[k]) for k in sd), name)

    def test_missing_and_unexpected_keys_are_listed(self):
        sd = collections.OrderedDict(self.sd)
        del sd['backbone.layer2.1.conv2.weight']
        sd['keypoint_head.extra_layer.weight'] = torch.zeros(3)
        torch.save({'state_dict': sd}, self.path('bad.pth'))
        with self.assertRaises(CheckpointError) as cm:
            load_checkpoint(build_model('res50_simple'), self.path('bad.pth'), 'res50_simple')
        msg = str(cm.exception)
        self.assertIn('1 missing, 1 unexpected', msg)
        self.assertIn('backbone.layer2.1.conv2.weight', msg)
        self.assertIn('keypoint_head.extra_layer.weight', msg)
        # the same through the CLI: exit status 2, the lists, the arch, no traceback
        r = run_export('--arch', 'res50_simple', '--checkpoint', self.path('bad.pth'),
                       '--out', self.path('out-bad'))
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("arch 'res50_simple'", r.stderr)
        self.assertIn('missing keys (1)', r.stderr)
        self.assertIn('unexpected keys (1)', r.stderr)
        self.assertIn('backbone.layer2.1.conv2.weight', r.stderr)
        self.assertIn('keypoint_head.extra_layer.weight', r.stderr)
        self.assertNotIn('Traceback', r.stderr)
        self.assertFalse(os.path.exists(self.path('out-bad/model.onnx')))

    def test_wrong_arch_lists_first_20_and_counts(self):
        torch.save({'state_dict': self.sd}, self.path('simple.pth'))
        with self.assertRaises(CheckpointError) as cm:
            load_checkpoint(build_model('res50'), self.path('simple.pth'), 'res50')
        msg = str(cm.exception)
        self.assertIn("arch 'res50'", msg)
        # the whole SR head (147 keys less the 13 tolerated num_batches_tracked buffers)
        self.assertIn('134 missing, 20 unexpected, 0 shape mismatches', msg)
        self.assertIn('missing keys (134)', msg)
        self.assertIn('unexpected keys (20)', msg)      # deconv_layers + final_layer
        self.assertIn('... and 114 more', msg)          # only the first 20 are listed
        self.assertEqual(msg.count('\n    keypoint_head.'), 40)

    def test_shape_mismatch_is_reported(self):
        sd = collections.OrderedDict(self.sd)
        sd['keypoint_head.final_layer.weight'] = torch.zeros(14, 256, 1, 1)  # MPII-like head
        sd['keypoint_head.final_layer.bias'] = torch.zeros(14)
        torch.save(sd, self.path('shape.pth'))
        r = run_export('--arch', 'res50_simple', '--checkpoint', self.path('shape.pth'),
                       '--out', self.path('out-shape'))
        self.assertEqual(r.returncode, 2)
        self.assertIn('2 shape mismatches', r.stderr)
        self.assertIn('keypoint_head.final_layer.weight: checkpoint (14, 256, 1, 1) vs model (17, 256, 1, 1)',
                      r.stderr)
        self.assertNotIn('Traceback', r.stderr)

    def test_garbage_file_and_bad_arguments(self):
        with open(self.path('junk.pth'), 'wb') as f:
            f.write(b'not a checkpoint at all')
        r = run_export('--arch', 'res50', '--checkpoint', self.path('junk.pth'), '--out', self.path('o'))
        self.assertEqual(r.returncode, 2)
        self.assertIn('cannot read checkpoint', r.stderr)
        self.assertNotIn('Traceback', r.stderr)
        r = run_export('--arch', 'res50', '--checkpoint', self.path('missing.pth'), '--out', self.path('o'))
        self.assertEqual(r.returncode, 2)
        self.assertIn('checkpoint not found', r.stderr)
        r = run_export('--arch', 'res50', '--random-init', '--out', self.path('o'))
        self.assertEqual(r.returncode, 2)
        self.assertIn('--seed', r.stderr)
        r = run_export('--arch', 'res50', '--random-init', '--seed', '1',
                       '--checkpoint', self.path('junk.pth'), '--out', self.path('o'))
        self.assertEqual(r.returncode, 2)
        r = run_export('--arch', 'res101', '--random-init', '--seed', '1', '--out', self.path('o'))
        self.assertEqual(r.returncode, 2)
        self.assertIn('invalid choice', r.stderr)

    def test_meta_objects_of_missing_packages_do_not_block_loading(self):
        """Official checkpoints may pickle objects of packages not installed here (mmcv)."""
        import types
        mod = types.ModuleType('fake_mmcv_for_test')

        class Config:
            def __init__(self, text):
                self.text = text
        Config.__module__ = 'fake_mmcv_for_test'
        Config.__qualname__ = 'Config'
        mod.Config = Config
        sys.modules['fake_mmcv_for_test'] = mod
        try:
            torch.save({'state_dict': self.sd, 'meta': {'config': Config('model = dict()')}},
                       self.path('meta.pth'))
        finally:
            del sys.modules['fake_mmcv_for_test']
        sd = read_state_dict(self.path('meta.pth'))
        self.assertEqual(list(sd), list(self.sd))
        load_checkpoint(build_model('res50_simple'), self.path('meta.pth'), 'res50_simple')


class ExportRoundTripTest(unittest.TestCase):
    """export --random-init --save-checkpoint, then export --checkpoint of that file (res50)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix='srpose-export-')
        cls.a = os.path.join(cls.tmp.name, 'a')
        cls.b = os.path.join(cls.tmp.name, 'b')
        cls.ckpt = os.path.join(cls.tmp.name, 'a', 'checkpoint.pth')
        cls.r1 = run_export('--arch', 'res50', '--random-init', '--seed', '3', '--out', cls.a,
                            '--save-checkpoint', cls.ckpt)
        cls.r2 = run_export('--arch', 'res50', '--checkpoint', cls.ckpt, '--out', cls.b)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_exit_status_and_summary(self):
        self.assertEqual(self.r1.returncode, 0, self.r1.stderr[-3000:])
        self.assertEqual(self.r2.returncode, 0, self.r2.stderr[-3000:])
        s = json.loads(self.r1.stdout.strip().splitlines()[-1])
        self.assertEqual(s['params'], 25_114_565)

    def test_saved_checkpoint_has_mmpose_layout(self):
        obj = torch.load(self.ckpt, map_location='cpu')
        self.assertEqual(set(obj), {'state_dict', 'meta'})
        self.assertIsInstance(obj['state_dict'], collections.OrderedDict)
        self.assertTrue(all(k.startswith(('backbone.', 'keypoint_head.')) for k in obj['state_dict']))
        self.assertEqual(obj['meta']['arch'], 'res50')
        self.assertEqual(obj['meta']['randomInit'], {'seed': 3})
        m = build_model('res50')
        m.load_state_dict(obj['state_dict'], strict=True)

    def test_onnx_interface(self):
        m = onnx.load(os.path.join(self.a, 'model.onnx'))
        onnx.checker.check_model(m)
        self.assertEqual([o.version for o in m.opset_import if o.domain in ('', 'ai.onnx')], [17])
        self.assertEqual([i.name for i in m.graph.input], ['image'])
        self.assertEqual([o.name for o in m.graph.output], ['heatmaps'])
        dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]  # noqa: E731
        ind, outd = dims(m.graph.input[0]), dims(m.graph.output[0])
        self.assertIsInstance(ind[0], str)
        self.assertEqual(ind[1:], [3, 256, 192])
        self.assertIsInstance(outd[0], str)
        self.assertEqual(outd[1:], [17, 256, 192])
        self.assertEqual(m.graph.input[0].type.tensor_type.elem_type, onnx.TensorProto.FLOAT)
        ops = collections.Counter(n.op_type for n in m.graph.node)
        self.assertEqual(ops['DepthToSpace'], 1)   # pixel_shuffle of the last converge head
        self.assertGreaterEqual(ops['Erf'], 6)     # GELU of the 6 ConvBlocks
        self.assertEqual(ops['Resize'], 3)         # nearest F.interpolate between levels
        for n in m.graph.node:
            if n.op_type == 'Resize':
                attrs = {a.name: a.s.decode() for a in n.attribute if a.s}
                self.assertEqual(attrs['mode'], 'nearest')
        # weights embedded, one file; only the inference path was traced
        self.assertFalse(any(t.data_location == onnx.TensorProto.EXTERNAL for t in m.graph.initializer))
        n_init = sum(numpy_helper.to_array(t).size for t in m.graph.initializer
                     if t.data_type == onnx.TensorProto.FLOAT)
        self.assertGreater(n_init, 24_700_000)
        self.assertLess(n_init, 25_114_565 - 317_696 + 100_000)

    def test_checkpoint_export_gives_identical_weights(self):
        ma = onnx.load(os.path.join(self.a, 'model.onnx'))
        mb = onnx.load(os.path.join(self.b, 'model.onnx'))
        ia = {t.name: numpy_helper.to_array(t) for t in ma.graph.initializer}
        ib = {t.name: numpy_helper.to_array(t) for t in mb.graph.initializer}
        self.assertEqual(set(ia), set(ib))
        for k in ia:
            self.assertTrue((ia[k] == ib[k]).all() and ia[k].dtype == ib[k].dtype, k)
        self.assertEqual([n.op_type for n in ma.graph.node], [n.op_type for n in mb.graph.node])

    def test_contract(self):
        with open(os.path.join(self.a, 'srpose.json')) as f:
            a = json.load(f)
        with open(os.path.join(self.b, 'srpose.json')) as f:
            b = json.load(f)
        self.assertEqual(set(a), EXPECTED_CONTRACT_KEYS)
        self.assertEqual(a['format'], 'srpose-model/1')
        self.assertEqual(a['name'], 'srpose_res50_coco_256x192')
        self.assertEqual((a['arch'], a['kind'], a['head'], a['dataset']),
                         ('res50', 'top-down', 'TopDownSRPoseHead', 'coco'))
        self.assertEqual(a['input'], {'width': 192, 'height': 256, 'colorOrder': 'RGB',
                                      'mean': [0.485, 0.456, 0.406], 'std': [0.229, 0.224, 0.225]})
        self.assertEqual(a['heatmap'], {'width': 192, 'height': 256})
        self.assertEqual(a['bbox'], {'padding': 1.25, 'pixelStd': 200})
        self.assertEqual(len(a['keypoints']), 17)
        self.assertEqual(a['keypoints'][15:], ['left_ankle', 'right_ankle'])
        self.assertEqual(len(a['skeleton']), 19)
        self.assertEqual(a['flipPairs'], [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12], [13, 14], [15, 16]])
        self.assertEqual(a['flipTest'], {'enabled': True, 'shiftHeatmap': True})
        self.assertEqual(a['decode'], {'method': 'sr', 'poolKernel': 16, 'modulateKernel': 11})
        self.assertEqual(set(a['source']), {'config', 'checkpoint', 'checkpointSha256', 'randomInit',
                                            'exporter', 'command', 'torch', 'opset'})
        self.assertEqual(a['source']['config'], 'configs/top_down/srpose/coco/res50_srpose_coco_256x192.py')
        self.assertEqual(a['source']['randomInit'], {'seed': 3})
        self.assertIsNone(a['source']['checkpoint'])
        self.assertIsNone(a['source']['checkpointSha256'])
        self.assertEqual(a['source']['opset'], 17)
        self.assertEqual(a['source']['torch'], torch.__version__)
        self.assertIn('--random-init', a['source']['command'])
        import hashlib
        with open(os.path.join(self.a, 'model.onnx'), 'rb') as f:
            data = f.read()
        # without --weights: model.onnx only, fp32, recommended
        self.assertEqual(a['onnx'], {'file': 'model.onnx', 'sha256': hashlib.sha256(data).hexdigest(),
                                     'bytes': len(data), 'input': 'image', 'output': 'heatmaps',
                                     'weights': 'fp32', 'recommended': 'fp32'})
        self.assertFalse(any(os.path.exists(os.path.join(self.a, f'model_{k}.onnx')) for k in ('fp16', 'int8')))
        # the --checkpoint export records the checkpoint instead of the seed
        with open(self.ckpt, 'rb') as f:
            ck = hashlib.sha256(f.read()).hexdigest()
        self.assertEqual(b['source']['checkpoint'], 'checkpoint.pth')
        self.assertEqual(b['source']['checkpointSha256'], ck)
        self.assertIsNone(b['source']['randomInit'])
        self.assertEqual({k: v for k, v in a.items() if k not in ('source', 'onnx')},
                         {k: v for k, v in b.items() if k not in ('source', 'onnx')})

    def test_torch_output_of_the_saved_checkpoint(self):
        """The saved weights give the same heatmaps as a fresh random_init with the seed."""
        m = build_model('res50')
        load_checkpoint(m, self.ckpt, 'res50')
        ref = random_init(build_model('res50'), 3)
        x = torch.randn(1, 3, 256, 192, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            self.assertTrue(torch.equal(m(x), ref(x)))


class SimpleContractTest(unittest.TestCase):
    def test_res50_simple_and_hrnet_metadata(self):
        import export
        for arch, name, head, hm, dec, cfg in [
            ('res50_simple', 'srpose_res50_simple_coco_256x192', 'TopDownSimpleHead',
             {'width': 48, 'height': 64}, {'method': 'default', 'modulateKernel': 11},
             'configs/top_down/resnet/coco/res50_coco_256x192.py'),
            ('hrnet_w32', 'srpose_hrnet_w32_coco_256x192', 'TopDownSRPoseHead',
             {'width': 192, 'height': 256}, {'method': 'sr', 'poolKernel': 16, 'modulateKernel': 11},
             'configs/top_down/srpose/coco/hrnet_w32_srpose_coco_256x192.py')]:
            args = export.parse_args(['--arch', arch, '--random-init', '--seed', '0', '--out', 'x'])
            with tempfile.NamedTemporaryFile(suffix='.onnx') as f:
                f.write(b'\0')
                f.flush()
                c = export.contract(args, f.name, None)
            self.assertEqual(set(c), EXPECTED_CONTRACT_KEYS)
            self.assertEqual((c['name'], c['head'], c['heatmap'], c['decode'], c['source']['config']),
                             (name, head, hm, dec, cfg))



# ---------------------------------------------------------------------------------------------
# --dataset crowdpose | mpii (top-down)

# name in .cache/models (models/make_test_models.sh), dataset, joints, input (W, H)
DATASET_MODELS = [('res50_crowdpose', 'crowdpose', 14, (192, 256)),
                  ('res50_mpii', 'mpii', 16, (256, 256))]
# the head layers whose shape follows the number of joints (K): all others are the same
JOINT_LAYERS = {'keypoint_head.lr_head.0.weight', 'keypoint_head.lr_head.0.bias',
                'keypoint_head.lr_fuse.0.weight'} | {
    f'keypoint_head.{m}.{i}.{p}' for i in range(4)
    for m, p in (('kp_encoder', '0.weight'), ('kp_encoder', '0.bias'),
                 ('converge', 'conv.weight'), ('converge', 'conv.bias'))}


def _dataset_models():
    """{name: directory}: .cache/models/<name> where make_test_models.sh made it from the
    current sources, else the same export (--random-init --seed 0 --save-checkpoint) into a
    temporary directory, the missing ones at the same time."""
    import model_cache
    stamp = model_cache.exporter_stamp()
    dirs, todo = {}, []
    for name, dataset, _, _ in DATASET_MODELS:
        d = os.path.join(ROOT, '.cache', 'models', name)
        try:
            with open(os.path.join(d, 'exporter.sha256')) as f:
                ok = f.read().strip() == stamp and all(
                    os.path.exists(os.path.join(d, n))
                    for n in ('model.onnx', 'srpose.json', 'checkpoint.pth'))
        except OSError:
            ok = False
        if ok:
            dirs[name] = d
        else:
            todo.append((name, dataset))
    tmp = None
    if todo:
        tmp = tempfile.TemporaryDirectory(prefix='srpose-datasets-')
        procs = []
        for name, dataset in todo:
            d = os.path.join(tmp.name, name)
            procs.append((name, d, subprocess.Popen(
                [PY, '-W', 'ignore', EXPORT, '--arch', 'res50', '--dataset', dataset,
                 '--random-init', '--seed', '0', '--out', d,
                 '--save-checkpoint', os.path.join(d, 'checkpoint.pth')],
                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
        for name, d, p in procs:
            out, err = p.communicate(timeout=600)
            if p.returncode != 0:
                raise AssertionError(f'export of {name} failed: {err[-3000:]}')
            dirs[name] = d
    return dirs, tmp


class DatasetStructureTest(unittest.TestCase):
    """--dataset crowdpose / mpii without exporting: the models, the metadata, the refusals."""

    def test_keypoint_sets(self):
        for dataset, k, names_end in [('coco', 17, ['left_ankle', 'right_ankle']),
                                      ('crowdpose', 14, ['top_head', 'neck']),
                                      ('mpii', 16, ['left_elbow', 'left_wrist'])]:
            d = build.dataset_info(dataset)
            self.assertEqual(len(d['keypoints']), k, dataset)
            self.assertEqual(len(set(d['keypoints'])), k, dataset)
            self.assertEqual(d['keypoints'][-2:], names_end, dataset)
            seen = set()
            for a, b in d['flip_pairs']:
                self.assertTrue(0 <= a < k and 0 <= b < k and a != b, (dataset, a, b))
                self.assertFalse({a, b} & seen, dataset)  # each joint in one pair at most
                seen |= {a, b}
                # a pair swaps left and right of the same joint
                na, nb = d['keypoints'][a], d['keypoints'][b]
                side = lambda n: n.replace('left', 'X').replace('right', 'X')  # noqa: E731
                self.assertNotEqual(na, nb)
                self.assertEqual(side(na), side(nb), (dataset, na, nb))
                self.assertIn('X', side(na), (dataset, na))
            # the joints that no pair moves are the middle ones
            for i in set(range(k)) - seen:
                self.assertNotRegex(d['keypoints'][i], 'left|right', dataset)
            for a, b in d['skeleton']:
                self.assertTrue(0 <= a < k and 0 <= b < k and a != b, (dataset, a, b))
            self.assertEqual(len({frozenset(p) for p in d['skeleton']}), len(d['skeleton']))
        # mmpose's dataset classes (topdown_crowdpose_dataset.py, topdown_mpii_dataset.py)
        self.assertEqual(build.dataset_info('crowdpose')['flip_pairs'],
                         [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11]])
        self.assertEqual(build.dataset_info('mpii')['flip_pairs'],
                         [[0, 5], [1, 4], [2, 3], [10, 15], [11, 14], [12, 13]])
        self.assertEqual(build.dataset_info('mpii')['keypoints'][6:10],
                         ['pelvis', 'thorax', 'upper_neck', 'head_top'])
        self.assertEqual(len(build.dataset_info('crowdpose')['skeleton']), 15)
        self.assertEqual(len(build.dataset_info('mpii')['skeleton']), 15)
        with self.assertRaises(ValueError) as cm:
            build.dataset_info('aic')
        self.assertIn("'aic'", str(cm.exception))

    def test_arch_info_per_dataset(self):
        coco = {a: build.arch_info(a) for a in ('res50', 'hrnet_w32', 'hrformer_s', 'res50_simple')}
        for a, info in coco.items():  # COCO: the ARCHS entry as it was
            self.assertEqual({k: v for k, v in info.items() if k in build.ARCHS[a]}, build.ARCHS[a])
            self.assertIsNone(info['dataset_config'])
            self.assertEqual(info['input'], (192, 256))
        for dataset, size, tag in [('crowdpose', (192, 256), '256x192'), ('mpii', (256, 256), '256x256')]:
            for a in coco:
                info = build.arch_info(a, dataset)
                self.assertEqual(info['name'], f'srpose_{a}_{dataset}_{tag}')
                self.assertEqual(info['input'], size)
                simple = a == 'res50_simple'
                self.assertEqual(info['heatmap'], (size[0] // 4, size[1] // 4) if simple else size)
                self.assertEqual(info['decode'], coco[a]['decode'])
                self.assertEqual(info['head'], coco[a]['head'])
                self.assertIn(f'/{dataset}/', info['dataset_config'])
                # SimpleBaseline: the dataset's own official config; SR: the COCO SRPose one
                self.assertEqual(info['config'], info['dataset_config'] if simple else coco[a]['config'])
        self.assertEqual(build.arch_info('hrnet_w32', 'mpii')['dataset_config'],
                         'configs/top_down/hrnet/mpii/hrnet_w32_mpii_256x256.py')
        self.assertEqual(build.arch_info('res50', 'crowdpose')['dataset_config'],
                         'configs/top_down/resnet/crowdpose/res50_crowdpose_256x192.py')

    def test_only_the_joint_layers_differ(self):
        coco = build_model('res50').state_dict()
        for dataset, k in (('crowdpose', 14), ('mpii', 16)):
            m = build_model('res50', dataset)
            self.assertEqual(m.dataset, dataset)
            sd = m.state_dict()
            self.assertEqual(list(sd), list(coco))  # the official names, in order
            differ = {n for n in sd if sd[n].shape != coco[n].shape}
            self.assertEqual(differ, JOINT_LAYERS, dataset)
            self.assertEqual(tuple(sd['keypoint_head.lr_head.0.weight'].shape), (k, 2048, 1, 1))
            self.assertEqual(tuple(sd['keypoint_head.converge.3.conv.weight'].shape), (16 * k, 4, 9, 9))
            self.assertEqual(tuple(sd['keypoint_head.kp_encoder.3.0.weight'].shape), (4 * k, 32, 1, 1))
        simple = build_model('res50_simple', 'mpii')
        self.assertEqual(tuple(simple.state_dict()['keypoint_head.final_layer.weight'].shape), (16, 256, 1, 1))
        with torch.no_grad():
            self.assertEqual(tuple(simple(torch.zeros(1, 3, 256, 256)).shape), (1, 16, 64, 64))
        hr = build_model('hrnet_w32', 'crowdpose').state_dict()
        self.assertEqual(tuple(hr['keypoint_head.lr_head.0.weight'].shape), (14, 256, 1, 1))

    def test_bottom_up_and_unknown_datasets_are_refused(self):
        with self.assertRaises(ValueError) as cm:
            build_model('bu_res50', 'crowdpose')
        self.assertIn('coco only', str(cm.exception))
        with self.assertRaises(ValueError):
            build_model('res50', 'aic')
        with tempfile.TemporaryDirectory() as tmp:
            r = run_export('--arch', 'bu_res50', '--dataset', 'mpii', '--random-init', '--seed', '0',
                           '--out', tmp)
            self.assertEqual(r.returncode, 2)
            self.assertIn('--dataset mpii: the bottom-up arch bu_res50 is exported for coco only', r.stderr)
            r = run_export('--arch', 'res50', '--dataset', 'aic', '--random-init', '--seed', '0',
                           '--out', tmp)
            self.assertEqual(r.returncode, 2)
            self.assertIn('invalid choice', r.stderr)
            self.assertEqual(os.listdir(tmp), [])

    def test_contract_fields(self):
        import export
        for arch in ('hrnet_w32', 'hrformer_s', 'res50_simple'):
            for dataset, (w, h), k in (('crowdpose', (192, 256), 14), ('mpii', (256, 256), 16)):
                args = export.parse_args(['--arch', arch, '--dataset', dataset, '--random-init',
                                          '--seed', '0', '--out', 'x'])
                with tempfile.NamedTemporaryFile(suffix='.onnx') as f:
                    f.write(b'\0')
                    f.flush()
                    c = export.contract(args, f.name, None)
                self.assertEqual(set(c), EXPECTED_CONTRACT_KEYS)
                info = build.arch_info(arch, dataset)
                self.assertEqual((c['name'], c['dataset'], c['arch']), (info['name'], dataset, arch))
                self.assertEqual(c['input']['width'], w)
                self.assertEqual(c['input']['height'], h)
                self.assertEqual(len(c['keypoints']), k)
                self.assertEqual(c['source']['datasetConfig'], info['dataset_config'])
                self.assertEqual(c['flipTest'], {'enabled': True, 'shiftHeatmap': True})


class DatasetExportTest(unittest.TestCase):
    """The random-weight test models res50_crowdpose and res50_mpii (make_test_models.sh): the
    ONNX interface, srpose.json, onnxruntime-web against PyTorch, the reference pipeline, and a
    checkpoint of another dataset refused with a message naming --dataset."""

    @classmethod
    def setUpClass(cls):
        cls.dirs, cls._export_tmp = _dataset_models()
        cls.tmp = tempfile.TemporaryDirectory(prefix='srpose-dataset-test-')

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()
        if cls._export_tmp is not None:
            cls._export_tmp.cleanup()

    def contract(self, name):
        with open(os.path.join(self.dirs[name], 'srpose.json')) as f:
            return json.load(f)

    def test_onnx_shapes(self):
        for name, _, k, (w, h) in DATASET_MODELS:
            m = onnx.load(os.path.join(self.dirs[name], 'model.onnx'))
            onnx.checker.check_model(m)
            dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]  # noqa: E731
            self.assertEqual([i.name for i in m.graph.input], ['image'])
            self.assertEqual([o.name for o in m.graph.output], ['heatmaps'])
            ind, outd = dims(m.graph.input[0]), dims(m.graph.output[0])
            self.assertIsInstance(ind[0], str)
            self.assertIsInstance(outd[0], str)
            self.assertEqual(ind[1:], [3, h, w], name)
            self.assertEqual(outd[1:], [k, h, w], name)  # SR head: heatmaps at the input size

    def test_contract(self):
        res50 = build.arch_info('res50')
        for name, dataset, k, (w, h) in DATASET_MODELS:
            c = self.contract(name)
            self.assertEqual(set(c), EXPECTED_CONTRACT_KEYS)
            self.assertEqual((c['name'], c['arch'], c['kind'], c['head'], c['dataset']),
                             (f'srpose_res50_{dataset}_{h}x{w}', 'res50', 'top-down',
                              'TopDownSRPoseHead', dataset))
            self.assertEqual(c['input'], {'width': w, 'height': h, 'colorOrder': 'RGB',
                                          'mean': [0.485, 0.456, 0.406], 'std': [0.229, 0.224, 0.225]})
            self.assertEqual(c['heatmap'], {'width': w, 'height': h})
            self.assertEqual(c['bbox'], {'padding': 1.25, 'pixelStd': 200})
            self.assertEqual(c['keypoints'], build.dataset_info(dataset)['keypoints'])
            self.assertEqual(c['flipPairs'], build.dataset_info(dataset)['flip_pairs'])
            self.assertEqual(c['skeleton'], build.dataset_info(dataset)['skeleton'])
            for pairs in (c['flipPairs'], c['skeleton']):
                self.assertTrue(all(0 <= i < k for p in pairs for i in p))
            self.assertEqual(c['flipTest'], {'enabled': True, 'shiftHeatmap': True})
            self.assertEqual(c['decode'], res50['decode'])
            self.assertEqual(c['source']['config'], res50['config'])
            self.assertEqual(c['source']['datasetConfig'],
                             f'configs/top_down/resnet/{dataset}/res50_{dataset}_{h}x{w}.py')
            self.assertEqual(c['source']['randomInit'], {'seed': 0})
            self.assertIn(f'--dataset {dataset}', c['source']['command'])
            self.assertEqual(c['onnx']['weights'], 'fp32')
            obj = torch.load(os.path.join(self.dirs[name], 'checkpoint.pth'), map_location='cpu')
            self.assertEqual((obj['meta']['arch'], obj['meta']['dataset']), ('res50', dataset))

    @unittest.skipUnless(os.path.exists(os.path.join(ROOT, 'node_modules', '.bin', 'tsx')),
                         'node_modules missing (npm ci)')
    def test_typescript_accepts_the_contracts(self):
        files = [os.path.join(self.dirs[n], 'srpose.json') for n, *_ in DATASET_MODELS]
        code = ("import { readFileSync } from 'node:fs';"
                "import { parseModelConfig } from './src/model/config.ts';"
                "for (const f of process.argv.slice(2)) { const c = parseModelConfig("
                "JSON.parse(readFileSync(f, 'utf8')), f); console.log(JSON.stringify({kind: c.kind,"
                " k: c.keypoints.length, input: c.input, flip: c.flipPairs.length})); }")
        # written inside the repository (.cache, git-ignored) so that ../src resolves
        local = os.path.join(ROOT, '.cache', f'parse-contract-{os.getpid()}.ts')
        os.makedirs(os.path.dirname(local), exist_ok=True)
        with open(local, 'w') as f:
            f.write(code.replace("'./src/", "'../src/"))
        try:
            r = subprocess.run([os.path.join(ROOT, 'node_modules', '.bin', 'tsx'), local, *files],
                               cwd=ROOT, capture_output=True, text=True, timeout=120)
        finally:
            os.remove(local)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        got = [json.loads(line) for line in r.stdout.strip().splitlines()]
        for g, (_, _, k, (w, h)) in zip(got, DATASET_MODELS):
            self.assertEqual((g['kind'], g['k'], g['input']['width'], g['input']['height'], g['flip']),
                             ('top-down', k, w, h, 6))

    def test_onnxruntime_equals_pytorch(self):
        import model_cache
        if not model_cache.HAS_ORT:
            self.skipTest('node or node_modules/onnxruntime-web missing (npm ci)')
        for name, dataset, k, (w, h) in DATASET_MODELS:
            model = build_model('res50', dataset)
            load_checkpoint(model, os.path.join(self.dirs[name], 'checkpoint.pth'), 'res50')
            x = torch.randn(1, 3, h, w, generator=torch.Generator().manual_seed(1))
            with torch.no_grad():
                want = model(x).numpy()
            got = model_cache.ort_run(os.path.join(self.dirs[name], 'model.onnx'), x.numpy(),
                                      self.tmp.name)
            self.assertEqual(got.shape, (1, k, h, w))
            rng = float(want.max() - want.min())
            err = float(abs(got - want).max())
            print(f'    {name}: max |ort - torch| = {err:.2e} = {err / rng:.1e} of the range {rng:.3g}')
            self.assertGreater(rng, 2.0)
            self.assertLessEqual(err, 1e-4 * rng)

    def test_wrong_dataset_checkpoint_is_refused(self):
        mpii_ck = os.path.join(self.dirs['res50_mpii'], 'checkpoint.pth')
        crowd_ck = os.path.join(self.dirs['res50_crowdpose'], 'checkpoint.pth')
        # in the library: a CheckpointError naming the checkpoint's dataset
        with self.assertRaises(CheckpointError) as cm:
            load_checkpoint(build_model('res50', 'mpii'), crowd_ck, 'res50')
        msg = str(cm.exception)
        self.assertIn('wrong dataset: the checkpoint predicts 14 keypoints', msg)
        self.assertIn("built for dataset 'mpii' with 16 keypoints; export it with --dataset crowdpose", msg)
        # a COCO checkpoint into a CrowdPose model
        coco_ck = os.path.join(self.tmp.name, 'coco.pth')
        torch.save({'state_dict': build_model('res50').state_dict()}, coco_ck)
        with self.assertRaises(CheckpointError) as cm:
            load_checkpoint(build_model('res50', 'crowdpose'), coco_ck, 'res50')
        self.assertIn('export it with --dataset coco', str(cm.exception))
        # SimpleBaseline: the final layer tells
        sd = build_model('res50_simple', 'mpii').state_dict()
        torch.save(sd, os.path.join(self.tmp.name, 'simple_mpii.pth'))
        with self.assertRaises(CheckpointError) as cm:
            load_checkpoint(build_model('res50_simple'), os.path.join(self.tmp.name, 'simple_mpii.pth'),
                            'res50_simple')
        self.assertIn('keypoint_head.final_layer.weight has 16 output channels: mpii', str(cm.exception))
        # the CLI (default --dataset coco): exit status 2, the message, no traceback, no file
        out = os.path.join(self.tmp.name, 'out-wrong')
        r = run_export('--arch', 'res50', '--checkpoint', mpii_ck, '--out', out)
        self.assertEqual(r.returncode, 2, r.stderr[-3000:])
        self.assertIn("does not match arch 'res50'", r.stderr)
        self.assertIn('wrong dataset: the checkpoint predicts 16 keypoints '
                      '(keypoint_head.lr_head.0.weight has 16 output channels: mpii), but the model '
                      "was built for dataset 'coco' with 17 keypoints; export it with --dataset mpii",
                      r.stderr)
        self.assertIn('keypoint_head.lr_head.0.weight: checkpoint (16, 2048, 1, 1) vs model (17, 2048, 1, 1)',
                      r.stderr)
        self.assertNotIn('Traceback', r.stderr)
        self.assertFalse(os.path.exists(os.path.join(out, 'model.onnx')))

    def test_checkpoint_loads_strictly_and_reproduces_the_seed(self):
        """The exported checkpoint (official layout) loads into the dataset's model unchanged
        and equals a fresh random_init at the dataset's calibration size."""
        name, dataset, k, (w, h) = DATASET_MODELS[1]
        m = build_model('res50', dataset)
        sd = load_checkpoint(m, os.path.join(self.dirs[name], 'checkpoint.pth'), 'res50')
        self.assertEqual(list(sd), list(build_model('res50', dataset).state_dict()))
        ref = random_init(build_model('res50', dataset), 0, size=(h, w))
        x = torch.randn(1, 3, h, w, generator=torch.Generator().manual_seed(2))
        with torch.no_grad():
            self.assertTrue(torch.equal(m(x), ref(x)))

    def test_reference_pipeline_uses_the_models_keypoint_set(self):
        import numpy as np
        import official
        import reference as R
        name, dataset, k, (w, h) = DATASET_MODELS[1]  # mpii: 256 x 256 crops, 16 joints
        model, cfg, arch = R.load_model(self.dirs[name])
        self.assertEqual((arch, model.dataset, cfg['dataset']), ('res50', 'mpii', 'mpii'))
        method, kernel, pool, pairs, shift, size = R._settings(model, cfg, arch)
        self.assertEqual((method, pool, pairs, shift, size),
                         ('sr', 16, build.dataset_info('mpii')['flip_pairs'], True, (256, 256)))
        # without srpose.json: --arch + --dataset
        self.assertEqual(R.input_size(None, 'res50', 'mpii'), (256, 256))
        self.assertEqual(R._decode_settings(None, 'res50', None, 'crowdpose')[3],
                         build.dataset_info('crowdpose')['flip_pairs'])
        img = (np.arange(300 * 400 * 3) % 251).astype(np.uint8).reshape(300, 400, 3)
        x, c, s = R.prepare(img, [[50, 40, 200, 100]], size)
        self.assertEqual(tuple(x.shape), (1, 3, 256, 256))
        self.assertEqual(s.tolist(), [[1.25, 1.25]])  # aspect 1: 200 x 200 px, * 1.25 / 200
        photo = os.path.join(os.path.dirname(ROOT), 'shared', 'data', 'mpii', '005808361.jpg')
        if not os.path.exists(photo):
            self.skipTest('../shared/data/mpii missing')
        R.use_fast_deconv(model)
        r = R.run_image(model, method, photo, [[500, 0, 900, 700]], True, kernel, pool, pairs,
                        shift, size)
        kps = np.array(r['keypoints'][0])
        self.assertEqual(kps.shape, (16, 3))
        self.assertTrue(np.isfinite(kps).all())
        # the scores are the flip-test heatmap maxima of the 256 x 256 crop
        x, _, _ = R.prepare(official.imread_rgb(photo), [[500, 0, 900, 700]], size)
        hm = R.heatmaps_of(model, x, True, pairs, shift)
        self.assertEqual(hm.shape, (1, 16, 256, 256))
        np.testing.assert_allclose(kps[:, 2], hm.reshape(16, -1).max(-1), rtol=1e-6)


if __name__ == '__main__':
    unittest.main()
