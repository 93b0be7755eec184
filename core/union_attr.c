/* SPDX-License-Identifier: MIT */
/*
 * union_attr.c - what the union checks and changes on one existing entry:
 * permissions, attributes (chmod, chown, utimens, truncate), xattrs, and
 * statfs.  A change to a lower entry copies it up first (copy_up.c), or
 * under writable-files semantics changes a lower file in place.  See
 * union.c for the semantics.
 *
 * Divisions: permissions, attributes, xattrs.
 */
#define _GNU_SOURCE
#include "union.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- permissions -------------------------------------------------------- */

bool u_is_root(void)
{
	return geteuid() == 0;
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
	if ((r = lyr_may_access(&pe.st, W_OK | X_OK, true)) < 0)
		return r;
	/* Sticky directory: only the owner of the entry or the directory. */
	if (e && e->top >= 0 && (pe.st.st_mode & S_ISVTX) &&
	    geteuid() != pe.st.st_uid && geteuid() != e->st.st_uid)
		return -EPERM;
	return 0;
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
int u_find_existing(struct u_union *u, const char *path, struct u_ent *e)
{
	int r = u_check_name(path, false);

	return r ? r : u_find(u, path, e, 0);
}

/*
 * u_find_existing, then -EROFS when e cannot change at all (no upper
 * layer, and not a file changed in place): a read-only mount says so
 * before it checks permissions.
 */
int u_find_changeable(struct u_union *u, const char *path, struct u_ent *e)
{
	int r = u_find_existing(u, path, e);

	if (r)
		return r;
	if (!u_upper(u) && !((u->flags & LYR_UNION_WRITABLE_FILES) &&
			     S_ISREG(e->st.st_mode)))
		return -EROFS;
	return 0;
}

int u_chmod(struct lyr_layer *l, const char *path, mode_t mode)
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

int u_chown(struct lyr_layer *l, const char *path, uid_t uid, gid_t gid)
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
		    (!owner || !group_member(gid)))
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

int u_utimens(struct lyr_layer *l, const char *path,
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
		if ((r = lyr_may_access(&e.st, W_OK, true)))
			return r;
	}
	if ((k = u_change_target(u, path, &e, -1)) < 0)
		return k;
	return lyr_utimens(u->layers[k], path, ts);
}

/* truncate keeps the first length bytes: only those are copied up. */
int u_truncate(struct lyr_layer *l, const char *path, off_t length)
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
	if ((r = lyr_may_access(&e.st, W_OK, true)))
		return r;
	k = u_change_target(u, path, &e, length < e.st.st_size ? length : e.st.st_size);
	if (k < 0)
		return k;
	return lyr_truncate(u->layers[k], path, length);
}

/* ---- xattrs ------------------------------------------------------------- */

ssize_t u_getxattr(struct lyr_layer *l, const char *path,
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

ssize_t u_listxattr(struct lyr_layer *l, const char *path, char *buf,
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
	return lyr_may_access(&e->st, W_OK, true);
}

/* What setting or removing xattr name of path checks first: the entry
 * into *e, 0 or -errno. */
static int u_xattr_changeable(struct u_union *u, const char *path, const char *name,
			      struct u_ent *e)
{
	int r;

	if ((r = u_find_changeable(u, path, e)))
		return r;
	if (u_is_private_xattr(name))
		return -ENOTSUP;
	return u_may_xattr(e, name);
}

int u_setxattr(struct lyr_layer *l, const char *path, const char *name,
		      const void *value, size_t size, int flags)
{
	struct u_union *u = u_of(l);
	struct u_ent e;
	int r, k;

	if ((r = u_xattr_changeable(u, path, name, &e)))
		return r;
	if ((k = u_change_target(u, path, &e, -1)) < 0)
		return k;
	return lyr_setxattr(u->layers[k], path, name, value, size, flags);
}

int u_removexattr(struct lyr_layer *l, const char *path, const char *name)
{
	struct u_union *u = u_of(l);
	struct u_ent e;
	ssize_t n;
	int r, k;

	if ((r = u_xattr_changeable(u, path, name, &e)))
		return r;
	/* Nothing to remove: say so without copying anything up. */
	n = lyr_getxattr(u->layers[e.top], path, name, NULL, 0);
	if (n < 0)
		return (int)n;
	if ((k = u_change_target(u, path, &e, -1)) < 0)
		return k;
	return lyr_removexattr(u->layers[k], path, name);
}

int u_statfs(struct lyr_layer *l, struct statvfs *sv)
{
	struct u_union *u = u_of(l);

	return lyr_statfs(u->layers[u_upper(u) ? 0 : 1], sv);
}

/* Locks are the upper layer's: it is shared by whoever shares the view. */
int u_lock_fd(struct lyr_layer *l, uint64_t key)
{
	struct u_union *u = u_of(l);

	return u_upper(u) ? lyr_lock_fd(u_upper(u), key) : -ENOSYS;
}

/*
 * A name of the file behind fd (layer.h): the first layer's, topmost
 * first, that knows fd as one of its files, while the view still shows
 * that layer's entry there, or its copy-up (a lower file removed,
 * replaced or whited out since has no name in the view).
 */
int u_fd_name(struct lyr_layer *l, int fd, char *buf, size_t size)
{
	struct u_union *u = u_of(l);
	struct u_ent e;
	int r = -ENOENT;
	size_t k;

	for (k = 0; k < u->n && (r == -ENOENT || r == -ENOSYS); k++)
		if (u->layers[k])
			r = lyr_fd_name(u->layers[k], fd, buf, size);
	if (r < 0)
		return r == -ENOSYS ? -ENOENT : r;
	k--;
	if (k == 0)
		return 0;
	/* A directory: one of those merged there; anything else: the top,
	 * or the upper's copy of it (the same file of the view). */
	if (u_find_existing(u, buf, &e) < 0)
		return -ENOENT;
	if (S_ISDIR(e.st.st_mode) ? (e.dirs & U_BIT(k)) != 0 : e.top == (int)k)
		return 0;
	struct stat ls;
	uint64_t ino;
	if (!S_ISDIR(e.st.st_mode) && e.top == 0 && u_get_origin(u, buf, &ino) == 0 &&
	    lyr_lookup(u->layers[k], buf, &ls, NULL) == 0 && ino == U_INO(k, ls.st_ino))
		return 0;
	return -ENOENT;
}
