/* SPDX-License-Identifier: MIT */
/*
 * wrap_fd.c - fd bookkeeping: close, dup, fcntl(F_DUPFD*), fclose, umask.
 *
 * Keeps the fd table true when a program closes or duplicates a virtual
 * fd, and keeps the layers' own fds (lyr_fd_keep) alive when a program
 * closes "every fd" or dup2()s onto one of their numbers.
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

static int vfcntl(int (*real)(int, int, ...), int fd, int cmd, void *arg)
{
	int r = real(fd, cmd, arg);

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
