#!/bin/bash
# SPDX-License-Identifier: MIT
# coverage.sh - every row of shim/syscalls.def has a case in the exerciser
# (tests/tools/exerciser.c, "--list-covered"), every covered name is a
# row, and README.md's coverage section is what scripts/gen-coverage.sh
# generates from the table now.  So a new row without a test, or without a
# README entry, fails `make test`.
. "$(dirname "$0")/lib.sh"
tool=$build/tools/exerciser
def=$top/shim/syscalls.def

rows=$(sed -n 's/^[XV]([^,]*, *\([A-Za-z0-9_]*\),.*/\1/p' "$def" | LC_ALL=C sort)
if [ -z "$rows" ]; then
	not_ok "rows read from $def"
	finish
	exit
fi

if ! covered=$("$tool" --list-covered 2>&1); then
	not_ok "$tool --list-covered" "$covered"
	finish
	exit
fi
covered=$(printf '%s\n' "$covered" | LC_ALL=C sort -u)

nmiss=0
for row in $(LC_ALL=C comm -23 <(printf '%s\n' "$rows") <(printf '%s\n' "$covered")); do
	not_ok "row $row has an exerciser case"
	nmiss=$((nmiss + 1))
done
for name in $(LC_ALL=C comm -13 <(printf '%s\n' "$rows") <(printf '%s\n' "$covered")); do
	not_ok "covered name $name is a row of syscalls.def"
	nmiss=$((nmiss + 1))
done
[ $nmiss -eq 0 ] &&
	ok "every row of syscalls.def has an exerciser case ($(printf '%s\n' "$rows" | wc -l) rows)"

# The README section between the markers, against a fresh generation.
if ! want=$("$top/scripts/gen-coverage.sh" 2>&1); then
	not_ok "scripts/gen-coverage.sh runs" "$want"
else
	have=$(awk '/^<!-- coverage:end -->$/ { on = 0 }
		    on { print }
		    /^<!-- coverage:begin -->$/ { on = 1 }' "$top/README.md")
	if [ -z "$have" ]; then
		not_ok "README.md has the coverage section (scripts/gen-coverage.sh --update)"
	elif [ "$have" = "$want" ]; then
		ok "README.md coverage section is up to date"
	else
		not_ok "README.md coverage section is up to date (scripts/gen-coverage.sh --update)" \
			"$(diff <(printf '%s\n' "$have") <(printf '%s\n' "$want"))"
	fi
fi

finish
