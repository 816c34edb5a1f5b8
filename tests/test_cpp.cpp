/*
 * test_cpp.cpp -- recycle::ref<T> (<recycle/ref.hpp>): adopt and borrow,
 * move, share, release, reset, early returns and exceptions, and refs in a
 * std::vector; leaks are seen as the heap's live-object count not returning
 * to where it started. Also: every public C header compiles as C++ (C++11).
 */
#include <recycle.h>
#include <recycle/builtins.h>
#include <recycle/gc.h>
#include <recycle/leak.h>
#include <recycle/memory.h>
#include <recycle/ref.hpp>
#include <recycle/scoped.h>
#include <recycle/weakref.h>

#include "harness.h"

#include <algorithm>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

using recycle::ref;

struct node {
    node *child;   /* the one slot */
    long payload;
};

static rc_type make_node_type()
{
    rc_type t = rc_type();
    t.name = "node";
    t.size = sizeof(node);
    t.slots_offset = 0;
    t.nslots = 1;
    return t;
}
static const rc_type node_type = make_node_type();

/* The design decisions, checked at compile time. */
static_assert(!std::is_copy_constructible<ref<node>>::value, "no implicit copies");
static_assert(!std::is_copy_assignable<ref<node>>::value, "no implicit copies");
static_assert(std::is_nothrow_move_constructible<ref<node>>::value, "vector moves, never copies");
static_assert(std::is_nothrow_move_assignable<ref<node>>::value, "noexcept move assignment");
static_assert(!std::is_convertible<node *, ref<node>>::value, "adopt or borrow, said aloud");
static_assert(!std::is_constructible<ref<node>, node *>::value, "adopt or borrow, said aloud");
static_assert(!std::is_convertible<ref<node>, bool>::value, "operator bool is explicit");
static_assert(std::is_constructible<bool, ref<node>>::value, "if (r) works");
static_assert(sizeof(ref<node>) == sizeof(node *), "a ref is a pointer");

static size_t live(rc_heap *h)
{
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    return st.objects;
}

static rc_heap *quiet_heap()
{
    rc_heap *h = rc_heap_new(NULL);
    rc_gc_disable(h);
    return h;
}

/* Store `child` in n's slot (n takes its own reference). */
static void link(node *n, node *child)
{
    rc_incref(child);
    n->child = child;
}

TEST(adopt_takes_over_and_the_destructor_drops)
{
    rc_heap *h = quiet_heap();
    size_t start = live(h);
    {
        ref<node> n = ref<node>::adopt(static_cast<node *>(rc_new(h, &node_type)));
        REQUIRE(n);
        CHECK_EQ_INT(rc_refcount(n.get()), 1);
        CHECK_EQ_INT(live(h), start + 1);
    }
    CHECK_EQ_INT(live(h), start);
    rc_heap_free(h);
}

TEST(borrow_takes_a_reference_of_its_own)
{
    rc_heap *h = quiet_heap();
    node *raw = static_cast<node *>(rc_new(h, &node_type));
    REQUIRE(raw != NULL);
    {
        ref<node> b = ref<node>::borrow(raw);
        CHECK(b.get() == raw);
        CHECK_EQ_INT(rc_refcount(raw), 2);
    }
    CHECK_EQ_INT(rc_refcount(raw), 1);
    rc_decref(raw);
    CHECK_EQ_INT(live(h), 0);
    rc_heap_free(h);
}

TEST(empty_refs_hold_nothing)
{
    ref<node> a;
    ref<node> b = nullptr;
    ref<node> c = ref<node>::adopt(NULL);
    ref<node> d = ref<node>::borrow(NULL);
    CHECK(!a && !b && !c && !d);
    CHECK(a == nullptr && a.get() == NULL);
    CHECK(a.release() == NULL);
    a.reset();
    CHECK(!a.share());
}

TEST(move_hands_the_reference_on)
{
    rc_heap *h = quiet_heap();
    size_t start = live(h);
    {
        ref<node> a = recycle::make<node>(h, &node_type);
        REQUIRE(a);
        node *raw = a.get();
        ref<node> b(std::move(a));
        CHECK(!a && b.get() == raw);
        CHECK_EQ_INT(rc_refcount(raw), 1);
        ref<node> c;
        c = std::move(b);
        CHECK(!b && c.get() == raw);
        CHECK_EQ_INT(rc_refcount(raw), 1);
        ref<node> &alias = c;
        c = std::move(alias);   /* into itself: keeps its reference */
        CHECK(c.get() == raw);
        CHECK_EQ_INT(rc_refcount(raw), 1);
        ref<node> d = recycle::make<node>(h, &node_type);
        REQUIRE(d);
        CHECK_EQ_INT(live(h), start + 2);
        d = std::move(c);   /* d's old object is dropped */
        CHECK_EQ_INT(live(h), start + 1);
        CHECK(d.get() == raw);
    }
    CHECK_EQ_INT(live(h), start);
    rc_heap_free(h);
}

TEST(share_is_the_one_way_to_copy)
{
    rc_heap *h = quiet_heap();
    ref<node> a = recycle::make<node>(h, &node_type);
    REQUIRE(a);
    {
        ref<node> b = a.share();
        CHECK(a == b);
        CHECK_EQ_INT(rc_refcount(a.get()), 2);
    }
    CHECK_EQ_INT(rc_refcount(a.get()), 1);
    a = nullptr;
    CHECK_EQ_INT(live(h), 0);
    rc_heap_free(h);
}

TEST(release_hands_on_without_dropping)
{
    rc_heap *h = quiet_heap();
    node *raw;
    {
        ref<node> a = recycle::make<node>(h, &node_type);
        REQUIRE(a);
        raw = a.release();
        CHECK(!a);
    }
    CHECK_EQ_INT(live(h), 1);
    CHECK_EQ_INT(rc_refcount(raw), 1);
    ref<node> back = ref<node>::adopt(raw);   /* and back into a ref */
    CHECK_EQ_INT(rc_refcount(raw), 1);
    back.reset();
    CHECK_EQ_INT(live(h), 0);
    rc_heap_free(h);
}

TEST(reset_drops_now)
{
    rc_heap *h = quiet_heap();
    ref<node> a = recycle::make<node>(h, &node_type);
    REQUIRE(a);
    CHECK_EQ_INT(live(h), 1);
    a.reset();
    CHECK(!a);
    CHECK_EQ_INT(live(h), 0);
    a.reset();   /* empty: nothing */
    rc_heap_free(h);
}

/* Builds parent -> child with several early returns, handing the parent on
 * only on success. */
static ref<node> build(rc_heap *h, int fail)
{
    ref<node> parent = recycle::make<node>(h, &node_type);
    if (!parent || fail == 1) return nullptr;
    ref<node> child = recycle::make<node>(h, &node_type);
    if (!child || fail == 2) return nullptr;
    link(parent.get(), child.get());
    if (fail == 3) return nullptr;
    if (fail == 4) throw std::runtime_error("gave up");
    return parent;
}

TEST(early_returns_and_exceptions_leak_nothing)
{
    rc_heap *h = quiet_heap();
    size_t start = live(h);
    for (int fail = 1; fail <= 3; fail++) {
        CHECK(!build(h, fail));
        CHECK_EQ_INT(live(h), start);
    }
    bool thrown = false;
    try {
        build(h, 4);
    } catch (const std::runtime_error &) {
        thrown = true;
    }
    CHECK(thrown);
    CHECK_EQ_INT(live(h), start);
    {
        ref<node> p = build(h, 0);
        REQUIRE(p);
        CHECK_EQ_INT(live(h), start + 2);
        CHECK_EQ_INT(rc_refcount(p.get()), 1);
        CHECK_EQ_INT(rc_refcount(p->child), 1);   /* the parent's */
    }
    CHECK_EQ_INT(live(h), start);
    rc_heap_free(h);
}

TEST(a_vector_of_refs_owns_its_objects)
{
    rc_heap *h = quiet_heap();
    size_t start = live(h);
    {
        std::vector<ref<node> > v;
        for (long i = 0; i < 100; i++) {   /* several reallocations: moves */
            ref<node> n = recycle::make<node>(h, &node_type);
            REQUIRE(n);
            n->payload = i;
            v.push_back(std::move(n));
        }
        CHECK_EQ_INT(live(h), start + 100);
        for (size_t i = 0; i < v.size(); i++) CHECK_EQ_INT(rc_refcount(v[i].get()), 1);
        v.erase(v.begin(), v.begin() + 10);
        CHECK_EQ_INT(live(h), start + 90);
        std::reverse(v.begin(), v.end());   /* swaps: no count changes */
        CHECK_EQ_INT(v.front()->payload, 99);
        CHECK_EQ_INT(live(h), start + 90);
        ref<node> kept = v.back().share();
        v.resize(50);
        CHECK_EQ_INT(live(h), start + 51);
        CHECK_EQ_INT(rc_refcount(kept.get()), 1);
        CHECK_EQ_INT(kept->payload, 10);
    }
    CHECK_EQ_INT(live(h), start);
    rc_heap_free(h);
}

TEST(refs_to_built_ins_and_void)
{
    rc_heap *h = quiet_heap();
    {
        ref<rc_list> l = recycle::make<rc_list>(h, NULL);   /* rc_new refuses a NULL type */
        CHECK(!l);
        l = ref<rc_list>::adopt(rc_list_new(h, 0));
        REQUIRE(l);
        ref<void> s = ref<void>::adopt(rc_str_from_cstr(h, "x"));
        REQUIRE(s);
        REQUIRE(rc_list_append(l.get(), rc_obj(s.get())) == 0);
        CHECK_EQ_INT(rc_refcount(s.get()), 2);
        s.reset();
        CHECK_EQ_INT(live(h), 2);
    }
    CHECK_EQ_INT(live(h), 0);
    rc_heap_free(h);
}

TEST(scoped_h_works_in_cpp_too)
{
    rc_heap *h = quiet_heap();
    node *out;
    {
        RC_AUTO node *n = static_cast<node *>(rc_new(h, &node_type));
        RC_AUTO node *dropped = static_cast<node *>(rc_new(h, &node_type));
        REQUIRE(n && dropped);
        out = rc_steal(&n);
    }
    CHECK_EQ_INT(live(h), 1);
    ref<node>::adopt(out);   /* a temporary: dropped at the end of the statement */
    CHECK_EQ_INT(live(h), 0);
    rc_heap_free(h);
}

RC_TEST_MAIN
