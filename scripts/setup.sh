#!/usr/bin/env bash
# Set up a fresh Debian machine and build infoest into build/.
# Installs the packages the project needs (as root, or through sudo), makes
# .venv, the Python the tests use (Debian's /usr/bin/python3 with apt's NumPy
# and SciPy, whatever `python3` on the PATH is), then configures and builds
# every backend this machine can compile.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(build-essential cmake pkg-config libcriterion-dev libdlpack-dev
      libopenblas-dev liblapacke-dev ocl-icd-opencl-dev opencl-headers
      opencl-c-headers pocl-opencl-icd clinfo python3 python3-venv python3-dev python3-numpy python3-scipy
      clang libclang-rt-14-dev libomp-dev valgrind openmpi-bin libopenmpi-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The tests' Python: a virtual environment over the system interpreter, so
# apt's packages are seen whatever python3 comes first on the PATH (pyenv,
# conda, ...).  POT, when installed there, adds a cross-check.
if ! .venv/bin/python -c 'import numpy, scipy' 2>/dev/null; then
  rm -rf .venv
  /usr/bin/python3 -m venv --system-site-packages .venv
fi
.venv/bin/python -c 'import numpy, scipy' ||
  { echo "setup.sh: .venv/bin/python cannot import numpy and scipy" >&2; exit 1; }
# The Python package (python/, `import infoest`) is built with nanobind and
# tested with pytest, both from PyPI; scikit-build-core is what `pip install .`
# builds with.
if ! .venv/bin/python -c 'import nanobind, pytest, scikit_build_core' 2>/dev/null; then
  .venv/bin/python -m pip install -q --disable-pip-version-check nanobind scikit-build-core pytest ||
    { echo "setup.sh: could not pip install nanobind, scikit-build-core and pytest into .venv" >&2; exit 1; }
fi
# mpi4py (built against Open MPI, installed above) runs the package's example
# of partial states merged over ranks in its tests; without it that test is
# skipped, so a failed install is not fatal.
if ! .venv/bin/python -c 'import mpi4py' 2>/dev/null; then
  .venv/bin/python -m pip install -q --disable-pip-version-check mpi4py ||
    echo "setup.sh: mpi4py did not install: tests/python's mpi4py test will be skipped" >&2
fi

# CUDA is built when nvcc is found (on PATH or in /usr/local/cuda).
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE="$PWD/.venv/bin/python" \
  ${IE_CMAKE_ARGS:-} >/dev/null
cmake --build build -j"$(nproc)"
