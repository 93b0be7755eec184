/* SPDX-License-Identifier: MIT */
/*
 * wrap_open.c - the open family and stdio's fopen/freopen/fdopen.
 *
 * Every form collapses to vopenat(); a virtual open returns the real kernel
 * fd the core opened (an upper file, a lower file, a cache file) and records
 * it in the fd table.
 */
#include "real.h"

#include <stdarg.h>

/*
 * The open itself.  The union says which layer the fd came from and, when
 * the open may have changed the entry (created, truncated, copied up) or
 * nothing is known of it, the entry's view stat: no lookup after the open.
 * known: the stat shim_resolve found, or NULL.
 */
static int vopen(const char *layer_path, const struct stat *known,
		 const struct lyr_found *found, int flags, mode_t mode)
{
	int err = 0, layer = -1;
	struct lyr_layer *fs;
	struct stat st;

	if ((flags & O_TMPFILE) == O_TMPFILE)
		return -EOPNOTSUPP;
	if (flags & O_CREAT)
		mode &= ~shim.umask & 07777;
	if ((flags & (O_CREAT | O_TRUNC)) || (flags & O_ACCMODE) != O_RDONLY)
		known = NULL;
	if (!(fs = shim_enter(&err)))
		return -err;
	/* After shim_resolve: the union starts from what it found. */
	int fd = found ? lyr_union_open_found(fs, found, flags | O_CLOEXEC, mode, &layer,
					      known ? NULL : &st) :
			 lyr_union_open_at(fs, layer_path, flags | O_CLOEXEC, mode, &layer,
					   known ? NULL : &st);
	shim_leave(fd, "open", layer_path);
	if (fd < 0)
		return fd;
	if (!(flags & O_CLOEXEC))
		REAL(fcntl)(fd, F_SETFD, 0);
	if (known)
		st = *known;
	st.st_dev = shim.mnt.dev;
	int r = shim_fd_add(fd, layer_path, &st, flags, layer);
	if (r < 0) {
		REAL(close)(fd);
		return r;
	}
	return fd;
}

int shim_vopen(const char *layer_path, int flags, mode_t mode)
{
	return vopen(layer_path, NULL, NULL, flags, mode);
}

/*
 * open(symlink, O_PATH | O_NOFOLLOW) gives an fd of the link itself: the
 * layer's own link when it is a host directory's.  A symlink in an archive
 * has no kernel inode, so the fd is a stand-in (/dev/null, O_PATH).  Either
 * way the fd table carries the link's view metadata: fstat,
 * readlinkat(fd, "") and the other fd calls answer from the view.
 */
static int vopen_symlink(const struct vpath *vp, int flags)
{
	int fd = vopen(vp->f.path, &vp->f.st, &vp->f, flags, 0);

	if (fd != -ELOOP) /* an archive's or memory layer's link */
		return fd;
	fd = REAL(open)("/dev/null", O_PATH | (flags & O_CLOEXEC));
	if (fd < 0)
		return -errno;
	struct stat st = vp->f.st;
	st.st_dev = shim.mnt.dev;
	int r = shim_fd_add(fd, vp->f.path, &st, flags, -1);
	if (r < 0) {
		REAL(close)(fd);
		return r;
	}
	shim_trace("open", vp->f.path, fd);
	return fd;
}

int shim_vopen_vp(const struct vpath *vp, int flags, mode_t mode)
{
	if ((flags & O_PATH) && (flags & O_NOFOLLOW) && vp->have_st &&
	    S_ISLNK(vp->f.st.st_mode))
		return vopen_symlink(vp, flags);
	/* The resolution found the name missing: nothing to open. */
	if (!vp->have_st && vp->st_err && !(flags & O_CREAT) &&
	    (flags & O_TMPFILE) != O_TMPFILE) {
		shim_trace("open", vp->f.path, vp->st_err);
		return vp->st_err;
	}
	return vopen(vp->f.path, vp->have_st ? &vp->f.st : NULL,
		     vp->have_st || vp->st_err == -ENOENT ? &vp->f : NULL, flags, mode);
}

static int keep_meta(struct stat *st, const void *arg)
{
	(void)st, (void)arg;
	return 0;
}

/*
 * An open of this process's fd through its magic link (/proc/self/fd/N)
 * when the fd's file has no name left in the view: the file itself, as
 * Linux reopens it.  A file still a lower layer's moves into memory first
 * when the open may write it (shim_fd_nameless_copy).
 */
static int vreopen_own(int fd, int flags)
{
	struct vfile *vf = shim_fd_get(fd);
	struct stat st;
	char proc[32];
	int r, nfd = -1;

	if (!vf)
		return -ENOENT; /* closed meanwhile */
	bool writes = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
	int mask = ((flags & O_ACCMODE) != O_WRONLY ? R_OK : 0) | (writes ? W_OK : 0);
	if ((r = shim_vfstat(fd, vf, &st)) < 0)
		goto out;
	if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
		r = -EEXIST;
	else if ((flags & O_DIRECTORY) && !S_ISDIR(st.st_mode))
		r = -ENOTDIR;
	else if (!(flags & O_PATH))
		r = lyr_may_access(&st, mask, true);
	if (r == 0 && writes && !(flags & O_PATH) && (shim_vf_flags(vf) & VF_LOWER))
		r = shim_fd_nameless_copy(fd);
	if (r < 0)
		goto out;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	nfd = REAL(open)(proc, (flags & ~(O_CREAT | O_EXCL)) | O_CLOEXEC);
	if (nfd < 0) {
		r = -errno;
		goto out;
	}
	if (!(flags & O_CLOEXEC))
		REAL(fcntl)(nfd, F_SETFD, 0);
	r = shim_fd_add(nfd, shim_vf_path(vf), &st, flags,
			shim_vf_flags(vf) & VF_LOWER ? 1 : 0);
	struct vfile *nvf = r == 0 ? shim_fd_get(nfd) : NULL;
	if (nvf) {
		shim_fd_meta_apply(nvf, keep_meta, NULL); /* fstat: st, not the real fd's */
		shim_vfile_put(nvf);
	}
	if (r < 0)
		REAL(close)(nfd);
out:
	shim_trace("open", shim_vf_path(vf), r < 0 ? r : nfd);
	shim_vfile_put(vf);
	return r < 0 ? r : nfd;
}

static int vopenat(int dirfd, const char *path, int flags, mode_t mode)
{
	struct vpath vp;
	unsigned rf = SR_FOLLOW;

	/* Linux checks the flags before the path: O_CREAT|O_DIRECTORY is
	 * EINVAL (6.4 on), and O_CREAT with a trailing slash is EISDIR once
	 * the parent resolves. */
	if ((flags & O_CREAT) && (flags & O_DIRECTORY))
		return -EINVAL;
	if ((flags & O_NOFOLLOW) || ((flags & O_CREAT) && (flags & O_EXCL)))
		rf = 0;
	size_t len = strlen(path);
	if ((flags & O_CREAT) && len > 1 && path[len - 1] == '/' && len < PATH_MAX) {
		char parent[PATH_MAX];
		memcpy(parent, path, len + 1);
		while (len > 1 && parent[len - 1] == '/')
			parent[--len] = '\0';
		int r = shim_resolve(dirfd, parent, 0, &vp);
		if (r == VP_VIRT || (r == -ENOENT && shim_base_gone(dirfd, parent)))
			return -EISDIR;
		if (r < 0)
			return r;
	}
	int r = shim_resolve(dirfd, path, rf | SR_OWN, &vp);
	if (r < 0)
		return r;
	if (r == VP_OWN)
		return vreopen_own(vp.f.fd, flags);
	if (r == VP_HOST) {
		int fd = REAL(openat)(dirfd, vp.f.path, flags, mode);
		if (fd < 0 && errno == ENOENT && shim_is_ghost(vp.f.path))
			return shim_fd_open_ghost(vp.f.path, flags);
		shim_fd_host_opened(fd, vp.f.path);
		return fd < 0 ? -errno : fd;
	}
	if (vp.dir_only) {
		if (flags & O_CREAT)
			return -EISDIR;
		flags |= O_DIRECTORY;
	}
	return shim_vopen_vp(&vp, flags, mode);
}

/* Does an open with flags change what it names (or make it)? */
static inline bool open_changes(int flags)
{
	return (flags & (O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND)) && !(flags & O_PATH);
}

/* shim_maybe_virtual for an open: an open that changes its file is not
 * let through a host symlink unlooked (shim_maybe_changes). */
static inline bool open_maybe_virtual(int dirfd, const char *path, int flags)
{
	return open_changes(flags) ?
	       shim_maybe_changes(dirfd, path, !(flags & O_NOFOLLOW) &&
				  (flags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL)) :
	       shim_maybe_virtual(dirfd, path);
}

/* The mode argument is there only with O_CREAT or O_TMPFILE. */
#define OPEN_MODE(flags, last, mode) do { \
	mode = 0; \
	if (((flags) & O_CREAT) || ((flags) & O_TMPFILE) == O_TMPFILE) { \
		va_list ap; \
		va_start(ap, last); \
		mode = (mode_t)va_arg(ap, int); \
		va_end(ap); \
	} \
} while (0)

SHIM_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode;

	OPEN_MODE(flags, flags, mode);
	if (!open_maybe_virtual(dirfd, path, flags)) {
		int fd = REAL(openat)(dirfd, path, flags, mode);
		if (fd >= 0 || !shim_missed(dirfd, path, !(flags & O_NOFOLLOW))) {
			shim_fd_host_opened(fd, path); /* fd < 0 for a bad path */
			return fd;
		}
	}
	return (int)shim_ret(vopenat(dirfd, path, flags, mode));
}

SHIM_EXPORT int open(const char *path, int flags, ...)
{
	mode_t mode;

	OPEN_MODE(flags, flags, mode);
	if (!open_maybe_virtual(AT_FDCWD, path, flags)) {
		int fd = REAL(open)(path, flags, mode);
		if (fd >= 0 || !shim_missed(AT_FDCWD, path, !(flags & O_NOFOLLOW))) {
			shim_fd_host_opened(fd, path); /* fd < 0 for a bad path */
			return fd;
		}
	}
	return (int)shim_ret(vopenat(AT_FDCWD, path, flags, mode));
}

SHIM_EXPORT int open64(const char *path, int flags, ...)
{
	mode_t mode;

	OPEN_MODE(flags, flags, mode);
	return open(path, flags | O_LARGEFILE, mode);
}

SHIM_EXPORT int __open(const char *path, int flags, ...)
{
	mode_t mode;

	OPEN_MODE(flags, flags, mode);
	return open(path, flags, mode);
}

SHIM_EXPORT int __open64(const char *path, int flags, ...)
{
	mode_t mode;

	OPEN_MODE(flags, flags, mode);
	return open(path, flags | O_LARGEFILE, mode);
}

SHIM_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode;

	OPEN_MODE(flags, flags, mode);
	return openat(dirfd, path, flags | O_LARGEFILE, mode);
}

SHIM_EXPORT int creat(const char *path, mode_t mode)
{
	return open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

SHIM_EXPORT int creat64(const char *path, mode_t mode)
{
	return open(path, O_CREAT | O_WRONLY | O_TRUNC | O_LARGEFILE, mode);
}

/* _FORTIFY_SOURCE's checked forms: called without a mode. */
SHIM_EXPORT int __open_2(const char *path, int flags)
{
	return open(path, flags, 0);
}

SHIM_EXPORT int __open64_2(const char *path, int flags)
{
	return open(path, flags | O_LARGEFILE, 0);
}

SHIM_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	return openat(dirfd, path, flags, 0);
}

SHIM_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	return openat(dirfd, path, flags | O_LARGEFILE, 0);
}

SHIM_EXPORT int name_to_handle_at(int dirfd, const char *path, struct file_handle *h,
				  int *mnt, int flags)
{
	struct vpath vp;
	struct stat st;

	if (!shim_maybe_virtual(dirfd, path))
		return REAL(name_to_handle_at)(dirfd, path, h, mnt, flags);
	if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
		return (int)shim_ret(-EINVAL);
	int r = shim_resolve(dirfd, path, ((flags & AT_SYMLINK_FOLLOW) ? SR_FOLLOW : 0) |
			     ((flags & AT_EMPTY_PATH) ? SR_EMPTY : 0), &vp);
	if (r == VP_HOST)
		return REAL(name_to_handle_at)(dirfd, vp.f.path, h, mnt, flags);
	/* Lookup errors as Linux gives them; then, as a file system that
	 * cannot export handles, EOPNOTSUPP. */
	if (r >= 0)
		r = shim_vpath_stat(&vp, &st);
	return (int)shim_ret(r < 0 ? r : -EOPNOTSUPP);
}

/* fopen's mode string as open(2) flags; -1 on a bad mode. */
static int fmode_flags(const char *mode)
{
	int flags;

	switch (mode[0]) {
	case 'r': flags = O_RDONLY; break;
	case 'w': flags = O_WRONLY | O_CREAT | O_TRUNC; break;
	case 'a': flags = O_WRONLY | O_CREAT | O_APPEND; break;
	default: return -1;
	}
	for (const char *p = mode + 1; *p && *p != ','; p++) {
		if (*p == '+')
			flags = (flags & ~O_ACCMODE) | O_RDWR;
		else if (*p == 'x')
			flags |= O_EXCL;
		else if (*p == 'e')
			flags |= O_CLOEXEC;
	}
	return flags;
}

static FILE *vfopen(const char *path, const char *mode)
{
	int flags = fmode_flags(mode);

	if (flags < 0) {
		errno = EINVAL;
		return NULL;
	}
	int fd = open(path, flags, 0666);
	if (fd < 0)
		return NULL;
	FILE *f = REAL(fdopen)(fd, mode);
	if (!f) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return f;
}

SHIM_EXPORT FILE *fopen(const char *path, const char *mode)
{
	SHIM_OPAQUE(mode);
	if (mode ? !open_maybe_virtual(AT_FDCWD, path, fmode_flags(mode)) :
	    !shim_maybe_virtual(AT_FDCWD, path)) {
		FILE *f = REAL(fopen)(path, mode);
		if (f || !shim_missed(AT_FDCWD, path, true))
			return f;
	}
	return vfopen(path, mode);
}

SHIM_EXPORT FILE *fopen64(const char *path, const char *mode)
{
	SHIM_OPAQUE(mode);
	if (mode ? !open_maybe_virtual(AT_FDCWD, path, fmode_flags(mode)) :
	    !shim_maybe_virtual(AT_FDCWD, path)) {
		FILE *f = REAL(fopen64)(path, mode);
		if (f || !shim_missed(AT_FDCWD, path, true))
			return f;
	}
	return vfopen(path, mode);
}

/*
 * freopen onto a view path: reopen the stream on /dev/null with the same
 * access mode (glibc keeps the fd number), then put the view file there.
 */
static FILE *vfreopen(const char *path, const char *mode, FILE *f)
{
	char nmode[16];
	size_t j = 0;
	int flags = fmode_flags(mode);

	if (flags < 0) {
		errno = EINVAL;
		return NULL;
	}
	int fd = open(path, flags, 0666);
	if (fd < 0) {
		int e = errno;
		fclose(f);
		errno = e;
		return NULL;
	}
	for (const char *p = mode; *p && j < sizeof(nmode) - 1; p++)
		if (*p != 'x')
			nmode[j++] = *p;
	nmode[j] = '\0';
	int old = fileno(f);
	if (old >= 0)
		shim_fd_forget(old);
	FILE *r = REAL(freopen)("/dev/null", nmode, f);
	if (!r) {
		int e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	int target = fileno(r);
	if (dup3(fd, target, (flags & O_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
		int e = errno;
		close(fd);
		fclose(r);
		errno = e;
		return NULL;
	}
	close(fd);
	return r;
}

SHIM_EXPORT FILE *freopen(const char *path, const char *mode, FILE *f)
{
	if (!shim_maybe_virtual(AT_FDCWD, path)) {
		int old = f ? fileno(f) : -1;
		FILE *r = REAL(freopen)(path, mode, f);
		if (old >= 0 && shim_fd_is_virtual(old) && (!r || fileno(r) != old || path))
			shim_fd_forget(old);
		return r;
	}
	return vfreopen(path, mode, f);
}

SHIM_EXPORT FILE *freopen64(const char *path, const char *mode, FILE *f)
{
	return freopen(path, mode, f);
}

SHIM_EXPORT FILE *fdopen(int fd, const char *mode)
{
	/* A virtual fd is a real fd: stdio needs nothing more. */
	return REAL(fdopen)(fd, mode);
}
