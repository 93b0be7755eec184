/* SPDX-License-Identifier: MIT */
/*
 * copy_up.c - copying lower entries up into the upper layer.
 *
 * Read it as a recipe (after overlayfs's copy_up.c): u_copy_up() fills a
 * context (struct u_cu), makes sure every ancestor directory exists in the
 * upper layer (u_copy_up_dirs, top-down, each with the lower directory's
 * mode, owner and times), then copies the entry by its type:
 *
 *   regular file  data into an unnamed upper file (tmpfile), metadata set
 *                 on its fd, then link_tmp gives it its name: the view shows
 *                 the lower file or the whole copy, never a part of it.
 *                 A process killed half way leaves only an unnamed file,
 *                 which the kernel frees.
 *   directory     mkdir, then owner, mode, xattrs, times.
 *   symlink       symlink with the same target, then owner and times.
 *   fifo, device  mknod (a device needs root: -EPERM otherwise).
 *
 * Metadata: mode (setuid and the like where the kernel lets us), owner
 * (chown; -EPERM as non-root is ignored), atime/mtime, the lower xattrs the
 * upper layer accepts, and the view inode number (U_ORIGIN_XATTR).  The
 * upper parent's times are put back after the copy is added, so a copy-up
 * never changes a directory's mtime in the view.
 *
 * Races: two threads or processes copying up one file both succeed; the
 * second link_tmp gets -EEXIST and uses the first one's copy, and a mkdir
 * that finds the directory made meanwhile uses it.
 *
 * Not kept: hard links between lower names (each name is copied on its
 * own), and for directories a crash between mkdir and the metadata leaves
 * the directory with the upper layer's defaults.
 */
#define _GNU_SOURCE
#include "union.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define U_COPY_CHUNK (1 << 30) /* bytes per copy_file_range/sendfile call */
#define U_BUF_SIZE   65536     /* the read/write fallback's buffer */

/* One copy-up: what is copied, from where, and what must be restored. */
struct u_cu {
	struct u_union *u;
	const char *path;           /* view path of the entry */
	char parent[PATH_MAX];      /* ... and of its directory */
	struct lyr_layer *lower;    /* the layer holding it */
	struct stat st;             /* its stat there */
	uint64_t ino;               /* the view inode number the copy keeps */
	off_t len;                  /* bytes of data to copy */
	bool origin;                /* record ino in the copy */
	struct timespec ptimes[2];  /* the upper parent's atime and mtime */
	bool have_ptimes;
	bool created;               /* this call made the copy */
};

/* A read-only upper directory made writable for a moment (non-root). */
struct u_grant {
	bool done;
	mode_t mode;
};

/* ---- helpers ------------------------------------------------------------ */

/*
 * Not root, EACCES in upper directory dir which we own but may not write:
 * adds u+wx for the copy (a lower directory of mode 0555 copied up is such
 * a directory).  true when the caller should retry.
 */
static bool u_grant(struct u_union *u, const char *dir, struct u_grant *g)
{
	struct stat st;
	unsigned fl;

	g->done = false;
	if (u_is_root() || lyr_lookup(u_upper(u), dir, &st, &fl) < 0 ||
	    st.st_uid != geteuid() || (st.st_mode & 0300) == 0300)
		return false;
	if (lyr_chmod(u_upper(u), dir, (st.st_mode | 0300) & 07777) < 0)
		return false;
	g->done = true;
	g->mode = st.st_mode & 07777;
	return true;
}

static void u_ungrant(struct u_union *u, const char *dir, struct u_grant *g)
{
	if (g->done)
		lyr_chmod(u_upper(u), dir, g->mode);
	g->done = false;
}

static int u_set_origin(struct u_union *u, const char *path, uint64_t ino)
{
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(ino >> (8 * i));
	return lyr_setxattr(u_upper(u), path, U_ORIGIN_XATTR, b, sizeof(b), 0);
}

/* Errors after which the next, plainer way of copying is tried. */
static bool u_copy_fallback(ssize_t n)
{
	return n < 0 && n != -EINTR && n != -EIO && n != -ENOSPC &&
	       n != -EDQUOT && n != -EFBIG;
}

/* One pread and its pwrite: bytes copied or -errno. */
static ssize_t u_copy_rw(int in, int out, char *buf, size_t want, off_t off)
{
	ssize_t n = pread(in, buf, want, off);

	if (n <= 0)
		return n < 0 ? -errno : 0;
	for (ssize_t done = 0; done < n;) {
		ssize_t w = pwrite(out, buf + done, (size_t)(n - done), off + done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		done += w;
	}
	return n;
}

/*
 * Copies bytes [off, end) of in to the same offsets of out:
 * copy_file_range, else sendfile, else read and write.
 */
static int u_copy_range(int in, int out, off_t off, off_t end)
{
	enum { U_CFR, U_SENDFILE, U_RW } how = U_CFR;
	char *buf = NULL;
	ssize_t n = 0;

	while (off < end) {
		size_t want = end - off > U_COPY_CHUNK ? U_COPY_CHUNK : (size_t)(end - off);

		if (how == U_CFR) {
			loff_t io = off, oo = off;
			n = copy_file_range(in, &io, out, &oo, want, 0);
			n = n < 0 ? -errno : n;
			if (u_copy_fallback(n)) {
				how = U_SENDFILE;
				continue;
			}
		} else if (how == U_SENDFILE) {
			off_t io = off;
			n = lseek(out, off, SEEK_SET) < 0 ? -errno : sendfile(out, in, &io, want);
			n = n == -1 ? -errno : n;
			if (u_copy_fallback(n)) {
				how = U_RW;
				continue;
			}
		} else {
			if (!buf && !(buf = malloc(U_BUF_SIZE))) {
				n = -ENOMEM;
				break;
			}
			n = u_copy_rw(in, out, buf, want < U_BUF_SIZE ? want : U_BUF_SIZE, off);
		}
		if (n == -EINTR)
			continue;
		if (n <= 0)
			break; /* 0: the source ended early, shorter than it said */
		off += n;
	}
	free(buf);
	return n < 0 ? (int)n : 0;
}

/* The first len bytes of in into out, keeping holes; out ends len long. */
static int u_copy_data(int in, int out, off_t len)
{
	off_t off = 0;
	int r;

	while (off < len) {
		off_t data = lseek(in, off, SEEK_DATA), hole;
		if (data < 0) {
			if (errno == ENXIO)
				break; /* a hole to the end */
			if ((r = u_copy_range(in, out, off, len)))
				return r;
			break;
		}
		if (data >= len)
			break;
		hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0 || hole > len)
			hole = len;
		if ((r = u_copy_range(in, out, data, hole)))
			return r;
		off = hole;
	}
	return ftruncate(out, len) < 0 ? -errno : 0;
}

/*
 * Calls fn for every xattr of the lower entry (but ours); fd >= 0 sets
 * them on that fd, else on the upper entry by path.  Errors are ignored:
 * an upper layer may refuse some namespaces.
 */
static void u_cu_xattrs(struct u_cu *cu, int fd)
{
	ssize_t n = lyr_listxattr(cu->lower, cu->path, NULL, 0);
	char *list, *val = NULL;
	size_t vcap = 0;

	if (n <= 0 || !(list = malloc((size_t)n)))
		return;
	n = lyr_listxattr(cu->lower, cu->path, list, (size_t)n);
	for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t)strlen(list + i) + 1) {
		const char *name = list + i;
		ssize_t v;

		if (u_is_private_xattr(name))
			continue;
		v = lyr_getxattr(cu->lower, cu->path, name, NULL, 0);
		if (v < 0)
			continue;
		if ((size_t)v > vcap || !val) {
			char *nv = realloc(val, v ? (size_t)v : 1);
			if (!nv)
				break;
			val = nv;
			vcap = v ? (size_t)v : 1;
		}
		v = lyr_getxattr(cu->lower, cu->path, name, val, vcap);
		if (v < 0)
			continue;
		if (fd >= 0)
			fsetxattr(fd, name, val, (size_t)v, 0);
		else
			lyr_setxattr(u_upper(cu->u), cu->path, name, val, (size_t)v, 0);
	}
	free(val);
	free(list);
}

static const struct timespec *u_cu_times(const struct u_cu *cu, struct timespec ts[2])
{
	ts[0] = cu->st.st_atim;
	ts[1] = cu->st.st_mtim;
	return ts;
}

/* Metadata of the lower entry onto the upper one at cu->path. */
static void u_cu_meta_path(struct u_cu *cu)
{
	struct lyr_layer *up = u_upper(cu->u);
	struct timespec ts[2];

	lyr_chown(up, cu->path, cu->st.st_uid, cu->st.st_gid);
	if (!S_ISLNK(cu->st.st_mode))
		lyr_chmod(up, cu->path, cu->st.st_mode & 07777);
	u_cu_xattrs(cu, -1);
	if (cu->origin)
		u_set_origin(cu->u, cu->path, cu->ino);
	lyr_utimens(up, cu->path, u_cu_times(cu, ts));
}

/* Metadata onto the unnamed copy, before it gets its name. */
static void u_cu_meta_fd(struct u_cu *cu, int fd)
{
	struct timespec ts[2];
	unsigned char b[8];

	if (fchown(fd, cu->st.st_uid, cu->st.st_gid) < 0) {
		/* not permitted as non-root: the copy stays ours */
	}
	if (fchmod(fd, cu->st.st_mode & 07777) < 0) {
		/* the layer records the mode itself: see u_cu_meta_fix */
	}
	u_cu_xattrs(cu, fd);
	if (cu->origin) {
		for (int i = 0; i < 8; i++)
			b[i] = (unsigned char)(cu->ino >> (8 * i));
		fsetxattr(fd, U_ORIGIN_XATTR, b, sizeof(b), 0);
	}
	futimens(fd, u_cu_times(cu, ts));
}

/*
 * After the copy got its name: a layer that keeps metadata of its own
 * (the memory layer) did not see what was set on the fd; set it by path.
 * The host layer passes the check with one lookup and one getxattr.
 */
static void u_cu_meta_fix(struct u_cu *cu)
{
	struct stat st;
	unsigned fl;
	uint64_t ino;

	if (lyr_lookup(u_upper(cu->u), cu->path, &st, &fl) < 0)
		return;
	if ((st.st_mode & 07777) == (cu->st.st_mode & 07777) &&
	    st.st_uid == cu->st.st_uid && st.st_gid == cu->st.st_gid &&
	    st.st_mtim.tv_sec == cu->st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == cu->st.st_mtim.tv_nsec &&
	    (!cu->origin || (u_get_origin(cu->u, cu->path, &ino) == 0 && ino == cu->ino)))
		return;
	u_cu_meta_path(cu);
}

/* ---- one entry by type -------------------------------------------------- */

static int u_cu_reg(struct u_cu *cu)
{
	struct lyr_layer *up = u_upper(cu->u);
	struct u_grant g = { 0 };
	int in = -1, out, r;

	if (cu->len > 0) {
		in = lyr_open(cu->lower, cu->path, O_RDONLY | O_CLOEXEC, 0);
		if (in < 0)
			return in;
	}
	out = lyr_tmpfile(up, cu->parent, cu->st.st_mode & 07777);
	if (out == -EACCES && u_grant(cu->u, cu->parent, &g))
		out = lyr_tmpfile(up, cu->parent, cu->st.st_mode & 07777);
	if (out < 0) {
		r = out;
		goto out_in;
	}
	if (in >= 0 && (r = u_copy_data(in, out, cu->len)))
		goto out_out;
	u_cu_meta_fd(cu, out);
	r = lyr_link_tmp(up, out, cu->path);
	if (r == -EACCES && !g.done && u_grant(cu->u, cu->parent, &g))
		r = lyr_link_tmp(up, out, cu->path);
	if (r == -EEXIST) {
		r = 0; /* a racing copy-up won: use its copy */
	} else if (r == 0) {
		cu->created = true;
		u_cu_meta_fix(cu);
	}
out_out:
	u_ungrant(cu->u, cu->parent, &g);
	close(out);
out_in:
	if (in >= 0)
		close(in);
	return r;
}

static int u_cu_dir(struct u_cu *cu)
{
	struct lyr_layer *up = u_upper(cu->u);
	struct u_grant g = { 0 };
	struct stat st;
	unsigned fl;
	int r;

	r = lyr_mkdir(up, cu->path, cu->st.st_mode & 07777);
	if (r == -EACCES && u_grant(cu->u, cu->parent, &g))
		r = lyr_mkdir(up, cu->path, cu->st.st_mode & 07777);
	u_ungrant(cu->u, cu->parent, &g);
	if (r == -EEXIST && lyr_lookup(up, cu->path, &st, &fl) == 0 &&
	    !(fl & LYR_WHITEOUT) && S_ISDIR(st.st_mode))
		return 0; /* made meanwhile by a racing copy-up */
	if (r < 0)
		return r;
	cu->created = true;
	u_cu_meta_path(cu);
	return 0;
}

/* Symlinks, fifos, sockets and devices. */
static int u_cu_other(struct u_cu *cu)
{
	struct lyr_layer *up = u_upper(cu->u);
	struct u_grant g = { 0 };
	char target[PATH_MAX];
	ssize_t n = 0;
	int r;

	if (S_ISLNK(cu->st.st_mode)) {
		n = lyr_readlink(cu->lower, cu->path, target, sizeof(target));
		if (n < 0)
			return (int)n;
		if ((size_t)n >= sizeof(target))
			return -ENAMETOOLONG;
		target[n] = '\0';
	}
	for (int tries = 0; tries < 2; tries++) {
		if (S_ISLNK(cu->st.st_mode))
			r = lyr_symlink(up, target, cu->path);
		else
			r = lyr_mknod(up, cu->path, cu->st.st_mode & (S_IFMT | 07777),
				      cu->st.st_rdev);
		if (r != -EACCES || g.done || !u_grant(cu->u, cu->parent, &g))
			break;
	}
	u_ungrant(cu->u, cu->parent, &g);
	if (r == -EEXIST)
		return 0;
	if (r < 0)
		return r;
	cu->created = true;
	u_cu_meta_path(cu);
	return 0;
}

/* ---- entry points ------------------------------------------------------- */

static void u_cu_save_parent(struct u_cu *cu)
{
	struct stat st;
	unsigned fl;

	if (lyr_lookup(u_upper(cu->u), cu->parent, &st, &fl) == 0) {
		cu->ptimes[0] = st.st_atim;
		cu->ptimes[1] = st.st_mtim;
		cu->have_ptimes = true;
	}
}

static void u_cu_restore_parent(struct u_cu *cu)
{
	if (cu->created && cu->have_ptimes)
		lyr_utimens(u_upper(cu->u), cu->parent, cu->ptimes);
}

/*
 * Copies entry e (resolved at path, answered by a lower layer) into the
 * upper layer with its ancestors.  len: bytes of a regular file's data to
 * copy (-1 or more than its size: all; 0 for O_TRUNC).  Calls the
 * union's copied_up hook for a non-directory.  0 when e is already upper.
 */
int u_copy_up(struct u_union *u, const char *path, const struct u_ent *e,
	      off_t len)
{
	struct u_cu *cu;
	int r;

	if (e->top == 0)
		return 0;
	if (!u_upper(u))
		return -EROFS;
	if ((r = u_copy_up_parents(u, path)))
		return r;
	if (!(cu = calloc(1, sizeof(*cu))))
		return -ENOMEM;
	cu->u = u;
	cu->path = path;
	lyr_path_split(path, cu->parent, sizeof(cu->parent));
	cu->lower = u->layers[e->top];
	cu->st = e->st;
	cu->ino = u_view_ino(u, path, e);
	cu->len = len < 0 || len > e->st.st_size ? e->st.st_size : len;
	cu->origin = !S_ISDIR(e->st.st_mode); /* a directory keeps its lower's */
	u_cu_save_parent(cu);
	if (S_ISREG(cu->st.st_mode))
		r = u_cu_reg(cu);
	else if (S_ISDIR(cu->st.st_mode))
		r = u_cu_dir(cu);
	else
		r = u_cu_other(cu);
	u_cu_restore_parent(cu);
	if (r == 0 && !S_ISDIR(cu->st.st_mode) && u->copied_up)
		u->copied_up(u->copied_up_ctx, path, cu->ino);
	free(cu);
	return r;
}

/*
 * Makes directory dir (a directory in the view) and its ancestors exist in
 * the upper layer, copying the missing ones up top-down.
 */
int u_copy_up_dirs(struct u_union *u, const char *dir)
{
	char pre[PATH_MAX];
	struct u_ent e;
	struct stat st;
	unsigned fl;
	size_t len = strlen(dir);
	int r;

	if (!len)
		return 0;
	if (len >= sizeof(pre))
		return -ENAMETOOLONG;
	r = lyr_lookup(u_upper(u), dir, &st, &fl);
	if (r == 0 && !(fl & LYR_WHITEOUT) && S_ISDIR(st.st_mode))
		return 0; /* there, so are its ancestors */
	memcpy(pre, dir, len + 1);
	for (char *p = pre;;) {
		char *end = strchrnul(p, '/');
		bool last = !*end;

		*end = '\0';
		r = lyr_lookup(u_upper(u), pre, &st, &fl);
		if (r < 0 || (fl & LYR_WHITEOUT) || !S_ISDIR(st.st_mode)) {
			/* Missing above: it comes from the view. */
			if ((r = u_walk(u, pre, &e, 0)))
				return r;
			if (!S_ISDIR(e.st.st_mode))
				return -ENOTDIR;
			if (e.top != 0 && (r = u_copy_up(u, pre, &e, -1)))
				return r;
		}
		if (last)
			return 0;
		*end = '/';
		p = end + 1;
	}
}

/* The ancestors of path in the upper layer. */
int u_copy_up_parents(struct u_union *u, const char *path)
{
	char parent[PATH_MAX];

	lyr_path_split(path, parent, sizeof(parent));
	return u_copy_up_dirs(u, parent);
}

/*
 * Copies entry e at path up with everything below it (for a directory
 * rename: the moved directory must not depend on lower layers that stay
 * behind).  Each merged directory records its view inode number, since
 * it will have no lower directory to take it from.
 */
int u_copy_up_tree(struct u_union *u, const char *path, const struct u_ent *e)
{
	struct lyr_dirlist list = { 0 };
	char *child;
	int r;

	if (!S_ISDIR(e->st.st_mode))
		return u_copy_up(u, path, e, -1);
	if (e->top == 0 && e->dlow < 0)
		return 0; /* wholly upper already */
	if ((r = u_copy_up(u, path, e, -1)))
		return r;
	if (e->dlow >= 0) {
		r = u_set_origin(u, path, u_view_ino(u, path, e));
		if (r < 0 && r != -ENOTSUP && r != -EOPNOTSUPP && r != -ENOSYS &&
		    r != -EPERM)
			return r;
	}
	if ((r = u_merge(u, path, e, &list, false)))
		return r;
	if (!(child = malloc(PATH_MAX))) {
		r = -ENOMEM;
		goto out_list;
	}
	for (size_t i = 2; i < list.n && !r; i++) {
		struct u_ent ce;

		if ((r = u_join(child, PATH_MAX, path, list.ents[i].name)))
			break;
		r = u_walk(u, child, &ce, 0);
		if (r == -ENOENT)
			r = 0; /* removed meanwhile */
		else if (r == 0)
			r = u_copy_up_tree(u, child, &ce);
	}
	free(child);
out_list:
	lyr_dirlist_free(&list);
	return r;
}
