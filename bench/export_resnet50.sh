#!/usr/bin/env bash
# Wall time and peak RSS of `htp-export --model resnet50` and, where Debian's python3-torch and
# python3-torchvision are installed, of torch.onnx.export on torchvision's resnet50.
# Run by hand after scripts/build.sh; prints a markdown table (best of N runs each).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

source bench/measure.sh

echo "| export of resnet50 (opset 17) | wall time | peak RSS |"
echo "| --- | --- | --- |"
measure "htp-export --model resnet50" build/cli/htp-export --model resnet50 --out "$out/htp.onnx" -q
if /usr/bin/python3 -c "import torch, torchvision" 2>/dev/null; then
  measure "torch.onnx.export (python3-torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'))" \
    /usr/bin/python3 bench/torch_onnx_export.py "$out/torch.onnx"
else
  echo "| torch.onnx.export | not installed (apt-get install python3-torchvision) | |"
fi
