/* SPDX-License-Identifier: MIT */
/*
 * walk_check.c - prints a canonical listing of a tree as the libc walkers
 * see it: nftw/ftw (several flag sets), fts (physical, logical, fts_set,
 * fts_children, several roots) and glob.  tests/integration/walk.sh runs
 * it on a host directory and, under the shim, on the same directory seen
 * through the view, and compares the outputs section by section.
 *
 *   walk_check DIR
 *
 * Paths are printed with DIR replaced by "ROOT".  Sections start with a
 * "== title" line.  nftw/ftw report in readdir order, which differs between
 * file systems, so their lines are sorted and the pre/postorder is checked
 * here instead ("order ok").  fts and glob runs are sorted by the walkers.
 * Directory sizes are left out only for "." and ".." (the view's ".." of
 * its root is the host's parent directory).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fts.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *root;
static size_t root_len;
static char parent[PATH_MAX];    /* the directory holding root */
static int failures;

/* ---- output ---------------------------------------------------------- */

static char **lines;
static size_t nlines, caplines;

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emit(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		perror("vasprintf");
		exit(2);
	}
	va_end(ap);
	if (nlines == caplines) {
		caplines = caplines ? 2 * caplines : 64;
		lines = realloc(lines, caplines * sizeof(*lines));
		if (!lines) {
			perror("realloc");
			exit(2);
		}
	}
	lines[nlines++] = s;
}

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prints the collected lines under a section title, sorted or not. */
static void section(const char *title, bool sorted)
{
	printf("== %s\n", title);
	if (sorted)
		qsort(lines, nlines, sizeof(*lines), line_cmp);
	for (size_t i = 0; i < nlines; i++) {
		printf("%s\n", lines[i]);
		free(lines[i]);
	}
	nlines = 0;
	fflush(stdout);
}

/* p with the root prefix replaced by "ROOT", or "PARENT" for root's
 * parent directory (one of two rotating buffers). */
static const char *rel(const char *p)
{
	static char buf[2][PATH_MAX + 8];
	static int which;
	char *b = buf[which ^= 1];

	if (p && strcmp(p, parent) == 0)
		snprintf(b, sizeof(buf[0]), "PARENT");
	else if (p && strncmp(p, root, root_len) == 0)
		snprintf(b, sizeof(buf[0]), "ROOT%s", p + root_len);
	else
		snprintf(b, sizeof(buf[0]), "%s", p ? p : "(null)");
	return b;
}

static void stat_text(char *buf, size_t n, const struct stat *st)
{
	snprintf(buf, n, "mode=%o size=%lld", (unsigned)st->st_mode, (long long)st->st_size);
}

/* ---- nftw / ftw ------------------------------------------------------ */

static const char *const ftw_names[] = {
	[FTW_F] = "F", [FTW_D] = "D", [FTW_DNR] = "DNR", [FTW_NS] = "NS",
	[FTW_SL] = "SL", [FTW_DP] = "DP", [FTW_SLN] = "SLN",
};

/* The events of one walk, in order, for the order check. */
struct event {
	char *path;
	int type;
};
static struct event *events;
static size_t nevents;

static void event_add(const char *path, int type)
{
	events = realloc(events, (nevents + 1) * sizeof(*events));
	if (!events || !(events[nevents].path = strdup(path))) {
		perror("realloc");
		exit(2);
	}
	events[nevents++].type = type;
}

/* Preorder (D before everything below it) or postorder (DP after it). */
static void order_check(bool depth)
{
	const char *bad = NULL;

	for (size_t i = 0; i < nevents && !bad; i++) {
		int want = depth ? FTW_DP : FTW_D;
		if (events[i].type != want)
			continue;
		size_t len = strlen(events[i].path);
		for (size_t j = 0; j < nevents && !bad; j++) {
			if (strncmp(events[j].path, events[i].path, len) != 0 ||
			    events[j].path[len] != '/')
				continue;
			if (depth ? j > i : j < i)
				bad = events[i].path;
		}
	}
	emit("order %s%s", bad ? "bad " : "ok", bad ? rel(bad) : "");
	if (bad)
		failures++;
	for (size_t i = 0; i < nevents; i++)
		free(events[i].path);
	free(events);
	events = NULL;
	nevents = 0;
}

static void ftw_line(const char *path, const struct stat *st, int type, const struct FTW *f)
{
	char sb[64] = "";

	if (type != FTW_NS)
		stat_text(sb, sizeof(sb), st);
	if (f)
		emit("%s %s level=%d base=%s %s", ftw_names[type], rel(path), f->level,
		     f->level ? path + f->base : "(root)", sb);
	else
		emit("%s %s %s", ftw_names[type], rel(path), sb);
	event_add(path, type);
}

static int nftw_cb(const char *path, const struct stat *st, int type, struct FTW *f)
{
	ftw_line(path, st, type, f);
	return 0;
}

static int nftw64_cb(const char *path, const struct stat64 *st, int type, struct FTW *f)
{
	ftw_line(path, (const struct stat *)st, type, f);
	return 0;
}

static int ftw_cb(const char *path, const struct stat *st, int type)
{
	ftw_line(path, st, type, NULL);
	return 0;
}

static int ftw64_cb(const char *path, const struct stat64 *st, int type)
{
	ftw_line(path, (const struct stat *)st, type, NULL);
	return 0;
}

/* FTW_CHDIR: the working directory is the entry's parent (the directory
 * itself for FTW_DP), and the base name reaches the entry from there. */
static int chdir_cb(const char *path, const struct stat *st, int type, struct FTW *f)
{
	char cwd[PATH_MAX];
	struct stat st2;
	const char *acc = path + f->base;

	(void)st;
	if (!getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), "(getcwd: %s)", strerror(errno));
	if (type == FTW_DP)
		acc = ".";
	emit("%s %s cwd=%s acc=%s", ftw_names[type], rel(path), rel(cwd),
	     lstat(acc, &st2) == 0 ? "ok" : strerror(errno));
	return 0;
}

/* FTW_ACTIONRETVAL: skip dir/'s subtree, and the siblings after the first
 * entry met in s/ (which one that is depends on readdir order, so entries
 * of s/ are counted, not printed). */
static int s_seen;
static int action_cb(const char *path, const struct stat *st, int type, struct FTW *f)
{
	if (f->level == 2 && strstr(path, "/s/")) {
		s_seen++;
		return FTW_SKIP_SIBLINGS;
	}
	ftw_line(path, st, type, f);
	if (type == FTW_D && strcmp(path + f->base, "dir") == 0)
		return FTW_SKIP_SUBTREE;
	return FTW_CONTINUE;
}

/* Stops at one named entry: with 42, or with FTW_STOP under ACTIONRETVAL. */
static const char *stop_at;
static int stop_ret;
static int stop_cb(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)type;
	return strcmp(path + f->base, stop_at) == 0 ? stop_ret : 0;
}

static void run_nftw(const char *title, const char *path, int flags)
{
	int r = nftw(path, nftw_cb, 8, flags);
	emit("ret=%d", r);
	order_check(flags & FTW_DEPTH);
	section(title, true);
}

static void check_ftw(void)
{
	char p[PATH_MAX];
	int r;

	run_nftw("nftw 0", root, 0);
	run_nftw("nftw PHYS", root, FTW_PHYS);
	run_nftw("nftw PHYS|DEPTH", root, FTW_PHYS | FTW_DEPTH);
	run_nftw("nftw DEPTH", root, FTW_DEPTH);
	run_nftw("nftw MOUNT|PHYS", root, FTW_MOUNT | FTW_PHYS);
	snprintf(p, sizeof(p), "%s///", root);
	run_nftw("nftw trailing slashes", p, FTW_PHYS);
	snprintf(p, sizeof(p), "%s/f", root);
	run_nftw("nftw file root", p, 0);
	snprintf(p, sizeof(p), "%s/dang", root);
	run_nftw("nftw dangling root", p, 0);
	run_nftw("nftw dangling root PHYS", p, FTW_PHYS);
	snprintf(p, sizeof(p), "%s/lf", root);
	run_nftw("nftw symlink root PHYS", p, FTW_PHYS);

	snprintf(p, sizeof(p), "%s/nonexistent", root);
	errno = 0;
	r = nftw(p, nftw_cb, 8, 0);
	emit("nonexistent ret=%d errno=%s", r, strerrorname_np(errno));
	errno = 0;
	r = nftw(root, nftw_cb, 8, 0x4000);
	emit("bad flags ret=%d errno=%s", r, strerrorname_np(errno));
	stop_at = "g";
	stop_ret = 42;
	r = nftw(root, stop_cb, 8, FTW_PHYS);
	emit("nonzero from fn ret=%d", r);
	stop_at = "a1";
	stop_ret = FTW_STOP;
	r = nftw(root, stop_cb, 8, FTW_PHYS | FTW_ACTIONRETVAL);
	emit("FTW_STOP ret=%d", r);
	section("nftw errors and return values", true);

	s_seen = 0;
	r = nftw(root, action_cb, 8, FTW_PHYS | FTW_DEPTH | FTW_ACTIONRETVAL);
	emit("ret=%d s_seen=%d", r, s_seen);
	order_check(true);
	section("nftw ACTIONRETVAL", true);

	char before[PATH_MAX], after[PATH_MAX];
	if (!getcwd(before, sizeof(before)))
		snprintf(before, sizeof(before), "?");
	r = nftw(root, chdir_cb, 8, FTW_PHYS | FTW_CHDIR | FTW_DEPTH);
	emit("ret=%d", r);
	section("nftw CHDIR|DEPTH", true);
	r = nftw(root, chdir_cb, 8, FTW_CHDIR);
	emit("ret=%d", r);
	section("nftw CHDIR", true);
	if (!getcwd(after, sizeof(after)))
		snprintf(after, sizeof(after), "!");
	emit("cwd %s", strcmp(before, after) ? "changed" : "restored");
	section("nftw CHDIR restores cwd", false);

	r = nftw64(root, nftw64_cb, 8, FTW_PHYS);
	emit("ret=%d", r);
	order_check(false);
	section("nftw64 PHYS", true);
	r = ftw(root, ftw_cb, 8);
	emit("ret=%d", r);
	order_check(false);
	section("ftw", true);
	r = ftw64(root, ftw64_cb, 8);
	emit("ret=%d", r);
	order_check(false);
	section("ftw64", true);
}

/* ---- fts ------------------------------------------------------------- */

static const char *const fts_names[] = {
	[0] = "?", [FTS_D] = "D", [FTS_DC] = "DC", [FTS_DEFAULT] = "DEFAULT",
	[FTS_DNR] = "DNR", [FTS_DOT] = "DOT", [FTS_DP] = "DP", [FTS_ERR] = "ERR",
	[FTS_F] = "F", [FTS_INIT] = "INIT", [FTS_NS] = "NS", [FTS_NSOK] = "NSOK",
	[FTS_SL] = "SL", [FTS_SLNONE] = "SLNONE", [FTS_W] = "W",
};

static const char *fts_name_of(unsigned info)
{
	return info < sizeof(fts_names) / sizeof(fts_names[0]) ? fts_names[info] : "??";
}

static int by_name(const FTSENT **a, const FTSENT **b)
{
	return strcmp((*a)->fts_name, (*b)->fts_name);
}

static int by_name64(const FTSENT64 **a, const FTSENT64 **b)
{
	return strcmp((*a)->fts_name, (*b)->fts_name);
}

/* One line per entry, with consistency checks of the public fields. */
static void fts_line(const FTSENT *e, bool nostat)
{
	char sb[64] = "", chk[160] = "";
	struct stat st;
	size_t n = 0;

	if (e->fts_namelen != strlen(e->fts_name))
		n += (size_t)snprintf(chk + n, sizeof(chk) - n, " BAD-namelen");
	if (e->fts_pathlen != strlen(e->fts_path))
		n += (size_t)snprintf(chk + n, sizeof(chk) - n, " BAD-pathlen");
	if (e->fts_level > 0 && e->fts_parent->fts_number != 7000 + e->fts_level - 1)
		n += (size_t)snprintf(chk + n, sizeof(chk) - n, " BAD-parent");
	if (e->fts_info == FTS_DP && e->fts_number != 7000 + e->fts_level)
		n += (size_t)snprintf(chk + n, sizeof(chk) - n, " BAD-number");
	if (e->fts_info == FTS_NS || e->fts_info == FTS_DNR || e->fts_info == FTS_ERR)
		n += (size_t)snprintf(chk + n, sizeof(chk) - n, " errno=%s",
				      strerrorname_np(e->fts_errno));
	else if (e->fts_info != FTS_NSOK && lstat(e->fts_accpath, &st) < 0)
		n += (size_t)snprintf(chk + n, sizeof(chk) - n, " BAD-accpath");
	if (e->fts_info == FTS_DC)
		n += (size_t)snprintf(chk + n, sizeof(chk) - n, " cycle-level=%d",
				      e->fts_cycle->fts_level);
	if (!nostat && e->fts_info != FTS_NS && e->fts_info != FTS_DOT &&
	    e->fts_info != FTS_NSOK && e->fts_statp)
		stat_text(sb, sizeof(sb), e->fts_statp);
	if (strstr(chk, "BAD"))
		failures++;
	emit("%s level=%d path=%s name=%s %s%s", fts_name_of(e->fts_info), e->fts_level,
	     rel(e->fts_path), e->fts_level > 0 ? e->fts_name : "(root)", sb, chk);
}

/* Reads a whole stream; preorder directories get a fts_number mark. */
static void fts_drain(FTS *fts, bool nostat)
{
	FTSENT *e;

	errno = 0;
	while ((e = fts_read(fts))) {
		if (e->fts_info == FTS_D)
			e->fts_number = 7000 + e->fts_level;
		fts_line(e, nostat);
	}
	emit("end errno=%s", strerrorname_np(errno));
	emit("close=%d", fts_close(fts));
}

static void run_fts(const char *title, char *const *paths, int options, bool sorted)
{
	FTS *fts = fts_open(paths, options, sorted ? by_name : NULL);

	if (!fts) {
		emit("fts_open: %s", strerrorname_np(errno));
		section(title, false);
		return;
	}
	fts_drain(fts, options & FTS_NOSTAT);
	section(title, false);
}

/* fts_set: FTS_SKIP on dir/, FTS_FOLLOW on lf, FTS_AGAIN on f (once). */
static void check_fts_set(void)
{
	char *paths[] = { (char *)root, NULL };
	FTS *fts = fts_open(paths, FTS_PHYSICAL, by_name);
	bool again = false;
	FTSENT *e;

	while (fts && (e = fts_read(fts))) {
		if (e->fts_info == FTS_D)
			e->fts_number = 7000 + e->fts_level;
		fts_line(e, false);
		if (e->fts_info == FTS_D && strcmp(e->fts_name, "dir") == 0)
			emit("set SKIP=%d", fts_set(fts, e, FTS_SKIP));
		if (e->fts_info == FTS_SL && strcmp(e->fts_name, "lf") == 0)
			emit("set FOLLOW=%d", fts_set(fts, e, FTS_FOLLOW));
		if (e->fts_info == FTS_F && strcmp(e->fts_name, "f") == 0 && !again) {
			again = true;
			emit("set AGAIN=%d", fts_set(fts, e, FTS_AGAIN));
		}
		if (e->fts_info == FTS_F && strcmp(e->fts_name, "big") == 0) {
			errno = 0;
			int r = fts_set(fts, e, 99);
			emit("set 99=%d errno=%s", r, strerrorname_np(errno));
		}
	}
	if (fts)
		emit("close=%d", fts_close(fts));
	section("fts_set", false);
}

/* A child list; fts_path is left out: glibc fills it in only when fts_read
 * returns the entry. */
static void children_lines(const char *what, const FTSENT *c)
{
	emit("children %s errno=%s", what, c ? "-" : strerrorname_np(errno));
	for (; c; c = c->fts_link)
		emit("  %s name=%s level=%d", fts_name_of(c->fts_info), c->fts_name,
		     c->fts_level);
}

/* fts_children before the first read, on the root, names only, on an
 * empty directory and on a file; then the walk goes on. */
static void check_fts_children(void)
{
	char *paths[] = { (char *)root, NULL };
	FTS *fts = fts_open(paths, FTS_PHYSICAL, by_name);
	FTSENT *e;

	if (!fts) {
		emit("fts_open: %s", strerrorname_np(errno));
		section("fts_children", false);
		return;
	}
	const FTSENT *roots = fts_children(fts, 0);
	emit("roots: %s level=%d", roots ? rel(roots->fts_name) : "none",
	     roots ? roots->fts_level : -9);
	while ((e = fts_read(fts))) {
		if (e->fts_info == FTS_D)
			e->fts_number = 7000 + e->fts_level;
		fts_line(e, false);
		if (e->fts_info == FTS_D && e->fts_level == 0) {
			children_lines("names", fts_children(fts, FTS_NAMEONLY));
			children_lines("root", fts_children(fts, 0));
		}
		if (e->fts_info == FTS_D && strcmp(e->fts_name, "empty") == 0)
			children_lines("empty", fts_children(fts, 0));
		if (e->fts_info == FTS_F && strcmp(e->fts_name, "f") == 0)
			children_lines("file", fts_children(fts, 0));
		if (e->fts_info == FTS_D && strcmp(e->fts_name, "sub") == 0)
			children_lines("sub names", fts_children(fts, FTS_NAMEONLY));
	}
	emit("close=%d", fts_close(fts));
	section("fts_children", false);
}

/* Closing a stream midway frees what is left (the sanitizer build checks). */
static void check_fts_close(void)
{
	char *paths[] = { (char *)root, NULL };
	FTS *fts = fts_open(paths, FTS_PHYSICAL, by_name);
	FTSENT *e;

	emit("close unread=%d", fts ? fts_close(fts) : -9);
	fts = fts_open(paths, FTS_LOGICAL, by_name);
	while (fts && (e = fts_read(fts)) && strcmp(e->fts_name, "deep.txt") != 0)
		if (e->fts_info == FTS_D && strcmp(e->fts_name, "s") == 0)
			fts_children(fts, 0);
	emit("close deep=%d", fts ? fts_close(fts) : -9);
	fts = fts_open(paths, FTS_PHYSICAL, NULL);
	while (fts && (e = fts_read(fts)) && e->fts_level == 0)
		fts_children(fts, FTS_NAMEONLY);
	emit("close with children=%d", fts ? fts_close(fts) : -9);

	/* A host stream (glibc's under the shim) open beside a view one. */
	char *host[] = { (char *)"/dev/null", NULL };
	FTS *h = fts_open(host, FTS_PHYSICAL, NULL);
	fts = fts_open(paths, FTS_PHYSICAL, by_name);
	e = fts ? fts_read(fts) : NULL;
	FTSENT *he = h ? fts_read(h) : NULL;
	emit("mixed: %s %s", e ? fts_name_of(e->fts_info) : "-",
	     he ? fts_name_of(he->fts_info) : "-");
	he = h ? fts_read(h) : NULL;
	e = fts ? fts_read(fts) : NULL;
	emit("mixed: %s %s", e ? e->fts_name : "-", he ? he->fts_name : "end");
	emit("close host=%d view=%d", h ? fts_close(h) : -9, fts ? fts_close(fts) : -9);
	section("fts early close", false);
}

static void check_fts(void)
{
	char p1[PATH_MAX], p2[PATH_MAX], p3[PATH_MAX];
	char *one[] = { (char *)root, NULL };

	run_fts("fts PHYSICAL", one, FTS_PHYSICAL, true);
	run_fts("fts LOGICAL", one, FTS_LOGICAL, true);
	run_fts("fts PHYSICAL|NOCHDIR|SEEDOT", one, FTS_PHYSICAL | FTS_NOCHDIR | FTS_SEEDOT, true);
	run_fts("fts PHYSICAL|NOSTAT", one, FTS_PHYSICAL | FTS_NOSTAT, true);
	run_fts("fts LOGICAL|XDEV", one, FTS_LOGICAL | FTS_XDEV, true);

	/* Without a compar, children come in readdir order: these roots have
	 * none, so the output shows the argv order alone. */
	snprintf(p1, sizeof(p1), "%s/lf", root);
	snprintf(p2, sizeof(p2), "%s/empty", root);
	snprintf(p3, sizeof(p3), "%s/f", root);
	char *flat[] = { p1, p2, p3, NULL };
	run_fts("fts roots in argv order", flat, FTS_PHYSICAL, false);
	snprintf(p2, sizeof(p2), "%s/dir", root);
	char *three[] = { p1, p2, p3, NULL };
	run_fts("fts roots sorted", three, FTS_PHYSICAL, true);
	run_fts("fts roots COMFOLLOW", three, FTS_PHYSICAL | FTS_COMFOLLOW, true);

	snprintf(p1, sizeof(p1), "%s/nonexistent", root);
	snprintf(p2, sizeof(p2), "%s/dang", root);
	snprintf(p3, sizeof(p3), "%s/dir/", root);
	char *odd[] = { p1, p2, p3, NULL };
	run_fts("fts nonexistent, dangling, trailing slash", odd, FTS_PHYSICAL, true);
	run_fts("fts roots LOGICAL", odd, FTS_LOGICAL, true);

	char *empty[] = { (char *)root, (char *)"", NULL };
	errno = 0;
	FTS *f = fts_open(empty, FTS_PHYSICAL, NULL);
	emit("empty root: %s errno=%s", f ? "opened" : "NULL", strerrorname_np(errno));
	if (f)
		fts_close(f);
	errno = 0;
	f = fts_open(one, 0x4000, NULL);
	emit("bad options: %s errno=%s", f ? "opened" : "NULL", strerrorname_np(errno));
	if (f)
		fts_close(f);
	section("fts_open errors", false);

	check_fts_set();
	check_fts_children();
	check_fts_close();

	FTS64 *f64 = fts64_open(one, FTS_PHYSICAL, by_name64);
	FTSENT64 *e;
	while (f64 && (e = fts64_read(f64))) {
		if (e->fts_info == FTS_D)
			e->fts_number = 7000 + e->fts_level;
		fts_line((const FTSENT *)e, false);
	}
	if (f64)
		emit("close=%d", fts64_close(f64));
	section("fts64 PHYSICAL", false);
}

/* ---- glob ------------------------------------------------------------ */

static void glob_lines(const char *pattern, int flags, const char *flagname)
{
	glob_t g;
	int r = glob(pattern, flags, NULL, &g);

	emit("glob %s %s -> %d n=%zu altdir=%d", rel(pattern), flagname, r,
	     r == 0 || r == GLOB_NOMATCH ? g.gl_pathc : 0, !!(g.gl_flags & GLOB_ALTDIRFUNC));
	if (r == 0 && (flags & GLOB_NOSORT))
		qsort(g.gl_pathv, g.gl_pathc, sizeof(char *), line_cmp);
	for (size_t i = 0; r == 0 && i < g.gl_pathc; i++)
		emit("  %s", rel(g.gl_pathv[i]));
	if (r == 0)
		globfree(&g);
}

static void check_glob(void)
{
	char p[PATH_MAX], q[PATH_MAX];
	glob_t g;
	glob64_t g64;

	if (chdir(root) < 0) {
		emit("chdir: %s", strerror(errno));
		failures++;
		section("glob", false);
		return;
	}
	glob_lines("*", 0, "0");
	glob_lines("*/*", 0, "0");
	glob_lines("dir/[ab]*", 0, "0");
	glob_lines("*", GLOB_MARK, "MARK");
	glob_lines("*", GLOB_ONLYDIR | GLOB_MARK, "ONLYDIR|MARK");
	glob_lines(".*", 0, "0");
	glob_lines("*", GLOB_PERIOD, "PERIOD");
	glob_lines("{f,lf,dang}", GLOB_BRACE, "BRACE");
	glob_lines("nomatch*", 0, "0");
	glob_lines("nomatch*", GLOB_NOCHECK, "NOCHECK");
	glob_lines("dang", 0, "0");
	glob_lines("dir/sub/deep.txt", 0, "0");
	glob_lines("dir/nope.txt", 0, "0");
	snprintf(p, sizeof(p), "%s/d*/s*", root);
	glob_lines(p, 0, "0");
	snprintf(p, sizeof(p), "%s/*/*3", root);
	glob_lines(p, GLOB_NOSORT, "NOSORT");

	/* GLOB_APPEND after a first run. */
	snprintf(p, sizeof(p), "%s/e*", root);
	snprintf(q, sizeof(q), "%s/s/*", root);
	int r1 = glob(p, 0, NULL, &g);
	int r2 = glob(q, GLOB_APPEND, NULL, &g);
	emit("append %d %d n=%zu", r1, r2, g.gl_pathc);
	for (size_t i = 0; i < g.gl_pathc; i++)
		emit("  %s", rel(g.gl_pathv[i]));
	globfree(&g);

	int r = glob64("*/*", 0, NULL, &g64);
	emit("glob64 */* -> %d n=%zu", r, r ? 0 : g64.gl_pathc);
	for (size_t i = 0; r == 0 && i < g64.gl_pathc; i++)
		emit("  %s", rel(g64.gl_pathv[i]));
	if (r == 0)
		globfree64(&g64);
	section("glob", false);
}

/* ---- relative paths from inside the tree ------------------------------ */

static void check_relative(void)
{
	char *dot[] = { (char *)".", (char *)"dir", NULL };

	if (chdir(root) < 0) {
		emit("chdir: %s", strerror(errno));
		failures++;
		section("relative", false);
		return;
	}
	int r = nftw(".", nftw_cb, 4, FTW_PHYS);
	emit("ret=%d", r);
	order_check(false);
	section("nftw . PHYS", true);
	r = nftw("dir/", nftw_cb, 4, FTW_PHYS | FTW_CHDIR | FTW_DEPTH);
	emit("ret=%d", r);
	order_check(true);
	section("nftw dir/ PHYS|CHDIR|DEPTH", true);
	run_fts("fts . dir", dot, FTS_PHYSICAL, true);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	root = argv[1];
	root_len = strlen(root);
	snprintf(parent, sizeof(parent), "%s", root);
	char *slash = strrchr(parent, '/');
	if (slash)
		slash[slash == parent] = '\0';
	check_ftw();
	check_fts();
	check_glob();
	check_relative();
	return failures ? 1 : 0;
}
