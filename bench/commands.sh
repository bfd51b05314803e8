#!/usr/bin/env bash
# Whole-process wall time and peak RSS of the quick commands on resnet18's exported file (69 nodes,
# 45 MB of weights): --version, tag, extract, partition, optimize. tag, extract and partition run in
# the torch-free front executable; --version and optimize in htp-export-torch (cli/app.h). Run by hand
# after scripts/build.sh; prints a markdown table (best of RUNS, default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-10}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
source bench/measure.sh

cli=build/cli/htp-export
$cli -q --model resnet18 --out "$out/resnet18.onnx"
echo "| command on resnet18's file | wall time | peak RSS |"
echo "| --- | --- | --- |"
measure "--version" $cli --version
measure "tag" $cli -q tag "$out/resnet18.onnx" --out "$out/tagged.onnx"
measure "extract --scope layer1" $cli -q extract "$out/resnet18.onnx" --scope layer1 --out "$out/layer1.onnx"
measure "partition" $cli -q partition "$out/resnet18.onnx"
measure "optimize" $cli -q optimize "$out/resnet18.onnx" --out "$out/optimized.onnx"
