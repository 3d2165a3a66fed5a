"""Tests of models/reference.py: the official decodes (SR, default, DARK) with their quirks,
the flip test, the reference pipeline and the CLI the TypeScript parity tests call.

Run from the repository root:
    /usr/bin/python3 -m unittest discover -s tests/python -p 'test_*.py'
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

from support import MODELS, ROOT  # noqa: E402  (puts models/ on sys.path)

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

import official  # noqa: E402
import reference as R  # noqa: E402
from srpose_models import build_model  # noqa: E402
from srpose_models.checkpoint import random_init  # noqa: E402

PY = sys.executable or '/usr/bin/python3'
REF = os.path.join(MODELS, 'reference.py')
COCO = os.path.join(ROOT, '..', 'shared', 'data', 'coco')
torch.set_num_threads(2)

# a crop frame in which heatmap pixel (x, y) of a 192x256 map is image pixel (x, y)
IDENTITY_C = np.array([[96.0, 128.0]], np.float32)
IDENTITY_S = np.array([[192 / 200, 256 / 200]], np.float32)


def gaussian(h, w, x, y, sigma=2.0, amp=1.0):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    return (amp * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma ** 2))).astype(np.float32)


def run_ref(*args):
    r = subprocess.run([PY, '-W', 'ignore', REF, *args], cwd=ROOT, capture_output=True, text=True,
                       timeout=600)
    if r.returncode != 0:
        raise AssertionError(f'reference.py {args[0]} exited {r.returncode}: {r.stderr[-2000:]}')
    return json.loads(r.stdout.strip().splitlines()[-1])


class TransformTest(unittest.TestCase):
    def test_transform_preds_maps_heatmap_frame_onto_the_box(self):
        c = np.array([300.5, 200.25], np.float32)
        s = np.array([1.6, 2.1333], np.float32)
        pts = np.array([[0, 0], [48, 64], [24, 32]], np.float32)
        out = R.transform_preds(pts, c, s, [48, 64])
        self.assertEqual(out.dtype, np.float32)
        np.testing.assert_allclose(out[0], c - s * 100, rtol=0, atol=1e-4)
        np.testing.assert_allclose(out[1], c + s * 100, rtol=0, atol=1e-4)
        np.testing.assert_allclose(out[2], c, rtol=0, atol=1e-4)


class DecodeSRTest(unittest.TestCase):
    def test_subpixel_gaussian_is_recovered_within_a_quarter_pixel(self):
        rs = np.random.RandomState(0)
        pts = [(100.3, 77.6), (20.5, 200.25), (3.1, 4.9), (180.8, 250.2), (95.0, 128.0)]
        pts += [tuple(rs.uniform([3, 3], [189, 253])) for _ in range(20)]
        hm = np.stack([gaussian(256, 192, x, y, sigma=3) for x, y in pts])[None]
        c = np.repeat(IDENTITY_C, 1, 0)
        preds, maxvals = R.decode_sr(hm, c, IDENTITY_S)
        err = np.abs(preds[0] - np.array(pts, np.float32))
        self.assertLessEqual(err.max(), 0.25 + 1e-4, err.max())
        self.assertEqual(preds.shape, (1, len(pts), 2))
        self.assertEqual(maxvals.shape, (1, len(pts)))
        self.assertTrue(np.all(maxvals > 0.9))

    def test_unique_positive_max_equals_default_decode(self):
        rs = np.random.RandomState(1)
        hm = rs.randn(2, 17, 256, 192).astype(np.float32)
        c = np.array([[300.5, 200.25], [50, 60]], np.float32)
        s = np.array([[1.6, 2.1333], [0.7, 0.9]], np.float32)
        a, va = R.decode_sr(hm, c, s)
        b, vb = R.decode_default(hm, c, s)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(va, vb)

    def test_ties_across_windows_take_the_first_pooled_cell(self):
        """Official quirk: argmax over the 16x16-pooled maxima, so among equal maxima the one
        in the first pooled cell (row-major over cells) wins, not the first pixel."""
        hm = np.zeros((1, 2, 256, 192), np.float32)
        hm[0, 0, 0, 100] = 3   # first in row-major pixel order, pooled cell (0, 6)
        hm[0, 0, 5, 3] = 3     # pooled cell (0, 0)
        hm[0, 1, 20, 40] = 3   # cell (1, 2)
        hm[0, 1, 17, 170] = 3  # cell (1, 10): same cell row, later column
        c = np.repeat(IDENTITY_C, 1, 0)
        sr, _ = R.decode_sr(hm, c, IDENTITY_S)
        df, _ = R.decode_default(hm, c, IDENTITY_S)
        np.testing.assert_allclose(sr[0, 0], [3, 5], atol=1e-4)     # no quarter offset: px = 3 > 1 but
        np.testing.assert_allclose(df[0, 0], [100, 0], atol=1e-4)   # neighbours equal -> sign 0
        np.testing.assert_allclose(sr[0, 1], [40, 20], atol=1e-4)
        np.testing.assert_allclose(df[0, 1], [170, 17], atol=1e-4)

    def test_ties_inside_a_window_take_the_first_pixel_in_row_major_order(self):
        hm = np.zeros((1, 1, 256, 192), np.float32)
        for y, x in [(35, 41), (34, 44), (37, 33)]:  # all in the pooled cell (2, 2)
            hm[0, 0, y, x] = 5
        sr, v = R.decode_sr(hm, IDENTITY_C, IDENTITY_S)
        np.testing.assert_allclose(sr[0, 0], [44, 34], atol=1e-4)
        self.assertEqual(v[0, 0], 5)

    def test_non_positive_max_uses_the_last_pooled_cell(self):
        """Official quirk: max <= 0 -> _get_max_preds gives -1 -> max_i[..][-1][-1] is the
        LAST (bottom-right) pooled cell, whose own argmax is then used (with quarter offset)."""
        rs = np.random.RandomState(0)
        hm = (-1 - rs.rand(1, 2, 256, 192)).astype(np.float32)
        hm[0, 0, 10, 10] = -0.1               # the true maximum, far from the last cell
        hm[0, 0, 243, 181] = -0.5             # maximum of the last cell (rows 240.., cols 176..)
        hm[0, 1] = 0.0                        # all zero: max 0 is not > 0 either
        sr, v = R.decode_sr(hm, IDENTITY_C, IDENTITY_S)
        df, vd = R.decode_default(hm, IDENTITY_C, IDENTITY_S)
        d = hm[0, 0]
        off = np.sign([d[243, 182] - d[243, 180], d[244, 181] - d[242, 181]]) * 0.25
        np.testing.assert_allclose(sr[0, 0], np.array([181, 243]) + off, atol=1e-4)
        np.testing.assert_allclose(v[0, 0], -0.1, atol=1e-7)  # score is still the global max
        np.testing.assert_allclose(df[0, 0], [-1, -1], atol=1e-4)  # default keeps (-1, -1)
        np.testing.assert_allclose(sr[0, 1], [176, 240], atol=1e-4)  # first pixel of last cell
        self.assertEqual(v[0, 1], 0.0)

    def test_quarter_offset_only_strictly_inside(self):
        """+-0.25 only if 1 < px < W-1 and 1 < py < H-1 (x = 1 or W-1 gets none)."""
        cases = [((1, 50), False), ((2, 50), True), ((190, 50), True), ((191, 50), False),
                 ((50, 1), False), ((50, 2), True), ((50, 254), True), ((50, 255), False)]
        hm = np.zeros((1, len(cases), 256, 192), np.float32)
        for k, ((x, y), _) in enumerate(cases):
            hm[0, k, y, x] = 2
            for dx, dy in [(1, 0), (-1, 0), (0, 1), (0, -1)]:
                if 0 <= x + dx < 192 and 0 <= y + dy < 256:
                    hm[0, k, y + dy, x + dx] = 1
            if 0 <= x + 1 < 192:
                hm[0, k, y, x + 1] = 1.5   # right neighbour higher: +0.25 in x
            if 0 <= y - 1:
                hm[0, k, y - 1, x] = 1.5   # upper neighbour higher: -0.25 in y
        for dec in (R.decode_sr, R.decode_default):
            p, _ = dec(hm, IDENTITY_C, IDENTITY_S)
            for k, ((x, y), shifted) in enumerate(cases):
                want = [x + 0.25, y - 0.25] if shifted else [x, y]
                np.testing.assert_allclose(p[0, k], want, atol=1e-4, err_msg=f'{dec.__name__} {x},{y}')


class DecodeDarkTest(unittest.TestCase):
    def test_dark_recovers_subpixel_gaussians(self):
        pts = [(20.3, 30.7), (10.55, 40.2), (33.9, 12.1)]
        hm = np.stack([gaussian(64, 48, x, y, sigma=2) for x, y in pts])[None]
        c = np.array([[24.0, 32.0]], np.float32)
        s = np.array([[48 / 200, 64 / 200]], np.float32)
        before = hm.copy()
        p, v = R.decode_dark(hm, c, s, kernel=11)
        np.testing.assert_array_equal(hm, before)           # input untouched
        np.testing.assert_allclose(p[0], np.array(pts), atol=0.03)
        q, _ = R.decode_default(hm, c, s)
        self.assertLess(np.abs(p[0] - pts).max(), np.abs(q[0] - pts).max())
        np.testing.assert_allclose(v[0], hm.reshape(3, -1).max(1), rtol=0)

    def test_dark_border_rule(self):
        """_taylor runs only if 1 < px < W-2 and 1 < py < H-2; otherwise BOTH coordinates stay
        the integer argmax (x = W-2 = 46 and x = 1 are not refined, x = 45 and x = 2 are)."""
        pts = [(45.3, 30.2), (45.6, 30.2), (2.4, 30.2), (1.4, 30.2), (20.3, 62.4), (20.3, 61.3)]
        hm = np.stack([gaussian(64, 48, x, y, sigma=1.0) for x, y in pts])[None]
        c = np.array([[24.0, 32.0]], np.float32)
        s = np.array([[48 / 200, 64 / 200]], np.float32)
        p, _ = R.decode_dark(hm, c, s)
        np.testing.assert_allclose(p[0, 0], pts[0], atol=0.03)   # refined
        np.testing.assert_allclose(p[0, 1], [46, 30], atol=1e-4)  # argmax x = 46 = W-2
        np.testing.assert_allclose(p[0, 2], pts[2], atol=0.03)
        np.testing.assert_allclose(p[0, 3], [1, 30], atol=1e-4)   # argmax x = 1
        np.testing.assert_allclose(p[0, 4], [20, 62], atol=1e-4)  # argmax y = 62 = H-2
        np.testing.assert_allclose(p[0, 5], pts[5], atol=0.03)

    def test_gaussian_blur_semantics(self):
        """Zero padding then cv2.GaussianBlur(11x11, sigma 0 -> 2.0), rescaled to the max."""
        rs = np.random.RandomState(3)
        hm = rs.rand(1, 1, 20, 16).astype(np.float32)
        got = R.gaussian_blur(hm.copy(), 11)
        pad = np.zeros((30, 26), np.float32)
        pad[5:-5, 5:-5] = hm[0, 0]
        k = cv2.getGaussianKernel(11, 2.0).astype(np.float64)
        ker = k @ k.T
        ref = np.zeros((20, 16))
        for y in range(20):
            for x in range(16):
                ref[y, x] = (pad[y:y + 11, x:x + 11] * ker).sum()
        ref *= hm.max() / ref.max()
        np.testing.assert_allclose(got[0, 0], ref, rtol=0, atol=1e-5)
        self.assertAlmostEqual(float(got.max()), float(hm.max()), places=5)


class _Tiny(nn.Module):
    """A 'model' whose heatmap k is (k + 1) * channel 0 of the image: flip-equivariant."""

    def forward(self, x):
        return torch.cat([x[:, :1] * (k + 1) for k in range(17)], 1)


class FlipTest(unittest.TestCase):
    def test_flip_test_of_an_equivariant_model(self):
        x = torch.randn(2, 3, 8, 10, generator=torch.Generator().manual_seed(0))
        m = _Tiny()
        h = m(x)
        got = R.flip_test_heatmaps(m, x, R.COCO_FLIP_PAIRS, shift=False)
        pair = {a: b for p in R.COCO_FLIP_PAIRS for a, b in (p, p[::-1])}
        for k in range(17):
            j = pair.get(k, k)  # channel k of the flipped-back map comes from channel j
            want = 0.5 * (h[:, k] + h[:, k] * (j + 1) / (k + 1))
            self.assertTrue(torch.allclose(got[:, k], want, atol=1e-5), k)
        got = R.flip_test_heatmaps(m, x, R.COCO_FLIP_PAIRS, shift=True)
        for k in range(17):
            j = pair.get(k, k)
            back = h[:, 0] * (j + 1)
            shifted = torch.cat([back[..., :1], back[..., :-1]], -1)
            self.assertTrue(torch.allclose(got[:, k], 0.5 * (h[:, k] + shifted), atol=1e-5))
            # column 0 keeps its own value; column w takes column w - 1
            self.assertTrue(torch.equal(shifted[..., 0], back[..., 0]))

    def test_shift_equals_numpys_overlapping_assignment(self):
        """The SimpleBaseline path (numpy flip_back + hm[..., 1:] = hm[..., :-1]) and ours."""
        rs = np.random.RandomState(0)
        flipped = rs.randn(2, 17, 6, 9).astype(np.float32)
        ref = flipped.copy()
        back = ref.copy()
        for l, r in R.COCO_FLIP_PAIRS:
            back[:, l] = ref[:, r]
            back[:, r] = ref[:, l]
        back = back[..., ::-1].copy()
        back[:, :, :, 1:] = back[:, :, :, :-1]  # numpy copes with the overlap
        got = R.flip_back_shift(torch.from_numpy(flipped), R.COCO_FLIP_PAIRS, True).numpy()
        np.testing.assert_array_equal(got, back)

    def test_flip_test_on_a_real_model_and_mirrored_input(self):
        """A mirror-symmetric image gives the same heatmaps for x and flip(x), so the flip test
        equals (h + shift(flip(swap(h)))) / 2 exactly."""
        m = build_model('res50_simple')
        x = torch.randn(1, 3, 256, 96, generator=torch.Generator().manual_seed(0))
        x = torch.cat([x, x.flip(3)], 3)
        with torch.no_grad():
            h = m(x)
        got = R.flip_test_heatmaps(m, x, R.COCO_FLIP_PAIRS, True)
        want = 0.5 * (h + R.flip_back_shift(h, R.COCO_FLIP_PAIRS, True))
        self.assertTrue(torch.allclose(got, want, atol=1e-5))


class FastDeconvTest(unittest.TestCase):
    def test_deconv_as_conv_equals_conv_transpose(self):
        """The pipeline commands compute the SimpleBaseline deconvs as convs (faster on CPU)."""
        torch.manual_seed(0)
        head = build_model('res50_simple').keypoint_head
        for m in head.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_var.uniform_(0.5, 2.0)
        f = torch.randn(2, 2048, 8, 6)
        with torch.no_grad():
            want = head(f)
            R.use_fast_deconv(head)
            got = head(f)
        self.assertEqual(got.shape, (2, 17, 64, 48))
        self.assertLess((got - want).abs().max().item(), 1e-5 * max(1.0, want.abs().max().item()))
        for k, p, op in [(3, 1, 1), (2, 0, 0), (4, 1, 0)]:
            d = nn.ConvTranspose2d(5, 7, k, stride=2, padding=p, output_padding=op, bias=True)
            x = torch.randn(1, 5, 6, 4)
            with torch.no_grad():
                want = d(x)
                R.use_fast_deconv(d)
                self.assertTrue(torch.allclose(d(x), want, atol=1e-5), (k, p, op))


class PipelineTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix='srpose-ref-')
        cls.model = random_init(build_model('res50'), 1)
        cls.ckpt = os.path.join(cls.tmp.name, 'res50.pth')
        torch.save({'state_dict': cls.model.state_dict(), 'meta': {}}, cls.ckpt)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_dot_image_roundtrip_through_crop_and_decode(self):
        """A 'model' that returns the crop's brightness as heatmaps: the decoded keypoint of a
        bright dot is the dot, through xywh2cs, the affine crop and transform_preds."""
        class Bright(nn.Module):
            def forward(self, x):
                return x[:, :1].repeat(1, 17, 1, 1)
        dots = [(321, 207), (150, 400), (500, 90)]
        yy, xx = np.mgrid[0:480, 0:640]
        blob = sum(np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 4.0 ** 2)) for x, y in dots)
        img = np.repeat(np.round(250 * blob).astype(np.uint8)[..., None], 3, 2)
        path = os.path.join(self.tmp.name, 'dots.png')
        cv2.imwrite(path, img)
        boxes = [[x - 40, y - 60, 80, 120] for x, y in dots] + [[x - 100, y - 50, 230, 90] for x, y in dots]
        for method in ('sr', 'default', 'dark'):
            r = R.run_image(Bright(), method, path, boxes, flip=False)
            for b, (x, y) in enumerate(dots * 2):
                k = np.array(r['keypoints'][b])
                scale = np.array(r['scales'][b]) * 200 / np.array([192, 256])  # img px per hm px
                # within half a heatmap pixel (the maps are 256x192 here for every method)
                self.assertTrue(np.all(np.abs(k[:, 0] - x) <= 0.5 * scale[0]), (method, b, k[0], scale))
                self.assertTrue(np.all(np.abs(k[:, 1] - y) <= 0.5 * scale[1]), (method, b, k[0], scale))

    def test_pipeline_cli_and_batching(self):
        img = os.path.join(self.tmp.name, 'noise.jpg')
        rs = np.random.RandomState(0)
        small = rs.randint(0, 255, (30, 40, 3)).astype(np.uint8)
        cv2.imwrite(img, cv2.resize(small, (640, 480), interpolation=cv2.INTER_CUBIC))
        boxes = [[100.5, 50.25, 200, 300], [10, 20, 60, 40], [400, 100, 230, 370]]
        spec = os.path.join(self.tmp.name, 'spec.json')
        with open(spec, 'w') as f:
            json.dump([{'image': img, 'boxes': boxes}, {'image': img, 'boxes': boxes[1:]},
                       {'image': img, 'boxes': []}], f)
        out = os.path.join(self.tmp.name, 'out.json')
        s = run_ref('batch-pipeline', '--arch', 'res50', '--checkpoint', self.ckpt, '--spec', spec,
                    '--out', out, '--flip')
        self.assertEqual(s, {'images': 3, 'boxes': 5, 'method': 'sr', 'flip': True, 'out': out})
        with open(out) as f:
            res = json.load(f)
        one = run_ref('pipeline', '--arch', 'res50', '--checkpoint', self.ckpt, '--image', img,
                      '--boxes', '400,100,230,370', '--flip')
        lib = R.run_image(self.model, 'sr', img, boxes, flip=True)
        self.assertEqual(len(res[0]['keypoints']), 3)
        self.assertEqual(len(res[0]['keypoints'][0]), 17)
        self.assertEqual(res[2]['keypoints'], [])
        # same model, same batch: identical; single box vs batch of 3: the same to 1e-3 px
        np.testing.assert_allclose(res[0]['keypoints'], lib['keypoints'], atol=1e-3)
        np.testing.assert_allclose(res[1]['keypoints'], lib['keypoints'][1:], atol=1e-3)
        np.testing.assert_allclose(one['keypoints'][0], lib['keypoints'][2], atol=1e-3)
        c, sc = official.xywh2cs(*boxes[0])
        np.testing.assert_allclose(res[0]['centers'][0], c)
        np.testing.assert_allclose(res[0]['scales'][0], sc)
        # keypoints lie in the crop frame, scores are the heatmap maxima
        k = np.array(lib['keypoints'])
        lo = np.array(lib['centers']) - np.array(lib['scales']) * 100
        hi = np.array(lib['centers']) + np.array(lib['scales']) * 100
        self.assertTrue(np.all(k[..., :2] >= lo[:, None] - 1) and np.all(k[..., :2] <= hi[:, None] + 1))
        x, cs, ss = R.prepare(official.imread_rgb(img), boxes)
        hm = R.flip_test_heatmaps(self.model, x).numpy()
        np.testing.assert_allclose(k[..., 2], hm.reshape(3, 17, -1).max(-1), rtol=1e-5)
        # flip changes the result; --method overrides the contract's decode
        noflip = R.run_image(self.model, 'sr', img, boxes, flip=False)
        self.assertFalse(np.allclose(noflip['keypoints'], lib['keypoints']))
        dark = run_ref('pipeline', '--arch', 'res50', '--checkpoint', self.ckpt, '--image', img,
                       '--boxes', '400,100,230,370', '--method', 'dark')
        self.assertEqual(len(dark['keypoints'][0]), 17)

    def test_net_cli_and_decode_cli(self):
        d = os.path.join(self.tmp.name, 'net')
        meta = run_ref('net', '--arch', 'res50', '--checkpoint', self.ckpt, '--batch', '2',
                       '--seed', '4', '--out-dir', d)
        self.assertEqual(meta['inputShape'], [2, 3, 256, 192])
        self.assertEqual(meta['heatmapShape'], [2, 17, 256, 192])
        x = np.fromfile(os.path.join(d, 'input.f32'), '<f4').reshape(2, 3, 256, 192)
        hm = np.fromfile(os.path.join(d, 'heatmaps.f32'), '<f4').reshape(2, 17, 256, 192)
        want = torch.randn(2, 3, 256, 192, generator=torch.Generator().manual_seed(4)).numpy()
        np.testing.assert_array_equal(x, want)
        with torch.no_grad():
            np.testing.assert_allclose(hm, self.model(torch.from_numpy(x)).numpy(), atol=1e-4)
        self.assertGreater(hm.max() - hm.min(), 2)
        with open(os.path.join(d, 'meta.json')) as f:
            self.assertEqual(json.load(f)['heatmapShape'], [2, 17, 256, 192])
        centers, scales = '300.5,200.25;17,9', '1.6,2.1333;0.5,0.7'
        c = np.array([[300.5, 200.25], [17, 9]], np.float32)
        s = np.array([[1.6, 2.1333], [0.5, 0.7]], np.float32)
        for method in ('sr', 'default', 'dark'):
            r = run_ref('decode', '--method', method, '--heatmaps', os.path.join(d, 'heatmaps.f32'),
                        '--shape', '2,17,256,192', '--centers', centers, '--scales', scales,
                        '--kernel', '11')
            p, v = R.decode(method, hm, c, s)
            np.testing.assert_array_equal(np.array(r['preds'], np.float32), p)
            np.testing.assert_array_equal(np.array(r['maxvals'], np.float32), v)

    @unittest.skipUnless(os.path.isdir(COCO), 'shared COCO photos not present')
    def test_real_photo_keypoints_are_finite_and_in_frame(self):
        img = os.path.join(COCO, '000000000785.jpg')
        r = R.run_image(self.model, 'sr', img, [[280.79, 44.73, 218.7, 346.68]], flip=True)
        k = np.array(r['keypoints'][0])
        self.assertTrue(np.isfinite(k).all())
        self.assertEqual(k.shape, (17, 3))


if __name__ == '__main__':
    unittest.main()
