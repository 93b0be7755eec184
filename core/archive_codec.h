/* SPDX-License-Identifier: MIT */
/*
 * archive_codec.h - zlib, liblzma and libzstd, loaded on demand.
 *
 * The seek points of a compressed tar (archive_seek.c) are read with the
 * codecs themselves, not through libarchive.  Like libarchive
 * (archive_lib.h), they are not linked into the core: liblayerfs.so is
 * preloaded into every process, and most never decompress anything.  Each
 * library is dlopen()ed the first time a stream of its format is read;
 * libarchive depends on all three, so a process that built an index has
 * them mapped already.
 *
 * Include this instead of <zlib.h>, <lzma.h> and <zstd.h>: each function
 * the core uses is a macro naming its slot (with the library's own
 * prototype), so the calling code reads as plain zlib, liblzma or zstd.
 * A slot is valid once arc_codec_load() returned 0 for its library.
 * libbz2 likewise (libarchive depends on it too).
 */
#ifndef LAYERFS_ARCHIVE_CODEC_H
#define LAYERFS_ARCHIVE_CODEC_H

#include <bzlib.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

enum arc_codec_lib { ARC_LIB_Z, ARC_LIB_LZMA, ARC_LIB_ZSTD, ARC_LIB_BZ2, ARC_NLIBS };

#define ARC_Z_FUNCS(X)                                                      \
	X(inflateInit2_) X(inflate) X(inflateEnd) X(inflateReset2)          \
	X(inflatePrime) X(inflateSetDictionary) X(compress2) X(uncompress)  \
	X(compressBound) X(crc32)

#define ARC_LZMA_FUNCS(X)                                                   \
	X(lzma_code) X(lzma_end) X(lzma_file_info_decoder)                  \
	X(lzma_index_end) X(lzma_index_iter_init) X(lzma_index_iter_next)   \
	X(lzma_index_block_count) X(lzma_block_header_decode)               \
	X(lzma_block_decoder)

#define ARC_ZSTD_FUNCS(X)                                                   \
	X(ZSTD_createDStream) X(ZSTD_freeDStream) X(ZSTD_initDStream)       \
	X(ZSTD_decompressStream) X(ZSTD_isError) X(ZSTD_getErrorName)

#define ARC_BZ2_FUNCS(X)                                                    \
	X(BZ2_bzDecompressInit) X(BZ2_bzDecompress) X(BZ2_bzDecompressEnd)

#define ARC_CODEC_SLOT(name) __typeof__(name) *name;
struct arc_codec {
	ARC_Z_FUNCS(ARC_CODEC_SLOT)
	ARC_LZMA_FUNCS(ARC_CODEC_SLOT)
	ARC_ZSTD_FUNCS(ARC_CODEC_SLOT)
	ARC_BZ2_FUNCS(ARC_CODEC_SLOT)
};
#undef ARC_CODEC_SLOT

extern struct arc_codec arc_codec;

/*
 * Loads one library and resolves its slots, once per process (later calls
 * return the first result).  0, or -ENOSYS when it cannot be loaded.
 */
int arc_codec_load(enum arc_codec_lib lib);

#ifndef ARC_CODEC_IMPL
#define inflateInit2_ (arc_codec.inflateInit2_)
#define inflate (arc_codec.inflate)
#define inflateEnd (arc_codec.inflateEnd)
#define inflateReset2 (arc_codec.inflateReset2)
#define inflatePrime (arc_codec.inflatePrime)
#define inflateSetDictionary (arc_codec.inflateSetDictionary)
#define compress2 (arc_codec.compress2)
#define uncompress (arc_codec.uncompress)
#define compressBound (arc_codec.compressBound)
#define crc32 (arc_codec.crc32)
#define lzma_code (arc_codec.lzma_code)
#define lzma_end (arc_codec.lzma_end)
#define lzma_file_info_decoder (arc_codec.lzma_file_info_decoder)
#define lzma_index_end (arc_codec.lzma_index_end)
#define lzma_index_iter_init (arc_codec.lzma_index_iter_init)
#define lzma_index_iter_next (arc_codec.lzma_index_iter_next)
#define lzma_index_block_count (arc_codec.lzma_index_block_count)
#define lzma_block_header_decode (arc_codec.lzma_block_header_decode)
#define lzma_block_decoder (arc_codec.lzma_block_decoder)
#define ZSTD_createDStream (arc_codec.ZSTD_createDStream)
#define ZSTD_freeDStream (arc_codec.ZSTD_freeDStream)
#define ZSTD_initDStream (arc_codec.ZSTD_initDStream)
#define ZSTD_decompressStream (arc_codec.ZSTD_decompressStream)
#define ZSTD_isError (arc_codec.ZSTD_isError)
#define ZSTD_getErrorName (arc_codec.ZSTD_getErrorName)
#define BZ2_bzDecompressInit (arc_codec.BZ2_bzDecompressInit)
#define BZ2_bzDecompress (arc_codec.BZ2_bzDecompress)
#define BZ2_bzDecompressEnd (arc_codec.BZ2_bzDecompressEnd)
#endif

#endif
