#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/run.sh BUILD_DIR [--quick] [--baseline DIR] [--only W...]
#   - layerfs's benchmark (`make bench`; BASELINE=DIR and BENCH_ONLY="W1 W9"
#   in the environment do what --baseline and --only do).
#
# Runs every workload against every contender available on this machine, in
# one session, and writes bench/results.md and bench/results.png; see
# bench/README.md for what is measured and how.  Contenders: native (an
# extracted directory), extract-then-run (.tar and .tar.gz), kernel
# overlayfs, fuse-overlayfs and layerfs (.tar and .tar.gz); for the Go job
# (W9) proot too, the ptrace anchor; with --baseline DIR, another layerfs
# build (DIR holds its liblayerfs.so and layerfs-helper; its launcher is
# DIR/../scripts/layerfs when there is one) over the .tar, on W1, W2, W7 and
# P, so before/after ratios come from one run.  A contender that cannot run
# here is reported as unavailable, with the reason.
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
# --only W...: only these workloads (W1..W9, W7 for both W7s and W7m, W9
# for W9 and W9w, P; K1..K5 and A1..A5, or K and A for all five), a space or
# comma separated list.
#
# Real trees (issue 16): K1..K5 walk the Linux kernel source (Debian's
# linux-source package, fetched with `apt-get download` into BENCH_CACHE,
# default bench/.cache, and prepared there once: the .tar.xz, .tar, .tar.gz
# and the extracted tree are kept across runs), A1..A5 the anchor corpus
# (the installed Python and Perl standard libraries, tarred in the scratch
# directory).  Then the first read after `layerfs index` of the kernel's
# .tar.xz and .tar.gz, and the cache's size after reading every file once.
# BENCH_REAL=0 leaves all of that out (--quick does unless BENCH_REAL=1).
# BENCH_CONTENDERS="native lfs-tar base": only these contenders (a
# confirmation run of a few ratios with more rounds, BENCH_RUNS).
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

top=$(cd "$(dirname "$0")/.." && pwd)
usage="usage: bench/run.sh BUILD_DIR [--quick] [--baseline DIR] [--only W...]"
[ $# -ge 1 ] || die "$usage"
build=$(readlink -f "$1") || die "$1: no such build directory"
shift
quick=0
baseline=${BASELINE:-}
only=${BENCH_ONLY:-}
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--baseline) [ $# -ge 2 ] || die "$usage"; baseline=$2; shift ;;
	--baseline=*) baseline=${1#*=} ;;
	--only) [ $# -ge 2 ] || die "$usage"; only=$2; shift ;;
	--only=*) only=${1#*=} ;;
	*) die "$usage" ;;
	esac
	shift
done
if [ -n "$baseline" ]; then
	baseline=$(readlink -f "$baseline") && [ -f "$baseline/liblayerfs.so" ] ||
		die "--baseline: no liblayerfs.so in ${baseline:-the directory given}"
	# The baseline's own launcher: its options and environment may differ.
	base_launcher=$top/scripts/layerfs
	[ -x "$baseline/../scripts/layerfs" ] && base_launcher=$(readlink -f "$baseline/../scripts/layerfs")
fi
bench=$top/bench
if [ $quick = 1 ]; then runs=3; ft_runs=1; idx_runs=1; else runs=5; ft_runs=3; idx_runs=3; fi
# BENCH_RUNS: more rounds, for a noisy machine.
runs=${BENCH_RUNS:-$runs}
p_runs=$((runs * 2))
# Before/after ratios of P are a few percent: twice as many rounds.
[ -n "$baseline" ] && p_runs=$((runs * 4))
py=$(command -v /usr/bin/python3 python3 | head -n 1) || die "python3 is needed"
real=${BENCH_REAL:-$([ $quick = 1 ] && echo 0 || echo 1)}
real_cache=${BENCH_CACHE:-$top/bench/.cache}

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
for t in lower small many gomod; do
	a=$t
	[ $t = lower ] && a=corpus
	tar -C "$S/$t" "${tar_opts[@]}" -cf "$S/$a.tar" . || die "tar $t failed"
	gzip -n -6 -c "$S/$a.tar" > "$S/$a.tar.gz" || die "gzip $t failed"
done

# Which tree each workload uses; the tree's directory (tdir) and its
# archives (arch: the path without .tar, .tar.gz or .tar.xz).
declare -A tree=([W1]=lower [W2]=lower [W3]=lower [W4]=lower [W5]=lower [W6]=lower
	[W7s]=small [W7m]=many [W8]=lower [W9]=gomod [W9w]=gomod)
declare -A arch=([lower]=$S/corpus [small]=$S/small [many]=$S/many [gomod]=$S/gomod)
declare -A tdir=([lower]=$S/lower [small]=$S/small [many]=$S/many [gomod]=$S/gomod)
workloads=(W1 W2 W3 W4 W5 W6 W7s W7m W8 W9 W9w)
real_ws=(K1 K2 K3 K4 K5 A1 A2 A3 A4 A5)
for w in "${real_ws[@]}"; do
	case $w in K*) tree[$w]=linux ;; *) tree[$w]=anchor ;; esac
done
[ "$real" = 1 ] && workloads+=("${real_ws[@]}")
writable=" W4 W5 W6 W8 "
# --only: the workloads picked.
want() {
	local x=" ${only//,/ } "
	[ -z "$only" ] && return 0
	case $1 in W7s|W7m) [[ $x == *" W7 "* ]] && return 0 ;; W9w) [[ $x == *" W9 "* ]] && return 0 ;; esac
	case $1 in K[0-9]) [[ $x == *" K "* ]] && return 0 ;; A[0-9]) [[ $x == *" A "* ]] && return 0 ;; esac
	[[ $x == *" $1 "* ]]
}
picked=()
for w in "${workloads[@]}"; do want "$w" && picked+=("$w"); done
workloads=("${picked[@]}")
is_real() { case $1 in K[0-9]|A[0-9]) return 0 ;; esac; return 1; }
want_k=0 want_a=0
for w in "${workloads[@]}"; do
	case $w in K*) want_k=1 ;; A*) want_a=1 ;; esac
done

# ---- the real trees (K: the kernel source, A: the anchor corpus) ------------
# Why a real tree is missing goes to $S/real.skip (the report says it).

real_skip() {  # real_skip K|A REASON: drops those workloads
	local k=$1 w
	shift
	note "bench: real tree $k skipped: $*"
	printf '%s\t%s\n' "$k" "$*" >> "$S/real.skip"
	picked=()
	for w in "${workloads[@]}"; do [[ $w == "$k"* ]] || picked+=("$w"); done
	workloads=("${picked[@]}")
}

# prep_kernel DIR: the kernel source, fetched and prepared once into DIR:
# DIR/linux.tar.xz (as the package ships it), linux.tar, linux.tar.gz
# (gzip -6) and tree/ (extracted); DIR/ready names the package and version.
# BENCH_LINUX_PKG picks the package (default: linux-source-6.1 when apt
# offers it, else the newest linux-source-N.N).  Prints why it failed.
prep_kernel() {
	local d=$1 pkg deb member
	[ -f "$d/ready" ] && [ -d "$d/tree" ] && return 0
	mkdir -p "$d" || { echo "cannot make $d"; return 1; }
	command -v apt-get >/dev/null 2>&1 || { echo "apt-get is not available"; return 1; }
	command -v dpkg-deb >/dev/null 2>&1 || { echo "dpkg-deb is not available"; return 1; }
	pkg=${BENCH_LINUX_PKG:-}
	if [ -z "$pkg" ]; then
		pkg=$(apt-cache pkgnames linux-source- 2>/dev/null |
			grep -E '^linux-source-[0-9]+\.[0-9]+$' | sort -V)
		if [[ $'\n'$pkg$'\n' == *$'\nlinux-source-6.1\n'* ]]; then
			pkg=linux-source-6.1
		else
			pkg=$(printf '%s\n' "$pkg" | tail -n 1)
		fi
	fi
	[ -n "$pkg" ] || { echo "apt offers no linux-source package (apt-get update?)"; return 1; }
	deb=$(ls "$d"/"${pkg}"_*.deb 2>/dev/null | head -n 1)
	if [ -z "$deb" ]; then
		note "bench: downloading $pkg (apt-get download, about 140 MB) into $d"
		(cd "$d" && apt-get download "$pkg") > "$S/log/apt-download" 2>&1
		deb=$(ls "$d"/"${pkg}"_*.deb 2>/dev/null | head -n 1)
		[ -n "$deb" ] || { echo "apt-get download $pkg failed: $(tail -n 1 "$S/log/apt-download")"; return 1; }
	fi
	member=$(dpkg-deb -c "$deb" | awk '{ print $NF }' |
		grep -E '^\./usr/src/linux-source-[^/]*\.tar\.xz$' | head -n 1)
	[ -n "$member" ] || { echo "$deb holds no usr/src/linux-source-*.tar.xz"; return 1; }
	note "bench: preparing the kernel source in $d (once: .tar, .tar.gz, extracted tree)"
	rm -rf "$d/tree" "$d/tree.part" "$d/ready"
	dpkg-deb --fsys-tarfile "$deb" | tar -xO "$member" > "$d/linux.tar.xz.part" &&
		mv "$d/linux.tar.xz.part" "$d/linux.tar.xz" &&
		xz -dc "$d/linux.tar.xz" > "$d/linux.tar.part" && mv "$d/linux.tar.part" "$d/linux.tar" &&
		gzip -n -6 -c "$d/linux.tar" > "$d/linux.tar.gz.part" &&
		mv "$d/linux.tar.gz.part" "$d/linux.tar.gz" &&
		mkdir "$d/tree.part" && tar -xf "$d/linux.tar" -C "$d/tree.part" &&
		mv "$d/tree.part" "$d/tree" ||
		{ echo "preparing $deb failed"; rm -rf "$d/tree.part" "$d"/*.part; return 1; }
	echo "$pkg $(dpkg-deb -f "$deb" Version)" > "$d/ready"
}

if [ $want_k = 1 ]; then
	phase "the kernel source (cached in $real_cache/linux)"
	if why=$(prep_kernel "$real_cache/linux"); then
		arch[linux]=$real_cache/linux/linux
		tdir[linux]=$real_cache/linux/tree
	else
		real_skip K "$why"
	fi
fi
if [ $want_a = 1 ]; then
	phase "the anchor corpus (Python and Perl standard libraries)"
	anchor=()
	d=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])' 2>/dev/null) &&
		d=$(readlink -f "$d") && [ -d "$d" ] && anchor+=("${d#/}")
	d=$(perl -MConfig -e 'print $Config{privlib}' 2>/dev/null) &&
		d=$(readlink -f "$d") && [ -d "$d" ] && anchor+=("${d#/}")
	if [ ${#anchor[@]} = 0 ]; then
		real_skip A "neither a Python nor a Perl standard library was found"
	elif ! { tar -C / "${tar_opts[@]}" -cf "$S/anchor.tar" "${anchor[@]}" &&
		gzip -n -6 -c "$S/anchor.tar" > "$S/anchor.tar.gz" &&
		mkdir "$S/anchor" && tar -xf "$S/anchor.tar" -C "$S/anchor"; }; then
		real_skip A "tar of ${anchor[*]} failed"
	else
		arch[anchor]=$S/anchor
		tdir[anchor]=$S/anchor
		{
			echo "anchor_dirs=${anchor[*]}"
			echo "anchor_entries=$(cd "$S/anchor" && find . -mindepth 1 | wc -l)"
			echo "anchor_kib=$(du -sk "$S/anchor" | cut -f 1)"
		} >> "$S/stats"
	fi
fi

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
# W9: a Go job, `go vet ./...` then `go build` of the generated module
# (gen_corpus.py); the check runs the program.  No network (GOPROXY=off);
# HOME, GOPATH and GOTMPDIR are fresh in the run's output directory,
# outside the view.  W9: GOCACHE fresh too (a cold build, mostly
# compiling); W9w: each contender's own GOCACHE, filled by the two warm-up
# runs (every package a cache hit: mostly go's stat, open and read of the
# sources in the view).  The job's shell is $BENCH_GOSH, the same for every
# contender: busybox's static sh when installed (see bench/README.md).
cat > "$S/w/W9.sh" <<'EOF'
g=$2/go
mkdir -p "$g/home" "$g/tmp"
export HOME="$g/home" GOPATH="$g/path" GOTMPDIR="$g/tmp" GOCACHE="${BENCH_GOCACHE:-$g/cache}" \
	GOENV=off GOPROXY=off GOFLAGS= GOWORK=off GO111MODULE=on GOTOOLCHAIN=local
$BENCH_GOSH -c 'cd "$1" && go vet ./... && go build -o "$2/gomod.bin" .' sh "$1" "$2"
EOF
echo '"$2/gomod.bin"' > "$S/w/W9.check"
cat > "$S/w/W9w.sh" <<'EOF'
BENCH_GOCACHE=$BENCH_S/gocache/$BENCH_C
. "$BENCH_S/w/W9.sh"
EOF
cp "$S/w/W9.check" "$S/w/W9w.check"
BENCH_GOSH=sh
command -v busybox >/dev/null 2>&1 && BENCH_GOSH="$(command -v busybox) sh"
export BENCH_GOSH
cat > "$S/w/P.sh" <<'EOF'
find /usr -printf '%s\n' > "$2/p.out"
EOF
echo 'wc -l < "$2/p.out"' > "$S/w/P.check"
# K1..K5 (the kernel source) and A1..A5 (the anchor corpus): walks of a real
# tree, run from its top (the same relative paths for every contender).
# K5 and A5 grep for a string common in each tree.
for k in K A; do
	pat=EXPORT_SYMBOL_GPL
	[ $k = A ] && pat=return
	cat > "$S/w/${k}1.sh" <<'EOF'
cd "$1" && ls -laR > "$2/r.out"
EOF
	cat > "$S/w/${k}2.sh" <<'EOF'
cd "$1" && du -s > "$2/r.out"
EOF
	cat > "$S/w/${k}3.sh" <<'EOF'
cd "$1" && find . -print0 | xargs -0 stat > /dev/null
EOF
	cat > "$S/w/${k}4.sh" <<'EOF'
cd "$1" && find . -printf '%s %m\n' > "$2/r.out"
EOF
	cat > "$S/w/${k}5.sh" <<EOF
cd "\$1" && grep -rn $pat > "\$2/r.out"
EOF
	# A's walks take milliseconds: each runs five times over (every
	# process of each started anew), so the stopwatch and the load of a
	# shared machine weigh less.
	if [ $k = A ]; then
		for i in 1 2 3 4 5; do
			sed -i 's/^cd "$1" && \(.*\)$/cd "$1" \&\& for i in 1 2 3 4 5; do \1; done/' "$S/w/A$i.sh"
		done
	fi
	for i in 1 4 5; do echo 'wc -l < "$2/r.out"' > "$S/w/$k$i.check"; done
	# du's sum differs between trees (directory sizes): one number printed.
	echo 'awk "NF == 2 && \$1 ~ /^[0-9]+\$/ { n++ } END { print n }" "$2/r.out"' > "$S/w/${k}2.check"
	echo 'cd "$1" && find . | wc -l' > "$S/w/${k}3.check"
done

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
[ "$want_k" = 1 ] && [ -n "${tdir[linux]:-}" ] && contenders+=(lfs-txz)
[ -n "$baseline" ] && contenders+=(base)
contenders+=(proot)
if [ -n "${BENCH_CONTENDERS:-}" ]; then
	picked=()
	for c in "${contenders[@]}"; do
		[[ " ${BENCH_CONTENDERS//,/ } " == *" $c "* ]] && picked+=("$c")
	done
	contenders=("${picked[@]}")
fi
# Contenders that run some workloads only: the baseline, for the
# before/after ratios (and P); proot, the anchor for the Go job.
# The real trees: native, kernel overlayfs and layerfs only (.tar.xz: the
# kernel source alone).
declare -A only_on=([base]=" W1 W2 W7s W7m ${real_ws[*]} " [proot]=" W9 W9w "
	[lfs-txz]=" K1 K2 K3 K4 K5 ")
runs_on() {  # runs_on C W
	if is_real "$2"; then
		case $1 in native|kovl|lfs-tar|lfs-tgz|lfs-txz|base) ;; *) return 1 ;; esac
	fi
	[ -z "${only_on[$1]:-}" ] && return 0
	[[ ${only_on[$1]} == *" $2 "* ]]
}
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
			shift 4 && exec "$@"' sh "${tdir[$t]}" "$S/up" "$S/wk" "$MNT" "$@" ;;
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
			exit $rc' sh "${tdir[$t]}" "$S/up" "$S/wk" "$MNT" "$@" ;;
	lfs-tar|lfs-tgz|lfs-txz)
		local a=${arch[$t]}.tar
		[ $c = lfs-tgz ] && a=$a.gz
		[ $c = lfs-txz ] && a=$a.xz
		"${outer[@]}" "$LAYERFS" run --lower "$a" --at "$MNT" --upper "$S/up" --cache "$cache" -- "$@" ;;
	base)
		# Its own cache: the index format may differ between versions.
		"${outer[@]}" env LAYERFS_LIBDIR="$baseline" "$base_launcher" run \
			--lower "${arch[$t]}.tar" --at "$MNT" --upper "$S/up" --cache "$cache-base" -- "$@" ;;
	proot)
		# No overlay: the tree itself is bound (the workloads proot runs
		# do not write into the view).
		"${outer[@]}" proot -b "${tdir[$t]}:$PROOT_AT" "$@" ;;
	*)
		"${outer[@]}" "$@" ;;
	esac
}

# The directory a workload sees under contender C.
view_of() {
	local c=$1 w=$2
	case $c in
	native) case $writable in *" $w "*) echo "$S/work" ;; *) echo "${tdir[${tree[$w]}]}" ;; esac ;;
	extract-*) echo "$S/x" ;;
	proot) echo "$PROOT_AT" ;;
	*) echo "$MNT" ;;
	esac
}

# Native runs of writing workloads get a fresh copy of the tree: hard links,
# except for the files the workload writes in place.
native_copy() {
	local w=$1
	rm -rf "$S/work" && cp -al "${tdir[${tree[$w]}]}" "$S/work" || return 1
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
PROOT_AT=/sandbox/layerfs-bench
run_one() {
	local c=$1 w=$2 tf=$3 cache=${4:-$S/cache} o=$S/out d args
	export BENCH_C=$c
	rm -rf "$o" && mkdir -p "$o"
	fresh_upper
	d=$(view_of "$c" "$w")
	args=("$tf" "$w" "$d" "$o")
	case $c in
	native) case $writable in *" $w "*) native_copy "$w" || return 1 ;; esac ;;
	extract-tar) rm -rf "$S/x" && mkdir "$S/x"; args+=("${arch[${tree[$w]}]}.tar") ;;
	extract-tgz) rm -rf "$S/x" && mkdir "$S/x"; args+=("${arch[${tree[$w]}]}.tar.gz") ;;
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

# A contender is available when a small read-only run over it works: W7s,
# or for proot (whose statx does not see its binds) the warm Go job.
probe() {
	local c=$1 pw=W7s
	[ $c = proot ] && pw=W9w
	case $c in
	kovl) [ "$(id -u)" = 0 ] || { echo "needs root"; return; } ;;
	fovl)
		have fuse-overlayfs fuse-overlayfs || { echo "fuse-overlayfs is not installed"; return; }
		[ -c /dev/fuse ] && [ -r /dev/fuse ] && [ -w /dev/fuse ] || { echo "/dev/fuse is not usable"; return; }
		[ "$(id -u)" = 0 ] || { echo "needs root (mount namespace)"; return; } ;;
	lfs-*)
		[ -f "$build/liblayerfs.so" ] && [ -x "$build/layerfs-helper" ] ||
			{ echo "$build has no liblayerfs.so or layerfs-helper"; return; }
		# No trial run over the kernel's .tar.xz: its first run decompresses
		# the whole archive (the warm-up's first run).
		[ $c = lfs-txz ] && { echo yes; return; } ;;
	base)
		[ -x "$baseline/layerfs-helper" ] || { echo "the baseline has no layerfs-helper"; return; } ;;
	proot)
		want W9 || { echo "not run (no workload it runs was picked)"; return; }
		have proot proot || { echo "proot is not installed"; return; }
		# The reference result comes from native.
		run_one native W9w "$S/probe.t" ||
			{ echo "native's Go job failed: $(cat "$S/t/W9w.native.$kind.fail")"; return; } ;;
	esac
	if run_one "$c" $pw "$S/probe.t" "$S/cache-probe"; then
		echo yes
	else
		echo "a trial run failed: $(cat "$S/t/$pw.$c.$kind.fail")"
		rm -f "$S/t/$pw.$c.$kind.fail"
	fi
}

# W7s's reference result comes from the generator; the probe checks it.
phase "probing the contenders"
for c in native extract-tar extract-tgz kovl fovl lfs-tar lfs-tgz lfs-txz base proot; do
	[ $c = lfs-txz ] && [[ " ${contenders[*]} " != *" lfs-txz "* ]] && continue
	[[ " ${contenders[*]} " == *" $c "* ]] || { [ $c != base ] || [ -n "$baseline" ]; } || continue
	if [[ " ${contenders[*]} " != *" $c "* ]]; then
		avail[$c]="not picked (BENCH_CONTENDERS)"
		printf '%s\t%s\n' "$c" "${avail[$c]}" >> "$S/avail"
		continue
	fi
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
		runs_on "$c" "$w" || continue
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
	is_real "$w" && continue  # see "the real trees' first read" below
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
base_env=(env LD_PRELOAD="$baseline/liblayerfs.so" LAYERFS_MOUNT=/layerfs-bench
	LAYERFS_LOWER="$S/small.tar" LAYERFS_UPPER=mem LAYERFS_CACHE="$S/cache-base")
run_p() {
	local c=$1 tf=$2 o=$S/out
	local pre=()
	[ "$c" = lfs-tar ] && pre=("${shim_env[@]}")
	[ "$c" = base ] && pre=("${base_env[@]}")
	rm -rf "$o" && mkdir -p "$o"
	if ! "${pre[@]}" sh "$S/w/step.sh" "$tf" P /usr "$o" > "$S/log/P.$c" 2>&1; then
		echo "the run failed: $(tail -n 3 "$S/log/P.$c" | tr '\n' ' ')" > "$S/t/P.$c.warm.fail"
		return 1
	fi
	check_result "$c" P
}
p_live=()
want P && p_live=(native)
[ ${#p_live[@]} = 1 ] && [ "${avail[lfs-tar]}" = yes ] && p_live+=(lfs-tar)
[ ${#p_live[@]} -ge 1 ] && [ "${avail[base]:-}" = yes ] && p_live+=(base)
for c in "${p_live[@]}"; do run_p "$c" "$S/warmup.t"; done
# Each round starts one contender further on, as the warm runs do.
for ((r = 1; r <= p_runs; r++)); do
	n=${#p_live[@]}
	for ((i = 0; i < n; i++)); do
		c=${p_live[(i + r) % n]}
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
	cg=(native lfs)
	[ "${avail[base]:-}" = yes ] && cg+=(base)
	for c in "${cg[@]}"; do
		pre=()
		# valgrind's tool is a static program: the shim would refuse to
		# start it (no supervisor here); it runs the shimmed program.
		[ $c = lfs ] && pre=("${shim_env[@]}" LAYERFS_UNSUPERVISED=1)
		[ $c = base ] && pre=("${base_env[@]}" LAYERFS_UNSUPERVISED=1)
		"${pre[@]}" valgrind --tool=callgrind --toggle-collect=bench_loop \
			--callgrind-out-file="$S/cg.$c" "$S/bin/statloop" "$S/bin/tm" "$n" \
			> "$S/log/cg.$c" 2>&1 &&
			kv "callgrind.$c" "$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$S/cg.$c")"
	done
fi

# ---- the real trees' first read and cache size -----------------------------
# For the kernel's .tar, .tar.gz and .tar.xz, once each: decompressing the
# whole archive (for reference), `layerfs index` into an empty cache, the
# first read of one small member (10 bytes of the top README, timed from
# outside the launcher), then reading every file once (`cat`), after which
# the cache's disk usage is compared with the extracted tree's.

kernel_k=0
for w in "${workloads[@]}"; do case $w in K*) kernel_k=1 ;; esac; done
if [ $kernel_k = 1 ] && [ "${avail[lfs-tar]}" = yes ]; then
	K=${arch[linux]}
	kv real.pkg "$(cat "$real_cache/linux/ready")"
	kv real.tree.kib "$(du -sk "${tdir[linux]}" | cut -f 1)"
	kv real.tree.entries "$(cd "${tdir[linux]}" && find . -mindepth 1 | wc -l)"
	kv real.tar.bytes "$(stat -c %s "$K.tar")"
	want_bytes=$(find "${tdir[linux]}" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
	small=$(cd "${tdir[linux]}" && ls -d */README | head -n 1)
	for f in tar tar.gz tar.xz; do
		phase "the kernel's .$f: index, first read, cache size"
		kv "real.$f.bytes" "$(stat -c %s "$K.$f")"
		case $f in tar) dec=cat ;; tar.gz) dec="gzip -dc" ;; tar.xz) dec="xz -dc" ;; esac
		"$TM" "$S/t/real.decomp.$f" sh -c "$dec"' "$1" > /dev/null' sh "$K.$f"
		rm -rf "$S/cache-real"
		if ! "$TM" "$S/t/real.index.$f" "$LAYERFS" index --cache "$S/cache-real" "$K.$f" \
			> "$S/log/real.index.$f" 2>&1; then
			kv "real.$f.fail" "index: $(tail -n 1 "$S/log/real.index.$f")"
			continue
		fi
		i=$(find "$S/cache-real" -name index -type f | head -n 1)
		[ -n "$i" ] && kv "real.$f.index.bytes" "$(stat -c %s "$i")"
		kv "real.$f.index.kib" "$(du -sk "$S/cache-real" | cut -f 1)"
		if ! "$TM" "$S/t/real.first.$f" "$LAYERFS" run --lower "$K.$f" --cache "$S/cache-real" \
			--at "$MNT" -- head -c 10 "$MNT/$small" > "$S/out.first" 2> "$S/log/real.first.$f" ||
			[ "$(wc -c < "$S/out.first")" != 10 ]; then
			kv "real.$f.fail" "first read: $(tail -n 1 "$S/log/real.first.$f")"
			continue
		fi
		got=$("$TM" "$S/t/real.readall.$f" "$LAYERFS" run --lower "$K.$f" --cache "$S/cache-real" \
			--at "$MNT" -- sh -c 'cd "$1" && find . -type f -print0 | xargs -0 cat | wc -c' sh "$MNT" \
			2> "$S/log/real.readall.$f")
		if [ "$got" != "$want_bytes" ]; then
			kv "real.$f.fail" "reading every file: $got bytes, expected $want_bytes"
			continue
		fi
		kv "real.$f.cache.kib" "$(du -sk "$S/cache-real" | cut -f 1)"
	done
	rm -rf "$S/cache-real" "$S/out.first"
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
	if [ -n "$baseline" ]; then
		echo "baseline=$(git -C "$baseline/.." rev-parse --short HEAD 2>/dev/null || echo "${BASELINE_COMMIT:-unknown}")"
	fi
	echo "go=$(go version 2>/dev/null | sed -n 's/^go version go\([^ ]*\).*/\1/p')"
	echo "proot=$(proot --version 2>/dev/null | sed -n 's/.*| *\([0-9][0-9.]*\)$/\1/p' | head -n 1)$(
		proot --version 2>/dev/null | sed -n 's/^built-in accelerators: */ (/p' | sed 's/$/)/')"
	echo "workloads=${workloads[*]}"
	echo "fuse_overlayfs=$(fuse-overlayfs --version 2>/dev/null | sed -n 's/^fuse-overlayfs: *version *//p' | head -n 1)"
	echo "runs=$runs"
	echo "ft_runs=$ft_runs"
	echo "p_runs=$p_runs"
	echo "idx_runs=$idx_runs"
	echo "quick=$quick"
	echo "duration=$(($(date +%s) - bench_t0))"
	for a in corpus.tar corpus.tar.gz many.tar many.tar.gz small.tar gomod.tar gomod.tar.gz \
		anchor.tar anchor.tar.gz; do
		[ -f "$S/$a" ] && echo "size.$a=$(stat -c %s "$S/$a")"
	done
	[ -n "${arch[linux]:-}" ] && echo "size.linux.tar=$(stat -c %s "${arch[linux]}.tar")"
	[ -f "$S/real.skip" ] && sed 's/^\([KA]\)\t/real_skip.\1=/' "$S/real.skip"
} > "$S/machine"

phase ""
plot=yes
have gnuplot gnuplot-nox || plot="gnuplot is not installed"
"$py" "$bench/report.py" "$S" "$bench/results.md" "$bench/results.png" "$plot" ||
	die "the report failed"
