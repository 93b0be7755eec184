/* SPDX-License-Identifier: MIT */
/*
 * union_dir.c - the layered union's directory operations: the readdir
 * merge, creation (open O_CREAT, mkdir, mknod, symlink, link), removal
 * (unlink, rmdir) and rename.
 *
 * Readdir: "." and "..", then every visible name once.  A name is decided
 * by the topmost merged layer listing it (a whiteout there hides it); names
 * are emitted bottom-most layer first, each layer in its own order, so a
 * copy-up does not move a name and the order is stable while the directory
 * is unchanged.  d_ino is what lookup reports for the name.
 *
 * Removal leaves a whiteout only where a lower entry would otherwise show
 * through, so removing an upper-only name leaves nothing behind (a later
 * mkdir of it sees no stale whiteout).  mkdir over a deleted lower
 * directory makes the new directory opaque: the old contents stay gone.
 *
 * Rename: a lower file is copied up and renamed in the upper layer; a
 * directory with lower parts is copied up whole, made opaque and renamed.
 * Then a whiteout goes where the source was if a lower entry would show
 * there.  Each step leaves a consistent view: a crash between them leaves
 * at worst the old and the new name both visible, never data lost.
 */
#define _GNU_SOURCE
#include "union.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stdint.h>

/* ---- readdir ------------------------------------------------------------ */

/* One name of the merge. */
struct u_name {
	const char *name;   /* in the listing of the deciding layer */
	size_t ei;          /* entry there */
	uint32_t hash;
	int li;             /* listing (layer) that decides it */
	bool hidden;        /* decided by a whiteout */
	bool emitted;
	bool low_seen;      /* decided by upper: first lower listing seen */
	bool low_dir;       /* ... it is a directory there, */
	uint64_t low_ino;   /* ... with this view inode number */
};

static bool u_dot(const char *name)
{
	return name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]));
}

/*
 * d_ino of an entry decided by layer k: what lookup would report.  For an
 * upper entry that is the origin xattr, or for a merged directory the
 * number of its topmost lower directory.
 */
static uint64_t u_child_ino(struct u_union *u, const char *dir, int k,
			    const struct lyr_dirent *d, const struct u_name *h)
{
	char child[PATH_MAX];
	struct stat st;
	unsigned fl;
	uint64_t ino;

	if (k > 0 || u_join(child, sizeof(child), dir, d->name))
		return U_INO(k, d->ino);
	if (d->type == DT_DIR && h->low_dir &&
	    lyr_lookup(u_upper(u), child, &st, &fl) == 0 && !(fl & LYR_OPAQUE))
		return h->low_ino;
	if (u_get_origin(u, child, d->type == DT_UNKNOWN ? 0 : DTTOIF(d->type), &ino) == 0)
		return ino;
	return U_INO(0, d->ino);
}

/* The view inode number of path's parent (the root's is its own). */
static uint64_t u_parent_ino(struct u_union *u, const char *path,
			     const struct u_ent *e)
{
	char parent[PATH_MAX];
	struct u_ent pe;

	if (!*path)
		return u_view_ino(u, path, e);
	lyr_path_split(path, parent, sizeof(parent));
	if (u_walk(u, parent, &pe, 0) < 0)
		return u_view_ino(u, path, e);
	return u_view_ino(u, parent, &pe);
}

/* Reads the listing of every layer merged into directory e, topmost first. */
static int u_read_layers(struct u_union *u, const char *path, const struct u_ent *e,
			 struct lyr_dirlist *lists, int *ks, int *nl)
{
	*nl = 0;
	for (uint64_t m = e->dirs; m; m &= m - 1) {
		int k = u_first(m);
		int r = lyr_readdir(u->layers[k], path, &lists[*nl]);
		if (r == -ENOENT || r == -ENOTDIR)
			continue; /* gone since the lookup: nothing to merge */
		if (r < 0)
			return r;
		ks[(*nl)++] = k;
	}
	return 0;
}

/* FNV-1a of a name. */
static uint32_t u_name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/*
 * Only listing l (of layer k) is merged: it is the result as it stands,
 * once its "." and ".." are the view's, whiteouts and stray dot entries are
 * dropped and its inode numbers are the view's.  Takes l over.  1 when l
 * does not start with "." and ".." (then l is untouched).
 */
static int u_merge_one(struct u_union *u, const char *path, struct lyr_dirlist *l,
		       int k, struct lyr_dirlist *out, bool inos, uint64_t dot,
		       uint64_t dotdot)
{
	const struct u_name none = { 0 };
	size_t w = 2;

	if (l->n < 2 || strcmp(l->ents[0].name, ".") || strcmp(l->ents[1].name, ".."))
		return 1;
	l->ents[0].ino = dot;
	l->ents[0].type = DT_DIR;
	l->ents[1].ino = dotdot;
	l->ents[1].type = DT_DIR;
	for (size_t j = 2; j < l->n; j++) {
		struct lyr_dirent *d = &l->ents[j];
		if (d->type == DT_WHT || u_dot(d->name)) {
			free(d->name);
			continue;
		}
		if (!inos)
			d->ino = 0;
		else if (k > 0)
			d->ino = U_INO(k, d->ino);
		else
			d->ino = u_child_ino(u, path, k, d, &none);
		l->ents[w++] = *d;
	}
	l->n = w;
	l->flags = 0;
	*out = *l;
	memset(l, 0, sizeof(*l));
	return 0;
}

/*
 * Merges directory e at path into out (see the file header).  inos: false
 * skips computing inode numbers (0 instead), for callers that only need
 * the names.  pino: the view inode number of the parent, when known.
 */
static int u_merge_dots(struct u_union *u, const char *path, const struct u_ent *e,
			struct lyr_dirlist *out, bool inos, const uint64_t *pino)
{
	int n = u_popcount(e->dirs), nl, ks[U_MAX_LAYERS];
	struct lyr_dirlist inl[4], *lists = inl;
	struct u_name *names = NULL;
	uint32_t *slots = NULL, *which = NULL, mask = 0;
	size_t total = 0, used = 0, base;
	uint64_t dot, dotdot;
	int r;

	memset(out, 0, sizeof(*out));
	memset(inl, 0, sizeof(inl));
	if (n > 4 && !(lists = calloc((size_t)n, sizeof(*lists))))
		return -ENOMEM;
	if ((r = u_read_layers(u, path, e, lists, ks, &nl)))
		goto out_lists;
	dot = inos ? u_view_ino(u, path, e) : 0;
	dotdot = !inos ? 0 : pino ? *pino : u_parent_ino(u, path, e);
	if (nl == 1 && !u_merge_one(u, path, &lists[0], ks[0], out, inos, dot, dotdot))
		goto out_lists;
	for (int i = 0; i < nl; i++)
		total += lists[i].n;
	if (total > UINT32_MAX / 4) {
		r = -ENOMEM;
		goto out_lists;
	}
	/* One block: the names, their open-addressing table (load <= 1/2)
	 * and, per listed entry, the name it is (UINT32_MAX: a dot). */
	size_t nslots = 16;
	while (nslots < 2 * total)
		nslots *= 2;
	mask = (uint32_t)nslots - 1;
	names = malloc(total * sizeof(*names) + (nslots + total) * sizeof(uint32_t) + 1);
	out->ents = malloc((total + 2) * sizeof(*out->ents));
	if (!names || !out->ents) {
		r = -ENOMEM;
		goto out_names;
	}
	out->cap = total + 2;
	slots = (uint32_t *)(names + total);
	which = slots + nslots;
	memset(slots, 0, nslots * sizeof(*slots));
	/* Top down: the first listing of a name decides it. */
	base = 0;
	for (int i = 0; i < nl; i++) {
		for (size_t j = 0; j < lists[i].n; j++) {
			const struct lyr_dirent *d = &lists[i].ents[j];
			struct u_name *h = NULL;
			if (u_dot(d->name)) {
				which[base + j] = UINT32_MAX;
				continue;
			}
			uint32_t hv = u_name_hash(d->name), s = hv & mask;
			for (; slots[s]; s = (s + 1) & mask) {
				struct u_name *c = &names[slots[s] - 1];
				if (c->hash == hv && !strcmp(c->name, d->name)) {
					h = c;
					break;
				}
			}
			if (!h) {
				h = &names[used++];
				*h = (struct u_name){ .name = d->name, .li = i, .ei = j,
						      .hash = hv, .hidden = d->type == DT_WHT };
				slots[s] = (uint32_t)used;
			} else if (ks[h->li] == 0 && ks[i] > 0 && !h->low_seen) {
				h->low_seen = true;
				h->low_dir = d->type == DT_DIR;
				h->low_ino = U_INO(ks[i], d->ino);
			}
			which[base + j] = (uint32_t)(h - names);
		}
		base += lists[i].n;
	}
	if ((r = lyr_dirlist_add(out, ".", dot, DT_DIR)) ||
	    (r = lyr_dirlist_add(out, "..", dotdot, DT_DIR)))
		goto out_names;
	/* Bottom up: lower names keep their place when copied up.  Each name
	 * is emitted once: its string moves from its listing to out. */
	for (int i = nl - 1; i >= 0; i--) {
		base -= lists[i].n;
		for (size_t j = 0; j < lists[i].n; j++) {
			const struct lyr_dirent *d = &lists[i].ents[j];
			if (which[base + j] == UINT32_MAX || d->type == DT_WHT)
				continue;
			struct u_name *h = &names[which[base + j]];
			if (h->hidden || h->emitted)
				continue;
			h->emitted = true;
			struct lyr_dirent *w = &lists[h->li].ents[h->ei];
			uint64_t ino = inos ? u_child_ino(u, path, ks[h->li], w, h) : 0;
			out->ents[out->n++] = (struct lyr_dirent){ .ino = ino,
				.type = w->type, .name = w->name };
			w->name = NULL;
		}
	}
out_names:
	free(names);
out_lists:
	for (int i = 0; i < n; i++)
		lyr_dirlist_free(&lists[i]);
	if (lists != inl)
		free(lists);
	if (r)
		lyr_dirlist_free(out);
	return r;
}

int u_merge(struct u_union *u, const char *path, const struct u_ent *e,
	    struct lyr_dirlist *out, bool inos)
{
	return u_merge_dots(u, path, e, out, inos, NULL);
}

/*
 * readdir of the view (layer.h): the merge; -ENOTDIR on a non-directory.
 * The parent is walked to, then path is one level below it: one walk
 * gives both the directory and the inode number of its "..".
 */
int u_readdir(struct lyr_layer *l, const char *path, struct lyr_dirlist *out)
{
	struct u_union *u = u_of(l);
	char parent[PATH_MAX];
	struct u_ent e, pe;
	uint64_t pino;
	int r;

	if ((r = u_check_name(path, false)))
		return r;
	if (!*path) {
		if ((r = u_walk(u, path, &e, 0)))
			return r;
		pino = u_view_ino(u, path, &e);
	} else {
		lyr_path_split(path, parent, sizeof(parent));
		if ((r = u_walk(u, parent, &pe, 0)))
			return r;
		if (!S_ISDIR(pe.st.st_mode))
			return -ENOTDIR;
		if ((r = u_level(u, pe.dirs, path, &e)))
			return r;
		pino = u_view_ino(u, parent, &pe);
	}
	if (!S_ISDIR(e.st.st_mode))
		return -ENOTDIR;
	return u_merge_dots(u, path, &e, out, true, &pino);
}

/* 0 when directory e shows nothing but "." and ".."; -ENOTEMPTY else. */
int u_dir_empty(struct u_union *u, const char *path, const struct u_ent *e)
{
	struct lyr_dirlist list;
	int r = u_merge(u, path, e, &list, false);

	if (r)
		return r;
	r = list.n > 2 ? -ENOTEMPTY : 0;
	lyr_dirlist_free(&list);
	return r;
}

/* ---- creation ----------------------------------------------------------- */

/*
 * Checks that the new name path can be made: it does not exist (-EEXIST),
 * its parent does (-ENOENT), the union is writable (-EROFS), the caller
 * may write the parent.  Fills *e (with the parent's layers).
 */
static int u_new_check(struct u_union *u, const char *path, struct u_ent *e)
{
	int r;

	if ((r = u_check_name(path, true)))
		return r;
	if (!*path)
		return -EEXIST;
	r = u_walk(u, path, e, U_WANT_PARENT);
	if (r == 0)
		return -EEXIST;
	if (r != -ENOENT)
		return r;
	if (!e->parent_ok)
		return -ENOENT;
	if (!u_upper(u))
		return -EROFS;
	return u_may_create(u, path, NULL);
}

/*
 * open(O_CREAT) of a name no layer shows (e from the failed lookup): made
 * in the upper layer, replacing a whiteout there, after the parent is
 * copied up.  The old lower entry under a whiteout never comes back.
 */
int u_create(struct u_union *u, const char *path, const struct u_ent *e,
	     int flags, mode_t mode)
{
	int r;

	if (!e->parent_ok)
		return -ENOENT;
	if (!u_upper(u))
		return -EROFS;
	if ((r = u_may_create(u, path, NULL)) || (r = u_copy_up_parents(u, path)))
		return r;
	return lyr_open(u_upper(u), path, flags, mode);
}

/*
 * mkdir in the upper layer after the parent is copied up; -EEXIST for any
 * visible name (checked before anything is copied, so a failed mkdir
 * leaves nothing behind).  Over a deleted lower directory the new one is
 * made opaque.
 */
int u_mkdir(struct lyr_layer *l, const char *path, mode_t mode)
{
	struct u_union *u = u_of(l);
	struct u_ent e;
	struct stat below;
	int r, b;

	if ((r = u_new_check(u, path, &e)))
		return r;
	/* A lower directory under a whiteout: the new one must hide it. */
	b = u_below(u, &e, path, &below);
	if (b < 0 && b != -ENOENT)
		return b;
	if ((r = u_copy_up_parents(u, path)) || (r = lyr_mkdir(u_upper(u), path, mode)))
		return r;
	if (b == 0 && S_ISDIR(below.st_mode) &&
	    (r = lyr_set_opaque(u_upper(u), path)) < 0) {
		lyr_whiteout(u_upper(u), path); /* back to deleted */
		return r;
	}
	return 0;
}

/* mknod in the upper layer (after the parent is copied up). */
int u_mknod(struct lyr_layer *l, const char *path, mode_t mode, dev_t dev)
{
	struct u_union *u = u_of(l);
	struct u_ent e;
	int r;

	if ((r = u_new_check(u, path, &e)) || (r = u_copy_up_parents(u, path)))
		return r;
	return lyr_mknod(u_upper(u), path, mode, dev);
}

/* symlink in the upper layer (after the parent is copied up). */
int u_symlink(struct lyr_layer *l, const char *target, const char *path)
{
	struct u_union *u = u_of(l);
	struct u_ent e;
	int r;

	if ((r = u_new_check(u, path, &e)) || (r = u_copy_up_parents(u, path)))
		return r;
	return lyr_symlink(u_upper(u), target, path);
}

/* A hard link to a lower file links its copy: both names share its ino. */
int u_link(struct lyr_layer *l, const char *oldpath, const char *newpath)
{
	struct u_union *u = u_of(l);
	struct u_ent eo, en;
	int r;

	if ((r = u_check_name(oldpath, false)) || (r = u_find(u, oldpath, &eo, 0)))
		return r;
	if ((r = u_new_check(u, newpath, &en)))
		return r;
	if (S_ISDIR(eo.st.st_mode))
		return -EPERM;
	if ((r = u_copy_up(u, oldpath, &eo, -1)) || (r = u_copy_up_parents(u, newpath)))
		return r;
	return lyr_link(u_upper(u), oldpath, newpath);
}

/* Gives an unnamed upper file (from tmpfile) the name path. */
int u_link_tmp(struct lyr_layer *l, int fd, const char *path)
{
	struct u_union *u = u_of(l);
	struct u_ent e;
	int r;

	if ((r = u_new_check(u, path, &e)) || (r = u_copy_up_parents(u, path)))
		return r;
	return lyr_link_tmp(u_upper(u), fd, path);
}

/* ---- removal ------------------------------------------------------------ */

/*
 * u_walk for a removal: once the parent resolved, a read-only union says
 * -EROFS before anything about the name itself, as a read-only mount.
 */
static int u_walk_rw(struct u_union *u, const char *path, struct u_ent *e)
{
	int r = u_walk(u, path, e, U_WANT_PARENT);

	if (!u_upper(u) && (r == 0 || (r == -ENOENT && e->parent_ok)))
		return -EROFS;
	return r;
}

/*
 * Removes existing entry e at path from the view: the upper entry goes (a
 * directory's markers with it), and a whiteout is left where a lower
 * entry would show through.
 */
static int u_remove(struct u_union *u, const char *path, const struct u_ent *e)
{
	struct lyr_layer *up = u_upper(u);
	int r;

	if (e->top != 0) {
		if ((r = u_copy_up_parents(u, path)))
			return r;
		return lyr_whiteout(up, path);
	}
	r = u_below(u, e, path, NULL);
	if (r == 0)
		return lyr_whiteout(up, path);
	if (r != -ENOENT)
		return r;
	return S_ISDIR(e->st.st_mode) ? lyr_rmdir(up, path) : lyr_unlink(up, path);
}

/* unlink of a non-directory: see u_remove.  -ENOENT for a deleted name. */
int u_unlink(struct lyr_layer *l, const char *path)
{
	struct u_union *u = u_of(l);
	struct u_ent e;
	int r;

	if ((r = u_check_name(path, false)))
		return r;
	if (!*path)
		return -EISDIR;
	if ((r = u_walk_rw(u, path, &e)))
		return r;
	if (S_ISDIR(e.st.st_mode))
		return -EISDIR;
	if ((r = u_may_create(u, path, &e)))
		return r;
	return u_remove(u, path, &e);
}

/*
 * rmdir: the merged view must be empty (-ENOTEMPTY), so a lower directory
 * whose entries were all deleted can go; see u_remove.
 */
int u_rmdir(struct lyr_layer *l, const char *path)
{
	struct u_union *u = u_of(l);
	struct u_ent e;
	int r;

	if ((r = u_check_name(path, false)))
		return r;
	if (!*path)
		return -EBUSY;
	if ((r = u_walk_rw(u, path, &e)))
		return r;
	if (!S_ISDIR(e.st.st_mode))
		return -ENOTDIR;
	if ((r = u_dir_empty(u, path, &e)))
		return r;
	if ((r = u_may_create(u, path, &e)))
		return r;
	return u_remove(u, path, &e);
}

/* ---- rename ------------------------------------------------------------- */

/* Is a strictly below b? */
static bool u_is_under(const char *a, const char *b)
{
	size_t n = strlen(b);

	return !strncmp(a, b, n) && a[n] == '/';
}

/*
 * Makes entry e at src ready to be renamed to dst in the upper layer: a
 * non-directory is copied up; a directory with lower parts is copied up
 * whole and made opaque, and so is one that would land on a lower
 * directory at dst (ed: dst's resolution, with its parent's layers).
 */
static int u_move_prep(struct u_union *u, const char *src, const struct u_ent *e,
		       const char *dst, const struct u_ent *ed)
{
	struct stat below;
	int r, b;

	if (!S_ISDIR(e->st.st_mode))
		return u_copy_up(u, src, e, -1);
	b = u_below(u, ed, dst, &below);
	if (b < 0 && b != -ENOENT)
		return b;
	if ((r = u_copy_up_tree(u, src, e)))
		return r;
	if (((e->dirs & ~U_BIT(0)) || (b == 0 && S_ISDIR(below.st_mode))) &&
	    !(e->top == 0 && (e->tflags & LYR_OPAQUE)))
		return lyr_set_opaque(u_upper(u), src);
	return 0;
}

/* renameat2's checks, in the kernel's order, on the view. */
static int u_rename_check(struct u_union *u, const char *from, const struct u_ent *ef,
			  const char *to, const struct u_ent *et, int rt,
			  unsigned flags)
{
	bool xchg = flags & RENAME_EXCHANGE;
	bool fdir = S_ISDIR(ef->st.st_mode);
	bool tdir = rt == 0 && S_ISDIR(et->st.st_mode);
	int r;

	if (rt < 0 && (rt != -ENOENT || !et->parent_ok))
		return rt;
	if (rt < 0 && xchg)
		return -ENOENT;
	if (rt == 0 && (flags & RENAME_NOREPLACE))
		return -EEXIST;
	if (u_is_under(to, from))
		return -EINVAL; /* into its own subtree */
	if (u_is_under(from, to))
		return xchg ? -EINVAL : -ENOTEMPTY;
	if (rt == 0 && !xchg) {
		if (fdir && !tdir)
			return -ENOTDIR;
		if (!fdir && tdir)
			return -EISDIR;
		if (tdir && (r = u_dir_empty(u, to, et)))
			return r;
		if (!fdir && ef->top == et->top && ef->st.st_ino == et->st.st_ino)
			return 1; /* two names of one file: nothing to do */
	}
	if (!u_upper(u))
		return -EROFS;
	if ((r = u_may_create(u, from, ef)) ||
	    (r = u_may_create(u, to, rt == 0 ? et : NULL)))
		return r;
	return 0;
}

/*
 * renameat2 on the view (see the file header): never -EXDEV; flags
 * RENAME_NOREPLACE and RENAME_EXCHANGE (which needs the upper layer's).
 */
int u_rename(struct lyr_layer *l, const char *from, const char *to,
	     unsigned flags)
{
	struct u_union *u = u_of(l);
	bool xchg = flags & RENAME_EXCHANGE;
	struct u_ent ef, et;
	int r, rt;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL; /* RENAME_WHITEOUT included */
	if ((flags & RENAME_NOREPLACE) && xchg)
		return -EINVAL;
	if ((r = u_check_name(from, false)) || (r = u_check_name(to, !xchg)))
		return r;
	if (!*from || !*to)
		return -EBUSY;
	/* As the kernel: both parents, then -EROFS, then the names. */
	r = u_walk(u, from, &ef, U_WANT_PARENT);
	if (r < 0 && (r != -ENOENT || !ef.parent_ok))
		return r;
	rt = u_walk(u, to, &et, U_WANT_PARENT);
	if (rt < 0 && (rt != -ENOENT || !et.parent_ok))
		return rt;
	if (!u_upper(u))
		return -EROFS;
	if (r < 0)
		return r;
	if (!strcmp(from, to))
		return rt == 0 && (flags & RENAME_NOREPLACE) ? -EEXIST : 0;
	if ((r = u_rename_check(u, from, &ef, to, &et, rt, flags)))
		return r < 0 ? r : 0;
	if ((r = u_move_prep(u, from, &ef, to, &et)))
		return r;
	if (xchg && (r = u_move_prep(u, to, &et, from, &ef)))
		return r;
	if ((r = u_copy_up_parents(u, to)))
		return r;
	if (xchg)
		return lyr_rename(u_upper(u), from, to, RENAME_EXCHANGE);
	/* The source name: a lower entry there would show through, so the
	 * upper layer leaves a whiteout in the same step when it can. */
	r = u_below(u, &ef, from, NULL);
	if (r == -ENOENT)
		return lyr_rename(u_upper(u), from, to, 0);
	if (r < 0)
		return r;
	r = lyr_rename(u_upper(u), from, to, LYR_RENAME_WHITEOUT);
	if (r != -EINVAL)
		return r;
	if ((r = lyr_rename(u_upper(u), from, to, 0)))
		return r;
	return lyr_whiteout(u_upper(u), from);
}
