/**
 * Per-channel lookup tables for torchvision's `to_tensor` + `normalize` on uint8 pixels,
 * evaluated in float32 exactly as PyTorch does: `(float32(v) / 255 - mean) / std`.
 * Returns 3 x 256 values (R, G, B).
 */
export function normalizeTable(mean: readonly number[], std: readonly number[]): Float32Array {
  const f = Math.fround;
  const lut = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    const m = f(mean[c]);
    const s = f(std[c]);
    for (let v = 0; v < 256; v++) lut[c * 256 + v] = f(f(f(v) / 255) - m) / s;
  }
  return lut;
}

/**
 * Packed RGB crop (h, w, 3) -> planar normalised tensor (3, h, w) at `out[offset]`;
 * with `mirror` the columns are reversed (the flip-test input, `img.flip(3)`).
 */
export function writeInputTensor(
  crop: Uint8Array,
  w: number,
  h: number,
  lut: Float32Array,
  out: Float32Array,
  offset: number,
  mirror: boolean,
): void {
  const plane = w * h;
  for (let y = 0; y < h; y++) {
    const srcRow = y * w * 3;
    const dstRow = offset + y * w;
    for (let x = 0; x < w; x++) {
      const s = srcRow + x * 3;
      const d = dstRow + (mirror ? w - 1 - x : x);
      out[d] = lut[crop[s]];
      out[d + plane] = lut[256 + crop[s + 1]];
      out[d + 2 * plane] = lut[512 + crop[s + 2]];
    }
  }
}
