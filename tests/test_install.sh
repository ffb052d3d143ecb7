#!/usr/bin/env bash
# Install the build in $1 into a scratch prefix, build examples/ against the
# installed CMake package (find_package(infoest)) and against pkg-config, and
# run both programs.
set -euo pipefail
build=$1
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cmake -S "$src/examples" -B "$tmp/ex" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/ex" >/dev/null
LD_LIBRARY_PATH="$tmp/prefix/lib:$tmp/prefix/lib64:${LD_LIBRARY_PATH:-}" "$tmp/ex/kl_example"
pcdir=$(dirname "$(find "$tmp/prefix" -name infoest.pc | head -1)")
sed -i "s|^prefix=.*|prefix=$tmp/prefix|" "$pcdir/infoest.pc"
cc "$src/examples/kl_example.c" -o "$tmp/kl_pc" $(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs infoest) -lm
LD_LIBRARY_PATH="$(dirname "$pcdir"):${LD_LIBRARY_PATH:-}" "$tmp/kl_pc"
test -x "$tmp/prefix/bin/infoest"
test -f "$tmp/prefix/include/infoest.h"
echo "install: package, pkg-config file, headers and command in place"
