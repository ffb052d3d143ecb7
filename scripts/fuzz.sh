#!/usr/bin/env bash
# Bounded libFuzzer runs (clang): the .npy reader, the .safetensors reader and
# the command line, IE_FUZZ_SECONDS each (default 60), from the seed corpus in
# fuzz/corpus/ (new finds go to build-fuzz/corpus-*, not into the repository).
# A crash, a sanitizer report or a leak fails the run; the input is kept as
# build-fuzz/crash-* etc.  Counts go to $IE_RELIABILITY_COUNTS when set.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECS=${IE_FUZZ_SECONDS:-60}
COUNTS=${IE_RELIABILITY_COUNTS:-/dev/null}
CC=${IE_FUZZ_CC:-clang} CXX=${IE_FUZZ_CXX:-clang++} \
  cmake -S fuzz -B build-fuzz -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-fuzz -j"${IE_JOBS:-2}" --target fuzz_npy fuzz_safetensors fuzz_cli >/dev/null
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$ROOT/fuzz/ubsan.supp"
export ASAN_OPTIONS="detect_leaks=1"
for t in npy safetensors cli; do
  mkdir -p "build-fuzz/corpus-$t"
  log="build-fuzz/fuzz_$t.log"
  set +e
  (cd build-fuzz && ./fuzz_$t -max_total_time="$SECS" -close_fd_mask=3 -rss_limit_mb=2048 \
     -print_final_stats=1 "$ROOT/build-fuzz/corpus-$t" "$ROOT/fuzz/corpus/$t") >"$log" 2>&1
  rc=$?
  set -e
  runs=$(grep -Eo '^Done [0-9]+ runs' "$log" | grep -Eo '[0-9]+' | tail -n 1 || true)
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -n 1 | grep -Eo '[0-9]+' || true)
  if [ $rc -ne 0 ] || [ -z "$runs" ]; then
    echo "fuzz_$t FAILED (exit $rc); see $log" >&2
    grep -E 'ERROR|runtime error|SUMMARY|Test unit written' "$log" >&2 || tail -n 30 "$log" >&2
    exit 1
  fi
  echo "fuzz_$t: $runs runs in ${SECS}s, coverage $cov edges, no crash, no leak"
  echo "fuzz_$t runs $runs" >>"$COUNTS"
  echo "fuzz_$t edges ${cov:-0}" >>"$COUNTS"
  echo "fuzz_$t seconds $SECS" >>"$COUNTS"
done
rm -rf /dev/shm/ie-fuzz-* 2>/dev/null || true
