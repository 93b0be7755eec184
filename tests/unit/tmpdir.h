/* SPDX-License-Identifier: MIT */
/*
 * tmpdir.h - a suite's temporary directory, made under $TMPDIR (or /tmp)
 * with the suite's tag in its name, and removed whole with whatever the
 * tests left in it; paths in it, and shell commands run in it.
 */
#ifndef LAYERFS_TESTS_TMPDIR_H
#define LAYERFS_TESTS_TMPDIR_H

#include <criterion/criterion.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

static inline int ut_rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(p);
}

/* Makes dir (size bytes): $TMPDIR/lyr-TAG-XXXXXX. */
static inline void ut_tmpdir_make(char *dir, size_t size, const char *tag)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, size, "%s/lyr-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);
	cr_assert_not_null(mkdtemp(dir));
}

static inline void ut_tmpdir_remove(const char *dir)
{
	nftw(dir, ut_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* dir/name, in one of four rotating buffers (a call may use a few). */
static inline const char *ut_path_in(const char *dir, const char *name)
{
	static char buf[4][PATH_MAX];
	static int i;
	char *p = buf[i++ % 4];

	snprintf(p, PATH_MAX, "%s/%s", dir, name);
	return p;
}

/* Runs a shell command in dir, quietly; fails the test unless it exits 0. */
__attribute__((format(printf, 2, 3)))
static inline void ut_sh_in(const char *dir, const char *fmt, ...)
{
	char cmd[8192], full[8192 + 512];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "cd '%s' && ( %s ) >/dev/null 2>&1", dir, cmd);
	st = system(full);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "command failed: %s", cmd);
}

#endif
