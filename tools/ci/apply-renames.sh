#!/bin/sh
# Rename public names as tools/ci/renames.sed lists, in every tracked text
# file of the repository (sources, headers, tests, tools, docs, build files).
#
#   tools/ci/apply-renames.sh           rewrite the files that hold an old name
#   tools/ci/apply-renames.sh --check   rewrite nothing; list each file (and
#                                       line) still holding an old or a gone
#                                       name, exit 1 when there is one
#
# Left alone: bench/results/ (recorded output), .ci/, the two files that
# define the renames (renames.sed, this script), binary files, and in any file
# the lines from one holding "<!-- renames: begin -->" to the next line
# holding "<!-- renames: end -->" (markers on lines of their own; for text
# that must cite an old name).
# Applying it twice changes nothing: the list is refused if a new name is
# also an old one. Run it again after merging work written with old names.
set -eu

check=0
case "${1:-}" in
    --check) check=1 ;;
    "") ;;
    *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
# The tracked files are git's to list: a source tree outside a git checkout
# (an unpacked archive) is skipped (77: CTest says "skipped").
if ! root=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null); then
    echo "skipped: $here is not in a git checkout"
    exit 77
fi
list="$here/renames.sed"
cd "$root"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Old and new names: s/\bOLD\b/NEW/g -> "OLD NEW" (OLD as written in the regex).
sed -n 's|^s/\\b\([^/]*\)/\([^/]*\)/g$|\1 \2|p' "$list" | sed 's/\\b$//' > "$tmp/pairs"
# Gone names: "# gone: NAME".
sed -n 's/^# gone: *\([A-Za-z_0-9]*\) *$/\1/p' "$list" > "$tmp/gone"
if grep -v '^#' "$list" | grep -v '^$' | grep -qv '^s/\\b[^/]*/[^/]*/g$'; then
    echo "$list: a line is neither a comment nor s/\\bOLD\\b/NEW/g:" >&2
    grep -v '^#' "$list" | grep -v '^$' | grep -v '^s/\\b[^/]*/[^/]*/g$' >&2
    exit 2
fi
# Idempotence: no new name may also be an old name.
while read -r old new; do
    if cut -d' ' -f2 "$tmp/pairs" | grep -qx "$old"; then
        echo "$list: '$old' is both an old and a new name: applying twice would rename it again" >&2
        exit 2
    fi
done < "$tmp/pairs"

# The program: skip the marked ranges, then rename.
{
    printf '%s\n' '/<!-- renames: begin -->/,/<!-- renames: end -->/b'
    grep '^s/' "$list"
} > "$tmp/rename.sed"
# For --check: print the lines (outside marked ranges) holding a gone name.
{
    printf '%s\n' '/<!-- renames: begin -->/,/<!-- renames: end -->/b'
    while read -r name; do printf '/\\b%s\\b/p\n' "$name"; done < "$tmp/gone"
} > "$tmp/gone.sed"

# Tracked text files (git grep -I skips binaries), minus the exclusions,
# that hold an old or gone name somewhere; each is then read in full.
{ sed 's/^\([^ ]*\) .*/\\b\1/' "$tmp/pairs"; sed 's/.*/\\b&\\b/' "$tmp/gone"; } > "$tmp/pats"
git grep -lI -f "$tmp/pats" -- . ':!bench/results/' ':!.ci/' \
    ':!tools/ci/renames.sed' ':!tools/ci/apply-renames.sh' > "$tmp/files" || true

status=0
while IFS= read -r f; do
    sed -f "$tmp/rename.sed" "$f" > "$tmp/out"
    if ! cmp -s "$f" "$tmp/out"; then
        if [ $check -eq 1 ]; then
            echo "$f: old names:"
            diff "$f" "$tmp/out" | sed -n 's/^< /  /p'
            status=1
        else
            cat "$tmp/out" > "$f"     # keeps the file's mode
            echo "renamed in $f"
        fi
    fi
    if [ -s "$tmp/gone" ] && [ -n "$(sed -n -f "$tmp/gone.sed" "$f")" ]; then
        echo "$f: removed names (see the '# gone:' lines of tools/ci/renames.sed):"
        sed -n -f "$tmp/gone.sed" "$f" | sed 's/^/  /'
        status=1
    fi
done < "$tmp/files"

if [ $status -ne 0 ]; then
    if [ $check -eq 1 ]; then
        echo "old names remain: run tools/ci/apply-renames.sh, then replace any removed name by hand" >&2
    else
        echo "removed names remain: replace them by hand" >&2
    fi
fi
exit $status
