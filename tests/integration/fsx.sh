#!/bin/bash
# SPDX-License-Identifier: MIT
# Data integrity across copy-up (tests/tools/fsx.c): a file of the fixture
# archive, with readers, a dup and a mapping open on its lower copy, is
# copied up by a writer and then put through a long random mix of writes,
# truncates, reads and mmap reads and writes, checked after every
# operation against a model.  Under the shim with a host upper and with a
# memory upper over the archive, with a host upper over a host directory
# lower, and once on a plain directory (the tool's own check).
#   FSX_SEEDS="1 2 3" FSX_OPS=N   the seeds, and operations per seed
. "$(dirname "$0")/lib.sh"
setup_fixture

FSX=$build/tools/fsx
seeds=${FSX_SEEDS:-"1 2 3"}
ops=${FSX_OPS:-3000}
file=docs/numbers.txt
expect=$T/fixture/$file

# report KIND SEED OUTPUT STATUS: the tool's TAP lines as ours; a run that
# printed no result fails.
report() {
	local kind=$1 seed=$2 out=$3 status=$4 line results=0
	while IFS= read -r line; do
		case $line in
		"ok "*) results=$((results + 1)); ok "$kind, seed $seed: ${line#ok * - }" ;;
		"not ok "*) results=$((results + 1)); not_ok "$kind, seed $seed: ${line#not ok * - }" \
			"$(grep '^#' <<< "$out")" ;;
		esac
	done <<< "$out"
	[ "$status" -eq 0 ] || grep -q "^not ok" <<< "$out" ||
		not_ok "$kind, seed $seed: fsx exited $status" "$out"
	[ "$results" -gt 0 ] || not_ok "$kind, seed $seed: fsx printed a result" "$out"
}

mkdir -p "$T/plain" && tar -C "$T/plain" -xf "$LOWER"
out=$("$FSX" --seed 1 --ops "$ops" --expect "$expect" "$T/plain" "$file" 2>&1)
report "plain directory" 1 "$out" $?

# A host directory as the lower too; it must be left as it was.
mkdir -p "$T/dlower" && tar -C "$T/dlower" -xf "$LOWER"
dsum=$(md5sum < "$T/dlower/$file")
for seed in $seeds; do
	for kind in "host upper" "mem upper" "dir lower"; do
		rm -rf "$T/up"; mkdir -p "$T/up"
		UPPER=$T/up
		[ "$kind" = "mem upper" ] && UPPER=mem
		[ "$kind" = "dir lower" ] && LOWER=$T/dlower || LOWER=$T/fixture.tar
		out=$(shim "$FSX" --layered --seed "$seed" --ops "$ops" --expect "$expect" \
			"$MNT" "$file" 2>&1)
		report "$kind" "$seed" "$out" $?
	done
done
check "the host directory lower is unchanged" test "$(md5sum < "$T/dlower/$file")" = "$dsum"
check_fixture_intact
finish
