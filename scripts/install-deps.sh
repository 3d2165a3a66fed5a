#!/usr/bin/env bash
# Debian packages the tests need, each installed only when missing: PyTorch 1.13 CPU,
# torchvision, onnx and OpenCV for the exporter and the reference tests
# (models/install-deps.sh), and Chromium for the browser tests (driven by playwright-core).
set -euo pipefail
cd "$(dirname "$0")/.."
bash models/install-deps.sh
if [ -x /usr/bin/chromium ]; then exit 0; fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium
