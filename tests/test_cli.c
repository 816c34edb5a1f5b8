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
#include <stdlib.h>
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
    "function", "global", "returned", "refcounts", "release", "cycle", "generations", "objgraph", "leak",
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

TEST(version_V_and_the_version_command_print_the_same_line)
{
    char want[64];
    snprintf(want, sizeof want, "recycle %s\n", rc_version());
    const char *forms[] = {"--version", "-V", "version"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        REQUIRE(run(forms[i]) == 0);
        if (strcmp(res.out, want)) fprintf(stderr, "  `recycle %s` said: %s", forms[i], res.out);
        CHECK_EQ_INT(res.status, 0);
        CHECK(!strcmp(res.out, want));
        CHECK_EQ_INT(res.err[0], 0);
    }
}

TEST(help_names_the_version_command_and_V)
{
    REQUIRE(run("--help") == 0);
    CHECK(strstr(res.out, "  version ") != NULL);
    CHECK(strstr(res.out, "-V, --version") != NULL);
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
    CHECK(has_line_starting(res.out, "  W11 "));
}

TEST(bench_unknown_workload_exits_2)
{
    REQUIRE(run("bench nosuch") == 0);
    CHECK_EQ_INT(res.status, 2);
    CHECK_EQ_INT(count_lines(res.err), 1);
    CHECK(strstr(res.err, "W1") != NULL);
}

/* A usage error of `recycle bench`: exit 2, nothing on stdout, one line on
 * stderr containing `want`. */
static int bench_refused(const char *args, const char *want)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "bench %s", args);
    if (run(cmd) != 0) {
        rc_test_failed_ = 1;
        return 0;
    }
    if (res.status != 2) fprintf(stderr, "  `recycle %s` exited %d, not 2\n", cmd, res.status);
    CHECK_EQ_INT(res.status, 2);
    CHECK_EQ_INT(res.out[0], 0);
    CHECK_EQ_INT(count_lines(res.err), 1);
    if (!strstr(res.err, want)) fprintf(stderr, "  `recycle %s` said: %s", cmd, res.err);
    CHECK(strstr(res.err, want) != NULL);
    return res.status == 2;
}

/* The first check of a test is a cheap one: when the command does not
 * check its options at all, the rest (which would then run long
 * workloads, crash, or run away) is not tried. */

TEST(bench_unknown_or_misspelt_option_exits_2_naming_the_valid_ones)
{
    if (!bench_refused("W2 --n 10 --nn 5", "'--nn'")) return;
    bench_refused("W6 --depth 2 --seconds 1 --rng 5", "--ring");
    bench_refused("W2 --ring 5", "'--ring'");   /* an option W2 does not read */
    bench_refused("all --bogus 1", "'--bogus'");
}

TEST(bench_option_without_value_or_not_a_number_exits_2)
{
    if (!bench_refused("W2 --n 12abc", "'12abc'")) return;
    bench_refused("W2 --n", "needs a value");
    bench_refused("W2 --n ''", "''");
    bench_refused("W2 --n 1e3", "'1e3'");
    bench_refused("W2 --n 99999999999999999999999", "out of range");
    bench_refused("W2 --n 10 --n 20", "twice");
}

TEST(bench_numbers_out_of_range_exit_2_before_anything_runs)
{
    /* First the cheap one: a program that runs W2 with --n 0 (and prints
     * "inf ns") does not check at all; the rest would crash or run away. */
    REQUIRE(run("bench W2 --n 0") == 0);
    CHECK_EQ_INT(res.status, 2);
    REQUIRE(res.status == 2);
    CHECK(strstr(res.out, "inf") == NULL);
    bench_refused("W6 --depth 2 --seconds 1 --ring 0", "--ring 0");
    bench_refused("W6 --depth 2 --seconds 1 --ring -1", "--ring -1");
    bench_refused("W4 --depth 2 --young 0", "--young 0");
    bench_refused("W4 --depth 64", "--depth 64");
    bench_refused("W4 --depth 0", "--depth 0");
    bench_refused("W4 --depth -3", "--depth -3");
    bench_refused("W6 --depth 2 --seconds 0", "--seconds 0");
    bench_refused("W5 --depth 2 --print 2", "--print 2");
}

TEST(bench_small_valid_numbers_run)
{
    REQUIRE(run("bench W2 --n 1") == 0);
    CHECK_EQ_INT(res.status, 0);
    CHECK(has_line_starting(res.out, "ns_per_object "));
    CHECK(strstr(res.out, "inf") == NULL);
    REQUIRE(run("bench W4 --depth 1 --young 4") == 0);
    CHECK_EQ_INT(res.status, 0);
    CHECK(has_line_starting(res.out, "young_freed 2.000"));
    REQUIRE(run("bench hashflood --n 1000") == 0);
    CHECK_EQ_INT(res.status, 0);
    CHECK(has_line_starting(res.out, "random_keys_ms "));
    CHECK(has_line_starting(res.out, "crafted_keys_ms "));
}

/* The number on the metric line `name value unit` of `s`; -1e300 when
 * there is none. */
static double metric(const char *s, const char *name)
{
    char prefix[64];
    double v;
    snprintf(prefix, sizeof prefix, "%s ", name);
    for (const char *p = s; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, prefix, strlen(prefix)) && sscanf(p + strlen(prefix), "%lf", &v) == 1)
            return v;
    fprintf(stderr, "  no metric line '%s' in:\n%s", name, s);
    return -1e300;
}

TEST(bench_help_names_the_workloads_file_and_it_exists)
{
    REQUIRE(run("bench --help") == 0);
    CHECK(strstr(res.out, "bench/WORKLOADS.md") != NULL);
    const char *src = getenv("RC_SOURCE_DIR");
    if (!src || !*src) fprintf(stderr, "  RC_SOURCE_DIR is not set (CMake sets it for test_cli)\n");
    REQUIRE(src && *src);
    char path[4096];
    snprintf(path, sizeof path, "%s/bench/WORKLOADS.md", src);
    if (access(path, R_OK) != 0) fprintf(stderr, "  %s is missing\n", path);
    CHECK(access(path, R_OK) == 0);
}

TEST(bench_w7_prints_its_pauses_and_memory)
{
    /* 16,383 tree nodes and 2,047 cycles: more allocations than a young
     * collection's threshold, so at least one pause is recorded. */
    REQUIRE(run("bench W7 --depth 14") == 0);
    CHECK_EQ_INT(res.status, 0);
    double build = metric(res.out, "build_ms"), max = metric(res.out, "max_pause_ms");
    double p99 = metric(res.out, "p99_pause_ms"), pauses = metric(res.out, "pauses");
    double total = metric(res.out, "total_pause_ms"), peak = metric(res.out, "peak_uss_mb");
    double growth = metric(res.out, "uss_growth_mb");
    CHECK(build > 0);
    CHECK(pauses >= 1 && pauses == (double)(long)pauses);
    CHECK(max > 0 && p99 >= 0 && p99 <= max);
    CHECK(total >= max);
    CHECK(peak >= 0 && growth > -1e300);
    CHECK(strstr(res.out, "inf") == NULL && strstr(res.out, "nan") == NULL);
}

TEST(bench_w7_refuses_bad_options)
{
    if (!bench_refused("W7 --depth 0", "--depth 0 is out of range")) return;
    bench_refused("W7 --depth 31", "--depth 31");
    bench_refused("W7 --n 5", "'--n'");             /* W7 reads no --n */
}

/* How many lines of `s` start with the metric `name`. */
static int metric_lines(const char *s, const char *name)
{
    size_t len = strlen(name);
    int n = 0;
    for (const char *p = s; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, name, len) && p[len] == ' ') n++;
    return n;
}

TEST(bench_w6_prints_every_pause_figure_including_the_total)
{
    REQUIRE(run("bench W6 --depth 8 --seconds 1 --ring 1000") == 0);
    CHECK_EQ_INT(res.status, 0);
    double max = metric(res.out, "max_pause_ms"), total = metric(res.out, "total_pause_ms");
    CHECK(metric(res.out, "pauses") >= 1);
    CHECK(max > 0 && total >= max);
}

TEST(bench_w6_settles_with_a_full_collection_and_prints_each_figure_once)
{
    REQUIRE(run("bench W6 --depth 8 --seconds 1 --ring 1000") == 0);
    CHECK_EQ_INT(res.status, 0);
    CHECK(metric(res.out, "settle_ms") >= 0);
    static const char *const names[] = {"max_pause_ms", "p99_pause_ms", "pauses",
                                        "total_pause_ms", "cycles_per_s", "uss_growth_mb",
                                        "settle_ms"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int n = metric_lines(res.out, names[i]);
        if (n != 1) fprintf(stderr, "  %s printed %d times\n", names[i], n);
        CHECK_EQ_INT(n, 1);
    }
}

TEST(bench_w8_refuses_bad_options)
{
    if (!bench_refused("W8 --n 0", "--n 0 is out of range")) return;
    bench_refused("W8 --depth 3", "'--depth'");
    bench_refused("W8 --input", "needs a value");
    bench_refused("W8 --input ''", "needs a value");
    bench_refused("W8 --dump-rows=1", "takes no value");
    bench_refused("W8 --n 10 --input /dev/null", "exclude each other");
}

TEST(bench_w9_prints_its_figures_for_one_and_two_threads)
{
    REQUIRE(run("bench W9 --threads 2 --n 20000 --cycles 5000 --ring 500 --depth 6") == 0);
    CHECK_EQ_INT(res.status, 0);
    CHECK_EQ_INT(res.err[0], 0);
    CHECK(metric(res.out, "threads") == 2);
    CHECK(metric(res.out, "w2_mobjects_per_s_1") > 0);
    CHECK(metric(res.out, "w2_mobjects_per_s_n") > 0);
    CHECK(metric(res.out, "w2_scaling") > 0);
    CHECK(metric(res.out, "w6_mcycles_per_s_1") > 0);
    CHECK(metric(res.out, "w6_mcycles_per_s_n") > 0);
    CHECK(metric(res.out, "w6_scaling") > 0);
    CHECK(metric(res.out, "w2_cpu_scaling") > 0);
    CHECK(metric(res.out, "w6_cpu_scaling") > 0);
    bench_refused("W9 --threads 0", "out of range");
    bench_refused("W9 --runs 0", "out of range");
    bench_refused("W9 --runs 32", "out of range");
    bench_refused("W9 --threads 65", "out of range");
}

TEST(bench_w10_prints_every_way_at_every_size)
{
    REQUIRE(run("bench W10 --bytes 100000") == 0);
    CHECK_EQ_INT(res.status, 0);
    CHECK_EQ_INT(res.err[0], 0);
    static const char *const names[] = {
        "move_1k_per_s",  "copy_1k_per_s",  "rebuild_1k_per_s",  "move_64k_per_s",
        "copy_64k_per_s", "rebuild_64k_per_s", "move_1m_per_s", "copy_1m_per_s",
        "rebuild_1m_per_s", "move_1m_ns_per_object", "copy_1k_ns_per_object",
        "rebuild_64k_ns_per_object"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) CHECK(metric(res.out, names[i]) > 0);
    bench_refused("W10 --bytes 0", "out of range");
}

TEST(bench_w11_prints_frozen_atomic_and_heap_reads_for_one_and_two_threads)
{
    REQUIRE(run("bench W11 --threads 2 --depth 8 --traversals 2") == 0);
    CHECK_EQ_INT(res.status, 0);
    CHECK_EQ_INT(res.err[0], 0);
    CHECK(metric(res.out, "threads") == 2);
    CHECK(metric(res.out, "nodes") == 255);
    static const char *const names[] = {
        "freeze_ms", "frozen_ns_per_node_1", "frozen_ns_per_node_n", "frozen_scaling",
        "atomic_ns_per_node_1", "atomic_ns_per_node_n", "atomic_scaling", "heap_ns_per_node_1",
        "frozen_cpu_ns_per_node_1", "frozen_cpu_ns_per_node_n", "atomic_cpu_ns_per_node_1",
        "atomic_cpu_ns_per_node_n", "heap_cpu_ns_per_node_1"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        CHECK(metric(res.out, names[i]) > 0);
        CHECK_EQ_INT(metric_lines(res.out, names[i]), 1);
    }
    CHECK(strstr(res.out, "inf") == NULL && strstr(res.out, "nan") == NULL);
    bench_refused("W11 --threads 0", "out of range");
    bench_refused("W11 --depth 0", "out of range");
    bench_refused("W11 --traversals 0", "out of range");
    bench_refused("W11 --n 5", "'--n'");
}

TEST(bench_w8_prints_its_figures_for_generated_rows)
{
    REQUIRE(run("bench W8 --n 2000") == 0);
    CHECK_EQ_INT(res.status, 0);
    CHECK_EQ_INT(res.err[0], 0);
    CHECK(metric(res.out, "build_ms") > 0);
    CHECK(metric(res.out, "lookup_ns") > 0);
    CHECK(metric(res.out, "release_ms") >= 0);
    CHECK(metric(res.out, "uss_growth_mb") > -1e300);
    CHECK(metric(res.out, "uss_after_release_mb") > -1e300);
    CHECK(metric(res.out, "rows") == 2000);
    double keys = metric(res.out, "keys");
    CHECK(keys >= 1 && keys <= 2000);
    CHECK(strstr(res.out, "inf") == NULL && strstr(res.out, "nan") == NULL);
}

TEST(bench_w8_dump_rows_prints_the_documented_first_row)
{
    REQUIRE(run("bench W8 --n 3 --dump-rows") == 0);
    CHECK_EQ_INT(res.status, 0);
    CHECK_EQ_INT(count_lines(res.out), 3);
    /* bench/WORKLOADS.md quotes the generator's first row. */
    CHECK(!strncmp(res.out, "plshuiw-sxi-gulapuwkh\t23.87.482\t2011-03\ty#$U}o=ah lr#-%zoJ ", 58));
    int tabs = 0;
    for (const char *p = res.out; *p; p++) tabs += *p == '\t';
    CHECK_EQ_INT(tabs, 9);
}

/* A new file in /tmp holding data[0..n-1]; its path goes into `path` (64
 * bytes). */
static int temp_file(char *path, const void *data, size_t n)
{
    strcpy(path, "/tmp/rc_cli_w8_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    int ok = write(fd, data, n) == (ssize_t)n;
    close(fd);
    return ok ? 0 : -1;
}

/* `recycle bench W8 --input FILE` with FILE holding data[0..n-1]: runs it
 * and removes the file. */
static int run_w8_on(const void *data, size_t n, char *path)
{
    if (temp_file(path, data, n) != 0) return -1;
    char args[512];
    snprintf(args, sizeof args, "bench W8 --input '%s'", path);
    int r = run(args);
    unlink(path);
    return r;
}

TEST(bench_w8_reads_rows_from_a_file_later_rows_winning)
{
    /* Three rows, a name twice, the last line without its newline, UTF-8. */
    static const char rows[] = "alpha\t1.0.0\t2020-01\tfirst\n"
                               "b\xc3\xa9ta\t2.0.0\t2021-02\t\n"
                               "alpha\t1.0.1\t2020-03\tsecond";
    char path[64];
    REQUIRE(run_w8_on(rows, sizeof rows - 1, path) == 0);
    if (res.status) fprintf(stderr, "  stderr: %s", res.err);
    CHECK_EQ_INT(res.status, 0);
    CHECK(metric(res.out, "rows") == 3);
    CHECK(metric(res.out, "keys") == 2);
}

/* A malformed --input file: exit 2, nothing on stdout, one line on stderr
 * naming the file and containing `want`. */
static void w8_input_refused(const void *data, size_t n, const char *want)
{
    char path[64];
    REQUIRE(run_w8_on(data, n, path) == 0);
    if (res.status != 2 || !strstr(res.err, want))
        fprintf(stderr, "  input %.40s...: exit %d, said: %s", (const char *)data, res.status,
                res.err);
    CHECK_EQ_INT(res.status, 2);
    CHECK_EQ_INT(res.out[0], 0);
    CHECK_EQ_INT(count_lines(res.err), 1);
    CHECK(strstr(res.err, path) != NULL);
    CHECK(strstr(res.err, want) != NULL);
}

#define W8_REFUSED(lit, want) w8_input_refused(lit, sizeof lit - 1, want)

TEST(bench_w8_refuses_a_malformed_input_file_with_exit_2)
{
    W8_REFUSED("", "empty file");
    W8_REFUSED("a\tb\tc\n", ":1: 3 fields, not 4");
    W8_REFUSED("a\tb\tc\td\n\n", ":2: 1 field, not 4");
    W8_REFUSED("a\tb\tc\td\te\n", ":1: 5 fields");
    W8_REFUSED("\tb\tc\td\n", ":1: empty name");
    W8_REFUSED("a\tb\tc\td\nx\0y\tb\tc\td\n", ":2: NUL byte");
    W8_REFUSED("a\tb\tc\td\r\n", ":1: carriage return");
    W8_REFUSED("a\xff\tb\tc\td\n", ":1: not valid UTF-8");
    W8_REFUSED("a\xc0\x80\tb\tc\td\n", ":1: not valid UTF-8");        /* overlong NUL */
    W8_REFUSED("a\xed\xa0\x80\tb\tc\td\n", ":1: not valid UTF-8");    /* surrogate */
    W8_REFUSED("a\xf4\x90\x80\x80\tb\tc\td\n", ":1: not valid UTF-8"); /* above U+10FFFF */
    W8_REFUSED("a\tb\tc\td\xe2\x82", ":1: not valid UTF-8");          /* cut short */
    size_t big = 70000;
    char *huge = malloc(big + 8);
    REQUIRE(huge != NULL);
    memset(huge, 'x', big);
    memcpy(huge + big, "\tb\tc\td\n", 7);
    w8_input_refused(huge, big + 7, ":1: line longer than 65536 bytes");
    free(huge);
}

TEST(bench_w8_refuses_an_input_it_cannot_read_with_exit_2)
{
    if (!bench_refused("W8 --input /nonexistent/rows.tsv", "/nonexistent/rows.tsv")) return;
    bench_refused("W8 --input /tmp", "not a regular file");
}

/* A usage error of `recycle ARGS`: exit 2, nothing on stdout, one line on
 * stderr containing `want`. */
static void refused(const char *args, const char *want)
{
    REQUIRE(run(args) == 0);
    if (res.status != 2) fprintf(stderr, "  `recycle %s` exited %d, not 2\n", args, res.status);
    CHECK_EQ_INT(res.status, 2);
    CHECK_EQ_INT(res.out[0], 0);
    CHECK_EQ_INT(count_lines(res.err), 1);
    if (!strstr(res.err, want)) fprintf(stderr, "  `recycle %s` said: %s", args, res.err);
    CHECK(strstr(res.err, want) != NULL);
}

TEST(top_level_options_take_no_extra_arguments_and_are_given_once)
{
    refused("--version extra", "'extra'");
    refused("--version --version", "twice");
    refused("--version=1", "--version");
    refused("-V extra", "'extra'");
    refused("-V -V", "twice");
    refused("version extra", "'extra'");
    refused("version --help=1", "--help");
}

TEST(demo_options_are_strict_given_once_and_take_no_value)
{
    refused("demo --list --list", "twice");
    refused("demo --list=1", "--list");
    refused("demo --list nosuch", "'nosuch'");
    refused("help demo bench", "at most 1");
}

TEST(bench_options_also_read_as_name_equals_value)
{
    REQUIRE(run("bench W2 --n=1") == 0);
    CHECK_EQ_INT(res.status, 0);
    CHECK(has_line_starting(res.out, "ns_per_object "));
    bench_refused("W2 --n=0", "--n 0 is out of range");
    bench_refused("W2 --n=", "'' is not a whole number");
}

TEST(bench_leak_depth_range_is_checked_like_every_other_option)
{
    if (!bench_refused("leak --depth 3", "--depth 3 is out of range: 4 to 28")) return;
    bench_refused("leak --depth 29", "out of range");
    bench_refused("leak --dir ''", "needs a value");
    /* `all` accepts only what every workload reading the option accepts,
     * checked before the first workload runs. */
    bench_refused("all --depth 2", "--depth 2 is out of range: 4 to 28");
}

/* What the shell command `cmd` printed (stdout and stderr), into buf. */
static char *shell(const char *cmd, char *buf, size_t size)
{
    char full[1024];
    snprintf(full, sizeof full, "(%s) 2>&1", cmd);
    FILE *p = popen(full, "r");
    size_t n = p ? fread(buf, 1, size - 1, p) : 0;
    buf[n] = 0;
    if (p) pclose(p);
    return buf;
}

TEST(output_to_a_full_disk_exits_nonzero_with_a_message)
{
    if (access("/dev/full", W_OK) != 0) SKIP("/dev/full is missing");
    const char *bin = cli();
    REQUIRE(bin != NULL);
    char cmd[512], out[2048];
    snprintf(cmd, sizeof cmd, "'%s' --version >/dev/full; echo status $?", bin);
    shell(cmd, out, sizeof out);
    CHECK(strstr(out, "status 1") != NULL);
    CHECK(strstr(out, "standard output") != NULL);
    snprintf(cmd, sizeof cmd, "'%s' bench W2 --n 10 >/dev/full; echo status $?", bin);
    shell(cmd, out, sizeof out);
    CHECK(strstr(out, "status 1") != NULL);
}

TEST(demo_in_a_directory_it_cannot_write_exits_1_naming_the_file)
{
    /* A working directory that no longer exists: no file can be created in
     * it, even by root (for whom permission bits do not count). */
    char dir[] = "/tmp/rc_cli_gone_XXXXXX", cmd[512], out[8192];
    REQUIRE(mkdtemp(dir) != NULL);
    const char *bin = cli();
    REQUIRE(bin != NULL);
    snprintf(cmd, sizeof cmd, "cd '%s' && rmdir '%s' && '%s' demo objgraph 2>&1 >/dev/null; echo status $?",
             dir, dir, bin);
    shell(cmd, out, sizeof out);
    CHECK(strstr(out, "status 1") != NULL);
    CHECK(strstr(out, "objgraph-refs.png") != NULL);
    if (!strstr(out, "status 1")) fprintf(stderr, "  %s", out);
}

TEST(demo_cycle_stays_after_return_and_goes_at_the_collection)
{
    REQUIRE(run("demo cycle") == 0);
    CHECK_EQ_INT(res.status, 0);
    CHECK(has_line_starting(res.out, "== cycle:"));
    CHECK(!has_line_starting(res.out, "== function:"));   /* only the scenario named */
    CHECK(has_line_starting(res.out, "rc_gc_collect(heap, 2) found 2 unreachable objects"));

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

TEST(demo_release_names_the_use_after_release)
{
    REQUIRE(run("demo release") == 0);
    CHECK_EQ_INT(res.status, 0);
    CHECK(has_line_starting(res.out, "print(a) after del a: stopped by signal"));
    CHECK(strstr(res.out, "rc_refcount(") != NULL);
    /* The freed list's type is named while its page is still there; the
     * release gave the page back to the system, so the check finds no heap. */
    CHECK(strstr(res.out, "use of a freed object of type 'list'") != NULL ||
          strstr(res.out, "not an object of any recycle heap") != NULL);
}

TEST(demo_leak_names_every_site_relative_to_the_source_root)
{
    char dir[] = "/tmp/rc_cli_leak_XXXXXX", cmd[512];
    REQUIRE(mkdtemp(dir) != NULL);
    const char *bin = cli();
    REQUIRE(bin != NULL);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' demo leak", dir, bin);
    static char out[1 << 16];
    shell(cmd, out, sizeof out);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "  could not remove %s\n", dir);
    const char *sites = strstr(out, "allocation sites, compared with the baseline");
    REQUIRE(sites != NULL);
    /* the three rows: the session's, its str's and its tuple's lines */
    size_t rows = 0;
    for (const char *p = sites; (p = strstr(p, "\ntools/cli/demo.c:")) != NULL; p++) rows++;
    CHECK_EQ_INT(rows, 3);
    CHECK(strstr(sites, "\n?:") == NULL);          /* no unknown site */
    CHECK(strstr(out, "/tools/cli/demo.c") == NULL); /* no absolute path */
    CHECK(strstr(out, "KB per request") != NULL);
    CHECK(strstr(out, "what stays above the start") != NULL);
}

TEST(demo_generations_shows_each_collection_kind_and_freeze)
{
    REQUIRE(run("demo generations") == 0);
    CHECK_EQ_INT(res.status, 0);
    if (res.err[0]) fprintf(stderr, "  stderr: %s", res.err);
    CHECK_EQ_INT(res.err[0], 0);
    CHECK(has_line_starting(res.out, "thresholds: 2000 10 10"));
    /* the callback printed the first collections as they ran */
    CHECK(strstr(res.out, "gc callback: a collection of generation 0") != NULL);
    CHECK(has_line_starting(res.out, "after passing the threshold: get_count"));
    CHECK(strstr(res.out, "young collections (generation 0) meanwhile:") != NULL);
    CHECK(has_line_starting(res.out, "generation 2: "));
    CHECK(has_line_starting(res.out, "after rc_gc_freeze: get_count"));
    /* 1,000,000 lists plus what was kept before are frozen */
    const char *f = strstr(res.out, "gc.freeze(): ");
    REQUIRE(f != NULL);
    CHECK(strtoul(f + strlen("gc.freeze(): "), NULL, 10) > 1000000);
    /* the full collection gave the piled-up cycles' memory back */
    double piled = memory_figure(res.out, "after 500,000 cycles, collection disabled");
    double full = memory_figure(res.out, "after a full collection");
    if (strstr(res.out, "memory used: unknown")) return;
    REQUIRE(piled >= 0 && full >= 0);
    if (!strstr(res.out, "AddressSanitizer")) CHECK(piled - full > 20);
}

RC_TEST_MAIN
