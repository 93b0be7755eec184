#!/bin/bash
# SPDX-License-Identifier: MIT
# The shim's own behaviour: a broken configuration fails closed, permission
# checks for a non-root user, the layers' fds survive a program closing or
# dup2()ing over everything, and tracing.
. "$(dirname "$0")/lib.sh"
setup_fixture
mkdir -p "$T/up"
UPPER=$T/up

# A missing archive: one message, EIO under the mount, the host untouched.
out=$(env LD_PRELOAD="$PRELOAD" LAYERFS_MOUNT="$MNT" LAYERFS_LOWER="$T/missing.tar" \
	LAYERFS_UPPER="$T/up" sh -c "cat $MNT/foo; echo status=\$?; cat $T/fixture/foo" 2>&1)
check "missing archive: one message naming it" \
	test "$(grep -c "layerfs: .*missing.tar" <<< "$out")" = 1
check "missing archive: EIO under the mount" grep -q "Input/output error" <<< "$out"
check "missing archive: host paths still work" grep -q "^testfoo" <<< "$out"

# A mount point is in its parent's listing, as a kernel mount's is, though
# the host has nothing there; once, also when the listing is read again.
name=${MNT#/}
check "the parent's listing (ls) shows the mount point" \
	test "$(shim ls -a / | grep -cx "$name")" = 1
check "the parent's listing (find, fts) shows it once, and walks into the view" \
	test "$(shim find / -maxdepth 1 -name "$name")" = "$MNT" -a \
	"$(shim find "/$name" -maxdepth 1 -name foo)" = "$MNT/foo"
check "python's listdir shows it, twice over one directory fd" \
	test "$(shim python3 -c "import os
fd = os.open('/', os.O_RDONLY | os.O_DIRECTORY)
a = os.listdir(fd); b = os.listdir(fd)
print(a.count('$name'), b.count('$name'))")" = "1 1"
check "without the shim, the host has no such entry" \
	test "$(ls -a / | grep -cx "$name")" = 0

# Its parents too, when the host lacks them (ghosts): each is an empty
# directory owned by root holding the next one down, which can be
# entered (also by a child, and by "cd .." from the view), listed, walked
# and asked for its file system; nothing of them is made on the host.
G=$T/ghost/of/parents
gshim() { env LD_PRELOAD="$PRELOAD" LAYERFS_MOUNT="$G/m" LAYERFS_LOWER="$LOWER" \
	LAYERFS_UPPER="$T/up" "$@"; }
check_eq "ghost parents: cd, pwd, relative paths, cd .. from the view, a child's cwd" \
	"$T/ghost/of/parents
testfoo
$T/ghost/of/parents/m
$T/ghost/of/parents
$T/ghost/of
m
parents" "$(gshim bash -c "cd '$G' && pwd && cat m/foo && cd m && pwd && cd .. && /bin/pwd &&
	cd .. && pwd && ls parents && ls" 2>&1)"
check_eq "ghost parents: ls -la shows each as an empty directory owned by root" \
	"d755 root . 
d755 root .. 
d755 root m " "$(gshim bash -c "cd '$G' && ls -la --time-style=+ . | awk 'NR > 1 { print substr(\$1, 1, 1) \"755 \" \$3, \$NF, \"\" }'" 2>&1)"
check_eq "ghost parents: find walks from the host into the view" \
	"$T/ghost
$T/ghost/of
$T/ghost/of/parents
$T/ghost/of/parents/m
$T/ghost/of/parents/m/foo" "$(gshim find "$T/ghost" -maxdepth 4 \( -path "*/m/*" -prune -name foo -print \) -o ! -path "*/m/*" -print 2>&1)"
check "ghost parents: df and stat -f of one work" gshim sh -c "cd '$G' && df . > /dev/null && stat -f -c %b .. > /dev/null"
check "ghost parents: they stay ghosts (writes get the host's answer)" \
	test "$(gshim sh -c "mkdir '$G/new' 2>&1; touch '$G/f' 2>&1" | grep -c "No such file or directory")" = 2
check "ghost parents: nothing was made on the host" test ! -e "$T/ghost"
# An fd of a ghost stands for it, never for the host directory that holds
# it: a change through the fd leaves that directory as it was.
mkdir -p "$T/ganc" && touch -d @1000000000 "$T/ganc"
before=$(stat -c '%a %u %g %Y' "$T/ganc"; getfattr -d "$T/ganc" 2>/dev/null; ls -A "$T/ganc")
out=$(env LD_PRELOAD="$PRELOAD" LAYERFS_MOUNT="$T/ganc/no/m" LAYERFS_LOWER="$LOWER" \
	LAYERFS_UPPER="$T/up" python3 -c "
import os, ctypes
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open('$T/ganc/no', os.O_RDONLY | os.O_DIRECTORY)
for f in (lambda: os.chmod(fd, 0o700), lambda: os.chown(fd, 1, 1),
          lambda: os.utime(fd, (1, 1)), lambda: os.setxattr(fd, 'user.x', b'1'),
          lambda: os.mkdir('x', dir_fd=fd),
          lambda: libc.fchownat(fd, b'', 2, 2, 0x1000) and 0,
          lambda: libc.utimensat(fd, None, None, 0) and 0):
    try: f()
    except OSError: pass
print(sorted(os.listdir(fd)), oct(os.stat(fd).st_mode & 0o7777))" 2>&1)
check_eq "ghost parents: changes through a ghost's fd do not reach the host" \
	"['m'] 0o755
$before" "$out
$(stat -c '%a %u %g %Y' "$T/ganc"; getfattr -d "$T/ganc" 2>/dev/null; ls -A "$T/ganc")"

# bind(2) of a socket in a directory only a lower has: the directory is
# copied up and the socket made there, a connect finds it at once; the
# lower (an archive's cache, a directory overlaid in place) is untouched.
bind_job="import socket, os
s = socket.socket(socket.AF_UNIX); s.bind('DIR/lib/sock'); s.listen(1)
c = socket.socket(socket.AF_UNIX); c.settimeout(5); c.connect('DIR/lib/sock')
a, _ = s.accept(); c.send(b'hi'); print(a.recv(2).decode(), os.path.exists('DIR/lib/sock'))"
mkdir -p "$T/bind-up" "$T/bind-cache"
out=$(env LD_PRELOAD="$PRELOAD" LAYERFS_MOUNT="$MNT" LAYERFS_LOWER="$LOWER" \
	LAYERFS_UPPER="$T/bind-up" LAYERFS_CACHE="$T/bind-cache" \
	python3 -c "${bind_job//DIR/$MNT/src}" 2>&1)
check_eq "bind in a lower directory (archive): made in the upper, connected" \
	"hi True
socket" "$out
$(stat -c %F "$T/bind-up/src/lib/sock" 2>&1)"
check "bind in a lower directory (archive): no socket in the cache" \
	test -z "$(find "$T/bind-cache" -type s)"
cp -a "$T/fixture" "$T/bind-inplace" && mkdir -p "$T/bind-up2"
out=$(env LD_PRELOAD="$PRELOAD" LAYERFS_MOUNT="$T/bind-inplace" LAYERFS_LOWER="$T/bind-inplace" \
	LAYERFS_UPPER="$T/bind-up2" python3 -c "${bind_job//DIR/$T/bind-inplace/src}" 2>&1)
check_eq "bind in a directory overlaid in place: made in the upper, the lower untouched" \
	"hi True
socket
no socket" "$out
$(stat -c %F "$T/bind-up2/src/lib/sock" 2>&1)
$(test -e "$T/bind-inplace/src/lib/sock" && echo socket in the lower || echo no socket)"

# Not root: the view's modes decide (setpriv drops to nobody).  nobody
# preloads a copy of the library under $T: the build may be in a directory
# others cannot traverse (a checkout under /root, or in a mktemp -d).
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
	chmod 755 "$T" "$T/up"
	mkdir -p "$T/cache-nobody" && chmod 777 "$T/cache-nobody"
	mkdir -p "$T/lib-nobody" && chmod 755 "$T/lib-nobody"
	install -m 0755 "$LIB" "$T/lib-nobody/liblayerfs.so"
	preload_nobody=${PRELOAD%"$LIB"}$T/lib-nobody/liblayerfs.so
	# setpriv itself runs without the shim: a root process would build the
	# cache as root, which nobody cannot then write to.
	as_nobody() {
		setpriv --reuid=65534 --regid=65534 --clear-groups \
			env LAYERFS_CACHE="$T/cache-nobody" LD_PRELOAD="$preload_nobody" \
			LAYERFS_MOUNT="$MNT" LAYERFS_LOWER="$LOWER" LAYERFS_UPPER="$UPPER" "$@"
	}
	check "non-root: nobody can read the library copy and the archive" \
		setpriv --reuid=65534 --regid=65534 --clear-groups \
		test -r "$T/lib-nobody/liblayerfs.so" -a -r "$LOWER"
	out=$(as_nobody sh -c "echo x >> $MNT/readonly.txt" 2>&1)
	check "non-root: writing a 0444 lower file is EACCES" grep -q "Permission denied" <<< "$out"
	out=$(as_nobody sh -c "echo x >> $MNT/foo" 2>&1)
	check "non-root: writing another user's 0644 file is EACCES" grep -q "Permission denied" <<< "$out"
	check "non-root: reading is allowed" as_nobody cat "$MNT/foo"
	check "non-root: access(W_OK) fails" \
		as_nobody sh -c "test -r $MNT/readonly.txt && ! test -w $MNT/readonly.txt"
	check "root: writing a 0444 file works" shim sh -c "echo x >> $MNT/readonly.txt"
else
	skip "non-root checks" "needs root and setpriv"
fi

# The layers' own fds survive closefrom and dup2 onto them.
check "closefrom(3) and dup2 over every kept fd keep the view working" shim python3 -c "
import os
os.closerange(3, 1 << 16)
assert 'foo' in os.listdir('$MNT')
kept = [int(f) for f in os.listdir('/proc/self/fd') if int(f) >= 1000]
assert kept, 'no kept fds'
for fd in kept:
    os.dup2(0, fd)
assert open('$MNT/foo').read() == 'testfoo\n'
assert 'docs' in os.listdir('$MNT')
"

# Tracing.
LAYERFS_TRACE="$T/trace" shim cat "$MNT/foo" "$MNT/nothing" >/dev/null 2>&1
check "trace: a line per virtual operation" grep -q " open $MNT/foo lower0 " "$T/trace"
check "trace: failures with their errno" grep -q "$MNT/nothing - -1 ENOENT" "$T/trace"

check_fixture_intact
finish
