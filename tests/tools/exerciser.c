/* SPDX-License-Identifier: MIT */
/*
 * exerciser.c - calls every libc entry point liblayerfs.so wraps (every row
 * of shim/syscalls.def) on a tree and prints one canonical line per call.
 * tests/integration/exerciser.sh runs it on an extracted copy of a fixture
 * and, under the shim, on the same fixture seen through a mount point, and
 * compares the outputs row by row.
 *
 *   exerciser ROOT            run every case on the tree at ROOT
 *   exerciser --list-covered  the row names the cases cover, one a line
 *
 * Each function is fetched with dlsym(RTLD_DEFAULT), so the legacy and
 * fortify names headers do not declare (__xstat, __open_2...) are called
 * too; the pointer types come from syscalls.def itself.
 *
 * A line is "ROW DESCRIPTION: RESULT".  Results are normalised so that only
 * what must agree is printed: 0, -1 and counts; "fd" for descriptors; "ptr"
 * or "NULL" for pointers; the errno name on failure; file type, permission
 * bits, owner, size and link count (not of directories: see below), link
 * targets, sorted listings, data read back.  Never inode numbers (only
 * whether two agree), devices or times (except times the case set itself);
 * paths are printed with ROOT standing for the tree's root (either
 * spelling: as given, or as realpath() resolves it).  Where the view
 * differs by design the line says what is accepted: statfs's f_type and
 * counts are left out, a directory's link count is checked apart ("1 or
 * 2 + subdirectories", as overlayfs reports merged directories), and
 * name_to_handle_at, chroot into a directory and posix_spawn's file
 * actions on view paths accept the view's answer (see those cases).
 * Lines starting "semantics" check what spans several calls.
 *
 * C leaves the order of a call's arguments unspecified, so a line that
 * makes a call and then looks at its effect evaluates them first, in
 * order, into the __auto_type temporaries of a block.
 *
 * The cases run in order on the same tree; each case that changes the tree
 * works in its own directory ROOT/w/CASE, or changes fixture files no
 * later case reads.  A case lists the rows it covers; a row it lists but
 * does not call is reported on stderr and fails the run (exit status 3).
 *
 * Divisions: 1. the rows' types  2. output  3. lookup and coverage
 * 4. helpers  5. the cases, by group of syscalls.def  6. the case table.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

extern char **environ;

/* ---- 1. the rows' types --------------------------------------------- */

/* One pointer type per row: name_fn. */
#define X(ret, name, params, group, fail) typedef ret (*name##_fn) params;
#define V(ret, name, params, group, fail, ver) X(ret, name, params, group, fail)
#include "../../shim/syscalls.def"
#undef X
#undef V

/* ABI versions of the legacy entry points on x86-64. */
#define EX_STAT_VER  1
#define EX_MKNOD_VER 0

/* ---- 2. output ------------------------------------------------------ */

static const char *root;             /* as given */
static char root_real[PATH_MAX];     /* as realpath() resolves it */
static int start_fd = -1;            /* the working directory at start */
static int failures;                 /* self-check problems */

/* A ring of scratch strings, so several can appear in one printf (each is
 * reused 32 calls later: keep nothing in one for long). */
static char *ring(void)
{
	static char bufs[32][PATH_MAX + 256];
	static unsigned next;

	return bufs[next++ % 32];
}

/* s with every spelling of the root replaced by "ROOT", into out. */
static void normalise(const char *s, char *out, size_t size)
{
	size_t n = 0, lr = strlen(root), lrr = strlen(root_real);

	while (*s && n + 1 < size) {
		size_t skip = 0;
		if (lrr && strncmp(s, root_real, lrr) == 0)
			skip = lrr;
		else if (strncmp(s, root, lr) == 0)
			skip = lr;
		if (skip && n + 5 < size) {
			memcpy(out + n, "ROOT", 4);
			n += 4;
			s += skip;
			continue;
		}
		out[n++] = *s++;
	}
	out[n] = '\0';
}

/* Prints "row line", with the root normalised. */
static void say(const char *row, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const char *row, const char *fmt, ...)
{
	va_list ap;
	char *s, *norm;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		perror("vasprintf");
		exit(2);
	}
	va_end(ap);
	size_t size = strlen(s) * 2 + 16;
	norm = malloc(size);
	if (!norm) {
		perror("malloc");
		exit(2);
	}
	normalise(s, norm, size);
	printf("%s %s\n", row, norm);
	free(norm);
	free(s);
}

static const char *ename(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

/* A result: the count, or "-1 ENAME". */
static const char *res_n(long r, int e)
{
	char *b = ring();

	if (r < 0)
		snprintf(b, 64, "-1 %s", ename(e));
	else
		snprintf(b, 64, "%ld", r);
	return b;
}

/* A descriptor: "fd", or "-1 ENAME". */
static const char *res_fd(long r, int e)
{
	return r >= 0 ? "fd" : res_n(r, e);
}

/* A pointer: "ptr", or "NULL ENAME". */
static const char *res_p(const void *p, int e)
{
	char *b = ring();

	if (p)
		return "ptr";
	snprintf(b, 64, "NULL %s", ename(e));
	return b;
}

/* An error-number result (posix_spawn, readdir_r): "0" or "ENAME". */
static const char *res_e(int r)
{
	return r == 0 ? "0" : ename(r);
}

/*
 * Evaluate a call, then read errno (argument order is unspecified).
 * errno is set to a value no call gives first: a call that succeeds must
 * leave it alone, as libc's do, and the result says when it did not.
 */
#define ERRNO_MARK 4242
static const char *kept(const char *res, int e)
{
	char *b, was[64];

	if (e == ERRNO_MARK)
		return res;
	snprintf(was, sizeof(was), "%s", res);
	b = ring();
	snprintf(b, 96, "%s (errno now %s)", was, ename(e));
	return b;
}
#define RN(call) ({ errno = ERRNO_MARK; long r_ = (long)(call); int e_ = errno; \
		    r_ < 0 ? res_n(r_, e_) : kept(res_n(r_, e_), e_); })
#define RFD(call) ({ errno = ERRNO_MARK; long r_ = (long)(call); int e_ = errno; \
		     r_ < 0 ? res_fd(r_, e_) : kept(res_fd(r_, e_), e_); })
#define RP(call) ({ errno = ERRNO_MARK; const void *p_ = (call); int e_ = errno; \
		    p_ ? kept(res_p(p_, e_), e_) : res_p(p_, e_); })
/* For the one call whose libc changes errno when it succeeds: glibc's
 * remove() of a directory leaves unlink's EISDIR behind. */
#define RN_ANY(call) ({ errno = 0; long r_ = (long)(call); int e_ = errno; res_n(r_, e_); })

/* Printable form of n bytes: \n, \t and \xHH escapes, at most 160 shown. */
static const char *esc(const char *s, size_t n)
{
	char *b = ring();
	size_t k = 0;

	for (size_t i = 0; i < n && k + 8 < PATH_MAX; i++) {
		unsigned char c = (unsigned char)s[i];
		if (i == 160) {
			k += (size_t)sprintf(b + k, "...(%zu bytes)", n);
			break;
		}
		if (c == '\n')
			k += (size_t)sprintf(b + k, "\\n");
		else if (c == '\t')
			k += (size_t)sprintf(b + k, "\\t");
		else if (c == '\\')
			k += (size_t)sprintf(b + k, "\\\\");
		else if (c < 32 || c >= 127)
			k += (size_t)sprintf(b + k, "\\x%02x", c);
		else
			b[k++] = (char)c;
	}
	b[k] = '\0';
	return b;
}

/* ---- 3. lookup and coverage ------------------------------------------ */

#define MAX_NAMES 512
static const char *called[MAX_NAMES];  /* rows looked up by the current case */
static int ncalled;

static void note_called(const char *name)
{
	for (int i = 0; i < ncalled; i++)
		if (strcmp(called[i], name) == 0)
			return;
	if (ncalled < MAX_NAMES)
		called[ncalled++] = name;
}

/* The function a program calling `name` gets; exits when there is none. */
static void *ex_sym(const char *name)
{
	void *p = dlsym(RTLD_DEFAULT, name);

	if (!p)
		p = dlvsym(RTLD_DEFAULT, name, "GLIBC_2.2.5");
	if (!p) {
		fprintf(stderr, "exerciser: no symbol %s\n", name);
		exit(2);
	}
	note_called(name);
	return p;
}

/* The row `name` as a typed function pointer. */
#define FN(name) ((name##_fn)ex_sym(#name))

/* ---- 4. helpers ----------------------------------------------------- */

/* ROOT/rel (rel "" is the root), in a ring buffer. */
static const char *P(const char *rel)
{
	char tmp[PATH_MAX], *b = ring();

	/* Through tmp: rel may be another ring buffer. */
	snprintf(tmp, sizeof(tmp), "%s%s%s", root, *rel ? "/" : "", rel);
	return strcpy(b, tmp);
}

static const char *ftype(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return "reg";
	case S_IFDIR: return "dir";
	case S_IFLNK: return "lnk";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "sock";
	case S_IFCHR: return "chr";
	case S_IFBLK: return "blk";
	default: return "?";
	}
}

/* What must agree about a file's metadata. */
static const char *st_str(const struct stat *st)
{
	char *b = ring();
	int n = snprintf(b, 128, "%s %04o", ftype(st->st_mode), (unsigned)(st->st_mode & 07777));

	/* Directory sizes are the file system's; a directory's link count is
	 * 1 when the view merges layers (as overlayfs): case_semantics checks
	 * it apart. */
	if (!S_ISDIR(st->st_mode))
		n += snprintf(b + n, 96, " size=%lld nlink=%lu", (long long)st->st_size,
			      (unsigned long)st->st_nlink);
	snprintf(b + n, 96, " uid=%u gid=%u", (unsigned)st->st_uid, (unsigned)st->st_gid);
	return b;
}

/* A stat call's line: result and, on success, the metadata. */
static void say_stat(const char *row, const char *what, int r, int e, const struct stat *st)
{
	if (r < 0)
		say(row, "%s: %s", what, res_n(r, e));
	else
		say(row, "%s: %d %s", what, r, st_str(st));
}

/* The metadata of a path (lstat), for checks after a change. */
static const char *lstat_str(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return res_n(-1, errno);
	return st_str(&st);
}

/* Modification time as "sec.nsec", for times a case set itself. */
static const char *mtime_str(const char *path, bool follow)
{
	struct stat st;
	char *b = ring();

	if ((follow ? stat(path, &st) : lstat(path, &st)) < 0)
		return res_n(-1, errno);
	snprintf(b, 96, "atime=%lld.%09ld mtime=%lld.%09ld", (long long)st.st_atim.tv_sec,
		 st.st_atim.tv_nsec, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	return b;
}

/* A growable list of strings, printed sorted and joined. */
struct list {
	char **v;
	size_t n, cap;
};

static void list_add(struct list *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void list_add(struct list *l, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		perror("vasprintf");
		exit(2);
	}
	va_end(ap);
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v) {
			perror("realloc");
			exit(2);
		}
	}
	l->v[l->n++] = s;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted list joined with sep, in a ring buffer; frees the list. */
static const char *list_join(struct list *l, const char *sep)
{
	char *b = ring();
	size_t k = 0, cap = PATH_MAX + 200;

	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), str_cmp);
	b[0] = '\0';
	for (size_t i = 0; i < l->n; i++) {
		int n = snprintf(b + k, cap - k, "%s%s", i ? sep : "", l->v[i]);
		if (n > 0 && (size_t)n < cap - k)
			k += (size_t)n;
		free(l->v[i]);
	}
	free(l->v);
	*l = (struct list){ 0 };
	return b;
}

static char dtype_char(unsigned char t)
{
	switch (t) {
	case DT_REG: return 'f';
	case DT_DIR: return 'd';
	case DT_LNK: return 'l';
	case DT_FIFO: return 'p';
	case DT_SOCK: return 's';
	case DT_UNKNOWN: return 'u';
	default: return '?';
	}
}

/* Reads what is left on fd (at most 4 KiB) and returns it escaped. */
static const char *read_rest(int fd)
{
	char buf[4096];
	size_t n = 0;

	while (n < sizeof(buf)) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - n);
		if (r < 0)
			return res_n(-1, errno);
		if (r == 0)
			break;
		n += (size_t)r;
	}
	return esc(buf, n);
}

/* A file's contents, escaped; or the open error. */
static const char *contents(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return res_n(-1, errno);
	const char *s = read_rest(fd);
	close(fd);
	return s;
}

static void put_file(const char *path, const char *data, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0 || write(fd, data, strlen(data)) != (ssize_t)strlen(data))
		say("setup", "write %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* The case's own directory ROOT/w/NAME; returns its relative path, valid
 * for the whole run. */
static const char *workdir(const char *name)
{
	static char names[64][64];
	static unsigned next;
	char *b = names[next++ % 64];

	mkdir(P("w"), 0755);
	snprintf(b, 64, "w/%s", name);
	if (mkdir(P(b), 0755) < 0)
		say("setup", "mkdir %s: %s", b, strerror(errno));
	return b;
}

/* "w/case/name" */
static const char *W(const char *dir, const char *name)
{
	char *b = ring();

	snprintf(b, PATH_MAX, "%s/%s", dir, name);
	return b;
}

static int open_dir(const char *rel)
{
	int fd = open(P(rel), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		say("setup", "open %s: %s", rel, strerror(errno));
	return fd;
}

/* The working directory, as a path under ROOT or "HOST". */
static const char *cwd_str(void)
{
	char buf[PATH_MAX], *b = ring();

	if (!getcwd(buf, sizeof(buf)))
		return res_n(-1, errno);
	normalise(buf, b, PATH_MAX);
	return strncmp(b, "ROOT", 4) == 0 ? b : "HOST";
}

static void back_to_start(void)
{
	if (fchdir(start_fd) < 0)
		say("setup", "fchdir back: %s", strerror(errno));
}

/* The names a listing of fd (getdents64 records) holds, into l. */
static void dents_names(struct list *l, const char *buf, long n)
{
	for (long off = 0; off < n; ) {
		const struct dirent64 *d = (const struct dirent64 *)(buf + off);
		list_add(l, "%s:%c", d->d_name, dtype_char(d->d_type));
		if (d->d_reclen == 0)
			break;
		off += d->d_reclen;
	}
}

/* Child output capture: run fn in a child whose stdout and stderr go to a
 * pipe; returns the output escaped and the status in *status. */
static const char *in_child(void (*fn)(void *), void *arg, int *status)
{
	int p[2];

	fflush(stdout);
	fflush(stderr);
	if (pipe2(p, O_CLOEXEC) < 0)
		return res_n(-1, errno);
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return res_n(-1, errno);
	}
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		fn(arg);
		_exit(126);
	}
	close(p[1]);
	const char *out = read_rest(p[0]);
	close(p[0]);
	*status = -1;
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	return out;
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

/* In a child after a failed exec: the error on stdout, then exit. */
static void exec_failed(void)
{
	int e = errno;
	printf("-1 %s", ename(e));
	fflush(stdout);
	_exit(127);
}

/* The environment children get: a reduced one, as programs pass. */
static char *child_env[4];
static char child_asan[512];

static void child_env_init(void)
{
	int k = 0;
	const char *a = getenv("ASAN_OPTIONS");

	child_env[k++] = (char *)"PATH=/usr/bin:/bin";
	child_env[k++] = (char *)"LC_ALL=C";
	if (a) {
		snprintf(child_asan, sizeof(child_asan), "ASAN_OPTIONS=%s", a);
		child_env[k++] = child_asan;
	}
	child_env[k] = NULL;
}

/* ---- 5. the cases --------------------------------------------------- */

/* ---- open ---- */

static void case_open(void)
{
	const char *w = workdir("open");
	char c3buf[3];
	int fd;

	fd = FN(open)(P("foo"), O_RDONLY);
	{
		__auto_type a0_ = res_fd(fd, errno);
		__auto_type a1_ = fd >= 0 ? read_rest(fd) : "";
		say("open", "foo rdonly: %s %s", a0_, a1_);
	}
	if (fd >= 0)
		close(fd);
	fd = FN(open)(P("foo.link"), O_RDONLY);
	{
		__auto_type a0_ = res_fd(fd, errno);
		__auto_type a1_ = fd >= 0 ? read_rest(fd) : "";
		say("open", "foo.link: %s %s", a0_, a1_);
	}
	if (fd >= 0)
		close(fd);
	static const struct { const char *path; int flags; } errs[] = {
		{ "missing", O_RDONLY }, { "foo/x", O_RDONLY }, { "docs", O_WRONLY },
		{ "docs", O_RDWR }, { "foo", O_RDONLY | O_DIRECTORY }, { "dangling", O_RDONLY },
		{ "loop.a", O_RDONLY }, { "foo.link", O_RDONLY | O_NOFOLLOW },
		{ "foo", O_WRONLY | O_CREAT | O_EXCL }, { "docs", O_WRONLY | O_CREAT | O_EXCL },
		{ "foo.link", O_WRONLY | O_CREAT | O_EXCL }, { "missing/x", O_WRONLY | O_CREAT },
		{ "foo/", O_RDONLY }, { "docs/", O_RDONLY }, { "docs/.", O_RDONLY },
		{ "", O_RDONLY }, { "docs/empty", O_WRONLY | O_CREAT },
	};
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		fd = FN(open)(P(errs[i].path), errs[i].flags, 0644);
		say("open", "%s flags=%#o: %s", errs[i].path, errs[i].flags, res_fd(fd, errno));
		if (fd >= 0)
			close(fd);
	}
	fd = FN(open)("", O_RDONLY);
	say("open", "empty path: %s", res_fd(fd, errno));
	/* O_PATH opens what O_RDONLY cannot: a symlink itself. */
	static const char *const opath[] = { "foo.link", "dangling", "loop.a", "docs", "foo" };
	for (size_t i = 0; i < sizeof(opath) / sizeof(opath[0]); i++) {
		struct stat st;
		fd = FN(open)(P(opath[i]), O_PATH | O_NOFOLLOW);
		int e = errno;
		{
			__auto_type a0_ = res_fd(fd, e);
			__auto_type a1_ = fd >= 0 && fstat(fd, &st) == 0 ? st_str(&st) : "";
			say("open", "%s O_PATH|O_NOFOLLOW: %s %s", opath[i], a0_, a1_);
		}
		if (fd >= 0)
			close(fd);
	}
	fd = FN(open)(P("foo"), O_PATH);
	say("open", "foo O_PATH read: %s", fd >= 0 ? RN(read(fd, c3buf, 1)) : res_fd(fd, errno));
	if (fd >= 0)
		close(fd);

	/* Creation: mode through the umask, then the data. */
	fd = FN(open)(P(W(w, "new")), O_WRONLY | O_CREAT | O_EXCL, 0666);
	say("open", "create new: %s", res_fd(fd, errno));
	if (fd >= 0) {
		say("open", "write new: %zd", write(fd, "abc\n", 4));
		close(fd);
	}
	{
		__auto_type a0_ = lstat_str(P(W(w, "new")));
		__auto_type a1_ = contents(P(W(w, "new")));
		say("open", "new is: %s %s", a0_, a1_);
	}
	/* O_CREAT through a dangling symlink creates its target. */
	fd = FN(open)(P("dangling"), O_WRONLY | O_CREAT, 0640);
	say("open", "create via dangling: %s", res_fd(fd, errno));
	if (fd >= 0)
		close(fd);
	{
		__auto_type a0_ = lstat_str(P("nowhere"));
		__auto_type a1_ = RN(unlink(P("nowhere")));
		say("open", "nowhere is: %s unlink=%s", a0_, a1_);
	}
	/* A lower file: O_TRUNC empties it in the view, O_APPEND appends. */
	fd = FN(open)(P("src/main.c"), O_WRONLY | O_APPEND);
	say("open", "append lower: %s", res_fd(fd, errno));
	if (fd >= 0) {
		if (write(fd, "//\n", 3) != 3)
			say("open", "append write: %s", ename(errno));
		close(fd);
	}
	say("open", "main.c is: %s", contents(P("src/main.c")));
	fd = FN(open)(P("src/lib/lib.c"), O_RDWR | O_TRUNC);
	say("open", "trunc lower: %s", res_fd(fd, errno));
	if (fd >= 0)
		close(fd);
	say("open", "lib.c is: %s", lstat_str(P("src/lib/lib.c")));
	/* O_CREAT of an existing lower file opens its data. */
	fd = FN(open)(P("docs/readme.txt"), O_RDWR | O_CREAT, 0600);
	{
		__auto_type a0_ = res_fd(fd, errno);
		__auto_type a1_ = fd >= 0 ? read_rest(fd) : "";
		say("open", "creat existing lower: %s %s", a0_, a1_);
	}
	if (fd >= 0)
		close(fd);
	/* A reader opened before a writer sees the writer's data. */
	int rfd = FN(open)(P("share.txt"), O_RDONLY);
	char c3[3];
	if (rfd >= 0 && read(rfd, c3, 3) != 3)
		say("open", "read 3: %s", ename(errno));
	int wfd = FN(open)(P("share.txt"), O_WRONLY);
	if (wfd >= 0) {
		if (pwrite(wfd, "XY", 2, 0) != 2 || pwrite(wfd, "Z", 1, 4) != 1)
			say("open", "pwrite: %s", ename(errno));
		close(wfd);
	}
	say("open", "reader after writer: %s", rfd >= 0 ? read_rest(rfd) : "no reader");
	if (rfd >= 0)
		close(rfd);

	fd = FN(open64)(P("docs/readme.txt"), O_RDONLY);
	{
		__auto_type a0_ = res_fd(fd, errno);
		__auto_type a1_ = fd >= 0 ? read_rest(fd) : "";
		say("open64", "readme: %s %s", a0_, a1_);
	}
	if (fd >= 0)
		close(fd);
	say("open64", "missing: %s", RFD(FN(open64)(P("missing"), O_RDONLY)));
	fd = FN(open64)(P(W(w, "new64")), O_RDWR | O_CREAT, 0600);
	{
		const char *rs = res_fd(fd, errno);
		say("open64", "create: %s %s", rs, lstat_str(P(W(w, "new64"))));
	}
	if (fd >= 0)
		close(fd);

	fd = FN(__open)(P("foo.hard"), O_RDONLY);
	{
		__auto_type a0_ = res_fd(fd, errno);
		__auto_type a1_ = fd >= 0 ? read_rest(fd) : "";
		say("__open", "foo.hard: %s %s", a0_, a1_);
	}
	if (fd >= 0)
		close(fd);
	say("__open", "foo/x: %s", RFD(FN(__open)(P("foo/x"), O_RDONLY)));
	fd = FN(__open)(P(W(w, "new__open")), O_WRONLY | O_CREAT | O_EXCL, 0604);
	{
		const char *rs = res_fd(fd, errno);
		say("__open", "create: %s %s", rs, lstat_str(P(W(w, "new__open"))));
	}
	if (fd >= 0)
		close(fd);
	fd = FN(__open64)(P("readme.link"), O_RDONLY);
	{
		__auto_type a0_ = res_fd(fd, errno);
		__auto_type a1_ = fd >= 0 ? read_rest(fd) : "";
		say("__open64", "readme.link: %s %s", a0_, a1_);
	}
	if (fd >= 0)
		close(fd);
	say("__open64", "docs wronly: %s", RFD(FN(__open64)(P("docs"), O_WRONLY)));

	/* The *at forms, relative to a directory of the tree. */
	int dfd = open_dir("docs");
	fd = FN(openat)(dfd, "readme.txt", O_RDONLY);
	{
		__auto_type a0_ = res_fd(fd, errno);
		__auto_type a1_ = fd >= 0 ? read_rest(fd) : "";
		say("openat", "docs readme.txt: %s %s", a0_, a1_);
	}
	if (fd >= 0)
		close(fd);
	fd = FN(openat)(dfd, "../foo.hard", O_RDONLY);
	{
		__auto_type a0_ = res_fd(fd, errno);
		__auto_type a1_ = fd >= 0 ? read_rest(fd) : "";
		say("openat", "docs ../foo.hard: %s %s", a0_, a1_);
	}
	if (fd >= 0)
		close(fd);
	fd = FN(openat)(dfd, ".", O_RDONLY | O_DIRECTORY);
	say("openat", "docs .: %s", res_fd(fd, errno));
	if (fd >= 0)
		close(fd);
	say("openat", "docs missing: %s", RFD(FN(openat)(dfd, "missing", O_RDONLY)));
	say("openat", "docs numbers.txt/: %s", RFD(FN(openat)(dfd, "numbers.txt/", O_RDONLY)));
	fd = FN(openat)(AT_FDCWD, P("bin/hello.sh"), O_RDONLY);
	{
		__auto_type a0_ = res_fd(fd, errno);
		__auto_type a1_ = fd >= 0 ? read_rest(fd) : "";
		say("openat", "AT_FDCWD absolute: %s %s", a0_, a1_);
	}
	if (fd >= 0) {
		say("openat", "file dirfd: %s", RFD(FN(openat)(fd, "x", O_RDONLY)));
		close(fd);
	}
	say("openat", "bad dirfd: %s", RFD(FN(openat)(-5, "x", O_RDONLY)));
	fd = FN(openat)(dfd, "created", O_WRONLY | O_CREAT | O_EXCL, 0620);
	{
		const char *rs = res_fd(fd, errno);
		say("openat", "docs created: %s %s", rs, lstat_str(P("docs/created")));
	}
	if (fd >= 0)
		close(fd);
	fd = FN(openat64)(dfd, "numbers.txt", O_RDONLY);
	if (fd >= 0 && lseek(fd, -5, SEEK_END) < 0)
		say("openat64", "lseek: %s", ename(errno));
	{
		__auto_type a0_ = res_fd(fd, errno);
		__auto_type a1_ = fd >= 0 ? read_rest(fd) : "";
		say("openat64", "docs numbers.txt tail: %s %s", a0_, a1_);
	}
	if (fd >= 0)
		close(fd);
	say("openat64", "docs empty/x: %s", RFD(FN(openat64)(dfd, "empty/x", O_RDONLY)));
	close(dfd);

	fd = FN(creat)(P(W(w, "creat")), 0640);
	{
		const char *rs = res_fd(fd, errno);
		say("creat", "new: %s %s", rs, lstat_str(P(W(w, "creat"))));
	}
	if (fd >= 0)
		close(fd);
	fd = FN(creat)(P("deep/a/b/c/leaf.txt"), 0600);
	{
		const char *rs = res_fd(fd, errno);
		say("creat", "over lower: %s %s", rs, lstat_str(P("deep/a/b/c/leaf.txt")));
	}
	if (fd >= 0)
		close(fd);
	say("creat", "dir: %s", RFD(FN(creat)(P("docs"), 0644)));
	say("creat", "missing dir: %s", RFD(FN(creat)(P("missing/x"), 0644)));
	fd = FN(creat64)(P(W(w, "creat64")), 0604);
	{
		const char *rs = res_fd(fd, errno);
		say("creat64", "new: %s %s", rs, lstat_str(P(W(w, "creat64"))));
	}
	if (fd >= 0)
		close(fd);
	say("creat64", "under file: %s", RFD(FN(creat64)(P("foo.hard/x"), 0644)));

	/* The fortify forms take no mode: no O_CREAT here. */
	fd = FN(__open_2)(P("docs/readme.txt"), O_RDONLY);
	{
		__auto_type a0_ = res_fd(fd, errno);
		__auto_type a1_ = fd >= 0 ? read_rest(fd) : "";
		say("__open_2", "readme: %s %s", a0_, a1_);
	}
	if (fd >= 0)
		close(fd);
	say("__open_2", "missing: %s", RFD(FN(__open_2)(P("missing"), O_RDONLY)));
	fd = FN(__open64_2)(P("foo.link"), O_RDONLY);
	{
		__auto_type a0_ = res_fd(fd, errno);
		__auto_type a1_ = fd >= 0 ? read_rest(fd) : "";
		say("__open64_2", "foo.link: %s %s", a0_, a1_);
	}
	if (fd >= 0)
		close(fd);
	say("__open64_2", "loop: %s", RFD(FN(__open64_2)(P("loop.a"), O_RDONLY)));
	dfd = open_dir("src");
	fd = FN(__openat_2)(dfd, "main.c", O_RDONLY);
	{
		__auto_type a0_ = res_fd(fd, errno);
		__auto_type a1_ = fd >= 0 ? read_rest(fd) : "";
		say("__openat_2", "src main.c: %s %s", a0_, a1_);
	}
	if (fd >= 0)
		close(fd);
	say("__openat_2", "src lib wronly: %s", RFD(FN(__openat_2)(dfd, "lib", O_WRONLY)));
	fd = FN(__openat64_2)(dfd, "lib/lib.c", O_RDONLY);
	{
		__auto_type a0_ = res_fd(fd, errno);
		__auto_type a1_ = fd >= 0 ? read_rest(fd) : "";
		say("__openat64_2", "src lib/lib.c: %s %s", a0_, a1_);
	}
	if (fd >= 0)
		close(fd);
	say("__openat64_2", "src nope: %s", RFD(FN(__openat64_2)(dfd, "nope", O_RDONLY)));
	close(dfd);
}

/*
 * name_to_handle_at: a view cannot export handles (EOPNOTSUPP by design),
 * a host file system can; both count as "handle-or-EOPNOTSUPP".  Lookup
 * errors must agree.
 */
static void case_handle(void)
{
	static const char *const paths[] = { "foo", "docs", "missing", "foo/x", "dangling" };

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct file_handle *h = malloc(sizeof(*h) + MAX_HANDLE_SZ);
		int mnt = 0;
		h->handle_bytes = MAX_HANDLE_SZ;
		errno = 0;
		int r = FN(name_to_handle_at)(AT_FDCWD, P(paths[i]), h, &mnt, 0);
		int e = errno;
		say("name_to_handle_at", "%s: %s", paths[i],
		    r == 0 || e == EOPNOTSUPP ? "handle-or-EOPNOTSUPP" : res_n(r, e));
		free(h);
	}
}

/* ---- stdio ---- */

static const char *read_stream(FILE *f)
{
	char buf[4096];
	size_t n = fread(buf, 1, sizeof(buf), f);

	return esc(buf, n);
}

/*
 * A freopen that fails closes the stream but leaves glibc's FILE allocated
 * (it cannot be closed again), so it runs in a child.
 */
struct failing_freopen {
	freopen_fn fn;
	const char *path;
	const char *mode;
};

static void child_freopen(void *arg)
{
	const struct failing_freopen *ff = arg;
	FILE *f = fopen(P("foo.hard"), "r");

	errno = 0;
	FILE *g = f ? ff->fn(ff->path, ff->mode, f) : NULL;
	printf("%s", res_p(g, errno));
	fflush(stdout);
	_exit(0);
}

static void case_stdio(void)
{
	const char *w = workdir("stdio");
	FILE *f;

	f = FN(fopen)(P("docs/readme.txt"), "r");
	{
		__auto_type a0_ = res_p(f, errno);
		__auto_type a1_ = f ? read_stream(f) : "";
		say("fopen", "readme r: %s %s", a0_, a1_);
	}
	if (f)
		fclose(f);
	say("fopen", "missing r: %s", RP(FN(fopen)(P("missing"), "r")));
	say("fopen", "docs w: %s", RP(FN(fopen)(P("docs"), "w")));
	say("fopen", "foo/x r: %s", RP(FN(fopen)(P("foo/x"), "r")));
	say("fopen", "foo wx: %s", RP(FN(fopen)(P("foo.hard"), "wx")));
	f = FN(fopen)(P(W(w, "w")), "w");
	say("fopen", "new w: %s", res_p(f, errno));
	if (f) {
		fputs("written\n", f);
		fclose(f);
	}
	{
		__auto_type a0_ = lstat_str(P(W(w, "w")));
		__auto_type a1_ = contents(P(W(w, "w")));
		say("fopen", "new is: %s %s", a0_, a1_);
	}
	f = FN(fopen)(P("docs/numbers.txt"), "a");
	say("fopen", "lower a: %s", res_p(f, errno));
	if (f) {
		fputs("2001\n", f);
		fclose(f);
	}
	say("fopen", "numbers is: %s", lstat_str(P("docs/numbers.txt")));
	f = FN(fopen)(P("readme.link"), "r+");
	say("fopen", "readme.link r+: %s", res_p(f, errno));
	if (f) {
		fputs("LINE", f);
		fclose(f);
	}
	say("fopen", "readme is: %s", contents(P("docs/readme.txt")));
	f = FN(fopen)(P("foo.hard"), "re");
	{
		__auto_type a0_ = res_p(f, errno);
		__auto_type a1_ = f ? (fcntl(fileno(f), F_GETFD) & FD_CLOEXEC) : -1;
		say("fopen", "foo.hard re: %s cloexec=%d", a0_, a1_);
	}
	if (f)
		fclose(f);
	say("fopen", "bad mode: %s", RP(FN(fopen)(P("foo.hard"), "q")));

	f = FN(fopen64)(P("foo.link"), "r");
	{
		__auto_type a0_ = res_p(f, errno);
		__auto_type a1_ = f ? read_stream(f) : "";
		say("fopen64", "foo.link r: %s %s", a0_, a1_);
	}
	if (f)
		fclose(f);
	say("fopen64", "dangling r: %s", RP(FN(fopen64)(P("dangling"), "r")));
	f = FN(fopen64)(P(W(w, "w64")), "w+");
	say("fopen64", "new w+: %s", res_p(f, errno));
	if (f) {
		fputs("w64\n", f);
		rewind(f);
		say("fopen64", "read back: %s", read_stream(f));
		fclose(f);
	}

	/* freopen: onto another file, onto a missing one, with a NULL path. */
	f = fopen(P("foo.hard"), "r");
	FILE *g = f ? FN(freopen)(P("src/lib/lib.c"), "r", f) : NULL;
	{
		__auto_type a0_ = res_p(g, errno);
		__auto_type a1_ = g ? read_stream(g) : "";
		say("freopen", "to lib.c: %s %s", a0_, a1_);
	}
	if (g)
		fclose(g);
	struct failing_freopen ff = { FN(freopen), P("missing"), "r" };
	int status;
	say("freopen", "to missing (in a child): %s", in_child(child_freopen, &ff, &status));
	f = fopen(P(W(w, "w")), "r");
	g = f ? FN(freopen)(NULL, "r", f) : NULL;
	{
		__auto_type a0_ = res_p(g, errno);
		__auto_type a1_ = g ? read_stream(g) : "";
		say("freopen", "NULL path: %s %s", a0_, a1_);
	}
	if (g)
		fclose(g);
	f = fopen("/dev/null", "r");
	g = f ? FN(freopen)(P("foo.link"), "r", f) : NULL;
	{
		__auto_type a0_ = res_p(g, errno);
		__auto_type a1_ = g ? read_stream(g) : "";
		say("freopen", "host to view: %s %s", a0_, a1_);
	}
	if (g) {
		FILE *h = FN(freopen)("/dev/null", "r", g);
		{
			__auto_type a0_ = res_p(h, errno);
			__auto_type a1_ = h ? read_stream(h) : "";
			say("freopen", "view to host: %s %s", a0_, a1_);
		}
		if (h)
			fclose(h);
	}
	f = fopen(P("foo.hard"), "r");
	g = f ? FN(freopen64)(P(W(w, "fr64")), "w", f) : NULL;
	say("freopen64", "to new w: %s", res_p(g, errno));
	if (g) {
		fputs("fr64\n", g);
		fclose(g);
	}
	{
		__auto_type a0_ = lstat_str(P(W(w, "fr64")));
		__auto_type a1_ = contents(P(W(w, "fr64")));
		say("freopen64", "new is: %s %s", a0_, a1_);
	}
	ff = (struct failing_freopen){ (freopen_fn)FN(freopen64), P("docs"), "w" };
	say("freopen64", "to dir (in a child): %s", in_child(child_freopen, &ff, &status));

	int fd = open(P("foo.hard"), O_RDONLY);
	f = fd >= 0 ? FN(fdopen)(fd, "r") : NULL;
	{
		__auto_type a0_ = res_p(f, errno);
		__auto_type a1_ = f ? read_stream(f) : "";
		say("fdopen", "foo.hard r: %s %s", a0_, a1_);
	}
	if (f)
		fclose(f);
	else if (fd >= 0)
		close(fd);
	fd = open(P("docs"), O_RDONLY | O_DIRECTORY);
	f = fd >= 0 ? FN(fdopen)(fd, "r") : NULL;
	char one[1];
	{
		__auto_type a0_ = res_p(f, errno);
		__auto_type a1_ = f ? RN(read(fileno(f), one, 1)) : "";
		say("fdopen", "dir r: %s read=%s", a0_, a1_);
	}
	if (f)
		fclose(f);
	else if (fd >= 0)
		close(fd);
	say("fdopen", "bad fd: %s", RP(FN(fdopen)(-1, "r")));
}

/* ---- stat ---- */

static const char *const stat_paths[] = {
	"foo", "foo.link", "dangling", "docs", "docs/", "foo/", "foo.link/", "docs.link",
	"docs.link/", "bin/hello.sh", "readonly.txt", "missing", "foo/x", "loop.a",
	"docs/../foo", "docs/empty/..", "src/lib/lib.c", "deep/a/b/c",
};

/* Every path of stat_paths through a stat(path, st) or __xstat(ver, path, st). */
static void run_path_stats(const char *row, void *fn, bool ver)
{
	for (size_t i = 0; i < sizeof(stat_paths) / sizeof(stat_paths[0]); i++) {
		struct stat st;
		errno = 0;
		int r = ver ? ((int (*)(int, const char *, struct stat *))fn)(EX_STAT_VER,
									    P(stat_paths[i]), &st) :
			      ((int (*)(const char *, struct stat *))fn)(P(stat_paths[i]), &st);
		say_stat(row, stat_paths[i], r, errno, &st);
	}
}

/* The fstatat forms: dirfd-relative, AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH. */
static void run_at_stats(const char *row, void *fn, bool ver)
{
	int dfd = open_dir("docs");
	int ffd = open(P("foo.hard"), O_RDONLY | O_CLOEXEC);
	const struct { int fd; const char *fdname, *path; int flags; } c[] = {
		{ dfd, "docs", "readme.txt", 0 },
		{ dfd, "docs", "../foo.link", 0 },
		{ dfd, "docs", "../foo.link", AT_SYMLINK_NOFOLLOW },
		{ dfd, "docs", "../dangling", AT_SYMLINK_NOFOLLOW },
		{ dfd, "docs", "../dangling", 0 },
		{ dfd, "docs", "", AT_EMPTY_PATH },
		{ ffd, "foo.hard", "", AT_EMPTY_PATH },
		{ dfd, "docs", "", 0 },
		{ ffd, "foo.hard", "x", 0 },
		{ dfd, "docs", "missing", 0 },
		{ dfd, "docs", "empty/", 0 },
		{ dfd, "docs", "readme.txt/", 0 },
		{ dfd, "docs", "readme.txt", 0x40000 },
		{ -5, "bad", "x", 0 },
		{ dfd, "docs", P("foo"), 0 },
		{ AT_FDCWD, "cwd", P("docs.link"), AT_SYMLINK_NOFOLLOW },
		{ AT_FDCWD, "cwd", P("loop.a"), 0 },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct stat st;
		char what[PATH_MAX + 64];
		snprintf(what, sizeof(what), "%s '%s' flags=%#x", c[i].fdname, c[i].path,
			 (unsigned)c[i].flags);
		errno = 0;
		int r = ver ? ((int (*)(int, int, const char *, struct stat *, int))fn)(
				EX_STAT_VER, c[i].fd, c[i].path, &st, c[i].flags) :
			      ((int (*)(int, const char *, struct stat *, int))fn)(
				c[i].fd, c[i].path, &st, c[i].flags);
		say_stat(row, what, r, errno, &st);
	}
	close(dfd);
	if (ffd >= 0)
		close(ffd);
}

/* The fstat forms on view fds of each kind, a host pipe and a bad fd. */
static void run_fd_stats(const char *row, void *fn, bool ver, const char *w)
{
	int fds[6], p[2] = { -1, -1 };
	const char *names[6] = { "foo", "docs", "foo.hard O_PATH", "unlinked", "pipe", "bad" };
	char un[64];

	snprintf(un, sizeof(un), "%s/unlinked-%s", w, row);
	fds[0] = open(P("foo"), O_RDONLY | O_CLOEXEC);
	fds[1] = open(P("docs"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fds[2] = open(P("foo.hard"), O_PATH | O_CLOEXEC);
	fds[3] = open(P(un), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fds[3] >= 0 && (write(fds[3], "12345", 5) != 5 || unlink(P(un)) < 0))
		say("setup", "unlinked: %s", strerror(errno));
	if (pipe2(p, O_CLOEXEC) < 0)
		say("setup", "pipe: %s", strerror(errno));
	fds[4] = p[0];
	fds[5] = -1;
	for (int i = 0; i < 6; i++) {
		struct stat st, pst;
		errno = 0;
		int r = ver ? ((int (*)(int, int, struct stat *))fn)(EX_STAT_VER, fds[i], &st) :
			      ((int (*)(int, struct stat *))fn)(fds[i], &st);
		int e = errno;
		say_stat(row, names[i], r, e, &st);
		if (i < 2 && r == 0 && stat(P(names[i]), &pst) == 0)
			say(row, "%s same inode as by path: %d", names[i],
			    st.st_ino == pst.st_ino && st.st_dev == pst.st_dev);
	}
	for (int i = 0; i < 5; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (p[1] >= 0)
		close(p[1]);
}

static void case_stat(void)
{
	const char *w = workdir("stat");
	struct stat st;

	errno = 0;
	int r = FN(stat)(P(""), &st);
	say_stat("stat", "ROOT", r, errno, &st);
	run_path_stats("stat", (void *)FN(stat), false);
	run_path_stats("stat64", (void *)FN(stat64), false);
	run_path_stats("lstat", (void *)FN(lstat), false);
	run_path_stats("lstat64", (void *)FN(lstat64), false);
	run_path_stats("__xstat", (void *)FN(__xstat), true);
	run_path_stats("__xstat64", (void *)FN(__xstat64), true);
	run_path_stats("__lxstat", (void *)FN(__lxstat), true);
	run_path_stats("__lxstat64", (void *)FN(__lxstat64), true);
	run_at_stats("fstatat", (void *)FN(fstatat), false);
	run_at_stats("fstatat64", (void *)FN(fstatat64), false);
	run_at_stats("__fxstatat", (void *)FN(__fxstatat), true);
	run_at_stats("__fxstatat64", (void *)FN(__fxstatat64), true);
	run_fd_stats("fstat", (void *)FN(fstat), false, w);
	run_fd_stats("fstat64", (void *)FN(fstat64), false, w);
	run_fd_stats("__fxstat", (void *)FN(__fxstat), true, w);
	run_fd_stats("__fxstat64", (void *)FN(__fxstat64), true, w);
}

static void case_statx(void)
{
	int dfd = open_dir("docs");
	const struct { int fd; const char *path; int flags; } c[] = {
		{ AT_FDCWD, "foo", 0 }, { AT_FDCWD, "foo.link", 0 },
		{ AT_FDCWD, "foo.link", AT_SYMLINK_NOFOLLOW }, { AT_FDCWD, "docs", 0 },
		{ AT_FDCWD, "missing", 0 }, { AT_FDCWD, "foo/x", 0 },
		{ AT_FDCWD, "dangling", 0 }, { AT_FDCWD, "bin/hello.sh", AT_STATX_SYNC_AS_STAT },
		{ AT_FDCWD, "foo", 0x1 },
		{ AT_FDCWD, "foo", AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC },
		{ dfd, "", AT_EMPTY_PATH }, { dfd, "readme.txt", 0 }, { dfd, "..", 0 },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct statx stx;
		char path[PATH_MAX];
		if (c[i].fd == AT_FDCWD)
			snprintf(path, sizeof(path), "%s", P(c[i].path));
		else
			snprintf(path, sizeof(path), "%s", c[i].path);
		memset(&stx, 0, sizeof(stx));
		errno = 0;
		int r = FN(statx)(c[i].fd, path, c[i].flags, STATX_BASIC_STATS, &stx);
		int e = errno;
		if (r < 0) {
			say("statx", "%s%s flags=%#x: %s", c[i].fd == AT_FDCWD ? "" : "docs ",
			    c[i].path, (unsigned)c[i].flags, res_n(r, e));
			continue;
		}
		struct stat st = {
			.st_mode = stx.stx_mode, .st_size = (off_t)stx.stx_size,
			.st_nlink = stx.stx_nlink, .st_uid = stx.stx_uid, .st_gid = stx.stx_gid,
		};
		say("statx", "%s%s flags=%#x: %d basic=%d %s", c[i].fd == AT_FDCWD ? "" : "docs ",
		    c[i].path, (unsigned)c[i].flags, r,
		    (stx.stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS, st_str(&st));
	}
	close(dfd);
}

/* ---- statfs ---- */

static void say_statfs(const char *row, const char *what, int r, int e, const struct statfs *sf)
{
	/* f_type, f_fsid and the counts differ by design (the view is its own
	 * file system over the upper's); what holds: sizes and name length. */
	if (r < 0)
		say(row, "%s: %s", what, res_n(r, e));
	else
		say(row, "%s: %d bsize>0=%d namelen=%ld rdonly=%d", what, r, sf->f_bsize > 0,
		    (long)sf->f_namelen, (int)!!(sf->f_flags & ST_RDONLY));
}

static void say_statvfs(const char *row, const char *what, int r, int e,
			const struct statvfs *sv)
{
	if (r < 0)
		say(row, "%s: %s", what, res_n(r, e));
	else
		say(row, "%s: %d bsize>0=%d namemax=%lu rdonly=%d", what, r, sv->f_bsize > 0,
		    sv->f_namemax, (int)!!(sv->f_flag & ST_RDONLY));
}

static const char *const statfs_paths[] = { "", "foo", "docs/readme.txt", "foo.link",
					    "missing", "foo/x", "dangling", "loop.a" };

static void case_statfs(void)
{
	const size_t np = sizeof(statfs_paths) / sizeof(statfs_paths[0]);
	struct statfs sf;
	struct statvfs sv;
	int r, e;

	for (size_t i = 0; i < np; i++) {
		const char *name = *statfs_paths[i] ? statfs_paths[i] : "ROOT";
		errno = 0;
		r = FN(statfs)(P(statfs_paths[i]), &sf);
		e = errno;
		say_statfs("statfs", name, r, e, &sf);
		errno = 0;
		r = FN(statfs64)(P(statfs_paths[i]), (struct statfs64 *)&sf);
		e = errno;
		say_statfs("statfs64", name, r, e, &sf);
		errno = 0;
		r = FN(statvfs)(P(statfs_paths[i]), &sv);
		e = errno;
		say_statvfs("statvfs", name, r, e, &sv);
		errno = 0;
		r = FN(statvfs64)(P(statfs_paths[i]), (struct statvfs64 *)&sv);
		e = errno;
		say_statvfs("statvfs64", name, r, e, &sv);
	}
	int fds[3] = { open(P("foo"), O_RDONLY | O_CLOEXEC), open_dir("docs"), -1 };
	const char *names[3] = { "foo", "docs", "bad" };
	for (int i = 0; i < 3; i++) {
		errno = 0;
		r = FN(fstatfs)(fds[i], &sf);
		e = errno;
		say_statfs("fstatfs", names[i], r, e, &sf);
		errno = 0;
		r = FN(fstatfs64)(fds[i], (struct statfs64 *)&sf);
		e = errno;
		say_statfs("fstatfs64", names[i], r, e, &sf);
		errno = 0;
		r = FN(fstatvfs)(fds[i], &sv);
		e = errno;
		say_statvfs("fstatvfs", names[i], r, e, &sv);
		errno = 0;
		r = FN(fstatvfs64)(fds[i], (struct statvfs64 *)&sv);
		e = errno;
		say_statvfs("fstatvfs64", names[i], r, e, &sv);
	}
	static const struct { int name; const char *str; } pc[] = {
		{ _PC_NAME_MAX, "NAME_MAX" }, { _PC_PATH_MAX, "PATH_MAX" },
		{ _PC_PIPE_BUF, "PIPE_BUF" }, { _PC_NO_TRUNC, "NO_TRUNC" }, { -1, "bad" },
	};
	for (size_t i = 0; i < sizeof(pc) / sizeof(pc[0]); i++) {
		say("pathconf", "foo %s: %s", pc[i].str, RN(FN(pathconf)(P("foo"), pc[i].name)));
		say("pathconf", "docs %s: %s", pc[i].str, RN(FN(pathconf)(P("docs"), pc[i].name)));
		say("fpathconf", "foo %s: %s", pc[i].str, RN(FN(fpathconf)(fds[0], pc[i].name)));
		say("fpathconf", "docs %s: %s", pc[i].str, RN(FN(fpathconf)(fds[1], pc[i].name)));
	}
	say("pathconf", "missing: %s", RN(FN(pathconf)(P("missing"), _PC_NAME_MAX)));
	say("pathconf", "foo/x: %s", RN(FN(pathconf)(P("foo/x"), _PC_NAME_MAX)));
	say("fpathconf", "bad fd: %s", RN(FN(fpathconf)(-1, _PC_NAME_MAX)));
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* ---- access ---- */

static const char *mode_name(int m)
{
	char *b = ring();

	if (m == F_OK)
		return "F_OK";
	if (m & ~(R_OK | W_OK | X_OK)) {
		snprintf(b, 16, "%#o", (unsigned)m);
		return b;
	}
	snprintf(b, 16, "%s%s%s", m & R_OK ? "R" : "", m & W_OK ? "W" : "", m & X_OK ? "X" : "");
	return b;
}

static void case_access(void)
{
	static const char *const paths[] = {
		"foo", "readonly.txt", "bin/hello.sh", "docs", "foo.link", "dangling",
		"missing", "foo/x", "loop.a", "docs/", "foo/",
	};
	static const int modes[] = { F_OK, R_OK, W_OK, X_OK, R_OK | W_OK | X_OK };

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		for (size_t j = 0; j < sizeof(modes) / sizeof(modes[0]); j++) {
			const char *m = mode_name(modes[j]);
			say("access", "%s %s: %s", paths[i], m,
			    RN(FN(access)(P(paths[i]), modes[j])));
			say("euidaccess", "%s %s: %s", paths[i], m,
			    RN(FN(euidaccess)(P(paths[i]), modes[j])));
			say("eaccess", "%s %s: %s", paths[i], m,
			    RN(FN(eaccess)(P(paths[i]), modes[j])));
		}
	}
	say("access", "foo bad mode: %s", RN(FN(access)(P("foo"), 0100)));
	say("eaccess", "missing bad mode: %s", RN(FN(eaccess)(P("missing"), 0100)));
	say("eaccess", "foo bad mode: %s", RN(FN(eaccess)(P("foo"), 0100)));
	say("euidaccess", "docs bad mode: %s", RN(FN(euidaccess)(P("docs"), 0200 | R_OK)));

	int dfd = open_dir("bin");
	const struct { int fd; const char *path; int mode, flags; } c[] = {
		{ dfd, "hello.sh", X_OK, 0 }, { dfd, "hello.sh", X_OK, AT_EACCESS },
		{ dfd, "../foo", X_OK, 0 }, { dfd, "../foo", R_OK | W_OK, AT_EACCESS },
		{ dfd, "../dangling", F_OK, AT_SYMLINK_NOFOLLOW }, { dfd, "../dangling", F_OK, 0 },
		{ dfd, "nope", F_OK, 0 }, { dfd, "", F_OK, AT_EMPTY_PATH }, { dfd, "", F_OK, 0 },
		{ dfd, "hello.sh", F_OK, 0x10000 }, { dfd, "hello.sh", 0100, 0 },
		{ -5, "x", F_OK, 0 }, { AT_FDCWD, P("docs/readme.txt"), W_OK, 0 },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		{
			__auto_type a0_ = mode_name(c[i].mode);
			__auto_type a1_ = RN(FN(faccessat)(c[i].fd, c[i].path, c[i].mode,
							   c[i].flags));
			say("faccessat", "%s '%s' %s flags=%#x: %s",
			    c[i].fd == dfd ? "bin" : c[i].fd == AT_FDCWD ? "cwd" : "bad", c[i].path,
			    a0_, (unsigned)c[i].flags, a1_);
		}
	close(dfd);
}

/* ---- dir ---- */

/* The sorted listing of a stream read with the given row. */
static const char *list_stream(DIR *d, const char *row)
{
	struct list l = { 0 };

	errno = 0;
	if (strcmp(row, "readdir64") == 0) {
		struct dirent64 *e;
		while ((e = FN(readdir64)(d)))
			list_add(&l, "%s:%c", e->d_name, dtype_char(e->d_type));
	} else if (strcmp(row, "readdir_r") == 0) {
		struct dirent ent, *res;
		int r;
		while ((r = FN(readdir_r)(d, &ent, &res)) == 0 && res)
			list_add(&l, "%s:%c", res->d_name, dtype_char(res->d_type));
		if (r)
			list_add(&l, "error %s", ename(r));
	} else if (strcmp(row, "readdir64_r") == 0) {
		struct dirent64 ent, *res;
		int r;
		while ((r = FN(readdir64_r)(d, &ent, &res)) == 0 && res)
			list_add(&l, "%s:%c", res->d_name, dtype_char(res->d_type));
		if (r)
			list_add(&l, "error %s", ename(r));
	} else {
		struct dirent *e;
		while ((e = FN(readdir)(d)))
			list_add(&l, "%s:%c", e->d_name, dtype_char(e->d_type));
	}
	if (errno)
		list_add(&l, "~error %s", ename(errno));
	return list_join(&l, ",");
}

/* The sorted listing of the directory at path, or the opendir error. */
static const char *listing(const char *path)
{
	DIR *d = opendir(path);

	if (!d)
		return res_n(-1, errno);
	const char *s = list_stream(d, "readdir");
	closedir(d);
	return s;
}

static void case_dir(void)
{
	const char *w = workdir("dir");
	static const char *const dirs[] = { "docs", "src", "", "docs/empty", "docs.link",
					    "deep/a/b", "foo", "missing", "foo/x", "dangling",
					    "loop.a" };
	static const char *const readers[] = { "readdir", "readdir64", "readdir_r",
					       "readdir64_r" };
	DIR *d;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		const char *name = *dirs[i] ? dirs[i] : "ROOT";
		for (size_t k = 0; k < 4; k++) {
			if (!*dirs[i] && k)
				break;
			d = FN(opendir)(P(dirs[i]));
			int e = errno;
			if (!d) {
				say("opendir", "%s: %s", name, res_p(d, e));
				break;
			}
			say(readers[k], "%s: %s", name, list_stream(d, readers[k]));
			say("closedir", "%s: %s", name, RN(FN(closedir)(d)));
		}
	}

	/* Positions: telldir/seekdir return to an entry; rewinddir rereads. */
	d = opendir(P("src"));
	if (d) {
		struct list first = { 0 }, again = { 0 };
		struct dirent *e = readdir(d);
		long pos = FN(telldir)(d);
		say("telldir", "src after one: %s", pos >= 0 ? "pos" : res_n(pos, errno));
		while ((e = readdir(d)))
			list_add(&first, "%s", e->d_name);
		FN(seekdir)(d, pos);
		while ((e = readdir(d)))
			list_add(&again, "%s", e->d_name);
		const char *a = list_join(&first, ",");
		const char *b = list_join(&again, ",");
		say("seekdir", "src back to pos: same rest=%d (%s)", strcmp(a, b) == 0, b);
		put_file(P("src/added.c"), "added\n", 0644);
		FN(rewinddir)(d);
		say("rewinddir", "src after adding a file: %s", list_stream(d, "readdir"));
		FN(rewinddir)(d);
		int n = 0;
		while (readdir(d))
			n++;
		say("rewinddir", "src count: %d", n);
		say("dirfd", "src: %s", RFD(FN(dirfd)(d)));
		struct stat st;
		say("dirfd", "src fstat: %s", fstat(FN(dirfd)(d), &st) == 0 ? st_str(&st) : "fail");
		closedir(d);
	}

	/* fdopendir on a directory fd, a file fd, a bad fd. */
	int fd = open(P("docs"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = fd >= 0 ? FN(fdopendir)(fd) : NULL;
	{
		__auto_type a0_ = res_p(d, errno);
		__auto_type a1_ = d ? list_stream(d, "readdir") : "";
		say("fdopendir", "docs: %s %s", a0_, a1_);
	}
	if (d) {
		say("fdopendir", "dirfd is the fd: %d", dirfd(d) == fd);
		closedir(d);
	}
	fd = open(P("foo"), O_RDONLY | O_CLOEXEC);
	say("fdopendir", "file: %s", RP(FN(fdopendir)(fd)));
	if (fd >= 0)
		close(fd);
	say("fdopendir", "bad fd: %s", RP(FN(fdopendir)(-1)));
	fd = open(P("deep"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fd2 = fd >= 0 ? dup(fd) : -1;
	d = fd2 >= 0 ? FN(fdopendir)(fd2) : NULL;
	{
		__auto_type a0_ = res_p(d, errno);
		__auto_type a1_ = d ? list_stream(d, "readdir") : "";
		say("fdopendir", "dup of deep: %s %s", a0_, a1_);
	}
	if (d)
		closedir(d);
	if (fd >= 0)
		close(fd);

	/* scandir family: sorted, with a filter, and the errors. */
	struct dirent **nl;
	struct dirent64 **nl64;
	int n;
#define SCAN_SAY(row, what, call, vec) do { \
		errno = 0; \
		n = (call); \
		int e_ = errno; \
		struct list l_ = { 0 }; \
		for (int i_ = 0; i_ < n; i_++) { \
			list_add(&l_, "%s", vec[i_]->d_name); \
			free(vec[i_]); \
		} \
		if (n >= 0) \
			free(vec); \
		say(row, "%s: %s %s", what, res_n(n, e_), list_join(&l_, ",")); \
	} while (0)
	SCAN_SAY("scandir", "docs alphasort", FN(scandir)(P("docs"), &nl, NULL, alphasort), nl);
	SCAN_SAY("scandir", "src no sort", FN(scandir)(P("src"), &nl, NULL, NULL), nl);
	SCAN_SAY("scandir", "missing", FN(scandir)(P("missing"), &nl, NULL, alphasort), nl);
	SCAN_SAY("scandir", "file", FN(scandir)(P("foo"), &nl, NULL, alphasort), nl);
	SCAN_SAY("scandir64", "deep/a/b/c", FN(scandir64)(P("deep/a/b/c"), &nl64, NULL,
							   alphasort64), nl64);
	SCAN_SAY("scandir64", "foo/x", FN(scandir64)(P("foo/x"), &nl64, NULL, alphasort64), nl64);
	int dfd = open_dir("docs");
	SCAN_SAY("scandirat", "docs .", FN(scandirat)(dfd, ".", &nl, NULL, alphasort), nl);
	SCAN_SAY("scandirat", "docs empty", FN(scandirat)(dfd, "empty", &nl, NULL, alphasort), nl);
	SCAN_SAY("scandirat", "docs ..", FN(scandirat)(dfd, "..", &nl, NULL, alphasort), nl);
	SCAN_SAY("scandirat", "docs readme.txt", FN(scandirat)(dfd, "readme.txt", &nl, NULL,
								alphasort), nl);
	SCAN_SAY("scandirat64", "docs ../src", FN(scandirat64)(dfd, "../src", &nl64, NULL,
								  alphasort64), nl64);
	SCAN_SAY("scandirat64", "docs nope", FN(scandirat64)(dfd, "nope", &nl64, NULL,
							    alphasort64), nl64);
#undef SCAN_SAY

	/* getdents64 and getdirentries: records; lseek back to 0 rereads. */
	char buf[8192];
	long r;
	struct list l = { 0 };
	errno = 0;
	r = FN(getdents64)(dfd, buf, sizeof(buf));
	say("getdents64", "docs: %s", res_n(r > 0 ? 1 : r, errno));
	dents_names(&l, buf, r);
	r = FN(getdents64)(dfd, buf, sizeof(buf));
	say("getdents64", "docs then: %s %s", res_n(r, errno), list_join(&l, ","));
	say("lseek", "docs dir to 0: %s", RN(FN(lseek)(dfd, 0, SEEK_SET)));
	r = FN(getdents64)(dfd, buf, sizeof(buf));
	dents_names(&l, buf, r);
	say("lseek", "docs reread: %s", list_join(&l, ","));
	say("lseek64", "docs dir to 0: %s", RN(FN(lseek64)(dfd, 0, SEEK_SET)));
	r = FN(getdents64)(dfd, buf, 16);
	say("getdents64", "docs tiny buffer: %s", res_n(r, errno));
	fd = open(P("foo"), O_RDONLY | O_CLOEXEC);
	say("getdents64", "file: %s", RN(FN(getdents64)(fd, buf, sizeof(buf))));
	say("getdents64", "bad fd: %s", RN(FN(getdents64)(-1, buf, sizeof(buf))));
	off_t base = -7;
	errno = 0;
	lseek(dfd, 0, SEEK_SET);
	r = FN(getdirentries)(dfd, buf, sizeof(buf), &base);
	int e = errno;
	dents_names(&l, buf, r);
	say("getdirentries", "docs: %s base=%lld %s", res_n(r > 0 ? 1 : r, e), (long long)base,
	    list_join(&l, ","));
	say("getdirentries", "file: %s", RN(FN(getdirentries)(fd, buf, sizeof(buf), &base)));
	off64_t base64 = -7;
	int sfd = open_dir("src/lib");
	errno = 0;
	r = FN(getdirentries64)(sfd, buf, sizeof(buf), &base64);
	e = errno;
	dents_names(&l, buf, r);
	say("getdirentries64", "src/lib: %s base=%lld %s", res_n(r > 0 ? 1 : r, e),
	    (long long)base64, list_join(&l, ","));
	say("getdirentries64", "bad fd: %s",
	    RN(FN(getdirentries64)(-1, buf, sizeof(buf), &base64)));
	close(sfd);
	close(dfd);

	/* lseek on files: SEEK_SET/CUR/END, holes, errors. */
	{
		__auto_type a0_ = RN(FN(lseek)(fd, 3, SEEK_SET));
		__auto_type a1_ = read_rest(fd);
		say("lseek", "foo set 3: %s %s", a0_, a1_);
	}
	say("lseek", "foo end: %s", RN(FN(lseek)(fd, 0, SEEK_END)));
	{
		__auto_type a0_ = RN(FN(lseek)(fd, -2, SEEK_CUR));
		__auto_type a1_ = read_rest(fd);
		say("lseek", "foo cur -2: %s %s", a0_, a1_);
	}
	say("lseek", "foo negative: %s", RN(FN(lseek)(fd, -100, SEEK_SET)));
	say("lseek", "foo bad whence: %s", RN(FN(lseek)(fd, 0, 99)));
	say("lseek", "bad fd: %s", RN(FN(lseek)(-1, 0, SEEK_SET)));
	{
		__auto_type a0_ = RN(FN(lseek64)(fd, 5, SEEK_SET));
		__auto_type a1_ = read_rest(fd);
		say("lseek64", "foo set 5: %s %s", a0_, a1_);
	}
	say("lseek64", "foo data 0: %s", RN(FN(lseek64)(fd, 0, SEEK_DATA)));
	say("lseek64", "foo data past end: %s", RN(FN(lseek64)(fd, 100, SEEK_DATA)));
	close(fd);
	fd = open(P(W(w, "holes")), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	say("lseek64", "past end: %s", RN(FN(lseek64)(fd, 1 << 20, SEEK_SET)));
	if (write(fd, "end", 3) != 3)
		say("lseek64", "write: %s", ename(errno));
	say("lseek64", "holes file: %s", lstat_str(P(W(w, "holes"))));
	{
		__auto_type a0_ = RN(FN(lseek64)(fd, 4096, SEEK_SET));
		__auto_type a1_ = ({ char z[4]; esc(z, (size_t)(read(fd, z, 4) == 4 ? 4 : 0)); });
		say("lseek64", "hole reads zeros: %s %s", a0_, a1_);
	}
	close(fd);
}

/* ---- walk ---- */

static struct list walk_lines;

static const char *ftw_flag(int f)
{
	switch (f) {
	case FTW_F: return "F";
	case FTW_D: return "D";
	case FTW_DNR: return "DNR";
	case FTW_NS: return "NS";
	case FTW_SL: return "SL";
	case FTW_DP: return "DP";
	case FTW_SLN: return "SLN";
	default: return "?";
	}
}

/* path relative to the root, for walker lines. */
static const char *rel(const char *path)
{
	char *b = ring();

	normalise(path, b, PATH_MAX);
	return b;
}

static int on_ftw(const char *path, const struct stat *st, int flag)
{
	list_add(&walk_lines, "%s %s %s", rel(path), ftw_flag(flag),
		 flag == FTW_NS ? "-" : ftype(st->st_mode));
	return 0;
}

static int on_ftw64(const char *path, const struct stat64 *st, int flag)
{
	return on_ftw(path, (const struct stat *)st, flag);
}

static int on_nftw(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	list_add(&walk_lines, "%s %s %s level=%d base=%s", rel(path), ftw_flag(flag),
		 flag == FTW_NS ? "-" : ftype(st->st_mode), f->level, path + f->base);
	return 0;
}

static int on_nftw64(const char *path, const struct stat64 *st, int flag, struct FTW *f)
{
	return on_nftw(path, (const struct stat *)st, flag, f);
}

/* Stops the walk at the first regular file. */
static int on_nftw_stop(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)path;
	(void)f;
	return flag == FTW_F && S_ISREG(st->st_mode) ? 42 : 0;
}

static const char *fts_info(int i)
{
	static const char *const names[] = {
		[FTS_D] = "D", [FTS_DC] = "DC", [FTS_DEFAULT] = "DEFAULT", [FTS_DNR] = "DNR",
		[FTS_DOT] = "DOT", [FTS_DP] = "DP", [FTS_ERR] = "ERR", [FTS_F] = "F",
		[FTS_INIT] = "INIT", [FTS_NS] = "NS", [FTS_NSOK] = "NSOK", [FTS_SL] = "SL",
		[FTS_SLNONE] = "SLNONE", [FTS_W] = "W",
	};
	return i >= 0 && i < (int)(sizeof(names) / sizeof(names[0])) && names[i] ? names[i] : "?";
}

static int fts_by_name(const FTSENT **a, const FTSENT **b)
{
	return strcmp((*a)->fts_name, (*b)->fts_name);
}

static int fts64_by_name(const FTSENT64 **a, const FTSENT64 **b)
{
	return strcmp((*a)->fts_name, (*b)->fts_name);
}

/* One fts walk in order: info, level, path, errno of errors; the first
 * directory's children; directories named skip are not entered. */
static void fts_walk(const char *row, const char *what, char *const *paths, int opts,
		     const char *skip)
{
	struct list l = { 0 };
	int n = 0;

	errno = 0;
	FTS *fts = FN(fts_open)(paths, opts, fts_by_name);
	if (!fts) {
		say("fts_open", "%s: %s", what, res_p(fts, errno));
		return;
	}
	say("fts_open", "%s: ptr", what);
	FTSENT *e;
	bool first = true;
	while ((e = FN(fts_read)(fts))) {
		say(row, "%s #%d: %s level=%d %s%s%s", what, n++, fts_info(e->fts_info),
		    (int)e->fts_level, rel(e->fts_path), e->fts_errno ? " errno=" : "",
		    e->fts_errno ? ename(e->fts_errno) : "");
		if (first && e->fts_info == FTS_D) {
			first = false;
			FTSENT *c = FN(fts_children)(fts, 0);
			for (; c; c = c->fts_link)
				list_add(&l, "%s:%s", c->fts_name, fts_info(c->fts_info));
			say("fts_children", "%s: %s", what, list_join(&l, ","));
		}
		if (skip && e->fts_info == FTS_D && strcmp(e->fts_name, skip) == 0)
			say("fts_set", "%s skip %s: %s", what, skip,
			    RN(FN(fts_set)(fts, e, FTS_SKIP)));
	}
	say(row, "%s end: errno=%s", what, errno ? ename(errno) : "0");
	say("fts_close", "%s: %s", what, RN(FN(fts_close)(fts)));
}

static void fts64_walk(const char *what, char *const *paths, int opts, const char *skip)
{
	struct list l = { 0 };
	int n = 0;

	errno = 0;
	FTS64 *fts = FN(fts64_open)(paths, opts, fts64_by_name);
	if (!fts) {
		say("fts64_open", "%s: %s", what, res_p(fts, errno));
		return;
	}
	say("fts64_open", "%s: ptr", what);
	FTSENT64 *e;
	bool first = true;
	while ((e = FN(fts64_read)(fts))) {
		say("fts64_read", "%s #%d: %s level=%d %s%s%s", what, n++, fts_info(e->fts_info),
		    (int)e->fts_level, rel(e->fts_path), e->fts_errno ? " errno=" : "",
		    e->fts_errno ? ename(e->fts_errno) : "");
		if (first && e->fts_info == FTS_D) {
			first = false;
			FTSENT64 *c = FN(fts64_children)(fts, FTS_NAMEONLY);
			for (; c; c = c->fts_link)
				list_add(&l, "%s", c->fts_name);
			say("fts64_children", "%s nameonly: %s", what, list_join(&l, ","));
		}
		if (skip && e->fts_info == FTS_D && strcmp(e->fts_name, skip) == 0)
			say("fts64_set", "%s skip %s: %s", what, skip,
			    RN(FN(fts64_set)(fts, e, FTS_SKIP)));
	}
	say("fts64_read", "%s end: errno=%s", what, errno ? ename(errno) : "0");
	say("fts64_close", "%s: %s", what, RN(FN(fts64_close)(fts)));
}

static int glob_err_calls;

static int on_glob_err(const char *path, int e)
{
	(void)path;
	(void)e;
	glob_err_calls++;
	return 0;
}

static const char *glob_ret(int r)
{
	switch (r) {
	case 0: return "0";
	case GLOB_NOMATCH: return "GLOB_NOMATCH";
	case GLOB_ABORTED: return "GLOB_ABORTED";
	case GLOB_NOSPACE: return "GLOB_NOSPACE";
	default: return "?";
	}
}

static void case_walk(void)
{
	int r;

	/* ftw and nftw report in readdir order: lines are sorted. */
	errno = 0;
	r = FN(ftw)(P("src"), on_ftw, 4);
	say("ftw", "src: %s %s", res_n(r, errno), list_join(&walk_lines, " | "));
	errno = 0;
	r = FN(ftw)(P("docs.link"), on_ftw, 4);
	say("ftw", "docs.link: %s %s", res_n(r, errno), list_join(&walk_lines, " | "));
	errno = 0;
	r = FN(ftw)(P("missing"), on_ftw, 4);
	say("ftw", "missing: %s %s", res_n(r, errno), list_join(&walk_lines, " | "));
	errno = 0;
	r = FN(ftw)(P("foo"), on_ftw, 4);
	say("ftw", "file: %s %s", res_n(r, errno), list_join(&walk_lines, " | "));
	errno = 0;
	r = FN(ftw64)(P("deep"), on_ftw64, 2);
	say("ftw64", "deep: %s %s", res_n(r, errno), list_join(&walk_lines, " | "));
	errno = 0;
	r = FN(ftw64)(P("foo/x"), on_ftw64, 2);
	say("ftw64", "foo/x: %s %s", res_n(r, errno), list_join(&walk_lines, " | "));

	static const struct { int flags; const char *name; } nf[] = {
		{ 0, "0" }, { FTW_PHYS, "PHYS" }, { FTW_PHYS | FTW_DEPTH, "PHYS|DEPTH" },
		{ FTW_CHDIR, "CHDIR" },
	};
	for (size_t i = 0; i < sizeof(nf) / sizeof(nf[0]); i++) {
		errno = 0;
		r = FN(nftw)(P("deep"), on_nftw, 4, nf[i].flags);
		say("nftw", "deep %s: %s %s", nf[i].name, res_n(r, errno),
		    list_join(&walk_lines, " | "));
		errno = 0;
		r = FN(nftw64)(P("docs"), on_nftw64, 4, nf[i].flags);
		say("nftw64", "docs %s: %s %s", nf[i].name, res_n(r, errno),
		    list_join(&walk_lines, " | "));
	}
	say("nftw", "cwd after CHDIR walk: %s", cwd_str());
	errno = 0;
	r = FN(nftw)(P("docs.link"), on_nftw, 4, FTW_PHYS);
	say("nftw", "docs.link PHYS: %s %s", res_n(r, errno), list_join(&walk_lines, " | "));
	errno = 0;
	r = FN(nftw)(P("src"), on_nftw_stop, 4, FTW_PHYS);
	say("nftw", "src stop: %s", res_n(r, errno));
	errno = 0;
	r = FN(nftw64)(P("missing"), on_nftw64, 4, 0);
	say("nftw64", "missing: %s %s", res_n(r, errno), list_join(&walk_lines, " | "));

	/* Own copies: P's ring buffers are reused while the walks run. */
	char p_src[PATH_MAX], p_docs[PATH_MAX], p_foo_link[PATH_MAX], p_missing[PATH_MAX];
	char p_deep[PATH_MAX], p_docs_link[PATH_MAX], p_dangling[PATH_MAX];
	snprintf(p_src, PATH_MAX, "%s", P("src"));
	snprintf(p_docs, PATH_MAX, "%s", P("docs"));
	snprintf(p_foo_link, PATH_MAX, "%s", P("foo.link"));
	snprintf(p_missing, PATH_MAX, "%s", P("missing"));
	snprintf(p_deep, PATH_MAX, "%s", P("deep"));
	snprintf(p_docs_link, PATH_MAX, "%s", P("docs.link"));
	snprintf(p_dangling, PATH_MAX, "%s", P("dangling"));
	char *src[] = { p_src, NULL };
	char *two[] = { p_docs, p_foo_link, NULL };
	char *missing[] = { p_missing, NULL };
	char *deep[] = { p_deep, NULL };
	char *links[] = { p_docs_link, p_dangling, NULL };
	fts_walk("fts_read", "src physical", src, FTS_PHYSICAL | FTS_NOCHDIR, "lib");
	fts_walk("fts_read", "docs+foo.link logical", two, FTS_LOGICAL, NULL);
	fts_walk("fts_read", "missing", missing, FTS_PHYSICAL, NULL);
	fts_walk("fts_read", "links comfollow", links, FTS_PHYSICAL | FTS_COMFOLLOW, NULL);
	fts64_walk("deep physical", deep, FTS_PHYSICAL, "b");
	fts64_walk("docs+foo.link physical seedot", two, FTS_PHYSICAL | FTS_SEEDOT, NULL);

	static const struct { const char *pat; int flags; const char *name; } gl[] = {
		{ "docs/*.txt", 0, "0" }, { "*/*.c", 0, "0" }, { "src/*", GLOB_MARK, "MARK" },
		{ "docs/*.none", 0, "0" }, { "docs/*.none", GLOB_NOCHECK, "NOCHECK" },
		{ "docs.link/r*", 0, "0" }, { "*/", GLOB_ONLYDIR, "ONLYDIR" },
		{ "d*/[rn]*", GLOB_NOSORT, "NOSORT" }, { "missing/*", GLOB_ERR, "ERR" },
		{ "foo/*", GLOB_ERR, "ERR" }, { "deep/*/*/c/*", 0, "0" }, { "fo?", 0, "0" },
	};
	for (size_t i = 0; i < sizeof(gl) / sizeof(gl[0]); i++) {
		glob_t g;
		glob64_t g64;
		struct list l = { 0 };
		glob_err_calls = 0;
		r = FN(glob)(P(gl[i].pat), gl[i].flags, on_glob_err, &g);
		for (size_t k = 0; r == 0 && k < g.gl_pathc; k++)
			list_add(&l, "%s", rel(g.gl_pathv[k]));
		say("glob", "%s %s: %s n=%zu %s", gl[i].pat, gl[i].name, glob_ret(r),
		    r == 0 ? g.gl_pathc : 0, list_join(&l, ","));
		FN(globfree)(&g);
		say("globfree", "%s: done", gl[i].pat);
		r = FN(glob64)(P(gl[i].pat), gl[i].flags, NULL, &g64);
		for (size_t k = 0; r == 0 && k < g64.gl_pathc; k++)
			list_add(&l, "%s", rel(g64.gl_pathv[k]));
		say("glob64", "%s %s: %s n=%zu %s", gl[i].pat, gl[i].name, glob_ret(r),
		    r == 0 ? g64.gl_pathc : 0, list_join(&l, ","));
		FN(globfree64)(&g64);
		say("globfree64", "%s: done", gl[i].pat);
	}
	/* GLOB_APPEND onto an earlier result. */
	glob_t g;
	struct list l = { 0 };
	r = glob(P("docs/*.txt"), 0, NULL, &g);
	if (r == 0)
		r = FN(glob)(P("src/*.c"), GLOB_APPEND, NULL, &g);
	for (size_t k = 0; r == 0 && k < g.gl_pathc; k++)
		list_add(&l, "%s", rel(g.gl_pathv[k]));
	say("glob", "append: %s %s", glob_ret(r), list_join(&l, ","));
	FN(globfree)(&g);
}

/* ---- name ---- */

static void case_link(void)
{
	const char *w = workdir("link");
	struct stat a, b;

	put_file(P(W(w, "f")), "f\n", 0644);
	say("link", "f to l1: %s", RN(FN(link)(P(W(w, "f")), P(W(w, "l1")))));
	say("link", "f is: %s", lstat_str(P(W(w, "f"))));
	say("link", "l1 same inode: %d",
	    lstat(P(W(w, "f")), &a) == 0 && lstat(P(W(w, "l1")), &b) == 0 && a.st_ino == b.st_ino);
	say("link", "missing: %s", RN(FN(link)(P("missing"), P(W(w, "x")))));
	say("link", "onto existing: %s", RN(FN(link)(P(W(w, "f")), P("foo"))));
	say("link", "dir: %s", RN(FN(link)(P("docs"), P(W(w, "d")))));
	say("link", "into missing dir: %s", RN(FN(link)(P(W(w, "f")), P("missing/x"))));
	say("link", "into file: %s", RN(FN(link)(P(W(w, "f")), P("foo/x"))));
	say("link", "lower file: %s", RN(FN(link)(P("docs/readme.txt"), P(W(w, "rl")))));
	{
		__auto_type a0_ = lstat_str(P(W(w, "rl")));
		__auto_type a1_ = contents(P(W(w, "rl")));
		say("link", "rl is: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(link)(P("foo.link"), P(W(w, "sl"))));
		__auto_type a1_ = lstat_str(P(W(w, "sl")));
		say("link", "symlink itself: %s %s", a0_, a1_);
	}

	int dfd = open_dir(w);
	say("linkat", "f to l2: %s", RN(FN(linkat)(dfd, "f", dfd, "l2", 0)));
	say("linkat", "f is: %s", lstat_str(P(W(w, "f"))));
	{
		__auto_type a0_ = RN(FN(linkat)(AT_FDCWD, P("readme.link"), dfd, "l3",
						AT_SYMLINK_FOLLOW));
		__auto_type a1_ = lstat_str(P(W(w, "l3")));
		say("linkat", "follow readme.link: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(linkat)(AT_FDCWD, P("foo.link"), dfd, "l4", 0));
		__auto_type a1_ = lstat_str(P(W(w, "l4")));
		say("linkat", "nofollow foo.link: %s %s", a0_, a1_);
	}
	say("linkat", "follow dangling: %s",
	    RN(FN(linkat)(AT_FDCWD, P("dangling"), dfd, "l5", AT_SYMLINK_FOLLOW)));
	say("linkat", "bad flags: %s", RN(FN(linkat)(dfd, "f", dfd, "l6", 0x1)));
	say("linkat", "bad dirfd: %s", RN(FN(linkat)(-5, "f", dfd, "l6", 0)));
	say("linkat", "existing: %s", RN(FN(linkat)(dfd, "f", dfd, "l1", 0)));

	{
		__auto_type a0_ = RN(FN(symlink)("target", P(W(w, "s1"))));
		__auto_type a1_ = lstat_str(P(W(w, "s1")));
		say("symlink", "s1: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(symlink)("f", P(W(w, "s2"))));
		__auto_type a1_ = contents(P(W(w, "s2")));
		say("symlink", "s2 to f: %s %s", a0_, a1_);
	}
	say("symlink", "onto existing: %s", RN(FN(symlink)("x", P("foo"))));
	say("symlink", "onto dangling: %s", RN(FN(symlink)("x", P("dangling"))));
	say("symlink", "missing dir: %s", RN(FN(symlink)("x", P("missing/s"))));
	say("symlink", "empty target: %s", RN(FN(symlink)("", P(W(w, "s3")))));
	say("symlink", "under file: %s", RN(FN(symlink)("x", P("foo/s"))));
	{
		__auto_type a0_ = RN(FN(symlink)(P("docs/readme.txt"), P(W(w, "s6"))));
		__auto_type a1_ = contents(P(W(w, "s6")));
		say("symlink", "absolute target: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(symlinkat)("../../docs", dfd, "s4"));
		__auto_type a1_ = lstat_str(P(W(w, "s4/readme.txt")));
		say("symlinkat", "s4: %s %s", a0_, a1_);
	}
	say("symlinkat", "bad dirfd: %s", RN(FN(symlinkat)("x", -5, "s5")));
	say("symlinkat", "existing: %s", RN(FN(symlinkat)("x", dfd, "s4")));
	close(dfd);
}

static void say_readlink(const char *row, const char *what, long n, int e, const char *buf)
{
	if (n < 0)
		say(row, "%s: %s", what, res_n(n, e));
	else
		say(row, "%s: %ld '%s'", what, n, esc(buf, (size_t)n));
}

static void case_readlink(void)
{
	static const char *const paths[] = {
		"foo.link", "readme.link", "dangling", "loop.a", "foo", "docs", "missing",
		"foo/x", "docs.link/", "foo.link/", "docs.link",
	};
	char buf[256];
	long n;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		errno = 0;
		n = FN(readlink)(P(paths[i]), buf, sizeof(buf));
		say_readlink("readlink", paths[i], n, errno, buf);
		errno = 0;
		n = FN(__readlink_chk)(P(paths[i]), buf, sizeof(buf), sizeof(buf));
		say_readlink("__readlink_chk", paths[i], n, errno, buf);
	}
	errno = 0;
	n = FN(readlink)(P("readme.link"), buf, 4);
	say_readlink("readlink", "readme.link size 4", n, errno, buf);
	errno = 0;
	n = FN(__readlink_chk)(P("readme.link"), buf, 2, sizeof(buf));
	say_readlink("__readlink_chk", "readme.link size 2", n, errno, buf);
	say("readlink", "size 0: %s", RN(FN(readlink)(P("foo.link"), buf, 0)));

	int dfd = open_dir("");
	int ffd = open(P("foo.hard"), O_RDONLY | O_CLOEXEC);
	const struct { int fd; const char *fdname, *path; } c[] = {
		{ dfd, "ROOT", "foo.link" }, { dfd, "ROOT", "docs/../readme.link" },
		{ dfd, "ROOT", "dangling" }, { dfd, "ROOT", "foo" }, { dfd, "ROOT", "nope" },
		{ ffd, "foo.hard", "" }, { ffd, "foo.hard", "x" },
		{ -5, "bad", "x" }, { dfd, "ROOT", P("readme.link") },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char what[PATH_MAX + 64];
		snprintf(what, sizeof(what), "%s '%s'", c[i].fdname, c[i].path);
		errno = 0;
		n = FN(readlinkat)(c[i].fd, c[i].path, buf, sizeof(buf));
		say_readlink("readlinkat", what, n, errno, buf);
		errno = 0;
		n = FN(__readlinkat_chk)(c[i].fd, c[i].path, buf, sizeof(buf), sizeof(buf));
		say_readlink("__readlinkat_chk", what, n, errno, buf);
	}
	close(dfd);
	if (ffd >= 0)
		close(ffd);
}

static void case_unlink(void)
{
	const char *w = workdir("unlink");

	put_file(P(W(w, "u1")), "u1\n", 0644);
	{
		__auto_type a0_ = RN(FN(unlink)(P(W(w, "u1"))));
		__auto_type a1_ = lstat_str(P(W(w, "u1")));
		say("unlink", "file: %s %s", a0_, a1_);
	}
	say("unlink", "again: %s", RN(FN(unlink)(P(W(w, "u1")))));
	say("unlink", "dir: %s", RN(FN(unlink)(P("docs"))));
	say("unlink", "dir/: %s", RN(FN(unlink)(P("docs/"))));
	say("unlink", "file/: %s", RN(FN(unlink)(P("foo.hard/"))));
	say("unlink", "root: %s", RN(FN(unlink)(P(""))));
	say("unlink", "missing: %s", RN(FN(unlink)(P("missing"))));
	say("unlink", "foo/x: %s", RN(FN(unlink)(P("foo/x"))));
	{
		__auto_type a0_ = RN(FN(unlink)(P("readme.link")));
		__auto_type a1_ = lstat_str(P("readme.link"));
		__auto_type a2_ = lstat_str(P("docs/readme.txt"));
		say("unlink", "symlink: %s link=%s target=%s", a0_, a1_, a2_);
	}
	{
		__auto_type a0_ = RN(FN(unlink)(P("deep/a/b/c/leaf.txt")));
		__auto_type a1_ = lstat_str(P("deep/a/b/c/leaf.txt"));
		say("unlink", "lower file: %s %s", a0_, a1_);
	}
	DIR *d = opendir(P("deep/a/b/c"));
	say("unlink", "lower dir now: %s", d ? list_stream(d, "readdir") : "?");
	if (d)
		closedir(d);
	say("unlink", "recreate: %s", RFD(creat(P("deep/a/b/c/leaf.txt"), 0644)));
	say("unlink", "recreated is: %s", lstat_str(P("deep/a/b/c/leaf.txt")));
	/* An open fd outlives its name. */
	int fd = open(P("src/main.c"), O_RDONLY | O_CLOEXEC);
	say("unlink", "open lower file: %s", RN(FN(unlink)(P("src/main.c"))));
	say("unlink", "fd still reads: %s", fd >= 0 ? read_rest(fd) : "no fd");
	if (fd >= 0)
		close(fd);
	say("unlink", "reopen: %s", RFD(open(P("src/main.c"), O_RDONLY)));

	int dfd = open_dir(w);
	put_file(P(W(w, "u2")), "u2\n", 0644);
	put_file(P(W(w, "u3")), "u3\n", 0644);
	mkdir(P(W(w, "sub")), 0755);
	mkdir(P(W(w, "sub2")), 0755);
	mkdir(P(W(w, "full")), 0755);
	put_file(P(W(w, "full/x")), "x\n", 0644);
	{
		__auto_type a0_ = RN(FN(unlinkat)(dfd, "u2", 0));
		__auto_type a1_ = lstat_str(P(W(w, "u2")));
		say("unlinkat", "file: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(unlinkat)(dfd, "sub", AT_REMOVEDIR));
		__auto_type a1_ = lstat_str(P(W(w, "sub")));
		say("unlinkat", "dir REMOVEDIR: %s %s", a0_, a1_);
	}
	say("unlinkat", "full REMOVEDIR: %s", RN(FN(unlinkat)(dfd, "full", AT_REMOVEDIR)));
	say("unlinkat", "file REMOVEDIR: %s", RN(FN(unlinkat)(dfd, "u3", AT_REMOVEDIR)));
	say("unlinkat", "dir 0: %s", RN(FN(unlinkat)(dfd, "sub2", 0)));
	say("unlinkat", "bad flags: %s", RN(FN(unlinkat)(dfd, "u3", 0x1)));
	say("unlinkat", "bad dirfd: %s", RN(FN(unlinkat)(-5, "u3", 0)));
	say("unlinkat", "dot REMOVEDIR: %s", RN(FN(unlinkat)(dfd, "sub2/.", AT_REMOVEDIR)));
	say("unlinkat", "lower empty dir: %s",
	    RN(FN(unlinkat)(AT_FDCWD, P("docs/empty"), AT_REMOVEDIR)));
	say("unlinkat", "mkdir over it: %s", RN(mkdir(P("docs/empty"), 0700)));
	d = opendir(P("docs/empty"));
	{
		__auto_type a0_ = lstat_str(P("docs/empty"));
		__auto_type a1_ = d ? list_stream(d, "readdir") : "?";
		say("unlinkat", "new dir lists: %s %s", a0_, a1_);
	}
	if (d)
		closedir(d);
	close(dfd);

	put_file(P(W(w, "r1")), "r1\n", 0644);
	mkdir(P(W(w, "rd")), 0755);
	{
		__auto_type a0_ = RN(FN(remove)(P(W(w, "r1"))));
		__auto_type a1_ = lstat_str(P(W(w, "r1")));
		say("remove", "file: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN_ANY(FN(remove)(P(W(w, "rd"))));
		__auto_type a1_ = lstat_str(P(W(w, "rd")));
		say("remove", "dir: %s %s", a0_, a1_);
	}
	say("remove", "full dir: %s", RN(FN(remove)(P(W(w, "full")))));
	say("remove", "missing: %s", RN(FN(remove)(P("missing"))));
	say("remove", "foo/x: %s", RN(FN(remove)(P("foo/x"))));
	{
		__auto_type a0_ = RN(FN(remove)(P("foo.link")));
		__auto_type a1_ = lstat_str(P("foo.link"));
		say("remove", "lower symlink: %s %s", a0_, a1_);
	}
	say("remove", "lower dir with files: %s", RN(FN(remove)(P("src/lib"))));
}

static void case_rename(void)
{
	const char *w = workdir("rename");

	put_file(P(W(w, "r1")), "r1\n", 0644);
	put_file(P(W(w, "r4")), "r4\n", 0644);
	{
		__auto_type a0_ = RN(FN(rename)(P(W(w, "r1")), P(W(w, "r2"))));
		__auto_type a1_ = lstat_str(P(W(w, "r1")));
		__auto_type a2_ = contents(P(W(w, "r2")));
		say("rename", "file: %s old=%s new=%s", a0_, a1_, a2_);
	}
	{
		__auto_type a0_ = RN(FN(rename)(P(W(w, "r2")), P(W(w, "r4"))));
		__auto_type a1_ = contents(P(W(w, "r4")));
		say("rename", "over file: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(rename)(P(W(w, "r4")), P(W(w, "r4"))));
		__auto_type a1_ = contents(P(W(w, "r4")));
		say("rename", "to itself: %s %s", a0_, a1_);
	}
	mkdir(P(W(w, "d1")), 0755);
	put_file(P(W(w, "d1/in")), "in\n", 0644);
	mkdir(P(W(w, "d3")), 0755);
	mkdir(P(W(w, "d4")), 0755);
	put_file(P(W(w, "d4/x")), "x\n", 0644);
	{
		__auto_type a0_ = RN(FN(rename)(P(W(w, "d1")), P(W(w, "d2"))));
		__auto_type a1_ = contents(P(W(w, "d2/in")));
		say("rename", "dir: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(rename)(P(W(w, "d2")), P(W(w, "d3"))));
		__auto_type a1_ = contents(P(W(w, "d3/in")));
		say("rename", "dir over empty dir: %s %s", a0_, a1_);
	}
	say("rename", "dir over full dir: %s", RN(FN(rename)(P(W(w, "d3")), P(W(w, "d4")))));
	say("rename", "file over dir: %s", RN(FN(rename)(P(W(w, "r4")), P(W(w, "d4")))));
	say("rename", "dir over file: %s", RN(FN(rename)(P(W(w, "d4")), P(W(w, "r4")))));
	say("rename", "dir into itself: %s", RN(FN(rename)(P(W(w, "d4")), P(W(w, "d4/sub")))));
	say("rename", "missing: %s", RN(FN(rename)(P("missing"), P(W(w, "x")))));
	say("rename", "into missing dir: %s", RN(FN(rename)(P(W(w, "r4")), P("missing/x"))));
	say("rename", "dot: %s", RN(FN(rename)(P("docs/."), P(W(w, "x")))));
	{
		__auto_type a0_ = RN(FN(rename)(P("docs/numbers.txt"), P("docs/n.txt")));
		__auto_type a1_ = lstat_str(P("docs/numbers.txt"));
		__auto_type a2_ = lstat_str(P("docs/n.txt"));
		say("rename", "lower file: %s old=%s new=%s", a0_, a1_, a2_);
	}
	{
		__auto_type a0_ = RN(FN(rename)(P("deep/a"), P("deep/a2")));
		__auto_type a1_ = lstat_str(P("deep/a"));
		__auto_type a2_ = lstat_str(P("deep/a2/b/c/leaf.txt"));
		say("rename", "lower dir: %s old=%s new=%s", a0_, a1_, a2_);
	}
	{
		__auto_type a0_ = RN(FN(rename)(P("dangling"), P(W(w, "dl"))));
		__auto_type a1_ = lstat_str(P(W(w, "dl")));
		say("rename", "symlink: %s %s", a0_, a1_);
	}

	int dfd = open_dir(w);
	put_file(P(W(w, "a")), "a\n", 0644);
	put_file(P(W(w, "b")), "b\n", 0644);
	{
		__auto_type a0_ = RN(FN(renameat)(dfd, "a", dfd, "c"));
		__auto_type a1_ = contents(P(W(w, "c")));
		say("renameat", "a to c: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(renameat)(dfd, "c", AT_FDCWD, P("moved")));
		__auto_type a1_ = contents(P("moved"));
		say("renameat", "to ROOT: %s %s", a0_, a1_);
	}
	say("renameat", "bad dirfd: %s", RN(FN(renameat)(-5, "c", dfd, "x")));
	say("renameat2", "noreplace onto existing: %s",
	    RN(FN(renameat2)(AT_FDCWD, P("moved"), dfd, "b", RENAME_NOREPLACE)));
	{
		__auto_type a0_ = RN(FN(renameat2)(AT_FDCWD, P("moved"), dfd, "m",
						   RENAME_NOREPLACE));
		__auto_type a1_ = contents(P(W(w, "m")));
		say("renameat2", "noreplace onto new: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(renameat2)(dfd, "m", dfd, "b", RENAME_EXCHANGE));
		__auto_type a1_ = contents(P(W(w, "m")));
		__auto_type a2_ = contents(P(W(w, "b")));
		say("renameat2", "exchange: %s m=%s b=%s", a0_, a1_, a2_);
	}
	say("renameat2", "exchange with missing: %s",
	    RN(FN(renameat2)(dfd, "m", dfd, "nope", RENAME_EXCHANGE)));
	say("renameat2", "bad flags: %s", RN(FN(renameat2)(dfd, "m", dfd, "q", 1u << 6)));
	say("renameat2", "plain: %s", RN(FN(renameat2)(dfd, "m", dfd, "q", 0)));
	close(dfd);
}

static void case_mkdir(void)
{
	const char *w = workdir("mkdir");

	{
		__auto_type a0_ = RN(FN(mkdir)(P(W(w, "m1")), 0750));
		__auto_type a1_ = lstat_str(P(W(w, "m1")));
		say("mkdir", "0750: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(mkdir)(P(W(w, "m2")), 0777));
		__auto_type a1_ = lstat_str(P(W(w, "m2")));
		say("mkdir", "0777: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(mkdir)(P(W(w, "m5")), 01777));
		__auto_type a1_ = lstat_str(P(W(w, "m5")));
		say("mkdir", "01777: %s %s", a0_, a1_);
	}
	say("mkdir", "existing dir: %s", RN(FN(mkdir)(P("docs"), 0755)));
	say("mkdir", "existing file: %s", RN(FN(mkdir)(P("foo.hard"), 0755)));
	say("mkdir", "symlink: %s", RN(FN(mkdir)(P("loop.b"), 0755)));
	say("mkdir", "missing parent: %s", RN(FN(mkdir)(P("missing/x"), 0755)));
	say("mkdir", "under file: %s", RN(FN(mkdir)(P("foo/x"), 0755)));
	say("mkdir", "dot: %s", RN(FN(mkdir)(P("docs/."), 0755)));
	say("mkdir", "root: %s", RN(FN(mkdir)(P(""), 0755)));
	{
		__auto_type a0_ = RN(FN(mkdir)(P(W(w, "m3/")), 0755));
		__auto_type a1_ = lstat_str(P(W(w, "m3")));
		say("mkdir", "trailing slash: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(mkdir)(P("src/lib/new"), 0700));
		__auto_type a1_ = lstat_str(P("src/lib/new"));
		say("mkdir", "in lower dir: %s %s", a0_, a1_);
	}
	say("mkdir", "lower parent now: %s", lstat_str(P("src/lib")));
	int dfd = open_dir(w);
	{
		__auto_type a0_ = RN(FN(mkdirat)(dfd, "m4", 0711));
		__auto_type a1_ = lstat_str(P(W(w, "m4")));
		say("mkdirat", "m4: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(mkdirat)(dfd, "../m6", 0755));
		__auto_type a1_ = lstat_str(P("w/m6"));
		say("mkdirat", "../m6: %s %s", a0_, a1_);
	}
	say("mkdirat", "existing: %s", RN(FN(mkdirat)(dfd, "m4", 0755)));
	say("mkdirat", "bad dirfd: %s", RN(FN(mkdirat)(-5, "x", 0755)));
	int ffd = open(P("foo.hard"), O_RDONLY | O_CLOEXEC);
	say("mkdirat", "file dirfd: %s", RN(FN(mkdirat)(ffd, "x", 0755)));
	if (ffd >= 0)
		close(ffd);

	{
		__auto_type a0_ = RN(FN(rmdir)(P(W(w, "m1"))));
		__auto_type a1_ = lstat_str(P(W(w, "m1")));
		say("rmdir", "empty: %s %s", a0_, a1_);
	}
	say("rmdir", "trailing slash: %s", RN(FN(rmdir)(P(W(w, "m2/")))));
	say("rmdir", "non-empty lower: %s", RN(FN(rmdir)(P("docs"))));
	say("rmdir", "file: %s", RN(FN(rmdir)(P("foo.hard"))));
	say("rmdir", "symlink to dir: %s", RN(FN(rmdir)(P("docs.link"))));
	say("rmdir", "missing: %s", RN(FN(rmdir)(P("missing"))));
	say("rmdir", "dot: %s", RN(FN(rmdir)(P(W(w, "m3/.")))));
	say("rmdir", "dotdot: %s", RN(FN(rmdir)(P(W(w, "m3/..")))));
	{
		__auto_type a0_ = RN(unlink(P("deep/a2/b/c/leaf.txt")));
		__auto_type a1_ = RN(FN(rmdir)(P("deep/a2/b/c")));
		__auto_type a2_ = RN(FN(rmdir)(P("deep/a2/b")));
		say("rmdir", "lower leaf dirs: %s %s %s", a0_, a1_, a2_);
	}
	say("rmdir", "deep/a2 now: %s",
	    listing(P("deep/a2")));
	{
		__auto_type a0_ = RN(mkdir(P("deep/a2/b"), 0755));
		__auto_type a1_ = listing(P("deep/a2/b"));
		say("rmdir", "mkdir again: %s %s", a0_, a1_);
	}
	close(dfd);
}

static void case_mknod(void)
{
	const char *w = workdir("mknod");
	dev_t dev = 0;

	{
		__auto_type a0_ = RN(FN(mknod)(P(W(w, "n1")), S_IFREG | 0640, 0));
		__auto_type a1_ = lstat_str(P(W(w, "n1")));
		say("mknod", "reg 0640: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(mknod)(P(W(w, "n2")), S_IFIFO | 0666, 0));
		__auto_type a1_ = lstat_str(P(W(w, "n2")));
		say("mknod", "fifo: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(mknod)(P(W(w, "n3")), 0600, 0));
		__auto_type a1_ = lstat_str(P(W(w, "n3")));
		say("mknod", "no type: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(mknod)(P(W(w, "n5")), S_IFSOCK | 0600, 0));
		__auto_type a1_ = lstat_str(P(W(w, "n5")));
		say("mknod", "socket: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(mknod)(P(W(w, "n6")), S_IFCHR | 0600, makedev(1, 3)));
		__auto_type a1_ = lstat_str(P(W(w, "n6")));
		say("mknod", "chr: %s %s", a0_, a1_);
	}
	say("mknod", "dir: %s", RN(FN(mknod)(P(W(w, "n4")), S_IFDIR | 0755, 0)));
	say("mknod", "bad type: %s", RN(FN(mknod)(P(W(w, "n7")), 0170000 | 0600, 0)));
	say("mknod", "existing: %s", RN(FN(mknod)(P("foo"), S_IFREG | 0644, 0)));
	say("mknod", "missing dir: %s", RN(FN(mknod)(P("missing/x"), S_IFREG | 0644, 0)));
	int dfd = open_dir(w);
	{
		__auto_type a0_ = RN(FN(mknodat)(dfd, "n8", S_IFIFO | 0600, 0));
		__auto_type a1_ = lstat_str(P(W(w, "n8")));
		say("mknodat", "fifo: %s %s", a0_, a1_);
	}
	say("mknodat", "existing: %s", RN(FN(mknodat)(dfd, "n8", S_IFIFO | 0600, 0)));
	say("mknodat", "bad dirfd: %s", RN(FN(mknodat)(-5, "x", S_IFIFO | 0600, 0)));
	{
		__auto_type a0_ = RN(FN(__xmknod)(EX_MKNOD_VER, P(W(w, "n9")), S_IFIFO | 0644,
						  &dev));
		__auto_type a1_ = lstat_str(P(W(w, "n9")));
		say("__xmknod", "fifo: %s %s", a0_, a1_);
	}
	say("__xmknod", "existing: %s",
	    RN(FN(__xmknod)(EX_MKNOD_VER, P(W(w, "n9")), S_IFIFO | 0644, &dev)));
	{
		__auto_type a0_ = RN(FN(__xmknodat)(EX_MKNOD_VER, dfd, "n10", S_IFREG | 0604,
						    &dev));
		__auto_type a1_ = lstat_str(P(W(w, "n10")));
		say("__xmknodat", "reg: %s %s", a0_, a1_);
	}
	say("__xmknodat", "under file: %s",
	    RN(FN(__xmknodat)(EX_MKNOD_VER, dfd, "n10/x", S_IFREG | 0604, &dev)));
	{
		__auto_type a0_ = RN(FN(mkfifo)(P(W(w, "f1")), 0666));
		__auto_type a1_ = lstat_str(P(W(w, "f1")));
		say("mkfifo", "new: %s %s", a0_, a1_);
	}
	say("mkfifo", "existing: %s", RN(FN(mkfifo)(P("foo"), 0666)));
	say("mkfifo", "missing dir: %s", RN(FN(mkfifo)(P("missing/f"), 0666)));
	{
		__auto_type a0_ = RN(FN(mkfifoat)(dfd, "f2", 0600));
		__auto_type a1_ = lstat_str(P(W(w, "f2")));
		say("mkfifoat", "new: %s %s", a0_, a1_);
	}
	say("mkfifoat", "bad dirfd: %s", RN(FN(mkfifoat)(-5, "f2", 0600)));
	/* A fifo in the view carries data between a writer and a reader. */
	int rfd = open(P(W(w, "f1")), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	int wfd = open(P(W(w, "f1")), O_WRONLY | O_CLOEXEC);
	if (wfd >= 0 && write(wfd, "pipe\n", 5) != 5)
		say("mkfifo", "write: %s", ename(errno));
	if (wfd >= 0)
		close(wfd);
	say("mkfifo", "data through it: %s", rfd >= 0 ? read_rest(rfd) : res_n(-1, errno));
	if (rfd >= 0)
		close(rfd);
	close(dfd);
}

/* ---- cwd ---- */

static chroot_fn chroot_ptr;

/* chroot into a view directory cannot be done (EPERM by design); a host
 * directory allows it as root: either counts as "0-or-EPERM". */
static void child_chroot(void *arg)
{
	errno = 0;
	int r = chroot_ptr((const char *)arg);
	printf("%s", r == 0 || errno == EPERM ? "0-or-EPERM" : res_n(r, errno));
	fflush(stdout);
	_exit(0);
}

static void case_cwd(void)
{
	char buf[PATH_MAX];
	struct stat st;
	char *p;

	{
		__auto_type a0_ = RN(FN(chdir)(P("")));
		__auto_type a1_ = cwd_str();
		say("chdir", "ROOT: %s cwd=%s", a0_, a1_);
	}
	/* Relative paths now resolve in the tree. */
	say("chdir", "rel stat foo: %s", stat("foo", &st) == 0 ? st_str(&st) : res_n(-1, errno));
	say("chdir", "rel open docs/readme.txt: %s", contents("docs/readme.txt"));
	say("chdir", "rel access bin/hello.sh X: %s", RN(access("bin/hello.sh", X_OK)));
	say("chdir", "rel lstat dangling: %s", lstat_str("dangling"));
	say("chdir", "rel stat empty path: %s", RN(stat("", &st)));
	say("chdir", "rel opendir src: %s",
	    listing("src"));
	{
		__auto_type a0_ = RN(FN(chdir)("docs"));
		__auto_type a1_ = cwd_str();
		say("chdir", "docs: %s cwd=%s", a0_, a1_);
	}
	say("chdir", "rel ../foo from docs: %s", contents("../foo"));
	{
		__auto_type a0_ = RN(FN(chdir)(".."));
		__auto_type a1_ = cwd_str();
		say("chdir", "..: %s cwd=%s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(chdir)("docs.link"));
		__auto_type a1_ = cwd_str();
		say("chdir", "docs.link: %s cwd=%s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(chdir)("../bin/hello.sh"));
		__auto_type a1_ = cwd_str();
		say("chdir", "../bin/hello.sh: %s cwd=%s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(chdir)("missing"));
		__auto_type a1_ = cwd_str();
		say("chdir", "missing: %s cwd=%s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(chdir)(P("loop.a")));
		__auto_type a1_ = cwd_str();
		say("chdir", "loop.a: %s cwd=%s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(chdir)(P("deep/a/b/c")));
		__auto_type a1_ = cwd_str();
		say("chdir", "deep/a/b/c: %s cwd=%s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(chdir)("../../.."));
		__auto_type a1_ = cwd_str();
		say("chdir", "../../..: %s cwd=%s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(chdir)(".."));
		__auto_type a1_ = cwd_str();
		say("chdir", "dotdot from deep: %s cwd=%s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(chdir)(".."));
		__auto_type a1_ = cwd_str();
		say("chdir", "above the root: %s cwd=%s", a0_, a1_);
	}
	back_to_start();
	{
		__auto_type a0_ = RN(FN(chdir)(P("src/")));
		__auto_type a1_ = cwd_str();
		say("chdir", "dir/: %s cwd=%s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(chdir)(P("foo/")));
		__auto_type a1_ = cwd_str();
		say("chdir", "file/: %s cwd=%s", a0_, a1_);
	}

	chdir(P("src/lib"));
	p = FN(getcwd)(buf, sizeof(buf));
	say("getcwd", "src/lib: %s %s", res_p(p, errno), p ? rel(buf) : "");
	say("getcwd", "size 1: %s", RP(FN(getcwd)(buf, 1)));
	say("getcwd", "size 0: %s", RP(FN(getcwd)(buf, 0)));
	p = FN(getcwd)(NULL, 0);
	say("getcwd", "NULL 0: %s %s", res_p(p, errno), p ? rel(p) : "");
	free(p);
	p = FN(getcwd)(NULL, 3);
	say("getcwd", "NULL 3: %s", res_p(p, errno));
	free(p);
	p = FN(__getcwd_chk)(buf, sizeof(buf), sizeof(buf));
	say("__getcwd_chk", "src/lib: %s %s", res_p(p, errno), p ? rel(buf) : "");
	say("__getcwd_chk", "size 2: %s", RP(FN(__getcwd_chk)(buf, 2, sizeof(buf))));
	p = FN(getwd)(buf);
	say("getwd", "src/lib: %s %s", res_p(p, errno), p ? rel(buf) : "");
	p = FN(__getwd_chk)(buf, sizeof(buf));
	say("__getwd_chk", "src/lib: %s %s", res_p(p, errno), p ? rel(buf) : "");
	p = FN(get_current_dir_name)();
	say("get_current_dir_name", "src/lib: %s %s", res_p(p, errno), p ? rel(p) : "");
	free(p);
	back_to_start();
	p = FN(get_current_dir_name)();
	say("get_current_dir_name", "start: %s %s", res_p(p, errno), p ? "HOST" : "");
	free(p);

	int dfd = open_dir("docs");
	int ffd = open(P("foo"), O_RDONLY | O_CLOEXEC);
	{
		__auto_type a0_ = RN(FN(fchdir)(dfd));
		__auto_type a1_ = cwd_str();
		say("fchdir", "docs: %s cwd=%s", a0_, a1_);
	}
	say("fchdir", "docs rel readme.txt: %s", contents("readme.txt"));
	{
		__auto_type a0_ = RN(FN(fchdir)(ffd));
		__auto_type a1_ = cwd_str();
		say("fchdir", "file: %s cwd=%s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(fchdir)(-1));
		__auto_type a1_ = cwd_str();
		say("fchdir", "bad fd: %s cwd=%s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(fchdir)(start_fd));
		__auto_type a1_ = cwd_str();
		say("fchdir", "back to start: %s cwd=%s", a0_, a1_);
	}
	close(dfd);
	if (ffd >= 0)
		close(ffd);

	say("chroot", "missing: %s", RN(FN(chroot)(P("missing"))));
	say("chroot", "file: %s", RN(FN(chroot)(P("foo"))));
	say("chroot", "foo/x: %s", RN(FN(chroot)(P("foo/x"))));
	say("chroot", "loop: %s", RN(FN(chroot)(P("loop.a"))));
	chroot_ptr = FN(chroot);
	int status;
	const char *out = in_child(child_chroot, (void *)P("docs"), &status);
	say("chroot", "dir (in a child): %s", out);
}

/* ---- meta ---- */

static void case_meta(void)
{
	const char *w = workdir("meta");
	int dfd = open_dir(w);

	put_file(P(W(w, "f")), "f\n", 0644);
	{
		__auto_type a0_ = RN(FN(chmod)(P("docs/readme.txt"), 0600));
		__auto_type a1_ = lstat_str(P("docs/readme.txt"));
		say("chmod", "lower file 0600: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(chmod)(P("readme.link"), 0640));
		__auto_type a1_ = lstat_str(P("readme.link"));
		__auto_type a2_ = lstat_str(P("docs/readme.txt"));
		say("chmod", "via symlink 0640: %s link=%s target=%s", a0_, a1_, a2_);
	}
	{
		__auto_type a0_ = RN(FN(chmod)(P("docs/empty"), 0700));
		__auto_type a1_ = lstat_str(P("docs/empty"));
		say("chmod", "lower dir 0700: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(chmod)(P(W(w, "f")), 04755));
		__auto_type a1_ = lstat_str(P(W(w, "f")));
		say("chmod", "setuid 04755: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(chmod)(P(W(w, "f")), S_IFDIR | 0644));
		__auto_type a1_ = lstat_str(P(W(w, "f")));
		say("chmod", "type bits ignored: %s %s", a0_, a1_);
	}
	say("chmod", "missing: %s", RN(FN(chmod)(P("missing"), 0644)));
	say("chmod", "foo/x: %s", RN(FN(chmod)(P("foo/x"), 0644)));
	say("chmod", "dangling: %s", RN(FN(chmod)(P("dangling"), 0644)));
	int fd = open(P("meta.txt"), O_RDONLY | O_CLOEXEC);
	{
		__auto_type a0_ = RN(FN(fchmod)(fd, 0640));
		__auto_type a1_ = lstat_str(P("meta.txt"));
		say("fchmod", "lower fd 0640: %s %s", a0_, a1_);
	}
	struct stat st;
	say("fchmod", "fd sees it: %s", fstat(fd, &st) == 0 ? st_str(&st) : res_n(-1, errno));
	if (fd >= 0)
		close(fd);
	fd = open_dir("src");
	{
		__auto_type a0_ = RN(FN(fchmod)(fd, 0711));
		__auto_type a1_ = lstat_str(P("src"));
		say("fchmod", "dir fd 0711: %s %s", a0_, a1_);
	}
	close(fd);
	say("fchmod", "bad fd: %s", RN(FN(fchmod)(-1, 0644)));
	{
		__auto_type a0_ = RN(FN(fchmodat)(dfd, "f", 0604, 0));
		__auto_type a1_ = lstat_str(P(W(w, "f")));
		say("fchmodat", "f 0604: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(fchmodat)(dfd, "f", 0600, AT_SYMLINK_NOFOLLOW));
		__auto_type a1_ = lstat_str(P(W(w, "f")));
		say("fchmodat", "nofollow file: %s %s", a0_, a1_);
	}
	say("fchmodat", "nofollow symlink: %s",
	    RN(FN(fchmodat)(AT_FDCWD, P("foo.link"), 0600, AT_SYMLINK_NOFOLLOW)));
	say("fchmodat", "bad flags: %s", RN(FN(fchmodat)(dfd, "f", 0600, 0x1)));
	say("fchmodat", "bad dirfd: %s", RN(FN(fchmodat)(-5, "f", 0600, 0)));
	{
		__auto_type a0_ = RN(FN(lchmod)(P(W(w, "f")), 0644));
		__auto_type a1_ = lstat_str(P(W(w, "f")));
		say("lchmod", "file: %s %s", a0_, a1_);
	}
	say("lchmod", "symlink: %s", RN(FN(lchmod)(P("foo.link"), 0600)));
	say("lchmod", "missing: %s", RN(FN(lchmod)(P("missing"), 0600)));

	put_file(P(W(w, "g")), "g\n", 0644);
	symlink("g", P(W(w, "gl")));
	{
		__auto_type a0_ = RN(FN(chown)(P(W(w, "f")), 1234, 5678));
		__auto_type a1_ = lstat_str(P(W(w, "f")));
		say("chown", "1234:5678: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(chown)(P(W(w, "f")), (uid_t)-1, 99));
		__auto_type a1_ = lstat_str(P(W(w, "f")));
		say("chown", "-1:99: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(chown)(P("docs/readme.txt"), 3, 4));
		__auto_type a1_ = lstat_str(P("docs/readme.txt"));
		say("chown", "lower file: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(chown)(P(W(w, "gl")), 11, 12));
		__auto_type a1_ = lstat_str(P(W(w, "gl")));
		__auto_type a2_ = lstat_str(P(W(w, "g")));
		say("chown", "via symlink: %s link=%s target=%s", a0_, a1_, a2_);
	}
	say("chown", "missing: %s", RN(FN(chown)(P("missing"), 1, 1)));
	{
		__auto_type a0_ = RN(FN(lchown)(P(W(w, "gl")), 21, 22));
		__auto_type a1_ = lstat_str(P(W(w, "gl")));
		__auto_type a2_ = lstat_str(P(W(w, "g")));
		say("lchown", "symlink: %s link=%s target=%s", a0_, a1_, a2_);
	}
	{
		__auto_type a0_ = RN(FN(lchown)(P("dangling"), 5, 6));
		__auto_type a1_ = lstat_str(P("dangling"));
		say("lchown", "lower symlink: %s %s", a0_, a1_);
	}
	say("lchown", "foo/x: %s", RN(FN(lchown)(P("foo/x"), 1, 1)));
	fd = open(P("meta.txt"), O_RDONLY | O_CLOEXEC);
	{
		__auto_type a0_ = RN(FN(fchown)(fd, 7, 8));
		__auto_type a1_ = lstat_str(P("meta.txt"));
		say("fchown", "fd: %s %s", a0_, a1_);
	}
	say("fchown", "bad fd: %s", RN(FN(fchown)(-1, 7, 8)));
	{
		__auto_type a0_ = RN(FN(fchownat)(dfd, "g", 31, 32, 0));
		__auto_type a1_ = lstat_str(P(W(w, "g")));
		say("fchownat", "g: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(fchownat)(dfd, "gl", 41, 42, AT_SYMLINK_NOFOLLOW));
		__auto_type a1_ = lstat_str(P(W(w, "gl")));
		say("fchownat", "gl nofollow: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(fchownat)(fd, "", 51, 52, AT_EMPTY_PATH));
		__auto_type a1_ = lstat_str(P("meta.txt"));
		say("fchownat", "empty path: %s %s", a0_, a1_);
	}
	say("fchownat", "bad flags: %s", RN(FN(fchownat)(dfd, "g", 1, 1, 0x1)));
	say("fchownat", "missing: %s", RN(FN(fchownat)(dfd, "nope", 1, 1, 0)));
	if (fd >= 0)
		close(fd);

	/* Times: only times set here are printed. */
	put_file(P(W(w, "t")), "t\n", 0644);
	symlink("t", P(W(w, "tl")));
	struct utimbuf ub = { 1000000000, 1100000000 };
	{
		__auto_type a0_ = RN(FN(utime)(P(W(w, "t")), &ub));
		__auto_type a1_ = mtime_str(P(W(w, "t")), true);
		say("utime", "set: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(utime)(P("docs/readme.txt"), &ub));
		__auto_type a1_ = mtime_str(P("docs/readme.txt"), true);
		say("utime", "lower file: %s %s", a0_, a1_);
	}
	say("utime", "now: %s", RN(FN(utime)(P(W(w, "t")), NULL)));
	say("utime", "missing: %s", RN(FN(utime)(P("missing"), &ub)));
	struct timeval tv[2] = { { 1200000000, 5 }, { 1300000000, 7 } };
	{
		__auto_type a0_ = RN(FN(utimes)(P(W(w, "tl")), tv));
		__auto_type a1_ = mtime_str(P(W(w, "t")), true);
		say("utimes", "set: %s %s", a0_, a1_);
	}
	struct timeval bad[2] = { { 1, 1000000 }, { 1, 0 } };
	say("utimes", "bad usec: %s", RN(FN(utimes)(P(W(w, "t")), bad)));
	say("utimes", "now: %s", RN(FN(utimes)(P(W(w, "t")), NULL)));
	say("utimes", "foo/x: %s", RN(FN(utimes)(P("foo/x"), tv)));
	tv[1].tv_sec = 1400000000;
	{
		__auto_type a0_ = RN(FN(lutimes)(P(W(w, "tl")), tv));
		__auto_type a1_ = mtime_str(P(W(w, "tl")), false);
		say("lutimes", "symlink: %s link=%s", a0_, a1_);
	}
	say("lutimes", "missing: %s", RN(FN(lutimes)(P("missing"), tv)));
	fd = open(P(W(w, "t")), O_RDONLY | O_CLOEXEC);
	tv[1].tv_sec = 1500000000;
	{
		__auto_type a0_ = RN(FN(futimes)(fd, tv));
		__auto_type a1_ = mtime_str(P(W(w, "t")), true);
		say("futimes", "fd: %s %s", a0_, a1_);
	}
	say("futimes", "bad fd: %s", RN(FN(futimes)(-1, tv)));
	tv[1].tv_sec = 1510000000;
	{
		__auto_type a0_ = RN(FN(futimesat)(dfd, "t", tv));
		__auto_type a1_ = mtime_str(P(W(w, "t")), true);
		say("futimesat", "dirfd t: %s %s", a0_, a1_);
	}
	tv[1].tv_sec = 1520000000;
	{
		__auto_type a0_ = RN(FN(futimesat)(fd, NULL, tv));
		__auto_type a1_ = mtime_str(P(W(w, "t")), true);
		say("futimesat", "fd NULL path: %s %s", a0_, a1_);
	}
	say("futimesat", "missing: %s", RN(FN(futimesat)(dfd, "nope", tv)));
	struct timespec ts[2] = { { 1600000000, 11 }, { 1700000000, 13 } };
	{
		__auto_type a0_ = RN(FN(utimensat)(AT_FDCWD, P(W(w, "t")), ts, 0));
		__auto_type a1_ = mtime_str(P(W(w, "t")), true);
		say("utimensat", "set: %s %s", a0_, a1_);
	}
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_sec = 1710000000;
	{
		__auto_type a0_ = RN(FN(utimensat)(dfd, "t", ts, 0));
		__auto_type a1_ = mtime_str(P(W(w, "t")), true);
		say("utimensat", "omit atime: %s %s", a0_, a1_);
	}
	ts[0] = (struct timespec){ 1650000000, 0 };
	{
		__auto_type a0_ = RN(FN(utimensat)(dfd, "tl", ts, AT_SYMLINK_NOFOLLOW));
		__auto_type a1_ = mtime_str(P(W(w, "tl")), false);
		__auto_type a2_ = mtime_str(P(W(w, "t")), true);
		say("utimensat", "nofollow symlink: %s link=%s target=%s", a0_, a1_, a2_);
	}
	{
		__auto_type a0_ = RN(FN(utimensat)(AT_FDCWD, P("src/lib"), ts, 0));
		__auto_type a1_ = mtime_str(P("src/lib"), true);
		say("utimensat", "lower dir: %s %s", a0_, a1_);
	}
	struct timespec badts[2] = { { 1, 1000000000 }, { 1, 0 } };
	say("utimensat", "bad nsec: %s", RN(FN(utimensat)(dfd, "t", badts, 0)));
	say("utimensat", "bad flags: %s", RN(FN(utimensat)(dfd, "t", ts, 0x1)));
	say("utimensat", "NULL path: %s", RN(FN(utimensat)(fd, NULL, ts, 0)));
	{
		__auto_type a0_ = RN(FN(utimensat)(fd, "", ts, AT_EMPTY_PATH));
		__auto_type a1_ = mtime_str(P(W(w, "t")), true);
		say("utimensat", "empty path: %s %s", a0_, a1_);
	}
	say("utimensat", "missing: %s", RN(FN(utimensat)(dfd, "nope", ts, 0)));
	say("utimensat", "now: %s", RN(FN(utimensat)(dfd, "t", NULL, 0)));
	ts[1].tv_sec = 1800000000;
	{
		__auto_type a0_ = RN(FN(futimens)(fd, ts));
		__auto_type a1_ = mtime_str(P(W(w, "t")), true);
		say("futimens", "fd: %s %s", a0_, a1_);
	}
	say("futimens", "now: %s", RN(FN(futimens)(fd, NULL)));
	say("futimens", "bad fd: %s", RN(FN(futimens)(-1, ts)));
	if (fd >= 0)
		close(fd);

	{
		__auto_type a0_ = RN(FN(truncate)(P("readonly.txt"), 1));
		__auto_type a1_ = lstat_str(P("readonly.txt"));
		__auto_type a2_ = contents(P("readonly.txt"));
		say("truncate", "lower file to 1: %s %s %s", a0_, a1_, a2_);
	}
	{
		__auto_type a0_ = RN(FN(truncate)(P(W(w, "f")), 100));
		__auto_type a1_ = lstat_str(P(W(w, "f")));
		say("truncate", "extend to 100: %s %s", a0_, a1_);
	}
	say("truncate", "dir: %s", RN(FN(truncate)(P("docs"), 0)));
	say("truncate", "missing: %s", RN(FN(truncate)(P("missing"), 0)));
	say("truncate", "negative: %s", RN(FN(truncate)(P(W(w, "f")), -1)));
	{
		__auto_type a0_ = RN(FN(truncate)(P(W(w, "tl")), 1));
		__auto_type a1_ = lstat_str(P(W(w, "t")));
		say("truncate", "via symlink: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(FN(truncate64)(P(W(w, "f")), 3));
		__auto_type a1_ = lstat_str(P(W(w, "f")));
		say("truncate64", "to 3: %s %s", a0_, a1_);
	}
	say("truncate64", "foo/x: %s", RN(FN(truncate64)(P("foo/x"), 3)));
	fd = open(P("share.txt"), O_RDWR | O_CLOEXEC);
	{
		__auto_type a0_ = RN(FN(ftruncate)(fd, 2));
		__auto_type a1_ = lstat_str(P("share.txt"));
		__auto_type a2_ = contents(P("share.txt"));
		say("ftruncate", "rdwr lower to 2: %s %s %s", a0_, a1_, a2_);
	}
	{
		__auto_type a0_ = RN(FN(ftruncate64)(fd, 5));
		__auto_type a1_ = lstat_str(P("share.txt"));
		say("ftruncate64", "rdwr to 5: %s %s", a0_, a1_);
	}
	if (fd >= 0)
		close(fd);
	fd = open(P("bin/hello.sh"), O_RDONLY | O_CLOEXEC);
	say("ftruncate", "rdonly fd: %s", RN(FN(ftruncate)(fd, 0)));
	say("ftruncate64", "rdonly fd: %s", RN(FN(ftruncate64)(fd, 0)));
	if (fd >= 0)
		close(fd);
	say("ftruncate", "bad fd: %s", RN(FN(ftruncate)(-1, 0)));
	close(dfd);
}

/* ---- xattr ---- */

/* The names of an xattr list, sorted. */
static const char *xnames(const char *buf, long n, int e)
{
	struct list l = { 0 };

	if (n < 0)
		return res_n(n, e);
	for (long off = 0; off < n; off += (long)strlen(buf + off) + 1)
		list_add(&l, "%s", buf + off);
	char *b = ring();
	snprintf(b, PATH_MAX, "%ld [%s]", n, list_join(&l, ","));
	return b;
}

static const char *xval(long n, int e, const char *buf)
{
	char *b = ring();

	if (n < 0)
		return res_n(n, e);
	snprintf(b, 256, "%ld '%s'", n, esc(buf, (size_t)n));
	return b;
}

#define XVAL(call, buf) ({ errno = 0; long n_ = (long)(call); int e_ = errno; xval(n_, e_, buf); })
#define XNAMES(call, buf) \
	({ errno = 0; long n_ = (long)(call); int e_ = errno; xnames(buf, n_, e_); })

static void case_xattr(void)
{
	const char *w = workdir("xattr");
	char buf[1024];
	char a[PATH_MAX];

	snprintf(a, sizeof(a), "%s", P("attr.txt"));

	say("setxattr", "lower file: %s", RN(FN(setxattr)(a, "user.test", "v1", 2, 0)));
	say("getxattr", "user.test: %s", XVAL(FN(getxattr)(a, "user.test", buf, sizeof(buf)), buf));
	say("getxattr", "size 0: %s", RN(FN(getxattr)(a, "user.test", NULL, 0)));
	say("getxattr", "size 1: %s", RN(FN(getxattr)(a, "user.test", buf, 1)));
	say("getxattr", "absent name: %s", RN(FN(getxattr)(a, "user.nope", buf, sizeof(buf))));
	say("getxattr", "untouched lower file: %s",
	    RN(FN(getxattr)(P("bin/hello.sh"), "user.test", buf, sizeof(buf))));
	say("getxattr", "missing: %s", RN(FN(getxattr)(P("missing"), "user.test", buf, 9)));
	say("getxattr", "foo/x: %s", RN(FN(getxattr)(P("foo/x"), "user.test", buf, 9)));
	say("setxattr", "create existing: %s",
	    RN(FN(setxattr)(a, "user.test", "v2", 2, XATTR_CREATE)));
	say("setxattr", "replace absent: %s",
	    RN(FN(setxattr)(a, "user.other", "v2", 2, XATTR_REPLACE)));
	{
		__auto_type a0_ = RN(FN(setxattr)(a, "user.test", "v3x", 3, XATTR_REPLACE));
		__auto_type a1_ = XVAL(getxattr(a, "user.test", buf, sizeof(buf)), buf);
		say("setxattr", "replace: %s %s", a0_, a1_);
	}
	say("setxattr", "second name: %s", RN(FN(setxattr)(a, "user.two", "", 0, 0)));
	say("setxattr", "bad namespace: %s", RN(FN(setxattr)(a, "nope.x", "v", 1, 0)));
	say("setxattr", "bad flags: %s", RN(FN(setxattr)(a, "user.x", "v", 1, 0x10)));
	say("setxattr", "missing: %s", RN(FN(setxattr)(P("missing"), "user.x", "v", 1, 0)));
	say("setxattr", "via symlink: %s", RN(FN(setxattr)(P("readme.link"), "user.s", "s", 1, 0)));
	say("setxattr", "lower dir: %s", RN(FN(setxattr)(P("deep"), "user.d", "d", 1, 0)));
	say("listxattr", "attr.txt: %s", XNAMES(FN(listxattr)(a, buf, sizeof(buf)), buf));
	say("listxattr", "size 0: %s", RN(FN(listxattr)(a, NULL, 0)));
	say("listxattr", "size 1: %s", RN(FN(listxattr)(a, buf, 1)));
	say("listxattr", "via symlink: %s",
	    XNAMES(FN(listxattr)(P("readme.link"), buf, sizeof(buf)), buf));
	say("listxattr", "lower dir: %s", XNAMES(FN(listxattr)(P("deep"), buf, sizeof(buf)), buf));
	say("listxattr", "untouched lower file: %s",
	    XNAMES(FN(listxattr)(P("bin/echo"), buf, sizeof(buf)), buf));
	say("listxattr", "missing: %s", RN(FN(listxattr)(P("missing"), buf, sizeof(buf))));
	say("removexattr", "user.two: %s", RN(FN(removexattr)(a, "user.two")));
	say("removexattr", "again: %s", RN(FN(removexattr)(a, "user.two")));
	say("removexattr", "missing: %s", RN(FN(removexattr)(P("missing"), "user.two")));
	say("removexattr", "untouched lower file: %s",
	    RN(FN(removexattr)(P("bin/hello.sh"), "user.x")));

	put_file(P(W(w, "f")), "f\n", 0644);
	symlink("f", P(W(w, "fl")));
	char f[PATH_MAX], fl[PATH_MAX];
	snprintf(f, sizeof(f), "%s", P(W(w, "f")));
	snprintf(fl, sizeof(fl), "%s", P(W(w, "fl")));
	say("lsetxattr", "file: %s", RN(FN(lsetxattr)(f, "user.l", "l", 1, 0)));
	say("lsetxattr", "symlink user.: %s", RN(FN(lsetxattr)(fl, "user.l", "l", 1, 0)));
	say("lsetxattr", "missing: %s", RN(FN(lsetxattr)(P("missing"), "user.l", "l", 1, 0)));
	say("lgetxattr", "file: %s", XVAL(FN(lgetxattr)(f, "user.l", buf, sizeof(buf)), buf));
	say("lgetxattr", "symlink: %s", RN(FN(lgetxattr)(fl, "user.l", buf, sizeof(buf))));
	say("lgetxattr", "dangling: %s", RN(FN(lgetxattr)(P("dangling"), "user.l", buf, 9)));
	say("llistxattr", "file: %s", XNAMES(FN(llistxattr)(f, buf, sizeof(buf)), buf));
	say("llistxattr", "symlink: %s", XNAMES(FN(llistxattr)(fl, buf, sizeof(buf)), buf));
	say("llistxattr", "foo/x: %s", RN(FN(llistxattr)(P("foo/x"), buf, sizeof(buf))));
	say("lremovexattr", "file: %s", RN(FN(lremovexattr)(f, "user.l")));
	say("lremovexattr", "symlink: %s", RN(FN(lremovexattr)(fl, "user.l")));
	say("lremovexattr", "missing: %s", RN(FN(lremovexattr)(P("missing"), "user.l")));

	int fd = open(P("bin/echo"), O_RDONLY | O_CLOEXEC);
	say("fsetxattr", "lower fd: %s", RN(FN(fsetxattr)(fd, "user.f", "fv", 2, 0)));
	say("fgetxattr", "lower fd: %s", XVAL(FN(fgetxattr)(fd, "user.f", buf, sizeof(buf)), buf));
	say("fgetxattr", "by path: %s",
	    XVAL(getxattr(P("bin/echo"), "user.f", buf, sizeof(buf)), buf));
	say("fgetxattr", "absent: %s", RN(FN(fgetxattr)(fd, "user.nope", buf, sizeof(buf))));
	say("flistxattr", "lower fd: %s", XNAMES(FN(flistxattr)(fd, buf, sizeof(buf)), buf));
	say("fremovexattr", "lower fd: %s", RN(FN(fremovexattr)(fd, "user.f")));
	say("fremovexattr", "again: %s", RN(FN(fremovexattr)(fd, "user.f")));
	say("flistxattr", "after: %s", XNAMES(FN(flistxattr)(fd, buf, sizeof(buf)), buf));
	if (fd >= 0)
		close(fd);
	say("fsetxattr", "bad fd: %s", RN(FN(fsetxattr)(-1, "user.f", "fv", 2, 0)));
	say("fgetxattr", "bad fd: %s", RN(FN(fgetxattr)(-1, "user.f", buf, sizeof(buf))));
	say("flistxattr", "bad fd: %s", RN(FN(flistxattr)(-1, buf, sizeof(buf))));
	say("fremovexattr", "bad fd: %s", RN(FN(fremovexattr)(-1, "user.f")));
	say("fsetxattr", "exec still works after: %s", lstat_str(P("bin/echo")));
}

/* ---- resolve ---- */

/* A resolved path: under ROOT, or "HOST". */
static const char *resolved(const char *p, int e)
{
	if (!p)
		return res_p(p, e);
	const char *r = rel(p);
	return strncmp(r, "ROOT", 4) == 0 ? r : "HOST";
}

static void case_resolve(void)
{
	static const char *const paths[] = {
		"docs/../foo.link", "readme.link", "docs.link/readme.txt", "",
		"docs/empty/../../bin",
		"missing", "dangling", "foo/x", "loop.a", "foo/", "docs/", "..", "docs.link",
		"missing/x", "src/lib/../../deep/a",
	};
	char buf[PATH_MAX];
	char *p;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		errno = 0;
		p = FN(realpath)(P(paths[i]), buf);
		say("realpath", "'%s': %s", paths[i], resolved(p, errno));
		errno = 0;
		p = FN(__realpath_chk)(P(paths[i]), buf, sizeof(buf));
		say("__realpath_chk", "'%s': %s", paths[i], resolved(p, errno));
		errno = 0;
		p = FN(canonicalize_file_name)(P(paths[i]));
		say("canonicalize_file_name", "'%s': %s", paths[i], resolved(p, errno));
		free(p);
	}
	errno = 0;
	p = FN(realpath)(P("readme.link"), NULL);
	say("realpath", "NULL buffer: %s", resolved(p, errno));
	free(p);
	chdir(P("docs"));
	errno = 0;
	p = FN(realpath)("../foo.link", buf);
	say("realpath", "relative ../foo.link: %s", resolved(p, errno));
	errno = 0;
	p = FN(realpath)(".", buf);
	say("realpath", "relative .: %s", resolved(p, errno));
	errno = 0;
	p = FN(__realpath_chk)("readme.txt", buf, sizeof(buf));
	say("__realpath_chk", "relative readme.txt: %s", resolved(p, errno));
	errno = 0;
	p = FN(canonicalize_file_name)("nope");
	say("canonicalize_file_name", "relative nope: %s", resolved(p, errno));
	free(p);
	back_to_start();
}

/* ---- temp ---- */

/* Were the six X of a template replaced? */
static int filled(const char *t, size_t suffix)
{
	size_t n = strlen(t);

	return n >= 6 + suffix && memcmp(t + n - suffix - 6, "XXXXXX", 6) != 0;
}

/* A template after the call, the six characters before the suffix (where
 * the random part goes, filled even when the call fails) masked. */
static const char *tmpl_str(const char *t, size_t suffix)
{
	char *b = ring();

	normalise(t, b, PATH_MAX);
	const char *slash = strrchr(b, '/');
	size_t n = strlen(b), base = slash ? (size_t)(slash - b) + 1 : 0;
	if (n - base >= 6 + suffix)
		memcpy(b + n - suffix - 6, "??????", 6);
	return b;
}

static void case_temp(void)
{
	const char *w = workdir("temp");
	char t[PATH_MAX];
	int fd;

#define TMPL(s) snprintf(t, sizeof(t), "%s", P(W(w, s)))
#define TMP_SAY(row, what, call, suffix) do { \
		errno = 0; \
		fd = (call); \
		int e_ = errno; \
		say(row, "%s: %s %s filled=%d %s cloexec=%d append=%d", what, res_fd(fd, e_), \
		    tmpl_str(t, suffix), filled(t, suffix), fd >= 0 ? lstat_str(t) : "", \
		    fd >= 0 ? fcntl(fd, F_GETFD) & FD_CLOEXEC : -1, \
		    fd >= 0 ? !!(fcntl(fd, F_GETFL) & O_APPEND) : -1); \
		if (fd >= 0) \
			close(fd); \
	} while (0)
	TMPL("aXXXXXX");
	TMP_SAY("mkstemp", "aXXXXXX", FN(mkstemp)(t), 0);
	TMPL("aXXX");
	TMP_SAY("mkstemp", "aXXX", FN(mkstemp)(t), 0);
	snprintf(t, sizeof(t), "%s", P("missing/aXXXXXX"));
	TMP_SAY("mkstemp", "missing/aXXXXXX", FN(mkstemp)(t), 0);
	TMPL("bXXXXXX");
	TMP_SAY("mkstemp64", "bXXXXXX", FN(mkstemp64)(t), 0);
	TMPL("cXXXXXX");
	TMP_SAY("mkostemp", "cXXXXXX O_CLOEXEC", FN(mkostemp)(t, O_CLOEXEC), 0);
	TMPL("dXXXXXX");
	TMP_SAY("mkostemp64", "dXXXXXX O_APPEND", FN(mkostemp64)(t, O_APPEND), 0);
	TMPL("eXXXXXX.c");
	TMP_SAY("mkstemps", "eXXXXXX.c 2", FN(mkstemps)(t, 2), 2);
	TMPL("eXXXXXX.c");
	TMP_SAY("mkstemps", "eXXXXXX.c 3", FN(mkstemps)(t, 3), 2);
	TMPL("fXXXXXX.h");
	TMP_SAY("mkstemps64", "fXXXXXX.h 2", FN(mkstemps64)(t, 2), 2);
	TMPL("gXXXXXX.o");
	TMP_SAY("mkostemps", "gXXXXXX.o 2, O_CLOEXEC", FN(mkostemps)(t, 2, O_CLOEXEC), 2);
	TMPL("hXXXXXX.a");
	TMP_SAY("mkostemps64", "hXXXXXX.a 2, O_APPEND", FN(mkostemps64)(t, 2, O_APPEND), 2);
	snprintf(t, sizeof(t), "%s", P("foo/hXXXXXX.a"));
	TMP_SAY("mkostemps64", "foo/hXXXXXX.a 2, 0", FN(mkostemps64)(t, 2, 0), 2);
#undef TMP_SAY

	char *p;
	TMPL("dirXXXXXX");
	p = FN(mkdtemp)(t);
	{
		__auto_type a0_ = res_p(p, errno);
		__auto_type a1_ = tmpl_str(t, 0);
		__auto_type a2_ = p ? lstat_str(t) : "";
		say("mkdtemp", "dir: %s %s filled=%d %s", a0_, a1_, filled(t, 0), a2_);
	}
	TMPL("dirXX");
	say("mkdtemp", "bad: %s", RP(FN(mkdtemp)(t)));
	snprintf(t, sizeof(t), "%s", P("missing/dXXXXXX"));
	say("mkdtemp", "missing dir: %s", RP(FN(mkdtemp)(t)));
	TMPL("mXXXXXX");
	p = FN(mktemp)(t);
	int e = errno;
	{
		__auto_type a0_ = res_p(p, e);
		__auto_type a1_ = tmpl_str(t, 0);
		__auto_type a2_ = lstat_str(t);
		say("mktemp", "name: %s %s filled=%d %s", a0_, a1_, filled(t, 0), a2_);
	}
	TMPL("mXX");
	p = FN(mktemp)(t);
	say("mktemp", "bad: %s '%s'", res_p(p, errno), t);
#undef TMPL

	FILE *f = FN(tmpfile)();
	say("tmpfile", "stream: %s", res_p(f, errno));
	if (f) {
		fputs("tmp\n", f);
		rewind(f);
		say("tmpfile", "read back: %s", read_stream(f));
		fclose(f);
	}
	f = FN(tmpfile64)();
	say("tmpfile64", "stream: %s", res_p(f, errno));
	if (f) {
		fputs("tmp64\n", f);
		rewind(f);
		say("tmpfile64", "read back: %s", read_stream(f));
		fclose(f);
	}
	p = FN(tempnam)(P(w), "pfx");
	{
		__auto_type a0_ = res_p(p, errno);
		__auto_type a1_ = p ? tmpl_str(p, 0) : "";
		__auto_type a2_ = p ? lstat_str(p) : "";
		say("tempnam", "in tree: %s %s filled=%d %s", a0_, a1_, p ? filled(p, 0) : 0, a2_);
	}
	free(p);
	p = FN(tempnam)(P("missing"), "pfx");
	say("tempnam", "missing dir: %s %s", res_p(p, errno),
	    p ? (strncmp(rel(p), "ROOT", 4) ? "HOST" : rel(p)) : "");
	free(p);
	p = FN(tempnam)(P("foo"), NULL);
	say("tempnam", "file as dir: %s %s", res_p(p, errno),
	    p ? (strncmp(rel(p), "ROOT", 4) ? "HOST" : rel(p)) : "");
	free(p);
}

/* ---- exec ---- */

/* The exec functions, fetched in the parent (where coverage is noted). */
static struct {
	execve_fn execve;
	execv_fn execv;
	execvp_fn execvp;
	execvpe_fn execvpe;
	execl_fn execl;
	execlp_fn execlp;
	execle_fn execle;
	fexecve_fn fexecve;
	execveat_fn execveat;
} xf;

/* What one child does: exec something; argv[0] names the case. */
struct xcase {
	const char *row;
	const char *what;
	const char *path;        /* or file, or command; "@x" is ROOT/x */
	const char *chdir;       /* a directory to change to first; "@x" is ROOT/x */
	const char *path_env;    /* PATH to set first */
	int fd_from;             /* 1: open path and exec the fd */
	int dir;                 /* 1: open chdir as a dirfd for execveat */
	int flags;
};

static void child_exec(void *arg)
{
	const struct xcase *c0 = arg;
	struct xcase cc = *c0, *c = &cc;
	char *argv[] = { (char *)"prog", (char *)c->what, NULL };
	int dfd = AT_FDCWD;

	if (c->path && c->path[0] == '@')
		c->path = P(c->path + 1);
	if (c->chdir && c->chdir[0] == '@')
		c->chdir = P(c->chdir + 1);
	if (c->chdir && !c->dir && chdir(c->chdir) < 0)
		exec_failed();
	if (c->dir && (dfd = open(c->chdir, O_RDONLY | O_DIRECTORY)) < 0)
		exec_failed();
	if (c->path_env)
		setenv("PATH", c->path_env, 1);
	if (strcmp(c->row, "execve") == 0)
		xf.execve(c->path, argv, child_env);
	else if (strcmp(c->row, "execv") == 0)
		xf.execv(c->path, argv);
	else if (strcmp(c->row, "execvp") == 0)
		xf.execvp(c->path, argv);
	else if (strcmp(c->row, "execvpe") == 0)
		xf.execvpe(c->path, argv, child_env);
	else if (strcmp(c->row, "execl") == 0)
		xf.execl(c->path, "prog", c->what, (char *)NULL);
	else if (strcmp(c->row, "execlp") == 0)
		xf.execlp(c->path, "prog", c->what, (char *)NULL);
	else if (strcmp(c->row, "execle") == 0)
		xf.execle(c->path, "prog", c->what, (char *)NULL, child_env);
	else if (strcmp(c->row, "fexecve") == 0) {
		int fd = c->fd_from ? open(c->path, O_RDONLY) : -1;
		xf.fexecve(fd, argv, child_env);
	} else if (strcmp(c->row, "execveat") == 0) {
		int fd = c->fd_from ? open(c->path, O_RDONLY) : dfd;
		xf.execveat(fd, c->fd_from ? "" : c->path, argv, child_env, c->flags);
	}
	exec_failed();
}

static void case_exec(void)
{
	const char *w = workdir("exec");
	char path_env[PATH_MAX + 64];
	int status;

	put_file(P(W(w, "noshebang")), "echo no shebang \"$1\"\n", 0755);
	snprintf(path_env, sizeof(path_env), "%s:%s:/usr/bin:/bin", P("bin"), P(w));
	xf.execve = FN(execve);
	xf.execv = FN(execv);
	xf.execvp = FN(execvp);
	xf.execvpe = FN(execvpe);
	xf.execl = FN(execl);
	xf.execlp = FN(execlp);
	xf.execle = FN(execle);
	xf.fexecve = FN(fexecve);
	xf.execveat = FN(execveat);
	const struct xcase cases[] = {
		{ "execve", "script", "@bin/hello.sh", NULL, NULL, 0, 0, 0 },
		{ "execve", "elf", "@bin/echo", NULL, NULL, 0, 0, 0 },
		{ "execve", "host", "/bin/echo", NULL, NULL, 0, 0, 0 },
		{ "execve", "relative", "./hello.sh", "@bin", NULL, 0, 0, 0 },
		{ "execve", "via symlink", "@w/exec/hello.link", NULL, NULL, 0, 0, 0 },
		{ "execve", "missing", "@missing", NULL, NULL, 0, 0, 0 },
		{ "execve", "not executable", "@foo", NULL, NULL, 0, 0, 0 },
		{ "execve", "dir", "@docs", NULL, NULL, 0, 0, 0 },
		{ "execve", "no shebang", "@w/exec/noshebang", NULL, NULL, 0, 0, 0 },
		{ "execve", "foo/x", "@foo/x", NULL, NULL, 0, 0, 0 },
		{ "execv", "script", "@bin/hello.sh", NULL, NULL, 0, 0, 0 },
		{ "execv", "missing", "@missing", NULL, NULL, 0, 0, 0 },
		{ "execvp", "PATH search", "hello.sh", NULL, path_env, 0, 0, 0 },
		{ "execvp", "no shebang via sh", "noshebang", NULL, path_env, 0, 0, 0 },
		{ "execvp", "with slash", "@bin/hello.sh", NULL, NULL, 0, 0, 0 },
		{ "execvp", "not found", "layerfs-no-such-cmd", NULL, path_env, 0, 0, 0 },
		{ "execvpe", "PATH search", "echo", NULL, path_env, 0, 0, 0 },
		{ "execvpe", "relative PATH", "hello.sh", "@", "bin:/bin", 0, 0, 0 },
		{ "execl", "script", "@bin/hello.sh", NULL, NULL, 0, 0, 0 },
		{ "execl", "not executable", "@docs/readme.txt", NULL, NULL, 0, 0, 0 },
		{ "execlp", "PATH search", "hello.sh", NULL, path_env, 0, 0, 0 },
		{ "execlp", "not found", "layerfs-no-such-cmd", NULL, path_env, 0, 0, 0 },
		{ "execle", "elf", "@bin/echo", NULL, NULL, 0, 0, 0 },
		{ "execle", "dir", "@src", NULL, NULL, 0, 0, 0 },
		{ "fexecve", "elf fd", "@bin/echo", NULL, NULL, 1, 0, 0 },
		{ "fexecve", "host fd", "/bin/echo", NULL, NULL, 1, 0, 0 },
		{ "fexecve", "bad fd", "", NULL, NULL, 0, 0, 0 },
		{ "execveat", "dirfd elf", "echo", "@bin", NULL, 0, 1, 0 },
		{ "execveat", "empty path", "@bin/echo", NULL, NULL, 1, 0, AT_EMPTY_PATH },
		{ "execveat", "absolute script", "@bin/hello.sh", NULL, NULL, 0, 0, 0 },
		{ "execveat", "dirfd missing", "nope", "@bin", NULL, 0, 1, 0 },
		{ "execveat", "nofollow symlink", "@w/exec/hello.link", NULL, NULL, 0, 0,
		  AT_SYMLINK_NOFOLLOW },
	};

	symlink("../../bin/hello.sh", P("w/exec/hello.link"));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *out = in_child(child_exec, (void *)&cases[i], &status);
		say(cases[i].row, "%s: out='%s' status=%d", cases[i].what, out, exit_code(status));
	}
}

/* sh -c CMD in a child that first changes to DIR (NULL: stays). */
struct shcase {
	const char *dir;
	const char *cmd;
};

static void child_sh(void *arg)
{
	const struct shcase *c = arg;
	char *argv[] = { (char *)"sh", (char *)"-c", (char *)c->cmd, NULL };

	if (c->dir && chdir(c->dir) < 0)
		exec_failed();
	xf.execve("/bin/sh", argv, child_env);
	exec_failed();
}

static void case_exec_sh(void)
{
	char cmd[2 * PATH_MAX];
	int status;

	xf.execve = FN(execve);
	snprintf(cmd, sizeof(cmd), "cat %s; ls %s", P("foo.link"), P("src"));
	struct shcase c1 = { NULL, cmd };
	{
		__auto_type a0_ = in_child(child_sh, &c1, &status);
		__auto_type a1_ = exit_code(status);
		say("execve", "sh reads the tree: out='%s' status=%d", a0_, a1_);
	}
	struct shcase c2 = { P("docs"), "cat readme.txt; pwd -P; ls ../bin" };
	{
		__auto_type a0_ = in_child(child_sh, &c2, &status);
		__auto_type a1_ = exit_code(status);
		say("execve", "sh in cwd: out='%s' status=%d", a0_, a1_);
	}
	struct shcase c3 = { P(""),
			     "echo x > made-by-sh; cat made-by-sh; rm readonly.txt; ls -d r*" };
	{
		__auto_type a0_ = in_child(child_sh, &c3, &status);
		__auto_type a1_ = exit_code(status);
		say("execve", "sh changes the tree: out='%s' status=%d", a0_, a1_);
	}
	{
		__auto_type a0_ = contents(P("made-by-sh"));
		__auto_type a1_ = lstat_str(P("readonly.txt"));
		say("execve", "change seen by parent: %s %s", a0_, a1_);
	}
}

/* posix_spawn with stdout and stderr to a pipe; fa holds the caller's
 * actions already.  Returns the output; *ret the spawn's result. */
static const char *spawn_out(bool search, const char *path, char *const argv[],
			     posix_spawn_file_actions_t *fa, int *ret, int *status)
{
	int p[2];
	pid_t pid;
	const char *out = "";

	*status = -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return res_n(-1, errno);
	posix_spawn_file_actions_adddup2(fa, p[1], 1);
	posix_spawn_file_actions_adddup2(fa, p[1], 2);
	*ret = search ? FN(posix_spawnp)(&pid, path, fa, NULL, argv, child_env) :
			FN(posix_spawn)(&pid, path, fa, NULL, argv, child_env);
	close(p[1]);
	if (*ret == 0) {
		out = read_rest(p[0]);
		while (waitpid(pid, status, 0) < 0 && errno == EINTR)
			;
	}
	close(p[0]);
	return out;
}

static void case_spawn(void)
{
	posix_spawn_file_actions_t fa;
	int ret, status, r;
	const char *out;
	char *hello[] = { (char *)"hello", (char *)"sp", NULL };
	char *cat[] = { (char *)"cat", NULL };
	char *sh[] = { (char *)"sh", (char *)"-c", (char *)"cat readme.txt; pwd -P", NULL };
	char *ls[] = { (char *)"ls", NULL };

#define SPAWN_SAY(row, what, r_first) \
	say(row, "%s: ret=%s out='%s' status=%d", what, res_e((r_first) ? (r_first) : ret), \
	    out, (r_first) || ret ? -1 : exit_code(status))
	posix_spawn_file_actions_init(&fa);
	out = spawn_out(false, P("bin/hello.sh"), hello, &fa, &ret, &status);
	SPAWN_SAY("posix_spawn", "script", 0);
	say("posix_spawn_file_actions_destroy", "plain: %s",
	    res_e(FN(posix_spawn_file_actions_destroy)(&fa)));
	posix_spawn_file_actions_init(&fa);
	out = spawn_out(false, P("bin/echo"), hello, &fa, &ret, &status);
	SPAWN_SAY("posix_spawn", "elf", 0);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawn_file_actions_init(&fa);
	out = spawn_out(false, P("missing"), hello, &fa, &ret, &status);
	SPAWN_SAY("posix_spawn", "missing", 0);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawn_file_actions_init(&fa);
	out = spawn_out(false, P("foo"), hello, &fa, &ret, &status);
	SPAWN_SAY("posix_spawn", "not executable", 0);
	posix_spawn_file_actions_destroy(&fa);

	/* addopen: the file as the child's stdin.  A view path is opened at
	 * once by the shim (by design), so the first error is compared. */
	posix_spawn_file_actions_init(&fa);
	r = FN(posix_spawn_file_actions_addopen)(&fa, 0, P("docs/readme.txt"), O_RDONLY, 0);
	out = r ? "" : spawn_out(false, "/bin/cat", cat, &fa, &ret, &status);
	SPAWN_SAY("posix_spawn_file_actions_addopen", "readme as stdin", r);
	say("posix_spawn_file_actions_destroy", "with addopen: %s",
	    res_e(FN(posix_spawn_file_actions_destroy)(&fa)));
	posix_spawn_file_actions_init(&fa);
	r = FN(posix_spawn_file_actions_addopen)(&fa, 0, P("missing"), O_RDONLY, 0);
	out = r ? "" : spawn_out(false, "/bin/cat", cat, &fa, &ret, &status);
	SPAWN_SAY("posix_spawn_file_actions_addopen", "missing", r);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawn_file_actions_init(&fa);
	r = FN(posix_spawn_file_actions_addopen)(&fa, 3, P("w/spawn-created"),
						  O_WRONLY | O_CREAT, 0640);
	out = r ? "" : spawn_out(false, "/bin/sh", (char *[]){ (char *)"sh", (char *)"-c",
			(char *)"echo via fd 3 >&3", NULL }, &fa, &ret, &status);
	SPAWN_SAY("posix_spawn_file_actions_addopen", "create as fd 3", r);
	posix_spawn_file_actions_destroy(&fa);
	{
		__auto_type a0_ = lstat_str(P("w/spawn-created"));
		__auto_type a1_ = contents(P("w/spawn-created"));
		say("posix_spawn_file_actions_addopen", "created: %s %s", a0_, a1_);
	}

	posix_spawn_file_actions_init(&fa);
	r = FN(posix_spawn_file_actions_addchdir_np)(&fa, P("docs"));
	out = r ? "" : spawn_out(false, "/bin/sh", sh, &fa, &ret, &status);
	SPAWN_SAY("posix_spawn_file_actions_addchdir_np", "docs", r);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawn_file_actions_init(&fa);
	r = FN(posix_spawn_file_actions_addchdir_np)(&fa, P("missing"));
	out = r ? "" : spawn_out(false, "/bin/sh", sh, &fa, &ret, &status);
	SPAWN_SAY("posix_spawn_file_actions_addchdir_np", "missing", r);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawn_file_actions_init(&fa);
	r = FN(posix_spawn_file_actions_addchdir_np)(&fa, P("foo"));
	out = r ? "" : spawn_out(false, "/bin/sh", sh, &fa, &ret, &status);
	SPAWN_SAY("posix_spawn_file_actions_addchdir_np", "file", r);
	posix_spawn_file_actions_destroy(&fa);

	int dfd = open_dir("src");
	posix_spawn_file_actions_init(&fa);
	r = FN(posix_spawn_file_actions_addfchdir_np)(&fa, dfd);
	out = r ? "" : spawn_out(false, "/bin/ls", ls, &fa, &ret, &status);
	SPAWN_SAY("posix_spawn_file_actions_addfchdir_np", "src", r);
	posix_spawn_file_actions_destroy(&fa);
	close(dfd);
	int ffd = open(P("foo"), O_RDONLY | O_CLOEXEC);
	posix_spawn_file_actions_init(&fa);
	r = FN(posix_spawn_file_actions_addfchdir_np)(&fa, ffd);
	out = r ? "" : spawn_out(false, "/bin/ls", ls, &fa, &ret, &status);
	SPAWN_SAY("posix_spawn_file_actions_addfchdir_np", "file", r);
	posix_spawn_file_actions_destroy(&fa);
	if (ffd >= 0)
		close(ffd);

	/* posix_spawnp searches the caller's PATH. */
	char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	char path_env[PATH_MAX + 32];
	snprintf(path_env, sizeof(path_env), "%s:/usr/bin:/bin", P("bin"));
	setenv("PATH", path_env, 1);
	posix_spawn_file_actions_init(&fa);
	out = spawn_out(true, "hello.sh", hello, &fa, &ret, &status);
	SPAWN_SAY("posix_spawnp", "script on PATH", 0);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawn_file_actions_init(&fa);
	out = spawn_out(true, "echo", hello, &fa, &ret, &status);
	SPAWN_SAY("posix_spawnp", "elf on PATH", 0);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawn_file_actions_init(&fa);
	out = spawn_out(true, "layerfs-no-such-cmd", hello, &fa, &ret, &status);
	SPAWN_SAY("posix_spawnp", "not found", 0);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawn_file_actions_init(&fa);
	out = spawn_out(true, P("bin/hello.sh"), hello, &fa, &ret, &status);
	SPAWN_SAY("posix_spawnp", "with slash", 0);
	posix_spawn_file_actions_destroy(&fa);
	if (old)
		setenv("PATH", old, 1);
	else
		unsetenv("PATH");
	free(old);
#undef SPAWN_SAY
}

/* Runs system(cmd) with fd 1 and 2 captured; returns the output. */
static const char *system_out(const char *cmd, int *r)
{
	int p[2], saved1 = dup(1), saved2 = dup(2);
	const char *out;

	fflush(stdout);
	if (pipe2(p, O_CLOEXEC) < 0)
		return res_n(-1, errno);
	dup2(p[1], 1);
	dup2(p[1], 2);
	close(p[1]);
	*r = FN(system)(cmd);
	dup2(saved1, 1);
	dup2(saved2, 2);
	close(saved1);
	close(saved2);
	out = read_rest(p[0]);
	close(p[0]);
	return out;
}

static void case_system(void)
{
	const char *w = workdir("system");
	char cmd[2 * PATH_MAX];
	const char *out;
	int r;

	snprintf(cmd, sizeof(cmd), "%s sys", P("bin/hello.sh"));
	out = system_out(cmd, &r);
	say("system", "script: out='%s' status=%d", out, r < 0 ? r : exit_code(r));
	out = system_out("exit 3", &r);
	say("system", "exit 3: out='%s' status=%d", out, r < 0 ? r : exit_code(r));
	out = system_out(NULL, &r);
	say("system", "NULL: shell available=%d", r != 0);
	chdir(P("docs"));
	out = system_out("cat readme.txt; pwd -P; echo made > ../w/system/out", &r);
	say("system", "in cwd: out='%s' status=%d", out, r < 0 ? r : exit_code(r));
	back_to_start();
	say("system", "made: %s", contents(P(W(w, "out"))));

	snprintf(cmd, sizeof(cmd), "%s po", P("bin/hello.sh"));
	FILE *f = FN(popen)(cmd, "r");
	{
		__auto_type a0_ = res_p(f, errno);
		__auto_type a1_ = f ? read_stream(f) : "";
		say("popen", "script r: %s %s", a0_, a1_);
	}
	if (f) {
		r = FN(pclose)(f);
		say("pclose", "script: %d", r < 0 ? r : exit_code(r));
	}
	f = FN(popen)("exit 5", "r");
	say("popen", "exit 5: %s", res_p(f, errno));
	if (f) {
		r = FN(pclose)(f);
		say("pclose", "exit 5: %d", r < 0 ? r : exit_code(r));
	}
	snprintf(cmd, sizeof(cmd), "cat > %s", P(W(w, "popen.txt")));
	f = FN(popen)(cmd, "w");
	say("popen", "cat w: %s", res_p(f, errno));
	if (f) {
		fputs("through popen\n", f);
		r = FN(pclose)(f);
		say("pclose", "cat: %d", r < 0 ? r : exit_code(r));
	}
	say("popen", "written: %s", contents(P(W(w, "popen.txt"))));
	chdir(P("src"));
	f = FN(popen)("ls; cat ../share.txt", "re");
	{
		__auto_type a0_ = res_p(f, errno);
		__auto_type a1_ = f ? read_stream(f) : "";
		say("popen", "in cwd: %s %s", a0_, a1_);
	}
	if (f)
		say("pclose", "in cwd: %d", exit_code(FN(pclose)(f)));
	back_to_start();
	say("popen", "bad mode: %s", RP(FN(popen)("true", "x")));
}

/* fork and vfork: the child reads an inherited view fd, then _exit. */
static int fork_fd = -1;

static void case_fork(void)
{
	int p[2], status;
	pid_t pid;

	fork_fd = open(P("docs/readme.txt"), O_RDONLY | O_CLOEXEC);
	fflush(stdout);
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	pid = FN(fork)();
	if (pid == 0) {
		char buf[64];
		ssize_t n = read(fork_fd, buf, sizeof(buf));
		struct stat st;
		int r = stat(P("foo"), &st);
		if (n > 0 && write(p[1], buf, (size_t)n) < 0)
			_exit(1);
		if (write(p[1], r == 0 ? " stat-ok" : " stat-fail", r == 0 ? 8 : 10) < 0)
			_exit(1);
		_exit(7);
	}
	close(p[1]);
	{
		__auto_type a0_ = pid < 0 ? res_n(-1, errno) : "ok";
		__auto_type a1_ = pid > 0 ? read_rest(p[0]) : "";
		say("fork", "child: %s pid>0=%d out='%s'", a0_, pid > 0, a1_);
	}
	close(p[0]);
	if (pid > 0) {
		waitpid(pid, &status, 0);
		say("fork", "status: %d", exit_code(status));
	}
	say("fork", "offset shared with the child: %s", RN(lseek(fork_fd, 0, SEEK_CUR)));
	close(fork_fd);

	vfork_fn vf = FN(vfork);
	pid = vf();
	if (pid == 0)
		_exit(9);
	say("vfork", "child: pid>0=%d", pid > 0);
	if (pid > 0) {
		waitpid(pid, &status, 0);
		say("vfork", "status: %d", exit_code(status));
	}
}

/* ---- fd ---- */

static const char *fd_str(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return res_n(-1, errno);
	return st_str(&st);
}

static void case_fd(void)
{
	const char *w = workdir("fd");
	int fd, d, r;
	char c3[3];

	fd = open(P("bin/hello.sh"), O_RDONLY | O_CLOEXEC);
	say("close", "view fd: %s", RN(FN(close)(fd)));
	say("close", "again: %s", RN(FN(close)(fd)));
	say("close", "bad fd: %s", RN(FN(close)(-1)));

	fd = open(P("bin/hello.sh"), O_RDONLY | O_CLOEXEC);
	if (read(fd, c3, 3) != 3)
		say("dup", "read: %s", ename(errno));
	d = FN(dup)(fd);
	{
		__auto_type a0_ = res_fd(d, errno);
		__auto_type a1_ = read_rest(d);
		say("dup", "view fd: %s shares offset: %s", a0_, a1_);
	}
	say("dup", "fstat: %s", fd_str(d));
	say("dup", "bad fd: %s", RFD(FN(dup)(-1)));
	close(d);
	/* A dup of a lower file follows the copy-up a writer makes. */
	int rfd = open(P("dup.txt"), O_RDONLY | O_CLOEXEC);
	d = FN(dup)(rfd);
	close(rfd);
	int wfd = open(P("dup.txt"), O_WRONLY | O_APPEND | O_CLOEXEC);
	if (wfd >= 0) {
		if (write(wfd, "more\n", 5) != 5)
			say("dup", "write: %s", ename(errno));
		close(wfd);
	}
	say("dup", "dup of reader after copy-up: %s", read_rest(d));
	close(d);

	say("dup2", "to 50: %s", RN(FN(dup2)(fd, 50)));
	say("dup2", "50 is: %s", fd_str(50));
	say("dup2", "onto itself: %s", RN(FN(dup2)(fd, fd) == fd));
	say("dup2", "bad fd: %s", RN(FN(dup2)(-1, 50)));
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		say("setup", "pipe: %s", ename(errno));
	{
		__auto_type a0_ = RN(FN(dup2)(p[0], 50));
		__auto_type a1_ = fd_str(50);
		say("dup2", "pipe over view fd 50: %s %s", a0_, a1_);
	}
	int dfd = open_dir("src");
	say("dup2", "dir to 50: %s", RN(FN(dup2)(dfd, 50)));
	DIR *dir = fdopendir(50);
	say("dup2", "fdopendir 50: %s", dir ? list_stream(dir, "readdir") : res_n(-1, errno));
	if (dir)
		closedir(dir);
	else
		close(50);
	{
		__auto_type a0_ = RN(FN(dup3)(fd, 51, O_CLOEXEC));
		__auto_type a1_ = fcntl(51, F_GETFD) & FD_CLOEXEC;
		say("dup3", "cloexec to 51: %s cloexec=%d", a0_, a1_);
	}
	say("dup3", "51 is: %s", fd_str(51));
	say("dup3", "same fd: %s", RN(FN(dup3)(fd, fd, 0)));
	say("dup3", "bad flags: %s", RN(FN(dup3)(fd, 52, 0x1234)));
	close(51);

	r = FN(fcntl)(fd, F_DUPFD, 60);
	{
		__auto_type a0_ = res_fd(r, errno);
		__auto_type a1_ = fd_str(r);
		say("fcntl", "F_DUPFD 60: %s >=60=%d %s", a0_, r >= 60, a1_);
	}
	close(r);
	lseek(dfd, 0, SEEK_SET);
	r = FN(fcntl)(dfd, F_DUPFD_CLOEXEC, 60);
	{
		__auto_type a0_ = res_fd(r, errno);
		__auto_type a1_ = fcntl(r, F_GETFD) & FD_CLOEXEC;
		say("fcntl", "F_DUPFD_CLOEXEC dir: %s cloexec=%d", a0_, a1_);
	}
	dir = fdopendir(r);
	say("fcntl", "fdopendir of the dup: %s", dir ? list_stream(dir, "readdir") : "fail");
	if (dir)
		closedir(dir);
	say("fcntl", "F_GETFL accmode: %s", RN(FN(fcntl)(fd, F_GETFL) & O_ACCMODE));
	{
		__auto_type a0_ = RN(FN(fcntl)(fd, F_SETFD, 0));
		__auto_type a1_ = RN(FN(fcntl)(fd, F_GETFD));
		say("fcntl", "F_SETFD 0: %s then %s", a0_, a1_);
	}
	say("fcntl", "bad fd: %s", RN(FN(fcntl)(-1, F_GETFD)));
	r = FN(fcntl64)(fd, F_DUPFD_CLOEXEC, 64);
	{
		__auto_type a0_ = res_fd(r, errno);
		__auto_type a1_ = fd_str(r);
		say("fcntl64", "F_DUPFD_CLOEXEC 64: %s >=64=%d %s", a0_, r >= 64, a1_);
	}
	close(r);
	{
		__auto_type a0_ = RN(FN(fcntl64)(fd, F_SETFD, FD_CLOEXEC));
		__auto_type a1_ = RN(FN(fcntl64)(fd, F_GETFD));
		say("fcntl64", "F_SETFD cloexec: %s then %s", a0_, a1_);
	}
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
	say("fcntl64", "F_SETLK read lock: %s", RN(FN(fcntl64)(fd, F_SETLK, &fl)));
	say("fcntl64", "bad cmd: %s", RN(FN(fcntl64)(fd, 9999)));

	for (int i = 70; i <= 72; i++)
		dup2(fd, i);
	{
		__auto_type a0_ = RN(FN(close_range)(70, 72, 0));
		__auto_type a1_ = RN(fcntl(70, F_GETFD));
		__auto_type a2_ = RN(fcntl(71, F_GETFD));
		__auto_type a3_ = RN(fcntl(72, F_GETFD));
		say("close_range", "70-72: %s %s %s %s", a0_, a1_, a2_, a3_);
	}
	dup2(fd, 73);
	fcntl(73, F_SETFD, 0);
	{
		__auto_type a0_ = RN(FN(close_range)(73, 73, CLOSE_RANGE_CLOEXEC));
		__auto_type a1_ = RN(fcntl(73, F_GETFD));
		say("close_range", "cloexec 73: %s %s", a0_, a1_);
	}
	say("close_range", "73 still the file: %s", fd_str(73));
	say("close_range", "reversed: %s", RN(FN(close_range)(5, 4, 0)));
	close(73);
	if (dup2(p[0], 72) == 72)
		say("close_range", "72 reused by a pipe: %s", fd_str(72));
	close(72);
	dup2(fd, 200);
	dup2(dfd, 201);
	FN(closefrom)(200);
	{
		__auto_type a0_ = RN(fcntl(200, F_GETFD));
		__auto_type a1_ = RN(fcntl(201, F_GETFD));
		say("closefrom", "200: %s %s", a0_, a1_);
	}
	say("closefrom", "view still usable: %s", contents(P("docs/readme.txt")));

	FILE *f = fopen(P("bin/hello.sh"), "r");
	int fno = f ? fileno(f) : -1;
	say("fclose", "view stream: %s", f ? RN(FN(fclose)(f)) : "no stream");
	say("fclose", "fd closed: %s", RN(fcntl(fno, F_GETFD)));
	if (fno >= 0 && dup2(p[0], fno) == fno) {
		say("fclose", "number reused by a pipe: %s", fd_str(fno));
		close(fno);
	}
	close(p[0]);
	close(p[1]);
	close(dfd);
	close(fd);

	say("umask", "set 077: old=%04o", (unsigned)FN(umask)(077));
	fd = creat(P(W(w, "um")), 0666);
	if (fd >= 0)
		close(fd);
	mkdir(P(W(w, "umd")), 0777);
	{
		__auto_type a0_ = lstat_str(P(W(w, "um")));
		__auto_type a1_ = lstat_str(P(W(w, "umd")));
		say("umask", "file: %s dir: %s", a0_, a1_);
	}
	say("umask", "set 022: old=%04o", (unsigned)FN(umask)(022));
}

/*
 * Another process's attempt at an exclusive lock of path: "got" or the
 * errno name (it opens path itself, read-only).
 */
static const char *lock_probe(const char *path, bool use_fcntl)
{
	int pfd[2];
	char res[32] = "?";

	if (pipe(pfd) < 0)
		return "no pipe";
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(path, O_RDWR | O_CLOEXEC);
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		int r = fd < 0 ? -1 : use_fcntl ? fcntl(fd, F_SETLK, &fl) : flock(fd, LOCK_EX | LOCK_NB);
		const char *s = r == 0 ? "got" : ename(errno);
		if (write(pfd[1], s, strlen(s)) < 0)
			_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	ssize_t n = read(pfd[0], res, sizeof(res) - 1);
	res[n > 0 ? n : 0] = '\0';
	close(pfd[0]);
	waitpid(pid, NULL, 0);
	char *b = ring();
	return strcpy(b, res);
}

/*
 * Locks hold across the holder's own copy-up and between processes: the
 * lower file lock.txt is locked through a read-only fd, then opened for
 * writing (a copy-up in the view), and another process must still be
 * refused.
 */
static void case_lock(void)
{
	int fd = open(P("lock.txt"), O_RDONLY | O_CLOEXEC), w, r;

	say("flock", "LOCK_EX: %s", RN(FN(flock)(fd, LOCK_EX)));
	say("flock", "other process, before the copy-up: %s", lock_probe(P("lock.txt"), false));
	w = open(P("lock.txt"), O_WRONLY | O_APPEND | O_CLOEXEC);
	r = w >= 0 ? (int)write(w, "x\n", 2) : -1;
	say("flock", "writer: %s", r == 2 ? "wrote" : ename(errno));
	say("flock", "other process, after the copy-up: %s", lock_probe(P("lock.txt"), false));
	say("flock", "LOCK_UN: %s", RN(FN(flock)(fd, LOCK_UN)));
	say("flock", "other process, unlocked: %s", lock_probe(P("lock.txt"), false));
	say("flock", "LOCK_SH|LOCK_NB: %s", RN(FN(flock)(fd, LOCK_SH | LOCK_NB)));
	say("flock", "bad op: %s", RN(FN(flock)(fd, 0)));
	say("flock", "bad fd: %s", RN(FN(flock)(-1, LOCK_EX)));
	flock(fd, LOCK_UN);

	say("lockf", "F_TLOCK on a read-only fd: %s", RN(FN(lockf)(fd, F_TLOCK, 0)));
	say("lockf", "F_TLOCK: %s", RN(FN(lockf)(w, F_TLOCK, 0)));
	say("lockf", "F_TEST (own lock): %s", RN(FN(lockf)(w, F_TEST, 0)));
	say("lockf", "other process: %s", lock_probe(P("lock.txt"), true));
	say("lockf", "F_ULOCK: %s", RN(FN(lockf)(w, F_ULOCK, 0)));
	say("lockf", "bad cmd: %s", RN(FN(lockf)(w, 99, 0)));
	say("lockf64", "F_LOCK of 1 byte: %s", RN(FN(lockf64)(w, F_LOCK, 1)));
	say("lockf64", "other process: %s", lock_probe(P("lock.txt"), true));
	say("lockf64", "F_ULOCK: %s", RN(FN(lockf64)(w, F_ULOCK, 1)));

	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_CUR, .l_start = -1, .l_len = 1 };
	say("fcntl", "F_SETLK at SEEK_CUR-1 (end of file): %s", RN(FN(fcntl)(w, F_SETLK, &fl)));
	fl = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET };
	say("fcntl", "F_GETLK from this process: %s type=%s", RN(FN(fcntl)(w, F_GETLK, &fl)),
	    fl.l_type == F_UNLCK ? "unlocked" : "locked");
	say("fcntl", "other process: %s", lock_probe(P("lock.txt"), true));
	fl = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET };
	say("fcntl", "F_OFD_SETLK on the read-only fd: %s", RN(FN(fcntl)(fd, F_OFD_SETLK, &fl)));
	fl.l_type = F_RDLCK;
	say("fcntl", "F_OFD_SETLK read lock: %s", RN(FN(fcntl)(fd, F_OFD_SETLK, &fl)));
	say("fcntl", "other process: %s", lock_probe(P("lock.txt"), true));
	close(w);
	close(fd);
}

/* ---- sock ---- */

static socklen_t sun_set(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path, sizeof(a->sun_path), "%s", path);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(a->sun_path) + 1);
}

static void case_sock(void)
{
	const char *w = workdir("sock");
	struct sockaddr_un a;
	socklen_t len;
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int s2 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	len = sun_set(&a, P("sock"));
	{
		__auto_type a0_ = RN(FN(bind)(s, (struct sockaddr *)&a, len));
		__auto_type a1_ = lstat_str(P("sock"));
		say("bind", "ROOT/sock: %s %s", a0_, a1_);
	}
	say("bind", "listen: %s", RN(listen(s, 4)));
	say("connect", "ROOT/sock: %s", RN(FN(connect)(c, (struct sockaddr *)&a, len)));
	int acc = accept4(s, NULL, NULL, SOCK_CLOEXEC);
	char buf[8] = { 0 };
	if (acc >= 0 && write(c, "hi", 2) == 2 && read(acc, buf, sizeof(buf)) > 0)
		say("connect", "data: '%s'", buf);
	else
		say("connect", "data: %s", ename(errno));
	if (acc >= 0)
		close(acc);
	say("bind", "in use: %s", RN(FN(bind)(s2, (struct sockaddr *)&a, len)));
	len = sun_set(&a, P("missing/sock"));
	say("bind", "missing dir: %s", RN(FN(bind)(s2, (struct sockaddr *)&a, len)));
	len = sun_set(&a, P("foo/sock"));
	say("bind", "under file: %s", RN(FN(bind)(s2, (struct sockaddr *)&a, len)));
	len = sun_set(&a, P("foo"));
	say("bind", "onto file: %s", RN(FN(bind)(s2, (struct sockaddr *)&a, len)));
	len = sun_set(&a, P("src/lib/s"));
	{
		__auto_type a0_ = RN(FN(bind)(s2, (struct sockaddr *)&a, len));
		__auto_type a1_ = lstat_str(P("src/lib/s"));
		say("bind", "in lower dir: %s %s", a0_, a1_);
	}
	close(s2);
	int c2 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	len = sun_set(&a, P("missing"));
	say("connect", "missing: %s", RN(FN(connect)(c2, (struct sockaddr *)&a, len)));
	len = sun_set(&a, P("foo"));
	say("connect", "regular file: %s", RN(FN(connect)(c2, (struct sockaddr *)&a, len)));
	len = sun_set(&a, P("src/lib/s"));
	say("connect", "not listening: %s", RN(FN(connect)(c2, (struct sockaddr *)&a, len)));
	close(c2);
	symlink("../../sock", P(W(w, "sock.link")));
	c2 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	len = sun_set(&a, P(W(w, "sock.link")));
	say("connect", "via symlink: %s", RN(FN(connect)(c2, (struct sockaddr *)&a, len)));
	close(c2);
	/* A relative socket path with the working directory in the tree. */
	chdir(P(w));
	s2 = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	len = sun_set(&a, "rel.sock");
	{
		__auto_type a0_ = RN(FN(bind)(s2, (struct sockaddr *)&a, len));
		__auto_type a1_ = lstat_str(P(W(w, "rel.sock")));
		say("bind", "relative: %s %s", a0_, a1_);
	}
	c2 = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	say("connect", "relative dgram: %s", RN(FN(connect)(c2, (struct sockaddr *)&a, len)));
	if (send(c2, "dg", 2, 0) == 2 && recv(s2, buf, sizeof(buf), 0) == 2)
		say("connect", "dgram data: '%.2s'", buf);
	close(c2);
	close(s2);
	back_to_start();
	/* Sockets off the tree pass through: an abstract name. */
	s2 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "layerfs-ex-%d", (int)getpid());
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(a.sun_path + 1));
	say("bind", "abstract: %s", RN(FN(bind)(s2, (struct sockaddr *)&a, len)));
	close(s2);
	close(c);
	close(s);
}

/* ---- misc ---- */

/* The inotify events waiting on ifd, as "watch:MASK[:name]". */
static const char *events(int ifd, const int *wds, const char *const *names, int n)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct list l = { 0 };
	ssize_t len = read(ifd, buf, sizeof(buf));
	static const struct { uint32_t m; const char *s; } bits[] = {
		{ IN_ACCESS, "ACCESS" }, { IN_MODIFY, "MODIFY" }, { IN_ATTRIB, "ATTRIB" },
		{ IN_CLOSE_WRITE, "CLOSE_WRITE" }, { IN_CLOSE_NOWRITE, "CLOSE_NOWRITE" },
		{ IN_OPEN, "OPEN" }, { IN_CREATE, "CREATE" }, { IN_DELETE, "DELETE" },
		{ IN_IGNORED, "IGNORED" }, { IN_ISDIR, "ISDIR" },
	};
	int seq = 0;

	for (ssize_t off = 0; off < len; ) {
		const struct inotify_event *e = (const struct inotify_event *)(buf + off);
		const char *who = "?";
		char m[128] = "";
		for (int i = 0; i < n; i++)
			if (wds[i] == e->wd)
				who = names[i];
		for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
			if (e->mask & bits[i].m)
				snprintf(m + strlen(m), sizeof(m) - strlen(m), "%s%s",
					 *m ? "|" : "",
					 bits[i].s);
		list_add(&l, "%02d %s:%s%s%s", seq++, who, m, e->len ? ":" : "",
			 e->len ? e->name : "");
		off += (ssize_t)sizeof(*e) + e->len;
	}
	return list_join(&l, ",");
}

static void case_inotify(void)
{
	const char *w = workdir("inotify");
	int ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	int wds[3];
	const char *names[3] = { "file", "dir", "lower" };
	char buf[8];

	put_file(P(W(w, "f")), "f\n", 0644);
	wds[0] = FN(inotify_add_watch)(ifd, P(W(w, "f")), IN_MODIFY | IN_CLOSE_WRITE);
	say("inotify_add_watch", "file: %s", res_fd(wds[0], errno));
	wds[1] = FN(inotify_add_watch)(ifd, P(w), IN_CREATE | IN_DELETE);
	say("inotify_add_watch", "dir: %s", res_fd(wds[1], errno));
	wds[2] = FN(inotify_add_watch)(ifd, P("docs/../bin/echo"),
				       IN_OPEN | IN_ACCESS | IN_CLOSE_NOWRITE);
	say("inotify_add_watch", "lower file: %s", res_fd(wds[2], errno));
	int fd = open(P(W(w, "f")), O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "more\n", 5) != 5)
			say("inotify_add_watch", "write: %s", ename(errno));
		close(fd);
	}
	put_file(P(W(w, "g")), "g\n", 0644);
	unlink(P(W(w, "g")));
	fd = open(P("bin/echo"), O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, buf, 4) != 4)
			say("inotify_add_watch", "read: %s", ename(errno));
		close(fd);
	}
	say("inotify_add_watch", "events: %s", events(ifd, wds, names, 3));
	say("inotify_add_watch", "same file again: %s",
	    RN(FN(inotify_add_watch)(ifd, P(W(w, "f")), IN_ATTRIB) == wds[0]));
	say("inotify_add_watch", "missing: %s",
	    RFD(FN(inotify_add_watch)(ifd, P("missing"), IN_MODIFY)));
	say("inotify_add_watch", "foo/x: %s",
	    RFD(FN(inotify_add_watch)(ifd, P("foo/x"), IN_MODIFY)));
	say("inotify_add_watch", "dangling: %s",
	    RFD(FN(inotify_add_watch)(ifd, P("dangling"), IN_MODIFY)));
	say("inotify_add_watch", "dangling dont_follow: %s",
	    RFD(FN(inotify_add_watch)(ifd, P("dangling"), IN_MODIFY | IN_DONT_FOLLOW)));
	say("inotify_add_watch", "onlydir on file: %s",
	    RFD(FN(inotify_add_watch)(ifd, P("foo"), IN_MODIFY | IN_ONLYDIR)));
	say("inotify_add_watch", "mask 0: %s", RFD(FN(inotify_add_watch)(ifd, P("foo"), 0)));
	say("inotify_add_watch", "bad fd: %s", RFD(FN(inotify_add_watch)(-1, P("foo"), IN_MODIFY)));
	close(ifd);
}

static void case_syscall(void)
{
	const char *w = workdir("syscall");
	syscall_fn sc = FN(syscall);
	char buf[PATH_MAX];
	struct stat st;
	long r;

	r = sc(SYS_openat, AT_FDCWD, P("docs/readme.txt"), O_RDONLY | O_CLOEXEC, 0);
	{
		__auto_type a0_ = res_fd(r, errno);
		__auto_type a1_ = r >= 0 ? read_rest((int)r) : "";
		say("syscall", "openat: %s %s", a0_, a1_);
	}
	if (r >= 0)
		say("syscall", "close: %s", RN(sc(SYS_close, r)));
	say("syscall", "openat missing: %s",
	    RFD(sc(SYS_openat, AT_FDCWD, P("missing"), O_RDONLY, 0)));
	r = sc(SYS_open, P("foo.link"), O_RDONLY | O_CLOEXEC, 0);
	{
		__auto_type a0_ = res_fd(r, errno);
		__auto_type a1_ = r >= 0 ? read_rest((int)r) : "";
		say("syscall", "open: %s %s", a0_, a1_);
	}
	if (r >= 0)
		close((int)r);
	errno = 0;
	r = sc(SYS_newfstatat, AT_FDCWD, P("foo"), &st, 0);
	say_stat("syscall", "newfstatat foo", (int)r, errno, &st);
	errno = 0;
	r = sc(SYS_newfstatat, AT_FDCWD, P("foo.link"), &st, AT_SYMLINK_NOFOLLOW);
	say_stat("syscall", "newfstatat foo.link nofollow", (int)r, errno, &st);
	errno = 0;
	r = sc(SYS_newfstatat, AT_FDCWD, P("foo/x"), &st, 0);
	say_stat("syscall", "newfstatat foo/x", (int)r, errno, &st);
	errno = 0;
	r = sc(SYS_stat, P("docs.link"), &st);
	say_stat("syscall", "stat docs.link", (int)r, errno, &st);
	errno = 0;
	r = sc(SYS_lstat, P("docs.link"), &st);
	say_stat("syscall", "lstat docs.link", (int)r, errno, &st);
	struct statx stx;
	errno = 0;
	r = sc(SYS_statx, AT_FDCWD, P("bin/hello.sh"), 0, STATX_BASIC_STATS, &stx);
	say("syscall", "statx: %s mode=%04o size=%llu", res_n(r, errno),
	    (unsigned)(stx.stx_mode & 07777), (unsigned long long)stx.stx_size);
	say("syscall", "statx missing: %s",
	    RN(sc(SYS_statx, AT_FDCWD, P("missing"), 0, STATX_BASIC_STATS, &stx)));
	int dfd = open_dir("src");
	struct list l = { 0 };
	errno = 0;
	r = sc(SYS_getdents64, dfd, buf, sizeof(buf));
	dents_names(&l, buf, r);
	say("syscall", "getdents64 src: %s %s", res_n(r > 0 ? 1 : r, errno), list_join(&l, ","));
	close(dfd);
	say("syscall", "getdents64 bad fd: %s", RN(sc(SYS_getdents64, -1, buf, sizeof(buf))));
	chdir(P("deep"));
	errno = 0;
	r = sc(SYS_getcwd, buf, sizeof(buf));
	{
		__auto_type a0_ = r > 0 && (size_t)r == strlen(buf) + 1;
		__auto_type a1_ = r > 0 ? rel(buf) : res_n(r, errno);
		say("syscall", "getcwd: len-ok=%d %s", a0_, a1_);
	}
	say("syscall", "getcwd small: %s", RN(sc(SYS_getcwd, buf, 2)));
	{
		__auto_type a0_ = RN(sc(SYS_chdir, P("docs")));
		__auto_type a1_ = cwd_str();
		say("syscall", "chdir docs: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(sc(SYS_fchdir, start_fd));
		__auto_type a1_ = cwd_str();
		say("syscall", "fchdir start: %s %s", a0_, a1_);
	}
	{
		__auto_type a0_ = RN(sc(SYS_mkdirat, AT_FDCWD, P(W(w, "d")), 0750));
		__auto_type a1_ = lstat_str(P(W(w, "d")));
		say("syscall", "mkdirat: %s %s", a0_, a1_);
	}
	say("syscall", "mkdir: %s", RN(sc(SYS_mkdir, P(W(w, "d2")), 0755)));
	say("syscall", "mkdirat existing: %s", RN(sc(SYS_mkdirat, AT_FDCWD, P("docs"), 0750)));
	{
		__auto_type a0_ = RN(sc(SYS_unlinkat, AT_FDCWD, P(W(w, "d")), AT_REMOVEDIR));
		__auto_type a1_ = lstat_str(P(W(w, "d")));
		say("syscall", "unlinkat dir: %s %s", a0_, a1_);
	}
	say("syscall", "rmdir: %s", RN(sc(SYS_rmdir, P(W(w, "d2")))));
	put_file(P(W(w, "f")), "f\n", 0644);
	{
		__auto_type a0_ = RN(sc(SYS_symlinkat, "f", AT_FDCWD, P(W(w, "l"))));
		__auto_type a1_ = lstat_str(P(W(w, "l")));
		say("syscall", "symlinkat: %s %s", a0_, a1_);
	}
	errno = 0;
	r = sc(SYS_readlinkat, AT_FDCWD, P(W(w, "l")), buf, sizeof(buf));
	say_readlink("syscall", "readlinkat", r, errno, buf);
	errno = 0;
	r = sc(SYS_readlink, P("foo.link"), buf, sizeof(buf));
	say_readlink("syscall", "readlink", r, errno, buf);
	say("syscall", "faccessat X hello.sh: %s",
	    RN(sc(SYS_faccessat, AT_FDCWD, P("bin/hello.sh"), X_OK)));
	say("syscall", "faccessat X foo: %s", RN(sc(SYS_faccessat, AT_FDCWD, P("foo"), X_OK)));
	say("syscall", "access missing: %s", RN(sc(SYS_access, P("missing"), F_OK)));
	{
		__auto_type a0_ = RN(sc(SYS_fchmodat, AT_FDCWD, P(W(w, "f")), 0600));
		__auto_type a1_ = lstat_str(P(W(w, "f")));
		say("syscall", "fchmodat: %s %s", a0_, a1_);
	}
	struct timespec ts[2] = { { 1000, 0 }, { 2000, 0 } };
	{
		__auto_type a0_ = RN(sc(SYS_utimensat, AT_FDCWD, P(W(w, "f")), ts, 0));
		__auto_type a1_ = mtime_str(P(W(w, "f")), true);
		say("syscall", "utimensat: %s %s", a0_, a1_);
	}
	int tfd = open(P(W(w, "f")), O_RDONLY | O_CLOEXEC);
	ts[1].tv_sec = 3000;
	{
		__auto_type a0_ = RN(sc(SYS_utimensat, tfd, NULL, ts, 0));
		__auto_type a1_ = mtime_str(P(W(w, "f")), true);
		say("syscall", "utimensat fd NULL path: %s %s", a0_, a1_);
	}
	if (tfd >= 0)
		close(tfd);
	say("syscall", "renameat2 noreplace: %s",
	    RN(sc(SYS_renameat2, AT_FDCWD, P(W(w, "f")), AT_FDCWD, P(W(w, "l")),
		  RENAME_NOREPLACE)));
	{
		__auto_type a0_ = RN(sc(SYS_renameat2, AT_FDCWD, P(W(w, "f")), AT_FDCWD,
					P(W(w, "g")), 0));
		__auto_type a1_ = lstat_str(P(W(w, "g")));
		say("syscall", "renameat2: %s %s", a0_, a1_);
	}
	say("syscall", "unlinkat file: %s", RN(sc(SYS_unlinkat, AT_FDCWD, P(W(w, "g")), 0)));
	say("syscall", "unlink symlink: %s", RN(sc(SYS_unlink, P(W(w, "l")))));
	struct statfs sf;
	errno = 0;
	r = sc(SYS_statfs, P("docs"), &sf);
	say_statfs("syscall", "statfs", (int)r, errno, &sf);
	say("syscall", "lgetxattr missing: %s",
	    RN(sc(SYS_lgetxattr, P("missing"), "user.x", buf, sizeof(buf))));
	say("syscall", "getpid: %d", sc(SYS_getpid) > 0);
}

/* A directory's link count: 2 + its subdirectories, or 1 (unknown, as a
 * merged overlayfs directory reports). */
static const char *dir_nlink(const char *rel_path)
{
	struct stat st, sub;
	DIR *d = opendir(P(rel_path));
	struct dirent *e;
	unsigned long subdirs = 0;
	char path[PATH_MAX];

	if (stat(P(rel_path), &st) < 0 || !d) {
		if (d)
			closedir(d);
		return res_n(-1, errno);
	}
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", P(rel_path), e->d_name);
		if (lstat(path, &sub) == 0 && S_ISDIR(sub.st_mode))
			subdirs++;
	}
	closedir(d);
	if (st.st_nlink == 1 || st.st_nlink == 2 + subdirs)
		return "1-or-2+subdirs";
	char *b = ring();
	snprintf(b, 64, "nlink=%lu subdirs=%lu", (unsigned long)st.st_nlink, subdirs);
	return b;
}

/* Beyond single rows: what a program sees across calls. */
static void case_semantics(void)
{
	struct stat a, b;
	static const char *const dirs[] = { "", "docs", "src", "deep", "bin", "w", "w/mkdir",
					    "docs/empty", "src/lib" };

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		say("semantics", "dir nlink %s: %s", *dirs[i] ? dirs[i] : "ROOT",
		    dir_nlink(dirs[i]));

	/* Hard links of the lower layer: a write through one name. */
	int fd = open(P("foo"), O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "more\n", 5) != 5)
			say("semantics", "write: %s", ename(errno));
		close(fd);
	}
	{
		__auto_type a0_ = contents(P("foo"));
		__auto_type a1_ = contents(P("foo.hard"));
		say("semantics", "hardlink: foo=%s foo.hard=%s", a0_, a1_);
	}
	say("semantics", "hardlink: nlink foo=%s", lstat_str(P("foo")));
	say("semantics", "hardlink: same inode=%d",
	    stat(P("foo"), &a) == 0 && stat(P("foo.hard"), &b) == 0 && a.st_ino == b.st_ino);
}

/* ---- 6. the case table ---------------------------------------------- */

struct ex_case {
	const char *name;
	void (*fn)(void);
	const char *rows;        /* the rows it covers, separated by spaces */
};

/* In order: the cases that delete and rename fixture entries come last. */
static const struct ex_case cases[] = {
	{ "open", case_open, "open open64 __open __open64 openat openat64 creat creat64 "
	  "__open_2 __open64_2 __openat_2 __openat64_2" },
	{ "handle", case_handle, "name_to_handle_at" },
	{ "stdio", case_stdio, "fopen fopen64 freopen freopen64 fdopen" },
	{ "stat", case_stat, "stat stat64 lstat lstat64 fstat fstat64 fstatat fstatat64 "
	  "__xstat __xstat64 __lxstat __lxstat64 __fxstat __fxstat64 __fxstatat __fxstatat64" },
	{ "statx", case_statx, "statx" },
	{ "statfs", case_statfs, "statfs statfs64 fstatfs fstatfs64 statvfs statvfs64 fstatvfs "
	  "fstatvfs64 pathconf fpathconf" },
	{ "access", case_access, "access faccessat euidaccess eaccess" },
	{ "dir", case_dir, "opendir fdopendir closedir readdir readdir64 readdir_r readdir64_r "
	  "rewinddir seekdir telldir dirfd scandir scandir64 scandirat scandirat64 getdents64 "
	  "getdirentries getdirentries64 lseek lseek64" },
	{ "walk", case_walk, "ftw ftw64 nftw nftw64 fts_open fts_read fts_children fts_set "
	  "fts_close fts64_open fts64_read fts64_children fts64_set fts64_close glob glob64 "
	  "globfree globfree64" },
	{ "readlink", case_readlink, "readlink readlinkat __readlink_chk __readlinkat_chk" },
	{ "link", case_link, "link linkat symlink symlinkat" },
	{ "cwd", case_cwd, "chdir fchdir getcwd __getcwd_chk getwd __getwd_chk "
	  "get_current_dir_name chroot" },
	{ "meta", case_meta, "chmod fchmod fchmodat lchmod chown fchown lchown fchownat utime "
	  "utimes lutimes futimes futimesat utimensat futimens truncate truncate64 ftruncate "
	  "ftruncate64" },
	{ "xattr", case_xattr, "getxattr lgetxattr fgetxattr setxattr lsetxattr fsetxattr "
	  "listxattr llistxattr flistxattr removexattr lremovexattr fremovexattr" },
	{ "resolve", case_resolve, "realpath __realpath_chk canonicalize_file_name" },
	{ "temp", case_temp, "mkstemp mkstemp64 mkostemp mkostemp64 mkstemps mkstemps64 "
	  "mkostemps mkostemps64 mkdtemp mktemp tmpfile tmpfile64 tempnam" },
	{ "exec", case_exec, "execve execv execvp execvpe execl execlp execle fexecve execveat" },
	{ "exec_sh", case_exec_sh, "execve" },
	{ "spawn", case_spawn, "posix_spawn posix_spawnp posix_spawn_file_actions_addopen "
	  "posix_spawn_file_actions_addchdir_np posix_spawn_file_actions_addfchdir_np "
	  "posix_spawn_file_actions_destroy" },
	{ "system", case_system, "system popen pclose" },
	{ "fork", case_fork, "fork vfork" },
	{ "fd", case_fd, "close close_range closefrom dup dup2 dup3 fcntl fcntl64 fclose umask" },
	{ "lock", case_lock, "flock lockf lockf64" },
	{ "sock", case_sock, "bind connect" },
	{ "inotify", case_inotify, "inotify_add_watch" },
	{ "syscall", case_syscall, "syscall" },
	{ "unlink", case_unlink, "unlink unlinkat remove" },
	{ "rename", case_rename, "rename renameat renameat2" },
	{ "mkdir", case_mkdir, "mkdir mkdirat rmdir" },
	{ "mknod", case_mknod, "mknod mknodat __xmknod __xmknodat mkfifo mkfifoat" },
	{ "semantics", case_semantics, "" },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* Calls fn(row) for each row a case lists. */
static void each_row(const char *rows, void (*fn)(const char *row, size_t len, void *arg),
		     void *arg)
{
	for (const char *p = rows; *p; ) {
		size_t n = strcspn(p, " ");
		if (n)
			fn(p, n, arg);
		p += n;
		p += strspn(p, " ");
	}
}

/* Does the space-separated list rows hold name (len bytes)? */
static bool rows_have(const char *rows, const char *name, size_t len)
{
	for (const char *p = rows; *p; ) {
		size_t n = strcspn(p, " ");
		if (n == len && strncmp(p, name, len) == 0)
			return true;
		p += n;
		p += strspn(p, " ");
	}
	return false;
}

/* Prints each row once: arg is the index of the case listing it. */
static void print_row(const char *row, size_t len, void *arg)
{
	size_t upto = *(const size_t *)arg;

	for (size_t i = 0; i < upto; i++)
		if (rows_have(cases[i].rows, row, len))
			return;
	printf("%.*s\n", (int)len, row);
}

/* A listed row the case never looked up is a failure of the exerciser. */
static void check_row(const char *row, size_t len, void *arg)
{
	for (int i = 0; i < ncalled; i++)
		if (strlen(called[i]) == len && strncmp(called[i], row, len) == 0)
			return;
	fprintf(stderr, "exerciser: case %s lists %.*s but does not call it\n",
		(const char *)arg, (int)len, row);
	failures++;
}

int main(int argc, char **argv)
{
	static char root_buf[PATH_MAX];

	if (argc == 2 && strcmp(argv[1], "--list-covered") == 0) {
		for (size_t i = 0; i < NCASES; i++)
			each_row(cases[i].rows, print_row, &i);
		return 0;
	}
	if (argc != 2 || argv[1][0] != '/' || strlen(argv[1]) >= sizeof(root_buf)) {
		fprintf(stderr, "usage: exerciser ROOT (an absolute path) | --list-covered\n");
		return 2;
	}
	/* The root without trailing slashes. */
	strcpy(root_buf, argv[1]);
	for (size_t n = strlen(root_buf); n > 1 && root_buf[n - 1] == '/'; n--)
		root_buf[n - 1] = '\0';
	root = root_buf;
	if (!realpath(root, root_real)) {
		fprintf(stderr, "exerciser: %s: %s\n", root, strerror(errno));
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	umask(022);
	unsetenv("TMPDIR");
	child_env_init();
	start_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (start_fd < 0) {
		perror("exerciser: open .");
		return 2;
	}
	for (size_t i = 0; i < NCASES; i++) {
		ncalled = 0;
		cases[i].fn();
		each_row(cases[i].rows, check_row, (void *)cases[i].name);
		back_to_start();
	}
	close(start_fd);
	return failures ? 3 : 0;
}
