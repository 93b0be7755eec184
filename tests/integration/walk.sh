#!/bin/sh
# SPDX-License-Identifier: MIT
# walk.sh - ftw/nftw, fts and glob see the view as glibc sees the same tree
# on the host.  Differential: tests/tools/walk_check lists a tree made here
# once directly and once through the shim (the tree as the lower layer of a
# mount point that does not exist on the host); the listings must agree
# section by section.  Then the same for a view with changes in a host
# upper layer (whiteouts, copy-up, new entries) against a host copy with the
# same changes, and once more for host paths under the shim (pass-through).
#
# Usage: sh tests/integration/walk.sh   (LAYERFS_BUILD: build dir, default build)
set -u
umask 022	# the tree's modes are what the unprivileged user's walk sees
build=${LAYERFS_BUILD:-build}
lib=$build/liblayerfs.so
tool=$build/tools/walk_check
mnt=/layerfs-walk-test-$$
npass=0
nfail=0
nskip=0
n=0

ok() {
	n=$((n + 1)); npass=$((npass + 1)); echo "ok $n - $1"
}

not_ok() {
	n=$((n + 1)); nfail=$((nfail + 1)); echo "not ok $n - $1"
}

# skip DESC REASON: a check that cannot run here; a skip is not a pass.
skip() {
	n=$((n + 1)); nskip=$((nskip + 1)); echo "ok $n - $1 # SKIP $2"
}

# Prints a file's lines as TAP comments (at most 40).
diag() {
	[ -s "$1" ] && head -n 40 "$1" | sed 's/^/# /'
	return 0
}

# The summary; fails when a check failed or when none ran.
finish() {
	[ $((npass + nfail)) -gt 0 ] || not_ok "the suite ran at least one check"
	echo "$npass passed, $nfail failed, $nskip skipped"
	[ "$nfail" -eq 0 ]
	exit
}

if [ ! -x "$tool" ] || [ ! -f "$lib" ]; then
	not_ok "build has $tool and $lib"
	finish
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/layerfs-walk.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# A sanitizer build needs its runtime loaded before the library.
preload=$lib
asan=$(ldd "$lib" 2>/dev/null | awk '/libasan/ { print $3; exit }')
[ -n "$asan" ] && preload="$asan $lib"
# glibc's own fts leaks when a stream is closed unread: no leak check on
# the runs that use glibc's walkers, nor in the programs that make changes
# (whose children get the library without the runtime before it).
glibc_asan="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
tools_asan="$glibc_asan:verify_asan_link_order=0"

# The tree: files, directories, a symlink to a file, a dangling symlink, an
# empty directory, a dot file and a symlink to an ancestor.
tree=$tmp/tree
mkdir -p "$tree/dir/sub" "$tree/empty" "$tree/s" || exit 1
printf 'hello\n' > "$tree/f"
head -c 1000 /dev/zero > "$tree/big"
printf '#!/bin/sh\n' > "$tree/exec.sh"
chmod 755 "$tree/exec.sh"
echo h > "$tree/.hidden"
ln -s f "$tree/lf"
ln -s nowhere "$tree/dang"
echo a > "$tree/dir/a1"
echo bb > "$tree/dir/b2"
echo ccc > "$tree/dir/c3"
ln -s .. "$tree/dir/up"
echo deep > "$tree/dir/sub/deep.txt"
echo g > "$tree/dir/sub/g"
: > "$tree/s/x1"
: > "$tree/s/x2"
: > "$tree/s/x3"

# run_view OUT ROOT [NAME=VALUE...]: walk_check ROOT under the shim, started
# through $runner (a command prefix, unquoted) when set.
runner=
run_view() {
	out=$1 root=$2
	shift 2
	$runner env LD_PRELOAD="$preload" LAYERFS_MOUNT="$mnt" LAYERFS_LOWER="$tree" "$@" \
		"$tool" "$root" > "$out" 2> "$out.err"
}

# The sections of walk_check's output, one title a line.
sections() {
	sed -n 's/^== //p' "$1"
}

section_of() {
	awk -v t="== $2" '$0 == t { on = 1; next } /^== / { on = 0 } on' "$1"
}

# compare_sections HOST VIEW WHAT: one test per section.
compare_sections() {
	sections "$1" > "$tmp/titles"
	while IFS= read -r t; do
		section_of "$1" "$t" > "$tmp/a"
		section_of "$2" "$t" > "$tmp/b"
		if [ -s "$tmp/a" ] && cmp -s "$tmp/a" "$tmp/b"; then
			ok "$3: $t"
		else
			not_ok "$3: $t"
			diff "$tmp/a" "$tmp/b" > "$tmp/d"
			diag "$tmp/d"
		fi
	done < "$tmp/titles"
}

# 1. The tree on the host, with glibc's walkers.
if ASAN_OPTIONS=$glibc_asan "$tool" "$tree" > "$tmp/host.out" 2> "$tmp/host.err"; then
	ok "walk_check on the host tree"
else
	not_ok "walk_check on the host tree"
	diag "$tmp/host.err"
	finish
fi

# 2. The same tree through the view.
if run_view "$tmp/view.out" "$mnt" && [ ! -s "$tmp/view.out.err" ]; then
	ok "walk_check on $mnt (lower: the host tree)"
else
	not_ok "walk_check on $mnt (lower: the host tree)"
	diag "$tmp/view.out.err"
fi
compare_sections "$tmp/host.out" "$tmp/view.out" "view"

# 3. Host paths under the shim go to glibc unchanged.
if run_view "$tmp/pass.out" "$tree" ASAN_OPTIONS="$glibc_asan" &&
   cmp -s "$tmp/host.out" "$tmp/pass.out"; then
	ok "host paths pass through under the shim"
else
	not_ok "host paths pass through under the shim"
	diff "$tmp/host.out" "$tmp/pass.out" > "$tmp/d"
	diag "$tmp/d"
	diag "$tmp/pass.out.err"
fi

# 4. As an unprivileged user, a mode 000 directory cannot be read (FTW_DNR,
# FTS_DNR, glob skips it) in the view as on the host.  The user runs copies
# of the library and of walk_check under $tmp, from $tmp: the build and the
# caller's directory may be in a directory others cannot traverse (a
# checkout under /root, or in a mktemp -d).
what="an unreadable directory, as an unprivileged user"
as_user="setpriv --reuid=65534 --regid=65534 --clear-groups"
if [ "$(id -u)" != 0 ] || ! command -v setpriv > /dev/null 2>&1; then
	skip "$what" "needs root and setpriv"
else
	cp -a "$tree" "$tmp/tree3"
	mkdir -p "$tmp/tree3/locked/in"
	echo i > "$tmp/tree3/locked/in/i"
	chmod 000 "$tmp/tree3/locked"
	chmod 755 "$tmp"
	mkdir "$tmp/bin3"
	cp "$lib" "$tool" "$tmp/bin3/"
	chmod 755 "$tmp/bin3" "$tmp/bin3/liblayerfs.so" "$tmp/bin3/walk_check"
	saved_tool=$tool saved_preload=$preload
	tool=$tmp/bin3/walk_check
	preload=${preload%"$lib"}$tmp/bin3/liblayerfs.so
	saved_dir=$(pwd)
	cd "$tmp" || exit 1
	$as_user env ASAN_OPTIONS="$glibc_asan" "$tool" "$tmp/tree3" > "$tmp/host3.out" 2>&1
	runner=$as_user
	run_view "$tmp/view3.out" "$mnt" LAYERFS_LOWER="$tmp/tree3"
	runner=
	cd "$saved_dir" || exit 1
	tool=$saved_tool preload=$saved_preload
	if grep -q "^DNR ROOT/locked " "$tmp/host3.out" &&
	   cmp -s "$tmp/host3.out" "$tmp/view3.out"; then
		ok "$what"
	else
		not_ok "$what"
		diff "$tmp/host3.out" "$tmp/view3.out" > "$tmp/d"
		diag "$tmp/d"
		diag "$tmp/host3.out"
		diag "$tmp/view3.out.err"
	fi
	chmod 700 "$tmp"
fi

# 5. A view with changes kept in a host upper layer, against a host copy
# with the same changes.
upper=$tmp/upper
mkdir "$upper"
cp -a "$tree" "$tmp/tree2"
(cd "$tmp/tree2" && rm -f f && rm -r s && mkdir new && echo x > new/n1 &&
	echo changed > dir/a1 && ln -s new/n1 ln1)
if ASAN_OPTIONS=$glibc_asan "$tool" "$tmp/tree2" > "$tmp/host2.out" 2>&1 &&
   env LD_PRELOAD="$preload" LAYERFS_MOUNT="$mnt" LAYERFS_LOWER="$tree" \
	LAYERFS_UPPER="$upper" ASAN_OPTIONS="$tools_asan" M="$mnt" \
	sh -c 'rm -f "$M/f" && rm -r "$M/s" && mkdir "$M/new" && echo x > "$M/new/n1" &&
	       echo changed > "$M/dir/a1" && ln -s new/n1 "$M/ln1"' > "$tmp/mod.err" 2>&1; then
	ok "changes through the view"
else
	not_ok "changes through the view"
	diag "$tmp/mod.err"
fi
run_view "$tmp/view2.out" "$mnt" LAYERFS_UPPER="$upper"
if cmp -s "$tmp/host2.out" "$tmp/view2.out"; then
	ok "walkers on a view with whiteouts, copy-up and new entries"
else
	not_ok "walkers on a view with whiteouts, copy-up and new entries"
	diff "$tmp/host2.out" "$tmp/view2.out" > "$tmp/d"
	diag "$tmp/d"
	diag "$tmp/view2.out.err"
fi

finish
