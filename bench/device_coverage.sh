#!/usr/bin/env bash
# On the GPU machine, in one device call: builds the kiln CLI, then bench/coverage.py with the
# CUDA backend (engines built and run on the GPU) under a time limit, so that the models done
# by then always come back in $OUT (coverage.py rewrites its JSON after every model). Usage:
#   bash bench/device_coverage.sh MODELS [SECONDS] [FORMATS] [RUNS]
# e.g. bash bench/device_coverage.sh swin_t,t5,gemma 360 pt2 fp32,bf16
set -uo pipefail
cd "$(dirname "$0")/.."
models="${1:?models, comma-separated}"
seconds="${2:-360}"
formats="${3:-pt2}"
runs="${4:-fp32,bf16}"
final="${OUT:-device-out}"
mkdir -p "$final"
export KILN_CUDA_ARCHITECTURES="${KILN_CUDA_ARCHITECTURES:-90}"
bash scripts/device_build.sh kiln > "$final/build.log" 2>&1 || tail -20 "$final/build.log"
export LD_LIBRARY_PATH="/tmp/kiln-deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
timeout "$seconds" /opt/torch/.venv/bin/python bench/coverage.py --kiln build-device/kiln \
  --backend cuda --models "$models" --formats "$formats" --runs "$runs" \
  --work /tmp/kiln-coverage-cuda --out "$final/coverage" > "$final/coverage.log" 2>&1
echo "coverage status $?"
cat "$final/coverage/coverage.md" 2>/dev/null | tail -40
