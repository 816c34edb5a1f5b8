/*
 * test_memcheck.c -- the tools C programmers trust see every object: a use
 * after free and one rc_decref too many are reported by ASan (sanitized
 * build), by valgrind (when it is installed and the library has its
 * header), and by the debug checks with the type's name; freed blocks are
 * filled and quarantined in debug builds; malloc mode keeps the collector
 * and the leak tools working; the debug check stays right when a heap moves
 * to another thread.
 *
 * Each misuse runs in a child process. Tests are grouped by prefix, one
 * CTest entry per group (asan_, valgrind_, debug_, malloc_); a group whose
 * tool is missing from this build reports "skipped" with exit code 77.
 *
 * The inline calls here are compiled without RC_DEBUG on purpose, so that
 * the tools see the raw accesses; the debug tests call rc__check as an
 * RC_DEBUG build's inline calls do.
 */
#ifdef RC_DEBUG
#define LIB_DEBUG 1
#undef RC_DEBUG
#else
#define LIB_DEBUG 0
#endif
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wuse-after-free"
#include "harness.h"
#include "core/internal.h"
#include "testutil.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include "recycle/leak.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN 1
#endif
#endif
#ifndef ASAN
#define ASAN 0
#endif

#if ASAN
#define NO_ASAN __attribute__((no_sanitize_address))
#else
#define NO_ASAN
#endif

/* A group that does not apply to this build (no ASan, no valgrind) is
 * skipped in every environment, CI included: unlike a missing tool, it is
 * not something CI could install. */
#undef SKIP
static int skipped_;
#define SKIP(why)                                                             \
    do {                                                                      \
        printf("  skipped: %s\n", why);                                       \
        skipped_ = 1;                                                         \
        return;                                                               \
    } while (0)

typedef struct pair { void *a, *b; } pair;
static const rc_type pair_type = {.name = "pair", .size = sizeof(pair), .nslots = 2};
typedef struct blob { uint64_t w[6]; } blob;
static const rc_type blob_type = {.name = "blob", .size = sizeof(blob)};

/* ---- the misuse, run in a child ---- */

static volatile uintptr_t sink;

/* A freed object's field is read. */
static void child_use_after_free(void)
{
    rc_heap *h = rc_heap_new(NULL);
    pair *p = rc_new(h, &pair_type);
    p->a = p;   /* a cycle of one, broken by hand below */
    p->a = NULL;
    rc_decref(p);
    sink = (uintptr_t)p->b;   /* use after free */
}

/* One rc_decref too many. */
static void child_over_release(void)
{
    rc_heap *h = rc_heap_new(NULL);
    pair *p = rc_new(h, &pair_type);
    rc_decref(p);
    rc_decref(p);   /* the object is already freed */
}

/* An object nobody frees: valgrind's leak check names it. */
static void child_leak(void)
{
    rc_heap *h = rc_heap_new(NULL);
    blob *b = rc_new(h, &blob_type);
    b->w[0] = 1;
    sink = 0;
    b = NULL;
    h = NULL;
}

/* Debug checks: a freed object, its block possibly wanted by newer ones. */
static void child_check_after_reuse(void)
{
    rc_heap *h = rc_heap_new(NULL);
    pair *p = rc_new(h, &pair_type);
    rc_decref(p);
    for (int i = 0; i < 8; i++) rc_new(h, &pair_type);   /* kept: they would take p's block */
    rc__check(p, "rc_incref");
}

static void child_check_over_release(void)
{
    rc_heap *h = rc_heap_new(NULL);
    pair *p = rc_new(h, &pair_type);
    rc__check(p, "rc_decref");
    rc_decref(p);
    rc__check(p, "rc_decref");
    rc_decref(p);
}

/* A heap touched by this thread, then handed to another that frees a big
 * object (its own mapping goes back to the system), then taken back and
 * checked here again. */
static void *drop_in_thread(void *obj)
{
    rc_heap *h = rc_heap_of(obj);
    if (rc_heap_acquire(h) != RC_OK) _exit(4);
    rc__check(obj, "rc_decref");
    rc_decref(obj);
    rc_heap_release(h);
    return NULL;
}

static void child_check_after_thread(void)
{
    rc_heap *h = rc_heap_new(NULL);
    void *big = rc_new_var(h, &blob_type, 200000);
    rc__check(big, "rc_incref");
    pthread_t t;
    rc_heap_release(h);
    if (pthread_create(&t, NULL, drop_in_thread, big) != 0) _exit(3);
    pthread_join(t, NULL);
    if (rc_heap_acquire(h) != RC_OK) _exit(5);
    rc__check(big, "rc_decref");   /* the heap came back: one rc_decref too many */
    rc_decref(big);
}

static void malloc_env(void) { setenv("RC_MALLOC", "malloc", 1); }
static void child_malloc_use_after_free(void) { malloc_env(); child_use_after_free(); }
static void child_malloc_over_release(void) { malloc_env(); child_over_release(); }

static const struct { const char *name; void (*fn)(void); } children[] = {
    {"use_after_free", child_use_after_free},
    {"over_release", child_over_release},
    {"leak", child_leak},
    {"check_after_reuse", child_check_after_reuse},
    {"check_over_release", child_check_over_release},
    {"check_after_thread", child_check_after_thread},
    {"malloc_use_after_free", child_malloc_use_after_free},
    {"malloc_over_release", child_malloc_over_release},
};

static void (*child_fn(const char *name))(void)
{
    for (size_t i = 0; i < sizeof children / sizeof *children; i++)
        if (strcmp(children[i].name, name) == 0) return children[i].fn;
    return NULL;
}

/* ---- running a child ---- */

typedef struct run {
    int status;
    char err[16384];
} run;

/* Runs the child `name` in a fork, or under valgrind when `vg_args` is
 * given; collects its stderr. */
static void run_child(run *r, const char *name, const char *const *vg_args)
{
    int fds[2];
    memset(r, 0, sizeof *r);
    if (pipe(fds) != 0) return;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        if (vg_args) {
            char self[4096];
            ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
            if (n <= 0) _exit(2);
            self[n] = 0;
            const char *argv[32];
            int k = 0;
            argv[k++] = "valgrind";
            for (int i = 0; vg_args[i]; i++) argv[k++] = vg_args[i];
            argv[k++] = self;
            argv[k++] = "--child";
            argv[k++] = name;
            argv[k] = NULL;
            execvp("valgrind", (char *const *)argv);
            _exit(2);
        }
        child_fn(name)();
        _exit(0);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t got;
    while ((got = read(fds[0], r->err + n, sizeof r->err - 1 - n)) > 0) {
        n += (size_t)got;
        if (n == sizeof r->err - 1) n = 0;   /* keep reading; the tail matters less */
    }
    close(fds[0]);
    waitpid(pid, &r->status, 0);
}

static int said(const run *r, const char *want)
{
    if (strstr(r->err, want)) return 1;
    fprintf(stderr, "  child status %d did not say \"%s\"; it said:\n%s\n", r->status, want, r->err);
    return 0;
}

static int aborted(const run *r)
{
    if (WIFSIGNALED(r->status) && WTERMSIG(r->status) == SIGABRT) return 1;
    fprintf(stderr, "  child status %d: not SIGABRT; it said:\n%s\n", r->status, r->err);
    return 0;
}

/* ---- ASan ---- */

TEST(asan_reports_a_use_after_free)
{
    if (!ASAN) SKIP("not an AddressSanitizer build");
    run r;
    run_child(&r, "use_after_free", NULL);
    CHECK(said(&r, "ERROR: AddressSanitizer: use-after-poison"));
    CHECK(said(&r, "child_use_after_free"));
    CHECK(r.status != 0);
}

TEST(asan_reports_one_decref_too_many)
{
    if (!ASAN) SKIP("not an AddressSanitizer build");
    run r;
    run_child(&r, "over_release", NULL);
    CHECK(said(&r, "ERROR: AddressSanitizer: use-after-poison"));
    CHECK(said(&r, "child_over_release"));
}

TEST(asan_in_malloc_mode_names_the_allocation_and_the_free)
{
    if (!ASAN) SKIP("not an AddressSanitizer build");
    run r;
    run_child(&r, "malloc_use_after_free", NULL);
    CHECK(said(&r, "ERROR: AddressSanitizer: heap-use-after-free"));
    CHECK(said(&r, "freed by thread"));
    CHECK(said(&r, "previously allocated by thread"));
    CHECK(said(&r, "rc_decref"));
    CHECK(said(&r, "rc_new"));
    run_child(&r, "malloc_over_release", NULL);
    CHECK(said(&r, "heap-use-after-free"));
}

/* ---- valgrind ---- */

static const char *valgrind_missing(void)
{
    if (ASAN) return "an AddressSanitizer build cannot run under valgrind";
#ifndef RC_HAVE_VALGRIND
    return "the library was built without <valgrind/memcheck.h>";
#endif
    if (system("valgrind --version >/dev/null 2>&1") != 0) return "valgrind is not installed";
    return NULL;
}

static const char *const vg_plain[] = {"-q", "--error-exitcode=99", NULL};

TEST(valgrind_reports_a_use_after_free_with_its_stacks)
{
    const char *why = valgrind_missing();
    if (why) SKIP(why);
    run r;
    run_child(&r, "use_after_free", vg_plain);
    CHECK(said(&r, "Invalid read"));
    CHECK(said(&r, "child_use_after_free"));
    CHECK(said(&r, "free'd"));
    CHECK(said(&r, "alloc'd"));
    CHECK(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 99);
}

TEST(valgrind_reports_one_decref_too_many)
{
    const char *why = valgrind_missing();
    if (why) SKIP(why);
    run r;
    run_child(&r, "over_release", vg_plain);
    CHECK(said(&r, "Invalid read"));
    CHECK(said(&r, "child_over_release"));
    CHECK(said(&r, "free'd"));
}

TEST(valgrind_reports_a_leaked_object_with_its_allocation)
{
    const char *why = valgrind_missing();
    if (why) SKIP(why);
    static const char *const args[] = {"-q", "--leak-check=full", "--show-leak-kinds=definite",
                                       "--errors-for-leak-kinds=definite", "--error-exitcode=99",
                                       NULL};
    run r;
    run_child(&r, "leak", args);
    CHECK(said(&r, "definitely lost"));
    CHECK(said(&r, "child_leak"));
    CHECK(said(&r, "rc__alloc_block"));
}

TEST(valgrind_in_malloc_mode_reports_a_use_after_free)
{
    const char *why = valgrind_missing();
    if (why) SKIP(why);
    run r;
    run_child(&r, "malloc_use_after_free", vg_plain);
    CHECK(said(&r, "Invalid read"));
    CHECK(said(&r, "free'd"));
}

/* ---- debug checks ---- */

TEST(debug_check_names_the_type_of_one_decref_too_many)
{
    run r;
    run_child(&r, "check_over_release", NULL);
    CHECK(aborted(&r));
    CHECK(said(&r, "rc_decref("));
    CHECK(said(&r, "freed object of type 'pair'"));
}

/* Whether heaps of this build keep freed blocks in a quarantine. */
static bool has_quarantine(void)
{
    rc_heap *h = rc_heap_new(NULL);
    bool q = h->quarantine != NULL;
    rc_heap_free(h);
    return q;
}

TEST(debug_check_names_a_freed_object_after_newer_allocations)
{
    if (!has_quarantine()) SKIP("heaps of this build have no quarantine (RC_DEBUG or a tool)");
    run r;
    run_child(&r, "check_after_reuse", NULL);
    CHECK(aborted(&r));
    CHECK(said(&r, "rc_incref("));
    CHECK(said(&r, "freed object of type 'pair'"));
}

TEST(debug_check_stays_right_when_the_heap_moves_to_another_thread)
{
    run r;
    run_child(&r, "check_after_thread", NULL);
    CHECK(aborted(&r));   /* a message and abort, not SIGSEGV */
    CHECK(said(&r, "recycle: rc_decref("));
}

NO_ASAN static unsigned char peek(const void *p) { return *(const volatile unsigned char *)p; }

TEST(debug_fill_freed_blocks_read_the_pattern)
{
    if (!LIB_DEBUG) SKIP("not an RC_DEBUG build");
    rc_heap *h = quiet_heap();
    blob *b = rc_new(h, &blob_type);
    memset(b, 0x5A, sizeof *b);
    rc_decref(b);
    const unsigned char *u = (const unsigned char *)b;
    for (size_t i = 0; i < sizeof *b; i++) CHECK_EQ_INT(peek(u + i), 0xDD);
    CHECK_EQ_INT(peek(RC_HEAD(b)), 0);   /* refcnt 0: a free block */
    rc_heap_free(h);
}

TEST(debug_quarantine_delays_reuse_then_gives_the_block_back)
{
    if (!has_quarantine()) SKIP("heaps of this build have no quarantine (RC_DEBUG or a tool)");
    rc_heap *h = quiet_heap();
    void *keep[64];
    pair *p = rc_new(h, &pair_type);
    keep[0] = rc_new(h, &pair_type);   /* the page stays in use */
    rc_decref(p);
    /* The next allocations do not get p's block... */
    for (int i = 1; i < 64; i++) {
        keep[i] = rc_new(h, &pair_type);
        CHECK(keep[i] != (void *)p);
    }
    /* ...but a bounded number of frees later it comes back. */
    int reused = 0;
    for (int i = 0; i < 2000 && !reused; i++) {
        pair *q = rc_new(h, &pair_type);
        reused = q == p;
        rc_decref(q);
    }
    CHECK(reused);
    for (int i = 0; i < 64; i++) rc_decref(keep[i]);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* ---- malloc mode ---- */

static rc_heap *malloc_heap(void)
{
    rc_heap_config cfg;
    rc_heap_config_init(&cfg);
    cfg.use_malloc = 1;
    cfg.disabled = 1;
    return rc_heap_new(&cfg);
}

TEST(malloc_mode_gives_each_object_an_allocation_of_its_own)
{
    rc_heap *h = malloc_heap();
    REQUIRE(h != NULL);
    pair *a = rc_new(h, &pair_type), *b = rc_new(h, &pair_type);
    REQUIRE(a && b);
    CHECK(rc__page_of(RC_HEAD(a)) != rc__page_of(RC_HEAD(b)));
    CHECK(rc__page_of(RC_HEAD(a))->flags & RC_PAGE_MALLOC);
    CHECK(rc_heap_of(a) == h);
    CHECK(rc_usable_size(a) >= sizeof(pair));
    CHECK_EQ_INT(live_objects(h), 2);
    rc_decref(a);
    rc_decref(b);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(malloc_mode_is_switched_on_by_the_environment)
{
    setenv("RC_MALLOC", "malloc", 1);
    rc_heap *h = rc_heap_new(NULL);
    unsetenv("RC_MALLOC");
    REQUIRE(h != NULL);
    pair *a = rc_new(h, &pair_type);
    CHECK(rc__page_of(RC_HEAD(a))->flags & RC_PAGE_MALLOC);
    rc_decref(a);
    rc_heap_free(h);
    setenv("RC_MALLOC", "pool", 1);
    rc_heap_config cfg;
    rc_heap_config_init(&cfg);
    cfg.use_malloc = 1;
    h = rc_heap_new(&cfg);
    unsetenv("RC_MALLOC");
    a = rc_new(h, &pair_type);
    CHECK(!(rc__page_of(RC_HEAD(a))->flags & RC_PAGE_MALLOC));   /* RC_MALLOC=pool wins */
    rc_decref(a);
    rc_heap_free(h);
}

TEST(malloc_mode_collects_cycles_and_keeps_the_leak_tools_working)
{
    rc_heap *h = malloc_heap();
    REQUIRE(h != NULL);
    rc_mark *m = rc_mark_new(h);
    REQUIRE(m != NULL);
    enum { N = 300 };
    for (int i = 0; i < N; i++) {
        pair *a = rc_new(h, &pair_type), *b = rc_new(h, &pair_type);
        a->a = b;
        b->a = a;
        rc_incref(a);
        rc_decref(a);   /* a 2-cycle, unreachable */
    }
    pair *kept = rc_new(h, &pair_type);
    void *big = rc_new_var(h, &blob_type, 100000);   /* a large object too */
    kept->b = big;
    rc_list *l = rc_mark_new_objects(m, "pair");
    CHECK_EQ_INT(rc_list_len(l), 2 * N + 1);
    rc_decref(l);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2 * N);
    CHECK_EQ_INT(live_objects(h), 2);
    l = rc_gc_get_referrers(h, &big, 1);
    REQUIRE(l != NULL);
    CHECK_EQ_INT(rc_list_len(l), 1);
    rc_decref(l);
    rc_decref(kept);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.object_bytes, 0);
    rc_mark_free(m);
    rc_heap_free(h);
}

/* ---- main: groups, skips, children ---- */

struct rc_test_entry rc_tests_[1024];
int rc_ntests_;
int rc_test_failed_;

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "--child") == 0) {
        void (*fn)(void) = child_fn(argv[2]);
        if (!fn) return 2;
        fn();
        return 0;
    }
    int passed = 0, failed = 0, skipped = 0;
    for (int i = 0; i < rc_ntests_; i++) {
        if (argc > 1 && !strstr(rc_tests_[i].name, argv[1])) continue;
        rc_test_failed_ = 0;
        skipped_ = 0;
        rc_tests_[i].fn();
        const char *st = rc_test_failed_ ? "FAIL" : skipped_ ? "skip" : "ok  ";
        printf("%s %s\n", st, rc_tests_[i].name);
        if (rc_test_failed_) failed++;
        else if (skipped_) skipped++;
        else passed++;
    }
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    if (failed) return 1;
    if (!passed && skipped) {
        printf("skipped\n");
        return 77;
    }
    return passed ? 0 : 1;
}
