/*
 * harness.h -- the tests' tiny harness. Each test file defines TEST(name)
 * functions; main (from RC_TEST_MAIN) runs them all, or those whose name
 * contains argv[1], and ends with the line "N passed, N failed".
 * CHECK records a failure and goes on; REQUIRE stops the test.
 *
 * SKIP(why) ends a test that cannot run here (a tool such as Graphviz or
 * node is missing): it prints "skipped: why" and the line "skip NAME". A run
 * with no failure and at least one skip exits with RC_TEST_SKIP_CODE (77),
 * which CMake registers as SKIP_RETURN_CODE, so CTest reports the file as
 * skipped, never as passed. With RC_REQUIRE_TOOLS set to anything but "0"
 * (CI sets it: it installs every tool) -- or, when it is unset, with CI
 * set -- a skip is a failure instead.
 */
#ifndef RC_TEST_HARNESS_H
#define RC_TEST_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*rc_test_fn)(void);
struct rc_test_entry { const char *name; rc_test_fn fn; };

extern struct rc_test_entry rc_tests_[];
extern int rc_ntests_;
extern int rc_test_failed_;
extern int rc_test_skipped_;

#define RC_TEST_SKIP_CODE 77

/* What SKIP records: a skip, or a failure when tools are required. */
static inline void rc_test_skip_(const char *why)
{
    const char *req = getenv("RC_REQUIRE_TOOLS");
    int required = req ? strcmp(req, "0") != 0 && *req : getenv("CI") != NULL;
    if (required) {
        fprintf(stderr, "  %s, and RC_REQUIRE_TOOLS (or CI) says every tool must be there\n", why);
        rc_test_failed_ = 1;
    } else {
        fprintf(stderr, "  skipped: %s\n", why);
        rc_test_skipped_ = 1;
    }
}
#define SKIP(why)                                                             \
    do {                                                                      \
        rc_test_skip_(why);                                                   \
        return;                                                               \
    } while (0)

#define TEST(tname)                                                           \
    static void test_##tname(void);                                          \
    __attribute__((constructor)) static void register_##tname(void)            \
    {                                                                         \
        rc_tests_[rc_ntests_].name = #tname;                                   \
        rc_tests_[rc_ntests_++].fn = test_##tname;                             \
    }                                                                         \
    static void test_##tname(void)

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            rc_test_failed_ = 1;                                              \
        }                                                                     \
    } while (0)

#define REQUIRE(cond)                                                         \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "  %s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond); \
            rc_test_failed_ = 1;                                              \
            return;                                                           \
        }                                                                     \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                    \
    do {                                                                      \
        long long a_ = (long long)(a), b_ = (long long)(b);                   \
        if (a_ != b_) {                                                       \
            fprintf(stderr, "  %s:%d: CHECK failed: %s == %s (%lld != %lld)\n", \
                    __FILE__, __LINE__, #a, #b, a_, b_);                      \
            rc_test_failed_ = 1;                                              \
        }                                                                     \
    } while (0)

#define RC_TEST_MAIN                                                          \
    struct rc_test_entry rc_tests_[1024];                                     \
    int rc_ntests_;                                                           \
    int rc_test_failed_;                                                      \
    int rc_test_skipped_;                                                     \
    int main(int argc, char **argv)                                           \
    {                                                                         \
        int passed = 0, failed = 0, skipped = 0;                              \
        for (int i = 0; i < rc_ntests_; i++) {                                \
            if (argc > 1 && !strstr(rc_tests_[i].name, argv[1])) continue;    \
            rc_test_failed_ = 0;                                              \
            rc_test_skipped_ = 0;                                             \
            rc_tests_[i].fn();                                                \
            printf("%s %s\n", rc_test_failed_ ? "FAIL" : rc_test_skipped_ ? "skip" : "ok  ", \
                   rc_tests_[i].name);                                        \
            if (rc_test_failed_) failed++;                                    \
            else if (rc_test_skipped_) skipped++;                             \
            else passed++;                                                    \
        }                                                                     \
        printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped); \
        if (failed) return 1;                                                 \
        if (skipped) return RC_TEST_SKIP_CODE;                                \
        return passed ? 0 : 1;                                                \
    }

#endif
