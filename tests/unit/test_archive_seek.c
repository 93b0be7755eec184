/* SPDX-License-Identifier: MIT */
/*
 * test_archive_seek.c - suite "archive_seek": compressed tars read in
 * place from seek points (core/archive_seek.c).
 *
 * gzip, xz, zstd and bzip2.  Each test generates a tree of about 9 MB (text of pseudo-random words,
 * which compresses about 3:1, and 1 MiB of noise), tars it, compresses the
 * tar with the command under test, and checks through the layer that
 * every member is the original's bytes, that no decompressed copy of the
 * stream appears in the cache, and that the cache stays below the tree's
 * size.  Ranges of the stream are also read directly (arc_seek_copy), and
 * compared with the plain tar, then read again from damaged, cut or
 * misdescribed archives: -EIO (a point moved by a few bytes may also
 * decode as other bytes: deflate has no check there), never a crash.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "archive_index.h"
#include "layerfs.h"
#include "tmpdir.h"

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
#include <sys/wait.h>
#include <unistd.h>

static char T[256];
static char CACHE[PATH_MAX];

static void setup(void)
{
	ut_tmpdir_make(T, sizeof(T), "seek");
	snprintf(CACHE, sizeof(CACHE), "%s/cache", T);
}

static void teardown(void)
{
	ut_tmpdir_remove(T);
}

TestSuite(archive_seek, .init = setup, .fini = teardown, .timeout = 120);

#define tpath(name) ut_path_in(T, name)

#define sh(...) ut_sh_in(T, __VA_ARGS__)

/* ---- the tree -------------------------------------------------------- */

#define NFILES 120

static uint64_t rng_state;

static uint32_t rng(void)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rng_state >> 33);
}

static void write_file(const char *path, size_t size, bool noise)
{
	static const char *const syl[] = { "ka", "lo", "mi", "ne", "su", "ta", "ri",
					   "po", "ve", "zu", "an", "or", "ith", "eb" };
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	for (size_t i = 0; i < size; i++) {
		uint32_t v = rng();
		if (noise) {
			fputc((int)(v & 0xff), f);
		} else if (v % 7 == 0) {
			fputc(v % 91 == 0 ? '\n' : ' ', f);
		} else {
			const char *s = syl[v % (sizeof(syl) / sizeof(syl[0]))];
			size_t n = strlen(s);
			if (n > size - i)
				n = size - i;
			fwrite(s, 1, n, f);
			i += n - 1;
		}
	}
	cr_assert_eq(fclose(f), 0);
}

static const size_t sizes[] = { 0, 300, 5000, 40000, 70000, 150000 };

/* src/: NFILES text files in 6 directories, big.txt, noise.bin; t.tar. */
static void make_tree(void)
{
	char p[PATH_MAX + 64];

	rng_state = 42;
	for (int d = 0; d < 6; d++) {
		snprintf(p, sizeof(p), "%s/src/d%d", T, d);
		cr_assert_eq(lyr_mkdirs(p, 0755), 0);
	}
	for (int i = 0; i < NFILES; i++) {
		snprintf(p, sizeof(p), "%s/src/d%d/f%d.txt", T, i % 6, i);
		write_file(p, sizes[i % 6] + (size_t)(rng() % 1000), false);
	}
	snprintf(p, sizeof(p), "%s/src/big.txt", T);
	write_file(p, 2500000, false);
	snprintf(p, sizeof(p), "%s/src/noise.bin", T);
	write_file(p, 1 << 20, true);
	sh("tar cf t.tar -C src .");
}

/* ---- through the layer ----------------------------------------------- */

static struct lyr_layer *open_arc(const char *name)
{
	struct lyr_archive_opts o = { .cache_dir = CACHE };
	struct lyr_error err = { "" };
	struct lyr_layer *l = NULL;
	int r = lyr_archive_open(tpath(name), &o, &l, &err);

	cr_assert_eq(r, 0, "opening %s: %d %s", name, r, err.msg);
	return l;
}

static struct lyr_archive_info info_of(struct lyr_layer *l)
{
	struct lyr_archive_info in;

	cr_assert_eq(lyr_archive_info(l, &in), 0);
	return in;
}

static bool has_stream(struct lyr_layer *l)
{
	char p[PATH_MAX + 16];

	snprintf(p, sizeof(p), "%s/stream", info_of(l).key_dir);
	return access(p, F_OK) == 0;
}

/* fd (closed here) reads as src/rel, byte for byte. */
static void expect_fd_same(int fd, const char *rel)
{
	char want_path[PATH_MAX + 64];
	struct stat st;

	snprintf(want_path, sizeof(want_path), "%s/src/%s", T, rel);
	int wfd = open(want_path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(wfd, 0);
	cr_assert_eq(fstat(wfd, &st), 0);
	char *got = malloc((size_t)st.st_size + 2), *want = malloc((size_t)st.st_size + 1);
	cr_assert(got && want);
	ssize_t n = 0, k;
	while ((k = read(fd, got + n, (size_t)st.st_size + 1 - (size_t)n)) > 0)
		n += k;
	cr_assert_eq(pread(wfd, want, (size_t)st.st_size, 0), st.st_size);
	cr_expect_eq(n, st.st_size, "%s: %zd bytes, want %jd", rel, n, (intmax_t)st.st_size);
	cr_expect(n == st.st_size && !memcmp(got, want, (size_t)n), "%s: content differs", rel);
	free(got);
	free(want);
	close(fd);
	close(wfd);
}

/* Member rel of the layer equals src/rel. */
static void expect_same(struct lyr_layer *l, const char *rel)
{
	int fd = lyr_open(l, rel, O_RDONLY, 0);

	cr_assert_geq(fd, 0, "open %s: %s", rel, strerror(-fd));
	expect_fd_same(fd, rel);
}

static uint64_t du(const char *dir)
{
	char cmd[PATH_MAX + 64];
	unsigned long long n = 0;

	snprintf(cmd, sizeof(cmd), "du -s -B1 '%s'", dir);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	cr_assert_eq(fscanf(p, "%llu", &n), 1);
	pclose(p);
	return n;
}

/*
 * Every member read through the layer, a big one in the middle first,
 * then the others out of the archive's order: the original bytes, no
 * stream file, no pass over the whole archive, and a cache that holds no
 * member twice: below the tree's size on disk (spans written whole pack
 * small members tighter than files), plus the index.  (Read in the
 * archive's order, it stays below the tree: seek.sh.)
 */
static void read_all_in_place(const char *name, uint32_t kind, uint64_t min_points)
{
	char rel[64];
	struct lyr_layer *l = open_arc(name);
	struct lyr_archive_info in = info_of(l);

	cr_assert_eq(in.seek_kind, kind, "seek kind %u, want %u", in.seek_kind, kind);
	cr_assert_geq(in.nseek, min_points, "%ju seek points", (uintmax_t)in.nseek);
	expect_same(l, "d4/f64.txt");  /* 150 kB: a data/N file */
	expect_same(l, "d3/f63.txt");  /* 70 kB */
	cr_expect(!has_stream(l), "a stream file appeared");
	cr_expect_eq(in.extractions, 0);
	for (int i = 0; i < NFILES; i++) {
		snprintf(rel, sizeof(rel), "d%d/f%d.txt", i % 6, i);
		expect_same(l, rel);
	}
	expect_same(l, "big.txt");
	expect_same(l, "noise.bin");
	cr_expect(!has_stream(l), "a stream file appeared");
	cr_expect_eq(info_of(l).extractions, 0, "no pass over the archive");
	uint64_t cache = du(in.key_dir), tree = du(tpath("src"));
	cr_expect_leq(cache, tree + in.index_size, "cache %ju bytes > the tree's %ju + index %ju",
		      (uintmax_t)cache, (uintmax_t)tree, (uintmax_t)in.index_size);
	/* index and points: a few percent of the stream at most */
	cr_expect_leq(in.index_size * 100, tree * 3, "index %ju bytes", (uintmax_t)in.index_size);
	lyr_destroy(l);
}

Test(archive_seek, gzip_one_member)
{
	make_tree();
	sh("gzip -6 -c t.tar > t.tar.gz");
	read_all_in_place("t.tar.gz", ARC_SK_GZIP, 8);
}

/* Pieces compressed apart and concatenated: a valid gzip (as pigz -i). */
Test(archive_seek, gzip_concatenated_members)
{
	make_tree();
	sh("split -b 700000 t.tar piece. && for p in piece.*; do gzip -1 -c $p; done > t.tar.gz");
	read_all_in_place("t.tar.gz", ARC_SK_GZIP, 8);
}

Test(archive_seek, xz_blocks)
{
	make_tree();
	sh("xz -1 -T1 --block-size=1MiB -c t.tar > t.tar.xz");
	read_all_in_place("t.tar.xz", ARC_SK_XZ, 8);
}

Test(archive_seek, xz_concatenated_streams)
{
	make_tree();
	sh("split -b 3000000 t.tar piece. && for p in piece.*; do xz -0 -T1 -c $p; done > t.tar.xz");
	read_all_in_place("t.tar.xz", ARC_SK_XZ, 3);
}

Test(archive_seek, zstd_frames)
{
	make_tree();
	sh("split -b 1000000 t.tar piece. && for p in piece.*; do zstd -q -c $p; done > t.tar.zst");
	read_all_in_place("t.tar.zst", ARC_SK_ZSTD, 8);
}

/*
 * Threads reading members at once, each in its own order: the decoder a
 * read leaves behind is taken by one thread at a time.
 */
struct reader {
	struct lyr_layer *l;
	int start, step;
};

static void *read_members(void *arg)
{
	struct reader *r = arg;
	char rel[64];

	for (int k = 0; k < NFILES; k++) {
		int i = (r->start + k * r->step) % NFILES;
		snprintf(rel, sizeof(rel), "d%d/f%d.txt", i % 6, i);
		expect_same(r->l, rel);
	}
	return NULL;
}

Test(archive_seek, threads_read_at_once)
{
	make_tree();
	sh("gzip -1 -c t.tar > t.tar.gz");
	struct lyr_layer *l = open_arc("t.tar.gz");
	struct reader rd[4] = { { l, 0, 1 }, { l, 7, 1 }, { l, 3, 7 }, { l, 100, 119 } };
	pthread_t th[4];

	cr_assert_eq(info_of(l).seek_kind, ARC_SK_GZIP);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, read_members, &rd[i]), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	expect_same(l, "big.txt");
	cr_expect(!has_stream(l));
	lyr_destroy(l);
}

/* A skippable frame first (metadata some writers add): still frames. */
Test(archive_seek, zstd_skippable_frame_first)
{
	make_tree();
	sh("printf '\\120\\052\\115\\030\\004\\000\\000\\000abcd' > t.tar.zst && "
	   "split -b 1000000 t.tar piece. && for p in piece.*; do zstd -q -c $p; done >> t.tar.zst");
	read_all_in_place("t.tar.zst", ARC_SK_ZSTD, 8);
}

/* One block or frame: no seek points, the whole stream decompressed once. */
static void read_all_whole(const char *name)
{
	char rel[64];
	struct lyr_layer *l = open_arc(name);

	cr_assert_eq(info_of(l).seek_kind, ARC_SK_NONE);
	cr_assert_eq(info_of(l).nseek, 0);
	expect_same(l, "d4/f64.txt");
	cr_expect(has_stream(l), "the whole-stream path was not taken");
	cr_expect_eq(info_of(l).extractions, 1);
	for (int i = 0; i < NFILES; i += 7) {
		snprintf(rel, sizeof(rel), "d%d/f%d.txt", i % 6, i);
		expect_same(l, rel);
	}
	expect_same(l, "big.txt");
	cr_expect_eq(info_of(l).extractions, 1);
	lyr_destroy(l);
}

Test(archive_seek, xz_one_block_whole_stream)
{
	make_tree();
	sh("xz -0 -T1 -c t.tar > t.tar.xz");
	read_all_whole("t.tar.xz");
}

Test(archive_seek, zstd_one_frame_whole_stream)
{
	make_tree();
	sh("zstd -q -c t.tar > t.tar.zst");
	read_all_whole("t.tar.zst");
}

Test(archive_seek, bzip2_blocks)
{
	make_tree();
	sh("bzip2 -1 -c t.tar > t.tar.bz2");
	read_all_in_place("t.tar.bz2", ARC_SK_BZIP2, 8);
}

/* pbzip2 writes concatenated streams, each byte-aligned. */
Test(archive_seek, bzip2_concatenated_streams)
{
	make_tree();
	sh("split -b 250000 t.tar piece. && for p in piece.*; do bzip2 -2 -c $p; done > t.tar.bz2");
	read_all_in_place("t.tar.bz2", ARC_SK_BZIP2, 8);
}

/* One block (a tar smaller than the block size): the stream, whole. */
Test(archive_seek, bzip2_one_block_whole_stream)
{
	make_tree();
	sh("mkdir -p small && echo a > small/a && "
	   "head -c 300000 src/big.txt > small/b && tar cjf small.tar.bz2 -C small .");
	struct lyr_layer *l = open_arc("small.tar.bz2");
	cr_assert_eq(info_of(l).seek_kind, ARC_SK_NONE);
	size_t n = 0;
	int fd = lyr_open(l, "b", O_RDONLY, 0);
	cr_assert_geq(fd, 0);
	char buf[4096];
	ssize_t k;
	while ((k = read(fd, buf, sizeof(buf))) > 0)
		n += (size_t)k;
	close(fd);
	cr_expect_eq(n, 300000);
	cr_expect(has_stream(l), "the whole-stream path was not taken");
	lyr_destroy(l);
}

/* ---- ranges of the stream, and damage -------------------------------- */

struct mapped {
	struct lyr_layer *l;
	struct arc_index ix;
	int fd;               /* the archive */
};

/* Maps the index of name (built through the layer) for arc_seek_copy. */
static struct mapped map_index(const char *name)
{
	struct mapped m = { .l = open_arc(name) };
	char p[PATH_MAX + 16];
	struct arc_ident id;
	struct stat st;

	snprintf(p, sizeof(p), "%s/index", info_of(m.l).key_dir);
	int ixfd = open(p, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(ixfd, 0);
	m.fd = open(tpath(name), O_RDONLY | O_CLOEXEC);
	cr_assert_geq(m.fd, 0);
	cr_assert_eq(fstat(m.fd, &st), 0);
	cr_assert_eq(arc_ident_read(m.fd, &st, &id), 0);
	cr_assert_eq(arc_index_map(ixfd, &id, &m.ix), 0);
	close(ixfd);
	cr_assert_geq(m.ix.nseek, 2);
	return m;
}

static void unmap_index(struct mapped *m)
{
	arc_index_unmap(&m->ix);
	close(m->fd);
	lyr_destroy(m->l);
}

/* [off, off + len) of the stream decoded from fd, vs the plain tar. */
static int copy_range(const struct arc_index *ix, int fd, uint64_t off, uint64_t len,
		      bool check)
{
	int out = memfd_create("range", MFD_CLOEXEC);
	char *got = malloc(len), *want = malloc(len);
	int r;

	cr_assert(out >= 0 && got && want);
	r = arc_seek_copy(ix, fd, off, len, out, NULL);
	if (!r && check) {
		int tfd = open(tpath("t.tar"), O_RDONLY | O_CLOEXEC);
		cr_assert_eq(pread(out, got, len, 0), (ssize_t)len);
		cr_assert_eq(pread(tfd, want, len, (off_t)off), (ssize_t)len);
		cr_expect(!memcmp(got, want, len), "range %ju+%ju differs", (uintmax_t)off,
			  (uintmax_t)len);
		close(tfd);
	}
	free(got);
	free(want);
	close(out);
	return r;
}

/* Ranges that start on, before, after and across points, of each kind. */
static void ranges_match(const char *make, const char *name)
{
	make_tree();
	sh("%s", make);
	struct mapped m = map_index(name);
	struct stat st;

	cr_assert_eq(stat(tpath("t.tar"), &st), 0);
	uint64_t size = (uint64_t)st.st_size;
	for (uint64_t k = 0; k < m.ix.nseek; k++) {
		uint64_t at = m.ix.seeks[k].out;
		cr_expect_eq(copy_range(&m.ix, m.fd, at, 1, true), 0);
		if (at > 100)
			cr_expect_eq(copy_range(&m.ix, m.fd, at - 100, 200, true), 0);
	}
	/* consecutive ranges: each continues the decoder the last one left */
	for (uint64_t at = 0; at < size; at += 99991)
		cr_expect_eq(copy_range(&m.ix, m.fd, at, at + 99991 > size ? size - at : 99991,
					true), 0, "range at %ju", (uintmax_t)at);
	cr_expect_eq(copy_range(&m.ix, m.fd, 0, size, true), 0, "the whole stream");
	cr_expect_eq(copy_range(&m.ix, m.fd, size - 10, 10, true), 0, "its last bytes");
	cr_expect_eq(copy_range(&m.ix, m.fd, size - 10, 11, false), -EIO, "past its end");
	unmap_index(&m);
}

Test(archive_seek, gzip_ranges)
{
	ranges_match("gzip -c t.tar > t.tar.gz", "t.tar.gz");
}

Test(archive_seek, gzip_members_ranges)
{
	ranges_match("split -b 1500000 t.tar piece. && for p in piece.*; do gzip -c $p; done "
		     "> t.tar.gz", "t.tar.gz");
}

Test(archive_seek, xz_ranges)
{
	ranges_match("xz -0 -T1 --block-size=700KiB -c t.tar > t.tar.xz", "t.tar.xz");
}

Test(archive_seek, zstd_ranges)
{
	ranges_match("split -b 1500000 t.tar piece. && for p in piece.*; do zstd -q -c $p; "
		     "done > t.tar.zst", "t.tar.zst");
}

/*
 * Every member of m read from the archive on fd: each one the original's
 * bytes or -EIO.  Returns how many gave -EIO.
 */
static int members_or_eio(struct mapped *m, int fd)
{
	int eio = 0;

	for (uint32_t i = 0; i < m->ix.nent; i++) {
		const struct arc_ent *x = &m->ix.ents[i];
		if (!S_ISREG(x->mode) || !(x->flags & ARC_F_INPLACE) || !x->size)
			continue;
		int r = copy_range(&m->ix, fd, x->data, x->size, true);
		cr_expect(r == 0 || r == -EIO, "member at %ju: %d", (uintmax_t)x->data, r);
		eio += r == -EIO;
	}
	return eio;
}

/*
 * The archive damaged after it was indexed (a copy: the layer would
 * rebuild the index of a changed archive), its members read from it:
 * -EIO for those the damage or a cut reaches (each member is checked
 * against its CRC-32), the original bytes for the others; bad points give
 * -EIO or, where the codec cannot tell, other bytes, never a crash.
 */
static void damage_gives_eio(const char *make, const char *name)
{
	make_tree();
	sh("%s", make);
	struct mapped m = map_index(name);
	char bad[PATH_MAX + 8];
	struct stat st;

	cr_assert_eq(fstat(m.fd, &st), 0);
	uint64_t mid = m.ix.seeks[m.ix.nseek / 2].in, end = m.ix.seeks[m.ix.nseek - 1].out;
	cr_expect_eq(members_or_eio(&m, m.fd), 0, "the intact archive");
	/* 4 KiB of 0xff a little after a point in the middle */
	snprintf(bad, sizeof(bad), "%s.bad", tpath(name));
	sh("cp %s %s.bad && head -c 4096 /dev/zero | tr '\\0' '\\377' | "
	   "dd of=%s.bad bs=1 seek=%ju conv=notrunc", name, name, name, (uintmax_t)mid + 200);
	int fd = open(bad, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	uint64_t from = m.ix.seeks[m.ix.nseek / 2].out;
	cr_expect_gt(members_or_eio(&m, fd), 0, "damaged body");
	close(fd);
	/* cut in the middle */
	sh("head -c %ju %s > %s.cut", (uintmax_t)mid + 1000, name, name);
	snprintf(bad, sizeof(bad), "%s.cut", tpath(name));
	fd = open(bad, O_RDONLY | O_CLOEXEC);
	cr_expect_gt(members_or_eio(&m, fd), 0, "cut archive");
	cr_expect_eq(copy_range(&m.ix, fd, from, end - from + 1, false), -EIO, "cut archive");
	close(fd);
	/* points that lie: a copy of the index with one point moved */
	size_t n = m.ix.nseek;
	struct arc_seek *pts = malloc(n * sizeof(*pts));
	cr_assert_not_null(pts);
	struct arc_index lie = m.ix;
	lie.seeks = pts;
	for (uint64_t k = 0; k < n; k++) {
		memcpy(pts, m.ix.seeks, n * sizeof(*pts));
		pts[k].in += 3;
		pts[k].aux += 5;
		pts[k].win_len ^= 0x7fff;
		pts[k].bits ^= 0x5a;
		int r = copy_range(&lie, m.fd, pts[k].out, 1 << 16, false);
		cr_expect(r == -EIO || r == 0, "point %ju moved: %d", (uintmax_t)k, r);
		memcpy(pts, m.ix.seeks, n * sizeof(*pts));
		pts[k].in = UINT64_MAX - 1;
		cr_expect_eq(copy_range(&lie, m.fd, pts[k].out, 10, false), -EIO,
			     "point %ju past the archive", (uintmax_t)k);
	}
	free(pts);
	unmap_index(&m);
}

Test(archive_seek, gzip_damage_eio)
{
	damage_gives_eio("gzip -c t.tar > t.tar.gz", "t.tar.gz");
}

Test(archive_seek, xz_damage_eio)
{
	damage_gives_eio("xz -0 -T1 --block-size=1MiB -c t.tar > t.tar.xz", "t.tar.xz");
}

Test(archive_seek, bzip2_ranges)
{
	ranges_match("split -b 400000 t.tar piece. && for p in piece.*; do bzip2 -1 -c $p; done "
		     "> t.tar.bz2", "t.tar.bz2");
}

Test(archive_seek, bzip2_damage_eio)
{
	damage_gives_eio("bzip2 -1 -c t.tar > t.tar.bz2", "t.tar.bz2");
}

Test(archive_seek, zstd_damage_eio)
{
	damage_gives_eio("split -b 1000000 t.tar piece. && for p in piece.*; do zstd -q -c $p; "
			 "done > t.tar.zst", "t.tar.zst");
}

/* ---- a damaged index ------------------------------------------------- */

static void rewrite_hdr(const char *index, struct arc_hdr *h)
{
	uint64_t sum = 0xcbf29ce484222325ull; /* the header's own FNV-1a, redone */
	int fd = open(index, O_WRONLY | O_CLOEXEC);

	for (size_t i = 0; i < offsetof(struct arc_hdr, hdr_sum); i++)
		sum = (sum ^ ((unsigned char *)h)[i]) * 0x100000001b3ull;
	h->hdr_sum = sum;
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, h, sizeof(*h), 0), (ssize_t)sizeof(*h));
	close(fd);
}

/* A header whose seek sections lie outside the file: the index is rebuilt. */
Test(archive_seek, index_with_bad_seek_section_rebuilt)
{
	make_tree();
	sh("gzip -c t.tar > t.tar.gz");
	struct lyr_layer *l = open_arc("t.tar.gz");
	char p[PATH_MAX + 16];
	struct arc_hdr h, good;

	snprintf(p, sizeof(p), "%s/index", info_of(l).key_dir);
	lyr_destroy(l);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	cr_assert_eq(pread(fd, &good, sizeof(good), 0), (ssize_t)sizeof(good));
	close(fd);
	for (int c = 0; c < 4; c++) {
		h = good;
		if (c == 0)
			h.nseek = UINT64_MAX / 16;
		else if (c == 1)
			h.win_size = h.file_size;
		else if (c == 2)
			h.seek_kind = 99;
		else
			h.nsum = h.file_size;
		rewrite_hdr(p, &h);
		l = open_arc("t.tar.gz");
		cr_expect_eq(info_of(l).built_index, 1, "case %d: rebuilt", c);
		expect_same(l, "d2/f14.txt");
		lyr_destroy(l);
	}
}

/*
 * Seek points damaged inside a valid index (the header is only checked
 * when mapping): reads give -EIO or the original bytes, never others.
 */
/* The spans the cache holds written whole (data/sK). */
static int nspans(struct lyr_layer *l)
{
	char cmd[PATH_MAX + 64];
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls '%s/data' | grep -c '^s[0-9]'", info_of(l).key_dir);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	cr_assert_eq(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

/*
 * Read out of the archive's order (backwards), the members of a span are
 * decoded from its point again and again, until the span has cost twice
 * its size: it is then written whole, once, and its small members come
 * from it, with no decoding.  Seen from outside: with the archive's
 * compressed body zeroed after that (same size, the layer already open),
 * small members of those spans still read right, and every other read is
 * an error, never wrong bytes.  Read in the archive's order, no span is
 * written.
 */
Test(archive_seek, out_of_order_reads_write_a_span_whole)
{
	char rel[64];

	sh("head -c 16384 /dev/zero > punch");
	int pfd = open(tpath("punch"), O_RDWR | O_CLOEXEC);
	cr_assert_geq(pfd, 0);
	if (fallocate(pfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 4096)) {
		close(pfd);
		cr_skip_test("no holes can be punched here: spans are not written whole");
	}
	close(pfd);
	make_tree();
	sh("xz -1 -T1 --block-size=1MiB -c t.tar > t.tar.xz && cp t.tar.xz in-order.tar.xz");
	struct lyr_layer *l = open_arc("in-order.tar.xz");
	sh("tar tf t.tar | grep 'f[0-9]*\\.txt$' > order");
	FILE *f = fopen(tpath("order"), "r");
	cr_assert_not_null(f);
	while (fgets(rel, sizeof(rel), f)) {
		rel[strcspn(rel, "\n")] = '\0';
		expect_same(l, rel + 2);	/* "./" */
	}
	fclose(f);
	cr_expect_eq(nspans(l), 0, "read in order, a span was written whole");
	lyr_destroy(l);

	l = open_arc("t.tar.xz");
	for (int i = NFILES - 1; i >= 0; i--) {
		snprintf(rel, sizeof(rel), "d%d/f%d.txt", i % 6, i);
		expect_same(l, rel);
	}
	int spans = nspans(l);
	cr_expect_gt(spans, 0, "no span written whole");
	sh("python3 -c \"import os; f = open('t.tar.xz', 'r+b'); n = os.path.getsize('t.tar.xz'); "
	   "f.seek(64); f.write(bytes(n - 64 - 4096))\"");
	int right = 0, failed = 0;
	for (int i = 0; i < NFILES; i++) {
		snprintf(rel, sizeof(rel), "d%d/f%d.txt", i % 6, i);
		if (sizes[i % 6] + 1000 > 65536)
			continue;	/* big members are in data/N anyway */
		int fd = lyr_open(l, rel, O_RDONLY, 0);
		if (fd < 0) {
			cr_expect_eq(fd, -EIO, "open %s: %s", rel, strerror(-fd));
			failed++;
			continue;
		}
		expect_fd_same(fd, rel);
		right++;
	}
	cr_expect_gt(right, 0, "no member came from a span written whole (%d spans)", spans);
	lyr_destroy(l);
}

Test(archive_seek, damaged_points_give_eio)
{
	make_tree();
	sh("gzip -c t.tar > t.tar.gz");
	struct lyr_layer *l = open_arc("t.tar.gz");
	char p[PATH_MAX + 16], rel[64];
	struct arc_hdr h;

	snprintf(p, sizeof(p), "%s/index", info_of(l).key_dir);
	lyr_destroy(l);
	int fd = open(p, O_RDWR | O_CLOEXEC);
	cr_assert_eq(pread(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	cr_assert_geq(h.nseek, 4);
	for (uint64_t k = 1; k < h.nseek; k += 2) { /* every other point moved */
		struct arc_seek pt;
		off_t at = (off_t)(h.seek_off + k * sizeof(pt));
		cr_assert_eq(pread(fd, &pt, sizeof(pt), at), (ssize_t)sizeof(pt));
		pt.in += 1000;
		cr_assert_eq(pwrite(fd, &pt, sizeof(pt), at), (ssize_t)sizeof(pt));
	}
	close(fd);
	l = open_arc("t.tar.gz");
	cr_assert_eq(info_of(l).built_index, 0);
	int eio = 0;
	for (int i = 0; i < NFILES; i++) {
		snprintf(rel, sizeof(rel), "d%d/f%d.txt", i % 6, i);
		int mfd = lyr_open(l, rel, O_RDONLY, 0);
		if (mfd == -EIO) {
			eio++;
			continue;
		}
		cr_assert_geq(mfd, 0, "open %s: %s", rel, strerror(-mfd));
		expect_fd_same(mfd, rel);	/* what is read is right */
	}
	cr_expect_gt(eio, 0, "no read noticed the damage");
	lyr_destroy(l);
}
