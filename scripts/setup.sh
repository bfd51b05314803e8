#!/usr/bin/env bash
# Installs what htp-export needs to build and test, from Debian packages and npm only.
# Idempotent: when everything is present it only checks, which takes well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake ccache libtorch-dev libonnx-dev libprotobuf-dev protobuf-compiler
          nlohmann-json3-dev libcli11-dev libspdlog-dev googletest libgtest-dev
          # LibTorch's matmuls go through libblas.so.3; Debian's default is the reference BLAS,
          # and OpenBLAS takes the alternative over (bert-base export 3.8 s → 2.5 s)
          libopenblas0-pthread
          # test fixtures only: the torchvision family is traced at test time, never used by htp-export
          python3-torchvision
          # the e2e tests render the HTML report in headless Chromium (driven by npm's puppeteer-core)
          chromium)
# A machine may bring its own node and npm; Debian's are installed only when there are none.
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ONNX Runtime for the end-to-end tests: its CPU binaries ship inside the npm package.
if [ ! -f node_modules/onnxruntime-node/package.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing onnxruntime-node"
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --ignore-scripts --no-audit --no-fund >/dev/null
fi
