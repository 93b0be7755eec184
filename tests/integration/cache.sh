#!/bin/bash
# SPDX-License-Identifier: MIT
# The archive cache's lifecycle (issue 13): `layerfs cache` lists the
# entries (size, last use, state, archive), prunes them by age and by total
# size, and clears them; a size limit (--cache-limit, LAYERFS_CACHE_LIMIT)
# is enforced when a job ends; crash leftovers are removed, and only they;
# an entry a running job holds is never removed.  Then the concurrent
# suite: N jobs over M archives, launcher and plain LD_PRELOAD ones, with
# `layerfs cache prune` and `clear` in a loop beside them: no job fails or
# reads a wrong byte, and the cache ends within its limit.
#
# LAYERFS_CACHE_JOBS (default 6), LAYERFS_CACHE_ROUNDS (rounds per job,
# default 8) size the concurrent suite.
. "$(dirname "$0")/lib.sh"

export XDG_RUNTIME_DIR=$T/run
mkdir -m 700 "$XDG_RUNTIME_DIR"
cd "$T" || exit 1
TO=120
C=$T/c
export LAYERFS_CACHE=$C

lf() {
	timeout -k 5 "$TO" "$LAYERFS" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}
# used_at ARCHIVE EPOCH: sets the last use of ARCHIVE's entry (its "source"
# file's mtime), so that the order of entries does not hang on the clock.
used_at() {
	local e
	for e in $(entries); do
		[ "$(cat "$e/source" 2>/dev/null)" = "$T/$1" ] && touch -d "@$2" "$e/source"
	done
}
# entries: the entry directories of the cache.
entries() { find "$C" -mindepth 1 -maxdepth 1 -type d -name '*-v[0-9]*' | LC_ALL=C sort; }
nentries() { entries | grep -c .; }
# Bytes the cache's entries take, as du counts them.
cache_bytes() { entries | xargs -r du -s -B1 | awk '{ s += $1 } END { print s + 0 }'; }

# Three archives: a tar (read in place), a .tar.gz (a decompressed stream),
# a zip (extracted); each with a big file and small ones.
mkdir -p src
for a in one two three; do
	mkdir -p "src/$a/d"
	head -c 300000 /dev/urandom > "src/$a/big"
	for i in 1 2 3 4 5; do echo "$a $i" > "src/$a/d/f$i"; done
	(cd "src/$a" && find . -type f | LC_ALL=C sort | xargs md5sum) > "$a.md5"
done
tar -C src/one -cf one.tar .
tar -C src/two -czf two.tar.gz .
(cd src/three && python3 -c "
import os, zipfile
with zipfile.ZipFile('../../three.zip', 'w', zipfile.ZIP_DEFLATED) as z:
    for d, _, fs in os.walk('.'):
        for f in sorted(fs):
            z.write(os.path.join(d, f))")
ARCHIVES=(one.tar two.tar.gz three.zip)
SUMS=(one.md5 two.md5 three.md5)

# check_run ARCHIVE SUMS: one launcher job reading every file of the view.
check_run() {
	timeout -k 5 "$TO" "$LAYERFS" run --lower "$T/$1" --at /sandbox/c -- \
		sh -c 'cd /sandbox/c && md5sum -c --quiet "$0"' "$T/$2"
}

# ---- list -------------------------------------------------------------------

lf cache
check "an empty cache lists no entry" test "$rc:$(cat out)" = "0:SIZE        LAST USE          STATE   ARCHIVE
0 entries, 0 B in $C"
start=$(date +%s)
for i in 0 1 2; do
	check "job over ${ARCHIVES[$i]}" check_run "${ARCHIVES[$i]}" "${SUMS[$i]}"
done
used=$(for e in $(entries); do stat -c %Y "$e/source"; done | sort -n | head -1)
check "a job marks its archive's entry used" test "$used" -ge "$start"
now=$(date +%s)
used_at one.tar $((now - 30)); used_at two.tar.gz $((now - 20)); used_at three.zip $((now - 10))
lf cache list
if [ $rc = 0 ] && [ "$(sed 1d out | head -3 | awk '{ print $NF }')" = "$T/one.tar
$T/two.tar.gz
$T/three.zip" ] && [ "$(sed 1d out | head -3 | awk '{ print $5 }' | sort -u)" = - ] &&
	grep -q "^3 entries, .* in $C\$" out; then
	ok "list: one line per archive, least recently used first, then the total"
else
	not_ok "list" "$(cat out err)"
fi
# The total is what the entries take on disk, as du counts it.
want=$(cache_bytes | awk '{ u = "B"; v = $1; split("KiB MiB GiB", us, " ")
	for (i = 1; v >= 1024 && i <= 3; i++) { v /= 1024; u = us[i] }
	if (u == "B") printf "%d B", v; else printf "%.1f %s", v, u }')
check "list: the total is the room the entries take" grep -q "^3 entries, $want in $C\$" out
# A job holding an entry shows it in use; a replaced archive is stale.
timeout -k 5 "$TO" "$LAYERFS" run --lower "$T/one.tar" --at /sandbox/c -- \
	sh -c "touch '$T/held'; while [ ! -e '$T/release' ]; do sleep 0.1; done" &
job=$!
for _ in $(seq 100); do [ -e held ] && break; sleep 0.1; done
cp two.tar.gz two.tar.gz.new && mv two.tar.gz.new two.tar.gz
lf cache
check "list: the entry of a running job is in use" grep -q " in use  $T/one.tar\$" out
check "list: the entry of a replaced archive is stale" grep -q " stale   $T/two.tar.gz\$" out

# ---- prune and clear -----------------------------------------------------------

lf cache clear
check "clear: everything but the entry a job holds" \
	test "$rc:$(nentries)" = "0:1" -a -n "$(grep "kept 1 .*1 of them in use" out)"
touch release
wait $job
check "the held entry was that job's and is intact" check_run one.tar one.md5
lf cache clear
check "clear once the job ended: empty" test "$rc:$(nentries)" = "0:0"
for i in 0 1 2; do check_run "${ARCHIVES[$i]}" "${SUMS[$i]}" >/dev/null; done
now=$(date +%s)
used_at one.tar $((now - 30)); used_at two.tar.gz $((now - 20)); used_at three.zip $((now - 10))
lf cache
oldest=$(sed -n 2p out | awk '{ print $NF }')
lf cache prune --max-size "$(($(cache_bytes) - 1))"
check "prune --max-size: the least recently used entry goes first" \
	test "$rc:$(nentries)" = "0:2" -a -z "$(grep -F "$oldest" <("$LAYERFS" cache))"
lf cache prune --max-age 1h
check "prune --max-age 1h: all used just now are kept" test "$rc:$(nentries)" = "0:2"
touch -d '2 days ago' "$(entries | head -1)/source"
lf cache prune --max-age 1d
check "prune --max-age 1d: the entry last used 2 days ago goes" test "$rc:$(nentries)" = "0:1"
LAYERFS_CACHE_LIMIT=0 lf cache prune
check "prune takes LAYERFS_CACHE_LIMIT" test "$rc:$(nentries)" = "0:0"
lf cache prune --max-size 12Q
check "prune: a bad size" test "$rc:$(cat err)" = "125:layerfs: cache prune: invalid size '12Q' (bytes, or a number with K, M, G or T)"
lf cache prune --max-age soon
check "prune: a bad age" test "$rc:$(cat err)" = "125:layerfs: cache prune: invalid age 'soon' (a number with s, m, h, d or w)"
lf cache frob
check "cache: an unknown command" test "$rc" = 125
lf cache --cache "$T/nothing-here"
check "a cache that does not exist lists nothing" grep -q "^0 entries" out
# Not ours: left alone, also by clear.
mkdir -p "$C/mine" && echo keep > "$C/mine/file" && echo keep > "$C/notes.txt"
check_run one.tar one.md5 >/dev/null
lf cache clear
check "clear leaves what is not a cache entry alone" \
	test "$(nentries):$(cat "$C/mine/file" "$C/notes.txt")" = "0:keep
keep"

# ---- the limit, when a job ends -------------------------------------------------

check_run one.tar one.md5 >/dev/null
check_run two.tar.gz two.md5 >/dev/null
lf run --cache-limit 1 --lower three.zip --at /sandbox/c -- cat /sandbox/c/d/f1
check "--cache-limit: the job runs" test "$rc:$(cat out)" = "0:three 1"
check "--cache-limit: pruned when the job ended, down to nothing" test "$(nentries)" = 0
check_run one.tar one.md5 >/dev/null
check_run two.tar.gz two.md5 >/dev/null
now=$(date +%s)
used_at one.tar $((now - 30)); used_at two.tar.gz $((now - 20))
one=$(cache_bytes)
LAYERFS_CACHE_LIMIT=$((one + 1)) lf run --lower three.zip --at /sandbox/c -- true
# Two entries would fit; the oldest (one.tar) went, the job's own was used last.
check "LAYERFS_CACHE_LIMIT: the least recently used entries go, the limit holds" \
	test "$rc:$(nentries)" = "0:2" -a "$(cache_bytes)" -le $((one + 1))
lf run --cache-limit lots --lower three.zip --at /sandbox/c -- true
check "--cache-limit: a bad size is refused" \
	test "$rc:$(cat err)" = "125:layerfs: --cache-limit: invalid size 'lots' (bytes, or a number with K, M, G or T)"
LAYERFS_CACHE_LIMIT=-3 lf run --lower three.zip --at /sandbox/c -- true
check "LAYERFS_CACHE_LIMIT: a bad size is refused" \
	test "$rc:$(cat err)" = "125:layerfs: LAYERFS_CACHE_LIMIT: invalid size '-3' (bytes, or a number with K, M, G or T)"

# ---- crash leftovers --------------------------------------------------------------

lf cache clear
check_run two.tar.gz two.md5 >/dev/null
e=$(entries | head -1)
echo partial > "$e/data/.tmp.1.1.0"		# a writer that crashed
echo partial > "$e/.tmp.index.1.1.1"
echo partial > "$e/data/.tmp.1.1.2"		# one still being written...
flock -x "$e/data/.tmp.1.1.2" sh -c "while [ ! -e '$T/written' ]; do sleep 0.1; done" &
writer=$!	# ... flock'ed by its writer
mkdir -p "$C/.trash.1.0/x" && echo gone > "$C/.trash.1.0/x/f"	# an interrupted prune
for _ in $(seq 50); do flock -n "$e/data/.tmp.1.1.2" true || break; sleep 0.1; done
lf cache prune --max-size 1T
check "prune removes crash leftovers, not a file a writer holds" \
	test "$rc" = 0 -a ! -e "$e/data/.tmp.1.1.0" -a ! -e "$e/.tmp.index.1.1.1" \
	-a -e "$e/data/.tmp.1.1.2" -a ! -e "$C/.trash.1.0" -a "$(nentries)" = 1
check "and says how many" grep -q "; 3 crash leftovers removed\$" out
touch written
wait $writer
lf cache prune --max-size 1T
check "the writer gone, its temporary is a leftover too" test ! -e "$e/data/.tmp.1.1.2"
check "the entry still serves the archive" check_run two.tar.gz two.md5

# ---- held entries: never removed ----------------------------------------------------

# A process under LD_PRELOAD alone (no launcher) holds its entries while it
# has the index mapped; its children open the layers again, and hold them.
lf cache clear
out=$(timeout -k 5 "$TO" env LD_PRELOAD="$PRELOAD" LAYERFS_MOUNT=/sandbox/h \
	LAYERFS_LOWER="$T/one.tar" LAYERFS_UPPER=mem sh -c "
	head -c 10 /sandbox/h/d/f1
	'$LAYERFS' cache clear >/dev/null
	cat /sandbox/h/d/f2; md5sum < /sandbox/h/big
	sh -c 'cat /sandbox/h/d/f3; touch $T/ready; while [ ! -e $T/done ]; do sleep 0.1; done' &
	while [ ! -e $T/ready ]; do sleep 0.1; done
	'$LAYERFS' cache clear | sed 's/ (.*//'; touch $T/done; wait" 2>&1)
check_eq "a process with the index mapped: clear keeps its entry" "one 1
one 2
$(md5sum < src/one/big)
one 3
removed 0 entries
1" "$out
$(nentries)"
lf cache clear
check "once it ended: removed" test "$(nentries)" = 0

# ---- the concurrent suite -------------------------------------------------------------

jobs=${LAYERFS_CACHE_JOBS:-6}
rounds=${LAYERFS_CACHE_ROUNDS:-8}
limit=$((700 * 1024))
mkdir -p res
lf cache clear
# Five archives (two of them copies: other files, other entries), so that
# entries are often idle between a job's runs and can be removed.
cp one.tar four.tar && cp two.tar.gz five.tar.gz
ARCHIVES+=(four.tar five.tar.gz)
SUMS+=(one.md5 two.md5)
# job K: ROUNDS runs over archives K+1, K+2, ... (mod 5); even jobs through the
# launcher (with a limit: they prune when they end), odd ones with the
# library preloaded by hand; each run reads every file twice, once in a
# child that starts after a pause (it opens the layers itself, later).
job() {
	local k=$1 r a s st=0
	for r in $(seq "$rounds"); do
		a=$(((k + r) % 5))
		sleep "0.$((RANDOM % 3))"
		s=$T/${SUMS[$a]}
		if [ $((k % 2)) = 0 ]; then
			LAYERFS_CACHE_LIMIT=$limit timeout -k 5 "$TO" "$LAYERFS" run \
				--lower "$T/${ARCHIVES[$a]}" --at "/sandbox/j$k" -- sh -c '
				cd "$0" && md5sum -c --quiet "$1" && sleep 0.$$ &&
				sh -c "md5sum -c --quiet \"$1\""' "/sandbox/j$k" "$s" || st=1
		else
			timeout -k 5 "$TO" env LD_PRELOAD="$PRELOAD" LAYERFS_MOUNT="/sandbox/j$k" \
				LAYERFS_LOWER="$T/${ARCHIVES[$a]}" LAYERFS_UPPER=mem sh -c '
				cd "$0" && md5sum -c --quiet "$1" && sleep 0.$$ &&
				sh -c "md5sum -c --quiet \"$1\""' "/sandbox/j$k" "$s" || st=1
		fi
	done
	echo $st > "res/$k"
}
pids=()
for k in $(seq "$jobs"); do
	job "$k" > "res/$k.out" 2>&1 &
	pids+=($!)
done
prunes=0
while kill -0 "${pids[@]}" 2>/dev/null; do
	case $((prunes % 4)) in
	0) "$LAYERFS" cache clear >> res/prune.out 2>> res/prune.err || echo "clear failed" ;;
	1) "$LAYERFS" cache >/dev/null 2>> res/prune.err || echo "list failed" ;;
	*) "$LAYERFS" cache prune --max-size 0 >> res/prune.out 2>> res/prune.err ||
		echo "prune failed" ;;
	esac >> res/prune.err
	prunes=$((prunes + 1))
done
wait
failed=
for k in $(seq "$jobs"); do
	[ "$(cat "res/$k" 2>/dev/null)" = 0 ] || failed+=" job $k: $(head -5 "res/$k.out")"
done
removed=$(awk '/^removed/ { s += $2 } END { print s + 0 }' res/prune.out)
if [ -z "$failed" ] && [ ! -s res/prune.err ]; then
	ok "$jobs jobs x $rounds runs over 5 archives, $prunes prunes beside them ($removed entries removed): every byte right"
else
	not_ok "concurrent jobs and prunes" "$failed $(cat res/prune.err 2>/dev/null)"
fi
check "entries were removed while the jobs ran" test "$removed" -gt 0
lf cache prune --max-size $limit
check "the cache ends within its limit" test "$rc" = 0 -a "$(cache_bytes)" -le $limit
check "no temporary or trash left" \
	test -z "$(find "$C" -name '.tmp.*' -o -name '.trash.*')"
lf cache
check "no entry is in use once the jobs ended" test -z "$(grep ' in use ' out)"

finish
