/* SPDX-License-Identifier: MIT */
/*
 * walk.h - the one path walker of the core (private to core/).
 *
 * Resolving a path means walking it one component at a time, as the
 * kernel's namei does: "." stays, ".." goes up (never above the root),
 * a symlink's target is spliced in front of what is left (an absolute
 * one restarts at the root), at most LYR_MAXSYMLINKS links are followed,
 * and a non-directory in the middle is -ENOTDIR.  lyr_walk_run does all
 * of that; what a component is, its user says through a step function:
 *
 *   path.c   a layer without a resolve member: one lyr_lookup per prefix;
 *   union.c  the union's resolve member: each component asked only of the
 *            layers merged into its directory (u_trail);
 *   mount.c  a union seen at a host path: host components on the host,
 *            those under the mount point in the union, the border crossed
 *            both ways by "..", symlinks and /proc's magic links.
 *
 * The walker owns the done and todo buffers: done is the resolved prefix
 * (components joined by '/', no leading '/'; "" is the root), todo what
 * is left, the caller's string until the first symlink is spliced in.
 */
#ifndef LAYERFS_WALK_H
#define LAYERFS_WALK_H

#include "layerfs.h"

#include <stdbool.h>

/* What a step found (lyr_walk_ops.step's positive results). */
#define LYR_WALK_DIR   1 /* a directory: the walk may go below it */
#define LYR_WALK_LINK  2 /* a symlink: readlink gives its target */
#define LYR_WALK_OTHER 3 /* anything else */
#define LYR_WALK_STOP  4 /* the rest is not the walk's to resolve: stop here */

struct lyr_walk;

struct lyr_walk_ops {
	/*
	 * The component just appended to done (its last one).  Returns
	 * LYR_WALK_* or -errno (-ENOENT: it does not exist).  A step may take
	 * more than one component: it then extends done itself, moves *rest
	 * past what it took and sets *last when nothing is left.
	 */
	int (*step)(struct lyr_walk *w, const char **rest, bool *last);
	/* The target of the symlink the last step found (not NUL-terminated). */
	ssize_t (*readlink)(struct lyr_walk *w, char *buf, size_t size);
	/* done lost its last component (".."), or was emptied (an absolute
	 * target): the step's state follows.  May be NULL. */
	void (*up)(struct lyr_walk *w);
	void (*reset)(struct lyr_walk *w);
	/* The walk ended on "." or ".." (or the path was empty): describe
	 * done itself as a step would.  0 or -errno. */
	int (*here)(struct lyr_walk *w);
};

struct lyr_walk {
	const struct lyr_walk_ops *ops;
	char *done;           /* cap bytes */
	size_t dlen;
	size_t cap;           /* PATH_MAX, unless the user says otherwise */
	const char *todo;     /* what is left */
	char *tbuf;           /* PATH_MAX bytes, from the first splice on */
	int links;            /* symlinks followed so far */
	bool keep_last;       /* the last component is taken as it is, never
				 followed: what a /proc magic link leads to is
				 the file itself */
	bool keep_target;     /* a step says so of the link it found: keep_last
				 once its target is spliced in */
	const char *root;     /* NULL, or where the layer is seen on the host */
	size_t rootlen;
};

/*
 * Prepares w for ops; done is the caller's buffer of PATH_MAX bytes (or of
 * w->cap bytes, set after this call), or NULL to have one allocated.  root: as lyr_resolve's (NULL: absolute
 * targets start at the walk's root, ".." stops there).  0 or -ENOMEM.
 */
int lyr_walk_init(struct lyr_walk *w, const struct lyr_walk_ops *ops, char *done,
		  const char *root);
/* Frees what lyr_walk_init and the walk allocated (not the caller's done). */
void lyr_walk_free(struct lyr_walk *w, char *caller_done);

/*
 * Walks path from done as it stands (the root, or where the caller put
 * it).  flags: LYR_RESOLVE_FOLLOW.  Returns 0 (done resolved; the last
 * step or here() described it), LYR_RESOLVE_MISSING (only the last
 * component is missing; done names it), LYR_RESOLVE_ESCAPED (with root:
 * out holds the host path to go on from; the walk left the layer by ".."
 * at its root or an absolute target outside root), LYR_WALK_STOP (a step
 * said so: done holds what was resolved, w->todo what was not), or
 * -errno.
 */
int lyr_walk_run(struct lyr_walk *w, const char *path, unsigned flags, char *out,
		 size_t size);

/* Appends component c (n bytes) to done: 0 or -ENAMETOOLONG. */
int lyr_walk_push(struct lyr_walk *w, const char *c, size_t n);
/* Drops done's last component (the root stays the root). */
void lyr_walk_pop(struct lyr_walk *w);

#endif
