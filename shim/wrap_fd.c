/* SPDX-License-Identifier: MIT */
/*
 * wrap_fd.c - fd bookkeeping: close, dup, fcntl(F_DUPFD*), fclose, umask;
 * and locks: flock, lockf, fcntl's record and OFD locks.
 *
 * Keeps the fd table true when a program closes or duplicates a virtual
 * fd, and keeps the layers' own fds (lyr_fd_keep) alive when a program
 * closes "every fd" or dup2()s onto one of their numbers.
 *
 * A lock on a virtual fd is taken on the lock file of its entry
 * (lyr_lock_fd, one per view inode number, in the upper layer), not on the
 * fd: the file behind an fd changes at a copy-up, and a member of an
 * archive may be a different memfd in each process, but the lock file is
 * the same for every fd of the entry in every process of the view.  Each
 * open file description (vfile) has its own fd on it, so flock and OFD
 * locks keep their per-description semantics and record locks their
 * per-process ones.
 */
#include "real.h"

#include <stdarg.h>

static inline bool fd_is_kept(int fd)
{
	return fd >= LYR_FD_LOW && lyr_fd_is_kept(fd);
}

SHIM_EXPORT int close(int fd)
{
	if (shim_fd_needs_look(fd))
		shim_fd_forget(fd);
	else if (fd_is_kept(fd)) {
		/* As if the program's fd was not open: ours stays. */
		return (int)shim_ret(-EBADF);
	}
	return REAL(close)(fd);
}

/* close_range over [first, last], stepping around kept fds. */
static int close_span(unsigned first, unsigned last, int flags)
{
	unsigned lo = first;

	for (unsigned fd = first < LYR_FD_LOW ? LYR_FD_LOW : first; fd <= last && fd < LYR_FD_LOW + 4096; fd++) {
		if (!lyr_fd_is_kept((int)fd))
			continue;
		if (fd > lo && REAL(close_range)(lo, fd - 1, flags) < 0)
			return -1;
		lo = fd + 1;
	}
	for (unsigned fd = first; fd <= last && fd < SHIM_FD_BITS; fd++)
		if (shim_fd_needs_look((int)fd) && !(flags & CLOSE_RANGE_CLOEXEC))
			shim_fd_forget((int)fd);
	if (lo > last)
		return 0;
	return REAL(close_range)(lo, last, flags);
}

SHIM_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	if (first > last)
		return (int)shim_ret(-EINVAL);
	return close_span(first, last, flags);
}

SHIM_EXPORT void closefrom(int lowfd)
{
	if (lowfd < 0)
		lowfd = 0;
	close_span((unsigned)lowfd, ~0u, 0);
}

SHIM_EXPORT int dup(int fd)
{
	int r = REAL(dup)(fd);

	if (r >= 0 && shim_fd_needs_look(fd))
		shim_fd_dup(fd, r);
	return r;
}

static int vdup3(int fd, int fd2, int flags, bool is_dup2)
{
	if (fd_is_kept(fd2)) {
		int e = lyr_fd_move(fd2);
		if (e < 0)
			return (int)shim_ret(e);
	}
	int r = is_dup2 ? REAL(dup2)(fd, fd2) : REAL(dup3)(fd, fd2, flags);
	if (r >= 0 && fd != fd2 && (shim_fd_needs_look(fd) || shim_fd_needs_look(fd2)))
		shim_fd_dup(fd, fd2);
	return r;
}

SHIM_EXPORT int dup2(int fd, int fd2)
{
	return vdup3(fd, fd2, 0, true);
}

SHIM_EXPORT int dup3(int fd, int fd2, int flags)
{
	return vdup3(fd, fd2, flags, false);
}

/* ---- locks ---------------------------------------------------------- */

static bool is_lock_cmd(int cmd)
{
	return cmd == F_GETLK || cmd == F_SETLK || cmd == F_SETLKW || cmd == F_OFD_GETLK ||
	       cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW;
}

/*
 * The fd virtual fd's locks go to, and its open flags, into *lfd and
 * *oflags: 0; 1 when fd is not virtual or the view keeps no lock files
 * (its own fd then); -errno.
 */
static int lock_fd_of(int fd, int *lfd, int *oflags)
{
	struct vfile *vf = shim_fd_is_virtual(fd) ? shim_fd_get(fd) : NULL;

	if (!vf)
		return 1;
	*oflags = vf->oflags;
	*lfd = shim_vf_lockfd(vf);
	shim_vfile_put(vf);
	return *lfd == -ENOSYS ? 1 : *lfd < 0 ? *lfd : 0;
}

/*
 * A record lock of virtual fd on the lock file lfd: the range made
 * absolute (SEEK_CUR and SEEK_END are the fd's, not the lock file's), and
 * the access mode checked as the kernel checks it on the fd.
 */
static int vlock(int (*real)(int, int, ...), int fd, int lfd, int oflags, int cmd,
		 struct flock *fl)
{
	int acc = oflags & O_ACCMODE;
	bool set = cmd != F_GETLK && cmd != F_OFD_GETLK;

	if (oflags & O_PATH)
		return -EBADF;
	if (set && ((fl->l_type == F_RDLCK && acc == O_WRONLY) ||
		    (fl->l_type == F_WRLCK && acc == O_RDONLY)))
		return -EBADF;
	struct flock abs = *fl;
	if (fl->l_whence == SEEK_CUR || fl->l_whence == SEEK_END) {
		struct stat st;
		off_t base = fl->l_whence == SEEK_CUR ? REAL(lseek)(fd, 0, SEEK_CUR) :
			     REAL(fstat)(fd, &st) < 0 ? -1 : st.st_size;
		if (base < 0)
			return -errno;
		if (__builtin_add_overflow(base, fl->l_start, &abs.l_start))
			return -EOVERFLOW;
		abs.l_whence = SEEK_SET;
	}
	if (real(lfd, cmd, &abs) < 0)
		return -errno;
	if (!set)
		*fl = abs;
	return 0;
}

SHIM_EXPORT int flock(int fd, int op)
{
	int lfd, oflags, r = lock_fd_of(fd, &lfd, &oflags);

	if (r == 1)
		return REAL(flock)(fd, op);
	if (r == 0 && (oflags & O_PATH))
		r = -EBADF;
	return (int)shim_ret(r < 0 ? r : HOSTRET(REAL(flock)(lfd, op)));
}

/* lockf, as glibc builds it on fcntl (whose inner call no wrapper sees). */
static int vlockf(int fd, int cmd, off_t len)
{
	struct flock fl = { .l_whence = SEEK_CUR, .l_len = len };
	int lfd, oflags, r = lock_fd_of(fd, &lfd, &oflags);

	if (r < 0)
		return r;
	if (r == 1)
		lfd = fd, oflags = O_RDWR;
	switch (cmd) {
	case F_TEST:
		fl.l_type = F_RDLCK;
		if ((r = vlock(REAL(fcntl), fd, lfd, oflags, F_GETLK, &fl)) < 0)
			return r;
		return fl.l_type == F_UNLCK || fl.l_pid == getpid() ? 0 : -EACCES;
	case F_ULOCK:
		fl.l_type = F_UNLCK;
		return vlock(REAL(fcntl), fd, lfd, oflags, F_SETLK, &fl);
	case F_LOCK:
		fl.l_type = F_WRLCK;
		return vlock(REAL(fcntl), fd, lfd, oflags, F_SETLKW, &fl);
	case F_TLOCK:
		fl.l_type = F_WRLCK;
		return vlock(REAL(fcntl), fd, lfd, oflags, F_SETLK, &fl);
	}
	return -EINVAL;
}

SHIM_EXPORT int lockf(int fd, int cmd, off_t len)
{
	if (!shim_fd_is_virtual(fd))
		return REAL(lockf)(fd, cmd, len);
	return (int)shim_ret(vlockf(fd, cmd, len));
}

SHIM_EXPORT int lockf64(int fd, int cmd, off64_t len)
{
	if (!shim_fd_is_virtual(fd))
		return REAL(lockf64)(fd, cmd, len);
	return (int)shim_ret(vlockf(fd, cmd, len));
}

/* ---- fcntl ---------------------------------------------------------- */

static int vfcntl(int (*real)(int, int, ...), int fd, int cmd, void *arg)
{
	int lfd, oflags, r;

	if (is_lock_cmd(cmd) && (r = lock_fd_of(fd, &lfd, &oflags)) != 1)
		return (int)shim_ret(r < 0 ? r : vlock(real, fd, lfd, oflags, cmd, arg));
	r = real(fd, cmd, arg);

	if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && shim_fd_needs_look(fd))
		shim_fd_dup(fd, r);
	return r;
}

SHIM_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;

	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return vfcntl(REAL(fcntl), fd, cmd, arg);
}

SHIM_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;

	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return vfcntl(REAL(fcntl64), fd, cmd, arg);
}

SHIM_EXPORT int fclose(FILE *f)
{
	SHIM_OPAQUE(f);
	if (f) {
		int fd = fileno(f);
		if (fd >= 0 && shim_fd_needs_look(fd))
			shim_fd_forget(fd);
	}
	return REAL(fclose)(f);
}

SHIM_EXPORT mode_t umask(mode_t mask)
{
	mode_t old = REAL(umask)(mask);

	shim.umask = mask & 0777;
	return old;
}
