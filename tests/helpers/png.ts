// PNG files built byte by byte, for the decoder's and the HTTP API's bad-input tests.

export const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The parts one after the other. */
export function concat(...parts: ArrayLike<number>[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}

/** `v` as 4 big-endian bytes. */
export const be32 = (v: number) => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];

const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

/** A PNG chunk: length, type, data, CRC-32 of type + data. */
export function pngChunk(type: string, data: ArrayLike<number>): Uint8Array {
  const body = concat(ascii(type), data);
  let c = 0xffffffff;
  for (const v of body) {
    c ^= v;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return concat(be32(data.length), body, be32((c ^ 0xffffffff) >>> 0));
}

/** Signature + IHDR for a `w` x `h` 8-bit RGB image (colour type 2). */
export function pngHeader(w: number, h: number): Uint8Array {
  return concat(PNG_SIGNATURE, pngChunk('IHDR', concat(be32(w), be32(h), [8, 2, 0, 0, 0])));
}

/**
 * A whole `w` x `h` PNG, every chunk's CRC right, whose IDAT holds `n` bytes of garbage instead of
 * zlib data: it passes the header probe and fails in the decoder.
 */
export function pngCorruptIdat(w: number, h: number, n = 300): Uint8Array {
  const garbage = new Uint8Array(n).map((_, i) => (i * 89 + 1) & 255);
  return concat(pngHeader(w, h), pngChunk('IDAT', garbage), pngChunk('IEND', []));
}
