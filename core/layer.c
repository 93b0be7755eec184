/* SPDX-License-Identifier: MIT */
/*
 * layer.c - the dispatchers over struct lyr_layer_ops, listings, errors.
 *
 * Every call into a layer goes through one of these one-liners, so a NULL
 * member means "not supported" in one place: -EROFS for an operation that
 * would change the tree, -ENOSYS for the others.
 */
#define _GNU_SOURCE
#include "layerfs.h"

#include <dirent.h>
#include <grp.h>
#include <fcntl.h>
#include <pthread.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
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

unsigned char lyr_mode_to_dt(mode_t mode)
{
	return IFTODT(mode);
}

static int cache_join(char *buf, size_t size, const char *a, const char *b)
{
	int n = snprintf(buf, size, "%s%s", a, b);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int lyr_default_cache_dir(char *buf, size_t size)
{
	const char *v;

	if ((v = getenv("LAYERFS_CACHE")) && *v)
		return cache_join(buf, size, v, "");
	if ((v = getenv("XDG_CACHE_HOME")) && *v == '/')
		return cache_join(buf, size, v, "/layerfs");
	if ((v = getenv("HOME")) && *v == '/' && access(v, W_OK) == 0)
		return cache_join(buf, size, v, "/.cache/layerfs");
	v = getenv("TMPDIR");
	int n = snprintf(buf, size, "%s/layerfs-%u", v && *v == '/' ? v : "/tmp",
			 (unsigned)getuid());
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/*
 * Kept fds: a table indexed by fd number holding the address of the
 * variable a layer keeps each fd in.  Lookups take no lock (the interposer
 * asks on every close); changes take kept_lock.  A table that grows is
 * replaced, and the old one stays reachable on a list, so a reader that
 * still holds it never touches freed memory.
 */
struct kept_table {
	size_t n;
	struct kept_table *retired; /* the table this one replaced */
	int *slot[];                /* n entries */
};
static struct kept_table *kept;
static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;

/* Caller holds kept_lock.  Makes room for fd; -ENOMEM. */
static int kept_grow(int fd)
{
	struct kept_table *t = kept;

	if (t && (size_t)fd < t->n)
		return 0;
	size_t n = t ? t->n : 1024;
	while (n <= (size_t)fd)
		n *= 2;
	struct kept_table *nt = calloc(1, sizeof(*nt) + n * sizeof(int *));
	if (!nt)
		return -ENOMEM;
	nt->n = n;
	nt->retired = t;
	if (t)
		memcpy(nt->slot, t->slot, t->n * sizeof(int *));
	__atomic_store_n(&kept, nt, __ATOMIC_RELEASE);
	return 0;
}

/* Caller holds kept_lock. */
static void kept_set(int fd, int *slot)
{
	if (fd >= 0 && (size_t)fd < kept->n)
		__atomic_store_n(&kept->slot[fd], slot, __ATOMIC_RELEASE);
}

int lyr_fd_keep(int *slot)
{
	int hi = fcntl(*slot, F_DUPFD_CLOEXEC, LYR_FD_LOW);

	if (hi >= 0) {
		close(*slot);
		*slot = hi;
	}
	pthread_mutex_lock(&kept_lock);
	int r = kept_grow(*slot);
	if (r == 0)
		kept_set(*slot, slot);
	pthread_mutex_unlock(&kept_lock);
	return r;
}

void lyr_fd_release(int *slot)
{
	pthread_mutex_lock(&kept_lock);
	if (kept && *slot >= 0 && (size_t)*slot < kept->n && kept->slot[*slot] == slot)
		kept_set(*slot, NULL);
	pthread_mutex_unlock(&kept_lock);
}

bool lyr_fd_is_kept(int fd)
{
	struct kept_table *t = __atomic_load_n(&kept, __ATOMIC_ACQUIRE);

	return t && fd >= 0 && (size_t)fd < t->n &&
	       __atomic_load_n(&t->slot[fd], __ATOMIC_ACQUIRE);
}

int lyr_fd_move(int fd)
{
	int r = 0;

	pthread_mutex_lock(&kept_lock);
	int *slot = lyr_fd_is_kept(fd) ? kept->slot[fd] : NULL;
	if (slot) {
		int hi = fcntl(fd, F_DUPFD_CLOEXEC, LYR_FD_LOW);
		if (hi < 0 || kept_grow(hi) < 0) {
			r = hi < 0 ? -errno : -ENOMEM;
			if (hi >= 0)
				close(hi);
		} else {
			kept_set(fd, NULL);
			kept_set(hi, slot);
			__atomic_store_n(slot, hi, __ATOMIC_RELEASE);
			close(fd);
		}
	}
	pthread_mutex_unlock(&kept_lock);
	return r;
}

void lyr_stat_to_statx(const struct stat *st, struct statx *stx)
{
	memset(stx, 0, sizeof(*stx));
	stx->stx_mask = STATX_BASIC_STATS;
	stx->stx_blksize = (uint32_t)st->st_blksize;
	stx->stx_nlink = (uint32_t)st->st_nlink;
	stx->stx_uid = st->st_uid;
	stx->stx_gid = st->st_gid;
	stx->stx_mode = (uint16_t)st->st_mode;
	stx->stx_ino = st->st_ino;
	stx->stx_size = (uint64_t)st->st_size;
	stx->stx_blocks = (uint64_t)st->st_blocks;
	stx->stx_atime = (struct statx_timestamp){ st->st_atim.tv_sec,
						   (uint32_t)st->st_atim.tv_nsec, 0 };
	stx->stx_mtime = (struct statx_timestamp){ st->st_mtim.tv_sec,
						   (uint32_t)st->st_mtim.tv_nsec, 0 };
	stx->stx_ctime = (struct statx_timestamp){ st->st_ctim.tv_sec,
						   (uint32_t)st->st_ctim.tv_nsec, 0 };
	stx->stx_rdev_major = major(st->st_rdev);
	stx->stx_rdev_minor = minor(st->st_rdev);
	stx->stx_dev_major = major(st->st_dev);
	stx->stx_dev_minor = minor(st->st_dev);
}

int lyr_may_access(const struct stat *st, int mode, bool effective)
{
	uid_t uid = effective ? geteuid() : getuid();
	gid_t gid = effective ? getegid() : getgid();
	mode_t bits;

	if (mode == F_OK)
		return 0;
	if (uid == 0) {
		if ((mode & X_OK) && !S_ISDIR(st->st_mode) && !(st->st_mode & 0111))
			return -EACCES;
		return 0;
	}
	if (st->st_uid == uid)
		bits = (st->st_mode >> 6) & 7;
	else if (st->st_gid == gid || group_member(st->st_gid))
		bits = (st->st_mode >> 3) & 7;
	else
		bits = st->st_mode & 7;
	return ((unsigned)mode & ~bits & 7) ? -EACCES : 0;
}

void lyr_statvfs_to_statfs(const struct statvfs *sv, dev_t dev, struct statfs *sf)
{
	memset(sf, 0, sizeof(*sf));
	sf->f_type = 0x794c7630; /* OVERLAYFS_SUPER_MAGIC */
	sf->f_bsize = (long)sv->f_bsize;
	sf->f_frsize = (long)sv->f_frsize;
	sf->f_blocks = sv->f_blocks;
	sf->f_bfree = sv->f_bfree;
	sf->f_bavail = sv->f_bavail;
	sf->f_files = sv->f_files;
	sf->f_ffree = sv->f_ffree;
	sf->f_namelen = (long)sv->f_namemax;
	sf->f_flags = (long)sv->f_flag;
	memcpy(&sf->f_fsid, &dev, sizeof(sf->f_fsid) < sizeof(dev) ? sizeof(sf->f_fsid) :
	       sizeof(dev));
}
