#!/bin/bash
# SPDX-License-Identifier: MIT
# exerciser.sh - every wrapped entry point, differentially: tests/tools/
# exerciser calls each row of shim/syscalls.def on an extracted copy of the
# fixture, then under the shim on the same fixture seen at a mount point
# (fresh upper layer), and the outputs must agree.  One test per row (the
# first word of each line): its lines in both runs, in order.
. "$(dirname "$0")/lib.sh"
tool=$build/tools/exerciser

if [ ! -x "$tool" ] || [ ! -f "$LIB" ]; then
	not_ok "build has $tool and $LIB"
	finish
	exit
fi

# The fixture, plus what the exerciser needs: symlink loops, a symlink to
# a directory, an ELF program stored in the tree, and files no other case
# touches before the one that changes them.
setup_fixture
fx=$T/fixture
ln -s loop.b "$fx/loop.a"
ln -s loop.a "$fx/loop.b"
ln -s docs "$fx/docs.link"
cp /bin/echo "$fx/bin/echo"
for f in share attr meta dup lock; do
	printf '%s\n' "$f" > "$fx/$f.txt"
done
tar -C "$fx" -cf "$T/fixture.tar" .
FIXSUM=$(md5sum < "$T/fixture.tar")

ref=$T/ref
UPPER=$T/up
mkdir -p "$ref" "$UPPER" "$T/scratch"
tar -C "$ref" -xf "$LOWER"

# Both runs start in the same host directory, outside the tree.  The run
# on the real tree checks the exerciser's own leaks even in a sanitizer
# build; under the shim, lib.sh's settings apply.
(cd "$T/scratch" && ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1 \
	"$tool" "$ref") > "$T/plain.out" 2> "$T/plain.err"
rc_plain=$?
(cd "$T/scratch" && shim "$tool" "$MNT") > "$T/view.out" 2> "$T/view.err"
rc_view=$?

if [ $rc_plain -eq 0 ] && [ ! -s "$T/plain.err" ]; then
	ok "exerciser runs on the real tree"
else
	not_ok "exerciser runs on the real tree (exit $rc_plain)" "$(cat "$T/plain.err")"
fi
if [ $rc_view -eq 0 ] && [ ! -s "$T/view.err" ]; then
	ok "exerciser runs through the view"
else
	not_ok "exerciser runs through the view (exit $rc_view)" "$(cat "$T/view.err")"
fi

# Every row the exerciser covers prints at least one line.
covered=$("$tool" --list-covered)
missing=$(printf '%s\n' "$covered" | while read -r row; do
	grep -q "^$row " "$T/plain.out" || echo "$row"
done)
if [ -z "$missing" ]; then
	ok "every covered row prints a line"
else
	not_ok "every covered row prints a line" "$missing"
fi

# One test per row, in the order the rows first appear.
rows=$(cat "$T/plain.out" "$T/view.out" | awk '!seen[$1]++ { print $1 }')
for row in $rows; do
	a=$(awk -v r="$row" '$1 == r' "$T/plain.out")
	b=$(awk -v r="$row" '$1 == r' "$T/view.out")
	if [ "$a" = "$b" ]; then
		ok "$row"
	else
		not_ok "$row" "$(diff <(printf '%s\n' "$a") <(printf '%s\n' "$b") |
			sed -n 's/^</real:/p; s/^>/view:/p')"
	fi
done

check_fixture_intact
finish
