/* SPDX-License-Identifier: MIT */
/*
 * tmpdir.h - a suite's temporary directory, made under $TMPDIR (or /tmp)
 * with the suite's tag in its name, and removed whole with whatever the
 * tests left in it.
 */
#ifndef LAYERFS_TESTS_TMPDIR_H
#define LAYERFS_TESTS_TMPDIR_H

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

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

#endif
