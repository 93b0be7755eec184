/* SPDX-License-Identifier: MIT */
/*
 * test_union.c - suite "union" (core/union.c): the layered cases of the
 * seed (section 1, upper over the archive, lower read-only), lookup, open,
 * attributes, xattrs, inode numbers, read-only views, stacked unions, and
 * a selection of cases again with a memory upper and a host-directory
 * lower.
 */
#include "test_union.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

TestSuite(union, .init = fx_init, .fini = fx_fini);

/* ---- seed, section 1: layered ---------------------------------------- */

UTest(union, seed_fstat_lower_mode)
{
	struct stat st;

	fx_std(FX_HOST, FX_ARCHIVE);
	OK(fx_stat("foo", &st));
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0644);
	cr_assert_eq(st.st_uid, 1000);
	cr_assert_eq(st.st_gid, 1000);
	cr_assert_eq(st.st_size, 8);
	OK(fx_stat("bar", &st));
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(lyr_union_which(fx.u, "foo"), 1);
}

/* The shim re-points fds in copied_up; here the hook does what it does. */
static int seed_reader_fd = -1;

static void seed_repoint(const char *path, uint64_t ino)
{
	(void)ino;
	off_t off = lseek(seed_reader_fd, 0, SEEK_CUR);
	int fd = lyr_open(fx.u, path, O_RDONLY, 0);
	cr_assert(fd >= 0);
	cr_assert(dup3(fd, seed_reader_fd, O_CLOEXEC) == seed_reader_fd);
	close(fd);
	lseek(seed_reader_fd, off, SEEK_SET);
}

UTest(union, seed_reader_sees_writer_after_copy_up)
{
	char buf[16] = "";
	uint64_t ino;

	fx_std(FX_HOST, FX_ARCHIVE);
	ino = fx_ino("foo");
	int r = lyr_open(fx.u, "foo", O_RDONLY, 0);
	OK(r);
	cr_assert_eq(fx.ncopied, 0, "a read-only open copies nothing");
	int w = lyr_open(fx.u, "foo", O_WRONLY, 0);
	OK(w);
	cr_assert_eq(fx.ncopied, 1);
	STREQ(fx.copied_path, "foo");
	cr_assert_eq(fx.copied_ino, ino);
	cr_assert_eq(pwrite(w, "share", 5, 0), 5);
	/* Without re-pointing, the old fd still reads the lower file... */
	STREQ(fx_fd_str(r), "testfoo\n");
	/* ... a new open reads the writer's data. */
	OK(fx_read("foo", buf, sizeof(buf)));
	STREQ(buf, "shareoo\n");
	close(r);
	close(w);
}

UTest(union, seed_reader_offset_survives_copy_up)
{
	char buf[16] = "";

	fx_std(FX_HOST, FX_ARCHIVE);
	seed_reader_fd = lyr_open(fx.u, "foo", O_RDONLY, 0);
	OK(seed_reader_fd);
	cr_assert_eq(read(seed_reader_fd, buf, 4), 4);
	fx.hook = seed_repoint;
	int w = lyr_open(fx.u, "foo", O_RDWR, 0);
	OK(w);
	cr_assert_eq(pwrite(w, "share", 5, 0), 5);
	memset(buf, 0, sizeof(buf));
	cr_assert_eq(read(seed_reader_fd, buf, sizeof(buf) - 1), 4);
	STREQ(buf, "eoo\n");
	close(w);
	close(seed_reader_fd);
}

UTest(union, seed_fd_reads_after_unlink)
{
	char buf[16] = "";

	fx_std(FX_HOST, FX_ARCHIVE);
	int fd = lyr_open(fx.u, "foo", O_RDONLY, 0);
	OK(fd);
	OK(lyr_unlink(fx.u, "foo"));
	cr_assert_eq(read(fd, buf, sizeof(buf) - 1), 8);
	STREQ(buf, "testfoo\n");
	ERR(lyr_open(fx.u, "foo", O_RDONLY, 0), ENOENT);
	close(fd);
}

UTest(union, seed_o_directory_across_layers)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	ERR(lyr_open(fx.u, "foo", O_RDONLY | O_DIRECTORY, 0), ENOTDIR);
	ERR(lyr_open(fx.u, "bar/baz", O_RDONLY | O_DIRECTORY, 0), ENOTDIR);
	int fd = lyr_open(fx.u, "bar", O_RDONLY | O_DIRECTORY, 0);
	OK(fd);
	close(fd);
	OK(fx_write("up", O_WRONLY | O_CREAT, "x"));
	OK(lyr_mkdir(fx.u, "updir", 0755));
	ERR(lyr_open(fx.u, "up", O_RDONLY | O_DIRECTORY, 0), ENOTDIR);
	OK(fd = lyr_open(fx.u, "updir", O_RDONLY | O_DIRECTORY, 0));
	close(fd);
	OK(fx_write("bar/baz", O_WRONLY, "y")); /* copied up: still not a dir */
	ERR(lyr_open(fx.u, "bar/baz", O_RDONLY | O_DIRECTORY, 0), ENOTDIR);
	OK(fd = lyr_open(fx.u, "bar", O_RDONLY | O_DIRECTORY, 0));
	close(fd);
}

UTest(union, seed_o_creat_opens_lower_data)
{
	char buf[16];

	fx_std(FX_HOST, FX_ARCHIVE);
	int fd = lyr_open(fx.u, "foo", O_RDONLY | O_CREAT, 0600);
	OK(fd);
	STREQ(fx_fd_str(fd), "testfoo\n");
	close(fd);
	cr_assert_eq(lyr_union_which(fx.u, "foo"), 1, "nothing created above it");
	OK(fd = lyr_open(fx.u, "foo", O_RDWR | O_CREAT, 0600));
	STREQ(fx_fd_str(fd), "testfoo\n");
	close(fd);
	OK(fx_read("foo", buf, sizeof(buf)));
	STREQ(buf, "testfoo\n");
}

UTest(union, seed_lower_only_dir_lists)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	STREQ(fx_ls("bar"), "baz");
	STREQ(fx_ls_sorted(""), "bar foo");
}

UTest(union, seed_merged_root_lists_each_name_once)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	OK(fx_write("new1", O_WRONLY | O_CREAT, "1"));
	OK(fx_write("new2", O_WRONLY | O_CREAT, "2"));
	OK(fx_write("foo", O_WRONLY, "X")); /* now in both layers */
	OK(lyr_mkdir(fx.u, "bar/sub", 0755)); /* bar in both layers */
	STREQ(fx_ls_sorted(""), "bar foo new1 new2");
	STREQ(fx_ls_sorted("bar"), "baz sub");
}

UTest(union, seed_oexcl_lower_file)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	ERR(lyr_open(fx.u, "foo", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
	cr_assert_eq(lyr_union_which(fx.u, "foo"), 1);
}

UTest(union, seed_oexcl_upper_file)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	OK(fx_write("up", O_WRONLY | O_CREAT | O_EXCL, "u"));
	ERR(lyr_open(fx.u, "up", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
}

UTest(union, seed_oexcl_lower_dir)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	ERR(lyr_open(fx.u, "bar", O_RDONLY | O_CREAT | O_EXCL, 0644), EEXIST);
	ERR(lyr_open(fx.u, "bar", O_RDONLY | O_CREAT, 0644), EISDIR);
}

UTest(union, seed_oexcl_whited_out_lower_file)
{
	char buf[16];
	struct stat st;

	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_unlink(fx.u, "foo"));
	int fd = lyr_open(fx.u, "foo", O_RDWR | O_CREAT | O_EXCL, 0600);
	OK(fd);
	close(fd);
	OK(fx_stat("foo", &st));
	cr_assert_eq(st.st_size, 0);
	cr_assert_eq(fx_read("foo", buf, sizeof(buf)), 0);
	cr_assert(!fx_upper_has(".wh.foo"), "the whiteout was replaced");
}

UTest(union, seed_o_excl_without_creat_ignored)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	int fd = lyr_open(fx.u, "foo", O_RDONLY | O_EXCL, 0);
	OK(fd);
	close(fd);
}

UTest(union, seed_mkdir_inside_lower_only_dir)
{
	struct stat st;

	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_mkdir(fx.u, "bar/sub", 0750));
	OK(fx_stat("bar/sub", &st));
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(lyr_union_which(fx.u, "bar"), 0, "ancestor copied up");
	cr_assert(fx_upper_has("bar/sub"));
	STREQ(fx_ls_sorted("bar"), "baz sub");
	STREQ(fx_ls("bar/sub"), "");
}

UTest(union, seed_create_write_read_in_lower_dir)
{
	char buf[32];

	fx_std(FX_HOST, FX_ARCHIVE);
	OK(fx_write("bar/new", O_WRONLY | O_CREAT | O_EXCL, "hello there"));
	OK(fx_read("bar/new", buf, sizeof(buf)));
	STREQ(buf, "hello there");
	OK(fx_read("bar/baz", buf, sizeof(buf)));
	STREQ(buf, "testbaz\n");
}

UTest(union, seed_overwrite_lower_file_in_lower_dir_persists)
{
	char buf[32];
	struct lyr_layer *lower;

	fx_std(FX_HOST, FX_ARCHIVE);
	OK(fx_write("bar/baz", O_WRONLY | O_TRUNC, "overwritten"));
	OK(fx_read("bar/baz", buf, sizeof(buf)));
	STREQ(buf, "overwritten");
	/* A new union over the same upper directory sees it too. */
	lyr_destroy(fx.u);
	fx.u = NULL;
	lower = fx_archive();
	fx_union(fx_hostupper(), &lower, 1, 0);
	OK(fx_read("bar/baz", buf, sizeof(buf)));
	STREQ(buf, "overwritten");
}

UTest(union, seed_o_trunc_lower_empties_view)
{
	struct stat st;
	char buf[16];

	fx_std(FX_HOST, FX_ARCHIVE);
	int fd = lyr_open(fx.u, "foo", O_WRONLY | O_TRUNC, 0);
	OK(fd);
	close(fd);
	OK(fx_stat("foo", &st));
	cr_assert_eq(st.st_size, 0);
	cr_assert_eq(fx_read("foo", buf, sizeof(buf)), 0);
	/* fx_fini checks the archive is unchanged. */
}

UTest(union, seed_o_trunc_rdwr_lower)
{
	char buf[16];

	fx_std(FX_HOST, FX_ARCHIVE);
	int fd = lyr_open(fx.u, "foo", O_RDWR | O_TRUNC, 0);
	OK(fd);
	cr_assert_eq(write(fd, "ab", 2), 2);
	close(fd);
	OK(fx_read("foo", buf, sizeof(buf)));
	STREQ(buf, "ab");
}

UTest(union, seed_lower_writable_files_in_place)
{
	char buf[64], p[PATH_MAX + 16];
	struct lyr_layer *lower;

	fx_sh("chown -R 1000:1000 src");
	lower = fx_hostdir(fx.src, 0);
	fx_union(fx_hostupper(), &lower, 1, LYR_UNION_WRITABLE_FILES);
	/* stdio-style: fopen "r+" then write */
	int fd = lyr_open(fx.u, "foo", O_RDWR, 0);
	OK(fd);
	FILE *f = fdopen(fd, "r+");
	cr_assert(f);
	fputs("TEST", f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/foo", fx.src);
	FILE *h = fopen(p, "r");
	cr_assert(h && fgets(buf, sizeof(buf), h));
	fclose(h);
	STREQ(buf, "TESTfoo\n");
	cr_assert(!fx_upper_has("foo"), "no copy-up");
	cr_assert_eq(lyr_union_which(fx.u, "foo"), 1);
	/* new files go to the upper layer */
	OK(fx_write("bar/new", O_WRONLY | O_CREAT, "new"));
	cr_assert(fx_upper_has("bar/new"));
	snprintf(p, sizeof(p), "%s/bar/new", fx.src);
	cr_assert(access(p, F_OK) != 0);
	/* truncate and chmod in place too */
	OK(lyr_truncate(fx.u, "bar/baz", 4));
	OK(lyr_chmod(fx.u, "bar/baz", 0600));
	struct stat st;
	snprintf(p, sizeof(p), "%s/bar/baz", fx.src);
	cr_assert(stat(p, &st) == 0 && st.st_size == 4 && (st.st_mode & 07777) == 0600);
	cr_assert(!fx_upper_has("bar/baz"));
	/* unlink of a lower file is still a whiteout */
	OK(lyr_unlink(fx.u, "bar/baz"));
	cr_assert(access(p, F_OK) == 0, "lower entry kept");
	ERR(fx_stat("bar/baz", &st), ENOENT);
}

/* ---- lookup and names ------------------------------------------------- */

UTest(union, lookup_missing_and_notdir)
{
	struct stat st;

	fx_std(FX_HOST, FX_ARCHIVE);
	ERR(fx_stat("nope", &st), ENOENT);
	ERR(fx_stat("bar/ba", &st), ENOENT);
	ERR(fx_stat("nope/x", &st), ENOENT);
	ERR(fx_stat("foo/x", &st), ENOTDIR);
	ERR(fx_stat("bar/baz/x", &st), ENOTDIR);
	OK(fx_write("up", O_WRONLY | O_CREAT, "x"));
	ERR(fx_stat("up/x", &st), ENOTDIR);
	ERR(lyr_union_which(fx.u, "nope"), ENOENT);
}

UTest(union, wh_names_rejected)
{
	struct stat st;

	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_unlink(fx.u, "foo"));
	ERR(fx_stat(".wh.foo", &st), ENOENT);
	ERR(fx_stat("bar/.wh.x", &st), ENOENT);
	ERR(lyr_open(fx.u, ".wh.x", O_WRONLY | O_CREAT, 0644), EINVAL);
	ERR(lyr_open(fx.u, ".wh.x/y", O_WRONLY | O_CREAT, 0644), ENOENT);
	ERR(lyr_mkdir(fx.u, ".wh.d", 0755), EINVAL);
	ERR(lyr_symlink(fx.u, "foo", "bar/.wh.l"), EINVAL);
	ERR(lyr_unlink(fx.u, ".wh.foo"), ENOENT);
	ERR(lyr_rename(fx.u, "bar/baz", ".wh.z", 0), EINVAL);
	cr_assert(strstr(fx_ls(""), ".wh.") == NULL);
}

UTest(union, which_follows_copy_up)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	cr_assert_eq(lyr_union_which(fx.u, ""), 0);
	cr_assert_eq(lyr_union_which(fx.u, "bar"), 1);
	cr_assert_eq(lyr_union_which(fx.u, "bar/baz"), 1);
	OK(fx_write("bar/baz", O_WRONLY | O_APPEND, "more"));
	cr_assert_eq(lyr_union_which(fx.u, "bar"), 0);
	cr_assert_eq(lyr_union_which(fx.u, "bar/baz"), 0);
	struct lyr_layer *h = fx_hostdir(fx.upper, 0);
	ERR(lyr_union_which(h, "x"), EINVAL);
	lyr_destroy(h);
}

/* ---- open ------------------------------------------------------------- */

UTest(union, open_creat_directory_einval_hides_nothing)
{
	char buf[16];
	struct stat st;

	fx_std(FX_HOST, FX_ARCHIVE);
	ERR(lyr_open(fx.u, "foo", O_RDONLY | O_CREAT | O_DIRECTORY, 0755), EINVAL);
	ERR(lyr_open(fx.u, "newdir", O_RDONLY | O_CREAT | O_DIRECTORY, 0755), EINVAL);
	OK(fx_read("foo", buf, sizeof(buf)));
	STREQ(buf, "testfoo\n");
	ERR(fx_stat("newdir", &st), ENOENT);
	cr_assert_eq(fx_upper_count(""), 0, "nothing was created");
}

UTest(union, open_creat_after_other_failure_creates_nothing)
{
	struct stat st;

	fx_std(FX_HOST, FX_ARCHIVE);
	ERR(lyr_open(fx.u, "foo/x", O_WRONLY | O_CREAT, 0644), ENOTDIR);
	ERR(lyr_open(fx.u, "nodir/x", O_WRONLY | O_CREAT, 0644), ENOENT);
	ERR(lyr_open(fx.u, "bar", O_WRONLY | O_CREAT, 0644), EISDIR);
	ERR(lyr_open(fx.u, "bar", O_RDONLY | O_CREAT | O_TRUNC, 0644), EISDIR);
	OK(fx_stat("foo", &st));
	cr_assert_eq(st.st_size, 8);
	cr_assert_eq(fx_upper_count(""), 0, "nothing was created");
}

UTest(union, per_open_offsets)
{
	char a[8] = "", b[8] = "";

	fx_std(FX_HOST, FX_ARCHIVE);
	int f1 = lyr_open(fx.u, "foo", O_RDONLY, 0);
	int f2 = lyr_open(fx.u, "foo", O_RDONLY, 0);
	OK(f1);
	OK(f2);
	cr_assert_eq(read(f1, a, 4), 4);
	cr_assert_eq(read(f2, b, 2), 2);
	STREQ(a, "test");
	STREQ(b, "te");
	cr_assert_eq(lseek(f1, 0, SEEK_CUR), 4);
	cr_assert_eq(lseek(f2, 0, SEEK_CUR), 2);
	close(f1);
	close(f2);
}

UTest(union, dup_fd_shares_offset)
{
	char a[8] = "";

	fx_std(FX_HOST, FX_ARCHIVE);
	int f1 = lyr_open(fx.u, "foo", O_RDONLY, 0);
	OK(f1);
	int f2 = dup(f1);
	cr_assert_eq(read(f1, a, 4), 4);
	cr_assert_eq(lseek(f2, 0, SEEK_CUR), 4);
	close(f1);
	memset(a, 0, sizeof(a));
	cr_assert_eq(read(f2, a, 3), 3);
	STREQ(a, "foo");
	close(f2);
}

static void *racer(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)lyr_open(fx.u, "foo", O_RDWR, 0);
}

UTest(union, racing_first_opens_threads)
{
	pthread_t t[8];
	int fds[8];

	fx_std(FX_HOST, FX_ARCHIVE);
	for (int i = 0; i < 8; i++)
		cr_assert(pthread_create(&t[i], NULL, racer, NULL) == 0);
	for (int i = 0; i < 8; i++) {
		void *r;
		pthread_join(t[i], &r);
		fds[i] = (int)(intptr_t)r;
		OK(fds[i]);
	}
	cr_assert_eq(pwrite(fds[3], "T", 1, 0), 1);
	for (int i = 0; i < 8; i++) {
		STREQ(fx_fd_str(fds[i]), "Testfoo\n");
		close(fds[i]);
	}
	cr_assert_eq(fx_upper_count(""), 1, "one upper copy, no stray file");
}

UTest(union, open_dir_gives_a_dir_fd)
{
	struct stat st;

	fx_std(FX_HOST, FX_ARCHIVE);
	int fd = lyr_open(fx.u, "bar", O_RDONLY | O_DIRECTORY, 0);
	OK(fd);
	cr_assert(fstat(fd, &st) == 0 && S_ISDIR(st.st_mode));
	close(fd);
	ERR(lyr_open(fx.u, "bar", O_WRONLY, 0), EISDIR);
	ERR(lyr_open(fx.u, "bar", O_RDWR, 0), EISDIR);
	OK(lyr_mkdir(fx.u, "bar/sub", 0755)); /* bar now upper */
	OK(fd = lyr_open(fx.u, "bar", O_RDONLY | O_DIRECTORY, 0));
	cr_assert(fstat(fd, &st) == 0 && S_ISDIR(st.st_mode));
	close(fd);
}

UTest(union, seek_past_eof_reads_zeros)
{
	char buf[128];
	struct stat st;

	fx_std(FX_HOST, FX_ARCHIVE);
	int fd = lyr_open(fx.u, "foo", O_RDWR, 0);
	OK(fd);
	cr_assert_eq(lseek(fd, 100, SEEK_SET), 100);
	cr_assert_eq(write(fd, "x", 1), 1);
	close(fd);
	OK(fx_stat("foo", &st));
	cr_assert_eq(st.st_size, 101);
	OK(fd = lyr_open(fx.u, "foo", O_RDONLY, 0));
	cr_assert_eq(pread(fd, buf, sizeof(buf), 0), 101);
	cr_assert(!memcmp(buf, "testfoo\n", 8));
	for (int i = 8; i < 100; i++)
		cr_assert_eq(buf[i], 0, "byte %d of the hole", i);
	cr_assert_eq(buf[100], 'x');
	close(fd);
}

UTest(union, o_tmpfile_and_link_tmp)
{
	char buf[16];

	fx_std(FX_HOST, FX_ARCHIVE);
	int fd = lyr_open(fx.u, "bar", O_TMPFILE | O_RDWR, 0640);
	OK(fd);
	cr_assert_eq(write(fd, "tmp", 3), 3);
	ERR(lyr_link_tmp(fx.u, fd, "bar/baz"), EEXIST);
	OK(lyr_link_tmp(fx.u, fd, "bar/tmp"));
	close(fd);
	OK(fx_read("bar/tmp", buf, sizeof(buf)));
	STREQ(buf, "tmp");
	ERR(lyr_open(fx.u, "foo", O_TMPFILE | O_RDWR, 0640), ENOTDIR);
	ERR(lyr_open(fx.u, "bar", O_TMPFILE | O_RDONLY, 0640), EINVAL);
}

/* ---- attributes ------------------------------------------------------- */

UTest(union, chmod_lower_file_copies_up)
{
	struct stat st;

	fx_std(FX_HOST, FX_ARCHIVE);
	uint64_t ino = fx_ino("foo");
	OK(lyr_chmod(fx.u, "foo", 0600));
	OK(fx_stat("foo", &st));
	cr_assert_eq(st.st_mode & 07777, 0600);
	cr_assert_eq(st.st_uid, 1000);
	cr_assert_eq(st.st_ino, ino);
	cr_assert_eq(lyr_union_which(fx.u, "foo"), 0);
	cr_assert_eq(fx.ncopied, 1);
}

UTest(union, chown_lower_file)
{
	struct stat st;

	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_chown(fx.u, "foo", 1234, (gid_t)-1));
	OK(fx_stat("foo", &st));
	cr_assert_eq(st.st_uid, 1234);
	cr_assert_eq(st.st_gid, 1000);
	OK(lyr_chown(fx.u, "bar/baz", (uid_t)-1, 77));
	OK(fx_stat("bar/baz", &st));
	cr_assert_eq(st.st_uid, 1000);
	cr_assert_eq(st.st_gid, 77);
	ERR(lyr_chown(fx.u, "nope", 1, 1), ENOENT);
}

UTest(union, utimens_lower_file)
{
	struct timespec ts[2] = { { 1000000, 5 }, { 2000000, 7 } };
	struct stat st;
	char buf[16];

	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_utimens(fx.u, "foo", ts));
	OK(fx_stat("foo", &st));
	cr_assert_eq(st.st_mtim.tv_sec, 2000000);
	cr_assert_eq(st.st_mtim.tv_nsec, 7);
	cr_assert_eq(st.st_atim.tv_sec, 1000000);
	OK(fx_read("foo", buf, sizeof(buf)));
	STREQ(buf, "testfoo\n");
	ts[1].tv_nsec = 1000000000;
	ERR(lyr_utimens(fx.u, "foo", ts), EINVAL);
}

UTest(union, utimens_omit_copies_nothing)
{
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };

	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_utimens(fx.u, "foo", ts));
	cr_assert_eq(lyr_union_which(fx.u, "foo"), 1);
}

UTest(union, chmod_lower_dir_copies_up_owner_kept)
{
	struct stat st, before;

	fx_std(FX_HOST, FX_ARCHIVE);
	OK(fx_stat("bar", &before));
	OK(lyr_chmod(fx.u, "bar", 0700));
	OK(fx_stat("bar", &st));
	cr_assert_eq(st.st_mode & 07777, 0700);
	cr_assert_eq(st.st_uid, 1000);
	cr_assert_eq(st.st_gid, 1000);
	cr_assert_eq(st.st_ino, before.st_ino);
	cr_assert_eq(st.st_mtim.tv_sec, before.st_mtim.tv_sec);
	cr_assert_eq(lyr_union_which(fx.u, "bar"), 0);
	STREQ(fx_ls("bar"), "baz");
	cr_assert_eq(lyr_union_which(fx.u, "bar/baz"), 1, "only the dir came up");
}

UTest(union, chown_lower_dir)
{
	struct stat st;

	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_chown(fx.u, "bar", (uid_t)-1, 4321));
	OK(fx_stat("bar", &st));
	cr_assert_eq(st.st_uid, 1000);
	cr_assert_eq(st.st_gid, 4321);
	cr_assert_eq(st.st_mode & 07777, 0755);
	STREQ(fx_ls("bar"), "baz");
}

UTest(union, utimens_lower_dir)
{
	struct timespec ts[2] = { { 12345, 0 }, { 67890, 0 } };
	struct stat st;

	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_utimens(fx.u, "bar", ts));
	OK(fx_stat("bar", &st));
	cr_assert_eq(st.st_mtim.tv_sec, 67890);
	cr_assert_eq(st.st_uid, 1000);
	cr_assert_eq(lyr_union_which(fx.u, "bar"), 0);
}

UTest(union, chmod_symlink_eopnotsupp)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_symlink(fx.u, "foo", "lnk"));
	ERR(lyr_chmod(fx.u, "lnk", 0600), EOPNOTSUPP);
}

UTest(union, truncate_errors)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	ERR(lyr_truncate(fx.u, "bar", 0), EISDIR);
	ERR(lyr_truncate(fx.u, "foo", -1), EINVAL);
	ERR(lyr_truncate(fx.u, "nope", 0), ENOENT);
	cr_assert_eq(lyr_union_which(fx.u, "foo"), 1);
}

/* ---- xattrs ----------------------------------------------------------- */

UTest(union, private_xattrs_hidden)
{
	char list[1024], v[16];

	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_chmod(fx.u, "foo", 0640)); /* copied up: has the origin xattr */
	cr_assert(lgetxattr(strcat(strcpy(list, fx.upper), "/foo"), "user.layerfs.origin",
			    v, sizeof(v)) == 8, "the upper copy records it");
	ssize_t n = lyr_listxattr(fx.u, "foo", list, sizeof(list));
	OK(n);
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(list + i) + 1)
		cr_assert(strncmp(list + i, "user.layerfs.", 13), "listed %s", list + i);
	cr_assert_eq(lyr_listxattr(fx.u, "foo", NULL, 0), n);
	ERR(lyr_getxattr(fx.u, "foo", "user.layerfs.origin", v, sizeof(v)), ENODATA);
	ERR(lyr_setxattr(fx.u, "foo", "user.layerfs.origin", "12345678", 8, 0), ENOTSUP);
	ERR(lyr_removexattr(fx.u, "foo", "user.layerfs.origin"), ENOTSUP);
}

UTest(union, setxattr_lower_copies_up)
{
	char v[16] = "";

	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_setxattr(fx.u, "bar/baz", "user.test", "val", 3, 0));
	cr_assert_eq(lyr_union_which(fx.u, "bar/baz"), 0);
	cr_assert_eq(lyr_getxattr(fx.u, "bar/baz", "user.test", v, sizeof(v)), 3);
	STREQ(v, "val");
	OK(lyr_removexattr(fx.u, "bar/baz", "user.test"));
	ERR(lyr_getxattr(fx.u, "bar/baz", "user.test", v, sizeof(v)), ENODATA);
}

UTest(union, removexattr_missing_copies_nothing)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	ERR(lyr_removexattr(fx.u, "foo", "user.none"), ENODATA);
	cr_assert_eq(lyr_union_which(fx.u, "foo"), 1);
}

/* ---- inode numbers ---------------------------------------------------- */

UTest(union, st_dev_from_opts)
{
	struct lyr_union_opts o = { .dev = makedev(7, 9) };
	struct lyr_layer *lower = fx_archive();
	struct lyr_error err;
	struct stat a, b;

	cr_assert(lyr_union_open(fx_hostupper(), &lower, 1, &o, &fx.u, &err) == 0);
	OK(fx_stat("foo", &a));
	OK(fx_write("new", O_WRONLY | O_CREAT, "n"));
	OK(fx_stat("new", &b));
	cr_assert_eq(a.st_dev, makedev(7, 9));
	cr_assert_eq(b.st_dev, makedev(7, 9));
	cr_assert_neq(a.st_ino, b.st_ino);
}

UTest(union, archive_dirs_distinct_inos)
{
	uint64_t inos[6];
	const char *dirs[] = { "", "bar", "a", "a/b", "a/b/c", "d" };

	fx_sh("mkdir -p src/a/b/c src/d && chown -R 1000:1000 src");
	fx_std(FX_HOST, FX_ARCHIVE);
	for (int i = 0; i < 6; i++) {
		inos[i] = fx_ino(dirs[i]);
		cr_assert_neq(inos[i], 0, "%s", dirs[i]);
		for (int j = 0; j < i; j++)
			cr_assert_neq(inos[i], inos[j], "%s and %s", dirs[i], dirs[j]);
	}
	cr_assert_neq(fx_ino("foo"), fx_ino("bar/baz"));
}

UTest(union, dir_ino_stable_across_copy_up)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	uint64_t root = fx_ino(""), bar = fx_ino("bar");
	OK(fx_write("bar/new", O_WRONLY | O_CREAT, "n"));
	cr_assert_eq(lyr_union_which(fx.u, "bar"), 0);
	cr_assert_eq(fx_ino("bar"), bar);
	cr_assert_eq(fx_ino(""), root);
	fx_check_dinos("");
	fx_check_dinos("bar");
}

UTest(union, ino_unchanged_by_copy_up)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	uint64_t foo = fx_ino("foo"), baz = fx_ino("bar/baz");
	OK(fx_write("foo", O_WRONLY | O_APPEND, "more"));
	OK(lyr_truncate(fx.u, "bar/baz", 2));
	cr_assert_eq(fx_ino("foo"), foo);
	cr_assert_eq(fx_ino("bar/baz"), baz);
	fx_check_dinos("");
	fx_check_dinos("bar");
}

UTest(union, merged_dir_nlink_one)
{
	struct stat st;

	fx_sh("mkdir src/bar/sub");
	fx_std(FX_HOST, FX_ARCHIVE);
	OK(fx_stat("bar", &st));
	cr_assert_eq(st.st_nlink, 3, "lower-only: the layer's count");
	OK(lyr_mkdir(fx.u, "bar/sub2", 0755));
	OK(fx_stat("bar", &st));
	cr_assert_eq(st.st_nlink, 1, "merged");
	OK(lyr_mkdir(fx.u, "updir", 0755));
	OK(fx_stat("updir", &st));
	cr_assert_eq(st.st_nlink, 2, "upper-only: the layer's count");
}

UTest(union, archive_hard_links_share_ino)
{
	struct stat a, b;

	fx_sh("ln src/foo src/bar/hard");
	fx_std(FX_HOST, FX_ARCHIVE);
	OK(fx_stat("foo", &a));
	OK(fx_stat("bar/hard", &b));
	cr_assert_eq(a.st_ino, b.st_ino);
	cr_assert_eq(a.st_nlink, 2);
}

/* ---- read-only views and stacks ---------------------------------------- */

UTest(union, erofs_without_upper)
{
	struct timespec ts[2] = { { 1, 0 }, { 1, 0 } };
	char buf[16];

	fx_std(FX_NONE, FX_ARCHIVE);
	OK(fx_read("bar/baz", buf, sizeof(buf)));
	STREQ(buf, "testbaz\n");
	int fd = lyr_open(fx.u, "foo", O_RDONLY | O_CREAT, 0644);
	OK(fd);
	close(fd);
	ERR(lyr_open(fx.u, "foo", O_WRONLY, 0), EROFS);
	ERR(lyr_open(fx.u, "foo", O_RDONLY | O_TRUNC, 0), EROFS);
	ERR(lyr_open(fx.u, "new", O_WRONLY | O_CREAT, 0644), EROFS);
	ERR(lyr_open(fx.u, "foo", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
	ERR(lyr_mkdir(fx.u, "d", 0755), EROFS);
	ERR(lyr_mkdir(fx.u, "bar", 0755), EEXIST);
	ERR(lyr_symlink(fx.u, "foo", "l"), EROFS);
	ERR(lyr_mknod(fx.u, "p", S_IFIFO | 0644, 0), EROFS);
	ERR(lyr_link(fx.u, "foo", "l"), EROFS);
	ERR(lyr_unlink(fx.u, "foo"), EROFS);
	ERR(lyr_rmdir(fx.u, "bar"), EROFS);
	ERR(lyr_rename(fx.u, "foo", "foo2", 0), EROFS);
	ERR(lyr_chmod(fx.u, "foo", 0600), EROFS);
	ERR(lyr_chown(fx.u, "foo", 1, 1), EROFS);
	ERR(lyr_utimens(fx.u, "foo", ts), EROFS);
	ERR(lyr_truncate(fx.u, "foo", 1), EROFS);
	ERR(lyr_setxattr(fx.u, "foo", "user.x", "1", 1, 0), EROFS);
	ERR(lyr_tmpfile(fx.u, "bar", 0600), EROFS);
	struct statvfs sv;
	OK(lyr_statfs(fx.u, &sv));
	cr_assert(fx.u->flags & LYR_LAYER_RDONLY);
}

/*
 * Three layers: upper (host) over mid (a host directory that is an OCI
 * layer: foo deleted, bar opaque with its own "new") over the archive.
 */
UTest(union, three_layers_whiteouts_and_opaque)
{
	struct lyr_layer *lowers[2];
	char buf[16];
	struct stat st;

	fx_sh("mkdir -p mid/bar mid/bar/keep && touch mid/.wh.foo mid/bar/.wh..wh..opq "
	      "mid/extra && printf mid > mid/bar/new");
	char mid[PATH_MAX + 8];
	snprintf(mid, sizeof(mid), "%s/mid", fx.root);
	lowers[0] = fx_hostdir(mid, LYR_HOST_RDONLY);
	lowers[1] = fx_archive();
	fx_union(fx_hostupper(), lowers, 2, 0);
	ERR(fx_stat("foo", &st), ENOENT);
	ERR(fx_stat("bar/baz", &st), ENOENT);
	STREQ(fx_ls_sorted(""), "bar extra");
	STREQ(fx_ls_sorted("bar"), "keep new");
	cr_assert_eq(lyr_union_which(fx.u, "bar"), 1);
	cr_assert_eq(lyr_union_which(fx.u, "extra"), 1);
	/* creating foo: new and empty, the archive's never comes back */
	int fd = lyr_open(fx.u, "foo", O_RDWR | O_CREAT, 0644);
	OK(fd);
	close(fd);
	cr_assert_eq(fx_read("foo", buf, sizeof(buf)), 0);
	OK(lyr_unlink(fx.u, "foo"));
	ERR(fx_stat("foo", &st), ENOENT);
	cr_assert(!fx_upper_has(".wh.foo"), "mid's whiteout already hides the archive");
	/* an upper dir over the opaque mid dir stays without baz */
	OK(lyr_mkdir(fx.u, "bar/x", 0755));
	STREQ(fx_ls_sorted("bar"), "keep new x");
	OK(lyr_unlink(fx.u, "bar/new"));
	cr_assert(fx_upper_has("bar/.wh.new"));
	STREQ(fx_ls_sorted("bar"), "keep x");
	OK(lyr_rmdir(fx.u, "bar/keep"));
	OK(lyr_rmdir(fx.u, "bar/x"));
	OK(lyr_rmdir(fx.u, "bar"));
	ERR(fx_stat("bar", &st), ENOENT);
	OK(lyr_mkdir(fx.u, "bar", 0755));
	STREQ(fx_ls("bar"), "");
	fx_check_dinos("");
}

/* A union (memory upper over the archive) as the lower of another union. */
UTest(union, union_as_lower_of_union)
{
	struct lyr_layer *arc = fx_archive(), *inner, *outer_lower;
	struct lyr_error err;
	char buf[32];
	struct stat st;

	cr_assert(lyr_union_open(fx_memupper(), &arc, 1, NULL, &inner, &err) == 0);
	int fd = lyr_open(inner, "foo", O_WRONLY | O_TRUNC, 0);
	OK(fd);
	cr_assert_eq(write(fd, "inner\n", 6), 6);
	close(fd);
	OK(lyr_unlink(inner, "bar/baz"));
	OK(fd = lyr_open(inner, "bar/q", O_WRONLY | O_CREAT, 0644));
	close(fd);
	outer_lower = inner;
	fx_union(fx_hostupper(), &outer_lower, 1, 0);
	OK(fx_read("foo", buf, sizeof(buf)));
	STREQ(buf, "inner\n");
	STREQ(fx_ls("bar"), "q");
	ERR(fx_stat("bar/baz", &st), ENOENT);
	cr_assert_eq(lyr_union_which(fx.u, "foo"), 1);
	OK(fx_write("foo", O_WRONLY | O_APPEND, "outer\n"));
	cr_assert_eq(lyr_union_which(fx.u, "foo"), 0);
	OK(fx_read("foo", buf, sizeof(buf)));
	STREQ(buf, "inner\nouter\n");
	OK(lyr_unlink(fx.u, "bar/q"));
	STREQ(fx_ls("bar"), "");
	OK(lyr_rmdir(fx.u, "bar"));
	STREQ(fx_ls_sorted(""), "foo");
	fx_check_dinos("");
}

UTest(union, union_open_errors)
{
	struct lyr_layer *lowers[64], *u = (struct lyr_layer *)&u;
	struct lyr_error err = { "" };

	ERR(lyr_union_open(NULL, NULL, 0, NULL, &u, &err), EINVAL);
	cr_assert_null(u);
	cr_assert(err.msg[0]);
	for (int i = 0; i < 64; i++)
		lowers[i] = fx_memupper();
	ERR(lyr_union_open(NULL, lowers, 64, NULL, &u, &err), EINVAL); /* frees them */
	lowers[0] = NULL;
	ERR(lyr_union_open(fx_memupper(), lowers, 1, NULL, &u, &err), EINVAL);
	struct lyr_union_opts o = { .flags = 0x80 };
	lowers[0] = fx_memupper();
	ERR(lyr_union_open(NULL, lowers, 1, &o, &u, &err), EINVAL);
	/* the most lowers there is room for */
	for (int i = 0; i < 63; i++)
		lowers[i] = fx_memupper();
	OK(lyr_union_open(fx_memupper(), lowers, 63, NULL, &u, &err));
	OK(lyr_mkdir(u, "d", 0755));
	lyr_destroy(u);
}

UTest(union, statfs_upper)
{
	struct statvfs a, b;

	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_statfs(fx.u, &a));
	cr_assert(statvfs(fx.upper, &b) == 0);
	cr_assert_eq(a.f_fsid, b.f_fsid);
}

/* ---- a memory upper ----------------------------------------------------- */

UTest(union, mem_copy_up_and_read)
{
	char buf[32];
	struct stat st;

	fx_std(FX_MEM, FX_ARCHIVE);
	uint64_t ino = fx_ino("foo");
	OK(fx_write("foo", O_WRONLY | O_APPEND, "more\n"));
	OK(fx_read("foo", buf, sizeof(buf)));
	STREQ(buf, "testfoo\nmore\n");
	OK(fx_stat("foo", &st));
	cr_assert_eq(st.st_mode & 07777, 0644);
	cr_assert_eq(st.st_uid, 1000);
	cr_assert_eq(st.st_ino, ino, "the memory layer keeps the origin xattr");
	cr_assert_eq(lyr_union_which(fx.u, "foo"), 0);
	cr_assert_eq(fx.ncopied, 1);
}

UTest(union, mem_oexcl_matrix)
{
	fx_std(FX_MEM, FX_ARCHIVE);
	ERR(lyr_open(fx.u, "foo", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
	ERR(lyr_open(fx.u, "bar", O_RDONLY | O_CREAT | O_EXCL, 0644), EEXIST);
	OK(fx_write("up", O_WRONLY | O_CREAT | O_EXCL, "u"));
	ERR(lyr_open(fx.u, "up", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
	OK(lyr_unlink(fx.u, "bar/baz"));
	OK(fx_write("bar/baz", O_WRONLY | O_CREAT | O_EXCL, ""));
	char buf[16];
	cr_assert_eq(fx_read("bar/baz", buf, sizeof(buf)), 0);
}

UTest(union, mem_delete_and_recreate)
{
	struct stat st;

	fx_std(FX_MEM, FX_ARCHIVE);
	OK(lyr_unlink(fx.u, "bar/baz"));
	OK(lyr_rmdir(fx.u, "bar"));
	ERR(fx_stat("bar", &st), ENOENT);
	ERR(fx_stat("bar/baz", &st), ENOENT);
	STREQ(fx_ls(""), "foo");
	OK(lyr_mkdir(fx.u, "bar", 0700));
	STREQ(fx_ls("bar"), "");
	OK(lyr_rmdir(fx.u, "bar"));
	OK(lyr_mkdir(fx.u, "bar", 0700));
	STREQ(fx_ls("bar"), "");
}

UTest(union, mem_readdir_merge_and_dinos)
{
	fx_std(FX_MEM, FX_ARCHIVE);
	OK(fx_write("new", O_WRONLY | O_CREAT, "n"));
	OK(lyr_chmod(fx.u, "foo", 0600));
	OK(lyr_mkdir(fx.u, "bar/sub", 0755));
	STREQ(fx_ls_sorted(""), "bar foo new");
	STREQ(fx_ls_sorted("bar"), "baz sub");
	fx_check_dinos("");
	fx_check_dinos("bar");
}

UTest(union, mem_rename_lower_dir)
{
	char buf[16];
	struct stat st;

	fx_std(FX_MEM, FX_ARCHIVE);
	uint64_t bar = fx_ino("bar"), baz = fx_ino("bar/baz");
	OK(lyr_rename(fx.u, "bar", "qux", 0));
	ERR(fx_stat("bar", &st), ENOENT);
	OK(fx_read("qux/baz", buf, sizeof(buf)));
	STREQ(buf, "testbaz\n");
	cr_assert_eq(fx_ino("qux"), bar);
	cr_assert_eq(fx_ino("qux/baz"), baz);
	OK(lyr_mkdir(fx.u, "bar", 0755));
	STREQ(fx_ls("bar"), "");
}

/* ---- a host-directory lower ------------------------------------------- */

UTest(union, hostlower_copy_up_and_whiteout)
{
	char buf[32];
	struct stat st;

	fx_std(FX_HOST, FX_HOSTDIR);
	uint64_t ino = fx_ino("foo");
	OK(fx_stat("foo", &st));
	cr_assert_eq(st.st_mode & 07777, 0644);
	OK(fx_write("foo", O_WRONLY | O_TRUNC, "changed"));
	OK(fx_read("foo", buf, sizeof(buf)));
	STREQ(buf, "changed");
	cr_assert_eq(fx_ino("foo"), ino);
	OK(lyr_unlink(fx.u, "bar/baz"));
	cr_assert(fx_upper_has("bar/.wh.baz"));
	STREQ(fx_ls("bar"), "");
	OK(lyr_rmdir(fx.u, "bar"));
	STREQ(fx_ls(""), "foo");
}

UTest(union, hostlower_rename_dir)
{
	char buf[32];

	fx_sh("mkdir -p src/bar/deep/er && printf deep > src/bar/deep/er/f");
	fx_std(FX_HOST, FX_HOSTDIR);
	uint64_t f = fx_ino("bar/deep/er/f");
	OK(lyr_rename(fx.u, "bar", "moved", 0));
	OK(fx_read("moved/deep/er/f", buf, sizeof(buf)));
	STREQ(buf, "deep");
	cr_assert_eq(fx_ino("moved/deep/er/f"), f);
	STREQ(fx_ls_sorted("moved"), "baz deep");
	fx_check_dinos("moved");
	fx_check_dinos("moved/deep");
}

UTest(union, hostlower_oexcl_and_creat)
{
	char buf[16];

	fx_std(FX_HOST, FX_HOSTDIR);
	ERR(lyr_open(fx.u, "foo", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
	ERR(lyr_open(fx.u, "bar", O_RDONLY | O_CREAT | O_EXCL, 0644), EEXIST);
	int fd = lyr_open(fx.u, "bar/baz", O_RDONLY | O_CREAT, 0644);
	OK(fd);
	STREQ(fx_fd_str(fd), "testbaz\n");
	close(fd);
	OK(lyr_unlink(fx.u, "foo"));
	OK(fx_write("foo", O_WRONLY | O_CREAT | O_EXCL, "x"));
	OK(fx_read("foo", buf, sizeof(buf)));
	STREQ(buf, "x");
}

/* ---- more cases --------------------------------------------------------- */

UTest(union, name_too_long)
{
	char name[300];
	struct stat st;

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	fx_std(FX_HOST, FX_ARCHIVE);
	ERR(fx_stat(name, &st), ENAMETOOLONG);
	ERR(lyr_open(fx.u, name, O_WRONLY | O_CREAT, 0644), ENAMETOOLONG);
	ERR(lyr_mkdir(fx.u, name, 0755), ENAMETOOLONG);
	cr_assert_eq(fx_upper_count(""), 0);
}

UTest(union, lower_writable_files_times_and_owner_in_place)
{
	struct timespec ts[2] = { { 111, 0 }, { 222, 0 } };
	char p[PATH_MAX + 16];
	struct stat st;
	struct lyr_layer *lower;

	lower = fx_hostdir(fx.src, 0);
	fx_union(fx_hostupper(), &lower, 1, LYR_UNION_WRITABLE_FILES);
	OK(lyr_utimens(fx.u, "foo", ts));
	OK(lyr_chown(fx.u, "foo", 42, 43));
	snprintf(p, sizeof(p), "%s/foo", fx.src);
	cr_assert(stat(p, &st) == 0);
	cr_assert_eq(st.st_mtim.tv_sec, 222);
	cr_assert_eq(st.st_uid, 42);
	cr_assert_eq(fx_upper_count(""), 0, "nothing in the upper layer");
	/* directories are not files: a lower dir still copies up */
	OK(lyr_chmod(fx.u, "bar", 0700));
	cr_assert(fx_upper_has("bar"));
	snprintf(p, sizeof(p), "%s/bar", fx.src);
	cr_assert(stat(p, &st) == 0 && (st.st_mode & 07777) == 0755);
	/* rename of a lower file: copy-up and whiteout, the lower file stays */
	OK(lyr_rename(fx.u, "bar/baz", "baz", 0));
	snprintf(p, sizeof(p), "%s/bar/baz", fx.src);
	cr_assert(access(p, F_OK) == 0);
	cr_assert(fx_upper_has("baz") && fx_upper_has("bar/.wh.baz"));
}

UTest(union, mem_rename_exchange_and_link)
{
	char buf[16];
	struct stat st;

	fx_std(FX_MEM, FX_ARCHIVE);
	uint64_t foo = fx_ino("foo");
	OK(lyr_rename(fx.u, "foo", "bar/baz", RENAME_EXCHANGE));
	OK(fx_read("bar/baz", buf, sizeof(buf)));
	STREQ(buf, "testfoo\n");
	OK(fx_read("foo", buf, sizeof(buf)));
	STREQ(buf, "testbaz\n");
	cr_assert_eq(fx_ino("bar/baz"), foo);
	OK(lyr_link(fx.u, "foo", "foo2"));
	OK(fx_stat("foo2", &st));
	cr_assert_eq(st.st_nlink, 2);
	cr_assert_eq(st.st_ino, fx_ino("foo"));
	fx_check_dinos("");
	fx_check_dinos("bar");
}

UTest(union, mem_erofs_free_and_whiteouts_hidden)
{
	struct stat st;

	fx_std(FX_MEM, FX_ARCHIVE);
	OK(lyr_unlink(fx.u, "foo"));
	ERR(fx_stat("foo", &st), ENOENT);
	ERR(lyr_chmod(fx.u, "foo", 0600), ENOENT);
	STREQ(fx_ls(""), "bar");
	OK(lyr_mkdir(fx.u, "d", 0755));
	OK(lyr_rmdir(fx.u, "d"));
	OK(lyr_mkdir(fx.u, "d", 0755));
	STREQ(fx_ls_sorted(""), "bar d");
}

/* ---- one-pass resolution (the resolve member, version 2) ------------- */

/*
 * A layer that forwards lookup and readlink to fx.u and has no resolve
 * member: lyr_resolve_stat on it takes the lookup-per-prefix walk, which is
 * what lyr_resolve always did.  The union's own member must agree with it.
 */
struct rs_plain {
	struct lyr_layer base;
	struct lyr_layer *in;
};

static int rs_plain_lookup(struct lyr_layer *l, const char *path, struct stat *st,
			   unsigned *flags)
{
	return lyr_lookup(((struct rs_plain *)l)->in, path, st, flags);
}

static ssize_t rs_plain_readlink(struct lyr_layer *l, const char *path, char *buf,
				 size_t size)
{
	return lyr_readlink(((struct rs_plain *)l)->in, path, buf, size);
}

static const struct lyr_layer_ops rs_plain_ops = {
	.version = 1,
	.name = "plain",
	.lookup = rs_plain_lookup,
	.readlink = rs_plain_readlink,
};

/*
 * The lowers of the resolution matrix, topmost first: low2 (a read-only
 * host directory with a whiteout) over the archive of src (the seed plus
 * directories and symlinks of every kind).
 */
static void rs_lowers(struct lyr_layer **lowers)
{
	fx_sh("mkdir -p src/d1/d2/d3 src/opq src/gone src/merged/sub src/fod/inner src/dol/x && "
	      "echo f > src/d1/d2/d3/file && echo h > src/opq/hidden && echo g > src/gone/g && "
	      "echo a > src/merged/a && "
	      "ln -s d1/d2 src/rel && ln -s /d1/d2 src/abs && ln -s /mnt/x/d1 src/absmnt && "
	      "ln -s /mnt/x src/absroot && ln -s ../.. src/up && ln -s loop2 src/loop1 && "
	      "ln -s loop1 src/loop2 && ln -s self src/self && ln -s nowhere src/dangling && "
	      "ln -s c2 src/c1 && ln -s d1 src/c2 && ln -s .. src/d1/back && "
	      "ln -s foo src/fileln && ln -s /etc/passwd src/out && "
	      "ln -s ../../.. src/d1/d2/d3/top && ln -s ../foo src/d1/dotdot && "
	      "ln -s /mnt/xy src/near && mkdir -p src/deep/a/b && echo z > src/deep/a/b/z && "
	      "ln -s ../../../foo src/deep/a/b/lnk && ln -s ../b src/deep/a/b/dlnk && "
	      "ln -s /deep/a src/deep/a/b/alnk && "
	      "mkdir -p low2/d1/d2 low2/merged && echo e > low2/d1/extra && "
	      "echo 2 > low2/d1/d2/file2 && echo b > low2/merged/b && touch low2/.wh.gone && "
	      "echo fod > low2/fod && ln -s d1 low2/dol");
	char dir[700];
	snprintf(dir, sizeof(dir), "%s/low2", fx.root);
	lowers[0] = fx_hostdir(dir, LYR_HOST_RDONLY);
	lowers[1] = fx_archive();
}

/* The upper layer's part, made through the layer interface (any kind). */
static void rs_fill_upper(struct lyr_layer *up)
{
	OK(lyr_mkdir(up, "d1", 0755));
	OK(lyr_mkdir(up, "d1/d2", 0755));
	OK(lyr_mkdir(up, "newdir", 0755));
	OK(lyr_mkdir(up, "opq", 0755));
	OK(lyr_mkdir(up, "merged", 0755));
	OK(lyr_set_opaque(up, "opq"));
	const char *files[] = { "d1/d2/ufile", "newdir/f", "opq/mine", "foo2" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		int fd = lyr_open(up, files[i], O_CREAT | O_WRONLY, 0644);
		OK(fd);
		close(fd);
	}
	OK(lyr_whiteout(up, "bar"));
	OK(lyr_whiteout(up, "ghost"));
	OK(lyr_symlink(up, "d1/d2/d3", "ulink"));
	OK(lyr_symlink(up, "../newdir", "d1/unew"));
}

enum rs_setup { RS_HOST, RS_MEM, RS_NONE, RS_ARCHIVE_ONLY };

static void rs_union(enum rs_setup s)
{
	struct lyr_layer *lowers[2], *up = NULL;

	rs_lowers(lowers);
	if (s == RS_HOST || s == RS_ARCHIVE_ONLY)
		up = fx_hostupper();
	else if (s == RS_MEM)
		up = fx_memupper();
	if (up)
		rs_fill_upper(up);
	if (s == RS_ARCHIVE_ONLY) {
		lyr_destroy(lowers[0]);
		fx_union(up, &lowers[1], 1, 0);
	} else {
		fx_union(up, lowers, 2, 0);
	}
}

static const char *const rs_paths[] = {
	"", ".", "..", "/", "//", "foo", "foo/", "foo/.", "foo/..", "foo/x", "foo/x/y",
	"bar", "bar/", "bar/baz", "bar/new", "d1", "d1/", "d1/d2/d3/file",
	"d1/./d2//d3/../d3/file", "d1/d2/d3/file/", "d1/extra", "d1/d2/file2",
	"d1/d2/ufile", "d1/d2/nope", "d1/d2/nope/deeper", "rel", "rel/", "rel/d3/file",
	"rel/../d2/d3", "rel/d3/../../extra", "abs", "abs/d3", "absmnt", "absmnt/d2",
	"absroot", "absroot/foo", "up", "up/foo", "../foo", "../../x", "loop1", "loop1/x",
	"self", "self/", "dangling", "dangling/x", "c1", "c1/d2/d3/file", "d1/back",
	"d1/back/back/d1/d2", "d1/back/d1/back/d1/d2", "d1/dotdot", "fileln", "fileln/", "out", "out/x", "near",
	"d1/d2/d3/top", "d1/d2/d3/top/foo", "opq", "opq/hidden", "opq/mine", "gone",
	"gone/g", "merged", "merged/a", "merged/b", "merged/sub", "fod", "fod/inner",
	"dol", "dol/x", "newdir", "newdir/f", "newdir/missing", "missing", "missing/x",
	"ulink", "ulink/file", "ulink/top/foo", "d1/unew/f", ".wh.bar", "d1/.wh.x",
	".wh.ghost", "ghost", "ghost/x", "foo2", "foo2/x", "x/../foo",
	"deep/a/b/z", "deep/a/b/lnk", "deep/a/b/lnk/", "deep/a/b/lnk/x", "deep/a/b/dlnk",
	"deep/a/b/dlnk/z", "deep/a/b/dlnk/dlnk/lnk", "deep/a/b/alnk/b/z", "deep/a/b/nope",
	"deep/a/nope/z", "deep/a/b/z/", "deep/a/b/../b/z", "deep/a/b//z",
};

/* lyr_resolve_stat on fx.u and on the plain walk over it agree. */
static void rs_compare(const char *path, unsigned flags, const char *root)
{
	struct rs_plain plain = { { &rs_plain_ops, 0 }, fx.u };
	char a[PATH_MAX], b[PATH_MAX], c[PATH_MAX];
	struct stat sa, sb;
	int ra, rb, rc;

	memset(&sa, 0, sizeof(sa));
	memset(&sb, 0, sizeof(sb));
	strcpy(a, "(unset)");
	strcpy(b, "(unset)");
	ra = lyr_resolve_stat(fx.u, path, flags, root, a, sizeof(a), &sa);
	rb = lyr_resolve_stat(&plain.base, path, flags, root, b, sizeof(b), &sb);
	cr_assert_eq(ra, rb, "\"%s\" flags %u root %s: %d (%s) vs the walk's %d (%s)",
		     path, flags, root ? root : "-", ra, a, rb, b);
	if (ra >= 0)
		STREQ(a, b, "\"%s\" flags %u root %s", path, flags, root ? root : "-");
	if (ra == 0) {
		cr_assert_eq(sa.st_mode, sb.st_mode, "\"%s\": mode", path);
		cr_assert_eq(sa.st_ino, sb.st_ino, "\"%s\": ino", path);
		cr_assert_eq(sa.st_dev, sb.st_dev, "\"%s\": dev", path);
		cr_assert_eq(sa.st_size, sb.st_size, "\"%s\": size", path);
		cr_assert_eq(sa.st_nlink, sb.st_nlink, "\"%s\": nlink", path);
		cr_assert_eq(sa.st_uid, sb.st_uid, "\"%s\": uid", path);
		cr_assert_eq(sa.st_mtim.tv_sec, sb.st_mtim.tv_sec, "\"%s\": mtime", path);
	}
	/* lyr_resolve keeps its contract: a missing last component is 0. */
	rc = lyr_resolve(fx.u, path, flags, root, c, sizeof(c));
	cr_assert_eq(rc, ra == LYR_RESOLVE_MISSING ? 0 : ra, "lyr_resolve \"%s\"", path);
	if (rc >= 0)
		STREQ(c, a);
}

static void rs_matrix(void)
{
	static const char *const roots[] = { NULL, "/mnt/x", "/mnt/x/" };

	for (size_t i = 0; i < sizeof(rs_paths) / sizeof(rs_paths[0]); i++)
		for (size_t r = 0; r < sizeof(roots) / sizeof(roots[0]); r++) {
			rs_compare(rs_paths[i], 0, roots[r]);
			rs_compare(rs_paths[i], LYR_RESOLVE_FOLLOW, roots[r]);
		}
}

UTest(union, resolve_matches_walk_host_upper)
{
	rs_union(RS_HOST);
	rs_matrix();
}

UTest(union, resolve_matches_walk_mem_upper)
{
	rs_union(RS_MEM);
	rs_matrix();
}

UTest(union, resolve_matches_walk_read_only_view)
{
	rs_union(RS_NONE);
	rs_matrix();
}

UTest(union, resolve_matches_walk_one_lower)
{
	rs_union(RS_ARCHIVE_ONLY);
	rs_matrix();
}

/* lyr_resolve_stat on fx.u: result, out, and the stat's type. */
static void rs_expect(const char *path, unsigned flags, const char *root, int want,
		      const char *want_out, mode_t type)
{
	char out[PATH_MAX] = "";
	struct stat st;
	int r;

	memset(&st, 0, sizeof(st));
	r = lyr_resolve_stat(fx.u, path, flags, root, out, sizeof(out), &st);
	cr_assert_eq(r, want, "\"%s\" flags %u: %d (%s), want %d", path, flags, r,
		     r < 0 ? strerror(-r) : out, want);
	if (want_out)
		STREQ(out, want_out, "\"%s\"", path);
	if (r == 0)
		cr_assert_eq(st.st_mode & S_IFMT, type, "\"%s\": type %o", path,
			     st.st_mode & S_IFMT);
}

#define RS_F LYR_RESOLVE_FOLLOW
#define RS_MISSING LYR_RESOLVE_MISSING
#define RS_ESCAPED LYR_RESOLVE_ESCAPED

UTest(union, resolve_symlinks_dotdot_and_escapes)
{
	rs_union(RS_HOST);
	rs_expect("d1/d2/d3/file", 0, "/mnt/x", 0, "d1/d2/d3/file", S_IFREG);
	rs_expect("d1/./d2//d3/../d3/file", 0, NULL, 0, "d1/d2/d3/file", S_IFREG);
	rs_expect("rel", 0, NULL, 0, "rel", S_IFLNK);
	rs_expect("rel", RS_F, NULL, 0, "d1/d2", S_IFDIR);
	rs_expect("rel/", RS_F, NULL, 0, "d1/d2", S_IFDIR);
	rs_expect("rel/d3/file", 0, NULL, 0, "d1/d2/d3/file", S_IFREG);
	rs_expect("rel/../d2/d3", 0, NULL, 0, "d1/d2/d3", S_IFDIR);
	rs_expect("c1/d2/d3/file", 0, NULL, 0, "d1/d2/d3/file", S_IFREG);
	rs_expect("d1/back/d1/back/d1/d2", 0, NULL, 0, "d1/d2", S_IFDIR);
	rs_expect("d1/back/back", 0, NULL, RS_MISSING, "back", 0);
	rs_expect("d1/dotdot", RS_F, NULL, 0, "foo", S_IFREG);
	rs_expect("up/foo", 0, NULL, 0, "foo", S_IFREG);
	rs_expect("d1/d2/d3/top/foo", 0, NULL, 0, "foo", S_IFREG);
	rs_expect("ulink/file", 0, NULL, 0, "d1/d2/d3/file", S_IFREG);
	/* below a directory only the archive shows: the rest at once */
	rs_expect("deep/a/b/z", 0, NULL, 0, "deep/a/b/z", S_IFREG);
	rs_expect("deep/a/b/lnk", 0, NULL, 0, "deep/a/b/lnk", S_IFLNK);
	rs_expect("deep/a/b/lnk", RS_F, NULL, 0, "foo", S_IFREG);
	rs_expect("deep/a/b/dlnk/dlnk/lnk", RS_F, NULL, 0, "foo", S_IFREG);
	rs_expect("deep/a/b/alnk/b/z", 0, "/mnt/x", RS_ESCAPED, "/deep/a/b/z", 0);
	rs_expect("deep/a/b/alnk/b/z", 0, NULL, 0, "deep/a/b/z", S_IFREG);
	rs_expect("deep/a/b/nope", 0, NULL, RS_MISSING, "deep/a/b/nope", 0);
	rs_expect("deep/a/nope/z", 0, NULL, -ENOENT, NULL, 0);
	rs_expect("deep/a/b/z/x", 0, NULL, -ENOTDIR, NULL, 0);
	rs_expect("d1/unew/f", 0, NULL, 0, "newdir/f", S_IFREG);
	/* absolute targets: from the layer root, or through the mount point */
	rs_expect("abs/d3", 0, NULL, 0, "d1/d2/d3", S_IFDIR);
	rs_expect("abs/d3", 0, "/mnt/x", RS_ESCAPED, "/d1/d2/d3", 0);
	rs_expect("absmnt/d2", 0, "/mnt/x", 0, "d1/d2", S_IFDIR);
	rs_expect("absroot/foo", 0, "/mnt/x/", 0, "foo", S_IFREG);
	rs_expect("near", RS_F, "/mnt/x", RS_ESCAPED, "/mnt/xy", 0);
	rs_expect("out", RS_F, "/mnt/x", RS_ESCAPED, "/etc/passwd", 0);
	rs_expect("out/x", 0, "/mnt/x", RS_ESCAPED, "/etc/passwd/x", 0);
	rs_expect("..", 0, "/mnt/x", RS_ESCAPED, "/mnt", 0);
	rs_expect("../foo", 0, "/mnt/x", RS_ESCAPED, "/mnt/foo", 0);
	rs_expect("../foo", 0, NULL, 0, "foo", S_IFREG);
	rs_expect("", 0, "/mnt/x", 0, "", S_IFDIR);
	rs_expect("d1/..", 0, NULL, 0, "", S_IFDIR);
	rs_expect("foo/..", 0, NULL, -ENOTDIR, NULL, 0);
	/* loops and non-directories */
	rs_expect("loop1", 0, NULL, 0, "loop1", S_IFLNK);
	rs_expect("loop1", RS_F, NULL, -ELOOP, NULL, 0);
	rs_expect("loop1/x", 0, NULL, -ELOOP, NULL, 0);
	rs_expect("self/", RS_F, NULL, -ELOOP, NULL, 0);
	rs_expect("self/", 0, NULL, 0, "self", S_IFLNK);
	rs_expect("foo/x", 0, NULL, -ENOTDIR, NULL, 0);
	rs_expect("foo/x/y", 0, NULL, -ENOTDIR, NULL, 0);
	rs_expect("fod/inner", 0, NULL, -ENOTDIR, NULL, 0);
	rs_expect("foo2/x", 0, NULL, -ENOTDIR, NULL, 0);
}

UTest(union, resolve_missing_last_component_keeps_path)
{
	char longname[NAME_MAX + 20];

	rs_union(RS_HOST);
	rs_expect("missing", 0, NULL, RS_MISSING, "missing", 0);
	rs_expect("missing/x", 0, NULL, -ENOENT, NULL, 0);
	rs_expect("d1/d2/nope", 0, NULL, RS_MISSING, "d1/d2/nope", 0);
	rs_expect("d1/d2/nope/deeper", 0, NULL, -ENOENT, NULL, 0);
	rs_expect("newdir/missing", 0, NULL, RS_MISSING, "newdir/missing", 0);
	rs_expect("dangling", RS_F, NULL, RS_MISSING, "nowhere", 0);
	rs_expect("dangling", 0, NULL, 0, "dangling", S_IFLNK);
	rs_expect("dangling/x", 0, NULL, -ENOENT, NULL, 0);
	rs_expect("dol/x", 0, NULL, RS_MISSING, "d1/x", 0);
	rs_expect(".wh.bar", 0, NULL, RS_MISSING, ".wh.bar", 0);
	rs_expect("d1/.wh.x/y", 0, NULL, -ENOENT, NULL, 0);
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	char p[sizeof(longname) + 8];
	snprintf(p, sizeof(p), "d1/%s", longname);
	rs_expect(p, 0, NULL, -ENAMETOOLONG, NULL, 0);
	char small[4];
	cr_assert_eq(lyr_resolve_stat(fx.u, "d1/d2", 0, NULL, small, sizeof(small),
				      &(struct stat){ 0 }), -ENAMETOOLONG);
}

UTest(union, resolve_whiteouts_opaque_dirs_several_lowers)
{
	rs_union(RS_HOST);
	rs_expect("bar", 0, NULL, RS_MISSING, "bar", 0);
	rs_expect("bar/baz", 0, NULL, -ENOENT, NULL, 0);
	rs_expect("gone", 0, NULL, RS_MISSING, "gone", 0);
	rs_expect("gone/g", 0, NULL, -ENOENT, NULL, 0);
	rs_expect("ghost", 0, NULL, RS_MISSING, "ghost", 0);
	rs_expect("opq/hidden", 0, NULL, RS_MISSING, "opq/hidden", 0);
	rs_expect("opq/mine", 0, NULL, 0, "opq/mine", S_IFREG);
	rs_expect("merged/a", 0, NULL, 0, "merged/a", S_IFREG);
	rs_expect("merged/b", 0, NULL, 0, "merged/b", S_IFREG);
	rs_expect("merged/sub", 0, NULL, 0, "merged/sub", S_IFDIR);
	rs_expect("d1/extra", 0, NULL, 0, "d1/extra", S_IFREG);
	rs_expect("d1/d2/file2", 0, NULL, 0, "d1/d2/file2", S_IFREG);
	rs_expect("d1/d2/ufile", 0, NULL, 0, "d1/d2/ufile", S_IFREG);
	rs_expect("dol", 0, NULL, 0, "dol", S_IFLNK);
	/* The stat is the view's: which layer, and the inode number it shows. */
	struct stat a, b;
	char out[PATH_MAX];
	OK(lyr_resolve_stat(fx.u, "merged", 0, NULL, out, sizeof(out), &a));
	OK(fx_stat("merged", &b));
	cr_assert_eq(a.st_ino, b.st_ino);
	cr_assert_eq(a.st_nlink, 1, "a merged directory");
	OK(lyr_resolve_stat(fx.u, "d1/d2/d3/file", 0, NULL, out, sizeof(out), &a));
	cr_assert_eq(a.st_ino, fx_ino("d1/d2/d3/file"));
	cr_assert_eq(lyr_union_which(fx.u, "d1/d2/d3/file"), 2);
}

/* A table of version 1 has no resolve member, whatever follows it. */
static int rs_never_called;

static int rs_bad_resolve(struct lyr_layer *l, const char *path, unsigned flags,
			  const char *root, char *out, size_t size, struct stat *st)
{
	(void)l, (void)path, (void)flags, (void)root, (void)out, (void)size, (void)st;
	rs_never_called++;
	return -EIO;
}

UTest(union, resolve_member_only_from_version_2)
{
	struct lyr_layer_ops ops = rs_plain_ops;
	struct rs_plain plain = { { &ops, 0 }, NULL };
	char out[PATH_MAX];
	struct stat st;

	fx_std(FX_HOST, FX_ARCHIVE);
	plain.in = fx.u;
	ops.resolve = rs_bad_resolve;
	OK(lyr_resolve_stat(&plain.base, "bar/baz", 0, NULL, out, sizeof(out), &st));
	STREQ(out, "bar/baz");
	cr_assert(S_ISREG(st.st_mode));
	OK(lyr_resolve(&plain.base, "bar/baz", 0, NULL, out, sizeof(out)));
	cr_assert_eq(rs_never_called, 0);
	ops.version = 2;
	ERR(lyr_resolve(&plain.base, "bar/baz", 0, NULL, out, sizeof(out)), EIO);
	cr_assert_eq(rs_never_called, 1);
}

/* Asking a layer without flags: a whiteout is absent, nothing else changes. */
static void rs_no_flags(struct lyr_layer *l)
{
	struct stat st;
	unsigned fl;

	OK(lyr_whiteout(l, "w"));
	OK(lyr_mkdir(l, "o", 0755));
	OK(lyr_set_opaque(l, "o"));
	ERR(lyr_lookup(l, "w", &st, NULL), ENOENT);
	OK(lyr_lookup(l, "w", &st, &fl));
	cr_assert_eq(fl, LYR_WHITEOUT);
	OK(lyr_lookup(l, "o", &st, NULL));
	cr_assert(S_ISDIR(st.st_mode));
	OK(lyr_lookup(l, "o", &st, &fl));
	cr_assert_eq(fl, LYR_OPAQUE);
	lyr_destroy(l);
}

UTest(union, lookup_without_flags_host_and_mem)
{
	rs_no_flags(fx_hostupper());
	rs_no_flags(fx_memupper());
}

/* ---- lyr_union_open_at ------------------------------------------------ */

/* Opens path in fx.u with lyr_union_open_at: the fd, *layer and *st. */
static int oa_open(const char *path, int flags, int *layer, struct stat *st)
{
	*layer = -99;
	return lyr_union_open_at(fx.u, path, flags, 0640, layer, st);
}

/* st is what a lookup says now. */
static void oa_same(const char *path, const struct stat *st)
{
	struct stat now;

	OK(fx_stat(path, &now));
	cr_assert_eq(st->st_ino, now.st_ino, "%s: ino", path);
	cr_assert_eq(st->st_dev, now.st_dev, "%s: dev", path);
	cr_assert_eq(st->st_mode, now.st_mode, "%s: mode", path);
	cr_assert_eq(st->st_size, now.st_size, "%s: size", path);
	cr_assert_eq(st->st_uid, now.st_uid, "%s: uid", path);
}

UTest(union, open_at_reports_layer_and_stat)
{
	struct stat st;
	int layer, fd;

	fx_std(FX_HOST, FX_ARCHIVE);
	uint64_t ino = fx_ino("foo");
	fd = oa_open("foo", O_RDONLY, &layer, &st);
	OK(fd);
	close(fd);
	cr_assert_eq(layer, 1);
	oa_same("foo", &st);
	fd = oa_open("bar", O_RDONLY | O_DIRECTORY, &layer, &st);
	OK(fd);
	close(fd);
	cr_assert_eq(layer, 1);
	cr_assert(S_ISDIR(st.st_mode));
	oa_same("bar", &st);
	fd = oa_open("", O_RDONLY | O_DIRECTORY, &layer, &st);
	OK(fd);
	close(fd);
	cr_assert_eq(layer, 0);
	oa_same("", &st);
	/* a write copies up: the upper layer, the same inode number */
	fd = oa_open("foo", O_WRONLY | O_TRUNC, &layer, &st);
	OK(fd);
	close(fd);
	cr_assert_eq(layer, 0);
	cr_assert_eq(st.st_ino, ino);
	cr_assert_eq(st.st_size, 0);
	oa_same("foo", &st);
	/* created */
	fd = oa_open("bar/new", O_CREAT | O_EXCL | O_WRONLY, &layer, &st);
	OK(fd);
	cr_assert_eq(write(fd, "abc", 3), 3);
	close(fd);
	cr_assert_eq(layer, 0);
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0640);
	cr_assert_eq(st.st_size, 0, "as the open left it");
	cr_assert_eq(st.st_ino, fx_ino("bar/new"));
	/* an upper file truncated */
	fd = oa_open("bar/new", O_WRONLY | O_TRUNC, &layer, &st);
	OK(fd);
	close(fd);
	cr_assert_eq(layer, 0);
	oa_same("bar/new", &st);
	/* NULL layer and stat are fine */
	fd = lyr_union_open_at(fx.u, "bar/baz", O_RDONLY, 0, NULL, NULL);
	OK(fd);
	close(fd);
	cr_assert_eq(lyr_union_which(fx.u, "bar/baz"), 1);
}

UTest(union, open_at_errors)
{
	struct lyr_layer *mem = fx_memupper();
	struct stat st;
	int layer = -99;

	fx_std(FX_HOST, FX_ARCHIVE);
	ERR(oa_open("nope", O_RDONLY, &layer, &st), ENOENT);
	ERR(oa_open("nope/x", O_CREAT | O_WRONLY, &layer, &st), ENOENT);
	ERR(oa_open("x", O_CREAT | O_DIRECTORY, &layer, &st), EINVAL);
	ERR(oa_open("foo", O_CREAT | O_EXCL | O_WRONLY, &layer, &st), EEXIST);
	ERR(oa_open("bar", O_WRONLY, &layer, &st), EISDIR);
	cr_assert_eq(layer, -99, "untouched on failure");
	ERR(lyr_union_open_at(mem, "x", O_RDONLY, 0, &layer, &st), EINVAL);
	ERR(lyr_union_open_at(NULL, "x", O_RDONLY, 0, &layer, &st), EINVAL);
	lyr_destroy(mem);
}

UTest(union, open_at_read_only_view_and_mem_upper)
{
	struct lyr_layer *lower;
	struct stat st;
	int layer, fd;

	lower = fx_archive();
	fx_union(NULL, &lower, 1, 0);
	fd = oa_open("bar/baz", O_RDONLY, &layer, &st);
	OK(fd);
	close(fd);
	cr_assert_eq(layer, 1);
	oa_same("bar/baz", &st);
	ERR(oa_open("foo", O_WRONLY, &layer, &st), EROFS);
	lyr_destroy(fx.u);
	fx.u = NULL;
	fx_std(FX_MEM, FX_ARCHIVE);
	fd = oa_open("foo", O_RDWR, &layer, &st);
	OK(fd);
	close(fd);
	cr_assert_eq(layer, 0);
	oa_same("foo", &st);
	fd = oa_open("made", O_CREAT | O_RDWR, &layer, &st);
	OK(fd);
	close(fd);
	cr_assert_eq(layer, 0);
	oa_same("made", &st);
}

/* ---- fd_name and lock_fd (layer ops version 3 and 4) ------------------ */

/* lyr_fd_name on fx.u of fd: its result, the name in name. */
static int fn_name(int fd, char *name)
{
	strcpy(name, "(unset)");
	return lyr_fd_name(fx.u, fd, name, PATH_MAX);
}

/* fd (open, owned by this call) is named lp by the union. */
static void fn_is(int fd, const char *lp)
{
	char name[PATH_MAX];

	cr_assert_geq(fd, 0, "open %s: %s", lp, strerror(-fd));
	int r = fn_name(fd, name);
	cr_assert_eq(r, 0, "%s: %d (%s)", lp, r, strerror(-r));
	STREQ(name, lp);
	close(fd);
}

UTest(union, fd_name_asks_every_layer)
{
	char name[PATH_MAX];

	fx_std(FX_HOST, FX_ARCHIVE);
	/* the archive's: a memfd, then a cache file */
	fn_is(lyr_open(fx.u, "foo", O_RDONLY, 0), "foo");
	fn_is(lyr_open(fx.u, "foo", O_RDONLY, 0), "foo");
	fn_is(lyr_open(fx.u, "bar/baz", O_RDONLY, 0), "bar/baz");
	/* its directory: a stand-in of its own */
	fn_is(lyr_open(fx.u, "bar", O_RDONLY | O_DIRECTORY, 0), "bar");
	int fd;
	/* the upper layer's: made, copied up, renamed */
	OK(fx_write("made", O_WRONLY | O_CREAT, "m"));
	fn_is(lyr_open(fx.u, "made", O_RDONLY, 0), "made");
	fn_is(lyr_open(fx.u, "foo", O_RDWR, 0), "foo");
	fn_is(lyr_open(fx.u, "", O_RDONLY | O_DIRECTORY, 0), "");
	OK(lyr_mkdir(fx.u, "bar/sub", 0755));
	fn_is(lyr_open(fx.u, "bar", O_RDONLY | O_DIRECTORY, 0), "bar");
	OK(fd = lyr_open(fx.u, "made", O_RDONLY, 0));
	OK(lyr_rename(fx.u, "made", "bar/sub/moved", 0));
	OK(fn_name(fd, name));
	STREQ(name, "bar/sub/moved");
	/* ... removed */
	OK(lyr_unlink(fx.u, "bar/sub/moved"));
	ERR(fn_name(fd, name), ENOENT);
	close(fd);
	/* none of the union's */
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	ERR(fn_name(pfd[0], name), ENOENT);
	close(pfd[0]);
	close(pfd[1]);
	OK(fd = open(fx.tar, O_RDONLY | O_CLOEXEC));
	ERR(fn_name(fd, name), ENOENT);
	close(fd);
}

UTest(union, fd_name_host_lower_memory_upper_read_only_view)
{
	struct lyr_layer *lower;

	fx_std(FX_MEM, FX_HOSTDIR);
	fn_is(lyr_open(fx.u, "bar/baz", O_RDONLY, 0), "bar/baz");
	fn_is(lyr_open(fx.u, "bar", O_RDONLY | O_DIRECTORY, 0), "bar");
	OK(fx_write("made", O_WRONLY | O_CREAT, "m"));
	fn_is(lyr_open(fx.u, "made", O_RDONLY, 0), "made");
	fn_is(lyr_open(fx.u, "foo", O_RDWR, 0), "foo");
	lyr_destroy(fx.u);
	fx.u = NULL;
	lower = fx_archive();
	fx_union(NULL, &lower, 1, 0);
	fn_is(lyr_open(fx.u, "bar/baz", O_RDONLY, 0), "bar/baz");
}

/*
 * A lower file removed from the view (or hidden, or moved) after it was
 * opened has no name there any more, or a new one: not the name the lower
 * layer still gives it (layer.h: "a current name ... -ENOENT when no name
 * is known").  Fails: the union returns the lower layer's name.
 */
static void fn_gone(int fd, const char *what, const char *moved)
{
	char name[PATH_MAX];
	int r = fn_name(fd, name);

	cr_expect(r == -ENOENT || (r == 0 && moved && !strcmp(name, moved)),
		  "%s: %d \"%s\", want -ENOENT%s%s", what, r, r == 0 ? name : strerror(-r),
		  moved ? " or " : "", moved ? moved : "");
}

UTest(union, fd_name_of_lower_files_gone_from_the_view)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	int foo = lyr_open(fx.u, "foo", O_RDONLY, 0), baz = lyr_open(fx.u, "bar/baz", O_RDONLY, 0);
	OK(foo);
	OK(baz);
	OK(lyr_unlink(fx.u, "foo"));
	fn_gone(foo, "archive, removed", NULL);
	OK(fx_write("foo", O_WRONLY | O_CREAT, "another file"));
	fn_gone(foo, "archive, removed and made again", NULL);
	/* hidden below an opaque directory made over a removed one */
	OK(lyr_unlink(fx.u, "bar/baz"));
	OK(lyr_rmdir(fx.u, "bar"));
	OK(lyr_mkdir(fx.u, "bar", 0755));
	OK(fx_write("bar/baz", O_WRONLY | O_CREAT, "new"));
	fn_gone(baz, "archive, below an opaque directory", NULL);
	close(foo);
	close(baz);
	lyr_destroy(fx.u);
	fx.u = NULL;
	fx_sh("rm -rf upper && mkdir upper");
	fx_std(FX_HOST, FX_HOSTDIR);
	baz = lyr_open(fx.u, "bar/baz", O_RDONLY, 0);
	OK(baz);
	cr_assert_eq(lyr_union_which(fx.u, "bar/baz"), 1);
	OK(lyr_rename(fx.u, "bar/baz", "moved", 0));
	fn_gone(baz, "host directory, moved", "moved");
	OK(lyr_unlink(fx.u, "moved"));
	fn_gone(baz, "host directory, removed", NULL);
	close(baz);
}

/* Two lock fds conflict (flock and OFD locks alike): false when they do
 * not.  Closes c. */
static bool lk_conflict(int a, int c)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	OK(a);
	OK(c);
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
	close(c);
	cr_assert_eq(fr == 0, or == 0, "flock and OFD locks disagree");
	if (fr)
		cr_assert_eq(ferr, EWOULDBLOCK);
	if (or)
		cr_assert_eq(oerr, EAGAIN);
	return fr != 0;
}

/* The names in host directory dir starting with ".wh..wh.", in order. */
static const char *lk_meta_names(const char *dir)
{
	static char out[4096];
	struct dirent *e;
	DIR *d = opendir(dir);

	cr_assert_not_null(d);
	out[0] = '\0';
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, ".wh..wh.", 8) && strlen(out) + strlen(e->d_name) + 2 < sizeof(out)) {
			strcat(out, *out ? " " : "");
			strcat(out, e->d_name);
		}
	closedir(d);
	return out;
}

UTest(union, lock_fd_is_the_upper_layers)
{
	struct lyr_dirlist d;

	fx_std(FX_HOST, FX_ARCHIVE);
	uint64_t key = fx_ino("foo");
	STREQ(lk_meta_names(fx.upper), "");
	int a = lyr_lock_fd(fx.u, key);
	/* one more name in the upper directory, a ".wh..wh." one ... */
	char name[NAME_MAX + 1];
	snprintf(name, sizeof(name), "%s", lk_meta_names(fx.upper));
	cr_assert(name[0] && !strchr(name, ' '), "one lock file: \"%s\"", name);
	/* ... listed neither by the upper layer nor by the union */
	struct lyr_layer *up = fx_hostupper();
	OK(lyr_readdir(up, "", &d));
	cr_assert_eq(d.n, 2, "the upper layer lists only . and ..");
	lyr_dirlist_free(&d);
	ERR(lyr_lookup(up, name, &(struct stat){ 0 }, NULL), ENOENT);
	STREQ(fx_ls_sorted(""), "bar foo");
	/* the same file for another opener of the upper directory and the union */
	cr_assert(lk_conflict(a, lyr_lock_fd(up, key)));
	cr_assert(lk_conflict(a, lyr_lock_fd(fx.u, key)));
	/* the entry's lock before a copy-up is its lock after */
	OK(fx_write("foo", O_WRONLY | O_APPEND, "+"));
	cr_assert_eq(lyr_union_which(fx.u, "foo"), 0);
	cr_assert_eq(fx_ino("foo"), key);
	cr_assert(lk_conflict(a, lyr_lock_fd(fx.u, fx_ino("foo"))));
	STREQ(lk_meta_names(fx.upper), name, "no second lock file");
	OK(lyr_readdir(up, "", &d));
	cr_assert_eq(d.n, 3, "the upper layer lists ., .. and foo");
	cr_assert(!strcmp(d.ents[2].name, "foo"));
	lyr_dirlist_free(&d);
	/* another key, another file */
	cr_assert(!lk_conflict(a, lyr_lock_fd(fx.u, key + 1)));
	cr_assert(strlen(lk_meta_names(fx.upper)) == 2 * strlen(name) + 1);
	close(a);
	lyr_destroy(up);
}

UTest(union, lock_fd_memory_upper_and_read_only_view)
{
	struct lyr_layer *lower;

	fx_std(FX_MEM, FX_ARCHIVE);
	uint64_t key = fx_ino("bar/baz");
	int a = lyr_lock_fd(fx.u, key);
	cr_assert(lk_conflict(a, lyr_lock_fd(fx.u, key)));
	cr_assert(!lk_conflict(a, lyr_lock_fd(fx.u, fx_ino("foo"))));
	close(a);
	STREQ(fx_ls_sorted(""), "bar foo");
	lyr_destroy(fx.u);
	fx.u = NULL;
	lower = fx_archive();
	fx_union(NULL, &lower, 1, 0);
	ERR(lyr_lock_fd(fx.u, key), ENOSYS);
}
