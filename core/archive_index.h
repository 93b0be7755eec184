/* SPDX-License-Identifier: MIT */
/*
 * archive_index.h - private to the archive layer: the on-disk index format
 * and what archive.c and archive_index.c share.  (Not "archive.h": with
 * -Icore that name would shadow libarchive's <archive.h>.)  Tests include
 * it for lyr_archive_info() at the end.
 *
 * An index is one file, written once and then mapped read-only by every
 * process that opens the archive.  It holds, each section 8-byte aligned:
 *
 *   struct arc_hdr                  sizes and offsets of what follows
 *   struct arc_ent[nent]            one per name (id 0 is the root), plus
 *                                   the inodes of hard links whose first
 *                                   name was replaced by a later entry
 *   char names[names_size]          component names and symlink targets,
 *                                   not NUL-terminated
 *   uint32_t kids[nkids]            each directory's children, sorted by
 *                                   name (memcmp order): stable readdir
 *   uint32_t slots[nslots]          open addressing (linear probing) on
 *                                   (parent id, name) -> id; 0 is empty
 *                                   (the root is never a child)
 *   unsigned char xattrs[xattr_size] per inode: u32 count, then count
 *                                   records {u32 name_len, u32 value_len,
 *                                   name, value}
 *   struct arc_seek[nseek]          (version 5) a compressed tar's seek
 *                                   points, by offset in the stream
 *   unsigned char wins[win_size]    (version 5) the gzip points' 32 KiB
 *                                   windows, each deflated (zlib format)
 *   struct arc_sum[nsum]            (version 5) with seek points: the
 *                                   CRC-32 of each member read in place,
 *                                   by offset
 *
 * Integers are in host byte order: an index is a cache, keyed by the
 * archive's identity on this machine, never shipped.
 */
#ifndef LAYERFS_ARCHIVE_INDEX_H
#define LAYERFS_ARCHIVE_INDEX_H

#include "layerfs.h"

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>
#include <stdint.h>
#include <sys/stat.h>

struct archive;

#define ARC_INDEX_VERSION 5u
#define ARC_MAGIC "LYRARCIX" /* 8 bytes, no NUL stored */

/* arc_hdr.flags */
#define ARC_H_INPLACE 0x1u /* a tar: some data is read in place */
#define ARC_H_STREAM  0x2u /* ... of the decompressed stream, not the archive file */

struct arc_hdr {
	char magic[8];          /* ARC_MAGIC */
	uint32_t version;       /* ARC_INDEX_VERSION */
	uint32_t hdr_size;      /* sizeof(struct arc_hdr) */
	uint32_t ent_size;      /* sizeof(struct arc_ent) */
	uint32_t flags;         /* ARC_H_* */
	uint64_t file_size;     /* of the whole index file */
	uint64_t arc_dev;       /* identity of the archive indexed */
	uint64_t arc_ino;
	uint64_t arc_size;
	int64_t arc_mtime_sec;
	uint64_t arc_mtime_nsec;
	uint64_t nent;          /* entries, root included */
	uint64_t ent_off;
	uint64_t names_off;
	uint64_t names_size;
	uint64_t kids_off;
	uint64_t nkids;
	uint64_t slots_off;
	uint64_t nslots;
	uint64_t xattr_off;
	uint64_t xattr_size;
	uint64_t nextract;      /* regular files that need the extraction pass */
	int64_t arc_ctime_sec;  /* (version 3) identity, continued */
	uint64_t arc_ctime_nsec;
	uint64_t arc_sum;       /* arc_ident.sum */
	uint32_t seek_kind;     /* (version 5) ARC_SK_*: how members of the
				 * stream are read (archive_seek.c) */
	uint32_t seek_pad;
	uint64_t seek_off;
	uint64_t nseek;         /* 0 unless seek_kind is set */
	uint64_t win_off;
	uint64_t win_size;
	uint64_t sum_off;
	uint64_t nsum;
	uint64_t hdr_sum;       /* FNV-1a of the bytes above: last member */
};

/* arc_ent.flags */
#define ARC_F_INPLACE  0x1u /* data is the content's byte offset in the archive */
#define ARC_F_DETACHED 0x2u /* no name: the inode of hard links only */
#define ARC_F_WHITEOUT 0x4u /* (version 4) an OCI whiteout ".wh.NAME", stored
			     * under NAME: mode 0, hides NAME in the layers
			     * below; never a directory of a path */
#define ARC_F_OPAQUE   0x8u /* (version 4) a directory holding ".wh..wh..opq"
			     * (or made in the layer of a whiteout of its
			     * name): hides the directories below it */

/*
 * One entry.  A hard link carries a copy of its inode's fields (copied
 * from entry canon when the index is finished), so a lookup never needs a
 * second entry.  88 bytes.
 */
struct arc_ent {
	uint64_t size;        /* st_size */
	uint64_t data;        /* REG: archive offset (ARC_F_INPLACE) or the
			       * entry's header number in the archive;
			       * LNK: offset of the target in names;
			       * DIR: kids start << 32 | count;
			       * CHR/BLK: st_rdev */
	int64_t mtime;
	int64_t atime;
	int64_t ctime;
	uint32_t parent;      /* directory holding the name (root: 0) */
	uint32_t name_off;    /* into names */
	uint32_t mode;        /* st_mode, type included */
	uint32_t uid;
	uint32_t gid;
	uint32_t nlink;
	uint32_t canon;       /* entry whose inode this is: st_ino = canon + 1 */
	uint32_t xattr;       /* offset into xattrs + 1; 0: none */
	uint32_t mtime_ns;
	uint32_t atime_ns;
	uint32_t ctime_ns;
	uint16_t name_len;
	uint16_t flags;       /* ARC_F_* */
};

/*
 * The identity an index is keyed by (and checked against): what fstat
 * says, ctime included (any write and any re-creation changes it, and no
 * user can set it back), and a checksum of the archive's first and last
 * ARC_SUM_BLOCK bytes, which tells apart two files whose stat fields all
 * agree (a rewrite within one clock tick, a file system whose ctime or
 * inode numbers cannot be trusted): a tar's first header, a zip's central
 * directory, a gzip or xz trailer with its checksum of all the data.
 */
#define ARC_SUM_BLOCK 4096
struct arc_ident {
	uint64_t dev;
	uint64_t ino;
	uint64_t size;
	int64_t mtime_sec;
	uint64_t mtime_nsec;
	int64_t ctime_sec;
	uint64_t ctime_nsec;
	uint64_t sum;
};

/*
 * Seek points of a compressed tar (ARC_H_STREAM): decoding may start at
 * any of them, instead of at the start of the stream.  Kinds:
 *   ARC_SK_NONE  none: the stream is decompressed whole, once, into the
 *                cache (one xz block, one zstd frame, bzip2, ...)
 *   ARC_SK_GZIP  deflate block boundaries, each with the 32 KiB the
 *                stream had produced before it, and gzip member starts:
 *                every ARC_SEEK_SPAN_MIN bytes of output while the windows
 *                stay within ARC_SEEK_WIN_PCT % of the output, and at the
 *                latest every ARC_SEEK_SPAN_MAX bytes (a window is at most
 *                about 32 KiB: under 1% of that)
 *   ARC_SK_XZ    xz block starts (from the file's own index)
 *   ARC_SK_ZSTD  zstd frame starts
 *   ARC_SK_BZIP2 bzip2 block starts (at any bit): in and bits give the
 *                bit where the block's magic starts, aux its length in
 *                bits (up to the next block's magic, or the stream's end
 *                marker), win_len the stream's block size digit (1-9)
 */
#define ARC_SK_NONE 0u
#define ARC_SK_GZIP 1u
#define ARC_SK_XZ   2u
#define ARC_SK_ZSTD 3u
#define ARC_SK_BZIP2 4u
#define ARC_SK_MAX  ARC_SK_BZIP2

#define ARC_SEEK_SPAN_MIN (256u << 10) /* gzip: output between two points */
#define ARC_SEEK_SPAN_MAX (4u << 20)
#define ARC_SEEK_WIN_PCT 2
#define ARC_SEEK_WIN  32768u      /* gzip: the window deflate refers back to */

/* arc_seek.flags */
#define ARC_SP_MEMBER 0x1u /* gzip: a member (its header) starts at in */

struct arc_seek {             /* 32 bytes */
	uint64_t out;         /* offset in the decompressed stream */
	uint64_t in;          /* offset in the archive where decoding starts */
	uint64_t aux;         /* gzip: the window's offset in wins;
			       * xz: the block's unpadded size */
	uint32_t win_len;     /* gzip: the deflated window's size; 0: none */
	uint8_t bits;         /* gzip: bits of byte in - 1 still to decode;
			       * xz: the stream's check type */
	uint8_t flags;        /* ARC_SP_* */
	uint16_t pad;
};

/*
 * The check of a member decoded from a seek point: decoding from the
 * middle of a stream skips the codec's own checks (a gzip member's
 * CRC-32, an xz block's, a zstd frame's checksum), and deflate or LZMA
 * decode most damage into other bytes without an error.
 */
struct arc_sum {              /* 16 bytes */
	uint64_t off;         /* the member's offset in the stream */
	uint32_t crc;         /* CRC-32 (zlib's) of its content */
	uint32_t pad;
};

/* The seek points being collected while an index is built. */
struct arc_seek_table {
	uint32_t kind;            /* ARC_SK_* */
	struct arc_seek *pts;
	uint64_t n, cap;
	unsigned char *wins;
	uint64_t wins_len, wins_cap;
	struct arc_sum *sums;     /* by offset: members come in stream order */
	uint64_t nsums, sums_cap;
};

/* A mapped, validated index. */
struct arc_index {
	void *base;
	size_t size;
	const struct arc_hdr *hdr;
	const struct arc_ent *ents;
	uint32_t nent;
	const char *names;
	uint64_t names_size;
	const uint32_t *kids;
	uint64_t nkids;
	const uint32_t *slots;
	uint64_t nslots;
	const unsigned char *xattrs;
	uint64_t xattr_size;
	const struct arc_seek *seeks; /* sorted by out; checked on use */
	uint64_t nseek;
	const unsigned char *wins;
	uint64_t win_size;
	const struct arc_sum *sums;   /* sorted by off; checked on use */
	uint64_t nsum;
};

/* Reads the archive with pread, so no file offset is shared. */
struct arc_src {
	int fd;
	int64_t pos;
	int64_t size;
	/* Progress while the index is built: also reported from the reads,
	 * so one huge member of a compressed archive still shows progress. */
	lyr_progress_fn *progress;
	void *progress_ctx;
	uint64_t entries;        /* headers read so far */
	struct arc_dec *dec;     /* when set, reads come decompressed from it
				  * (archive_seek.c), and pos counts bytes of the
				  * archive it consumed */
	int64_t reported;        /* pos at the last report */
	char buf[1 << 16];
};

/*
 * A cache entry is <cache_dir>/<key>/, key being arc_key_name(); archive.c
 * has the whole layout and the locking rules, which the cache's prune
 * (cache.c) relies on.
 */
#define ARC_ENTRY_INDEX  "index"      /* flock'ed shared by every process mapping it */
#define ARC_ENTRY_LOCK   "index.lock" /* flock'ed exclusively while the index is built */
#define ARC_ENTRY_SOURCE "source"     /* the archive's path; its mtime is the last use */
#define ARC_TMP_PREFIX   ".tmp."      /* temporaries, here and in data/ */
#define ARC_KEY_MAX      160          /* longest key name, NUL included */

/* ---- archive_index.c ------------------------------------------------ */

/* Makes the array *p (*cap elements of elem bytes) hold need: doubles
 * from 64 as far as needed; 0 or -ENOMEM (*p as it was). */
int arc_grow(void **p, uint64_t *cap, uint64_t need, size_t elem);

/*
 * The cache key of an identity, into buf (ARC_KEY_MAX bytes): every field
 * in hex and the index version, so that an entry of the cache can only
 * ever serve one archive's bytes.
 */
void arc_key_name(const struct arc_ident *id, char *buf, size_t size);

/*
 * The identity of the archive open on fd, whose fstat is st: one pread
 * (two when it is larger than 2 * ARC_SUM_BLOCK).  0 or -errno (-EIO
 * when the file is shorter than st says: it changed).
 */
int arc_ident_read(int fd, const struct stat *st, struct arc_ident *id);

/*
 * A libarchive reader over src (fd and size set by the caller), opened:
 * every format but mtree, every filter.  Loads libarchive first when this
 * process has not yet (archive_lib.h).  NULL when it cannot be opened;
 * then *errnum is -errno (-ENOSYS: libarchive cannot be loaded) and err
 * (may be NULL) says why, naming path.
 */
struct archive *arc_reader_open(struct arc_src *src, const char *path,
				struct lyr_error *err, int *errnum);
/* The same, reading the decompressed stream as one entry ("raw"). */
struct archive *arc_raw_open(struct arc_src *src, const char *path, int *errnum);

/* The -errno for a libarchive failure on a. */
int arc_reader_errno(struct archive *a);

/*
 * Reads the archive behind src and writes its index to out_fd (a fresh,
 * empty file).  Returns 0, or -errno with a message naming path and,
 * where there is one, the entry, in *err.
 */
int arc_index_build(struct arc_src *src, const char *path,
		    const struct arc_ident *ident,
		    const struct lyr_archive_opts *opts, int out_fd,
		    struct lyr_error *err);

/*
 * Maps the index in fd and checks its header (magic, version, sizes,
 * section bounds, checksum, archive identity): no per-entry work.
 * Returns 0, -EBADMSG when the file is not a usable index, -ESTALE when
 * it has no name any more (a cache prune removed it), -errno when it
 * cannot be mapped.  fd may be closed afterwards.
 */
int arc_index_map(int fd, const struct arc_ident *ident, struct arc_index *ix);

void arc_index_unmap(struct arc_index *ix);

/*
 * The child called name (len bytes) of directory parent: its id in *id,
 * 0 on success, -ENOENT when absent, -EIO when the index is inconsistent.
 */
int arc_index_find(const struct arc_index *ix, uint32_t parent,
		   const char *name, size_t len, uint32_t *id);

/* ---- archive_seek.c ------------------------------------------------- */

struct arc_dec;

/*
 * Looks at how the archive behind src is compressed and prepares its seek
 * points into t (zeroed by the caller): for xz they are read here from
 * the file's own index; for gzip and zstd, src->dec is set to a decoder
 * the index pass then reads through (arc_dec_read), which records them.
 * Leaves t->kind ARC_SK_NONE (and src->dec NULL) for anything else, and
 * for an xz of one block; then *note (may be NULL) says why, when the
 * archive is one whose members are worth reading in place.  0 or -ENOMEM.
 */
int arc_seek_begin(struct arc_src *src, struct arc_seek_table *t, const char **note);

/* The next decompressed bytes, as a libarchive read callback returns
 * them: > 0, 0 at the end, -errno (the stream is bad, or cut). */
ssize_t arc_dec_read(struct arc_src *src, const void **buf);

/* Whether the decoder failed (the index pass is then retried with
 * libarchive's own filters, without seek points). */
bool arc_dec_failed(const struct arc_src *src);

/*
 * Reads the data of the current entry of a (a member at stream offset
 * off, size bytes) and records its CRC-32 in t.  0, or -errno (the
 * entry's data could not be read whole).
 */
int arc_seek_sum(struct arc_seek_table *t, struct archive *a, uint64_t off,
		 uint64_t size);

/* Frees src->dec (and sets it NULL). */
void arc_seek_end(struct arc_src *src);

void arc_seek_table_free(struct arc_seek_table *t);

/* What arc_seek_copy's read cost: the seek point whose span holds its
 * start (k), and the bytes decoded before its start to get there
 * (passed: what reading out of the archive's order costs). */
struct arc_seek_cost {
	uint64_t k;
	uint64_t passed;
};

/*
 * Writes bytes [off, off + len) of the decompressed stream of the archive
 * open on fd to the start of out, decoding from the last seek point of ix
 * at or before off (or from where the last read stopped, when that is
 * nearer).  0, -EIO when the archive or the points are damaged, -ENOSYS
 * when the codec cannot be loaded, -errno.  cost (may be NULL) is set on
 * success.
 */
int arc_seek_copy(const struct arc_index *ix, int fd, uint64_t off, uint64_t len,
		  int out, struct arc_seek_cost *cost);

/* The seek point whose span holds stream offset off (nseek: none). */
uint64_t arc_seek_point(const struct arc_index *ix, uint64_t off);

/*
 * Copies bytes [off, off + len) of the stream from span, a file holding
 * the stream from offset lo on (a span written whole), to the start of
 * out, and checks them against the member's CRC-32 when off starts one:
 * 0, -EIO (a short or damaged file), or -errno.
 */
int arc_seek_copy_span(const struct arc_index *ix, int span, uint64_t lo, uint64_t off,
		       uint64_t len, int out);

/* Frees the decoder arc_seek_copy keeps, when it is ix's (call before
 * unmapping ix: another index could be mapped at the same address). */
void arc_seek_forget(const struct arc_index *ix);

/* ---- archive.c: introspection for tests ----------------------------- */

struct lyr_archive_info {
	uint64_t nent;          /* entries in the index, root included */
	uint64_t index_size;    /* bytes */
	int built_index;        /* this open built (or rebuilt) the index */
	unsigned extractions;   /* extraction passes this layer ran */
	uint32_t seek_kind;     /* ARC_SK_*: how a compressed tar is read */
	uint64_t nseek;         /* its seek points */
	char key_dir[PATH_MAX]; /* the archive's cache subdirectory */
};

/* Fills *info for an archive layer; -EINVAL for another layer. */
int lyr_archive_info(struct lyr_layer *l, struct lyr_archive_info *info);

#endif
