/*
 * recycle/memory.h -- how much memory the process uses, as psutil reports it.
 */
#ifndef RECYCLE_MEMORY_H
#define RECYCLE_MEMORY_H

#include "../recycle.h"
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Process memory in bytes. uss is what the process would give back if it
 * exited now (Private_Clean + Private_Dirty), pss its proportional share, rss
 * what is resident (shared pages counted whole). */
typedef struct rc_procmem {
    size_t uss, pss, rss, swap;
} rc_procmem;

/* Fill `out` from /proc/self/smaps_rollup (Linux 4.14+), the way psutil's
 * memory_full_info() does. Returns 0, or -1 when the file cannot be read (out
 * is then zeroed). Cost: one read of a small file (the kernel walks the
 * process's mappings: some tens of microseconds). */
RC_API int rc_process_memory(rc_procmem *out);

/* USS in MB of 2^20 bytes, or -1.0 when unknown: the figure the seed article
 * prints (uss / 1024 / 1024). */
RC_API double rc_process_uss_mb(void);

#ifdef __cplusplus
}
#endif
#endif
