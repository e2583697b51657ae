#!/usr/bin/env bash
# Installs dependencies, builds ringleader and runs the whole test suite through CTest, then
# rebuilds with AddressSanitizer + UndefinedBehaviorSanitizer and runs the whole suite again
# (integration tests check the proxy's output for sanitizer reports). Labels: unit,
# integration (real servers; the longest), bench (the benchmark scripts' smoke run).
# Idempotent; safe to run repeatedly. Build trees: build/ and build-asan/.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh

JOBS=${JOBS:-$(nproc)}

echo "== build (warnings are errors)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRINGLEADER_WERROR=ON
cmake --build build -j "$JOBS"

echo "== tests"
ctest --test-dir build --output-on-failure -j "$JOBS"

echo "== sanitizer build (ASan + UBSan), the whole suite again"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DRINGLEADER_WERROR=ON \
  -DRINGLEADER_SANITIZE=ON -DRINGLEADER_BENCH=OFF
cmake --build build-asan -j "$JOBS"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$JOBS"
