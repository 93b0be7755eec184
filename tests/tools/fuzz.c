/* SPDX-License-Identifier: MIT */
/*
 * fuzz - a differential file-system fuzzer.
 *
 * Usage: fuzz [--seed N] [--ops N] [--skip LIST] [--only LIST] [--layered]
 *             [--overlayfs] [--no-tree] [--spell PCT] [--reopen PCT]
 *             [--canonical] ROOT
 *
 * Runs a seeded random sequence of file-system operations on the tree at
 * ROOT and prints one canonical line per operation: its index, name,
 * arguments (paths relative to ROOT, fds as slot numbers), return value,
 * errno name and a digest of the data it read.  At the end it prints a
 * canonical dump of the final tree.  The same seed run on two trees that
 * started equal (an extracted archive on a plain directory, and the
 * archive seen through layerfs or overlayfs) must print the same text;
 * tests/integration/fuzz.sh compares them and minimises a difference.
 *
 * Op i draws its choices from a generator seeded by (seed, i) alone, so
 * --ops K (only the first K) and --skip/--only LIST (op indices and ranges,
 * "3,10-20") leave every other op as it was: a difference can be
 * delta-minimised by re-running with fewer ops.
 *
 * Names come from a small pool (fixture names and a few new ones, all
 * relative, never "..") so operations collide; symlink targets are
 * relative and never contain "..", and the working directory only moves
 * to directories below ROOT, so nothing outside ROOT is ever changed (some
 * paths are spelled through ROOT's ancestors: see below).
 *
 * Spellings (--spell PCT, 30 by default): that share of paths is written
 * otherwise, still naming the same place below ROOT (fz_spell): "//",
 * "/./" or "SIBLING/../" before ROOT's own name; relative to a dirfd of
 * ROOT's parent or grandparent, or through /proc/self/fd/ of the
 * parent's; "../CWDNAME/" from the working directory (out of ROOT and
 * back in when it is ROOT); /proc/self/fd/N/ for a slot's dirfd.  So
 * paths pass through ROOT's ancestors, but nothing outside ROOT is
 * changed by a right implementation (fuzz.sh checks).  The op line shows
 * the path as before; the spellings used are listed at its end, "{...}".
 * Reopens (--reopen PCT, 8 by default): before that share of ops, a line
 * "I reopen" reopens a slot's fd through /proc/self/fd/N (or /dev/fd/N,
 * /proc/thread-self/fd/N) with other flags into a slot.  Both are drawn
 * from a stream of their own, seeded by (seed, i) too: the ops' own
 * choices are those of --canonical (neither), which replays what a seed
 * did before they existed.
 *
 * What is normalised, and why (every other field is compared as is):
 *   - fd numbers: a layered view may hold fds of its own, so fds are
 *     named by slot; inode numbers are compared as relations (does this fd
 *     or name have the (st_dev, st_ino) of that name?), since a file
 *     system may reuse or allocate numbers as it likes.
 *   - st_size of directories, st_blocks, st_atime and st_ctime: file
 *     system dependent (atime also depends on relatime/noatime); st_mtime
 *     is printed exactly when it is an old, explicitly set time (before
 *     2020-09), otherwise as "new".
 *   - directory st_nlink: Linux file systems report 2 + subdirectories,
 *     or 1 when they do not count (btrfs; overlayfs and layerfs for a
 *     directory merged from several layers), 0 once removed.  Printed as
 *     "ok" when it is one of these, otherwise with the subdirectory count
 *     (fz_out_nlink_dir; a removed directory's "." is not opened in
 *     layerfs, see there).
 *   - non-directory st_nlink is checked against the number of names of
 *     the same inode found under ROOT ("nl=K" when equal).  With
 *     --layered, a larger st_nlink is accepted: a file still in a lower
 *     layer reports its layer's link count, which counts names the view
 *     hides (kernel overlayfs does the same; layerfs: core/union.c,
 *     "Hard links"); so does an fd opened on a lower file after the name
 *     was deleted.  A smaller one is always a difference.
 *   - SEEK_DATA/SEEK_HOLE: a file system may report any hole as data, so
 *     the result is checked (fz_seek_data_hole) and printed as
 *     ok/ENXIO/bad, and the offset is set back to off.  A directory's
 *     offsets are cookies of its file system: not compared (op_lseek).
 *   - read on a directory: EINVAL from ext4's hash offsets is EISDIR
 *     (fz_read_res).
 *   - readdir: names sorted; d_type DT_UNKNOWN is filled in from lstat;
 *     d_ino is checked against fstatat's st_ino (except for "..").
 *   - "." relative to a removed working directory runs as ROOT/.
 *     (fz_make_path: the working directory of layerfs is a name).
 *   - --overlayfs (given to both runs compared with kernel overlayfs),
 *     for what overlayfs does differently by design: read-only fds are
 *     not mapped (fz_mmap: overlayfs maps the lower copy of a file copied
 *     up after the open), fds with no name left are not fchmod'ed (it
 *     cannot copy them up: EEXIST), a removed lower directory's fd keeps
 *     its link count (fz_out_nlink_dir), and the d_ino of a hard link is
 *     not checked (fz_out_entries).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define FZ_SLOTS 6
#define FZ_MAXIO (1 << 20)
#define FZ_OLD_TIME 1600000000 /* mtimes before this are printed exactly */

/* ---- state --------------------------------------------------------------- */

static char fz_root[PATH_MAX];
static size_t fz_root_len;
static int fz_slot[FZ_SLOTS];  /* the fd in each slot, -1 when empty */
static bool fz_slot_ro[FZ_SLOTS]; /* the slot's file was opened O_RDONLY */
static bool fz_overlayfs;      /* --overlayfs: see fz_mmap */
static bool fz_layered;
static unsigned fz_spell_pct = 30;  /* --spell */
static unsigned fz_reopen_pct = 8;  /* --reopen */
static char fz_parent[PATH_MAX];    /* ROOT's parent, "" when ROOT is "/x" */
static const char *fz_root_name;    /* ROOT's last component */
static const char *fz_parent_name;  /* the parent's last component */
static char fz_sibling[NAME_MAX + 1]; /* a directory beside ROOT, or "" */
static int fz_parent_fd = -1, fz_gparent_fd = -1; /* dirfds above ROOT */
static unsigned char *fz_buf;  /* FZ_MAXIO bytes of I/O buffer */
static char fz_line[8192];     /* the line being built */
static size_t fz_len;
static sigjmp_buf fz_bus_jmp;

/* ---- random numbers: splitmix64, one stream per op ----------------------- */

struct fz_rng {
	uint64_t s;
};

static uint64_t fz_next(struct fz_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned fz_below(struct fz_rng *r, unsigned n)
{
	return n ? (unsigned)(fz_next(r) % n) : 0;
}

static bool fz_chance(struct fz_rng *r, unsigned pct)
{
	return fz_below(r, 100) < pct;
}

#define FZ_PICK(r, arr) ((arr)[fz_below((r), sizeof(arr) / sizeof((arr)[0]))])

/* ---- output -------------------------------------------------------------- */

__attribute__((format(printf, 1, 2)))
static void fz_out(const char *fmt, ...)
{
	va_list ap;
	int n;

	if (fz_len >= sizeof(fz_line) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(fz_line + fz_len, sizeof(fz_line) - fz_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		fz_len += (size_t)n < sizeof(fz_line) - fz_len ? (size_t)n :
			  sizeof(fz_line) - fz_len - 1;
}

static void fz_flush(void)
{
	fz_line[fz_len] = '\0';
	puts(fz_line);
	fflush(stdout);
	fz_len = 0;
}

static const char *fz_errname(int e)
{
	const char *s = strerrorname_np(e);

	return s ? s : "E?";
}

/* " = R" or " = -1 ENAME", from a result and the errno after it. */
static void fz_res(long r, int e)
{
	if (r < 0)
		fz_out(" = -1 %s", fz_errname(e));
	else
		fz_out(" = %ld", r);
}

static uint64_t fz_digest(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static void fz_out_digest(const unsigned char *p, ssize_t n)
{
	if (n > 0)
		fz_out(" #%016llx", (unsigned long long)fz_digest(p, (size_t)n));
}

static const char *fz_flagstr(int fl)
{
	static char s[128];
	const char *acc = (fl & O_ACCMODE) == O_RDONLY ? "RDONLY" :
			  (fl & O_ACCMODE) == O_WRONLY ? "WRONLY" : "RDWR";

	snprintf(s, sizeof(s), "%s%s%s%s%s%s%s", acc,
		 fl & O_CREAT ? "|CREAT" : "", fl & O_EXCL ? "|EXCL" : "",
		 fl & O_TRUNC ? "|TRUNC" : "", fl & O_APPEND ? "|APPEND" : "",
		 fl & O_DIRECTORY ? "|DIRECTORY" : "",
		 fl & O_NOFOLLOW ? "|NOFOLLOW" : "");
	return s;
}

/* ---- names --------------------------------------------------------------- */

static const char *const fz_dirs[] = {
	".", "docs", "docs/empty", "src", "src/lib", "bin", "deep/a", "d1",
	"d1/d2", "x", "lnk",
};

static const char *const fz_files[] = {
	"foo", "foo.hard", "foo.link", "readme.link", "dangling",
	"readonly.txt", "docs/readme.txt", "docs/numbers.txt", "src/main.c",
	"src/lib/lib.c", "deep/a/b/c/leaf.txt", "n1", "n2", "docs/n3",
	"d1/n4", "d1/d2/n5", "x/n6", "src/lib/n7", "docs/empty/n8", "lnk",
	"lnk/readme.txt", "lnk/n9", "nowhere", "foo/", "docs/", "d1/",
	"dangling/", "lnk/", "foo.link/",
};

static const char *const fz_bases[] = {
	"foo", "n1", "x", "d1", "readme.txt", "lib", "empty", "foo.link",
	"lnk", "nowhere",
};

/* Symlink targets: relative, no "..": they stay below ROOT. */
static const char *const fz_targets[] = {
	"foo", "docs", "docs/readme.txt", "nowhere", "lnk", "d1", "src/lib",
	"n1", ".", "x/n6",
};

/* A name for any operation; dir_bias: percentage drawn from fz_dirs. */
static void fz_pick_rel(struct fz_rng *r, unsigned dir_bias, char *out, size_t size)
{
	unsigned k = fz_below(r, 100);

	if (k < dir_bias)
		snprintf(out, size, "%s", FZ_PICK(r, fz_dirs));
	else if (k < dir_bias + (100 - dir_bias) * 3 / 4)
		snprintf(out, size, "%s", FZ_PICK(r, fz_files));
	else
		snprintf(out, size, "%s/%s", FZ_PICK(r, fz_dirs), FZ_PICK(r, fz_bases));
}

/* Never rmdir/rename/unlink ROOT itself (on a plain directory it would go). */
static void fz_pick_mutable(struct fz_rng *r, unsigned dir_bias, char *out, size_t size)
{
	do
		fz_pick_rel(r, dir_bias, out, size);
	while (strcmp(out, ".") == 0);
}

/*
 * How an op names a path: absolute (ROOT/rel), relative to the working
 * directory, or relative to the directory fd in a slot ("@S:rel").
 */
struct fz_path {
	int dirfd;
	char rel[PATH_MAX / 2];
	char path[2 * PATH_MAX];
	char shown[PATH_MAX / 2 + 16];
};

/* Is the working directory removed (getcwd fails with ENOENT)? */
static bool fz_cwd_removed(void)
{
	char buf[PATH_MAX];

	return !getcwd(buf, sizeof(buf)) && errno == ENOENT;
}

/* ---- spellings: the same place, written otherwise --------------------- */

static struct fz_rng fz_sp; /* this op's stream for spellings and reopens */
static char fz_note[128];   /* the spellings this op used */
static int fz_closing_fd = -1; /* an fd the op closes before its call */

static void fz_note_add(const char *kind)
{
	size_t n = strlen(fz_note);

	snprintf(fz_note + n, sizeof(fz_note) - n, "%s%s", n ? " " : "", kind);
}

/*
 * Writes p's path otherwise (fz_spell_pct of the time) without changing
 * the place it names (see the header); p->shown is left as it was.
 * allow_at: the op takes a dirfd.  Every choice comes from fz_sp, so the
 * same in every run of a seed.
 */
static void fz_spell(struct fz_path *p, bool allow_at)
{
	char buf[2 * PATH_MAX];
	const char *kind = NULL;
	int n = -1, dirfd = p->dirfd;

	if (fz_below(&fz_sp, 100) >= fz_spell_pct)
		return;
	unsigned k = fz_below(&fz_sp, 6);
	if (p->dirfd == AT_FDCWD && p->path[0] == '/' && fz_root_name) {
		const char *rel = p->path + fz_root_len + 1; /* p->path is ROOT/rel */
		if (k == 2 && !*fz_sibling)
			k = 0;
		if ((k == 3 && (!allow_at || fz_parent_fd < 0)) ||
		    (k == 4 && (!allow_at || fz_gparent_fd < 0)) || (k == 5 && fz_parent_fd < 0))
			k = 1;
		if (k == 0) {
			n = snprintf(buf, sizeof(buf), "%s//%s/%s", fz_parent, fz_root_name, rel);
			kind = "//";
		} else if (k == 1) {
			n = snprintf(buf, sizeof(buf), "%s/./%s/%s", fz_parent, fz_root_name, rel);
			kind = "/./";
		} else if (k == 2) {
			n = snprintf(buf, sizeof(buf), "%s/%s/../%s/%s", fz_parent, fz_sibling,
				 fz_root_name, rel);
			kind = "x/../";
		} else if (k == 3) {
			n = snprintf(buf, sizeof(buf), "%s/%s", fz_root_name, rel);
			dirfd = fz_parent_fd;
			kind = "parent-fd";
		} else if (k == 4) {
			n = snprintf(buf, sizeof(buf), "%s/%s/%s", fz_parent_name, fz_root_name, rel);
			dirfd = fz_gparent_fd;
			kind = "grandparent-fd";
		} else {
			n = snprintf(buf, sizeof(buf), "/proc/self/fd/%d/%s/%s", fz_parent_fd,
				 fz_root_name, rel);
			kind = "/proc/self/fd/parent/";
		}
	} else if (p->dirfd == AT_FDCWD && p->path[0] != '/') {
		char cwd[PATH_MAX];
		if (k % 2 == 0) {
			n = snprintf(buf, sizeof(buf), "./%s", p->path);
			kind = "./";
		} else if (getcwd(cwd, sizeof(cwd)) && !strncmp(cwd, fz_root, fz_root_len) &&
			   (cwd[fz_root_len] == '/' || !cwd[fz_root_len])) {
			/* Out of the working directory and back in: out of ROOT
			 * when it is ROOT. */
			n = snprintf(buf, sizeof(buf), "../%s/%s", strrchr(cwd, '/') + 1, p->path);
			kind = "../cwd/";
		}
	} else if (p->dirfd >= 0 && p->dirfd != fz_closing_fd) {
		/* Not an fd closed before the call: openat() on it is EBADF,
		 * its /proc/self/fd/N is ENOENT. */
		n = snprintf(buf, sizeof(buf), "/proc/self/fd/%d/%s", p->dirfd, p->path);
		dirfd = AT_FDCWD;
		kind = "/proc/self/fd/slot/";
	}
	if (!kind || n < 0 || (size_t)n >= sizeof(p->path))
		return;
	memcpy(p->path, buf, (size_t)n + 1);
	p->dirfd = dirfd;
	fz_note_add(kind);
}

/*
 * A removed working directory: the kernel still resolves "." to it (an
 * empty directory, nlink 0); layerfs's working directory is a name, and
 * every relative path in a removed one is ENOENT (shim/vpath.c).  By
 * design, so "." relative to it is run as ROOT/. instead.
 */
static void fz_make_path(struct fz_rng *r, struct fz_path *p, bool allow_at)
{
	unsigned k = fz_below(r, 100);
	unsigned slot = fz_below(r, FZ_SLOTS);

	p->dirfd = AT_FDCWD;
	if (k >= 65 && (k < 85 || !allow_at) && !strcmp(p->rel, ".") && fz_cwd_removed())
		k = 0;
	if (k < 65) {
		snprintf(p->path, sizeof(p->path), "%s/%s", fz_root, p->rel);
		snprintf(p->shown, sizeof(p->shown), "/%s", p->rel);
	} else if (k < 85 || !allow_at) {
		snprintf(p->path, sizeof(p->path), "%s", p->rel);
		snprintf(p->shown, sizeof(p->shown), "%s", p->rel);
	} else {
		p->dirfd = fz_slot[slot];
		snprintf(p->path, sizeof(p->path), "%s", p->rel);
		snprintf(p->shown, sizeof(p->shown), "@%u:%s", slot, p->rel);
	}
	fz_spell(p, allow_at);
}

static void fz_path(struct fz_rng *r, struct fz_path *p, unsigned dir_bias, bool allow_at)
{
	fz_pick_rel(r, dir_bias, p->rel, sizeof(p->rel));
	fz_make_path(r, p, allow_at);
}

static void fz_mpath(struct fz_rng *r, struct fz_path *p, unsigned dir_bias, bool allow_at)
{
	fz_pick_mutable(r, dir_bias, p->rel, sizeof(p->rel));
	fz_make_path(r, p, allow_at);
}

/* ---- stat lines ---------------------------------------------------------- */

struct fz_walk {
	dev_t dev;
	ino_t ino;
	int names;
};

/* Counts the non-directory names under dir (absolute) with w's inode. */
static void fz_count_in(const char *dir, struct fz_walk *w, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char sub[PATH_MAX];
	struct stat st;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
		if (lstat(sub, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (depth < 16)
				fz_count_in(sub, w, depth + 1);
		} else if (st.st_dev == w->dev && st.st_ino == w->ino) {
			w->names++;
		}
	}
	closedir(d);
}

static int fz_count_names(const struct stat *st)
{
	struct fz_walk w = { st->st_dev, st->st_ino, 0 };

	fz_count_in(fz_root, &w, 0);
	return w.names;
}

/* Subdirectories of the directory open as dfd, -1 when it is unreadable,
 * -2 when it has no "." entry (removed). */
static int fz_count_subdirs(int dfd)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *e;
	struct stat st;
	int n = 0;
	bool dot = false;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, "."))
			dot = true;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode))
			n++;
	}
	closedir(d);
	return dot ? n : -2;
}

static char fz_type(mode_t m)
{
	return S_ISREG(m) ? 'f' : S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'l' :
	       S_ISFIFO(m) ? 'p' : S_ISCHR(m) ? 'c' : S_ISBLK(m) ? 'b' : 's';
}

/*
 * A removed directory (nlink 0): the kernel still opens its "." (empty);
 * in layerfs nothing resolves in it (its fds, like its working directory,
 * are names: shim/vpath.c), so "." cannot be opened (-1).  By design.
 */
static void fz_out_nlink_dir(const struct stat *st, int subdirs)
{
	/* overlayfs: an fd on a removed lower directory shows the lower
	 * directory, links and all. */
	if (st->st_nlink == 1 || (subdirs >= 0 && st->st_nlink == (nlink_t)subdirs + 2) ||
	    (subdirs < 0 && st->st_nlink == 0) || (fz_overlayfs && subdirs == -2))
		fz_out(" nl=ok");
	else
		fz_out(" nl=%lu(subdirs=%d)", (unsigned long)st->st_nlink, subdirs);
}

/* names: the names of st's inode under ROOT, or -1 when known to be 1. */
static void fz_out_nlink_file(const struct stat *st, int names)
{
	if (names < 0 && st->st_nlink == 1)
		names = 1;
	else if (names < 0)
		names = fz_count_names(st);
	if (st->st_nlink == (nlink_t)names || (fz_layered && st->st_nlink > (nlink_t)names))
		fz_out(" nl=%d", names);
	else
		fz_out(" nl=%lu(names=%d)", (unsigned long)st->st_nlink, names);
}

/*
 * One stat, canonical: type, permission bits, owner, size (not for
 * directories), link count (see the header), mtime when old.  dfd is a
 * directory fd for the subdirectory count (directories only), or -1.
 */
static void fz_out_stat(const struct stat *st, int dfd, bool by_fd)
{
	fz_out(" %c%04o %u:%u", fz_type(st->st_mode), (unsigned)(st->st_mode & 07777),
	       (unsigned)st->st_uid, (unsigned)st->st_gid);
	if (!S_ISDIR(st->st_mode))
		fz_out(" s=%lld", (long long)st->st_size);
	if (S_ISDIR(st->st_mode))
		fz_out_nlink_dir(st, dfd >= 0 ? fz_count_subdirs(dfd) : -1);
	else
		fz_out_nlink_file(st, by_fd ? fz_count_names(st) : -1);
	if (st->st_mtim.tv_sec < FZ_OLD_TIME)
		fz_out(" mt=%lld.%09ld", (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	else
		fz_out(" mt=new");
}

/* A stat by path, then its directory's subdirectory count when a dir. */
static void fz_out_path_stat(const struct stat *st, const char *abs)
{
	int dfd = -1;

	if (S_ISDIR(st->st_mode))
		dfd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fz_out_stat(st, dfd, false);
	if (dfd >= 0)
		close(dfd);
}

/* The relation of st to the name rel (followed): "=rel", "!=rel", "rel:E". */
static void fz_out_relation(const struct stat *st, const char *rel)
{
	char abs[2 * PATH_MAX];
	struct stat o;

	snprintf(abs, sizeof(abs), "%s/%s", fz_root, rel);
	if (stat(abs, &o) < 0)
		fz_out(" %s:%s", rel, fz_errname(errno));
	else
		fz_out(" %s%s", o.st_dev == st->st_dev && o.st_ino == st->st_ino ? "=" : "!=",
		       rel);
}

/* ---- fd slots ------------------------------------------------------------ */

static int fz_slot_fd(unsigned s)
{
	return fz_slot[s];
}

static void fz_slot_clear(unsigned s)
{
	if (fz_slot[s] >= 0)
		close(fz_slot[s]);
	fz_slot[s] = -1;
}

/* The op found its slot empty: said so, nothing called. */
static bool fz_empty(unsigned s)
{
	if (fz_slot[s] >= 0)
		return false;
	fz_out(" = empty");
	return true;
}

/* ---- data ---------------------------------------------------------------- */

static const size_t fz_lens[] = { 0, 1, 5, 100, 4096, 5000, 20000, 70000 };
static const off_t fz_offs[] = { 0, 1, 7, 100, 4095, 4096, 10000, 65536, 200000 };
static const off_t fz_sizes[] = { 0, 1, 3, 8, 100, 4096, 5000, 70000, 300000 };

static void fz_fill(struct fz_rng *r, size_t n)
{
	uint64_t v = fz_next(r);

	for (size_t i = 0; i < n; i++) {
		if (i % 8 == 0)
			v = fz_next(r);
		fz_buf[i] = (unsigned char)(v >> (8 * (i % 8)));
	}
}

/* ---- operations ---------------------------------------------------------- */

static void op_open(struct fz_rng *r)
{
	static const int accs[] = { O_RDONLY, O_RDONLY, O_WRONLY, O_RDWR, O_RDWR };
	static const mode_t modes[] = { 0644, 0600, 0444, 0755 };
	struct fz_path p;
	unsigned s = fz_below(r, FZ_SLOTS);
	int fl = FZ_PICK(r, accs);
	mode_t mode = FZ_PICK(r, modes);
	bool dir = fz_chance(r, 15);

	fl |= fz_chance(r, 45) ? O_CREAT : 0;
	fl |= fz_chance(r, 15) ? O_EXCL : 0;
	fl |= fz_chance(r, 12) ? O_TRUNC : 0;
	fl |= fz_chance(r, 20) ? O_APPEND : 0;
	fl |= fz_chance(r, 10) || dir ? O_DIRECTORY : 0;
	fl |= fz_chance(r, 10) ? O_NOFOLLOW : 0;
	fz_closing_fd = fz_slot[s];
	fz_path(r, &p, dir ? 70 : 20, true);
	fz_closing_fd = -1;
	fz_out("open s%u %s %s 0%o", s, p.shown, fz_flagstr(fl), (unsigned)mode);
	fz_slot_clear(s);
	int fd = openat(p.dirfd, p.path, fl | O_CLOEXEC, mode);
	int e = errno;
	fz_res(fd < 0 ? -1 : 0, e);
	if (fd >= 0) {
		fz_slot[s] = fd;
		fz_slot_ro[s] = (fl & O_ACCMODE) == O_RDONLY;
	}
}

/*
 * The result of a read from fd.  On a directory Linux fails with EISDIR,
 * but ext4 leaves a directory read to its end at a 63-bit hash cookie
 * offset, and read() then fails EINVAL (the offset check comes first):
 * that EINVAL is printed as EISDIR.
 */
static void fz_read_res(int fd, ssize_t k, int e)
{
	struct stat st;

	if (k < 0 && e == EINVAL && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
		e = EISDIR;
	fz_res(k, e);
}

static void op_read(struct fz_rng *r)
{
	unsigned s = fz_below(r, FZ_SLOTS);
	size_t n = FZ_PICK(r, fz_lens);

	fz_out("read s%u %zu", s, n);
	if (fz_empty(s))
		return;
	ssize_t k = read(fz_slot_fd(s), fz_buf, n);
	fz_read_res(fz_slot_fd(s), k, errno);
	fz_out_digest(fz_buf, k);
}

static void op_pread(struct fz_rng *r)
{
	unsigned s = fz_below(r, FZ_SLOTS);
	size_t n = FZ_PICK(r, fz_lens);
	off_t off = FZ_PICK(r, fz_offs);

	fz_out("pread s%u %zu @%lld", s, n, (long long)off);
	if (fz_empty(s))
		return;
	ssize_t k = pread(fz_slot_fd(s), fz_buf, n, off);
	fz_read_res(fz_slot_fd(s), k, errno);
	fz_out_digest(fz_buf, k);
}

static void op_write(struct fz_rng *r)
{
	unsigned s = fz_below(r, FZ_SLOTS);
	size_t n = FZ_PICK(r, fz_lens);

	fz_fill(r, n);
	fz_out("write s%u %zu", s, n);
	if (fz_empty(s))
		return;
	ssize_t k = write(fz_slot_fd(s), fz_buf, n);
	fz_res(k, errno);
}

static void op_pwrite(struct fz_rng *r)
{
	unsigned s = fz_below(r, FZ_SLOTS);
	size_t n = FZ_PICK(r, fz_lens);
	off_t off = FZ_PICK(r, fz_offs);

	fz_fill(r, n);
	fz_out("pwrite s%u %zu @%lld", s, n, (long long)off);
	if (fz_empty(s))
		return;
	ssize_t k = pwrite(fz_slot_fd(s), fz_buf, n, off);
	fz_res(k, errno);
}

/* Are the bytes [from, to) of fd all zero? */
static bool fz_zeros(int fd, off_t from, off_t to)
{
	while (from < to) {
		size_t n = (size_t)(to - from) < FZ_MAXIO ? (size_t)(to - from) : FZ_MAXIO;
		ssize_t k = pread(fd, fz_buf, n, from);
		if (k <= 0)
			return k == 0;
		for (ssize_t i = 0; i < k; i++)
			if (fz_buf[i])
				return false;
		from += k;
	}
	return true;
}

/*
 * SEEK_DATA/SEEK_HOLE: checked, not compared (see the header).  Before
 * the end, SEEK_DATA may give any offset r with [off, r) all zero, or
 * ENXIO when [off, size) is all zero (no data: ext4 after a truncate up;
 * a memfd may report the same hole as data); SEEK_HOLE any r in
 * [off, size].  At or past the end both are ENXIO.  Either way the offset
 * is set to off afterwards.
 */
static void fz_seek_data_hole(int fd, off_t off, int whence)
{
	struct stat st;
	off_t res;
	int e;
	bool good;

	if (fstat(fd, &st) < 0) {
		fz_res(-1, errno);
		return;
	}
	res = lseek(fd, off, whence);
	e = errno;
	if (off >= st.st_size)
		good = res < 0 && e == ENXIO;
	else if (res < 0)
		good = whence == SEEK_DATA && e == ENXIO && fz_zeros(fd, off, st.st_size);
	else if (whence == SEEK_DATA)
		good = res >= off && res < st.st_size && fz_zeros(fd, off, res);
	else
		good = res >= off && res <= st.st_size;
	if (good && off >= st.st_size) {
		fz_res(-1, ENXIO);
		return;
	}
	if (good)
		fz_out(" = ok");
	else if (res < 0)
		fz_out(" = bad(%s size %lld)", fz_errname(e), (long long)st.st_size);
	else
		fz_out(" = bad(%lld size %lld)", (long long)res, (long long)st.st_size);
	lseek(fd, off, SEEK_SET);
}

static void op_lseek(struct fz_rng *r)
{
	static const int whences[] = { SEEK_SET, SEEK_SET, SEEK_CUR, SEEK_END,
				       SEEK_DATA, SEEK_HOLE };
	static const off_t deltas[] = { 0, 1, -1, 3, -5, 100, 4096, 70000, -100000 };
	static const char *const wn[] = { "SET", "CUR", "END", "DATA", "HOLE" };
	unsigned s = fz_below(r, FZ_SLOTS);
	int wh = FZ_PICK(r, whences);
	off_t off = FZ_PICK(r, deltas);

	if (wh == SEEK_SET || wh >= SEEK_DATA)
		off = off < 0 ? -off : off;
	fz_out("lseek s%u %lld %s", s, (long long)off, wn[wh]);
	if (fz_empty(s))
		return;
	struct stat st;
	bool dir = fstat(fz_slot_fd(s), &st) == 0 && S_ISDIR(st.st_mode);
	if (!dir && wh >= SEEK_DATA) {
		fz_seek_data_hole(fz_slot_fd(s), off, wh);
		return;
	}
	off_t res = lseek(fz_slot_fd(s), off, wh);
	/* A directory's offsets, and the whence values it takes, are the file
	 * system's (tmpfs: SEEK_SET and SEEK_CUR only): not compared. */
	if (dir)
		fz_out(" = dir");
	else
		fz_res(res, errno);
}

static void op_ftruncate(struct fz_rng *r)
{
	unsigned s = fz_below(r, FZ_SLOTS);
	off_t n = FZ_PICK(r, fz_sizes);

	fz_out("ftruncate s%u %lld", s, (long long)n);
	if (fz_empty(s))
		return;
	int k = ftruncate(fz_slot_fd(s), n);
	fz_res(k, errno);
}

static void op_truncate(struct fz_rng *r)
{
	struct fz_path p;
	off_t n = FZ_PICK(r, fz_sizes);

	fz_path(r, &p, 10, false);
	fz_out("truncate %s %lld", p.shown, (long long)n);
	int k = truncate(p.path, n);
	fz_res(k, errno);
}

static void op_close(struct fz_rng *r)
{
	unsigned s = fz_below(r, FZ_SLOTS);

	fz_out("close s%u", s);
	if (fz_empty(s))
		return;
	int k = close(fz_slot[s]);
	fz_res(k, errno);
	fz_slot[s] = -1;
}

static void op_dup(struct fz_rng *r)
{
	unsigned s = fz_below(r, FZ_SLOTS), t = fz_below(r, FZ_SLOTS);

	fz_out("dup s%u s%u", s, t);
	if (s == t || fz_empty(s))
		return (void)(s == t ? fz_out(" = same") : 0);
	fz_slot_clear(t);
	int fd = fcntl(fz_slot[s], fz_chance(r, 50) ? F_DUPFD : F_DUPFD_CLOEXEC, 0);
	fz_res(fd < 0 ? -1 : 0, errno);
	fz_slot[t] = fd;
	fz_slot_ro[t] = fz_slot_ro[s];
}

static void op_dup2(struct fz_rng *r)
{
	unsigned s = fz_below(r, FZ_SLOTS), t = fz_below(r, FZ_SLOTS);

	fz_out("dup2 s%u s%u", s, t);
	if (fz_empty(s))
		return;
	/* An empty target slot gets a fixed number, the same in every run. */
	int target = fz_slot[t] >= 0 ? fz_slot[t] : 100 + (int)t;
	int fd = dup2(fz_slot[s], target);
	fz_res(fd < 0 ? -1 : 0, errno);
	if (fd >= 0 && s != t) {
		fz_slot[t] = fd;
		fz_slot_ro[t] = fz_slot_ro[s];
	}
}

static void op_fstat(struct fz_rng *r)
{
	unsigned s = fz_below(r, FZ_SLOTS);
	char rel[PATH_MAX / 2];
	struct stat st;

	fz_pick_rel(r, 20, rel, sizeof(rel));
	fz_out("fstat s%u ~%s", s, rel);
	if (fz_empty(s))
		return;
	if (fstat(fz_slot_fd(s), &st) < 0) {
		fz_res(-1, errno);
		return;
	}
	fz_out(" =");
	fz_out_stat(&st, S_ISDIR(st.st_mode) ? fz_slot_fd(s) : -1, true);
	fz_out_relation(&st, rel);
}

static void op_stat_common(struct fz_rng *r, bool follow)
{
	struct fz_path p;
	char rel[PATH_MAX / 2];
	struct stat st;

	fz_path(r, &p, 25, true);
	fz_pick_rel(r, 20, rel, sizeof(rel));
	fz_out("%s %s ~%s", follow ? "stat" : "lstat", p.shown, rel);
	if (fstatat(p.dirfd, p.path, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) < 0) {
		fz_res(-1, errno);
		return;
	}
	fz_out(" =");
	if (S_ISDIR(st.st_mode) && p.dirfd == AT_FDCWD) {
		fz_out_path_stat(&st, p.path);
	} else if (S_ISDIR(st.st_mode)) {
		int dfd = openat(p.dirfd, p.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		fz_out_stat(&st, dfd, false);
		if (dfd >= 0)
			close(dfd);
	} else {
		fz_out_stat(&st, -1, false);
	}
	fz_out_relation(&st, rel);
}

static void op_stat(struct fz_rng *r)
{
	op_stat_common(r, true);
}

static void op_lstat(struct fz_rng *r)
{
	op_stat_common(r, false);
}

static void op_unlink(struct fz_rng *r)
{
	struct fz_path p;
	int flags = fz_chance(r, 15) ? AT_REMOVEDIR : 0;

	fz_mpath(r, &p, flags ? 60 : 5, true);
	fz_out("unlink %s%s", p.shown, flags ? " REMOVEDIR" : "");
	int k = unlinkat(p.dirfd, p.path, flags);
	fz_res(k, errno);
}

static void op_rename(struct fz_rng *r)
{
	static const unsigned flagset[] = { 0, 0, 0, RENAME_NOREPLACE, RENAME_NOREPLACE,
					    RENAME_EXCHANGE };
	struct fz_path a, b;
	unsigned flags = FZ_PICK(r, flagset);
	unsigned bias = fz_chance(r, 30) ? 60 : 10;

	fz_mpath(r, &a, bias, true);
	fz_mpath(r, &b, bias, true);
	fz_out("rename %s %s%s", a.shown, b.shown,
	       flags == RENAME_NOREPLACE ? " NOREPLACE" :
	       flags == RENAME_EXCHANGE ? " EXCHANGE" : "");
	int k = flags || fz_chance(r, 50) ?
		renameat2(a.dirfd, a.path, b.dirfd, b.path, flags) :
		renameat(a.dirfd, a.path, b.dirfd, b.path);
	fz_res(k, errno);
}

static void op_mkdir(struct fz_rng *r)
{
	static const mode_t modes[] = { 0755, 0700, 0555, 0777, 02755 };
	struct fz_path p;
	mode_t mode = FZ_PICK(r, modes);

	fz_mpath(r, &p, 60, true);
	fz_out("mkdir %s 0%o", p.shown, (unsigned)mode);
	int k = mkdirat(p.dirfd, p.path, mode);
	fz_res(k, errno);
}

static void op_rmdir(struct fz_rng *r)
{
	struct fz_path p;

	fz_mpath(r, &p, 75, false);
	fz_out("rmdir %s", p.shown);
	int k = rmdir(p.path);
	fz_res(k, errno);
}

static void op_symlink(struct fz_rng *r)
{
	struct fz_path p;
	const char *target = FZ_PICK(r, fz_targets);

	fz_mpath(r, &p, 10, true);
	fz_out("symlink %s %s", target, p.shown);
	int k = symlinkat(target, p.dirfd, p.path);
	fz_res(k, errno);
}

static void op_link(struct fz_rng *r)
{
	struct fz_path a, b;
	int flags = fz_chance(r, 30) ? AT_SYMLINK_FOLLOW : 0;

	fz_mpath(r, &a, 10, true);
	fz_mpath(r, &b, 5, true);
	fz_out("link %s %s%s", a.shown, b.shown, flags ? " FOLLOW" : "");
	int k = linkat(a.dirfd, a.path, b.dirfd, b.path, flags);
	fz_res(k, errno);
}

static void op_readlink(struct fz_rng *r)
{
	struct fz_path p;
	char buf[256];

	fz_path(r, &p, 5, true);
	fz_out("readlink %s", p.shown);
	ssize_t k = readlinkat(p.dirfd, p.path, buf, sizeof(buf) - 1);
	fz_res(k, errno);
	if (k >= 0)
		fz_out(" \"%.*s\"", (int)k, buf);
}

static const mode_t fz_chmods[] = { 0644, 0600, 0755, 0444, 0700, 0777, 04755, 01777, 0 };

static void op_chmod(struct fz_rng *r)
{
	struct fz_path p;
	mode_t mode = FZ_PICK(r, fz_chmods);

	fz_path(r, &p, 30, true);
	fz_out("chmod %s 0%o", p.shown, (unsigned)mode);
	int k = fchmodat(p.dirfd, p.path, mode, 0);
	fz_res(k, errno);
}

/* Has the file open as fd no name under ROOT any more? */
static bool fz_nameless(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return false;
	if (S_ISDIR(st.st_mode))
		return fz_count_subdirs(fd) == -2;
	return fz_count_names(&st) == 0;
}

static void op_fchmod(struct fz_rng *r)
{
	unsigned s = fz_below(r, FZ_SLOTS);
	mode_t mode = FZ_PICK(r, fz_chmods);

	fz_out("fchmod s%u 0%o", s, (unsigned)mode);
	if (fz_empty(s))
		return;
	/* overlayfs cannot copy up a file with no name left (EEXIST): with
	 * --overlayfs, such fds are not changed. */
	if (fz_overlayfs && fz_nameless(fz_slot_fd(s))) {
		fz_out(" = not-run(overlayfs)");
		return;
	}
	int k = fchmod(fz_slot_fd(s), mode);
	fz_res(k, errno);
}

static void op_utimens(struct fz_rng *r)
{
	struct timespec ts[2] = {
		{ 1000000000 + (time_t)fz_below(r, 1000000), (long)fz_below(r, 1000000000) },
		{ 1200000000 + (time_t)fz_below(r, 1000000), (long)fz_below(r, 1000000000) },
	};
	unsigned how = fz_below(r, 4);
	int flags = fz_chance(r, 25) ? AT_SYMLINK_NOFOLLOW : 0;
	struct fz_path p;

	if (how == 1)
		ts[0].tv_nsec = UTIME_OMIT;
	if (how == 2)
		ts[1].tv_nsec = UTIME_NOW;
	fz_path(r, &p, 25, true);
	fz_out("utimensat %s %s%s", p.shown,
	       how == 0 ? "both" : how == 1 ? "omit,mtime" : how == 2 ? "atime,now" : "NULL",
	       flags ? " NOFOLLOW" : "");
	int k = utimensat(p.dirfd, p.path, how == 3 ? NULL : ts, flags);
	fz_res(k, errno);
}

static void op_chdir(struct fz_rng *r)
{
	struct fz_path p;

	fz_pick_rel(r, 85, p.rel, sizeof(p.rel));
	fz_make_path(r, &p, false);
	fz_out("chdir %s", p.shown);
	int k = chdir(p.path);
	fz_res(k, errno);
}

static void op_fchdir(struct fz_rng *r)
{
	unsigned s = fz_below(r, FZ_SLOTS);

	fz_out("fchdir s%u", s);
	if (fz_empty(s))
		return;
	int k = fchdir(fz_slot_fd(s));
	fz_res(k, errno);
}

static void op_getcwd(struct fz_rng *r)
{
	char buf[PATH_MAX];

	(void)r;
	fz_out("getcwd");
	if (!getcwd(buf, sizeof(buf))) {
		fz_res(-1, errno);
		return;
	}
	if (strncmp(buf, fz_root, fz_root_len) == 0 &&
	    (buf[fz_root_len] == '\0' || buf[fz_root_len] == '/'))
		fz_out(" = \"/%s\"", buf + fz_root_len + (buf[fz_root_len] == '/'));
	else
		fz_out(" = outside");
}

static int fz_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prints the entries of d sorted: name:type, "!ino" when d_ino is off. */
static void fz_out_entries(DIR *d)
{
	char *names[512];
	size_t n = 0;
	struct dirent *e;
	struct stat st;

	errno = 0;
	while (n < 512 && (e = readdir(d))) {
		char t = '?';
		bool bad_ino = false;
		int have = fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW);

		if (e->d_type != DT_UNKNOWN)
			t = fz_type((mode_t)DTTOIF(e->d_type));
		else if (have == 0)
			t = fz_type(st.st_mode);
		/* overlayfs: a hard link made of a lower file (copied up into
		 * its index) in a directory of the upper layer alone lists the
		 * upper inode number, not the one stat shows. */
		if (strcmp(e->d_name, "..") != 0 && have == 0 && st.st_ino != e->d_ino &&
		    !(fz_overlayfs && !S_ISDIR(st.st_mode) && st.st_nlink > 1))
			bad_ino = true;
		if (asprintf(&names[n], "%s:%c%s", e->d_name, t, bad_ino ? "!ino" : "") >= 0)
			n++;
	}
	int err = errno;
	qsort(names, n, sizeof(names[0]), fz_name_cmp);
	fz_out(" = %zu", n);
	for (size_t i = 0; i < n; i++) {
		fz_out(" %s", names[i]);
		free(names[i]);
	}
	if (err)
		fz_out(" readdir:%s", fz_errname(err));
}

static void op_readdir(struct fz_rng *r)
{
	struct fz_path p;

	fz_path(r, &p, 80, false);
	fz_out("readdir %s", p.shown);
	DIR *d = opendir(p.path);
	if (!d) {
		fz_res(-1, errno);
		return;
	}
	fz_out_entries(d);
	closedir(d);
}

static void op_freaddir(struct fz_rng *r)
{
	unsigned s = fz_below(r, FZ_SLOTS);

	fz_out("freaddir s%u", s);
	if (fz_empty(s))
		return;
	int fd = fcntl(fz_slot_fd(s), F_DUPFD_CLOEXEC, 0);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		fz_res(-1, errno);
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(d);
	fz_out_entries(d);
	closedir(d);
}

static void fz_on_bus(int sig)
{
	(void)sig;
	siglongjmp(fz_bus_jmp, 1);
}

/* Touches the mapping m: writes wlen bytes of fz_buf at wat, or digests
 * it.  A SIGBUS (a page past the end) is printed, not fatal. */
static void fz_mmap_touch(unsigned char *m, size_t len, bool write, size_t wlen,
			  unsigned wat)
{
	volatile size_t vlen = len, vwlen = wlen < len ? wlen : len;
	volatile unsigned vwat = len > vwlen ? wat % (unsigned)(len - vwlen + 1) : 0;

	if (sigsetjmp(fz_bus_jmp, 1)) {
		fz_out(" = SIGBUS");
		return;
	}
	if (write) {
		memcpy(m + vwat, fz_buf, vwlen);
		fz_out(" = %zu @%u", (size_t)vwlen, (unsigned)vwat);
	} else {
		fz_out(" = %zu", (size_t)vlen);
		fz_out_digest(m, (ssize_t)vlen);
	}
}

/* Maps [off, off + len) of the slot's file (clipped to its size). */
static void fz_mmap(struct fz_rng *r, bool write)
{
	unsigned s = fz_below(r, FZ_SLOTS);
	off_t off = fz_chance(r, 70) ? 0 : 4096;
	size_t len = FZ_PICK(r, fz_lens), wlen = 1 + fz_below(r, 300);
	unsigned wat = fz_below(r, 1u << 16);
	struct stat st;

	fz_fill(r, wlen);
	fz_out("mmap%s s%u @%lld %zu", write ? "-write" : "-read", s, (long long)off, len);
	if (fz_empty(s))
		return;
	/* Kernel overlayfs maps the file an fd was opened on: a read-only fd
	 * opened before a copy-up maps the lower copy (overlayfs.rst,
	 * "Non-standard behavior"); layerfs moves the fd.  By design there:
	 * with --overlayfs (both runs), read-only fds are not mapped. */
	if (fz_overlayfs && fz_slot_ro[s]) {
		fz_out(" = not-run(overlayfs)");
		return;
	}
	int fd = fz_slot_fd(s);
	if (fstat(fd, &st) < 0) {
		fz_res(-1, errno);
		return;
	}
	if (S_ISREG(st.st_mode) && st.st_size > off && (off_t)len > st.st_size - off)
		len = (size_t)(st.st_size - off);
	unsigned char *m = mmap(NULL, len, write ? PROT_READ | PROT_WRITE : PROT_READ,
				MAP_SHARED, fd, off);
	if (m == MAP_FAILED) {
		fz_res(-1, errno);
		return;
	}
	fz_mmap_touch(m, len, write, wlen, wat);
	munmap(m, len);
}

static void op_mmap_read(struct fz_rng *r)
{
	fz_mmap(r, false);
}

static void op_mmap_write(struct fz_rng *r)
{
	fz_mmap(r, true);
}

/* Reads a whole file by name. */
static void op_cat(struct fz_rng *r)
{
	struct fz_path p;

	fz_path(r, &p, 5, true);
	fz_out("cat %s", p.shown);
	int fd = openat(p.dirfd, p.path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fz_res(-1, errno);
		return;
	}
	ssize_t k = read(fd, fz_buf, FZ_MAXIO);
	fz_res(k, errno);
	fz_out_digest(fz_buf, k);
	close(fd);
}

static const struct {
	void (*fn)(struct fz_rng *r);
	unsigned weight;
} fz_ops[] = {
	{ op_open, 12 }, { op_read, 5 }, { op_pread, 4 }, { op_write, 6 },
	{ op_pwrite, 5 }, { op_lseek, 4 }, { op_ftruncate, 3 }, { op_truncate, 3 },
	{ op_close, 5 }, { op_dup, 2 }, { op_dup2, 2 }, { op_fstat, 4 },
	{ op_stat, 4 }, { op_lstat, 3 }, { op_unlink, 4 }, { op_rename, 6 },
	{ op_mkdir, 4 }, { op_rmdir, 3 }, { op_symlink, 3 }, { op_link, 3 },
	{ op_readlink, 2 }, { op_chmod, 2 }, { op_fchmod, 1 }, { op_utimens, 2 },
	{ op_chdir, 2 }, { op_fchdir, 1 }, { op_getcwd, 1 }, { op_readdir, 4 },
	{ op_freaddir, 1 }, { op_mmap_read, 2 }, { op_mmap_write, 2 }, { op_cat, 4 },
};

/*
 * "I reopen sT FORM/sS FLAGS": slot S's fd opened again through FORM/N
 * with FLAGS, into slot T.  Before op I, from fz_sp (see the header).
 */
static void op_reopen(unsigned i)
{
	static const int flagset[] = { O_RDONLY, O_WRONLY | O_APPEND, O_RDWR, O_WRONLY | O_TRUNC,
				       O_RDONLY | O_DIRECTORY, O_WRONLY };
	static const char *const forms[] = { "/proc/self/fd", "/proc/self/fd", "/dev/fd",
					     "/proc/thread-self/fd" };
	unsigned s = fz_below(&fz_sp, FZ_SLOTS), t = fz_below(&fz_sp, FZ_SLOTS);
	int fl = FZ_PICK(&fz_sp, flagset);
	const char *form = FZ_PICK(&fz_sp, forms);
	char path[64];

	fz_out("%u reopen s%u %s/s%u %s", i, t, form, s, fz_flagstr(fl));
	if (!fz_empty(s)) {
		snprintf(path, sizeof(path), "%s/%d", form, fz_slot[s]);
		int fd = open(path, fl | O_CLOEXEC);
		int e = errno;
		fz_res(fd < 0 ? -1 : 0, e);
		if (fd >= 0) {
			fz_slot_clear(t);
			fz_slot[t] = fd;
			fz_slot_ro[t] = (fl & O_ACCMODE) == O_RDONLY;
		}
	}
	fz_flush();
}

static void fz_run_op(uint64_t seed, unsigned i)
{
	struct fz_rng r = { seed * 0x100000001b3ull + i * 0x9e3779b97f4a7c15ull + i };
	unsigned total = 0, k;

	/* The spellings' and reopens' own stream: r is drawn as it was. */
	fz_sp.s = (seed ^ 0x5851f42d4c957f2dull) * 0x2545f4914f6cdd1dull +
		  (i + 1) * 0xd1b54a32d192ed03ull;
	fz_note[0] = '\0';
	if (fz_below(&fz_sp, 100) < fz_reopen_pct)
		op_reopen(i);
	for (size_t j = 0; j < sizeof(fz_ops) / sizeof(fz_ops[0]); j++)
		total += fz_ops[j].weight;
	k = fz_below(&r, total);
	for (size_t j = 0; j < sizeof(fz_ops) / sizeof(fz_ops[0]); j++) {
		if (k < fz_ops[j].weight) {
			fz_out("%u ", i);
			fz_ops[j].fn(&r);
			if (*fz_note)
				fz_out(" {%s}", fz_note);
			fz_flush();
			return;
		}
		k -= fz_ops[j].weight;
	}
}

/* ROOT's parent, grandparent and a directory beside it, for fz_spell. */
static void fz_find_above(void)
{
	char *slash = strrchr(fz_root, '/'), gparent[PATH_MAX];
	char *names[512];
	size_t n = 0;
	struct dirent *e;
	DIR *d;

	if (!slash || !slash[1])
		return; /* ROOT is "/" */
	snprintf(fz_parent, sizeof(fz_parent), "%.*s", (int)(slash - fz_root), fz_root);
	fz_root_name = slash + 1;
	fz_parent_fd = open(*fz_parent ? fz_parent : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fz_parent) {
		slash = strrchr(fz_parent, '/');
		fz_parent_name = slash + 1;
		snprintf(gparent, sizeof(gparent), "%.*s", (int)(slash - fz_parent), fz_parent);
		fz_gparent_fd = open(*gparent ? gparent : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	d = opendir(*fz_parent ? fz_parent : "/");
	while (d && n < 512 && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strcmp(e->d_name, fz_root_name) && (names[n] = strdup(e->d_name)))
			n++;
	if (d)
		closedir(d);
	qsort(names, n, sizeof(names[0]), fz_name_cmp);
	for (size_t i = 0; i < n; i++) {
		char sub[PATH_MAX + NAME_MAX + 2];
		struct stat st;
		snprintf(sub, sizeof(sub), "%s/%s", fz_parent, names[i]);
		if (!*fz_sibling && lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
			snprintf(fz_sibling, sizeof(fz_sibling), "%s", names[i]);
		free(names[i]);
	}
}

/* ---- the final tree ------------------------------------------------------ */

struct fz_ent {
	char *rel;
	dev_t dev;
	ino_t ino;
	bool dir;
};

struct fz_tree {
	struct fz_ent *v;
	size_t n, cap;
};

static void fz_tree_add(struct fz_tree *t, const char *rel, const struct stat *st)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		struct fz_ent *v = realloc(t->v, cap * sizeof(*v));
		if (!v)
			return;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = (struct fz_ent){ strdup(rel), st->st_dev, st->st_ino,
					S_ISDIR(st->st_mode) };
}

/* One line per entry under rel (absolute abs), depth first, sorted. */
static void fz_dump_dir(struct fz_tree *t, const char *rel, const char *abs, int depth)
{
	char *names[512], sub[PATH_MAX], subrel[PATH_MAX];
	size_t n = 0;
	DIR *d = opendir(abs);
	struct dirent *e;
	struct stat st;

	if (!d) {
		printf("tree %s opendir:%s\n", rel, fz_errname(errno));
		return;
	}
	while (n < 512 && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && (names[n] = strdup(e->d_name)))
			n++;
	closedir(d);
	qsort(names, n, sizeof(names[0]), fz_name_cmp);
	for (size_t i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", abs, names[i]);
		snprintf(subrel, sizeof(subrel), "%s%s%s", rel, *rel ? "/" : "", names[i]);
		fz_len = 0;
		fz_out("tree %s", subrel);
		if (lstat(sub, &st) < 0) {
			fz_out(" lstat:%s", fz_errname(errno));
			fz_flush();
			free(names[i]);
			continue;
		}
		if (S_ISDIR(st.st_mode))
			fz_out_path_stat(&st, sub);
		else
			fz_out_stat(&st, -1, true);
		if (S_ISLNK(st.st_mode)) {
			char buf[256];
			ssize_t k = readlink(sub, buf, sizeof(buf) - 1);
			fz_out(" -> \"%.*s\"", k < 0 ? 0 : (int)k, buf);
		} else if (S_ISREG(st.st_mode)) {
			int fd = open(sub, O_RDONLY | O_CLOEXEC);
			ssize_t k = fd < 0 ? -1 : read(fd, fz_buf, FZ_MAXIO);
			fz_out(" data=%zd", k);
			fz_out_digest(fz_buf, k);
			if (fd >= 0)
				close(fd);
		}
		fz_flush();
		fz_tree_add(t, subrel, &st);
		if (S_ISDIR(st.st_mode) && depth < 16)
			fz_dump_dir(t, subrel, sub, depth + 1);
		free(names[i]);
	}
}

/* The dump, then the hard-link groups: names sharing one inode. */
static void fz_dump_tree(void)
{
	struct fz_tree t = { 0 };
	struct stat st;

	fz_len = 0;
	fz_out("tree .");
	if (lstat(fz_root, &st) == 0)
		fz_out_path_stat(&st, fz_root);
	fz_flush();
	fz_dump_dir(&t, "", fz_root, 0);
	for (size_t i = 0; i < t.n; i++) {
		bool first = true, more = false;
		if (t.v[i].dir)
			continue;
		for (size_t j = 0; j < i && first; j++)
			if (!t.v[j].dir && t.v[j].dev == t.v[i].dev && t.v[j].ino == t.v[i].ino)
				first = false;
		if (!first)
			continue;
		fz_len = 0;
		fz_out("links %s", t.v[i].rel);
		for (size_t j = i + 1; j < t.n; j++)
			if (!t.v[j].dir && t.v[j].dev == t.v[i].dev && t.v[j].ino == t.v[i].ino) {
				fz_out(" %s", t.v[j].rel);
				more = true;
			}
		if (more)
			fz_flush();
		fz_len = 0;
	}
	for (size_t i = 0; i < t.n; i++)
		free(t.v[i].rel);
	free(t.v);
}

/* ---- main ---------------------------------------------------------------- */

/* Marks the indices LIST names ("3,10-20") in map (n entries) with v. */
static int fz_parse_list(const char *list, bool *map, unsigned n, bool v)
{
	const char *p = list;

	while (*p) {
		char *end;
		unsigned long a = strtoul(p, &end, 10), b = a;
		if (end == p)
			return -1;
		if (*end == '-') {
			p = end + 1;
			b = strtoul(p, &end, 10);
			if (end == p)
				return -1;
		}
		for (unsigned long i = a; i <= b && i < n; i++)
			map[i] = v;
		p = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -1;
	}
	return 0;
}

static int fz_usage(void)
{
	fprintf(stderr, "usage: fuzz [--seed N] [--ops N] [--skip LIST] [--only LIST] "
		"[--layered] [--overlayfs] [--no-tree] [--spell PCT] [--reopen PCT] "
		"[--canonical] ROOT\n");
	return 2;
}

int main(int argc, char **argv)
{
	uint64_t seed = 1;
	unsigned ops = 200;
	const char *skip = NULL, *only = NULL, *root = NULL;
	bool tree = true;
	bool *run;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool val = i + 1 < argc;
		if (!strcmp(a, "--seed") && val)
			seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(a, "--ops") && val)
			ops = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(a, "--skip") && val)
			skip = argv[++i];
		else if (!strcmp(a, "--only") && val)
			only = argv[++i];
		else if (!strcmp(a, "--layered"))
			fz_layered = true;
		else if (!strcmp(a, "--overlayfs"))
			fz_overlayfs = true;
		else if (!strcmp(a, "--no-tree"))
			tree = false;
		else if (!strcmp(a, "--spell") && val)
			fz_spell_pct = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(a, "--reopen") && val)
			fz_reopen_pct = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(a, "--canonical"))
			fz_spell_pct = fz_reopen_pct = 0;
		else if (a[0] != '-' && !root)
			root = a;
		else
			return fz_usage();
	}
	if (!root || !realpath(root, fz_root))
		return fz_usage();
	fz_root_len = strlen(fz_root);
	fz_find_above();
	run = calloc(ops + 1, sizeof(*run));
	fz_buf = malloc(FZ_MAXIO);
	if (!run || !fz_buf)
		return 1;
	for (unsigned i = 0; i < ops; i++)
		run[i] = !only;
	if ((only && fz_parse_list(only, run, ops, true) < 0) ||
	    (skip && fz_parse_list(skip, run, ops, false) < 0))
		return fz_usage();
	for (int i = 0; i < FZ_SLOTS; i++)
		fz_slot[i] = -1;
	signal(SIGBUS, fz_on_bus);
	umask(022);
	if (chdir(fz_root) < 0) {
		perror("chdir");
		return 1;
	}
	printf("seed %llu ops %u\n", (unsigned long long)seed, ops);
	for (unsigned i = 0; i < ops; i++)
		if (run[i])
			fz_run_op(seed, i);
	for (unsigned s = 0; s < FZ_SLOTS; s++)
		fz_slot_clear(s);
	if (chdir(fz_root) < 0)
		perror("chdir");
	if (tree)
		fz_dump_tree();
	free(run);
	free(fz_buf);
	return 0;
}
