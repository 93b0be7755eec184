#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/images.sh [FILES] - a container image as a lower, first run: layerfs
# over the image (empty cache: index building and start-up included)
# against `umoci unpack` followed by the same job on the extracted rootfs.
# `make bench` runs it after bench/run.sh; by hand:
#   LAYERFS_BUILD=build bash bench/images.sh 4000
#
# The image (built offline with umoci): FILES small files in 3 layers (a
# third of them each; the second layer deletes a tenth of the first's), gzip
# layers as umoci writes them.  Jobs: list (find | wc -l), read (cat every
# file), one (read one file).  Median of RUNS (default 5) of each.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${LAYERFS_BUILD:-$top/build}
export LAYERFS_LIBDIR=$build
L=$top/scripts/layerfs
files=${1:-4000}
runs=${RUNS:-5}
for t in umoci python3; do
	command -v $t >/dev/null || { echo "bench/images: $t is needed" >&2; exit 1; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/layerfs-bimg.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

umoci init --layout img >/dev/null
umoci new --image img:t >/dev/null
per=$((files / 3))
for layer in 1 2 3; do
	umoci unpack --rootless --image img:t b >/dev/null 2>&1
	python3 - b/rootfs "$layer" "$per" <<'EOF'
import os, sys
root, layer, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    d = os.path.join(root, 'l%d' % layer, 'd%03d' % (i // 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'f%05d.txt' % i), 'w') as f:
        f.write(('layer %d file %d\n' % (layer, i)) * (1 + i % 40))
if layer == 2:
    for i in range(0, n, 10):
        p = os.path.join(root, 'l1', 'd%03d' % (i // 100), 'f%05d.txt' % i)
        if os.path.exists(p):
            os.remove(p)
EOF
	umoci repack --image img:t b >/dev/null
	rm -rf b
done

ms() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
job() { # job NAME ROOT
	case $1 in
	list) find "$2" | wc -l ;;
	read) find "$2" -type f -exec cat {} + | wc -c ;;
	one) cat "$2/l3/d000/f00001.txt" | wc -c ;;
	esac
}
export -f job

printf '# %d files in 3 layers; first run, median of %d (ms)\n' "$files" "$runs"
printf '%-6s %12s %22s\n' job layerfs "umoci unpack + job"
for w in list read one; do
	# the same answer both ways, first
	a=$(LAYERFS_CACHE=$T/cache "$L" run --lower oci:img:t --at /sandbox/bimg -- \
		bash -c "$(declare -f job); job $w /sandbox/bimg")
	umoci unpack --rootless --image img:t rootfs-c >/dev/null 2>&1
	b=$(job "$w" rootfs-c/rootfs)
	rm -rf rootfs-c
	[ "$a" = "$b" ] || { echo "bench/images: $w: layerfs says $a, the rootfs $b" >&2; exit 1; }
	lf=() un=()
	for ((i = 0; i < runs; i++)); do
		rm -rf cache rootfs-b
		s=$(ms)
		LAYERFS_CACHE=$T/cache "$L" run --lower oci:img:t --at /sandbox/bimg -- \
			bash -c "$(declare -f job); job $w /sandbox/bimg" >/dev/null
		lf+=($((($(ms) - s) / 1000000)))
		s=$(ms)
		umoci unpack --rootless --image img:t rootfs-b >/dev/null 2>&1
		job "$w" rootfs-b/rootfs >/dev/null
		un+=($((($(ms) - s) / 1000000)))
	done
	printf '%-6s %12s %22s\n' "$w" "$(printf '%s\n' "${lf[@]}" | median)" \
		"$(printf '%s\n' "${un[@]}" | median)"
done
