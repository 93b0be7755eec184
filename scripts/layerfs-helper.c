/* SPDX-License-Identifier: MIT */
/*
 * layerfs-helper - the launcher's C half: what needs the core library, and
 * the supervision of a job.  scripts/layerfs parses and checks the command
 * line, then runs one of:
 *
 *   layerfs-helper run --mount AT --preload LIST --lower PATH... [--upper DIR]
 *           [--semantics S] [--cache DIR] [--cache-limit SIZE] [--trace FILE]
 *           [--diff] [--export FILE] -- COMMAND [ARG]...
 *       opens every lower (building archive indexes), makes or checks the
 *       upper, starts COMMAND with the library preloaded, forwards signals
 *       to it, then reports, exports, removes a temporary upper and exits
 *       with COMMAND's status (128+N for a signal)
 *   layerfs-helper index [--cache DIR] ARCHIVE
 *   layerfs-helper diff [--cache DIR] [--lower PATH]... UPPER
 *       A path / C path / D path, sorted, like `docker diff`
 *   layerfs-helper export UPPER OUT.tar
 *       the upper directory as an OCI image layer (deterministic)
 *   layerfs-helper enter SOCK CWD PROGRAM ARG0 [ARG]...
 *       runs PROGRAM, which makes its own system calls, supervised
 *   layerfs-helper exec COMMAND [ARG]...
 *       (preloaded) runs COMMAND from the view, or says why it cannot
 *   layerfs-helper cache list|prune|clear [--cache DIR] [--max-size SIZE]
 *           [--max-age AGE]
 *       the archive cache: its entries; pruning by age and size; emptying
 *   layerfs-helper version
 *       "layerfs VERSION" (LAYERFS_VERSION, for `layerfs --version`)
 *
 * Every problem found before COMMAND starts is one message naming the file
 * and the reason, and exit status 125.  Progress of an index build goes to
 * stderr only when stderr is a terminal.
 *
 * Divisions: 1. messages  2. progress  3. lowers and uppers  4. diff
 * 5. export  6. removing a tree  7. run  8. the cache  9. index, enter,
 * main.
 */
#define _GNU_SOURCE
#include "image.h"
#include "layerfs.h"
#include "supervise.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define EXIT_SETUP 125
#define MAX_LOWER LYR_MAX_LOWER

/* The lowers a run used, kept on the upper directory for `layerfs diff`. */
#define LOWER_XATTR LYR_XATTR_LOWER
#define CACHE_XATTR LYR_XATTR_CACHE

static const char *prog = "layerfs";

/* ---- 1. messages ----------------------------------------------------- */

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_SETUP;
}

static void *xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size);

	if (!q) {
		fail("out of memory");
		exit(EXIT_SETUP);
	}
	return q;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d) {
		fail("out of memory");
		exit(EXIT_SETUP);
	}
	return d;
}

/* ---- 2. progress ----------------------------------------------------- */

/*
 * The core calls back every few thousand entries and once at the end.
 * A line is drawn at most five times a second, and only once the build has
 * taken `delay` seconds (0 for `layerfs index`, which always reports), so
 * that a quick first run prints nothing.
 */
struct progress {
	struct timespec start, last;
	const char *name;
	double delay;
	bool called, shown;
	uint64_t entries, done, total;
};

static double elapsed(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void progress_draw(struct progress *p, double t)
{
	double rate = t > 0 ? (double)p->done / t : 0;
	char eta[32] = "?";

	if (rate > 0 && p->total >= p->done)
		snprintf(eta, sizeof(eta), "%.0fs", (double)(p->total - p->done) / rate);
	fprintf(stderr, "\r%s: indexing %s: %llu entries, %.1f/%.1f MiB, %.1f MiB/s, ETA %s\033[K",
		prog, p->name, (unsigned long long)p->entries, (double)p->done / 1048576.0,
		(double)p->total / 1048576.0, rate / 1048576.0, eta);
	p->shown = true;
}

static void progress_cb(void *ctx, uint64_t entries, uint64_t done, uint64_t total)
{
	struct progress *p = ctx;
	struct timespec now;

	p->called = true;
	p->entries = entries;
	p->done = done;
	p->total = total;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double t = elapsed(&p->start, &now);
	if (t < p->delay || (p->shown && elapsed(&p->last, &now) < 0.2))
		return;
	p->last = now;
	progress_draw(p, t);
}

/* The closing line: what was built and how long it took. */
static void progress_end(struct progress *p)
{
	struct timespec now;

	if (!p->shown && !(p->called && p->delay == 0))
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	fprintf(stderr, "\r%s: indexed %s: %llu entries, %.1f MiB in %.1fs\033[K\n", prog,
		p->name, (unsigned long long)p->entries, (double)p->total / 1048576.0,
		elapsed(&p->start, &now));
}

/* ---- 3. lowers and uppers -------------------------------------------- */

/* What a file that is neither a regular file nor a directory is. */
static const char *special_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFIFO: return "a FIFO";
	case S_IFSOCK: return "a socket";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFLNK: return "a symbolic link";
	default: return "a special file";
	}
}

/*
 * Images as lowers (image.h): each "oci:DIR[:REF]" or
 * "docker-archive:FILE[:REF]" among lowers[0..*n-1] is replaced, in place,
 * by the image's layer blobs, topmost first; the digest each blob must
 * have is kept for open_lower, which has it checked when the blob's index
 * is built.  0, or EXIT_SETUP after one message.
 */
static struct img_layers img_all[MAX_LOWER];
static size_t img_nall;

static const char *image_digest(const char *path)
{
	for (size_t i = 0; i < img_nall; i++)
		for (size_t k = 0; k < img_all[i].n; k++)
			if (img_all[i].v[k].sha256[0] && !strcmp(img_all[i].v[k].path, path))
				return img_all[i].v[k].sha256;
	return NULL;
}

static int expand_images(char **lowers, size_t *n, const char *cache)
{
	char def[PATH_MAX];
	const char *first = NULL;

	for (size_t i = 0; i < *n;) {
		if (!img_is_spec(lowers[i])) {
			i++;
			continue;
		}
		if (!first)
			first = lowers[i];
		struct lyr_error err = { "" };
		struct img_layers *im = &img_all[img_nall];
		if (!cache && lyr_default_cache_dir(def, sizeof(def)) < 0)
			return fail("no usable cache directory: give one with --cache DIR");
		if (img_nall == MAX_LOWER ||
		    img_expand(lowers[i], cache ? cache : def, im, &err) < 0)
			return fail("%s", err.msg[0] ? err.msg : "too many images");
		img_nall++;
		if (*n - 1 + im->n > MAX_LOWER)
			return fail("more than %d lower layers (image %s has %zu)", MAX_LOWER,
				    lowers[i], im->n);
		memmove(lowers + i + im->n, lowers + i + 1, (*n - i - 1) * sizeof(*lowers));
		for (size_t k = 0; k < im->n; k++)
			lowers[i + k] = im->v[k].path;
		*n = *n - 1 + im->n;
		i += im->n;
	}
	if (*n == 0 && first)
		return fail("image %s has no layers: there is nothing to show", first);
	return 0;
}

/*
 * Opens a lower layer (an archive's index is built here when it is not in
 * the cache yet).  Returns 0, or EXIT_SETUP after one message.
 */
static int open_lower(const char *path, const char *cache, double delay,
		      struct lyr_layer **out)
{
	struct lyr_error err = { "" };
	struct stat st;
	struct progress p = { .name = path, .delay = delay };
	int r;

	if (stat(path, &st) < 0)
		return fail("lower layer %s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return fail("lower layer %s: %s, not an archive or a directory", path,
			    special_kind(st.st_mode));
	/* A directory the view cannot search would fail every call with EIO. */
	if (S_ISDIR(st.st_mode) && access(path, R_OK | X_OK) < 0)
		return fail("lower layer %s: %s (a directory must be readable and searchable)",
			    path, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		r = lyr_host_open(path, LYR_HOST_RDONLY, out, &err);
	} else {
		struct lyr_archive_opts opts = { .cache_dir = cache };
		opts.sha256 = image_digest(path);
		if (isatty(2)) {
			clock_gettime(CLOCK_MONOTONIC, &p.start);
			p.last = p.start;
			opts.progress = progress_cb;
			opts.progress_ctx = &p;
		}
		r = lyr_archive_open(path, &opts, out, &err);
		if (r == 0)
			progress_end(&p);
		else if (p.shown)
			fputc('\n', stderr);
	}
	if (r < 0) {
		if (err.msg[0] && strstr(err.msg, path))
			return fail("%s", err.msg);
		return fail("lower layer %s: %s", path, err.msg[0] ? err.msg : strerror(-r));
	}
	return 0;
}

/* The union of lowers[0..n-1] (read-only); NULL when n is 0. */
static int open_lowers(char *const *paths, size_t n, const char *cache,
		       struct lyr_layer **out)
{
	struct lyr_layer *lowers[MAX_LOWER];
	struct lyr_error err = { "" };
	struct lyr_union_opts opts = { 0 };
	int r;

	*out = NULL;
	if (n == 0)
		return 0;
	if (n > MAX_LOWER)
		return fail("more than %d lower layers", MAX_LOWER);
	for (size_t i = 0; i < n; i++) {
		if ((r = open_lower(paths[i], cache, 0.5, &lowers[i]))) {
			while (i--)
				lyr_destroy(lowers[i]);
			return r;
		}
	}
	if (lyr_union_open(NULL, lowers, n, &opts, out, &err) < 0)
		return fail("%s", err.msg);
	return 0;
}

/* A directory that will hold an upper layer: created if needed, usable. */
static int prepare_upper(const char *dir)
{
	struct lyr_layer *l;
	struct lyr_error err = { "" };
	int r = lyr_mkdirs(dir, 0777);

	if (r < 0)
		return fail("upper directory %s: %s", dir, strerror(-r));
	if (access(dir, R_OK | W_OK | X_OK) < 0)
		return fail("upper directory %s: %s", dir, strerror(errno));
	if ((r = lyr_host_open(dir, 0, &l, &err)) < 0)
		return fail("upper directory %s: %s", dir, err.msg[0] ? err.msg : strerror(-r));
	lyr_destroy(l);
	return 0;
}

/* Reads xattr name of path into buf; false when it is not there. */
static bool read_xattr(const char *path, const char *name, char *buf, size_t size)
{
	ssize_t n = getxattr(path, name, buf, size - 1);

	if (n < 0)
		return false;
	buf[n] = '\0';
	return true;
}

/* ---- 4. diff --------------------------------------------------------- */

/*
 * Compares the final view (upper over lowers) with the lowers alone:
 *   A path  in the view, not in the lowers (every entry of a new directory)
 *   D path  in the lowers, not in the view (only the top of a deleted tree)
 *   C path  in both, and the upper layer holds it: a file, symlink or
 *           special file that was written, copied up or replaced; a
 *           directory only when an entry directly in it was added or
 *           deleted, or its mode changed (docker diff's rule: the parents of
 *           A and D entries are C).  The root is never listed.
 * Without the lowers (none given and none recorded on the upper), A and C
 * are told apart by the origin xattr copy-up leaves on files; a directory
 * is C when something below it was copied up or deleted.
 */
struct change {
	char kind;	/* 'A', 'C', 'D' */
	char *path;
};

struct changes {
	struct change *v;
	size_t n, cap;
};

/* What the lowers hold at a directory of the upper layer. */
enum low_state {
	LOW_NONE,	/* nothing: everything below is new */
	LOW_MERGED,	/* a directory, merged into the view */
	LOW_HIDDEN,	/* a directory, hidden by an opaque directory */
	LOW_UNKNOWN,	/* no lowers known: guess from the upper layer */
};

struct diff_ctx {
	struct lyr_layer *low;
	struct lyr_layer *up;	/* the upper, read as a layer (its origin xattrs) */
	struct changes c;
};

static void add_change(struct changes *c, char kind, const char *path)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->v = xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	c->v[c->n].kind = kind;
	c->v[c->n++].path = xstrdup(path);
}

/* Entries dropped from the report (path NULL) sort last. */
static int cmp_change_nulls_last(const void *a, const void *b)
{
	const struct change *x = a, *y = b;

	if (!x->path || !y->path)
		return !x->path - !y->path;
	return strcmp(x->path, y->path);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of a host directory (free with free_names); NULL on error. */
static char **sorted_names(int dfd, size_t *n)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	char **v = NULL;
	size_t cap = 0;
	struct dirent *e;

	*n = 0;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (*n + 1 >= cap) {
			cap = cap ? cap * 2 : 32;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[(*n)++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (!v)
		v = xrealloc(NULL, sizeof(*v));
	qsort(v, *n, sizeof(*v), cmp_str);
	v[*n] = NULL;
	return v;
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static bool is_whiteout(const char *name)
{
	return strncmp(name, LYR_WH_PREFIX, LYR_WH_PREFIX_LEN) == 0;
}

/* Layer metadata (".wh..wh." names, aufs style) other than the opaque
 * marker: the file every marker links to, for one; not part of a diff. */
static bool is_metadata(const char *name)
{
	return strncmp(name, LYR_WH_META, LYR_WH_META_LEN) == 0 && strcmp(name, LYR_WH_OPAQUE) != 0;
}

static bool has_name(char *const *names, size_t n, const char *name)
{
	return bsearch(&name, names, n, sizeof(*names), cmp_str) != NULL;
}

static void join(char *out, size_t size, const char *dir, const char *name)
{
	snprintf(out, size, "%s%s%s", dir, *dir ? "/" : "", name);
}

/* Lower entries of path that the upper layer does not hold: deleted. */
static int diff_hidden(struct diff_ctx *x, const char *path, char *const *names, size_t n)
{
	struct lyr_dirlist dl;
	char child[PATH_MAX];
	int count = 0;

	if (lyr_readdir(x->low, path, &dl) < 0)
		return 0;
	for (size_t i = 0; i < dl.n; i++) {
		const char *name = dl.ents[i].name;
		if (!strcmp(name, ".") || !strcmp(name, "..") || has_name(names, n, name))
			continue;
		join(child, sizeof(child), path, name);
		add_change(&x->c, 'D', child);
		count++;
	}
	lyr_dirlist_free(&dl);
	return count;
}

/* Did copy-up make this entry (it records the origin on the copy; the
 * host layer keeps a symlink's or special file's in its store)? */
static bool has_origin(struct diff_ctx *x, const char *path, mode_t mode)
{
	char b[64];

	return x->up && lyr_getxattr(x->up, path, LYR_XATTR_ORIGIN_FOR(mode), b, sizeof(b)) >= 0;
}

/*
 * Reports the upper directory dfd (view path `path`), whose lower side is
 * `low`.  Returns the number of A and D entries directly in it, plus, in
 * *evidence, whether it shows traces of lower content (LOW_UNKNOWN only).
 */
static int diff_dir(struct diff_ctx *x, int dfd, const char *path, enum low_state low,
		    bool *evidence)
{
	size_t n;
	char **names = sorted_names(dfd, &n);
	char child[PATH_MAX];
	int direct = 0;

	*evidence = false;
	if (!names)
		return 0;
	if (has_name(names, n, LYR_WH_OPAQUE)) {
		*evidence = true;
		if (low == LOW_MERGED)
			low = LOW_HIDDEN;
	}
	if (low == LOW_HIDDEN) {
		/* Compare with the upper names only, whiteouts left out. */
		char **live = xrealloc(NULL, (n + 1) * sizeof(*live));
		size_t nl = 0;
		for (size_t i = 0; i < n; i++)
			if (!is_whiteout(names[i]))
				live[nl++] = names[i];
		direct += diff_hidden(x, path, live, nl);
		free(live);
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = names[i];
		struct stat st, lst;
		if (is_whiteout(name)) {
			if (!strcmp(name, LYR_WH_OPAQUE) || is_metadata(name))
				continue;
			join(child, sizeof(child), path, name + 4);
			*evidence = true;
			if (low == LOW_UNKNOWN ||
			    (low == LOW_MERGED && lyr_lookup(x->low, child, &lst, NULL) == 0)) {
				add_change(&x->c, 'D', child);
				direct++;
			}
			continue;
		}
		join(child, sizeof(child), path, name);
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		size_t at = x->c.n;
		add_change(&x->c, 'A', child);
		bool below = false, sub_ev = false;
		if (low == LOW_MERGED || low == LOW_HIDDEN)
			below = lyr_lookup(x->low, child, &lst, NULL) == 0;
		else if (low == LOW_UNKNOWN && !S_ISDIR(st.st_mode))
			below = has_origin(x, child, st.st_mode);
		int sub_direct = 0;
		if (S_ISDIR(st.st_mode)) {
			enum low_state sub = LOW_NONE;
			if (low == LOW_UNKNOWN)
				sub = LOW_UNKNOWN;
			else if (below && S_ISDIR(lst.st_mode))
				sub = low;
			int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd >= 0) {
				sub_direct = diff_dir(x, fd, child, sub, &sub_ev);
				close(fd);
			}
			if (low == LOW_UNKNOWN)
				below = sub_ev;
		}
		*evidence |= below;
		if (!below) {
			direct++;
			continue;
		}
		/* A directory in both is C only when it changed itself. */
		if (S_ISDIR(st.st_mode) && S_ISDIR(lst.st_mode) && low != LOW_UNKNOWN &&
		    sub_direct == 0 && st.st_mode == lst.st_mode) {
			free(x->c.v[at].path);
			x->c.v[at].path = NULL;
			continue;
		}
		x->c.v[at].kind = 'C';
	}
	free_names(names, n);
	return direct;
}

/* Prints the changes of upper over low (may be NULL: unknown) to out. */
static int print_diff(FILE *out, const char *upper, struct lyr_layer *low, bool header)
{
	struct diff_ctx x = { .low = low };
	bool ev;
	size_t shown = 0;

	int dfd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return fail("upper directory %s: %s", upper, strerror(errno));
	if (!low && lyr_host_open(upper, LYR_HOST_RDONLY, &x.up, NULL) < 0)
		x.up = NULL;
	diff_dir(&x, dfd, "", low ? LOW_MERGED : LOW_UNKNOWN, &ev);
	if (x.up)
		lyr_destroy(x.up);
	close(dfd);
	if (x.c.n)
		qsort(x.c.v, x.c.n, sizeof(*x.c.v), cmp_change_nulls_last);
	for (size_t k = 0; k < x.c.n; k++) {
		if (x.c.v[k].path) {
			if (header && shown++ == 0)
				fprintf(out, "%s: changes:\n", prog);
			fprintf(out, "%c %s\n", x.c.v[k].kind, x.c.v[k].path);
		}
		free(x.c.v[k].path);
	}
	if (header && shown == 0)
		fprintf(out, "%s: no changes\n", prog);
	free(x.c.v);
	return fflush(out) == 0 ? 0 : fail("diff: %s", strerror(errno));
}

static int cmd_diff(int argc, char **argv)
{
	const char *cache = NULL;
	char *lowers[MAX_LOWER];
	size_t nlow = 0;
	struct lyr_layer *low = NULL;
	char rec[8 * PATH_MAX], rcache[PATH_MAX];
	int i = 0, r;

	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (strcmp(argv[i], "--cache") == 0) {
			cache = argv[i + 1];
		} else if (strcmp(argv[i], "--lower") == 0) {
			if (nlow == MAX_LOWER)
				return fail("diff: more than %d lower layers", MAX_LOWER);
			lowers[nlow++] = argv[i + 1];
		} else {
			return fail("diff: unknown option '%s'", argv[i]);
		}
	}
	if (i + 1 != argc)
		return fail("usage: layerfs diff [--lower PATH]... UPPER");
	const char *upper = argv[i];
	struct stat st;
	if (stat(upper, &st) < 0)
		return fail("upper directory %s: %s", upper, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fail("upper directory %s: %s", upper, strerror(ENOTDIR));
	/* No lowers given: the ones the last run over this upper recorded. */
	if (nlow == 0 && read_xattr(upper, LOWER_XATTR, rec, sizeof(rec))) {
		ssize_t got = lyr_lower_list_split(rec, lowers, MAX_LOWER);
		if (got < 0)
			return fail("upper directory %s: more than %d lower layers recorded", upper,
				    MAX_LOWER);
		nlow = (size_t)got;
		if (!cache && read_xattr(upper, CACHE_XATTR, rcache, sizeof(rcache)))
			cache = rcache;
		for (size_t k = 0; k < nlow; k++)
			if (access(lowers[k], R_OK) < 0)
				return fail("lower layer %s (recorded on %s): %s; give the lowers "
					    "with --lower", lowers[k], upper, strerror(errno));
	}
	if ((r = expand_images(lowers, &nlow, cache)))
		return r;
	r = open_lowers(lowers, nlow, cache, &low);
	if (r == 0)
		r = print_diff(stdout, upper, low, false);
	lyr_destroy(low);
	return r;
}

/* ---- 5. export ------------------------------------------------------- */

/*
 * The upper directory, as it is stored, is an OCI image-layer diff: the
 * export writes it as a plain tar (POSIX ustar, pax headers only for what
 * ustar cannot hold), entries in sorted path order, parents first, owner
 * 0:0 with no names, the files' own modes and mtimes, hard links as links,
 * no xattrs.  Markers are plain empty files (in the upper they are links of
 * one file), and other layer metadata is left out.  The same upper gives
 * the same bytes.
 */
struct link_seen {
	dev_t dev;
	ino_t ino;
	char *path;
};

struct export_ctx {
	struct archive *a;
	struct link_seen *seen;
	size_t nseen;
	const char *out;
};

/* A hard link to a file already written, or NULL. */
static const char *export_link(struct export_ctx *x, const struct stat *st, const char *path)
{
	if (!S_ISREG(st->st_mode) || st->st_nlink < 2)
		return NULL;
	for (size_t k = 0; k < x->nseen; k++)
		if (x->seen[k].dev == st->st_dev && x->seen[k].ino == st->st_ino)
			return x->seen[k].path;
	x->seen = xrealloc(x->seen, (x->nseen + 1) * sizeof(*x->seen));
	x->seen[x->nseen++] = (struct link_seen){ st->st_dev, st->st_ino, xstrdup(path) };
	return NULL;
}

static int export_data(struct export_ctx *x, int dfd, const char *name, const char *path)
{
	char buf[65536];
	ssize_t got;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return fail("export: %s: %s", path, strerror(errno));
	while ((got = read(fd, buf, sizeof(buf))) > 0)
		if (archive_write_data(x->a, buf, (size_t)got) < 0) {
			close(fd);
			return fail("export: %s: %s", x->out, archive_error_string(x->a));
		}
	int e = errno;
	close(fd);
	return got < 0 ? fail("export: %s: %s", path, strerror(e)) : 0;
}

/* One entry and its data; a socket cannot be in a tar and is left out. */
static int export_entry(struct export_ctx *x, int dfd, const char *name, const char *path,
			const struct stat *st)
{
	struct archive_entry *e;
	char target[PATH_MAX];
	int r = 0;

	if (S_ISSOCK(st->st_mode) || is_metadata(name))
		return 0;
	if (!(e = archive_entry_new()))
		return fail("out of memory");
	archive_entry_set_pathname(e, path);
	archive_entry_set_mode(e, st->st_mode);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_mtime(e, st->st_mtim.tv_sec, 0);
	const char *link = is_whiteout(name) ? NULL : export_link(x, st, path);
	if (link) {
		archive_entry_set_hardlink(e, link);
		archive_entry_set_size(e, 0);
	} else if (S_ISREG(st->st_mode)) {
		archive_entry_set_size(e, st->st_size);
	} else if (S_ISLNK(st->st_mode)) {
		ssize_t tl = readlinkat(dfd, name, target, sizeof(target) - 1);
		if (tl < 0) {
			r = fail("export: %s: %s", path, strerror(errno));
			goto out_free;
		}
		target[tl] = '\0';
		archive_entry_set_symlink(e, target);
	} else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		archive_entry_set_rdev(e, st->st_rdev);
	}
	if (archive_write_header(x->a, e) != ARCHIVE_OK) {
		r = fail("export: %s: %s", path, archive_error_string(x->a));
		goto out_free;
	}
	if (S_ISREG(st->st_mode) && !link)
		r = export_data(x, dfd, name, path);
out_free:
	archive_entry_free(e);
	return r;
}

static int export_dir(struct export_ctx *x, int dfd, const char *path)
{
	size_t n;
	char **names = sorted_names(dfd, &n);
	char child[PATH_MAX];
	int r = 0;

	if (!names)
		return fail("export: %s: %s", *path ? path : ".", strerror(errno));
	for (size_t i = 0; i < n && r == 0; i++) {
		struct stat st;
		join(child, sizeof(child), path, names[i]);
		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = fail("export: %s: %s", child, strerror(errno));
			break;
		}
		/* Layer metadata is left out, a directory of it with all it holds
		 * (the store of symlinks' private xattrs, core/host.c). */
		if ((r = export_entry(x, dfd, names[i], child, &st)) || !S_ISDIR(st.st_mode) ||
		    is_metadata(names[i]))
			continue;
		int sub = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			r = fail("export: %s: %s", child, strerror(errno));
			break;
		}
		r = export_dir(x, sub, child);
		close(sub);
	}
	free_names(names, n);
	return r;
}

/* Writes upper as a layer tar to out ("-": standard output). */
static int export_upper(const char *upper, const char *out)
{
	struct export_ctx x = { .out = out };
	char tmp[PATH_MAX];
	bool to_stdout = strcmp(out, "-") == 0;
	int r;

	int dfd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return fail("upper directory %s: %s", upper, strerror(errno));
	if (!to_stdout &&
	    snprintf(tmp, sizeof(tmp), "%s.tmp.%d", out, (int)getpid()) >= (int)sizeof(tmp)) {
		close(dfd);
		return fail("export: %s: %s", out, strerror(ENAMETOOLONG));
	}
	/* Created here, not by libarchive, whose message has no reason. */
	int fd = to_stdout ? 1 : open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd < 0) {
		r = fail("export: %s: %s", out, strerror(errno));
		close(dfd);
		return r;
	}
	if (!(x.a = archive_write_new())) {
		close(dfd);
		if (!to_stdout) {
			close(fd);
			unlink(tmp);
		}
		return fail("out of memory");
	}
	archive_write_set_format_pax_restricted(x.a);
	archive_write_set_bytes_in_last_block(x.a, 1);
	if (archive_write_open_fd(x.a, fd) != ARCHIVE_OK) {
		r = fail("export: %s: %s", out, archive_error_string(x.a));
		goto out_free;
	}
	r = export_dir(&x, dfd, "");
	if (archive_write_close(x.a) != ARCHIVE_OK && r == 0)
		r = fail("export: %s: %s", out, archive_error_string(x.a));
	if (!to_stdout && close(fd) < 0 && r == 0)
		r = fail("export: %s: %s", out, strerror(errno));
	fd = -1;
	if (!to_stdout && r == 0 && rename(tmp, out) < 0)
		r = fail("export: %s: %s", out, strerror(errno));
out_free:
	if (!to_stdout && fd >= 0)
		close(fd);
	if (!to_stdout && r)
		unlink(tmp);
	archive_write_free(x.a);
	for (size_t k = 0; k < x.nseen; k++)
		free(x.seen[k].path);
	free(x.seen);
	close(dfd);
	return r;
}

/*
 * upper as a new layer of image base (oci:DIR:REF), tagged as target
 * says (oci:DIR:NEWREF): the layer is exported into the layout, then the
 * config, manifest and index are written (image.c).
 */
static int commit_upper(const char *upper, const char *base, const char *target,
			const char *created_by)
{
	struct lyr_error err = { "" };
	char *dir = NULL, *tmp = NULL;
	int r;

	if (img_oci_dir(target, &dir, &err) < 0)
		return fail("commit: %s", err.msg);
	if (asprintf(&tmp, "%s/blobs/sha256/.tmp.layer.%d", dir, (int)getpid()) < 0) {
		free(dir);
		return fail("out of memory");
	}
	if (!(r = export_upper(upper, tmp)) &&
	    img_commit(base, target, tmp, created_by, &err) < 0)
		r = fail("commit: %s", err.msg);
	unlink(tmp);
	free(tmp);
	free(dir);
	return r;
}

/* layerfs-helper commit UPPER --base oci:DIR:REF oci:DIR:NEWREF */
static int cmd_commit(int argc, char **argv)
{
	if (argc != 4 || strcmp(argv[1], "--base"))
		return fail("usage: layerfs commit UPPER --base oci:DIR:REF oci:DIR:NEWREF");
	struct stat st;
	if (stat(argv[0], &st) < 0)
		return fail("upper directory %s: %s", argv[0], strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fail("upper directory %s: %s", argv[0], strerror(ENOTDIR));
	return commit_upper(argv[0], argv[2], argv[3], "layerfs commit");
}

static int cmd_export(int argc, char **argv)
{
	if (argc != 2)
		return fail("usage: layerfs export UPPER -o FILE.tar");
	return export_upper(argv[0], argv[1]);
}

/* ---- 6. removing a tree ---------------------------------------------- */

/* rm -rf name (relative to dfd), also through directories without w/x. */
static int rm_tree_at(int dfd, const char *name)
{
	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	fchmodat(dfd, name, 0700, 0);
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	struct dirent *e;
	int r = 0;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			int r1 = rm_tree_at(fd, e->d_name);
			if (r1 && !r)
				r = r1;
		}
	}
	closedir(d);
	if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && !r)
		r = -errno;
	return r;
}

/* ---- 7. run ---------------------------------------------------------- */

static int parse_size(const char *s, uint64_t *out);

struct run_opts {
	const char *mount, *preload, *upper, *semantics, *cache, *trace, *export;
	const char *commit, *commit_base; /* --commit oci:DIR:NEWREF; the image lower */
	char cache_dir[PATH_MAX];  /* the cache used: --cache or the default, canonical */
	bool need_cache;           /* some lower is an archive */
	uint64_t cache_limit;      /* --cache-limit or LAYERFS_CACHE_LIMIT; UINT64_MAX: none */
	struct lyr_layer *held[MAX_LOWER]; /* the archive lowers, held for the whole job */
	size_t nheld;
	bool diff;
	bool unsupervised;      /* --allow-unsupervised */
	char *lowers[MAX_LOWER];
	size_t nlower;
	char **cmd;
};

/* The job's pid while it runs, and the last signal the launcher got. */
static volatile sig_atomic_t run_child;
static volatile sig_atomic_t run_signal;
/* The last signal came from a process (kill, timeout, a CI runner), not
 * from the terminal: the job is ended, as `docker stop` ends a container. */
static volatile sig_atomic_t run_stop;

/* In the job's reaper (run_reaper): the launcher's pid, and what to
 * remove should the launcher die first (its temporary directories). */
static pid_t run_launcher;
static const char *run_leftovers[2];

/* How long the job's processes have between SIGTERM and SIGKILL. */
#define RUN_GRACE_MS 2000

static const int run_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };
#define N_RUN_SIGNALS (sizeof(run_signals) / sizeof(run_signals[0]))

/*
 * A signal sent to the launcher by a process (kill, timeout, a CI runner)
 * goes on to the job.  One the terminal sends (Ctrl-C: si_code SI_KERNEL)
 * reached the job too, as it is in our process group: not sent twice.
 */
static void run_on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	run_signal = sig;
	if (si->si_code <= 0)
		run_stop = 1;
	if (run_child > 0 && si->si_code <= 0 && si->si_pid != run_child)
		kill(run_child, sig);
}

/* SIGCHLD only has to end the launcher's sigsuspend; the job gets what
 * the launcher was started with. */
static struct sigaction run_old_chld;

static void run_on_child(int sig)
{
	(void)sig;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 1 && dir[0] == '/')
		return true;
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/*
 * path made absolute (against the working directory), "." and ".." and
 * repeated slashes removed (".." lexically), then its longest existing
 * prefix resolved as realpath(3) would: close to `realpath -m`.  Into out
 * (PATH_MAX bytes); 0 or -errno.
 */
static int canon_path(const char *path, char *out)
{
	char abs[2 * PATH_MAX], norm[PATH_MAX], head[PATH_MAX + 1];
	int r;

	if (path[0] == '/') {
		snprintf(abs, sizeof(abs), "%s", path);
	} else {
		if (!getcwd(head, sizeof(head)))
			return -errno;
		if (snprintf(abs, sizeof(abs), "%s/%s", head, path) >= (int)sizeof(abs))
			return -ENAMETOOLONG;
	}
	if ((r = lyr_path_normalize(abs, norm, sizeof(norm) - 1)) < 0)
		return r;
	/* norm has no leading '/': find the longest prefix that resolves. */
	size_t len = strlen(norm);
	for (size_t cut = len;; ) {
		snprintf(head, sizeof(head), "/%.*s", (int)cut, norm);
		if (realpath(head, out)) {
			const char *rest = norm + cut;
			size_t n = strlen(out);
			if (*rest == '/')
				rest++;
			if (*rest && snprintf(out + n, PATH_MAX - n, "%s%s",
					      n > 1 ? "/" : "", rest) >= (int)(PATH_MAX - n))
				return -ENAMETOOLONG;
			return 0;
		}
		if (cut == 0)
			return -errno;
		char *slash = memrchr(norm, '/', cut);
		cut = slash ? (size_t)(slash - norm) : 0;
	}
}

/* mountinfo's octal escapes (\040 for a space...) undone in place. */
static void mountinfo_unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* Kernel file systems that hold no files of anyone's: /proc, /sys, /dev... */
static bool fstype_is_virtual(const char *t)
{
	static const char *const v[] = {
		"proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "debugfs",
		"tracefs", "securityfs", "bpf", "configfs", "pstore", "efivarfs", "mqueue",
		"binfmt_misc", "fusectl", "hugetlbfs", "rpc_pipefs", "nsfs", "autofs",
		"selinuxfs", "nfsd",
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (!strcmp(t, v[i]))
			return true;
	return false;
}

/*
 * For canonical path p, from /proc/self/mountinfo: the kernel file system
 * p lies on (within) or, when within is false, one mounted strictly below
 * p, when it is a virtual one.  Its type and mount point go to type and
 * where; false when there is none (or no mountinfo to read).
 */
static bool virtual_fs(const char *p, bool within, char *type, size_t tsize, char *where)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, best_type[64] = "";
	size_t cap = 0, best_len = 0;
	bool found = false;

	if (!f)
		return false;
	while (getline(&line, &cap, f) > 0) {
		char mnt[PATH_MAX], fstype[64];
		const char *sep = strstr(line, " - ");
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT ... - FSTYPE SOURCE OPTIONS */
		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(sep + 3, "%63s", fstype) != 1)
			continue;
		mountinfo_unescape(mnt);
		if (within) {
			/* the deepest mount holding p; a later line covers an earlier one */
			if (path_within(p, mnt) && strlen(mnt) >= best_len) {
				best_len = strlen(mnt);
				snprintf(best_type, sizeof(best_type), "%s", fstype);
				snprintf(where, PATH_MAX, "%s", mnt);
			}
		} else if (!found && strcmp(mnt, p) && path_within(mnt, p) &&
			   fstype_is_virtual(fstype)) {
			snprintf(type, tsize, "%s", fstype);
			snprintf(where, PATH_MAX, "%s", mnt);
			found = true;
		}
	}
	free(line);
	fclose(f);
	if (within && best_len && fstype_is_virtual(best_type)) {
		snprintf(type, tsize, "%s", best_type);
		found = true;
	}
	return found;
}

/* An upper or cache directory on /proc, /sys...: EXIT_SETUP, else 0. */
static int check_not_virtual(const char *what, const char *dir)
{
	char canon[PATH_MAX], type[64], where[PATH_MAX];

	if (canon_path(dir, canon) == 0 && virtual_fs(canon, true, type, sizeof(type), where))
		return fail("%s %s is on the %s file system mounted at %s: use a directory "
			    "on a disk or tmpfs", what, dir, type, where);
	return 0;
}

/*
 * The mount point: no longer than a path may be, not an existing file,
 * not on or over a kernel file system such as /proc (the view would hide
 * it from the job).  EXIT_SETUP after one message, else 0.
 */
static int check_mount_point(const char *mount)
{
	char canon[PATH_MAX], type[64], where[PATH_MAX];
	struct stat st;

	if (strlen(mount) >= PATH_MAX)
		return fail("mount point %s: %s", mount, strerror(ENAMETOOLONG));
	if (stat(mount, &st) == 0 && !S_ISDIR(st.st_mode))
		return fail("mount point %s exists and is not a directory", mount);
	if (canon_path(mount, canon) < 0)
		return 0;	/* nothing on the host to hide */
	if (virtual_fs(canon, true, type, sizeof(type), where))
		return fail("mount point %s is on the %s file system mounted at %s", mount,
			    type, where);
	if (virtual_fs(canon, false, type, sizeof(type), where))
		return fail("mount point %s would hide the %s file system mounted at %s", mount,
			    type, where);
	return 0;
}

/*
 * A mount point over a host directory that holds something hides it from
 * the job: said once, unless a lower is that directory (overlaid in place).
 */
static void mount_warning(const struct run_opts *o)
{
	DIR *d = opendir(o->mount);
	struct dirent *e;
	bool full = false;

	if (!d)
		return;
	while (!full && (e = readdir(d)))
		full = strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	for (size_t i = 0; i < o->nlower && full; i++)
		if (!strcmp(o->lowers[i], o->mount))
			full = false;
	if (full)
		fprintf(stderr, "%s: warning: the mount point %s is a directory that is not "
			"empty: the job sees the view there, not what it holds\n", prog, o->mount);
}

/*
 * Where COMMAND is on the host (malloc'ed, absolute), or NULL when it has
 * to be found in the view: not on the host, inside the mount point, or
 * named through a PATH entry inside the mount point.
 */
static char *host_command(const char *cmd, const char *mount)
{
	char abs[PATH_MAX], *found = NULL;
	struct stat st;

	if (strchr(cmd, '/')) {
		if (!realpath(cmd, abs) || stat(abs, &st) < 0 || !S_ISREG(st.st_mode))
			return NULL;
		return path_within(abs, mount) ? NULL : xstrdup(abs);
	}
	const char *path = getenv("PATH");
	char *list = xstrdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (char *dir = list, *next; dir; dir = next) {
		if ((next = strchr(dir, ':')))
			*next++ = '\0';
		char cand[PATH_MAX], adir[PATH_MAX];
		if (!realpath(*dir ? dir : ".", adir))
			adir[0] = '\0';
		if ((*dir == '/' && path_within(dir, mount)) || (adir[0] && path_within(adir, mount)))
			break;	/* the view decides from here on */
		snprintf(cand, sizeof(cand), "%s/%s", *dir ? dir : ".", cmd);
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0 &&
		    realpath(cand, abs)) {
			found = path_within(abs, mount) ? NULL : xstrdup(abs);
			break;
		}
	}
	free(list);
	return found;
}

/* What kind of program the file at path is (lyr_exec_kind). */
static int file_kind(const char *path, const char **why)
{
	unsigned char buf[LYR_EXEC_HEAD];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return LYR_EXEC_UNKNOWN;
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	return n > 0 ? lyr_exec_kind(buf, (size_t)n, why) : LYR_EXEC_UNKNOWN;
}

/*
 * A fresh directory NAME.XXXXXX (0700), on tmpfs when there is one, and
 * never inside the mount point, a directory lower or the cache.
 */
static char *make_temp_dir(const struct run_opts *o, const char *name)
{
	const char *bases[] = { getenv("XDG_RUNTIME_DIR"), "/dev/shm", getenv("TMPDIR"), "/tmp" };
	char tmpl[PATH_MAX], canon[PATH_MAX];
	int err = ENOENT;
	bool misplaced = false;

	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		const char *b = bases[i];
		struct stat st;
		if (!b || b[0] != '/' || stat(b, &st) < 0 || !S_ISDIR(st.st_mode) ||
		    canon_path(b, canon) < 0)
			continue;
		if (snprintf(tmpl, sizeof(tmpl), "%s/%s.XXXXXX", canon, name) >=
		    (int)sizeof(tmpl))
			continue;
		bool bad = path_within(tmpl, o->mount) ||
			   (o->need_cache && path_within(tmpl, o->cache_dir));
		for (size_t k = 0; k < o->nlower && !bad; k++)
			bad = is_dir(o->lowers[k]) && path_within(tmpl, o->lowers[k]);
		if (bad) {
			misplaced = true;
			continue;
		}
		if (mkdtemp(tmpl))
			return xstrdup(tmpl);
		err = errno;
	}
	if (misplaced && err == ENOENT)
		fail("no place for a temporary directory outside the layers and the cache: "
		     "set TMPDIR");
	else
		fail("cannot create a temporary directory in $XDG_RUNTIME_DIR, /dev/shm, "
		     "$TMPDIR or /tmp: %s", strerror(err));
	return NULL;
}

/*
 * The archive's own entry for its root ("./", ".", "/"), when it is the
 * first one (as `tar -C DIR .` writes it): its stat into st.  An index
 * has a root either way; only this entry says what an extracted copy's
 * top directory gets.
 */
static bool archive_root_entry(const char *path, struct stat *st)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	bool found = false;

	if (!a)
		return false;
	archive_read_support_filter_all(a);
	archive_read_support_format_all(a);
	if (archive_read_open_filename(a, path, 65536) == ARCHIVE_OK &&
	    archive_read_next_header(a, &e) == ARCHIVE_OK) {
		const char *n = archive_entry_pathname(e);
		while (n && (*n == '/' || (n[0] == '.' && (n[1] == '/' || !n[1]))))
			n++;
		if (n && !*n && archive_entry_filetype(e) == AE_IFDIR) {
			*st = *archive_entry_stat(e);
			found = true;
		}
	}
	archive_read_free(a);
	return found;
}

/*
 * The view's root shows the temporary upper's own directory: it gets the
 * mode, owner (when this process may give it) and times of the topmost
 * lower's root entry when that is an archive's, as extracting it would.
 */
static void temp_upper_root(const struct run_opts *o, const char *upper)
{
	struct stat st;

	if (is_dir(o->lowers[0]) || !archive_root_entry(o->lowers[0], &st))
		return;
	if (st.st_uid != geteuid() || st.st_gid != getegid())
		if (chown(upper, st.st_uid, st.st_gid) < 0 && errno != EPERM)
			fail("warning: %s: %s", upper, strerror(errno));
	struct timespec t[2] = { { .tv_nsec = UTIME_OMIT }, st.st_mtim };
	if (chmod(upper, st.st_mode & 07777) < 0 || utimensat(AT_FDCWD, upper, t, 0) < 0)
		fail("warning: %s: %s", upper, strerror(errno));
}

/* A fresh directory for a temporary upper layer. */
static char *make_temp_upper(const struct run_opts *o)
{
	char *dir = make_temp_dir(o, "layerfs-upper");

	if (dir) {
		/* The view's root shows this mode: as `mkdir` would make it. */
		mode_t um = umask(0);
		umask(um);
		chmod(dir, 0777 & ~um);
	}
	return dir;
}

/*
 * The cache the job uses: --cache, or the default (LAYERFS_CACHE, made
 * absolute here once, or the user's), canonical.  Then where the cache
 * and the upper are against each other, the mount point and the lowers.
 * The cache only matters when a lower is an archive.
 */
static int run_check_places(struct run_opts *o)
{
	char def[PATH_MAX];
	const char *c = o->cache;
	int r;

	if (!c) {
		if (lyr_default_cache_dir(def, sizeof(def)) < 0)
			return fail("no usable cache directory: give one with --cache DIR");
		c = def;
	}
	if ((r = canon_path(c, o->cache_dir)) < 0)
		return fail("cache directory %s: %s", c, strerror(-r));
	c = o->cache_dir;
	if (o->upper && (r = check_not_virtual("upper directory", o->upper)))
		return r;
	if (!o->need_cache)
		return 0;
	if ((r = check_not_virtual("cache directory", c)))
		return r;
	if (path_within(o->mount, c))
		return fail("mount point %s is inside the cache directory %s", o->mount, c);
	if (path_within(c, o->mount))
		return fail("cache directory %s is inside the mount point %s", c, o->mount);
	for (size_t i = 0; i < o->nlower; i++)
		if (is_dir(o->lowers[i]) && path_within(c, o->lowers[i]))
			return fail("cache directory %s is inside the lower layer %s", c,
				    o->lowers[i]);
	if (o->upper && path_within(o->upper, c))
		return fail("upper directory %s is inside the cache directory %s", o->upper, c);
	if (o->upper && path_within(c, o->upper))
		return fail("cache directory %s is inside the upper directory %s", c, o->upper);
	return 0;
}

/* Checks everything the job needs; EXIT_SETUP after one message. */
static int run_check(struct run_opts *o)
{
	int r;

	if ((r = check_mount_point(o->mount)))
		return r;
	if (o->commit && (o->nlower != 1 || strncmp(o->lowers[0], "oci:", 4)))
		return fail("--commit %s: the lower must be one image, --lower oci:DIR:REF",
			    o->commit);
	if (o->commit)
		o->commit_base = o->lowers[0];
	if ((r = expand_images(o->lowers, &o->nlower, o->cache)))
		return r;
	for (size_t i = 0; i < o->nlower; i++) {
		struct stat st;
		if (stat(o->lowers[i], &st) < 0)
			return fail("lower layer %s: %s", o->lowers[i], strerror(errno));
		o->need_cache |= !S_ISDIR(st.st_mode);
	}
	if ((r = run_check_places(o)))
		return r;
	if (o->need_cache && (r = lyr_mkdirs(o->cache_dir, 0777)) < 0)
		return fail("cache directory %s: %s", o->cache_dir, strerror(-r));
	/*
	 * Each archive's layer is kept until the job ends: it holds the
	 * cache entry, so that no prune (another job's, `layerfs cache`)
	 * removes what the job's processes have open or mapped, even after
	 * the process that opened a file exec'd something that never looks
	 * under the mount point again.
	 */
	for (size_t i = 0; i < o->nlower; i++) {
		struct lyr_layer *l;
		if ((r = open_lower(o->lowers[i], o->cache_dir, 0.5, &l)))
			return r;
		if (lyr_archive_mark_used(l) == -EINVAL)
			lyr_destroy(l);	/* a directory */
		else
			o->held[o->nheld++] = l;
	}
	if (o->upper && (r = prepare_upper(o->upper)))
		return r;
	if (o->trace) {
		int fd = open(o->trace, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return fail("trace file %s: %s", o->trace, strerror(errno));
		close(fd);
	}
	if (o->export && strcmp(o->export, "-")) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", o->export);
		char *slash = strrchr(dir, '/');
		if (slash)
			*(slash == dir ? slash + 1 : slash) = '\0';
		const char *d = slash ? dir : ".";
		struct stat st;
		if (stat(o->export, &st) == 0 && S_ISDIR(st.st_mode))
			return fail("export file %s: %s", o->export, strerror(EISDIR));
		if (access(d, W_OK | X_OK) < 0)
			return fail("export file %s: %s", o->export, strerror(errno));
		/* Where access(2) cannot tell (root; /proc): a file made and
		 * removed, as the export will make its temporary one. */
		char probe[PATH_MAX];
		if (snprintf(probe, sizeof(probe), "%s.tmp.%d", o->export, (int)getpid()) >=
		    (int)sizeof(probe))
			return fail("export file %s: %s", o->export, strerror(ENAMETOOLONG));
		int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			return fail("export file %s: %s", o->export, strerror(errno));
		close(fd);
		unlink(probe);
	}
	return 0;
}

/*
 * What the child executes: COMMAND itself when it is a host program, else
 * `layerfs-helper exec` (which is preloaded: its exec finds COMMAND in the
 * view, and it says so when there is none).  Built before the fork, so
 * that the child only calls async-signal-safe functions.
 */
static char **run_argv(const struct run_opts *o, const char *host, const char *enter_sock)
{
	size_t n = 0;

	while (o->cmd[n])
		n++;
	char **argv = xrealloc(NULL, (n + 6) * sizeof(*argv));
	if (host && enter_sock) {
		/* A program that makes its own system calls: supervised from
		 * its first instruction (layerfs-helper enter). */
		argv[0] = (char *)"layerfs-helper";
		argv[1] = (char *)"enter";
		argv[2] = (char *)enter_sock;
		argv[3] = (char *)"";
		argv[4] = (char *)host;
		memcpy(argv + 5, o->cmd, (n + 1) * sizeof(*argv));
	} else if (host) {
		memcpy(argv, o->cmd, (n + 1) * sizeof(*argv));
	} else {
		argv[0] = (char *)"layerfs-helper";
		argv[1] = (char *)"exec";
		memcpy(argv + 2, o->cmd, (n + 1) * sizeof(*argv));
	}
	return argv;
}

/* In the child: the signal handling the launcher was started with, then exec. */
static void run_exec(char **argv, const char *host, const struct sigaction *old,
		     const sigset_t *mask)
{
	for (size_t i = 0; i < N_RUN_SIGNALS; i++)
		sigaction(run_signals[i], &old[i], NULL);
	sigaction(SIGCHLD, &run_old_chld, NULL);
	sigprocmask(SIG_SETMASK, mask, NULL);
	if (!host || !strcmp(argv[0], "layerfs-helper"))
		execv("/proc/self/exe", argv);
	else
		execv(host, argv);
	int e = errno;
	const char *what = host ? host : "/proc/self/exe", *why = strerrordesc_np(e);
	/* Plain writes: nothing that could wait on a lock taken before the fork. */
	if (write(2, "layerfs: ", 9) < 0 || write(2, what, strlen(what)) < 0 ||
	    write(2, ": ", 2) < 0 || write(2, why, strlen(why)) < 0 || write(2, "\n", 1) < 0)
		_exit(126);
	_exit(e == ENOENT ? 127 : 126);
}

/* The job's environment, set in this process before the fork. */
static int run_env(const struct run_opts *o, const char *upper)
{
	char *lower = lyr_lower_list_join(o->lowers, o->nlower);
	if (!lower)
		return fail("cannot set the environment: %s", strerror(ENOMEM));
	int r = setenv("LAYERFS_MOUNT", o->mount, 1) | setenv("LAYERFS_LOWER", lower, 1) |
		setenv("LAYERFS_UPPER", upper, 1) | setenv("LAYERFS_SEMANTICS", o->semantics, 1) |
		setenv("LD_PRELOAD", o->preload, 1);
	r |= setenv("LAYERFS_CACHE", o->cache_dir, 1);
	if (o->trace)
		r |= setenv("LAYERFS_TRACE", o->trace, 1);
	unsetenv("LAYERFS_CWD");
	/* Recorded for a later `layerfs diff UPPER`; nothing to do if it can't be. */
	setxattr(upper, LOWER_XATTR, lower, strlen(lower), 0);
	if (o->cache)
		setxattr(upper, CACHE_XATTR, o->cache, strlen(o->cache), 0);
	else
		removexattr(upper, CACHE_XATTR);
	free(lower);
	return r ? fail("cannot set the environment: %s", strerror(errno)) : 0;
}

static int wait_status(int st)
{
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

/*
 * Reaps a child of this thread that has ended (pid, or any with -1): its
 * pid and wait status, 0 when none has ended yet, -1 (errno ECHILD) when
 * there is no child left.  A child the supervisor's threads have stopped
 * with ptrace is reported as stopped to every thread of this process (the
 * tracer is in its real parent's group) whatever the options: that event
 * is the tracer's, so it is only looked at (WNOWAIT), never taken.
 */
static pid_t run_reap(pid_t pid, int *st)
{
	siginfo_t si;

	si.si_pid = 0;
	if (waitid(pid > 0 ? P_PID : P_ALL, pid > 0 ? (id_t)pid : 0, &si,
		   WEXITED | WNOHANG | WNOWAIT | __WNOTHREAD) < 0)
		return errno == EINTR ? 0 : -1;
	if (si.si_pid == 0 ||
	    (si.si_code != CLD_EXITED && si.si_code != CLD_KILLED && si.si_code != CLD_DUMPED))
		return 0;
	return waitpid(si.si_pid, st, WNOHANG | __WNOTHREAD) == si.si_pid ? si.si_pid : 0;
}

/*
 * The processes below this one, from /proc (every process's parent):
 * their pids into *out (malloc'ed), their number returned.
 */
static size_t job_processes(pid_t **out)
{
	struct proc { pid_t pid, ppid; bool in; } *v = NULL;
	size_t n = 0, cap = 0, count = 0;
	DIR *d = opendir("/proc");
	struct dirent *e;

	*out = NULL;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[300], buf[512];
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t got = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (got <= 0)
			continue;
		buf[got] = '\0';
		/* PID (COMM) STATE PPID ...: COMM may hold anything, ')' too */
		char *rp = strrchr(buf, ')');
		int ppid;
		if (!rp || sscanf(rp + 1, " %*c %d", &ppid) != 1)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n++] = (struct proc){ (pid_t)atoi(e->d_name), ppid, false };
	}
	closedir(d);
	/* Below us: a parent that is us or below us, until nothing changes. */
	pid_t self = getpid();
	for (bool more = true; more; ) {
		more = false;
		for (size_t i = 0; i < n; i++) {
			if (v[i].in)
				continue;
			bool in = v[i].ppid == self;
			for (size_t k = 0; k < n && !in; k++)
				in = v[k].in && v[k].pid == v[i].ppid;
			if (in) {
				v[i].in = more = true;
				count++;
			}
		}
	}
	if (count) {
		*out = xrealloc(NULL, count * sizeof(**out));
		count = 0;
		for (size_t i = 0; i < n; i++)
			if (v[i].in)
				(*out)[count++] = v[i].pid;
	}
	free(v);
	return count;
}

/* In the job's reaper: the launcher is gone (it was killed with SIGKILL). */
static bool run_orphaned(void)
{
	return run_launcher > 0 && getppid() != run_launcher;
}

/*
 * Ends the job as a container ends: every process still below this one
 * (the job's reaper, run_reaper; or the launcher, for what a killed reaper
 * left; both are subreapers, so a process that setsid'd or double-forked
 * is still below) gets SIGTERM (and SIGCONT, should it be stopped), once:
 * what it then starts to shut down (a `rm` in a trap) is left to run.
 * RUN_GRACE_MS later, or at once when the launcher is gone, whatever is
 * left gets SIGKILL.  Each is reaped.  When COMMAND (cmd) still runs, it
 * had the launcher's signal instead of SIGTERM, and its status goes to
 * *status.  Returns when no process of the job is left.  Only this
 * thread's children are waited for (__WNOTHREAD): in the launcher, the
 * supervisor's threads wait for the threads they stop with ptrace.
 * Orphans are reparented to this thread, the first of the process.
 */
static void run_end(pid_t cmd, int *status)
{
	struct timespec start, now, tick = { 0, 10 * 1000 * 1000 };
	pid_t *procs;
	bool termed = false;
	int st;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		pid_t p;
		while ((p = run_reap(-1, &st)) > 0)
			if (p == cmd) {
				*status = wait_status(st);
				cmd = 0;
			}
		if (p < 0)
			break;	/* none left: every process below had a parent here */
		clock_gettime(CLOCK_MONOTONIC, &now);
		bool killing = elapsed(&start, &now) * 1000 >= RUN_GRACE_MS || run_orphaned();
		if (termed && !killing) {
			nanosleep(&tick, NULL);
			continue;
		}
		size_t n = job_processes(&procs);
		for (size_t i = 0; i < n; i++) {
			if (killing) {
				kill(procs[i], SIGKILL);
			} else if (procs[i] != cmd) {
				kill(procs[i], SIGTERM);
				kill(procs[i], SIGCONT);
			}
		}
		free(procs);
		termed = true;
		nanosleep(&tick, NULL);
	}
}

/*
 * Waits for COMMAND, then ends the rest of the job (run_end); COMMAND's
 * status as a shell reports it.  A signal a process sent the launcher
 * (run_stop) ends the whole job at once, COMMAND included.  Signals are
 * blocked but while sigsuspend waits with waitmask, so none is missed.
 */
static int run_wait(pid_t pid, const sigset_t *waitmask)
{
	int st, status = EXIT_SETUP;

	for (;;) {
		pid_t r = run_reap(pid, &st);
		if (r == pid) {
			status = wait_status(st);
			run_child = pid = 0;
			break;
		}
		if (r < 0) {
			fail("waiting for the command: %s", strerror(errno));
			break;
		}
		if (run_stop || run_orphaned())
			break;
		sigsuspend(waitmask);
	}
	run_end(pid, &status);
	run_child = 0;
	return status;
}

/*
 * The job's reaper: the launcher's child, and the parent and subreaper of
 * every process of the job, so that the job ends with the launcher however
 * the launcher ends.  It starts COMMAND, waits for it and ends the rest of
 * the job (run_wait); the launcher's signals reach it (run_on_signal) and
 * go on to COMMAND.  Its exit status is COMMAND's as a shell reports it.
 * Should the launcher die first (SIGKILL: nothing of it runs), the kernel
 * wakes the reaper (its parent-death signal is SIGCHLD, which sigsuspend
 * waits for), which kills every process of the job at once and removes
 * the launcher's temporary directories.  It never returns.
 */
static void run_reaper(char **argv, const char *host, const struct sigaction *old,
		       const sigset_t *mask, const sigset_t *waitmask, const struct sup *sup)
{
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	prctl(PR_SET_PDEATHSIG, SIGCHLD, 0, 0, 0);
	if (run_orphaned())
		_exit(EXIT_SETUP);	/* before the command started: nothing to end */
	pid_t pid = fork();
	if (pid < 0) {
		fail("cannot start the command: %s", strerror(errno));
		_exit(EXIT_SETUP);
	}
	if (pid == 0) {
		if (sup)
			umask(sup_umask(sup));
		run_exec(argv, host, old, mask);
	}
	run_child = pid;
	int status = run_wait(pid, waitmask);
	if (run_orphaned())
		for (size_t i = 0; i < 2; i++)
			if (run_leftovers[i])
				rm_tree_at(AT_FDCWD, run_leftovers[i]);
	_exit(status);
}

/* The command as a history entry names it: its words, space-separated. */
static char *cmd_line(char **cmd)
{
	size_t n = 1;

	for (char **c = cmd; *c; c++)
		n += strlen(*c) + 1;
	char *s = xrealloc(NULL, n), *p = s;
	*s = '\0';
	for (char **c = cmd; *c; c++)
		p += sprintf(p, "%s%s", c == cmd ? "" : " ", *c);
	return s;
}

/* --diff, --commit and --export, after the job; a failure turns success
 * into 125.  --commit only after a success. */
static int run_report(const struct run_opts *o, const char *upper, int status)
{
	int r = 0;

	if (o->diff) {
		struct lyr_layer *low;
		if (!(r = open_lowers(o->lowers, o->nlower, o->cache_dir, &low))) {
			r = print_diff(stderr, upper, low, true);
			lyr_destroy(low);
		}
	}
	if (o->commit && status == 0) {
		char *by = cmd_line(o->cmd);
		int r2 = commit_upper(upper, o->commit_base, o->commit, by);
		free(by);
		if (!r)
			r = r2;
	}
	if (o->export) {
		int r2 = export_upper(upper, o->export);
		if (!r)
			r = r2;
	}
	return r && status == 0 ? EXIT_SETUP : status;
}

/*
 * What the supervisor answers from: the job's layers opened as the shim
 * opens them (writable lowers under writable-files semantics), and where
 * their files are stored.
 */
static int sup_config_for(const struct run_opts *o, const char *upper, char *supdir,
			  struct sup_config *c)
{
	struct lyr_layer *lowers[MAX_LOWER], *up = NULL;
	struct lyr_error err = { "" };
	bool wf = !strcmp(o->semantics, "writable-files");
	int r = 0;
	size_t i;

	c->storage = xrealloc(NULL, (o->nlower + 2) * sizeof(char *));
	c->nstorage = 0;
	for (i = 0; i < o->nlower && r == 0; i++) {
		struct stat st;
		if (stat(o->lowers[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			r = lyr_host_open(o->lowers[i], wf ? 0 : LYR_HOST_RDONLY, &lowers[i], &err);
			c->storage[c->nstorage++] = o->lowers[i];
		} else {
			struct lyr_archive_opts ao = { .cache_dir = o->cache_dir };
			r = lyr_archive_open(o->lowers[i], &ao, &lowers[i], &err);
		}
	}
	if (r < 0) {
		while (--i > 0)
			lyr_destroy(lowers[i - 1]);
		return fail("the supervisor: %s", err.msg);
	}
	r = strcmp(upper, "mem") ? lyr_host_open(upper, LYR_HOST_UPPER, &up, &err) :
				   lyr_mem_open(&up, &err);
	if (r < 0) {
		for (i = 0; i < o->nlower; i++)
			lyr_destroy(lowers[i]);
		return fail("the supervisor: %s", err.msg);
	}
	if (strcmp(upper, "mem"))
		c->storage[c->nstorage++] = (char *)upper;
	if (o->need_cache)
		c->storage[c->nstorage++] = (char *)o->cache_dir;
	struct lyr_union_opts uo = {
		.flags = wf ? LYR_UNION_WRITABLE_FILES : 0,
		.copied_up = sup_copied_up,
		.dev = lyr_mount_dev(o->mount),
	};
	if (lyr_union_open(up, lowers, o->nlower, &uo, &c->fs, &err) < 0)
		return fail("the supervisor: %s", err.msg);
	c->lowers = xrealloc(NULL, o->nlower * sizeof(*c->lowers));
	memcpy(c->lowers, lowers, o->nlower * sizeof(*c->lowers));
	c->nlower = o->nlower;
	c->mount = o->mount;
	c->dir = supdir;
	return 0;
}

/*
 * Starts the supervisor of the job's programs that make their own system
 * calls, with its private directory (socket, stand-ins), and tells the
 * job where it is.  0, or EXIT_SETUP after a message.
 */
static int run_supervise(const struct run_opts *o, const char *upper, struct sup **sup,
			 char **supdir)
{
	char self[PATH_MAX];
	struct sup_config c = { 0 };
	int r;

	if (!(*supdir = make_temp_dir(o, "layerfs-sup")))
		return EXIT_SETUP;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return fail("cannot find the helper itself: %s", strerror(errno));
	self[n] = '\0';
	if ((r = sup_config_for(o, upper, *supdir, &c)))
		return r;
	r = sup_start(&c, sup);
	free(c.storage);
	free(c.lowers);
	if (r < 0)
		return fail("cannot start the supervisor: %s", strerror(-r));
	if (setenv("LAYERFS_SUPERVISOR", sup_socket(*sup), 1) ||
	    setenv("LAYERFS_HELPER", self, 1))
		return fail("cannot set the environment: %s", strerror(errno));
	return 0;
}

/*
 * After the job: its archives' entries marked used and let go; then, with
 * a cache limit and unless the job was interrupted, the cache pruned to
 * it (entries other jobs hold stay).  A problem is a warning only.
 */
static void run_release(struct run_opts *o, bool prune)
{
	struct lyr_cache_prune_opts po = { .max_size = o->cache_limit, .max_age = -1 };
	struct lyr_cache_report rep;
	struct lyr_error err = { "" };

	for (size_t i = 0; i < o->nheld; i++) {
		lyr_archive_mark_used(o->held[i]);
		lyr_destroy(o->held[i]);
	}
	o->nheld = 0;
	if (prune && o->need_cache && o->cache_limit != UINT64_MAX &&
	    lyr_cache_prune(o->cache_dir, &po, &rep, &err) < 0)
		fail("warning: %s", err.msg);
}

static int run_job(struct run_opts *o)
{
	struct sigaction sa = { .sa_sigaction = run_on_signal, .sa_flags = SA_SIGINFO };
	struct sigaction old[N_RUN_SIGNALS];
	sigset_t block, mask;
	char *upper = NULL, *host, **argv = NULL, *supdir = NULL;
	struct sup *sup = NULL;
	bool prune = false;
	int r;

	if ((r = run_check(o))) {
		run_release(o, false);
		return r;
	}
	mount_warning(o);
	host = host_command(o->cmd[0], o->mount);
	const char *why = NULL, *nosup = NULL;
	bool own = host && file_kind(host, &why) == LYR_EXEC_OWN;
	if (!o->unsupervised && !sup_available(&nosup) && own) {
		r = fail("%s is %s: it makes its own system calls, which only a supervisor "
			 "sees, and %s (--allow-unsupervised runs it without)", host, why, nosup);
		goto out_free;
	}

	/* From here on a signal must not leave a temporary upper behind. */
	sigemptyset(&block);
	for (size_t i = 0; i < N_RUN_SIGNALS; i++)
		sigaddset(&block, run_signals[i]);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &mask);
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < N_RUN_SIGNALS; i++) {
		/* Ignored when we started (nohup, a background job): stays so. */
		sigaction(run_signals[i], NULL, &old[i]);
		if (old[i].sa_handler != SIG_IGN)
			sigaction(run_signals[i], &sa, NULL);
	}
	struct sigaction chld = { .sa_handler = run_on_child };
	sigemptyset(&chld.sa_mask);
	sigaction(SIGCHLD, &chld, &run_old_chld);
	/*
	 * Every process of the job stays below the launcher, whatever it
	 * does (setsid, a double fork): orphans go to the job's reaper
	 * (run_reaper), or to the launcher should the reaper be killed, so
	 * that the job can be ended whole (run_end), and the supervisor may
	 * act on each (ptrace wants an ancestor).
	 */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

	if (o->upper)
		upper = xstrdup(o->upper);
	else if (!(upper = make_temp_upper(o))) {
		r = EXIT_SETUP;
		goto out_free;
	}
	if ((r = run_env(o, upper)))
		goto out_rm;
	if (o->unsupervised) {
		if (own)
			fprintf(stderr, "%s: warning: %s is %s: its system calls bypass the view\n",
				prog, host, why);
		r = setenv("LAYERFS_UNSUPERVISED", "1", 1);
	} else if (!nosup) {
		r = run_supervise(o, upper, &sup, &supdir);
	}
	if (r)
		goto out_rm;
	argv = run_argv(o, host, own && sup ? sup_socket(sup) : NULL);
	if (!o->upper)
		temp_upper_root(o, upper);
	sigset_t waitmask = mask;
	for (size_t i = 0; i < N_RUN_SIGNALS; i++)
		sigdelset(&waitmask, run_signals[i]);
	sigdelset(&waitmask, SIGCHLD);
	run_leftovers[0] = supdir;
	run_leftovers[1] = o->upper ? NULL : upper;
	run_launcher = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		run_launcher = 0;
		r = fail("cannot start the command: %s", strerror(errno));
		goto out_rm;
	}
	if (pid == 0)
		run_reaper(argv, host, old, &mask, &waitmask, sup);
	run_launcher = 0;
	/* The reaper ends the job (a signal the launcher gets goes on to it);
	 * then, should the reaper itself have been killed, what it left. */
	run_child = pid;
	int st, status = EXIT_SETUP;
	pid_t w;
	while ((w = run_reap(pid, &st)) == 0)
		sigsuspend(&waitmask);
	if (w == pid)
		status = wait_status(st);
	else
		fail("waiting for the command: %s", strerror(errno));
	run_child = 0;
	run_end(0, &status);
	sigprocmask(SIG_SETMASK, &mask, NULL);

	/*
	 * Interrupted (the job died of a signal the launcher got too): only
	 * clean up, quickly, as a CI runner's grace period expects.
	 */
	bool interrupted = status > 128 && run_signal;
	r = interrupted ? status : run_report(o, upper, status);
	prune = !interrupted;
out_rm:
	sup_stop(sup);
	/* Orphans of the job the launcher inherited as their subreaper. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	/* After the supervisor, which holds the job's cache entries too. */
	run_release(o, prune);
	if (supdir && rm_tree_at(AT_FDCWD, supdir) < 0)
		fail("warning: cannot remove the supervisor's directory %s", supdir);
	if (!o->upper && rm_tree_at(AT_FDCWD, upper) < 0)
		fail("warning: cannot remove the temporary upper directory %s", upper);
out_free:
	free(supdir);
	run_release(o, false);
	free(upper);
	free(argv);
	free(host);
	return r;
}

static int cmd_run(int argc, char **argv)
{
	struct run_opts o = { .semantics = "read-only", .cache_limit = UINT64_MAX };
	const char *limit = getenv("LAYERFS_CACHE_LIMIT"), *limit_from = "LAYERFS_CACHE_LIMIT";
	int i;

	for (i = 0; i < argc && strcmp(argv[i], "--"); i++) {
		const char *opt = argv[i];
		if (!strcmp(opt, "--diff")) {
			o.diff = true;
			continue;
		}
		if (!strcmp(opt, "--allow-unsupervised")) {
			o.unsupervised = true;
			continue;
		}
		if (i + 1 >= argc)
			return fail("run: %s needs a value", opt);
		const char *v = argv[++i];
		if (!strcmp(opt, "--mount"))
			o.mount = v;
		else if (!strcmp(opt, "--preload"))
			o.preload = v;
		else if (!strcmp(opt, "--upper"))
			o.upper = v;
		else if (!strcmp(opt, "--semantics"))
			o.semantics = v;
		else if (!strcmp(opt, "--cache"))
			o.cache = v;
		else if (!strcmp(opt, "--trace"))
			o.trace = v;
		else if (!strcmp(opt, "--export"))
			o.export = v;
		else if (!strcmp(opt, "--commit"))
			o.commit = v;
		else if (!strcmp(opt, "--cache-limit"))
			limit = v, limit_from = "--cache-limit";
		else if (!strcmp(opt, "--lower") && o.nlower < MAX_LOWER)
			o.lowers[o.nlower++] = (char *)v;
		else if (!strcmp(opt, "--lower"))
			return fail("more than %d lower layers", MAX_LOWER);
		else
			return fail("run: unknown option '%s'", opt);
	}
	if (i + 1 >= argc || !o.mount || !o.preload || o.nlower == 0)
		return fail("usage: layerfs-helper run --mount AT --preload LIST --lower PATH... "
			    "-- COMMAND [ARG]...");
	o.cmd = argv + i + 1;
	if (limit && *limit && parse_size(limit, &o.cache_limit) < 0)
		return fail("%s: invalid size '%s' (bytes, or a number with K, M, G or T)",
			    limit_from, limit);
	return run_job(&o);
}

/* ---- 8. the cache ------------------------------------------------------ */

/* "500M", "2G", "1048576": bytes (K, M, G, T are powers of 1024).  0 or -EINVAL. */
static int parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	char *end;
	uint64_t mult = 1;

	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s || errno || *s == '-')
		return -EINVAL;
	if (*end) {
		const char *u = strchr(units, *end & ~0x20);
		if (!u || !*u)
			return -EINVAL;
		for (const char *k = units; k <= u; k++)
			mult *= 1024;
		end++;
		if (!strcmp(end, "iB") || !strcmp(end, "B"))
			end += strlen(end);
	}
	if (*end || (v && mult > UINT64_MAX / v))
		return -EINVAL;
	*out = v * mult;
	return 0;
}

/* "30d", "12h", "90m", "3600s" or "3600": seconds.  0 or -EINVAL. */
static int parse_age(const char *s, int64_t *out)
{
	char *end;
	int64_t mult = 1;

	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (end == s || errno || v < 0)
		return -EINVAL;
	switch (*end) {
	case '\0': case 's': break;
	case 'm': mult = 60; break;
	case 'h': mult = 3600; break;
	case 'd': mult = 86400; break;
	case 'w': mult = 7 * 86400; break;
	default: return -EINVAL;
	}
	if (*end && end[1])
		return -EINVAL;
	if (v > INT64_MAX / mult)
		return -EINVAL;
	*out = v * mult;
	return 0;
}

static const char *human_size(uint64_t n, char *buf, size_t size)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = -1;

	if (n < 1024) {
		snprintf(buf, size, "%llu B", (unsigned long long)n);
		return buf;
	}
	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, "%.1f %s", v, units[u]);
	return buf;
}

/* Prints s with control characters as \ooo: one entry, one line. */
static void print_escaped(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f || c == '\\')
			printf("\\%03o", c);
		else
			putchar(c);
	}
}

static int cache_list(const char *dir)
{
	struct lyr_cache_entry *v;
	struct lyr_error err = { "" };
	size_t n;
	uint64_t total = 0;
	char sz[32], when[32];

	if (lyr_cache_list(dir, &v, &n, &err) < 0)
		return fail("%s", err.msg);
	printf("%-10s  %-16s  %-6s  %s\n", "SIZE", "LAST USE", "STATE", "ARCHIVE");
	for (size_t i = 0; i < n; i++) {
		time_t t = (time_t)v[i].last_use;
		struct tm tm;
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M", localtime_r(&t, &tm));
		printf("%10s  %-16s  %-6s  ", human_size(v[i].size, sz, sizeof(sz)), when,
		       v[i].in_use ? "in use" : v[i].other_version ? "old" :
		       v[i].stale ? "stale" : "-");
		print_escaped(v[i].source[0] ? v[i].source : "?");
		putchar('\n');
		total += v[i].size;
	}
	printf("%zu %s, %s in ", n, n == 1 ? "entry" : "entries",
	       human_size(total, sz, sizeof(sz)));
	print_escaped(dir);
	putchar('\n');
	lyr_cache_list_free(v, n);
	return fflush(stdout) ? fail("cache: %s", strerror(errno)) : 0;
}

static int cache_prune(const char *dir, const struct lyr_cache_prune_opts *po, bool clear)
{
	struct lyr_cache_report rep;
	struct lyr_error err = { "" };
	char a[32], b[32];

	if (lyr_cache_prune(dir, po, &rep, &err) < 0)
		return fail("%s", err.msg);
	printf("removed %zu %s (%s), kept %zu (%s)", rep.removed,
	       rep.removed == 1 ? "entry" : "entries", human_size(rep.removed_bytes, a, sizeof(a)),
	       rep.kept, human_size(rep.kept_bytes, b, sizeof(b)));
	if (rep.in_use)
		printf(", %zu of them in use by a running job", rep.in_use);
	if (rep.other_versions)
		printf(", %zu made by another version of layerfs (`layerfs cache clear` "
		       "removes them)", rep.other_versions);
	if (rep.leftovers)
		printf("; %zu crash %s removed", rep.leftovers,
		       rep.leftovers == 1 ? "leftover" : "leftovers");
	putchar('\n');
	if (!clear && rep.in_use && po->max_size != UINT64_MAX)
		printf("above the limit of %s until those jobs end\n",
		       human_size(po->max_size, a, sizeof(a)));
	return fflush(stdout) ? fail("cache: %s", strerror(errno)) : 0;
}

/*
 * cache [list] | prune [--max-size SIZE] [--max-age AGE] | clear, each
 * with [--cache DIR].  prune without --max-size takes LAYERFS_CACHE_LIMIT.
 */
static int cmd_cache(int argc, char **argv)
{
	struct lyr_cache_prune_opts po = { .max_size = UINT64_MAX, .max_age = -1 };
	const char *what = "list", *dir = NULL, *size = NULL, *age = NULL;
	char def[PATH_MAX], canon[PATH_MAX];
	int i = 0, r;

	if (argc > 0 && argv[0][0] != '-')
		what = argv[i++];
	if (strcmp(what, "list") && strcmp(what, "prune") && strcmp(what, "clear"))
		return fail("cache: unknown command '%s' (list, prune or clear)", what);
	for (; i < argc; i++) {
		const char *opt = argv[i];
		if (i + 1 >= argc)
			return fail("cache: %s needs a value", opt);
		const char *v = argv[++i];
		if (!strcmp(opt, "--cache"))
			dir = v;
		else if (!strcmp(opt, "--max-size") && !strcmp(what, "prune"))
			size = v;
		else if (!strcmp(opt, "--max-age") && !strcmp(what, "prune"))
			age = v;
		else
			return fail("cache %s: unknown option '%s' (see 'layerfs --help')", what, opt);
	}
	if (!dir) {
		if (lyr_default_cache_dir(def, sizeof(def)) < 0)
			return fail("no usable cache directory: give one with --cache DIR");
		dir = def;
	}
	if ((r = canon_path(dir, canon)) < 0)
		return fail("cache directory %s: %s", dir, strerror(-r));
	if (!strcmp(what, "list"))
		return cache_list(canon);
	if (!strcmp(what, "clear")) {
		po.max_size = 0;
		po.other_versions = true;
	}
	if (!strcmp(what, "prune")) {
		const char *limit = getenv("LAYERFS_CACHE_LIMIT");
		if (!size && limit && *limit) {
			if (parse_size(limit, &po.max_size) < 0)
				return fail("LAYERFS_CACHE_LIMIT: invalid size '%s' (bytes, or a "
					    "number with K, M, G or T)", limit);
		} else if (size && parse_size(size, &po.max_size) < 0) {
			return fail("cache prune: invalid size '%s' (bytes, or a number with "
				    "K, M, G or T)", size);
		}
		if (age && parse_age(age, &po.max_age) < 0)
			return fail("cache prune: invalid age '%s' (a number with s, m, h, d or w)",
				    age);
	}
	return cache_prune(canon, &po, !strcmp(what, "clear"));
}

/* ---- 9. index, enter, main -------------------------------------------- */

static int cmd_index(int argc, char **argv)
{
	const char *cache = NULL;
	struct lyr_layer *l;
	struct stat st;

	if (argc >= 2 && strcmp(argv[0], "--cache") == 0) {
		cache = argv[1];
		argc -= 2;
		argv += 2;
	}
	if (argc != 1)
		return fail("usage: layerfs index [--cache DIR] ARCHIVE");
	if (img_is_spec(argv[0])) {	/* an image: each of its layers */
		char *layers[MAX_LOWER] = { argv[0] };
		size_t n = 1;
		int r = expand_images(layers, &n, cache);
		for (size_t i = 0; i < n && !r; i++)
			if (!(r = open_lower(layers[i], cache, 0, &l))) {
				lyr_archive_mark_used(l);
				lyr_destroy(l);
			}
		return r;
	}
	if (stat(argv[0], &st) < 0)
		return fail("archive %s: %s", argv[0], strerror(errno));
	if (S_ISDIR(st.st_mode))
		return fail("archive %s: is a directory (only archives are indexed)", argv[0]);
	int r = open_lower(argv[0], cache, 0, &l);
	if (r)
		return r;
	lyr_archive_mark_used(l);
	lyr_destroy(l);
	return 0;
}

/*
 * layerfs-helper enter SOCK CWD PROGRAM ARG0 [ARG]...: the process becomes
 * supervised (sup_enter), moves into the view directory CWD (an absolute
 * path of the view, "" for none) through the supervisor, and runs PROGRAM,
 * which makes its own system calls.  How the shim starts such a program.
 */
static int cmd_enter(int argc, char **argv)
{
	if (argc < 4)
		return fail("usage: layerfs-helper enter SOCK CWD PROGRAM ARG0 [ARG]...");
	if (sup_enter(argv[0]) < 0)
		return 126;
	if (argv[1][0]) {
		long r = sup_raw_syscall(SYS_chdir, (long)argv[1], 0, 0);
		if (r < 0) {
			fail("working directory %s: %s", argv[1], strerror((int)-r));
			return 126;
		}
	}
	/* The program's working directory is its own from here on (its
	 * children must not take an old one from the environment), and the
	 * exec is the supervisor's to answer, not this process's shim's. */
	unsetenv("LAYERFS_CWD");
	int e = (int)-sup_raw_syscall(SYS_execve, (long)argv[2], (long)(argv + 3), (long)environ);
	fail("%s: %s", argv[2], strerror(e));
	return e == ENOENT ? 127 : 126;
}

/*
 * layerfs-helper exec COMMAND [ARG]...: runs COMMAND, found as a shell
 * would (PATH) in the view: the process is preloaded, so its exec is the
 * shim's.  A COMMAND that cannot be run is said here, as a shell says it:
 * 127 when there is none, 126 when it cannot be run.
 */
static int cmd_exec(int argc, char **argv)
{
	if (argc < 1)
		return fail("usage: layerfs-helper exec COMMAND [ARG]...");
	execvp(argv[0], argv);
	int e = errno;
	if (e == ENOENT && !strchr(argv[0], '/'))
		fail("%s: command not found", argv[0]);
	else
		fail("%s: %s", argv[0], strerror(e));
	return e == ENOENT ? 127 : 126;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return fail("usage: layerfs-helper run|index|diff|export|cache|enter|exec|version ...");
	const char *cmd = argv[1];
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 2, argv + 2);
	if (!strcmp(cmd, "index"))
		return cmd_index(argc - 2, argv + 2);
	if (!strcmp(cmd, "diff"))
		return cmd_diff(argc - 2, argv + 2);
	if (!strcmp(cmd, "export"))
		return cmd_export(argc - 2, argv + 2);
	if (!strcmp(cmd, "commit"))
		return cmd_commit(argc - 2, argv + 2);
	if (!strcmp(cmd, "cache"))
		return cmd_cache(argc - 2, argv + 2);
	if (!strcmp(cmd, "enter"))
		return cmd_enter(argc - 2, argv + 2);
	if (!strcmp(cmd, "exec"))
		return cmd_exec(argc - 2, argv + 2);
	if (!strcmp(cmd, "version")) {
		puts("layerfs " LAYERFS_VERSION);
		return 0;
	}
	return fail("layerfs-helper: unknown command '%s'", cmd);
}
