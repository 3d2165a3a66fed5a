// decodeImage against cv2.imread (+ BGR->RGB): the shared photos and synthetic files (EXIF
// orientations, PNG kinds, WebP) must match byte for byte; bad input gets the right code.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isSRPoseError, type SRPoseErrorCode } from '../../src/errors.ts';
import {
  type CodecWasm,
  encodeJpeg,
  encodePng,
  encodeWebp,
  setWasmLoader,
} from '../../src/image/codecs.ts';
import { decodeImage } from '../../src/image/decode.ts';
import { packRgb, pixelsToRgb, toBytes } from '../../src/image/pixels.ts';
import { hasShared, SHARED, skipUnless } from '../helpers/env.ts';
import { cv2Dump, cv2Missing, firstDifference } from '../helpers/cv2.ts';
import {
  be32,
  concat,
  PNG_SIGNATURE,
  pngChunk as chunk,
  pngCorruptIdat,
  pngHeader,
} from '../helpers/png.ts';

const file = async (path: string) => new Uint8Array(await readFile(path));

/** What a codec's own text looks like: Rust panics, wasm-bindgen, traps, stack frames. */
const CODEC_TEXT = ['unwrap', 'panicked', 'RuntimeError', 'wasm', 'at ', '.rs'];

/** The part of `message` that is a codec's own text, if any. */
const codecText = (message: string) =>
  CODEC_TEXT.find((t) => message.toLowerCase().includes(t.toLowerCase()));

/** Decoding `bytes` fails with `code` and a message of ours alone; returns the error. */
async function expectCode(
  code: SRPoseErrorCode,
  bytes: Uint8Array,
  what: string,
  maxPixels?: number,
): Promise<Error> {
  try {
    const img = await decodeImage(bytes, { maxPixels });
    assert.unreachable(`${what}: decoded ${img.width}x${img.height}`);
    throw new Error('unreachable');
  } catch (e) {
    assert.ok(isSRPoseError(e, code), `${what}: expected ${code}, got ${e}`);
    const leak = codecText((e as Error).message);
    assert.not.ok(leak, `${what}: the message carries ${JSON.stringify(leak)}: ${e}`);
    return e as Error;
  }
}

/** Every message down an error's `cause` chain, the error's own first. */
function causeText(e: unknown): string {
  const said: string[] = [];
  for (let c = e, i = 0; c !== undefined && i < 10; c = (c as Error)?.cause, i++) {
    said.push(c instanceof Error ? c.message : String((c as { message?: unknown })?.message ?? c));
  }
  return said.join(' <- ');
}

const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

/** A PNG of any colour type written here (zlib via CompressionStream): `samples` is (h, w, n). */
async function makePng(
  w: number,
  h: number,
  colorType: number,
  samples: Uint8Array,
  n: number,
): Promise<Uint8Array> {
  const raw = new Uint8Array(h * (1 + w * n));
  for (let y = 0; y < h; y++) {
    raw.set(samples.subarray(y * w * n, (y + 1) * w * n), y * (1 + w * n) + 1);
  }
  const zlib = new Uint8Array(
    await new Response(new Blob([raw]).stream().pipeThrough(new CompressionStream('deflate')))
      .arrayBuffer(),
  );
  const ihdr = concat(be32(w), be32(h), [8, colorType, 0, 0, 0]);
  return concat(
    PNG_SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib),
    chunk('IEND', new Uint8Array()),
  );
}

/** RGBA test picture (w, h) with structure in every channel. */
function picture(w: number, h: number): Uint8Array {
  const d = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      d.set([(x * 9) & 255, (y * 13) & 255, (x * y) & 255, (x + y * 3) & 255], (y * w + x) * 4);
    }
  }
  return d;
}
const rgbOf = (rgba: Uint8Array) => rgba.filter((_, i) => i % 4 !== 3);

const refs: Record<string, { dir: string; index: any } | undefined> = {};

test.before(async () => {
  refs.formats = await cv2Dump('formats');
  refs.photos = await cv2Dump('photos', { shared: true });
});

test.after(async () => {
  for (const r of Object.values(refs)) if (r) await rm(r.dir, { recursive: true, force: true });
});

test('an injected WASM loader is used (then the default is restored)', async () => {
  const asked: CodecWasm[] = [];
  setWasmLoader(async (f) => {
    asked.push(f);
    const { createRequire } = await import('node:module');
    return await WebAssembly.compile(await readFile(createRequire(import.meta.url).resolve(f)));
  });
  try {
    const jpeg = await encodeJpeg({ data: rgbOf(picture(16, 8)), width: 16, height: 8 });
    const img = await decodeImage(jpeg);
    assert.equal([img.width, img.height, img.format], [16, 8, 'jpeg']);
    assert.ok(asked.includes('@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm'), asked.join());
  } finally {
    setWasmLoader(undefined);
  }
});

test('every shared photo decodes exactly as cv2.imread does', async () => {
  const ref = refs.photos;
  if (cv2Missing(ref, 'photos')) return;
  let ms = 0;
  let pixels = 0;
  const seen: Record<string, number> = {};
  for (const p of ref.index.photos) {
    const bytes = await file(p.path);
    await decodeImage(bytes); // warm
    const t0 = performance.now();
    const img = await decodeImage(bytes);
    ms += performance.now() - t0;
    pixels += img.width * img.height;
    assert.equal([img.width, img.height, img.format], [p.width, p.height, 'jpeg'], p.file);
    const diff = firstDifference(img.data, await file(join(ref.dir, p.rgb)), img.width);
    assert.not.ok(diff, `${p.dataset}/${p.file}: ${diff}`);
    seen[p.dataset] = (seen[p.dataset] ?? 0) + 1;
  }
  const n = ref.index.photos.length;
  console.log(
    `  ${n} photos ${JSON.stringify(seen)} equal; decode ${(ms / n).toFixed(1)} ms per photo (${
      (ms / (pixels / 1e6)).toFixed(1)
    } ms/MP)`,
  );
  for (const ds of ['coco', 'crowdpose', 'mpii']) {
    assert.ok(seen[ds] > 0, `no ${ds} photos in ${SHARED}`);
  }
});

test(
  'synthetic JPEG / PNG / WebP files decode as cv2.imread does (EXIF orientation included)',
  async () => {
    const ref = refs.formats;
    if (cv2Missing(ref, 'formats')) return;
    for (const f of ref.index.files) {
      const bytes = await file(join(ref.dir, f.file));
      if (!f.rgb) {
        await expectCode('IMAGE_CORRUPT', bytes, `${f.name} (cv2 cannot read it)`);
        continue;
      }
      const img = await decodeImage(bytes);
      assert.equal([img.width, img.height], [f.width, f.height], `${f.name}: size`);
      const diff = firstDifference(img.data, await file(join(ref.dir, f.rgb)), img.width);
      assert.not.ok(diff, `${f.name}: ${diff}`);
    }
  },
);

test('EXIF orientations 1..8 transform a JPEG as OpenCV does', async () => {
  const w = 6, h = 4;
  const jpeg = await encodeJpeg({ data: rgbOf(picture(w, h)), width: w, height: h }, {
    quality: 100,
  });
  const plain = await decodeImage(jpeg);
  const at = (x: number, y: number) =>
    Array.from(plain.data.subarray((y * w + x) * 3, (y * w + x) * 3 + 3));
  // Where output pixel (x, y) comes from, per orientation (OpenCV's flip / transpose steps).
  const from: Record<number, (x: number, y: number) => [number, number]> = {
    1: (x, y) => [x, y],
    2: (x, y) => [w - 1 - x, y],
    3: (x, y) => [w - 1 - x, h - 1 - y],
    4: (x, y) => [x, h - 1 - y],
    5: (x, y) => [y, x],
    6: (x, y) => [y, h - 1 - x],
    7: (x, y) => [w - 1 - y, h - 1 - x],
    8: (x, y) => [w - 1 - y, x],
  };
  for (let o = 1; o <= 8; o++) {
    const tiff = [
      0x4d,
      0x4d,
      0,
      42,
      0,
      0,
      0,
      8,
      0,
      1,
      0x01,
      0x12,
      0,
      3,
      0,
      0,
      0,
      1,
      0,
      o,
      0,
      0,
      0,
      0,
      0,
      0,
    ];
    const app1 = concat([0xff, 0xe1, 0, tiff.length + 8], ascii('Exif\0\0'), tiff);
    const img = await decodeImage(concat(jpeg.subarray(0, 2), app1, jpeg.subarray(2)));
    assert.equal([img.width, img.height], o >= 5 ? [h, w] : [w, h], `orientation ${o}`);
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) {
        const got = Array.from(
          img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3),
        );
        assert.equal(got, at(...from[o](x, y)), `orientation ${o} pixel (${x}, ${y})`);
      }
    }
  }
});

test(
  'PNG and WebP round trips: RGB, RGBA (alpha dropped), grey and grey + alpha (replicated)',
  async () => {
    const w = 23, h = 11;
    const rgba = picture(w, h);
    const rgb = rgbOf(rgba);
    for (
      const [name, bytes] of [
        ['PNG RGBA', await encodePng({ data: rgba, width: w, height: h })],
        ['PNG RGB', await encodePng({ data: rgb, width: w, height: h })],
        ['WebP lossless RGBA', await encodeWebp({ data: rgba, width: w, height: h })],
        ['WebP lossless RGB', await encodeWebp({ data: rgb, width: w, height: h })],
      ] as const
    ) {
      const img = await decodeImage(bytes);
      assert.equal([img.width, img.height], [w, h], name);
      assert.equal(img.data, rgb, name);
    }
    const grey = rgba.filter((_, i) => i % 4 === 0);
    const greyAlpha = rgba.filter((_, i) => i % 4 === 0 || i % 4 === 3);
    const replicated = new Uint8Array(w * h * 3).map((_, i) => grey[Math.floor(i / 3)]);
    for (
      const [name, bytes] of [
        ['PNG grey', await makePng(w, h, 0, grey, 1)],
        ['PNG grey + alpha', await makePng(w, h, 4, greyAlpha, 2)],
        ['WebP grey', await encodeWebp({ data: replicated, width: w, height: h })],
      ] as const
    ) {
      const img = await decodeImage(bytes);
      assert.equal(img.data, replicated, name);
    }
    const lossy = await decodeImage(
      await encodeWebp({ data: rgb, width: w, height: h }, { lossless: false, quality: 90 }),
    );
    assert.equal([lossy.width, lossy.height, lossy.format], [w, h, 'webp']);
  },
);

test('bad input: empty, random, truncated, oversized, zero-size, corrupt', async () => {
  await expectCode('IMAGE_UNSUPPORTED', new Uint8Array(), 'empty bytes');
  let seed = 11;
  await expectCode(
    'IMAGE_UNSUPPORTED',
    new Uint8Array(10000).map(() => (seed = (seed * 16807) % 2147483647) & 255),
    'random bytes',
  );
  const w = 64, h = 48;
  const jpeg = await encodeJpeg({ data: rgbOf(picture(w, h)), width: w, height: h });
  await expectCode(
    'IMAGE_TRUNCATED',
    jpeg.subarray(0, Math.floor(jpeg.length * 0.3)),
    'first 30% of a JPEG',
  );
  if (!skipUnless(hasShared, `${SHARED} is absent: truncated shared photo not tried`)) {
    const photo = await file(join(SHARED, 'coco', '000000000785.jpg'));
    await expectCode(
      'IMAGE_TRUNCATED',
      photo.subarray(0, Math.floor(photo.length * 0.3)),
      'first 30% of a shared photo',
    );
  }
  const png = await encodePng({ data: picture(w, h), width: w, height: h });
  await expectCode('IMAGE_TRUNCATED', png.subarray(0, png.length - 30), 'PNG without its end');
  const webp = await encodeWebp({ data: picture(w, h), width: w, height: h });
  await expectCode('IMAGE_TRUNCATED', webp.subarray(0, webp.length - 10), 'WebP without its end');
  // A header alone, claiming 10^10 pixels: refused before any decoding (no image data follows).
  await expectCode(
    'IMAGE_TOO_LARGE',
    pngHeader(100000, 100000),
    'PNG header claiming 100000x100000',
  );
  await expectCode('IMAGE_TOO_LARGE', png, 'a 64x48 PNG over maxPixels 1000', 1000);
  await expectCode('IMAGE_EMPTY', pngHeader(0, 100), 'PNG header with width 0');
  await expectCode('INVALID_OPTION', png, 'maxPixels 0', 0);
  // Scan data scrambled after the headers; EOI kept.
  const sos = jpeg.findIndex((v, i) => v === 0xff && jpeg[i + 1] === 0xda);
  const scrambled = jpeg.slice();
  for (let i = sos + 20; i < scrambled.length - 2; i++) scrambled[i] = (i * 89) & 0xfe;
  const out = await decodeImage(scrambled).catch((e) => e);
  assert.ok(isSRPoseError(out, 'IMAGE_CORRUPT') || out?.width === w, `scrambled JPEG: ${out}`);
  const badPng = png.slice();
  badPng.fill(0x55, 50, 80); // inside IDAT: zlib / CRC failure
  await expectCode('IMAGE_CORRUPT', badPng, 'PNG with broken image data');
  const noScan = concat(jpeg.subarray(0, sos), [0xff, 0xd9]);
  await expectCode('IMAGE_TRUNCATED', noScan, 'JPEG with no scan');
  // The codecs still work after all that.
  assert.equal((await decodeImage(jpeg)).width, w);
  assert.equal((await decodeImage(png)).width, w);
});

test("codec failures name what is corrupt in our words, the codec's in cause", async () => {
  const w = 64, h = 48;
  const head = pngHeader(w, h);
  const garbage = (n: number, seed: number) =>
    new Uint8Array(n).map((_, i) => (i * 89 + seed) & 255);
  const iend = chunk('IEND', new Uint8Array());
  const png = await encodePng({ data: picture(w, h), width: w, height: h });
  const jpeg = await encodeJpeg({ data: rgbOf(picture(w, h)), width: w, height: h });
  const sos = jpeg.findIndex((v, i) => v === 0xff && jpeg[i + 1] === 0xda);
  // from `from` bytes after the SOS marker to EOI (kept); its header is 12 bytes (3 components)
  const scan = (from: number, fill: (i: number) => number) => {
    const out = jpeg.slice();
    for (let i = sos + from; i < out.length - 2; i++) out[i] = fill(i);
    return out;
  };
  // WebP: RIFF header (12) + chunk header (8) + the frame header kept (10), garbage after
  const vp8 = (bytes: Uint8Array) => {
    const out = bytes.slice();
    out.set(garbage(out.length - 30, 5), 30);
    return out;
  };
  const webpLossless = await encodeWebp({ data: picture(w, h), width: w, height: h });
  const webpLossy = await encodeWebp({ data: picture(w, h), width: w, height: h }, {
    lossless: false,
  });
  const cases: [string, Uint8Array, RegExp][] = [
    // the HTTP bad-input table's corrupt PNG (tests/server/cases.ts)
    ['PNG whose IDAT is not zlib', pngCorruptIdat(w, h), /PNG/],
    [
      'PNG whose IDAT is a zlib header then garbage',
      concat(head, chunk('IDAT', concat([0x78, 0x9c], garbage(300, 3))), iend),
      /PNG/,
    ],
    [
      'PNG whose IDAT stops short',
      concat(head, chunk('IDAT', [0x78, 0x9c, 3, 0]), iend),
      /PNG/,
    ],
    ['PNG with no IDAT', concat(head, iend), /PNG/],
    ['JPEG with garbage after the SOS header', scan(14, (i) => (i * 89) & 255), /JPEG/],
    ['JPEG whose SOS header and scan are 0xff', scan(2, () => 0xff), /JPEG/],
    ['lossless WebP with a garbage VP8L bitstream', vp8(webpLossless), /WebP/],
    ['lossy WebP with a garbage VP8 bitstream', vp8(webpLossy), /WebP/],
  ];
  for (const [what, bytes, format] of cases) {
    const e = await expectCode('IMAGE_CORRUPT', bytes, what);
    assert.match(e.message, /^the (PNG|JPEG|WebP) is corrupt: .* cannot be decoded$/, what);
    assert.match(e.message, format, what);
    assert.ok(e.cause !== undefined, `${what}: no cause`);
  }
  // These inputs do make the codecs say such things (else the checks above prove nothing):
  // the words are kept for logs, in the cause.
  const pngError = await decodeImage(cases[0][1]).catch((e) => e);
  assert.match(causeText(pngError), /unwrap_throw/);
  for (const [what, bytes] of cases.slice(4, 6)) {
    const said = causeText(await decodeImage(bytes).catch((e) => e));
    assert.match(said, /codec output: .*(JPEG|marker|Huffman)/, what);
  }
  // The codecs still work after all that.
  assert.equal((await decodeImage(png)).width, w);
  assert.equal((await decodeImage(jpeg)).width, w);
  assert.equal((await decodeImage(webpLossy)).width, w);
});

test('unsupported variants: CMYK JPEG, animated WebP', async () => {
  const sof = [0xff, 0xc0, 0, 20, 8, 0, 8, 0, 8, 4, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0, 4, 0x11, 0];
  await expectCode(
    'IMAGE_UNSUPPORTED',
    concat([0xff, 0xd8], sof, [0xff, 0xda, 0, 2, 0xff, 0xd9]),
    'CMYK JPEG',
  );
  const le = (v: number) => [v & 255, (v >> 8) & 255, (v >> 16) & 255];
  const anim = concat(
    ascii('RIFF'),
    [22, 0, 0, 0],
    ascii('WEBPVP8X'),
    [10, 0, 0, 0],
    [0x02, 0, 0, 0],
    le(15),
    le(15),
  );
  await expectCode('IMAGE_UNSUPPORTED', anim, 'animated WebP');
});

test('pixelsToRgb and toBytes normalise caller input', async () => {
  const rgba = picture(4, 3);
  const rgb = rgbOf(rgba);
  assert.equal(pixelsToRgb({ data: rgba, width: 4, height: 3 }).data, rgb);
  assert.equal(
    pixelsToRgb({ data: new Uint8ClampedArray(rgba), width: 4, height: 3, channels: 4 }).data,
    rgb,
  );
  const same = pixelsToRgb({ data: rgb, width: 4, height: 3 });
  assert.ok(same.data === rgb, 'RGB input is used without a copy');
  for (
    const [px, code] of [
      [{ data: rgb, width: 4, height: 3, channels: 4 }, 'INVALID_PIXELS'],
      [{ data: rgb.subarray(1), width: 4, height: 3 }, 'INVALID_PIXELS'],
      [{ data: rgb, width: 4.5, height: 3 }, 'INVALID_PIXELS'],
      [{ data: Array.from(rgb), width: 4, height: 3 }, 'INVALID_PIXELS'],
      [{ data: new Uint8Array(), width: 0, height: 3 }, 'IMAGE_EMPTY'],
    ] as const
  ) {
    try {
      pixelsToRgb(px as any);
      assert.unreachable(JSON.stringify({ ...px, data: px.data.length }));
    } catch (e) {
      assert.ok(isSRPoseError(e, code), `${JSON.stringify({ ...px, data: px.data.length })}: ${e}`);
    }
  }
  assert.equal(packRgb(rgba, 4, 3, 4, 6).width, 3);
  // RGBA -> RGB by 32-bit words (aligned byte arrays) equals the byte-by-byte pack: pixel counts
  // that are and are not multiples of 4, clamped and plain bytes, an unaligned view (byte path)
  for (const [w, h] of [[1, 1], [3, 1], [4, 1], [5, 3], [640, 425], [7, 9]]) {
    const px = new Uint8Array(w * h * 4 + 4).map((_, i) => (i * 37 + (i >> 7)) & 255);
    const want = new Uint8Array(w * h * 3);
    for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) want[3 * i + c] = px[4 * i + c];
    for (
      const view of [
        px.subarray(0, w * h * 4),
        new Uint8ClampedArray(px.buffer, 0, w * h * 4),
        Array.from(px.subarray(0, w * h * 4)),
      ]
    ) {
      assert.equal(packRgb(view, w, h, 4, 1).data, want, `${w}x${h} ${view.constructor.name}`);
    }
    const shifted = new Uint8Array(px.buffer, 1, w * h * 4);
    const wantShifted = new Uint8Array(w * h * 3);
    for (let i = 0; i < w * h; i++) {
      for (let c = 0; c < 3; c++) wantShifted[3 * i + c] = shifted[4 * i + c];
    }
    assert.equal(packRgb(shifted, w, h, 4, 1).data, wantShifted, `${w}x${h} unaligned`);
  }
  const bytes = new Uint8Array([1, 2, 3, 4, 5]);
  assert.ok((await toBytes(bytes)) === bytes);
  assert.equal(await toBytes(bytes.buffer), bytes);
  assert.equal(await toBytes(new DataView(bytes.buffer, 1, 3)), bytes.subarray(1, 4));
  assert.equal(await toBytes(new Blob([bytes])), bytes);
  await toBytes('nope' as any).then(
    () => assert.unreachable('accepted a string'),
    (e) => assert.ok(isSRPoseError(e, 'IMAGE_UNSUPPORTED')),
  );
});

test.run();
