/*
 * memcheck.h -- what lets ASan, valgrind and the debug checks see each
 * object (memcheck.c has the story). Private.
 *
 * A free block keeps its first 4 bytes (refcnt, always 0) readable, so page
 * walkers can skip it; the rest of it, the never-used tail of a page past
 * `bump`, and a block's slack past the object's size are poisoned (ASan) or
 * not accessible (valgrind). Code of the library that must read a free block
 * further (the free-list link, a freed object's type) opens the bytes it
 * reads with rc__mem_open and closes them again.
 */
#ifndef RC_MEMCHECK_H
#define RC_MEMCHECK_H

#include "core/internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define RC__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RC__ASAN 1
#endif
#endif
#ifndef RC__ASAN
#define RC__ASAN 0
#endif

#if RC__ASAN
#include <sanitizer/asan_interface.h>
#define RC__POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define RC__UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define RC__POISON(p, n) ((void)(p), (void)(n))
#define RC__UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#ifdef RC_HAVE_VALGRIND
#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>
#define RC__VG_NOACCESS(p, n) VALGRIND_MAKE_MEM_NOACCESS((p), (n))
#define RC__VG_DEFINED(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))
#else
#define RC__VG_NOACCESS(p, n) ((void)(p), (void)(n))
#define RC__VG_DEFINED(p, n) ((void)(p), (void)(n))
#endif

/* Bytes of a free block that stay readable: its refcnt. */
#define RC_FREE_OPEN 4

/* Make [p, p+n) unreadable / readable (and defined) to the tools. No-ops in
 * builds without ASan or the valgrind header; outside valgrind the requests
 * are a few instructions. Only called on slow paths of watched heaps. */
static inline void rc__mem_close(const void *p, size_t n)
{
    RC__POISON(p, n);
    RC__VG_NOACCESS(p, n);
}
static inline void rc__mem_open(const void *p, size_t n)
{
    RC__UNPOISON(p, n);
    RC__VG_DEFINED(p, n);
}
/* Memory about to go back to the system: ASan forgets its poison (the
 * addresses may come back as someone else's mapping). */
static inline void rc__mem_unmapping(const void *p, size_t n) { RC__UNPOISON(p, n); }

/* Set the heap's checking mode at creation (rc_heap_new): malloc mode from
 * cfg->use_malloc or RC_MALLOC, valgrind from RUNNING_ON_VALGRIND, and
 * ASan / RC_DEBUG builds always watch. Returns false when the mode cannot
 * start (out of memory). */
bool rc__watch_init(rc_heap *h, const rc_heap_config *cfg);
/* A block handed out by rc__alloc_block on a watched heap: `bytes` of it
 * (header included) become the object. */
void rc__watch_alloc(rc_heap *h, rc_head *b, size_t bytes);
/* A block given back on a watched page: fill, poison, quarantine. */
void rc__watch_free(rc_heap *h, rc_head *b);
/* A fresh small page of a watched heap: its blocks are all poisoned. */
void rc__watch_page(rc_heap *h, rc_page *pg);
/* Heap teardown, before the pages go: forget the quarantine, tell valgrind
 * the live objects are freed. */
void rc__watch_teardown(rc_heap *h);
/* The type of a freed object `o` (rc__check's message), read past the poison. */
const rc_type *rc__peek_type(const rc_head *o);

#endif
