/* SPDX-License-Identifier: MIT */
/*
 * test_host.c - the host-directory layer on its own (suite "host").
 *
 * What only a host directory has: the OCI storage of whiteouts and opaque
 * directories (checked on disk, beside the layer), the read-only flag, the
 * errors for a bad directory, the root fd kept out of the low fd range,
 * symlinks that must never be followed, and the store of the xattrs Linux
 * refuses on symlinks and special files.  Behaviour shared with the
 * other backends is in test_conformance.c.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

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
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static char Dir[384]; /* the host directory under test */
static char Tmp[256]; /* its mkdtemp parent */
static struct lyr_layer *L;

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void host_setup(void)
{
	struct lyr_error err = { "" };
	const char *t = getenv("TMPDIR");

	snprintf(Tmp, sizeof(Tmp), "%s/lyr-host-XXXXXX", t && *t ? t : "/tmp");
	cr_assert_not_null(mkdtemp(Tmp));
	snprintf(Dir, sizeof(Dir), "%s/root", Tmp);
	cr_assert_eq(mkdir(Dir, 0755), 0);
	umask(022);
	cr_assert_eq(lyr_host_open(Dir, 0, &L, &err), 0, "%s", err.msg);
}

static void host_teardown(void)
{
	if (geteuid() != 0 && seteuid(0) == 0)
		setegid(0);
	lyr_destroy(L);
	nftw(Tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(host, .init = host_setup, .fini = host_teardown);

/* ---- helpers: the disk beside the layer ------------------------------ */

static void disk_path(char *buf, size_t size, const char *rel)
{
	snprintf(buf, size, "%s/%s", Dir, rel);
}

static bool on_disk(const char *rel)
{
	char p[PATH_MAX];
	struct stat st;

	disk_path(p, sizeof(p), rel);
	return lstat(p, &st) == 0;
}

static void disk_file(const char *rel, const char *data)
{
	char p[PATH_MAX];

	disk_path(p, sizeof(p), rel);
	int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	cr_assert_geq(fd, 0, "%s: %s", p, strerror(errno));
	cr_assert_eq(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

static void disk_dir(const char *rel)
{
	char p[PATH_MAX];

	disk_path(p, sizeof(p), rel);
	cr_assert_eq(mkdir(p, 0755), 0, "%s: %s", p, strerror(errno));
}

static void disk_symlink(const char *target, const char *rel)
{
	char p[PATH_MAX];

	disk_path(p, sizeof(p), rel);
	cr_assert_eq(symlink(target, p), 0);
}

static unsigned lookup_flags(const char *path, int expect)
{
	struct stat st;
	unsigned flags = 99;

	cr_assert_eq(lyr_lookup(L, path, &st, &flags), expect, "lookup %s", path);
	return flags;
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

/* ---- opening the layer ----------------------------------------------- */

Test(host, open_missing_dir_names_it)
{
	struct lyr_error err = { "" };
	struct lyr_layer *l = (void *)1;
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/does-not-exist", Tmp);
	cr_assert_eq(lyr_host_open(p, 0, &l, &err), -ENOENT);
	cr_assert_null(l);
	cr_assert_not_null(strstr(err.msg, p), "message: %s", err.msg);
}

Test(host, open_file_not_a_dir)
{
	struct lyr_error err = { "" };
	struct lyr_layer *l;
	char p[PATH_MAX];

	disk_file("plain", "x");
	disk_path(p, sizeof(p), "plain");
	cr_assert_eq(lyr_host_open(p, 0, &l, &err), -ENOTDIR);
	cr_assert_not_null(strstr(err.msg, p), "message: %s", err.msg);
	cr_assert_eq(lyr_host_open("", 0, &l, &err), -ENOENT);
	cr_assert_eq(lyr_host_open(Dir, 0x80, &l, &err), -EINVAL);
}

Test(host, open_unreadable_dir)
{
	struct lyr_error err = { "" };
	struct lyr_layer *l;
	char p[PATH_MAX];

	disk_dir("locked");
	disk_path(p, sizeof(p), "locked");
	cr_assert_eq(chmod(p, 0300), 0);
	cr_assert_eq(chmod(Tmp, 0755), 0);
	cr_assert_eq(seteuid(1000), 0);
	int r = lyr_host_open(p, 0, &l, &err);
	cr_assert_eq(seteuid(0), 0);
	cr_assert_eq(r, -EACCES);
	cr_assert_not_null(strstr(err.msg, p), "message: %s", err.msg);
}

Test(host, root_fd_above_low_range)
{
	struct lyr_layer *l;
	struct lyr_error err;
	char link[64], target[PATH_MAX];

	int probe = open("/dev/null", O_RDONLY);
	close(probe);
	cr_assert_eq(lyr_host_open(Dir, 0, &l, &err), 0);
	int again = open("/dev/null", O_RDONLY);
	cr_assert_eq(again, probe, "the layer took a low fd");
	close(again);
	/* Some fd at 1000 or above is the directory. */
	bool found = false;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);
		if (fd < 1000)
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			found |= strcmp(target, Dir) == 0;
		}
	}
	closedir(d);
	cr_assert(found);
	lyr_destroy(l);
}

/* ---- OCI storage ----------------------------------------------------- */

Test(host, rename_leaving_a_whiteout)
{
	struct stat st;
	char p[PATH_MAX];
	int fd = lyr_open(L, "a", O_CREAT | O_WRONLY, 0644);

	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(lyr_rename(L, "a", "b", LYR_RENAME_WHITEOUT), 0);
	cr_assert_eq(lyr_lookup(L, "b", &st, NULL), 0);
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_eq(lookup_flags("a", 0), LYR_WHITEOUT);
	disk_path(p, sizeof(p), ".wh.a");
	cr_assert_eq(lstat(p, &st), 0, "the marker is an OCI whiteout file");
	/* A failed rename leaves no marker behind. */
	cr_assert_eq(lyr_rename(L, "missing", "c", LYR_RENAME_WHITEOUT), -ENOENT);
	disk_path(p, sizeof(p), ".wh.missing");
	cr_assert_eq(lstat(p, &st), -1);
	cr_assert_eq(lyr_rename(L, "b", "a", LYR_RENAME_WHITEOUT | RENAME_EXCHANGE), -EINVAL);
}

Test(host, whiteout_of_nothing_creates_marker)
{
	struct lyr_dirlist d;
	struct stat st;
	char p[PATH_MAX];

	cr_assert_eq(lyr_whiteout(L, "gone"), 0);
	disk_path(p, sizeof(p), ".wh.gone");
	cr_assert_eq(lstat(p, &st), 0);
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_eq(st.st_size, 0);
	cr_assert_eq(lookup_flags("gone", 0), LYR_WHITEOUT);
	cr_assert_eq(lyr_readdir(L, "", &d), 0);
	cr_assert_eq(d.n, 3);
	cr_assert_eq(find_ent(&d, "gone")->type, DT_WHT);
	cr_assert_eq(find_ent(&d, "gone")->ino, 0);
	cr_assert_null(find_ent(&d, ".wh.gone"));
	lyr_dirlist_free(&d);
	cr_assert_eq(lyr_whiteout(L, "gone"), -ENOENT, "a second removal loses");
	cr_assert_eq(lstat(p, &st), 0, "and leaves the whiteout");
}

/* Markers are links of one file at the root: no inode per deletion. */
Test(host, markers_share_one_inode)
{
	struct stat a, b, o, m;
	char p[PATH_MAX];

	disk_dir("d");
	disk_file("d/f", "data");
	cr_assert_eq(lyr_whiteout(L, "gone"), 0);
	cr_assert_eq(lyr_whiteout(L, "d/f"), 0);
	cr_assert_eq(lyr_set_opaque(L, "d"), 0);
	disk_path(p, sizeof(p), ".wh.gone");
	cr_assert_eq(lstat(p, &a), 0);
	disk_path(p, sizeof(p), "d/.wh.f");
	cr_assert_eq(lstat(p, &b), 0);
	disk_path(p, sizeof(p), "d/.wh..wh..opq");
	cr_assert_eq(lstat(p, &o), 0);
	disk_path(p, sizeof(p), ".wh..wh..layerfs-marker");
	cr_assert_eq(lstat(p, &m), 0);
	cr_expect(S_ISREG(m.st_mode));
	cr_expect_eq(m.st_size, 0);
	cr_expect_eq(a.st_ino, m.st_ino);
	cr_expect_eq(b.st_ino, m.st_ino);
	cr_expect_eq(o.st_ino, m.st_ino);
	cr_expect_eq(m.st_nlink, 4);
	/* Creating the name removes its whiteout, and only that link. */
	cr_assert_eq(lyr_mkdir(L, "gone", 0755), 0);
	cr_assert_eq(lstat(p, &m), 0);
	cr_expect_eq(m.st_nlink, 3);
	cr_expect_eq(lookup_flags("d/f", 0), LYR_WHITEOUT);
}

/* Where the shared file cannot be linked, each marker is a file. */
Test(host, markers_without_the_shared_file)
{
	struct stat st;
	char p[PATH_MAX];

	disk_dir(".wh..wh..layerfs-marker");
	cr_assert_eq(lyr_whiteout(L, "gone"), 0);
	disk_path(p, sizeof(p), ".wh.gone");
	cr_assert_eq(lstat(p, &st), 0);
	cr_expect(S_ISREG(st.st_mode));
	cr_expect_eq(st.st_nlink, 1);
	cr_expect_eq(lookup_flags("gone", 0), LYR_WHITEOUT);
}

Test(host, whiteout_over_file)
{
	disk_file("f", "data");
	cr_assert_eq(lyr_whiteout(L, "f"), 0);
	cr_assert(!on_disk("f"));
	cr_assert(on_disk(".wh.f"));
	cr_assert_eq(lookup_flags("f", 0), LYR_WHITEOUT);
	cr_assert_eq(lyr_open(L, "f", O_RDONLY, 0), -ENOENT);
}

Test(host, whiteout_over_dir_with_only_markers)
{
	disk_dir("d");
	disk_file("d/.wh.x", "");
	disk_file("d/.wh..wh..opq", "");
	cr_assert_eq(lyr_whiteout(L, "d"), 0);
	cr_assert(!on_disk("d"));
	cr_assert(on_disk(".wh.d"));
}

Test(host, whiteout_over_non_empty_dir)
{
	disk_dir("d");
	disk_file("d/.wh.x", "");
	disk_file("d/real", "");
	cr_assert_eq(lyr_whiteout(L, "d"), -ENOTEMPTY);
	cr_assert(on_disk("d/real"));
	cr_assert(on_disk("d/.wh.x"));
	cr_assert(!on_disk(".wh.d"), "nothing left behind");
}

Test(host, set_opaque_marker)
{
	struct lyr_dirlist d;

	disk_dir("o");
	disk_file("o/x", "");
	cr_assert_eq(lookup_flags("o", 0), 0);
	cr_assert_eq(lyr_set_opaque(L, "o"), 0);
	cr_assert(on_disk("o/.wh..wh..opq"));
	cr_assert_eq(lookup_flags("o", 0), LYR_OPAQUE);
	cr_assert_eq(lyr_readdir(L, "o", &d), 0);
	cr_assert_eq(d.flags, LYR_OPAQUE);
	cr_assert_eq(d.n, 3, ". .. x");
	cr_assert_null(find_ent(&d, ".wh..wh..opq"));
	lyr_dirlist_free(&d);
	cr_assert_eq(lyr_set_opaque(L, "o/x"), -ENOTDIR);
	cr_assert_eq(lyr_set_opaque(L, "nope"), -ENOENT);
	cr_assert_eq(lyr_set_opaque(L, ""), 0, "the root can be opaque");
	cr_assert_eq(lookup_flags("", 0), LYR_OPAQUE);
}

Test(host, listing_hides_markers)
{
	struct lyr_dirlist d;

	disk_file("a", "");
	disk_file(".wh.b", "");
	disk_file(".wh..wh..opq", "");
	disk_file(".wh..wh.plnk", ""); /* aufs metadata: never shown */
	disk_file(".wh.a", "");        /* stale: the real a wins */
	cr_assert_eq(lyr_readdir(L, "", &d), 0);
	cr_assert_eq(d.n, 4, ". .. a b");
	cr_assert_eq(find_ent(&d, "a")->type, DT_REG);
	cr_assert_eq(find_ent(&d, "b")->type, DT_WHT);
	cr_assert_eq(d.flags, LYR_OPAQUE);
	for (size_t i = 0; i < d.n; i++)
		cr_assert_neq(strncmp(d.ents[i].name, ".wh.", 4), 0, "%s", d.ents[i].name);
	lyr_dirlist_free(&d);
	cr_assert_eq(lookup_flags("a", 0), 0, "a real name beats a stale whiteout");
}

Test(host, storage_names_do_not_exist)
{
	disk_file(".wh.x", "");
	disk_dir(".wh.dir");
	disk_file(".wh.dir/f", "");
	lookup_flags(".wh.x", -ENOENT);
	lookup_flags(".wh.dir/f", -ENOENT);
	lookup_flags(".wh..wh..opq", -ENOENT);
	cr_assert_eq(lyr_open(L, ".wh.x", O_RDONLY, 0), -ENOENT);
	cr_assert_eq(lyr_open(L, ".wh.dir/f", O_RDONLY, 0), -ENOENT);
	cr_assert_eq(lyr_unlink(L, ".wh.x"), -ENOENT);
	cr_assert_eq(lyr_rmdir(L, ".wh.dir"), -ENOENT);
	cr_assert_eq(lyr_chmod(L, ".wh.x", 0600), -ENOENT);
	cr_assert_eq(lyr_rename(L, ".wh.x", "y", 0), -ENOENT);
	struct lyr_dirlist d;
	cr_assert_eq(lyr_readdir(L, ".wh.dir", &d), -ENOENT);
	cr_assert(on_disk(".wh.x"));
}

Test(host, creating_storage_names_einval)
{
	disk_file("f", "");
	cr_assert_eq(lyr_open(L, ".wh.new", O_CREAT | O_WRONLY, 0644), -EINVAL);
	cr_assert_eq(lyr_mkdir(L, ".wh.new", 0755), -EINVAL);
	cr_assert_eq(lyr_mknod(L, ".wh.new", S_IFIFO | 0644, 0), -EINVAL);
	cr_assert_eq(lyr_symlink(L, "f", ".wh.new"), -EINVAL);
	cr_assert_eq(lyr_link(L, "f", ".wh.new"), -EINVAL);
	cr_assert_eq(lyr_rename(L, "f", ".wh.new", 0), -EINVAL);
	cr_assert_eq(lyr_whiteout(L, ".wh.new"), -EINVAL);
	int fd = lyr_tmpfile(L, "", 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(lyr_link_tmp(L, fd, ".wh.new"), -EINVAL);
	close(fd);
	cr_assert(!on_disk(".wh.new"));
	cr_assert(on_disk("f"));
}

Test(host, creation_removes_whiteout)
{
	static const char *const names[] = { "o", "d", "n", "s", "l", "r", "t" };
	char wh[16];

	disk_file("src", "");
	disk_file("src2", "");
	for (size_t i = 0; i < 7; i++)
		cr_assert_eq(lyr_whiteout(L, names[i]), 0);
	int fd = lyr_open(L, "o", O_CREAT | O_WRONLY, 0644);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(lyr_mkdir(L, "d", 0755), 0);
	cr_assert_eq(lyr_mknod(L, "n", S_IFIFO | 0644, 0), 0);
	cr_assert_eq(lyr_symlink(L, "src", "s"), 0);
	cr_assert_eq(lyr_link(L, "src", "l"), 0);
	cr_assert_eq(lyr_rename(L, "src2", "r", 0), 0);
	fd = lyr_tmpfile(L, "", 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(lyr_link_tmp(L, fd, "t"), 0);
	close(fd);
	for (size_t i = 0; i < 7; i++) {
		snprintf(wh, sizeof(wh), ".wh.%s", names[i]);
		cr_assert(!on_disk(wh), "%s left", wh);
		cr_assert(on_disk(names[i]));
		cr_assert_eq(lookup_flags(names[i], 0), 0);
	}
}

Test(host, rmdir_with_only_markers)
{
	disk_dir("d");
	disk_file("d/.wh.a", "");
	disk_file("d/.wh..wh..opq", "");
	cr_assert_eq(lyr_rmdir(L, "d"), 0);
	cr_assert(!on_disk("d"));
	cr_assert(!on_disk(".wh.d"), "rmdir never leaves a whiteout");
	disk_dir("e");
	disk_file("e/.wh.a", "");
	disk_file("e/real", "");
	cr_assert_eq(lyr_rmdir(L, "e"), -ENOTEMPTY);
	cr_assert(on_disk("e/.wh.a"), "markers kept when not empty");
	cr_assert_eq(lyr_rmdir(L, "e/real"), -ENOTDIR);
	cr_assert_eq(lyr_rmdir(L, ""), -EBUSY);
}

Test(host, unlink_never_whiteouts)
{
	disk_file("f", "");
	disk_dir("d");
	cr_assert_eq(lyr_unlink(L, "f"), 0);
	cr_assert(!on_disk(".wh.f"));
	cr_assert_eq(lyr_unlink(L, "f"), -ENOENT);
	cr_assert_eq(lyr_unlink(L, "d"), -EISDIR);
	cr_assert_eq(lyr_whiteout(L, "w"), 0);
	cr_assert_eq(lyr_unlink(L, "w"), -ENOENT);
	cr_assert(on_disk(".wh.w"));
}

Test(host, rename_moves_opaque_marker)
{
	disk_dir("o");
	cr_assert_eq(lyr_set_opaque(L, "o"), 0);
	cr_assert_eq(lyr_rename(L, "o", "p", 0), 0);
	cr_assert(on_disk("p/.wh..wh..opq"));
	cr_assert_eq(lookup_flags("p", 0), LYR_OPAQUE);
}

Test(host, rename_over_dir_with_only_markers)
{
	disk_dir("src");
	disk_file("src/keep", "");
	disk_dir("dst");
	disk_file("dst/.wh.old", "");
	cr_assert_eq(lyr_rename(L, "src", "dst", 0), 0);
	cr_assert(on_disk("dst/keep"));
	cr_assert(!on_disk("dst/.wh.old"));
	cr_assert_eq(lyr_rename(L, "dst", "", 0), -EBUSY);
}

/* ---- read-only ------------------------------------------------------- */

static struct lyr_layer *open_ro(void)
{
	struct lyr_layer *l;
	struct lyr_error err;

	disk_file("f", "data");
	disk_dir("d");
	disk_symlink("f", "ln");
	cr_assert_eq(lyr_host_open(Dir, LYR_HOST_RDONLY, &l, &err), 0, "%s", err.msg);
	cr_assert_eq(l->flags & LYR_LAYER_RDONLY, LYR_LAYER_RDONLY);
	return l;
}

Test(host, rdonly_every_mutation_erofs)
{
	struct lyr_layer *l = open_ro();
	struct timespec ts[2] = { { 0 }, { 0 } };

	cr_assert_eq(lyr_mkdir(l, "new", 0755), -EROFS);
	cr_assert_eq(lyr_mknod(l, "new", S_IFIFO | 0644, 0), -EROFS);
	cr_assert_eq(lyr_symlink(l, "f", "new"), -EROFS);
	cr_assert_eq(lyr_link(l, "f", "new"), -EROFS);
	cr_assert_eq(lyr_unlink(l, "f"), -EROFS);
	cr_assert_eq(lyr_rmdir(l, "d"), -EROFS);
	cr_assert_eq(lyr_rename(l, "f", "g", 0), -EROFS);
	cr_assert_eq(lyr_chmod(l, "f", 0600), -EROFS);
	cr_assert_eq(lyr_chown(l, "f", 1, 1), -EROFS);
	cr_assert_eq(lyr_utimens(l, "f", ts), -EROFS);
	cr_assert_eq(lyr_truncate(l, "f", 0), -EROFS);
	cr_assert_eq(lyr_whiteout(l, "f"), -EROFS);
	cr_assert_eq(lyr_set_opaque(l, "d"), -EROFS);
	cr_assert_eq(lyr_setxattr(l, "f", "user.a", "1", 1, 0), -EROFS);
	cr_assert_eq(lyr_removexattr(l, "f", "user.a"), -EROFS);
	cr_assert_eq(lyr_tmpfile(l, "", 0600), -EROFS);
	cr_assert_eq(lyr_link_tmp(l, 0, "new"), -EROFS);
	cr_assert(on_disk("f"));
	cr_assert(!on_disk("new"));
	cr_assert(!on_disk(".wh.f"));
	lyr_destroy(l);
}

Test(host, rdonly_open_for_write_erofs)
{
	struct lyr_layer *l = open_ro();

	cr_assert_eq(lyr_open(l, "f", O_WRONLY, 0), -EROFS);
	cr_assert_eq(lyr_open(l, "f", O_RDWR, 0), -EROFS);
	cr_assert_eq(lyr_open(l, "f", O_RDONLY | O_TRUNC, 0), -EROFS);
	cr_assert_eq(lyr_open(l, "new", O_CREAT | O_WRONLY, 0644), -EROFS);
	cr_assert_eq(lyr_open(l, "missing/new", O_CREAT | O_WRONLY, 0644), -ENOENT);
	cr_assert_eq(lyr_open(l, "missing", O_WRONLY, 0), -ENOENT);
	cr_assert_eq(lyr_open(l, "f", O_CREAT | O_EXCL | O_WRONLY, 0644), -EEXIST);
	cr_assert_eq(lyr_open(l, "d", O_WRONLY, 0), -EISDIR);
	cr_assert_eq(lyr_open(l, "ln", O_WRONLY, 0), -ELOOP);
	cr_assert_eq(lyr_open(l, "", O_TMPFILE | O_RDWR, 0600), -EROFS);
	cr_assert(!on_disk("new"));
	lyr_destroy(l);
}

Test(host, rdonly_reads_work)
{
	struct lyr_layer *l = open_ro();
	struct lyr_dirlist d;
	char buf[8] = "";

	int fd = lyr_open(l, "f", O_RDONLY, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(read(fd, buf, sizeof(buf) - 1), 4);
	cr_assert_str_eq(buf, "data");
	close(fd);
	fd = lyr_open(l, "f", O_CREAT | O_RDONLY, 0644);
	cr_assert_geq(fd, 0, "O_CREAT of an existing file opens it");
	close(fd);
	cr_assert_eq(lyr_readdir(l, "", &d), 0);
	cr_assert_eq(d.n, 5);
	lyr_dirlist_free(&d);
	cr_assert_eq(lyr_readlink(l, "ln", buf, sizeof(buf)), 1);
	lyr_destroy(l);
}

/* ---- symlinks are never followed ------------------------------------- */

Test(host, symlink_in_middle_is_not_a_directory)
{
	disk_dir("d");
	disk_file("d/f", "x");
	disk_symlink("d", "ln");
	disk_symlink("/", "esc");
	lookup_flags("ln/f", -ENOTDIR);
	lookup_flags("esc/etc", -ENOTDIR);
	cr_assert_eq(lyr_open(L, "ln/f", O_RDONLY, 0), -ENOTDIR);
	cr_assert_eq(lyr_open(L, "esc/etc/passwd", O_RDONLY, 0), -ENOTDIR);
	cr_assert_eq(lyr_open(L, "ln/new", O_CREAT | O_WRONLY, 0644), -ENOTDIR);
	cr_assert_eq(lyr_mkdir(L, "esc/tmp/x", 0755), -ENOTDIR);
	cr_assert_eq(lyr_chmod(L, "esc/etc", 0700), -ENOTDIR);
	struct lyr_dirlist d;
	cr_assert_eq(lyr_readdir(L, "ln", &d), -ENOTDIR);
	cr_assert_eq(lyr_readdir(L, "esc/etc", &d), -ENOTDIR);
}

Test(host, symlink_last_component_not_followed)
{
	struct stat st;
	char buf[16];

	disk_file("f", "x");
	disk_symlink("f", "ln");
	cr_assert_eq(lyr_open(L, "ln", O_RDONLY, 0), -ELOOP);
	cr_assert_eq(lyr_open(L, "ln", O_CREAT | O_WRONLY, 0644), -ELOOP);
	cr_assert_eq(lyr_lookup(L, "ln", &st, NULL), 0);
	cr_assert(S_ISLNK(st.st_mode));
	cr_assert_eq(lyr_chmod(L, "ln", 0600), -EOPNOTSUPP);
	cr_assert_eq(lyr_truncate(L, "ln", 0), -ELOOP);
	cr_assert_eq(lyr_chown(L, "ln", 7, 7), 0);
	cr_assert_eq(lyr_lookup(L, "f", &st, NULL), 0);
	cr_assert_eq(st.st_uid, 0, "the target is untouched");
	cr_assert_eq(lyr_readlink(L, "ln", buf, sizeof(buf)), 1);
	cr_assert_eq(lyr_readlink(L, "f", buf, sizeof(buf)), -EINVAL);
}

/* ---- the rest of the interface on a host ------------------------------ */

Test(host, readdir_dot_entries)
{
	struct lyr_dirlist d;
	struct stat root, sub;

	disk_dir("sub");
	cr_assert_eq(lyr_lookup(L, "", &root, NULL), 0);
	cr_assert_eq(lyr_lookup(L, "sub", &sub, NULL), 0);
	cr_assert_eq(lyr_readdir(L, "", &d), 0);
	cr_assert_str_eq(d.ents[0].name, ".");
	cr_assert_str_eq(d.ents[1].name, "..");
	cr_assert_eq(d.ents[0].ino, root.st_ino);
	cr_assert_eq(d.ents[1].ino, root.st_ino, "the root's .. is itself");
	lyr_dirlist_free(&d);
	cr_assert_eq(lyr_readdir(L, "sub", &d), 0);
	cr_assert_eq(d.n, 2);
	cr_assert_eq(d.ents[0].ino, sub.st_ino);
	cr_assert_eq(d.ents[1].ino, root.st_ino);
	lyr_dirlist_free(&d);
}

Test(host, open_errors_are_the_kernels)
{
	disk_file("f", "x");
	disk_dir("d");
	cr_assert_eq(lyr_open(L, "x", O_CREAT | O_DIRECTORY | O_RDONLY, 0755), -EINVAL);
	cr_assert_eq(lyr_open(L, "f", O_RDONLY | O_DIRECTORY, 0), -ENOTDIR);
	cr_assert_eq(lyr_open(L, "f/x", O_RDONLY, 0), -ENOTDIR);
	cr_assert_eq(lyr_open(L, "d", O_WRONLY, 0), -EISDIR);
	cr_assert_eq(lyr_open(L, "f", O_CREAT | O_EXCL | O_WRONLY, 0644), -EEXIST);
	cr_assert_eq(lyr_open(L, "", O_CREAT | O_RDONLY, 0644), -EISDIR);
	int fd = lyr_open(L, "", O_RDONLY | O_DIRECTORY, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	close(fd);
	/* open(2) ignores unknown flag bits; so does the layer. */
	fd = lyr_open(L, "f", O_RDONLY | 0x40000000, 0);
	cr_assert_geq(fd, 0);
	close(fd);
}

Test(host, truncate_special_files)
{
	char p[PATH_MAX];

	disk_path(p, sizeof(p), "fifo");
	cr_assert_eq(mkfifo(p, 0644), 0);
	disk_dir("d");
	cr_assert_eq(lyr_truncate(L, "fifo", 0), -EINVAL, "and it must not block");
	cr_assert_eq(lyr_truncate(L, "d", 0), -EISDIR);
	cr_assert_eq(lyr_truncate(L, "nope", 0), -ENOENT);
}

Test(host, tmpfile_is_invisible_until_linked)
{
	struct lyr_dirlist d;

	disk_dir("d");
	int fd = lyr_tmpfile(L, "d", 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "abc", 3), 3);
	cr_assert_eq(lyr_readdir(L, "d", &d), 0);
	cr_assert_eq(d.n, 2);
	lyr_dirlist_free(&d);
	cr_assert_eq(lyr_link_tmp(L, fd, "d/x"), 0);
	close(fd);
	cr_assert(on_disk("d/x"));
	disk_file("d/y", "");
	fd = lyr_tmpfile(L, "d", 0600);
	cr_assert_eq(lyr_link_tmp(L, fd, "d/y"), -EEXIST);
	close(fd);
	cr_assert_eq(lyr_tmpfile(L, "nope", 0600), -ENOENT);
	cr_assert_eq(lyr_link_tmp(L, -1, "z"), -EBADF);
}

Test(host, xattrs_user_namespace)
{
	char buf[64];

	disk_file("f", "");
	cr_assert_eq(lyr_setxattr(L, "f", "user.k", "v", 1, 0), 0);
	cr_assert_eq(lyr_getxattr(L, "f", "user.k", buf, sizeof(buf)), 1);
	ssize_t n = lyr_listxattr(L, "f", buf, sizeof(buf));
	cr_assert_gt(n, 0);
	bool found = false;
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1)
		found |= strcmp(buf + i, "user.k") == 0;
	cr_assert(found);
	cr_assert_eq(lyr_removexattr(L, "f", "user.k"), 0);
	cr_assert_eq(lyr_getxattr(L, "f", "user.k", buf, sizeof(buf)), -ENODATA);
	cr_assert_eq(lyr_getxattr(L, "nope", "user.k", buf, sizeof(buf)), -ENOENT);
	cr_assert_eq(lyr_setxattr(L, "", "user.root", "1", 1, 0), 0);
}

Test(host, statfs_of_the_directory)
{
	struct statvfs sv, want;

	cr_assert_eq(lyr_statfs(L, &sv), 0);
	cr_assert_eq(statvfs(Dir, &want), 0);
	cr_assert_eq(sv.f_fsid, want.f_fsid);
	cr_assert_eq(sv.f_bsize, want.f_bsize);
}

Test(host, long_names)
{
	char name[NAME_MAX + 1];

	memset(name, 'n', NAME_MAX);
	name[NAME_MAX] = '\0';
	int fd = lyr_open(L, name, O_CREAT | O_WRONLY, 0644);
	cr_assert_geq(fd, 0, "NAME_MAX fits");
	close(fd);
	/* No room for ".wh." in front: such a name cannot be whited out. */
	cr_assert_eq(lyr_whiteout(L, name), -ENAMETOOLONG);
	cr_assert_eq(lyr_unlink(L, name), 0);
}

/* ---- fd_name and lock_fd (layer ops version 3 and 4) ------------------ */

/* lyr_fd_name of fd: its result, the name in name. */
static int fd_name(struct lyr_layer *l, int fd, char *name)
{
	strcpy(name, "(unset)");
	return lyr_fd_name(l, fd, name, PATH_MAX);
}

Test(host, fd_name_is_the_current_name)
{
	char name[PATH_MAX], p[PATH_MAX];

	disk_dir("d");
	disk_dir("d/e");
	disk_file("d/e/f", "x");
	int fd = lyr_open(L, "d/e/f", O_RDONLY, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fd_name(L, fd, name), 0);
	cr_assert_str_eq(name, "d/e/f");
	/* any fd on the file, however opened */
	disk_path(p, sizeof(p), "d/e/f");
	int other = open(p, O_PATH | O_CLOEXEC);
	cr_assert_geq(other, 0);
	cr_assert_eq(fd_name(L, other, name), 0);
	cr_assert_str_eq(name, "d/e/f");
	close(other);
	/* directories, the root too */
	int dfd = lyr_open(L, "d/e", O_RDONLY | O_DIRECTORY, 0);
	cr_assert_geq(dfd, 0);
	cr_assert_eq(fd_name(L, dfd, name), 0);
	cr_assert_str_eq(name, "d/e");
	close(dfd);
	int root = lyr_open(L, "", O_RDONLY | O_DIRECTORY, 0);
	cr_assert_geq(root, 0);
	cr_assert_eq(fd_name(L, root, name), 0);
	cr_assert_str_eq(name, "");
	close(root);
	/* renamed: the name it has now */
	cr_assert_eq(lyr_rename(L, "d/e/f", "d/g", 0), 0);
	cr_assert_eq(fd_name(L, fd, name), 0);
	cr_assert_str_eq(name, "d/g");
	/* removed: none */
	cr_assert_eq(lyr_unlink(L, "d/g"), 0);
	cr_assert_eq(fd_name(L, fd, name), -ENOENT);
	close(fd);
}

Test(host, fd_name_of_files_not_the_layers)
{
	char name[PATH_MAX], p[PATH_MAX];

	/* beside the layer's directory */
	snprintf(p, sizeof(p), "%s/outside", Tmp);
	int fd = open(p, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fd_name(L, fd, name), -ENOENT);
	close(fd);
	/* a directory whose name starts like the layer's */
	snprintf(p, sizeof(p), "%sx", Dir);
	cr_assert_eq(mkdir(p, 0755), 0);
	fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fd_name(L, fd, name), -ENOENT);
	close(fd);
	/* no path at all: a pipe, an anonymous memfd */
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	cr_assert_eq(fd_name(L, pfd[0], name), -ENOENT);
	close(pfd[0]);
	close(pfd[1]);
	fd = memfd_create("x", MFD_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fd_name(L, fd, name), -ENOENT);
	close(fd);
	/* the layer's storage: a whiteout, a lock file */
	cr_assert_eq(lyr_whiteout(L, "w"), 0);
	disk_path(p, sizeof(p), ".wh.w");
	fd = open(p, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fd_name(L, fd, name), -ENOENT);
	close(fd);
	fd = lyr_lock_fd(L, 7);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fd_name(L, fd, name), -ENOENT);
	close(fd);
	/* removed behind the layer's back */
	disk_file("gone", "g");
	fd = lyr_open(L, "gone", O_RDONLY, 0);
	cr_assert_geq(fd, 0);
	disk_path(p, sizeof(p), "gone");
	cr_assert_eq(unlink(p), 0);
	cr_assert_eq(fd_name(L, fd, name), -ENOENT);
	/* ... and its name given to another file */
	disk_file("gone", "another");
	cr_assert_eq(fd_name(L, fd, name), -ENOENT);
	close(fd);
}

/* The layer's directory named through a symlink, or the root itself. */
Test(host, fd_name_whatever_the_directory_is_called)
{
	struct lyr_error err = { "" };
	struct lyr_layer *alias, *top;
	char name[PATH_MAX], p[PATH_MAX];

	disk_dir("d");
	disk_file("d/f", "x");
	snprintf(p, sizeof(p), "%s/alias", Tmp);
	cr_assert_eq(symlink(Dir, p), 0);
	cr_assert_eq(lyr_host_open(p, LYR_HOST_RDONLY, &alias, &err), 0, "%s", err.msg);
	int fd = lyr_open(L, "d/f", O_RDONLY, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fd_name(alias, fd, name), 0);
	cr_assert_str_eq(name, "d/f");
	lyr_destroy(alias);
	/* "/" (read-only: nothing is written there) */
	cr_assert_eq(lyr_host_open("/", LYR_HOST_RDONLY, &top, &err), 0, "%s", err.msg);
	char *real = realpath(Dir, NULL);
	cr_assert_not_null(real);
	snprintf(p, sizeof(p), "%s/d/f", real + 1);
	free(real);
	cr_assert_eq(fd_name(top, fd, name), 0);
	cr_assert_str_eq(name, p);
	lyr_destroy(top);
	close(fd);
}

/* One file per key for every opener of the directory (see also suite
 * conformance): a lock through one excludes one through the other. */
Test(host, lock_fd_shared_by_every_opener)
{
	struct lyr_error err = { "" };
	struct lyr_layer *again;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	cr_assert_eq(lyr_host_open(Dir, 0, &again, &err), 0, "%s", err.msg);
	int a = lyr_lock_fd(L, 42), b = lyr_lock_fd(again, 42), c = lyr_lock_fd(again, 43);
	cr_assert_geq(a, 0);
	cr_assert_geq(b, 0);
	cr_assert_geq(c, 0);
	cr_assert_eq(flock(a, LOCK_EX | LOCK_NB), 0);
	cr_assert_eq(flock(b, LOCK_EX | LOCK_NB), -1);
	cr_assert_eq(errno, EWOULDBLOCK);
	cr_assert_eq(flock(c, LOCK_EX | LOCK_NB), 0, "another key");
	cr_assert_eq(fcntl(b, F_OFD_SETLK, &fl), 0);
	cr_assert_eq(fcntl(a, F_OFD_SETLK, &fl), -1);
	cr_assert_eq(errno, EAGAIN);
	close(a);
	close(b);
	close(c);
	lyr_destroy(again);
}

Test(host, lock_files_are_never_listed)
{
	struct lyr_dirlist d;
	struct stat st;
	char name[NAME_MAX + 1] = "";

	disk_file("f", "x");
	int fd = lyr_lock_fd(L, 0x1234);
	cr_assert_geq(fd, 0);
	close(fd);
	/* on disk: one more name, an aufs-style metadata name */
	DIR *dir = opendir(Dir);
	cr_assert_not_null(dir);
	int n = 0;
	for (struct dirent *e; (e = readdir(dir));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    !strcmp(e->d_name, "f"))
			continue;
		n++;
		snprintf(name, sizeof(name), "%s", e->d_name);
	}
	closedir(dir);
	cr_assert_eq(n, 1, "one lock file");
	cr_assert(!strncmp(name, ".wh..wh.", 8), "%s", name);
	/* in the layer: neither listed nor found */
	cr_assert_eq(lyr_readdir(L, "", &d), 0);
	cr_assert_eq(d.n, 3, "., .. and f");
	cr_assert_not_null(find_ent(&d, "f"));
	cr_assert_null(find_ent(&d, name));
	lyr_dirlist_free(&d);
	cr_assert_eq(lyr_lookup(L, name, &st, NULL), -ENOENT);
	/* with f gone, nothing is listed */
	cr_assert_eq(lyr_unlink(L, "f"), 0);
	cr_assert_eq(lyr_readdir(L, "", &d), 0);
	cr_assert_eq(d.n, 2);
	lyr_dirlist_free(&d);
}

/* ---- the upper's lookup cache (LYR_HOST_UPPER) ------------------------ */

/* Two layers on one upper directory, as two processes of a job have: what
 * one changes, the other sees at once, though it remembered the name as
 * absent; a change made behind both is seen once lyr_host_changed says so. */
Test(host, upper_cache_sees_every_change)
{
	struct lyr_error err = { "" };
	struct lyr_layer *a, *b;
	struct lyr_dirlist list;
	struct stat st;
	unsigned fl;
	char p[512];

	cr_assert_eq(lyr_host_open(Dir, LYR_HOST_UPPER, &a, &err), 0, "%s", err.msg);
	cr_assert_eq(lyr_host_open(Dir, LYR_HOST_UPPER, &b, &err), 0, "%s", err.msg);
	for (int round = 0; round < 2; round++) { /* the second from the cache */
		cr_assert_eq(lyr_lookup(a, "d", &st, &fl), -ENOENT);
		cr_assert_eq(lyr_lookup(a, "d/x", &st, NULL), -ENOENT);
		cr_assert_eq(lyr_lookup(a, "gone", &st, &fl), -ENOENT);
	}
	cr_assert_eq(lyr_mkdir(b, "d", 0755), 0);
	cr_assert_eq(lyr_lookup(a, "d", &st, &fl), 0);
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(lyr_whiteout(b, "gone"), 0);
	cr_assert_eq(lyr_lookup(a, "gone", &st, &fl), 0);
	cr_assert_eq(fl, LYR_WHITEOUT);
	cr_assert_eq(lyr_lookup(a, "gone", &st, NULL), -ENOENT, "no markers asked: absent");
	cr_assert_eq(lyr_set_opaque(b, "d"), 0);
	cr_assert_eq(lyr_lookup(a, "d", &st, &fl), 0);
	cr_assert_eq(fl, LYR_OPAQUE);
	/* Behind the layers' back (a socket bound there), then told. */
	snprintf(p, sizeof(p), "%s/d/x", Dir);
	cr_assert_eq(mkdir(p, 0700), 0);
	lyr_host_changed(b);
	cr_assert_eq(lyr_lookup(a, "d/x", &st, NULL), 0);
	cr_assert_eq(st.st_mode & 07777, 0700);
	/* A directory's stat is remembered, and changes through a layer. */
	cr_assert_eq(lyr_chmod(b, "d/x", 0750), 0);
	cr_assert_eq(lyr_lookup(a, "d/x", &st, NULL), 0);
	cr_assert_eq(st.st_mode & 07777, 0750);
	/* The counter's file is the layer's own: never listed, never found. */
	cr_assert_eq(lyr_readdir(a, "", &list), 0);
	for (size_t i = 0; i < list.n; i++)
		cr_assert(strcmp(list.ents[i].name, ".wh..wh..layerfs-gen"), "listed");
	lyr_dirlist_free(&list);
	cr_assert_eq(lyr_lookup(a, ".wh..wh..layerfs-gen", &st, NULL), -ENOENT);
	lyr_destroy(a);
	lyr_destroy(b);
}

/* A file's stat is never remembered: writes through its fds change it. */
Test(host, upper_cache_keeps_no_file_stat)
{
	struct lyr_error err = { "" };
	struct lyr_layer *a;
	struct stat st;

	cr_assert_eq(lyr_host_open(Dir, LYR_HOST_UPPER, &a, &err), 0, "%s", err.msg);
	int fd = lyr_open(a, "f", O_WRONLY | O_CREAT, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(lyr_lookup(a, "f", &st, NULL), 0);
	cr_assert_eq(st.st_size, 0);
	cr_assert_eq(write(fd, "abc", 3), 3);
	cr_assert_eq(lyr_lookup(a, "f", &st, NULL), 0);
	cr_assert_eq(st.st_size, 3);
	close(fd);
	lyr_destroy(a);
}

/* ---- the store of symlinks' and special files' own xattrs -------------- */

/* Records in the store (entries of Dir/.wh..wh..layerfs-xattr). */
static int store_count(void)
{
	char p[PATH_MAX];
	struct dirent *e;
	int n = 0;

	snprintf(p, sizeof(p), "%s/.wh..wh..layerfs-xattr", Dir);
	DIR *d = opendir(p);
	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * LYR_XATTR_ORIGIN_STORED on a symlink and a fifo: kept (Linux refuses
 * user.* on them), read back by a new layer over the same directory,
 * after a rename and through a hard link; gone with the last name; on a
 * file it is the inode's own.  Other user.* names stay refused, and the
 * store is never listed or found.
 */
Test(host, stored_xattrs_of_symlinks_and_fifos)
{
	struct lyr_error err = { "" };
	char b[16], p[PATH_MAX];
	struct lyr_dirlist dl;

	cr_assert_eq(lyr_symlink(L, "target", "sl"), 0);
	cr_assert_eq(lyr_mknod(L, "ff", S_IFIFO | 0644, 0), 0);
	cr_assert_eq(lyr_mkdir(L, "d", 0755), 0);
	cr_assert_eq(lyr_setxattr(L, "sl", LYR_XATTR_ORIGIN_STORED, "12345678", 8, 0), 0);
	cr_assert_eq(lyr_setxattr(L, "ff", LYR_XATTR_ORIGIN_STORED, "abcdefgh", 8, 0), 0);
	cr_assert_eq(lyr_setxattr(L, "sl", "user.other", "1", 1, 0), -EPERM);
	cr_assert_eq(store_count(), 2);

	/* A new layer over the same directory: the kept upper of a later run. */
	lyr_destroy(L);
	cr_assert_eq(lyr_host_open(Dir, 0, &L, &err), 0, "%s", err.msg);
	cr_assert_eq(lyr_rename(L, "sl", "d/sl2", 0), 0);
	cr_assert_eq(lyr_link(L, "d/sl2", "sl3"), 0);
	cr_assert_eq(lyr_getxattr(L, "d/sl2", LYR_XATTR_ORIGIN_STORED, b, sizeof(b)), 8);
	cr_assert(!memcmp(b, "12345678", 8));
	cr_assert_eq(lyr_getxattr(L, "sl3", LYR_XATTR_ORIGIN_STORED, b, sizeof(b)), 8);
	cr_assert_eq(lyr_getxattr(L, "ff", LYR_XATTR_ORIGIN_STORED, b, sizeof(b)), 8);
	cr_assert(!memcmp(b, "abcdefgh", 8));

	/* Not in the layer's names. */
	cr_assert_eq(lyr_readdir(L, "", &dl), 0);
	for (size_t i = 0; i < dl.n; i++)
		cr_assert(strncmp(dl.ents[i].name, ".wh.", 4), "listed: %s", dl.ents[i].name);
	lyr_dirlist_free(&dl);
	cr_assert_eq(lyr_lookup(L, ".wh..wh..layerfs-xattr", NULL, NULL), -ENOENT);

	/* One name left keeps the record; the last one takes it along. */
	cr_assert_eq(lyr_unlink(L, "d/sl2"), 0);
	cr_assert_eq(lyr_getxattr(L, "sl3", LYR_XATTR_ORIGIN_STORED, b, sizeof(b)), 8);
	cr_assert_eq(store_count(), 2);
	cr_assert_eq(lyr_unlink(L, "sl3"), 0);
	cr_assert_eq(store_count(), 1);
	cr_assert_eq(lyr_symlink(L, "x", "ff2"), 0);
	cr_assert_eq(lyr_rename(L, "ff2", "ff", 0), 0);
	cr_assert_eq(store_count(), 0, "renamed over: gone");
	cr_assert_eq(lyr_getxattr(L, "ff", LYR_XATTR_ORIGIN_STORED, b, sizeof(b)), -ENODATA);

	/* On a file, the inode's own xattr. */
	int fd = lyr_open(L, "f", O_CREAT | O_WRONLY, 0644);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(lyr_setxattr(L, "f", LYR_XATTR_ORIGIN_STORED, "f", 1, 0), 0);
	snprintf(p, sizeof(p), "%s/f", Dir);
	cr_assert_eq(getxattr(p, LYR_XATTR_ORIGIN_STORED, b, sizeof(b)), 1);
	cr_assert_eq(store_count(), 0);
}
