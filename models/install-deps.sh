#!/usr/bin/env bash
# Debian packages the exporter and the reference tests need (PyTorch 1.13 CPU, torchvision,
# onnx, OpenCV, munkres for the bottom-up grouping), installed only when /usr/bin/python3 cannot
# import them yet.
set -euo pipefail
if /usr/bin/python3 -c "import torch, torchvision, onnx, cv2, munkres" 2>/dev/null; then exit 0; fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq python3-torch python3-torchvision python3-onnx python3-opencv python3-munkres
