/*
 * procmem.c -- process memory (recycle/memory.h), as the system reports it
 * (core/os.c: /proc/self/smaps_rollup on Linux).
 */
#include "recycle/memory.h"
#include "core/os.h"

#include <string.h>

int rc_process_memory(rc_procmem *out)
{
    memset(out, 0, sizeof *out);
    return rc__os_memory(&out->rss, &out->pss, &out->uss, &out->swap) ? 0 : -1;
}

double rc_process_uss_mb(void)
{
    rc_procmem m;
    if (rc_process_memory(&m) != 0) return -1.0;
    return (double)m.uss / 1024.0 / 1024.0;
}
