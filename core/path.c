/* SPDX-License-Identifier: MIT */
/*
 * path.c - layer paths: normalisation, splitting, symlink resolution;
 * and mkdir -p of a host directory (lyr_mkdirs), for the cache and the
 * launcher.
 *
 * A layer path is relative to the layer root with no empty, "." or ".."
 * components; the root is "".  Resolution walks such a path one component
 * at a time and splices symlink targets in, as the kernel's namei does.
 * A layer with a resolve member (version 2, the union) does that walk
 * itself, in one pass; for the others path_walk does it with one lookup
 * per component.
 */
#define _GNU_SOURCE
#include "walk.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

ssize_t lyr_lower_list_split(char *s, char **names, size_t max)
{
	size_t n = 0;
	char *out = s;

	if (!*s)
		return 0;
	if (max == 0)
		return -E2BIG;
	names[n++] = out;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] == ':') {
			*out++ = ':';
			p++;
		} else if (*p == ':') {
			*out++ = '\0';
			if (n == max)
				return -E2BIG;
			names[n++] = out;
		} else {
			*out++ = *p;
		}
	}
	*out = '\0';
	return (ssize_t)n;
}

char *lyr_lower_list_join(char *const *names, size_t n)
{
	size_t len = 1;

	for (size_t i = 0; i < n; i++)
		len += 2 * strlen(names[i]) + 1;
	char *s = malloc(len), *o = s;
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (i)
			*o++ = ':';
		for (const char *p = names[i]; *p; p++) {
			if (*p == ':')
				*o++ = '\\';
			*o++ = *p;
		}
	}
	*o = '\0';
	return s;
}

/* A layer without a resolve member, walked with one lookup per prefix. */
struct path_walk {
	struct lyr_walk w;       /* first */
	struct lyr_layer *l;
	struct stat *st;         /* the last lookup's */
	bool want;               /* the caller wants the stat of the end */
};

static int path_kind(const struct stat *st)
{
	return S_ISDIR(st->st_mode) ? LYR_WALK_DIR :
	       S_ISLNK(st->st_mode) ? LYR_WALK_LINK : LYR_WALK_OTHER;
}

static int path_step(struct lyr_walk *w, const char **rest, bool *last)
{
	struct path_walk *pw = (struct path_walk *)w;
	int r = lyr_lookup(pw->l, w->done, pw->st, NULL);

	(void)rest;
	(void)last;
	return r < 0 ? r : path_kind(pw->st);
}

static ssize_t path_readlink(struct lyr_walk *w, char *buf, size_t size)
{
	struct path_walk *pw = (struct path_walk *)w;

	return lyr_readlink(pw->l, w->done, buf, size);
}

/* A walk ending in "." or "..": one more lookup, when a stat is wanted. */
static int path_here(struct lyr_walk *w)
{
	struct path_walk *pw = (struct path_walk *)w;

	return pw->want ? lyr_lookup(pw->l, w->done, pw->st, NULL) : 0;
}

static const struct lyr_walk_ops path_walk_ops = {
	.step = path_step,
	.readlink = path_readlink,
	.here = path_here,
};

/*
 * The walk for a layer without a resolve member.  Results as the resolve
 * member's (layer.h); st NULL: no stat wanted (lyr_resolve), and no
 * lookup beyond the walk's own.
 */
static int path_walk(struct lyr_layer *l, const char *path, unsigned flags,
		     const char *root, char *out, size_t size, struct stat *want)
{
	struct stat tmp;
	struct path_walk pw = { .l = l, .st = want ? want : &tmp, .want = want != NULL };
	int r = lyr_walk_init(&pw.w, &path_walk_ops, NULL, root);

	if (r < 0)
		return r;
	r = lyr_walk_run(&pw.w, path, flags, out, size);
	if ((r == 0 || r == LYR_RESOLVE_MISSING) && pw.w.dlen + 1 > size)
		r = -ENAMETOOLONG;
	else if (r == 0 || r == LYR_RESOLVE_MISSING)
		memcpy(out, pw.w.done, pw.w.dlen + 1);
	lyr_walk_free(&pw.w, NULL);
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

/* ---- host directories ------------------------------------------------- */

int lyr_mkdirs(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);
	struct stat st;

	if (len == 0 || len >= sizeof(buf))
		return len ? -ENAMETOOLONG : -ENOENT;
	memcpy(buf, path, len + 1);
	for (char *s = buf + 1;; s++) {
		if (*s && *s != '/')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = c;
		if (!c)
			break;
	}
	if (stat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}
