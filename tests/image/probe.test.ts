// probeImage: size, format and EXIF orientation from headers alone, on bytes built here.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeJpeg, encodePng, encodeWebp } from '../../src/image/codecs.ts';
import { exifOrientation, isComplete, probeImage } from '../../src/image/probe.ts';
import { isSRPoseError, type SRPoseErrorCode } from '../../src/errors.ts';

const concat = (...parts: ArrayLike<number>[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
};
const be16 = (v: number) => [v >> 8, v & 255];
const be32 = (v: number) => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
const le16 = (v: number) => [v & 255, v >> 8];
const le32 = (v: number) => [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255];
const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

/** A TIFF block with IFD0 holding the given entries [tag, type, count, value bytes (4)]. */
function tiff(le: boolean, entries: [number, number, number, number[]][]): Uint8Array {
  const u16 = le ? le16 : be16;
  const u32 = le ? le32 : be32;
  return concat(
    ascii(le ? 'II' : 'MM'),
    u16(42),
    u32(8),
    u16(entries.length),
    ...entries.map(([t, ty, n, v]) => [...u16(t), ...u16(ty), ...u32(n), ...v]),
    u32(0),
  );
}
const orientationEntry = (
  le: boolean,
  v: number,
): [number, number, number, number[]] => [0x0112, 3, 1, [...(le ? le16 : be16)(v), 0, 0]];

/** SOI, the given segments, a minimal SOF0 + SOS + EOI (not decodable, enough for headers). */
function jpegWith(width: number, height: number, ...segments: Uint8Array[]): Uint8Array {
  const sof = [
    0xff,
    0xc0,
    ...be16(17),
    8,
    ...be16(height),
    ...be16(width),
    3,
    1,
    0x22,
    0,
    2,
    0x11,
    1,
    3,
    0x11,
    1,
  ];
  const sos = [0xff, 0xda, ...be16(12), 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0];
  return concat([0xff, 0xd8], ...segments, sof, sos, [0x12, 0x34], [0xff, 0xd9]);
}
const app1 = (payload: ArrayLike<number>) =>
  concat([0xff, 0xe1], be16(payload.length + 2), payload);
const exifApp1 = (t: Uint8Array) => app1(concat(ascii('Exif\0\0'), t));

function expectCode(code: SRPoseErrorCode, bytes: Uint8Array, what: string): void {
  try {
    const info = probeImage(bytes);
    assert.unreachable(`${what}: probed as ${JSON.stringify(info)}`);
  } catch (e) {
    assert.ok(isSRPoseError(e, code), `${what}: expected ${code}, got ${e}`);
  }
}

test('JPEG: size from SOF, EXIF orientation from the first APP1 (both byte orders)', () => {
  assert.equal(probeImage(jpegWith(640, 425)), {
    format: 'jpeg',
    width: 640,
    height: 425,
    orientation: 1,
    channels: 3,
    bitDepth: 8,
    animated: false,
  });
  for (const le of [true, false]) {
    for (let o = 0; o <= 9; o++) {
      const info = probeImage(
        jpegWith(
          30,
          20,
          exifApp1(tiff(le, [[0x010f, 2, 4, ascii('abc\0')], orientationEntry(le, o)])),
        ),
      );
      assert.is(info.orientation, o >= 1 && o <= 8 ? o : 1, `le=${le} orientation ${o}`);
    }
  }
  // OpenCV reads only the first APP1: XMP first hides the EXIF.
  const xmp = app1(ascii('http://ns.adobe.com/xap/1.0/\0<x/>'));
  assert.is(
    probeImage(jpegWith(30, 20, xmp, exifApp1(tiff(true, [orientationEntry(true, 6)]))))
      .orientation,
    1,
  );
  assert.is(
    probeImage(jpegWith(30, 20, exifApp1(tiff(true, [orientationEntry(true, 6)])), xmp))
      .orientation,
    6,
  );
  // Fill bytes before markers, progressive SOF2.
  const prog = jpegWith(7, 9);
  prog[prog.indexOf(0xc0, 2)] = 0xc2;
  assert.equal([
    probeImage(concat(prog.subarray(0, 2), [0xff, 0xff], prog.subarray(2))).width,
    probeImage(prog).height,
  ], [7, 9]);
});

test(
  'EXIF: OpenCV quirks (value read as 16 bits whatever the type, parse stops at the end)',
  () => {
    assert.is(exifOrientation(tiff(true, [[0x0112, 4, 1, le32(6)]])), 6);
    assert.is(exifOrientation(tiff(false, [[0x0112, 4, 1, be32(6)]])), 1);
    // A string entry whose data lies past the end stops the parse before the orientation...
    assert.is(
      exifOrientation(tiff(true, [[0x010f, 2, 100, le32(5000)], orientationEntry(true, 6)])),
      1,
    );
    // ...but not after it.
    assert.is(
      exifOrientation(tiff(true, [orientationEntry(true, 6), [0x010f, 2, 100, le32(5000)]])),
      6,
    );
    // The first orientation entry wins; unknown tags are skipped; a cut-off IFD keeps what was
    // read.
    assert.is(
      exifOrientation(
        tiff(true, [
          [0x9999, 3, 1, [1, 0, 0, 0]],
          orientationEntry(true, 8),
          orientationEntry(true, 3),
        ]),
      ),
      8,
    );
    assert.is(exifOrientation(tiff(true, [orientationEntry(true, 5)]).subarray(0, 20)), 5);
    assert.is(exifOrientation(new Uint8Array([0x49, 0x4d, 42, 0])), 1);
    assert.is(exifOrientation(new Uint8Array()), 1);
  },
);

test(
  'PNG: IHDR size, eXIf orientation (before or after the image data, valid CRC only)',
  async () => {
    const png = await encodePng({ data: new Uint8Array(5 * 3 * 4).fill(200), width: 5, height: 3 });
    assert.equal(probeImage(png), {
      format: 'png',
      width: 5,
      height: 3,
      orientation: 1,
      channels: 4,
      bitDepth: 8,
      animated: false,
    });
    const crcTable = Array.from({ length: 256 }, (_, n) => {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      return c >>> 0;
    });
    const crc = (d: Uint8Array) =>
      (d.reduce((c, v) => crcTable[(c ^ v) & 255] ^ (c >>> 8), 0xffffffff) ^ 0xffffffff) >>> 0;
    const chunk = (type: string, data: Uint8Array) => {
      const body = concat(ascii(type), data);
      return concat(be32(data.length), body, be32(crc(body)));
    };
    const exif = (o: number) => chunk('eXIf', tiff(false, [orientationEntry(false, o)]));
    const end = png.length - 12; // IEND
    assert.is(probeImage(concat(png.subarray(0, 33), exif(6), png.subarray(33))).orientation, 6);
    assert.is(probeImage(concat(png.subarray(0, end), exif(8), png.subarray(end))).orientation, 8);
    assert.is(
      probeImage(
        concat(png.subarray(0, 33), exif(6), png.subarray(33, end), exif(8), png.subarray(end)),
      ).orientation,
      6,
    );
    const broken = exif(6);
    broken[broken.length - 1] ^= 1;
    assert.is(probeImage(concat(png.subarray(0, 33), broken, png.subarray(33))).orientation, 1);
    assert.ok(isComplete(png, 'png'));
    assert.not.ok(isComplete(png.subarray(0, png.length - 12), 'png'));
  },
);

test('WebP: VP8 (lossy), VP8L (lossless), VP8X (extended) headers', async () => {
  const rgba = new Uint8Array(7 * 5 * 4).map((_, i) => (i % 4 === 3 ? 128 : i * 7));
  const lossless = await encodeWebp({ data: rgba, width: 7, height: 5 });
  const lossy = await encodeWebp(
    { data: rgba.filter((_, i) => i % 4 !== 3), width: 7, height: 5 },
    { lossless: false, quality: 50 },
  );
  const chunkOf = (b: Uint8Array) => String.fromCharCode(...b.subarray(12, 16));
  assert.is(chunkOf(lossless), 'VP8L');
  assert.is(chunkOf(lossy), 'VP8 ');
  assert.equal(probeImage(lossless), {
    format: 'webp',
    width: 7,
    height: 5,
    orientation: 1,
    channels: 4,
    bitDepth: 8,
    animated: false,
  });
  assert.equal(probeImage(lossy), {
    format: 'webp',
    width: 7,
    height: 5,
    orientation: 1,
    channels: 3,
    bitDepth: 8,
    animated: false,
  });
  const vp8x = (flags: number, w: number, h: number) =>
    concat(
      ascii('RIFF'),
      le32(22),
      ascii('WEBPVP8X'),
      le32(10),
      [flags, 0, 0, 0],
      le32(w - 1).slice(0, 3),
      le32(h - 1).slice(0, 3),
    );
  assert.equal(probeImage(vp8x(0x10, 5000, 3000)), {
    format: 'webp',
    width: 5000,
    height: 3000,
    orientation: 1,
    channels: 4,
    bitDepth: 8,
    animated: false,
  });
  assert.is(probeImage(vp8x(0x02, 16, 16)).animated, true);
  assert.ok(isComplete(lossy, 'webp'));
  assert.not.ok(isComplete(lossy.subarray(0, lossy.length - 1), 'webp'));
});

test(
  'a real JPEG made by mozjpeg probes to its size, and is complete only with its end',
  async () => {
    const jpeg = await encodeJpeg({
      data: new Uint8Array(33 * 17 * 3).fill(90),
      width: 33,
      height: 17,
    }, { progressive: true });
    assert.equal([probeImage(jpeg).width, probeImage(jpeg).height], [33, 17]);
    assert.ok(isComplete(jpeg, 'jpeg'));
    assert.not.ok(isComplete(jpeg.subarray(0, jpeg.length - 2), 'jpeg'));
    assert.ok(isComplete(concat(jpeg, [0, 0, 0]), 'jpeg'), 'bytes after EOI are fine');
  },
);

test('errors: unsupported, truncated, empty', () => {
  expectCode('IMAGE_UNSUPPORTED', new Uint8Array(), 'empty input');
  let seed = 7;
  const noise = new Uint8Array(4096).map(() => (seed = (seed * 16807) % 2147483647) & 255);
  expectCode('IMAGE_UNSUPPORTED', noise, 'random bytes');
  expectCode('IMAGE_UNSUPPORTED', new TextEncoder().encode('GIF89a....'), 'a GIF');
  const jpeg = jpegWith(640, 480);
  expectCode('IMAGE_TRUNCATED', jpeg.subarray(0, 10), 'JPEG cut before SOF');
  expectCode('IMAGE_TRUNCATED', jpeg.subarray(0, 3), 'JPEG SOI only');
  expectCode('IMAGE_EMPTY', jpegWith(0, 480), 'JPEG 0 wide');
  expectCode('IMAGE_EMPTY', jpegWith(640, 0), 'JPEG 0 high (DNL)');
  const ihdr = (w: number, h: number) =>
    concat(
      [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
      be32(13),
      ascii('IHDR'),
      be32(w),
      be32(h),
      [8, 2, 0, 0, 0],
      be32(0),
    );
  assert.equal([probeImage(ihdr(100000, 100000)).width, probeImage(ihdr(100000, 100000)).height], [
    100000,
    100000,
  ]);
  expectCode('IMAGE_EMPTY', ihdr(0, 10), 'PNG 0 wide');
  expectCode('IMAGE_TRUNCATED', ihdr(10, 10).subarray(0, 20), 'PNG cut in IHDR');
  expectCode(
    'IMAGE_TRUNCATED',
    concat(ascii('RIFF'), le32(100), ascii('WEBPVP8 ')),
    'WebP cut in its first chunk',
  );
});

test.run();
