#!/bin/bash
# SPDX-License-Identifier: MIT
# Configurations the launcher and the shim must refuse, or take exactly as
# given (issue 13): a lower that is neither a regular file nor a directory
# (a FIFO must not hang), a lower directory that cannot be searched, odd
# places for the mount point, the upper and the cache, any byte in --at,
# and relative LAYERFS_LOWER/UPPER/CACHE/TRACE, which mean the first
# process's working directory for every process of the tree.
. "$(dirname "$0")/lib.sh"

export XDG_RUNTIME_DIR=$T/run
mkdir -m 700 "$XDG_RUNTIME_DIR"
cd "$T" || exit 1
TO=20	# seconds any one run may take: a hang is a failure, not a stuck suite

lf() {
	timeout -k 5 "$TO" "$LAYERFS" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}

# refused DESC MESSAGE LAUNCHER-ARGS...: status 125, exactly one line
# "layerfs: MESSAGE" on stderr, and the command never started.
refused() {
	local d=$1 msg=$2 why=""
	shift 2
	rm -f "$T/started"
	lf "$@" -- touch "$T/started"
	[ "$rc" = 125 ] || why="status $rc, expected 125"$'\n'
	[ -e "$T/started" ] && why+="the command was started"$'\n'
	[ "$(cat "$T/err")" = "layerfs: $msg" ] ||
		why+="stderr:"$'\n'"$(cat "$T/err")"$'\n'"expected:"$'\n'"layerfs: $msg"
	if [ -z "$why" ]; then ok "$d"; else not_ok "$d" "$why"; fi
}

mkdir -p proj dl/sub
echo 'A project.' > proj/README
tar -C proj -cf proj.tar .
echo one > dl/one

# ---- a lower that is neither a regular file nor a directory ---------------

mkfifo fifo
refused "a FIFO as a lower: refused at once, not a hang" \
	"lower layer $T/fifo: a FIFO, not an archive or a directory" \
	run --lower fifo --at /sandbox/x
python3 -c "import socket; socket.socket(socket.AF_UNIX).bind('$T/sock')"
refused "a socket as a lower" \
	"lower layer $T/sock: a socket, not an archive or a directory" \
	run --lower sock --at /sandbox/x
refused "a character device as a lower" \
	"lower layer /dev/null: a character device, not an archive or a directory" \
	run --lower /dev/null --at /sandbox/x
# Through the environment: one message, EIO under the mount, no hang.
out=$(timeout -k 5 "$TO" env LD_PRELOAD="$PRELOAD" LAYERFS_MOUNT="$MNT" \
	LAYERFS_LOWER="$T/fifo" LAYERFS_UPPER=mem \
	sh -c "cat $MNT/README; cat $MNT/README; echo status=\$?" 2>&1)
rc=$?
if [ $rc = 0 ] && [ "$(grep -c "^layerfs: lower layer $T/fifo: a FIFO" <<< "$out")" = 1 ] &&
	[ "$(grep -c "Input/output error" <<< "$out")" = 2 ] && grep -q "^status=1$" <<< "$out"; then
	ok "a FIFO in LAYERFS_LOWER: one message, EIO under the mount, no hang"
else
	not_ok "a FIFO in LAYERFS_LOWER" "status $rc: $out"
fi

# ---- a lower directory that cannot be searched (as a non-root user) -------

# nobody runs copies of the launcher and its tools under $T: the build may
# be in a directory others cannot traverse (a clone under /root, or in a
# mktemp -d).
ULAYERFS=$LAYERFS
if [ "$(id -u)" = 0 ]; then
	mkdir -p "$T/user-bin"
	cp "$LAYERFS" "$build/liblayerfs.so" "$build/layerfs-helper" "$T/user-bin/"
	chmod 755 "$T/user-bin" "$T/user-bin/"*
	ULAYERFS=$T/user-bin/layerfs
	as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups \
		env LAYERFS_LIBDIR="$T/user-bin" "$@"; }
else
	as_user() { "$@"; }
fi
chmod 755 "$T"
mkdir user user/run user/cache
chmod 777 user user/run user/cache
mkdir -p user/d && echo x > user/d/f && chmod 444 user/d
user_run() {
	rm -f "$T/user/started"
	as_user env XDG_RUNTIME_DIR="$T/user/run" timeout -k 5 "$TO" "$ULAYERFS" run \
		--cache "$T/user/cache" "$@" -- sh -c "touch '$T/user/started'" >"$T/out" 2>"$T/err"
	rc=$?
}
user_run --lower user/d --at /sandbox/u
if [ $rc = 125 ] && [ ! -e user/started ] &&
	[ "$(cat err)" = "layerfs: lower layer $T/user/d: Permission denied (a directory must be readable and searchable)" ]; then
	ok "a lower directory readable but not searchable: refused, 125"
else
	not_ok "a lower directory readable but not searchable" "status $rc: $(cat err)"
fi
chmod 755 user/d
user_run --lower user/d --at /sandbox/u
check "the same directory once searchable is taken" test "$rc" = 0 -a -e user/started

# ---- odd targets ------------------------------------------------------------

refused "--upper /proc" \
	"upper directory /proc is on the proc file system mounted at /proc: use a directory on a disk or tmpfs" \
	run --lower proj.tar --at /sandbox/x --upper /proc
refused "--cache on /proc" \
	"cache directory /proc/layerfs-cache is on the proc file system mounted at /proc: use a directory on a disk or tmpfs" \
	run --lower proj.tar --at /sandbox/x --cache /proc/layerfs-cache
refused "--at /proc" "mount point /proc is on the proc file system mounted at /proc" \
	run --lower proj.tar --at /proc
refused "--at below /sys" "mount point /sys/x is on the sysfs file system mounted at /sys" \
	run --lower proj.tar --at /sys/x
refused "--at /dev/null" "mount point /dev/null exists and is not a directory" \
	run --lower proj.tar --at /dev/null
echo file > afile
refused "--at an existing file" "mount point $T/afile exists and is not a directory" \
	run --lower proj.tar --at "$T/afile"
refused "a mount point inside a directory lower" \
	"mount point $T/dl/sub is inside the lower layer $T/dl" \
	run --lower dl --at "$T/dl/sub"
refused "a mount point inside the upper" \
	"mount point $T/up/m is inside the upper directory $T/up" \
	run --lower proj.tar --upper up --at "$T/up/m"
refused "a mount point inside the cache (--cache)" \
	"mount point $T/c1/m is inside the cache directory $T/c1" \
	run --lower proj.tar --cache c1 --at "$T/c1/m"
refused "a mount point inside the cache (LAYERFS_CACHE)" \
	"mount point $LAYERFS_CACHE/m is inside the cache directory $LAYERFS_CACHE" \
	run --lower proj.tar --at "$LAYERFS_CACHE/m"
refused "an upper inside a directory lower" \
	"upper directory $T/dl/up is inside the lower layer $T/dl" \
	run --lower dl --at /sandbox/x --upper dl/up
refused "the cache inside a directory lower" \
	"cache directory $T/dl/cache is inside the lower layer $T/dl" \
	run --lower dl --lower proj.tar --at /sandbox/x --cache dl/cache
refused "the cache inside the upper" \
	"cache directory $T/up2/cache is inside the upper directory $T/up2" \
	run --lower proj.tar --at /sandbox/x --upper up2 --cache up2/cache
refused "the upper inside the cache" \
	"upper directory $T/c2/up is inside the cache directory $T/c2" \
	run --lower proj.tar --at /sandbox/x --upper c2/up --cache c2
# The temporary upper is never made inside a directory lower (here the
# lower holds $XDG_RUNTIME_DIR, the first place one is made in).
mkdir -p dl/run && chmod 700 dl/run
XDG_RUNTIME_DIR=$T/dl/run lf run --lower dl --at /sandbox/x -- sh -c 'echo "$LAYERFS_UPPER"'
if [ $rc = 0 ] && case $(cat out) in "$T/dl"/*|"") false ;; *) true ;; esac &&
	[ -z "$(ls -A dl/run)" ]; then
	ok "the temporary upper is not made inside a directory lower"
else
	not_ok "the temporary upper is not made inside a directory lower" "status $rc: $(cat out err)"
fi
rmdir dl/run
# A directory lower without archives needs no cache, wherever it is.
lf run --lower dl --at /sandbox/x --cache dl/cache -- cat /sandbox/x/one
check "a cache inside a directory lower is fine when no archive needs it" \
	test "$rc:$(cat out)" = "0:one" -a ! -e dl/cache
check "the refusals started nothing" test ! -e "$T/started"

# ---- any byte in --at ---------------------------------------------------------

# at_case DESC AT: the view is at exactly AT (normalised), the job sees it
# in LAYERFS_MOUNT, and nothing appears at a shorter host path.
at_case() {
	local d=$1 at=$2 want=$3
	lf run --lower proj.tar --at "$at" -- bash -c \
		'[ "$LAYERFS_MOUNT" = "$1" ] || { echo "LAYERFS_MOUNT differs"; exit 3; }
		 cat "$1/README"' - "$want"
	if [ $rc = 0 ] && [ "$(cat out)" = "A project." ]; then ok "$d"
	else not_ok "$d" "status $rc: $(cat out err)"; fi
}
at_case "--at with a newline" $'/sandbox/a\nb' $'/sandbox/a\nb'
at_case "--at ending with a newline" $'/sandbox/nl\n' $'/sandbox/nl\n'
at_case "--at with a newline before a slash" $'/sandbox/x\n/y' $'/sandbox/x\n/y'
every=$(printf "$(printf '\\%03o' $(seq 1 46) $(seq 48 255))")
at_case "--at with every byte but NUL and '/' in one name" "/sandbox/$every" "/sandbox/$every"
at_case "--at with dots, doubled slashes and a newline" $'//sandbox/./q\n/../q\n//' $'/sandbox/q\n'
at_case "--at with spaces, quotes, a backslash and a colon" "/sandbox/a b'\"\\:*?[" "/sandbox/a b'\"\\:*?["
long=/sandbox/$(printf 'n%.0s' $(seq 250))
long=$long$long$long$long$long$long$long$long$long$long$long$long$long$long$long$long$long
refused "--at longer than PATH_MAX" "mount point $long: File name too long" \
	run --lower proj.tar --at "$long"
# A newline in the upper's, a lower's and the cache's names, at their ends too.
mkdir -p $'low\n' && cp proj.tar $'low\n/p.tar'
lf run --lower $'low\n/p.tar' --upper $'up\n' --cache $'ca\nche\n' --at /sandbox/n -- \
	sh -c 'cat /sandbox/n/README; echo new > /sandbox/n/new'
if [ $rc = 0 ] && [ "$(cat out)" = "A project." ] && [ "$(cat $'up\n/new')" = new ] &&
	[ -n "$(ls -A $'ca\nche\n')" ]; then
	ok "newlines at the end of the lower's, the upper's and the cache's names"
else
	not_ok "newlines in the lower's, upper's and cache's names" "status $rc: $(cat err); $(ls -A)"
fi

# ---- relative LAYERFS_LOWER, LAYERFS_UPPER and LAYERFS_CACHE ----------------

# The first process resolves them against its working directory; a child
# that changes directory keeps reading and writing the same layers.
mkdir -p rel/work rel/elsewhere rel/elsewhere/up rel/work/up
cp proj.tar rel/work/p.tar
echo 'decoy' > rel/elsewhere/README && tar -C rel/elsewhere -cf rel/elsewhere/p.tar README
out=$(cd rel/work && timeout -k 5 "$TO" env LD_PRELOAD="$PRELOAD" LAYERFS_MOUNT="$MNT" \
	LAYERFS_LOWER=p.tar LAYERFS_UPPER=up LAYERFS_CACHE=cache LAYERFS_TRACE=trace sh -c "
	cat $MNT/README
	cd ../elsewhere && sh -c 'cat $MNT/README; echo made > $MNT/made'
	cd / && cat $MNT/made" 2>&1)
rc=$?
if [ $rc = 0 ] && [ "$out" = $'A project.\nA project.\nmade' ] &&
	[ "$(cat rel/work/up/made 2>/dev/null)" = made ] && [ ! -e rel/elsewhere/up/made ] &&
	[ -d rel/work/cache ] && [ ! -e rel/elsewhere/cache ] && [ ! -e /cache ] &&
	[ "$(grep -c " open $MNT/README " rel/work/trace)" = 2 ] && [ ! -e rel/elsewhere/trace ]; then
	ok "relative LAYERFS_LOWER/UPPER/CACHE/TRACE mean the first process's directory, in every child"
else
	not_ok "relative LAYERFS_LOWER/UPPER/CACHE/TRACE" "status $rc: $out; $(find rel -name made -o -name cache -o -name trace)"
fi
out=$(cd rel/work && env LD_PRELOAD="$PRELOAD" LAYERFS_MOUNT="$MNT" LAYERFS_LOWER=p.tar \
	LAYERFS_UPPER=up LAYERFS_CACHE=cache sh -c 'env' | grep '^LAYERFS_\(LOWER\|UPPER\|CACHE\)=')
check "children get the absolute paths" test "$out" = "LAYERFS_LOWER=$T/rel/work/p.tar
LAYERFS_UPPER=$T/rel/work/up
LAYERFS_CACHE=$T/rel/work/cache"
# Where a relative path cannot be resolved once (a working directory in
# the view): refused, one message, EIO under the mount.
out=$(env LAYERFS_CWD=sub LD_PRELOAD="$PRELOAD" LAYERFS_MOUNT="$MNT" LAYERFS_LOWER=p.tar \
	LAYERFS_UPPER=mem sh -c "cat $MNT/README; cat $MNT/README" 2>&1)
check "a relative lower with the working directory in the view: one message, EIO" \
	test "$(grep -c '^layerfs: LAYERFS_LOWER=p.tar: a relative path, and the working directory is in the view$' <<< "$out"):$(grep -c 'Input/output error' <<< "$out")" = 1:2
# A ':' in the working directory is escaped in the list children get.
mkdir -p 'rel/co:lon' && cp proj.tar 'rel/co:lon/p.tar'
out=$(cd 'rel/co:lon' && env LD_PRELOAD="$PRELOAD" LAYERFS_MOUNT="$MNT" \
	LAYERFS_LOWER=p.tar:../work/p.tar LAYERFS_UPPER=mem sh -c "cd / && sh -c 'cat $MNT/README'" 2>&1)
check "relative lowers in a directory with a ':'" test "$out" = "A project."
# The launcher passes absolute paths too, whatever LAYERFS_CACHE holds.
(cd rel/work && LAYERFS_CACHE=lcache timeout -k 5 "$TO" "$LAYERFS" run --lower p.tar \
	--at /sandbox/r -- sh -c 'cd / && echo "$LAYERFS_CACHE" && cat /sandbox/r/README') >out 2>err
check "launcher: a relative LAYERFS_CACHE is made absolute for the job" \
	test "$(cat out)" = "$T/rel/work/lcache
A project."

finish
