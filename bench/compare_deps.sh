#!/bin/sh
# compare_deps.sh -- what `make compare` needs from Debian beyond the build:
#   gnuplot-nox  gnuplot, which draws the pictures (without it: none)
#   libgc-dev    the Boehm collector (bdwgc), one of the systems compared
#   libmimalloc-dev, libjemalloc-dev   mimalloc and jemalloc, malloc_bench's allocators
#   python3      /usr/bin/python3, which runs bench/compare.py
# Nothing missing: exits 0 at once. Otherwise it says which packages and the
# apt-get command it would run, then:
#   INSTALL=1            runs it;
#   INSTALL=0            does not, and exits 1;
#   INSTALL unset        asks when standard input is a terminal (anything but
#                        y or yes: exits 1); runs it when it is not (CI).
# It runs apt-get directly as root, else through sudo.
# For tests/compare_deps_check.sh: RC_DEPS_NEED replaces what is looked for
# (a package list, "" for nothing missing), RC_APT_GET the apt-get command.
set -eu
if [ -n "${RC_DEPS_NEED+set}" ]; then
  need=$RC_DEPS_NEED
else
  need=""
  command -v gnuplot >/dev/null 2>&1 || need="$need gnuplot-nox"
  [ -f /usr/include/gc.h ] || need="$need libgc-dev"
  [ -f /usr/include/mimalloc.h ] || need="$need libmimalloc-dev"
  [ -f /usr/include/jemalloc/jemalloc.h ] || need="$need libjemalloc-dev"
  [ -x /usr/bin/python3 ] || need="$need python3"
fi
need=$(echo $need)
[ -n "$need" ] || exit 0
apt=${RC_APT_GET:-apt-get}
sudo=""
if [ -z "${RC_APT_GET-}" ] && [ "$(id -u)" != 0 ]; then sudo="sudo "; fi
echo "make compare needs Debian packages that are missing: $need"
echo "  (gnuplot-nox: the pictures; libgc-dev: bdwgc; libmimalloc-dev, libjemalloc-dev:"
echo "  malloc_bench on mimalloc and jemalloc; python3: runs bench/compare.py)"
echo "to install them it runs: ${sudo}$apt update && ${sudo}$apt install -y $need"
case "${INSTALL-}" in
  1|yes) ;;
  0|no)
    echo "INSTALL=$INSTALL: not installing them"
    exit 1 ;;
  *)
    if [ -t 0 ]; then
      printf "install them now? [y/N] (INSTALL=1 answers yes without asking) "
      read -r answer || answer=""
      case "$answer" in
        y|Y|yes|YES) ;;
        *) echo "not installed: install them yourself, or run make compare INSTALL=1"
           exit 1 ;;
      esac
    fi ;;
esac
export DEBIAN_FRONTEND=noninteractive
${sudo}$apt update
${sudo}$apt install -y $need
