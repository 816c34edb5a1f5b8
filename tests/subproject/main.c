/* main.c -- the parent project's program (tests/subproject/CMakeLists.txt):
 * frees a cycle and checks that the library it linked is the version whose
 * header it compiled with. Exit 0 when both hold. */
#include <recycle.h>
#include <stdio.h>
#include <string.h>

typedef struct node { struct node *left, *right; } node;
static const rc_type node_type = {.name = "node", .size = sizeof(node), .nslots = 2};

int main(void)
{
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", RC_VERSION_MAJOR, RC_VERSION_MINOR, RC_VERSION_PATCH);
    if (strcmp(rc_version(), want) || rc_version_number() != RC_VERSION_NUMBER) {
        fprintf(stderr, "compiled with recycle %s, linked with %s\n", want, rc_version());
        return 1;
    }
    rc_heap *heap = rc_heap_new(NULL);
    node *a = rc_new(heap, &node_type), *b = rc_new(heap, &node_type);
    a->left = b;
    rc_incref(b);
    b->left = a;
    rc_incref(a);
    rc_decref(a);
    rc_decref(b);
    size_t freed = rc_gc_collect(heap, 2);
    rc_heap_free(heap);
    if (freed != 2) {
        fprintf(stderr, "the collector freed %zu objects, not 2\n", freed);
        return 1;
    }
    printf("recycle %s as a subproject: a cycle of 2 collected\n", rc_version());
    return 0;
}
