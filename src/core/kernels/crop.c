// The top-down crop (cv2.warpAffine bilinear, constant 0 border, OpenCV's fixed-point path,
// then the normalise lookup table, planar) as warp.ts `warpInto` does it with a planar sink,
// compiled to WebAssembly (scripts/build-kernels.sh): the same integer arithmetic step by step,
// so the two give identical floats; tests/core/crop-wasm.test.ts holds them to that.
//
// No libc: memory is laid out by the caller (crop-wasm.ts), all pointers are byte offsets.
#include <stdint.h>
#include <wasm_simd128.h>

// saturate_cast<short>
static inline int32_t to_short(int32_t v) { return v < -32768 ? -32768 : v > 32767 ? 32767 : v; }

// One pixel whose taps are not all inside: warp.ts borderPixel, into r, g, b.
static inline void border_pixel(const uint8_t *src, int32_t src_w, int32_t src_h, int32_t ox, int32_t oy, int32_t stride,
                                int32_t sx, int32_t sy, int32_t w00, int32_t w01, int32_t w10, int32_t w11, int32_t *rgb) {
  int32_t tx = to_short(sx), ty = to_short(sy);
  if (tx >= src_w || tx + 1 < 0 || ty >= src_h || ty + 1 < 0) {
    rgb[0] = rgb[1] = rgb[2] = 0;
    return;
  }
  int in0x = tx >= 0, in1x = tx + 1 < src_w, in0y = ty >= 0, in1y = ty + 1 < src_h;
  // taps inside the image lie inside the copied rectangle (origin ox, oy)
  const uint8_t *p = src + (ty - oy) * stride + (tx - ox) * 3;
  const uint8_t *q = p + stride;
  for (int c = 0; c < 3; c++) {
    int32_t v00 = in0x && in0y ? p[c] : 0;
    int32_t v01 = in1x && in0y ? p[3 + c] : 0;
    int32_t v10 = in0x && in1y ? q[c] : 0;
    int32_t v11 = in1x && in1y ? q[3 + c] : 0;
    rgb[c] = (v00 * w00 + v01 * w01 + v10 * w10 + v11 * w11 + 512) >> 10;
  }
}

// adelta, bdelta: per-column offsets (dst_w); x0, y0: per-row origins (dst_h), as warp.ts's
// warpGrid / rowOriginX / rowOriginY give them. src: the image rows oy.. and columns ox.. that
// the taps reach, packed RGB, `stride` bytes a row; src_w, src_h the whole image's size.
// out: 3 planes of dst_w x dst_h floats; with mirror, 3 more with the columns reversed.
__attribute__((export_name("crop")))
void crop(const float *lut, const int32_t *adelta, const int32_t *bdelta, const int32_t *x0, const int32_t *y0,
          int32_t dst_w, int32_t dst_h, const uint8_t *src, int32_t src_w, int32_t src_h, int32_t ox, int32_t oy,
          int32_t stride, float *out, int32_t mirror) {
  const int32_t inner_w = src_w - 1 < 32767 ? src_w - 1 : 32767;
  const int32_t inner_h = src_h - 1 < 32767 ? src_h - 1 : 32767;
  const int32_t plane = dst_w * dst_h;
  float *mo = out + 3 * plane;
  // bytes r0 r1 g0 g1 b0 b1 of the top row (low half) and of the bottom row (high half)
  const v128_t pick = wasm_i8x16_make(0, 3, 1, 4, 2, 5, 16, 16, 8, 11, 9, 12, 10, 13, 16, 16);
  for (int32_t y = 0; y < dst_h; y++) {
    const int32_t X0 = x0[y], Y0 = y0[y];
    float *d = out + y * dst_w;
    float *md = mo + y * dst_w + dst_w - 1;
    for (int32_t x = 0; x < dst_w; x++) {
      const int32_t X = (int32_t)((uint32_t)X0 + (uint32_t)adelta[x]) >> 5;
      const int32_t Y = (int32_t)((uint32_t)Y0 + (uint32_t)bdelta[x]) >> 5;
      const int32_t sx = X >> 5, sy = Y >> 5, fx = X & 31, fy = Y & 31;
      const int32_t w11 = fx * fy, w01 = (fx << 5) - w11, w10 = (fy << 5) - w11, w00 = 1024 - (fx << 5) - w10;
      int32_t r, g, b;
      if ((uint32_t)sx < (uint32_t)inner_w && (uint32_t)sy < (uint32_t)inner_h) {
        const uint8_t *p = src + (sy - oy) * stride + (sx - ox) * 3;
        // 6 bytes of each row in one load of 8 each; the 2 extra bytes are the next pixel's, or
        // past the last row the slack the caller leaves after the rectangle
        v128_t v = wasm_v128_load64_zero(p);
        v = wasm_v128_load64_lane(p + stride, v, 1);
        v = wasm_i8x16_swizzle(v, pick);
        // per pair (tap 0, tap 1) of a channel: top row weights, then bottom row weights
        const v128_t top = wasm_u16x8_extend_low_u8x16(v), bot = wasm_u16x8_extend_high_u8x16(v);
        const v128_t wt = wasm_i32x4_splat((w01 << 16) | w00), wb = wasm_i32x4_splat((w11 << 16) | w10);
        const v128_t s = wasm_i32x4_add(wasm_i32x4_dot_i16x8(top, wt), wasm_i32x4_dot_i16x8(bot, wb));
        const v128_t v3 = wasm_i32x4_shr(wasm_i32x4_add(s, wasm_i32x4_splat(512)), 10);
        r = wasm_i32x4_extract_lane(v3, 0);
        g = wasm_i32x4_extract_lane(v3, 1);
        b = wasm_i32x4_extract_lane(v3, 2);
      } else {
        int32_t rgb[3];
        border_pixel(src, src_w, src_h, ox, oy, stride, sx, sy, w00, w01, w10, w11, rgb);
        r = rgb[0], g = rgb[1], b = rgb[2];
      }
      const float vr = lut[r], vg = lut[256 + g], vb = lut[512 + b];
      d[x] = vr;
      d[x + plane] = vg;
      d[x + 2 * plane] = vb;
      if (mirror) {
        md[-x] = vr;
        md[-x + plane] = vg;
        md[-x + 2 * plane] = vb;
      }
    }
  }
}
