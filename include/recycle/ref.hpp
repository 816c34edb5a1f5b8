/*
 * recycle/ref.hpp -- recycle::ref<T>, a C++ handle that owns one reference.
 *
 * The C++ form of <recycle/scoped.h>: a ref drops its reference
 * (rc_decref) when it is destroyed, so every return path, exception and
 * container erase lets go by itself. C++11 or later; header-only.
 *
 *     #include <recycle/ref.hpp>
 *
 *     recycle::ref<node> n = recycle::make<node>(heap, &node_type);
 *     if (!n) return nullptr;                  // out of memory: nothing held
 *     n->payload = 1;
 *     std::vector<recycle::ref<node>> v;
 *     v.push_back(std::move(n));               // the vector owns it now
 *     return v.back().share();                 // another reference, for the caller
 *
 * Ownership:
 *   - ref<T>::adopt(p) takes over a reference the caller owns (a new
 *     reference from rc_new, rc_list_new, ...): no incref; the ref drops it.
 *   - ref<T>::borrow(p) takes a reference of its own (rc_incref) to a
 *     borrowed pointer (rc_as_obj of rc_list_get's value, a field, a
 *     parameter).
 *   - There is no constructor from a raw pointer: which of the two is meant
 *     is always written out.
 *   - Moving hands the reference on; the moved-from ref is empty.
 *   - Copying is not implicit (copy construction and copy assignment are
 *     deleted): a second reference is taken where it is written, with
 *     share(). A count goes up only where the code says so (borrow,
 *     share), as in the C API, and a ref<T> can still be stored in
 *     standard containers (they move it).
 *   - release() hands the reference on without dropping it (the C
 *     rc_steal); reset() drops it now.
 *   - The heap must outlive its refs: destroy or reset every ref to a heap's
 *     objects before rc_heap_free.
 * Every member is noexcept and O(1), except where dropping the last
 * reference frees an object (and what it alone kept alive: rc_decref).
 *
 * T is the user struct of an object (or void); an empty ref holds nullptr.
 * Heaps are used by one thread at a time (<recycle.h>), and so are refs.
 */
#ifndef RECYCLE_REF_HPP
#define RECYCLE_REF_HPP

#include "../recycle.h"

#include <cstddef>
#include <utility>

namespace recycle {

template <class T>
class ref {
public:
    /* The user struct the object is (as std::unique_ptr's element_type). */
    typedef T element_type;

    /* An empty ref (holds nothing). */
    ref() noexcept : p_(nullptr) {}
    ref(std::nullptr_t) noexcept : p_(nullptr) {}

    /* Take over the reference the caller owns to `p` (NULL: an empty ref). */
    static ref adopt(T *p) noexcept { return ref(p); }

    /* Take a new reference to `p` (rc_incref; NULL: an empty ref). The
     * caller's pointer stays as valid as it was. */
    static ref borrow(T *p) noexcept
    {
        if (p) rc_incref(obj(p));
        return ref(p);
    }

    /* Hands the reference on; `other` is left empty. */
    ref(ref &&other) noexcept : p_(other.p_) { other.p_ = nullptr; }
    /* Drops the reference held (if any) and takes `other`'s; `other` is
     * left empty. Moving a ref into itself keeps its reference. */
    ref &operator=(ref &&other) noexcept
    {
        if (this != &other) {
            T *old = p_;
            p_ = other.p_;
            other.p_ = nullptr;
            if (old) rc_decref(obj(old));
        }
        return *this;
    }
    /* Drops the reference held (if any). */
    ref &operator=(std::nullptr_t) noexcept
    {
        reset();
        return *this;
    }

    /* No implicit copies: write share() where a second reference is meant. */
    ref(const ref &) = delete;
    ref &operator=(const ref &) = delete;

    /* Drops the reference held (if any). */
    ~ref() { reset(); }

    /* A second ref to the same object (rc_incref); empty if this is. */
    ref share() const noexcept { return borrow(p_); }

    /* The object, borrowed: valid while this ref (or another owner) holds
     * it. nullptr when empty. */
    T *get() const noexcept { return p_; }

    /* Hands the reference on without dropping it: returns the object (the
     * caller now owns that reference and must rc_decref it or adopt it
     * into another ref) and leaves this ref empty. nullptr when empty. */
    T *release() noexcept
    {
        T *p = p_;
        p_ = nullptr;
        return p;
    }

    /* Drops the reference held now (rc_decref; nothing when empty) and
     * leaves the ref empty. */
    void reset() noexcept
    {
        T *p = p_;
        p_ = nullptr;   /* before the decref: a finalizer may look at this ref */
        if (p) rc_decref(obj(p));
    }

    /* Exchanges the objects of two refs (no count changes). */
    void swap(ref &other) noexcept { std::swap(p_, other.p_); }

    /* Whether the ref holds an object. */
    explicit operator bool() const noexcept { return p_ != nullptr; }

    /* The object's members (the ref must not be empty). */
    T *operator->() const noexcept { return p_; }
    template <class U = T>
    U &operator*() const noexcept { return *p_; }

private:
    explicit ref(T *p) noexcept : p_(p) {}
    static void *obj(T *p) noexcept { return const_cast<void *>(static_cast<const void *>(p)); }

    T *p_;
};

/* Refs compare by the object they hold (identity, as Python's `is`). */
template <class T, class U>
bool operator==(const ref<T> &a, const ref<U> &b) noexcept { return a.get() == b.get(); }
template <class T, class U>
bool operator!=(const ref<T> &a, const ref<U> &b) noexcept { return a.get() != b.get(); }
template <class T>
bool operator==(const ref<T> &a, std::nullptr_t) noexcept { return !a; }
template <class T>
bool operator!=(const ref<T> &a, std::nullptr_t) noexcept { return static_cast<bool>(a); }

template <class T>
void swap(ref<T> &a, ref<T> &b) noexcept { a.swap(b); }

/* A new object of `type` (rc_new), adopted: T is its user struct. An empty
 * ref when rc_new fails (rc_heap_error(heap) says why). */
template <class T>
ref<T> make(rc_heap *heap, const rc_type *type) noexcept
{
    return ref<T>::adopt(static_cast<T *>(rc_new(heap, type)));
}

} // namespace recycle

#endif /* RECYCLE_REF_HPP */
