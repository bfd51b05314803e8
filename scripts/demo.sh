#!/usr/bin/env bash
# Installs, builds and exports the default zoo model, printing the coverage summary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh >/dev/null
build/cli/htp-export --model resnet50 --out tagged.onnx "$@"
