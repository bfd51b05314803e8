#!/usr/bin/env bash
# Installs, builds and runs the whole test suite (C++ units and end-to-end checks in ONNX Runtime).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j2
