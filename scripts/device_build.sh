#!/usr/bin/env bash
# Builds Kiln on the GPU machine (no package installs there): unpacks the .debs that
# scripts/device_deps.sh fetched into .devdeps/ under a private prefix, points CMake at them,
# and builds into build-device/. Usage: bash scripts/device_build.sh [ninja targets...]
# KILN_PYTHON_MODULE=ON adds the Python module (nanobind from .devdeps/python).
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=/tmp/kiln-deps
if [ ! -d "$prefix/usr/include/google/protobuf" ]; then
  for deb in .devdeps/*.deb; do dpkg -x "$deb" "$prefix"; done
fi
if [ ! -f .devdeps/cutlass/include/cutlass/cutlass.h ]; then
  mkdir -p .devdeps/cutlass && tar -xJf .devdeps/cutlass_include.tar.xz -C .devdeps/cutlass
fi
lib="$prefix/usr/lib/x86_64-linux-gnu"
export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PKG_CONFIG_PATH="$lib/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$prefix"
python="$(command -v python3)"
# KILN_CUDA_ARCHITECTURES=90 builds for the machine's Hopper GPU alone (half the CUDA compile).
cmake -S . -B build-device -G Ninja -DCMAKE_BUILD_TYPE=Release -DKILN_PYTHON="$python" \
  -DCMAKE_CUDA_ARCHITECTURES="${KILN_CUDA_ARCHITECTURES:-80;90}" \
  -DProtobuf_INCLUDE_DIR="$prefix/usr/include" -DProtobuf_LIBRARY="$lib/libprotobuf.so" \
  -DProtobuf_PROTOC_EXECUTABLE="$prefix/usr/bin/protoc" \
  -Dnlohmann_json_DIR="$prefix/usr/share/cmake/nlohmann_json" \
  -DGTest_DIR="$lib/cmake/GTest" -DKILN_PYTHON_MODULE="${KILN_PYTHON_MODULE:-OFF}" \
  > build-device.configure.log
cmake --build build-device -j "$(nproc)" ${1:+--target "$@"}
