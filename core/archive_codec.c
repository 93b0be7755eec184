/* SPDX-License-Identifier: MIT */
/*
 * archive_codec.c - loads zlib, liblzma or libzstd on first use and fills
 * its slots of the table of archive_codec.h.  Thread-safe: one
 * pthread_once per library; the result is kept for every later caller.
 */
#define _GNU_SOURCE
#define ARC_CODEC_IMPL
#include "archive_codec.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>

struct arc_codec arc_codec;

struct arc_codec_sym {
	const char *name;
	size_t off;
};

#define ARC_CODEC_SYM(fn) { #fn, offsetof(struct arc_codec, fn) },
static const struct arc_codec_sym arc_z_syms[] = { ARC_Z_FUNCS(ARC_CODEC_SYM) };
static const struct arc_codec_sym arc_lzma_syms[] = { ARC_LZMA_FUNCS(ARC_CODEC_SYM) };
static const struct arc_codec_sym arc_zstd_syms[] = { ARC_ZSTD_FUNCS(ARC_CODEC_SYM) };
static const struct arc_codec_sym arc_bz2_syms[] = { ARC_BZ2_FUNCS(ARC_CODEC_SYM) };
#undef ARC_CODEC_SYM

static const struct {
	const char *soname;
	const struct arc_codec_sym *syms;
	size_t nsyms;
} arc_codec_libs[ARC_NLIBS] = {
	[ARC_LIB_Z] = { "libz.so.1", arc_z_syms,
			sizeof(arc_z_syms) / sizeof(arc_z_syms[0]) },
	[ARC_LIB_LZMA] = { "liblzma.so.5", arc_lzma_syms,
			   sizeof(arc_lzma_syms) / sizeof(arc_lzma_syms[0]) },
	[ARC_LIB_ZSTD] = { "libzstd.so.1", arc_zstd_syms,
			   sizeof(arc_zstd_syms) / sizeof(arc_zstd_syms[0]) },
	[ARC_LIB_BZ2] = { "libbz2.so.1.0", arc_bz2_syms,
			  sizeof(arc_bz2_syms) / sizeof(arc_bz2_syms[0]) },
};

static pthread_once_t arc_codec_once[ARC_NLIBS] = {
	PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT
};
static int arc_codec_status[ARC_NLIBS] = { -ENOSYS, -ENOSYS, -ENOSYS, -ENOSYS };

static void arc_codec_open(enum arc_codec_lib lib)
{
	/* Local: its symbols must not interpose on the program's own. */
	void *h = dlopen(arc_codec_libs[lib].soname, RTLD_LAZY | RTLD_LOCAL);

	if (!h)
		return;
	for (size_t i = 0; i < arc_codec_libs[lib].nsyms; i++) {
		void *sym = dlsym(h, arc_codec_libs[lib].syms[i].name);
		if (!sym) {
			dlclose(h);
			return;
		}
		/* POSIX's way to turn dlsym's void * into a function pointer. */
		memcpy((char *)&arc_codec + arc_codec_libs[lib].syms[i].off, &sym,
		       sizeof(sym));
	}
	arc_codec_status[lib] = 0; /* h stays open for the life of the process */
}

static void arc_codec_open_z(void) { arc_codec_open(ARC_LIB_Z); }
static void arc_codec_open_lzma(void) { arc_codec_open(ARC_LIB_LZMA); }
static void arc_codec_open_zstd(void) { arc_codec_open(ARC_LIB_ZSTD); }
static void arc_codec_open_bz2(void) { arc_codec_open(ARC_LIB_BZ2); }

/* See archive_codec.h. */
int arc_codec_load(enum arc_codec_lib lib)
{
	static void (*const open_fn[ARC_NLIBS])(void) = {
		arc_codec_open_z, arc_codec_open_lzma, arc_codec_open_zstd,
		arc_codec_open_bz2
	};

	if ((unsigned)lib >= ARC_NLIBS)
		return -EINVAL;
	pthread_once(&arc_codec_once[lib], open_fn[lib]);
	return arc_codec_status[lib];
}
