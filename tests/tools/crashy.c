/* SPDX-License-Identifier: MIT */
/*
 * crashy - changes made in the view, killed with SIGKILL part way; then a
 * fresh process checks what the view shows (tests/integration/crash.sh).
 *
 * Usage:
 *   crashy mklower DIR          the lower tree: big (64 MiB), tree/ (files,
 *                               a 4 MiB file, a symlink, directories) and
 *                               f000..f099 (4096 bytes each, generation 0)
 *   crashy run MODE ROOT DELAY  forks a child doing MODE on the view at
 *                               ROOT; kills it with SIGKILL after DELAY
 *                               microseconds (DELAY < 0: lets it finish and
 *                               prints how long it took, in microseconds)
 *   crashy verify MODE ROOT     checks the view; prints one line: the state
 *                               found, or "BAD: why" (then exits 1)
 *
 * Modes:
 *   copyup  write 1 byte at 32 MiB + 3 of big (copy-up of 64 MiB):
 *           big is then old or new (one byte flipped), whole
 *   rename  rename tree to tree2: the whole tree is at tree or tree2 (or,
 *           in the window union_dir.c documents, at both), never partial
 *   files   generation after generation, rewrite every fNNN whole: even
 *           names in place (open O_WRONLY, one 4096-byte pwrite: a copy-up
 *           first), odd names written to fNNN.new then renamed over fNNN;
 *           each fNNN then holds some generation's content, whole
 *           (with DELAY < 0: three generations)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BIG_SIZE   (64u << 20)
#define BIG_OFF    ((32u << 20) + 3)
#define CHUNK      (1u << 20)
#define NFILES     100
#define FILE_SIZE  4096
#define TREE_SUBS  4
#define TREE_FILES 30
#define BIG1_SIZE  (4u << 20)

static char bad[PATH_MAX + 256]; /* the first problem found */

/* Records the first problem (printf-style); returns -1. */
__attribute__((format(printf, 1, 2)))
static int bad_set(const char *fmt, ...)
{
	va_list ap;

	if (!bad[0]) {
		va_start(ap, fmt);
		vsnprintf(bad, sizeof(bad), fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* "what ARG: strerror(errno)" */
static int fail(const char *fmt, const char *arg)
{
	return bad_set(fmt, arg, strerror(errno));
}

static void at(char *buf, const char *root, const char *rel)
{
	if (snprintf(buf, PATH_MAX, "%s/%s", root, rel) >= PATH_MAX)
		buf[0] = '\0'; /* too long: fails as ENOENT */
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = read(fd, (char *)buf + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* ---- contents --------------------------------------------------------- */

/* big's bytes [off, off + len): 8-byte words derived from their offset. */
static void big_fill(unsigned char *buf, uint64_t off, size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w = (off + i) * 0x9E3779B97F4A7C15ull;
		memcpy(buf + i, &w, 8);
	}
}

/* Tree file k: size and content. */
static size_t tree_size(int k)
{
	return 100 + (size_t)(k * 997) % 20000;
}

static void tree_fill(unsigned char *buf, int k, size_t len)
{
	for (size_t j = 0; j < len; j++)
		buf[j] = (unsigned char)('a' + (k + j) % 26);
}

/* fNNN at generation g. */
static void gen_fill(unsigned char *buf, int i, int g)
{
	int n = snprintf((char *)buf, FILE_SIZE, "f%03d gen %d\n", i, g);

	for (int j = n; j < FILE_SIZE; j++)
		buf[j] = (unsigned char)('A' + (i * 7 + g * 13 + j) % 26);
}

static int make_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write_all(fd, data, len) || close(fd))
		return fail("writing %s: %s", path);
	return 0;
}

/* ---- mklower ---------------------------------------------------------- */

static int mklower(const char *dir)
{
	static unsigned char buf[CHUNK];
	char p[PATH_MAX];
	int fd;

	at(p, dir, "big");
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
		return fail("creating %s: %s", p);
	for (uint64_t off = 0; off < BIG_SIZE; off += CHUNK) {
		big_fill(buf, off, CHUNK);
		if (write_all(fd, buf, CHUNK))
			return fail("writing %s: %s", p);
	}
	close(fd);
	at(p, dir, "tree");
	mkdir(p, 0755);
	for (int s = 0; s < TREE_SUBS; s++) {
		char rel[64];
		snprintf(rel, sizeof(rel), "tree/sub%d", s);
		at(p, dir, rel);
		mkdir(p, 0755);
		for (int t = 0; t < TREE_FILES; t++) {
			int k = s * TREE_FILES + t;
			snprintf(rel, sizeof(rel), "tree/sub%d/t%02d", s, t);
			at(p, dir, rel);
			tree_fill(buf, k, tree_size(k));
			if (make_file(p, buf, tree_size(k)))
				return -1;
		}
	}
	at(p, dir, "tree/sub0/deeper");
	mkdir(p, 0700);
	at(p, dir, "tree/sub0/deeper/x");
	if (make_file(p, "x\n", 2))
		return -1;
	at(p, dir, "tree/empty");
	mkdir(p, 0755);
	at(p, dir, "tree/link");
	if (symlink("sub0/t00", p))
		return fail("symlink %s: %s", p);
	at(p, dir, "tree/big1");
	unsigned char *b1 = malloc(BIG1_SIZE);
	if (!b1)
		return fail("%s: %s", "malloc");
	tree_fill(b1, 999, BIG1_SIZE);
	int r = make_file(p, b1, BIG1_SIZE);
	free(b1);
	if (r)
		return -1;
	for (int i = 0; i < NFILES; i++) {
		char rel[16];
		snprintf(rel, sizeof(rel), "f%03d", i);
		at(p, dir, rel);
		gen_fill(buf, i, 0);
		if (make_file(p, buf, FILE_SIZE))
			return -1;
	}
	return 0;
}

/* ---- the changes ------------------------------------------------------ */

static int do_copyup(const char *root)
{
	unsigned char w[8];
	char p[PATH_MAX];
	int fd;

	at(p, root, "big");
	if ((fd = open(p, O_WRONLY)) < 0)
		return fail("open %s: %s", p);
	big_fill(w, BIG_OFF & ~7u, 8);
	w[BIG_OFF & 7] ^= 0xff;
	if (pwrite(fd, &w[BIG_OFF & 7], 1, BIG_OFF) != 1)
		return fail("pwrite %s: %s", p);
	return close(fd) ? fail("close %s: %s", p) : 0;
}

static int do_rename(const char *root)
{
	char a[PATH_MAX], b[PATH_MAX];

	at(a, root, "tree");
	at(b, root, "tree2");
	return rename(a, b) ? fail("rename %s: %s", a) : 0;
}

static int do_files(const char *root, int gens)
{
	unsigned char buf[FILE_SIZE];
	char p[PATH_MAX], tmp[PATH_MAX];

	for (int g = 1; gens < 0 || g <= gens; g++) {
		for (int i = 0; i < NFILES; i++) {
			char rel[16];
			int fd;
			snprintf(rel, sizeof(rel), "f%03d", i);
			at(p, root, rel);
			gen_fill(buf, i, g);
			if (i % 2 == 0) {
				if ((fd = open(p, O_WRONLY)) < 0)
					return fail("open %s: %s", p);
				if (pwrite(fd, buf, FILE_SIZE, 0) != FILE_SIZE)
					return fail("pwrite %s: %s", p);
				if (close(fd))
					return fail("close %s: %s", p);
				continue;
			}
			if (snprintf(tmp, sizeof(tmp), "%s.new", p) >= (int)sizeof(tmp))
				return bad_set("%s: name too long", p);
			if (make_file(tmp, buf, FILE_SIZE))
				return -1;
			if (rename(tmp, p))
				return fail("rename %s: %s", tmp);
		}
	}
	return 0;
}

static int change(const char *mode, const char *root, int finite)
{
	if (!strcmp(mode, "copyup"))
		return do_copyup(root);
	if (!strcmp(mode, "rename"))
		return do_rename(root);
	if (!strcmp(mode, "files"))
		return do_files(root, finite ? 3 : -1);
	errno = EINVAL;
	return fail("unknown mode %s: %s", mode);
}

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ll + ts.tv_nsec / 1000;
}

static int run(const char *mode, const char *root, long delay)
{
	long long t0 = now_us();
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return fail("%s: %s", "fork");
	if (pid == 0) {
		if (change(mode, root, delay < 0)) {
			fprintf(stderr, "crashy: %s\n", bad);
			_exit(1);
		}
		_exit(0);
	}
	if (delay >= 0) {
		usleep((useconds_t)delay);
		kill(pid, SIGKILL);
	}
	if (waitpid(pid, &status, 0) != pid)
		return fail("%s: %s", "waitpid");
	long long took = now_us() - t0;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		printf("killed after %ld us\n", delay);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		printf(delay < 0 ? "%lld\n" : "finished in %lld us\n", took);
	else {
		printf("BAD: the child failed (status %#x)\n", status);
		return -1;
	}
	return 0;
}

/* ---- verify ----------------------------------------------------------- */

/* 0: big is the lower's; 1: it has the new byte; -1: anything else. */
static int verify_big(const char *root)
{
	static unsigned char buf[CHUNK], want[CHUNK];
	char p[PATH_MAX];
	int fd, state = 0;
	struct stat st;

	at(p, root, "big");
	if ((fd = open(p, O_RDONLY)) < 0 || fstat(fd, &st))
		return fail("open %s: %s", p);
	if (st.st_size != BIG_SIZE) {
		bad_set("big has %lld bytes", (long long)st.st_size);
		return -1;
	}
	for (uint64_t off = 0; off < BIG_SIZE; off += CHUNK) {
		if (read_full(fd, buf, CHUNK) != CHUNK)
			return fail("reading %s: %s", p);
		big_fill(want, off, CHUNK);
		if (off <= BIG_OFF && BIG_OFF < off + CHUNK) {
			size_t k = BIG_OFF - off;
			state = buf[k] == (want[k] ^ 0xff);
			if (state)
				buf[k] ^= 0xff;
		}
		if (memcmp(buf, want, CHUNK)) {
			bad_set("big differs in the MiB at %llu",
				 (unsigned long long)off);
			close(fd);
			return -1;
		}
	}
	close(fd);
	return state;
}

static int check_file(const char *path, const unsigned char *want, size_t len)
{
	static unsigned char buf[BIG1_SIZE + 1];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return fail("open %s: %s", path);
	n = read_full(fd, buf, len + 1);
	close(fd);
	if (n != (ssize_t)len || memcmp(buf, want, len)) {
		bad_set("%s: %zd bytes, not the %zu expected", path, n, len);
		return -1;
	}
	return 0;
}

static int count_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return fail("opendir %s: %s", path);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static int count_bad(const char *path)
{
	if (!bad[0])
		bad_set("%s: not the expected number of entries", path);
	return -1;
}

/* The whole tree at root/name: 1 when there, 0 when absent, else -1. */
static int verify_tree(const char *root, const char *name)
{
	static unsigned char buf[BIG1_SIZE];
	char p[PATH_MAX], rel[PATH_MAX], l[64];
	struct stat st;
	ssize_t n;

	at(rel, root, name);
	if (lstat(rel, &st))
		return errno == ENOENT ? 0 : fail("lstat %s: %s", rel);
	if (!S_ISDIR(st.st_mode)) {
		bad_set("%s is not a directory", rel);
		return -1;
	}
	if (count_entries(rel) != TREE_SUBS + 3)
		return count_bad(rel);
	for (int s = 0; s < TREE_SUBS; s++) {
		char sub[32];
		snprintf(sub, sizeof(sub), "sub%d", s);
		at(p, rel, sub);
		if (count_entries(p) != TREE_FILES + (s == 0))
			return count_bad(p);
		for (int t = 0; t < TREE_FILES; t++) {
			int k = s * TREE_FILES + t;
			snprintf(sub, sizeof(sub), "sub%d/t%02d", s, t);
			at(p, rel, sub);
			tree_fill(buf, k, tree_size(k));
			if (check_file(p, buf, tree_size(k)))
				return -1;
		}
	}
	at(p, rel, "sub0/deeper/x");
	if (check_file(p, (const unsigned char *)"x\n", 2))
		return -1;
	at(p, rel, "empty");
	if (count_entries(p) != 0)
		return count_bad(p);
	at(p, rel, "link");
	if ((n = readlink(p, l, sizeof(l))) != 8 || memcmp(l, "sub0/t00", 8))
		return fail("readlink %s: %s", p);
	at(p, rel, "big1");
	tree_fill(buf, 999, BIG1_SIZE);
	if (check_file(p, buf, BIG1_SIZE))
		return -1;
	return 1;
}

static int verify_files(const char *root, int *lo, int *hi)
{
	unsigned char buf[FILE_SIZE + 1], want[FILE_SIZE];
	char p[PATH_MAX];

	*lo = INT_MAX;
	*hi = 0;
	for (int i = 0; i < NFILES; i++) {
		char rel[16];
		int fd, g, ii;
		ssize_t n;
		snprintf(rel, sizeof(rel), "f%03d", i);
		at(p, root, rel);
		if ((fd = open(p, O_RDONLY)) < 0)
			return fail("open %s: %s", p);
		n = read_full(fd, buf, sizeof(buf));
		close(fd);
		buf[n < 0 ? 0 : n < FILE_SIZE ? n : FILE_SIZE] = '\0';
		if (n != FILE_SIZE || sscanf((char *)buf, "f%d gen %d\n", &ii, &g) != 2 ||
		    ii != i || g < 0) {
			bad_set("%s: %zd bytes, not a whole generation", p, n);
			return -1;
		}
		gen_fill(want, i, g);
		if (memcmp(buf, want, FILE_SIZE)) {
			bad_set("%s: generation %d damaged", p, g);
			return -1;
		}
		*lo = g < *lo ? g : *lo;
		*hi = g > *hi ? g : *hi;
	}
	return 0;
}

static int verify(const char *mode, const char *root)
{
	if (!strcmp(mode, "copyup")) {
		int r = verify_big(root);
		if (r < 0)
			return -1;
		printf("%s\n", r ? "new" : "old");
	} else if (!strcmp(mode, "rename")) {
		int a = verify_tree(root, "tree"), b;
		if (a < 0 || (b = verify_tree(root, "tree2")) < 0)
			return -1;
		if (!a && !b) {
			bad_set("neither tree nor tree2 exists");
			return -1;
		}
		printf("%s\n", a && b ? "both" : a ? "old" : "new");
	} else if (!strcmp(mode, "files")) {
		int lo, hi;
		if (verify_files(root, &lo, &hi))
			return -1;
		printf("generations %d..%d\n", lo, hi);
	} else {
		errno = EINVAL;
		return fail("unknown mode %s: %s", mode);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int r;

	if (argc == 3 && !strcmp(argv[1], "mklower"))
		r = mklower(argv[2]);
	else if (argc == 5 && !strcmp(argv[1], "run"))
		r = run(argv[2], argv[3], atol(argv[4]));
	else if (argc == 4 && !strcmp(argv[1], "verify"))
		r = verify(argv[2], argv[3]);
	else {
		fprintf(stderr, "usage: crashy mklower DIR | run MODE ROOT DELAY_US | "
				"verify MODE ROOT\n");
		return 2;
	}
	if (r && bad[0])
		printf("BAD: %s\n", bad);
	return r ? 1 : 0;
}
