/* SPDX-License-Identifier: MIT */
/*
 * contain - containment probes: does a call reach the view, and only the
 * view, however its target is named?  Driven by
 * tests/integration/containment.sh (issue 11).
 *
 * Usage:
 *   contain list
 *       Prints the generated cases: "BATCH<TAB>NAME<TAB>STEPS" lines, one
 *       batch per spelling of the target (see ct_forms, ct_reopens), one
 *       case per call (ct_calls), each on a directory of the view of its
 *       own.
 *   contain calls
 *       Prints the calls' names: the directories the view must hold.
 *   contain case [--top T] [--mnt REL] [--no-tree] STEP [; STEP]...
 *       Runs one case in this process: one canonical line per step, then
 *       the view's tree (T/REL) and "end".
 *   contain serve --top T [--mnt REL]
 *       The runner of a batch: reads "NAME<TAB>STEPS" lines, runs each
 *       case in a child process of its own, prints its lines and a mark.
 *   contain drive --mode view|ovl|plain --top T --pristine P --work W
 *                 [--mnt REL] [--lower L] [--lower-rel R] [--cache C]
 *                 [--lowerdir D] [--expect FILE]
 *                 [--launcher LAYERFS [--runner R]] < CASES
 *       Runs the cases of CASES ("BATCH<TAB>NAME<TAB>STEPS"), each batch
 *       in one runner with a fresh upper layer:
 *         view   through layerfs: the runner is this program exec'd with
 *                LD_PRELOAD=$CONTAIN_PRELOAD, LAYERFS_MOUNT=T/REL,
 *                LAYERFS_LOWER=L, LAYERFS_UPPER=a fresh W/up and
 *                LAYERFS_CACHE=C; with --launcher, the runner is R (a
 *                static build of this program: the supervisor, not the
 *                shim, sees its calls) run by `LAYERFS run` with those
 *                layers.  Each case runs in a child the runner
 *                forks (the runner touches nothing itself): a process of
 *                its own that starts from a shim that has not looked at
 *                the view, acting on names no case before it touched.
 *                After each case the whole of T is compared with its state
 *                before the case (the lower is T/R: a directory overlaid
 *                in place, or an archive file), and so is every extracted
 *                content file of C (C/.../data/...: written once, then
 *                only read); one that appeared or changed must hold what
 *                a file of D (the extracted archive) holds.  What changed
 *                is put back (T from P; C removed) after the batch.  With --expect FILE (a
 *                reference run's output) each case's lines are compared
 *                with the reference's, and one record is printed per case:
 *                "ok<TAB>NAME" or "not ok<TAB>NAME<TAB>WHY" followed by
 *                "#<TAB>detail" lines.
 *         ovl    the reference, as root inside `unshare -m`: a copy of P
 *                (W/scratch) is bind-mounted on T, and for each batch
 *                kernel overlayfs (lowerdir=D, a fresh upper on a tmpfs of
 *                the namespace) is mounted on T/REL.
 *         plain  the reference without root: T is a plain tree of its own
 *                (a copy of P, with D copied to T/REL for each batch);
 *                paths print relative to "@T", so T may differ from the
 *                view's.
 *       The reference modes print "case NAME", the case's lines and what
 *       changed outside the view (nothing, normally), then "endcase".
 *
 * A step is a word list; steps are separated by a ";" word.  In a case
 * line a word may be quoted with '...'.  Before a step runs, in each word
 * "@T" becomes the tree T, "@M" the mount point T/REL, "{fd:S}" the fd in
 * slot S (0-9), "{pid}" this process's id, "{peer}" the peer's and
 * "{peerfd:S}" the fd in the peer's slot S.  A step whose first word is
 * "&&" runs only when the step before it succeeded.  A step prints its
 * words as written, " = ", and its result: the return value or "-1 ENAME",
 * what it read, a listing, or a stat as type, mode, owner, size, link
 * count and (when old) mtime; never an inode or fd number, which differ
 * legitimately.  Paths in results print with T as "@T".  D is a dirfd:
 * "-" (AT_FDCWD; the call without "at" is used then) or a slot.
 *
 *   open S D P FLAGS [MODE]   FLAGS: rdonly|wronly|rdwr|creat|excl|trunc|
 *                             append|directory|nofollow|path (fd to slot S)
 *   read S, write S TEXT (TEXT and a newline), close S, fstat S
 *   stat D P, lstat D P, statx D P, access D P rwxf, readlink D P
 *   mkdir D P MODE, rmdir D P, unlink D P, mknod D P (a fifo),
 *   symlink TARGET D P, rename D P D2 P2, link D P D2 P2 [follow]
 *   chmod D P MODE, chown D P UID GID, utimes D P (utimensat, fixed old
 *                             times),
 *   fchown S UID GID, futimes S   the same through slot S's fd itself
 *                             (AT_EMPTY_PATH: an O_PATH fd too)
 *   truncate P LEN, setxattr P NAME VALUE, removexattr P NAME,
 *   getxattr P NAME
 *   ls D P                    the sorted listing (opendir, or fdopendir)
 *   cd D P, getcwd
 *   flock S ex|sh|un|exnb|shnb, setlk S rd|wr|un, ofdlk S rd|wr|un
 *                             (F_SETLK / F_OFD_SETLK, whole file),
 *   getlk S rd|wr, ofdgetlk S rd|wr   the lock that would conflict
 *   peer                      forks the peer: another process of the job,
 *                             with no slots of its own yet
 *   B STEP...                 runs STEP in the peer
 *   run PROG ARG...           runs a program: its status and its output
 *   delete D P SUFFIX         deletes the files named *SUFFIX below D/P,
 *                             walking by dirfds as find -delete does
 *   tree P                    the tree below P
 *   warm P                    reads every file below P twice
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define CT_SLOTS 10
#define CT_OLD_TIME 1600000000 /* mtimes before this print exactly */
#define CT_TIMEOUT_MS 20000    /* a case that takes longer is killed */

/* ---- state of a case ----------------------------------------------------- */

static char ct_top[PATH_MAX];
static size_t ct_top_len;
static const char *ct_mnt_rel = "a/b/m";
static int ct_slot[CT_SLOTS];
static pid_t ct_peer_pid = -1;
static int ct_peer_to = -1, ct_peer_from = -1;
static int ct_peer_slot[CT_SLOTS];
static bool ct_plain;       /* the reference on a plain directory */
static bool ct_failed;      /* the last step failed (see "&&") */
static char ct_line[16384]; /* the line being built */
static size_t ct_len;

/* ---- output -------------------------------------------------------------- */

__attribute__((format(printf, 1, 2)))
static void ct_out(const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ct_len >= sizeof(ct_line) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(ct_line + ct_len, sizeof(ct_line) - ct_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		ct_len += (size_t)n < sizeof(ct_line) - ct_len ? (size_t)n :
			  sizeof(ct_line) - ct_len - 1;
}

/* Prints the line built, if any. */
static void ct_flush(void)
{
	if (!ct_len)
		return;
	ct_line[ct_len] = '\0';
	puts(ct_line);
	fflush(stdout);
	ct_len = 0;
}

static const char *ct_errname(int e)
{
	const char *s = strerrorname_np(e);

	return s ? s : "E?";
}

/* " = R" or " = -1 ENAME". */
static void ct_res(long r, int e)
{
	ct_failed = r < 0;
	if (r < 0)
		ct_out(" = -1 %s", ct_errname(e));
	else
		ct_out(" = %ld", r);
}

/* n bytes of p, quoted, with T shown as "@T" and odd bytes escaped. */
static void ct_out_text(const char *p, size_t n)
{
	ct_out("\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (ct_top_len && n - i >= ct_top_len && !memcmp(p + i, ct_top, ct_top_len)) {
			ct_out("@T");
			i += ct_top_len - 1;
		} else if (c == '\n') {
			ct_out("\\n");
		} else if (c == '"' || c == '\\') {
			ct_out("\\%c", c);
		} else if (c < 32 || c >= 127) {
			ct_out("\\x%02x", c);
		} else {
			ct_out("%c", c);
		}
	}
	ct_out("\"");
}

static char ct_type(mode_t m)
{
	return S_ISREG(m) ? 'f' : S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'l' :
	       S_ISFIFO(m) ? 'p' : S_ISCHR(m) ? 'c' : S_ISBLK(m) ? 'b' : 's';
}

/*
 * A stat, canonical: type, permission bits, owner; for non-directories the
 * size and link count; an old mtime exactly.  A directory's size and link
 * count are the file system's own (overlayfs and layerfs report 1 for a
 * merged directory): not printed.
 */
static void ct_out_stat(mode_t mode, uid_t uid, gid_t gid, off_t size, nlink_t nlink,
			const struct timespec *mt)
{
	ct_out(" %c%04o %u:%u", ct_type(mode), (unsigned)(mode & 07777), (unsigned)uid,
	       (unsigned)gid);
	if (S_ISDIR(mode))
		return;
	ct_out(" s=%lld nl=%lu", (long long)size, (unsigned long)nlink);
	if (mt->tv_sec < CT_OLD_TIME)
		ct_out(" mt=%lld.%09ld", (long long)mt->tv_sec, mt->tv_nsec);
}

static void ct_out_st(const struct stat *st)
{
	ct_out_stat(st->st_mode, st->st_uid, st->st_gid, st->st_size, st->st_nlink,
		    &st->st_mtim);
}

/* ---- words ----------------------------------------------------------------- */

static int ct_slotno(const char *w)
{
	if (w[0] >= '0' && w[0] <= '9' && !w[1])
		return w[0] - '0';
	return -1;
}

/* The fd in slot w ("3"), or -1. */
static int ct_slot_fd(const char *w)
{
	int s = ct_slotno(w);

	return s < 0 ? -1 : ct_slot[s];
}

static int ct_dirfd(const char *w)
{
	return strcmp(w, "-") ? ct_slot_fd(w) : AT_FDCWD;
}

/* Expands @T, @M, {fd:S}, {pid}, {peer}, {peerfd:S} in w. */
static void ct_expand(const char *w, char *out, size_t size)
{
	size_t n = 0;

	out[0] = '\0';
	while (*w && n + 1 < size) {
		char v[PATH_MAX + 32];
		size_t skip = 0;
		if (!strncmp(w, "@T", 2)) {
			snprintf(v, sizeof(v), "%s", ct_top);
			skip = 2;
		} else if (!strncmp(w, "@M", 2)) {
			snprintf(v, sizeof(v), "%s/%s", ct_top, ct_mnt_rel);
			skip = 2;
		} else if (!strncmp(w, "{fd:", 4) && w[4] && w[5] == '}') {
			int s = w[4] - '0';
			snprintf(v, sizeof(v), "%d", s >= 0 && s < CT_SLOTS ? ct_slot[s] : -1);
			skip = 6;
		} else if (!strncmp(w, "{peerfd:", 8) && w[8] && w[9] == '}') {
			int s = w[8] - '0';
			snprintf(v, sizeof(v), "%d", s >= 0 && s < CT_SLOTS ? ct_peer_slot[s] : -1);
			skip = 10;
		} else if (!strncmp(w, "{pid}", 5)) {
			snprintf(v, sizeof(v), "%d", (int)getpid());
			skip = 5;
		} else if (!strncmp(w, "{peer}", 6)) {
			snprintf(v, sizeof(v), "%d", (int)ct_peer_pid);
			skip = 6;
		}
		if (skip) {
			n += (size_t)snprintf(out + n, size - n, "%s", v);
			if (n >= size)
				n = size - 1;
			w += skip;
		} else {
			out[n++] = *w++;
			out[n] = '\0';
		}
	}
}

static int ct_flags(const char *w)
{
	static const struct {
		const char *name;
		int flag;
	} names[] = {
		{ "rdonly", O_RDONLY }, { "wronly", O_WRONLY }, { "rdwr", O_RDWR },
		{ "creat", O_CREAT }, { "excl", O_EXCL }, { "trunc", O_TRUNC },
		{ "append", O_APPEND }, { "directory", O_DIRECTORY },
		{ "nofollow", O_NOFOLLOW }, { "path", O_PATH },
	};
	int fl = 0;

	while (*w) {
		size_t n = strcspn(w, "|");
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strlen(names[i].name) == n && !strncmp(w, names[i].name, n))
				fl |= names[i].flag;
		w += n + (w[n] == '|');
	}
	return fl;
}

static mode_t ct_mode(const char *w)
{
	return (mode_t)strtoul(w, NULL, 8);
}

/* ---- slots ------------------------------------------------------------------- */

static void ct_slot_close(int s)
{
	if (ct_slot[s] >= 0)
		close(ct_slot[s]);
	ct_slot[s] = -1;
}

/* Slot s is empty: said so. */
static bool ct_empty(int s)
{
	if (s >= 0 && ct_slot[s] >= 0)
		return false;
	ct_out(" = empty");
	ct_failed = true;
	return true;
}

/* ---- the tree ------------------------------------------------------------ */

static int ct_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The user.* extended attributes of path, sorted, as " x{name=value,...}". */
static void ct_out_xattrs(const char *path)
{
	char list[4096], *names[64];
	ssize_t n = llistxattr(path, list, sizeof(list));
	size_t k = 0;

	if (n < 0) {
		if (errno != ENOTSUP)
			ct_out(" x:%s", ct_errname(errno));
		return;
	}
	for (char *p = list; p < list + n && k < 64; p += strlen(p) + 1)
		if (!strncmp(p, "user.", 5))
			names[k++] = p;
	if (!k)
		return;
	qsort(names, k, sizeof(names[0]), ct_name_cmp);
	ct_out(" x{");
	for (size_t i = 0; i < k; i++) {
		char v[256];
		ssize_t m = lgetxattr(path, names[i], v, sizeof(v));
		ct_out("%s%s=", i ? "," : "", names[i]);
		if (m < 0)
			ct_out("%s", ct_errname(errno));
		else
			ct_out_text(v, (size_t)m);
	}
	ct_out("}");
}

/* One line per entry below abs (shown as rel), sorted, depth first. */
static void ct_tree_in(const char *abs, const char *rel, int depth)
{
	char *names[256], sub[PATH_MAX], subrel[PATH_MAX];
	size_t n = 0;
	DIR *d = opendir(abs);
	struct dirent *e;

	if (!d) {
		ct_out("tree %s/ opendir = -1 %s", rel, ct_errname(errno));
		ct_flush();
		return;
	}
	while (n < 256 && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    (names[n] = strdup(e->d_name)))
			n++;
	closedir(d);
	qsort(names, n, sizeof(names[0]), ct_name_cmp);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		snprintf(sub, sizeof(sub), "%s/%s", abs, names[i]);
		snprintf(subrel, sizeof(subrel), "%s%s%s", rel, *rel ? "/" : "", names[i]);
		free(names[i]);
		ct_out("tree %s", subrel);
		if (lstat(sub, &st) < 0) {
			ct_out(" lstat = -1 %s", ct_errname(errno));
			ct_flush();
			continue;
		}
		ct_out_st(&st);
		if (S_ISLNK(st.st_mode)) {
			char t[PATH_MAX];
			ssize_t k = readlink(sub, t, sizeof(t));
			ct_out(" ->");
			if (k < 0) {
				ct_res(-1, errno);
			} else {
				ct_out(" ");
				ct_out_text(t, (size_t)k);
			}
		} else if (S_ISREG(st.st_mode)) {
			char buf[512];
			int fd = open(sub, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
			ssize_t k = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
			ct_out(" data");
			if (k < 0) {
				ct_res(-1, errno);
			} else {
				ct_out("=");
				ct_out_text(buf, (size_t)k);
			}
			if (fd >= 0)
				close(fd);
		}
		ct_out_xattrs(sub);
		ct_flush();
		if (S_ISDIR(st.st_mode) && depth < 8)
			ct_tree_in(sub, subrel, depth + 1);
	}
}

static void ct_tree(const char *abs)
{
	struct stat st;

	ct_out("tree .");
	if (lstat(abs, &st) < 0) {
		ct_res(-1, errno);
		ct_flush();
		return;
	}
	ct_out_st(&st);
	ct_out_xattrs(abs);
	ct_flush();
	if (S_ISDIR(st.st_mode))
		ct_tree_in(abs, "", 0);
}

/* ---- steps ------------------------------------------------------------------ */

/* Each op gets the expanded words x (x[0] is the op) and their count. */

static void op_open(char **x, int n)
{
	int s = ct_slotno(x[1]), d = ct_dirfd(x[2]), fl = ct_flags(x[4]);
	mode_t mode = n > 5 ? ct_mode(x[5]) : 0644;
	struct stat st;

	if (s < 0) {
		ct_out(" = bad-slot");
		return;
	}
	ct_slot_close(s);
	int fd = d == AT_FDCWD ? open(x[3], fl | O_CLOEXEC, mode) :
				 openat(d, x[3], fl | O_CLOEXEC, mode);
	if (fd < 0) {
		ct_res(-1, errno);
		return;
	}
	ct_slot[s] = fd;
	ct_out(" = fd");
	if (fstat(fd, &st) < 0)
		ct_out(" fstat:%s", ct_errname(errno));
	else
		ct_out_st(&st);
}

static void op_read(char **x, int n)
{
	char buf[512];
	int s = ct_slotno(x[1]);

	(void)n;
	if (ct_empty(s))
		return;
	ssize_t k = read(ct_slot[s], buf, sizeof(buf));
	ct_res(k, errno);
	if (k > 0) {
		ct_out(" ");
		ct_out_text(buf, (size_t)k);
	}
}

static void op_write(char **x, int n)
{
	char buf[512];
	int s = ct_slotno(x[1]);

	(void)n;
	if (ct_empty(s))
		return;
	int len = snprintf(buf, sizeof(buf), "%s\n", x[2]);
	ssize_t k = write(ct_slot[s], buf, (size_t)len);
	ct_res(k, errno);
}

static void op_close(char **x, int n)
{
	int s = ct_slotno(x[1]);

	(void)n;
	if (ct_empty(s))
		return;
	int k = close(ct_slot[s]);
	ct_slot[s] = -1;
	ct_res(k, errno);
}

static void op_fstat(char **x, int n)
{
	int s = ct_slotno(x[1]);
	struct stat st;

	(void)n;
	if (ct_empty(s))
		return;
	if (fstat(ct_slot[s], &st) < 0) {
		ct_res(-1, errno);
		return;
	}
	ct_out(" = 0");
	ct_out_st(&st);
}

static void ct_stat_common(char **x, bool follow)
{
	int d = ct_dirfd(x[1]);
	struct stat st;
	int k = d != AT_FDCWD ? fstatat(d, x[2], &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) :
		follow ? stat(x[2], &st) : lstat(x[2], &st);

	if (k < 0) {
		ct_res(-1, errno);
		return;
	}
	ct_out(" = 0");
	ct_out_st(&st);
}

static void op_stat(char **x, int n)
{
	(void)n;
	ct_stat_common(x, true);
}

static void op_lstat(char **x, int n)
{
	(void)n;
	ct_stat_common(x, false);
}

static void op_statx(char **x, int n)
{
	struct statx stx;

	(void)n;
	if (statx(ct_dirfd(x[1]), x[2], 0, STATX_BASIC_STATS, &stx) < 0) {
		ct_res(-1, errno);
		return;
	}
	struct timespec mt = { stx.stx_mtime.tv_sec, stx.stx_mtime.tv_nsec };
	ct_out(" = 0");
	ct_out_stat(stx.stx_mode, stx.stx_uid, stx.stx_gid, (off_t)stx.stx_size,
		    stx.stx_nlink, &mt);
}

static void op_access(char **x, int n)
{
	int d = ct_dirfd(x[1]), mode = 0;

	(void)n;
	mode |= strchr(x[3], 'r') ? R_OK : 0;
	mode |= strchr(x[3], 'w') ? W_OK : 0;
	mode |= strchr(x[3], 'x') ? X_OK : 0;
	int k = d == AT_FDCWD ? access(x[2], mode) : faccessat(d, x[2], mode, 0);
	ct_res(k, errno);
}

static void op_readlink(char **x, int n)
{
	char buf[PATH_MAX];
	int d = ct_dirfd(x[1]);

	(void)n;
	ssize_t k = d == AT_FDCWD ? readlink(x[2], buf, sizeof(buf)) :
				    readlinkat(d, x[2], buf, sizeof(buf));
	if (k < 0) {
		ct_res(-1, errno);
		return;
	}
	ct_out(" = ");
	ct_out_text(buf, (size_t)k);
}

static void op_mkdir(char **x, int n)
{
	int d = ct_dirfd(x[1]);
	mode_t mode = n > 3 ? ct_mode(x[3]) : 0755;
	int k = d == AT_FDCWD ? mkdir(x[2], mode) : mkdirat(d, x[2], mode);

	ct_res(k, errno);
}

static void op_rmdir(char **x, int n)
{
	int d = ct_dirfd(x[1]);
	int k = d == AT_FDCWD ? rmdir(x[2]) : unlinkat(d, x[2], AT_REMOVEDIR);

	(void)n;
	ct_res(k, errno);
}

static void op_unlink(char **x, int n)
{
	int d = ct_dirfd(x[1]);
	int k = d == AT_FDCWD ? unlink(x[2]) : unlinkat(d, x[2], 0);

	(void)n;
	ct_res(k, errno);
}

static void op_mknod(char **x, int n)
{
	int d = ct_dirfd(x[1]);
	int k = d == AT_FDCWD ? mknod(x[2], S_IFIFO | 0644, 0) :
				mknodat(d, x[2], S_IFIFO | 0644, 0);

	(void)n;
	ct_res(k, errno);
}

static void op_symlink(char **x, int n)
{
	int d = ct_dirfd(x[2]);
	int k = d == AT_FDCWD ? symlink(x[1], x[3]) : symlinkat(x[1], d, x[3]);

	(void)n;
	ct_res(k, errno);
}

/*
 * Is what (d, p) names inside the mount point?  With follow, p itself is
 * followed; otherwise only its parent is.  -1 when that cannot be told.
 */
static int ct_in_view(int d, const char *p, bool follow)
{
	char parent[PATH_MAX], proc[64], canon[PATH_MAX], mnt[PATH_MAX + 64];
	const char *slash = strrchr(p, '/');
	int fd;

	if (follow || !slash)
		snprintf(parent, sizeof(parent), "%s", follow ? p : ".");
	else
		snprintf(parent, sizeof(parent), "%.*s", slash == p ? 1 : (int)(slash - p), p);
	fd = openat(d, parent, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -1;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	ssize_t k = readlink(proc, canon, sizeof(canon) - 1);
	close(fd);
	if (k < 0)
		return -1;
	canon[k] = '\0';
	size_t m = (size_t)snprintf(mnt, sizeof(mnt), "%s/%s", ct_top, ct_mnt_rel);
	return !strncmp(canon, mnt, m) && (canon[m] == '\0' || canon[m] == '/');
}

/*
 * A view is a file system of its own: a rename or link between it and a
 * host directory is EXDEV (kernel overlayfs, layerfs).  A reference on a
 * plain directory (no root for overlayfs) would do it: there such a call
 * is not made, and EXDEV printed.
 */
static bool ct_plain_exdev(int d1, const char *p1, bool follow, int d2, const char *p2)
{
	int a, b;

	if (!ct_plain)
		return false;
	a = ct_in_view(d1, p1, follow);
	b = ct_in_view(d2, p2, false);
	if (a < 0 || b < 0 || a == b)
		return false;
	ct_res(-1, EXDEV);
	return true;
}

static void op_rename(char **x, int n)
{
	int d1 = ct_dirfd(x[1]), d2 = ct_dirfd(x[3]);

	(void)n;
	if (ct_plain_exdev(d1, x[2], false, d2, x[4]))
		return;
	int k = d1 == AT_FDCWD && d2 == AT_FDCWD ? rename(x[2], x[4]) :
		renameat(d1, x[2], d2, x[4]);
	ct_res(k, errno);
}

static void op_link(char **x, int n)
{
	int d1 = ct_dirfd(x[1]), d2 = ct_dirfd(x[3]);
	bool follow = n > 5 && !strcmp(x[5], "follow");

	if (ct_plain_exdev(d1, x[2], follow, d2, x[4]))
		return;
	int k = d1 == AT_FDCWD && d2 == AT_FDCWD && !follow ? link(x[2], x[4]) :
		linkat(d1, x[2], d2, x[4], follow ? AT_SYMLINK_FOLLOW : 0);
	ct_res(k, errno);
}

static void op_chmod(char **x, int n)
{
	int d = ct_dirfd(x[1]);
	int k = d == AT_FDCWD ? chmod(x[2], ct_mode(x[3])) : fchmodat(d, x[2], ct_mode(x[3]), 0);

	(void)n;
	ct_res(k, errno);
}

static void op_chown(char **x, int n)
{
	int d = ct_dirfd(x[1]);
	uid_t u = (uid_t)atoi(x[3]);
	gid_t g = (gid_t)atoi(x[4]);
	int k = d == AT_FDCWD ? chown(x[2], u, g) : fchownat(d, x[2], u, g, 0);

	(void)n;
	ct_res(k, errno);
}

/* Old, exact times (mtime printed by every stat). */
static void op_utimes(char **x, int n)
{
	struct timespec ts[2] = { { 1000000000, 500000000 }, { 1100000000, 250000000 } };
	int d = ct_dirfd(x[1]);
	int k;

	(void)n;
	k = utimensat(d, x[2], ts, 0);
	ct_res(k, errno);
}

static void op_fchown(char **x, int n)
{
	int s = ct_slotno(x[1]);

	(void)n;
	if (ct_empty(s))
		return;
	ct_res(fchownat(ct_slot[s], "", (uid_t)atoi(x[2]), (gid_t)atoi(x[3]), AT_EMPTY_PATH),
	       errno);
}

static void op_futimes(char **x, int n)
{
	struct timespec ts[2] = { { 1000000000, 500000000 }, { 1100000000, 250000000 } };
	int s = ct_slotno(x[1]);

	(void)n;
	if (ct_empty(s))
		return;
	ct_res(utimensat(ct_slot[s], "", ts, AT_EMPTY_PATH), errno);
}

static void op_truncate(char **x, int n)
{
	(void)n;
	int k = truncate(x[1], (off_t)atoll(x[2]));
	ct_res(k, errno);
}

static void op_setxattr(char **x, int n)
{
	(void)n;
	int k = setxattr(x[1], x[2], x[3], strlen(x[3]), 0);
	ct_res(k, errno);
}

static void op_removexattr(char **x, int n)
{
	(void)n;
	int k = removexattr(x[1], x[2]);
	ct_res(k, errno);
}

static void op_getxattr(char **x, int n)
{
	char v[256];
	ssize_t k = getxattr(x[1], x[2], v, sizeof(v));

	(void)n;
	if (k < 0) {
		ct_res(-1, errno);
		return;
	}
	ct_out(" = ");
	ct_out_text(v, (size_t)k);
}

static void op_ls(char **x, int n)
{
	int d = ct_dirfd(x[1]);
	DIR *dir;
	char *names[256];
	size_t k = 0;
	struct dirent *e;

	(void)n;
	if (d == AT_FDCWD) {
		dir = opendir(x[2]);
	} else {
		int fd = openat(d, x[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		dir = fd < 0 ? NULL : fdopendir(fd);
		if (!dir && fd >= 0)
			close(fd);
	}
	if (!dir) {
		ct_res(-1, errno);
		return;
	}
	while (k < 256 && (e = readdir(dir))) {
		char t = '?';
		struct stat st;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (e->d_type != DT_UNKNOWN)
			t = ct_type((mode_t)DTTOIF(e->d_type));
		else if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			t = ct_type(st.st_mode);
		if (asprintf(&names[k], "%s:%c", e->d_name, t) >= 0)
			k++;
	}
	closedir(dir);
	qsort(names, k, sizeof(names[0]), ct_name_cmp);
	ct_out(" = %zu", k);
	for (size_t i = 0; i < k; i++) {
		ct_out(" %s", names[i]);
		free(names[i]);
	}
}

static void op_cd(char **x, int n)
{
	int d = ct_dirfd(x[1]);
	int k;

	(void)n;
	if (d == AT_FDCWD) {
		k = chdir(x[2]);
	} else {
		int fd = openat(d, x[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		k = fd < 0 ? -1 : fchdir(fd);
		int e = errno;
		if (fd >= 0)
			close(fd);
		errno = e;
	}
	ct_res(k, errno);
}

static void op_getcwd(char **x, int n)
{
	char buf[PATH_MAX];

	(void)x;
	(void)n;
	if (!getcwd(buf, sizeof(buf))) {
		ct_res(-1, errno);
		return;
	}
	ct_out(" = ");
	ct_out_text(buf, strlen(buf));
}

static void op_flock(char **x, int n)
{
	int s = ct_slotno(x[1]);
	int how = !strncmp(x[2], "ex", 2) ? LOCK_EX : !strncmp(x[2], "sh", 2) ? LOCK_SH : LOCK_UN;

	(void)n;
	if (strstr(x[2], "nb"))
		how |= LOCK_NB;
	if (ct_empty(s))
		return;
	int k = flock(ct_slot[s], how);
	ct_res(k, errno);
}

static short ct_lock_type(const char *w)
{
	return !strcmp(w, "rd") ? F_RDLCK : !strcmp(w, "wr") ? F_WRLCK : F_UNLCK;
}

/* F_SETLK or F_OFD_SETLK on the whole file (never a waiting lock). */
static void ct_setlk(char **x, int cmd)
{
	int s = ct_slotno(x[1]);
	struct flock fl = { .l_type = ct_lock_type(x[2]), .l_whence = SEEK_SET };

	if (ct_empty(s))
		return;
	int k = fcntl(ct_slot[s], cmd, &fl);
	ct_res(k, errno);
}

/* F_GETLK or F_OFD_GETLK: the type of the lock in the way, if any. */
static void ct_getlk(char **x, int cmd)
{
	int s = ct_slotno(x[1]);
	struct flock fl = { .l_type = ct_lock_type(x[2]), .l_whence = SEEK_SET };

	if (ct_empty(s))
		return;
	if (fcntl(ct_slot[s], cmd, &fl) < 0) {
		ct_res(-1, errno);
		return;
	}
	ct_out(" = %s", fl.l_type == F_UNLCK ? "unlocked" : fl.l_type == F_RDLCK ?
	       "held-rd" : "held-wr");
}

static void op_setlk(char **x, int n)
{
	(void)n;
	ct_setlk(x, F_SETLK);
}

static void op_ofdlk(char **x, int n)
{
	(void)n;
	ct_setlk(x, F_OFD_SETLK);
}

static void op_getlk(char **x, int n)
{
	(void)n;
	ct_getlk(x, F_GETLK);
}

static void op_ofdgetlk(char **x, int n)
{
	(void)n;
	ct_getlk(x, F_OFD_GETLK);
}

/* Reads up to size - 1 bytes from fd until EOF. */
static size_t ct_read_all(int fd, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t k;

	while (n + 1 < size && ((k = read(fd, buf + n, size - 1 - n)) > 0 ||
				(k < 0 && errno == EINTR)))
		if (k > 0)
			n += (size_t)k;
	buf[n] = '\0';
	return n;
}

static void op_run(char **x, int n)
{
	int p[2];
	char out[2048], buf[4096];
	int status;

	(void)n;
	fflush(stdout);
	if (pipe2(p, O_CLOEXEC) < 0) {
		ct_res(-1, errno);
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		ct_res(-1, errno);
		return;
	}
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		execvp(x[1], x + 1);
		_exit(127);
	}
	close(p[1]);
	size_t k = ct_read_all(p[0], out, sizeof(out));
	while (read(p[0], buf, sizeof(buf)) > 0)
		; /* the rest is not shown */
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status))
		ct_out(" = exit %d", WEXITSTATUS(status));
	else
		ct_out(" = signal %d", WTERMSIG(status));
	ct_out(" out=");
	ct_out_text(out, k);
}

struct ct_names {
	char *v[256];
	size_t n;
};

/* Deletes the files named *suffix below the directory dfd (shown as rel),
 * every name relative to its directory's fd. */
static void ct_delete_in(int dfd, const char *rel, const char *suffix, struct ct_names *done,
			 int depth)
{
	int fd = dup(dfd);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct ct_names here = { .n = 0 };
	struct dirent *e;
	size_t sl = strlen(suffix);

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while (here.n < 256 && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		here.v[here.n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(here.v, here.n, sizeof(here.v[0]), ct_name_cmp);
	for (size_t i = 0; i < here.n; i++) {
		const char *name = here.v[i];
		char sub[PATH_MAX];
		struct stat st;
		size_t nl = strlen(name);
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", name);
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			free(here.v[i]);
			continue;
		}
		if (S_ISDIR(st.st_mode) && depth < 8) {
			int sfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sfd >= 0) {
				ct_delete_in(sfd, sub, suffix, done, depth + 1);
				close(sfd);
			}
		} else if (!S_ISDIR(st.st_mode) && nl >= sl && !strcmp(name + nl - sl, suffix) &&
			   done->n < 256) {
			int k = unlinkat(dfd, name, 0);
			int err = errno;
			if (asprintf(&done->v[done->n], "%s%s%s", sub, k < 0 ? ":" : "",
				     k < 0 ? ct_errname(err) : "") >= 0)
				done->n++;
		}
		free(here.v[i]);
	}
}

static void op_delete(char **x, int n)
{
	int d = ct_dirfd(x[1]);
	struct ct_names done = { .n = 0 };

	(void)n;
	int fd = openat(d, x[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		ct_res(-1, errno);
		return;
	}
	ct_delete_in(fd, "", x[3], &done, 0);
	close(fd);
	ct_out(" = %zu", done.n);
	for (size_t i = 0; i < done.n; i++) {
		ct_out(" %s", done.v[i]);
		free(done.v[i]);
	}
}

/* Reads every regular file below dir twice (each read a new open). */
static size_t ct_warm_in(const char *dir, int depth)
{
	struct ct_names here = { .n = 0 };
	struct dirent *e;
	size_t k = 0;
	DIR *d = opendir(dir);

	while (d && here.n < 256 && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			here.v[here.n++] = strdup(e->d_name);
	if (d)
		closedir(d);
	for (size_t i = 0; i < here.n; i++) {
		char sub[PATH_MAX], buf[4096];
		struct stat st;
		snprintf(sub, sizeof(sub), "%s/%s", dir, here.v[i]);
		free(here.v[i]);
		if (lstat(sub, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth < 8)
			k += ct_warm_in(sub, depth + 1);
		for (int round = 0; round < 2 && S_ISREG(st.st_mode); round++) {
			int fd = open(sub, O_RDONLY | O_CLOEXEC);
			while (fd >= 0 && read(fd, buf, sizeof(buf)) > 0)
				;
			if (fd >= 0)
				close(fd);
			k += round;
		}
	}
	return k;
}

static void op_warm(char **x, int n)
{
	(void)n;
	ct_out(" = %zu", ct_warm_in(x[1], 0));
}

static void op_tree(char **x, int n)
{
	(void)n;
	ct_flush();
	ct_tree(x[1]);
}

/* ---- the peer: another process of the job -------------------------------- */

static bool ct_read_full(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n) {
		ssize_t k = read(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

static bool ct_write_full(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

static void ct_step(int argc, char **argv);

/* The peer: runs the steps it is sent (NUL-separated words), answers each
 * with its line and its slots; exits at end of input. */
static __attribute__((noreturn)) void ct_peer_loop(int in, int out)
{
	for (;;) {
		uint32_t len;
		char *msg, *words[64];
		int n = 0;

		if (!ct_read_full(in, &len, sizeof(len)) || !(msg = malloc(len + 1)) ||
		    !ct_read_full(in, msg, len))
			_exit(0);
		msg[len] = '\0';
		for (char *p = msg; p < msg + len && n < 63; p += strlen(p) + 1)
			words[n++] = p;
		words[n] = NULL;
		ct_len = 0;
		ct_step(n, words);
		ct_line[ct_len] = '\0';
		len = (uint32_t)ct_len;
		if (!ct_write_full(out, &len, sizeof(len)) ||
		    !ct_write_full(out, ct_line, len) ||
		    !ct_write_full(out, ct_slot, sizeof(ct_slot)))
			_exit(1);
		ct_len = 0;
		free(msg);
	}
}

static void op_peer(char **x, int n)
{
	int to[2], from[2];

	(void)x;
	(void)n;
	if (ct_peer_pid > 0) {
		ct_out(" = already");
		return;
	}
	if (pipe2(to, O_CLOEXEC) < 0 || pipe2(from, O_CLOEXEC) < 0) {
		ct_res(-1, errno);
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		ct_res(-1, errno);
		return;
	}
	if (pid == 0) {
		close(to[1]);
		close(from[0]);
		for (int s = 0; s < CT_SLOTS; s++)
			ct_slot_close(s);
		ct_peer_loop(to[0], from[1]);
	}
	close(to[0]);
	close(from[1]);
	ct_peer_pid = pid;
	ct_peer_to = to[1];
	ct_peer_from = from[0];
	ct_out(" = 0");
}

/* B STEP...: the words as written go to the peer, which expands them. */
static void ct_peer_step(int argc, char **argv)
{
	char msg[8192];
	size_t len = 0;
	uint32_t n;

	ct_out("B");
	if (ct_peer_pid < 0) {
		ct_out(" %s = no-peer", argc > 1 ? argv[1] : "");
		return;
	}
	for (int i = 1; i < argc; i++) {
		size_t w = strlen(argv[i]) + 1;
		if (len + w > sizeof(msg)) {
			ct_out(" = too-long");
			return;
		}
		memcpy(msg + len, argv[i], w);
		len += w;
	}
	n = (uint32_t)len;
	char reply[sizeof(ct_line)];
	if (!ct_write_full(ct_peer_to, &n, sizeof(n)) || !ct_write_full(ct_peer_to, msg, len) ||
	    !ct_read_full(ct_peer_from, &n, sizeof(n)) || n >= sizeof(reply) ||
	    !ct_read_full(ct_peer_from, reply, n) ||
	    !ct_read_full(ct_peer_from, ct_peer_slot, sizeof(ct_peer_slot))) {
		ct_out(" = peer-gone");
		return;
	}
	reply[n] = '\0';
	ct_out(" %s", reply);
}

static void ct_peer_stop(void)
{
	if (ct_peer_pid < 0)
		return;
	close(ct_peer_to);
	close(ct_peer_from);
	kill(ct_peer_pid, SIGKILL);
	while (waitpid(ct_peer_pid, NULL, 0) < 0 && errno == EINTR)
		;
	ct_peer_pid = -1;
}

static int ct_usage(void);

/* ---- one step, one case ---------------------------------------------------- */

static const struct {
	const char *name;
	int args;
	void (*fn)(char **x, int n);
} ct_ops[] = {
	{ "open", 4, op_open }, { "read", 1, op_read }, { "write", 2, op_write },
	{ "close", 1, op_close }, { "fstat", 1, op_fstat }, { "stat", 2, op_stat },
	{ "lstat", 2, op_lstat }, { "statx", 2, op_statx }, { "access", 3, op_access },
	{ "readlink", 2, op_readlink }, { "mkdir", 2, op_mkdir }, { "rmdir", 2, op_rmdir },
	{ "unlink", 2, op_unlink }, { "mknod", 2, op_mknod }, { "symlink", 3, op_symlink },
	{ "rename", 4, op_rename }, { "link", 4, op_link }, { "chmod", 3, op_chmod },
	{ "chown", 4, op_chown }, { "utimes", 2, op_utimes }, { "fchown", 3, op_fchown },
	{ "futimes", 1, op_futimes }, { "truncate", 2, op_truncate },
	{ "setxattr", 3, op_setxattr }, { "removexattr", 2, op_removexattr },
	{ "getxattr", 2, op_getxattr }, { "ls", 2, op_ls }, { "cd", 2, op_cd },
	{ "getcwd", 0, op_getcwd }, { "flock", 2, op_flock }, { "setlk", 2, op_setlk },
	{ "ofdlk", 2, op_ofdlk }, { "getlk", 2, op_getlk }, { "ofdgetlk", 2, op_ofdgetlk },
	{ "run", 1, op_run }, { "delete", 3, op_delete }, { "tree", 1, op_tree },
	{ "warm", 1, op_warm },
	{ "peer", 0, op_peer },
};

/* Runs one step (its words as written); its line is left in ct_line. */
static void ct_step(int argc, char **argv)
{
	char *x[64];
	int n;

	if (!strcmp(argv[0], "&&") && argc > 1) {
		ct_out("&& ");
		if (ct_failed) {
			for (int i = 1; i < argc; i++)
				ct_out("%s%s", i > 1 ? " " : "", argv[i]);
			ct_out(" = skipped");
			return;
		}
		argc--;
		argv++;
	}
	n = argc < 63 ? argc : 63;
	ct_failed = false;
	if (!strcmp(argv[0], "B")) {
		ct_peer_step(argc, argv);
		return;
	}
	for (int i = 0; i < argc; i++)
		ct_out("%s%s", i ? " " : "", argv[i]);
	for (size_t i = 0; i < sizeof(ct_ops) / sizeof(ct_ops[0]); i++) {
		if (strcmp(argv[0], ct_ops[i].name))
			continue;
		if (argc - 1 < ct_ops[i].args) {
			ct_out(" = bad-step");
			return;
		}
		for (int j = 0; j < n; j++) {
			x[j] = malloc(2 * PATH_MAX);
			if (x[j])
				ct_expand(argv[j], x[j], 2 * PATH_MAX);
			else
				n = j;
		}
		x[n] = NULL;
		errno = 0;
		ct_ops[i].fn(x, n);
		for (int j = 0; j < n; j++)
			free(x[j]);
		return;
	}
	ct_out(" = unknown-step");
}

/* Runs the steps of argv (separated by ";"), then prints the view's tree. */
static int ct_run_case(int argc, char **argv, bool tree)
{
	char mnt[PATH_MAX + 64];
	int i = 0;

	umask(022);
	for (int s = 0; s < CT_SLOTS; s++)
		ct_slot[s] = ct_peer_slot[s] = -1;
	while (i < argc) {
		int j = i;
		while (j < argc && strcmp(argv[j], ";"))
			j++;
		if (j > i) {
			ct_len = 0;
			ct_step(j - i, argv + i);
			ct_flush();
		}
		i = j + 1;
	}
	ct_peer_stop();
	for (int s = 0; s < CT_SLOTS; s++)
		ct_slot_close(s);
	if (tree) {
		snprintf(mnt, sizeof(mnt), "%s/%s", ct_top, ct_mnt_rel);
		ct_tree(mnt);
	}
	puts("end");
	fflush(stdout);
	return 0;
}

/* ---- the generated cases ------------------------------------------------- */

/*
 * Each call acts on names of a directory of its own, $C (its name), at the
 * top of the view: C/f a file, C/s a symlink to f, C/d a directory, C/e an
 * empty one, C/n a new name.  A form spells "the view's C/" in a way of
 * its own: "$D $P" in a call become the form's dirfd word and its prefix
 * followed by the target.  at: only for calls that take a dirfd.
 */
static const struct ct_form {
	const char *name, *setup, *dirfd, *prefix;
	bool at;
} ct_forms[] = {
	{ "canonical", NULL, "-", "@M/$C/", false },
	{ "double-slash", NULL, "-", "@T/a//b/m/$C/", false },
	{ "leading-double-slash", NULL, "-", "/@M/$C/", false },
	{ "dot", NULL, "-", "@T/a/./b/m/$C/", false },
	{ "sibling-dotdot", NULL, "-", "@T/a/b/x/../m/$C/", false },
	{ "cwd-above", "cd - @T/a", "-", "b/m/$C/", false },
	{ "dotdot-out-and-in", "cd - @M/$C/d", "-", "../../../m/$C/", false },
	{ "host-symlink", NULL, "-", "@T/a/ml/$C/", false },
	{ "far-host-symlink", NULL, "-", "@T/out/far/$C/", false },
	{ "ancestor-dirfd", "open 8 - @T/a rdonly|directory", "8", "b/m/$C/", true },
	{ "ancestor-dirfd-dotdot", "open 8 - @T/a rdonly|directory", "8", "b/x/../m/$C/", true },
	{ "parent-dirfd", "open 8 - @T/a/b rdonly|directory", "8", "m/$C/", true },
	{ "sibling-dirfd", "open 8 - @T/a/b/x rdonly|directory", "8", "../m/$C/", true },
	{ "view-dirfd", "open 8 - @M/$C/d rdonly|directory", "8", "../", true },
	{ "proc-fd-of-view-dir", "open 8 - @M rdonly|directory", "-",
	  "/proc/self/fd/{fd:8}/$C/", false },
	{ "proc-fd-of-ancestor", "open 8 - @T/a rdonly|directory", "-",
	  "/proc/self/fd/{fd:8}/b/m/$C/", false },
	{ "proc-cwd-in-view", "cd - @M", "-", "/proc/self/cwd/$C/", false },
	{ "proc-cwd-above", "cd - @T/a", "-", "/proc/self/cwd/b/m/$C/", false },
};

/*
 * An fd of the target itself (slot 9: opened read-only, O_PATH for a
 * symlink; "$R" is those flags), reopened through a magic link with the
 * call's own flags.
 */
static const struct ct_reopen {
	const char *name, *setup, *path;
} ct_reopens[] = {
	{ "proc-self-fd", "open 9 - @M/$C/$T $R", "/proc/self/fd/{fd:9}" },
	{ "proc-thread-self-fd", "open 9 - @M/$C/$T $R", "/proc/thread-self/fd/{fd:9}" },
	{ "proc-pid-fd", "open 9 - @M/$C/$T $R", "/proc/{pid}/fd/{fd:9}" },
	{ "dev-fd", "open 9 - @M/$C/$T $R", "/dev/fd/{fd:9}" },
	{ "proc-fd-of-peer", "peer ; B open 9 - @M/$C/$T $R", "/proc/{peer}/fd/{peerfd:9}" },
};

/*
 * The calls.  target: what $D $P designate (f, s, d, e or n, in $C);
 * second: what $D2 $P2 designate, spelled the same way (canonical for a
 * reopen).  at: the call takes a dirfd.
 */
static const struct ct_call {
	const char *name, *target, *second, *steps;
	bool at;
} ct_calls[] = {
	{ "open-rdonly", "f", NULL, "open 0 $D $P rdonly ; read 0", true },
	{ "open-append", "f", NULL, "open 0 $D $P wronly|append ; write 0 appended", true },
	{ "open-creat", "n", NULL, "open 0 $D $P wronly|creat|excl 0640 ; write 0 created", true },
	{ "open-trunc", "f", NULL, "open 0 $D $P wronly|trunc ; write 0 truncated", true },
	{ "stat", "f", NULL, "stat $D $P", true },
	{ "lstat", "s", NULL, "lstat $D $P", true },
	{ "statx", "f", NULL, "statx $D $P", true },
	{ "access", "f", NULL, "access $D $P w", true },
	{ "readlink", "s", NULL, "readlink $D $P", true },
	{ "mkdir", "n", NULL, "mkdir $D $P 0750", true },
	{ "rmdir", "e", NULL, "rmdir $D $P", true },
	{ "unlink", "f", NULL, "unlink $D $P", true },
	{ "rename", "f", "n", "rename $D $P $D2 $P2", true },
	{ "rename-to-outside", "f", NULL, "rename $D $P - @T/out/moved", true },
	{ "rename-from-outside", "n", NULL, "rename - @T/out/o $D $P", true },
	{ "link", "f", "n", "link $D $P $D2 $P2 follow", true },
	{ "symlink", "n", NULL, "symlink f $D $P", true },
	{ "mknod-fifo", "n", NULL, "mknod $D $P", true },
	{ "chmod", "f", NULL, "chmod $D $P 0600", true },
	{ "chown", "f", NULL, "chown $D $P 1 2", true },
	{ "utimes", "f", NULL, "utimes $D $P", true },
	{ "truncate", "f", NULL, "truncate $P 2", false },
	{ "setxattr", "f", NULL, "setxattr $P user.t set", false },
	{ "removexattr", "f", NULL, "removexattr $P user.k", false },
	{ "opendir-readdir", "d", NULL, "ls $D $P", true },
	{ "chdir-then-write", "d", NULL,
	  "cd $D $P ; && open 0 - n wronly|creat ; && write 0 relative ; getcwd", true },
};

/* Appends s to out (size bytes), with each "$K" of keys replaced by its
 * value in vals (the longest key first: "$D2" before "$D"). */
static void ct_subst(char *out, size_t size, const char *s, const char *const *keys,
		     const char *const *vals)
{
	size_t n = strlen(out);

	while (*s && n + 1 < size) {
		size_t i = 0, kl = 0;
		for (; keys[i]; i++)
			if (!strncmp(s, keys[i], (kl = strlen(keys[i]))))
				break;
		if (keys[i]) {
			n += (size_t)snprintf(out + n, size - n, "%s", vals[i]);
			if (n >= size)
				n = size - 1;
			s += kl;
		} else {
			out[n++] = *s++;
			out[n] = '\0';
		}
	}
}

/* One generated case: "GROUP<TAB>NAME<TAB>STEPS", the tree of the view's
 * $C last.  The dirfd and paths are put in first, then $C and $T (which
 * they may hold). */
static void ct_print_case(const char *group, const struct ct_call *k, const char *setup,
			  const char *d, const char *p, const char *p2)
{
	static const char *const keys[] = { "$D2", "$P2", "$D", "$P", NULL };
	static const char *const keys2[] = { "$C", "$T", NULL };
	const char *vals[] = { d, p2, d, p };
	const char *vals2[] = { k->name, k->target };
	char line[4096] = "", out[4096] = "";

	if (setup) {
		ct_subst(line, sizeof(line), setup, keys, vals);
		ct_subst(line, sizeof(line), " ; ", keys, vals);
	}
	ct_subst(line, sizeof(line), k->steps, keys, vals);
	ct_subst(line, sizeof(line), " ; tree @M/$C", keys, vals);
	ct_subst(out, sizeof(out), line, keys2, vals2);
	printf("%s\t%s/%s\t%s\n", group, k->name, group, out);
}

/* The generated cases, one batch (GROUP) per form. */
static int ct_list(void)
{
	const size_t ncalls = sizeof(ct_calls) / sizeof(ct_calls[0]);

	for (size_t f = 0; f < sizeof(ct_forms) / sizeof(ct_forms[0]); f++) {
		const struct ct_form *fm = &ct_forms[f];
		for (size_t c = 0; c < ncalls; c++) {
			const struct ct_call *k = &ct_calls[c];
			char p[PATH_MAX], p2[PATH_MAX];
			if (fm->at && !k->at)
				continue;
			snprintf(p, sizeof(p), "%s%s", fm->prefix, k->target);
			snprintf(p2, sizeof(p2), "%s%s", fm->prefix, k->second ? k->second : "");
			ct_print_case(fm->name, k, fm->setup, fm->dirfd, p, p2);
		}
	}
	for (size_t f = 0; f < sizeof(ct_reopens) / sizeof(ct_reopens[0]); f++) {
		const struct ct_reopen *ro = &ct_reopens[f];
		for (size_t c = 0; c < ncalls; c++) {
			const struct ct_call *k = &ct_calls[c];
			static const char *const keys[] = { "$R", NULL };
			const char *r = !strcmp(k->target, "s") ? "path|nofollow" :
					!strcmp(k->target, "f") ? "rdonly" : "rdonly|directory";
			char setup[256] = "", p2[PATH_MAX];
			if (!strcmp(k->target, "n"))
				continue; /* nothing to hold open */
			ct_subst(setup, sizeof(setup), ro->setup, keys, &r);
			snprintf(p2, sizeof(p2), "@M/$C/%s", k->second ? k->second : "");
			ct_print_case(ro->name, k, setup, "-", ro->path, p2);
		}
	}
	return 0;
}

/* The calls' names: the directories the view must hold (see ct_forms). */
static int ct_list_calls(void)
{
	for (size_t c = 0; c < sizeof(ct_calls) / sizeof(ct_calls[0]); c++)
		puts(ct_calls[c].name);
	return 0;
}

/* ---- the driver ------------------------------------------------------------ */

struct ct_drive {
	const char *mode, *top, *pristine, *work, *lower, *lower_rel, *cache;
	const char *lowerdir, *expect, *self;
	const char *launcher, *runner;	/* --launcher, --runner */
	char mnt[PATH_MAX + 64];
};

/* Lines: a growable list of strings. */
struct ct_lines {
	char **v;
	size_t n, cap;
};

static void ct_lines_add(struct ct_lines *l, const char *s)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 32;
		char **v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = strdup(s);
}

static void ct_lines_free(struct ct_lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct ct_lines){ 0 };
}

static int ct_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static uint64_t ct_digest_file(const char *path, off_t *size)
{
	uint64_t h = 0xcbf29ce484222325ull;
	unsigned char buf[8192];
	ssize_t k;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	*size = 0;
	while (fd >= 0 && (k = read(fd, buf, sizeof(buf))) > 0) {
		*size += k;
		for (ssize_t i = 0; i < k; i++)
			h = (h ^ buf[i]) * 0x100000001b3ull;
	}
	if (fd >= 0)
		close(fd);
	return h;
}

/* Every extended attribute of path (names and values), digested. */
static uint64_t ct_xattr_digest(const char *path)
{
	char list[4096], v[4096];
	ssize_t n = llistxattr(path, list, sizeof(list));
	uint64_t h = 0xcbf29ce484222325ull;

	for (char *p = list; n > 0 && p < list + n; p += strlen(p) + 1) {
		ssize_t m = lgetxattr(path, p, v, sizeof(v));
		for (const char *q = p; ; q++) {
			h = (h ^ (unsigned char)*q) * 0x100000001b3ull;
			if (!*q)
				break;
		}
		for (ssize_t t = 0; t < m; t++)
			h = (h ^ (unsigned char)v[t]) * 0x100000001b3ull;
	}
	return h;
}

static struct ct_lines *ct_mf_cur;
static size_t ct_mf_base;
static const char *ct_mf_filter; /* only paths containing this, when set */
static bool ct_mf_full;          /* contents instead of inodes and ctimes */

static int ct_mf_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	char line[PATH_MAX + 256];
	const char *rel = path + ct_mf_base;

	(void)type;
	(void)ftw;
	rel += *rel == '/';
	if (ct_mf_filter && !strstr(rel, ct_mf_filter))
		return 0;
	int n = snprintf(line, sizeof(line), "%s\t%c%04o %u:%u s=%lld nl=%lu mtime=%lld.%09ld",
			 *rel ? rel : ".", ct_type(st->st_mode),
			 (unsigned)(st->st_mode & 07777), (unsigned)st->st_uid,
			 (unsigned)st->st_gid, S_ISDIR(st->st_mode) ? 0LL : (long long)st->st_size,
			 (unsigned long)st->st_nlink, (long long)st->st_mtim.tv_sec,
			 st->st_mtim.tv_nsec);
	if (n > 0 && (size_t)n < sizeof(line) && !ct_mf_full) {
		snprintf(line + n, sizeof(line) - (size_t)n, " ino=%llu ctime=%lld.%09ld",
			 (unsigned long long)st->st_ino, (long long)st->st_ctim.tv_sec,
			 st->st_ctim.tv_nsec);
	} else if (n > 0 && (size_t)n < sizeof(line)) {
		char target[PATH_MAX] = "";
		off_t size = 0;
		uint64_t data = 0;
		if (S_ISREG(st->st_mode))
			data = ct_digest_file(path, &size);
		if (S_ISLNK(st->st_mode)) {
			ssize_t k = readlink(path, target, sizeof(target) - 1);
			target[k < 0 ? 0 : k] = '\0';
		}
		snprintf(line + n, sizeof(line) - (size_t)n, " data=%016llx xattrs=%016llx%s%s",
			 (unsigned long long)data, (unsigned long long)ct_xattr_digest(path),
			 *target ? " -> " : "", target);
	}
	ct_lines_add(ct_mf_cur, line);
	return 0;
}

/*
 * Everything about the tree at root that a run must not change, sorted:
 * each entry's name, type, mode, owner, size, link count, inode number,
 * mtime and ctime.  That is all of it: the kernel sets an inode's ctime
 * (nanoseconds; no call can set it back) at every change of its content,
 * mode, owner, link count or extended attributes, and an entry replaced
 * by another has another inode number.  filter: only the paths
 * containing it.  Does not cross into other file systems (an overlay
 * mounted in the tree is not part of it).
 */
static void ct_manifest(const char *root, const char *filter, struct ct_lines *out)
{
	*out = (struct ct_lines){ 0 };
	ct_mf_cur = out;
	ct_mf_base = strlen(root);
	ct_mf_filter = filter;
	nftw(root, ct_mf_entry, 16, FTW_PHYS | FTW_MOUNT);
	if (out->n)
		qsort(out->v, out->n, sizeof(out->v[0]), ct_str_cmp);
}

/*
 * The same with every regular file's content, every symlink's target and
 * every entry's extended attributes instead of inode numbers and ctimes:
 * what must be as it was, to the byte, once what changed is put back.
 */
static void ct_manifest_full(const char *root, struct ct_lines *out)
{
	ct_mf_full = true;
	ct_manifest(root, NULL, out);
	ct_mf_full = false;
}

/*
 * Between the cases of a batch, T is compared with its manifest only when
 * something in it changed: every directory of T is watched, and the
 * kernel reports a change whatever path it was made through (another
 * mount, /proc/self/fd).  A write through a shared mapping gives no
 * event: the manifest is compared again at the end of each batch.
 */
#define CT_WATCH_MASK (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | \
		       IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF)

static int ct_watch_fd = -1;

static int ct_watch_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_D)
		inotify_add_watch(ct_watch_fd, path, CT_WATCH_MASK);
	return 0;
}

/* Watches every directory of root (again: new ones are added). */
static void ct_watch(const char *root)
{
	if (ct_watch_fd < 0)
		ct_watch_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ct_watch_fd >= 0)
		nftw(root, ct_watch_entry, 16, FTW_PHYS | FTW_MOUNT);
}

/* Did anything change since the last call?  (Always, when not watched.) */
static bool ct_watch_fired(void)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool any = false;

	if (ct_watch_fd < 0)
		return true;
	while (read(ct_watch_fd, buf, sizeof(buf)) > 0)
		any = true;
	return any;
}

static void ct_unwatch(void)
{
	if (ct_watch_fd >= 0)
		close(ct_watch_fd);
	ct_watch_fd = -1;
}

static size_t ct_key_len(const char *line)
{
	return strcspn(line, "\t");
}

/*
 * The differences between two manifests, as "WHAT: path: before | after"
 * lines in out; what is "lower" for lower_rel and below, else "host".
 * only_changed: entries that appeared or went are not differences.
 */
static bool ct_has_key(const struct ct_lines *keys, const char *e, size_t k)
{
	for (size_t i = 0; keys && i < keys->n; i++)
		if (strlen(keys->v[i]) == k && !strncmp(keys->v[i], e, k))
			return true;
	return false;
}

static void ct_manifest_diff(const struct ct_lines *a, const struct ct_lines *b,
			     const char *lower_rel, bool only_changed, const char *label,
			     struct ct_lines *out, const struct ct_lines *skip,
			     struct ct_lines *keys)
{
	size_t i = 0, j = 0, ll = lower_rel ? strlen(lower_rel) : 0;
	char line[2 * PATH_MAX + 1024];

	while (i < a->n || j < b->n) {
		int c = i == a->n ? 1 : j == b->n ? -1 : 0;
		if (!c) {
			size_t ka = ct_key_len(a->v[i]), kb = ct_key_len(b->v[j]);
			c = strncmp(a->v[i], b->v[j], ka < kb ? ka : kb);
			if (!c)
				c = ka < kb ? -1 : ka > kb ? 1 : 0;
		}
		const char *e = c <= 0 ? a->v[i] : b->v[j];
		size_t k = ct_key_len(e);
		const char *what = label ? label :
				   ll && (k == ll || (k > ll && e[ll] == '/')) &&
				   !strncmp(e, lower_rel, ll) ? "lower" : "host";
		if (c < 0 && !only_changed)
			snprintf(line, sizeof(line), "%s changed: %.*s removed", what, (int)k, e);
		else if (c > 0 && !only_changed)
			snprintf(line, sizeof(line), "%s changed: %.*s added: %s", what, (int)k, e,
				 e + k + 1);
		else if (c == 0 && strcmp(a->v[i], b->v[j]))
			snprintf(line, sizeof(line), "%s changed: %.*s: %s | %s", what, (int)k, e,
				 a->v[i] + k + 1, b->v[j] + k + 1);
		else
			line[0] = '\0';
		if (*line && !ct_has_key(skip, e, k)) {
			char key[PATH_MAX];
			ct_lines_add(out, line);
			snprintf(key, sizeof(key), "%.*s", (int)k, e);
			if (keys)
				ct_lines_add(keys, key);
		}
		i += c <= 0;
		j += c >= 0;
	}
}

/* The names in the directory path (without "." and ".."). */
static void ct_names_of(const char *path, struct ct_lines *out)
{
	DIR *d = opendir(path);
	struct dirent *e;

	*out = (struct ct_lines){ 0 };
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			ct_lines_add(out, e->d_name);
	if (d)
		closedir(d);
}

/* Removes name (in the directory dfd) and all below it, whatever the
 * modes of its directories. */
static void ct_rm_at(int dfd, const char *name, int depth)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlinkat(dfd, name, 0);
		return;
	}
	fchmodat(dfd, name, 0700, 0);
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct ct_lines names = { 0 };
	struct dirent *e;

	if (!d && fd >= 0)
		close(fd);
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			ct_lines_add(&names, e->d_name);
	for (size_t i = 0; d && depth < 64 && i < names.n; i++)
		ct_rm_at(dirfd(d), names.v[i], depth + 1);
	if (d)
		closedir(d);
	ct_lines_free(&names);
	unlinkat(dfd, name, AT_REMOVEDIR);
}

static void ct_rm_rf(const char *path)
{
	ct_rm_at(AT_FDCWD, path, 0);
}

/* dst gets src's owner, mode, times and extended attributes. */
static void ct_copy_meta(const char *src, const char *dst, const struct stat *st)
{
	char list[4096], v[4096];
	ssize_t n = llistxattr(src, list, sizeof(list));
	struct timespec ts[2] = { st->st_atim, st->st_mtim };

	for (char *p = list; n > 0 && p < list + n; p += strlen(p) + 1) {
		ssize_t m = lgetxattr(src, p, v, sizeof(v));
		if (m >= 0)
			lsetxattr(dst, p, v, (size_t)m, 0);
	}
	if (lchown(dst, st->st_uid, st->st_gid) < 0 && errno != EPERM)
		fprintf(stderr, "contain: chown %s: %s\n", dst, strerror(errno));
	if (!S_ISLNK(st->st_mode))
		chmod(dst, st->st_mode & 07777);
	utimensat(AT_FDCWD, dst, ts, AT_SYMLINK_NOFOLLOW);
}

/* Copies the tree src to dst (which must not exist), as cp -a does for a
 * tree without hard links: types, contents, targets, metadata. */
static void ct_copy(const char *src, const char *dst, int depth)
{
	struct stat st;

	if (lstat(src, &st) < 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		struct ct_lines names;
		mkdir(dst, 0700);
		ct_names_of(src, &names);
		for (size_t i = 0; depth < 64 && i < names.n; i++) {
			char a[PATH_MAX], b[PATH_MAX];
			snprintf(a, sizeof(a), "%s/%s", src, names.v[i]);
			snprintf(b, sizeof(b), "%s/%s", dst, names.v[i]);
			ct_copy(a, b, depth + 1);
		}
		ct_lines_free(&names);
	} else if (S_ISLNK(st.st_mode)) {
		char t[PATH_MAX];
		ssize_t k = readlink(src, t, sizeof(t) - 1);
		if (k < 0)
			return;
		t[k] = '\0';
		if (symlink(t, dst) < 0)
			return;
	} else if (S_ISREG(st.st_mode)) {
		char buf[8192];
		ssize_t k;
		int in = open(src, O_RDONLY | O_CLOEXEC);
		int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		while (in >= 0 && out >= 0 && (k = read(in, buf, sizeof(buf))) > 0)
			if (write(out, buf, (size_t)k) != k)
				break;
		if (in >= 0)
			close(in);
		if (out < 0)
			return;
		close(out);
	} else if (mknod(dst, st.st_mode, st.st_rdev) < 0) {
		return;
	}
	ct_copy_meta(src, dst, &st);
}

/* Makes the directory dir (which keeps its inode, so that a mount on it
 * stays valid) hold a copy of from's tree. */
static void ct_restore(const char *dir, const char *from)
{
	struct ct_lines names;
	struct stat st;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0)
		return;
	ct_names_of(dir, &names);
	for (size_t i = 0; i < names.n; i++)
		ct_rm_at(dfd, names.v[i], 1);
	close(dfd);
	ct_lines_free(&names);
	ct_names_of(from, &names);
	for (size_t i = 0; i < names.n; i++) {
		char a[PATH_MAX], b[PATH_MAX];
		snprintf(a, sizeof(a), "%s/%s", from, names.v[i]);
		snprintf(b, sizeof(b), "%s/%s", dir, names.v[i]);
		ct_copy(a, b, 1);
	}
	ct_lines_free(&names);
	if (lstat(from, &st) == 0)
		ct_copy_meta(from, dir, &st);
}

/* Adds rel's parent ("." at the top) to dirs, once. */
static void ct_add_parent(struct ct_lines *dirs, const char *rel)
{
	char parent[PATH_MAX];
	const char *slash = strrchr(rel, '/');

	snprintf(parent, sizeof(parent), "%.*s", slash ? (int)(slash - rel) : 1,
		 slash ? rel : ".");
	for (size_t i = 0; i < dirs->n; i++)
		if (!strcmp(dirs->v[i], parent))
			return;
	ct_lines_add(dirs, parent);
}

/*
 * Puts back what changed in top since the manifest before was taken (of a
 * tree equal to pristine): what appeared is removed, what went or was
 * replaced or changed is copied again from pristine, a directory that
 * changed in its metadata, or where something was removed or copied,
 * gets pristine's back (last, deepest first: the other repairs change
 * directories' times).
 */
static void ct_put_back(const char *top, const char *pristine, const struct ct_lines *before,
			const struct ct_lines *after)
{
	struct ct_lines dirs = { 0 };
	size_t i = 0, j = 0;

	while (i < before->n || j < after->n) {
		int c = i == before->n ? 1 : j == after->n ? -1 : 0;
		if (!c) {
			size_t ka = ct_key_len(before->v[i]), kb = ct_key_len(after->v[j]);
			c = strncmp(before->v[i], after->v[j], ka < kb ? ka : kb);
			if (!c)
				c = ka < kb ? -1 : ka > kb ? 1 : 0;
		}
		const char *e = c <= 0 ? before->v[i] : after->v[j];
		char rel[PATH_MAX], a[2 * PATH_MAX], b[2 * PATH_MAX];
		snprintf(rel, sizeof(rel), "%.*s", (int)ct_key_len(e), e);
		snprintf(a, sizeof(a), "%s/%s", pristine, rel);
		snprintf(b, sizeof(b), "%s/%s", top, rel);
		if (c > 0) {
			ct_rm_rf(b);
			ct_add_parent(&dirs, rel);
		} else if (c < 0) {
			ct_copy(a, b, 1);
			ct_add_parent(&dirs, rel);
		} else if (strcmp(before->v[i], after->v[j])) {
			/* the type is the line's first field after the tab */
			char ta = before->v[i][ct_key_len(before->v[i]) + 1];
			char tb = after->v[j][ct_key_len(after->v[j]) + 1];
			if (ta == 'd' && tb == 'd') {
				ct_lines_add(&dirs, rel);
			} else {
				ct_rm_rf(b);
				ct_copy(a, b, 1);
				ct_add_parent(&dirs, rel);
			}
		}
		i += c <= 0;
		j += c >= 0;
	}
	/* Deepest first: sorted, a directory comes before what is in it. */
	if (dirs.n)
		qsort(dirs.v, dirs.n, sizeof(dirs.v[0]), ct_str_cmp);
	for (size_t k = dirs.n; k-- > 0;) {
		char a[2 * PATH_MAX], b[2 * PATH_MAX];
		struct stat st;
		bool root = !strcmp(dirs.v[k], ".");
		snprintf(a, sizeof(a), "%s/%s", pristine, root ? "" : dirs.v[k]);
		snprintf(b, sizeof(b), "%s/%s", top, root ? "" : dirs.v[k]);
		if (lstat(a, &st) == 0)
			ct_copy_meta(a, b, &st);
	}
	ct_lines_free(&dirs);
}

/* Splits a case line's steps into words ('...' quotes); n words. */
static int ct_split(char *s, char **w, int max)
{
	int n = 0;

	while (*s && n < max - 1) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		char *o = s;
		w[n++] = o;
		while (*s && *s != ' ' && *s != '\t') {
			if (*s == '\'') {
				s++;
				while (*s && *s != '\'')
					*o++ = *s++;
				if (*s)
					s++;
			} else {
				*o++ = *s++;
			}
		}
		if (*s)
			s++;
		*o = '\0';
	}
	w[n] = NULL;
	return n;
}

/* ---- the runner: one process per batch, a child per case ----------------- */

static pid_t ct_case_pid;

static void ct_on_alarm(int sig)
{
	(void)sig;
	if (ct_case_pid > 0)
		kill(-ct_case_pid, SIGKILL);
}

/*
 * contain serve: reads "NAME<TAB>STEPS" lines; runs each case in a child
 * of its own (its own process group, cwd T/w), whose lines go to stdout,
 * then prints CT_DONE.  This process looks at nothing itself, so that
 * under layerfs each case starts from a process that has not touched the
 * view.  Every process a case leaves is killed; one that takes longer
 * than CT_TIMEOUT_MS is killed.  inproc (the references, which have no
 * library state to keep apart): each case runs in this process, from
 * T/w, with no slot open; a fork of a sanitizer build costs more than
 * most cases.
 */
#define CT_DONE "\001done"

static int ct_serve(bool inproc)
{
	char *line = NULL, cwd[PATH_MAX + 8];
	size_t cap = 0;
	ssize_t k;
	/* Not stdin: a runner forked by the driver inherits its stdin
	 * buffer, at the end of the cases. */
	FILE *in = fdopen(0, "r");

	snprintf(cwd, sizeof(cwd), "%s/w", ct_top);
	if (!inproc)
		signal(SIGALRM, ct_on_alarm);
	while (in && (k = getline(&line, &cap, in)) > 0) {
		char *words[256], *tab = strchr(line, '\t');
		int status = 0;
		if (line[k - 1] == '\n')
			line[k - 1] = '\0';
		int n = ct_split(tab ? tab + 1 : line, words, 256);
		if (inproc) {
			alarm(CT_TIMEOUT_MS / 1000);
			if (chdir(cwd) == 0)
				ct_run_case(n, words, false);
			else
				printf("case: chdir = -1 %s\n", ct_errname(errno));
			alarm(0);
			printf("%s\n", CT_DONE);
			fflush(stdout);
			continue;
		}
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			setpgid(0, 0);
			signal(SIGALRM, SIG_DFL);
			if (chdir(cwd) < 0)
				_exit(126);
			_exit(ct_run_case(n, words, false));
		}
		ct_case_pid = pid;
		alarm(CT_TIMEOUT_MS / 1000);
		while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		alarm(0);
		if (pid > 0)
			kill(-pid, SIGKILL); /* a peer or a program left behind */
		ct_case_pid = 0;
		if (pid < 0)
			printf("case: fork = -1 %s\n", ct_errname(errno));
		else if (WIFSIGNALED(status))
			printf("case: killed by signal %d%s\n", WTERMSIG(status),
			       WTERMSIG(status) == SIGKILL ? " (timed out?)" : "");
		else if (WEXITSTATUS(status))
			printf("case: exit status %d\n", WEXITSTATUS(status));
		printf("%s\n", CT_DONE);
		fflush(stdout);
	}
	free(line);
	return 0;
}

/* The driver's end of a runner. */
struct ct_runner {
	pid_t pid;
	int to, from;
	char buf[1 << 16];
	size_t len;
};

/*
 * Starts a runner for one batch: through layerfs (view: this program
 * exec'd with LD_PRELOAD=$CONTAIN_PRELOAD and the LAYERFS_* variables, the
 * upper layer upper), or a child of this process (ovl, plain).  Its stderr
 * goes to work/stderr.
 */
static int ct_runner_start(const struct ct_drive *dr, const char *upper, struct ct_runner *r)
{
	int to[2], from[2];
	char err_path[PATH_MAX], cwd[PATH_MAX];

	snprintf(err_path, sizeof(err_path), "%s/stderr", dr->work);
	snprintf(cwd, sizeof(cwd), "%s/w", dr->top);
	r->len = 0;
	if (pipe2(to, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(from, O_CLOEXEC) < 0) {
		close(to[0]);
		close(to[1]);
		return -1;
	}
	fflush(stdout);
	r->pid = fork();
	if (r->pid == 0) {
		int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		dup2(to[0], 0);
		dup2(from[1], 1);
		if (e >= 0)
			dup2(e, 2);
		close(to[1]); /* or its input never ends (no exec to close it) */
		close(from[0]);
		if (chdir(cwd) < 0)
			_exit(126);
		if (strcmp(dr->mode, "view")) {
			ct_plain = !strcmp(dr->mode, "plain");
			snprintf(ct_top, sizeof(ct_top), "%s", dr->top);
			ct_top_len = strlen(ct_top);
			_exit(ct_serve(true));
		}
		unsetenv("LAYERFS_CHECKED");
		unsetenv("LAYERFS_CWD");
		if (dr->launcher) {
			const char *self = dr->runner ? dr->runner : dr->self;
			execl(dr->launcher, "layerfs", "run", "--lower", dr->lower, "--at", dr->mnt,
			      "--upper", upper, "--cache", dr->cache ? dr->cache : dr->work, "--",
			      self, "serve", "--top", dr->top, "--mnt", ct_mnt_rel, (char *)NULL);
			_exit(127);
		}
		const char *pre = getenv("CONTAIN_PRELOAD");
		if ((pre && setenv("LD_PRELOAD", pre, 1)) || setenv("LAYERFS_MOUNT", dr->mnt, 1) ||
		    setenv("LAYERFS_LOWER", dr->lower, 1) || setenv("LAYERFS_UPPER", upper, 1) ||
		    (dr->cache && setenv("LAYERFS_CACHE", dr->cache, 1)))
			_exit(126);
		execl(dr->self, "contain", "serve", "--top", dr->top, "--mnt", ct_mnt_rel,
		      (char *)NULL);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	if (r->pid < 0) {
		close(to[1]);
		close(from[0]);
		return -1;
	}
	r->to = to[1];
	r->from = from[0];
	return 0;
}

/* Ends the runner (it exits at the end of its input). */
static void ct_runner_stop(struct ct_runner *r)
{
	if (r->pid <= 0)
		return;
	close(r->to);
	close(r->from);
	for (int i = 0; i < 500 && waitpid(r->pid, NULL, WNOHANG) == 0; i++)
		usleep(10000);
	kill(r->pid, SIGKILL);
	waitpid(r->pid, NULL, WNOHANG);
	r->pid = -1;
}

/*
 * Runs one case (a "NAME<TAB>STEPS" line) in the runner; its lines are
 * added to out.  False when the runner is gone or did not answer in time
 * (it is stopped then).
 */
static bool ct_runner_case(struct ct_runner *r, const char *line, struct ct_lines *out)
{
	size_t n = strlen(line);
	struct timespec t0, t;

	if (r->pid <= 0 || !ct_write_full(r->to, line, n) || !ct_write_full(r->to, "\n", 1)) {
		ct_lines_add(out, "runner: gone");
		ct_runner_stop(r);
		return false;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		char *nl;
		while ((nl = memchr(r->buf, '\n', r->len))) {
			*nl = '\0';
			bool done = !strcmp(r->buf, CT_DONE);
			if (!done)
				ct_lines_add(out, r->buf);
			r->len -= (size_t)(nl + 1 - r->buf);
			memmove(r->buf, nl + 1, r->len);
			if (done)
				return true;
		}
		if (r->len == sizeof(r->buf) - 1) { /* a line too long: cut */
			r->buf[r->len] = '\0';
			ct_lines_add(out, r->buf);
			r->len = 0;
		}
		struct pollfd pf = { r->from, POLLIN, 0 };
		ssize_t k = 0;
		if (poll(&pf, 1, 1000) > 0)
			k = read(r->from, r->buf + r->len, sizeof(r->buf) - 1 - r->len);
		if (k > 0)
			r->len += (size_t)k;
		else if (k < 0 || pf.revents & (POLLHUP | POLLERR))
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 > CT_TIMEOUT_MS + 5000)
			break;
	}
	ct_lines_add(out, "runner: gone");
	ct_runner_stop(r);
	return false;
}

/* The reference's results: a "case NAME" line, its lines, "endcase". */
struct ct_ref {
	char *name;
	struct ct_lines lines;
};

static struct ct_ref *ct_refs;
static size_t ct_nrefs;

static void ct_load_refs(const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	ssize_t k;
	struct ct_ref *cur = NULL;

	if (!f)
		return;
	while ((k = getline(&line, &cap, f)) > 0) {
		if (line[k - 1] == '\n')
			line[k - 1] = '\0';
		if (!strncmp(line, "case ", 5)) {
			if (ct_nrefs == alloc) {
				alloc = alloc ? 2 * alloc : 256;
				struct ct_ref *v = realloc(ct_refs, alloc * sizeof(*v));
				if (!v)
					break;
				ct_refs = v;
			}
			cur = &ct_refs[ct_nrefs++];
			*cur = (struct ct_ref){ strdup(line + 5), { 0 } };
		} else if (cur && !strcmp(line, "endcase")) {
			cur = NULL;
		} else if (cur) {
			ct_lines_add(&cur->lines, line);
		}
	}
	free(line);
	fclose(f);
}

static const struct ct_lines *ct_find_ref(const char *name)
{
	for (size_t i = 0; i < ct_nrefs; i++)
		if (!strcmp(ct_refs[i].name, name))
			return &ct_refs[i].lines;
	return NULL;
}

/* A line diff (longest common subsequence) of a and b, as "- " / "+ "
 * lines in out. */
static void ct_diff(const struct ct_lines *a, const struct ct_lines *b, struct ct_lines *out)
{
	size_t n = a->n, m = b->n;
	unsigned short *l = calloc((n + 1) * (m + 1), sizeof(*l));
	char line[sizeof(ct_line) + 4];

	if (!l)
		return;
#define L(i, j) l[(i) * (m + 1) + (j)]
	for (size_t i = n; i-- > 0;)
		for (size_t j = m; j-- > 0;)
			L(i, j) = !strcmp(a->v[i], b->v[j]) ? L(i + 1, j + 1) + 1 :
				  L(i + 1, j) > L(i, j + 1) ? L(i + 1, j) : L(i, j + 1);
	size_t i = 0, j = 0;
	while (i < n || j < m) {
		if (i < n && j < m && !strcmp(a->v[i], b->v[j])) {
			i++, j++;
		} else if (j == m || (i < n && L(i + 1, j) >= L(i, j + 1))) {
			snprintf(line, sizeof(line), "- %s", a->v[i++]);
			ct_lines_add(out, line);
		} else {
			snprintf(line, sizeof(line), "+ %s", b->v[j++]);
			ct_lines_add(out, line);
		}
	}
#undef L
	free(l);
}

/* The content cache's extracted files: written once, then only read. */
static void ct_cache_state(const char *cache, struct ct_lines *out)
{
	struct stat st;

	*out = (struct ct_lines){ 0 };
	if (cache && stat(cache, &st) == 0)
		ct_manifest(cache, "/data/", out);
}


/* What the archive's members hold: "SIZE:DIGEST" of each regular file of
 * the extracted archive, sorted. */
static struct ct_lines ct_members;

static int ct_member_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	char line[64];
	off_t size;

	(void)type;
	(void)ftw;
	if (S_ISREG(st->st_mode)) {
		uint64_t h = ct_digest_file(path, &size);
		snprintf(line, sizeof(line), "%lld:%016llx", (long long)size, (unsigned long long)h);
		ct_lines_add(&ct_members, line);
	}
	return 0;
}

static void ct_load_members(const char *dir)
{
	nftw(dir, ct_member_entry, 16, FTW_PHYS);
	if (ct_members.n)
		qsort(ct_members.v, ct_members.n, sizeof(ct_members.v[0]), ct_str_cmp);
}

/*
 * The content cache's files that appeared or changed between the states
 * a and b must each hold what a member of the archive holds (a file
 * written in place after it was made, or made with other bytes, does
 * not): a line in out for each that does not.
 */
static void ct_cache_contents(const char *cache, const struct ct_lines *a,
			      const struct ct_lines *b, struct ct_lines *out)
{
	for (size_t j = 0; j < b->n && ct_members.n; j++) {
		bool known = false;
		for (size_t i = 0; i < a->n && !known; i++)
			known = !strcmp(a->v[i], b->v[j]);
		size_t k = ct_key_len(b->v[j]);
		if (known || b->v[j][k + 1] != 'f')
			continue;
		char path[2 * PATH_MAX], key[64], line[PATH_MAX + 128];
		off_t size;
		snprintf(path, sizeof(path), "%s/%.*s", cache, (int)k, b->v[j]);
		uint64_t h = ct_digest_file(path, &size);
		snprintf(key, sizeof(key), "%lld:%016llx", (long long)size, (unsigned long long)h);
		const char *pk = key;
		if (bsearch(&pk, ct_members.v, ct_members.n, sizeof(ct_members.v[0]), ct_str_cmp))
			continue;
		snprintf(line, sizeof(line), "cache changed: %.*s holds %lld bytes no member holds",
			 (int)k, b->v[j], (long long)size);
		ct_lines_add(out, line);
	}
}

static void ct_print_lines(const char *prefix, const struct ct_lines *l, size_t max)
{
	for (size_t i = 0; i < l->n && i < max; i++)
		printf("%s%s\n", prefix, l->v[i]);
	if (l->n > max)
		printf("%s(%zu more)\n", prefix, l->n - max);
}

/* Mounts overlayfs on the mount point for one case (ovl mode). */
static int ct_ovl_mount(const struct ct_drive *dr)
{
	char u[PATH_MAX], w[PATH_MAX], opts[3 * PATH_MAX + 64];

	snprintf(u, sizeof(u), "%s/ovl/u", dr->work);
	snprintf(w, sizeof(w), "%s/ovl/w", dr->work);
	ct_rm_rf(u);
	ct_rm_rf(w);
	snprintf(opts, sizeof(opts), "%s/ovl", dr->work);
	mkdir(opts, 0755);
	if (mkdir(u, 0755) < 0 || mkdir(w, 0755) < 0)
		return -1;
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s,redirect_dir=on,index=on",
		 dr->lowerdir, u, w);
	return mount("overlay", dr->mnt, "overlay", 0, opts);
}

/*
 * The overlays' upper and work directories go on a tmpfs of this mount
 * namespace: made and removed for every case, they cost a journal commit
 * or two each on a disk file system.  Not when that tmpfs has no user.*
 * extended attributes (the cases set some).
 */
static void ct_ovl_tmpfs(const struct ct_drive *dr)
{
	char dir[PATH_MAX], probe[PATH_MAX + 8];

	snprintf(dir, sizeof(dir), "%s/ovl", dr->work);
	snprintf(probe, sizeof(probe), "%s/probe", dir);
	mkdir(dir, 0755);
	if (mount("tmpfs", dir, "tmpfs", 0, "mode=0755") < 0)
		return;
	int fd = open(probe, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || fsetxattr(fd, "user.probe", "1", 1, 0) < 0)
		umount2(dir, MNT_DETACH);
	if (fd >= 0)
		close(fd);
	unlink(probe);
}

static void ct_ovl_umount(const struct ct_drive *dr)
{
	for (int i = 0; i < 50; i++) {
		if (umount2(dr->mnt, 0) == 0)
			return;
		if (errno != EBUSY)
			break;
		usleep(20000);
	}
	umount2(dr->mnt, MNT_DETACH);
}

/* One case of CASES: its batch, its name, and the runner's line. */
struct ct_case {
	char *group, *name, *line;
};

/*
 * One case's result: the block for the reference's file, or (with
 * --expect) a record: "ok<TAB>NAME", or "not ok<TAB>NAME<TAB>WHY" and
 * "#<TAB>" lines of detail.
 */
static void ct_report(const struct ct_drive *dr, const char *name, const struct ct_lines *out,
		      const struct ct_lines *changes)
{
	const struct ct_lines *ref;
	struct ct_lines d = { 0 };
	bool lower = false, host = false, cache = false;
	char why[256] = "";

	if (!dr->expect) {
		printf("case %s\n", name);
		ct_print_lines("", out, SIZE_MAX);
		ct_print_lines("", changes, SIZE_MAX);
		printf("endcase\n");
		return;
	}
	ref = ct_find_ref(name);
	if (ref)
		ct_diff(ref, out, &d);
	if (ref && !d.n && !changes->n) {
		printf("ok\t%s\n", name);
		return;
	}
	for (size_t i = 0; i < changes->n; i++) {
		lower |= !strncmp(changes->v[i], "lower", 5);
		host |= !strncmp(changes->v[i], "host", 4);
		cache |= !strncmp(changes->v[i], "cache", 5);
	}
	if (lower)
		strcat(why, "; the lower changed");
	if (host)
		strcat(why, "; the host changed");
	if (cache)
		strcat(why, "; the content cache changed");
	if (!ref)
		strcat(why, "; no reference result");
	else if (d.n)
		strcat(why, "; not what the reference gives");
	printf("not ok\t%s\t%s\n", name, why + 2);
	ct_print_lines("#\t", changes, 6);
	if (d.n) {
		printf("#\t--- reference - / layerfs +\n");
		ct_print_lines("#\t", &d, 12);
	}
	ct_lines_free(&d);
}

/* T as it was at the first batch's start, to the byte (ct_manifest_full;
 * an overlay mounted then, as for every batch). */
static struct ct_lines ct_first;
static bool ct_first_taken;

/* The content cache is empty (at first, and once removed). */
static bool ct_cache_cold = true;

/*
 * Fills the content cache, so that every batch starts with the same one:
 * layerfs opens an archive member a memfd (sealed) the first time, and a
 * file of the cache (shared by every later run) from the second time on.
 * A process of its own, with an upper layer of its own.
 */
static void ct_warm_up(const struct ct_drive *dr)
{
	char upper[PATH_MAX], line[PATH_MAX + 64];
	struct ct_runner r = { .pid = -1 };
	struct ct_lines out = { 0 };

	snprintf(upper, sizeof(upper), "%s/warm-up", dr->work);
	ct_rm_rf(upper);
	mkdir(upper, 0755);
	snprintf(line, sizeof(line), "warm-up\twarm @M");
	if (ct_runner_start(dr, upper, &r) == 0)
		ct_runner_case(&r, line, &out);
	ct_runner_stop(&r);
	if (out.n != 2 || strncmp(out.v[0], "warm @M = ", 10) || !strcmp(out.v[0], "warm @M = 0"))
		fprintf(stderr, "contain: the cache warm-up did not read the view (%s)\n",
			 out.n ? out.v[0] : "no output");
	ct_lines_free(&out);
	ct_rm_rf(upper);
	ct_cache_cold = false;
}

/*
 * One batch: a fresh upper layer (view, ovl) or merged tree (plain), one
 * runner, each case in turn.  After each case, T (and the content cache)
 * is compared with its state before the case; what changed is put back
 * after the batch.
 */
static void ct_batch(const struct ct_drive *dr, const struct ct_case *c, size_t n)
{
	bool view = !strcmp(dr->mode, "view"), ovl = !strcmp(dr->mode, "ovl");
	bool plain = !strcmp(dr->mode, "plain"), dirty = false, cache_dirty = false;
	char upper[PATH_MAX], setup_err[256] = "";
	struct ct_runner r = { .pid = -1 };
	struct ct_lines start = { 0 }, base = { 0 }, cache_base = { 0 }, seen = { 0 };

	snprintf(upper, sizeof(upper), "%s/up", dr->work);
	if (view) {
		struct stat st;
		if (dr->cache && ct_cache_cold && stat(dr->lower, &st) == 0 && !S_ISDIR(st.st_mode))
			ct_warm_up(dr);
		ct_rm_rf(upper);
		mkdir(upper, 0755);
	}
	if (plain) {
		ct_rm_rf(dr->mnt);
		ct_copy(dr->lowerdir, dr->mnt, 0);
	}
	if (ovl && ct_ovl_mount(dr) < 0)
		snprintf(setup_err, sizeof(setup_err), "setup: mount overlay = -1 %s",
			 ct_errname(errno));
	if (!plain && !ct_first_taken) {
		ct_manifest_full(dr->top, &ct_first);
		ct_first_taken = true;
	}
	if (!plain) {
		ct_manifest(dr->top, NULL, &start);
		ct_manifest(dr->top, NULL, &base);
		ct_watch(dr->top);
	}
	if (view)
		ct_cache_state(dr->cache, &cache_base);
	struct ct_lines out = { 0 }, changes = { 0 }, after;
	for (size_t i = 0; i < n; i++) {
		if (i) {
			ct_report(dr, c[i - 1].name, &out, &changes);
			ct_lines_free(&out);
			ct_lines_free(&changes);
		}
		if (*setup_err)
			ct_lines_add(&out, setup_err);
		else if (r.pid > 0 || ct_runner_start(dr, upper, &r) == 0)
			ct_runner_case(&r, c[i].line, &out);
		else
			ct_lines_add(&out, "runner: cannot start");
		/* Nothing outside the upper layer and the cache may change. */
		if (!plain && ct_watch_fired()) {
			ct_manifest(dr->top, NULL, &after);
			ct_manifest_diff(&base, &after, view ? dr->lower_rel : NULL, false,
					 ovl ? "reference: host" : NULL, &changes, NULL, &seen);
			ct_lines_free(&base);
			base = after;
			ct_watch(dr->top);
		}
		if (view) {
			size_t before = changes.n;
			ct_cache_state(dr->cache, &after);
			ct_manifest_diff(&cache_base, &after, NULL, true, "cache", &changes, NULL,
					 NULL);
			ct_cache_contents(dr->cache, &cache_base, &after, &changes);
			ct_lines_free(&cache_base);
			cache_base = after;
			cache_dirty |= changes.n > before;
		}
		dirty |= changes.n > 0;
	}
	ct_runner_stop(&r);
	ct_unwatch();
	if (!plain && n) {
		/* What no event showed (a write through a shared mapping), and
		 * what is not to the byte as it was at first without its ctime
		 * or inode number showing it. */
		struct ct_lines silent = { 0 }, full;
		ct_manifest(dr->top, NULL, &after);
		ct_manifest_diff(&base, &after, view ? dr->lower_rel : NULL, false,
				 ovl ? "reference: host" : NULL, &silent, &seen, &seen);
		ct_manifest_full(dr->top, &full);
		ct_manifest_diff(&ct_first, &full, view ? dr->lower_rel : NULL, false,
				 ovl ? "reference: host" : NULL, &silent, &seen, NULL);
		ct_lines_free(&full);
		for (size_t i = 0; i < silent.n; i++) {
			char line[PATH_MAX + 600];
			snprintf(line, sizeof(line), "%s (no event: found after the batch)",
				 silent.v[i]);
			ct_lines_add(&changes, line);
		}
		dirty |= silent.n > 0;
		ct_lines_free(&silent);
		if (dirty)
			ct_put_back(dr->top, dr->pristine, &start, &after);
		ct_lines_free(&after);
	}
	if (n)
		ct_report(dr, c[n - 1].name, &out, &changes);
	fflush(stdout);
	ct_lines_free(&out);
	ct_lines_free(&changes);
	if (ovl && !*setup_err)
		ct_ovl_umount(dr);
	if (cache_dirty && dr->cache) {
		ct_rm_rf(dr->cache);
		ct_cache_cold = true;
	}
	ct_lines_free(&start);
	ct_lines_free(&base);
	ct_lines_free(&cache_base);
	ct_lines_free(&seen);
}

static int ct_drive(struct ct_drive *dr)
{
	bool view = !strcmp(dr->mode, "view"), ovl = !strcmp(dr->mode, "ovl");
	bool plain = !strcmp(dr->mode, "plain");
	char *line = NULL;
	size_t cap = 0, nc = 0, alloc = 0;
	ssize_t k;
	struct ct_case *cases = NULL;

	if ((!view && !ovl && !plain) || !dr->top || !dr->pristine || !dr->work ||
	    (view && !dr->lower) || ((ovl || plain) && !dr->lowerdir))
		return ct_usage();
	snprintf(dr->mnt, sizeof(dr->mnt), "%s/%s", dr->top, ct_mnt_rel);
	while ((k = getline(&line, &cap, stdin)) > 0) {
		char *t1, *t2;
		if (line[k - 1] == '\n')
			line[k - 1] = '\0';
		if (*line == '#' || !(t1 = strchr(line, '\t')) || !(t2 = strchr(t1 + 1, '\t')))
			continue;
		if (nc == alloc) {
			alloc = alloc ? 2 * alloc : 256;
			struct ct_case *v = realloc(cases, alloc * sizeof(*v));
			if (!v)
				return 1;
			cases = v;
		}
		*t1 = '\0';
		cases[nc].group = strdup(line);
		cases[nc].line = strdup(t1 + 1);
		*t2 = '\0';
		cases[nc++].name = strdup(t1 + 1);
	}
	free(line);
	if (ovl) {
		/* The reference's changes outside the view go to a copy. */
		char scratch[PATH_MAX];
		snprintf(scratch, sizeof(scratch), "%s/scratch", dr->work);
		ct_rm_rf(scratch);
		if (mkdir(scratch, 0755) < 0)
			return 1;
		ct_restore(scratch, dr->pristine);
		if (mount(scratch, dr->top, NULL, MS_BIND, NULL) < 0) {
			perror("contain: bind mount");
			return 1;
		}
		mkdir(dr->mnt, 0755);
		ct_ovl_tmpfs(dr);
	}
	if (plain)
		ct_restore(dr->top, dr->pristine);
	if (dr->expect)
		ct_load_refs(dr->expect);
	if (view && dr->cache && dr->lowerdir)
		ct_load_members(dr->lowerdir);
	for (size_t i = 0, j; i < nc; i = j) {
		for (j = i + 1; j < nc && !strcmp(cases[j].group, cases[i].group); j++)
			;
		ct_batch(dr, cases + i, j - i);
	}
	for (size_t i = 0; i < nc; i++) {
		free(cases[i].group);
		free(cases[i].name);
		free(cases[i].line);
	}
	free(cases);
	ct_lines_free(&ct_first);
	return 0;
}

/* ---- main ---------------------------------------------------------------- */

static int ct_usage(void)
{
	fprintf(stderr, "usage: contain list | calls\n"
		"       contain case [--top T] [--mnt REL] [--no-tree] STEP [; STEP]...\n"
		"       contain serve --top T [--mnt REL] < CASES\n"
		"       contain drive --mode view|ovl|plain --top T --pristine P --work W\n"
		"                     [--mnt REL] [--lower L] [--lower-rel R] [--cache C]\n"
		"                     [--lowerdir D] [--expect FILE] < CASES\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct ct_drive dr = { 0 };
	bool tree = true;
	int i = 2;

	if (argc < 2)
		return ct_usage();
	if (!strcmp(argv[1], "list"))
		return ct_list();
	if (!strcmp(argv[1], "calls"))
		return ct_list_calls();
	for (; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		const char **opt = !strcmp(a, "--top") ? &dr.top :
				   !strcmp(a, "--mode") ? &dr.mode :
				   !strcmp(a, "--pristine") ? &dr.pristine :
				   !strcmp(a, "--work") ? &dr.work :
				   !strcmp(a, "--lower") ? &dr.lower :
				   !strcmp(a, "--lower-rel") ? &dr.lower_rel :
				   !strcmp(a, "--cache") ? &dr.cache :
				   !strcmp(a, "--lowerdir") ? &dr.lowerdir :
				   !strcmp(a, "--expect") ? &dr.expect :
				   !strcmp(a, "--launcher") ? &dr.launcher :
				   !strcmp(a, "--runner") ? &dr.runner : NULL;
		if (!strcmp(a, "--")) {
			i++;
			break;
		} else if (!strcmp(a, "--no-tree")) {
			tree = false;
		} else if (!strcmp(a, "--mnt") && v) {
			ct_mnt_rel = v;
			i++;
		} else if (opt && v) {
			*opt = v;
			i++;
		} else {
			break;
		}
	}
	if (dr.top) {
		snprintf(ct_top, sizeof(ct_top), "%s", dr.top);
		ct_top_len = strlen(ct_top);
	}
	if (!strcmp(argv[1], "case"))
		return ct_run_case(argc - i, argv + i, tree);
	if (!strcmp(argv[1], "serve") && i == argc && dr.top)
		return ct_serve(false);
	if (!strcmp(argv[1], "drive") && i == argc) {
		static char self[PATH_MAX];
		ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (k <= 0)
			return 1;
		self[k] = '\0';
		dr.self = self;
		signal(SIGPIPE, SIG_IGN);
		return ct_drive(&dr);
	}
	return ct_usage();
}
