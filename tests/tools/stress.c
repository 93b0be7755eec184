/* SPDX-License-Identifier: MIT */
/*
 * stress - concurrency under the shim (tests/integration/concurrency.sh).
 *
 * Usage (ROOT is the mount point; its lower layer made by mklower):
 *   stress mklower DIR             the lower tree: shared/ (s00..s31 and
 *                                  c00..c15, 64-byte records), priv/ (two
 *                                  4096-byte files per thread), race.bin
 *                                  (8 MiB), ru/x_000..x_063
 *   stress threads ROOT T OPS [nofork]
 *                                  T threads x OPS operations on private
 *                                  and shared files, while the main thread
 *                                  forks (and vforks + execs) children that
 *                                  use the view (not with nofork)
 *   stress copyup ROOT N           N processes write race.bin at the same
 *                                  moment (a pipe is the barrier), each
 *                                  4096 bytes at its own offset
 *   stress copyup-verify ROOT N    race.bin is the lower's with all N writes
 *   stress renunlink ROOT ROUNDS   two processes race: one renames ru/x_I
 *                                  to ru/y_I and back, the other unlinks
 *                                  whichever name it finds
 *   stress child ROOT              (exec'd by threads) reads the view
 *
 * Output: "ok - what" / "not ok - what" lines, "# " diagnostics; exit 1
 * when anything failed.
 *
 * Invariants checked by threads: private files (each thread's own, at a
 * name that moves by rename and is recreated after unlink) always hold
 * what the thread wrote, at every read and at the end; shared s-files
 * (never changed) always read as the lower's; shared c-files, written
 * whole with O_TRUNC, renamed over each other and unlinked by every
 * thread, read as a whole record, or empty (between O_TRUNC and write), or
 * ENOENT; readdir of the shared directory lists each name once and only
 * names that can exist; the only errno each call may give is the one a
 * real filesystem could give there; the process has as many fds at the
 * end as at the start; every forked child finishes its reads of the view
 * (an alarm catches a lock a fork left held).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REC       64        /* a shared file's content */
#define NS        32        /* shared/sNN: never changed */
#define NC        16        /* shared/cNN: changed by every thread */
#define ND        8         /* shared/dNN: made and removed */
#define NPRIV     4         /* private files per thread (2 in the lower) */
#define PSIZE     4096      /* a private file's size */
#define MAXT      64
#define RACE_SIZE (8u << 20)
#define RACE_GAP  65536     /* child i writes at i * RACE_GAP + 100 */
#define NRU       64        /* ru/x_NNN */
#define CHILD_ALARM 10      /* seconds a forked child may take */

static const char *root;
static atomic_int problems;

__attribute__((format(printf, 1, 2)))
static void problem(const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&problems, 1) >= 20)
		return; /* counted, not printed */
	flockfile(stdout);
	fputs("# problem: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	funlockfile(stdout);
	fflush(stdout);
}

static int report(int cond, const char *what)
{
	printf("%sok - %s\n", cond ? "" : "not ", what);
	fflush(stdout);
	return cond ? 0 : 1;
}

static int path_at(char *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	return n < 0 || n >= PATH_MAX ? -1 : 0;
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

static ssize_t pread_full(int fd, void *buf, size_t len, off_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = pread(fd, (char *)buf + got, len - got, off + (off_t)got);
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

static int make_file(const char *path, const void *data, size_t len, int flags)
{
	int fd = open(path, O_WRONLY | O_CREAT | flags, 0644);

	if (fd < 0)
		return -1;
	if (write_all(fd, data, len)) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Open fds, not counting memfds: a memory upper layer holds one per
 * regular file it stores, which is its content, not a leak.
 */
static int fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char link[64], p[64];
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
			continue;
		snprintf(p, sizeof(p), "/proc/self/fd/%d", atoi(e->d_name));
		ssize_t k = readlink(p, link, sizeof(link) - 1);
		n += k < 7 || strncmp(link, "/memfd:", 7) != 0;
	}
	closedir(d);
	return n;
}

/* ---- contents --------------------------------------------------------- */

static uint32_t rec_hash(const unsigned char *b, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h & 0xfffffff;
}

/* A shared file's record: who wrote it, self-checking. */
static void rec_make(unsigned char *r, const char *name, int writer, long op)
{
	int n = snprintf((char *)r, REC, "rec %s by %02d op %07ld ", name, writer, op);

	char h[16];

	memset(r + n, '.', (size_t)(56 - n));
	snprintf(h, sizeof(h), "%07x\n", (unsigned)rec_hash(r, 56));
	memcpy(r + 56, h, 8);
}

static int rec_valid(const unsigned char *r, ssize_t n)
{
	char want[9];

	if (n != REC)
		return 0;
	snprintf(want, sizeof(want), "%07x\n", (unsigned)rec_hash(r, 56));
	return memcmp(r + 56, want, 8) == 0 && memcmp(r, "rec ", 4) == 0;
}

static void priv_fill(unsigned char *b, int t, int k)
{
	for (int j = 0; j < PSIZE; j++)
		b[j] = (unsigned char)(t * 31 + k * 7 + j);
}

static void race_fill(unsigned char *b, size_t off, size_t len)
{
	for (size_t i = 0; i < len; i++)
		b[i] = (unsigned char)((off + i) * 131 >> 3);
}

static void ru_content(char *b, size_t size, int round, int i)
{
	snprintf(b, size, "round %d %03d\n", round, i);
}

/* ---- mklower ---------------------------------------------------------- */

static int mklower(const char *dir)
{
	unsigned char buf[PSIZE];
	char p[PATH_MAX];

	path_at(p, "%s/shared", dir);
	mkdir(p, 0755);
	path_at(p, "%s/priv", dir);
	mkdir(p, 0755);
	path_at(p, "%s/ru", dir);
	mkdir(p, 0755);
	for (int i = 0; i < NS + NC; i++) {
		char name[8];
		snprintf(name, sizeof(name), "%c%02d", i < NS ? 's' : 'c', i < NS ? i : i - NS);
		rec_make(buf, name, 99, 0);
		path_at(p, "%s/shared/%s", dir, name);
		if (make_file(p, buf, REC, O_TRUNC))
			return perror(p), 1;
	}
	for (int t = 0; t < MAXT; t++)
		for (int k = 0; k < 2; k++) {
			priv_fill(buf, t, k);
			path_at(p, "%s/priv/t%d_%d", dir, t, k);
			if (make_file(p, buf, PSIZE, O_TRUNC))
				return perror(p), 1;
		}
	for (int i = 0; i < NRU; i++) {
		char c[32];
		ru_content(c, sizeof(c), 0, i);
		path_at(p, "%s/ru/x_%03d", dir, i);
		if (make_file(p, c, strlen(c), O_TRUNC))
			return perror(p), 1;
	}
	unsigned char *big = malloc(RACE_SIZE);
	if (!big)
		return 1;
	race_fill(big, 0, RACE_SIZE);
	path_at(p, "%s/race.bin", dir);
	int r = make_file(p, big, RACE_SIZE, O_TRUNC);
	free(big);
	return r ? perror(p), 1 : 0;
}

/* ---- threads ---------------------------------------------------------- */

struct worker {
	pthread_t th;
	int id;
	long nops;
	uint64_t rng;
	bool alt[NPRIV];                   /* the file is at its .alt name */
	unsigned char model[NPRIV][PSIZE]; /* what it must hold */
};

static atomic_int workers_left;

static void priv_path(const struct worker *w, int k, bool alt, char *p)
{
	path_at(p, "%s/priv/t%d_%d%s", root, w->id, k, alt ? ".alt" : "");
}

static void priv_check(struct worker *w, int k, const char *when)
{
	unsigned char buf[PSIZE + 1];
	char p[PATH_MAX];
	int fd;

	priv_path(w, k, w->alt[k], p);
	if ((fd = open(p, O_RDONLY)) < 0) {
		problem("%s: open %s: %s", when, p, strerror(errno));
		return;
	}
	ssize_t n = pread_full(fd, buf, sizeof(buf), 0);
	if (n != PSIZE || memcmp(buf, w->model[k], PSIZE))
		problem("%s: %s holds %zd bytes, not what thread %d wrote", when, p, n, w->id);
	close(fd);
}

static void op_private(struct worker *w, uint64_t r)
{
	int k = (int)(r % NPRIV);
	char p[PATH_MAX], q[PATH_MAX];
	struct stat st;
	int fd;

	priv_path(w, k, w->alt[k], p);
	switch ((r >> 8) % 8) {
	case 0: case 1: case 2: { /* write a random range */
		size_t len = 1 + (r >> 16) % 512, off = (r >> 32) % (PSIZE - len + 1);
		unsigned char data[512];
		for (size_t j = 0; j < len; j++)
			data[j] = (unsigned char)(r >> (j % 56));
		if ((fd = open(p, O_WRONLY)) < 0) {
			problem("open %s for writing: %s", p, strerror(errno));
			return;
		}
		if (pwrite(fd, data, len, (off_t)off) != (ssize_t)len)
			problem("pwrite %s: %s", p, strerror(errno));
		else
			memcpy(w->model[k] + off, data, len);
		close(fd);
		break;
	}
	case 3: case 4:
		priv_check(w, k, "read");
		break;
	case 5:
		if (stat(p, &st) || st.st_size != PSIZE || !S_ISREG(st.st_mode))
			problem("stat %s: %s, size %lld", p, strerror(errno), (long long)st.st_size);
		break;
	case 6: /* move it to its other name */
		priv_path(w, k, !w->alt[k], q);
		if (rename(p, q))
			problem("rename %s: %s", p, strerror(errno));
		else
			w->alt[k] = !w->alt[k];
		break;
	case 7: /* delete it and write it again */
		if (unlink(p))
			problem("unlink %s: %s", p, strerror(errno));
		priv_path(w, k, false, q);
		if (make_file(q, w->model[k], PSIZE, O_EXCL))
			problem("recreate %s: %s", q, strerror(errno));
		w->alt[k] = false;
		break;
	}
}

/* Reads a shared file; complains unless whole, empty or gone. */
static void shared_read(const char *name, bool never_changed)
{
	unsigned char buf[REC + 1], want[REC];
	ssize_t n = -1;
	int tries;

	for (tries = 0; tries < 3; tries++) {
		int fd = open(name, O_RDONLY);
		if (fd < 0) {
			if (errno == ENOENT && !never_changed)
				return;
			problem("open shared/%s: %s", name, strerror(errno));
			return;
		}
		n = pread_full(fd, buf, sizeof(buf), 0);
		struct stat st;
		if (fstat(fd, &st) || !S_ISREG(st.st_mode))
			problem("fstat shared/%s: %s", name, strerror(errno));
		close(fd);
		if (never_changed) {
			rec_make(want, name, 99, 0);
			if (n == REC && !memcmp(buf, want, REC))
				return;
		} else if (n == 0 || rec_valid(buf, n)) {
			return;
		}
		/* A read that raced a write may see a part of it: once more. */
	}
	problem("shared/%s: %zd bytes that are not a whole record", name, n);
}

static bool shared_name_ok(const char *n)
{
	int i;
	char c, extra;

	if (!strcmp(n, ".") || !strcmp(n, ".."))
		return true;
	if (sscanf(n, "%c%2d%c", &c, &i, &extra) != 2 || strlen(n) != 3)
		return false;
	return (c == 's' && i < NS) || (c == 'c' && i < NC) || (c == 'd' && i < ND);
}

static void shared_readdir(void)
{
	char seen[3][64] = { { 0 } };
	DIR *d = opendir(".");
	struct dirent *e;

	if (!d) {
		problem("opendir shared: %s", strerror(errno));
		return;
	}
	while ((e = readdir(d))) {
		const char *n = e->d_name;
		if (!shared_name_ok(n)) {
			problem("readdir shared: unexpected name '%s'", n);
			continue;
		}
		if (n[0] == '.')
			continue;
		int kind = n[0] == 's' ? 0 : n[0] == 'c' ? 1 : 2, i = atoi(n + 1);
		if (seen[kind][i]++)
			problem("readdir shared: '%s' twice", n);
	}
	closedir(d);
	for (int i = 0; i < NS; i++)
		if (!seen[0][i])
			problem("readdir shared: s%02d missing", i);
}

static void op_shared(struct worker *w, uint64_t r)
{
	char a[16], b[16], f[32];
	unsigned char rec[REC];
	struct stat st;
	int i = (int)((r >> 16) % NC), j = (int)((r >> 24) % NC), dd = (int)((r >> 32) % ND);

	snprintf(a, sizeof(a), "c%02d", i);
	snprintf(b, sizeof(b), "c%02d", j);
	switch ((r >> 8) % 11) {
	case 10: { /* list a directory others make and remove */
		DIR *d;
		struct dirent *e;
		snprintf(f, sizeof(f), "d%02d", dd);
		if (!(d = opendir(f))) {
			if (errno != ENOENT)
				problem("opendir shared/%s: %s", f, strerror(errno));
			break;
		}
		while ((e = readdir(d)))
			if (e->d_name[0] != '.' && e->d_name[0] != 'f')
				problem("readdir shared/%s: unexpected '%s'", f, e->d_name);
		if (fstat(dirfd(d), &st) || !S_ISDIR(st.st_mode))
			problem("fstat shared/%s: %s", f, strerror(errno));
		closedir(d);
		break;
	}
	case 0: {
		char s[8];
		snprintf(s, sizeof(s), "s%02d", (int)((r >> 40) % NS));
		shared_read(s, true);
		break;
	}
	case 1:
		shared_read(a, false);
		break;
	case 2: case 3:
		rec_make(rec, a, w->id, w->nops);
		if (make_file(a, rec, REC, O_TRUNC))
			problem("write shared/%s: %s", a, strerror(errno));
		break;
	case 4:
		if (rename(a, b) && errno != ENOENT)
			problem("rename shared/%s %s: %s", a, b, strerror(errno));
		break;
	case 5:
		if (unlink(a) && errno != ENOENT)
			problem("unlink shared/%s: %s", a, strerror(errno));
		break;
	case 6:
		if (stat(a, &st) == 0 ? st.st_size != 0 && st.st_size != REC : errno != ENOENT)
			problem("stat shared/%s: %s, size %lld", a, strerror(errno),
				(long long)st.st_size);
		break;
	case 7:
		shared_readdir();
		break;
	case 8:
		snprintf(f, sizeof(f), "d%02d", dd);
		if ((r >> 48) & 1) {
			if (mkdir(f, 0755) && errno != EEXIST)
				problem("mkdir shared/%s: %s", f, strerror(errno));
		} else if (rmdir(f) && errno != ENOENT && errno != ENOTEMPTY) {
			problem("rmdir shared/%s: %s", f, strerror(errno));
		}
		break;
	case 9:
		snprintf(f, sizeof(f), "d%02d/f%d", dd, w->id);
		if ((r >> 48) & 1) {
			int fd = open(f, O_WRONLY | O_CREAT, 0644);
			if (fd >= 0)
				close(fd);
			else if (errno != ENOENT)
				problem("create shared/%s: %s", f, strerror(errno));
		} else if (unlink(f) && errno != ENOENT) {
			problem("unlink shared/%s: %s", f, strerror(errno));
		}
		break;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (long n = 0; n < w->nops; n++) {
		uint64_t r = rng_next(&w->rng);
		if (r & 1)
			op_private(w, r >> 1);
		else
			op_shared(w, r >> 1);
	}
	atomic_fetch_sub(&workers_left, 1);
	return NULL;
}

/* In a forked child: reads of the view, relative to the (virtual) cwd. */
static int child_reads(void)
{
	unsigned char buf[REC + 1], want[REC];
	struct stat st;
	int fd, ok = 1;
	DIR *d;

	alarm(CHILD_ALARM);
	rec_make(want, "s01", 99, 0);
	ok &= stat("s00", &st) == 0 && st.st_size == REC;
	if ((fd = open("s01", O_RDONLY)) >= 0) {
		ok &= pread_full(fd, buf, sizeof(buf), 0) == REC && !memcmp(buf, want, REC);
		close(fd);
	} else {
		ok = 0;
	}
	if ((d = opendir("."))) {
		int n = 0;
		while (readdir(d))
			n++;
		ok &= n >= NS + 2;
		closedir(d);
	} else {
		ok = 0;
	}
	return ok ? 0 : 1;
}

static int child_main(const char *r)
{
	char p[PATH_MAX];

	alarm(CHILD_ALARM);
	path_at(p, "%s/shared", r);
	if (chdir(p))
		return 1;
	return child_reads();
}

/* vfork, then exec this program as "stress child ROOT" (its own function:
 * nothing of the caller's frame is live across vfork). */
__attribute__((noinline)) static pid_t vfork_child(void)
{
	pid_t pid = vfork();

	if (pid == 0) {
		alarm(CHILD_ALARM);
		execl("/proc/self/exe", "stress", "child", root, (char *)NULL);
		_exit(126);
	}
	return pid;
}

/* Forks and vfork+execs while the workers run; returns failures. */
static int fork_loop(int *nfork, int *nvfork, int *hung)
{
	int bad = 0;

	*nfork = *nvfork = *hung = 0;
	while (atomic_load(&workers_left) > 0) {
		bool use_vfork = (*nfork + *nvfork) % 3 == 2;
		pid_t pid;
		int status;
		if (use_vfork) {
			pid = vfork_child();
		} else {
			pid = fork();
			if (pid == 0)
				_exit(child_reads());
		}
		if (pid < 0) {
			problem("fork: %s", strerror(errno));
			return bad + 1;
		}
		if (waitpid(pid, &status, 0) != pid) {
			problem("waitpid: %s", strerror(errno));
			return bad + 1;
		}
		(use_vfork ? (*nvfork)++ : (*nfork)++);
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
			printf("# a %s child hung (killed by its alarm after %d s)\n",
			       use_vfork ? "vfork+exec" : "fork", CHILD_ALARM);
			(*hung)++;
			bad++;
		} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			problem("%s child: status %#x", use_vfork ? "vfork+exec" : "fork", status);
			bad++;
		}
		usleep(2000);
	}
	return bad;
}

static int threads_main(int nthreads, long nops, bool forks)
{
	static struct worker w[MAXT];
	char p[PATH_MAX], msg[256];
	int failed = 0, nfork, nvfork, hung, forkbad;

	if (nthreads < 1 || nthreads > MAXT)
		return 2;
	path_at(p, "%s/shared", root);
	if (chdir(p))
		return perror(p), 1;
	shared_readdir(); /* the view is set up before fds are counted */
	int fds_before = fd_count();
	for (int t = 0; t < nthreads; t++) {
		w[t].id = t;
		w[t].nops = nops;
		w[t].rng = 0x9E3779B97F4A7C15ull * (uint64_t)(t + 1);
		for (int k = 0; k < NPRIV; k++) {
			priv_fill(w[t].model[k], t, k);
			if (k >= 2) {
				priv_path(&w[t], k, false, p);
				if (make_file(p, w[t].model[k], PSIZE, O_TRUNC))
					problem("create %s: %s", p, strerror(errno));
			}
		}
	}
	atomic_store(&workers_left, nthreads);
	for (int t = 0; t < nthreads; t++)
		if (pthread_create(&w[t].th, NULL, worker_main, &w[t]))
			return perror("pthread_create"), 1;
	nfork = nvfork = hung = forkbad = 0;
	if (forks)
		forkbad = fork_loop(&nfork, &nvfork, &hung);
	for (int t = 0; t < nthreads; t++)
		pthread_join(w[t].th, NULL);
	int ops_problems = atomic_load(&problems);
	for (int t = 0; t < nthreads; t++)
		for (int k = 0; k < NPRIV; k++)
			priv_check(&w[t], k, "at the end");
	int end_problems = atomic_load(&problems) - ops_problems;
	int fds_after = fd_count();

	snprintf(msg, sizeof(msg), "%d threads x %ld operations: %d problems", nthreads, nops,
		 ops_problems - forkbad + hung);
	failed |= report(ops_problems - forkbad + hung == 0, msg);
	snprintf(msg, sizeof(msg), "every private file holds what its thread wrote (%d problems)",
		 end_problems);
	failed |= report(end_problems == 0, msg);
	snprintf(msg, sizeof(msg), "no fd leaked: %d fds before, %d after", fds_before, fds_after);
	failed |= report(fds_before == fds_after, msg);
	snprintf(msg, sizeof(msg), "%d forks and %d vfork+exec during the run: %d hung, %d failed%s",
		 nfork, nvfork, hung, forkbad - hung, forks ? "" : " # SKIP no forks asked for");
	failed |= report(!forks || (forkbad == 0 && nfork + nvfork > 0), msg);
	return failed;
}

/* ---- copy-up race ----------------------------------------------------- */

static int copyup_main(int n)
{
	char p[PATH_MAX];
	int pipefd[2], bad = 0;
	pid_t pids[64];

	if (n < 1 || n > 64 || (size_t)n * RACE_GAP > RACE_SIZE || pipe(pipefd))
		return 2;
	path_at(p, "%s/race.bin", root);
	for (int i = 0; i < n; i++) {
		if ((pids[i] = fork()) < 0)
			return perror("fork"), 1;
		if (pids[i] == 0) {
			unsigned char data[4096], c;
			close(pipefd[1]);
			alarm(30);
			if (read(pipefd[0], &c, 1) != 0) /* EOF: every child is ready */
				_exit(3);
			memset(data, 0x40 + i, sizeof(data));
			int fd = open(p, O_WRONLY);
			if (fd < 0)
				_exit(4);
			if (pwrite(fd, data, sizeof(data), (off_t)i * RACE_GAP + 100) != sizeof(data))
				_exit(5);
			_exit(close(fd) ? 6 : 0);
		}
	}
	close(pipefd[0]);
	usleep(20000);
	close(pipefd[1]); /* go */
	for (int i = 0; i < n; i++) {
		int status;
		waitpid(pids[i], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			problem("writer %d: status %#x", i, status);
			bad = 1;
		}
	}
	char msg[128];
	snprintf(msg, sizeof(msg), "%d processes opened race.bin for writing at once and wrote", n);
	return report(!bad, msg);
}

static int copyup_verify(int n)
{
	static unsigned char buf[RACE_SIZE + 1], want[RACE_SIZE];
	char p[PATH_MAX], msg[128];
	int fd;

	path_at(p, "%s/race.bin", root);
	if ((fd = open(p, O_RDONLY)) < 0)
		return report(0, "race.bin opens");
	ssize_t got = pread_full(fd, buf, sizeof(buf), 0);
	close(fd);
	race_fill(want, 0, RACE_SIZE);
	for (int i = 0; i < n; i++)
		memset(want + (size_t)i * RACE_GAP + 100, 0x40 + i, 4096);
	int missing = 0;
	for (int i = 0; i < n; i++)
		if (got == RACE_SIZE && memcmp(buf + (size_t)i * RACE_GAP + 100,
					       want + (size_t)i * RACE_GAP + 100, 4096))
			missing++;
	snprintf(msg, sizeof(msg), "race.bin: %zd bytes, %d of the %d writes missing%s", got,
		 missing, n, got == RACE_SIZE && !memcmp(buf, want, RACE_SIZE) ? "" :
		 ", or other bytes differ");
	return report(got == RACE_SIZE && !memcmp(buf, want, RACE_SIZE), msg);
}

/* ---- rename / unlink race --------------------------------------------- */

struct ru_shared {
	atomic_int stop;
	atomic_int unlinked[NRU];
	atomic_int odd_errors;
};

static void ru_name(char *p, char c, int i)
{
	path_at(p, "%s/ru/%c_%03d", root, c, i);
}

static void ru_renamer(struct ru_shared *sh)
{
	char x[PATH_MAX], y[PATH_MAX];

	while (!atomic_load(&sh->stop))
		for (int i = 0; i < NRU; i++) {
			ru_name(x, 'x', i);
			ru_name(y, 'y', i);
			if (rename(x, y) && errno != ENOENT)
				atomic_fetch_add(&sh->odd_errors, 1);
			if (rename(y, x) && errno != ENOENT)
				atomic_fetch_add(&sh->odd_errors, 1);
		}
}

static void ru_unlinker(struct ru_shared *sh, uint64_t seed)
{
	char p[PATH_MAX];

	for (int k = 0; k < NRU; k++) {
		int i = (int)((k * 37 + seed) % NRU), tries;
		/* Until it is gone, then 20 more tries: a name must not come back. */
		for (tries = 0; tries < 2000; tries++) {
			ru_name(p, (tries + (int)seed) & 1 ? 'x' : 'y', i);
			if (unlink(p) == 0) {
				if (atomic_fetch_add(&sh->unlinked[i], 1) == 0)
					tries = 1980;
			} else if (errno != ENOENT) {
				atomic_fetch_add(&sh->odd_errors, 1);
			}
		}
	}
	atomic_store(&sh->stop, 1);
}

static int renunlink_main(int rounds)
{
	struct ru_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char x[PATH_MAX], y[PATH_MAX], msg[256];
	int bad = 0, gone = 0, kept = 0, odd = 0, twice = 0;

	if (sh == MAP_FAILED)
		return 1;
	for (int round = 0; round < rounds; round++) {
		memset(sh, 0, sizeof(*sh));
		for (int i = 0; round > 0 && i < NRU; i++) {
			char c[32];
			ru_name(x, 'x', i);
			ru_name(y, 'y', i);
			ru_content(c, sizeof(c), round, i);
			unlink(y);
			if (make_file(x, c, strlen(c), O_TRUNC))
				problem("round %d: create %s: %s", round, x, strerror(errno));
		}
		int pipefd[2];
		pid_t pid[2];
		if (pipe(pipefd))
			return 1;
		for (int k = 0; k < 2; k++) {
			if ((pid[k] = fork()) == 0) {
				char c;
				close(pipefd[1]);
				alarm(60);
				if (read(pipefd[0], &c, 1) != 0)
					_exit(3);
				if (k == 0)
					ru_renamer(sh);
				else
					ru_unlinker(sh, (uint64_t)round * 7 + 1);
				_exit(0);
			}
		}
		close(pipefd[0]);
		close(pipefd[1]);
		for (int k = 0; k < 2; k++) {
			int status;
			waitpid(pid[k], &status, 0);
			if (!WIFEXITED(status) || WEXITSTATUS(status)) {
				problem("round %d: %s: status %#x", round, k ? "unlinker" : "renamer",
					status);
				bad = 1;
			}
		}
		odd += atomic_load(&sh->odd_errors);
		/* One file per i, moved around; once unlinked it is gone. */
		for (int i = 0; i < NRU; i++) {
			struct stat st;
			int n = atomic_load(&sh->unlinked[i]);
			ru_name(x, 'x', i);
			ru_name(y, 'y', i);
			int ex = stat(x, &st) == 0, ey = stat(y, &st) == 0;
			if (ex + ey != (n ? 0 : 1)) {
				problem("round %d: %03d: unlinked %d times, x %s, y %s", round, i,
					n, ex ? "exists" : "absent", ey ? "exists" : "absent");
				bad = 1;
				continue;
			}
			if (n > 1) {
				if (twice++ < 5)
					printf("# round %d: %03d: unlinked %d times: after a rename "
					       "the source name showed a file again\n", round, i, n);
			}
			gone += n > 0;
			kept += ex + ey;
			if (ex + ey) {
				char want[32], got[33] = "";
				ru_content(want, sizeof(want), round, i);
				int fd = open(ex ? x : y, O_RDONLY);
				ssize_t r = fd >= 0 ? pread_full(fd, got, sizeof(got) - 1, 0) : -1;
				if (fd >= 0)
					close(fd);
				if (r != (ssize_t)strlen(want) || memcmp(got, want, (size_t)r)) {
					problem("round %d: %s has the wrong content", round,
						ex ? x : y);
					bad = 1;
				}
			}
		}
	}
	snprintf(msg, sizeof(msg), "%d rounds of rename vs unlink on %d names: every final state "
		 "is a real filesystem's (%d unlinked, %d left whole, %d unexpected errno)",
		 rounds, NRU, gone, kept, odd);
	int failed = report(!bad && !odd, msg);
	snprintf(msg, sizeof(msg), "rename is atomic: no file was unlinked under two names "
		 "(%d were)", twice);
	failed |= report(twice == 0, msg);
	return failed;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "mklower"))
		return mklower(argv[2]);
	if (argc < 3)
		goto usage;
	root = argv[2];
	if ((argc == 5 || (argc == 6 && !strcmp(argv[5], "nofork"))) &&
	    !strcmp(argv[1], "threads"))
		return threads_main(atoi(argv[3]), atol(argv[4]), argc == 5);
	if (argc == 4 && !strcmp(argv[1], "copyup"))
		return copyup_main(atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "copyup-verify"))
		return copyup_verify(atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "renunlink"))
		return renunlink_main(atoi(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "child"))
		return child_main(root);
usage:
	fprintf(stderr, "usage: stress mklower DIR | threads ROOT T OPS [nofork] | copyup ROOT N | "
			"copyup-verify ROOT N | renunlink ROOT ROUNDS | child ROOT\n");
	return 2;
}
