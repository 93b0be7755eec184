/* SPDX-License-Identifier: MIT */
/*
 * archive_lib.c - loads libarchive on first use and fills the table of
 * archive_lib.h.  Thread-safe: one pthread_once per process; the result
 * (success, or the loader's message) is kept for every later caller.
 */
#define _GNU_SOURCE
#define ARC_LIB_IMPL
#include "archive_lib.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

struct arc_lib arc_lib;

static const struct {
	const char *name;
	size_t off;
} arc_lib_syms[] = {
#define ARC_LIB_SYM(fn) { #fn, offsetof(struct arc_lib, fn) },
	ARC_LIB_FUNCS(ARC_LIB_SYM)
#undef ARC_LIB_SYM
};

static pthread_once_t arc_lib_once = PTHREAD_ONCE_INIT;
static int arc_lib_status = -ENOSYS;
static char arc_lib_why[256];

static void arc_lib_open(void)
{
	/* Local: its symbols must not interpose on the program's own. */
	void *h = dlopen(LYR_LIBARCHIVE_SONAME, RTLD_LAZY | RTLD_LOCAL);
	const char *e;

	if (!h) {
		e = dlerror();
		snprintf(arc_lib_why, sizeof(arc_lib_why), "%s",
			 e ? e : "cannot be loaded");
		return;
	}
	for (size_t i = 0; i < sizeof(arc_lib_syms) / sizeof(arc_lib_syms[0]); i++) {
		void *sym = dlsym(h, arc_lib_syms[i].name);
		if (!sym) {
			snprintf(arc_lib_why, sizeof(arc_lib_why), "%s has no %s",
				 LYR_LIBARCHIVE_SONAME, arc_lib_syms[i].name);
			memset(&arc_lib, 0, sizeof(arc_lib));
			dlclose(h);
			return;
		}
		/* POSIX's way to turn dlsym's void * into a function pointer. */
		memcpy((char *)&arc_lib + arc_lib_syms[i].off, &sym, sizeof(sym));
	}
	arc_lib_status = 0; /* h stays open for the life of the process */
}

/* See archive_lib.h. */
int arc_lib_load(const char *path, struct lyr_error *err)
{
	pthread_once(&arc_lib_once, arc_lib_open);
	if (!arc_lib_status)
		return 0;
	return lyr_seterr(err, ENOSYS, "%s: reading this archive needs libarchive, "
			  "which cannot be loaded: %s", path, arc_lib_why);
}
