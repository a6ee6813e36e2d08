#!/usr/bin/env bash
# On the GPU machine: builds the kiln CLI and the Python module (scripts/device_build.sh, with
# nanobind from .devdeps/python) and runs the Python package's pytest suite with the machine's
# torch, GPU tests included; logs to $OUT (or ./device-out). Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-device-out}"
mkdir -p "$out"
export LD_LIBRARY_PATH="/tmp/kiln-deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
start=$(date +%s)
if ! PYTHONPATH="$PWD/.devdeps/python" KILN_PYTHON_MODULE=ON \
    bash scripts/device_build.sh kiln _kiln > "$out/python_build.log" 2>&1; then
  tail -40 "$out/python_build.log"
  exit 1
fi
echo "build: $(( $(date +%s) - start )) s"
PYTHONPATH="$PWD/build-device/python" KILN_CLI="$PWD/build-device/kiln" \
  python3 -m pytest -q -rs -p no:cacheprovider tests/python "$@" > "$out/pytest.log" 2>&1
status=$?
tail -40 "$out/pytest.log"
echo "python tests: $(( $(date +%s) - start )) s, status $status"
exit $status
