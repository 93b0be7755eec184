/* SPDX-License-Identifier: MIT */
/*
 * test_lists.c - LAYERFS_LOWER's list form (lyr_lower_list_split and
 * lyr_lower_list_join), which the shim reads and the launcher writes.
 */
#define _GNU_SOURCE
#include "layerfs.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Splits a copy of s; names joined with '|' into out, or the error. */
static ssize_t split(const char *s, size_t max, char *out, size_t size)
{
	char *copy = strdup(s), *names[8];

	cr_assert(copy && max <= 8);
	ssize_t n = lyr_lower_list_split(copy, names, max);
	out[0] = '\0';
	for (ssize_t i = 0; i < n; i++) {
		if (i)
			strncat(out, "|", size - strlen(out) - 1);
		strncat(out, names[i], size - strlen(out) - 1);
	}
	free(copy);
	return n;
}

Test(lists, split)
{
	char out[256];

	cr_assert_eq(split("", 8, out, sizeof(out)), 0);
	cr_assert_eq(split("/a.tar", 8, out, sizeof(out)), 1);
	cr_assert_str_eq(out, "/a.tar");
	cr_assert_eq(split("/a.tar:/b:/c.zip", 8, out, sizeof(out)), 3);
	cr_assert_str_eq(out, "/a.tar|/b|/c.zip");
	/* "\:" is a ':' of a name; any other '\' is the name's */
	cr_assert_eq(split("/x\\:y.tar:/p\\q", 8, out, sizeof(out)), 2);
	cr_assert_str_eq(out, "/x:y.tar|/p\\q");
	/* empty names are kept, for the caller to refuse */
	cr_assert_eq(split("/a::/b:", 8, out, sizeof(out)), 4);
	cr_assert_str_eq(out, "/a||/b|");
	/* past max */
	cr_assert_eq(split("/a:/b:/c", 2, out, sizeof(out)), -E2BIG);
	cr_assert_eq(split("/a:/b", 2, out, sizeof(out)), 2);
	cr_assert_eq(split("/a", 0, out, sizeof(out)), -E2BIG);
}

Test(lists, join_is_split_backwards)
{
	char n0[] = "/a.tar", n1[] = "/with:colon/x", n2[] = "/back\\slash", n3[] = "rel";
	char *names[] = { n0, n1, n2, n3 };
	char *s = lyr_lower_list_join(names, 4), *back[8];

	cr_assert_not_null(s);
	cr_assert_str_eq(s, "/a.tar:/with\\:colon/x:/back\\slash:rel");
	cr_assert_eq(lyr_lower_list_split(s, back, 8), 4);
	for (int i = 0; i < 4; i++)
		cr_assert_str_eq(back[i], names[i]);
	free(s);
	s = lyr_lower_list_join(names, 0);
	cr_assert_str_eq(s, "");
	free(s);
}
