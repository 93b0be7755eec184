/* SPDX-License-Identifier: MIT */
/*
 * sha256.h - SHA-256 digests of image blobs (sha256.c).  Internal to the
 * core and the launcher's helper.
 */
#ifndef LAYERFS_SHA256_H
#define LAYERFS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define LYR_SHA256_HEX 65 /* 64 lower-case hex digits and a NUL */

struct lyr_sha256 {
	uint32_t h[8];
	uint64_t len;
	unsigned char buf[64];
	size_t fill;
};

void lyr_sha256_init(struct lyr_sha256 *s);
void lyr_sha256_update(struct lyr_sha256 *s, const void *data, size_t n);
/* The digest in lower-case hex; s is used up. */
void lyr_sha256_hex(struct lyr_sha256 *s, char hex[LYR_SHA256_HEX]);
/* The digest of everything fd holds, read with pread from offset 0. */
int lyr_sha256_fd(int fd, char hex[LYR_SHA256_HEX]);

#endif
