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

int shim_vopen(const char *layer_path, int flags, mode_t mode)
{
	int err = 0;
	struct lyr_layer *fs = shim_fs(&err);
	struct stat st;

	if (!fs)
		return -err;
	if ((flags & O_TMPFILE) == O_TMPFILE)
		return -EOPNOTSUPP;
	if (flags & O_CREAT)
		mode &= ~shim.umask & 07777;
	shim_depth++;
	int fd = lyr_open(fs, layer_path, flags | O_CLOEXEC, mode);
	shim_depth--;
	shim_trace("open", layer_path, fd);
	if (fd < 0)
		return fd;
	if (!(flags & O_CLOEXEC))
		REAL(fcntl)(fd, F_SETFD, 0);
	int r = shim_vstat(layer_path, &st);
	if (r == 0)
		r = shim_fd_add(fd, layer_path, &st, flags);
	if (r < 0) {
		REAL(close)(fd);
		return r;
	}
	return fd;
}

static int vopenat(int dirfd, const char *path, int flags, mode_t mode)
{
	struct vpath vp;
	unsigned rf = SR_FOLLOW;

	if ((flags & O_NOFOLLOW) || ((flags & O_CREAT) && (flags & O_EXCL)))
		rf = 0;
	int r = shim_resolve(dirfd, path, rf, &vp);
	if (r < 0)
		return r;
	if (r == VP_HOST) {
		int fd = REAL(openat)(dirfd, vp.path, flags, mode);
		return fd < 0 ? -errno : fd;
	}
	if (vp.dir_only) {
		if (flags & O_CREAT)
			return -EISDIR;
		flags |= O_DIRECTORY;
	}
	return shim_vopen(vp.path, flags, mode);
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
	if (!shim_maybe_virtual(dirfd, path))
		return REAL(openat)(dirfd, path, flags, mode);
	return (int)shim_ret(vopenat(dirfd, path, flags, mode));
}

SHIM_EXPORT int open(const char *path, int flags, ...)
{
	mode_t mode;

	OPEN_MODE(flags, flags, mode);
	if (!shim_maybe_virtual(AT_FDCWD, path))
		return REAL(open)(path, flags, mode);
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
	if (!shim_maybe_virtual(dirfd, path))
		return REAL(name_to_handle_at)(dirfd, path, h, mnt, flags);
	/* As a filesystem that cannot export handles. */
	errno = EOPNOTSUPP;
	return -1;
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
	if (!shim_maybe_virtual(AT_FDCWD, path))
		return REAL(fopen)(path, mode);
	return vfopen(path, mode);
}

SHIM_EXPORT FILE *fopen64(const char *path, const char *mode)
{
	if (!shim_maybe_virtual(AT_FDCWD, path))
		return REAL(fopen64)(path, mode);
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
