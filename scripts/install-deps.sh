#!/usr/bin/env bash
# Debian packages the tests need, each installed only when missing, in one apt-get call:
# models/install-deps.sh's (PyTorch, torchvision, onnx, OpenCV, munkres, OpenBLAS), and
# - chromium, for the browser tests (driven by playwright-core; it carries its own SwiftShader);
# - libvulkan1 + mesa-vulkan-drivers: the software Vulkan (llvmpipe) behind Deno's WebGPU adapter;
# - ffmpeg, which `srpose video` reads and writes videos with (tests/cli/video.test.ts);
# - clang + lld, with which tests/core/kernels.test.ts rebuilds the WebAssembly kernels and
#   compares their bytes with the committed ones.
set -euo pipefail
cd "$(dirname "$0")/.."
extra=()
[ -x /usr/bin/chromium ] || extra+=(chromium)
dpkg -s libvulkan1 > /dev/null 2>&1 || extra+=(libvulkan1)
dpkg -s mesa-vulkan-drivers > /dev/null 2>&1 || extra+=(mesa-vulkan-drivers)
command -v ffmpeg > /dev/null || extra+=(ffmpeg)
command -v clang > /dev/null || extra+=(clang)
command -v wasm-ld > /dev/null || extra+=(lld)
EXTRA_PACKAGES="${extra[*]}" bash models/install-deps.sh
