#!/bin/bash
# SPDX-License-Identifier: MIT
# Crash safety: a process under the shim (host upper over an archive lower)
# is killed with SIGKILL at random moments while it copies up a 64 MiB
# file, renames a lower directory, or rewrites many files (tests/tools/
# crashy.c says what each mode does and what it may leave).  After each
# kill a fresh process checks the view: every file whole, old or new; no
# temporary names in the view or the upper directory (whiteouts .wh.* are
# legitimate there); then the change, run again to its end over what the
# kill left, must succeed.  Half of the runs start with an empty cache, so
# that kills also land in the archive's indexing and extraction.  The
# archive must be unchanged at the end.
#
# LAYERFS_CRASH_SEEDS: runs per mode (default 10).
. "$(dirname "$0")/lib.sh"
crashy=$build/tools/crashy
seeds=${LAYERFS_CRASH_SEEDS:-10}

mkdir -p "$T/lower"
if ! out=$("$crashy" mklower "$T/lower" 2>&1) || ! tar -C "$T/lower" -cf "$T/lower.tar" .; then
	not_ok "the lower archive is made" "$out"
	finish
	exit
fi
rm -rf "$T/lower"
LOWER=$T/lower.tar
sum_before=$(md5sum < "$LOWER")

# The names the view and the upper directory may hold.
names='^(big|tree2?|sub[0-3]|t[0-9][0-9]|deeper|x|empty|link|big1|f[0-9][0-9][0-9](\.new)?)$'
# Lists the names (one per line) under the view and under the upper
# directory that are neither those nor a whiteout in the upper directory.
strays() {
	shim find "$MNT" -mindepth 1 -printf '%f\n' | grep -Ev "$names" | sed 's/^/view: /'
	# Layer metadata (.wh..wh.*, the store of symlinks' origins among it)
	# is the upper's own, with what it holds.
	find "$UPPER" -mindepth 1 -name '.wh..wh.*' -prune -o -printf '%f\n' |
		grep -Ev "$names|^\.wh\..+" | sed 's/^/upper: /'
}

fresh() { rm -rf "$T/up" "$T/cache-cold"; mkdir -p "$T/up"; UPPER=$T/up; }

for mode in copyup rename files; do
	# How long the change takes, from an empty cache: kills are spread
	# over that time and a fifth more (for the runs that start with an
	# empty cache; over the warm time for the others).
	fresh
	took=$(LAYERFS_CACHE=$T/cache-cold shim "$crashy" run $mode "$MNT" -1 2>&1)
	if ! [ "$took" -gt 0 ] 2>/dev/null; then
		not_ok "$mode: runs to its end" "$took"
		continue
	fi
	v=$(shim "$crashy" verify $mode "$MNT" 2>&1)
	case $mode:$v in
	copyup:new | rename:new | "files:generations 3..3") ok "$mode: runs to its end in $took us: $v" ;;
	*) not_ok "$mode: runs to its end: $v" ;;
	esac
	# And from a warm cache (the first run warms it).
	fresh
	shim "$crashy" run $mode "$MNT" -1 > /dev/null 2>&1
	fresh
	warm=$(shim "$crashy" run $mode "$MNT" -1 2>&1)
	[ "$warm" -gt 0 ] 2>/dev/null || warm=$took
	echo "# $mode: $took us from an empty cache, $warm us from a warm one"
	tally=""
	bad=0
	for seed in $(seq 1 "$seeds"); do
		# A delay in [0, span) from the seed (a 64-bit mix: RANDOM's
		# first values after seeding follow the seed too closely).
		h=$((seed * 6364136223846793005 + 1442695040888963407))
		h=$(((h ^ (h >> 29)) * -4658895280553007687))
		fresh
		cache=$T/cache
		span=$((warm * 6 / 5 + 1))
		if [ $((seed % 2)) = 1 ]; then
			cache=$T/cache-cold
			span=$((took * 6 / 5 + 1))
		fi
		delay=$((((h ^ (h >> 32)) & 0x7fffffff) % span))
		run=$(LAYERFS_CACHE=$cache shim "$crashy" run $mode "$MNT" $delay 2>&1)
		v=$(LAYERFS_CACHE=$cache shim "$crashy" verify $mode "$MNT" 2>&1)
		s=$(strays)
		what="$mode seed $seed (delay $delay us, ${cache##*/}): $run; view: $v"
		case $run in
		BAD*|"") not_ok "$what"; bad=1; continue ;;
		esac
		case $v in
		BAD*|"") not_ok "$what"; bad=1; continue ;;
		esac
		if [ -n "$s" ]; then
			not_ok "$what: temporary names" "$s"
			bad=1
			continue
		fi
		# What the kill left must not stop the change from completing.
		again=ok
		if [ $mode != rename ]; then
			r=$(LAYERFS_CACHE=$cache shim "$crashy" run $mode "$MNT" -1 2>&1)
			v2=$(LAYERFS_CACHE=$cache shim "$crashy" verify $mode "$MNT" 2>&1)
			case $mode:$v2 in
			copyup:new | "files:generations 3..3") ;;
			*) again="run again: $r; view: $v2" ;;
			esac
		elif [ "$v" = old ]; then
			r=$(LAYERFS_CACHE=$cache shim "$crashy" run $mode "$MNT" -1 2>&1)
			v2=$(LAYERFS_CACHE=$cache shim "$crashy" verify $mode "$MNT" 2>&1)
			[ "$v2" = new ] || again="run again: $r; view: $v2"
		fi
		if [ "$again" != ok ]; then
			not_ok "$what; $again"
			bad=1
			continue
		fi
		echo "# $what"
		tally="$tally ${run%% *}/${v%% *}"
	done
	[ $bad = 0 ] && ok "$mode: $seeds kills, each view consistent: $(
		tr ' ' '\n' <<< "$tally" | grep . | sort | uniq -c |
			awk '{ printf "%s%s x%d", sep, $2, $1; sep = ", " }')"
done

# Temporary files a killed process left in the caches (not in any view).
left=$(find "$T"/cache* -name '*.tmp*' 2>/dev/null | wc -l)
echo "# temporary files left in the caches by killed processes: $left"

if [ "$(md5sum < "$LOWER")" = "$sum_before" ]; then
	ok "the lower archive is unchanged"
else
	not_ok "the lower archive is unchanged"
fi
finish
