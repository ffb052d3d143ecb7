#!/usr/bin/env bash
# For a machine with an NVIDIA GPU (and no network): build with CUDA, run the
# test suite, run the benchmark (CUDA at the GPU sizes, CPU at the standard
# size for comparison) and the PyTorch peers on CUDA, and leave everything in
# one folder, so that a short GPU lease is spent measuring, not setting up.
#
#   bench/gpu.sh [OUTDIR]        default bench/results/gpu-<date>
#
# OUTDIR receives (8 files): RESULTS.md, logits_throughput.svg, bench.jsonl,
# peers.jsonl, ctest.log, build.log, nvidia-smi.txt, gpu.log (this script's
# progress).  Inputs saved for the peers go to $IE_BENCH_DATA (default
# /tmp/infoest-bench-data; about 4.5 GB for the 8192 x 128256 bf16 pair).
# Uses the system python3 (torch, numpy, scipy preinstalled there).  Debian
# packages shipped as .deb files in .debs/ at the repo root are unpacked first.
# Environment: IE_GPU_ARCH (default 90), IE_BENCH_JOBS (default nproc),
# IE_GPU_SKIP_TESTS=1, IE_GPU_SKIP_CPU=1, IE_BENCH_ARGS / IE_PEERS_ARGS (extra
# options for infoest-bench / peers.py, e.g. "--min-time 0.2").
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out="${1:-bench/results/gpu-$(date +%Y%m%d-%H%M)}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
data="${IE_BENCH_DATA:-/tmp/infoest-bench-data}"
build="${IE_GPU_BUILD:-build-gpu}"
jobs="${IE_BENCH_JOBS:-$(nproc)}"
arch="${IE_GPU_ARCH:-90}"
py="${PYTHON:-python3}"
t0=$SECONDS
exec > >(tee -a "$out/gpu.log") 2>&1
say() { echo "[gpu.sh +$((SECONDS - t0))s] $*"; }

if [ -d .debs ] && compgen -G ".debs/*.deb" >/dev/null; then
  say "unpacking .debs/*.deb"
  for f in .debs/*.deb; do dpkg -x "$f" / || say "could not unpack $f"; done
  ldconfig
fi
# dpkg -x sets up no alternatives: the unpacked OpenBLAS (and the LAPACK 3.11
# that Debian's liblapacke needs) sits in openblas-pthread/, while the machine
# may have an older liblapack.so.3 on the default path.  Prefer the unpacked one,
# at link time (GNU ld follows LD_LIBRARY_PATH for DT_NEEDED) and at run time.
blas_args=()
ob=/usr/lib/x86_64-linux-gnu/openblas-pthread
if [ -d .debs ] && [ -e "$ob/libopenblas.so" ]; then
  export LD_LIBRARY_PATH="$ob${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  blas_args=(-DBLAS_LIBRARIES="$ob/libopenblas.so" -DLAPACK_LIBRARIES="$ob/libopenblas.so")
fi
# ldconfig may point liblapacke.so.3 at a newer liblapacke already on the
# machine (3.12, which needs ?gedmd_ from a LAPACK the machine lacks).  Put the
# unpacked 3.11 first, through a private folder on LD_LIBRARY_PATH (which GNU ld
# also follows for DT_NEEDED), without touching the system's links.
if [ -d .debs ] && [ -e /usr/lib/x86_64-linux-gnu/liblapacke.so.3.11.0 ]; then
  mkdir -p "$build/ie-libs"
  libs="$(cd "$build/ie-libs" && pwd)"
  ln -sf /usr/lib/x86_64-linux-gnu/liblapacke.so.3.11.0 "$libs/liblapacke.so.3"
  export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
{ echo "== lapack/lapacke/blas libraries seen"; ls -la /lib/x86_64-linux-gnu/liblapack* /usr/lib/x86_64-linux-gnu/liblapack* /usr/lib/x86_64-linux-gnu/libopenblas* 2>&1; } >>"$out/build.log"
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi
nvidia-smi >"$out/nvidia-smi.txt" 2>&1 || say "nvidia-smi failed (see nvidia-smi.txt)"
say "GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null)"

# ---- build ---------------------------------------------------------------------
tests=ON
[ "${IE_GPU_SKIP_TESTS:-0}" = 1 ] && tests=OFF
say "configuring $build (CUDA arch $arch, tests $tests)"
configure() {
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DIE_WITH_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES="$arch" -DIE_BUILD_TESTS="$1" "${blas_args[@]}" \
    ${IE_CMAKE_ARGS:-} >>"$out/build.log" 2>&1
}
if ! configure "$tests"; then
  if [ "$tests" = ON ]; then
    say "configure failed with the tests (Criterion missing?); again without them"
    tests=OFF
    configure OFF || { say "configure failed: see build.log"; exit 1; }
  else
    say "configure failed: see build.log"; exit 1
  fi
fi
say "building with -j$jobs"
if ! cmake --build "$build" -j"$jobs" >>"$out/build.log" 2>&1; then
  say "full build failed (see build.log); building the library and the bench alone"
  cmake --build "$build" -j"$jobs" --target infoest-bench >>"$out/build.log" 2>&1 ||
    { say "the bench does not build: see build.log"; tail -30 "$out/build.log"; exit 1; }
  tests=OFF
fi
say "built"

# ---- tests -----------------------------------------------------------------------
if [ "$tests" = ON ]; then
  say "ctest"
  ctest --test-dir "$build" --output-on-failure -j4 --timeout 240 >"$out/ctest.log" 2>&1
  say "ctest exit $?: $(grep -E 'tests passed|tests failed' "$out/ctest.log" | tail -1)"
else
  echo "tests not built on this run" >"$out/ctest.log"
fi

# ---- benchmark -------------------------------------------------------------------
bench="$build/bench/infoest-bench"
rm -f "$out/bench.jsonl" "$out/peers.jsonl"
say "bench: cuda, GPU sizes (inputs saved to $data)"
# shellcheck disable=SC2086
"$bench" --backend cuda --size gpu --json "$out/bench.jsonl" --append --save-inputs "$data" \
  ${IE_BENCH_ARGS:-} ||
  say "bench (cuda) exit $?"
if [ "${IE_GPU_SKIP_CPU:-0}" != 1 ]; then
  say "bench: cpu, standard size, for comparison"
  # shellcheck disable=SC2086
  "$bench" --backend cpu --size standard --json "$out/bench.jsonl" --append ${IE_BENCH_ARGS:-} ||
    say "bench (cpu) exit $?"
fi

# ---- peers -----------------------------------------------------------------------
say "peers: torch on CUDA"
"$py" bench/peers/peers.py --bench-json "$out/bench.jsonl" --inputs "$data" \
  --out "$out/peers.jsonl" --append --device cuda --peers torch ${IE_PEERS_ARGS:-} ||
  say "peers (cuda) exit $?"
if [ "${IE_GPU_SKIP_CPU:-0}" != 1 ]; then
  say "peers: torch on the CPU, for the CPU figures"
  "$py" bench/peers/peers.py --bench-json "$out/bench.jsonl" --inputs "$data" \
    --out "$out/peers.jsonl" --append --device cpu --backends cpu --peers torch ${IE_PEERS_ARGS:-} ||
    say "peers (cpu) exit $?"
fi

# ---- report ----------------------------------------------------------------------
say "report"
"$py" bench/report.py --bench "$out/bench.jsonl" --peers "$out/peers.jsonl" --out-dir "$out" \
  --title "infoest benchmark results (GPU machine)" \
  --note "GPU lease via bench/gpu.sh; CUDA arch $arch; CPU figures at the standard size use all $(nproc) cores" ||
  say "report exit $?"
say "done: $out"
