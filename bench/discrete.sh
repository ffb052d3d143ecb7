#!/usr/bin/env bash
# The discrete-information rows of issue 22, with their peers, in one run:
#   - BROJA of 1000 joints 2 × 2 × 2 in one ie_pid call (median of REPEATS)
#     vs dit's PID_BROJA(method="cone") looped in Python over a sample of 20
#     joints (median a joint, scaled to the batch);
#   - BROJA of 1000 and 10000 joints in device memory (on the backend asked;
#     host memory on cpu), R, U1, U2, S into a device out [B, 4]: the
#     server's call, one joint a GPU thread (infoest-bench-discrete
#     broja-device; issue 22's H100/H200 goal is 10000 joints in 10 ms);
#   - counting N (token, expert) pairs (top-8 routing) from .npy files: read
#     in chunks of 2^20 rows and ie_count_pairs (infoest-bench-discrete count,
#     median of REPEATS), and end to end with `infoest pmi --x --y` (streamed;
#     the nPMI map of the 32000 × 256 table written too), vs
#     `cat FILES > /dev/null` in the same run (median of 3; the files are in
#     the page cache after the first read, for all three);
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
#   IE_DISC_PAIRS   pairs to count (default 10^8; the file is 4.5 bytes a pair)
#   IE_DISC_REPEATS timed calls of ours (default 5)
#   IE_DISC_PEER_REPEATS  scikit-learn calls (default 3; each is minutes)
#   PYTHON          Python with NumPy, scikit-learn and dit[broja] (default
#                   bench/.venv/bin/python)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
backend="${1:-cpu}"
build="${IE_BENCH_BUILD:-build-bench}"
work="${IE_BENCH_WORK:-bench/data/discrete}"
pairs="${IE_DISC_PAIRS:-100000000}"
reps="${IE_DISC_REPEATS:-5}"
py="${PYTHON:-bench/.venv/bin/python}"
say() { echo "[discrete.sh] $*" >&2; }

if [ ! -x "$build/bench/infoest-bench-discrete" ]; then
  say "building in $build"
  [ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DIE_BUILD_TESTS=OFF >&2
  cmake --build "$build" -j"${IE_BENCH_JOBS:-2}" --target infoest-bench-discrete infoest_cli >&2
fi
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

say "BROJA: ours"
ours_broja=$("$bin" "$backend" broja "$work/joints.npy" "$reps")
echo "$ours_broja"
ours_dev=()
for B in 1000 10000; do
  say "BROJA: ours, $B joints on the device"
  ours_dev+=("$("$bin" "$backend" broja-device "$work/joints.npy" "$B" "$reps")")
  echo "${ours_dev[-1]}"
done
say "BROJA: dit (sample of 20 joints)"
peer_broja=$("$py" bench/peers/discrete.py broja "$work" --sample 20 || echo '{}')
echo "$peer_broja"

say "AMI: ours"
ours_ami=$("$bin" "$backend" ami "$work/ami_a.npy" "$work/ami_b.npy" 1000 1000 "$reps")
echo "$ours_ami"
say "AMI: scikit-learn"
peer_ami=$("$py" bench/peers/discrete.py ami "$work" --repeats "${IE_DISC_PEER_REPEATS:-3}" || echo '{}')
echo "$peer_ami"

say "counting $pairs pairs: cat vs infoest pmi (3 runs each, alternating)"
files=("$work/tokens.npy" "$work/experts.npy")
bytes=$(cat "${files[@]}" | wc -c)
cat "${files[@]}" >/dev/null # into the page cache, as for both below
ours_count=$("$bin" "$backend" count "${files[0]}" "${files[1]}" 32000 256 1048576 "$reps")
echo "$ours_count"
cat_t=() cli_t=()
for _ in 1 2 3; do
  cat_t+=("$(secs cat "${files[@]}")")
  cli_t+=("$(secs "$cli" pmi --backend "$backend" --x "${files[0]}" --y "${files[1]}" \
    --x-classes 32000 --y-classes 256 --out "$work/npmi.npy" --no-progress)")
done
cat_med=$(printf '%s\n' "${cat_t[@]}" | median)
cli_med=$(printf '%s\n' "${cli_t[@]}" | median)
echo "{\"case\": \"count\", \"backend\": \"$backend\", \"pairs\": $pairs, \"bytes\": $bytes, \"cat_samples\": [$(IFS=,; echo "${cat_t[*]}")], \"infoest_pmi_samples\": [$(IFS=,; echo "${cli_t[*]}")], \"cat_median_s\": $cat_med, \"infoest_pmi_median_s\": $cli_med}"

"$py" - "$ours_broja" "$peer_broja" "$ours_ami" "$peer_ami" "$pairs" "$bytes" "$cat_med" "$cli_med" "$ours_count" "${ours_dev[@]}" <<'EOF'
import json, sys
ob, pb, oa, pa = (json.loads(s) for s in sys.argv[1:5])
pairs, nbytes, cat, cli = int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7]), float(sys.argv[8])
oc = json.loads(sys.argv[9])
odev = [json.loads(a) for a in sys.argv[10:]]
print()
print("| row | ours | peer | ratio |")
print("| --- | --- | --- | --- |")
if pb:
    print("| BROJA, %d joints 2×2×2 (%s) | %.4g s (%.3g µs a joint; CPU %.3g s) | %s: %.4g s a joint (CPU %.4g s) × %d = %.4g s | %.0f× (CPU: %.0f×) |" % (
        ob["joints"], ob["backend"], ob["median_s"], 1e6 * ob["median_s"] / ob["joints"], ob["cpu_median_s"], pb["peer"],
        pb["per_joint_median_s"], pb["cpu_per_joint_median_s"], pb["joints"], pb["scaled_s"], pb["scaled_s"] / ob["median_s"],
        pb["cpu_per_joint_median_s"] * pb["joints"] / ob["cpu_median_s"]))
for od in odev:
    print("| BROJA, %d joints %s in %s memory, out [B, 4] there (%s) | %.4g s (%.3g µs a joint; CPU %.3g s) | — (goal on an H100/H200: 10000 in 10 ms) | |" % (
        od["joints"], "×".join(str(x) for x in od["shape"]), od["memory"], od["backend"], od["median_s"],
        1e6 * od["median_s"] / od["joints"], od["cpu_median_s"]))
if pa:
    print("| AMI, 1000×1000 table from %d labels (%s) | %.4g s (count %.3g s + table-mi %.3g s; CPU %.3g s); AMI %.12f | %s: %.4g s (CPU %.4g s); AMI %.12f | %.0f× (CPU: %.0f×) |" % (
        oa["labels"], oa["backend"], oa["median_s"], oa["count_median_s"], oa["table_mi_median_s"], oa["cpu_median_s"], oa["ami"],
        pa["peer"], pa["median_s"], pa["cpu_median_s"], pa["ami"], pa["median_s"] / oa["median_s"], pa["cpu_median_s"] / oa["cpu_median_s"]))
print("| counting %.3g pairs from .npy files (%.2f GB), chunks of 2^20 rows read + `ie_count_pairs` (%s) | %.3g s (%.3g GB/s; CPU %.3g s) | `cat FILES > /dev/null`: %.3g s (%.3g GB/s) | %.2f× cat's time |" % (
    pairs, nbytes / 1e9, oc["backend"], oc["median_s"], nbytes / 1e9 / oc["median_s"], oc["cpu_median_s"], cat, nbytes / 1e9 / cat, oc["median_s"] / cat))
print("| counting %.3g pairs from .npy files (%.2f GB) with `infoest pmi --x --y` (nPMI written) | %.3g s (%.3g GB/s) | `cat FILES > /dev/null`: %.3g s (%.3g GB/s) | %.2f× cat's time |" % (
    pairs, nbytes / 1e9, cli, nbytes / 1e9 / cli, cat, nbytes / 1e9 / cat, cli / cat))
EOF
