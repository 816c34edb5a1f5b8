/* recycle -- the command: demos and benchmarks. */
#include "recycle.h"
#include <stdio.h>

int main(int argc, char **argv)
{
    (void)argc; (void)argv;
    printf("recycle %d.%d.%d\n", RC_VERSION_MAJOR, RC_VERSION_MINOR, RC_VERSION_PATCH);
    return 0;
}
