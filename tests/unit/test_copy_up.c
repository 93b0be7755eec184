/* SPDX-License-Identifier: MIT */
/*
 * test_copy_up.c - suite "copy_up" (core/copy_up.c): what a copy-up keeps
 * (data, holes, mode, owner, times, xattrs, inode number, the parent's
 * mtime), partial copies for truncate and O_TRUNC, the copied_up hook,
 * every entry type, modes 0444/0555 and read-only upper parents, the
 * permission checks of a non-root caller, and races: 16 processes copying
 * one file up at once, a process killed in the middle of a copy-up.  Hard
 * links: every name the view shows of a copied-up lower file shares the
 * copy (whatever the copy-up's cause), hidden names stay as they are, the
 * hook fires per name, 8 processes writing different names meet in one
 * copy, and what finding the names costs in an archive of 10^4 entries.
 */
#include "test_union.h"

#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>

TestSuite(copy_up, .init = fx_init, .fini = fx_fini);

/* Opens path for writing and closes it: a copy-up with no change. */
static void touch_up(const char *path)
{
	int fd = lyr_open(fx.u, path, O_RDWR, 0);

	OK(fd);
	close(fd);
	cr_assert_eq(lyr_union_which(fx.u, path), 0);
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* ---- what is kept ------------------------------------------------------- */

UTest(copy_up, keeps_mode_owner_times)
{
	struct stat before, after, host;
	char p[PATH_MAX * 2];

	fx_std(FX_HOST, FX_ARCHIVE);
	OK(fx_stat("bar/baz", &before));
	touch_up("bar/baz");
	OK(fx_stat("bar/baz", &after));
	cr_assert_eq(after.st_mode, before.st_mode);
	cr_assert_eq(after.st_uid, 1000);
	cr_assert_eq(after.st_gid, 1000);
	cr_assert(same_time(&after.st_mtim, &before.st_mtim));
	cr_assert_eq(after.st_size, 8);
	cr_assert_eq(after.st_ino, before.st_ino);
	snprintf(p, sizeof(p), "%s/bar/baz", fx.upper);
	cr_assert(lstat(p, &host) == 0 && host.st_uid == 1000 && host.st_gid == 1000);
	cr_assert(same_time(&host.st_mtim, &before.st_mtim));
}

UTest(copy_up, keeps_parent_mtime)
{
	struct stat root0, bar0, root1, bar1;

	fx_std(FX_HOST, FX_ARCHIVE);
	OK(fx_stat("", &root0));
	OK(fx_stat("bar", &bar0));
	sleep(1); /* so that a changed mtime would show */
	touch_up("bar/baz");
	OK(fx_stat("", &root1));
	OK(fx_stat("bar", &bar1));
	cr_assert(same_time(&root1.st_mtim, &root0.st_mtim), "root mtime");
	cr_assert(same_time(&bar1.st_mtim, &bar0.st_mtim), "bar mtime");
	cr_assert_eq(bar1.st_mode, bar0.st_mode);
	cr_assert_eq(bar1.st_uid, 1000);
}

UTest(copy_up, hook_fires_once_per_file)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	uint64_t baz = fx_ino("bar/baz");
	int fd = lyr_open(fx.u, "bar/baz", O_RDONLY, 0);
	close(fd);
	cr_assert_eq(fx.ncopied, 0);
	OK(lyr_chmod(fx.u, "bar", 0700)); /* a directory: no hook */
	cr_assert_eq(fx.ncopied, 0);
	touch_up("bar/baz");
	cr_assert_eq(fx.ncopied, 1);
	STREQ(fx.copied_path, "bar/baz");
	cr_assert_eq(fx.copied_ino, baz);
	touch_up("bar/baz");
	cr_assert_eq(fx.ncopied, 1, "already up");
}

UTest(copy_up, xattrs_copied)
{
	char p[PATH_MAX + 8], v[16] = "";

	snprintf(p, sizeof(p), "%s/foo", fx.src);
	if (lsetxattr(p, "user.color", "blue", 4, 0) < 0)
		cr_skip_test("no user xattrs here: %s", strerror(errno));
	fx_std(FX_HOST, FX_HOSTDIR);
	cr_assert_eq(lyr_getxattr(fx.u, "foo", "user.color", v, sizeof(v)), 4);
	touch_up("foo");
	memset(v, 0, sizeof(v));
	cr_assert_eq(lyr_getxattr(fx.u, "foo", "user.color", v, sizeof(v)), 4);
	STREQ(v, "blue");
}

UTest(copy_up, keeps_holes)
{
	struct stat st;
	char p[PATH_MAX * 2], c = 0;

	fx_sh("truncate -s 16M src/sparse && printf x >> src/sparse");
	fx_std(FX_HOST, FX_HOSTDIR);
	OK(lyr_chmod(fx.u, "sparse", 0600));
	snprintf(p, sizeof(p), "%s/sparse", fx.upper);
	cr_assert(stat(p, &st) == 0);
	cr_assert_eq(st.st_size, 16 * 1024 * 1024 + 1);
	cr_assert_lt(st.st_blocks, 1024, "holes stay holes (%lld blocks)",
		     (long long)st.st_blocks);
	int fd = lyr_open(fx.u, "sparse", O_RDONLY, 0);
	cr_assert_eq(pread(fd, &c, 1, 16 * 1024 * 1024), 1);
	cr_assert_eq(c, 'x');
	cr_assert_eq(pread(fd, &c, 1, 5000), 1);
	cr_assert_eq(c, 0);
	close(fd);
}

UTest(copy_up, large_file_data_exact)
{
	char p[PATH_MAX * 2], *a = malloc(3 << 20), *b = malloc(3 << 20);

	fx_sh("head -c 3145728 /dev/urandom > src/big");
	fx_std(FX_HOST, FX_ARCHIVE);
	touch_up("big");
	snprintf(p, sizeof(p), "%s/src/big", fx.root);
	int fa = open(p, O_RDONLY), fb = lyr_open(fx.u, "big", O_RDONLY, 0);
	cr_assert(fa >= 0 && fb >= 0);
	cr_assert_eq(pread(fa, a, 3 << 20, 0), 3 << 20);
	cr_assert_eq(pread(fb, b, 3 << 20, 0), 3 << 20);
	cr_assert(!memcmp(a, b, 3 << 20));
	close(fa);
	close(fb);
	free(a);
	free(b);
}

UTest(copy_up, mem_upper_keeps_metadata)
{
	struct stat before, after;

	fx_std(FX_MEM, FX_ARCHIVE);
	OK(fx_stat("bar/baz", &before));
	touch_up("bar/baz");
	OK(fx_stat("bar/baz", &after));
	cr_assert_eq(after.st_mode, before.st_mode);
	cr_assert_eq(after.st_uid, 1000);
	cr_assert_eq(after.st_gid, 1000);
	cr_assert(same_time(&after.st_mtim, &before.st_mtim));
	cr_assert_eq(after.st_ino, before.st_ino);
	OK(fx_stat("bar", &after));
	cr_assert_eq(after.st_uid, 1000);
}

/* ---- partial copies ------------------------------------------------------ */

UTest(copy_up, truncate_keeps_first_n_bytes)
{
	char buf[16];

	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_truncate(fx.u, "foo", 4));
	OK(fx_read("foo", buf, sizeof(buf)));
	STREQ(buf, "test");
	OK(lyr_truncate(fx.u, "bar/baz", 7));
	OK(fx_read("bar/baz", buf, sizeof(buf)));
	STREQ(buf, "testbaz");
}

UTest(copy_up, truncate_grows_with_zeros)
{
	char buf[32];
	struct stat st;

	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_truncate(fx.u, "foo", 20));
	OK(fx_stat("foo", &st));
	cr_assert_eq(st.st_size, 20);
	cr_assert_eq(fx_read("foo", buf, sizeof(buf)), 20);
	cr_assert(!memcmp(buf, "testfoo\n\0\0\0\0\0\0\0\0\0\0\0\0", 20));
	OK(lyr_truncate(fx.u, "bar/baz", 0));
	OK(fx_stat("bar/baz", &st));
	cr_assert_eq(st.st_size, 0);
}

UTest(copy_up, o_trunc_applied_once)
{
	char buf[16];

	fx_std(FX_HOST, FX_ARCHIVE);
	int fd = lyr_open(fx.u, "foo", O_WRONLY | O_TRUNC, 0);
	OK(fd);
	cr_assert_eq(write(fd, "abc", 3), 3);
	close(fd);
	OK(fd = lyr_open(fx.u, "foo", O_RDWR, 0));
	STREQ(fx_fd_str(fd), "abc");
	close(fd);
	OK(lyr_chmod(fx.u, "foo", 0600));
	OK(fx_read("foo", buf, sizeof(buf)));
	STREQ(buf, "abc");
	cr_assert_eq(fx.ncopied, 1);
}

/* ---- entry types and modes ----------------------------------------------- */

UTest(copy_up, mode_0444_file)
{
	char buf[16];
	struct stat st;

	fx_sh("printf ro > src/ro && chmod 0444 src/ro");
	fx_std(FX_HOST, FX_ARCHIVE);
	OK(fx_write("ro", O_WRONLY | O_APPEND, "+w"));
	OK(fx_read("ro", buf, sizeof(buf)));
	STREQ(buf, "ro+w");
	OK(fx_stat("ro", &st));
	cr_assert_eq(st.st_mode & 07777, 0444);
}

UTest(copy_up, mode_0555_file_and_dir)
{
	char buf[16];
	struct stat st;

	fx_sh("printf rx > src/rx && chmod 0555 src/rx && mkdir src/rodir && "
	      "printf f > src/rodir/f && chmod 0555 src/rodir");
	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_truncate(fx.u, "rx", 1));
	OK(fx_stat("rx", &st));
	cr_assert_eq(st.st_mode & 07777, 0555);
	OK(fx_write("rodir/f", O_WRONLY | O_TRUNC, "new"));
	OK(fx_read("rodir/f", buf, sizeof(buf)));
	STREQ(buf, "new");
	OK(fx_stat("rodir", &st));
	cr_assert_eq(st.st_mode & 07777, 0555);
}

UTest(copy_up, setuid_bits_kept)
{
	struct stat st;

	fx_sh("printf s > src/suid && chmod 04755 src/suid && printf t > src/sticky && "
	      "chmod 01644 src/sticky");
	fx_std(FX_HOST, FX_ARCHIVE);
	if (geteuid() != 0)
		cr_skip_test("setuid bits survive chown only as root");
	touch_up("suid");
	OK(fx_stat("suid", &st));
	cr_assert_eq(st.st_mode & 07777, 04755);
	touch_up("sticky");
	OK(fx_stat("sticky", &st));
	cr_assert_eq(st.st_mode & 07777, 01644);
}

UTest(copy_up, read_only_upper_parent)
{
	char buf[16];
	struct stat st;

	fx_sh("mkdir upper/bar && chmod 0555 upper/bar");
	fx_std(FX_HOST, FX_ARCHIVE);
	OK(fx_write("bar/baz", O_WRONLY | O_APPEND, "+"));
	OK(fx_read("bar/baz", buf, sizeof(buf)));
	STREQ(buf, "testbaz\n+");
	char p[PATH_MAX * 2];
	snprintf(p, sizeof(p), "%s/bar", fx.upper);
	cr_assert(stat(p, &st) == 0 && (st.st_mode & 07777) == 0555);
}

UTest(copy_up, symlink_entry)
{
	char buf[32] = "";
	struct stat st;

	fx_sh("ln -s bar/baz src/l");
	fx_std(FX_HOST, FX_ARCHIVE);
	struct timespec ts[2] = { { 100, 0 }, { 200, 0 } };
	OK(lyr_utimens(fx.u, "l", ts));
	cr_assert_eq(lyr_union_which(fx.u, "l"), 0);
	OK(fx_stat("l", &st));
	cr_assert(S_ISLNK(st.st_mode));
	cr_assert_eq(st.st_mtim.tv_sec, 200);
	cr_assert_eq(lyr_readlink(fx.u, "l", buf, sizeof(buf)), 7);
	STREQ(buf, "bar/baz");
	cr_assert_eq(fx.ncopied, 1);
}

UTest(copy_up, fifo_entry)
{
	struct stat st;

	fx_sh("mkfifo -m 0640 src/fifo");
	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_chmod(fx.u, "fifo", 0600));
	OK(fx_stat("fifo", &st));
	cr_assert(S_ISFIFO(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0600);
	cr_assert_eq(st.st_uid, 1000);
	cr_assert_eq(lyr_union_which(fx.u, "fifo"), 0);
}

UTest(copy_up, device_entry)
{
	struct stat st;

	if (geteuid() != 0)
		cr_skip_test("making devices needs root");
	fx_sh("mknod src/null c 1 3");
	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_chown(fx.u, "null", 5, 5));
	OK(fx_stat("null", &st));
	cr_assert(S_ISCHR(st.st_mode));
	cr_assert_eq(st.st_rdev, makedev(1, 3));
	cr_assert_eq(st.st_uid, 5);
}

UTest(copy_up, hard_link_of_lower)
{
	struct stat st;

	fx_std(FX_HOST, FX_ARCHIVE);
	uint64_t ino = fx_ino("bar/baz");
	OK(lyr_link(fx.u, "bar/baz", "baz2"));
	OK(fx_stat("baz2", &st));
	cr_assert_eq(st.st_ino, ino);
	cr_assert_eq(st.st_nlink, 2);
	cr_assert_eq(fx_ino("bar/baz"), ino);
	OK(lyr_unlink(fx.u, "bar/baz"));
	OK(fx_stat("baz2", &st));
	cr_assert_eq(st.st_nlink, 1);
	cr_assert_eq(st.st_ino, ino);
}

/* ---- a caller that is not root ---------------------------------------- */

/* Runs fn as uid/gid 65534 in a child; asserts it exits 0 (else its line). */
static void as_nobody(int (*fn)(void))
{
	if (geteuid() != 0)
		cr_skip_test("needs root to become another user");
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(255);
		_exit(fn());
	}
	int st;
	cr_assert(waitpid(pid, &st, 0) == pid);
	cr_assert(WIFEXITED(st), "child died");
	cr_assert_eq(WEXITSTATUS(st), 0, "check at line %d failed", WEXITSTATUS(st));
}

#define CHILD_ERR(expr, e)                                                    \
	do {                                                                  \
		if ((long)(expr) != -(e))                                     \
			return __LINE__ % 256 ? __LINE__ % 256 : 1;           \
	} while (0)

static int nobody_checks(void)
{
	struct timespec ts[2] = { { 1, 0 }, { 1, 0 } };

	CHILD_ERR(lyr_open(fx.u, "foo", O_WRONLY, 0), EACCES);
	CHILD_ERR(lyr_open(fx.u, "foo", O_RDONLY | O_TRUNC, 0), EACCES);
	CHILD_ERR(lyr_open(fx.u, "bar/new", O_WRONLY | O_CREAT, 0644), EACCES);
	CHILD_ERR(lyr_mkdir(fx.u, "bar/d", 0755), EACCES);
	CHILD_ERR(lyr_chmod(fx.u, "foo", 0777), EPERM);
	CHILD_ERR(lyr_chown(fx.u, "foo", 65534, (gid_t)-1), EPERM);
	CHILD_ERR(lyr_utimens(fx.u, "foo", ts), EPERM);
	CHILD_ERR(lyr_utimens(fx.u, "foo", NULL), EACCES);
	CHILD_ERR(lyr_truncate(fx.u, "foo", 0), EACCES);
	CHILD_ERR(lyr_unlink(fx.u, "bar/baz"), EACCES);
	CHILD_ERR(lyr_setxattr(fx.u, "foo", "user.x", "1", 1, 0), EACCES);
	return 0;
}

UTest(copy_up, nonroot_permission_checks_before_copy_up)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	as_nobody(nobody_checks);
	cr_assert_eq(fx_upper_count(""), 0, "nothing copied up");
}

static int nobody_copy_up(void)
{
	char buf[16] = "";
	int fd = lyr_open(fx.u, "rodir/f", O_WRONLY | O_APPEND, 0);

	if (fd < 0)
		return __LINE__ % 256;
	if (write(fd, "+", 1) != 1)
		return __LINE__ % 256;
	close(fd);
	if (fx_read("rodir/f", buf, sizeof(buf)) != 2 || strcmp(buf, "f+"))
		return __LINE__ % 256;
	return 0;
}

UTest(copy_up, nonroot_copy_up_into_read_only_dir)
{
	struct stat st;
	char p[PATH_MAX * 2];

	fx_sh("mkdir src/rodir && printf f > src/rodir/f && chmod 0644 src/rodir/f && "
	      "chmod 0555 src/rodir && chown -R 65534:65534 src upper");
	struct lyr_layer *lower = fx_hostdir(fx.src, LYR_HOST_RDONLY);
	fx.lower_is_dir = true;
	fx_union(fx_hostupper(), &lower, 1, 0);
	as_nobody(nobody_copy_up);
	snprintf(p, sizeof(p), "%s/rodir", fx.upper);
	cr_assert(stat(p, &st) == 0);
	cr_assert_eq(st.st_mode & 07777, 0555, "mode put back");
	cr_assert_eq(st.st_uid, 65534);
}

/* ---- races --------------------------------------------------------------- */

UTest(copy_up, concurrent_copy_up_16_processes)
{
	enum { N = 16, SIZE = 1 << 20 };
	char p[PATH_MAX * 2];
	int go[2];
	pid_t pids[N];

	fx_sh("head -c %d /dev/urandom > src/big", SIZE);
	fx_std(FX_HOST, FX_ARCHIVE);
	cr_assert(pipe(go) == 0);
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		cr_assert(pids[i] >= 0);
		if (pids[i] == 0) {
			char c;
			close(go[1]);
			if (read(go[0], &c, 1) != 0)
				_exit(2);
			int fd = lyr_open(fx.u, "big", O_RDWR, 0);
			if (fd < 0)
				_exit(3);
			c = (char)('A' + i);
			if (pwrite(fd, &c, 1, i) != 1)
				_exit(4);
			close(fd);
			_exit(0);
		}
	}
	close(go[0]);
	close(go[1]); /* every child starts now */
	for (int i = 0; i < N; i++) {
		int st;
		cr_assert(waitpid(pids[i], &st, 0) == pids[i]);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d: %d", i,
			  WEXITSTATUS(st));
	}
	cr_assert_eq(fx_upper_count(""), 1, "exactly one upper copy");
	char *a = malloc(SIZE), *b = malloc(SIZE);
	snprintf(p, sizeof(p), "%s/src/big", fx.root);
	int fa = open(p, O_RDONLY), fb = lyr_open(fx.u, "big", O_RDONLY, 0);
	cr_assert(fa >= 0 && fb >= 0);
	cr_assert_eq(pread(fa, a, SIZE, 0), SIZE);
	cr_assert_eq(pread(fb, b, SIZE, 0), SIZE);
	for (int i = 0; i < N; i++)
		cr_assert_eq(b[i], 'A' + i, "every writer's byte is in the one copy");
	cr_assert(!memcmp(a + N, b + N, SIZE - N), "the rest is the lower data");
	close(fa);
	close(fb);
	free(a);
	free(b);
}

static unsigned long long view_sum(const char *path, off_t *size)
{
	static char buf[1 << 16];
	unsigned long long h = 1469598103934665603ULL;
	ssize_t n;
	int fd = lyr_open(fx.u, path, O_RDONLY, 0);

	*size = 0;
	if (fd < 0)
		return 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			h = (h ^ (unsigned char)buf[i]) * 1099511628211ULL;
		*size += n;
	}
	close(fd);
	return h;
}

UTest(copy_up, sigkill_mid_copy_up_leaves_no_partial_file)
{
	const off_t size = 32 << 20;
	off_t got;

	fx_sh("yes abcdefghijklmnopqrstuvwxyz | head -c %lld > src/big",
	      (long long)size);
	fx_std(FX_HOST, FX_HOSTDIR);
	unsigned long long want = view_sum("big", &got);
	cr_assert_eq(got, size);
	for (int round = 0; round < 4; round++) {
		int sync[2];
		cr_assert(pipe(sync) == 0);
		pid_t pid = fork();
		cr_assert(pid >= 0);
		if (pid == 0) {
			close(sync[0]);
			if (write(sync[1], "g", 1) != 1)
				_exit(2);
			lyr_open(fx.u, "big", O_WRONLY, 0);
			for (;;)
				pause();
		}
		char c;
		close(sync[1]);
		cr_assert_eq(read(sync[0], &c, 1), 1);
		close(sync[0]);
		usleep(1000 + 3000 * round);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		/* Either the whole copy is there, or only the lower file shows. */
		int which = lyr_union_which(fx.u, "big");
		cr_assert(which == 0 || which == 1);
		cr_assert_eq(view_sum("big", &got), want, "round %d: content", round);
		cr_assert_eq(got, size);
		cr_assert(fx_upper_count("") <= 1, "no stray file");
		cr_assert_eq(fx_upper_has("big"), which == 0);
		if (which == 0)
			break;
	}
}

/* ---- hard links ---------------------------------------------------------- */

/* The names the hard-link tests give foo ("testfoo\n"). */
static const char *const hl3[] = { "foo", "foo.hard", "bar/foo.h3" };

/* foo with more names: foo.hard beside it and, with third, bar/foo.h3. */
static void hl_std(enum fx_upper up, enum fx_lower low, bool third)
{
	fx_sh("ln src/foo src/foo.hard%s", third ? " && ln src/foo src/bar/foo.h3" : "");
	fx_std(up, low);
}

/*
 * Every name of names shows data, inode number ino and st_nlink n; in a
 * host upper directory they are n links of one file.
 */
static void hl_check(const char *const *names, size_t n, const char *data,
		     uint64_t ino)
{
	struct stat st, host;
	char buf[256], p[PATH_MAX * 2];
	ino_t first = 0;

	for (size_t i = 0; i < n; i++) {
		OK(fx_stat(names[i], &st));
		cr_assert_eq(st.st_ino, ino, "%s: inode number", names[i]);
		cr_assert_eq(st.st_nlink, n, "%s: st_nlink %lu", names[i],
			     (unsigned long)st.st_nlink);
		cr_assert_eq(fx_read(names[i], buf, sizeof(buf)), (ssize_t)strlen(data));
		STREQ(buf, data, "%s: content", names[i]);
		cr_assert_eq(lyr_union_which(fx.u, names[i]), 0, "%s: upper", names[i]);
		if (!fx_upper_has(names[i]))
			continue; /* a memory upper layer */
		snprintf(p, sizeof(p), "%s/%s", fx.upper, names[i]);
		cr_assert(lstat(p, &host) == 0);
		if (!first)
			first = host.st_ino;
		cr_assert_eq(host.st_ino, first, "%s: one upper file", names[i]);
		cr_assert_eq(host.st_nlink, n);
	}
}

UTest(copy_up, hardlink_write_shows_through_every_name)
{
	hl_std(FX_HOST, FX_ARCHIVE, true);
	uint64_t ino = fx_ino("foo");
	cr_assert_eq(fx_ino("foo.hard"), ino);
	cr_assert_eq(fx_ino("bar/foo.h3"), ino);
	OK(fx_write("foo", O_WRONLY | O_APPEND, "more\n"));
	hl_check(hl3, 3, "testfoo\nmore\n", ino);
	cr_assert_eq(fx_upper_count(""), 3, "foo, foo.hard, bar: nothing else");
	fx_check_dinos("");
	fx_check_dinos("bar");
}

UTest(copy_up, hardlink_write_shows_through_every_name_hostdir)
{
	hl_std(FX_HOST, FX_HOSTDIR, true);
	uint64_t ino = fx_ino("foo");
	OK(fx_write("foo.hard", O_WRONLY | O_APPEND, "more\n"));
	hl_check(hl3, 3, "testfoo\nmore\n", ino);
}

UTest(copy_up, hardlink_mem_upper)
{
	hl_std(FX_MEM, FX_ARCHIVE, true);
	uint64_t ino = fx_ino("foo");
	OK(fx_write("bar/foo.h3", O_WRONLY | O_TRUNC, "new\n"));
	hl_check(hl3, 3, "new\n", ino);
}

UTest(copy_up, hardlink_chmod_visible_via_other)
{
	struct timespec ts[2] = { { 100, 0 }, { 200, 0 } };
	struct stat st;

	hl_std(FX_HOST, FX_ARCHIVE, true);
	uint64_t ino = fx_ino("foo");
	OK(lyr_chmod(fx.u, "foo", 0600));
	hl_check(hl3, 3, "testfoo\n", ino);
	for (size_t i = 0; i < 3; i++) {
		OK(fx_stat(hl3[i], &st));
		cr_assert_eq(st.st_mode & 07777, 0600, "%s: mode", hl3[i]);
	}
	OK(lyr_utimens(fx.u, "bar/foo.h3", ts));
	OK(fx_stat("foo.hard", &st));
	cr_assert_eq(st.st_mtim.tv_sec, 200);
	if (geteuid() != 0)
		return; /* giving files away needs root */
	OK(lyr_chown(fx.u, "foo.hard", 5, 6));
	OK(fx_stat("foo", &st));
	cr_assert(st.st_uid == 5 && st.st_gid == 6);
}

UTest(copy_up, hardlink_utimens_copies_every_name)
{
	struct timespec ts[2] = { { 100, 0 }, { 300, 0 } };
	struct stat st;

	hl_std(FX_HOST, FX_HOSTDIR, true);
	uint64_t ino = fx_ino("foo");
	OK(lyr_utimens(fx.u, "foo.hard", ts));
	hl_check(hl3, 3, "testfoo\n", ino);
	OK(fx_stat("bar/foo.h3", &st));
	cr_assert_eq(st.st_mtim.tv_sec, 300);
}

UTest(copy_up, hardlink_setxattr_via_other)
{
	char v[16] = "";

	hl_std(FX_HOST, FX_ARCHIVE, true);
	uint64_t ino = fx_ino("foo");
	int r = lyr_setxattr(fx.u, "foo.hard", "user.color", "red", 3, 0);
	if (r == -ENOTSUP || r == -EOPNOTSUPP)
		cr_skip_test("no user xattrs in the upper directory");
	OK(r);
	hl_check(hl3, 3, "testfoo\n", ino);
	cr_assert_eq(lyr_getxattr(fx.u, "bar/foo.h3", "user.color", v, sizeof(v)), 3);
	STREQ(v, "red");
}

UTest(copy_up, hardlink_truncate_via_link)
{
	hl_std(FX_HOST, FX_ARCHIVE, true);
	uint64_t ino = fx_ino("foo");
	OK(lyr_truncate(fx.u, "foo.hard", 5));
	hl_check(hl3, 3, "testf", ino);
	OK(lyr_truncate(fx.u, "bar/foo.h3", 2));
	hl_check(hl3, 3, "te", ino);
}

UTest(copy_up, hardlink_o_trunc_via_link)
{
	hl_std(FX_HOST, FX_ARCHIVE, true);
	uint64_t ino = fx_ino("foo");
	OK(fx_write("bar/foo.h3", O_WRONLY | O_TRUNC, "abc"));
	hl_check(hl3, 3, "abc", ino);
	cr_assert_eq(fx.ncopied, 3);
}

UTest(copy_up, hardlink_link_of_linked_lower)
{
	static const char *const names[] = { "foo", "foo.hard", "foo.hard2" };

	hl_std(FX_HOST, FX_ARCHIVE, false);
	uint64_t ino = fx_ino("foo");
	OK(lyr_link(fx.u, "foo", "foo.hard2"));
	hl_check(names, 3, "testfoo\n", ino);
	OK(fx_write("foo.hard2", O_WRONLY | O_APPEND, "x\n"));
	hl_check(names, 3, "testfoo\nx\n", ino);
}

UTest(copy_up, hardlink_rename_then_write)
{
	static const char *const names[] = { "foo", "bar/moved", "bar/foo.h3" };

	hl_std(FX_HOST, FX_ARCHIVE, true);
	uint64_t ino = fx_ino("foo");
	OK(lyr_rename(fx.u, "foo.hard", "bar/moved", 0));
	ERR(fx_stat("foo.hard", &(struct stat){ 0 }), ENOENT);
	hl_check(names, 3, "testfoo\n", ino);
	OK(fx_write("bar/moved", O_WRONLY | O_APPEND, "more\n"));
	hl_check(names, 3, "testfoo\nmore\n", ino);
	ERR(fx_stat("foo.hard", &(struct stat){ 0 }), ENOENT);
	STREQ(fx_ls_sorted(""), "bar foo");
}

UTest(copy_up, hardlink_whiteout_then_write)
{
	static const char *const names[] = { "foo", "bar/foo.h3" };
	char p[PATH_MAX * 2];
	struct stat st;

	hl_std(FX_HOST, FX_ARCHIVE, true);
	uint64_t ino = fx_ino("foo");
	OK(lyr_unlink(fx.u, "foo.hard"));
	OK(fx_write("foo", O_WRONLY | O_APPEND, "more\n"));
	hl_check(names, 2, "testfoo\nmore\n", ino);
	ERR(fx_stat("foo.hard", &st), ENOENT);
	cr_assert(fx_upper_has(".wh.foo.hard"), "the whiteout stays");
	cr_assert(!fx_upper_has("foo.hard"));
	STREQ(fx_ls_sorted(""), "bar foo");
	/* The whiteout is an empty marker, not a link of the copy. */
	struct stat copy;
	snprintf(p, sizeof(p), "%s/foo", fx.upper);
	cr_assert_eq(lstat(p, &copy), 0);
	snprintf(p, sizeof(p), "%s/.wh.foo.hard", fx.upper);
	cr_assert(lstat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0);
	cr_assert_neq(st.st_ino, copy.st_ino);
}

/*
 * Names the view does not show as the lower file stay as they are:
 * foo.hard shadowed by a higher lower layer, bar/foo.h3 under its opaque
 * bar, foo.up replaced in the upper layer, foo.wh whited out.  foo.vis is
 * linked.
 */
UTest(copy_up, hardlink_hidden_names_not_linked)
{
	static const char *const names[] = { "foo", "foo.vis" };
	struct lyr_layer *lowers[2];
	char buf[64], mid[PATH_MAX];
	struct stat st;

	fx_sh("for n in foo.hard bar/foo.h3 foo.up foo.wh foo.vis; do ln src/foo src/$n; done && "
	      "mkdir -p mid/bar && printf mid > mid/foo.hard && touch mid/bar/.wh..wh..opq");
	lowers[1] = fx_archive();
	snprintf(mid, sizeof(mid), "%s/mid", fx.root);
	lowers[0] = fx_hostdir(mid, LYR_HOST_RDONLY);
	fx_union(fx_hostupper(), lowers, 2, 0);
	uint64_t ino = fx_ino("foo");
	cr_assert_eq(fx_ino("foo.vis"), ino);
	cr_assert_neq(fx_ino("foo.hard"), ino);
	STREQ(fx_ls("bar"), "");
	OK(lyr_unlink(fx.u, "foo.up"));
	OK(fx_write("foo.up", O_WRONLY | O_CREAT | O_EXCL, "own\n"));
	OK(lyr_unlink(fx.u, "foo.wh"));
	int before = fx.ncopied;
	OK(fx_write("foo", O_WRONLY | O_APPEND, "more\n"));
	cr_assert_eq(fx.ncopied - before, 2, "foo and foo.vis");
	hl_check(names, 2, "testfoo\nmore\n", ino);
	OK(fx_read("foo.hard", buf, sizeof(buf)));
	STREQ(buf, "mid");
	OK(fx_read("foo.up", buf, sizeof(buf)));
	STREQ(buf, "own\n");
	ERR(fx_stat("foo.wh", &st), ENOENT);
	ERR(fx_stat("bar/foo.h3", &st), ENOENT);
	cr_assert(!fx_upper_has("bar"), "nothing made under the opaque bar");
	STREQ(fx_ls_sorted(""), "bar foo foo.hard foo.up foo.vis");
}

UTest(copy_up, hardlink_dir_rename_keeps_links)
{
	static const char *const names[] = { "foo", "foo.hard", "bar2/foo.h3" };

	hl_std(FX_HOST, FX_ARCHIVE, true);
	uint64_t ino = fx_ino("foo");
	OK(lyr_rename(fx.u, "bar", "bar2", 0));
	hl_check(names, 3, "testfoo\n", ino);
	OK(fx_write("bar2/foo.h3", O_WRONLY | O_APPEND, "more\n"));
	hl_check(names, 3, "testfoo\nmore\n", ino);
}

/* The other name 40 directories down: the walk goes deep and comes back. */
UTest(copy_up, hardlink_deep_tree)
{
	char deep[PATH_MAX] = "";

	for (int i = 0; i < 40; i++)
		strcat(deep, i ? "/d" : "d");
	fx_sh("mkdir -p src/%s src/a/b/c && touch src/a/b/c/x && ln src/foo src/%s/foo.deep",
	      deep, deep);
	strcat(deep, "/foo.deep");
	const char *names[] = { "foo", deep };
	fx_std(FX_HOST, FX_ARCHIVE);
	uint64_t ino = fx_ino("foo");
	OK(fx_write(deep, O_WRONLY | O_APPEND, "more\n"));
	hl_check(names, 2, "testfoo\nmore\n", ino);
	cr_assert(!fx_upper_has("a"), "directories without a name of it stay below");
}

/* A host lower whose file has a link outside the tree: only its own names. */
UTest(copy_up, hardlink_outside_hostdir_lower)
{
	static const char *const names[] = { "foo" };
	struct stat st;

	fx_sh("ln src/foo outside");
	fx_std(FX_HOST, FX_HOSTDIR);
	OK(fx_stat("foo", &st));
	cr_assert_eq(st.st_nlink, 2, "the lower's count");
	uint64_t ino = fx_ino("foo");
	OK(fx_write("foo", O_WRONLY | O_APPEND, "more\n"));
	hl_check(names, 1, "testfoo\nmore\n", ino);
	cr_assert_eq(fx.ncopied, 1);
	cr_assert_eq(fx_upper_count(""), 1);
}

static char hl_seen[8][64];
static uint64_t hl_seen_ino[8];
static int hl_nseen;

static void hl_record(const char *path, uint64_t ino)
{
	if (hl_nseen < 8) {
		snprintf(hl_seen[hl_nseen], sizeof(hl_seen[0]), "%s", path);
		hl_seen_ino[hl_nseen++] = ino;
	}
}

UTest(copy_up, hardlink_hook_fires_per_name)
{
	hl_std(FX_HOST, FX_ARCHIVE, true);
	uint64_t ino = fx_ino("foo");
	fx.hook = hl_record;
	OK(fx_write("foo.hard", O_WRONLY | O_APPEND, "x"));
	cr_assert_eq(fx.ncopied, 3);
	cr_assert_eq(hl_nseen, 3);
	for (size_t i = 0; i < 3; i++) {
		int found = 0;
		for (int j = 0; j < hl_nseen; j++)
			if (!strcmp(hl_seen[j], hl3[i])) {
				found++;
				cr_assert_eq(hl_seen_ino[j], ino, "%s: hook ino", hl3[i]);
			}
		cr_assert_eq(found, 1, "%s: hook fired %d times", hl3[i], found);
	}
	OK(fx_write("foo", O_WRONLY | O_APPEND, "y"));
	cr_assert_eq(fx.ncopied, 3, "already up: no more");
}

static void hl_check_upper_now(const char *path, uint64_t ino)
{
	(void)ino;
	cr_assert_eq(lyr_union_which(fx.u, path), 0, "%s: upper when the hook runs", path);
}

UTest(copy_up, hardlink_hook_sees_upper_name)
{
	hl_std(FX_HOST, FX_HOSTDIR, true);
	fx.hook = hl_check_upper_now;
	OK(lyr_chmod(fx.u, "bar/foo.h3", 0640));
	cr_assert_eq(fx.ncopied, 3);
}

UTest(copy_up, hardlink_joins_copy_left_by_crash)
{
	char p[PATH_MAX * 2];

	hl_std(FX_HOST, FX_ARCHIVE, true);
	uint64_t ino = fx_ino("foo");
	OK(lyr_chmod(fx.u, "foo", 0640));
	/* As if killed after the copy got its first name: the others are lower. */
	snprintf(p, sizeof(p), "%s/foo.hard", fx.upper);
	cr_assert(unlink(p) == 0);
	snprintf(p, sizeof(p), "%s/bar/foo.h3", fx.upper);
	cr_assert(unlink(p) == 0);
	cr_assert_eq(lyr_union_which(fx.u, "foo.hard"), 1);
	OK(fx_write("foo", O_WRONLY | O_APPEND, "more\n"));
	/* Writing a lower name links it, and the rest, to that copy. */
	OK(fx_write("bar/foo.h3", O_WRONLY | O_APPEND, "h3\n"));
	hl_check(hl3, 3, "testfoo\nmore\nh3\n", ino);
}

UTest(copy_up, hardlink_single_name_unchanged)
{
	hl_std(FX_HOST, FX_ARCHIVE, true);
	touch_up("bar/baz");
	cr_assert_eq(fx.ncopied, 1);
	cr_assert_eq(fx_upper_count(""), 1, "only bar");
	cr_assert_eq(fx_upper_count("bar"), 1, "only baz");
}

/* 8 processes each write a different name of one lower file, at once. */
UTest(copy_up, hardlink_race_8_processes)
{
	enum { N = 8, SIZE = 256 << 10 };
	static const char *const names[N] = { "h0", "h1", "h2", "h3",
					       "d/h4", "d/h5", "e/f/h6", "e/f/h7" };
	char p[PATH_MAX * 2];
	struct stat st;

	fx_sh("mkdir -p src/d src/e/f && head -c %d /dev/urandom > src/h0 && "
	      "for n in h1 h2 h3 d/h4 d/h5 e/f/h6 e/f/h7; do ln src/h0 src/$n; done",
	      SIZE);
	fx_std(FX_HOST, FX_ARCHIVE);
	uint64_t ino = fx_ino("h0");
	for (int round = 0; round < 3; round++) {
		int go[2];
		pid_t pids[N];

		if (round) {
			lyr_destroy(fx.u);
			fx.u = NULL;
			fx_sh("rm -rf upper && mkdir upper");
			struct lyr_layer *lower = fx_archive();
			fx_union(fx_hostupper(), &lower, 1, 0);
		}
		cr_assert(pipe(go) == 0);
		for (int i = 0; i < N; i++) {
			pids[i] = fork();
			cr_assert(pids[i] >= 0);
			if (pids[i] == 0) {
				char c;
				close(go[1]);
				if (read(go[0], &c, 1) != 0)
					_exit(2);
				int fd = lyr_open(fx.u, names[i], O_RDWR, 0);
				if (fd < 0)
					_exit(3);
				c = (char)('A' + i);
				if (pwrite(fd, &c, 1, i) != 1)
					_exit(4);
				close(fd);
				_exit(0);
			}
		}
		close(go[0]);
		close(go[1]);
		for (int i = 0; i < N; i++) {
			int ws;
			cr_assert(waitpid(pids[i], &ws, 0) == pids[i]);
			cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "child %d: %d", i,
				  WEXITSTATUS(ws));
		}
		ino_t host_ino = 0;
		for (int i = 0; i < N; i++) {
			snprintf(p, sizeof(p), "%s/%s", fx.upper, names[i]);
			cr_assert(lstat(p, &st) == 0, "round %d: %s upper", round, names[i]);
			if (!i)
				host_ino = st.st_ino;
			cr_assert_eq(st.st_ino, host_ino, "round %d: %s: one upper inode",
				     round, names[i]);
			cr_assert_eq(st.st_nlink, N);
			OK(fx_stat(names[i], &st));
			cr_assert_eq(st.st_ino, ino);
			int fd = lyr_open(fx.u, names[i], O_RDONLY, 0);
			OK(fd);
			char b[N];
			cr_assert_eq(pread(fd, b, N, 0), N);
			close(fd);
			for (int j = 0; j < N; j++)
				cr_assert_eq(b[j], 'A' + j, "round %d: %s: byte %d", round,
					     names[i], j);
		}
		cr_assert_eq(fx_upper_count(""), 6, "h0-h3, d, e: nothing else");
		cr_assert_eq(fx_upper_count("d"), 2);
		cr_assert_eq(fx_upper_count("e/f"), 2);
	}
}

static double hl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Mean seconds of a chmod (a copy-up) of big/d%02d/f000, d in [from, from+n). */
static double hl_time_chmod(int from, int n)
{
	char p[64];
	double t = hl_now();

	for (int d = from; d < from + n; d++) {
		snprintf(p, sizeof(p), "big/d%02d/f000", d);
		OK(lyr_chmod(fx.u, p, 0600));
	}
	return (hl_now() - t) / n;
}

/*
 * The cost of finding the other names, in an archive of 10^4 entries:
 * a copy-up of a file with one name, of one whose other name is beside
 * it, and of one whose other name the walk reaches last.
 */
UTest(copy_up, hardlink_cost_10k_entries)
{
	enum { K = 10 };

	fx_sh("mkdir src/big && cd src/big && for d in $(seq -w 0 99); do "
	      "mkdir d$d && (cd d$d && touch $(seq -f f%%03g 0 98)); done && "
	      "for d in $(seq -w 10 19); do ln d$d/f000 d$d/near; done && "
	      "for d in $(seq -w 20 29); do ln d$d/f000 d99/far$d; done");
	fx_std(FX_HOST, FX_ARCHIVE);
	double one = hl_time_chmod(0, K);
	double near = hl_time_chmod(10, K);
	double far = hl_time_chmod(20, K);
	fprintf(stderr, "copy_up: archive of 10^4 entries: copy-up of a file with 1 name "
		"%.0f us, 2 names in one directory %.0f us, 2 names far apart %.0f us "
		"(extra %.0f us)\n", one * 1e6, near * 1e6, far * 1e6, (far - one) * 1e6);
	uint64_t ino = fx_ino("big/d20/f000");
	cr_assert_eq(fx_ino("big/d99/far20"), ino);
	struct stat st;
	OK(fx_stat("big/d99/far29", &st));
	cr_assert_eq(st.st_mode & 07777, 0600);
	cr_assert_eq(lyr_union_which(fx.u, "big/d99/far29"), 0);
	cr_assert_lt(far, 2.0, "a walk of 10^4 entries takes %.3f s", far);
}

/* ---- inode numbers of every type (issue 13 item 9) ---------------------- */

/*
 * A symlink, a fifo and a socket of the lower keep their view inode
 * numbers when a chown, a utimens, a rename or a hard link copies them up,
 * and a second union over the same host upper reads the same numbers.
 */
static void keeps_ino_every_type(enum fx_upper up, enum fx_lower low)
{
	static const char *const names[] = { "sl", "sl2", "sl3", "ff", "ff2", "so" };
	static const char *const moved[] = { "sl", "bar/sl2", "sl3", "ff", "bar/ff2", "so" };
	const struct timespec ts[2] = { { 1, 0 }, { 2, 0 } };
	uint64_t ino[6];
	struct stat st;
	int n = low == FX_HOSTDIR ? 6 : 5; /* a tar holds no socket */

	fx_sh("ln -s foo src/sl && ln -s nowhere src/sl2 && ln -s foo src/sl3 && "
	      "mkfifo src/ff src/ff2 && "
	      "python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind(\"src/so\")'");
	fx_std(up, low);
	for (int i = 0; i < n; i++)
		cr_assert_neq(ino[i] = fx_ino(names[i]), 0, "%s", names[i]);
	OK(lyr_utimens(fx.u, "sl", ts));
	OK(lyr_rename(fx.u, "sl2", "bar/sl2", 0));
	OK(lyr_link(fx.u, "sl3", "bar/sl3.link"));
	OK(lyr_chown(fx.u, "ff", 7, 7));
	OK(lyr_rename(fx.u, "ff2", "bar/ff2", 0));
	if (n == 6)
		OK(lyr_utimens(fx.u, "so", ts));
	for (int i = 0; i < n; i++) {
		cr_assert_eq(lyr_union_which(fx.u, moved[i]), 0, "%s copied up", moved[i]);
		cr_assert_eq(fx_ino(moved[i]), ino[i], "%s: inode number", moved[i]);
	}
	OK(fx_stat("bar/sl3.link", &st));
	cr_assert_eq(st.st_ino, ino[2], "a hard link to a copied-up symlink");
	cr_assert_eq(st.st_nlink, 2);
	OK(fx_stat("ff", &st));
	cr_assert_eq(st.st_uid, 7);
	if (up != FX_HOST)
		return;
	/* A kept upper, used again. */
	lyr_destroy(fx.u);
	fx.u = NULL;
	fx_std(up, low);
	for (int i = 0; i < n; i++)
		cr_assert_eq(fx_ino(moved[i]), ino[i], "again: %s: inode number", moved[i]);
	cr_assert_eq(fx_ino("bar/sl3.link"), ino[2]);
	/* The store is not in the view. */
	cr_assert(!strstr(fx_ls_sorted(""), ".wh."), "%s", fx_ls_sorted(""));
	cr_assert_eq(fx_stat(".wh..wh..layerfs-xattr", &st), -ENOENT);
}

UTest(copy_up, ino_every_type_host_upper_archive)
{
	keeps_ino_every_type(FX_HOST, FX_ARCHIVE);
}

UTest(copy_up, ino_every_type_host_upper_dir)
{
	keeps_ino_every_type(FX_HOST, FX_HOSTDIR);
}

UTest(copy_up, ino_every_type_mem_upper)
{
	keeps_ino_every_type(FX_MEM, FX_ARCHIVE);
}

/*
 * The record of a copied-up symlink goes with its last name (unlink, a
 * rename over it), not with another; private xattrs stay out of the view's
 * xattr calls on it, and user.* ones stay refused as Linux refuses them.
 */
UTest(copy_up, ino_store_follows_names)
{
	uint64_t ino;

	fx_sh("ln -s foo src/sl && ln -s foo src/sl2 && ln -s foo src/sl3");
	fx_std(FX_HOST, FX_ARCHIVE);
	ino = fx_ino("sl");
	OK(lyr_chown(fx.u, "sl", 3, 3));
	OK(lyr_link(fx.u, "sl", "sl.link"));
	cr_assert_eq(fx_upper_count(".wh..wh..layerfs-xattr"), 1);
	OK(lyr_unlink(fx.u, "sl"));
	cr_assert_eq(fx_ino("sl.link"), ino, "another name keeps the record");
	cr_assert_eq(fx_upper_count(".wh..wh..layerfs-xattr"), 1);
	OK(lyr_chown(fx.u, "sl2", 3, 3));
	cr_assert_eq(fx_upper_count(".wh..wh..layerfs-xattr"), 2);
	OK(lyr_rename(fx.u, "sl.link", "sl2", 0));
	cr_assert_eq(fx_ino("sl2"), ino);
	cr_assert_eq(fx_upper_count(".wh..wh..layerfs-xattr"), 1, "renamed over: dropped");
	OK(lyr_unlink(fx.u, "sl2"));
	cr_assert_eq(fx_upper_count(".wh..wh..layerfs-xattr"), 0, "last name: dropped");
	/* The view's xattr calls on a copied-up symlink: nothing private
	 * listed, user.* refused as Linux refuses it. */
	OK(lyr_chown(fx.u, "sl3", 3, 3));
	cr_assert_eq(lyr_union_which(fx.u, "sl3"), 0);
	cr_assert_eq(lyr_listxattr(fx.u, "sl3", NULL, 0), 0);
	cr_assert_eq(lyr_setxattr(fx.u, "sl3", "user.x", "1", 1, 0), -EPERM);
}
