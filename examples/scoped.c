/* scoped.c -- references that let go by themselves (<recycle/scoped.h>,
 * GCC or Clang). parse_stock reads "name count" lines into a dict of
 * name -> count; every bad line is an early return, and RC_AUTO drops
 * whatever the function held on each of them. Exits 0 when the good input
 * parsed, the bad ones were refused, and nothing was left behind. */
#include <recycle.h>
#include <recycle/builtins.h>
#include <recycle/scoped.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Says why the input was refused; NULL for parse_stock to return. */
static rc_dict *refuse(const char **err, const char *why)
{
    *err = why;
    return NULL;
}

/* A new dict of name -> count from `text`, or NULL (and why in *err) for
 * input that is not "name count" lines with distinct names. */
static rc_dict *parse_stock(rc_heap *heap, const char *text, const char **err)
{
    RC_AUTO rc_dict *stock = rc_dict_new(heap);
    if (!stock) return refuse(err, "out of memory");
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *space = memchr(line, ' ', len);
        if (!space || space == line) return refuse(err, "a line without a name");
        RC_AUTO rc_str *name = rc_str_new(heap, line, (size_t)(space - line));
        if (!name) return refuse(err, "out of memory");
        char *stop;
        long count = strtol(space + 1, &stop, 10);
        if (stop == space + 1 || stop != line + len) return refuse(err, "a count that is not a number");
        if (rc_dict_contains(stock, rc_obj(name))) return refuse(err, "a name given twice");
        if (rc_dict_set(stock, rc_obj(name), rc_int(count)) != 0) return refuse(err, "out of memory");
        line += len + (end != NULL);
    }   /* each line's name is dropped here: the dict holds its own */
    *err = NULL;
    return rc_steal(&stock);   /* the caller owns the dict now */
}

int main(void)
{
    rc_heap *heap = rc_heap_new(NULL);
    const char *bad[] = {"apples 3\npears x", "apples 3\napples 4", "apples 3\n 4"};
    const char *err;
    int ok = 1;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ok &= parse_stock(heap, bad[i], &err) == NULL;
        printf("refused: %s\n", err);
    }
    rc_heap_stats st;
    rc_heap_get_stats(heap, &st);
    ok &= st.objects == 0;   /* every early return let go of what it held */
    {
        RC_AUTO rc_dict *stock = parse_stock(heap, "apples 3\npears 5\nplums 0", &err);
        ok &= stock && rc_dict_len(stock) == 3 && rc_dict_get_str(stock, "pears") == rc_int(5);
        printf("parsed %zu names; pears: %lld\n", stock ? rc_dict_len(stock) : 0,
               stock ? (long long)rc_as_int(rc_dict_get_str(stock, "pears")) : -1LL);
    }   /* the dict, and the names it holds, go here */
    rc_heap_get_stats(heap, &st);
    ok &= st.objects == 0;
    printf("objects left: %zu\n", st.objects);
    rc_heap_free(heap);
    return ok ? 0 : 1;
}
