#!/usr/bin/env bash
# Install the peer tools (NumPy, SciPy, PyTorch, matplotlib; POT, faiss-cpu,
# scikit-learn, vendi-score, mauve-text, dit with its cone solver (ecos) for
# BROJA, geomloss for Sinkhorn/kNN/Vendi) into
# bench/.venv.  geomloss is installed after torch (it needs it; no pykeops: its
# "tensorized" backend is what peers.py times).
# PyTorch's CPU-only wheel is tried first (its own index); where that index
# cannot be reached, PyPI's torch is installed instead.  Safe to run again.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
venv="${IE_BENCH_VENV:-$here/.venv}"
py="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating $venv"
  "$py" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
"${pip[@]}" install --upgrade pip >/dev/null 2>&1 || true
echo "setup: numpy scipy matplotlib threadpoolctl"
"${pip[@]}" install numpy scipy matplotlib threadpoolctl
# Peers of the compute families, each on its own: one that cannot be installed
# is left out, and peers.py/RESULTS.md say so.
for pkg in pot faiss-cpu scikit-learn vendi-score mauve-text "dit[broja]"; do
  echo "setup: $pkg"
  "${pip[@]}" install "$pkg" || echo "setup: $pkg could not be installed; its peer will be missing"
done

if "$venv/bin/python" -c "import torch" 2>/dev/null; then
  echo "setup: torch already installed: $("$venv/bin/python" -c 'import torch; print(torch.__version__)')"
else
  echo "setup: torch (CPU wheel)"
  if ! timeout 600 "${pip[@]}" install torch --index-url https://download.pytorch.org/whl/cpu; then
    echo "setup: the CPU-wheel index is not reachable; installing torch from PyPI"
    "${pip[@]}" install torch
  fi
  "$venv/bin/python" -c "import torch; print('setup: torch', torch.__version__)"
fi
# GeomLoss (Sinkhorn peer), with torch already there so pip keeps that wheel.
echo "setup: geomloss"
"${pip[@]}" install geomloss ||
  echo "setup: geomloss could not be installed; its peer will be missing"
