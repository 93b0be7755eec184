/* SPDX-License-Identifier: MIT */
/*
 * real.h - the libc functions behind the wrappers (SQLite's aSyscall idea).
 *
 * shim_real holds one typed pointer per row of syscalls.def, resolved once
 * with dlsym(RTLD_NEXT) (dlvsym for V rows).  A name libc lacks gets a stub
 * that fails with ENOSYS.  REAL(name) resolves lazily, so wrappers called
 * before the constructor (libselinux's) work.  Tests may replace an entry.
 */
#ifndef SHIM_REAL_H
#define SHIM_REAL_H

#include "shim.h"

struct shim_real {
#define X(ret, name, params, group, fail) ret (*name) params;
#define V(ret, name, params, group, fail, ver) X(ret, name, params, group, fail)
#include "syscalls.def"
#undef X
#undef V
};

extern struct shim_real shim_real;
extern int shim_real_ready;

void shim_real_init(void);

#define REAL(name) \
	(*(__builtin_expect(shim_real_ready, 1) ? 0 : (shim_real_init(), 0), shim_real.name))

#endif
