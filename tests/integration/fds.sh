#!/bin/bash
# SPDX-License-Identifier: MIT
# Open fds across copy-up, under the shim (tests/tools/fdcheck.c), with a
# host upper and with a memory upper.  fdcheck's results become ours; it must
# end with its plan (1..N) and have printed N results.
. "$(dirname "$0")/lib.sh"
setup_fixture

for kind in host mem; do
	rm -rf "$T/up"; mkdir -p "$T/up"
	UPPER=$T/up
	[ $kind = mem ] && UPPER=mem
	out=$(shim "$build/tools/fdcheck" "$MNT" 2>&1)
	status=$?
	results=0 plan=
	while IFS= read -r line; do
		case $line in
		"ok "*) results=$((results + 1)); ok "$kind upper: ${line#ok * - }" ;;
		"not ok "*) results=$((results + 1)); not_ok "$kind upper: ${line#not ok * - }" ;;
		1..*) plan=${line#1..} ;;
		"") ;;
		*) echo "# $line" ;;
		esac
	done <<< "$out"
	[ $status -eq 0 ] || [ "$n_fail" -gt 0 ] || not_ok "$kind upper: fdcheck exited $status" "$out"
	if [ "$results" -eq 0 ] || [ "$plan" != "$results" ]; then
		not_ok "$kind upper: fdcheck printed its plan and every result" \
			"plan '${plan}', $results results; status $status; output: $out"
	fi
done
check_fixture_intact
finish
