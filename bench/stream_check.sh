#!/usr/bin/env bash
# stream_check.sh — check that `infoest divergence` streams: two 2 GiB
# float32 logits files, KL between them with the default memory budget
# (256 MiB), peak resident memory measured by /usr/bin/time -v; fails when
# it reaches 512 MiB.  Not part of CI (it writes 4 GiB and reads them).
#
#   bench/stream_check.sh [PATH/TO/infoest] [DIR]
#
# DIR (default: a fresh directory under ${TMPDIR:-/tmp}) needs 4 GiB free;
# the files are removed on exit.  Needs python3 with numpy, and GNU time.
set -euo pipefail

EXE=${1:-build/cli/infoest}
LIMIT_MIB=512
ROWS=16384       # 16384 x 32768 float32 = 2 GiB a file
COLS=32768

if [[ ! -x $EXE ]]; then
  echo "stream_check: no infoest at '$EXE' (build it, or pass its path)" >&2
  exit 2
fi
if [[ ! -x /usr/bin/time ]]; then
  echo "stream_check: needs GNU time at /usr/bin/time (apt-get install time)" >&2
  exit 2
fi

if [[ $# -ge 2 ]]; then
  DIR=$(mktemp -d "$2/stream_check.XXXXXX")
else
  DIR=$(mktemp -d "${TMPDIR:-/tmp}/stream_check.XXXXXX")
fi
trap 'rm -rf "$DIR"' EXIT

echo "stream_check: writing two ${ROWS} x ${COLS} float32 files (2 GiB each) in $DIR"
python3 - "$DIR" "$ROWS" "$COLS" <<'EOF'
import sys
import numpy as np
d, rows, cols = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(7)
p = np.lib.format.open_memmap(f"{d}/p.npy", mode="w+", dtype=np.float32, shape=(rows, cols))
q = np.lib.format.open_memmap(f"{d}/q.npy", mode="w+", dtype=np.float32, shape=(rows, cols))
step = 512  # 64 MiB of rows at a time
for r in range(0, rows, step):
    a = rng.standard_normal((min(step, rows - r), cols), dtype=np.float32)
    p[r:r + len(a)] = 2 * a
    q[r:r + len(a)] = 2 * a + rng.standard_normal(a.shape, dtype=np.float32)
    p.flush()
    q.flush()
del p, q
EOF
ls -l "$DIR"

echo "stream_check: infoest divergence --kind kl (default --memory-budget)"
/usr/bin/time -v -o "$DIR/time.txt" "$EXE" divergence --kind kl --p "$DIR/p.npy" --q "$DIR/q.npy" \
  --no-progress
rss_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$DIR/time.txt")
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$DIR/time.txt")
rss_mib=$((rss_kb / 1024))
echo "stream_check: peak RSS ${rss_mib} MiB (${rss_kb} kB), wall ${wall}, for 4 GiB of input"
if ((rss_kb >= LIMIT_MIB * 1024)); then
  echo "stream_check: FAIL: peak RSS ${rss_mib} MiB >= ${LIMIT_MIB} MiB" >&2
  exit 1
fi
echo "stream_check: OK (< ${LIMIT_MIB} MiB)"
