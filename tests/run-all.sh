#!/bin/sh
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

for t in tests/integration/*.sh; do
	[ -x "$t" ] || continue	# lib.sh and other sourced helpers
	echo "== $t ($build)"
	suites=$((suites + 1))
	bash "$t" || status=1
done
if [ $suites -eq 0 ]; then
	echo "run-all: no integration suite (executable tests/integration/*.sh) found" >&2
	status=1
fi

echo "== unit tests ($build)"
"$build/unit-tests" --jobs 2 || status=1
exit $status
