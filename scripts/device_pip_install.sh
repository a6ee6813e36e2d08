#!/usr/bin/env bash
# On the GPU machine, after scripts/device_python_tests.sh configured build-device/ with the
# Python module: `pip install .` into a target folder (the machine's Python may not be changed),
# reusing build-device/ so that nothing compiles twice. Prints the folder to put on PYTHONPATH.
# Usage: bash scripts/device_pip_install.sh [TARGET, default /tmp/kiln-site]
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:-/tmp/kiln-site}"
export LD_LIBRARY_PATH="/tmp/kiln-deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# scikit-build-core and nanobind come from .devdeps/python (scripts/device_deps.sh).
PYTHONPATH="$PWD/.devdeps/python" KILN_BUILD_TESTS=ON python3 -m pip install --quiet \
  --no-build-isolation --no-deps --no-index --target "$target" -C build-dir=build-device . >&2
echo "$target"
