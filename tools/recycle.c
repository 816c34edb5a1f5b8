/* recycle -- the command: demos and benchmarks. */
#include "recycle.h"
#include "workloads.h"
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "bench")) return rc_bench_main(argc - 2, argv + 2);
    printf("recycle %d.%d.%d\n", RC_VERSION_MAJOR, RC_VERSION_MINOR, RC_VERSION_PATCH);
    return 0;
}
