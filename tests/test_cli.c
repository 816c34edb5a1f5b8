/*
 * test_cli.c -- the `recycle` command line: help, version, demo, bench
 * dispatch and usage errors.
 *
 * Runs the built command, whose path comes from the environment variable
 * RC_CLI (CMake sets it: ENVIRONMENT RC_CLI=$<TARGET_FILE:recycle>). Without
 * it every test fails: a command-line test that cannot find the command has
 * tested nothing.
 */
#include "harness.h"
#include "recycle.h"

#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct run_result {
    int status;          /* exit status, or -1 when it did not exit normally */
    char out[65536];     /* stdout, NUL-terminated (truncated if longer) */
    char err[8192];      /* stderr, likewise */
} run_result;

static run_result res;

static const char *cli(void)
{
    static int told;
    const char *p = getenv("RC_CLI");
    if (!p || !*p) {
        if (!told++)
            fprintf(stderr, "  RC_CLI is not set: it must name the built `recycle` command "
                    "(CMake: set_tests_properties(test_cli PROPERTIES ENVIRONMENT "
                    "RC_CLI=$<TARGET_FILE:recycle>))\n");
        return NULL;
    }
    if (strchr(p, '\'')) {
        fprintf(stderr, "  RC_CLI contains a single quote: %s\n", p);
        return NULL;
    }
    return p;
}

static void slurp(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, size - 1, f) : 0;
    buf[n] = '\0';
    if (f) fclose(f);
}

/* Run `$RC_CLI ARGS` (ARGS as a shell would split them) into `res`.
 * Returns 0, or -1 when it could not be run at all. */
static int run(const char *args)
{
    const char *bin = cli();
    char out_path[] = "/tmp/rc_cli_out_XXXXXX", err_path[] = "/tmp/rc_cli_err_XXXXXX";
    char cmd[4096];
    int fo, fe, st;
    memset(&res, 0, sizeof res);
    res.status = -1;
    if (!bin) return -1;
    fo = mkstemp(out_path);
    fe = mkstemp(err_path);
    if (fo < 0 || fe < 0) {
        fprintf(stderr, "  cannot create temporary files\n");
        return -1;
    }
    close(fo);
    close(fe);
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>'%s' </dev/null", bin, args, out_path, err_path);
    st = system(cmd);
    slurp(out_path, res.out, sizeof res.out);
    slurp(err_path, res.err, sizeof res.err);
    unlink(out_path);
    unlink(err_path);
    if (st != -1 && WIFEXITED(st)) res.status = WEXITSTATUS(st);
    if (res.status == 127) fprintf(stderr, "  could not run %s\n", cmd);
    return 0;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* Whether `s` holds a line starting with `prefix`. */
static int has_line_starting(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = s; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, prefix, n)) return 1;
    return 0;
}

/* The figure on the line "HINT memory used: N MB", or -1 when absent/unknown. */
static double memory_figure(const char *s, const char *hint)
{
    char prefix[128];
    double mb;
    snprintf(prefix, sizeof prefix, "%s memory used: ", hint);
    for (const char *p = s; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, prefix, strlen(prefix)) && sscanf(p + strlen(prefix), "%lf MB", &mb) == 1)
            return mb;
    return -1;
}

static const char *const scenario_names[] = {
    "function", "global", "returned", "refcounts", "release", "cycle", "objgraph", "leak",
};
#define NNAMES (sizeof scenario_names / sizeof scenario_names[0])

TEST(rc_cli_names_the_built_command)
{
    const char *bin = cli();
    REQUIRE(bin != NULL);
    if (access(bin, X_OK) != 0) fprintf(stderr, "  RC_CLI=%s is not an executable\n", bin);
    CHECK(access(bin, X_OK) == 0);
}

TEST(help_exits_0_and_explains_demo_bench_and_version)
{
    const char *forms[] = {"--help", "-h", "help", ""};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        REQUIRE(run(forms[i]) == 0);
        CHECK_EQ_INT(res.status, 0);
        CHECK(strstr(res.out, "usage: recycle") != NULL);
        CHECK(strstr(res.out, "demo [NAME") != NULL);
        CHECK(strstr(res.out, "--list") != NULL);
        CHECK(strstr(res.out, "bench WORKLOAD") != NULL);
        CHECK(strstr(res.out, "--version") != NULL);
        CHECK(strstr(res.out, "cycle") != NULL);   /* the scenarios are listed */
        CHECK(strstr(res.out, "W1") != NULL);      /* and the workloads */
        CHECK_EQ_INT(res.err[0], 0);
    }
}

TEST(help_of_one_command_prints_its_usage)
{
    REQUIRE(run("help demo") == 0);
    CHECK_EQ_INT(res.status, 0);
    CHECK(strstr(res.out, "usage: recycle demo") != NULL);
    CHECK(strstr(res.out, "bench") == NULL);
    REQUIRE(run("demo --help") == 0);
    CHECK_EQ_INT(res.status, 0);
    CHECK(strstr(res.out, "usage: recycle demo") != NULL);
    REQUIRE(run("bench --help") == 0);
    CHECK_EQ_INT(res.status, 0);
    CHECK(strstr(res.out, "usage: recycle bench") != NULL);
    CHECK(strstr(res.out, "W1") != NULL);
}

TEST(version_prints_the_library_version)
{
    char want[64];
    snprintf(want, sizeof want, "recycle %d.%d.%d\n", RC_VERSION_MAJOR, RC_VERSION_MINOR,
             RC_VERSION_PATCH);
    REQUIRE(run("--version") == 0);
    CHECK_EQ_INT(res.status, 0);
    CHECK(!strcmp(res.out, want));
}

TEST(demo_list_names_every_scenario_one_per_line)
{
    REQUIRE(run("demo --list") == 0);
    CHECK_EQ_INT(res.status, 0);
    CHECK_EQ_INT(count_lines(res.out), NNAMES);
    for (size_t i = 0; i < NNAMES; i++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "  %s ", scenario_names[i]);
        if (!has_line_starting(res.out, prefix)) fprintf(stderr, "  no line for %s\n", scenario_names[i]);
        CHECK(has_line_starting(res.out, prefix));
    }
}

TEST(demo_unknown_scenario_exits_2_with_one_line_naming_the_valid_ones)
{
    REQUIRE(run("demo nosuch") == 0);
    CHECK_EQ_INT(res.status, 2);
    CHECK_EQ_INT(res.out[0], 0);
    CHECK_EQ_INT(count_lines(res.err), 1);
    CHECK(strstr(res.err, "'nosuch'") != NULL);
    for (size_t i = 0; i < NNAMES; i++) CHECK(strstr(res.err, scenario_names[i]) != NULL);
}

TEST(demo_unknown_scenario_after_a_valid_one_runs_nothing)
{
    REQUIRE(run("demo function nosuch") == 0);
    CHECK_EQ_INT(res.status, 2);
    CHECK_EQ_INT(res.out[0], 0);
    CHECK_EQ_INT(count_lines(res.err), 1);
}

TEST(demo_unknown_option_exits_2_with_one_line_naming_the_valid_ones)
{
    REQUIRE(run("demo --bogus") == 0);
    CHECK_EQ_INT(res.status, 2);
    CHECK_EQ_INT(count_lines(res.err), 1);
    CHECK(strstr(res.err, "--bogus") != NULL);
    CHECK(strstr(res.err, "--list") != NULL);
}

TEST(unknown_command_exits_2_with_one_line_naming_the_valid_ones)
{
    REQUIRE(run("frobnicate") == 0);
    CHECK_EQ_INT(res.status, 2);
    CHECK_EQ_INT(res.out[0], 0);
    CHECK_EQ_INT(count_lines(res.err), 1);
    CHECK(strstr(res.err, "frobnicate") != NULL);
    CHECK(strstr(res.err, "demo") != NULL);
    CHECK(strstr(res.err, "bench") != NULL);
    CHECK(strstr(res.err, "--help") != NULL);
}

TEST(unknown_option_exits_2_with_one_line)
{
    REQUIRE(run("--bogus") == 0);
    CHECK_EQ_INT(res.status, 2);
    CHECK_EQ_INT(count_lines(res.err), 1);
    CHECK(strstr(res.err, "--bogus") != NULL);
    CHECK(strstr(res.err, "--version") != NULL);
    REQUIRE(run("help nosuch") == 0);
    CHECK_EQ_INT(res.status, 2);
    CHECK_EQ_INT(count_lines(res.err), 1);
}

TEST(bench_list_names_the_workloads)
{
    REQUIRE(run("bench --list") == 0);
    CHECK_EQ_INT(res.status, 0);
    CHECK(has_line_starting(res.out, "  W1 "));
    CHECK(has_line_starting(res.out, "  W3 "));
}

TEST(bench_unknown_workload_exits_2)
{
    REQUIRE(run("bench nosuch") == 0);
    CHECK_EQ_INT(res.status, 2);
    CHECK_EQ_INT(count_lines(res.err), 1);
    CHECK(strstr(res.err, "W1") != NULL);
}

TEST(demo_cycle_stays_after_return_and_goes_at_the_collection)
{
    REQUIRE(run("demo cycle") == 0);
    CHECK_EQ_INT(res.status, 0);
    CHECK(has_line_starting(res.out, "== cycle:"));
    CHECK(!has_line_starting(res.out, "== function:"));   /* only the scenario named */
    CHECK(has_line_starting(res.out, "rc_collect(heap, 2) collected 2 objects"));

    double initial = memory_figure(res.out, "initial");
    double created = memory_figure(res.out, "after a, b created");
    double finished = memory_figure(res.out, "finished");
    double finish = memory_figure(res.out, "finish");
    if (res.err[0]) fprintf(stderr, "  stderr: %s", res.err);
    CHECK_EQ_INT(res.err[0], 0);
    if (strstr(res.out, "memory used: unknown")) {
        fprintf(stderr, "  no USS figures on this system: memory not checked\n");
        return;
    }
    REQUIRE(initial >= 0 && created >= 0 && finished >= 0 && finish >= 0);
    /* Two lists of 10,000,000 8-byte items: about 153 MB. */
    CHECK(created - initial > 140);
    CHECK(finished - initial > 140);   /* refcounting alone cannot free a cycle */
    /* AddressSanitizer's quarantine keeps freed memory: the fall shows only
     * in an ordinary build. */
    if (!strstr(res.out, "AddressSanitizer")) CHECK(finished - finish > 140);
}

RC_TEST_MAIN
