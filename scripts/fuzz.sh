#!/usr/bin/env bash
# Runs one libFuzzer target for SECONDS (default 600) from its seed corpus, small files from fixtures/
# (the ONNX seeds are fixtures/fuzz/seeds/, written by fixtures/fuzz/make_seeds.py).
# Targets: onnx_pipeline, deferred_weights_reader, state_dict_reader, npy_reader, modules_json_reader (tests/fuzz/fuzz_targets.h).
# Builds the target alone in build-asan/ (configured by scripts/sanitize.sh) first; deferred_weights_reader
# needs no LibTorch and builds in a minute. Crashing inputs are written to
# build-asan/fuzz/TARGET/findings/; keep each fixed one in fixtures/fuzz/TARGET/, where the unit tests
# replay it. Run by hand, not in CI.
#   scripts/fuzz.sh TARGET [SECONDS] [extra libFuzzer flags]
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh TARGET [SECONDS]}
seconds=${2:-600}
shift $(( $# < 2 ? $# : 2 ))
[ -f build-asan/CMakeCache.txt ] || scripts/sanitize.sh --configure-only
cmake --build build-asan -j2 --target "fuzz_$target"

work=build-asan/fuzz/$target
mkdir -p "$work/corpus" "$work/seeds" "$work/findings"
case $target in
  onnx_pipeline|deferred_weights_reader) seeds=$(find fixtures/fuzz/seeds/onnx_pipeline -name '*.onnx') ;;
  state_dict_reader) seeds=$(find fixtures/weights -name '*.safetensors' -o -name '*.pt') ;;
  npy_reader) seeds=$(find fixtures -name '*.npy' -size -64k) ;;
  modules_json_reader) seeds=$(find fixtures -name 'modules.json' -size -64k) ;;
  *) echo "fuzz: unknown target '$target'" >&2; exit 2 ;;
esac
for f in $seeds fixtures/fuzz/$target/*; do [ -f "$f" ] && cp "$f" "$work/seeds/$(echo "$f" | tr / _)"; done

export ASAN_OPTIONS="detect_leaks=1:detect_odr_violation=0:suppressions=$PWD/scripts/sanitizers/asan.supp"
export LSAN_OPTIONS="suppressions=$PWD/scripts/sanitizers/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$PWD/scripts/sanitizers/ubsan.supp"
"build-asan/tests/fuzz/fuzz_$target" "$work/corpus" "$work/seeds" -max_total_time="$seconds" \
  -artifact_prefix="$work/findings/" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 "$@"
