#!/bin/bash
# SPDX-License-Identifier: MIT
# The launcher, scripts/layerfs: every option and every error path (message
# and exit status 125, command not started), exit status propagation, the
# change report, the OCI layer export (determinism, and applying it with an
# OCI applier gives the final view), the CI scenario of issue #4, in-place
# overlays, upper reuse, cleanup of the temporary upper on exit and on
# signals, the whole job ended (daemons too) before that, the messages a
# user sees (a non-empty --at, an export that cannot be made, a missing
# COMMAND), the view's root from the archive, progress on a terminal only,
# programs the shim cannot reach (static, static-pie, ldconfig, another
# loader), and `make install` (installed launcher, pkg-config, man page).
. "$(dirname "$0")/lib.sh"

# The temporary upper goes to $XDG_RUNTIME_DIR: a private one shows exactly
# what the launcher created.
export XDG_RUNTIME_DIR=$T/run
mkdir -m 700 "$XDG_RUNTIME_DIR"
cd "$T" || exit 1
TO=60	# seconds any one launcher run may take

# lf ARG...: runs the launcher; stdout in $T/out, stderr in $T/err, status in $rc.
lf() {
	timeout -k 5 "$TO" "$LAYERFS" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}
out() { cat "$T/out"; }
err() { cat "$T/err"; }

# expect DESC STATUS STDOUT STDERR: checks the last lf run exactly.
expect() {
	local d=$1 st=$2 o=$3 e=$4 why=""
	[ "$rc" = "$st" ] || why="status $rc, expected $st"$'\n'
	[ "$(out)" = "$o" ] || why+="stdout:"$'\n'"$(out)"$'\n'"expected:"$'\n'"$o"$'\n'
	[ "$(err)" = "$e" ] || why+="stderr:"$'\n'"$(err)"$'\n'"expected:"$'\n'"$e"
	if [ -z "$why" ]; then ok "$d"; else not_ok "$d" "$why"; fi
}

# setup_error DESC MESSAGE LAUNCHER-ARGS... -- : the launcher refuses with
# exactly "layerfs: MESSAGE" and status 125, and never starts the command.
setup_error() {
	local d=$1 msg=$2; shift 2
	rm -f "$T/started"
	lf "$@" touch "$T/started"
	if [ -e "$T/started" ]; then
		not_ok "$d" "the command was started"
	else
		expect "$d" 125 "" "layerfs: $msg"
	fi
}

# The tree under $1: type, mode, name, symlink target, then checksums
# (no sizes or times of directories: they differ between filesystems).
tree_list() {
	(cd "$1" && find . -mindepth 1 -printf '%y %m %P %l\n' | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r md5sum)
}

# The same tree seen through the view: view_tree LOWER MOUNT UPPER
view_tree() {
	timeout -k 5 "$TO" "$LAYERFS" run --lower "$1" --at "$2" --upper "$3" -- \
		bash -c "$(declare -f tree_list); tree_list $2"
}

# A tiny OCI image-layer applier (image-spec layer.md, "Applying changesets"):
# whiteouts delete from the layers below (.wh.NAME: NAME; .wh..wh..opq: every
# existing child of its directory), then the other entries are extracted,
# an entry replacing what is there unless both are directories.
oci_apply() {
	python3 - "$1" "$2" <<'EOF'
import os, shutil, sys, tarfile
layer, root = sys.argv[1], sys.argv[2]
def rm(p):
    if os.path.isdir(p) and not os.path.islink(p):
        shutil.rmtree(p)
    elif os.path.lexists(p):
        os.unlink(p)
with tarfile.open(layer) as t:
    members = t.getmembers()
    for m in members:
        d, b = os.path.split(os.path.normpath(m.name))
        if b == '.wh..wh..opq':
            for c in os.listdir(os.path.join(root, d)):
                rm(os.path.join(root, d, c))
        elif b.startswith('.wh.'):
            rm(os.path.join(root, d, b[4:]))
    for m in members:
        if os.path.basename(os.path.normpath(m.name)).startswith('.wh.'):
            continue
        p = os.path.join(root, os.path.normpath(m.name))
        if os.path.lexists(p) and not (m.isdir() and os.path.isdir(p) and not os.path.islink(p)):
            rm(p)
        try:
            t.extract(m, root, numeric_owner=True, filter='fully_trusted')
        except TypeError:
            t.extract(m, root, numeric_owner=True)
EOF
}

# The temporary uppers that exist now.
temp_uppers() { ls -A "$XDG_RUNTIME_DIR"; }

# ---- fixtures ------------------------------------------------------------

# A small C project: `make` builds prog from two objects, `make check` runs it.
mkdir -p proj/src proj/tests
cat > proj/Makefile <<'EOF'
CFLAGS = -O2
prog: src/main.o src/util.o
	$(CC) -o $@ src/main.o src/util.o
src/%.o: src/%.c src/util.h
	$(CC) $(CFLAGS) -c -o $@ $<
check: prog
	./prog > check.log
	sh tests/check.sh check.log
.PHONY: check
EOF
printf '#include "util.h"\n#include <stdio.h>\nint main(void) { printf("sum=%%d\\n", add(40, 2)); return 0; }\n' > proj/src/main.c
printf '#include "util.h"\nint add(int a, int b) { return a + b; }\n' > proj/src/util.c
printf 'int add(int a, int b);\n' > proj/src/util.h
printf '#!/bin/sh\ngrep -qx sum=42 "$1"\n' > proj/tests/check.sh
chmod 755 proj/tests/check.sh
printf 'A small C project.\n' > proj/README
tar -C proj -cf proj.tar .
PROJSUM=$(md5sum < proj.tar)

# Two archives to stack, and a directory lower.
mkdir -p top bottom dirlow/sub
echo top > top/f; echo bottom > bottom/f; echo bottom > bottom/g
tar -C top -cf top.tar .; tar -C bottom -czf bottom.tar.gz .
echo one > dirlow/one; echo two > dirlow/sub/two

# ---- front end: help, version, unknown things ----------------------------

lf --help
if [ $rc = 0 ] && grep -q '^usage:' "$T/out" && grep -q 'layerfs run' "$T/out"; then
	ok "--help: usage on stdout, status 0"
else
	not_ok "--help" "$(out; err)"
fi
lf --version
expect "--version" 0 "layerfs $(sed -n 's/.*LAYERFS_VERSION "\(.*\)"/\1/p' "$top/core/layerfs.h")" ""
lf frobnicate
expect "unknown command" 125 "" "layerfs: unknown command 'frobnicate' (see 'layerfs --help')"
lf
if [ $rc = 125 ] && grep -q '^usage:' "$T/err"; then ok "no arguments: usage, 125"
else not_ok "no arguments" "$(err)"; fi

# ---- run: every error path ----------------------------------------------

setup_error "missing archive" \
	"lower layer $T/nope.tar: No such file or directory" \
	run --lower "$T/nope.tar" --at /sandbox/x --
head -c 3000 /dev/urandom > corrupt.tar
setup_error "corrupt archive" \
	"$T/corrupt.tar: Unrecognized archive format" \
	run --lower corrupt.tar --at /sandbox/x --
gzip -c proj.tar | head -c 300 > truncated.tar.gz
setup_error "truncated compressed archive" \
	"$T/truncated.tar.gz: truncated gzip input" \
	run --lower truncated.tar.gz --at /sandbox/x --
echo file > afile
setup_error "upper is a file" \
	"upper directory $T/afile: Not a directory" \
	run --lower proj.tar --at /sandbox/x --upper afile --
setup_error "upper below a file" \
	"upper directory $T/afile/sub: Not a directory" \
	run --lower proj.tar --at /sandbox/x --upper afile/sub --
longname=$(printf 'n%.0s' $(seq 300))
setup_error "upper that cannot be created" \
	"upper directory $T/$longname/up: File name too long" \
	run --lower proj.tar --at /sandbox/x --upper "$longname/up" --
if [ "$(id -u)" != 0 ]; then
	mkdir -p ro && chmod 555 ro
	setup_error "upper in a read-only directory" \
		"upper directory $T/ro/up: Permission denied" \
		run --lower proj.tar --at /sandbox/x --upper ro/up --
else
	skip "upper in a read-only directory" "running as root"
fi
setup_error "upper inside the mount point" \
	"upper directory /sandbox/x/up is inside the mount point /sandbox/x" \
	run --lower proj.tar --at /sandbox/x --upper /sandbox/x/up --
setup_error "relative mount point" \
	"mount point 'sandbox/x' must be an absolute path" \
	run --lower proj.tar --at sandbox/x --
setup_error "--at /" "mount point cannot be /" run --lower proj.tar --at / --
setup_error "--at /tmp/.. is /" "mount point cannot be /" run --lower proj.tar --at /tmp/.. --
setup_error "archive without --at" \
	"lower layer $T/proj.tar is an archive: give it a mount point with --at /some/absolute/path" \
	run --lower proj.tar --
setup_error "several lowers without --at" \
	"several lower layers need a mount point: add --at /some/absolute/path" \
	run --lower dirlow --lower top.tar --
setup_error "lower inside the mount point" \
	"lower layer $T/proj.tar is inside the mount point $T" \
	run --lower proj.tar --at "$T" --
setup_error "unknown option" \
	"unknown option '--bogus' (see 'layerfs --help')" \
	run --lower proj.tar --at /sandbox/x --bogus --
lf run --lower proj.tar --at
expect "option without its value" 125 "" "layerfs: option '--at' needs a value (see 'layerfs --help')"
setup_error "no lower" "no lower layer given (--lower PATH)" run --at /sandbox/x --
lf run --lower proj.tar --at /sandbox/x --
expect "no command" 125 "" "layerfs: no COMMAND given (layerfs run [OPTION]... -- COMMAND [ARG]...)"
setup_error "bad --semantics" \
	"--semantics must be read-only or writable-files, not 'rw'" \
	run --lower proj.tar --at /sandbox/x --semantics rw --
setup_error "trace file that cannot be written" \
	"trace file $T/nodir/trace: No such file or directory" \
	run --lower proj.tar --at /sandbox/x --trace nodir/trace --
setup_error "export into a missing directory" \
	"export file $T/nodir/l.tar: No such file or directory" \
	run --lower proj.tar --at /sandbox/x --export nodir/l.tar --
setup_error "cache that cannot be created" \
	"cache directory $T/afile/cache: Not a directory" \
	run --lower proj.tar --at /sandbox/x --cache afile/cache --
if [ -z "$(temp_uppers)" ]; then ok "no temporary upper left by refused runs"
else not_ok "no temporary upper left by refused runs" "$(temp_uppers)"; fi

# ---- run: exit status ------------------------------------------------------

run_status() { # run_status DESC EXPECTED CMD...
	local d=$1 st=$2; shift 2
	lf run --lower proj.tar --at /sandbox/p -- "$@"
	if [ "$rc" = "$st" ]; then ok "$d"; else not_ok "$d" "status $rc, expected $st; $(err)"; fi
}
run_status "status 0" 0 true
run_status "status 1" 1 false
run_status "status 7" 7 sh -c 'exit 7'
run_status "killed by SIGTERM: 143" 143 sh -c 'kill -TERM $$'
run_status "killed by SIGKILL: 137" 137 sh -c 'kill -KILL $$'
lf run --lower proj.tar --at /sandbox/p -- no-such-command-xyz
if [ $rc = 127 ] && grep -q "no-such-command-xyz" "$T/err"; then ok "missing command: 127"
else not_ok "missing command: 127" "status $rc; $(err)"; fi
printf 'not a program\n' > noexec; chmod 644 noexec
lf run --lower proj.tar --at /sandbox/p -- "$T/noexec"
if [ $rc = 126 ] && grep -q "noexec: Permission denied" "$T/err"; then
	ok "command not executable: 126"
else
	not_ok "command not executable: 126" "status $rc; $(err)"
fi

# ---- run: the view and the options -----------------------------------------

lf run --lower proj.tar --at /sandbox/p -- sh -c 'cat /sandbox/p/src/util.h; ls /sandbox/p'
expect "archive view" 0 "int add(int a, int b);
Makefile
README
src
tests" ""
lf run --lower=proj.tar --at=/sandbox/p -- cat /sandbox/p/README
expect "--opt=VALUE forms" 0 "A small C project." ""
lf run --lower top.tar --lower bottom.tar.gz --at /sandbox/s -- sh -c 'cat /sandbox/s/f /sandbox/s/g'
expect "--lower repeated: topmost first" 0 "top
bottom" ""
cp top.tar 'co:lon.tar'
lf run --lower 'co:lon.tar' --lower bottom.tar.gz --at /sandbox/s -- sh -c 'cat /sandbox/s/f /sandbox/s/g'
expect "a ':' in a lower's name" 0 "top
bottom" ""
lf run --lower dirlow --at /sandbox/d -- sh -c 'cat /sandbox/d/sub/two; echo new > /sandbox/d/one'
if [ $rc = 0 ] && [ "$(out)" = two ] && [ "$(cat dirlow/one)" = one ]; then
	ok "directory lower at another mount point, lower untouched"
else
	not_ok "directory lower at another mount point" "$rc $(out; err; cat dirlow/one)"
fi
lf run --lower proj.tar --at /sandbox//p/./ -- sh -c 'echo "$LAYERFS_MOUNT"; cat /sandbox/p/README'
expect "mount point normalised" 0 "/sandbox/p
A small C project." ""
lf run --lower proj.tar --at /sandbox/p -- /sandbox/p/tests/check.sh /dev/null
if [ $rc = 1 ]; then ok "COMMAND found in the view"; else not_ok "COMMAND found in the view" "$rc $(err)"; fi
lf run --lower proj.tar --at /sandbox/p -- sh -c 'cd /sandbox/p && PATH=/sandbox/p/tests:$PATH exec check.sh /dev/null'
[ $rc = 1 ] && ok "COMMAND through a PATH inside the view" || not_ok "COMMAND through a PATH inside the view" "$rc $(err)"

# --cache
lf run --lower proj.tar --at /sandbox/p --cache "$T/cache2" -- sh -c 'echo "$LAYERFS_CACHE"'
if [ $rc = 0 ] && [ "$(out)" = "$T/cache2" ] && [ -n "$(ls -A "$T/cache2")" ]; then
	ok "--cache: created, filled, passed to the job"
else
	not_ok "--cache" "$rc $(out; err)"
fi

# --trace
echo stale > trace
lf run --lower proj.tar --at /sandbox/p --trace trace -- sh -c 'echo "$LAYERFS_TRACE"; cat /sandbox/p/README > /dev/null'
if [ $rc = 0 ] && [ "$(out)" = "$T/trace" ] && ! grep -q stale trace &&
	grep -Eq '^[0-9]+ open /sandbox/p/README lower0 [0-9]+$' trace; then
	ok "--trace: LAYERFS_TRACE set, file truncated, one line per operation"
else
	not_ok "--trace" "$rc $(out; err; head trace)"
fi

# --semantics
rm -rf wf && mkdir -p wf/lower wf/upper && echo old > wf/lower/file
lf run --lower wf/lower --at /sandbox/w --upper wf/upper --semantics writable-files -- \
	sh -c 'echo more >> /sandbox/w/file; echo n > /sandbox/w/new; cat /sandbox/w/file /sandbox/w/new'
if [ $rc = 0 ] && [ "$(out)" = $'old\nmore\nn' ] && [ "$(cat wf/lower/file)" = $'old\nmore' ] &&
	[ ! -e wf/lower/new ] && [ "$(ls -A -I '.wh..wh.*' wf/upper)" = new ]; then
	ok "--semantics writable-files: existing file written in place, new file in the upper"
else
	not_ok "--semantics writable-files" "$rc $(out; err; ls -A wf/lower wf/upper)"
fi
rm -rf wf/upper && echo old > wf/lower/file
lf run --lower wf/lower --at /sandbox/w --upper wf/upper --semantics read-only -- \
	sh -c 'echo more >> /sandbox/w/file'
if [ $rc = 0 ] && [ "$(cat wf/lower/file)" = old ] && [ "$(cat wf/upper/file)" = $'old\nmore' ]; then
	ok "--semantics read-only: the write copies up"
else
	not_ok "--semantics read-only" "$rc $(err; ls -A wf/upper)"
fi

# ---- what a user sees: warnings and messages --------------------------------

# A mount point over a host directory that holds something: one warning.
mkdir -p occupied empty && echo mine > occupied/mine
lf run --lower proj.tar --at "$T/occupied" -- sh -c "cat $T/occupied/README; ls $T/occupied/mine 2>/dev/null; sh -c 'ls $T/occupied >/dev/null'"
expect "--at over a directory that is not empty: warned once" 0 "A small C project." \
	"layerfs: warning: the mount point $T/occupied is a directory that is not empty: the job sees the view there, not what it holds"
lf run --lower proj.tar --at "$T/empty" -- true
expect "--at over an empty directory: no warning" 0 "" ""

# An export that cannot be created: the path and the kernel's reason,
# before COMMAND starts; nothing left behind.
reason=$( { : > /proc/x.tar.probe; } 2>&1 ); reason=${reason##*: }
setup_error "--export /proc/x.tar: the reason, before COMMAND" \
	"export file /proc/x.tar: $reason" run --lower proj.tar --at /sandbox/x --export /proc/x.tar --
mkdir -p R2/a && mkdir -p isdir/sub
lf export R2 -o /proc/x.tar
expect "export -o /proc/x.tar: the reason" 125 "" "layerfs: export: /proc/x.tar: $reason"
lf export R2 -o isdir
if [ $rc = 125 ] && grep -q "^layerfs: export: isdir: Is a directory" "$T/err" &&
	[ -z "$(ls -d isdir.tmp.* 2>/dev/null)" ]; then
	ok "export onto a directory: the reason, no temporary file left"
else
	not_ok "export onto a directory" "$rc $(err) $(ls -d isdir.tmp.* 2>&1)"
fi

# A COMMAND that is nowhere: layerfs says so, as a shell would, 127.
lf run --lower proj.tar --at /sandbox/p -- no-such-command-here
expect "a COMMAND that does not exist: layerfs's message, 127" 127 "" \
	"layerfs: no-such-command-here: command not found"
lf run --lower proj.tar --at /sandbox/p -- /sandbox/p/nope
expect "a COMMAND path in the view that does not exist: layerfs's message, 127" 127 "" \
	"layerfs: /sandbox/p/nope: No such file or directory"
lf run --lower proj.tar --at /sandbox/p -- /sandbox/p/README
expect "a COMMAND in the view that cannot be run: layerfs's message, 126" 126 "" \
	"layerfs: /sandbox/p/README: Permission denied"
PATH=/sandbox/p/tests:$PATH lf run --lower proj.tar --at /sandbox/p -- check.sh /dev/null
expect "a COMMAND found in the view by PATH runs" 1 "" ""

# The view's root: the archive's "./" entry (mode, times, owner), as an
# extracted copy's top directory shows it.
mkdir -p rootmeta && echo r > rootmeta/f && chmod 750 rootmeta && touch -d 2001-02-03 rootmeta
tar --owner=1234 --group=2345 -C rootmeta -cf rootmeta.tar .
rm -rf rootx && mkdir rootx && tar -C rootx -xf rootmeta.tar
lf run --lower rootmeta.tar --at /sandbox/r -- stat -c '%a %Y %u %g' /sandbox/r
expect "view root: the archive's ./ entry, as extracted" 0 "$(stat -c '%a %Y %u %g' rootx)" ""
lf run --lower rootmeta.tar --at /sandbox/r -- sh -c 'touch /sandbox/r/new; stat -c %a /sandbox/r'
expect "view root: still written to" 0 "750" ""

# ---- run: the temporary upper ----------------------------------------------

lf run --lower proj.tar --at /sandbox/p -- sh -c 'echo "$LAYERFS_UPPER"; echo x > /sandbox/p/new; ls "$LAYERFS_UPPER"'
case $(out) in
"$XDG_RUNTIME_DIR"/layerfs-upper.*$'\nnew') ok "temporary upper in \$XDG_RUNTIME_DIR, shared with the job" ;;
*) not_ok "temporary upper in \$XDG_RUNTIME_DIR" "$(out; err)" ;;
esac
[ -z "$(temp_uppers)" ] && ok "temporary upper removed after status 0" ||
	not_ok "temporary upper removed after status 0" "$(temp_uppers)"
lf run --lower proj.tar --at /sandbox/p -- sh -c 'mkdir -p /sandbox/p/d/e; chmod 500 /sandbox/p/d; exit 1'
[ $rc = 1 ] && [ -z "$(temp_uppers)" ] && ok "temporary upper removed after status 1" ||
	not_ok "temporary upper removed after status 1" "$rc $(temp_uppers)"

# signal_case SIG: the launcher gets SIG while the job runs; the job gets it
# too, the launcher exits 128+N, and the temporary upper is gone.
signal_case() {
	local sig=$1 num pid
	num=$(kill -l "$sig")
	rm -f "$T/ready"
	# The launcher gets SIG with its default action, whatever this script
	# inherited: a background job ignores SIGINT, `nohup` ignores SIGHUP,
	# and a shell cannot undo a disposition it was started with (the
	# launcher keeps a signal ignored that it was started with ignored).
	env --default-signal="$sig" "$LAYERFS" run --lower proj.tar --at /sandbox/p \
		--export "$T/sig.tar" -- \
		sh -c 'echo x > /sandbox/p/new; echo "$$" > '"$T/ready"'; exec sleep 30' 2>"$T/err" &
	pid=$!
	for _ in $(seq 100); do [ -s "$T/ready" ] && break; sleep 0.1; done
	local child
	child=$(cat "$T/ready" 2>/dev/null)
	kill -"$sig" "$pid"
	local t0=$SECONDS
	wait "$pid"; rc=$?
	if [ "$rc" = $((128 + num)) ] && [ $((SECONDS - t0)) -lt 10 ] && [ -z "$(temp_uppers)" ] &&
		! kill -0 "$child" 2>/dev/null && [ ! -e "$T/sig.tar" ]; then
		ok "SIG$sig to the launcher: job ended, status $rc, temporary upper removed, no export"
	else
		not_ok "SIG$sig to the launcher" "status $rc; uppers: $(temp_uppers); $(err)"
		kill "$child" 2>/dev/null
	fi
}
signal_case TERM
signal_case INT
signal_case HUP

# Started with SIGHUP ignored (as by nohup), the launcher keeps it ignored,
# and so does the job.
rm -f "$T/ready"
env --ignore-signal=HUP "$LAYERFS" run --lower proj.tar --at /sandbox/p -- \
	sh -c 'echo "$$" > '"$T/ready"'; sleep 1; kill -HUP $$; echo alive; exit 7' \
	>"$T/hup.out" 2>"$T/err" &
pid=$!
for _ in $(seq 100); do [ -s "$T/ready" ] && break; sleep 0.1; done
kill -HUP "$pid"
wait "$pid"; rc=$?
if [ "$rc" = 7 ] && [ "$(cat "$T/hup.out")" = alive ] && [ -z "$(temp_uppers)" ]; then
	ok "SIGHUP ignored at start: the launcher and the job keep it ignored"
else
	not_ok "SIGHUP ignored at start" "status $rc; out: $(cat "$T/hup.out"); $(err)"
fi

# Ctrl-C at a terminal reaches the whole foreground group, the job included:
# the launcher does not send it a second time, and exits with its status.
# script(1) runs its command with $SHELL; dash would die of the SIGINT itself
# before printing the status, bash waits for its child (as an interactive
# user's shell does), so name bash whatever the caller's $SHELL is.  SIGINT
# is given its default action, as at a terminal, whatever this script
# inherited.
if command -v script >/dev/null; then
	rm -f "$T/ready"
	o=$( { for _ in $(seq 200); do [ -e "$T/ready" ] && break; sleep 0.1; done
	       printf '\003'; sleep 4; } |
		SHELL=/bin/bash timeout "$TO" env --default-signal=INT script -qec "'$LAYERFS' run --lower '$T/proj.tar' --at /sandbox/p -- sh -c 'trap \"echo got INT\" INT; touch $T/ready; sleep 2 & wait; sleep 0.5; echo end; exit 5'; echo launcher=\$?" /dev/null 2>&1 | tr -d '\r')
	if [ "$(grep -c 'got INT' <<<"$o")" = 1 ] && grep -q '^end$' <<<"$o" &&
		grep -q '^launcher=5$' <<<"$o" && [ -z "$(temp_uppers)" ]; then
		ok "Ctrl-C at a terminal: the job gets it once, its status is kept"
	else
		not_ok "Ctrl-C at a terminal" "$o"
	fi
else
	skip "Ctrl-C at a terminal" "no script(1)"
fi

# ---- the job ends as a container does --------------------------------------

# The job of end_case, in the view of proj.tar: a background grandchild; a
# daemon that setsid's, and writes into the view when it gets SIGTERM; a
# double-forked process that ignores SIGTERM.  Their pids go to $1; then
# COMMAND exits 3, or ("wait") waits for a signal.
cat > jobend.sh <<'EOF2'
P=$1
sleep 300 & echo $! >> "$P"
setsid sh -c 'echo $$ >> "$1"; trap "echo bye > /sandbox/p/bye && touch \"\$1.bye\"; exit 0" TERM
	sleep 301 & echo $! >> "$1"; wait' sh "$P" &
( sh -c 'trap "" TERM; echo $$ >> "$1"; exec sleep 302' sh "$P" & )
while [ "$(wc -l < "$P")" -lt 4 ]; do sleep 0.05; done
touch "$P.ready"
[ "$2" = wait ] && exec sleep 300
exit 3
EOF2

# end_case HOW ENV-ARG...: the job above ends by COMMAND's exit (HOW "exit")
# or by signal HOW to the launcher (run by env ENV-ARG...); then no process
# of it is left, the daemon could still write into the view when it got
# SIGTERM, and the upper was exported (after a normal exit) or removed only
# after that.
end_case() {
	local how=$1 desc=$1 want=3 left="" p pid mode=exit; shift
	[ "$how" = exit ] || { want=$((128 + $(kill -l "$how"))); mode=wait; desc="SIG$how"; }
	[ $# = 0 ] || desc="$desc ($*)"
	rm -f "$T/pids" "$T/pids.ready" "$T/pids.bye" "$T/end.tar"
	env "$@" timeout -k 5 "$TO" "$LAYERFS" run --lower proj.tar --at /sandbox/p \
		--export "$T/end.tar" -- sh "$T/jobend.sh" "$T/pids" "$mode" >"$T/out" 2>"$T/err" &
	pid=$!
	if [ "$how" != exit ]; then
		for _ in $(seq 100); do [ -e "$T/pids.ready" ] && break; sleep 0.1; done
		kill -"$how" "$pid"
	fi
	wait "$pid"; rc=$?
	for p in $(cat "$T/pids" 2>/dev/null); do
		kill -0 "$p" 2>/dev/null && left+=" $p"
	done
	local exported=no want_export=no
	[ -e "$T/end.tar" ] && exported=$(tar -tf "$T/end.tar" | grep -qx bye && echo yes || echo "without bye")
	[ "$how" = exit ] && want_export=yes
	if [ "$rc" = "$want" ] && [ -z "$left" ] && [ "$(wc -l < "$T/pids")" = 4 ] &&
		[ -e "$T/pids.bye" ] && [ -z "$(temp_uppers)" ] && [ "$exported" = $want_export ]; then
		ok "job end by $desc: grandchildren, setsid and double-forked processes gone first"
	else
		not_ok "job end by $desc" "status $rc (expected $want); left:$left; exported: $exported; bye: $(ls "$T/pids.bye" 2>&1); uppers: $(temp_uppers); $(err)"
		for p in $left; do kill -KILL "$p"; done
	fi
}
end_case exit
end_case TERM
end_case INT --default-signal=INT
# Started in the background or by nohup: SIGINT and SIGHUP stay ignored,
# SIGTERM still ends the whole job.
end_case TERM --ignore-signal=INT --ignore-signal=HUP

# The launcher killed with SIGKILL (nothing of it runs): the job's reaper
# kills every process of the job at once, and removes the temporary upper
# and the supervisor's directory.  A job writing into the view all along
# (through the shim), and the processes of jobend.sh.
rm -f "$T/pids" "$T/pids.ready" "$T/pids.bye"
timeout -k 5 "$TO" "$LAYERFS" run --lower proj.tar --at /sandbox/p -- sh -c '
	sh "$1" "$2" nowait
	while :; do echo x >> /sandbox/p/log; sleep 0.05; done' - "$T/jobend.sh" "$T/pids" \
	>"$T/out" 2>"$T/err" &
pid=$!
for _ in $(seq 100); do [ -e "$T/pids.ready" ] && break; sleep 0.1; done
launcher=$(pgrep -P "$pid")
kill -KILL "$launcher"
left=x
for _ in $(seq 100); do
	left=""
	for p in $(cat "$T/pids" 2>/dev/null); do kill -0 "$p" 2>/dev/null && left+=" $p"; done
	[ -z "$left$(temp_uppers)" ] && break
	sleep 0.1
done
wait "$pid"; rc=$?
if [ "$rc" = 137 ] && [ -n "$launcher" ] && [ -z "$left" ] && [ "$(wc -l < "$T/pids")" = 4 ] &&
	[ -z "$(temp_uppers)" ] && [ ! -e "$T/pids.bye" ]; then
	ok "launcher killed with SIGKILL: the whole job ends at once, its temporary directories go"
else
	not_ok "launcher killed with SIGKILL" "status $rc; launcher: $launcher; left:$left; uppers: $(temp_uppers); bye: $(ls "$T/pids.bye" 2>&1); $(err)"
	for p in $left; do kill -KILL "$p"; done
fi
# The reaper itself killed (COMMAND's parent): its orphans go to the
# launcher, which ends them as it ends a job.
rm -f "$T/pids" "$T/reaper"
timeout -k 5 "$TO" "$LAYERFS" run --lower proj.tar --at /sandbox/p -- sh -c '
	echo $PPID > "$1"; sleep 300 & echo $! > "$2"; wait' - "$T/reaper" "$T/pids" \
	>"$T/out" 2>"$T/err" &
pid=$!
for _ in $(seq 100); do [ -s "$T/pids" ] && break; sleep 0.1; done
kill -KILL "$(cat "$T/reaper")"
wait "$pid"; rc=$?
if [ "$rc" = 137 ] && ! kill -0 "$(cat "$T/pids")" 2>/dev/null && [ -z "$(temp_uppers)" ]; then
	ok "the launcher's reaper killed: the launcher ends the job"
else
	not_ok "the launcher's reaper killed" "status $rc; uppers: $(temp_uppers); $(err)"
	kill -KILL "$(cat "$T/pids")" 2>/dev/null
fi

# ---- run --diff, --export, diff, export: the CI scenario -------------------

rm -rf U
lf run --lower proj.tar --at /sandbox/proj --upper U -- sh -c 'cd /sandbox/proj && make && make check'
st=$rc; o="$(out; err)"
lf run --lower proj.tar --at /sandbox/proj --upper U -- cat /sandbox/proj/check.log
if [ $st = 0 ] && [ "$(out)" = sum=42 ]; then
	ok "CI: make && make check in the view"
else
	not_ok "CI: make && make check in the view" "status $st; $o"
fi
[ "$(md5sum < proj.tar)" = "$PROJSUM" ] && ok "CI: the archive is byte-identical" ||
	not_ok "CI: the archive is byte-identical"
# docker diff's convention: new entries are A; a directory of the lower
# whose entries were added or deleted is C; the root is never listed.
BUILD_DIFF="A check.log
A prog
C src
A src/main.o
A src/util.o"
lf diff U
expect "CI: layerfs diff U lists exactly the build products" 0 "$BUILD_DIFF" ""
lf diff --lower proj.tar U
expect "CI: layerfs diff --lower proj.tar U" 0 "$BUILD_DIFF" ""
# A copy without the record of the lowers (cp -r keeps no xattrs): the
# documented guess, which cannot tell that src was in the archive.
rm -rf Ucopy && cp -r U Ucopy
lf diff Ucopy
expect "diff without lowers or their record: A unless copy-up left an origin" 0 \
	"${BUILD_DIFF/C src/A src}" ""
lf export U -o l.tar
expect "CI: layerfs export U -o l.tar" 0 "" ""
lf export U -o l2.tar
if cmp -s l.tar l2.tar; then ok "export: two exports of one upper are byte-identical"
else not_ok "export: two exports of one upper are byte-identical"; fi
listing=$(tar tvf l.tar 2>&1)
if [ "$(tar tf l.tar)" = "check.log
prog
src/
src/main.o
src/util.o" ] && ! grep -qv ' 0/0 ' <<<"$listing"; then
	ok "export: a plain tar, sorted, owner 0/0"
else
	not_ok "export: a plain tar, sorted, owner 0/0" "$listing"
fi
rm -rf applied && mkdir applied && tar -C applied -xpf proj.tar && oci_apply l.tar applied
want=$(view_tree proj.tar /sandbox/proj U)
got=$(tree_list applied)
if [ -n "$want" ] && [ "$want" = "$got" ]; then ok "CI: the layer applied over the archive gives the final view"
else not_ok "CI: the layer applied over the archive gives the final view" "$(diff <(echo "$want") <(echo "$got"))"; fi

# Every kind of change: modify, delete, delete a tree, replace a directory
# (opaque), chmod, symlink, hard link, new empty directory, file over dir.
rm -rf U2
lf run --lower proj.tar --at /sandbox/q --upper U2 --diff -- sh -c '
	cd /sandbox/q && echo more >> README && rm src/util.c && rm -rf tests &&
	mkdir tests && echo new > tests/t && chmod 600 src/util.h && ln -s README link &&
	ln README hard && mkdir empty && rm -rf src/../src/main.c && mkdir src/main.c'
expect "--diff: the change report on stderr" 0 "" "layerfs: changes:
C README
A empty
A hard
A link
C src
C src/main.c
D src/util.c
C src/util.h
C tests
D tests/check.sh
A tests/t"
report=$(sed 1d "$T/err")
lf diff U2
expect "diff: same report, lowers recorded by the run" 0 "$report" ""
lf export U2 -o every.tar
lf run --lower proj.tar --at /sandbox/q --upper U2 --export every2.tar -- true
if [ "$(tar tf every.tar)" = "README
empty/
hard
link
src/
src/.wh.util.c
src/main.c/
src/util.h
tests/
tests/.wh..wh..opq
tests/t" ] && cmp -s every.tar every2.tar && tar tvf every.tar | grep -q '^hrw.* hard link to README$' &&
	[ "$(stat -c %h U2/src/.wh.util.c)" = 3 ] && ! tar tvf every.tar | grep -q '^h.*\.wh\.'; then
	ok "export: whiteouts (links of one file in the upper) as plain files, opaque marker, hard link; run --export gives the same bytes"
else
	not_ok "export: whiteouts, opaque marker, hard link" "$(tar tvf every.tar)"
fi
rm -rf applied && mkdir applied && tar -C applied -xpf proj.tar && oci_apply every.tar applied
want=$(view_tree proj.tar /sandbox/q U2)
got=$(tree_list applied)
if [ -n "$want" ] && [ "$want" = "$got" ]; then ok "export: applied with an OCI applier, gives the final view"
else not_ok "export: applied with an OCI applier" "$(diff <(echo "$want") <(echo "$got"))"; fi
lf export U2 -o - >/dev/null
timeout "$TO" "$LAYERFS" export U2 -o - | cmp -s - every.tar && ok "export -o -: to stdout" ||
	not_ok "export -o -: to stdout"

# --diff and --export when the command fails, and with no changes
lf run --lower proj.tar --at /sandbox/p --diff --export fail.tar -- sh -c 'echo x > /sandbox/p/new; exit 3'
if [ $rc = 3 ] && [ "$(err)" = $'layerfs: changes:\nA new' ] && [ "$(tar tf fail.tar)" = new ]; then
	ok "--diff and --export also when the command fails, status kept"
else
	not_ok "--diff and --export when the command fails" "$rc $(err)"
fi
lf run --lower proj.tar --at /sandbox/p --diff -- true
expect "--diff without changes" 0 "" "layerfs: no changes"

# Upper reuse: changes accumulate.
rm -rf R
lf run --lower proj.tar --at /sandbox/r --upper R -- sh -c 'echo 1 > /sandbox/r/a'
lf run --lower proj.tar --at /sandbox/r --upper R -- sh -c 'cat /sandbox/r/a; echo 2 > /sandbox/r/b; rm /sandbox/r/README'
expect "--upper reused: the second run sees the first one's changes" 0 "1" ""
lf diff R
expect "--upper reused: changes accumulate" 0 "D README
A a
A b" ""

# diff and export error paths
lf diff "$T/nope"
expect "diff: missing upper" 125 "" "layerfs: upper directory $T/nope: No such file or directory"
lf diff --bogus R
expect "diff: unknown option" 125 "" "layerfs: diff: unknown option '--bogus' (see 'layerfs --help')"
lf diff --lower "$T/nope.tar" R
expect "diff: missing lower" 125 "" "layerfs: lower layer $T/nope.tar: No such file or directory"
lf export R
expect "export: no -o" 125 "" "layerfs: usage: layerfs export UPPER -o FILE.tar"
lf export "$T/nope" -o x.tar
expect "export: missing upper" 125 "" "layerfs: upper directory $T/nope: No such file or directory"
lf export R -o nodir/x.tar
if [ $rc = 125 ] && grep -q "^layerfs: export: $T/nodir/x.tar\|^layerfs: export: nodir/x.tar" "$T/err"; then
	ok "export: unwritable output"
else
	not_ok "export: unwritable output" "$rc $(err)"
fi

# ---- in-place overlay of a directory ----------------------------------------

rm -rf inplace && cp -a proj inplace
before=$(tree_list inplace)
hung=""
# inplace_run DESC CMD...: one in-place run; after a hang the others are not
# run (each would hang as long), but still reported.
inplace_run() {
	local d=$1; shift
	if [ -n "$hung" ]; then
		rc=124; : >"$T/out"; echo "not run: an earlier in-place run hung" >"$T/err"
		return
	fi
	TO=20 lf "$@"
	[ $rc = 124 ] && hung=$d
}
TO_SAVED=$TO
inplace_run "sees" run --lower inplace -- sh -c "cd '$T/inplace' && rm -rf * && echo x > new && ls && cat new"
if [ $rc = 0 ] && [ "$(out)" = $'new\nx' ]; then ok "in place: the job sees its changes"
else not_ok "in place: the job sees its changes" "status $rc; $(out; err)"; fi
[ "$(tree_list inplace)" = "$before" ] && ok "in place: the directory is untouched" ||
	not_ok "in place: the directory is untouched" "$(diff <(echo "$before") <(tree_list inplace))"
inplace_run "mount" run --lower inplace -- sh -c 'echo "$LAYERFS_MOUNT"'
expect "in place: the mount point defaults to the directory" 0 "$T/inplace" ""
(cd inplace && inplace_run "dot" run --lower . --export "$T/ip.tar" -- sh -c 'echo y > made'
 echo $rc > "$T/rc")
rc=$(cat "$T/rc")
if [ "$rc" = 0 ] && [ "$(tar tf ip.tar 2>/dev/null)" = made ] && [ ! -e inplace/made ]; then
	ok "in place: --lower . from inside, relative path, export"
else
	not_ok "in place: --lower . from inside" "status $rc; $(err)"
fi
TO=$TO_SAVED

# ---- progress: on a terminal only -------------------------------------------

mkdir -p many
(cd many && seq 5000 | xargs touch)
tar -C many -czf many.tar.gz .
if command -v script >/dev/null; then
	o=$(script -qec "'$LAYERFS' index --cache '$T/pc1' '$T/many.tar.gz'" /dev/null 2>&1)
	if grep -q "indexing $T/many.tar.gz: 4096 entries, .* MiB/s, ETA" <<<"$o" &&
		grep -Eq "indexed $T/many.tar.gz: 500[01] entries" <<<"$o"; then
		ok "index: progress on a terminal (entries, bytes, rate, ETA)"
	else
		not_ok "index: progress on a terminal" "$o"
	fi
else
	skip "index: progress on a terminal" "no script(1)"
fi
lf index --cache "$T/pc2" many.tar.gz
expect "index: silent when stderr is not a terminal" 0 "" ""
lf run --lower many.tar.gz --at /sandbox/m --cache "$T/pc3" -- true
expect "run: first run silent when stderr is not a terminal" 0 "" ""
lf index --cache "$T/pc2" nope.tar
expect "index: missing archive" 125 "" "layerfs: archive nope.tar: No such file or directory"
lf index corrupt.tar
expect "index: corrupt archive" 125 "" "layerfs: corrupt.tar: Unrecognized archive format"
lf index many
expect "index: a directory" 125 "" "layerfs: archive many: is a directory (only archives are indexed)"

# ---- programs that make their own system calls -------------------------------

# Supervised (the view holds for them as for any program), or, where no
# supervisor can run, refused unless the user allows them.
printf '#include <stdio.h>\nint main(int c, char **v) { char b[64] = "no file\\n";\n\tFILE *f = fopen(v[1], "r"); if (f && !fgets(b, sizeof(b), f)) b[0] = 0;\n\tfputs(b, stdout); return 0; }\n' > st.c
if gcc -static -o static-prog st.c 2>/dev/null && gcc -static-pie -fPIE -o pie-prog st.c 2>/dev/null; then
	lf run --lower proj.tar --at /sandbox/p -- "$T/static-prog" /sandbox/p/README
	expect "static COMMAND: sees the view, supervised" 0 "A small C project." ""
	lf run --lower proj.tar --at /sandbox/p -- "$T/pie-prog" /sandbox/p/README
	expect "static-pie COMMAND: sees the view, supervised" 0 "A small C project." ""
	lf run --lower proj.tar --at /sandbox/p -- sh -c "'$T/static-prog' /sandbox/p/README; '$T/pie-prog' /sandbox/p/README"
	expect "static programs started by the job: supervised" 0 "A small C project.
A small C project." ""
	lf run --lower proj.tar --at /sandbox/p --allow-unsupervised -- "$T/static-prog" /sandbox/p/README
	expect "--allow-unsupervised: runs it unsupervised, and says so" 0 "no file" \
		"layerfs: warning: $T/static-prog is statically linked: its system calls bypass the view"
	nosec=$build/tools/noseccomp
	env --default-signal=HUP "$nosec" "$LAYERFS" run --lower proj.tar --at /sandbox/p -- \
		"$T/static-prog" /sandbox/p/README > "$T/out" 2> "$T/err"; rc=$?
	if [ $rc = 125 ] && ! [ -s "$T/out" ] && grep -q "static-prog is statically linked: it makes its own system calls" "$T/err"; then
		ok "no seccomp: a static COMMAND is refused with 125"
	else
		not_ok "no seccomp: a static COMMAND is refused with 125" "$rc $(cat "$T/out") $(err)"
	fi
	env --default-signal=HUP "$nosec" "$LAYERFS" run --lower proj.tar --at /sandbox/p -- \
		sh -c "'$T/static-prog' /sandbox/p/README; echo \$?; cat /sandbox/p/README" > "$T/out" 2> "$T/err"; rc=$?
	if [ $rc = 0 ] && [ "$(cat "$T/out")" = "126
A small C project." ] && grep -q "only the launcher's supervisor sees: not run" "$T/err"; then
		ok "no seccomp: a static program started by the job fails with EACCES; the rest runs"
	else
		not_ok "no seccomp: a static program started by the job" "$rc $(cat "$T/out") $(err)"
	fi
	lf run --lower proj.tar --at /sandbox/p -- cat /sandbox/p/README
	expect "dynamic COMMAND: no warning" 0 "A small C project." ""
	# The job has the caller's umask, supervised or not (the supervisor
	# runs in the launcher with its own).
	for prog in "$T/static-prog" cat; do
		(umask 027; lf run --lower proj.tar --at /sandbox/p -- sh -c \
			"umask; '$prog' /sandbox/p/README > /sandbox/p/new; stat -c %a /sandbox/p/new")
		expect "the job keeps the caller's umask (${prog##*/})" 0 "0027
640" ""
	done
	# The mount point's parents the host lacks (ghosts), to a supervised
	# program as to the shim: entered, listed, stat'ed; left unmade.
	lf run --lower proj.tar --at "$T/gh/a/m" -- /bin/busybox sh -c "cd '$T/gh/a' && pwd &&
		ls && head -1 m/README && cd .. && ls && stat -c '%F %U %a' a &&
		find '$T/gh' -maxdepth 2; touch a/f 2>&1; true"
	expect "static: the mount point's parents are there, to enter and list" 0 "$T/gh/a
m
A small C project.
a
directory root 755
$T/gh
$T/gh/a
$T/gh/a/m
touch: a/f: No such file or directory" ""
	check "static: the mount point's parents were not made on the host" test ! -e "$T/gh"
else
	not_ok "build a static and a static-pie program (gcc -static, -static-pie)"
fi

# Programs the shim cannot reach that are neither Go nor plain static: a
# static-pie system program (Debian's ldconfig), and a program for another
# loader than this C library's (here glibc's own, under another name, as
# musl's would be).  Each reads a file of the view, which the host has not:
# supervised it sees it; without a supervisor it is refused, as COMMAND
# (125) and when the job starts it (EACCES: 126 from sh).
cp /etc/ld.so.cache lcache 2>/dev/null || : > lcache
mkdir -p lc && cp lcache lc/ld.so.cache && tar -C lc -cf lc.tar .
ldc=$(command -v ldconfig || { [ -x /sbin/ldconfig ] && echo /sbin/ldconfig; })
interp=$(readelf -l /bin/sh 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
nosec=$build/tools/noseccomp
own_case() { # own_case DESC WHY-PHRASE HOST-PATH EXPECTED-OUTPUT PROGRAM ARG...
	local d=$1 why=$2 path=$3 want=$4; shift 4
	lf run --lower lc.tar --at /sandbox/lc -- "$@"
	expect "$d: supervised, sees the view" 0 "$want" ""
	lf run --lower lc.tar --at /sandbox/lc -- sh -c '"$@"' sh "$@"
	expect "$d, started by the job: supervised" 0 "$want" ""
	env --default-signal=HUP "$nosec" "$LAYERFS" run --lower lc.tar --at /sandbox/lc -- \
		"$@" > "$T/out" 2> "$T/err"; rc=$?
	if [ $rc = 125 ] && ! [ -s "$T/out" ] && grep -q "^layerfs: $path is $why: it makes its own system calls" "$T/err"; then
		ok "$d, no seccomp: refused with 125"
	else
		not_ok "$d, no seccomp: refused with 125" "$rc $(out) $(err)"
	fi
	env --default-signal=HUP "$nosec" "$LAYERFS" run --lower lc.tar --at /sandbox/lc -- \
		sh -c '"$@"; echo $?' sh "$@" > "$T/out" 2> "$T/err"; rc=$?
	if [ $rc = 0 ] && [ "$(out)" = 126 ] && grep -q "is $why: it makes its own system calls, which only the launcher's supervisor sees: not run" "$T/err"; then
		ok "$d, no seccomp, started by the job: EACCES"
	else
		not_ok "$d, no seccomp, started by the job: EACCES" "$rc $(out) $(err)"
	fi
}
if [ -n "$ldc" ] && [ -s lcache ] && file -L "$ldc" | grep -q static-pie; then
	ldout=$("$ldc" -C "$T/lcache" -p)
	own_case "ldconfig (static-pie)" "statically linked" "$(readlink -f "$ldc")" \
		"${ldout/"$T/lcache"/\/sandbox\/lc\/ld.so.cache}" "$ldc" -C /sandbox/lc/ld.so.cache -p
else
	skip "ldconfig (static-pie)" "no static-pie ldconfig or ld.so.cache here"
fi
if [ -n "$interp" ] && cp -L "$interp" "$T/ld-other.so.1" &&
	gcc -Wl,--dynamic-linker="$T/ld-other.so.1" -o foreign-prog st.c 2>/dev/null &&
	[ "$(./foreign-prog "$T/proj/README")" = "A small C project." ]; then
	own_case "a program for another loader" "a program for another C library's loader" \
		"$(readlink -f foreign-prog)" "$(./foreign-prog "$T/lcache")" "$T/foreign-prog" \
		/sandbox/lc/ld.so.cache
else
	skip "a program for another loader" "cannot build one with gcc -Wl,--dynamic-linker"
fi

# ---- make install -----------------------------------------------------------

san=0 san_flags=
if ldd "$LIB" 2>/dev/null | grep -q libasan; then
	san=1 san_flags=-fsanitize=address,undefined
fi
inst=$T/inst
if make -C "$top" -s BUILD="$build" SAN="$san" DESTDIR="$inst" PREFIX=/usr/local install \
	>"$T/make.out" 2>&1; then
	ok "make install DESTDIR PREFIX=/usr/local"
else
	not_ok "make install" "$(cat "$T/make.out")"
fi
missing=
for f in bin/layerfs lib/liblayerfs.so lib/liblayerfs-core.a lib/layerfs/layerfs-helper \
	include/layerfs/layerfs.h include/layerfs/layer.h lib/pkgconfig/layerfs.pc \
	share/man/man1/layerfs.1; do
	[ -e "$inst/usr/local/$f" ] || missing+=" $f"
done
[ -z "$missing" ] && ok "make install: every file" || not_ok "make install: every file" "missing:$missing"
o=$(cd / && env -u LAYERFS_LIBDIR timeout "$TO" "$inst/usr/local/bin/layerfs" run --lower "$T/proj.tar" \
	--at /sandbox/i -- cat /sandbox/i/src/util.h 2>&1)
[ "$o" = "int add(int a, int b);" ] && ok "installed launcher and library run a job" ||
	not_ok "installed launcher and library run a job" "$o"
pc() { PKG_CONFIG_PATH="$inst/usr/local/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$inst" pkg-config "$@"; }
if command -v pkg-config >/dev/null; then
	flags=$(pc --cflags --libs layerfs 2>&1)
	printf '#include <layerfs.h>\n#include <stdio.h>\nint main(void) { struct lyr_layer *m; struct lyr_error e;\n if (lyr_mem_open(&m, &e)) return 1; lyr_destroy(m);\n printf("%%s\\n", LAYERFS_VERSION); return 0; }\n' > pc.c
	# shellcheck disable=SC2086
	version=$("$LAYERFS" --version)
	if [ "$(pc --modversion layerfs)" = "${version#layerfs }" ] &&
		grep -q -- "-I$inst/usr/local/include" <<<"$flags" &&
		cc pc.c $flags $san_flags -o pc-prog 2>"$T/cc.err" && [ "$(./pc-prog)" = "$(pc --modversion layerfs)" ]; then
		ok "pkg-config --cflags --libs layerfs: builds a program with the core"
	else
		not_ok "pkg-config layerfs" "$flags $(cat "$T/cc.err" 2>/dev/null)"
	fi
else
	skip "pkg-config layerfs" "no pkg-config"
fi
man1=$inst/usr/local/share/man/man1/layerfs.1
if command -v groff >/dev/null; then
	o=$(groff -man -Tutf8 -ww -z "$man1" 2>&1)
	txt=$(groff -man -Tascii "$man1" 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g; s/.\x08//g')
	sections=
	for s in NAME SYNOPSIS DESCRIPTION OPTIONS ENVIRONMENT "EXIT STATUS" EXAMPLES LIMITATIONS "SEE ALSO"; do
		grep -q "^$s" <<<"$txt" || sections+=" $s"
	done
	if [ -z "$o" ] && [ -z "$sections" ]; then ok "man page: groff -ww clean, every section"
	else not_ok "man page" "$o missing:$sections"; fi
elif command -v man >/dev/null; then
	man -l "$man1" >/dev/null 2>&1 && ok "man page: man -l" || not_ok "man page: man -l"
else
	skip "man page" "no groff or man"
fi
th=$(grep '^\.TH ' "$man1")
if grep -qF "\"layerfs $(sed -n 's/.*LAYERFS_VERSION "\(.*\)"/\1/p' "$top/core/layerfs.h")\"" <<<"$th"; then
	ok "man page: the version of core/layerfs.h"
else
	not_ok "man page: the version of core/layerfs.h" "$th"
fi

# ---- make demo (the README's first command) ---------------------------------

o=$(timeout 120 "$top/scripts/demo.sh" "$build" 2>&1)
if [ $? = 0 ] && grep -q "the archive is unchanged" <<<"$o"; then ok "demo runs"
else not_ok "demo runs" "$o"; fi

[ -z "$(temp_uppers)" ] && ok "no temporary upper left behind" ||
	not_ok "no temporary upper left behind" "$(temp_uppers)"
finish
