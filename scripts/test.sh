#!/usr/bin/env bash
# Builds Kiln with its tests and runs them all through ctest: unit tests, model tests, the
# kiln CLI test and the ONNX conformance suite (registered as a ctest test).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${KILN_BUILD_DIR:-build}"  # where CMake builds; build/ unless overridden
bash scripts/setup.sh

cmake --build "$build" ${KILN_JOBS:+--parallel "$KILN_JOBS"}
ctest --test-dir "$build" --output-on-failure -j2
