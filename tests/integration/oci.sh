#!/bin/bash
# SPDX-License-Identifier: MIT
# OCI image layers as archive lowers (issue 14, item 1): whiteouts
# (".wh.NAME") and opaque markers (".wh..wh..opq") in a layer tar hide what
# the layers below hold, and are never names of the view.
#
# Differential: the view of tars stacked with --lower must equal the root
# filesystem that umoci (Debian's, offline) unpacks from an image made of
# the same tars, entry by entry (type, mode, size, name, link target,
# content, and which names are one inode).  And the round trip: what
# `layerfs export` writes, stacked on the lowers the job ran over, shows
# exactly the job's final view (and umoci agrees).
. "$(dirname "$0")/lib.sh"

TO=120
for tool in umoci python3; do
	command -v "$tool" >/dev/null ||
		{ not_ok "$tool is installed (scripts/deps.sh)"; finish; exit; }
done

# ---- the probe: a canonical listing of a tree (tree_probe.py) -----------
cp "$(dirname "$0")/tree_probe.py" "$T/probe.py"
probe() { python3 "$T/probe.py" "$1"; }
view() { # view MOUNT LOWER...: the probe's listing of the stacked lowers
	local at=$1 args=(); shift
	for l in "$@"; do args+=(--lower "$l"); done
	timeout -k 5 "$TO" "$LAYERFS" run "${args[@]}" --at "$at" -- \
		python3 "$T/probe.py" "$at"
}

# ---- layers: a base made by GNU tar, markers written by python ----------
B=$T/base
mkdir -p "$B/d/sub/inner" "$B/o" "$B/r" "$B/e" "$B/keep/deeper"
printf 'base a\n' > "$B/a.txt"
printf 'base b\n' > "$B/b.txt"
printf 'deep\n' > "$B/d/sub/inner/deep"
printf 'keep\n' > "$B/d/keep"
printf '1\n' > "$B/o/old1"
printf '2\n' > "$B/o/old2"
printf 'was\n' > "$B/r/was"
printf 'h\n' > "$B/h1"
ln "$B/h1" "$B/h2"
printf '#!/bin/sh\n' > "$B/exe"; chmod 755 "$B/exe"
printf 'k\n' > "$B/keep/deeper/k"
ln -s a.txt "$B/ln"
tar -C "$B" -cf "$T/base.tar" .

# mid: deletes a file, a subtree, a symlink, a hard link; makes o opaque;
# deletes r and makes it again (with other content); hides a whole tree
# below a directory it does not list; a marker of aufs metadata.
cat > "$T/mklayer.py" <<'EOF'
import io, sys, tarfile
out = sys.argv[1]
t = tarfile.open(out, 'w', format=tarfile.PAX_FORMAT)
def add(name, kind='f', data=b'', mode=0o644, link=''):
    ti = tarfile.TarInfo(name)
    ti.mtime = 1600000000
    ti.mode = mode
    if kind == 'd':
        ti.type = tarfile.DIRTYPE
    elif kind == 'l':
        ti.type, ti.linkname, ti.mode = tarfile.SYMTYPE, link, 0o777
    elif kind == 'h':
        ti.type, ti.linkname = tarfile.LNKTYPE, link
    else:
        ti.size = len(data)
    t.addfile(ti, io.BytesIO(data) if ti.size else None)
for spec in sys.argv[2:]:
    kind, name, *rest = spec.split(':', 2)
    if kind == 'f':
        add(name, 'f', rest[0].encode() + b'\n' if rest else b'')
    elif kind == 'x':
        add(name, 'f', b'#!/bin/sh\n', 0o755)
    elif kind == 'd':
        add(name, 'd', mode=int(rest[0], 8) if rest else 0o755)
    else:
        add(name, kind, link=rest[0])
t.close()
EOF
mklayer() { python3 "$T/mklayer.py" "$@"; }
mklayer "$T/mid.tar" f:.wh.a.txt d:d f:d/.wh.sub d:o f:o/.wh..wh..opq f:o/new:new \
	f:.wh.r d:r:700 f:r/now:now f:.wh.ln f:.wh.h2 f:.wh..wh..plnk \
	f:keep/deeper/.wh.k l:ln2:b.txt x:exe2
# top: names back above their whiteouts; a hard link across names; a
# directory made where the layer below deleted one.
mklayer "$T/top.tar" f:a.txt:top d:d/sub f:d/sub/fresh:fresh f:o/old1:back \
	f:t1:t h:t2:t1 f:.wh.b.txt

# ---- the reference: umoci unpacks an image of the same tars ------------
# umoci_ref OUT TAR... (bottom first): the probe of umoci's rootfs
umoci_ref() {
	local out=$1 img=$T/img.$RANDOM; shift
	umoci init --layout "$img" >/dev/null &&
		umoci new --image "$img:t" >/dev/null || return 1
	for l in "$@"; do
		umoci raw add-layer --image "$img:t" "$l" >/dev/null || return 1
	done
	umoci unpack --rootless --image "$img:t" "$img.b" >/dev/null 2>&1 || return 1
	probe "$img.b/rootfs" > "$out"
}

if umoci_ref "$T/ref3" "$T/base.tar" "$T/mid.tar" "$T/top.tar"; then
	ok "umoci unpacks the three layers"
else
	not_ok "umoci unpacks the three layers"
fi
# the reference must show what the test is about
paths3=$(awk '{print $4}' "$T/ref3")
check "the reference lacks what mid deletes and shows what top restores" \
	bash -c "! grep -qxE '(ln|h2|r/was|o/old2|d/sub/inner.*|keep/deeper/k|b.txt)' <<<'$paths3' &&
		 grep -qx a.txt <<<'$paths3' && grep -qx o/old1 <<<'$paths3' && grep -qx t2 <<<'$paths3'"

check_eq "three stacked tars: the view is umoci's rootfs" "$(cat "$T/ref3")" \
	"$(view "$MNT" "$T/top.tar" "$T/mid.tar" "$T/base.tar")"
umoci_ref "$T/ref2" "$T/base.tar" "$T/mid.tar"
check_eq "two stacked tars: the view is umoci's rootfs" "$(cat "$T/ref2")" \
	"$(view "$MNT" "$T/mid.tar" "$T/base.tar")"

# compressed layers: the same view
gzip -kc "$T/mid.tar" > "$T/mid.tar.gz"
zstd -qc "$T/top.tar" > "$T/top.tar.zst" 2>/dev/null || cp "$T/top.tar" "$T/top.tar.zst"
check_eq "gzip and zstd layers: the view is umoci's rootfs" "$(cat "$T/ref3")" \
	"$(view "$MNT" "$T/top.tar.zst" "$T/mid.tar.gz" "$T/base.tar")"

# no marker is ever a name: readdir, stat, open
out=$(timeout -k 5 "$TO" "$LAYERFS" run --lower "$T/mid.tar" --lower "$T/base.tar" --at "$MNT" -- \
	sh -c "cd $MNT && ls -a1 . o keep/deeper | tr '\n' ' '; cat .wh.a.txt o/.wh..wh..opq 2>&1 | grep -c 'No such'" 2>&1)
check_eq "markers are never listed nor found" ".: . .. b.txt d e exe exe2 h1 keep ln2 o r  keep/deeper: . ..  o: . .. new 2" "$out"

# rm -rf of a directory whose names the layer deleted: every name goes
U=$T/u-rm
mkdir -p "$U"
out=$(timeout -k 5 "$TO" "$LAYERFS" run --lower "$T/mid.tar" --lower "$T/base.tar" --upper "$U" \
	--at "$MNT" -- sh -c "rm -rf $MNT/d $MNT/o $MNT/keep && ls -A $MNT" 2>&1)
check_eq "rm -rf over whited-out names empties the directories" "b.txt
e
exe
exe2
h1
ln2
r" "$out"

# ---- the round trip: export, then stack ---------------------------------
job='cd "$1" && rm a.txt && rm -r d/sub && rm -rf o && mkdir o && echo fresh > o/f &&
	mv b.txt b2.txt && echo new > new && mkdir -p n/m && ln -s n/m lnk &&
	chmod 700 e && rm h1 && echo changed > exe && rm keep/deeper/k &&
	ln new new2 && mkdir r/sub && rm r/was'
U=$T/u-job
mkdir -p "$U"
check "the job runs" timeout -k 5 "$TO" "$LAYERFS" run --lower "$T/base.tar" --upper "$U" \
	--at "$MNT" -- sh -c "$job" job "$MNT"
final=$(timeout -k 5 "$TO" "$LAYERFS" run --lower "$T/base.tar" --upper "$U" --at "$MNT" -- \
	python3 "$T/probe.py" "$MNT")
check "the job's view shows its changes" \
	bash -c "grep -q ' o/f ' <<<'$final' && ! grep -q ' a.txt ' <<<'$final' && ! grep -q ' o/old1 ' <<<'$final'"
check "layerfs export writes the layer" "$LAYERFS" export "$U" -o "$T/job.tar"
check "the exported layer holds whiteouts" bash -c "tar -tf '$T/job.tar' | grep -q '\.wh\.'"
check_eq "export stacked on the job's lowers shows the job's final view" "$final" \
	"$(view "$MNT" "$T/job.tar" "$T/base.tar")"
umoci_ref "$T/refjob" "$T/base.tar" "$T/job.tar"
check_eq "umoci applies the exported layer to the same view" "$final" "$(cat "$T/refjob")"

# the issue's example, as a user would try it
U=$T/u-issue
mkdir -p "$U"
timeout -k 5 "$TO" "$LAYERFS" run --lower "$T/base.tar" --upper "$U" --at /sandbox/m -- \
	sh -c 'rm /sandbox/m/a.txt; rm -r /sandbox/m/d/sub'
"$LAYERFS" export "$U" -o "$T/issue.tar"
out=$(timeout -k 5 "$TO" "$LAYERFS" run --lower "$T/issue.tar" --lower "$T/base.tar" \
	--at /sandbox/m -- ls -a1 /sandbox/m /sandbox/m/d 2>&1 | tr '\n' ' ')
check_eq "the issue's example: a.txt and d/sub stay deleted" \
	"/sandbox/m: . .. b.txt d e exe h1 h2 keep ln o r  /sandbox/m/d: . .. keep " "$out"

finish
