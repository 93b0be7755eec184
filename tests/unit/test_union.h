/* SPDX-License-Identifier: MIT */
/*
 * test_union.h - the fixture shared by the union suites (test_union*.c,
 * test_copy_up.c): a mkdtemp directory holding the seed tree (foo
 * "testfoo\n" 0644, bar/, bar/baz, owner 1000:1000), the archive made of
 * it, an upper directory, and a union over them in fx.u.  Every test
 * (UTest) ends by checking that the lower layer is byte for byte what it
 * was.
 */
#ifndef TEST_UNION_H
#define TEST_UNION_H

#define _GNU_SOURCE
#include "layerfs.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* expr (an int or ssize_t result) succeeded: >= 0. */
#define OK(expr)                                                              \
	do {                                                                  \
		long ok_r_ = (long)(expr);                                    \
		cr_assert(ok_r_ >= 0, "%s = %ld (%s)", #expr, ok_r_,          \
			  strerror((int)-ok_r_));                             \
	} while (0)

/* expr failed with -e. */
#define ERR(expr, e)                                                          \
	do {                                                                  \
		long err_r_ = (long)(expr);                                   \
		cr_assert(err_r_ == -(e), "%s = %ld (%s), want -%s", #expr,   \
			  err_r_, err_r_ < 0 ? strerror((int)-err_r_) : "ok", #e); \
	} while (0)

/*
 * A Criterion Test that ends by checking the lower layer is unchanged
 * (fx_check_lower).  Checks in a .fini hook cannot fail a test.
 */
#define UTest(suite, name)                                                    \
	static void suite##_##name##_body(void);                              \
	Test(suite, name)                                                     \
	{                                                                     \
		suite##_##name##_body();                                      \
		fx_check_lower();                                             \
	}                                                                     \
	static void suite##_##name##_body(void)

/* String equality with both shown. */
#define STREQ(a, ...) cr_assert_str_eq((a), __VA_ARGS__)

enum fx_upper { FX_HOST, FX_MEM, FX_NONE };
enum fx_lower { FX_ARCHIVE, FX_HOSTDIR };

struct fx {
	char root[512];             /* the mkdtemp directory */
	char src[600];              /* root/src: the seed tree */
	char tar[600];              /* root/seed.tar, made of src */
	char upper[600];            /* root/upper */
	char cache[600];            /* root/cache: the archive's index */
	struct lyr_layer *u;        /* the union under test */
	unsigned long long sum;     /* the lower's checksum when opened */
	bool check_sum;             /* compare it in fx_fini */
	bool lower_is_dir;          /* checksum src (else the archive) */
	int ncopied;                /* copied_up calls */
	char copied_path[PATH_MAX]; /* ... the last one's path */
	uint64_t copied_ino;        /* ... and inode number */
	void (*hook)(const char *path, uint64_t ino); /* also called, if set */
};

extern struct fx fx;

void fx_init(void);
void fx_fini(void);
/* Asserts the lower layer is byte for byte what it was when opened. */
void fx_check_lower(void);

/* Runs a shell command (printf format) in fx.root; asserts it succeeds. */
void fx_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct lyr_layer *fx_archive(void);
struct lyr_layer *fx_hostdir(const char *dir, unsigned flags);
struct lyr_layer *fx_hostupper(void);
struct lyr_layer *fx_memupper(void);
/* A union over lowers with opts (copied_up recorded in fx) into fx.u. */
void fx_union(struct lyr_layer *upper, struct lyr_layer **lowers, size_t n,
	      unsigned flags);
/* The usual setup: upper of that kind over the seed as that lower kind. */
void fx_std(enum fx_upper up, enum fx_lower low);

/* Whole content of path in fx.u into buf (NUL-terminated): length or -errno. */
ssize_t fx_read(const char *path, char *buf, size_t size);
/* Writes data to path opened with flags (mode 0644): 0 or -errno. */
int fx_write(const char *path, int flags, const char *data);
/* Reads whole fd from offset 0 (pread): a static string. */
const char *fx_fd_str(int fd);
/* lookup in fx.u: st_ino, or 0 when it fails. */
uint64_t fx_ino(const char *path);
/* lookup result (0 or -errno) with *st. */
int fx_stat(const char *path, struct stat *st);
/* The names path lists (without "." ".."), space-separated, in order. */
const char *fx_ls(const char *path);
/* Same, sorted: for comparing sets. */
const char *fx_ls_sorted(const char *path);
/* Asserts every name of path lists the d_ino lookup reports. */
void fx_check_dinos(const char *path);
/* Does root/upper/rel exist (lstat)? */
bool fx_upper_has(const char *rel);
/* Number of entries in host directory root/upper/rel (no . ..). */
int fx_upper_count(const char *rel);

#endif
