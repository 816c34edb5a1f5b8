/*
 * gcdebug.c -- debug output of collections (RC_DEBUG_* flags).
 */
#include "internal.h"

void rc__debug_start(rc_heap *h, int generation, int candidates) { (void)h; (void)generation; (void)candidates; }
void rc__debug_stop(rc_heap *h, int generation, int candidates, size_t collected,
                    size_t uncollectable, double seconds)
{
    (void)h; (void)generation; (void)candidates; (void)collected; (void)uncollectable; (void)seconds;
}
void rc__debug_object(rc_heap *h, rc_head *o, bool collectable) { (void)h; (void)o; (void)collectable; }
