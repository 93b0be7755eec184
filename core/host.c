/* SPDX-License-Identifier: MIT */
/*
 * host.c - a host directory as a layer.
 *
 * The layer keeps one fd on the directory (moved to a high number so that
 * programs closing low fds leave it alone) and does every operation
 * relative to it with the *at system calls; the host path is never glued
 * to a layer path.  Whiteouts and opaque directories are stored in the OCI
 * image-layer convention:
 *
 *   .wh.NAME        an empty regular file: NAME is deleted (a whiteout)
 *   .wh..wh..opq    in a directory: the directory is opaque
 *
 * The markers are empty files, made as hard links of one file at the
 * root, .wh..wh..layerfs-marker, wherever the file system allows it: a
 * link costs a directory entry where a new file costs an inode, and the
 * inode is most of what a deletion costs (kernel overlayfs shares its
 * whiteout inode in the same way).  Names under ".wh..wh." are layer
 * metadata in the aufs convention, which OCI tools skip.
 *
 * Those storage names never show through the interface: a path component
 * starting with ".wh." does not exist (-ENOENT) and cannot be created
 * (-EINVAL), listings show a whiteout as NAME with DT_WHT, and creating
 * NAME removes a whiteout for it.
 *
 * Symlinks are never followed.  A path with several components is resolved
 * by opening its parent directory with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS), so a symlink or a non-directory in the middle of a
 * path gives -ENOTDIR, as the layer contract asks, and nothing can escape
 * the directory.  On a kernel without openat2 (before 5.6) the fallback is
 * openat(O_NOFOLLOW): a symlink in an intermediate component is then
 * followed.  A path of one component costs no extra system call.  A
 * lookup asked without flags looks for no markers (a whiteout reads as
 * absent): one fstatat, where the union knows the markers cannot matter.
 *
 * The union's upper layer (LYR_HOST_UPPER) also answers lookups from a
 * cache, because a walk asks it about every name the lowers show and it
 * rarely holds them: ten failed fstatat per entry for `ls -laR`.  Every
 * change made through a layer on the directory, in any process, moves a
 * counter shared through a file of the directory (.wh..wh..layerfs-gen,
 * mapped); an answer is reused while the counter has not moved.  Only
 * answers that no change made outside the layer can falsify are kept:
 * absent names, whiteouts and directories (a file's size and times move
 * with writes to its fds).
 *
 * Errors are the kernel's own.  The layer holds no state but the fd (and
 * the upper's cache), so it is thread-safe.  The changes at one name between entry,
 * whiteout and neither (whiteout, a rename that leaves one, the links and
 * mkdirs of a copy-up, the removal of a stale whiteout) take a flock on
 * the directory (host_lock), because several processes share it.  It
 * calls plain libc: under the preload shim these calls are on an fd and
 * paths the shim does not own, so they pass straight through.
 *
 * Divisions: helpers (paths, markers), lookup and listing, open and
 * creation, removal and rename, attributes, xattrs, tmpfiles, constructor.
 */
#define _GNU_SOURCE
#include "layerfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#define HOST_WH_PREFIX     LYR_WH_PREFIX
#define HOST_WH_PREFIX_LEN LYR_WH_PREFIX_LEN
#define HOST_OPAQUE        LYR_WH_OPAQUE
#define HOST_META_PREFIX   LYR_WH_META /* aufs-style metadata: never listed */
#define HOST_MARKER        LYR_WH_META ".layerfs-marker" /* every marker's inode */
#define HOST_LOCK          LYR_WH_META ".layerfs-lock."  /* + key: a lock file */
#define HOST_GEN           LYR_WH_META ".layerfs-gen"    /* the change counter */
#define HOST_XSTORE        LYR_WH_META ".layerfs-xattr"  /* private xattrs of
							    symlinks, specials */

#define HOST_CACHE_SLOTS 4096 /* lookups remembered, direct-mapped by path */

/* A lookup's answer, valid while the change counter reads gen. */
struct host_cached {
	char *path;         /* NULL: an empty slot */
	uint64_t gen;
	int err;            /* 0, -ENOENT or -ENOTDIR */
	unsigned flags;     /* the markers found (when marked) */
	bool marked;        /* asked with markers */
	struct stat st;     /* a directory's */
};

struct host_layer {
	struct lyr_layer base;
	int rootfd; /* O_RDONLY|O_DIRECTORY, close-on-exec, kept high */
	bool ro;    /* LYR_HOST_RDONLY */
	int xstore; /* HOST_XSTORE: 0 not looked for, 1 absent, 2 there */
	_Atomic uint64_t *gen;      /* LYR_HOST_UPPER: the mapped counter, or NULL */
	pthread_mutex_t cache_lock; /* over cache (only ever tried: fork-safe) */
	struct host_cached *cache;
};

static struct host_layer *host_of(struct lyr_layer *l)
{
	return (struct host_layer *)l;
}

/* The store of private xattrs (see "xattrs" below). */
static bool host_xstored(mode_t mode);
static bool host_xstore_there(struct host_layer *h);
static void host_xdrop(struct host_layer *h, const struct stat *st);
static void host_xfresh(struct host_layer *h, int dfd, const char *name);

/* ---- helpers: paths and markers ------------------------------------- */

static bool host_is_marker(const char *name, size_t len)
{
	return len >= HOST_WH_PREFIX_LEN &&
	       memcmp(name, HOST_WH_PREFIX, HOST_WH_PREFIX_LEN) == 0;
}

/*
 * Checks the storage names in path: any component that is a marker does
 * not exist (-ENOENT); with create, a marker as the last component cannot
 * be made (-EINVAL).
 */
static int host_check_names(const char *path, bool create)
{
	const char *p = path;

	while (*p) {
		const char *end = strchrnul(p, '/');
		if (host_is_marker(p, (size_t)(end - p)))
			return create && !*end ? -EINVAL : -ENOENT;
		p = *end ? end + 1 : end;
	}
	return 0;
}

/* openat2 beneath dfd without symlinks; openat(O_NOFOLLOW) before 5.6. */
static int host_openat2(int dfd, const char *path, int flags, mode_t mode)
{
	static atomic_bool no_openat2;

	if (!atomic_load_explicit(&no_openat2, memory_order_relaxed)) {
		struct open_how how = {
			.flags = (uint64_t)(unsigned)flags,
			.mode = (flags & (O_CREAT | O_TMPFILE)) ? (mode & 07777) : 0,
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
				   RESOLVE_NO_MAGICLINKS,
		};
		long fd = syscall(SYS_openat2, dfd, path, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		if (errno != ENOSYS)
			return -errno;
		atomic_store_explicit(&no_openat2, true, memory_order_relaxed);
	}
	int fd = openat(dfd, path, flags | O_NOFOLLOW, mode);
	return fd < 0 ? -errno : fd;
}

/*
 * Finds the directory holding path's last component: *dfd is the root fd
 * for a path of one component (and for the root itself, whose name is
 * "."), else a new O_PATH fd the caller releases with host_put.  *name
 * points into path.  -ENOTDIR when a middle component is not a directory
 * (a symlink included), -ENOENT when one is missing.
 */
static int host_parent(struct host_layer *h, const char *path, int *dfd,
		       const char **name)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];

	*dfd = h->rootfd;
	*name = *path ? path : ".";
	if (!slash)
		return 0;
	size_t len = (size_t)(slash - path);
	if (len >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, len);
	dir[len] = '\0';
	int fd = host_openat2(h->rootfd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd == -ELOOP ? -ENOTDIR : fd;
	*dfd = fd;
	*name = slash + 1;
	return 0;
}

static void host_put(struct host_layer *h, int dfd)
{
	if (dfd >= 0 && dfd != h->rootfd)
		close(dfd);
}

/*
 * The start of a change at path: -EROFS on a read-only layer, -EBUSY for
 * the root when busy_root, the storage names checked (create: the last
 * component is to be made), then the parent opened (host_put it).
 */
static int host_begin(struct host_layer *h, const char *path, bool create,
		      bool busy_root, int *dfd, const char **name)
{
	int err;

	if (h->ro)
		return -EROFS;
	if (busy_root && !*path)
		return -EBUSY;
	if ((err = host_check_names(path, create)))
		return err;
	return host_parent(h, path, dfd, name);
}

/* ".wh.NAME" into buf; -ENAMETOOLONG when NAME is too long to mark. */
static int host_wh_name(const char *name, char *buf, size_t size)
{
	size_t n = HOST_WH_PREFIX_LEN + strlen(name);

	if (n >= size || n > NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(buf, HOST_WH_PREFIX, HOST_WH_PREFIX_LEN);
	memcpy(buf + HOST_WH_PREFIX_LEN, name, n - HOST_WH_PREFIX_LEN + 1);
	return 0;
}

/*
 * The layer's lock, for the changes at one name between "entry",
 * "whiteout" and "neither" (layer.h): every process sharing the directory
 * takes it, so a removal, a copy-up and a rename of one lower entry
 * serialise.  flock on an open file description of its own, so that
 * threads and forked children exclude each other too.  Returns the lock's
 * fd or -errno; host_unlock releases it (before the close, for a child
 * forked meanwhile holds the description too).
 */
static int host_lock(struct host_layer *h)
{
	int fd = openat(h->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int err = -errno;
			close(fd);
			return err;
		}
	}
	return fd;
}

static void host_unlock(int fd)
{
	if (fd >= 0) {
		flock(fd, LOCK_UN);
		close(fd);
	}
}

/*
 * After NAME was created in dfd: a whiteout for it is now stale.  The
 * common case (no whiteout) costs one faccessat and no lock; otherwise,
 * under the lock, the whiteout goes only while NAME is still there (a
 * racing removal may have taken it and left its own whiteout).  locked:
 * the caller holds the lock.
 */
static void host_unwhite(struct host_layer *h, int dfd, const char *name,
			 bool locked)
{
	char wh[NAME_MAX + 1];
	struct stat st;
	int lk = -1;

	if (host_wh_name(name, wh, sizeof(wh)) ||
	    faccessat(dfd, wh, F_OK, AT_SYMLINK_NOFOLLOW) != 0)
		return;
	if (!locked)
		lk = host_lock(h); /* on failure, the best it can do unlocked */
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		unlinkat(dfd, wh, 0);
	host_unlock(lk);
}

/* Creates an empty marker file name in dfd (fine if it exists). */
static int host_make_marker(struct host_layer *h, int dfd, const char *name)
{
	int fd;

	if (!linkat(h->rootfd, HOST_MARKER, dfd, name, 0))
		return 0;
	if (errno == ENOENT && (fd = openat(h->rootfd, HOST_MARKER, O_WRONLY | O_CREAT |
					     O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600)) >= 0) {
		/* The first marker of this upper layer made the shared file. */
		close(fd);
		if (!linkat(h->rootfd, HOST_MARKER, dfd, name, 0))
			return 0;
	}
	/* Otherwise (no hard links here, the link count at its limit, or the
	 * marker is there already): a file of its own, or the one there. */
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/*
 * Directory name in dfd holds nothing but markers (whiteouts, the opaque
 * marker): remove them when clear is set and return 0; -ENOTEMPTY when it
 * holds anything else.
 */
static int host_only_markers(int dfd, const char *name, bool clear)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? -ENOTDIR : -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		int err = -errno;
		close(fd);
		return err;
	}
	int err = 0;
	struct dirent *e;
	while (!err && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (!host_is_marker(e->d_name, strlen(e->d_name)) || e->d_type == DT_DIR)
			err = -ENOTEMPTY;
	}
	if (!err && clear) {
		rewinddir(d);
		while (!err && (e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			if (unlinkat(fd, e->d_name, 0) < 0 && errno != ENOENT)
				err = errno == EISDIR ? -ENOTEMPTY : -errno;
		}
	}
	closedir(d);
	return err;
}

/* "/proc/self/fd/DFD/NAME": a path to name that follows no symlink of ours. */
static int host_proc_path(int dfd, const char *name, char *buf, size_t size)
{
	int n = snprintf(buf, size, "/proc/self/fd/%d/%s", dfd, name);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* ---- the upper's lookup cache ---------------------------------------- */

/* After a change through this layer: every process's answers go stale. */
static void host_changed(struct host_layer *h)
{
	if (h->gen)
		atomic_fetch_add_explicit(h->gen, 1, memory_order_release);
}

static const struct lyr_layer_ops host_ops;

void lyr_host_changed(struct lyr_layer *l)
{
	if (l && l->ops == &host_ops)
		host_changed(host_of(l));
}

bool lyr_host_gen(struct lyr_layer *l, uint64_t *gen)
{
	if (!l || l->ops != &host_ops || !host_of(l)->gen)
		return false;
	*gen = atomic_load_explicit(host_of(l)->gen, memory_order_acquire);
	return true;
}

static struct host_cached *host_slot(struct host_layer *h, const char *path)
{
	uint64_t x = 1469598103934665603ull; /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		x = (x ^ *p) * 1099511628211ull;
	return &h->cache[x % HOST_CACHE_SLOTS];
}

/* A remembered answer for path at counter value g: true, with *r, *st
 * and *flags (NULL: asked without markers, a whiteout reads as absent). */
static bool host_cache_get(struct host_layer *h, const char *path, uint64_t g, int *r,
			   struct stat *st, unsigned *flags)
{
	bool hit = false;

	if (pthread_mutex_trylock(&h->cache_lock))
		return false;
	struct host_cached *c = host_slot(h, path);
	if (c->path && c->gen == g && (c->marked || !flags) && !strcmp(c->path, path)) {
		hit = true;
		*r = c->err;
		*st = c->st;
		if (flags)
			*flags = c->flags;
		else if (c->flags & LYR_WHITEOUT)
			*r = -ENOENT;
	}
	pthread_mutex_unlock(&h->cache_lock);
	return hit;
}

/* Remembers the answer r for path (asked at counter value g) when no
 * change outside the layer can make it wrong. */
static void host_cache_put(struct host_layer *h, const char *path, uint64_t g, int r,
			   const struct stat *st, const unsigned *flags)
{
	bool keep = r == -ENOENT || r == -ENOTDIR ||
		    (r == 0 && (S_ISDIR(st->st_mode) || (flags && (*flags & LYR_WHITEOUT))));

	if (!keep || pthread_mutex_trylock(&h->cache_lock))
		return;
	struct host_cached *c = host_slot(h, path);
	if (!c->path || strcmp(c->path, path)) {
		char *p = strdup(path);
		if (p) {
			free(c->path);
			c->path = p;
		}
	}
	if (c->path && !strcmp(c->path, path)) {
		c->gen = g;
		c->err = r;
		c->flags = flags ? *flags : 0;
		c->marked = flags != NULL;
		c->st = *st;
	}
	pthread_mutex_unlock(&h->cache_lock);
}

/* The counter (made if needed) mapped, and the cache: false when the
 * directory cannot hold it (the layer then asks the kernel every time). */
static bool host_cache_start(struct host_layer *h)
{
	struct stat st;
	int fd = openat(h->rootfd, HOST_GEN, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);

	if (fd < 0)
		return false;
	void *m = MAP_FAILED;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_size >= (off_t)sizeof(uint64_t) || ftruncate(fd, sizeof(uint64_t)) == 0))
		m = mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return false;
	if (!(h->cache = calloc(HOST_CACHE_SLOTS, sizeof(*h->cache)))) {
		munmap(m, sizeof(uint64_t));
		return false;
	}
	pthread_mutex_init(&h->cache_lock, NULL);
	h->gen = m;
	return true;
}

static void host_cache_stop(struct host_layer *h)
{
	if (!h->gen)
		return;
	munmap((void *)h->gen, sizeof(uint64_t));
	for (size_t i = 0; i < HOST_CACHE_SLOTS; i++)
		free(h->cache[i].path);
	free(h->cache);
	pthread_mutex_destroy(&h->cache_lock);
}

/* ---- lookup and listing --------------------------------------------- */

/* lookup (layer.h), asking the kernel; st is not NULL. */
static int host_lookup_now(struct host_layer *h, const char *path, struct stat *st,
			   unsigned *flags)
{
	struct stat marker;
	const char *name;
	char buf[NAME_MAX + sizeof(HOST_OPAQUE) + 2];
	int dfd, err;

	if (flags)
		*flags = 0;
	if ((err = host_check_names(path, false)))
		return err;
	if ((err = host_parent(h, path, &dfd, &name)))
		return err;
	/* Without flags the caller wants no markers (layer.h): one fstatat. */
	if (fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) < 0) {
		err = -errno;
		if (err == -ENOENT && flags && host_wh_name(name, buf, sizeof(buf)) == 0 &&
		    fstatat(dfd, buf, &marker, AT_SYMLINK_NOFOLLOW) == 0) {
			memset(st, 0, sizeof(*st));
			*flags = LYR_WHITEOUT;
			err = 0;
		}
	} else if (flags && S_ISDIR(st->st_mode)) {
		snprintf(buf, sizeof(buf), "%s/" HOST_OPAQUE, name);
		if (fstatat(dfd, buf, &marker, AT_SYMLINK_NOFOLLOW) == 0)
			*flags = LYR_OPAQUE;
	}
	host_put(h, dfd);
	return err;
}

static int host_lookup(struct lyr_layer *l, const char *path, struct stat *st,
		       unsigned *flags)
{
	struct host_layer *h = host_of(l);
	struct stat tmp;
	int r;

	if (!st)
		st = &tmp;
	if (!h->gen)
		return host_lookup_now(h, path, st, flags);
	/* Read before the lookup: a change made meanwhile moves it on. */
	uint64_t g = atomic_load_explicit(h->gen, memory_order_acquire);
	if (host_cache_get(h, path, g, &r, st, flags))
		return r;
	r = host_lookup_now(h, path, st, flags);
	host_cache_put(h, path, g, r, st, flags);
	return r;
}

/* Adds one getdents entry of directory fd to out, translating markers. */
static int host_list_one(int fd, const struct dirent *e, struct lyr_dirlist *out)
{
	const char *name = e->d_name;
	unsigned char type = e->d_type;
	struct stat st;

	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	if (host_is_marker(name, strlen(name))) {
		if (!strcmp(name, HOST_OPAQUE)) {
			out->flags |= LYR_OPAQUE;
			return 0;
		}
		name += HOST_WH_PREFIX_LEN;
		if (!*name || !strncmp(e->d_name, HOST_META_PREFIX, strlen(HOST_META_PREFIX)))
			return 0;
		/* A real NAME next to a stale whiteout wins, as in lookup. */
		if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return 0;
		return lyr_dirlist_add(out, name, 0, DT_WHT);
	}
	if (type == DT_UNKNOWN) {
		if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return errno == ENOENT ? 0 : -errno;
		type = lyr_mode_to_dt(st.st_mode);
	}
	return lyr_dirlist_add(out, name, e->d_ino, type);
}

static int host_readdir(struct lyr_layer *l, const char *path,
			struct lyr_dirlist *out)
{
	struct host_layer *h = host_of(l);
	struct stat self, parent;
	const char *name;
	int dfd, fd, err;

	if ((err = host_check_names(path, false)))
		return err;
	if ((err = host_parent(h, path, &dfd, &name)))
		return err;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		err = errno == ELOOP ? -ENOTDIR : -errno;
		goto out_put;
	}
	if (fstat(fd, &self) < 0 || fstat(dfd, &parent) < 0) {
		err = -errno;
		close(fd);
		goto out_put;
	}
	if (!*path)
		parent = self; /* the layer root's ".." is the root */
	DIR *d = fdopendir(fd);
	if (!d) {
		err = -errno;
		close(fd);
		goto out_put;
	}
	if ((err = lyr_dirlist_add(out, ".", self.st_ino, DT_DIR)) ||
	    (err = lyr_dirlist_add(out, "..", parent.st_ino, DT_DIR)))
		goto out_close;
	for (;;) {
		errno = 0;
		struct dirent *e = readdir(d);
		if (!e) {
			err = -errno;
			break;
		}
		if ((err = host_list_one(fd, e, out)))
			break;
	}
out_close:
	closedir(d);
	if (err)
		lyr_dirlist_free(out);
out_put:
	host_put(h, dfd);
	return err;
}

static ssize_t host_readlink(struct lyr_layer *l, const char *path, char *buf,
			     size_t size)
{
	struct host_layer *h = host_of(l);
	const char *name;
	int dfd, err;

	if ((err = host_check_names(path, false)))
		return err;
	if ((err = host_parent(h, path, &dfd, &name)))
		return err;
	ssize_t n = readlinkat(dfd, name, buf, size);
	if (n < 0)
		n = -errno;
	host_put(h, dfd);
	return n;
}

/* ---- open and creation ---------------------------------------------- */

/* Flags open(2) knows; openat2 rejects any other bit that open ignores. */
#define HOST_OPEN_FLAGS (O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | \
			 O_APPEND | O_NONBLOCK | O_DSYNC | O_ASYNC | O_DIRECT | \
			 O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | \
			 O_SYNC | O_PATH | O_TMPFILE)

static bool host_open_writes(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_TRUNC | O_CREAT));
}

/*
 * A read-only layer refuses what open would change, with the errno a
 * read-only mount gives: -EROFS to create, truncate or write a file; the
 * usual errors (ENOENT, EEXIST, EISDIR, ENOTDIR, ELOOP) first.
 */
static int host_open_ro_check(int dfd, const char *name, int flags)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT && (flags & O_CREAT) ? -EROFS : -errno;
	if ((flags & O_CREAT) && (flags & O_EXCL))
		return -EEXIST;
	if (S_ISDIR(st.st_mode))
		return (flags & O_CREAT) || (flags & O_ACCMODE) != O_RDONLY ||
		       (flags & O_TRUNC) ? -EISDIR : 0;
	if (flags & O_DIRECTORY)
		return -ENOTDIR;
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
		return -EROFS;
	return 0;
}

/* The slow path: O_CREAT, or a read-only layer asked to write. */
static int host_open_parent(struct host_layer *h, const char *path, int flags,
			    mode_t mode)
{
	const char *name;
	int dfd, fd;

	if ((fd = host_parent(h, path, &dfd, &name)))
		return fd;
	if (h->ro) {
		fd = host_open_ro_check(dfd, name, flags);
		flags &= ~(O_CREAT | O_EXCL);
	}
	if (fd == 0) {
		fd = openat(dfd, name, flags, mode);
		if (fd < 0)
			fd = -errno;
		else if (flags & O_CREAT)
			host_unwhite(h, dfd, name, false);
	}
	host_put(h, dfd);
	return fd;
}

static int host_open(struct lyr_layer *l, const char *path, int flags, mode_t mode)
{
	struct host_layer *h = host_of(l);
	int fd, err;

	if ((err = host_check_names(path, flags & O_CREAT)))
		return err;
	if (h->ro && (flags & O_TMPFILE) == O_TMPFILE)
		return -EROFS;
	flags = (flags & HOST_OPEN_FLAGS) | O_CLOEXEC | O_NOFOLLOW;
	if ((flags & O_CREAT) || (h->ro && host_open_writes(flags)))
		return host_open_parent(h, path, flags, mode);

	fd = host_openat2(h->rootfd, *path ? path : ".", flags, mode);
	if (fd == -ELOOP && strchr(path, '/')) {
		/* A symlink in the middle is a non-directory there. */
		const char *name;
		int dfd;
		if ((err = host_parent(h, path, &dfd, &name)))
			return err;
		host_put(h, dfd);
	}
	return fd;
}

/* Creation through one *at call on (dfd, name), then the stale whiteout goes. */
/* HOST_MKDIR_COPY: mkdir_copy (layer.h). */
enum host_mk { HOST_MKDIR, HOST_MKDIR_COPY, HOST_MKNOD, HOST_SYMLINK };

static int host_make(struct lyr_layer *l, const char *path, enum host_mk kind,
		     mode_t mode, dev_t dev, const char *target)
{
	struct host_layer *h = host_of(l);
	char wh[NAME_MAX + 1];
	const char *name;
	int dfd, err, r, lk = -1;

	if ((err = host_begin(h, path, true, false, &dfd, &name)))
		return err;
	switch (kind) {
	case HOST_MKDIR_COPY:
		/* Under the lock: no directory where a removal left a whiteout. */
		if ((lk = host_lock(h)) < 0 || (err = host_wh_name(name, wh, sizeof(wh)))) {
			err = lk < 0 ? lk : err;
			goto out;
		}
		if (faccessat(dfd, wh, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
			err = -ENOENT;
			goto out;
		}
		/* fall through */
	case HOST_MKDIR:
		r = mkdirat(dfd, name, mode);
		break;
	case HOST_MKNOD:
		r = mknodat(dfd, name, mode, dev);
		break;
	default:
		r = symlinkat(target, dfd, name);
		break;
	}
	if (r < 0)
		err = -errno;
	else if (kind != HOST_MKDIR_COPY)
		host_unwhite(h, dfd, name, false);
	if (r == 0 && (kind == HOST_MKNOD || kind == HOST_SYMLINK))
		host_xfresh(h, dfd, name);
out:
	host_unlock(lk);
	host_put(h, dfd);
	return err;
}

static int host_mkdir(struct lyr_layer *l, const char *path, mode_t mode)
{
	return host_make(l, path, HOST_MKDIR, mode, 0, NULL);
}

static int host_mkdir_copy(struct lyr_layer *l, const char *path, mode_t mode)
{
	return host_make(l, path, HOST_MKDIR_COPY, mode, 0, NULL);
}

static int host_mknod(struct lyr_layer *l, const char *path, mode_t mode, dev_t dev)
{
	return host_make(l, path, HOST_MKNOD, mode, dev, NULL);
}

static int host_symlink(struct lyr_layer *l, const char *target, const char *path)
{
	return host_make(l, path, HOST_SYMLINK, 0, 0, target);
}

static int host_link(struct lyr_layer *l, const char *oldpath, const char *newpath)
{
	struct host_layer *h = host_of(l);
	const char *oname, *nname;
	int odfd, ndfd, err;

	if (h->ro)
		return -EROFS;
	if ((err = host_check_names(oldpath, false)) ||
	    (err = host_check_names(newpath, true)))
		return err;
	if ((err = host_parent(h, oldpath, &odfd, &oname)))
		return err;
	if ((err = host_parent(h, newpath, &ndfd, &nname)))
		goto out_old;
	if (linkat(odfd, oname, ndfd, nname, 0) < 0)
		err = -errno;
	else
		host_unwhite(h, ndfd, nname, false);
	host_put(h, ndfd);
out_old:
	host_put(h, odfd);
	return err;
}

/* ---- removal and rename --------------------------------------------- */

static int host_unlink(struct lyr_layer *l, const char *path)
{
	struct host_layer *h = host_of(l);
	const char *name;
	struct stat st;
	bool known;
	int dfd, err;

	if ((err = host_begin(h, path, false, false, &dfd, &name)))
		return err;
	known = host_xstore_there(h) && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (unlinkat(dfd, name, 0) < 0)
		err = -errno;
	else if (known && st.st_nlink == 1)
		host_xdrop(h, &st); /* its last name */
	host_put(h, dfd);
	return err;
}

static int host_rmdir(struct lyr_layer *l, const char *path)
{
	struct host_layer *h = host_of(l);
	const char *name;
	int dfd, err;

	if ((err = host_begin(h, path, false, true, &dfd, &name)))
		return err;
	if (unlinkat(dfd, name, AT_REMOVEDIR) < 0) {
		err = -errno;
		/* Markers alone leave a directory empty in the view. */
		if ((err == -ENOTEMPTY || err == -EEXIST) &&
		    (err = host_only_markers(dfd, name, true)) == 0 &&
		    unlinkat(dfd, name, AT_REMOVEDIR) < 0)
			err = -errno;
	}
	host_put(h, dfd);
	return err;
}

static int host_rename(struct lyr_layer *l, const char *from, const char *to,
		       unsigned flags)
{
	struct host_layer *h = host_of(l);
	const char *oname, *nname;
	char wh[NAME_MAX + 1];
	bool whiteout = flags & LYR_RENAME_WHITEOUT, made = false;
	int odfd, ndfd, err, lk = -1;

	flags &= ~LYR_RENAME_WHITEOUT;
	if (whiteout && (flags & RENAME_EXCHANGE))
		return -EINVAL;
	if (h->ro)
		return -EROFS;
	if (!*from || !*to)
		return -EBUSY;
	if ((err = host_check_names(from, false)) ||
	    (err = host_check_names(to, !(flags & RENAME_EXCHANGE))))
		return err;
	if ((err = host_parent(h, from, &odfd, &oname)))
		return err;
	if ((err = host_parent(h, to, &ndfd, &nname)))
		goto out_old;
	/*
	 * The whiteout goes in first: next to the real entry it changes
	 * nothing (the entry wins), and the rename makes it effective in the
	 * same step that takes the entry away.
	 */
	if (whiteout) {
		if ((err = host_wh_name(oname, wh, sizeof(wh))))
			goto out_new;
		if ((lk = host_lock(h)) < 0) {
			err = lk;
			goto out_new;
		}
		if (faccessat(odfd, wh, F_OK, AT_SYMLINK_NOFOLLOW) != 0) {
			if ((err = host_make_marker(h, odfd, wh)))
				goto out_new;
			made = true;
		}
	}
	/* A symlink or special file renamed over loses its last name. */
	struct stat over, now;
	bool drop = !(flags & RENAME_EXCHANGE) && host_xstore_there(h) &&
		    fstatat(ndfd, nname, &over, AT_SYMLINK_NOFOLLOW) == 0 &&
		    host_xstored(over.st_mode) && over.st_nlink == 1;
	if (renameat2(odfd, oname, ndfd, nname, flags) < 0) {
		err = -errno;
		/* A target directory holding only markers is empty in the view. */
		if ((err == -ENOTEMPTY || err == -EEXIST) && !flags &&
		    (err = host_only_markers(ndfd, nname, true)) == 0 &&
		    renameat2(odfd, oname, ndfd, nname, flags) < 0)
			err = -errno;
	}
	if (!err && !(flags & RENAME_EXCHANGE))
		host_unwhite(h, ndfd, nname, lk >= 0);
	if (!err && drop && (fstatat(ndfd, nname, &now, AT_SYMLINK_NOFOLLOW) < 0 ||
			     now.st_ino != over.st_ino || now.st_dev != over.st_dev))
		host_xdrop(h, &over);
	if (err && made)
		unlinkat(odfd, wh, 0);
	host_unlock(lk);
out_new:
	host_put(h, ndfd);
out_old:
	host_put(h, odfd);
	return err;
}

/* whiteout of name in dfd, under the lock. */
static int host_whiteout_at(struct host_layer *h, int dfd, const char *name)
{
	char wh[NAME_MAX + 1];
	struct stat st;
	int err;

	if ((err = host_wh_name(name, wh, sizeof(wh))))
		return err;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return -errno;
		/* Already a whiteout: a racing removal won. */
		if (faccessat(dfd, wh, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			return -ENOENT;
		return host_make_marker(h, dfd, wh);
	}
	if (S_ISDIR(st.st_mode) && (err = host_only_markers(dfd, name, false)))
		return err;
	/* The marker first: NAME shadows it until NAME is gone, never a gap. */
	if ((err = host_make_marker(h, dfd, wh)))
		return err;
	if (S_ISDIR(st.st_mode))
		err = host_only_markers(dfd, name, true);
	if (!err && unlinkat(dfd, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
		err = -errno;
	if (err)
		unlinkat(dfd, wh, 0);
	else if (st.st_nlink == 1)
		host_xdrop(h, &st);
	return err;
}

static int host_whiteout(struct lyr_layer *l, const char *path)
{
	struct host_layer *h = host_of(l);
	const char *name;
	int dfd, err;

	if ((err = host_begin(h, path, true, true, &dfd, &name)))
		return err;
	int lk = host_lock(h);
	err = lk < 0 ? lk : host_whiteout_at(h, dfd, name);
	host_unlock(lk);
	host_put(h, dfd);
	return err;
}

static int host_set_opaque(struct lyr_layer *l, const char *path)
{
	struct host_layer *h = host_of(l);
	const char *name;
	int dfd, fd, err;

	if ((err = host_begin(h, path, false, false, &dfd, &name)))
		return err;
	fd = openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		err = errno == ELOOP ? -ENOTDIR : -errno;
	} else {
		/* The marker is no change of the directory's contents: it keeps
		 * its times (a renamed directory is marked opaque). */
		struct stat st;
		bool keep = fstat(fd, &st) == 0;
		err = host_make_marker(h, fd, HOST_OPAQUE);
		if (!err && keep)
			utimensat(dfd, name, (struct timespec[2]){ st.st_atim, st.st_mtim },
				  AT_SYMLINK_NOFOLLOW);
		close(fd);
	}
	host_put(h, dfd);
	return err;
}

/* ---- attributes ------------------------------------------------------ */

enum host_attr { HOST_CHMOD, HOST_CHOWN, HOST_UTIMENS };

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452 /* the same number on every architecture */
#endif

/*
 * fchmodat(AT_SYMLINK_NOFOLLOW): -EOPNOTSUPP on a symlink, like lchmod.
 * fchmodat2 (Linux 6.6) does it in one call; glibc before 2.39 emulates
 * it with four (an O_PATH open, a stat, a chmod through /proc, a close),
 * which is the fallback when the kernel or a seccomp filter refuses it.
 */
static int host_fchmodat_nofollow(int dfd, const char *name, mode_t mode)
{
	static atomic_bool no_fchmodat2;

	if (!atomic_load_explicit(&no_fchmodat2, memory_order_relaxed)) {
		if (syscall(SYS_fchmodat2, dfd, name, mode, AT_SYMLINK_NOFOLLOW) == 0)
			return 0;
		if (errno != ENOSYS && errno != EPERM)
			return -1;
		if (errno == ENOSYS)
			atomic_store_explicit(&no_fchmodat2, true, memory_order_relaxed);
	}
	return fchmodat(dfd, name, mode, AT_SYMLINK_NOFOLLOW);
}

struct host_attr_args {
	mode_t mode;
	uid_t uid;
	gid_t gid;
	const struct timespec *ts;
};

static int host_setattr(struct lyr_layer *l, const char *path, enum host_attr what,
			const struct host_attr_args *a)
{
	struct host_layer *h = host_of(l);
	const char *name;
	int dfd, err, r;

	if ((err = host_begin(h, path, false, false, &dfd, &name)))
		return err;
	switch (what) {
	case HOST_CHMOD:
		r = host_fchmodat_nofollow(dfd, name, a->mode);
		break;
	case HOST_CHOWN:
		r = fchownat(dfd, name, a->uid, a->gid, AT_SYMLINK_NOFOLLOW);
		break;
	default:
		r = utimensat(dfd, name, a->ts, AT_SYMLINK_NOFOLLOW);
		break;
	}
	if (r < 0)
		err = -errno;
	host_put(h, dfd);
	return err;
}

static int host_chmod(struct lyr_layer *l, const char *path, mode_t mode)
{
	return host_setattr(l, path, HOST_CHMOD, &(struct host_attr_args){ .mode = mode });
}

static int host_chown(struct lyr_layer *l, const char *path, uid_t uid, gid_t gid)
{
	return host_setattr(l, path, HOST_CHOWN,
			    &(struct host_attr_args){ .uid = uid, .gid = gid });
}

static int host_utimens(struct lyr_layer *l, const char *path,
			const struct timespec ts[2])
{
	return host_setattr(l, path, HOST_UTIMENS, &(struct host_attr_args){ .ts = ts });
}

static int host_truncate(struct lyr_layer *l, const char *path, off_t length)
{
	struct host_layer *h = host_of(l);
	const char *name;
	struct stat st;
	int dfd, fd, err;

	if (h->ro)
		return -EROFS;
	if (length < 0)
		return -EINVAL;
	if ((err = host_check_names(path, false)))
		return err;
	if ((err = host_parent(h, path, &dfd, &name)))
		return err;
	/* Look first: opening a fifo or a device would have side effects. */
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		err = -errno;
	else if (S_ISDIR(st.st_mode))
		err = -EISDIR;
	else if (S_ISLNK(st.st_mode))
		err = -ELOOP;
	else if (!S_ISREG(st.st_mode))
		err = -EINVAL;
	else if ((fd = openat(dfd, name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK |
			      O_CLOEXEC)) < 0)
		err = -errno;
	else {
		if (ftruncate(fd, length) < 0)
			err = -errno;
		close(fd);
	}
	host_put(h, dfd);
	return err;
}

static int host_statfs(struct lyr_layer *l, struct statvfs *sv)
{
	return fstatvfs(host_of(l)->rootfd, sv) < 0 ? -errno : 0;
}

/* ---- xattrs ---------------------------------------------------------- */

enum host_xop { HOST_XGET, HOST_XLIST, HOST_XSET, HOST_XREMOVE };

struct host_xargs {
	const char *name;
	void *buf;
	const void *value;
	size_t size;
	int flags;
};

/*
 * layerfs's own xattrs of a symlink, fifo, socket or device node (names
 * under LYR_XATTR_STORED: the origin inode number).  Linux refuses user.*
 * xattrs on those, and trusted.* needs CAP_SYS_ADMIN, so they live in a
 * store the layer owns: HOST_XSTORE, a directory at the root holding one
 * empty regular file per inode, named by the entry's inode number and
 * type, that carries the xattrs as its own.  Chosen over an xattr on the
 * parent directory keyed by name because the inode number follows the
 * entry through renames (of it or of any directory above it) and hard
 * links without a change to the store.  A record goes where an inode is
 * made (symlink, mknod: a number the file system reuses starts with
 * nothing), so a stale one needs the upper to be changed by hand; and,
 * as tidying, where one goes away (the last link unlinked, whited out or
 * renamed over), paid only where the upper has a store.  It
 * is a ".wh..wh." name: never listed nor looked up, and left out of an
 * export.  Works as root and not, and the same upper serves both.
 */
static bool host_xstored(mode_t mode)
{
	return !S_ISREG(mode) && !S_ISDIR(mode);
}

static bool host_xstored_name(const char *name)
{
	return name && !strncmp(name, LYR_XATTR_STORED, sizeof(LYR_XATTR_STORED) - 1);
}

/* The store's file for st: "/proc/self/fd/ROOT/STORE/INO-TYPE" (path),
 * or just "STORE/INO-TYPE" (rel) relative to the root. */
static void host_xkey(const struct host_layer *h, const struct stat *st, char *path,
		      size_t size, const char **rel)
{
	int n = snprintf(path, size, "/proc/self/fd/%d/", h->rootfd);

	snprintf(path + n, size - (size_t)n, HOST_XSTORE "/%016" PRIx64 "-%o",
		 (uint64_t)st->st_ino, (unsigned)(st->st_mode & S_IFMT) >> 12);
	if (rel)
		*rel = path + n;
}

/*
 * Is there a store to keep tidy?  Looked for once: where there was none,
 * removals pay nothing for it.  One made later by another process then
 * keeps the records of what this one removes: they are only garbage, for
 * the record of a number reused goes when the new inode is made
 * (host_xfresh, always done).
 */
static bool host_xstore_there(struct host_layer *h)
{
	int k = __atomic_load_n(&h->xstore, __ATOMIC_RELAXED);

	if (k == 0) {
		k = faccessat(h->rootfd, HOST_XSTORE, F_OK, AT_SYMLINK_NOFOLLOW) == 0 ? 2 : 1;
		__atomic_store_n(&h->xstore, k, __ATOMIC_RELAXED);
	}
	return k == 2;
}

/* The inode st is gone (or new): its record goes. */
static void host_xdrop(struct host_layer *h, const struct stat *st)
{
	char path[PATH_MAX];
	const char *rel;

	if (!host_xstored(st->st_mode))
		return;
	host_xkey(h, st, path, sizeof(path), &rel);
	unlinkat(h->rootfd, rel, 0);
}

/* After name was made in dfd: no record from an earlier inode it reuses. */
static void host_xfresh(struct host_layer *h, int dfd, const char *name)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		host_xdrop(h, &st);
}

/* op on the store's record for the entry name in dfd (not a file or a
 * directory); -ENODATA when it has none. */
static ssize_t host_xstore_op(struct host_layer *h, const struct stat *st,
			      enum host_xop op, const struct host_xargs *a)
{
	char path[PATH_MAX];
	const char *rel;
	ssize_t r;

	host_xkey(h, st, path, sizeof(path), &rel);
	if (op == HOST_XSET) {
		if (mkdirat(h->rootfd, HOST_XSTORE, 0700) < 0 && errno != EEXIST)
			return -errno;
		__atomic_store_n(&h->xstore, 2, __ATOMIC_RELAXED);
		int fd = openat(h->rootfd, rel, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC |
				O_NONBLOCK, 0600);
		if (fd < 0)
			return -errno;
		r = fsetxattr(fd, a->name, a->value, a->size, a->flags);
		r = r < 0 ? -errno : 0;
		close(fd);
		return r;
	}
	r = op == HOST_XGET ? lgetxattr(path, a->name, a->buf, a->size) :
			      lremovexattr(path, a->name);
	if (r < 0)
		return errno == ENOENT || errno == ENOTDIR ? -ENODATA : -errno;
	return r;
}

static ssize_t host_xattr(struct lyr_layer *l, const char *path, enum host_xop op,
			  const struct host_xargs *a)
{
	struct host_layer *h = host_of(l);
	char proc[PATH_MAX];
	const char *name;
	ssize_t r;
	int dfd, err;

	if (h->ro && (op == HOST_XSET || op == HOST_XREMOVE))
		return -EROFS;
	if ((err = host_check_names(path, false)))
		return err;
	if ((err = host_parent(h, path, &dfd, &name)))
		return err;
	if ((err = host_proc_path(dfd, name, proc, sizeof(proc))))
		goto out_put;
	/* A stored name of a symlink or special file: the store's.  Only the
	 * callers that know the entry is one use these names, so a file's or
	 * a directory's xattrs cost no stat. */
	if (op != HOST_XLIST && host_xstored_name(a->name)) {
		struct stat st;
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			r = -errno;
		else if (host_xstored(st.st_mode))
			r = host_xstore_op(h, &st, op, a);
		else
			goto inode;
		host_put(h, dfd);
		return r;
	}
inode:
	switch (op) {
	case HOST_XGET:
		r = lgetxattr(proc, a->name, a->buf, a->size);
		break;
	case HOST_XLIST:
		r = llistxattr(proc, a->buf, a->size);
		break;
	case HOST_XSET:
		r = lsetxattr(proc, a->name, a->value, a->size, a->flags);
		break;
	default:
		r = lremovexattr(proc, a->name);
		break;
	}
	host_put(h, dfd);
	return r < 0 ? -errno : r;
out_put:
	host_put(h, dfd);
	return err;
}

static ssize_t host_getxattr(struct lyr_layer *l, const char *path,
			     const char *name, void *buf, size_t size)
{
	return host_xattr(l, path, HOST_XGET,
			  &(struct host_xargs){ .name = name, .buf = buf, .size = size });
}

static ssize_t host_listxattr(struct lyr_layer *l, const char *path, char *buf,
			      size_t size)
{
	return host_xattr(l, path, HOST_XLIST,
			  &(struct host_xargs){ .buf = buf, .size = size });
}

static int host_setxattr(struct lyr_layer *l, const char *path, const char *name,
			 const void *value, size_t size, int flags)
{
	return (int)host_xattr(l, path, HOST_XSET,
			       &(struct host_xargs){ .name = name, .value = value,
						     .size = size, .flags = flags });
}

static int host_removexattr(struct lyr_layer *l, const char *path, const char *name)
{
	return (int)host_xattr(l, path, HOST_XREMOVE, &(struct host_xargs){ .name = name });
}

/* ---- tmpfiles -------------------------------------------------------- */

static int host_tmpfile(struct lyr_layer *l, const char *dir, mode_t mode)
{
	struct host_layer *h = host_of(l);
	const char *name;
	int dfd, fd, err;

	if (h->ro)
		return -EROFS;
	if ((err = host_check_names(dir, false)))
		return err;
	if ((err = host_parent(h, dir, &dfd, &name)))
		return err;
	fd = openat(dfd, name, O_TMPFILE | O_RDWR | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		fd = -errno;
		if (fd == -ELOOP)
			fd = -ENOTDIR;
		else if (fd == -EISDIR) /* a kernel or fs without O_TMPFILE */
			fd = -EOPNOTSUPP;
	}
	host_put(h, dfd);
	return fd;
}

/*
 * link_tmp (copy false) and link_copy (copy true): a copy-up links under
 * the lock, and only where no whiteout says the entry was deleted.
 */
static int host_link_fd(struct lyr_layer *l, int fd, const char *path, bool copy)
{
	struct host_layer *h = host_of(l);
	char proc[64], wh[NAME_MAX + 1];
	const char *name;
	int dfd, err, lk = -1;

	if (h->ro)
		return -EROFS;
	if (fd < 0)
		return -EBADF;
	if ((err = host_check_names(path, true)))
		return err;
	if ((err = host_parent(h, path, &dfd, &name)))
		return err;
	if (copy && !(err = host_wh_name(name, wh, sizeof(wh))) &&
	    (lk = host_lock(h)) < 0)
		err = lk;
	if (err)
		goto out;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (copy && faccessat(dfd, wh, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		err = -ENOENT;
	else if (linkat(AT_FDCWD, proc, dfd, name, AT_SYMLINK_FOLLOW) < 0)
		err = -errno;
	else if (!copy)
		host_unwhite(h, dfd, name, false);
	host_unlock(lk);
out:
	host_put(h, dfd);
	return err;
}

static int host_link_tmp(struct lyr_layer *l, int fd, const char *path)
{
	return host_link_fd(l, fd, path, false);
}

static int host_link_copy(struct lyr_layer *l, int fd, const char *path)
{
	return host_link_fd(l, fd, path, true);
}

/* ---- constructor ----------------------------------------------------- */

/*
 * fd_name (layer.h): the path the kernel knows for fd's file, when it is
 * below this directory and still names that file.
 */
static int host_fd_name(struct lyr_layer *l, int fd, char *buf, size_t size)
{
	struct host_layer *h = host_of(l);
	char root[PATH_MAX], link[PATH_MAX];
	struct stat a, b;
	ssize_t n;

	if (lyr_fd_path(h->rootfd, root, sizeof(root)) < 0 ||
	    lyr_fd_path(fd, link, sizeof(link)) < 0)
		return -ENOENT;
	n = (ssize_t)strlen(root);
	const char *rel = !strcmp(link, root) ? "" :
			  n == 1 ? link + 1 :
			  !strncmp(link, root, (size_t)n) && link[n] == '/' ? link + n + 1 : NULL;
	if (!rel || host_check_names(rel, false) ||
	    fstat(fd, &a) < 0 || fstatat(h->rootfd, *rel ? rel : ".", &b, AT_SYMLINK_NOFOLLOW) < 0 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return -ENOENT;
	if (strlen(rel) >= size)
		return -ERANGE;
	strcpy(buf, rel);
	return 0;
}

/* lock_fd (layer.h): .wh..wh..layerfs-lock.KEY at the root, made once. */
static int host_lock_fd(struct lyr_layer *l, uint64_t key)
{
	char name[sizeof(HOST_LOCK) + 16];

	snprintf(name, sizeof(name), HOST_LOCK "%016" PRIx64, key);
	int fd = openat(host_of(l)->rootfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
			0600);
	return fd < 0 ? -errno : fd;
}

static void host_destroy(struct lyr_layer *l)
{
	struct host_layer *h = host_of(l);

	host_cache_stop(h);
	lyr_fd_release(&h->rootfd);
	close(h->rootfd);
	free(h);
}

/*
 * The changes, as the ops table has them: each moves the change counter
 * once it is made, whatever its result (see "the upper's lookup cache").
 */
#define HOST_CHANGE(op, params, args) \
	static int op##_counted params \
	{ \
		int r = op args; \
		host_changed(host_of(l)); \
		return r; \
	}
HOST_CHANGE(host_mkdir, (struct lyr_layer *l, const char *path, mode_t mode), (l, path, mode))
HOST_CHANGE(host_mkdir_copy, (struct lyr_layer *l, const char *path, mode_t mode),
	    (l, path, mode))
HOST_CHANGE(host_mknod, (struct lyr_layer *l, const char *path, mode_t mode, dev_t dev),
	    (l, path, mode, dev))
HOST_CHANGE(host_symlink, (struct lyr_layer *l, const char *target, const char *path),
	    (l, target, path))
HOST_CHANGE(host_link, (struct lyr_layer *l, const char *from, const char *to), (l, from, to))
HOST_CHANGE(host_unlink, (struct lyr_layer *l, const char *path), (l, path))
HOST_CHANGE(host_rmdir, (struct lyr_layer *l, const char *path), (l, path))
HOST_CHANGE(host_rename, (struct lyr_layer *l, const char *from, const char *to, unsigned fl),
	    (l, from, to, fl))
HOST_CHANGE(host_chmod, (struct lyr_layer *l, const char *path, mode_t mode), (l, path, mode))
HOST_CHANGE(host_chown, (struct lyr_layer *l, const char *path, uid_t uid, gid_t gid),
	    (l, path, uid, gid))
HOST_CHANGE(host_utimens, (struct lyr_layer *l, const char *path, const struct timespec ts[2]),
	    (l, path, ts))
HOST_CHANGE(host_truncate, (struct lyr_layer *l, const char *path, off_t len), (l, path, len))
HOST_CHANGE(host_whiteout, (struct lyr_layer *l, const char *path), (l, path))
HOST_CHANGE(host_set_opaque, (struct lyr_layer *l, const char *path), (l, path))
HOST_CHANGE(host_setxattr, (struct lyr_layer *l, const char *path, const char *name,
			    const void *value, size_t size, int fl), (l, path, name, value, size, fl))
HOST_CHANGE(host_removexattr, (struct lyr_layer *l, const char *path, const char *name),
	    (l, path, name))
HOST_CHANGE(host_link_tmp, (struct lyr_layer *l, int fd, const char *path), (l, fd, path))
HOST_CHANGE(host_link_copy, (struct lyr_layer *l, int fd, const char *path), (l, fd, path))
HOST_CHANGE(host_lock_fd, (struct lyr_layer *l, uint64_t key), (l, key))

/* open: only a creation is a change. */
static int host_open_counted(struct lyr_layer *l, const char *path, int flags, mode_t mode)
{
	int r = host_open(l, path, flags, mode);

	if (flags & O_CREAT)
		host_changed(host_of(l));
	return r;
}

static const struct lyr_layer_ops host_ops = {
	.version = LYR_OPS_VERSION,
	.name = "host",
	.lookup = host_lookup,
	.open = host_open_counted,
	.readdir = host_readdir,
	.readlink = host_readlink,
	.mkdir = host_mkdir_counted,
	.mknod = host_mknod_counted,
	.symlink = host_symlink_counted,
	.link = host_link_counted,
	.unlink = host_unlink_counted,
	.rmdir = host_rmdir_counted,
	.rename = host_rename_counted,
	.chmod = host_chmod_counted,
	.chown = host_chown_counted,
	.utimens = host_utimens_counted,
	.truncate = host_truncate_counted,
	.whiteout = host_whiteout_counted,
	.set_opaque = host_set_opaque_counted,
	.statfs = host_statfs,
	.getxattr = host_getxattr,
	.listxattr = host_listxattr,
	.setxattr = host_setxattr_counted,
	.removexattr = host_removexattr_counted,
	.tmpfile = host_tmpfile,
	.link_tmp = host_link_tmp_counted,
	.link_copy = host_link_copy_counted,
	.mkdir_copy = host_mkdir_copy_counted,
	.destroy = host_destroy,
	.fd_name = host_fd_name,
	.lock_fd = host_lock_fd_counted,
};

/*
 * Opens dir as a layer (see layerfs.h).  The directory must exist and be
 * readable: -ENOENT, -ENOTDIR, -EACCES otherwise, with a message naming
 * dir in *err.  LYR_HOST_RDONLY makes every modification -EROFS;
 * LYR_HOST_UPPER caches lookups (see the top).
 */
int lyr_host_open(const char *dir, unsigned flags, struct lyr_layer **out,
		  struct lyr_error *err)
{
	struct host_layer *h;
	int fd;

	*out = NULL;
	if (!dir || !*dir)
		return lyr_seterr(err, ENOENT, "host directory: empty path");
	if (flags & ~(LYR_HOST_RDONLY | LYR_HOST_UPPER))
		return lyr_seterr(err, EINVAL, "%s: unknown host layer flags %#x",
				  dir, flags);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return lyr_seterr(err, errno, "%s: %s", dir, strerror(errno));
	h = calloc(1, sizeof(*h));
	if (!h) {
		close(fd);
		return lyr_seterr(err, ENOMEM, "%s: out of memory", dir);
	}
	h->base.ops = &host_ops;
	h->base.flags = (flags & LYR_HOST_RDONLY) ? LYR_LAYER_RDONLY : 0;
	h->ro = flags & LYR_HOST_RDONLY;
	h->rootfd = fd;
	lyr_fd_keep(&h->rootfd);
	if ((flags & LYR_HOST_UPPER) && !h->ro)
		host_cache_start(h);
	*out = &h->base;
	return 0;
}
