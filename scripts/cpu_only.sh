#!/usr/bin/env bash
# The build a user without CUDA, OpenCL or MPI gets: no GPU backend and a
# command line without MPI, warnings as errors, in build-cpu/.  It must
# compile and pass its tests (the slow pip-install test left out: the main
# build runs it).  The main build has every backend and MPI, so code that
# only such a build compiles (a helper used only under #if
# IE_TEST_HAVE_OPENCL, or one the MPI code alone calls) would otherwise go
# unchecked.
# Needs what scripts/setup.sh installs (and its .venv, for the Python tests).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-cpu -DCMAKE_BUILD_TYPE=Release -DIE_WITH_CUDA=OFF -DIE_WITH_OPENCL=OFF \
  -DIE_WITH_MPI=OFF -DPython3_EXECUTABLE="$PWD/.venv/bin/python" >/dev/null
cmake --build build-cpu -j"$(nproc)"
ctest --test-dir build-cpu --output-on-failure -j"$(nproc)" -LE slow
