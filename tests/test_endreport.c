/* test_endreport.c -- rc_heap_free reports what is still alive: per type,
 * objects, bytes, allocation site when traced, and how many were held from
 * outside the heap (forgotten rc_decrefs). A clean heap reports nothing. */
#include "harness.h"
#include "nodes.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include "recycle/leak.h"
#include "testutil.h"

NODES_IMPL

static const rc_type pair_type = {.name = "pair", .size = sizeof(node), .nslots = 2};
static const rc_type ring_type = {.name = "ring", .size = sizeof(node), .nslots = 2};

/* What the report said, copied (the rows live only during the call). */
typedef struct seen_row {
    char type[32];
    char file[64];
    int line;
    size_t objects, bytes, held, refs;
} seen_row;
static seen_row seen[16];
static size_t nseen;
static int calls;
static int collect_result;

static void record(rc_heap *h, const rc_leak_report_row *rows, size_t n, void *ud)
{
    (void)ud;
    calls++;
    nseen = 0;
    for (size_t i = 0; i < n && i < 16; i++) {
        seen_row *s = &seen[nseen++];
        snprintf(s->type, sizeof s->type, "%s", rows[i].type);
        snprintf(s->file, sizeof s->file, "%s", rows[i].file ? rows[i].file : "");
        s->line = rows[i].line;
        s->objects = rows[i].objects;
        s->bytes = rows[i].bytes;
        s->held = rows[i].held_outside;
        s->refs = rows[i].external_refs;
    }
    collect_result = (int)rc_gc_collect(h, 2);   /* refused: the heap is being freed */
}

static const seen_row *row_named(const char *type)
{
    for (size_t i = 0; i < nseen; i++)
        if (!strcmp(seen[i].type, type)) return &seen[i];
    return NULL;
}

static rc_heap *reporting_heap(void)
{
    rc_heap_config cfg;
    rc_heap_config_init(&cfg);
    cfg.leak_report = record;
    calls = 0;
    nseen = 0;
    return rc_heap_new(&cfg);
}

/* A pair the program forgot to rc_decref (holding a node of its own), and a
 * ring of three no collection freed. */
static void plant_leaks(rc_heap *h)
{
    node *p = rc_new(h, &pair_type), *n = rc_new(h, &node2_type);
    node_set(p, 0, n);
    rc_decref(n);
    node *r[3];
    for (int i = 0; i < 3; i++) r[i] = rc_new(h, &ring_type);
    for (int i = 0; i < 3; i++) node_set(r[i], 0, r[(i + 1) % 3]);
    for (int i = 0; i < 3; i++) rc_decref(r[i]);
    (void)p;   /* the forgotten rc_decref */
}

TEST(a_heap_freed_with_a_planted_leak_reports_types_counts_and_outside_holders)
{
    rc_heap *h = reporting_heap();
    plant_leaks(h);
    rc_heap_free(h);
    CHECK_EQ_INT(calls, 1);
    CHECK_EQ_INT(nseen, 3);
    const seen_row *ring = row_named("ring"), *pair = row_named("pair"), *n = row_named("node2");
    REQUIRE(ring && pair && n);
    CHECK_EQ_INT(ring->objects, 3);
    CHECK_EQ_INT(ring->held, 0);   /* garbage, not held */
    CHECK_EQ_INT(ring->bytes, 3 * (sizeof(node) + 16));
    CHECK_EQ_INT(pair->objects, 1);
    CHECK_EQ_INT(pair->held, 1);   /* the forgotten rc_decref */
    CHECK_EQ_INT(pair->refs, 1);
    CHECK_EQ_INT(n->objects, 1);
    CHECK_EQ_INT(n->held, 0);      /* only the pair holds it */
    CHECK(!strcmp(seen[0].type, "ring"));   /* most objects first */
    CHECK_EQ_INT(seen[0].file[0], 0);      /* no site: not traced */
    CHECK_EQ_INT(collect_result, 0);
}

TEST(an_object_held_twice_from_outside_counts_two_references)
{
    rc_heap *h = reporting_heap();
    node *p = rc_new(h, &pair_type);
    rc_incref(p);
    rc_heap_free(h);
    REQUIRE(nseen == 1);
    CHECK_EQ_INT(seen[0].held, 1);
    CHECK_EQ_INT(seen[0].refs, 2);
}

TEST(a_clean_heap_reports_nothing)
{
    rc_heap *h = reporting_heap();
    node *p = rc_new(h, &pair_type), *n = rc_new(h, &node2_type);
    node_set(p, 0, n);
    node_set(n, 0, p);
    rc_decref(n);
    rc_decref(p);
    rc_list *l = rc_list_new(h, 4);
    rc_str *s = rc_str_new(h, "x", 1);
    rc_list_append(l, rc_obj(s));
    rc_decref(s);
    rc_decref(l);
    rc_gc_collect(h, 2);
    rc_heap_free(h);
    CHECK_EQ_INT(calls, 0);
    h = reporting_heap();
    rc_heap_free(h);   /* never used */
    CHECK_EQ_INT(calls, 0);
}

TEST(traced_heaps_report_the_allocation_site)
{
    rc_heap *h = reporting_heap();
    REQUIRE(rc_trace_start(h, 0) == 0);
    node *a = rc_new_at(h, &pair_type, "app.c", 12);
    node *b = rc_new_at(h, &pair_type, "app.c", 12);
    node *c = rc_new_at(h, &pair_type, "lib.c", 7);
    (void)a, (void)b, (void)c;
    rc_heap_free(h);
    REQUIRE(nseen == 2);
    CHECK(!strcmp(seen[0].file, "app.c") && seen[0].line == 12 && seen[0].objects == 2);
    CHECK(!strcmp(seen[1].file, "lib.c") && seen[1].line == 7 && seen[1].objects == 1);
    CHECK_EQ_INT(seen[0].held, 2);
}

TEST(types_that_share_a_name_share_a_row)
{
    static const rc_type other_pair = {.name = "pair", .size = 8};
    rc_heap *h = reporting_heap();
    rc_new(h, &pair_type);
    rc_new(h, &other_pair);
    rc_heap_free(h);
    REQUIRE(nseen == 1);
    CHECK_EQ_INT(seen[0].objects, 2);
}

TEST(setting_no_report_turns_it_off)
{
    rc_heap *h = reporting_heap();
    rc_heap_set_leak_report(h, NULL, NULL);
    rc_new(h, &pair_type);
    rc_heap_free(h);
    CHECK_EQ_INT(calls, 0);
    rc_heap_set_leak_report(NULL, record, NULL);   /* no heap: nothing happens */
}

TEST(the_report_is_on_by_default_only_in_debug_builds)
{
    rc_heap_config cfg;
    rc_heap_config_init(&cfg);
#ifdef RC_DEBUG
    CHECK(cfg.leak_report == rc_heap_leak_report_print);
#else
    CHECK(cfg.leak_report == NULL);
#endif
    CHECK(cfg.leak_report_ud == NULL);
}

TEST(the_printed_report_is_a_table_a_user_can_act_on)
{
    rc_heap *h = rc_heap_new(NULL);
    FILE *f = tmpfile();
    rc_heap_set_leak_report(h, rc_heap_leak_report_print, f);
    plant_leaks(h);
    rc_heap_free(h);
    char *text = capture(f);
    CHECK(strstr(text, "freed with 5 objects") != NULL);
    CHECK(strstr(text, "1 held from outside the heap (a forgotten rc_decref?)") != NULL);
    CHECK(strstr(text, "held outside (refs)") != NULL);
    CHECK(strstr(text, "ring") != NULL && strstr(text, "pair") != NULL);
    if (rc_test_failed_) fprintf(stderr, "%s", text);
}

RC_TEST_MAIN
