#!/bin/sh
# compare_deps_check.sh SCRIPT -- bench/compare_deps.sh (make compare's
# installer) installs only after saying what: with INSTALL=0 it runs nothing
# and fails, with INSTALL=1 or without a terminal it runs apt-get, and with
# nothing missing it says nothing. apt-get is replaced by a recorder.
set -u
script=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/apt" <<'SH'
#!/bin/sh
echo "$*" >> "$(dirname "$0")/calls"
SH
chmod +x "$tmp/apt"
fail() { echo "$1"; cat "$tmp/out"; exit 1; }

RC_DEPS_NEED="pkg-a pkg-b" RC_APT_GET="$tmp/apt" INSTALL=0 sh "$script" </dev/null >"$tmp/out" 2>&1
st=$?
[ "$st" = 1 ] || fail "INSTALL=0 exited $st, not 1"
[ ! -f "$tmp/calls" ] || fail "INSTALL=0 ran apt-get"
grep -q "pkg-a pkg-b" "$tmp/out" || fail "INSTALL=0 did not name the missing packages"

RC_DEPS_NEED="pkg-a pkg-b" RC_APT_GET="$tmp/apt" sh "$script" </dev/null >"$tmp/out" 2>&1
st=$?
[ "$st" = 0 ] || fail "without a terminal it exited $st, not 0"
grep -q "install -y pkg-a pkg-b" "$tmp/out" || fail "it did not say what it runs before running it"
grep -qx "install -y pkg-a pkg-b" "$tmp/calls" || fail "without a terminal it did not install"
rm -f "$tmp/calls"

RC_DEPS_NEED="pkg-a" RC_APT_GET="$tmp/apt" INSTALL=1 sh "$script" </dev/null >"$tmp/out" 2>&1
[ $? = 0 ] && grep -qx "install -y pkg-a" "$tmp/calls" || fail "INSTALL=1 did not install"
rm -f "$tmp/calls"

RC_DEPS_NEED="" RC_APT_GET="$tmp/apt" INSTALL=0 sh "$script" </dev/null >"$tmp/out" 2>&1
[ $? = 0 ] && [ ! -s "$tmp/out" ] && [ ! -f "$tmp/calls" ] || fail "with nothing missing it did something"

# On a terminal it asks, and "n" installs nothing (needs script(1)).
if command -v script >/dev/null 2>&1; then
  printf 'n\n' | RC_DEPS_NEED="pkg-a" RC_APT_GET="$tmp/apt" \
    script -qec "sh '$script'" /dev/null >"$tmp/out" 2>&1
  grep -q "install them now?" "$tmp/out" || fail "on a terminal it did not ask"
  [ ! -f "$tmp/calls" ] || fail "on a terminal, answered n, it installed"
fi
echo "ok: make compare names what it installs, asks on a terminal, and INSTALL=0/1 decide"
