// The flip test's merge (flip.ts `mergeFlippedJs`) compiled to WebAssembly SIMD
// (scripts/build-kernels.sh): the mirrored crop's heatmaps mirrored back, joints swapped, shifted
// one pixel right (optionally) and averaged with the plain heatmaps, in place. float32 as PyTorch
// computes `(plain + back) * 0.5`; tests/core/flip-wasm.test.ts holds it to the JS loop.
//
// No libc: memory is laid out by the caller (flip-wasm.ts), all pointers are byte offsets.
#include <stdint.h>
#include <wasm_simd128.h>

// plain, flipped: k maps of h x w floats each; flip_index: for each joint, the joint whose
// mirrored map becomes its own; plain receives the average.
__attribute__((export_name("merge")))
void merge(float *plain, const float *flipped, int32_t k, int32_t h, int32_t w, const int32_t *flip_index, int32_t shift) {
  const int32_t plane = h * w;
  const v128_t half = wasm_f32x4_splat(0.5f);
  for (int32_t j = 0; j < k; j++) {
    float *dst = plain + j * plane;
    const float *src = flipped + flip_index[j] * plane;
    for (int32_t y = 0; y < h; y++) {
      float *d = dst + y * w;
      // back[x] = s[w - 1 - x]; shifted: out[x] = back[x - 1] = s[w - x] for x >= 1, out[0] = back[0]
      const float *s = src + y * w + (shift ? w : w - 1);
      d[0] = (d[0] + src[y * w + w - 1]) * 0.5f;
      int32_t x = 1;
      for (; x + 4 <= w; x += 4) {
        // s[-x], s[-x-1], s[-x-2], s[-x-3]: one load of s[-x-3 .. -x], lanes reversed
        const v128_t r = wasm_v128_load(s - x - 3);
        const v128_t b = wasm_i32x4_shuffle(r, r, 3, 2, 1, 0);
        wasm_v128_store(d + x, wasm_f32x4_mul(wasm_f32x4_add(wasm_v128_load(d + x), b), half));
      }
      for (; x < w; x++) d[x] = (d[x] + s[-x]) * 0.5f;
    }
  }
}
