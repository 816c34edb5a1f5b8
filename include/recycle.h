/*
 * recycle.h -- Python-style memory management for C.
 *
 * Reference counting frees an object the moment its last reference goes; a
 * generational cycle collector finds groups of objects that only hold each
 * other. This is the front door: heaps, types, objects, references, tagged
 * values and the collector. Built-in containers are in <recycle/builtins.h>,
 * process memory in <recycle/memory.h>.
 *
 * Threads: a heap is used by one thread at a time, the thread that holds it
 * (rc_heap_new makes the caller that thread). Heaps share nothing, so a
 * program may run one heap per thread, per plugin or per document, hand a
 * heap from one thread to another (rc_heap_release, rc_heap_acquire), and
 * move an isolated graph of objects from one heap to another (rc_move).
 * See "Threads" below and docs/guide.md.
 *
 * Ownership words used below:
 *   new reference  -- the caller owns one reference and must rc_decref it.
 *   borrowed       -- valid only while whoever holds it keeps it; incref to keep.
 */
#ifndef RECYCLE_H
#define RECYCLE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RC_VERSION_MAJOR 0
#define RC_VERSION_MINOR 1
#define RC_VERSION_PATCH 0

/* Marks every declaration of the public headers. The library is built with
 * hidden visibility, so the shared library exports what is marked RC_API
 * and nothing else: none of src/'s internal functions, but the rc__ calls
 * declared here, which the inline functions below call.
 * tools/ci/exports.py checks that it exports exactly what these headers
 * declare. */
#if defined(__GNUC__) || defined(__clang__)
#define RC_API __attribute__((visibility("default")))
#else
#define RC_API
#endif

/* The version as one number, MAJOR * 10000 + MINOR * 100 + PATCH (0.1.0 is
 * 100), for #if tests and for comparing with rc_version_number(). */
#define RC_VERSION_NUMBER (RC_VERSION_MAJOR * 10000 + RC_VERSION_MINOR * 100 + RC_VERSION_PATCH)

/* The version of the library the program runs with -- which may not be the
 * one whose header it was compiled against, when it loads the shared
 * library: "MAJOR.MINOR.PATCH" (static storage, never NULL), and the same
 * as RC_VERSION_NUMBER counts it. A program that needs the library it
 * compiled against checks at start-up, e.g.
 *   if (rc_version_number() / 10000 != RC_VERSION_MAJOR) ... refuse ...
 * (a library with another major version is another ABI). O(1). */
RC_API const char *rc_version(void);
RC_API int rc_version_number(void);

typedef struct rc_heap rc_heap;
typedef struct rc_type rc_type;

/* ------------------------------------------------------------------------
 * Types
 * --------------------------------------------------------------------- */

/* Called by a type's traverse for each object it references (NULL allowed,
 * ignored). `obj` is the user pointer of the referenced object. */
typedef void (*rc_visit_fn)(void *obj, void *arg);

/* Given to a type's `copy` hook by rc_copy: the copy, in the destination
 * heap, of `ref` -- an object the source object refers to, one its traverse
 * reports -- as a NEW reference that the copy object then owns (its clear
 * and destroy release it). NULL for NULL; NULL for an object outside the
 * graph being copied, and rc_copy then fails with RC_EINVAL. */
typedef void *(*rc_copy_map_fn)(const void *ref, void *arg);

/*
 * What the collector needs to know about a kind of object. Define one as a
 * static const and pass it to rc_new; it must outlive every object of it.
 *
 * A type describes its references in one of two ways:
 *   - slots: `nslots` object pointers (`void *`, NULL allowed) stored one after
 *     another at byte offset `slots_offset` of the user struct. The collector
 *     then traverses and clears them itself, and the object releases them when
 *     it dies. No callback needed; this is also the fastest form.
 *   - callbacks: `traverse` reports every reference; `clear` drops them (decref
 *     and forget) so a cycle can be broken. When the object dies by refcount,
 *     `clear` releases its references. A type with traverse must have clear:
 *     rc_new refuses one without (RC_EINVAL).
 * A type with neither holds no references: it is never tracked nor scanned.
 *
 * `flags` (optional, RC_TYPE_* below, 0 by default): RC_TYPE_ACYCLIC says
 * the type's objects hold references but can never be part of a cycle.
 *
 * `extra_size` (optional) returns the bytes the object owns outside its block
 * (malloc'd buffers, say): rc_self_size and the leak tools' byte counts add
 * it, as sys.getsizeof adds what __sizeof__ reports. It must not allocate
 * or touch references.
 *
 * `finalize` (optional) runs at most once per object, before its references are
 * cleared, with the object still intact; it may store the object somewhere
 * (resurrection), in which case the object survives. `destroy` (optional)
 * releases non-heap resources (file handles, malloc'd buffers) right before the
 * memory is freed; it must not touch references.
 */
struct rc_type {
    const char *name;       /* shown by inspection and leak tools */
    size_t size;            /* bytes of the user struct (rc_new) */
    void (*traverse)(void *obj, rc_visit_fn visit, void *arg);
    void (*clear)(void *obj);
    void (*finalize)(void *obj);
    void (*destroy)(void *obj);
    uint32_t slots_offset;  /* slots form: byte offset of the first pointer */
    uint32_t nslots;        /* slots form: number of object pointers */
    uint32_t rc_kind;       /* reserved for the library's own types; leave 0 */
    uint32_t flags;         /* optional: RC_TYPE_* flags */
    size_t (*extra_size)(const void *obj);   /* optional: bytes owned outside the block */
    int (*copy)(void *dst_obj, const void *src_obj, rc_copy_map_fn map, void *arg);   /* optional: rc_copy */
};

/*
 * RC_TYPE_ACYCLIC: the type's objects hold references (slots or traverse)
 * but can never be part of a reference cycle -- say, because they only ever
 * refer to strs, boxed ints, objects of types with no references, or other
 * objects of RC_TYPE_ACYCLIC types that never refer back. Declaring it
 * saves the collector their work: such objects are never tracked
 * (rc_gc_is_tracked says 0 and rc_gc_track refuses them with RC_EINVAL),
 * never counted in the generation counts or rc_heap_stats.tracked, never
 * candidates, and never members of a collection (a full collection's page
 * walk steps over them as over objects untracked with rc_gc_untrack). The
 * leak tools still traverse them: rc_gc_get_referents, the reference index
 * and what is built on it (chains, roots, retained sizes, DOT graphs, heap
 * snapshots) and rc_heap_check see their references like any other
 * object's. rc_gc_get_referrers, like CPython's, lists only tracked holders;
 * rc_refindex lists these too.
 *
 * The contract is the program's to keep, and a lie is a leak, not a crash:
 * when such an object is in a cycle after all, the collector sees its
 * references as held from outside, so the cycle -- it and everything it
 * keeps -- is never freed, as if rc_gc_untrack had been called on it.
 * Nothing is freed early. The tools that show such a leak: rc_heap_free's
 * end report (rc_heap_set_leak_report) lists the objects left with none
 * "held from outside"; rc_domtree (<recycle/leak.h>) leaves them out of the
 * tree (reachable from no root, retained size 0); rc_growth shows them
 * growing. A flag that names no RC_TYPE_* flag makes rc_new refuse the type
 * (RC_EINVAL).
 */
#define RC_TYPE_ACYCLIC 1u
/* RC_TYPE_NOCOPY: rc_copy refuses the type's objects (RC_EINVAL, naming the
 * type): say, one holding a handle that must have one owner. */
#define RC_TYPE_NOCOPY  2u
#define RC_TYPE_FLAGS   (RC_TYPE_ACYCLIC | RC_TYPE_NOCOPY)   /* every flag defined */

/* ------------------------------------------------------------------------
 * The object header (part of the ABI: rc_incref/rc_decref are inline)
 *
 * 16 bytes placed right before the pointer the user gets:
 *   refcnt  -- the reference count (0 only on free blocks)
 *   gc      -- collector state: generation (2 bits), flags, and a 24-bit field
 *              that is a candidate-buffer index outside a collection and a
 *              reference count scratch during one. See docs/ARCHITECTURE.md.
 *   type    -- the object's rc_type
 * --------------------------------------------------------------------- */
typedef struct rc_head {
    uint32_t refcnt;
    uint32_t gc;
    const rc_type *type;
} rc_head;

#define RC__GEN_MASK    0x3u   /* generation 0, 1, 2, or 3 = permanent (frozen) */
#define RC__TRACKED     0x4u   /* the collector scans this object */
#define RC__BUFFERED    0x8u   /* in the candidate buffer; index in the high bits */
#define RC__FINALIZED   0x10u  /* finalize has run */
#define RC__WEAKREFS    0x20u  /* weak references to it exist */
#define RC__MARK        0x40u  /* collector scratch: reachable */
#define RC__INSET       0x80u  /* collector scratch: in the set being collected */
#define RC__FIELD_SHIFT 8

/* refcnt with bit 31 set: an immortal count -- an object of a frozen region
 * (rc_region_freeze), read by any number of threads; rc_incref and
 * rc_decref leave it alone. */
#define RC__IMMORTAL    0x80000000u

#define RC_HEAD(obj) ((rc_head *)(obj) - 1)

/* Out-of-line halves of rc_decref. rc__decref_freed: the count was 0
 * already; changes nothing, but reads the freed header so that valgrind
 * names the block and where it was freed. */
RC_API void rc__dealloc(rc_head *h);
RC_API void rc__buffer(rc_head *h);
RC_API void rc__decref_freed(rc_head *h);
/* Debug check of an object pointer: compile with RC_DEBUG defined and the
 * inline calls stop the program with a message naming the call, the object
 * and its type on NULL, a pointer that is not an object of any heap, or a
 * freed object (refcount underflow, use after free). */
RC_API void rc__check(const void *obj, const char *op);
/* Debug check of rc_incref: stops the program when the count would wrap. */
RC_API void rc__refcount_overflow(const void *obj);
/* rc_refcount's body (`check`: the RC_DEBUG checks). */
RC_API uint32_t rc__refcount(const void *obj, int check);
#ifdef RC_DEBUG
#define RC__CHECK(obj, op) rc__check((obj), (op))
#define RC__CHECK_INCREF(obj)                                                  \
    (RC_HEAD(obj)->refcnt == RC__IMMORTAL - 1 ? rc__refcount_overflow(obj) : (void)0)
#else
#define RC__CHECK(obj, op) ((void)0)
#define RC__CHECK_INCREF(obj) ((void)0)
#endif

/* Add a reference to `obj` (not NULL). O(1).
 * Limit: an object can hold at most 2^31 - 1 references (bit 31 of the count
 * marks an object of a frozen region). Release builds do not check: the
 * reference that reaches 2^31 makes the object immortal, never freed (a
 * leak, never a use after free). Debug builds (RC_DEBUG) stop at it. 2^31
 * references are 16 GiB of pointers to one object. An object of a frozen
 * region (rc_region_freeze) is left alone: no write. */
static inline void rc_incref(void *obj)
{
    rc_head *h;
    RC__CHECK(obj, "rc_incref");
    RC__CHECK_INCREF(obj);
    h = RC_HEAD(obj);
    if (!(h->refcnt & RC__IMMORTAL))
        h->refcnt++;
}

/* Drop a reference to `obj` (not NULL). When it was the last, the object is
 * finalized and freed at once, and so is everything it alone kept alive, with
 * no recursion on the C stack. When an old object keeps other references it
 * becomes a candidate for the cycle collector. */
static inline void rc_decref(void *obj)
{
    rc_head *h;
    RC__CHECK(obj, "rc_decref");
    h = RC_HEAD(obj);
    /* One test for the common case: more than one reference, not immortal
     * (bit 31 makes the signed count negative). */
    if ((int32_t)h->refcnt > 1) {
        h->refcnt--;
        if ((h->gc & (RC__GEN_MASK | RC__TRACKED | RC__BUFFERED | RC__INSET)) == (2u | RC__TRACKED))
            rc__buffer(h);
    } else if (h->refcnt == 1) {
        h->refcnt = 0;
        rc__dealloc(h);
    } else if (h->refcnt == 0) {
        rc__decref_freed(h);   /* one rc_decref too many (debug builds stopped above) */
    }
    /* else: a frozen region's object, no write */
}

/* As rc_incref / rc_decref, but do nothing on NULL. */
static inline void rc_xincref(void *obj) { if (obj) rc_incref(obj); }
static inline void rc_xdecref(void *obj) { if (obj) rc_decref(obj); }

/* The current reference count of `obj`: 0 for an object whose count reached
 * 0 and that waits to be freed (seen from a finalizer, destroy hook or
 * callback run while other objects are freed). Not inline: such an object's
 * header links the heap's list of objects to free, which this call looks
 * through (only while the heap has such objects: O(objects waiting)). */
static inline uint32_t rc_refcount(const void *obj)
{
#ifdef RC_DEBUG
    return rc__refcount(obj, 1);
#else
    return rc__refcount(obj, 0);
#endif
}

/* The type `obj` was created with. */
static inline const rc_type *rc_typeof(const void *obj)
{
    return RC_HEAD(obj)->type;
}

/* ------------------------------------------------------------------------
 * Tagged values
 *
 * rc_val is 64 bits: an integer, a double, none/true/false, or an object
 * reference. Every int64_t is a value. Integers within [RC_INT_MIN,
 * RC_INT_MAX] (49-bit signed) are immediate: rc_int makes one, with no heap
 * and no allocation. Integers beyond it are boxed: rc_int_new makes an
 * object of type rc_int_type (8 bytes of payload, never tracked, holds no
 * references) on a heap. The form is canonical -- a value that fits is
 * always immediate -- and rc_is_int, rc_as_int, rc_val_eq and rc_val_hash
 * treat both forms as one kind of integer. Doubles are immediate with full
 * precision (every NaN reads back as one quiet NaN); object references are
 * the object's pointer itself. Encoding:
 *   0                         RC_EMPTY: no value (e.g. a missing dict key)
 *   2, 6, 7                   none, false, true
 *   pointer (< 2^49, 8-aligned) object reference (a boxed int is one)
 *   bits(double) + 2^49       double
 *   0xFFFE... / 0xFFFF...     immediate integer
 * A value holds no reference by itself: rc_val_incref/decref manage the count
 * of the object it may refer to (a boxed int's too, so code that handles
 * values with them handles every integer).
 *
 * Past 64 bits: unlike Python's ints, an integer here is at most 64 bits.
 * The C API takes and returns int64_t, so it cannot express a wider value;
 * there is no arithmetic API, and any future one reports RC_ERANGE where a
 * result does not fit int64_t rather than wrapping.
 * --------------------------------------------------------------------- */
typedef uint64_t rc_val;

#define RC_EMPTY ((rc_val)0)
#define RC_NONE  ((rc_val)2)
#define RC_FALSE ((rc_val)6)
#define RC_TRUE  ((rc_val)7)
#define RC_INT_MAX ((int64_t)0xFFFFFFFFFFFF)   /*  2^48 - 1 */
#define RC_INT_MIN (-RC_INT_MAX - 1)           /* -2^48     */

#define RC__DOUBLE_OFFSET ((uint64_t)1 << 49)
#define RC__INT_TAG       ((uint64_t)0xFFFE000000000000)
#define RC__PTR_BITS      ((uint64_t)0x0001FFFFFFFFFFF8)

/* The type of boxed integers (rc_int_new): name "int", so the leak tools
 * count them as "int". Its objects hold an int64_t outside
 * [RC_INT_MIN, RC_INT_MAX]. */
RC_API extern const rc_type rc_int_type;

/* Debug builds' stop for rc_int out of range: prints a message naming
 * rc_int and the value, and aborts. */
RC_API void rc__int_out_of_range(int64_t i);

/* Whether `v` fits in an immediate integer. */
static inline int rc_int_fits(int64_t v)
{
    return (uint64_t)v + ((uint64_t)1 << 48) < ((uint64_t)1 << 49);
}
/* An immediate integer value. `i` must satisfy rc_int_fits: rc_int has no
 * heap, so it cannot box a larger value, and it never wraps one. Out of
 * range, debug builds (RC_DEBUG) stop with a message that names the value
 * and points to rc_int_new; release builds return RC_EMPTY, which no
 * container accepts (RC_EINVAL). For any int64_t use rc_int_new. */
static inline rc_val rc_int(int64_t i)
{
    if (rc_int_fits(i)) return RC__INT_TAG | ((uint64_t)i & 0x1FFFFFFFFFFFF);
#ifdef RC_DEBUG
    rc__int_out_of_range(i);
#endif
    return RC_EMPTY;
}
/* Any integer value: rc_int(i) when it fits, else a boxed int, a NEW
 * reference the caller releases with rc_val_decref like any object (an
 * immediate needs no release, and rc_val_decref ignores it). RC_EMPTY with
 * RC_ENOMEM on the heap when memory runs out; RC_EMPTY when heap is NULL
 * and i does not fit (an immediate needs no heap). O(1). */
RC_API rc_val rc_int_new(rc_heap *heap, int64_t i);
/* A double value. */
static inline rc_val rc_float(double d)
{
    uint64_t b;
    if (d != d) return (uint64_t)0x7FF8000000000000 + RC__DOUBLE_OFFSET;
    memcpy(&b, &d, sizeof b);
    return b + RC__DOUBLE_OFFSET;
}
/* A boolean value. */
static inline rc_val rc_bool(int b) { return b ? RC_TRUE : RC_FALSE; }
/* A value referring to `obj` (NULL gives RC_NONE). Holds no reference. */
static inline rc_val rc_obj(const void *obj) { return obj ? (rc_val)(uintptr_t)obj : RC_NONE; }

/* Whether `v` is a boxed int (rc_int_new). */
static inline int rc__is_boxed_int(rc_val v)
{
    return v != 0 && (v & ~RC__PTR_BITS) == 0 &&
           ((const rc_head *)(uintptr_t)v - 1)->type == &rc_int_type;
}

/* Whether `v` is an integer, immediate or boxed. */
static inline int rc_is_int(rc_val v)   { return v >= RC__INT_TAG || rc__is_boxed_int(v); }
static inline int rc_is_float(rc_val v) { return v >= RC__DOUBLE_OFFSET && v < RC__INT_TAG; }
static inline int rc_is_obj(rc_val v)   { return v != 0 && (v & ~RC__PTR_BITS) == 0; }
static inline int rc_is_none(rc_val v)  { return v == RC_NONE; }
static inline int rc_is_bool(rc_val v)  { return v == RC_TRUE || v == RC_FALSE; }

/* The integer `v` holds, immediate or boxed (every int64_t reads back
 * exactly); 0 when `v` is no integer. */
static inline int64_t rc_as_int(rc_val v)
{
    if (v >= RC__INT_TAG) return (int64_t)(v << 15) >> 15;
    if (rc__is_boxed_int(v)) return *(const int64_t *)(uintptr_t)v;
    return 0;
}
static inline double rc_as_float(rc_val v)
{
    uint64_t b = v - RC__DOUBLE_OFFSET;
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}
/* The object `v` refers to, or NULL when it is not an object reference. */
static inline void *rc_as_obj(rc_val v) { return rc_is_obj(v) ? (void *)(uintptr_t)v : NULL; }

static inline void rc_val_incref(rc_val v) { if (rc_is_obj(v)) rc_incref((void *)(uintptr_t)v); }
static inline void rc_val_decref(rc_val v) { if (rc_is_obj(v)) rc_decref((void *)(uintptr_t)v); }

/* Passes the object `v` refers to, if any, to `visit` (for traverse functions). */
static inline void rc_val_visit(rc_val v, rc_visit_fn visit, void *arg)
{
    if (rc_is_obj(v)) visit((void *)(uintptr_t)v, arg);
}

/* ------------------------------------------------------------------------
 * Heaps
 * --------------------------------------------------------------------- */

/*
 * Where a heap gets its memory. `map` returns `size` bytes (a multiple of
 * RC_PAGE_SIZE) aligned to RC_PAGE_SIZE and zero-filled, or NULL; `unmap`
 * returns them; `decommit` (optional) tells the system a range of mapped,
 * still-owned memory is no longer needed and may read back as zeros.
 * `commit` (optional) is told that a range is about to be written: the default
 * asks the system to fault it in at once, which costs far less than taking
 * one page fault after another. `hugepage` (optional) says a range of a big
 * heap would do well in huge pages. `realloc` is realloc(3) for the heap's
 * struct and bookkeeping, and for variable buffers (list items, dict tables)
 * on a heap given an allocator of its own; size 0 frees. The defaults use
 * mmap and the C library. With the defaults (`map` and `realloc` both the
 * library's) the heap owns its buffers: up to 16 KiB on pages of its own,
 * bigger ones in mappings of their own, all given back to the system when
 * freed; a heap with your `map` or `realloc`, and any heap in malloc mode,
 * in an ASan build or under valgrind, takes every buffer from `realloc`
 * (docs/guide.md, "Memory").
 */
typedef struct rc_allocator {
    void *(*map)(void *ud, size_t size);
    void (*unmap)(void *ud, void *p, size_t size);
    void (*decommit)(void *ud, void *p, size_t size);
    void (*commit)(void *ud, void *p, size_t size);
    void (*hugepage)(void *ud, void *p, size_t size);
    void *(*realloc)(void *ud, void *p, size_t size);
    void *ud;
} rc_allocator;

#define RC_PAGE_SIZE ((size_t)64 * 1024)

/* The system allocator used when a config names none. */
RC_API extern const rc_allocator rc_system_allocator;

/*
 * The leak report: what rc_heap_free found still alive, one row per type
 * (and per allocation site when the heap traces sites, <recycle/leak.h>),
 * most objects first. An object is "held from outside" when its refcount
 * exceeds the references objects of the heap hold to it: C code still owns
 * a reference -- usually a forgotten rc_decref. Objects left but not held
 * from outside are kept only by other leftover objects (a cycle no
 * collection has freed yet, or the belongings of a held object).
 */
typedef struct rc_leak_report_row {
    const char *type;        /* type name ("?" when it has none) */
    const char *file;        /* allocation site when traced, else NULL */
    int line;                /* its line, else 0 */
    size_t objects;          /* objects of this type (and site) left */
    size_t bytes;            /* their bytes: blocks, headers included, and owned buffers */
    size_t held_outside;     /* of them, objects held from outside the heap */
    size_t external_refs;    /* the references C code holds to those (sum of the excesses) */
} rc_leak_report_row;

/* Called by rc_heap_free, before anything is freed, with the rows of what
 * is left (`n` > 0; never called for a heap left empty). The rows and the
 * strings they point to are valid during the call only. The heap may be
 * read (rc_heap_get_stats, leak tools) but must not be changed. */
typedef void (*rc_leak_report_fn)(rc_heap *heap, const rc_leak_report_row *rows, size_t n, void *ud);

/* A ready-made report: prints the table to `ud` (a FILE *, or stderr when
 * NULL), e.g.
 *   recycle: heap 0x55d0... freed with 3 objects (96 bytes) still alive:
 *   type         objects    bytes  held from outside (refs)  allocated at
 *   pair               2       64                    1 (1)  main.c:12
 *   node               1       32                    0 (0)
 */
RC_API void rc_heap_leak_report_print(rc_heap *heap, const rc_leak_report_row *rows, size_t n, void *ud);

/* Heap settings. Fill with rc_heap_config_init, then change what you need. */
typedef struct rc_heap_config {
    rc_allocator allocator;
    unsigned threshold[3];   /* as Python's gc.set_threshold; default 2000, 10, 10 */
    int disabled;            /* start with automatic collection off */
    unsigned candidate_limit; /* old objects buffered before a candidate scan; 0 = default */
    /* Malloc mode, for debugging with ASan, LSan, valgrind or heaptrack:
     * non-zero sends every object through posix_memalign/free, so those
     * tools see each object with its own allocation and free stacks. Costs
     * about 8 KiB of memory and 64 KiB of address space per live object
     * (glibc) and about ten times the time of an allocation; the collector and the leak
     * tools work as usual. The environment variable RC_MALLOC, read by
     * rc_heap_new, overrides it for heaps on the system allocator:
     * RC_MALLOC=malloc turns it on, RC_MALLOC=pool off. See docs/debugging.md. */
    int use_malloc;
    /* Collect at every allocation of a tracked object (rc_gc_set_stress in
     * <recycle/gc.h>): 1 on, -1 off, 0 (the default) as the environment
     * variable RC_GC_STRESS says (on when it is a number above 0). */
    int gc_stress;
    /* The leak report rc_heap_free makes (NULL: none). rc_heap_config_init sets
     * rc_heap_leak_report_print (to stderr) when the library is built with
     * RC_DEBUG, NULL otherwise. Also rc_heap_set_leak_report. */
    rc_leak_report_fn leak_report;
    void *leak_report_ud;
} rc_heap_config;

/* Default settings. */
RC_API void rc_heap_config_init(rc_heap_config *cfg);

/* A new heap, or NULL when memory runs out. `cfg` may be NULL (defaults).
 * Reads the environment variable RC_MALLOC (see rc_heap_config.use_malloc). */
RC_API rc_heap *rc_heap_new(const rc_heap_config *cfg);

/* Destroy `heap` and every object in it, cycles included: finalizers are not
 * run; destroy hooks are. Every page goes back to the system. O(objects).
 * Refused (RC_EBUSY recorded, nothing done) when called from a finalizer,
 * destroy hook, weak-reference callback or gc callback of the same heap.
 * Debug builds (RC_DEBUG) stop with a message when a heap is used after it
 * was freed (recognised for the last 16 heaps freed on the system allocator).
 * When objects are left and a leak report is set (rc_heap_set_leak_report; on by
 * default in RC_DEBUG builds), it is made first. */
RC_API void rc_heap_free(rc_heap *heap);

/* The heap `obj` lives in. */
RC_API rc_heap *rc_heap_of(const void *obj);

/* Ask for a leak report when `heap` is freed: rc_heap_free calls fn(heap,
 * rows, n, ud) with what is still alive then (see rc_leak_report_fn); NULL
 * turns the report off. Replaces the config's. Cost at rc_heap_free, only
 * when something is left: O(objects + references) and 4 bytes per block
 * (counted references), plus a row per type and site; a report that cannot
 * get that memory is skipped. */
RC_API void rc_heap_set_leak_report(rc_heap *heap, rc_leak_report_fn fn, void *ud);

/* ------------------------------------------------------------------------
 * Threads
 *
 * A heap is held by one thread at a time, and only that thread may call
 * the library with the heap or any of its objects, rc_incref and
 * rc_decref included: counts are plain integers and nothing in a heap is
 * locked, which is what keeps them a few instructions. To hand a heap to
 * another thread, the holder calls rc_heap_release and passes the heap
 * through the program's own queue; the receiver calls rc_heap_acquire
 * before its first use. The library builds with RC_DEBUG check the holder
 * in every call that takes a heap or an object (and a program compiled
 * with RC_DEBUG in its rc_incref and rc_decref too), and stop with a
 * message naming both threads; release builds do not check.
 * --------------------------------------------------------------------- */

/* Give up `heap`: afterwards no thread holds it until one calls
 * rc_heap_acquire. Only the thread that holds the heap may release it, and
 * it must touch neither the heap nor its objects afterwards. A release
 * store: everything the thread wrote to the heap and its objects before
 * the call is seen by the thread that acquires it next. Returns RC_OK (0);
 * RC_EINVAL when heap is NULL; RC_EBUSY when called from a finalizer,
 * destroy hook or callback of the heap (recorded on the heap, which stays
 * held), or in a release build, by a thread that does not hold the heap
 * (nothing recorded or changed; debug builds stop instead). O(1): one
 * atomic store. */
RC_API int rc_heap_release(rc_heap *heap);

/* Make the calling thread the holder of `heap`, which no thread holds
 * (rc_heap_release gave it up). An acquire exchange, paired with the
 * release of rc_heap_release: the caller sees every write the last holder
 * made. Returns RC_OK (0), also when the caller already holds the heap;
 * RC_EBUSY when another thread holds it (nothing changes and nothing is
 * recorded: the heap is not the caller's to write to); RC_EINVAL when
 * heap is NULL, and, recorded as the thread's error (rc_thread_error),
 * when it is a frozen region's heap (rc_heap_of of a region's object): no
 * thread ever holds one. O(1): one compare-and-swap, and the kernel's id of the
 * thread, asked once per thread (for the debug builds' messages). */
RC_API int rc_heap_acquire(rc_heap *heap);

/*
 * Move `obj` and every object it reaches into heap `dst`; returns obj's new
 * address (a new reference: the caller's handle to obj, which is gone), or
 * NULL with nothing changed. The caller holds both heaps.
 *
 * The graph moved is obj and everything it reaches through references
 * (slots, list, tuple and dict items). It must be isolated: the caller's
 * one reference to obj is the only reference from outside the graph. This
 * is proved at the call, as the collector proves garbage: each object's
 * refcount must equal the references the graph holds to it (obj's: plus
 * one). Then each object is copied into a block of dst -- same type, its
 * struct byte for byte, so what it owns (malloc'd buffers, file handles)
 * goes with it -- references inside the graph are rewritten, and the old
 * objects are freed without their destroy hooks. The objects are new in
 * dst: generation 0, counted as allocations there. Pointers C code kept
 * to any object of the graph without a reference are dangling afterwards;
 * a struct that points into itself cannot be moved.
 *
 * Refused, with RC_EINVAL recorded and nothing changed: an object of the
 * graph referred to from outside it (the message names it and its holder:
 * an object of the heap, or C code -- a second reference of the caller's
 * to obj is one), obj passed without a reference of the caller's, an
 * object with weak references to it, a weak reference, a frozen object
 * (rc_gc_freeze), an object of a type with a traverse callback (only
 * slots types and the built-ins: list, tuple, dict, str, boxed int), a
 * reference to another heap, dst the heap obj is in, obj or dst NULL, obj
 * in a frozen region (its objects never leave it: rc_copy copies them;
 * the error is recorded on dst alone, nothing of the region is written).
 * RC_EBUSY from a finalizer, destroy hook or callback of either heap;
 * RC_ENOMEM when dst (or the source heap, for a table of 32 bytes per
 * object) runs out of memory, with nothing changed. RC_ERANGE past 2^32 - 2
 * objects. The error is recorded on both heaps.
 *
 * Cost: O(objects + references of the graph), no recursion (any size, in
 * constant stack); refused for an outside reference: plus one walk of the
 * source heap's objects, to name the holder. Moves no object that is not
 * in the graph; runs no finalizer, callback or collection. The table of
 * 32 bytes per object is kept by the source heap for the next move (up to
 * 2 MiB, in its buffer_bytes; the next purge, or rc_heap_free, gives it
 * back), so that moving graph after graph maps no memory.
 */
RC_API void *rc_move(rc_heap *dst, void *obj);

/*
 * Frozen regions: an isolated graph made immutable and shared by threads.
 *
 * rc_region_freeze moves obj and everything it reaches out of `heap` into
 * a new region, exactly as rc_move would (the same proof of isolation: the
 * caller's one reference to obj is the only one from outside the graph;
 * the same refusals and errors, recorded on `heap`, with nothing changed;
 * RC_ENOMEM also when the region itself cannot be made). The caller's
 * reference to obj is consumed; the caller holds the region once (a
 * program-level hold: rc_region_drop gives it up). A graph that refers
 * into another region is refused (RC_EINVAL): a region holds no region.
 * NULL on failure. O(objects + references of the graph).
 *
 * A region's objects have an immortal count: rc_incref and rc_decref write
 * nothing to them, so any number of threads may read them at once (get
 * items, look keys up, follow slots) while they hold the region, with no
 * lock and no atomic operation. No collection of any heap counts, marks or
 * frees them: cycles inside a region cost nothing. They are never written:
 * debug builds stop the program in the library's mutators (rc_list_set,
 * _append, _insert, _pop, _clear, rc_dict_set, _del, _clear) on a frozen
 * container, and make the region's pages read-only (mprotect) until its
 * last holder frees it, so any other write -- a user type's slot, a
 * count, a str's bytes -- dies at the write with SIGSEGV; a user type's
 * slots are the program's to leave alone. Every build refuses, with
 * RC_EINVAL, the calls that would write a region's object or its heap:
 * weak references and rc_finalize to it, the weak containers given it,
 * rc_gc_track / rc_gc_untrack, rc_weakref_list, the leak tools that walk
 * its heap (chains, rc_why_alive, rc_external_refs, rc_retained, the
 * pictures), rc_move and rc_region_freeze of it, rc_heap_acquire of
 * rc_heap_of(it); the error is recorded on the heap or container passed,
 * else as the thread's (rc_thread_error). The rest only read it.
 *
 * Who holds a region. A region lives while it has holders: the program
 * (rc_region_hold / rc_region_drop, for a thread that reads it) and heaps
 * (rc_heap_hold_region). An object of a heap may refer to a region's
 * objects only while its heap holds the region, and the library enforces
 * it: the containers' stores (rc_list_set, _append, _insert, rc_dict_set,
 * rc_tuple_set, rc_tuple_new, the weak containers), rc_move and rc_copy
 * refuse a reference into a region the heap does not hold (RC_EINVAL,
 * naming the object and the region); a heap gives its hold up only when
 * none of its objects still refers into the region. A user type's slots
 * are written by the program: debug builds' heap verifier (rc_heap_check,
 * RC_EXPENSIVE) reports a slot into a region its heap does not hold. C
 * code that keeps a pointer to a region's object outside any heap holds
 * the region itself (rc_region_hold).
 *
 * rc_region_hold adds a holder (O(1), one atomic add; from any thread that
 * already reaches the region through a holder). rc_region_drop removes one;
 * the last frees the region whole, running its objects' destroy hooks on
 * the dropping thread -- afterwards every pointer into it dangles. The
 * thread that passes a region to another holds it until the other has
 * taken its own hold (or passes its hold along). NULL is ignored. A region
 * already freed cannot be recognised: passing one is undefined.
 */
typedef struct rc_region rc_region;
RC_API rc_region *rc_region_freeze(rc_heap *heap, void *obj);
/* The frozen object rc_region_freeze was given (its address in the region). */
RC_API void *rc_region_root(const rc_region *region);
RC_API void rc_region_hold(rc_region *region);
RC_API void rc_region_drop(rc_region *region);
/* The holders now, the program's and the heaps' (a snapshot: other threads
 * may change it). 0 for NULL. */
RC_API size_t rc_region_holders(const rc_region *region);
/* 1 when obj is an object of a frozen region, else 0 (NULL too). O(1).
 * rc_heap_of(obj) is then the region's heap, which no thread holds:
 * rc_heap_acquire refuses it, and debug builds stop any call given it. */
RC_API int rc_in_region(const void *obj);

/* `heap` holds `region`: its objects may refer to the region's objects
 * from now on. The heap takes one hold of the region (rc_region_hold) and
 * records it in its set of held regions; holding a region it holds
 * already changes nothing (one hold per heap, however many calls). The
 * caller holds the heap and reaches the region through a hold of its own
 * or of one of its heaps. Returns RC_OK (0); RC_EINVAL when heap or
 * region is NULL (recorded on the heap when it is not NULL); RC_ENOMEM,
 * recorded, nothing changed, when the set cannot grow. O(regions the heap
 * holds): the set is meant to be small (a store into a region the heap
 * does not hold searches it, on the store's failure path only). A region
 * already freed cannot be recognised: passing one is undefined. */
RC_API int rc_heap_hold_region(rc_heap *heap, rc_region *region);

/* `heap` gives up its hold of `region` (rc_region_drop: the last hold
 * frees the region, here). Refused while an object of the heap still
 * refers to an object of the region: RC_EBUSY, recorded, nothing changed,
 * the message naming the holder, its type, how it holds (slot, item, key,
 * value) and the region's object. Unreachable garbage counts: a cycle of
 * the heap that refers into the region holds it until a collection frees
 * the cycle (run rc_gc_collect first). RC_EBUSY also during a
 * collection's scan or while objects are being freed. RC_ENOTFOUND,
 * recorded, nothing changed, when the heap does not hold the region;
 * RC_EINVAL when heap or region is NULL. Cost: one walk of the heap's
 * objects that can hold references and of their references, O(heap).
 * rc_heap_free drops every hold its heap still has, after its objects
 * are gone (their destroy hooks may read the region's objects); a region
 * whose last holder that was is freed then, on the freeing thread. */
RC_API int rc_heap_drop_region(rc_heap *heap, rc_region *region);

/* 1 when `heap` holds `region` (rc_heap_hold_region), else 0 (NULL too).
 * O(regions the heap holds). */
RC_API int rc_heap_holds_region(const rc_heap *heap, const rc_region *region);

/* A deep copy of `obj` and everything it reaches into the heap `dst`: a NEW
 * reference to the copy of obj, owned by the caller. Sharing and cycles are
 * kept (an object reached twice is copied once). The caller must hold both
 * heaps (rc_heap_acquire); obj's heap is only read: every object of it,
 * counts and collector state included, is as before the call. obj may be
 * an object of a frozen region (rc_region_freeze) that the caller holds: a
 * copy to change. Any number of threads may copy one region at once:
 * nothing of the region is written (its objects are found through an
 * index in dst's memory, 16 bytes more per object, instead of marks in
 * their headers), and errors are recorded on dst alone. The copies
 * are new objects of dst: young, tracked as new objects are, never
 * finalized yet (their finalizers run when they die), not frozen -- also
 * when their originals are frozen (rc_gc_freeze), finalized or unreachable
 * garbage the caller still holds.
 * What is copied: strs and boxed ints by value; lists, tuples and dicts
 * (entries in the same order, hashed again in dst); a user type's object
 * byte for byte with its slots mapped, or through the type's `copy` hook.
 * A weak reference (rc_weakref_new) in the graph is copied as a weak
 * reference to the copy of its referent, with the same callback and data
 * (a pointer, shared); an object weak references point to is copied, and
 * its copy has none but those copies.
 * Refused with RC_EINVAL, recorded on both heaps and naming the object and
 * its type, nothing done: a type flagged RC_TYPE_NOCOPY, one with traverse
 * or destroy and no copy hook, a weak reference whose referent the graph
 * does not reach by strong references (there would be no copy to point
 * to), a dead one, one with owned data, an extension or a weak container's
 * key, a reference to a third heap; obj NULL, dst NULL or dst the heap of
 * obj (RC_EINVAL);
 * RC_EBUSY while either heap is collecting, freeing or running a finalizer
 * or callback. Out of memory (RC_ENOMEM) or a hook's failure: NULL, and
 * nothing of the copy is left in dst. No automatic collection of dst runs
 * during the call. Costs O(objects + references) of the graph, no
 * recursion (any depth), and a table of 24 bytes per object, kept by the
 * source heap for the next copy as rc_move's is (by dst when obj is in a
 * region); the source headers are marked meanwhile (restored before it
 * returns; a region's are never marked), so a copy hook must not call the
 * library on source objects. */
RC_API void *rc_copy(rc_heap *dst, const void *obj);

/* Errors: rc_new and friends return NULL and record why. */
enum rc_error_code {
    RC_OK = 0,
    RC_ENOMEM,     /* the allocator returned NULL */
    RC_EINVAL,     /* bad argument: NULL type, size overflow, foreign object */
    RC_EBUSY,      /* request refused while a collection or free is running */
    RC_ERANGE,     /* index or integer out of range, or a fixed-size table
                    * full (rc_gc_callback_add's 16 callbacks) */
    RC_ENOTFOUND,  /* key or item missing */
    RC_EIO,        /* a file could not be created or written (full disk,
                    * unwritable directory, closed stream); the message names
                    * the file or stream and the system's reason (strerror) */
};
/* The last error recorded on `heap` (RC_OK after success is not guaranteed:
 * read it only after a call reported failure). */
RC_API int rc_heap_error(const rc_heap *heap);
/* A message for the last error, naming the call and the cause. */
RC_API const char *rc_heap_error_message(const rc_heap *heap);
/* Forget the last error. */
RC_API void rc_heap_clear_error(rc_heap *heap);
/* The calling thread's last error of a call refused on an object of a
 * frozen region (rc_region_freeze) when the call has no heap of the
 * caller's to record it on: the region's own heap is held by no thread and
 * never written, so such errors go to a record of the thread's own
 * (rc_weakref_new, rc_weakref_new_owned, rc_weakref_new_ex and
 * rc_finalize_new given a region's object record RC_EINVAL here; a call
 * that takes a heap or a container of the caller's records on that heap,
 * as always). Same rules as rc_heap_error: read it only after a call
 * reported failure. O(1); no lock (the record is the thread's). */
RC_API int rc_thread_error(void);
/* A message for the calling thread's last error ("no error" when none). */
RC_API const char *rc_thread_error_message(void);
/* Forget the calling thread's last error. */
RC_API void rc_thread_clear_error(void);

/* ------------------------------------------------------------------------
 * Objects
 * --------------------------------------------------------------------- */

/* A new object of `type` with zero-filled user memory (type->size bytes) and
 * one reference owned by the caller; NULL with rc_heap_error() == RC_ENOMEM when
 * memory runs out (the heap stays consistent), RC_EINVAL for a NULL type or a
 * type whose fields disagree: slots past `size` or at an offset that is not
 * a multiple of 8, traverse without clear, a non-zero rc_kind (checked at
 * every call: a few compares). May run an automatic collection first, and
 * with it the program's finalizers and weak-reference callbacks: so may
 * every call that makes a tracked object (a list, tuple, dict, weak
 * reference or weak container). The library's own calls hold their
 * object arguments across that collection, as if the caller had held them
 * until the call returned: code it runs may drop the caller's last
 * reference to an argument, and the call still completes (what the new
 * object keeps lives on in it; an argument it only refers to weakly dies as
 * the call returns). Queries that only read their arguments run none.
 * Aligned to 8 bytes.
 * References must stay within one heap: a slot or traverse of an object of
 * one heap that reaches an object of another is stopped by debug builds at
 * the next collection; in release builds a full collection then corrupts
 * the other heap's collector state (docs/guide.md). */
RC_API void *rc_new(rc_heap *heap, const rc_type *type);

/* As rc_new with `extra` more bytes after type->size (variable-size objects).
 * NULL with RC_EINVAL when type->size + extra is above SIZE_MAX / 2. */
RC_API void *rc_new_var(rc_heap *heap, const rc_type *type, size_t extra);

/* As rc_new / rc_new_var, recording `file` and `line` as the allocation site
 * when the heap traces allocation sites (<recycle/leak.h>); otherwise the
 * same as rc_new. Define RC_TRACE_SITES before including this header to make
 * rc_new and rc_new_var pass the caller's __FILE__ and __LINE__. */
RC_API void *rc_new_at(rc_heap *heap, const rc_type *type, const char *file, int line);
RC_API void *rc_new_var_at(rc_heap *heap, const rc_type *type, size_t extra, const char *file, int line);
#ifdef RC_TRACE_SITES
#define rc_new(heap, type) rc_new_at((heap), (type), __FILE__, __LINE__)
#define rc_new_var(heap, type, extra) rc_new_var_at((heap), (type), (extra), __FILE__, __LINE__)
#endif

/* The built-ins' constructors (rc_int_new, rc_list_new, rc_str_new, ...)
 * take no site; under RC_TRACE_SITES with GCC or Clang each is a macro that
 * wraps its call in rc__site_enter / rc__site_leave, so that every object
 * the call makes records the caller's __FILE__ and __LINE__ (RC__SITED, for
 * the headers' own use: a GNU statement expression that evaluates `heap`
 * once). Other compilers: the constructors record the unknown site. */
RC_API void rc__site_enter(rc_heap *heap, const char *file, int line);
RC_API void rc__site_leave(rc_heap *heap);
#if defined(RC_TRACE_SITES) && (defined(__GNUC__) || defined(__clang__))
#define RC__SITED(fn, heap, ...)                                               \
    __extension__({                                                            \
        rc_heap *const rc__sited_heap = (heap);                                \
        rc__site_enter(rc__sited_heap, __FILE__, __LINE__);                    \
        __typeof__((fn)(rc__sited_heap, ##__VA_ARGS__)) rc__sited_r =          \
            (fn)(rc__sited_heap, ##__VA_ARGS__);                               \
        rc__site_leave(rc__sited_heap);                                        \
        rc__sited_r;                                                           \
    })
#define rc_int_new(heap, i) RC__SITED(rc_int_new, heap, i)
#endif

/* Usable bytes of user memory of `obj` (at least what was asked for). */
RC_API size_t rc_usable_size(const void *obj);

/* ------------------------------------------------------------------------
 * The collector (Python's gc module; more in <recycle/gc.h>)
 * --------------------------------------------------------------------- */

/* Python's gc.collect(generation): collect generations 0..`generation`
 * (0, 1 or 2; 2 = everything) and return how many objects the collection
 * found unreachable -- collected plus uncollectable, resurrected objects
 * excepted, as CPython counts it. How many of them were actually freed is
 * rc_gc_info.freed and rc_gc_stats.freed; docs/gc-module.md lists when the
 * two differ (RC_GC_DEBUG_SAVEALL, out of memory, a clear() or callback that
 * keeps garbage). A collection of generation 0 or 1 first scans the candidate
 * buffer (old objects whose count dropped without reaching zero): callbacks
 * see that scan as its own collection (RC_GC_CANDIDATE_SCAN), and what it
 * found counts in the result. Any other generation: 0 with RC_EINVAL. From a
 * finalizer, a destroy hook, a weak-reference callback or a gc callback
 * (while a collection or a free is running): 0 with RC_EBUSY, nothing
 * collected. Cost: proportional to the objects in the collected generations
 * (a candidate scan: to what the candidates reach, within a budget). */
RC_API size_t rc_gc_collect(rc_heap *heap, int generation);

/* Most threads a parallel full collection may use (rc_gc_set_parallel in
 * <recycle/gc.h>). */
#define RC_PARALLEL_MAX 64
/* The tracked objects from which a full collection goes parallel unless
 * rc_gc_set_parallel_min says otherwise. */
#define RC_PARALLEL_MIN_DEFAULT 262144

/* Turn automatic collection on / off; whether it is on. */
RC_API void rc_gc_enable(rc_heap *heap);
RC_API void rc_gc_disable(rc_heap *heap);
RC_API int rc_gc_is_enabled(const rc_heap *heap);

/* Python's gc.set_threshold / get_threshold. threshold[0] is the number of
 * tracked allocations minus deallocations that triggers a young collection;
 * threshold[1] and [2] count collections of the younger generation. A full
 * collection also waits until the old generation has grown by a quarter
 * since the last one, so a program that only accumulates pays amortised
 * linear time. Unlike Python, a young collection waits for twice
 * threshold[0] while the automatic collections of generation 1 find an
 * eighth or more of it dead (young survivors that die soon after their promotion: fewer are
 * promoted), and for threshold[0] again once one finds less. Setting the
 * thresholds resets that. */
RC_API void rc_gc_set_threshold(rc_heap *heap, unsigned t0, unsigned t1, unsigned t2);
RC_API void rc_gc_get_threshold(const rc_heap *heap, unsigned out[3]);
/* Python's gc.get_count: the counters compared with the thresholds.
 * count[0]: tracked allocations minus deallocations since the last
 * collection; count[1], count[2]: collections of generation 0, 1 since the
 * last collection of generation 1, 2. As in CPython, a collection of
 * generation g resets count[0..g] and adds one to count[g + 1]: a young
 * collection gives (0, c1 + 1, c2), a generation-1 one (0, 0, c2 + 1), a full
 * one (0, 0, 0). A candidate scan is no generation's collection and changes
 * no counter (the objects it frees are deallocations, which lower count[0]
 * as any other). O(1). */
RC_API void rc_gc_get_count(const rc_heap *heap, size_t out[3]);

/* Counters of a heap. */
typedef struct rc_heap_stats {
    size_t objects;          /* live objects */
    size_t tracked;          /* live objects the collector scans */
    size_t gen_objects[4];   /* tracked objects per generation (3 = frozen) */
    size_t object_bytes;     /* bytes in live blocks, headers included */
    size_t buffer_bytes;     /* bytes of variable buffers (list items, ...) */
    size_t page_bytes;       /* bytes of pages held from the system */
    size_t collections[3];   /* collections run, per oldest generation */
    size_t collected[3];     /* unreachable objects freed, per generation (candidate scans not included) */
    size_t candidate_scans;  /* scans started from buffered candidates */
    size_t buffer_map_bytes; /* bytes mapped for the heap's big buffers (list items,
                                dict tables, the collector's big vectors: over 16 KiB,
                                each in whole system pages); 0 on a heap whose buffers
                                all come from realloc (docs/guide.md, "Memory"). Smaller
                                buffers are on pages counted in page_bytes */
} rc_heap_stats;
/* Fill `out` with the heap's counters. Cost: O(pages) (objects and bytes
 * are summed from the pages, so allocation does not have to count them). */
RC_API void rc_heap_get_stats(const rc_heap *heap, rc_heap_stats *out);

/* Give every free page of the heap back to the system now, with the unused
 * room of its own vectors. The heap does this by itself when a release
 * leaves at most a quarter of it in use; pages freed otherwise wait while
 * allocations may take them again, and go at the end of a 100 ms window in
 * which none needed them, looked at when the heap next frees a page or
 * collects (docs/guide.md, "Memory"). A program that dropped part of its
 * data and then stops using the heap for a while calls this to lower its
 * USS at once. Returns RC_OK; RC_EINVAL for a NULL heap, and, recorded as
 * the thread's error (rc_thread_error), for a frozen region's heap
 * (rc_heap_of of a region's object: no thread holds it, nothing of it is
 * written; debug builds stop instead, as for any call given that heap);
 * RC_EBUSY (recorded on the heap, nothing done) when called from one of
 * the heap's finalizers, callbacks or destroy hooks; RC_EBUSY, in a
 * release build, for a heap another thread holds (nothing recorded or
 * done: the heap is not the caller's to write to; debug builds stop
 * instead, as rc_heap_release). O(segments). */
RC_API int rc_heap_trim(rc_heap *heap);

/* ---- what a collection reports ---- */

/* The phases a gc callback (<recycle/gc.h>) is called in. */
enum rc_gc_phase { RC_GC_START = 0, RC_GC_STOP = 1 };

/* The kinds of collection (rc_gc_info.kind, and the rows of rc_gc_stats). */
enum rc_gc_kind {
    RC_GC_GENERATIONS = 0,    /* generations 0..rc_gc_info.generation */
    RC_GC_CANDIDATE_SCAN = 1, /* what the buffered candidates reach (old objects whose
                                 count dropped without reaching zero); no generation */
    RC_GC_INCREMENT = 2       /* one step of an incremental pass over the old generation
                                 (generation 2); the step that ends a pass frees its
                                 garbage (rc_gc_step in <recycle/gc.h>) */
};

/* What a collection reports to gc callbacks and debug output. On START only
 * `kind` and `generation` are meaningful. Every unreachable object found is
 * counted once: in `collected`, `uncollectable` or `resurrected`. */
typedef struct rc_gc_info {
    int kind;              /* enum rc_gc_kind */
    int generation;        /* RC_GC_GENERATIONS: the oldest generation collected (0, 1 or 2);
                              RC_GC_CANDIDATE_SCAN: -1; RC_GC_INCREMENT: 2 */
    size_t collected;      /* unreachable objects the collection disposed of: freed, or saved
                              in the garbage list by RC_GC_DEBUG_SAVEALL (as CPython counts) */
    size_t uncollectable;  /* unreachable objects left alive for another reason: out of memory
                              for a list, or a reference to them taken during their clearing */
    size_t freed;          /* unreachable objects freed (collected minus saved) */
    size_t resurrected;    /* unreachable objects a finalizer or weak-reference callback made
                              reachable again (CPython counts them as neither) */
    size_t examined;       /* objects in the collected set; RC_GC_INCREMENT: the step's
                              work (objects looked at plus references followed), plus the
                              verdict's set in the step that ends a pass */
    double duration;       /* seconds, START to STOP */
    size_t helper_marked;  /* a parallel full collection (rc_gc_set_parallel): objects its
                              helper threads marked reachable (the calling thread marked the
                              rest); 0 when it ran on one thread */
} rc_gc_info;

#ifdef __cplusplus
}
#endif
#endif /* RECYCLE_H */
