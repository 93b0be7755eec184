/* SPDX-License-Identifier: MIT */
/*
 * archive_index.c - builds, maps and searches the index of an archive
 * (the format is described in archive_index.h).
 *
 * Divisions:
 *   1. reading an archive    a pread-based libarchive client
 *   2. hashing               (parent id, name) -> slot
 *   3. building              one pass over the headers, into memory
 *   4. finishing             liveness, hard links, children, hash table
 *   5. writing
 *   6. identity, mapping and lookup
 *
 * Building follows what extraction would leave on disk: names lose
 * leading "/" and "./" (and empty or "." components), ".." anywhere is
 * refused, a later entry replaces an earlier one with the same name
 * (a directory over a directory only updates its metadata), directories
 * that only appear inside other names are created with mode 0755, owner
 * 0:0 and the archive file's mtime, and a non-directory met in the middle
 * of a name is replaced by such a directory (never followed).
 */
#define _GNU_SOURCE
#include "archive_index.h"
#include "archive_lib.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARC_DIR_SIZE 4096       /* st_size reported for directories */
#define ARC_OVERFLOW_ID 65534u  /* uid/gid that do not fit in 32 bits */
#define ARC_PROGRESS_EVERY 4096u    /* entries between progress reports */
#define ARC_PROGRESS_BYTES (8 << 20) /* or archive bytes read */

/* ---- 1. reading an archive ------------------------------------------ */

static la_ssize_t arc_src_read(struct archive *a, void *data, const void **buf)
{
	struct arc_src *s = data;
	ssize_t n;

	if (s->dec) {
		n = arc_dec_read(s, buf);
		if (n < 0) {
			archive_set_error(a, (int)-n, "bad compressed data: %s",
					  strerror((int)-n));
			return -1;
		}
		goto out_progress;
	}
	do
		n = pread(s->fd, s->buf, sizeof(s->buf), s->pos);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		archive_set_error(a, errno, "read error: %s", strerror(errno));
		return -1;
	}
	s->pos += n;
	*buf = s->buf;
out_progress:
	if (s->progress && s->pos - s->reported >= ARC_PROGRESS_BYTES) {
		s->reported = s->pos;
		s->progress(s->progress_ctx, s->entries, (uint64_t)s->pos, (uint64_t)s->size);
	}
	return n;
}

/*
 * Never skips past the end of the file: the reads that follow then find
 * the archive truncated, where a plain lseek would hide it.
 */
static la_int64_t arc_src_skip(struct archive *a, void *data, la_int64_t req)
{
	struct arc_src *s = data;
	int64_t left = s->size > s->pos ? s->size - s->pos : 0;

	(void)a;
	if (s->dec)
		return 0; /* a decoded stream is read, never skipped */
	if (req > left)
		req = left;
	if (req < 0)
		req = 0;
	s->pos += req;
	return req;
}

static la_int64_t arc_src_seek(struct archive *a, void *data, la_int64_t off,
			       int whence)
{
	struct arc_src *s = data;
	int64_t base;

	(void)a;
	if (s->dec)
		return ARCHIVE_FATAL;
	if (whence == SEEK_SET)
		base = 0;
	else if (whence == SEEK_CUR)
		base = s->pos;
	else if (whence == SEEK_END)
		base = s->size;
	else
		return ARCHIVE_FATAL;
	if ((off > 0 && off > INT64_MAX - base) || base + off < 0)
		return ARCHIVE_FATAL;
	s->pos = base + off;
	return s->pos;
}

typedef int arc_support_fn(struct archive *);

/*
 * archive_read_support_format_all() minus mtree (an mtree "archive" is a
 * manifest whose content is read from host files, which would escape the
 * archive and its identity key), in the same order: cheap bidders first.
 * The order matters beyond speed: with iso9660's large look-ahead bid
 * before tar, libarchive 3.6 reports a tar cut inside a header as a clean
 * end instead of "Truncated tar archive".  The entries point at slots of
 * the table of archive_lib.h, which is only filled at run time.
 */
static arc_support_fn *const *const arc_formats[] = {
	&archive_read_support_format_ar,      &archive_read_support_format_cpio,
	&archive_read_support_format_empty,   &archive_read_support_format_lha,
	&archive_read_support_format_tar,     &archive_read_support_format_xar,
	&archive_read_support_format_warc,    &archive_read_support_format_7zip,
	&archive_read_support_format_cab,     &archive_read_support_format_rar,
	&archive_read_support_format_rar5,    &archive_read_support_format_iso9660,
	&archive_read_support_format_zip,
};

static const char *arc_msg(struct archive *a)
{
	const char *m = archive_error_string(a);
	return m && *m ? m : "unreadable archive";
}

/* See archive_index.h. */
int arc_reader_errno(struct archive *a)
{
	int e = archive_errno(a);

	/* System errors pass through; libarchive's own codes (EILSEQ for a
	 * bad format, -1 for "misc") all mean "not a valid archive". */
	switch (e) {
	case ENOMEM: case EIO: case EACCES: case EPERM: case EOVERFLOW:
		return -e;
	default:
		return -EINVAL;
	}
}

static struct archive *arc_open_with(struct arc_src *src, const char *path,
				     struct lyr_error *err, int *errnum, bool raw)
{
	struct archive *a;

	if ((*errnum = arc_lib_load(path, err)))
		return NULL;
	if (!(a = archive_read_new())) {
		*errnum = lyr_seterr(err, ENOMEM, "%s: out of memory", path);
		return NULL;
	}
	archive_read_support_filter_all(a);
	if (raw)
		archive_read_support_format_raw(a);
	for (size_t i = 0; !raw && i < sizeof(arc_formats) / sizeof(arc_formats[0]); i++)
		(*arc_formats[i])(a);
	archive_read_set_read_callback(a, arc_src_read);
	archive_read_set_skip_callback(a, arc_src_skip);
	archive_read_set_seek_callback(a, arc_src_seek);
	archive_read_set_callback_data(a, src);
	src->pos = 0;
	if (archive_read_open1(a) != ARCHIVE_OK) {
		*errnum = arc_reader_errno(a);
		lyr_seterr(err, *errnum, "%s: %s", path, arc_msg(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* See archive_index.h; src->pos is reset here. */
struct archive *arc_reader_open(struct arc_src *src, const char *path,
				struct lyr_error *err, int *errnum)
{
	return arc_open_with(src, path, err, errnum, false);
}

/* See archive_index.h. */
struct archive *arc_raw_open(struct arc_src *src, const char *path, int *errnum)
{
	return arc_open_with(src, path, NULL, errnum, true);
}

/* ---- 2. hashing ------------------------------------------------------ */

static uint64_t arc_hash(uint32_t parent, const char *name, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull ^ (parent * 0x9e3779b97f4a7c15ull);

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 0x100000001b3ull;
	}
	/* FNV alone leaves the high bits weak for short names: finalise. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/* Maps a hash onto [0, nslots) without a division (nslots < 2^32). */
static uint64_t arc_slot_of(uint64_t h, uint64_t nslots)
{
	return ((h >> 32) * nslots) >> 32;
}

/* ---- 3. building ----------------------------------------------------- */

struct arc_bld {
	struct arc_ent *ents;
	uint64_t n, cap;
	char *names;
	uint64_t names_len, names_cap;
	unsigned char *xat;
	uint64_t xat_len, xat_cap;
	uint32_t *slots;        /* build-time hash, same scheme as the index */
	uint64_t nslots, used;
	uint32_t *kids;         /* filled when finishing */
	uint64_t nkids;
	uint32_t *fslots;       /* the final hash table */
	uint64_t nfslots;
	uint64_t nextract;
	bool inplace;           /* a tar: data readable in place ... */
	bool stream;            /* ... in the decompressed stream (ARC_H_STREAM) */
	struct arc_seek_table seek; /* its seek points (archive_seek.c) */
	int64_t last_end;       /* a tar: where the last member's data ends, -1 */
	struct arc_src *src;    /* what is read (progress counts entries there) */
	const char *path;       /* the archive, for messages */
	const struct arc_ident *ident;
	struct lyr_error *err;
};

int arc_grow(void **p, uint64_t *cap, uint64_t need, size_t elem)
{
	uint64_t c = *cap ? *cap : 64;
	void *q;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	if (c > SIZE_MAX / elem)
		return -ENOMEM;
	q = realloc(*p, c * elem);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = c;
	return 0;
}

/* Appends bytes to the names blob; its offsets are 32-bit. */
static int bld_name(struct arc_bld *b, const char *s, size_t len, uint64_t *off)
{
	*off = b->names_len;
	if (!len)
		return 0;
	if (b->names_len + len > UINT32_MAX)
		return -EFBIG;
	if (arc_grow((void **)&b->names, &b->names_cap, b->names_len + len, 1))
		return -ENOMEM;
	memcpy(b->names + b->names_len, s, len);
	b->names_len += len;
	return 0;
}

static int bld_rehash(struct arc_bld *b, uint64_t nslots)
{
	uint32_t *s = calloc(nslots, sizeof(*s));

	if (!s)
		return -ENOMEM;
	for (uint64_t i = 0; i < b->nslots; i++) {
		uint32_t v = b->slots[i];
		if (!v)
			continue;
		const struct arc_ent *x = &b->ents[v];
		uint64_t j = arc_slot_of(arc_hash(x->parent, b->names + x->name_off,
						  x->name_len), nslots);
		while (s[j])
			if (++j == nslots)
				j = 0;
		s[j] = v;
	}
	free(b->slots);
	b->slots = s;
	b->nslots = nslots;
	return 0;
}

/* Room for one more key; call before bld_slot, whose result it moves. */
static int bld_reserve(struct arc_bld *b)
{
	if ((b->used + 1) * 2 <= b->nslots)
		return 0;
	return bld_rehash(b, b->nslots ? b->nslots * 2 : 1024);
}

/* The slot holding (parent, name), or the empty slot where it would go. */
static uint32_t *bld_slot(struct arc_bld *b, uint32_t parent, const char *name,
			  size_t len)
{
	uint64_t i = arc_slot_of(arc_hash(parent, name, len), b->nslots);

	for (;;) {
		uint32_t v = b->slots[i];
		if (!v)
			return &b->slots[i];
		const struct arc_ent *x = &b->ents[v];
		if (x->parent == parent && x->name_len == len &&
		    !memcmp(b->names + x->name_off, name, len))
			return &b->slots[i];
		if (++i == b->nslots)
			i = 0;
	}
}

static int bld_new(struct arc_bld *b, uint32_t parent, const char *name,
		   size_t len, uint32_t *id)
{
	uint64_t off = 0;
	int r;

	if (b->n >= UINT32_MAX)
		return -EFBIG;
	if (arc_grow((void **)&b->ents, &b->cap, b->n + 1, sizeof(*b->ents)))
		return -ENOMEM;
	if ((r = bld_name(b, name, len, &off)))
		return r;
	struct arc_ent *x = &b->ents[b->n];
	memset(x, 0, sizeof(*x));
	x->parent = parent;
	x->name_off = (uint32_t)off;
	x->name_len = (uint16_t)len;
	x->canon = (uint32_t)b->n;
	*id = (uint32_t)b->n++;
	return 0;
}

static void bld_implied_dir(struct arc_bld *b, struct arc_ent *x)
{
	x->mode = S_IFDIR | 0755;
	x->uid = x->gid = 0;
	x->size = ARC_DIR_SIZE;
	x->mtime = x->atime = x->ctime = b->ident->mtime_sec;
	x->mtime_ns = x->atime_ns = x->ctime_ns = (uint32_t)b->ident->mtime_nsec;
}

/* Build-time only: the entry replaced a whiteout of its name in this
 * layer (bld_links makes such a directory ARC_F_OPAQUE). */
#define BLD_F_OVERWH 0x8000u

/*
 * Puts a new entry (name under parent) in place of whatever the slot held:
 * the old entry loses its name but stays, as the inode of its hard links.
 */
static int bld_replace(struct arc_bld *b, uint32_t *slot, uint32_t parent,
		       const char *name, size_t len, uint32_t *id)
{
	uint32_t old = *slot;
	int r = bld_new(b, parent, name, len, id);

	if (r)
		return r;
	if (old) {
		b->ents[old].flags |= ARC_F_DETACHED;
		/* A name made in the layer of its own whiteout hides the
		 * layers below: as a directory, it is opaque. */
		if (b->ents[old].flags & (ARC_F_WHITEOUT | BLD_F_OVERWH))
			b->ents[*id].flags |= BLD_F_OVERWH;
	} else {
		b->used++;
	}
	*slot = *id;
	return 0;
}

/* The directory called name under parent, created (implied) if missing. */
static int bld_dir(struct arc_bld *b, uint32_t parent, const char *name,
		   size_t len, uint32_t *id)
{
	uint32_t *slot;
	int r;

	if ((r = bld_reserve(b)))
		return r;
	slot = bld_slot(b, parent, name, len);
	if (*slot && S_ISDIR(b->ents[*slot].mode)) {
		*id = *slot;
		return 0;
	}
	if ((r = bld_replace(b, slot, parent, name, len, id)))
		return r;
	bld_implied_dir(b, &b->ents[*id]);
	return 0;
}

/* Next component of *p: its start and length; 0 when there is none. */
static size_t arc_next_comp(const char **p, const char **comp)
{
	const char *s = *p;

	for (;;) {
		while (*s == '/')
			s++;
		const char *e = strchrnul(s, '/');
		if (e == s) {
			*p = s;
			return 0;
		}
		*p = e;
		if (e - s == 1 && s[0] == '.') {
			s = e;
			continue;
		}
		*comp = s;
		return (size_t)(e - s);
	}
}

/* Checks every component of an archive name; returns -errno and a reason. */
static int arc_check_name(const char *name, const char **why)
{
	const char *p = name, *c;
	size_t len;

	while ((len = arc_next_comp(&p, &c))) {
		if (len == 2 && c[0] == '.' && c[1] == '.') {
			*why = "unsafe name: it has a \"..\" component";
			return -EINVAL;
		}
		if (len > NAME_MAX) {
			*why = "a name component is longer than NAME_MAX";
			return -ENAMETOOLONG;
		}
	}
	return 0;
}

/*
 * Walks name (checked), creating its directories when create is set,
 * otherwise failing with -ENOENT.  Leaves the directory holding the last
 * component in *dir and that component in *last / *len (*len 0: the
 * name is the root itself, *dir 0).
 */
static int bld_walk(struct arc_bld *b, const char *name, bool create,
		    uint32_t *dir, const char **last, size_t *len)
{
	const char *p = name, *c, *next;
	size_t l = arc_next_comp(&p, &c), nl;
	int r;

	*dir = 0;
	*len = 0;
	while (l) {
		nl = arc_next_comp(&p, &next);
		if (!nl) {
			*last = c;
			*len = l;
			return 0;
		}
		if (create) {
			if ((r = bld_dir(b, *dir, c, l, dir)))
				return r;
		} else {
			if (!b->nslots)
				return -ENOENT;
			uint32_t v = *bld_slot(b, *dir, c, l);
			if (!v || !S_ISDIR(b->ents[v].mode))
				return -ENOENT;
			*dir = v;
		}
		c = next;
		l = nl;
	}
	return 0;
}

static uint32_t arc_id32(la_int64_t v)
{
	return v < 0 || v >= (la_int64_t)UINT32_MAX ? ARC_OVERFLOW_ID : (uint32_t)v;
}

static uint32_t arc_nsec(long ns)
{
	return ns < 0 || ns > 999999999 ? 0 : (uint32_t)ns;
}

/* Owner, permissions and times of an entry (absent times: mtime). */
static void bld_attrs(struct arc_bld *b, struct arc_ent *x, struct archive_entry *e)
{
	x->mode = (x->mode & S_IFMT) | (archive_entry_perm(e) & 07777);
	x->uid = arc_id32(archive_entry_uid(e));
	x->gid = arc_id32(archive_entry_gid(e));
	if (archive_entry_mtime_is_set(e)) {
		x->mtime = archive_entry_mtime(e);
		x->mtime_ns = arc_nsec(archive_entry_mtime_nsec(e));
	} else {
		x->mtime = b->ident->mtime_sec;
		x->mtime_ns = (uint32_t)b->ident->mtime_nsec;
	}
	x->atime = x->ctime = x->mtime;
	x->atime_ns = x->ctime_ns = x->mtime_ns;
	if (archive_entry_atime_is_set(e)) {
		x->atime = archive_entry_atime(e);
		x->atime_ns = arc_nsec(archive_entry_atime_nsec(e));
	}
	if (archive_entry_ctime_is_set(e)) {
		x->ctime = archive_entry_ctime(e);
		x->ctime_ns = arc_nsec(archive_entry_ctime_nsec(e));
	}
}

static int bld_xat_put(struct arc_bld *b, const void *p, size_t n)
{
	if (arc_grow((void **)&b->xat, &b->xat_cap, b->xat_len + n, 1))
		return -ENOMEM;
	memcpy(b->xat + b->xat_len, p, n);
	b->xat_len += n;
	return 0;
}

/* An attribute called name is among the records from start on. */
static bool bld_xat_has(const struct arc_bld *b, uint64_t start, const char *name,
			uint32_t nl)
{
	uint64_t p = start + sizeof(uint32_t);
	uint32_t l, v;

	while (p < b->xat_len) {
		memcpy(&l, b->xat + p, sizeof(l));
		memcpy(&v, b->xat + p + sizeof(l), sizeof(v));
		p += 2 * sizeof(uint32_t);
		if (l == nl && !memcmp(b->xat + p, name, nl))
			return true;
		p += (uint64_t)l + v;
	}
	return false;
}

/*
 * Stores the entry's extended attributes; *off as in arc_ent.xattr.  A
 * name given twice (libarchive writes both LIBARCHIVE.xattr and
 * SCHILY.xattr records, and reads back both) is kept once.
 */
static int bld_xattrs(struct arc_bld *b, struct archive_entry *e, uint32_t *off)
{
	uint64_t start = b->xat_len;
	uint32_t count = 0, nl, vl;
	const char *name;
	const void *val;
	size_t size;
	int r;

	*off = 0;
	if (archive_entry_xattr_reset(e) <= 0)
		return 0;
	if ((r = bld_xat_put(b, &count, sizeof(count))))
		return r;
	while (archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK) {
		if (!name || !*name || size > UINT32_MAX)
			continue;
		nl = (uint32_t)strlen(name);
		vl = (uint32_t)size;
		if (bld_xat_has(b, start, name, nl))
			continue;
		if ((r = bld_xat_put(b, &nl, sizeof(nl))) ||
		    (r = bld_xat_put(b, &vl, sizeof(vl))) ||
		    (r = bld_xat_put(b, name, nl)) ||
		    (r = bld_xat_put(b, val ? val : "", vl)))
			return r;
		count++;
	}
	if (!count) {
		b->xat_len = start;
		return 0;
	}
	if (b->xat_len >= UINT32_MAX)
		return -EFBIG;
	memcpy(b->xat + start, &count, sizeof(count));
	*off = (uint32_t)start + 1;
	return 0;
}

/* Where a regular file's content is: in place, or by header number. */
static int bld_data(struct arc_bld *b, struct arc_ent *x, struct archive_entry *e,
		    uint64_t seq, int64_t off, const char **why)
{
	x->flags &= (uint16_t)~ARC_F_INPLACE;
	if (b->inplace && archive_entry_sparse_count(e) == 0) {
		/* (the decompressed stream's end is checked as it is read) */
		if (off < 0 || (!b->stream && (x->size > (uint64_t)b->ident->size ||
					      (uint64_t)off > b->ident->size - x->size))) {
			*why = "truncated archive: the entry's data runs past the end";
			return -EINVAL;
		}
		x->flags |= ARC_F_INPLACE;
		x->data = (uint64_t)off;
	} else {
		x->data = seq;
	}
	return 0;
}

/* Reads an entry's data to learn its size, for formats that omit it. */
static int bld_count_size(struct archive *a, uint64_t *size)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;

	*size = 0;
	while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK ||
	       r == ARCHIVE_WARN)
		if (off >= 0 && (uint64_t)off + len > *size)
			*size = (uint64_t)off + len;
	return r == ARCHIVE_EOF ? 0 : arc_reader_errno(a);
}

struct bld_cur {              /* the header being indexed */
	struct archive *a;
	struct archive_entry *e;
	uint64_t seq;             /* header number */
	int64_t off;              /* offset of its data in the (raw) archive */
	mode_t type;
	const char **why;
};

/* Type-specific content of a non-link entry. */
static int bld_content(struct arc_bld *b, uint32_t id, struct bld_cur *c)
{
	struct arc_ent *x = &b->ents[id];
	const char *t;
	uint64_t off, size;
	int r;

	switch (c->type) {
	case S_IFREG:
		if (archive_entry_size_is_set(c->e)) {
			if (archive_entry_size(c->e) < 0) {
				*c->why = "negative size";
				return -EINVAL;
			}
			x->size = (uint64_t)archive_entry_size(c->e);
		} else {
			if ((r = bld_count_size(c->a, &size)))
				return r;
			x = &b->ents[id];
			x->size = size;
		}
		if ((r = bld_data(b, x, c->e, c->seq, c->off, c->why)))
			return r;
		/* read from seek points: the check of its content */
		if (b->src->dec && (x->flags & ARC_F_INPLACE) && x->size &&
		    (r = arc_seek_sum(&b->seek, c->a, x->data, x->size)))
			return r;
		return 0;
	case S_IFLNK:
		t = archive_entry_symlink(c->e);
		if (!t || !*t) {
			*c->why = "symbolic link without a target";
			return -EINVAL;
		}
		if ((r = bld_name(b, t, strlen(t), &off)))
			return r;
		x->data = off;
		x->size = strlen(t);
		return 0;
	case S_IFDIR:
		x->size = ARC_DIR_SIZE;
		return 0;
	case S_IFCHR:
	case S_IFBLK:
		x->data = archive_entry_rdev(c->e);
		return 0;
	default:
		return 0;
	}
}

/* Fills a (new or reused) entry from the header. */
static int bld_fill(struct arc_bld *b, uint32_t id, struct bld_cur *c)
{
	uint32_t xat;
	int r;

	if ((r = bld_xattrs(b, c->e, &xat)))
		return r;
	b->ents[id].xattr = xat;
	b->ents[id].mode = c->type;
	bld_attrs(b, &b->ents[id], c->e);
	return bld_content(b, id, c);
}

/*
 * A hard link: a new name for the inode of target.  A link that carries
 * data (cpio stores it with the last link) gives the inode that data and
 * the link's metadata, as extraction would.
 */
static int bld_hardlink(struct arc_bld *b, uint32_t dir, const char *name,
			size_t len, struct bld_cur *c)
{
	const char *target = archive_entry_hardlink(c->e), *tl;
	uint32_t tdir, t, *slot, id, canon;
	size_t tlen;
	int r;

	if (arc_check_name(target, c->why)) {
		*c->why = "hard link target with a \"..\" or overlong component";
		return -EINVAL;
	}
	if ((r = bld_walk(b, target, false, &tdir, &tl, &tlen)) || !tlen ||
	    !(t = *bld_slot(b, tdir, tl, tlen))) {
		*c->why = "hard link to a missing target";
		return -EINVAL;
	}
	if (b->ents[t].flags & ARC_F_WHITEOUT) {
		*c->why = "hard link to a whiteout";
		return -EINVAL;
	}
	if (S_ISDIR(b->ents[t].mode)) {
		*c->why = "hard link to a directory";
		return -EINVAL;
	}
	canon = b->ents[t].canon;
	if ((r = bld_reserve(b)))
		return r;
	slot = bld_slot(b, dir, name, len);
	if (*slot != t) {
		if ((r = bld_replace(b, slot, dir, name, len, &id)))
			return r;
		uint32_t name_off = b->ents[id].name_off;
		b->ents[id] = b->ents[canon]; /* refreshed when finishing */
		b->ents[id].parent = dir;
		b->ents[id].name_off = name_off;
		b->ents[id].name_len = (uint16_t)len;
		b->ents[id].flags = 0;
	}
	if (archive_entry_size(c->e) > 0 && S_ISREG(b->ents[canon].mode)) {
		c->type = S_IFREG;
		return bld_fill(b, canon, c);
	}
	return 0;
}

/*
 * An OCI image-layer marker (the image-spec's layer rules): ".wh..wh..opq"
 * makes dir opaque, another ".wh..wh." name is the layer's metadata
 * (ignored), ".wh.NAME" is a whiteout of NAME.  A whiteout hides only the
 * layers below: NAME in this same layer, before or after its whiteout,
 * stays (a directory then opaque, as nothing below may show through).
 * Markers are never names of the view; their own metadata and type do
 * not matter.
 */
static int bld_marker(struct arc_bld *b, uint32_t dir, const char *last, size_t len)
{
	uint32_t *slot, id;
	int r;

	if (len == sizeof(LYR_WH_OPAQUE) - 1 && !memcmp(last, LYR_WH_OPAQUE, len)) {
		b->ents[dir].flags |= ARC_F_OPAQUE;
		return 0;
	}
	if ((len >= LYR_WH_META_LEN && !memcmp(last, LYR_WH_META, LYR_WH_META_LEN)) ||
	    len == LYR_WH_PREFIX_LEN)
		return 0;
	last += LYR_WH_PREFIX_LEN;
	len -= LYR_WH_PREFIX_LEN;
	if ((len == 1 && last[0] == '.') || (len == 2 && last[0] == '.' && last[1] == '.'))
		return 0;
	if ((r = bld_reserve(b)))
		return r;
	slot = bld_slot(b, dir, last, len);
	if (*slot) {
		if (S_ISDIR(b->ents[*slot].mode))
			b->ents[*slot].flags |= ARC_F_OPAQUE;
		return 0;
	}
	if ((r = bld_replace(b, slot, dir, last, len, &id)))
		return r;
	b->ents[id].flags |= ARC_F_WHITEOUT;
	return 0;
}

/* Is a component of name other than its last one a marker (".wh.*")?
 * What is below one is no part of the view. */
static bool arc_under_marker(const char *name)
{
	const char *p = name, *c, *next;
	size_t l = arc_next_comp(&p, &c), nl;

	for (; l; c = next, l = nl) {
		nl = arc_next_comp(&p, &next);
		if (nl && l >= LYR_WH_PREFIX_LEN && !memcmp(c, LYR_WH_PREFIX, LYR_WH_PREFIX_LEN))
			return true;
	}
	return false;
}

/* Indexes one header. */
static int bld_entry(struct arc_bld *b, struct bld_cur *c)
{
	const char *name = archive_entry_pathname(c->e), *last;
	uint32_t dir, *slot, id;
	size_t len;
	int r;

	if (!name) {
		*c->why = "an entry has no name";
		return -EINVAL;
	}
	c->type = archive_entry_filetype(c->e);
	if (!c->type)
		c->type = S_IFREG; /* unknown tar types extract as files */
	if ((r = arc_check_name(name, c->why)))
		return r;
	if (arc_under_marker(name))
		return 0;
	if ((r = bld_walk(b, name, true, &dir, &last, &len)))
		return r;
	if (len >= LYR_WH_PREFIX_LEN && !memcmp(last, LYR_WH_PREFIX, LYR_WH_PREFIX_LEN))
		return bld_marker(b, dir, last, len);
	if (archive_entry_hardlink(c->e)) {
		if (!len) {
			*c->why = "hard link over the root directory";
			return -EINVAL;
		}
		return bld_hardlink(b, dir, last, len, c);
	}
	if (!len) {
		if (c->type != S_IFDIR) {
			*c->why = "names the root directory but is not a directory";
			return -EINVAL;
		}
		return bld_fill(b, 0, c);
	}
	if ((r = bld_reserve(b)))
		return r;
	slot = bld_slot(b, dir, last, len);
	if (*slot && c->type == S_IFDIR && S_ISDIR(b->ents[*slot].mode))
		id = *slot; /* keeps its children */
	else if ((r = bld_replace(b, slot, dir, last, len, &id)))
		return r;
	return bld_fill(b, id, c);
}

/* ---- 4. finishing ---------------------------------------------------- */

static int bld_cmp_names(const void *pa, const void *pb, void *ctx)
{
	const struct arc_bld *b = ctx;
	const struct arc_ent *x = &b->ents[*(const uint32_t *)pa];
	const struct arc_ent *y = &b->ents[*(const uint32_t *)pb];
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(b->names + x->name_off, b->names + y->name_off, n);

	if (c)
		return c;
	return (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

/*
 * Drops entries nothing can reach (replaced names and whatever was below
 * them) unless a reachable hard link still uses them as its inode, and
 * renumbers the rest densely.  A parent and a link target always come
 * before the entries that use them, so one forward pass suffices.
 */
static int bld_compact(struct arc_bld *b)
{
	uint32_t *map = malloc(b->n * sizeof(*map));
	unsigned char *live = calloc(b->n, 1);
	uint64_t i, j = 0;

	if (!map || !live) {
		free(map);
		free(live);
		return -ENOMEM;
	}
	live[0] = 2;
	for (i = 1; i < b->n; i++) {
		const struct arc_ent *x = &b->ents[i];
		if (!(x->flags & ARC_F_DETACHED) && live[x->parent] == 2)
			live[i] = 2;
		if (live[i] == 2 && !live[x->canon])
			live[x->canon] = 1; /* an inode only */
	}
	for (i = 0; i < b->n; i++) {
		if (!live[i])
			continue;
		struct arc_ent x = b->ents[i];
		map[i] = (uint32_t)j;
		x.parent = map[x.parent];
		x.canon = map[x.canon];
		if (live[i] == 1) {
			x.flags |= ARC_F_DETACHED;
			x.parent = 0;
			x.name_len = 0;
		}
		b->ents[j++] = x;
	}
	b->n = j;
	free(map);
	free(live);
	return 0;
}

static bool ent_named(const struct arc_ent *x)
{
	return !(x->flags & ARC_F_DETACHED);
}

/* Link counts, and the inode fields copied into every hard link. */
static void bld_links(struct arc_bld *b)
{
	uint64_t i;

	for (i = 0; i < b->n; i++) {
		struct arc_ent *x = &b->ents[i];
		x->nlink = S_ISDIR(x->mode) ? 2 : 0;
		if ((x->flags & BLD_F_OVERWH) && S_ISDIR(x->mode))
			x->flags |= ARC_F_OPAQUE;
		x->flags &= (uint16_t)~BLD_F_OVERWH;
	}
	for (i = 1; i < b->n; i++) {
		struct arc_ent *x = &b->ents[i];
		if (!ent_named(x))
			continue;
		if (S_ISDIR(x->mode))
			b->ents[x->parent].nlink++;
		else
			b->ents[x->canon].nlink++;
	}
	for (i = 1; i < b->n; i++) {
		struct arc_ent *x = &b->ents[i];
		const struct arc_ent *in = &b->ents[x->canon];
		if (x->canon == i)
			continue;
		x->mode = in->mode;
		x->uid = in->uid;
		x->gid = in->gid;
		x->nlink = in->nlink;
		x->size = in->size;
		x->data = in->data;
		x->xattr = in->xattr;
		x->mtime = in->mtime;
		x->atime = in->atime;
		x->ctime = in->ctime;
		x->mtime_ns = in->mtime_ns;
		x->atime_ns = in->atime_ns;
		x->ctime_ns = in->ctime_ns;
		x->flags = (uint16_t)((x->flags & ~ARC_F_INPLACE) |
				      (in->flags & ARC_F_INPLACE));
	}
	for (i = 0; i < b->n; i++) {
		const struct arc_ent *x = &b->ents[i];
		if (x->canon == i && S_ISREG(x->mode) && x->size &&
		    !(x->flags & ARC_F_INPLACE))
			b->nextract++;
	}
}

/* Each directory's children, sorted by name; kept in its data field. */
static int bld_children(struct arc_bld *b)
{
	uint32_t *start = calloc(b->n + 1, sizeof(*start));
	uint64_t i;

	if (!start)
		return -ENOMEM;
	for (i = 1; i < b->n; i++)
		if (ent_named(&b->ents[i]))
			start[b->ents[i].parent + 1]++, b->nkids++;
	for (i = 0; i < b->n; i++)
		start[i + 1] += start[i];
	b->kids = malloc((b->nkids ? b->nkids : 1) * sizeof(*b->kids));
	if (!b->kids) {
		free(start);
		return -ENOMEM;
	}
	for (i = 0; i < b->n; i++)
		if (S_ISDIR(b->ents[i].mode))
			b->ents[i].data = (uint64_t)start[i] << 32;
	for (i = 1; i < b->n; i++) {
		const struct arc_ent *x = &b->ents[i];
		if (ent_named(x))
			b->kids[start[x->parent]++] = (uint32_t)i;
	}
	for (i = 0; i < b->n; i++) {
		struct arc_ent *x = &b->ents[i];
		if (!S_ISDIR(x->mode))
			continue;
		uint32_t first = (uint32_t)(x->data >> 32);
		uint32_t count = start[i] - first;
		x->data |= count;
		qsort_r(b->kids + first, count, sizeof(*b->kids), bld_cmp_names, b);
	}
	free(start);
	return 0;
}

/* The final hash table: load about 2/3. */
static int bld_final_hash(struct arc_bld *b)
{
	b->nfslots = b->nkids + b->nkids / 2 + 1;
	b->fslots = calloc(b->nfslots, sizeof(*b->fslots));
	if (!b->fslots)
		return -ENOMEM;
	for (uint64_t k = 0; k < b->nkids; k++) {
		uint32_t v = b->kids[k];
		const struct arc_ent *x = &b->ents[v];
		uint64_t j = arc_slot_of(arc_hash(x->parent, b->names + x->name_off,
						  x->name_len), b->nfslots);
		while (b->fslots[j])
			if (++j == b->nfslots)
				j = 0;
		b->fslots[j] = v;
	}
	return 0;
}

/* ---- 5. writing ------------------------------------------------------ */

static uint64_t arc_align8(uint64_t v)
{
	return (v + 7) & ~(uint64_t)7;
}

static uint64_t arc_hdr_sum(const struct arc_hdr *h)
{
	const unsigned char *p = (const unsigned char *)h;
	uint64_t s = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < offsetof(struct arc_hdr, hdr_sum); i++) {
		s ^= p[i];
		s *= 0x100000001b3ull;
	}
	return s;
}

static int arc_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Writes one section at *pos (already aligned) and pads to 8 bytes. */
static int arc_write_sect(int fd, uint64_t *pos, const void *p, uint64_t n)
{
	static const char zero[8];
	uint64_t pad = arc_align8(*pos + n) - (*pos + n);
	int r;

	if (n && (r = arc_write_all(fd, p, n)))
		return r;
	if (pad && (r = arc_write_all(fd, zero, pad)))
		return r;
	*pos += n + pad;
	return 0;
}

static int bld_write(struct arc_bld *b, int fd)
{
	struct arc_hdr h = { .version = ARC_INDEX_VERSION };
	uint64_t pos = 0;
	int r;

	memcpy(h.magic, ARC_MAGIC, sizeof(h.magic));
	h.hdr_size = sizeof(h);
	h.ent_size = sizeof(struct arc_ent);
	h.flags = (b->inplace ? ARC_H_INPLACE : 0) | (b->stream ? ARC_H_STREAM : 0);
	h.arc_dev = b->ident->dev;
	h.arc_ino = b->ident->ino;
	h.arc_size = b->ident->size;
	h.arc_mtime_sec = b->ident->mtime_sec;
	h.arc_mtime_nsec = b->ident->mtime_nsec;
	h.nent = b->n;
	h.ent_off = arc_align8(sizeof(h));
	h.names_off = h.ent_off + b->n * sizeof(struct arc_ent);
	h.names_size = b->names_len;
	h.kids_off = arc_align8(h.names_off + b->names_len);
	h.nkids = b->nkids;
	h.slots_off = arc_align8(h.kids_off + b->nkids * sizeof(uint32_t));
	h.nslots = b->nfslots;
	h.xattr_off = arc_align8(h.slots_off + b->nfslots * sizeof(uint32_t));
	h.xattr_size = b->xat_len;
	h.file_size = arc_align8(h.xattr_off + b->xat_len);
	h.nextract = b->nextract;
	h.arc_ctime_sec = b->ident->ctime_sec;
	h.arc_ctime_nsec = b->ident->ctime_nsec;
	h.arc_sum = b->ident->sum;
	h.seek_kind = b->seek.kind;
	h.seek_off = h.file_size;
	h.nseek = b->seek.n;
	h.win_off = arc_align8(h.seek_off + b->seek.n * sizeof(struct arc_seek));
	h.win_size = b->seek.wins_len;
	h.sum_off = arc_align8(h.win_off + b->seek.wins_len);
	h.nsum = b->seek.nsums;
	h.file_size = arc_align8(h.sum_off + b->seek.nsums * sizeof(struct arc_sum));
	h.hdr_sum = arc_hdr_sum(&h);

	if ((r = arc_write_sect(fd, &pos, &h, sizeof(h))) ||
	    (r = arc_write_sect(fd, &pos, b->ents, b->n * sizeof(struct arc_ent))) ||
	    (r = arc_write_sect(fd, &pos, b->names, b->names_len)) ||
	    (r = arc_write_sect(fd, &pos, b->kids, b->nkids * sizeof(uint32_t))) ||
	    (r = arc_write_sect(fd, &pos, b->fslots, b->nfslots * sizeof(uint32_t))) ||
	    (r = arc_write_sect(fd, &pos, b->xat, b->xat_len)) ||
	    (r = arc_write_sect(fd, &pos, b->seek.pts, b->seek.n * sizeof(struct arc_seek))) ||
	    (r = arc_write_sect(fd, &pos, b->seek.wins, b->seek.wins_len)) ||
	    (r = arc_write_sect(fd, &pos, b->seek.sums, b->seek.nsums * sizeof(struct arc_sum))))
		return r;
	return 0;
}

static void bld_free(struct arc_bld *b)
{
	free(b->ents);
	free(b->names);
	free(b->xat);
	free(b->slots);
	free(b->kids);
	free(b->fslots);
	arc_seek_table_free(&b->seek);
}

static int bld_init(struct arc_bld *b)
{
	uint32_t root;
	int r;

	if ((r = bld_new(b, 0, "", 0, &root)) || (r = bld_rehash(b, 1024)))
		return r;
	bld_implied_dir(b, &b->ents[root]);
	return 0;
}

static void bld_progress(const struct arc_bld *b, const struct lyr_archive_opts *opts,
			 struct archive *a, uint64_t entries, uint64_t total)
{
	/* archive bytes: with a decoder, libarchive only sees its output */
	la_int64_t done = b->src && b->src->dec ? b->src->pos : archive_filter_bytes(a, -1);

	if (opts && opts->progress)
		opts->progress(opts->progress_ctx, entries,
			       done > 0 ? (uint64_t)done : 0, total);
}

/*
 * A tar whose last member has all its data but is cut before the end of
 * its padding (the zeros up to the next 512-byte block), without the
 * end-of-archive blocks: as umoci 0.4.7 writes layers.  libarchive reads
 * the member, then fails to skip the padding; the archive ends there, as
 * GNU tar (with a warning) and umoci extract it.  Called after the
 * failure: true when the stream (after every filter) ends inside that
 * padding.  A cut inside a member's data or inside a header stays an
 * error.
 */
static bool bld_cut_in_padding(const struct arc_bld *b, struct archive *a)
{
	la_int64_t end = archive_filter_bytes(a, 0);

	if (!b->inplace || b->last_end < 0 || end < 0)
		return false;
	return end >= b->last_end && end < (b->last_end + 511) / 512 * 512;
}

/* Reads every header into b. */
static int bld_read(struct arc_bld *b, struct archive *a,
		    const struct lyr_archive_opts *opts)
{
	struct archive_entry *e;
	const char *why = NULL;
	uint64_t seq;
	int r;

	for (seq = 0;; seq++) {
		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			if (seq && bld_cut_in_padding(b, a))
				break;
			r = arc_reader_errno(a);
			return lyr_seterr(b->err, r, "%s: %s", b->path, arc_msg(a));
		}
		/* A tar stores each member whole: in the file itself, or in
		 * the decompressed stream, which the layer then writes to its
		 * cache once (offsets are counted after every filter). */
		if (seq == 0) {
			b->inplace = (archive_format(a) & ARCHIVE_FORMAT_BASE_MASK) ==
				ARCHIVE_FORMAT_TAR;
			b->stream = b->inplace && (archive_filter_count(a) != 1 ||
				archive_filter_code(a, 0) != ARCHIVE_FILTER_NONE ||
				b->src->dec);
		}
		struct bld_cur c = { .a = a, .e = e, .seq = seq,
				     .off = archive_filter_bytes(a, 0), .why = &why };
		/* where this member's data ends (bld_cut_in_padding) */
		b->last_end = -1;
		if (b->inplace && c.off >= 0 && archive_entry_sparse_count(e) == 0) {
			la_int64_t size = archive_entry_size_is_set(e) ?
					  archive_entry_size(e) : -1;
			if (size >= 0)
				b->last_end = c.off + size;
		}
		if ((r = bld_entry(b, &c))) {
			const char *n = archive_entry_pathname(e);
			if (!why)
				why = r == -ENOMEM ? "out of memory" :
				      r == -EFBIG ? "too many entries or names" :
				      arc_msg(a);
			return lyr_seterr(b->err, r, "%s: entry \"%s\": %s", b->path,
					  n ? n : "", why);
		}
		if (b->src)
			b->src->entries = seq + 1;
		if ((seq + 1) % ARC_PROGRESS_EVERY == 0)
			bld_progress(b, opts, a, seq + 1, b->ident->size);
	}
	bld_progress(b, opts, a, seq, b->ident->size);
	return 0;
}

/* A note for whoever watches the build (only then: outputs are compared). */
static void bld_note(const struct lyr_archive_opts *opts, const char *path,
		     const char *note)
{
	if (note && opts && opts->progress)
		fprintf(stderr, "\rlayerfs: %s: %s\033[K\n", path, note);
}

/* Builds the index of what src reads into b, and writes it to out_fd. */
static int bld_run(struct arc_bld *b, const struct lyr_archive_opts *opts, int out_fd)
{
	struct archive *a = NULL;
	int r;

	if ((r = bld_init(b)))
		goto out_nomem;
	a = arc_reader_open(b->src, b->path, b->err, &r);
	if (!a)
		goto out_free;
	if ((r = bld_read(b, a, opts)))
		goto out_free;
	free(b->slots);
	b->slots = NULL;
	if ((r = bld_compact(b)))
		goto out_nomem;
	bld_links(b);
	if ((r = bld_children(b)) || (r = bld_final_hash(b)))
		goto out_nomem;
	/* Seek points only serve a tar's members, and one point is no
	 * better than the start of the stream. */
	if (b->stream && b->seek.kind == ARC_SK_ZSTD && b->seek.n < 2)
		bld_note(opts, b->path, "one zstd frame: members are read from a "
			 "decompressed copy (frames compressed apart and concatenated "
			 "make archives read in place)");
	if (!b->stream || b->seek.n < 2)
		arc_seek_table_free(&b->seek);
	if ((r = bld_write(b, out_fd)))
		lyr_seterr(b->err, r, "%s: cannot write its index: %s", b->path,
			   strerror(-r));
	goto out_free;
out_nomem:
	lyr_seterr(b->err, r, "%s: cannot index: %s", b->path, strerror(-r));
out_free:
	if (a)
		archive_read_free(a);
	return r;
}

/*
 * See archive_index.h.  Peak memory: about 120 bytes per entry, names
 * included, and the seek points.  A compressed tar is read through the
 * decoder of archive_seek.c, which records seek points; when that decoder
 * fails, the pass is run again through libarchive's own filters, without
 * points (so an archive libarchive reads is never refused for them), and
 * its errors are the ones reported.
 */
int arc_index_build(struct arc_src *src, const char *path,
		    const struct arc_ident *ident,
		    const struct lyr_archive_opts *opts, int out_fd,
		    struct lyr_error *err)
{
	struct arc_bld b = { .path = path, .ident = ident, .err = err, .src = src };
	const char *note = NULL;
	int r;

	if (opts && opts->progress) {
		src->progress = opts->progress;
		src->progress_ctx = opts->progress_ctx;
	}
	if ((r = arc_seek_begin(src, &b.seek, &note)))
		return lyr_seterr(err, r, "%s: cannot index: %s", path, strerror(-r));
	bld_note(opts, path, note);
	r = bld_run(&b, opts, out_fd);
	if (r && arc_dec_failed(src)) {
		arc_seek_end(src);
		bld_free(&b);
		b = (struct arc_bld){ .path = path, .ident = ident, .err = err, .src = src };
		if (err)
			err->msg[0] = '\0';
		if (ftruncate(out_fd, 0) || lseek(out_fd, 0, SEEK_SET))
			r = lyr_seterr(err, errno, "%s: cannot write its index: %s",
				       path, strerror(errno));
		else
			r = bld_run(&b, opts, out_fd);
	}
	arc_seek_end(src);
	bld_free(&b);
	return r;
}

/* ---- 6. identity, mapping and lookup -------------------------------- */

/* A 64-bit checksum of n bytes: four multiply-xorshift lanes over 32
 * bytes at a time (they run in parallel), the tail byte by byte. */
static uint64_t arc_sum_bytes(const unsigned char *p, size_t n, uint64_t seed)
{
	static const uint64_t k = 0x9e3779b97f4a7c15ull;
	uint64_t h[4] = { seed, seed ^ k, seed + k, ~seed };
	size_t i = 0;

	for (; i + 32 <= n; i += 32)
		for (int j = 0; j < 4; j++) {
			uint64_t w;
			memcpy(&w, p + i + 8 * j, 8);
			h[j] = (h[j] ^ w) * k;
			h[j] ^= h[j] >> 31;
		}
	uint64_t r = h[0] ^ (h[1] * 3) ^ (h[2] * 5) ^ (h[3] * 7);
	for (; i < n; i++)
		r = (r ^ p[i]) * 0x100000001b3ull;
	r ^= r >> 33;
	r *= 0xff51afd7ed558ccdull;
	return r ^ (r >> 33);
}

static int arc_pread_all(int fd, unsigned char *buf, size_t n, off_t off)
{
	while (n) {
		ssize_t r = pread(fd, buf, n, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		buf += r;
		n -= (size_t)r;
		off += r;
	}
	return 0;
}

/* See archive_index.h. */
void arc_key_name(const struct arc_ident *id, char *buf, size_t size)
{
	snprintf(buf, size, "%" PRIx64 "-%" PRIx64 "-%" PRIx64 "-%" PRIx64 ".%" PRIx64
		 "-%" PRIx64 ".%" PRIx64 "-%016" PRIx64 "-v%u", id->dev, id->ino, id->size,
		 (uint64_t)id->mtime_sec, id->mtime_nsec, (uint64_t)id->ctime_sec,
		 id->ctime_nsec, id->sum, ARC_INDEX_VERSION);
}

/* See archive_index.h. */
int arc_ident_read(int fd, const struct stat *st, struct arc_ident *id)
{
	uint64_t size = (uint64_t)st->st_size;
	size_t head = size > 2 * ARC_SUM_BLOCK ? ARC_SUM_BLOCK : (size_t)size;
	size_t tail = size > 2 * ARC_SUM_BLOCK ? ARC_SUM_BLOCK : 0;
	unsigned char *buf = malloc(head + tail + 1);
	int r;

	if (!buf)
		return -ENOMEM;
	if ((r = arc_pread_all(fd, buf, head, 0)) == 0 && tail)
		r = arc_pread_all(fd, buf + head, tail, (off_t)(size - tail));
	*id = (struct arc_ident){
		.dev = st->st_dev,
		.ino = st->st_ino,
		.size = size,
		.mtime_sec = st->st_mtim.tv_sec,
		.mtime_nsec = (uint64_t)st->st_mtim.tv_nsec,
		.ctime_sec = st->st_ctim.tv_sec,
		.ctime_nsec = (uint64_t)st->st_ctim.tv_nsec,
		.sum = r ? 0 : arc_sum_bytes(buf, head + tail, size),
	};
	free(buf);
	return r;
}

/* Section [off, off + count * elem) lies inside size bytes, aligned. */
static bool arc_sect_ok(uint64_t off, uint64_t count, uint64_t elem, uint64_t size)
{
	return off % 8 == 0 && off <= size && count <= (size - off) / elem;
}

static int arc_hdr_check(const struct arc_hdr *h, uint64_t size,
			 const struct arc_ident *id)
{
	if (memcmp(h->magic, ARC_MAGIC, sizeof(h->magic)) ||
	    h->version != ARC_INDEX_VERSION || h->hdr_size != sizeof(*h) ||
	    h->ent_size != sizeof(struct arc_ent) || h->file_size != size ||
	    h->hdr_sum != arc_hdr_sum(h))
		return -EBADMSG;
	if (h->arc_dev != id->dev || h->arc_ino != id->ino ||
	    h->arc_size != id->size || h->arc_mtime_sec != id->mtime_sec ||
	    h->arc_mtime_nsec != id->mtime_nsec || h->arc_ctime_sec != id->ctime_sec ||
	    h->arc_ctime_nsec != id->ctime_nsec || h->arc_sum != id->sum)
		return -EBADMSG;
	if (h->nent < 1 || h->nent > UINT32_MAX || h->nslots < 1 ||
	    h->nslots > UINT32_MAX || h->nkids >= h->nent ||
	    h->names_size > UINT32_MAX ||
	    !arc_sect_ok(h->ent_off, h->nent, sizeof(struct arc_ent), size) ||
	    !arc_sect_ok(h->names_off, h->names_size, 1, size) ||
	    !arc_sect_ok(h->kids_off, h->nkids, sizeof(uint32_t), size) ||
	    !arc_sect_ok(h->slots_off, h->nslots, sizeof(uint32_t), size) ||
	    !arc_sect_ok(h->xattr_off, h->xattr_size, 1, size) ||
	    h->seek_kind > ARC_SK_MAX || (h->nseek && !h->seek_kind) ||
	    !arc_sect_ok(h->seek_off, h->nseek, sizeof(struct arc_seek), size) ||
	    !arc_sect_ok(h->win_off, h->win_size, 1, size) ||
	    !arc_sect_ok(h->sum_off, h->nsum, sizeof(struct arc_sum), size))
		return -EBADMSG;
	return 0;
}

/* See archive_index.h. */
int arc_index_map(int fd, const struct arc_ident *ident, struct arc_index *ix)
{
	struct stat st;
	void *p;
	int r;

	if (fstat(fd, &st))
		return -errno;
	if (st.st_nlink == 0)
		return -ESTALE;
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(struct arc_hdr))
		return -EBADMSG;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	const struct arc_hdr *h = p;
	if ((r = arc_hdr_check(h, (uint64_t)st.st_size, ident))) {
		munmap(p, (size_t)st.st_size);
		return r;
	}
	const char *c = p;
	*ix = (struct arc_index){
		.base = p,
		.size = (size_t)st.st_size,
		.hdr = h,
		.ents = (const struct arc_ent *)(c + h->ent_off),
		.nent = (uint32_t)h->nent,
		.names = c + h->names_off,
		.names_size = h->names_size,
		.kids = (const uint32_t *)(c + h->kids_off),
		.nkids = h->nkids,
		.slots = (const uint32_t *)(c + h->slots_off),
		.nslots = h->nslots,
		.xattrs = (const unsigned char *)(c + h->xattr_off),
		.xattr_size = h->xattr_size,
		.seeks = (const struct arc_seek *)(c + h->seek_off),
		.nseek = h->nseek,
		.wins = (const unsigned char *)(c + h->win_off),
		.win_size = h->win_size,
		.sums = (const struct arc_sum *)(c + h->sum_off),
		.nsum = h->nsum,
	};
	if (!S_ISDIR(ix->ents[0].mode)) {
		arc_index_unmap(ix);
		return -EBADMSG;
	}
	return 0;
}

/* Unmaps; ix is zeroed and may be unmapped again. */
void arc_index_unmap(struct arc_index *ix)
{
	if (ix->base)
		munmap(ix->base, ix->size);
	memset(ix, 0, sizeof(*ix));
}

/* See archive_index.h: one probe chain, bounded by the table size. */
int arc_index_find(const struct arc_index *ix, uint32_t parent,
		   const char *name, size_t len, uint32_t *id)
{
	uint64_t i = arc_slot_of(arc_hash(parent, name, len), ix->nslots);

	for (uint64_t probes = 0; probes < ix->nslots; probes++) {
		uint32_t v = ix->slots[i];
		if (!v)
			return -ENOENT;
		if (v >= ix->nent)
			return -EIO;
		const struct arc_ent *x = &ix->ents[v];
		if (x->parent == parent && x->name_len == len) {
			if ((uint64_t)x->name_off + len > ix->names_size)
				return -EIO;
			if (!memcmp(ix->names + x->name_off, name, len)) {
				*id = v;
				return 0;
			}
		}
		if (++i == ix->nslots)
			i = 0;
	}
	return -ENOENT;
}
