/* SPDX-License-Identifier: MIT */
/*
 * keep.c - kept fds (layerfs.h, section 5): the fds layers keep open for
 * their whole life, which the interposer must neither close on a
 * program's behalf nor let a program's dup2 land on.
 */
#define _GNU_SOURCE
#include "layerfs.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

/*
 * Kept fds: a table indexed by fd number holding the address of the
 * variable a layer keeps each fd in.  Lookups take no lock (the interposer
 * asks on every close); changes take kept_lock.  A table that grows is
 * replaced, and the old one stays reachable on a list, so a reader that
 * still holds it never touches freed memory.
 */
struct kept_table {
	size_t n;
	struct kept_table *retired; /* the table this one replaced */
	int *slot[];                /* n entries */
};
static struct kept_table *kept;
static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;

/* Caller holds kept_lock.  Makes room for fd; -ENOMEM. */
static int kept_grow(int fd)
{
	struct kept_table *t = kept;

	if (t && (size_t)fd < t->n)
		return 0;
	size_t n = t ? t->n : 1024;
	while (n <= (size_t)fd)
		n *= 2;
	struct kept_table *nt = calloc(1, sizeof(*nt) + n * sizeof(int *));
	if (!nt)
		return -ENOMEM;
	nt->n = n;
	nt->retired = t;
	if (t)
		memcpy(nt->slot, t->slot, t->n * sizeof(int *));
	__atomic_store_n(&kept, nt, __ATOMIC_RELEASE);
	return 0;
}

/* Caller holds kept_lock. */
static void kept_set(int fd, int *slot)
{
	if (fd >= 0 && (size_t)fd < kept->n)
		__atomic_store_n(&kept->slot[fd], slot, __ATOMIC_RELEASE);
}

int lyr_fd_keep(int *slot)
{
	int hi = fcntl(*slot, F_DUPFD_CLOEXEC, LYR_FD_LOW);

	if (hi >= 0) {
		close(*slot);
		*slot = hi;
	}
	pthread_mutex_lock(&kept_lock);
	int r = kept_grow(*slot);
	if (r == 0)
		kept_set(*slot, slot);
	pthread_mutex_unlock(&kept_lock);
	return r;
}

void lyr_fd_release(int *slot)
{
	pthread_mutex_lock(&kept_lock);
	if (kept && *slot >= 0 && (size_t)*slot < kept->n && kept->slot[*slot] == slot)
		kept_set(*slot, NULL);
	pthread_mutex_unlock(&kept_lock);
}

bool lyr_fd_is_kept(int fd)
{
	struct kept_table *t = __atomic_load_n(&kept, __ATOMIC_ACQUIRE);

	return t && fd >= 0 && (size_t)fd < t->n &&
	       __atomic_load_n(&t->slot[fd], __ATOMIC_ACQUIRE);
}

int lyr_fd_move(int fd)
{
	int r = 0;

	pthread_mutex_lock(&kept_lock);
	int *slot = lyr_fd_is_kept(fd) ? kept->slot[fd] : NULL;
	if (slot) {
		int hi = fcntl(fd, F_DUPFD_CLOEXEC, LYR_FD_LOW);
		if (hi < 0 || kept_grow(hi) < 0) {
			r = hi < 0 ? -errno : -ENOMEM;
			if (hi >= 0)
				close(hi);
		} else {
			kept_set(fd, NULL);
			kept_set(hi, slot);
			__atomic_store_n(slot, hi, __ATOMIC_RELEASE);
			close(fd);
		}
	}
	pthread_mutex_unlock(&kept_lock);
	return r;
}
