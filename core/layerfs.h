/* SPDX-License-Identifier: MIT */
/*
 * layerfs.h - public API of the layerfs core: a layered (union) filesystem
 * as a plain C library.  Nothing here knows about LD_PRELOAD.
 *
 * Divisions:
 *   1. errors           struct lyr_error
 *   2. constructors     archive, host directory, memory, union
 *   3. dispatchers      lyr_lookup() ... one per operation of layer.h
 *   4. paths            normalisation and symlink resolution
 *   5. kept fds         fds a layer keeps open for its life
 *   6. listings         struct lyr_dirlist helpers
 *   7. mounts           a union seen at a host path
 *   8. programs         which programs the shim reaches
 *   9. the archive cache  listing, pruning, last use
 */
#ifndef LAYERFS_H
#define LAYERFS_H

#include "layer.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>

#define LAYERFS_VERSION "0.1.0"

/* ---- 1. errors ------------------------------------------------------ */

/* A human-readable reason, filled by constructors that can fail. */
struct lyr_error {
	char msg[1024];
};

/* printf into err (if not NULL); returns -errnum so callers can chain. */
int lyr_seterr(struct lyr_error *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- 2. constructors ------------------------------------------------- */

/* Progress of an archive index build. */
typedef void lyr_progress_fn(void *ctx, uint64_t entries, uint64_t bytes_done,
			     uint64_t bytes_total);

struct lyr_archive_opts {
	const char *cache_dir;      /* NULL: lyr_default_cache_dir() */
	lyr_progress_fn *progress;  /* may be NULL; called now and then */
	void *progress_ctx;
	const char *sha256;         /* NULL, or the digest (64 hex digits) the
				       archive must have: an image's blob.  Checked
				       once, when the index is built; a mismatch
				       is -EBADMSG, naming the digest */
};

/*
 * Opens an archive (any format and compression libarchive reads) as a
 * read-only layer.  Builds its index in the cache directory when it is not
 * there yet (atomically, safe when many processes do it at once), then maps
 * it.  Returns 0 or -errno with a message naming the archive in *err.
 */
int lyr_archive_open(const char *path, const struct lyr_archive_opts *opts,
		     struct lyr_layer **out, struct lyr_error *err);

/*
 * The cache directory: $LAYERFS_CACHE, else $XDG_CACHE_HOME/layerfs, else
 * $HOME/.cache/layerfs, else $TMPDIR (or /tmp)/layerfs-UID.  Writes it to
 * buf; returns 0 or -ENAMETOOLONG.
 */
int lyr_default_cache_dir(char *buf, size_t size);

/* Host directory flags. */
#define LYR_HOST_RDONLY 0x1u /* lower layer: every modification is EROFS */
/* The union's upper: lookups are cached, by a change counter that every
 * process's layer on the directory moves (.wh..wh..layerfs-gen). */
#define LYR_HOST_UPPER  0x2u

/*
 * The names of an OCI image layer, which a host upper directory is: a
 * whiteout ".wh.NAME" deletes NAME of the layers below; ".wh..wh." names
 * are reserved for the layer's own metadata (never part of the view),
 * ".wh..wh..opq" marking a directory opaque.  No name in the view begins
 * with ".wh.".  layerfs's own xattrs are "user.layerfs.*", never shown.
 */
#define LYR_WH_PREFIX     ".wh."
#define LYR_WH_PREFIX_LEN 4
#define LYR_WH_META       ".wh..wh."
#define LYR_WH_META_LEN   8
#define LYR_WH_OPAQUE     ".wh..wh..opq"
#define LYR_XATTR_PREFIX  "user.layerfs."
#define LYR_XATTR_ORIGIN  "user.layerfs.origin" /* an upper entry's view inode
						   number, when not its own */
/* Names a host layer keeps apart from the inode (in a store of its own,
 * see core/host.c) when the entry is a symlink, fifo, socket or device,
 * on which Linux refuses user.* xattrs; on a file or a directory they are
 * the inode's like any other. */
#define LYR_XATTR_STORED  "user.layerfs.s."
#define LYR_XATTR_ORIGIN_STORED LYR_XATTR_STORED "origin" /* LYR_XATTR_ORIGIN of
						   such an entry */
/* The name of the origin xattr for an entry of type mode (0: unknown, a
 * file or a directory). */
#define LYR_XATTR_ORIGIN_FOR(mode) \
	((mode) && !S_ISREG(mode) && !S_ISDIR(mode) ? LYR_XATTR_ORIGIN_STORED : LYR_XATTR_ORIGIN)
#define LYR_XATTR_LOWER   "user.layerfs.lower"  /* the launcher: the lowers an
						   upper was used over */
#define LYR_XATTR_CACHE   "user.layerfs.cache"  /* ... and their cache */

/*
 * A host directory as a layer.  Whiteouts and opaque directories are
 * stored as OCI image-layer files (".wh.NAME", ".wh..wh..opq"); those
 * storage names never appear in listings or lookups.
 */
int lyr_host_open(const char *dir, unsigned flags, struct lyr_layer **out,
		  struct lyr_error *err);

/* An in-process layer whose files are memfds.  Starts empty. */
int lyr_mem_open(struct lyr_layer **out, struct lyr_error *err);

/* Union flags. */
#define LYR_UNION_WRITABLE_FILES 0x1u /* existing lower files are written in place */

/* Called after a lower file was copied up (see lyr_union_open). */
typedef void lyr_copy_up_fn(void *ctx, const char *path, uint64_t ino);

struct lyr_union_opts {
	unsigned flags;            /* LYR_UNION_* */
	lyr_copy_up_fn *copied_up; /* may be NULL */
	void *copied_up_ctx;
	dev_t dev;                 /* st_dev of every entry; 0: a fixed default */
};

/* The most lowers a union takes (its inode numbers keep 6 bits for the
 * layer, the upper's included). */
#define LYR_MAX_LOWER 63

/*
 * Stacks upper (writable; NULL makes a read-only view) over lowers[0..n-1],
 * topmost first, n <= LYR_MAX_LOWER.  Takes ownership of every layer, also
 * on failure.
 */
int lyr_union_open(struct lyr_layer *upper, struct lyr_layer *const *lowers,
		   size_t nlower, const struct lyr_union_opts *opts,
		   struct lyr_layer **out, struct lyr_error *err);

/*
 * Which layer answers for path in a union: 0 for the upper layer, 1..n for
 * lowers[0..n-1]; -errno when the path does not resolve.
 */
int lyr_union_which(struct lyr_layer *u, const char *path);

/*
 * For a caller that makes an entry in the upper layer itself (bind(2) of
 * a socket): lyr_union_copy_up makes directory path exist in the upper
 * layer (copied up with its parents), 0 or -errno as a change would give;
 * lyr_union_changed, once the entry is made, tells the upper layer (a host
 * upper's lookup cache, LYR_HOST_UPPER).
 */
int lyr_union_copy_up(struct lyr_layer *u, const char *path);
void lyr_union_changed(struct lyr_layer *u);
/* lyr_union_changed for a host layer: a change made behind its back. */
void lyr_host_changed(struct lyr_layer *l);
/* A host layer's change counter (LYR_HOST_UPPER), read now: false when l
 * is not a host layer or keeps none. */
bool lyr_host_gen(struct lyr_layer *l, uint64_t *gen);

/*
 * lyr_open on union u that also says what it opened, so a caller needs no
 * lookup after it: *layer (may be NULL) is the layer the fd belongs to (0
 * the upper layer, 1..n lowers[0..n-1]); *st (may be NULL) the view's
 * stat of the entry as the open left it (created, copied up, truncated).
 * Returns the fd or -errno as lyr_open; -EINVAL when u is not a union.
 */
int lyr_union_open_at(struct lyr_layer *u, const char *path, int flags,
		      mode_t mode, int *layer, struct stat *st);

/*
 * What a resolution in a union found, kept for the call that acts on it
 * next, so that this call does not look the entry up again.  Filled by
 * lyr_resolve_found; res, st and path are the caller's to read, priv is
 * the union's.  It describes the entry as the resolution saw it: a change
 * made in between (by this process or another) is met as a racing change
 * would be.
 */
struct lyr_found {
	int res;             /* 0: the entry exists; LYR_RESOLVE_MISSING: only
				its last component is missing */
	int fd;              /* res LYR_RESOLVE_OWN_FD: the subject's fd */
	struct stat st;      /* res 0: the view's lstat of the entry */
	uint64_t priv[26];   /* the union's record of the entry */
	char path[PATH_MAX]; /* the layer path (LYR_RESOLVE_ESCAPED: a host path) */
};

/*
 * lyr_resolve_stat on union u into *f (its path, result and stat).
 * Returns as lyr_resolve_stat; -EINVAL when u is not a union.
 */
int lyr_resolve_found(struct lyr_layer *u, const char *path, unsigned flags,
		      const char *root, struct lyr_found *f);

/*
 * lyr_union_open_at on what lyr_resolve_found put in f (res 0 or
 * LYR_RESOLVE_MISSING): the open starts from that entry.
 */
int lyr_union_open_found(struct lyr_layer *u, const struct lyr_found *f, int flags,
			 mode_t mode, int *layer, struct stat *st);

/* ---- 3. dispatchers (see layer.h for each contract) ------------------ */

int lyr_lookup(struct lyr_layer *l, const char *path, struct stat *st,
	       unsigned *flags);
int lyr_open(struct lyr_layer *l, const char *path, int flags, mode_t mode);
int lyr_readdir(struct lyr_layer *l, const char *path, struct lyr_dirlist *out);
ssize_t lyr_readlink(struct lyr_layer *l, const char *path, char *buf, size_t size);
int lyr_mkdir(struct lyr_layer *l, const char *path, mode_t mode);
int lyr_mknod(struct lyr_layer *l, const char *path, mode_t mode, dev_t dev);
int lyr_symlink(struct lyr_layer *l, const char *target, const char *path);
int lyr_link(struct lyr_layer *l, const char *oldpath, const char *newpath);
int lyr_unlink(struct lyr_layer *l, const char *path);
int lyr_rmdir(struct lyr_layer *l, const char *path);
int lyr_rename(struct lyr_layer *l, const char *from, const char *to, unsigned flags);
int lyr_chmod(struct lyr_layer *l, const char *path, mode_t mode);
int lyr_chown(struct lyr_layer *l, const char *path, uid_t uid, gid_t gid);
int lyr_utimens(struct lyr_layer *l, const char *path, const struct timespec ts[2]);
int lyr_truncate(struct lyr_layer *l, const char *path, off_t length);
int lyr_whiteout(struct lyr_layer *l, const char *path);
int lyr_set_opaque(struct lyr_layer *l, const char *path);
int lyr_statfs(struct lyr_layer *l, struct statvfs *sv);
ssize_t lyr_getxattr(struct lyr_layer *l, const char *path, const char *name,
		     void *buf, size_t size);
ssize_t lyr_listxattr(struct lyr_layer *l, const char *path, char *buf, size_t size);
int lyr_setxattr(struct lyr_layer *l, const char *path, const char *name,
		 const void *value, size_t size, int flags);
int lyr_removexattr(struct lyr_layer *l, const char *path, const char *name);
int lyr_tmpfile(struct lyr_layer *l, const char *dir, mode_t mode);
int lyr_link_tmp(struct lyr_layer *l, int fd, const char *path);
int lyr_link_copy(struct lyr_layer *l, int fd, const char *path);
int lyr_mkdir_copy(struct lyr_layer *l, const char *path, mode_t mode);
int lyr_fd_name(struct lyr_layer *l, int fd, char *buf, size_t size);
int lyr_lock_fd(struct lyr_layer *l, uint64_t key);
void lyr_destroy(struct lyr_layer *l);

/* ---- 4. paths ------------------------------------------------------- */

/*
 * Normalises a path relative to a layer root into out (size bytes): drops
 * empty and "." components and leading/trailing '/', applies ".." (which
 * stops at the root).  The root is "".  -ENAMETOOLONG when a component is
 * over NAME_MAX bytes or the result does not fit.
 */
int lyr_path_normalize(const char *in, char *out, size_t size);

/* Splits "a/b/c" into parent "a/b" (written to parent) and returns "c". */
const char *lyr_path_split(const char *path, char *parent, size_t size);

/*
 * A list of layers as LAYERFS_LOWER writes it: topmost first, separated by
 * ':', a ':' in a name written "\:".  lyr_lower_list_split cuts s in place
 * into names[] (pointers into s): how many (an empty s has none; an empty
 * name is kept, for the caller to refuse), or -E2BIG past max.
 * lyr_lower_list_join writes n names in that form into a new string
 * (malloc'ed), or gives NULL when out of memory.
 */
ssize_t lyr_lower_list_split(char *s, char **names, size_t max);
char *lyr_lower_list_join(char *const *names, size_t n);

/* Resolution flags. */
#define LYR_RESOLVE_FOLLOW 0x1u /* follow a symlink in the last component */

/* Symlinks one resolution follows at most, as Linux: then -ELOOP. */
#define LYR_MAXSYMLINKS 40

/* lyr_resolve's positive result: the path left the layer (see below). */
#define LYR_RESOLVE_ESCAPED 1
/* lyr_resolve_stat's positive result: only the last component is missing. */
#define LYR_RESOLVE_MISSING 2

/*
 * Resolves a normalised path in layer l component by component, following
 * symlinks in every component but the last (and in the last one too with
 * LYR_RESOLVE_FOLLOW).  Relative targets are taken from the link's
 * directory and ".." stops at the layer root.  An absolute target is taken
 * from the layer root when root is NULL; otherwise root is the absolute
 * host path the layer is seen at (a mount point): a target below root
 * continues inside the layer, any other absolute target ends resolution
 * with LYR_RESOLVE_ESCAPED and out holds the host path (target plus the
 * components still to resolve) for the caller to resolve.
 *
 * On 0, out holds the resolved layer path.  -ELOOP after LYR_MAXSYMLINKS links,
 * -ENOENT / -ENOTDIR as for open(2); a missing last component is not an
 * error (so O_CREAT can create it), but a missing parent is.  Uses the
 * layer's resolve member when it has one (layer.h).
 */
int lyr_resolve(struct lyr_layer *l, const char *path, unsigned flags,
		const char *root, char *out, size_t size);

/*
 * lyr_resolve that also returns the lstat of the resolved entry: the
 * layer's resolve member when it has one (see layer.h for the results:
 * 0 with *st filled, LYR_RESOLVE_MISSING when only the last component is
 * missing, LYR_RESOLVE_ESCAPED, -errno), else the walk lyr_resolve does
 * plus the lookup of its result.  Either way one resolution, no second
 * lookup.
 */
int lyr_resolve_stat(struct lyr_layer *l, const char *path, unsigned flags,
		     const char *root, char *out, size_t size, struct stat *st);

/* ---- 5. kept fds ---------------------------------------------------- */

/*
 * A layer that keeps an fd open for its whole life (a host layer's root)
 * registers the variable holding it.  The fd is moved above the range
 * programs use (LYR_FD_LOW and up) and made close-on-exec.  An interposer
 * protects kept fds from a program's close/close_range/closefrom, and moves
 * one out of the way (lyr_fd_move) when a program dup2()s onto its number;
 * the layer always reads its fd from the registered variable.
 */
#define LYR_FD_LOW 1000
int lyr_fd_keep(int *slot);
void lyr_fd_release(int *slot);
bool lyr_fd_is_kept(int fd);
int lyr_fd_move(int fd);

/* mkdir -p of the host directory path: the levels it makes get mode
 * (less the umask); 0, -ENOTDIR when path is not a directory, or -errno. */
int lyr_mkdirs(const char *path, mode_t mode);

/*
 * The one copy engine: len bytes at in_off of in to out_off of out, in the
 * kernel where it can (copy_file_range, else sendfile, else pread and
 * pwrite; the next is tried only when the kernel cannot do the previous
 * for these files, never after EIO, ENOSPC, EDQUOT or EFBIG).  0 with
 * *copied below len when in ended early, or -errno.
 */
int lyr_copy_bytes(int in, off_t in_off, int out, off_t out_off, off_t len, off_t *copied);

/*
 * The absolute path the kernel knows for fd's file (readlink of
 * /proc/self/fd/FD), into buf: its length, or -ENOENT when it has none
 * (removed, a pipe, a socket, an anonymous inode), -ENAMETOOLONG.
 */
ssize_t lyr_fd_path(int fd, char *buf, size_t size);

/* ---- 6. listings ---------------------------------------------------- */

int lyr_dirlist_add(struct lyr_dirlist *d, const char *name, uint64_t ino,
		    unsigned char type);
void lyr_dirlist_free(struct lyr_dirlist *d);

/* DT_* for a st_mode. */
unsigned char lyr_mode_to_dt(mode_t mode);

struct statfs;
/* The statfs of a view whose statvfs is sv and st_dev dev: the f_type
 * kernel overlayfs reports, f_fsid from dev. */
void lyr_statvfs_to_statfs(const struct statvfs *sv, dev_t dev, struct statfs *sf);

struct statx;
/* The statx of what st describes (STATX_BASIC_STATS). */
void lyr_stat_to_statx(const struct stat *st, struct statx *stx);

/*
 * access(2) on metadata st for the calling process's real ids (or, with
 * effective, its effective ids): 0 or -EACCES.  As Linux: F_OK always
 * passes; root passes but for X_OK on a file no one may execute.
 */
int lyr_may_access(const struct stat *st, int mode, bool effective);

/* ---- 7. mounts ------------------------------------------------------ */

/* lyr_found.res of a host path whose last component is a /proc magic link
 * into the view, not followed (lyr_mount_resolve without FOLLOW). */
#define LYR_RESOLVE_MAGIC 3
/* lyr_found.res of a path that is the subject's own file f->fd itself,
 * named by its magic link when it has no name left in the view. */
#define LYR_RESOLVE_OWN_FD 4

/* What a mount's magic callback says (see struct lyr_mount). */
#define LYR_MAGIC_VIEW   1 /* buf: a layer path; the link leads into the view */
#define LYR_MAGIC_HOST   2 /* buf: an absolute host path */
#define LYR_MAGIC_KERNEL 3 /* a host file: the kernel's own answer holds */
#define LYR_MAGIC_FILE   4 /* LYR_MAGIC_VIEW of a file that is not a
			      directory: nothing is under it (ENOTDIR) */
#define LYR_MAGIC_NAMELESS 5 /* a file of the subject's, not a directory,
				with no name left in the view: the link,
				followed, is that fd (LYR_RESOLVE_OWN_FD) */

/*
 * A union seen at a host path, the mount point, as the kernel would show
 * it mounted there, for one subject process (the one whose paths are
 * resolved: its /proc/self, its fds and working directory).
 *
 * magic, when not NULL, answers for magic links: /proc/PID/fd/FD (fd >=
 * 0) or /proc/PID/cwd (fd -1), of the subject itself (who 0) or of
 * another process (who its pid or tid).  It writes into buf (size bytes)
 * and returns LYR_MAGIC_*, 0 when it does not know (the mount then opens
 * the link and asks the union which of its files that is, lyr_fd_name),
 * or -errno: the link leads nowhere, an error only when it is followed.
 * LYR_MAGIC_NAMELESS is for the subject's own links only.
 */
struct lyr_mount {
	struct lyr_layer *fs;  /* a union (lyr_union_open) */
	const char *path;      /* absolute, normalised, not "/" */
	size_t len;            /* strlen(path) */
	pid_t pid, tid;        /* the subject; 0: the calling process and thread */
	int (*magic)(void *ctx, pid_t who, int fd, char *buf, size_t size);
	void *magic_ctx;
};

/* Where a relative path starts (lyr_mount_resolve). */
struct lyr_at {
	int kind;            /* LYR_AT_* */
	const char *path;    /* a layer path, or an absolute host path */
};
#define LYR_AT_VIEW 1  /* a directory of the view */
#define LYR_AT_HOST 2  /* a host directory, resolved (no symlink on the way) */

/* The st_dev of every entry of a view mounted at path (a fixed unnamed
 * major, the minor from the path): the same in every process. */
dev_t lyr_mount_dev(const char *path);

/* Is the absolute host path at or below the mount point?  Then the
 * layer path it names (after the mount point and its '/'), else NULL. */
const char *lyr_mount_below(const struct lyr_mount *m, const char *path);
/* Is the absolute host path the host root or a parent of the mount point
 * (trailing slashes allowed)? */
bool lyr_mount_above(const struct lyr_mount *m, const char *path);
/*
 * May the relative path, walked from the host directory start (absolute,
 * not in the view), reach the mount point or a parent of it?  By the
 * strings alone (the host's symlinks on the way are the kernel's
 * business): the test that keeps a ".." from a host directory cheap.
 */
bool lyr_mount_near(const struct lyr_mount *m, const char *start, const char *path);

/*
 * Where the kernel's own resolution of (dirfd, path) gets (the last
 * component followed too with follow): the deepest prefix of path it
 * resolves, by its real name, and the rest of path after it, by the
 * strings; or, where it stops at a symlink that leads nowhere, that
 * link's target and the rest.  Does that reach the mount point, under it
 * or above it?  For a path with a host symlink on the way, which may lead
 * into the view (or into a lower overlaid in place).
 */
bool lyr_mount_leads_in(const struct lyr_mount *m, int dirfd, const char *path, bool follow);

/*
 * What a ghost shows: a host directory above the mount point that the
 * host lacks (a kernel mount point always has its parents).  An empty
 * directory owned by root, with the view's device and a number of its
 * own per level; the same in every process.
 */
void lyr_mount_ghost_stat(const struct lyr_mount *m, const char *path, struct stat *st);

/* Has the relative path a ".." component (may it climb)? */
static inline bool lyr_path_has_dotdot(const char *p)
{
	for (const char *s = p; (s = strchr(s, '.')); s++)
		if (s[1] == '.' && (s == p || s[-1] == '/') && (s[2] == '/' || s[2] == '\0'))
			return true;
	return false;
}

/* Is [p, p + n) all digits (and not empty)? */
static inline bool lyr_is_number(const char *p, size_t n)
{
	return n > 0 && strspn(p, "0123456789") >= n;
}

/*
 * May the path below /proc/ (p: what follows "/proc/") go through one of
 * its links that lead anywhere: PID, self or thread-self itself, or below
 * it (or below its task/TID/) fd, cwd, root, exe or map_files?  The other
 * files of /proc (/proc/sys/..., /proc/self/maps, /proc/meminfo) are the
 * kernel's, and an allocator reads them while it sets itself up (a call
 * that must not start the view: it allocates).
 */
static inline bool lyr_proc_may_lead(const char *p)
{
	static const char *const links[] = { "fd", "cwd", "root", "exe", "map_files" };
	size_t n = strcspn(p, "/");

	if (!(n == 4 && !strncmp(p, "self", 4)) && !(n == 11 && !strncmp(p, "thread-self", 11)) &&
	    !lyr_is_number(p, n))
		return n == 0;	/* "/proc//": walked anyway */
	if (p[n] == '\0')
		return true;
	p += n + 1;
	if (!strncmp(p, "task/", 5)) {
		n = strcspn(p + 5, "/");
		if (!lyr_is_number(p + 5, n) || p[5 + n] == '\0')
			return n == 0;
		p += 5 + n + 1;
	}
	n = strcspn(p, "/");
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (strlen(links[i]) == n && !strncmp(p, links[i], n))
			return true;
	return false;
}

/*
 * Must the absolute path be resolved to know where it leads, whatever
 * the mount point: has it a ".", ".." or empty component, or may it go
 * through a magic link of /proc (lyr_proc_may_lead) or /dev/fd?
 */
static inline bool lyr_path_needs_walk(const char *p)
{
	if ((p[1] == 'p' && !strncmp(p, "/proc/", 6) && lyr_proc_may_lead(p + 6)) ||
	    (p[1] == 'd' && !strncmp(p, "/dev/fd/", 8)))
		return true;
	/* Two scans of libc's vectorised strstr: most paths have neither. */
	for (const char *s = p; (s = strstr(s, "//")); s++)
		if (s[2] != '\0')
			return true;
	for (const char *s = p; (s = strstr(s, "/.")); s++)
		if (s[2] == '/' || s[2] == '\0' ||
		    (s[2] == '.' && (s[3] == '/' || s[3] == '\0')))
			return true;
	return false;
}

/* lyr_mount_resolve's flag: follow host symlinks wherever they are.
 * Without it, a host directory that is neither the mount point nor above
 * it ends the walk (the kernel resolves the rest), unless a ".." is ahead:
 * the caller knows no symlink on the way may lead into the view. */
#define LYR_RESOLVE_HOST_LINKS 0x2u

/* lyr_mount_resolve's results. */
#define LYR_IN_VIEW 1
#define LYR_ON_HOST 2

/*
 * Resolves path, absolute or relative to at (NULL: absolute only), as the
 * kernel would with m mounted (see core/mount.c): symlinks followed in every component but the last (the
 * last too with LYR_RESOLVE_FOLLOW), "//", "." and ".." wherever they
 * are, the border of the mount crossed both ways, /proc's magic links
 * followed to what they stand for.  Returns
 *   LYR_IN_VIEW   f->path is a layer path, f->res 0 (f->st the entry's
 *                 view stat) or LYR_RESOLVE_MISSING (only the last
 *                 component is missing), f ready for lyr_union_open_found;
 *   LYR_ON_HOST   f->path is the host path to hand to the kernel, which
 *                 gives its own answers from there (a trailing '/' kept);
 *                 f->res is 0 or LYR_RESOLVE_MAGIC;
 *   LYR_IN_VIEW   with f->res LYR_RESOLVE_OWN_FD: the last component was
 *                 the subject's magic link to f->fd, a file with no name
 *                 (LYR_MAGIC_NAMELESS), followed; f->path is empty;
 *   -errno        -ELOOP, -ENOTDIR, -ENOENT (a missing parent), ... as
 *                 the kernel for a path below the mount point.
 * path may not be inside f.
 */
int lyr_mount_resolve(const struct lyr_mount *m, const struct lyr_at *at, const char *path,
		      unsigned flags, struct lyr_found *f);

/* ---- 8. programs ---------------------------------------------------- */

/* How many first bytes of a file lyr_exec_kind wants (fewer will do). */
#define LYR_EXEC_HEAD 4096

#define LYR_EXEC_UNKNOWN 0 /* neither a "#!" script nor a program: the
			      kernel decides (ENOEXEC) */
#define LYR_EXEC_SCRIPT  1 /* starts with "#!" */
#define LYR_EXEC_LIBC    2 /* a dynamic program of this system's C library:
			      it loads an LD_PRELOAD library */
#define LYR_EXEC_OWN     3 /* makes its own system calls: statically linked
			      (static-pie too), another C library's loader,
			      another architecture or word size, or Go */

/*
 * What the file whose first n bytes are head is (LYR_EXEC_*); for
 * LYR_EXEC_OWN, *why (may be NULL) says why, as a phrase ("a Go
 * program").  One place for the question, for the shim's exec and the
 * launcher.
 */
int lyr_exec_kind(const unsigned char *head, size_t n, const char **why);

/*
 * Such a program runs under the launcher's supervisor (a seccomp filter
 * that hands its system calls on paths to the launcher's helper).  A call
 * whose sixth argument register holds LYR_SUP_MARK passes the filter at
 * once: the shim marks its own (a supervised process that runs the shim
 * answers its own calls).  The mark guards against accidents, not against
 * a program that means to escape.
 */
#define LYR_SUP_MARK 0x4c6179657246534cULL
/* getcwd(NULL, LYR_SUP_PROBE) with the mark: ESRCH under the supervisor's
 * filter, EFAULT without: is this process supervised already? */
#define LYR_SUP_PROBE 0x6c61796572667350ULL

/* ---- 9. the archive cache ------------------------------------------- */

/*
 * The cache directory holds one entry per archive identity (an index and
 * the archive's extracted content).  Every layer holds its entry (a shared
 * flock on the index) for as long as it exists, so that nothing a running
 * process has open or mapped is ever removed; the launcher holds its
 * lowers' entries for the whole job.  Entries no process holds can be
 * removed at any time, even while other jobs use the cache.
 */

/*
 * Marks the cache entry of archive layer l used now: the last use that
 * lyr_cache_list reports and that pruning by age and by size goes by.
 * 0, -EINVAL when l is not an archive layer, or -errno.
 */
int lyr_archive_mark_used(struct lyr_layer *l);

struct lyr_cache_entry {
	char *name;       /* the entry's directory, in the cache directory */
	char *source;     /* the archive's path when it was indexed ("": unknown) */
	uint64_t size;    /* bytes on disk (allocated blocks) */
	int64_t last_use; /* seconds since the epoch */
	uint32_t last_use_nsec;
	bool in_use;      /* a process holds it: it is not removed */
	bool stale;       /* source is gone or is another file now: never used again */
	bool other_version; /* made by a layerfs with another index format */
};

/*
 * The entries of cache directory dir, least recently used first, in *out
 * (free with lyr_cache_list_free); a missing dir has none.  0 or -errno
 * with a message in *err.
 */
int lyr_cache_list(const char *dir, struct lyr_cache_entry **out, size_t *n,
		   struct lyr_error *err);
void lyr_cache_list_free(struct lyr_cache_entry *v, size_t n);

struct lyr_cache_prune_opts {
	uint64_t max_size;   /* bytes the entries may take; UINT64_MAX: no limit */
	int64_t max_age;     /* seconds since an entry's last use; < 0: no limit */
	bool other_versions; /* remove the entries of other versions too (see below) */
};

struct lyr_cache_report {
	size_t removed, kept, in_use;     /* entries; in_use: kept because held */
	size_t other_versions;            /* kept: another version's */
	uint64_t removed_bytes, kept_bytes;
	size_t leftovers;                 /* crash leftovers removed */
};

/*
 * Prunes cache directory dir: first what a crash left (temporary files no
 * writer holds, the remains of an interrupted prune), then every entry not
 * used for max_age seconds, then the least recently used entries until the
 * rest takes at most max_size bytes.  An entry a process holds is never
 * removed (then the cache may stay above max_size).  Safe while other
 * processes use the cache and prune it.  Entries of another index version
 * are left alone (and not counted against max_size) unless other_versions
 * is set: a version that takes no locks cannot say whether it uses them.
 * 0 or -errno with *err; *rep says what was done.
 */
int lyr_cache_prune(const char *dir, const struct lyr_cache_prune_opts *o,
		    struct lyr_cache_report *rep, struct lyr_error *err);

#endif
