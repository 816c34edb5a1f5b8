/* scene.c -- a scene graph whose nodes keep a growable array of children
 * and a back pointer to their parent: a type with traverse, clear and
 * destroy, and the shared ownership a GUI tree or document model has.
 * Exits 0 when every node was freed. */
#include <recycle.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct scene_node {
    struct scene_node *parent;     /* a reference: every child holds its parent */
    struct scene_node **children;  /* references, in a malloc'd array */
    size_t n, cap;
    int id;
} scene_node;

static int destroyed;

static void scene_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    scene_node *s = obj;
    visit(s->parent, arg);
    for (size_t i = 0; i < s->n; i++) visit(s->children[i], arg);
}

static void scene_clear(void *obj)   /* safe to call twice */
{
    scene_node *s = obj;
    scene_node *p = s->parent;
    size_t n = s->n;
    s->parent = NULL;
    s->n = 0;
    for (size_t i = 0; i < n; i++) {
        scene_node *c = s->children[i];
        s->children[i] = NULL;
        rc_decref(c);
    }
    rc_xdecref(p);
}

static void scene_destroy(void *obj)
{
    free(((scene_node *)obj)->children);
    destroyed++;
}

static const rc_type scene_type = {
    .name = "scene_node", .size = sizeof(scene_node),
    .traverse = scene_traverse, .clear = scene_clear, .destroy = scene_destroy,
};

/* A new child of `parent` (borrowed), owned by the parent; returns it borrowed. */
static scene_node *add_child(rc_heap *heap, scene_node *parent, int id)
{
    scene_node *c = rc_new(heap, &scene_type);
    if (!c) return NULL;
    c->id = id;
    c->parent = parent;
    rc_incref(parent);
    if (parent->n == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 4;
        scene_node **a = realloc(parent->children, cap * sizeof *a);
        if (!a) {
            rc_decref(c);
            return NULL;
        }
        parent->children = a;
        parent->cap = cap;
    }
    parent->children[parent->n++] = c;   /* the parent takes our reference */
    return c;
}

int main(void)
{
    rc_heap *heap = rc_heap_new(NULL);
    scene_node *root = rc_new(heap, &scene_type);
    for (int i = 0; i < 10; i++) {
        scene_node *group = add_child(heap, root, i);
        for (int k = 0; k < 100; k++) add_child(heap, group, i * 100 + k);
    }
    rc_decref(root);   /* every node holds its parent: the whole tree is one big cycle */
    size_t found = rc_gc_collect(heap, 2);   /* found unreachable, as gc.collect() */
    printf("found %zu unreachable scene nodes, %d destroy hooks ran (all freed)\n", found,
           destroyed);
    rc_heap_free(heap);
    return found == 1011 && destroyed == 1011 ? 0 : 1;
}
