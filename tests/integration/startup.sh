#!/bin/bash
# SPDX-License-Identifier: MIT
# What a process pays to start under the shim: libarchive is not linked
# into the library and is only loaded when an archive must be read (an
# index built, a compressed member extracted); only the first process of a
# tree opens the layers at start-up, its children when they first look
# under the mount point; a broken configuration is still said once.
. "$(dirname "$0")/lib.sh"
setup_fixture
mkdir -p "$T/up" "$T/scratch"
UPPER=$T/up
cd "$T/scratch" || exit 1

# The library's own dependencies.
needed=$(readelf -d "$LIB" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
if [ -z "$needed" ]; then
	not_ok "readelf -d lists the library's dependencies" "readelf failed or missing"
elif grep -q libarchive <<< "$needed"; then
	not_ok "liblayerfs.so does not link libarchive" "$needed"
else
	ok "liblayerfs.so does not link libarchive"
fi

# The index is built by the first process that opens the archive: that
# one loads libarchive (sh: its constructor opens the layers).
out=$(shim sh -c 'cat /proc/$$/maps' 2>&1)
if grep -q libarchive <<< "$out"; then ok "building the index loads libarchive"
else not_ok "building the index loads libarchive" "$(grep -c . <<< "$out") lines of maps"; fi
# Later processes map the index; a tar member is copied from its offset.
out=$(shim cat "$MNT/docs/readme.txt" /proc/self/maps 2>&1)
if ! grep -q "^line one" <<< "$out"; then
	not_ok "tar member read without libarchive" "$out"
elif grep -q libarchive <<< "$out"; then
	not_ok "tar member read without libarchive" "libarchive is mapped"
else
	ok "tar member read without libarchive"
fi

# A compressed archive: its members are extracted with libarchive.
gzip -c "$T/fixture.tar" > "$T/fixture.tar.gz"
LOWER=$T/fixture.tar.gz shim true	# builds the index
out=$(LOWER=$T/fixture.tar.gz shim cat /proc/self/maps 2>&1)
if grep -q libarchive <<< "$out"; then
	not_ok "compressed archive: its index is only mapped" "libarchive is mapped"
else
	ok "compressed archive: its index is only mapped"
fi
out=$(LOWER=$T/fixture.tar.gz shim cat "$MNT/foo" /proc/self/maps 2>&1)
if ! grep -q "^testfoo" <<< "$out"; then not_ok "compressed member: read" "$out"
elif grep -q libarchive <<< "$out"; then ok "compressed member: read, libarchive loaded"
else not_ok "compressed member: read, libarchive loaded" "libarchive is not mapped"; fi

# Only the first process of a tree opens the layers before main; its
# children (here: cat of a host file) open none of them.
if command -v strace >/dev/null && strace -f -o /dev/null true 2>/dev/null; then
	shim strace -f -o "$T/strace" sh -c "cat $T/fixture/foo >/dev/null; cat $MNT/foo" \
		>/dev/null 2>&1
	# strace is the first process of the tree (it opened the layers,
	# untraced); of its children only the cat that reads under the mount
	# point opens the archive.
	opens=$(grep -c "openat(.*fixture\.tar\", O_RDONLY" "$T/strace")
	if [ "$opens" = 1 ]; then ok "children open the layers on first use only"
	else not_ok "children open the layers on first use only" \
		"the archive was opened $opens times: $(grep 'fixture\.tar"' "$T/strace")"; fi
else
	skip "children open the layers on first use only" "no usable strace"
fi

# A failed read or a write through a host symlink that cannot lead to the
# mount point is the host's alone: the layers stay unopened.  One through a
# symlink to the mount point is the view's.
ln -s "$T/fixture" "$T/far" && ln -s "$MNT" "$T/near"
if command -v strace >/dev/null && strace -f -o /dev/null true 2>/dev/null; then
	shim sh -c "strace -f -o $T/strace2 sh -c 'cat $T/far/nope; : > $T/far/new; \
		rm $T/far/new'" >/dev/null 2>&1
	opens=$(grep -c "openat(.*fixture\.tar\"" "$T/strace2")
	check "a host symlink away from the mount point: the layers stay unopened" \
		test "$opens" = 0
else
	skip "a host symlink away from the mount point: the layers stay unopened" \
		"no usable strace"
fi
check "a host symlink to the mount point leads into the view" \
	test "$(shim cat "$T/near/foo" 2>&1)" = testfoo

# A broken configuration: one message for the whole tree, even when
# several children look under the mount point, and EIO for each of them.
out=$(env LD_PRELOAD="$PRELOAD" LAYERFS_MOUNT="$MNT" LAYERFS_LOWER="$T/missing.tar" \
	LAYERFS_UPPER="$T/up" sh -c "cat $MNT/foo; cat $MNT/foo; sh -c 'ls $MNT'; true" 2>&1)
check "missing archive, three children: one message" \
	test "$(grep -c "layerfs: .*missing.tar" <<< "$out")" = 1
check "missing archive, three children: each gets EIO" \
	test "$(grep -c "Input/output error" <<< "$out")" = 3
out=$(env LD_PRELOAD="$PRELOAD" LAYERFS_MOUNT="$MNT" LAYERFS_LOWER="$LOWER" \
	LAYERFS_UPPER="$T/up" LAYERFS_SEMANTICS=bogus \
	sh -c "cat $MNT/foo; cat $MNT/foo; true" 2>&1)
check "bad LAYERFS_SEMANTICS, two children: one message" \
	test "$(grep -c "layerfs: LAYERFS_SEMANTICS=bogus" <<< "$out")" = 1

# A child handed another configuration (by a program that does not go
# through the shim's exec) checks it itself: the mark does not carry over.
mark=$(shim sh -c 'env' | sed -n 's/^LAYERFS_CHECKED=//p')
check "children get LAYERFS_CHECKED" test -n "$mark"
out=$(env LAYERFS_CHECKED="$mark" LD_PRELOAD="$PRELOAD" LAYERFS_MOUNT="$MNT" \
	LAYERFS_LOWER="$T/missing.tar" LAYERFS_UPPER="$T/up" true 2>&1)
check "a mark for another configuration is not trusted" \
	grep -q "layerfs: .*missing.tar" <<< "$out"

# What children get: the view they were started in (a program's own
# LAYERFS_MOUNT or LAYERFS_CWD never reaches them), and every other
# variable as the program set it, LAYERFS_* ones too (the launcher's
# LAYERFS_LIBDIR and LAYERFS_CACHE_LIMIT, for a job that runs layerfs).
out=$(LAYERFS_LIBDIR=/lib-dir LAYERFS_FUTURE=1 shim sh -c \
	'LAYERFS_MOUNT=/elsewhere LAYERFS_CWD=x LAYERFS_CACHE_LIMIT=5 env' |
	grep -E '^LAYERFS_(CACHE_LIMIT|CWD|FUTURE|LIBDIR|LOWER|MOUNT|UPPER)=' | LC_ALL=C sort)
check_eq "children: the view's variables are the shim's, any other LAYERFS_* the program's" \
	"LAYERFS_CACHE_LIMIT=5
LAYERFS_FUTURE=1
LAYERFS_LIBDIR=/lib-dir
LAYERFS_LOWER=$LOWER
LAYERFS_MOUNT=$MNT
LAYERFS_UPPER=$UPPER" "$out"

# ---- programs with their own allocator ----------------------------------

# An allocator sets itself up on the first malloc, holding its own lock,
# and calls into libc meanwhile: jemalloc readlink("/etc/malloc.conf") and
# open("/proc/sys/vm/overcommit_memory"), mimalloc getenv.  Those calls
# are the shim's first ones (they configure it) or pass through it; a
# malloc of the shim's there re-enters the allocator, which waits on its
# own lock forever.  earlyalloc.so does the same at every such point
# (readlink, open of /proc/self/... and /proc/sys/..., getenv and a file
# it names), and exits 99 instead of waiting.
cat > "$T/earlyalloc.c" <<'EOF2'
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char *arena;
static size_t used;
static int state;	/* 0: not set up, 1: setting up, 2: ready */

static void peek(const char *path)
{
	char buf[256];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf)) < 0)
			buf[0] = 0;
		close(fd);
	}
}

static void setup(void)
{
	char buf[256];
	if (state == 1) {
		static const char m[] = "earlyalloc: malloc re-entered while it sets itself up\n";
		if (write(2, m, sizeof(m) - 1) < 0)
			_exit(98);
		_exit(99);
	}
	state = 1;
	if (readlink("/etc/malloc.conf", buf, sizeof(buf)) < 0)
		buf[0] = 0;
	peek("/proc/sys/vm/overcommit_memory");
	peek("/proc/self/maps");
	peek("/proc/self/status");
	const char *conf = getenv("EARLYALLOC_CONF");
	if (conf)
		peek(conf);
	arena = mmap(NULL, 1ul << 32, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (arena == MAP_FAILED)
		_exit(97);
	state = 2;
}

/* A bump allocator, a size word before each block; free does nothing. */
static void *take(size_t n, size_t align)
{
	if (state != 2)
		setup();
	if (align < 16)
		align = 16;
	size_t at = __atomic_fetch_add(&used, n + 2 * align, __ATOMIC_RELAXED);
	char *p = arena + ((at + align + align - 1) & ~(align - 1));
	((size_t *)p)[-1] = n;
	return p;
}

void *malloc(size_t n) { return take(n, 16); }
void free(void *p) { (void)p; }
void *calloc(size_t a, size_t b) { return take(a * b, 16); }
void *realloc(void *p, size_t n)
{
	void *q = take(n, 16);
	if (p)
		memcpy(q, p, ((size_t *)p)[-1] < n ? ((size_t *)p)[-1] : n);
	return q;
}
void *memalign(size_t a, size_t n) { return take(n, a); }
void *aligned_alloc(size_t a, size_t n) { return take(n, a); }
int posix_memalign(void **r, size_t a, size_t n) { *r = take(n, a); return 0; }
void *valloc(size_t n) { return take(n, 4096); }
void *pvalloc(size_t n) { return take((n + 4095) & ~4095ul, 4096); }
size_t malloc_usable_size(void *p) { return p ? ((size_t *)p)[-1] : 0; }
EOF2
allocs=()
if cc -shared -fPIC -O1 -o "$T/earlyalloc.so" "$T/earlyalloc.c" 2>"$T/cc.err"; then
	allocs+=("$T/earlyalloc.so")
else
	not_ok "build earlyalloc.so" "$(cat "$T/cc.err")"
fi
# The Debian packages libjemalloc2, libgoogle-perftools4 (tcmalloc) and
# libmimalloc2.0 (scripts/deps.sh).
for a in libjemalloc.so.2 libtcmalloc.so.4 libmimalloc.so.2; do
	so=$(ldconfig -p | awk -v n="$a" '$1 == n && /x86-64/ { print $NF; exit }')
	if [ -n "$so" ]; then allocs+=("$so"); else skip "$a preloaded in a job" "not installed"; fi
done
echo conf > "$T/alloc.conf"
for so in "${allocs[@]}"; do
	name=${so##*/}
	# After the library in LD_PRELOAD (the shim puts itself first), and
	# before it; in the view (its first process opens the layers under
	# the allocator) and outside it (the layers stay unopened).
	for order in after before; do
		pre=$so
		# (a sanitizer's runtime stays first, as it must)
		[ $order = before ] && pre=${PRELOAD%"$LIB"}$so:$LIB
		out=$(cd "$T/scratch" && timeout -k 5 20 "$LAYERFS" run --lower "$LOWER" --at "$MNT" -- \
			env EARLYALLOC_CONF="$T/alloc.conf" MALLOC_CONF=narenas:2 LD_PRELOAD="$pre" \
			sh -c "cat $MNT/foo; cat $T/alloc.conf; ls $MNT/src; echo x > $MNT/new; cat $MNT/new" 2>&1)
		check_eq "$name preloaded $order the library: in the view and outside, no hang" \
			"testfoo
conf
$(ls "$T/fixture/src")
x" "$out"
		out=$(timeout -k 5 20 env LD_PRELOAD="$pre" LAYERFS_MOUNT="$MNT" LAYERFS_LOWER="$LOWER" \
			LAYERFS_UPPER="$T/up" sh -c "cat $T/alloc.conf" 2>&1)
		check_eq "$name preloaded $order the library, first process outside the view" "conf" "$out"
	done
done

# rustc (as rustup installs it) links jemalloc in: the issue's first case.
# Not in a sanitizer build: rustc crashes with ASan's runtime preloaded,
# layerfs or not.
if [ "$PRELOAD" != "$LIB" ]; then
	skip "rustc --version (jemalloc linked in) in a job" "rustc crashes under ASan alone"
elif command -v rustc >/dev/null && want=$(timeout 60 rustc --version 2>/dev/null); then
	out=$(timeout -k 5 60 "$LAYERFS" run --lower "$LOWER" --at "$MNT" -- rustc --version 2>&1)
	check_eq "rustc --version (jemalloc linked in) in a job" "$want" "$out"
else
	skip "rustc --version (jemalloc linked in) in a job" "no rustc"
fi

check_fixture_intact
finish
