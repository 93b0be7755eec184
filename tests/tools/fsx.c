/* SPDX-License-Identifier: MIT */
/*
 * fsx - data integrity of one file across copy-up, after the classic fsx.
 *
 * Usage: fsx [--seed N] [--ops N] [--layered] [--expect HOSTFILE] ROOT REL
 *
 * ROOT/REL is a file of the lower layer (HOSTFILE, outside the view, holds
 * its expected content).  fsx opens two readers on it and a dup of the
 * first, maps it through the first reader, and reads for a while: all of
 * that is on the lower copy.  Then it opens a writer, which copies the
 * file up (the readers and the dup follow it to the upper copy), and runs
 * a long random mix of writes (past the end too), appends, truncates (by
 * fd and by name, growing and shrinking), reads, preads, sequential reads
 * that follow each fd's offset, fstat sizes, reopens, and mmap reads and
 * MAP_SHARED writes, each mapping made for the operation on an fd that is
 * on the upper copy by then.  After every operation the whole file, read
 * through the first reader, and every fd's size must equal an in-memory
 * model; on a difference fsx prints the last operations and the first
 * differing offset.
 *
 * A known limit of layerfs: a copy-up moves every fd to the upper copy
 * (dup3 onto the same number), but a mapping made before it stays a
 * mapping of the lower copy, a different kernel file.  So mappings are
 * made here on fds opened for writing (always upper) or after the copy-up,
 * and the limit is checked once, right after the first write: with
 * --layered the early mapping must still show the lower content; without
 * (a plain directory) it shows the write.
 *
 * Output: "ok N - what" / "not ok N - what" lines; exit 1 on a failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define FSX_MAX   100000 /* the file never grows beyond this */
#define FSX_LOG   24     /* operations kept for a failure report */

static unsigned char *model;  /* the expected content */
static size_t msize;          /* and its size */
static unsigned char *buf;    /* FSX_MAX bytes of scratch */
static char path[PATH_MAX];
static int r1 = -1, r2 = -1, dup1 = -1, w = -1, app = -1;
static off_t r1_off, r2_off, w_off;  /* offsets the model expects */
static char oplog[FSX_LOG][128];
static unsigned nlog, ncheck;
static bool failed;
static uint64_t rng_state;

static uint64_t fsx_rand(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static size_t fsx_below(size_t n)
{
	return n ? (size_t)(fsx_rand() % n) : 0;
}

__attribute__((format(printf, 1, 2)))
static void fsx_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(oplog[nlog % FSX_LOG], sizeof(oplog[0]), fmt, ap);
	va_end(ap);
	nlog++;
}

static void check(bool cond, const char *fmt, ...)
{
	va_list ap;

	if (cond && !fmt)
		return;
	printf("%sok %u - ", cond ? "" : "not ", ++ncheck);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!cond)
		failed = true;
}

/* Prints the operations that led to a failure, then exits. */
static void fsx_fail(const char *fmt, ...)
{
	va_list ap;
	unsigned first = nlog > FSX_LOG ? nlog - FSX_LOG : 0;

	if (nlog)
		printf("not ok %u - after op %u: ", ++ncheck, nlog - 1);
	else
		printf("not ok %u - before any op: ", ++ncheck);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	for (unsigned i = first; i < nlog; i++)
		printf("#   op %u: %s\n", i, oplog[i % FSX_LOG]);
	fflush(stdout);
	exit(1);
}

static void fill(unsigned char *p, size_t n)
{
	uint64_t v = fsx_rand();

	for (size_t i = 0; i < n; i++) {
		if (i % 8 == 0)
			v = fsx_rand();
		p[i] = (unsigned char)(v >> (8 * (i % 8)));
	}
}

/* The model after a write of n bytes of data at off (zeros in any gap). */
static void model_write(off_t off, const unsigned char *data, size_t n)
{
	if ((size_t)off > msize)
		memset(model + msize, 0, (size_t)off - msize);
	memcpy(model + off, data, n);
	if ((size_t)off + n > msize)
		msize = (size_t)off + n;
}

static void model_truncate(size_t n)
{
	if (n > msize)
		memset(model + msize, 0, n - msize);
	msize = n;
}

/* ---- checks after every operation ---------------------------------------- */

static void check_sizes(void)
{
	const int fds[] = { r1, r2, dup1, w, app };
	struct stat st;

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (fds[i] < 0)
			continue;
		if (fstat(fds[i], &st) < 0)
			fsx_fail("fstat of fd %d: %s", fds[i], strerror(errno));
		if ((size_t)st.st_size != msize)
			fsx_fail("fstat of fd %d: size %lld, expected %zu", fds[i],
				 (long long)st.st_size, msize);
	}
}

static void check_content(void)
{
	ssize_t k = pread(r1, buf, FSX_MAX, 0);

	if (k < 0)
		fsx_fail("pread of the whole file: %s", strerror(errno));
	if ((size_t)k != msize)
		fsx_fail("the whole file reads %zd bytes, expected %zu", k, msize);
	for (size_t i = 0; i < msize; i++)
		if (buf[i] != model[i])
			fsx_fail("offset %zu reads 0x%02x, expected 0x%02x", i, buf[i], model[i]);
}

/* Bytes got from [off, off + n) against the model. */
static void check_range(const char *what, off_t off, const unsigned char *got, ssize_t k,
			size_t n)
{
	size_t want = (size_t)off >= msize ? 0 : msize - (size_t)off < n ? msize - (size_t)off : n;

	if (k < 0)
		fsx_fail("%s: %s", what, strerror(errno));
	if ((size_t)k != want)
		fsx_fail("%s at %lld: %zd bytes, expected %zu", what, (long long)off, k, want);
	for (size_t i = 0; i < want; i++)
		if (got[i] != model[off + (off_t)i])
			fsx_fail("%s: offset %lld reads 0x%02x, expected 0x%02x", what,
				 (long long)(off + (off_t)i), got[i], model[off + (off_t)i]);
}

/* ---- operations ---------------------------------------------------------- */

static off_t rand_off(void)
{
	/* Mostly inside, sometimes past the end (holes). */
	size_t lim = fsx_below(4) ? msize + 1 : FSX_MAX / 2 + msize / 2;

	return (off_t)fsx_below(lim < FSX_MAX ? lim : FSX_MAX);
}

static size_t rand_len(off_t off)
{
	size_t n = fsx_below(8) ? 1 + fsx_below(4096) : 1 + fsx_below(40000);

	return (size_t)off + n > FSX_MAX ? FSX_MAX - (size_t)off : n;
}

static void op_pwrite(void)
{
	off_t off = rand_off();
	size_t n = rand_len(off);

	fill(buf, n);
	fsx_log("pwrite writer %zu @%lld", n, (long long)off);
	if (n == 0)
		return;
	if (pwrite(w, buf, n, off) != (ssize_t)n)
		fsx_fail("pwrite: %s", strerror(errno));
	model_write(off, buf, n);
}

static void op_write(void)
{
	off_t off = rand_off();
	size_t n = rand_len(off);

	fill(buf, n);
	fsx_log("lseek+write writer %zu @%lld", n, (long long)off);
	if (n == 0)
		return;
	if (lseek(w, off, SEEK_SET) != off || write(w, buf, n) != (ssize_t)n)
		fsx_fail("write: %s", strerror(errno));
	model_write(off, buf, n);
	w_off = off + (off_t)n;
	if (lseek(w, 0, SEEK_CUR) != w_off)
		fsx_fail("writer offset %lld, expected %lld", (long long)lseek(w, 0, SEEK_CUR),
			 (long long)w_off);
}

static void op_append(void)
{
	size_t n = 1 + fsx_below(3000);

	if (msize + n > FSX_MAX)
		n = FSX_MAX - msize;
	fill(buf, n);
	fsx_log("append %zu at %zu", n, msize);
	if (n == 0)
		return;
	if (write(app, buf, n) != (ssize_t)n)
		fsx_fail("append: %s", strerror(errno));
	model_write((off_t)msize, buf, n);
}

static void op_truncate(bool by_name)
{
	size_t n = fsx_below(3) ? fsx_below(msize + 1) : fsx_below(FSX_MAX + 1);

	fsx_log("%s %zu (from %zu)", by_name ? "truncate" : "ftruncate", n, msize);
	if ((by_name ? truncate(path, (off_t)n) : ftruncate(w, (off_t)n)) < 0)
		fsx_fail("truncate: %s", strerror(errno));
	model_truncate(n);
}

static void op_pread(void)
{
	const int fds[] = { r1, r2, dup1, w };
	int fd = fds[fsx_below(w >= 0 ? 4 : 3)];
	off_t off = rand_off();
	size_t n = rand_len(off);

	fsx_log("pread fd %d %zu @%lld", fd, n, (long long)off);
	check_range("pread", off, buf, pread(fd, buf, n, off), n);
}

/* A sequential read through r1 (its dup shares the offset) or r2. */
static void op_read(void)
{
	bool first = fsx_below(2);
	int fd = first ? (fsx_below(2) ? r1 : dup1) : r2;
	off_t *off = first ? &r1_off : &r2_off;
	size_t n = 1 + fsx_below(8192);

	fsx_log("read fd %d %zu (offset %lld)", fd, n, (long long)*off);
	if (lseek(fd, 0, SEEK_CUR) != *off)
		fsx_fail("fd %d at offset %lld, expected %lld", fd,
			 (long long)lseek(fd, 0, SEEK_CUR), (long long)*off);
	ssize_t k = read(fd, buf, n);
	check_range("read", *off, buf, k, n);
	*off += k;
	if (fsx_below(8) == 0) {
		*off = (off_t)fsx_below(msize + 1);
		lseek(fd, *off, SEEK_SET);
	}
}

/* A mapping of [off, off + n) through fd, made for this operation. */
static void op_mmap(bool write)
{
	int fd = write || (w >= 0 && fsx_below(2)) ? w : r2;
	long page = sysconf(_SC_PAGESIZE);
	off_t off, delta;
	size_t n;

	if (msize == 0) {
		fsx_log("mmap: empty file, nothing");
		return;
	}
	off = (off_t)fsx_below(msize);
	n = 1 + fsx_below(msize - (size_t)off);
	delta = off % page;
	fsx_log("mmap-%s fd %d %zu @%lld", write ? "write" : "read", fd, n, (long long)off);
	unsigned char *m = mmap(NULL, n + (size_t)delta, write ? PROT_READ | PROT_WRITE :
				PROT_READ, MAP_SHARED, fd, off - delta);
	if (m == MAP_FAILED)
		fsx_fail("mmap: %s", strerror(errno));
	if (write) {
		fill(buf, n);
		memcpy(m + delta, buf, n);
		model_write(off, buf, n);
		if (fsx_below(2) && msync(m, n + (size_t)delta, MS_ASYNC) < 0)
			fsx_fail("msync: %s", strerror(errno));
	} else {
		check_range("mmap read", off, m + delta, (ssize_t)n, n);
	}
	munmap(m, n + (size_t)delta);
}

/* The second reader is closed and opened again (on the upper copy). */
static void op_reopen(void)
{
	fsx_log("reopen reader 2");
	close(r2);
	if ((r2 = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		fsx_fail("reopen: %s", strerror(errno));
	r2_off = 0;
}

static void run_op(void)
{
	unsigned k = (unsigned)fsx_below(100);

	if (k < 18)
		op_pwrite();
	else if (k < 26)
		op_write();
	else if (k < 31)
		op_append();
	else if (k < 37)
		op_truncate(false);
	else if (k < 41)
		op_truncate(true);
	else if (k < 55)
		op_pread();
	else if (k < 70)
		op_read();
	else if (k < 80)
		op_mmap(false);
	else if (k < 92)
		op_mmap(true);
	else if (k < 96)
		op_reopen();
	else
		fsx_log("fstat sizes");
}

/* ---- the phases ---------------------------------------------------------- */

static void load_expected(const char *expect)
{
	int fd = open(expect, O_RDONLY | O_CLOEXEC);
	ssize_t k = fd < 0 ? -1 : read(fd, model, FSX_MAX);

	if (k < 0) {
		fprintf(stderr, "fsx: %s: %s\n", expect, strerror(errno));
		exit(2);
	}
	msize = (size_t)k;
	close(fd);
}

/* Before the copy-up: readers, a dup and a mapping, all on the lower copy. */
static unsigned char *lower_phase(unsigned nops, size_t *mlen)
{
	unsigned char *m;

	r1 = open(path, O_RDONLY | O_CLOEXEC);
	r2 = open(path, O_RDONLY | O_CLOEXEC);
	dup1 = dup(r1);
	check(r1 >= 0 && r2 >= 0 && dup1 >= 0, "two readers and a dup on the lower file");
	if (r1 < 0 || r2 < 0 || dup1 < 0)
		exit(1);
	check_content();
	*mlen = msize;
	m = mmap(NULL, msize, PROT_READ, MAP_SHARED, r1, 0);
	check(m != MAP_FAILED && memcmp(m, model, msize) == 0,
	      "a mapping through the first reader shows the lower content");
	if (m == MAP_FAILED)
		exit(1);
	for (unsigned i = 0; i < nops; i++) {
		unsigned k = (unsigned)fsx_below(3);
		if (k == 0)
			op_read();
		else if (k == 1)
			op_pread();
		else
			op_mmap(false);
		check_sizes();
		check_content();
	}
	check(true, "%u reads before the copy-up", nops);
	return m;
}

/*
 * The writer copies the file up; its first write is at offset 0.  Then
 * the early mapping: the documented limit (see the header).
 */
static void copy_up_phase(unsigned char *early, size_t elen, bool layered)
{
	unsigned char *before = malloc(elen);
	size_t n = elen < 100 ? elen : 100;

	if (!before)
		exit(1);
	memcpy(before, model, elen);
	w = open(path, O_RDWR | O_CLOEXEC);
	app = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	check(w >= 0 && app >= 0, "a writer and an appender open the file (copy-up)");
	if (w < 0 || app < 0)
		exit(1);
	fill(buf, n);
	fsx_log("pwrite writer %zu @0 (the first write)", n);
	if (pwrite(w, buf, n, 0) != (ssize_t)n)
		fsx_fail("first write: %s", strerror(errno));
	model_write(0, buf, n);
	check_sizes();
	check_content();
	check(true, "readers and the dup see the first write");
	if (layered)
		check(memcmp(early, before, elen) == 0,
		      "limit: a mapping made on the lower copy before the copy-up "
		      "still shows the lower content");
	else
		check(memcmp(early, model, elen) == 0,
		      "a mapping made before the first write shows it (plain file system)");
	munmap(early, elen);
	free(before);
}

static int usage(void)
{
	fprintf(stderr, "usage: fsx [--seed N] [--ops N] [--layered] --expect HOSTFILE ROOT REL\n");
	return 2;
}

int main(int argc, char **argv)
{
	unsigned nops = 2000;
	const char *root = NULL, *rel = NULL, *expect = NULL;
	bool layered = false;
	uint64_t seed = 1;
	size_t elen;

	for (int i = 1; i < argc; i++) {
		bool val = i + 1 < argc;
		if (!strcmp(argv[i], "--seed") && val)
			seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--ops") && val)
			nops = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--expect") && val)
			expect = argv[++i];
		else if (!strcmp(argv[i], "--layered"))
			layered = true;
		else if (argv[i][0] != '-' && !root)
			root = argv[i];
		else if (argv[i][0] != '-' && !rel)
			rel = argv[i];
		else
			return usage();
	}
	if (!root || !rel || !expect)
		return usage();
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	rng_state = seed;
	model = malloc(FSX_MAX);
	buf = malloc(FSX_MAX);
	if (!model || !buf)
		return 1;
	load_expected(expect);

	unsigned char *early = lower_phase(nops / 10, &elen);
	copy_up_phase(early, elen, layered);
	for (unsigned i = 0; i < nops; i++) {
		run_op();
		check_sizes();
		check_content();
	}
	check(true, "%u operations after the copy-up (seed %llu), content and sizes "
	      "checked after each", nops, (unsigned long long)seed);
	close(r1);
	close(r2);
	close(dup1);
	close(w);
	close(app);
	free(model);
	free(buf);
	return failed;
}
