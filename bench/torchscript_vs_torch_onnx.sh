#!/usr/bin/env bash
# Whole-process wall time and peak RSS of `htp-export --torchscript` on torchvision archives traced
# under torch.no_grad() (tests/e2e/gen_torchvision_nograd.py, made once into $HTP_BENCH_DIR) next
# to a python process doing torch.onnx.export (opset 17) of the same model (bench/torch_onnx_export.py:
# interpreter start, imports, model construction, export, write). Best of RUNS (default 3), the
# commands taking turns within each round so that load from other work hits them alike. With
# BEFORE=path to another build's htp-export (its htp-export-torch beside it), that build takes its
# turn too. Run by hand after scripts/build.sh; prints a markdown table.
#   RUNS=5 BEFORE=/tmp/old/htp-export bench/torchscript_vs_torch_onnx.sh [MODEL ...]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
before=${BEFORE:-}
archives=${HTP_BENCH_DIR:-/tmp/htp-torchscript-bench}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
source bench/measure.sh

models=("$@")
((${#models[@]})) || models=(resnet50 vit_b_16 swin_t)
missing=()
for model in "${models[@]}"; do
  [ -f "$archives/$model.pt" ] || missing+=("$model")
done
if ((${#missing[@]})); then
  /usr/bin/python3 tests/e2e/gen_torchvision_nograd.py "$archives" "${missing[@]}" >&2
fi

# run SIDE MODEL: one timed run of that side's export of MODEL, into $wall_ms and $rss_kb. Each
# writes a new file, as a user would: replacing one costs ext4 a flush of the new data (0.25 s for
# vit_b_16's 330 MB, htp-export's atomic rename included).
run() {
  local side=$1 model=$2
  rm -f "$out/$side.onnx"
  case $side in
    torch) measure_once /usr/bin/python3 bench/torch_onnx_export.py "$out/torch.onnx" "$model" ;;
    before) measure_once "$before" --torchscript "$archives/$model.pt" --input "$archives/$model/in_0.npy" --out "$out/before.onnx" -q ;;
    after) measure_once build/cli/htp-export --torchscript "$archives/$model.pt" --input "$archives/$model/in_0.npy" --out "$out/after.onnx" -q ;;
  esac
}

# ratio A B: A / B to one decimal.
ratio() { printf '%d.%d' "$(($1 / $2))" "$(($1 * 10 / $2 % 10))"; }

sides=(torch ${before:+before} after)
if [ -n "$before" ]; then
  echo "| archive | torch.onnx.export | htp-export before | faster | htp-export after | faster | peak RSS vs torch.onnx |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
else
  echo "| archive | torch.onnx.export | htp-export | faster | peak RSS vs torch.onnx |"
  echo "| --- | --- | --- | --- | --- |"
fi
for model in "${models[@]}"; do
  declare -A best_ms=() best_kb=()
  for _ in $(seq "$runs"); do
    for side in "${sides[@]}"; do
      run "$side" "$model"
      if [ -z "${best_ms[$side]:-}" ] || [ "$wall_ms" -lt "${best_ms[$side]}" ]; then
        best_ms[$side]=$wall_ms
        best_kb[$side]=$rss_kb
      fi
    done
  done
  row="| $model | $(seconds "${best_ms[torch]}"), $((best_kb[torch] / 1024)) MB |"
  for side in ${before:+before} after; do
    row="$row $(seconds "${best_ms[$side]}"), $((best_kb[$side] / 1024)) MB | $(ratio "${best_ms[torch]}" "${best_ms[$side]}")× |"
  done
  echo "$row $((best_kb[after] * 100 / best_kb[torch]))% |"
done
