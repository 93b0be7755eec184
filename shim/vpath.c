/* SPDX-License-Identifier: MIT */
/*
 * vpath.c - which paths are virtual, resolved to layer paths; and the
 * virtual working directory.
 *
 * A path is virtual when it is absolute and under the mount point, relative
 * to a virtual working directory or to a virtual dirfd, or relative to a
 * host working directory above the mount point that leads into it.
 * Resolution inside the view is the core's (lyr_resolve): component by
 * component, symlinks spliced in, ".." at the mount point leading back to
 * the host.  A symlink whose target leaves the view hands a host path back.
 */
#include "real.h"

/* 0: host cwd unrelated to the mount; CWD_VIRT; CWD_ABOVE: host cwd is an
 * ancestor of the mount point, so a relative path may lead into it. */
int shim_cwd_virtual;

static pthread_mutex_t cwd_lock = PTHREAD_MUTEX_INITIALIZER;
static char cwd_path[PATH_MAX]; /* layer path (CWD_VIRT) or host path (CWD_ABOVE) */

int shim_view_path(const char *layer_path, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s%s%s", shim.mnt.path, *layer_path ? "/" : "",
			 layer_path);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : n;
}

/* Is the absolute host path p (length n) under the mount point?  Then
 * returns the layer part (after the mount and its '/'), else NULL. */
static const char *under_mount(const char *p)
{
	size_t len = shim.mnt.len;

	if (!len || strncmp(p, shim.mnt.path, len) != 0)
		return NULL;
	if (p[len] == '\0')
		return p + len;
	if (p[len] == '/')
		return p + len + 1;
	return NULL;
}

static int join(char *out, size_t size, const char *a, const char *b)
{
	int n = snprintf(out, size, "%s%s%s", a, *a && *b ? "/" : "", b);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

bool shim_cwd_get(char *buf, size_t size)
{
	bool virt;

	pthread_mutex_lock(&cwd_lock);
	virt = shim_cwd_virtual == CWD_VIRT;
	if (virt)
		snprintf(buf, size, "%s", cwd_path);
	pthread_mutex_unlock(&cwd_lock);
	return virt;
}

void shim_cwd_set_virtual(const char *layer_path)
{
	pthread_mutex_lock(&cwd_lock);
	snprintf(cwd_path, sizeof(cwd_path), "%s", layer_path);
	__atomic_store_n(&shim_cwd_virtual, CWD_VIRT, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&cwd_lock);
}

/* After a real chdir: is the new host cwd in, above or beside the mount? */
void shim_cwd_set_host(void)
{
	char buf[PATH_MAX], norm[PATH_MAX];
	int state = 0;

	if (!shim.mnt.len || !REAL(getcwd)(buf, sizeof(buf))) {
		__atomic_store_n(&shim_cwd_virtual, 0, __ATOMIC_RELAXED);
		return;
	}
	pthread_mutex_lock(&cwd_lock);
	const char *rel = under_mount(buf);
	if (rel && lyr_path_normalize(rel, norm, sizeof(norm)) == 0) {
		/* Overlay in place: the host cwd is the mount's own directory. */
		snprintf(cwd_path, sizeof(cwd_path), "%s", norm);
		state = CWD_VIRT;
	} else {
		size_t n = strlen(buf);
		if (n == 1 || (strncmp(shim.mnt.path, buf, n) == 0 && shim.mnt.path[n] == '/')) {
			snprintf(cwd_path, sizeof(cwd_path), "%s", buf);
			state = CWD_ABOVE;
		}
	}
	__atomic_store_n(&shim_cwd_virtual, state, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&cwd_lock);
}

/*
 * The unresolved starting point of (dirfd, path): VP_VIRT with a layer path
 * (which may still hold "..", "." and symlinks) or VP_HOST.
 */
static int classify(int dirfd, const char *path, unsigned flags, struct vpath *vp)
{
	const char *rel;

	if (path[0] == '/') {
		rel = under_mount(path);
		if (!rel)
			goto host;
		vp->kind = VP_VIRT;
		return join(vp->path, sizeof(vp->path), "", rel);
	}
	if (dirfd == AT_FDCWD) {
		char base[PATH_MAX];
		int state;
		pthread_mutex_lock(&cwd_lock);
		state = shim_cwd_virtual;
		snprintf(base, sizeof(base), "%s", cwd_path);
		pthread_mutex_unlock(&cwd_lock);
		if (state == CWD_VIRT) {
			vp->kind = VP_VIRT;
			return join(vp->path, sizeof(vp->path), base, path);
		}
		if (state == CWD_ABOVE) {
			char abs[PATH_MAX], norm[PATH_MAX];
			if (join(abs, sizeof(abs), base, path) == 0 &&
			    lyr_path_normalize(abs, norm + 1, sizeof(norm) - 1) == 0) {
				norm[0] = '/';
				if ((rel = under_mount(norm))) {
					vp->kind = VP_VIRT;
					return join(vp->path, sizeof(vp->path), "", rel);
				}
			}
		}
		goto host;
	}
	struct vfile *vf = shim_fd_get(dirfd);
	if (!vf)
		goto host;
	int r = 0;
	if (!(vf->flags & VF_DIR) && (*path || !(flags & SR_EMPTY)))
		r = -ENOTDIR;
	else
		r = join(vp->path, sizeof(vp->path), vf->path, path);
	shim_vfile_put(vf);
	vp->kind = VP_VIRT;
	return r;
host:
	vp->kind = VP_HOST;
	if (strlen(path) >= sizeof(vp->path))
		return -ENAMETOOLONG;
	strcpy(vp->path, path);
	return 0;
}

int shim_resolve(int dirfd, const char *path, unsigned flags, struct vpath *vp)
{
	size_t plen = strlen(path);
	int r;

	shim_errno = errno;
	if (plen == 0 && !(flags & SR_EMPTY))
		return -ENOENT;
	if (plen >= PATH_MAX)
		return -ENAMETOOLONG;
	vp->dir_only = plen > 0 && path[plen - 1] == '/';
	if (vp->dir_only)
		flags |= SR_FOLLOW;
	r = classify(dirfd, path, flags, vp);
	if (r < 0 || vp->kind == VP_HOST)
		return r < 0 ? r : VP_HOST;

	for (int hops = 0;; hops++) {
		char out[PATH_MAX];
		int err = 0;
		struct lyr_layer *fs = shim_fs(&err);
		if (!fs)
			return -err;
		r = lyr_resolve(fs, vp->path, (flags & SR_FOLLOW) ? LYR_RESOLVE_FOLLOW : 0,
				shim.mnt.path, out, sizeof(out));
		if (r < 0)
			return r;
		if (r == 0) {
			strcpy(vp->path, out);
			vp->kind = VP_VIRT;
			break;
		}
		/* A symlink or ".." led out of the view. */
		const char *rel = under_mount(out);
		if (!rel) {
			strcpy(vp->path, out);
			vp->kind = VP_HOST;
			break;
		}
		if (hops == 40)
			return -ELOOP;
		memmove(vp->path, rel, strlen(rel) + 1);
	}
	if (vp->kind == VP_VIRT && vp->dir_only) {
		struct stat st;
		r = lyr_lookup(shim.mnt.fs, vp->path, &st, NULL);
		if (r == 0 && !S_ISDIR(st.st_mode))
			return -ENOTDIR;
	}
	return vp->kind;
}

bool shim_above_mount(const char *path)
{
	size_t n = strlen(path);

	while (n > 1 && path[n - 1] == '/')
		n--;
	return path[0] == '/' && n < shim.mnt.len && strncmp(path, shim.mnt.path, n) == 0 &&
	       (shim.mnt.path[n] == '/' || n == 1);
}
