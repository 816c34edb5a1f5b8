/*
 * test_errors.c -- errors that say what happened: I/O failures are RC_EIO
 * naming the file asked for and the system's reason (full disk, missing
 * directory, a stream that cannot be written), misuse gets the right code
 * (another heap's object, a full callback table), and caller-supplied
 * limits as large as SIZE_MAX neither overflow a size nor print nonsense.
 *
 * /dev/full stands for a full disk: every write to it fails with ENOSPC.
 */
#include "harness.h"
#include "testutil.h"
#include "nodes.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include "recycle/leak.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

NODES_IMPL

/* A path `name` in the temporary folder that is a symbolic link to
 * /dev/full: opening it works, writing to it fails with ENOSPC. */
static const char *full_disk_file(const char *name)
{
    const char *p = tmp_path(name);
    unlink(p);
    if (symlink("/dev/full", p) != 0) return NULL;
    return p;
}

static bool have_dev_full(void)
{
    FILE *f = fopen("/dev/full", "w");
    if (!f) return false;
    fclose(f);
    return true;
}

/* A list holding `n` distinct small lists: n references to draw. */
static rc_list *fan(rc_heap *h, int n)
{
    rc_list *l = rc_list_new(h, 0);
    for (int i = 0; i < n; i++) {
        rc_list *c = rc_list_new(h, 0);
        rc_list_append(l, rc_obj(c));
        rc_decref(c);
    }
    return l;
}

/* ---- overflows ---- */

TEST(graph_too_many_near_size_max_draws_every_reference)
{
    rc_heap *h = quiet_heap();
    rc_list *l = fan(h, 20);
    void *objs[] = {l};
    /* (SIZE_MAX >> 3) + 1 pointers is 0 bytes once multiplied: the array of
     * neighbours must not be sized from it. SIZE_MAX means "no limit". */
    size_t limits[] = {(SIZE_MAX >> 3) + 1, SIZE_MAX, SIZE_MAX / 2 + 1};
    for (size_t k = 0; k < sizeof limits / sizeof limits[0]; k++) {
        char *dot = dot_of(rc_show_refs, objs, 1, (rc_graph_opts){.too_many = limits[k], .max_depth = 1});
        REQUIRE(dot != NULL);
        CHECK_EQ_INT(count_of(dot, " -> "), 20);
        CHECK(strstr(dot, "more") == NULL);
    }
    /* Backward too (referrers of one child). */
    void *child[] = {rc_as_obj(rc_list_get(l, 0))};
    FILE *f = tmpfile();
    rc_graph_opts opts = {.too_many = (SIZE_MAX >> 3) + 1, .max_depth = 1, .output = f};
    CHECK_EQ_INT(rc_show_backrefs(child, 1, NULL, &opts), RC_GRAPH_OK);
    fclose(f);
    rc_decref(l);
    rc_heap_free(h);
}

TEST(graph_max_depth_size_max_prints_no_nan_colour)
{
    rc_heap *h = quiet_heap();
    rc_list *l = fan(h, 3);
    void *objs[] = {l};
    char *dot = dot_of(rc_show_refs, objs, 1, (rc_graph_opts){.max_depth = SIZE_MAX});
    REQUIRE(dot != NULL);
    CHECK(strstr(dot, "nan") == NULL);
    CHECK(strstr(dot, "inf") == NULL);
    CHECK(strstr(dot, "fillcolor=\"0,0.350,1\"") != NULL);   /* the start object */
    rc_decref(l);
    rc_heap_free(h);
}

/* ---- I/O errors ---- */

/* The last call on `h` failed with RC_EIO, and its message names `what` and
 * gives the system's reason `err`. */
#define CHECK_IO_ERROR(h, what, err)                                          \
    do {                                                                      \
        CHECK_EQ_INT(rc_heap_error(h), RC_EIO);                                    \
        CHECK(strstr(rc_heap_error_message(h), what) != NULL);                     \
        CHECK(strstr(rc_heap_error_message(h), strerror(err)) != NULL);            \
    } while (0)

TEST(show_refs_to_a_full_stream_is_an_io_error)
{
    if (!have_dev_full()) SKIP("/dev/full is missing");
    rc_heap *h = quiet_heap();
    rc_list *l = fan(h, 3);
    void *objs[] = {l};
    FILE *f = fopen("/dev/full", "w");
    REQUIRE(f != NULL);
    rc_graph_opts opts = {.output = f};
    CHECK_EQ_INT(rc_show_refs(objs, 1, NULL, &opts), -1);
    CHECK_IO_ERROR(h, "opts->output", ENOSPC);
    fclose(f);
    rc_decref(l);
    rc_heap_free(h);
}

TEST(show_refs_to_a_dot_file_on_a_full_disk_names_the_file)
{
    if (!have_dev_full()) SKIP("/dev/full is missing");
    const char *path = full_disk_file("full.dot");
    REQUIRE(path != NULL);
    rc_heap *h = quiet_heap();
    rc_list *l = fan(h, 3);
    void *objs[] = {l};
    CHECK_EQ_INT(rc_show_refs(objs, 1, path, &(rc_graph_opts){.quiet = 1}), -1);
    CHECK_IO_ERROR(h, path, ENOSPC);
    rc_decref(l);
    rc_heap_free(h);
}

TEST(show_refs_into_a_missing_directory_is_an_io_error_naming_the_file)
{
    rc_heap *h = quiet_heap();
    rc_list *l = fan(h, 3);
    void *objs[] = {l};
    CHECK_EQ_INT(rc_show_refs(objs, 1, "/nonexistent-dir/x.dot", &(rc_graph_opts){.quiet = 1}), -1);
    CHECK_IO_ERROR(h, "/nonexistent-dir/x.dot", ENOENT);
    rc_decref(l);
    rc_heap_free(h);
}

TEST(a_picture_that_cannot_be_written_names_the_picture_not_the_dot_fallback)
{
    rc_heap *h = quiet_heap();
    rc_list *l = fan(h, 3);
    void *objs[] = {l};
    /* With or without Graphviz: no picture, and x.dot cannot be written
     * either; the call must say x.png, the file asked for. */
    CHECK_EQ_INT(rc_show_refs(objs, 1, "/nonexistent-dir/x.png", &(rc_graph_opts){.quiet = 1}), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EIO);
    const char *msg = rc_heap_error_message(h);
    CHECK(strncmp(msg, "rc_show_refs: cannot write /nonexistent-dir/x.png", 49) == 0);
    if (strncmp(msg, "rc_show_refs: cannot write /nonexistent-dir/x.png", 49)) fprintf(stderr, "  %s\n", msg);
    rc_decref(l);
    rc_heap_free(h);
}

TEST(a_picture_name_starting_with_a_dash_is_a_file_not_an_option)
{
    if (!have_dot()) SKIP(NEED_DOT);
    char old[4096];
    REQUIRE(getcwd(old, sizeof old) != NULL);
    REQUIRE(chdir(tmp_dir()) == 0);
    rc_heap *h = quiet_heap();
    rc_list *l = fan(h, 2);
    void *objs[] = {l};
    int rc = rc_show_refs(objs, 1, "-V.png", &(rc_graph_opts){.quiet = 1});
    CHECK_EQ_INT(rc, RC_GRAPH_OK);
    FILE *f = fopen("-V.png", "rb");
    unsigned char magic[4] = {0};
    if (f) {
        if (fread(magic, 1, 4, f)) {}
        fclose(f);
    }
    CHECK(f != NULL && magic[1] == 'P' && magic[2] == 'N' && magic[3] == 'G');
    CHECK(access("-V.dot", F_OK) != 0);   /* no fallback */
    rc_decref(l);
    rc_heap_free(h);
    REQUIRE(chdir(old) == 0);
}

TEST(snapshot_save_on_a_full_disk_is_an_io_error_naming_the_file)
{
    if (!have_dev_full()) SKIP("/dev/full is missing");
    const char *path = full_disk_file("full.heapsnapshot");
    REQUIRE(path != NULL);
    rc_heap *h = quiet_heap();
    rc_list *l = fan(h, 3);
    CHECK_EQ_INT(rc_heapsnapshot_save(h, path), -1);
    CHECK_IO_ERROR(h, path, ENOSPC);
    struct stat st;
    CHECK(lstat(path, &st) == 0 && S_ISLNK(st.st_mode));   /* a link is never removed */
    CHECK_EQ_INT(rc_heapsnapshot_save(h, "/nonexistent-dir/x.heapsnapshot"), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EIO);
    CHECK(strstr(rc_heap_error_message(h), "/nonexistent-dir/x.heapsnapshot") != NULL);
    FILE *f = fopen("/dev/full", "w");
    REQUIRE(f != NULL);
    CHECK_EQ_INT(rc_heapsnapshot_write(h, f), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EIO);
    fclose(f);
    rc_decref(l);
    rc_heap_free(h);
}

TEST(printing_leak_reports_to_a_full_disk_is_an_io_error)
{
    if (!have_dev_full()) SKIP("/dev/full is missing");
    rc_heap *h = quiet_heap();
    rc_list *l = fan(h, 3);
    FILE *f = fopen("/dev/full", "w");
    REQUIRE(f != NULL);
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_show_most_common_types(h, 0, f), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EIO);
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_show_roots(h, 0, f), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EIO);
    rc_heap_clear_error(h);
    rc_chain *c = rc_why_alive(l, f, NULL);
    CHECK(c == NULL);
    CHECK_EQ_INT(rc_heap_error(h), RC_EIO);
    rc_chain_free(c);
    c = rc_why_alive(l, NULL, NULL);
    REQUIRE(c != NULL);
    CHECK_EQ_INT(rc_chain_print(c, f), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EIO);
    rc_chain_free(c);
    fclose(f);
    rc_decref(l);
    rc_heap_free(h);
}

/* ---- codes that name the cause ---- */

TEST(get_referents_of_another_heaps_object_is_einval_naming_it)
{
    rc_heap *a = quiet_heap(), *b = quiet_heap();
    rc_list *foreign = fan(b, 2);
    void *objs[] = {foreign};
    rc_heap_clear_error(a);
    CHECK(rc_gc_get_referents(a, objs, 1) == NULL);
    CHECK_EQ_INT(rc_heap_error(a), RC_EINVAL);
    CHECK(strstr(rc_heap_error_message(a), "another heap") != NULL);
    CHECK(strstr(rc_heap_error_message(a), "list") != NULL);
    CHECK(strstr(rc_heap_error_message(a), "out of memory") == NULL);
    CHECK_EQ_INT(live_objects(a), 0);   /* the result list was not leaked */
    rc_decref(foreign);
    rc_heap_free(a);
    rc_heap_free(b);
}

static void noop_cb(rc_heap *h, int phase, const rc_gc_info *info, void *ud) {}

TEST(a_full_callback_table_is_erange_not_out_of_memory)
{
    rc_heap *h = quiet_heap();
    int added = 0;
    for (int i = 0; i < 64; i++) {
        if (rc_gc_callback_add(h, noop_cb, (void *)(intptr_t)i) != 0) break;
        added++;
    }
    CHECK_EQ_INT(added, 16);
    CHECK_EQ_INT(rc_heap_error(h), RC_ERANGE);
    CHECK(strstr(rc_heap_error_message(h), "full") != NULL);
    rc_heap_free(h);
}

RC_TEST_MAIN
