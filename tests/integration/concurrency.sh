#!/bin/bash
# SPDX-License-Identifier: MIT
# Concurrency under the shim (tests/tools/stress.c says what each part
# checks): 8 threads x 10^4 operations on private and shared files while
# the main thread forks and vfork+execs children that use the view (with a
# host upper, then a memory upper); 16 processes copying up one lower file
# at the same moment; two processes racing rename against unlink.
#
# In a ThreadSanitizer build (make test-tsan) only the threaded part runs,
# and every data race TSan reports is listed and counted as a failure.
. "$(dirname "$0")/lib.sh"
stress=$build/tools/stress
threads=${LAYERFS_THREADS:-8}
ops=${LAYERFS_OPS:-10000}

# The sanitizers' allocators (GCC 12's ASan and TSan) take no lock around
# fork: a child forked while another thread is in malloc can hang in its
# first malloc (seen under TSan: the child waits forever in
# SizeClassAllocator64::GetFromAllocator).  That is not layerfs's to test,
# so those builds run no forks; the normal build does.
forks=
ldd "$LIB" 2>/dev/null | grep -q libasan && forks=nofork
tsan=0
if ldd "$LIB" 2>/dev/null | grep -q libtsan; then
	tsan=1
	forks=nofork
	PRELOAD="$(gcc -print-file-name=libtsan.so):$LIB"
	# Reports go to stderr: a log_path would make TSan create directories
	# during its start-up, through the shim, before TSan can run its code.
	export TSAN_OPTIONS="halt_on_error=0 exitcode=0 report_signal_unsafe=0"
fi

mkdir -p "$T/lower"
if ! out=$("$stress" mklower "$T/lower" 2>&1) || ! tar -C "$T/lower" -cf "$T/lower.tar" .; then
	not_ok "the lower archive is made" "$out"
	finish
	exit
fi
rm -rf "$T/lower"
LOWER=$T/lower.tar
sum_before=$(md5sum < "$LOWER")

# Runs a stress command under the shim, turning its lines into results (a
# "# SKIP" line into a skip); a run that printed no result fails.
run_stress() {
	local label=$1 out status line results=0 d
	shift
	# timeout outside the shim (and the sanitizer runtime).
	out=$(timeout -k 5 600 env LD_PRELOAD="$PRELOAD" LAYERFS_MOUNT="$MNT" \
		LAYERFS_LOWER="$LOWER" LAYERFS_UPPER="$UPPER" "$stress" "$@" 2> "$T/stderr")
	status=$?
	cat "$T/stderr" >> "$T/stderr.all"
	if [ $tsan = 0 ] && [ -s "$T/stderr" ]; then
		if grep -Eq 'Sanitizer|runtime error:' "$T/stderr"; then
			not_ok "$label$*: a sanitizer report" "$(cat "$T/stderr")"
		else
			sed 's/^/# stderr: /' "$T/stderr" | head -20
		fi
	fi
	while IFS= read -r line; do
		case $line in
		"ok - "*" # SKIP "*) d=${line#ok - }; skip "$label${d%% # SKIP *}" "${d#* # SKIP }" ;;
		"ok - "*) results=$((results + 1)); ok "$label${line#ok - }" ;;
		"not ok - "*) results=$((results + 1)); not_ok "$label${line#not ok - }" ;;
		"") ;;
		"# "*) echo "$line" ;;
		*) echo "# $line" ;;
		esac
	done <<< "$out"
	[ "$results" -gt 0 ] || not_ok "$label$*: stress printed a result" "$out"
	case $status in
	0|1) ;;
	124|137) not_ok "$label$*: hung (killed by timeout)" ;;
	*) not_ok "$label$*: exited with status $status" ;;
	esac
}

fresh() { rm -rf "$T/up"; mkdir -p "$T/up"; UPPER=$T/up; }

# Names a host upper may hold after the runs (no temporary names; layer
# metadata, .wh..wh.* and what it holds, is the upper's own).
upper_strays() {
	find "$UPPER" -mindepth 1 -name '.wh..wh.*' -prune -o -printf '%P\n' |
		grep -Ev '^(shared|priv|ru)$|^shared/([scd][0-9][0-9])(/f[0-9]+)?$|^priv/t[0-9]+_[0-3](\.alt)?$|^ru/[xy]_[0-9]{3}$|^race\.bin$|(^|/)\.wh\.[^/]+$'
}

start=$(date +%s%N)
fresh
run_stress "host upper: " threads "$MNT" "$threads" "$ops" $forks
s=$(upper_strays)
if [ -z "$s" ]; then ok "host upper: no temporary names left"; else not_ok "host upper: no temporary names left" "$s"; fi
echo "# threads, host upper: $((($(date +%s%N) - start) / 1000000)) ms"

if [ $tsan = 1 ]; then
	UPPER=mem
	run_stress "memory upper: " threads "$MNT" "$threads" "$ops" $forks
	reports=$(cat "$T/stderr.all" 2>/dev/null)
	nrep=$(grep -c '^WARNING: ThreadSanitizer' <<< "$reports")
	if [ "$nrep" -eq 0 ]; then
		ok "ThreadSanitizer: no reports"
	else
		# One line per report: its kind and the first frames in our code.
		summary=$(awk '/^WARNING: ThreadSanitizer/ { kind = $0; sub(/.*ThreadSanitizer: /, "", kind);
				sub(/ \(pid=.*/, "", kind); frames = ""; n = 0; next }
			/^    #[0-9]+ / && kind != "" && n < 4 && /(shim|core)\// {
				f = $NF; sub(/.*\/(shim|core)\//, "", f);
				frames = frames (n ? " < " : "") $2 " " f; n++ }
			/^SUMMARY/ && kind != "" { print kind ": " frames; kind = "" }' <<< "$reports" |
			sort | uniq -c | sort -rn)
		not_ok "ThreadSanitizer: $nrep reports" "$summary"
		cp "$T/stderr.all" "${TMPDIR:-/tmp}/layerfs-tsan.log" &&
			echo "# the full reports: ${TMPDIR:-/tmp}/layerfs-tsan.log"
	fi
	check "the lower archive is unchanged" test "$(md5sum < "$LOWER")" = "$sum_before"
	finish
	exit
fi

start=$(date +%s%N)
UPPER=mem
run_stress "memory upper: " threads "$MNT" "$threads" "$ops" $forks
echo "# threads, memory upper: $((($(date +%s%N) - start) / 1000000)) ms"

# 16 processes copy up race.bin at once, several times.
for round in 1 2 3 4 5; do
	fresh
	run_stress "copy-up race $round: " copyup "$MNT" 16
	run_stress "copy-up race $round: " copyup-verify "$MNT" 16
	up=$(cd "$UPPER" && find . -mindepth 1 ! -name '.wh..wh.*' -printf '%P\n')
	view=$(shim sh -c 'md5sum < "$1"' - "$MNT/race.bin")
	if [ "$up" = race.bin ] && [ "$(md5sum < "$UPPER/race.bin")" = "$view" ]; then
		ok "copy-up race $round: the upper layer holds one race.bin, the one the view shows"
	else
		not_ok "copy-up race $round: the upper layer holds one race.bin, the one the view shows" \
			"upper: $(echo $up)"
	fi
done

fresh
# A rename racing an unlink of the same lower file: exactly one of them
# wins (the upper layer's lock orders whiteouts, copy-ups and renames).
run_stress "" renunlink "$MNT" 10
s=$(upper_strays)
if [ -z "$s" ]; then ok "no temporary names left"; else not_ok "no temporary names left" "$s"; fi

check "the lower archive is unchanged" test "$(md5sum < "$LOWER")" = "$sum_before"

# A walk's start directory (the working directory, a directory fd) is
# remembered per thread while the upper's change counter stands still
# (core/mount.c): what another process changes meanwhile, or this one, is
# seen at once.  Process A keeps its working directory in d and asks about
# names relative to it before and after process B changes d.
mkdir -p "$T/memo/d/e" && echo 1 > "$T/memo/d/old" && echo 2 > "$T/memo/d/e/f" &&
	tar -C "$T/memo" -cf "$T/memo.tar" . && rm -rf "$T/memo"
fresh
LOWER=$T/memo.tar
rm -f "$T/go1" "$T/done1"
shim bash -c 'cd "$1/d" || exit 1
	[ -e old ] && echo "old there"
	[ -e new ] || echo "new not there"
	[ -e e/f ] && echo "e/f there"
	: > "$2/go1"
	i=0
	while [ ! -e "$2/done1" ] && [ $i -lt 500 ]; do sleep 0.02; i=$((i + 1)); done
	[ -e new ] && echo "new there"
	[ -e old ] || echo "old gone"
	[ -e e/f ] || echo "e/f gone"
	[ -e e ] || echo "e gone"
	echo x > mine && [ -e mine ] && echo "mine there"
	rm mine && { [ -e mine ] || echo "mine gone"; }
	mkdir -p e/g && cd e/g && [ -e ../f ] || echo "new e has no f"
	cd ../.. && [ -d e/g ] && echo "e/g there"' - "$MNT" "$T" > "$T/memo.out" 2>&1 &
pa=$!
i=0
while [ ! -e "$T/go1" ] && [ $i -lt 500 ]; do sleep 0.02; i=$((i + 1)); done
shim sh -c 'echo n > "$1/d/new" && rm "$1/d/old" && rm -r "$1/d/e"' - "$MNT"
: > "$T/done1"
wait $pa
check_eq "a remembered start directory sees another process's changes, and its own" \
	"old there
new not there
e/f there
new there
old gone
e/f gone
e gone
mine there
mine gone
new e has no f
e/g there" "$(cat "$T/memo.out")"
LOWER=$T/lower.tar
finish
