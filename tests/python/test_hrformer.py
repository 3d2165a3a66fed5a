"""Tests of the HRFormer-S SRPose model (models/srpose_models/hrformer.py, arch hrformer_s):
official parameter names and shapes (configs/top_down/srpose/coco/hrt_small_srpose_coco_256x192.py
with the official HRT modules), parameter counts against the official README, strict loading,
the window attention against a direct per-window formulation, and the ONNX export on
onnxruntime-web against PyTorch.

Run from the repository root:
    /usr/bin/python3 -m unittest discover -s tests/python -p 'test_*.py'
"""
import collections
import json
import os
import tempfile
import unittest

import model_cache as MC  # noqa: E402  (puts models/ on sys.path)

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from srpose_models import build_model  # noqa: E402
from srpose_models.checkpoint import CheckpointError, load_checkpoint  # noqa: E402
from srpose_models.hrformer import InterlacedPoolAttention  # noqa: E402

torch.set_num_threads(2)


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def used_params(model, size=(128, 96)):
    """{parameter name: numel} of the parameters the eval forward uses (those with a gradient)."""
    model.zero_grad(set_to_none=True)
    model.eval()
    model(torch.randn(1, 3, *size)).sum().backward()
    used = {k: p.numel() for k, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return used


class StructureTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = build_model('hrformer_s')
        cls.sd = cls.model.state_dict()

    def test_param_counts_against_the_official_table(self):
        # README of haonanwang0522/SRPose, COCO val, top-down, HRFormer-S, SRPose:
        # Params Backbone 8.21M, Other 0.65M
        bb, head = self.model.backbone, self.model.keypoint_head
        self.assertEqual(n_params(bb), 7_891_050)
        self.assertEqual(n_params(head), 966_789)
        used = used_params(self.model)
        used_bb = sum(v for k, v in used.items() if k.startswith('backbone.'))
        used_head = sum(v for k, v in used.items() if k.startswith('keypoint_head.'))
        # "Other" counts the head's inference path, as for res50 (1.29M) and hrnet_w32 (0.65M)
        self.assertEqual(used_head, 649_093)
        self.assertEqual(round(used_head / 1e6, 2), 0.65)
        # the head's training-only kp_encoder.0-2 + converge.0-2, as for the other archs
        self.assertEqual(n_params(head) - used_head, 317_696)
        # the relative position bias tables (20,618) are parameters the forward leaves out,
        # as the official one does
        rpe = sum(p.numel() for k, p in bb.named_parameters() if k.endswith('relative_position_bias_table'))
        self.assertEqual(rpe, 20_618)
        self.assertEqual(used_bb, n_params(bb) - rpe)
        # the table's 8.21M backbone is everything but the "Other" column: the backbone (7.89M,
        # the "Simple head" row's backbone figure) plus the head's training-only 0.32M
        total = n_params(self.model)
        self.assertEqual(total - used_head, 8_208_746)
        self.assertEqual(round((total - used_head) / 1e6, 2), 8.21)
        self.assertEqual(round(n_params(bb) / 1e6, 2), 7.89)

    def test_official_names_and_shapes(self):
        shapes = {
            # stem and stage 1 (mmcv Bottleneck x2, 64 -> 256)
            'backbone.conv1.weight': (64, 3, 3, 3),
            'backbone.bn2.running_var': (64,),
            'backbone.layer1.0.downsample.0.weight': (256, 64, 1, 1),
            'backbone.layer1.1.conv3.weight': (256, 64, 1, 1),
            'backbone.layer1.1.bn3.num_batches_tracked': (),
            'backbone.transition1.0.0.weight': (32, 256, 3, 3),
            'backbone.transition1.1.0.0.weight': (64, 256, 3, 3),
            'backbone.transition3.3.0.0.weight': (256, 128, 3, 3),
            # the first transformer block: stage2, module 0, branch 0, block 0
            'backbone.stage2.0.branches.0.0.norm1.weight': (32,),
            'backbone.stage2.0.branches.0.0.norm1.bias': (32,),
            'backbone.stage2.0.branches.0.0.attn.attn.q_proj.weight': (32, 32),
            'backbone.stage2.0.branches.0.0.attn.attn.k_proj.bias': (32,),
            'backbone.stage2.0.branches.0.0.attn.attn.v_proj.weight': (32, 32),
            'backbone.stage2.0.branches.0.0.attn.attn.out_proj.weight': (32, 32),
            'backbone.stage2.0.branches.0.0.attn.attn.relative_position_bias_table': (169, 1),
            'backbone.stage2.0.branches.0.0.attn.attn.relative_position_index': (49, 49),
            'backbone.stage2.0.branches.0.0.norm2.bias': (32,),
            'backbone.stage2.0.branches.0.0.mlp.fc1.weight': (128, 32, 1, 1),
            'backbone.stage2.0.branches.0.0.mlp.fc1.bias': (128,),
            'backbone.stage2.0.branches.0.0.mlp.norm1.running_mean': (128,),
            'backbone.stage2.0.branches.0.0.mlp.dw3x3.weight': (128, 1, 3, 3),
            'backbone.stage2.0.branches.0.0.mlp.dw3x3.bias': (128,),
            'backbone.stage2.0.branches.0.0.mlp.fc2.weight': (32, 128, 1, 1),
            'backbone.stage2.0.branches.0.0.mlp.norm3.weight': (32,),
            # heads per branch: 1, 2, 4, 8
            'backbone.stage3.3.branches.2.1.attn.attn.relative_position_bias_table': (169, 4),
            'backbone.stage4.1.branches.3.1.attn.attn.relative_position_bias_table': (169, 8),
            'backbone.stage4.1.branches.3.1.mlp.fc1.weight': (1024, 256, 1, 1),
            # fuse: j > i conv1x1 + BN + bilinear Upsample; j < i (dw 3x3 s2, BN, 1x1, BN[, ReLU])
            'backbone.stage4.1.fuse_layers.0.3.0.weight': (32, 256, 1, 1),
            'backbone.stage4.1.fuse_layers.0.3.1.running_mean': (32,),
            'backbone.stage4.1.fuse_layers.3.0.0.0.weight': (32, 1, 3, 3),
            'backbone.stage4.1.fuse_layers.3.0.0.2.weight': (32, 32, 1, 1),
            'backbone.stage4.1.fuse_layers.3.0.2.0.weight': (32, 1, 3, 3),
            'backbone.stage4.1.fuse_layers.3.0.2.2.weight': (256, 32, 1, 1),
            'backbone.stage4.1.fuse_layers.3.0.2.3.running_var': (256,),
            'backbone.stage4.1.fuse_layers.2.1.0.3.weight': (128,),
            # the head as hrnet_w32's
            'keypoint_head.lr_head.0.weight': (17, 256, 1, 1),
            'keypoint_head.pre_fuse.3.0.weight': (32, 32, 1, 1),
            'keypoint_head.converge.3.conv.weight': (272, 4, 9, 9),
        }
        for k, s in shapes.items():
            self.assertIn(k, self.sd)
            self.assertEqual(tuple(self.sd[k].shape), s, k)
        self.assertEqual(len([k for k in self.sd if k.startswith('backbone.')]), 2212)
        self.assertEqual(len([k for k in self.sd if k.startswith('keypoint_head.')]), 147)
        self.assertEqual(len([k for k in self.sd if k.endswith('relative_position_bias_table')]), 44)
        # no fuse layer for i == j, no stride-2 step with a ReLU at its end, no DropPath params
        self.assertFalse(any('.fuse_layers.1.1.' in k or '.fuse_layers.3.3.' in k for k in self.sd))
        self.assertFalse(any('.fuse_layers.3.0.2.4' in k for k in self.sd))
        self.assertFalse(any('drop_path' in k for k in self.sd))
        self.assertFalse(any(k.startswith('backbone.stage4.') and 'fuse_layers.4' in k for k in self.sd))
        # the official relative position index: (dy + 6) * 13 + (dx + 6), int64
        idx = self.sd['backbone.stage2.0.branches.0.0.attn.attn.relative_position_index']
        self.assertEqual(idx.dtype, torch.int64)
        self.assertEqual(int(idx[0, 48]), 0)       # a = (0, 0), b = (6, 6)
        self.assertEqual(int(idx[48, 0]), 168)
        self.assertTrue(bool((idx.diagonal() == 84).all()))
        self.assertEqual(int(idx[0, 1]), 6 * 13 + 5)  # dx = -1

    def test_forward_shapes_and_the_unused_bias_table(self):
        m = build_model('hrformer_s')
        x = torch.randn(1, 3, 256, 192, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            feats = m.backbone(x)
            self.assertEqual([tuple(f.shape) for f in feats],
                             [(1, 32, 64, 48), (1, 64, 32, 24), (1, 128, 16, 12), (1, 256, 8, 6)])
            y = m.keypoint_head(feats)
            self.assertEqual(tuple(y.shape), (1, 17, 256, 192))
            # the official forward adds no relative position bias: the tables change nothing
            for k, p in m.named_parameters():
                if k.endswith('relative_position_bias_table'):
                    p.normal_(0, 5)
            self.assertTrue(torch.equal(m(x), y))
            # a size that is no multiple of the window anywhere (56x40 .. 7x5): padding works
            self.assertEqual([tuple(f.shape[2:]) for f in m.backbone(torch.randn(1, 3, 224, 160))],
                             [(56, 40), (28, 20), (14, 10), (7, 5)])

    def test_window_attention_equals_a_direct_per_window_version(self):
        """The official computation written out window by window: F.pad (centred), each 7x7
        window's 49 tokens (padding included, no mask), separate q/k/v projections, softmax."""
        torch.manual_seed(3)
        att = InterlacedPoolAttention(64, 2, 7)
        for p in att.parameters():
            torch.nn.init.normal_(p, 0, 0.3)
        x = torch.randn(2, 17, 12, 64)
        with torch.no_grad():
            got = att(x)
            ph, pw = 21 - 17, 14 - 12
            xp = F.pad(x, (0, 0, pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
            mha = att.attn
            want = torch.zeros_like(xp)
            for n in range(2):
                for wy in range(3):
                    for wx in range(2):
                        tok = xp[n, wy * 7:wy * 7 + 7, wx * 7:wx * 7 + 7].reshape(49, 64)
                        q = mha.q_proj(tok) * 32 ** -0.5
                        k, v = mha.k_proj(tok), mha.v_proj(tok)
                        heads = []
                        for h in range(2):
                            s = slice(h * 32, h * 32 + 32)
                            heads.append(torch.softmax(q[:, s] @ k[:, s].T, -1) @ v[:, s])
                        o = mha.out_proj(torch.cat(heads, 1))
                        want[n, wy * 7:wy * 7 + 7, wx * 7:wx * 7 + 7] = o.reshape(7, 7, 64)
            want = want[:, ph // 2:ph // 2 + 17, pw // 2:pw // 2 + 12]
        self.assertEqual(tuple(got.shape), (2, 17, 12, 64))
        self.assertGreater(float(want.abs().max()), 1.0)
        self.assertLess(float((got - want).abs().max()), 1e-6 * float(want.abs().max()) * 64)


class StrictLoadingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix='srpose-hrformer-ckpt-')
        cls.sd = build_model('hrformer_s').state_dict()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def test_official_layout_loads_and_bad_keys_exit_2(self):
        torch.save({'state_dict': self.sd, 'meta': {}}, self.path('ok.pth'))
        m = build_model('hrformer_s')
        load_checkpoint(m, self.path('ok.pth'), 'hrformer_s')
        sd = collections.OrderedDict(self.sd)
        del sd['backbone.stage3.2.branches.1.0.attn.attn.relative_position_bias_table']
        del sd['backbone.stage2.0.branches.0.0.norm1.weight']
        sd['backbone.stage2.0.branches.0.0.attn.attn.in_proj_weight'] = torch.zeros(96, 32)
        torch.save({'state_dict': sd}, self.path('bad.pth'))
        with self.assertRaises(CheckpointError) as cm:
            load_checkpoint(build_model('hrformer_s'), self.path('bad.pth'), 'hrformer_s')
        self.assertIn('2 missing, 1 unexpected, 0 shape mismatches', str(cm.exception))
        r = MC.run_export('--arch', 'hrformer_s', '--checkpoint', self.path('bad.pth'),
                          '--out', self.path('out-bad'))
        self.assertEqual(r.returncode, 2, r.stderr[-2000:])
        self.assertIn("arch 'hrformer_s'", r.stderr)
        self.assertIn('missing keys (2)', r.stderr)
        self.assertIn('backbone.stage3.2.branches.1.0.attn.attn.relative_position_bias_table', r.stderr)
        self.assertIn('backbone.stage2.0.branches.0.0.norm1.weight', r.stderr)
        self.assertIn('unexpected keys (1)', r.stderr)
        self.assertIn('backbone.stage2.0.branches.0.0.attn.attn.in_proj_weight', r.stderr)
        self.assertNotIn('Traceback', r.stderr)
        self.assertFalse(os.path.exists(self.path('out-bad/model.onnx')))

    def test_heads_of_another_count_are_a_shape_mismatch(self):
        sd = collections.OrderedDict(self.sd)
        k = 'backbone.stage4.0.branches.3.0.attn.attn.relative_position_bias_table'
        sd[k] = torch.zeros(169, 4)
        torch.save(sd, self.path('shape.pth'))
        with self.assertRaises(CheckpointError) as cm:
            load_checkpoint(build_model('hrformer_s'), self.path('shape.pth'), 'hrformer_s')
        self.assertIn(f'{k}: checkpoint (169, 4) vs model (169, 8)', str(cm.exception))

    def test_an_hrnet_checkpoint_is_refused(self):
        torch.save({'state_dict': build_model('hrnet_w32').state_dict()}, self.path('hrnet.pth'))
        with self.assertRaises(CheckpointError) as cm:
            load_checkpoint(build_model('hrformer_s'), self.path('hrnet.pth'), 'hrformer_s')
        msg = str(cm.exception)
        self.assertIn("arch 'hrformer_s'", msg)
        self.assertIn('unexpected keys', msg)
        self.assertIn('missing keys', msg)


class ExportTest(unittest.TestCase):
    """The hrformer_s test model (random weights, seed 0, --weights fp32,fp16,int8): ONNX
    interface and operators, srpose.json, onnxruntime-web against PyTorch."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix='srpose-hrformer-')
        cls.dir, cls.result = MC.get_test_model('hrformer_s')

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_exit_status(self):
        if self.result is not None:
            self.assertEqual(self.result.returncode, 0, self.result.stderr[-3000:])
            self.assertEqual(MC.last_json(self.result)['params'], 7_891_050 + 966_789)

    def test_onnx_interface_and_operators(self):
        m = onnx.load(os.path.join(self.dir, 'model.onnx'))
        onnx.checker.check_model(m)
        self.assertEqual([o.version for o in m.opset_import if o.domain in ('', 'ai.onnx')], [17])
        dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]  # noqa: E731
        self.assertEqual([i.name for i in m.graph.input], ['image'])
        self.assertEqual([o.name for o in m.graph.output], ['heatmaps'])
        self.assertEqual(dims(m.graph.input[0]), ['batch', 3, 256, 192])
        self.assertEqual(dims(m.graph.output[0]), ['batch', 17, 256, 192])
        ops = collections.Counter(n.op_type for n in m.graph.node)
        self.assertEqual(ops['LayerNormalization'], 88)   # 2 per transformer block
        self.assertEqual(ops['Softmax'], 44)              # one attention per block
        self.assertGreaterEqual(ops['Erf'], 3 * 44 + 6)   # GELU: MLPs, head ConvBlocks
        self.assertEqual(ops['DepthToSpace'], 1)
        self.assertEqual(ops['Pad'], 0)                   # window padding by Concat
        for n in m.graph.node:
            if n.op_type == 'Resize':
                attrs = {a.name: a.s.decode() for a in n.attribute if a.s}
                # fuse upsampling: bilinear, align_corners False; head: nearest
                self.assertIn((attrs['mode'], attrs.get('coordinate_transformation_mode')),
                              {('linear', 'half_pixel'), ('linear', 'pytorch_half_pixel'),
                               ('nearest', 'asymmetric')})
        # fuse upsampling in stage 2 (1 module x 1), 3 (4 x 3), 4 (2 x 6); the head's 3
        self.assertEqual(ops['Resize'], 1 + 4 * 3 + 2 * 6 + 3)

    def test_contract(self):
        with open(os.path.join(self.dir, 'srpose.json')) as f:
            c = json.load(f)
        self.assertEqual(list(c), ['format', 'name', 'arch', 'kind', 'head', 'dataset', 'source',
                                   'onnx', 'input', 'heatmap', 'bbox', 'keypoints', 'skeleton',
                                   'flipPairs', 'flipTest', 'decode'])
        self.assertEqual((c['name'], c['arch'], c['kind'], c['head']),
                         ('srpose_hrformer_s_coco_256x192', 'hrformer_s', 'top-down', 'TopDownSRPoseHead'))
        self.assertEqual(c['source']['config'], 'configs/top_down/srpose/coco/hrt_small_srpose_coco_256x192.py')
        self.assertEqual(c['source']['randomInit'], {'seed': 0})
        self.assertIn('--weights fp32,fp16,int8', c['source']['command'])
        self.assertEqual(c['heatmap'], {'width': 192, 'height': 256})
        # test_cfg: flip_test True, shift_heatmap True; TopDownHigher's SR decode
        self.assertEqual(c['flipTest'], {'enabled': True, 'shiftHeatmap': True})
        self.assertEqual(c['decode'], {'method': 'sr', 'poolKernel': 16, 'modulateKernel': 11})
        res50_dir, _ = MC.get_test_model('res50')
        with open(os.path.join(res50_dir, 'srpose.json')) as f:
            res50 = json.load(f)
        same = ('format', 'kind', 'head', 'dataset', 'input', 'heatmap', 'bbox', 'keypoints',
                'skeleton', 'flipPairs', 'flipTest', 'decode')
        self.assertEqual({k: c[k] for k in same}, {k: res50[k] for k in same})
        # what the exporter writes; `prepared` is added afterwards by `srpose prepare`
        # (models/make_test_models.sh prepares hrformer_s)
        self.assertEqual([k for k in c['onnx'] if k != 'prepared'],
                         ['file', 'sha256', 'bytes', 'input', 'output', 'weights', 'variants',
                          'recommended'])

    @unittest.skipUnless(MC.HAS_ORT, 'node or node_modules/onnxruntime-web missing (npm ci)')
    def test_onnxruntime_equals_pytorch(self):
        model = build_model('hrformer_s')
        load_checkpoint(model, os.path.join(self.dir, 'checkpoint.pth'), 'hrformer_s')
        x = torch.randn(2, 3, 256, 192, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            want = model(x).numpy()
        got = MC.ort_run(os.path.join(self.dir, 'model.onnx'), x.numpy(), self.tmp.name)
        self.assertEqual(got.shape, (2, 17, 256, 192))
        rng = float(want.max() - want.min())
        err = float(np.abs(got - want).max())
        print(f'    hrformer_s: max |ort - torch| = {err:.2e} = {err / rng:.1e} of the range {rng:.3g}')
        self.assertGreater(rng, 2.0)
        self.assertLessEqual(err, 1e-3 * rng)


if __name__ == '__main__':
    unittest.main()
