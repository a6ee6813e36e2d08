#!/usr/bin/env bash
# On the GPU machine, in one device call: the GPU tests, the Python tests, bench_models.py and
# optionally bench_attention.py, each under its own time limit so that the results always come
# back, packed into $OUT/results.tgz (the device returns at most 8 files) with the GPU test log
# beside it. Usage:
#   bash bench/device_check_and_bench.sh MODELS [BENCH_SECONDS] [ATTENTION_SECONDS] [KILN_CONFIGS]
# e.g. bash bench/device_check_and_bench.sh gpt2,vit,resnet50 270 60
# MODELS "none" skips the benchmark; ATTENTION_SECONDS 0 (the default) skips the attention one;
# SKIP_TESTS=1 skips both test suites (a second call on a warm machine); BATCHES (default 1,32)
# sets the benchmark's batch sizes, e.g. BATCHES=1,8 for the decoder LLM. FOCUS (a gtest
# filter) runs those GPU tests first, then the benchmark, then the whole GPU suite for what is
# left of TOTAL_SECONDS (default 570) and no Python tests: one call that always brings back the
# tests a change touched and its timings, when device time is short.
set -uo pipefail
cd "$(dirname "$0")/.."
models="${1:?models, comma-separated, or none}"
bench_seconds="${2:-270}"
attention_seconds="${3:-0}"
configs="${4:-fp32,bf16}"
final="${OUT:-device-out}"
work=/tmp/kiln-device-run
rm -rf "$work" && mkdir -p "$work" "$final"
export KILN_CUDA_ARCHITECTURES="${KILN_CUDA_ARCHITECTURES:-90}"
git log --oneline -1 > "$work/commit.txt" 2>/dev/null
start=$(date +%s)
if [ -n "${FOCUS:-}" ]; then
  OUT="$work" bash scripts/device_gpu_tests.sh "$FOCUS" > "$work/focused_summary.txt" 2>&1
  tail -12 "$work/focused_summary.txt"
  cp "$work/gpu_tests.log" "$final/focused_tests.log" 2>/dev/null
elif [ "${SKIP_TESTS:-0}" != 1 ]; then
  OUT="$work" bash scripts/device_gpu_tests.sh > "$work/tests_summary.txt" 2>&1
  tail -12 "$work/tests_summary.txt"
  cp "$work/gpu_tests.log" "$final/" 2>/dev/null
  OUT="$work" bash scripts/device_python_tests.sh > "$work/python_summary.txt" 2>&1
  tail -3 "$work/python_summary.txt"
else
  bash scripts/device_build.sh kiln > "$work/build.log" 2>&1 || tail -20 "$work/build.log"
fi
export LD_LIBRARY_PATH="/tmp/kiln-deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
python=/opt/torch/.venv/bin/python
if [ "$models" != none ]; then
  timeout "$bench_seconds" "$python" bench/bench_models.py --kiln build-device/kiln \
    --models "$models" --batches "${BATCHES:-1,32}" --kiln-configs "$configs" --compile --cuda-graph \
    --warmup 10 --iterations 50 --out "$work/bench" > "$work/bench.log" 2>&1
  echo "bench status $?"
  grep -h "| kiln\|compile bf16" "$work/bench/results.md" 2>/dev/null | head -24
fi
if [ "$attention_seconds" -gt 0 ]; then
  timeout "$attention_seconds" "$python" bench/bench_attention.py --kiln build-device/kiln \
    --out "$work/attention" > "$work/attention.log" 2>&1
  echo "attention status $?"
  cat "$work/attention/attention.md" 2>/dev/null
fi
if [ -n "${FOCUS:-}" ]; then
  left=$(( ${TOTAL_SECONDS:-570} - ($(date +%s) - start) ))
  timeout "$left" build-device/tests/kiln_cuda_tests --gtest_brief=1 > "$work/gpu_tests_full.log" 2>&1
  echo "whole GPU suite status $? (124: stopped after ${left} s)"
  grep -E "^\[  (FAILED|PASSED|SKIPPED) |tests? ran" "$work/gpu_tests_full.log" | head -20
  cp "$work/gpu_tests_full.log" "$final/" 2>/dev/null
fi
tar czf "$final/results.tgz" -C "$work" --exclude='*.pt2' --exclude='*.kiln' .
