#!/usr/bin/env bash
# The discrete-information rows of issue 22, with their peers, in one run:
#   - BROJA of 1000 joints 2 × 2 × 2 in one ie_pid call (median of REPEATS)
#     vs dit's PID_BROJA(method="cone") looped in Python over a sample of 20
#     joints (median a joint, scaled to the batch);
#   - BROJA of 1000 and 10000 joints in device memory (on the backend asked;
#     host memory on cpu), R, U1, U2, S into a device out [B, 4]: the
#     server's call, one joint a GPU thread (infoest-bench-discrete
#     broja-device; issue 22's H100/H200 goal is 10000 joints in 10 ms);
#   - counting N (token, expert) pairs (top-8 routing; 10^9 by default: 4.5 GB
#     of .npy files) with the command's reader thread ahead of
#     ie_count_pairs (infoest-bench-discrete count, chunks of 2^20 rows), and
#     end to end with `infoest pmi --x --y` (the nPMI map of the 32000 × 256
#     table written too), vs `cat FILES > /dev/null` in the same run, twice:
#       WARM: the files in the page cache (so against memory speed);
#       COLD: the page cache dropped (sync; echo 3 > /proc/sys/vm/drop_caches)
#             before every timed call of ours and of cat, so against the
#             disk; only as root with /proc/sys/vm/drop_caches writable,
#             otherwise the output says cold was not measured.
#     Medians of 3 each (warm infoest-bench-discrete: of IE_DISC_REPEATS);
#     the load average before and after each half is printed with them;
#   - AMI of a 1000 × 1000 table from 10^6 labels (ie_count_pairs + ie_table_mi)
#     vs scikit-learn's adjusted_mutual_info_score on the same labels.
# Prints JSON lines and a Markdown table for bench/RESULTS.md.
#
#   bench/discrete.sh [BACKEND]        (cpu by default; opencl, cuda)
#
# Environment:
#   IE_BENCH_BUILD  build folder with infoest and infoest-bench-discrete
#                   (default build-bench, configured here when missing)
#   IE_BENCH_WORK   inputs (default bench/data/discrete, ignored by git)
#   IE_DISC_PAIRS   pairs to count (default 10^9; the files are 4.5 bytes a
#                   pair: 4.5 GB, written once and kept for the next run)
#   IE_DISC_ROWS    the rows to run, comma-separated (default broja,ami,count;
#                   e.g. count alone leaves out the peers' minutes)
#   IE_DISC_COLD    0: leave out the cold counting runs (default 1)
#   IE_DISC_REPEATS timed calls of ours (default 5; warm counting: 3)
#   IE_DISC_PEER_REPEATS  scikit-learn calls (default 3; each is minutes)
#   PYTHON          Python with NumPy, scikit-learn and dit[broja] (default
#                   bench/.venv/bin/python; NumPy alone for the count row)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
backend="${1:-cpu}"
build="${IE_BENCH_BUILD:-build-bench}"
work="${IE_BENCH_WORK:-bench/data/discrete}"
pairs="${IE_DISC_PAIRS:-1000000000}"
rows="${IE_DISC_ROWS:-broja,ami,count}"
reps="${IE_DISC_REPEATS:-5}"
py="${PYTHON:-bench/.venv/bin/python}"
say() { echo "[discrete.sh] $*" >&2; }
want() { case ",$rows," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

say "building in $build"
[ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DIE_BUILD_TESTS=OFF >&2
cmake --build "$build" -j"${IE_BENCH_JOBS:-2}" --target infoest-bench-discrete infoest_cli >&2
bin="$build/bench/infoest-bench-discrete"
cli="$build/cli/infoest"

if [ ! -f "$work/.pairs-$pairs" ]; then
  say "writing inputs to $work ($pairs pairs)"
  rm -f "$work"/.pairs-*
  "$py" bench/peers/discrete.py inputs "$work" --pairs "$pairs"
  touch "$work/.pairs-$pairs"
fi

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f\n", b - a}'; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
json_list() { local IFS=,; echo "[$*]"; }
json_median() { printf '%s\n' "$@" | median; }

ours_broja='{}' peer_broja='{}' ours_ami='{}' peer_ami='{}' count_warm='{}' count_cold='{}'
ours_dev=()
if want broja; then
  say "BROJA: ours"
  ours_broja=$("$bin" "$backend" broja "$work/joints.npy" "$reps")
  echo "$ours_broja"
  for B in 1000 10000; do
    say "BROJA: ours, $B joints on the device"
    ours_dev+=("$("$bin" "$backend" broja-device "$work/joints.npy" "$B" "$reps")")
    echo "${ours_dev[-1]}"
  done
  say "BROJA: dit (sample of 20 joints)"
  peer_broja=$("$py" bench/peers/discrete.py broja "$work" --sample 20 || echo '{}')
  echo "$peer_broja"
fi

if want ami; then
  say "AMI: ours"
  ours_ami=$("$bin" "$backend" ami "$work/ami_a.npy" "$work/ami_b.npy" 1000 1000 "$reps")
  echo "$ours_ami"
  say "AMI: scikit-learn"
  peer_ami=$("$py" bench/peers/discrete.py ami "$work" --repeats "${IE_DISC_PEER_REPEATS:-3}" || echo '{}')
  echo "$peer_ami"
fi

if want count; then
  files=("$work/tokens.npy" "$work/experts.npy")
  bytes=$(($(stat -c %s "${files[0]}") + $(stat -c %s "${files[1]}")))
  pmi() {
    "$cli" pmi --backend "$backend" --x "${files[0]}" --y "${files[1]}" --x-classes 32000 --y-classes 256 \
      --out "$work/npmi.npy" --no-progress
  }
  ours_count() { "$bin" "$backend" count "${files[0]}" "${files[1]}" 32000 256 1048576 "$@"; }

  load0=$(loadavg)
  say "counting $pairs pairs, WARM (page cache): cat vs ours, 3 runs each, alternating (load $load0)"
  cat "${files[@]}" >/dev/null # into the page cache, for all below
  ours_warm=$(ours_count "${IE_DISC_REPEATS:-3}")
  echo "$ours_warm"
  cat_t=() cli_t=()
  for _ in 1 2 3; do
    cat_t+=("$(secs cat "${files[@]}")")
    cli_t+=("$(secs pmi)")
  done
  count_warm="{\"case\": \"count\", \"cache\": \"warm\", \"backend\": \"$backend\", \"pairs\": $pairs, \"bytes\": $bytes,
    \"load_before\": \"$load0\", \"load_after\": \"$(loadavg)\",
    \"cat_samples\": $(json_list "${cat_t[@]}"), \"cat_median_s\": $(json_median "${cat_t[@]}"),
    \"infoest_pmi_samples\": $(json_list "${cli_t[@]}"), \"infoest_pmi_median_s\": $(json_median "${cli_t[@]}"),
    \"ours\": $ours_warm}"
  count_warm=$(echo "$count_warm" | tr -d '\n')
  echo "$count_warm"

  if [ "${IE_DISC_COLD:-1}" = 0 ]; then
    say "COLD: not measured (IE_DISC_COLD=0)"
    count_cold='{"cold": "not measured (IE_DISC_COLD=0)"}'
  elif [ "$(id -u)" = 0 ] && [ -w /proc/sys/vm/drop_caches ]; then
    drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
    load0=$(loadavg)
    say "counting $pairs pairs, COLD (page cache dropped before every timed call): cat vs ours, 3 runs each (load $load0)"
    cat_t=() bin_t=() cpu_t=() cli_t=()
    for _ in 1 2 3; do
      drop
      cat_t+=("$(secs cat "${files[@]}")")
      drop
      j=$(ours_count 1 cold)
      echo "$j"
      bin_t+=("$(echo "$j" | sed 's/.*"median_s": \([0-9.e+-]*\).*/\1/')")
      cpu_t+=("$(echo "$j" | sed 's/.*"cpu_median_s": \([0-9.e+-]*\).*/\1/')")
      drop
      cli_t+=("$(secs pmi)")
    done
    count_cold="{\"case\": \"count\", \"cache\": \"cold\", \"backend\": \"$backend\", \"pairs\": $pairs, \"bytes\": $bytes,
      \"load_before\": \"$load0\", \"load_after\": \"$(loadavg)\",
      \"cat_samples\": $(json_list "${cat_t[@]}"), \"cat_median_s\": $(json_median "${cat_t[@]}"),
      \"ours_samples\": $(json_list "${bin_t[@]}"), \"ours_median_s\": $(json_median "${bin_t[@]}"),
      \"ours_cpu_median_s\": $(json_median "${cpu_t[@]}"),
      \"infoest_pmi_samples\": $(json_list "${cli_t[@]}"), \"infoest_pmi_median_s\": $(json_median "${cli_t[@]}")}"
    count_cold=$(echo "$count_cold" | tr -d '\n')
    echo "$count_cold"
  else
    say "COLD: not measured (dropping the page cache needs root and a writable /proc/sys/vm/drop_caches)"
    count_cold='{"cold": "not measured (not root, or /proc/sys/vm/drop_caches not writable)"}'
  fi
fi

"$py" - "$ours_broja" "$peer_broja" "$ours_ami" "$peer_ami" "$count_warm" "$count_cold" "${ours_dev[@]}" <<'EOF'
import json, sys
ob, pb, oa, pa, cw, cc = (json.loads(s) for s in sys.argv[1:7])
odev = [json.loads(a) for a in sys.argv[7:]]
print()
print("| row | ours | peer | ratio |")
print("| --- | --- | --- | --- |")
if ob and pb:
    print("| BROJA, %d joints 2×2×2 (%s) | %.4g s (%.3g µs a joint; CPU %.3g s) | %s: %.4g s a joint (CPU %.4g s) × %d = %.4g s | %.0f× (CPU: %.0f×) |" % (
        ob["joints"], ob["backend"], ob["median_s"], 1e6 * ob["median_s"] / ob["joints"], ob["cpu_median_s"], pb["peer"],
        pb["per_joint_median_s"], pb["cpu_per_joint_median_s"], pb["joints"], pb["scaled_s"], pb["scaled_s"] / ob["median_s"],
        pb["cpu_per_joint_median_s"] * pb["joints"] / ob["cpu_median_s"]))
for od in odev:
    print("| BROJA, %d joints %s in %s memory, out [B, 4] there (%s) | %.4g s (%.3g µs a joint; CPU %.3g s) | — (goal on an H100/H200: 10000 in 10 ms) | |" % (
        od["joints"], "×".join(str(x) for x in od["shape"]), od["memory"], od["backend"], od["median_s"],
        1e6 * od["median_s"] / od["joints"], od["cpu_median_s"]))
if oa and pa:
    print("| AMI, 1000×1000 table from %d labels (%s) | %.4g s (count %.3g s + table-mi %.3g s; CPU %.3g s); AMI %.12f | %s: %.4g s (CPU %.4g s); AMI %.12f | %.0f× (CPU: %.0f×) |" % (
        oa["labels"], oa["backend"], oa["median_s"], oa["count_median_s"], oa["table_mi_median_s"], oa["cpu_median_s"], oa["ami"],
        pa["peer"], pa["median_s"], pa["cpu_median_s"], pa["ami"], pa["median_s"] / oa["median_s"], pa["cpu_median_s"] / oa["cpu_median_s"]))


def gbs(nbytes, t):
    return nbytes / 1e9 / t


def what(c):
    return "counting %.3g pairs from .npy files (%.2f GB, %s)" % (c["pairs"], c["bytes"] / 1e9, c["backend"])


if cw:
    nb, cat, oc = cw["bytes"], cw["cat_median_s"], cw["ours"]
    print("| %s, WARM (page cache), reader thread + `ie_count_pairs` | %.3g s (%.3g GB/s; CPU %.3g s) | `cat FILES > /dev/null`, warm: %.3g s (%.3g GB/s) | %.2f× cat's time |" % (
        what(cw), oc["median_s"], gbs(nb, oc["median_s"]), oc["cpu_median_s"], cat, gbs(nb, cat), oc["median_s"] / cat))
    t = cw["infoest_pmi_median_s"]
    print("| %s, WARM, `infoest pmi --x --y` (nPMI written) | %.3g s (%.3g GB/s) | `cat`, warm: %.3g s | %.2f× cat's time |" % (
        what(cw), t, gbs(nb, t), cat, t / cat))
if cc.get("cache") == "cold":
    nb, cat = cc["bytes"], cc["cat_median_s"]
    t = cc["ours_median_s"]
    print("| %s, COLD (page cache dropped), reader thread + `ie_count_pairs` | %.3g s (%.3g GB/s; CPU %.3g s) | `cat FILES > /dev/null`, cold: %.3g s (%.3g GB/s) | %.2f× cat's time |" % (
        what(cc), t, gbs(nb, t), cc["ours_cpu_median_s"], cat, gbs(nb, cat), t / cat))
    t = cc["infoest_pmi_median_s"]
    print("| %s, COLD, `infoest pmi --x --y` (nPMI written) | %.3g s (%.3g GB/s) | `cat`, cold: %.3g s | %.2f× cat's time |" % (
        what(cc), t, gbs(nb, t), cat, t / cat))
elif cc:
    print("| counting, COLD | %s | | |" % cc["cold"])
EOF
