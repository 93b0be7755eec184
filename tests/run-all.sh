#!/bin/sh
# Runs every test of one build: the shell integration tests (tests/integration/
# *.sh, each printing "N passed, N failed"), then the Criterion unit suites,
# whose summary line ends the output.  Usage: tests/run-all.sh BUILD_DIR
set -u
build=${1:-build}
case $build in /*) ;; *) build=$(pwd)/$build ;; esac
export LAYERFS_BUILD="$build"
status=0

for t in tests/integration/*.sh; do
	[ -x "$t" ] || continue	# lib.sh and other sourced helpers
	echo "== $t ($build)"
	bash "$t" || status=1
done

echo "== unit tests ($build)"
"$build/unit-tests" --jobs 2 || status=1
exit $status
