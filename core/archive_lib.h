/* SPDX-License-Identifier: MIT */
/*
 * archive_lib.h - libarchive, loaded on demand.
 *
 * liblayerfs.so is preloaded into every process of a job, and libarchive
 * pulls a dozen libraries (ICU, libxml2, libstdc++...) whose loading and
 * relocation cost more than everything else the shim does at start-up.
 * Most processes never need it: an existing index is only mapped, and the
 * members of an uncompressed tar are copied from their offsets.  So the
 * core does not link libarchive: it calls it through a table of function
 * pointers filled by dlopen("libarchive.so.13") the first time a reader is
 * needed (building an index, the extraction pass of a compressed archive).
 *
 * Include this instead of <archive.h> and <archive_entry.h>: below, each
 * libarchive function the core uses is a macro naming its slot in the
 * table, so the calling code reads as plain libarchive.  The slots get
 * their types from libarchive's own prototypes.  A function missing from
 * ARC_LIB_FUNCS fails the link of liblayerfs.so (-z defs, no -larchive).
 *
 * Every slot is valid once arc_lib_load() has returned 0 (from any thread,
 * at any time before); code that has a struct archive * got it from
 * arc_reader_open(), which loads the table first.
 */
#ifndef LAYERFS_ARCHIVE_LIB_H
#define LAYERFS_ARCHIVE_LIB_H

#include "layerfs.h"

#include <archive.h>
#include <archive_entry.h>

/* The soname loaded; a build can name another (tests of the failure path). */
#ifndef LYR_LIBARCHIVE_SONAME
#define LYR_LIBARCHIVE_SONAME "libarchive.so.13"
#endif

#define ARC_LIB_FUNCS(X)                                                    \
	X(archive_read_new) X(archive_read_free) X(archive_read_open1)      \
	X(archive_read_support_filter_all)                                  \
	X(archive_read_support_format_ar) X(archive_read_support_format_cpio) \
	X(archive_read_support_format_empty) X(archive_read_support_format_lha) \
	X(archive_read_support_format_tar) X(archive_read_support_format_xar) \
	X(archive_read_support_format_warc) X(archive_read_support_format_7zip) \
	X(archive_read_support_format_cab) X(archive_read_support_format_rar) \
	X(archive_read_support_format_rar5)                                 \
	X(archive_read_support_format_iso9660)                              \
	X(archive_read_support_format_zip) X(archive_read_support_format_raw) \
	X(archive_read_set_read_callback) X(archive_read_set_skip_callback) \
	X(archive_read_set_seek_callback) X(archive_read_set_callback_data) \
	X(archive_read_next_header) X(archive_read_data_block)              \
	X(archive_set_error) X(archive_error_string) X(archive_errno)       \
	X(archive_filter_bytes) X(archive_filter_code) X(archive_filter_count) \
	X(archive_format)                                                   \
	X(archive_entry_pathname) X(archive_entry_hardlink)                 \
	X(archive_entry_symlink) X(archive_entry_filetype)                  \
	X(archive_entry_perm) X(archive_entry_uid) X(archive_entry_gid)     \
	X(archive_entry_rdev) X(archive_entry_size)                         \
	X(archive_entry_size_is_set) X(archive_entry_sparse_count)          \
	X(archive_entry_mtime) X(archive_entry_mtime_nsec)                  \
	X(archive_entry_mtime_is_set) X(archive_entry_atime)                \
	X(archive_entry_atime_nsec) X(archive_entry_atime_is_set)           \
	X(archive_entry_ctime) X(archive_entry_ctime_nsec)                  \
	X(archive_entry_ctime_is_set) X(archive_entry_xattr_reset)          \
	X(archive_entry_xattr_next)

struct arc_lib {
#define ARC_LIB_SLOT(name) __typeof__(name) *name;
	ARC_LIB_FUNCS(ARC_LIB_SLOT)
#undef ARC_LIB_SLOT
};

/* The table; read it only after arc_lib_load() returned 0. */
extern struct arc_lib arc_lib;

/*
 * Loads libarchive and resolves every slot, once per process (later calls
 * only return the first result).  Returns 0, or -ENOSYS with a message
 * naming path (the archive that needed it) and the loader's reason in err
 * (err may be NULL).
 */
int arc_lib_load(const char *path, struct lyr_error *err);

/* From here on, libarchive's names are the table's slots (archive_lib.c,
 * which fills them, sees the real names). */
#ifndef ARC_LIB_IMPL
#define archive_read_new (arc_lib.archive_read_new)
#define archive_read_free (arc_lib.archive_read_free)
#define archive_read_open1 (arc_lib.archive_read_open1)
#define archive_read_support_filter_all (arc_lib.archive_read_support_filter_all)
#define archive_read_support_format_ar (arc_lib.archive_read_support_format_ar)
#define archive_read_support_format_cpio (arc_lib.archive_read_support_format_cpio)
#define archive_read_support_format_empty (arc_lib.archive_read_support_format_empty)
#define archive_read_support_format_lha (arc_lib.archive_read_support_format_lha)
#define archive_read_support_format_tar (arc_lib.archive_read_support_format_tar)
#define archive_read_support_format_xar (arc_lib.archive_read_support_format_xar)
#define archive_read_support_format_warc (arc_lib.archive_read_support_format_warc)
#define archive_read_support_format_7zip (arc_lib.archive_read_support_format_7zip)
#define archive_read_support_format_cab (arc_lib.archive_read_support_format_cab)
#define archive_read_support_format_rar (arc_lib.archive_read_support_format_rar)
#define archive_read_support_format_rar5 (arc_lib.archive_read_support_format_rar5)
#define archive_read_support_format_iso9660 (arc_lib.archive_read_support_format_iso9660)
#define archive_read_support_format_zip (arc_lib.archive_read_support_format_zip)
#define archive_read_support_format_raw (arc_lib.archive_read_support_format_raw)
#define archive_read_set_read_callback (arc_lib.archive_read_set_read_callback)
#define archive_read_set_skip_callback (arc_lib.archive_read_set_skip_callback)
#define archive_read_set_seek_callback (arc_lib.archive_read_set_seek_callback)
#define archive_read_set_callback_data (arc_lib.archive_read_set_callback_data)
#define archive_read_next_header (arc_lib.archive_read_next_header)
#define archive_read_data_block (arc_lib.archive_read_data_block)
#define archive_set_error (arc_lib.archive_set_error)
#define archive_error_string (arc_lib.archive_error_string)
#define archive_errno (arc_lib.archive_errno)
#define archive_filter_bytes (arc_lib.archive_filter_bytes)
#define archive_filter_code (arc_lib.archive_filter_code)
#define archive_filter_count (arc_lib.archive_filter_count)
#define archive_format (arc_lib.archive_format)
#define archive_entry_pathname (arc_lib.archive_entry_pathname)
#define archive_entry_hardlink (arc_lib.archive_entry_hardlink)
#define archive_entry_symlink (arc_lib.archive_entry_symlink)
#define archive_entry_filetype (arc_lib.archive_entry_filetype)
#define archive_entry_perm (arc_lib.archive_entry_perm)
#define archive_entry_uid (arc_lib.archive_entry_uid)
#define archive_entry_gid (arc_lib.archive_entry_gid)
#define archive_entry_rdev (arc_lib.archive_entry_rdev)
#define archive_entry_size (arc_lib.archive_entry_size)
#define archive_entry_size_is_set (arc_lib.archive_entry_size_is_set)
#define archive_entry_sparse_count (arc_lib.archive_entry_sparse_count)
#define archive_entry_mtime (arc_lib.archive_entry_mtime)
#define archive_entry_mtime_nsec (arc_lib.archive_entry_mtime_nsec)
#define archive_entry_mtime_is_set (arc_lib.archive_entry_mtime_is_set)
#define archive_entry_atime (arc_lib.archive_entry_atime)
#define archive_entry_atime_nsec (arc_lib.archive_entry_atime_nsec)
#define archive_entry_atime_is_set (arc_lib.archive_entry_atime_is_set)
#define archive_entry_ctime (arc_lib.archive_entry_ctime)
#define archive_entry_ctime_nsec (arc_lib.archive_entry_ctime_nsec)
#define archive_entry_ctime_is_set (arc_lib.archive_entry_ctime_is_set)
#define archive_entry_xattr_reset (arc_lib.archive_entry_xattr_reset)
#define archive_entry_xattr_next (arc_lib.archive_entry_xattr_next)
#endif

#endif
