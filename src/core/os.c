/*
 * os.c -- the operating system under the library (core/os.h): Linux. Memory
 * with mmap and madvise, randomness with getrandom (else /dev/urandom),
 * process memory from /proc/self/smaps_rollup, call stacks with the C
 * library's backtrace (glibc's <execinfo.h>; without it, none), threads'
 * ids with pthread_self and gettid, their names from /proc/self/task.
 */
#define _GNU_SOURCE   /* mremap */
#include "core/os.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdatomic.h>

#if defined(__has_include)
#if __has_include(<execinfo.h>)
#include <execinfo.h>
#define HAVE_BACKTRACE 1
#endif
#endif

/* ---- memory ---- */

size_t rc__os_page_size(void)
{
    /* Every thread stores the same value: relaxed order is enough, but the
     * word must be atomic (a plain one is a data race, and TSan says so). */
    static _Atomic size_t page;
    size_t p = atomic_load_explicit(&page, memory_order_relaxed);
    if (!p) {
        long n = sysconf(_SC_PAGESIZE);
        p = n > 0 ? (size_t)n : 4096;
        atomic_store_explicit(&page, p, memory_order_relaxed);
    }
    return p;
}

void *rc__os_map(size_t size, size_t align)
{
    if (align <= rc__os_page_size()) {   /* every mapping is that aligned */
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? NULL : p;
    }
    /* Over-map by `align` and trim both ends, so the result is aligned. */
    if (size > SIZE_MAX - align) return NULL;
    size_t span = size + align;
    char *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    uintptr_t a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
    size_t head = a - (uintptr_t)p, tail = span - head - size;
    if (head) munmap(p, head);
    if (tail) munmap((char *)a + size, tail);
    return (void *)a;
}

void rc__os_unmap(void *p, size_t size)
{
    munmap(p, size);
}

void *rc__os_remap(void *p, size_t old, size_t size, size_t align)
{
#ifdef MREMAP_MAYMOVE
    if (align > rc__os_page_size() && size > old) {
        /* mremap alone picks any page-aligned address: reserve an aligned
         * range and move the pages onto it (which replaces the reserve). */
        void *to = rc__os_map(size, align);
        if (!to) return NULL;
        void *n = mremap(p, old, size, MREMAP_MAYMOVE | MREMAP_FIXED, to);
        if (n != MAP_FAILED) return n;
        munmap(to, size);
        return NULL;
    }
    void *n = mremap(p, old, size, MREMAP_MAYMOVE);   /* shrinking: in place */
    return n == MAP_FAILED ? NULL : n;
#else
    void *n = rc__os_map(size, align);
    if (!n) return NULL;
    memcpy(n, p, old < size ? old : size);
    munmap(p, old);
    return n;
#endif
}

void rc__os_decommit(void *p, size_t size)
{
    madvise(p, size, MADV_DONTNEED);
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

void rc__os_hugepage(void *p, size_t size)
{
#ifdef MADV_HUGEPAGE
    madvise(p, size, MADV_HUGEPAGE);
#endif
}

bool rc__os_protect(void *p, size_t size, bool writable)
{
    return mprotect(p, size, writable ? PROT_READ | PROT_WRITE : PROT_READ) == 0;
}

void rc__os_populate(void *p, size_t size)
{
    madvise(p, size, MADV_POPULATE_WRITE);   /* a hint: older kernels say EINVAL */
}

bool rc__os_mapped(const void *page)
{
    return msync((void *)page, 4096, MS_ASYNC) == 0;
}

/* ---- randomness ---- */

bool rc__os_random(void *buf, size_t n)
{
    char *p = buf;
    while (n) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            break;
        }
        p += r;
        n -= (size_t)r;
    }
    if (!n) return true;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r <= 0) {
            if (r < 0 && errno == EINTR) continue;
            break;
        }
        p += r;
        n -= (size_t)r;
    }
    close(fd);
    return n == 0;
}

/* ---- process memory ---- */

bool rc__os_memory(size_t *rss, size_t *pss, size_t *uss, size_t *swap)
{
    *rss = *pss = *uss = *swap = 0;
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    if (!f) return false;
    char line[256];
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        char key[64];
        unsigned long long kb;
        if (sscanf(line, "%63[^:]: %llu kB", key, &kb) != 2) continue;
        size_t bytes = (size_t)kb * 1024;
        if (!strcmp(key, "Rss")) *rss = bytes, found++;
        else if (!strcmp(key, "Pss")) *pss = bytes, found++;
        else if (!strcmp(key, "Private_Clean")) *uss += bytes, found++;
        else if (!strcmp(key, "Private_Dirty")) *uss += bytes, found++;
        else if (!strcmp(key, "Swap")) *swap = bytes;
    }
    fclose(f);
    if (found < 4) {
        *rss = *pss = *uss = *swap = 0;
        return false;
    }
    return true;
}

/* ---- call stacks ---- */

int rc__os_backtrace(void **frames, int max)
{
#ifdef HAVE_BACKTRACE
    void *all[RC_OS_MAX_FRAMES + 1];
    if (max > RC_OS_MAX_FRAMES) max = RC_OS_MAX_FRAMES;
    if (max <= 0) return 0;
    int got = backtrace(all, max + 1) - 1;   /* all[0] is this function */
    if (got <= 0) return 0;
    memcpy(frames, all + 1, (size_t)got * sizeof *frames);
    return got;
#else
    (void)frames, (void)max;
    return 0;
#endif
}

char **rc__os_symbols(void *const *frames, int n)
{
#ifdef HAVE_BACKTRACE
    return backtrace_symbols(frames, n);
#else
    (void)frames, (void)n;
    return NULL;
#endif
}

/* ---- threads ---- */

uintptr_t rc__os_thread_self(void)
{
    /* An integer on glibc, a pointer on musl: either converts. */
    return (uintptr_t)pthread_self();
}

/* The id is asked once per thread and kept; a forked child's thread, which
 * has a new id but its parent thread's copy of the variable, asks again. */
static _Thread_local unsigned long my_tid;
static pthread_once_t tid_once = PTHREAD_ONCE_INIT;
static void tid_forget(void) { my_tid = 0; }
static void tid_init(void) { pthread_atfork(NULL, NULL, tid_forget); }

unsigned long rc__os_thread_tid(void)
{
    if (!my_tid) {
        pthread_once(&tid_once, tid_init);
        my_tid = (unsigned long)syscall(SYS_gettid);
    }
    return my_tid;
}

void rc__os_thread_name(unsigned long tid, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%lu/comm", tid);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(buf, (int)size, f)) {
        snprintf(buf, size, "?");
    } else {
        buf[strcspn(buf, "\n")] = 0;
    }
    if (f) fclose(f);
}
