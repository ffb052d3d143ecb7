#!/usr/bin/env bash
# The ptxas report: every CUDA source of the library (src/cuda/*.cu, by glob,
# so new files are taken as they come) compiled for one architecture with
# `-Xptxas -v`, and per function (kernels and the device functions ptxas
# kept as calls) its registers, stack frame, spill stores and loads, shared
# memory and barriers.  With --check, it fails (exit 1) when any function
# spills; the `ptxas-spills` test runs it so on CUDA builds.
#
#   scripts/ptxas_report.sh [--check] [--arch 90] [--out FILE] [SOURCE.cu ...]
#
# FILE defaults to docs/ptxas-sm<ARCH>.txt ("-": standard output); the
# sources to src/cuda/*.cu.  IE_PTXAS_FLAGS adds nvcc flags (e.g.
# -maxrregcount=16, to see the check fail); IE_PTXAS_JOBS the parallel nvcc's.  Needs nvcc
# (NVCC, else PATH, else /usr/local/cuda/bin) and dlpack/dlpack.h (DLPACK_INCLUDE_DIR,
# else /usr/include or /usr/local/include); no GPU.  Flags as the library's
# Release build: -O3 -DNDEBUG, the same defines and include folders.
# Exit: 0 fine, 1 a spill (with --check), 2 nothing could be compiled.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
arch=90
out=""
check=0
given=()
while [ $# -gt 0 ]; do
  case "$1" in
    --check) check=1 ;;
    --arch) arch="${2:?--arch needs a value}"; shift ;;
    --out) out="${2:?--out needs a value}"; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    -*) echo "ptxas_report.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    *) given+=("$1") ;;
  esac
  shift
done
arch="${arch%%-*}"           # 90-real, 90-virtual -> 90
arch="${arch#sm_}"
case "$arch" in ''|*[!0-9a]*) echo "ptxas_report.sh: bad architecture '$arch'" >&2; exit 2 ;; esac
[ -n "$out" ] || out="$root/docs/ptxas-sm$arch.txt"

nvcc="${NVCC:-$(command -v nvcc || true)}"
[ -n "$nvcc" ] || { [ -x /usr/local/cuda/bin/nvcc ] && nvcc=/usr/local/cuda/bin/nvcc; }
if [ -z "$nvcc" ]; then
  echo "ptxas_report.sh: no nvcc (not on PATH, not in /usr/local/cuda/bin): nothing compiled" >&2
  exit 2
fi
dl="${DLPACK_INCLUDE_DIR:-}"
if [ -z "$dl" ]; then
  for d in /usr/include /usr/local/include; do [ -e "$d/dlpack/dlpack.h" ] && dl="$d" && break; done
fi
[ -n "$dl" ] || { echo "ptxas_report.sh: dlpack/dlpack.h not found (set DLPACK_INCLUDE_DIR)" >&2; exit 2; }

shopt -s nullglob
if [ ${#given[@]} -gt 0 ]; then
  srcs=()
  for f in "${given[@]}"; do srcs+=("$(cd "$(dirname "$f")" && pwd)/$(basename "$f")"); done
else
  srcs=("$root"/src/cuda/*.cu)
fi
[ ${#srcs[@]} -gt 0 ] || { echo "ptxas_report.sh: no src/cuda/*.cu" >&2; exit 2; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# One nvcc a file, in parallel; each file's ptxas lines to its own log.
compile() {
  local f="$1" log="$2"
  # shellcheck disable=SC2086 # IE_PTXAS_FLAGS: several flags, split on purpose
  "$nvcc" -arch="sm_$arch" -O3 -DNDEBUG -DIE_BUILDING=1 -DIE_HAVE_CUDA=1 \
    -I"$root/include" -I"$root/src" -I"$dl" ${IE_PTXAS_FLAGS:-} -Xptxas -v -c "$f" -o "$log.o" >"$log" 2>&1
  echo $? >"$log.rc"
}
jobs="${IE_PTXAS_JOBS:-$(nproc 2>/dev/null || echo 2)}"
i=0
for f in "${srcs[@]}"; do
  compile "$f" "$tmp/$i.log" &
  i=$((i + 1))
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n 2>/dev/null || sleep 0.2; done
done
wait

demangle="cat"
for c in cu++filt c++filt; do command -v "$c" >/dev/null && demangle="$c" && break; done
[ "$demangle" = cat ] && [ -x "$(dirname "$nvcc")/cu++filt" ] && demangle="$(dirname "$nvcc")/cu++filt"

failed=0
{
  echo "# ptxas report: sm_$arch, $("$nvcc" --version | grep -o 'release [0-9.]*, V[0-9.]*' || echo 'nvcc'), $(date -u +%Y-%m-%d)"
  echo "# made by scripts/ptxas_report.sh (-O3 -DNDEBUG ${IE_PTXAS_FLAGS:-}-Xptxas -v); one line a function ptxas compiled:"
  echo "# regs = registers a thread, stack = stack frame bytes, spill = spill stores/loads bytes,"
  echo "# smem = static shared memory bytes, bar = barriers.  Any spill fails the ptxas-spills test."
  printf '%-22s %5s %6s %11s %5s %4s  %s\n' "# file" regs stack spill smem bar function
  i=0
  for f in "${srcs[@]}"; do
    log="$tmp/$i.log"
    i=$((i + 1))
    name="${f#"$root"/}"
    if [ "$(cat "$log.rc")" != 0 ]; then
      echo "$name: nvcc failed:" >&2
      sed 's/^/  /' "$log" >&2
      echo "# $name: nvcc failed (see stderr)"
      failed=1
      continue
    fi
    # ptxas prints, per function: "Compiling entry function 'F'" (kernels) or
    # "Function properties for F", then "N bytes stack frame, S bytes spill
    # stores, L bytes spill loads", then "Used R registers, ... B bytes smem".
    awk -v file="$name" '
      function flush() {
        if (fn != "") printf "%-22s %5s %6s %5s/%-5s %5s %4s  %s\n", file, regs, stack, ss, sl, smem, bar, fn
        fn = ""; regs = "-"; stack = 0; ss = 0; sl = 0; smem = 0; bar = 0
      }
      BEGIN { fn = ""; regs = "-"; stack = 0; ss = 0; sl = 0; smem = 0; bar = 0 }
      /Compiling entry function/ { flush(); match($0, /function \x27[^\x27]+\x27/); fn = substr($0, RSTART + 10, RLENGTH - 11); next }
      /Function properties for / {
        f2 = $0; sub(/.*Function properties for /, "", f2)
        if (f2 != fn) { flush(); fn = f2 }
        next
      }
      /bytes stack frame/ {
        for (k = 1; k <= NF; k++) {
          if ($(k + 1) == "bytes" && $(k + 2) == "stack") stack = $k
          if ($(k + 2) == "spill" && $(k + 3) ~ /^stores/) ss = $k
          if ($(k + 2) == "spill" && $(k + 3) ~ /^loads/) sl = $k
        }
        next
      }
      /Used [0-9]+ registers/ {
        for (k = 1; k <= NF; k++) {
          if ($k == "Used") regs = $(k + 1)
          if ($(k + 1) == "bytes" && $(k + 2) ~ /^smem/) smem = $k
          if ($k == "used" && $(k + 2) ~ /^barriers/) bar = $(k + 1)
        }
        next
      }
      END { flush() }
    ' "$log" | "$demangle"
  done
} >"$tmp/report"

if [ "$out" = - ]; then cat "$tmp/report"; else mkdir -p "$(dirname "$out")" && cp "$tmp/report" "$out" && echo "ptxas report: $out"; fi
nfun="$(grep -vc '^#' "$tmp/report" || true)"
spills="$(awk '!/^#/ { split($4, s, "/"); if (s[1] + 0 > 0 || s[2] + 0 > 0) print }' "$tmp/report")"
if [ "$nfun" = 0 ] && [ "$failed" = 0 ]; then
  echo "ptxas_report.sh: ptxas reported no function (no -v output?)" >&2
  exit 2
fi
if [ -n "$spills" ]; then
  echo "ptxas_report.sh: functions that spill on sm_$arch:" >&2
  echo "$spills" >&2
  [ "$check" = 1 ] && exit 1
fi
[ "$failed" = 1 ] && exit 2
echo "ptxas_report.sh: $nfun functions on sm_$arch, $( [ -n "$spills" ] && echo "SOME SPILL" || echo "no spills")"
exit 0
