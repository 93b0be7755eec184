#!/bin/bash
# SPDX-License-Identifier: MIT
# The Makefile's promises, read from `make -n` on an empty build directory:
# a plain `make` only builds; the goals of the quick start (and bench, fuzz)
# run the package check (scripts/deps.sh, apt-get as root) before compiling.
. "$(dirname "$0")/lib.sh"

# mk ARG...: make -n in the source tree, on an empty build directory, not
# in the flags of a make this suite may run under (`make test`).
mk() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		make -n -C "$top" --no-print-directory BUILD="$T/b" "$@" 2>&1
}

# first_line PATTERN GOAL...: the number of the first line of `make -n GOAL`
# matching PATTERN (empty when none does).
first_line() {
	local pat=$1; shift
	mk "$@" |
		grep -n -m1 -e "$pat" | cut -d: -f1
}

# A plain `make`: no goal named.
cc_line=$(first_line ' -c core/')
if [ -n "$cc_line" ] && [ -z "$(first_line 'scripts/deps.sh')" ]; then
	ok "make: compiles, runs no package check"
else
	not_ok "make: compiles, runs no package check" "$(mk)"
fi
# `make test` builds in build/, build/san and build/tsan through sub-makes,
# which compile nothing here when those are up to date.
if [ "$(first_line 'scripts/deps.sh' test)" = 1 ]; then
	ok "make test: the package check is its first command"
else
	not_ok "make test: the package check is its first command" "$(mk test | head -5)"
fi
for goal in demo bench fuzz; do
	d=$(first_line 'scripts/deps.sh' "$goal")
	c=$(first_line ' -c core/' "$goal")
	if [ -n "$d" ] && [ -n "$c" ] && [ "$d" -lt "$c" ]; then
		ok "make $goal: the package check comes before compiling"
	else
		not_ok "make $goal: the package check comes before compiling" \
			"deps.sh at line '${d}', first compile at line '${c}'"
	fi
done
finish
