/* SPDX-License-Identifier: MIT */
/*
 * wrap_name.c - calls that create, remove and rename names: link, symlink,
 * readlink, unlink, remove, rename, mkdir, rmdir, mknod, mkfifo.
 *
 * Each collapses to its *at form.  A call naming two paths is virtual only
 * when both are; one in the view and one outside is EXDEV, as across mounts.
 */
#include "real.h"

/* 1 when the last component of path is ".", 2 when "..", else 0. */
static int last_dot(const char *path)
{
	size_t n = strlen(path);

	while (n > 1 && path[n - 1] == '/')
		n--;
	const char *base = path + n;
	while (base > path && base[-1] != '/')
		base--;
	size_t bl = (size_t)(path + n - base);
	if (bl == 1 && base[0] == '.')
		return 1;
	if (bl == 2 && base[0] == '.' && base[1] == '.')
		return 2;
	return 0;
}

/*
 * Resolves path as Linux does for the calls that act on the name itself
 * (unlink, rmdir, rename and the names created): the last component is
 * not followed and trailing slashes are dropped (vp->dir_only says they
 * were there).  A host path is resolved as written.  Returns as
 * shim_resolve.
 */
static int resolve_last(int dirfd, const char *path, struct vpath *vp)
{
	char buf[PATH_MAX];
	size_t len = strlen(path), n = len;
	int r;

	while (n > 1 && path[n - 1] == '/')
		n--;
	if (n == len || n >= sizeof(buf))
		return shim_resolve(dirfd, path, 0, vp);
	memcpy(buf, path, n);
	buf[n] = '\0';
	if ((r = shim_resolve(dirfd, buf, 0, vp)) != VP_VIRT)
		return r < 0 ? r : shim_resolve(dirfd, path, 0, vp);
	vp->dir_only = true;
	return r;
}

/*
 * A name to create (link, symlink, mknod; mkdir with dir): a trailing
 * slash is allowed for mkdir only, elsewhere it makes an existing name
 * EEXIST and a missing one ENOENT, as Linux's filename_create().
 */
static int resolve_create(int dirfd, const char *path, bool dir, struct vpath *vp)
{
	struct stat st;
	int r = resolve_last(dirfd, path, vp);

	if (r != VP_VIRT || dir || !vp->dir_only)
		return r;
	return shim_vpath_stat(vp, &st) == 0 ? -EEXIST : -ENOENT;
}

/*
 * For the host path of a call naming two paths: Linux resolves the
 * parents (for link, the whole source) before it compares mounts, so an
 * error there (EBADF, ENOENT, ENOTDIR) comes before EXDEV.  0 or -errno.
 */
static int host_parent_err(int dirfd, const char *path)
{
	char parent[PATH_MAX];
	size_t n = strlen(path);
	struct stat st;

	while (n > 1 && path[n - 1] == '/')
		n--;
	while (n > 0 && path[n - 1] != '/')
		n--;
	if (n == 0)
		strcpy(parent, ".");
	else if (n < sizeof(parent))
		snprintf(parent, sizeof(parent), "%.*s", (int)n, path);
	else
		return -ENAMETOOLONG;
	if (REAL(fstatat)(dirfd, parent, &st, 0) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static int vmkdirat(int dirfd, const char *path, mode_t mode)
{
	struct vpath vp;
	int r = resolve_create(dirfd, path, true, &vp);

	if (r < 0)
		return r;
	if (r == VP_HOST)
		return HOSTRET(REAL(mkdirat)(dirfd, vp.f.path, mode));
	if (last_dot(path) || !vp.f.path[0])
		return -EEXIST;
	mode &= ~shim.umask & 07777;
	int err;
	struct lyr_layer *fs = shim_enter(&err);
	if (!fs)
		return -err;
	return (int)shim_leave(lyr_mkdir(fs, vp.f.path, mode), "mkdir", vp.f.path);
}

static int vrmdirat(int dirfd, const char *path)
{
	struct vpath vp;
	int dot = last_dot(path);
	int r = resolve_last(dirfd, path, &vp);

	if (r < 0)
		return r;
	if (r == VP_HOST)
		return HOSTRET(REAL(unlinkat)(dirfd, vp.f.path, AT_REMOVEDIR));
	if (dot == 1)
		return -EINVAL;
	if (dot == 2)
		return -ENOTEMPTY;
	if (!vp.f.path[0])
		return -EBUSY;
	struct stat st;
	bool known = shim_vpath_stat(&vp, &st) == 0;
	int err;
	struct lyr_layer *fs = shim_enter(&err);
	if (!fs)
		return -err;
	r = (int)shim_leave(lyr_rmdir(fs, vp.f.path), "rmdir", vp.f.path);
	if (r == 0) {
		shim_cwd_removed(vp.f.path);
		shim_fd_removed(vp.f.path, known ? &st : NULL);
	}
	return r;
}

static int vunlinkat(int dirfd, const char *path, int flags)
{
	struct vpath vp;

	if (flags & ~AT_REMOVEDIR)
		return -EINVAL;
	if (flags & AT_REMOVEDIR)
		return vrmdirat(dirfd, path);
	int r = resolve_last(dirfd, path, &vp);
	if (r < 0)
		return r;
	if (r == VP_HOST)
		return HOSTRET(REAL(unlinkat)(dirfd, vp.f.path, 0));
	if (!vp.f.path[0] || last_dot(path))
		return -EISDIR;
	if (vp.dir_only) {
		/* The name itself (a symlink is not followed): ENOTDIR. */
		struct stat st;
		r = shim_vpath_stat(&vp, &st);
		if (r < 0)
			return r;
		return S_ISDIR(st.st_mode) ? -EISDIR : -ENOTDIR;
	}
	int err;
	struct lyr_layer *fs = shim_enter(&err);
	if (!fs)
		return -err;
	return (int)shim_leave(lyr_unlink(fs, vp.f.path), "unlink", vp.f.path);
}

/*
 * A rename with a trailing slash on a name, in Linux's order (after the
 * source is found and RENAME_NOREPLACE or RENAME_EXCHANGE has looked at
 * the target): it asks for a directory source, and with RENAME_EXCHANGE a
 * directory target.  0 when the core may go on.
 */
static int rename_slashes(const struct vpath *ovp, const struct vpath *nvp,
			  unsigned flags)
{
	struct stat ost, nst;
	int r = shim_vstat(ovp->f.path, &ost);
	int nr = shim_vstat(nvp->f.path, &nst);

	if (r < 0)
		return r;
	if ((flags & RENAME_NOREPLACE) && nr == 0)
		return -EEXIST;
	if (flags & RENAME_EXCHANGE) {
		if (nr < 0)
			return nr;
		if (nvp->dir_only && !S_ISDIR(nst.st_mode))
			return -ENOTDIR;
	}
	if (!S_ISDIR(ost.st_mode) &&
	    (ovp->dir_only || (nvp->dir_only && !(flags & RENAME_EXCHANGE))))
		return -ENOTDIR;
	return 0;
}

static int vrenameat2(int odirfd, const char *old, int ndirfd, const char *new,
		      unsigned flags)
{
	struct vpath ovp, nvp;
	bool dead = false;
	int r;

	/* Linux's order: both parents, then the mounts, then the names.  A
	 * single name in a removed directory has a parent; nothing is found
	 * in it later (ENOENT).  A bad pointer is EFAULT where its parent
	 * would be looked up. */
	if ((r = shim_path_err(old)))
		return r;
	if ((r = resolve_last(odirfd, old, &ovp)) < 0) {
		if (r != -ENOENT || !shim_base_gone(odirfd, old))
			return r;
		ovp.kind = VP_VIRT;
		dead = true;
	}
	if (ovp.kind == VP_HOST && (r = host_parent_err(odirfd, old)) < 0)
		return r;
	if ((r = shim_path_err(new)))
		return r;
	if ((r = resolve_last(ndirfd, new, &nvp)) < 0) {
		if (r != -ENOENT || !shim_base_gone(ndirfd, new))
			return r;
		nvp.kind = VP_VIRT;
		dead = true;
	}
	if (nvp.kind == VP_HOST && (r = host_parent_err(ndirfd, new)) < 0)
		return r;
	if (ovp.kind == VP_HOST && nvp.kind == VP_HOST)
		return HOSTRET(REAL(renameat2)(odirfd, ovp.f.path, ndirfd, nvp.f.path, flags));
	if (ovp.kind != nvp.kind)
		return -EXDEV;
	if (last_dot(old) || last_dot(new))
		return -EBUSY;
	if (dead)
		return -ENOENT;
	if (!ovp.f.path[0] || !nvp.f.path[0])
		return -EBUSY;
	if (ovp.dir_only || nvp.dir_only) {
		if ((r = rename_slashes(&ovp, &nvp, flags)) < 0)
			return r;
	}
	/* A directory renamed over is gone; fds and the working directory
	 * move with what they name, as in the kernel. */
	struct stat tst;
	bool over_dir = !(flags & RENAME_EXCHANGE) && strcmp(ovp.f.path, nvp.f.path) &&
			shim_vstat(nvp.f.path, &tst) == 0 && S_ISDIR(tst.st_mode);
	int err;
	struct lyr_layer *fs = shim_enter(&err);
	if (!fs)
		return -err;
	r = (int)shim_leave(lyr_rename(fs, ovp.f.path, nvp.f.path, flags),
			    "rename", ovp.f.path);
	if (r == 0) {
		if (over_dir)
			shim_fd_removed(nvp.f.path, &tst);
		shim_cwd_renamed(ovp.f.path, nvp.f.path, flags & RENAME_EXCHANGE);
		shim_fd_renamed(ovp.f.path, nvp.f.path, flags & RENAME_EXCHANGE);
	}
	return r;
}

static int vlinkat(int odirfd, const char *old, int ndirfd, const char *new, int flags)
{
	struct vpath ovp, nvp;
	struct stat st;
	int r;

	if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	if ((r = shim_path_err(old)))
		return r;
	r = shim_resolve(odirfd, old, ((flags & AT_SYMLINK_FOLLOW) ? SR_FOLLOW : 0) |
			 ((flags & AT_EMPTY_PATH) ? SR_EMPTY : 0), &ovp);
	if (r < 0)
		return r;
	/* Linux's order: the whole source, the new parent and name, then the
	 * mounts. */
	if (ovp.kind == VP_HOST &&
	    REAL(fstatat)(odirfd, ovp.f.path, &st, (flags & AT_EMPTY_PATH) |
			  ((flags & AT_SYMLINK_FOLLOW) ? 0 : AT_SYMLINK_NOFOLLOW)) < 0)
		return -errno;
	if (ovp.kind == VP_VIRT && (r = shim_vstat(ovp.f.path, &st)) < 0)
		return r;
	if ((r = shim_path_err(new)))
		return r;
	if ((r = resolve_create(ndirfd, new, false, &nvp)) < 0)
		return r == -ENOENT && ovp.kind == VP_HOST && shim_base_gone(ndirfd, new) ?
		       -EXDEV : r;
	if (nvp.kind == VP_HOST && (r = host_parent_err(ndirfd, new)) < 0)
		return r;
	if (ovp.kind == VP_HOST && nvp.kind == VP_HOST)
		return HOSTRET(REAL(linkat)(odirfd, ovp.f.path, ndirfd, nvp.f.path, flags));
	if (ovp.kind != nvp.kind)
		return -EXDEV;
	int err;
	struct lyr_layer *fs = shim_enter(&err);
	if (!fs)
		return -err;
	return (int)shim_leave(lyr_link(fs, ovp.f.path, nvp.f.path), "link", nvp.f.path);
}

static int vsymlinkat(const char *target, int dirfd, const char *path)
{
	struct vpath vp;
	int r = shim_path_err(target);

	if (r < 0 || (r = resolve_create(dirfd, path, false, &vp)) < 0)
		return r;
	if (r == VP_HOST)
		return HOSTRET(REAL(symlinkat)(target, dirfd, vp.f.path));
	if (!*target)
		return -ENOENT;
	if (!vp.f.path[0] || vp.dir_only)
		return -EEXIST;
	int err;
	struct lyr_layer *fs = shim_enter(&err);
	if (!fs)
		return -err;
	return (int)shim_leave(lyr_symlink(fs, target, vp.f.path), "symlink", vp.f.path);
}

static ssize_t vreadlinkat(int dirfd, const char *path, char *buf, size_t size)
{
	struct vpath vp;
	int r = shim_resolve(dirfd, path, SR_EMPTY, &vp);

	if (r < 0)
		return r;
	if (r == VP_HOST && vp.f.res == LYR_RESOLVE_MAGIC) {
		/* /proc/self/fd/N of a virtual fd, /proc/self/cwd of a virtual
		 * working directory: the view path they lead to. */
		char view[PATH_MAX];
		if ((r = shim_resolve(dirfd, path, SR_EMPTY | SR_FOLLOW, &vp)) < 0)
			return r;
		if (r == VP_VIRT && (r = shim_view_path(vp.f.path, view, sizeof(view))) >= 0) {
			size_t len = (size_t)r < size ? (size_t)r : size;
			int e = shim_put(buf, view, len);
			return e < 0 ? e : (ssize_t)len;
		}
	}
	if (r == VP_HOST) {
		ssize_t n = REAL(readlinkat)(dirfd, vp.f.path, buf, size);
		return n < 0 ? -errno : n;
	}
	if (size == 0)
		return -EINVAL;
	/* An empty path names dirfd itself: ENOENT unless it is a symlink. */
	struct stat st;
	if (!*path && shim_vpath_stat(&vp, &st) == 0 && !S_ISLNK(st.st_mode))
		return -ENOENT;
	int err;
	struct lyr_layer *fs = shim_enter(&err);
	if (!fs)
		return -err;
	/* Through a buffer of ours: the caller's gets the kernel's EFAULT. */
	char target[PATH_MAX];
	ssize_t n = shim_leave(lyr_readlink(fs, vp.f.path, target,
					    size < sizeof(target) ? size : sizeof(target)),
			       "readlink", vp.f.path);
	if (n > 0 && (r = shim_put(buf, target, (size_t)n)) < 0)
		return r;
	return n;
}

static int vmknodat(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	struct vpath vp;
	int r = resolve_create(dirfd, path, false, &vp);

	if (r < 0)
		return r;
	if (r == VP_HOST)
		return HOSTRET(REAL(mknodat)(dirfd, vp.f.path, mode, dev));
	if (!vp.f.path[0] || vp.dir_only)
		return -EEXIST;
	if (S_ISDIR(mode))
		return -EPERM;
	if ((mode & S_IFMT) == 0)
		mode |= S_IFREG;
	mode = (mode & S_IFMT) | (mode & ~shim.umask & 07777);
	int err;
	struct lyr_layer *fs = shim_enter(&err);
	if (!fs)
		return -err;
	return (int)shim_leave(lyr_mknod(fs, vp.f.path, mode, dev), "mknod", vp.f.path);
}

SHIM_EXPORT int mkdirat(int dirfd, const char *path, mode_t mode)
{
	if (!shim_maybe_changes(dirfd, path, false))
		return REAL(mkdirat)(dirfd, path, mode);
	return (int)shim_ret(vmkdirat(dirfd, path, mode));
}

SHIM_EXPORT int mkdir(const char *path, mode_t mode)
{
	if (!shim_maybe_changes(AT_FDCWD, path, false))
		return REAL(mkdir)(path, mode);
	return (int)shim_ret(vmkdirat(AT_FDCWD, path, mode));
}

SHIM_EXPORT int rmdir(const char *path)
{
	if (!shim_maybe_changes(AT_FDCWD, path, false))
		return REAL(rmdir)(path);
	return (int)shim_ret(vrmdirat(AT_FDCWD, path));
}

SHIM_EXPORT int unlinkat(int dirfd, const char *path, int flags)
{
	if (!shim_maybe_changes(dirfd, path, false))
		return REAL(unlinkat)(dirfd, path, flags);
	return (int)shim_ret(vunlinkat(dirfd, path, flags));
}

SHIM_EXPORT int unlink(const char *path)
{
	if (!shim_maybe_changes(AT_FDCWD, path, false))
		return REAL(unlink)(path);
	return (int)shim_ret(vunlinkat(AT_FDCWD, path, 0));
}

SHIM_EXPORT int remove(const char *path)
{
	if (!shim_maybe_changes(AT_FDCWD, path, false))
		return REAL(remove)(path);
	int r = vunlinkat(AT_FDCWD, path, 0);
	if (r == -EISDIR)
		r = vrmdirat(AT_FDCWD, path);
	return (int)shim_ret(r);
}

static bool two_paths_maybe_virtual(int d1, const char *p1, int d2, const char *p2)
{
	return shim_maybe_changes(d1, p1, false) || shim_maybe_changes(d2, p2, false);
}

SHIM_EXPORT int renameat2(int odirfd, const char *old, int ndirfd, const char *new,
			  unsigned flags)
{
	if (!two_paths_maybe_virtual(odirfd, old, ndirfd, new))
		return REAL(renameat2)(odirfd, old, ndirfd, new, flags);
	return (int)shim_ret(vrenameat2(odirfd, old, ndirfd, new, flags));
}

SHIM_EXPORT int renameat(int odirfd, const char *old, int ndirfd, const char *new)
{
	if (!two_paths_maybe_virtual(odirfd, old, ndirfd, new))
		return REAL(renameat)(odirfd, old, ndirfd, new);
	return (int)shim_ret(vrenameat2(odirfd, old, ndirfd, new, 0));
}

SHIM_EXPORT int rename(const char *old, const char *new)
{
	if (!two_paths_maybe_virtual(AT_FDCWD, old, AT_FDCWD, new))
		return REAL(rename)(old, new);
	return (int)shim_ret(vrenameat2(AT_FDCWD, old, AT_FDCWD, new, 0));
}

SHIM_EXPORT int linkat(int odirfd, const char *old, int ndirfd, const char *new, int flags)
{
	if (!two_paths_maybe_virtual(odirfd, old, ndirfd, new))
		return REAL(linkat)(odirfd, old, ndirfd, new, flags);
	return (int)shim_ret(vlinkat(odirfd, old, ndirfd, new, flags));
}

SHIM_EXPORT int link(const char *old, const char *new)
{
	if (!two_paths_maybe_virtual(AT_FDCWD, old, AT_FDCWD, new))
		return REAL(link)(old, new);
	return (int)shim_ret(vlinkat(AT_FDCWD, old, AT_FDCWD, new, 0));
}

SHIM_EXPORT int symlinkat(const char *target, int dirfd, const char *path)
{
	if (!shim_maybe_changes(dirfd, path, false))
		return REAL(symlinkat)(target, dirfd, path);
	return (int)shim_ret(vsymlinkat(target, dirfd, path));
}

SHIM_EXPORT int symlink(const char *target, const char *path)
{
	if (!shim_maybe_changes(AT_FDCWD, path, false))
		return REAL(symlink)(target, path);
	return (int)shim_ret(vsymlinkat(target, AT_FDCWD, path));
}

SHIM_EXPORT ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t size)
{
	SHIM_READ_PASS(dirfd, path, false, REAL(readlinkat)(dirfd, path, buf, size));
	return shim_ret(vreadlinkat(dirfd, path, buf, size));
}

SHIM_EXPORT ssize_t readlink(const char *path, char *buf, size_t size)
{
	return readlinkat(AT_FDCWD, path, buf, size);
}

SHIM_EXPORT ssize_t __readlink_chk(const char *path, char *buf, size_t size, size_t buflen)
{
	return readlinkat(AT_FDCWD, path, buf, size < buflen ? size : buflen);
}

SHIM_EXPORT ssize_t __readlinkat_chk(int dirfd, const char *path, char *buf, size_t size,
				     size_t buflen)
{
	return readlinkat(dirfd, path, buf, size < buflen ? size : buflen);
}

SHIM_EXPORT int mknodat(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	if (!shim_maybe_changes(dirfd, path, false))
		return REAL(mknodat)(dirfd, path, mode, dev);
	return (int)shim_ret(vmknodat(dirfd, path, mode, dev));
}

SHIM_EXPORT int mknod(const char *path, mode_t mode, dev_t dev)
{
	if (!shim_maybe_changes(AT_FDCWD, path, false))
		return REAL(mknod)(path, mode, dev);
	return (int)shim_ret(vmknodat(AT_FDCWD, path, mode, dev));
}

SHIM_EXPORT int __xmknodat(int ver, int dirfd, const char *path, mode_t mode, dev_t *dev)
{
	if (!shim_maybe_changes(dirfd, path, false))
		return REAL(__xmknodat)(ver, dirfd, path, mode, dev);
	return (int)shim_ret(vmknodat(dirfd, path, mode, *dev));
}

SHIM_EXPORT int __xmknod(int ver, const char *path, mode_t mode, dev_t *dev)
{
	if (!shim_maybe_changes(AT_FDCWD, path, false))
		return REAL(__xmknod)(ver, path, mode, dev);
	return (int)shim_ret(vmknodat(AT_FDCWD, path, mode, *dev));
}

SHIM_EXPORT int mkfifoat(int dirfd, const char *path, mode_t mode)
{
	if (!shim_maybe_changes(dirfd, path, false))
		return REAL(mkfifoat)(dirfd, path, mode);
	return (int)shim_ret(vmknodat(dirfd, path, S_IFIFO | (mode & 07777), 0));
}

SHIM_EXPORT int mkfifo(const char *path, mode_t mode)
{
	if (!shim_maybe_changes(AT_FDCWD, path, false))
		return REAL(mkfifo)(path, mode);
	return (int)shim_ret(vmknodat(AT_FDCWD, path, S_IFIFO | (mode & 07777), 0));
}
