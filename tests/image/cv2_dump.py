"""OpenCV ground truth for the image tests: `cv2_dump.py MODE OUT_DIR [SHARED_DIR]`.

Writes raw files into OUT_DIR and prints one JSON line (the index) on stdout. Pixels are
raw uint8 (H, W, C) row-major, RGB; matrices are float64 values in the JSON (Python's repr
round-trips every double exactly through JSON.parse).

Modes:
  photos   cv2.imread RGB of every shared photo (coco, crowdpose, mpii)
  crops    for every shared photo, the official crop of every GT box and detection box
           (mpii: its center/scale annotations, and a box around the visible joints)
  affine   random boxes / centers / scales / rotations -> xywh2cs + get_affine_transform
  warp     random images and matrices -> cv2.warpAffine INTER_LINEAR (3 and 4 channels)
  formats  synthetic files (EXIF orientations, PNG kinds, WebP) and cv2.imread of each
  letterbox  cv2.resize INTER_LINEAR of random images (3 and 4 channels) and of the shared
           photos, and YOLOX's ValTransform input (legacy and not) of both: float32 (3, H, W)
           (saved as uint8 where that is lossless)
"""
import json
import os
import struct
import sys
import zlib

import cv2
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'models'))
import official  # noqa: E402

IMAGE_SIZE = (192, 256)


def save(out, name, array):
    np.ascontiguousarray(array).tofile(os.path.join(out, name))
    return name


def photos(shared):
    """(dataset, file name, path) of every shared photo, sorted."""
    found = []
    for ds in ('coco', 'crowdpose', 'mpii'):
        d = os.path.join(shared, ds)
        if os.path.isdir(d):
            found += [(ds, f, os.path.join(d, f)) for f in sorted(os.listdir(d)) if f.endswith('.jpg')]
    return found


def mode_photos(out, shared):
    items = []
    for i, (ds, name, path) in enumerate(photos(shared)):
        img = official.imread_rgb(path)
        items.append({'dataset': ds, 'file': name, 'path': path, 'width': img.shape[1], 'height': img.shape[0],
                      'rgb': save(out, f'photo{i}.rgb', img)})
    return {'photos': items}


def boxes_of(ds, shared, name):
    """[(kind, box)] GT and detection boxes of one photo (coco / crowdpose JSON formats)."""
    found = []
    for f in sorted(os.listdir(os.path.join(shared, ds))):
        if not f.endswith('.json'):
            continue
        data = json.load(open(os.path.join(shared, ds, f)))
        if isinstance(data, dict) and 'images' in data:
            ids = [im['id'] for im in data['images'] if im['file_name'] == name]
            found += [('gt', a['bbox']) for a in data['annotations'] if a['image_id'] in ids]
        elif isinstance(data, list) and data and 'bbox' in data[0] and 'image_id' in data[0]:
            gt = json.load(open(os.path.join(shared, ds, f'test_{ds}.json')))
            ids = [im['id'] for im in gt['images'] if im['file_name'] == name]
            found += [('det', d['bbox']) for d in data if d['image_id'] in ids]
    return found


def mpii_frames(shared, name):
    """[(kind, center, scale, box)] from mpii annotations: mmpose's TopDownMpiiDataset frame,
    and a box around the visible joints (through xywh2cs)."""
    frames = []
    for a in json.load(open(os.path.join(shared, 'mpii', 'test_mpii.json'))):
        if a['image'] != name:
            continue
        center = np.array(a['center'], dtype=np.float32)
        scale = np.array([a['scale'], a['scale']], dtype=np.float32)
        if center[0] != -1:
            center[1] = center[1] + 15 * scale[1]
            scale = scale * 1.25
        frames.append(('mpii', center, scale, None))
        pts = np.array([j for j, v in zip(a['joints'], a['joints_vis']) if v], dtype=np.float64)
        if len(pts):
            x0, y0 = pts.min(0)
            x1, y1 = pts.max(0)
            box = [float(x0), float(y0), float(x1 - x0) + 1.0, float(y1 - y0) + 1.0]
            c, s = official.xywh2cs(*box, image_size=IMAGE_SIZE)
            frames.append(('joints', c, s, box))
    return frames


def mode_crops(out, shared):
    items = []
    n = 0
    for ds, name, path in photos(shared):
        img = official.imread_rgb(path)
        if ds == 'mpii':
            frames = mpii_frames(shared, name)
        else:
            frames = []
            for kind, box in boxes_of(ds, shared, name):
                c, s = official.xywh2cs(*box, image_size=IMAGE_SIZE)
                frames.append((kind, c, s, box))
        for kind, center, scale, box in frames:
            m = official.get_affine_transform(center, scale, 0, IMAGE_SIZE)
            crop = official.crop(img, center, scale, IMAGE_SIZE)
            items.append({'dataset': ds, 'file': name, 'path': path, 'kind': kind, 'box': box,
                          'center': [float(v) for v in center], 'scale': [float(v) for v in scale],
                          'matrix': [float(v) for v in m.ravel()], 'crop': save(out, f'crop{n}.rgb', crop)})
            n += 1
    return {'crops': items, 'width': IMAGE_SIZE[0], 'height': IMAGE_SIZE[1]}


def mode_affine(out, _shared):
    rng = np.random.default_rng(20231029)
    boxes, frames = [], []
    for i in range(3000):
        mag = 10.0 ** rng.uniform(-1, 4)
        box = [float(rng.uniform(-mag, 3 * mag)), float(rng.uniform(-mag, 3 * mag)),
               float(rng.uniform(0.5, 2) * mag), float(rng.uniform(0.5, 2) * mag)]
        if i % 10 == 0:  # integer boxes, as hand-written ones are
            box = [float(round(v)) + (1.0 if j >= 2 else 0.0) for j, v in enumerate(box)]
        if i % 17 == 0:  # exactly the input aspect ratio
            box[3] = box[2] * 256 / 192
        c, s = official.xywh2cs(*box, image_size=IMAGE_SIZE)
        m = official.get_affine_transform(c, s, 0, IMAGE_SIZE)
        mi = official.get_affine_transform(c, s, 0, IMAGE_SIZE, inv=True)
        boxes.append({'box': box, 'center': [float(v) for v in c], 'scale': [float(v) for v in s],
                      'matrix': [float(v) for v in m.ravel()], 'inverse': [float(v) for v in mi.ravel()]})
    for i in range(1000):
        c = rng.uniform(-500, 3000, 2).astype(np.float32)
        s = (10.0 ** rng.uniform(-2, 1.5, 2)).astype(np.float32)
        rot = [0, 90, -90, 180, 30, -45.5][i % 6] if i < 600 else float(rng.uniform(-180, 180))
        size = [(192, 256), (288, 384), (256, 256), (48, 64)][i % 4]
        m = official.get_affine_transform(c, s, rot, size)
        mi = official.get_affine_transform(c, s, rot, size, inv=True)
        frames.append({'center': [float(v) for v in c], 'scale': [float(v) for v in s], 'rot': rot, 'size': list(size),
                       'matrix': [float(v) for v in m.ravel()], 'inverse': [float(v) for v in mi.ravel()]})
    return {'boxes': boxes, 'frames': frames}


def mode_warp(out, _shared):
    rng = np.random.default_rng(7)
    items = []
    for i in range(300):
        cn = 3 if i % 3 else 4
        h, w = [(1, 1), (2, 2), (1, 5), (3, 2), (17, 23), (64, 48), (120, 200)][i % 7]
        src = rng.integers(0, 256, (h, w, cn), dtype=np.uint8)
        dw, dh = [(192, 256), (7, 5), (33, 40), (1, 1)][i % 4]
        kind = i % 5
        if kind == 0:  # official crop of a random box
            box = [rng.uniform(-w, w), rng.uniform(-h, h), rng.uniform(1, 2 * w), rng.uniform(1, 2 * h)]
            c, s = official.xywh2cs(*box, image_size=(dw, dh))
            m = official.get_affine_transform(c, s, float(rng.choice([0, 0, 30, -90])), (dw, dh))
        elif kind == 1:  # integer translation (fractions exactly 0)
            m = np.array([[1, 0, rng.integers(-3, 4)], [0, 1, rng.integers(-3, 4)]], dtype=np.float64)
        elif kind == 2:  # half-pixel shifts and scales: ties in the 1/32 rounding
            m = np.array([[rng.choice([0.5, 2, 0.25, 4]), 0, rng.choice([-0.5, 0.5, 1 / 64, -1 / 64])],
                          [0, rng.choice([0.5, 2, 0.25, 4]), rng.choice([-0.5, 0.5, 1 / 64])]], dtype=np.float64)
        else:  # any affine map
            a = rng.normal(0, 1, (2, 2)) * rng.choice([0.1, 1, 5])
            if abs(np.linalg.det(a)) < 1e-3:
                a += np.eye(2)
            m = np.hstack([a, rng.uniform(-2 * max(w, h), 2 * max(w, h), (2, 1))])
        dst = cv2.warpAffine(src, m, (dw, dh), flags=cv2.INTER_LINEAR)
        if dst.ndim == 2:
            dst = dst[:, :, None]
        items.append({'width': w, 'height': h, 'channels': cn, 'dstW': dw, 'dstH': dh,
                      'matrix': [float(v) for v in np.asarray(m, dtype=np.float64).ravel()],
                      'src': save(out, f'warp{i}.src', src), 'dst': save(out, f'warp{i}.dst', dst)})
    return {'warps': items}


# --- formats ------------------------------------------------------------------------------

def tiff_orientation(value, endian='<', long_type=False):
    bo = b'II' if endian == '<' else b'MM'
    val = struct.pack(endian + 'I', value) if long_type else struct.pack(endian + 'H', value) + b'\0\0'
    entry = struct.pack(endian + 'HHI', 0x0112, 4 if long_type else 3, 1) + val
    return bo + struct.pack(endian + 'HI', 42, 8) + struct.pack(endian + 'H', 1) + entry + struct.pack(endian + 'I', 0)


def app1(payload):
    return b'\xff\xe1' + struct.pack('>H', len(payload) + 2) + payload


def png_chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff)


def raw_png(w, h, depth, color, rows, extra=b''):
    ihdr = struct.pack('>IIBBBBB', w, h, depth, color, 0, 0, 0)
    idat = zlib.compress(b''.join(b'\0' + r for r in rows))
    return b'\x89PNG\r\n\x1a\n' + png_chunk(b'IHDR', ihdr) + extra + png_chunk(b'IDAT', idat) + png_chunk(b'IEND', b'')


def pack_bits(row, bits):
    out, acc, n = bytearray(), 0, 0
    for v in row:
        acc, n = (acc << bits) | int(v), n + bits
        if n == 8:
            out.append(acc)
            acc, n = 0, 0
    if n:
        out.append(acc << (8 - n))
    return bytes(out)


def mode_formats(out, _shared):
    rng = np.random.default_rng(3)
    files = {}
    h, w = 21, 34  # not square, so orientations 5..8 swap the sides
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    img = cv2.GaussianBlur(img, (5, 5), 0)  # something a JPEG keeps
    jpg = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
    jpg420 = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes()  # libjpeg's default 4:2:0
    files['jpeg_plain'] = jpg
    files['jpeg_q80'] = jpg420
    try:  # other chroma subsamplings (OpenCV 4.6 cannot choose them)
        import io
        from PIL import Image
        for sub, label in ((0, '444'), (1, '422')):
            buf = io.BytesIO()
            Image.fromarray(img).save(buf, 'JPEG', quality=90, subsampling=sub)
            files['jpeg_' + label] = buf.getvalue()
    except ImportError:
        pass
    files['jpeg_progressive'] = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes()
    files['jpeg_grey'] = cv2.imencode('.jpg', img[:, :, 0])[1].tobytes()
    for o in range(0, 10):
        files[f'jpeg_exif_ii_{o}'] = jpg[:2] + app1(b'Exif\0\0' + tiff_orientation(o)) + jpg[2:]
    for o in (3, 6, 8):
        files[f'jpeg_exif_mm_{o}'] = jpg420[:2] + app1(b'Exif\0\0' + tiff_orientation(o, '>')) + jpg420[2:]
    # OpenCV reads only the first APP1: an XMP packet first hides the EXIF orientation.
    xmp = app1(b'http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>')
    files['jpeg_xmp_then_exif_6'] = jpg[:2] + xmp + app1(b'Exif\0\0' + tiff_orientation(6)) + jpg[2:]
    files['jpeg_exif_long_le_6'] = jpg[:2] + app1(b'Exif\0\0' + tiff_orientation(6, '<', True)) + jpg[2:]
    files['jpeg_exif_long_be_6'] = jpg[:2] + app1(b'Exif\0\0' + tiff_orientation(6, '>', True)) + jpg[2:]
    files['jpeg_exif_short_ifd'] = jpg[:2] + app1(b'Exif\0\0' + tiff_orientation(6)[:20]) + jpg[2:]

    png = cv2.imencode('.png', img)[1].tobytes()
    files['png_exif_6'] = png[:33] + png_chunk(b'eXIf', tiff_orientation(6)) + png[33:]
    files['png_exif_after_idat_6'] = png[:-12] + png_chunk(b'eXIf', tiff_orientation(6)) + png[-12:]
    bad_crc = png_chunk(b'eXIf', tiff_orientation(6))
    files['png_exif_bad_crc_6'] = png[:33] + bad_crc[:-1] + bytes([bad_crc[-1] ^ 1]) + png[33:]
    files['png_rgb8'] = png
    files['png_rgba8'] = cv2.imencode('.png', rng.integers(0, 256, (h, w, 4), dtype=np.uint8))[1].tobytes()
    files['png_grey8'] = cv2.imencode('.png', img[:, :, 1])[1].tobytes()
    files['png_grey16'] = cv2.imencode('.png', rng.integers(0, 65536, (h, w), dtype=np.uint16))[1].tobytes()
    files['png_rgb16'] = cv2.imencode('.png', rng.integers(0, 65536, (h, w, 3), dtype=np.uint16))[1].tobytes()
    files['png_rgba16'] = cv2.imencode('.png', rng.integers(0, 65536, (h, w, 4), dtype=np.uint16))[1].tobytes()
    files['png_bilevel'] = cv2.imencode('.png', (rng.integers(0, 2, (h, w)) * 255).astype(np.uint8),
                                        [cv2.IMWRITE_PNG_BILEVEL, 1])[1].tobytes()
    ga = rng.integers(0, 256, (h, w, 2), dtype=np.uint8)
    files['png_grey_alpha8'] = raw_png(w, h, 8, 4, [r.tobytes() for r in ga])
    pal = rng.integers(0, 256, (256, 3), dtype=np.uint8)
    idx = rng.integers(0, 256, (h, w), dtype=np.uint8)
    files['png_palette8_trns'] = raw_png(w, h, 8, 3, [r.tobytes() for r in idx],
                                         png_chunk(b'PLTE', pal.tobytes()) + png_chunk(b'tRNS', bytes(range(0, 256, 2))))
    idx4 = rng.integers(0, 16, (h, w), dtype=np.uint8)
    files['png_palette4'] = raw_png(w, h, 4, 3, [pack_bits(r, 4) for r in idx4], png_chunk(b'PLTE', pal[:16].tobytes()))
    files['png_grey2'] = raw_png(w, h, 2, 0, [pack_bits(r, 2) for r in rng.integers(0, 4, (h, w))])
    files['png_gamma'] = raw_png(w, h, 8, 2, [r.tobytes() for r in img], png_chunk(b'gAMA', struct.pack('>I', 100000)))

    files['webp_lossy'] = cv2.imencode('.webp', img, [cv2.IMWRITE_WEBP_QUALITY, 80])[1].tobytes()
    files['webp_lossless'] = cv2.imencode('.webp', img, [cv2.IMWRITE_WEBP_QUALITY, 101])[1].tobytes()
    # An extended WebP (VP8X) carrying EXIF orientation 6: OpenCV 4.6 ignores WebP EXIF.
    vp8l = files['webp_lossless'][12:]
    vp8x = b'VP8X' + struct.pack('<I', 10) + bytes([0x08, 0, 0, 0]) + (w - 1).to_bytes(3, 'little') + (h - 1).to_bytes(3, 'little')
    exif = tiff_orientation(6)
    body = b'WEBP' + vp8x + vp8l + b'EXIF' + struct.pack('<I', len(exif)) + exif + (b'\0' if len(exif) % 2 else b'')
    files['webp_exif_6'] = b'RIFF' + struct.pack('<I', len(body)) + body
    rgba = np.dstack([img, rng.integers(0, 256, (h, w), dtype=np.uint8)])
    files['webp_lossy_alpha'] = cv2.imencode('.webp', rgba, [cv2.IMWRITE_WEBP_QUALITY, 70])[1].tobytes()
    files['webp_lossless_alpha'] = cv2.imencode('.webp', rgba, [cv2.IMWRITE_WEBP_QUALITY, 101])[1].tobytes()

    items = []
    for name, data in files.items():
        with open(os.path.join(out, name + '.bin'), 'wb') as f:
            f.write(data)
        dec = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        item = {'name': name, 'file': name + '.bin'}
        if dec is not None:
            rgb = cv2.cvtColor(dec, cv2.COLOR_BGR2RGB)
            item.update(width=rgb.shape[1], height=rgb.shape[0], rgb=save(out, name + '.rgb', rgb))
        items.append(item)
    return {'files': items}


# --- letterbox ----------------------------------------------------------------------------

YOLOX_MEAN = (0.485, 0.456, 0.406)
YOLOX_STD = (0.229, 0.224, 0.225)


def yolox_val_transform(bgr, input_size, legacy):
    """YOLOX's ValTransform (yolox/data/data_augment.py ``preproc``) on a cv2.imread BGR image:
    -> (float32 (3, H, W), r). Scaled by r = min(H / h, W / w) to (int(w r), int(h r)) with
    cv2.resize INTER_LINEAR, top-left on a canvas of 114, channels first, BGR 0..255; legacy:
    RGB, /= 255.0, -= mean, /= std, in place on the float32 array with float64 mean / std."""
    h, w = bgr.shape[:2]
    r = min(input_size[0] / h, input_size[1] / w)
    nw, nh = int(w * r), int(h * r)
    canvas = np.ones((input_size[0], input_size[1], 3), dtype=np.uint8) * 114
    canvas[:nh, :nw] = cv2.resize(bgr, (nw, nh), interpolation=cv2.INTER_LINEAR).astype(np.uint8)
    x = np.ascontiguousarray(canvas.transpose(2, 0, 1), dtype=np.float32)
    if legacy:
        x = x[::-1, :, :].copy()
        x /= 255.0
        x -= np.array(YOLOX_MEAN).reshape(3, 1, 1)
        x /= np.array(YOLOX_STD).reshape(3, 1, 1)
    return x, r, nw, nh


def mode_letterbox(out, shared):
    """Random images (edge cases, then random sizes) and the shared photos. Letterbox inputs
    whose values are all integers (not legacy) are saved as uint8 'u8' after checking that
    this is lossless; legacy ones as raw float32 'f32'."""
    rng = np.random.default_rng(18)
    resizes, boxes = [], []

    def resize_case(src, dw, dh, what, name=None):
        i = len(resizes)
        dst = cv2.resize(src, (dw, dh), interpolation=cv2.INTER_LINEAR).reshape(dh, dw, src.shape[2])
        resizes.append({'what': what, 'width': src.shape[1], 'height': src.shape[0], 'channels': src.shape[2],
                        'dstW': dw, 'dstH': dh, 'src': name or save(out, f'resize{i}.src', src),
                        'dst': save(out, f'resize{i}.dst', dst)})

    def letterbox_case(rgb, size, legacies, what, name=None):
        for legacy in legacies:
            i = len(boxes)
            # the image as cv2.imread gives it: BGR
            x, r, nw, nh = yolox_val_transform(np.ascontiguousarray(rgb[:, :, ::-1]), size, legacy)
            name = name or save(out, f'letterbox{i}.rgb', rgb)
            item = {'what': what, 'width': rgb.shape[1], 'height': rgb.shape[0], 'inputW': size[1],
                    'inputH': size[0], 'legacy': legacy, 'ratio': r, 'resized': [nw, nh], 'src': name}
            u8 = x.astype(np.uint8)
            if not legacy and np.array_equal(u8.astype(np.float32), x):
                item['u8'] = save(out, f'letterbox{i}.u8', u8)
            else:
                item['f32'] = save(out, f'letterbox{i}.f32', x)
            boxes.append(item)

    fixed = [((1, 1), (1, 1)), ((1, 1), (5, 3)), ((1, 9), (4, 1)), ((9, 1), (1, 4)), ((1, 30), (416, 7)),
             ((30, 1), (7, 416)), ((2, 2), (640, 640)), ((3, 5), (416, 416)), ((64, 64), (32, 32)),
             ((100, 60), (50, 30)), ((101, 61), (50, 30)), ((37, 53), (37, 53)), ((37, 53), (53, 37)),
             ((48, 32), (96, 64)), ((48, 32), (144, 96)), ((200, 300), (67, 100)), ((120, 90), (416, 312)),
             ((300, 200), (13, 9)), ((5, 400), (1, 80)), ((17, 23), (16, 22)), ((17, 23), (18, 24))]
    for (h, w), (dh, dw) in fixed:  # (h, w) -> (dh, dw)
        for cn in (3, 4):
            resize_case(rng.integers(0, 256, (h, w, cn), dtype=np.uint8), dw, dh, 'fixed')
    for i in range(240):
        cn = 3 if i % 3 else 4
        h, w = (int(v) for v in rng.integers(1, 160, 2))
        if i % 5 == 0:  # a thin one
            h = int(rng.integers(1, 4))
        if i % 5 == 1:
            w = int(rng.integers(1, 4))
        dh, dw = (int(v) for v in rng.integers(1, 200, 2))
        if i % 8 == 0:  # YOLOX-sized upscales
            dh, dw = int(rng.integers(100, 420)), int(rng.integers(100, 420))
        resize_case(rng.integers(0, 256, (h, w, cn), dtype=np.uint8), dw, dh, 'random')
    # (h, w); int(w r) falls one below the input side for 23 * (416 / 23) and 77 * (640 / 77)
    sizes = [(1, 1), (1, 7), (7, 1), (10, 23), (77, 20), (3, 5), (480, 640), (640, 427), (33, 1000),
             (1000, 33), (416, 416), (37, 53), (53, 37), (200, 199), (199, 200), (5, 9), (20, 77)]
    targets = [(37, 53), (53, 37), (64, 96), (96, 64), (17, 17), (416, 416), (640, 640)]
    for i, (h, w) in enumerate(sizes):
        rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        name = save(out, f'letterbox_random{i}.rgb', rgb)
        for size in (targets[i % len(targets)], targets[(i + 3) % len(targets)]):
            r = min(size[0] / h, size[1] / w)
            if int(h * r) and int(w * r):  # else cv2.resize refuses the empty size
                big = size[0] >= 416
                letterbox_case(rgb, size, ((i % 2 == 1,) if big else (False, True)), 'random', name)
    # the shared photos: their letterbox at 640 (mpii: exact 2x downscales) and at 416 (legacy),
    # and plain resizes (odd size, half size, upscale or a third)
    for k, (ds, name, path) in enumerate(photos(shared)):
        rgb = official.imread_rgb(path)
        src = save(out, f'photo{k}.rgb', rgb)
        letterbox_case(rgb, (640, 640), (False,), f'{ds}/{name}', src)
        letterbox_case(rgb, (416, 416), (True,), f'{ds}/{name}', src)
        h, w = rgb.shape[:2]
        for dw, dh in ((53, 37), (w // 2, h // 2), (w + 31, h + 17) if w < 1000 else (w // 3, h // 3 + 1)):
            resize_case(rgb, dw, dh, f'{ds}/{name}', src)
    return {'resizes': resizes, 'letterboxes': boxes}


MODES = {'photos': mode_photos, 'crops': mode_crops, 'affine': mode_affine, 'warp': mode_warp, 'formats': mode_formats,
         'letterbox': mode_letterbox}

if __name__ == '__main__':
    mode, out = sys.argv[1], sys.argv[2]
    shared = sys.argv[3] if len(sys.argv) > 3 else os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'shared', 'data')
    index = MODES[mode](out, os.path.abspath(shared))
    index['cv2'] = cv2.__version__
    print(json.dumps(index))
