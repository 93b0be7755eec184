/* SPDX-License-Identifier: MIT */
/*
 * vpath.c - which paths are virtual, resolved to layer paths; and the
 * virtual working directory.
 *
 * A path is virtual when it is absolute and under the mount point, relative
 * to a virtual working directory or to a virtual dirfd, or relative to a
 * host working directory above the mount point that leads into it.
 * Resolution inside the view is the core's (lyr_resolve_stat): component
 * by component, symlinks spliced in, ".." at the mount point leading back
 * to the host, and the entry's stat found on the way, so that wrappers do
 * not look the path up again.  A symlink whose target leaves the view
 * hands a host path back.
 */
#include "real.h"

/* 0: host cwd unrelated to the mount; CWD_VIRT; CWD_ABOVE: host cwd is an
 * ancestor of the mount point, so a relative path may lead into it. */
int shim_cwd_virtual;

static pthread_mutex_t cwd_lock = PTHREAD_MUTEX_INITIALIZER;
static char cwd_path[PATH_MAX]; /* layer path (CWD_VIRT) or host path (CWD_ABOVE) */
static bool cwd_gone;           /* CWD_VIRT: the directory was removed */

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
	size_t na = strlen(a), nb = strlen(b), sep = na && nb;

	if (na + sep + nb >= size)
		return -ENAMETOOLONG;
	memmove(out, a, na);
	if (sep)
		out[na] = '/';
	memmove(out + na + sep, b, nb + 1);
	return 0;
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
		return join(vp->f.path, sizeof(vp->f.path), "", rel);
	}
	if (dirfd == AT_FDCWD) {
		char base[PATH_MAX];
		int state;
		bool gone;
		pthread_mutex_lock(&cwd_lock);
		state = shim_cwd_virtual;
		gone = cwd_gone;
		memcpy(base, cwd_path, strlen(cwd_path) + 1); /* same size, terminated */
		pthread_mutex_unlock(&cwd_lock);
		if (state == CWD_VIRT && gone)
			return -ENOENT;
		if (state == CWD_VIRT) {
			vp->kind = VP_VIRT;
			return join(vp->f.path, sizeof(vp->f.path), base, path);
		}
		if (state == CWD_ABOVE) {
			char abs[PATH_MAX], norm[PATH_MAX];
			if (join(abs, sizeof(abs), base, path) == 0 &&
			    lyr_path_normalize(abs, norm + 1, sizeof(norm) - 1) == 0) {
				norm[0] = '/';
				if ((rel = under_mount(norm))) {
					vp->kind = VP_VIRT;
					return join(vp->f.path, sizeof(vp->f.path), "", rel);
				}
			}
		}
		goto host;
	}
	struct vfile *vf = shim_fd_get(dirfd);
	if (!vf)
		goto host;
	int r = 0;
	if (!(shim_vf_flags(vf) & VF_DIR) && (*path || !(flags & SR_EMPTY)))
		r = -ENOTDIR;
	else if ((shim_vf_flags(vf) & VF_GONE) && *path)
		r = -ENOENT;
	else
		r = join(vp->f.path, sizeof(vp->f.path),
			 shim_vf_path(vf), path);
	shim_vfile_put(vf);
	vp->kind = VP_VIRT;
	return r;
host:
	vp->kind = VP_HOST;
	if (strlen(path) >= sizeof(vp->f.path))
		return -ENAMETOOLONG;
	strcpy(vp->f.path, path);
	return 0;
}

int shim_resolve(int dirfd, const char *path, unsigned flags, struct vpath *vp)
{
	size_t plen = strlen(path);
	int r;

	vp->have_st = false;
	vp->st_err = 0;
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
		char in[PATH_MAX];
		int err = 0;
		struct lyr_layer *fs = shim_enter(&err);
		if (!fs)
			return -err;
		/* One walk gives the path and the entry's stat (or its absence). */
		memcpy(in, vp->f.path, strlen(vp->f.path) + 1);
		r = (int)shim_leave(lyr_resolve_found(fs, in, (flags & SR_FOLLOW) ?
						      LYR_RESOLVE_FOLLOW : 0,
						      shim.mnt.path, &vp->f), NULL, NULL);
		if (r < 0)
			return r;
		if (r == 0 || r == LYR_RESOLVE_MISSING) {
			vp->kind = VP_VIRT;
			vp->have_st = r == 0;
			vp->st_err = r == 0 ? 0 : -ENOENT;
			vp->f.st.st_dev = shim.mnt.dev;
			break;
		}
		/* A symlink or ".." led out of the view. */
		const char *rel = under_mount(vp->f.path);
		if (!rel) {
			vp->kind = VP_HOST;
			break;
		}
		if (hops == LYR_MAXSYMLINKS)
			return -ELOOP;
		memmove(vp->f.path, rel, strlen(rel) + 1);
	}
	if (vp->kind == VP_VIRT && vp->dir_only && vp->have_st && !S_ISDIR(vp->f.st.st_mode))
		return -ENOTDIR;
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
