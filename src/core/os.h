/*
 * core/os.h -- every call the library makes to the operating system beyond
 * ISO C and the POSIX basics (files, clocks, environment): what a port to
 * another system rewrites. The implementation, src/core/os.c, is for Linux
 * (glibc; musl builds, without call stacks). docs/ARCHITECTURE.md ("The
 * operating system") lists what else is POSIX-specific.
 */
#ifndef RC_CORE_OS_H
#define RC_CORE_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- memory: the system allocator (rc_system_allocator, core/alloc.c) ---- */

/* `size` bytes of zeroed read-write memory aligned to `align` (a power of
 * two, a multiple of the system page), or NULL. Cost: up to three mmap
 * calls (over-map, then trim the ends). */
void *rc__os_map(size_t size, size_t align);
/* Gives back what rc__os_map returned (or a page-aligned part of it). */
void rc__os_unmap(void *p, size_t size);
/* The mapping at p (from rc__os_map, `old` bytes) resized to `size` bytes
 * (both > 0), moved if need be: its contents up to the smaller size are
 * kept, new bytes read as zeroes; when it grows, or when it moves, the new
 * address is aligned to `align` (as in rc__os_map). Returns the new address,
 * or NULL with the old mapping untouched. Linux: mremap, which moves page
 * tables, not bytes (onto a range reserved with the alignment when the
 * mapping has not got it); elsewhere map, copy and unmap. */
void *rc__os_remap(void *p, size_t old, size_t size, size_t align);
/* The system's page size in bytes (what mappings are rounded to). */
size_t rc__os_page_size(void);
/* The memory stays mapped but leaves the process's resident set; the next
 * touch reads zeroes. */
void rc__os_decommit(void *p, size_t size);
/* Hints, ignored where the system lacks them: back the range with huge
 * pages; fault the range in now (MADV_POPULATE_WRITE, Linux 5.14) rather
 * than one page at a time later. */
void rc__os_hugepage(void *p, size_t size);
void rc__os_populate(void *p, size_t size);
/* The range (aligned to the system page) becomes read-only (writable
 * false: a write faults, SIGSEGV) or read-write again; false when the
 * system refused (the range is not a mapping of its own). Debug builds'
 * write trap on frozen regions (gcmodule/region.c). */
bool rc__os_protect(void *p, size_t size, bool writable);

/* Whether memory is mapped at `page` (aligned to the system page): the
 * debug checks' probe before they read an address that may be no object
 * (core/object.c, collector/verify.c). One system call (msync, which says
 * ENOMEM for an unmapped range). */
bool rc__os_mapped(const void *page);

/* ---- randomness (util/hash.c's key) ---- */

/* Fills buf with n bytes from the system's secure random source; false when
 * none answered. */
bool rc__os_random(void *buf, size_t n);

/* ---- process memory (rc_process_memory, util/procmem.c) ---- */

/* This process's resident, proportional and unique set sizes and its swap,
 * in bytes, as psutil reads them (Linux: /proc/self/smaps_rollup, 4.14 and
 * later); false, with the values 0, when the system does not say. */
bool rc__os_memory(size_t *rss, size_t *pss, size_t *uss, size_t *swap);

/* ---- call stacks (leak/trace.c's allocation sites) ---- */

/* Up to `max` (at most RC_OS_MAX_FRAMES) return addresses of the calling
 * thread, innermost first, starting at the caller's own frame as the C
 * library's backtrace() called there would (this function's frame is left
 * out, at every optimisation level); returns how many (0 where the C
 * library has no backtrace). */
#define RC_OS_MAX_FRAMES 64
int rc__os_backtrace(void **frames, int max);
/* A malloc'd array of n malloc'd-with-it strings naming frames[0..n-1]
 * (one free() releases all), or NULL: the caller then prints addresses. */
char **rc__os_symbols(void *const *frames, int n);

/* ---- threads (the heap's owner, core/heap.c) ---- */

/* The calling thread as a non-zero word, unique among the live threads of
 * the process (pthread_self). O(1), no system call. */
uintptr_t rc__os_thread_self(void);
/* The calling thread's kernel id (what gdb calls LWP and `top -H` lists).
 * One system call (gettid) at a thread's first call, then a thread-local
 * read. */
unsigned long rc__os_thread_tid(void);
/* The name of the thread with kernel id `tid` in this process (as
 * pthread_setname_np set it, else the program's name) into buf (size > 0,
 * NUL-terminated); "?" when the thread has ended or the system does not
 * say. Reads /proc/self/task/<tid>/comm. */
void rc__os_thread_name(unsigned long tid, char *buf, size_t size);

#endif
