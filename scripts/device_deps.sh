#!/usr/bin/env bash
# Downloads (here, where apt works) the Debian packages Kiln builds against, into .devdeps/,
# for a GPU machine that cannot install packages: scripts/device_build.sh unpacks them there.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .devdeps
cd .devdeps
apt-get download -q libprotobuf-dev libprotobuf32 libprotobuf-lite32 protobuf-compiler libprotoc32 \
  nlohmann-json3-dev libzip-dev libzip4 libgtest-dev libgmock-dev zlib1g-dev 2>&1 | tail -1
ls -1 *.deb | wc -l
