#!/usr/bin/env bash
# On a two-GPU machine: builds kiln, then benches two models at once, one per GPU, each with
# the full set of Kiln configurations (bench/README.md), optionally running the gpu-labelled
# tests on GPU 0 first. Results land in $OUT/<model>/ (results.json, results.md, bench.log).
# MODELS may be a comma list (run one after another on that GPU). Each GPU's results come back
# as one archive, $OUT/<models>.tgz, as the device tool returns only a few files per call.
# Usage: bash bench/device_pair.sh MODELS_ON_GPU0 MODELS_ON_GPU1 [--tests]   (MODELS '-': none)
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-device-out}"
mkdir -p "$out"
export LD_LIBRARY_PATH="/tmp/kiln-deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
python=/opt/torch/.venv/bin/python
[ -x "$python" ] || python=python3
# BENCH_CONFIGS and BENCH_COMPILE (empty: no torch.compile) narrow a quick re-measurement.
configs="${BENCH_CONFIGS:-fp32;tf32;fp32,fp16;fp32,bf16;bf16;strong:;bf16-stored:fp32,bf16;bf16-stored:bf16}"
compile="${BENCH_COMPILE---compile}"
start=$(date +%s)
targets=(kiln)
if [ "${3:-}" = "--tests" ]; then targets+=(kiln_cuda_tests); fi
if ! bash scripts/device_build.sh "${targets[@]}" > "$out/build.log" 2>&1; then
  tail -40 "$out/build.log"
  exit 1
fi
echo "build: $(( $(date +%s) - start )) s"
nvidia-smi --query-gpu=index,name,driver_version,clocks.max.sm --format=csv,noheader

deadline=$(( start + ${BENCH_DEADLINE_S:-570} ))  # the device call's limit is 600 s
bench() {  # GPU MODELS; a killed run keeps the cases it finished (written after each)
  [ "$2" = "-" ] && return 0
  local dir="${2//,/_}"
  mkdir -p "$out/$dir"
  CUDA_VISIBLE_DEVICES=$1 timeout $(( deadline - $(date +%s) )) "$python" bench/bench_models.py --kiln build-device/kiln \
    --models "$2" --batches 1,32 $compile --cuda-graph --kiln-configs "$configs" \
    --work "/tmp/kiln-bench-$dir" --out "$out/$dir" > "$out/$dir/bench.log" 2>&1
  echo "$2 on GPU $1: exit $?, $(( $(date +%s) - start )) s"
  tail -2 "$out/$dir/bench.log"
  tar czf "$out/$dir.tgz" -C "$out" "$dir" && rm -r "${out:?}/$dir"
}

bench 1 "$2" &
if [ "${3:-}" = "--tests" ]; then
  (cd build-device && CUDA_VISIBLE_DEVICES=0 ctest -L gpu --output-on-failure --timeout 300 -j 4) \
    > "$out/gpu_tests.log" 2>&1
  echo "gpu tests: status $?, $(( $(date +%s) - start )) s"
  grep -E "tests passed|tests failed|\*\*\*Failed|\(Failed\)" "$out/gpu_tests.log" | tail -20
fi
bench 0 "$1"
wait
