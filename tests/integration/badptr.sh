#!/bin/bash
# SPDX-License-Identifier: MIT
# badptr.sh - a bad pointer gets EFAULT from a wrapped call as from the
# kernel, never a SIGSEGV the call would not get without the shim (issue
# 13 item 2).  tests/tools/badptr.c calls every wrapped call with NULL,
# 0xdeadc0de and read-only buffers; its lines (return value and errno, or
# the signal) on a real directory without the shim are the reference for
# runs under the shim in the view (over a directory and over an archive,
# with a host and a memory upper) and outside it.
. "$(dirname "$0")/lib.sh"

tool=$build/tools/badptr
# A sanitizer build loads ASan first: its interceptors read the bad
# pointers themselves (and crash) before libc or the shim is called, so
# neither run would show what the kernel or the shim does.
if [ "$PRELOAD" != "$LIB" ]; then
	skip "bad pointers" "the sanitizer's interceptors read them first (the normal build runs this)"
	echo "$n_pass passed, $n_fail failed, $n_skip skipped"
	exit 0
fi
mk_dir() {
	mkdir -p "$1/d/e"
	printf 'hello\n' > "$1/f"
	ln -s f "$1/l"
	setfattr -n user.x -v 1 "$1/f"
}
if ! command -v setfattr >/dev/null || ! (mk_dir "$T/probe") 2>/dev/null; then
	skip "bad pointers" "no user xattrs here (setfattr)"
	finish
	exit
fi
mk_dir "$T/ref"
mk_dir "$T/low"
mk_dir "$T/host"
tar --xattrs -C "$T/low" -cf "$T/low.tar" .

ref=$("$tool" "$T/ref" 2>&1)
check_eq "the reference ran every call" "0" "$(grep -c -v ' ret \| signal ' <<<"$ref")"
check_eq "every call printed one line" "$(grep -c '^	C(' "$top/tests/tools/badptr.c")" \
	"$(wc -l <<<"$ref")"
case $ref in *'link_new_bad ret -1 errno EFAULT'*) ok "the reference gets EFAULT" ;;
*) not_ok "the reference gets EFAULT" "$ref" ;; esac

# GOT against the reference: the same line for every call, except that
# EFAULT is as good as the crash glibc itself has on a bad buffer (getwd
# copies into it in user space; the shim answers for the view itself).
same() {
	paste -d'|' <(printf '%s\n' "$ref") <(printf '%s\n' "$1") | awk -F'|' '
		$1 == $2 { next }
		$1 ~ / signal SEGV$/ && $2 ~ / errno EFAULT$/ && \
			substr($1, 1, index($1, " ")) == substr($2, 1, index($2, " ")) { next }
		{ print "want: " $1; print "got:  " $2 }'
}
for lower in dir tar; do
	for up in host mem; do
		[ $lower = dir ] && LOWER=$T/low || LOWER=$T/low.tar
		if [ $up = host ]; then UPPER=$T/up-$lower; mkdir -p "$UPPER"; else UPPER=mem; fi
		got=$(shim "$tool" "$MNT" 2>&1)
		check_eq "in the view ($lower lower, $up upper): what the kernel does" "" "$(same "$got")"
	done
done
LOWER=$T/low UPPER=mem
got=$(shim "$tool" "$T/host" 2>&1)
check_eq "outside the view: what the kernel does" "" "$(same "$got")"
check_eq "the lower is unchanged" "$(cd "$T/ref" && find . | sort)" "$(cd "$T/low" && find . | sort)"
finish
