/* SPDX-License-Identifier: MIT */
/*
 * memory.c - is a pointer the caller handed in readable or writable?
 * (shim.h, "the caller's pointers").
 *
 * A page is probed by a system call that copies from or to it, so a bad
 * one costs an EFAULT, never a SIGSEGV, and no signal handler is needed:
 *   readable   rt_sigprocmask with an invalid `how`: the kernel copies the
 *              new mask in (EFAULT) before it looks at `how` (EINVAL), and
 *              changes nothing;
 *   writable   mincore of one of our own pages writes one byte of its
 *              result to the caller's page (EFAULT when it may not); the
 *              byte, read first, is put back.
 * Good pages are remembered per thread (SHIM_MEM_SLOTS of each kind,
 * direct-mapped), so the cost is paid once per page, not per call.
 */
#include "real.h"

#include <sys/mman.h>
#include <sys/syscall.h>

__thread uintptr_t shim_rd_pages[SHIM_MEM_SLOTS];
__thread uintptr_t shim_wr_pages[SHIM_MEM_SLOTS];

/* Page-aligned, ours and mapped: mincore's subject. */
static char probe_page[SHIM_PAGE] __attribute__((aligned(SHIM_PAGE)));

static void remember(uintptr_t *set, uintptr_t a)
{
	set[a / SHIM_PAGE % SHIM_MEM_SLOTS] = a / SHIM_PAGE + 1;
}

/* The page holding address a readable?  (errno kept) */
static bool page_readable(uintptr_t a)
{
	if (shim_page_in(shim_rd_pages, a))
		return true;
	int e = errno;
	/* 8 bytes (the kernel's sigset_t) from the start of the page. */
	long r = REAL(syscall)(SYS_rt_sigprocmask, 0x7fff, (void *)(a - a % SHIM_PAGE), NULL,
			       (size_t)8, 0, 0);
	bool ok = r < 0 && errno == EINVAL;
	errno = e;
	if (ok)
		remember(shim_rd_pages, a);
	return ok;
}

/* The page holding address a writable?  q: a byte of it in the caller's
 * buffer, the one mincore writes (and that is put back). */
static bool page_writable(uintptr_t a, volatile char *q)
{
	if (shim_page_in(shim_wr_pages, a))
		return true;
	if (!page_readable(a))
		return false;
	int e = errno;
	char c = *q;
	long r = REAL(syscall)(SYS_mincore, probe_page, (size_t)1, (void *)q, 0, 0, 0);
	if (r == 0)
		*q = c;
	errno = e;
	if (r == 0)
		remember(shim_wr_pages, a);
	return r == 0;
}

bool shim_str_probe(const char *s)
{
	uintptr_t a = (uintptr_t)s;
	size_t seen = 0;

	if (!s)
		return false;
	while (seen <= PATH_MAX) {
		size_t room = SHIM_PAGE - a % SHIM_PAGE;
		if (!page_readable(a))
			return false;
		if (memchr((const char *)a, 0, room))
			return true;
		seen += room;
		a += room;
	}
	return false;
}

bool shim_mem_probe(const void *p, size_t n, bool write)
{
	uintptr_t a = (uintptr_t)p, end = a + n;

	if (n == 0)
		return true;
	if (!p || end < a)
		return false;
	while (a < end) {
		if (write ? !page_writable(a, (volatile char *)a) : !page_readable(a))
			return false;
		a += SHIM_PAGE - a % SHIM_PAGE;
	}
	return true;
}

int shim_path_err(const char *s)
{
	uintptr_t a = (uintptr_t)s;
	size_t seen = 0;

	SHIM_OPAQUE(s);
	if (!s)
		return -EFAULT;
	if (shim_str_ok(s))
		return 0;
	while (seen < PATH_MAX) {
		size_t room = SHIM_PAGE - a % SHIM_PAGE;
		if (!page_readable(a))
			return -EFAULT;
		const char *nul = memchr((const char *)a, 0, room);
		if (nul)
			return seen + (size_t)(nul - (const char *)a) < PATH_MAX ? 0 : -ENAMETOOLONG;
		seen += room;
		a += room;
	}
	return -ENAMETOOLONG;
}
