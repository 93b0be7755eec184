/* SPDX-License-Identifier: MIT */
/*
 * test_cache.c - suite "cache": the archive cache as a whole
 * (core/cache.c) and the locking rules of core/archive.c it relies on:
 * listing, pruning by size and age, held entries, crash leftovers, the
 * race of a process opening an index that a prune removes.
 *
 * Every test has its own mkdtemp directory with its archives and cache.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "archive_index.h"
#include "layerfs.h"
#include "tmpdir.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char T[256];
static char CACHE[300];

static void setup(void)
{
	ut_tmpdir_make(T, sizeof(T), "cache");
	snprintf(CACHE, sizeof(CACHE), "%s/cache", T);
}

static void teardown(void)
{
	ut_tmpdir_remove(T);
}

TestSuite(cache, .init = setup, .fini = teardown);

#define tpath(name) ut_path_in(T, name)

/* An archive NAME.tar holding "f" (content: NAME) and a 100 KiB "big". */
static void make_tar(const char *name)
{
	char cmd[PATH_MAX * 2];

	snprintf(cmd, sizeof(cmd), "cd '%s' && rm -rf src && mkdir src && echo %s > src/f && "
		 "head -c 102400 /dev/zero > src/big && tar -C src -cf %s.tar f big", T, name, name);
	cr_assert_eq(system(cmd), 0);
}

static struct lyr_layer *open_tar(const char *name)
{
	struct lyr_archive_opts o = { .cache_dir = CACHE };
	struct lyr_layer *l = NULL;
	struct lyr_error err = { "" };
	char file[64];

	snprintf(file, sizeof(file), "%s.tar", name);
	int r = lyr_archive_open(tpath(file), &o, &l, &err);
	cr_assert_eq(r, 0, "%s: %s", file, err.msg);
	return l;
}

/* Sets the last use of l's entry to t (seconds since the epoch). */
static void used_at(struct lyr_layer *l, time_t t)
{
	struct lyr_archive_info in;
	char p[PATH_MAX + 16];
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { t, 0 } };

	cr_assert_eq(lyr_archive_info(l, &in), 0);
	snprintf(p, sizeof(p), "%s/%s", in.key_dir, ARC_ENTRY_SOURCE);
	cr_assert_eq(utimensat(AT_FDCWD, p, ts, 0), 0);
}

/* Reads f and big through the layer (making big's cache file). */
static void read_tar(struct lyr_layer *l, const char *name)
{
	char buf[64] = "";
	int fd = lyr_open(l, "f", O_RDONLY, 0);

	cr_assert_geq(fd, 0, "open f: %s", strerror(-fd));
	cr_assert_gt(read(fd, buf, sizeof(buf) - 1), 0);
	close(fd);
	cr_expect_eq(strncmp(buf, name, strlen(name)), 0, "f holds %s", buf);
	fd = lyr_open(l, "big", O_RDONLY, 0);
	cr_assert_geq(fd, 0, "open big: %s", strerror(-fd));
	close(fd);
}

static size_t count(bool *in_use, char names[][ARC_KEY_MAX + 8], size_t max)
{
	struct lyr_cache_entry *v;
	struct lyr_error err;
	size_t n;

	cr_assert_eq(lyr_cache_list(CACHE, &v, &n, &err), 0, "%s", err.msg);
	for (size_t i = 0; i < n && i < max; i++) {
		if (in_use)
			in_use[i] = v[i].in_use;
		if (names)
			snprintf(names[i], ARC_KEY_MAX + 8, "%s", v[i].source);
	}
	lyr_cache_list_free(v, n);
	return n;
}

static struct lyr_cache_report prune(uint64_t max_size, int64_t max_age)
{
	struct lyr_cache_prune_opts o = { .max_size = max_size, .max_age = max_age };
	struct lyr_cache_report rep;
	struct lyr_error err;

	cr_assert_eq(lyr_cache_prune(CACHE, &o, &rep, &err), 0, "%s", err.msg);
	return rep;
}

static const char *key_dir(struct lyr_layer *l)
{
	static struct lyr_archive_info in;

	cr_assert_eq(lyr_archive_info(l, &in), 0);
	return in.key_dir;
}

Test(cache, missing_cache_lists_nothing_prunes_nothing)
{
	cr_expect_eq(count(NULL, NULL, 0), 0);
	struct lyr_cache_report rep = prune(0, -1);
	cr_expect_eq(rep.removed + rep.kept + rep.leftovers, 0);
}

Test(cache, list_least_recently_used_first_with_source_and_size)
{
	char names[3][ARC_KEY_MAX + 8];
	const char *order[] = { "b", "c", "a" };

	for (int i = 0; i < 3; i++) {
		make_tar(order[i]);
		struct lyr_layer *l = open_tar(order[i]);
		read_tar(l, order[i]);
		used_at(l, time(NULL) - 30 + i);
		lyr_destroy(l);
	}
	/* "a" used again, last */
	struct lyr_layer *l = open_tar("a");
	cr_assert_eq(lyr_archive_mark_used(l), 0);
	lyr_destroy(l);
	cr_assert_eq(count(NULL, names, 3), 3);
	cr_expect_str_eq(names[2], tpath("a.tar"), "a is the most recently used");

	struct lyr_cache_entry *v;
	struct lyr_error err;
	size_t n;
	cr_assert_eq(lyr_cache_list(CACHE, &v, &n, &err), 0);
	for (size_t i = 0; i < n; i++) {
		cr_expect_gt(v[i].size, 100 * 1024, "the cache file of big counts");
		cr_expect(!v[i].in_use && !v[i].stale && !v[i].other_version);
	}
	lyr_cache_list_free(v, n);
}

Test(cache, mark_used_moves_an_entry_to_the_end)
{
	char names[2][ARC_KEY_MAX + 8];

	make_tar("a");
	make_tar("b");
	struct lyr_layer *a = open_tar("a"), *b = open_tar("b");
	used_at(a, time(NULL) - 20);
	used_at(b, time(NULL) - 10);
	lyr_destroy(b);
	cr_expect_eq(lyr_archive_mark_used(a), 0);
	lyr_destroy(a);
	cr_assert_eq(count(NULL, names, 2), 2);
	cr_expect_str_eq(names[1], tpath("a.tar"));
	cr_expect_eq(lyr_archive_mark_used(NULL), -EINVAL);
}

Test(cache, prune_by_size_goes_least_recently_used_first)
{
	char names[3][ARC_KEY_MAX + 8];

	for (const char *n = "abc"; *n; n++) {
		char name[2] = { *n, 0 };
		make_tar(name);
		struct lyr_layer *l = open_tar(name);
		read_tar(l, name);
		used_at(l, time(NULL) - 30 + (*n - 'a'));
		lyr_destroy(l);
	}
	struct lyr_cache_report all = prune(UINT64_MAX, -1);
	cr_expect_eq(all.kept, 3);
	cr_expect_eq(all.removed, 0);
	struct lyr_cache_report rep = prune(all.kept_bytes - 1, -1);
	cr_expect_eq(rep.removed, 1);
	cr_expect_eq(rep.kept, 2);
	cr_expect_leq(rep.kept_bytes, all.kept_bytes - 1);
	cr_assert_eq(count(NULL, names, 3), 2);
	cr_expect_str_eq(names[0], tpath("b.tar"), "a, the oldest, went");
	cr_expect_str_eq(names[1], tpath("c.tar"));
}

Test(cache, prune_by_age)
{
	make_tar("a");
	make_tar("b");
	struct lyr_layer *a = open_tar("a"), *b = open_tar("b");
	used_at(a, time(NULL) - 7200);
	lyr_destroy(a);
	lyr_destroy(b);
	struct lyr_cache_report rep = prune(UINT64_MAX, 3600);
	cr_expect_eq(rep.removed, 1, "a, unused for 2 hours");
	cr_expect_eq(rep.kept, 1);
}

Test(cache, a_held_entry_is_never_removed_and_keeps_working)
{
	make_tar("a");
	struct lyr_layer *l = open_tar("a");
	bool in_use[1];
	cr_assert_eq(count(in_use, NULL, 1), 1);
	cr_expect(in_use[0], "listed in use");
	struct lyr_cache_report rep = prune(0, 0);
	cr_expect_eq(rep.removed, 0);
	cr_expect_eq(rep.in_use, 1);
	/* still whole: content is made and read after the prune */
	read_tar(l, "a");
	cr_expect_eq(access(key_dir(l), F_OK), 0);
	/* a fork shares the hold */
	pid_t pid = fork();
	if (pid == 0) {
		sleep(1);
		_exit(0);
	}
	lyr_destroy(l);
	cr_expect_eq(prune(0, -1).removed, 0, "the child still holds it");
	int st;
	waitpid(pid, &st, 0);
	cr_expect_eq(prune(0, -1).removed, 1, "nobody holds it");
	cr_expect_eq(count(NULL, NULL, 0), 0);
}

/* A process that opened the index just before a prune removed the entry,
 * and locks it just after: it sees the index unlinked, and starts again. */
Test(cache, an_index_removed_between_open_and_lock_is_seen)
{
	make_tar("a");
	struct lyr_layer *l = open_tar("a");
	char p[PATH_MAX + 16];
	snprintf(p, sizeof(p), "%s/%s", key_dir(l), ARC_ENTRY_INDEX);
	lyr_destroy(l);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_expect_eq(prune(0, -1).removed, 1);
	struct stat st;
	cr_assert_eq(flock(fd, LOCK_SH), 0);
	cr_assert_eq(fstat(fd, &st), 0);
	cr_expect_eq(st.st_nlink, 0, "unlinked before the prune let go");
	close(fd);
	l = open_tar("a");
	struct lyr_archive_info in;
	cr_assert_eq(lyr_archive_info(l, &in), 0);
	cr_expect_eq(in.built_index, 1, "built anew");
	read_tar(l, "a");
	lyr_destroy(l);
}

Test(cache, crash_leftovers_removed_only_when_nobody_writes_them)
{
	make_tar("a");
	struct lyr_layer *l = open_tar("a");
	read_tar(l, "a");
	char dead[PATH_MAX + 64], live[PATH_MAX + 64], idx[PATH_MAX + 64], trash[PATH_MAX];
	snprintf(dead, sizeof(dead), "%s/data/%s1.1.1", key_dir(l), ARC_TMP_PREFIX);
	snprintf(live, sizeof(live), "%s/data/%s1.1.2", key_dir(l), ARC_TMP_PREFIX);
	snprintf(idx, sizeof(idx), "%s/%sindex.1.1.3", key_dir(l), ARC_TMP_PREFIX);
	snprintf(trash, sizeof(trash), "%s/.trash.1.1", CACHE);
	lyr_destroy(l);
	int d = open(dead, O_WRONLY | O_CREAT | O_CLOEXEC, 0555);
	int w = open(live, O_WRONLY | O_CREAT | O_CLOEXEC, 0555);
	int i = open(idx, O_WRONLY | O_CREAT | O_CLOEXEC, 0555);
	cr_assert(d >= 0 && w >= 0 && i >= 0);
	close(d);
	close(i);
	cr_assert_eq(flock(w, LOCK_EX), 0, "a writer at work");
	cr_assert_eq(mkdir(trash, 0755), 0);
	struct lyr_cache_report rep = prune(UINT64_MAX, -1);
	cr_expect_eq(rep.leftovers, 3);
	cr_expect_neq(access(dead, F_OK), 0);
	cr_expect_neq(access(idx, F_OK), 0);
	cr_expect_neq(access(trash, F_OK), 0);
	cr_expect_eq(access(live, F_OK), 0, "the writer's file stays");
	cr_expect_eq(rep.kept, 1);
	close(w);
	cr_expect_eq(prune(UINT64_MAX, -1).leftovers, 1, "then it is a leftover");
}

Test(cache, what_is_not_an_entry_is_left_alone)
{
	char p[PATH_MAX];

	cr_assert_eq(mkdir(CACHE, 0700), 0);
	snprintf(p, sizeof(p), "%s/notes", CACHE);
	cr_assert_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/0-0-v", CACHE);	/* no version number */
	cr_assert_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/file-v3", CACHE);	/* not hex */
	cr_assert_eq(mkdir(p, 0755), 0);
	struct lyr_cache_report rep = prune(0, 0);
	cr_expect_eq(rep.removed + rep.kept, 0);
	cr_expect_eq(count(NULL, NULL, 0), 0);
	snprintf(p, sizeof(p), "%s/notes", CACHE);
	cr_expect_eq(access(p, F_OK), 0);
}

Test(cache, another_versions_entries_only_when_asked)
{
	char p[PATH_MAX];

	make_tar("a");
	lyr_destroy(open_tar("a"));
	snprintf(p, sizeof(p), "%s/fe00-1-2-3-4-v2", CACHE);
	cr_assert_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/fe00-1-2-3-4-v2/index", CACHE);
	cr_assert_eq(close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)), 0);
	struct lyr_cache_report rep = prune(0, -1);
	cr_expect_eq(rep.removed, 1, "ours");
	cr_expect_eq(rep.other_versions, 1, "left alone");
	struct lyr_cache_prune_opts o = { .max_size = 0, .max_age = -1, .other_versions = true };
	struct lyr_error err;
	cr_assert_eq(lyr_cache_prune(CACHE, &o, &rep, &err), 0);
	cr_expect_eq(rep.removed, 1);
	cr_expect_eq(count(NULL, NULL, 0), 0);
}

Test(cache, an_entry_being_made_is_left_alone)
{
	char p[PATH_MAX];

	cr_assert_eq(mkdir(CACHE, 0700), 0);
	snprintf(p, sizeof(p), "%s/fe00-1-2-3.0-4.0-0000000000000000-v%u", CACHE,
		 ARC_INDEX_VERSION);
	cr_assert_eq(mkdir(p, 0755), 0);
	struct lyr_cache_report rep = prune(0, -1);
	cr_expect_eq(rep.removed, 0, "no index yet, made just now");
	cr_expect_eq(rep.in_use, 0);
	struct timespec old[2] = { { 0, UTIME_OMIT }, { time(NULL) - 3600, 0 } };
	cr_assert_eq(utimensat(AT_FDCWD, p, old, 0), 0);
	cr_expect_eq(prune(0, -1).removed, 1, "a failed build's, an hour old");
}

Test(cache, stale_when_the_archive_is_replaced_or_gone)
{
	make_tar("a");
	make_tar("b");
	lyr_destroy(open_tar("a"));
	lyr_destroy(open_tar("b"));
	make_tar("a");	/* a new file: another identity */
	cr_assert_eq(unlink(tpath("b.tar")), 0);
	struct lyr_cache_entry *v;
	struct lyr_error err;
	size_t n;
	cr_assert_eq(lyr_cache_list(CACHE, &v, &n, &err), 0);
	cr_assert_eq(n, 2);
	cr_expect(v[0].stale && v[1].stale);
	lyr_cache_list_free(v, n);
}
