#!/usr/bin/env bash
# Downloads (here, where apt and pip work) the Debian packages Kiln builds against, and copies
# the cudnn-frontend headers, into .devdeps/ for a GPU machine that cannot install packages:
# scripts/device_build.sh unpacks them there (run `run` with carry [".devdeps"]).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .devdeps
cd .devdeps
apt-get download -q libprotobuf-dev libprotobuf32 libprotobuf-lite32 protobuf-compiler libprotoc32 \
  nlohmann-json3-dev libzip-dev libzip4 libgtest-dev libgmock-dev zlib1g-dev 2>&1 | tail -1
ls -1 *.deb | wc -l
# The cudnn-frontend headers (header-only; pip installs them here into the venv).
rm -rf cudnn_frontend && mkdir -p cudnn_frontend/include
cp -r ../.venv/lib/python3*/site-packages/include/. cudnn_frontend/include/
du -sh cudnn_frontend
# The CUTLASS headers (PyPI nvidia-cutlass): 27 MB of text, carried xz-compressed (about 1 MB);
# scripts/device_build.sh unpacks them into .devdeps/cutlass/include.
tar -cJf cutlass_include.tar.xz -C ../.venv/lib/python3*/site-packages/cutlass_library/source \
  include/cutlass include/cute
du -sh cutlass_include.tar.xz
# nanobind (source and CMake files, for the Python module) and scikit-build-core (for
# `pip install .` there) are pure Python: unpacked for the GPU machine's python, which has
# numpy, ml_dtypes, pytest and torch.
rm -rf python && mkdir -p python
../.venv/bin/python -m pip download --quiet --no-deps -d wheels nanobind==3.1.0 \
  scikit-build-core==1.1.2 pathspec
for wheel in wheels/*.whl; do ../.venv/bin/python -m zipfile -e "$wheel" python/; done
rm -rf wheels
du -sh python
