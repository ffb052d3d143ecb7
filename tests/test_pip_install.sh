#!/usr/bin/env bash
# `pip install .` at the repository root into a fresh virtual environment,
# CUDA off, then the installed package (the extension, the core library and
# the backend modules beside it) computes an entropy, and the quickest file
# of its tests passes.  Usage: test_pip_install.sh PYTHON SOURCE_DIR
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
# the core and the modules of the backends built, beside the extension, as
# plain files (a wheel holds no symbolic links)
pkg = os.path.dirname(infoest.__file__)
files = sorted(f for f in os.listdir(pkg) if f.startswith("libinfoest"))
want = ["libinfoest.so"] + [f"libinfoest-{b}.so" for b in infoest.backends() if b != "cpu"]
assert files == sorted(want), (files, want)
assert not any(os.path.islink(os.path.join(pkg, f)) for f in files), files
if "opencl" in infoest.backends():
    try:
        with infoest.Context(backend="opencl") as ctx:
            assert abs(infoest.entropy(np.zeros((3, 8), np.float32), context=ctx) - math.log(8)) < 1e-6
    except infoest.BackendUnavailable as e:   # no device here; the module itself must open
        assert "module" not in str(e), e
print("installed:", infoest.__file__, "files:", files, "backends:", infoest.backends(), "entropy:", h)
PY
if "$tmp/venv/bin/python" -c 'import pytest, scipy' 2>/dev/null; then
  "$tmp/venv/bin/python" -m pytest -q -p no:cacheprovider "$src/tests/python/test_errors.py"
fi
