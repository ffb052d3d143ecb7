#!/usr/bin/env bash
# Install the build in $1 into a scratch prefix and build examples/ against
# it four ways — the CMake package (find_package(infoest)) and pkg-config,
# each with the shared and the static library — and run every program.
# Also: the core library links no GPU library, the backend modules are
# installed next to it and load from there, and a CPU-only consumer builds
# with find_package(infoest) when neither the CUDA toolkit nor OpenCL can be
# found, and runs with no module at all.
# Nothing installed is edited: the .pc files find the prefix themselves.
set -euo pipefail
build=$1
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(dirname "$(find "$prefix" -name libinfoest.a | head -1)")
test -f "$libdir/libinfoest.a"
test -x "$prefix/bin/infoest"
test -f "$prefix/include/infoest.h"

# Does `prog` need libinfoest.so?  (Shared: yes, found by rpath or
# LD_LIBRARY_PATH; static: never.)
needs_shared() { readelf -d "$1" | grep -q 'NEEDED.*libinfoest\.so'; }
# Does a binary need a GPU library, directly or through what it loads?
gpu_libs='libcuda|libcudart|libcublas|libcusolver|libcusparse|libnvJitLink|libnvrtc|libOpenCL'
needs_gpu() { { readelf -d "$1"; LD_LIBRARY_PATH="$libdir:${LD_LIBRARY_PATH:-}" ldd "$1"; } | grep -Eq "$gpu_libs"; }

# The core library links no GPU library; the backend modules this build
# made are installed next to it (where it looks for them).
needs_gpu "$libdir/libinfoest.so" && { echo "install: libinfoest.so needs a GPU library" >&2; exit 1; }
for m in "$build"/libinfoest-*.so; do
  [ -e "$m" ] || continue
  test -f "$libdir/$(basename "$m")" ||
    { echo "install: the module $(basename "$m") is not installed in $libdir" >&2; exit 1; }
done
# The installed command finds the installed OpenCL module (when built):
# OpenCL is listed as available or with a reason that is not the module.
if [ -e "$libdir/libinfoest-opencl.so" ]; then
  out=$(env -u IE_BACKEND_PATH "$prefix/bin/infoest" demo --backend opencl --rows 2 --cols 16 --format json 2>&1 || true)
  if ! grep -q '"name":"opencl","available":true' <<<"$out" && grep -q 'module' <<<"$out"; then
    echo "install: the installed infoest does not load libinfoest-opencl.so: $out" >&2
    exit 1
  fi
fi

for kind in shared static; do
  static=OFF
  [ $kind = static ] && static=ON
  cmake -S "$src/examples" -B "$tmp/ex-$kind" -DCMAKE_PREFIX_PATH="$prefix" \
        -DIE_EXAMPLE_STATIC=$static >/dev/null
  cmake --build "$tmp/ex-$kind" >/dev/null
  if [ $kind = static ] && needs_shared "$tmp/ex-$kind/kl_example"; then
    echo "install: the static CMake build links libinfoest.so" >&2
    exit 1
  fi
  "$tmp/ex-$kind/kl_example"
done

# A CPU-only consumer: find_package(infoest) for the shared library with
# neither the CUDA toolkit nor OpenCL findable, a program that needs no GPU
# library, and that runs on the CPU with no module to be found.
cmake -S "$src/examples" -B "$tmp/ex-cpu" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_DISABLE_FIND_PACKAGE_CUDAToolkit=ON -DCMAKE_DISABLE_FIND_PACKAGE_OpenCL=ON >/dev/null
cmake --build "$tmp/ex-cpu" >/dev/null
needs_gpu "$tmp/ex-cpu/kl_example" && { echo "install: the CPU-only example needs a GPU library" >&2; exit 1; }
IE_BACKEND_PATH="$tmp/no-modules" "$tmp/ex-cpu/kl_example"

export PKG_CONFIG_PATH="$libdir/pkgconfig"
# infoest.pc (shared) names no GPU library.
if pkg-config --cflags --libs infoest | grep -Eq 'cuda|cublas|cusolver|OpenCL'; then
  echo "install: pkg-config --libs infoest names a GPU library: $(pkg-config --libs infoest)" >&2
  exit 1
fi
# The .pc files name the scratch prefix, not where the build was configured.
pc_libdir=$(pkg-config --variable=libdir infoest)
[ "$(cd "$pc_libdir" && pwd -P)" = "$(cd "$libdir" && pwd -P)" ] ||
  { echo "install: infoest.pc gives libdir $pc_libdir, not $libdir" >&2; exit 1; }
# shellcheck disable=SC2046
cc "$src/examples/kl_example.c" -o "$tmp/kl_pc_shared" $(pkg-config --cflags --libs infoest) -lm
LD_LIBRARY_PATH="$libdir:${LD_LIBRARY_PATH:-}" "$tmp/kl_pc_shared"
# Static: libinfoest.a with what pkg-config --static lists as its needs.
# shellcheck disable=SC2046
cc "$src/examples/kl_example.c" -o "$tmp/kl_pc_static" $(pkg-config --cflags infoest) \
   "$libdir/libinfoest.a" $(pkg-config --static --libs-only-L --libs-only-l infoest | sed 's/ -linfoest\b//') -lm
needs_shared "$tmp/kl_pc_static" && { echo "install: pkg-config --static linked libinfoest.so" >&2; exit 1; }
"$tmp/kl_pc_static"
# The same through the infoest-static module.
# shellcheck disable=SC2046
cc "$src/examples/kl_example.c" -o "$tmp/kl_pc_static2" $(pkg-config --cflags --libs infoest-static) -lm
needs_shared "$tmp/kl_pc_static2" && { echo "install: infoest-static.pc linked libinfoest.so" >&2; exit 1; }
"$tmp/kl_pc_static2"
echo "install: shared and static, through the CMake package and pkg-config, and a CPU-only consumer, from $prefix"
