#!/usr/bin/env bash
# The commands that rewrite a file on a 4.1 GB model: tinyllama's zoo export (streamed, external
# data, written once), then tag, extract --scope layers.3 and optimize of it. Best of RUNS (default 2),
# with dirty pages flushed before each run: a run otherwise pays for the previous one's 4 GB of
# writeback. With BEFORE=path to another build's htp-export, both run side by side.
#   RUNS=2 BEFORE=/tmp/old/htp-export bench/large_file_commands.sh
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-2}
before=${BEFORE:-}
settle=1
out=$(mktemp -d "${TMPDIR:-/tmp}/htp_bench_large_XXXXXX")
trap 'rm -rf "$out"' EXIT
source bench/measure.sh

cli=$PWD/build/cli/htp-export
$cli -q --model tinyllama --out "$out/tinyllama.onnx"
compare_header "command on tinyllama's file (4.1 GB external data)"
compare "tag" -q tag "$out/tinyllama.onnx" --out "$out/tagged.onnx"
compare "extract --scope layers.3" -q extract "$out/tinyllama.onnx" --scope layers.3 --out "$out/layer.onnx"
compare "optimize" -q optimize "$out/tinyllama.onnx" --out "$out/optimized.onnx"
