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
 * Hard links: a lower non-directory whose st_nlink is above 1 has other
 * names in its layer.  Its copy-up finds them by walking that layer
 * through the layer interface (lyr_readdir, comparing d_ino, confirmed by
 * lyr_lookup): the entry's own directory first, then the whole layer,
 * stopping once st_nlink names are known, so the walk is paid once per
 * copy-up of a multi-link file and never otherwise.  Of those names, the
 * ones the view shows as this very lower entry (not whited out, not
 * shadowed by an upper or higher lower entry, not under an opaque
 * directory) share the copy: the copy is made under the name that sorts
 * first (the leader), then every other one is linked to it in the upper
 * layer (its ancestors copied up first, its parent's times kept), and the
 * copied_up hook fires once per name.  Names the view does not show stay
 * as they are.  A name that already shows an upper copy of the inode (its
 * origin xattr holds the same view inode number: what a crash or a racing
 * process left half done) is the copy the others are linked to instead.
 *
 * Races: two threads or processes copying up one file both succeed; the
 * second link_tmp gets -EEXIST and uses the first one's copy, and a mkdir
 * that finds the directory made meanwhile uses it.  Copy-ups of different
 * names of one hard-linked file meet the same way, at the leader's name;
 * the loser's links get -EEXIST where the winner linked first.
 *
 * Crash windows, each leaving a consistent view: between the links of a
 * hard-linked file, names not linked yet still show the lower file (the
 * same data, until the copy is changed; the next copy-up of one of them
 * links it to the copy); for directories a crash between mkdir and the
 * metadata leaves the directory with the upper layer's defaults.
 *
 * Not kept: a hard link to a name outside a host-directory lower (it is
 * never found; the walk then reads the whole layer).  Where the upper
 * layer cannot store the origin xattr, an upper copy is not recognised as
 * one: a crash between the links leaves two files for good, and so may a
 * copy-up that starts after a racing one named its copy but before that
 * one linked the other names.
 */
#define _GNU_SOURCE
#include "union.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
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
static ssize_t u_copy_rw(int in, off_t in_off, int out, off_t out_off, char *buf, size_t want)
{
	ssize_t n = pread(in, buf, want, in_off);

	if (n <= 0)
		return n < 0 ? -errno : 0;
	for (ssize_t done = 0; done < n;) {
		ssize_t w = pwrite(out, buf + done, (size_t)(n - done), out_off + done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		done += w;
	}
	return n;
}

int lyr_copy_bytes(int in, off_t in_off, int out, off_t out_off, off_t len, off_t *copied)
{
	enum { U_CFR, U_SENDFILE, U_RW } how = U_CFR;
	char *buf = NULL;
	ssize_t n = 0;
	off_t done = 0;

	while (done < len) {
		size_t want = len - done > U_COPY_CHUNK ? U_COPY_CHUNK : (size_t)(len - done);

		if (how == U_CFR) {
			loff_t io = in_off + done, oo = out_off + done;
			n = copy_file_range(in, &io, out, &oo, want, 0);
			n = n < 0 ? -errno : n;
			if (u_copy_fallback(n)) {
				how = U_SENDFILE;
				continue;
			}
		} else if (how == U_SENDFILE) {
			off_t io = in_off + done;
			n = lseek(out, out_off + done, SEEK_SET) < 0 ? -errno :
			    sendfile(out, in, &io, want);
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
			n = u_copy_rw(in, in_off + done, out, out_off + done, buf,
				      want < U_BUF_SIZE ? want : U_BUF_SIZE);
		}
		if (n == -EINTR)
			continue;
		if (n <= 0)
			break; /* 0: the source ended early, shorter than it said */
		done += n;
	}
	free(buf);
	*copied = done;
	return n < 0 ? (int)n : 0;
}

/* Bytes [off, end) of in to the same offsets of out; *reached: where the
 * copy got to (below end when the source ended early). */
static int u_copy_range(int in, int out, off_t off, off_t end, off_t *reached)
{
	off_t copied;
	int r = lyr_copy_bytes(in, off, out, off, end - off, &copied);

	*reached = off + copied;
	return r;
}

/* Below this size a file's holes are not looked for: it is copied whole. */
#define U_SPARSE_MIN 65536

/*
 * The first len bytes of in into out, keeping holes (of a file of at least
 * U_SPARSE_MIN bytes: a smaller one costs no lseeks); out ends len long.
 * out is empty: the ftruncate is only needed when the copy stopped short
 * of len (a hole at the end, or a source shorter than it said).
 */
static int u_copy_data(int in, int out, off_t len)
{
	off_t off = 0, reached = 0;
	int r;

	if (len < U_SPARSE_MIN) {
		if ((r = u_copy_range(in, out, 0, len, &reached)))
			return r;
		off = len;
	}
	while (off < len) {
		off_t data = lseek(in, off, SEEK_DATA), hole;
		if (data < 0) {
			if (errno == ENXIO)
				break; /* a hole to the end */
			if ((r = u_copy_range(in, out, off, len, &reached)))
				return r;
			break;
		}
		if (data >= len)
			break;
		hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0 || hole > len)
			hole = len;
		if ((r = u_copy_range(in, out, data, hole, &reached)))
			return r;
		off = hole;
	}
	if (reached == len)
		return 0;
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
	/* -ENOENT: a racing removal deleted the entry meanwhile. */
	r = lyr_link_copy(up, out, cu->path);
	if (r == -EACCES && !g.done && u_grant(cu->u, cu->parent, &g))
		r = lyr_link_copy(up, out, cu->path);
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
	int r;

	/* -ENOENT: a racing removal deleted the directory meanwhile. */
	r = lyr_mkdir_copy(up, cu->path, cu->st.st_mode & 07777);
	if (r == -EACCES && u_grant(cu->u, cu->parent, &g))
		r = lyr_mkdir_copy(up, cu->path, cu->st.st_mode & 07777);
	u_ungrant(cu->u, cu->parent, &g);
	if (r == -EEXIST && lyr_lookup(up, cu->path, &st, NULL) == 0 &&
	    S_ISDIR(st.st_mode))
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

/* ---- one entry ---------------------------------------------------------- */

static void u_cu_save_parent(struct u_cu *cu)
{
	struct stat st;

	/* No flags: the times are all it needs, markers cannot matter. */
	if (lyr_lookup(u_upper(cu->u), cu->parent, &st, NULL) == 0) {
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

/* Copies lower entry e up under the name path, alone: see u_copy_up. */
static int u_copy_up_one(struct u_union *u, const char *path, const struct u_ent *e,
			 off_t len)
{
	struct u_cu *cu;
	int r;

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

/* ---- hard links --------------------------------------------------------- */

/* A directory the walk is in: its listing and the next entry to look at. */
struct u_nm_dir {
	struct lyr_dirlist list;
	size_t next;
	size_t len;            /* of its path */
	bool files;            /* look at its non-directories */
};

/* The names one lower inode has in its layer, as a walk of the layer finds them. */
struct u_names {
	struct lyr_layer *lower;
	uint64_t ino;          /* its raw st_ino there */
	mode_t type;           /* its S_IFMT */
	size_t want;           /* its st_nlink: the walk stops at that many */
	const char *skip;      /* a directory whose names were scanned already */
	char **v;              /* the names found */
	size_t n, cap;
	struct u_nm_dir *stk;  /* the walk's directories, outermost first */
	size_t depth, scap;
	char dir[PATH_MAX];    /* the walk's current path */
};

/* What the view shows at one of those names. */
enum { U_NM_HIDDEN, U_NM_LOWER, U_NM_COPY };

static bool u_nm_dot(const char *name)
{
	return name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]));
}

static int u_nm_add(struct u_names *nm, const char *path)
{
	if (nm->n == nm->cap) {
		size_t cap = nm->cap ? 2 * nm->cap : 4;
		char **v = realloc(nm->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		nm->v = v;
		nm->cap = cap;
	}
	if (!(nm->v[nm->n] = strdup(path)))
		return -ENOMEM;
	nm->n++;
	return 0;
}

static void u_nm_free(struct u_names *nm)
{
	for (size_t i = 0; i < nm->n; i++)
		free(nm->v[i]);
	free(nm->v);
	free(nm->stk);
	free(nm);
}

static int u_nm_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Is listing entry d, at path, a name of the inode?  A lookup confirms it. */
static bool u_nm_match(struct u_names *nm, const struct lyr_dirent *d,
		       const char *path)
{
	struct stat st;
	unsigned fl = 0;

	if (d->type == DT_WHT || d->type == DT_DIR || d->ino != nm->ino)
		return false;
	return lyr_lookup(nm->lower, path, &st, &fl) == 0 && !(fl & LYR_WHITEOUT) &&
	       (uint64_t)st.st_ino == nm->ino && (st.st_mode & S_IFMT) == nm->type;
}

/*
 * Pushes the listing of directory nm->dir (len bytes long) on the walk's
 * stack.  A directory that cannot be read is passed over (0): its names
 * stay unknown.
 */
static int u_nm_push(struct u_names *nm, size_t len)
{
	struct u_nm_dir *f;
	int r;

	if (nm->depth == nm->scap) {
		size_t cap = nm->scap ? 2 * nm->scap : 16;
		struct u_nm_dir *stk = realloc(nm->stk, cap * sizeof(*stk));
		if (!stk)
			return -ENOMEM;
		nm->stk = stk;
		nm->scap = cap;
	}
	f = &nm->stk[nm->depth];
	r = lyr_readdir(nm->lower, nm->dir, &f->list);
	if (r < 0)
		return r == -ENOMEM ? r : 0;
	f->next = 0;
	f->len = len;
	f->files = !nm->skip || strcmp(nm->dir, nm->skip);
	nm->depth++;
	return 0;
}

/*
 * Scans directory nm->dir for names of the inode and, with deep, every
 * directory below it, until nm->want names are known.  Depth first, with
 * a stack of listings rather than recursion: the walk runs on whatever
 * thread stack the program gave the caller.
 */
static int u_nm_scan(struct u_names *nm, bool deep)
{
	int r = u_nm_push(nm, strlen(nm->dir));

	while (!r && nm->depth && nm->n < nm->want) {
		struct u_nm_dir *f = &nm->stk[nm->depth - 1];
		size_t len = f->len, sep = len ? 1 : 0;

		nm->dir[len] = '\0';
		if (f->next == f->list.n) {
			lyr_dirlist_free(&f->list);
			nm->depth--;
			continue;
		}
		const struct lyr_dirent *de = &f->list.ents[f->next++];
		size_t nl = strlen(de->name);
		bool sub = deep && de->type == DT_DIR;

		if (u_nm_dot(de->name) || (!sub && (!f->files || de->ino != nm->ino)))
			continue;
		if (len + sep + nl >= sizeof(nm->dir))
			continue; /* too long to be reached by name */
		nm->dir[len] = '/';
		memcpy(nm->dir + len + sep, de->name, nl + 1);
		if (sub)
			r = u_nm_push(nm, len + sep + nl);
		else if (u_nm_match(nm, de, nm->dir))
			r = u_nm_add(nm, nm->dir);
	}
	while (nm->depth)
		lyr_dirlist_free(&nm->stk[--nm->depth].list);
	return r;
}

/*
 * Every name of the inode nm describes, path (in directory parent) among
 * them, sorted.  Hard links often share a directory, so parent is scanned
 * first; then, while names are missing, the whole layer.
 */
static int u_nm_find(struct u_names *nm, const char *path, const char *parent)
{
	size_t len = strlen(parent);
	bool have = false;
	int r;

	memcpy(nm->dir, parent, len + 1);
	if ((r = u_nm_scan(nm, false)))
		return r;
	if (nm->n < nm->want) {
		nm->skip = parent;
		nm->dir[0] = '\0';
		if ((r = u_nm_scan(nm, true)))
			return r;
	}
	for (size_t i = 0; i < nm->n && !have; i++)
		have = !strcmp(nm->v[i], path);
	if (!have && (r = u_nm_add(nm, path)))
		return r;
	qsort(nm->v, nm->n, sizeof(*nm->v), u_nm_cmp);
	return 0;
}

/*
 * What the view shows at name, a name of lower entry e (view inode number
 * vino): e itself (U_NM_LOWER), an upper copy of it, recognised by its
 * origin xattr (U_NM_COPY), or something else or nothing (U_NM_HIDDEN: a
 * whiteout, an entry that shadows it, an opaque directory above it).
 */
static int u_nm_state(struct u_union *u, const struct u_ent *e, uint64_t vino,
		      const char *name)
{
	struct u_ent ne;
	uint64_t o;
	int r;

	if (u_check_name(name, false))
		return U_NM_HIDDEN;
	r = u_find(u, name, &ne, 0);
	if (r == -ENOMEM)
		return r;
	if (r < 0 || (ne.st.st_mode & S_IFMT) != (e->st.st_mode & S_IFMT))
		return U_NM_HIDDEN;
	if (ne.top == e->top && ne.st.st_ino == e->st.st_ino)
		return U_NM_LOWER;
	if (ne.top == 0 && u_get_origin(u, name, &o) == 0 && o == vino)
		return U_NM_COPY;
	return U_NM_HIDDEN;
}

/*
 * Gives the upper copy at src the further name dst (ancestors copied up
 * first, the parent's times kept), using cu for the parent's state.  0
 * also when a racing copy-up linked it first; 1 when dst's directory went
 * meanwhile.
 */
static int u_cu_link(struct u_cu *cu, const char *src, const char *dst)
{
	struct u_union *u = cu->u;
	struct u_grant g = { 0 };
	int r = u_copy_up_parents(u, dst);

	if (r == -ENOENT || r == -ENOTDIR)
		return 1;
	if (r)
		return r;
	cu->path = dst;
	cu->created = false;
	cu->have_ptimes = false;
	lyr_path_split(dst, cu->parent, sizeof(cu->parent));
	u_cu_save_parent(cu);
	/* Through the copy's fd, with link_copy: never over a whiteout a
	 * racing removal of dst left. */
	int fd = lyr_open(u_upper(u), src, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0) {
		r = fd;
	} else {
		r = lyr_link_copy(u_upper(u), fd, dst);
		if (r == -EACCES && u_grant(u, cu->parent, &g))
			r = lyr_link_copy(u_upper(u), fd, dst);
		close(fd);
	}
	u_ungrant(u, cu->parent, &g);
	cu->created = r == 0;
	u_cu_restore_parent(cu);
	if (r == -EEXIST)
		return 0;
	return r == -ENOENT || r == -ENOTDIR ? 1 : r;
}

/*
 * Links every name in state U_NM_LOWER but src to the upper copy at
 * nm->v[src], calling the copied_up hook for each.  Goes on past a
 * failure (each name linked is one fewer showing old data); returns the
 * first one.
 */
static int u_nm_link_all(struct u_union *u, const struct u_names *nm,
			 const int *state, size_t src, uint64_t vino)
{
	struct u_cu *cu = calloc(1, sizeof(*cu));
	int r = 0;

	if (!cu)
		return -ENOMEM;
	cu->u = u;
	for (size_t i = 0; i < nm->n; i++) {
		if (state[i] != U_NM_LOWER || i == src)
			continue;
		int lr = u_cu_link(cu, nm->v[src], nm->v[i]);
		if (lr == 0 && u->copied_up)
			u->copied_up(u->copied_up_ctx, nm->v[i], vino);
		else if (lr < 0 && !r)
			r = lr;
	}
	free(cu);
	return r;
}

/*
 * Copy-up of lower non-directory e at path whose inode has further names
 * in its layer (st_nlink > 1): one upper copy, and every other name the
 * view shows of that inode linked to it, so that all keep sharing data,
 * metadata and inode number.  See the file header.
 */
static int u_copy_up_linked(struct u_union *u, const char *path,
			    const struct u_ent *e, off_t len)
{
	uint64_t vino = u_view_ino(u, path, e);
	struct u_names *nm = calloc(1, sizeof(*nm));
	char parent[PATH_MAX];
	size_t src = SIZE_MAX, lead = SIZE_MAX, self = SIZE_MAX;
	int *state = NULL, r;

	if (!nm)
		return -ENOMEM;
	nm->lower = u->layers[e->top];
	nm->ino = e->st.st_ino;
	nm->type = e->st.st_mode & S_IFMT;
	nm->want = e->st.st_nlink;
	lyr_path_split(path, parent, sizeof(parent));
	if ((r = u_nm_find(nm, path, parent)))
		goto out;
	if (!(state = calloc(nm->n, sizeof(*state)))) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nm->n; i++) {
		if ((r = u_nm_state(u, e, vino, nm->v[i])) < 0)
			goto out;
		state[i] = r;
		if (r == U_NM_COPY && src == SIZE_MAX)
			src = i;
		if (r == U_NM_LOWER && lead == SIZE_MAX)
			lead = i;
		if (!strcmp(nm->v[i], path))
			self = i;
	}
	r = 0;
	if (src == SIZE_MAX) {
		if (lead == SIZE_MAX)
			goto out; /* every name went meanwhile */
		/* The leader: racing copy-ups of any name all aim at it. */
		if ((r = u_copy_up_one(u, nm->v[lead], e, len)))
			goto out;
		src = lead;
	}
	r = u_nm_link_all(u, nm, state, src, vino);
	/* path was copied up by a racing process: its fds move all the same. */
	if (self != SIZE_MAX && state[self] == U_NM_COPY && u->copied_up)
		u->copied_up(u->copied_up_ctx, path, vino);
out:
	free(state);
	u_nm_free(nm);
	return r;
}

/* ---- entry points ------------------------------------------------------- */

/*
 * Copies entry e (resolved at path, answered by a lower layer) into the
 * upper layer with its ancestors.  len: bytes of a regular file's data to
 * copy (-1 or more than its size: all; 0 for O_TRUNC).  A non-directory
 * with hard links (lower st_nlink > 1) brings every other name the view
 * shows of it along, as links of the one copy.  Calls the union's
 * copied_up hook for a non-directory, once per name.  0 when e is already
 * upper.
 */
int u_copy_up(struct u_union *u, const char *path, const struct u_ent *e,
	      off_t len)
{
	if (e->top == 0)
		return 0;
	if (!u_upper(u))
		return -EROFS;
	if (!S_ISDIR(e->st.st_mode) && e->st.st_nlink > 1)
		return u_copy_up_linked(u, path, e, len);
	return u_copy_up_one(u, path, e, len);
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
	size_t len = strlen(dir);
	int r;

	if (!len)
		return 0;
	if (len >= sizeof(pre))
		return -ENAMETOOLONG;
	/*
	 * The common case, every ancestor there: one open of dir as a
	 * directory answers it (a whiteout or a non-directory fails the
	 * open), where a lookup costs a stat more.
	 */
	int fd = lyr_open(u_upper(u), dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd >= 0) {
		close(fd);
		return 0; /* there, so are its ancestors */
	}
	memcpy(pre, dir, len + 1);
	for (char *p = pre;;) {
		char *end = strchrnul(p, '/');
		bool last = !*end;

		*end = '\0';
		/* No flags: a whiteout reads as absent, no marker is looked for. */
		r = lyr_lookup(u_upper(u), pre, &st, NULL);
		if (r < 0 || !S_ISDIR(st.st_mode)) {
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
