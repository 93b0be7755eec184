/* SPDX-License-Identifier: MIT */
/*
 * wrap_stat.c - the stat family, old (__xstat) and new (statx).
 *
 * Every path form collapses to vfstatat(); every fd form to vfstat().
 */
#include "real.h"

int shim_vstat(const char *layer_path, struct stat *st)
{
	int err = 0;
	struct lyr_layer *fs = shim_enter(&err);
	if (!fs)
		return -err;
	int r = (int)shim_leave(lyr_lookup(fs, layer_path, st, NULL), "stat", layer_path);
	if (r == 0)
		st->st_dev = shim.mnt.dev;
	return r;
}

int shim_vpath_stat(const struct vpath *vp, struct stat *st)
{
	int r = vp->have_st ? 0 : vp->st_err;

	if (!vp->have_st && !vp->st_err)
		return shim_vstat(vp->f.path, st); /* resolved without a stat */
	if (r == 0)
		*st = vp->f.st;
	shim_trace("stat", vp->f.path, r);
	return r;
}

int shim_vf_name(int fd, struct vfile *vf, char *path, struct stat *st)
{
	const char *cur = shim_vf_path(vf);
	char other[PATH_MAX];
	int err = 0, r;

	if (shim_vstat(cur, st) == 0 && st->st_ino == vf->ino) {
		if (path)
			snprintf(path, PATH_MAX, "%s", cur);
		return 0;
	}
	struct lyr_layer *fs = shim_enter(&err);
	if (!fs)
		return -ENOENT;
	r = (int)shim_leave(lyr_fd_name(fs, fd, other, sizeof(other)), NULL, NULL);
	if (r < 0 || shim_vstat(other, st) < 0 || st->st_ino != vf->ino)
		return -ENOENT;
	if (path)
		memcpy(path, other, strlen(other) + 1);
	return 0;
}

int shim_vfstat(int fd, struct vfile *vf, struct stat *st)
{
	struct stat real, meta;
	unsigned flags = shim_vf_flags(vf);

	/* vf's own metadata, copied under fd.c's lock (rmdir changes it). */
	shim_fd_meta(vf, &meta);
	if ((flags & VF_DIR) && (flags & VF_GONE)) {
		*st = meta;
		st->st_nlink = 0;
		return 0;
	}
	if (S_ISLNK(meta.st_mode)) {
		/* An O_PATH fd of a symlink: the fd behind it is a stand-in.
		 * The view's, while its name is the same symlink (changed
		 * through the fd: fchownat AT_EMPTY_PATH); else as opened. */
		if (shim_vf_name(fd, vf, NULL, st) != 0)
			*st = meta;
		return 0;
	}
	/* The real fd is asked only when its answer is used (a bad fd cannot
	 * be in the table: close forgets it). */
	if (flags & VF_LOWER) {
		if (REAL(fstat)(fd, &real) < 0)
			return -errno;
		*st = meta;
		st->st_size = real.st_size;
		st->st_blocks = real.st_blocks;
		return 0;
	}
	/* The path may be stale (renamed, unlinked): trust a name only while
	 * it names the same inode. */
	if (shim_vf_name(fd, vf, NULL, st) == 0)
		return 0;
	if (shim_vf_flags(vf) & VF_META) {
		/* Changed through the fd since its name went (wrap_meta.c), or
		 * its bytes moved out of the lower (shim_fd_nameless_copy): the
		 * fd's own metadata, the real file's size. */
		if (REAL(fstat)(fd, &real) < 0)
			return -errno;
		shim_fd_meta(vf, st);
		st->st_size = real.st_size;
		st->st_blocks = real.st_blocks;
		return 0;
	}
	if (REAL(fstat)(fd, &real) < 0)
		return -errno;
	*st = real;
	st->st_dev = shim.mnt.dev;
	st->st_ino = vf->ino;
	return 0;
}

static int stat_above_mount(const char *path, struct stat *st);

static int vfstat(int fd, struct stat *st)
{
	struct vfile *vf = shim_fd_get(fd);
	struct stat tmp;
	char ghost[PATH_MAX];

	if (!vf && shim_fd_ghost(fd, ghost, sizeof(ghost))) {
		int g = stat_above_mount(ghost, &tmp);
		return g == 0 ? shim_put(st, &tmp, sizeof(tmp)) : g;
	}
	if (!vf)
		return HOSTRET(REAL(fstat)(fd, st));
	int r = shim_vfstat(fd, vf, &tmp);
	shim_vfile_put(vf);
	/* The caller's buffer, written only here: EFAULT as the kernel's. */
	return r == 0 ? shim_put(st, &tmp, sizeof(tmp)) : r;
}

/*
 * The mount point need not exist on the host, and neither need its
 * parents; but "ls -la MOUNT" stats MOUNT/.., as a real mount's parent
 * always exists.  A missing host directory above the mount point is shown
 * as an empty directory owned by root.
 */
static int stat_above_mount(const char *path, struct stat *st)
{
	if (!shim_above_mount(path))
		return -ENOENT;
	lyr_mount_ghost_stat(&shim.mnt.view, path, st);
	return 0;
}

static int vfstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	struct vpath vp;
	struct stat tmp;
	int r;

	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT))
		return -EINVAL;
	if (!*path && (flags & AT_EMPTY_PATH) && dirfd != AT_FDCWD)
		return vfstat(dirfd, st);
	r = shim_resolve(dirfd, path, (flags & AT_SYMLINK_NOFOLLOW ? 0 : SR_FOLLOW) |
			 (flags & AT_EMPTY_PATH ? SR_EMPTY : 0) | SR_OWN, &vp);
	if (r < 0)
		return r;
	if (r == VP_OWN)
		return vfstat(vp.f.fd, st);
	if (r == VP_HOST) {
		r = HOSTRET(REAL(fstatat)(dirfd, vp.f.path, st, flags));
		if (r != -ENOENT || stat_above_mount(vp.f.path, &tmp) < 0)
			return r;
		return shim_put(st, &tmp, sizeof(tmp));
	}
	if ((r = shim_vpath_stat(&vp, &tmp)) < 0)
		return r;
	return shim_put(st, &tmp, sizeof(tmp));
}

SHIM_EXPORT int stat(const char *path, struct stat *st)
{
	SHIM_READ_PASS(AT_FDCWD, path, true, REAL(stat)(path, st));
	return (int)shim_ret(vfstatat(AT_FDCWD, path, st, 0));
}

SHIM_EXPORT int stat64(const char *path, struct stat64 *st)
{
	return stat(path, (struct stat *)st);
}

SHIM_EXPORT int lstat(const char *path, struct stat *st)
{
	SHIM_READ_PASS(AT_FDCWD, path, false, REAL(lstat)(path, st));
	return (int)shim_ret(vfstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW));
}

SHIM_EXPORT int lstat64(const char *path, struct stat64 *st)
{
	return lstat(path, (struct stat *)st);
}

SHIM_EXPORT int fstat(int fd, struct stat *st)
{
	if (!shim_fd_is_virtual(fd)) {
		char ghost[PATH_MAX];
		struct stat tmp;
		if (!shim_fd_ghost(fd, ghost, sizeof(ghost)))
			return REAL(fstat)(fd, st);
		int r = stat_above_mount(ghost, &tmp);
		return (int)shim_ret(r == 0 ? shim_put(st, &tmp, sizeof(tmp)) : r);
	}
	return (int)shim_ret(vfstat(fd, st));
}

SHIM_EXPORT int fstat64(int fd, struct stat64 *st)
{
	return fstat(fd, (struct stat *)st);
}

SHIM_EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	SHIM_READ_PASS(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW),
		       REAL(fstatat)(dirfd, path, st, flags));
	return (int)shim_ret(vfstatat(dirfd, path, st, flags));
}

SHIM_EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
	return fstatat(dirfd, path, (struct stat *)st, flags);
}

SHIM_EXPORT int statx(int dirfd, const char *path, int flags, unsigned mask,
		      struct statx *stx)
{
	struct stat st;

	SHIM_READ_PASS(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW),
		       REAL(statx)(dirfd, path, flags, mask, stx));
	/* Linux's checks before the lookup. */
	if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH |
		       AT_STATX_SYNC_TYPE)) ||
	    (flags & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE || (mask & STATX__RESERVED)) {
		return (int)shim_ret(-EINVAL);
	}
	int r = vfstatat(dirfd, path, &st, flags & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH |
						    AT_NO_AUTOMOUNT));
	if (r == 0 && !shim_mem_ok(stx, sizeof(*stx), true))
		r = -EFAULT;
	if (r == 0)
		lyr_stat_to_statx(&st, stx);
	return (int)shim_ret(r);
}

/* The pre-2.33 ABI, still imported by Debian 12's make. */
SHIM_EXPORT int __xstat(int ver, const char *path, struct stat *st)
{
	SHIM_READ_PASS(AT_FDCWD, path, true, REAL(__xstat)(ver, path, st));
	return (int)shim_ret(vfstatat(AT_FDCWD, path, st, 0));
}

SHIM_EXPORT int __xstat64(int ver, const char *path, struct stat64 *st)
{
	return __xstat(ver, path, (struct stat *)st);
}

SHIM_EXPORT int __lxstat(int ver, const char *path, struct stat *st)
{
	SHIM_READ_PASS(AT_FDCWD, path, false, REAL(__lxstat)(ver, path, st));
	return (int)shim_ret(vfstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW));
}

SHIM_EXPORT int __lxstat64(int ver, const char *path, struct stat64 *st)
{
	return __lxstat(ver, path, (struct stat *)st);
}

SHIM_EXPORT int __fxstat(int ver, int fd, struct stat *st)
{
	if (!shim_fd_is_virtual(fd))
		return REAL(__fxstat)(ver, fd, st);
	/* Not fstat(): an interposer loaded before us (ThreadSanitizer's)
	 * implements fstat with __fxstat, which would bring it back here. */
	return (int)shim_ret(vfstat(fd, st));
}

SHIM_EXPORT int __fxstat64(int ver, int fd, struct stat64 *st)
{
	return __fxstat(ver, fd, (struct stat *)st);
}

SHIM_EXPORT int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags)
{
	SHIM_READ_PASS(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW),
		       REAL(__fxstatat)(ver, dirfd, path, st, flags));
	return (int)shim_ret(vfstatat(dirfd, path, st, flags));
}

SHIM_EXPORT int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st,
			     int flags)
{
	return __fxstatat(ver, dirfd, path, (struct stat *)st, flags);
}
