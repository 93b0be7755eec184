# SPDX-License-Identifier: MIT
# tree_probe.py ROOT: a canonical listing of the tree under ROOT, for the
# differential tests of images (oci.sh, images.sh).  One line per entry,
# sorted by path:
#   TYPE MODE SIZE PATH [-> TARGET | MD5] [=FIRST] [user.X=VALUE...]
# =FIRST names the first path shown of the same inode when another name
# shown shares it (hard links; a link count would also count names a
# whiteout hid, as overlayfs's does); then the user.* xattrs.
import hashlib, os, stat, sys

root = sys.argv[1]
ents, names = [], {}
for d, dirs, files in os.walk(root):
    for name in dirs + files:
        p = os.path.join(d, name)
        rel = os.path.relpath(p, root)
        st = os.lstat(p)
        t = stat.filemode(st.st_mode)[0].replace('-', 'f')
        line = '%s %o %s %s' % (t, stat.S_IMODE(st.st_mode),
                                st.st_size if t in 'fl' else '-', rel)
        if t == 'l':
            line += ' -> ' + os.readlink(p)
        elif t == 'f':
            with open(p, 'rb') as f:
                line += ' ' + hashlib.md5(f.read()).hexdigest()
            names.setdefault((st.st_dev, st.st_ino), []).append(rel)
        xattrs = ''
        if t in 'fd':
            try:
                for x in sorted(os.listxattr(p, follow_symlinks=False)):
                    if x.startswith('user.') and not x.startswith('user.layerfs.'):
                        v = os.getxattr(p, x, follow_symlinks=False)
                        xattrs += ' %s=%s' % (x, v.decode('utf-8', 'backslashreplace'))
            except OSError:
                pass
        ents.append((rel, line, (st.st_dev, st.st_ino), xattrs))
for rel, line, k, xattrs in sorted(ents):
    same = sorted(names.get(k, []))
    print(line + (' =' + same[0] if len(same) > 1 else '') + xattrs)
