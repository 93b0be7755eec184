# SPDX-License-Identifier: MIT
# lib.sh - helpers for the integration tests (sourced by tests/integration/*.sh).
#
# Differential testing, after fakechroot's test suite: the same script runs
# on a real directory holding the extracted fixture and under the shim on a
# mount point over the fixture archive; outputs, exit codes, the final trees
# (find -printf) and file checksums must match.  Output: TAP-style lines and
# a closing "N passed, N failed, N skipped".

set -u
# The fixtures' modes are part of what is tested (a 0644 file another user
# may read but not write), whatever umask the caller has.
umask 022
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${LAYERFS_BUILD:-$top/build}
LIB=$build/liblayerfs.so
PRELOAD=$LIB
# A sanitizer build of the library needs the ASan runtime loaded first; the
# programs it is preloaded into are not ours, so their leaks are not looked
# for (the unit tests and the tools check ours).
if ldd "$LIB" 2>/dev/null | grep -q libasan; then
	PRELOAD="$(gcc -print-file-name=libasan.so):$LIB"
	export ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0
fi
LAYERFS=$top/scripts/layerfs
export LAYERFS_LIBDIR=$build
T=$(mktemp -d "${TMPDIR:-/tmp}/layerfs-it.XXXXXX")
export LAYERFS_CACHE=$T/cache
MNT=/layerfs-test-$$
n_pass=0
n_fail=0
n_skip=0
n_todo=0
n=0
trap 'rm -rf "$T"' EXIT

ok() { n=$((n + 1)); n_pass=$((n_pass + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1)); n_fail=$((n_fail + 1)); echo "not ok $n - $1"
	[ $# -gt 1 ] && [ -n "$2" ] && printf '%s\n' "$2" | head -40 | sed 's/^/#   /'
	return 0
}
# skip DESC REASON: a check that cannot run here.  Reported as a TAP skip and
# counted apart: a skip is not a pass.
skip() {
	n=$((n + 1)); n_skip=$((n_skip + 1)); echo "ok $n - $1 # SKIP $2"
}
check() { # check DESC CMD...: passes when CMD succeeds
	local d=$1; shift
	local out
	if out=$("$@" 2>&1); then ok "$d"; else not_ok "$d" "$out"; fi
}
# todo DESC REASON: a check that fails for a known gap (README,
# Limitations), reported as a TAP TODO and counted apart: not a pass.
todo() {
	n=$((n + 1)); n_todo=$((n_todo + 1)); echo "not ok $n - $1 # TODO $2"
}
# check_eq DESC WANT GOT: passes when GOT is WANT; else shows both.
check_eq() {
	if [ "$3" = "$2" ]; then ok "$1"; else
		not_ok "$1" "$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | sed 1d)"
	fi
}
# The summary line; fails when a check failed or when none ran (skips do
# not count as run).
finish() {
	[ $((n_pass + n_fail)) -gt 0 ] || not_ok "the suite ran at least one check"
	echo "$n_pass passed, $n_fail failed, $n_skip skipped$([ "$n_todo" = 0 ] || echo ", $n_todo known gaps")"
	[ "$n_fail" -eq 0 ]
}

# Runs a command under the shim: shim [VAR=value...] CMD...
# Uses $LOWER (archive or dir), $UPPER and $MNT.
shim() {
	env LD_PRELOAD="$PRELOAD" LAYERFS_MOUNT="$MNT" LAYERFS_LOWER="$LOWER" \
		LAYERFS_UPPER="$UPPER" "$@"
}

# The tree under $1, as seen by the caller: type, mode, size, name, target;
# then a checksum of every regular file.
tree_of() {
	(cd "$1" && find . -mindepth 1 -printf '%y %m %s %P %l\n' | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r md5sum)
}

# Builds the fixture tree in $1: files, dirs, symlinks, a hard link, modes.
make_fixture() {
	local d=$1
	mkdir -p "$d/src/lib" "$d/docs/empty" "$d/bin" "$d/deep/a/b/c"
	printf 'testfoo\n' > "$d/foo"
	printf 'int main(void) { return 0; }\n' > "$d/src/main.c"
	printf 'int lib(void) { return 42; }\n' > "$d/src/lib/lib.c"
	printf '%s\n' "line one" "line two" "line three" > "$d/docs/readme.txt"
	seq 1 2000 > "$d/docs/numbers.txt"
	printf '#!/bin/sh\necho "script $0 $*"\n' > "$d/bin/hello.sh"
	chmod 755 "$d/bin/hello.sh"
	cp /bin/true "$d/bin/true"
	printf 'ro\n' > "$d/readonly.txt"; chmod 444 "$d/readonly.txt"
	printf 'deep\n' > "$d/deep/a/b/c/leaf.txt"
	ln -s foo "$d/foo.link"
	ln -s docs/readme.txt "$d/readme.link"
	ln -s nowhere "$d/dangling"
	ln "$d/foo" "$d/foo.hard"
	touch -d '2020-01-02 03:04:05' "$d/foo" "$d/docs/readme.txt"
	if command -v sqlite3 >/dev/null; then
		sqlite3 "$d/data.db" "create table t(x); insert into t values (1), (2);"
	fi
}

# A fixture archive at $T/fixture.tar and its checksum.
setup_fixture() {
	make_fixture "$T/fixture"
	tar -C "$T/fixture" -cf "$T/fixture.tar" .
	FIXSUM=$(md5sum < "$T/fixture.tar")
	LOWER=$T/fixture.tar
}

# diff_case NAME SCRIPT: SCRIPT runs in "$R" (the tree's root) under bash,
# once on an extracted copy and once under the shim.
diff_case() {
	local name=$1 script=$2 ref="$T/ref-$n" out_ref out_view tree_ref tree_view
	rm -rf "$ref" "$T/up"; mkdir -p "$ref" "$T/up"
	tar -C "$ref" -xf "$LOWER"
	UPPER=$T/up
	out_ref=$(cd "$ref" && R="$ref" bash -c "cd \"\$R\" || exit 99
$script" 2>&1; echo "exit=$?")
	# From a scratch directory, so that a view that failed to take effect
	# cannot touch anything that matters.
	mkdir -p "$T/scratch"
	out_view=$(cd "$T/scratch" && shim env R="$MNT" bash -c "cd \"\$R\" || exit 99
$script" 2>&1; echo "exit=$?")
	out_ref=${out_ref//$ref/@R@}
	out_view=${out_view//$MNT/@R@}
	tree_ref=$(tree_of "$ref")
	tree_view=$(shim bash -c "$(declare -f tree_of); tree_of $MNT")
	if [ "$out_ref" != "$out_view" ]; then
		not_ok "$name: output" "$(diff <(echo "$out_ref") <(echo "$out_view"))"
	elif [ "$tree_ref" != "$tree_view" ]; then
		not_ok "$name: tree" "$(diff <(echo "$tree_ref") <(echo "$tree_view"))"
	else
		ok "$name"
	fi
	rm -rf "$ref"
}

# The lower archive must be byte-identical at the end.
check_fixture_intact() {
	if [ "$(md5sum < "$T/fixture.tar")" = "$FIXSUM" ]; then
		ok "fixture archive unchanged"
	else
		not_ok "fixture archive unchanged"
	fi
}
