#!/usr/bin/env bash
# Whole-process wall time and peak RSS of the quick commands on resnet18's exported file (69 nodes,
# 45 MB of weights): --version, tag, extract, partition, optimize. tag, extract and partition run in
# the torch-free front executable; --version and optimize in htp-export-torch (cli/app.h). Run by hand
# after scripts/build.sh; prints a markdown table (best of RUNS, default 10). With BEFORE=path to
# another build's htp-export (its htp-export-torch beside it), both run side by side, each command by both in turn.
#   RUNS=5 BEFORE=/tmp/old/htp-export bench/commands.sh
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-10}
before=${BEFORE:-}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
source bench/measure.sh

cli=$PWD/build/cli/htp-export
$cli -q --model resnet18 --out "$out/resnet18.onnx"
compare_header "command on resnet18's file"
compare "--version" --version
compare "tag" -q tag "$out/resnet18.onnx" --out "$out/tagged.onnx"
compare "extract --scope layer1" -q extract "$out/resnet18.onnx" --scope layer1 --out "$out/layer1.onnx"
compare "partition" -q partition "$out/resnet18.onnx"
compare "optimize" -q optimize "$out/resnet18.onnx" --out "$out/optimized.onnx"
