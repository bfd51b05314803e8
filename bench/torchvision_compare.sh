#!/usr/bin/env bash
# Node counts and export times of htp-export --torchscript next to torch.onnx.export (opset 17,
# default settings) for torchvision's classification models. Run by hand after scripts/build.sh;
# needs Debian's python3-torchvision. Prints a markdown table.
#   bench/torchvision_compare.sh [MODEL ...]     (default: every model gen_torchvision.py makes)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${HTP_BENCH_DIR:-/tmp/htp-torchvision-bench}
mkdir -p "$out"
HTP_COMPARE_TORCH_ONNX=1 /usr/bin/python3 tests/e2e/gen_torchvision.py "$out" "$@" >&2

echo "| model | htp-export nodes | torch.onnx nodes | htp-export time | torch.onnx.export time |"
echo "| --- | --- | --- | --- | --- |"
for archive in "$out"/*.pt; do
  name=$(basename "$archive" .pt)
  [ -f "$out/$name/torch_onnx.json" ] || continue
  start=$(date +%s.%N)
  summary=$(build/cli/htp-export --torchscript "$archive" --input "$out/$name/in_0.npy" --out "$out/$name.htp.onnx" -q)
  seconds=$(echo "$(date +%s.%N) - $start" | bc)
  nodes=$(sed -E 's/.*: ([0-9]+) nodes.*/\1/' <<< "$summary")
  read -r torch_nodes torch_seconds < <(/usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(r['nodes'], r['export_seconds'])" "$out/$name/torch_onnx.json")
  printf '| %s | %s | %s | %.2f s | %s s |\n' "$name" "$nodes" "$torch_nodes" "$seconds" "$torch_seconds"
done
