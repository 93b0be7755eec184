#!/bin/bash
# SPDX-License-Identifier: MIT
# Compressed tars read in place (issue 16): through the launcher, a .tar.gz,
# an xz of several blocks, a zstd of several frames and a bzip2 are indexed with
# seek points; a member in the middle is then read without the whole
# stream being decompressed into the cache (no "stream" file), every
# member reads as the original, and the cache after reading every file in
# the archive's order stays below the extracted tree's size; read out of
# order, spans are written whole, and the cache holds no member twice.
# An xz of one block and a zstd of one frame still work, through the
# decompressed stream, and a terminal is told so; nothing is printed when
# stderr is not a terminal.
. "$(dirname "$0")/lib.sh"

cd "$T" || exit 1
TO=300
AT=/sandbox/s

lf() { timeout -k 5 "$TO" "$LAYERFS" "$@"; }
# The cache entry of archive $1 under cache $2.
entry() {
	local e
	for e in "$2"/*-v[0-9]*; do
		[ "$(cat "$e/source" 2>/dev/null)" = "$T/$1" ] && echo "$e"
	done
}
bytes() { du -s -B1 "$1" | awk '{ print $1 }'; }

# About 8 MB: text (compresses about 3:1) in 240 files, a 2 MB one, and
# 1 MiB of noise.
python3 - <<'PY'
import os, random
r = random.Random(16)
words = ["".join(r.choice("abcdefghijklmnop") for _ in range(r.randint(2, 9)))
         for _ in range(3000)]
for i in range(240):
    d = "src/d%d" % (i % 8)
    os.makedirs(d, exist_ok=True)
    n = [200, 3000, 20000, 60000, 90000][i % 5] + r.randint(0, 999)
    with open("%s/f%d.txt" % (d, i), "w") as f:
        f.write(" ".join(r.choice(words) for _ in range(n // 5))[:n])
with open("src/big.txt", "w") as f:
    f.write("\n".join(" ".join(r.choice(words) for _ in range(12)) for _ in range(30000)))
with open("src/noise.bin", "wb") as f:
    f.write(r.randbytes(1 << 20))
PY
(cd src && find . -type f | LC_ALL=C sort | xargs md5sum) > want.md5
tree=$(bytes src)
tar -C src -cf t.tar .
tar -tf t.tar | grep -v '/$' > tar-order
# A span is written whole sparse (holes punched): where the file system
# cannot punch holes, none is written, and reads decode as before.
head -c 16384 /dev/zero > punch && fallocate -p -o 4096 -l 4096 punch 2>/dev/null && punch=yes
punch=${punch:-}
(cd src && xargs md5sum < ../tar-order) > want-tar-order.md5
# the middle of the archive: the member listed halfway
mid=$(tar -tf t.tar | grep '\.txt$' | sed -n '120p')
mid=${mid#./}

gzip -6 -c t.tar > t.tar.gz
xz -1 -T1 --block-size=1MiB -c t.tar > t.tar.xz
split -b 1000000 t.tar piece.
for p in piece.*; do zstd -q -c "$p"; done > t.tar.zst
bzip2 -1 -c t.tar > t.tar.bz2
xz -0 -T1 -c t.tar > one.tar.xz
zstd -q -c t.tar > one.tar.zst

for a in t.tar.gz t.tar.xz t.tar.zst t.tar.bz2; do
	C=$T/cache-${a##*.}
	lf index "$T/$a" --cache "$C" > out 2> err
	check_eq "$a: index prints nothing on a non-terminal" "0:" "$?:$(cat out err)"
	e=$(entry "$a" "$C")
	got=$(lf run --lower "$T/$a" --cache "$C" --at $AT -- md5sum "$AT/$mid" 2>&1)
	check_eq "$a: a member in the middle" "$(cd src && md5sum "$mid")" \
		"${got/$AT\//}"
	if [ -n "$e" ] && [ ! -e "$e/stream" ] && [ ! -e "$e/extract.log" ]; then
		ok "$a: read without decompressing the whole stream"
	else
		not_ok "$a: read without decompressing the whole stream" "$(ls -la "$e")"
	fi
	# Every member once, in the archive's order (as a build or grep -r
	# reads a tar made in that order): big ones are cached, small ones are
	# not, no span is written whole.
	got=$(lf run --lower "$T/$a" --cache "$C" --at $AT -- \
		sh -c "cd $AT && xargs md5sum < $T/tar-order" 2>&1)
	check_eq "$a: every member, in the archive's order" "$(cat want-tar-order.md5)" "$got"
	used=$(bytes "$e")
	if [ ! -e "$e/stream" ] && [ "$used" -le "$tree" ] && ! ls "$e/data" | grep -q '^s'; then
		ok "$a: cache after reading every file ($used bytes) <= the tree ($tree)"
	else
		not_ok "$a: cache after reading every file ($used bytes) <= the tree ($tree)" \
			"$(ls -la "$e" "$e/data")"
	fi
	# Then in name order, out of the archive's (a fresh cache, so that no
	# member was opened before): spans cost twice their size are written
	# whole; the cache holds no member twice.
	C=$T/cache-sorted-${a##*.}
	got=$(lf run --lower "$T/$a" --cache "$C" --at $AT -- \
		sh -c "cd $AT && find . -type f | LC_ALL=C sort | xargs md5sum" 2>&1)
	check_eq "$a: every member, in name order" "$(cat want.md5)" "$got"
	e=$(entry "$a" "$C")
	used=$(bytes "$e") index=$(bytes "$e/index")
	if [ -z "$punch" ]; then
		skip "$a: out of order, spans written whole" "no holes can be punched in $T"
	elif [ ! -e "$e/stream" ] && ls "$e/data" | grep -q '^s' &&
		[ "$used" -le $((tree + index)) ]; then
		ok "$a: out of order, spans written whole; cache ($used bytes) <= the tree + index ($tree + $index)"
	else
		not_ok "$a: out of order, spans written whole; cache ($used bytes) <= the tree + index ($tree + $index)" \
			"$(ls -la "$e" "$e/data")"
	fi
done

# One block, one frame: the stream, decompressed once, as before.
for a in one.tar.xz one.tar.zst; do
	C=$T/cache-one-${a##*.}
	got=$(lf run --lower "$T/$a" --cache "$C" --at $AT -- \
		sh -c "cd $AT && find . -type f | LC_ALL=C sort | xargs md5sum" 2>&1)
	check_eq "$a: every member" "$(cat want.md5)" "$got"
	e=$(entry "$a" "$C")
	if [ -n "$e" ] && [ -e "$e/stream" ]; then ok "$a: through the decompressed stream"
	else not_ok "$a: through the decompressed stream" "$(ls -la "$e")"; fi
done

# A terminal is told why an archive is decompressed whole.
if command -v script > /dev/null; then
	out=$(script -qec "$LAYERFS index one.tar.xz --cache $T/cache-tty" /dev/null 2>&1)
	if grep -q "one xz block" <<< "$out"; then ok "one xz block: a terminal is told"
	else not_ok "one xz block: a terminal is told" "$out"; fi
else
	skip "one xz block: a terminal is told" "no script(1)"
fi

finish
