/* cycle.c -- two objects that hold each other: refcounting alone cannot
 * free them, the cycle collector does. Exits 0 when it worked. */
#include <recycle.h>
#include <stdio.h>

typedef struct node {
    struct node *left, *right;
} node;

static const rc_type node_type = {
    .name = "node", .size = sizeof(node), .slots_offset = 0, .nslots = 2,
};

int main(void)
{
    rc_heap *heap = rc_heap_new(NULL);
    node *a = rc_new(heap, &node_type), *b = rc_new(heap, &node_type);
    a->left = b;
    rc_incref(b);   /* a holds b */
    b->left = a;
    rc_incref(a);   /* b holds a: a cycle */
    rc_decref(a);
    rc_decref(b);   /* our references are gone; each still holds the other */
    size_t found = rc_gc_collect(heap, 2);   /* found unreachable, as gc.collect() */
    printf("the collector found %zu unreachable objects and freed them\n", found);
    rc_heap_free(heap);
    return found == 2 ? 0 : 1;
}
