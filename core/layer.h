/* SPDX-License-Identifier: MIT */
/*
 * layer.h - the one interface every layer implements.
 *
 * A layer is a tree of named entries (directories, regular files, symlinks,
 * fifos, devices).  Backends (archive, host directory, memory) implement it,
 * and so does the layered union, so layers stack.
 *
 * Contract shared by every operation:
 *   - paths are relative to the layer's root and already normalised: no
 *     leading or trailing '/', no "//", no "." or ".." components; the root
 *     itself is "".  Callers normalise (lyr_path_normalize) and resolve
 *     symlinks (lyr_resolve) first; a layer never follows a symlink in any
 *     component of the path it is given, the last one included.  A
 *     non-directory in the middle of a path gives -ENOTDIR.
 *   - results are 0 (or a count / fd) on success and -errno on failure,
 *     with the errno a Linux filesystem would give.  Nothing aborts.
 *   - a member may be NULL: the dispatchers in layerfs.h then return
 *     -EROFS for operations that modify the tree and -ENOSYS otherwise.
 *   - operations are safe to call from several threads at once.
 *   - st_ino is unique within the layer and stable for the life of an
 *     entry; hard links share one.  st_dev is meaningless above a layer.
 *
 * Members are only ever appended, under a version marker, like SQLite's
 * sqlite3_io_methods.
 */
#ifndef LAYERFS_LAYER_H
#define LAYERFS_LAYER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <time.h>

#define LYR_OPS_VERSION 4

/* Entry flags reported by lookup and by a directory listing. */
#define LYR_WHITEOUT 0x1u /* the name is a whiteout: it hides lower entries */
#define LYR_OPAQUE   0x2u /* a directory that hides the lower directories below it */

/* rename flag: leave a whiteout at the source atomically (see rename). */
#define LYR_RENAME_WHITEOUT (1u << 30)

/* Layer flags (struct lyr_layer.flags). */
#define LYR_LAYER_RDONLY 0x1u /* every modification fails with EROFS */

struct lyr_layer;

/* One name in a directory listing. */
struct lyr_dirent {
	uint64_t ino;      /* st_ino of the entry (0 for a whiteout) */
	unsigned char type; /* DT_REG, DT_DIR, ...; DT_WHT for a whiteout */
	char *name;        /* NUL-terminated, owned by the listing */
};

/*
 * A full directory listing.  "." and ".." come first (the root's ".." is
 * the root itself); then every other name once, in an order that stays the
 * same while the directory is unchanged.  A layer that stores whiteouts
 * lists them with type DT_WHT under the name they hide (never under their
 * storage name such as ".wh.NAME"), and sets LYR_OPAQUE in flags when the
 * directory is opaque.  Build with lyr_dirlist_add, free with
 * lyr_dirlist_free.
 */
struct lyr_dirlist {
	struct lyr_dirent *ents; /* n entries */
	size_t n;
	size_t cap;              /* allocated slots (internal) */
	unsigned flags;          /* LYR_OPAQUE */
};

struct lyr_layer_ops {
	int version;      /* LYR_OPS_VERSION the table was written for */
	const char *name; /* "archive", "host", "mem", "union": for traces */

	/*
	 * lstat semantics.  On success fills *st and sets *flags (may be NULL)
	 * to LYR_WHITEOUT when the name is a whiteout (then *st is not
	 * filled and the caller must treat the name as deleted) or to
	 * LYR_OPAQUE for an opaque directory.  -ENOENT when absent.
	 * flags NULL asks only what the name is: a whiteout then gives
	 * -ENOENT, and the layer may skip looking for markers (cheaper).
	 */
	int (*lookup)(struct lyr_layer *l, const char *path, struct stat *st,
		      unsigned *flags);

	/*
	 * open(2) semantics on an entry that is not a symlink (a symlink gives
	 * -ELOOP; with O_PATH | O_NOFOLLOW a layer may give an fd of the link
	 * itself, as the host's and the archive's do).  Returns a
	 * real kernel fd, close-on-exec, owned by the caller.  O_CREAT,
	 * O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY and the access mode behave as
	 * on Linux (O_CREAT | O_DIRECTORY, -EINVAL, the dispatcher answers).
	 * On a directory the fd refers to some real directory: callers use
	 * readdir for its content.  A regular file's fd may be executed
	 * (fexecve, execveat with AT_EMPTY_PATH): the shim runs programs and
	 * scripts of the view that way.
	 */
	int (*open)(struct lyr_layer *l, const char *path, int flags, mode_t mode);

	/* See struct lyr_dirlist.  -ENOTDIR on a non-directory. */
	int (*readdir)(struct lyr_layer *l, const char *path, struct lyr_dirlist *out);

	/* readlink(2): no NUL is appended; returns the length copied. */
	ssize_t (*readlink)(struct lyr_layer *l, const char *path, char *buf,
			    size_t size);

	int (*mkdir)(struct lyr_layer *l, const char *path, mode_t mode);
	int (*mknod)(struct lyr_layer *l, const char *path, mode_t mode, dev_t dev);
	int (*symlink)(struct lyr_layer *l, const char *target, const char *path);
	int (*link)(struct lyr_layer *l, const char *oldpath, const char *newpath);
	int (*unlink)(struct lyr_layer *l, const char *path);
	int (*rmdir)(struct lyr_layer *l, const char *path);
	/*
	 * renameat2(2) semantics; flags: RENAME_NOREPLACE, RENAME_EXCHANGE,
	 * and LYR_RENAME_WHITEOUT: leave a whiteout at from in the same atomic
	 * step (a layer that cannot returns -EINVAL; callers then rename and
	 * whiteout in two steps).
	 */
	int (*rename)(struct lyr_layer *l, const char *from, const char *to,
		      unsigned flags);
	int (*chmod)(struct lyr_layer *l, const char *path, mode_t mode);
	/* lchown semantics; (uid_t)-1 / (gid_t)-1 leave a field unchanged. */
	int (*chown)(struct lyr_layer *l, const char *path, uid_t uid, gid_t gid);
	/* utimensat(..., AT_SYMLINK_NOFOLLOW) semantics, UTIME_NOW/OMIT too. */
	int (*utimens)(struct lyr_layer *l, const char *path,
		       const struct timespec ts[2]);
	int (*truncate)(struct lyr_layer *l, const char *path, off_t length);

	/*
	 * Whiteout and opacity, for layers used as an upper layer.
	 * whiteout: make path a whiteout, replacing what is there
	 * (-ENOTEMPTY for a non-empty directory; -ENOENT when path already is
	 * a whiteout: a racing removal deleted it first).  set_opaque: mark
	 * the existing directory path opaque.
	 *
	 * A layer shared by several processes (a host directory) makes every
	 * change between "entry", "whiteout" and "neither" at one name atomic
	 * with respect to the others (whiteout, rename with
	 * LYR_RENAME_WHITEOUT, link_copy, and the removal of a stale whiteout
	 * when a name is created), so two racing removals or a removal and a
	 * copy-up of one lower entry cannot both succeed.
	 */
	int (*whiteout)(struct lyr_layer *l, const char *path);
	int (*set_opaque)(struct lyr_layer *l, const char *path);

	/* statvfs of the storage behind the layer. */
	int (*statfs)(struct lyr_layer *l, struct statvfs *sv);

	/* getxattr/listxattr semantics (no follow); -ENOTSUP where none. */
	ssize_t (*getxattr)(struct lyr_layer *l, const char *path,
			    const char *name, void *buf, size_t size);
	ssize_t (*listxattr)(struct lyr_layer *l, const char *path, char *buf,
			     size_t size);

	int (*setxattr)(struct lyr_layer *l, const char *path, const char *name,
			const void *value, size_t size, int flags);
	int (*removexattr)(struct lyr_layer *l, const char *path, const char *name);

	/*
	 * Atomic creation, used for copy-up.  tmpfile: an unnamed regular file
	 * (O_RDWR fd, mode) that will be linked into the directory dir;
	 * link_tmp: gives it the name path (-EEXIST when path exists, except
	 * for a whiteout, which it replaces).  The content appears whole or
	 * not at all.
	 */
	int (*tmpfile)(struct lyr_layer *l, const char *dir, mode_t mode);
	int (*link_tmp)(struct lyr_layer *l, int fd, const char *path);

	/* Frees the layer and everything it owns (closes its fds). */
	void (*destroy)(struct lyr_layer *l);
	/* Methods above are valid for version 1 */

	/* version 2 */

	/*
	 * lyr_resolve (layerfs.h) in one pass, and the lstat of what it
	 * found, for a layer that can walk a path more cheaply than one
	 * lookup per prefix (the union carries its merge state down the
	 * path).  path, flags, root, out and size as for lyr_resolve: any
	 * relative path ("." , ".." and "//" allowed), symlinks followed in
	 * every component but the last (the last too with
	 * LYR_RESOLVE_FOLLOW), ".." stopping at the layer root, absolute
	 * targets and ".." at root handled as lyr_resolve says.  Returns:
	 *   0                     out holds the resolved layer path, *st its
	 *                         lstat (the entry itself: a symlink when the
	 *                         last one was not followed);
	 *   LYR_RESOLVE_MISSING   every component but the last resolved and
	 *                         the last does not exist (lstat would say
	 *                         -ENOENT): out holds the path, so O_CREAT can
	 *                         make it; *st is not filled;
	 *   LYR_RESOLVE_ESCAPED   as lyr_resolve: out holds a host path;
	 *   -errno                as lyr_resolve (-ENOENT: a missing parent).
	 * Results equal those of the lookup-and-readlink walk lyr_resolve does
	 * for a layer without this member.  May be NULL.
	 */
	int (*resolve)(struct lyr_layer *l, const char *path, unsigned flags,
		       const char *root, char *out, size_t size, struct stat *st);
	/* Methods above are valid for version 2 */

	/* version 3 */

	/*
	 * link_tmp for a copy-up: path names a lower entry the caller saw,
	 * so a whiteout there means the entry was deleted meanwhile: -ENOENT
	 * (link_tmp would replace the whiteout and bring the entry back).
	 * fd is a tmpfile, or (O_PATH will do) a file of the layer that has
	 * a name already, which path becomes one more hard link of.  May be
	 * NULL: lyr_link_copy then uses link_tmp.
	 */
	int (*link_copy)(struct lyr_layer *l, int fd, const char *path);
	/* mkdir for a copy-up, -ENOENT over a whiteout as link_copy.  May be
	 * NULL: lyr_mkdir_copy then uses mkdir. */
	int (*mkdir_copy)(struct lyr_layer *l, const char *path, mode_t mode);
	/*
	 * A current name (layer path, NUL-terminated, into buf of size) of the
	 * entry an fd from this layer's open refers to (or any fd on the same
	 * file): for a layer whose fds do not carry their entry's metadata
	 * (the memory layer's memfds), after the name it was opened by is
	 * gone; and to tell which entry a file met through /proc is.  -ENOENT
	 * when no name is known (none left, or fd is none of the layer's
	 * files); -ENXIO when fd is the layer's but stands for no one entry
	 * (a directory of an archive: they share one stand-in).  May be NULL
	 * (-ENOSYS).
	 */
	int (*fd_name)(struct lyr_layer *l, int fd, char *buf, size_t size);
	/* Methods above are valid for version 3 */

	/* version 4 */

	/*
	 * For a layer used as an upper layer: a file to take locks on (flock,
	 * fcntl record and OFD locks) for the entry whose view inode number
	 * is key, so that locks on it exclude each other whichever layer's
	 * file an fd reads, before and after a copy-up, in every process that
	 * shares the layer.  Returns a new open file description (O_RDWR,
	 * close-on-exec) of the one file of key, or -errno.  May be NULL
	 * (-ENOSYS).
	 */
	int (*lock_fd)(struct lyr_layer *l, uint64_t key);
	/* Methods above are valid for version 4 */
};

/* Base of every layer; backends embed it as their first member. */
struct lyr_layer {
	const struct lyr_layer_ops *ops;
	unsigned flags; /* LYR_LAYER_* */
};

#endif
