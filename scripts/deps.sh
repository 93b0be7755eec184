#!/bin/sh
# Checks that what layerfs builds and tests with is installed.  As root on
# Debian/Ubuntu it installs what is missing; otherwise it prints the exact
# command and fails.
PKGS="build-essential pkg-config libarchive-dev uthash-dev libcriterion-dev libseccomp-dev \
libarchive-tools cpio zip unzip xorriso zstd lz4 xz-utils bzip2 attr \
python3 perl git sqlite3 file libjemalloc2 libgoogle-perftools4 libmimalloc2.0 \
golang-go busybox-static umoci skopeo libjansson-dev zlib1g-dev liblzma-dev libzstd-dev libbz2-dev"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	echo "layerfs: installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	{ apt-get update -qq && $cmd -qq; } >/dev/null || {
		echo "layerfs: '$cmd' failed" >&2; exit 1; }
	exit 0
fi
echo "layerfs: missing packages:$missing" >&2
echo "layerfs: run as root:  apt-get update && $cmd" >&2
exit 1
