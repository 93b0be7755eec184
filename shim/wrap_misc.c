/* SPDX-License-Identifier: MIT */
/*
 * wrap_misc.c - statfs/statvfs/pathconf, access, realpath, temporary files,
 * AF_UNIX sockets, inotify, and syscall() for file-system numbers.
 */
#include "real.h"

#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <stdarg.h>

/* ---- statfs / statvfs / pathconf ------------------------------------ */


static int vstatvfs_path(const char *path, struct statvfs *sv)
{
	struct vpath vp;
	struct stat st;
	int r = shim_resolve(AT_FDCWD, path, SR_FOLLOW, &vp);

	if (r < 0)
		return r;
	if (r == VP_HOST) {
		r = HOSTRET(REAL(statvfs)(vp.f.path, sv));
		if (r == -ENOENT && shim_is_ghost(vp.f.path)) {
			/* A ghost is of its nearest ancestor's file system. */
			int fd = shim_fd_open_ghost(vp.f.path, O_PATH | O_CLOEXEC);
			if (fd < 0)
				return fd;
			r = HOSTRET(REAL(fstatvfs)(fd, sv));
			close(fd);
		}
		return r;
	}
	if ((r = shim_vpath_stat(&vp, &st)) < 0)
		return r;
	int err;
	struct lyr_layer *fs = shim_enter(&err);
	if (!fs)
		return -err;
	return (int)shim_leave(lyr_statfs(fs, sv), "statfs", vp.f.path);
}

SHIM_EXPORT int statvfs(const char *path, struct statvfs *sv)
{
	SHIM_READ_PASS(AT_FDCWD, path, true, REAL(statvfs)(path, sv));
	return (int)shim_ret(vstatvfs_path(path, sv));
}

SHIM_EXPORT int statvfs64(const char *path, struct statvfs64 *sv)
{
	return statvfs(path, (struct statvfs *)sv);
}

SHIM_EXPORT int statfs(const char *path, struct statfs *sf)
{
	struct statvfs sv;

	SHIM_READ_PASS(AT_FDCWD, path, true, REAL(statfs)(path, sf));
	int r = vstatvfs_path(path, &sv);
	if (r == 0)
		lyr_statvfs_to_statfs(&sv, shim.mnt.dev, sf);
	return (int)shim_ret(r);
}

SHIM_EXPORT int statfs64(const char *path, struct statfs64 *sf)
{
	return statfs(path, (struct statfs *)sf);
}

static int vfstatvfs(int fd, struct statvfs *sv)
{
	(void)fd;
	int err;
	struct lyr_layer *fs = shim_enter(&err);
	if (!fs)
		return -err;
	return (int)shim_leave(lyr_statfs(fs, sv), "fstatfs", "");
}

SHIM_EXPORT int fstatvfs(int fd, struct statvfs *sv)
{
	if (!shim_fd_is_virtual(fd))
		return REAL(fstatvfs)(fd, sv);
	return (int)shim_ret(vfstatvfs(fd, sv));
}

SHIM_EXPORT int fstatvfs64(int fd, struct statvfs64 *sv)
{
	return fstatvfs(fd, (struct statvfs *)sv);
}

SHIM_EXPORT int fstatfs(int fd, struct statfs *sf)
{
	struct statvfs sv;

	if (!shim_fd_is_virtual(fd))
		return REAL(fstatfs)(fd, sf);
	int r = vfstatvfs(fd, &sv);
	if (r == 0)
		lyr_statvfs_to_statfs(&sv, shim.mnt.dev, sf);
	return (int)shim_ret(r);
}

SHIM_EXPORT int fstatfs64(int fd, struct statfs64 *sf)
{
	return fstatfs(fd, (struct statfs *)sf);
}

/* The limits of the view: those of Linux's disk filesystems. */
static long view_pathconf(int name)
{
	switch (name) {
	case _PC_LINK_MAX: return 65000;
	case _PC_MAX_CANON: return 255;
	case _PC_MAX_INPUT: return 255;
	case _PC_NAME_MAX: return NAME_MAX;
	case _PC_PATH_MAX: return PATH_MAX;
	case _PC_PIPE_BUF: return PIPE_BUF;
	case _PC_CHOWN_RESTRICTED: return 1;
	case _PC_NO_TRUNC: return 1;
	case _PC_VDISABLE: return 0;
	case _PC_FILESIZEBITS: return 64;
	case _PC_SYMLINK_MAX: return -1;	/* no limit */
	case _PC_2_SYMLINKS: return 1;
	case _PC_REC_XFER_ALIGN:
	case _PC_ALLOC_SIZE_MIN:
	case _PC_REC_MIN_XFER_SIZE: return 4096;
	case _PC_REC_INCR_XFER_SIZE:
	case _PC_REC_MAX_XFER_SIZE: return -1;
	case _PC_SYNC_IO: case _PC_ASYNC_IO: case _PC_PRIO_IO: return -1;
	default:
		return (int)shim_ret(-EINVAL);
	}
}

SHIM_EXPORT long pathconf(const char *path, int name)
{
	struct vpath vp;
	struct stat st;

	if (!shim_maybe_virtual(AT_FDCWD, path))
		return REAL(pathconf)(path, name);
	int r = shim_resolve(AT_FDCWD, path, SR_FOLLOW, &vp);
	if (r == VP_HOST)
		return REAL(pathconf)(vp.f.path, name);
	if (r < 0 || (r = shim_vpath_stat(&vp, &st)) < 0)
		return shim_ret(r);
	return view_pathconf(name);
}

SHIM_EXPORT long fpathconf(int fd, int name)
{
	if (!shim_fd_is_virtual(fd))
		return REAL(fpathconf)(fd, name);
	return view_pathconf(name);
}

/* ---- access --------------------------------------------------------- */

static int vfaccessat(int dirfd, const char *path, int mode, int flags)
{
	struct vpath vp;
	struct stat st;

	if (mode & ~(R_OK | W_OK | X_OK))
		return -EINVAL;
	if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	int r = shim_resolve(dirfd, path, ((flags & AT_SYMLINK_NOFOLLOW) ? 0 : SR_FOLLOW) |
			     ((flags & AT_EMPTY_PATH) ? SR_EMPTY : 0), &vp);
	if (r < 0)
		return r;
	if (r == VP_HOST)
		return HOSTRET(REAL(faccessat)(dirfd, vp.f.path, mode, flags));
	if ((r = shim_vpath_stat(&vp, &st)) < 0)
		return r;
	return lyr_may_access(&st, mode, flags & AT_EACCESS);
}

SHIM_EXPORT int faccessat(int dirfd, const char *path, int mode, int flags)
{
	SHIM_READ_PASS(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW), REAL(faccessat)(dirfd, path, mode, flags));
	return (int)shim_ret(vfaccessat(dirfd, path, mode, flags));
}

SHIM_EXPORT int access(const char *path, int mode)
{
	SHIM_READ_PASS(AT_FDCWD, path, true, REAL(access)(path, mode));
	return (int)shim_ret(vfaccessat(AT_FDCWD, path, mode, 0));
}

/* glibc's euidaccess stats the file and ignores mode bits other than
 * R_OK, W_OK and X_OK (no EINVAL), unlike access and faccessat. */
SHIM_EXPORT int euidaccess(const char *path, int mode)
{
	SHIM_READ_PASS(AT_FDCWD, path, true, REAL(euidaccess)(path, mode));
	return (int)shim_ret(vfaccessat(AT_FDCWD, path, mode & (R_OK | W_OK | X_OK),
					AT_EACCESS));
}

SHIM_EXPORT int eaccess(const char *path, int mode)
{
	SHIM_READ_PASS(AT_FDCWD, path, true, REAL(eaccess)(path, mode));
	return (int)shim_ret(vfaccessat(AT_FDCWD, path, mode & (R_OK | W_OK | X_OK),
					AT_EACCESS));
}

/* ---- realpath ------------------------------------------------------- */

static char *vrealpath(const char *path, char *resolved, size_t size)
{
	struct vpath vp;
	struct stat st;
	char full[PATH_MAX];

	int r = shim_resolve(AT_FDCWD, path, SR_FOLLOW, &vp);
	if (r == VP_HOST)
		return REAL(realpath)(vp.f.path, resolved);
	if (r == 0 || r == VP_VIRT)
		r = shim_vpath_stat(&vp, &st);
	if (r == 0 && (r = shim_view_path(vp.f.path, full, sizeof(full))) >= 0)
		r = 0;
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	if (!resolved)
		return strdup(full);
	if (strlen(full) >= size) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	strcpy(resolved, full);
	return resolved;
}

SHIM_EXPORT char *realpath(const char *path, char *resolved)
{
	if (!shim_maybe_virtual(AT_FDCWD, path))
		return REAL(realpath)(path, resolved);
	return vrealpath(path, resolved, PATH_MAX);
}

SHIM_EXPORT char *__realpath_chk(const char *path, char *resolved, size_t len)
{
	if (!shim_maybe_virtual(AT_FDCWD, path))
		return REAL(__realpath_chk)(path, resolved, len);
	return vrealpath(path, resolved, len < PATH_MAX ? len : PATH_MAX);
}

SHIM_EXPORT char *canonicalize_file_name(const char *path)
{
	if (!shim_maybe_virtual(AT_FDCWD, path))
		return REAL(canonicalize_file_name)(path);
	return vrealpath(path, NULL, PATH_MAX);
}

/* ---- temporary files ------------------------------------------------ */

enum { TMP_FILE, TMP_DIR, TMP_NAME };

/*
 * glibc's __gen_tempname opens and stats through internal calls no wrapper
 * sees, so templates in the view are filled here, through the wrappers.
 */
static int vtempname(char *tmpl, int suffixlen, int flags, int kind)
{
	static const char chars[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	size_t len = strlen(tmpl);

	if (suffixlen < 0 || len < 6 + (size_t)suffixlen ||
	    memcmp(tmpl + len - suffixlen - 6, "XXXXXX", 6) != 0) {
		return (int)shim_ret(-EINVAL);
	}
	char *x = tmpl + len - suffixlen - 6;
	for (int attempt = 0; attempt < 62 * 62 * 62; attempt++) {
		unsigned char rnd[6];
		if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			for (int i = 0; i < 6; i++)
				rnd[i] = (unsigned char)((ts.tv_nsec >> (i * 5)) + attempt * 7 + i);
		}
		for (int i = 0; i < 6; i++)
			x[i] = chars[rnd[i] % (sizeof(chars) - 1)];
		int r;
		struct stat st;
		switch (kind) {
		case TMP_FILE:
			r = open(tmpl, (flags & ~O_ACCMODE) | O_RDWR | O_CREAT | O_EXCL, 0600);
			break;
		case TMP_DIR:
			r = mkdir(tmpl, 0700);
			break;
		default:
			r = lstat(tmpl, &st);
			if (r == 0) {
				r = -1;
				errno = EEXIST;
			} else if (errno == ENOENT) {
				r = 0;
			}
			break;
		}
		if (r >= 0 || errno != EEXIST)
			return r;
	}
	return (int)shim_ret(-EEXIST);
}

#define TEMPFN(name, args, call_real, kind, suffix, flags) \
	SHIM_EXPORT int name args \
	{ \
		if (!shim_maybe_virtual(AT_FDCWD, tmpl)) \
			return call_real; \
		return vtempname(tmpl, suffix, flags, kind); \
	}

TEMPFN(mkstemp, (char *tmpl), REAL(mkstemp)(tmpl), TMP_FILE, 0, 0)
TEMPFN(mkstemp64, (char *tmpl), REAL(mkstemp64)(tmpl), TMP_FILE, 0, O_LARGEFILE)
TEMPFN(mkostemp, (char *tmpl, int flags), REAL(mkostemp)(tmpl, flags), TMP_FILE, 0, flags)
TEMPFN(mkostemp64, (char *tmpl, int flags), REAL(mkostemp64)(tmpl, flags), TMP_FILE, 0,
       flags | O_LARGEFILE)
TEMPFN(mkstemps, (char *tmpl, int suffixlen), REAL(mkstemps)(tmpl, suffixlen), TMP_FILE,
       suffixlen, 0)
TEMPFN(mkstemps64, (char *tmpl, int suffixlen), REAL(mkstemps64)(tmpl, suffixlen), TMP_FILE,
       suffixlen, O_LARGEFILE)
TEMPFN(mkostemps, (char *tmpl, int suffixlen, int flags),
       REAL(mkostemps)(tmpl, suffixlen, flags), TMP_FILE, suffixlen, flags)
TEMPFN(mkostemps64, (char *tmpl, int suffixlen, int flags),
       REAL(mkostemps64)(tmpl, suffixlen, flags), TMP_FILE, suffixlen, flags | O_LARGEFILE)

SHIM_EXPORT char *mkdtemp(char *tmpl)
{
	if (!shim_maybe_virtual(AT_FDCWD, tmpl))
		return REAL(mkdtemp)(tmpl);
	return vtempname(tmpl, 0, 0, TMP_DIR) == 0 ? tmpl : NULL;
}

SHIM_EXPORT char *mktemp(char *tmpl)
{
	if (!shim_maybe_virtual(AT_FDCWD, tmpl))
		return REAL(mktemp)(tmpl);
	if (vtempname(tmpl, 0, 0, TMP_NAME) < 0)
		tmpl[0] = '\0';
	return tmpl;
}

/* tmpfile() creates in P_tmpdir ("/tmp"); in the view when that is. */
static FILE *vtmpfile(void)
{
	char tmpl[] = P_tmpdir "/tmpfXXXXXX";

	if (!shim_maybe_virtual(AT_FDCWD, tmpl))
		return REAL(tmpfile)();
	int fd = vtempname(tmpl, 0, O_CLOEXEC, TMP_FILE);
	if (fd < 0)
		return NULL;
	unlink(tmpl);
	FILE *f = fdopen(fd, "w+");
	if (!f)
		close(fd);
	return f;
}

SHIM_EXPORT FILE *tmpfile(void)
{
	return vtmpfile();
}

SHIM_EXPORT FILE *tmpfile64(void)
{
	return vtmpfile();
}

SHIM_EXPORT char *tempnam(const char *dir, const char *pfx)
{
	const char *env = secure_getenv("TMPDIR");
	struct stat st;
	const char *d = NULL;

	/* glibc's order: $TMPDIR, dir, P_tmpdir, "/tmp". */
	if (env && stat(env, &st) == 0 && S_ISDIR(st.st_mode))
		d = env;
	else if (dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		d = dir;
	else
		d = P_tmpdir;
	if (!shim_maybe_virtual(AT_FDCWD, d))
		return REAL(tempnam)(dir, pfx);
	char buf[PATH_MAX];
	int n = snprintf(buf, sizeof(buf), "%s/%.5sXXXXXX", d, pfx ? pfx : "file");
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if (vtempname(buf, 0, 0, TMP_NAME) < 0)
		return NULL;
	return strdup(buf);
}

/* ---- AF_UNIX sockets ------------------------------------------------ */

/*
 * A socket path in the view is reached through /proc/self/fd: connect
 * through an O_PATH fd of the socket's inode, bind in the upper copy of its
 * directory.
 */
static int vsock(int fd, const struct sockaddr *addr, socklen_t len, bool is_bind)
{
	const struct sockaddr_un *un = (const struct sockaddr_un *)addr;
	char path[sizeof(un->sun_path) + 1];
	struct vpath vp;

	size_t n = len - offsetof(struct sockaddr_un, sun_path);
	memcpy(path, un->sun_path, n);
	path[n] = '\0';
	int r = shim_resolve(AT_FDCWD, path, is_bind ? 0 : SR_FOLLOW, &vp);
	if (r < 0)
		return r;
	if (r == VP_HOST) {
		struct sockaddr_un h = { .sun_family = AF_UNIX };
		if (strlen(vp.f.path) >= sizeof(h.sun_path))
			return -ENAMETOOLONG;
		strcpy(h.sun_path, vp.f.path);
		return HOSTRET((is_bind ? REAL(bind) : REAL(connect))(fd, (struct sockaddr *)&h,
								       sizeof(h)));
	}
	char parent[PATH_MAX];
	const char *base = lyr_path_split(vp.f.path, parent, sizeof(parent));
	int err = 0;
	struct lyr_layer *fs = shim_enter(&err);
	if (!fs)
		return -err;
	int pfd;
	if (is_bind) {
		/* Copy the directory up (a no-op chown does), then bind there. */
		struct stat st;
		pfd = lyr_lookup(fs, vp.f.path, &st, NULL) == 0 ? -EADDRINUSE :
		      lyr_chown(fs, parent, (uid_t)-1, (gid_t)-1);
		if (pfd == 0)
			pfd = lyr_open(fs, parent, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	} else {
		pfd = lyr_open(fs, vp.f.path, O_PATH | O_CLOEXEC, 0);
		base = NULL;
	}
	shim_leave(pfd, NULL, NULL);
	if (pfd < 0)
		return pfd;
	struct sockaddr_un h = { .sun_family = AF_UNIX };
	snprintf(h.sun_path, sizeof(h.sun_path), "/proc/self/fd/%d%s%s", pfd,
		 base ? "/" : "", base ? base : "");
	r = HOSTRET((is_bind ? REAL(bind) : REAL(connect))(fd, (struct sockaddr *)&h, sizeof(h)));
	REAL(close)(pfd);
	shim_trace(is_bind ? "bind" : "connect", vp.f.path, r);
	return r;
}

/* Does the AF_UNIX address name a path in the view?  bind makes the
 * socket there (a change: see shim_maybe_changes). */
static bool sock_maybe_virtual(const struct sockaddr *addr, socklen_t len, bool binds)
{
	const struct sockaddr_un *un = (const struct sockaddr_un *)addr;

	SHIM_OPAQUE(addr);
	if (!addr || len <= offsetof(struct sockaddr_un, sun_path) ||
	    len > sizeof(struct sockaddr_un) || addr->sa_family != AF_UNIX ||
	    un->sun_path[0] == '\0')
		return false;
	char path[sizeof(un->sun_path) + 1];
	size_t n = len - offsetof(struct sockaddr_un, sun_path);
	memcpy(path, un->sun_path, n);
	path[n] = '\0';
	return binds ? shim_maybe_changes(AT_FDCWD, path, false) :
		       shim_maybe_virtual(AT_FDCWD, path);
}

SHIM_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	if (!sock_maybe_virtual(addr, len, true))
		return REAL(bind)(fd, addr, len);
	return (int)shim_ret(vsock(fd, addr, len, true));
}

SHIM_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	if (!sock_maybe_virtual(addr, len, false))
		return REAL(connect)(fd, addr, len);
	return (int)shim_ret(vsock(fd, addr, len, false));
}

/* ---- inotify -------------------------------------------------------- */

/* Watches the inode that backs the view entry now (an upper file, or the
 * lower copy until it is copied up). */
SHIM_EXPORT int inotify_add_watch(int fd, const char *path, uint32_t mask)
{
	struct vpath vp;
	char proc[64];

	if (!shim_maybe_virtual(AT_FDCWD, path))
		return REAL(inotify_add_watch)(fd, path, mask);
	int r = shim_resolve(AT_FDCWD, path, (mask & IN_DONT_FOLLOW) ? 0 : SR_FOLLOW, &vp);
	if (r < 0)
		return (int)shim_ret(r);
	if (r == VP_HOST)
		return REAL(inotify_add_watch)(fd, vp.f.path, mask);
	int err;
	struct lyr_layer *fs = shim_enter(&err);
	int pfd = fs ? (int)shim_leave(lyr_open(fs, vp.f.path, O_PATH | O_CLOEXEC, 0),
				       "inotify", vp.f.path) : -err;
	if (pfd < 0)
		return (int)shim_ret(pfd);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	r = REAL(inotify_add_watch)(fd, proc, mask & ~IN_DONT_FOLLOW);
	int e = errno;
	REAL(close)(pfd);
	errno = e;
	return r;
}

/* ---- syscall() ------------------------------------------------------ */

/* libuv and others call file-system syscalls directly; route those. */
SHIM_EXPORT long syscall(long nr, ...)
{
	va_list ap;
	long a[6];

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
#define P(i) ((const char *)a[i])
#define I(i) ((int)a[i])
	switch (nr) {
	case SYS_open: return open(P(0), I(1), (mode_t)a[2]);
	case SYS_openat: return openat(I(0), P(1), I(2), (mode_t)a[3]);
	case SYS_creat: return creat(P(0), (mode_t)a[1]);
	case SYS_stat: return stat(P(0), (struct stat *)a[1]);
	case SYS_lstat: return lstat(P(0), (struct stat *)a[1]);
	case SYS_fstat: return fstat(I(0), (struct stat *)a[1]);
	case SYS_newfstatat: return fstatat(I(0), P(1), (struct stat *)a[2], I(3));
	case SYS_statx: return statx(I(0), P(1), I(2), (unsigned)a[3], (struct statx *)a[4]);
	case SYS_access: return access(P(0), I(1));
	case SYS_faccessat: return faccessat(I(0), P(1), I(2), 0);
	case SYS_faccessat2: return faccessat(I(0), P(1), I(2), I(3));
	case SYS_readlink: return readlink(P(0), (char *)a[1], (size_t)a[2]);
	case SYS_readlinkat: return readlinkat(I(0), P(1), (char *)a[2], (size_t)a[3]);
	case SYS_getdents64: return getdents64(I(0), (void *)a[1], (size_t)a[2]);
	case SYS_unlink: return unlink(P(0));
	case SYS_unlinkat: return unlinkat(I(0), P(1), I(2));
	case SYS_rename: return rename(P(0), P(1));
	case SYS_renameat: return renameat(I(0), P(1), I(2), P(3));
	case SYS_renameat2: return renameat2(I(0), P(1), I(2), P(3), (unsigned)a[4]);
	case SYS_mkdir: return mkdir(P(0), (mode_t)a[1]);
	case SYS_mkdirat: return mkdirat(I(0), P(1), (mode_t)a[2]);
	case SYS_rmdir: return rmdir(P(0));
	case SYS_link: return link(P(0), P(1));
	case SYS_linkat: return linkat(I(0), P(1), I(2), P(3), I(4));
	case SYS_symlink: return symlink(P(0), P(1));
	case SYS_symlinkat: return symlinkat(P(0), I(1), P(2));
	case SYS_chdir: return chdir(P(0));
	case SYS_fchdir: return fchdir(I(0));
	case SYS_chmod: return chmod(P(0), (mode_t)a[1]);
	case SYS_fchmod: return fchmod(I(0), (mode_t)a[1]);
	case SYS_fchmodat: return fchmodat(I(0), P(1), (mode_t)a[2], 0);
	case SYS_chown: return chown(P(0), (uid_t)a[1], (gid_t)a[2]);
	case SYS_lchown: return lchown(P(0), (uid_t)a[1], (gid_t)a[2]);
	case SYS_fchown: return fchown(I(0), (uid_t)a[1], (gid_t)a[2]);
	case SYS_fchownat: return fchownat(I(0), P(1), (uid_t)a[2], (gid_t)a[3], I(4));
	case SYS_utimensat:
		/* The system call's NULL path means the fd itself. */
		if (!P(1) && I(3) == 0)
			return futimens(I(0), (const struct timespec *)a[2]);
		return utimensat(I(0), P(1), (const struct timespec *)a[2], I(3));
	case SYS_truncate: return truncate(P(0), (off_t)a[1]);
	case SYS_mknod: return mknod(P(0), (mode_t)a[1], (dev_t)a[2]);
	case SYS_mknodat: return mknodat(I(0), P(1), (mode_t)a[2], (dev_t)a[3]);
	case SYS_close: return close(I(0));
	case SYS_dup: return dup(I(0));
	case SYS_dup2: return dup2(I(0), I(1));
	case SYS_dup3: return dup3(I(0), I(1), I(2));
	case SYS_lseek: return lseek(I(0), (off_t)a[1], I(2));
	case SYS_getcwd: {
		char *r = getcwd((char *)a[0], (size_t)a[1]);
		return r ? (long)strlen(r) + 1 : -1;
	}
	case SYS_statfs: return statfs(P(0), (struct statfs *)a[1]);
	case SYS_fstatfs: return fstatfs(I(0), (struct statfs *)a[1]);
	case SYS_getxattr: return getxattr(P(0), P(1), (void *)a[2], (size_t)a[3]);
	case SYS_lgetxattr: return lgetxattr(P(0), P(1), (void *)a[2], (size_t)a[3]);
	case SYS_setxattr: return setxattr(P(0), P(1), (const void *)a[2], (size_t)a[3], I(4));
	case SYS_lsetxattr: return lsetxattr(P(0), P(1), (const void *)a[2], (size_t)a[3], I(4));
	case SYS_listxattr: return listxattr(P(0), (char *)a[1], (size_t)a[2]);
	case SYS_llistxattr: return llistxattr(P(0), (char *)a[1], (size_t)a[2]);
	case SYS_removexattr: return removexattr(P(0), P(1));
	case SYS_lremovexattr: return lremovexattr(P(0), P(1));
	case SYS_inotify_add_watch: return inotify_add_watch(I(0), P(1), (uint32_t)a[2]);
	case SYS_execve:
		return execve(P(0), (char *const *)a[1], (char *const *)a[2]);
	default:
		return REAL(syscall)(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	}
#undef P
#undef I
}
