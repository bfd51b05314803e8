#!/usr/bin/env bash
# Builds everything with clang and -fsanitize=address,undefined into build-asan/, then runs the unit
# tests and a small end-to-end sample under the sanitizers (resnet18, bert-tiny, the TorchScript
# fixtures, optimize, tag, extract). Any sanitizer report fails the run. Run by hand, not in CI: the
# build takes about 25 minutes on two cores. The same build gives scripts/fuzz.sh its targets.
#   scripts/sanitize.sh [--build-only | --configure-only]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
command -v clang++ >/dev/null && [ -f /usr/lib/llvm-14/lib/libFuzzer.a ] || {
  echo "sanitize: installing clang and libfuzzer-14-dev"
  sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends clang libfuzzer-14-dev >/dev/null
}
export CCACHE_BASEDIR="$PWD"
[ -f build-asan/CMakeCache.txt ] || cmake -S . -B build-asan -DHTP_SANITIZE=ON -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" >/dev/null
[ "${1:-}" = --configure-only ] && exit 0
cmake --build build-asan -j2
[ "${1:-}" = --build-only ] && exit 0

# LibTorch and its dependencies are not built with the sanitizers; what they report about their own
# frames is suppressed by name in scripts/sanitizers/, each entry with the reason.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_odr_violation=0:suppressions=$PWD/scripts/sanitizers/asan.supp"
export LSAN_OPTIONS="suppressions=$PWD/scripts/sanitizers/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$PWD/scripts/sanitizers/ubsan.supp"
build-asan/tests/htp_unit_tests --gtest_brief=1
export HTP_EXPORT="$PWD/build-asan/cli/htp-export" HTP_SOURCE_DIR="$PWD" HTP_WORK_DIR="$PWD/build-asan/e2e"
HTP_MODEL=resnet18 node --test tests/e2e/zoo_export.test.mjs
HTP_MODEL=bert-tiny node --test tests/e2e/zoo_transformer.test.mjs
node --test tests/e2e/torchscript.test.mjs tests/e2e/optimize.test.mjs tests/e2e/retag.test.mjs \
  tests/e2e/extract.test.mjs tests/e2e/hostile_onnx.test.mjs
echo "sanitize: clean"
