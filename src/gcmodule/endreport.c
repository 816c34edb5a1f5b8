/*
 * endreport.c -- the leak report rc_heap_free makes of what is still alive.
 *
 * One pass counts the references objects of the heap hold to each block
 * (rc__inrefs, the count rc_get_roots uses: refcount minus it is what
 * C code holds), a second groups the live objects by type and, when the
 * heap traces allocation sites, by site. Rows of one type are chained from
 * a map keyed by the type, so the pass costs one lookup per object; rows
 * are then merged by name and site (two types may share a name) and sorted,
 * most objects first.
 */
#include "core/mem.h"
#include "util/blockids.h"
#include "util/pmap.h"

#include <stdlib.h>

/* The allocation site of an object, as recycle/leak.h declares it (defined
 * in leak/trace.c, a layer above): called only while h->trace is set. */
int rc_trace_site(const void *obj, const char **file, int *line);

typedef struct er_row {
    rc_leak_report_row r;
    const rc_type *type;
    size_t next;            /* next row of the same type, SIZE_MAX: none */
} er_row;

typedef struct er_table {
    rc_heap *h;
    er_row *rows;
    size_t len, cap;
    rc_pmap first;          /* type -> its first row (size_t) */
} er_table;

static er_row *row_for(er_table *t, const rc_type *type, const char *file, int line)
{
    size_t *first = rc__pmap_get(&t->first, type);
    size_t i = first ? *first : SIZE_MAX;
    for (size_t j = i; j != SIZE_MAX; j = t->rows[j].next)
        if (t->rows[j].r.file == file && t->rows[j].r.line == line) return &t->rows[j];
    if (!rc__mem_grow(t->h, (void **)&t->rows, &t->cap, t->len + 1, sizeof *t->rows) ||
        !(first = rc__pmap_put(&t->first, type, NULL)))
        return NULL;
    *first = t->len;
    er_row *row = &t->rows[t->len++];
    memset(row, 0, sizeof *row);
    row->type = type;
    row->r.type = type && type->name ? type->name : "?";
    row->r.file = file;
    row->r.line = line;
    row->next = i;
    return row;
}

static int strcmp0(const char *a, const char *b)
{
    if (!a || !b) return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

static int cmp_key(const void *a, const void *b)
{
    const rc_leak_report_row *x = &((const er_row *)a)->r, *y = &((const er_row *)b)->r;
    int c = strcmp(x->type, y->type);
    if (!c) c = strcmp0(x->file, y->file);
    if (!c) c = (x->line > y->line) - (x->line < y->line);
    return c;
}

static int cmp_objects(const void *a, const void *b)
{
    const rc_leak_report_row *x = &((const er_row *)a)->r, *y = &((const er_row *)b)->r;
    if (x->objects != y->objects) return x->objects > y->objects ? -1 : 1;
    return cmp_key(a, b);
}

void rc__leak_report(rc_heap *h)
{
    if (h->scanning || h->freeing) return;   /* headers are scratch: nothing to read */
    size_t objects, bytes;
    rc__count_objects(h, &objects, &bytes);
    if (!objects) return;
    int err = h->err;
    rc_blockids x;
    if (!rc__blockids_init(h, &x, "rc_heap_free")) goto out;
    uint32_t *in = rc__inrefs(h, &x, "rc_heap_free");
    er_table t = {.h = h};
    rc__pmap_init(&t.first, rc__mem_heap(h), sizeof(size_t));
    bool ok = in != NULL;
    for (int k = 0; k < 2 && ok; k++) {
        RC__FOREACH_LIVE(h, k, pg, o, {
            const char *file = NULL;
            int line = 0;
            if (!rc__hook_site(h, o, &file, &line)) file = NULL, line = 0;
            er_row *row = row_for(&t, o->type, file, line);
            if (!row) {
                ok = false;
                goto counted;
            }
            row->r.objects++;
            row->r.bytes += rc__self_size(o);
            size_t ext = rc__external_refs(o, in[rc__blockid(&x, o)]);
            if (ext) {
                row->r.held_outside++;
                row->r.external_refs += ext;
            }
        });
    }
counted:
    rc__mem_free(rc__mem_heap(h), in, x.nslots * sizeof *in);
    rc__blockids_free(&x);
    rc__pmap_free(&t.first);
    if (ok && t.len) {
        qsort(t.rows, t.len, sizeof *t.rows, cmp_key);
        size_t w = 0;
        for (size_t i = 1; i < t.len; i++) {
            if (!cmp_key(&t.rows[i], &t.rows[w])) {
                t.rows[w].r.objects += t.rows[i].r.objects;
                t.rows[w].r.bytes += t.rows[i].r.bytes;
                t.rows[w].r.held_outside += t.rows[i].r.held_outside;
                t.rows[w].r.external_refs += t.rows[i].r.external_refs;
            } else {
                t.rows[++w] = t.rows[i];
            }
        }
        t.len = w + 1;
        qsort(t.rows, t.len, sizeof *t.rows, cmp_objects);
        /* The callback sees plain rows: pack them in place. */
        rc_leak_report_row *rows = (rc_leak_report_row *)t.rows;
        for (size_t i = 0; i < t.len; i++) memmove(&rows[i], &t.rows[i].r, sizeof *rows);
        h->busy++;   /* the callback must not start a collection */
        h->leak_report(h, rows, t.len, h->leak_report_ud);
        h->busy--;
    }
    rc__mem_free(rc__mem_heap(h), t.rows, t.cap * sizeof *t.rows);
out:
    h->err = err;
}

void rc_heap_set_leak_report(rc_heap *h, rc_leak_report_fn fn, void *ud)
{
    RC__HEAP_CHECK(h, "rc_heap_set_leak_report");
    if (!h) return;
    h->leak_report = fn;
    h->leak_report_ud = ud;
}

void rc_heap_leak_report_print(rc_heap *h, const rc_leak_report_row *rows, size_t n, void *ud)
{
    FILE *out = ud ? ud : stderr;
    size_t objects = 0, bytes = 0, held = 0;
    int width = 4;
    for (size_t i = 0; i < n; i++) {
        objects += rows[i].objects;
        bytes += rows[i].bytes;
        held += rows[i].held_outside;
        int w = (int)strlen(rows[i].type);
        if (w > width) width = w;
    }
    fprintf(out, "recycle: heap %p freed with %zu object%s (%zu bytes) still alive", (void *)h, objects,
            objects == 1 ? "" : "s", bytes);
    if (held)
        fprintf(out, ", %zu held from outside the heap (a forgotten rc_decref?)", held);
    fputs(":\n", out);
    fprintf(out, "  %-*s %9s %11s %18s  %s\n", width, "type", "objects", "bytes", "held outside (refs)",
            "allocated at");
    for (size_t i = 0; i < n; i++) {
        char refs[48];
        snprintf(refs, sizeof refs, "%zu (%zu)", rows[i].held_outside, rows[i].external_refs);
        fprintf(out, "  %-*s %9zu %11zu %19s", width, rows[i].type, rows[i].objects, rows[i].bytes, refs);
        if (rows[i].file) fprintf(out, "  %s:%d", rows[i].file, rows[i].line);
        fputc('\n', out);
    }
    fflush(out);
}
