/* SPDX-License-Identifier: MIT */
/*
 * test_mem.c - the memory layer on its own (suite "mem").
 *
 * The seed cases of seed-cases.md "Memory layer on its own" come first,
 * one Test each, then what the memory layer adds: permissions, whiteouts,
 * directory fds, special files, tmpfiles, xattrs, times.  Tests that act
 * as another user switch the euid inside their own process (Criterion
 * runs each test in its own process) and switch back before returning.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "layerfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

static struct lyr_layer *L;

static void mem_setup(void)
{
	struct lyr_error err = { "" };

	cr_assert_eq(lyr_mem_open(&L, &err), 0, "lyr_mem_open: %s", err.msg);
}

static void mem_teardown(void)
{
	/* A test that failed while acting as another user: become root again. */
	if (geteuid() != 0 && seteuid(0) == 0)
		setegid(0);
	lyr_destroy(L);
}

TestSuite(mem, .init = mem_setup, .fini = mem_teardown);

/* ---- helpers --------------------------------------------------------- */

static void put(const char *path, const char *data, mode_t mode)
{
	int fd = lyr_open(L, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
	cr_assert_geq(fd, 0, "create %s: %s", path, strerror(-fd));
	cr_assert_eq(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

/* The whole content of path, NUL-terminated, in buf. */
static void get(const char *path, char *buf, size_t size)
{
	int fd = lyr_open(L, path, O_RDONLY, 0);
	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(-fd));
	ssize_t n = read(fd, buf, size - 1);
	cr_assert_geq(n, 0);
	buf[n] = '\0';
	close(fd);
}

static struct stat st_of(const char *path)
{
	struct stat st;
	int r = lyr_lookup(L, path, &st, NULL);
	cr_assert_eq(r, 0, "lookup %s: %s", path, strerror(-r));
	return st;
}

/* Acts as uid:gid with the given supplementary groups. */
static void become(uid_t uid, gid_t gid, size_t ngroups, const gid_t *groups)
{
	cr_assert_eq(seteuid(0), 0);
	cr_assert_eq(setgroups(ngroups, groups), 0);
	cr_assert_eq(setegid(gid), 0);
	cr_assert_eq(seteuid(uid), 0);
}

static void become_root(void)
{
	cr_assert_eq(seteuid(0), 0);
	cr_assert_eq(setegid(0), 0);
	cr_assert_eq(setgroups(0, NULL), 0);
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

/* ---- seed cases: memory layer on its own ----------------------------- */

Test(mem, create_unlink_reopen_enoent)
{
	put("f", "x", 0644);
	cr_assert_eq(lyr_unlink(L, "f"), 0);
	cr_assert_eq(lyr_open(L, "f", O_RDONLY, 0), -ENOENT);
	cr_assert_eq(lyr_lookup(L, "f", &(struct stat){ 0 }, NULL), -ENOENT);
}

Test(mem, write_then_read_back)
{
	char buf[64];

	put("f", "hello, layer\n", 0644);
	get("f", buf, sizeof(buf));
	cr_assert_str_eq(buf, "hello, layer\n");
	cr_assert_eq(st_of("f").st_size, 13);
}

Test(mem, pwrite_pread_at_offset)
{
	char buf[16] = "";
	int fd = lyr_open(L, "f", O_CREAT | O_RDWR, 0644);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "0123456789", 10), 10);
	cr_assert_eq(pwrite(fd, "ab", 2, 4), 2);
	cr_assert_eq(pread(fd, buf, 4, 3), 4);
	cr_assert_str_eq(buf, "3ab6");
	cr_assert_eq(lseek(fd, 0, SEEK_CUR), 10, "pwrite/pread keep the offset");
	close(fd);
}

Test(mem, mkdir_rmdir_at_root)
{
	cr_assert_eq(lyr_mkdir(L, "d", 0755), 0);
	cr_assert(S_ISDIR(st_of("d").st_mode));
	cr_assert_eq(lyr_rmdir(L, "d"), 0);
	cr_assert_eq(lyr_open(L, "d", O_RDONLY | O_DIRECTORY, 0), -ENOENT);
}

Test(mem, mkdir_rmdir_in_subdir)
{
	cr_assert_eq(lyr_mkdir(L, "d", 0755), 0);
	cr_assert_eq(lyr_mkdir(L, "d/e", 0755), 0);
	cr_assert_eq(lyr_rmdir(L, "d/e"), 0);
	cr_assert_eq(lyr_open(L, "d/e", O_RDONLY, 0), -ENOENT);
	cr_assert_eq(lyr_open(L, "d/e/x", O_RDONLY, 0), -ENOENT);
	cr_assert_eq(lyr_rmdir(L, "d"), 0);
	cr_assert_eq(lyr_open(L, "d", O_RDONLY, 0), -ENOENT);
}

Test(mem, empty_dir_lists_dot_and_dotdot)
{
	struct lyr_dirlist d;

	cr_assert_eq(lyr_mkdir(L, "e", 0755), 0);
	cr_assert_eq(lyr_readdir(L, "e", &d), 0);
	cr_assert_eq(d.n, 2);
	cr_assert_str_eq(d.ents[0].name, ".");
	cr_assert_str_eq(d.ents[1].name, "..");
	cr_assert_eq(d.ents[0].ino, st_of("e").st_ino);
	cr_assert_eq(d.ents[1].ino, st_of("").st_ino);
	cr_assert_eq(d.ents[0].type, DT_DIR);
	lyr_dirlist_free(&d);
}

Test(mem, dir_with_five_entries)
{
	static const char *const names[] = { "f1", "f2", "sub", "ln", "fifo" };
	struct lyr_dirlist d;

	cr_assert_eq(lyr_mkdir(L, "d", 0755), 0);
	put("d/f1", "", 0644);
	put("d/f2", "", 0644);
	cr_assert_eq(lyr_mkdir(L, "d/sub", 0755), 0);
	cr_assert_eq(lyr_symlink(L, "f1", "d/ln"), 0);
	cr_assert_eq(lyr_mknod(L, "d/fifo", S_IFIFO | 0644, 0), 0);
	cr_assert_eq(lyr_readdir(L, "d", &d), 0);
	cr_assert_eq(d.n, 7);
	cr_assert_str_eq(d.ents[0].name, ".");
	cr_assert_str_eq(d.ents[1].name, "..");
	for (size_t i = 0; i < 5; i++) {
		char path[32];
		snprintf(path, sizeof(path), "d/%s", names[i]);
		const struct lyr_dirent *e = find_ent(&d, names[i]);
		cr_assert_not_null(e, "%s missing", names[i]);
		struct stat st = st_of(path);
		cr_assert_eq(e->ino, st.st_ino, "%s ino", names[i]);
		cr_assert_eq(e->type, IFTODT(st.st_mode), "%s type", names[i]);
	}
	cr_assert_eq(find_ent(&d, "sub")->type, DT_DIR);
	cr_assert_eq(find_ent(&d, "ln")->type, DT_LNK);
	cr_assert_eq(find_ent(&d, "fifo")->type, DT_FIFO);
	cr_assert_eq(find_ent(&d, "f1")->type, DT_REG);
	lyr_dirlist_free(&d);
}

Test(mem, readdir_on_file_enotdir)
{
	struct lyr_dirlist d;

	put("f", "", 0644);
	cr_assert_eq(lyr_readdir(L, "f", &d), -ENOTDIR);
	cr_assert_eq(d.n, 0);
}

Test(mem, chown_by_owner)
{
	static const gid_t groups[] = { 1000, 1001 };

	cr_assert_eq(lyr_chmod(L, "", 0777), 0);
	become(1000, 1000, 2, groups);
	put("f", "", 0644);
	cr_assert_eq(st_of("f").st_uid, 1000);
	cr_assert_eq(lyr_chown(L, "f", 1000, 1001), 0);
	cr_assert_eq(lyr_chown(L, "f", (uid_t)-1, 1000), 0);
	cr_assert_eq(st_of("f").st_gid, 1000);
	cr_assert_eq(lyr_chown(L, "f", (uid_t)-1, 1002), -EPERM, "not a member of 1002");
	cr_assert_eq(lyr_chown(L, "f", 0, (gid_t)-1), -EPERM, "only root gives away");
	become_root();
}

Test(mem, chown_by_root)
{
	put("f", "", 0644);
	cr_assert_eq(lyr_chown(L, "f", 1234, 5678), 0);
	struct stat st = st_of("f");
	cr_assert_eq(st.st_uid, 1234);
	cr_assert_eq(st.st_gid, 5678);
	cr_assert_eq(lyr_chown(L, "", 1, 1), 0, "the root directory too");
}

Test(mem, chown_by_other_eperm)
{
	put("f", "", 0644);
	cr_assert_eq(lyr_chown(L, "f", 1000, 1000), 0);
	become(1001, 1001, 0, NULL);
	cr_assert_eq(lyr_chown(L, "f", 1001, (gid_t)-1), -EPERM);
	cr_assert_eq(lyr_chown(L, "f", (uid_t)-1, 1001), -EPERM);
	cr_assert_eq(lyr_chown(L, "f", 1000, 1000), -EPERM);
	become_root();
	cr_assert_eq(st_of("f").st_uid, 1000);
}

Test(mem, chown_missing_enoent)
{
	cr_assert_eq(lyr_chown(L, "nope", 1, 1), -ENOENT);
	cr_assert_eq(lyr_chown(L, "nope/deeper", 1, 1), -ENOENT);
}

Test(mem, chown_user_only)
{
	put("f", "", 0644);
	cr_assert_eq(lyr_chown(L, "f", 10, 20), 0);
	cr_assert_eq(lyr_chown(L, "f", 11, (gid_t)-1), 0);
	struct stat st = st_of("f");
	cr_assert_eq(st.st_uid, 11);
	cr_assert_eq(st.st_gid, 20);
}

Test(mem, chown_group_only)
{
	put("f", "", 0644);
	cr_assert_eq(lyr_chown(L, "f", 10, 20), 0);
	cr_assert_eq(lyr_chown(L, "f", (uid_t)-1, 21), 0);
	struct stat st = st_of("f");
	cr_assert_eq(st.st_uid, 10);
	cr_assert_eq(st.st_gid, 21);
}

Test(mem, o_directory_on_file_enotdir)
{
	put("f", "", 0644);
	cr_assert_eq(lyr_open(L, "f", O_RDONLY | O_DIRECTORY, 0), -ENOTDIR);
}

Test(mem, o_excl_creat_existing_file_eexist)
{
	put("f", "keep", 0644);
	cr_assert_eq(lyr_open(L, "f", O_CREAT | O_EXCL | O_WRONLY, 0644), -EEXIST);
	cr_assert_eq(st_of("f").st_size, 4);
}

Test(mem, o_excl_creat_existing_dir_eexist)
{
	cr_assert_eq(lyr_mkdir(L, "d", 0755), 0);
	cr_assert_eq(lyr_open(L, "d", O_CREAT | O_EXCL | O_RDONLY, 0644), -EEXIST);
}

Test(mem, o_excl_without_creat_ignored)
{
	put("f", "data", 0644);
	int fd = lyr_open(L, "f", O_EXCL | O_RDONLY, 0);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(lyr_open(L, "nope", O_EXCL | O_RDONLY, 0), -ENOENT);
}

Test(mem, o_trunc_wronly_empties)
{
	put("f", "abcdef", 0644);
	int fd = lyr_open(L, "f", O_WRONLY | O_TRUNC, 0);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(st_of("f").st_size, 0);
}

Test(mem, o_trunc_rdwr_empties)
{
	char buf[8];

	put("f", "abcdef", 0644);
	int fd = lyr_open(L, "f", O_RDWR | O_TRUNC, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(read(fd, buf, sizeof(buf)), 0);
	close(fd);
	cr_assert_eq(st_of("f").st_size, 0);
}

Test(mem, lseek_zero_write_one_byte)
{
	char buf[16];

	put("f", "abcdef", 0644);
	int fd = lyr_open(L, "f", O_RDWR, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
	cr_assert_eq(write(fd, "X", 1), 1);
	cr_assert_eq(lseek(fd, 0, SEEK_CUR), 1);
	close(fd);
	get("f", buf, sizeof(buf));
	cr_assert_str_eq(buf, "Xbcdef");
}

Test(mem, o_append_writes_at_end_after_lseek)
{
	char buf[16];

	put("f", "abc", 0644);
	int fd = lyr_open(L, "f", O_WRONLY | O_APPEND, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
	cr_assert_eq(write(fd, "de", 2), 2);
	cr_assert_eq(lseek(fd, 0, SEEK_CUR), 5);
	close(fd);
	get("f", buf, sizeof(buf));
	cr_assert_str_eq(buf, "abcde");
}

Test(mem, o_rdwr_append_reads_from_start)
{
	char buf[16] = "";

	put("f", "abc", 0644);
	int fd = lyr_open(L, "f", O_RDWR | O_APPEND, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(read(fd, buf, 2), 2);
	cr_assert_str_eq(buf, "ab");
	cr_assert_eq(write(fd, "Z", 1), 1);
	close(fd);
	get("f", buf, sizeof(buf));
	cr_assert_str_eq(buf, "abcZ");
}

Test(mem, pwrite_on_o_append_appends)
{
	char buf[16];

	put("f", "abc", 0644);
	int fd = lyr_open(L, "f", O_WRONLY | O_APPEND, 0);
	cr_assert_geq(fd, 0);
	/* Linux ignores the offset of pwrite on an O_APPEND fd. */
	cr_assert_eq(pwrite(fd, "X", 1, 0), 1);
	close(fd);
	get("f", buf, sizeof(buf));
	cr_assert_str_eq(buf, "abcX");
}

Test(mem, o_append_with_o_trunc)
{
	char buf[16];

	put("f", "abcdef", 0644);
	int fd = lyr_open(L, "f", O_WRONLY | O_APPEND | O_TRUNC, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "1", 1), 1);
	cr_assert_eq(write(fd, "2", 1), 1);
	close(fd);
	get("f", buf, sizeof(buf));
	cr_assert_str_eq(buf, "12");
}

/* ---- what the memory layer adds -------------------------------------- */

Test(mem, each_open_has_its_own_offset)
{
	char a[4] = "", b[4] = "";

	put("f", "abcdef", 0644);
	int fa = lyr_open(L, "f", O_RDONLY, 0), fb = lyr_open(L, "f", O_RDONLY, 0);
	cr_assert_geq(fa, 0);
	cr_assert_geq(fb, 0);
	cr_assert_eq(read(fa, a, 3), 3);
	cr_assert_eq(read(fb, b, 2), 2);
	cr_assert_str_eq(a, "abc");
	cr_assert_str_eq(b, "ab");
	cr_assert_eq(fcntl(fa, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	close(fa);
	close(fb);
}

Test(mem, access_modes_enforced_by_fd)
{
	put("f", "abc", 0644);
	int fd = lyr_open(L, "f", O_RDONLY, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "x", 1), -1);
	cr_assert_eq(errno, EBADF);
	close(fd);
}

Test(mem, open_fd_survives_unlink)
{
	char buf[8] = "";

	put("f", "alive", 0644);
	int fd = lyr_open(L, "f", O_RDONLY, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(lyr_unlink(L, "f"), 0);
	cr_assert_eq(read(fd, buf, 5), 5);
	cr_assert_str_eq(buf, "alive");
	close(fd);
	cr_assert_eq(lyr_open(L, "f", O_RDONLY, 0), -ENOENT);
}

Test(mem, open_directory_gives_a_directory_fd)
{
	struct stat st;

	cr_assert_eq(lyr_mkdir(L, "d", 0755), 0);
	int fd = lyr_open(L, "d", O_RDONLY | O_DIRECTORY, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(lyr_open(L, "d", O_WRONLY, 0), -EISDIR);
	cr_assert_eq(lyr_open(L, "d", O_RDONLY | O_TRUNC, 0), -EISDIR);
	cr_assert_eq(lyr_open(L, "d", O_CREAT | O_RDONLY, 0644), -EISDIR);
	cr_assert_eq(lyr_open(L, "", O_CREAT | O_RDONLY, 0644), -EISDIR);
	int fd2 = lyr_open(L, "", O_RDONLY, 0);
	cr_assert_geq(fd2, 0);
	/* Distinct open file descriptions: status flags are not shared. */
	cr_assert_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	cr_assert_eq(fcntl(fd2, F_GETFL) & O_NONBLOCK, 0);
	close(fd);
	close(fd2);
}

Test(mem, o_creat_o_directory_einval)
{
	cr_assert_eq(lyr_open(L, "x", O_CREAT | O_DIRECTORY | O_RDONLY, 0755), -EINVAL);
	cr_assert_eq(lyr_lookup(L, "x", &(struct stat){ 0 }, NULL), -ENOENT);
}

Test(mem, symlink_open_eloop_and_middle_enotdir)
{
	cr_assert_eq(lyr_mkdir(L, "d", 0755), 0);
	cr_assert_eq(lyr_symlink(L, "d", "ln"), 0);
	cr_assert_eq(lyr_open(L, "ln", O_RDONLY, 0), -ELOOP);
	cr_assert_eq(lyr_open(L, "ln", O_RDONLY | O_DIRECTORY, 0), -ENOTDIR);
	cr_assert_eq(lyr_lookup(L, "ln/x", &(struct stat){ 0 }, NULL), -ENOTDIR);
	cr_assert_eq(lyr_open(L, "ln/x", O_CREAT | O_WRONLY, 0644), -ENOTDIR);
	cr_assert_eq(lyr_symlink(L, "", "empty"), -ENOENT);
}

Test(mem, mknod_special_files_open_enxio)
{
	struct stat st;

	cr_assert_eq(lyr_mknod(L, "fifo", S_IFIFO | 0600, 0), 0);
	cr_assert_eq(lyr_mknod(L, "chr", S_IFCHR | 0600, makedev(1, 3)), 0);
	cr_assert_eq(lyr_mknod(L, "reg", 0600, 0), 0);
	cr_assert_eq(lyr_mknod(L, "dir", S_IFDIR | 0600, 0), -EPERM);
	cr_assert_eq(lyr_mknod(L, "bad", 0170000 | 0600, 0), -EINVAL);
	cr_assert_eq(lyr_mknod(L, "fifo", S_IFIFO | 0600, 0), -EEXIST);
	cr_assert_eq(lyr_lookup(L, "chr", &st, NULL), 0);
	cr_assert(S_ISCHR(st.st_mode));
	cr_assert_eq(st.st_rdev, makedev(1, 3));
	cr_assert(S_ISREG(st_of("reg").st_mode));
	cr_assert_eq(lyr_open(L, "fifo", O_RDONLY, 0), -ENXIO);
	cr_assert_eq(lyr_open(L, "chr", O_RDWR, 0), -ENXIO);
	become(1000, 1000, 0, NULL);
	cr_assert_eq(lyr_mknod(L, "tmpchr", S_IFCHR | 0600, makedev(1, 3)), -EACCES,
		     "root dir is 0755 root-owned");
	become_root();
	cr_assert_eq(lyr_chmod(L, "", 0777), 0);
	become(1000, 1000, 0, NULL);
	cr_assert_eq(lyr_mknod(L, "tmpchr", S_IFCHR | 0600, makedev(1, 3)), -EPERM);
	cr_assert_eq(lyr_mknod(L, "myfifo", S_IFIFO | 0600, 0), 0);
	become_root();
}

Test(mem, permissions_open_read_write)
{
	put("secret", "s", 0600);
	put("public", "p", 0644);
	become(1000, 1000, 0, NULL);
	cr_assert_eq(lyr_open(L, "secret", O_RDONLY, 0), -EACCES);
	cr_assert_eq(lyr_open(L, "public", O_WRONLY, 0), -EACCES);
	cr_assert_eq(lyr_open(L, "public", O_RDONLY | O_TRUNC, 0), -EACCES);
	int fd = lyr_open(L, "public", O_RDONLY, 0);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(lyr_open(L, "new", O_CREAT | O_WRONLY, 0644), -EACCES,
		     "no write permission on the root");
	cr_assert_eq(lyr_unlink(L, "public"), -EACCES);
	cr_assert_eq(lyr_truncate(L, "public", 0), -EACCES);
	become_root();
}

Test(mem, permissions_search_on_directories)
{
	cr_assert_eq(lyr_mkdir(L, "d", 0700), 0);
	put("d/f", "x", 0644);
	become(1000, 1000, 0, NULL);
	cr_assert_eq(lyr_lookup(L, "d/f", &(struct stat){ 0 }, NULL), -EACCES);
	cr_assert_eq(lyr_open(L, "d/f", O_RDONLY, 0), -EACCES);
	struct lyr_dirlist d;
	cr_assert_eq(lyr_readdir(L, "d", &d), -EACCES);
	cr_assert_eq(lyr_lookup(L, "d", &(struct stat){ 0 }, NULL), 0);
	become_root();
}

Test(mem, create_as_user_owns_and_new_file_opens_despite_mode)
{
	cr_assert_eq(lyr_mkdir(L, "pub", 0777), 0);
	become(1000, 1001, 0, NULL);
	/* open(O_CREAT) does not check the mode it just gave. */
	int fd = lyr_open(L, "pub/ro", O_CREAT | O_RDWR, 0444);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "ok", 2), 2);
	close(fd);
	struct stat st = st_of("pub/ro");
	cr_assert_eq(st.st_uid, 1000);
	cr_assert_eq(st.st_gid, 1001);
	cr_assert_eq(st.st_mode & 07777, 0444);
	cr_assert_eq(lyr_open(L, "pub/ro", O_WRONLY, 0), -EACCES);
	become_root();
}

Test(mem, sticky_directory)
{
	cr_assert_eq(lyr_mkdir(L, "tmp", 01777), 0);
	become(1000, 1000, 0, NULL);
	put("tmp/mine", "", 0644);
	become(1001, 1001, 0, NULL);
	cr_assert_eq(lyr_unlink(L, "tmp/mine"), -EPERM);
	cr_assert_eq(lyr_rename(L, "tmp/mine", "tmp/stolen", 0), -EPERM);
	become(1000, 1000, 0, NULL);
	cr_assert_eq(lyr_unlink(L, "tmp/mine"), 0);
	become_root();
}

Test(mem, setgid_directory_passes_group_on)
{
	cr_assert_eq(lyr_mkdir(L, "g", 0775), 0);
	cr_assert_eq(lyr_chown(L, "g", (uid_t)-1, 4242), 0);
	cr_assert_eq(lyr_chmod(L, "g", 02775), 0);
	cr_assert_eq(lyr_mkdir(L, "g/sub", 0755), 0);
	put("g/f", "", 0644);
	cr_assert_eq(st_of("g/f").st_gid, 4242);
	struct stat st = st_of("g/sub");
	cr_assert_eq(st.st_gid, 4242);
	cr_assert(st.st_mode & S_ISGID);
}

Test(mem, chmod_rules)
{
	put("f", "", 0644);
	cr_assert_eq(lyr_symlink(L, "f", "ln"), 0);
	cr_assert_eq(lyr_chmod(L, "ln", 0600), -EOPNOTSUPP);
	cr_assert_eq(lyr_chmod(L, "f", 04751), 0);
	cr_assert_eq(st_of("f").st_mode, S_IFREG | 04751);
	cr_assert_eq(lyr_chmod(L, "nope", 0600), -ENOENT);
	cr_assert_eq(lyr_chown(L, "f", 0, 0), 0);
	cr_assert_eq(st_of("f").st_mode & S_ISUID, 0, "chown drops setuid");
	become(1000, 1000, 0, NULL);
	cr_assert_eq(lyr_chmod(L, "f", 0777), -EPERM);
	become_root();
}

Test(mem, hard_links_share_node)
{
	char buf[8];

	put("a", "shared", 0644);
	cr_assert_eq(lyr_link(L, "a", "b"), 0);
	struct stat sa = st_of("a"), sb = st_of("b");
	cr_assert_eq(sa.st_ino, sb.st_ino);
	cr_assert_eq(sa.st_nlink, 2);
	cr_assert_eq(lyr_unlink(L, "a"), 0);
	cr_assert_eq(st_of("b").st_nlink, 1);
	get("b", buf, sizeof(buf));
	cr_assert_str_eq(buf, "shared");
	cr_assert_eq(lyr_mkdir(L, "d", 0755), 0);
	cr_assert_eq(lyr_link(L, "d", "d2"), -EPERM);
	cr_assert_eq(lyr_link(L, "nope", "x"), -ENOENT);
	cr_assert_eq(lyr_link(L, "b", "d"), -EEXIST);
}

Test(mem, directory_link_counts)
{
	cr_assert_eq(st_of("").st_nlink, 2);
	cr_assert_eq(lyr_mkdir(L, "a", 0755), 0);
	cr_assert_eq(lyr_mkdir(L, "b", 0755), 0);
	cr_assert_eq(st_of("").st_nlink, 4);
	cr_assert_eq(lyr_rename(L, "b", "a/b", 0), 0);
	cr_assert_eq(st_of("").st_nlink, 3);
	cr_assert_eq(st_of("a").st_nlink, 3);
	cr_assert_eq(lyr_rmdir(L, "a/b"), 0);
	cr_assert_eq(st_of("a").st_nlink, 2);
}

Test(mem, whiteouts_and_opaque)
{
	struct lyr_dirlist d;
	unsigned flags = 99;

	put("f", "x", 0644);
	cr_assert_eq(lyr_mkdir(L, "d", 0755), 0);
	cr_assert_eq(lyr_whiteout(L, "f"), 0);
	cr_assert_eq(lyr_whiteout(L, "gone"), 0);
	cr_assert_eq(lyr_whiteout(L, "gone"), -ENOENT, "a second removal loses");
	cr_assert_eq(lyr_lookup(L, "f", &(struct stat){ 0 }, &flags), 0);
	cr_assert_eq(flags, LYR_WHITEOUT);
	cr_assert_eq(lyr_open(L, "f", O_RDONLY, 0), -ENOENT);
	cr_assert_eq(lyr_unlink(L, "f"), -ENOENT);
	cr_assert_eq(lyr_lookup(L, "f/x", &(struct stat){ 0 }, NULL), -ENOENT);
	cr_assert_eq(lyr_set_opaque(L, "d"), 0);
	cr_assert_eq(lyr_lookup(L, "d", &(struct stat){ 0 }, &flags), 0);
	cr_assert_eq(flags, LYR_OPAQUE);
	cr_assert_eq(lyr_readdir(L, "", &d), 0);
	cr_assert_eq(find_ent(&d, "f")->type, DT_WHT);
	cr_assert_eq(find_ent(&d, "f")->ino, 0);
	cr_assert_eq(find_ent(&d, "gone")->type, DT_WHT);
	cr_assert_eq(d.flags & LYR_OPAQUE, 0);
	lyr_dirlist_free(&d);
	cr_assert_eq(lyr_readdir(L, "d", &d), 0);
	cr_assert_eq(d.flags, LYR_OPAQUE);
	lyr_dirlist_free(&d);
	/* Creating over a whiteout replaces it. */
	put("f", "new", 0644);
	cr_assert_eq(lyr_lookup(L, "f", &(struct stat){ 0 }, &flags), 0);
	cr_assert_eq(flags, 0);
}

Test(mem, whiteout_over_directories)
{
	cr_assert_eq(lyr_mkdir(L, "full", 0755), 0);
	put("full/x", "", 0644);
	cr_assert_eq(lyr_whiteout(L, "full"), -ENOTEMPTY);
	cr_assert_eq(lyr_mkdir(L, "wh", 0755), 0);
	cr_assert_eq(lyr_whiteout(L, "wh/a"), 0);
	cr_assert_eq(lyr_whiteout(L, "wh"), 0, "only whiteouts inside: empty");
	cr_assert_eq(lyr_whiteout(L, ""), -EBUSY);
	cr_assert_eq(lyr_set_opaque(L, "full/x"), -ENOTDIR);
	cr_assert_eq(lyr_set_opaque(L, "wh"), -ENOENT);
	cr_assert_eq(st_of("").st_nlink, 3);
}

Test(mem, rmdir_of_dir_with_only_whiteouts)
{
	cr_assert_eq(lyr_mkdir(L, "d", 0755), 0);
	cr_assert_eq(lyr_whiteout(L, "d/x"), 0);
	cr_assert_eq(lyr_rmdir(L, "d"), 0);
	cr_assert_eq(lyr_rmdir(L, "d"), -ENOENT);
	cr_assert_eq(lyr_rmdir(L, ""), -EBUSY);
}

Test(mem, rename_rules)
{
	cr_assert_eq(lyr_mkdir(L, "a", 0755), 0);
	cr_assert_eq(lyr_mkdir(L, "a/b", 0755), 0);
	put("f", "1", 0644);
	cr_assert_eq(lyr_rename(L, "a", "a/b/c", 0), -EINVAL);
	cr_assert_eq(lyr_rename(L, "a/b", "a", 0), -ENOTEMPTY);
	cr_assert_eq(lyr_rename(L, "a", "", 0), -EBUSY);
	cr_assert_eq(lyr_rename(L, "f", "f", 0), 0);
	cr_assert_eq(lyr_rename(L, "f", "f", RENAME_NOREPLACE), -EEXIST);
	cr_assert_eq(lyr_rename(L, "f", "g", RENAME_NOREPLACE | RENAME_EXCHANGE), -EINVAL);
	cr_assert_eq(lyr_rename(L, "f", "g", 0x80), -EINVAL);
	cr_assert_eq(lyr_link(L, "f", "f2"), 0);
	cr_assert_eq(lyr_rename(L, "f", "f2", 0), 0, "same inode: nothing to do");
	cr_assert_eq(st_of("f").st_nlink, 2);
	/* A whiteout target is no target. */
	cr_assert_eq(lyr_whiteout(L, "w"), 0);
	cr_assert_eq(lyr_rename(L, "f2", "w", RENAME_NOREPLACE), 0);
	cr_assert_eq(lyr_rename(L, "f", "gone", RENAME_EXCHANGE), -ENOENT);
	/* An exchange of a directory and a file across directories. */
	cr_assert_eq(lyr_rename(L, "a/b", "w", RENAME_EXCHANGE), 0);
	cr_assert(S_ISDIR(st_of("w").st_mode));
	cr_assert(S_ISREG(st_of("a/b").st_mode));
	cr_assert_eq(st_of("a").st_nlink, 2);
	cr_assert_eq(st_of("").st_nlink, 4);
	struct lyr_dirlist d;
	cr_assert_eq(lyr_readdir(L, "w", &d), 0);
	cr_assert_eq(d.ents[1].ino, st_of("").st_ino, "\"..\" follows the move");
	lyr_dirlist_free(&d);
}

Test(mem, rename_over_dir_with_only_whiteouts)
{
	cr_assert_eq(lyr_mkdir(L, "src", 0755), 0);
	put("src/keep", "", 0644);
	cr_assert_eq(lyr_mkdir(L, "dst", 0755), 0);
	cr_assert_eq(lyr_whiteout(L, "dst/old"), 0);
	cr_assert_eq(lyr_rename(L, "src", "dst", 0), 0);
	cr_assert_eq(lyr_lookup(L, "dst/keep", &(struct stat){ 0 }, NULL), 0);
	cr_assert_eq(lyr_lookup(L, "dst/old", &(struct stat){ 0 }, NULL), -ENOENT);
}

Test(mem, rename_opaque_dir_keeps_flag)
{
	unsigned flags;

	cr_assert_eq(lyr_mkdir(L, "o", 0755), 0);
	cr_assert_eq(lyr_set_opaque(L, "o"), 0);
	cr_assert_eq(lyr_rename(L, "o", "p", 0), 0);
	cr_assert_eq(lyr_lookup(L, "p", &(struct stat){ 0 }, &flags), 0);
	cr_assert_eq(flags, LYR_OPAQUE);
}

Test(mem, mtime_follows_writes_and_dir_changes)
{
	struct timespec old = { .tv_sec = 1000000, .tv_nsec = 5 };
	struct timespec ts[2] = { old, old };

	put("f", "", 0644);
	cr_assert_eq(lyr_utimens(L, "f", ts), 0);
	cr_assert_eq(lyr_utimens(L, "", ts), 0);
	struct stat st = st_of("f");
	cr_assert_eq(st.st_mtim.tv_sec, old.tv_sec);
	cr_assert_eq(st.st_mtim.tv_nsec, old.tv_nsec);
	usleep(20000); /* past the kernel's coarse clock tick */
	int fd = lyr_open(L, "f", O_WRONLY, 0);
	cr_assert_eq(write(fd, "x", 1), 1);
	close(fd);
	st = st_of("f");
	cr_assert_gt(st.st_mtim.tv_sec, old.tv_sec, "a write moves mtime");
	cr_assert_eq(st.st_size, 1);
	put("g", "", 0644);
	cr_assert_gt(st_of("").st_mtim.tv_sec, old.tv_sec, "a create moves the dir's mtime");
}

Test(mem, utimens_permissions_and_omit)
{
	struct timespec omit[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT } };
	struct timespec bad[2] = { { .tv_nsec = 1000000000L }, { .tv_nsec = 0 } };
	struct timespec t[2] = { { .tv_sec = 5 }, { .tv_sec = 6 } };

	cr_assert_eq(lyr_utimens(L, "missing", omit), 0, "both omitted: nothing to check");
	cr_assert_eq(lyr_utimens(L, "missing", NULL), -ENOENT);
	put("f", "", 0666);
	cr_assert_eq(lyr_utimens(L, "f", bad), -EINVAL);
	become(1000, 1000, 0, NULL);
	cr_assert_eq(lyr_utimens(L, "f", NULL), 0, "write permission may touch");
	cr_assert_eq(lyr_utimens(L, "f", t), -EPERM, "only the owner sets times");
	become_root();
	cr_assert_eq(lyr_chmod(L, "f", 0644), 0);
	become(1000, 1000, 0, NULL);
	cr_assert_eq(lyr_utimens(L, "f", NULL), -EACCES);
	become_root();
}

Test(mem, truncate_rules)
{
	char buf[16];

	put("f", "abcdef", 0644);
	cr_assert_eq(lyr_truncate(L, "f", 3), 0);
	get("f", buf, sizeof(buf));
	cr_assert_str_eq(buf, "abc");
	cr_assert_eq(lyr_truncate(L, "f", -1), -EINVAL);
	cr_assert_eq(lyr_mkdir(L, "d", 0755), 0);
	cr_assert_eq(lyr_truncate(L, "d", 0), -EISDIR);
	cr_assert_eq(lyr_mknod(L, "p", S_IFIFO | 0644, 0), 0);
	cr_assert_eq(lyr_truncate(L, "p", 0), -EINVAL);
	cr_assert_eq(lyr_truncate(L, "nope", 0), -ENOENT);
}

/* fd_name: the entry behind an fd by another name once its own is gone. */
Test(mem, fd_name)
{
	char name[PATH_MAX];

	cr_assert_eq(lyr_mkdir(L, "d", 0755), 0);
	cr_assert_eq(lyr_mkdir(L, "d/e", 0755), 0);
	put("f", "x", 0644);
	cr_assert_eq(lyr_link(L, "f", "d/e/g"), 0);
	int fd = lyr_open(L, "f", O_RDONLY, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(lyr_fd_name(L, fd, name, sizeof(name)), 0);
	cr_assert(!strcmp(name, "f") || !strcmp(name, "d/e/g"), "%s", name);
	cr_assert_eq(lyr_unlink(L, "f"), 0);
	cr_assert_eq(lyr_fd_name(L, fd, name, sizeof(name)), 0);
	cr_assert_str_eq(name, "d/e/g");
	cr_assert_eq(lyr_fd_name(L, fd, name, 4), -ENOENT, "no name fits");
	cr_assert_eq(lyr_whiteout(L, "d/e/g"), 0);
	cr_assert_eq(lyr_fd_name(L, fd, name, sizeof(name)), -ENOENT);
	close(fd);
	int other = open("/dev/null", O_RDONLY);
	cr_assert_eq(lyr_fd_name(L, other, name, sizeof(name)), -ENOENT);
	close(other);
	cr_assert_eq(lyr_fd_name(L, -1, name, sizeof(name)), -EBADF);
}

Test(mem, tmpfile_and_link_tmp)
{
	struct lyr_dirlist d;
	char buf[16];

	cr_assert_eq(lyr_mkdir(L, "d", 0755), 0);
	int fd = lyr_tmpfile(L, "d", 0640);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "copied", 6), 6);
	cr_assert_eq(lyr_readdir(L, "d", &d), 0);
	cr_assert_eq(d.n, 2, "a tmpfile has no name");
	lyr_dirlist_free(&d);
	cr_assert_eq(lyr_whiteout(L, "d/f"), 0);
	cr_assert_eq(lyr_link_tmp(L, fd, "d/f"), 0, "replaces a whiteout");
	close(fd);
	get("d/f", buf, sizeof(buf));
	cr_assert_str_eq(buf, "copied");
	struct stat st = st_of("d/f");
	cr_assert_eq(st.st_mode, S_IFREG | 0640);
	cr_assert_eq(st.st_nlink, 1);
	cr_assert_eq(lyr_tmpfile(L, "nope", 0600), -ENOENT);
	cr_assert_eq(lyr_tmpfile(L, "d/f", 0600), -ENOTDIR);
	fd = lyr_tmpfile(L, "", 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(lyr_link_tmp(L, fd, "d/f"), -EEXIST);
	close(fd);
	/* Never linked: freed with the layer (the sanitizer build checks). */
	fd = lyr_tmpfile(L, "", 0600);
	cr_assert_geq(fd, 0);
	close(fd);
	int other = open("/dev/null", O_RDONLY);
	cr_assert_eq(lyr_link_tmp(L, other, "x"), -EXDEV);
	close(other);
}

Test(mem, xattrs)
{
	char buf[64];

	put("f", "", 0644);
	cr_assert_eq(lyr_setxattr(L, "f", "user.a", "1", 1, 0), 0);
	cr_assert_eq(lyr_setxattr(L, "f", "user.a", "2", 1, XATTR_CREATE), -EEXIST);
	cr_assert_eq(lyr_setxattr(L, "f", "user.b", "2", 1, XATTR_REPLACE), -ENODATA);
	cr_assert_eq(lyr_setxattr(L, "f", "user.b", "22", 2, 0), 0);
	cr_assert_eq(lyr_setxattr(L, "f", "bogus.x", "1", 1, 0), -EOPNOTSUPP);
	cr_assert_eq(lyr_setxattr(L, "f", "user.", "1", 1, 0), -EINVAL);
	cr_assert_eq(lyr_getxattr(L, "f", "user.b", NULL, 0), 2);
	cr_assert_eq(lyr_getxattr(L, "f", "user.b", buf, 1), -ERANGE);
	cr_assert_eq(lyr_getxattr(L, "f", "user.b", buf, sizeof(buf)), 2);
	cr_assert_eq(memcmp(buf, "22", 2), 0);
	cr_assert_eq(lyr_getxattr(L, "f", "user.c", buf, sizeof(buf)), -ENODATA);
	cr_assert_eq(lyr_listxattr(L, "f", NULL, 0), 14);
	cr_assert_eq(lyr_listxattr(L, "f", buf, sizeof(buf)), 14);
	cr_assert_eq(memcmp(buf, "user.a\0user.b\0", 14), 0);
	cr_assert_eq(lyr_listxattr(L, "f", buf, 3), -ERANGE);
	cr_assert_eq(lyr_removexattr(L, "f", "user.a"), 0);
	cr_assert_eq(lyr_removexattr(L, "f", "user.a"), -ENODATA);
	cr_assert_eq(lyr_symlink(L, "f", "ln"), 0);
	cr_assert_eq(lyr_setxattr(L, "ln", "user.a", "1", 1, 0), -EPERM);
	cr_assert_eq(lyr_setxattr(L, "ln", "trusted.a", "1", 1, 0), 0);
	cr_assert_eq(lyr_getxattr(L, "nope", "user.a", buf, sizeof(buf)), -ENOENT);
	become(1000, 1000, 0, NULL);
	cr_assert_eq(lyr_setxattr(L, "f", "user.x", "1", 1, 0), -EACCES);
	cr_assert_eq(lyr_listxattr(L, "ln", buf, sizeof(buf)), 0, "trusted.* hidden");
	become_root();
}

Test(mem, statfs_sensible)
{
	struct statvfs sv;

	cr_assert_eq(lyr_statfs(L, &sv), 0);
	cr_assert_eq(sv.f_bsize, 4096);
	cr_assert_eq(sv.f_namemax, 255);
	cr_assert_gt(sv.f_blocks, 0);
}

Test(mem, name_too_long)
{
	char name[300];

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	cr_assert_eq(lyr_open(L, name, O_CREAT | O_WRONLY, 0644), -ENAMETOOLONG);
	cr_assert_eq(lyr_mkdir(L, name, 0755), -ENAMETOOLONG);
}

static void *creator(void *arg)
{
	char path[32];

	for (int i = 0; i < 50; i++) {
		snprintf(path, sizeof(path), "t%ld-%d", (long)(intptr_t)arg, i);
		int fd = lyr_open(L, path, O_CREAT | O_WRONLY, 0644);
		if (fd < 0)
			return (void *)1;
		close(fd);
		if (i % 2 && lyr_unlink(L, path))
			return (void *)1;
	}
	return NULL;
}

Test(mem, concurrent_creates)
{
	pthread_t t[4];
	struct lyr_dirlist d;

	for (intptr_t i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, creator, (void *)i), 0);
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		cr_assert_null(r);
	}
	cr_assert_eq(lyr_readdir(L, "", &d), 0);
	cr_assert_eq(d.n, 2 + 4 * 25);
	lyr_dirlist_free(&d);
}
