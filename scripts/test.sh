#!/usr/bin/env bash
# Run every test suite of the build in build/ (made by scripts/setup.sh).
# Backends with no device here (CUDA without a GPU) are skipped with a
# message, never silently passed.
set -euo pipefail
cd "$(dirname "$0")/.."
ctest --test-dir build --output-on-failure -j"$(nproc)" "$@"
