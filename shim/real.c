/* SPDX-License-Identifier: MIT */
/*
 * real.c - resolves the real libc functions listed in syscalls.def, each on
 * its first use (see real.h).
 */
#include "real.h"

#include <dlfcn.h>

struct shim_real shim_real;

/* Per row, what a name this libc does not have resolves to: ENOSYS. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#define X(ret, name, params, group, fail) \
	static ret missing_##name params { errno = ENOSYS; return fail; }
#define V(ret, name, params, group, fail, ver) X(ret, name, params, group, fail)
#include "syscalls.def"
#undef X
#undef V
#pragma GCC diagnostic pop

/* The next definition of name after this library (ver: that version
 * first), or NULL. */
static void *lookup(const char *name, const char *ver)
{
	void *p = ver ? dlvsym(RTLD_NEXT, name, ver) : NULL;

	return p ? p : dlsym(RTLD_NEXT, name);
}

/*
 * Racing threads (or a signal handler that interrupted this) find the same
 * pointer and store it again.  An entry already set (by a test, or by a
 * racing thread) is left alone.
 */
void shim_real_resolve(size_t off)
{
	int saved = errno;
	void *p;

	switch (off) {
#define X(ret, name, params, group, fail) V(ret, name, params, group, fail, NULL)
#define V(ret, name, params, group, fail, ver) \
	case offsetof(struct shim_real, name): \
		if (__atomic_load_n(&shim_real.name, __ATOMIC_RELAXED)) \
			break; \
		p = lookup(#name, ver); \
		__atomic_store_n(&shim_real.name, p ? (ret (*) params)p : missing_##name, \
				 __ATOMIC_RELEASE); \
		break;
#include "syscalls.def"
#undef X
#undef V
	default: /* every offset is a row's */
		break;
	}
	errno = saved;
}
