/* SPDX-License-Identifier: MIT */
/*
 * layerfs-helper - the launcher's C half: what needs the core library.
 *
 *   layerfs-helper check [--cache DIR] [--semantics S] [--upper DIR] LOWER...
 *       opens every lower (building archive indexes), checks the upper;
 *       one message naming the file and the reason, exit 125, on a problem
 *   layerfs-helper index [--cache DIR] ARCHIVE
 *   layerfs-helper diff [--cache DIR] [--lower PATH]... UPPER
 *       A path / C path / D path, sorted, like `docker diff`
 *   layerfs-helper export UPPER OUT.tar
 *       the upper directory as an OCI image layer (deterministic)
 *   layerfs-helper is-static FILE
 *       exit 0 when FILE is a statically linked ELF program
 *
 * Progress on stderr (index and check) only when stderr is a terminal.
 */
#define _GNU_SOURCE
#include "layerfs.h"

#include <archive.h>
#include <elf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define EXIT_SETUP 125

static const char *prog = "layerfs";

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_SETUP;
}

/* ---- progress ------------------------------------------------------- */

struct progress {
	struct timespec start, last;
	const char *name;
	bool shown;
};

static double elapsed(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void progress_cb(void *ctx, uint64_t entries, uint64_t done, uint64_t total)
{
	struct progress *p = ctx;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (elapsed(&p->last, &now) < 0.2 && done < total)
		return;
	p->last = now;
	double t = elapsed(&p->start, &now);
	double rate = t > 0 ? (double)done / t : 0;
	char eta[32] = "?";
	if (rate > 0 && total >= done)
		snprintf(eta, sizeof(eta), "%.0fs", (double)(total - done) / rate);
	fprintf(stderr, "\r%s: indexing %s: %llu entries, %.1f/%.1f MiB, %.1f MiB/s, ETA %s   ",
		prog, p->name, (unsigned long long)entries, (double)done / 1048576.0,
		(double)total / 1048576.0, rate / 1048576.0, eta);
	p->shown = true;
}

static int open_lower(const char *path, const char *cache, unsigned host_flags,
		      struct lyr_layer **out)
{
	struct lyr_error err = { "" };
	struct stat st;
	struct progress p = { .name = path };
	int r;

	if (stat(path, &st) < 0)
		return fail("lower layer %s: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		r = lyr_host_open(path, host_flags, out, &err);
	} else {
		struct lyr_archive_opts opts = { .cache_dir = cache };
		if (isatty(2)) {
			clock_gettime(CLOCK_MONOTONIC, &p.start);
			p.last = p.start;
			opts.progress = progress_cb;
			opts.progress_ctx = &p;
		}
		r = lyr_archive_open(path, &opts, out, &err);
		if (p.shown)
			fputc('\n', stderr);
	}
	if (r < 0)
		return fail("%s", err.msg[0] ? err.msg : strerror(-r));
	return 0;
}

/* ---- check / index -------------------------------------------------- */

static int upper_usable(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) < 0)
		return fail("upper directory %s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fail("upper directory %s: %s", dir, strerror(ENOTDIR));
	if (access(dir, R_OK | W_OK | X_OK) < 0)
		return fail("upper directory %s: %s", dir, strerror(errno));
	return 0;
}

static int cmd_check(int argc, char **argv)
{
	const char *cache = NULL, *upper = NULL;
	unsigned host_flags = LYR_HOST_RDONLY;
	int i = 0;

	for (; i < argc && argv[i][0] == '-'; i += 2) {
		if (i + 1 >= argc)
			return fail("check: %s needs a value", argv[i]);
		if (strcmp(argv[i], "--cache") == 0)
			cache = argv[i + 1];
		else if (strcmp(argv[i], "--upper") == 0)
			upper = argv[i + 1];
		else if (strcmp(argv[i], "--semantics") == 0)
			host_flags = strcmp(argv[i + 1], "writable-files") == 0 ? 0 : LYR_HOST_RDONLY;
		else
			return fail("check: unknown option %s", argv[i]);
	}
	if (i == argc)
		return fail("no lower layer given (--lower PATH)");
	for (; i < argc; i++) {
		struct lyr_layer *l;
		int r = open_lower(argv[i], cache, host_flags, &l);
		if (r)
			return r;
		lyr_destroy(l);
	}
	return upper ? upper_usable(upper) : 0;
}

static int cmd_index(int argc, char **argv)
{
	const char *cache = NULL;
	struct lyr_layer *l;

	if (argc >= 2 && strcmp(argv[0], "--cache") == 0) {
		cache = argv[1];
		argc -= 2;
		argv += 2;
	}
	if (argc != 1)
		return fail("usage: layerfs index [--cache DIR] ARCHIVE");
	int r = open_lower(argv[0], cache, LYR_HOST_RDONLY, &l);
	if (r)
		return r;
	lyr_destroy(l);
	return 0;
}

/* ---- walking an upper directory ------------------------------------- */

struct change {
	char kind;	/* 'A', 'C', 'D' */
	char *path;
};

struct changes {
	struct change *v;
	size_t n, cap;
};

static void add_change(struct changes *c, char kind, const char *path)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->v = realloc(c->v, c->cap * sizeof(*c->v));
		if (!c->v) {
			fail("out of memory");
			exit(EXIT_SETUP);
		}
	}
	c->v[c->n].kind = kind;
	if (!(c->v[c->n++].path = strdup(path))) {
		fail("out of memory");
		exit(EXIT_SETUP);
	}
}

static int cmp_change(const void *a, const void *b)
{
	return strcmp(((const struct change *)a)->path, ((const struct change *)b)->path);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of a host directory (NULL-terminated; free each and it). */
static char **sorted_names(int dfd, size_t *n)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	char **v = NULL;
	size_t cap = 0;
	struct dirent *e;

	*n = 0;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (*n + 1 >= cap) {
			cap = cap ? cap * 2 : 32;
			v = realloc(v, cap * sizeof(*v));
			if (!v)
				break;
		}
		v[(*n)++] = strdup(e->d_name);
	}
	closedir(d);
	if (v) {
		qsort(v, *n, sizeof(*v), cmp_str);
		v[*n] = NULL;
	}
	return v;
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Lists the lower names under path that an opaque directory hides. */
static void diff_hidden(struct lyr_layer *low, const char *path, const char *keep_dir,
			int upfd, struct changes *c)
{
	struct lyr_dirlist dl;
	char child[PATH_MAX];

	if (!low || lyr_readdir(low, path, &dl) < 0)
		return;
	for (size_t i = 0; i < dl.n; i++) {
		const char *name = dl.ents[i].name;
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		struct stat st;
		if (fstatat(upfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			continue;	/* replaced: reported from the upper side */
		snprintf(child, sizeof(child), "%s%s%s", keep_dir, *keep_dir ? "/" : "", name);
		add_change(c, 'D', child);
	}
	lyr_dirlist_free(&dl);
}

static void diff_dir(int dfd, const char *path, struct lyr_layer *low, struct changes *c)
{
	size_t n;
	char **names = sorted_names(dfd, &n);
	char child[PATH_MAX];

	for (size_t i = 0; i < n; i++) {
		const char *name = names[i];
		if (strcmp(name, ".wh..wh..opq") == 0) {
			diff_hidden(low, path, path, dfd, c);
			continue;
		}
		if (strncmp(name, ".wh.", 4) == 0) {
			snprintf(child, sizeof(child), "%s%s%s", path, *path ? "/" : "", name + 4);
			add_change(c, 'D', child);
			continue;
		}
		snprintf(child, sizeof(child), "%s%s%s", path, *path ? "/" : "", name);
		struct stat st, lst;
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		bool below = low && lyr_lookup(low, child, &lst, NULL) == 0;
		add_change(c, below ? 'C' : 'A', child);
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				diff_dir(sub, child, below ? low : NULL, c);
				close(sub);
			}
		}
	}
	free_names(names, n);
}

static int cmd_diff(int argc, char **argv)
{
	const char *cache = NULL;
	struct lyr_layer *lowers[64], *low = NULL;
	size_t nlow = 0;
	int i = 0;

	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (strcmp(argv[i], "--cache") == 0) {
			cache = argv[i + 1];
		} else if (strcmp(argv[i], "--lower") == 0) {
			if (nlow == 64)
				return fail("diff: more than 64 lower layers");
			int r = open_lower(argv[i + 1], cache, LYR_HOST_RDONLY, &lowers[nlow]);
			if (r)
				return r;
			nlow++;
		} else {
			return fail("diff: unknown option %s", argv[i]);
		}
	}
	if (i + 1 != argc)
		return fail("usage: layerfs diff [--lower PATH]... UPPER");
	int dfd = open(argv[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return fail("upper directory %s: %s", argv[i], strerror(errno));
	if (nlow) {
		struct lyr_error err;
		struct lyr_union_opts opts = { 0 };
		if (lyr_union_open(NULL, lowers, nlow, &opts, &low, &err) < 0)
			return fail("%s", err.msg);
	}
	struct changes c = { 0 };
	diff_dir(dfd, "", low, &c);
	close(dfd);
	qsort(c.v, c.n, sizeof(*c.v), cmp_change);
	for (size_t k = 0; k < c.n; k++) {
		printf("%c %s\n", c.v[k].kind, c.v[k].path);
		free(c.v[k].path);
	}
	free(c.v);
	lyr_destroy(low);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- export --------------------------------------------------------- */

struct link_seen {
	dev_t dev;
	ino_t ino;
	char *path;
};

static int export_dir(struct archive *a, int dfd, const char *path,
		      struct link_seen **seen, size_t *nseen)
{
	size_t n;
	char **names = sorted_names(dfd, &n);
	char child[PATH_MAX];
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++) {
		const char *name = names[i];
		struct stat st;
		snprintf(child, sizeof(child), "%s%s%s", path, *path ? "/" : "", name);
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, child);
		archive_entry_set_mode(e, st.st_mode);
		archive_entry_set_uid(e, 0);
		archive_entry_set_gid(e, 0);
		archive_entry_set_mtime(e, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
		bool data = false;
		if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
			for (size_t k = 0; k < *nseen; k++)
				if ((*seen)[k].dev == st.st_dev && (*seen)[k].ino == st.st_ino) {
					archive_entry_set_hardlink(e, (*seen)[k].path);
					goto write;
				}
			*seen = realloc(*seen, (*nseen + 1) * sizeof(**seen));
			(*seen)[(*nseen)++] = (struct link_seen){ st.st_dev, st.st_ino, strdup(child) };
		}
		if (S_ISREG(st.st_mode)) {
			archive_entry_set_size(e, st.st_size);
			data = true;
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t tl = readlinkat(dfd, name, target, sizeof(target) - 1);
			if (tl < 0) {
				archive_entry_free(e);
				continue;
			}
			target[tl] = '\0';
			archive_entry_set_symlink(e, target);
		} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
			archive_entry_set_rdev(e, st.st_rdev);
		}
write:
		if (archive_write_header(a, e) != ARCHIVE_OK) {
			r = fail("export: %s: %s", child, archive_error_string(a));
			archive_entry_free(e);
			break;
		}
		if (data) {
			int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			char buf[65536];
			ssize_t got;
			while (fd >= 0 && (got = read(fd, buf, sizeof(buf))) > 0)
				if (archive_write_data(a, buf, (size_t)got) < 0) {
					r = fail("export: %s: %s", child, archive_error_string(a));
					break;
				}
			if (fd < 0)
				r = fail("export: %s: %s", child, strerror(errno));
			else
				close(fd);
		}
		archive_entry_free(e);
		if (r == 0 && S_ISDIR(st.st_mode)) {
			int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				r = fail("export: %s: %s", child, strerror(errno));
			else {
				r = export_dir(a, sub, child, seen, nseen);
				close(sub);
			}
		}
	}
	free_names(names, n);
	return r;
}

static int cmd_export(int argc, char **argv)
{
	if (argc != 2)
		return fail("usage: layerfs export UPPER -o FILE.tar");
	int dfd = open(argv[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return fail("upper directory %s: %s", argv[0], strerror(errno));
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", argv[1], (int)getpid());
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	if (archive_write_open_filename(a, tmp) != ARCHIVE_OK) {
		int r = fail("export: %s: %s", argv[1], archive_error_string(a));
		archive_write_free(a);
		close(dfd);
		return r;
	}
	struct link_seen *seen = NULL;
	size_t nseen = 0;
	int r = export_dir(a, dfd, "", &seen, &nseen);
	close(dfd);
	if (archive_write_close(a) != ARCHIVE_OK && r == 0)
		r = fail("export: %s: %s", argv[1], archive_error_string(a));
	archive_write_free(a);
	for (size_t k = 0; k < nseen; k++)
		free(seen[k].path);
	free(seen);
	if (r == 0 && rename(tmp, argv[1]) < 0)
		r = fail("export: %s: %s", argv[1], strerror(errno));
	if (r)
		unlink(tmp);
	return r;
}

/* ---- is-static ---------------------------------------------------- */

static int cmd_is_static(int argc, char **argv)
{
	unsigned char buf[4096];

	if (argc != 1)
		return 2;
	int fd = open(argv[0], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
	if (n < (ssize_t)sizeof(*eh) || memcmp(buf, ELFMAG, SELFMAG) != 0 ||
	    buf[EI_CLASS] != ELFCLASS64 || eh->e_phentsize != sizeof(Elf64_Phdr))
		return 1;
	bool interp = false, dynamic = false;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		size_t off = eh->e_phoff + (size_t)i * sizeof(Elf64_Phdr);
		if (off + sizeof(Elf64_Phdr) > (size_t)n)
			return 1;
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(buf + off);
		interp |= ph->p_type == PT_INTERP;
		dynamic |= ph->p_type == PT_DYNAMIC;
	}
	return interp || (eh->e_type == ET_DYN && dynamic) ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return fail("usage: layerfs-helper check|index|diff|export ...");
	const char *cmd = argv[1];
	if (!strcmp(cmd, "check"))
		return cmd_check(argc - 2, argv + 2);
	if (!strcmp(cmd, "index"))
		return cmd_index(argc - 2, argv + 2);
	if (!strcmp(cmd, "diff"))
		return cmd_diff(argc - 2, argv + 2);
	if (!strcmp(cmd, "export"))
		return cmd_export(argc - 2, argv + 2);
	if (!strcmp(cmd, "is-static"))
		return cmd_is_static(argc - 2, argv + 2);
	return fail("layerfs-helper: unknown command %s", cmd);
}
