/* SPDX-License-Identifier: MIT */
/*
 * mem.c - an in-process layer: a tree of nodes in memory.
 *
 * Directories keep their entries in a uthash keyed by name (iteration
 * follows insertion order, so a listing is stable while the directory is
 * unchanged).  Regular files are memfds: open returns a new open file
 * description on the memfd, got by opening /proc/self/fd/N, so each open
 * has its own offset and access mode while all share the content.  The
 * layer keeps its own mode, owner, inode number and link count; size,
 * blocks and the time of the last write come from fstat of the memfd.
 *
 * What a memory tree cannot give, and what it gives instead:
 *   - open of a directory returns an fd on a private, empty, already
 *     removed host directory (made in $TMPDIR, /tmp or /dev/shm when the
 *     layer is opened); callers list directories with readdir.
 *   - fifos, sockets and device nodes are stored (mknod), but open of one
 *     is -ENXIO: there is nothing behind them.
 *   - the mode given to create is stored as given: the caller applies the
 *     umask (the host layer gets it applied again by the kernel, which
 *     changes nothing).
 *   - reads do not update atime (as with noatime).
 *   - every file holds one fd of the process, a kept fd (lyr_fd_keep:
 *     high, close-on-exec, protected by the shim); the layer belongs to one
 *     process: after fork, parent and child share file contents but not
 *     the tree.
 *
 * Permission checks follow Linux for the caller's euid, egid and
 * supplementary groups; euid 0 passes them.  One mutex guards the tree.
 *
 * Divisions: nodes, permissions, walking, lookup and listing, open and
 * creation, removal and rename, attributes, xattrs, tmpfiles, constructor.
 */
#define _GNU_SOURCE
#include "layerfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <uthash.h>

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif

#define MEM_DIR_SIZE   4096
#define MEM_XATTR_MAX  65536
#define MEM_BLOCK      4096

struct mem_node;

struct mem_xattr {
	char *name;
	void *value;
	size_t size;
	UT_hash_handle hh;
};

/* A name in a directory; node NULL makes it a whiteout. */
struct mem_dent {
	char *name;
	struct mem_node *node;
	UT_hash_handle hh;
};

struct mem_node {
	uint64_t ino;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	nlink_t nlink;
	dev_t rdev;
	struct timespec atime, mtime, ctime;
	struct timespec kmtime;  /* memfd mtime when mtime was last set */
	int memfd;               /* regular file content; -1 for a tmpfile */
	ino_t kino;              /* the memfd's kernel identity, for link_tmp */
	dev_t kdev;
	bool tmp;                /* made by tmpfile, not linked yet */
	bool opaque;             /* directory */
	char *target;            /* symlink */
	struct mem_dent *kids;   /* directory entries */
	struct mem_node *parent; /* directory: the one that holds it */
	struct mem_xattr *xattrs;
	UT_hash_handle kh;       /* mem_layer.files */
};

struct mem_layer {
	struct lyr_layer base;
	pthread_mutex_t lock;
	struct mem_node *root;
	struct mem_node *files;  /* every regular file, by kino */
	uint64_t next_ino;
	uint64_t nodes;
	int emptydir;            /* what open of a directory reopens */
	struct mem_lock *locks;  /* lock files, by key */
	struct mem_layer *next;  /* every live memory layer (fork safety) */
};

/* A lock file (lock_fd): a memfd per key. */
struct mem_lock {
	uint64_t key;
	int fd;
	UT_hash_handle hh;
};

/*
 * fork() while another thread holds a layer's lock would leave the child
 * with a lock nobody will release: every live layer is locked around fork.
 */
static struct mem_layer *mem_layers;
static pthread_mutex_t mem_layers_lock = PTHREAD_MUTEX_INITIALIZER;

static void mem_fork_prepare(void)
{
	pthread_mutex_lock(&mem_layers_lock);
	for (struct mem_layer *m = mem_layers; m; m = m->next)
		pthread_mutex_lock(&m->lock);
}

static void mem_fork_done(void)
{
	for (struct mem_layer *m = mem_layers; m; m = m->next)
		pthread_mutex_unlock(&m->lock);
	pthread_mutex_unlock(&mem_layers_lock);
}

static void mem_fork_register(void)
{
	pthread_atfork(mem_fork_prepare, mem_fork_done, mem_fork_done);
}

static void mem_track(struct mem_layer *m, bool add)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, mem_fork_register);
	pthread_mutex_lock(&mem_layers_lock);
	if (add) {
		m->next = mem_layers;
		mem_layers = m;
	} else {
		for (struct mem_layer **p = &mem_layers; *p; p = &(*p)->next)
			if (*p == m) {
				*p = m->next;
				break;
			}
	}
	pthread_mutex_unlock(&mem_layers_lock);
}

static struct mem_layer *mem_of(struct lyr_layer *l)
{
	return (struct mem_layer *)l;
}

/* ---- nodes ----------------------------------------------------------- */

static struct timespec mem_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts;
}

/* A new open file description on fd, as open(2) with flags would give. */
static int mem_reopen(int fd, int flags)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	flags &= ~(O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_NOATIME);
	int r = open(proc, flags | O_CLOEXEC);
	return r < 0 ? -errno : r;
}

static void mem_free_xattrs(struct mem_node *n)
{
	struct mem_xattr *x, *tmp;

	HASH_ITER(hh, n->xattrs, x, tmp) {
		HASH_DEL(n->xattrs, x);
		free(x->name);
		free(x->value);
		free(x);
	}
}

static void mem_dent_del(struct mem_node *dir, struct mem_dent *d)
{
	HASH_DEL(dir->kids, d);
	free(d->name);
	free(d);
}

/* Frees one node; a directory must hold only whiteouts by now. */
static void mem_node_free(struct mem_layer *m, struct mem_node *n)
{
	struct mem_dent *d, *tmp;

	if (S_ISREG(n->mode)) {
		HASH_DELETE(kh, m->files, n);
		if (n->memfd >= 0) {
			lyr_fd_release(&n->memfd);
			close(n->memfd);
		}
	}
	HASH_ITER(hh, n->kids, d, tmp)
		mem_dent_del(n, d);
	mem_free_xattrs(n);
	free(n->target);
	free(n);
	m->nodes--;
}

/* A new node owned by the caller, placed (later) in dir. */
static struct mem_node *mem_node_new(struct mem_layer *m, struct mem_node *dir,
				     mode_t mode)
{
	struct mem_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->ino = m->next_ino++;
	n->mode = mode;
	n->uid = geteuid();
	n->gid = getegid();
	n->nlink = S_ISDIR(mode) ? 2 : 1;
	n->memfd = -1;
	n->atime = n->mtime = n->ctime = mem_now();
	if (dir && (dir->mode & S_ISGID)) {
		/* BSD group semantics of a setgid directory, as Linux. */
		n->gid = dir->gid;
		if (S_ISDIR(mode))
			n->mode |= S_ISGID;
	}
	if (!S_ISDIR(mode) && (n->mode & S_ISGID) && (n->mode & S_IXGRP) &&
	    geteuid() != 0 && !group_member(n->gid))
		n->mode &= ~S_ISGID;
	m->nodes++;
	return n;
}

/* Gives regular file n a new memfd and files it under its kernel inode. */
static int mem_file_attach(struct mem_layer *m, struct mem_node *n, int fd)
{
	struct mem_node *stale;
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	/* A tmpfile record whose memfd died may carry a reused number. */
	HASH_FIND(kh, m->files, &st.st_ino, sizeof(st.st_ino), stale);
	if (stale && stale != n && stale->tmp)
		mem_node_free(m, stale);
	n->memfd = fd;
	lyr_fd_keep(&n->memfd);
	n->kino = st.st_ino;
	n->kdev = st.st_dev;
	n->kmtime = st.st_mtim;
	HASH_ADD(kh, m->files, kino, sizeof(n->kino), n);
	return 0;
}

static int mem_memfd(void)
{
	int fd = memfd_create("layerfs", MFD_CLOEXEC);

	if (fd < 0 && errno == EINVAL) /* vm.memfd_noexec=2 */
		fd = memfd_create("layerfs", MFD_CLOEXEC | MFD_NOEXEC_SEAL);
	return fd < 0 ? -errno : fd;
}

/*
 * Gives regular file n's memfd the node's owner, mode and times when its
 * last name goes, so that a plain fstat of an fd still open on it (the
 * shim's fallback for an fd with no name) shows them, as a host upper's
 * real file does.  Not before: the memfd is reopened through /proc, which
 * its own mode would then restrict.  Best effort: a memfd sealed against
 * exec refuses x bits, and a caller that is not root another owner.
 */
static void mem_file_sync(struct mem_node *n)
{
	struct stat k;

	if (!S_ISREG(n->mode) || n->memfd < 0)
		return;
	if (fchown(n->memfd, n->uid, n->gid) < 0) {
		/* not ours to give away: the view's owner stays in the node */
	}
	if (fchmod(n->memfd, n->mode & 07777) < 0 && (n->mode & 0111))
		fchmod(n->memfd, n->mode & 07666);
	/* A write since mtime was last set is the memfd's own (mem_stat). */
	bool written = fstat(n->memfd, &k) == 0 &&
		       (k.st_mtim.tv_sec != n->kmtime.tv_sec ||
			k.st_mtim.tv_nsec != n->kmtime.tv_nsec);
	futimens(n->memfd, (struct timespec[2]){
		n->atime, written ? (struct timespec){ .tv_nsec = UTIME_OMIT } : n->mtime });
}

/* A new regular file node with an empty memfd; *err on failure. */
static struct mem_node *mem_file_new(struct mem_layer *m, struct mem_node *dir,
				     mode_t mode, int *err)
{
	struct mem_node *n = mem_node_new(m, dir, S_IFREG | (mode & 07777));
	int fd;

	if (!n) {
		*err = -ENOMEM;
		return NULL;
	}
	if ((fd = mem_memfd()) < 0) {
		*err = fd;
		goto out_free;
	}
	if ((*err = mem_file_attach(m, n, fd))) {
		close(fd);
		goto out_free;
	}
	return n;
out_free:
	m->nodes--;
	free(n);
	return NULL;
}

/* The file's content changed through us: mtime and ctime are now. */
static void mem_file_touched(struct mem_node *n)
{
	struct stat st;

	n->mtime = n->ctime = mem_now();
	if (n->memfd >= 0 && fstat(n->memfd, &st) == 0)
		n->kmtime = st.st_mtim;
}

static void mem_dir_touched(struct mem_node *dir)
{
	dir->mtime = dir->ctime = mem_now();
}

/* One name less for n: frees a non-directory with no name left. */
static void mem_unref(struct mem_layer *m, struct mem_node *n)
{
	n->ctime = mem_now();
	if (S_ISDIR(n->mode) || --n->nlink == 0) {
		mem_file_sync(n);
		mem_node_free(m, n);
	}
}

/* Frees a whole subtree (destroy). */
static void mem_free_tree(struct mem_layer *m, struct mem_node *dir)
{
	struct mem_dent *d, *tmp;

	HASH_ITER(hh, dir->kids, d, tmp) {
		struct mem_node *n = d->node;
		mem_dent_del(dir, d);
		if (n && S_ISDIR(n->mode))
			mem_free_tree(m, n);
		else if (n)
			mem_unref(m, n);
	}
	mem_node_free(m, dir);
}

static bool mem_dir_empty(const struct mem_node *dir)
{
	const struct mem_dent *d, *tmp;

	HASH_ITER(hh, dir->kids, d, tmp)
		if (d->node)
			return false;
	return true;
}

/* ---- permissions ----------------------------------------------------- */

/* access(2) rules for mask (R_OK|W_OK|X_OK) on n, for the euid. */
static int mem_access(const struct mem_node *n, int mask)
{
	struct stat st = { .st_mode = n->mode, .st_uid = n->uid, .st_gid = n->gid };

	return lyr_may_access(&st, mask, true);
}

static bool mem_owner(const struct mem_node *n)
{
	uid_t uid = geteuid();

	return uid == 0 || uid == n->uid;
}

/* May the caller remove or replace n from dir (write, search, sticky)? */
static int mem_may_delete(const struct mem_node *dir, const struct mem_node *n)
{
	int err = mem_access(dir, W_OK | X_OK);

	if (err)
		return err;
	if ((dir->mode & S_ISVTX) && !mem_owner(n) && !mem_owner(dir))
		return -EPERM;
	return 0;
}

/* ---- walking --------------------------------------------------------- */

struct mem_walk {
	struct mem_node *dir;  /* holds the last component; NULL for the root */
	const char *name;      /* the last component; "" for the root */
	struct mem_dent *dent; /* its entry, NULL when absent */
	struct mem_node *node; /* the entry, NULL when absent or a whiteout */
};

static struct mem_dent *mem_find(struct mem_node *dir, const char *name, size_t len)
{
	struct mem_dent *d;

	HASH_FIND(hh, dir->kids, name, len, d);
	return d;
}

/*
 * Resolves path down to its last component, which may be absent.  Like
 * namei: -ENOTDIR for a non-directory (a symlink too) in the middle,
 * -ENOENT for a missing or whited-out one, -EACCES without search
 * permission on a directory passed through.
 */
static int mem_walk(struct mem_layer *m, const char *path, struct mem_walk *w)
{
	struct mem_node *cur = m->root;
	const char *p = path;

	memset(w, 0, sizeof(*w));
	if (!*path) {
		w->name = "";
		w->node = m->root;
		return 0;
	}
	for (;;) {
		const char *end = strchrnul(p, '/');
		size_t len = (size_t)(end - p);
		int err;

		if (!S_ISDIR(cur->mode))
			return -ENOTDIR;
		if ((err = mem_access(cur, X_OK)))
			return err;
		if (len > NAME_MAX)
			return -ENAMETOOLONG;
		struct mem_dent *d = len ? mem_find(cur, p, len) : NULL;
		if (!*end) {
			w->dir = cur;
			w->name = p;
			w->dent = d;
			w->node = d ? d->node : NULL;
			return 0;
		}
		if (!d || !d->node)
			return -ENOENT;
		cur = d->node;
		p = end + 1;
	}
}

/* Walks to an entry that must exist. */
static int mem_walk_node(struct mem_layer *m, const char *path, struct mem_walk *w)
{
	int err = mem_walk(m, path, w);

	return err ? err : w->node ? 0 : -ENOENT;
}

/* A new entry name (a whiteout until its node is set) in dir. */
static struct mem_dent *mem_dent_add(struct mem_node *dir, const char *name)
{
	struct mem_dent *d = calloc(1, sizeof(*d));

	if (!d || !(d->name = strdup(name))) {
		free(d);
		return NULL;
	}
	HASH_ADD_KEYPTR(hh, dir->kids, d->name, strlen(d->name), d);
	return d;
}

/* Gives the name of w (absent or a whiteout) to n, in w->dir. */
static int mem_place(struct mem_walk *w, struct mem_node *n)
{
	if (!w->dent && !(w->dent = mem_dent_add(w->dir, w->name)))
		return -ENOMEM;
	w->dent->node = n;
	w->node = n;
	if (S_ISDIR(n->mode)) {
		n->parent = w->dir;
		w->dir->nlink++;
	}
	mem_dir_touched(w->dir);
	return 0;
}

/* Takes the entry of w out of its directory (the node stays). */
static void mem_unplace(struct mem_walk *w)
{
	if (S_ISDIR(w->node->mode))
		w->dir->nlink--;
	mem_dent_del(w->dir, w->dent);
	mem_dir_touched(w->dir);
	w->dent = NULL;
	w->node = NULL;
}

/* ---- lookup and listing ---------------------------------------------- */

static void mem_stat(struct mem_node *n, struct stat *st)
{
	struct stat k;

	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_mode = n->mode;
	st->st_nlink = n->nlink;
	st->st_uid = n->uid;
	st->st_gid = n->gid;
	st->st_rdev = n->rdev;
	st->st_blksize = MEM_BLOCK;
	if (S_ISREG(n->mode) && n->memfd >= 0 && fstat(n->memfd, &k) == 0) {
		/* A write through some fd moved the memfd's clock: adopt it. */
		if (k.st_mtim.tv_sec != n->kmtime.tv_sec ||
		    k.st_mtim.tv_nsec != n->kmtime.tv_nsec) {
			n->mtime = k.st_mtim;
			n->ctime = k.st_ctim;
			n->kmtime = k.st_mtim;
		}
		st->st_size = k.st_size;
		st->st_blocks = k.st_blocks;
	} else if (S_ISDIR(n->mode)) {
		st->st_size = MEM_DIR_SIZE;
		st->st_blocks = MEM_DIR_SIZE / 512;
	} else if (S_ISLNK(n->mode)) {
		st->st_size = (off_t)strlen(n->target);
	}
	st->st_atim = n->atime;
	st->st_mtim = n->mtime;
	st->st_ctim = n->ctime;
}

static int mem_lookup_locked(struct mem_layer *m, const char *path,
			     struct stat *st, unsigned *flags)
{
	struct mem_walk w;
	int err = mem_walk(m, path, &w);

	if (err)
		return err;
	if (!w.node) {
		if (!w.dent || !flags)
			return -ENOENT; /* no flags: a whiteout is just absent */
		*flags = LYR_WHITEOUT;
		if (st)
			memset(st, 0, sizeof(*st));
		return 0;
	}
	if (st)
		mem_stat(w.node, st);
	if (flags && w.node->opaque)
		*flags = LYR_OPAQUE;
	return 0;
}

static int mem_lookup(struct lyr_layer *l, const char *path, struct stat *st,
		      unsigned *flags)
{
	struct mem_layer *m = mem_of(l);

	if (flags)
		*flags = 0;
	pthread_mutex_lock(&m->lock);
	int err = mem_lookup_locked(m, path, st, flags);
	pthread_mutex_unlock(&m->lock);
	return err;
}

static int mem_readdir_locked(struct mem_layer *m, const char *path,
			      struct lyr_dirlist *out)
{
	struct mem_dent *d, *tmp;
	struct mem_walk w;
	struct mem_node *dir;
	int err;

	if ((err = mem_walk_node(m, path, &w)))
		return err;
	dir = w.node;
	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	if ((err = mem_access(dir, R_OK)))
		return err;
	if ((err = lyr_dirlist_add(out, ".", dir->ino, DT_DIR)) ||
	    (err = lyr_dirlist_add(out, "..", (dir->parent ? dir->parent : dir)->ino,
				   DT_DIR)))
		return err;
	HASH_ITER(hh, dir->kids, d, tmp) {
		if (d->node)
			err = lyr_dirlist_add(out, d->name, d->node->ino,
					      lyr_mode_to_dt(d->node->mode));
		else
			err = lyr_dirlist_add(out, d->name, 0, DT_WHT);
		if (err)
			return err;
	}
	if (dir->opaque)
		out->flags |= LYR_OPAQUE;
	return 0;
}

static int mem_readdir(struct lyr_layer *l, const char *path, struct lyr_dirlist *out)
{
	struct mem_layer *m = mem_of(l);

	pthread_mutex_lock(&m->lock);
	int err = mem_readdir_locked(m, path, out);
	pthread_mutex_unlock(&m->lock);
	if (err)
		lyr_dirlist_free(out);
	return err;
}

static ssize_t mem_readlink(struct lyr_layer *l, const char *path, char *buf,
			    size_t size)
{
	struct mem_layer *m = mem_of(l);
	struct mem_walk w;
	ssize_t r;

	pthread_mutex_lock(&m->lock);
	if ((r = mem_walk_node(m, path, &w)) == 0) {
		if (!S_ISLNK(w.node->mode) || size == 0) {
			r = -EINVAL;
		} else {
			size_t len = strlen(w.node->target);
			r = (ssize_t)(len < size ? len : size);
			memcpy(buf, w.node->target, (size_t)r);
		}
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}

/* ---- open and creation ----------------------------------------------- */

static int mem_open_mask(int flags)
{
	int acc = flags & O_ACCMODE;
	int mask = acc == O_WRONLY ? W_OK : acc == O_RDWR || acc == O_ACCMODE ?
		   R_OK | W_OK : R_OK;

	return (flags & O_TRUNC) ? mask | W_OK : mask;
}

static int mem_open_existing(struct mem_layer *m, struct mem_node *n, int flags)
{
	int err, fd;

	if ((flags & O_CREAT) && (flags & O_EXCL))
		return -EEXIST;
	if (S_ISDIR(n->mode)) {
		if ((flags & O_CREAT) || (!(flags & O_PATH) &&
					  (mem_open_mask(flags) & W_OK)))
			return -EISDIR;
		if (!(flags & O_PATH) && (err = mem_access(n, R_OK)))
			return err;
		return mem_reopen(m->emptydir, O_RDONLY | O_DIRECTORY |
				  (flags & (O_PATH | O_NONBLOCK)));
	}
	if (flags & O_DIRECTORY)
		return -ENOTDIR;
	if (S_ISLNK(n->mode))
		return -ELOOP;
	if (!(flags & O_PATH) && (err = mem_access(n, mem_open_mask(flags))))
		return err;
	if (!S_ISREG(n->mode))
		return -ENXIO;
	fd = mem_reopen(n->memfd, flags & ~O_DIRECTORY);
	if (fd >= 0 && (flags & O_TRUNC) && !(flags & O_PATH))
		mem_file_touched(n);
	return fd;
}

static int mem_open_create(struct mem_layer *m, struct mem_walk *w, int flags,
			   mode_t mode)
{
	struct mem_node *n;
	int err, fd;

	if (!(flags & O_CREAT))
		return -ENOENT;
	if ((err = mem_access(w->dir, W_OK | X_OK)))
		return err;
	if (!(n = mem_file_new(m, w->dir, mode, &err)))
		return err;
	/* No permission check on what we just made, as open(2). */
	if ((fd = mem_reopen(n->memfd, flags & ~(O_DIRECTORY | O_PATH))) < 0)
		goto out_free;
	if ((err = mem_place(w, n))) {
		close(fd);
		fd = err;
		goto out_free;
	}
	mem_file_touched(n);
	return fd;
out_free:
	mem_node_free(m, n);
	return fd;
}

static int mem_tmpfile(struct lyr_layer *l, const char *dir, mode_t mode);

static int mem_open(struct lyr_layer *l, const char *path, int flags, mode_t mode)
{
	struct mem_layer *m = mem_of(l);
	struct mem_walk w;
	int fd;

	if ((flags & O_TMPFILE) == O_TMPFILE)
		return mem_tmpfile(l, path, mode);
	pthread_mutex_lock(&m->lock);
	if ((fd = mem_walk(m, path, &w)) == 0)
		fd = w.node ? mem_open_existing(m, w.node, flags) :
			      mem_open_create(m, &w, flags, mode);
	pthread_mutex_unlock(&m->lock);
	return fd;
}

/* Makes a new entry path of the given kind; the checks of mknodat & co. */
/* copy: mkdir_copy (layer.h), -ENOENT over a whiteout. */
static int mem_make_locked(struct mem_layer *m, const char *path, mode_t mode,
			   dev_t dev, const char *target, bool copy)
{
	struct mem_node *n;
	struct mem_walk w;
	int err;

	if ((err = mem_walk(m, path, &w)))
		return err;
	if (w.node)
		return -EEXIST;
	if (copy && w.dent)
		return -ENOENT;
	if ((err = mem_access(w.dir, W_OK | X_OK)))
		return err;
	if ((S_ISCHR(mode) || S_ISBLK(mode)) && geteuid() != 0)
		return -EPERM;
	if (S_ISREG(mode))
		n = mem_file_new(m, w.dir, mode, &err);
	else if (!(n = mem_node_new(m, w.dir, mode)))
		err = -ENOMEM;
	if (!n)
		return err;
	if (S_ISCHR(mode) || S_ISBLK(mode))
		n->rdev = dev;
	if (target && !(n->target = strdup(target))) {
		err = -ENOMEM;
		goto out_free;
	}
	if ((err = mem_place(&w, n)))
		goto out_free;
	return 0;
out_free:
	mem_node_free(m, n);
	return err;
}

static int mem_make(struct lyr_layer *l, const char *path, mode_t mode, dev_t dev,
		    const char *target, bool copy)
{
	struct mem_layer *m = mem_of(l);

	pthread_mutex_lock(&m->lock);
	int err = mem_make_locked(m, path, mode, dev, target, copy);
	pthread_mutex_unlock(&m->lock);
	return err;
}

static int mem_mkdir(struct lyr_layer *l, const char *path, mode_t mode)
{
	return mem_make(l, path, S_IFDIR | (mode & 01777), 0, NULL, false);
}

static int mem_mkdir_copy(struct lyr_layer *l, const char *path, mode_t mode)
{
	return mem_make(l, path, S_IFDIR | (mode & 01777), 0, NULL, true);
}

static int mem_mknod(struct lyr_layer *l, const char *path, mode_t mode, dev_t dev)
{
	mode_t type = mode & S_IFMT;

	switch (type) {
	case 0:
		type = S_IFREG;
		break;
	case S_IFREG:
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		break;
	case S_IFDIR:
		return -EPERM;
	default:
		return -EINVAL;
	}
	return mem_make(l, path, type | (mode & 07777), dev, NULL, false);
}

static int mem_symlink(struct lyr_layer *l, const char *target, const char *path)
{
	if (!*target)
		return -ENOENT;
	return mem_make(l, path, S_IFLNK | 0777, 0, target, false);
}

/* Gives node n (a file with a name already, or a tmpfile) the name of w. */
static int mem_link_node(struct mem_walk *w, struct mem_node *n)
{
	int err;

	if (w->node)
		return -EEXIST;
	if ((err = mem_access(w->dir, W_OK | X_OK)))
		return err;
	if (S_ISDIR(n->mode))
		return -EPERM;
	if ((err = mem_place(w, n)))
		return err;
	n->nlink = n->tmp ? 1 : n->nlink + 1;
	n->tmp = false;
	n->ctime = mem_now();
	return 0;
}

static int mem_link(struct lyr_layer *l, const char *oldpath, const char *newpath)
{
	struct mem_layer *m = mem_of(l);
	struct mem_walk ow, nw;
	int err;

	pthread_mutex_lock(&m->lock);
	if (!(err = mem_walk_node(m, oldpath, &ow)) &&
	    !(err = mem_walk(m, newpath, &nw)))
		err = mem_link_node(&nw, ow.node);
	pthread_mutex_unlock(&m->lock);
	return err;
}

/* ---- removal and rename ---------------------------------------------- */

static int mem_remove_locked(struct mem_layer *m, const char *path, bool dir)
{
	struct mem_walk w;
	int err;

	if ((err = mem_walk_node(m, path, &w)))
		return err;
	if (!w.dir)
		return dir ? -EBUSY : -EISDIR;
	if ((err = mem_may_delete(w.dir, w.node)))
		return err;
	if (dir && !S_ISDIR(w.node->mode))
		return -ENOTDIR;
	if (!dir && S_ISDIR(w.node->mode))
		return -EISDIR;
	if (dir && !mem_dir_empty(w.node))
		return -ENOTEMPTY;
	struct mem_node *n = w.node;
	mem_unplace(&w);
	mem_unref(m, n);
	return 0;
}

static int mem_unlink(struct lyr_layer *l, const char *path)
{
	struct mem_layer *m = mem_of(l);

	pthread_mutex_lock(&m->lock);
	int err = mem_remove_locked(m, path, false);
	pthread_mutex_unlock(&m->lock);
	return err;
}

static int mem_rmdir(struct lyr_layer *l, const char *path)
{
	struct mem_layer *m = mem_of(l);

	pthread_mutex_lock(&m->lock);
	int err = mem_remove_locked(m, path, true);
	pthread_mutex_unlock(&m->lock);
	return err;
}

/* Is a the directory d or one of its ancestors? */
static bool mem_is_ancestor(const struct mem_node *a, const struct mem_node *d)
{
	for (; d; d = d->parent)
		if (d == a)
			return true;
	return false;
}

/* Moves directory n from one parent to another (link counts, ".."). */
static void mem_reparent(struct mem_node *n, struct mem_node *from,
			 struct mem_node *to)
{
	if (!S_ISDIR(n->mode) || from == to)
		return;
	from->nlink--;
	to->nlink++;
	n->parent = to;
}

/* The checks of renameat2 in the kernel's order, then the permission ones. */
static int mem_rename_check(struct mem_walk *o, struct mem_walk *t, unsigned flags)
{
	struct mem_node *src = o->node, *dst = t->node;
	bool isdir = S_ISDIR(src->mode);
	int err;

	if ((flags & RENAME_NOREPLACE) && dst)
		return -EEXIST;
	if ((flags & RENAME_EXCHANGE) && !dst)
		return -ENOENT;
	if (isdir && mem_is_ancestor(src, t->dir))
		return -EINVAL;
	if (dst && S_ISDIR(dst->mode) && mem_is_ancestor(dst, o->dir))
		return (flags & RENAME_EXCHANGE) ? -EINVAL : -ENOTEMPTY;
	if (src == dst)
		return 1; /* the same inode: nothing to do */
	if ((err = mem_may_delete(o->dir, src)))
		return err;
	if (dst && (err = mem_may_delete(t->dir, dst)))
		return err;
	if (!dst && (err = mem_access(t->dir, W_OK | X_OK)))
		return err;
	if (flags & RENAME_EXCHANGE) {
		if (S_ISDIR(dst->mode) && o->dir != t->dir &&
		    (err = mem_access(dst, W_OK)))
			return err;
	} else if (dst) {
		if (isdir && !S_ISDIR(dst->mode))
			return -ENOTDIR;
		if (!isdir && S_ISDIR(dst->mode))
			return -EISDIR;
		if (isdir && !mem_dir_empty(dst))
			return -ENOTEMPTY;
	}
	/* A directory changing parents rewrites its "..". */
	if (isdir && o->dir != t->dir && (err = mem_access(src, W_OK)))
		return err;
	return 0;
}

static int mem_rename_locked(struct mem_layer *m, const char *from, const char *to,
			     unsigned flags)
{
	struct mem_walk o, t;
	int err;

	if ((err = mem_walk_node(m, from, &o)) || (err = mem_walk(m, to, &t)))
		return err;
	if (!o.dir || !t.dir)
		return -EBUSY;
	if ((err = mem_rename_check(&o, &t, flags)))
		return err < 0 ? err : 0;

	struct mem_node *src = o.node, *dst = t.node;
	struct timespec now = mem_now();
	if (flags & RENAME_EXCHANGE) {
		o.dent->node = dst;
		t.dent->node = src;
		mem_reparent(src, o.dir, t.dir);
		mem_reparent(dst, t.dir, o.dir);
		dst->ctime = now;
	} else {
		/* Allocate first: nothing may fail once o is taken out. */
		if (!t.dent && !(t.dent = mem_dent_add(t.dir, t.name)))
			return -ENOMEM;
		t.dent->node = src;
		if (dst && S_ISDIR(dst->mode))
			t.dir->nlink--;
		mem_dent_del(o.dir, o.dent);
		mem_reparent(src, o.dir, t.dir);
		if (dst)
			mem_unref(m, dst);
	}
	src->ctime = now;
	o.dir->mtime = o.dir->ctime = now;
	t.dir->mtime = t.dir->ctime = now;
	return 0;
}

static int mem_rename(struct lyr_layer *l, const char *from, const char *to,
		      unsigned flags)
{
	struct mem_layer *m = mem_of(l);

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	int err = mem_rename_locked(m, from, to, flags);
	pthread_mutex_unlock(&m->lock);
	return err;
}

static int mem_whiteout_locked(struct mem_layer *m, const char *path)
{
	struct mem_walk w;
	int err;

	if ((err = mem_walk(m, path, &w)))
		return err;
	if (!w.dir)
		return -EBUSY;
	if (w.dent && !w.node)
		return -ENOENT; /* already a whiteout: a racing removal won */
	if ((err = mem_access(w.dir, W_OK | X_OK)))
		return err;
	if (w.node && S_ISDIR(w.node->mode) && !mem_dir_empty(w.node))
		return -ENOTEMPTY;
	if (!w.dent) {
		if (!mem_dent_add(w.dir, w.name))
			return -ENOMEM;
		mem_dir_touched(w.dir);
		return 0;
	}
	struct mem_node *n = w.node;
	if (S_ISDIR(n->mode))
		w.dir->nlink--;
	w.dent->node = NULL;
	mem_dir_touched(w.dir);
	mem_unref(m, n);
	return 0;
}

static int mem_whiteout(struct lyr_layer *l, const char *path)
{
	struct mem_layer *m = mem_of(l);

	pthread_mutex_lock(&m->lock);
	int err = mem_whiteout_locked(m, path);
	pthread_mutex_unlock(&m->lock);
	return err;
}

static int mem_set_opaque(struct lyr_layer *l, const char *path)
{
	struct mem_layer *m = mem_of(l);
	struct mem_walk w;
	int err;

	pthread_mutex_lock(&m->lock);
	if (!(err = mem_walk_node(m, path, &w))) {
		if (!S_ISDIR(w.node->mode))
			err = -ENOTDIR;
		else if (!(err = mem_access(w.node, W_OK | X_OK)))
			w.node->opaque = true;
	}
	pthread_mutex_unlock(&m->lock);
	return err;
}

/* ---- attributes ------------------------------------------------------ */

static int mem_chmod_locked(struct mem_layer *m, const char *path, mode_t mode)
{
	struct mem_walk w;
	int err;

	if ((err = mem_walk_node(m, path, &w)))
		return err;
	struct mem_node *n = w.node;
	if (S_ISLNK(n->mode))
		return -EOPNOTSUPP; /* as lchmod */
	if (!mem_owner(n))
		return -EPERM;
	mode &= 07777;
	if (geteuid() != 0 && !S_ISDIR(n->mode) && !group_member(n->gid))
		mode &= ~S_ISGID;
	n->mode = (n->mode & S_IFMT) | mode;
	n->ctime = mem_now();
	return 0;
}

static int mem_chmod(struct lyr_layer *l, const char *path, mode_t mode)
{
	struct mem_layer *m = mem_of(l);

	pthread_mutex_lock(&m->lock);
	int err = mem_chmod_locked(m, path, mode);
	pthread_mutex_unlock(&m->lock);
	return err;
}

/* chown_ok and chgrp_ok of the kernel. */
static int mem_chown_check(const struct mem_node *n, uid_t uid, gid_t gid)
{
	uid_t me = geteuid();

	if (me == 0)
		return 0;
	if (uid != (uid_t)-1 && !(me == n->uid && uid == n->uid))
		return -EPERM;
	if (gid != (gid_t)-1 && !(me == n->uid && (gid == n->gid || group_member(gid))))
		return -EPERM;
	return 0;
}

static int mem_chown_locked(struct mem_layer *m, const char *path, uid_t uid,
			    gid_t gid)
{
	struct mem_walk w;
	int err;

	if ((err = mem_walk_node(m, path, &w)))
		return err;
	struct mem_node *n = w.node;
	if ((err = mem_chown_check(n, uid, gid)))
		return err;
	if (uid != (uid_t)-1)
		n->uid = uid;
	if (gid != (gid_t)-1)
		n->gid = gid;
	/* A change of owner drops setuid, and setgid with group exec. */
	if (!S_ISDIR(n->mode) && (uid != (uid_t)-1 || gid != (gid_t)-1)) {
		n->mode &= ~S_ISUID;
		if (n->mode & S_IXGRP)
			n->mode &= ~S_ISGID;
	}
	n->ctime = mem_now();
	return 0;
}

static int mem_chown(struct lyr_layer *l, const char *path, uid_t uid, gid_t gid)
{
	struct mem_layer *m = mem_of(l);

	pthread_mutex_lock(&m->lock);
	int err = mem_chown_locked(m, path, uid, gid);
	pthread_mutex_unlock(&m->lock);
	return err;
}

static bool mem_nsec_ok(long nsec)
{
	return nsec == UTIME_NOW || nsec == UTIME_OMIT ||
	       (nsec >= 0 && nsec < 1000000000L);
}

static void mem_set_time(struct timespec *t, const struct timespec *ts,
			 struct timespec now)
{
	if (!ts || ts->tv_nsec == UTIME_NOW)
		*t = now;
	else if (ts->tv_nsec != UTIME_OMIT)
		*t = *ts;
}

static int mem_utimens_locked(struct mem_layer *m, const char *path,
			      const struct timespec ts[2])
{
	struct mem_walk w;
	int err;

	if ((err = mem_walk_node(m, path, &w)))
		return err;
	struct mem_node *n = w.node;
	bool explicit = ts && ((ts[0].tv_nsec != UTIME_NOW && ts[0].tv_nsec != UTIME_OMIT) ||
			       (ts[1].tv_nsec != UTIME_NOW && ts[1].tv_nsec != UTIME_OMIT));
	if (explicit && !mem_owner(n))
		return -EPERM;
	if (!explicit && !mem_owner(n) && (err = mem_access(n, W_OK)))
		return err;
	struct timespec now = mem_now();
	struct stat k;
	/* Writes before this call are in the past now: only later ones count. */
	if (S_ISREG(n->mode) && fstat(n->memfd, &k) == 0)
		n->kmtime = k.st_mtim;
	mem_set_time(&n->atime, ts ? &ts[0] : NULL, now);
	mem_set_time(&n->mtime, ts ? &ts[1] : NULL, now);
	n->ctime = now;
	return 0;
}

static int mem_utimens(struct lyr_layer *l, const char *path,
		       const struct timespec ts[2])
{
	struct mem_layer *m = mem_of(l);

	if (ts && (!mem_nsec_ok(ts[0].tv_nsec) || !mem_nsec_ok(ts[1].tv_nsec)))
		return -EINVAL;
	/* utimensat(2): both omitted succeeds, even on a missing path. */
	if (ts && ts[0].tv_nsec == UTIME_OMIT && ts[1].tv_nsec == UTIME_OMIT)
		return 0;
	pthread_mutex_lock(&m->lock);
	int err = mem_utimens_locked(m, path, ts);
	pthread_mutex_unlock(&m->lock);
	return err;
}

static int mem_truncate_locked(struct mem_layer *m, const char *path, off_t length)
{
	struct mem_walk w;
	int err;

	if ((err = mem_walk_node(m, path, &w)))
		return err;
	struct mem_node *n = w.node;
	if (S_ISDIR(n->mode))
		return -EISDIR;
	if (S_ISLNK(n->mode))
		return -ELOOP;
	if (!S_ISREG(n->mode))
		return -EINVAL;
	if ((err = mem_access(n, W_OK)))
		return err;
	if (ftruncate(n->memfd, length) < 0)
		return -errno;
	mem_file_touched(n);
	return 0;
}

static int mem_truncate(struct lyr_layer *l, const char *path, off_t length)
{
	struct mem_layer *m = mem_of(l);

	if (length < 0)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	int err = mem_truncate_locked(m, path, length);
	pthread_mutex_unlock(&m->lock);
	return err;
}

static int mem_statfs(struct lyr_layer *l, struct statvfs *sv)
{
	struct mem_layer *m = mem_of(l);
	long pages = sysconf(_SC_PHYS_PAGES), avail = sysconf(_SC_AVPHYS_PAGES);
	long psize = sysconf(_SC_PAGESIZE);

	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = MEM_BLOCK;
	sv->f_frsize = MEM_BLOCK;
	if (pages > 0 && avail > 0 && psize > 0) {
		sv->f_blocks = (fsblkcnt_t)pages * (fsblkcnt_t)psize / MEM_BLOCK;
		sv->f_bfree = sv->f_bavail = (fsblkcnt_t)avail * (fsblkcnt_t)psize / MEM_BLOCK;
	}
	pthread_mutex_lock(&m->lock);
	uint64_t used = m->nodes;
	pthread_mutex_unlock(&m->lock);
	sv->f_files = (fsfilcnt_t)used + (1u << 20);
	sv->f_ffree = sv->f_favail = 1u << 20;
	sv->f_namemax = NAME_MAX;
	return 0;
}

/* ---- xattrs ---------------------------------------------------------- */

/* Namespaces the layer keeps: the rest are -EOPNOTSUPP, as on tmpfs. */
static int mem_xattr_ns(const char *name)
{
	static const char *const ns[] = { "user.", "trusted.", "security." };

	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		size_t len = strlen(ns[i]);
		if (!strncmp(name, ns[i], len))
			return name[len] ? (int)i : -EINVAL;
	}
	return -EOPNOTSUPP;
}

/* xattr_permission of the kernel, for mask R_OK or W_OK. */
static int mem_xattr_perm(const struct mem_node *n, const char *name, int mask)
{
	int ns = mem_xattr_ns(name);

	if (ns < 0)
		return ns;
	if (ns == 1 && geteuid() != 0) /* trusted.*: CAP_SYS_ADMIN only */
		return mask == W_OK ? -EPERM : -ENODATA;
	if (ns == 0) {
		/* The names a host layer keeps in its store (host.c) go on
		 * every type here; the union keeps them from the view. */
		if (!S_ISREG(n->mode) && !S_ISDIR(n->mode) &&
		    strncmp(name, LYR_XATTR_STORED, sizeof(LYR_XATTR_STORED) - 1))
			return mask == W_OK ? -EPERM : -ENODATA;
		if (S_ISDIR(n->mode) && (n->mode & S_ISVTX) && mask == W_OK &&
		    !mem_owner(n))
			return -EPERM;
	}
	return mem_access(n, mask);
}

static int mem_xattr_name(const char *name)
{
	size_t len = strlen(name);

	return len == 0 || len > XATTR_NAME_MAX ? -ERANGE : 0;
}

static ssize_t mem_getxattr(struct lyr_layer *l, const char *path,
			    const char *name, void *buf, size_t size)
{
	struct mem_layer *m = mem_of(l);
	struct mem_xattr *x;
	struct mem_walk w;
	ssize_t r;

	if ((r = mem_xattr_name(name)))
		return r;
	pthread_mutex_lock(&m->lock);
	if ((r = mem_walk_node(m, path, &w)) ||
	    (r = mem_xattr_perm(w.node, name, R_OK)))
		goto out;
	HASH_FIND_STR(w.node->xattrs, name, x);
	if (!x)
		r = -ENODATA;
	else if (size && size < x->size)
		r = -ERANGE;
	else {
		if (size)
			memcpy(buf, x->value, x->size);
		r = (ssize_t)x->size;
	}
out:
	pthread_mutex_unlock(&m->lock);
	return r;
}

static ssize_t mem_listxattr(struct lyr_layer *l, const char *path, char *buf,
			     size_t size)
{
	struct mem_layer *m = mem_of(l);
	struct mem_xattr *x, *tmp;
	struct mem_walk w;
	ssize_t r;

	pthread_mutex_lock(&m->lock);
	if ((r = mem_walk_node(m, path, &w)))
		goto out;
	size_t need = 0;
	HASH_ITER(hh, w.node->xattrs, x, tmp) {
		if (!strncmp(x->name, "trusted.", 8) && geteuid() != 0)
			continue;
		size_t len = strlen(x->name) + 1;
		if (size && need + len > size) {
			r = -ERANGE;
			goto out;
		}
		if (size)
			memcpy(buf + need, x->name, len);
		need += len;
	}
	r = (ssize_t)need;
out:
	pthread_mutex_unlock(&m->lock);
	return r;
}

static int mem_setxattr_locked(struct mem_node *n, const char *name,
			       const void *value, size_t size, int flags)
{
	struct mem_xattr *x;
	void *copy;
	int err;

	if ((err = mem_xattr_perm(n, name, W_OK)))
		return err;
	HASH_FIND_STR(n->xattrs, name, x);
	if (x && (flags & XATTR_CREATE))
		return -EEXIST;
	if (!x && (flags & XATTR_REPLACE))
		return -ENODATA;
	if (!(copy = malloc(size ? size : 1)))
		return -ENOMEM;
	if (size)
		memcpy(copy, value, size);
	if (!x) {
		if (!(x = calloc(1, sizeof(*x))) || !(x->name = strdup(name))) {
			free(x);
			free(copy);
			return -ENOMEM;
		}
		HASH_ADD_KEYPTR(hh, n->xattrs, x->name, strlen(x->name), x);
	}
	free(x->value);
	x->value = copy;
	x->size = size;
	n->ctime = mem_now();
	return 0;
}

static int mem_setxattr(struct lyr_layer *l, const char *path, const char *name,
			const void *value, size_t size, int flags)
{
	struct mem_layer *m = mem_of(l);
	struct mem_walk w;
	int err;

	if (flags & ~(XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	if ((err = mem_xattr_name(name)))
		return err;
	if (size > MEM_XATTR_MAX)
		return -E2BIG;
	pthread_mutex_lock(&m->lock);
	if (!(err = mem_walk_node(m, path, &w)))
		err = mem_setxattr_locked(w.node, name, value, size, flags);
	pthread_mutex_unlock(&m->lock);
	return err;
}

static int mem_removexattr(struct lyr_layer *l, const char *path, const char *name)
{
	struct mem_layer *m = mem_of(l);
	struct mem_xattr *x;
	struct mem_walk w;
	int err;

	if ((err = mem_xattr_name(name)))
		return err;
	pthread_mutex_lock(&m->lock);
	if ((err = mem_walk_node(m, path, &w)) ||
	    (err = mem_xattr_perm(w.node, name, W_OK)))
		goto out;
	HASH_FIND_STR(w.node->xattrs, name, x);
	if (!x) {
		err = -ENODATA;
		goto out;
	}
	HASH_DEL(w.node->xattrs, x);
	free(x->name);
	free(x->value);
	free(x);
	w.node->ctime = mem_now();
out:
	pthread_mutex_unlock(&m->lock);
	return err;
}

/* ---- tmpfiles -------------------------------------------------------- */

/*
 * The node of a tmpfile is filed under its memfd's kernel inode and does
 * not keep the memfd: content dies with the caller's fd if it is never
 * linked.  link_tmp takes its own reference from the caller's fd.
 */
static int mem_tmpfile_locked(struct mem_layer *m, const char *dir, mode_t mode)
{
	struct mem_node *n;
	struct mem_walk w;
	int err, fd;

	if ((err = mem_walk_node(m, dir, &w)))
		return err;
	if (!S_ISDIR(w.node->mode))
		return -ENOTDIR;
	if ((err = mem_access(w.node, W_OK | X_OK)))
		return err;
	if (!(n = mem_file_new(m, w.node, mode, &err)))
		return err;
	if ((fd = mem_reopen(n->memfd, O_RDWR)) < 0) {
		mem_node_free(m, n);
		return fd;
	}
	lyr_fd_release(&n->memfd);
	close(n->memfd);
	n->memfd = -1;
	n->nlink = 0;
	n->tmp = true;
	return fd;
}

static int mem_tmpfile(struct lyr_layer *l, const char *dir, mode_t mode)
{
	struct mem_layer *m = mem_of(l);

	pthread_mutex_lock(&m->lock);
	int fd = mem_tmpfile_locked(m, dir, mode);
	pthread_mutex_unlock(&m->lock);
	return fd;
}

/* link_tmp, and link_copy (copy: -ENOENT over a whiteout, see layer.h). */
static int mem_link_tmp_locked(struct mem_layer *m, int fd, const char *path,
			       bool copy)
{
	struct mem_node *n;
	struct mem_walk w;
	struct stat st;
	int err, own = -1;

	if (fstat(fd, &st) < 0)
		return -errno;
	HASH_FIND(kh, m->files, &st.st_ino, sizeof(st.st_ino), n);
	if (!n || n->kdev != st.st_dev)
		return -EXDEV; /* not a file of this layer */
	if ((err = mem_walk(m, path, &w)))
		return err;
	if (copy && w.dent && !w.node)
		return -ENOENT;
	if (n->tmp) {
		if (w.node)
			return -EEXIST;
		if ((own = mem_reopen(fd, O_RDWR)) < 0)
			return own;
		n->memfd = own;
		lyr_fd_keep(&n->memfd);
	}
	if ((err = mem_link_node(&w, n)) && n->memfd >= 0 && own >= 0) {
		lyr_fd_release(&n->memfd);
		close(n->memfd);
		n->memfd = -1;
	}
	return err;
}

static int mem_link_tmp(struct lyr_layer *l, int fd, const char *path)
{
	struct mem_layer *m = mem_of(l);

	pthread_mutex_lock(&m->lock);
	int err = mem_link_tmp_locked(m, fd, path, false);
	pthread_mutex_unlock(&m->lock);
	return err;
}

static int mem_link_copy(struct lyr_layer *l, int fd, const char *path)
{
	struct mem_layer *m = mem_of(l);

	pthread_mutex_lock(&m->lock);
	int err = mem_link_tmp_locked(m, fd, path, true);
	pthread_mutex_unlock(&m->lock);
	return err;
}

/* ---- names of an fd's file ------------------------------------------- */

/*
 * Depth-first search below dir (whose path is buf[0..len)) for a name of
 * n; 0 with it in buf.  Only after an fd's own name went: no index.
 */
static int mem_find_name(const struct mem_node *dir, const struct mem_node *n,
			 char *buf, size_t size, size_t len)
{
	struct mem_dent *d, *tmp;
	size_t at = len ? len + 1 : 0;

	HASH_ITER(hh, dir->kids, d, tmp) {
		size_t nl = strlen(d->name);
		if (!d->node || at + nl >= size)
			continue;
		if (len)
			buf[len] = '/';
		memcpy(buf + at, d->name, nl + 1);
		if (d->node == n)
			return 0;
		if (S_ISDIR(d->node->mode) &&
		    mem_find_name(d->node, n, buf, size, at + nl) == 0)
			return 0;
	}
	buf[len] = '\0';
	return -ENOENT;
}

static int mem_fd_name(struct lyr_layer *l, int fd, char *buf, size_t size)
{
	struct mem_layer *m = mem_of(l);
	struct mem_node *n;
	struct stat st;
	int err;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!size)
		return -ERANGE;
	struct stat dst;
	if (S_ISDIR(st.st_mode) && fstat(m->emptydir, &dst) == 0 && dst.st_dev == st.st_dev &&
	    dst.st_ino == st.st_ino)
		return -ENXIO; /* every directory's stand-in */
	pthread_mutex_lock(&m->lock);
	HASH_FIND(kh, m->files, &st.st_ino, sizeof(st.st_ino), n);
	if (!n || n->kdev != st.st_dev || n->nlink == 0 || n->tmp)
		err = -ENOENT; /* not (or no longer) a file of the layer */
	else
		err = mem_find_name(m->root, n, buf, size, 0);
	pthread_mutex_unlock(&m->lock);
	return err;
}

/* lock_fd (layer.h): a new open file description of key's memfd. */
static int mem_lock_fd(struct lyr_layer *l, uint64_t key)
{
	struct mem_layer *m = mem_of(l);
	struct mem_lock *k;
	int r;

	pthread_mutex_lock(&m->lock);
	HASH_FIND(hh, m->locks, &key, sizeof(key), k);
	if (!k && (k = calloc(1, sizeof(*k)))) {
		k->key = key;
		if ((k->fd = memfd_create("layerfs-lock", MFD_CLOEXEC)) < 0) {
			free(k);
			k = NULL;
		} else {
			HASH_ADD(hh, m->locks, key, sizeof(k->key), k);
		}
	}
	r = k ? mem_reopen(k->fd, O_RDWR) : -ENOMEM;
	pthread_mutex_unlock(&m->lock);
	return r;
}

/* ---- constructor ----------------------------------------------------- */

static void mem_destroy(struct lyr_layer *l)
{
	struct mem_layer *m = mem_of(l);
	struct mem_node *n, *tmp;

	mem_track(m, false);
	mem_free_tree(m, m->root);
	HASH_ITER(kh, m->files, n, tmp) /* tmpfiles never linked */
		mem_node_free(m, n);
	struct mem_lock *k, *ktmp;
	HASH_ITER(hh, m->locks, k, ktmp) {
		HASH_DEL(m->locks, k);
		close(k->fd);
		free(k);
	}
	lyr_fd_release(&m->emptydir);
	close(m->emptydir);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static const struct lyr_layer_ops mem_ops = {
	.version = LYR_OPS_VERSION,
	.name = "mem",
	.lookup = mem_lookup,
	.open = mem_open,
	.readdir = mem_readdir,
	.readlink = mem_readlink,
	.mkdir = mem_mkdir,
	.mknod = mem_mknod,
	.symlink = mem_symlink,
	.link = mem_link,
	.unlink = mem_unlink,
	.rmdir = mem_rmdir,
	.rename = mem_rename,
	.chmod = mem_chmod,
	.chown = mem_chown,
	.utimens = mem_utimens,
	.truncate = mem_truncate,
	.whiteout = mem_whiteout,
	.set_opaque = mem_set_opaque,
	.statfs = mem_statfs,
	.getxattr = mem_getxattr,
	.listxattr = mem_listxattr,
	.setxattr = mem_setxattr,
	.removexattr = mem_removexattr,
	.tmpfile = mem_tmpfile,
	.link_tmp = mem_link_tmp,
	.link_copy = mem_link_copy,
	.mkdir_copy = mem_mkdir_copy,
	.fd_name = mem_fd_name,
	.lock_fd = mem_lock_fd,
	.destroy = mem_destroy,
};

/*
 * An empty directory that open of a directory can reopen: made in the
 * first usable temporary directory, opened, then removed, so nothing is
 * left behind even if the process dies.  Readable by everyone, so a
 * process that changed its euid can still reopen it.
 */
static int mem_empty_dir(struct lyr_error *err)
{
	const char *env = getenv("TMPDIR");
	const char *bases[] = { env && *env == '/' ? env : NULL, "/tmp", "/dev/shm" };
	char path[PATH_MAX];
	int last = ENOENT;

	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		if (!bases[i])
			continue;
		int n = snprintf(path, sizeof(path), "%s/layerfs-dir-XXXXXX", bases[i]);
		if (n < 0 || (size_t)n >= sizeof(path) || !mkdtemp(path)) {
			last = n < 0 || (size_t)n >= sizeof(path) ? ENAMETOOLONG : errno;
			continue;
		}
		int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		last = errno;
		if (fd >= 0)
			fchmod(fd, 0555);
		rmdir(path);
		if (fd >= 0)
			return fd;
	}
	return lyr_seterr(err, last, "memory layer: no temporary directory for "
			  "directory fds: %s", strerror(last));
}

/*
 * A new, empty memory layer (see layerfs.h).  The root is a directory
 * 0755 owned by the caller's euid and egid.  -ENOMEM, or the error of
 * making the private empty directory (see the file comment), with *err.
 */
int lyr_mem_open(struct lyr_layer **out, struct lyr_error *err)
{
	struct mem_layer *m;
	int r;

	*out = NULL;
	if (!(m = calloc(1, sizeof(*m))))
		return lyr_seterr(err, ENOMEM, "memory layer: out of memory");
	m->base.ops = &mem_ops;
	m->next_ino = 1;
	if ((r = pthread_mutex_init(&m->lock, NULL))) {
		free(m);
		return lyr_seterr(err, r, "memory layer: %s", strerror(r));
	}
	if ((m->emptydir = mem_empty_dir(err)) < 0) {
		r = m->emptydir;
		goto out_lock;
	}
	lyr_fd_keep(&m->emptydir);
	if (!(m->root = mem_node_new(m, NULL, S_IFDIR | 0755))) {
		r = lyr_seterr(err, ENOMEM, "memory layer: out of memory");
		goto out_dir;
	}
	mem_track(m, true);
	*out = &m->base;
	return 0;
out_dir:
	lyr_fd_release(&m->emptydir);
	close(m->emptydir);
out_lock:
	pthread_mutex_destroy(&m->lock);
	free(m);
	return r;
}
