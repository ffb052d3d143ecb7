#!/usr/bin/env bash
# The first thing to run on an NVIDIA GPU machine (H100/H200, no network), in
# under 8 minutes: build with CUDA for the GPU's own architecture, run the
# whole test suite with IE_REQUIRE_GPU=1 (ctest: test_backend_ops, the
# stress-rows test with the cuda backend, ...), the ptxas report, the GPU
# benchmark and its peers (PyTorch eager; Liger-Kernel's fused KL/JSD,
# torch.cdist + topk for kNN and GeomLoss on CUDA for Sinkhorn when
# importable: nothing can be installed there), MAUVE at bench/mauve.sh's size
# on cuda and on the CPU (lines "mauve: {...}" in gpu.log), and leave
# everything in one folder.
#
#   bench/gpu.sh [--check] [OUTDIR]
#
# --check: only look (tools, GPU, libraries, Python packages, peers), print
# the plan and stop; exit 3 when the machine cannot run it.
# OUTDIR: default $OUT/gpu-<date> when $OUT is set (the device tool brings
# back $OUT: at most 8 files, two folders down), else bench/results/gpu-<date>.
# It receives 8 files: gpu.log (progress, nvidia-smi, what was found),
# build.log, ctest.log, ptxas-sm<ARCH>.txt, bench.jsonl, peers.jsonl,
# RESULTS.md, logits_throughput.svg.  Saved peer inputs go to $IE_BENCH_DATA
# (default /tmp/infoest-bench-data, ~4.5 GB).
#
# Libraries the machine lacks (OpenBLAS, LAPACKE, Criterion and their needs)
# travel as Debian packages in .debs/ at the repo root (bench/gpu_debs.sh
# fetches them here; name .debs in the device tool's carry); they are
# unpacked into a private folder, never over the system's own.
# Each stage has a time limit; one that fails or runs out is reported and the
# next one runs.  Environment: IE_GPU_ARCH (default: the GPU's compute
# capability, else 90), IE_BENCH_JOBS (default nproc), IE_GPU_SKIP_TESTS=1,
# IE_GPU_CPU=1 (also the CPU bench at the standard size, ~2 more minutes),
# IE_BENCH_ARGS / IE_PEERS_ARGS (extra options), IE_CMAKE_ARGS, PYTHON.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root" || exit 3
check=0
if [ "${1:-}" = --check ]; then check=1; shift; fi
stamp="$(date +%Y-%m-%d-%H%M)"
if [ -n "${1:-}" ]; then out="$1"
elif [ -n "${OUT:-}" ]; then out="$OUT/gpu-$stamp"
else out="bench/results/gpu-$stamp"; fi
data="${IE_BENCH_DATA:-/tmp/infoest-bench-data}"
build="${IE_GPU_BUILD:-build-gpu}"
jobs="${IE_BENCH_JOBS:-$(nproc)}"
py="${PYTHON:-python3}"
t0=$SECONDS
say() { echo "[gpu.sh +$((SECONDS - t0))s] $*"; }
# run LIMIT_S LOG CMD...: CMD with a time limit, output appended to LOG.
run() {
  local lim="$1" log="$2"
  shift 2
  timeout --kill-after=10 "$lim" "$@" >>"$log" 2>&1
  local rc=$?
  [ $rc = 124 ] || [ $rc = 137 ] && say "  ... stopped at its ${lim}s limit: $*"
  return $rc
}

if [ "$check" = 0 ]; then
  mkdir -p "$out" || { echo "gpu.sh: cannot make $out" >&2; exit 3; }
  out="$(cd "$out" && pwd)"
  exec > >(tee -a "$out/gpu.log") 2>&1
fi

# ---- what is here ------------------------------------------------------------------
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi
missing=""
command -v nvcc >/dev/null || missing="$missing nvcc (the CUDA compiler);"
command -v cmake >/dev/null || missing="$missing cmake;"
command -v "$py" >/dev/null || missing="$missing $py;"
gpu="$(nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv,noheader 2>/dev/null | head -1)"
[ -n "$gpu" ] || missing="$missing an NVIDIA GPU (nvidia-smi lists none);"
say "GPU: ${gpu:-none}"
cap="$(echo "$gpu" | awk -F', ' '{print $4}' | tr -d .)"
arch="${IE_GPU_ARCH:-${cap:-90}}"
say "CUDA architecture: sm_$arch; nvcc: $(nvcc --version 2>/dev/null | grep -o 'release [0-9.]*' || echo none)"
pyinfo="$("$py" - <<'EOF' 2>&1
import importlib
for m in ("numpy", "scipy", "torch", "liger_kernel", "geomloss", "faiss", "ot"):
    try:
        mod = importlib.import_module(m)
        extra = ""
        if m == "torch":
            extra = f" cuda={mod.cuda.is_available()}"
        print(f"  {m} {getattr(mod, '__version__', '?')}{extra}")
    except Exception as e:  # noqa: BLE001 - any failure means 'not usable'
        print(f"  {m}: not importable ({type(e).__name__})")
EOF
)"
say "Python ($py) packages (peers run only when importable):"
echo "$pyinfo"
echo "$pyinfo" | grep -q "^  numpy " || missing="$missing numpy for $py;"
debs=0
compgen -G ".debs/*.deb" >/dev/null && debs=1
ndebs=0
[ $debs = 1 ] && { for _ in .debs/*.deb; do ndebs=$((ndebs + 1)); done; }
say ".debs/: $ndebs packages"
if [ -n "$missing" ]; then
  say "cannot run here; missing:$missing"
  say "stopping (nothing built).  On a GPU machine: bash bench/gpu.sh (see its header)."
  exit 3
fi
if [ "$check" = 1 ]; then
  say "check only: the machine has what the run needs; plan: build (sm_$arch) -> ctest (IE_REQUIRE_GPU=1)" \
      "+ ptxas report -> bench (cuda, --size gpu) -> peers -> report into $out"
  exit 0
fi
nvidia-smi 2>&1 | sed 's/^/  | /'

# ---- private libraries from .debs ----------------------------------------------------
cmake_args=()
if [ $debs = 1 ]; then
  pfx=/tmp/ie-debs
  say "unpacking .debs/*.deb into $pfx"
  for f in .debs/*.deb; do
    # the machine's own libgfortran (newer) serves the unpacked OpenBLAS
    case "$f" in */libgfortran5_*) ldconfig -p | grep -q 'libgfortran\.so\.5 ' && continue ;; esac
    dpkg -x "$f" "$pfx" || say "could not unpack $f"
  done
  lib="$pfx/usr/lib/x86_64-linux-gnu"
  ob="$lib/openblas-pthread"
  export LD_LIBRARY_PATH="$ob:$lib:$pfx/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  # (its .pc files say prefix=/usr: keep pkg-config out of the private folder)
  cmake_args+=(-DCMAKE_PREFIX_PATH="$pfx/usr" -DPKG_CONFIG_USE_CMAKE_PREFIX_PATH=OFF)
  [ -e "$ob/libopenblas.so" ] && cmake_args+=(-DBLAS_LIBRARIES="$ob/libopenblas.so" -DLAPACK_LIBRARIES="$ob/libopenblas.so")
  [ -e "$lib/liblapacke.so" ] && cmake_args+=(-DLAPACKE_LIBRARY="$lib/liblapacke.so")
  [ -e "$pfx/usr/include/lapacke.h" ] && cmake_args+=(-DLAPACKE_INCLUDE_DIR="$pfx/usr/include")
  [ -d "$pfx/usr/include/x86_64-linux-gnu/openblas-pthread" ] &&
    cmake_args+=(-DCBLAS_INCLUDE_DIR="$pfx/usr/include/x86_64-linux-gnu/openblas-pthread")
  [ -e "$lib/libcriterion.so" ] &&
    cmake_args+=(-DCRITERION_INCLUDE_DIR="$pfx/usr/include" -DCRITERION_LIBRARY="$lib/libcriterion.so")
fi

# ---- build ------------------------------------------------------------------------------
tests=ON
[ "${IE_GPU_SKIP_TESTS:-0}" = 1 ] && tests=OFF
configure() {
  # shellcheck disable=SC2086
  run 120 "$out/build.log" cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DIE_WITH_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES="$arch" -DIE_BUILD_TESTS="$1" -DIE_TESTS_ALLOW_NO_CRITERION=ON \
    -DPython3_EXECUTABLE="$(command -v "$py")" "${cmake_args[@]}" ${IE_CMAKE_ARGS:-}
}
say "configuring $build (sm_$arch, tests $tests)"
if ! configure "$tests"; then
  if [ "$tests" = ON ]; then
    say "configure failed with the tests (see build.log); again without them"
    tests=OFF
    configure OFF || { say "configure failed: see build.log"; tail -20 "$out/build.log"; exit 1; }
  else
    say "configure failed: see build.log"; tail -20 "$out/build.log"; exit 1
  fi
fi
grep -E "infoest backends|Criterion|criterion" "$out/build.log" | tail -3 | sed 's/^/  /'
say "building with -j$jobs"
if ! run 300 "$out/build.log" cmake --build "$build" -j"$jobs"; then
  say "full build failed (see build.log); the library and the bench alone"
  tail -15 "$out/build.log" | sed 's/^/  | /'
  run 240 "$out/build.log" cmake --build "$build" -j"$jobs" --target infoest-bench ||
    { say "the bench does not build either: see build.log"; exit 1; }
  tests=OFF
fi
say "built"

# ---- ptxas report (in the background, beside the tests) -----------------------------
IE_PTXAS_JOBS=4 timeout 240 scripts/ptxas_report.sh --check --arch "$arch" --out "$out/ptxas-sm$arch.txt" \
  >"$build/ptxas.log" 2>&1 &
ptxas_pid=$!

# ---- tests ------------------------------------------------------------------------------
if [ "$tests" = ON ]; then
  say "ctest (IE_REQUIRE_GPU=1; the slow pip-install test and ptxas-spills, run beside, left out)"
  IE_REQUIRE_GPU=1 run 270 "$out/ctest.log" ctest --test-dir "$build" --output-on-failure -j8 \
    --timeout 240 -LE slow -E '^ptxas-spills$'
  say "ctest exit $?: $(grep -E 'tests passed|tests failed' "$out/ctest.log" | tail -1)"
  grep -E '^\s+[0-9]+ - ' "$out/ctest.log" | sed 's/^/  failed: /'
else
  echo "tests not built on this run (see build.log and gpu.log)" >"$out/ctest.log"
fi
wait $ptxas_pid
prc=$?
say "ptxas report: exit $prc ($(tail -1 "$build/ptxas.log"))"
[ $prc = 0 ] || sed 's/^/  | /' "$build/ptxas.log" | tail -20

# ---- benchmark --------------------------------------------------------------------------
bench="$build/bench/infoest-bench"
rm -f "$out/bench.jsonl" "$out/peers.jsonl"
touch "$out/bench.jsonl" "$out/peers.jsonl"
if [ -x "$bench" ]; then
  say "bench: cuda, GPU sizes (inputs saved to $data)"
  # shellcheck disable=SC2086
  timeout --kill-after=10 200 "$bench" --backend cuda --size gpu --json "$out/bench.jsonl" --append \
    --save-inputs "$data" ${IE_BENCH_ARGS:-} || say "bench (cuda) exit $?"
  if [ "${IE_GPU_CPU:-0}" = 1 ]; then
    say "bench: cpu, standard size, for comparison"
    # shellcheck disable=SC2086
    timeout --kill-after=10 150 "$bench" --backend cpu --size standard --json "$out/bench.jsonl" --append \
      ${IE_BENCH_ARGS:-} || say "bench (cpu) exit $?"
  fi
  say "peers on CUDA: torch (+ liger-kernel, torch cdist+topk, geomloss when importable)"
  # shellcheck disable=SC2086
  timeout --kill-after=10 150 "$py" bench/peers/peers.py --bench-json "$out/bench.jsonl" --inputs "$data" \
    --out "$out/peers.jsonl" --append --device cuda --backends cuda --peers torch ${IE_PEERS_ARGS:-} ||
    say "peers (cuda) exit $?"
else
  say "no $bench: no benchmark"
fi

# ---- MAUVE ---------------------------------------------------------------------------------
# Issue 19's GPU row: bench/mauve.sh's inputs (5 000 + 5 000 features of
# width 1280, 500 clusters, 5 starts), the whole `infoest mauve` process on
# cuda three times, then on the CPU once; one JSON line each, into gpu.log
# (the device tool brings back eight files).
cli="$build/cli/infoest"
if [ -x "$cli" ] && "$py" -c "import numpy" 2>/dev/null; then
  mw="$data/mauve"
  say "MAUVE: inputs in $mw, then cuda x3 and cpu x1"
  [ -f "$mw/q.npy" ] || run 90 "$out/build.log" "$py" bench/peers/mauve.py inputs "$mw" || say "mauve inputs exit $?"
  for b in cuda cuda cuda cpu; do
    [ -f "$mw/q.npy" ] || break
    s0=$(date +%s.%N)
    res=$(timeout --kill-after=5 100 "$cli" mauve --backend "$b" --p "$mw/p.npy" --q "$mw/q.npy" 2>&1)
    rc=$?
    wall=$(awk -v a="$s0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.3f", b - a}')
    if [ $rc = 0 ]; then echo "mauve: {\"backend\": \"$b\", \"wall_s\": $wall, \"result\": $res}"
    else say "mauve ($b) exit $rc: $(echo "$res" | tail -2)"; fi
  done
else
  say "MAUVE: no $cli or no NumPy: skipped"
fi

# ---- report -----------------------------------------------------------------------------
say "report"
"$py" bench/report.py --bench "$out/bench.jsonl" --peers "$out/peers.jsonl" --out-dir "$out" \
  --title "infoest benchmark results (GPU machine: ${gpu%%,*})" \
  --note "bench/gpu.sh; CUDA sm_$arch; $(date -u +%F)" || say "report exit $?"
nfiles=0
for _ in "$out"/*; do nfiles=$((nfiles + 1)); done
say "done in $((SECONDS - t0)) s: $out ($nfiles files)"
