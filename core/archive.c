/* SPDX-License-Identifier: MIT */
/*
 * archive.c - an archive (any format libarchive reads) as a read-only
 * layer: lyr_archive_open() and the layer's operations.
 *
 * Divisions:
 *   1. the layer and its cache directory
 *   2. the index: map it, or build it once under a lock
 *   3. metadata: lookup, readdir, readlink, xattrs, statfs
 *   4. content: in-place copies and the extraction pass
 *   5. open
 *   6. ops table, constructor, introspection
 *
 * Cache layout, under <cache_dir>/<key>/ where key is the archive's
 * identity (st_dev, st_ino, st_size, st_mtim, st_ctim, a checksum of its
 * first and last blocks: archive_index.h) and the index version, in hex:
 *   index         the index (archive_index.h); only ever replaced whole,
 *                 by rename, so a mapping never sees it change; flock'ed
 *                 shared by every layer that maps it (section 2)
 *   index.lock    flock'ed while the index is built
 *   source        the archive's path when it was indexed; its mtime is
 *                 when the entry was last used (lyr_archive_mark_used)
 *   .tmp.*        temporaries (also in data/), flock'ed by their writer
 *   stream        a compressed tar's decompressed stream, written whole
 *                 on the first open of content (one pass, as extraction):
 *                 its members are then read in place, as in a plain tar.
 *                 Not made when the index has seek points (gzip, and xz,
 *                 zstd or bzip2 of several blocks or frames): a member is
 *                 then decoded from the archive, from the point before it
 *                 (archive_seek.c), straight into its memfd or data/N
 *   data/sK       the stream from seek point K to the next, written whole
 *                 when reading it out of order cost twice its size, its
 *                 big members punched out (section 4, arc_warm)
 *   data/N        content of the regular file with st_ino N + 1, mode
 *                 0555 (read-only; executable so that a program stored in
 *                 the archive can be run from it), linked into place complete
 *   extract.lock  flock'ed during the extraction pass
 *   extract.log   one line per extraction pass (tests count them)
 *   dirs/N        the directory the archive's directory entry N opens
 *                 as: empty, made on first use
 *   opened        one bit per entry, set when a small in-place member
 *                 (section 4) is first opened; then, with seek points, a
 *                 64-bit count per point of the bytes decoded to pass
 *                 over to members after them (arc_heat): shared, mapped
 *                 writable
 *
 * Choices: directories that only appear inside other names are 0755,
 * owner 0:0, with the archive file's mtime (also the root's, unless the
 * archive has a "./" entry); a 0-byte file is an empty archive (libarchive
 * reads it so); opening a fifo, socket or device gives -ENXIO, since no
 * real object backs it; directories report st_size 4096.  The archive
 * is refused when it is not a regular file.  Only the index header is
 * checked when mapping (that is what makes opening O(1)); every access to
 * the body is bounds-checked and a damaged body gives -EIO, never a crash.
 */
#define _GNU_SOURCE
#include "archive_index.h"
#include "archive_lib.h"
#include "sha256.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

/* ---- 1. the layer and its cache directory --------------------------- */

struct arc_layer {
	struct lyr_layer base;
	struct arc_index ix;
	int ix_fd;                /* the mapped index, flock'ed shared (section 2) */
	int arc_fd;               /* the archive: pread / copy_file_range only */
	int data_fd;              /* ARC_H_STREAM: the stream file; -1 until needed */
	int data_ready;           /* data_fd is set (atomic) */
	int key_fd;               /* O_PATH of <cache_dir>/<key>; -1 until needed */
	int key_ready;            /* key_fd is open (atomic) */
	pthread_mutex_t key_lock; /* opens key_fd */
	struct arc_ident ident;
	char *path;               /* the archive, for messages */
	char *key_dir;
	bool built;               /* this open built the index */
	atomic_uint extractions;  /* extraction passes run by this layer */
	atomic_uint tmp_seq;      /* makes temporary names unique */
	uint8_t *opened;          /* the mapped "opened" bits; NULL until needed */
	uint64_t *heat;           /* after them: per seek point, bytes passed */
	size_t opened_len;
	uint64_t stream_end;      /* end of the last in-place member; 0: not known */
	int opened_state;         /* 0 not tried, 1 mapped, -1 unavailable (atomic) */
	uint64_t serial;          /* tells layers apart in arc_memo */
};

static const struct lyr_layer_ops arc_ops;

static struct arc_layer *ARC(struct lyr_layer *l)
{
	return (struct arc_layer *)l;
}

/* The archive's cache subdirectory: al->key_dir (not created here). */
static int arc_key_dir(struct arc_layer *al, const struct lyr_archive_opts *opts,
		       struct lyr_error *err)
{
	char def[PATH_MAX];
	const char *dir = opts ? opts->cache_dir : NULL;
	int r;

	if (!dir) {
		if ((r = lyr_default_cache_dir(def, sizeof(def))))
			return lyr_seterr(err, r, "%s: no usable cache directory", al->path);
		dir = def;
	}
	char key[ARC_KEY_MAX];
	arc_key_name(&al->ident, key, sizeof(key));
	if (asprintf(&al->key_dir, "%s/%s", dir, key) < 0) {
		al->key_dir = NULL;
		return lyr_seterr(err, ENOMEM, "%s: out of memory", al->path);
	}
	return 0;
}

/* Opens key_fd, creating the cache directories as needed. */
static int arc_open_cache(struct arc_layer *al, struct lyr_error *err)
{
	int r;

	al->key_fd = open(al->key_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (al->key_fd >= 0)
		goto out_keep;
	/* the cache directory itself: key_dir up to its last '/' */
	char *dir = strndup(al->key_dir, (size_t)(strrchr(al->key_dir, '/') - al->key_dir));
	r = dir ? lyr_mkdirs(dir, 0700) : -ENOMEM;
	free(dir);
	if (!r && mkdir(al->key_dir, 0755) && errno != EEXIST)
		r = -errno;
	if (r)
		return lyr_seterr(err, r, "%s: cannot create cache directory %s: %s",
				  al->path, al->key_dir, strerror(-r));
	al->key_fd = open(al->key_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (al->key_fd < 0 && errno == ENOENT)
		return -ESTALE;	/* a prune took it at once: start again */
	if (al->key_fd < 0)
		return lyr_seterr(err, errno, "%s: cannot open cache directory %s: %s",
				  al->path, al->key_dir, strerror(errno));
out_keep:
	if ((r = lyr_fd_keep(&al->key_fd)))
		return lyr_seterr(err, r, "%s: out of memory", al->path);
	__atomic_store_n(&al->key_ready, 1, __ATOMIC_RELEASE);
	return 0;
}

/*
 * key_fd, opened on first use: a process that only looks names up (the
 * index was mapped through its path) never opens it.  0 or -errno.
 */
static int arc_key(struct arc_layer *al)
{
	int r = 0;

	if (__atomic_load_n(&al->key_ready, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&al->key_lock);
	if (!al->key_ready)
		r = arc_open_cache(al, NULL);
	pthread_mutex_unlock(&al->key_lock);
	return r;
}

static int arc_open_file(struct arc_layer *al, struct lyr_error *err)
{
	struct stat st;

	/* O_NONBLOCK: a FIFO must be refused, not waited on (on a regular
	 * file the flag changes nothing for pread, sendfile or
	 * copy_file_range). */
	al->arc_fd = open(al->path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (al->arc_fd < 0 || fstat(al->arc_fd, &st))
		return lyr_seterr(err, errno, "%s: %s", al->path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return lyr_seterr(err, EISDIR, "%s: is a directory, not an archive",
				  al->path);
	if (!S_ISREG(st.st_mode))
		return lyr_seterr(err, EINVAL, "%s: not a regular file", al->path);
	int r = arc_ident_read(al->arc_fd, &st, &al->ident);
	if (r)
		return lyr_seterr(err, -r, "%s: %s", al->path, strerror(-r));
	return lyr_fd_keep(&al->arc_fd);
}

/* ---- 2. the index ---------------------------------------------------- */

/*
 * Locking, with the cache's prune (cache.c), which removes an entry only
 * when it can take both the index and index.lock exclusively, without
 * waiting, and then, still holding them, renames the entry's directory
 * away and unlinks those two files before it lets go:
 * - every layer holds a shared flock on the index it maps, for its whole
 *   life (a fork shares it; the launcher holds one for the whole job);
 *   after taking it, a link count of 0 means a prune removed the index
 *   between the open and the lock: start again;
 * - a builder holds index.lock exclusively; after taking it, a link count
 *   of 0, or an entry directory that is no longer the one at key_dir,
 *   means the same;
 * - a temporary file is flock'ed exclusively by its writer until it is
 *   published (or removed), so that a prune removes only crash leftovers.
 * Whoever holds a lock on an entry can therefore trust that its directory
 * stays where it is.
 */
#define ARC_LOAD_TRIES 16

static int arc_flock(int fd, int op)
{
	while (flock(fd, op))
		if (errno != EINTR)
			return -errno;
	return 0;
}

/*
 * Maps dirfd/name (AT_FDCWD: a path) under a shared flock, kept in ix_fd
 * for the layer's life.  -ENOENT, -EBADMSG (unusable: rebuild it),
 * -ESTALE (removed by a prune: start again), or another -errno.
 */
static int arc_map_locked(struct arc_layer *al, int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	if ((r = arc_flock(fd, LOCK_SH)) || (r = arc_index_map(fd, &al->ident, &al->ix))) {
		close(fd);
		return r;
	}
	al->ix_fd = fd;
	if ((r = lyr_fd_keep(&al->ix_fd))) {
		arc_index_unmap(&al->ix);
		close(al->ix_fd);
		al->ix_fd = -1;
	}
	return r;
}

/*
 * A new temporary file dirfd/PREFIX.PID.TID.N of that mode, flock'ed
 * exclusively by the fd returned (its name in name): a prune removes only
 * temporaries it can lock, left by a crash.  Closing the fd releases it:
 * publish or unlink first.
 */
static int arc_tmp_create(struct arc_layer *al, int dirfd, const char *prefix, mode_t mode,
			  char *name, size_t size)
{
	struct stat st;

	for (int tries = 0; tries < ARC_LOAD_TRIES; tries++) {
		snprintf(name, size, "%s%d.%d.%u", prefix, getpid(), gettid(),
			 atomic_fetch_add(&al->tmp_seq, 1));
		int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd < 0)
			return -errno;
		if (!arc_flock(fd, LOCK_EX) && !fstat(fd, &st) && st.st_nlink > 0)
			return fd;
		close(fd);	/* removed between the open and the lock */
	}
	return -EAGAIN;
}

/* Records the archive's path in the entry, for `layerfs cache`. */
static void arc_write_source(struct arc_layer *al)
{
	int fd = openat(al->key_fd, ARC_ENTRY_SOURCE, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			0644);

	if (fd < 0)
		return;
	if (write(fd, al->path, strlen(al->path)) < 0) {
		/* only shown by `layerfs cache list`: nothing to do */
	}
	close(fd);
}

/*
 * An image's blob is what its manifest says: its sha256 is want (hex).
 * Checked before the index is built, so once per blob and cache: a blob
 * whose index is in the cache is the same file (its identity is the key).
 */
static int arc_check_digest(struct arc_layer *al, const char *want, struct lyr_error *err)
{
	char got[LYR_SHA256_HEX];
	int r = lyr_sha256_fd(al->arc_fd, got);

	if (r)
		return lyr_seterr(err, -r, "%s: cannot read it: %s", al->path, strerror(-r));
	if (strcmp(got, want))
		return lyr_seterr(err, EBADMSG, "%s: blob sha256:%s is damaged: its content's "
				  "digest is sha256:%s", al->path, want, got);
	return 0;
}

/* Builds the index into a temporary file and renames it into place. */
static int arc_build(struct arc_layer *al, const struct lyr_archive_opts *opts,
		     struct lyr_error *err)
{
	struct arc_src *src = calloc(1, sizeof(*src));
	char tmp[96];
	int fd, r;

	if (!src)
		return lyr_seterr(err, ENOMEM, "%s: out of memory", al->path);
	fd = arc_tmp_create(al, al->key_fd, ARC_TMP_PREFIX "index.", 0644, tmp, sizeof(tmp));
	if (fd < 0) {
		r = lyr_seterr(err, -fd, "%s: cannot write its index in %s: %s",
			       al->path, al->key_dir, strerror(-fd));
		goto out_free;
	}
	src->fd = al->arc_fd;
	src->size = (int64_t)al->ident.size;
	if (opts && opts->sha256 && (r = arc_check_digest(al, opts->sha256, err)))
		goto out_unlink;
	if ((r = arc_index_build(src, al->path, &al->ident, opts, fd, err)))
		goto out_unlink;
	if ((r = arc_index_map(fd, &al->ident, &al->ix))) {
		r = lyr_seterr(err, EIO, "%s: the index just written in %s is unusable",
			       al->path, al->key_dir);
		goto out_unlink;
	}
	if (renameat(al->key_fd, tmp, al->key_fd, ARC_ENTRY_INDEX)) {
		r = lyr_seterr(err, errno, "%s: cannot install its index in %s: %s",
			       al->path, al->key_dir, strerror(errno));
		arc_index_unmap(&al->ix);
		goto out_unlink;
	}
	/* From the writer's exclusive lock to the users' shared one. */
	arc_flock(fd, LOCK_SH);
	al->ix_fd = fd;
	if ((r = lyr_fd_keep(&al->ix_fd))) {
		arc_index_unmap(&al->ix);
		al->ix_fd = -1;
		close(fd);
		r = lyr_seterr(err, -r, "%s: out of memory", al->path);
		goto out_free;
	}
	al->built = true;
	arc_write_source(al);
	free(src);
	return 0;
out_unlink:
	unlinkat(al->key_fd, tmp, 0);
	close(fd);
out_free:
	free(src);
	return r;
}

/*
 * Opens key_fd on the entry (made if needed) and takes index.lock
 * exclusively; returns the lock's fd, or -ESTALE when a prune moved the
 * entry away meanwhile (start again).
 */
static int arc_lock_entry(struct arc_layer *al, struct lyr_error *err)
{
	struct stat a, b;
	int lock, r;

	if (al->key_fd >= 0) {	/* from a try that found the entry gone */
		lyr_fd_release(&al->key_fd);
		close(al->key_fd);
		al->key_fd = -1;
		al->key_ready = 0;
	}
	if ((r = arc_open_cache(al, err)))
		return r;
	lock = openat(al->key_fd, ARC_ENTRY_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lock < 0 && errno == ENOENT)
		return -ESTALE;
	if (lock < 0)
		return lyr_seterr(err, errno, "%s: cannot index it in %s: %s",
				  al->path, al->key_dir, strerror(errno));
	if ((r = arc_flock(lock, LOCK_EX))) {
		close(lock);
		return lyr_seterr(err, r, "%s: cannot lock %s/%s: %s", al->path,
				  al->key_dir, ARC_ENTRY_LOCK, strerror(-r));
	}
	if (fstat(lock, &a) || a.st_nlink == 0 || fstat(al->key_fd, &a) ||
	    stat(al->key_dir, &b) || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
		close(lock);
		return -ESTALE;
	}
	return lock;
}

/*
 * Maps the index, building it first when it is missing or unusable (only
 * then is key_fd opened here, and the cache directories made).  The build
 * runs under index.lock so that processes opening a new archive at once
 * wait for one builder instead of all building.  The common case costs
 * an open, a flock, an fstat and an mmap (plus keeping the fd).
 */
static int arc_load_index(struct arc_layer *al, const struct lyr_archive_opts *opts,
			  struct lyr_error *err)
{
	char *path;
	int lock, r = -ESTALE;

	if (asprintf(&path, "%s/%s", al->key_dir, ARC_ENTRY_INDEX) < 0)
		return lyr_seterr(err, ENOMEM, "%s: out of memory", al->path);
	for (int tries = 0; tries < ARC_LOAD_TRIES && r == -ESTALE; tries++) {
		if ((r = arc_map_locked(al, AT_FDCWD, path)) == 0 || r == -ESTALE)
			continue;
		if ((r = lock = arc_lock_entry(al, err)) < 0)
			continue;	/* -ESTALE: again; else the end */
		if ((r = arc_map_locked(al, al->key_fd, ARC_ENTRY_INDEX)))
			r = arc_build(al, opts, err);
		if (!r) {
			mkdirat(al->key_fd, "data", 0755);
			mkdirat(al->key_fd, "dirs", 0755);
		}
		close(lock); /* drops the lock */
	}
	free(path);
	if (r == -ESTALE)
		r = lyr_seterr(err, EAGAIN, "%s: its cache entry %s keeps being removed",
			       al->path, al->key_dir);
	return r;
}

/* ---- 3. metadata ----------------------------------------------------- */

/*
 * The components a thread's last walk went through, so that the next walk
 * sharing a prefix with it (find and ls ask for every name of one
 * directory in turn; a union resolves "a", "a/b", "a/b/c" one level at a
 * time) starts from the deepest shared directory instead of the root.  An
 * archive never changes, so the memo cannot go stale; serial tells layers
 * apart (a later layer may reuse an address).  ids[i] is what the first
 * ends[i] bytes of path resolve to, ends[i] being the end of a component.
 */
#define ARC_MEMO_MAX 512
#define ARC_MEMO_DEPTH 48
struct arc_memo {
	uint64_t serial;
	uint32_t n;                     /* components recorded */
	uint16_t ends[ARC_MEMO_DEPTH];
	uint32_t ids[ARC_MEMO_DEPTH];
	char path[ARC_MEMO_MAX];
};
static __thread struct arc_memo arc_memo;
static atomic_uint_fast64_t arc_serials;

/* The thread's memo: one TLS address computation per walk. */
static __attribute__((noinline)) struct arc_memo *arc_memo_get(void)
{
	return &arc_memo;
}

/* Length of the common prefix of a and b, at most n bytes. */
static size_t arc_same(const char *a, const char *b, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t x, y;
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			break;
	}
	while (i < n && a[i] == b[i])
		i++;
	return i;
}

/* Does memo component k (1-based) end where a component of path does? */
static bool arc_memo_at(const struct arc_memo *m, uint32_t k, const char *path,
			size_t len)
{
	size_t e = m->ends[k - 1];

	return (e == len || path[e] == '/') && !memcmp(m->path, path, e);
}

/*
 * How many of the memo's components path starts with.  Tried first: path
 * itself or its directory is in the memo (a union walking level by level;
 * find asking for each name of a directory).
 */
static uint32_t arc_memo_match(const struct arc_memo *m, const char *path, size_t len)
{
	uint32_t lo = 0, hi = m->n, k;

	while (lo < hi) { /* k: the components ending at or before len */
		uint32_t mid = (lo + hi) / 2;
		if (m->ends[mid] <= len)
			lo = mid + 1;
		else
			hi = mid;
	}
	k = lo;
	if (!k)
		return 0;
	if (arc_memo_at(m, k, path, len))
		return k;
	const char *slash = memrchr(path, '/', len);
	size_t dlen = slash ? (size_t)(slash - path) : 0;
	while (k && m->ends[k - 1] > dlen)
		k--;
	if (k && m->ends[k - 1] == dlen && !memcmp(m->path, path, dlen))
		return k;
	/* Anything else: the longest common prefix decides. */
	size_t same = k ? arc_same(m->path, path, m->ends[k - 1]) : 0;
	while (k && (m->ends[k - 1] > same ||
		     (m->ends[k - 1] < len && path[m->ends[k - 1]] != '/')))
		k--;
	return k;
}

/* A non-directory in the middle of a path: -ENOTDIR, but a whiteout
 * means the name is not there. */
static int arc_notdir(const struct arc_ent *x)
{
	return (x->flags & ARC_F_WHITEOUT) ? -ENOENT : -ENOTDIR;
}

/*
 * Finds the first len bytes of a layer path ("" is the root) in the index,
 * one arc_index_find per component and following nothing, starting from
 * the deepest directory of the memo that is a prefix of path, and records
 * the components it finds.  -ENOENT, -ENOTDIR (a non-directory in the
 * middle, or a trailing '/' after one), -ENAMETOOLONG, -EIO.
 */
static int arc_walk_memo(struct arc_layer *al, const char *path, size_t len,
			 uint32_t *id)
{
	const struct arc_index *ix = &al->ix;
	struct arc_memo *m = arc_memo_get();
	const char *p = path, *end = path + len;
	uint32_t cur = 0, n = 0;
	bool grew = false;
	int r = 0;

	if (m->serial == al->serial && m->n) {
		n = arc_memo_match(m, path, len);
		if (n) {
			cur = m->ids[n - 1];
			p = path + m->ends[n - 1];
		}
	} else {
		m->serial = al->serial;
		m->n = 0;
	}
	while (p < end) {
		if (*p == '/') {
			p++;
			if (p == end && !S_ISDIR(ix->ents[cur].mode))
				r = arc_notdir(&ix->ents[cur]);
			continue;
		}
		const char *q = memchr(p, '/', (size_t)(end - p));
		if (!q)
			q = end;
		if (q - p > NAME_MAX) {
			r = -ENAMETOOLONG;
			break;
		}
		if (!S_ISDIR(ix->ents[cur].mode)) {
			r = arc_notdir(&ix->ents[cur]);
			break;
		}
		if ((r = arc_index_find(ix, cur, p, (size_t)(q - p), &cur)))
			break;
		p = q;
		size_t e = (size_t)(q - path);
		grew = true;
		if (n < ARC_MEMO_DEPTH && e < ARC_MEMO_MAX) {
			size_t from = n ? m->ends[n - 1] : 0;
			memcpy(m->path + from, path + from, e - from);
			m->ends[n] = (uint16_t)e;
			m->ids[n++] = cur;
		}
	}
	/* A walk that stayed inside the memo keeps it whole: a union asks
	 * for "a" between "a/b/c/x" and "a/b/c/y". */
	if (grew)
		m->n = n;
	if (!r)
		*id = cur;
	return r;
}

/* Resolves path, a whiteout included; also checks the entry's inode
 * number is sane. */
static int arc_walk_wh(struct arc_layer *al, const char *path, size_t len, uint32_t *id)
{
	int r = arc_walk_memo(al, path, len, id);

	if (!r && al->ix.ents[*id].canon >= al->ix.nent)
		return -EIO;
	return r;
}

/* Resolves path to an entry of the view: a whiteout is -ENOENT. */
static int arc_walk(struct arc_layer *al, const char *path, size_t len, uint32_t *id)
{
	int r = arc_walk_wh(al, path, len, id);

	if (!r && (al->ix.ents[*id].flags & ARC_F_WHITEOUT))
		return -ENOENT;
	return r;
}

static void arc_fill_stat(const struct arc_layer *al, const struct arc_ent *x,
			  struct stat *st)
{
	/* As a disk filesystem with 4 KiB blocks reports it (du, ls -s);
	 * short symlinks live in the inode. */
	bool blocks = S_ISREG(x->mode) || S_ISDIR(x->mode) ||
		      (S_ISLNK(x->mode) && x->size >= 60);

	*st = (struct stat){
		.st_dev = (dev_t)al->ident.dev,
		.st_ino = (ino_t)x->canon + 1,
		.st_mode = x->mode,
		.st_nlink = x->nlink,
		.st_uid = x->uid,
		.st_gid = x->gid,
		.st_rdev = S_ISCHR(x->mode) || S_ISBLK(x->mode) ? (dev_t)x->data : 0,
		.st_size = (off_t)x->size,
		.st_blksize = 4096,
		.st_blocks = blocks ? (blkcnt_t)((x->size + 4095) / 4096 * 8) : 0,
		.st_atim = { x->atime, x->atime_ns },
		.st_mtim = { x->mtime, x->mtime_ns },
		.st_ctim = { x->ctime, x->ctime_ns },
	};
}

static int arc_lookup(struct lyr_layer *l, const char *path, struct stat *st,
		      unsigned *flags)
{
	struct arc_layer *al = ARC(l);
	uint32_t id;
	int r = arc_walk_wh(al, path, strlen(path), &id);

	if (r)
		return r;
	const struct arc_ent *x = &al->ix.ents[id];
	if (x->flags & ARC_F_WHITEOUT) {
		/* Without flags the caller asks what is there: nothing. */
		if (!flags)
			return -ENOENT;
		*flags = LYR_WHITEOUT;
		return 0;
	}
	if (flags)
		*flags = S_ISDIR(x->mode) && (x->flags & ARC_F_OPAQUE) ? LYR_OPAQUE : 0;
	if (st)
		arc_fill_stat(al, x, st);
	return 0;
}

/* Adds child k of a listing (room reserved), checking the index as it goes. */
static int arc_add_kid(struct arc_layer *al, uint32_t k, struct lyr_dirlist *out)
{
	const struct arc_index *ix = &al->ix;

	if (k >= ix->nent)
		return -EIO;
	const struct arc_ent *x = &ix->ents[k];
	if (x->name_len > NAME_MAX || !x->name_len || x->canon >= ix->nent ||
	    (uint64_t)x->name_off + x->name_len > ix->names_size)
		return -EIO;
	char *name = malloc((size_t)x->name_len + 1);
	if (!name)
		return -ENOMEM;
	memcpy(name, ix->names + x->name_off, x->name_len);
	name[x->name_len] = '\0';
	if (x->flags & ARC_F_WHITEOUT)
		out->ents[out->n++] = (struct lyr_dirent){ .ino = 0, .type = DT_WHT,
			.name = name };
	else
		out->ents[out->n++] = (struct lyr_dirent){ .ino = (uint64_t)x->canon + 1,
			.type = lyr_mode_to_dt(x->mode), .name = name };
	return 0;
}

static int arc_readdir(struct lyr_layer *l, const char *path, struct lyr_dirlist *out)
{
	struct arc_layer *al = ARC(l);
	const struct arc_ent *d;
	uint32_t id, first, count;
	int r;

	if ((r = arc_walk(al, path, strlen(path), &id)))
		return r;
	d = &al->ix.ents[id];
	if (!S_ISDIR(d->mode))
		return -ENOTDIR;
	first = (uint32_t)(d->data >> 32);
	count = (uint32_t)d->data;
	if ((uint64_t)first + count > al->ix.nkids || d->parent >= al->ix.nent)
		return -EIO;
	/* Room for every name at once: no growing while filling. */
	if (out->cap - out->n < (size_t)count + 2) {
		size_t cap = out->n + (size_t)count + 2;
		struct lyr_dirent *e = realloc(out->ents, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		out->ents = e;
		out->cap = cap;
	}
	if ((r = lyr_dirlist_add(out, ".", (uint64_t)id + 1, DT_DIR)) ||
	    (r = lyr_dirlist_add(out, "..", (uint64_t)d->parent + 1, DT_DIR)))
		goto out_free;
	for (uint32_t i = 0; i < count; i++)
		if ((r = arc_add_kid(al, al->ix.kids[first + i], out)))
			goto out_free;
	if (d->flags & ARC_F_OPAQUE)
		out->flags |= LYR_OPAQUE;
	return 0;
out_free:
	lyr_dirlist_free(out);
	return r;
}

static ssize_t arc_readlink(struct lyr_layer *l, const char *path, char *buf,
			    size_t size)
{
	struct arc_layer *al = ARC(l);
	const struct arc_ent *x;
	uint32_t id;
	int r;

	if (!size)
		return -EINVAL;
	if ((r = arc_walk(al, path, strlen(path), &id)))
		return r;
	x = &al->ix.ents[id];
	if (!S_ISLNK(x->mode))
		return -EINVAL;
	if (x->data > al->ix.names_size || x->size > al->ix.names_size - x->data)
		return -EIO;
	size_t n = x->size < size ? (size_t)x->size : size;
	memcpy(buf, al->ix.names + x->data, n);
	return (ssize_t)n;
}

/* An inode's xattr records: their count, start and end (bounds-checked). */
static int arc_xattrs(const struct arc_layer *al, const struct arc_ent *x,
		      uint32_t *count, const unsigned char **p,
		      const unsigned char **end)
{
	const struct arc_index *ix = &al->ix;

	*count = 0;
	if (!x->xattr)
		return 0;
	uint64_t off = (uint64_t)x->xattr - 1;
	if (off + sizeof(*count) > ix->xattr_size)
		return -EIO;
	memcpy(count, ix->xattrs + off, sizeof(*count));
	*p = ix->xattrs + off + sizeof(*count);
	*end = ix->xattrs + ix->xattr_size;
	return 0;
}

/* Steps over one record: its name and value; -EIO past the end. */
static int arc_xattr_next(const unsigned char **p, const unsigned char *end,
			  const char **name, uint32_t *nl, const void **val,
			  uint32_t *vl)
{
	if ((size_t)(end - *p) < 2 * sizeof(uint32_t))
		return -EIO;
	memcpy(nl, *p, sizeof(*nl));
	memcpy(vl, *p + sizeof(*nl), sizeof(*vl));
	*p += 2 * sizeof(uint32_t);
	if ((uint64_t)*nl + *vl > (uint64_t)(end - *p))
		return -EIO;
	*name = (const char *)*p;
	*val = *p + *nl;
	*p += (size_t)*nl + *vl;
	return 0;
}

static ssize_t arc_getxattr(struct lyr_layer *l, const char *path,
			    const char *name, void *buf, size_t size)
{
	struct arc_layer *al = ARC(l);
	const unsigned char *p = NULL, *end = NULL;
	const char *n;
	const void *v;
	uint32_t id, count, nl, vl;
	size_t want = strlen(name);
	int r;

	if ((r = arc_walk(al, path, strlen(path), &id)))
		return r;
	if (!want || want > 255)
		return -ERANGE;
	if ((r = arc_xattrs(al, &al->ix.ents[id], &count, &p, &end)))
		return r;
	for (uint32_t i = 0; i < count; i++) {
		if ((r = arc_xattr_next(&p, end, &n, &nl, &v, &vl)))
			return r;
		if (nl != want || memcmp(n, name, nl))
			continue;
		if (!size)
			return vl;
		if (vl > size)
			return -ERANGE;
		memcpy(buf, v, vl);
		return vl;
	}
	return -ENODATA;
}

static ssize_t arc_listxattr(struct lyr_layer *l, const char *path, char *buf,
			     size_t size)
{
	struct arc_layer *al = ARC(l);
	const unsigned char *p = NULL, *end = NULL, *start;
	const char *n;
	const void *v;
	uint32_t id, count, nl, vl;
	size_t total = 0;
	int r;

	if ((r = arc_walk(al, path, strlen(path), &id)))
		return r;
	if ((r = arc_xattrs(al, &al->ix.ents[id], &count, &p, &end)))
		return r;
	start = p;
	for (uint32_t i = 0; i < count; i++) {
		if ((r = arc_xattr_next(&p, end, &n, &nl, &v, &vl)))
			return r;
		total += (size_t)nl + 1;
	}
	if (!size)
		return (ssize_t)total;
	if (total > size)
		return -ERANGE;
	p = start;
	for (uint32_t i = 0; i < count; i++) {
		arc_xattr_next(&p, end, &n, &nl, &v, &vl);
		memcpy(buf, n, nl);
		buf[nl] = '\0';
		buf += nl + 1;
	}
	return (ssize_t)total;
}

/* Setting or removing an xattr: the name must exist, then read-only. */
static int arc_setxattr(struct lyr_layer *l, const char *path, const char *name,
			const void *value, size_t size, int flags)
{
	uint32_t id;
	int r = arc_walk(ARC(l), path, strlen(path), &id);

	(void)name, (void)value, (void)size, (void)flags;
	return r ? r : -EROFS;
}

static int arc_removexattr(struct lyr_layer *l, const char *path, const char *name)
{
	return arc_setxattr(l, path, name, NULL, 0, 0);
}

static int arc_statfs(struct lyr_layer *l, struct statvfs *sv)
{
	struct arc_layer *al = ARC(l);

	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = 4096;
	sv->f_frsize = 4096;
	sv->f_blocks = (fsblkcnt_t)((al->ident.size + 4095) / 4096);
	sv->f_files = al->ix.nent;
	sv->f_fsid = (unsigned long)al->ident.dev;
	sv->f_flag = ST_RDONLY;
	sv->f_namemax = NAME_MAX;
	return 0;
}

/* ---- 4. content ------------------------------------------------------ */

/* The largest member stored whole that is copied to a memfd on its first
 * open (see arc_open_small), and kept in a span written whole (arc_warm). */
#define ARC_SMALL_MAX 65536

/*
 * A new temporary file in data/, O_RDWR, mode 0555, its name in name, and
 * locked as arc_tmp_create says: publish it (or unlink it) before closing.
 */
static int arc_tmp_open(struct arc_layer *al, char *name, size_t size)
{
	int fd = arc_tmp_create(al, al->key_fd, "data/" ARC_TMP_PREFIX, 0555, name, size);

	if (fd == -ENOENT) {
		mkdirat(al->key_fd, "data", 0755);
		fd = arc_tmp_create(al, al->key_fd, "data/" ARC_TMP_PREFIX, 0555, name, size);
	}
	return fd;
}

/*
 * Gives the complete temporary file its final name, then removes the
 * temporary one; the caller closes the file after.  link(), not rename:
 * when another thread or process got there first its file stays, and
 * both are identical anyway.
 */
static int arc_tmp_publish(struct arc_layer *al, const char *tmp, const char *final)
{
	int r = linkat(al->key_fd, tmp, al->key_fd, final, 0) ? -errno : 0;

	unlinkat(al->key_fd, tmp, 0);
	return r == -EEXIST ? 0 : r;
}

/* Copies len bytes at off of in to the start of out (a new file): -EIO
 * when the archive ended early (it shrank). */
static int arc_copy_range(int in, uint64_t off, int out, uint64_t len)
{
	off_t copied;
	int r = lyr_copy_bytes(in, (off_t)off, out, 0, (off_t)len, &copied);

	return r ? r : (uint64_t)copied < len ? -EIO : 0;
}

static int arc_data(struct arc_layer *al, int *fd);
static void arc_heat(struct arc_layer *al, const struct arc_seek_cost *cost);
static int arc_fill_span(struct arc_layer *al, const struct arc_ent *x, int out);

/*
 * Copies the content of x, a member read in place, to the start of out:
 * from the span written whole that holds it (arc_warm), from the archive,
 * by decoding from a seek point (archive_seek.c), or from the stream file,
 * which is made first when needed.
 */
static int arc_fill(struct arc_layer *al, const struct arc_ent *x, int out)
{
	struct arc_seek_cost cost;
	int in = -1, r;

	if (!x->size)
		return 0;
	if (al->ix.nseek) {
		if (x->size <= ARC_SMALL_MAX && !arc_fill_span(al, x, out))
			return 0;
		r = arc_seek_copy(&al->ix, al->arc_fd, x->data, x->size, out, &cost);
		if (!r)
			arc_heat(al, &cost);
		if (r != -ENOSYS)
			return r;
		/* no codec library: libarchive decompresses the stream */
		if (ftruncate(out, 0))
			return -errno;
	}
	if ((r = arc_data(al, &in)))
		return r;
	return arc_copy_range(in, x->data, out, x->size);
}

/*
 * Materialises a file read in place (or an empty one) into final: from
 * span (a span written whole from stream offset lo on, not yet published)
 * when span >= 0, else as arc_fill reads it.
 */
static int arc_make_member(struct arc_layer *al, const struct arc_ent *x, const char *final,
			   int span, uint64_t lo)
{
	char tmp[96];
	int fd, r;

	if ((fd = arc_tmp_open(al, tmp, sizeof(tmp))) < 0)
		return fd;
	r = span >= 0 ? arc_seek_copy_span(&al->ix, span, lo, x->data, x->size, fd) :
			arc_fill(al, x, fd);
	if (r)
		unlinkat(al->key_fd, tmp, 0);
	else
		r = arc_tmp_publish(al, tmp, final);
	close(fd);
	return r;
}

static int arc_make_inplace(struct arc_layer *al, const struct arc_ent *x,
			    const char *final)
{
	return arc_make_member(al, x, final, -1, 0);
}

static int arc_pwrite_all(int fd, const char *p, size_t n, off_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, p, n, off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

/* Writes the current entry's data (holes stay holes) into data/<id>. */
static int arc_extract_one(struct arc_layer *al, struct archive *a,
			   struct archive_entry *e, uint32_t id)
{
	const struct arc_ent *x = &al->ix.ents[id];
	char tmp[96], final[32];
	uint64_t written = 0;
	const void *buf;
	size_t len;
	la_int64_t off;
	int fd, r;

	snprintf(final, sizeof(final), "data/%u", id);
	if (!faccessat(al->key_fd, final, F_OK, 0))
		return 0;
	if ((fd = arc_tmp_open(al, tmp, sizeof(tmp))) < 0)
		return fd;
	while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK ||
	       r == ARCHIVE_WARN) {
		if (off < 0 || (uint64_t)off + len > x->size) {
			r = -EIO;
			goto out_unlink;
		}
		if ((r = arc_pwrite_all(fd, buf, len, (off_t)off)))
			goto out_unlink;
		written += len;
	}
	if (r != ARCHIVE_EOF ||
	    (!archive_entry_sparse_count(e) && written != x->size)) {
		r = -EIO;
		goto out_unlink;
	}
	if (ftruncate(fd, (off_t)x->size)) {
		r = -errno;
		goto out_unlink;
	}
	r = arc_tmp_publish(al, tmp, final);
	close(fd);
	return r;
out_unlink:
	unlinkat(al->key_fd, tmp, 0);
	close(fd);
	return r;
}

struct arc_job {
	uint64_t seq; /* header number holding the data */
	uint32_t id;  /* the inode it belongs to */
};

static int arc_job_cmp(const void *a, const void *b)
{
	const struct arc_job *x = a, *y = b;

	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Every file that is not read in place, by header number. */
static struct arc_job *arc_jobs(const struct arc_layer *al, size_t *n)
{
	const struct arc_index *ix = &al->ix;
	struct arc_job *jobs = malloc((ix->hdr->nextract + 1) * sizeof(*jobs));
	size_t k = 0;

	if (!jobs)
		return NULL;
	for (uint32_t i = 0; i < ix->nent && k < ix->hdr->nextract; i++) {
		const struct arc_ent *x = &ix->ents[i];
		if (x->canon == i && S_ISREG(x->mode) && x->size &&
		    !(x->flags & ARC_F_INPLACE))
			jobs[k++] = (struct arc_job){ x->data, i };
	}
	qsort(jobs, k, sizeof(*jobs), arc_job_cmp);
	*n = k;
	return jobs;
}

/*
 * Progress of a pass over the whole archive (the stream of a compressed
 * tar without seek points, the extraction of other compressed formats):
 * "layerfs: decompressing PATH: 45%" on stderr, when stderr is a terminal
 * and the pass has run ARC_PASS_QUIET seconds, redrawn at most twice a
 * second; never on anything else (what programs write is compared).
 */
#define ARC_PASS_QUIET 2.0

struct arc_pass {
	const char *path;
	struct timespec start, last;
	bool shown;
};

static double arc_secs(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void arc_pass_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void arc_pass_say(const char *fmt, ...)
{
	char buf[PATH_MAX + 128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 && write(2, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1) < 0)
		return; /* nothing to do */
}

static void arc_pass_cb(void *ctx, uint64_t entries, uint64_t done, uint64_t total)
{
	struct arc_pass *p = ctx;
	struct timespec now;

	(void)entries;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (arc_secs(&p->start, &now) < ARC_PASS_QUIET ||
	    (p->shown && arc_secs(&p->last, &now) < 0.5) || !total)
		return;
	p->last = now;
	p->shown = true;
	arc_pass_say("\rlayerfs: decompressing %s: %d%%\033[K", p->path,
		     (int)(done >= total ? 100 : done * 100 / total));
}

/* Sets src up to report p's progress, when stderr is a terminal. */
static void arc_pass_begin(struct arc_pass *p, struct arc_layer *al, struct arc_src *src)
{
	*p = (struct arc_pass){ .path = al->path };
	if (!isatty(2))
		return;
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	src->progress = arc_pass_cb;
	src->progress_ctx = p;
}

static void arc_pass_end(const struct arc_pass *p, int r)
{
	if (p->shown)
		arc_pass_say("\rlayerfs: decompressing %s: %s\033[K\n", p->path,
			     r ? "failed" : "done");
}

/* One sequential pass over the archive writing every job's data. */
static int arc_extract_pass(struct arc_layer *al)
{
	struct arc_src *src = calloc(1, sizeof(*src));
	struct archive_entry *e;
	struct archive *a = NULL;
	struct arc_job *jobs = NULL;
	struct arc_pass pass = { 0 };
	size_t n = 0, k = 0;
	int r = -ENOMEM;

	if (!src || !(jobs = arc_jobs(al, &n)))
		goto out_free;
	src->fd = al->arc_fd;
	src->size = (int64_t)al->ident.size;
	arc_pass_begin(&pass, al, src);
	if (!(a = arc_reader_open(src, al->path, NULL, &r)))
		goto out_free;
	r = 0;
	for (uint64_t seq = 0; k < n && !r; seq++) {
		int ar = archive_read_next_header(a, &e);
		if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
			r = -EIO; /* the archive changed, or its data is bad */
			break;
		}
		if (jobs[k].seq == seq)
			r = arc_extract_one(al, a, e, jobs[k++].id);
	}
	if (!r && k < n)
		r = -EIO;
out_free:
	arc_pass_end(&pass, r);
	if (a)
		archive_read_free(a);
	free(jobs);
	free(src);
	return r;
}

static void arc_log_pass(struct arc_layer *al)
{
	static const char line[] = "extracted\n";
	int fd = openat(al->key_fd, "extract.log",
			O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		return;
	if (write(fd, line, sizeof(line) - 1) < 0) {
		/* only evidence for tests: nothing to do */
	}
	close(fd);
}

/* The decompressed stream of a compressed tar, written whole to fd. */
static int arc_stream_pass(struct arc_layer *al, int fd)
{
	struct arc_src *src = calloc(1, sizeof(*src));
	struct archive_entry *e;
	struct archive *a = NULL;
	const void *buf;
	size_t len;
	la_int64_t off;
	struct arc_pass pass = { 0 };
	int r = -ENOMEM;

	if (!src)
		goto out;
	src->fd = al->arc_fd;
	src->size = (int64_t)al->ident.size;
	arc_pass_begin(&pass, al, src);
	if (!(a = arc_raw_open(src, al->path, &r)))
		goto out;
	r = archive_read_next_header(a, &e);
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
		r = -EIO;
		goto out;
	}
	while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK ||
	       r == ARCHIVE_WARN)
		if (off < 0 || (r = arc_pwrite_all(fd, buf, len, (off_t)off)))
			goto out;
	r = r == ARCHIVE_EOF ? 0 : -EIO; /* the archive changed, or is bad */
out:
	arc_pass_end(&pass, r);
	if (a)
		archive_read_free(a);
	free(src);
	return r;
}

/*
 * Runs pass (the extraction of the files not read in place, or the
 * decompression of the stream) once, unless some process already did:
 * want, the file asked for, exists.  The flock makes it once across
 * processes and threads.  It costs a pass over the whole archive, so it
 * does all of its work at once.
 */
static int arc_once(struct arc_layer *al, const char *want, bool stream)
{
	int lock = openat(al->key_fd, "extract.lock", O_RDWR | O_CREAT | O_CLOEXEC,
			  0644);
	char tmp[96];
	int fd, r;

	if (lock < 0)
		return -errno;
	if ((r = arc_flock(lock, LOCK_EX)))
		goto out_close;
	if (!faccessat(al->key_fd, want, F_OK, 0))
		goto out_close;
	if (!stream) {
		r = arc_extract_pass(al);
	} else if ((r = fd = arc_tmp_open(al, tmp, sizeof(tmp))) >= 0) {
		r = arc_stream_pass(al, fd);
		if (r)
			unlinkat(al->key_fd, tmp, 0);
		else
			r = arc_tmp_publish(al, tmp, want);
		close(fd);
	}
	if (!r) {
		atomic_fetch_add(&al->extractions, 1);
		arc_log_pass(al);
	}
out_close:
	close(lock);
	return r;
}

/*
 * The fd in-place data is read from: the archive, or its stream file.
 * (Each is a kept fd of its own, which the shim may move: read it anew.)
 */
static int arc_data(struct arc_layer *al, int *fd)
{
	int r, nfd;

	if (!(al->ix.hdr->flags & ARC_H_STREAM)) {
		*fd = al->arc_fd;
		return 0;
	}
	if (__atomic_load_n(&al->data_ready, __ATOMIC_ACQUIRE)) {
		*fd = al->data_fd;
		return 0;
	}
	if ((r = arc_key(al)))
		return r;
	nfd = openat(al->key_fd, "stream", O_RDONLY | O_CLOEXEC);
	if (nfd < 0 && errno == ENOENT && !(r = arc_once(al, "stream", true)))
		nfd = openat(al->key_fd, "stream", O_RDONLY | O_CLOEXEC);
	if (nfd < 0)
		return r ? r : -errno;
	pthread_mutex_lock(&al->key_lock);
	if (!__atomic_load_n(&al->data_ready, __ATOMIC_ACQUIRE)) {
		al->data_fd = nfd;
		if ((r = lyr_fd_keep(&al->data_fd)) == 0)
			__atomic_store_n(&al->data_ready, 1, __ATOMIC_RELEASE);
		else
			al->data_fd = -1;
		nfd = -1;
	}
	pthread_mutex_unlock(&al->key_lock);
	if (nfd >= 0)
		close(nfd); /* another thread got there first */
	*fd = al->data_fd;
	return r;
}

/*
 * A small member stored whole in a tar (the file, or its decompressed
 * stream) is copied into a sealed memfd the first time it is opened:
 * creating a cache file costs more than that copy (a file system journals
 * the new inode), and most members are read once.  A member opened again, by this process or any
 * other, gets a cache file like every other member, so from then on an
 * open is a single openat.  Which members were opened is kept in the
 * cache's "opened" file, one bit per entry, mapped shared.  Without it (a
 * read-only cache) every open takes the memfd.
 */

/* The "opened" bits, mapped on first use: true when they are. */
static bool arc_opened_map(struct arc_layer *al)
{
	int state = __atomic_load_n(&al->opened_state, __ATOMIC_ACQUIRE);
	size_t bits = ((size_t)al->ix.nent + 7) / 8, heat_at = (bits + 7) & ~(size_t)7;
	size_t len = al->ix.nseek ? heat_at + (size_t)al->ix.nseek * sizeof(uint64_t) : bits;
	bool key_ok;
	struct stat st;
	void *p;
	int fd;

	if (state)
		return state > 0;
	key_ok = !arc_key(al);
	pthread_mutex_lock(&al->key_lock);
	if (!__atomic_load_n(&al->opened_state, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&al->opened_state, -1, __ATOMIC_RELEASE);
		fd = !key_ok ? -1 : openat(al->key_fd, "opened", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0 && !fstat(fd, &st) &&
		    ((size_t)st.st_size >= len || !ftruncate(fd, (off_t)len)) &&
		    (p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) != MAP_FAILED) {
			al->opened = p;
			al->opened_len = len;
			if (al->ix.nseek)
				al->heat = (uint64_t *)((uint8_t *)p + heat_at);
			__atomic_store_n(&al->opened_state, 1, __ATOMIC_RELEASE);
		}
		if (fd >= 0)
			close(fd);
	}
	state = __atomic_load_n(&al->opened_state, __ATOMIC_ACQUIRE);
	pthread_mutex_unlock(&al->key_lock);
	return state > 0;
}

/* Marks entry id opened: true when it already was. */
static bool arc_opened_before(struct arc_layer *al, uint32_t id)
{
	uint8_t bit = (uint8_t)(1u << (id & 7));

	if (!arc_opened_map(al))
		return false;
	return __atomic_fetch_or(&al->opened[id >> 3], bit, __ATOMIC_RELAXED) & bit;
}

/*
 * A compressed tar read out of its order.  A member is decoded from the
 * seek point before it, so reading the members of one span (the stream
 * between two points: an xz block or zstd frame of tens of MiB, where the
 * archive was compressed with threads) in another order than the
 * archive's decodes the span again and again: reading a tar made in
 * directory order by name (find, a build reading headers) decoded many
 * times the whole stream.  So the bytes each read passes over are counted
 * per point, by every process (arc_heat, in the "opened" file); once a
 * span has cost twice its size, the process that finds it so writes the
 * span whole, once (arc_warm): data/sK, the stream from point K to the
 * next, where each big member (above ARC_SMALL_MAX), and each member
 * not held whole in the span, is a hole; a big one held whole goes to its
 * own data/N from it.  The small members of the span are then copied
 * from it (arc_fill_span), checked against their CRC-32, with no
 * decoding; the cache holds no byte twice, and packs small members
 * tighter than a tree of files.  Reading a span in order, or seldom,
 * never writes it; reading it all out of order costs at most three
 * decodings of it.
 */
#define ARC_HEAT_WARM (1ull << 63)	/* the span is (being) written whole */

static int arc_cmp_data(const void *a, const void *b, void *arg)
{
	const struct arc_ent *e = arg;
	uint64_t x = e[*(const uint32_t *)a].data, y = e[*(const uint32_t *)b].data;

	return x < y ? -1 : x > y;
}

/* The in-place regular members whose content meets [lo, hi), by their
 * place in the stream; their number, or 0 (*out NULL). */
static size_t arc_span_members(const struct arc_layer *al, uint64_t lo, uint64_t hi,
			       uint32_t **out)
{
	const struct arc_ent *e = al->ix.ents;
	size_t n = 0, cap = 0;
	uint32_t *v = NULL;

	for (uint32_t id = 0; id < al->ix.nent; id++) {
		const struct arc_ent *x = &e[id];
		if (!S_ISREG(x->mode) || !(x->flags & ARC_F_INPLACE) || x->canon != id ||
		    !x->size || x->data >= hi || x->data + x->size <= lo)
			continue;
		if (n == cap) {
			uint32_t *nv = realloc(v, (cap = cap ? 2 * cap : 256) * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		v[n++] = id;
	}
	if (n)
		qsort_r(v, n, sizeof(*v), arc_cmp_data, (void *)e);
	*out = v;
	return n;
}

/* Makes [from, to) of span file fd (offsets in the stream) a hole. */
static int arc_punch(int fd, uint64_t lo, uint64_t from, uint64_t to)
{
	if (from >= to)
		return 0;
	return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(from - lo),
			 (off_t)(to - from)) ? -errno : 0;
}

/* The end of the stream's last in-place member: where the last span ends. */
static uint64_t arc_stream_end(struct arc_layer *al)
{
	uint64_t end = __atomic_load_n(&al->stream_end, __ATOMIC_RELAXED);

	if (end)
		return end;
	for (uint32_t id = 0; id < al->ix.nent; id++) {
		const struct arc_ent *x = &al->ix.ents[id];
		if (S_ISREG(x->mode) && (x->flags & ARC_F_INPLACE) && x->data + x->size > end)
			end = x->data + x->size;
	}
	__atomic_store_n(&al->stream_end, end ? end : 1, __ATOMIC_RELAXED);
	return end;
}

/* Where span k ends. */
static uint64_t arc_span_end(struct arc_layer *al, uint64_t k)
{
	return k + 1 < al->ix.nseek ? al->ix.seeks[k + 1].out : arc_stream_end(al);
}

/* Writes span k, [lo, hi) of the stream, whole: see above.  Best effort:
 * on any failure nothing is published, and reads decode as before. */
static void arc_warm(struct arc_layer *al, uint64_t k, uint64_t hi)
{
	uint64_t lo = al->ix.seeks[k].out;
	char tmp[96], final[40];
	uint32_t *ids = NULL;
	uint64_t kept = lo;	/* where the last small member held whole ends */
	int fd, r;

	if ((fd = arc_tmp_open(al, tmp, sizeof(tmp))) < 0)
		return;
	r = arc_seek_copy(&al->ix, al->arc_fd, lo, hi - lo, fd, NULL);
	size_t n = r ? 0 : arc_span_members(al, lo, hi, &ids);
	for (size_t i = 0; !r && i < n; i++) {
		const struct arc_ent *x = &al->ix.ents[ids[i]];
		if (x->data < lo || x->data + x->size > hi)
			continue;	/* not held whole: a hole */
		if (x->size > ARC_SMALL_MAX) {	/* to data/N, then a hole */
			snprintf(final, sizeof(final), "data/%u", ids[i]);
			if (faccessat(al->key_fd, final, F_OK, 0) && errno == ENOENT)
				r = arc_make_member(al, x, final, fd, lo);
			continue;
		}
		/* What lies between two small members (tar headers, big
		 * members, parts of members it does not hold whole) is a hole. */
		r = arc_punch(fd, lo, kept, x->data);
		kept = x->data + x->size;
	}
	if (!r)
		r = arc_punch(fd, lo, kept, hi);
	free(ids);
	snprintf(final, sizeof(final), "data/s%" PRIu64, k);
	if (r || kept == lo)	/* a failure, or no small member: nothing to keep */
		unlinkat(al->key_fd, tmp, 0);
	else
		arc_tmp_publish(al, tmp, final);
	close(fd);
}

/* Copies small member x from the span written whole that holds it: 0, or
 * -ENOENT when there is none (or it is unusable: then x is decoded). */
static int arc_fill_span(struct arc_layer *al, const struct arc_ent *x, int out)
{
	uint64_t k = arc_seek_point(&al->ix, x->data);
	char name[40];
	int fd, r;

	if (k >= al->ix.nseek || !arc_opened_map(al) || !al->heat ||
	    !(__atomic_load_n(&al->heat[k], __ATOMIC_RELAXED) & ARC_HEAT_WARM) ||
	    x->data + x->size > arc_span_end(al, k))
		return -ENOENT;
	snprintf(name, sizeof(name), "data/s%" PRIu64, k);
	if ((fd = openat(al->key_fd, name, O_RDONLY | O_CLOEXEC)) < 0)
		return -ENOENT;
	r = arc_seek_copy_span(&al->ix, fd, al->ix.seeks[k].out, x->data, x->size, out);
	close(fd);
	if (r && ftruncate(out, 0))
		return -errno;
	return r ? -ENOENT : 0;
}

/* Counts what a read passed over in its span; writes the span whole once
 * that is twice the span's size. */
static void arc_heat(struct arc_layer *al, const struct arc_seek_cost *cost)
{
	uint64_t k = cost->k;

	if (!cost->passed || k >= al->ix.nseek || !arc_opened_map(al) || !al->heat)
		return;
	uint64_t lo = al->ix.seeks[k].out, hi = arc_span_end(al, k);
	if (hi <= lo)
		return;
	uint64_t h = __atomic_add_fetch(&al->heat[k], cost->passed, __ATOMIC_RELAXED);
	if ((h & ARC_HEAT_WARM) || h < 2 * (hi - lo))
		return;
	if (__atomic_fetch_or(&al->heat[k], ARC_HEAT_WARM, __ATOMIC_RELAXED) & ARC_HEAT_WARM)
		return;	/* another thread or process does it */
	arc_warm(al, k, hi);
}

/*
 * The name of the memfd that holds member id: "layerfs:KEY:ID", KEY a
 * hash of the cache key, so that fd_name can tell which member a memfd
 * holds, in whichever process opened it.
 */
static void arc_memfd_name(const struct arc_layer *al, uint32_t id, char *buf, size_t size)
{
	const char *key = strrchr(al->key_dir, '/');
	uint64_t h = 14695981039346656037ull;

	for (const char *p = key ? key + 1 : al->key_dir; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	snprintf(buf, size, "layerfs:%016" PRIx64 ":%u", h, id);
}

/*
 * The memfd: sealed, so nothing can change it, and reopened read-only, as
 * a cache file would be opened (mode 0555 as one).  -EAGAIN when this way
 * is not available (then the cache file is used).
 */
static int arc_open_small(struct arc_layer *al, const struct arc_ent *x, int oflags)
{
	char proc[40];
	int mfd, fd, r = 0;

	if (oflags & O_DIRECT)
		return -EAGAIN;
	char name[64];
	arc_memfd_name(al, (uint32_t)(x - al->ix.ents), name, sizeof(name));
	mfd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		return -EAGAIN;
	r = arc_fill(al, x, mfd);
	/* 0555, as a cache file: read-only, and a program can run. */
	if (!r && (fchmod(mfd, 0555) < 0 ||
		   fcntl(mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW |
			 F_SEAL_WRITE) < 0))
		r = -EAGAIN;
	if (r) {
		close(mfd);
		return r;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", mfd);
	fd = open(proc, (oflags & ~O_NOFOLLOW) | O_RDONLY);
	if (fd < 0)
		fd = errno == ENOENT ? -EAGAIN : -errno; /* no /proc */
	close(mfd);
	return fd;
}

/* A real read-only fd on the content of regular inode id. */
static int arc_open_data(struct arc_layer *al, uint32_t id, int oflags)
{
	const struct arc_ent *x = &al->ix.ents[id];
	char final[32];
	int fd, r;

	oflags |= O_RDONLY | O_CLOEXEC | O_NOFOLLOW;
	if ((x->flags & ARC_F_INPLACE) && x->size <= ARC_SMALL_MAX &&
	    !arc_opened_before(al, id) && (fd = arc_open_small(al, x, oflags)) != -EAGAIN)
		return fd;
	if ((r = arc_key(al)))
		return r;
	snprintf(final, sizeof(final), "data/%u", id);
	fd = openat(al->key_fd, final, oflags);
	if (fd >= 0 || errno != ENOENT)
		return fd >= 0 ? fd : -errno;
	if ((x->flags & ARC_F_INPLACE) || !x->size)
		r = arc_make_inplace(al, x, final);
	else
		r = arc_once(al, final, false);
	if (r)
		return r;
	fd = openat(al->key_fd, final, oflags);
	return fd >= 0 ? fd : -errno;
}

/*
 * Directory entry id opens as an empty directory of its own in the cache,
 * dirs/ID (no kernel inode is the archive's): fd_name can then tell which
 * directory an fd is, in any process (through another's /proc/PID/fd/N).
 */
static int arc_open_dir(struct arc_layer *al, uint32_t id, int oflags)
{
	char name[32];
	int fd;

	if ((fd = arc_key(al)))
		return fd;
	snprintf(name, sizeof(name), "dirs/%" PRIu32, id);
	oflags |= O_RDONLY | O_DIRECTORY | O_CLOEXEC;
	fd = openat(al->key_fd, name, oflags);
	if (fd < 0 && errno == ENOENT) {
		mkdirat(al->key_fd, "dirs", 0755);
		mkdirat(al->key_fd, name, 0555);
		fd = openat(al->key_fd, name, oflags);
	}
	return fd < 0 ? -errno : fd;
}

/*
 * open(link, O_PATH | O_NOFOLLOW) gives an fd of the link itself: an empty
 * memfd named as entry id's, reopened O_PATH, which fd_name can tell.
 */
static int arc_open_link(const struct arc_layer *al, uint32_t id)
{
	char name[64], proc[40];

	arc_memfd_name(al, id, name, sizeof(name));
	int m = memfd_create(name, MFD_CLOEXEC);
	if (m < 0)
		return -errno;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", m);
	int fd = open(proc, O_PATH | O_CLOEXEC);
	int err = errno;
	close(m);
	return fd < 0 ? -err : fd;
}

/* ---- 5. open --------------------------------------------------------- */

/* O_CREAT of a missing name: EROFS once its directory is known to exist. */
static int arc_open_missing(struct arc_layer *al, const char *path)
{
	const char *slash = strrchr(path, '/');
	uint32_t dir;
	int r;

	if (!slash)
		return -EROFS;
	if ((r = arc_walk(al, path, (size_t)(slash - path), &dir)))
		return r;
	return S_ISDIR(al->ix.ents[dir].mode) ? -EROFS : -ENOTDIR;
}

/* Linux's checks for an existing entry, in Linux's order. */
static int arc_open_check(const struct arc_ent *x, int flags)
{
	bool write = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);

	if ((flags & O_PATH) == 0) {
		if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
			return -EEXIST;
		if ((flags & O_CREAT) && S_ISDIR(x->mode))
			return -EISDIR;
	}
	if ((flags & O_DIRECTORY) && !S_ISDIR(x->mode))
		return -ENOTDIR;
	if (S_ISLNK(x->mode))
		return -ELOOP;
	if ((flags & O_PATH) == 0 && write)
		return S_ISDIR(x->mode) ? -EISDIR : S_ISREG(x->mode) ? -EROFS : -ENXIO;
	if (!S_ISDIR(x->mode) && !S_ISREG(x->mode))
		return -ENXIO;
	return 0;
}

static int arc_open(struct lyr_layer *l, const char *path, int flags, mode_t mode)
{
	struct arc_layer *al = ARC(l);
	uint32_t id;
	int r, keep;

	(void)mode;
	/* flag combinations Linux refuses before any lookup (O_CREAT |
	 * O_DIRECTORY: the dispatcher's) */
	if ((flags & O_TMPFILE) == O_TMPFILE && (flags & O_ACCMODE) == O_RDONLY)
		return -EINVAL;
	if ((flags & O_TMPFILE) == O_TMPFILE) {
		if ((r = arc_walk(al, path, strlen(path), &id)))
			return r;
		return S_ISDIR(al->ix.ents[id].mode) ? -EROFS : -ENOTDIR;
	}
	r = arc_walk(al, path, strlen(path), &id);
	if (r == -ENOENT && (flags & (O_CREAT | O_PATH)) == O_CREAT)
		return arc_open_missing(al, path);
	if (r)
		return r;
	const struct arc_ent *x = &al->ix.ents[id];
	if ((r = arc_open_check(x, flags)) == -ELOOP &&
	    (flags & (O_PATH | O_NOFOLLOW)) == (O_PATH | O_NOFOLLOW))
		return arc_open_link(al, id);
	if (r)
		return r;
	keep = flags & (O_PATH | O_NONBLOCK);
	if (S_ISDIR(x->mode))
		return arc_open_dir(al, id, keep & O_PATH);
	return arc_open_data(al, x->canon, keep);
}

/* The layer path of entry id, its first name, into buf. */
static int arc_ent_path(const struct arc_index *ix, uint32_t id, char *buf, size_t size)
{
	char tmp[PATH_MAX];
	size_t pos = sizeof(tmp) - 1;

	tmp[pos] = '\0';
	for (unsigned depth = 0; id != 0; depth++) {
		if (id >= ix->nent || depth > PATH_MAX / 2)
			return -EIO;
		const struct arc_ent *x = &ix->ents[id];
		if ((uint64_t)x->name_off + x->name_len > ix->names_size ||
		    (size_t)x->name_len + 1 > pos)
			return -EIO;
		if (pos < sizeof(tmp) - 1)
			tmp[--pos] = '/';
		pos -= x->name_len;
		memcpy(tmp + pos, ix->names + x->name_off, x->name_len);
		id = x->parent;
	}
	if (sizeof(tmp) - pos > size)
		return -ERANGE;
	memcpy(buf, tmp + pos, sizeof(tmp) - pos);
	return 0;
}

/*
 * fd_name (layer.h): a cache file data/ID, a directory dirs/ID, or the
 * memfd of member ID (a file's content, a link's O_PATH fd) is entry ID.
 */
static int arc_fd_name(struct lyr_layer *l, int fd, char *buf, size_t size)
{
	struct arc_layer *al = ARC(l);
	char link[PATH_MAX], key[PATH_MAX], mine[64];
	const char *num = NULL;
	size_t n;

	if (lyr_fd_path(fd, link, sizeof(link)) < 0) {
		/* A memfd: "/memfd:NAME (deleted)". */
		char proc[32];
		ssize_t k;
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if ((k = readlink(proc, link, sizeof(link) - 1)) < 0)
			return -ENOENT;
		link[k] = '\0';
		arc_memfd_name(al, 0, mine, sizeof(mine));
		n = strlen(mine) - 1; /* "layerfs:KEY:" */
		if (strncmp(link, "/memfd:", 7) || strncmp(link + 7, mine, n))
			return -ENOENT;
		num = link + 7 + n;
	} else {
		if (arc_key(al) || lyr_fd_path(al->key_fd, key, sizeof(key)) < 0)
			return -ENOENT;
		n = strlen(key);
		if (strncmp(link, key, n) || link[n] != '/')
			return -ENOENT;
		if (strncmp(link + n, "/data/", 6) && strncmp(link + n, "/dirs/", 6))
			return -ENOENT;
		num = link + n + 6;
	}
	char *end;
	unsigned long id = strtoul(num, &end, 10);
	if (end == num || (*end && *end != ' ') || id >= al->ix.nent)
		return -ENOENT;
	return arc_ent_path(&al->ix, (uint32_t)id, buf, size);
}

/* ---- 6. ops table, constructor, introspection ----------------------- */

static void arc_destroy(struct lyr_layer *l)
{
	struct arc_layer *al = ARC(l);

	if (al->ix.base)
		arc_seek_forget(&al->ix);
	arc_index_unmap(&al->ix);
	if (al->ix_fd >= 0) {	/* lets go of the entry */
		lyr_fd_release(&al->ix_fd);
		close(al->ix_fd);
	}
	if (al->arc_fd >= 0) {
		lyr_fd_release(&al->arc_fd);
		close(al->arc_fd);
	}
	if (al->key_fd >= 0) {
		lyr_fd_release(&al->key_fd);
		close(al->key_fd);
	}
	if (al->data_fd >= 0) {
		lyr_fd_release(&al->data_fd);
		close(al->data_fd);
	}
	if (al->opened)
		munmap(al->opened, al->opened_len);
	pthread_mutex_destroy(&al->key_lock);
	free(al->path);
	free(al->key_dir);
	free(al);
}

static const struct lyr_layer_ops arc_ops = {
	.version = LYR_OPS_VERSION,
	.name = "archive",
	.lookup = arc_lookup,
	.open = arc_open,
	.readdir = arc_readdir,
	.readlink = arc_readlink,
	.statfs = arc_statfs,
	.getxattr = arc_getxattr,
	.listxattr = arc_listxattr,
	.setxattr = arc_setxattr,
	.removexattr = arc_removexattr,
	.destroy = arc_destroy,
	.fd_name = arc_fd_name,
	/* the other modifying members stay NULL: the dispatchers give -EROFS
	 * (for xattrs a NULL member would mean -ENOTSUP) */
};

/*
 * See layerfs.h.  Opens the archive, finds or makes its cache
 * subdirectory, maps the index (building it first if needed).  On failure
 * *out is NULL and err names the archive and the reason.
 */
int lyr_archive_open(const char *path, const struct lyr_archive_opts *opts,
		     struct lyr_layer **out, struct lyr_error *err)
{
	struct arc_layer *al = calloc(1, sizeof(*al));
	int r;

	*out = NULL;
	if (!al)
		return lyr_seterr(err, ENOMEM, "%s: out of memory", path);
	al->base.ops = &arc_ops;
	al->base.flags = LYR_LAYER_RDONLY;
	al->serial = atomic_fetch_add(&arc_serials, 1) + 1;
	al->arc_fd = al->key_fd = al->data_fd = al->ix_fd = -1;
	pthread_mutex_init(&al->key_lock, NULL);
	if (!(al->path = strdup(path))) {
		r = lyr_seterr(err, ENOMEM, "%s: out of memory", path);
		goto out_destroy;
	}
	if ((r = arc_open_file(al, err)) || (r = arc_key_dir(al, opts, err)) ||
	    (r = arc_load_index(al, opts, err)))
		goto out_destroy;
	*out = &al->base;
	return 0;
out_destroy:
	arc_destroy(&al->base);
	return r;
}

/* See layerfs.h. */
int lyr_archive_mark_used(struct lyr_layer *l)
{
	char *p;
	int r = 0;

	if (!l || l->ops != &arc_ops)
		return -EINVAL;
	if (asprintf(&p, "%s/%s", ARC(l)->key_dir, ARC_ENTRY_SOURCE) < 0)
		return -ENOMEM;
	if (utimensat(AT_FDCWD, p, NULL, 0))
		r = -errno;
	free(p);
	return r;
}

/* See archive_index.h: what tests need to see of an archive layer. */
int lyr_archive_info(struct lyr_layer *l, struct lyr_archive_info *info)
{
	struct arc_layer *al;

	if (!l || l->ops != &arc_ops)
		return -EINVAL;
	al = ARC(l);
	memset(info, 0, sizeof(*info));
	info->nent = al->ix.nent;
	info->index_size = al->ix.size;
	info->built_index = al->built;
	info->extractions = atomic_load(&al->extractions);
	info->seek_kind = al->ix.hdr->seek_kind;
	info->nseek = al->ix.nseek;
	snprintf(info->key_dir, sizeof(info->key_dir), "%s", al->key_dir);
	return 0;
}
