/* SPDX-License-Identifier: MIT */
/*
 * cache.c - the archive cache as a whole: lyr_cache_list() and
 * lyr_cache_prune() (layerfs.h), for `layerfs cache`.
 *
 * Divisions:
 *   0. where the cache is: lyr_default_cache_dir()
 *   1. entries: names, sizes, last use, crash leftovers
 *   2. holding an entry, removing it
 *   3. list
 *   4. prune
 *
 * The cache directory holds entries (<key>/, archive.c has their layout)
 * and nothing else of ours but ".trash.*" directories, entries being
 * removed, and docker-archive-layers/, the layers of docker-archive
 * images (see cache_prune_blobs).  Anything else found there is left alone, so that pointing
 * --cache at the wrong directory never removes a user's files.
 *
 * Removing an entry follows the locking rules of archive.c, section 2: the
 * prune takes the entry's index and index.lock exclusively, without
 * waiting (a layer holds the index shared for its whole life, a builder
 * holds index.lock), renames the entry to a ".trash." name in the cache
 * directory, unlinks those two files, and only then lets go: a process
 * that opened the index just before and gets its lock just after sees a
 * link count of 0 and starts again, on an entry that no longer exists.
 * The trash is then removed; nobody can be using it.
 */
#define _GNU_SOURCE
#include "archive_index.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CACHE_TRASH ".trash."
/*
 * An entry without an index is being made (its builder is between the
 * mkdir and its lock on index.lock) or was left by a failed build: it
 * takes no room, so it is left alone this long.
 */
#define CACHE_GRACE 600

/* ---- 0. where the cache is ------------------------------------------ */

static int cache_join(char *buf, size_t size, const char *a, const char *b)
{
	int n = snprintf(buf, size, "%s%s", a, b);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int lyr_default_cache_dir(char *buf, size_t size)
{
	const char *v;

	if ((v = getenv("LAYERFS_CACHE")) && *v)
		return cache_join(buf, size, v, "");
	if ((v = getenv("XDG_CACHE_HOME")) && *v == '/')
		return cache_join(buf, size, v, "/layerfs");
	if ((v = getenv("HOME")) && *v == '/' && access(v, W_OK) == 0)
		return cache_join(buf, size, v, "/.cache/layerfs");
	v = getenv("TMPDIR");
	int n = snprintf(buf, size, "%s/layerfs-%u", v && *v == '/' ? v : "/tmp",
			 (unsigned)getuid());
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* ---- 1. entries ------------------------------------------------------ */

/*
 * An entry's name: what arc_key_name makes, of any index version.  Its
 * version goes to *version.
 */
static bool cache_is_entry(const char *name, unsigned *version)
{
	size_t n = strspn(name, "0123456789abcdef-.");
	const char *v = name + n;

	if (n < 2 || v[-1] != '-' || v[0] != 'v' || !v[1] ||
	    strspn(v + 1, "0123456789") != strlen(v + 1) || strlen(v + 1) > 9)
		return false;
	*version = (unsigned)strtoul(v + 1, NULL, 10);
	return true;
}

/*
 * Removes dirfd/name when it is a temporary file no writer holds (a
 * writer flocks its own until it is published): a crash leftover.  The
 * name must still be the file locked; after that, nobody can make that
 * name again until it is gone (writers create with O_EXCL).
 */
static bool cache_remove_tmp(int dirfd, const char *name)
{
	struct stat a, b;
	bool gone = false;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &a) == 0 && a.st_nlink > 0 &&
	    fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_ino == b.st_ino &&
	    a.st_dev == b.st_dev)
		gone = unlinkat(dirfd, name, 0) == 0;
	close(fd);
	return gone;
}

/*
 * Bytes the tree at dirfd/name takes on disk (each inode once per
 * directory it is met in).  depth 0 is an entry: at depth 0 and in data/
 * (depth 1), crash leftovers are removed on the way when *leftovers is
 * not NULL, and counted there.
 */
static uint64_t cache_du(int dirfd, const char *name, int depth, size_t *leftovers)
{
	struct stat st;
	uint64_t total = 0;
	struct dirent *e;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return 0;
	total = (uint64_t)st.st_blocks * 512;
	if (!S_ISDIR(st.st_mode))
		return total;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return total;
	}
	bool tmp_here = depth == 0 || (depth == 1 && strcmp(name, "data") == 0);
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (tmp_here && leftovers &&
		    !strncmp(e->d_name, ARC_TMP_PREFIX, strlen(ARC_TMP_PREFIX)) &&
		    cache_remove_tmp(fd, e->d_name)) {
			(*leftovers)++;
			continue;
		}
		total += cache_du(fd, e->d_name, depth + 1, leftovers);
	}
	closedir(d);
	return total;
}

/* rm -rf dirfd/name; errors (a concurrent removal) are ignored. */
static void cache_rm_tree(int dirfd, const char *name)
{
	struct dirent *e;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			cache_rm_tree(fd, e->d_name);
	closedir(d);
	unlinkat(dirfd, name, AT_REMOVEDIR);
}

/* When entry efd was last used: its source file's mtime, else the index's. */
static struct timespec cache_last_use(int efd)
{
	struct stat st;

	if (fstatat(efd, ARC_ENTRY_SOURCE, &st, 0) == 0 ||
	    fstatat(efd, ARC_ENTRY_INDEX, &st, 0) == 0 || fstat(efd, &st) == 0)
		return st.st_mtim;
	return (struct timespec){ 0, 0 };
}

/* The archive path recorded in the entry (malloc'ed; "" when unknown). */
static char *cache_source(int efd)
{
	char buf[PATH_MAX];
	ssize_t n = 0;
	int fd = openat(efd, ARC_ENTRY_SOURCE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	return strdup(buf);
}

/* Is the archive at source gone, or another file than entry name's? */
static bool cache_is_stale(const char *source, const char *name)
{
	struct arc_ident id;
	struct stat st;
	char key[ARC_KEY_MAX];
	bool stale = true;

	if (!*source)
		return false;	/* unknown: not for us to say */
	int fd = open(source, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && arc_ident_read(fd, &st, &id) == 0) {
		arc_key_name(&id, key, sizeof(key));
		stale = strcmp(key, name) != 0;
	}
	close(fd);
	return stale;
}

/* ---- 2. holding an entry, removing it -------------------------------- */

/*
 * Takes entry efd's index and index.lock exclusively, without waiting:
 * their fds go to lk (-1 for a file that is not there).  false (nothing
 * held) when a process holds either.
 */
static bool cache_take(int efd, int lk[2])
{
	static const char *const names[2] = { ARC_ENTRY_INDEX, ARC_ENTRY_LOCK };

	lk[0] = lk[1] = -1;
	for (int i = 0; i < 2; i++) {
		lk[i] = openat(efd, names[i], O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (lk[i] < 0 && errno == ENOENT)
			continue;
		if (lk[i] < 0 || flock(lk[i], LOCK_EX | LOCK_NB)) {
			for (int k = 0; k <= i; k++)
				if (lk[k] >= 0)
					close(lk[k]);
			lk[0] = lk[1] = -1;
			return false;
		}
	}
	return true;
}

static void cache_let_go(int lk[2])
{
	for (int i = 0; i < 2; i++)
		if (lk[i] >= 0)
			close(lk[i]);
}

/* Whether a process holds the entry now. */
static bool cache_held(int efd)
{
	int lk[2];

	if (!cache_take(efd, lk))
		return true;
	cache_let_go(lk);
	return false;
}

/*
 * Removes entry cfd/name unless a process holds it: 0, -EBUSY when held,
 * -EAGAIN when it has no index yet and is young (CACHE_GRACE), -ENOENT
 * when it is gone already (another prune), or -errno.
 */
static int cache_remove(int cfd, const char *name)
{
	static atomic_uint seq;
	struct stat a, b;
	char trash[64];
	int lk[2], r = 0;
	int efd = openat(cfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (efd < 0)
		return -errno;
	if (fstatat(efd, ARC_ENTRY_INDEX, &a, 0) && fstat(efd, &b) == 0 &&
	    b.st_mtim.tv_sec > time(NULL) - CACHE_GRACE) {
		close(efd);
		return -EAGAIN;	/* being made */
	}
	if (!cache_take(efd, lk)) {
		close(efd);
		return -EBUSY;
	}
	/* Still the entry at that name (not one a prune moved meanwhile)?
	 * Holding its locks, no other prune can move it now. */
	if (fstat(efd, &a) || fstatat(cfd, name, &b, AT_SYMLINK_NOFOLLOW) ||
	    a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
		r = -ENOENT;
		goto out;
	}
	snprintf(trash, sizeof(trash), CACHE_TRASH "%d.%u", getpid(), atomic_fetch_add(&seq, 1));
	if (renameat(cfd, name, cfd, trash)) {
		r = -errno;
		goto out;
	}
	/* A process between its open and its lock sees these unlinked. */
	unlinkat(efd, ARC_ENTRY_INDEX, 0);
	unlinkat(efd, ARC_ENTRY_LOCK, 0);
	cache_let_go(lk);
	lk[0] = lk[1] = -1;
	cache_rm_tree(cfd, trash);
out:
	cache_let_go(lk);
	close(efd);
	return r;
}

/* ---- 3. list --------------------------------------------------------- */

struct cache_scan {
	struct lyr_cache_entry *v;
	size_t n, cap;
};

static int cmp_last_use(const void *pa, const void *pb)
{
	const struct lyr_cache_entry *a = pa, *b = pb;

	if (a->last_use != b->last_use)
		return a->last_use < b->last_use ? -1 : 1;
	if (a->last_use_nsec != b->last_use_nsec)
		return a->last_use_nsec < b->last_use_nsec ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* Opens the cache directory; -ENOENT when there is none. */
static int cache_open_dir(const char *dir, struct lyr_error *err)
{
	int cfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (cfd < 0 && errno != ENOENT)
		return lyr_seterr(err, errno, "cache directory %s: %s", dir, strerror(errno));
	return cfd < 0 ? -ENOENT : cfd;
}

/*
 * Every entry of cfd, least recently used first; with leftovers not NULL,
 * crash leftovers are removed on the way (trash included).  0 or -ENOMEM.
 */
static int cache_scan(int cfd, struct cache_scan *s, size_t *leftovers, bool details)
{
	int dfd = dup(cfd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *e;
	int r = 0;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return -errno;
	}
	while ((e = readdir(d)) && !r) {
		if (!strncmp(e->d_name, CACHE_TRASH, strlen(CACHE_TRASH))) {
			if (leftovers) {	/* a prune was interrupted: nobody uses it */
				cache_rm_tree(cfd, e->d_name);
				(*leftovers)++;
			}
			continue;
		}
		unsigned version;
		if (!cache_is_entry(e->d_name, &version))
			continue;
		int efd = openat(cfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (efd < 0)
			continue;	/* removed meanwhile, or not ours */
		if (s->n == s->cap) {
			size_t cap = s->cap ? 2 * s->cap : 32;
			struct lyr_cache_entry *v = realloc(s->v, cap * sizeof(*v));
			if (!v) {
				close(efd);
				r = -ENOMEM;
				break;
			}
			s->v = v;
			s->cap = cap;
		}
		struct lyr_cache_entry *x = &s->v[s->n];
		struct timespec used = cache_last_use(efd);
		*x = (struct lyr_cache_entry){
			.name = strdup(e->d_name),
			.source = details ? cache_source(efd) : strdup(""),
			.size = cache_du(cfd, e->d_name, 0, leftovers),
			.last_use = used.tv_sec,
			.last_use_nsec = (uint32_t)used.tv_nsec,
			.other_version = version != ARC_INDEX_VERSION,
		};
		if (!x->name || !x->source) {
			free(x->name);
			free(x->source);
			r = -ENOMEM;
		} else {
			if (details) {
				x->in_use = cache_held(efd);
				x->stale = cache_is_stale(x->source, x->name);
			}
			s->n++;
		}
		close(efd);
	}
	closedir(d);
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), cmp_last_use);
	return r;
}

void lyr_cache_list_free(struct lyr_cache_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].source);
	}
	free(v);
}

/* See layerfs.h. */
int lyr_cache_list(const char *dir, struct lyr_cache_entry **out, size_t *n,
		   struct lyr_error *err)
{
	struct cache_scan s = { 0 };
	int cfd = cache_open_dir(dir, err), r;

	*out = NULL;
	*n = 0;
	if (cfd == -ENOENT)
		return 0;
	if (cfd < 0)
		return cfd;
	r = cache_scan(cfd, &s, NULL, true);
	close(cfd);
	if (r) {
		lyr_cache_list_free(s.v, s.n);
		return lyr_seterr(err, -r, "cache directory %s: %s", dir, strerror(-r));
	}
	*out = s.v;
	*n = s.n;
	return 0;
}

/* ---- 4. prune -------------------------------------------------------- */

/* Tries to remove entry x; accounts for it in rep either way. */
static void cache_prune_one(int cfd, struct lyr_cache_entry *x, uint64_t *total,
			    struct lyr_cache_report *rep)
{
	int r = cache_remove(cfd, x->name);

	if (r == 0 || r == -ENOENT) {	/* -ENOENT: another prune removed it */
		if (r == 0) {
			rep->removed++;
			rep->removed_bytes += x->size;
		}
		*total -= x->size;
		free(x->name);
		x->name = NULL;
	} else if (r == -EBUSY) {
		x->in_use = true;
	}
}

/*
 * The layers of docker-archive images, copied out of their tarballs once
 * (the launcher's image.c): CACHE/docker-archive-layers/DIGEST, a name no
 * image layout uses (--cache pointed at a layout never removes its
 * blobs).  A launcher holds a shared flock on each blob its job uses for
 * the whole job (and on a temporary while it writes it, exclusively), and
 * touches the blob's mtime at each use: a prune removes a blob copy it can
 * lock exclusively, without waiting, by age and, after the entries, least
 * recently used first by size.  Their indexes are entries like any other.
 */
#define CACHE_BLOBS "docker-archive-layers"

struct cache_blob {
	char name[80];
	uint64_t size;
	int64_t used;
};

static int cmp_blob_use(const void *pa, const void *pb)
{
	const struct cache_blob *a = pa, *b = pb;

	return (a->used > b->used) - (a->used < b->used);
}

/* Removes blob name when no launcher holds it; true when it is gone. */
static bool cache_blob_remove(int bfd, const char *name)
{
	int fd = openat(bfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	bool gone = false;

	if (fd < 0)
		return errno == ENOENT;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		gone = unlinkat(bfd, name, 0) == 0 || errno == ENOENT;
	close(fd);
	return gone;
}

static void cache_prune_blobs(int cfd, const struct lyr_cache_prune_opts *o,
			      uint64_t *total, struct lyr_cache_report *rep)
{
	int bfd = openat(cfd, CACHE_BLOBS, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct cache_blob *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	struct stat st;
	DIR *d;

	if (bfd < 0)
		return;
	if (!(d = fdopendir(bfd))) {
		close(bfd);
		return;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.') {
			if (!strncmp(e->d_name, ARC_TMP_PREFIX, strlen(ARC_TMP_PREFIX)) &&
			    cache_remove_tmp(dirfd(d), e->d_name))
				rep->leftovers++;
			continue;
		}
		if (strlen(e->d_name) >= sizeof(v->name) ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			struct cache_blob *w = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof(*v));
			if (!w)
				break;
			v = w;
		}
		snprintf(v[n].name, sizeof(v[n].name), "%s", e->d_name);
		v[n].size = (uint64_t)st.st_blocks * 512;
		v[n].used = st.st_mtim.tv_sec;
		*total += v[n++].size;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_blob_use);
	time_t now = time(NULL);
	for (size_t i = 0; i < n; i++) {
		bool old = o->max_age >= 0 && v[i].used < (int64_t)now - o->max_age;
		if ((old || *total > o->max_size) && cache_blob_remove(dirfd(d), v[i].name)) {
			rep->removed++;
			rep->removed_bytes += v[i].size;
			*total -= v[i].size;
		} else {
			rep->kept++;
			rep->kept_bytes += v[i].size;
		}
	}
	free(v);
	closedir(d);
}

/* See layerfs.h. */
int lyr_cache_prune(const char *dir, const struct lyr_cache_prune_opts *o,
		    struct lyr_cache_report *rep, struct lyr_error *err)
{
	struct cache_scan s = { 0 };
	uint64_t total = 0;
	int cfd, r;

	memset(rep, 0, sizeof(*rep));
	if ((cfd = cache_open_dir(dir, err)) == -ENOENT)
		return 0;
	if (cfd < 0)
		return cfd;
	if ((r = cache_scan(cfd, &s, &rep->leftovers, false))) {
		r = lyr_seterr(err, -r, "cache directory %s: %s", dir, strerror(-r));
		goto out;
	}
#define LEFT_ALONE(x) ((x)->other_version && !o->other_versions)
	for (size_t i = 0; i < s.n; i++)
		if (!LEFT_ALONE(&s.v[i]))
			total += s.v[i].size;
	time_t now = time(NULL);
	for (size_t i = 0; o->max_age >= 0 && i < s.n; i++)
		if (!LEFT_ALONE(&s.v[i]) && s.v[i].last_use < (int64_t)now - o->max_age)
			cache_prune_one(cfd, &s.v[i], &total, rep);
	/* least recently used first (the scan's order) */
	for (size_t i = 0; i < s.n && total > o->max_size; i++)
		if (s.v[i].name && !s.v[i].in_use && !LEFT_ALONE(&s.v[i]))
			cache_prune_one(cfd, &s.v[i], &total, rep);
	for (size_t i = 0; i < s.n; i++) {
		if (!s.v[i].name)
			continue;
		rep->kept++;
		rep->kept_bytes += s.v[i].size;
		rep->in_use += s.v[i].in_use;
		rep->other_versions += LEFT_ALONE(&s.v[i]);
	}
#undef LEFT_ALONE
	cache_prune_blobs(cfd, o, &total, rep);
out:
	lyr_cache_list_free(s.v, s.n);
	close(cfd);
	return r;
}
