#!/usr/bin/env bash
# Configures and builds into build/ with two jobs (the machine has two cores).
set -euo pipefail
cd "$(dirname "$0")/.."
# Paths relative to the checkout, so clones in other directories share ccache entries.
export CCACHE_BASEDIR="$PWD"
[ -f build/CMakeCache.txt ] || cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2
