#!/usr/bin/env bash
# The demo: builds Kiln, then runs the bundled example model on one random input, first in
# fp32 and then with {fp32, bf16} enabled, and shows how far the bf16 outputs are from fp32.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${KILN_BUILD_DIR:-build}"  # where CMake builds; build/ unless overridden
bash scripts/setup.sh

kiln="$build/kiln"
model=tests/models/example/example.onnx
demo="$build/demo"
rm -rf "$demo"
mkdir -p "$demo"

echo
echo "== the model"
"$kiln" inspect "$model"

echo
echo "== precision fp32 (random input, seed 1, saved to $demo/inputs.safetensors)"
"$kiln" run "$model" --seed 1 --save-inputs "$demo/inputs.safetensors" \
  --precision fp32 --output-dir "$demo/fp32"

echo
echo "== precisions fp32,bf16 (the same input)"
"$kiln" run "$model" --input "$demo/inputs.safetensors" \
  --precision fp32,bf16 --output-dir "$demo/bf16"

echo
echo "== bf16 against fp32 (normalized error ||bf16 - fp32|| / ||fp32||)"
for reference in "$demo"/fp32/*.npy; do
  "$kiln" compare "$demo/bf16/$(basename "$reference")" "$reference"
done
