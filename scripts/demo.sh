#!/usr/bin/env bash
# Kiln's main job on a real network: builds Kiln, gives the committed full-size torchvision
# ResNet-50 export (tests/models/full_size/, zero weights to stay small) seeded random weights,
# then builds it in fp32 and with {fp32, bf16} enabled and prints each build's latency and its
# outputs' error against the fp32 build, side by side. On a GPU the builds are timed per layer
# and run as CUDA graphs; without one, on the CPU reference (about a minute).
# Usage: bash scripts/demo.sh [MODEL.pt2]   (another full-size export, e.g. bert_base.pt2)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${KILN_BUILD_DIR:-build}"  # where CMake builds; build/ unless overridden
bash scripts/setup.sh

model="${1:-tests/models/full_size/resnet50.pt2}"
demo="$build/demo"
mkdir -p "$demo"
real="$demo/$(basename "$model")"
.venv/bin/python scripts/randomize_weights.py "$model" "$real" --seed 0

if nvidia-smi -L >/dev/null 2>&1; then
  timing=(--cuda-graph --warmup 10 --iterations 100)
else
  echo "demo: no GPU here: timing Kiln's CPU reference backend instead"
  timing=(--warmup 1 --iterations 3)
fi

echo
echo "== the model"
"$build/kiln" inspect "$real"

echo
echo "== fp32 and {fp32,bf16}: latency, and error against the fp32 build (same random input)"
"$build/kiln" sweep "$real" --config fp32 --config fp32,bf16 --seed 1 "${timing[@]}"
