/* SPDX-License-Identifier: MIT */
/*
 * supervise.c - programs that make their own system calls, answered from
 * the view by the launcher's helper (seccomp user notification).
 *
 * A Go program or a static binary never reaches the shim: libc is not in
 * its way to the kernel.  Such a program is started under a seccomp
 * filter (sup_enter, in the process that execs it: the helper for
 * COMMAND, `layerfs-helper enter` when the shim execs one) that stops
 * every system call taking a path or an fd of interest and hands it to
 * this supervisor over the filter's listener.  The filter is inherited by
 * every thread and every child, across exec, and cannot be removed.
 *
 * The supervisor resolves the call's path for the calling process (its
 * working directory and fds read through /proc) with lyr_mount_resolve,
 * and then:
 *   - a call that never reaches the view runs as the program made it
 *     (SECCOMP_USER_NOTIF_FLAG_CONTINUE): the kernel resolves the same
 *     string the same way;
 *   - a call on the view is answered from the union: an open installs the
 *     union's real fd in the process (SECCOMP_IOCTL_NOTIF_ADDFD with
 *     SECCOMP_ADDFD_FLAG_SEND), a stat writes the view's stat into the
 *     process's buffer, a change goes to the union (copy-up, whiteouts);
 *   - the two calls that must leave kernel state behind, chdir into the
 *     view and execve of a program stored in it, are turned into fchdir
 *     and execveat of an fd the supervisor installs: the thread is stopped
 *     with ptrace (the supervisor is its ancestor), its registers changed,
 *     and the call restarted.
 * The process's own calls on what it got (read, write, mmap, lseek...) are
 * never stopped: they run on real fds at kernel speed.
 *
 * Files of the view in a process are the union's real fds (an upper file,
 * a lower file, a content cache file or memfd), which lyr_fd_name names
 * again when the process uses one as a dirfd or fstats it.  A directory
 * of an archive has no file of its own: it is given a stand-in, an empty
 * directory in the supervisor's private directory, one per view path.
 * So the kernel keeps every process's state (fds, working directory,
 * across fork and exec) and the supervisor keeps none but the stand-ins.
 *
 * Threads: a few workers share one epoll set of listeners (one-shot, so
 * that two never take the same notification) and of the socket new
 * listeners arrive on.  A notification whose process died or was
 * interrupted in the meantime is checked with SECCOMP_IOCTL_NOTIF_ID_VALID
 * after the process's memory is read and before anything is done.
 *
 * Divisions: 1. the filter  2. the process's memory and fds
 * 3. resolution  4. answers  5. the calls  6. listeners and threads.
 */
#define _GNU_SOURCE
#include "supervise.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/user.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <uthash.h>
#include <unistd.h>
#include <utime.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL /* Linux 6.9 */
#endif
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS /* Linux 6.6 */
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif
/* Interrupts a listener's own thread waiting for a notification. */
#define SUP_WAKE_SIGNAL SIGURG
/* The kernel's own restart codes (not in <errno.h>). */
#define ERESTARTSYS    512
#define ERESTARTNOINTR 513

/* ---- 1. the filter ----------------------------------------------------- */

/* The calls that take a path (or may name the view through a dirfd). */
static const int sup_path_calls[] = {
	SYS_open, SYS_openat, SYS_openat2, SYS_creat, SYS_stat, SYS_lstat,
	SYS_newfstatat, SYS_statx, SYS_access, SYS_faccessat, SYS_faccessat2,
	SYS_readlink, SYS_readlinkat, SYS_getxattr, SYS_lgetxattr, SYS_setxattr,
	SYS_lsetxattr, SYS_listxattr, SYS_llistxattr, SYS_removexattr,
	SYS_lremovexattr, SYS_statfs, SYS_truncate, SYS_mkdir, SYS_mkdirat,
	SYS_rmdir, SYS_unlink, SYS_unlinkat, SYS_rename, SYS_renameat,
	SYS_renameat2, SYS_link, SYS_linkat, SYS_symlink, SYS_symlinkat,
	SYS_mknod, SYS_mknodat, SYS_chmod, SYS_fchmodat, SYS_fchmodat2, SYS_chown,
	SYS_lchown, SYS_fchownat, SYS_utime, SYS_utimes, SYS_futimesat,
	SYS_utimensat, SYS_chdir, SYS_getcwd, SYS_execve, SYS_execveat,
	SYS_inotify_add_watch, SYS_name_to_handle_at,
	/* fd calls whose answer depends on what the fd is */
	SYS_fstat, SYS_fgetxattr, SYS_fsetxattr, SYS_flistxattr, SYS_fremovexattr,
	SYS_fchmod, SYS_fchown, SYS_fstatfs, SYS_getdents64, SYS_getdents,
};

/*
 * The filter: the calls above go to the supervisor unless they carry
 * SUP_MARK; io_uring_setup is ENOSYS (its
 * operations take paths no filter sees; libraries fall back to system
 * calls); a call of another architecture (i386, x32) is ENOSYS.
 */
static scmp_filter_ctx sup_filter(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r = 0;

	if (!ctx)
		return NULL;
	r |= seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(ENOSYS));
	for (size_t i = 0; i < sizeof(sup_path_calls) / sizeof(sup_path_calls[0]); i++)
		r |= seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, sup_path_calls[i], 1,
				      SCMP_A5_64(SCMP_CMP_NE, SUP_MARK));
	r |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SYS_io_uring_setup, 0);
	/* sup_probe's call: ESRCH, where the kernel would say EFAULT. */
	r |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ESRCH), SYS_getcwd, 3,
			      SCMP_A0_64(SCMP_CMP_EQ, 0), SCMP_A1_64(SCMP_CMP_EQ, SUP_PROBE),
			      SCMP_A5_64(SCMP_CMP_EQ, SUP_MARK));
	if (r) {
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

bool sup_available(const char **why)
{
	struct utsname u;
	int maj = 0, min = 0;

	if (uname(&u) == 0)
		sscanf(u.release, "%d.%d", &maj, &min);
	if (maj < 5 || (maj == 5 && min < 14)) {
		*why = "it needs Linux 5.14 or later";
		return false;
	}
	/* Whether an outer policy lets a filter with a listener be loaded:
	 * try, in a child that exits at once. */
	pid_t pid = fork();
	if (pid == 0) {
		scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
		if (geteuid() != 0)
			prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		_exit(!ctx || seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SYS_getcwd, 0) ||
		      seccomp_load(ctx) || seccomp_notify_fd(ctx) < 0);
	}
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		*why = "seccomp user notification is not available here "
		       "(forbidden by a container's policy?)";
		return false;
	}
	return true;
}

/* Sends fd and the bytes msg[0..len) over sock. */
static int sup_send_fd(int sock, int fd, const void *msg, size_t len)
{
	char cb[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { (void *)msg, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb,
			     .msg_controllen = sizeof(cb) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
	return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int sup_enter(const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char reply[16];
	int s = -1, lfd = -1, r;
	scmp_filter_ctx ctx = NULL;

	if (strlen(sock) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, sock);
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		fprintf(stderr, "layerfs: the supervisor at %s: %s\n", sock, strerror(errno));
		goto out;
	}
	if (geteuid() != 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		r = -errno;
		fprintf(stderr, "layerfs: no_new_privs: %s\n", strerror(errno));
		goto out;
	}
	if (!(ctx = sup_filter()) || (r = seccomp_load(ctx)) < 0 ||
	    (lfd = seccomp_notify_fd(ctx)) < 0) {
		r = r < 0 ? r : -EINVAL;
		fprintf(stderr, "layerfs: cannot load the seccomp filter: %s\n", strerror(-r));
		goto out;
	}
	/* From here on this process is supervised: the listener first. */
	if ((r = sup_send_fd(s, lfd, "", 1)) < 0) {
		fprintf(stderr, "layerfs: the supervisor: %s\n", strerror(-r));
		goto out;
	}
	ssize_t n = recv(s, reply, sizeof(reply) - 1, 0);
	r = n > 0 && reply[0] == '+' ? 0 : n < 0 ? -errno : -ECONNRESET;
	if (r < 0)
		fprintf(stderr, "layerfs: the supervisor: %s\n", strerror(-r));
out:
	if (ctx)
		seccomp_release(ctx);
	if (lfd >= 0)
		close(lfd);
	if (s >= 0)
		close(s);
	return r;
}

long sup_raw_syscall(long nr, long a0, long a1, long a2)
{
	long r;

	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(nr), "D"(a0), "S"(a1), "d"(a2)
			 : "rcx", "r11", "memory");
	return r;
}

/* ---- 2. the process's memory and fds ---------------------------------- */

/* A directory of the view with no host directory of its own (an
 * archive's): the empty directory that stands for it. */
struct standin {
	char *view;              /* layer path */
	char *host;              /* the stand-in's absolute path */
	bool link;               /* a symlink's (standin_link): in links, not by_view */
	UT_hash_handle hv, hh;   /* by view path, by host path */
	UT_hash_handle hl;       /* links: the latest for its view path */
};

/* A lower's directory (by its storage's identity) the view renamed: where
 * the view shows it now. */
struct moved {
	struct { dev_t dev; ino_t ino; } key;
	char *view;
	UT_hash_handle hh;
};

/*
 * What an epoll event is about: a listener, the socket, or stop.  A
 * listener the kernel wakes synchronously (see admit) is not in the epoll
 * set: threads of its own wait in SECCOMP_IOCTL_NOTIF_RECV.
 */
struct watch {
	int fd;
	enum { W_LISTENER, W_SOCKET, W_STOP } kind;
	struct watch *next, *prev; /* listeners: every one still open */
	struct sup *s;             /* own threads: their supervisor */
	pthread_t *thr;            /* ... and they, nthr of them still running */
	size_t nthr;
};

struct sup {
	struct lyr_mount m;      /* the union at the mount point */
	char *mount;             /* m.path's storage */
	char *dir;               /* private: socket, stand-ins */
	char **storage;          /* sup_config.storage */
	size_t nstorage;
	struct lyr_layer **lowers; /* sup_config.lowers */
	size_t nlower;
	mode_t umask;            /* the process's (the workers' own is 0) */
	char *sock;
	int sock_fd, epoll_fd, stop_fd;
	pthread_t *threads;
	size_t nthreads;
	pthread_mutex_t lock;    /* stand-ins, listeners */
	struct standin *by_view, *by_host, *links;
	unsigned long nstandin;
	struct moved *moved;     /* under lock */
	unsigned long nmoved;
	struct watch listeners;  /* a ring, this its head */
	struct watch stop, socket;
	bool stopping;           /* sup_stop: listeners' own threads end */
	pthread_cond_t ended;    /* one of those ended (with lock) */
};

/* One notification being answered. */
struct req {
	struct sup *s;
	int lfd;                      /* its listener */
	struct seccomp_notif *n;
	struct seccomp_notif_resp *resp;
	pid_t tid;                    /* the calling thread */
	bool fd_itself;               /* proc_ident asked about the fd itself, not
					 * as a directory to resolve a path in */
	bool answered;                /* an answer (or none) was given */
};

static long arg(const struct req *q, int i)
{
	return (long)q->n->data.args[i];
}

/* Is the notification still pending (the thread alive, still waiting)? */
static bool req_valid(const struct req *q)
{
	__u64 id = q->n->id;

	return ioctl(q->lfd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

/* Reads the NUL-terminated string at addr into buf (size bytes): 0,
 * -EFAULT, -ENAMETOOLONG.  Page by page: a string may end just before
 * unmapped memory. */
static int rd_str(const struct req *q, unsigned long addr, char *buf, size_t size)
{
	size_t got = 0;

	if (!addr)
		return -EFAULT;
	while (got < size) {
		size_t chunk = 4096 - ((addr + got) & 4095);
		if (chunk > size - got)
			chunk = size - got;
		struct iovec l = { buf + got, chunk }, r = { (void *)(addr + got), chunk };
		ssize_t n = process_vm_readv(q->tid, &l, 1, &r, 1, 0);
		if (n <= 0)
			return -EFAULT;
		char *nul = memchr(buf + got, '\0', (size_t)n);
		if (nul)
			return 0;
		got += (size_t)n;
	}
	return -ENAMETOOLONG;
}

static int rd_path(const struct req *q, unsigned long addr, char *buf)
{
	return rd_str(q, addr, buf, PATH_MAX);
}

static int rd_mem(const struct req *q, unsigned long addr, void *buf, size_t len)
{
	struct iovec l = { buf, len }, r = { (void *)addr, len };

	return process_vm_readv(q->tid, &l, 1, &r, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

static int wr_mem(const struct req *q, unsigned long addr, const void *buf, size_t len)
{
	struct iovec l = { (void *)buf, len }, r = { (void *)addr, len };

	if (!len)
		return 0;
	return process_vm_writev(q->tid, &l, 1, &r, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

/* The process's fd (AT_FDCWD: its working directory) opened here with
 * O_PATH, through /proc: a new open file description of the same file. */
static int proc_open(const struct req *q, int fd, int flags)
{
	char p[64];

	if (fd == AT_FDCWD)
		snprintf(p, sizeof(p), "/proc/%d/cwd", (int)q->tid);
	else
		snprintf(p, sizeof(p), "/proc/%d/fd/%d", (int)q->tid, fd);
	int r = open(p, flags | O_CLOEXEC);
	return r < 0 ? -errno : r;
}

/* The process's own fd itself (the same open file description), for its
 * offset: pidfd_getfd. */
static int proc_getfd(const struct req *q, int fd)
{
	int pfd = (int)syscall(SYS_pidfd_open, q->tid, PIDFD_THREAD);

	if (pfd < 0)
		return -errno;
	int r = (int)syscall(SYS_pidfd_getfd, pfd, fd, 0);
	int e = errno;
	close(pfd);
	return r < 0 ? -e : r;
}

/* The number on the line "KEY:\tVALUE" of the process's /proc/TID/status,
 * in base: true, or false when it cannot be read. */
static bool proc_status_num(const struct req *q, const char *key, int base, unsigned long *v)
{
	char p[64], line[128];
	size_t k = strlen(key);
	bool found = false;

	snprintf(p, sizeof(p), "/proc/%d/status", (int)q->tid);
	FILE *f = fopen(p, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, k) && line[k] == ':') {
			char *end;
			*v = strtoul(line + k + 1, &end, base);
			found = end != line + k + 1;
		}
	fclose(f);
	return found;
}

/* The process's umask (for what it creates). */
static mode_t proc_umask(const struct req *q)
{
	unsigned long m;

	return proc_status_num(q, "Umask", 8, &m) ? (mode_t)(m & 0777) : 022;
}

/* The process's thread group id (what /proc/self names for it). */
static pid_t proc_tgid(const struct req *q)
{
	unsigned long tgid;

	return proc_status_num(q, "Tgid", 10, &tgid) && tgid ? (pid_t)tgid : q->tid;
}

/* ---- 3. resolution -------------------------------------------------- */

/* Is the absolute host path a ghost: a directory above the mount point
 * that the host lacks (lyr_mount_ghost_stat)? */
static bool sup_ghost(const struct sup *s, const char *path)
{
	struct stat st;

	return path[0] == '/' && lyr_mount_above(&s->m, path) && lstat(path, &st) < 0 &&
	       errno == ENOENT;
}

/* The stand-in of view directory lp (or of a ghost: lp is its absolute
 * host path), made on first use: its host path into buf, or -errno. */
static int standin_of(struct sup *s, const char *lp, char *buf, size_t size)
{
	struct standin *d;
	int r = 0;

	pthread_mutex_lock(&s->lock);
	HASH_FIND(hv, s->by_view, lp, strlen(lp), d);
	if (!d) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/d%lu", s->dir, ++s->nstandin);
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			r = -errno;
		} else if (!(d = calloc(1, sizeof(*d))) || !(d->view = strdup(lp)) ||
			   !(d->host = strdup(path))) {
			if (d)
				free(d->view);
			free(d);
			r = -ENOMEM;
		} else {
			HASH_ADD_KEYPTR(hv, s->by_view, d->view, strlen(d->view), d);
			HASH_ADD_KEYPTR(hh, s->by_host, d->host, strlen(d->host), d);
		}
	}
	if (r == 0 && snprintf(buf, size, "%s", d->host) >= (int)size)
		r = -ENAMETOOLONG;
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* The view directory a stand-in stands for, into buf: true, or false
 * when host is none. */
static bool standin_view(struct sup *s, const char *host, char *buf, size_t size)
{
	struct standin *d;
	bool found = false;

	pthread_mutex_lock(&s->lock);
	HASH_FIND(hh, s->by_host, host, strlen(host), d);
	if (d && strlen(d->view) < size) {
		strcpy(buf, d->view);
		found = true;
	}
	pthread_mutex_unlock(&s->lock);
	return found;
}

/*
 * A stand-in for symlink lp of the view, which an O_PATH fd of the
 * process holds: a symlink to target, named for the view by its host path
 * (standin_view).  The one made last for lp serves again while its target
 * is lp's (two opens of a symlink give the same inode); else a new one is
 * made, and fds of the old one keep it, as fds of a replaced symlink do.
 * Its host path into buf, or -errno.
 */
static int standin_link(struct sup *s, const char *lp, const char *target, char *buf,
			size_t size)
{
	char cur[PATH_MAX];
	struct standin *d;
	int r = 0;

	pthread_mutex_lock(&s->lock);
	HASH_FIND(hl, s->links, lp, strlen(lp), d);
	ssize_t n = d ? readlink(d->host, cur, sizeof(cur) - 1) : -1;
	if (n < 0 || (size_t)n != strlen(target) || memcmp(cur, target, (size_t)n)) {
		char *host = NULL;
		if (d)
			HASH_DELETE(hl, s->links, d);
		if (!(d = calloc(1, sizeof(*d))) || !(d->view = strdup(lp)) ||
		    asprintf(&host, "%s/l%lu", s->dir, ++s->nstandin) < 0) {
			r = -ENOMEM;
			host = NULL;
		} else if (symlink(target, host) < 0) {
			r = -errno;
		}
		if (r < 0) {
			if (d)
				free(d->view);
			free(d);
			free(host);
		} else {
			d->host = host;
			d->link = true;
			HASH_ADD_KEYPTR(hh, s->by_host, d->host, strlen(d->host), d);
			HASH_ADD_KEYPTR(hl, s->links, d->view, strlen(d->view), d);
		}
	}
	if (r == 0 && snprintf(buf, size, "%s", d->host) >= (int)size)
		r = -ENAMETOOLONG;
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* Does the notified call change what it names (or may it: an open for
 * writing)? */
static bool call_changes(const struct req *q)
{
	long flags;
	struct open_how how;

	switch (q->n->data.nr) {
	case SYS_open:
		flags = (long)arg(q, 1);
		break;
	case SYS_openat:
		flags = (long)arg(q, 2);
		break;
	case SYS_openat2:
		if (rd_mem(q, (unsigned long)arg(q, 2), &how, sizeof(how)) < 0)
			return true;
		flags = (long)how.flags;
		break;
	case SYS_stat: case SYS_lstat: case SYS_newfstatat: case SYS_statx:
	case SYS_access: case SYS_faccessat: case SYS_faccessat2: case SYS_readlink:
	case SYS_readlinkat: case SYS_getxattr: case SYS_lgetxattr: case SYS_listxattr:
	case SYS_llistxattr: case SYS_statfs: case SYS_chdir: case SYS_getcwd:
	case SYS_execve: case SYS_execveat: case SYS_inotify_add_watch:
	case SYS_name_to_handle_at: case SYS_fstat: case SYS_fgetxattr:
	case SYS_flistxattr: case SYS_fstatfs: case SYS_getdents64: case SYS_getdents:
		return false;
	default:
		return true;
	}
	return (flags & (O_ACCMODE | O_CREAT | O_TRUNC)) != O_RDONLY;
}

/* The view's directory lp was removed: its stand-in goes too, so that a
 * process standing in it stands in a removed directory, as on a real file
 * system (ENOENT below it, getcwd ENOENT), and a new directory of that
 * name gets a stand-in of its own. */
static void standin_removed(struct sup *s, const char *lp)
{
	struct standin *d;

	pthread_mutex_lock(&s->lock);
	HASH_FIND(hv, s->by_view, lp, strlen(lp), d);
	if (d) {
		HASH_DELETE(hv, s->by_view, d);
		HASH_DELETE(hh, s->by_host, d);
		rmdir(d->host);
		free(d->view);
		free(d->host);
		free(d);
	}
	pthread_mutex_unlock(&s->lock);
}

/* Is p from, or below it?  Then what follows from in p. */
static const char *path_under(const char *p, const char *from)
{
	size_t n = strlen(from);

	if (strncmp(p, from, n) || (p[n] && p[n] != '/'))
		return NULL;
	return p + n;
}

/* The view's from was renamed to (exchange: and to to from): the stand-ins
 * of directories there follow, as a process's working directory does. */
static void standin_renamed(struct sup *s, const char *from, const char *to, bool exchange)
{
	struct standin *d, *tmp, **moved = NULL;
	size_t n = 0;

	if (!exchange)
		standin_removed(s, to); /* an empty directory renamed over */
	pthread_mutex_lock(&s->lock);
	HASH_ITER(hv, s->by_view, d, tmp) {
		const char *rest = path_under(d->view, from), *dst = to;
		if (!rest && exchange && (rest = path_under(d->view, to)))
			dst = from;
		char *nv = NULL;
		struct standin **m;
		if (!rest || asprintf(&nv, "%s%s", dst, rest) < 0)
			continue;
		if (!(m = realloc(moved, (n + 1) * sizeof(*moved)))) {
			free(nv);
			continue;
		}
		moved = m;
		HASH_DELETE(hv, s->by_view, d);
		free(d->view);
		d->view = nv;
		moved[n++] = d;
	}
	/* Re-keyed once all are out: an exchange swaps names. */
	for (size_t i = 0; i < n; i++)
		HASH_ADD_KEYPTR(hv, s->by_view, moved[i]->view, strlen(moved[i]->view), moved[i]);
	pthread_mutex_unlock(&s->lock);
	free(moved);
}

/* Where the view shows the lower directory stored at st now (renamed):
 * true with its layer path in buf. */
static bool moved_view(struct sup *s, const struct stat *st, char *buf, size_t size)
{
	struct moved *m, k = { 0 };
	bool found = false;

	k.key.dev = st->st_dev;
	k.key.ino = st->st_ino;
	pthread_mutex_lock(&s->lock);
	HASH_FIND(hh, s->moved, &k.key, sizeof(k.key), m);
	if (m && strlen(m->view) < size) {
		strcpy(buf, m->view);
		found = true;
	}
	pthread_mutex_unlock(&s->lock);
	return found;
}

/* The lowers' directories stored for the view's directory lp (at most
 * max): their identities into st. */
static size_t lower_dirs(struct sup *s, const char *lp, struct stat *st, size_t max)
{
	size_t n = 0;

	for (size_t k = 0; k < s->nlower && n < max; k++) {
		int fd = lyr_open(s->lowers[k], lp, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
		if (fd >= 0 && fstat(fd, &st[n]) == 0)
			n++;
		if (fd >= 0)
			close(fd);
	}
	return n;
}

/* The view renamed directory from to (exchange: both ways): a process
 * standing in (or holding) a lower's directory of it finds it at its new
 * name, as on a real file system.  low[0..n): from's lower directories,
 * found before (low2[0..n2): to's, exchanged); what earlier renames moved
 * below them moves too. */
static void moved_renamed(struct sup *s, const char *from, const char *to, bool exchange,
			  const struct stat *low, size_t n, const struct stat *low2, size_t n2)
{
	struct moved *m, *tmp;

	pthread_mutex_lock(&s->lock);
	HASH_ITER(hh, s->moved, m, tmp) {
		const char *rest = path_under(m->view, from), *dst = to;
		char *nv;
		if (!rest && exchange && (rest = path_under(m->view, to)))
			dst = from;
		if (rest && asprintf(&nv, "%s%s", dst, rest) >= 0) {
			free(m->view);
			m->view = nv;
		}
	}
	if (s->nmoved + n + n2 > 4096) { /* a bound: the oldest are forgotten */
		HASH_ITER(hh, s->moved, m, tmp) {
			HASH_DEL(s->moved, m);
			free(m->view);
			free(m);
		}
		__atomic_store_n(&s->nmoved, 0, __ATOMIC_RELAXED);
	}
	for (size_t i = 0; i < n + n2; i++) {
		const struct stat *l = i < n ? &low[i] : &low2[i - n];
		struct moved k = { 0 };
		k.key.dev = l->st_dev;
		k.key.ino = l->st_ino;
		HASH_FIND(hh, s->moved, &k.key, sizeof(k.key), m);
		if (!m) {
			if (!(m = calloc(1, sizeof(*m))))
				continue;
			m->key = k.key;
			HASH_ADD(hh, s->moved, key, sizeof(m->key), m);
			__atomic_fetch_add(&s->nmoved, 1, __ATOMIC_RELAXED);
		}
		free(m->view);
		m->view = strdup(i < n ? to : from);
	}
	pthread_mutex_unlock(&s->lock);
}

/*
 * What process who's fd is (AT_FDCWD: its working directory): 1, with
 * its layer path in buf, when it is a file or directory of the view; 0,
 * with its host path in buf ("" when it has none), when it is the host's;
 * -errno (-EBADF: no such fd).
 */
static int proc_ident_of(const struct req *q, pid_t who, int fd, char *buf, size_t size)
{
	struct sup *s = q->s;
	char p[64], host[PATH_MAX];
	const char *rel;

	if (fd == AT_FDCWD)
		snprintf(p, sizeof(p), "/proc/%d/cwd", (int)who);
	else
		snprintf(p, sizeof(p), "/proc/%d/fd/%d", (int)who, fd);
	ssize_t n = readlink(p, host, sizeof(host) - 1);
	if (n < 0)
		return errno == ENOENT ? -EBADF : -errno;
	host[n] = '\0';
	bool path = host[0] == '/' && !(n > 10 && !strcmp(host + n - 10, " (deleted)"));
	if (path && (rel = lyr_mount_below(&s->m, host))) {
		/* A lower overlaid in place: its directory the view renamed
		 * is where the view shows it now. */
		struct stat st;
		if (__atomic_load_n(&s->nmoved, __ATOMIC_RELAXED) && stat(p, &st) == 0 &&
		    S_ISDIR(st.st_mode) && moved_view(s, &st, buf, size))
			return 1;
		return snprintf(buf, size, "%s", rel) < (int)size ? 1 : -ENAMETOOLONG;
	}
	if (path && standin_view(s, host, buf, size))
		return buf[0] == '/' ? 0 : 1;	/* a ghost's: its host path */
	if (!path && host[0] == '/' && !q->fd_itself) {
		/* A directory of the view since removed (an upper's, a
		 * stand-in): nothing below it, as on a real file system. */
		size_t k = (size_t)n - 10;
		bool ours = !strncmp(host, s->dir, strlen(s->dir)) && host[strlen(s->dir)] == '/';
		for (size_t i = 0; !ours && i < s->nstorage; i++) {
			size_t l = strlen(s->storage[i]);
			ours = k > l && !strncmp(host, s->storage[i], l) && host[l] == '/';
		}
		struct stat st;
		if (ours && stat(p, &st) == 0 && S_ISDIR(st.st_mode))
			return -ENOENT;
	}
	bool stored = !path && !strncmp(host, "/memfd:", 7);
	for (size_t i = 0; path && !stored && i < s->nstorage; i++) {
		size_t k = strlen(s->storage[i]);
		stored = !strncmp(host, s->storage[i], k) && (host[k] == '/' || !host[k]);
	}
	if (!stored)
		return snprintf(buf, size, "%s", path ? host : "") < (int)size ? 0 : -ENAMETOOLONG;
	/* A file of a layer (a lower, the upper, the content cache), by what
	 * the layers know of it. */
	int ofd = open(p, O_PATH | O_CLOEXEC);
	if (ofd >= 0) {
		int r = lyr_fd_name(s->m.fs, ofd, buf, size);
		struct stat st;
		bool dir = r != 0 && fstat(ofd, &st) == 0 && S_ISDIR(st.st_mode);
		close(ofd);
		if (r == 0)
			return 1;
		if (r == -ENXIO)
			return -EACCES; /* a shim's stand-in for an archive's directory */
		/* A directory the view renamed, where it is now; one it
		 * removed: nothing below it, no working directory there. */
		if (dir && moved_view(s, &st, buf, size))
			return 1;
		if (dir && !q->fd_itself)
			return -ENOENT;
	}
	/* A layer's file the view no longer names (removed or shadowed
	 * since it was opened): to read, as it is; never to change. */
	if (call_changes(q))
		return -EACCES;
	return snprintf(buf, size, "%s", path ? host : "") < (int)size ? 0 : -ENAMETOOLONG;
}

static int proc_ident(const struct req *q, int fd, char *buf, size_t size)
{
	return proc_ident_of(q, q->tid, fd, buf, size);
}

/* lyr_mount's magic callback (see layerfs.h): the process's own links,
 * and other processes' (who), named as the process's own are. */
static int sup_magic(void *ctx, pid_t who, int fd, char *buf, size_t size)
{
	const struct req *q = ctx;
	int r = proc_ident_of(q, who ? who : q->tid, fd < 0 ? AT_FDCWD : fd, buf, size);

	if (r < 0)
		return r == -EBADF ? LYR_MAGIC_KERNEL : r;
	return r ? LYR_MAGIC_VIEW : buf[0] ? LYR_MAGIC_HOST : LYR_MAGIC_KERNEL;
}

/*
 * sup_resolve's answer when the call cannot reach the view: let it run as
 * the process made it.  f->path then holds the host path it names,
 * absolute when the process's start directory has a path.
 */
#define HOST_AS_IS 0

/* HOST_AS_IS, with the host path (base + "/" + path) in f->path. */
static int as_is(const char *base, const char *path, struct lyr_found *f)
{
	int n = snprintf(f->path, sizeof(f->path), "%s%s%s", base,
			 *base && *path && strcmp(base, "/") ? "/" : "", path);
	if (n < 0 || (size_t)n >= sizeof(f->path))
		snprintf(f->path, sizeof(f->path), "%s", path);
	return HOST_AS_IS;
}

/*
 * Would the kernel's own resolution of the process's (dirfd, path) pass a
 * host symlink that leads to the view, or to a lower overlaid in place?
 * One openat2 where there is no symlink.  A call that changes nothing
 * and names what the host has is the host's, as in the shim (README,
 * Limitations: a read through a host symlink into a lower overlaid in
 * place reads it as it is): one faccessat, where symlinks on the way
 * (/usr/lib/go, to its versioned directory) would cost four more calls.
 */
static bool sup_link_leads_in(struct req *q, int dirfd, const char *path, bool follow)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW),
		.resolve = RESOLVE_NO_SYMLINKS,
	};
	int at = AT_FDCWD;
	bool in = false;

	if (path[0] != '/') {
		char p[64];
		if (dirfd == AT_FDCWD)
			snprintf(p, sizeof(p), "/proc/%d/cwd", (int)q->tid);
		else
			snprintf(p, sizeof(p), "/proc/%d/fd/%d", (int)q->tid, dirfd);
		if ((at = open(p, O_PATH | O_CLOEXEC)) < 0)
			return false;
	}
	long fd = -1;
	if (!call_changes(q) && faccessat(at, path, F_OK, follow ? 0 : AT_SYMLINK_NOFOLLOW) == 0)
		; /* the host's */
	else if ((fd = syscall(SYS_openat2, at, path, &how, sizeof(how))) >= 0)
		close((int)fd);
	else if (errno == ELOOP)
		in = lyr_mount_leads_in(&q->s->m, at, path, follow);
	if (at != AT_FDCWD)
		close(at);
	return in;
}

/*
 * Resolves (dirfd, path) for the process: LYR_IN_VIEW or LYR_ON_HOST as
 * lyr_mount_resolve (into *f), or HOST_AS_IS, or -errno.  flags:
 * LYR_RESOLVE_FOLLOW; empty: "" names dirfd itself.
 */
static int sup_resolve(struct req *q, int dirfd, const char *path, unsigned flags,
		       bool empty, struct lyr_found *f)
{
	struct sup *s = q->s;
	struct lyr_at at = { 0 }, *atp = NULL;
	char base[PATH_MAX];
	int r;

	if (!*path && !empty)
		return -ENOENT;
	bool follow = flags & LYR_RESOLVE_FOLLOW;

	if (path[0] == '/') {
		if (!lyr_mount_below(&s->m, path) && !lyr_path_needs_walk(path) &&
		    !lyr_mount_above(&s->m, path) && !sup_link_leads_in(q, dirfd, path, follow))
			return as_is("", path, f);
	} else {
		if ((r = proc_ident(q, dirfd, base, sizeof(base))) < 0)
			return r == -EBADF ? as_is("", path, f) : r; /* the kernel: EBADF */
		if (r == 0 && (!base[0] || !*path ||
			       (!lyr_mount_above(&s->m, base) &&
				!lyr_mount_near(&s->m, base, path) &&
				!sup_link_leads_in(q, dirfd, path, follow))))
			return as_is(base, path, f);
		at.kind = r ? LYR_AT_VIEW : LYR_AT_HOST;
		at.path = base;
		atp = &at;
	}
	struct lyr_mount m = s->m;
	m.tid = q->tid;
	m.pid = strstr(path, "proc/") ? proc_tgid(q) : q->tid;
	m.magic = sup_magic;
	m.magic_ctx = q;
	return lyr_mount_resolve(&m, atp, path, flags | LYR_RESOLVE_HOST_LINKS, f);
}

/* ---- copy-up: the process's fds follow ------------------------------ */

/* The notification this worker thread answers (for sup_copied_up). */
static __thread struct req *cur_req;

/* An fd of the process: its number, flags and offset (from fdinfo). */
struct pfd {
	int fd, flags;
	long long pos;
	int group;               /* same open file description: same group */
};

static bool fd_info(const struct req *q, int fd, struct pfd *p)
{
	char path[64], line[128];
	bool got = false;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)q->tid, fd);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	p->fd = fd;
	p->pos = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "pos: %lld", &p->pos) == 1)
			continue;
		if (sscanf(line, "flags: %o", (unsigned *)&p->flags) == 1)
			got = true;
	}
	fclose(f);
	return got;
}

/*
 * The union copied path up (a lower file, now in the upper) while
 * answering a call of this worker's process: the process's fds still on
 * the lower copy are moved to the upper one, at the same numbers, with
 * their offsets and status flags; fds that shared an open file
 * description share the new one (as the shim does, shim/fd.c).  Other
 * processes' fds stay (see the README's Limitations).
 */
void sup_copied_up(void *ctx, const char *path, uint64_t ino)
{
	struct req *q = cur_req;
	char dir[64];
	struct stat up;
	struct pfd *fds = NULL;
	size_t n = 0, cap = 0;

	(void)ctx;
	(void)ino;
	if (!q)
		return;
	/* What the view's name is stored as now: the upper copy. */
	int ufd = lyr_open(q->s->m.fs, path, O_RDONLY | O_CLOEXEC, 0);
	if (ufd < 0)
		return;
	if (fstat(ufd, &up) < 0) {
		close(ufd);
		return;
	}
	close(ufd);
	/* What the lowers store for it: what the process's fds may be on. */
	struct stat *low = calloc(q->s->nlower + 1, sizeof(*low));
	size_t nlow = 0;
	for (size_t k = 0; low && k < q->s->nlower; k++) {
		int lfd = lyr_open(q->s->lowers[k], path, O_RDONLY | O_CLOEXEC, 0);
		if (lfd >= 0 && fstat(lfd, &low[nlow]) == 0 && S_ISREG(low[nlow].st_mode))
			nlow++;
		if (lfd >= 0)
			close(lfd);
	}
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)q->tid);
	DIR *d = nlow ? opendir(dir) : NULL;
	if (!d) {
		free(low);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		char p[96];
		struct stat st;
		int fd = atoi(e->d_name);
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%d", dir, fd);
		if (stat(p, &st) < 0 || !S_ISREG(st.st_mode) ||
		    (st.st_dev == up.st_dev && st.st_ino == up.st_ino))
			continue;
		bool lower = false;
		for (size_t k = 0; k < nlow && !lower; k++)
			lower = st.st_dev == low[k].st_dev && st.st_ino == low[k].st_ino;
		if (!lower)
			continue;
		if (n == cap) {
			struct pfd *nf = realloc(fds, (cap = cap ? 2 * cap : 8) * sizeof(*fds));
			if (!nf)
				break;
			fds = nf;
		}
		if (fd_info(q, fd, &fds[n]))
			fds[n].group = (int)n, n++;
	}
	closedir(d);
	free(low);
	/* Dups: one open file description (kcmp), one new one. */
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (fds[j].group == (int)j &&
			    syscall(SYS_kcmp, q->tid, q->tid, 0 /* KCMP_FILE */, fds[i].fd,
				    fds[j].fd) == 0) {
				fds[i].group = (int)j;
				break;
			}
	for (size_t i = 0; i < n; i++) {
		if (fds[i].group != (int)i)
			continue;
		int acc = fds[i].flags & (O_ACCMODE | O_APPEND | O_NONBLOCK | O_NOATIME | O_DIRECT);
		int nfd = lyr_open(q->s->m.fs, path, acc | O_CLOEXEC, 0);
		if (nfd < 0)
			continue;
		lseek(nfd, (off_t)fds[i].pos, SEEK_SET);
		for (size_t j = i; j < n; j++) {
			if (fds[j].group != (int)i)
				continue;
			struct seccomp_notif_addfd af = {
				.id = q->n->id,
				.flags = SECCOMP_ADDFD_FLAG_SETFD,
				.srcfd = (__u32)nfd,
				.newfd = (__u32)fds[j].fd,
				.newfd_flags = (fds[j].flags & O_CLOEXEC) ? O_CLOEXEC : 0,
			};
			ioctl(q->lfd, SECCOMP_IOCTL_NOTIF_ADDFD, &af);
		}
		close(nfd);
	}
	free(fds);
}

/* ---- 4. answers ----------------------------------------------------- */

/* A handler's result meaning: let the call run as the process made it. */
#define CONT LONG_MIN

static void answer(struct req *q, long r)
{
	struct seccomp_notif_resp *resp = q->resp;

	if (q->answered)
		return;
	memset(resp, 0, sizeof(*resp));
	resp->id = q->n->id;
	if (r == CONT)
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	else if (r < 0)
		resp->error = (int)r;
	else
		resp->val = r;
	/* ENOENT: the process died or the call was interrupted meanwhile. */
	ioctl(q->lfd, SECCOMP_IOCTL_NOTIF_SEND, resp);
	q->answered = true;
}

/* Installs fd (ours; closed here) in the process as the call's result. */
static long answer_fd(struct req *q, int fd, bool cloexec)
{
	struct seccomp_notif_addfd af = {
		.id = q->n->id,
		.flags = SECCOMP_ADDFD_FLAG_SEND,
		.srcfd = (__u32)fd,
		.newfd_flags = cloexec ? O_CLOEXEC : 0,
	};
	long r = ioctl(q->lfd, SECCOMP_IOCTL_NOTIF_ADDFD, &af);
	long e = -errno;

	close(fd);
	if (r >= 0 || e == -ENOENT) {
		q->answered = true; /* sent, or nobody is waiting any more */
		return r;
	}
	return e;
}

/* Stops thread t, which waits in its notification, with ptrace: 0 with its
 * registers in *regs (the thread seized: detach it), or -errno (detached). */
static int stop_thread(pid_t t, struct user_regs_struct *regs)
{
	int st;

	if (ptrace(PTRACE_SEIZE, t, 0, PTRACE_O_TRACESYSGOOD) < 0)
		return -errno;
	if (ptrace(PTRACE_INTERRUPT, t, 0, 0) < 0)
		goto out_detach;
	for (;;) {
		if (waitpid(t, &st, __WALL) < 0)
			return -errno;
		if (!WIFSTOPPED(st))
			return -ESRCH; /* it died */
		if (st >> 16 == PTRACE_EVENT_STOP)
			break;
		/* A signal arrived first: let it be delivered, stop again. */
		ptrace(PTRACE_CONT, t, 0, WSTOPSIG(st));
		ptrace(PTRACE_INTERRUPT, t, 0, 0);
	}
	if (ptrace(PTRACE_GETREGS, t, 0, regs) < 0)
		goto out_detach;
	/* Interrupted while the supervisor was asked: the kernel restarts
	 * orig_rax with these registers once the thread goes on. */
	if ((long)regs->rax != -ERESTARTSYS && (long)regs->rax != -ERESTARTNOINTR) {
		errno = EAGAIN;
		goto out_detach;
	}
	return 0;
out_detach:;
	int e = errno;
	ptrace(PTRACE_DETACH, t, 0, 0);
	return -e;
}

static void set_call(struct user_regs_struct *regs, long nr, const long args[6])
{
	regs->orig_rax = (unsigned long)nr;
	regs->rdi = (unsigned long)args[0];
	regs->rsi = (unsigned long)args[1];
	regs->rdx = (unsigned long)args[2];
	regs->r10 = (unsigned long)args[3];
	regs->r8 = (unsigned long)args[4];
	regs->r9 = (unsigned long)args[5];
}

/*
 * Makes the thread run another system call instead of the one it is
 * stopped in: nr with args (six; fds it names must be installed first).
 * The thread is stopped with ptrace (the supervisor is an ancestor of
 * every process of the job), its notification given up, its registers
 * changed, and the call restarted.  0 (no answer is due), or -errno
 * (ptrace refused: another tracer, a Yama policy).
 */
static long retarget(struct req *q, long nr, const long args[6])
{
	struct user_regs_struct regs;
	pid_t t = q->tid;
	int r = stop_thread(t, &regs);

	if (r < 0)
		return r;
	set_call(&regs, nr, args);
	if (ptrace(PTRACE_SETREGS, t, 0, &regs) < 0) {
		r = -errno;
		ptrace(PTRACE_DETACH, t, 0, 0);
		return r;
	}
	ptrace(PTRACE_DETACH, t, 0, 0);
	q->answered = true;
	return 0;
}

/*
 * Makes thread t, stopped by stop_thread, make system call nr with args,
 * and stops it at the call's exit: 0 with the thread's registers then in
 * *regs (the result in rax), or -errno (t detached; -ESRCH: it died).
 * first: t is still in the call it was interrupted in, which the kernel
 * then restarts as nr; otherwise t is at a call's exit and goes back to
 * its syscall instruction.  Stops in between are passed, a signal
 * delivered (its handler may make calls of its own: ours is the one made
 * from t's syscall instruction).  A handler that ends the interrupted call
 * (EINTR) would leave ours unmade: after a bound on the stops passed, t is
 * let go (-EINTR).
 */
static int ptrace_call(pid_t t, struct user_regs_struct *regs, long nr, const long args[6],
		       bool first)
{
	struct __ptrace_syscall_info info;
	unsigned long at = regs->rip;
	bool entered = false;
	int st;

	set_call(regs, nr, args);
	if (!first) {
		regs->rax = (unsigned long)nr;
		regs->rip -= 2;
	}
	if (ptrace(PTRACE_SETREGS, t, 0, regs) < 0 || ptrace(PTRACE_SYSCALL, t, 0, 0) < 0)
		goto out_errno;
	for (int stops = 0;; stops++) {
		if (waitpid(t, &st, __WALL) < 0)
			goto out_errno;
		if (!WIFSTOPPED(st))
			return -ESRCH;
		int sig = WSTOPSIG(st), pass = 0;
		if (stops > 256) {
			errno = EINTR;
			goto out_errno;
		}
		if (sig != (SIGTRAP | 0x80)) {
			pass = st >> 16 ? 0 : sig;
		} else if (ptrace(PTRACE_GET_SYSCALL_INFO, t, sizeof(info), &info) <= 0) {
			goto out_errno;
		} else if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
			entered = info.entry.nr == (unsigned long)nr && info.instruction_pointer == at;
		} else if (info.op == PTRACE_SYSCALL_INFO_EXIT && entered) {
			break;
		}
		if (ptrace(PTRACE_SYSCALL, t, 0, pass) < 0)
			goto out_errno;
	}
	if (ptrace(PTRACE_GETREGS, t, 0, regs) < 0)
		goto out_errno;
	return 0;
out_errno:;
	int e = errno;
	ptrace(PTRACE_DETACH, t, 0, 0);
	return -e;
}

/*
 * Like retarget, for a call whose arguments need memory the process does
 * not have: the thread first maps len bytes (an anonymous private
 * mapping), then fill() writes the arguments there (at the address it is
 * given, through the process's memory) and sets the call, which the thread
 * then makes as if it had made it itself: the filter sees it again.
 */
static long retarget_mem(struct req *q, size_t len,
			 int (*fill)(struct req *q, unsigned long addr, void *ctx, long *nr,
				     long args[6]),
			 void *ctx)
{
	struct user_regs_struct regs;
	pid_t t = q->tid;
	int r = stop_thread(t, &regs);
	long nr, args[6] = { 0, (long)len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			     -1, 0 };

	if (r < 0 || (r = ptrace_call(t, &regs, SYS_mmap, args, true)) < 0)
		return r;
	if ((long)regs.rax < 0 && (long)regs.rax > -4096) {
		r = (int)regs.rax;
		goto out_detach;
	}
	if ((r = fill(q, (unsigned long)regs.rax, ctx, &nr, args)) < 0)
		goto out_detach;
	/* Back to the syscall instruction, with the call's number. */
	set_call(&regs, nr, args);
	regs.rax = (unsigned long)nr;
	regs.rip -= 2;
	if (ptrace(PTRACE_SETREGS, t, 0, &regs) < 0)
		goto out_errno;
	ptrace(PTRACE_DETACH, t, 0, 0);
	q->answered = true;
	return 0;
out_errno:
	r = -errno;
out_detach:
	ptrace(PTRACE_DETACH, t, 0, 0);
	return r;
}

/*
 * An O_PATH open of symlink lp of the view (ADDFD hands over no O_PATH
 * fd): the thread opens a stand-in of it itself (standin_link), which is
 * the view's symlink for every later call on the fd.  The thread maps a
 * page, the stand-in's path is written there, it makes the open (marked:
 * the filter lets it through) and unmaps the page; then it goes on as
 * after its own call, with the fd or the open's error.
 */
static long open_link_path(struct req *q, const char *lp, int flags)
{
	char target[PATH_MAX], host[PATH_MAX];
	ssize_t n = lyr_readlink(q->s->m.fs, lp, target, sizeof(target) - 1);
	struct user_regs_struct orig, regs;
	pid_t t = q->tid;
	int r;

	if (n < 0)
		return n;
	target[n] = '\0';
	if ((r = standin_link(q->s, lp, target, host, sizeof(host))) < 0 ||
	    (r = stop_thread(t, &orig)) < 0)
		return r;
	size_t len = (strlen(host) + 4096) & ~(size_t)4095;
	long map[6] = { 0, (long)len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0 };
	regs = orig;
	if ((r = ptrace_call(t, &regs, SYS_mmap, map, true)) < 0)
		return r;
	long addr = (long)regs.rax, res = addr;
	if (addr < 0 && addr > -4096)
		goto out;
	res = wr_mem(q, (unsigned long)addr, host, strlen(host) + 1);
	long open[6] = { AT_FDCWD, addr, O_PATH | O_NOFOLLOW | (flags & O_CLOEXEC), 0, 0,
			 (long)SUP_MARK };
	if (res == 0 && (r = ptrace_call(t, &regs, SYS_openat, open, false)) < 0)
		return r;
	if (res == 0)
		res = (long)regs.rax;
	long unmap[6] = { addr, (long)len };
	if ((r = ptrace_call(t, &regs, SYS_munmap, unmap, false)) < 0)
		return r;
out:
	/* On, as from its own call (every call was made from its syscall
	 * instruction: the same rip), with the open's result. */
	orig.rax = (unsigned long)res;
	if (ptrace(PTRACE_SETREGS, t, 0, &orig) < 0)
		r = -errno;
	ptrace(PTRACE_DETACH, t, 0, 0);
	q->answered = r == 0;
	return r;
}

/* Installs fd (ours; closed here) in the process without answering: its
 * number there, or -errno. */
static int install_fd(struct req *q, int fd, bool cloexec)
{
	struct seccomp_notif_addfd af = {
		.id = q->n->id,
		.srcfd = (__u32)fd,
		.newfd_flags = cloexec ? O_CLOEXEC : 0,
	};
	int r = ioctl(q->lfd, SECCOMP_IOCTL_NOTIF_ADDFD, &af);
	int e = errno;

	close(fd);
	return r < 0 ? -e : r;
}

/* ---- 5. the calls ----------------------------------------------------- */

/*
 * What a call is resolved to.  The same shapes as the shim's: a name
 * the call acts on itself (unlink, rename, the name a call creates) is
 * resolved without following its last component, and trailing slashes
 * are dropped but remembered (dir).
 */
struct target {
	int kind;                /* HOST_AS_IS, LYR_ON_HOST, LYR_IN_VIEW */
	bool dir;                /* the path ended in '/' */
	bool gone;               /* -ENOENT: a single name in a removed directory
				  * (it has a parent; nothing is found in it) */
	int dot;                 /* its last component: 1 ".", 2 "..", else 0 */
	struct lyr_found f;
};

/* Reads path argument i and resolves it (see struct target). */
static int target_of(struct req *q, int dirfd, int i, unsigned flags, bool last, bool empty,
		     struct target *t)
{
	char path[PATH_MAX];
	int r = rd_path(q, (unsigned long)arg(q, i), path);

	if (r < 0)
		return r;
	size_t n = strlen(path);
	t->dir = n > 1 && path[n - 1] == '/';
	if (t->dir && last)
		while (n > 1 && path[n - 1] == '/')
			path[--n] = '\0';
	else if (t->dir)
		flags |= LYR_RESOLVE_FOLLOW;
	const char *b = memrchr(path, '/', n);
	b = b ? b + 1 : path;
	t->dot = !strcmp(b, ".") ? 1 : !strcmp(b, "..") ? 2 : 0;
	if (path[0] != '/' && dirfd != AT_FDCWD && (path[0] || !empty)) {
		/* The kernel's first check: a dirfd that is no directory. */
		char p[64];
		struct stat st;
		snprintf(p, sizeof(p), "/proc/%d/fd/%d", (int)q->tid, dirfd);
		if (stat(p, &st) == 0 && !S_ISDIR(st.st_mode))
			return path[0] ? -ENOTDIR : -ENOENT;
	}
	r = t->kind = sup_resolve(q, dirfd, path, flags, empty, &t->f);
	/* What was read of the process (its memory, its /proc files) was
	 * its own if the notification is still pending after it.  A call
	 * let run as made needs no check: an answer to a notification that
	 * is gone goes nowhere. */
	if (r != HOST_AS_IS && !req_valid(q))
		return -ESRCH;
	t->gone = r == -ENOENT && path[0] != '/' && path[0] && !memchr(path, '/', n);
	if (r == LYR_IN_VIEW && t->dir && !last && t->f.res == 0 && !S_ISDIR(t->f.st.st_mode))
		return -ENOTDIR;
	return r < 0 ? r : 0;
}

/* The view's lstat of an existing target, or -ENOENT. */
static int target_stat(const struct target *t, struct stat *st)
{
	if (t->f.res != 0)
		return -ENOENT;
	*st = t->f.st;
	return 0;
}

/* A directory fd of the view the process may hold: the union's, or a
 * stand-in when the union's stands for every directory of an archive. */
static int dir_fd(struct sup *s, const char *lp, int fd)
{
	char name[PATH_MAX], host[PATH_MAX];

	if (lyr_fd_name(s->m.fs, fd, name, sizeof(name)) != -ENXIO)
		return fd;
	close(fd);
	int r = standin_of(s, lp, host, sizeof(host));
	if (r < 0)
		return r;
	fd = open(host, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* An open of ghost path with flags: its stand-in, or -errno as for an
 * empty directory (EISDIR to write it). */
static int ghost_fd(struct sup *s, const char *path, int flags)
{
	char host[PATH_MAX];
	int r;

	if ((flags & (O_CREAT | O_TRUNC)) ||
	    ((flags & O_ACCMODE) != O_RDONLY && !(flags & O_PATH)))
		return -EISDIR;
	if ((r = standin_of(s, path, host, sizeof(host))) < 0)
		return r;
	int fd = open(host, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static long do_openat(struct req *q, int dirfd, int pi, int flags, mode_t mode)
{
	struct sup *s = q->s;
	struct target t;
	unsigned rf = (flags & O_NOFOLLOW) || ((flags & O_CREAT) && (flags & O_EXCL)) ?
		      0 : LYR_RESOLVE_FOLLOW;
	char path[PATH_MAX];
	int r;

	if ((flags & O_CREAT) && (flags & O_DIRECTORY))
		return -EINVAL; /* before the path is looked at */
	if ((flags & O_CREAT) && rd_path(q, (unsigned long)arg(q, pi), path) == 0 &&
	    strlen(path) > 1 && path[strlen(path) - 1] == '/') {
		/* "name/" to create: EISDIR once its parent is found. */
		r = target_of(q, dirfd, pi, 0, true, false, &t);
		if (r == -ENOENT && t.gone)
			return -EISDIR;
		return r < 0 ? r : t.kind == HOST_AS_IS ? CONT : -EISDIR;
	}
	r = target_of(q, dirfd, pi, rf, false, false, &t);
	if (r < 0)
		return r;
	if (t.kind == HOST_AS_IS)
		return CONT;
	if (flags & O_CREAT)
		mode &= ~proc_umask(q) & 07777;
	if (t.kind == LYR_ON_HOST) {
		int fd = open(t.f.path, flags | O_CLOEXEC, mode);
		if (fd < 0 && errno == ENOENT && sup_ghost(s, t.f.path))
			fd = ghost_fd(s, t.f.path, flags);
		else if (fd < 0)
			fd = -errno;
		return fd < 0 ? fd : answer_fd(q, fd, flags & O_CLOEXEC);
	}
	if ((flags & O_CREAT) && (flags & O_DIRECTORY))
		return -EINVAL;
	if (t.dir) {
		if (flags & O_CREAT)
			return -EISDIR;
		flags |= O_DIRECTORY;
	}
	if (t.f.res != 0 && !(flags & O_CREAT) && (flags & O_TMPFILE) != O_TMPFILE)
		return -ENOENT;
	/* An O_PATH fd cannot be handed over (ADDFD takes none): a symlink's
	 * the thread opens itself; a read-only one stands for any other. */
	if ((flags & O_PATH) && S_ISLNK(t.f.st.st_mode))
		return open_link_path(q, t.f.path, flags);
	if (flags & O_PATH)
		flags = (flags & (O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) | O_RDONLY;
	struct stat st;
	int layer;
	int fd = lyr_union_open_found(s->m.fs, &t.f, flags | O_CLOEXEC, mode, &layer, &st);
	if (fd >= 0 && S_ISDIR(st.st_mode))
		fd = dir_fd(s, t.f.path, fd);
	return fd < 0 ? fd : answer_fd(q, fd, flags & O_CLOEXEC);
}

static long do_openat2(struct req *q)
{
	struct open_how how = { 0 };
	size_t size = (size_t)arg(q, 3);

	if (size < sizeof(how) || rd_mem(q, (unsigned long)arg(q, 2), &how, sizeof(how)) < 0)
		return CONT; /* the kernel's EINVAL or EFAULT */
	if (how.resolve || how.flags > INT_MAX) {
		/* RESOLVE_*: the kernel's own walk, which the view cannot
		 * honour; outside the view it runs, inside ENOSYS makes the
		 * caller fall back to openat. */
		struct target t;
		int r = target_of(q, (int)arg(q, 0), 1, 0, false, false, &t);
		return r < 0 ? r : t.kind == HOST_AS_IS ? CONT : -ENOSYS;
	}
	return do_openat(q, (int)arg(q, 0), 1, (int)how.flags, (mode_t)how.mode);
}

/* The stat a call gives for the process's fd (AT_FDCWD: its cwd), or CONT
 * when the fd is the host's. */
static long fd_stat(struct req *q, int fd, struct stat *st)
{
	char lp[PATH_MAX];
	q->fd_itself = true;
	int r = proc_ident(q, fd, lp, sizeof(lp));

	q->fd_itself = false;
	if (r == 0 && sup_ghost(q->s, lp)) {
		lyr_mount_ghost_stat(&q->s->m, lp, st);
		return 0;
	}
	if (r <= 0)
		return r == 0 || r == -EBADF ? CONT : r;
	if ((r = lyr_lookup(q->s->m.fs, lp, st, NULL)) < 0) {
		/* Its name went: the file's own, with the view's device. */
		int ofd = proc_open(q, fd, O_PATH);
		if (ofd < 0 || fstat(ofd, st) < 0)
			r = -errno;
		else
			r = 0, st->st_dev = lyr_mount_dev(q->s->m.path);
		if (ofd >= 0)
			close(ofd);
	}
	return r;
}

/* The stat for (dirfd, path argument pi, AT_* flags): 0 with *st, CONT, or -errno. */
/* Does path argument pi name the dirfd itself (AT_EMPTY_PATH in flags,
 * and an empty string)? */
static bool names_fd(const struct req *q, int pi, int flags)
{
	char c;

	return (flags & AT_EMPTY_PATH) && rd_mem(q, (unsigned long)arg(q, pi), &c, 1) == 0 && !c;
}

static long path_stat(struct req *q, int dirfd, int pi, int flags, struct stat *st)
{
	struct target t;

	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE))
		return CONT;
	if (names_fd(q, pi, flags))
		return fd_stat(q, dirfd, st);
	int r = target_of(q, dirfd, pi, (flags & AT_SYMLINK_NOFOLLOW) ? 0 : LYR_RESOLVE_FOLLOW,
			  false, false, &t);
	if (r < 0)
		return r;
	if (t.kind == HOST_AS_IS)
		return CONT;
	if (t.kind == LYR_ON_HOST) {
		if (fstatat(AT_FDCWD, t.f.path, st, flags & AT_SYMLINK_NOFOLLOW) == 0)
			return 0;
		if (!sup_ghost(q->s, t.f.path))
			return -errno;
		lyr_mount_ghost_stat(&q->s->m, t.f.path, st);
		return 0;
	}
	return target_stat(&t, st);
}

static long do_stat(struct req *q, int dirfd, int pi, int flags, int bi)
{
	struct stat st;
	long r = path_stat(q, dirfd, pi, flags, &st);

	if (r == 0)
		r = wr_mem(q, (unsigned long)arg(q, bi), &st, sizeof(st));
	return r;
}

static long do_fstat(struct req *q)
{
	struct stat st;
	long r = fd_stat(q, (int)arg(q, 0), &st);

	if (r == 0)
		r = wr_mem(q, (unsigned long)arg(q, 1), &st, sizeof(st));
	return r;
}

static long do_statx(struct req *q)
{
	struct stat st;
	struct statx stx;
	long r = path_stat(q, (int)arg(q, 0), 1, (int)arg(q, 2), &st);

	if (r != 0)
		return r;
	lyr_stat_to_statx(&st, &stx);
	return wr_mem(q, (unsigned long)arg(q, 4), &stx, sizeof(stx));
}

static long do_access(struct req *q, int dirfd, int pi, int mode, int flags)
{
	struct stat st;

	if ((mode & ~(R_OK | W_OK | X_OK)) ||
	    (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)))
		return CONT; /* the kernel's EINVAL */
	long r = path_stat(q, dirfd, pi, flags & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH), &st);
	if (r != 0)
		return r;
	return lyr_may_access(&st, mode, flags & AT_EACCESS);
}

static long do_readlink(struct req *q, int dirfd, int pi, int bi, int si)
{
	struct sup *s = q->s;
	size_t size = (size_t)arg(q, si);
	char buf[PATH_MAX];
	struct target t;
	ssize_t n;
	int r = target_of(q, dirfd, pi, 0, false, true, &t);

	if (r < 0)
		return r;
	if (t.kind == HOST_AS_IS)
		return CONT;
	if ((ssize_t)size <= 0)
		return -EINVAL;
	if (t.kind == LYR_ON_HOST && t.f.res == LYR_RESOLVE_MAGIC) {
		/* /proc/self/fd/N of a file of the view: its view path. */
		if ((r = target_of(q, dirfd, pi, LYR_RESOLVE_FOLLOW, false, true, &t)) < 0)
			return r;
		if (t.kind != LYR_IN_VIEW)
			return CONT;
		n = snprintf(buf, sizeof(buf), "%s%s%s", s->m.path, t.f.path[0] ? "/" : "",
			     t.f.path);
	} else if (t.kind == LYR_ON_HOST) {
		n = readlink(t.f.path, buf, sizeof(buf));
	} else {
		n = lyr_readlink(s->m.fs, t.f.path, buf, sizeof(buf));
	}
	if (n < 0)
		return n == -1 ? -errno : n;
	if ((size_t)n > size)
		n = (ssize_t)size;
	return wr_mem(q, (unsigned long)arg(q, bi), buf, (size_t)n) < 0 ? -EFAULT : n;
}

/* Writes a directory entry (getdents64's with d64, else getdents's) at
 * p: its length, or 0 when it does not fit in room. */
static size_t put_dirent(char *p, size_t room, bool d64, uint64_t ino, uint64_t off,
			 unsigned char type, const char *name)
{
	size_t nl = strlen(name);
	size_t rec = d64 ? (19 + nl + 1 + 7) & ~(size_t)7 : (18 + nl + 2 + 7) & ~(size_t)7;
	uint16_t reclen = (uint16_t)rec;

	if (rec > room)
		return 0;
	memset(p, 0, rec);
	memcpy(p, &ino, 8);
	memcpy(p + 8, &off, 8);
	memcpy(p + 16, &reclen, 2);
	if (d64) {
		p[18] = (char)type;
		memcpy(p + 19, name, nl);
	} else {
		memcpy(p + 18, name, nl);
		p[rec - 1] = (char)type;
	}
	return rec;
}

/*
 * getdents on a host directory above the mount point (or a ghost's
 * stand-in), when the host has nothing at the next name down: the
 * kernel's entries, and at the start of a pass (offset 0) that name too,
 * as a kernel mount shows it (and the shim: a directory with the number
 * lyr_mount_ghost_stat gives it).  Else CONT.
 */
static long host_parent_getdents(struct req *q, int fd, const char *host, bool d64)
{
	const struct lyr_mount *m = &q->s->m;
	size_t hlen = strlen(host), count = (size_t)arg(q, 2);
	char next[PATH_MAX];
	struct stat st;

	while (hlen > 1 && host[hlen - 1] == '/')
		hlen--;
	if (hlen == 1)
		hlen = 0; /* "/" */
	if (strncmp(host, m->path, hlen) || m->path[hlen] != '/')
		return CONT;
	size_t nlen = hlen + 1 + strcspn(m->path + hlen + 1, "/");
	memcpy(next, m->path, nlen);
	next[nlen] = '\0';
	if (!(lstat(next, &st) < 0 && errno == ENOENT))
		return CONT;
	const char *name = next + hlen + 1;
	int own = proc_getfd(q, fd);
	if (own < 0)
		return own;
	if (lseek(own, 0, SEEK_CUR) != 0) {
		close(own);
		return CONT;
	}
	size_t cap = count > 65536 ? 65536 : count;
	char *buf = malloc(cap);
	char mine[300];
	lyr_mount_ghost_stat(m, next, &st);
	size_t rec = put_dirent(mine, sizeof(mine), d64, st.st_ino, 0, DT_DIR, name);
	long n = !buf ? -ENOMEM : rec >= cap ? -EINVAL :
		 syscall(d64 ? SYS_getdents64 : SYS_getdents, own, buf, cap - rec);
	if (n < 0 && n != -ENOMEM && n != -EINVAL)
		n = -errno;
	if (n >= 0) {
		/* After the kernel's, where the next pass would start. */
		uint64_t last = 0;
		for (long at = 0; at < n;) {
			uint16_t len;
			memcpy(&last, buf + at + 8, 8);
			memcpy(&len, buf + at + 16, 2);
			at += len;
		}
		memcpy(mine + 8, &last, 8);
		memcpy(buf + n, mine, rec);
		n += (long)rec;
		if (wr_mem(q, (unsigned long)arg(q, 1), buf, (size_t)n) < 0)
			n = -EFAULT;
	}
	free(buf);
	close(own);
	return n;
}

/* getdents64 (d64) or getdents on a directory of the view: its merged
 * listing, from the open file description's offset (an index into it). */
static long do_getdents(struct req *q, bool d64)
{
	struct sup *s = q->s;
	int fd = (int)arg(q, 0);
	size_t count = (size_t)arg(q, 2);
	char lp[PATH_MAX];
	q->fd_itself = true;
	int r = proc_ident(q, fd, lp, sizeof(lp));

	q->fd_itself = false;
	if (r == 0 && lp[0])
		return host_parent_getdents(q, fd, lp, d64);
	if (r <= 0)
		return r == 0 || r == -EBADF ? CONT : r;
	int own = proc_getfd(q, fd);
	if (own < 0)
		return own;
	struct lyr_dirlist list;
	off_t pos = lseek(own, 0, SEEK_CUR);
	long out = 0;
	struct stat ost;
	if (fstat(own, &ost) == 0 && !S_ISDIR(ost.st_mode)) {
		close(own);
		return -ENOTDIR; /* a file of the view: the kernel's answer */
	}
	if (pos < 0 || (r = lyr_readdir(s->m.fs, lp, &list)) < 0) {
		close(own);
		return pos < 0 ? -errno : r == -ENOENT || r == -ENOTDIR ? 0 : r;
	}
	char *buf = malloc(count > 65536 ? 65536 : count);
	size_t cap = count > 65536 ? 65536 : count, used = 0, i;
	for (i = (size_t)pos; buf && i < list.n; i++) {
		const struct lyr_dirent *e = &list.ents[i];
		size_t rec = put_dirent(buf + used, cap - used, d64, e->ino, i + 1, e->type,
					e->name);
		if (!rec)
			break;
		used += rec;
	}
	if (!buf)
		out = -ENOMEM;
	else if (!used && i < list.n)
		out = -EINVAL; /* not even one entry fits */
	else if (wr_mem(q, (unsigned long)arg(q, 1), buf, used) < 0)
		out = -EFAULT;
	else if (lseek(own, (off_t)i, SEEK_SET) < 0)
		out = -errno;
	else
		out = (long)used;
	free(buf);
	lyr_dirlist_free(&list);
	close(own);
	return out;
}

static long do_mkdir(struct req *q, int dirfd, int pi, mode_t mode)
{
	struct target t;
	int r = target_of(q, dirfd, pi, 0, true, false, &t);

	if (r < 0)
		return r;
	if (t.kind == HOST_AS_IS)
		return CONT;
	mode &= ~proc_umask(q) & 07777;
	if (t.kind == LYR_ON_HOST)
		return mkdir(t.f.path, mode) < 0 ? -errno : 0;
	if (t.dot || !t.f.path[0] || t.f.res == 0)
		return -EEXIST;
	return lyr_mkdir(q->s->m.fs, t.f.path, mode);
}

static long do_unlink(struct req *q, int dirfd, int pi, int flags)
{
	struct sup *s = q->s;
	struct target t;
	struct stat st;
	int r;

	if (flags & ~AT_REMOVEDIR)
		return CONT;
	if ((r = target_of(q, dirfd, pi, 0, true, false, &t)) < 0)
		return r;
	if (t.kind == HOST_AS_IS)
		return CONT;
	if (t.kind == LYR_ON_HOST)
		return unlinkat(AT_FDCWD, t.f.path, flags) < 0 ? -errno : 0;
	if (flags & AT_REMOVEDIR) {
		if (t.dot)
			return t.dot == 1 ? -EINVAL : -ENOTEMPTY;
		if (!t.f.path[0])
			return -EBUSY;
		if ((r = lyr_rmdir(s->m.fs, t.f.path)) == 0)
			standin_removed(s, t.f.path);
		return r;
	}
	if (!t.f.path[0] || t.dot)
		return -EISDIR;
	if (t.dir) {
		if ((r = target_stat(&t, &st)) < 0)
			return r;
		return S_ISDIR(st.st_mode) ? -EISDIR : -ENOTDIR;
	}
	return lyr_unlink(s->m.fs, t.f.path);
}

/*
 * For a name of a call naming two that is not the view's (path argument
 * i, from dirfd): Linux resolves the parents (for link, the whole source)
 * before it compares mounts, so an error there (EBADF, ENOENT, ENOTDIR)
 * comes before EXDEV.  0 or -errno.
 */
static long host_parent_err(struct req *q, const struct target *t, int dirfd, int i)
{
	char path[PATH_MAX], parent[PATH_MAX + 2];
	struct stat st;
	int r, base = AT_FDCWD;

	if (t->kind == LYR_ON_HOST) {
		snprintf(path, sizeof(path), "%s", t->f.path);
	} else if ((r = rd_path(q, (unsigned long)arg(q, i), path)) < 0) {
		return r;
	}
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	while (n > 0 && path[n - 1] != '/')
		n--;
	if (n)
		snprintf(parent, sizeof(parent), "%.*s", (int)n, path);
	else
		strcpy(parent, ".");
	if (path[0] != '/' && (base = proc_open(q, dirfd, O_PATH)) < 0)
		return dirfd == AT_FDCWD ? base : -EBADF;
	r = fstatat(base, parent, &st, 0) < 0 ? -errno : S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	if (base >= 0)
		close(base);
	return r;
}

/* Both names the host's as the process gave them: CONT; one in the view
 * and one not: EXDEV; else 1. */
static long two_names(const struct target *a, const struct target *b)
{
	if (a->kind == HOST_AS_IS && b->kind == HOST_AS_IS)
		return CONT;
	if ((a->kind == LYR_IN_VIEW) != (b->kind == LYR_IN_VIEW))
		return -EXDEV;
	return 1;
}

static long do_rename(struct req *q, int odirfd, int oi, int ndirfd, int ni, unsigned flags)
{
	struct sup *s = q->s;
	struct target *t = malloc(2 * sizeof(*t));
	long r;

	if (!t)
		return -ENOMEM;
	/* Linux's order: both parents, then the mounts, then the names.  A
	 * single name in a removed directory has a parent; nothing is found
	 * in it later (ENOENT). */
	bool dead = false;
	for (int i = 0; i < 2; i++) {
		int dfd = i ? ndirfd : odirfd, pi = i ? ni : oi;
		if ((r = target_of(q, dfd, pi, 0, true, false, &t[i])) < 0) {
			if (r != -ENOENT || !t[i].gone)
				goto out;
			t[i].kind = LYR_IN_VIEW;
			t[i].f.path[0] = '\0';
			dead = true;
		} else if (t[i].kind != LYR_IN_VIEW &&
			   (r = host_parent_err(q, &t[i], dfd, pi)) < 0) {
			goto out;
		}
	}
	if ((r = two_names(&t[0], &t[1])) != 1)
		goto out;
	if (dead) {
		r = t[0].dot || t[1].dot ? -EBUSY : -ENOENT;
		goto out;
	}
	if (t[0].kind == LYR_ON_HOST || t[1].kind == LYR_ON_HOST) {
		r = syscall(SYS_renameat2, AT_FDCWD, t[0].f.path, AT_FDCWD, t[1].f.path, flags) < 0 ?
		    -errno : 0;
		goto out;
	}
	if (t[0].dot || t[1].dot || !t[0].f.path[0] || !t[1].f.path[0]) {
		r = -EBUSY;
		goto out;
	}
	if (t[0].f.res != 0) {
		r = -ENOENT;
		goto out;
	}
	if (t[0].dir || t[1].dir) {
		/* A trailing slash, in Linux's order: after RENAME_NOREPLACE
		 * or RENAME_EXCHANGE has looked at the target. */
		bool there = t[1].f.res == 0;
		if ((flags & RENAME_NOREPLACE) && there) {
			r = -EEXIST;
			goto out;
		}
		if (flags & RENAME_EXCHANGE) {
			if (!there || (t[1].dir && !S_ISDIR(t[1].f.st.st_mode))) {
				r = there ? -ENOTDIR : -ENOENT;
				goto out;
			}
		}
		if (!S_ISDIR(t[0].f.st.st_mode) &&
		    (t[0].dir || (t[1].dir && !(flags & RENAME_EXCHANGE)))) {
			r = -ENOTDIR;
			goto out;
		}
	}
	struct stat low[8], low2[8];
	size_t nlow = S_ISDIR(t[0].f.st.st_mode) ? lower_dirs(s, t[0].f.path, low, 8) : 0;
	size_t nlow2 = (flags & RENAME_EXCHANGE) && t[1].f.res == 0 &&
		       S_ISDIR(t[1].f.st.st_mode) ? lower_dirs(s, t[1].f.path, low2, 8) : 0;
	r = lyr_rename(s->m.fs, t[0].f.path, t[1].f.path, flags);
	if (r == 0 && strcmp(t[0].f.path, t[1].f.path)) {
		standin_renamed(s, t[0].f.path, t[1].f.path, flags & RENAME_EXCHANGE);
		moved_renamed(s, t[0].f.path, t[1].f.path, flags & RENAME_EXCHANGE, low, nlow,
			      low2, nlow2);
	}
out:
	free(t);
	return r;
}

static long do_link(struct req *q, int odirfd, int oi, int ndirfd, int ni, int flags)
{
	struct sup *s = q->s;
	struct target *t = malloc(2 * sizeof(*t));
	long r;

	if (!t)
		return -ENOMEM;
	if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) {
		r = CONT;
		goto out;
	}
	/* Linux's order: the whole source, the new parent and name, then the
	 * mounts. */
	if ((r = target_of(q, odirfd, oi, (flags & AT_SYMLINK_FOLLOW) ? LYR_RESOLVE_FOLLOW : 0,
			   false, flags & AT_EMPTY_PATH, &t[0])) < 0)
		goto out;
	if (t[0].kind == LYR_IN_VIEW && t[0].f.res != 0) {
		r = -ENOENT;
		goto out;
	}
	if (t[0].kind == LYR_ON_HOST) {
		struct stat st;
		if (fstatat(AT_FDCWD, t[0].f.path, &st,
			    (flags & AT_SYMLINK_FOLLOW) ? 0 : AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
			goto out;
		}
	}
	if (t[0].kind == HOST_AS_IS) {
		/* the source as the process names it, from its dirfd */
		char path[PATH_MAX];
		struct stat st;
		int base = AT_FDCWD;
		if ((r = rd_path(q, (unsigned long)arg(q, oi), path)) < 0)
			goto out;
		if (path[0] != '/' && (base = proc_open(q, odirfd, O_PATH)) < 0) {
			r = odirfd == AT_FDCWD ? base : -EBADF;
			goto out;
		}
		r = fstatat(base, path, &st, (path[0] ? 0 : AT_EMPTY_PATH) |
			    ((flags & AT_SYMLINK_FOLLOW) ? 0 : AT_SYMLINK_NOFOLLOW)) < 0 ? -errno : 0;
		if (base >= 0)
			close(base);
		if (r < 0)
			goto out;
	}
	if ((r = target_of(q, ndirfd, ni, 0, true, false, &t[1])) < 0 ||
	    (t[1].kind != LYR_IN_VIEW && (r = host_parent_err(q, &t[1], ndirfd, ni)) < 0) ||
	    (r = two_names(&t[0], &t[1])) != 1)
		goto out;
	if (t[0].kind == LYR_ON_HOST || t[1].kind == LYR_ON_HOST) {
		r = linkat(AT_FDCWD, t[0].f.path, AT_FDCWD, t[1].f.path, 0) < 0 ? -errno : 0;
		goto out;
	}
	if (t[1].dir)
		r = t[1].f.res == 0 ? -EEXIST : -ENOENT;
	else
		r = lyr_link(s->m.fs, t[0].f.path, t[1].f.path);
out:
	free(t);
	return r;
}

static long do_symlink(struct req *q, int ti, int ndirfd, int ni)
{
	char target[PATH_MAX];
	struct target t;
	int r;

	if ((r = rd_path(q, (unsigned long)arg(q, ti), target)) < 0 ||
	    (r = target_of(q, ndirfd, ni, 0, true, false, &t)) < 0)
		return r;
	if (t.kind == HOST_AS_IS)
		return CONT;
	if (t.kind == LYR_ON_HOST)
		return symlink(target, t.f.path) < 0 ? -errno : 0;
	if (!*target)
		return -ENOENT;
	if (t.dir)
		return t.f.res == 0 ? -EEXIST : -ENOENT;
	return lyr_symlink(q->s->m.fs, target, t.f.path);
}

static long do_mknod(struct req *q, int dirfd, int pi, mode_t mode, dev_t dev)
{
	struct target t;
	int r = target_of(q, dirfd, pi, 0, true, false, &t);

	if (r < 0)
		return r;
	if (t.kind == HOST_AS_IS)
		return CONT;
	mode = (mode & S_IFMT) | (mode & ~proc_umask(q) & 07777);
	if (t.kind == LYR_ON_HOST)
		return mknod(t.f.path, mode, dev) < 0 ? -errno : 0;
	if (t.dir)
		return t.f.res == 0 ? -EEXIST : -ENOENT;
	return lyr_mknod(q->s->m.fs, t.f.path, mode, dev);
}

/*
 * What a call on an existing entry acts on: (dirfd, path argument pi),
 * or with pi < 0 the fd dirfd itself.  Into lp (PATH_MAX): 1 with a layer
 * path; 2 with a host path reached through the view (the call is then
 * made here, on it); or CONT, or -errno.
 */
static long attr_target(struct req *q, int dirfd, int pi, bool follow, char *lp)
{
	struct target t;
	int r;

	if (pi < 0) {
		q->fd_itself = true;
		r = proc_ident(q, dirfd, lp, PATH_MAX);
		q->fd_itself = false;
		return r <= 0 ? (r == 0 || r == -EBADF ? CONT : r) : 1;
	}
	if ((r = target_of(q, dirfd, pi, follow ? LYR_RESOLVE_FOLLOW : 0, false, false, &t)) < 0)
		return r;
	if (t.kind == HOST_AS_IS)
		return CONT;
	strcpy(lp, t.f.path);
	if (t.kind == LYR_ON_HOST)
		return 2;
	return t.f.res == 0 ? 1 : -ENOENT;
}

/* A host call's result as a handler's. */
static long hostret(long r)
{
	return r < 0 ? -errno : r;
}

static long do_chmod(struct req *q, int dirfd, int pi, mode_t mode, bool follow)
{
	char lp[PATH_MAX];
	long r = attr_target(q, dirfd, pi, follow, lp);

	if (r == 2)
		return hostret(fchmodat(AT_FDCWD, lp, mode, follow ? 0 : AT_SYMLINK_NOFOLLOW));
	return r == 1 ? lyr_chmod(q->s->m.fs, lp, mode & 07777) : r;
}

static long do_chown(struct req *q, int dirfd, int pi, uid_t uid, gid_t gid, bool follow)
{
	char lp[PATH_MAX];
	long r = attr_target(q, dirfd, pi, follow, lp);

	if (r == 2)
		return hostret(fchownat(AT_FDCWD, lp, uid, gid, follow ? 0 : AT_SYMLINK_NOFOLLOW));
	return r == 1 ? lyr_chown(q->s->m.fs, lp, uid, gid) : r;
}

/* utimensat and the older forms, whose times arrive as ts (NULL: now). */
static long do_utimens(struct req *q, int dirfd, int pi, const struct timespec *ts,
		       bool follow)
{
	char lp[PATH_MAX];
	long r = attr_target(q, dirfd, pi, follow, lp);

	if (r == 2)
		return hostret(utimensat(AT_FDCWD, lp, ts, follow ? 0 : AT_SYMLINK_NOFOLLOW));
	return r == 1 ? lyr_utimens(q->s->m.fs, lp, ts) : r;
}

static long do_utimensat(struct req *q)
{
	struct timespec ts[2];
	int flags = (int)arg(q, 3);

	if (arg(q, 2) && rd_mem(q, (unsigned long)arg(q, 2), ts, sizeof(ts)) < 0)
		return -EFAULT;
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return CONT;
	return do_utimens(q, (int)arg(q, 0), arg(q, 1) && !names_fd(q, 1, flags) ? 1 : -1,
			  arg(q, 2) ? ts : NULL, !(flags & AT_SYMLINK_NOFOLLOW));
}

/* utimes and futimesat: struct timeval[2]; utime: struct utimbuf. */
static long do_utimes(struct req *q, int dirfd, int pi, int ti, bool utimbuf)
{
	struct timespec ts[2];
	unsigned long p = (unsigned long)arg(q, ti);

	if (p && utimbuf) {
		struct utimbuf u;
		if (rd_mem(q, p, &u, sizeof(u)) < 0)
			return -EFAULT;
		ts[0] = (struct timespec){ u.actime, 0 };
		ts[1] = (struct timespec){ u.modtime, 0 };
	} else if (p) {
		struct timeval tv[2];
		if (rd_mem(q, p, tv, sizeof(tv)) < 0)
			return -EFAULT;
		for (int i = 0; i < 2; i++) {
			if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000)
				return -EINVAL;
			ts[i] = (struct timespec){ tv[i].tv_sec, tv[i].tv_usec * 1000 };
		}
	}
	return do_utimens(q, dirfd, pi, p ? ts : NULL, true);
}

static long do_truncate(struct req *q)
{
	char lp[PATH_MAX];
	off_t len = (off_t)arg(q, 1);
	long r = attr_target(q, AT_FDCWD, 0, true, lp);

	if (r == 2)
		return hostret(truncate(lp, len));
	return r == 1 ? lyr_truncate(q->s->m.fs, lp, len) : r;
}

/* The xattr calls on a path (following it or not) or, with pi < 0, on
 * the fd in argument 0; their other arguments are the same either way. */
enum { XA_GET, XA_LIST, XA_SET, XA_REMOVE };

static long do_xattr(struct req *q, int op, int pi, bool follow)
{
	struct lyr_layer *fs = q->s->m.fs;
	char lp[PATH_MAX], name[XATTR_NAME_MAX + 1];
	long r = attr_target(q, pi < 0 ? (int)arg(q, 0) : AT_FDCWD, pi, follow, lp);

	if (r == 2)
		return CONT; /* a host file reached through the view: rare, as made */
	if (r != 1)
		return r;
	if (op != XA_LIST && (r = rd_str(q, (unsigned long)arg(q, 1), name, sizeof(name))) < 0)
		return r == -ENAMETOOLONG ? -ERANGE : r;
	if (op == XA_REMOVE)
		return lyr_removexattr(fs, lp, name);
	size_t size = (size_t)arg(q, op == XA_LIST ? 2 : 3);
	if (size > XATTR_SIZE_MAX)
		size = XATTR_SIZE_MAX;
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return -ENOMEM;
	unsigned long addr = (unsigned long)arg(q, op == XA_LIST ? 1 : 2);
	if (op == XA_SET) {
		r = rd_mem(q, addr, buf, size);
		if (r == 0)
			r = lyr_setxattr(fs, lp, name, buf, size, (int)arg(q, 4));
	} else {
		r = op == XA_GET ? lyr_getxattr(fs, lp, name, size ? buf : NULL, size) :
				   lyr_listxattr(fs, lp, size ? buf : NULL, size);

		if (r > 0 && size && wr_mem(q, addr, buf, (size_t)r) < 0)
			r = -EFAULT;
	}
	free(buf);
	return r;
}

static long do_statfs(struct req *q, int pi)
{
	char lp[PATH_MAX] = "";
	struct statvfs sv;
	struct statfs sf;
	long r = attr_target(q, pi < 0 ? (int)arg(q, 0) : AT_FDCWD, pi, true, lp);

	if ((r == 2 || (pi < 0 && r == CONT)) && sup_ghost(q->s, lp)) {
		/* Of its nearest ancestor's file system. */
		do
			*strrchr(lp, '/') = '\0';
		while (lp[0] && statfs(lp, &sf) < 0 && errno == ENOENT);
		if (!lp[0] && statfs("/", &sf) < 0)
			return -errno;
		return wr_mem(q, (unsigned long)arg(q, 1), &sf, sizeof(sf));
	}
	if (r == 2)
		return CONT;
	if (r != 1)
		return r;
	if ((r = lyr_statfs(q->s->m.fs, &sv)) < 0)
		return r;
	lyr_statvfs_to_statfs(&sv, lyr_mount_dev(q->s->m.path), &sf);
	return wr_mem(q, (unsigned long)arg(q, 1), &sf, sizeof(sf));
}

/*
 * A host directory that stands for the view's directory f, opened: one
 * the layers know it by (the upper's, a directory lower's), or a stand-in.
 */
static int token_dir(struct sup *s, struct lyr_found *f)
{
	int layer;
	int fd = lyr_union_open_found(s->m.fs, f, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, &layer,
				      NULL);

	return fd < 0 ? fd : dir_fd(s, f->path, fd);
}

/* chdir into the view: the thread's working directory becomes a host
 * directory that stands for the view's (fchdir of it, in the thread). */
static long do_chdir(struct req *q)
{
	struct sup *s = q->s;
	struct target t;
	int r = target_of(q, AT_FDCWD, 0, LYR_RESOLVE_FOLLOW, false, false, &t);
	int fd;

	if (r < 0)
		return r;
	if (t.kind == HOST_AS_IS)
		return CONT;
	if (t.kind == LYR_ON_HOST) {
		fd = open(t.f.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && sup_ghost(s, t.f.path))
			fd = ghost_fd(s, t.f.path, O_RDONLY);
		else if (fd < 0)
			fd = -errno;
		if (fd < 0)
			return fd;
	} else {
		if (t.f.res != 0)
			return -ENOENT;
		if (!S_ISDIR(t.f.st.st_mode))
			return -ENOTDIR;
		if ((r = lyr_may_access(&t.f.st, X_OK, true)) < 0)
			return r;
		if ((fd = token_dir(s, &t.f)) < 0)
			return fd;
	}
	int k = install_fd(q, fd, true);
	if (k < 0)
		return k;
	return retarget(q, SYS_fchdir, (const long[6]){ k });
}

static long do_getcwd(struct req *q)
{
	struct sup *s = q->s;
	char lp[PATH_MAX], view[PATH_MAX];
	size_t size = (size_t)arg(q, 1);
	int r = proc_ident(q, AT_FDCWD, lp, sizeof(lp));
	int n;

	if (r == 0 && sup_ghost(s, lp))
		n = snprintf(view, sizeof(view), "%s", lp);
	else if (r <= 0)
		return r == 0 || r == -EBADF ? CONT : r;
	else {
		/* A directory of a lower overlaid in place, which the view
		 * removed: the process stands in a removed directory. */
		struct stat st;
		if (lyr_lookup(s->m.fs, lp, &st, NULL) < 0 || !S_ISDIR(st.st_mode))
			return -ENOENT;
		n = snprintf(view, sizeof(view), "%s%s%s", s->m.path, lp[0] ? "/" : "", lp);
	}
	if (n < 0 || (size_t)n >= sizeof(view))
		return -ENAMETOOLONG;
	if ((size_t)n + 1 > size)
		return -ERANGE;
	return wr_mem(q, (unsigned long)arg(q, 0), view, (size_t)n + 1) < 0 ? -EFAULT : n + 1;
}

/* How much of a "#!" line the kernel reads (BINPRM_BUF_SIZE). */
#define SCRIPT_HEAD 256

/* A script's exec, as the thread will make it (see exec_script). */
struct script_exec {
	char *strings;           /* interp, NUL, then arg, NUL when there is one */
	size_t nstrings;
	bool has_arg;
	long script;             /* the script's path, in the process */
	unsigned long *rest;     /* argv[1..], in the process */
	size_t nrest;
	long envp;
};

/* retarget_mem's fill for a script: [interp, arg?, script, argv[1..], NULL]
 * after the strings, and execve of interp with them. */
static int script_fill(struct req *q, unsigned long addr, void *ctx, long *nr, long args[6])
{
	struct script_exec *x = ctx;
	size_t n = 0, nv = x->nrest + 4;
	unsigned long *v = malloc(nv * sizeof(*v));
	unsigned long vaddr = (addr + x->nstrings + 7) & ~7UL;
	int r;

	if (!v)
		return -ENOMEM;
	v[n++] = addr;
	if (x->has_arg)
		v[n++] = addr + strlen(x->strings) + 1;
	v[n++] = (unsigned long)x->script;
	memcpy(v + n, x->rest, x->nrest * sizeof(*v));
	n += x->nrest;
	v[n++] = 0;
	r = wr_mem(q, addr, x->strings, x->nstrings);
	if (r == 0)
		r = wr_mem(q, vaddr, v, n * sizeof(*v));
	free(v);
	*nr = SYS_execve;
	args[0] = (long)addr;
	args[1] = (long)vaddr;
	args[2] = x->envp;
	args[3] = args[4] = args[5] = 0;
	return r;
}

/*
 * execve of a "#!" script stored in the view (head: its first n bytes):
 * the thread execs its interpreter with the arguments the kernel would
 * give, [interp, arg?, the path as given, argv[1..]], which are written in
 * memory the thread maps for them (retarget_mem).  The interpreter's own
 * exec comes to the supervisor in turn (it may be in the view, or a
 * script).
 */
static long exec_script(struct req *q, int pi, char *head, size_t n)
{
	struct script_exec x = { .script = arg(q, pi), .envp = arg(q, pi + 2) };
	unsigned long argv = (unsigned long)arg(q, pi + 1), chunk[256];
	size_t cap = 0;
	long r;

	head[n] = '\0';
	char *nl = strchr(head + 2, '\n');
	if (!nl && n == SCRIPT_HEAD)
		return -ENOEXEC; /* a longer line than the kernel reads */
	if (nl)
		*nl = '\0';
	char *interp = head + 2 + strspn(head + 2, " \t");
	char *end = interp + strcspn(interp, " \t");
	char *a = end + strspn(end, " \t");
	size_t la = strlen(a);
	while (la && (a[la - 1] == ' ' || a[la - 1] == '\t'))
		a[--la] = '\0';
	*end = '\0';
	if (!*interp)
		return -ENOEXEC;
	x.has_arg = la > 0;
	x.nstrings = strlen(interp) + 1 + (x.has_arg ? la + 1 : 0);
	if (!(x.strings = malloc(x.nstrings)))
		return -ENOMEM;
	memcpy(x.strings, interp, strlen(interp) + 1);
	if (x.has_arg)
		memcpy(x.strings + strlen(interp) + 1, a, la + 1);
	/* argv[1..], read a chunk at a time up to its NULL (none when argv
	 * has no argv[0]). */
	unsigned long first = 0;
	if (argv && rd_mem(q, argv, &first, sizeof(first)) < 0) {
		r = -EFAULT;
		goto out;
	}
	for (size_t i = 1; first; ) {
		size_t got = sizeof(chunk) / sizeof(chunk[0]);
		if (rd_mem(q, argv + i * sizeof(long), chunk, sizeof(chunk)) < 0) {
			/* near the end of its mapping: one at a time */
			if (rd_mem(q, argv + i * sizeof(long), chunk, sizeof(long)) < 0) {
				r = -EFAULT;
				goto out;
			}
			got = 1;
		}
		size_t k = 0;
		while (k < got && chunk[k])
			k++;
		if (x.nrest + k > cap) {
			cap = (x.nrest + k) * 2;
			unsigned long *nv = cap > (1u << 21) ? NULL :
					    realloc(x.rest, cap * sizeof(*nv));
			if (!nv) {
				r = cap > (1u << 21) ? -E2BIG : -ENOMEM;
				goto out;
			}
			x.rest = nv;
		}
		memcpy(x.rest + x.nrest, chunk, k * sizeof(*chunk));
		x.nrest += k;
		i += k;
		if (k < got)
			break;
	}
	size_t len = ((x.nstrings + 7) & ~(size_t)7) + (x.nrest + 4) * sizeof(long);
	r = retarget_mem(q, (len + 4095) & ~(size_t)4095, script_fill, &x);
out:
	free(x.strings);
	free(x.rest);
	return r;
}

/*
 * execve (at < 0) or execveat of a program stored in the view: the thread
 * runs execveat of the union's fd on it instead.  A "#!" script's fd stays
 * open across the exec, for its interpreter to read (as /dev/fd/N).
 */
static long do_exec(struct req *q, int at)
{
	struct sup *s = q->s;
	int dirfd = at < 0 ? AT_FDCWD : (int)arg(q, 0), pi = at < 0 ? 0 : 1;
	int flags = at < 0 ? 0 : (int)arg(q, 4);
	char path[PATH_MAX];
	unsigned char head[SCRIPT_HEAD + 1];
	struct target t;
	int r, fd;

	if (flags & AT_EMPTY_PATH)
		return CONT; /* an fd: the union's file itself, or the host's */
	if ((r = rd_path(q, (unsigned long)arg(q, pi), path)) < 0 ||
	    (r = target_of(q, dirfd, pi, (flags & AT_SYMLINK_NOFOLLOW) ? 0 : LYR_RESOLVE_FOLLOW,
			   false, false, &t)) < 0)
		return r;
	if (t.kind == HOST_AS_IS)
		return CONT;
	if (t.kind == LYR_ON_HOST) {
		if ((fd = open(t.f.path, O_RDONLY | O_CLOEXEC)) < 0)
			return -errno;
	} else {
		if (t.f.res != 0)
			return -ENOENT;
		if (S_ISLNK(t.f.st.st_mode))
			return -ELOOP;
		if (!S_ISREG(t.f.st.st_mode))
			return -EACCES;
		if ((r = lyr_may_access(&t.f.st, X_OK, true)) < 0)
			return r;
		if ((fd = lyr_union_open_found(s->m.fs, &t.f, O_RDONLY | O_CLOEXEC, 0, NULL,
					       NULL)) < 0)
			return fd;
	}
	ssize_t nh = pread(fd, head, sizeof(head) - 1, 0);
	bool script = nh >= 2 && head[0] == '#' && head[1] == '!';
	if (script && (dirfd == AT_FDCWD || path[0] == '/')) {
		/* As the kernel runs it: its interpreter, on the path the
		 * process gave (which the interpreter reads through the view). */
		close(fd);
		return exec_script(q, pi, (char *)head, (size_t)nh);
	}
	/* A script relative to a dirfd: the kernel would name it
	 * /dev/fd/N/path; here it is /dev/fd/K, its fd left open for it. */
	int k = install_fd(q, fd, !script);
	if (k < 0)
		return k;
	/* "": the NUL that ends the path the process gave. */
	long empty = arg(q, pi) + (long)strlen(path);
	long argv = arg(q, pi + 1), envp = arg(q, pi + 2);
	return retarget(q, SYS_execveat, (const long[6]){ k, empty, argv, envp, AT_EMPTY_PATH });
}

static long do_inotify(struct req *q)
{
	struct sup *s = q->s;
	uint32_t mask = (uint32_t)arg(q, 2);
	struct target t;
	char proc[64];
	int r = target_of(q, AT_FDCWD, 1, (mask & IN_DONT_FOLLOW) ? 0 : LYR_RESOLVE_FOLLOW,
			  false, false, &t);

	if (r < 0 || t.kind == HOST_AS_IS)
		return r < 0 ? r : CONT;
	if (t.kind == LYR_IN_VIEW && t.f.res != 0)
		return -ENOENT;
	/* A watch on what the view shows now, added to the process's own
	 * inotify instance. */
	int fd = t.kind == LYR_ON_HOST ? open(t.f.path, O_PATH | O_CLOEXEC) :
		 lyr_union_open_found(s->m.fs, &t.f, O_PATH | O_CLOEXEC, 0, NULL, NULL);
	/* (an O_PATH fd of ours: the watch is added here, not handed over) */
	if (fd < 0)
		return t.kind == LYR_ON_HOST ? -errno : fd;
	int in = proc_getfd(q, (int)arg(q, 0));
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	long w = in < 0 ? in : hostret(inotify_add_watch(in, proc, mask & ~IN_DONT_FOLLOW));
	if (in >= 0)
		close(in);
	close(fd);
	return w;
}

/* The call's answer: a value, -errno, or CONT (answered here or not). */
static long dispatch(struct req *q)
{
	const long *a = (const long *)q->n->data.args;

	switch (q->n->data.nr) {
	case SYS_open: return do_openat(q, AT_FDCWD, 0, (int)a[1], (mode_t)a[2]);
	case SYS_creat: return do_openat(q, AT_FDCWD, 0, O_CREAT | O_WRONLY | O_TRUNC,
					(mode_t)a[1]);
	case SYS_openat: return do_openat(q, (int)a[0], 1, (int)a[2], (mode_t)a[3]);
	case SYS_openat2: return do_openat2(q);
	case SYS_stat: return do_stat(q, AT_FDCWD, 0, 0, 1);
	case SYS_lstat: return do_stat(q, AT_FDCWD, 0, AT_SYMLINK_NOFOLLOW, 1);
	case SYS_newfstatat: return do_stat(q, (int)a[0], 1, (int)a[3], 2);
	case SYS_fstat: return do_fstat(q);
	case SYS_statx: return do_statx(q);
	case SYS_access: return do_access(q, AT_FDCWD, 0, (int)a[1], 0);
	case SYS_faccessat: return do_access(q, (int)a[0], 1, (int)a[2], 0);
	case SYS_faccessat2: return do_access(q, (int)a[0], 1, (int)a[2], (int)a[3]);
	case SYS_readlink: return do_readlink(q, AT_FDCWD, 0, 1, 2);
	case SYS_readlinkat: return do_readlink(q, (int)a[0], 1, 2, 3);
	case SYS_getdents64: return do_getdents(q, true);
	case SYS_getdents: return do_getdents(q, false);
	case SYS_mkdir: return do_mkdir(q, AT_FDCWD, 0, (mode_t)a[1]);
	case SYS_mkdirat: return do_mkdir(q, (int)a[0], 1, (mode_t)a[2]);
	case SYS_rmdir: return do_unlink(q, AT_FDCWD, 0, AT_REMOVEDIR);
	case SYS_unlink: return do_unlink(q, AT_FDCWD, 0, 0);
	case SYS_unlinkat: return do_unlink(q, (int)a[0], 1, (int)a[2]);
	case SYS_rename: return do_rename(q, AT_FDCWD, 0, AT_FDCWD, 1, 0);
	case SYS_renameat: return do_rename(q, (int)a[0], 1, (int)a[2], 3, 0);
	case SYS_renameat2: return do_rename(q, (int)a[0], 1, (int)a[2], 3, (unsigned)a[4]);
	case SYS_link: return do_link(q, AT_FDCWD, 0, AT_FDCWD, 1, 0);
	case SYS_linkat: return do_link(q, (int)a[0], 1, (int)a[2], 3, (int)a[4]);
	case SYS_symlink: return do_symlink(q, 0, AT_FDCWD, 1);
	case SYS_symlinkat: return do_symlink(q, 0, (int)a[1], 2);
	case SYS_mknod: return do_mknod(q, AT_FDCWD, 0, (mode_t)a[1], (dev_t)a[2]);
	case SYS_mknodat: return do_mknod(q, (int)a[0], 1, (mode_t)a[2], (dev_t)a[3]);
	case SYS_chmod: return do_chmod(q, AT_FDCWD, 0, (mode_t)a[1], true);
	case SYS_fchmod: return do_chmod(q, (int)a[0], -1, (mode_t)a[1], true);
	case SYS_fchmodat: return do_chmod(q, (int)a[0], 1, (mode_t)a[2], true);
	case SYS_fchmodat2: return do_chmod(q, (int)a[0], names_fd(q, 1, (int)a[3]) ? -1 : 1,
					   (mode_t)a[2], !((int)a[3] & AT_SYMLINK_NOFOLLOW));
	case SYS_chown: return do_chown(q, AT_FDCWD, 0, (uid_t)a[1], (gid_t)a[2], true);
	case SYS_lchown: return do_chown(q, AT_FDCWD, 0, (uid_t)a[1], (gid_t)a[2], false);
	case SYS_fchown: return do_chown(q, (int)a[0], -1, (uid_t)a[1], (gid_t)a[2], true);
	case SYS_fchownat: return do_chown(q, (int)a[0], names_fd(q, 1, (int)a[4]) ? -1 : 1,
					  (uid_t)a[2], (gid_t)a[3], !((int)a[4] & AT_SYMLINK_NOFOLLOW));
	case SYS_utime: return do_utimes(q, AT_FDCWD, 0, 1, true);
	case SYS_utimes: return do_utimes(q, AT_FDCWD, 0, 1, false);
	case SYS_futimesat: return do_utimes(q, (int)a[0], 1, 2, false);
	case SYS_utimensat: return do_utimensat(q);
	case SYS_truncate: return do_truncate(q);
	case SYS_getxattr: return do_xattr(q, XA_GET, 0, true);
	case SYS_lgetxattr: return do_xattr(q, XA_GET, 0, false);
	case SYS_fgetxattr: return do_xattr(q, XA_GET, -1, true);
	case SYS_setxattr: return do_xattr(q, XA_SET, 0, true);
	case SYS_lsetxattr: return do_xattr(q, XA_SET, 0, false);
	case SYS_fsetxattr: return do_xattr(q, XA_SET, -1, true);
	case SYS_listxattr: return do_xattr(q, XA_LIST, 0, true);
	case SYS_llistxattr: return do_xattr(q, XA_LIST, 0, false);
	case SYS_flistxattr: return do_xattr(q, XA_LIST, -1, true);
	case SYS_removexattr: return do_xattr(q, XA_REMOVE, 0, true);
	case SYS_lremovexattr: return do_xattr(q, XA_REMOVE, 0, false);
	case SYS_fremovexattr: return do_xattr(q, XA_REMOVE, -1, true);
	case SYS_statfs: return do_statfs(q, 0);
	case SYS_fstatfs: return do_statfs(q, -1);
	case SYS_chdir: return do_chdir(q);
	case SYS_getcwd: return do_getcwd(q);
	case SYS_execve: return do_exec(q, -1);
	case SYS_execveat: return do_exec(q, 0);
	case SYS_inotify_add_watch: return do_inotify(q);
	case SYS_name_to_handle_at: {
		struct target t;
		int r = target_of(q, (int)a[0], 1, ((int)a[4] & AT_SYMLINK_FOLLOW) ?
				  LYR_RESOLVE_FOLLOW : 0, false, (int)a[4] & AT_EMPTY_PATH, &t);
		return r < 0 ? r : t.kind == LYR_IN_VIEW ? -EOPNOTSUPP : CONT;
	}
	}
	return CONT;
}

/* ---- 6. listeners and threads ------------------------------------------ */

static int watch_add(struct sup *s, struct watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, w->fd, &ev) < 0 ? -errno : 0;
}

static void watch_rearm(struct sup *s, struct watch *w)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.ptr = w };

	epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, w->fd, &ev);
}

/* A listener that served its last process: forgotten. */
static void watch_drop(struct sup *s, struct watch *w)
{
	epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, w->fd, NULL);
	pthread_mutex_lock(&s->lock);
	w->prev->next = w->next;
	w->next->prev = w->prev;
	pthread_mutex_unlock(&s->lock);
	close(w->fd);
	free(w);
}

/*
 * A thread that answers notifications: its buffers, and the umask 0 of
 * its own.  What the supervisor creates for a process has that process's
 * umask, applied by the supervisor itself: this thread's umask is 0, in
 * an fs context of its own (the job's processes, forked from this one,
 * keep the user's umask).  Should that fail, the user's umask is applied
 * twice: the same result unless the process changed its own.
 */
static int answerer_start(struct seccomp_notif **n, struct seccomp_notif_resp **resp)
{
	if (unshare(CLONE_FS) == 0)
		umask(0);
	return seccomp_notify_alloc(n, resp);
}

/* Answers notification n, taken from listener lfd. */
static void serve_one(struct sup *s, int lfd, struct seccomp_notif *n,
		      struct seccomp_notif_resp *resp)
{
	struct req q = { .s = s, .lfd = lfd, .n = n, .resp = resp, .tid = (pid_t)n->pid };

	cur_req = &q;
	long r = dispatch(&q);
	cur_req = NULL;
	answer(&q, r);
}

/* One notification of listener w: taken, the listener handed back to
 * the other threads, then answered. */
static void serve(struct sup *s, struct watch *w, struct seccomp_notif *n,
		  struct seccomp_notif_resp *resp)
{
	memset(n, 0, sizeof(*n));
	int r = ioctl(w->fd, SECCOMP_IOCTL_NOTIF_RECV, n);

	watch_rearm(s, w);
	if (r == 0)
		serve_one(s, w->fd, n, resp);
	/* else given up by an interrupted process */
}

/*
 * A thread of listener w's own (see admit): takes its notifications as
 * they come, until every process the listener served is gone (Linux 6.6
 * then fails the wait with ENOENT, the listener hung up) or sup_stop
 * interrupts it.  The last one out closes the listener.
 */
static void *listener_thread(void *arg)
{
	struct watch *w = arg;
	struct sup *s = w->s;
	struct seccomp_notif *n = NULL;
	struct seccomp_notif_resp *resp = NULL;
	sigset_t wake;

	sigemptyset(&wake);
	sigaddset(&wake, SUP_WAKE_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
	if (answerer_start(&n, &resp) == 0)
		while (!__atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE)) {
			memset(n, 0, sizeof(*n));
			if (ioctl(w->fd, SECCOMP_IOCTL_NOTIF_RECV, n) == 0) {
				serve_one(s, w->fd, n, resp);
				continue;
			}
			struct pollfd pf = { .fd = w->fd, .events = POLLIN };
			if (errno != EINTR && errno != ENOENT)
				break;
			if (errno == ENOENT && poll(&pf, 1, 0) == 1 && (pf.revents & POLLHUP))
				break;
		}
	if (n)
		seccomp_notify_free(n, resp);
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < w->nthr; i++)
		if (pthread_equal(w->thr[i], pthread_self()))
			w->thr[i] = w->thr[--w->nthr];
	bool last = w->nthr == 0;
	if (last) {
		w->prev->next = w->next;
		w->next->prev = w->prev;
	}
	pthread_cond_broadcast(&s->ended);
	pthread_mutex_unlock(&s->lock);
	if (last) {
		close(w->fd);
		free(w->thr);
		free(w);
	}
	return NULL;
}

static void wake_nothing(int sig)
{
	(void)sig;
}

/*
 * Gives listener w threads of its own (detached; listener_thread): 0, or
 * -errno with none started.  Called with s->lock held.
 */
static int listener_threads(struct sup *s, struct watch *w)
{
	pthread_attr_t at;
	int r;

	if (!(w->thr = calloc(s->nthreads, sizeof(*w->thr))))
		return -ENOMEM;
	w->s = s;
	if ((r = pthread_attr_init(&at)))
		return -r;
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	for (size_t i = 0; i < s->nthreads; i++, w->nthr++)
		if ((r = pthread_create(&w->thr[w->nthr], &at, listener_thread, w)))
			break;
	pthread_attr_destroy(&at);
	if (w->nthr)
		return 0;
	free(w->thr);
	w->thr = NULL;
	return -r;
}

/* A process about to run a program that makes its own system calls: its
 * listener joins the others ("+" says so, "-" and an errno not). */
static void admit(struct sup *s, int conn)
{
	char msg[16], cb[CMSG_SPACE(sizeof(int))], reply[16] = "+";
	struct iovec iov = { msg, sizeof(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb,
			     .msg_controllen = sizeof(cb) };
	ssize_t n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
	struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
	int lfd = -1, r = 0;

	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return;
	memcpy(&lfd, CMSG_DATA(cm), sizeof(lfd));
	/*
	 * A notification and its answer hand the CPU over, as a call and
	 * its return would (Linux 6.6): the listener then gets threads of
	 * its own that wait in the kernel's queue itself, since a wake-up
	 * through epoll would be an ordinary one.  Older kernels refuse;
	 * the shared threads serve the listener through epoll.
	 */
	bool sync = ioctl(lfd, SECCOMP_IOCTL_NOTIF_SET_FLAGS,
			  SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) == 0;
	struct watch *w = calloc(1, sizeof(*w));
	if (!w) {
		close(lfd);
		r = -ENOMEM;
	} else {
		*w = (struct watch){ .fd = lfd, .kind = W_LISTENER };
		pthread_mutex_lock(&s->lock);
		w->next = s->listeners.next;
		w->prev = &s->listeners;
		w->next->prev = w;
		s->listeners.next = w;
		if (sync)
			sync = listener_threads(s, w) == 0;
		pthread_mutex_unlock(&s->lock);
		if (!sync && (r = watch_add(s, w, EPOLLIN | EPOLLONESHOT)) < 0)
			watch_drop(s, w);
	}
	if (r < 0)
		snprintf(reply, sizeof(reply), "-%d", -r);
	if (send(conn, reply, strlen(reply), MSG_NOSIGNAL) < 0)
		return;
}

static void *worker(void *arg)
{
	struct sup *s = arg;
	struct seccomp_notif *n;
	struct seccomp_notif_resp *resp;

	if (answerer_start(&n, &resp) < 0)
		return NULL;
	for (;;) {
		struct epoll_event ev;
		int k = epoll_wait(s->epoll_fd, &ev, 1, -1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			break;
		struct watch *w = ev.data.ptr;
		if (w->kind == W_STOP)
			break;
		if (w->kind == W_SOCKET) {
			int conn = accept4(w->fd, NULL, NULL, SOCK_CLOEXEC);
			watch_rearm(s, w);
			if (conn >= 0) {
				admit(s, conn);
				close(conn);
			}
		} else if (ev.events & EPOLLIN) {
			serve(s, w, n, resp);
		} else {
			watch_drop(s, w); /* every process it served is gone */
		}
	}
	seccomp_notify_free(n, resp);
	return NULL;
}

const char *sup_socket(const struct sup *s)
{
	return s->sock;
}

int sup_start(const struct sup_config *cfg, struct sup **out)
{
	struct sup *s = calloc(1, sizeof(*s));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r = -ENOMEM;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->sock_fd = s->epoll_fd = s->stop_fd = -1;
	s->listeners.next = s->listeners.prev = &s->listeners;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->ended, NULL);
	/* Interrupts a listener's own thread (sup_stop); no SA_RESTART. */
	struct sigaction wake = { .sa_handler = wake_nothing };
	sigaction(SUP_WAKE_SIGNAL, &wake, NULL);
	if (!(s->mount = strdup(cfg->mount)) || !(s->dir = strdup(cfg->dir)) ||
	    asprintf(&s->sock, "%s/sock", cfg->dir) < 0 ||
	    !(s->storage = calloc(cfg->nstorage + 1, sizeof(char *))))
		goto out_free;
	for (size_t i = 0; i < cfg->nstorage; i++)
		if (!(s->storage[s->nstorage++] = strdup(cfg->storage[i])))
			goto out_free;
	if (cfg->nlower && !(s->lowers = malloc(cfg->nlower * sizeof(*s->lowers))))
		goto out_free;
	for (size_t i = 0; i < cfg->nlower; i++)
		s->lowers[s->nlower++] = cfg->lowers[i];
	s->m = (struct lyr_mount){ .fs = cfg->fs, .path = s->mount, .len = strlen(s->mount) };
	if (strlen(s->sock) >= sizeof(sa.sun_path)) {
		r = -ENAMETOOLONG;
		goto out_free;
	}
	strcpy(sa.sun_path, s->sock);
	unlink(s->sock);
	/* The process's umask stays the user's (the job gets it); the
	 * workers' is 0 (see worker). */
	s->umask = umask(022);
	umask(s->umask);
	if ((s->sock_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(s->sock_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(s->sock, 0600) < 0 || listen(s->sock_fd, 64) < 0 ||
	    (s->epoll_fd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (s->stop_fd = eventfd(0, EFD_CLOEXEC)) < 0) {
		r = -errno;
		goto out_free;
	}
	s->stop = (struct watch){ s->stop_fd, W_STOP, NULL, NULL };
	s->socket = (struct watch){ s->sock_fd, W_SOCKET, NULL, NULL };
	if ((r = watch_add(s, &s->stop, EPOLLIN)) < 0 ||
	    (r = watch_add(s, &s->socket, EPOLLIN | EPOLLONESHOT)) < 0)
		goto out_free;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	s->nthreads = ncpu < 2 ? 2 : ncpu > 8 ? 8 : (size_t)ncpu;
	if (!(s->threads = calloc(s->nthreads, sizeof(pthread_t))))
		goto out_free;
	for (size_t i = 0; i < s->nthreads; i++)
		if ((r = -pthread_create(&s->threads[i], NULL, worker, s)) < 0) {
			s->nthreads = i;
			sup_stop(s);
			return r;
		}
	*out = s;
	return 0;
out_free:
	s->nthreads = 0;
	sup_stop(s);
	return r;
}

mode_t sup_umask(const struct sup *s)
{
	return s->umask;
}

void sup_stop(struct sup *s)
{
	struct standin *d, *tmp;

	if (!s)
		return;
	if (s->stop_fd >= 0 && eventfd_write(s->stop_fd, 1) == 0)
		for (size_t i = 0; i < s->nthreads; i++)
			pthread_join(s->threads[i], NULL);
	/* Listeners' own threads: normally gone with the job; any still
	 * waiting (a process outlived the job) is interrupted, again until it
	 * has seen s->stopping. */
	__atomic_store_n(&s->stopping, true, __ATOMIC_RELEASE);
	pthread_mutex_lock(&s->lock);
	for (;;) {
		bool any = false;
		for (struct watch *w = s->listeners.next; w != &s->listeners; w = w->next)
			for (size_t i = 0; i < w->nthr; i++, any = true)
				pthread_kill(w->thr[i], SUP_WAKE_SIGNAL);
		if (!any)
			break;
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_nsec += 10 * 1000 * 1000;
		if (t.tv_nsec >= 1000000000) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&s->ended, &s->lock, &t);
	}
	pthread_mutex_unlock(&s->lock);
	while (s->listeners.next != &s->listeners)
		watch_drop(s, s->listeners.next);
	if (s->m.fs)
		lyr_destroy(s->m.fs);
	struct moved *mv, *mtmp;
	HASH_ITER(hh, s->moved, mv, mtmp) {
		HASH_DEL(s->moved, mv);
		free(mv->view);
		free(mv);
	}
	HASH_ITER(hh, s->by_host, d, tmp) {
		HASH_DELETE(hh, s->by_host, d);
		if (d->link) {
			struct standin *l;
			HASH_FIND(hl, s->links, d->view, strlen(d->view), l);
			if (l == d)
				HASH_DELETE(hl, s->links, d);
			unlink(d->host);
		} else {
			HASH_DELETE(hv, s->by_view, d);
			rmdir(d->host);
		}
		free(d->view);
		free(d->host);
		free(d);
	}
	if (s->sock_fd >= 0) {
		close(s->sock_fd);
		unlink(s->sock);
	}
	if (s->epoll_fd >= 0)
		close(s->epoll_fd);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	for (size_t i = 0; i < s->nstorage; i++)
		free(s->storage[i]);
	free(s->storage);
	free(s->lowers);
	free(s->threads);
	free(s->sock);
	free(s->dir);
	free(s->mount);
	pthread_cond_destroy(&s->ended);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
