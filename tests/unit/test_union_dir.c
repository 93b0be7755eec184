/* SPDX-License-Identifier: MIT */
/*
 * test_union_dir.c - suite "union_dir" (core/union_dir.c): readdir merge,
 * deletion and whiteouts (seed section 1 rmdir cases, section 2
 * "Deletion and whiteouts"), mkdir, rename, link, symlink, mknod.
 */
#include "test_union.h"

#include <stdlib.h>

TestSuite(union_dir, .init = fx_init, .fini = fx_fini);

/* ---- seed, section 1: rmdir ------------------------------------------- */

UTest(union_dir, seed_rmdir_upper_only_then_enoent)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_mkdir(fx.u, "d", 0755));
	OK(lyr_rmdir(fx.u, "d"));
	ERR(lyr_rmdir(fx.u, "d"), ENOENT);
	ERR(lyr_open(fx.u, "d", O_RDONLY, 0), ENOENT);
	OK(lyr_mkdir(fx.u, "bar/d", 0755));
	OK(lyr_rmdir(fx.u, "bar/d"));
	ERR(lyr_rmdir(fx.u, "bar/d"), ENOENT);
}

UTest(union_dir, seed_rmdir_nonempty_upper_then_emptied)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_mkdir(fx.u, "d", 0755));
	OK(fx_write("d/f", O_WRONLY | O_CREAT, "f"));
	ERR(lyr_rmdir(fx.u, "d"), ENOTEMPTY);
	OK(lyr_unlink(fx.u, "d/f"));
	OK(lyr_rmdir(fx.u, "d"));
}

UTest(union_dir, seed_rmdir_nonempty_lower)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	ERR(lyr_rmdir(fx.u, "bar"), ENOTEMPTY);
	STREQ(fx_ls("bar"), "baz");
	cr_assert_eq(fx_upper_count(""), 0);
}

UTest(union_dir, seed_rmdir_file_enotdir)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	ERR(lyr_rmdir(fx.u, "foo"), ENOTDIR);
	ERR(lyr_rmdir(fx.u, "bar/baz"), ENOTDIR);
	OK(fx_write("up", O_WRONLY | O_CREAT, "u"));
	ERR(lyr_rmdir(fx.u, "up"), ENOTDIR);
}

UTest(union_dir, rmdir_and_unlink_edges)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	ERR(lyr_rmdir(fx.u, ""), EBUSY);
	ERR(lyr_unlink(fx.u, ""), EISDIR);
	ERR(lyr_unlink(fx.u, "bar"), EISDIR);
	ERR(lyr_rmdir(fx.u, "nope"), ENOENT);
	ERR(lyr_unlink(fx.u, "nope"), ENOENT);
	ERR(lyr_unlink(fx.u, "foo/x"), ENOTDIR);
	ERR(lyr_mkdir(fx.u, "", 0755), EEXIST);
}

/* ---- section 2: deletion and whiteouts ---------------------------------- */

UTest(union_dir, readdir_never_lists_deleted)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_unlink(fx.u, "foo"));
	OK(lyr_unlink(fx.u, "bar/baz"));
	STREQ(fx_ls(""), "bar");
	STREQ(fx_ls("bar"), "");
	OK(fx_write("new", O_WRONLY | O_CREAT, "n"));
	OK(lyr_unlink(fx.u, "new"));
	STREQ(fx_ls(""), "bar");
}

UTest(union_dir, deleting_dir_hides_everything_below)
{
	struct stat st;

	fx_sh("mkdir -p src/bar/sub && printf x > src/bar/sub/deep");
	fx_std(FX_HOST, FX_ARCHIVE);
	/* rm -r bar */
	OK(lyr_unlink(fx.u, "bar/sub/deep"));
	OK(lyr_rmdir(fx.u, "bar/sub"));
	OK(lyr_unlink(fx.u, "bar/baz"));
	OK(lyr_rmdir(fx.u, "bar"));
	ERR(fx_stat("bar", &st), ENOENT);
	ERR(fx_stat("bar/baz", &st), ENOENT);
	ERR(fx_stat("bar/sub", &st), ENOENT);
	ERR(fx_stat("bar/sub/deep", &st), ENOENT);
	ERR(lyr_open(fx.u, "bar/baz", O_RDONLY, 0), ENOENT);
	ERR(lyr_readdir(fx.u, "bar", &(struct lyr_dirlist){ 0 }), ENOENT);
	STREQ(fx_ls(""), "foo");
}

UTest(union_dir, rmdir_lower_dir_after_its_entries_deleted)
{
	struct stat st;

	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_unlink(fx.u, "bar/baz"));
	cr_assert(fx_upper_has("bar/.wh.baz"));
	OK(lyr_rmdir(fx.u, "bar"));
	ERR(fx_stat("bar", &st), ENOENT);
	cr_assert(fx_upper_has(".wh.bar"));
	cr_assert(!fx_upper_has("bar"));
}

UTest(union_dir, mkdir_over_deleted_lower_dir_is_empty)
{
	struct stat st;

	fx_std(FX_HOST, FX_ARCHIVE);
	uint64_t old = fx_ino("bar");
	OK(lyr_unlink(fx.u, "bar/baz"));
	OK(lyr_rmdir(fx.u, "bar"));
	OK(lyr_mkdir(fx.u, "bar", 0700));
	STREQ(fx_ls("bar"), "");
	ERR(fx_stat("bar/baz", &st), ENOENT);
	OK(fx_stat("bar", &st));
	cr_assert_eq(st.st_mode & 07777, 0700);
	cr_assert_neq(st.st_ino, old, "a new directory");
	cr_assert(fx_upper_has("bar/.wh..wh..opq"), "opaque");
	cr_assert(!fx_upper_has(".wh.bar"));
	/* the opaque dir stays opaque after more changes */
	OK(fx_write("bar/n", O_WRONLY | O_CREAT, "n"));
	STREQ(fx_ls("bar"), "n");
	fx_check_dinos("");
	fx_check_dinos("bar");
}

UTest(union_dir, mkdir_over_deleted_file_not_opaque)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_unlink(fx.u, "foo"));
	OK(lyr_mkdir(fx.u, "foo", 0755));
	STREQ(fx_ls("foo"), "");
	cr_assert(!fx_upper_has("foo/.wh..wh..opq"));
	OK(lyr_rmdir(fx.u, "foo"));
	ERR(lyr_open(fx.u, "foo", O_RDONLY, 0), ENOENT);
}

UTest(union_dir, failed_mkdir_leaves_nothing)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	ERR(lyr_mkdir(fx.u, "bar", 0755), EEXIST);
	ERR(lyr_mkdir(fx.u, "foo", 0755), EEXIST);
	ERR(lyr_mkdir(fx.u, "bar/baz", 0755), EEXIST);
	ERR(lyr_mkdir(fx.u, "nope/x", 0755), ENOENT);
	ERR(lyr_mkdir(fx.u, "foo/x", 0755), ENOTDIR);
	cr_assert_eq(fx_upper_count(""), 0, "nothing copied up or created");
	STREQ(fx_ls("bar"), "baz");
}

UTest(union_dir, unlink_deleted_path_enoent)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_unlink(fx.u, "foo"));
	ERR(lyr_unlink(fx.u, "foo"), ENOENT);
	OK(lyr_unlink(fx.u, "bar/baz"));
	ERR(lyr_unlink(fx.u, "bar/baz"), ENOENT);
}

UTest(union_dir, chmod_deleted_path_enoent)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_unlink(fx.u, "foo"));
	ERR(lyr_chmod(fx.u, "foo", 0600), ENOENT);
	OK(lyr_unlink(fx.u, "bar/baz"));
	OK(lyr_rmdir(fx.u, "bar"));
	ERR(lyr_chmod(fx.u, "bar", 0700), ENOENT);
	ERR(lyr_chmod(fx.u, "bar/baz", 0700), ENOENT);
}

UTest(union_dir, chown_deleted_path_enoent)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_unlink(fx.u, "foo"));
	ERR(lyr_chown(fx.u, "foo", 1, 1), ENOENT);
	ERR(lyr_utimens(fx.u, "foo", NULL), ENOENT);
	ERR(lyr_truncate(fx.u, "foo", 0), ENOENT);
}

UTest(union_dir, o_creat_deleted_path_creates_empty)
{
	char buf[16];

	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_unlink(fx.u, "foo"));
	int fd = lyr_open(fx.u, "foo", O_RDWR | O_CREAT, 0644);
	OK(fd);
	STREQ(fx_fd_str(fd), "");
	close(fd);
	cr_assert_eq(fx_read("foo", buf, sizeof(buf)), 0);
	cr_assert(!fx_upper_has(".wh.foo"));
	STREQ(fx_ls_sorted(""), "bar foo");
}

UTest(union_dir, o_creat_deleted_path_parent_lower_only)
{
	char buf[16];

	fx_sh("mkdir src/bar/sub && printf old > src/bar/sub/f");
	fx_std(FX_HOST, FX_ARCHIVE);
	cr_assert_eq(lyr_union_which(fx.u, "bar"), 1, "bar only below");
	OK(lyr_unlink(fx.u, "bar/baz"));
	int fd = lyr_open(fx.u, "bar/baz", O_WRONLY | O_CREAT, 0644);
	OK(fd);
	close(fd);
	cr_assert_eq(fx_read("bar/baz", buf, sizeof(buf)), 0);
	/* two levels only below; the deletion copies them up */
	cr_assert_eq(lyr_union_which(fx.u, "bar/sub"), 1);
	OK(lyr_unlink(fx.u, "bar/sub/f"));
	OK(fd = lyr_open(fx.u, "bar/sub/f", O_RDWR | O_CREAT | O_EXCL, 0644));
	close(fd);
	cr_assert_eq(fx_read("bar/sub/f", buf, sizeof(buf)), 0);
	STREQ(fx_ls_sorted("bar"), "baz sub");
	STREQ(fx_ls("bar/sub"), "f");
}

UTest(union_dir, rmdir_upper_only_leaves_no_whiteout)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_mkdir(fx.u, "d", 0755));
	OK(lyr_rmdir(fx.u, "d"));
	cr_assert(!fx_upper_has(".wh.d"));
	cr_assert_eq(fx_upper_count(""), 0);
	OK(lyr_mkdir(fx.u, "d", 0755));
	OK(fx_write("d/f", O_WRONLY | O_CREAT, "f"));
	STREQ(fx_ls("d"), "f");
}

UTest(union_dir, unlink_leaves_whiteout_only_over_lower)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	OK(fx_write("up", O_WRONLY | O_CREAT, "u"));
	OK(lyr_unlink(fx.u, "up"));
	cr_assert(!fx_upper_has(".wh.up"));
	cr_assert(!fx_upper_has("up"));
	OK(fx_write("foo", O_WRONLY | O_APPEND, "x")); /* copied up */
	OK(lyr_unlink(fx.u, "foo"));
	cr_assert(fx_upper_has(".wh.foo"));
	cr_assert(!fx_upper_has("foo"));
}

UTest(union_dir, recreated_then_removed_stays_hidden)
{
	struct stat st;

	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_unlink(fx.u, "foo"));
	OK(fx_write("foo", O_WRONLY | O_CREAT, "new"));
	OK(lyr_unlink(fx.u, "foo"));
	ERR(fx_stat("foo", &st), ENOENT);
	OK(lyr_mkdir(fx.u, "foo", 0755));
	OK(lyr_rmdir(fx.u, "foo"));
	ERR(fx_stat("foo", &st), ENOENT);
	STREQ(fx_ls(""), "bar");
}

/* ---- readdir ------------------------------------------------------------ */

UTest(union_dir, readdir_types)
{
	struct lyr_dirlist d;

	fx_sh("ln -s foo src/lnk && mkfifo src/fifo");
	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_symlink(fx.u, "bar", "ulnk"));
	OK(lyr_mknod(fx.u, "ufifo", S_IFIFO | 0644, 0));
	OK(lyr_readdir(fx.u, "", &d));
	for (size_t i = 0; i < d.n; i++) {
		const char *n = d.ents[i].name;
		unsigned char want = !strcmp(n, "foo") ? DT_REG :
				     !strcmp(n, "lnk") || !strcmp(n, "ulnk") ? DT_LNK :
				     !strcmp(n, "fifo") || !strcmp(n, "ufifo") ? DT_FIFO : DT_DIR;
		cr_expect_eq(d.ents[i].type, want, "%s", n);
	}
	cr_assert_eq(d.n, 8);
	lyr_dirlist_free(&d);
	fx_check_dinos("");
}

UTest(union_dir, readdir_on_file_enotdir)
{
	struct lyr_dirlist d;

	fx_std(FX_HOST, FX_ARCHIVE);
	ERR(lyr_readdir(fx.u, "foo", &d), ENOTDIR);
	ERR(lyr_readdir(fx.u, "nope", &d), ENOENT);
}

UTest(union_dir, readdir_dots)
{
	struct lyr_dirlist d;

	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_readdir(fx.u, "", &d));
	cr_assert_eq(d.ents[0].ino, fx_ino(""));
	cr_assert_eq(d.ents[1].ino, fx_ino(""), "the root's .. is itself");
	lyr_dirlist_free(&d);
	OK(lyr_readdir(fx.u, "bar", &d));
	cr_assert_eq(d.ents[0].ino, fx_ino("bar"));
	cr_assert_eq(d.ents[1].ino, fx_ino(""));
	lyr_dirlist_free(&d);
}

UTest(union_dir, readdir_d_ino_matches_lookup)
{
	fx_sh("mkdir -p src/d1/d2 && printf a > src/d1/a && ln src/foo src/d1/hard");
	fx_std(FX_HOST, FX_ARCHIVE);
	OK(fx_write("foo", O_WRONLY | O_APPEND, "x"));
	OK(fx_write("new", O_WRONLY | O_CREAT, "n"));
	OK(lyr_mkdir(fx.u, "updir", 0755));
	OK(lyr_mkdir(fx.u, "d1/d2/x", 0755));
	OK(lyr_rename(fx.u, "d1/a", "d1/b", 0));
	OK(lyr_link(fx.u, "bar/baz", "bar/baz2"));
	OK(lyr_rename(fx.u, "d1/d2", "d2moved", 0));
	OK(lyr_unlink(fx.u, "d1/hard"));
	fx_check_dinos("");
	fx_check_dinos("bar");
	fx_check_dinos("d1");
	fx_check_dinos("d2moved");
	fx_check_dinos("updir");
}

UTest(union_dir, readdir_order_stable)
{
	char before[2048], after[4096];

	fx_sh("printf 1 > src/one && printf 2 > src/two && printf 3 > src/three");
	fx_std(FX_HOST, FX_ARCHIVE);
	snprintf(before, sizeof(before), "%s", fx_ls(""));
	STREQ(fx_ls(""), before);
	OK(fx_write("two", O_WRONLY | O_APPEND, "x"));
	OK(lyr_chmod(fx.u, "bar", 0700));
	snprintf(after, sizeof(after), "%s", fx_ls(""));
	STREQ(after, before, "copy-up moves no name");
	OK(fx_write("zz-new", O_WRONLY | O_CREAT, "n"));
	snprintf(after, sizeof(after), "%s zz-new", before);
	STREQ(fx_ls(""), after, "new names come after");
}

/* ---- rename ------------------------------------------------------------- */

UTest(union_dir, rename_lower_file)
{
	char buf[16];
	struct stat st;

	fx_std(FX_HOST, FX_ARCHIVE);
	uint64_t ino = fx_ino("foo");
	OK(lyr_rename(fx.u, "foo", "foo2", 0));
	ERR(fx_stat("foo", &st), ENOENT);
	OK(fx_read("foo2", buf, sizeof(buf)));
	STREQ(buf, "testfoo\n");
	cr_assert_eq(fx_ino("foo2"), ino, "rename keeps the ino");
	cr_assert(fx_upper_has(".wh.foo"));
	STREQ(fx_ls_sorted(""), "bar foo2");
}

UTest(union_dir, rename_lower_file_into_lower_dir)
{
	char buf[16];

	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_rename(fx.u, "foo", "bar/foo", 0));
	OK(fx_read("bar/foo", buf, sizeof(buf)));
	STREQ(buf, "testfoo\n");
	STREQ(fx_ls_sorted("bar"), "baz foo");
	STREQ(fx_ls(""), "bar");
}

UTest(union_dir, rename_over_existing_lower_file)
{
	char buf[16];

	fx_std(FX_HOST, FX_ARCHIVE);
	uint64_t ino = fx_ino("foo");
	OK(lyr_rename(fx.u, "foo", "bar/baz", 0));
	OK(fx_read("bar/baz", buf, sizeof(buf)));
	STREQ(buf, "testfoo\n");
	cr_assert_eq(fx_ino("bar/baz"), ino);
	STREQ(fx_ls("bar"), "baz");
	STREQ(fx_ls(""), "bar");
}

UTest(union_dir, rename_over_existing_upper_file)
{
	char buf[16];

	fx_std(FX_HOST, FX_ARCHIVE);
	OK(fx_write("up", O_WRONLY | O_CREAT, "upper"));
	uint64_t ino = fx_ino("up");
	OK(lyr_rename(fx.u, "up", "foo", 0));
	OK(fx_read("foo", buf, sizeof(buf)));
	STREQ(buf, "upper");
	cr_assert_eq(fx_ino("foo"), ino);
	OK(fx_write("up2", O_WRONLY | O_CREAT, "second"));
	OK(lyr_rename(fx.u, "up2", "foo", 0));
	OK(fx_read("foo", buf, sizeof(buf)));
	STREQ(buf, "second");
	STREQ(fx_ls_sorted(""), "bar foo");
	cr_assert(!fx_upper_has(".wh.up2"));
}

UTest(union_dir, rename_lower_dir_content_verified)
{
	char buf[16];
	struct stat st;

	fx_sh("mkdir -p src/bar/sub && printf deep > src/bar/sub/deep && "
	      "ln -s ../foo src/bar/lnk");
	fx_std(FX_HOST, FX_ARCHIVE);
	uint64_t bar = fx_ino("bar"), sub = fx_ino("bar/sub"), deep = fx_ino("bar/sub/deep");
	struct stat before;
	OK(fx_stat("bar", &before));
	OK(lyr_rename(fx.u, "bar", "qux", 0));
	ERR(fx_stat("bar", &st), ENOENT);
	ERR(fx_stat("bar/baz", &st), ENOENT);
	STREQ(fx_ls_sorted("qux"), "baz lnk sub");
	OK(fx_read("qux/baz", buf, sizeof(buf)));
	STREQ(buf, "testbaz\n");
	OK(fx_read("qux/sub/deep", buf, sizeof(buf)));
	STREQ(buf, "deep");
	char t[16] = "";
	cr_assert_eq(lyr_readlink(fx.u, "qux/lnk", t, sizeof(t)), 6);
	STREQ(t, "../foo");
	OK(fx_stat("qux", &st));
	cr_assert_eq(st.st_ino, bar);
	cr_assert_eq(st.st_uid, 1000);
	cr_assert_eq(st.st_mode, before.st_mode);
	cr_assert_eq(fx_ino("qux/sub"), sub);
	cr_assert_eq(fx_ino("qux/sub/deep"), deep);
	cr_assert_eq(lyr_union_which(fx.u, "qux/sub/deep"), 0);
	fx_check_dinos("qux");
	fx_check_dinos("qux/sub");
	STREQ(fx_ls_sorted(""), "foo qux");
}

UTest(union_dir, rename_lower_dir_then_mkdir_old_name_is_empty)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_rename(fx.u, "bar", "qux", 0));
	OK(lyr_mkdir(fx.u, "bar", 0755));
	STREQ(fx_ls("bar"), "");
	STREQ(fx_ls("qux"), "baz");
}

UTest(union_dir, rename_merged_dir_with_deletions)
{
	fx_sh("printf 2 > src/bar/two");
	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_unlink(fx.u, "bar/baz"));
	OK(fx_write("bar/new", O_WRONLY | O_CREAT, "n"));
	OK(lyr_rename(fx.u, "bar", "qux", 0));
	STREQ(fx_ls_sorted("qux"), "new two");
	OK(lyr_rename(fx.u, "qux", "bar", 0));
	STREQ(fx_ls_sorted("bar"), "new two");
	STREQ(fx_ls_sorted(""), "bar foo");
}

UTest(union_dir, rename_dir_over_empty_dir)
{
	fx_sh("mkdir src/empty");
	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_mkdir(fx.u, "d", 0755));
	OK(fx_write("d/f", O_WRONLY | O_CREAT, "f"));
	OK(lyr_rename(fx.u, "d", "empty", 0));
	STREQ(fx_ls("empty"), "f");
	/* over a lower dir whose entries were all deleted */
	OK(lyr_unlink(fx.u, "bar/baz"));
	OK(lyr_rename(fx.u, "empty", "bar", 0));
	STREQ(fx_ls("bar"), "f");
	STREQ(fx_ls(""), "bar foo");
}

UTest(union_dir, rename_dir_over_nonempty_dir)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_mkdir(fx.u, "d", 0755));
	ERR(lyr_rename(fx.u, "d", "bar", 0), ENOTEMPTY);
	STREQ(fx_ls("bar"), "baz");
}

UTest(union_dir, rename_type_mismatch)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	ERR(lyr_rename(fx.u, "bar", "foo", 0), ENOTDIR);
	ERR(lyr_rename(fx.u, "foo", "bar", 0), EISDIR);
	OK(lyr_mkdir(fx.u, "d", 0755));
	ERR(lyr_rename(fx.u, "foo", "d", 0), EISDIR);
	ERR(lyr_rename(fx.u, "d", "bar/baz", 0), ENOTDIR);
}

UTest(union_dir, rename_into_own_subtree)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	ERR(lyr_rename(fx.u, "bar", "bar/sub", 0), EINVAL);
	OK(lyr_mkdir(fx.u, "bar/sub", 0755));
	ERR(lyr_rename(fx.u, "bar", "bar/sub/x", 0), EINVAL);
	ERR(lyr_rename(fx.u, "bar/sub", "bar", 0), ENOTEMPTY);
}

UTest(union_dir, rename_noreplace)
{
	char buf[16];

	fx_std(FX_HOST, FX_ARCHIVE);
	ERR(lyr_rename(fx.u, "foo", "bar/baz", RENAME_NOREPLACE), EEXIST);
	ERR(lyr_rename(fx.u, "foo", "foo", RENAME_NOREPLACE), EEXIST);
	OK(fx_read("bar/baz", buf, sizeof(buf)));
	STREQ(buf, "testbaz\n");
	OK(lyr_rename(fx.u, "foo", "bar/fresh", RENAME_NOREPLACE));
	OK(fx_read("bar/fresh", buf, sizeof(buf)));
	STREQ(buf, "testfoo\n");
	OK(lyr_rename(fx.u, "bar/fresh", "foo", RENAME_NOREPLACE));
	OK(fx_read("foo", buf, sizeof(buf)));
	STREQ(buf, "testfoo\n");
}

UTest(union_dir, rename_exchange)
{
	char buf[16];
	struct stat st;

	fx_std(FX_HOST, FX_ARCHIVE);
	uint64_t foo = fx_ino("foo"), bar = fx_ino("bar");
	OK(lyr_rename(fx.u, "foo", "bar", RENAME_EXCHANGE));
	OK(fx_stat("foo", &st));
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(st.st_ino, bar);
	STREQ(fx_ls("foo"), "baz");
	OK(fx_read("foo/baz", buf, sizeof(buf)));
	STREQ(buf, "testbaz\n");
	OK(fx_read("bar", buf, sizeof(buf)));
	STREQ(buf, "testfoo\n");
	cr_assert_eq(fx_ino("bar"), foo);
	ERR(lyr_rename(fx.u, "foo", "nope", RENAME_EXCHANGE), ENOENT);
	ERR(lyr_rename(fx.u, "foo", "bar", RENAME_EXCHANGE | RENAME_NOREPLACE), EINVAL);
	ERR(lyr_rename(fx.u, "foo", "bar", 0x8000), EINVAL);
	fx_check_dinos("");
}

UTest(union_dir, rename_errors_and_same_name)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	ERR(lyr_rename(fx.u, "nope", "x", 0), ENOENT);
	ERR(lyr_rename(fx.u, "foo", "nodir/x", 0), ENOENT);
	ERR(lyr_rename(fx.u, "foo", "foo/x", 0), ENOTDIR);
	ERR(lyr_rename(fx.u, "", "x", 0), EBUSY);
	OK(lyr_rename(fx.u, "foo", "foo", 0));
	cr_assert_eq(lyr_union_which(fx.u, "foo"), 1, "nothing copied up");
	cr_assert_eq(fx_upper_count(""), 0);
}

UTest(union_dir, rename_upper_dir_over_deleted_lower_dir)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_mkdir(fx.u, "d", 0755));
	OK(fx_write("d/x", O_WRONLY | O_CREAT, "x"));
	OK(lyr_unlink(fx.u, "bar/baz"));
	OK(lyr_rmdir(fx.u, "bar"));
	OK(lyr_rename(fx.u, "d", "bar", 0));
	STREQ(fx_ls("bar"), "x", "the old lower content stays gone");
	STREQ(fx_ls_sorted(""), "bar foo");
}

UTest(union_dir, rename_file_then_back)
{
	char buf[16];

	fx_std(FX_HOST, FX_ARCHIVE);
	uint64_t ino = fx_ino("bar/baz");
	OK(lyr_rename(fx.u, "bar/baz", "baz", 0));
	OK(lyr_rename(fx.u, "baz", "bar/baz", 0));
	OK(fx_read("bar/baz", buf, sizeof(buf)));
	STREQ(buf, "testbaz\n");
	cr_assert_eq(fx_ino("bar/baz"), ino);
	STREQ(fx_ls("bar"), "baz");
	STREQ(fx_ls_sorted(""), "bar foo");
	cr_assert(!fx_upper_has(".wh.baz"));
}

UTest(union_dir, rename_upper_file_keeps_ino)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	OK(fx_write("a", O_WRONLY | O_CREAT, "a"));
	uint64_t ino = fx_ino("a");
	OK(lyr_rename(fx.u, "a", "bar/b", 0));
	cr_assert_eq(fx_ino("bar/b"), ino);
	cr_assert(!fx_upper_has(".wh.a"));
}

/* ---- link, symlink, mknod ------------------------------------------------ */

UTest(union_dir, link_lower_file_shares_ino)
{
	struct stat a, b;
	char buf[16];

	fx_std(FX_HOST, FX_ARCHIVE);
	uint64_t ino = fx_ino("foo");
	OK(lyr_link(fx.u, "foo", "bar/foo2"));
	OK(fx_stat("foo", &a));
	OK(fx_stat("bar/foo2", &b));
	cr_assert_eq(a.st_ino, ino);
	cr_assert_eq(b.st_ino, ino);
	cr_assert_eq(a.st_nlink, 2);
	cr_assert_eq(b.st_nlink, 2);
	OK(fx_write("bar/foo2", O_WRONLY | O_APPEND, "x"));
	OK(fx_read("foo", buf, sizeof(buf)));
	STREQ(buf, "testfoo\nx");
	fx_check_dinos("");
	fx_check_dinos("bar");
}

UTest(union_dir, link_errors)
{
	fx_std(FX_HOST, FX_ARCHIVE);
	ERR(lyr_link(fx.u, "bar", "bar2"), EPERM);
	ERR(lyr_link(fx.u, "foo", "bar/baz"), EEXIST);
	ERR(lyr_link(fx.u, "nope", "x"), ENOENT);
	ERR(lyr_link(fx.u, "foo", "nodir/x"), ENOENT);
	cr_assert_eq(fx_upper_count(""), 0);
}

UTest(union_dir, symlink_and_readlink)
{
	char buf[64] = "";
	struct stat st;

	fx_sh("ln -s bar/baz src/lowlink");
	fx_std(FX_HOST, FX_ARCHIVE);
	cr_assert_eq(lyr_readlink(fx.u, "lowlink", buf, sizeof(buf)), 7);
	STREQ(buf, "bar/baz");
	OK(lyr_symlink(fx.u, "../foo", "bar/up"));
	memset(buf, 0, sizeof(buf));
	cr_assert_eq(lyr_readlink(fx.u, "bar/up", buf, sizeof(buf)), 6);
	STREQ(buf, "../foo");
	OK(fx_stat("bar/up", &st));
	cr_assert(S_ISLNK(st.st_mode));
	ERR(lyr_readlink(fx.u, "foo", buf, sizeof(buf)), EINVAL);
	ERR(lyr_symlink(fx.u, "x", "foo"), EEXIST);
	ERR(lyr_open(fx.u, "lowlink", O_RDONLY, 0), ELOOP);
	/* a lower symlink copied up (chown) keeps its target */
	OK(lyr_chown(fx.u, "lowlink", 55, 55));
	cr_assert_eq(lyr_union_which(fx.u, "lowlink"), 0);
	OK(fx_stat("lowlink", &st));
	cr_assert(S_ISLNK(st.st_mode));
	cr_assert_eq(st.st_uid, 55);
	memset(buf, 0, sizeof(buf));
	cr_assert_eq(lyr_readlink(fx.u, "lowlink", buf, sizeof(buf)), 7);
	STREQ(buf, "bar/baz");
}

UTest(union_dir, mknod_fifo)
{
	struct stat st;

	fx_std(FX_HOST, FX_ARCHIVE);
	OK(lyr_mknod(fx.u, "bar/fifo", S_IFIFO | 0640, 0));
	OK(fx_stat("bar/fifo", &st));
	cr_assert(S_ISFIFO(st.st_mode));
	ERR(lyr_mknod(fx.u, "foo", S_IFIFO | 0640, 0), EEXIST);
	STREQ(fx_ls_sorted("bar"), "baz fifo");
}

/* ---- differential: the view against a plain directory --------------------- */

/*
 * Random operations on a small namespace run on the union and, with the
 * real system calls, on "ref", a plain copy of the lower tree.  Results
 * (0 or the errno) must agree, and after every step the two trees must
 * hold the same names, types, modes, sizes and contents; inode numbers
 * must group names exactly as ref's hard links do, survive copy-up and
 * rename, and match readdir's d_ino.
 */
struct diff {
	int ref;            /* fd of the reference directory */
	unsigned seed;
	int step;
	char why[256];
};

static const char *diff_path(struct diff *d, char *buf)
{
	static const char *names[] = { "a", "b", "c", "d" };
	int depth = 1 + rand_r(&d->seed) % 3;

	buf[0] = '\0';
	for (int i = 0; i < depth; i++) {
		if (i)
			strcat(buf, "/");
		strcat(buf, names[rand_r(&d->seed) % 4]);
	}
	return buf;
}

static int diff_sys(int r)
{
	return r < 0 ? -errno : 0;
}

/* Writes data to p opened with flags in both; returns both results. */
static void diff_write(struct diff *d, const char *p, int flags, const char *data,
		       int *rr, int *ru)
{
	int fd = openat(d->ref, p, flags | O_CLOEXEC | O_NOFOLLOW, 0644);

	*rr = fd < 0 ? -errno : 0;
	if (fd >= 0) {
		if (write(fd, data, strlen(data)) < 0)
			*rr = -errno;
		close(fd);
	}
	fd = lyr_open(fx.u, p, flags, 0644);
	*ru = fd < 0 ? fd : 0;
	if (fd >= 0) {
		if (write(fd, data, strlen(data)) < 0)
			*ru = -errno;
		close(fd);
	}
}

/* One random operation; asserts both sides agree. */
static void diff_step(struct diff *d)
{
	char a[64], b[64], data[32];
	int op = rand_r(&d->seed) % 12, rr = 0, ru = 0;
	unsigned flags = 0;
	struct stat st;
	uint64_t ino_before = 0;

	diff_path(d, a);
	diff_path(d, b);
	snprintf(data, sizeof(data), "s%d-%u;", d->step, rand_r(&d->seed) % 1000);
	switch (op) {
	case 0:
	case 1:
		diff_write(d, a, O_WRONLY | O_CREAT | (op ? O_APPEND : O_TRUNC), data, &rr, &ru);
		break;
	case 2:
		ino_before = fx_ino(a);
		diff_write(d, a, O_RDWR, data, &rr, &ru);
		if (ru == 0)
			cr_assert_eq(fx_ino(a), ino_before, "step %d: write kept %s's ino", d->step, a);
		break;
	case 3:
		rr = diff_sys(unlinkat(d->ref, a, 0));
		ru = lyr_unlink(fx.u, a);
		break;
	case 4:
		rr = diff_sys(mkdirat(d->ref, a, 0755));
		ru = lyr_mkdir(fx.u, a, 0755);
		break;
	case 5:
		rr = diff_sys(unlinkat(d->ref, a, AT_REMOVEDIR));
		ru = lyr_rmdir(fx.u, a);
		break;
	case 6:
	case 7:
		flags = (unsigned[]){ 0, 0, RENAME_NOREPLACE, RENAME_EXCHANGE }[rand_r(&d->seed) % 4];
		ino_before = fx_ino(a);
		rr = diff_sys(renameat2(d->ref, a, d->ref, b, flags));
		ru = lyr_rename(fx.u, a, b, flags);
		if (ru == 0 && strcmp(a, b))
			cr_assert_eq(fx_ino(b), ino_before, "step %d: rename %s %s kept the ino",
				     d->step, a, b);
		break;
	case 8:
		rr = diff_sys(linkat(d->ref, a, d->ref, b, 0));
		ru = lyr_link(fx.u, a, b);
		break;
	case 9: {
		off_t len = rand_r(&d->seed) % 12;
		int fd = openat(d->ref, a, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		rr = fd < 0 ? -errno : diff_sys(ftruncate(fd, len));
		if (fd >= 0)
			close(fd);
		ino_before = fx_ino(a);
		ru = lyr_truncate(fx.u, a, len);
		if (ru == 0)
			cr_assert_eq(fx_ino(a), ino_before);
		break;
	}
	case 11:
		diff_write(d, a, O_WRONLY | O_CREAT | O_EXCL, data, &rr, &ru);
		break;
	default: {
		mode_t m = (mode_t[]){ 0700, 0755, 0600, 0644 }[rand_r(&d->seed) % 4];
		if (fstatat(d->ref, a, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
			m |= 0700; /* keep the tree walkable */
		rr = diff_sys(fchmodat(d->ref, a, m, 0));
		ru = lyr_chmod(fx.u, a, m);
		break;
	}
	}
	cr_assert_eq(ru, rr, "step %d: op %d (%s, %s, flags %u): union %d (%s), linux %d (%s)",
		     d->step, op, a, b, flags, ru, strerror(-ru), rr, strerror(-rr));
}

struct diff_ino {
	uint64_t ref, view;
	bool dir;
};

/* Compares directory p of both trees, recursively; collects inode pairs. */
static void diff_tree(struct diff *d, const char *p, struct diff_ino *inos, int *n)
{
	char names[2][4096], child[256], bu[64], br[64];
	struct lyr_dirlist l;
	int rfd = openat(d->ref, *p ? p : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = fdopendir(rfd);
	char *list[64];
	int k = 0;
	struct dirent *e;

	cr_assert(dir);
	while ((e = readdir(dir)) && k < 64)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			list[k++] = strdup(e->d_name);
	closedir(dir);
	for (int i = 0; i < k; i++)
		for (int j = i + 1; j < k; j++)
			if (strcmp(list[i], list[j]) > 0) {
				char *t = list[i];
				list[i] = list[j];
				list[j] = t;
			}
	names[0][0] = '\0';
	for (int i = 0; i < k; i++) {
		if (i)
			strcat(names[0], " ");
		strcat(names[0], list[i]);
	}
	snprintf(names[1], sizeof(names[1]), "%s", fx_ls_sorted(p));
	cr_assert(!strcmp(names[1], names[0]), "step %d: listing of '%s': union '%s', linux '%s'",
		  d->step, p, names[1], names[0]);
	OK(lyr_readdir(fx.u, p, &l));
	for (int i = 0; i < k; i++) {
		struct stat rs, us;
		snprintf(child, sizeof(child), "%s%s%s", p, *p ? "/" : "", list[i]);
		cr_assert(fstatat(d->ref, child, &rs, AT_SYMLINK_NOFOLLOW) == 0);
		OK(fx_stat(child, &us));
		cr_assert_eq(us.st_mode, rs.st_mode, "step %d: mode of %s", d->step, child);
		for (size_t j = 2; j < l.n; j++)
			if (!strcmp(l.ents[j].name, list[i]))
				cr_assert_eq(l.ents[j].ino, us.st_ino, "step %d: d_ino of %s",
					     d->step, child);
		inos[*n].ref = rs.st_ino;
		inos[*n].view = us.st_ino;
		inos[(*n)++].dir = S_ISDIR(rs.st_mode);
		if (S_ISDIR(rs.st_mode)) {
			diff_tree(d, child, inos, n);
		} else {
			cr_assert_eq(us.st_size, rs.st_size, "step %d: size of %s", d->step, child);
			int fd = openat(d->ref, child, O_RDONLY | O_CLOEXEC);
			ssize_t nr = pread(fd, br, sizeof(br) - 1, 0);
			close(fd);
			br[nr > 0 ? nr : 0] = '\0';
			cr_assert(fx_read(child, bu, sizeof(bu)) >= 0);
			cr_assert(!strcmp(bu, br), "step %d: content of %s: union '%s', linux '%s'",
				  d->step, child, bu, br);
		}
		free(list[i]);
	}
	lyr_dirlist_free(&l);
}

static void diff_check(struct diff *d)
{
	struct diff_ino inos[512];
	int n = 0;

	diff_tree(d, "", inos, &n);
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			cr_assert_eq(inos[i].ref == inos[j].ref, inos[i].view == inos[j].view,
				     "step %d: inode numbers group names as hard links do",
				     d->step);
}

static void diff_run(unsigned seed, int steps)
{
	struct diff d = { .seed = seed };
	char ref[700];

	snprintf(ref, sizeof(ref), "%s/ref", fx.root);
	fx_sh("cp -a src ref");
	d.ref = open(ref, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert(d.ref >= 0);
	diff_check(&d);
	for (d.step = 0; d.step < steps; d.step++) {
		diff_step(&d);
		diff_check(&d);
	}
	close(d.ref);
}

static void diff_seed_tree(void)
{
	fx_sh("mkdir -p src/a/b src/b/c src/c && printf A > src/a/a && printf B > src/a/b/b && "
	      "printf C > src/b/c/d && printf D > src/d && chmod 0644 src/a/a src/d");
}

UTest(union_dir, differential_host_upper_over_archive)
{
	diff_seed_tree();
	fx_std(FX_HOST, FX_ARCHIVE);
	diff_run(1, 1000);
}

UTest(union_dir, differential_mem_upper_over_archive)
{
	diff_seed_tree();
	fx_std(FX_MEM, FX_ARCHIVE);
	diff_run(2, 1000);
}

UTest(union_dir, differential_host_upper_over_host_lower)
{
	diff_seed_tree();
	fx_std(FX_HOST, FX_HOSTDIR);
	diff_run(3, 1000);
}

UTest(union_dir, differential_three_layers)
{
	struct lyr_layer *lowers[2];
	char mid[700];

	diff_seed_tree();
	/* mid: a copy of part of src over the archive, hiding b/c */
	fx_sh("mkdir -p mid/b/c && printf M > mid/c2 && touch mid/b/c/.wh..wh..opq && "
	      "cp -a src/d mid/d && printf X > src-extra && touch mid/.wh.zz");
	snprintf(mid, sizeof(mid), "%s/mid", fx.root);
	lowers[0] = fx_hostdir(mid, LYR_HOST_RDONLY);
	lowers[1] = fx_archive();
	fx_union(fx_hostupper(), lowers, 2, 0);
	/* the reference is what the view shows at the start */
	fx_sh("rm -rf src/b/c/d && cp mid/c2 src/c2 && cp -a mid/d src/d");
	fx.check_sum = false; /* src was changed to build the reference */
	diff_run(4, 1000);
}
