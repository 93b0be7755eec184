/* SPDX-License-Identifier: MIT */
/*
 * archive_seek.c - seek points in a compressed tar: its members are read
 * by decoding from the nearest point before them, never the whole stream.
 *
 * Divisions:
 *   1. reading the archive and collecting points
 *   2. gzip: the index pass inflates, and records block boundaries
 *   3. zstd: the index pass decodes, and records frame starts
 *   4. xz: block starts, from the file's own index
 *   4b. bzip2: block starts, found by their magic
 *   5. arc_seek_begin and the decoder the index pass reads through
 *   6. reading a range of the stream from a point
 *
 * gzip (the technique of zlib's examples/zran.c, as indexed_gzip uses it):
 * deflate can be entered at any block boundary, given the bit where the
 * block starts and the 32 KiB of output before it (a block may refer that
 * far back).  The index pass inflates with Z_BLOCK, which stops at every
 * boundary, and keeps one every 256 KiB of output or more, with its
 * window deflated (about a third of 32 KiB for text): as often as the
 * windows stay within 2% of the output, and at least every 4 MiB
 * (sk_gz_due).  Concatenated members (pigz, or pieces
 * compressed apart) are followed; a member's start is a point that needs
 * no window.  The bytes the pass inflates are what libarchive reads, as a
 * plain tar, so the index is built in the same pass.
 *
 * zstd: a frame is decoded from its start alone; the pass records where
 * each frame starts.  One frame (what zstd writes by default, threads or
 * not) gives no seek point: the stream is then decompressed once into the
 * cache, as before.
 *
 * xz: blocks are decoded alone; their offsets are in the file's index, at
 * its end, read before the pass (which stays libarchive's).  One block
 * (xz's default without threads) gives no seek point.
 *
 * bzip2: blocks (100-900 kB of input each) start at any bit; a scan of
 * the compressed bytes finds them before the pass, and each is decoded
 * as a stream of its own (section 4b).
 *
 * A process keeps its last decoder where it stopped (section 6): a read
 * that starts after it, and before the next point, continues from there,
 * so members read in archive order decode the stream about once.
 *
 * Every access to the archive is bounds-checked against the points, and
 * every member read is checked against the CRC-32 the index pass took of
 * it (decoding from the middle skips the codecs' own checks): a damaged
 * body, or points that do not agree with it, give -EIO.
 */
#define _GNU_SOURCE
#include "archive_codec.h"
#include "archive_index.h"
#include "archive_lib.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SK_IBUF (1u << 16)          /* archive bytes read at once */
#define SK_OBUF (1u << 18)          /* output decoded at once */

/* ---- 1. reading the archive and collecting points -------------------- */

/* Input from the archive, by pread: buf[0, avail) is at file offset pos. */
struct sk_in {
	int fd;
	int64_t size;
	int64_t pos;          /* file offset of buf[0] */
	size_t avail;         /* unconsumed bytes at buf */
	unsigned char *buf;   /* SK_IBUF bytes */
	const unsigned char *next;
};

/* The file offset of the next unconsumed byte. */
static int64_t sk_in_off(const struct sk_in *in)
{
	return in->pos + (int64_t)(in->next - in->buf);
}

/*
 * Moves what is left to the front of the buffer and reads more after it:
 * the number of bytes now available; 0 at the end of the file; -errno.
 */
static ssize_t sk_in_fill(struct sk_in *in)
{
	int64_t off = sk_in_off(in);
	ssize_t n;

	memmove(in->buf, in->next, in->avail);
	in->pos = off;
	in->next = in->buf;
	if (off + (int64_t)in->avail >= in->size)
		return (ssize_t)in->avail;
	do
		n = pread(in->fd, in->buf + in->avail, SK_IBUF - in->avail,
			  off + (int64_t)in->avail);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	in->avail += (size_t)n;
	return (ssize_t)in->avail;
}

static void sk_in_take(struct sk_in *in, size_t n)
{
	in->next += n;
	in->avail -= n;
}

/* Restarts the input at file offset off. */
static void sk_in_seek(struct sk_in *in, int64_t off)
{
	in->pos = off;
	in->next = in->buf;
	in->avail = 0;
}

static int sk_add(struct arc_seek_table *t, const struct arc_seek *pt)
{
	if (arc_grow((void **)&t->pts, &t->cap, t->n + 1, sizeof(*pt)))
		return -ENOMEM;
	t->pts[t->n++] = *pt;
	return 0;
}

/* See archive_index.h. */
int arc_seek_sum(struct arc_seek_table *t, struct archive *a, uint64_t off,
		 uint64_t size)
{
	uLong crc;
	uint64_t done = 0;
	const void *buf;
	size_t len;
	la_int64_t at;
	int r = ARCHIVE_EOF;

	if (arc_codec_load(ARC_LIB_Z))
		return 0; /* no check: the member is still read */
	crc = crc32(0, NULL, 0);
	/* Not past the data: what follows it (a tar's padding, which an
	 * archive may lack at its end) is the next header's business. */
	while (done < size &&
	       ((r = archive_read_data_block(a, &buf, &len, &at)) == ARCHIVE_OK ||
		r == ARCHIVE_WARN)) {
		if (at < 0 || (uint64_t)at != done || len > size - done)
			return -EINVAL;
		for (size_t k = 0; k < len;) { /* crc32 takes a uInt */
			uInt n = len - k > (1u << 30) ? 1u << 30 : (uInt)(len - k);
			crc = crc32(crc, (const Bytef *)buf + k, n);
			k += n;
		}
		done += len;
	}
	if (done < size)
		return r == ARCHIVE_EOF ? -EINVAL : arc_reader_errno(a);
	if (arc_grow((void **)&t->sums, &t->sums_cap, t->nsums + 1, sizeof(*t->sums)))
		return -ENOMEM;
	t->sums[t->nsums++] = (struct arc_sum){ .off = off, .crc = (uint32_t)crc };
	return 0;
}

/* See archive_index.h. */
void arc_seek_table_free(struct arc_seek_table *t)
{
	free(t->pts);
	free(t->wins);
	free(t->sums);
	memset(t, 0, sizeof(*t));
}

/* ---- 2. gzip: block boundaries --------------------------------------- */

/*
 * The codecs' decoders, as the index pass (struct arc_dec) and a read
 * (struct sk_state) hold them: the one of the archive's kind is used.
 */
struct sk_codecs {
	z_stream z;           /* gzip */
	bool z_live;          /* z was initialised */
	ZSTD_DStream *zs;     /* zstd */
	bz_stream bz;         /* bzip2 */
	bool bz_live;         /* inside a block */
	unsigned char *syn;   /* bzip2: the block being decoded, as a stream */
	lzma_stream s;        /* xz (reads only: the index pass is libarchive's) */
	bool s_live;          /* inside a block */
};

static void sk_codecs_end(struct sk_codecs *c)
{
	if (c->z_live)
		inflateEnd(&c->z);
	if (c->zs)
		ZSTD_freeDStream(c->zs);
	if (c->s_live)
		lzma_end(&c->s);
	if (c->bz_live)
		BZ2_bzDecompressEnd(&c->bz);
	free(c->syn);
}

/*
 * The decoder the index pass reads through (gzip, zstd, bzip2).  Output goes to
 * out[]: for gzip, its first ARC_SEEK_WIN bytes keep the end of what was
 * returned before, the window of the next point.
 */
struct arc_dec {
	uint32_t kind;
	struct arc_seek_table *t;
	struct sk_in in;
	struct sk_codecs c;
	uint64_t blk;         /* bzip2: the point of the block being decoded */
	bool between;         /* at the end of a gzip member or zstd frame */
	bool eof, failed;
	uint64_t total;       /* stream bytes produced */
	uint64_t last;        /* total at the last point */
	size_t olen;          /* bytes in out */
	unsigned char *out;   /* ARC_SEEK_WIN + SK_OBUF */
};

static bool sk_gz_magic(const unsigned char *p)
{
	return p[0] == 0x1f && p[1] == 0x8b;
}

/* Whether the next boundary (or member) should be a point. */
static bool sk_gz_due(const struct arc_dec *d)
{
	uint64_t gap = d->total - d->last;

	if (gap >= ARC_SEEK_SPAN_MAX)
		return true;
	return gap >= ARC_SEEK_SPAN_MIN &&
	       d->t->wins_len * 100 <= d->total * ARC_SEEK_WIN_PCT;
}

/* A point at a block boundary: the last ARC_SEEK_WIN bytes of output. */
static int sk_gz_point(struct arc_dec *d)
{
	struct arc_seek_table *t = d->t;
	size_t wlen = d->olen < ARC_SEEK_WIN ? d->olen : ARC_SEEK_WIN;
	uLong bound = compressBound((uLong)wlen);
	struct arc_seek pt = {
		.out = d->total, .in = (uint64_t)sk_in_off(&d->in),
		.aux = t->wins_len, .bits = (uint8_t)(d->c.z.data_type & 7),
	};
	uLongf zlen = bound;

	if (arc_grow((void **)&t->wins, &t->wins_cap, t->wins_len + bound, 1))
		return -ENOMEM;
	if (compress2(t->wins + t->wins_len, &zlen, d->out + d->olen - wlen,
		      (uLong)wlen, Z_BEST_SPEED) != Z_OK)
		return -ENOMEM;
	pt.win_len = (uint32_t)zlen;
	t->wins_len += zlen;
	d->last = d->total;
	return sk_add(t, &pt);
}

/*
 * At the end of a member (or the start): the next one, if the archive has
 * one; else the end.  0, or -errno.
 */
static int sk_gz_member(struct arc_dec *d)
{
	ssize_t n = d->in.avail;

	if (n < 2 && (n = sk_in_fill(&d->in)) < 0)
		return (int)n;
	if (n < 2 || !sk_gz_magic(d->in.next)) {
		d->eof = true;	/* what follows the last member is ignored, as gzip does */
		return 0;
	}
	if (inflateReset2(&d->c.z, 31) != Z_OK)
		return -EIO;
	d->between = false;
	if (d->total && !sk_gz_due(d))
		return 0;
	d->last = d->total;
	return sk_add(d->t, &(struct arc_seek){ .out = d->total,
			.in = (uint64_t)sk_in_off(&d->in), .flags = ARC_SP_MEMBER });
}

/* One inflate step into out; a point when it stopped at a boundary. */
static int sk_gz_step(struct arc_dec *d)
{
	ssize_t n;
	int zr, r;

	if (!d->in.avail) {
		if ((n = sk_in_fill(&d->in)) < 0)
			return (int)n;
		if (!n)
			return -EIO; /* cut inside a member */
	}
	d->c.z.next_in = (unsigned char *)d->in.next;
	d->c.z.avail_in = (uInt)d->in.avail;
	d->c.z.next_out = d->out + d->olen;
	d->c.z.avail_out = (uInt)(ARC_SEEK_WIN + SK_OBUF - d->olen);
	zr = inflate(&d->c.z, Z_BLOCK);
	sk_in_take(&d->in, d->in.avail - d->c.z.avail_in);
	size_t made = (size_t)(d->c.z.next_out - (d->out + d->olen));
	d->olen += made;
	d->total += made;
	if (zr == Z_STREAM_END) {
		d->between = true;
		return 0;
	}
	if (zr != Z_OK && zr != Z_BUF_ERROR)
		return -EIO;
	if ((d->c.z.data_type & 128) && !(d->c.z.data_type & 64) &&
	    sk_gz_due(d) && (r = sk_gz_point(d)))
		return r;
	return 0;
}

/* The next bytes of the stream, into out after the kept window. */
static ssize_t sk_gz_read(struct arc_dec *d, const void **buf)
{
	size_t start;
	int r;

	if (d->olen > ARC_SEEK_WIN) {
		memmove(d->out, d->out + d->olen - ARC_SEEK_WIN, ARC_SEEK_WIN);
		d->olen = ARC_SEEK_WIN;
	}
	start = d->olen;
	while (d->olen == start && !d->eof && d->olen < ARC_SEEK_WIN + SK_OBUF) {
		r = d->between ? sk_gz_member(d) : sk_gz_step(d);
		if (r)
			return r;
	}
	*buf = d->out + start;
	return (ssize_t)(d->olen - start);
}

/* ---- 3. zstd: frame starts ------------------------------------------- */

static ssize_t sk_zstd_read(struct arc_dec *d, const void **buf)
{
	ZSTD_outBuffer o = { d->out, SK_OBUF, 0 };
	ssize_t n;
	size_t zr;

	while (!o.pos && !d->eof) {
		if (!d->in.avail) {
			if ((n = sk_in_fill(&d->in)) < 0)
				return n;
			if (!n) {
				if (!d->between)
					return -EIO; /* cut inside a frame */
				d->eof = true;
				break;
			}
		}
		if (d->between) {
			int r = sk_add(d->t, &(struct arc_seek){ .out = d->total,
					.in = (uint64_t)sk_in_off(&d->in) });
			if (r)
				return r;
			d->between = false;
		}
		ZSTD_inBuffer i = { d->in.next, d->in.avail, 0 };
		zr = ZSTD_decompressStream(d->c.zs, &o, &i);
		sk_in_take(&d->in, i.pos);
		if (ZSTD_isError(zr))
			return -EIO;
		d->total += o.pos;
		if (zr == 0)
			d->between = true;
		if (!o.pos)
			continue;
	}
	*buf = d->out;
	return (ssize_t)o.pos;
}

/* ---- 4. xz: block starts --------------------------------------------- */

/* The file's index (every stream's, for concatenated ones): *idx. */
static int sk_xz_index(struct sk_in *in, lzma_index **idx)
{
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_ret lr;
	ssize_t n;
	int r = -EIO;

	*idx = NULL;
	if (lzma_file_info_decoder(&s, idx, UINT64_MAX, (uint64_t)in->size) != LZMA_OK)
		return -ENOMEM;
	for (;;) {
		if (!in->avail) {
			if ((n = sk_in_fill(in)) < 0) {
				r = (int)n;
				break;
			}
		}
		s.next_in = in->next;
		s.avail_in = in->avail;
		lr = lzma_code(&s, LZMA_RUN);
		sk_in_take(in, in->avail - s.avail_in);
		if (lr == LZMA_SEEK_NEEDED) {
			if (s.seek_pos > (uint64_t)in->size)
				break;
			sk_in_seek(in, (int64_t)s.seek_pos);
			continue;
		}
		if (lr == LZMA_STREAM_END) {
			r = 0;
			break;
		}
		if (lr != LZMA_OK || (!in->avail && sk_in_off(in) >= in->size))
			break;
	}
	lzma_end(&s);
	if (r && *idx) {
		lzma_index_end(*idx, NULL);
		*idx = NULL;
	}
	return r;
}

/* One point per block; none (and a note) for a single block. */
static int sk_xz_points(struct sk_in *in, struct arc_seek_table *t, const char **note)
{
	lzma_index *idx;
	lzma_index_iter it;
	int r;

	if (arc_codec_load(ARC_LIB_LZMA) || sk_xz_index(in, &idx))
		return 0; /* read whole, as before */
	if (lzma_index_block_count(idx) < 2) {
		*note = "one xz block: members are read from a decompressed copy "
			"(xz -T0 or --block-size makes archives read in place)";
		lzma_index_end(idx, NULL);
		return 0;
	}
	lzma_index_iter_init(&it, idx);
	while (!lzma_index_iter_next(&it, LZMA_INDEX_ITER_BLOCK)) {
		struct arc_seek pt = {
			.out = it.block.uncompressed_file_offset,
			.in = it.block.compressed_file_offset,
			.aux = it.block.unpadded_size,
			.bits = (uint8_t)it.stream.flags->check,
		};
		if ((r = sk_add(t, &pt))) {
			lzma_index_end(idx, NULL);
			return r;
		}
	}
	lzma_index_end(idx, NULL);
	t->kind = ARC_SK_XZ;
	return 0;
}

/* ---- 4b. bzip2: block starts, found by their magic ------------------- */

/*
 * A bzip2 stream is "BZh" and a block size digit, then blocks, each
 * starting with a 48-bit magic at any bit (blocks are not byte-aligned),
 * then an end marker (another magic) and the stream's CRC; streams may be
 * concatenated (pbzip2), each byte-aligned.  libbz2 cannot start in the
 * middle, so a block is decoded as a stream of its own: the header, the
 * block's bits realigned, and an end marker whose CRC is the block's (the
 * CRC of a stream of one block).  libbz2 then checks the block whole.
 * A magic found by chance inside compressed data makes a block that does
 * not decode: the index pass then fails, and is run again without seek
 * points.
 */
#define SK_BZ_BLOCK 0x314159265359ull
#define SK_BZ_END   0x177245385090ull
#define SK_BZ_MASK  0xffffffffffffull
#define SK_BZ_MAX_BITS ((uint64_t)(4u << 20) * 8) /* a block, compressed: < 1 MB */

/* Writes the n low bits of v at bit pos of p (MSB first, p zeroed). */
static void sk_put_bits(unsigned char *p, uint64_t pos, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++, pos++)
		if ((v >> (n - 1 - i)) & 1)
			p[pos / 8] |= (unsigned char)(0x80u >> (pos % 8));
}

/* The block size digit of a stream header at in->next, or 0. */
static int sk_bz_header(const unsigned char *p)
{
	return p[0] == 'B' && p[1] == 'Z' && p[2] == 'h' && p[3] >= '1' && p[3] <= '9' ?
	       p[3] - '0' : 0;
}

struct sk_bz_scan {
	struct arc_seek_table *t;
	bool open;            /* t's last point is a block whose end is not found */
	int level;
};

/* A magic (block or end) found at bit at: closes the open block. */
static int sk_bz_found(struct sk_bz_scan *sc, uint64_t at, bool block)
{
	if (sc->open) {
		struct arc_seek *pt = &sc->t->pts[sc->t->n - 1];
		uint64_t start = pt->in * 8 + pt->bits;
		if (at - start < 80 || at - start > SK_BZ_MAX_BITS)
			return -EIO;
		pt->aux = at - start;
		sc->open = false;
	}
	if (!block)
		return 0;
	sc->open = true;
	return sk_add(sc->t, &(struct arc_seek){ .in = at / 8, .bits = (uint8_t)(at % 8),
						 .win_len = (uint32_t)sc->level });
}

/* Every block of every stream of the archive, into t (out unset). */
static int sk_bz_blocks(struct sk_in *in, struct arc_seek_table *t)
{
	struct sk_bz_scan sc = { .t = t };
	int64_t hdr_at = 0;     /* where a stream header is expected */
	uint64_t v = 0;
	ssize_t n;
	int r;

	for (;;) {
		if (in->avail < 4 && (n = sk_in_fill(in)) < 0)
			return (int)n;
		if (!in->avail)
			break;
		int64_t off = sk_in_off(in);
		if (off == hdr_at) {
			if (in->avail < 4 || !(sc.level = sk_bz_header(in->next)))
				break;	/* what follows the last stream is ignored */
			sk_in_take(in, 4);
			hdr_at = -1;
			v = 0;
			continue;
		}
		v = (v << 8) | *in->next;
		sk_in_take(in, 1);
		for (unsigned sh = 0; sh < 8; sh++) {
			uint64_t w = (v >> sh) & SK_BZ_MASK;
			if (w != SK_BZ_BLOCK && w != SK_BZ_END)
				continue;
			uint64_t at = (uint64_t)(off + 1) * 8 - sh - 48;
			if (hdr_at >= 0)
				return -EIO; /* data between two streams */
			if ((r = sk_bz_found(&sc, at, w == SK_BZ_BLOCK)))
				return r;
			if (w == SK_BZ_END)
				hdr_at = (int64_t)((at + 80 + 7) / 8);
		}
	}
	return sc.open || hdr_at < 0 ? -EIO : 0; /* cut inside a stream */
}

/*
 * The one-block stream of point pt, in *syn (malloc'ed), *len bytes.
 * 0, -EIO when the point does not fit the archive.
 */
static int sk_bz_synth(int fd, int64_t size, const struct arc_seek *pt,
		       unsigned char **syn, size_t *len)
{
	uint64_t nbits = pt->aux, end = (pt->in * 8 + pt->bits + nbits + 7) / 8;
	unsigned sh = pt->bits;
	unsigned char *src, *dst;
	size_t nsrc, nblk;

	*syn = NULL;
	if (sh > 7 || nbits < 80 || nbits > SK_BZ_MAX_BITS || pt->win_len < 1 ||
	    pt->win_len > 9 || pt->in >= (uint64_t)size || end > (uint64_t)size)
		return -EIO;
	nsrc = (size_t)(end - pt->in);
	nblk = (size_t)((nbits + 7) / 8);
	*len = 4 + (size_t)((nbits + 80 + 7) / 8);
	src = malloc(nsrc + 1);
	dst = calloc(1, *len);
	if (!src || !dst) {
		free(src);
		free(dst);
		return -ENOMEM;
	}
	for (size_t got = 0; got < nsrc;) {
		ssize_t k = pread(fd, src + got, nsrc - got, (off_t)(pt->in + got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			free(src);
			free(dst);
			return k < 0 ? -errno : -EIO;
		}
		got += (size_t)k;
	}
	src[nsrc] = 0;
	memcpy(dst, "BZh", 3);
	dst[3] = (unsigned char)('0' + pt->win_len);
	for (size_t j = 0; j < nblk; j++)
		dst[4 + j] = sh ? (unsigned char)(src[j] << sh | src[j + 1] >> (8 - sh)) : src[j];
	if (nbits % 8)
		dst[4 + nblk - 1] &= (unsigned char)(0xffu << (8 - nbits % 8));
	/* the block's CRC follows its magic; a stream of one block has it as its own */
	uint64_t crc = (uint64_t)dst[10] << 24 | (uint64_t)dst[11] << 16 |
		       (uint64_t)dst[12] << 8 | dst[13];
	sk_put_bits(dst, 32 + nbits, SK_BZ_END, 48);
	sk_put_bits(dst, 32 + nbits + 48, crc, 32);
	free(src);
	*syn = dst;
	return 0;
}

/* Sets bz up to decode the block of point pt; *syn must be freed after. */
static int sk_bz_enter(int fd, int64_t size, const struct arc_seek *pt, bz_stream *bz,
		       unsigned char **syn)
{
	size_t len;
	int r = sk_bz_synth(fd, size, pt, syn, &len);

	if (r)
		return r;
	memset(bz, 0, sizeof(*bz));
	if (BZ2_bzDecompressInit(bz, 0, 0) != BZ_OK) {
		free(*syn);
		*syn = NULL;
		return -ENOMEM;
	}
	bz->next_in = (char *)*syn;
	bz->avail_in = (unsigned)len;
	return 0;
}

/* One step of block decoding into out (n bytes at most): bytes made, or -EIO. */
static ssize_t sk_bz_step(bz_stream *bz, unsigned char *out, size_t n, bool *end)
{
	bz->next_out = (char *)out;
	bz->avail_out = (unsigned)n;
	int br = BZ2_bzDecompress(bz);
	size_t made = n - bz->avail_out;

	*end = br == BZ_STREAM_END;
	if (br != BZ_OK && br != BZ_STREAM_END)
		return -EIO;
	if (!*end && !made && !bz->avail_in)
		return -EIO; /* the block's stream ended early */
	return (ssize_t)made;
}

/* The index pass: the blocks decoded in turn, each point given its offset. */
static ssize_t sk_bz_read(struct arc_dec *d, const void **buf)
{
	bool end;
	int r;

	*buf = d->out;
	while (!d->eof) {
		if (!d->c.bz_live) {
			if (d->blk >= d->t->n) {
				d->eof = true;
				break;
			}
			d->t->pts[d->blk].out = d->total;
			if ((r = sk_bz_enter(d->in.fd, d->in.size, &d->t->pts[d->blk], &d->c.bz,
					     &d->c.syn)))
				return r;
			d->c.bz_live = true;
		}
		ssize_t made = sk_bz_step(&d->c.bz, d->out, SK_OBUF, &end);
		if (made < 0)
			return made;
		d->total += (uint64_t)made;
		/* where the pass stands in the archive: this block's start */
		d->in.pos = (int64_t)d->t->pts[d->blk].in;
		if (end) {
			BZ2_bzDecompressEnd(&d->c.bz);
			d->c.bz_live = false;
			free(d->c.syn);
			d->c.syn = NULL;
			d->blk++;
		}
		if (made)
			return made;
	}
	return 0;
}

/* ---- 5. arc_seek_begin, and the decoder of the index pass ------------ */

static const unsigned char sk_xz_magic[6] = { 0xfd, '7', 'z', 'X', 'Z', 0 };
static const unsigned char sk_zstd_magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };

/* A zstd skippable frame (metadata, which decoding passes over). */
static bool sk_zstd_skippable(const unsigned char *m)
{
	return (m[0] & 0xf0) == 0x50 && m[1] == 0x2a && m[2] == 0x4d && m[3] == 0x18;
}

static void sk_dec_free(struct arc_dec *d)
{
	if (!d)
		return;
	sk_codecs_end(&d->c);
	free(d->in.buf);
	free(d->out);
	free(d);
}

static struct arc_dec *sk_dec_new(struct arc_src *src, struct arc_seek_table *t,
				  uint32_t kind)
{
	struct arc_dec *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->kind = kind;
	d->t = t;
	d->in = (struct sk_in){ .fd = src->fd, .size = src->size, .buf = malloc(SK_IBUF) };
	d->in.next = d->in.buf;
	d->out = malloc(ARC_SEEK_WIN + SK_OBUF);
	d->between = true;
	if (!d->in.buf || !d->out)
		goto out_free;
	if (kind == ARC_SK_GZIP) {
		if (inflateInit2(&d->c.z, 31) != Z_OK)
			goto out_free;
		d->c.z_live = true;
	} else if (kind == ARC_SK_BZIP2) {
		/* the blocks, first: a pass over the compressed bytes */
		if (sk_bz_blocks(&d->in, t) || t->n < 2)
			goto out_free;
		sk_in_seek(&d->in, 0);
	} else if (!(d->c.zs = ZSTD_createDStream()) || ZSTD_isError(ZSTD_initDStream(d->c.zs))) {
		goto out_free;
	}
	t->kind = kind;
	return d;
out_free:
	sk_dec_free(d);
	return NULL;
}

/* See archive_index.h. */
int arc_seek_begin(struct arc_src *src, struct arc_seek_table *t, const char **note)
{
	unsigned char m[6] = { 0 };
	struct sk_in in = { .fd = src->fd, .size = src->size };
	ssize_t n;
	int r = 0;

	src->dec = NULL;
	t->kind = ARC_SK_NONE;
	do
		n = pread(src->fd, m, sizeof(m), 0);
	while (n < 0 && errno == EINTR);
	if (n < (ssize_t)sizeof(m))
		return 0;
	if (sk_gz_magic(m) && !arc_codec_load(ARC_LIB_Z)) {
		src->dec = sk_dec_new(src, t, ARC_SK_GZIP);
	} else if ((!memcmp(m, sk_zstd_magic, 4) || sk_zstd_skippable(m)) &&
		   !arc_codec_load(ARC_LIB_ZSTD)) {
		src->dec = sk_dec_new(src, t, ARC_SK_ZSTD);
	} else if (sk_bz_header(m) && !arc_codec_load(ARC_LIB_BZ2)) {
		src->dec = sk_dec_new(src, t, ARC_SK_BZIP2);
		if (!src->dec && t->n == 1)
			*note = "one bzip2 block: members are read from a decompressed copy";
		if (!src->dec)
			arc_seek_table_free(t);
	} else if (!memcmp(m, sk_xz_magic, 6)) {
		if (!(in.buf = malloc(SK_IBUF)))
			return -ENOMEM;
		in.next = in.buf;
		r = sk_xz_points(&in, t, note);
		free(in.buf);
		if (r)
			arc_seek_table_free(t);
	}
	return r;
}

/* See archive_index.h. */
ssize_t arc_dec_read(struct arc_src *src, const void **buf)
{
	struct arc_dec *d = src->dec;
	ssize_t n;

	if (d->failed)
		return -EIO;
	n = d->kind == ARC_SK_GZIP ? sk_gz_read(d, buf) :
	    d->kind == ARC_SK_BZIP2 ? sk_bz_read(d, buf) : sk_zstd_read(d, buf);
	if (n < 0)
		d->failed = true;
	src->pos = sk_in_off(&d->in);
	return n;
}

/* See archive_index.h. */
bool arc_dec_failed(const struct arc_src *src)
{
	return src->dec && src->dec->failed;
}

/* See archive_index.h. */
void arc_seek_end(struct arc_src *src)
{
	sk_dec_free(src->dec);
	src->dec = NULL;
}

/* ---- 6. reading a range of the stream from a point ------------------- */

/*
 * A decoder positioned in the stream: made at a seek point, run up to the
 * end of a range (never past it: each call asks for no more output than
 * the range still needs), and then kept, one per process, so that the
 * next range, when it starts at or after where this one stopped and
 * before the next point, continues from there.  Reading members in
 * archive order (grep -r, a build) then decodes the stream about once.
 */
struct sk_state {
	uint32_t kind;
	uint64_t at;          /* stream offset of the next byte decoded */
	struct sk_in in;
	unsigned char *obuf;  /* SK_OBUF (>= ARC_SEEK_WIN) */
	/* which index it belongs to */
	const void *base;
	uint64_t hdr_sum;
	struct sk_codecs c;   /* bzip2 and xz: inside block k */
	bool raw;             /* gzip: inside a member entered at a block boundary */
	bool between;         /* gzip: at a member's end */
	lzma_block blk;       /* xz: block k's options: the decoder refers to them */
	lzma_filter filters[LZMA_FILTERS_MAX + 1];
	uint64_t k;
};

static void sk_state_free(struct sk_state *st)
{
	if (!st)
		return;
	sk_codecs_end(&st->c);
	free(st->in.buf);
	free(st->obuf);
	free(st);
}

/* The part of a range still to write, and its check. */
struct sk_range {
	int out;
	uint64_t off, len;
	bool check;           /* crc is the content's CRC-32 so far */
	uLong crc;
};

static bool sk_done(const struct sk_state *st, const struct sk_range *g)
{
	return st->at >= g->off + g->len;
}

/* How much output to ask for: at most what the range still needs. */
static size_t sk_want(const struct sk_state *st, const struct sk_range *g)
{
	uint64_t left = g->off + g->len - st->at;

	return left < SK_OBUF ? (size_t)left : SK_OBUF;
}

/* Writes the part of [at, at + n) that falls in the range; advances at. */
static int sk_emit(struct sk_state *st, struct sk_range *g, size_t n)
{
	uint64_t lo = st->at > g->off ? st->at : g->off;
	uint64_t hi = st->at + n;

	if (g->check && lo < hi)
		g->crc = crc32(g->crc, st->obuf + (lo - st->at), (uInt)(hi - lo));

	while (lo < hi) {
		ssize_t w = pwrite(g->out, st->obuf + (lo - st->at), (size_t)(hi - lo),
				   (off_t)(lo - g->off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		lo += (uint64_t)w;
	}
	st->at += n;
	return 0;
}

/* Fills in, or -EIO when the archive ends first. */
static int sk_need(struct sk_in *in, size_t want)
{
	ssize_t n = (ssize_t)in->avail;

	if (in->avail < want && (n = sk_in_fill(in)) < 0)
		return (int)n;
	return (size_t)n < want ? -EIO : 0;
}

/* Sets st->c.z up to decode from gzip point pt. */
static int sk_gz_enter(const struct arc_index *ix, const struct arc_seek *pt,
		       struct sk_state *st)
{
	uLongf wlen = ARC_SEEK_WIN;
	int r;

	sk_in_seek(&st->in, (int64_t)pt->in);
	st->raw = !(pt->flags & ARC_SP_MEMBER);
	if (!st->raw) {
		if (inflateInit2(&st->c.z, 31) != Z_OK)
			return -ENOMEM;
		st->c.z_live = true;
		return 0;
	}
	if (pt->bits > 7 || (pt->bits && pt->in == 0) || pt->aux > ix->win_size ||
	    pt->win_len > ix->win_size - pt->aux)
		return -EIO;
	if (uncompress(st->obuf, &wlen, ix->wins + pt->aux, pt->win_len) != Z_OK)
		return -EIO;
	if (inflateInit2(&st->c.z, -15) != Z_OK)
		return -ENOMEM;
	st->c.z_live = true;
	if (pt->bits) {
		sk_in_seek(&st->in, (int64_t)pt->in - 1);
		if ((r = sk_need(&st->in, 1)))
			return r;
		int byte = st->in.next[0];
		sk_in_take(&st->in, 1);
		if (inflatePrime(&st->c.z, pt->bits, byte >> (8 - pt->bits)) != Z_OK)
			return -EIO;
	}
	if (wlen && inflateSetDictionary(&st->c.z, st->obuf, (uInt)wlen) != Z_OK)
		return -EIO;
	return 0;
}

/* At a member's end: skip the raw stream's trailer, then the next header. */
static int sk_gz_next(struct sk_state *st)
{
	int r;

	if (st->raw) {
		if ((r = sk_need(&st->in, 8)))
			return r;
		sk_in_take(&st->in, 8);
	}
	if ((r = sk_need(&st->in, 2)))
		return r;
	if (!sk_gz_magic(st->in.next))
		return -EIO; /* the stream ended inside the range */
	if (inflateReset2(&st->c.z, 31) != Z_OK)
		return -EIO;
	st->raw = false;
	st->between = false;
	return 0;
}

static int sk_gz_run(struct sk_state *st, struct sk_range *g)
{
	int r, zr;

	while (!sk_done(st, g)) {
		if (st->between && (r = sk_gz_next(st)))
			return r;
		if ((r = sk_need(&st->in, 1)))
			return r;
		size_t want = sk_want(st, g);
		st->c.z.next_in = (unsigned char *)st->in.next;
		st->c.z.avail_in = (uInt)st->in.avail;
		st->c.z.next_out = st->obuf;
		st->c.z.avail_out = (uInt)want;
		zr = inflate(&st->c.z, Z_NO_FLUSH);
		sk_in_take(&st->in, st->in.avail - st->c.z.avail_in);
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
			return -EIO;
		if ((r = sk_emit(st, g, want - st->c.z.avail_out)))
			return r;
		if (zr == Z_STREAM_END)
			st->between = true;
	}
	return 0;
}

static int sk_zstd_run(struct sk_state *st, struct sk_range *g)
{
	int r;

	while (!sk_done(st, g)) {
		if ((r = sk_need(&st->in, 1)))
			return r;
		ZSTD_inBuffer i = { st->in.next, st->in.avail, 0 };
		ZSTD_outBuffer o = { st->obuf, sk_want(st, g), 0 };
		size_t zr = ZSTD_decompressStream(st->c.zs, &o, &i);
		sk_in_take(&st->in, i.pos);
		if (ZSTD_isError(zr))
			return -EIO;
		if ((r = sk_emit(st, g, o.pos)))
			return r;
	}
	return 0;
}

/* Enters xz block st->k, whose header is at its point. */
static int sk_xz_enter(const struct arc_index *ix, struct sk_state *st)
{
	lzma_filter *filters = st->filters;
	lzma_block *blk = &st->blk;
	lzma_ret lr;
	int r;

	*blk = (lzma_block){ .version = 1, .filters = filters };

	if (st->k >= ix->nseek || ix->seeks[st->k].out != st->at)
		return -EIO;
	const struct arc_seek *pt = &ix->seeks[st->k];
	if (pt->bits > LZMA_CHECK_ID_MAX || pt->in >= (uint64_t)st->in.size)
		return -EIO;
	blk->check = (lzma_check)pt->bits;
	sk_in_seek(&st->in, (int64_t)pt->in);
	if ((r = sk_need(&st->in, 1)))
		return r;
	if (!st->in.next[0])
		return -EIO; /* an index, not a block */
	blk->header_size = lzma_block_header_size_decode(st->in.next[0]);
	if ((r = sk_need(&st->in, blk->header_size)))
		return r;
	if (lzma_block_header_decode(blk, NULL, st->in.next) != LZMA_OK)
		return -EIO;
	sk_in_take(&st->in, blk->header_size);
	st->c.s = (lzma_stream)LZMA_STREAM_INIT;
	lr = lzma_block_decoder(&st->c.s, blk);
	for (size_t i = 0; filters[i].id != LZMA_VLI_UNKNOWN; i++)
		free(filters[i].options); /* copied by the decoder */
	if (lr != LZMA_OK) {
		lzma_end(&st->c.s);
		return -EIO;
	}
	st->c.s_live = true;
	return 0;
}

static int sk_xz_run(const struct arc_index *ix, struct sk_state *st,
		     struct sk_range *g)
{
	lzma_ret lr;
	int r;

	while (!sk_done(st, g)) {
		if (!st->c.s_live && (r = sk_xz_enter(ix, st)))
			return r;
		if ((r = sk_need(&st->in, 1)))
			return r;
		size_t want = sk_want(st, g);
		st->c.s.next_in = st->in.next;
		st->c.s.avail_in = st->in.avail;
		st->c.s.next_out = st->obuf;
		st->c.s.avail_out = want;
		lr = lzma_code(&st->c.s, LZMA_RUN);
		sk_in_take(&st->in, st->in.avail - st->c.s.avail_in);
		if (lr != LZMA_OK && lr != LZMA_STREAM_END)
			return -EIO;
		if ((r = sk_emit(st, g, want - st->c.s.avail_out)))
			return r;
		if (lr == LZMA_STREAM_END) {
			lzma_end(&st->c.s);
			st->c.s_live = false;
			st->k++;
		}
	}
	return 0;
}

static int sk_bz_run(const struct arc_index *ix, struct sk_state *st,
		     struct sk_range *g)
{
	bool end;
	int r;

	while (!sk_done(st, g)) {
		if (!st->c.bz_live) {
			if (st->k >= ix->nseek || ix->seeks[st->k].out != st->at)
				return -EIO;
			if ((r = sk_bz_enter(st->in.fd, st->in.size, &ix->seeks[st->k],
					     &st->c.bz, &st->c.syn)))
				return r;
			st->c.bz_live = true;
		}
		ssize_t made = sk_bz_step(&st->c.bz, st->obuf, sk_want(st, g), &end);
		if (made < 0)
			return (int)made;
		if ((r = sk_emit(st, g, (size_t)made)))
			return r;
		if (end) {
			BZ2_bzDecompressEnd(&st->c.bz);
			st->c.bz_live = false;
			free(st->c.syn);
			st->c.syn = NULL;
			st->k++;
		}
	}
	return 0;
}

/* A decoder at point k of ix. */
static int sk_state_new(const struct arc_index *ix, uint64_t k, int fd,
			struct sk_state **out)
{
	struct sk_state *st = calloc(1, sizeof(*st));
	const struct arc_seek *pt = &ix->seeks[k];
	int r = -ENOMEM;

	*out = NULL;
	if (!st)
		return -ENOMEM;
	st->kind = ix->hdr->seek_kind;
	st->at = pt->out;
	st->base = ix->base;
	st->hdr_sum = ix->hdr->hdr_sum;
	st->k = k;
	st->in = (struct sk_in){ .fd = fd, .size = (int64_t)ix->hdr->arc_size,
				 .buf = malloc(SK_IBUF) };
	st->in.next = st->in.buf;
	st->obuf = malloc(SK_OBUF > ARC_SEEK_WIN ? SK_OBUF : ARC_SEEK_WIN);
	if (!st->in.buf || !st->obuf)
		goto out_free;
	if (st->kind == ARC_SK_GZIP) {
		r = sk_gz_enter(ix, pt, st);
	} else if (st->kind == ARC_SK_ZSTD) {
		sk_in_seek(&st->in, (int64_t)pt->in);
		st->c.zs = ZSTD_createDStream();
		r = st->c.zs && !ZSTD_isError(ZSTD_initDStream(st->c.zs)) ? 0 : -ENOMEM;
	} else {
		r = 0; /* xz, bzip2: the block is entered when decoding starts */
	}
	if (r)
		goto out_free;
	*out = st;
	return 0;
out_free:
	sk_state_free(st);
	return r;
}

/* The check of the member at off: its CRC-32 in *crc, or false. */
static bool sk_sum_of(const struct arc_index *ix, uint64_t off, uint32_t *crc)
{
	uint64_t lo = 0, hi = ix->nsum;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (ix->sums[mid].off == off) {
			*crc = ix->sums[mid].crc;
			return true;
		}
		if (ix->sums[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* The last point at or before off: its number, or nseek when none. */
static uint64_t sk_find(const struct arc_index *ix, uint64_t off)
{
	uint64_t lo = 0, hi = ix->nseek;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (ix->seeks[mid].out <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : ix->nseek;
}

static enum arc_codec_lib sk_lib(uint32_t kind)
{
	return kind == ARC_SK_GZIP ? ARC_LIB_Z : kind == ARC_SK_XZ ? ARC_LIB_LZMA :
	       kind == ARC_SK_BZIP2 ? ARC_LIB_BZ2 : ARC_LIB_ZSTD;
}

/*
 * The kept decoder.  Taken with trylock only: a child forked while another
 * thread held the lock must not wait for it (it then decodes afresh).
 */
static pthread_mutex_t sk_kept_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sk_state *sk_kept;

/* The kept decoder, when it is of ix and nearer to off than point from. */
static struct sk_state *sk_take(const struct arc_index *ix, uint64_t off, uint64_t from)
{
	struct sk_state *st = NULL;

	if (pthread_mutex_trylock(&sk_kept_lock))
		return NULL;
	if (sk_kept && sk_kept->base == ix->base && sk_kept->hdr_sum == ix->hdr->hdr_sum &&
	    sk_kept->at <= off && sk_kept->at >= from) {
		st = sk_kept;
		sk_kept = NULL;
	}
	pthread_mutex_unlock(&sk_kept_lock);
	return st;
}

static void sk_keep(struct sk_state *st)
{
	struct sk_state *old = st;

	if (!pthread_mutex_trylock(&sk_kept_lock)) {
		old = sk_kept;
		sk_kept = st;
		pthread_mutex_unlock(&sk_kept_lock);
	}
	sk_state_free(old);
}

/* See archive_index.h. */
void arc_seek_forget(const struct arc_index *ix)
{
	struct sk_state *st = NULL;

	if (pthread_mutex_trylock(&sk_kept_lock))
		return;
	if (sk_kept && sk_kept->base == ix->base) {
		st = sk_kept;
		sk_kept = NULL;
	}
	pthread_mutex_unlock(&sk_kept_lock);
	sk_state_free(st);
}

/* See archive_index.h. */
uint64_t arc_seek_point(const struct arc_index *ix, uint64_t off)
{
	return sk_find(ix, off);
}

/* See archive_index.h. */
int arc_seek_copy_span(const struct arc_index *ix, int span, uint64_t lo, uint64_t off,
		       uint64_t len, int out)
{
	unsigned char buf[8192];
	uint32_t want_crc = 0;
	bool check = sk_sum_of(ix, off, &want_crc) && !arc_codec_load(ARC_LIB_Z);
	uLong crc = check ? crc32(0, NULL, 0) : 0;

	if (off < lo)
		return -EIO;
	for (uint64_t done = 0; done < len; ) {
		size_t n = len - done < sizeof(buf) ? (size_t)(len - done) : sizeof(buf);
		ssize_t r = pread(span, buf, n, (off_t)(off - lo + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		if (check)
			crc = crc32(crc, buf, (uInt)r);
		for (ssize_t put = 0; put < r; ) {
			ssize_t w = pwrite(out, buf + put, (size_t)(r - put),
					   (off_t)(done + (uint64_t)put));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return w < 0 ? -errno : -EIO;
			put += w;
		}
		done += (uint64_t)r;
	}
	return check && crc != want_crc ? -EIO : 0;
}

/* See archive_index.h. */
int arc_seek_copy(const struct arc_index *ix, int fd, uint64_t off, uint64_t len,
		  int out, struct arc_seek_cost *cost)
{
	uint32_t kind = ix->hdr->seek_kind;
	uint64_t k = sk_find(ix, off);
	struct sk_range g = { .out = out, .off = off, .len = len };
	struct sk_state *st;
	uint32_t want_crc = 0;
	int r;

	if (!len)
		return 0;
	if (k >= ix->nseek || kind == ARC_SK_NONE || kind > ARC_SK_MAX ||
	    ix->seeks[k].in >= ix->hdr->arc_size || off + len < off)
		return -EIO;
	if (arc_codec_load(sk_lib(kind)))
		return -ENOSYS;
	if (sk_sum_of(ix, off, &want_crc) && !arc_codec_load(ARC_LIB_Z)) {
		g.check = true;
		g.crc = crc32(0, NULL, 0);
	}
	if (!(st = sk_take(ix, off, ix->seeks[k].out)) &&
	    (r = sk_state_new(ix, k, fd, &st)))
		return r;
	st->in.fd = fd; /* the shim may have moved it */
	uint64_t from = st->at;
	if (kind == ARC_SK_GZIP)
		r = sk_gz_run(st, &g);
	else if (kind == ARC_SK_ZSTD)
		r = sk_zstd_run(st, &g);
	else if (kind == ARC_SK_BZIP2)
		r = sk_bz_run(ix, st, &g);
	else
		r = sk_xz_run(ix, st, &g);
	if (!r && g.check && g.crc != want_crc)
		r = -EIO; /* the archive's body is damaged */
	if (r) {
		sk_state_free(st);
		return r;
	}
	sk_keep(st);
	if (cost) {
		cost->k = k;
		cost->passed = off > from ? off - from : 0;
	}
	return 0;
}
