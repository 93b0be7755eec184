/* SPDX-License-Identifier: MIT */
/*
 * walk.c - the one path walker (see walk.h).
 */
#define _GNU_SOURCE
#include "walk.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

int lyr_walk_init(struct lyr_walk *w, const struct lyr_walk_ops *ops, char *done,
		  const char *root)
{
	w->ops = ops;
	w->done = done ? done : malloc(PATH_MAX);
	if (!w->done)
		return -ENOMEM;
	w->done[0] = '\0';
	w->dlen = 0;
	w->cap = PATH_MAX;
	w->todo = "";
	w->tbuf = NULL;
	w->links = 0;
	w->keep_last = w->keep_target = false;
	w->root = root;
	w->rootlen = root ? strlen(root) : 0;
	while (w->rootlen > 1 && root[w->rootlen - 1] == '/')
		w->rootlen--;
	return 0;
}

void lyr_walk_free(struct lyr_walk *w, char *caller_done)
{
	if (w->done != caller_done)
		free(w->done);
	free(w->tbuf);
	w->done = NULL;
	w->tbuf = NULL;
}

int lyr_walk_push(struct lyr_walk *w, const char *c, size_t n)
{
	if (n > NAME_MAX || w->dlen + (w->dlen ? 1 : 0) + n + 1 > w->cap)
		return -ENAMETOOLONG;
	if (w->dlen)
		w->done[w->dlen++] = '/';
	memcpy(w->done + w->dlen, c, n);
	w->dlen += n;
	w->done[w->dlen] = '\0';
	return 0;
}

void lyr_walk_pop(struct lyr_walk *w)
{
	char *slash = memrchr(w->done, '/', w->dlen);

	w->dlen = slash ? (size_t)(slash - w->done) : 0;
	w->done[w->dlen] = '\0';
}

/* todo = target + "/" + rest (rest may point into todo; no '/' when it
 * is empty), in tbuf. */
static int walk_splice(struct lyr_walk *w, const char *target, size_t tlen,
		       const char *rest)
{
	char tmp[PATH_MAX];
	size_t rlen = strlen(rest), sep = rlen ? 1 : 0;

	if (tlen + sep + rlen + 1 > sizeof(tmp))
		return -ENAMETOOLONG;
	if (!w->tbuf && !(w->tbuf = malloc(PATH_MAX)))
		return -ENOMEM;
	memcpy(tmp, target, tlen);
	tmp[tlen] = '/';
	memcpy(tmp + tlen + sep, rest, rlen + 1);
	memcpy(w->tbuf, tmp, tlen + sep + rlen + 1);
	w->todo = w->tbuf;
	return 0;
}

/* todo, a host path now, into out (trailing slashes dropped). */
static int walk_escape(struct lyr_walk *w, char *out, size_t size)
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

/* Is the absolute target t (tlen bytes) at or below root? */
static bool walk_under_root(const struct lyr_walk *w, const char *t, size_t tlen)
{
	return strncmp(t, w->root, w->rootlen) == 0 &&
	       (tlen == w->rootlen || t[w->rootlen] == '/' || w->rootlen == 1);
}

/* Follows the symlink at done (its directory: done[0..saved)). */
static int walk_link(struct lyr_walk *w, size_t saved, const char *rest, char *out,
		     size_t size)
{
	char target[PATH_MAX];
	ssize_t tl;

	if (++w->links > LYR_MAXSYMLINKS)
		return -ELOOP;
	tl = w->ops->readlink(w, target, sizeof(target));
	if (tl < 0)
		return (int)tl;
	if (tl == 0)
		return -ENOENT;
	w->dlen = saved;
	w->done[saved] = '\0';
	const char *t = target;
	size_t tlen = (size_t)tl;
	if (t[0] == '/') {
		if (w->root && !walk_under_root(w, t, tlen)) {
			/* Leaves the layer: hand the host path back. */
			int r = walk_splice(w, t, tlen, rest);
			return r < 0 ? r : walk_escape(w, out, size);
		}
		if (w->root) {
			t += w->rootlen;
			tlen -= w->rootlen;
		}
		w->dlen = 0;
		w->done[0] = '\0';
		if (w->ops->reset)
			w->ops->reset(w);
	}
	return walk_splice(w, t, tlen, rest);
}

int lyr_walk_run(struct lyr_walk *w, const char *path, unsigned flags, char *out,
		 size_t size)
{
	bool have = false; /* the last step described done */
	int r;

	if (strlen(path) >= PATH_MAX)
		return -ENAMETOOLONG;
	w->todo = path;
	for (const char *p = w->todo;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *end = strchrnul(p, '/');
		size_t n = (size_t)(end - p);
		const char *rest = *end ? end + 1 : end;
		bool last = true, dotdot = n == 2 && p[0] == '.' && p[1] == '.';
		for (const char *q = rest; *q; q++)
			if (*q != '/') {
				last = false;
				break;
			}

		if (dotdot && w->dlen == 0 && w->root && w->rootlen > 1) {
			/* ".." at the mount point leads to the host directory above. */
			const char *slash = memrchr(w->root, '/', w->rootlen);
			size_t plen = slash && slash != w->root ? (size_t)(slash - w->root) : 1;
			r = walk_splice(w, w->root, plen, rest);
			return r < 0 ? r : walk_escape(w, out, size);
		}
		if (dotdot || (n == 1 && p[0] == '.')) {
			if (dotdot && w->dlen) {
				lyr_walk_pop(w);
				if (w->ops->up)
					w->ops->up(w);
			}
			have = false;
			p = rest;
			continue;
		}
		if ((r = lyr_walk_push(w, p, n)) < 0)
			return r;
		have = false;
		w->keep_target = false;
		r = w->ops->step(w, &rest, &last);
		if (r == -ENOENT && last)
			return LYR_RESOLVE_MISSING; /* creatable */
		if (r < 0)
			return r;
		if (r == LYR_WALK_STOP) {
			w->todo = rest;
			return r;
		}
		if (r == LYR_WALK_LINK && (!last || ((flags & LYR_RESOLVE_FOLLOW) && !w->keep_last))) {
			/* The link's directory: done less its last component (a
			 * step may have taken several). */
			const char *slash = memrchr(w->done, '/', w->dlen);
			size_t dir = slash ? (size_t)(slash - w->done) : 0;
			if ((r = walk_link(w, dir, rest, out, size)))
				return r;
			w->keep_last |= w->keep_target;
			p = w->todo;
			continue;
		}
		if (!last && r != LYR_WALK_DIR)
			return -ENOTDIR;
		have = true;
		p = rest;
	}
	if (!have && (r = w->ops->here(w)) < 0)
		return r;
	return 0;
}
