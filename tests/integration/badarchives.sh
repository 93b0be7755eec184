#!/bin/bash
# SPDX-License-Identifier: MIT
# Bad archives: a corpus made here (python3's tarfile, raw headers, GNU tar)
# of truncated, damaged, hostile and unusual archives.  Each one is mounted
# with the launcher, which runs `ls -la` and a probe (a python3 walk of the
# view printing every entry, and reads of chosen names).  Each archive must
# give either a clear error (status 125, one message naming the archive) or
# exactly the expected view, as its row below says; never a signal, a
# sanitizer report or a hang, and never a byte written outside the run's
# upper directory and cache: every run has its own scratch directory (also
# its TMPDIR, HOME and XDG_RUNTIME_DIR), which must hold nothing else
# afterwards, and the corpus must be unchanged.  A table of archive ->
# outcome is printed as '#' lines.
#
# LAYERFS_MANY: the number of empty entries of many.tar (default 10^6).
. "$(dirname "$0")/lib.sh"

C=$T/corpus
R=$T/runs
mkdir -p "$C" "$R"
tag=$$-$RANDOM
many=${LAYERFS_MANY:-1000000}

# ---- the probe: runs in the view, prints a canonical listing ------------
# Lines: "TYPE MODE SIZE PATH [-> TARGET | md5 | MAJ,MIN]" for every entry
# (sorted by bytes, names with non-UTF-8 bytes backslash-escaped), walked
# with dir fds so that paths longer than PATH_MAX work; then one line per
# "read:NAME" argument (md5 of the content or the errno name, following
# symlinks, O_NONBLOCK) and per "count:DIR" argument (entries in DIR).
cat > "$T/probe.py" <<'EOF'
import errno, hashlib, os, stat, sys

def show(b):
    return b.decode('utf-8', 'backslashreplace')

def md5_fd(fd):
    h = hashlib.md5()
    while True:
        b = os.read(fd, 1 << 16)
        if not b:
            break
        h.update(b)
    os.close(fd)
    return h.hexdigest()

def walk(dfd, rel, out):
    for name in sorted(os.fsencode(n) for n in os.listdir(dfd)):
        st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
        m, path = st.st_mode, rel + name
        t = stat.filemode(m)[0].replace('-', 'f')
        line = '%s %o %s %s' % (t, stat.S_IMODE(m),
                                st.st_size if t in 'fl' else '-', show(path))
        if t == 'l':
            line += ' -> ' + show(os.readlink(name, dir_fd=dfd))
        elif t == 'f':
            line += ' ' + md5_fd(os.open(name, os.O_RDONLY, dir_fd=dfd))
        elif t in 'cb':
            line += ' %d,%d' % (os.major(st.st_rdev), os.minor(st.st_rdev))
        out.append(line)
        if t == 'd':
            sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=dfd)
            walk(sub, path + b'/', out)
            os.close(sub)

root = sys.argv[1]
out = []
args = sys.argv[2:]
if not any(a.startswith('count:') for a in args):
    top = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    walk(top, b'', out)
for a in args:
    kind, name = a.split(':', 1)
    p = os.path.join(root, name)
    try:
        if kind == 'count':
            out.append('count %s %d' % (name, len(os.listdir(p))))
        else:
            out.append('read %s %s' % (name, md5_fd(os.open(p, os.O_RDONLY | os.O_NONBLOCK))))
    except OSError as e:
        out.append('%s %s %s' % (kind, name, errno.errorcode[e.errno]))
print('\n'.join(out))
EOF

# ---- the corpus ----------------------------------------------------------
# Writes each archive into $C and a row to $C/MANIFEST:
#   NAME<TAB>ACCEPT<TAB>PROBE ARGS   ACCEPT: error | view | either
# with the expected probe output in $C/NAME.expect (for view and either).
printf 'host file outside the view\n' > "$R/hostfile"
cat > "$T/gen.py" <<'EOF'
import gzip, hashlib, io, os, subprocess, sys, tarfile

C, HOST, MANY, TAG = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
manifest = open(os.path.join(C, 'MANIFEST'), 'w')

def md5(b):
    return hashlib.md5(b).hexdigest()

def member(name, data=b'', typ=tarfile.REGTYPE, mode=0o644, link='', dev=(0, 0)):
    if isinstance(name, bytes):
        name = name.decode('utf-8', 'surrogateescape')
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.linkname = typ, mode, link
    ti.size = len(data) if typ in (tarfile.REGTYPE, tarfile.AREGTYPE) else 0
    ti.mtime = 1600000000
    ti.devmajor, ti.devminor = dev
    return ti, data

def tar_bytes(members, fmt=tarfile.USTAR_FORMAT):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode='w', format=fmt, encoding='utf-8',
                      errors='surrogateescape') as t:
        for ti, data in members:
            t.addfile(ti, io.BytesIO(data) if ti.size else None)
    return bio.getvalue()

def show(b):
    return b.decode('utf-8', 'backslashreplace')

def expect(tree, extra=()):
    """tree: {path bytes: ('f', mode, data) | ('d', mode) | ('l', target)
    | ('c'/'b', mode, (maj, min)) | ('p', mode)}; parents implied 0755."""
    full = dict(tree)
    for p in list(tree):
        parts = p.split(b'/')
        for i in range(1, len(parts)):
            full.setdefault(b'/'.join(parts[:i]), ('d', 0o755))
    lines = []
    for p in sorted(full, key=lambda p: p.split(b'/')):
        e = full[p]
        if e[0] == 'f':
            lines.append('f %o %d %s %s' % (e[1], len(e[2]), show(p), md5(e[2])))
        elif e[0] == 'd':
            lines.append('d %o - %s' % (e[1], show(p)))
        elif e[0] == 'l':
            lines.append('l 777 %d %s -> %s' % (len(e[1]), show(p), show(e[1])))
        elif e[0] in 'cb':
            lines.append('%s %o - %s %d,%d' % (e[0], e[1], show(p), *e[2]))
        else:
            lines.append('%s %o - %s' % (e[0], e[1], show(p)))
    return '\n'.join(lines + list(extra)) + '\n'

def add(name, blob, accept, want=None, probe=''):
    with open(os.path.join(C, name), 'wb') as f:
        f.write(blob)
    if want is not None:
        with open(os.path.join(C, name + '.expect'), 'w') as f:
            f.write(want)
    manifest.write('%s\t%s\t%s\n' % (name, accept, probe))

# A small archive, then every 512-byte prefix of it.
small_members = [
    member('d/', typ=tarfile.DIRTYPE, mode=0o750),
    member('d/a.txt', b'a' * 700),
    member('b.bin', bytes(range(256)) * 6),
    member('e', mode=0o600),
    member('l', typ=tarfile.SYMTYPE, link='d/a.txt', mode=0o777),
]
small_tree = [
    (b'd', ('d', 0o750)), (b'd/a.txt', ('f', 0o644, b'a' * 700)),
    (b'b.bin', ('f', 0o644, bytes(range(256)) * 6)), (b'e', ('f', 0o600, b'')),
    (b'l', ('l', b'd/a.txt')),
]
small = tar_bytes(small_members)
add('small.tar', small, 'view', expect(dict(small_tree)))
ends, off = [], 0
for ti, data in small_members:
    off += 512 + (len(data) + 511) // 512 * 512
    ends.append(off)
eof = off
for k in range(len(small) // 512):
    cut = k * 512
    done = sum(1 for e in ends if e <= cut)
    want = expect(dict(small_tree[:done]))
    if cut >= eof + 1024:
        accept = 'view'
    elif cut >= eof or cut in ends or cut == 0:
        accept = 'either'       # a clean end of members, no end marker
    else:
        accept, want = 'error', None  # cut inside a member's data
    add('trunc-%05d.tar' % cut, small[:cut], accept, want)
add('trunc-half.tar.gz', gzip.compress(small)[:200], 'error')

# Layer tars as umoci 0.4.7 writes them: the last member's data, then
# nothing (no padding to 512 bytes, no end-of-archive blocks); also cut
# inside that padding.  Read as the members up to it, as GNU tar and umoci
# extract them.  A cut one byte into the data or inside the next header
# stays an error, compressed or not.
a_end = ends[0] + 512 + 700          # where d/a.txt's data ends
two = expect(dict(small_tree[:2]))
for name, cut, accept in (('nopad-data-end', a_end, 'view'),
                          ('nopad-in-padding', a_end + 100, 'view'),
                          ('nopad-data-short', a_end - 1, 'error'),
                          ('nopad-in-header', ends[1] + 100, 'error')):
    want = two if accept == 'view' else None
    add(name + '.tar', small[:cut], accept, want)
    add(name + '.tar.gz', gzip.compress(small[:cut]), accept, want)

# Damaged header checksums: the first header, a middle one.
def damage(blob, at):
    b = bytearray(blob)
    b[at + 10] ^= 0x55  # in the name field: the checksum no longer matches
    return bytes(b)
add('badsum-first.tar', damage(small, 0), 'error')
add('badsum-middle.tar', damage(small, ends[1]), 'error')

# Hostile names: "..", "../x", "/abs", "a/../../x".
ok = member('ok', b'ok\n')
add('dotdot.tar', tar_bytes([ok, member('..', typ=tarfile.DIRTYPE, mode=0o755)]), 'error')
add('dotdot-x.tar', tar_bytes([ok, member('../x-' + TAG, b'escaped\n')]), 'error')
add('a-dotdot.tar', tar_bytes([ok, member('a/../../x-' + TAG, b'escaped\n')]), 'error')
absname = 'layerfs-abs-' + TAG
add('abs.tar', tar_bytes([ok, member('/' + absname, b'abs\n')], tarfile.GNU_FORMAT),
    'view', expect({b'ok': ('f', 0o644, b'ok\n'), absname.encode(): ('f', 0o644, b'abs\n')}))

# Symlinks leaving the view (they resolve to the host path, like a real
# mount: the mount point is RUNS/NAME/mnt, the host file RUNS/hostfile is
# passed as HOST) and loops (ELOOP).
hostmd5 = md5(open(HOST, 'rb').read())
links = [('out-abs', HOST), ('out-rel', '../../hostfile'), ('d/up', '../../../hostfile'),
         ('loop1', 'loop2'), ('loop2', 'loop1'), ('self', 'self'), ('in', 'd/f'),
         ('d/loopdir', '../d/loopdir/x')]
mem = [member('d/', typ=tarfile.DIRTYPE, mode=0o755), member('d/f', b'inside\n')]
mem += [member(n, typ=tarfile.SYMTYPE, link=t, mode=0o777) for n, t in links]
tree = {b'd': ('d', 0o755), b'd/f': ('f', 0o644, b'inside\n')}
tree.update({n.encode(): ('l', t.encode()) for n, t in links})
reads = ['out-abs', 'out-rel', 'd/up', 'loop1', 'self', 'in', 'd/loopdir']
add('symlinks.tar', tar_bytes(mem), 'view',
    expect(tree, ['read out-abs ' + hostmd5, 'read out-rel ' + hostmd5, 'read d/up ' + hostmd5,
                  'read loop1 ELOOP', 'read self ELOOP', 'read in ' + md5(b'inside\n'),
                  'read d/loopdir ELOOP']),
    ' '.join('read:' + r for r in reads))

# A hard link to a missing target.
add('hardlink-missing.tar', tar_bytes([ok, member('h', typ=tarfile.LNKTYPE, link='missing')]),
    'error')

# 4096-byte names: one component (over NAME_MAX); a path of 255-byte
# components, 4081 bytes (the view's absolute path is over PATH_MAX).
# Layer paths are limited to PATH_MAX (README, Limitations): a 4097-byte
# path below the mount point, which a real filesystem reaches through
# directory fds, is ENAMETOOLONG in the view, so it is not in this corpus.
add('longname.tar', tar_bytes([ok, member('n' * 4096, b'long\n')], tarfile.GNU_FORMAT), 'error')
for deep in ('/'.join(chr(ord('a') + i) * 255 for i in range(15)) + '/' + 'p' * 239 + '/f',):
    add('longpath-%d.tar' % len(deep), tar_bytes([member(deep, b'deep\n')], tarfile.GNU_FORMAT),
        'view', expect({deep.encode(): ('f', 0o644, b'deep\n')}))

# Many empty entries, written as raw ustar headers (tarfile takes minutes).
def raw_many(path, n):
    def template(typ, mode):
        h = bytearray(512)
        h[100:108] = b'%07o\0' % mode
        h[108:116] = h[116:124] = b'0000000\0'
        h[124:136] = b'00000000000\0'
        h[136:148] = b'%011o\0' % 1600000000
        h[148:156] = b' ' * 8
        h[156:157] = typ
        h[257:265] = b'ustar\x0000'
        return sum(h), bytes(h[100:148]), bytes(h[156:])
    with open(path, 'wb', buffering=1 << 22) as f:
        for name, typ, mode in ((b'e/', b'5', 0o755),):
            s, mid, tail = template(typ, mode)
            f.write(name.ljust(100, b'\0') + mid + b'%06o\0 ' % (s + sum(name)) + tail)
        s, mid, tail = template(b'0', 0o644)
        w = f.write
        for i in range(n):
            name = b'e/%07d' % i
            w(name.ljust(100, b'\0') + mid + b'%06o\0 ' % (s + sum(name)) + tail)
        f.write(bytes(1024))
raw_many(os.path.join(C, 'many.tar'), MANY)
manifest.write('many.tar\tview\tcount:e read:e/0000000 read:e/%07d read:e/%07d\n'
               % (MANY - 1, MANY))
with open(os.path.join(C, 'many.tar.expect'), 'w') as f:
    f.write('count e %d\nread e/0000000 %s\nread e/%07d %s\nread e/%07d ENOENT\n'
            % (MANY, md5(b''), MANY - 1, md5(b''), MANY))

# Sparse files, in GNU tar's formats: a hole, data, a hole, data at the end.
sp = os.path.join(C, 'sparse-src')
os.mkdir(sp)
with open(os.path.join(sp, 'sp'), 'wb') as f:
    f.truncate(8 << 20)
    f.seek(1 << 20); f.write(b'hello')
    f.seek((8 << 20) - 5); f.write(b'world')
spdata = open(os.path.join(sp, 'sp'), 'rb').read()
for fmt, opts in (('gnu', ['--format=gnu']), ('pax00', ['--format=posix', '--sparse-version=0.0']),
                  ('pax01', ['--format=posix', '--sparse-version=0.1']),
                  ('pax10', ['--format=posix', '--sparse-version=1.0'])):
    name = 'sparse-%s.tar' % fmt
    subprocess.run(['tar', '-C', sp, '-S', '-cf', os.path.join(C, name), '--owner=0',
                    '--group=0', '--mode=0644'] + opts + ['sp'], check=True)
    manifest.write('%s\tview\t\n' % name)
    with open(os.path.join(C, name + '.expect'), 'w') as f:
        f.write(expect({b'sp': ('f', 0o644, spdata)}))
os.remove(os.path.join(sp, 'sp'))
os.rmdir(sp)

# Device nodes and a fifo: listed with their numbers; opening one gives
# ENXIO (nothing real backs it).
mem = [member('null', typ=tarfile.CHRTYPE, mode=0o666, dev=(1, 3)),
       member('sda', typ=tarfile.BLKTYPE, mode=0o660, dev=(8, 0)),
       member('fifo', typ=tarfile.FIFOTYPE, mode=0o644)]
add('devices.tar', tar_bytes(mem), 'view',
    expect({b'null': ('c', 0o666, (1, 3)), b'sda': ('b', 0o660, (8, 0)),
            b'fifo': ('p', 0o644)}, ['read null ENXIO', 'read sda ENXIO', 'read fifo ENXIO']),
    'read:null read:sda read:fifo')

# Duplicate names: the later entry wins, as extraction would leave it.
mem = [member('f', b'first\n'), member('f', b'second\n'),
       member('d/', typ=tarfile.DIRTYPE, mode=0o700), member('d/x', b'x\n'),
       member('d/', typ=tarfile.DIRTYPE, mode=0o755),
       member('g', b'a file\n'), member('g/', typ=tarfile.DIRTYPE, mode=0o755),
       member('g/y', b'y\n')]
add('duplicates.tar', tar_bytes(mem), 'view',
    expect({b'f': ('f', 0o644, b'second\n'), b'd': ('d', 0o755), b'd/x': ('f', 0o644, b'x\n'),
            b'g': ('d', 0o755), b'g/y': ('f', 0o644, b'y\n')}))

# Names that are not UTF-8, in ustar (raw bytes) and pax (hdrcharset=BINARY).
mem = [member(b'caf\xe9', b'latin-1\n'), member(b'\xff\xfe/', typ=tarfile.DIRTYPE, mode=0o755),
       member(b'\xff\xfe/\x80x', b'bytes\n')]
want = expect({b'caf\xe9': ('f', 0o644, b'latin-1\n'), b'\xff\xfe': ('d', 0o755),
               b'\xff\xfe/\x80x': ('f', 0o644, b'bytes\n')})
add('nonutf8-ustar.tar', tar_bytes(mem), 'view', want)
add('nonutf8-pax.tar', tar_bytes(mem, tarfile.PAX_FORMAT), 'view', want)

# Not archives: nothing at all (an empty archive), random bytes, text.
add('zero-bytes.tar', b'', 'view', '\n')
add('random.bin', os.urandom(10000), 'error')
add('text.txt', b'hello, this is not an archive\n' * 10, 'error')
EOF
gen_start=$(date +%s%N)
if ! python3 "$T/gen.py" "$C" "$R/hostfile" "$many" "$tag" > "$T/gen.out" 2>&1; then
	not_ok "the corpus is generated" "$(cat "$T/gen.out")"
	finish
	exit
fi
echo "# corpus generated in $((($(date +%s%N) - gen_start) / 1000000)) ms" \
	"($(wc -l < "$C/MANIFEST") archives, many.tar has $many entries)"
corpus_sum() { (cd "$C" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum); }
corpus_before=$(corpus_sum)
top_before=$(ls -A "$T")

# ---- one run per archive ------------------------------------------------
table=()
sanitizer='AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:|ThreadSanitizer'
while IFS=$'\t' read -r name accept probe; do
	s=$R/$name
	mkdir -p "$s/cache" "$s/up" "$s/tmp" "$s/work"
	mnt=$s/mnt
	start=$(date +%s%N)
	# shellcheck disable=SC2086 # $probe: words
	(cd "$s/work" && TMPDIR=$s/tmp HOME=$s/work XDG_RUNTIME_DIR=$s/tmp \
		timeout -k 5 120 "$LAYERFS" run --cache "$s/cache" --upper "$s/up" \
		--lower "$C/$name" --at "$mnt" -- \
		bash -c 'ls -la "$1" > "$2/ls.out" 2>&1; echo "ls status $?" >> "$2/ls.out"
			shift 2; exec python3 "$@"' - "$mnt" "$s/tmp" "$T/probe.py" "$mnt" $probe \
		> "$s/../$name.out" 2> "$s/../$name.err")
	status=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	mv "$s/tmp/ls.out" "$s/../$name.ls" 2>/dev/null
	out=$(cat "$s/../$name.out")
	err=$(cat "$s/../$name.err")
	# The outcome.
	if [ $status = 124 ] || [ $status = 137 ]; then
		got="hang (killed by timeout)"
	elif grep -Eq "$sanitizer" "$s/../$name.err" "$s/../$name.ls" 2>/dev/null; then
		got="sanitizer report"
	elif [ $status = 125 ]; then
		if [ "$(grep -c . <<< "$err")" = 1 ] && grep -qF "$C/$name" <<< "$err"; then
			got="error"
		else
			got="status 125 without one message naming the archive"
		fi
	elif [ $status -gt 128 ]; then
		got="killed by signal $((status - 128))"
	elif [ $status = 0 ] && [ -f "$C/$name.expect" ] &&
		[ "$out" = "$(cat "$C/$name.expect")" ] &&
		grep -q "^ls status 0$" "$s/../$name.ls"; then
		got="view"
	elif [ $status = 0 ]; then
		got="wrong view"
	else
		got="status $status"
	fi
	case $accept:$got in
	error:error | view:view | either:error | either:view) verdict=ok ;;
	*) verdict=FAIL ;;
	esac
	# Nothing written outside the upper layer and the cache, nor in the
	# upper but the layer's own metadata (.wh..wh.*, never in the view).
	stray=$(cd "$s" && find . -mindepth 1 ! -path './cache' ! -path './cache/*' \
		! -path './up/.wh..wh.*' | LC_ALL=C sort)
	if [ "$stray" != "$(printf './tmp\n./up\n./work')" ]; then
		verdict=FAIL
		got="$got; wrote outside the upper layer and the cache: $(echo $stray)"
	fi
	if [ -e "/layerfs-abs-$tag" ] || [ -e "$R/x-$tag" ] || [ -e "$T/x-$tag" ] ||
		[ -e "/x-$tag" ]; then
		verdict=FAIL
		got="$got; an archive name escaped to the host"
	fi
	if [ $verdict = ok ]; then
		ok "$name: $got"
	else
		detail="expected $accept, got $got (status $status)
stderr: $(head -c 2000 <<< "$err")"
		if [ "$got" = "wrong view" ]; then
			detail="$detail
$(diff <(echo "$out") "$C/$name.expect" | head -20)"
		fi
		not_ok "$name: $got" "$detail"
	fi
	table+=("$(printf '%-22s %-7s -> %-6s %6d ms  %s' "$name" "$accept" "$verdict" "$ms" \
		"$got${err:+: $(head -n 1 <<< "$err" | cut -c 1-90)}")")
	rm -rf "$s"
done < "$C/MANIFEST"

# ---- an archive replaced under its cache -----------------------------------
# Two runs share one cache; between them the archive is rewritten in place
# (dd conv=notrunc) or deleted and made anew, with the same size and
# mtime (to the nanosecond) but other bytes: CONFIG before VERSION, other
# contents.  The second run must read the new bytes (issue 13).  A new
# file is made until one gets the old inode number (ext4 reuses it), as a
# reproducible build in CI would.
S=$T/stale
mkdir -p "$S"
python3 - "$S" <<'PYEOF' || not_ok "the replaced archives are generated"
import io, sys, tarfile, zipfile
d = sys.argv[1]
def tar(order, tag):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode='w', format=tarfile.USTAR_FORMAT) as t:
        for name in order:
            data = (('version-%s\n' if name == 'VERSION' else 'config=%s%s%s\n') %
                    ((tag,) if name == 'VERSION' else (tag,) * 3)).encode()
            ti = tarfile.TarInfo(name); ti.size = len(data); ti.mtime = 1600000000
            t.addfile(ti, io.BytesIO(data))
    return bio.getvalue()
def zipped(order, tag):
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, 'w', zipfile.ZIP_STORED) as z:
        for name in order:
            data = (('version-%s\n' if name == 'VERSION' else 'config=%s%s%s\n') %
                    ((tag,) if name == 'VERSION' else (tag,) * 3)).encode()
            z.writestr(zipfile.ZipInfo(name, (2020, 1, 2, 3, 4, 6)), data)
    return bio.getvalue()
for ext, make in (('tar', tar), ('zip', zipped)):
    a, b = make(['VERSION', 'CONFIG'], '1'), make(['CONFIG', 'VERSION'], '2')
    assert len(a) == len(b) and a != b
    open('%s/v1.%s' % (d, ext), 'wb').write(a)
    open('%s/v2.%s' % (d, ext), 'wb').write(b)
PYEOF
v1=$'version-1\nconfig=111'
v2=$'version-2\nconfig=222'
# stale_run NAME: the launcher's view of VERSION and CONFIG of $S/NAME.
stale_run() {
	timeout -k 5 60 "$LAYERFS" run --cache "$S/cache" --lower "$S/$1" --at "$S/mnt" -- \
		sh -c 'cat "$1/VERSION" "$1/CONFIG"' - "$S/mnt" 2>&1
}
for ext in tar zip; do
	for how in rewritten recreated; do
		name=$how.$ext
		cp "$S/v1.$ext" "$S/$name"
		touch -d '2023-11-14 22:13:20.123456789' "$S/$name"
		first=$(stale_run "$name")
		ino=$(stat -c %i "$S/$name")
		if [ $how = rewritten ]; then
			dd if="$S/v2.$ext" of="$S/$name" conv=notrunc status=none
		else
			rm "$S/$name"
			for i in $(seq 32); do
				cp "$S/v2.$ext" "$S/new$i"
				[ "$(stat -c %i "$S/new$i")" = "$ino" ] && break
			done
			mv "$S/new$i" "$S/$name"
			rm -f "$S"/new*
		fi
		touch -d '2023-11-14 22:13:20.123456789' "$S/$name"
		second=$(stale_run "$name")
		same="same inode $([ "$(stat -c %i "$S/$name")" = "$ino" ] && echo yes || echo no)"
		if [ "$first" = "$v1" ] && [ "$second" = "$v2" ]; then
			ok "$name with the same size and mtime ($same): the second run reads the new bytes"
		else
			not_ok "$name with the same size and mtime ($same)" "first run: $first
second run: $second"
		fi
		table+=("$(printf '%-22s %-7s -> %-6s %s' "$name" view \
			"$([ "$second" = "$v2" ] && echo ok || echo FAIL)" "replaced under its cache ($same)")")
	done
done
rm -rf "$S"

if [ "$(corpus_sum)" = "$corpus_before" ]; then
	ok "every archive of the corpus is unchanged"
else
	not_ok "every archive of the corpus is unchanged"
fi
top_after=$(ls -A "$T")
check "nothing appeared next to the runs" test "$top_before" = "$top_after"

echo "# archive                accept     verdict    time  outcome"
printf '# %s\n' "${table[@]}"
finish
