/* SPDX-License-Identifier: MIT */
/*
 * wrap_cwd.c - the working directory: chdir, fchdir, getcwd and friends.
 *
 * A working directory inside the view is virtual: the host working
 * directory stays where it was, and vpath.c resolves relative paths against
 * the view path.  So is a ghost, a directory above the mount point the
 * host lacks (shim_is_ghost).  Children inherit either through LAYERFS_CWD
 * (wrap_exec.c).
 */
#include "real.h"

/* May the caller search directory st (X for its euid/egid)?  Root may
 * search any directory, as CAP_DAC_READ_SEARCH allows. */
static int may_search(const struct stat *st)
{
	uid_t uid = geteuid();

	if (uid == 0)
		return 0;
	mode_t bits = st->st_uid == uid ? (st->st_mode >> 6) :
		      (st->st_gid == getegid() || group_member(st->st_gid)) ?
		      (st->st_mode >> 3) : st->st_mode;
	return (bits & 1) ? 0 : -EACCES;
}

static int vchdir(const char *path)
{
	struct vpath vp;
	struct stat st;
	int r = shim_resolve(AT_FDCWD, path, SR_FOLLOW, &vp);

	if (r < 0)
		return r;
	if (r == VP_HOST) {
		if (REAL(chdir)(vp.f.path) < 0) {
			if (!shim_is_ghost(vp.f.path))
				return -errno;
			shim_cwd_set_ghost(vp.f.path);
			return 0;
		}
		shim_cwd_set_host();
		return 0;
	}
	if ((r = shim_vpath_stat(&vp, &st)) < 0)
		return r;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if ((r = may_search(&st)) < 0)
		return r;
	shim_cwd_set_virtual(vp.f.path);
	return 0;
}

SHIM_EXPORT int chdir(const char *path)
{
	if (!shim_maybe_virtual(AT_FDCWD, path)) {
		int r = REAL(chdir)(path);
		if (r == 0 && shim.mnt.len)
			shim_cwd_set_host();
		/* Failures only: a ghost above the mount, or a host symlink
		 * that leads into the view. */
		if (r == 0 || !shim_missed(AT_FDCWD, path, true))
			return r;
	}
	return (int)shim_ret(vchdir(path));
}

SHIM_EXPORT int fchdir(int fd)
{
	char ghost[PATH_MAX];

	if (shim_fd_ghost(fd, ghost, sizeof(ghost))) {
		shim_cwd_set_ghost(ghost);
		return 0;
	}
	if (!shim_fd_is_virtual(fd)) {
		int r = REAL(fchdir)(fd);
		if (r == 0 && shim.mnt.len)
			shim_cwd_set_host();
		return r;
	}
	struct vfile *vf = shim_fd_get(fd);
	int r = -EBADF;
	if (vf) {
		struct stat st;
		shim_fd_meta(vf, &st);
		r = (shim_vf_flags(vf) & VF_DIR) ? may_search(&st) : -ENOTDIR;
		if (r == 0) {
			const char *path = shim_vf_path(vf);
			shim_cwd_set_virtual(path);
			if (shim_vf_flags(vf) & VF_GONE)
				shim_cwd_removed(path); /* into a removed directory */
		}
		shim_vfile_put(vf);
	}
	return (int)shim_ret(r);
}

/* The view path of the virtual working directory into buf (malloc'd when
 * buf is NULL, as glibc does). */
static char *vgetcwd(char *buf, size_t size)
{
	char rel[PATH_MAX], full[PATH_MAX];
	int n;

	if (shim_cwd_ghost(full, sizeof(full))) {
		n = (int)strlen(full);
	} else {
		if (!shim_cwd_get(rel, sizeof(rel)))
			return REAL(getcwd)(buf, size);
		if (shim_cwd_gone()) {
			errno = ENOENT;
			return NULL;
		}
		if ((n = shim_view_path(rel, full, sizeof(full))) < 0) {
			errno = ENAMETOOLONG;
			return NULL;
		}
	}
	if (!buf) {
		if (size == 0)
			size = (size_t)n + 1;
		if (size < (size_t)n + 1) {
			errno = ERANGE;
			return NULL;
		}
		if (!(buf = malloc(size))) {
			errno = ENOMEM;
			return NULL;
		}
	} else if (size == 0) {
		errno = EINVAL;
		return NULL;
	} else if (size < (size_t)n + 1) {
		errno = ERANGE;
		return NULL;
	}
	memcpy(buf, full, (size_t)n + 1);
	return buf;
}

static inline bool cwd_is_virtual(void)
{
	shim_ensure_configured();
	int state = __atomic_load_n(&shim_cwd_virtual, __ATOMIC_RELAXED);

	return state == CWD_VIRT || state == CWD_GHOST;
}

SHIM_EXPORT char *getcwd(char *buf, size_t size)
{
	if (!cwd_is_virtual())
		return REAL(getcwd)(buf, size);
	return vgetcwd(buf, size);
}

SHIM_EXPORT char *__getcwd_chk(char *buf, size_t size, size_t buflen)
{
	if (!cwd_is_virtual())
		return REAL(__getcwd_chk)(buf, size, buflen);
	return vgetcwd(buf, size < buflen ? size : buflen);
}

SHIM_EXPORT char *getwd(char *buf)
{
	if (!cwd_is_virtual())
		return REAL(getwd)(buf);
	return vgetcwd(buf, PATH_MAX);
}

SHIM_EXPORT char *__getwd_chk(char *buf, size_t buflen)
{
	if (!cwd_is_virtual())
		return REAL(__getwd_chk)(buf, buflen);
	return vgetcwd(buf, buflen < PATH_MAX ? buflen : PATH_MAX);
}

SHIM_EXPORT char *get_current_dir_name(void)
{
	if (!cwd_is_virtual())
		return REAL(get_current_dir_name)();
	return vgetcwd(NULL, 0);
}

SHIM_EXPORT int chroot(const char *path)
{
	struct vpath vp;
	struct stat st;

	if (!shim_maybe_virtual(AT_FDCWD, path))
		return REAL(chroot)(path);
	int r = shim_resolve(AT_FDCWD, path, SR_FOLLOW, &vp);
	if (r == VP_HOST)
		return REAL(chroot)(vp.f.path);
	/* Lookup errors as Linux gives them; then EPERM: the view is not a
	 * kernel directory the process could be rooted in. */
	if (r >= 0 && (r = shim_vpath_stat(&vp, &st)) == 0)
		r = S_ISDIR(st.st_mode) ? -EPERM : -ENOTDIR;
	return (int)shim_ret(r);
}
