#!/bin/bash
# SPDX-License-Identifier: MIT
# Container images as lowers (issue 14, items 2 and 5): --lower oci:DIR[:REF]
# and --lower docker-archive:FILE[:REF] expand to the image's layers.
#
# Images are built here, offline, with Debian's umoci (init, new, unpack,
# repack, insert, raw add-layer) and converted with skopeo (oci: <->
# docker-archive:).  They hold whiteouts and an opaque directory in middle
# layers, a directory deleted and made again, hard links across layers,
# layers without end-of-archive blocks (umoci insert writes them so), and
# layers stored uncompressed, gzip'ed and zstd'ed.  For each, the view
# through layerfs must equal the root filesystem `umoci unpack` makes
# (tree_probe.py: names, types, modes, sizes, contents, link targets, hard
# links, user xattrs).  A damaged blob (one byte flipped), a missing blob,
# an unknown media type and an unknown tag each give status 125 and one
# clear line.  Results as an image (item 3): `run --commit oci:DIR:NEWREF`
# and `layerfs commit` add the job's changes as a new layer, which umoci
# unpacks and skopeo inspects and copies, to the job's final view.
. "$(dirname "$0")/lib.sh"

TO=120
for tool in umoci skopeo python3 zstd; do
	command -v "$tool" >/dev/null ||
		{ not_ok "$tool is installed (scripts/deps.sh)"; finish; exit; }
done
cp "$(dirname "$0")/tree_probe.py" "$T/probe.py"
probe() { python3 "$T/probe.py" "$1"; }
view() { # view LOWER...: the probe's listing of the view
	local args=()
	for l in "$@"; do args+=(--lower "$l"); done
	timeout -k 5 "$TO" "$LAYERFS" run "${args[@]}" --at "$MNT" -- \
		python3 "$T/probe.py" "$MNT"
}
unpacked() { # unpacked IMAGE: the probe's listing of umoci's rootfs
	local b=$T/bundle.$RANDOM
	umoci unpack --rootless --image "$1" "$b" >/dev/null 2>&1 || { echo "umoci unpack failed"; return; }
	probe "$b/rootfs"
}
cd "$T" || exit 1

# ---- the image: five layers ---------------------------------------------
I=$T/img
umoci init --layout "$I" >/dev/null
umoci new --image "$I:base" >/dev/null
umoci unpack --rootless --image "$I:base" b >/dev/null 2>&1
R=b/rootfs
# layer 1: the base
mkdir -p $R/etc $R/d/sub/inner $R/o $R/r $R/keep $R/bin
printf 'base a\n' > $R/a.txt
printf 'base b\n' > $R/b.txt
printf 'deep\n' > $R/d/sub/inner/deep
printf 'keep\n' > $R/d/keep
printf '1\n' > $R/o/old1
printf '2\n' > $R/o/old2
printf 'was\n' > $R/r/was
printf 'h\n' > $R/h1
ln $R/h1 $R/h2
printf '#!/bin/sh\necho hi\n' > $R/bin/hi; chmod 755 $R/bin/hi
ln -s ../a.txt $R/etc/link
seq 1 3000 > $R/etc/numbers
printf 'x\n' > $R/xat
setfattr -n user.color -v blue $R/xat 2>/dev/null
umoci repack --image "$I:base" b >/dev/null
# layer 2: deletes (whiteouts), a directory deleted and made again, a
# hard link to a name of layer 1
umoci unpack --rootless --image "$I:base" b2 >/dev/null 2>&1
R=b2/rootfs
rm $R/a.txt $R/etc/link
rm -r $R/d/sub
rm -r $R/r; mkdir -m 700 $R/r; printf 'now\n' > $R/r/now
ln $R/b.txt $R/b-hard
chmod 600 $R/etc/numbers
umoci repack --image "$I:base" b2 >/dev/null
umoci tag --image "$I:base" two >/dev/null
# layer 3: a hand-made layer with an opaque directory and a whiteout
python3 - "$T/l3.tar" <<'EOF'
import io, sys, tarfile
t = tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT)
def add(name, data=None, typ=tarfile.REGTYPE, mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.mtime = typ, mode, 1600000000
    if data is not None:
        ti.size = len(data)
    t.addfile(ti, io.BytesIO(data) if data else None)
add('o', typ=tarfile.DIRTYPE, mode=0o755)
add('o/.wh..wh..opq', b'')
add('o/new', b'new\n')
add('.wh.h1', b'')
add('keep/.wh..wh..opq', b'')
t.close()
EOF
umoci raw add-layer --image "$I:base" "$T/l3.tar" >/dev/null
# layers 4 and 5: `umoci insert` (its layers end without padding)
printf 'inserted\n' > ins
printf 'restored a\n' > a-again
umoci insert --rootless --image "$I:base" ins /d/sub/ins >/dev/null 2>&1
umoci insert --rootless --image "$I:base" a-again /a.txt >/dev/null 2>&1
umoci tag --image "$I:base" t >/dev/null

check "umoci built the image (5 layers)" \
	bash -c "[ \$(umoci stat --image '$I:t' --json | python3 -c 'import json,sys; print(len([h for h in json.load(sys.stdin)[\"history\"] if not h.get(\"empty_layer\")]))') -ge 5 ]"
ref=$(unpacked "$I:t")
paths=$(awk '{print $4}' <<<"$ref")
check "umoci's rootfs shows what the layers did" \
	bash -c "! grep -qxE '(etc/link|h1|o/old1|r/was|d/sub/inner)' <<<'$paths' &&
		 grep -qx d/sub/ins <<<'$paths' && grep -qx a.txt <<<'$paths' && grep -qx o/new <<<'$paths'"
check_eq "oci:DIR:TAG: the view is umoci's rootfs" "$ref" "$(view "oci:$I:t")"
check_eq "oci:DIR:TAG, a middle tag: the view is umoci's rootfs" "$(unpacked "$I:two")" \
	"$(view "oci:$I:two")"
digest=$(python3 -c "import json,sys
for m in json.load(open(sys.argv[1]))['manifests']:
    if m.get('annotations', {}).get('org.opencontainers.image.ref.name') == 't': print(m['digest'])" "$I/index.json")
check_eq "oci:DIR:sha256:DIGEST names the same image" "$ref" "$(view "oci:$I:$digest")"
check "layers of the image are its blobs, topmost first, under one view" \
	bash -c "[ \$(ls '$LAYERFS_CACHE' | grep -c -- '-v[0-9]*\$') -ge 5 ]"

# a relative layout path, and an image over a directory lower
out=$(timeout -k 5 "$TO" "$LAYERFS" run --lower oci:img:t --at "$MNT" -- cat "$MNT/a.txt" 2>&1)
check_eq "a relative oci: path" "restored a" "$out"

# ---- one image only in the layout: no REF needed; several: REF needed ----
J=$T/one
umoci init --layout "$J" >/dev/null
umoci new --image "$J:only" >/dev/null
umoci insert --rootless --image "$J:only" ins /ins >/dev/null 2>&1
out=$(timeout -k 5 "$TO" "$LAYERFS" run --lower "oci:$J" --at "$MNT" -- cat "$MNT/ins" 2>&1)
check_eq "oci:DIR with one image" "inserted" "$out"
out=$(timeout -k 5 "$TO" "$LAYERFS" run --lower "oci:$I" --at "$MNT" -- true 2>&1); st=$?
check "oci:DIR with several images: 125 and the tags" bash -c "[ $st = 125 ] &&
	grep -qx 'layerfs: image oci:$I: it holds 3 images: name one, oci:DIR:TAG or oci:DIR:sha256:DIGEST (tags: .*)' <<<'$out'"

# ---- docker-archive, both ways ------------------------------------------
skopeo copy --quiet "oci:$I:t" "docker-archive:$T/img.tar:example/img:v1" >/dev/null 2>&1
check "skopeo writes a docker-archive" test -s "$T/img.tar"
check_eq "docker-archive:FILE: the view is umoci's rootfs" "$ref" "$(view "docker-archive:$T/img.tar")"
check_eq "docker-archive:FILE:NAME:TAG" "$ref" "$(view "docker-archive:$T/img.tar:example/img:v1")"
# the older docker save form: Layers named "ID/layer.tar" (here symlinks
# to the layer files, as skopeo writes them)
python3 - "$T/img.tar" "$T/legacy.tar" <<'EOF'
import io, json, sys, tarfile
src = tarfile.open(sys.argv[1]); dst = tarfile.open(sys.argv[2], 'w')
links = {}
for ti in src.getmembers():
    if ti.issym() and ti.name.endswith('/layer.tar'):
        links[ti.linkname.split('/')[-1]] = ti.name
for ti in src.getmembers():
    data = src.extractfile(ti).read() if ti.isfile() else None
    if ti.name == 'manifest.json':
        m = json.loads(data)
        m[0]['Layers'] = [links[l] for l in m[0]['Layers']]
        data = json.dumps(m).encode(); ti.size = len(data)
    dst.addfile(ti, io.BytesIO(data) if data is not None else None)
dst.close()
EOF
check_eq "docker-archive with ID/layer.tar layers (symlinks)" "$ref" \
	"$(LAYERFS_CACHE=$T/cache-legacy view "docker-archive:$T/legacy.tar")"
skopeo copy --quiet "docker-archive:$T/img.tar" "oci:$T/back:b" >/dev/null 2>&1
check_eq "docker-archive -> oci (uncompressed layers): the view is umoci's rootfs" \
	"$ref" "$(view "oci:$T/back:b")"
check_eq "... and umoci agrees" "$ref" "$(unpacked "$T/back:b")"

# the layer copies of a docker-archive: held while a job runs, pruned after
C4=$T/cache4
LAYERFS_CACHE=$C4 timeout -k 5 "$TO" "$LAYERFS" run --lower "docker-archive:$T/img.tar" \
	--at "$MNT" -- sh -c "touch $T/job-started; sleep 4" &
job=$!
for _ in $(seq 100); do [ -e "$T/job-started" ] && break; sleep 0.1; done
nb=$(ls "$C4/docker-archive-layers" | wc -l)
"$LAYERFS" cache clear --cache "$C4" >/dev/null 2>&1
check_eq "cache clear keeps the layer copies a running job holds" "$nb" \
	"$(ls "$C4/docker-archive-layers" | wc -l)"
wait "$job"
"$LAYERFS" cache clear --cache "$C4" >/dev/null 2>&1
check_eq "... and removes them once it ended" "0 0" \
	"$(ls -A "$C4/docker-archive-layers" | wc -l) $(ls "$C4" | grep -c -- '-v[0-9]*$')"
check "(the job held $nb layer copies)" test "$nb" -ge 5
touch -d '10 days ago' "$LAYERFS_CACHE"/docker-archive-layers/*
old=$(ls "$LAYERFS_CACHE/docker-archive-layers" | wc -l)
"$LAYERFS" cache prune --max-age 7d >/dev/null 2>&1
check_eq "cache prune --max-age removes layer copies unused that long" "$old 0" \
	"$old $(ls -A "$LAYERFS_CACHE/docker-archive-layers" | wc -l)"
sum_before=$(find "$I" -type f | sort | xargs md5sum)
"$LAYERFS" cache clear --cache "$I" >/dev/null 2>&1
check_eq "cache clear pointed at an image layout removes none of its blobs" "$sum_before" \
	"$(find "$I" -type f | sort | xargs md5sum)"
check_eq "... and a later run copies them again" "$ref" "$(view "docker-archive:$T/img.tar")"

# ---- media types: uncompressed, gzip, zstd layers; an index --------------
# relayer.py LAYOUT FROM TO: a new manifest FROM's layers, layer i stored
# uncompressed, gzip'ed or zstd'ed in turn, tagged TO.
cat > "$T/oci.py" <<'EOF'
import gzip, hashlib, json, os, subprocess, sys
lay = sys.argv[2]
def blob(b):
    h = hashlib.sha256(b).hexdigest()
    with open(os.path.join(lay, 'blobs/sha256', h), 'wb') as f:
        f.write(b)
    return 'sha256:' + h, len(b)
def read(d):
    return open(os.path.join(lay, 'blobs/sha256', d.split(':')[1]), 'rb').read()
def index():
    return json.load(open(os.path.join(lay, 'index.json')))
def find(tag):
    for m in index()['manifests']:
        if m.get('annotations', {}).get('org.opencontainers.image.ref.name') == tag:
            return m
def tag(desc, name):
    ix = index()
    desc = dict(desc, annotations={'org.opencontainers.image.ref.name': name})
    ix['manifests'] = [m for m in ix['manifests']
                       if m.get('annotations', {}).get('org.opencontainers.image.ref.name') != name]
    ix['manifests'].append(desc)
    json.dump(ix, open(os.path.join(lay, 'index.json'), 'w'))
cmd = sys.argv[1]
if cmd == 'relayer':          # relayer LAYOUT FROM TO [MEDIATYPE-OF-LAYER-2]
    m = json.loads(read(find(sys.argv[3])['digest']))
    kinds = ['', '+gzip', '+zstd']
    for i, l in enumerate(m['layers']):
        raw = gzip.decompress(read(l['digest']))
        k = kinds[i % 3]
        data = raw if k == '' else gzip.compress(raw) if k == '+gzip' else \
            subprocess.run(['zstd', '-q', '-c'], input=raw, stdout=subprocess.PIPE, check=True).stdout
        l['digest'], l['size'] = blob(data)
        l['mediaType'] = 'application/vnd.oci.image.layer.v1.tar' + k
    if len(sys.argv) > 5:
        m['layers'][1]['mediaType'] = sys.argv[5]
    d, n = blob(json.dumps(m).encode())
    tag({'mediaType': 'application/vnd.oci.image.manifest.v1+json', 'digest': d, 'size': n}, sys.argv[4])
elif cmd == 'dupkey':         # dupkey LAYOUT FROM TO: a manifest with "layers" twice
    m = json.loads(read(find(sys.argv[3])['digest']))
    text = json.dumps(m)[:-1] + ', "layers": []}'
    d, n = blob(text.encode())
    tag({'mediaType': 'application/vnd.oci.image.manifest.v1+json', 'digest': d, 'size': n}, sys.argv[4])
elif cmd == 'index':          # index LAYOUT MINE OTHER TO: an index of two platforms
    arch = {'x86_64': 'amd64', 'aarch64': 'arm64'}.get(os.uname().machine, os.uname().machine)
    other = 'arm64' if arch != 'arm64' else 'amd64'
    mine, oth = find(sys.argv[3]), find(sys.argv[4])
    ms = [dict(oth, platform={'os': 'linux', 'architecture': other}),
          dict(mine, platform={'os': 'linux', 'architecture': arch}),
          dict(oth, platform={'os': 'windows', 'architecture': arch})]
    for x in ms:
        x.pop('annotations', None)
    d, n = blob(json.dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.index.v1+json',
                            'manifests': ms}).encode())
    tag({'mediaType': 'application/vnd.oci.image.index.v1+json', 'digest': d, 'size': n}, sys.argv[5])
EOF
oci() { python3 "$T/oci.py" "$@"; }
oci relayer "$I" t mixed   # (umoci 0.4.7 reads no zstd layer: the layers' tars are t's)
check_eq "uncompressed, gzip and zstd layers: the view is umoci's rootfs" "$ref" "$(view "oci:$I:mixed")"
oci index "$I" t two multi
check_eq "an index: the machine's platform is picked" "$ref" "$(view "oci:$I:multi")"
other=$( [ "$(uname -m)" = aarch64 ] && echo amd64 || echo arm64)
check_eq "an index: LAYERFS_PLATFORM picks another" "$(unpacked "$I:two")" \
	"$(LAYERFS_PLATFORM=linux/$other view "oci:$I:multi")"

# ---- layerfs index IMAGE: every layer indexed ahead of time -------------
check "layerfs index oci:DIR:REF" "$LAYERFS" index --cache "$T/c5" "oci:$I:t"
nl=$(python3 -c "import json,sys
ix=json.load(open(sys.argv[1]+'/index.json'))
d=[m for m in ix['manifests'] if m.get('annotations',{}).get('org.opencontainers.image.ref.name')=='t'][0]['digest']
print(len(json.load(open(sys.argv[1]+'/blobs/sha256/'+d[7:]))['layers']))" "$I")
check_eq "... one cache entry per layer" "$nl" "$(ls "$T/c5" | grep -c -- '-v[0-9]*$')"

# ---- images that share layers share their cache entries -----------------
C2=$T/cache2
LAYERFS_CACHE=$C2 view "oci:$I:t" >/dev/null
n1=$(ls "$C2" | grep -c -- '-v[0-9]*$')
LAYERFS_CACHE=$C2 view "oci:$I:two" >/dev/null
n2=$(ls "$C2" | grep -c -- '-v[0-9]*$')
check_eq "a second image made of the same blobs adds no cache entry" "$n1" "$n2"

# ---- results as an image: --commit and `layerfs commit` ----------------
job='cd "$1" && rm a.txt && rm -r d && mkdir d && echo fresh > d/f && echo new > new &&
	chmod 700 bin && rm h2 && ln b.txt b-third && ln -s new new.link && rm -r o'
U=$T/u-commit
mkdir -p "$U"
check "a job with --commit oci:DIR:NEWREF" timeout -k 5 "$TO" "$LAYERFS" run \
	--lower "oci:$I:t" --upper "$U" --at "$MNT" --commit "oci:$I:done" -- sh -c "$job" job "$MNT"
final=$(timeout -k 5 "$TO" "$LAYERFS" run --lower "oci:$I:t" --upper "$U" --at "$MNT" -- \
	python3 "$T/probe.py" "$MNT")
check "the job's view shows its changes" \
	bash -c "grep -q ' d/f ' <<<'$final' && ! grep -q ' a.txt ' <<<'$final'"
check_eq "umoci unpacks the committed image to the job's final view" "$final" "$(unpacked "$I:done")"
check_eq "layerfs shows the committed image as the job's final view" "$final" "$(view "oci:$I:done")"
check "skopeo inspects the committed image" skopeo inspect "oci:$I:done"
check "its history names the command" bash -c "skopeo inspect --config 'oci:$I:done' |
	grep -q 'sh -c cd'"
check "skopeo copies it to a docker-archive" \
	skopeo copy --quiet "oci:$I:done" "docker-archive:$T/done.tar:example/done:v1"
check_eq "... which layerfs shows as the job's final view" "$final" \
	"$(view "docker-archive:$T/done.tar")"
check "layerfs commit UPPER --base oci:DIR:REF oci:DIR:NEWREF" \
	"$LAYERFS" commit "$U" --base "oci:$I:t" "oci:$I:again"
check_eq "... umoci unpacks it to the same view" "$final" "$(unpacked "$I:again")"
umoci init --layout "$T/elsewhere" >/dev/null
out=$("$LAYERFS" commit "$U" --base "oci:$I:t" "oci:$T/elsewhere:x" 2>&1); st=$?
check_eq "commit into another layout than the base's: 125" \
	"125 layerfs: commit: image oci:$T/elsewhere:x: the new image must go into the base's layout $I" \
	"$st $out"
out=$(timeout -k 5 "$TO" "$LAYERFS" run --lower "oci:$I:t" --at "$MNT" --commit "oci:$I:failed" -- \
	sh -c "echo x > $MNT/x; exit 3" 2>&1); st=$?
check_eq "a failed job commits nothing" "3 " "$st $(grep -o '"failed"' "$I/index.json")"
out=$(timeout -k 5 "$TO" "$LAYERFS" run --lower "$T/l3.tar" --at "$MNT" --commit "oci:$I:x" -- true 2>&1); st=$?
check_eq "--commit needs an image lower" \
	"125 layerfs: --commit oci:$I:x: the lower must be one image, --lower oci:DIR:REF" "$st $out"

# ---- what must fail: 125 and one clear line -----------------------------
fails() { # fails DESC PATTERN LOWER: status 125, one line matching PATTERN
	local out st
	rm -f "$T/started"
	out=$(timeout -k 5 "$TO" "$LAYERFS" run --lower "$3" --at "$MNT" -- touch "$T/started" 2>&1); st=$?
	if [ "$st" = 125 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] &&
	   grep -qE -- "$2" <<<"$out" && [ ! -e "$T/started" ]; then
		ok "$1"
	else
		not_ok "$1" "status $st: $out"
	fi
}
fails "an unknown tag" "^layerfs: image oci:$I:nope: no image tagged \"nope\" \\(tags: .*\\)\$" "oci:$I:nope"
fails "an unknown tag in a docker-archive" "no image tagged \"other:v2\"" "docker-archive:$T/img.tar:other:v2"
LAYERFS_PLATFORM=linux/mips fails "an index without the platform asked for" \
	"no image for linux/mips in its index .*; it has: linux/$other, linux/.*, windows/" "oci:$I:multi"
umoci new --image "$J:empty" >/dev/null
fails "an image without layers, alone" "image oci:$J:empty has no layers" "oci:$J:empty"
fails "no such layout" "no such OCI image layout directory" "oci:$T/nothere:t"

cp -a "$I" "$T/bad"
layer=$(python3 -c "import json,sys
ix=json.load(open(sys.argv[1]+'/index.json'))
d=[m for m in ix['manifests'] if m['annotations']['org.opencontainers.image.ref.name']=='t'][0]['digest']
m=json.load(open(sys.argv[1]+'/blobs/sha256/'+d[7:]))
print(m['layers'][2]['digest'][7:])" "$T/bad")
python3 -c "import sys
p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[len(b)//2]^=0x20; open(p,'wb').write(b)" "$T/bad/blobs/sha256/$layer"
fails "a blob with one byte flipped names the blob" "blob sha256:$layer is damaged" "oci:$T/bad:t"
fails "... again: a damaged blob is never cached" "blob sha256:$layer is damaged" "oci:$T/bad:t"
out=$("$LAYERFS" index --cache "$T/c6" "oci:$T/bad:t" 2>&1); st=$?
check_eq "layerfs index of a damaged image: 125" "125 1" "$st $(grep -c "blob sha256:$layer is damaged" <<<"$out")"
rm "$T/bad/blobs/sha256/$layer"
fails "a missing blob" "blob sha256:$layer: missing from the layout" "oci:$T/bad:t"
oci relayer "$I" t lz4 application/vnd.oci.image.layer.v1.tar+lz4
fails "an unknown media type" "has media type \"application/vnd.oci.image.layer.v1.tar\\+lz4\"" "oci:$I:lz4"
oci dupkey "$I" t dup
fails "a manifest with a key twice is refused" "duplicate object key" "oci:$I:dup"
# a damaged manifest
cp -a "$I" "$T/badm"
mdig=$(python3 -c "import json,sys
ix=json.load(open(sys.argv[1]+'/index.json'))
print([m for m in ix['manifests'] if m['annotations']['org.opencontainers.image.ref.name']=='t'][0]['digest'][7:])" "$T/badm")
sed -i 's/"schemaVersion":2/"schemaVersion":3/' "$T/badm/blobs/sha256/$mdig"
fails "a damaged manifest" "manifest blob sha256:$mdig is damaged" "oci:$T/badm:t"
# a damaged layer inside a docker-archive
python3 - "$T/img.tar" "$T/bad.tar" <<'EOF'
import sys, tarfile, io
src = tarfile.open(sys.argv[1]); dst = tarfile.open(sys.argv[2], 'w')
flipped = False
for ti in src.getmembers():
    data = src.extractfile(ti).read() if ti.isfile() else None
    if data and ti.name.endswith('.tar') and not flipped and len(data) > 2048:
        data = bytearray(data); data[600] ^= 1; data = bytes(data); flipped = True
    dst.addfile(ti, io.BytesIO(data) if data else None)
dst.close()
EOF
# (a fresh cache: the good copy of that layer, checked, is in the other)
LAYERFS_CACHE=$T/cache3 fails "a damaged docker-archive layer" "layer [0-9a-f]*\\.tar \\(sha256:[0-9a-f]*\\) is damaged" \
	"docker-archive:$T/bad.tar"

finish
