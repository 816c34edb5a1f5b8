/*
 * internal.h -- what the library's files share and users never see.
 *
 * Memory layout (docs/ARCHITECTURE.md has the longer story):
 *
 *   segment   RC_SEGMENT_SIZE bytes from the allocator's map(), cut into
 *             RC_PAGE_SIZE pages. Segments are bookkept in malloc'd rc_segment
 *             records; the pages themselves describe themselves.
 *   page      RC_PAGE_SIZE bytes aligned to RC_PAGE_SIZE. An rc_page header sits
 *             at its start, then equal blocks of one size class. Blocks below
 *             `bump` have been used at least once; a free block has refcnt 0,
 *             keeps its type, and links the page's free list in its first
 *             word after the header. A "large" page
 *             holds one block of any size and is mapped on its own.
 *   object    a block: rc_head (16 bytes) then the user struct.
 *
 * So page_of(obj) is one mask, and the heap of any object is page->heap.
 */
#ifndef RC_INTERNAL_H
#define RC_INTERNAL_H

#include "recycle.h"
#include "core/hooks.h"
#include "core/os.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#define RC_SEGMENT_PAGES 64
#define RC_SEGMENT_SIZE (RC_PAGE_SIZE * RC_SEGMENT_PAGES)
#define RC_PAGE_HEADER 128           /* bytes reserved for rc_page at page start */
#define RC_SMALL_MAX 16384           /* bigger blocks get a large page of their own */
#define RC_PAGE_MAGIC 0x72637067u    /* "rcpg" */

#if defined(__GNUC__)
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define RC_INLINE static inline __attribute__((always_inline))
#define RC_NOINLINE __attribute__((noinline))
#else
#define likely(x) (x)
#define unlikely(x) (x)
#define RC_INLINE static inline
#define RC_NOINLINE
#endif

/* Debug assertions: cheap ones in debug builds, expensive behind RC_EXPENSIVE. */
#ifdef RC_DEBUG
#define rc_assert(c) ((c) ? (void)0 : rc__assert_fail(#c, __FILE__, __LINE__))
#else
#define rc_assert(c) ((void)0)
#endif
void rc__assert_fail(const char *what, const char *file, int line);
/* rc_heap_check (<recycle/gc.h>) of the collector's verifier (verify.c). */
long rc__heap_check(rc_heap *h, FILE *out);
/* Run rc__heap_check on `h` and stop the program with its report when it
 * finds a problem (`when` says where: "before a collection"). Leaves the
 * heap's last error as it was. RC_EXPENSIVE builds call it around every
 * collection (verify.c). */
void rc__heap_verify(rc_heap *h, const char *when);

/* ---- the library's own kinds of type (rc_type.rc_kind) ----
 * A built-in type carries a "sealed" kind: RC__KIND_SEAL with its number in
 * the low byte. Core tests the seal (rc__kind_sealed) and never names the
 * types themselves, which live in the layers above: rc_heap_new hands the
 * heap the table of the library's type objects (heap->sealed, indexed by
 * the low byte), and rc_new accepts a sealed kind only on the very type
 * object the table names, so a user type that copies the number is refused.
 * A user type leaves rc_kind 0; any other value is refused by rc_new. */
#define RC__KIND_SEAL 0x5ea1ed00u
enum {
    RC_KIND_USER = 0,                    /* slots or callbacks, see rc_type */
    RC_KIND_LIST = RC__KIND_SEAL | 1,
    RC_KIND_TUPLE = RC__KIND_SEAL | 2,
    RC_KIND_DICT = RC__KIND_SEAL | 3,
    RC_KIND_STR = RC__KIND_SEAL | 4,     /* holds no references */
    RC_KIND_WEAKREF = RC__KIND_SEAL | 5, /* holds its callback strongly, referent weakly */
    RC_KIND_INT = RC__KIND_SEAL | 6,     /* a boxed integer: holds no references */
};
/* Whether `kind` is one of the sealed kinds above. */
static inline bool rc__kind_sealed(uint32_t kind)
{
    return kind >= RC_KIND_LIST && kind <= RC_KIND_INT;
}
#define RC__NSEALED 7   /* entries of heap->sealed: index 0 unused, then the kinds above */

/* ---- size classes ---- */
#define RC_NCLASSES 40
extern const uint32_t rc__class_size[RC_NCLASSES];
/* Size class for a block of `bytes` (header included); only for bytes <= RC_SMALL_MAX. */
unsigned rc__size_class(size_t bytes);

/* ---- pages ---- */
enum {
    RC_PAGE_TRACKED = 1,   /* blocks are objects of traversable types */
    RC_PAGE_LARGE = 2,     /* one block, mapped on its own */
    RC_PAGE_AVAIL = 4,     /* on its class's available queue */
    RC_PAGE_YOUNG0 = 8,    /* on heap->young[0]: may hold generation-0 objects */
    RC_PAGE_YOUNG1 = 16,   /* on heap->young[1]: may hold generation-1 objects */
    RC_PAGE_FULL = 32,     /* not the current page and too full to be reused */
    RC_PAGE_WATCH = 64,    /* memory checking: every block through rc__free_block (memcheck.c) */
    RC_PAGE_MALLOC = 128,  /* malloc mode: a large page from posix_memalign, freed with free */
    RC_PAGE_BUFFER = 256,  /* blocks are small buffers (buffer.c), not objects: on no page list */
    RC_PAGE_REGION = 512,  /* a frozen region's (gcmodule/region.c): read by any thread, never written */
    RC_PAGE_LISTED = 1024, /* for a moment: gathered once by a deletion of listed garbage (garbage.c) */
};
/* The kinds of small page, each with its current pages and queues:
 * untracked objects, tracked objects (RC_PAGE_TRACKED), buffers. */
#define RC_PAGE_KINDS 3
#define RC_KIND_BUFFERS 2

typedef struct rc_segment rc_segment;
typedef struct rc_page {
    /* The first cache line: what allocation and death do not touch. */
    struct rc_page *next;     /* available-queue links */
    struct rc_page *prev;
    rc_segment *segment;      /* NULL for large pages */
    size_t map_size;          /* large pages: bytes mapped */
    uint16_t *side;           /* incremental pass: the page's side table (a block's entry is
                                 at offset * side_recip >> 32), NULL outside its snapshot */
    uint32_t young_index[2];  /* position in heap->young[g] while flagged YOUNG<g> */
    uint32_t held;            /* freed blocks waiting in the quarantine (memcheck.c) */
    uint32_t side_recip;      /* incremental pass: ceil(2^32 / block_size), 0 on large pages */
    uint32_t snap_index;      /* incremental pass: position in heap->snapshot while `side` */
    uint32_t index;           /* position in heap->pages (all pages of its kind) */
    /* The second: what every allocation and death reads or writes. Not
     * the first, which lies at the start of a 4 KiB page like any data
     * aligned to one (a type at the start of a section, a page-aligned
     * struct): on x86 a load from such data right after a store to the
     * page's free list waits as if it depended on it (4K aliasing). */
    rc_heap *heap;
    uint32_t magic;
    uint16_t flags;
    uint16_t size_class;
    uint32_t block_size;      /* bytes per block, header included */
    uint32_t capacity;        /* blocks that fit */
    uint32_t used;            /* live blocks */
    char *bump;               /* blocks at and past bump were never used */
    rc_head *free;            /* free blocks below bump */
} rc_page;
_Static_assert(sizeof(rc_page) <= RC_PAGE_HEADER, "page header too big");
_Static_assert(offsetof(rc_page, heap) == 64, "rc_page: the hot fields start the second cache line");

static inline rc_page *rc__page_of(const void *p)
{
    return (rc_page *)((uintptr_t)p & ~(uintptr_t)(RC_PAGE_SIZE - 1));
}
static inline char *rc__page_first(rc_page *pg) { return (char *)pg + RC_PAGE_HEADER; }

/* For each block `o` of page `pg` that was ever handed out (free ones have
 * refcnt 0): from the first block to the bump pointer, or a large page's
 * one block. */
#define RC__FOREACH_BLOCK(pg, o)                                                              \
    for (char *p_ = rc__page_first(pg),                                                       \
              *e_ = ((pg)->flags & RC_PAGE_LARGE) ? rc__page_first(pg) + 1 : (pg)->bump;      \
         p_ < e_; p_ += ((pg)->flags & RC_PAGE_LARGE) ? 1 : (pg)->block_size)                 \
        for (rc_head *o = (rc_head *)p_; o; o = NULL)

/* A growable array of pointers. */
typedef struct rc_vec {
    void **items;
    size_t len, cap;
} rc_vec;
/* Double the capacity (from 16); false on out-of-memory (the vector is
 * unchanged). Big vectors are mapped as big buffers are (buffer.c), small
 * ones come from the allocator's realloc; not counted in buffer_bytes. */
bool rc__vec_grow(rc_heap *h, rc_vec *v);
/* Room for at least `want` items in one step: the capacity doubles (from
 * 16) until it is enough, and the vector moves at most once. true when
 * there was room already; false on out-of-memory (the vector is unchanged). */
bool rc__vec_reserve(rc_heap *h, rc_vec *v, size_t want);
/* Fault in [p, p+size) with one call (allocator.commit) rather than one page
 * fault at a time; for buffers about to be written. */
void rc__commit(rc_heap *h, void *p, size_t size);
#define RC_COMMIT_AHEAD ((size_t)256 * 1024)
#define RC_SCRATCH_KEEP ((size_t)1 << 16)   /* entries a kept scratch vector may hold */
/* Append; false on out-of-memory (the vector is unchanged). */
static inline bool rc__vec_push(rc_heap *h, rc_vec *v, void *item)
{
    if (v->len == v->cap && !rc__vec_grow(h, v)) return false;
    v->items[v->len++] = item;
    return true;
}
void rc__vec_free(rc_heap *h, rc_vec *v);
/* Give back most of the unused room: the capacity halves while the items
 * fill at most a quarter of it (down to 16); an empty vector is freed. A
 * failed shrink leaves it as it was. */
void rc__vec_trim(rc_heap *h, rc_vec *v);
/* The heap's kept table: a buffer that rc_move and rc_copy reuse for
 * their member tables, so that moving graph after graph does not map,
 * fault in and unmap a table each time. rc__table_take hands it over as
 * *cap items of `size` bytes (NULL and 0 when there is none, or when its
 * size is no multiple of `size`: then it is freed); while taken, no purge
 * can free it.
 * rc__table_keep takes a table back (a NULL one: nothing) or frees it when
 * it is bigger than RC_TABLE_KEEP or the heap keeps one already;
 * rc__table_free frees the kept one (a purge's trim, rc_heap_free). */
#define RC_TABLE_KEEP ((size_t)2 << 20)
void *rc__table_take(rc_heap *h, size_t size, size_t *cap);
void rc__table_keep(rc_heap *h, void *p, size_t bytes);
void rc__table_free(rc_heap *h);

typedef struct rc_pageq {
    rc_page *head;
} rc_pageq;

/* One row of rc_gc_get_stats (a generation's, or the candidate scans'):
 * sums of the rc_gc_info fields of its collections. */
typedef struct rc_gen_stats {
    size_t collections, collected, uncollectable, freed, resurrected;
    double seconds;
} rc_gen_stats;

struct rc_heap {
    rc_heap_config cfg;

    /* allocation: [tracked?][class] */
    rc_page *cur[RC_PAGE_KINDS][RC_NCLASSES];
    rc_pageq avail[RC_PAGE_KINDS][RC_NCLASSES];
    rc_vec pages[2];                /* every page of objects, by tracked? (large ones too) */
    rc_segment *segments;
    size_t nsegments;
    size_t dirty_bytes;             /* free pages not yet decommitted */
    size_t peak_live;               /* rc__live_bytes at its highest since the last
                                       rc__alloc_purge (the purge while freeing and
                                       a window's purge keep it) */
    size_t dirty_low;               /* dirty_bytes at its lowest since the window began
                                       (last_purge): what no allocation needed in it */
    bool shrunk;                    /* rc__alloc_purge_soon has something new to look at:
                                       a page became free, or a large page or mapped
                                       buffer went, since it last looked */
    double last_purge;              /* monotonic seconds of the last purge, or the
                                       start of the window rc__alloc_purge_soon measures */
    size_t buffer_bytes, page_bytes;
    size_t buf_map_bytes;           /* mapped for big buffers and vectors (buffer.c) */
    bool buf_map;                   /* big buffers get mappings of their own (buffer.c) */
    bool trim_due;                  /* a purge ran while busy: rc__alloc_trim when it ends */

    /* collector */
    bool enabled;
    int busy;                       /* >0 while collecting or freeing: no collection */
    bool freeing;                   /* inside the dealloc loop */
    uint8_t hooked;                 /* RC_HOOK_* bits: the OR of wants[] (hooks.h) */
    uint8_t death_gate;             /* RC__GATE_FREEING while `freeing`, | RC_HOOK_DEATH
                                       while hooked has it: rc__dealloc's one test for
                                       both (written with them: rc__set_freeing, hooks.c) */
    bool scanning;                  /* count/mark/sweep: gc fields are scratch */
    bool deleting;                  /* garbage (INSET) is being cleared and freed: no weak
                                       reference to it may be made */
    uint8_t keep_empty_pages;       /* page walks under way (a full collection's deletion):
                                       while non-zero, emptied pages stay */
    uint32_t mark_flip;             /* MARK bit value that means "unmarked" (0 or RC__MARK) */
    rc_head *pending;               /* objects whose count hit 0, to free */
    unsigned threshold[3];
    size_t young_limit;             /* threshold[0] (half of it while a step is due): what
                                       count[0] is compared with
                                       (SIZE_MAX while disabled) */
    size_t candidate_trigger;       /* candidate_limit, or SIZE_MAX while disabled */
    size_t count[3];
    size_t gen_objects[4];          /* tracked objects per generation */
    size_t old_at_full;             /* generation-2 objects after the last full collection */
    unsigned old_backoff;           /* 1..RC_OLD_BACKOFF_MAX: the old generation waits for
                                       old_backoff quarters of growth (policy.c) */
    bool old_hint;                  /* a candidate scan ran out of its largest budget: a dead
                                       structure may be too big for scans (policy.c) */
    bool hint_vain;                 /* the last old collection old_hint made due found nothing */
    unsigned mid_backoff;           /* 1..RC_MID_BACKOFF_MAX: generation 1 is skipped by all
                                       but 1 in mid_backoff of its rounds (policy.c) */
    size_t mid_skip;                /* young collections left that promote to generation 2 */
    size_t mid_found;               /* generation-1 garbage the last collection found */
    unsigned young_boost;           /* 1 or 2: a young collection is due at threshold[0] times
                                       this; 2 while generation 1 finds garbage (policy.c) */
    bool young_to_old;              /* this young collection promotes to generation 2 */
    bool incremental;               /* automatic old-generation work in steps (default) */
    bool step_due;                  /* a pass runs: a step is due half-way to the next young
                                       collection (young_limit is halved until it runs) */
    size_t step_budget;             /* work per automatic step; 0: paced by allocation */
    struct rc_pass *pass;           /* the incremental pass under way, or NULL (incremental.c) */
    unsigned par_workers;           /* threads of a parallel full collection (1: none) */
    size_t par_min;                 /* ... from this many tracked objects on */
    struct rc_par *par;             /* its helper threads, or NULL (parallel.c) */
    rc_vec snapshot;                /* its pages; a page that goes back to the system while
                                       the pass runs leaves NULL in its place (alloc.c) */
    size_t snapshot_gone;           /* how many did */
    rc_vec young[2];                /* pages holding generation 0 / 1 objects */
    rc_vec candidates;              /* buffered old objects (NULL = removed) */
    rc_vec scratch;                 /* a young collection's members, kept between collections */
    void *kept_table;               /* rc_move's / rc_copy's member table, kept between calls */
    size_t kept_table_bytes;        /* ... its size (buffer.c: rc__table_take) */
    size_t candidates_live;
    unsigned candidate_limit;
    size_t cand_budget;             /* most members of the next candidate scan: adaptive,
                                       from candidate_limit x 8 + 4096 (0: not set yet) up to
                                       the tracked objects and at most
                                       cand_growth x that (policy.c, trial.c) */
    unsigned cand_growth;           /* the budget's cap is cand_growth x its base:
                                       RC_CAND_BUDGET_GROWTH (white-box tests lower it) */
    size_t cand_clock;              /* young objects collected since the last candidate scan:
                                       a scan is due at cand_budget / 2 while any waits */
    size_t gc_freed;                /* garbage objects freed, ever (see rc__delete_garbage) */
    rc_gen_stats gstats[3];         /* per generation collected as the oldest */
    rc_gen_stats cstats;            /* candidate scans */
    rc_gen_stats istats;            /* steps of incremental passes */
    bool stress;                    /* collect at every tracked allocation (rc_gc_set_stress) */
    bool verify_gc;                 /* RC_DEBUG builds, RC_GC_VERIFY=1: every deletion is checked
                                       against the whole heap first (rc__verify_garbage) */
    size_t stress_allocs;           /* stress mode: allocations since the last full collection */
    unsigned stress_olds;           /* stress mode: old-generation collections started */
    rc_leak_report_fn leak_report;  /* called by rc_heap_free with what is left, or NULL */
    void *leak_report_ud;

    /* the layers above, attached through the hook table (hooks.h; `hooked` is
     * above). Their own state is not here: rc_heap_new makes a larger struct
     * that starts with this one (src/gcmodule/gcmodule.h, rc_modheap). */
    uint8_t wants[RC_NSLOTS];       /* what each slot wants now */
    const rc_hooks *hooks[RC_NSLOTS];   /* each slot's table, NULL when not attached */
    /* The library's own type object of each sealed kind, by its low byte
     * (RC__NSEALED entries), set by rc_heap_new; NULL: no built-in types. */
    const rc_type *const *sealed;

    /* errors */
    int err;
    char errmsg[200];

    uint32_t magic;                 /* RC_HEAP_MAGIC; RC_HEAP_FREED once rc_heap_free ran */

    /* The thread that holds the heap (rc__os_thread_self), or 0 while
     * nobody does: written by rc_heap_new, rc_heap_acquire (acquire order)
     * and rc_heap_release (release order) only. owner_tid: the kernel id
     * of the thread that holds it or last held it, for the messages of the
     * owner check. */
    _Atomic uintptr_t owner;
    _Atomic unsigned long owner_tid;

    /* memory checking (memcheck.c): while `watch` is set, cur[][] stays NULL
     * (the current pages are in wcur[][]), so every allocation takes
     * rc__alloc_block, and pages carry RC_PAGE_WATCH, so every free takes
     * rc__free_block: the fast paths test nothing more. */
    bool watch;
    bool use_malloc;                /* every object in a page of its own from posix_memalign */
    bool valgrind;                  /* running under valgrind: client requests per object */
    rc_page *wcur[RC_PAGE_KINDS][RC_NCLASSES];
    rc_head **quarantine;           /* freed blocks waiting before reuse (FIFO ring) */
    unsigned q_head, q_len;

    /* The allocation site of a built-in's constructor call under way
     * (rc__site_enter, RC_TRACE_SITES): objects made without a site of their
     * own record it. NULL outside such a call. */
    const char *site_file;
    int site_line;

    /* Frozen regions (gcmodule/region.c). `held`: the regions this heap
     * holds (rc_heap_hold_region), nheld of them, few: searched linearly,
     * and only where a reference to another heap's object is met (a
     * store's failure path, rc_move, rc_copy, the verifier). `region`: for
     * a region's own heap, its rc_region; NULL for every other heap. */
    struct rc__held *held;
    size_t nheld, held_cap;
    void *region;
};

/* A region a heap holds: the heap its objects' pages name, and its handle. */
typedef struct rc__held {
    const rc_heap *heap;
    void *region;
} rc__held;

#define RC_HEAP_MAGIC 0x72636870u   /* "rchp" */
#define RC_HEAP_FREED 0xdeadc0deu

/* Whether the calling thread holds `h` (T1, docs/ARCHITECTURE.md). A
 * relaxed load: the owner wrote the word itself, any other thread reads
 * some other value. */
static inline bool rc__heap_owned(const rc_heap *h)
{
    return atomic_load_explicit(&h->owner, memory_order_relaxed) == rc__os_thread_self();
}
/* Stops the program with a message naming `call` (and `obj`, when not
 * NULL), the heap, the thread that holds it (or last held it) and the
 * calling thread: their kernel ids, names and pthread ids. heap.c. */
void rc__heap_not_owned(const rc_heap *h, const char *call, const void *obj);

/* The frozen region (its rc_region) whose object `c` is, when `c` is one
 * and heap h holds that region (rc_heap_hold_region); else NULL. A page
 * flag test, then a search of h's few held regions: for the paths that
 * met a reference to another heap's object, never a fast path. */
static inline void *rc__held_region_of(const rc_heap *h, const rc_head *c)
{
    const rc_page *pg = rc__page_of(c);
    if (!(pg->flags & RC_PAGE_REGION)) return NULL;
    for (size_t i = 0; i < h->nheld; i++)
        if (h->held[i].heap == pg->heap) return h->held[i].region;
    return NULL;
}

/* The frozen region (its rc_region) whose object `c` is; NULL when `c` is
 * not in one. O(1). */
static inline void *rc__region_of(const rc_head *c)
{
    const rc_page *pg = rc__page_of(c);
    return pg->flags & RC_PAGE_REGION ? pg->heap->region : NULL;
}

/* Make every page of `h` in use -- its segments' pages (objects and small
 * buffers) and its large pages, malloc mode's excepted -- read-only
 * (writable false) or read-write again: a frozen region's write trap in
 * debug builds (gcmodule/region.c). Returns the ranges the system changed.
 * O(pages). alloc.c. */
size_t rc__heap_protect(rc_heap *h, bool writable);

/* rc_heap_acquire without its refusal of a frozen region's heap: for the
 * region's last holder, which frees it (region.c). heap.c. */
int rc__heap_acquire(rc_heap *h);

/* Whether `obj` is an object of a frozen region: then records RC_EINVAL,
 * naming `call`, the object and the region, as the calling thread's error
 * (rc__fail on a region's heap does; rc_thread_error), for the calls that
 * refuse a region's object because they would write it or its heap. O(1).
 * object.c. */
bool rc__region_refused(const void *obj, const char *call);

/* Debug builds: stop with a message when `h` is not a live heap (a heap used
 * after rc_heap_free is recognised while its struct is kept, see heap.c) or
 * when the calling thread does not hold it. */
#ifdef RC_DEBUG
void rc__heap_bad(const rc_heap *h, const char *call);
#define RC__HEAP_CHECK(h, call)                                                \
    do {                                                                       \
        if (unlikely((h) && ((h)->magic != RC_HEAP_MAGIC || !rc__heap_owned(h)))) \
            rc__heap_bad((h), (call));                                         \
    } while (0)
#else
#define RC__HEAP_CHECK(h, call) ((void)0)
#endif

/* Record an error on the heap (printf-style message). Returns NULL for convenience. */
void *rc__fail(rc_heap *h, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ---- allocator (alloc.c) ---- */
/* A block of `bytes` (header included) from a page of the right kind (`refs`:
 * a page of objects that can hold references), or NULL. `young`: the block
 * will be a tracked object, so its page must be on the young[0] list. */
rc_head *rc__alloc_block(rc_heap *h, size_t bytes, bool refs, bool young);
/* Give a block back (its page may go back to the system); on pages with
 * RC_PAGE_WATCH the memory-checking hooks run first (memcheck.c). */
void rc__free_block(rc_heap *h, rc_head *b);
/* Give back `n` blocks of small object page `pg` (not watched) at once:
 * each already reads as free (refcnt and gc 0) and they are linked from
 * `head` to `tail` through their free-list words; `tail`'s link is
 * written here. The page changes state as n rc__free_block calls would
 * leave it. For the collector's frees of a page's garbage. */
void rc__free_run(rc_heap *h, rc_page *pg, rc_head *head, rc_head *tail, uint32_t n);
/* Every live block of small object page `pg` (not watched) dies at once,
 * the caller having taken them off every book but the page's: the page
 * reads as never used (bump pointer at its first block, free list
 * empty), so no block needs a write, and changes state as freeing its
 * last block would leave it. For the collector's frees of a page all
 * garbage. */
void rc__free_page_all(rc_heap *h, rc_page *pg);
/* rc__free_block without the hooks (memcheck.c's way back). */
void rc__free_block_raw(rc_heap *h, rc_head *b);
/* Whether `pg` is the current page of its class (allocation goes there). */
bool rc__page_is_current(rc_heap *h, rc_page *pg);
/* Variable buffers (buffer.c), counted in buffer_bytes: realloc(3) with the
 * buffer's exact size beside it (old_size: what p was given; 0 when p is
 * NULL). Returns the resized buffer, or NULL: out of memory or a size past
 * what can be mapped (p then stays as it was, nothing counted), or
 * new_size 0 (p freed). Buffers of RC_BUF_MAP_MIN bytes or more get a
 * mapping of their own on heaps with h->buf_map. */
void *rc__buf_realloc(rc_heap *h, void *p, size_t old_size, size_t new_size);
void rc__buf_free(rc_heap *h, void *p, size_t size);
#define RC_BUF_MAP_MIN ((size_t)RC_SMALL_MAX + 1)
/* A block of a size class >= bytes (1..RC_SMALL_MAX) from the heap's buffer
 * pages, or NULL; rc__free_buffer gives it back. */
void *rc__alloc_buffer(rc_heap *h, size_t bytes);
void rc__free_buffer(rc_heap *h, void *p);
/* Decommit free pages and unmap empty segments now; the _soon variant only
 * when enough waits (end of a free burst or a collection). */
void rc__alloc_purge(rc_heap *h);
/* Unmap the segments freed heaps left for the next ones (alloc.c: the
 * segment cache): for tests that count mappings. */
void rc__segment_cache_flush(void);
void rc__alloc_purge_soon(rc_heap *h);
#define RC_PURGE_SOON (256 * 1024)   /* bytes waiting that make a purge worth it */
/* Whether rc__alloc_purge_soon has anything to look at: the test at the
 * end of a free burst. Free pages that wait below what makes a purge worth
 * it are looked at again only when more pages become free (or a mapping
 * goes): until then nothing can change its answer, so the deaths in
 * between take their quick path. */
static inline bool rc__purge_waits(const rc_heap *h)
{
    return h->shrunk;
}
/* Bytes the heap holds from the system, free pages not counted: pages in
 * use (current ones included) and mapped buffers. */
static inline size_t rc__live_bytes(const rc_heap *h)
{
    return h->page_bytes - h->dirty_bytes + h->buf_map_bytes;
}
/* After the heap grew: remember its highest size (rc__alloc_purge_soon). */
static inline void rc__note_growth(rc_heap *h)
{
    size_t live = rc__live_bytes(h);
    if (live > h->peak_live) h->peak_live = live;
}
/* Give back the unused room of the heap's vectors (rc__vec_trim): done by
 * a purge, or when a purge ran during a collection (trim_due), by the end of
 * the collection. Not while busy. */
void rc__alloc_trim(rc_heap *h);
/* Release the pages left empty while keep_empty_pages was set. */
void rc__release_empty_pages(rc_heap *h);
/* Live objects and their bytes (headers included), summed over the pages. */
void rc__count_objects(const rc_heap *h, size_t *objects, size_t *bytes);
/* Free every page and segment (heap teardown). */
void rc__alloc_release_all(rc_heap *h);
/* Calls fn(obj, ctx) for each live object of pages[tracked]; fn must not free. */
void rc__foreach_object(rc_heap *h, bool tracked, void (*fn)(rc_head *o, void *ctx), void *ctx);

static inline bool rc__block_live(const rc_head *b) { return b->refcnt != 0; }

/* A free block keeps its refcnt at 0 and its last type (so debug builds can
 * name the type of a freed object); the free-list link is the first word
 * after the header, which is why the smallest class is 24 bytes. On a small
 * page nobody watches, its gc word is 0 too (every free writes both), which
 * a full collection's count and a young collection's gather rely on: they
 * read only the gc word (the heap check reports a free block whose is not). */
static inline rc_head *rc__free_next(const rc_head *b)
{
    rc_head *n;
    memcpy(&n, b + 1, sizeof n);
    return n;
}
static inline void rc__free_link(rc_head *b, rc_head *next) { memcpy(b + 1, &next, sizeof next); }

/* ---- allocation fast paths (the slow halves are in alloc.c) ---- */
extern uint8_t rc__small_class[1024 / 8 + 1];   /* (bytes + 7) / 8 -> class, bytes <= 1024 */

/* A block of a small page: from its free list, else past its bump pointer;
 * NULL when the page is full. */
RC_INLINE rc_head *rc__page_take(rc_page *pg)
{
    rc_head *b = pg->free;
    if (likely(b != NULL)) {
        pg->free = rc__free_next(b);
    } else if (pg->bump + pg->block_size <= (char *)pg + RC_PAGE_SIZE) {
        b = (rc_head *)pg->bump;
        pg->bump += pg->block_size;
    } else {
        return NULL;
    }
    pg->used++;
    return b;
}

/* A block of `bytes` (header included): popped from the current page of its
 * class when it can be, else rc__alloc_block (`refs`, `young`: as there). */
RC_INLINE rc_head *rc__alloc_fast(rc_heap *h, size_t bytes, bool refs, bool young)
{
    if (likely(bytes <= 1024)) {
        rc_page *pg = h->cur[refs][rc__small_class[(bytes + 7) >> 3]];
        if (likely(pg != NULL) && likely(!young || (pg->flags & RC_PAGE_YOUNG0))) {
            rc_head *b = rc__page_take(pg);
            if (likely(b != NULL)) return b;
        }
    }
    return rc__alloc_block(h, bytes, refs, young);
}

/* Push a block on its page's free list (the caller checked that no page
 * state changes). */
RC_INLINE void rc__free_push(rc_page *pg, rc_head *b)
{
    uint64_t zero = 0;
    memcpy(b, &zero, sizeof zero);   /* refcnt 0: a free block */
    rc__free_link(b, pg->free);
    pg->free = b;
    pg->used--;
}
/* Whether object page `pg` (small, not watched) is the current page of its
 * class: rc__page_is_current without the call. */
RC_INLINE bool rc__page_current(const rc_page *pg)
{
    rc_assert(!(pg->flags & (RC_PAGE_LARGE | RC_PAGE_WATCH | RC_PAGE_BUFFER)));
    return pg->heap->cur[(pg->flags & RC_PAGE_TRACKED) != 0][pg->size_class] == pg;
}
/* rc__free_push when no page state changes (the page is not large, not
 * full, not watched, and keeps another block or is the current page of
 * its class, which stays even empty); false, with nothing done,
 * otherwise. */
RC_INLINE bool rc__free_quick(rc_head *b)
{
    rc_page *pg = rc__page_of(b);
    if (likely(!(pg->flags & (RC_PAGE_LARGE | RC_PAGE_FULL | RC_PAGE_WATCH))) &&
        (likely(pg->used > 1) || rc__page_current(pg))) {
        rc__free_push(pg, b);
        return true;
    }
    return false;
}
/* rc__free_quick, also on a full page that stays full: one that keeps more
 * than three quarters of its blocks (rc__free_block_raw makes a page
 * available again at three quarters). For the collector's frees, which
 * mostly land on full pages; rc__free_quick keeps the one test. */
RC_INLINE bool rc__free_quick_full(rc_head *b)
{
    rc_page *pg = rc__page_of(b);
    uint32_t f = pg->flags & (RC_PAGE_LARGE | RC_PAGE_FULL | RC_PAGE_WATCH);
    if (f == RC_PAGE_FULL ? pg->used - 1 > pg->capacity - pg->capacity / 4 : !f && pg->used > 1) {
        rc__free_push(pg, b);
        return true;
    }
    return false;
}

/* Give a block back: rc__free_quick when it can, else rc__free_block. */
RC_INLINE void rc__free_fast(rc_heap *h, rc_head *b)
{
    if (!rc__free_quick(b)) rc__free_block(h, b);
}

/* ---- object life (object.c) ---- */
#define RC__GATE_FREEING 0x80u   /* death_gate's bit for `freeing` (no RC_HOOK_* bit) */
_Static_assert((RC__GATE_FREEING & 0xff) == RC__GATE_FREEING, "death_gate is a byte");
/* Enter or leave the dealloc loop: `freeing` and its bit of death_gate. */
static inline void rc__set_freeing(rc_heap *h, bool on)
{
    h->freeing = on;
    h->death_gate = (uint8_t)((h->death_gate & ~RC__GATE_FREEING) | (on ? RC__GATE_FREEING : 0));
}

/* Release the references `o` holds (clear, else its slots, which are set to
 * NULL), for death or cycle breaking. */
void rc__release_refs(rc_head *o);
/* Young page lists (alloc.c): add / remove a page from heap->young[g]. */
bool rc__young_add(rc_heap *h, rc_page *pg, int g);
void rc__young_remove(rc_heap *h, rc_page *pg, int g);
/* Free `o` now: its references are already released and its finalizer has
 * had its chance; takes it off the books, runs destroy, frees the block. */
void rc__free_now(rc_heap *h, rc_head *o);
/* Free `o`, whose contents now belong to a copy in another heap (rc_move):
 * it leaves the books as a death would (candidate buffer, generation
 * counts, on_death hooks) but releases no reference and runs no destroy.
 * It has no weak reference. */
void rc__free_moved(rc_heap *h, rc_head *o);
/* rc__check, then stop the program when obj is in a frozen region (debug
 * builds' write check in the library's mutators). */
void rc__check_write(const void *obj, const char *op);
/* A page goes back to the system: rc__check must probe it again. */
void rc__check_forget(const void *page);
/* Remove o from the candidate buffer if it is there. */
void rc__unbuffer(rc_heap *h, rc_head *o);
/* Take a tracked object that dies or is untracked out of the generation
 * counts: its generation's population, and the young count (tracked
 * allocations minus deallocations, as CPython counts them: whatever the
 * generation). rc_gc_track undoes it. */
static inline void rc__uncount(rc_heap *h, const rc_head *o)
{
    rc_assert(h->gen_objects[o->gc & RC__GEN_MASK] > 0);
    h->gen_objects[o->gc & RC__GEN_MASK]--;
    h->count[0] -= h->count[0] > 0;
}

/* Put an untracked object of a tracked type on the books, in generation 0
 * (rc_gc_track; a tuple given an item that can hold references): false
 * when the young page list cannot grow, nothing changed. */
static inline bool rc__retrack(rc_heap *h, rc_head *o)
{
    if (!rc__young_add(h, rc__page_of(o), 0)) return false;
    o->gc = (o->gc & ~(RC__GEN_MASK | RC__MARK)) | RC__TRACKED | h->mark_flip;
    h->gen_objects[0]++;
    h->count[0]++;
    return true;
}

/* ---- heap life (heap.c) ---- */
/* A heap of `size` bytes (at least sizeof(rc_heap): the layers above embed
 * it at the start of a larger struct), zero-filled and set up from `cfg`
 * (not NULL), nothing attached; NULL when the allocator is incomplete or
 * out of memory. */
rc_heap *rc__heap_init(const rc_heap_config *cfg, size_t size);
/* End `h`: the on_heap_end hooks, every object cleared and destroyed, the
 * on_heap_free hooks, every page released, the struct freed. Refused (false,
 * RC_EBUSY, nothing done) while the heap is busy or freeing. */
bool rc__heap_teardown(rc_heap *h);

/* ---- collector (src/collector/: trial.c, policy.c, incremental.c) ---- */
/* The old generation's and generation 1's back-offs: their most (policy.c). */
#define RC_OLD_BACKOFF_MAX 16
#define RC_MID_BACKOFF_MAX 16
/* How far a candidate scan's budget may grow past its base: 256 x (3.1 M
 * members at the default candidate_limit) holds W5p's dead trees at depth
 * 18, its stretch tree of 2^20 nodes included (at 64 x that tree was
 * rescanned in vain until a pass freed it: W5p 3.6 s became 8.5 s);
 * a scan that runs out of that budget sets old_hint, and the incremental
 * pass it makes due (pauses bounded by its step budget) frees bigger dead
 * structures. */
#define RC_CAND_BUDGET_GROWTH 256
/* The smallest budget of a candidate scan (members), and what it starts at. */
RC_INLINE size_t rc__cand_budget_base(const rc_heap *h)
{
    return (size_t)h->candidate_limit * 8 + 4096;
}
/* The young count at which a young collection is due (SIZE_MAX: never). */
static inline size_t rc__young_due(const rc_heap *h)
{
    return h->enabled && h->stress ? 0   /* every tracked allocation collects */
           : h->enabled && h->threshold[0] ? (size_t)h->threshold[0] * h->young_boost
                                           : SIZE_MAX;
}
/* Recompute young_limit after threshold[0] or step_due
 * changed: the young count at which allocation calls the collector. */
static inline void rc__young_limit_update(rc_heap *h)
{
    size_t due = rc__young_due(h);
    h->young_limit = h->step_due && due != SIZE_MAX ? due / 2 : due;
    h->candidate_trigger = h->enabled ? h->candidate_limit : SIZE_MAX;
}
/* Run the automatic collection policy (the collector slot's collect_due:
 * called from allocation). */
void rc__maybe_collect(rc_heap *h);
/* The collector's hook table (collect_due), attached by rc_heap_new. */
extern const rc_hooks rc__collector_hooks;
/* Process the candidate buffer (a collection of kind RC_GC_CANDIDATE_SCAN);
 * returns the unreachable objects it found, resurrected ones excepted
 * (0 while busy or freeing, or when no candidate is buffered). */
size_t rc__scan_candidates(rc_heap *h);
/* Collect generations 0..gen (gen <= 2; a young set that cannot be gathered
 * for lack of memory is collected as a full collection). The heap must not
 * be busy or freeing. Fills *info as the gc callbacks saw it at the end;
 * returns the unreachable objects found, resurrected ones excepted
 * (info->collected + info->uncollectable; trial.c). */
size_t rc__collect(rc_heap *h, unsigned gen, rc_gc_info *info);
/* One step of the incremental pass (incremental.c, trial.c): about `budget`
 * units of work (0: one unit), a pass started first when none runs; the
 * step that ends the search runs the verdict. A collection of kind
 * RC_GC_INCREMENT. Returns 1 when the pass ended, 0 when it goes on (or
 * could not start: out of memory, no old objects). The heap must not be
 * busy or freeing. */
int rc__collect_step(rc_heap *h, size_t budget, rc_gc_info *info);
/* Give up the pass under way, if any (nothing is freed): before a full
 * collection, when incremental collection is turned off, at the heap's end. */
void rc__pass_abandon(rc_heap *h);
/* Run work(ctx, n) on the helper threads of h's parallel collection and on
 * the calling thread (n of them in all, each call told n), and return when
 * every call returned. Returns how many helpers ran it (n - 1): 0 (nothing
 * ran) when none could be started (parallel.c). */
unsigned rc__par_run(rc_heap *h, void (*work)(void *, unsigned), void *ctx);
/* Stop and join the helper threads, free the pool (rc_heap_free, and a
 * change of the worker count). */
void rc__par_free(rc_heap *h);

/* MARK has a polarity: an object is marked when its MARK bit differs from
 * h->mark_flip. A full collection flips it at its end, so its survivors,
 * left marked, read as unmarked without being written again. New and newly
 * tracked objects take h->mark_flip. */
static inline bool rc__marked(const rc_heap *h, const rc_head *o)
{
    return ((o->gc ^ h->mark_flip) & RC__MARK) != 0;
}
static inline void rc__set_marked(const rc_heap *h, rc_head *o)
{
    o->gc = (o->gc & ~RC__MARK) | (h->mark_flip ^ RC__MARK);
}

/* Generation field helpers. */
static inline unsigned rc__gen(const rc_head *o) { return o->gc & RC__GEN_MASK; }
static inline uint32_t rc__field(const rc_head *o) { return o->gc >> RC__FIELD_SHIFT; }
static inline void rc__set_field(rc_head *o, uint32_t v)
{
    o->gc = (o->gc & ((1u << RC__FIELD_SHIFT) - 1)) | (v << RC__FIELD_SHIFT);
}
#define RC__FIELD_MAX ((1u << (32 - RC__FIELD_SHIFT)) - 1)

/* Whether a type's objects can hold references. They live on pages of that
 * kind (RC_PAGE_TRACKED, heap->pages[1]), where every walk that looks for
 * references goes: collections, the heap check, the leak tools. */
static inline bool rc__type_refs(const rc_type *t)
{
    return t->rc_kind == RC_KIND_USER ? (t->traverse != NULL || t->nslots != 0)
                                      : t->rc_kind != RC_KIND_STR && t->rc_kind != RC_KIND_INT;
}

/* Whether a type makes its objects tracked: it can hold references and did
 * not declare RC_TYPE_ACYCLIC (whose objects are born as if untracked, on
 * the same pages). */
static inline bool rc__type_tracked(const rc_type *t)
{
    return !(t->flags & RC_TYPE_ACYCLIC) && rc__type_refs(t);
}

#endif
