/* SPDX-License-Identifier: MIT */
/*
 * test_archive_oci.c - suite "archive_oci": OCI image-layer markers in
 * archive lowers (the image-spec's layer rules): ".wh.NAME" is a whiteout
 * of NAME, ".wh..wh..opq" makes its directory opaque, other ".wh..wh."
 * names are the layer's metadata; no marker is a name of the view.
 *
 * Divisions:
 *   1. helpers: a per-test directory, a libarchive tar writer
 *   2. one archive layer: lookup flags, listings, every other operation
 *   3. archive layers stacked in a union, as directory lowers would be
 *   4. image blobs: SHA-256, and the digest checked when indexed
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "archive_index.h"
#include "layerfs.h"
#include "tmpdir.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- 1. helpers ------------------------------------------------------ */

static char T[256];
static char CACHE[PATH_MAX];

static void setup(void)
{
	ut_tmpdir_make(T, sizeof(T), "oci");
	snprintf(CACHE, sizeof(CACHE), "%s/cache", T);
}

static void teardown(void)
{
	ut_tmpdir_remove(T);
}

TestSuite(archive_oci, .init = setup, .fini = teardown);

/* One member; mode 0 is a 0644 file, data its content. */
struct mem {
	const char *path;
	mode_t mode;
	const char *data;
	const char *symlink;
	const char *hardlink;
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Writes tar T/name (pax) and opens it as a layer. */
static struct lyr_layer *tar_layer(const char *name, const struct mem *m, size_t n)
{
	char path[PATH_MAX];
	struct archive *a = archive_write_new();

	snprintf(path, sizeof(path), "%s/%s", T, name);
	cr_assert_not_null(a);
	cr_assert_eq(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	cr_assert_eq(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		size_t len = m[i].data ? strlen(m[i].data) : 0;
		archive_entry_set_pathname(e, m[i].path);
		archive_entry_set_mode(e, m[i].mode ? m[i].mode : S_IFREG | 0644);
		archive_entry_set_mtime(e, 1600000000, 0);
		if (m[i].symlink)
			archive_entry_set_symlink(e, m[i].symlink);
		if (m[i].hardlink)
			archive_entry_set_hardlink(e, m[i].hardlink);
		archive_entry_set_size(e, (la_int64_t)len);
		cr_assert_eq(archive_write_header(a, e), ARCHIVE_OK, "%s",
			     archive_error_string(a));
		if (len)
			cr_assert_eq(archive_write_data(a, m[i].data, len), (la_ssize_t)len);
		archive_entry_free(e);
	}
	cr_assert_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);

	struct lyr_archive_opts o = { .cache_dir = CACHE };
	struct lyr_layer *l = NULL;
	struct lyr_error err = { "" };
	int r = lyr_archive_open(path, &o, &l, &err);
	cr_assert_eq(r, 0, "%s: %s", name, err.msg);
	return l;
}

/* "name/T name/T ..." of a listing (T: the DT_ letter, W a whiteout),
 * without "." and "..", and the listing's flags. */
static const char *listing(struct lyr_layer *l, const char *path, unsigned *flags)
{
	static char out[4096];
	struct lyr_dirlist d = { 0 };
	int r = lyr_readdir(l, path, &d);

	cr_assert_eq(r, 0, "readdir %s: %s", path, strerror(-r));
	out[0] = '\0';
	for (size_t i = 0; i < d.n; i++) {
		const char *n = d.ents[i].name;
		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		char t = d.ents[i].type == DT_WHT ? 'W' : d.ents[i].type == DT_DIR ? 'd' :
			 d.ents[i].type == DT_LNK ? 'l' : d.ents[i].type == DT_REG ? 'f' : '?';
		if (d.ents[i].type == DT_WHT)
			cr_expect_eq(d.ents[i].ino, 0, "%s: a whiteout with an inode", n);
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s/%c",
			 *out ? " " : "", n, t);
	}
	if (flags)
		*flags = d.flags;
	lyr_dirlist_free(&d);
	return out;
}

/* lookup's result and flags. */
static int look(struct lyr_layer *l, const char *path, unsigned *flags)
{
	struct stat st;

	*flags = 0xdead;
	return lyr_lookup(l, path, &st, flags);
}

static char *content(struct lyr_layer *l, const char *path)
{
	static char buf[256];
	int fd = lyr_open(l, path, O_RDONLY, 0);

	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(-fd));
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	cr_assert_geq(n, 0);
	buf[n] = '\0';
	return buf;
}

/* ---- 2. one archive layer ------------------------------------------- */

static const struct mem marked[] = {
	{ "keep", 0, "keep\n" },
	{ ".wh.gone" },
	{ "d/", S_IFDIR | 0755 },
	{ "d/.wh..wh..opq" },
	{ "d/x", 0, "x\n" },
	{ "e/.wh.y" },                 /* e only implied by its marker */
	{ ".wh..wh..plnk" },           /* aufs metadata: not a name */
	{ ".wh..wh.meta/inner" },      /* below a metadata name: not either */
	{ "f/.wh.z", S_IFCHR | 0 },    /* a marker's type does not matter */
};

Test(archive_oci, whiteout_is_reported_under_its_name)
{
	struct lyr_layer *l = tar_layer("m.tar", marked, N(marked));
	unsigned fl;

	cr_expect_eq(look(l, "gone", &fl), 0);
	cr_expect_eq(fl, LYR_WHITEOUT);
	cr_expect_eq(look(l, "e/y", &fl), 0);
	cr_expect_eq(fl, LYR_WHITEOUT);
	cr_expect_eq(look(l, "f/z", &fl), 0);
	cr_expect_eq(fl, LYR_WHITEOUT);
	/* asked without flags, a whiteout is nothing */
	cr_expect_eq(lyr_lookup(l, "gone", NULL, NULL), -ENOENT);
	cr_expect_eq(look(l, "keep", &fl), 0);
	cr_expect_eq(fl, 0);
	lyr_destroy(l);
}

Test(archive_oci, opaque_directory_is_flagged)
{
	struct lyr_layer *l = tar_layer("m.tar", marked, N(marked));
	unsigned fl;

	cr_expect_eq(look(l, "d", &fl), 0);
	cr_expect_eq(fl, LYR_OPAQUE);
	cr_expect_eq(look(l, "e", &fl), 0);
	cr_expect_eq(fl, 0, "e is not opaque");
	cr_expect_str_eq(listing(l, "d", &fl), "x/f");
	cr_expect_eq(fl, LYR_OPAQUE);
	cr_expect_str_eq(listing(l, "e", &fl), "y/W");
	cr_expect_eq(fl, 0);
	lyr_destroy(l);
}

Test(archive_oci, markers_are_never_names)
{
	struct lyr_layer *l = tar_layer("m.tar", marked, N(marked));
	unsigned fl;

	cr_expect_str_eq(listing(l, "", &fl), "d/d e/d f/d gone/W keep/f");
	const char *never[] = { ".wh.gone", "d/.wh..wh..opq", ".wh..wh..plnk",
				".wh..wh.meta", ".wh..wh.meta/inner", "e/.wh.y" };
	for (size_t i = 0; i < N(never); i++)
		cr_expect_eq(look(l, never[i], &fl), -ENOENT, "%s", never[i]);
	lyr_destroy(l);
}

Test(archive_oci, whiteout_is_absent_to_every_other_operation)
{
	struct lyr_layer *l = tar_layer("m.tar", marked, N(marked));
	char buf[64];

	cr_expect_eq(lyr_open(l, "gone", O_RDONLY, 0), -ENOENT);
	cr_expect_eq(lyr_open(l, "gone", O_RDONLY | O_PATH, 0), -ENOENT);
	cr_expect_eq(lyr_readlink(l, "gone", buf, sizeof(buf)), -ENOENT);
	cr_expect_eq(lyr_getxattr(l, "gone", "user.x", buf, sizeof(buf)), -ENOENT);
	struct lyr_dirlist d = { 0 };
	cr_expect_eq(lyr_readdir(l, "gone", &d), -ENOENT);
	/* a whiteout in the middle of a path: no such directory */
	unsigned fl;
	cr_expect_eq(look(l, "gone/below", &fl), -ENOENT);
	cr_expect_eq(lyr_open(l, "gone/below", O_RDONLY, 0), -ENOENT);
	cr_expect_eq(lyr_open(l, "gone/below", O_RDONLY | O_CREAT, 0644), -ENOENT);
	/* a real file in the middle still gives ENOTDIR */
	cr_expect_eq(look(l, "keep/below", &fl), -ENOTDIR);
	lyr_destroy(l);
}

Test(archive_oci, name_in_its_own_whiteouts_layer_stays)
{
	static const struct mem m[] = {
		{ "a", 0, "a\n" }, { ".wh.a" },         /* file, then its whiteout */
		{ ".wh.b" }, { "b", 0, "b\n" },         /* whiteout, then the file */
		{ ".wh.c" }, { "c/", S_IFDIR | 0755 },  /* recreated directory */
		{ "c/k", 0, "k\n" },
		{ "g/", S_IFDIR | 0755 }, { ".wh.g" },  /* directory, then whiteout */
		{ ".wh.h" }, { "h/i", 0, "i\n" },       /* implied after the whiteout */
		{ "j/", S_IFDIR | 0755 },               /* plain directory */
	};
	struct lyr_layer *l = tar_layer("s.tar", m, N(m));
	unsigned fl;

	cr_expect_str_eq(listing(l, "", &fl), "a/f b/f c/d g/d h/d j/d");
	cr_expect_str_eq(content(l, "a"), "a\n");
	cr_expect_str_eq(content(l, "b"), "b\n");
	const char *opaque[] = { "c", "g", "h" };
	for (size_t i = 0; i < N(opaque); i++) {
		cr_expect_eq(look(l, opaque[i], &fl), 0);
		cr_expect_eq(fl, LYR_OPAQUE, "%s is not opaque", opaque[i]);
	}
	cr_expect_eq(look(l, "j", &fl), 0);
	cr_expect_eq(fl, 0);
	lyr_destroy(l);
}

Test(archive_oci, hard_link_to_whiteout_is_refused)
{
	static const struct mem m[] = { { ".wh.a" }, { "b", 0, NULL, NULL, "a" } };
	char path[PATH_MAX];
	struct archive *a = archive_write_new();

	/* the layer cannot open: write it by hand, as tar_layer asserts */
	snprintf(path, sizeof(path), "%s/h.tar", T);
	archive_write_set_format_pax_restricted(a);
	archive_write_open_filename(a, path);
	for (size_t i = 0; i < N(m); i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, m[i].path);
		archive_entry_set_mode(e, S_IFREG | 0644);
		if (m[i].hardlink)
			archive_entry_set_hardlink(e, m[i].hardlink);
		archive_write_header(a, e);
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	struct lyr_archive_opts o = { .cache_dir = CACHE };
	struct lyr_layer *l = NULL;
	struct lyr_error err = { "" };
	cr_expect_eq(lyr_archive_open(path, &o, &l, &err), -EINVAL);
	cr_expect(strstr(err.msg, "hard link to a whiteout"), "%s", err.msg);
}

/* ---- 3. stacked ----------------------------------------------------- */

static struct lyr_layer *stack(struct lyr_layer *top, struct lyr_layer *mid,
			       struct lyr_layer *bottom)
{
	struct lyr_layer *lowers[3] = { top, mid, bottom }, *u = NULL;
	struct lyr_error err = { "" };
	size_t n = bottom ? 3 : 2;

	cr_assert_eq(lyr_union_open(NULL, lowers, n, NULL, &u, &err), 0, "%s", err.msg);
	return u;
}

static const struct mem base[] = {
	{ "a.txt", 0, "base a\n" },
	{ "b.txt", 0, "base b\n" },
	{ "d/", S_IFDIR | 0755 },
	{ "d/sub/", S_IFDIR | 0755 },
	{ "d/sub/deep", 0, "deep\n" },
	{ "d/keep", 0, "keep\n" },
	{ "o/", S_IFDIR | 0755 },
	{ "o/old1", 0, "1\n" },
	{ "o/old2", 0, "2\n" },
	{ "r/", S_IFDIR | 0755 },
	{ "r/was", 0, "was\n" },
	{ "ln", S_IFLNK | 0777, NULL, "a.txt" },
};

static const struct mem mid[] = {
	{ ".wh.a.txt" },
	{ "d/.wh.sub" },
	{ "o/.wh..wh..opq" },
	{ "o/new", 0, "new\n" },
	{ ".wh.r" },
	{ "r/", S_IFDIR | 0700 },
	{ "r/now", 0, "now\n" },
	{ ".wh.ln" },
};

Test(archive_oci, whiteouts_hide_every_layer_below)
{
	struct lyr_layer *u = stack(tar_layer("mid.tar", mid, N(mid)),
				    tar_layer("base.tar", base, N(base)), NULL);
	struct stat st;

	cr_expect_str_eq(listing(u, "", NULL), "b.txt/f d/d o/d r/d");
	cr_expect_eq(lyr_lookup(u, "a.txt", &st, NULL), -ENOENT);
	cr_expect_eq(lyr_lookup(u, "ln", &st, NULL), -ENOENT);
	cr_expect_str_eq(listing(u, "d", NULL), "keep/f");
	cr_expect_eq(lyr_lookup(u, "d/sub/deep", &st, NULL), -ENOENT);
	cr_expect_str_eq(listing(u, "o", NULL), "new/f");
	cr_expect_eq(lyr_lookup(u, "o/old1", &st, NULL), -ENOENT);
	cr_expect_str_eq(listing(u, "r", NULL), "now/f");
	cr_expect_eq(lyr_lookup(u, "r", &st, NULL), 0);
	cr_expect_eq(st.st_mode, S_IFDIR | 0700);
	cr_expect_str_eq(content(u, "b.txt"), "base b\n");
	lyr_destroy(u);
}

Test(archive_oci, name_restored_above_its_whiteout)
{
	static const struct mem top[] = {
		{ "a.txt", 0, "top a\n" },
		{ "d/sub/", S_IFDIR | 0755 },
		{ "d/sub/fresh", 0, "fresh\n" },
		{ "o/old1", 0, "back\n" },
	};
	struct lyr_layer *u = stack(tar_layer("top.tar", top, N(top)),
				    tar_layer("mid.tar", mid, N(mid)),
				    tar_layer("base.tar", base, N(base)));
	struct stat st;

	cr_expect_str_eq(content(u, "a.txt"), "top a\n");
	/* the whiteout between keeps deep hidden, as it would be extracted */
	cr_expect_str_eq(listing(u, "d/sub", NULL), "fresh/f");
	cr_expect_eq(lyr_lookup(u, "d/sub/deep", &st, NULL), -ENOENT);
	cr_expect_str_eq(listing(u, "o", NULL), "new/f old1/f");
	cr_expect_str_eq(content(u, "o/old1"), "back\n");
	lyr_destroy(u);
}

Test(archive_oci, opaque_root_of_a_layer)
{
	static const struct mem top[] = { { ".wh..wh..opq" }, { "only", 0, "o\n" } };
	struct lyr_layer *u = stack(tar_layer("top.tar", top, N(top)),
				    tar_layer("base.tar", base, N(base)), NULL);

	cr_expect_str_eq(listing(u, "", NULL), "only/f");
	lyr_destroy(u);
}

/* ---- 4. image blobs: the digest a manifest names -------------------- */

#include "sha256.h"

static const char *hex_of(const void *p, size_t n)
{
	static char hex[LYR_SHA256_HEX];
	struct lyr_sha256 s;

	lyr_sha256_init(&s);
	/* in pieces, across the 64-byte blocks */
	for (size_t i = 0; i < n; i += 7)
		lyr_sha256_update(&s, (const char *)p + i, n - i < 7 ? n - i : 7);
	lyr_sha256_hex(&s, hex);
	return hex;
}

Test(archive_oci, sha256_known_answers)
{
	/* FIPS 180-2 examples */
	cr_expect_str_eq(hex_of("", 0),
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	cr_expect_str_eq(hex_of("abc", 3),
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	cr_expect_str_eq(hex_of(two, strlen(two)),
		"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	static char million[1000000];
	memset(million, 'a', sizeof(million));
	cr_expect_str_eq(hex_of(million, sizeof(million)),
		"cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Opens T/name with opts.sha256 = want. */
static int open_with_digest(const char *name, const char *want, struct lyr_layer **l,
			    struct lyr_error *err)
{
	char path[PATH_MAX];
	struct lyr_archive_opts o = { .cache_dir = CACHE, .sha256 = want };

	snprintf(path, sizeof(path), "%s/%s", T, name);
	return lyr_archive_open(path, &o, l, err);
}

Test(archive_oci, blob_digest_is_checked_when_indexed)
{
	static const struct mem m[] = { { "f", 0, "content\n" } };
	lyr_destroy(tar_layer("seed.tar", m, N(m)));	/* writes it (indexed too) */
	char path[PATH_MAX], good[LYR_SHA256_HEX], bad[LYR_SHA256_HEX];
	snprintf(path, sizeof(path), "%s/seed.tar", T);
	int fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(lyr_sha256_fd(fd, good), 0);
	close(fd);
	/* a copy, never indexed: its digest is checked */
	char cmd[3 * PATH_MAX];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s/blob' && cp '%s' '%s/blob2'", path, T, path, T);
	cr_assert_eq(system(cmd), 0);
	strcpy(bad, good);
	bad[0] = bad[0] == '0' ? '1' : '0';
	struct lyr_layer *l = NULL;
	struct lyr_error err = { "" };
	cr_expect_eq(open_with_digest("blob", bad, &l, &err), -EBADMSG);
	cr_expect(strstr(err.msg, bad) && strstr(err.msg, good) && strstr(err.msg, "damaged"),
		  "%s", err.msg);
	cr_expect_null(l);
	/* nothing was cached: the right digest now opens it */
	cr_expect_eq(open_with_digest("blob", good, &l, &err), 0, "%s", err.msg);
	struct lyr_archive_info in;
	cr_assert_eq(lyr_archive_info(l, &in), 0);
	cr_expect(in.built_index, "the index was built on this open");
	cr_expect_str_eq(content(l, "f"), "content\n");
	lyr_destroy(l);
	/* once indexed, the blob is not read again (its identity is the key) */
	l = NULL;
	cr_expect_eq(open_with_digest("blob", good, &l, &err), 0, "%s", err.msg);
	cr_assert_eq(lyr_archive_info(l, &in), 0);
	cr_expect(!in.built_index);
	lyr_destroy(l);
	/* one byte flipped in the other copy */
	snprintf(path, sizeof(path), "%s/blob2", T);
	fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0);
	char c;
	cr_assert_eq(pread(fd, &c, 1, 600), 1);
	c ^= 1;
	cr_assert_eq(pwrite(fd, &c, 1, 600), 1);
	close(fd);
	cr_expect_eq(open_with_digest("blob2", good, &l, &err), -EBADMSG);
	cr_expect(strstr(err.msg, "blob2") && strstr(err.msg, good), "%s", err.msg);
}
