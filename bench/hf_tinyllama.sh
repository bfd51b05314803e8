#!/usr/bin/env bash
# Whole-process wall time and peak RSS of `--hf-dir` on TinyLlama-1.1B's configuration with a 4.4 GB F32
# and a 2.2 GB F16 model.safetensors (written by bench/hf_tinyllama.py, seeded), beside the zoo's
# `--model tinyllama` (weights drawn from the seed, none read). Run by hand after scripts/build.sh; needs
# about 11 GB of scratch disk in $TMPDIR. Prints a markdown table (best of RUNS, default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-1}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
source bench/measure.sh

cli=build/cli/htp-export
/usr/bin/python3 bench/hf_tinyllama.py "$out/f32" F32
/usr/bin/python3 bench/hf_tinyllama.py "$out/f16" F16
echo "| tinyllama export | wall time | peak RSS |"
echo "| --- | --- | --- |"
measure "--hf-dir, F32 model.safetensors (4.4 GB)" $cli -q --hf-dir "$out/f32" --out "$out/f32.onnx"
measure "--hf-dir, F16 model.safetensors (2.2 GB)" $cli -q --hf-dir "$out/f16" --out "$out/f16.onnx"
measure "--model tinyllama (seeded, LlamaModel without the head)" $cli -q --model tinyllama --out "$out/seeded.onnx"
measure "--model tinyllama --weights, F32 model.safetensors (4.4 GB)" $cli -q --model tinyllama --weights "$out/f32/model.safetensors" --out "$out/weights.onnx"
