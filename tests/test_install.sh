#!/usr/bin/env bash
# Install the build in $1 into a scratch prefix and build examples/ against
# it four ways — the CMake package (find_package(infoest)) and pkg-config,
# each with the shared and the static library — and run every program.
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

export PKG_CONFIG_PATH="$libdir/pkgconfig"
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
echo "install: shared and static, through the CMake package and pkg-config, from $prefix"
