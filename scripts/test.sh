#!/usr/bin/env bash
# Checks format and size (scripts/check_source.py), then builds Kiln with its tests and runs
# them all through ctest: unit tests, model tests, the kiln CLI test and the ONNX conformance
# suite (registered as a ctest test); then installs the Python package into the venv (built
# in the same build directory, so only the module itself compiles) and runs its pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${KILN_BUILD_DIR:-build}"  # where CMake builds; build/ unless overridden
bash scripts/setup.sh

# Format and size first: a misformatted or oversized file fails in seconds, not after a build.
.venv/bin/python scripts/check_source.py

cmake --build "$build" ${KILN_JOBS:+--parallel "$KILN_JOBS"}
ctest --test-dir "$build" --output-on-failure -j2

KILN_BUILD_TESTS=ON .venv/bin/python -m pip install --quiet --disable-pip-version-check \
  --no-build-isolation -C build-dir="$build" .
KILN_CLI="$build/kiln" .venv/bin/python -m pytest -q tests/python
