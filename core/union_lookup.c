/* SPDX-License-Identifier: MIT */
/*
 * union_lookup.c - finding a path in the union: the level-by-level walk
 * (u_walk, u_find), the one-pass resolution that also follows symlinks
 * (the u_trail steps of the one walker, walk.h), and inode numbers.
 * See union.c for the semantics, and its "Cost of a lookup".
 *
 * Divisions: levels and walks, inode numbers, one-pass resolution.
 */
#define _GNU_SOURCE
#include "union.h"
#include "walk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- levels and walks --------------------------------------------------- */

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

int u_walk(struct u_union *u, const char *path, struct u_ent *e, unsigned want)
{
	int r;

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

/* The view inode number recorded in upper entry path, of type mode (its
 * st_mode; 0 when unknown): 0 or -errno. */
int u_get_origin(struct u_union *u, const char *path, mode_t mode, uint64_t *ino)
{
	unsigned char b[8];
	ssize_t n = lyr_getxattr(u_upper(u), path, LYR_XATTR_ORIGIN_FOR(mode), b, sizeof(b));

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
	if (e->top == 0 && u_get_origin(u, path, e->st.st_mode, &ino) == 0)
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

/* ---- one-pass resolution ------------------------------------------------ */

void u_trail_init(struct u_trail *t, struct u_union *u)
{
	t->u = u;
	t->depth = 0;
	t->masks = t->inl;
	t->cap = sizeof(t->inl) / sizeof(t->inl[0]);
	t->masks[0] = u->root_mask;
	u_ent_init(&t->e);
}

void u_trail_free(struct u_trail *t)
{
	if (t->masks != t->inl)
		free(t->masks);
	t->masks = t->inl;
}

/* Room in masks for n more levels below depth. */
static int u_trail_reserve(struct u_trail *t, size_t n)
{
	if (t->depth + n < t->cap)
		return 0;
	size_t cap = t->cap * 2;
	while (t->depth + n >= cap)
		cap *= 2;
	uint64_t *nm = malloc(cap * sizeof(*nm));
	if (!nm)
		return -ENOMEM;
	memcpy(nm, t->masks, t->cap * sizeof(*nm));
	if (t->masks != t->inl)
		free(t->masks);
	t->masks = nm;
	t->cap = cap;
	return 0;
}

void u_trail_up(struct u_trail *t)
{
	if (t->depth)
		t->depth--;
}

void u_trail_reset(struct u_trail *t)
{
	t->depth = 0;
}

/* The layer path in done: all of it, or what follows done[0..base). */
static inline char *u_trail_path(struct lyr_walk *w, size_t base)
{
	return w->dlen > base ? w->done + base + (base ? 1 : 0) : w->done + w->dlen;
}

/*
 * Is p (what is left after the current component) a plain relative path:
 * components none of which is empty, ".", "..", over NAME_MAX or starts
 * with ".wh."?  Then *len is its length without trailing slashes.
 */
static bool u_trail_plain(const char *p, size_t *len)
{
	const char *q = p;

	for (;;) {
		const char *end = strchrnul(q, '/');
		size_t n = (size_t)(end - q);
		if (!n || n > NAME_MAX || (q[0] == '.' && (n == 1 || (n == 2 && q[1] == '.'))) ||
		    (n >= LYR_WH_PREFIX_LEN && !memcmp(q, LYR_WH_PREFIX, LYR_WH_PREFIX_LEN)))
			return false;
		*len = (size_t)(end - p);
		if (!*end)
			return true;
		q = end + 1;
		if (*q == '/') {
			/* "//" is fine only among the trailing slashes. */
			while (*q == '/')
				q++;
			return !*q;
		}
		if (!*q)
			return true;
	}
}

/*
 * Below a directory only layer k merges into, the rest of the path (plain,
 * len bytes at p) is one lookup in k: its success means every component
 * but the last is a directory of k (a layer follows no symlink and says
 * -ENOTDIR for a non-directory), so the view shows k's entries all the
 * way.  Then done takes the rest, depth moves over its directories, and
 * the result is 0 with the entry in t->e, or -ENOENT when only the last
 * component is missing.  1 (done and depth unchanged) when the walk must
 * go component by component.
 */
static int u_trail_rest(struct u_trail *t, struct lyr_walk *w, size_t base, int k,
			const char *p, size_t len)
{
	struct lyr_layer *l = t->u->layers[k];
	size_t start = w->dlen, depth = t->depth;
	struct stat pst;
	int r;

	if (start + 1 + len + 1 > w->cap)
		return 1;
	w->done[w->dlen++] = '/';
	memcpy(w->done + w->dlen, p, len);
	w->dlen += len;
	w->done[w->dlen] = '\0';
	size_t cut = (size_t)((char *)memrchr(w->done + start, '/', w->dlen - start) - w->done);
	const char *path = u_trail_path(w, base);
	r = lyr_lookup(l, path, &t->e.st, NULL);
	if (r == -ENOENT) {
		/* Missing: only the last component, when its parent is there. */
		w->done[cut] = '\0';
		int pr = lyr_lookup(l, path, &pst, NULL);
		w->done[cut] = '/';
		if (pr < 0 || !S_ISDIR(pst.st_mode))
			goto out_undo;
	} else if (r < 0) {
		goto out_undo;
	}
	/* Every directory before the last component merges k alone (p is
	 * plain: one '/' between components); the current one too. */
	size_t ndirs = 1;
	for (const char *q = memchr(p, '/', len); q;
	     q = memchr(q + 1, '/', len - (size_t)(q + 1 - p)))
		ndirs++;
	if (u_trail_reserve(t, ndirs) < 0)
		goto out_undo;
	for (size_t i = 0; i < ndirs; i++)
		t->masks[++t->depth] = U_BIT(k);
	if (r == 0) {
		t->e.top = k;
		if (S_ISDIR(t->e.st.st_mode)) {
			t->e.dirs = U_BIT(k);
			if (k > 0) {
				t->e.dlow = k;
				t->e.dlow_ino = t->e.st.st_ino;
			}
		}
	}
	return r;
out_undo:
	w->dlen = start;
	w->done[start] = '\0';
	t->depth = depth;
	u_ent_init(&t->e);
	return 1;
}

int u_trail_step(struct u_trail *t, struct lyr_walk *w, size_t base, const char **rest,
		 bool *last)
{
	uint64_t m = t->masks[t->depth];
	const char *slash = memrchr(w->done, '/', w->dlen);
	const char *name = slash ? slash + 1 : w->done;
	size_t len;
	int r;

	u_ent_init(&t->e);
	if (w->dlen - (size_t)(name - w->done) >= LYR_WH_PREFIX_LEN &&
	    !memcmp(name, LYR_WH_PREFIX, LYR_WH_PREFIX_LEN))
		return -ENOENT; /* such names do not exist in the view */
	if (!*last && u_popcount(m) == 1 && u_trail_plain(*rest, &len) &&
	    (r = u_trail_rest(t, w, base, u_first(m), *rest, len)) <= 0) {
		*rest += strlen(*rest);
		*last = true;
	} else {
		r = u_level(t->u, m, u_trail_path(w, base), &t->e);
	}
	if (r < 0)
		return r;
	if (S_ISLNK(t->e.st.st_mode))
		return LYR_WALK_LINK;
	if (!S_ISDIR(t->e.st.st_mode))
		return LYR_WALK_OTHER;
	if (t->depth + 1 >= t->cap && u_trail_reserve(t, 1) < 0)
		return -ENOMEM;
	t->masks[++t->depth] = t->e.dirs;
	return LYR_WALK_DIR;
}

ssize_t u_trail_readlink(struct u_trail *t, struct lyr_walk *w, size_t base, char *buf,
			 size_t size)
{
	return lyr_readlink(t->u->layers[t->e.top], u_trail_path(w, base), buf, size);
}

int u_trail_here(struct u_trail *t, struct lyr_walk *w, size_t base)
{
	/* done is a directory met on the way: its entry is in its parent's
	 * level (the root's is the root's own). */
	u_ent_init(&t->e);
	return u_level(t->u, t->depth ? t->masks[t->depth - 1] : t->u->root_mask,
		       u_trail_path(w, base), &t->e);
}

/* The union's own resolution: the trail over the whole of done. */
struct u_resolution {
	struct lyr_walk w; /* first */
	struct u_trail t;
};

static int u_res_step(struct lyr_walk *w, const char **rest, bool *last)
{
	struct u_resolution *r = (struct u_resolution *)w;

	return u_trail_step(&r->t, w, 0, rest, last);
}

static ssize_t u_res_readlink(struct lyr_walk *w, char *buf, size_t size)
{
	struct u_resolution *r = (struct u_resolution *)w;

	return u_trail_readlink(&r->t, w, 0, buf, size);
}

static void u_res_up(struct lyr_walk *w)
{
	u_trail_up(&((struct u_resolution *)w)->t);
}

static void u_res_reset(struct lyr_walk *w)
{
	u_trail_reset(&((struct u_resolution *)w)->t);
}

static int u_res_here(struct lyr_walk *w)
{
	struct u_resolution *r = (struct u_resolution *)w;

	return u_trail_here(&r->t, w, 0);
}

static const struct lyr_walk_ops u_res_ops = {
	.step = u_res_step,
	.readlink = u_res_readlink,
	.up = u_res_up,
	.reset = u_res_reset,
	.here = u_res_here,
};

/*
 * lyr_resolve's walk on the union in one pass, recording what it found
 * in f (see lyr_found): each component is asked only of the layers
 * merged into its directory (so a lower-only subtree never asks the upper
 * layer again), a subtree one layer alone shows is resolved with one
 * lookup, and the last entry's view stat comes with the path.
 */
int u_resolve_found(struct u_union *u, const char *path, unsigned flags, const char *root,
		    struct lyr_found *f)
{
	struct u_resolution rs;
	int r;

	/* done is f->path, unless that is where path is too. */
	bool own = path >= f->path && path < f->path + sizeof(f->path);
	if ((r = lyr_walk_init(&rs.w, &u_res_ops, own ? NULL : f->path, root)) < 0)
		return r;
	u_trail_init(&rs.t, u);
	r = lyr_walk_run(&rs.w, path, flags, f->path, sizeof(f->path));
	f->res = r;
	if (r == 0 || r == LYR_RESOLVE_MISSING) {
		if (own)
			memcpy(f->path, rs.w.done, rs.w.dlen + 1);
		u_found_set(u, f, r == 0 ? &rs.t.e : NULL);
	}
	u_trail_free(&rs.t);
	lyr_walk_free(&rs.w, f->path);
	return r;
}
