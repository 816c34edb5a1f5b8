#!/bin/sh
# install_check.sh BUILD_DIR -- install into a scratch prefix (the license
# and README in share/doc/recycle), then build a program against it both with
# pkg-config and with CMake's find_package (recycle::recycle_static and the
# alias recycle::recycle). Without pkg-config: skipped (tests/tool_missing.sh).
set -eu
build=$1
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
for f in LICENSE README.md; do
  [ -f "$tmp/prefix/share/doc/recycle/$f" ] || { echo "$f is not installed in share/doc/recycle"; exit 1; }
done
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
if command -v pkg-config >/dev/null; then
  cc "$src/examples/cycle.c" $(pkg-config --cflags --libs recycle) -o "$tmp/cycle_pc"
  LD_LIBRARY_PATH="$tmp/prefix/lib" "$tmp/cycle_pc"
else
  pcmissing=1
fi
mkdir "$tmp/use"
cat > "$tmp/use/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.20)
project(use C)
find_package(recycle REQUIRED)
add_executable(use "$src/examples/cycle.c")
target_link_libraries(use recycle::recycle_static)
add_executable(use_alias "$src/tests/subproject/main.c")
target_link_libraries(use_alias recycle::recycle)
CM
cmake -S "$tmp/use" -B "$tmp/use/b" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/use/b" >/dev/null
"$tmp/use/b/use"
"$tmp/use/b/use_alias" >/dev/null
if [ -n "${pcmissing-}" ]; then
  echo "find_package works (recycle::recycle_static, recycle::recycle)"
  exec sh "$src/tests/tool_missing.sh" "pkg-config is not installed: the recycle.pc check did not run"
fi
echo "install: pkg-config and find_package (recycle::recycle_static, recycle::recycle) work"
