#!/usr/bin/env bash
# Fetch, on a machine with Debian's apt (this one), the packages bench/gpu.sh
# needs on a GPU machine that cannot install anything: OpenBLAS (pthread),
# LAPACKE 3.11, DLPack's header and Criterion with the libraries it loads.
# They go to .debs/ (git-ignored); name .debs in the device tool's carry.
# gpu.sh unpacks them into a private folder (never over the system's).
#
#   bench/gpu_debs.sh            about 10 MB
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$root/.debs"
cd "$root/.debs"
pkgs=(libopenblas0-pthread libopenblas-pthread-dev liblapacke liblapacke-dev libdlpack-dev
      libgfortran5
      libcriterion3 libcriterion-dev libboxfort-dev libnanomsg5 libgit2-1.5 libhttp-parser2.9
      libmbedcrypto7 libmbedtls14 libmbedx509-1 libssh2-1)
apt-get download "${pkgs[@]}"
ls -la
du -sh .
