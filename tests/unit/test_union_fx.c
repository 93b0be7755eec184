/* SPDX-License-Identifier: MIT */
/*
 * test_union_fx.c - the fixture of the union suites (see test_union.h):
 * building the seed tree and archive, opening layers and unions, small
 * helpers over the union, and the lower-layer checksum.
 */
#include "test_union.h"

#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>

struct fx fx;

/* ---- checksums ------------------------------------------------------- */

static unsigned long long fx_fnv(unsigned long long h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

static unsigned long long fx_file_sum(unsigned long long h, const char *path)
{
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return fx_fnv(h, "?", 1);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		h = fx_fnv(h, buf, (size_t)n);
	close(fd);
	return h;
}

static unsigned long long fx_tree_acc;

static int fx_tree_one(const char *path, const struct stat *st, int type,
		       struct FTW *ftw)
{
	unsigned long long h = fx_fnv(14695981039346656037ULL, path, strlen(path));

	(void)type;
	(void)ftw;
	h = fx_fnv(h, &st->st_mode, sizeof(st->st_mode));
	h = fx_fnv(h, &st->st_uid, sizeof(st->st_uid));
	h = fx_fnv(h, &st->st_size, sizeof(st->st_size));
	h = fx_fnv(h, &st->st_mtim, sizeof(st->st_mtim));
	if (S_ISREG(st->st_mode))
		h = fx_file_sum(h, path);
	fx_tree_acc += h; /* order-independent */
	return 0;
}

static unsigned long long fx_lower_sum(void)
{
	if (!fx.lower_is_dir)
		return fx_file_sum(14695981039346656037ULL, fx.tar);
	fx_tree_acc = 0;
	nftw(fx.src, fx_tree_one, 16, FTW_PHYS);
	return fx_tree_acc;
}

/* ---- setup ----------------------------------------------------------- */

void fx_sh(const char *fmt, ...)
{
	char cmd[4096], full[4096 + 600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "cd '%s' && { %s ; }", fx.root, cmd);
	int st = system(full);
	cr_assert(st == 0, "shell failed (%d): %s", st, cmd);
}

void fx_init(void)
{
	const char *tmp = getenv("TMPDIR");

	memset(&fx, 0, sizeof(fx));
	snprintf(fx.root, sizeof(fx.root), "%s/lyr-union-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	cr_assert(mkdtemp(fx.root), "mkdtemp: %s", strerror(errno));
	chmod(fx.root, 0755);
	snprintf(fx.src, sizeof(fx.src), "%s/src", fx.root);
	snprintf(fx.tar, sizeof(fx.tar), "%s/seed.tar", fx.root);
	snprintf(fx.upper, sizeof(fx.upper), "%s/upper", fx.root);
	snprintf(fx.cache, sizeof(fx.cache), "%s/cache", fx.root);
	fx_sh("mkdir -p src/bar upper cache && printf 'testfoo\\n' > src/foo && "
	      "printf 'testbaz\\n' > src/bar/baz && chmod 0644 src/foo src/bar/baz && "
	      "chmod 0755 src src/bar");
}

void fx_check_lower(void)
{
	if (fx.check_sum)
		cr_assert(fx_lower_sum() == fx.sum, "the lower layer changed");
}

void fx_fini(void)
{
	if (fx.u)
		lyr_destroy(fx.u);
	fx.u = NULL;
	if (fx.root[0]) {
		char cmd[2 * sizeof(fx.root) + 64];
		snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'",
			 fx.root, fx.root);
		if (system(cmd) != 0)
			cr_log_warn("could not remove %s", fx.root);
	}
}

struct lyr_layer *fx_archive(void)
{
	struct lyr_error err = { "" };
	struct lyr_layer *l = NULL;

	if (access(fx.tar, F_OK) != 0)
		fx_sh("tar --owner=1000 --group=1000 --numeric-owner --sort=name "
		      "-cf seed.tar -C src $(cd src && ls -A)");
	int r = lyr_archive_open(fx.tar, &(struct lyr_archive_opts){ .cache_dir = fx.cache },
				 &l, &err);
	cr_assert(r == 0, "archive: %s", err.msg);
	fx.lower_is_dir = false;
	fx.sum = fx_lower_sum();
	fx.check_sum = true;
	return l;
}

struct lyr_layer *fx_hostdir(const char *dir, unsigned flags)
{
	struct lyr_error err = { "" };
	struct lyr_layer *l = NULL;

	cr_assert(lyr_host_open(dir, flags, &l, &err) == 0, "host %s: %s", dir, err.msg);
	return l;
}

struct lyr_layer *fx_hostupper(void)
{
	return fx_hostdir(fx.upper, 0);
}

struct lyr_layer *fx_memupper(void)
{
	struct lyr_error err = { "" };
	struct lyr_layer *l = NULL;

	cr_assert(lyr_mem_open(&l, &err) == 0, "mem: %s", err.msg);
	return l;
}

static void fx_copied(void *ctx, const char *path, uint64_t ino)
{
	(void)ctx;
	fx.ncopied++;
	snprintf(fx.copied_path, sizeof(fx.copied_path), "%s", path);
	fx.copied_ino = ino;
	if (fx.hook)
		fx.hook(path, ino);
}

void fx_union(struct lyr_layer *upper, struct lyr_layer **lowers, size_t n,
	      unsigned flags)
{
	struct lyr_error err = { "" };
	struct lyr_union_opts o = { .flags = flags, .copied_up = fx_copied };

	cr_assert(lyr_union_open(upper, lowers, n, &o, &fx.u, &err) == 0, "union: %s",
		  err.msg);
}

void fx_std(enum fx_upper up, enum fx_lower low)
{
	struct lyr_layer *lower;

	if (low == FX_ARCHIVE) {
		lower = fx_archive();
	} else {
		fx_sh("chown -R 1000:1000 src");
		lower = fx_hostdir(fx.src, LYR_HOST_RDONLY);
		fx.lower_is_dir = true;
		fx.sum = fx_lower_sum();
		fx.check_sum = true;
	}
	fx_union(up == FX_HOST ? fx_hostupper() : up == FX_MEM ? fx_memupper() : NULL,
		 &lower, 1, 0);
}

/* ---- helpers over fx.u ------------------------------------------------ */

ssize_t fx_read(const char *path, char *buf, size_t size)
{
	int fd = lyr_open(fx.u, path, O_RDONLY, 0);
	ssize_t n, got = 0;

	if (fd < 0)
		return fd;
	while (got + 1 < (ssize_t)size &&
	       (n = read(fd, buf + got, size - 1 - (size_t)got)) > 0)
		got += n;
	buf[got] = '\0';
	close(fd);
	return got;
}

int fx_write(const char *path, int flags, const char *data)
{
	int fd = lyr_open(fx.u, path, flags, 0644);

	if (fd < 0)
		return fd;
	ssize_t n = write(fd, data, strlen(data));
	close(fd);
	return n == (ssize_t)strlen(data) ? 0 : -EIO;
}

const char *fx_fd_str(int fd)
{
	static char buf[65536];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

int fx_stat(const char *path, struct stat *st)
{
	return lyr_lookup(fx.u, path, st, NULL);
}

uint64_t fx_ino(const char *path)
{
	struct stat st;

	return fx_stat(path, &st) == 0 ? st.st_ino : 0;
}

static int fx_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *fx_ls_any(const char *path, bool sorted)
{
	static char out[8192];
	struct lyr_dirlist d;
	char *names[512];
	size_t n = 0;
	int r = lyr_readdir(fx.u, path, &d);

	if (r < 0) {
		snprintf(out, sizeof(out), "<%s>", strerror(-r));
		return out;
	}
	cr_assert(d.n >= 2 && !strcmp(d.ents[0].name, ".") && !strcmp(d.ents[1].name, ".."),
		  "%s: . and .. first", path);
	for (size_t i = 2; i < d.n && n < 512; i++)
		names[n++] = d.ents[i].name;
	if (sorted)
		qsort(names, n, sizeof(*names), fx_cmp);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(out, " ");
		strcat(out, names[i]);
	}
	lyr_dirlist_free(&d);
	return out;
}

const char *fx_ls(const char *path)
{
	return fx_ls_any(path, false);
}

const char *fx_ls_sorted(const char *path)
{
	return fx_ls_any(path, true);
}

void fx_check_dinos(const char *path)
{
	struct lyr_dirlist d;
	struct stat st;
	char child[PATH_MAX];

	cr_assert(lyr_readdir(fx.u, path, &d) == 0);
	cr_assert(fx_stat(path, &st) == 0);
	cr_expect(d.ents[0].ino == st.st_ino, "%s: '.' d_ino", path);
	for (size_t i = 2; i < d.n; i++) {
		snprintf(child, sizeof(child), "%s%s%s", path, *path ? "/" : "",
			 d.ents[i].name);
		cr_assert(fx_stat(child, &st) == 0, "lookup %s", child);
		cr_expect(d.ents[i].ino == st.st_ino, "%s: d_ino %llx, st_ino %llx", child,
			  (unsigned long long)d.ents[i].ino, (unsigned long long)st.st_ino);
		cr_expect(d.ents[i].type == IFTODT(st.st_mode), "%s: d_type", child);
		if (S_ISDIR(st.st_mode)) {
			struct lyr_dirlist sub;
			cr_assert(lyr_readdir(fx.u, child, &sub) == 0);
			cr_expect(sub.ents[1].ino == fx_ino(path), "%s: '..' d_ino", child);
			lyr_dirlist_free(&sub);
		}
	}
	lyr_dirlist_free(&d);
}

bool fx_upper_has(const char *rel)
{
	char p[PATH_MAX * 2];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", fx.upper, rel);
	return lstat(p, &st) == 0;
}

int fx_upper_count(const char *rel)
{
	char p[PATH_MAX * 2];
	struct dirent *e;
	int n = 0;

	snprintf(p, sizeof(p), "%s/%s", fx.upper, rel);
	DIR *d = opendir(p);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}
