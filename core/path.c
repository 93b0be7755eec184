/* SPDX-License-Identifier: MIT */
/*
 * path.c - layer paths: normalisation, splitting, symlink resolution.
 *
 * A layer path is relative to the layer root with no empty, "." or ".."
 * components; the root is "".  Resolution walks such a path one component
 * at a time and splices symlink targets in, as the kernel's namei does.
 * A layer with a resolve member (version 2, the union) does that walk
 * itself, in one pass; for the others path_walk does it with one lookup
 * per component.
 */
#define _GNU_SOURCE
#include "layerfs.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define LYR_MAXSYMLINKS 40

/* Appends component c (len n) to out (length *len), handling "..". */
static int path_push(char *out, size_t size, size_t *len, const char *c, size_t n)
{
	if (n == 0 || (n == 1 && c[0] == '.'))
		return 0;
	if (n == 2 && c[0] == '.' && c[1] == '.') {
		char *slash = memrchr(out, '/', *len);
		*len = slash ? (size_t)(slash - out) : 0;
		out[*len] = '\0';
		return 0;
	}
	if (n > NAME_MAX)
		return -ENAMETOOLONG;
	size_t need = *len + (*len ? 1 : 0) + n;
	if (need + 1 > size)
		return -ENAMETOOLONG;
	if (*len)
		out[(*len)++] = '/';
	memcpy(out + *len, c, n);
	*len += n;
	out[*len] = '\0';
	return 0;
}

int lyr_path_normalize(const char *in, char *out, size_t size)
{
	size_t len = 0;

	if (size == 0)
		return -ENAMETOOLONG;
	out[0] = '\0';
	while (*in) {
		const char *end = strchrnul(in, '/');
		int r = path_push(out, size, &len, in, (size_t)(end - in));
		if (r < 0)
			return r;
		in = *end ? end + 1 : end;
	}
	return 0;
}

const char *lyr_path_split(const char *path, char *parent, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;

	if (size) {
		if (n >= size)
			n = size - 1;
		memcpy(parent, path, n);
		parent[n] = '\0';
	}
	return slash ? slash + 1 : path;
}

/*
 * The walk keeps two strings: done (the resolved prefix, a layer path) and
 * todo (what is left, possibly with "." and ".." and symlink bodies spliced
 * in).  Both live in buffers of PATH_MAX bytes.
 */
struct walk {
	char done[PATH_MAX];
	size_t dlen;
	char todo[PATH_MAX];
	int links;
};

/* Replaces todo with target + "/" + rest (rest points into todo). */
static int walk_splice(struct walk *w, const char *target, size_t tlen,
		       const char *rest)
{
	char tmp[PATH_MAX];
	size_t rlen = strlen(rest);

	if (tlen + 1 + rlen + 1 > sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, target, tlen);
	tmp[tlen] = '/';
	memcpy(tmp + tlen + 1, rest, rlen + 1);
	memcpy(w->todo, tmp, tlen + 1 + rlen + 1);
	return 0;
}

/* Copies todo (a host path) to out, for LYR_RESOLVE_ESCAPED. */
static int walk_escape(struct walk *w, char *out, size_t size)
{
	size_t n = strlen(w->todo);

	while (n > 1 && w->todo[n - 1] == '/')
		w->todo[--n] = '\0';
	if (n + 1 > size)
		return -ENAMETOOLONG;
	memcpy(out, w->todo, n + 1);
	return LYR_RESOLVE_ESCAPED;
}

/*
 * The walk for a layer without a resolve member: one lookup per component
 * (of the whole prefix), readlink for symlinks.  Results as the resolve
 * member's (layer.h); *st is the last lookup's, or one more lookup's when
 * the path ended in "." or "..".  st NULL: no stat wanted (lyr_resolve),
 * and no lookup beyond the walk's own.
 */
static int path_walk(struct lyr_layer *l, const char *path, unsigned flags,
		     const char *root, char *out, size_t size, struct stat *want)
{
	struct stat tmp, *st = want ? want : &tmp;
	struct walk *w = malloc(sizeof(*w));
	size_t rootlen = root ? strlen(root) : 0;
	bool have = false; /* *st describes done */
	int r = 0;

	if (!w)
		return -ENOMEM;
	if (strlen(path) >= sizeof(w->todo)) {
		r = -ENAMETOOLONG;
		goto out_free;
	}
	strcpy(w->todo, path);
	w->done[0] = '\0';
	w->dlen = 0;
	w->links = 0;
	while (rootlen > 1 && root[rootlen - 1] == '/')
		rootlen--;

	const char *p = w->todo;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *end = strchrnul(p, '/');
		size_t n = (size_t)(end - p);
		const char *rest = *end ? end + 1 : end;
		bool last = true;
		for (const char *q = rest; *q; q++)
			if (*q != '/') {
				last = false;
				break;
			}

		if (n == 2 && p[0] == '.' && p[1] == '.' && w->dlen == 0 && root &&
		    rootlen > 1) {
			/* ".." at the mount point leads to the host directory above. */
			const char *slash = memrchr(root, '/', rootlen);
			size_t plen = slash && slash != root ? (size_t)(slash - root) : 1;
			r = walk_splice(w, root, plen, rest);
			if (r < 0)
				goto out_free;
			r = walk_escape(w, out, size);
			goto out_free;
		}
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
			if (n == 2)
				have = false;
			path_push(w->done, sizeof(w->done), &w->dlen, p, n);
			p = rest;
			continue;
		}
		size_t saved = w->dlen;
		r = path_push(w->done, sizeof(w->done), &w->dlen, p, n);
		if (r < 0)
			goto out_free;

		have = false;
		r = lyr_lookup(l, w->done, st, NULL);
		if (r == -ENOENT && last) {
			r = LYR_RESOLVE_MISSING; /* creatable */
			goto out_copy;
		}
		if (r < 0)
			goto out_free;
		if (S_ISLNK(st->st_mode) && (!last || (flags & LYR_RESOLVE_FOLLOW))) {
			char target[PATH_MAX];
			if (++w->links > LYR_MAXSYMLINKS) {
				r = -ELOOP;
				goto out_free;
			}
			ssize_t tl = lyr_readlink(l, w->done, target, sizeof(target));
			if (tl < 0) {
				r = (int)tl;
				goto out_free;
			}
			if (tl == 0) {
				r = -ENOENT;
				goto out_free;
			}
			w->dlen = saved;	/* the link's directory */
			w->done[saved] = '\0';
			const char *t = target;
			size_t tlen = (size_t)tl;
			if (t[0] == '/') {
				if (root && !(strncmp(t, root, rootlen) == 0 &&
					      (tlen == rootlen || t[rootlen] == '/' || rootlen == 1))) {
					/* Leaves the layer: hand the host path back. */
					r = walk_splice(w, t, tlen, rest);
					if (r == 0)
						r = walk_escape(w, out, size);
					goto out_free;
				}
				if (root) {
					t += rootlen;
					tlen -= rootlen;
				}
				w->dlen = 0;
				w->done[0] = '\0';
			}
			r = walk_splice(w, t, tlen, rest);
			if (r < 0)
				goto out_free;
			p = w->todo;
			continue;
		}
		if (!last && !S_ISDIR(st->st_mode)) {
			r = -ENOTDIR;
			goto out_free;
		}
		have = true;
		p = rest;
	}
	if (want && !have && (r = lyr_lookup(l, w->done, st, NULL)) < 0)
		goto out_free;
	r = 0;
out_copy:
	if (w->dlen + 1 > size) {
		r = -ENAMETOOLONG;
		goto out_free;
	}
	memcpy(out, w->done, w->dlen + 1);
out_free:
	free(w);
	return r;
}

/* The layer's resolve member, when its table has one. */
static bool path_has_resolve(const struct lyr_layer *l)
{
	return l->ops->version >= 2 && l->ops->resolve;
}

int lyr_resolve_stat(struct lyr_layer *l, const char *path, unsigned flags,
		     const char *root, char *out, size_t size, struct stat *st)
{
	if (path_has_resolve(l))
		return l->ops->resolve(l, path, flags, root, out, size, st);
	return path_walk(l, path, flags, root, out, size, st);
}

int lyr_resolve(struct lyr_layer *l, const char *path, unsigned flags,
		const char *root, char *out, size_t size)
{
	struct stat st;
	int r;

	if (path_has_resolve(l))
		r = l->ops->resolve(l, path, flags, root, out, size, &st);
	else
		r = path_walk(l, path, flags, root, out, size, NULL);
	return r == LYR_RESOLVE_MISSING ? 0 : r;
}
