#!/bin/bash
# SPDX-License-Identifier: MIT
# Configurations the launcher and the shim must refuse, or take exactly as
# given (issue 13): a lower that is neither a regular file nor a directory
# (a FIFO must not hang), a lower directory that cannot be searched.
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

if [ "$(id -u)" = 0 ]; then
	as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
else
	as_user() { "$@"; }
fi
chmod 755 "$T"
mkdir user user/run user/cache
chmod 777 user user/run user/cache
mkdir -p user/d && echo x > user/d/f && chmod 444 user/d
user_run() {
	rm -f "$T/user/started"
	as_user env XDG_RUNTIME_DIR="$T/user/run" timeout -k 5 "$TO" "$LAYERFS" run \
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

finish
