#!/bin/sh
# install_check.sh BUILD_DIR -- install into a scratch prefix, then build a
# program against it both with pkg-config and with CMake's find_package.
set -eu
build=$1
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
command -v pkg-config >/dev/null || { echo "pkg-config is not installed"; exit 1; }
cc "$src/examples/cycle.c" $(pkg-config --cflags --libs recycle) -o "$tmp/cycle_pc"
LD_LIBRARY_PATH="$tmp/prefix/lib" "$tmp/cycle_pc"
mkdir "$tmp/use"
cat > "$tmp/use/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.20)
project(use C)
find_package(recycle REQUIRED)
add_executable(use "$src/examples/cycle.c")
target_link_libraries(use recycle::recycle_static)
CM
cmake -S "$tmp/use" -B "$tmp/use/b" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/use/b" >/dev/null
"$tmp/use/b/use"
echo "install: pkg-config and find_package both work"
