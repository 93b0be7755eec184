#!/bin/bash
# SPDX-License-Identifier: MIT
# The lower layer is sacred (runs last).  Every test uses its own temporary
# lowers, so this one makes a lower of every kind the suite uses (tar in
# the GNU, ustar and pax formats, tar.gz, tar.xz, tar.zst, tar.bz2, zip,
# cpio, cpio.gz, ISO 9660, a directory at another mount point and a
# directory overlaid in place, the latter also under writable-files
# semantics) from the fixture, runs a job of every kind of change over
# each with the launcher, and checks that each lower is exactly as it was:
# an archive's bytes, size, mtime and ctime; a directory's every entry
# (type, mode, link count, size, mtime, ctime, target, content, xattrs).
# Then `make demo`'s own lower, scripts/demo, must be unchanged in git
# after the demo runs.
. "$(dirname "$0")/lib.sh"
setup_fixture
setfattr -n user.kept -v 1 "$T/fixture/foo" 2>/dev/null

# The job: reads, then every kind of change (with "names": only the ones
# that change names; under writable-files the others change the lower's
# files in place, by design).  Each change that fails is printed (a format
# may lack a feature); what is checked is the lowers.
job='
cd "$1" || exit 99
find . -type f -exec cat {} + > /dev/null
names=("mv docs documents" "mv bin/hello.sh hello.sh" "rm foo.link" "rm -r deep"
	"mkdir -p new/dir" "echo x > new/dir/f" "ln -s foo newlink" "ln foo.hard foo.hard2"
	"cp -a src src2" "mv -f src2/main.c readme.link" "rmdir documents/empty")
contents=("echo more >> foo" ": > documents/numbers.txt" "truncate -s 3 src/main.c"
	"chmod 600 documents/readme.txt" "chown 1:1 src/lib/lib.c"
	"touch -d 2001-01-01 src/lib/lib.c" "sed -i s/int/long/ src/lib/lib.c"
	"setfattr -n user.x -v 1 foo" "setfattr -x user.kept foo"
	"sqlite3 data.db \"insert into t values (3)\"" "exec 3<> foo.hard2 && echo rw >&3")
[ "$2" = names ] && contents=()
for c in "${names[@]}" "${contents[@]}"; do
	case $c in sqlite3*) command -v sqlite3 > /dev/null || continue ;; esac
	case $c in setfattr*) command -v setfattr > /dev/null || continue ;; esac
	eval "$c" 2>/dev/null || echo "failed: $c"
done
test -f new/dir/f && test -d documents && echo "job done"
'

# A directory's full state, as strict as a host path allows.
dir_state() {
	(cd "$1" && find . -printf '%y %m %n %s %T@ %C@ %P -> %l\n' | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r md5sum &&
		{ getfattr -R -d -m - . 2>/dev/null || true; })
}
arc_state() { stat -c '%s %Y %Z' "$1" && md5sum < "$1"; }

fx=$T/fixture
L=$T/lowers
mkdir -p "$L"
tar -C "$fx" --format=gnu -cf "$L/gnu.tar" .
tar -C "$fx" --format=ustar -cf "$L/ustar.tar" .
tar -C "$fx" --format=pax --xattrs -cf "$L/pax.tar" .
tar -C "$fx" -czf "$L/a.tar.gz" .
tar -C "$fx" -cJf "$L/a.tar.xz" .
tar -C "$fx" --zstd -cf "$L/a.tar.zst" . 2>/dev/null || rm -f "$L/a.tar.zst"
tar -C "$fx" -cjf "$L/a.tar.bz2" .
command -v zip >/dev/null && (cd "$fx" && zip -qry "$L/a.zip" .)
command -v cpio >/dev/null && (cd "$fx" && find . | cpio -o -H newc --quiet > "$L/a.cpio" &&
	gzip -c "$L/a.cpio" > "$L/a.cpio.gz")
command -v xorriso >/dev/null && xorriso -as mkisofs -quiet -R -o "$L/a.iso" "$fx" 2>/dev/null
cp -a "$fx" "$L/dir"
cp -a "$fx" "$L/inplace"
cp -a "$fx" "$L/writable"

# Before: every lower's state.
for l in "$L"/*; do
	if [ -d "$l" ]; then dir_state "$l"; else arc_state "$l"; fi > "$l.before"
done

for l in "$L"/*; do
	case $l in *.before) continue ;; esac
	name=${l##*/}
	rm -rf "$T/up"
	args=(--lower "$l" --upper "$T/up")
	at=$MNT
	case $name in
	inplace) at=$l ;;
	writable) at=$l; args+=(--semantics writable-files) ;;
	*) args+=(--at "$MNT") ;;
	esac
	what=all
	[ "$name" = writable ] && what=names
	out=$(cd "$T" && "$LAYERFS" run "${args[@]}" -- bash -c "$job" - "$at" "$what" 2>&1)
	status=$?
	if [ -d "$l" ]; then after=$(dir_state "$l"); else after=$(arc_state "$l"); fi
	if [ "$after" = "$(cat "$l.before")" ]; then
		ok "$name: the lower is unchanged"
	else
		not_ok "$name: the lower is unchanged" "$(diff "$l.before" <(echo "$after") | head -20)"
	fi
	if [ $status = 0 ] && grep -q "^job done" <<< "$out" && [ -f "$T/up/new/dir/f" ]; then
		ok "$name: the job ran and its changes are in the upper layer$(
			grep '^failed' <<< "$out" | sed 's/^failed: //' | paste -sd';' |
				sed 's/^./ (failed: &/;s/$/)/;s/^)$//')"
	else
		not_ok "$name: the job ran and its changes are in the upper layer" \
			"status $status: $out"
	fi
done

# make demo's lower: the repository's scripts/demo.
demo_state() { dir_state "$top/scripts/demo"; }
demo_before=$(demo_state)
out=$("$top/scripts/demo.sh" "$build" 2>&1)
check "make demo runs and finds its archive unchanged" grep -q "archive is unchanged" <<< "$out"
if [ "$(demo_state)" = "$demo_before" ]; then
	ok "scripts/demo is unchanged by the demo"
else
	not_ok "scripts/demo is unchanged by the demo" "$(diff <(echo "$demo_before") <(demo_state))"
fi
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	changed=$(git -C "$top" --no-optional-locks status --porcelain -- scripts/demo)
	if [ -z "$changed" ]; then
		ok "scripts/demo is as committed in git"
	else
		not_ok "scripts/demo is as committed in git" "$changed"
	fi
else
	skip "scripts/demo is as committed in git" "not a git checkout"
fi

check_fixture_intact
finish
