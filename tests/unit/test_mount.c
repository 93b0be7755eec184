/* SPDX-License-Identifier: MIT */
/*
 * test_mount.c - suite "mount" (core/mount.c): lyr_mount_resolve, a union
 * seen at a host path, as the kernel would show it mounted there.
 *
 * The fixture is the union suites' (test_union.h; made here without a
 * shell, to keep the suite fast) plus a host tree beside the seed in the
 * test's mkdtemp directory R (its canonical path):
 *
 *   R/alnk -> M                 an absolute host symlink beside a parent
 *   R/host/                     the mount point's parent
 *   R/host/mnt/ = M             the mount point; on the host it holds
 *                               "hidden", which the view hides
 *   R/host/mntx/f               a sibling whose name starts with "mnt"
 *   R/host/sib/f, R/host/sibfile
 *   R/host/lnk -> mnt/bar       a relative host symlink into the view
 *   R/host/mlnk -> mnt          ... to the mount point itself
 *   R/far/dir/file              far from the mount point
 *   R/far/dir/dlnk -> M/bar     a deep host symlink into the view
 *
 * and in the view (the seed's lower layer): out -> R/host/sib (a host
 * path), in -> M/bar (under the mount point), up -> ../sib (climbs out),
 * root -> M, farln -> ../../far/dir, fln -> foo; and big, a member
 * over 64 KiB.
 *
 * Divisions:
 *   1. fixture and checks
 *   2. paths into the view, "//", "." and ".."
 *   3. the border crossed both ways: "..", host and view symlinks
 *   4. relative paths (struct lyr_at), trailing slashes, errors, loops
 *   5. /proc and /dev/fd: the subject, the magic callback
 *   6. /proc/self/fd/N of the union's own files (lyr_fd_name)
 *   7. what only the host resolves
 */
#include "test_union.h"

#include <archive.h>
#include <archive_entry.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>

/* ---- 1. fixture and checks -------------------------------------------- */

static char R[PATH_MAX];     /* realpath of fx.root */
static char M[PATH_MAX];     /* R/host/mnt, the mount point */
static struct lyr_mount Mnt;
static struct lyr_found F;   /* the last resolution's */

static void mt_init(void);
static void mt_fini(void);

TestSuite(mount, .init = mt_init, .fini = mt_fini);

/* A path built with printf (one of 8 rotating buffers). */
__attribute__((format(printf, 1, 2)))
static const char *P(const char *fmt, ...)
{
	static char bufs[8][PATH_MAX];
	static int i;
	char *b = bufs[i++ % 8];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(b, PATH_MAX, fmt, ap);
	va_end(ap);
	cr_assert(n > 0 && n < PATH_MAX);
	return b;
}

/* In the test's directory (without a shell: these tests stay fast). */
static void mt_dir(const char *rel)
{
	cr_assert_eq(mkdir(P("%s/%s", R, rel), 0755), 0, "mkdir %s: %s", rel, strerror(errno));
}

static void mt_file(const char *rel, const char *data)
{
	int fd = open(P("%s/%s", R, rel), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	cr_assert_geq(fd, 0, "create %s: %s", rel, strerror(errno));
	cr_assert_eq(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

static void mt_ln(const char *target, const char *rel)
{
	cr_assert_eq(symlink(target, P("%s/%s", R, rel)), 0, "symlink %s: %s", rel,
		     strerror(errno));
}

/*
 * The union suites' fixture (fx_init, fx_fini, and the seed.tar that
 * fx_archive makes when there is none) without a shell: the same seed
 * tree, its archive written with libarchive.  R and M are set here.
 */
static void mt_init(void)
{
	const char *tmp = getenv("TMPDIR");

	memset(&fx, 0, sizeof(fx));
	snprintf(fx.root, sizeof(fx.root), "%s/lyr-mount-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	cr_assert(mkdtemp(fx.root), "mkdtemp: %s", strerror(errno));
	chmod(fx.root, 0755);
	snprintf(fx.src, sizeof(fx.src), "%s/src", fx.root);
	snprintf(fx.tar, sizeof(fx.tar), "%s/seed.tar", fx.root);
	snprintf(fx.upper, sizeof(fx.upper), "%s/upper", fx.root);
	snprintf(fx.cache, sizeof(fx.cache), "%s/cache", fx.root);
	char *rp = realpath(fx.root, NULL);
	cr_assert_not_null(rp);
	cr_assert_lt(strlen(rp), 512);
	snprintf(R, sizeof(R), "%s", rp);
	free(rp);
	cr_assert_lt(snprintf(M, sizeof(M), "%.512s/host/mnt", R), (int)sizeof(M));
	mt_dir("src");
	mt_dir("src/bar");
	mt_dir("upper");
	mt_dir("cache");
	mt_file("src/foo", "testfoo\n");
	mt_file("src/bar/baz", "testbaz\n");
	cr_assert_eq(chmod(fx.src, 0755) | chmod(P("%s/bar", fx.src), 0755) |
		     chmod(P("%s/foo", fx.src), 0644) | chmod(P("%s/bar/baz", fx.src), 0644), 0);
}

static int mt_unprotect(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)f;
	if (type == FTW_D)
		chmod(path, (st->st_mode & 07777) | 0700);
	return 0;
}

static int mt_remove(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	if ((type == FTW_DP ? rmdir(path) : unlink(path)) < 0)
		cr_log_warn("could not remove %s: %s", path, strerror(errno));
	return 0;
}

static void mt_fini(void)
{
	if (fx.u)
		lyr_destroy(fx.u);
	fx.u = NULL;
	if (fx.root[0]) {
		nftw(fx.root, mt_unprotect, 16, FTW_PHYS);
		nftw(fx.root, mt_remove, 16, FTW_DEPTH | FTW_PHYS);
	}
}

static struct archive *mt_ar;

/* One entry of src into seed.tar, owned by 1000:1000 as fx_archive's. */
static int mt_tar_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	struct archive_entry *e;
	char buf[1 << 17];
	ssize_t n = 0;

	(void)type;
	if (f->level == 0)
		return 0;
	cr_assert_not_null(e = archive_entry_new());
	archive_entry_copy_stat(e, st);
	archive_entry_set_pathname(e, path + strlen(fx.src) + 1);
	archive_entry_set_uid(e, 1000);
	archive_entry_set_gid(e, 1000);
	if (S_ISLNK(st->st_mode)) {
		n = readlink(path, buf, sizeof(buf) - 1);
		cr_assert_gt(n, 0);
		buf[n] = '\0';
		archive_entry_set_symlink(e, buf);
	} else if (S_ISREG(st->st_mode)) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		cr_assert_geq(fd, 0);
		n = read(fd, buf, sizeof(buf));
		close(fd);
		cr_assert_eq(n, st->st_size, "%s: one read", path);
	}
	if (!S_ISREG(st->st_mode))
		archive_entry_set_size(e, 0);
	cr_assert_eq(archive_write_header(mt_ar, e), ARCHIVE_OK, "%s",
		     archive_error_string(mt_ar));
	if (S_ISREG(st->st_mode) && n)
		cr_assert_eq(archive_write_data(mt_ar, buf, (size_t)n), n);
	archive_entry_free(e);
	return 0;
}

/* seed.tar, made of src. */
static void mt_tar(void)
{
	cr_assert_not_null(mt_ar = archive_write_new());
	cr_assert_eq(archive_write_set_format_pax_restricted(mt_ar), ARCHIVE_OK);
	cr_assert_eq(archive_write_add_filter_none(mt_ar), ARCHIVE_OK);
	cr_assert_eq(archive_write_open_filename(mt_ar, fx.tar), ARCHIVE_OK);
	cr_assert_eq(nftw(fx.src, mt_tar_one, 16, FTW_PHYS), 0);
	cr_assert_eq(archive_write_close(mt_ar), ARCHIVE_OK);
	archive_write_free(mt_ar);
	mt_ar = NULL;
}

/* The host tree and the view's extra symlinks (before the union opens). */
static void mt_tree(void)
{
	mt_dir("host");
	mt_dir("host/mnt");
	mt_dir("host/mntx");
	mt_dir("host/sib");
	mt_dir("far");
	mt_dir("far/dir");
	mt_file("host/mnt/hidden", "hidden\n");
	mt_file("host/mntx/f", "x\n");
	mt_file("host/sib/f", "sibf\n");
	mt_file("host/sibfile", "sf\n");
	mt_file("far/dir/file", "ff\n");
	mt_ln("mnt/bar", "host/lnk");
	mt_ln("mnt", "host/mlnk");
	mt_ln(M, "alnk");
	mt_ln(P("%s/bar", M), "far/dir/dlnk");
	mt_ln(P("%s/host/sib", R), "src/out");
	mt_ln(P("%s/bar", M), "src/in");
	mt_ln("../sib", "src/up");
	mt_ln(M, "src/root");
	mt_ln("../../far/dir", "src/farln");
	mt_ln("foo", "src/fln");
	char big[70001];
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	mt_file("src/big", big);
}

/* The tree, a union of that kind in fx.u, and Mnt over it at M. */
static void mt_open(enum fx_upper up, enum fx_lower low)
{
	mt_tree();
	if (low == FX_ARCHIVE)
		mt_tar();
	fx_std(up, low);
	Mnt = (struct lyr_mount){ .fs = fx.u, .path = M, .len = strlen(M) };
}

static int mt_res(const struct lyr_at *at, const char *path, unsigned flags)
{
	memset(&F, 0, sizeof(F));
	strcpy(F.path, "(unset)");
	F.res = -99;
	return lyr_mount_resolve(&Mnt, at, path, flags, &F);
}

/* F.st is the view's stat of lp, as lyr_lookup on the union gives it. */
static void mt_same_stat(const char *lp)
{
	struct stat st;

	OK(fx_stat(lp, &st));
	cr_assert_eq(F.st.st_ino, st.st_ino, "%s: ino", lp);
	cr_assert_eq(F.st.st_dev, st.st_dev, "%s: dev", lp);
	cr_assert_eq(F.st.st_mode, st.st_mode, "%s: mode", lp);
	cr_assert_eq(F.st.st_size, st.st_size, "%s: size", lp);
	cr_assert_eq(F.st.st_nlink, st.st_nlink, "%s: nlink", lp);
	cr_assert_eq(F.st.st_uid, st.st_uid, "%s: uid", lp);
	cr_assert_eq(F.st.st_mtim.tv_sec, st.st_mtim.tv_sec, "%s: mtime", lp);
}

/* path (from at) is layer path lp of the view, res 0 or MISSING. */
static void mt_view_at(const struct lyr_at *at, const char *path, unsigned flags,
		       const char *lp, int res)
{
	int r = mt_res(at, path, flags);

	cr_assert_eq(r, LYR_IN_VIEW, "\"%s\" (flags %u): %d (%s), want the view's \"%s\"",
		     path, flags, r, r < 0 ? strerror(-r) : F.path, lp);
	cr_assert(!strcmp(F.path, lp), "\"%s\" (flags %u): \"%s\", want \"%s\"", path, flags,
		  F.path, lp);
	cr_assert_eq(F.res, res, "\"%s\": res %d, want %d", path, F.res, res);
	if (res == 0)
		mt_same_stat(lp);
	else
		ERR(fx_stat(lp, &(struct stat){ 0 }), ENOENT);
}

/* path (from at) is the host path host, with res. */
static void mt_host_at(const struct lyr_at *at, const char *path, unsigned flags,
		       const char *host, int res)
{
	int r = mt_res(at, path, flags);

	cr_assert_eq(r, LYR_ON_HOST, "\"%s\" (flags %u): %d (%s), want the host's \"%s\"",
		     path, flags, r, r < 0 ? strerror(-r) : F.path, host);
	cr_assert(!strcmp(F.path, host), "\"%s\" (flags %u): \"%s\", want \"%s\"", path,
		  flags, F.path, host);
	cr_assert_eq(F.res, res, "\"%s\": res %d, want %d", path, F.res, res);
}

static void mt_err_at(const struct lyr_at *at, const char *path, unsigned flags, int e)
{
	int r = mt_res(at, path, flags);

	cr_assert_eq(r, -e, "\"%s\" (flags %u): %d (%s), want -%d (%s)", path, flags, r,
		     r < 0 ? strerror(-r) : F.path, e, strerror(e));
}

#define FOL LYR_RESOLVE_FOLLOW
#define MISSING LYR_RESOLVE_MISSING

static void mt_view(const char *path, unsigned flags, const char *lp, int res)
{
	mt_view_at(NULL, path, flags, lp, res);
}

static void mt_host(const char *path, unsigned flags, const char *host, int res)
{
	mt_host_at(NULL, path, flags, host, res);
}

static void mt_err(const char *path, unsigned flags, int e)
{
	mt_err_at(NULL, path, flags, e);
}

/* ---- 2. paths into the view, "//", "." and ".." ------------------------ */

UTest(mount, plain_paths_into_view)
{
	char buf[32];

	mt_open(FX_HOST, FX_ARCHIVE);
	mt_view(M, 0, "", 0);
	mt_view(P("%s/", M), 0, "", 0);
	mt_view(P("%s/foo", M), 0, "foo", 0);
	mt_view(P("%s/bar", M), 0, "bar", 0);
	mt_view(P("%s/bar/baz", M), FOL, "bar/baz", 0);
	mt_view(P("%s/nope", M), 0, "nope", MISSING);
	mt_view(P("%s/bar/nope", M), FOL, "bar/nope", MISSING);
	/* the host's own file at the mount point is hidden by the view */
	mt_view(P("%s/hidden", M), 0, "hidden", MISSING);
	/* the last symlink: itself, or followed */
	mt_view(P("%s/fln", M), 0, "fln", 0);
	cr_assert(S_ISLNK(F.st.st_mode));
	mt_view(P("%s/fln", M), FOL, "foo", 0);
	cr_assert(S_ISREG(F.st.st_mode));
	/* an upper entry, and a lower one copied up */
	OK(fx_write("made", O_WRONLY | O_CREAT, "m"));
	mt_view(P("%s/made", M), 0, "made", 0);
	OK(fx_write("bar/baz", O_WRONLY | O_APPEND, "+"));
	mt_view(P("%s/bar/baz", M), 0, "bar/baz", 0);
	cr_assert_eq(F.st.st_size, 9);
	/* f is ready for lyr_union_open_found */
	mt_view(P("%s/foo", M), 0, "foo", 0);
	int layer = -1, fd = lyr_union_open_found(fx.u, &F, O_RDONLY, 0, &layer, NULL);
	OK(fd);
	cr_assert_eq(layer, 1);
	STREQ(fx_fd_str(fd), "testfoo\n");
	close(fd);
	mt_view(P("%s/new", M), 0, "new", MISSING);
	OK(fd = lyr_union_open_found(fx.u, &F, O_WRONLY | O_CREAT, 0644, &layer, NULL));
	close(fd);
	cr_assert_eq(layer, 0);
	OK(fx_read("new", buf, sizeof(buf)));
}

UTest(mount, slashes_and_dots_around_the_mount_point)
{
	mt_open(FX_HOST, FX_ARCHIVE);
	/* "//" before and after */
	mt_view(P("/%s//host///mnt//bar//baz", R), 0, "bar/baz", 0);
	mt_view(P("%s//", M), 0, "", 0);
	mt_view(P("%s//bar//", M), 0, "bar", 0);
	/* "/./" before and after */
	mt_view(P("%s/./host/./mnt/./bar/./baz", R), 0, "bar/baz", 0);
	mt_view(P("%s/.", M), 0, "", 0);
	mt_view(P("%s/bar/.", M), 0, "bar", 0);
	/* "dir/../" before and after */
	mt_view(P("%s/host/sib/../mnt/foo", R), 0, "foo", 0);
	mt_view(P("%s/far/dir/../../host/mnt/foo", R), 0, "foo", 0);
	mt_view(P("%s/bar/../bar/baz", M), 0, "bar/baz", 0);
	mt_view(P("%s/bar/..", M), 0, "", 0);
	mt_view(P("%s/bar/../nope", M), 0, "nope", MISSING);
	/* ".." over a missing directory or a file fails, as in the kernel */
	mt_err(P("%s/nope/../foo", M), 0, ENOENT);
	mt_err(P("%s/foo/../bar", M), 0, ENOTDIR);
	/* "/.." is "/" */
	mt_view(P("/../..%s/bar", M), 0, "bar", 0);
}

/* ---- 3. the border crossed both ways ------------------------------------ */

UTest(mount, dotdot_climbs_out_and_back_in)
{
	mt_open(FX_HOST, FX_ARCHIVE);
	mt_host(P("%s/..", M), 0, P("%s/host", R), 0);
	mt_host(P("%s/../sib", M), 0, P("%s/host/sib", R), 0);
	mt_host(P("%s/../sib/f", M), 0, P("%s/host/sib/f", R), 0);
	mt_host(P("%s/bar/../../sibfile", M), 0, P("%s/host/sibfile", R), 0);
	mt_host(P("%s/../../far", M), 0, P("%s/far", R), 0);
	mt_host(P("%s/../mntx/f", M), 0, P("%s/host/mntx/f", R), 0);
	/* and back in */
	mt_view(P("%s/../mnt", M), 0, "", 0);
	mt_view(P("%s/../mnt/bar/baz", M), 0, "bar/baz", 0);
	mt_view(P("%s/bar/../../../host/mnt/foo", M), 0, "foo", 0);
	mt_view(P("%s/../sib/../mnt/./bar/../foo", M), 0, "foo", 0);
	/* a host path the view's ".." leaves for is the host's: missing is
	 * the kernel's to say */
	mt_host(P("%s/../nope", M), 0, P("%s/host/nope", R), 0);
	/* ".." below a file fails, on either side */
	mt_err(P("%s/host/sibfile/../mnt", R), 0, ENOTDIR);
	mt_err(P("%s/far/dir/file/../../../host/mnt", R), 0, ENOTDIR);
	mt_err(P("%s/../sibfile/../mnt", M), 0, ENOTDIR);
	/* "/" itself */
	mt_host("/", 0, "/", 0);
	mt_host("/..", 0, "/", 0);
}

UTest(mount, host_symlinks_above_the_mount_point_lead_in)
{
	mt_open(FX_HOST, FX_ARCHIVE);
	mt_view(P("%s/host/lnk/baz", R), 0, "bar/baz", 0);
	mt_view(P("%s/host/lnk", R), FOL, "bar", 0);
	mt_host(P("%s/host/lnk", R), 0, P("%s/host/lnk", R), 0);
	mt_view(P("%s/alnk/foo", R), 0, "foo", 0);
	mt_view(P("%s/alnk", R), FOL, "", 0);
	mt_view(P("%s/host/mlnk/bar/baz", R), 0, "bar/baz", 0);
	mt_host(P("%s/host/mlnk/..", R), 0, P("%s/host", R), 0);
	mt_view(P("%s/host/lnk/../foo", R), 0, "foo", 0);
	/* a deep host symlink followed by "..": the host is asked */
	mt_view(P("%s/far/dir/dlnk/../foo", R), 0, "foo", 0);
}

/* A mount point's parents are directories, whether or not the host has them. */
UTest(mount, parents_missing_on_the_host)
{
	char at[PATH_MAX];

	mt_open(FX_HOST, FX_ARCHIVE);
	snprintf(at, sizeof(at), "%.512s/ghost/deeper/mnt", R);
	Mnt.path = at;
	Mnt.len = strlen(at);
	mt_view(P("%s/ghost/deeper/mnt/bar/baz", R), 0, "bar/baz", 0);
	mt_view(P("%s/ghost/deeper/../deeper/./mnt//foo", R), 0, "foo", 0);
	mt_host(P("%s/ghost/deeper/mnt/../..", R), 0, P("%s/ghost", R), 0);
	mt_view(P("%s/ghost/deeper/mnt/../mnt/foo", R), 0, "foo", 0);
	/* beside them: the host's, missing or not */
	mt_host(P("%s/ghost/deeper/other/x", R), 0, P("%s/ghost/deeper/other/x", R), 0);
	mt_host(P("%s/ghost/deeper/mnt/out", R), FOL, P("%s/host/sib", R), 0);
}

UTest(mount, view_symlinks_to_the_host_and_back)
{
	mt_open(FX_HOST, FX_ARCHIVE);
	/* an absolute target on the host leaves the view */
	mt_view(P("%s/out", M), 0, "out", 0);
	cr_assert(S_ISLNK(F.st.st_mode));
	mt_host(P("%s/out", M), FOL, P("%s/host/sib", R), 0);
	mt_host(P("%s/out/f", M), 0, P("%s/host/sib/f", R), 0);
	mt_host(P("%s/out/../mntx", M), 0, P("%s/host/mntx", R), 0);
	mt_view(P("%s/out/../mnt/foo", M), 0, "foo", 0);
	/* one under the mount point stays in */
	mt_view(P("%s/in", M), FOL, "bar", 0);
	mt_view(P("%s/in/baz", M), 0, "bar/baz", 0);
	mt_view(P("%s/root/foo", M), 0, "foo", 0);
	mt_view(P("%s/root", M), FOL, "", 0);
	/* a relative one climbing out by ".." */
	mt_host(P("%s/up", M), FOL, P("%s/host/sib", R), 0);
	mt_host(P("%s/up/f", M), 0, P("%s/host/sib/f", R), 0);
	mt_host(P("%s/farln/file", M), 0, P("%s/far/dir/file", R), 0);
	/* made in the upper layer: the same */
	OK(lyr_symlink(fx.u, P("%s/host/sibfile", R), "bar/uout"));
	OK(lyr_symlink(fx.u, P("%s/./bar//baz", M), "uin"));
	mt_host(P("%s/bar/uout", M), FOL, P("%s/host/sibfile", R), 0);
	mt_view(P("%s/uin", M), FOL, "bar/baz", 0);
}

/* ---- 4. relative paths, trailing slashes, errors, loops ----------------- */

UTest(mount, relative_from_the_view)
{
	struct lyr_at at = { LYR_AT_VIEW, "bar" };

	mt_open(FX_HOST, FX_ARCHIVE);
	mt_view_at(&at, "baz", 0, "bar/baz", 0);
	mt_view_at(&at, "../foo", 0, "foo", 0);
	mt_view_at(&at, ".", 0, "bar", 0);
	mt_view_at(&at, "", 0, "bar", 0);
	mt_view_at(&at, "nope", 0, "bar/nope", MISSING);
	mt_host_at(&at, "../..", 0, P("%s/host", R), 0);
	mt_host_at(&at, "../../sib/f", 0, P("%s/host/sib/f", R), 0);
	mt_view_at(&at, "../../mnt/foo", 0, "foo", 0);
	at.path = "";
	mt_view_at(&at, "fln", FOL, "foo", 0);
	mt_host_at(&at, "..", 0, P("%s/host", R), 0);
	mt_host_at(&at, "out", FOL, P("%s/host/sib", R), 0);
	/* the start must be a directory, and exist */
	at.path = "foo";
	mt_view_at(&at, "", 0, "foo", 0);
	mt_err_at(&at, "x", 0, ENOTDIR);
	at.path = "nope";
	mt_err_at(&at, "x", 0, ENOENT);
}

/*
 * A walk from a directory of the view starts where the thread's last walk
 * from that directory left off, while the union's change counter stands
 * still (a union of archives under a host upper that keeps one): what the
 * union changes meanwhile is seen at once.
 */
UTest(mount, relative_start_remembered_until_a_change)
{
	struct lyr_at at = { LYR_AT_VIEW, "bar" };
	struct lyr_layer *lower, *upper;
	uint64_t g0, g1;
	int fd;

	mt_tree();
	mt_tar();
	lower = fx_archive();
	upper = fx_hostdir(fx.upper, LYR_HOST_UPPER);
	cr_assert(lyr_host_gen(upper, &g0), "a counting upper");
	fx_union(upper, &lower, 1, 0);
	Mnt = (struct lyr_mount){ .fs = fx.u, .path = M, .len = strlen(M) };
	mt_view_at(&at, "baz", 0, "bar/baz", 0);
	mt_view_at(&at, "baz", 0, "bar/baz", 0);
	mt_view_at(&at, "new", 0, "bar/new", MISSING);
	OK(lyr_unlink(fx.u, "bar/baz")); /* bar copied up, baz whited out */
	cr_assert(lyr_host_gen(upper, &g1) && g1 != g0, "the counter moved");
	mt_view_at(&at, "baz", 0, "bar/baz", MISSING);
	OK(fd = lyr_open(fx.u, "bar/new", O_WRONLY | O_CREAT, 0644));
	close(fd);
	mt_view_at(&at, "new", 0, "bar/new", 0);
	mt_view_at(&at, "../foo", 0, "foo", 0);
	OK(lyr_unlink(fx.u, "bar/new"));
	OK(lyr_rmdir(fx.u, "bar"));
	mt_err_at(&at, "new", 0, ENOENT);
	OK(lyr_mkdir(fx.u, "bar", 0755));
	mt_view_at(&at, "baz", 0, "bar/baz", MISSING);
	mt_view_at(&at, "", 0, "bar", 0);
}

UTest(mount, relative_from_the_host)
{
	struct lyr_at at = { LYR_AT_HOST, NULL };

	mt_open(FX_HOST, FX_ARCHIVE);
	at.path = P("%s/host", R);
	mt_view_at(&at, "mnt/bar/baz", 0, "bar/baz", 0);
	mt_view_at(&at, "mnt", 0, "", 0);
	mt_view_at(&at, "lnk/baz", 0, "bar/baz", 0);
	mt_host_at(&at, "sib/f", 0, P("%s/host/sib/f", R), 0);
	mt_host_at(&at, "mntx/f", 0, P("%s/host/mntx/f", R), 0);
	at.path = P("%s/host/sib", R);
	mt_view_at(&at, "../mnt/foo", 0, "foo", 0);
	mt_host_at(&at, "f", 0, P("%s/host/sib/f", R), 0);
	at.path = P("%s/far/dir", R);
	mt_view_at(&at, "../../host/mnt/foo", 0, "foo", 0);
	/* a host start at or below the mount point is the view */
	at.path = M;
	mt_view_at(&at, "foo", 0, "foo", 0);
	mt_view_at(&at, "", 0, "", 0);
	mt_view_at(&at, "hidden", 0, "hidden", MISSING);
	at.path = P("%s/bar", M);
	mt_view_at(&at, "baz", 0, "bar/baz", 0);
	mt_view_at(&at, "..", 0, "", 0);
	mt_host_at(&at, "../..", 0, P("%s/host", R), 0);
	at.path = P("%s/bar/", M);
	mt_view_at(&at, "baz", 0, "bar/baz", 0);
	at.path = P("%s/nope", M);
	mt_err_at(&at, "x", 0, ENOENT);
	at.path = P("%s/foo", M);
	mt_err_at(&at, "x", 0, ENOTDIR);
}

UTest(mount, trailing_slash_kept_on_host_results)
{
	mt_open(FX_HOST, FX_ARCHIVE);
	mt_host(P("%s/host/sib/", R), 0, P("%s/host/sib/", R), 0);
	mt_host(P("%s/host/sib//", R), 0, P("%s/host/sib/", R), 0);
	mt_host(P("%s/../", M), 0, P("%s/host/", R), 0);
	mt_host(P("%s/../sib/", M), 0, P("%s/host/sib/", R), 0);
	mt_host(P("%s/out/", M), FOL, P("%s/host/sib/", R), 0);
	mt_host(P("%s/up/", M), FOL, P("%s/host/sib/", R), 0);
	mt_host(P("%s/far/dir/file/", R), 0, P("%s/far/dir/file/", R), 0);
	mt_host(P("%s/../sibfile/", M), 0, P("%s/host/sibfile/", R), 0);
	/* and none added */
	mt_host(P("%s/out", M), FOL, P("%s/host/sib", R), 0);
	mt_host(P("%s/far/dir/file", R), 0, P("%s/far/dir/file", R), 0);
}

UTest(mount, missing_parent_and_non_directories)
{
	mt_open(FX_HOST, FX_ARCHIVE);
	mt_err(P("%s/foo/x", M), 0, ENOTDIR);
	mt_err(P("%s/foo/x/y", M), 0, ENOTDIR);
	mt_err(P("%s/bar/baz/x", M), FOL, ENOTDIR);
	mt_err(P("%s/fln/x", M), 0, ENOTDIR);
	mt_err(P("%s/nope/x", M), 0, ENOENT);
	mt_err(P("%s/nope/x/y", M), FOL, ENOENT);
	mt_err(P("%s/bar/nope/x", M), 0, ENOENT);
	mt_err(P("%s/hidden/x", M), 0, ENOENT);
	/* through a symlink that leads in */
	mt_err(P("%s/host/lnk/nope/x", R), 0, ENOENT);
	mt_err(P("%s/host/lnk/baz/x", R), 0, ENOTDIR);
	/* a deleted lower entry */
	OK(lyr_unlink(fx.u, "bar/baz"));
	mt_view(P("%s/bar/baz", M), 0, "bar/baz", MISSING);
	mt_err(P("%s/bar/baz/x", M), 0, ENOENT);
}

/*
 * A chain of n symlinks alternating between the host and the view:
 * R/host/hI -> mnt/vI (host), vI -> R/host/hI+1 (view), the last one to
 * M/foo.  n is even.
 */
static void mt_chain(int n)
{
	for (int i = 0; i < n / 2; i++) {
		mt_ln(P("mnt/v%d", i), P("host/h%d", i));
		if (i + 1 < n / 2)
			OK(lyr_symlink(fx.u, P("%s/host/h%d", R, i + 1), P("v%d", i)));
		else
			OK(lyr_symlink(fx.u, P("%s/foo", M), P("v%d", i)));
	}
}

UTest(mount, eloop_counts_host_and_view_links)
{
	mt_open(FX_HOST, FX_ARCHIVE);
	mt_chain(LYR_MAXSYMLINKS);
	/* LYR_MAXSYMLINKS links are fine, from either side */
	mt_view(P("%s/host/h0", R), FOL, "foo", 0);
	OK(lyr_symlink(fx.u, "v0", "vy"));
	mt_view(P("%s/vy", M), FOL, "foo", 0);
	/* one more is not */
	mt_ln("h0", "host/hx");
	OK(lyr_symlink(fx.u, P("%s/host/h0", R), "vx"));
	mt_err(P("%s/host/hx", R), FOL, ELOOP);
	mt_err(P("%s/vx", M), FOL, ELOOP);
	mt_err(P("%s/vx/", M), FOL, ELOOP);
	mt_err(P("%s/vx/x", M), 0, ELOOP);
	/* not following the last one */
	mt_host(P("%s/host/hx", R), 0, P("%s/host/hx", R), 0);
	mt_view(P("%s/vx", M), 0, "vx", 0);
	/* a loop between the two, in the middle of a path */
	mt_ln("mnt/lb", "host/la");
	OK(lyr_symlink(fx.u, P("%s/host/la", R), "lb"));
	mt_err(P("%s/host/la/x", R), 0, ELOOP);
	mt_err(P("%s/lb/x", M), 0, ELOOP);
	mt_err(P("%s/lb", M), FOL, ELOOP);
}

/* ---- 5. /proc and /dev/fd ------------------------------------------------ */

/* The mount's magic callback: answers ret (with buf) for the subject's
 * links (for another process's too with others; else 0, not known),
 * records its calls. */
static struct {
	int ret;
	char buf[PATH_MAX];
	int calls;
	int fd;
	pid_t who;
	bool others;
} Mg;

static int mt_magic(void *ctx, pid_t who, int fd, char *buf, size_t size)
{
	cr_assert_eq(ctx, &Mg);
	Mg.calls++;
	Mg.fd = fd;
	Mg.who = who;
	if (who && !Mg.others)
		return 0;
	if (Mg.ret == LYR_MAGIC_VIEW || Mg.ret == LYR_MAGIC_FILE || Mg.ret == LYR_MAGIC_HOST)
		cr_assert_lt(snprintf(buf, size, "%s", Mg.buf), (int)size);
	return Mg.ret;
}

/* The callback answers ret with buf from now on. */
static void mt_magic_says(int ret, const char *buf)
{
	Mnt.magic = mt_magic;
	Mnt.magic_ctx = &Mg;
	Mg.ret = ret;
	snprintf(Mg.buf, sizeof(Mg.buf), "%s", buf ? buf : "");
	Mg.calls = 0;
	Mg.fd = -99;
	Mg.who = -1;
	Mg.others = false;
}

/* An fd number nothing in the test process has open. */
#define MT_NOFD 987

UTest(mount, proc_self_is_the_subject)
{
	pid_t me = getpid(), parent = getppid();

	mt_open(FX_HOST, FX_ARCHIVE);
	cr_assert_eq(fcntl(MT_NOFD, F_GETFD), -1);
	/* pid 0: the calling process */
	mt_host("/proc/self", 0, "/proc/self", 0);
	mt_host("/proc/self", FOL, P("/proc/%d", (int)me), 0);
	mt_host("/proc/self/", FOL, P("/proc/%d/", (int)me), 0);
	mt_host("/proc/self/fd", 0, P("/proc/%d/fd", (int)me), 0);
	mt_host("/proc/thread-self", FOL, P("/proc/%d/task/%d", (int)me, (int)gettid()), 0);
	/* the mount's pid: another process's /proc/self */
	Mnt.pid = parent;
	Mnt.tid = 4242424;
	mt_host("/proc/self", FOL, P("/proc/%d", (int)parent), 0);
	mt_host("/proc/thread-self", FOL, P("/proc/%d/task/4242424", (int)parent), 0);
	/* ... whose magic links the callback answers, and only those */
	mt_magic_says(LYR_MAGIC_VIEW, "bar/baz");
	mt_view(P("/proc/self/fd/%d", MT_NOFD), FOL, "bar/baz", 0);
	cr_assert_eq(Mg.calls, 1);
	cr_assert_eq(Mg.fd, MT_NOFD);
	cr_assert_eq(Mg.who, 0, "the subject's own: who 0");
	mt_view(P("/proc/%d/fd/%d", (int)parent, MT_NOFD), FOL, "bar/baz", 0);
	cr_assert_eq(Mg.calls, 2);
	cr_assert_eq(Mg.who, 0);
	mt_host(P("/proc/%d/fd/%d", (int)me, MT_NOFD), FOL,
		P("/proc/%d/fd/%d", (int)me, MT_NOFD), 0);
	cr_assert_eq(Mg.calls, 3, "another process's: the callback is asked too");
	cr_assert_eq(Mg.who, me, "with that process's pid");
	/* ... and what it knows of another's holds */
	Mg.others = true;
	mt_view(P("/proc/%d/fd/%d", (int)me, MT_NOFD), FOL, "bar/baz", 0);
	cr_assert_eq(Mg.who, me);
	Mg.others = false;
	Mnt.tid = parent;
	mt_view(P("/proc/thread-self/fd/%d", MT_NOFD), FOL, "bar/baz", 0);
	cr_assert_eq(Mg.calls, 5);
	cr_assert_eq(Mg.who, 0);
}

UTest(mount, magic_callback_view)
{
	pid_t me = getpid();
	char link[64];

	snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)me, MT_NOFD);

	mt_open(FX_HOST, FX_ARCHIVE);
	mt_magic_says(LYR_MAGIC_VIEW, "bar/baz");
	mt_view(P("/proc/self/fd/%d", MT_NOFD), FOL, "bar/baz", 0);
	cr_assert_eq(Mg.fd, MT_NOFD);
	mt_view(P("/dev/fd/%d", MT_NOFD), FOL, "bar/baz", 0);
	mt_view(P("/proc/thread-self/fd/%d", MT_NOFD), FOL, "bar/baz", 0);
	mt_view(P("/proc/%d/task/%d/fd/%d", (int)me, (int)gettid(), MT_NOFD), FOL, "bar/baz",
		0);
	/* not followed: the link itself, on the host */
	mt_host(P("/proc/self/fd/%d", MT_NOFD), 0, link, LYR_RESOLVE_MAGIC);
	mt_host(P("/dev/fd/%d", MT_NOFD), 0, link, LYR_RESOLVE_MAGIC);
	mt_host(link, 0, link, LYR_RESOLVE_MAGIC);
	/* a directory: below it, and ".." from it */
	mt_magic_says(LYR_MAGIC_VIEW, "bar");
	mt_view(P("/proc/self/fd/%d/baz", MT_NOFD), 0, "bar/baz", 0);
	mt_view(P("/dev/fd/%d/nope", MT_NOFD), 0, "bar/nope", MISSING);
	mt_view(P("/proc/self/fd/%d/..", MT_NOFD), 0, "", 0);
	mt_host(P("/proc/self/fd/%d/../..", MT_NOFD), 0, P("%s/host", R), 0);
	mt_err(P("/proc/self/fd/%d/baz/x", MT_NOFD), 0, ENOTDIR);
	/* the working directory: fd -1 */
	mt_view("/proc/self/cwd/baz", 0, "bar/baz", 0);
	cr_assert_eq(Mg.fd, -1);
	mt_view("/proc/self/cwd", FOL, "bar", 0);
	mt_host("/proc/self/cwd", 0, P("/proc/%d/cwd", (int)me), LYR_RESOLVE_MAGIC);
	/* a file: nothing below it */
	mt_magic_says(LYR_MAGIC_VIEW, "foo");
	mt_err(P("/proc/self/fd/%d/..", MT_NOFD), 0, ENOTDIR);
	mt_err(P("/dev/fd/%d/x", MT_NOFD), 0, ENOTDIR);
	/* /dev/stdin is the host's symlink to /proc/self/fd/0 */
	mt_magic_says(LYR_MAGIC_VIEW, "foo");
	mt_view("/dev/stdin", FOL, "foo", 0);
	cr_assert_eq(Mg.fd, 0);
	/* the view's root */
	mt_magic_says(LYR_MAGIC_VIEW, "");
	mt_view(P("/proc/self/fd/%d", MT_NOFD), FOL, "", 0);
	mt_view(P("/proc/self/fd/%d/bar/baz", MT_NOFD), 0, "bar/baz", 0);
	/* an entry gone meanwhile */
	mt_magic_says(LYR_MAGIC_VIEW, "gone");
	mt_view(P("/proc/self/fd/%d", MT_NOFD), FOL, "gone", MISSING);
	/* a file, whatever its name now holds: the name when it is the last
	 * component, nothing below it */
	mt_magic_says(LYR_MAGIC_FILE, "gone");
	mt_view(P("/proc/self/fd/%d", MT_NOFD), FOL, "gone", MISSING);
	mt_err(P("/proc/self/fd/%d/x", MT_NOFD), 0, ENOTDIR);
	mt_magic_says(LYR_MAGIC_FILE, "bar");
	mt_err(P("/dev/fd/%d/baz", MT_NOFD), 0, ENOTDIR);
	mt_host(P("/proc/self/fd/%d", MT_NOFD), 0, P("/proc/%d/fd/%d", (int)getpid(), MT_NOFD),
		LYR_RESOLVE_MAGIC);
}

UTest(mount, magic_callback_host_kernel_unknown_and_errors)
{
	pid_t me = getpid();
	char link[64];

	snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)me, MT_NOFD);

	mt_open(FX_HOST, FX_ARCHIVE);
	/* a host path */
	mt_magic_says(LYR_MAGIC_HOST, P("%s/host/sib", R));
	mt_host(P("/proc/self/fd/%d", MT_NOFD), FOL, P("%s/host/sib", R), 0);
	mt_host(P("/proc/self/fd/%d/f", MT_NOFD), 0, P("%s/host/sib/f", R), 0);
	mt_host(P("/proc/self/fd/%d", MT_NOFD), 0, link, 0);
	mt_view(P("/proc/self/fd/%d/../mnt/foo", MT_NOFD), 0, "foo", 0);
	/* ... at or below the mount point: the view */
	mt_magic_says(LYR_MAGIC_HOST, P("%s/foo", M));
	mt_view(P("/dev/fd/%d", MT_NOFD), FOL, "foo", 0);
	mt_magic_says(LYR_MAGIC_HOST, P("%s/host/lnk", R));
	mt_view(P("/proc/self/fd/%d/baz", MT_NOFD), 0, "bar/baz", 0);
	/* the kernel's own answer */
	mt_magic_says(LYR_MAGIC_KERNEL, NULL);
	mt_host(P("/proc/self/fd/%d", MT_NOFD), FOL, link, 0);
	mt_host(P("/proc/self/fd/%d", MT_NOFD), 0, link, 0);
	mt_host(P("/dev/fd/%d/x/", MT_NOFD), 0, P("%s/x/", link), 0);
	cr_assert_eq(Mg.calls, 3);
	/* unknown to the callback: what the kernel's link leads to */
	mt_magic_says(0, NULL);
	cr_assert_eq(fcntl(MT_NOFD, F_GETFD), -1);
	mt_host(P("/proc/self/fd/%d", MT_NOFD), FOL, link, 0);
	int hfd = open(P("%s/host/sibfile", R), O_RDONLY | O_CLOEXEC);
	cr_assert_geq(hfd, 0);
	mt_host(P("/proc/self/fd/%d", hfd), FOL, P("%s/host/sibfile", R), 0);
	mt_host(P("/dev/fd/%d", hfd), 0, P("/proc/%d/fd/%d", (int)me, hfd), 0);
	cr_assert_eq(Mg.fd, hfd);
	close(hfd);
	int dfd = open(P("%s/host", R), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(dfd, 0);
	mt_view(P("/proc/self/fd/%d/mnt/bar", dfd), 0, "bar", 0);
	close(dfd);
	/* errors are the callback's, when the link is followed; not
	 * followed, the link is the kernel's to answer for (lstat, readlink) */
	mt_magic_says(-EBADF, NULL);
	mt_err(P("/proc/self/fd/%d", MT_NOFD), FOL, EBADF);
	mt_host(P("/proc/self/fd/%d", MT_NOFD), 0, P("/proc/%d/fd/%d", (int)me, MT_NOFD),
		LYR_RESOLVE_MAGIC);
	mt_magic_says(-ENOENT, NULL);
	mt_err("/proc/self/cwd/x", 0, ENOENT);
}

/*
 * /proc/PID/fd/07 is no link for the kernel (ENOENT: a number with a
 * leading zero names no fd), so it is the kernel's to answer; the
 * callback is not asked about fd 7.  (Fails: the number is read as 7.)
 */
UTest(mount, proc_fd_number_with_a_leading_zero)
{
	char link[64];

	mt_open(FX_HOST, FX_ARCHIVE);
	mt_magic_says(LYR_MAGIC_VIEW, "bar/baz");
	snprintf(link, sizeof(link), "/proc/%d/fd/0%d", (int)getpid(), MT_NOFD);
	int r = mt_res(NULL, P("/proc/self/fd/0%d", MT_NOFD), FOL);
	cr_expect(r == LYR_ON_HOST && !strcmp(F.path, link),
		  "%d (%s), want the host's %s", r, r < 0 ? strerror(-r) : F.path, link);
	cr_expect_eq(Mg.calls, 0, "the callback was asked about fd %d", Mg.fd);
	mt_magic_says(LYR_MAGIC_VIEW, "bar/baz");
	r = mt_res(NULL, "/proc/self/fd/00", FOL);
	cr_expect(r == LYR_ON_HOST, "/proc/self/fd/00: %d (%s)", r,
		  r < 0 ? strerror(-r) : F.path);
}

/* ---- 6. /proc/self/fd/N of the union's own files ------------------------ */

/* fd is the union's file lp: /proc/self/fd/fd and /dev/fd/fd lead to it
 * (no callback: lyr_fd_name), and the link itself is the host's. */
static void mt_fd_is(int fd, const char *lp)
{
	char link[64];

	cr_assert_geq(fd, 0, "open %s: %s", lp, strerror(-fd));
	snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)getpid(), fd);
	mt_view(P("/proc/self/fd/%d", fd), FOL, lp, 0);
	mt_view(P("/dev/fd/%d", fd), FOL, lp, 0);
	mt_view(link, FOL, lp, 0);
	mt_host(P("/proc/self/fd/%d", fd), 0, link, LYR_RESOLVE_MAGIC);
	mt_host(P("/dev/fd/%d", fd), 0, link, LYR_RESOLVE_MAGIC);
}

/* What the kernel says fd is (readlink of its /proc link). */
static const char *mt_kernel_name(int fd)
{
	static char buf[PATH_MAX];
	ssize_t n = readlink(P("/proc/self/fd/%d", fd), buf, sizeof(buf) - 1);

	cr_assert_gt(n, 0);
	buf[n] = '\0';
	return buf;
}

UTest(mount, proc_fd_of_archive_members)
{
	mt_open(FX_HOST, FX_ARCHIVE);
	/* a small member, opened the first time: a memfd */
	int small = lyr_open(fx.u, "foo", O_RDONLY, 0);
	cr_assert(!strncmp(mt_kernel_name(small), "/memfd:", 7), "%s", mt_kernel_name(small));
	mt_fd_is(small, "foo");
	/* ... opened again: a cache file */
	int again = lyr_open(fx.u, "foo", O_RDONLY, 0);
	cr_assert(!strncmp(mt_kernel_name(again), P("%s/cache/", R), strlen(R) + 7), "%s",
		  mt_kernel_name(again));
	mt_fd_is(again, "foo");
	/* a large one: a cache file the first time */
	int big = lyr_open(fx.u, "big", O_RDONLY, 0);
	cr_assert(!strncmp(mt_kernel_name(big), P("%s/cache/", R), strlen(R) + 7), "%s",
		  mt_kernel_name(big));
	mt_fd_is(big, "big");
	/* a member below a directory */
	int baz = lyr_open(fx.u, "bar/baz", O_RDONLY, 0);
	mt_fd_is(baz, "bar/baz");
	/* a directory of the archive: its stand-in names it */
	int dir = lyr_open(fx.u, "bar", O_RDONLY | O_DIRECTORY, 0);
	OK(dir);
	mt_view(P("/proc/self/fd/%d", dir), FOL, "bar", 0);
	mt_view(P("/proc/self/fd/%d/baz", dir), 0, "bar/baz", 0);
	close(small);
	close(again);
	close(big);
	close(baz);
	close(dir);
}

UTest(mount, proc_fd_of_host_lower_and_upper_files)
{
	mt_open(FX_HOST, FX_HOSTDIR);
	int lower = lyr_open(fx.u, "bar/baz", O_RDONLY, 0);
	cr_assert(!strcmp(mt_kernel_name(lower), P("%s/src/bar/baz", R)));
	mt_fd_is(lower, "bar/baz");
	int ldir = lyr_open(fx.u, "bar", O_RDONLY | O_DIRECTORY, 0);
	mt_fd_is(ldir, "bar");
	mt_view(P("/proc/self/fd/%d/baz", ldir), 0, "bar/baz", 0);
	/* upper files: made, and copied up */
	OK(fx_write("made", O_WRONLY | O_CREAT, "m"));
	int made = lyr_open(fx.u, "made", O_RDONLY, 0);
	cr_assert(!strcmp(mt_kernel_name(made), P("%s/upper/made", R)));
	mt_fd_is(made, "made");
	int up = lyr_open(fx.u, "foo", O_RDWR, 0);
	cr_assert(!strcmp(mt_kernel_name(up), P("%s/upper/foo", R)));
	mt_fd_is(up, "foo");
	/* a file of the upper layer gone: the kernel's answer */
	OK(lyr_unlink(fx.u, "made"));
	mt_host(P("/proc/self/fd/%d", made), FOL, P("/proc/%d/fd/%d", (int)getpid(), made), 0);
	close(lower);
	close(ldir);
	close(made);
	close(up);
}

UTest(mount, proc_fd_of_archive_upper_files)
{
	mt_open(FX_HOST, FX_ARCHIVE);
	int up = lyr_open(fx.u, "bar/baz", O_RDWR, 0);
	cr_assert(!strcmp(mt_kernel_name(up), P("%s/upper/bar/baz", R)));
	mt_fd_is(up, "bar/baz");
	close(up);
}

UTest(mount, proc_fd_of_memory_upper_files)
{
	mt_open(FX_MEM, FX_ARCHIVE);
	OK(fx_write("made", O_WRONLY | O_CREAT, "m"));
	int made = lyr_open(fx.u, "made", O_RDONLY, 0);
	mt_fd_is(made, "made");
	int up = lyr_open(fx.u, "foo", O_RDWR, 0);
	mt_fd_is(up, "foo");
	close(made);
	close(up);
}

/*
 * A lower file removed from the view after it was opened has no name in
 * the view: its link is the kernel's (which reopens the removed file), as
 * for a removed upper file above; not the name the lower layer still
 * has, which in the view is missing or, once made again, another file.
 * (Fails: lyr_fd_name on the union returns the lower layer's name.)
 */
UTest(mount, proc_fd_of_removed_lower_file)
{
	char link[64];

	mt_open(FX_HOST, FX_ARCHIVE);
	int fd = lyr_open(fx.u, "foo", O_RDONLY, 0);
	OK(fd);
	snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)getpid(), fd);
	mt_fd_is(fd, "foo");
	OK(lyr_unlink(fx.u, "foo"));
	int r = mt_res(NULL, P("/proc/self/fd/%d", fd), FOL);
	cr_expect_eq(r, LYR_ON_HOST, "removed: %d, res %d, \"%s\", want the host's \"%s\"", r,
		     F.res, F.path, link);
	OK(fx_write("foo", O_WRONLY | O_CREAT, "another file"));
	r = mt_res(NULL, P("/proc/self/fd/%d", fd), FOL);
	cr_expect_eq(r, LYR_ON_HOST, "made again: %d, res %d, \"%s\" (size %lld), want the "
		     "host's \"%s\"", r, F.res, F.path, (long long)F.st.st_size, link);
	mt_host(P("/proc/self/fd/%d", fd), FOL, link, 0);
	close(fd);
}

/*
 * A directory of a memory upper opens as the layer's one stand-in, as an
 * archive's directories do: its link must not reach the stand-in either.
 * (Fails: the memory layer's fd_name says -ENOENT, not -ENXIO, for it.)
 */
UTest(mount, proc_fd_of_memory_upper_directory)
{
	mt_open(FX_MEM, FX_ARCHIVE);
	OK(lyr_mkdir(fx.u, "nd", 0755));
	OK(fx_write("nd/f", O_WRONLY | O_CREAT, "f"));
	int fd = lyr_open(fx.u, "nd", O_RDONLY | O_DIRECTORY, 0);
	OK(fd);
	int r = mt_res(NULL, P("/proc/self/fd/%d/f", fd), 0);
	cr_expect(r == -EACCES || (r == LYR_IN_VIEW && !strcmp(F.path, "nd/f")),
		  "%d (%s), want nd/f or -EACCES; the kernel's link is %s", r,
		  r < 0 ? strerror(-r) : F.path, mt_kernel_name(fd));
	close(fd);
}

/* ---- 7. what only the host resolves ----------------------------------- */

UTest(mount, far_host_paths_are_handed_to_the_kernel_as_written)
{
	struct lyr_at at = { LYR_AT_HOST, NULL };

	mt_open(FX_HOST, FX_ARCHIVE);
	mt_host(P("%s/far", R), 0, P("%s/far", R), 0);
	mt_host(P("%s/far/dir/file", R), FOL, P("%s/far/dir/file", R), 0);
	/* not asked: the kernel's errors are its own */
	mt_host(P("%s/far/dir/nope/deeper", R), 0, P("%s/far/dir/nope/deeper", R), 0);
	mt_host(P("%s/far/dir/file/x", R), 0, P("%s/far/dir/file/x", R), 0);
	/* what follows the stop is as written */
	mt_host(P("%s/far/dir/./x//y", R), 0, P("%s/far/dir/./x//y", R), 0);
	mt_host(P("%s/far//nope/../../host/mnt/foo", R), 0,
		P("%s/far/nope/../../host/mnt/foo", R), 0);
	/* a deep host symlink is the host's own resolution (README,
	 * Limitations): without a ".." after it, it is not followed */
	mt_host(P("%s/far/dir/dlnk/baz", R), 0, P("%s/far/dir/dlnk/baz", R), 0);
	at.path = P("%s/far", R);
	mt_host_at(&at, "dir/file", 0, P("%s/far/dir/file", R), 0);
	mt_host_at(&at, "", 0, P("%s/far", R), 0);
}

/*
 * Which absolute paths must be walked to know where they lead: /proc's
 * links that can lead anywhere, not its kernel files (an allocator reads
 * those while it sets itself up, and the walk would start the view).
 */
Test(mount, needs_walk)
{
	static const char *const walk[] = {
		"/proc/self/fd/3", "/proc/self/cwd", "/proc/self/cwd/x", "/proc/self/root/a/b",
		"/proc/self/exe", "/proc/self/map_files/1-2", "/proc/123/fd/0", "/proc/self",
		"/proc/thread-self/fd/1", "/proc/123/task/456/cwd", "/proc/self/task/9/fd/2",
		"/proc//self/maps", "/proc/self/../self/fd/1", "/dev/fd/1", "/a/./b", "/a//b",
		"/a/..",
	};
	static const char *const host[] = {
		"/proc/sys/vm/overcommit_memory", "/proc/self/maps", "/proc/self/status",
		"/proc/123/stat", "/proc/meminfo", "/proc/self/task/9/stat", "/proc/self/fdinfo/3",
		"/proc/self/task", "/proc/selfish/fd/1", "/proc/12a/fd/1", "/etc/malloc.conf",
		"/a/b", "/",
	};

	for (size_t i = 0; i < sizeof(walk) / sizeof(walk[0]); i++)
		cr_expect(lyr_path_needs_walk(walk[i]), "%s: not walked", walk[i]);
	for (size_t i = 0; i < sizeof(host) / sizeof(host[0]); i++)
		cr_expect(!lyr_path_needs_walk(host[i]), "%s: walked", host[i]);
}
