#!/bin/bash
# Runs every test of one build: the shell integration tests (tests/integration/
# *.sh, each printing "N passed, N failed, N skipped"), then the Criterion
# unit suites, whose summary line ends the output.  Fails when a suite fails
# or when no integration suite was found.  Usage: tests/run-all.sh BUILD_DIR
set -u
build=${1:-build}
case $build in /*) ;; *) build=$(pwd)/$build ;; esac
export LAYERFS_BUILD="$build"
status=0
suites=0
failed=
# What the failed suites said ("not ok" lines and their "#" detail, or
# their last lines when they died without one), kept in BUILD/failed.log
# for `make test` to print last.
log=$build/failed.log
: > "$log"
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT

for t in tests/integration/*.sh; do
	[ -x "$t" ] || continue	# lib.sh and other sourced helpers
	echo "== $t ($build)"
	suites=$((suites + 1))
	# To a file, not a pipe: a process a suite leaves behind holding its
	# output must not keep this loop waiting.
	bash "$t" > "$out" 2>&1
	st=$?
	cat "$out"
	[ $st = 0 ] && continue
	status=1
	failed="$failed ${t##*/}"
	{
		echo "-- ${t##*/} ($build)"
		awk '/^not ok/ { keep = !/# TODO/ } /^ok / { keep = 0 }
			keep' "$out" | head -60 | grep . || tail -20 "$out"
	} >> "$log"
done
if [ $suites -eq 0 ]; then
	echo "run-all: no integration suite (executable tests/integration/*.sh) found" >&2
	status=1
fi

echo "== unit tests ($build)"
"$build/unit-tests" --jobs 2 || { status=1; failed="$failed unit-tests"; }
# Last, and kept in BUILD/failed for `make test`'s own last line, so that
# a log cut to its tail still says what failed.
echo "$failed" > "$build/failed"
[ -z "$failed" ] || echo "run-all ($build): FAILED:$failed"
exit $status
