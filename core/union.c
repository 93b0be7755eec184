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
 * resolve member, u_resolve_found) is one such walk that also follows symlinks,
 * instead of a walk per prefix.  Nothing about the upper layer is cached:
 * other processes change it.
 *
 * Files, along overlayfs's lines: union.c (this one: helpers, open and
 * readlink, the constructor and the ops table), union_lookup.c (namei:
 * resolution and inode numbers), union_attr.c (inode: permissions,
 * attributes, xattrs), union_dir.c (dir and readdir), copy_up.c.
 *
 * Divisions: helpers, found entries, lookup, open, readlink, constructor.
 */
#define _GNU_SOURCE
#include "union.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
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

	if (!strstr(path, LYR_WH_PREFIX))
		return 0;
	while (*p) {
		const char *end = strchrnul(p, '/');
		if (end - p >= LYR_WH_PREFIX_LEN && !memcmp(p, LYR_WH_PREFIX, LYR_WH_PREFIX_LEN))
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

int u_lookup_in(struct u_union *u, int k, const char *path,
		       struct stat *st, unsigned *fl)
{
	*fl = 0;
	return lyr_lookup(u->layers[k], path, st, fl);
}

void u_ent_init(struct u_ent *e)
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
/* ---- found entries ------------------------------------------------------ */

_Static_assert(sizeof(struct u_ent) <= sizeof(((struct lyr_found *)0)->priv),
	       "lyr_found.priv holds a struct u_ent");

/* Records e (NULL: the last component is missing) in f, with its view stat. */
void u_found_set(struct u_union *u, struct lyr_found *f, const struct u_ent *e)
{
	struct u_ent missing;

	if (!e) {
		u_ent_init(&missing);
		missing.parent_ok = true;
		e = &missing;
	} else {
		u_view_stat(u, f->path, e, &f->st);
	}
	memcpy(f->priv, e, sizeof(*e));
}

/* The entry f records: 0, or -ENOENT when only its last component is missing. */
int u_found_get(const struct lyr_found *f, struct u_ent *e)
{
	memcpy(e, f->priv, sizeof(*e));
	return f->res == 0 ? 0 : -ENOENT;
}

/* The resolve member (layer.h): u_resolve_found, for path and stat. */
static int u_resolve(struct lyr_layer *l, const char *path, unsigned flags,
		     const char *root, char *out, size_t size, struct stat *st)
{
	struct lyr_found *f = malloc(sizeof(*f));
	int r;

	if (!f)
		return -ENOMEM;
	r = u_resolve_found(u_of(l), path, flags, root, f);
	if (r == 0 || r == LYR_RESOLVE_MISSING || r == LYR_RESOLVE_ESCAPED) {
		size_t n = strlen(f->path);
		if (n + 1 > size)
			r = -ENAMETOOLONG;
		else
			memcpy(out, f->path, n + 1);
		if (r == 0)
			*st = f->st;
	}
	free(f);
	return r;
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
	if ((r = lyr_may_access(&e.st, W_OK | X_OK, true)) || (r = u_copy_up_dirs(u, dir)))
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
		      const struct lyr_found *found)
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
	/* As Linux 6.4 and later (the dispatcher's rule too: the union's own
	 * entry points, lyr_union_open_at and _found, come here without it). */
	if (creat && (flags & O_DIRECTORY))
		return -EINVAL;
	if ((r = u_check_name(path, creat)))
		return r;
	if (found) {
		r = u_found_get(found, e);
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
	if ((r = lyr_may_access(&e->st, u_open_mask(flags), true)))
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
		     const struct lyr_found *found)
{
	struct u_opened o;
	struct u_ent e;
	int fd, r;

	/* As Linux: O_PATH ignores every flag but these (O_TRUNC included). */
	if (flags & O_PATH)
		flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	for (int tries = 1;; tries++) {
		u_ent_init(&e);
		fd = u_open_ent(u, path, flags, mode, &e, &o, found);
		found = NULL; /* a retry looks again */
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
	.lock_fd = u_lock_fd,
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
	static _Atomic uint64_t serials;
	u->serial = atomic_fetch_add(&serials, 1) + 1;
	uint64_t g;
	u->stable = !upper || lyr_host_gen(upper, &g);
	for (size_t i = 0; i < nlower; i++)
		if (!lowers[i]->ops->name || strcmp(lowers[i]->ops->name, "archive"))
			u->stable = false;
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
 * A token that moves whenever an answer of a lookup in u may have: for a
 * union whose lowers are all archives (which never change under a layer)
 * and whose upper, if any, is a host directory that keeps a change
 * counter (LYR_HOST_UPPER), that counter.  false for any other union:
 * there, what was found must be asked again every time.
 */
bool u_change_token(struct u_union *u, uint64_t *tok)
{
	if (!u->stable)
		return false;
	*tok = 0;
	return !u->layers[0] || lyr_host_gen(u->layers[0], tok);
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
	return u_open_at(u_of(l), path, flags, mode, layer, st, NULL);
}

/*
 * lyr_union_open_at on what a resolution found (see layerfs.h): the open
 * starts from that entry instead of looking it up again.
 */
int lyr_union_open_found(struct lyr_layer *l, const struct lyr_found *f, int flags,
			 mode_t mode, int *layer, struct stat *st)
{
	if (!l || l->ops != &u_ops || !f || (f->res != 0 && f->res != LYR_RESOLVE_MISSING))
		return -EINVAL;
	return u_open_at(u_of(l), f->path, flags, mode, layer, st, f);
}

/*
 * lyr_resolve_stat on union l, keeping what it found for the call that
 * follows (see layerfs.h).
 */
int lyr_resolve_found(struct lyr_layer *l, const char *path, unsigned flags,
		      const char *root, struct lyr_found *f)
{
	if (!l || l->ops != &u_ops || !path)
		return -EINVAL;
	return u_resolve_found(u_of(l), path, flags, root, f);
}

/*
 * Which layer answers for path in union l: 0 upper, 1..n the lowers;
 * -ENOENT / -ENOTDIR when path does not resolve, -EINVAL when l is not a
 * union.
 */
int lyr_union_copy_up(struct lyr_layer *l, const char *path)
{
	struct u_ent e;
	int r;

	if (!l || l->ops != &u_ops || !path)
		return -EINVAL;
	struct u_union *u = u_of(l);
	if ((r = u_find_changeable(u, path, &e)))
		return r;
	if (!S_ISDIR(e.st.st_mode))
		return -ENOTDIR;
	if (e.top == 0)
		return 0;
	if (!u_upper(u))
		return -EROFS;
	r = u_copy_up(u, path, &e, -1);
	return r < 0 ? r : 0;
}

void lyr_union_changed(struct lyr_layer *l)
{
	if (l && l->ops == &u_ops)
		lyr_host_changed(u_upper(u_of(l)));
}

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
