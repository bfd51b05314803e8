#!/usr/bin/env bash
# Wall time and peak RSS of `htp-export --model NAME` at the model's default shape, for the given
# zoo models (default: the transformers), with the size of the written file (its weights, almost
# all of it). Run by hand after scripts/build.sh; prints a markdown table (best of RUNS, default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
source bench/measure.sh

models=("$@")
((${#models[@]})) || models=(bert-tiny bert-base distilbert roberta vit-base deit-small)
echo "| htp-export --model (default shape) | wall time | peak RSS | file |"
echo "| --- | --- | --- | --- |"
for model in "${models[@]}"; do
  row=$(measure "$model" build/cli/htp-export --model "$model" --out "$out/$model.onnx" -q)
  echo "$row $(($(stat -c %s "$out/$model.onnx") / 1000000)) MB |"
done
