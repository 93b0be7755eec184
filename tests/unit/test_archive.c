/* SPDX-License-Identifier: MIT */
/*
 * test_archive.c - suite "archive": the archive layer on its own
 * (core/archive.c, core/archive_index.c).
 *
 * Divisions:
 *   1. helpers: per-test directory, commands, libarchive writer, reads
 *   2. seed cases (seed-cases.md, "Archive layer on its own")
 *   3. formats and compressions
 *   4. entry kinds and metadata
 *   5. names: unsafe, stripped, duplicates, implied directories
 *   6. refused archives
 *   7. read-only: every mutation, open flags
 *   8. the index: reuse, rebuild, concurrency, size and speed
 *   9. content: in place, extraction once, concurrent first opens
 *
 * Every test builds its archives in its own mkdtemp directory (with tar,
 * bsdtar, cpio, zip, xorriso or libarchive's writer), keeps the cache
 * there too, and at the end checks that each archive it opened is
 * byte-for-byte what it was before.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "archive_index.h"
#include "layerfs.h"
#include "tmpdir.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- 1. helpers ------------------------------------------------------ */

static char T[256];          /* this test's directory */
static char CACHE[PATH_MAX]; /* its cache directory */

struct seen {
	char path[PATH_MAX];
	uint64_t sum;
};
static struct seen seen[32];
static int nseen;

static uint64_t file_sum(const char *path)
{
	uint64_t h = 0xcbf29ce484222325ull;
	unsigned char buf[1 << 16];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++) {
			h ^= buf[i];
			h *= 0x100000001b3ull;
		}
	close(fd);
	return h;
}

static void setup(void)
{
	ut_tmpdir_make(T, sizeof(T), "archive");
	snprintf(CACHE, sizeof(CACHE), "%s/cache", T);
	nseen = 0;
}

static void teardown(void)
{
	for (int i = 0; i < nseen; i++)
		cr_expect_eq(file_sum(seen[i].path), seen[i].sum,
			     "archive %s changed", seen[i].path);
	ut_tmpdir_remove(T);
}

TestSuite(archive, .init = setup, .fini = teardown);

#define tpath(name) ut_path_in(T, name)

#define sh(...) ut_sh_in(T, __VA_ARGS__)

static void watch(const char *path)
{
	for (int i = 0; i < nseen; i++)
		if (!strcmp(seen[i].path, path))
			return;
	if (nseen < (int)(sizeof(seen) / sizeof(seen[0]))) {
		snprintf(seen[nseen].path, PATH_MAX, "%s", path);
		seen[nseen++].sum = file_sum(path);
	}
}

static int try_open(const char *name, struct lyr_layer **l, struct lyr_error *err)
{
	struct lyr_archive_opts o = { .cache_dir = CACHE };
	const char *p = tpath(name);

	watch(p);
	memset(err, 0, sizeof(*err));
	return lyr_archive_open(p, &o, l, err);
}

static struct lyr_layer *open_arc(const char *name)
{
	struct lyr_error err;
	struct lyr_layer *l = NULL;
	int r = try_open(name, &l, &err);

	cr_assert_eq(r, 0, "opening %s: %d %s", name, r, err.msg);
	cr_assert_not_null(l);
	return l;
}

/* Refused: returns the message after checking it names the archive. */
static const char *refused(const char *name, int want)
{
	static struct lyr_error err;
	struct lyr_layer *l = NULL;
	int r = try_open(name, &l, &err);

	cr_assert_lt(r, 0, "%s was accepted", name);
	if (want)
		cr_assert_eq(r, want, "%s: got %d (%s), want %d", name, r, err.msg, want);
	cr_assert_null(l);
	cr_assert(strstr(err.msg, tpath(name)), "message does not name %s: %s",
		  name, err.msg);
	return err.msg;
}

static struct lyr_archive_info info_of(struct lyr_layer *l)
{
	struct lyr_archive_info in;

	cr_assert_eq(lyr_archive_info(l, &in), 0);
	return in;
}

/* The fixture of seed-cases.md: foo, bar/, bar/baz, owner 1000:1000. */
static void make_src(void)
{
	sh("mkdir -p src/bar && printf 'testfoo\\n' > src/foo && "
	   "printf 'testbaz\\n' > src/bar/baz && chmod 0644 src/foo src/bar/baz && "
	   "chmod 0755 src/bar && chown -R 1000:1000 src");
}

static size_t read_fd(int fd, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t r;

	while (n < size && (r = read(fd, buf + n, size - n)) > 0)
		n += (size_t)r;
	return n;
}

/* Reads a whole file of the layer into a malloc'ed buffer. */
static char *slurp(struct lyr_layer *l, const char *path, size_t *len)
{
	int fd = lyr_open(l, path, O_RDONLY, 0);
	struct stat st;

	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(-fd));
	cr_assert_eq(fstat(fd, &st), 0);
	char *buf = malloc((size_t)st.st_size + 1);
	cr_assert_not_null(buf);
	*len = read_fd(fd, buf, (size_t)st.st_size + 1);
	buf[*len < (size_t)st.st_size ? *len : (size_t)st.st_size] = '\0';
	close(fd);
	return buf;
}

static void expect_file(struct lyr_layer *l, const char *path, const char *want)
{
	size_t n;
	char *got = slurp(l, path, &n);

	cr_expect_eq(n, strlen(want), "%s: %zu bytes, want %zu", path, n, strlen(want));
	cr_expect(n == strlen(want) && !memcmp(got, want, n), "%s: content differs", path);
	free(got);
}

/* "name name ..." of a listing, in its order. */
static const char *listing(struct lyr_layer *l, const char *path)
{
	static char out[8192];
	struct lyr_dirlist d;
	int r = lyr_readdir(l, path, &d);

	cr_assert_eq(r, 0, "readdir %s: %s", path, strerror(-r));
	out[0] = '\0';
	for (size_t i = 0; i < d.n; i++) {
		strcat(out, d.ents[i].name);
		if (i + 1 < d.n)
			strcat(out, " ");
	}
	lyr_dirlist_free(&d);
	return out;
}

static struct stat stat_of(struct lyr_layer *l, const char *path)
{
	struct stat st;
	int r = lyr_lookup(l, path, &st, NULL);

	cr_assert_eq(r, 0, "lookup %s: %s", path, strerror(-r));
	return st;
}

/* One entry for write_archive(); zero fields take defaults. */
struct went {
	const char *path;
	mode_t mode;          /* type | permissions; 0: S_IFREG | 0644 */
	const char *data;     /* regular file content */
	const char *symlink;
	const char *hardlink;
	int64_t uid, gid;
	time_t mtime;
	long mtime_ns;
	const char *xname, *xval;
};

/* Writes an archive with libarchive (format: ARCHIVE_FORMAT_*). */
static void write_archive(const char *name, int format, const struct went *w,
			  size_t n)
{
	struct archive *a = archive_write_new();

	cr_assert_not_null(a);
	cr_assert_eq(archive_write_set_format(a, format), ARCHIVE_OK);
	archive_write_add_filter_none(a);
	cr_assert_eq(archive_write_open_filename(a, tpath(name)), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		mode_t mode = w[i].mode ? w[i].mode : (S_IFREG | 0644);
		size_t len = w[i].data ? strlen(w[i].data) : 0;
		archive_entry_set_pathname(e, w[i].path);
		archive_entry_set_mode(e, mode);
		archive_entry_set_uid(e, w[i].uid);
		archive_entry_set_gid(e, w[i].gid);
		archive_entry_set_mtime(e, w[i].mtime ? w[i].mtime : 1600000000,
					w[i].mtime_ns);
		if (w[i].symlink)
			archive_entry_set_symlink(e, w[i].symlink);
		if (w[i].hardlink)
			archive_entry_set_hardlink(e, w[i].hardlink);
		archive_entry_set_size(e, (la_int64_t)len);
		if (w[i].xname)
			archive_entry_xattr_add_entry(e, w[i].xname, w[i].xval,
						      strlen(w[i].xval));
		cr_assert_eq(archive_write_header(a, e), ARCHIVE_OK, "%s",
			     archive_error_string(a));
		if (len)
			cr_assert_eq(archive_write_data(a, w[i].data, len), (la_ssize_t)len);
		archive_entry_free(e);
	}
	cr_assert_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

static void write_file(const char *name, const void *data, size_t len)
{
	int fd = open(tpath(name), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static int count_lines(const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC), n = 0;

	if (fd < 0)
		return 0;
	size_t len = read_fd(fd, buf, sizeof(buf));
	close(fd);
	for (size_t i = 0; i < len; i++)
		n += buf[i] == '\n';
	return n;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- 2. seed cases --------------------------------------------------- */

static struct lyr_layer *seed(void)
{
	make_src();
	sh("tar -cf a.tar -C src foo bar");
	return open_arc("a.tar");
}

Test(archive, seed_foo_reads_back)
{
	struct lyr_layer *l = seed();
	expect_file(l, "foo", "testfoo\n");
	lyr_destroy(l);
}

Test(archive, seed_bar_baz_reads_back)
{
	struct lyr_layer *l = seed();
	expect_file(l, "bar/baz", "testbaz\n");
	lyr_destroy(l);
}

Test(archive, seed_name_prefix_is_enoent)
{
	struct lyr_layer *l = seed();
	struct stat st;
	cr_expect_eq(lyr_lookup(l, "bar/ba", &st, NULL), -ENOENT);
	cr_expect_eq(lyr_open(l, "bar/ba", O_RDONLY, 0), -ENOENT);
	cr_expect_eq(lyr_lookup(l, "fo", &st, NULL), -ENOENT);
	lyr_destroy(l);
}

Test(archive, seed_o_directory_on_file_is_enotdir)
{
	struct lyr_layer *l = seed();
	cr_expect_eq(lyr_open(l, "foo", O_RDONLY | O_DIRECTORY, 0), -ENOTDIR);
	cr_expect_eq(lyr_open(l, "bar/baz", O_RDONLY | O_DIRECTORY, 0), -ENOTDIR);
	lyr_destroy(l);
}

Test(archive, seed_root_lists_bar_foo)
{
	struct lyr_layer *l = seed();
	cr_expect_str_eq(listing(l, ""), ". .. bar foo");
	lyr_destroy(l);
}

Test(archive, seed_bar_lists_baz)
{
	struct lyr_layer *l = seed();
	cr_expect_str_eq(listing(l, "bar"), ". .. baz");
	lyr_destroy(l);
}

Test(archive, seed_readdir_on_file_is_enotdir)
{
	struct lyr_layer *l = seed();
	struct lyr_dirlist d;
	cr_expect_eq(lyr_readdir(l, "foo", &d), -ENOTDIR);
	cr_expect_eq(lyr_readdir(l, "bar/baz", &d), -ENOTDIR);
	lyr_destroy(l);
}

Test(archive, seed_lookup_through_file_is_enotdir)
{
	struct lyr_layer *l = seed();
	struct stat st;
	cr_expect_eq(lyr_lookup(l, "foo/x", &st, NULL), -ENOTDIR);
	cr_expect_eq(lyr_open(l, "foo/x", O_RDONLY, 0), -ENOTDIR);
	lyr_destroy(l);
}

Test(archive, seed_metadata)
{
	struct lyr_layer *l = seed();
	struct stat st = stat_of(l, "foo");
	cr_expect_eq(st.st_mode, S_IFREG | 0644);
	cr_expect_eq(st.st_uid, 1000);
	cr_expect_eq(st.st_gid, 1000);
	cr_expect_eq(st.st_size, 8);
	cr_expect_eq(st.st_nlink, 1);
	cr_expect_eq(st.st_blocks, 8);	/* one 4 KiB block */
	cr_expect_eq(st.st_blksize, 4096);
	st = stat_of(l, "bar");
	cr_expect(S_ISDIR(st.st_mode));
	cr_expect_eq(st.st_mode & 07777, 0755);
	cr_expect_eq(st.st_nlink, 2);
	st = stat_of(l, "");
	cr_expect(S_ISDIR(st.st_mode));
	cr_expect_eq(st.st_ino, 1);
	cr_expect_eq(st.st_nlink, 3);
	lyr_destroy(l);
}

/* ---- 3. formats and compressions ------------------------------------ */

struct mparam {
	char fmt[8];  /* tar --format= */
	char comp[8]; /* compressor */
};

ParameterizedTestParameters(archive, tar_matrix)
{
	static struct mparam p[] = {
#define ROW(f) { f, "none" }, { f, "gzip" }, { f, "bzip2" }, { f, "xz" }, \
	       { f, "zstd" }, { f, "lz4" }
		ROW("v7"), ROW("ustar"), ROW("pax"), ROW("gnu"),
#undef ROW
	};
	return cr_make_param_array(struct mparam, p, sizeof(p) / sizeof(p[0]));
}

/* The fixture plus a symlink, a hard link, an empty and a sticky dir. */
static void make_rich_src(void)
{
	make_src();
	sh("cd src && mkdir empty sticky && chmod 01777 sticky && ln -s foo link && "
	   "ln foo hard && printf 'suid\\n' > suid && chmod 04755 suid");
}

static void check_rich(struct lyr_layer *l, bool hardlinks)
{
	char buf[64];
	struct stat foo, hard;

	cr_expect_str_eq(listing(l, ""), ". .. bar empty foo hard link sticky suid");
	cr_expect_str_eq(listing(l, "empty"), ". ..");
	expect_file(l, "foo", "testfoo\n");
	expect_file(l, "bar/baz", "testbaz\n");
	expect_file(l, "hard", "testfoo\n");
	expect_file(l, "suid", "suid\n");
	cr_expect_eq(stat_of(l, "suid").st_mode, S_IFREG | 04755);
	cr_expect_eq(stat_of(l, "sticky").st_mode, S_IFDIR | 01777);
	cr_expect_eq(stat_of(l, "link").st_mode & S_IFMT, S_IFLNK);
	cr_expect_eq(lyr_readlink(l, "link", buf, sizeof(buf)), 3);
	cr_expect_eq(memcmp(buf, "foo", 3), 0);
	foo = stat_of(l, "foo");
	hard = stat_of(l, "hard");
	if (hardlinks) {
		cr_expect_eq(foo.st_ino, hard.st_ino);
		cr_expect_eq(foo.st_nlink, 2);
		cr_expect_eq(hard.st_nlink, 2);
	}
}

ParameterizedTest(struct mparam *p, archive, tar_matrix)
{
	static const struct { const char *name, *cmd, *ext; } comp[] = {
		{ "none", "true", "" },
		{ "gzip", "gzip -f a.tar", ".gz" },
		{ "bzip2", "bzip2 -f a.tar", ".bz2" },
		{ "xz", "xz -f a.tar", ".xz" },
		{ "zstd", "zstd -q --rm -f a.tar", ".zst" },
		{ "lz4", "lz4 -q -f a.tar a.tar.lz4 && rm a.tar", ".lz4" },
	};
	char name[32];
	size_t i;

	make_rich_src();
	sh("tar --format=%s -cf a.tar -C src .", p->fmt);
	for (i = 0; strcmp(comp[i].name, p->comp); i++)
		;
	sh("%s", comp[i].cmd);
	snprintf(name, sizeof(name), "a.tar%s", comp[i].ext);
	struct lyr_layer *l = open_arc(name);
	check_rich(l, true);
	cr_expect_eq(stat_of(l, "foo").st_uid, 1000);
	cr_expect_eq(stat_of(l, "bar/baz").st_gid, 1000);
	lyr_destroy(l);
}

Test(archive, bsdtar_pax_gzip)
{
	make_rich_src();
	sh("bsdtar --format pax -czf a.tgz -C src .");
	struct lyr_layer *l = open_arc("a.tgz");
	check_rich(l, true);
	lyr_destroy(l);
}

Test(archive, zip)
{
	make_rich_src();
	sh("cd src && zip -qry ../a.zip . && cd .. && printf 'x%%.0s' $(seq 1 5000) > "
	   "src/big && cd src && zip -qy ../a.zip big");
	struct lyr_layer *l = open_arc("a.zip");
	cr_expect_str_eq(listing(l, ""), ". .. bar big empty foo hard link sticky suid");
	expect_file(l, "foo", "testfoo\n");
	expect_file(l, "bar/baz", "testbaz\n");
	expect_file(l, "hard", "testfoo\n");
	cr_expect_eq(stat_of(l, "suid").st_mode & 0777, 0755);
	cr_expect_eq(stat_of(l, "big").st_size, 5000);
	size_t n;
	char *big = slurp(l, "big", &n);
	cr_expect_eq(n, 5000);
	cr_expect_eq(big[4999], 'x');
	free(big);
	char buf[16];
	cr_expect_eq(lyr_readlink(l, "link", buf, sizeof(buf)), 3);
	lyr_destroy(l);
}

Test(archive, seven_zip)
{
	make_src();
	sh("cd src && ln -s foo link && bsdtar --format 7zip -cf ../a.7z .");
	struct lyr_layer *l = open_arc("a.7z");
	cr_expect_str_eq(listing(l, ""), ". .. bar foo link");
	expect_file(l, "foo", "testfoo\n");
	expect_file(l, "bar/baz", "testbaz\n");
	cr_expect_eq(stat_of(l, "link").st_mode & S_IFMT, S_IFLNK);
	lyr_destroy(l);
}

static void cpio_case(const char *fmt)
{
	char name[32];
	make_rich_src();
	snprintf(name, sizeof(name), "a.%s", fmt);
	sh("cd src && find . | cpio -o -H %s > ../%s", fmt, name);
	struct lyr_layer *l = open_arc(name);
	check_rich(l, true);
	cr_expect_eq(stat_of(l, "foo").st_uid, 1000);
	lyr_destroy(l);
}

Test(archive, cpio_newc)
{
	cpio_case("newc");
}

Test(archive, cpio_odc)
{
	cpio_case("odc");
}

Test(archive, iso9660_rock_ridge)
{
	make_rich_src();
	sh("xorriso -as mkisofs -R -o a.iso src");
	struct lyr_layer *l = open_arc("a.iso");
	check_rich(l, false);
	lyr_destroy(l);
}

/* ---- 4. entry kinds and metadata ------------------------------------ */

Test(archive, hard_links_share_one_inode)
{
	make_src();
	sh("cd src && ln foo h1 && mkdir d && ln foo d/h2");
	sh("tar -cf a.tar -C src .");
	struct lyr_layer *l = open_arc("a.tar");
	struct stat a = stat_of(l, "foo"), b = stat_of(l, "h1"), c = stat_of(l, "d/h2");
	cr_expect_eq(a.st_ino, b.st_ino);
	cr_expect_eq(a.st_ino, c.st_ino);
	cr_expect_eq(a.st_nlink, 3);
	cr_expect_eq(c.st_nlink, 3);
	cr_expect_eq(c.st_size, 8);
	cr_expect_eq(c.st_mode, S_IFREG | 0644);
	expect_file(l, "d/h2", "testfoo\n");
	cr_expect_neq(stat_of(l, "bar/baz").st_ino, a.st_ino);
	lyr_destroy(l);
}

Test(archive, hard_link_listing_inode_matches_lookup)
{
	make_src();
	sh("cd src && ln foo h1");
	sh("tar -cf a.tar -C src .");
	struct lyr_layer *l = open_arc("a.tar");
	struct lyr_dirlist d;
	cr_assert_eq(lyr_readdir(l, "", &d), 0);
	for (size_t i = 0; i < d.n; i++)
		if (strcmp(d.ents[i].name, ".") && strcmp(d.ents[i].name, ".."))
			cr_expect_eq(d.ents[i].ino, stat_of(l, d.ents[i].name).st_ino,
				     "%s", d.ents[i].name);
	lyr_dirlist_free(&d);
	lyr_destroy(l);
}

Test(archive, symlinks)
{
	char buf[64];
	make_src();
	sh("cd src && ln -s bar/baz rel && ln -s /etc/passwd abs && ln -s bar dirlink");
	sh("tar -cf a.tar -C src .");
	struct lyr_layer *l = open_arc("a.tar");
	struct stat st = stat_of(l, "rel");
	cr_expect_eq(st.st_mode & S_IFMT, S_IFLNK);
	cr_expect_eq(st.st_size, 7);
	cr_expect_eq(lyr_readlink(l, "rel", buf, sizeof(buf)), 7);
	cr_expect_eq(memcmp(buf, "bar/baz", 7), 0);
	cr_expect_eq(lyr_readlink(l, "abs", buf, sizeof(buf)), 11);
	cr_expect_eq(memcmp(buf, "/etc/passwd", 11), 0);
	cr_expect_eq(lyr_readlink(l, "abs", buf, 4), 4, "truncated to the buffer");
	cr_expect_eq(lyr_readlink(l, "foo", buf, sizeof(buf)), -EINVAL);
	cr_expect_eq(lyr_readlink(l, "rel", buf, 0), -EINVAL);
	cr_expect_eq(lyr_readlink(l, "bar", buf, sizeof(buf)), -EINVAL);
	cr_expect_eq(lyr_readlink(l, "nope", buf, sizeof(buf)), -ENOENT);
	cr_expect_eq(lyr_open(l, "rel", O_RDONLY, 0), -ELOOP);
	cr_expect_eq(lyr_open(l, "dirlink", O_RDONLY | O_DIRECTORY, 0), -ENOTDIR);
	cr_expect_eq(lyr_lookup(l, "dirlink/baz", &st, NULL), -ENOTDIR,
		     "a layer never follows symlinks");
	lyr_destroy(l);
}

static void long_names(const char *fmt)
{
	char dir[400], file[512], rel[400];
	memset(rel, 0, sizeof(rel));
	snprintf(dir, sizeof(dir), "d%0100d/e%0100d", 1, 2);
	snprintf(file, sizeof(file), "%s/f%0100d", dir, 3);
	cr_assert_gt(strlen(file), 300);
	make_src();
	sh("mkdir -p src/%s && printf 'long %s\\n' > src/%s && "
	   "printf 'after\\n' > src/zz", dir, fmt, file);
	sh("tar --format=%s -cf a.tar -C src .", fmt);
	struct lyr_layer *l = open_arc("a.tar");
	snprintf(rel, sizeof(rel), "long %s\n", fmt);
	expect_file(l, file, rel);
	expect_file(l, "zz", "after\n");
	expect_file(l, "foo", "testfoo\n");
	cr_expect_eq(info_of(l).extractions, 0, "an uncompressed tar is read in place");
	lyr_destroy(l);
}

Test(archive, long_names_pax)
{
	long_names("pax");
}

Test(archive, long_names_gnu)
{
	long_names("gnu");
}

/*
 * A 1 MiB file with "hello" at 512 KiB and "end" in its last bytes.  With
 * gzip (name a.tgz) the sparse files take the extraction pass and foo is
 * read in place from the decompressed stream: two passes.
 */
static void sparse_case_in(const char *tar_opts, const char *name)
{
	bool gz = strcmp(name, "a.tar") != 0;

	make_src();
	sh("cd src && truncate -s 1048576 sp && printf hello | dd of=sp bs=1 "
	   "seek=524288 conv=notrunc && printf end | dd of=sp bs=1 seek=1048573 "
	   "conv=notrunc && truncate -s 2097152 tail");
	sh("tar -S %s -c%sf %s -C src .", tar_opts, gz ? "z" : "", name);
	struct stat ast;
	cr_assert_eq(stat(tpath(name), &ast), 0);
	cr_assert_lt(ast.st_size, 200000, "tar did not store the file as sparse");
	struct lyr_layer *l = open_arc(name);
	cr_expect_eq(stat_of(l, "sp").st_size, 1048576);
	size_t n;
	char *b = slurp(l, "sp", &n);
	cr_assert_eq(n, 1048576);
	for (size_t i = 0; i < n; i++) {
		if (i >= 524288 && i < 524293)
			cr_assert_eq(b[i], "hello"[i - 524288]);
		else if (i >= 1048573)
			cr_assert_eq(b[i], "end"[i - 1048573]);
		else if (b[i])
			cr_assert_fail("byte %zu is %d, not a hole", i, b[i]);
	}
	free(b);
	cr_expect_eq(stat_of(l, "tail").st_size, 2097152);
	b = slurp(l, "tail", &n);
	cr_expect_eq(n, 2097152);
	free(b);
	expect_file(l, "foo", "testfoo\n");
	cr_expect_eq(info_of(l).extractions, gz ? 2 : 1);
	lyr_destroy(l);
}

static void sparse_case(const char *tar_opts)
{
	sparse_case_in(tar_opts, "a.tar");
}

Test(archive, sparse_gnu)
{
	sparse_case("--format=gnu");
}

Test(archive, sparse_gnu_gzip)
{
	sparse_case_in("--format=gnu", "a.tgz");
}

Test(archive, sparse_pax_0_1)
{
	sparse_case("--format=pax --sparse-version=0.1");
}

Test(archive, sparse_pax_1_0)
{
	sparse_case("--format=pax --sparse-version=1.0");
}

Test(archive, empty_dirs_and_dir_nlink)
{
	make_src();
	sh("mkdir -p src/e1 src/bar/e2 src/bar/e3/e4");
	sh("tar -cf a.tar -C src .");
	struct lyr_layer *l = open_arc("a.tar");
	cr_expect_str_eq(listing(l, "e1"), ". ..");
	cr_expect_str_eq(listing(l, "bar/e3/e4"), ". ..");
	cr_expect_eq(stat_of(l, "").st_nlink, 4);       /* bar, e1 */
	cr_expect_eq(stat_of(l, "bar").st_nlink, 4);    /* e2, e3 */
	cr_expect_eq(stat_of(l, "bar/e3").st_nlink, 3); /* e4 */
	cr_expect_eq(stat_of(l, "e1").st_nlink, 2);
	lyr_destroy(l);
}

Test(archive, directory_inodes_distinct)
{
	make_src();
	sh("mkdir -p src/a/b src/c src/bar/d");
	sh("tar -cf a.tar -C src .");
	struct lyr_layer *l = open_arc("a.tar");
	const char *dirs[] = { "", "a", "a/b", "c", "bar", "bar/d" };
	for (size_t i = 0; i < 6; i++)
		for (size_t j = i + 1; j < 6; j++)
			cr_expect_neq(stat_of(l, dirs[i]).st_ino, stat_of(l, dirs[j]).st_ino,
				      "%s and %s", dirs[i], dirs[j]);
	cr_expect_eq(stat_of(l, "").st_ino, 1);
	struct lyr_dirlist d;
	cr_assert_eq(lyr_readdir(l, "bar/d", &d), 0);
	cr_expect_eq(d.ents[0].ino, stat_of(l, "bar/d").st_ino);
	cr_expect_eq(d.ents[1].ino, stat_of(l, "bar").st_ino);
	cr_expect_eq(d.ents[0].type, DT_DIR);
	lyr_dirlist_free(&d);
	cr_assert_eq(lyr_readdir(l, "", &d), 0);
	cr_expect_eq(d.ents[1].ino, 1, "the root's .. is the root");
	lyr_dirlist_free(&d);
	lyr_destroy(l);
}

static void big_ids(const char *fmt)
{
	make_src();
	sh("tar --format=%s --owner=100000 --group=200000 --numeric-owner "
	   "-cf a.tar -C src .", fmt);
	struct lyr_layer *l = open_arc("a.tar");
	struct stat st = stat_of(l, "bar/baz");
	cr_expect_eq(st.st_uid, 100000);
	cr_expect_eq(st.st_gid, 200000);
	lyr_destroy(l);
}

Test(archive, uid_gid_above_65535_pax)
{
	big_ids("pax");
}

Test(archive, uid_gid_above_65535_gnu)
{
	big_ids("gnu");
}

Test(archive, uid_gid_32_bit)
{
	struct went w[] = { { .path = "f", .uid = 3000000000, .gid = 4000000000 } };
	write_archive("a.tar", ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, w, 1);
	struct lyr_layer *l = open_arc("a.tar");
	cr_expect_eq(stat_of(l, "f").st_uid, 3000000000u);
	cr_expect_eq(stat_of(l, "f").st_gid, 4000000000u);
	lyr_destroy(l);
}

Test(archive, setuid_setgid_sticky_bits)
{
	make_src();
	sh("cd src && touch u g && chmod 04711 u && chmod 02750 g && mkdir t && "
	   "chmod 01777 t && touch all && chmod 07777 all");
	sh("tar -cf a.tar -C src .");
	struct lyr_layer *l = open_arc("a.tar");
	cr_expect_eq(stat_of(l, "u").st_mode, S_IFREG | 04711);
	cr_expect_eq(stat_of(l, "g").st_mode, S_IFREG | 02750);
	cr_expect_eq(stat_of(l, "t").st_mode, S_IFDIR | 01777);
	cr_expect_eq(stat_of(l, "all").st_mode, S_IFREG | 07777);
	lyr_destroy(l);
}

Test(archive, mtime_nanoseconds_pax)
{
	make_src();
	sh("touch -d '2020-01-02 03:04:05.123456789 UTC' src/foo");
	sh("tar --format=pax -cf a.tar -C src .");
	struct lyr_layer *l = open_arc("a.tar");
	struct stat st = stat_of(l, "foo");
	cr_expect_eq(st.st_mtim.tv_sec, 1577934245);
	cr_expect_eq(st.st_mtim.tv_nsec, 123456789);
	lyr_destroy(l);
}

Test(archive, times_atime_ctime_from_pax)
{
	make_src();
	sh("touch -a -d '2021-05-06 07:08:09.5 UTC' src/foo && "
	   "touch -m -d '2020-01-02 03:04:05.25 UTC' src/foo");
	sh("tar --format=pax --pax-option=atime:=1620284889.5 -cf a.tar -C src foo");
	struct lyr_layer *l = open_arc("a.tar");
	struct stat st = stat_of(l, "foo");
	cr_expect_eq(st.st_mtim.tv_sec, 1577934245);
	cr_expect_eq(st.st_mtim.tv_nsec, 250000000);
	cr_expect_eq(st.st_atim.tv_sec, 1620284889);
	cr_expect_eq(st.st_atim.tv_nsec, 500000000);
	lyr_destroy(l);
}

Test(archive, ustar_times_use_mtime)
{
	make_src();
	sh("touch -d '2020-01-02 03:04:05 UTC' src/foo");
	sh("tar --format=ustar -cf a.tar -C src foo");
	struct lyr_layer *l = open_arc("a.tar");
	struct stat st = stat_of(l, "foo");
	cr_expect_eq(st.st_mtim.tv_sec, 1577934245);
	cr_expect_eq(st.st_atim.tv_sec, 1577934245);
	cr_expect_eq(st.st_ctim.tv_sec, 1577934245);
	cr_expect_eq(st.st_mtim.tv_nsec, 0);
	lyr_destroy(l);
}

Test(archive, fifo_and_devices)
{
	make_src();
	sh("cd src && mkfifo fifo && mknod null c 1 3 && mknod blk b 7 0");
	sh("tar -cf a.tar -C src .");
	struct lyr_layer *l = open_arc("a.tar");
	struct stat st = stat_of(l, "fifo");
	cr_expect(S_ISFIFO(st.st_mode));
	st = stat_of(l, "null");
	cr_expect(S_ISCHR(st.st_mode));
	cr_expect_eq(st.st_rdev, makedev(1, 3));
	st = stat_of(l, "blk");
	cr_expect(S_ISBLK(st.st_mode));
	cr_expect_eq(major(st.st_rdev), 7);
	cr_expect_eq(minor(st.st_rdev), 0);
	cr_expect_eq(lyr_open(l, "fifo", O_RDONLY | O_NONBLOCK, 0), -ENXIO);
	cr_expect_eq(lyr_open(l, "null", O_RDONLY, 0), -ENXIO);
	struct lyr_dirlist d;
	cr_assert_eq(lyr_readdir(l, "", &d), 0);
	for (size_t i = 0; i < d.n; i++) {
		if (!strcmp(d.ents[i].name, "fifo"))
			cr_expect_eq(d.ents[i].type, DT_FIFO);
		if (!strcmp(d.ents[i].name, "null"))
			cr_expect_eq(d.ents[i].type, DT_CHR);
		if (!strcmp(d.ents[i].name, "blk"))
			cr_expect_eq(d.ents[i].type, DT_BLK);
	}
	lyr_dirlist_free(&d);
	lyr_destroy(l);
}

Test(archive, pax_xattrs)
{
	struct went w[] = {
		{ .path = "f", .data = "x", .xname = "user.foo", .xval = "bar" },
		{ .path = "g", .data = "y" },
	};
	char buf[64];
	write_archive("a.tar", ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, w, 2);
	struct lyr_layer *l = open_arc("a.tar");
	cr_expect_eq(lyr_getxattr(l, "f", "user.foo", NULL, 0), 3);
	cr_expect_eq(lyr_getxattr(l, "f", "user.foo", buf, sizeof(buf)), 3);
	cr_expect_eq(memcmp(buf, "bar", 3), 0);
	cr_expect_eq(lyr_getxattr(l, "f", "user.foo", buf, 2), -ERANGE);
	cr_expect_eq(lyr_getxattr(l, "f", "user.other", buf, sizeof(buf)), -ENODATA);
	cr_expect_eq(lyr_getxattr(l, "g", "user.foo", buf, sizeof(buf)), -ENODATA);
	cr_expect_eq(lyr_getxattr(l, "nope", "user.foo", buf, sizeof(buf)), -ENOENT);
	cr_expect_eq(lyr_listxattr(l, "f", NULL, 0), 9);
	cr_expect_eq(lyr_listxattr(l, "f", buf, sizeof(buf)), 9);
	cr_expect_eq(memcmp(buf, "user.foo", 9), 0);
	cr_expect_eq(lyr_listxattr(l, "f", buf, 4), -ERANGE);
	cr_expect_eq(lyr_listxattr(l, "g", buf, sizeof(buf)), 0);
	cr_expect_eq(lyr_setxattr(l, "f", "user.x", "1", 1, 0), -EROFS);
	cr_expect_eq(lyr_removexattr(l, "f", "user.foo"), -EROFS);
	expect_file(l, "f", "x");
	lyr_destroy(l);
}

Test(archive, gnu_tar_xattrs)
{
	make_src();
	sh("setfattr -n user.color -v blue src/foo && setfattr -n user.size -v big src/foo");
	sh("tar --format=pax --xattrs -cf a.tar -C src foo");
	struct lyr_layer *l = open_arc("a.tar");
	char buf[64];
	cr_expect_eq(lyr_getxattr(l, "foo", "user.color", buf, sizeof(buf)), 4);
	cr_expect_eq(memcmp(buf, "blue", 4), 0);
	ssize_t n = lyr_listxattr(l, "foo", buf, sizeof(buf));
	cr_expect_eq(n, (ssize_t)sizeof("user.color") + (ssize_t)sizeof("user.size"));
	lyr_destroy(l);
}

Test(archive, statfs_is_read_only)
{
	struct lyr_layer *l = seed();
	struct statvfs sv;
	cr_assert_eq(lyr_statfs(l, &sv), 0);
	cr_expect(sv.f_flag & ST_RDONLY);
	cr_expect_eq(sv.f_namemax, 255);
	cr_expect_eq(l->flags & LYR_LAYER_RDONLY, LYR_LAYER_RDONLY);
	lyr_destroy(l);
}

/* ---- 5. names -------------------------------------------------------- */

static void unsafe(const char *entry)
{
	struct went w[] = { { .path = "ok", .data = "1" }, { .path = entry, .data = "2" } };
	write_archive("a.tar", ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, w, 2);
	const char *msg = refused("a.tar", -EINVAL);
	cr_expect(strstr(msg, entry), "message does not name the entry %s: %s", entry, msg);
}

Test(archive, unsafe_dotdot_prefix_refused)
{
	unsafe("../x");
}

Test(archive, unsafe_dotdot_inside_refused)
{
	unsafe("a/../../x");
}

Test(archive, unsafe_dotdot_alone_refused)
{
	unsafe("..");
}

Test(archive, unsafe_dotdot_after_dir_refused)
{
	unsafe("a/b/..");
}

Test(archive, absolute_name_stripped)
{
	struct went w[] = {
		{ .path = "/etc/x", .data = "abs" },
		{ .path = "./y", .data = "dot" },
		{ .path = "//.//z//./w", .data = "mixed" },
	};
	write_archive("a.tar", ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, w, 3);
	struct lyr_layer *l = open_arc("a.tar");
	expect_file(l, "etc/x", "abs");
	expect_file(l, "y", "dot");
	expect_file(l, "z/w", "mixed");
	cr_expect_str_eq(listing(l, ""), ". .. etc y z");
	lyr_destroy(l);
}

Test(archive, root_entry_sets_root_metadata)
{
	struct went w[] = {
		{ .path = "./", .mode = S_IFDIR | 0710, .uid = 5, .gid = 6 },
		{ .path = "f", .data = "1" },
	};
	write_archive("a.tar", ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, w, 2);
	struct lyr_layer *l = open_arc("a.tar");
	struct stat st = stat_of(l, "");
	cr_expect_eq(st.st_mode, S_IFDIR | 0710);
	cr_expect_eq(st.st_uid, 5);
	cr_expect_eq(st.st_gid, 6);
	lyr_destroy(l);
}

Test(archive, root_entry_not_a_directory_refused)
{
	struct went w[] = { { .path = "./", .data = "1" } };
	write_archive("a.tar", ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, w, 1);
	refused("a.tar", -EINVAL);
}

Test(archive, implied_directories)
{
	struct went w[] = { { .path = "x/y/z", .data = "deep", .uid = 7 } };
	write_archive("a.tar", ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, w, 1);
	struct stat ast;
	cr_assert_eq(stat(tpath("a.tar"), &ast), 0);
	struct lyr_layer *l = open_arc("a.tar");
	struct stat st = stat_of(l, "x/y");
	cr_expect_eq(st.st_mode, S_IFDIR | 0755);
	cr_expect_eq(st.st_uid, 0);
	cr_expect_eq(st.st_gid, 0);
	cr_expect_eq(st.st_mtim.tv_sec, ast.st_mtim.tv_sec, "the archive's mtime");
	cr_expect_eq(stat_of(l, "x").st_nlink, 3);
	cr_expect_eq(stat_of(l, "").st_mode, S_IFDIR | 0755);
	cr_expect_str_eq(listing(l, "x"), ". .. y");
	expect_file(l, "x/y/z", "deep");
	cr_expect_eq(stat_of(l, "x/y/z").st_uid, 7);
	lyr_destroy(l);
}

Test(archive, readdir_sorted_and_stable)
{
	struct went w[] = {
		{ .path = "c", .data = "" }, { .path = "a", .data = "" },
		{ .path = "B", .data = "" }, { .path = "ab", .data = "" },
		{ .path = "b", .data = "" },
	};
	write_archive("a.tar", ARCHIVE_FORMAT_TAR_USTAR, w, 5);
	struct lyr_layer *l = open_arc("a.tar");
	cr_expect_str_eq(listing(l, ""), ". .. B a ab b c");
	lyr_destroy(l);
	l = open_arc("a.tar");
	cr_expect_str_eq(listing(l, ""), ". .. B a ab b c");
	lyr_destroy(l);
}

Test(archive, duplicate_file_later_wins)
{
	struct went w[] = {
		{ .path = "f", .data = "first", .mode = S_IFREG | 0600 },
		{ .path = "g", .data = "keep" },
		{ .path = "f", .data = "second!", .mode = S_IFREG | 0640 },
	};
	write_archive("a.tar", ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, w, 3);
	struct lyr_layer *l = open_arc("a.tar");
	expect_file(l, "f", "second!");
	cr_expect_eq(stat_of(l, "f").st_mode, S_IFREG | 0640);
	cr_expect_eq(stat_of(l, "f").st_size, 7);
	cr_expect_str_eq(listing(l, ""), ". .. f g");
	lyr_destroy(l);
}

Test(archive, duplicate_dir_keeps_children_updates_metadata)
{
	struct went w[] = {
		{ .path = "d/", .mode = S_IFDIR | 0700, .uid = 1 },
		{ .path = "d/x", .data = "x" },
		{ .path = "d/", .mode = S_IFDIR | 0750, .uid = 2 },
		{ .path = "d/y", .data = "y" },
	};
	write_archive("a.tar", ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, w, 4);
	struct lyr_layer *l = open_arc("a.tar");
	cr_expect_str_eq(listing(l, "d"), ". .. x y");
	cr_expect_eq(stat_of(l, "d").st_mode, S_IFDIR | 0750);
	cr_expect_eq(stat_of(l, "d").st_uid, 2);
	expect_file(l, "d/x", "x");
	lyr_destroy(l);
}

Test(archive, duplicate_changes_type)
{
	struct went w[] = {
		{ .path = "g/", .mode = S_IFDIR | 0755 },
		{ .path = "g/y", .data = "gone" },
		{ .path = "g", .data = "now a file" },
		{ .path = "h", .data = "was a file" },
		{ .path = "h/", .mode = S_IFDIR | 0700 },
		{ .path = "h/z", .data = "z" },
		{ .path = "s", .symlink = "g" },
		{ .path = "s/t", .data = "t" },
	};
	write_archive("a.tar", ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, w, 8);
	struct lyr_layer *l = open_arc("a.tar");
	struct stat st;
	expect_file(l, "g", "now a file");
	cr_expect_eq(lyr_lookup(l, "g/y", &st, NULL), -ENOTDIR);
	cr_expect_eq(stat_of(l, "h").st_mode, S_IFDIR | 0700);
	cr_expect_str_eq(listing(l, "h"), ". .. z");
	cr_expect(S_ISDIR(stat_of(l, "s").st_mode), "a symlink in a name is replaced");
	expect_file(l, "s/t", "t");
	cr_expect_str_eq(listing(l, ""), ". .. g h s");
	cr_expect_eq(stat_of(l, "").st_nlink, 4);
	lyr_destroy(l);
}

Test(archive, hard_link_keeps_replaced_inode)
{
	struct went w[] = {
		{ .path = "a", .data = "old" },
		{ .path = "b", .hardlink = "a" },
		{ .path = "a", .data = "new!" },
	};
	write_archive("a.tar", ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, w, 3);
	struct lyr_layer *l = open_arc("a.tar");
	expect_file(l, "a", "new!");
	expect_file(l, "b", "old");
	cr_expect_neq(stat_of(l, "a").st_ino, stat_of(l, "b").st_ino);
	cr_expect_eq(stat_of(l, "b").st_nlink, 1);
	cr_expect_eq(stat_of(l, "a").st_nlink, 1);
	cr_expect_str_eq(listing(l, ""), ". .. a b");
	lyr_destroy(l);
}

Test(archive, hard_link_to_missing_target_refused)
{
	struct went w[] = {
		{ .path = "a", .data = "x" },
		{ .path = "lnk", .hardlink = "missing" },
	};
	write_archive("a.tar", ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, w, 2);
	const char *msg = refused("a.tar", -EINVAL);
	cr_expect(strstr(msg, "lnk"), "names the entry: %s", msg);
}

Test(archive, hard_link_to_directory_refused)
{
	struct went w[] = {
		{ .path = "d/", .mode = S_IFDIR | 0755 },
		{ .path = "lnk", .hardlink = "d" },
	};
	write_archive("a.tar", ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, w, 2);
	const char *msg = refused("a.tar", -EINVAL);
	cr_expect(strstr(msg, "lnk"), "names the entry: %s", msg);
}

Test(archive, hard_link_with_unsafe_target_refused)
{
	struct went w[] = {
		{ .path = "a", .data = "x" },
		{ .path = "lnk", .hardlink = "../a" },
	};
	write_archive("a.tar", ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, w, 2);
	refused("a.tar", -EINVAL);
}

Test(archive, hard_links_share_xattrs)
{
	struct went w[] = {
		{ .path = "a", .data = "x", .xname = "user.k", .xval = "v" },
		{ .path = "b", .hardlink = "a" },
	};
	char buf[8];
	write_archive("a.tar", ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, w, 2);
	struct lyr_layer *l = open_arc("a.tar");
	cr_expect_eq(lyr_getxattr(l, "b", "user.k", buf, sizeof(buf)), 1);
	cr_expect_eq(stat_of(l, "b").st_ino, stat_of(l, "a").st_ino);
	lyr_destroy(l);
}

Test(archive, name_component_too_long_refused)
{
	char name[300];
	memset(name, 'n', 256);
	name[256] = '\0';
	struct went w[] = { { .path = name, .data = "x" } };
	write_archive("a.tar", ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, w, 1);
	refused("a.tar", -ENAMETOOLONG);
}

/* ---- 6. refused archives ---------------------------------------------- */

Test(archive, truncated_in_data_refused)
{
	make_src();
	sh("head -c 100000 /dev/urandom > src/big && tar -cf a.tar -C src . && "
	   "truncate -s 60000 a.tar");
	refused("a.tar", 0);
}

Test(archive, truncated_in_header_refused)
{
	make_src();
	sh("tar -cf a.tar -C src foo bar && truncate -s 1300 a.tar");
	refused("a.tar", 0);
}

Test(archive, truncated_gzip_refused)
{
	make_src();
	sh("head -c 100000 /dev/urandom > src/big && tar -czf a.tgz -C src . && "
	   "truncate -s 50000 a.tgz");
	refused("a.tgz", 0);
}

Test(archive, corrupt_header_checksum_refused)
{
	make_src();
	sh("tar --format=ustar -cf a.tar -C src foo bar");
	/* second header (after foo's header and one data block): its name */
	int fd = open(tpath("a.tar"), O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, "X", 1, 1024), 1);
	close(fd);
	refused("a.tar", 0);
}

Test(archive, corrupt_first_header_refused)
{
	make_src();
	sh("tar --format=ustar -cf a.tar -C src foo bar");
	int fd = open(tpath("a.tar"), O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, "7", 1, 100), 1); /* mode field */
	close(fd);
	refused("a.tar", 0);
}

Test(archive, non_archive_refused)
{
	const char text[] = "this is just some text,\nnot an archive at all\n";
	write_file("notes.txt", text, sizeof(text) - 1);
	refused("notes.txt", -EINVAL);
}

Test(archive, missing_archive_refused)
{
	refused("does-not-exist.tar", -ENOENT);
}

Test(archive, directory_as_archive_refused)
{
	sh("mkdir d");
	refused("d", -EISDIR);
}

Test(archive, empty_file_is_empty_tree)
{
	write_file("empty.tar", "", 0);
	struct lyr_layer *l = open_arc("empty.tar");
	cr_expect_str_eq(listing(l, ""), ". ..");
	cr_expect(S_ISDIR(stat_of(l, "").st_mode));
	lyr_destroy(l);
}

Test(archive, empty_tar_is_empty_tree)
{
	sh("tar -cf e.tar -T /dev/null");
	struct lyr_layer *l = open_arc("e.tar");
	cr_expect_str_eq(listing(l, ""), ". ..");
	lyr_destroy(l);
}

/* ---- 7. read-only ----------------------------------------------------- */

Test(archive, every_mutation_is_erofs)
{
	struct lyr_layer *l = seed();
	struct timespec ts[2] = { { 0, UTIME_NOW }, { 0, UTIME_NOW } };
	cr_expect_eq(lyr_mkdir(l, "newdir", 0755), -EROFS);
	cr_expect_eq(lyr_mknod(l, "node", S_IFIFO | 0644, 0), -EROFS);
	cr_expect_eq(lyr_symlink(l, "foo", "sym"), -EROFS);
	cr_expect_eq(lyr_link(l, "foo", "foo2"), -EROFS);
	cr_expect_eq(lyr_unlink(l, "foo"), -EROFS);
	cr_expect_eq(lyr_rmdir(l, "bar"), -EROFS);
	cr_expect_eq(lyr_rename(l, "foo", "zoo", 0), -EROFS);
	cr_expect_eq(lyr_chmod(l, "foo", 0600), -EROFS);
	cr_expect_eq(lyr_chown(l, "foo", 0, 0), -EROFS);
	cr_expect_eq(lyr_utimens(l, "foo", ts), -EROFS);
	cr_expect_eq(lyr_truncate(l, "foo", 0), -EROFS);
	cr_expect_eq(lyr_whiteout(l, "foo"), -EROFS);
	cr_expect_eq(lyr_set_opaque(l, "bar"), -EROFS);
	cr_expect_eq(lyr_setxattr(l, "foo", "user.a", "b", 1, 0), -EROFS);
	cr_expect_eq(lyr_removexattr(l, "foo", "user.a"), -EROFS);
	cr_expect_eq(lyr_tmpfile(l, "bar", 0600), -EROFS);
	cr_expect_eq(lyr_link_tmp(l, 0, "bar/t"), -EROFS);
	expect_file(l, "foo", "testfoo\n");
	cr_expect_str_eq(listing(l, ""), ". .. bar foo");
	lyr_destroy(l);
}

Test(archive, open_for_writing_is_erofs)
{
	struct lyr_layer *l = seed();
	cr_expect_eq(lyr_open(l, "foo", O_WRONLY, 0), -EROFS);
	cr_expect_eq(lyr_open(l, "foo", O_RDWR, 0), -EROFS);
	cr_expect_eq(lyr_open(l, "foo", O_RDONLY | O_TRUNC, 0), -EROFS);
	cr_expect_eq(lyr_open(l, "foo", O_WRONLY | O_APPEND, 0), -EROFS);
	cr_expect_eq(lyr_open(l, "new", O_WRONLY | O_CREAT, 0644), -EROFS);
	cr_expect_eq(lyr_open(l, "bar/new", O_RDONLY | O_CREAT, 0644), -EROFS);
	cr_expect_eq(lyr_open(l, "nodir/new", O_RDONLY | O_CREAT, 0644), -ENOENT);
	cr_expect_eq(lyr_open(l, "foo/new", O_RDONLY | O_CREAT, 0644), -ENOTDIR);
	cr_expect_eq(lyr_open(l, "bar", O_TMPFILE | O_WRONLY, 0600), -EROFS);
	cr_expect_eq(lyr_open(l, "bar", O_TMPFILE | O_RDONLY, 0600), -EINVAL);
	cr_expect_eq(lyr_open(l, "x", O_CREAT | O_DIRECTORY, 0755), -EINVAL);
	cr_expect_eq(lyr_open(l, "bar", O_CREAT | O_DIRECTORY, 0755), -EINVAL);
	cr_expect_eq(lyr_open(l, "missing", O_RDONLY, 0), -ENOENT);
	lyr_destroy(l);
}

Test(archive, open_create_flags_on_existing)
{
	struct lyr_layer *l = seed();
	cr_expect_eq(lyr_open(l, "foo", O_RDONLY | O_CREAT | O_EXCL, 0644), -EEXIST);
	cr_expect_eq(lyr_open(l, "bar", O_RDONLY | O_CREAT | O_EXCL, 0644), -EEXIST);
	cr_expect_eq(lyr_open(l, "bar", O_RDONLY | O_CREAT, 0644), -EISDIR);
	cr_expect_eq(lyr_open(l, "bar", O_WRONLY, 0), -EISDIR);
	cr_expect_eq(lyr_open(l, "bar", O_RDWR, 0), -EISDIR);
	int fd = lyr_open(l, "foo", O_RDONLY | O_CREAT, 0644);
	cr_assert_geq(fd, 0, "O_CREAT of an existing file opens it: %d", fd);
	char buf[16];
	cr_expect_eq(read(fd, buf, sizeof(buf)), 8);
	close(fd);
	fd = lyr_open(l, "foo", O_RDONLY | O_EXCL, 0);
	cr_expect_geq(fd, 0, "O_EXCL without O_CREAT is ignored");
	if (fd >= 0)
		close(fd);
	lyr_destroy(l);
}

Test(archive, open_returns_real_read_only_fds)
{
	struct lyr_layer *l = seed();
	int fd = lyr_open(l, "foo", O_RDONLY, 0);
	cr_assert_geq(fd, 0);
	cr_expect_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	cr_expect_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	cr_expect_eq(write(fd, "x", 1), -1);
	char buf[8];
	cr_expect_eq(pread(fd, buf, 4, 3), 4);
	cr_expect_eq(memcmp(buf, "tfoo", 4), 0);
	struct stat st;
	cr_expect_eq(fstat(fd, &st), 0);
	cr_expect_eq(st.st_size, 8);
	close(fd);

	fd = lyr_open(l, "bar", O_RDONLY | O_DIRECTORY, 0);
	cr_assert_geq(fd, 0);
	cr_expect_eq(fstat(fd, &st), 0);
	cr_expect(S_ISDIR(st.st_mode));
	DIR *d = fdopendir(fd);
	cr_assert_not_null(d);
	int n = 0;
	while (readdir(d))
		n++;
	cr_expect_eq(n, 2, "the fd is of an empty directory");
	closedir(d);
	fd = lyr_open(l, "", O_RDONLY, 0);
	cr_expect_geq(fd, 0);
	close(fd);
	lyr_destroy(l);
}

Test(archive, open_empty_file)
{
	struct went w[] = { { .path = "e", .data = "" }, { .path = "f", .data = "1" } };
	write_archive("a.tar", ARCHIVE_FORMAT_TAR_USTAR, w, 2);
	sh("gzip -k a.tar");
	for (int i = 0; i < 2; i++) {
		struct lyr_layer *l = open_arc(i ? "a.tar.gz" : "a.tar");
		int fd = lyr_open(l, "e", O_RDONLY, 0);
		struct stat st;
		cr_assert_geq(fd, 0);
		cr_expect_eq(fstat(fd, &st), 0);
		cr_expect(S_ISREG(st.st_mode));
		cr_expect_eq(st.st_size, 0);
		close(fd);
		cr_expect_eq(info_of(l).extractions, 0, "no pass for an empty file");
		lyr_destroy(l);
	}
}

/* ---- 8. the index ----------------------------------------------------- */

static struct stat index_stat(struct lyr_layer *l)
{
	char p[PATH_MAX + 16];
	struct stat st;

	snprintf(p, sizeof(p), "%s/index", info_of(l).key_dir);
	cr_assert_eq(stat(p, &st), 0, "%s", p);
	return st;
}

Test(archive, index_built_once_then_reused)
{
	struct lyr_layer *l = seed();
	cr_expect_eq(info_of(l).built_index, 1);
	struct stat a = index_stat(l);
	lyr_destroy(l);
	l = open_arc("a.tar");
	cr_expect_eq(info_of(l).built_index, 0, "the second open maps the index");
	struct stat b = index_stat(l);
	cr_expect_eq(a.st_ino, b.st_ino);
	cr_expect_eq(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
	cr_expect_eq(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
	expect_file(l, "bar/baz", "testbaz\n");
	lyr_destroy(l);
}

Test(archive, index_keyed_by_identity)
{
	struct lyr_layer *l = seed();
	char key1[PATH_MAX];
	snprintf(key1, sizeof(key1), "%s", info_of(l).key_dir);
	lyr_destroy(l);
	sh("touch -d '2001-01-01' a.tar");
	nseen = 0; /* touched on purpose */
	l = open_arc("a.tar");
	cr_expect_eq(info_of(l).built_index, 1, "a changed mtime is a new archive");
	cr_expect_str_neq(info_of(l).key_dir, key1);
	lyr_destroy(l);
}

/*
 * Issue 13: rep.tar (VERSION then CONFIG) is replaced, in place or by a
 * new file, with other.tar (CONFIG first, other bytes) of the same size
 * and mtime; the next open must read the new bytes, never the old
 * index's offsets into them.
 */
static void write_rep(const char *name, bool config_first, char tag)
{
	char v[32], c[32];

	snprintf(v, sizeof(v), "version-%c\n", tag);
	snprintf(c, sizeof(c), "config=%c%c%c\n", tag, tag, tag);
	struct went w[2] = {
		{ .path = "VERSION", .data = v },
		{ .path = "CONFIG", .data = c },
	};
	if (config_first) {
		struct went t = w[0];
		w[0] = w[1];
		w[1] = t;
	}
	write_archive(name, ARCHIVE_FORMAT_TAR_USTAR, w, 2);
}

static void read_rep(const char *want_version, const char *want_config, int want_built)
{
	struct lyr_layer *l = open_arc("rep.tar");
	cr_expect_eq(info_of(l).built_index, want_built, "built_index");
	expect_file(l, "VERSION", want_version);
	expect_file(l, "CONFIG", want_config);
	lyr_destroy(l);
}

/* Sets the file's mtime to exactly that of st. */
static void set_mtime(const char *path, const struct stat *st)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	cr_assert_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

Test(archive, index_stale_after_rewrite_in_place)
{
	write_rep("rep.tar", false, '1');
	write_rep("other.tar", true, '2');
	struct stat a, b, o;
	cr_assert_eq(stat(tpath("rep.tar"), &a), 0);
	cr_assert_eq(stat(tpath("other.tar"), &o), 0);
	cr_assert_eq(a.st_size, o.st_size, "the two archives have one size");
	read_rep("version-1\n", "config=111\n", 1);
	read_rep("version-1\n", "config=111\n", 0);
	/* dd conv=notrunc, then the mtime put back to the nanosecond */
	size_t n;
	int in = open(tpath("other.tar"), O_RDONLY | O_CLOEXEC);
	int out = open(tpath("rep.tar"), O_WRONLY | O_CLOEXEC);
	char buf[1 << 14];
	cr_assert(in >= 0 && out >= 0);
	while ((n = (size_t)read(in, buf, sizeof(buf))) > 0 && n != (size_t)-1)
		cr_assert_eq(write(out, buf, n), (ssize_t)n);
	close(in);
	close(out);
	set_mtime(tpath("rep.tar"), &a);
	cr_assert_eq(stat(tpath("rep.tar"), &b), 0);
	cr_assert(a.st_ino == b.st_ino && a.st_size == b.st_size &&
		  a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec);
	nseen = 0; /* rewritten on purpose */
	read_rep("version-2\n", "config=222\n", 1);
}

Test(archive, index_stale_after_delete_and_recreate)
{
	write_rep("rep.tar", false, '1');
	struct stat a, b;
	cr_assert_eq(stat(tpath("rep.tar"), &a), 0);
	read_rep("version-1\n", "config=111\n", 1);
	/*
	 * Deleted, then written anew with the same size and mtime.  ext4
	 * hands the freed inode number to the next file made in the
	 * directory: try a few names, keep one that got it.
	 */
	cr_assert_eq(unlink(tpath("rep.tar")), 0);
	bool reused = false;
	for (int i = 0; i < 8 && !reused; i++) {
		char name[32];
		snprintf(name, sizeof(name), "new%d.tar", i);
		write_rep(name, true, '2');
		cr_assert_eq(stat(tpath(name), &b), 0);
		reused = b.st_ino == a.st_ino;
		if (reused || i == 7)
			cr_assert_eq(rename(tpath(name), tpath("rep.tar")), 0);
	}
	cr_log_info("inode number %s", reused ? "reused" : "not reused on this file system");
	set_mtime(tpath("rep.tar"), &a);
	nseen = 0;
	read_rep("version-2\n", "config=222\n", 1);
}

/* The checksum part of the identity, alone: stat fields all equal. */
Test(archive, ident_checksum_tells_apart_what_stat_cannot)
{
	static unsigned char big[3 * ARC_SUM_BLOCK];
	struct arc_ident x, y;
	struct stat st;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 7);
	write_file("big", big, sizeof(big));
	int fd = open(tpath("big"), O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(arc_ident_read(fd, &st, &x), 0);
	cr_assert_eq(arc_ident_read(fd, &st, &y), 0);
	cr_expect_eq(x.sum, y.sum, "the same bytes, the same identity");
	cr_expect_eq(x.ctime_sec, st.st_ctim.tv_sec);
	/* one byte of the first block, then one of the last: told apart */
	cr_assert_eq(pwrite(fd, "x", 1, 100), 1);
	cr_assert_eq(arc_ident_read(fd, &st, &y), 0);
	cr_expect_neq(x.sum, y.sum, "a change in the first block");
	cr_assert_eq(pwrite(fd, big + 100, 1, 100), 1);
	cr_assert_eq(pwrite(fd, "x", 1, sizeof(big) - 1), 1);
	cr_assert_eq(arc_ident_read(fd, &st, &y), 0);
	cr_expect_neq(x.sum, y.sum, "a change in the last block");
	char kx[ARC_KEY_MAX], ky[ARC_KEY_MAX];
	arc_key_name(&x, kx, sizeof(kx));
	arc_key_name(&y, ky, sizeof(ky));
	cr_expect_str_neq(kx, ky, "a cache key of its own");
	/* shorter than st says: the file changed while it was looked at */
	cr_assert_eq(ftruncate(fd, 100), 0);
	cr_expect_eq(arc_ident_read(fd, &st, &y), -EIO);
	close(fd);
}

/* An index whose recorded checksum is not the archive's is not used. */
Test(archive, index_with_another_checksum_rebuilt)
{
	struct lyr_layer *l = seed();
	char p[PATH_MAX + 16];
	struct arc_hdr h;
	snprintf(p, sizeof(p), "%s/index", info_of(l).key_dir);
	lyr_destroy(l);
	int fd = open(p, O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	h.arc_sum ^= 1;
	uint64_t sum = 0xcbf29ce484222325ull; /* the header's own FNV-1a, redone */
	for (size_t i = 0; i < offsetof(struct arc_hdr, hdr_sum); i++)
		sum = (sum ^ ((unsigned char *)&h)[i]) * 0x100000001b3ull;
	h.hdr_sum = sum;
	cr_assert_eq(pwrite(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	close(fd);
	l = open_arc("a.tar");
	cr_expect_eq(info_of(l).built_index, 1, "rebuilt");
	expect_file(l, "foo", "testfoo\n");
	lyr_destroy(l);
}

static void corrupt_index_case(bool truncate_it)
{
	struct lyr_layer *l = seed();
	char p[PATH_MAX + 16];
	snprintf(p, sizeof(p), "%s/index", info_of(l).key_dir);
	struct stat a = index_stat(l);
	lyr_destroy(l);
	if (truncate_it) {
		cr_assert_eq(truncate(p, a.st_size / 2), 0);
	} else {
		int fd = open(p, O_WRONLY | O_CLOEXEC);
		cr_assert_geq(fd, 0);
		cr_assert_eq(pwrite(fd, "garbage!", 8, 0), 8);
		close(fd);
	}
	l = open_arc("a.tar");
	cr_expect_eq(info_of(l).built_index, 1, "a bad index is rebuilt");
	cr_expect_neq(index_stat(l).st_ino, a.st_ino);
	cr_expect_str_eq(listing(l, ""), ". .. bar foo");
	expect_file(l, "foo", "testfoo\n");
	lyr_destroy(l);
	l = open_arc("a.tar");
	cr_expect_eq(info_of(l).built_index, 0);
	lyr_destroy(l);
}

Test(archive, index_corrupt_header_rebuilt)
{
	corrupt_index_case(false);
}

Test(archive, index_truncated_rebuilt)
{
	corrupt_index_case(true);
}

Test(archive, index_header_checksum_catches_bad_counts)
{
	struct lyr_layer *l = seed();
	char p[PATH_MAX + 16];
	snprintf(p, sizeof(p), "%s/index", info_of(l).key_dir);
	lyr_destroy(l);
	int fd = open(p, O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	uint64_t nent = 1u << 30;
	cr_assert_eq(pwrite(fd, &nent, sizeof(nent), offsetof(struct arc_hdr, nent)), 8);
	close(fd);
	l = open_arc("a.tar");
	cr_expect_eq(info_of(l).built_index, 1);
	cr_expect_str_eq(listing(l, "bar"), ". .. baz");
	lyr_destroy(l);
}

Test(archive, index_body_damage_is_eio_not_a_crash)
{
	struct lyr_layer *l = seed();
	char p[PATH_MAX + 16];
	struct arc_hdr h;
	snprintf(p, sizeof(p), "%s/index", info_of(l).key_dir);
	lyr_destroy(l);
	int fd = open(p, O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	for (uint64_t i = 0; i < h.nslots; i++)
		cr_assert_eq(pwrite(fd, "\xff\xff\xff\x7f", 4, (off_t)(h.slots_off + 4 * i)), 4);
	close(fd);
	l = open_arc("a.tar");
	cr_expect_eq(info_of(l).built_index, 0, "the header is intact");
	struct stat st;
	cr_expect_eq(lyr_lookup(l, "foo", &st, NULL), -EIO);
	cr_expect_eq(lyr_open(l, "bar/baz", O_RDONLY, 0), -EIO);
	cr_expect_eq(lyr_lookup(l, "", &st, NULL), 0);
	lyr_destroy(l);
}

Test(archive, cache_dir_created_when_missing)
{
	struct lyr_archive_opts o = { .cache_dir = NULL };
	struct lyr_layer *l;
	struct lyr_error err;
	char want[PATH_MAX];
	make_src();
	sh("tar -cf a.tar -C src .");
	watch(tpath("a.tar"));
	snprintf(want, sizeof(want), "%s/deep/er/cache", T);
	setenv("LAYERFS_CACHE", want, 1);
	cr_assert_eq(lyr_archive_open(tpath("a.tar"), &o, &l, &err), 0, "%s", err.msg);
	cr_expect_eq(strncmp(info_of(l).key_dir, want, strlen(want)), 0, "%s",
		     info_of(l).key_dir);
	expect_file(l, "foo", "testfoo\n");
	lyr_destroy(l);
	cr_assert_eq(lyr_archive_open(tpath("a.tar"), NULL, &l, &err), 0, "%s", err.msg);
	cr_expect_eq(info_of(l).built_index, 0, "NULL opts use the same default");
	lyr_destroy(l);
}

/* Forks n children that open name at once; each writes its view to out.N. */
static void open_in_children(const char *name, int n, const char *file)
{
	int gate[2];
	pid_t pids[16];

	cr_assert_eq(pipe(gate), 0);
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		cr_assert_geq(pids[i], 0);
		if (pids[i])
			continue;
		static char line[1 << 16];
		char c, out[PATH_MAX + 16];
		struct lyr_archive_opts o = { .cache_dir = CACHE };
		struct lyr_layer *l;
		struct lyr_dirlist d;
		struct lyr_error err;
		alarm(120); /* never outlive a hung test */
		close(gate[1]);
		if (read(gate[0], &c, 1) != 0)
			_exit(10);
		if (lyr_archive_open(tpath(name), &o, &l, &err))
			_exit(11);
		if (lyr_readdir(l, "", &d))
			_exit(12);
		int len = 0;
		for (size_t k = 0; k < d.n; k++)
			len += snprintf(line + len, sizeof(line) - (size_t)len, "%s=%llu ",
					d.ents[k].name, (unsigned long long)d.ents[k].ino);
		lyr_dirlist_free(&d);
		if (file) {
			int fd = lyr_open(l, file, O_RDONLY, 0);
			if (fd < 0)
				_exit(13);
			char buf[4096];
			size_t got = read_fd(fd, buf, sizeof(buf));
			close(fd);
			len += snprintf(line + len, sizeof(line) - (size_t)len, "[%.*s]",
					(int)got, buf);
		}
		snprintf(out, sizeof(out), "%s/out.%d", T, i);
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, line, (size_t)len) != len)
			_exit(14);
		close(fd);
		lyr_destroy(l);
		_exit(0);
	}
	close(gate[0]);
	close(gate[1]); /* opens the gate for all at once */
	for (int i = 0; i < n; i++) {
		int st;
		cr_assert_eq(waitpid(pids[i], &st, 0), pids[i]);
		cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d: status %d", i, st);
	}
	for (int i = 1; i < n; i++) {
		char a[32], b[32];
		snprintf(a, sizeof(a), "out.0");
		snprintf(b, sizeof(b), "out.%d", i);
		cr_expect_eq(file_sum(tpath(a)), file_sum(tpath(b)), "child %d disagrees", i);
	}
}

Test(archive, index_built_by_8_processes_at_once)
{
	make_rich_src();
	sh("cd src && for i in $(seq 1 2000); do echo $i > f$i; done");
	sh("tar -cf a.tar -C src .");
	open_in_children("a.tar", 8, "f1999");
	struct lyr_layer *l = open_arc("a.tar");
	cr_expect_eq(info_of(l).built_index, 0);
	static char want[1 << 16];
	int fd = open(tpath("out.0"), O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	size_t n = read_fd(fd, want, sizeof(want) - 1);
	want[n] = '\0';
	close(fd);
	cr_expect(strstr(want, "[1999\n]"), "content: %s", want + n - 20);
	cr_expect(strstr(want, "..=1 "), "the root's .. is inode 1");
	/* no temporary index files are left behind */
	DIR *d = opendir(info_of(l).key_dir);
	lyr_destroy(l);
	cr_assert_not_null(d);
	struct dirent *de;
	while ((de = readdir(d)))
		cr_expect_null(strstr(de->d_name, ".tmp"), "left over: %s", de->d_name);
	closedir(d);
}

struct progress {
	uint64_t calls, entries, done, total;
};

static void progress_cb(void *ctx, uint64_t entries, uint64_t done, uint64_t total)
{
	struct progress *pr = ctx;

	pr->calls++;
	pr->entries = entries;
	pr->done = done;
	pr->total = total;
}

Test(archive, progress_callback_reports_entries)
{
	struct progress pr = { 0 };
	struct lyr_archive_opts o = { .cache_dir = CACHE, .progress = progress_cb,
				      .progress_ctx = &pr };
	struct lyr_layer *l;
	struct lyr_error err;
	struct stat st;

	make_src();
	sh("cd src && for i in $(seq 1 5000); do : > f$i; done");
	sh("tar -cf a.tar -C src .");
	watch(tpath("a.tar"));
	cr_assert_eq(lyr_archive_open(tpath("a.tar"), &o, &l, &err), 0, "%s", err.msg);
	cr_assert_eq(stat(tpath("a.tar"), &st), 0);
	cr_expect_geq(pr.calls, 2);
	cr_expect_eq(pr.entries, 5004); /* ./, foo, bar/, bar/baz, 5000 files */
	cr_expect_gt(pr.done, 0);
	cr_expect_eq(pr.total, (uint64_t)st.st_size);
	lyr_destroy(l);
}

/* Writes an uncompressed ustar archive of n empty files in 100 dirs. */
static void write_many(const char *name, unsigned n)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	char path[64];

	archive_write_set_format(a, ARCHIVE_FORMAT_TAR_USTAR);
	archive_write_add_filter_none(a);
	cr_assert_eq(archive_write_open_filename(a, tpath(name)), ARCHIVE_OK);
	for (unsigned i = 0; i < n; i++) {
		archive_entry_clear(e);
		snprintf(path, sizeof(path), "dir%03u/file-%07u.txt", i % 100, i);
		archive_entry_set_pathname(e, path);
		archive_entry_set_mode(e, S_IFREG | 0644);
		archive_entry_set_size(e, 0);
		archive_entry_set_mtime(e, 1600000000, 0);
		cr_assert_eq(archive_write_header(a, e), ARCHIVE_OK);
	}
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
}

/* Not a timed assertion: prints what it measures. */
Test(archive, index_of_100000_entries)
{
	const unsigned n = 100000;
	write_many("big.tar", n);
	write_many("small.tar", 10);
	double t0 = now();
	struct lyr_layer *l = open_arc("big.tar");
	double build = now() - t0;
	struct lyr_archive_info in = info_of(l);
	cr_expect_eq(in.nent, n + 101);
	struct stat st = stat_of(l, "dir042/file-0099942.txt");
	cr_expect(S_ISREG(st.st_mode));
	struct lyr_dirlist d;
	cr_assert_eq(lyr_readdir(l, "dir099", &d), 0);
	cr_expect_eq(d.n, 1002);
	lyr_dirlist_free(&d);
	lyr_destroy(l);
	struct lyr_layer *s = open_arc("small.tar");
	lyr_destroy(s);

	double big = 1e9, small = 1e9;
	for (int i = 0; i < 20; i++) {
		t0 = now();
		l = open_arc("big.tar");
		double t = now() - t0;
		big = t < big ? t : big;
		cr_assert_eq(info_of(l).built_index, 0);
		lyr_destroy(l);
		t0 = now();
		s = open_arc("small.tar");
		t = now() - t0;
		small = t < small ? t : small;
		lyr_destroy(s);
	}
	l = open_arc("big.tar");
	t0 = now();
	for (unsigned i = 0; i < n; i += 7) {
		char p[64];
		snprintf(p, sizeof(p), "dir%03u/file-%07u.txt", i % 100, i);
		cr_assert_eq(lyr_lookup(l, p, &st, NULL), 0);
	}
	double lookups = (now() - t0) / (n / 7);
	lyr_destroy(l);
	cr_log_info("index of %u entries: built in %.3f s, %llu bytes "
		    "(%.1f bytes/entry incl. names); open with index: %.1f us "
		    "(10 entries: %.1f us); lookup %.2f us",
		    n, build, (unsigned long long)in.index_size,
		    (double)in.index_size / (n + 101), big * 1e6, small * 1e6,
		    lookups * 1e6);
	fprintf(stderr, "archive: %u entries: index built in %.3f s, %llu bytes "
		"(%.1f B/entry incl. names), open %.1f us vs %.1f us for 10 entries, "
		"lookup %.2f us\n", n, build, (unsigned long long)in.index_size,
		(double)in.index_size / (n + 101), big * 1e6, small * 1e6, lookups * 1e6);
}

/* ---- 9. content ------------------------------------------------------- */

Test(archive, in_place_content_exact_pax_and_gnu)
{
	make_src();
	sh("cd src && head -c 70000 /dev/urandom > rnd && mkdir -p "
	   "l%0150d/m%0150d && printf 'deep\\n' > l%0150d/m%0150d/n", 0, 0, 0, 0);
	for (int i = 0; i < 2; i++) {
		char name[16];
		snprintf(name, sizeof(name), "%s.tar", i ? "gnu" : "pax");
		sh("tar --format=%s -cf %s -C src .", i ? "gnu" : "pax", name);
		struct lyr_layer *l = open_arc(name);
		size_t n;
		char *got = slurp(l, "rnd", &n);
		char *want = malloc(70000);
		int fd = open(tpath("src/rnd"), O_RDONLY | O_CLOEXEC);
		cr_assert_eq(read_fd(fd, want, 70000), 70000);
		close(fd);
		cr_expect_eq(n, 70000);
		cr_expect_eq(memcmp(got, want, 70000), 0, "%s: rnd differs", name);
		free(got);
		free(want);
		char deep[400];
		snprintf(deep, sizeof(deep), "l%0150d/m%0150d/n", 0, 0);
		expect_file(l, deep, "deep\n");
		expect_file(l, "foo", "testfoo\n");
		cr_expect_eq(info_of(l).extractions, 0);
		char log[PATH_MAX + 16];
		snprintf(log, sizeof(log), "%s/extract.log", info_of(l).key_dir);
		cr_expect_neq(access(log, F_OK), 0, "no extraction pass for %s", name);
		lyr_destroy(l);
	}
}

static int count_data_files(struct lyr_layer *l)
{
	char p[PATH_MAX + 16];
	int n = 0;

	snprintf(p, sizeof(p), "%s/data", info_of(l).key_dir);
	DIR *d = opendir(p);
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * A compressed tar is decompressed once, whole, into the cache's stream
 * file, and its members are then read in place there; other compressed
 * formats (zip here) are extracted once, a data file per inode.
 */
static void compressed_once(const char *make, const char *name, int files)
{
	bool stream = files == 0;
	char log[PATH_MAX + 16], path[PATH_MAX + 16];
	struct stat st;

	make_rich_src();
	sh("cd src && for i in 1 2 3 4 5; do echo file$i > f$i; done");
	sh("%s", make);
	struct lyr_layer *l = open_arc(name);
	snprintf(path, sizeof(path), "%s/stream", info_of(l).key_dir);
	cr_expect_eq(count_data_files(l), 0);
	expect_file(l, "f3", "file3\n");
	cr_expect_eq(info_of(l).extractions, 1);
	cr_expect_eq(count_data_files(l), files, "%d data files", count_data_files(l));
	cr_expect_eq(stat(path, &st) == 0, stream);
	if (stream)
		sh("gzip -dc %s | cmp -s - '%s'", name, path); /* the stream, whole */
	expect_file(l, "bar/baz", "testbaz\n");
	expect_file(l, "hard", "testfoo\n");
	expect_file(l, "f5", "file5\n");
	cr_expect_eq(info_of(l).extractions, 1, "later opens reuse the pass");
	snprintf(log, sizeof(log), "%s/extract.log", info_of(l).key_dir);
	lyr_destroy(l);
	l = open_arc(name);
	expect_file(l, "f1", "file1\n");
	cr_expect_eq(info_of(l).extractions, 0, "another opener finds it done");
	lyr_destroy(l);
	cr_expect_eq(count_lines(log), 1);
}

Test(archive, compressed_tar_decompressed_once)
{
	compressed_once("tar -czf a.tgz -C src .", "a.tgz", 0);
}

Test(archive, zip_extracted_once)
{
	/* foo, hard (zip keeps no hard links), bar/baz, suid, f1..f5 */
	compressed_once("cd src && zip -qry ../a.zip .", "a.zip", 9);
}

Test(archive, data_files_are_read_only_and_executable)
{
	struct lyr_layer *l = seed();
	int fd = lyr_open(l, "foo", O_RDONLY, 0);
	struct stat st;
	cr_assert_geq(fd, 0);
	cr_expect_eq(fstat(fd, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0555);
	close(fd);
	lyr_destroy(l);
}

/* A small member of an uncompressed tar: a sealed memfd, no cache file. */
Test(archive, small_member_is_sealed_and_read_only_without_cache_file)
{
	struct lyr_layer *l = seed();
	char proc[64], buf[16];
	int fd = lyr_open(l, "foo", O_RDONLY, 0);

	cr_assert_geq(fd, 0);
	cr_expect_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	cr_expect_eq(write(fd, "x", 1), -1);
	cr_expect_eq(errno, EBADF);
	cr_expect_eq(pread(fd, buf, sizeof(buf), 0), 8);
	cr_expect_eq(memcmp(buf, "testfoo\n", 8), 0);
	/* Reopened for writing through /proc, it still cannot change. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	int w = open(proc, O_WRONLY);
	if (w >= 0) {
		cr_expect_eq(write(w, "x", 1), -1);
		cr_expect_eq(errno, EPERM);
		close(w);
	}
	close(fd);
	sh("! find '%s' -path '*/data/*' | grep -q .", CACHE); /* no cache file */
	lyr_destroy(l);
}

/* Where fd's file lives: whether it is a file of the cache. */
static bool in_cache(int fd)
{
	char proc[64], target[PATH_MAX];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, target, sizeof(target) - 1);
	cr_assert_gt(n, 0);
	target[n] = '\0';
	return !strncmp(target, CACHE, strlen(CACHE)) && strstr(target, "/data/");
}

static void read_foo(struct lyr_layer *l, bool want_cached)
{
	char buf[16];
	int fd = lyr_open(l, "foo", O_RDONLY, 0);

	cr_assert_geq(fd, 0);
	cr_expect_eq(in_cache(fd), want_cached);
	cr_expect_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	cr_expect_eq(read_fd(fd, buf, sizeof(buf)), 8);
	cr_expect_eq(memcmp(buf, "testfoo\n", 8), 0);
	close(fd);
}

/* Opened again, by this process or another, a small member is cached. */
Test(archive, small_member_opened_again_gets_a_cache_file)
{
	struct lyr_layer *l = seed();

	read_foo(l, false);
	read_foo(l, true);
	read_foo(l, true);
	lyr_destroy(l);
	/* Another opener of the archive finds the cache file. */
	l = open_arc("a.tar");
	read_foo(l, true);
	lyr_destroy(l);
	/* bar was never opened: a new opener still copies it once. */
	l = open_arc("a.tar");
	int fd = lyr_open(l, "bar", O_RDONLY, 0);
	cr_assert_geq(fd, 0);
	cr_expect(!in_cache(fd));
	close(fd);
	lyr_destroy(l);
}

/* Without the "opened" bits (here: not a file), every open copies. */
Test(archive, small_member_without_opened_bits_never_caches)
{
	struct lyr_layer *l = seed();

	sh("d=$(dirname \"$(find '%s' -name index)\") && mkdir \"$d/opened\"", CACHE);
	for (int i = 0; i < 3; i++)
		read_foo(l, false);
	lyr_destroy(l);
	sh("! find '%s' -path '*/data/*' | grep -q .", CACHE);
}

struct thr {
	struct lyr_layer *l;
	const char *path;
	pthread_barrier_t *bar;
	char buf[4096];
	size_t n;
	int fd;
};

static void *thr_open(void *p)
{
	struct thr *t = p;

	pthread_barrier_wait(t->bar);
	t->fd = lyr_open(t->l, t->path, O_RDONLY, 0);
	if (t->fd >= 0) {
		t->n = read_fd(t->fd, t->buf, sizeof(t->buf));
		close(t->fd);
	}
	return NULL;
}

static void threads_case(const char *name, const char *path, const char *want)
{
	struct lyr_layer *l = open_arc(name);
	pthread_barrier_t bar;
	struct thr t[8];
	pthread_t id[8];

	pthread_barrier_init(&bar, NULL, 8);
	for (int i = 0; i < 8; i++) {
		t[i] = (struct thr){ .l = l, .path = path, .bar = &bar };
		cr_assert_eq(pthread_create(&id[i], NULL, thr_open, &t[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(id[i], NULL);
		cr_expect_geq(t[i].fd, 0, "thread %d: %s", i, strerror(-t[i].fd));
		cr_expect_eq(t[i].n, strlen(want));
		cr_expect_eq(memcmp(t[i].buf, want, strlen(want)), 0);
	}
	pthread_barrier_destroy(&bar);
	cr_expect_leq(info_of(l).extractions, 1);
	lyr_destroy(l);
}

Test(archive, first_open_from_threads_in_place)
{
	make_src();
	sh("tar -cf a.tar -C src .");
	threads_case("a.tar", "bar/baz", "testbaz\n");
}

Test(archive, first_open_from_threads_compressed)
{
	make_src();
	sh("tar -cJf a.txz -C src .");
	threads_case("a.txz", "bar/baz", "testbaz\n");
	char log[PATH_MAX + 16];
	struct lyr_layer *l = open_arc("a.txz");
	snprintf(log, sizeof(log), "%s/extract.log", info_of(l).key_dir);
	lyr_destroy(l);
	cr_expect_eq(count_lines(log), 1, "one pass for all threads");
}

Test(archive, first_open_from_processes_compressed)
{
	make_src();
	sh("cd src && for i in $(seq 1 300); do echo $i > f$i; done");
	sh("tar -cf - -C src . | zstd -q > a.tar.zst");
	struct lyr_layer *l = open_arc("a.tar.zst"); /* index only */
	char log[PATH_MAX + 16];
	snprintf(log, sizeof(log), "%s/extract.log", info_of(l).key_dir);
	lyr_destroy(l);
	open_in_children("a.tar.zst", 8, "f150");
	cr_expect_eq(count_lines(log), 1, "decompressed once, not once per process");
	int fd = open(tpath("out.3"), O_RDONLY | O_CLOEXEC);
	static char buf[1 << 16];
	size_t n = read_fd(fd, buf, sizeof(buf) - 1);
	buf[n] = '\0';
	close(fd);
	cr_expect(strstr(buf, "[150\n]"));
}

Test(archive, first_open_from_processes_in_place)
{
	make_src();
	sh("cd src && head -c 300000 /dev/urandom > big");
	sh("tar -cf a.tar -C src .");
	open_in_children("a.tar", 8, "foo");
	struct lyr_layer *l = open_arc("a.tar");
	size_t n;
	char *got = slurp(l, "big", &n);
	cr_expect_eq(n, 300000);
	char *want = malloc(300000);
	int fd = open(tpath("src/big"), O_RDONLY | O_CLOEXEC);
	read_fd(fd, want, 300000);
	close(fd);
	cr_expect_eq(memcmp(got, want, 300000), 0);
	free(got);
	free(want);
	lyr_destroy(l);
}

Test(archive, cpio_hard_link_data_on_last_link)
{
	make_src();
	sh("cd src && ln foo l1 && ln foo l2");
	sh("cd src && find . | cpio -o -H newc | gzip > ../a.cpio.gz");
	struct lyr_layer *l = open_arc("a.cpio.gz");
	expect_file(l, "foo", "testfoo\n");
	expect_file(l, "l1", "testfoo\n");
	expect_file(l, "l2", "testfoo\n");
	cr_expect_eq(stat_of(l, "l2").st_ino, stat_of(l, "foo").st_ino);
	cr_expect_eq(stat_of(l, "l1").st_nlink, 3);
	cr_expect_eq(stat_of(l, "foo").st_size, 8);
	lyr_destroy(l);
}

Test(archive, info_rejects_other_layers)
{
	struct lyr_archive_info in;
	struct lyr_layer *l = seed();
	cr_expect_eq(lyr_archive_info(l, &in), 0);
	struct lyr_layer fake = { .ops = l->ops == NULL ? NULL : &(struct lyr_layer_ops){ 0 } };
	cr_expect_eq(lyr_archive_info(&fake, &in), -EINVAL);
	lyr_destroy(l);
}

/* ---- fd_name (layer ops version 3) ------------------------------------ */

/* An archive of every kind of member fd_name tells apart. */
static void write_named(const char *name)
{
	static char big[70001];
	memset(big, 'b', sizeof(big) - 1);
	const struct went w[] = {
		{ .path = "d", .mode = S_IFDIR | 0755 },
		{ .path = "d/e", .mode = S_IFDIR | 0755 },
		{ .path = "d/e/small", .data = "s\n" },
		{ .path = "top", .data = "t\n" },
		{ .path = "big", .data = big },
		{ .path = "empty" },
		{ .path = "ln", .mode = S_IFLNK | 0777, .symlink = "top" },
	};
	write_archive(name, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, w, sizeof(w) / sizeof(w[0]));
}

/* "/proc/self/fd/FD" (one of 4 rotating buffers). */
static const char *P_fd(int fd)
{
	static char buf[4][32];
	static int i;
	char *p = buf[i++ % 4];

	snprintf(p, 32, "/proc/self/fd/%d", fd);
	return p;
}

/* lyr_fd_name of fd in l: its result, the name in name. */
static int name_of(struct lyr_layer *l, int fd, char *name)
{
	strcpy(name, "(unset)");
	return lyr_fd_name(l, fd, name, PATH_MAX);
}

static int open_ok(struct lyr_layer *l, const char *path, int flags)
{
	int fd = lyr_open(l, path, flags, 0);

	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(-fd));
	return fd;
}

Test(archive, fd_name_of_members_in_memfds_and_cache_files)
{
	char name[PATH_MAX];

	write_named("n.tar");
	struct lyr_layer *l = open_arc("n.tar");
	/* a small member opened the first time: a memfd */
	int small = open_ok(l, "d/e/small", O_RDONLY);
	cr_assert(!in_cache(small));
	cr_assert_eq(name_of(l, small, name), 0);
	cr_assert_str_eq(name, "d/e/small");
	/* ... then a cache file */
	int again = open_ok(l, "d/e/small", O_RDONLY);
	cr_assert(in_cache(again));
	cr_assert_eq(name_of(l, again, name), 0);
	cr_assert_str_eq(name, "d/e/small");
	/* a large one: a cache file at once */
	int big = open_ok(l, "big", O_RDONLY);
	cr_assert(in_cache(big));
	cr_assert_eq(name_of(l, big, name), 0);
	cr_assert_str_eq(name, "big");
	int top = open_ok(l, "top", O_RDONLY), empty = open_ok(l, "empty", O_RDONLY);
	cr_assert_eq(name_of(l, top, name), 0);
	cr_assert_str_eq(name, "top");
	cr_assert_eq(name_of(l, empty, name), 0);
	cr_assert_str_eq(name, "empty");
	/* a directory: a stand-in of its own */
	int d = open_ok(l, "d/e", O_RDONLY | O_DIRECTORY), root = open_ok(l, "", O_RDONLY);
	cr_assert_eq(name_of(l, d, name), 0);
	cr_assert_str_eq(name, "d/e");
	cr_assert_eq(name_of(l, root, name), 0);
	cr_assert_str_eq(name, "");
	struct stat dst;
	cr_assert_eq(fstat(d, &dst), 0);
	cr_assert(S_ISDIR(dst.st_mode));
	cr_expect_str_eq(listing(l, "d/e"), ". .. small");
	/* a symlink's own fd (O_PATH | O_NOFOLLOW): nameable, of no use but that */
	int ln = lyr_open(l, "ln", O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
	cr_assert_geq(ln, 0);
	cr_assert_eq(name_of(l, ln, name), 0);
	cr_assert_str_eq(name, "ln");
	char c;
	cr_assert_eq(read(ln, &c, 1), -1);
	cr_assert_eq(errno, EBADF, "an O_PATH fd");
	close(ln);
	cr_assert_eq(lyr_open(l, "ln", O_RDONLY | O_NOFOLLOW, 0), -ELOOP);
	/* another opener of the archive (another process) knows them too */
	struct lyr_layer *l2 = open_arc("n.tar");
	cr_assert_eq(name_of(l2, small, name), 0);
	cr_assert_str_eq(name, "d/e/small");
	cr_assert_eq(name_of(l2, again, name), 0);
	cr_assert_str_eq(name, "d/e/small");
	cr_assert_eq(name_of(l2, d, name), 0);
	cr_assert_str_eq(name, "d/e");
	lyr_destroy(l2);
	close(small);
	close(again);
	close(big);
	close(top);
	close(empty);
	close(d);
	close(root);
	lyr_destroy(l);
}

Test(archive, fd_name_of_files_not_its_members)
{
	char name[PATH_MAX], link[PATH_MAX], forged[128];

	write_named("n.tar");
	write_named("o.tar");
	struct lyr_layer *l = open_arc("n.tar"), *o = open_arc("o.tar");
	/* another archive's memfd and cache file, even with the same members */
	int om = open_ok(o, "top", O_RDONLY), oc = open_ok(o, "top", O_RDONLY);
	cr_assert(!in_cache(om) && in_cache(oc));
	cr_assert_eq(name_of(o, om, name), 0, "the other archive's own");
	cr_assert_eq(name_of(l, om, name), -ENOENT);
	cr_assert_eq(name_of(l, oc, name), -ENOENT);
	int od = open_ok(o, "d", O_RDONLY | O_DIRECTORY);
	cr_assert_eq(name_of(l, od, name), -ENOENT, "another archive's stand-in");
	/* not a layer's at all */
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	cr_assert_eq(name_of(l, pfd[0], name), -ENOENT);
	close(pfd[0]);
	close(pfd[1]);
	int f = open(tpath("n.tar"), O_RDONLY | O_CLOEXEC);
	cr_assert_geq(f, 0);
	cr_assert_eq(name_of(l, f, name), -ENOENT, "the archive itself");
	close(f);
	/* memfds named like the layer's, for no member */
	int m = open_ok(l, "top", O_RDONLY);
	ssize_t n = readlink(P_fd(m), link, sizeof(link) - 1);
	cr_assert_gt(n, 0);
	link[n] = '\0';
	char *colon = strrchr(link, ':');
	cr_assert(!strncmp(link, "/memfd:layerfs:", 15) && colon, "%s", link);
	const char *bad[] = { "99999999", "x", "", "1x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(forged, sizeof(forged), "%.*s%s", (int)(colon + 1 - (link + 7)),
			 link + 7, bad[i]);
		int mf = memfd_create(forged, MFD_CLOEXEC);
		cr_assert_geq(mf, 0);
		cr_assert_eq(name_of(l, mf, name), -ENOENT, "memfd %s: %s", forged, name);
		close(mf);
	}
	/* the cache's own files */
	int cf = open_ok(l, "top", O_RDONLY); /* n.tar's cache file now */
	n = readlink(P_fd(cf), link, sizeof(link) - 1);
	cr_assert_gt(n, 0);
	link[n] = '\0';
	strcpy(strstr(link, "/data/"), "/index");
	int idx = open(link, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(idx, 0, "%s: %s", link, strerror(errno));
	cr_assert_eq(name_of(l, idx, name), -ENOENT, "the index");
	close(idx);
	close(cf);
	close(m);
	close(om);
	close(oc);
	close(od);
	lyr_destroy(o);
	lyr_destroy(l);
}
