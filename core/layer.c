/* SPDX-License-Identifier: MIT */
/*
 * layer.c - the dispatchers over struct lyr_layer_ops, listings, errors
 * (kept fds are in keep.c, the metadata rules in meta.c, where the cache
 * is in cache.c).
 *
 * Every call into a layer goes through one of these one-liners, so a NULL
 * member means "not supported" in one place: -EROFS for an operation that
 * would change the tree, -ENOSYS for the others.
 */
#define _GNU_SOURCE
#include "layerfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CALL(l, op, fallback, ...) \
	((l)->ops->op ? (l)->ops->op((l), __VA_ARGS__) : (fallback))

int lyr_lookup(struct lyr_layer *l, const char *path, struct stat *st,
	       unsigned *flags)
{
	if (flags)
		*flags = 0;
	return CALL(l, lookup, -ENOSYS, path, st, flags);
}

int lyr_open(struct lyr_layer *l, const char *path, int flags, mode_t mode)
{
	/* Linux 6.x: creating and asking for a directory is invalid. */
	if ((flags & O_CREAT) && (flags & O_DIRECTORY))
		return -EINVAL;
	return CALL(l, open, -ENOSYS, path, flags, mode);
}

int lyr_readdir(struct lyr_layer *l, const char *path, struct lyr_dirlist *out)
{
	memset(out, 0, sizeof(*out));
	return CALL(l, readdir, -ENOSYS, path, out);
}

ssize_t lyr_readlink(struct lyr_layer *l, const char *path, char *buf, size_t size)
{
	return CALL(l, readlink, -ENOSYS, path, buf, size);
}

int lyr_mkdir(struct lyr_layer *l, const char *path, mode_t mode)
{
	return CALL(l, mkdir, -EROFS, path, mode);
}

int lyr_mknod(struct lyr_layer *l, const char *path, mode_t mode, dev_t dev)
{
	return CALL(l, mknod, -EROFS, path, mode, dev);
}

int lyr_symlink(struct lyr_layer *l, const char *target, const char *path)
{
	return CALL(l, symlink, -EROFS, target, path);
}

int lyr_link(struct lyr_layer *l, const char *oldpath, const char *newpath)
{
	return CALL(l, link, -EROFS, oldpath, newpath);
}

int lyr_unlink(struct lyr_layer *l, const char *path)
{
	return CALL(l, unlink, -EROFS, path);
}

int lyr_rmdir(struct lyr_layer *l, const char *path)
{
	return CALL(l, rmdir, -EROFS, path);
}

int lyr_rename(struct lyr_layer *l, const char *from, const char *to, unsigned flags)
{
	return CALL(l, rename, -EROFS, from, to, flags);
}

int lyr_chmod(struct lyr_layer *l, const char *path, mode_t mode)
{
	return CALL(l, chmod, -EROFS, path, mode);
}

int lyr_chown(struct lyr_layer *l, const char *path, uid_t uid, gid_t gid)
{
	return CALL(l, chown, -EROFS, path, uid, gid);
}

int lyr_utimens(struct lyr_layer *l, const char *path, const struct timespec ts[2])
{
	return CALL(l, utimens, -EROFS, path, ts);
}

int lyr_truncate(struct lyr_layer *l, const char *path, off_t length)
{
	return CALL(l, truncate, -EROFS, path, length);
}

int lyr_whiteout(struct lyr_layer *l, const char *path)
{
	return CALL(l, whiteout, -EROFS, path);
}

int lyr_set_opaque(struct lyr_layer *l, const char *path)
{
	return CALL(l, set_opaque, -EROFS, path);
}

int lyr_statfs(struct lyr_layer *l, struct statvfs *sv)
{
	return CALL(l, statfs, -ENOSYS, sv);
}

ssize_t lyr_getxattr(struct lyr_layer *l, const char *path, const char *name,
		     void *buf, size_t size)
{
	return CALL(l, getxattr, -ENOTSUP, path, name, buf, size);
}

ssize_t lyr_listxattr(struct lyr_layer *l, const char *path, char *buf, size_t size)
{
	return CALL(l, listxattr, 0, path, buf, size);
}

int lyr_setxattr(struct lyr_layer *l, const char *path, const char *name,
		 const void *value, size_t size, int flags)
{
	return CALL(l, setxattr, (l->flags & LYR_LAYER_RDONLY) ? -EROFS : -ENOTSUP,
		    path, name, value, size, flags);
}

int lyr_removexattr(struct lyr_layer *l, const char *path, const char *name)
{
	return CALL(l, removexattr, (l->flags & LYR_LAYER_RDONLY) ? -EROFS : -ENOTSUP,
		    path, name);
}

int lyr_tmpfile(struct lyr_layer *l, const char *dir, mode_t mode)
{
	return CALL(l, tmpfile, -EROFS, dir, mode);
}

int lyr_link_tmp(struct lyr_layer *l, int fd, const char *path)
{
	return CALL(l, link_tmp, -EROFS, fd, path);
}

int lyr_link_copy(struct lyr_layer *l, int fd, const char *path)
{
	if (l->ops->version >= 3 && l->ops->link_copy)
		return l->ops->link_copy(l, fd, path);
	return lyr_link_tmp(l, fd, path);
}

int lyr_mkdir_copy(struct lyr_layer *l, const char *path, mode_t mode)
{
	if (l->ops->version >= 3 && l->ops->mkdir_copy)
		return l->ops->mkdir_copy(l, path, mode);
	return lyr_mkdir(l, path, mode);
}

int lyr_lock_fd(struct lyr_layer *l, uint64_t key)
{
	if (l->ops->version >= 4 && l->ops->lock_fd)
		return l->ops->lock_fd(l, key);
	return -ENOSYS;
}

ssize_t lyr_fd_path(int fd, char *buf, size_t size)
{
	char proc[32];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(proc, buf, size);
	if (n < 0)
		return -errno;
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	if (buf[0] != '/' || (n > 10 && !strcmp(buf + n - 10, " (deleted)")))
		return -ENOENT;
	return n;
}

int lyr_fd_name(struct lyr_layer *l, int fd, char *buf, size_t size)
{
	if (l->ops->version >= 3 && l->ops->fd_name)
		return l->ops->fd_name(l, fd, buf, size);
	return -ENOSYS;
}

void lyr_destroy(struct lyr_layer *l)
{
	if (l && l->ops->destroy)
		l->ops->destroy(l);
}

int lyr_seterr(struct lyr_error *err, int errnum, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return errnum > 0 ? -errnum : errnum;
}

int lyr_dirlist_add(struct lyr_dirlist *d, const char *name, uint64_t ino,
		    unsigned char type)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct lyr_dirent *e = realloc(d->ents, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		d->ents = e;
		d->cap = cap;
	}
	char *copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	d->ents[d->n++] = (struct lyr_dirent){ .ino = ino, .type = type, .name = copy };
	return 0;
}

void lyr_dirlist_free(struct lyr_dirlist *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->ents[i].name);
	free(d->ents);
	memset(d, 0, sizeof(*d));
}
