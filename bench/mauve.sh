#!/usr/bin/env bash
# The CPU MAUVE row of issue 19, with its peer, in one run:
#   5 000 + 5 000 features of width 1280 (gpt2-large's) with low-rank
#   structure (bench/peers/mauve.py inputs), mauve-text's defaults (500
#   clusters, 5 k-means restarts, at most 500 iterations, PCA to 0.9 of the
#   variance): `infoest mauve --p --q` (the whole CLI process: reading the
#   .npy files, normalisation, PCA, k-means, frontier; median of REPEATS,
#   wall and process CPU time = user + sys from /usr/bin/time) vs mauve-text's
#   compute_mauve(p_features, q_features) with faiss on the CPU (timed inside
#   Python around the call, wall and process_time; PEER_REPEATS calls, each a
#   fresh process).  The two sides are interleaved (ours, peer, ours, peer,
#   ours, ...) so both see the same load; the 1-minute load average is
#   recorded before every call.
# Prints JSON lines and a Markdown row for bench/RESULTS.md.
#
#   bench/mauve.sh [BACKEND]        (cpu by default)
#
# Environment:
#   IE_BENCH_BUILD  build folder with cli/infoest (default build-bench,
#                   configured here when missing)
#   IE_BENCH_WORK   inputs (default bench/data/mauve, ignored by git)
#   IE_MAUVE_REPEATS       timed runs of ours (default 3)
#   IE_MAUVE_PEER_REPEATS  mauve-text calls (default 2; each is minutes)
#   IE_MAUVE_SEEDS  seeds of the untimed ensembles that compare the scores
#                   (ours: --seed 1 --seeds N; mauve-text: seeds 1 … N;
#                   default 6, 0 for none): one seed's MAUVE moves by about
#                   0.01, as much as the goal's "within 0.01"
#   PYTHON          Python with NumPy, mauve-text, faiss-cpu and scikit-learn
#                   (default bench/.venv/bin/python)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
backend="${1:-cpu}"
build="${IE_BENCH_BUILD:-build-bench}"
work="${IE_BENCH_WORK:-bench/data/mauve}"
reps="${IE_MAUVE_REPEATS:-3}"
peer_reps="${IE_MAUVE_PEER_REPEATS:-2}"
py="${PYTHON:-bench/.venv/bin/python}"
seeds="${IE_MAUVE_SEEDS:-6}"
say() { echo "[mauve.sh] $*" >&2; }

if [ ! -x "$build/cli/infoest" ]; then
  say "building in $build"
  [ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DIE_BUILD_TESTS=OFF >&2
  cmake --build "$build" -j"${IE_BENCH_JOBS:-2}" --target infoest_cli >&2
fi
cli="$build/cli/infoest"

if [ ! -f "$work/p.npy" ] || [ ! -f "$work/q.npy" ]; then
  say "writing inputs to $work"
  "$py" bench/peers/mauve.py inputs "$work"
fi

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
load() { cut -d' ' -f1 /proc/loadavg; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

ours_once() { # prints the JSON line of one timed run of ours
  local l
  l=$(load)
  /usr/bin/time -f '%e %U %S' -o "$tmp/time" "$cli" mauve --backend "$backend" --p "$work/p.npy" --q "$work/q.npy" >"$tmp/out"
  read -r wall user sys <"$tmp/time"
  echo "{\"case\": \"mauve\", \"side\": \"infoest\", \"backend\": \"$backend\", \"load1\": $l, \"wall_s\": $wall, \"cpu_s\": $(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}'), \"result\": $(cat "$tmp/out")}"
}
peer_once() {
  local l
  l=$(load)
  echo "{\"side\": \"mauve-text\", \"load1\": $l, \"result\": $("$py" bench/peers/mauve.py peer "$work" --repeats 1 || echo '{}')}"
}

lines=()
for ((i = 0; i < reps || i < peer_reps; i++)); do
  if ((i < reps)); then
    say "ours, run $((i + 1))/$reps (load $(load))"
    lines+=("$(ours_once)"); echo "${lines[-1]}"
  fi
  if ((i < peer_reps)); then
    say "mauve-text, call $((i + 1))/$peer_reps (load $(load))"
    lines+=("$(peer_once)"); echo "${lines[-1]}"
  fi
done

if ((seeds >= 2)); then
  say "ensembles over $seeds seeds (untimed)"
  lines+=("{\"side\": \"infoest-ensemble\", \"load1\": $(load), \"result\": $("$cli" mauve --backend "$backend" --p "$work/p.npy" --q "$work/q.npy" --seed 1 --seeds "$seeds")}")
  echo "${lines[-1]}"
  lines+=("{\"side\": \"mauve-text-ensemble\", \"load1\": $(load), \"result\": $("$py" bench/peers/mauve.py ensemble "$work" --seeds "$seeds" || echo '{}')}")
  echo "${lines[-1]}"
fi

printf '%s\n' "${lines[@]}" | "$py" -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin]
ours = [r for r in rows if r["side"] == "infoest"]
peer = [r["result"] for r in rows if r["side"] == "mauve-text" and r["result"]]
load = [r["load1"] for r in rows if "ensemble" not in r["side"]]
ow = statistics.median(r["wall_s"] for r in ours)
oc = statistics.median(r["cpu_s"] for r in ours)
om = [r["result"]["mauve"] for r in ours]
o0 = ours[0]["result"]
print()
print("| row | ours | peer | ratio (wall; CPU) | MAUVE ours − peer |")
print("| --- | --- | --- | --- | --- |")
if peer:
    pw = statistics.median(s for p in peer for s in p["samples"])
    pc = statistics.median(s for p in peer for s in p["cpu_samples"])
    pm = [m for p in peer for m in p["mauve"]]
    print("| MAUVE, %d + %d features of width %d, %d clusters, 5 restarts (%s) | %.3g s wall, %.3g s CPU (median of %d); MAUVE %.4f (PCA %d dims) | %s: %.4g s wall, %.4g s CPU (%d call%s); MAUVE %s | %.2f×; %.2f× | %+.4f |" % (
        o0["n_p"], o0["n_q"], o0["d"], o0["clusters"], ours[0]["backend"], ow, oc, len(ours), om[0], o0["pca_dims"],
        peer[0]["peer"], pw, pc, len(pm), "" if len(pm) == 1 else "s", ", ".join("%.4f" % m for m in pm),
        pw / ow, pc / oc, om[0] - statistics.mean(pm)))
else:
    print("| MAUVE (%s) | %.3g s wall, %.3g s CPU; MAUVE %.4f | (peer failed) | | |" % (ours[0]["backend"], ow, oc, om[0]))
oe = [r["result"] for r in rows if r["side"] == "infoest-ensemble"]
pe = [r["result"] for r in rows if r["side"] == "mauve-text-ensemble" and r["result"]]
if oe and pe:
    o, p = oe[0], pe[0]
    print("| MAUVE over seeds 1 … %d (untimed) | %.4f ± %.4f; FI %.4f ± %.4f | %.4f ± %.4f; FI %.4f ± %.4f | | %+.4f (FI %+.4f) |" % (
        p["seeds"], o["mauve"], o["mauve_std"], o["frontier_integral"], o["frontier_integral_std"],
        p["mauve_mean"], p["mauve_std"], p["frontier_integral_mean"], p["frontier_integral_std"],
        o["mauve"] - p["mauve_mean"], o["frontier_integral"] - p["frontier_integral_mean"]))
print()
print("load average (1 min) before each call: %s" % ", ".join("%.2f" % x for x in load))
'
