/* test_region_trap.c -- debug builds (RC_DEBUG) trap writes into a frozen
 * region: rc_region_freeze makes the region's pages read-only, so a C
 * program that writes into a frozen object dies at the write (SIGSEGV),
 * and the region's last holder makes them writable again before it frees
 * them. Each write runs in a child. Without RC_DEBUG the whole file
 * reports "skipped" (77): release builds map no page read-only. */
#include "harness.h"
#include "recycle.h"
#include "recycle/builtins.h"
#include "testutil.h"

#include <signal.h>
#include <stdint.h>

#ifndef RC_DEBUG
int main(void)
{
    printf("skipped: the library is built without RC_DEBUG (only debug builds make a frozen "
           "region's pages read-only)\n");
    return 77;
}
#else

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

typedef struct node { void *a, *b; int64_t n; } node;
static int destroyed;
static void count_destroy(void *obj) { (void)obj; destroyed++; }
static const rc_type node_type = {.name = "node", .size = sizeof(node), .nslots = 2,
                                  .destroy = count_destroy};

static rc_heap *heap;
static rc_region *region;

/* A list [str, node] whose node points back at the list (a cycle). */
static rc_region *freeze_graph(rc_heap *h)
{
    rc_list *l = rc_list_new(h, 0);
    rc_str *s = rc_str_new(h, "frozen", 6);
    node *x = rc_new(h, &node_type);
    x->b = l;
    rc_incref(l);
    x->n = 7;
    rc_list_append(l, rc_obj(s));
    rc_list_append(l, rc_obj(x));
    rc_decref(s);
    rc_decref(x);
    return rc_region_freeze(h, l);
}

static node *frozen_node(void)
{
    return rc_as_obj(rc_list_get(rc_region_root(region), 1));
}

/* The child dies at the write: SIGSEGV (ASan's handler, which keeps the
 * signal for itself, reports it as a SEGV on a WRITE and exits instead). */
static void die_by_default(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGSEGV, &sa, NULL);
}

static void write_a_slot(void)
{
    die_by_default();
    frozen_node()->n = 8;
    fprintf(stderr, "the write went through\n");
}

static void write_a_count(void)
{
    die_by_default();
    RC_HEAD(rc_region_root(region))->refcnt = 1;
    fprintf(stderr, "the write went through\n");
}

static void write_a_str(void)
{
    die_by_default();
    rc_str *s = rc_as_obj(rc_list_get(rc_region_root(region), 0));
    ((char *)rc_str_data(s))[0] = 'F';
    fprintf(stderr, "the write went through\n");
}

static int dies_at_the_write(void (*fn)(void))
{
    char buf[4096];
    int status = child_stderr(fn, buf, sizeof buf);
    int ok = status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
    if (!ok && UNDER_ASAN)
        ok = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) != 0 &&
             strstr(buf, "SEGV") && strstr(buf, "WRITE");
    if (!ok) fprintf(stderr, "  child status %d, said: %s\n", status, buf);
    return ok;
}

TEST(a_write_into_a_frozen_object_dies_at_the_write)
{
    heap = rc_heap_new(NULL);
    region = freeze_graph(heap);
    REQUIRE(region);
    CHECK(dies_at_the_write(write_a_slot));
    CHECK(dies_at_the_write(write_a_count));
    CHECK(dies_at_the_write(write_a_str));
    /* Reads and counts go on as ever. */
    node *x = frozen_node();
    rc_incref(x);
    CHECK_EQ_INT(x->n, 7);
    rc_decref(x);
    CHECK(x->b == rc_region_root(region));
    rc_region_drop(region);
    CHECK_EQ_INT(destroyed, 1);
    rc_heap_free(heap);
}

/* The last holder makes the pages writable before it frees them: the
 * destroy hooks ran above; the segments the region gave back (to the
 * cache or the system) serve the next heaps, which write them. */
TEST(the_last_holder_frees_the_region_and_its_pages_serve_again)
{
    destroyed = 0;
    for (int round = 0; round < 20; round++) {
        rc_heap *h = rc_heap_new(NULL);
        rc_region *r = freeze_graph(h);
        REQUIRE(r);
        rc_heap *other = rc_heap_new(NULL);
        REQUIRE(rc_heap_hold_region(other, r) == RC_OK);
        rc_region_drop(r);   /* `other` is the last holder now */
        rc_list *l = rc_list_new(h, 0);
        for (int i = 0; i < 1000; i++) rc_list_append(l, rc_int(i));
        rc_decref(l);
        rc_heap_free(other);   /* frees the region */
        node *n = rc_new(h, &node_type);
        n->n = round;
        rc_decref(n);
        rc_heap_free(h);
    }
    CHECK_EQ_INT(destroyed, 40);
}

RC_TEST_MAIN

#endif
