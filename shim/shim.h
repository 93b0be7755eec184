/* SPDX-License-Identifier: MIT */
/*
 * shim.h - private interfaces of liblayerfs.so, the interposer.
 *
 * The shim decides whether a call is virtual (a path under the mount point,
 * a relative path while the working directory is in the view, or a virtual
 * fd), translates it into a core call on the mount's union layer, and keeps
 * the fd table and the virtual working directory.  Everything else goes to
 * the real libc function untouched.
 *
 * Divisions, one file each:
 *   init.c    configuration from the environment, lazy start-up, tracing
 *   fd.c      the fd table: which fds and DIR streams are virtual
 *   vpath.c   path classification and resolution
 *   wrap_*.c  the wrappers, grouped as in syscalls.def
 */
#ifndef SHIM_H
#define SHIM_H

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

#include "layerfs.h"

#define SHIM_EXPORT __attribute__((visibility("default")))

/* Keeps GCC from deleting a NULL test on an argument glibc marks nonnull. */
#define SHIM_OPAQUE(p) __asm__("" : "+r"(p))

/* ---- init.c --------------------------------------------------------- */

struct shim_mount {
	char path[PATH_MAX];     /* absolute, no trailing '/' */
	size_t len;
	struct lyr_mount view;   /* path and len, for the core's predicates */
	struct lyr_layer *fs;    /* the union; NULL until started or when broken */
	dev_t dev;               /* st_dev of every entry in the view */
	int broken;              /* errno every call under the mount fails with */
};

struct shim_state {
	int configured;          /* the environment has been read */
	struct shim_mount mnt;   /* len == 0: no mount, everything passes through */
	int trace_fd;            /* -1: no tracing */
	mode_t umask;
	char self[PATH_MAX];      /* this library's absolute path */
	/* What children get back when a program hands exec a reduced environment. */
	char *env_keep[16];      /* "NAME=value" strings */
	int nenv_keep;
	/* Programs that make their own system calls (wrap_exec.c): the
	 * launcher's supervisor and the helper that enters it, or NULL; or
	 * the user's leave to run them unsupervised. */
	const char *sup_sock, *helper;
	bool unsupervised;
};

extern struct shim_state shim;

void shim_configure(void);
/* Is e ("NAME=value") a variable the shim sets for children itself? */
bool shim_env_owned(const char *e);
/* Is this process under the launcher's supervisor (a program that makes
 * its own system calls, or a child of one)?  One marked system call. */
bool shim_supervised(void);
/* The mount's union, started on first use; NULL with *err set when
 * broken.  Callers go through shim_enter. */
struct lyr_layer *shim_fs(int *err);
/* A trace line (only when LAYERFS_TRACE is set) for a call the shim
 * answered without the core (those that use it: shim_leave). */
void shim_trace(const char *op, const char *path, long result);

static inline void shim_ensure_configured(void)
{
	if (__builtin_expect(!__atomic_load_n(&shim.configured, __ATOMIC_ACQUIRE), 0))
		shim_configure();
}

/*
 * The doorway into the core, the one way in.  shim_enter gives the
 * mount's union, or NULL with *err set when it cannot be had; from then
 * until shim_leave this thread is inside the core, where every fd and
 * every path is the kernel's (the core's own libc calls pass straight
 * through the wrappers).  shim_leave writes a trace line for op (NULL:
 * none), gives errno back as shim_enter found it (the core's inner
 * failures never show) and returns r.  Pairs may nest.
 */
struct lyr_layer *shim_enter(int *err);
long shim_leave(long r, const char *op, const char *path);
/* shim_enter for core code that needs no union (the host's paths only,
 * or the union being made): the layers are not opened for it. */
void shim_enter_host(void);

/* Thread-local depth: > 0 while the thread is inside the core. */
extern __thread int shim_depth;

/*
 * A virtual call's result in libc's convention: r (>= 0) with errno left
 * as the caller had it, or -1 with errno set from r (-errno).
 */
static inline long shim_ret(long r)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

/* 0 or -errno from a real call that returned -1 on failure. */
#define HOSTRET(call) ((call) < 0 ? -errno : 0)

/* ---- fd.c ----------------------------------------------------------- */

#define VF_DIR      0x1u  /* a directory of the view */
#define VF_LOWER    0x2u  /* still backed by a lower layer (may be copied up) */
#define VF_GONE     0x4u  /* a directory removed since: nothing resolves in it */
#define VF_META     0x8u  /* st was changed through the fd after its name went */

/* One open file description of the view, shared by dups. */
struct vfile {
	int refs;                /* fds referring to it */
	unsigned flags;          /* VF_* */
	int oflags;              /* open(2) flags */
	char *path;              /* layer path at open time, moved by renames
				    in this process (shim_fd_renamed) */
	char **retired;          /* earlier paths: freed with the vfile, so a
				    reader holding a reference never sees one
				    freed */
	size_t nretired;
	unsigned gen;            /* the last shim_fd_renamed that saw it */
	uint64_t ino;            /* view inode */
	struct stat st;          /* view metadata at open time */
	pthread_mutex_t lock;    /* guards the listing below */
	struct lyr_dirlist list; /* directory snapshot for getdents */
	bool listed;
	size_t pos;              /* next listing index */
	int lockfd;              /* what its locks are taken on (lyr_lock_fd);
				    -1 until the first lock */
};

/* vf's flags: fd.c changes VF_GONE, VF_META and VF_LOWER under its lock,
 * so read them through this (VF_DIR never changes). */
static inline unsigned shim_vf_flags(const struct vfile *vf)
{
	return __atomic_load_n(&vf->flags, __ATOMIC_ACQUIRE);
}

/* vf's current path (renames move it: read it once, through this). */
static inline const char *shim_vf_path(struct vfile *vf)
{
	return __atomic_load_n(&vf->path, __ATOMIC_ACQUIRE);
}

#define SHIM_FD_BITS 65536
extern unsigned long shim_fd_bits[SHIM_FD_BITS / (8 * sizeof(unsigned long))];
extern int shim_fd_high;     /* virtual fds >= SHIM_FD_BITS exist */
/* Host directory fds above the mount point: a relative path may lead
 * from them into the view. */
extern unsigned long shim_fd_above_bits[SHIM_FD_BITS / (8 * sizeof(unsigned long))];
extern int shim_fd_above_high;

/* Inside the core (shim_depth) every fd is the kernel's, as every path. */
static inline bool shim_fd_is_virtual(int fd)
{
	if ((unsigned)fd < SHIM_FD_BITS) {
		unsigned long w = __atomic_load_n(&shim_fd_bits[fd / (8 * sizeof(unsigned long))],
						  __ATOMIC_RELAXED);
		return ((w >> (fd % (8 * sizeof(unsigned long)))) & 1) && !shim_depth;
	}
	return fd >= 0 && __atomic_load_n(&shim_fd_high, __ATOMIC_RELAXED) && !shim_depth;
}

/* Is fd virtual, or a host directory above the mount point? */
static inline bool shim_fd_needs_look(int fd)
{
	if ((unsigned)fd < SHIM_FD_BITS) {
		size_t i = fd / (8 * sizeof(unsigned long));
		unsigned long w = __atomic_load_n(&shim_fd_bits[i], __ATOMIC_RELAXED) |
				  __atomic_load_n(&shim_fd_above_bits[i], __ATOMIC_RELAXED);
		return (w >> (fd % (8 * sizeof(unsigned long)))) & 1;
	}
	return fd >= 0 && (__atomic_load_n(&shim_fd_high, __ATOMIC_RELAXED) ||
			   __atomic_load_n(&shim_fd_above_high, __ATOMIC_RELAXED));
}

/* Records fd, just opened on the host directory path, when path is above
 * the mount point (path: absolute, as resolved; NULL: fd's own). */
void shim_fd_opened_host(int fd, const char *path);

/* shim_fd_opened_host for an fd the kernel opened by (dirfd, path): only
 * a canonical absolute path can be above the mount point (a relative one
 * that leads there took the resolution). */
static inline void shim_fd_host_opened(int fd, const char *path)
{
	if (fd >= 0 && path[0] == '/' && (path[1] == shim.mnt.path[1] || !path[1]) &&
	    shim.mnt.len)
		shim_fd_opened_host(fd, path);
}
/* Is fd a host directory above the mount point?  Its path into buf. */
bool shim_fd_above_path(int fd, char *buf, size_t size);
/* An open of the ghost path (shim_is_ghost) with flags: a new fd that
 * stands for it (its nearest ancestor the host has, listed as the ghost),
 * or -errno as for an empty directory (EISDIR to write it). */
int shim_fd_open_ghost(const char *path, int flags);
/* Is fd a ghost's?  Its path into buf. */
bool shim_fd_ghost(int fd, char *buf, size_t size);
/*
 * A mount point is always in its parent's listing, and so is each of its
 * ancestors: when fd is a host directory (or a ghost) above the mount
 * point, the host has nothing at the next name down, and fd's listing
 * (which just ended) has not shown it yet, *ent is its record (valid
 * until fd is closed) and 1 is returned; else 0, or -ENOMEM.
 */
int shim_fd_mount_entry(int fd, struct dirent64 **ent);
/* fd's listing starts again (rewinddir, lseek to 0). */
void shim_fd_mount_rewound(int fd);

/* New vfile for a fd the core just opened; registers fd.  layer: the
 * union layer it came from (lyr_union_open_at), or -1 to look it up. */
int shim_fd_add(int fd, const char *path, const struct stat *st, int oflags,
		int layer);
/* Takes a reference on fd's vfile (NULL when fd is not virtual). */
struct vfile *shim_fd_get(int fd);
void shim_vfile_put(struct vfile *vf);
/* fd2 now shares fd's open file description (dup family). */
void shim_fd_dup(int fd, int fd2);
/* Forgets fd (close family); fd may not be virtual. */
void shim_fd_forget(int fd);
/* After a rename in the view: fds open at or below from now name the
 * same entries below to (and, with exchange, the other way round). */
void shim_fd_renamed(const char *from, const char *to, bool exchange);
/* After rmdir (or a rename over it) of the directory path, whose last
 * metadata was st (NULL: unknown): fds open on it resolve nothing any
 * more (VF_GONE) and fstat shows st with no links, as the kernel does. */
void shim_fd_removed(const char *path, const struct stat *st);
/* vf->st, read under the table's lock. */
void shim_fd_meta(struct vfile *vf, struct stat *st);
/* A metadata change through vf, an fd with no name left whose real fd may
 * be a lower layer's: fn changes vf->st (0 or -errno), which fstat then
 * reports (VF_META); no layer is written.  Returns fn's result. */
int shim_fd_meta_apply(struct vfile *vf, int (*fn)(struct stat *st, const void *arg),
		       const void *arg);
/* The fd vf's locks are taken on (opened on first use, kept with vf), or
 * -errno (-ENOSYS: the view has no upper layer to keep lock files). */
int shim_vf_lockfd(struct vfile *vf);
/* Re-points every fd open on a lower copy of path at its upper copy. */
void shim_fd_copied_up(void *ctx, const char *path, uint64_t ino);
/*
 * fd's file has no name left in the view and is still a lower layer's (a
 * lower file never copied up): before a reopen writes it, its bytes move
 * into an anonymous file of the process (a memfd) that every fd of it then
 * shares, as after a copy-up.  The lower is never written.  0 or -errno.
 */
int shim_fd_nameless_copy(int fd);
void shim_fd_atfork_prepare(void);
void shim_fd_atfork_parent(void);
void shim_fd_atfork_child(void);

/* ---- memory.c: the caller's pointers ---------------------------------- */

/*
 * Where Linux answers a bad pointer with EFAULT, so does the shim, before
 * it reads or writes through one.  The test is per 4 KiB page (a finer
 * grain than any real page size): a page is probed with a system call that
 * copies from or to it and fails with EFAULT where the kernel would (no
 * signal), and remembered per thread (SHIM_MEM_SLOTS pages readable, as
 * many writable, direct-mapped by page number), so that a program's
 * buffers pay one compare: find's names, spread over its heap, probe one
 * page in a hundred calls.
 * A page the program unmaps after the shim saw it readable is still
 * believed for as long as it stays among the remembered ones.
 */
#define SHIM_PAGE      4096u
#define SHIM_MEM_SLOTS 64
/* page number + 1 (0: empty), in slot page number % SHIM_MEM_SLOTS */
extern __thread uintptr_t shim_rd_pages[SHIM_MEM_SLOTS];
extern __thread uintptr_t shim_wr_pages[SHIM_MEM_SLOTS];

bool shim_str_probe(const char *s);
bool shim_mem_probe(const void *p, size_t n, bool write);

static inline bool shim_page_in(const uintptr_t *set, uintptr_t a)
{
	uintptr_t k = a / SHIM_PAGE + 1;

	return set[(k - 1) % SHIM_MEM_SLOTS] == k;
}

/* Is s a NUL-terminated string the kernel could read (as getname does)?
 * Longer than PATH_MAX without a NUL counts as not: the kernel's own
 * answer (ENAMETOOLONG or EFAULT) is then had by passing the call on. */
static inline bool shim_str_ok(const char *s)
{
	uintptr_t a = (uintptr_t)s;

	SHIM_OPAQUE(s);
	if (__builtin_expect(shim_page_in(shim_rd_pages, a), 1) &&
	    memchr(s, 0, SHIM_PAGE - a % SHIM_PAGE))
		return true;
	return shim_str_probe(s);
}

/* shim_str_ok that also gives the string's length. */
static inline bool shim_str_len(const char *s, size_t *n)
{
	uintptr_t a = (uintptr_t)s;
	const char *end;

	SHIM_OPAQUE(s);
	if (__builtin_expect(shim_page_in(shim_rd_pages, a), 1) &&
	    (end = memchr(s, 0, SHIM_PAGE - a % SHIM_PAGE))) {
		*n = (size_t)(end - s);
		return true;
	}
	if (!shim_str_probe(s))
		return false;
	*n = strlen(s);
	return true;
}

/* n bytes at p readable (write false) or writable (write true)? */
static inline bool shim_mem_ok(const void *p, size_t n, bool write)
{
	uintptr_t a = (uintptr_t)p;

	SHIM_OPAQUE(p);
	if (n == 0)
		return true;
	if (__builtin_expect(a % SHIM_PAGE + n <= SHIM_PAGE &&
			     shim_page_in(write ? shim_wr_pages : shim_rd_pages, a), 1))
		return true;
	return shim_mem_probe(p, n, write);
}

/* A path argument as the kernel's getname takes it: 0, -EFAULT (NULL or
 * not readable up to its NUL) or -ENAMETOOLONG (no NUL in PATH_MAX). */
int shim_path_err(const char *s);

/* Copies n bytes of a result to the caller's buffer dst: 0, or -EFAULT
 * (nothing written) when the kernel could not write there. */
static inline int shim_put(void *dst, const void *src, size_t n)
{
	if (!shim_mem_ok(dst, n, true))
		return -EFAULT;
	memcpy(dst, src, n);
	return 0;
}

/* ---- vpath.c -------------------------------------------------------- */

/* A path handed to a wrapper, after classification. */
struct vpath {
	int kind;                /* VP_HOST or VP_VIRT */
	bool dir_only;           /* the caller's path ended in '/' */
	/* VP_VIRT: the entry's view stat (f.st, lstat of f.path), found by
	 * the same resolution, so wrappers need no second lookup; when
	 * have_st is false, st_err says why (-ENOENT: only the last
	 * component is missing) or is 0 when nothing is known (look it up). */
	bool have_st;
	int st_err;
	/* f.path: VP_VIRT: layer path; VP_HOST: host path.  With have_st or
	 * st_err -ENOENT, f is what the resolution found (lyr_found), for
	 * the open that follows. */
	struct lyr_found f;
};

#define VP_HOST 0
#define VP_VIRT 1
#define VP_OWN  2 /* (SR_OWN only) the path is this process's fd vp->f.fd, a
		     file with no name left, through its magic link */

/* Resolution flags for shim_resolve. */
#define SR_FOLLOW   0x1u     /* follow a symlink in the last component */
#define SR_EMPTY    0x2u     /* AT_EMPTY_PATH: "" means dirfd itself */
#define SR_OWN      0x4u     /* the caller takes VP_OWN; without it, a
				nameless file is -ENOENT */

extern int shim_cwd_virtual; /* nonzero: relative paths need a look */
#define CWD_VIRT  1
#define CWD_ABOVE 2
#define CWD_GHOST 3 /* a directory above the mount the host lacks (see
		       shim_is_ghost): the host cwd stayed where it was */

/*
 * May the absolute path p name something in the view, or need the walk to
 * know?  The kernel reads "//" and "." components as nothing, so p, read
 * so, is compared with the mount point's path one component at a time:
 * from the first that differs on, only a ".." can bring it back; a path
 * that ends above the mount point is the host's (a ghost is looked at when
 * the host fails it, shim_missed), unless it was spelled oddly.  /proc
 * and /dev (magic links) are lyr_path_needs_walk's.  Most host paths
 * differ at their first component: a few compares and one strstr.
 */
static inline bool shim_abs_may_reach(const char *p0)
{
	const char *p = p0, *m = shim.mnt.path;
	bool odd = false;

	for (bool first = true;; first = false) {
		const char *from = p;
		while (*p == '/' || (*p == '.' && (p[1] == '/' || !p[1])))
			p++;
		odd |= p - from > 1;
		if (*m == '/')
			m++;
		if (!*m)
			return true;	/* the mount point or below */
		if (!*p)
			return odd;	/* above it */
		const char *e = p;
		while (*e && *e != '/')
			e++;
		size_t n = (size_t)(e - p), i = 0;
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return true;
		while (i < n && p[i] == m[i])
			i++;
		if (i < n || (m[n] != '/' && m[n] != '\0')) {
			if (first && ((n == 4 && p[0] == 'p' && !memcmp(p, "proc", 4)) ||
				      (n == 3 && p[0] == 'd' && !memcmp(p, "dev", 3))))
				return lyr_path_needs_walk(p0);
			return lyr_path_has_dotdot(e);
		}
		p = e;
		m += n;
	}
}

/*
 * Cheap test: may (dirfd, path) name something in the view?  false means
 * the call passes straight through.  An absolute path: one comparison
 * with the mount point and a look at its components; a relative one: one
 * bit test of the working directory's or dirfd's state, and for a host
 * one, a look for "..".
 */
static inline bool shim_maybe_virtual(int dirfd, const char *path)
{
	size_t n;

	SHIM_OPAQUE(path);
	/* A pointer the kernel cannot read: the real call's EFAULT. */
	if (!path || !shim_str_len(path, &n))
		return false;
	shim_ensure_configured();
	/* The core's own calls (a host lower overlaid in place is under the
	 * mount point) go to the host. */
	if (!shim.mnt.len || shim_depth)
		return false;
	if (path[0] == '/')
		return shim_abs_may_reach(path);
	if (dirfd == AT_FDCWD ? __atomic_load_n(&shim_cwd_virtual, __ATOMIC_RELAXED) != 0 :
	    shim_fd_needs_look(dirfd))
		return true;
	/* Most relative paths are one name (find's, ls's): ".." or not. */
	if (!memchr(path, '/', n))
		return n == 2 && path[0] == '.' && path[1] == '.';
	return lyr_path_has_dotdot(path);
}

/*
 * Is the absolute host path a ghost: a directory above the mount point
 * that the host lacks?  A kernel mount point always has its parents; the
 * view shows them as empty directories owned by root, holding the next
 * one down, which can be entered, listed and stat'ed.  errno is kept.
 */
bool shim_is_ghost(const char *path);

/* Would the kernel's own resolution of (dirfd, path) pass a host symlink
 * (the last component's too, with follow) and get to the mount point or
 * near it?  One openat2; three more calls when there is a symlink. */
bool shim_host_has_link(int dirfd, const char *path, bool follow);

/*
 * shim_maybe_virtual for a call that changes what path names: also true
 * when a host symlink is on the way, which may lead into the view (an
 * overlay in place must not be written through one).  Reads pay nothing
 * for it; a change, one openat2.
 */
static inline bool shim_maybe_changes(int dirfd, const char *path, bool follow)
{
	return shim_maybe_virtual(dirfd, path) ||
	       (path && shim.mnt.len && !shim_depth && shim_host_has_link(dirfd, path, follow));
}

/*
 * After a read passed through and failed: did it fail because a host
 * symlink on the way leads where the host has nothing (ENOENT, ENOTDIR),
 * which may be the view (a mount point the host lacks), or because it
 * names a ghost?  Then the caller asks the view instead.  Only failures
 * pay (an openat2, or a stat); errno is kept.
 */
static inline bool shim_missed(int dirfd, const char *path, bool follow)
{
	int e = errno;
	bool m = (e == ENOENT || e == ENOTDIR) && path && shim.mnt.len && !shim_depth &&
		 ((e == ENOENT && path[0] == '/' && shim_is_ghost(path)) ||
		  shim_host_has_link(dirfd, path, follow));

	errno = e;
	return m;
}

/*
 * The pass-through of a read that returns a count or 0 (-1 on failure):
 * the host's answer, unless the path is the view's or the host's failure
 * is one shim_missed explains; then the caller goes on to the view.
 */
#define SHIM_READ_PASS(dirfd, path, follow, call) do { \
	if (!shim_maybe_virtual(dirfd, path)) { \
		__typeof__(call) pass_ = (call); \
		if (pass_ >= 0 || !shim_missed(dirfd, path, follow)) \
			return pass_; \
	} \
} while (0)

/*
 * Resolves (dirfd, path) (lyr_mount_resolve).  Returns VP_VIRT with
 * vp->f.path the layer path, VP_HOST with vp->f.path a path to hand to the
 * real function with dirfd (as written, or an absolute host path), or
 * -errno.  A missing last component is not an error (creation).  On
 * VP_HOST, vp->f.res is LYR_RESOLVE_MAGIC when the last component is a
 * /proc magic link into the view that was not followed.
 */
int shim_resolve(int dirfd, const char *path, unsigned flags, struct vpath *vp);

/* The virtual working directory (layer path) into buf; false if on the host. */
bool shim_cwd_get(char *buf, size_t size);
void shim_cwd_set_virtual(const char *layer_path);
void shim_cwd_set_host(void);
/* Into the ghost directory path (absolute, normalised). */
void shim_cwd_set_ghost(const char *path);
/* Is the working directory a ghost?  Then its path into buf. */
bool shim_cwd_ghost(char *buf, size_t size);
/* After a rename in the view (layer paths): a virtual working directory at
 * or below from moves below to, as the kernel's cwd moves with its
 * directory; with exchange, one below to moves below from. */
void shim_cwd_renamed(const char *from, const char *to, bool exchange);
/* After rmdir of path: a virtual working directory there is gone (relative
 * paths and getcwd fail with ENOENT, as on a removed kernel directory). */
void shim_cwd_removed(const char *path);
bool shim_cwd_gone(void);
/* Is path a single name relative to a removed directory (the working
 * directory or dirfd)?  Its parent then resolves, but nothing in it. */
bool shim_base_gone(int dirfd, const char *path);

/* Is the host path the root or a parent of the mount point? */
static inline bool shim_above_mount(const char *path)
{
	return lyr_mount_above(&shim.mnt.view, path);
}

/* "mount/path" for a layer path, into buf. */
int shim_view_path(const char *layer_path, char *buf, size_t size);

/* ---- wrap_stat.c ---------------------------------------------------- */

/* View metadata of a resolved path (lstat semantics). */
int shim_vstat(const char *layer_path, struct stat *st);
/* The same for a path shim_resolve made VP_VIRT: its stat, no lookup. */
int shim_vpath_stat(const struct vpath *vp, struct stat *st);
/* View metadata of a virtual fd. */
int shim_vfstat(int fd, struct vfile *vf, struct stat *st);
/*
 * A name of virtual fd's entry: its recorded path while that still names
 * its inode, else another hard link when the layers can tell (a memory
 * upper: its fds do not carry the view's metadata).  0 with the name in
 * path (PATH_MAX; may be NULL) and its view stat in *st; -ENOENT when no
 * name is known.
 */
int shim_vf_name(int fd, struct vfile *vf, char *path, struct stat *st);

/* ---- wrap_open.c ---------------------------------------------------- */

/* open(2) in the view: returns the fd or -errno. */
int shim_vopen(const char *layer_path, int flags, mode_t mode);
/* The same for a path shim_resolve made VP_VIRT, using its stat; called
 * right after that shim_resolve (the union reuses its lookup). */
int shim_vopen_vp(const struct vpath *vp, int flags, mode_t mode);

/* ---- wrap_exec.c ---------------------------------------------------- */

/* envp plus what the shim needs in children; free with shim_env_free. */
char **shim_env_fix(char *const envp[]);
void shim_env_free(char **env, char *const envp[]);

#endif
