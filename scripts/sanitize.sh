#!/usr/bin/env bash
# Sanitizer runs (docs/RELIABILITY.md):
#   build-asan  ASan + UBSan, fault injection on: test_reliability,
#               test_faults (LeakSanitizer checks every fault path), test_threads,
#               test_async (the row family's device path and asynchronous mode)
#   build-tsan  ThreadSanitizer: test_threads (CPU; OpenCL skipped, see below)
#   valgrind    memcheck of the `infoest` command (build/, from setup.sh) on
#               sample files, every row-wise command
# Counts go to $IE_RELIABILITY_COUNTS when set.  gcc for ASan/UBSan, clang
# for TSan; clang and valgrind come from apt (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${IE_JOBS:-2}
SUPP=$ROOT/fuzz/ubsan.supp
COUNTS=${IE_RELIABILITY_COUNTS:-/dev/null}
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$SUPP"
common=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS=-g -DIE_WITH_CUDA=OFF -DIE_BUILD_BENCH=OFF)
targets=(--target test_reliability test_threads)

echo "== ASan + UBSan (build-asan)"
cmake -S . -B build-asan "${common[@]}" -DIE_SANITIZE=address,undefined -DIE_FAULT_INJECTION=ON >/dev/null
cmake --build build-asan -j"$JOBS" "${targets[@]}" test_faults test_async >/dev/null
# PoCL and the OpenCL ICD loader keep a few allocations for the life of the
# process (compiled programs, the platform list); LSan reports them at exit.
# They are suppressed by library name only (fuzz/lsan.supp); anything of ours
# on the stack is still reported.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$ROOT/fuzz/lsan.supp:print_suppressions=0"
for t in reliability faults threads async; do
  echo "-- test_$t (asan)"
  # exit 77: skipped (test_async without an OpenCL device)
  build-asan/tests/test_$t | grep -v '^SKIPPED' | tail -n 3 || [ "${PIPESTATUS[0]}" = 77 ]
done

echo "== TSan (build-tsan, clang)"
# clang: gcc's TSan runtime crashes in the dynamic loader here, before main.
# OpenCL off: PoCL's worker threads are not instrumented (OpenCL runs
# concurrently, without TSan, in the ASan run above).  libomp is not
# instrumented either: one OpenMP thread a call.
CC=clang CXX=clang++ cmake -S . -B build-tsan "${common[@]}" -DCMAKE_C_FLAGS="-g -Wno-pass-failed" \
  -DIE_WITH_OPENCL=OFF -DIE_SANITIZE=thread >/dev/null
cmake --build build-tsan -j"$JOBS" --target test_threads >/dev/null
OMP_NUM_THREADS=1 TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1" \
  IE_RELIABILITY_COUNTS=/dev/null build-tsan/tests/test_threads | tail -n 1
echo "test_threads_tsan passed 1" >>"$COUNTS"

echo "== valgrind memcheck of the command"
[ -x build/cli/infoest ] || { echo "build/cli/infoest missing: run scripts/setup.sh first" >&2; exit 1; }
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
PY=.venv/bin/python # made by scripts/setup.sh: NumPy whatever python3 is
[ -x "$PY" ] || PY=python3
"$PY" - "$D" <<'PY'
import sys, numpy as np
d = sys.argv[1]; r = np.random.default_rng(7)
np.save(f"{d}/logits.npy", r.normal(size=(64, 33)).astype(np.float32))
np.save(f"{d}/q.npy", r.normal(size=(64, 33)).astype(np.float16))
np.save(f"{d}/probs.npy", r.random(size=(64, 33)))
np.save(f"{d}/labels.npy", r.integers(0, 33, size=64).astype(np.int64))
bad = r.normal(size=(8, 5)).astype(np.float32); bad[3, 2] = np.nan
np.save(f"{d}/bad.npy", bad)
open(f"{d}/trunc.npy", "wb").write(open(f"{d}/logits.npy", "rb").read()[:300])
PY
runs=(
  "entropy --logits $D/logits.npy --backend cpu"
  "entropy --probs $D/probs.npy --kind tsallis --alpha 2 --out $D/e.npy --backend cpu"
  "nll --logits $D/logits.npy --labels $D/labels.npy --ignore-index 3 --backend cpu --format text"
  "divergence --kind js --p $D/logits.npy --q $D/q.npy --out $D/d.npy --backend cpu --memory-budget 1"
  "log-softmax --logits $D/logits.npy --out $D/ls.npy --backend cpu"
  "entropy --logits $D/bad.npy --backend cpu"
  "entropy --logits $D/trunc.npy --backend cpu"
  "divergence --kind nope --p $D/logits.npy --q $D/q.npy"
  "entropy --logits $D/missing.npy"
)
nv=0
for r in "${runs[@]}"; do
  set +e
  # shellcheck disable=SC2086
  OMP_NUM_THREADS=2 valgrind -q --error-exitcode=99 --suppressions="$ROOT/fuzz/valgrind.supp" \
    --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite build/cli/infoest $r >/dev/null 2>"$D/vg.txt"
  rc=$?
  set -e
  if [ $rc -eq 99 ] || grep -q '^==[0-9]*== ' "$D/vg.txt"; then
    echo "valgrind: errors in: infoest $r" >&2
    cat "$D/vg.txt" >&2
    exit 1
  fi
  echo "  ok (exit $rc): infoest ${r//$D\//}"
  nv=$((nv + 1))
done
echo "valgrind command_runs $nv" >>"$COUNTS"
echo "sanitize.sh: all clean"
