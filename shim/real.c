/* SPDX-License-Identifier: MIT */
/*
 * real.c - resolves the real libc functions listed in syscalls.def.
 */
#include "real.h"

#include <dlfcn.h>
#include <pthread.h>

struct shim_real shim_real;
int shim_real_ready;

/* A stub per row, for a name this libc does not have. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#define X(ret, name, params, group, fail) \
	static ret stub_##name params { errno = ENOSYS; return fail; }
#define V(ret, name, params, group, fail, ver) X(ret, name, params, group, fail)
#include "syscalls.def"
#undef X
#undef V
#pragma GCC diagnostic pop

static void real_resolve(void)
{
	void *p;

#define X(ret, name, params, group, fail) \
	p = dlsym(RTLD_NEXT, #name); \
	shim_real.name = p ? (ret (*) params)p : stub_##name;
#define V(ret, name, params, group, fail, ver) \
	p = dlvsym(RTLD_NEXT, #name, ver); \
	if (!p) \
		p = dlsym(RTLD_NEXT, #name); \
	shim_real.name = p ? (ret (*) params)p : stub_##name;
#include "syscalls.def"
#undef X
#undef V
	__atomic_store_n(&shim_real_ready, 1, __ATOMIC_RELEASE);
}

void shim_real_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, real_resolve);
}
