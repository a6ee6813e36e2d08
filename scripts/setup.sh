#!/usr/bin/env bash
# Sets up a Debian/Ubuntu machine to build Kiln: system packages, the Python venv (.venv),
# and a Release build in build/. Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${KILN_BUILD_DIR:-build}"  # where CMake builds; build/ unless overridden

packages=(cmake ninja-build g++ protobuf-compiler libprotobuf-dev nlohmann-json3-dev libzip-dev
          libgtest-dev libgmock-dev libcli11-dev ccache python3-venv python3-dev clang-format)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
  $sudo apt-get update -q
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
# pip leaves satisfied requirements alone, so this is quick (and offline) the second time.
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKILN_PYTHON="$PWD/.venv/bin/python" >/dev/null
cmake --build "$build" --target kiln ${KILN_JOBS:+--parallel "$KILN_JOBS"}
echo "setup: built $build/kiln"
