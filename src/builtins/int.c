/*
 * int.c -- the built-in int: a boxed integer, for the int64_t values an
 * immediate cannot hold (outside [RC_INT_MIN, RC_INT_MAX], see <recycle.h>).
 *
 * An int is an rc_int_obj (one int64_t) that holds no references: like str
 * its type has no traverse and no clear, so ints are never tracked nor
 * scanned and die by refcount alone. The form is canonical: rc_int_new boxes
 * only a value that does not fit an immediate, so an immediate and a boxed
 * int never hold the same number, and two boxed ints are equal exactly when
 * their payloads are (rc_val_eq and rc_val_hash, dict.c).
 */
#include "builtins/builtins.h"

#include <inttypes.h>

const rc_type rc_int_type = {
    .name = "int",
    .size = sizeof(rc_int_obj),
    .rc_kind = RC_KIND_INT,
};

rc_val rc_int_new(rc_heap *heap, int64_t i)
{
    if (rc_int_fits(i)) return rc_int(i);
    if (!heap) return RC_EMPTY;
    rc_int_obj *o = rc_new(heap, &rc_int_type);
    if (!o) return RC_EMPTY;   /* rc_new recorded why */
    o->value = i;
    return rc_obj(o);
}

void rc__int_out_of_range(int64_t i)
{
    fprintf(stderr,
            "recycle: rc_int: %" PRId64 " does not fit an immediate integer [%" PRId64 ", %" PRId64
            "]; use rc_int_new(heap, i), which boxes it\n",
            i, RC_INT_MIN, RC_INT_MAX);
    abort();
}
