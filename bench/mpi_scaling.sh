#!/usr/bin/env bash
# mpi_scaling.sh — weak scaling of `infoest divergence --kind kl` under MPI:
# R = 1, 2, 4 ranks (oversubscribed when R exceeds the cores), each rank
# with the same number of rows (ROWS_PER_RANK x COLS float32 logits, p and
# q), so that a flat time per rank-row and a flat peak memory per rank mean
# the split costs nothing.  Prints a Markdown table with the exact command
# lines; peak RSS of every rank by GNU time (%M), wall time of the whole
# mpirun.  Needs an infoest built with MPI, mpirun, python3 with NumPy.
#
#   bench/mpi_scaling.sh [PATH/TO/infoest] [ROWS_PER_RANK] [COLS] [BUDGET_MIB]
#
# Defaults: build/cli/infoest, 8192 rows a rank, 2048 columns, a 16 MiB
# memory budget (so each rank streams several chunks).  Files go to a fresh
# directory under ${TMPDIR:-/tmp}, removed on exit.
set -euo pipefail

EXE=$(realpath "${1:-build/cli/infoest}")
ROWS=${2:-8192}
COLS=${3:-2048}
BUDGET=${4:-16}
PY=${PYTHON:-/usr/bin/python3}
MPIRUN=${MPIRUN:-mpirun}
FLAGS=(--oversubscribe)
[[ $(id -u) -eq 0 ]] && FLAGS+=(--allow-run-as-root)
[[ -x /usr/bin/time ]] || { echo "mpi_scaling: needs GNU time at /usr/bin/time" >&2; exit 2; }

DIR=$(mktemp -d "${TMPDIR:-/tmp}/mpi_scaling.XXXXXX")
trap 'rm -rf "$DIR"' EXIT

"$PY" - "$DIR" "$ROWS" "$COLS" <<'EOF'
import sys, numpy as np
d, rows, cols = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
zipf = (-1.1 * np.log(np.arange(1, cols + 1))).astype(np.float32)
for R in (1, 2, 4):
    n = R * rows
    p = zipf + rng.standard_normal((n, cols), dtype=np.float32)
    q = p + np.float32(0.3) * rng.standard_normal((n, cols), dtype=np.float32)
    np.save(f"{d}/p{R}.npy", p)
    np.save(f"{d}/q{R}.npy", q)
EOF

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "infoest: $("$EXE" --version), commit $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo
echo "| R | rows (total) | wall s | us per row a rank | peak RSS a rank (MiB) | command |"
echo "| - | - | - | - | - | - |"
for R in 1 2 4; do
  cmd=("$MPIRUN" "${FLAGS[@]}" -n "$R" /usr/bin/time -f "peak_kib %M" "$EXE" divergence --kind kl
       --p "$DIR/p$R.npy" --q "$DIR/q$R.npy" --memory-budget "$BUDGET" --out "$DIR/kl$R.npy")
  t0=$(date +%s.%N)
  "${cmd[@]}" >"$DIR/out$R.json" 2>"$DIR/err$R.txt"
  t1=$(date +%s.%N)
  # mpirun forwards the ranks' stderr lines as they come: find them anywhere
  peaks=$(cat "$DIR/err$R.txt" "$DIR/out$R.json" | grep -o 'peak_kib [0-9]*' |
          awk '{printf "%s%.0f", sep, $2/1024; sep="/"}')
  wall=$(echo "$t1 - $t0" | bc -l)
  per=$(echo "$wall * 1000000 / $ROWS" | bc -l)
  shown="mpirun ${FLAGS[*]} -n $R /usr/bin/time -f 'peak_kib %M' infoest divergence --kind kl --p p$R.npy --q q$R.npy --memory-budget $BUDGET --out kl$R.npy"
  printf '| %d | %d | %.2f | %.1f | %s | `%s` |\n' "$R" $((R * ROWS)) "$wall" "$per" "$peaks" "$shown"
done
echo
echo "JSON (R = 1, 2, 4):"
for R in 1 2 4; do grep -o '{.*}' "$DIR/out$R.json" | sed 's/"out":"[^"]*",//'; done
