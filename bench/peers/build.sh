#!/bin/sh
# Build the C peer benchmarks with gcc -O2:
#   malloc_bench           the C library's malloc/free
#   malloc_bench_mimalloc  the same program linked against libmimalloc (libmimalloc-dev)
#   malloc_bench_jemalloc  the same program linked against libjemalloc (libjemalloc-dev)
#   bdwgc_bench            the Boehm collector (libgc-dev)
#
#   bench/peers/build.sh [OUTDIR]      (default OUTDIR: build/peers)
#
# What cannot be built for lack of its Debian package is named on stderr, and the
# script then exits 1 after building the rest. CC and CFLAGS may be overridden from
# the environment.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-build/peers}
cc=${CC:-gcc}
cflags=${CFLAGS:--O2 -g -Wall -Wextra -std=gnu11}
missing=""

mkdir -p "$out"

$cc $cflags -o "$out/malloc_bench" "$here/malloc_bench.c" -pthread -ldl
echo "built $out/malloc_bench"

# Linked, not LD_PRELOADed: the library comes before the C library in the lookup
# order, so its malloc, realloc and free serve the whole process, as with LD_PRELOAD,
# and the binary does not depend on an environment variable. The program checks at
# start-up where its malloc comes from (EXPECT_ALLOCATOR).
for alloc in mimalloc jemalloc; do
    if [ "$($cc -print-file-name=lib$alloc.so)" != "lib$alloc.so" ]; then
        $cc $cflags -DEXPECT_ALLOCATOR="\"lib$alloc\"" -o "$out/malloc_bench_$alloc" \
            "$here/malloc_bench.c" -l$alloc -pthread -ldl
        echo "built $out/malloc_bench_$alloc"
    else
        echo "skipping malloc_bench_$alloc: lib$alloc-dev is not installed" >&2
        missing="$missing lib$alloc-dev"
    fi
done

if [ -f /usr/include/gc.h ] || [ -f /usr/include/gc/gc.h ]; then
    $cc $cflags -o "$out/bdwgc_bench" "$here/bdwgc_bench.c" -lgc -pthread
    echo "built $out/bdwgc_bench"
else
    echo "skipping bdwgc_bench: libgc-dev is not installed" >&2
    missing="$missing libgc-dev"
fi

[ -z "$missing" ] || { echo "not built for lack of:$missing" >&2; exit 1; }
