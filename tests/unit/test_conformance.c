/* SPDX-License-Identifier: MIT */
/*
 * test_conformance.c - one set of behaviour checks run against every
 * backend through the lyr_* dispatchers (suite "conformance").
 *
 * Each check is a Criterion ParameterizedTest over the table of backends:
 * a host directory (in a mkdtemp dir), a memory layer, and an archive (a
 * tar made with tar(1) from the same fixture, opened with a cache in the
 * test's own directory).  Every backend starts from the fixture of
 * seed-cases.md, built through the layer interface:
 *
 *   foo        "testfoo\n", 0644, owner 1000:1000
 *   bar/       0755, with bar/baz "baz\n"
 *   lnk        -> foo
 *   a/b/c/     a chain of directories, with a/b/c/deep "deep\n"
 *   hl         a hard link to foo
 *   empty/     an empty directory
 *
 * Read-only checks run on all three.  Checks that modify run on the
 * writable backends; on the archive they assert that the modification
 * fails with EROFS.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "layerfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

enum conf_kind { CONF_HOST, CONF_MEM, CONF_ARCHIVE };

struct backend {
	enum conf_kind kind;
};

static struct backend Backends[] = {
	{ CONF_HOST },
	{ CONF_MEM },
	{ CONF_ARCHIVE },
};

/* The layer under test; one per test process. */
static struct {
	char tmp[256];
	struct lyr_layer *l;
	bool writable;
} C;

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void conf_fini(void)
{
	if (C.l)
		lyr_destroy(C.l);
	C.l = NULL;
	if (C.tmp[0])
		nftw(C.tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static struct criterion_test_params conf_params(void)
{
	return cr_make_param_array(struct backend, Backends,
				   sizeof(Backends) / sizeof(Backends[0]));
}

/* A check over every backend: the body opens the layer with conf_open(b). */
#define CONF_TEST(name)                                                        \
	ParameterizedTestParameters(conformance, name)                         \
	{                                                                      \
		return conf_params();                                          \
	}                                                                      \
	ParameterizedTest(struct backend *b, conformance, name, .fini = conf_fini)

/* ---- the fixture ----------------------------------------------------- */

static void fx_file(struct lyr_layer *l, const char *path, const char *data,
		    mode_t mode)
{
	int fd = lyr_open(l, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
	cr_assert_geq(fd, 0, "create %s: %s", path, strerror(-fd));
	cr_assert_eq(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

static void fx_populate(struct lyr_layer *l)
{
	fx_file(l, "foo", "testfoo\n", 0644);
	cr_assert_eq(lyr_chown(l, "foo", 1000, 1000), 0);
	cr_assert_eq(lyr_mkdir(l, "bar", 0755), 0);
	fx_file(l, "bar/baz", "baz\n", 0644);
	cr_assert_eq(lyr_symlink(l, "foo", "lnk"), 0);
	cr_assert_eq(lyr_mkdir(l, "a", 0755), 0);
	cr_assert_eq(lyr_mkdir(l, "a/b", 0755), 0);
	cr_assert_eq(lyr_mkdir(l, "a/b/c", 0755), 0);
	fx_file(l, "a/b/c/deep", "deep\n", 0644);
	cr_assert_eq(lyr_link(l, "foo", "hl"), 0);
	cr_assert_eq(lyr_mkdir(l, "empty", 0755), 0);
	cr_assert_eq(lyr_chown(l, "bar", 1000, 1000), 0);
}

static void run_tar(const char *src, const char *out)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		execlp("tar", "tar", "-C", src, "--numeric-owner", "-cf", out,
		       "foo", "bar", "lnk", "a", "hl", "empty", (char *)NULL);
		_exit(127);
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "tar failed");
}

static void conf_open_archive(void)
{
	struct lyr_error err = { "" };
	char src[300], tar[300], cache[300];
	struct lyr_layer *h;

	snprintf(src, sizeof(src), "%s/src", C.tmp);
	snprintf(tar, sizeof(tar), "%s/fixture.tar", C.tmp);
	snprintf(cache, sizeof(cache), "%s/cache", C.tmp);
	cr_assert_eq(mkdir(src, 0755), 0);
	cr_assert_eq(mkdir(cache, 0700), 0);
	cr_assert_eq(lyr_host_open(src, 0, &h, &err), 0, "%s", err.msg);
	fx_populate(h);
	lyr_destroy(h);
	run_tar(src, tar);
	int r = lyr_archive_open(tar, &(struct lyr_archive_opts){ .cache_dir = cache },
				 &C.l, &err);
	if (r == -ENOSYS)
		cr_skip_test("archive layer not built in");
	cr_assert_eq(r, 0, "lyr_archive_open: %s", err.msg);
	C.writable = false;
}

static void conf_open(const struct backend *b)
{
	struct lyr_error err = { "" };
	const char *t = getenv("TMPDIR");
	char root[300];

	umask(022);
	snprintf(C.tmp, sizeof(C.tmp), "%s/lyr-conf-XXXXXX", t && *t ? t : "/tmp");
	cr_assert_not_null(mkdtemp(C.tmp));
	switch (b->kind) {
	case CONF_HOST:
		snprintf(root, sizeof(root), "%s/root", C.tmp);
		cr_assert_eq(mkdir(root, 0755), 0);
		cr_assert_eq(lyr_host_open(root, 0, &C.l, &err), 0, "%s", err.msg);
		fx_populate(C.l);
		C.writable = true;
		break;
	case CONF_MEM:
		cr_assert_eq(lyr_mem_open(&C.l, &err), 0, "%s", err.msg);
		fx_populate(C.l);
		C.writable = true;
		break;
	case CONF_ARCHIVE:
		conf_open_archive();
		break;
	}
}

/* ---- helpers --------------------------------------------------------- */

static struct stat st_of(const char *path)
{
	struct stat st;
	unsigned flags;
	int r = lyr_lookup(C.l, path, &st, &flags);

	cr_assert_eq(r, 0, "lookup %s: %s", path, strerror(-r));
	cr_assert_eq(flags & LYR_WHITEOUT, 0, "%s is a whiteout", path);
	return st;
}

static int lookup_err(const char *path)
{
	struct stat st;

	return lyr_lookup(C.l, path, &st, NULL);
}

static unsigned lookup_flags(const char *path)
{
	struct stat st;
	unsigned flags = 99;

	cr_assert_eq(lyr_lookup(C.l, path, &st, &flags), 0, "lookup %s", path);
	return flags;
}

/* The content of path, NUL-terminated. */
static void content(const char *path, char *buf, size_t size)
{
	int fd = lyr_open(C.l, path, O_RDONLY, 0);

	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(-fd));
	ssize_t n = read(fd, buf, size - 1);
	cr_assert_geq(n, 0);
	buf[n] = '\0';
	close(fd);
}

static void put(const char *path, const char *data)
{
	fx_file(C.l, path, data, 0644);
}

static const struct lyr_dirent *find_ent(const struct lyr_dirlist *d, const char *name)
{
	const struct lyr_dirent *hit = NULL;

	for (size_t i = 0; i < d->n; i++) {
		if (strcmp(d->ents[i].name, name))
			continue;
		cr_assert_null(hit, "%s listed twice", name);
		hit = &d->ents[i];
	}
	return hit;
}

/* Checks a listing: "." and ".." first, then exactly names, each once. */
static void check_listing(const char *dir, const char *const *names, size_t n)
{
	struct lyr_dirlist d;
	char path[PATH_MAX];

	cr_assert_eq(lyr_readdir(C.l, dir, &d), 0, "readdir %s", dir);
	cr_assert_eq(d.n, n + 2, "%s: %zu entries", dir, d.n);
	cr_assert_str_eq(d.ents[0].name, ".");
	cr_assert_str_eq(d.ents[1].name, "..");
	cr_assert_eq(d.ents[0].ino, st_of(dir).st_ino);
	cr_assert_eq(d.ents[0].type, DT_DIR);
	for (size_t i = 0; i < n; i++) {
		const struct lyr_dirent *e = find_ent(&d, names[i]);
		cr_assert_not_null(e, "%s/%s not listed", dir, names[i]);
		snprintf(path, sizeof(path), "%s%s%s", dir, *dir ? "/" : "", names[i]);
		struct stat st = st_of(path);
		cr_assert_eq(e->ino, st.st_ino, "%s ino", path);
		cr_assert_eq(e->type, IFTODT(st.st_mode), "%s type", path);
	}
	lyr_dirlist_free(&d);
}

static bool near_now(struct timespec t)
{
	time_t now = time(NULL);

	return t.tv_sec >= now - 5 && t.tv_sec <= now + 5;
}

/* ---- read-only checks: every backend ---------------------------------- */

CONF_TEST(lookup_types_modes_sizes)
{
	conf_open(b);
	struct stat st = st_of("foo");
	cr_assert_eq(st.st_mode, S_IFREG | 0644);
	cr_assert_eq(st.st_size, 8);
	cr_assert_eq(st.st_uid, 1000);
	cr_assert_eq(st.st_gid, 1000);
	st = st_of("bar");
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0755);
	cr_assert_eq(st_of("bar/baz").st_size, 4);
	st = st_of("lnk");
	cr_assert(S_ISLNK(st.st_mode));
	cr_assert_eq(st.st_size, 3);
	cr_assert(S_ISDIR(st_of("").st_mode));
	cr_assert(S_ISDIR(st_of("a/b/c").st_mode));
	cr_assert_eq(st_of("a/b/c/deep").st_size, 5);
	cr_assert_eq(lookup_flags("bar"), 0);
}

CONF_TEST(lookup_enoent_enotdir)
{
	conf_open(b);
	cr_assert_eq(lookup_err("nope"), -ENOENT);
	cr_assert_eq(lookup_err("bar/ba"), -ENOENT, "a prefix of a name");
	cr_assert_eq(lookup_err("ba"), -ENOENT);
	cr_assert_eq(lookup_err("nope/x"), -ENOENT);
	cr_assert_eq(lookup_err("foo/x"), -ENOTDIR);
	cr_assert_eq(lookup_err("a/b/c/deep/x"), -ENOTDIR);
	cr_assert_eq(lyr_open(C.l, "foo/x", O_RDONLY, 0), -ENOTDIR);
	cr_assert_eq(lyr_open(C.l, "nope", O_RDONLY, 0), -ENOENT);
	struct lyr_dirlist d;
	cr_assert_eq(lyr_readdir(C.l, "nope", &d), -ENOENT);
}

CONF_TEST(readdir_root)
{
	static const char *const names[] = { "foo", "bar", "lnk", "a", "hl", "empty" };

	conf_open(b);
	check_listing("", names, 6);
	struct lyr_dirlist d;
	cr_assert_eq(lyr_readdir(C.l, "", &d), 0);
	cr_assert_eq(d.ents[1].ino, st_of("").st_ino, "the root's .. is itself");
	lyr_dirlist_free(&d);
}

CONF_TEST(readdir_subdirs)
{
	static const char *const bar[] = { "baz" };
	static const char *const abc[] = { "deep" };
	static const char *const ab[] = { "c" };
	struct lyr_dirlist d;

	conf_open(b);
	check_listing("bar", bar, 1);
	check_listing("a/b/c", abc, 1);
	check_listing("a/b", ab, 1);
	cr_assert_eq(lyr_readdir(C.l, "a/b/c", &d), 0);
	cr_assert_eq(d.ents[1].ino, st_of("a/b").st_ino, ".. is the parent");
	lyr_dirlist_free(&d);
	cr_assert_neq(st_of("a").st_ino, st_of("a/b").st_ino);
	cr_assert_neq(st_of("bar").st_ino, st_of("empty").st_ino);
}

CONF_TEST(readdir_empty_dir)
{
	conf_open(b);
	check_listing("empty", NULL, 0);
}

CONF_TEST(readdir_on_file_enotdir)
{
	struct lyr_dirlist d;

	conf_open(b);
	cr_assert_eq(lyr_readdir(C.l, "foo", &d), -ENOTDIR);
	cr_assert_eq(lyr_readdir(C.l, "bar/baz", &d), -ENOTDIR);
	cr_assert_eq(lyr_readdir(C.l, "lnk", &d), -ENOTDIR);
}

CONF_TEST(readlink_target)
{
	char buf[16] = "";

	conf_open(b);
	cr_assert_eq(lyr_readlink(C.l, "lnk", buf, sizeof(buf)), 3);
	cr_assert_eq(memcmp(buf, "foo", 3), 0);
	cr_assert_eq(lyr_readlink(C.l, "lnk", buf, 2), 2, "truncated, no NUL");
	cr_assert_eq(lyr_readlink(C.l, "foo", buf, sizeof(buf)), -EINVAL);
	cr_assert_eq(lyr_readlink(C.l, "bar", buf, sizeof(buf)), -EINVAL);
	cr_assert_eq(lyr_readlink(C.l, "nope", buf, sizeof(buf)), -ENOENT);
}

CONF_TEST(open_read_content)
{
	char buf[32];

	conf_open(b);
	content("foo", buf, sizeof(buf));
	cr_assert_str_eq(buf, "testfoo\n");
	content("bar/baz", buf, sizeof(buf));
	cr_assert_str_eq(buf, "baz\n");
	content("a/b/c/deep", buf, sizeof(buf));
	cr_assert_str_eq(buf, "deep\n");
	content("hl", buf, sizeof(buf));
	cr_assert_str_eq(buf, "testfoo\n");
}

CONF_TEST(open_own_offsets_and_cloexec)
{
	char x[4] = "", y[4] = "";

	conf_open(b);
	int f1 = lyr_open(C.l, "foo", O_RDONLY, 0);
	int f2 = lyr_open(C.l, "foo", O_RDONLY, 0);
	cr_assert_geq(f1, 0);
	cr_assert_geq(f2, 0);
	cr_assert_eq(read(f1, x, 3), 3);
	cr_assert_eq(read(f2, y, 2), 2);
	cr_assert_str_eq(x, "tes");
	cr_assert_str_eq(y, "te");
	cr_assert_eq(fcntl(f1, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	struct stat st;
	cr_assert_eq(fstat(f1, &st), 0);
	cr_assert_eq(st.st_size, 8);
	close(f1);
	close(f2);
}

CONF_TEST(open_directory_on_file_enotdir)
{
	conf_open(b);
	cr_assert_eq(lyr_open(C.l, "foo", O_RDONLY | O_DIRECTORY, 0), -ENOTDIR);
	cr_assert_eq(lyr_open(C.l, "bar/baz", O_RDONLY | O_DIRECTORY, 0), -ENOTDIR);
}

CONF_TEST(open_symlink_eloop)
{
	conf_open(b);
	cr_assert_eq(lyr_open(C.l, "lnk", O_RDONLY, 0), -ELOOP);
}

CONF_TEST(open_dir_gives_dir_fd)
{
	struct stat st;

	conf_open(b);
	int fd = lyr_open(C.l, "bar", O_RDONLY | O_DIRECTORY, 0);
	cr_assert_geq(fd, 0, "%s", strerror(-fd));
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	close(fd);
	fd = lyr_open(C.l, "", O_RDONLY, 0);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(lyr_open(C.l, "bar", O_WRONLY, 0), -EISDIR);
}

CONF_TEST(hard_link_inos_equal)
{
	conf_open(b);
	struct stat a = st_of("foo"), h = st_of("hl");
	cr_assert_eq(a.st_ino, h.st_ino);
	cr_assert_eq(a.st_nlink, 2);
	cr_assert_eq(h.st_nlink, 2);
	cr_assert_neq(st_of("bar/baz").st_ino, a.st_ino);
}

/* ---- checks that modify: host and memory; EROFS on the archive -------- */

CONF_TEST(create_write_read)
{
	char buf[32];

	conf_open(b);
	if (!C.writable) {
		cr_assert_eq(lyr_open(C.l, "new", O_CREAT | O_WRONLY, 0644), -EROFS);
		cr_assert_eq(lyr_open(C.l, "foo", O_WRONLY, 0), -EROFS);
		cr_assert_eq(lyr_open(C.l, "foo", O_RDONLY | O_TRUNC, 0), -EROFS);
		return;
	}
	int fd = lyr_open(C.l, "new", O_CREAT | O_RDWR, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "hello", 5), 5);
	cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
	cr_assert_eq(read(fd, buf, 5), 5);
	cr_assert_eq(memcmp(buf, "hello", 5), 0);
	close(fd);
	struct stat st = st_of("new");
	cr_assert_eq(st.st_mode, S_IFREG | 0644);
	cr_assert_eq(st.st_size, 5);
	cr_assert_eq(st.st_nlink, 1);
	content("new", buf, sizeof(buf));
	cr_assert_str_eq(buf, "hello");
	put("bar/new2", "two");
	static const char *const names[] = { "baz", "new2" };
	check_listing("bar", names, 2);
}

CONF_TEST(open_flag_rules)
{
	char buf[32];

	conf_open(b);
	cr_assert_eq(lyr_open(C.l, "foo", O_CREAT | O_EXCL | O_WRONLY, 0644), -EEXIST);
	cr_assert_eq(lyr_open(C.l, "bar", O_CREAT | O_EXCL | O_RDONLY, 0644), -EEXIST);
	cr_assert_eq(lyr_open(C.l, "x", O_CREAT | O_DIRECTORY | O_RDONLY, 0755), -EINVAL);
	if (!C.writable) {
		cr_assert_eq(lyr_open(C.l, "foo", O_WRONLY | O_APPEND, 0), -EROFS);
		return;
	}
	int fd = lyr_open(C.l, "foo", O_WRONLY | O_APPEND, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "+", 1), 1);
	close(fd);
	content("hl", buf, sizeof(buf));
	cr_assert_str_eq(buf, "testfoo\n+", "written through one name, read through the other");
	fd = lyr_open(C.l, "foo", O_RDWR | O_TRUNC, 0);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(st_of("foo").st_size, 0);
	fd = lyr_open(C.l, "bar/baz", O_CREAT | O_RDONLY, 0600);
	cr_assert_geq(fd, 0, "O_CREAT of an existing file opens it");
	close(fd);
	cr_assert_eq(st_of("bar/baz").st_size, 4);
}

CONF_TEST(mkdir_errno_matrix)
{
	conf_open(b);
	if (!C.writable) {
		cr_assert_eq(lyr_mkdir(C.l, "newdir", 0755), -EROFS);
		return;
	}
	cr_assert_eq(lyr_mkdir(C.l, "foo", 0755), -EEXIST);
	cr_assert_eq(lyr_mkdir(C.l, "bar", 0755), -EEXIST);
	cr_assert_eq(lyr_mkdir(C.l, "lnk", 0755), -EEXIST);
	cr_assert_eq(lyr_mkdir(C.l, "", 0755), -EEXIST);
	cr_assert_eq(lyr_mkdir(C.l, "nope/x", 0755), -ENOENT);
	cr_assert_eq(lyr_mkdir(C.l, "foo/x", 0755), -ENOTDIR);
	cr_assert_eq(lyr_mkdir(C.l, "newdir", 0755), 0);
	cr_assert_eq(lyr_mkdir(C.l, "newdir/sub", 0700), 0);
	struct stat st = st_of("newdir/sub");
	cr_assert_eq(st.st_mode, S_IFDIR | 0700);
	cr_assert_eq(st.st_nlink, 2);
	cr_assert_eq(st_of("newdir").st_nlink, 3);
}

CONF_TEST(rmdir_errno_matrix)
{
	conf_open(b);
	if (!C.writable) {
		cr_assert_eq(lyr_rmdir(C.l, "empty"), -EROFS);
		return;
	}
	cr_assert_eq(lyr_rmdir(C.l, "bar"), -ENOTEMPTY);
	cr_assert_eq(lyr_rmdir(C.l, "a"), -ENOTEMPTY);
	cr_assert_eq(lyr_rmdir(C.l, "foo"), -ENOTDIR);
	cr_assert_eq(lyr_rmdir(C.l, "lnk"), -ENOTDIR);
	cr_assert_eq(lyr_rmdir(C.l, "foo/x"), -ENOTDIR);
	cr_assert_eq(lyr_rmdir(C.l, "nope"), -ENOENT);
	cr_assert_eq(lyr_rmdir(C.l, "empty"), 0);
	cr_assert_eq(lyr_rmdir(C.l, "empty"), -ENOENT);
	cr_assert_eq(lyr_unlink(C.l, "bar/baz"), 0);
	cr_assert_eq(lyr_rmdir(C.l, "bar"), 0, "works once emptied");
	cr_assert_eq(lyr_open(C.l, "bar", O_RDONLY, 0), -ENOENT);
}

CONF_TEST(unlink_errno_matrix)
{
	char buf[16];

	conf_open(b);
	if (!C.writable) {
		cr_assert_eq(lyr_unlink(C.l, "foo"), -EROFS);
		return;
	}
	cr_assert_eq(lyr_unlink(C.l, "bar"), -EISDIR);
	cr_assert_eq(lyr_unlink(C.l, "nope"), -ENOENT);
	cr_assert_eq(lyr_unlink(C.l, "foo/x"), -ENOTDIR);
	cr_assert_eq(lyr_unlink(C.l, "lnk"), 0, "removes the link, not its target");
	cr_assert_eq(lookup_err("lnk"), -ENOENT);
	cr_assert_eq(lyr_unlink(C.l, "foo"), 0);
	cr_assert_eq(lyr_unlink(C.l, "foo"), -ENOENT);
	cr_assert_eq(st_of("hl").st_nlink, 1);
	content("hl", buf, sizeof(buf));
	cr_assert_str_eq(buf, "testfoo\n");
}

CONF_TEST(rename_files)
{
	char buf[16];

	conf_open(b);
	if (!C.writable) {
		cr_assert_eq(lyr_rename(C.l, "foo", "foo2", 0), -EROFS);
		cr_assert_eq(lyr_rename(C.l, "foo", "bar/baz", RENAME_EXCHANGE), -EROFS);
		return;
	}
	ino_t ino = st_of("foo").st_ino;
	cr_assert_eq(lyr_rename(C.l, "foo", "foo2", 0), 0);
	cr_assert_eq(lookup_err("foo"), -ENOENT);
	cr_assert_eq(st_of("foo2").st_ino, ino, "the inode moves with the name");
	cr_assert_eq(lyr_rename(C.l, "bar/baz", "foo2", 0), 0, "over a file");
	content("foo2", buf, sizeof(buf));
	cr_assert_str_eq(buf, "baz\n");
	cr_assert_eq(lyr_rename(C.l, "nope", "x", 0), -ENOENT);
	cr_assert_eq(lyr_rename(C.l, "foo2", "nope/x", 0), -ENOENT);
	put("x", "X");
	put("y", "Y");
	cr_assert_eq(lyr_rename(C.l, "x", "y", RENAME_NOREPLACE), -EEXIST);
	cr_assert_eq(lyr_rename(C.l, "x", "z", RENAME_NOREPLACE), 0);
	cr_assert_eq(lyr_rename(C.l, "z", "y", RENAME_EXCHANGE), 0);
	content("y", buf, sizeof(buf));
	cr_assert_str_eq(buf, "X");
	content("z", buf, sizeof(buf));
	cr_assert_str_eq(buf, "Y");
	cr_assert_eq(lyr_rename(C.l, "z", "gone", RENAME_EXCHANGE), -ENOENT);
	cr_assert_eq(lyr_rename(C.l, "y", "y", 0), 0, "onto itself");
	cr_assert_eq(lyr_rename(C.l, "hl", "foo2", 0), 0);
	cr_assert_eq(lookup_err("hl"), -ENOENT);
}

CONF_TEST(rename_dirs)
{
	conf_open(b);
	if (!C.writable) {
		cr_assert_eq(lyr_rename(C.l, "bar", "bar2", 0), -EROFS);
		return;
	}
	cr_assert_eq(lyr_rename(C.l, "bar", "a", 0), -ENOTEMPTY, "over a non-empty dir");
	cr_assert_eq(lyr_rename(C.l, "bar", "foo", 0), -ENOTDIR, "dir over file");
	cr_assert_eq(lyr_rename(C.l, "foo", "empty", 0), -EISDIR, "file over dir");
	cr_assert_eq(lyr_rename(C.l, "a", "a/b/c/x", 0), -EINVAL, "into its own subtree");
	cr_assert_eq(lyr_rename(C.l, "a/b", "a", 0), -ENOTEMPTY, "over its own ancestor");
	cr_assert_eq(lyr_rename(C.l, "a", "a", 0), 0);
	ino_t ino = st_of("bar").st_ino;
	cr_assert_eq(lyr_rename(C.l, "bar", "empty", 0), 0, "over an empty dir");
	cr_assert_eq(st_of("empty").st_ino, ino);
	cr_assert_eq(lookup_err("empty/baz"), 0);
	cr_assert_eq(lyr_rename(C.l, "empty", "a/b/moved", 0), 0, "to another parent");
	cr_assert_eq(lookup_err("a/b/moved/baz"), 0);
	struct lyr_dirlist d;
	cr_assert_eq(lyr_readdir(C.l, "a/b/moved", &d), 0);
	cr_assert_eq(d.ents[1].ino, st_of("a/b").st_ino, ".. follows the move");
	lyr_dirlist_free(&d);
	cr_assert_eq(st_of("a/b").st_nlink, 4);
	cr_assert_eq(lyr_rename(C.l, "a", "foo", RENAME_EXCHANGE), 0, "dir <-> file");
	cr_assert(S_ISDIR(st_of("foo").st_mode));
	cr_assert(S_ISREG(st_of("a").st_mode));
	cr_assert_eq(lookup_err("foo/b/c/deep"), 0);
}

CONF_TEST(symlink_readlink)
{
	char buf[32];

	conf_open(b);
	if (!C.writable) {
		cr_assert_eq(lyr_symlink(C.l, "foo", "sl"), -EROFS);
		return;
	}
	cr_assert_eq(lyr_symlink(C.l, "target/x", "sl"), 0, "dangling is fine");
	cr_assert_eq(lyr_readlink(C.l, "sl", buf, sizeof(buf)), 8);
	cr_assert_eq(memcmp(buf, "target/x", 8), 0);
	cr_assert_eq(lyr_readlink(C.l, "sl", buf, 3), 3);
	struct stat st = st_of("sl");
	cr_assert(S_ISLNK(st.st_mode));
	cr_assert_eq(st.st_size, 8);
	cr_assert_eq(lyr_symlink(C.l, "x", "foo"), -EEXIST);
	cr_assert_eq(lyr_symlink(C.l, "x", "lnk"), -EEXIST);
	cr_assert_eq(lyr_symlink(C.l, "x", "nope/sl"), -ENOENT);
	cr_assert_eq(lyr_symlink(C.l, "/abs/path", "bar/abs"), 0);
	cr_assert_eq(lyr_readlink(C.l, "bar/abs", buf, sizeof(buf)), 9);
}

CONF_TEST(link_nlink)
{
	char buf[16];

	conf_open(b);
	if (!C.writable) {
		cr_assert_eq(lyr_link(C.l, "foo", "foo3"), -EROFS);
		return;
	}
	cr_assert_eq(lyr_link(C.l, "foo", "bar/foo3"), 0);
	struct stat st = st_of("bar/foo3");
	cr_assert_eq(st.st_ino, st_of("foo").st_ino);
	cr_assert_eq(st.st_nlink, 3);
	cr_assert_eq(st_of("hl").st_nlink, 3);
	cr_assert_eq(lyr_link(C.l, "foo", "hl"), -EEXIST);
	cr_assert_eq(lyr_link(C.l, "bar", "bar2"), -EPERM);
	cr_assert_eq(lyr_link(C.l, "nope", "x"), -ENOENT);
	cr_assert_eq(lyr_link(C.l, "lnk", "lnk2"), 0, "links the symlink itself");
	cr_assert(S_ISLNK(st_of("lnk2").st_mode));
	cr_assert_eq(lyr_unlink(C.l, "foo"), 0);
	cr_assert_eq(st_of("bar/foo3").st_nlink, 2);
	content("bar/foo3", buf, sizeof(buf));
	cr_assert_str_eq(buf, "testfoo\n");
}

CONF_TEST(chmod_modes)
{
	conf_open(b);
	if (!C.writable) {
		cr_assert_eq(lyr_chmod(C.l, "foo", 0600), -EROFS);
		return;
	}
	cr_assert_eq(lyr_chmod(C.l, "foo", 0600), 0);
	cr_assert_eq(st_of("foo").st_mode, S_IFREG | 0600);
	cr_assert_eq(st_of("hl").st_mode, S_IFREG | 0600, "one inode");
	cr_assert_eq(lyr_chmod(C.l, "bar", 01700), 0);
	cr_assert_eq(st_of("bar").st_mode, S_IFDIR | 01700);
	cr_assert_eq(lyr_chmod(C.l, "bar/baz", 04755), 0);
	cr_assert_eq(st_of("bar/baz").st_mode, S_IFREG | 04755);
	cr_assert_eq(lyr_chmod(C.l, "nope", 0600), -ENOENT);
	cr_assert_eq(lyr_chmod(C.l, "foo/x", 0600), -ENOTDIR);
}

CONF_TEST(chown_owners)
{
	conf_open(b);
	if (!C.writable) {
		cr_assert_eq(lyr_chown(C.l, "foo", 1, 1), -EROFS);
		return;
	}
	cr_assert_eq(lyr_chown(C.l, "foo", 1234, 5678), 0);
	struct stat st = st_of("foo");
	cr_assert_eq(st.st_uid, 1234);
	cr_assert_eq(st.st_gid, 5678);
	cr_assert_eq(lyr_chown(C.l, "foo", (uid_t)-1, 42), 0);
	st = st_of("foo");
	cr_assert_eq(st.st_uid, 1234);
	cr_assert_eq(st.st_gid, 42);
	cr_assert_eq(lyr_chown(C.l, "lnk", 77, 77), 0, "the link, not its target");
	cr_assert_eq(st_of("lnk").st_uid, 77);
	cr_assert_eq(st_of("foo").st_uid, 1234);
	cr_assert_eq(lyr_chown(C.l, "nope", 1, 1), -ENOENT);
}

CONF_TEST(utimens_times)
{
	struct timespec ts[2] = { { 100, 200 }, { 300, 400 } };

	conf_open(b);
	if (!C.writable) {
		cr_assert_eq(lyr_utimens(C.l, "foo", ts), -EROFS);
		return;
	}
	cr_assert_eq(lyr_utimens(C.l, "foo", ts), 0);
	struct stat st = st_of("foo");
	cr_assert_eq(st.st_atim.tv_sec, 100);
	cr_assert_eq(st.st_atim.tv_nsec, 200);
	cr_assert_eq(st.st_mtim.tv_sec, 300);
	cr_assert_eq(st.st_mtim.tv_nsec, 400);
	cr_assert(near_now(st.st_ctim), "ctime is now");
	struct timespec omit_a[2] = { { 0, UTIME_OMIT }, { 500, 0 } };
	cr_assert_eq(lyr_utimens(C.l, "foo", omit_a), 0);
	st = st_of("foo");
	cr_assert_eq(st.st_atim.tv_sec, 100);
	cr_assert_eq(st.st_mtim.tv_sec, 500);
	struct timespec now_a[2] = { { 0, UTIME_NOW }, { 0, UTIME_OMIT } };
	cr_assert_eq(lyr_utimens(C.l, "foo", now_a), 0);
	st = st_of("foo");
	cr_assert(near_now(st.st_atim));
	cr_assert_eq(st.st_mtim.tv_sec, 500);
	cr_assert_eq(lyr_utimens(C.l, "bar", NULL), 0);
	st = st_of("bar");
	cr_assert(near_now(st.st_atim));
	cr_assert(near_now(st.st_mtim));
	cr_assert_eq(lyr_utimens(C.l, "lnk", ts), 0, "a symlink's own times");
	cr_assert_eq(st_of("lnk").st_mtim.tv_sec, 300);
	cr_assert_eq(lyr_utimens(C.l, "nope", ts), -ENOENT);
}

CONF_TEST(truncate_grow_shrink)
{
	char buf[32];

	conf_open(b);
	if (!C.writable) {
		cr_assert_eq(lyr_truncate(C.l, "foo", 0), -EROFS);
		return;
	}
	cr_assert_eq(lyr_truncate(C.l, "foo", 3), 0);
	content("foo", buf, sizeof(buf));
	cr_assert_str_eq(buf, "tes");
	cr_assert_eq(lyr_truncate(C.l, "foo", 10), 0);
	cr_assert_eq(st_of("foo").st_size, 10);
	int fd = lyr_open(C.l, "foo", O_RDONLY, 0);
	cr_assert_eq(read(fd, buf, sizeof(buf)), 10);
	close(fd);
	cr_assert_eq(memcmp(buf, "tes\0\0\0\0\0\0\0", 10), 0, "grown part reads zero");
	fd = lyr_open(C.l, "hole", O_CREAT | O_RDWR, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, "z", 1, 4096 * 4), 1);
	cr_assert_eq(pread(fd, buf, 8, 100), 8);
	cr_assert_eq(memcmp(buf, "\0\0\0\0\0\0\0\0", 8), 0, "a hole reads zero");
	close(fd);
	cr_assert_eq(st_of("hole").st_size, 4096 * 4 + 1);
	cr_assert_eq(lyr_truncate(C.l, "bar", 0), -EISDIR);
	cr_assert_eq(lyr_truncate(C.l, "nope", 0), -ENOENT);
	cr_assert_eq(lyr_truncate(C.l, "foo", -1), -EINVAL);
}

CONF_TEST(whiteout_and_lookup_flags)
{
	struct lyr_dirlist d;
	struct stat st;
	unsigned flags;

	conf_open(b);
	if (!C.writable) {
		cr_assert_eq(lyr_whiteout(C.l, "foo"), -EROFS);
		return;
	}
	cr_assert_eq(lyr_whiteout(C.l, "foo"), 0);
	cr_assert_eq(lyr_lookup(C.l, "foo", &st, &flags), 0);
	cr_assert_eq(flags, LYR_WHITEOUT);
	cr_assert_eq(lyr_open(C.l, "foo", O_RDONLY, 0), -ENOENT);
	cr_assert_eq(lookup_err("foo/x"), -ENOENT);
	cr_assert_eq(st_of("hl").st_nlink, 1, "the other name stays");
	cr_assert_eq(lyr_whiteout(C.l, "ghost"), 0);
	cr_assert_eq(lyr_lookup(C.l, "ghost", &st, &flags), 0);
	cr_assert_eq(flags, LYR_WHITEOUT);
	cr_assert_eq(lyr_whiteout(C.l, "ghost"), -ENOENT, "a second removal loses");
	cr_assert_eq(lyr_whiteout(C.l, "foo"), -ENOENT);
	cr_assert_eq(lyr_whiteout(C.l, "bar"), -ENOTEMPTY);
	cr_assert_eq(lyr_whiteout(C.l, "empty"), 0);
	cr_assert_eq(lyr_whiteout(C.l, "nope/x"), -ENOENT);
	cr_assert_eq(lyr_readdir(C.l, "", &d), 0);
	cr_assert_eq(find_ent(&d, "foo")->type, DT_WHT);
	cr_assert_eq(find_ent(&d, "ghost")->type, DT_WHT);
	cr_assert_eq(find_ent(&d, "empty")->type, DT_WHT);
	cr_assert_eq(find_ent(&d, "bar")->type, DT_DIR);
	cr_assert_eq(d.n, 9);
	lyr_dirlist_free(&d);
	put("foo", "back");
	cr_assert_eq(lookup_flags("foo"), 0);
	cr_assert_eq(st_of("foo").st_size, 4);
	cr_assert_eq(lyr_mkdir(C.l, "empty", 0755), 0, "mkdir over a whiteout");
	cr_assert_eq(lookup_flags("empty"), 0);
}

CONF_TEST(set_opaque_flags)
{
	struct lyr_dirlist d;

	conf_open(b);
	if (!C.writable) {
		cr_assert_eq(lyr_set_opaque(C.l, "bar"), -EROFS);
		return;
	}
	cr_assert_eq(lookup_flags("bar"), 0);
	cr_assert_eq(lyr_set_opaque(C.l, "bar"), 0);
	cr_assert_eq(lookup_flags("bar"), LYR_OPAQUE);
	cr_assert_eq(lyr_readdir(C.l, "bar", &d), 0);
	cr_assert_eq(d.flags, LYR_OPAQUE);
	cr_assert_eq(d.n, 3, ". .. baz");
	lyr_dirlist_free(&d);
	cr_assert_eq(lyr_readdir(C.l, "a", &d), 0);
	cr_assert_eq(d.flags, 0);
	lyr_dirlist_free(&d);
	cr_assert_eq(lyr_set_opaque(C.l, "foo"), -ENOTDIR);
	cr_assert_eq(lyr_set_opaque(C.l, "nope"), -ENOENT);
	cr_assert_eq(lyr_rename(C.l, "bar", "bar2", 0), 0);
	cr_assert_eq(lookup_flags("bar2"), LYR_OPAQUE, "opacity moves with the dir");
}

CONF_TEST(tmpfile_link_tmp)
{
	struct lyr_dirlist d;
	char buf[16];

	conf_open(b);
	if (!C.writable) {
		cr_assert_eq(lyr_tmpfile(C.l, "bar", 0644), -EROFS);
		return;
	}
	int fd = lyr_tmpfile(C.l, "bar", 0640);
	cr_assert_geq(fd, 0, "%s", strerror(-fd));
	cr_assert_eq(write(fd, "copy", 4), 4);
	cr_assert_eq(lyr_readdir(C.l, "bar", &d), 0);
	cr_assert_eq(d.n, 3, "unnamed until linked");
	lyr_dirlist_free(&d);
	cr_assert_eq(lyr_link_tmp(C.l, fd, "bar/baz"), -EEXIST);
	cr_assert_eq(lyr_link_tmp(C.l, fd, "bar/t"), 0);
	close(fd);
	content("bar/t", buf, sizeof(buf));
	cr_assert_str_eq(buf, "copy");
	struct stat st = st_of("bar/t");
	cr_assert_eq(st.st_mode, S_IFREG | 0640);
	cr_assert_eq(st.st_nlink, 1);
	cr_assert_eq(lyr_whiteout(C.l, "bar/baz"), 0);
	fd = lyr_tmpfile(C.l, "bar", 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(lyr_link_tmp(C.l, fd, "bar/baz"), 0, "over a whiteout");
	close(fd);
	cr_assert_eq(lookup_flags("bar/baz"), 0);
	cr_assert_eq(st_of("bar/baz").st_size, 0);
	cr_assert_eq(lyr_tmpfile(C.l, "foo", 0644), -ENOTDIR);

	/* link_copy: a copy-up never brings back a deleted name. */
	cr_assert_eq(lyr_whiteout(C.l, "bar/gone"), 0);
	fd = lyr_tmpfile(C.l, "bar", 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(lyr_link_copy(C.l, fd, "bar/gone"), -ENOENT);
	cr_assert_eq(lookup_flags("bar/gone"), LYR_WHITEOUT);
	cr_assert_eq(lyr_link_copy(C.l, fd, "bar/baz"), -EEXIST);
	cr_assert_eq(lyr_link_copy(C.l, fd, "bar/up"), 0);
	close(fd);
	cr_assert_eq(lookup_flags("bar/up"), 0);
	cr_assert_eq(st_of("bar/up").st_mode, S_IFREG | 0644);
	/* ... also for one more name of a file that has one. */
	fd = lyr_open(C.l, "bar/up", O_PATH | O_NOFOLLOW, 0);
	cr_assert_geq(fd, 0, "%s", strerror(-fd));
	cr_assert_eq(lyr_link_copy(C.l, fd, "bar/gone"), -ENOENT);
	cr_assert_eq(lyr_link_copy(C.l, fd, "bar/up2"), 0);
	close(fd);
	cr_assert_eq(st_of("bar/up").st_nlink, 2);
	cr_assert_eq(st_of("bar/up2").st_ino, st_of("bar/up").st_ino);
	/* mkdir_copy likewise. */
	cr_assert_eq(lyr_mkdir_copy(C.l, "bar/gone", 0755), -ENOENT);
	cr_assert_eq(lookup_flags("bar/gone"), LYR_WHITEOUT);
	cr_assert_eq(lyr_mkdir_copy(C.l, "bar/up", 0755), -EEXIST);
	cr_assert_eq(lyr_mkdir_copy(C.l, "bar/dir", 0750), 0);
	cr_assert_eq(st_of("bar/dir").st_mode, S_IFDIR | 0750);
}

static bool has_name(const char *list, ssize_t n, const char *name)
{
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(list + i) + 1)
		if (!strcmp(list + i, name))
			return true;
	return false;
}

CONF_TEST(xattrs_set_get_list_remove)
{
	char buf[256];

	conf_open(b);
	if (!C.writable) {
		cr_assert_eq(lyr_setxattr(C.l, "foo", "user.a", "1", 1, 0), -EROFS);
		cr_assert_eq(lyr_removexattr(C.l, "foo", "user.a"), -EROFS);
		return;
	}
	cr_assert_eq(lyr_setxattr(C.l, "foo", "user.a", "v1", 2, 0), 0);
	cr_assert_eq(lyr_setxattr(C.l, "foo", "user.a", "v2", 2, XATTR_CREATE), -EEXIST);
	cr_assert_eq(lyr_setxattr(C.l, "foo", "user.b", "v", 1, XATTR_REPLACE), -ENODATA);
	cr_assert_eq(lyr_setxattr(C.l, "foo", "user.a", "new", 3, XATTR_REPLACE), 0);
	cr_assert_eq(lyr_getxattr(C.l, "foo", "user.a", NULL, 0), 3);
	cr_assert_eq(lyr_getxattr(C.l, "foo", "user.a", buf, 2), -ERANGE);
	cr_assert_eq(lyr_getxattr(C.l, "hl", "user.a", buf, sizeof(buf)), 3, "per inode");
	cr_assert_eq(memcmp(buf, "new", 3), 0);
	cr_assert_eq(lyr_setxattr(C.l, "bar", "user.dir", "", 0, 0), 0);
	cr_assert_eq(lyr_getxattr(C.l, "bar", "user.dir", buf, sizeof(buf)), 0);
	ssize_t n = lyr_listxattr(C.l, "foo", buf, sizeof(buf));
	cr_assert_gt(n, 0);
	cr_assert_eq(lyr_listxattr(C.l, "foo", NULL, 0), n);
	cr_assert(has_name(buf, n, "user.a"));
	cr_assert_eq(lyr_removexattr(C.l, "foo", "user.a"), 0);
	cr_assert_eq(lyr_removexattr(C.l, "foo", "user.a"), -ENODATA);
	cr_assert_eq(lyr_getxattr(C.l, "foo", "user.a", buf, sizeof(buf)), -ENODATA);
	n = lyr_listxattr(C.l, "foo", buf, sizeof(buf));
	cr_assert_geq(n, 0);
	cr_assert(!has_name(buf, n, "user.a"));
	cr_assert_eq(lyr_getxattr(C.l, "nope", "user.a", buf, sizeof(buf)), -ENOENT);
}

CONF_TEST(dir_times_follow_changes)
{
	struct timespec past[2] = { { 1000, 0 }, { 1000, 0 } };

	conf_open(b);
	if (!C.writable) {
		cr_assert_eq(lyr_utimens(C.l, "bar", past), -EROFS);
		return;
	}
	cr_assert_eq(lyr_utimens(C.l, "bar", past), 0);
	put("bar/n", "");
	struct stat st = st_of("bar");
	cr_assert(near_now(st.st_mtim), "create moves the parent's mtime");
	cr_assert(near_now(st.st_ctim));
	cr_assert_eq(lyr_utimens(C.l, "bar", past), 0);
	cr_assert_eq(lyr_unlink(C.l, "bar/n"), 0);
	cr_assert(near_now(st_of("bar").st_mtim), "unlink too");
	cr_assert_eq(lyr_utimens(C.l, "bar", past), 0);
	cr_assert_eq(lyr_rename(C.l, "bar/baz", "moved", 0), 0);
	cr_assert(near_now(st_of("bar").st_mtim), "rename too");
}

CONF_TEST(statfs_works)
{
	struct statvfs sv;

	conf_open(b);
	int r = lyr_statfs(C.l, &sv);
	cr_assert_eq(r, 0, "%s", strerror(-r));
	cr_assert_gt(sv.f_bsize, 0);
	cr_assert_geq(sv.f_namemax, 255);
}

/* ---- fd_name and lock_fd (layer ops version 3 and 4) ------------------ */

/* lyr_fd_name of an fd of path opened with flags: its result, into name. */
static int name_of_open(const char *path, int flags, char *name)
{
	int fd = lyr_open(C.l, path, flags, 0);

	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(-fd));
	strcpy(name, "(unset)");
	int r = lyr_fd_name(C.l, fd, name, PATH_MAX);
	close(fd);
	return r;
}

CONF_TEST(fd_name_names_opened_files)
{
	char name[PATH_MAX];

	conf_open(b);
	cr_assert_eq(name_of_open("foo", O_RDONLY, name), 0);
	cr_assert_str_eq(name, "foo");
	cr_assert_eq(name_of_open("foo", O_RDONLY, name), 0, "opened again");
	cr_assert_str_eq(name, "foo");
	cr_assert_eq(name_of_open("a/b/c/deep", O_RDONLY, name), 0);
	cr_assert_str_eq(name, "a/b/c/deep");
	cr_assert_eq(name_of_open("hl", O_RDONLY, name), 0);
	cr_assert(!strcmp(name, "hl") || !strcmp(name, "foo"), "a hard link: %s", name);
	/* A directory: its own name, or -ENXIO where every directory opens
	 * as one stand-in (the memory layer's). */
	int r = name_of_open("a/b", O_RDONLY | O_DIRECTORY, name);
	if (b->kind != CONF_MEM) {
		cr_assert_eq(r, 0);
		cr_assert_str_eq(name, "a/b");
	} else {
		cr_assert_eq(r, -ENXIO, "a directory's stand-in: %d (%s)", r,
			     r ? strerror(-r) : name);
	}
	/* none of the layer's */
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	cr_assert_eq(lyr_fd_name(C.l, pfd[0], name, sizeof(name)), -ENOENT);
	close(pfd[0]);
	close(pfd[1]);
}

/* Two lock fds conflict (flock and OFD locks alike): false when they do not. */
static bool locks_conflict(int a, int c)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	cr_assert_eq(flock(a, LOCK_EX | LOCK_NB), 0, "flock: %s", strerror(errno));
	int fr = flock(c, LOCK_EX | LOCK_NB), ferr = errno;
	cr_assert_eq(flock(a, LOCK_UN), 0);
	if (fr == 0)
		flock(c, LOCK_UN);
	cr_assert_eq(fcntl(a, F_OFD_SETLK, &fl), 0, "OFD lock: %s", strerror(errno));
	int or = fcntl(c, F_OFD_SETLK, &fl), oerr = errno;
	fl.l_type = F_UNLCK;
	fcntl(a, F_OFD_SETLK, &fl);
	fcntl(c, F_OFD_SETLK, &fl);
	cr_assert_eq(fr == 0, or == 0, "flock and OFD locks disagree");
	if (fr)
		cr_assert_eq(ferr, EWOULDBLOCK);
	if (or)
		cr_assert_eq(oerr, EAGAIN);
	return fr != 0;
}

CONF_TEST(lock_fd_one_file_per_key)
{
	struct stat sa, sb, sc;

	conf_open(b);
	if (!C.writable) {
		cr_assert_eq(lyr_lock_fd(C.l, 42), -ENOSYS, "not an upper layer");
		return;
	}
	int a = lyr_lock_fd(C.l, 42), k = lyr_lock_fd(C.l, 42), c = lyr_lock_fd(C.l, 43);
	cr_assert_geq(a, 0, "lock_fd: %s", strerror(-a));
	cr_assert_geq(k, 0);
	cr_assert_geq(c, 0);
	cr_assert_eq(fcntl(a, F_GETFL) & O_ACCMODE, O_RDWR);
	cr_assert(fcntl(a, F_GETFD) & FD_CLOEXEC);
	cr_assert(fcntl(k, F_GETFD) & FD_CLOEXEC);
	cr_assert_eq(fstat(a, &sa), 0);
	cr_assert_eq(fstat(k, &sb), 0);
	cr_assert_eq(fstat(c, &sc), 0);
	cr_assert(S_ISREG(sa.st_mode));
	cr_assert(sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino, "one file per key");
	cr_assert(sa.st_dev != sc.st_dev || sa.st_ino != sc.st_ino, "one for each key");
	/* new open file descriptions: their own offsets, conflicting locks */
	cr_assert_eq(lseek(a, 5, SEEK_SET), 5);
	cr_assert_eq(lseek(k, 0, SEEK_CUR), 0);
	cr_assert(locks_conflict(a, k));
	cr_assert(locks_conflict(k, a));
	cr_assert(!locks_conflict(a, c));
	int z = lyr_lock_fd(C.l, 0), m = lyr_lock_fd(C.l, UINT64_MAX);
	cr_assert_geq(z, 0);
	cr_assert_geq(m, 0);
	cr_assert(!locks_conflict(z, m));
	cr_assert(!locks_conflict(z, a));
	/* a lock file is no entry of the layer */
	char name[PATH_MAX];
	cr_assert_eq(lyr_fd_name(C.l, a, name, sizeof(name)), -ENOENT);
	close(z);
	close(m);
	close(a);
	close(k);
	close(c);
}

/* ---- the walker (core/walk.c) on a layer without a resolve member ------ */

/* lyr_resolve_stat on C.l: result, out, and the stat's type (when 0);
 * lyr_resolve agrees (a missing last component is 0 there). */
static void walk_expect(const char *path, unsigned flags, const char *root, int want,
			const char *want_out, mode_t type)
{
	char out[PATH_MAX], out2[PATH_MAX];
	struct stat st;

	strcpy(out, "(unset)");
	memset(&st, 0, sizeof(st));
	int r = lyr_resolve_stat(C.l, path, flags, root, out, sizeof(out), &st);
	cr_assert_eq(r, want, "\"%s\" flags %u: %d (%s), want %d", path, flags, r,
		     r < 0 ? strerror(-r) : out, want);
	if (r >= 0)
		cr_assert(!strcmp(out, want_out), "\"%s\" flags %u: \"%s\", want \"%s\"", path,
			  flags, out, want_out);
	if (r == 0)
		cr_assert_eq(st.st_mode & S_IFMT, type, "\"%s\": type %o", path,
			     st.st_mode & S_IFMT);
	r = lyr_resolve(C.l, path, flags, root, out2, sizeof(out2));
	cr_assert_eq(r, want == LYR_RESOLVE_MISSING ? 0 : want, "lyr_resolve \"%s\"", path);
	if (r >= 0)
		cr_assert(!strcmp(out2, want_out), "lyr_resolve \"%s\": \"%s\"", path, out2);
}

/*
 * A symlink's target as the last component is the result as it stands:
 * no '/' is added after it (one was, when a target was spliced in front
 * of an empty rest), so a target of PATH_MAX - 1 bytes still fits.
 */
CONF_TEST(resolve_symlink_as_last_component)
{
	const unsigned F = LYR_RESOLVE_FOLLOW;

	conf_open(b);
	walk_expect("lnk", 0, NULL, 0, "lnk", S_IFLNK);
	walk_expect("lnk", F, NULL, 0, "foo", S_IFREG);
	walk_expect("bar/../lnk", F, NULL, 0, "foo", S_IFREG);
	walk_expect("./lnk", F, "/mnt/x", 0, "foo", S_IFREG);
	struct stat st;
	char out[PATH_MAX];
	cr_assert_eq(lyr_resolve_stat(C.l, "lnk", F, NULL, out, sizeof(out), &st), 0);
	cr_assert_eq(st.st_ino, st_of("foo").st_ino, "the target's stat");
	if (!C.writable)
		return;
	cr_assert_eq(lyr_symlink(C.l, "a/b", "dl"), 0);
	cr_assert_eq(lyr_symlink(C.l, "lnk", "chain"), 0);
	cr_assert_eq(lyr_symlink(C.l, "nothing", "dang"), 0);
	cr_assert_eq(lyr_symlink(C.l, "../../foo", "a/b/up"), 0);
	cr_assert_eq(lyr_symlink(C.l, "/a/b/c", "a/abs"), 0);
	cr_assert_eq(lyr_symlink(C.l, "/elsewhere/x", "out"), 0);
	walk_expect("dl", F, NULL, 0, "a/b", S_IFDIR);
	walk_expect("dl/c/deep", F, NULL, 0, "a/b/c/deep", S_IFREG);
	walk_expect("chain", F, NULL, 0, "foo", S_IFREG);
	walk_expect("dang", F, NULL, LYR_RESOLVE_MISSING, "nothing", 0);
	walk_expect("a/b/up", F, NULL, 0, "foo", S_IFREG);
	walk_expect("a/abs", F, NULL, 0, "a/b/c", S_IFDIR);
	walk_expect("out", F, "/mnt/x", LYR_RESOLVE_ESCAPED, "/elsewhere/x", 0);
	/* PATH_MAX - 1 bytes of target ("./" ... "foo") */
	char target[PATH_MAX];
	size_t n = 0;
	while (n < PATH_MAX - 1 - 3) {
		target[n++] = '.';
		target[n++] = '/';
	}
	memcpy(target + n, "foo", 4);
	cr_assert_eq(strlen(target), PATH_MAX - 1);
	int r = lyr_symlink(C.l, target, "long");
	cr_assert_eq(r, 0, "symlink of %zu bytes: %s", strlen(target), strerror(-r));
	walk_expect("long", 0, NULL, 0, "long", S_IFLNK);
	walk_expect("long", F, NULL, 0, "foo", S_IFREG);
	walk_expect("bar/../long", F, "/mnt/x", 0, "foo", S_IFREG);
}
