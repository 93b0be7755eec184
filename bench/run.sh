#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/run.sh BUILD_DIR [--quick] - layerfs's benchmark (`make bench`).
#
# Runs every workload against every contender available on this machine, in
# one session, and writes bench/results.md and bench/results.png; see
# bench/README.md for what is measured and how.  Contenders: native (an
# extracted directory), extract-then-run (.tar and .tar.gz), kernel
# overlayfs, fuse-overlayfs and layerfs (.tar and .tar.gz).  A contender that
# cannot run here is reported as unavailable, with the reason.
#
# Each workload runs inside the contender's environment (after the mount or
# the launcher has set up), timed by bench/tm.c around the workload only;
# writable contenders get a fresh upper directory for every run.  Warm runs:
# two untimed warm-up runs, then RUNS rounds that go through the contenders in
# turn, each round starting one contender further on, so machine noise hits
# all of them alike; medians are reported.
# First-touch runs (layerfs with an empty cache) are timed from outside the
# launcher, so they include index building and start-up.
#
# --quick: 3 runs and a smaller corpus, for a sanity run.
set -u

die() { echo "bench: $*" >&2; exit 1; }
note() { printf '%s\n' "$*" >&2; }
# phase NAME: notes the end of the previous phase with its duration.
phase_t=$(date +%s)
phase_name=
phase() {
	local now
	now=$(date +%s)
	[ -n "$phase_name" ] && note "bench: $phase_name done ($((now - phase_t)) s)"
	phase_t=$now
	phase_name=$1
	[ -n "$1" ] && note "bench: $1"
}

[ $# -ge 1 ] || die "usage: bench/run.sh BUILD_DIR [--quick]"
build=$(readlink -f "$1") || die "$1: no such build directory"
quick=0
[ "${2:-}" = --quick ] && quick=1
top=$(cd "$(dirname "$0")/.." && pwd)
bench=$top/bench
if [ $quick = 1 ]; then runs=3; ft_runs=1; idx_runs=1; else runs=5; ft_runs=3; idx_runs=3; fi
p_runs=$((runs * 2))
py=$(command -v /usr/bin/python3 python3 | head -n 1) || die "python3 is needed"

# ---- tools ---------------------------------------------------------------

# have CMD: is CMD installed?  With root and apt-get, a missing tool is
# installed first (package $2); a failure only makes it unavailable.
apt_updated=0
have() {
	command -v "$1" >/dev/null 2>&1 && return 0
	[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
	note "bench: installing $2"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -qq "$2" >/dev/null 2>&1 && [ $apt_updated = 0 ]; then
		apt_updated=1
		apt-get update -qq >/dev/null 2>&1
		apt-get install -y -qq "$2" >/dev/null 2>&1
	fi
	command -v "$1" >/dev/null 2>&1
}

# ---- the scratch directory -------------------------------------------------

S=$(mktemp -d "${TMPDIR:-/var/tmp}/layerfs-bench.XXXXXX") || die "cannot make a scratch dir"
export BENCH_S=$S
load_start=$(cut -d ' ' -f 1-3 /proc/loadavg)
bench_t0=$(date +%s)
cleanup() {
	local p
	if [ -f "$S/fuse.pid" ]; then
		p=$(cat "$S/fuse.pid")
		[ -n "$p" ] && kill "$p" 2>/dev/null
	fi
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		note "bench: kept $S"
	else
		rm -rf -- "$S"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$S/bin" "$S/w" "$S/t" "$S/log" "$S/expect" "$S/mnt"
MNT=$S/mnt

cc -O2 -o "$S/bin/tm" "$bench/tm.c" || die "cannot build bench/tm.c"
cc -O1 -g -o "$S/bin/statloop" "$bench/statloop.c" || die "cannot build bench/statloop.c"
TM=$S/bin/tm

# ---- the corpus ------------------------------------------------------------

phase "generating the corpus in $S"
"$py" "$bench/gen_corpus.py" "$S" $([ $quick = 1 ] && echo --quick) || die "corpus generation failed"
tar_opts=(--sort=name --owner=0 --group=0 --numeric-owner --mtime=@1700000000 --format=gnu)
for t in lower small many; do
	a=$t
	[ $t = lower ] && a=corpus
	tar -C "$S/$t" "${tar_opts[@]}" -cf "$S/$a.tar" . || die "tar $t failed"
	gzip -n -6 -c "$S/$a.tar" > "$S/$a.tar.gz" || die "gzip $t failed"
done

# Which tree and archive each workload uses.
declare -A tree=([W1]=lower [W2]=lower [W3]=lower [W4]=lower [W5]=lower [W6]=lower
	[W7s]=small [W7m]=many [W8]=lower)
declare -A arch=([lower]=corpus [small]=small [many]=many)
workloads=(W1 W2 W3 W4 W5 W6 W7s W7m W8)
writable=" W4 W5 W6 W8 "

# ---- the workloads ---------------------------------------------------------
# $S/w/W.sh DIR OUT is timed; $S/w/W.check DIR OUT, run right after it in the
# same environment, prints the value that must equal $S/expect/W.

cat > "$S/w/W1.sh" <<'EOF'
find "$1" -printf '%s %m\n' > "$2/w1.out"
EOF
echo 'wc -l < "$2/w1.out"' > "$S/w/W1.check"
cat > "$S/w/W2.sh" <<'EOF'
find "$1" -type f ! -path "$1/big.bin" -print0 | xargs -0 cat | wc -c > "$2/w2.out"
EOF
echo 'cat "$2/w2.out"' > "$S/w/W2.check"
cat > "$S/w/W3.sh" <<'EOF'
dd if="$1/big.bin" of=/dev/null bs=1M 2> "$2/w3.out"
EOF
echo 'sed -n "s/^\([0-9]*\) bytes.*/\1/p" "$2/w3.out"' > "$S/w/W3.check"
cat > "$S/w/W4.sh" <<'EOF'
while IFS= read -r f; do printf 'appended by W4\n' >> "$1/$f"; done < "$BENCH_S/lists/w4"
EOF
echo 'sed "s|^|$1/|" "$BENCH_S/lists/w4" | xargs -d "\n" cat | wc -c' > "$S/w/W4.check"
cat > "$S/w/W5.sh" <<'EOF'
printf x >> "$1/big.bin"
EOF
echo 'stat -c %s "$1/big.bin"' > "$S/w/W5.check"
cat > "$S/w/W6.sh" <<'EOF'
while IFS= read -r f; do printf 'new\n' > "$1/$f"; done < "$BENCH_S/lists/w6_new"
sed "s|^|$1/|" "$BENCH_S/lists/w6_del" | xargs -d '\n' rm --
head -n 1000 "$BENCH_S/lists/w6_new" | sed "s|^|$1/|" | xargs -d '\n' rm --
find "$1" > "$2/w6.out"
EOF
echo 'wc -l < "$2/w6.out"' > "$S/w/W6.check"
for n in s m; do
	list=$([ $n = s ] && echo small || echo many)
	cat > "$S/w/W7$n.sh" <<EOF
while IFS= read -r f; do stat -c %s "\$1/\$f"; done < "\$BENCH_S/lists/w7_$list" > "\$2/w7.out"
EOF
	echo 'awk "{ s += \$1 } END { print s }" "$2/w7.out"' > "$S/w/W7$n.check"
done
cat > "$S/w/W8.sh" <<'EOF'
make -s -C "$1/proj" > "$2/w8.out" 2>&1
EOF
echo '"$1/proj/prog"' > "$S/w/W8.check"
cat > "$S/w/P.sh" <<'EOF'
find /usr -printf '%s\n' > "$2/p.out"
EOF
echo 'wc -l < "$2/p.out"' > "$S/w/P.check"

# step.sh TIMEFILE W DIR OUT [ARCHIVE]: one timed run of W over DIR (after
# extracting ARCHIVE into DIR, inside the timing, when given), then its check.
cat > "$S/w/step.sh" <<'EOF'
tf=$1 w=$2 d=$3 o=$4
if [ $# -ge 5 ]; then
	"$BENCH_S/bin/tm" "$tf" sh -ec 'tar -xf "$1" -C "$2"; exec sh -e "$3" "$2" "$4"' \
		sh "$5" "$d" "$BENCH_S/w/$w.sh" "$o" || exit 1
else
	"$BENCH_S/bin/tm" "$tf" sh -e "$BENCH_S/w/$w.sh" "$d" "$o" || exit 1
fi
sh "$BENCH_S/w/$w.check" "$d" "$o" > "$o/result"
EOF

# ---- the contenders --------------------------------------------------------

contenders=(native extract-tar extract-tgz kovl fovl lfs-tar lfs-tgz)
declare -A avail
export LAYERFS_LIBDIR=$build
LAYERFS=$top/scripts/layerfs

# in_env C W CACHE CMD...: runs CMD (the step) inside contender C's
# environment for workload W, over $S/up (and $S/wk) as the upper; CACHE is
# layerfs's cache.  The overlay mounts live in a private mount namespace
# and vanish with it.
fresh_upper() {
	rm -rf "$S/up" "$S/wk" && mkdir "$S/up" "$S/wk"
}
in_env() {
	local c=$1 w=$2 cache=$3 t=${tree[$2]:-lower}
	shift 3
	case $c in
	kovl)
		"${outer[@]}" unshare -m sh -c 'mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4" &&
			shift 4 && exec "$@"' sh "$S/$t" "$S/up" "$S/wk" "$MNT" "$@" ;;
	fovl)
		"${outer[@]}" unshare -m sh -c 'm=$4
			fuse-overlayfs -f -o "lowerdir=$1,upperdir=$2,workdir=$3" "$m" & p=$!
			echo $p > "$BENCH_S/fuse.pid"
			i=0
			until mountpoint -q "$m"; do
				i=$((i + 1)); [ $i -lt 500 ] && kill -0 $p 2>/dev/null || exit 1
				sleep 0.01
			done
			shift 4; "$@"; rc=$?
			umount "$m"; wait $p; rm -f "$BENCH_S/fuse.pid"
			exit $rc' sh "$S/$t" "$S/up" "$S/wk" "$MNT" "$@" ;;
	lfs-tar|lfs-tgz)
		local a=$S/${arch[$t]}.tar
		[ $c = lfs-tgz ] && a=$a.gz
		"${outer[@]}" "$LAYERFS" run --lower "$a" --at "$MNT" --upper "$S/up" --cache "$cache" -- "$@" ;;
	*)
		"${outer[@]}" "$@" ;;
	esac
}

# The directory a workload sees under contender C.
view_of() {
	local c=$1 w=$2
	case $c in
	native) case $writable in *" $w "*) echo "$S/work" ;; *) echo "$S/${tree[$w]}" ;; esac ;;
	extract-*) echo "$S/x" ;;
	*) echo "$MNT" ;;
	esac
}

# Native runs of writing workloads get a fresh copy of the tree: hard links,
# except for the files the workload writes in place.
native_copy() {
	local w=$1
	rm -rf "$S/work" && cp -al "$S/${tree[$w]}" "$S/work" || return 1
	case $w in
	W4) (cd "$S/lower" && xargs -d '\n' cp --parents --remove-destination -t "$S/work" \
		< "$S/lists/w4") ;;
	W5) cp --remove-destination "$S/lower/big.bin" "$S/work/big.bin" ;;
	esac
}

# run_one C W TIMEFILE [CACHE]: one run; 0 when it ran and its check
# matched, else 1 with the reason in $S/t/W.C.KIND.fail.  With outer set
# (tm and a time file), the whole environment set-up is timed as well.
outer=()
kind=warm
run_one() {
	local c=$1 w=$2 tf=$3 cache=${4:-$S/cache} o=$S/out d args
	rm -rf "$o" && mkdir -p "$o"
	fresh_upper
	d=$(view_of "$c" "$w")
	args=("$tf" "$w" "$d" "$o")
	case $c in
	native) case $writable in *" $w "*) native_copy "$w" || return 1 ;; esac ;;
	extract-tar) rm -rf "$S/x" && mkdir "$S/x"; args+=("$S/${arch[${tree[$w]}]}.tar") ;;
	extract-tgz) rm -rf "$S/x" && mkdir "$S/x"; args+=("$S/${arch[${tree[$w]}]}.tar.gz") ;;
	esac
	local log=$S/log/$w.$c
	if ! in_env "$c" "$w" "$cache" sh "$S/w/step.sh" "${args[@]}" > "$log" 2>&1; then
		echo "the run failed: $(tail -n 3 "$log" | tr '\n' ' ')" > "$S/t/$w.$c.$kind.fail"
		return 1
	fi
	check_result "$c" "$w" || return 1
	# Our dirty data is written back before the next run, untimed, so it
	# does not slow down whichever contender comes next.
	case "$c $writable" in extract-*|*" $w "*) sync -f "$S" ;; esac
	return 0
}

# check_result C W: compares the run's result with the expected one (for W8
# and P, native's result is the reference).
check_result() {
	local c=$1 w=$2 got want
	got=$(cat "$S/out/result" 2>/dev/null)
	if [ ! -f "$S/expect/$w" ]; then
		if [ "$c" = native ] && [ -n "$got" ]; then
			echo "$got" > "$S/expect/$w"
		else
			echo "no reference result" > "$S/t/$w.$c.$kind.fail"
			return 1
		fi
	fi
	want=$(cat "$S/expect/$w")
	[ "$got" = "$want" ] && return 0
	echo "wrong result: got '$got', expected '$want'" > "$S/t/$w.$c.$kind.fail"
	return 1
}

# A contender is available when a small read-only run over it works.
probe() {
	local c=$1
	case $c in
	kovl) [ "$(id -u)" = 0 ] || { echo "needs root"; return; } ;;
	fovl)
		have fuse-overlayfs fuse-overlayfs || { echo "fuse-overlayfs is not installed"; return; }
		[ -c /dev/fuse ] && [ -r /dev/fuse ] && [ -w /dev/fuse ] || { echo "/dev/fuse is not usable"; return; }
		[ "$(id -u)" = 0 ] || { echo "needs root (mount namespace)"; return; } ;;
	lfs-*)
		[ -f "$build/liblayerfs.so" ] && [ -x "$build/layerfs-helper" ] ||
			{ echo "$build has no liblayerfs.so or layerfs-helper"; return; } ;;
	esac
	if run_one "$c" W7s "$S/probe.t" "$S/cache-probe"; then
		echo yes
	else
		echo "a trial run failed: $(cat "$S/t/W7s.$c.$kind.fail")"
		rm -f "$S/t/W7s.$c.$kind.fail"
	fi
}

# W7s's reference result comes from the generator; the probe checks it.
phase "probing the contenders"
for c in "${contenders[@]}"; do
	avail[$c]=$(probe "$c")
	printf '%s\t%s\n' "$c" "${avail[$c]}" >> "$S/avail"
	note "bench: contender $c: ${avail[$c]}"
done
rm -rf "$S/cache-probe" "$S/probe.t"
ok_contenders=()
for c in "${contenders[@]}"; do [ "${avail[$c]}" = yes ] && ok_contenders+=("$c"); done

# ---- warm runs -------------------------------------------------------------

for w in "${workloads[@]}"; do
	phase "$w, warm"
	live=()
	for c in "${ok_contenders[@]}"; do
		case $c in extract-*) live+=("$c"); continue ;; esac
		# The warm-up, two runs: fills page cache and layerfs's content
		# cache (a small member of a .tar is cached when opened again).
		run_one "$c" "$w" "$S/warmup.t" && run_one "$c" "$w" "$S/warmup.t" &&
			live+=("$c")
	done
	# Round r starts at a different contender: on this kind of machine a
	# run right after a heavy writer (extract-then-run) can be slower for
	# seconds, and no contender should always be the one that follows it.
	for ((r = 1; r <= runs; r++)); do
		failed=" "
		n=${#live[@]}
		for ((i = 0; i < n; i++)); do
			c=${live[(i + r) % n]}
			run_one "$c" "$w" "$S/t/$w.$c.warm" || failed+="$c "
		done
		next=()
		for c in "${live[@]}"; do
			case $failed in *" $c "*) ;; *) next+=("$c") ;; esac
		done
		live=("${next[@]}")
	done
done

# ---- first touch: layerfs with an empty cache, timed from outside ----------
# (the warm runs' time file, inside, gets the workload alone: .firstin)

kind=first
for w in "${workloads[@]}"; do
	for c in lfs-tar lfs-tgz; do
		[ "${avail[$c]}" = yes ] || continue
		phase "$w, $c, first touch"
		for ((r = 1; r <= ft_runs; r++)); do
			rm -rf "$S/cache-ft"
			outer=("$TM" "$S/t/$w.$c.first")
			run_one "$c" "$w" "$S/t/$w.$c.firstin" "$S/cache-ft" || break
		done
		outer=()
	done
done
rm -rf "$S/cache-ft"
kind=warm

# ---- P: a syscall-heavy job outside the mount, with and without the shim ----

phase "P"
shim_env=(env LD_PRELOAD="$build/liblayerfs.so" LAYERFS_MOUNT=/layerfs-bench
	LAYERFS_LOWER="$S/small.tar" LAYERFS_UPPER=mem LAYERFS_CACHE="$S/cache")
run_p() {
	local c=$1 tf=$2 o=$S/out
	local pre=()
	[ "$c" = lfs-tar ] && pre=("${shim_env[@]}")
	rm -rf "$o" && mkdir -p "$o"
	if ! "${pre[@]}" sh "$S/w/step.sh" "$tf" P /usr "$o" > "$S/log/P.$c" 2>&1; then
		echo "the run failed: $(tail -n 3 "$S/log/P.$c" | tr '\n' ' ')" > "$S/t/P.$c.warm.fail"
		return 1
	fi
	check_result "$c" P
}
p_live=(native)
[ "${avail[lfs-tar]}" = yes ] && p_live+=(lfs-tar)
for c in "${p_live[@]}"; do run_p "$c" "$S/warmup.t"; done
for ((r = 1; r <= p_runs; r++)); do
	for c in "${p_live[@]}"; do
		[ -f "$S/t/P.$c.warm.fail" ] || run_p "$c" "$S/t/P.$c.warm"
	done
done

# ---- other measurements ----------------------------------------------------

extra=$S/extra
kv() { printf '%s=%s\n' "$1" "$2" >> "$extra"; }

if [ "${avail[lfs-tar]}" = yes ]; then
	phase "index build"
	for a in many.tar many.tar.gz; do
		for ((r = 1; r <= idx_runs; r++)); do
			rm -rf "$S/cache-idx"
			"$TM" "$S/t/index.$a" "$LAYERFS" index --cache "$S/cache-idx" "$S/$a" \
				> "$S/log/index" 2>&1 || { kv "index.$a.fail" "$(tail -n 1 "$S/log/index")"; break; }
		done
		f=$(find "$S/cache-idx" -name index -type f 2>/dev/null | head -n 1)
		[ -n "$f" ] && kv "index.$a.bytes" "$(stat -c %s "$f")"
	done
	rm -rf "$S/cache-idx"

	phase "memory"
	if have /usr/bin/time time; then
		f=$(head -n 1 "$S/lists/w7_many")
		rss() {  # rss KEY CMD...: max RSS in KiB of CMD
			local key=$1
			shift
			if /usr/bin/time -f %M -o "$S/rss" "$@" > /dev/null 2> "$S/log/rss"; then
				kv "$key" "$(tail -n 1 "$S/rss")"
			else
				kv "$key" "failed: $(tail -n 1 "$S/log/rss")"
			fi
		}
		lenv=(env LD_PRELOAD="$build/liblayerfs.so" LAYERFS_MOUNT="$MNT"
			LAYERFS_UPPER="$S/up" LAYERFS_CACHE="$S/cache")
		fresh_upper
		for a in many.tar corpus.tar; do
			"$LAYERFS" index --cache "$S/cache" "$S/$a" > /dev/null 2>&1
		done
		rss rss.stat.native stat -c %s "$S/many/$f"
		rss rss.stat.lfs "${lenv[@]}" LAYERFS_LOWER="$S/many.tar" stat -c %s "$MNT/$f"
		rss rss.find.native find "$S/lower" -printf '%s %m\n'
		rss rss.find.lfs "${lenv[@]}" LAYERFS_LOWER="$S/corpus.tar" find "$MNT" -printf '%s %m\n'
	fi
fi

if [ "${avail[lfs-tar]}" = yes ] && have valgrind valgrind; then
	phase "instructions per passthrough call (callgrind)"
	n=$([ $quick = 1 ] && echo 20000 || echo 100000)
	kv callgrind.calls "$n"
	for c in native lfs; do
		pre=()
		[ $c = lfs ] && pre=("${shim_env[@]}")
		"${pre[@]}" valgrind --tool=callgrind --toggle-collect=bench_loop \
			--callgrind-out-file="$S/cg.$c" "$S/bin/statloop" "$S/bin/tm" "$n" \
			> "$S/log/cg.$c" 2>&1 &&
			kv "callgrind.$c" "$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$S/cg.$c")"
	done
fi

# ---- the machine, and the report -------------------------------------------

{
	echo "nproc=$(nproc)"
	echo "model=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -n 1)"
	echo "mem=$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "kernel=$(uname -sr)"
	echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "load=$load_start, at the end $(cut -d ' ' -f 1-3 /proc/loadavg)"
	echo "fs=$(df -T "$S" | awk 'NR == 2 { print $2 }')"
	echo "commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo "${LAYERFS_COMMIT:-unknown}")"
	echo "fuse_overlayfs=$(fuse-overlayfs --version 2>/dev/null | sed -n 's/^fuse-overlayfs: *version *//p' | head -n 1)"
	echo "runs=$runs"
	echo "ft_runs=$ft_runs"
	echo "p_runs=$p_runs"
	echo "idx_runs=$idx_runs"
	echo "quick=$quick"
	echo "duration=$(($(date +%s) - bench_t0))"
	for a in corpus.tar corpus.tar.gz many.tar many.tar.gz small.tar; do
		echo "size.$a=$(stat -c %s "$S/$a")"
	done
} > "$S/machine"

phase ""
plot=yes
have gnuplot gnuplot-nox || plot="gnuplot is not installed"
"$py" "$bench/report.py" "$S" "$bench/results.md" "$bench/results.png" "$plot" ||
	die "the report failed"
