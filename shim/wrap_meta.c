/* SPDX-License-Identifier: MIT */
/*
 * wrap_meta.c - metadata: chmod, chown, utime*, truncate, and xattrs.
 *
 * Path forms resolve and call the core (which copies a lower entry up
 * first).  fd forms on a virtual fd use the fd's view path while it still
 * names the fd's inode, so a lower file is copied up and the fd follows;
 * otherwise (renamed or unlinked since) the real fd is changed directly.
 */
#include "real.h"

/* fd's current layer path into path (PATH_MAX): 0, or 1 when fd is not
 * virtual or no name of it is known (use the real fd). */
static int vf_path(int fd, char *path)
{
	struct vfile *vf = shim_fd_get(fd);
	struct stat st;

	if (!vf)
		return 1;
	int r = shim_vf_name(fd, vf, path, &st) == 0 ? 0 : 1;
	shim_vfile_put(vf);
	return r;
}

/*
 * A change through fd, virtual and with no name left (vf_path failed).  Its
 * real fd may then be a lower layer's (a lower file never copied up; a
 * directory), which must never be written: fn makes the change to the
 * fd's own metadata (shim_fd_meta_apply), which fstat reports, as the
 * kernel's nameless inode would.  1: the real fd is an upper file, change
 * it directly.
 */
static int nameless(int fd, int (*fn)(struct stat *st, const void *arg), const void *arg)
{
	struct vfile *vf = shim_fd_get(fd);
	int r = 1;

	if (vf && (shim_vf_flags(vf) & (VF_LOWER | VF_DIR)))
		r = shim_fd_meta_apply(vf, fn, arg);
	shim_vfile_put(vf);
	return r;
}

static bool is_owner(const struct stat *st)
{
	return geteuid() == 0 || geteuid() == st->st_uid;
}

static int nameless_chmod(struct stat *st, const void *arg)
{
	if (!is_owner(st))
		return -EPERM;
	st->st_mode = (st->st_mode & S_IFMT) | (*(const mode_t *)arg & 07777);
	return 0;
}

struct owner_arg {
	uid_t uid;
	gid_t gid;
};

static int nameless_chown(struct stat *st, const void *arg)
{
	const struct owner_arg *o = arg;

	if (geteuid() != 0 &&
	    ((o->uid != (uid_t)-1 && o->uid != st->st_uid) || geteuid() != st->st_uid ||
	     (o->gid != (gid_t)-1 && o->gid != st->st_gid && o->gid != getegid() &&
	      !group_member(o->gid))))
		return -EPERM;
	if (o->uid != (uid_t)-1)
		st->st_uid = o->uid;
	if (o->gid != (gid_t)-1)
		st->st_gid = o->gid;
	return 0;
}

static int nameless_utimens(struct stat *st, const void *arg)
{
	const struct timespec *ts = arg;
	struct timespec now;
	bool explicit = ts && ((ts[0].tv_nsec != UTIME_NOW && ts[0].tv_nsec != UTIME_OMIT) ||
			       (ts[1].tv_nsec != UTIME_NOW && ts[1].tv_nsec != UTIME_OMIT));

	if (!is_owner(st) && (explicit || !(st->st_mode & S_IWOTH)))
		return explicit ? -EPERM : -EACCES;
	clock_gettime(CLOCK_REALTIME, &now);
	struct timespec *t[2] = { &st->st_atim, &st->st_mtim };
	for (int i = 0; i < 2; i++)
		if (!ts || ts[i].tv_nsec == UTIME_NOW)
			*t[i] = now;
		else if (ts[i].tv_nsec != UTIME_OMIT)
			*t[i] = ts[i];
	return 0;
}

/* xattrs of a nameless lower entry have nowhere to go. */
static int nameless_xattr(struct stat *st, const void *arg)
{
	(void)st;
	(void)arg;
	return -EROFS;
}

/* Resolves (dirfd, path) for a metadata call; AT_* flags as given. */
static int meta_resolve(int dirfd, const char *path, int flags, struct vpath *vp)
{
	if (!*path && (flags & AT_EMPTY_PATH) && dirfd != AT_FDCWD) {
		if (vf_path(dirfd, vp->f.path) == 0) {
			vp->kind = VP_VIRT;
			return VP_VIRT;
		}
		return -EBADF;
	}
	return shim_resolve(dirfd, path, (flags & AT_SYMLINK_NOFOLLOW) ? 0 : SR_FOLLOW, vp);
}

/* ---- chmod ---------------------------------------------------------- */

static int vfchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	struct vpath vp;
	struct stat st;

	if (flags & ~AT_SYMLINK_NOFOLLOW)
		return -EINVAL;
	int r = shim_resolve(dirfd, path, (flags & AT_SYMLINK_NOFOLLOW) ? 0 : SR_FOLLOW, &vp);
	if (r < 0)
		return r;
	if (r == VP_HOST)
		return HOSTRET(REAL(fchmodat)(dirfd, vp.f.path, mode, flags));
	if ((flags & AT_SYMLINK_NOFOLLOW) && shim_vstat(vp.f.path, &st) == 0 &&
	    S_ISLNK(st.st_mode))
		return -EOPNOTSUPP;
	int err;
	struct lyr_layer *fs = shim_enter(&err);
	if (!fs)
		return -err;
	return (int)shim_leave(lyr_chmod(fs, vp.f.path, mode & 07777), "chmod", vp.f.path);
}

SHIM_EXPORT int fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	if (!shim_maybe_changes(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW)))
		return REAL(fchmodat)(dirfd, path, mode, flags);
	return (int)shim_ret(vfchmodat(dirfd, path, mode, flags));
}

SHIM_EXPORT int chmod(const char *path, mode_t mode)
{
	if (!shim_maybe_changes(AT_FDCWD, path, true))
		return REAL(chmod)(path, mode);
	return (int)shim_ret(vfchmodat(AT_FDCWD, path, mode, 0));
}

SHIM_EXPORT int lchmod(const char *path, mode_t mode)
{
	if (!shim_maybe_changes(AT_FDCWD, path, false))
		return REAL(lchmod)(path, mode);
	return (int)shim_ret(vfchmodat(AT_FDCWD, path, mode, AT_SYMLINK_NOFOLLOW));
}

SHIM_EXPORT int fchmod(int fd, mode_t mode)
{
	char path[PATH_MAX];

	if (!shim_fd_is_virtual(fd))
		return REAL(fchmod)(fd, mode);
	if (vf_path(fd, path)) {
		int r = nameless(fd, nameless_chmod, &mode);
		return r == 1 ? REAL(fchmod)(fd, mode) : (int)shim_ret(r);
	}
	int err;
	struct lyr_layer *fs = shim_enter(&err);
	if (!fs)
		return (int)shim_ret(-err);
	return (int)shim_ret(shim_leave(lyr_chmod(fs, path, mode & 07777), "fchmod", path));
}

/* ---- chown ---------------------------------------------------------- */

static int vfchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	struct vpath vp;

	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	int r = meta_resolve(dirfd, path, flags, &vp);
	if (r < 0)
		return r;
	if (r == VP_HOST)
		return HOSTRET(REAL(fchownat)(dirfd, vp.f.path, uid, gid, flags & ~AT_EMPTY_PATH));
	int err;
	struct lyr_layer *fs = shim_enter(&err);
	if (!fs)
		return -err;
	return (int)shim_leave(lyr_chown(fs, vp.f.path, uid, gid), "chown", vp.f.path);
}

SHIM_EXPORT int fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	if (!shim_maybe_changes(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW)))
		return REAL(fchownat)(dirfd, path, uid, gid, flags);
	return (int)shim_ret(vfchownat(dirfd, path, uid, gid, flags));
}

SHIM_EXPORT int chown(const char *path, uid_t uid, gid_t gid)
{
	if (!shim_maybe_changes(AT_FDCWD, path, true))
		return REAL(chown)(path, uid, gid);
	return (int)shim_ret(vfchownat(AT_FDCWD, path, uid, gid, 0));
}

SHIM_EXPORT int lchown(const char *path, uid_t uid, gid_t gid)
{
	if (!shim_maybe_changes(AT_FDCWD, path, false))
		return REAL(lchown)(path, uid, gid);
	return (int)shim_ret(vfchownat(AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW));
}

SHIM_EXPORT int fchown(int fd, uid_t uid, gid_t gid)
{
	char path[PATH_MAX];

	if (!shim_fd_is_virtual(fd))
		return REAL(fchown)(fd, uid, gid);
	if (vf_path(fd, path)) {
		int r = nameless(fd, nameless_chown, &(struct owner_arg){ uid, gid });
		return r == 1 ? REAL(fchown)(fd, uid, gid) : (int)shim_ret(r);
	}
	int err;
	struct lyr_layer *fs = shim_enter(&err);
	if (!fs)
		return (int)shim_ret(-err);
	return (int)shim_ret(shim_leave(lyr_chown(fs, path, uid, gid), "fchown", path));
}

/* ---- times ---------------------------------------------------------- */

static int vutimensat(int dirfd, const char *path, const struct timespec ts[2], int flags)
{
	struct vpath vp;
	static const struct timespec now[2] = { { 0, UTIME_NOW }, { 0, UTIME_NOW } };

	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	if (ts && !shim_mem_ok(ts, 2 * sizeof(*ts), false))
		return -EFAULT; /* copied in before anything is looked up */
	for (int i = 0; ts && i < 2; i++)
		if (ts[i].tv_nsec != UTIME_NOW && ts[i].tv_nsec != UTIME_OMIT &&
		    (ts[i].tv_nsec < 0 || ts[i].tv_nsec >= 1000000000))
			return -EINVAL;
	int r = meta_resolve(dirfd, path, flags, &vp);
	if (r < 0)
		return r;
	if (r == VP_HOST)
		return HOSTRET(REAL(utimensat)(dirfd, vp.f.path, ts, flags & ~AT_EMPTY_PATH));
	int err;
	struct lyr_layer *fs = shim_enter(&err);
	if (!fs)
		return -err;
	return (int)shim_leave(lyr_utimens(fs, vp.f.path, ts ? ts : now),
			       "utimens", vp.f.path);
}

static int vfutimens(int fd, const struct timespec ts[2])
{
	char path[PATH_MAX];
	static const struct timespec now[2] = { { 0, UTIME_NOW }, { 0, UTIME_NOW } };

	if (ts && !shim_mem_ok(ts, 2 * sizeof(*ts), false))
		return -EFAULT;
	if (vf_path(fd, path)) {
		int r = nameless(fd, nameless_utimens, ts);
		return r == 1 ? HOSTRET(REAL(futimens)(fd, ts)) : r;
	}
	int err;
	struct lyr_layer *fs = shim_enter(&err);
	if (!fs)
		return -err;
	return (int)shim_leave(lyr_utimens(fs, path, ts ? ts : now), "futimens", path);
}

/* A NULL path is EINVAL in glibc's utimensat (the system call's "the fd
 * itself" is reached through futimens), so it passes through. */
SHIM_EXPORT int utimensat(int dirfd, const char *path, const struct timespec ts[2], int flags)
{
	if (!shim_maybe_changes(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW)))
		return REAL(utimensat)(dirfd, path, ts, flags);
	return (int)shim_ret(vutimensat(dirfd, path, ts, flags));
}

SHIM_EXPORT int futimens(int fd, const struct timespec ts[2])
{
	if (!shim_fd_is_virtual(fd))
		return REAL(futimens)(fd, ts);
	return (int)shim_ret(vfutimens(fd, ts));
}

/* timevals as timespecs; NULL stays NULL (both "now"). */
static const struct timespec *tv_to_ts(const struct timeval tv[2], struct timespec ts[2])
{
	if (!tv)
		return NULL;
	for (int i = 0; i < 2; i++) {
		ts[i].tv_sec = tv[i].tv_sec;
		ts[i].tv_nsec = tv[i].tv_usec * 1000;
	}
	return ts;
}

static int tv_check(const struct timeval tv[2])
{
	for (int i = 0; tv && i < 2; i++)
		if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000)
			return -EINVAL;
	return 0;
}

SHIM_EXPORT int utimes(const char *path, const struct timeval tv[2])
{
	struct timespec ts[2];

	if (!shim_maybe_changes(AT_FDCWD, path, true))
		return REAL(utimes)(path, tv);
	int r = tv_check(tv);
	return (int)shim_ret(r ? r : vutimensat(AT_FDCWD, path, tv_to_ts(tv, ts), 0));
}

SHIM_EXPORT int lutimes(const char *path, const struct timeval tv[2])
{
	struct timespec ts[2];

	if (!shim_maybe_changes(AT_FDCWD, path, false))
		return REAL(lutimes)(path, tv);
	int r = tv_check(tv);
	return (int)shim_ret(r ? r : vutimensat(AT_FDCWD, path, tv_to_ts(tv, ts),
						AT_SYMLINK_NOFOLLOW));
}

SHIM_EXPORT int futimesat(int dirfd, const char *path, const struct timeval tv[2])
{
	struct timespec ts[2];

	SHIM_OPAQUE(path);
	if (!path && shim_fd_is_virtual(dirfd))
		return (int)shim_ret(vfutimens(dirfd, tv_to_ts(tv, ts)));
	if (!shim_maybe_changes(dirfd, path, true))
		return REAL(futimesat)(dirfd, path, tv);
	int r = tv_check(tv);
	return (int)shim_ret(r ? r : vutimensat(dirfd, path, tv_to_ts(tv, ts), 0));
}

SHIM_EXPORT int futimes(int fd, const struct timeval tv[2])
{
	struct timespec ts[2];

	if (!shim_fd_is_virtual(fd))
		return REAL(futimes)(fd, tv);
	int r = tv_check(tv);
	return (int)shim_ret(r ? r : vfutimens(fd, tv_to_ts(tv, ts)));
}

SHIM_EXPORT int utime(const char *path, const struct utimbuf *t)
{
	struct timespec ts[2];

	if (!shim_maybe_changes(AT_FDCWD, path, true))
		return REAL(utime)(path, t);
	if (t) {
		ts[0] = (struct timespec){ t->actime, 0 };
		ts[1] = (struct timespec){ t->modtime, 0 };
	}
	return (int)shim_ret(vutimensat(AT_FDCWD, path, t ? ts : NULL, 0));
}

/* ---- truncate ------------------------------------------------------- */

static int vtruncate(const char *path, off_t len)
{
	struct vpath vp;

	if (len < 0)
		return -EINVAL;
	int r = shim_resolve(AT_FDCWD, path, SR_FOLLOW, &vp);
	if (r < 0)
		return r;
	if (r == VP_HOST)
		return HOSTRET(REAL(truncate)(vp.f.path, len));
	int err;
	struct lyr_layer *fs = shim_enter(&err);
	if (!fs)
		return -err;
	return (int)shim_leave(lyr_truncate(fs, vp.f.path, len), "truncate", vp.f.path);
}

SHIM_EXPORT int truncate(const char *path, off_t len)
{
	if (!shim_maybe_changes(AT_FDCWD, path, true))
		return REAL(truncate)(path, len);
	return (int)shim_ret(vtruncate(path, len));
}

SHIM_EXPORT int truncate64(const char *path, off64_t len)
{
	return truncate(path, len);
}

/* A writable virtual fd is a real upper (or writable lower) file, and a
 * read-only one fails in the kernel as it should: no translation needed. */
SHIM_EXPORT int ftruncate(int fd, off_t len)
{
	return REAL(ftruncate)(fd, len);
}

SHIM_EXPORT int ftruncate64(int fd, off64_t len)
{
	return REAL(ftruncate64)(fd, len);
}

/* ---- xattrs --------------------------------------------------------- */

/*
 * The pointers of an xattr call on the view, as the kernel checks them: a
 * name it cannot read is EFAULT (as is a value to set); a value or list
 * read is copied out through shim_put (EFAULT where it cannot be written).
 */
static bool xname_bad(const char *name)
{
	return !name || !shim_str_ok(name);
}

/* lyr_getxattr (list NULL) or lyr_listxattr of path into the caller's v. */
static ssize_t xattr_out(struct lyr_layer *fs, const char *path, const char *name,
			 void *v, size_t size)
{
	char small[256];
	size_t n = size < XATTR_SIZE_MAX ? size : XATTR_SIZE_MAX;
	char *tmp = n <= sizeof(small) ? small : malloc(n);

	if (!tmp)
		return -ENOMEM;
	ssize_t r = name ? lyr_getxattr(fs, path, name, size ? tmp : NULL, n) :
			   lyr_listxattr(fs, path, size ? tmp : NULL, n);
	if (r > 0 && size) {
		int e = shim_put(v, tmp, (size_t)r);
		if (e < 0)
			r = e;
	}
	if (tmp != small)
		free(tmp);
	return r;
}

static ssize_t vgetxattr(const char *path, bool follow, const char *name, void *v,
			 size_t size)
{
	struct vpath vp;
	int r = shim_resolve(AT_FDCWD, path, follow ? SR_FOLLOW : 0, &vp);

	if (r < 0)
		return r;
	if (r == VP_HOST) {
		ssize_t n = (follow ? REAL(getxattr) : REAL(lgetxattr))(vp.f.path, name, v, size);
		if (n < 0 && errno == ENOENT && shim_above_mount(vp.f.path))
			return -ENODATA;	/* see stat_above_mount */
		return n < 0 ? -errno : n;
	}
	if (xname_bad(name))
		return -EFAULT;
	int err;
	struct lyr_layer *fs = shim_enter(&err);
	if (!fs)
		return -err;
	return shim_leave(xattr_out(fs, vp.f.path, name, v, size), "getxattr", vp.f.path);
}

static ssize_t vlistxattr(const char *path, bool follow, char *list, size_t size)
{
	struct vpath vp;
	int r = shim_resolve(AT_FDCWD, path, follow ? SR_FOLLOW : 0, &vp);

	if (r < 0)
		return r;
	if (r == VP_HOST) {
		ssize_t n = (follow ? REAL(listxattr) : REAL(llistxattr))(vp.f.path, list, size);
		if (n < 0 && errno == ENOENT && shim_above_mount(vp.f.path))
			return 0;
		return n < 0 ? -errno : n;
	}
	int err;
	struct lyr_layer *fs = shim_enter(&err);
	if (!fs)
		return -err;
	return shim_leave(xattr_out(fs, vp.f.path, NULL, list, size), "listxattr", vp.f.path);
}

static int vsetxattr(const char *path, bool follow, const char *name, const void *v,
		     size_t size, int flags)
{
	struct vpath vp;
	int r = shim_resolve(AT_FDCWD, path, follow ? SR_FOLLOW : 0, &vp);

	if (r < 0)
		return r;
	if (r == VP_HOST)
		return HOSTRET((follow ? REAL(setxattr) : REAL(lsetxattr))(vp.f.path, name, v,
									    size, flags));
	if (xname_bad(name) || !shim_mem_ok(v, size, false))
		return -EFAULT;
	int err;
	struct lyr_layer *fs = shim_enter(&err);
	if (!fs)
		return -err;
	return (int)shim_leave(lyr_setxattr(fs, vp.f.path, name, v, size, flags),
			       "setxattr", vp.f.path);
}

static int vremovexattr(const char *path, bool follow, const char *name)
{
	struct vpath vp;
	int r = shim_resolve(AT_FDCWD, path, follow ? SR_FOLLOW : 0, &vp);

	if (r < 0)
		return r;
	if (r == VP_HOST)
		return HOSTRET((follow ? REAL(removexattr) : REAL(lremovexattr))(vp.f.path, name));
	if (xname_bad(name))
		return -EFAULT;
	int err;
	struct lyr_layer *fs = shim_enter(&err);
	if (!fs)
		return -err;
	return (int)shim_leave(lyr_removexattr(fs, vp.f.path, name),
			       "removexattr", vp.f.path);
}

SHIM_EXPORT ssize_t getxattr(const char *path, const char *name, void *v, size_t size)
{
	SHIM_READ_PASS(AT_FDCWD, path, true, REAL(getxattr)(path, name, v, size));
	return shim_ret(vgetxattr(path, true, name, v, size));
}

SHIM_EXPORT ssize_t lgetxattr(const char *path, const char *name, void *v, size_t size)
{
	SHIM_READ_PASS(AT_FDCWD, path, false, REAL(lgetxattr)(path, name, v, size));
	return shim_ret(vgetxattr(path, false, name, v, size));
}

SHIM_EXPORT ssize_t fgetxattr(int fd, const char *name, void *v, size_t size)
{
	char path[PATH_MAX];

	if (!shim_fd_is_virtual(fd) || vf_path(fd, path))
		return REAL(fgetxattr)(fd, name, v, size);
	if (xname_bad(name))
		return shim_ret(-EFAULT);
	int err;
	struct lyr_layer *fs = shim_enter(&err);
	if (!fs)
		return shim_ret(-err);
	return shim_ret(shim_leave(xattr_out(fs, path, name, v, size), "fgetxattr", path));
}

SHIM_EXPORT int setxattr(const char *path, const char *name, const void *v, size_t size,
			 int flags)
{
	if (!shim_maybe_changes(AT_FDCWD, path, true))
		return REAL(setxattr)(path, name, v, size, flags);
	return (int)shim_ret(vsetxattr(path, true, name, v, size, flags));
}

SHIM_EXPORT int lsetxattr(const char *path, const char *name, const void *v, size_t size,
			  int flags)
{
	if (!shim_maybe_changes(AT_FDCWD, path, false))
		return REAL(lsetxattr)(path, name, v, size, flags);
	return (int)shim_ret(vsetxattr(path, false, name, v, size, flags));
}

SHIM_EXPORT int fsetxattr(int fd, const char *name, const void *v, size_t size, int flags)
{
	char path[PATH_MAX];

	if (!shim_fd_is_virtual(fd))
		return REAL(fsetxattr)(fd, name, v, size, flags);
	if (xname_bad(name) || !shim_mem_ok(v, size, false))
		return (int)shim_ret(-EFAULT);
	if (vf_path(fd, path)) {
		int r = nameless(fd, nameless_xattr, NULL);
		return r == 1 ? REAL(fsetxattr)(fd, name, v, size, flags) : (int)shim_ret(r);
	}
	int err;
	struct lyr_layer *fs = shim_enter(&err);
	if (!fs)
		return (int)shim_ret(-err);
	return (int)shim_ret(shim_leave(lyr_setxattr(fs, path, name, v, size, flags),
					"fsetxattr", path));
}

SHIM_EXPORT ssize_t listxattr(const char *path, char *list, size_t size)
{
	SHIM_READ_PASS(AT_FDCWD, path, true, REAL(listxattr)(path, list, size));
	return shim_ret(vlistxattr(path, true, list, size));
}

SHIM_EXPORT ssize_t llistxattr(const char *path, char *list, size_t size)
{
	SHIM_READ_PASS(AT_FDCWD, path, false, REAL(llistxattr)(path, list, size));
	return shim_ret(vlistxattr(path, false, list, size));
}

SHIM_EXPORT ssize_t flistxattr(int fd, char *list, size_t size)
{
	char path[PATH_MAX];

	if (!shim_fd_is_virtual(fd) || vf_path(fd, path))
		return REAL(flistxattr)(fd, list, size);
	int err;
	struct lyr_layer *fs = shim_enter(&err);
	if (!fs)
		return shim_ret(-err);
	return shim_ret(shim_leave(xattr_out(fs, path, NULL, list, size), "flistxattr", path));
}

SHIM_EXPORT int removexattr(const char *path, const char *name)
{
	if (!shim_maybe_changes(AT_FDCWD, path, true))
		return REAL(removexattr)(path, name);
	return (int)shim_ret(vremovexattr(path, true, name));
}

SHIM_EXPORT int lremovexattr(const char *path, const char *name)
{
	if (!shim_maybe_changes(AT_FDCWD, path, false))
		return REAL(lremovexattr)(path, name);
	return (int)shim_ret(vremovexattr(path, false, name));
}

SHIM_EXPORT int fremovexattr(int fd, const char *name)
{
	char path[PATH_MAX];

	if (!shim_fd_is_virtual(fd))
		return REAL(fremovexattr)(fd, name);
	if (xname_bad(name))
		return (int)shim_ret(-EFAULT);
	if (vf_path(fd, path)) {
		int r = nameless(fd, nameless_xattr, NULL);
		return r == 1 ? REAL(fremovexattr)(fd, name) : (int)shim_ret(r);
	}
	int err;
	struct lyr_layer *fs = shim_enter(&err);
	if (!fs)
		return (int)shim_ret(-err);
	return (int)shim_ret(shim_leave(lyr_removexattr(fs, path, name),
					"fremovexattr", path));
}
