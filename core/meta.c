/* SPDX-License-Identifier: MIT */
/*
 * meta.c - what Linux says of metadata, written once for the shim and the
 * supervisor: access(2)'s rules, statx and statfs from what a layer
 * gives, d_type from a mode.
 */
#define _GNU_SOURCE
#include "layerfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

unsigned char lyr_mode_to_dt(mode_t mode)
{
	return IFTODT(mode);
}

void lyr_stat_to_statx(const struct stat *st, struct statx *stx)
{
	memset(stx, 0, sizeof(*stx));
	stx->stx_mask = STATX_BASIC_STATS;
	stx->stx_blksize = (uint32_t)st->st_blksize;
	stx->stx_nlink = (uint32_t)st->st_nlink;
	stx->stx_uid = st->st_uid;
	stx->stx_gid = st->st_gid;
	stx->stx_mode = (uint16_t)st->st_mode;
	stx->stx_ino = st->st_ino;
	stx->stx_size = (uint64_t)st->st_size;
	stx->stx_blocks = (uint64_t)st->st_blocks;
	stx->stx_atime = (struct statx_timestamp){ st->st_atim.tv_sec,
						   (uint32_t)st->st_atim.tv_nsec, 0 };
	stx->stx_mtime = (struct statx_timestamp){ st->st_mtim.tv_sec,
						   (uint32_t)st->st_mtim.tv_nsec, 0 };
	stx->stx_ctime = (struct statx_timestamp){ st->st_ctim.tv_sec,
						   (uint32_t)st->st_ctim.tv_nsec, 0 };
	stx->stx_rdev_major = major(st->st_rdev);
	stx->stx_rdev_minor = minor(st->st_rdev);
	stx->stx_dev_major = major(st->st_dev);
	stx->stx_dev_minor = minor(st->st_dev);
}

int lyr_may_access(const struct stat *st, int mode, bool effective)
{
	mode_t bits;

	if (mode == F_OK)
		return 0;
	/* The ids are asked for only as far as the answer needs them: an
	 * open of a lower file asks here, once per file of a tree walk. */
	uid_t uid = effective ? geteuid() : getuid();
	if (uid == 0) {
		if ((mode & X_OK) && !S_ISDIR(st->st_mode) && !(st->st_mode & 0111))
			return -EACCES;
		return 0;
	}
	if (st->st_uid == uid)
		bits = (st->st_mode >> 6) & 7;
	else if (st->st_gid == (effective ? getegid() : getgid()) || group_member(st->st_gid))
		bits = (st->st_mode >> 3) & 7;
	else
		bits = st->st_mode & 7;
	return ((unsigned)mode & ~bits & 7) ? -EACCES : 0;
}

void lyr_statvfs_to_statfs(const struct statvfs *sv, dev_t dev, struct statfs *sf)
{
	memset(sf, 0, sizeof(*sf));
	sf->f_type = 0x794c7630; /* OVERLAYFS_SUPER_MAGIC */
	sf->f_bsize = (long)sv->f_bsize;
	sf->f_frsize = (long)sv->f_frsize;
	sf->f_blocks = sv->f_blocks;
	sf->f_bfree = sv->f_bfree;
	sf->f_bavail = sv->f_bavail;
	sf->f_files = sv->f_files;
	sf->f_ffree = sv->f_ffree;
	sf->f_namelen = (long)sv->f_namemax;
	sf->f_flags = (long)sv->f_flag;
	memcpy(&sf->f_fsid, &dev, sizeof(sf->f_fsid) < sizeof(dev) ? sizeof(sf->f_fsid) :
	       sizeof(dev));
}
