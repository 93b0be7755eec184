/* SPDX-License-Identifier: MIT */
/*
 * image.h - container images as lowers (image.c): "oci:DIR[:REF]" (an OCI
 * image layout) and "docker-archive:FILE[:REF]" (a `docker save` tarball)
 * expand to the image's layer blobs, topmost first, each an archive lower.
 * Only the launcher's helper reads images: the library preloaded into a
 * job's processes sees plain archive lowers.
 */
#ifndef LAYERFS_IMAGE_H
#define LAYERFS_IMAGE_H

#include "layerfs.h"
#include "sha256.h"

#include <stdbool.h>
#include <stddef.h>

struct img_layer {
	char *path;                  /* the layer's blob, a file */
	char sha256[LYR_SHA256_HEX]; /* the digest it must have; "": checked already */
};

struct img_layers {
	struct img_layer *v;         /* topmost first */
	size_t n;
	size_t cap;                  /* slots allocated (internal) */
};

/* Is s an image ("oci:" or "docker-archive:" and more)? */
bool img_is_spec(const char *s);

/*
 * The layers of image spec, topmost first, into *out (free with
 * img_layers_free).  A docker-archive's layers are copied once into
 * CACHE/docker-archive-layers/ (cache: the cache directory), checked as they are
 * copied.  The layout's manifests are checked against their digests here;
 * the layer blobs when their index is built (lyr_archive_opts.sha256).
 * 0, or -errno with one line in *err naming the image and what is wrong.
 */
int img_expand(const char *spec, const char *cache, struct img_layers *out,
	       struct lyr_error *err);
void img_layers_free(struct img_layers *l);

/*
 * A new image in an OCI layout: base ("oci:DIR:REF") and one more layer,
 * the tar file layer (moved into the layout as an uncompressed layer
 * blob), tagged as target says ("oci:DIR:NEWREF", the same layout).  The
 * config gets the layer's diff_id and a history entry created_by (the
 * command); then the manifest; index.json is replaced whole, the tag
 * moving to the new manifest.  0, or -errno with one line in *err.
 */
/* The layout directory of "oci:DIR[:REF]", malloc'ed, into *dir. */
int img_oci_dir(const char *spec, char **dir, struct lyr_error *err);

int img_commit(const char *base, const char *target, const char *layer,
	       const char *created_by, struct lyr_error *err);

#endif
