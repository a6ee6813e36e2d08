#!/usr/bin/env bash
# On the GPU machine: builds kiln and the CUDA tests (scripts/device_build.sh), runs every
# gpu-labelled test, and writes the logs to $OUT (or ./device-out). Usage:
#   bash scripts/device_gpu_tests.sh [ctest -R regex]
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-device-out}"
mkdir -p "$out"
export LD_LIBRARY_PATH="/tmp/kiln-deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
start=$(date +%s)
if ! bash scripts/device_build.sh kiln kiln_cuda_tests > "$out/build.log" 2>&1; then
  tail -40 "$out/build.log"
  exit 1
fi
echo "build: $(( $(date +%s) - start )) s"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
filter=()
if [ $# -gt 0 ]; then filter=(-R "$1"); fi
(cd build-device && ctest -L gpu "${filter[@]}" --output-on-failure --timeout 300 -j 4) > "$out/gpu_tests.log" 2>&1
status=$?
grep -E "tests passed|tests failed|Failed|\*\*\*" "$out/gpu_tests.log" | tail -30
echo "gpu tests: $(( $(date +%s) - start )) s, status $status"
exit $status
