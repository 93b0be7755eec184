/* SPDX-License-Identifier: MIT */
/*
 * supervise.h - the second way into the view: programs that make their
 * own system calls (Go, static binaries), under seccomp user notification,
 * answered by the launcher's helper from the same union the shim uses.
 * See supervise.c.
 */
#ifndef LAYERFS_SUPERVISE_H
#define LAYERFS_SUPERVISE_H

#include "layerfs.h"

#include <stdbool.h>

#define SUP_MARK  LYR_SUP_MARK
#define SUP_PROBE LYR_SUP_PROBE

struct sup;

/* What the supervisor answers from. */
struct sup_config {
	const char *mount;       /* the mount point: absolute, normalised */
	struct lyr_layer *fs;    /* the union (the supervisor takes it) */
	const char *dir;         /* a private directory: socket, stand-ins */
	/* Where the view's files are stored (the upper directory, directory
	 * lowers, the content cache): only a file below one of them, or a
	 * memfd, can be one of the view's. */
	char **storage;
	size_t nstorage;
	/* The union's lowers (the union owns them): what a copy-up leaves
	 * behind, which fds may still be on (sup_copied_up). */
	struct lyr_layer **lowers;
	size_t nlower;
};

/*
 * Is seccomp user notification with the features the supervisor needs
 * there (Linux 5.14, not forbidden by an outer seccomp policy)?  false
 * with the reason in *why.
 */
bool sup_available(const char **why);

/*
 * Starts the supervisor: its threads, and a socket at cfg->dir/sock on
 * which processes about to run a program that makes its own system calls
 * hand in their filter's listener (sup_enter).  0 or -errno.
 */
int sup_start(const struct sup_config *cfg, struct sup **out);
/* The union's copied_up hook (lyr_union_opts) for the union a supervisor
 * answers from: the calling process's fds on the lower copy follow. */
void sup_copied_up(void *ctx, const char *path, uint64_t ino);
/* The socket's path (for LAYERFS_SUPERVISOR). */
const char *sup_socket(const struct sup *s);
/* The process's umask before sup_start, which clears it (the supervisor
 * applies each process's own): what the job it starts must get back. */
mode_t sup_umask(const struct sup *s);
/* Stops the threads, closes every listener, frees everything. */
void sup_stop(struct sup *s);

/*
 * In the process that is about to exec a program that makes its own
 * system calls: installs the filter (with no_new_privs when not root) and
 * hands its listener to the supervisor at sock.  From then on every
 * thread the process starts, and every process it starts, is supervised.
 * 0 or -errno (with a message on stderr).
 */
int sup_enter(const char *sock);

/*
 * A system call made without libc (which a preloaded shim would answer):
 * for a supervised process to ask the supervisor itself, e.g. chdir into
 * the view, which leaves its working directory on a host directory that
 * stands for the view's.  Returns as the kernel: -errno on failure.
 */
long sup_raw_syscall(long nr, long a0, long a1, long a2);

#endif
