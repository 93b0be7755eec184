/* SPDX-License-Identifier: MIT */
/*
 * wrap_dir.c - directory streams and getdents on view directories.
 *
 * glibc's readdir reads the real fd with its internal getdents, which a
 * wrapper never sees, so a view directory gets its own DIR: struct vdir.
 * Its first member is the fd, like glibc's DIR, so the passthrough test for
 * any DIR * is one bit test on *(int *)dir.  The entries come from one
 * snapshot of the merged listing per open file description (struct vfile),
 * so dups and getdents64 share a position; positions are listing indexes,
 * stable while the directory is unchanged (telldir/seekdir work).
 */
#include "real.h"

struct vdir {
	int fd;                  /* first, as in glibc's DIR */
	struct vfile *vf;
	union {
		struct dirent64 d64;
		struct dirent d;
	} ent;
};

_Static_assert(sizeof(struct dirent) == sizeof(struct dirent64),
	       "struct dirent and dirent64 differ on this ABI");

static inline bool dir_is_virtual(DIR *d)
{
	SHIM_OPAQUE(d);
	return d && shim_fd_is_virtual(*(int *)d);
}

/* Caller holds vf->lock.  Takes the snapshot on first use. */
static int dir_fill(struct vfile *vf)
{
	int err = 0;
	struct lyr_layer *fs;

	if (vf->listed)
		return 0;
	if (shim_vf_flags(vf) & VF_GONE) {
		/* A removed directory lists nothing, as in the kernel. */
		memset(&vf->list, 0, sizeof(vf->list));
		vf->listed = true;
		return 0;
	}
	if (!(fs = shim_enter(&err)))
		return -err;
	const char *path = shim_vf_path(vf);
	int r = lyr_readdir(fs, path, &vf->list);
	shim_leave(r < 0 ? r : (long)vf->list.n, "readdir", path);
	if (r < 0)
		return r;
	vf->listed = true;
	return 0;
}

static void dir_refresh(struct vfile *vf)
{
	pthread_mutex_lock(&vf->lock);
	lyr_dirlist_free(&vf->list);
	vf->listed = false;
	vf->pos = 0;
	pthread_mutex_unlock(&vf->lock);
}

/* The next entry, or NULL at the end (errno untouched) or on error. */
static struct dirent64 *vreaddir(struct vdir *d)
{
	struct vfile *vf = d->vf;
	struct dirent64 *e = &d->ent.d64;
	int saved = errno;

	pthread_mutex_lock(&vf->lock);
	int r = dir_fill(vf);
	errno = saved;
	if (r < 0 || vf->pos >= vf->list.n) {
		pthread_mutex_unlock(&vf->lock);
		if (r < 0)
			errno = -r;
		return NULL;
	}
	const struct lyr_dirent *de = &vf->list.ents[vf->pos++];
	e->d_ino = de->ino;
	e->d_off = (off64_t)vf->pos;
	e->d_type = de->type;
	size_t nl = strnlen(de->name, sizeof(e->d_name) - 1);
	memcpy(e->d_name, de->name, nl);
	e->d_name[nl] = '\0';
	e->d_reclen = (unsigned short)(offsetof(struct dirent64, d_name) + nl + 1);
	pthread_mutex_unlock(&vf->lock);
	return e;
}

static DIR *vdir_new(int fd)
{
	struct vfile *vf = shim_fd_get(fd);
	struct vdir *d;

	if (!vf) {
		errno = EBADF;
		return NULL;
	}
	if (!(shim_vf_flags(vf) & VF_DIR)) {
		shim_vfile_put(vf);
		errno = ENOTDIR;
		return NULL;
	}
	if (!(d = calloc(1, sizeof(*d)))) {
		shim_vfile_put(vf);
		errno = ENOMEM;
		return NULL;
	}
	d->fd = fd;
	d->vf = vf;
	return (DIR *)d;
}

SHIM_EXPORT DIR *opendir(const char *path)
{
	if (!shim_maybe_virtual(AT_FDCWD, path)) {
		DIR *d = REAL(opendir)(path);
		if (d)
			shim_fd_host_opened(dirfd(d), path);
		if (d || !shim_missed(AT_FDCWD, path, true))
			return d;
	}
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (!shim_fd_is_virtual(fd)) {
		/* The path left the view through a symlink. */
		DIR *d = REAL(fdopendir)(fd);
		if (!d)
			REAL(close)(fd);
		return d;
	}
	DIR *d = vdir_new(fd);
	if (!d) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return d;
}

SHIM_EXPORT DIR *fdopendir(int fd)
{
	if (!shim_fd_is_virtual(fd))
		return REAL(fdopendir)(fd);
	return vdir_new(fd);
}

SHIM_EXPORT int closedir(DIR *d)
{
	SHIM_OPAQUE(d);
	if (!dir_is_virtual(d)) {
		/* glibc closes the fd itself: forget it as a directory above
		 * the mount point, if it was one. */
		if (d && shim_fd_needs_look(dirfd(d)))
			shim_fd_forget(dirfd(d));
		return REAL(closedir)(d);
	}
	struct vdir *v = (struct vdir *)d;
	int fd = v->fd;
	shim_vfile_put(v->vf);
	free(v);
	return close(fd);
}

/* Is d a ghost's (shim_fd_ghost)?  Its listing is made up whole
 * (shim_fd_mount_entry): its fd is an O_PATH one. */
static bool dir_is_ghost(int fd)
{
	char g[PATH_MAX];

	return shim_fd_ghost(fd, g, sizeof(g));
}

/*
 * A host directory's listing ended (readdir gave NULL): the mount point's
 * entry, when d is its parent and the host lacks it (shim_fd_mount_entry),
 * else NULL with errno as the listing left it.
 */
static struct dirent64 *host_listing_end(DIR *d, int saved)
{
	struct dirent64 *ent = NULL;
	int fd = d ? REAL(dirfd)(d) : -1;

	if (errno == 0 && shim_fd_needs_look(fd) && shim_fd_mount_entry(fd, &ent) > 0)
		return errno = saved, ent;
	if (errno == 0)
		errno = saved;
	return NULL;
}

/* A host directory that is neither above the mount point nor a ghost's
 * stand-in: its listing is the host's, as it comes. */
static inline bool dir_is_plain(DIR *d)
{
	return !d || !shim_fd_needs_look(*(int *)d);
}

SHIM_EXPORT struct dirent64 *readdir64(DIR *d)
{
	if (dir_is_plain(d))
		return REAL(readdir64)(d);
	if (!dir_is_virtual(d)) {
		int saved = errno;
		errno = 0;
		struct dirent64 *e = dir_is_ghost(REAL(dirfd)(d)) ? NULL : REAL(readdir64)(d);
		if (e) {
			errno = saved;
			return e;
		}
		return host_listing_end(d, saved);
	}
	return vreaddir((struct vdir *)d);
}

SHIM_EXPORT struct dirent *readdir(DIR *d)
{
	if (dir_is_plain(d))
		return REAL(readdir)(d);
	if (!dir_is_virtual(d)) {
		int saved = errno;
		errno = 0;
		struct dirent *e = dir_is_ghost(REAL(dirfd)(d)) ? NULL : REAL(readdir)(d);
		if (e) {
			errno = saved;
			return e;
		}
		/* struct dirent is struct dirent64 on 64-bit Linux. */
		return (struct dirent *)host_listing_end(d, saved);
	}
	return (struct dirent *)vreaddir((struct vdir *)d);
}

static int vreaddir_r(DIR *d, struct dirent64 *e, struct dirent64 **res)
{
	int saved = errno;

	errno = 0;
	struct dirent64 *n = vreaddir((struct vdir *)d);
	int err = errno;
	errno = saved;
	if (!n) {
		*res = NULL;
		return err;
	}
	memcpy(e, n, n->d_reclen);
	*res = e;
	return 0;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
/* readdir_r on a host directory, with the mount point's entry. */
static int host_readdir_r(DIR *d, struct dirent64 *e, struct dirent64 **res)
{
	int r = 0;

	*res = NULL;
	if (!dir_is_ghost(REAL(dirfd)(d)))
		r = REAL(readdir64_r)(d, e, res);
	if (r == 0 && !*res) {
		int saved = errno;
		errno = 0;
		struct dirent64 *m = host_listing_end(d, saved);
		if (m) {
			memcpy(e, m, m->d_reclen);
			*res = e;
		}
	}
	return r;
}

SHIM_EXPORT int readdir64_r(DIR *d, struct dirent64 *e, struct dirent64 **res)
{
	if (!dir_is_virtual(d))
		return host_readdir_r(d, e, res);
	return vreaddir_r(d, e, res);
}

SHIM_EXPORT int readdir_r(DIR *d, struct dirent *e, struct dirent **res)
{
	if (!dir_is_virtual(d))
		return host_readdir_r(d, (struct dirent64 *)e, (struct dirent64 **)res);
	return vreaddir_r(d, (struct dirent64 *)e, (struct dirent64 **)res);
}
#pragma GCC diagnostic pop

SHIM_EXPORT void rewinddir(DIR *d)
{
	SHIM_OPAQUE(d);
	if (!dir_is_virtual(d)) {
		REAL(rewinddir)(d);
		if (d && shim_fd_needs_look(REAL(dirfd)(d)))
			shim_fd_mount_rewound(REAL(dirfd)(d));
		return;
	}
	dir_refresh(((struct vdir *)d)->vf);
}

SHIM_EXPORT void seekdir(DIR *d, long pos)
{
	if (!dir_is_virtual(d)) {
		REAL(seekdir)(d, pos);
		return;
	}
	struct vfile *vf = ((struct vdir *)d)->vf;
	pthread_mutex_lock(&vf->lock);
	vf->pos = pos < 0 ? 0 : (size_t)pos;
	pthread_mutex_unlock(&vf->lock);
}

SHIM_EXPORT long telldir(DIR *d)
{
	if (!dir_is_virtual(d))
		return REAL(telldir)(d);
	struct vfile *vf = ((struct vdir *)d)->vf;
	pthread_mutex_lock(&vf->lock);
	long pos = (long)vf->pos;
	pthread_mutex_unlock(&vf->lock);
	return pos;
}

SHIM_EXPORT int dirfd(DIR *d)
{
	if (!dir_is_virtual(d))
		return REAL(dirfd)(d);
	return ((struct vdir *)d)->fd;
}

/* scandir over an already opened stream; the entries are malloc'd copies. */
static int vscandir(DIR *d, struct dirent64 ***list,
		    int (*sel)(const struct dirent64 *),
		    int (*cmp)(const struct dirent64 **, const struct dirent64 **))
{
	struct dirent64 **v = NULL, *e;
	size_t n = 0, cap = 0;
	int saved = errno;

	errno = 0;
	while ((e = readdir64(d))) {
		if (sel && !sel(e))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			struct dirent64 **nv = realloc(v, cap * sizeof(*nv));
			if (!nv)
				goto out_nomem;
			v = nv;
		}
		struct dirent64 *c = malloc(e->d_reclen);
		if (!c)
			goto out_nomem;
		memcpy(c, e, e->d_reclen);
		v[n++] = c;
		errno = 0;
	}
	if (errno) {
		int err = errno;
		while (n)
			free(v[--n]);
		free(v);
		closedir(d);
		errno = err;
		return -1;
	}
	closedir(d);
	if (cmp && n > 1)
		qsort(v, n, sizeof(*v), (int (*)(const void *, const void *))cmp);
	*list = v;
	errno = saved;
	return (int)n;
out_nomem:
	while (n)
		free(v[--n]);
	free(v);
	closedir(d);
	return (int)shim_ret(-ENOMEM);
}

SHIM_EXPORT int scandirat64(int dirfd, const char *path, struct dirent64 ***list,
			    int (*sel)(const struct dirent64 *),
			    int (*cmp)(const struct dirent64 **, const struct dirent64 **))
{
	SHIM_READ_PASS(dirfd, path, true, REAL(scandirat64)(dirfd, path, list, sel, cmp));
	int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return vscandir(d, list, sel, cmp);
}

SHIM_EXPORT int scandirat(int dirfd, const char *path, struct dirent ***list,
			  int (*sel)(const struct dirent *),
			  int (*cmp)(const struct dirent **, const struct dirent **))
{
	SHIM_READ_PASS(dirfd, path, true, REAL(scandirat)(dirfd, path, list, sel, cmp));
	return scandirat64(dirfd, path, (struct dirent64 ***)list,
			   (int (*)(const struct dirent64 *))sel,
			   (int (*)(const struct dirent64 **, const struct dirent64 **))cmp);
}

SHIM_EXPORT int scandir64(const char *path, struct dirent64 ***list,
			  int (*sel)(const struct dirent64 *),
			  int (*cmp)(const struct dirent64 **, const struct dirent64 **))
{
	SHIM_READ_PASS(AT_FDCWD, path, true, REAL(scandir64)(path, list, sel, cmp));
	return scandirat64(AT_FDCWD, path, list, sel, cmp);
}

SHIM_EXPORT int scandir(const char *path, struct dirent ***list,
			int (*sel)(const struct dirent *),
			int (*cmp)(const struct dirent **, const struct dirent **))
{
	SHIM_READ_PASS(AT_FDCWD, path, true, REAL(scandir)(path, list, sel, cmp));
	return scandirat(AT_FDCWD, path, list, sel, cmp);
}

/* getdents64 on a view directory: records from the snapshot. */
static ssize_t vgetdents(int fd, void *buf, size_t n)
{
	struct vfile *vf = shim_fd_get(fd);
	size_t used = 0;

	if (!vf)
		return -EBADF;
	if (!(shim_vf_flags(vf) & VF_DIR)) {
		shim_vfile_put(vf);
		return -ENOTDIR;
	}
	pthread_mutex_lock(&vf->lock);
	int r = dir_fill(vf);
	while (r == 0 && vf->pos < vf->list.n) {
		const struct lyr_dirent *de = &vf->list.ents[vf->pos];
		size_t nlen = strlen(de->name);
		size_t rec = (offsetof(struct dirent64, d_name) + nlen + 1 + 7) & ~(size_t)7;
		if (used + rec > n) {
			if (used == 0)
				r = -EINVAL;
			break;
		}
		struct dirent64 *e = (struct dirent64 *)((char *)buf + used);
		/* The kernel's filldir: EFAULT, or what was written before. */
		if (!shim_mem_ok(e, rec, true)) {
			if (used == 0)
				r = -EFAULT;
			break;
		}
		e->d_ino = de->ino;
		e->d_off = (off64_t)(vf->pos + 1);
		e->d_reclen = (unsigned short)rec;
		e->d_type = de->type;
		memcpy(e->d_name, de->name, nlen + 1);
		used += rec;
		vf->pos++;
	}
	pthread_mutex_unlock(&vf->lock);
	shim_vfile_put(vf);
	return r < 0 ? r : (ssize_t)used;
}

SHIM_EXPORT ssize_t getdents64(int fd, void *buf, size_t n)
{
	if (!shim_fd_is_virtual(fd)) {
		ssize_t r = shim_fd_needs_look(fd) && dir_is_ghost(fd) ? 0 :
			    REAL(getdents64)(fd, buf, n);
		struct dirent64 *m;
		if (r != 0 || !shim_fd_needs_look(fd) || shim_fd_mount_entry(fd, &m) <= 0)
			return r;
		int e = m->d_reclen > n ? -EINVAL : shim_put(buf, m, m->d_reclen);
		if (e < 0) {
			shim_fd_mount_rewound(fd); /* not shown after all */
			return shim_ret(e);
		}
		return m->d_reclen;
	}
	return shim_ret(vgetdents(fd, buf, n));
}

SHIM_EXPORT ssize_t getdirentries64(int fd, char *buf, size_t n, off64_t *base)
{
	if (!shim_fd_is_virtual(fd))
		return REAL(getdirentries64)(fd, buf, n, base);
	SHIM_OPAQUE(base);
	if (base)
		*base = lseek64(fd, 0, SEEK_CUR);
	return getdents64(fd, buf, n);
}

SHIM_EXPORT ssize_t getdirentries(int fd, char *buf, size_t n, off_t *base)
{
	if (!shim_fd_is_virtual(fd))
		return REAL(getdirentries)(fd, buf, n, base);
	return getdirentries64(fd, buf, n, (off64_t *)base);
}

/*
 * lseek on a view directory moves the listing position.  Returns 1 when fd
 * is not a directory (the kernel's lseek applies), else 0 or -errno.
 */
static int vlseek(int fd, off64_t off, int whence, off64_t *res)
{
	struct vfile *vf = shim_fd_get(fd);
	int r = 0;

	if (!vf)
		return 1;
	if (!(shim_vf_flags(vf) & VF_DIR)) {
		shim_vfile_put(vf);
		return 1;
	}
	pthread_mutex_lock(&vf->lock);
	if (whence == SEEK_SET && off >= 0)
		*res = off;
	else if (whence == SEEK_CUR && (off64_t)vf->pos + off >= 0)
		*res = (off64_t)vf->pos + off;
	else
		r = -EINVAL;
	if (r == 0) {
		if (*res == 0) {
			/* Back to the start: see the directory as it is now. */
			lyr_dirlist_free(&vf->list);
			vf->listed = false;
		}
		vf->pos = (size_t)*res;
	}
	pthread_mutex_unlock(&vf->lock);
	shim_vfile_put(vf);
	return r;
}

SHIM_EXPORT off64_t lseek64(int fd, off64_t off, int whence)
{
	off64_t res;

	if (shim_fd_is_virtual(fd)) {
		int r = vlseek(fd, off, whence, &res);
		if (r <= 0)
			return r < 0 ? shim_ret(r) : res;
	}
	res = REAL(lseek64)(fd, off, whence);
	if (res == 0 && shim_fd_needs_look(fd))
		shim_fd_mount_rewound(fd); /* a directory's listing starts again */
	return res;
}

SHIM_EXPORT off_t lseek(int fd, off_t off, int whence)
{
	if (shim_fd_needs_look(fd))
		return lseek64(fd, off, whence);
	return REAL(lseek)(fd, off, whence);
}
