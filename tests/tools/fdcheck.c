/* SPDX-License-Identifier: MIT */
/*
 * fdcheck - open fds across a copy-up, run under the shim.
 *
 * Usage: fdcheck ROOT   (ROOT/foo holds "testfoo\n" in the lower layer,
 * ROOT/docs/readme.txt three lines).  Prints "ok N - what" or
 * "not ok N - what" per check, then the plan "1..N" once every check has
 * run, and exits 1 if any failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int n, failed;
static const char *root;

static void check(int cond, const char *what)
{
	printf("%sok %d - %s\n", cond ? "" : "not ", ++n, what);
	if (!cond)
		failed = 1;
	fflush(stdout);
}

static char *at(const char *rel)
{
	static char buf[4][PATH_MAX];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", root, rel);
	return buf[i];
}

static ssize_t read_all(int fd, char *buf, size_t size)
{
	ssize_t r = read(fd, buf, size - 1);

	buf[r < 0 ? 0 : r] = '\0';
	return r;
}

/* Readers and dups opened before a writer follow the copy-up. */
static void readers_follow(void)
{
	char buf[64];
	int r1 = open(at("foo"), O_RDONLY | O_NONBLOCK);
	check(r1 >= 0, "reader opens the lower file");
	check(read(r1, buf, 2) == 2 && memcmp(buf, "te", 2) == 0, "reader reads 2 bytes");
	int r2 = dup(r1);
	int r3 = fcntl(r1, F_DUPFD_CLOEXEC, 50);
	int r4 = open(at("foo"), O_RDONLY);
	check(r2 >= 0 && r3 >= 50 && r4 >= 0, "dups and a second reader");
	struct stat before, after, wst;
	fstat(r1, &before);

	int w = open(at("foo"), O_WRONLY);
	check(w >= 0, "writer opens: copy-up");
	check(pwrite(w, "share", 5, 0) == 5, "writer writes at 0");
	check(read_all(r1, buf, sizeof(buf)) == 6 && strcmp(buf, "areoo\n") == 0,
	      "reader continues at its offset with the writer's data");
	check(lseek(r2, 0, SEEK_CUR) == 8, "the dup shares the offset");
	check(pread(r3, buf, 8, 0) == 8 && memcmp(buf, "shareoo\n", 8) == 0,
	      "F_DUPFD copy sees the new data");
	check(read_all(r4, buf, sizeof(buf)) == 8 && strcmp(buf, "shareoo\n") == 0,
	      "an independent reader has its own offset and the new data");
	check((fcntl(r1, F_GETFL) & O_NONBLOCK) != 0, "status flags kept");
	check((fcntl(r3, F_GETFD) & FD_CLOEXEC) != 0, "FD_CLOEXEC kept on the dup");
	check((fcntl(r1, F_GETFD) & FD_CLOEXEC) == 0, "no FD_CLOEXEC where there was none");
	fstat(r1, &after);
	fstat(w, &wst);
	check(before.st_ino == after.st_ino && after.st_ino == wst.st_ino,
	      "one inode number before and after copy-up");

	char link[PATH_MAX], proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", r1);
	ssize_t ln = readlink(proc, link, sizeof(link) - 1);
	link[ln < 0 ? 0 : ln] = '\0';
	check(strcmp(link, at("foo")) == 0, "/proc/self/fd/N names the view path");
	close(r1);
	close(r2);
	close(r3);
	close(r4);
	close(w);
}

/* O_APPEND writers on a lower file: both land at the end. */
static void appenders(void)
{
	char buf[256];
	int a = open(at("docs/readme.txt"), O_WRONLY | O_APPEND);
	int b = open(at("docs/readme.txt"), O_RDWR | O_APPEND);
	check(a >= 0 && b >= 0, "two O_APPEND writers");
	check(write(a, "A\n", 2) == 2 && write(b, "B\n", 2) == 2, "both write");
	lseek(b, 0, SEEK_SET);
	check(write(b, "C\n", 2) == 2, "a write after lseek(0) appends");
	check(pwrite(b, "D\n", 2, 0) == 2, "pwrite on O_APPEND appends (Linux)");
	int r = open(at("docs/readme.txt"), O_RDONLY);
	read_all(r, buf, sizeof(buf));
	check(strcmp(buf, "line one\nline two\nline three\nA\nB\nC\nD\n") == 0,
	      "every append at the end, in order");
	close(a);
	close(b);
	close(r);
}

/* A child that inherited a reader copies the file up: its fd follows. */
static void inherited(void)
{
	int r = open(at("docs/numbers.txt"), O_RDONLY);
	char c;
	check(r >= 0 && read(r, &c, 1) == 1 && c == '1', "parent reader");
	pid_t pid = fork();
	if (pid == 0) {
		int w = open(at("docs/numbers.txt"), O_WRONLY);
		int ok = w >= 0 && pwrite(w, "X", 1, 1) == 1;
		char d;
		ok = ok && read(r, &d, 1) == 1 && d == 'X';
		_exit(ok ? 0 : 1);
	}
	int st;
	waitpid(pid, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "an inherited fd follows the child's own copy-up");
	close(r);
}

/* An fd keeps reading a file that is unlinked from the view. */
static void unlinked(void)
{
	char buf[64];
	int r = open(at("readonly.txt"), O_RDONLY);
	check(r >= 0 && unlink(at("readonly.txt")) == 0, "unlink a lower file with an fd open");
	check(read_all(r, buf, sizeof(buf)) == 3 && strcmp(buf, "ro\n") == 0,
	      "the fd still reads it");
	errno = 0;
	check(open(at("readonly.txt"), O_RDONLY) < 0 && errno == ENOENT, "reopen is ENOENT");
	close(r);
}

/*
 * A file with no name left is still its fds' file: /proc/self/fd/N reopens
 * it, for reading and for writing, and every fd of it sees the writes; what
 * is under its magic link is ENOTDIR.  (fds.sh checks the lower after.)
 */
static void nameless(void)
{
	char buf[64], proc[64], under[80];
	int r = open(at("src/main.c"), O_RDONLY);
	int r2 = dup(r);
	check(r >= 0 && r2 >= 0 && unlink(at("src/main.c")) == 0,
	      "unlink a lower file never copied up, two fds of it open");
	check(read(r, buf, 1) == 1 && buf[0] == 'i', "the fd reads it");
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", r);
	snprintf(under, sizeof(under), "%s/x", proc);
	struct stat st, fst;
	check(stat(proc, &st) == 0 && fstat(r, &fst) == 0 && st.st_ino == fst.st_ino &&
	      st.st_dev == fst.st_dev && st.st_size == fst.st_size,
	      "stat of its magic link is fstat of the fd");
	errno = 0;
	check(stat(under, &st) < 0 && errno == ENOTDIR, "a name under it is ENOTDIR");
	int ro = open(proc, O_RDONLY);
	check(ro >= 0 && read_all(ro, buf, sizeof(buf)) > 0 && buf[0] == 'i',
	      "reopened read-only through /proc/self/fd");
	errno = 0;
	check(open(proc, O_RDONLY | O_CREAT | O_EXCL, 0600) < 0 && errno == EEXIST,
	      "O_CREAT|O_EXCL on it is EEXIST");
	int w = open(proc, O_RDWR);
	check(w >= 0 && pwrite(w, "WX", 2, 0) == 2, "reopened for writing, and written");
	check(pread(r, buf, 2, 0) == 2 && memcmp(buf, "WX", 2) == 0,
	      "the first fd reads the write");
	check(lseek(r2, 0, SEEK_CUR) == 1 && read(r2, buf, 1) == 1 && buf[0] == 'X',
	      "its dup keeps the shared offset and reads the write");
	check(fstat(r, &st) == 0 && st.st_ino == fst.st_ino && st.st_size == fst.st_size,
	      "the fd's inode number and size are unchanged");
	errno = 0;
	check(open(at("src/main.c"), O_RDONLY) < 0 && errno == ENOENT,
	      "its name stays gone");
	close(w);
	close(ro);
	close(r);
	close(r2);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fdcheck ROOT\n");
		return 2;
	}
	root = argv[1];
	readers_follow();
	appenders();
	inherited();
	unlinked();
	nameless();
	printf("1..%d\n", n);
	return failed;
}
