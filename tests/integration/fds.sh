#!/bin/bash
# SPDX-License-Identifier: MIT
# Open fds across copy-up, under the shim (tests/tools/fdcheck.c), with a
# host upper and with a memory upper.
. "$(dirname "$0")/lib.sh"
setup_fixture

for kind in host mem; do
	rm -rf "$T/up"; mkdir -p "$T/up"
	UPPER=$T/up
	[ $kind = mem ] && UPPER=mem
	out=$(shim "$build/tools/fdcheck" "$MNT" 2>&1)
	status=$?
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "$kind upper: ${line#ok * - }" ;;
		"not ok "*) not_ok "$kind upper: ${line#not ok * - }" ;;
		*) echo "# $line" ;;
		esac
	done <<< "$out"
	[ $status -eq 0 ] || [ "$n_fail" -gt 0 ] || not_ok "$kind upper: fdcheck exited $status" "$out"
done
check_fixture_intact
finish
