#!/usr/bin/env bash
# On the GPU machine: builds kiln and the CUDA tests (scripts/device_build.sh), runs every GPU
# test in one process (1000+ cases: one CUDA context, not one per case), and writes the logs to
# $OUT (or ./device-out). Usage:
#   bash scripts/device_gpu_tests.sh [gtest filter, e.g. 'AttentionCudnn*:CudaOpTest*']
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
build-device/tests/kiln_cuda_tests --gtest_brief=1 --gtest_filter="${1:-*}" \
  > "$out/gpu_tests.log" 2>&1
status=$?
grep -E "^\[  (FAILED|PASSED|SKIPPED) |tests? ran|Failure|error" "$out/gpu_tests.log" | head -60
echo "gpu tests: $(( $(date +%s) - start )) s, status $status"
exit $status
