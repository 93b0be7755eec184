/* SPDX-License-Identifier: MIT */
/*
 * union.c - the layered union: construction, path resolution, inode
 * numbers, and the operations on one existing entry (lookup, open,
 * readlink, attributes, xattrs, statfs).  Directory operations and the
 * readdir merge are in union_dir.c, copy-up in copy_up.c.
 *
 * Semantics are kernel overlayfs's (Documentation/filesystems/overlayfs.rst):
 *   - layers[0] is the upper layer, layers[1..] the lowers, topmost first.
 *     A path is resolved component by component; at each level the set of
 *     layers still merged shrinks: a whiteout hides the name in every
 *     layer below, a non-directory hides everything below it, an opaque
 *     directory hides the directories below it.  The topmost entry answers.
 *   - every change lands in the upper layer; a lower entry is copied up
 *     first (with its ancestors); deleting a name that a lower layer would
 *     show leaves a whiteout, and only then.
 *   - directory rename works (the lower subtree is copied up and made
 *     opaque), never -EXDEV.  RENAME_EXCHANGE works when the upper layer
 *     supports it (the host layer does); RENAME_WHITEOUT is -EINVAL.
 *   - without an upper layer every change is -EROFS.
 *
 * Writable-files semantics (LYR_UNION_WRITABLE_FILES): an existing lower
 * regular file opened for writing, truncated, chmod/chown/utimens'd or
 * given xattrs is changed in place in its own layer (which must then be a
 * writable host directory).  New entries still go to the upper layer, and
 * namespace changes of lower entries (unlink, rmdir, rename, link) behave
 * as under read-only semantics: whiteouts and copy-up.
 *
 * Inode numbers: every entry has st_dev = opts->dev (or U_DEFAULT_DEV) and
 * st_ino = U_INO(k, raw ino) for an entry of layer k: the layer index in
 * the top 6 bits.  A copied-up (or renamed) entry keeps its number: copy-up
 * stores it in the upper copy as the xattr user.layerfs.origin (8 bytes,
 * little-endian), which the upper entry then reports.  A directory reports
 * the number of its topmost merged lower directory, so copying it up does
 * not change it.  Limits: when the upper layer cannot store user xattrs
 * (and on symlinks and special files, where Linux refuses user.* xattrs) a
 * copy-up changes the number; a union nested as a lower of another union
 * keeps only the low 58 bits of its numbers, so distinct entries of
 * different inner layers may share a number there.
 *
 * Hard links: copying up one name of a lower file with hard links links
 * every other name the view shows to the one copy (copy_up.c), so they
 * keep sharing data and number, and the copy's st_nlink counts them.  A
 * lower file's st_nlink is its layer's: it still counts names the view
 * hides (whited out, shadowed, under an opaque directory) until the file
 * is copied up.  Counting visible names would take a walk of the layer
 * per lookup.
 *
 * The user.layerfs.* xattrs are hidden: listxattr leaves them out,
 * getxattr gives -ENODATA, setxattr and removexattr -ENOTSUP.
 *
 * Names: a component starting with ".wh." (the OCI whiteout prefix) does
 * not exist (-ENOENT) and cannot be created (-EINVAL).
 *
 * Permissions: the backends check what they store; for entries that come
 * from a lower layer the union itself checks the view's mode against the
 * caller (when not root) before any copy-up: opening for reading or
 * writing, creating or removing in a directory, the chmod/chown/utimens
 * ownership rules.  Search permission on lower-only directories along a
 * path is not checked.  A copy-up into an upper directory the caller owns
 * but may not write (a copied-up 0555 directory) adds u+wx to it for the
 * moment of the copy.
 *
 * Windows a crash can expose, each leaving a consistent view: a directory
 * copied up before its metadata was set shows the upper layer's defaults;
 * a directory made over a deleted lower one before it was marked opaque
 * shows the old lower entries again (as after a failed rename, old and new
 * both visible); of a file with hard links, names not linked to the copy
 * yet still show the lower file.  A file's own copy-up has no window.
 *
 * Thread safety: the union holds no mutable state; concurrent copy-ups of
 * one file (threads or processes) both succeed and leave one upper copy.
 *
 * Cost of a lookup: the layers are asked level by level, each level only
 * of the layers merged into its directory, so below a directory the upper
 * layer lacks it is never asked again, and a subtree one layer alone shows
 * takes one lookup.  At a level, the lowers are asked before the upper
 * layer, whose whiteout and opaque markers are looked for only when a
 * lower shows the name (u_level).  Path resolution for the shim (the
 * resolve member, u_resolve) is one such walk that also follows symlinks,
 * instead of a walk per prefix.  Nothing about the upper layer is cached:
 * other processes change it.
 *
 * Divisions: helpers, resolution, inode numbers, permissions, open,
 * one-pass resolution, attributes, xattrs, constructor.
 */
#define _GNU_SOURCE
#include "union.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* st_dev when the caller gives none: an unnamed major unlikely to be in use. */
#define U_DEFAULT_DEV makedev(4095, 0x4c59)

static const struct lyr_layer_ops u_ops;

/* ---- helpers ------------------------------------------------------------ */

/*
 * -ENOENT when a component of path starts with ".wh." (such names do not
 * exist in the view); -EINVAL instead when create is set and it is the
 * last component.  0 otherwise.
 */
int u_check_name(const char *path, bool create)
{
	const char *p = path;

	if (!strstr(path, ".wh."))
		return 0;
	while (*p) {
		const char *end = strchrnul(p, '/');
		if (end - p >= 4 && !memcmp(p, ".wh.", 4))
			return create && !*end ? -EINVAL : -ENOENT;
		p = *end ? end + 1 : end;
	}
	return 0;
}

/* True for the xattrs layerfs keeps for itself. */
bool u_is_private_xattr(const char *name)
{
	return !strncmp(name, U_PRIVATE_XATTR, sizeof(U_PRIVATE_XATTR) - 1);
}

/* out = dir + "/" + name (just name when dir is the root); -ENAMETOOLONG. */
int u_join(char *out, size_t size, const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	size_t need = dl + (dl ? 1 : 0) + nl + 1;

	if (need > size)
		return -ENAMETOOLONG;
	memcpy(out, dir, dl);
	if (dl)
		out[dl++] = '/';
	memcpy(out + dl, name, nl + 1);
	return 0;
}

static int u_lookup_in(struct u_union *u, int k, const char *path,
		       struct stat *st, unsigned *fl)
{
	*fl = 0;
	return lyr_lookup(u->layers[k], path, st, fl);
}

static void u_ent_init(struct u_ent *e)
{
	e->top = -1;
	e->tflags = 0;
	e->dirs = 0;
	e->dlow = -1;
	e->dlow_ino = 0;
	e->parent_ok = false;
	e->have_parent = false;
	e->pmask = 0;
}

/* ---- resolution --------------------------------------------------------- */

/*
 * The upper layer's part of a level, after the lowers' (in *e): asked
 * with markers only when they matter, that is when a lower shows the name
 * (a whiteout hides it; a directory over a lower one may be opaque).
 */
static int u_level_upper(struct u_union *u, const char *path, struct u_ent *e)
{
	bool below = e->top >= 0;
	bool merge = below && S_ISDIR(e->st.st_mode);
	struct stat st;
	unsigned fl = 0;
	int r = lyr_lookup(u_upper(u), path, &st, below ? &fl : NULL);

	if (r == -ENOENT || r == -ENOTDIR)
		return below ? 0 : -ENOENT;
	if (r < 0)
		return r;
	if (fl & LYR_WHITEOUT) {
		e->top = -1;
		e->tflags = 0;
		e->dirs = 0;
		e->dlow = -1;
		return -ENOENT;
	}
	e->top = 0;
	e->st = st;
	e->tflags = fl;
	if (S_ISDIR(st.st_mode) && merge && !(fl & LYR_OPAQUE)) {
		e->dirs |= U_BIT(0);
		return 0;
	}
	e->dirs = S_ISDIR(st.st_mode) ? U_BIT(0) : 0;
	e->dlow = -1;
	return 0;
}

/*
 * One level of the walk: path in every layer of m, topmost first, until a
 * whiteout, a non-directory or an opaque directory ends the merge.  Fills
 * top/st/tflags and, for a directory, dirs/dlow.  -ENOENT when no layer
 * shows the name.
 *
 * The lowers are asked before the upper layer: they are usually cheap (a
 * mapped index), and their answer says whether the upper layer's markers
 * matter (u_level_upper); when they do not, a host upper answers with one
 * system call instead of two.  The bottom layer of m is asked without
 * markers, as nothing below it can be hidden.  So LYR_OPAQUE is in tflags
 * only when the opaque directory hides something.
 */
int u_level(struct u_union *u, uint64_t m, const char *path, struct u_ent *e)
{
	uint64_t lm = m & ~U_BIT(0);
	struct stat st;
	unsigned fl;

	e->top = -1;
	e->tflags = 0;
	e->dirs = 0;
	e->dlow = -1;
	for (; lm; lm &= lm - 1) {
		int k = u_first(lm);
		bool bottom = !(lm & (lm - 1));
		fl = 0;
		int r = lyr_lookup(u->layers[k], path, &st, bottom ? NULL : &fl);
		if (r == -ENOENT || r == -ENOTDIR)
			continue;
		if (r < 0)
			return r;
		if (fl & LYR_WHITEOUT)
			break;
		if (e->top < 0) {
			e->top = k;
			e->st = st;
			e->tflags = fl;
		}
		if (!S_ISDIR(st.st_mode))
			break;
		e->dirs |= U_BIT(k);
		if (e->dlow < 0) {
			e->dlow = k;
			e->dlow_ino = st.st_ino;
		}
		if (fl & LYR_OPAQUE)
			break;
	}
	if (m & U_BIT(0))
		return u_level_upper(u, path, e);
	return e->top < 0 ? -ENOENT : 0;
}

/*
 * Only layer k is still merged at this level: the rest of path resolves
 * inside it, with one lookup.  last: the level is path's last component.
 */
static int u_walk_one(struct u_union *u, int k, const char *path, bool last,
		      unsigned want, struct u_ent *e)
{
	char parent[PATH_MAX];
	struct stat st;
	unsigned fl;
	int r = -ENOENT;

	/* At the last level the upper's missing entry is known (-ENOENT). */
	if (k != 0 || !(want & U_UPPER_LACKS) || !last)
		r = u_lookup_in(u, k, path, &st, &fl);
	if (r == 0 && !(fl & LYR_WHITEOUT)) {
		e->top = k;
		e->st = st;
		e->tflags = fl;
		if (S_ISDIR(st.st_mode)) {
			e->dirs = U_BIT(k);
			if (k > 0) {
				e->dlow = k;
				e->dlow_ino = st.st_ino;
			}
		}
		e->have_parent = true;
		e->pmask = U_BIT(k);
		return 0;
	}
	if (r < 0 && r != -ENOENT)
		return r;
	if (r == 0 || last) {
		/* A whiteout, or a missing name in a directory we know. */
		e->parent_ok = true;
		e->have_parent = true;
		e->pmask = U_BIT(k);
		return -ENOENT;
	}
	if (!(want & (U_WANT_PARENT | U_WANT_CREATE)))
		return -ENOENT;
	lyr_path_split(path, parent, sizeof(parent));
	r = u_lookup_in(u, k, parent, &st, &fl);
	if (r < 0)
		return r;
	if (fl & LYR_WHITEOUT)
		return -ENOENT;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	e->parent_ok = true;
	e->have_parent = true;
	e->pmask = U_BIT(k);
	return -ENOENT;
}

/*
 * Resolves path level by level (see the file header).  On 0, *e says what
 * answers; on -ENOENT, e->parent_ok says whether only the last component
 * is missing.  With U_WANT_PARENT, e->pmask is set whenever the parent
 * resolved.  Cost: one lookup per merged layer per level until a single
 * layer is left, then one lookup in it for the rest of the path.
 */
static int u_walk_from(struct u_union *u, const char *path, size_t off, uint64_t m,
		       struct u_ent *e, unsigned want);

/*
 * The entry the last u_resolve of this thread found, for an open of the
 * same path right after it (lyr_union_open_resolved): the open then needs
 * no second lookup.  Any other lookup in between (u_walk, u_find: every
 * change starts with one) makes it stale.
 */
struct u_hint {
	struct u_union *u;
	unsigned seq;       /* u_hint_seq when it was made */
	int res;            /* 0: found, -ENOENT: only the last component missing */
	struct u_ent e;
	char path[PATH_MAX];
};
static __thread struct u_hint u_hint;
static __thread unsigned u_hint_seq = 1;

static inline void u_hint_stale(void)
{
	u_hint_seq++;
}

int u_walk(struct u_union *u, const char *path, struct u_ent *e, unsigned want)
{
	int r;

	u_hint_stale();
	if (*path)
		return u_walk_from(u, path, 0, u->root_mask, e, want);
	u_ent_init(e);
	r = u_level(u, u->root_mask, "", e);
	e->have_parent = true;
	e->pmask = e->dirs;
	return r;
}

/*
 * u_walk from the component at path + off, in the directory path[0..off)
 * that the layers of m merge into (off 0: the root).
 */
static int u_walk_from(struct u_union *u, const char *path, size_t off, uint64_t m,
		       struct u_ent *e, unsigned want)
{
	char pre[PATH_MAX];
	size_t len = strlen(path);
	char *p = pre + off;
	int r;

	u_ent_init(e);
	if (len >= sizeof(pre))
		return -ENAMETOOLONG;
	memcpy(pre, path, len + 1);
	for (;;) {
		char *end = strchrnul(p, '/');
		bool last = !*end;

		if (u_popcount(m) == 1)
			return u_walk_one(u, u_first(m), path, last, want, e);
		*end = '\0';
		/* The upper layer's answer for the whole path may be known. */
		r = u_level(u, last && (want & U_UPPER_LACKS) ? m & ~U_BIT(0) : m, pre, e);
		if (r == -ENOENT && last) {
			e->parent_ok = true;
			e->have_parent = true;
			e->pmask = m;
			return r;
		}
		if (r < 0)
			return r;
		if (last) {
			e->have_parent = true;
			e->pmask = m;
			return 0;
		}
		if (!S_ISDIR(e->st.st_mode))
			return -ENOTDIR;
		*end = '/';
		m = e->dirs;
		p = end + 1;
	}
}

/*
 * u_walk with shortcuts for the common cases.  The first component is
 * resolved first: when the upper layer has no directory there, it has
 * nothing below (the rest is walked without it).  When it has one, an
 * upper entry that is not a merged directory answers with one lookup of
 * the whole path, and so does an upper whiteout; when the upper layer
 * lacks the path, the walk does not ask it again for the last component.
 * U_WANT_PARENT always takes the full walk.
 */
int u_find(struct u_union *u, const char *path, struct u_ent *e, unsigned want)
{
	const char *slash = strchr(path, '/');
	char first[NAME_MAX + 1];
	unsigned lacks = 0;
	size_t n;
	int r;

	u_hint_stale();
	if (!u_upper(u) || !slash || (want & U_WANT_PARENT) ||
	    (n = (size_t)(slash - path)) > NAME_MAX)
		return u_walk(u, path, e, want);
	memcpy(first, path, n);
	first[n] = '\0';
	u_ent_init(e);
	if ((r = u_level(u, u->root_mask, first, e)))
		return r; /* the first of several components: a missing parent */
	if (!S_ISDIR(e->st.st_mode))
		return -ENOTDIR;
	uint64_t m = e->dirs;
	if (m & U_BIT(0)) {
		u_ent_init(e);
		r = u_lookup_in(u, 0, path, &e->st, &e->tflags);
		if (r == 0 && (e->tflags & LYR_WHITEOUT)) {
			e->parent_ok = true;
			return -ENOENT;
		}
		if (r == 0 && (!S_ISDIR(e->st.st_mode) || (e->tflags & LYR_OPAQUE))) {
			e->top = 0;
			if (S_ISDIR(e->st.st_mode))
				e->dirs = U_BIT(0);
			return 0;
		}
		if (r < 0 && r != -ENOENT && r != -ENOTDIR)
			return r;
		if (r < 0)
			lacks = U_UPPER_LACKS;
	}
	/* A merged directory, or not in the upper layer: walk on. */
	return u_walk_from(u, path, n + 1, m, e, want | lacks);
}

/*
 * Whether a lower entry would show at path if the upper layer had none
 * there: 0 (with its stat in *st, may be NULL) or -ENOENT.  Needs
 * e->pmask (U_WANT_PARENT).
 */
int u_below(struct u_union *u, const struct u_ent *e, const char *path,
	    struct stat *st)
{
	uint64_t m = e->pmask & ~U_BIT(0);
	struct stat tmp;
	unsigned fl;

	if (!st)
		st = &tmp;
	for (; m; m &= m - 1) {
		int r = u_lookup_in(u, u_first(m), path, st, &fl);
		if (r == -ENOENT || r == -ENOTDIR)
			continue;
		if (r < 0)
			return r;
		return (fl & LYR_WHITEOUT) ? -ENOENT : 0;
	}
	return -ENOENT;
}

/* ---- inode numbers ------------------------------------------------------ */

/* The view inode number recorded in upper entry path: 0 or -errno. */
int u_get_origin(struct u_union *u, const char *path, uint64_t *ino)
{
	unsigned char b[8];
	ssize_t n = lyr_getxattr(u_upper(u), path, U_ORIGIN_XATTR, b, sizeof(b));

	if (n != (ssize_t)sizeof(b))
		return n < 0 ? (int)n : -EINVAL;
	*ino = 0;
	for (int i = 7; i >= 0; i--)
		*ino = (*ino << 8) | b[i];
	return 0;
}

/* The st_ino the view reports for the entry e at path. */
uint64_t u_view_ino(struct u_union *u, const char *path, const struct u_ent *e)
{
	uint64_t ino;

	if (S_ISDIR(e->st.st_mode) && e->dlow >= 0)
		return U_INO(e->dlow, e->dlow_ino);
	if (e->top == 0 && u_get_origin(u, path, &ino) == 0)
		return ino;
	return U_INO(e->top, e->st.st_ino);
}

/* The stat the view reports for e: top's, with the union's dev and ino. */
void u_view_stat(struct u_union *u, const char *path, const struct u_ent *e,
		 struct stat *st)
{
	*st = e->st;
	st->st_dev = u->dev;
	st->st_ino = u_view_ino(u, path, e);
	if (S_ISDIR(st->st_mode) && u_popcount(e->dirs) > 1)
		st->st_nlink = 1; /* merged: as overlayfs, no leaf optimisation */
}

/* ---- permissions -------------------------------------------------------- */

bool u_is_root(void)
{
	return geteuid() == 0;
}

static bool u_in_group(gid_t gid)
{
	gid_t small[64], *g = small;
	bool in = false;
	int n;

	if (getegid() == gid)
		return true;
	n = getgroups(64, small);
	if (n < 0 && errno == EINVAL) {
		n = getgroups(0, NULL);
		g = n > 0 ? malloc((size_t)n * sizeof(*g)) : NULL;
		n = g ? getgroups(n, g) : -1;
	}
	for (int i = 0; i < n; i++)
		if (g[i] == gid)
			in = true;
	if (g != small)
		free(g);
	return in;
}

/*
 * access(2)-style check of mask (R_OK|W_OK|X_OK) against st for the
 * calling process: 0 or -EACCES.  Root passes.
 */
int u_may(const struct stat *st, int mask)
{
	uid_t uid = geteuid();
	mode_t m;

	if (uid == 0 || !mask)
		return 0;
	if (st->st_uid == uid)
		m = st->st_mode >> 6;
	else if (u_in_group(st->st_gid))
		m = st->st_mode >> 3;
	else
		m = st->st_mode;
	return ((int)m & mask & 7) == (mask & 7) ? 0 : -EACCES;
}

/*
 * May the caller add or remove the name path in its directory: write and
 * search permission on the parent as the view shows it.  Checked by the
 * union because a lower-only parent has no host directory to check it.
 */
int u_may_create(struct u_union *u, const char *path, const struct u_ent *e)
{
	char parent[PATH_MAX];
	struct u_ent pe;
	int r;

	if (u_is_root())
		return 0;
	lyr_path_split(path, parent, sizeof(parent));
	if ((r = u_find(u, parent, &pe, 0)) < 0)
		return r;
	if ((r = u_may(&pe.st, W_OK | X_OK)) < 0)
		return r;
	/* Sticky directory: only the owner of the entry or the directory. */
	if (e && e->top >= 0 && (pe.st.st_mode & S_ISVTX) &&
	    geteuid() != pe.st.st_uid && geteuid() != e->st.st_uid)
		return -EPERM;
	return 0;
}

/* ---- lookup, open, readlink --------------------------------------------- */

static int u_lookup(struct lyr_layer *l, const char *path, struct stat *st,
		    unsigned *flags)
{
	struct u_union *u = u_of(l);
	struct u_ent e;
	int r;

	if (flags)
		*flags = 0; /* the view has no whiteouts and no opaque dirs */
	if ((r = u_check_name(path, false)))
		return r;
	if ((r = u_find(u, path, &e, 0)))
		return r;
	if (st)
		u_view_stat(u, path, &e, st);
	return 0;
}

/* R_OK/W_OK an open with flags needs. */
static int u_open_mask(int flags)
{
	int acc = flags & O_ACCMODE, m = 0;

	if (flags & O_PATH)
		return 0;
	if (acc == O_RDONLY || acc == O_RDWR)
		m |= R_OK;
	if (acc == O_WRONLY || acc == O_RDWR || (flags & O_TRUNC))
		m |= W_OK;
	return m;
}

/* open(dir, O_TMPFILE): an unnamed file in the upper copy of dir. */
static int u_open_tmpfile(struct u_union *u, const char *dir, int flags,
			  mode_t mode)
{
	struct u_ent e;
	int r;

	if ((flags & O_ACCMODE) == O_RDONLY)
		return -EINVAL;
	if ((r = u_check_name(dir, false)) || (r = u_find(u, dir, &e, 0)))
		return r;
	if (!S_ISDIR(e.st.st_mode))
		return -ENOTDIR;
	if (!u_upper(u))
		return -EROFS;
	if ((r = u_may(&e.st, W_OK | X_OK)) || (r = u_copy_up_dirs(u, dir)))
		return r;
	return lyr_tmpfile(u_upper(u), dir, mode);
}

static int u_tmpfile(struct lyr_layer *l, const char *dir, mode_t mode)
{
	return u_open_tmpfile(u_of(l), dir, O_RDWR, mode);
}

/* What u_open_ent opened, for lyr_union_open_at. */
struct u_opened {
	int layer;     /* the layer the fd belongs to */
	bool changed;  /* created, copied up or truncated: e is stale */
	bool created;  /* a new upper file: it has no origin */
	bool tmpfile;  /* O_TMPFILE: path is the directory */
};

/*
 * open: an existing lower file is opened in its own layer for reading; for
 * writing (or O_TRUNC) it is copied up first (O_TRUNC: without its data)
 * and the upper copy opened.  O_CREAT of a name no layer shows creates it
 * in the upper layer; of a name that exists it opens it, never replaces it.
 * *e is the entry as found before the open, *o what the open did.
 */
static int u_open_ent(struct u_union *u, const char *path, int flags,
		      mode_t mode, struct u_ent *e, struct u_opened *o,
		      const struct u_hint *hint)
{
	bool wr = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
	bool creat = flags & O_CREAT;
	int r;

	o->layer = 0;
	o->changed = o->created = false;
	o->tmpfile = false;
	if ((flags & O_TMPFILE) == O_TMPFILE) {
		o->changed = o->tmpfile = true;
		return u_open_tmpfile(u, path, flags, mode);
	}
	if (creat && (flags & O_DIRECTORY))
		return -EINVAL; /* as Linux 6.4 and later */
	if ((r = u_check_name(path, creat)))
		return r;
	if (hint) {
		*e = hint->e;
		r = hint->res;
	} else {
		r = u_find(u, path, e, creat ? U_WANT_CREATE : 0);
	}
	if (r == -ENOENT && creat) {
		/* Made here (O_EXCL), it is known to be new; made meanwhile by
		 * a racing creator, it is opened as the kernel would. */
		o->changed = true;
		int fd = u_create(u, path, e, flags | O_EXCL, mode);
		if (fd == -EEXIST && !(flags & O_EXCL))
			return u_create(u, path, e, flags, mode);
		o->created = fd >= 0;
		return fd;
	}
	if (r < 0)
		return r;
	if (creat && (flags & O_EXCL))
		return -EEXIST;
	flags &= ~(O_CREAT | O_EXCL);
	o->layer = e->top;
	if (S_ISDIR(e->st.st_mode)) {
		if ((wr || creat) && !(flags & O_PATH))
			return -EISDIR;
		return lyr_open(u->layers[e->top], path, flags, 0);
	}
	if (flags & O_DIRECTORY)
		return -ENOTDIR;
	o->changed = (flags & O_TRUNC) && !(flags & O_PATH);
	if (e->top == 0 || !S_ISREG(e->st.st_mode) || (flags & O_PATH))
		return lyr_open(u->layers[e->top], path, flags, 0);
	if ((r = u_may(&e->st, u_open_mask(flags))))
		return r;
	if (!wr || (u->flags & LYR_UNION_WRITABLE_FILES))
		return lyr_open(u->layers[e->top], path, flags, 0);
	if (!u_upper(u))
		return -EROFS;
	o->layer = 0;
	o->changed = true;
	if ((r = u_copy_up(u, path, e, (flags & O_TRUNC) ? 0 : -1)))
		return r;
	return lyr_open(u_upper(u), path, flags, 0);
}

/*
 * The view's stat of what u_open_ent opened (fd): e's when the open left
 * it as found; else looked up again (in the upper layer alone when the
 * entry is there now), or for an unnamed file its fd's.
 */
static int u_open_stat(struct u_union *u, const char *path, const struct u_ent *e,
		       const struct u_opened *o, int fd, struct stat *st)
{
	struct u_ent ne;
	int r;

	if (!o->changed) {
		u_view_stat(u, path, e, st);
		return 0;
	}
	if (o->tmpfile) {
		if (fstat(fd, st) < 0)
			return -errno;
		st->st_dev = u->dev;
		st->st_ino = U_INO(0, st->st_ino);
		return 0;
	}
	if (o->layer != 0)
		r = u_find(u, path, &ne, 0);
	else {
		/* A regular file in the upper layer: it answers for path. */
		u_ent_init(&ne);
		ne.top = 0;
		r = lyr_lookup(u_upper(u), path, &ne.st, NULL);
		if (r == 0 && o->created) {
			/* New: no origin xattr to map its inode number by. */
			*st = ne.st;
			st->st_dev = u->dev;
			st->st_ino = U_INO(0, st->st_ino);
			return 0;
		}
	}
	if (r == -ENOENT && o->layer == 0) {
		/* Unlinked or renamed by a racing thread or process since the
		 * open: the open still succeeded, as in the kernel. */
		if (fstat(fd, st) < 0)
			return -errno;
		st->st_dev = u->dev;
		st->st_ino = U_INO(0, st->st_ino);
		return 0;
	}
	if (r < 0)
		return r;
	u_view_stat(u, path, &ne, st);
	return 0;
}

#define U_OPEN_TRIES 8 /* lookups for an O_CREAT whose name keeps vanishing */

static int u_open_at(struct u_union *u, const char *path, int flags,
		     mode_t mode, int *layer, struct stat *st,
		     const struct u_hint *hint)
{
	struct u_opened o;
	struct u_ent e;
	int fd, r;

	for (int tries = 1;; tries++) {
		u_ent_init(&e);
		fd = u_open_ent(u, path, flags, mode, &e, &o, hint);
		hint = NULL; /* a retry looks again */
		/*
		 * O_CREAT of a name that a racing thread or process removed
		 * or renamed between the lookup and the open: the kernel
		 * would create it, so look again.
		 */
		if (fd != -ENOENT || !(flags & O_CREAT) ||
		    (e.top < 0 && !e.parent_ok) || tries == U_OPEN_TRIES)
			break;
	}
	if (fd < 0)
		return fd;
	if (st && (r = u_open_stat(u, path, &e, &o, fd, st)) < 0) {
		close(fd);
		return r;
	}
	if (layer)
		*layer = o.layer;
	return fd;
}

static int u_open(struct lyr_layer *l, const char *path, int flags, mode_t mode)
{
	return u_open_at(u_of(l), path, flags, mode, NULL, NULL, NULL);
}

static ssize_t u_readlink(struct lyr_layer *l, const char *path, char *buf,
			  size_t size)
{
	struct u_union *u = u_of(l);
	struct u_ent e;
	int r;

	if ((r = u_check_name(path, false)) || (r = u_find(u, path, &e, 0)))
		return r;
	if (!S_ISLNK(e.st.st_mode))
		return -EINVAL;
	return lyr_readlink(u->layers[e.top], path, buf, size);
}

/* ---- one-pass resolution ------------------------------------------------ */

#define U_MAXSYMLINKS 40 /* as Linux, and lyr_resolve */

/*
 * What u_resolve carries down the path: the resolved prefix (done, of
 * depth components), what is left (todo: the caller's path until a
 * symlink body is spliced in, then tbuf), and for every depth the layers
 * merged into that directory, so that the next component is asked only
 * of those, and ".." or a relative symlink goes back up without a lookup.
 * done is the caller's out buffer when that is big enough: a resolution
 * allocates nothing unless it follows a symlink.
 */
struct u_rw {
	char *done;        /* PATH_MAX bytes */
	size_t dlen;
	const char *todo;
	char *tbuf;        /* PATH_MAX bytes, from the first splice on */
	int links;
	size_t depth;
	uint64_t *masks;   /* masks[i]: the directory of done's first i components */
	size_t cap;
	uint64_t inl[32];  /* masks' first slots, in place */
};

/* Room in masks for n more levels below depth. */
static int u_rw_reserve(struct u_rw *w, size_t n)
{
	if (w->depth + n < w->cap)
		return 0;
	size_t cap = w->cap * 2;
	while (w->depth + n >= cap)
		cap *= 2;
	uint64_t *nm = malloc(cap * sizeof(*nm));
	if (!nm)
		return -ENOMEM;
	memcpy(nm, w->masks, w->cap * sizeof(*nm));
	if (w->masks != w->inl)
		free(w->masks);
	w->masks = nm;
	w->cap = cap;
	return 0;
}

/* Pushes the mask of the directory one level down (depth + 1). */
static inline int u_rw_down(struct u_rw *w, uint64_t m)
{
	if (__builtin_expect(w->depth + 1 >= w->cap, 0) && u_rw_reserve(w, 1) < 0)
		return -ENOMEM;
	w->masks[++w->depth] = m;
	return 0;
}

/* ".." in done: drops its last component (the root stays the root). */
static void u_rw_up(struct u_rw *w)
{
	char *slash = memrchr(w->done, '/', w->dlen);

	if (!w->depth)
		return;
	w->dlen = slash ? (size_t)(slash - w->done) : 0;
	w->done[w->dlen] = '\0';
	w->depth--;
}

/* Appends component c (n bytes) to done: 0 or -ENAMETOOLONG. */
static int u_rw_push(struct u_rw *w, const char *c, size_t n)
{
	if (n > NAME_MAX || w->dlen + (w->dlen ? 1 : 0) + n + 1 > PATH_MAX)
		return -ENAMETOOLONG;
	if (w->dlen)
		w->done[w->dlen++] = '/';
	memcpy(w->done + w->dlen, c, n);
	w->dlen += n;
	w->done[w->dlen] = '\0';
	return 0;
}

/* todo = target + "/" + rest (rest points into todo), in tbuf. */
static int u_rw_splice(struct u_rw *w, const char *target, size_t tlen,
		       const char *rest)
{
	char tmp[PATH_MAX];
	size_t rlen = strlen(rest);

	if (tlen + 1 + rlen + 1 > sizeof(tmp))
		return -ENAMETOOLONG;
	if (!w->tbuf && !(w->tbuf = malloc(PATH_MAX)))
		return -ENOMEM;
	memcpy(tmp, target, tlen);
	tmp[tlen] = '/';
	memcpy(tmp + tlen + 1, rest, rlen + 1);
	memcpy(w->tbuf, tmp, tlen + 1 + rlen + 1);
	w->todo = w->tbuf;
	return 0;
}

/* todo, a host path now, into out (trailing slashes dropped). */
static int u_rw_escape(struct u_rw *w, char *out, size_t size)
{
	size_t n = strlen(w->todo);

	while (n > 1 && w->todo[n - 1] == '/')
		n--;
	if (n + 1 > size)
		return -ENAMETOOLONG;
	memmove(out, w->todo, n);
	out[n] = '\0';
	return LYR_RESOLVE_ESCAPED;
}

/*
 * Is p (the rest of todo) a plain relative path: at least two components,
 * none empty, ".", "..", over NAME_MAX or starting with ".wh."?  Then
 * *len is its length without trailing slashes.
 */
static bool u_rw_plain(const char *p, size_t *len)
{
	const char *q = p;
	int comps = 0;

	for (;;) {
		const char *end = strchrnul(q, '/');
		size_t n = (size_t)(end - q);
		if (!n || n > NAME_MAX || (q[0] == '.' && (n == 1 || (n == 2 && q[1] == '.'))) ||
		    (n >= 4 && !memcmp(q, ".wh.", 4)))
			return false;
		comps++;
		*len = (size_t)(end - p);
		if (!*end)
			break;
		q = end + 1;
		if (*q == '/') {
			/* "//" is fine only among the trailing slashes. */
			while (*q == '/')
				q++;
			if (*q)
				return false;
			break;
		}
		if (!*q)
			break;
	}
	return comps >= 2;
}

/*
 * Below a directory only layer k merges into, the rest of the path (plain,
 * len bytes at p) is one lookup in k: its success means every component
 * but the last is a directory of k (a layer follows no symlink and says
 * -ENOTDIR for a non-directory), so the view shows k's entries all the
 * way.  Then done and depth move over the directories, done takes the
 * last component too (*saved: done's length before it), and *res is 0
 * with its entry in *e, or -ENOENT when only it is missing.  Returns false
 * (done and depth unchanged) when the walk must go component by component.
 */
static bool u_rw_rest(struct u_union *u, struct u_rw *w, int k, const char *p,
		      size_t len, size_t *saved, struct u_ent *e, int *res)
{
	struct lyr_layer *l = u->layers[k];
	size_t start = w->dlen, depth = w->depth;
	size_t need = start + (start ? 1 : 0) + len;
	struct stat pst;
	int r;

	if (need + 1 > PATH_MAX)
		return false;
	if (start)
		w->done[w->dlen++] = '/';
	memcpy(w->done + w->dlen, p, len);
	w->dlen = need;
	w->done[need] = '\0';
	size_t cut = (size_t)((char *)memrchr(w->done + start, '/', need - start) - w->done);
	u_ent_init(e);
	r = lyr_lookup(l, w->done, &e->st, NULL);
	if (r == -ENOENT) {
		/* Missing: only the last component, when its parent is there. */
		w->done[cut] = '\0';
		int pr = lyr_lookup(l, w->done, &pst, NULL);
		w->done[cut] = '/';
		if (pr < 0 || !S_ISDIR(pst.st_mode))
			goto out_undo;
	} else if (r < 0) {
		goto out_undo;
	}
	/* Every directory before the last component merges k alone (p is
	 * plain: one '/' between components). */
	size_t ndirs = 0;
	for (const char *q = memchr(p, '/', len); q;
	     q = memchr(q + 1, '/', len - (size_t)(q + 1 - p)))
		ndirs++;
	if (ndirs && u_rw_reserve(w, ndirs) < 0)
		goto out_undo;
	for (size_t i = 0; i < ndirs; i++)
		w->masks[++w->depth] = U_BIT(k);
	*saved = cut;
	*res = r;
	if (r == 0) {
		e->top = k;
		if (S_ISDIR(e->st.st_mode)) {
			e->dirs = U_BIT(k);
			if (k > 0) {
				e->dlow = k;
				e->dlow_ino = e->st.st_ino;
			}
		}
	}
	return true;
out_undo:
	w->dlen = start;
	w->done[start] = '\0';
	w->depth = depth;
	return false;
}

/*
 * The next component (n bytes at p; rest: what follows it) below done:
 * appended to done (*saved: done's length before it), its entry in *e.
 * *last may become true when the whole rest was taken at once.  Returns 0
 * or -errno (-ENOENT: the component is missing).
 */
static int u_rw_next(struct u_union *u, struct u_rw *w, const char *p, size_t n,
		     const char **rest, bool *last, size_t *saved, struct u_ent *e)
{
	uint64_t m = w->masks[w->depth];
	size_t len;
	int r;

	*saved = w->dlen;
	if (!*last && u_popcount(m) == 1 && u_rw_plain(p, &len) &&
	    u_rw_rest(u, w, u_first(m), p, len, saved, e, &r)) {
		*rest = p + strlen(p);
		*last = true;
		return r;
	}
	if ((r = u_rw_push(w, p, n)))
		return r;
	u_ent_init(e);
	if (n >= 4 && !memcmp(p, ".wh.", 4))
		return -ENOENT; /* such names do not exist in the view */
	return u_level(u, m, w->done, e);
}

/* Follows the symlink e at done (the link's directory: done[0..saved)). */
static int u_rw_link(struct u_union *u, struct u_rw *w, const struct u_ent *e,
		     size_t saved, const char *rest, const char *root,
		     size_t rootlen, char *out, size_t size)
{
	char target[PATH_MAX];
	ssize_t tl;

	if (++w->links > U_MAXSYMLINKS)
		return -ELOOP;
	tl = lyr_readlink(u->layers[e->top], w->done, target, sizeof(target));
	if (tl < 0)
		return (int)tl;
	if (tl == 0)
		return -ENOENT;
	w->dlen = saved;
	w->done[saved] = '\0';
	const char *t = target;
	size_t tlen = (size_t)tl;
	if (t[0] == '/') {
		if (root && !(strncmp(t, root, rootlen) == 0 &&
			      (tlen == rootlen || t[rootlen] == '/' || rootlen == 1))) {
			/* Leaves the layer: hand the host path back. */
			int r = u_rw_splice(w, t, tlen, rest);
			return r < 0 ? r : u_rw_escape(w, out, size);
		}
		if (root) {
			t += rootlen;
			tlen -= rootlen;
		}
		w->dlen = 0;
		w->done[0] = '\0';
		w->depth = 0;
	}
	return u_rw_splice(w, t, tlen, rest);
}

/*
 * The resolve member (layer.h): lyr_resolve's walk in one pass.  Each
 * component is asked only of the layers merged into its directory (so a
 * lower-only subtree never asks the upper layer again), a subtree one
 * layer alone shows is resolved with one lookup, and the last entry's
 * view stat comes with the path.
 */
static int u_resolve(struct lyr_layer *l, const char *path, unsigned flags,
		     const char *root, char *out, size_t size, struct stat *st)
{
	struct u_union *u = u_of(l);
	size_t rootlen = root ? strlen(root) : 0;
	size_t pathlen = strlen(path);
	bool have = false; /* e describes done */
	struct u_rw rw, *w = &rw;
	struct u_ent e;
	int r;

	if (pathlen >= PATH_MAX)
		return -ENAMETOOLONG;
	/* done in out, unless out is small or overlaps path. */
	if (size >= PATH_MAX && ((uintptr_t)out + size <= (uintptr_t)path ||
				 (uintptr_t)path + pathlen < (uintptr_t)out))
		w->done = out;
	else if (!(w->done = malloc(PATH_MAX)))
		return -ENOMEM;
	w->done[0] = '\0';
	w->dlen = 0;
	w->todo = path;
	w->tbuf = NULL;
	w->links = 0;
	w->depth = 0;
	w->masks = w->inl;
	w->cap = sizeof(w->inl) / sizeof(w->inl[0]);
	w->masks[0] = u->root_mask;
	while (rootlen > 1 && root[rootlen - 1] == '/')
		rootlen--;

	const char *p = w->todo;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *end = strchrnul(p, '/');
		size_t n = (size_t)(end - p), saved;
		const char *rest = *end ? end + 1 : end;
		bool last = true, dotdot = n == 2 && p[0] == '.' && p[1] == '.';
		for (const char *q = rest; *q; q++)
			if (*q != '/') {
				last = false;
				break;
			}

		if (dotdot && w->dlen == 0 && root && rootlen > 1) {
			/* ".." at the mount point leads to the host directory above. */
			const char *slash = memrchr(root, '/', rootlen);
			size_t plen = slash && slash != root ? (size_t)(slash - root) : 1;
			r = u_rw_splice(w, root, plen, rest);
			if (r == 0)
				r = u_rw_escape(w, out, size);
			goto out_free;
		}
		if (dotdot || (n == 1 && p[0] == '.')) {
			if (dotdot) {
				u_rw_up(w);
				have = false;
			}
			p = rest;
			continue;
		}
		have = false;
		r = u_rw_next(u, w, p, n, &rest, &last, &saved, &e);
		if (r == -ENOENT && last) {
			r = LYR_RESOLVE_MISSING; /* creatable */
			goto out_copy;
		}
		if (r < 0)
			goto out_free;
		if (S_ISLNK(e.st.st_mode) && (!last || (flags & LYR_RESOLVE_FOLLOW))) {
			r = u_rw_link(u, w, &e, saved, rest, root, rootlen, out, size);
			if (r)
				goto out_free;
			p = w->todo;
			continue;
		}
		if (!last && !S_ISDIR(e.st.st_mode)) {
			r = -ENOTDIR;
			goto out_free;
		}
		if ((r = u_rw_down(w, e.dirs)) < 0)
			goto out_free;
		have = true;
		p = rest;
	}
	/* Ended in "." or "..": done is a directory met on the way; ask it. */
	if (!have) {
		u_ent_init(&e);
		r = u_level(u, w->depth ? w->masks[w->depth - 1] : u->root_mask,
			    w->done, &e);
		if (r < 0)
			goto out_free;
	}
	r = 0;
out_copy:
	if (r == 0)
		u_view_stat(u, w->done, &e, st);
	u_hint_stale();
	u_hint.u = NULL;
	if ((r == 0 || r == LYR_RESOLVE_MISSING) && w->dlen < sizeof(u_hint.path)) {
		/* What an open of this path right after would look up. */
		u_hint.u = u;
		u_hint.seq = u_hint_seq;
		u_hint.res = r == 0 ? 0 : -ENOENT;
		u_hint.e = e;
		if (r != 0) {
			u_hint.e.top = -1;
			u_hint.e.parent_ok = true;
		}
		memcpy(u_hint.path, w->done, w->dlen + 1);
	}
	if (w->done != out) {
		if (w->dlen + 1 > size)
			r = -ENAMETOOLONG;
		else
			memcpy(out, w->done, w->dlen + 1);
	}
out_free:
	if (w->masks != w->inl)
		free(w->masks);
	if (w->done != out)
		free(w->done);
	free(w->tbuf);
	return r;
}

/* ---- attributes --------------------------------------------------------- */

/*
 * The layer a change to existing entry e (its data, metadata or xattrs)
 * goes to: the upper layer, after a copy-up when e is below (len: bytes of
 * data the copy needs, -1 for all), or under writable-files semantics the
 * lower layer of a regular file.  Returns the layer index or -errno.
 */
static int u_change_target(struct u_union *u, const char *path,
			   const struct u_ent *e, off_t len)
{
	int r;

	if (e->top == 0)
		return 0;
	if ((u->flags & LYR_UNION_WRITABLE_FILES) && S_ISREG(e->st.st_mode))
		return e->top;
	if (!u_upper(u))
		return -EROFS;
	r = u_copy_up(u, path, e, len);
	return r < 0 ? r : 0;
}

/* Resolves an existing path for a change: name check and lookup. */
static int u_find_existing(struct u_union *u, const char *path, struct u_ent *e)
{
	int r = u_check_name(path, false);

	return r ? r : u_find(u, path, e, 0);
}

/*
 * u_find_existing, then -EROFS when e cannot change at all (no upper
 * layer, and not a file changed in place): a read-only mount says so
 * before it checks permissions.
 */
static int u_find_changeable(struct u_union *u, const char *path, struct u_ent *e)
{
	int r = u_find_existing(u, path, e);

	if (r)
		return r;
	if (!u_upper(u) && !((u->flags & LYR_UNION_WRITABLE_FILES) &&
			     S_ISREG(e->st.st_mode)))
		return -EROFS;
	return 0;
}

static int u_chmod(struct lyr_layer *l, const char *path, mode_t mode)
{
	struct u_union *u = u_of(l);
	struct u_ent e;
	int r, k;

	if ((r = u_find_changeable(u, path, &e)))
		return r;
	if (S_ISLNK(e.st.st_mode))
		return -EOPNOTSUPP; /* as fchmodat(AT_SYMLINK_NOFOLLOW) */
	if (!u_is_root() && geteuid() != e.st.st_uid)
		return -EPERM;
	if ((k = u_change_target(u, path, &e, -1)) < 0)
		return k;
	return lyr_chmod(u->layers[k], path, mode);
}

static int u_chown(struct lyr_layer *l, const char *path, uid_t uid, gid_t gid)
{
	struct u_union *u = u_of(l);
	struct u_ent e;
	int r, k;

	if ((r = u_find_changeable(u, path, &e)))
		return r;
	if (!u_is_root()) {
		bool owner = geteuid() == e.st.st_uid;
		if (uid != (uid_t)-1 && (!owner || uid != e.st.st_uid))
			return -EPERM;
		if (gid != (gid_t)-1 && gid != e.st.st_gid &&
		    (!owner || !u_in_group(gid)))
			return -EPERM;
	}
	if (uid == (uid_t)-1 && gid == (gid_t)-1)
		return u_upper(u) ? 0 : -EROFS;
	if ((k = u_change_target(u, path, &e, -1)) < 0)
		return k;
	return lyr_chown(u->layers[k], path, uid, gid);
}

static bool u_nsec_ok(long ns)
{
	return ns == UTIME_NOW || ns == UTIME_OMIT || (ns >= 0 && ns < 1000000000L);
}

static int u_utimens(struct lyr_layer *l, const char *path,
		     const struct timespec ts[2])
{
	struct u_union *u = u_of(l);
	static const struct timespec now[2] = { { 0, UTIME_NOW }, { 0, UTIME_NOW } };
	struct u_ent e;
	int r, k;

	if (!ts)
		ts = now;
	if (!u_nsec_ok(ts[0].tv_nsec) || !u_nsec_ok(ts[1].tv_nsec))
		return -EINVAL;
	if ((r = u_find_changeable(u, path, &e)))
		return r;
	if (ts[0].tv_nsec == UTIME_OMIT && ts[1].tv_nsec == UTIME_OMIT)
		return 0;
	if (!u_is_root() && geteuid() != e.st.st_uid) {
		bool to_now = (ts[0].tv_nsec == UTIME_NOW || ts[0].tv_nsec == UTIME_OMIT) &&
			      (ts[1].tv_nsec == UTIME_NOW || ts[1].tv_nsec == UTIME_OMIT);
		if (!to_now)
			return -EPERM;
		if ((r = u_may(&e.st, W_OK)))
			return r;
	}
	if ((k = u_change_target(u, path, &e, -1)) < 0)
		return k;
	return lyr_utimens(u->layers[k], path, ts);
}

/* truncate keeps the first length bytes: only those are copied up. */
static int u_truncate(struct lyr_layer *l, const char *path, off_t length)
{
	struct u_union *u = u_of(l);
	struct u_ent e;
	int r, k;

	if (length < 0)
		return -EINVAL;
	if ((r = u_find_existing(u, path, &e)))
		return r;
	if (S_ISDIR(e.st.st_mode))
		return -EISDIR;
	if (!S_ISREG(e.st.st_mode))
		return -EINVAL;
	if ((r = u_may(&e.st, W_OK)))
		return r;
	k = u_change_target(u, path, &e, length < e.st.st_size ? length : e.st.st_size);
	if (k < 0)
		return k;
	return lyr_truncate(u->layers[k], path, length);
}

/* ---- xattrs ------------------------------------------------------------- */

static ssize_t u_getxattr(struct lyr_layer *l, const char *path,
			  const char *name, void *buf, size_t size)
{
	struct u_union *u = u_of(l);
	struct u_ent e;
	int r;

	if ((r = u_find_existing(u, path, &e)))
		return r;
	if (u_is_private_xattr(name))
		return -ENODATA;
	return lyr_getxattr(u->layers[e.top], path, name, buf, size);
}

/* Drops the private names from a listxattr list of n bytes; new length. */
static size_t u_filter_xattrs(char *list, size_t n)
{
	size_t out = 0;

	for (size_t i = 0; i < n;) {
		size_t len = strnlen(list + i, n - i) + 1;
		if (!u_is_private_xattr(list + i)) {
			memmove(list + out, list + i, len);
			out += len;
		}
		i += len;
	}
	return out;
}

static ssize_t u_listxattr(struct lyr_layer *l, const char *path, char *buf,
			   size_t size)
{
	struct u_union *u = u_of(l);
	struct lyr_layer *top;
	struct u_ent e;
	ssize_t n;
	int r;

	if ((r = u_find_existing(u, path, &e)))
		return r;
	top = u->layers[e.top];
	/* The full list first (it holds the names we hide), then filtered. */
	for (int tries = 0; tries < 8; tries++) {
		n = lyr_listxattr(top, path, NULL, 0);
		if (n <= 0)
			return n;
		char *list = malloc((size_t)n);
		if (!list)
			return -ENOMEM;
		ssize_t got = lyr_listxattr(top, path, list, (size_t)n);
		if (got == -ERANGE) {
			free(list);
			continue; /* it grew meanwhile */
		}
		if (got < 0) {
			free(list);
			return got;
		}
		size_t len = u_filter_xattrs(list, (size_t)got);
		if (size && len > size)
			got = -ERANGE;
		else {
			if (size)
				memcpy(buf, list, len);
			got = (ssize_t)len;
		}
		free(list);
		return got;
	}
	return -ERANGE;
}

/* May the caller change xattr name of e (the user.* rules of xattr(7)). */
static int u_may_xattr(const struct u_ent *e, const char *name)
{
	if (strncmp(name, "user.", 5))
		return 0; /* other namespaces: the backend decides */
	if (!S_ISREG(e->st.st_mode) && !S_ISDIR(e->st.st_mode))
		return -EPERM;
	return u_may(&e->st, W_OK);
}

static int u_setxattr(struct lyr_layer *l, const char *path, const char *name,
		      const void *value, size_t size, int flags)
{
	struct u_union *u = u_of(l);
	struct u_ent e;
	int r, k;

	if ((r = u_find_changeable(u, path, &e)))
		return r;
	if (u_is_private_xattr(name))
		return -ENOTSUP;
	if ((r = u_may_xattr(&e, name)))
		return r;
	if ((k = u_change_target(u, path, &e, -1)) < 0)
		return k;
	return lyr_setxattr(u->layers[k], path, name, value, size, flags);
}

static int u_removexattr(struct lyr_layer *l, const char *path, const char *name)
{
	struct u_union *u = u_of(l);
	struct u_ent e;
	ssize_t n;
	int r, k;

	if ((r = u_find_changeable(u, path, &e)))
		return r;
	if (u_is_private_xattr(name))
		return -ENOTSUP;
	if ((r = u_may_xattr(&e, name)))
		return r;
	/* Nothing to remove: say so without copying anything up. */
	n = lyr_getxattr(u->layers[e.top], path, name, NULL, 0);
	if (n < 0)
		return (int)n;
	if ((k = u_change_target(u, path, &e, -1)) < 0)
		return k;
	return lyr_removexattr(u->layers[k], path, name);
}

static int u_statfs(struct lyr_layer *l, struct statvfs *sv)
{
	struct u_union *u = u_of(l);

	return lyr_statfs(u->layers[u_upper(u) ? 0 : 1], sv);
}

/* A name of an upper file by its fd (layer.h): the upper layer's own. */
static int u_fd_name(struct lyr_layer *l, int fd, char *buf, size_t size)
{
	struct u_union *u = u_of(l);

	return u_upper(u) ? lyr_fd_name(u_upper(u), fd, buf, size) : -ENOSYS;
}

/* ---- constructor -------------------------------------------------------- */

static void u_destroy(struct lyr_layer *l)
{
	struct u_union *u = u_of(l);

	for (size_t k = 0; k < u->n; k++)
		lyr_destroy(u->layers[k]);
	free(u->layers);
	free(u);
}

static const struct lyr_layer_ops u_ops = {
	.version = LYR_OPS_VERSION,
	.name = "union",
	.lookup = u_lookup,
	.open = u_open,
	.readdir = u_readdir,
	.readlink = u_readlink,
	.mkdir = u_mkdir,
	.mknod = u_mknod,
	.symlink = u_symlink,
	.link = u_link,
	.unlink = u_unlink,
	.rmdir = u_rmdir,
	.rename = u_rename,
	.chmod = u_chmod,
	.chown = u_chown,
	.utimens = u_utimens,
	.truncate = u_truncate,
	/* whiteout, set_opaque: the view has neither (a union is no upper). */
	.statfs = u_statfs,
	.getxattr = u_getxattr,
	.listxattr = u_listxattr,
	.setxattr = u_setxattr,
	.removexattr = u_removexattr,
	.tmpfile = u_tmpfile,
	.link_tmp = u_link_tmp,
	.destroy = u_destroy,
	.resolve = u_resolve,
	.fd_name = u_fd_name,
};

static void u_destroy_all(struct lyr_layer *upper, struct lyr_layer *const *lowers,
			  size_t nlower)
{
	lyr_destroy(upper);
	for (size_t i = 0; lowers && i < nlower; i++)
		lyr_destroy(lowers[i]);
}

/* Which layers the root merges: every root down to the first opaque one. */
static int u_root_mask(struct u_union *u, struct lyr_error *err)
{
	for (size_t k = 0; k < u->n; k++) {
		struct stat st;
		unsigned fl;
		int r;

		if (!u->layers[k])
			continue;
		r = u_lookup_in(u, (int)k, "", &st, &fl);
		if (r < 0)
			return lyr_seterr(err, -r, "union: layer %zu (%s): root: %s", k,
					  u->layers[k]->ops->name, strerror(-r));
		if (!S_ISDIR(st.st_mode) || (fl & LYR_WHITEOUT))
			return lyr_seterr(err, ENOTDIR,
					  "union: layer %zu (%s): root is not a directory",
					  k, u->layers[k]->ops->name);
		u->root_mask |= U_BIT(k);
		if (fl & LYR_OPAQUE)
			break;
	}
	return 0;
}

/*
 * Stacks upper over lowers (see layerfs.h).  At most U_MAX_LAYERS - 1
 * lowers (-EINVAL beyond); every layer's root must be a directory.  Takes
 * ownership of every layer, also on failure.
 */
int lyr_union_open(struct lyr_layer *upper, struct lyr_layer *const *lowers,
		   size_t nlower, const struct lyr_union_opts *opts,
		   struct lyr_layer **out, struct lyr_error *err)
{
	struct u_union *u;
	int r;

	*out = NULL;
	if (!upper && !nlower) {
		r = lyr_seterr(err, EINVAL, "union: no layers");
		goto out_layers;
	}
	if (nlower >= U_MAX_LAYERS) {
		r = lyr_seterr(err, EINVAL, "union: %zu lower layers (at most %d)",
			       nlower, U_MAX_LAYERS - 1);
		goto out_layers;
	}
	for (size_t i = 0; i < nlower; i++)
		if (!lowers[i]) {
			r = lyr_seterr(err, EINVAL, "union: lower layer %zu is NULL", i);
			goto out_layers;
		}
	if (opts && (opts->flags & ~LYR_UNION_WRITABLE_FILES)) {
		r = lyr_seterr(err, EINVAL, "union: unknown flags %#x", opts->flags);
		goto out_layers;
	}
	u = calloc(1, sizeof(*u));
	if (!u || !(u->layers = calloc(nlower + 1, sizeof(*u->layers)))) {
		free(u);
		r = lyr_seterr(err, ENOMEM, "union: out of memory");
		goto out_layers;
	}
	u->base.ops = &u_ops;
	u->base.flags = upper ? 0 : LYR_LAYER_RDONLY;
	u->n = nlower + 1;
	u->layers[0] = upper;
	for (size_t i = 0; i < nlower; i++)
		u->layers[i + 1] = lowers[i];
	if (opts) {
		u->flags = opts->flags;
		u->copied_up = opts->copied_up;
		u->copied_up_ctx = opts->copied_up_ctx;
		u->dev = opts->dev;
	}
	if (!u->dev)
		u->dev = U_DEFAULT_DEV;
	if ((r = u_root_mask(u, err)) < 0) {
		u_destroy(&u->base);
		return r;
	}
	*out = &u->base;
	return 0;

out_layers:
	u_destroy_all(upper, lowers, nlower);
	return r;
}

/*
 * lyr_open on union l, also giving the fd's layer and the view's stat of
 * what was opened (see layerfs.h).  Checks the flags as lyr_open does.
 */
int lyr_union_open_at(struct lyr_layer *l, const char *path, int flags,
		      mode_t mode, int *layer, struct stat *st)
{
	if (!l || l->ops != &u_ops || !path)
		return -EINVAL;
	if ((flags & O_CREAT) && (flags & O_DIRECTORY))
		return -EINVAL;
	return u_open_at(u_of(l), path, flags, mode, layer, st, NULL);
}

/*
 * lyr_union_open_at for a path the calling thread has just resolved with
 * lyr_resolve_stat on l (its out path, no other call on l in between):
 * the open starts from the entry the resolution found instead of looking
 * it up again.  Without such a resolution it is lyr_union_open_at.
 */
int lyr_union_open_resolved(struct lyr_layer *l, const char *path, int flags,
			    mode_t mode, int *layer, struct stat *st)
{
	const struct u_hint *hint = &u_hint;

	if (!l || l->ops != &u_ops || !path)
		return -EINVAL;
	if ((flags & O_CREAT) && (flags & O_DIRECTORY))
		return -EINVAL;
	if (hint->u != u_of(l) || hint->seq != u_hint_seq || strcmp(hint->path, path))
		hint = NULL;
	u_hint.u = NULL;
	return u_open_at(u_of(l), path, flags, mode, layer, st, hint);
}

/*
 * Which layer answers for path in union l: 0 upper, 1..n the lowers;
 * -ENOENT / -ENOTDIR when path does not resolve, -EINVAL when l is not a
 * union.
 */
int lyr_union_which(struct lyr_layer *l, const char *path)
{
	struct u_union *u;
	struct u_ent e;
	int r;

	if (!l || l->ops != &u_ops || !path)
		return -EINVAL;
	u = u_of(l);
	if ((r = u_find_existing(u, path, &e)))
		return r;
	return e.top;
}
