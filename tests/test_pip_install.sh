#!/usr/bin/env bash
# `pip install .` at the repository root into a fresh virtual environment,
# CUDA off, then the installed package computes an entropy and its tests'
# quickest file passes.  Usage: test_pip_install.sh PYTHON SOURCE_DIR
# The venv sees the system's site-packages (NumPy from apt) so that only the
# build requirements come from PyPI.
set -euo pipefail
py=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The base interpreter of PYTHON (a venv's python makes a venv of its base).
"$py" -m venv --system-site-packages "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -q --no-cache-dir \
  --config-settings=cmake.define.IE_WITH_CUDA=OFF \
  --config-settings=build-dir="$tmp/build" "$src"
cd "$tmp"   # not the source tree: import the installed package
"$tmp/venv/bin/python" - <<'PY'
import math, os
import numpy as np
import infoest
assert "site-packages" in infoest.__file__, infoest.__file__
h = infoest.entropy(np.zeros((3, 8), np.float32))
assert abs(h - math.log(8)) < 1e-6, h
assert "cuda" not in infoest.backends(), infoest.backends()
print("installed:", infoest.__file__, "backends:", infoest.backends(), "entropy:", h)
PY
if "$tmp/venv/bin/python" -c 'import pytest, scipy' 2>/dev/null; then
  "$tmp/venv/bin/python" -m pytest -q -p no:cacheprovider "$src/tests/python/test_errors.py"
fi
