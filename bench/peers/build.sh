#!/bin/sh
# Build the C peer benchmarks (bdwgc_bench, malloc_bench) with gcc -O2.
#
#   bench/peers/build.sh [OUTDIR]      (default OUTDIR: build/peers)
#
# bdwgc_bench needs Debian's libgc-dev (apt-get install -y libgc-dev).
# CC and CFLAGS may be overridden from the environment.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-build/peers}
cc=${CC:-gcc}
cflags=${CFLAGS:--O2 -g -Wall -Wextra -std=gnu11}

mkdir -p "$out"

$cc $cflags -o "$out/malloc_bench" "$here/malloc_bench.c" -pthread
echo "built $out/malloc_bench"

if [ -f /usr/include/gc.h ] || [ -f /usr/include/gc/gc.h ]; then
    $cc $cflags -o "$out/bdwgc_bench" "$here/bdwgc_bench.c" -lgc -pthread
    echo "built $out/bdwgc_bench"
else
    echo "skipping bdwgc_bench: libgc-dev is not installed" >&2
    exit 1
fi
