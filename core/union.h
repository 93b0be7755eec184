/* SPDX-License-Identifier: MIT */
/*
 * union.h - private to the layered union (union*.c, copy_up.c).
 *
 * The union is an array of layers: [0] the writable upper layer (NULL for a
 * read-only view), [1..n-1] the lowers, topmost first.  A path resolves to
 * a struct u_ent: the layer that answers for it (the "top") and, for a
 * directory, the set of layers whose directories are merged into it.  Sets
 * of layers are bit masks (bit k = layer k), so a union has at most
 * U_MAX_LAYERS layers; that is also what the inode number scheme allows.
 *
 * Prototypes are grouped by the file that defines them.
 */
#ifndef LAYERFS_UNION_H
#define LAYERFS_UNION_H

#include "layerfs.h"

#include <limits.h>
#include <stdbool.h>

#define U_MAX_LAYERS (LYR_MAX_LOWER + 1)
#define U_INO_SHIFT  58
#define U_INO_MASK   ((UINT64_C(1) << U_INO_SHIFT) - 1)
/* The view inode number of raw inode ino from layer k. */
#define U_INO(k, ino) (((uint64_t)(k) << U_INO_SHIFT) | ((uint64_t)(ino) & U_INO_MASK))
#define U_BIT(k)      (UINT64_C(1) << (k))

/* An upper entry's view inode number, when it differs from its own. */
#define U_ORIGIN_XATTR    LYR_XATTR_ORIGIN
/* Every xattr under this prefix belongs to layerfs and is hidden. */
#define U_PRIVATE_XATTR   LYR_XATTR_PREFIX

struct u_union {
	struct lyr_layer base;      /* first: a union is a layer */
	size_t n;                   /* layers: upper slot + lowers */
	struct lyr_layer **layers;  /* [0] upper or NULL, then lowers */
	uint64_t root_mask;         /* layers merged into the root */
	unsigned flags;             /* LYR_UNION_* */
	lyr_copy_up_fn *copied_up;  /* may be NULL */
	void *copied_up_ctx;
	dev_t dev;                  /* st_dev of every entry */
	uint64_t serial;            /* this union's, unique in the process */
	bool stable;                /* u_change_token: its lowers are archives
				       and its upper (if any) keeps a change
				       counter */
};

/* What a path resolves to. */
struct u_ent {
	int top;            /* layer answering for the path; -1: none */
	unsigned tflags;    /* top's lookup flags (LYR_OPAQUE) */
	struct stat st;     /* top's stat, raw */
	uint64_t dirs;      /* a directory: layers merged into it */
	int dlow;           /* a directory: topmost merged lower layer, or -1 */
	uint64_t dlow_ino;  /* ... and its raw st_ino */
	bool parent_ok;     /* -ENOENT: the parent is a visible directory */
	bool have_parent;   /* pmask is known */
	uint64_t pmask;     /* layers merged into the parent directory */
};

/* u_walk / u_find: what the caller needs beyond the answer itself. */
#define U_WANT_PARENT 0x1u /* pmask (full walk), and parent_ok on -ENOENT */
#define U_WANT_CREATE 0x2u /* parent_ok on -ENOENT */
#define U_UPPER_LACKS 0x4u /* u_walk: the upper layer is known to lack path */

static inline struct u_union *u_of(struct lyr_layer *l)
{
	return (struct u_union *)l;
}

static inline struct lyr_layer *u_upper(const struct u_union *u)
{
	return u->layers[0];
}

static inline int u_popcount(uint64_t m)
{
	return __builtin_popcountll(m);
}

static inline int u_first(uint64_t m)
{
	return __builtin_ctzll(m);
}

/*
 * The union's state down a walk of the one walker (walk.h): for each
 * depth of the walk's done, the layers merged into that directory, so
 * that the next component is asked only of those, and ".." or a relative
 * symlink goes back up without a lookup; and the entry the last step
 * found.  base: the length of done's part above the union (0 when done
 * is a layer path; a mount point's when done is a host path).
 */
struct u_trail {
	struct u_union *u;
	size_t depth;
	uint64_t *masks;   /* masks[i]: the directory i components below base */
	size_t cap;
	uint64_t inl[32];  /* masks' first slots, in place */
	struct u_ent e;    /* what the last step (or here) found */
};

struct lyr_walk;

/* union.c */
int u_lookup_in(struct u_union *u, int k, const char *path, struct stat *st,
		unsigned *fl);
void u_ent_init(struct u_ent *e);
void u_found_set(struct u_union *u, struct lyr_found *f, const struct u_ent *e);
int u_found_get(const struct lyr_found *f, struct u_ent *e);

/* union_lookup.c */
int u_level(struct u_union *u, uint64_t m, const char *path, struct u_ent *e);
int u_walk(struct u_union *u, const char *path, struct u_ent *e, unsigned want);
int u_find(struct u_union *u, const char *path, struct u_ent *e, unsigned want);
uint64_t u_view_ino(struct u_union *u, const char *path, const struct u_ent *e);
void u_view_stat(struct u_union *u, const char *path, const struct u_ent *e,
		 struct stat *st);
int u_get_origin(struct u_union *u, const char *path, mode_t mode, uint64_t *ino);
int u_below(struct u_union *u, const struct u_ent *e, const char *path,
	    struct stat *st);
void u_trail_init(struct u_trail *t, struct u_union *u);
void u_trail_free(struct u_trail *t);
/* The walk's hooks (walk.h) for done[base..], as steps of the union. */
int u_trail_step(struct u_trail *t, struct lyr_walk *w, size_t base, const char **rest,
		 bool *last);
ssize_t u_trail_readlink(struct u_trail *t, struct lyr_walk *w, size_t base, char *buf,
			 size_t size);
int u_trail_here(struct u_trail *t, struct lyr_walk *w, size_t base);
void u_trail_up(struct u_trail *t);
void u_trail_reset(struct u_trail *t);
int u_resolve_found(struct u_union *u, const char *path, unsigned flags, const char *root,
		    struct lyr_found *f);

/* union.c */
int u_check_name(const char *path, bool create);
bool u_change_token(struct u_union *u, uint64_t *tok);
bool u_is_private_xattr(const char *name);
int u_join(char *out, size_t size, const char *dir, const char *name);

/* union_attr.c */
bool u_is_root(void);
int u_may_create(struct u_union *u, const char *path, const struct u_ent *e);
int u_find_existing(struct u_union *u, const char *path, struct u_ent *e);
int u_find_changeable(struct u_union *u, const char *path, struct u_ent *e);
int u_chmod(struct lyr_layer *l, const char *path, mode_t mode);
int u_chown(struct lyr_layer *l, const char *path, uid_t uid, gid_t gid);
int u_utimens(struct lyr_layer *l, const char *path, const struct timespec ts[2]);
int u_truncate(struct lyr_layer *l, const char *path, off_t length);
ssize_t u_getxattr(struct lyr_layer *l, const char *path, const char *name, void *buf,
		   size_t size);
ssize_t u_listxattr(struct lyr_layer *l, const char *path, char *buf, size_t size);
int u_setxattr(struct lyr_layer *l, const char *path, const char *name,
	       const void *value, size_t size, int flags);
int u_removexattr(struct lyr_layer *l, const char *path, const char *name);
int u_statfs(struct lyr_layer *l, struct statvfs *sv);
int u_fd_name(struct lyr_layer *l, int fd, char *buf, size_t size);
int u_lock_fd(struct lyr_layer *l, uint64_t key);

/* copy_up.c */
int u_copy_up(struct u_union *u, const char *path, const struct u_ent *e,
	      off_t len);
int u_copy_up_dirs(struct u_union *u, const char *dir);
int u_copy_up_parents(struct u_union *u, const char *path);
int u_copy_up_tree(struct u_union *u, const char *path, const struct u_ent *e);

/* union_dir.c */
int u_readdir(struct lyr_layer *l, const char *path, struct lyr_dirlist *out);
int u_merge(struct u_union *u, const char *path, const struct u_ent *e,
	    struct lyr_dirlist *out, bool inos);
int u_dir_empty(struct u_union *u, const char *path, const struct u_ent *e);
int u_create(struct u_union *u, const char *path, const struct u_ent *e,
	     int flags, mode_t mode);
int u_mkdir(struct lyr_layer *l, const char *path, mode_t mode);
int u_mknod(struct lyr_layer *l, const char *path, mode_t mode, dev_t dev);
int u_symlink(struct lyr_layer *l, const char *target, const char *path);
int u_link(struct lyr_layer *l, const char *oldpath, const char *newpath);
int u_unlink(struct lyr_layer *l, const char *path);
int u_rmdir(struct lyr_layer *l, const char *path);
int u_rename(struct lyr_layer *l, const char *from, const char *to,
	     unsigned flags);
int u_link_tmp(struct lyr_layer *l, int fd, const char *path);

#endif
