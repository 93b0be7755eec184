#!/bin/sh
# make demo: packs scripts/demo as a .tar.gz, then runs a small job over it
# with the launcher: a read, a write that copies a file up, a delete, new
# files built by make, and the change report.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
# The launcher takes the library and its helper from this build.
export LAYERFS_LIBDIR="$build"
work=$(mktemp -d "${TMPDIR:-/tmp}/layerfs-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT

tar -C "$top/scripts/demo" -czf "$work/demo.tar.gz" --owner=0 --group=0 --numeric-owner .
before=$(sha256sum < "$work/demo.tar.gz")

echo "== layerfs run --lower demo.tar.gz --at /sandbox/demo --diff -- sh -c '...'"
"$top/scripts/layerfs" run --lower "$work/demo.tar.gz" --at /sandbox/demo \
	--cache "$work/cache" --diff -- sh -c '
	set -e
	cd /sandbox/demo
	echo "-- read from the archive:"; cat README.txt
	echo "-- a write copies README.txt up:"; echo "A line added in the view." >> README.txt
	tail -n 1 README.txt
	echo "-- a delete: rm notes/old.txt"; rm notes/old.txt
	echo "-- new files: make"; make -s hello; ./hello
	echo "-- the view now:"; ls -l . notes
'
after=$(sha256sum < "$work/demo.tar.gz")
if [ "$before" = "$after" ]; then
	echo "== the archive is unchanged (sha256 ${after%% *})"
else
	echo "== the archive changed: this is a bug" >&2
	exit 1
fi
