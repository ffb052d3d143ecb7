#!/usr/bin/env bash
# The one command: build infoest-bench, time every op on every backend this
# machine has (the logits ops, and Sinkhorn/kNN/Vendi on the CPU), save the
# inputs, time the peers (PyTorch, SciPy; POT, GeomLoss, faiss, scikit-learn,
# mauve-text, vendi-score, NumPy eigvalsh) on the same inputs, and write bench/RESULTS.md and
# bench/logits_throughput.svg.
#
#   bench/run.sh [extra infoest-bench options, e.g. --op kl --repeats 20]
#
# Environment:
#   IE_BENCH_BUILD  build folder (default build-bench; `build` reuses the
#                   project's build when it was configured with the bench)
#   IE_BENCH_SIZE   small | standard (default) | gpu
#   IE_BENCH_OUT    where RESULTS.md and the plot go (default bench/)
#   IE_BENCH_WORK   JSON lines and saved inputs (default bench/data, ignored by git)
#   IE_BENCH_JOBS   build parallelism (default 2)
#   IE_CMAKE_ARGS   extra CMake arguments
#   IE_BENCH_OPENCL 0 to leave the OpenCL backend out
#   IE_BENCH_COMMIT what was built, in words, for the page (default: from git
#                   when the build starts)
#   IE_BENCH_CPU_OPS  --op for the CPU run (default $default_ops below: all, plus
#                   the named cases short enough for every run; e.g.
#                   all,sinkhorn-20k,vendi-10k adds a case timed only when named;
#                   its peer is timed once)
#   IE_BENCH_COMPUTE_NOTE  a paragraph for the page under the Sinkhorn/kNN/Vendi
#                   goals (e.g. what was measured outside the timed run)
#   PYTHON          the Python with torch/scipy (default bench/.venv/bin/python,
#                   made by bench/peers/setup.sh when missing)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
build="${IE_BENCH_BUILD:-build-bench}"
size="${IE_BENCH_SIZE:-standard}"
out="${IE_BENCH_OUT:-bench}"
work="${IE_BENCH_WORK:-bench/data}"
jobs="${IE_BENCH_JOBS:-2}"
t0=$SECONDS
# sinkhorn-20k (~25 s, one call: the bench times a call over 10 s once) gives
# the 200 MiB peak-memory goal.  vendi-rbf (~68 s ours + ~27 s NumPy on 2
# cores) is left to IE_BENCH_CPU_OPS=all,sinkhorn-20k,vendi-rbf.
default_ops="all,sinkhorn-20k"
say() { echo "[run.sh +$((SECONDS - t0))s] $*"; }

py="${PYTHON:-}"
if [ -z "$py" ]; then
  if [ ! -x bench/.venv/bin/python ]; then
    say "no bench/.venv: running bench/peers/setup.sh"
    bench/peers/setup.sh
  fi
  py=bench/.venv/bin/python
fi

# CUDA is built only where a GPU is visible: elsewhere the backend could not
# run, and its build is the slowest part.
cmake_args=(-DCMAKE_BUILD_TYPE=Release -DIE_BUILD_TESTS=OFF)
gpu_note=""
if ! nvidia-smi -L >/dev/null 2>&1; then
  cmake_args+=(-DIE_WITH_CUDA=OFF)
  gpu_note="no GPU visible (nvidia-smi), so the CUDA backend was not built or run here; "
fi
say "configuring and building $build"
# What is built, in words, decided now: the sources may change during the run.
built="${IE_BENCH_COMMIT:-}"
if [ -z "$built" ] && c="$(git rev-parse --short HEAD 2>/dev/null)"; then
  built="commit $c"
  if [ -n "$(git status --porcelain --untracked-files=no -- src include CMakeLists.txt)" ]; then
    built+=" (the library sources had uncommitted changes when built)"
  fi
fi
# shellcheck disable=SC2086
cmake -S . -B "$build" "${cmake_args[@]}" ${IE_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j"$jobs" --target infoest-bench >/dev/null

mkdir -p "$work" "$out"
load="$(cut -d' ' -f1-3 /proc/loadavg)"
say "infoest-bench --size $size: cpu (load average $load)"
"$build/bench/infoest-bench" --backend cpu --size "$size" --json "$work/bench.jsonl" \
  --save-inputs "$work/inputs" --op "${IE_BENCH_CPU_OPS:-$default_ops}" "$@"
# GPU backends: every size, host- and device-resident tensors.  OpenCL here is
# PoCL on the same 2 CPU cores: device-resident tensors only (host staging on a
# CPU device measures nothing new), 3 calls a figure and the logits ops only
# (the compute families, Sinkhorn/kNN/Vendi, are timed on the CPU backend),
# to keep the run short.
if nvidia-smi -L >/dev/null 2>&1; then
  say "infoest-bench --size $size: cuda"
  "$build/bench/infoest-bench" --backend cuda --size "$size" --json "$work/bench.jsonl" --append "$@"
fi
if [ "${IE_BENCH_OPENCL:-1}" = 1 ]; then
  say "infoest-bench --size $size: opencl"
  "$build/bench/infoest-bench" --backend opencl --size "$size" --json "$work/bench.jsonl" --append \
    --modes device --repeats 3 --warmup 1 --max-time 2 --families logits "$@"
fi

say "peers (PyTorch, SciPy; POT, GeomLoss, faiss, scikit-learn, mauve-text, vendi-score, NumPy) on the same inputs"
"$py" bench/peers/peers.py --bench-json "$work/bench.jsonl" --inputs "$work/inputs" \
  --out "$work/peers.jsonl" --device cpu
if "$py" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  "$py" bench/peers/peers.py --bench-json "$work/bench.jsonl" --inputs "$work/inputs" \
    --out "$work/peers.jsonl" --append --device cuda --peers torch
fi

load_end="$(cut -d' ' -f1-3 /proc/loadavg)"
note="${gpu_note}$(nproc) cores shared with other work: load average $load at the start, $load_end at the end; timings on a busy machine are noisy (see the spreads)"
say "report"
commit_args=()
[ -n "$built" ] && commit_args=(--commit "$built")
"$py" bench/report.py --bench "$work/bench.jsonl" --peers "$work/peers.jsonl" \
  --out-dir "$out" --note "$note" --compute-note "${IE_BENCH_COMPUTE_NOTE:-}" "${commit_args[@]}"
say "done: $out/RESULTS.md"
