/* SPDX-License-Identifier: MIT */
/*
 * real.h - the libc functions behind the wrappers (SQLite's aSyscall idea).
 *
 * shim_real holds one typed pointer per row of syscalls.def.  Each is
 * resolved on its first REAL() call, with dlsym(RTLD_NEXT) (dlvsym for V
 * rows): a process pays only for the functions it uses, not ~200 lookups at
 * start-up.  A name libc lacks resolves to a function that fails with
 * ENOSYS.  Nothing needs a constructor, so wrappers called before ours
 * (libselinux's) work.
 * Tests may replace an entry: a non-NULL entry is never looked up.
 *
 * The fast path is one load, one test and the indirect call.  Resolution
 * (shim_real_resolve) is thread-safe: racing threads store the same
 * pointer.  It keeps errno.  Its dlsym takes the loader's recursive lock and
 * does not allocate when the symbol exists, so a wrapper first called in a
 * signal handler or a vfork child is as safe as a lazily bound PLT call.
 */
#ifndef SHIM_REAL_H
#define SHIM_REAL_H

#include "shim.h"

#include <stddef.h>

struct shim_real {
#define X(ret, name, params, group, fail) ret (*name) params;
#define V(ret, name, params, group, fail, ver) X(ret, name, params, group, fail)
#include "syscalls.def"
#undef X
#undef V
};

/* Hidden, so that the wrappers address these directly (no GOT load). */
extern struct shim_real shim_real __attribute__((visibility("hidden")));
extern struct shim_state shim __attribute__((visibility("hidden")));
extern int shim_cwd_virtual __attribute__((visibility("hidden")));
extern unsigned long shim_fd_bits[SHIM_FD_BITS / (8 * sizeof(unsigned long))]
	__attribute__((visibility("hidden")));
extern int shim_fd_high __attribute__((visibility("hidden")));

/* Fills the entry at offset off in shim_real (cold path of REAL()). */
void shim_real_resolve(size_t off) __attribute__((visibility("hidden"), cold));

/* One accessor per row: the entry, looked up first when still NULL. */
#define X(ret, name, params, group, fail) \
	static inline __typeof__(((struct shim_real *)0)->name) shim_real_fn_##name(void) \
	{ \
		__typeof__(((struct shim_real *)0)->name) f_ = \
			__atomic_load_n(&shim_real.name, __ATOMIC_RELAXED); \
		if (__builtin_expect(f_ == NULL, 0)) { \
			shim_real_resolve(offsetof(struct shim_real, name)); \
			f_ = __atomic_load_n(&shim_real.name, __ATOMIC_RELAXED); \
		} \
		return f_; \
	}
#define V(ret, name, params, group, fail, ver) X(ret, name, params, group, fail)
#include "syscalls.def"
#undef X
#undef V

#define REAL(name) (*shim_real_fn_##name())

#endif
