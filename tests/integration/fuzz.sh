#!/bin/bash
# SPDX-License-Identifier: MIT
# Differential fuzzing (tests/tools/fuzz.c): each seed's random sequence of
# file-system operations runs on a plain directory holding the extracted
# fixture and on the view of the fixture archive under the shim with a fresh
# host upper; one seed in four also with a memory upper, one in four with a
# host directory as the lower (which must be left untouched), one in four
# with a host directory overlaid in place (idem), and, as root with
# overlayfs usable, one in four on a kernel overlayfs mount of the
# extracted fixture.
# A few seeds also run the operation executor built static (fuzz-static):
# it never reaches the shim, so the whole run goes through the launcher's
# supervisor (scripts/supervise.c), over the archive with a fresh upper.
# The outputs (one line per operation, then the final tree) must be equal.
# The fuzzer also spells paths through ROOT's parent and grandparent and
# reopens fds through /proc/self/fd (fuzz.c, "Spellings"): every ROOT is
# $T/o/KIND/b/root, beside a directory x, and nothing of $T/o/KIND outside
# ROOT may change; over the archive, every content extracted into the
# cache must stay what a member holds.
# On a difference it prints the seed and a minimised sequence that still
# shows it.  The regression seeds in tests/fuzz/*.seed are always replayed,
# as they were recorded: without spellings and reopens (fuzz --canonical)
# unless the seed says drawing=all.
#
#   FUZZ_SEEDS=N FUZZ_OPS=M FUZZ_SEED0=S   how many seeds, ops per seed, first
#   FUZZ_MINIMISE=0                        report differences unminimised
#   FUZZ_MINIMISE_MAX=N                    minimise the first N (3) only
. "$(dirname "$0")/lib.sh"
setup_fixture

FUZZ=$build/tools/fuzz
FUZZ_STATIC=$build/tools/fuzz-static
static_seeds=${FUZZ_STATIC_SEEDS:-12}
seeds=${FUZZ_SEEDS:-60}
ops=${FUZZ_OPS:-400}
seed0=${FUZZ_SEED0:-1}
regress_dir=${FUZZ_REGRESS_DIR:-$top/tests/fuzz}
mkdir -p "$T/scratch" "$T/ovl-lower"
tar -C "$T/ovl-lower" -xf "$LOWER"

# Everything about a lower directory that a run must not change.
lower_state() {
	(cd "$1" && find . -printf '%y %m %U:%G %s %T@ %n %P %l\n' | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r md5sum)
}
LOWER_STATE=$(lower_state "$T/ovl-lower")

# The trees around each configuration's ROOT ($T/o/KIND/b/root, which
# stays: runs replace what is in it), and everything about them outside
# ROOT, as it must stay.
O=$T/o
declare -A OUTSIDE
outside_state() {
	find "$O/$1" -path "$O/$1/b/root" -prune -o -printf '%y %m %U:%G %s %T@ %C@ %n %P %l\n'
}
for k in ref view inplace ovl; do
	mkdir -p "$O/$k/b/x" && echo keep > "$O/$k/b/x/keep" && echo g > "$O/$k/g"
	[ $k = view ] || mkdir "$O/$k/b/root"
	OUTSIDE[$k]=$(outside_state $k)
done
MNT=$O/view/b/root
# empty_root KIND: ROOT of KIND without its content.
empty_root() {
	chmod -R u+rwX "$O/$1/b/root" 2>/dev/null
	find "$O/$1/b/root" -mindepth 1 -delete
}

# What the archive's members hold: every file extracted into the content
# cache (shared by all runs) must hold one of these.
MEMBER_SUMS=$(cd "$T/ovl-lower" && find . -type f -exec md5sum {} + | cut -d' ' -f1 | LC_ALL=C sort -u)
# A line "cache changed" when one does not (the cache is removed then, so
# that later runs do not read it).  The contents are read again only when
# the files' list, sizes or ctimes changed since they were last read.
cache_seen=
cache_check() {
	local bad now
	now=$(find "$LAYERFS_CACHE" -path '*/data/*' -type f -printf '%P %s %C@\n' 2>/dev/null)
	[ "$now" = "$cache_seen" ] && return
	cache_seen=$now
	bad=$(find "$LAYERFS_CACHE" -path '*/data/*' -type f -exec md5sum {} + 2>/dev/null |
		awk -v sums="$MEMBER_SUMS" 'BEGIN { n = split(sums, a, "\n"); for (i = 1; i <= n; i++) ok[a[i]] = 1 }
			!($1 in ok) { print $2 }')
	[ -z "$bad" ] && return
	echo "cache changed: $(echo "$bad" | sed "s|^$LAYERFS_CACHE/||" | head -4 | tr '\n' ' ')"
	rm -rf "$LAYERFS_CACHE"
	cache_seen=
}

# A line "lower changed" when the lower directory $1 is not as it was.
lower_check() {
	[ "$(lower_state "$1")" = "$LOWER_STATE" ] ||
		echo "lower changed: $(diff <(echo "$LOWER_STATE") <(lower_state "$1") |
			grep '^[<>]' | head -4 | tr '\n' ' ')"
}

# Kernel overlayfs, as root in a private mount namespace.  redirect_dir lets
# directories be renamed (as layerfs does); index keeps hard links together
# across copy-up (as layerfs does).
OVL_OPTS=redirect_dir=on,index=on
ovl_ok=0
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
	mkdir -p "$T/ovl-probe/u" "$T/ovl-probe/w" "$T/ovl-probe/m"
	if unshare -m sh -c "mount -t overlay overlay -o lowerdir=$T/ovl-lower,upperdir=$T/ovl-probe/u,workdir=$T/ovl-probe/w,$OVL_OPTS $T/ovl-probe/m && test -f $T/ovl-probe/m/foo" 2>/dev/null; then
		ovl_ok=1
	fi
	rm -rf "$T/ovl-probe"
fi

# run KIND ARGS...: the tool's output on one configuration, then its status,
# then a line for each thing it changed that it must not.
#   ref      a plain directory holding the extracted fixture
#   host     the shim over the archive, a fresh host upper directory
#   mem      the shim over the archive, LAYERFS_UPPER=mem
#   dir      the shim over a host directory holding the extracted fixture
#            (a line "lower changed" when the run changed it)
#   inplace  the same directory overlaid in place: ROOT is the lower
#   ovl      kernel overlayfs over the extracted fixture
#   static   the static executor under the launcher (the supervisor) over
#            the archive, a fresh upper directory
#   static-inplace  the same over the extracted fixture overlaid in place
run() {
	local kind=$1 where now; shift
	rm -rf "$T/up" "$T/ovl"
	case $kind in
	ref|inplace|ovl) where=$kind ;;
	static-inplace) where=inplace ;;
	*) where=view ;;
	esac
	case $kind in
	ref) empty_root ref && tar -C "$O/ref/b/root" -xf "$LOWER" ;;
	dir) rm -rf "$T/dlower" && cp -a "$T/ovl-lower" "$T/dlower" ;;
	inplace|static-inplace) empty_root inplace && cp -a "$T/ovl-lower/." "$O/inplace/b/root/" ;;
	ovl) mkdir -p "$T/ovl/u" "$T/ovl/w" ;;
	esac
	mkdir -p "$T/up"
	case $kind in
	ref)
		(cd "$T/scratch" && "$FUZZ" "$@" "$O/ref/b/root" 2>&1; echo "exit=$?") ;;
	host|mem)
		UPPER=$T/up
		[ "$kind" = mem ] && UPPER=mem
		(cd "$T/scratch" && shim "$FUZZ" --layered "$@" "$MNT" 2>&1; echo "exit=$?")
		cache_check ;;
	dir)
		(cd "$T/scratch" && LOWER=$T/dlower UPPER=$T/up \
			shim "$FUZZ" --layered "$@" "$MNT" 2>&1; echo "exit=$?")
		lower_check "$T/dlower" ;;
	inplace)
		(cd "$T/scratch" && LOWER=$O/inplace/b/root MNT=$O/inplace/b/root UPPER=$T/up \
			shim "$FUZZ" --layered "$@" "$O/inplace/b/root" 2>&1; echo "exit=$?")
		lower_check "$O/inplace/b/root" ;;
	static)
		(cd "$T/scratch" && timeout -k 5 120 "$LAYERFS" run --lower "$LOWER" --at "$MNT" \
			--upper "$T/up" -- "$FUZZ_STATIC" --layered "$@" "$MNT" 2>&1; echo "exit=$?")
		cache_check ;;
	static-inplace)
		(cd "$T/scratch" && timeout -k 5 120 "$LAYERFS" run --lower "$O/inplace/b/root" \
			--at "$O/inplace/b/root" --upper "$T/up" -- \
			"$FUZZ_STATIC" --layered "$@" "$O/inplace/b/root" 2>&1; echo "exit=$?")
		lower_check "$O/inplace/b/root" ;;
	ovl)
		(cd "$T/scratch" && unshare -m sh -c 'mount -t overlay overlay -o "$1" "$2" &&
			shift 2 && exec "$@"' sh \
			"lowerdir=$T/ovl-lower,upperdir=$T/ovl/u,workdir=$T/ovl/w,$OVL_OPTS" \
			"$O/ovl/b/root" "$FUZZ" --layered "$@" "$O/ovl/b/root" 2>&1; echo "exit=$?") ;;
	esac
	now=$(outside_state "$where")
	if [ "$now" != "${OUTSIDE[$where]}" ]; then
		echo "outside changed: $(diff <(echo "${OUTSIDE[$where]}") <(echo "$now") |
			grep '^[<>]' | head -4 | tr '\n' ' ')"
		OUTSIDE[$where]=$now
	fi
}

# differs KIND ARGS...: true when KIND's output differs from the reference;
# leaves both in $T/out.ref and $T/out.view.
# Against overlayfs both runs leave out what overlayfs does differently by
# design (fuzz --overlayfs).
differs() {
	local kind=$1 extra=(); shift
	[ "$kind" = ovl ] && extra=(--overlayfs)
	run ref "${extra[@]}" "$@" > "$T/out.ref"
	run "$kind" "${extra[@]}" "$@" > "$T/out.view"
	! cmp -s "$T/out.ref" "$T/out.view"
}

# A list of op indices as the tool's --only LIST.
join_list() { local IFS=,; echo "$*"; }

# minimise KIND SEED OPS: prints a small --only list that still differs
# (greedy chunk removal, at most FUZZ_MIN_TRIES runs).
minimise() {
	local kind=$1 seed=$2 nops=$3 first keep cand chunk i tries=0
	local max=${FUZZ_MIN_TRIES:-300}
	# Ops after the first differing op line are not needed.
	first=$(diff "$T/out.ref" "$T/out.view" | sed -n 's/^[<>] \([0-9][0-9]*\) .*/\1/p' | head -1)
	[ -n "$first" ] && nops=$((first + 1))
	keep=($(seq 0 $((nops - 1))))
	chunk=$(( (${#keep[@]} + 1) / 2 ))
	while [ "$chunk" -ge 1 ] && [ "$tries" -lt "$max" ]; do
		i=0
		while [ "$i" -lt "${#keep[@]}" ] && [ "$tries" -lt "$max" ]; do
			cand=("${keep[@]:0:i}" "${keep[@]:i+chunk}")
			tries=$((tries + 1))
			if [ "${#cand[@]}" -gt 0 ] &&
			   differs "$kind" --seed "$seed" --ops "$nops" --only "$(join_list "${cand[@]}")"; then
				keep=("${cand[@]}")
			else
				i=$((i + chunk))
			fi
		done
		chunk=$((chunk / 2))
	done
	echo "--seed $seed --ops $nops --only $(join_list "${keep[@]}")"
}

# check_seed NAME KIND ARGS...: one comparison, minimised on a difference
# (the first FUZZ_MINIMISE_MAX differences: each takes up to FUZZ_MIN_TRIES
# runs, and a bug can make every seed differ).
minimised=0
check_seed() {
	local name=$1 kind=$2; shift 2
	if ! differs "$kind" "$@"; then
		ok "$name"
		return
	fi
	local args=("$@") seed ops_n
	seed=$(sed -n 's/^seed \([0-9]*\) ops \([0-9]*\)$/\1/p' "$T/out.ref")
	ops_n=$(sed -n 's/^seed \([0-9]*\) ops \([0-9]*\)$/\2/p' "$T/out.ref")
	local detail
	detail="$(diff "$T/out.ref" "$T/out.view" | head -12)"
	if [ "${FUZZ_MINIMISE:-1}" = 1 ] && [ -n "$seed" ] && [[ " ${args[*]} " != *" --only "* ]] &&
	   [ "$minimised" -lt "${FUZZ_MINIMISE_MAX:-3}" ]; then
		local min
		minimised=$((minimised + 1))
		min=$(minimise "$kind" "$seed" "$ops_n")
		# shellcheck disable=SC2086
		differs "$kind" $min
		detail="minimised: fuzz $min (kind $kind)
$(grep -v '^tree \|^links ' "$T/out.ref" | head -40)
--- difference (plain directory < > $kind):
$(diff "$T/out.ref" "$T/out.view" | head -20)"
	fi
	not_ok "$name" "$detail"
}

# The regression seeds (tests/fuzz/*.seed, described in tests/fuzz/README):
# KEY=VALUE lines seed, ops, only (optional), kind (host, mem, dir,
# inplace, ovl), drawing (optional: "all" replays with spellings and
# reopens, otherwise fuzz --canonical), and line: an op line (up to " = ")
# the replay must still contain, so that a change of the generator cannot
# silently turn a case into another.
for f in "$regress_dir"/*.seed; do
	[ -e "$f" ] || continue
	name=$(basename "$f" .seed)
	seed=$(sed -n 's/^seed=//p' "$f"); nops=$(sed -n 's/^ops=//p' "$f")
	only=$(sed -n 's/^only=//p' "$f")
	args=(--seed "$seed" --ops "$nops")
	[ -n "$only" ] && args+=(--only "$only")
	[ "$(sed -n 's/^drawing=//p' "$f")" = all ] || args+=(--canonical)
	for kind in $(sed -n 's/^kind=//p' "$f"); do
		if [ "$kind" = ovl ] && [ "$ovl_ok" = 0 ]; then
			skip "regression $name ($kind)" "overlayfs not usable"
			continue
		fi
		FUZZ_MINIMISE=0 check_seed "regression $name ($kind)" "$kind" "${args[@]}"
		missing=$(sed -n 's/^line=//p' "$f" | while IFS= read -r l; do
			grep -qF -- "$l = " "$T/out.ref" || echo "$l"; done)
		[ -z "$missing" ] || not_ok "regression $name ($kind): replays its case" \
			"the generator changed; no longer run: $missing"
	done
done

total=0
for ((s = seed0; s < seed0 + seeds; s++)); do
	check_seed "seed $s, $ops ops, host upper" host --seed "$s" --ops "$ops"
	total=$((total + ops))
	if [ $((s % 4)) = 0 ]; then
		check_seed "seed $s, $ops ops, memory upper" mem --seed "$s" --ops "$ops"
		total=$((total + ops))
	fi
	if [ $((s % 4)) = 2 ]; then
		check_seed "seed $s, $ops ops, host directory lower" dir --seed "$s" --ops "$ops"
		total=$((total + ops))
	fi
	if [ $((s % 4)) = 3 ]; then
		check_seed "seed $s, $ops ops, host directory overlaid in place" inplace \
			--seed "$s" --ops "$ops"
		total=$((total + ops))
	fi
	if [ $((s % 4)) = 1 ] && [ "$ovl_ok" = 1 ]; then
		check_seed "seed $s, $ops ops, kernel overlayfs" ovl --seed "$s" --ops "$ops"
	fi
done
# Through the supervisor: a few seeds, their first ops (each op is a round
# trip to the launcher's helper or more).
for ((s = seed0; s < seed0 + static_seeds; s++)); do
	if [ $((s % 3)) = 0 ]; then
		check_seed "seed $s, 300 ops, static executor, supervised, directory overlaid in place" \
			static-inplace --seed "$s" --ops 300
	else
		check_seed "seed $s, 300 ops, static executor, supervised" static --seed "$s" --ops 300
	fi
	total=$((total + 300))
done
[ "$ovl_ok" = 1 ] || skip "kernel overlayfs comparison" "overlayfs not usable (needs root and unshare -m)"
echo "# $total operations under the shim or the supervisor over $seeds seeds"
check_fixture_intact
finish
