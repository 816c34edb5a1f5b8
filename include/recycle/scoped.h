/*
 * recycle/scoped.h -- references that let go by themselves.
 *
 * In Python a name going out of scope drops its reference; in C every early
 * return is a chance to forget rc_decref. This header gives C what glib's
 * g_autoptr and systemd's _cleanup_ give: a variable declared with RC_AUTO
 * drops its reference when control leaves its scope, by any path (return,
 * break, continue, goto out of the block, or the closing brace):
 *
 *     #include <recycle/scoped.h>
 *
 *     static node *load(rc_heap *heap, const char *path)
 *     {
 *         RC_AUTO node *n = rc_new(heap, &node_type);
 *         if (!n) return NULL;              // nothing to drop
 *         if (!parse(n, path)) return NULL; // n dropped here
 *         return rc_steal(&n);              // handed to the caller, not dropped
 *     }
 *
 * What is here:
 *   RC_AUTO         a declaration prefix for object pointers: rc_decref at
 *                   scope exit, nothing when the variable is NULL.
 *   RC_AUTO_VAL     the same for rc_val variables: rc_val_decref at scope
 *                   exit (immediates and RC_EMPTY hold nothing: no effect).
 *   rc_steal(&p)    returns p and sets p to NULL: the reference is handed
 *                   on (returned, stored) instead of dropped. Typed in GCC
 *                   and Clang (the result has p's type).
 *   rc_val_steal(&v) returns v and sets v to RC_EMPTY.
 *
 * Rules:
 *   - The variable must hold a reference the scope owns (a new reference,
 *     or one taken with rc_incref), or NULL. Never declare a borrowed
 *     pointer RC_AUTO: its owner would lose a reference it still counts on.
 *   - Initialise it in the declaration (NULL is fine): a jump forward past
 *     the declaration into its scope would drop an uninitialised pointer.
 *   - The prefix applies to every variable of the declaration:
 *     `RC_AUTO node *a = x, *b = y;` drops both (the last declared first).
 *   - RC_AUTO is for object pointers (any `T *`), RC_AUTO_VAL for rc_val;
 *     RC_AUTO on a variable that is not a pointer is an error the compiler
 *     cannot see (the cleanup reads a pointer's worth of bytes from it).
 *   - Assigning to an RC_AUTO variable does not drop what it held: drop
 *     or steal the old reference first (or use a new variable).
 *   - The heap must outlive the variable: rc_heap_free with an RC_AUTO
 *     variable of that heap still in scope makes its exit a use after free.
 *   - Cleanups run when a scope is left by the language's own control flow.
 *     longjmp, exit() and abort() leave without them (as in glib/systemd).
 *
 * Compilers: RC_AUTO and RC_AUTO_VAL use __attribute__((cleanup)), GCC's and
 * Clang's extension: used when the compiler says __has_attribute(cleanup),
 * or has no __has_attribute and defines __GNUC__. On any other compiler the
 * header still compiles and rc_steal / rc_val_steal work (rc_steal then
 * returns void *), but a declaration using RC_AUTO or RC_AUTO_VAL fails to
 * compile with the message "RC_AUTO needs __attribute__((cleanup)) (GCC or
 * Clang)" -- never a silent leak.
 * In C++, prefer recycle::ref<T> (<recycle/ref.hpp>); this header compiles
 * there too with g++ and clang++.
 *
 * Not included by <recycle.h>: that header is plain C11; include this one
 * where you want the extension.
 *
 * Cost: one inline NULL test and rc_decref at each scope exit, as the
 * hand-written call would cost.
 */
#ifndef RECYCLE_SCOPED_H
#define RECYCLE_SCOPED_H

#include "../recycle.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Whether the compiler has __attribute__((cleanup)): 1 or 0. Detected
 * unless defined before the include (the library's own tests define it 0
 * to check the message a compiler without it gives). */
#ifndef RC__HAVE_CLEANUP
#if defined(__has_attribute)
#if __has_attribute(cleanup)
#define RC__HAVE_CLEANUP 1
#endif
#elif defined(__GNUC__)
#define RC__HAVE_CLEANUP 1
#endif
#endif
#ifndef RC__HAVE_CLEANUP
#define RC__HAVE_CLEANUP 0
#endif

/* The cleanup RC_AUTO installs: `pp` points at the variable (a `T *`);
 * rc_decref what it holds unless NULL. The pointer is read with memcpy, so
 * a variable of any object pointer type works. Not for direct use. */
static inline void rc__auto_decref(void *pp)
{
    void *p;
    memcpy(&p, pp, sizeof p);
    if (p) rc_decref(p);
}

/* The cleanup RC_AUTO_VAL installs: rc_val_decref the value `*pv`. Not for
 * direct use. */
static inline void rc__auto_val_decref(rc_val *pv)
{
    rc_val_decref(*pv);
}

#if RC__HAVE_CLEANUP
/* Declaration prefix: the object pointers declared get rc_decref'd (when
 * not NULL) as control leaves their scope. `RC_AUTO node *n = rc_new(...);` */
#define RC_AUTO __attribute__((cleanup(rc__auto_decref)))
/* Declaration prefix: the rc_val variables declared get rc_val_decref'd as
 * control leaves their scope. `RC_AUTO_VAL rc_val v = RC_EMPTY;` */
#define RC_AUTO_VAL __attribute__((cleanup(rc__auto_val_decref)))
#else
#ifdef __cplusplus
#define RC__NO_CLEANUP static_assert(0, "RC_AUTO needs __attribute__((cleanup)) (GCC or Clang)");
#else
#define RC__NO_CLEANUP _Static_assert(0, "RC_AUTO needs __attribute__((cleanup)) (GCC or Clang)");
#endif
/* Without the cleanup attribute: a compile error naming what is missing. */
#define RC_AUTO RC__NO_CLEANUP
#define RC_AUTO_VAL RC__NO_CLEANUP
#endif

/* Hand a reference on: returns *pp and sets *pp to NULL, so an RC_AUTO
 * variable passed as `pp` (`rc_steal(&n)`) is not dropped at scope exit and
 * the caller of rc_steal now owns its reference (to return or store).
 * `pp` points at an object pointer variable; NULL stays NULL. O(1). With GCC
 * and Clang a macro of the same name gives the result the variable's type;
 * `(rc_steal)(&p)` is the function, returning void *. */
static inline void *rc_steal(void *pp)
{
    void *p, *null = NULL;
    memcpy(&p, pp, sizeof p);
    memcpy(pp, &null, sizeof null);
    return p;
}
#if defined(__GNUC__) || defined(__clang__)
#define rc_steal(pp) ((__typeof__(*(pp)))(rc_steal)(pp))
#endif

/* Hand a value's reference on: returns *pv and sets *pv to RC_EMPTY (which
 * RC_AUTO_VAL's cleanup ignores). O(1). */
static inline rc_val rc_val_steal(rc_val *pv)
{
    rc_val v = *pv;
    *pv = RC_EMPTY;
    return v;
}

#ifdef __cplusplus
}
#endif
#endif /* RECYCLE_SCOPED_H */
