#!/usr/bin/env bash
# Debian packages the exporter and the reference tests need (PyTorch 1.13 CPU, torchvision,
# onnx, OpenCV, munkres for the bottom-up grouping), installed only when /usr/bin/python3 cannot
# import them yet, and OpenBLAS: Debian's PyTorch calls the system BLAS (BLAS_INFO=generic),
# which is the unoptimised reference BLAS until a faster one provides libblas.so.3; with
# OpenBLAS the PyTorch side of the exports and reference tests runs several times faster
# (README "Tests").
set -euo pipefail
packages=()
/usr/bin/python3 -c "import torch, torchvision, onnx, cv2, munkres" 2>/dev/null ||
  packages+=(python3-torch python3-torchvision python3-onnx python3-opencv python3-munkres)
dpkg -s libopenblas0-pthread > /dev/null 2>&1 || packages+=(libopenblas0-pthread)
[ ${#packages[@]} -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${packages[@]}"
