#!/usr/bin/env bash
# Debian packages the exporter and the reference tests need, installed only when missing:
# PyTorch 1.13 CPU, torchvision, onnx, OpenCV, munkres (the bottom-up grouping), and OpenBLAS:
# Debian's PyTorch calls the system BLAS (BLAS_INFO=generic), which is the unoptimised
# reference BLAS until a faster one provides libblas.so.3; with OpenBLAS the PyTorch side of
# the exports and reference tests runs several times faster (CONTRIBUTING.md).
# `EXTRA_PACKAGES` (scripts/install-deps.sh) joins the same apt-get call.
set -euo pipefail
packages=(${EXTRA_PACKAGES:-})
/usr/bin/python3 -c "import torch, torchvision, onnx, cv2, munkres" 2>/dev/null ||
  packages+=(python3-torch python3-torchvision python3-onnx python3-opencv python3-munkres)
dpkg -s libopenblas0-pthread > /dev/null 2>&1 || packages+=(libopenblas0-pthread)
[ ${#packages[@]} -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Recommends would add some 160 packages (desktop, printing, media, -dev headers) that nothing
# here uses; what the tests need beyond the dependencies is named (scripts/install-deps.sh).
$SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}"
