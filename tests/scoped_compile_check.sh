#!/bin/sh
# scoped_compile_check.sh CC INCLUDE_DIR -- <recycle/scoped.h> on a compiler
# without __attribute__((cleanup)) (simulated with RC__HAVE_CLEANUP=0):
# a declaration with RC_AUTO or RC_AUTO_VAL must not compile, and the error
# must name what is missing; rc_steal and rc_val_steal must still compile
# (strict C11). With the attribute the same RC_AUTO file compiles.
set -u
cc=$1
inc=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/auto.c" <<'C'
#include <recycle/scoped.h>
int f(rc_heap *h, const rc_type *t);
int f(rc_heap *h, const rc_type *t)
{
    RC_AUTO void *p = rc_new(h, t);
    return p != NULL;
}
C
cat > "$tmp/auto_val.c" <<'C'
#include <recycle/scoped.h>
int f(rc_val x);
int f(rc_val x)
{
    RC_AUTO_VAL rc_val v = x;
    return rc_is_obj(v);
}
C
cat > "$tmp/steal.c" <<'C'
#include <recycle/scoped.h>
void *f(void **pp, rc_val *pv);
void *f(void **pp, rc_val *pv)
{
    rc_val_decref(rc_val_steal(pv));
    return rc_steal(pp);
}
C
fail=0
for f in auto auto_val; do
  if ! "$cc" -std=c11 -Werror -I "$inc" -c "$tmp/$f.c" -o "$tmp/$f.o" 2>"$tmp/err"; then
    echo "$f.c: does not compile with the cleanup attribute:"; cat "$tmp/err"; fail=1
  fi
  if "$cc" -std=c11 -DRC__HAVE_CLEANUP=0 -I "$inc" -c "$tmp/$f.c" -o "$tmp/$f.o" 2>"$tmp/err"; then
    echo "$f.c: compiled without the cleanup attribute (a silent leak)"; fail=1
  elif ! grep -q "RC_AUTO needs __attribute__((cleanup)) (GCC or Clang)" "$tmp/err"; then
    echo "$f.c: the error does not say what is missing:"; cat "$tmp/err"; fail=1
  fi
done
if ! "$cc" -std=c11 -pedantic -Werror -DRC__HAVE_CLEANUP=0 -I "$inc" -c "$tmp/steal.c" \
     -o "$tmp/steal.o" 2>"$tmp/err"; then
  echo "steal.c: rc_steal/rc_val_steal do not compile without the attribute:"; cat "$tmp/err"; fail=1
fi
[ $fail = 0 ] && echo "ok: RC_AUTO without the cleanup attribute is a compile error that names it"
exit $fail
