#!/usr/bin/env bash
# Debian packages the tests need, each installed only when missing: PyTorch 1.13 CPU,
# torchvision, onnx and OpenCV for the exporter and the reference tests
# (models/install-deps.sh), Chromium for the browser tests (driven by playwright-core), and
# clang + lld, with which tests/core/kernels.test.ts rebuilds the WebAssembly kernels and
# compares their bytes with the committed ones.
set -euo pipefail
cd "$(dirname "$0")/.."
bash models/install-deps.sh
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v clang > /dev/null || missing+=(clang)
command -v wasm-ld > /dev/null || command -v wasm-ld-14 > /dev/null || missing+=(lld)
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}"
