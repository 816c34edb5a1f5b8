/*
 * util/blockids.c -- block numbers, in-heap reference counts and self
 * sizes (blockids.h).
 *
 * In-heap references: one pass over every reference of every tracked
 * object counts them per block into an array indexed by block number: 4
 * bytes per block, freed by the caller before its call returns.
 */
#include "util/blockids.h"
#include "core/mem.h"
#include "util/edges.h"

bool rc__blockids_init(rc_heap *h, rc_blockids *x, const char *call)
{
    memset(x, 0, sizeof *x);
    x->h = h;
    for (int t = 0; t < 2; t++) {
        rc_vec *v = &h->pages[t];
        x->npages[t] = v->len;
        if (!v->len) continue;
        x->pages[t] = rc__mem_alloc(rc__mem_heap(h), v->len * sizeof(rc_blockpage));
        if (!x->pages[t]) {
            rc__blockids_free(x);
            rc__fail(h, RC_ENOMEM, "%s: out of memory for the page table", call);
            return false;
        }
        for (size_t i = 0; i < v->len; i++) {
            rc_page *pg = v->items[i];
            size_t ns = rc__page_nblocks(pg);
            /* slot = off / bs for off = slot * bs < 2^16, bs <= 2^14: with
             * r = ceil(2^32 / bs) = (2^32 + e) / bs, e < bs, off * r / 2^32 =
             * slot + slot * e / 2^32 and slot * e < 2^30: the floor is slot. */
            uint32_t recip = pg->flags & RC_PAGE_LARGE ? 0 : (uint32_t)((((uint64_t)1 << 32) + pg->block_size - 1) / pg->block_size);
            x->pages[t][i] = (rc_blockpage){pg, x->nslots, (uint32_t)ns, recip};
            x->nslots += ns;
        }
    }
    return true;
}

void rc__blockids_free(rc_blockids *x)
{
    for (int t = 0; t < 2; t++) {
        rc__mem_free(rc__mem_heap(x->h), x->pages[t], x->npages[t] * sizeof(rc_blockpage));
        x->pages[t] = NULL;
    }
}

typedef struct inref_ctx {
    const rc_blockids *x;
    uint32_t *in;
} inref_ctx;

RC_INLINE void inref_visit(rc_head *child, void *ctx)
{
    inref_ctx *c = ctx;
    size_t id = rc__blockid(c->x, child);
    if (id != SIZE_MAX && c->in[id] != UINT32_MAX) c->in[id]++;
}

uint32_t *rc__inrefs(rc_heap *h, const rc_blockids *x, const char *call)
{
    uint32_t *in = rc__mem_calloc(rc__mem_heap(h), x->nslots, sizeof *in);
    if (!in) return rc__fail(h, RC_ENOMEM, "%s: out of memory for the reference counts", call);
    inref_ctx c = {x, in};
    /* untracked pages hold no references */
    RC__FOREACH_LIVE(h, 1, pg, o, { rc__foreach_ref(o, inref_visit, &c); });
    return in;
}

size_t rc__self_size(const rc_head *o)
{
    size_t n = rc__block_bytes(rc__page_of(o));
    const rc_type *t = o->type;
    if (t->rc_kind == RC_KIND_LIST) {
        const rc_list_obj *l = (const rc_list_obj *)(o + 1);
        if (l->items) n += l->cap * sizeof(rc_val);
    } else if (t->rc_kind == RC_KIND_DICT) {
        const rc_dict_obj *d = (const rc_dict_obj *)(o + 1);
        if (d->entries) n += d->cap * sizeof(rc_dict_entry);
        if (d->index) n += ((size_t)1 << d->index_bits) * sizeof(uint32_t);
    } else if (t->extra_size) {   /* a user type, or a weak reference with an extension */
        n += t->extra_size(o + 1);
    }
    return n;
}
