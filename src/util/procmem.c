/*
 * procmem.c -- process memory from /proc/self/smaps_rollup.
 */
#include "recycle/memory.h"

#include <stdio.h>
#include <string.h>

int rc_process_memory(rc_procmem *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    if (!f) return -1;
    char line[256];
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        char key[64];
        unsigned long long kb;
        if (sscanf(line, "%63[^:]: %llu kB", key, &kb) != 2) continue;
        size_t bytes = (size_t)kb * 1024;
        if (!strcmp(key, "Rss")) out->rss = bytes, found++;
        else if (!strcmp(key, "Pss")) out->pss = bytes, found++;
        else if (!strcmp(key, "Private_Clean")) out->uss += bytes, found++;
        else if (!strcmp(key, "Private_Dirty")) out->uss += bytes, found++;
        else if (!strcmp(key, "Swap")) out->swap = bytes;
    }
    fclose(f);
    if (found < 4) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    return 0;
}

double rc_process_uss_mb(void)
{
    rc_procmem m;
    if (rc_process_memory(&m) != 0) return -1.0;
    return (double)m.uss / 1024.0 / 1024.0;
}
