/*
 * weakref.c -- weak references (to come: the books that map an object to
 * the weak references that point at it).
 */
#include "internal.h"

void rc__weakref_clear_dead(rc_heap *h, rc_head *o)
{
    (void)h;
    o->gc &= ~RC__WEAKREFS;
}

void rc__heap_teardown_extras(rc_heap *h)
{
    (void)h;
}

void rc__weakrefs_handle_garbage(rc_heap *h, rc_head **garbage, size_t n)
{
    (void)h;
    for (size_t i = 0; i < n; i++) garbage[i]->gc &= ~RC__WEAKREFS;
}
