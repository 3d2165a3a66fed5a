/**
 * Image headers, read without decoding: format, size, EXIF orientation. Enough to refuse an
 * oversized image before allocating its pixels.
 * @module
 */
import { SRPoseError } from '../errors.ts';

export type ImageFormat = 'jpeg' | 'png' | 'webp';

/** What the header of an encoded image says. */
export interface ImageInfo {
  format: ImageFormat;
  /** Stored size, before orientation. */
  width: number;
  height: number;
  /**
   * The EXIF orientation (1..8) that `cv2.imread` applies, and so `decodeImage` too: from
   * the first APP1 segment of a JPEG (even when that is XMP and the EXIF comes second, as
   * OpenCV 4.6 reads it), or a PNG `eXIf` chunk; WebP EXIF is ignored, as OpenCV 4.6 does.
   * 1 when absent or out of range.
   */
  orientation: number;
  /**
   * Colour components stored: 1 (grey), 2 (grey + alpha), 3 (colour), 4 (colour + alpha, or CMYK
   * JPEG).
   */
  channels: number;
  /** Bits per sample: 8 or 12 (JPEG); 1, 2, 4, 8 or 16 (PNG); 8 (WebP). */
  bitDepth: number;
  /** An animated WebP (VP8X animation flag). */
  animated: boolean;
}

/**
 * Reads the format, size and orientation of JPEG / PNG / WebP bytes from their headers.
 * Throws `IMAGE_UNSUPPORTED` for anything else, `IMAGE_TRUNCATED` when the bytes end before
 * the size, `IMAGE_EMPTY` for a zero width or height.
 */
export function probeImage(bytes: Uint8Array): ImageInfo {
  const info = isJpeg(bytes)
    ? probeJpeg(bytes)
    : isPng(bytes)
    ? probePng(bytes)
    : isWebp(bytes)
    ? probeWebp(bytes)
    : undefined;
  if (!info) {
    const what = bytes.length === 0 ? 'no bytes' : `bytes starting ${hex(bytes.subarray(0, 8))}`;
    throw new SRPoseError('IMAGE_UNSUPPORTED', `not a JPEG, PNG or WebP image (${what})`);
  }
  if (info.width === 0 || info.height === 0) {
    throw new SRPoseError(
      'IMAGE_EMPTY',
      `the ${info.format.toUpperCase()} header says ${info.width}x${info.height}`,
    );
  }
  return info;
}

/**
 * Whether the bytes run to the end of the image: a JPEG's EOI marker after its first scan,
 * a PNG's IEND chunk, a WebP's whole RIFF payload. Decoders would fill a cut-off image
 * with grey or fail obscurely; this tells the two apart.
 */
export function isComplete(bytes: Uint8Array, format: ImageFormat): boolean {
  if (format === 'jpeg') {
    const scan = scanJpeg(bytes).scanStart;
    if (scan < 0) return false;
    for (let i = bytes.length - 2; i >= scan; i--) {
      if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return true;
    }
    return false;
  }
  if (format === 'png') {
    for (let at = 8; at + 8 <= bytes.length;) {
      const length = u32be(bytes, at);
      if (type4(bytes, at + 4) === 'IEND') return true;
      at += 12 + length;
    }
    return false;
  }
  return bytes.length >= 8 + u32le(bytes, 4);
}

function hex(b: Uint8Array): string {
  return Array.from(b, (v) => v.toString(16).padStart(2, '0')).join(' ');
}

const u16be = (b: Uint8Array, i: number) => (b[i] << 8) | b[i + 1];
const u32be = (b: Uint8Array, i: number) =>
  ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
const u32le = (b: Uint8Array, i: number) =>
  ((b[i + 3] << 24) | (b[i + 2] << 16) | (b[i + 1] << 8) | b[i]) >>> 0;
const type4 = (b: Uint8Array, i: number) => String.fromCharCode(b[i], b[i + 1], b[i + 2], b[i + 3]);

function truncated(format: string, what: string): SRPoseError {
  return new SRPoseError('IMAGE_TRUNCATED', `the ${format} data ends before its ${what}`);
}

// --- JPEG -------------------------------------------------------------------------------

const isJpeg = (b: Uint8Array) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;

/** SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC). */
const isSof = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

interface JpegScan {
  /** Offset of the first SOS segment, -1 if the bytes end before it. */
  scanStart: number;
  /** Where the walk stopped: the first scan, an EOI marker, or the end of the bytes. */
  stop: 'sos' | 'eoi' | 'end';
  frame?: { width: number; height: number; channels: number; bitDepth: number };
  /** Payload of the first APP1 segment (where libjpeg keeps it for OpenCV), if any. */
  app1?: Uint8Array;
}

/** Walks the marker segments from SOI to the first SOS (as libjpeg's `jpeg_read_header`). */
function scanJpeg(b: Uint8Array): JpegScan {
  const out: JpegScan = { scanStart: -1, stop: 'end' };
  let i = 2;
  while (i < b.length) {
    if (b[i] !== 0xff) {
      i++; // libjpeg skips garbage before a marker (with a warning)
      continue;
    }
    while (i < b.length && b[i] === 0xff) i++; // fill bytes
    if (i >= b.length) break;
    const m = b[i++];
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd8)) continue; // TEM, RSTn, SOI: no length
    if (m === 0xd9) {
      out.stop = 'eoi';
      break;
    }
    if (i + 2 > b.length) break;
    const length = u16be(b, i);
    if (m === 0xda) {
      out.scanStart = i - 2;
      out.stop = 'sos';
      break;
    }
    if (length < 2) {
      throw new SRPoseError(
        'IMAGE_CORRUPT',
        `JPEG marker 0x${m.toString(16)} at byte ${i - 2} has length ${length}`,
      );
    }
    if (isSof(m) && !out.frame && i + 8 <= b.length) {
      out.frame = {
        bitDepth: b[i + 2],
        height: u16be(b, i + 3),
        width: u16be(b, i + 5),
        channels: b[i + 7],
      };
    }
    if (m === 0xe1 && !out.app1) out.app1 = b.subarray(i + 2, Math.min(b.length, i + length));
    i += length;
  }
  return out;
}

function probeJpeg(b: Uint8Array): ImageInfo {
  const { frame, app1, stop } = scanJpeg(b);
  if (!frame && stop === 'end') throw truncated('JPEG', 'frame header (SOF marker)');
  if (!frame) {
    throw new SRPoseError(
      'IMAGE_CORRUPT',
      'the JPEG has no frame header (SOF marker) before its image data',
    );
  }
  // OpenCV parses the first APP1 from byte 6 (after "Exif\0\0"), whatever it holds.
  const orientation = app1 && app1.length > 6 ? exifOrientation(app1.subarray(6)) : 1;
  return { format: 'jpeg', ...frame, orientation, animated: false };
}

// --- PNG --------------------------------------------------------------------------------

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const isPng = (b: Uint8Array) => b.length >= 8 && PNG_SIGNATURE.every((v, i) => b[i] === v);

/** Samples per pixel by PNG colour type (palette counts as 3: it expands to RGB). */
const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 3, 4: 2, 6: 4 };

function probePng(b: Uint8Array): ImageInfo {
  if (b.length < 8 + 8 + 13) throw truncated('PNG', 'header (IHDR chunk)');
  if (type4(b, 12) !== 'IHDR') {
    throw new SRPoseError('IMAGE_CORRUPT', 'the PNG does not start with an IHDR chunk');
  }
  const width = u32be(b, 16);
  const height = u32be(b, 20);
  const bitDepth = b[24];
  const channels = PNG_CHANNELS[b[25]];
  if (channels === undefined) {
    throw new SRPoseError('IMAGE_CORRUPT', `the PNG colour type ${b[25]} is invalid`);
  }
  // OpenCV takes libpng's eXIf from before the image data, else the one after it (libpng keeps
  // the first of each that passes its checks and CRC), and reads the orientation from it.
  let before: Uint8Array | undefined;
  let after: Uint8Array | undefined;
  let seenData = false;
  for (let at = 8; at + 8 <= b.length;) {
    const length = u32be(b, at);
    const type = type4(b, at + 4);
    if (type === 'IEND' || at + 12 + length > b.length) break;
    if (type === 'IDAT') seenData = true;
    else if (type === 'eXIf' && !(seenData ? after : before)) {
      const data = b.subarray(at + 8, at + 8 + length);
      // libpng's own (loose) byte-order check, then the chunk CRC.
      const orderOk = length >= 2 && (data[1] === 0x4d || data[1] === 0x49 || data[0] === data[1]);
      if (orderOk && crc32(b.subarray(at + 4, at + 8 + length)) === u32be(b, at + 8 + length)) {
        if (seenData) after = data;
        else before = data;
      }
    }
    at += 12 + length;
  }
  const exif = before ?? after;
  const orientation = exif ? exifOrientation(exif) : 1;
  return { format: 'png', width, height, orientation, channels, bitDepth, animated: false };
}

let crcTable: Uint32Array | undefined;

function crc32(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// --- WebP -------------------------------------------------------------------------------

const isWebp = (b: Uint8Array) =>
  b.length >= 12 && type4(b, 0) === 'RIFF' && type4(b, 8) === 'WEBP';

function probeWebp(b: Uint8Array): ImageInfo {
  if (b.length < 20) throw truncated('WebP', 'first chunk header');
  const chunk = type4(b, 12);
  const base = { format: 'webp' as const, orientation: 1, bitDepth: 8, animated: false };
  if (chunk === 'VP8 ') {
    if (b.length < 30) throw truncated('WebP', 'VP8 frame header');
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) {
      throw new SRPoseError('IMAGE_CORRUPT', 'the WebP VP8 start code is wrong');
    }
    return { ...base, width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff, channels: 3 };
  }
  if (chunk === 'VP8L') {
    if (b.length < 25) throw truncated('WebP', 'VP8L header');
    if (b[20] !== 0x2f) throw new SRPoseError('IMAGE_CORRUPT', 'the WebP VP8L signature is wrong');
    const bits = u32le(b, 21);
    const alpha = (bits >>> 28) & 1;
    return {
      ...base,
      width: (bits & 0x3fff) + 1,
      height: ((bits >>> 14) & 0x3fff) + 1,
      channels: alpha ? 4 : 3,
    };
  }
  if (chunk === 'VP8X') {
    if (b.length < 30) throw truncated('WebP', 'VP8X header');
    const flags = b[20];
    const width = (b[24] | (b[25] << 8) | (b[26] << 16)) + 1;
    const height = (b[27] | (b[28] << 8) | (b[29] << 16)) + 1;
    return {
      ...base,
      width,
      height,
      channels: flags & 0x10 ? 4 : 3,
      animated: (flags & 0x02) !== 0,
    };
  }
  throw new SRPoseError('IMAGE_CORRUPT', `unknown WebP chunk ${JSON.stringify(chunk)}`);
}

const u16le = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8);

// --- EXIF -------------------------------------------------------------------------------

/** IFD0 tags OpenCV's ExifReader parses; each reads its value as noted below. */
const Tag = {
  ImageDescription: 0x010e,
  Make: 0x010f,
  Model: 0x0110,
  Orientation: 0x0112,
  XResolution: 0x011a,
  YResolution: 0x011b,
  ResolutionUnit: 0x0128,
  Software: 0x0131,
  DateTime: 0x0132,
  WhitePoint: 0x013e,
  PrimaryChromaticities: 0x013f,
  YCbCrCoefficients: 0x0211,
  YCbCrPositioning: 0x0213,
  ReferenceBlackWhite: 0x0214,
  Copyright: 0x8298,
} as const;

/** Rationals read through an offset, by tag. */
const RATIONALS: Record<number, number> = {
  [Tag.XResolution]: 1,
  [Tag.YResolution]: 1,
  [Tag.WhitePoint]: 2,
  [Tag.PrimaryChromaticities]: 6,
  [Tag.YCbCrCoefficients]: 3,
  [Tag.ReferenceBlackWhite]: 6,
};
/** ASCII values: inline up to 4 bytes, else through an offset. */
const STRINGS = new Set<number>([
  Tag.ImageDescription,
  Tag.Make,
  Tag.Model,
  Tag.Software,
  Tag.DateTime,
  Tag.Copyright,
]);

/** Thrown by a read past the end of the EXIF block (OpenCV's `ExifParsingError`). */
const EXIF_END = Symbol('exif end');

/**
 * The orientation OpenCV 4.6's `ExifReader` finds in a TIFF-structured EXIF block: IFD0 is
 * read entry by entry, each known tag read as OpenCV reads it, and the first read past the
 * end stops the parse (entries already read stay). The orientation is the entry's first
 * 16-bit value whatever its declared type; OpenCV applies only 1..8.
 */
export function exifOrientation(d: Uint8Array): number {
  const n = d.length;
  if (n < 2 || d[0] !== d[1] || (d[0] !== 0x49 && d[0] !== 0x4d)) return 1;
  const le = d[0] === 0x49;
  const u16 = (o: number) => {
    if (o + 1 >= n) throw EXIF_END;
    return le ? d[o] | (d[o + 1] << 8) : (d[o] << 8) | d[o + 1];
  };
  const u32 = (o: number) => {
    if (o + 3 >= n) throw EXIF_END;
    return (le
      ? (d[o + 3] << 24) | (d[o + 2] << 16) | (d[o + 1] << 8) | d[o]
      : (d[o] << 24) | (d[o + 1] << 16) | (d[o + 2] << 8) | d[o + 3]) >>> 0;
  };
  let orientation = 0;
  try {
    if (u16(2) !== 42) return 1;
    let at = u32(4);
    const count = u16(at);
    at += 2;
    for (let e = 0; e < count; e++, at += 12) {
      const tag = u16(at);
      if (tag === Tag.Orientation || tag === Tag.ResolutionUnit || tag === Tag.YCbCrPositioning) {
        const v = u16(at + 8);
        if (tag === Tag.Orientation && orientation === 0) orientation = v === 0 ? -1 : v;
      } else if (STRINGS.has(tag)) {
        const size = u32(at + 4);
        const offset = size > 4 ? u32(at + 8) : 8;
        if (offset > n || offset + size > n) throw EXIF_END;
      } else if (RATIONALS[tag] !== undefined) {
        let offset = u32(at + 8);
        for (let r = 0; r < RATIONALS[tag]; r++, offset = (offset + 8) >>> 0) {
          u32(offset);
          u32(offset + 4);
        }
      }
    }
  } catch (e) {
    if (e !== EXIF_END) throw e;
  }
  return orientation >= 1 && orientation <= 8 ? orientation : 1;
}
