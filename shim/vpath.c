/* SPDX-License-Identifier: MIT */
/*
 * vpath.c - which paths are virtual, resolved to layer paths; and the
 * virtual working directory.
 *
 * A call is virtual when its target is in the view, however it is named:
 * the resolution is the core's (lyr_mount_resolve), which walks the path
 * as the kernel would with the union mounted at the mount point ("//",
 * "." and "..", host symlinks and /proc's magic links included) and finds
 * the entry's stat on the way, so that wrappers do not look it up again.
 *
 * Deciding that a call is NOT virtual is the passthrough path, and stays
 * cheap (shim_maybe_virtual): an absolute path is resolved only when it
 * starts with the mount point, has a ".", ".." or empty component, or
 * starts with /proc or /dev/fd; a relative one only when its working
 * directory or dirfd is in the view or above the mount point (one bit
 * test; fds of the host's directories above the mount point are tracked
 * as virtual fds are), or when it has a ".." component that may climb
 * there from where it starts (a check on the path strings).
 */
#include "real.h"

#include <linux/openat2.h>
#include <sys/syscall.h>

/* 0: host cwd unrelated to the mount; CWD_VIRT; CWD_ABOVE: host cwd is an
 * ancestor of the mount point, so a relative path may lead into it;
 * CWD_GHOST: as CWD_ABOVE, at an ancestor the host lacks. */
int shim_cwd_virtual;

static pthread_mutex_t cwd_lock = PTHREAD_MUTEX_INITIALIZER;
static char cwd_path[PATH_MAX]; /* layer path (CWD_VIRT), else host path ("": unknown) */
static bool cwd_gone;           /* CWD_VIRT: the directory was removed */

int shim_view_path(const char *layer_path, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s%s%s", shim.mnt.path, *layer_path ? "/" : "",
			 layer_path);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : n;
}

/* The layer path of an absolute host path under the mount point, or NULL. */
static const char *under_mount(const char *p)
{
	return shim.mnt.len ? lyr_mount_below(&shim.mnt.view, p) : NULL;
}

/* Is the working directory in state?  Then its path into buf. */
static bool cwd_copy_if(int state, char *buf, size_t size)
{
	bool is;

	pthread_mutex_lock(&cwd_lock);
	is = shim_cwd_virtual == state;
	if (is)
		snprintf(buf, size, "%s", cwd_path);
	pthread_mutex_unlock(&cwd_lock);
	return is;
}

bool shim_cwd_get(char *buf, size_t size)
{
	return cwd_copy_if(CWD_VIRT, buf, size);
}

bool shim_is_ghost(const char *path)
{
	struct stat st;
	int e = errno;
	bool ghost = path[0] == '/' && shim_above_mount(path) &&
		     REAL(fstatat)(AT_FDCWD, path, &st, 0) < 0 && errno == ENOENT;

	errno = e;
	return ghost;
}

void shim_cwd_set_ghost(const char *path)
{
	pthread_mutex_lock(&cwd_lock);
	snprintf(cwd_path, sizeof(cwd_path), "%s", path);
	cwd_gone = false;
	__atomic_store_n(&shim_cwd_virtual, CWD_GHOST, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&cwd_lock);
}

bool shim_cwd_ghost(char *buf, size_t size)
{
	return cwd_copy_if(CWD_GHOST, buf, size);
}

void shim_cwd_set_virtual(const char *layer_path)
{
	pthread_mutex_lock(&cwd_lock);
	snprintf(cwd_path, sizeof(cwd_path), "%s", layer_path);
	cwd_gone = false;
	__atomic_store_n(&shim_cwd_virtual, CWD_VIRT, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&cwd_lock);
}

/* p at or below from: rewritten to the same place below to (true). */
static bool rebase(char *p, size_t size, const char *from, const char *to)
{
	size_t n = strlen(from);
	char buf[PATH_MAX];

	if (strncmp(p, from, n) != 0 || (p[n] != '\0' && p[n] != '/'))
		return false;
	if (snprintf(buf, sizeof(buf), "%s%s", to, p + n) >= (int)sizeof(buf) ||
	    strlen(buf) >= size)
		return false;
	strcpy(p, buf);
	return true;
}

void shim_cwd_renamed(const char *from, const char *to, bool exchange)
{
	pthread_mutex_lock(&cwd_lock);
	if (shim_cwd_virtual == CWD_VIRT && *from && *to && strcmp(from, to) && !cwd_gone) {
		if (!exchange && !strcmp(cwd_path, to))
			cwd_gone = true; /* an empty directory renamed over */
		else if (!rebase(cwd_path, sizeof(cwd_path), from, to) && exchange)
			rebase(cwd_path, sizeof(cwd_path), to, from);
	}
	pthread_mutex_unlock(&cwd_lock);
}

void shim_cwd_removed(const char *path)
{
	pthread_mutex_lock(&cwd_lock);
	if (shim_cwd_virtual == CWD_VIRT && !strcmp(cwd_path, path))
		cwd_gone = true;
	pthread_mutex_unlock(&cwd_lock);
}

bool shim_base_gone(int dirfd, const char *path)
{
	size_t n = strlen(path);

	while (n > 1 && path[n - 1] == '/')
		n--;
	if (path[0] == '/' || memchr(path, '/', n) || (n == 1 && path[0] == '.') ||
	    (n == 2 && path[0] == '.' && path[1] == '.'))
		return false;
	if (dirfd == AT_FDCWD)
		return shim_cwd_gone();
	struct vfile *vf = shim_fd_get(dirfd);
	bool gone = vf && (shim_vf_flags(vf) & VF_GONE);
	shim_vfile_put(vf);
	return gone;
}

bool shim_cwd_gone(void)
{
	pthread_mutex_lock(&cwd_lock);
	bool gone = shim_cwd_virtual == CWD_VIRT && cwd_gone;
	pthread_mutex_unlock(&cwd_lock);
	return gone;
}

/* After a real chdir: is the new host cwd in, above or beside the mount?
 * Its host path is kept either way (relative paths with ".." start there). */
void shim_cwd_set_host(void)
{
	char buf[PATH_MAX], norm[PATH_MAX];
	int state = 0;

	if (!shim.mnt.len)
		return;
	if (!REAL(getcwd)(buf, sizeof(buf)))
		buf[0] = '\0';
	pthread_mutex_lock(&cwd_lock);
	const char *rel = buf[0] ? under_mount(buf) : NULL;
	if (rel && lyr_path_normalize(rel, norm, sizeof(norm)) == 0) {
		/* Overlay in place: the host cwd is the mount's own directory. */
		snprintf(cwd_path, sizeof(cwd_path), "%s", norm);
		state = CWD_VIRT;
	} else {
		snprintf(cwd_path, sizeof(cwd_path), "%s", rel ? "" : buf);
		if (!rel && buf[0] && shim_above_mount(buf))
			state = CWD_ABOVE;
	}
	cwd_gone = false;
	__atomic_store_n(&shim_cwd_virtual, state, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&cwd_lock);
}

/*
 * Where a relative (dirfd, path) starts, into *at (its path in buf): 0;
 * 1 when the call is the host's as written (the kernel resolves it from
 * dirfd: it cannot reach the view); or -errno.
 */
/* snprintf(buf, size, "%s", s) without the cost of a format, on every
 * call relative to a directory: -1 (buf cut short) when s does not fit. */
static int vp_copy(char *buf, size_t size, const char *s)
{
	size_t n = strlen(s);

	if (n >= size) {
		memcpy(buf, s, size - 1);
		buf[size - 1] = '\0';
		return -1;
	}
	memcpy(buf, s, n + 1);
	return 0;
}

static int start_of(int dirfd, const char *path, unsigned flags, struct lyr_at *at,
		    char *buf, size_t size)
{
	at->path = buf;
	if (dirfd == AT_FDCWD) {
		int state;
		bool gone;
		pthread_mutex_lock(&cwd_lock);
		state = shim_cwd_virtual;
		gone = cwd_gone;
		vp_copy(buf, size, cwd_path);
		pthread_mutex_unlock(&cwd_lock);
		if (state == CWD_VIRT) {
			at->kind = LYR_AT_VIEW;
			return gone ? -ENOENT : 0;
		}
		at->kind = LYR_AT_HOST;
		return !buf[0] || (state != CWD_ABOVE && state != CWD_GHOST &&
				   !lyr_mount_near(&shim.mnt.view, buf, path));
	}
	struct vfile *vf = shim_fd_get(dirfd);
	if (vf) {
		int r = 0;
		if (!(shim_vf_flags(vf) & VF_DIR) && (*path || !(flags & SR_EMPTY)))
			r = -ENOTDIR;
		else if ((shim_vf_flags(vf) & VF_GONE) && *path)
			r = -ENOENT;
		else if (vp_copy(buf, size, shim_vf_path(vf)) < 0)
			r = -ENAMETOOLONG;
		shim_vfile_put(vf);
		at->kind = LYR_AT_VIEW;
		return r;
	}
	at->kind = LYR_AT_HOST;
	if (!*path) /* the host fd itself; a ghost's stands for its path */
		return shim_fd_ghost(dirfd, buf, size) ? 0 : 1;
	if (shim_fd_above_path(dirfd, buf, size))
		return 0;
	char proc[32];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dirfd);
	ssize_t n = REAL(readlink)(proc, buf, size - 1);
	if (n <= 0 || buf[0] != '/' || (size_t)n >= size - 1)
		return 1;
	buf[n] = '\0';
	if (n > 10 && !strcmp(buf + n - 10, " (deleted)"))
		return 1;
	return !lyr_mount_near(&shim.mnt.view, buf, path);
}

/* The mount's answer for this process's own magic links (lyr_mount);
 * another's are the mount's to find out. */
static int own_magic(void *ctx, pid_t who, int fd, char *buf, size_t size)
{
	int r = 0;

	(void)ctx;
	if (who)
		return 0;
	if (fd < 0) {
		pthread_mutex_lock(&cwd_lock);
		bool virt = shim_cwd_virtual == CWD_VIRT;
		if ((virt || cwd_path[0]) && strlen(cwd_path) < size) {
			strcpy(buf, cwd_path);
			r = !virt ? LYR_MAGIC_HOST : cwd_gone ? -ENOENT : LYR_MAGIC_VIEW;
		}
		pthread_mutex_unlock(&cwd_lock);
		return r;
	}
	struct vfile *vf = shim_fd_get(fd);
	if (vf) {
		const char *p = shim_vf_path(vf);
		char name[PATH_MAX];
		struct stat st;
		if (!(shim_vf_flags(vf) & VF_DIR)) {
			/* A file: by the name that still names it, else the fd
			 * itself. */
			r = shim_vf_name(fd, vf, name, &st) < 0 ? LYR_MAGIC_NAMELESS :
			    strlen(name) >= size ? -ENAMETOOLONG :
			    (strcpy(buf, name), LYR_MAGIC_FILE);
		} else if (shim_vf_flags(vf) & VF_GONE) {
			r = -ENOENT;
		} else if (strlen(p) >= size) {
			r = -ENAMETOOLONG;
		} else {
			strcpy(buf, p);
			r = LYR_MAGIC_VIEW;
		}
		shim_vfile_put(vf);
		return r;
	}
	/* Any other fd of ours is the host's, or a layer's own (a memory
	 * upper's memfds): the kernel's answer. */
	return shim_fd_above_path(fd, buf, size) ? LYR_MAGIC_HOST : LYR_MAGIC_KERNEL;
}

/* Has the kernel's resolution of (dirfd, path) a symlink on the way? */
static bool host_has_link(int dirfd, const char *path, bool follow)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW),
		.resolve = RESOLVE_NO_SYMLINKS,
	};
	/* Marked: under the supervisor, the shim answers its own calls. */
	long fd = REAL(syscall)(SYS_openat2, dirfd, path, &how, sizeof(how), 0, LYR_SUP_MARK);

	if (fd >= 0) {
		REAL(close)((int)fd);
		return false;
	}
	return errno == ELOOP;
}

bool shim_host_has_link(int dirfd, const char *path, bool follow)
{
	if (!host_has_link(dirfd, path, follow))
		return false;
	/* Rare (a symlink is on the way): the core's plain calls, on the
	 * host alone. */
	shim_enter_host();
	return shim_leave(lyr_mount_leads_in(&shim.mnt.view, dirfd, path, follow), NULL, NULL);
}

int shim_resolve(int dirfd, const char *path, unsigned flags, struct vpath *vp)
{
	size_t plen = strlen(path);
	struct lyr_at at;
	char base[PATH_MAX];
	int r;

	vp->have_st = false;
	vp->st_err = 0;
	vp->f.res = 0;
	if (plen == 0 && !(flags & SR_EMPTY))
		return -ENOENT;
	if (plen >= PATH_MAX)
		return -ENAMETOOLONG;
	vp->dir_only = plen > 0 && path[plen - 1] == '/';
	if (vp->dir_only)
		flags |= SR_FOLLOW;
	r = path[0] == '/' ? 0 : start_of(dirfd, path, flags, &at, base, sizeof(base));
	if (r < 0)
		return r;
	if (r == 1) {
		vp->kind = VP_HOST;
		strcpy(vp->f.path, path);
		return VP_HOST;
	}
	int err = 0;
	struct lyr_layer *fs = shim_enter(&err);
	if (!fs)
		return -err;
	struct lyr_mount m = {
		.fs = fs, .path = shim.mnt.path, .len = shim.mnt.len, .magic = own_magic,
	};
	r = (int)shim_leave(lyr_mount_resolve(&m, path[0] == '/' ? NULL : &at, path,
					      ((flags & SR_FOLLOW) ? LYR_RESOLVE_FOLLOW : 0) |
					      LYR_RESOLVE_HOST_LINKS,
					      &vp->f), NULL, NULL);
	if (r < 0)
		return r;
	if (r == LYR_ON_HOST) {
		vp->kind = VP_HOST;
		return VP_HOST;
	}
	if (vp->f.res == LYR_RESOLVE_OWN_FD) {
		if (vp->dir_only)
			return -ENOTDIR;
		vp->kind = VP_OWN;
		return (flags & SR_OWN) ? VP_OWN : -ENOENT;
	}
	vp->kind = VP_VIRT;
	vp->have_st = vp->f.res == 0;
	vp->st_err = vp->f.res == 0 ? 0 : -ENOENT;
	vp->f.st.st_dev = shim.mnt.dev;
	if (vp->dir_only && vp->have_st && !S_ISDIR(vp->f.st.st_mode))
		return -ENOTDIR;
	return VP_VIRT;
}

/*
 * fork while another thread holds cwd_lock would leave it locked for good
 * in the child (the holder does not exist there): hold it across fork.
 * cwd_lock is a leaf lock (nothing else is taken under it), so taking it
 * in the prepare handler cannot deadlock against the other handlers.
 */
static void cwd_atfork_prepare(void)
{
	pthread_mutex_lock(&cwd_lock);
}

static void cwd_atfork_release(void)
{
	pthread_mutex_unlock(&cwd_lock);
}

__attribute__((constructor)) static void cwd_atfork_init(void)
{
	pthread_atfork(cwd_atfork_prepare, cwd_atfork_release, cwd_atfork_release);
}
