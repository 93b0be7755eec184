/* SPDX-License-Identifier: MIT */
/*
 * image.c - container images as lowers (image.h).
 *
 * JSON: jansson (Debian's libjansson).  Of the three JSON libraries Debian
 * has for C (json-c, jansson, cJSON), jansson keeps integers as 64-bit
 * integers (blob sizes; cJSON holds every number as a double), validates
 * UTF-8 and can refuse duplicate keys while parsing (JSON_REJECT_DUPLICATES:
 * a manifest with two "layers" keys means different things to different
 * readers, so it is refused), and has a small, stable API.  Only the helper
 * links it: the library preloaded into every process of a job does not.
 *
 * Divisions:
 *   1. helpers: messages, files, JSON, digests
 *   2. OCI image layouts: index, manifest lists, manifests
 *   3. docker-archive tarballs
 *   4. the entry point
 */
#define _GNU_SOURCE
#include "image.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define IMG_JSON_MAX (16 << 20) /* a manifest, index or config: at most */
#define IMG_DEPTH 4             /* indexes inside indexes, at most */

/* ---- 1. helpers ------------------------------------------------------ */

struct img {
	const char *spec;       /* as given, for messages */
	char *where;            /* the layout directory or the tarball */
	const char *ref;        /* NULL: the only image */
	struct lyr_error *err;
	struct img_layers *out;
	bool keep;              /* img_commit: keep the manifest chosen ... */
	json_t *manifest;       /* ... here */
};

__attribute__((format(printf, 3, 4)))
static int img_fail(struct img *im, int errnum, const char *fmt, ...)
{
	char msg[sizeof(im->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return lyr_seterr(im->err, errnum, "image %s: %s", im->spec, msg);
}

static bool is_hex64(const char *s)
{
	size_t i = 0;

	for (; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == 64;
}

/* "sha256:HEX": HEX, else NULL (no other algorithm is read). */
static const char *sha256_of(const char *digest)
{
	if (!digest || strncmp(digest, "sha256:", 7) || !is_hex64(digest + 7))
		return NULL;
	return digest + 7;
}

/* A whole small file into memory (NUL-terminated); 0 or -errno. */
static int read_small(const char *path, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	size_t n = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > IMG_JSON_MAX) {
		int e = errno;
		close(fd);
		return S_ISREG(st.st_mode) && st.st_size > IMG_JSON_MAX ? -EFBIG :
		       !S_ISREG(st.st_mode) ? -EINVAL : -e;
	}
	*buf = malloc((size_t)st.st_size + 1);
	if (!*buf) {
		close(fd);
		return -ENOMEM;
	}
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, *buf + n, (size_t)st.st_size - n);
		if (r <= 0) {
			int e = r < 0 ? errno : EIO;
			free(*buf);
			close(fd);
			return -e;
		}
		n += (size_t)r;
	}
	close(fd);
	(*buf)[n] = '\0';
	*len = n;
	return 0;
}

static json_t *parse(struct img *im, const char *what, const char *buf, size_t len)
{
	json_error_t je;
	json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);

	if (!j)
		img_fail(im, EBADMSG, "%s is not valid JSON: %s (line %d)", what, je.text,
			 je.line);
	else if (!json_is_object(j) && !json_is_array(j)) {
		json_decref(j);
		j = NULL;
		img_fail(im, EBADMSG, "%s is not a JSON object", what);
	}
	return j;
}

static const char *str_of(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* ---- 2. OCI image layouts -------------------------------------------- */

/* Media types (image-spec media-types.md, and Docker's schema 2). */
static const char *const index_types[] = {
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
};
static const char *const manifest_types[] = {
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
};
/* Layers libarchive reads (it tells the compression by the content). */
static const char *const layer_types[] = {
	"application/vnd.oci.image.layer.v1.tar",
	"application/vnd.oci.image.layer.v1.tar+gzip",
	"application/vnd.oci.image.layer.v1.tar+zstd",
	"application/vnd.oci.image.layer.nondistributable.v1.tar",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
	"application/vnd.docker.image.rootfs.diff.tar",
	"application/vnd.docker.image.rootfs.diff.tar.gzip",
	"application/vnd.docker.image.rootfs.diff.tar.zstd",
	"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
};

static bool one_of(const char *s, const char *const *v, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		if (!strcmp(s, v[i]))
			return true;
	return false;
}
#define ONE_OF(s, v) one_of(s, v, sizeof(v) / sizeof(v[0]))

static char *blob_path(struct img *im, const char *hex)
{
	char *p;

	if (asprintf(&p, "%s/blobs/sha256/%s", im->where, hex) < 0)
		return NULL;
	return p;
}

/* Blob hex of the layout, read whole and checked against its digest. */
static json_t *load_blob(struct img *im, const char *hex, const char *what)
{
	char *path = blob_path(im, hex), *buf = NULL, got[LYR_SHA256_HEX];
	struct lyr_sha256 s;
	size_t len;
	int r;

	if (!path) {
		img_fail(im, ENOMEM, "out of memory");
		return NULL;
	}
	r = read_small(path, &buf, &len);
	free(path);
	if (r) {
		img_fail(im, -r, "%s blob sha256:%s: %s", what, hex,
			 r == -ENOENT ? "missing from the layout" : strerror(-r));
		return NULL;
	}
	lyr_sha256_init(&s);
	lyr_sha256_update(&s, buf, len);
	lyr_sha256_hex(&s, got);
	if (strcmp(got, hex)) {
		free(buf);
		img_fail(im, EBADMSG, "%s blob sha256:%s is damaged: its content's digest is "
			 "sha256:%s", what, hex, got);
		return NULL;
	}
	char desc[128];
	snprintf(desc, sizeof(desc), "%s blob sha256:%.12s", what, hex);
	json_t *j = parse(im, desc, buf, len);
	free(buf);
	return j;
}

static void host_platform(const char **arch, const char **variant);

/*
 * The platform an index is read for: $LAYERFS_PLATFORM ("OS/ARCH" or
 * "OS/ARCH/VARIANT", as OCI names them), else the machine's (linux and
 * Go's GOARCH for uname's machine).
 */
static void machine_platform(const char **os, const char **arch, const char **variant)
{
	static char want[128];
	const char *env = getenv("LAYERFS_PLATFORM");

	if (env && *env && strlen(env) < sizeof(want)) {
		strcpy(want, env);
		char *a = strchr(want, '/'), *v = a ? strchr(a + 1, '/') : NULL;
		if (a) {
			*a++ = '\0';
			if (v)
				*v++ = '\0';
			*os = want;
			*arch = a;
			*variant = v && *v ? v : NULL;
			return;
		}
	}
	*os = "linux";
	host_platform(arch, variant);
}

/* The machine's architecture as OCI names it (Go's GOARCH). */
static void host_platform(const char **arch, const char **variant)
{
	static struct utsname u;
	static const struct { const char *uname, *arch, *variant; } map[] = {
		{ "x86_64", "amd64", NULL }, { "aarch64", "arm64", NULL },
		{ "armv7l", "arm", "v7" }, { "armv6l", "arm", "v6" },
		{ "i686", "386", NULL }, { "i586", "386", NULL },
		{ "ppc64le", "ppc64le", NULL }, { "s390x", "s390x", NULL },
		{ "riscv64", "riscv64", NULL }, { "mips64", "mips64", NULL },
		{ "loongarch64", "loong64", NULL },
	};

	*arch = "unknown";
	*variant = NULL;
	if (uname(&u))
		return;
	*arch = u.machine;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(u.machine, map[i].uname)) {
			*arch = map[i].arch;
			*variant = map[i].variant;
		}
}

static int resolve_desc(struct img *im, json_t *desc, int depth);

/* An index (or manifest list): the manifest for this machine. */
static int pick_platform(struct img *im, json_t *index, int depth)
{
	json_t *ms = json_object_get(index, "manifests"), *d;
	const char *want_os, *arch, *variant;
	char seen[512] = "";
	size_t i;

	machine_platform(&want_os, &arch, &variant);
	if (!json_is_array(ms) || !json_array_size(ms))
		return img_fail(im, EBADMSG, "an index lists no manifests");
	json_t *best = NULL;
	json_array_foreach(ms, i, d) {
		json_t *p = json_object_get(d, "platform");
		const char *os = str_of(p, "os"), *a = str_of(p, "architecture");
		const char *v = str_of(p, "variant");
		if (os && a)
			snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), "%s%s/%s%s%s",
				 *seen ? ", " : "", os, a, v ? "/" : "", v ? v : "");
		if (!os || !a || strcmp(os, want_os) || strcmp(a, arch))
			continue;
		if (variant && v && strcmp(v, variant))
			continue;
		if (!best)
			best = d;
	}
	if (!best)
		return img_fail(im, ENOENT, "no image for %s/%s%s%s in its index (set "
				"LAYERFS_PLATFORM=OS/ARCH for another); it has: %s", want_os,
				arch, variant ? "/" : "", variant ? variant : "",
				*seen ? seen : "no platforms");
	return resolve_desc(im, best, depth + 1);
}

/* A manifest: its layers, appended to out topmost first. */
static int take_layers(struct img *im, json_t *man)
{
	json_t *ls = json_object_get(man, "layers"), *d;
	size_t i, n;

	if (!json_is_array(ls))
		return img_fail(im, EBADMSG, "its manifest has no \"layers\" list");
	n = json_array_size(ls);
	if (n > LYR_MAX_LOWER)
		return img_fail(im, E2BIG, "%zu layers: layerfs stacks at most %d", n,
				LYR_MAX_LOWER);
	im->out->v = calloc(n ? n : 1, sizeof(*im->out->v));
	if (!im->out->v)
		return img_fail(im, ENOMEM, "out of memory");
	im->out->cap = n;
	json_array_foreach(ls, i, d) {
		const char *mt = str_of(d, "mediaType"), *dg = str_of(d, "digest");
		const char *hex = sha256_of(dg);
		json_t *size = json_object_get(d, "size");
		struct stat st;
		if (!hex)
			return img_fail(im, EBADMSG, "layer %zu: digest \"%s\" is not sha256:"
					"followed by 64 hex digits", i + 1, dg ? dg : "");
		if (!ONE_OF(mt, layer_types))
			return img_fail(im, ENOTSUP, "layer %zu (sha256:%s) has media type "
					"\"%s\": layerfs reads tar layers, uncompressed, gzip or "
					"zstd", i + 1, hex, mt ? mt : "");
		struct img_layer *l = &im->out->v[n - 1 - i];
		if (!(l->path = blob_path(im, hex)))
			return img_fail(im, ENOMEM, "out of memory");
		if (stat(l->path, &st) < 0)
			return img_fail(im, errno, "layer %zu: blob sha256:%s: %s", i + 1, hex,
					errno == ENOENT ? "missing from the layout" :
					strerror(errno));
		if (json_is_integer(size) && json_integer_value(size) != st.st_size)
			return img_fail(im, EBADMSG, "layer %zu: blob sha256:%s is damaged: "
					"%lld bytes, its manifest says %lld", i + 1, hex,
					(long long)st.st_size,
					(long long)json_integer_value(size));
		memcpy(l->sha256, hex, LYR_SHA256_HEX);
	}
	im->out->n = n;
	return 0;
}

/* What a descriptor names: an index (recursed into) or a manifest. */
static int resolve_desc(struct img *im, json_t *desc, int depth)
{
	const char *dg = str_of(desc, "digest"), *hex = sha256_of(dg);
	const char *mt = str_of(desc, "mediaType");
	int r;

	if (depth > IMG_DEPTH)
		return img_fail(im, ELOOP, "indexes nested more than %d deep", IMG_DEPTH);
	if (!hex)
		return img_fail(im, EBADMSG, "a descriptor's digest \"%s\" is not sha256:"
				"followed by 64 hex digits", dg ? dg : "");
	json_t *j = load_blob(im, hex, "manifest");
	if (!j)
		return -EBADMSG;
	const char *own = str_of(j, "mediaType");
	if (!mt)
		mt = own;
	if (!mt && json_object_get(j, "manifests"))
		mt = index_types[0];
	if (!mt && json_object_get(j, "layers"))
		mt = manifest_types[0];
	if (ONE_OF(mt, index_types))
		r = pick_platform(im, j, depth);
	else if (ONE_OF(mt, manifest_types) && im->keep)
		r = (im->manifest = json_incref(j)) ? 0 : -ENOMEM;
	else if (ONE_OF(mt, manifest_types))
		r = take_layers(im, j);
	else
		r = img_fail(im, ENOTSUP, "manifest sha256:%s has media type \"%s\", "
			     "neither an image manifest nor an index", hex, mt ? mt : "");
	json_decref(j);
	return r;
}

static int oci_expand(struct img *im)
{
	char *path, *buf;
	size_t len, i;
	json_t *d;
	int r;

	if (asprintf(&path, "%s/oci-layout", im->where) < 0)
		return img_fail(im, ENOMEM, "out of memory");
	r = access(path, R_OK) ? -errno : 0;
	free(path);
	if (r)
		return img_fail(im, -r, "%s is not an OCI image layout (no oci-layout file)",
				im->where);
	if (asprintf(&path, "%s/index.json", im->where) < 0)
		return img_fail(im, ENOMEM, "out of memory");
	r = read_small(path, &buf, &len);
	free(path);
	if (r)
		return img_fail(im, -r, "%s/index.json: %s", im->where, strerror(-r));
	json_t *index = parse(im, "index.json", buf, len);
	free(buf);
	if (!index)
		return -EBADMSG;
	json_t *ms = json_object_get(index, "manifests"), *pick = NULL;
	char tags[512] = "";
	if (!json_is_array(ms)) {
		json_decref(index);
		return img_fail(im, EBADMSG, "index.json has no \"manifests\" list");
	}
	json_array_foreach(ms, i, d) {
		const char *tag = str_of(json_object_get(d, "annotations"),
					 "org.opencontainers.image.ref.name");
		const char *dg = str_of(d, "digest");
		if (tag)
			snprintf(tags + strlen(tags), sizeof(tags) - strlen(tags), "%s%s",
				 *tags ? ", " : "", tag);
		if (im->ref && !pick && ((tag && !strcmp(tag, im->ref)) ||
					 (dg && !strcmp(dg, im->ref))))
			pick = d;
	}
	json_t *own = NULL;
	if (!im->ref) {
		if (json_array_size(ms) != 1) {
			if (json_array_size(ms))
				r = img_fail(im, EINVAL, "it holds %zu images: name one, "
					     "oci:DIR:TAG or oci:DIR:sha256:DIGEST (tags: %s)",
					     json_array_size(ms), *tags ? tags : "none");
			else
				r = img_fail(im, ENOENT, "it holds no image");
			json_decref(index);
			return r;
		}
		pick = json_array_get(ms, 0);
	} else if (!pick && sha256_of(im->ref)) {
		/* a manifest the layout holds, even when index.json does not list it */
		own = json_pack("{s:s}", "digest", im->ref);
		pick = own;
	} else if (!pick) {
		r = img_fail(im, ENOENT, "no image tagged \"%s\" (tags: %s)", im->ref,
			     *tags ? tags : "none");
		json_decref(index);
		return r;
	}
	r = resolve_desc(im, pick, 0);
	json_decref(own);
	json_decref(index);
	return r;
}

/* ---- 3. docker-archive tarballs -------------------------------------- */

struct member {
	char *name;
	char *link;       /* a symlink's target, resolved against its directory */
	char *json;       /* content, for *.json members and "json" files */
	size_t len;
};

struct tarball {
	struct member *m;
	size_t n, cap;
};

static void tarball_free(struct tarball *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->m[i].name);
		free(t->m[i].link);
		free(t->m[i].json);
	}
	free(t->m);
}

static struct archive *tar_open(struct img *im)
{
	struct archive *a = archive_read_new();

	if (!a)
		return NULL;
	archive_read_support_format_tar(a);
	archive_read_support_filter_all(a);
	if (archive_read_open_filename(a, im->where, 1 << 16) != ARCHIVE_OK) {
		img_fail(im, EINVAL, "%s", archive_error_string(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

static bool wants_content(const char *name)
{
	size_t n = strlen(name);

	return !strcmp(name, "manifest.json") || (n > 5 && !strcmp(name + n - 5, ".json"));
}

/* "a/./b" and "a/../c" as the tarball names its members. */
static char *clean_name(const char *dir, const char *name)
{
	char *s, *out;

	if (asprintf(&s, "%s%s%s", dir ? dir : "", dir && *dir ? "/" : "", name) < 0)
		return NULL;
	out = calloc(1, strlen(s) + 1);
	if (!out) {
		free(s);
		return NULL;
	}
	size_t o = 0;
	for (char *save, *c = strtok_r(s, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			while (o && out[o - 1] != '/')
				o--;
			if (o)
				o--;
			out[o] = '\0';
			continue;
		}
		o += (size_t)sprintf(out + o, "%s%s", o ? "/" : "", c);
	}
	free(s);
	return out;
}

/* First pass: every member's name, symlinks, and the JSON ones' content. */
static int tar_scan(struct img *im, struct tarball *t)
{
	struct archive *a = tar_open(im);
	struct archive_entry *e;
	int r = 0, ar;

	if (!a)
		return -EINVAL;
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN) {
		if (t->n == t->cap) {
			size_t cap = t->cap ? 2 * t->cap : 32;
			struct member *m = realloc(t->m, cap * sizeof(*m));
			if (!m) {
				r = img_fail(im, ENOMEM, "out of memory");
				break;
			}
			t->m = m;
			t->cap = cap;
		}
		struct member *m = &t->m[t->n];
		memset(m, 0, sizeof(*m));
		if (!(m->name = clean_name(NULL, archive_entry_pathname(e)))) {
			r = img_fail(im, ENOMEM, "out of memory");
			break;
		}
		t->n++;
		if (archive_entry_filetype(e) == AE_IFLNK) {
			char *dir = strdup(m->name), *slash = dir ? strrchr(dir, '/') : NULL;
			if (dir)
				*(slash ? slash : dir) = '\0';
			m->link = dir ? clean_name(dir, archive_entry_symlink(e)) : NULL;
			free(dir);
			continue;
		}
		if (archive_entry_filetype(e) != AE_IFREG || !wants_content(m->name))
			continue;
		la_int64_t size = archive_entry_size(e);
		if (size < 0 || size > IMG_JSON_MAX) {
			r = img_fail(im, EFBIG, "member %s is too large for JSON", m->name);
			break;
		}
		m->json = malloc((size_t)size + 1);
		if (!m->json) {
			r = img_fail(im, ENOMEM, "out of memory");
			break;
		}
		la_ssize_t got = archive_read_data(a, m->json, (size_t)size);
		if (got != size) {
			r = img_fail(im, EIO, "member %s: %s", m->name,
				     got < 0 ? archive_error_string(a) : "cut short");
			break;
		}
		m->json[size] = '\0';
		m->len = (size_t)size;
	}
	if (!r && ar != ARCHIVE_EOF)
		r = img_fail(im, EBADMSG, "%s", archive_error_string(a));
	archive_read_free(a);
	return r;
}

static struct member *member_of(struct tarball *t, const char *name)
{
	char *clean = clean_name(NULL, name);

	for (int hops = 0; clean && hops < 8; hops++) {
		struct member *m = NULL;
		for (size_t i = 0; i < t->n && !m; i++)
			if (!strcmp(t->m[i].name, clean))
				m = &t->m[i];
		if (!m || !m->link) {
			free(clean);
			return m;
		}
		free(clean);
		clean = strdup(m->link);
	}
	free(clean);
	return NULL;
}

/*
 * A blob copy in the cache, held for the rest of this process (the
 * launcher's: the whole job) by a shared flock, so that no prune removes
 * it (cache.c), and its mtime made now: its last use.  0, -ENOENT when it
 * is not there (or a prune removed it just now), or -errno.
 */
static int hold_blob(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_SH) && errno == EINTR)
		;
	if (fstat(fd, &st) || st.st_nlink == 0) {
		close(fd);
		return -ENOENT;
	}
	futimens(fd, NULL);
	return 0;	/* fd stays open: it holds the lock */
}

/*
 * Second pass: the layers not in the blob directory yet are copied there,
 * each checked against its digest as it is written, and renamed into
 * place whole.
 */
static int tar_copy(struct img *im, const char *dir, struct member **want,
		    const char **hex, size_t n)
{
	struct archive *a = tar_open(im);
	struct archive_entry *e;
	int r = 0, ar;

	if (!a)
		return -EINVAL;
	while (!r && ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK ||
		      ar == ARCHIVE_WARN)) {
		char *name = clean_name(NULL, archive_entry_pathname(e));
		size_t k = 0;
		while (name && k < n && (!want[k] || strcmp(want[k]->name, name)))
			k++;
		free(name);
		if (k == n)
			continue;
		char tmp[PATH_MAX], final[PATH_MAX], got[LYR_SHA256_HEX];
		snprintf(tmp, sizeof(tmp), "%s/.tmp.%d.%zu", dir, getpid(), k);
		snprintf(final, sizeof(final), "%s/%s", dir, hex[k]);
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0444);
		if (fd < 0) {
			r = img_fail(im, errno, "cannot write %s: %s", tmp, strerror(errno));
			break;
		}
		/* a prune removes only the temporaries nobody holds */
		while (flock(fd, LOCK_EX) && errno == EINTR)
			;
		struct lyr_sha256 s;
		const void *buf;
		size_t len;
		la_int64_t off, at = 0;
		lyr_sha256_init(&s);
		while ((ar = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
			if (off != at) { /* a hole: no layer is sparse */
				r = img_fail(im, EBADMSG, "layer %s is a sparse member",
					     want[k]->name);
				break;
			}
			lyr_sha256_update(&s, buf, len);
			for (size_t done = 0; done < len;) {
				ssize_t w = write(fd, (const char *)buf + done, len - done);
				if (w < 0) {
					r = img_fail(im, errno, "cannot write %s: %s", tmp,
						     strerror(errno));
					break;
				}
				done += (size_t)w;
			}
			if (r)
				break;
			at += (la_int64_t)len;
		}
		if (!r && ar != ARCHIVE_EOF)
			r = img_fail(im, EIO, "layer %s: %s", want[k]->name,
				     archive_error_string(a));
		lyr_sha256_hex(&s, got);
		if (!r && strcmp(got, hex[k]))
			r = img_fail(im, EBADMSG, "layer %s (sha256:%s) is damaged: its content's "
				     "digest is sha256:%s", want[k]->name, hex[k], got);
		if (!r && (fsync(fd) || rename(tmp, final)))
			r = img_fail(im, errno, "cannot write %s: %s", final, strerror(errno));
		if (r) {
			unlink(tmp);
			close(fd);
		} else {
			flock(fd, LOCK_SH); /* held for the job, as hold_blob does */
		}
		want[k] = NULL;
	}
	if (!r && ar != ARCHIVE_EOF)
		r = img_fail(im, EBADMSG, "%s", archive_error_string(a));
	for (size_t k = 0; !r && k < n; k++)
		if (want[k])
			r = img_fail(im, ENOENT, "layer %s is missing from the tarball",
				     want[k]->name);
	archive_read_free(a);
	return r;
}

/* Does RepoTags entry tag name ref ("name:tag", docker.io/ optional)? */
static bool tag_is(const char *tag, const char *ref)
{
	static const char *const pre[] = { "", "docker.io/", "docker.io/library/" };

	for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
		size_t n = strlen(pre[i]);
		if (!strncmp(tag, pre[i], n) && !strcmp(tag + n, ref))
			return true;
	}
	return false;
}

static int docker_expand(struct img *im, const char *cache)
{
	struct tarball t = { 0 };
	json_t *man = NULL, *cfg = NULL, *pick = NULL, *d;
	struct member **want = NULL;
	const char **hex = NULL;
	char *dir = NULL, tags[512] = "";
	size_t i, n = 0;
	int r;

	if ((r = tar_scan(im, &t)))
		goto out;
	struct member *mm = member_of(&t, "manifest.json");
	if (!mm || !mm->json) {
		r = img_fail(im, EINVAL, "not a docker-archive: it has no manifest.json");
		goto out;
	}
	if (!(man = parse(im, "manifest.json", mm->json, mm->len))) {
		r = -EBADMSG;
		goto out;
	}
	if (!json_is_array(man) || !json_array_size(man)) {
		r = img_fail(im, EBADMSG, "manifest.json lists no image");
		goto out;
	}
	json_array_foreach(man, i, d) {
		json_t *rt = json_object_get(d, "RepoTags"), *tg;
		size_t k;
		json_array_foreach(rt, k, tg) {
			const char *s = json_string_value(tg);
			if (!s)
				continue;
			snprintf(tags + strlen(tags), sizeof(tags) - strlen(tags), "%s%s",
				 *tags ? ", " : "", s);
			if (im->ref && !pick && tag_is(s, im->ref))
				pick = d;
		}
	}
	if (!im->ref && json_array_size(man) == 1) {
		pick = json_array_get(man, 0);
	} else if (!im->ref) {
		r = img_fail(im, EINVAL, "it holds %zu images: name one, docker-archive:FILE:"
			     "NAME:TAG (tags: %s)", json_array_size(man), tags);
		goto out;
	} else if (!pick) {
		r = img_fail(im, ENOENT, "no image tagged \"%s\" (tags: %s)", im->ref,
			     *tags ? tags : "none");
		goto out;
	}
	const char *cname = str_of(pick, "Config");
	struct member *cm = cname ? member_of(&t, cname) : NULL;
	if (!cm || !cm->json) {
		r = img_fail(im, EBADMSG, "its config %s is missing", cname ? cname : "(none)");
		goto out;
	}
	if (!(cfg = parse(im, cname, cm->json, cm->len))) {
		r = -EBADMSG;
		goto out;
	}
	json_t *diffs = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
	json_t *layers = json_object_get(pick, "Layers");
	n = json_array_size(layers);
	if (!json_is_array(layers) || json_array_size(diffs) != n) {
		r = img_fail(im, EBADMSG, "its manifest names %zu layers, its config %zu", n,
			     json_array_size(diffs));
		goto out;
	}
	if (n > LYR_MAX_LOWER) {
		r = img_fail(im, E2BIG, "%zu layers: layerfs stacks at most %d", n,
			     LYR_MAX_LOWER);
		goto out;
	}
	want = calloc(n + 1, sizeof(*want));
	hex = calloc(n + 1, sizeof(*hex));
	im->out->v = calloc(n + 1, sizeof(*im->out->v));
	im->out->cap = n + 1;
	if (!want || !hex || !im->out->v ||
	    asprintf(&dir, "%s/docker-archive-layers", cache) < 0) {
		dir = NULL;
		r = img_fail(im, ENOMEM, "out of memory");
		goto out;
	}
	if ((r = lyr_mkdirs(dir, 0755))) {
		r = img_fail(im, -r, "cannot make %s: %s", dir, strerror(-r));
		goto out;
	}
	size_t copies = 0;
	for (i = 0; i < n; i++) {
		const char *ln = json_string_value(json_array_get(layers, i));
		const char *dg = json_string_value(json_array_get(diffs, i));
		struct member *lm = ln ? member_of(&t, ln) : NULL;
		/* a layer stored as blobs/sha256/HEX is named by its own digest
		 * (it may be compressed); otherwise it is the uncompressed
		 * layer whose digest is the config's diff_id */
		const char *h = ln && !strncmp(ln, "blobs/sha256/", 13) && is_hex64(ln + 13) ?
				ln + 13 : sha256_of(dg);
		if (!lm) {
			r = img_fail(im, ENOENT, "layer %s is missing from the tarball",
				     ln ? ln : "(unnamed)");
			goto out;
		}
		if (!h) {
			r = img_fail(im, EBADMSG, "layer %zu has no sha256 diff_id", i + 1);
			goto out;
		}
		hex[i] = h;
		struct img_layer *l = &im->out->v[n - 1 - i];
		if (asprintf(&l->path, "%s/%s", dir, h) < 0) {
			l->path = NULL;
			r = img_fail(im, ENOMEM, "out of memory");
			goto out;
		}
		l->sha256[0] = '\0'; /* checked as it is copied */
		if ((r = hold_blob(l->path)) && r != -ENOENT) {
			r = img_fail(im, -r, "%s: %s", l->path, strerror(-r));
			goto out;
		}
		if (r) {
			r = 0;
			bool dup = false;
			for (size_t k = 0; k < i; k++)
				dup |= want[k] == lm;
			if (!dup) {
				want[i] = lm;
				copies++;
			}
		}
	}
	im->out->n = n;
	if (copies)
		r = tar_copy(im, dir, want, hex, n);
out:
	free(dir);
	free(want);
	free(hex);
	json_decref(cfg);
	json_decref(man);
	tarball_free(&t);
	return r;
}

/* ---- 4. the entry point ---------------------------------------------- */

bool img_is_spec(const char *s)
{
	return !strncmp(s, "oci:", 4) || !strncmp(s, "docker-archive:", 15);
}

/*
 * Splits rest ("PATH[:REF]") where PATH is an existing file of the kind
 * wanted (a directory or not): the whole of rest when it is one, else the
 * shortest prefix ending before a ':'.
 */
static int split_ref(struct img *im, const char *rest, bool dir)
{
	struct stat st;

	if (!stat(rest, &st) && S_ISDIR(st.st_mode) == dir) {
		im->where = strdup(rest);
		im->ref = NULL;
		return im->where ? 0 : img_fail(im, ENOMEM, "out of memory");
	}
	for (const char *c = strchr(rest, ':'); c; c = strchr(c + 1, ':')) {
		char *p = strndup(rest, (size_t)(c - rest));
		if (!p)
			return img_fail(im, ENOMEM, "out of memory");
		if (*p && !stat(p, &st) && S_ISDIR(st.st_mode) == dir) {
			im->where = p;
			im->ref = c + 1;
			if (!*im->ref)
				return img_fail(im, EINVAL, "empty reference after ':'");
			return 0;
		}
		free(p);
	}
	return img_fail(im, ENOENT, dir ? "no such OCI image layout directory" :
			"no such docker-archive file");
}

int img_expand(const char *spec, const char *cache, struct img_layers *out,
	       struct lyr_error *err)
{
	struct img im = { .spec = spec, .err = err, .out = out };
	bool oci = !strncmp(spec, "oci:", 4);
	int r;

	memset(out, 0, sizeof(*out));
	if (!img_is_spec(spec))
		return img_fail(&im, EINVAL, "not oci:DIR[:REF] or docker-archive:FILE[:REF]");
	if ((r = split_ref(&im, strchr(spec, ':') + 1, oci)))
		return r;
	r = oci ? oci_expand(&im) : docker_expand(&im, cache);
	free(im.where);
	if (r)
		img_layers_free(out);
	return r;
}

/* ---- 5. commit: a new image, the base's layers and one more ---------- */

/* Writes n bytes as a blob of the layout; its digest in hex. */
static int write_blob(struct img *im, const char *data, size_t n, char hex[LYR_SHA256_HEX])
{
	struct lyr_sha256 s;
	char tmp[PATH_MAX], *path;
	int fd, r = 0;

	lyr_sha256_init(&s);
	lyr_sha256_update(&s, data, n);
	lyr_sha256_hex(&s, hex);
	if (!(path = blob_path(im, hex)))
		return img_fail(im, ENOMEM, "out of memory");
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		r = -errno;
	for (size_t done = 0; !r && done < n;) {
		ssize_t w = write(fd, data + done, n - done);
		if (w < 0)
			r = -errno;
		else
			done += (size_t)w;
	}
	if (fd >= 0 && !r && (fsync(fd) || rename(tmp, path)))
		r = -errno;
	if (fd >= 0)
		close(fd);
	if (r) {
		unlink(tmp);
		img_fail(im, -r, "cannot write %s: %s", path, strerror(-r));
	}
	free(path);
	return r;
}

/* A JSON value written as a blob; its descriptor (mediaType, digest, size). */
static json_t *put_json(struct img *im, json_t *v, const char *media_type)
{
	char hex[LYR_SHA256_HEX], digest[80];
	char *text = json_dumps(v, JSON_COMPACT);

	if (!text) {
		img_fail(im, ENOMEM, "out of memory");
		return NULL;
	}
	size_t n = strlen(text);
	int r = write_blob(im, text, n, hex);
	free(text);
	if (r)
		return NULL;
	snprintf(digest, sizeof(digest), "sha256:%s", hex);
	return json_pack("{s:s, s:s, s:I}", "mediaType", media_type, "digest", digest,
			 "size", (json_int_t)n);
}

/* index.json with a descriptor tagged ref (another one of that tag goes). */
static int put_index(struct img *im, json_t *desc, const char *ref)
{
	char *path = NULL, *tmp = NULL, *buf = NULL;
	size_t len, i;
	json_t *index = NULL, *d, *keep;
	int r;

	if (asprintf(&path, "%s/index.json", im->where) < 0 ||
	    asprintf(&tmp, "%s/.index.json.tmp.%d", im->where, getpid()) < 0) {
		r = img_fail(im, ENOMEM, "out of memory");
		goto out;
	}
	if ((r = read_small(path, &buf, &len))) {
		r = img_fail(im, -r, "%s: %s", path, strerror(-r));
		goto out;
	}
	if (!(index = parse(im, "index.json", buf, len))) {
		r = -EBADMSG;
		goto out;
	}
	keep = json_array();
	json_array_foreach(json_object_get(index, "manifests"), i, d) {
		const char *tag = str_of(json_object_get(d, "annotations"),
					 "org.opencontainers.image.ref.name");
		if (!tag || strcmp(tag, ref))
			json_array_append(keep, d);
	}
	json_object_set_new(desc, "annotations",
			    json_pack("{s:s}", "org.opencontainers.image.ref.name", ref));
	json_array_append(keep, desc);
	json_object_set_new(index, "manifests", keep);
	if (json_dump_file(index, tmp, JSON_COMPACT) || rename(tmp, path)) {
		r = img_fail(im, errno ? errno : EIO, "cannot write %s: %s", path,
			     strerror(errno ? errno : EIO));
		unlink(tmp);
	}
out:
	json_decref(index);
	free(buf);
	free(tmp);
	free(path);
	return r;
}

/* The time now as an image's config writes it (RFC 3339, UTC). */
static void now_rfc3339(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%09ldZ", ts.tv_nsec);
}

int img_commit(const char *base, const char *target, const char *layer,
	       const char *created_by, struct lyr_error *err)
{
	struct img b = { .spec = base, .err = err, .keep = true };
	struct img t = { .spec = target, .err = err };
	json_t *cfg = NULL, *ldesc = NULL, *cdesc = NULL, *mdesc = NULL;
	char lhex[LYR_SHA256_HEX], when[64], digest[80];
	char *lpath = NULL;
	struct stat st;
	int r, fd;

	if (strncmp(base, "oci:", 4) || strncmp(target, "oci:", 4))
		return lyr_seterr(err, EINVAL, "commit: the base and the new image are oci:DIR:REF");
	if ((r = split_ref(&b, base + 4, true)) || (r = split_ref(&t, target + 4, true)))
		goto out;
	if (!t.ref) {
		r = img_fail(&t, EINVAL, "name the new image: oci:DIR:NEWREF");
		goto out;
	}
	struct stat bs, ts;
	if (stat(b.where, &bs) || stat(t.where, &ts) || bs.st_dev != ts.st_dev ||
	    bs.st_ino != ts.st_ino) {
		r = img_fail(&t, EXDEV, "the new image must go into the base's layout %s",
			     b.where);
		goto out;
	}
	if ((r = oci_expand(&b)))
		goto out;
	/* the config: read and checked as every blob */
	const char *chex0 = sha256_of(str_of(json_object_get(b.manifest, "config"), "digest"));
	if (!chex0) {
		r = img_fail(&b, EBADMSG, "its manifest names no sha256 config");
		goto out;
	}
	if (!(cfg = load_blob(&b, chex0, "config"))) {
		r = -EBADMSG;
		goto out;
	}
	/* the layer: its digest is its diff_id (stored uncompressed) */
	if ((fd = open(layer, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) ||
	    (r = lyr_sha256_fd(fd, lhex))) {
		r = img_fail(&t, errno, "%s: %s", layer, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	if (!(lpath = blob_path(&t, lhex)) || rename(layer, lpath)) {
		r = img_fail(&t, lpath ? errno : ENOMEM, "cannot write %s: %s",
			     lpath ? lpath : "a blob", strerror(lpath ? errno : ENOMEM));
		goto out;
	}
	chmod(lpath, 0644);
	snprintf(digest, sizeof(digest), "sha256:%s", lhex);
	ldesc = json_pack("{s:s, s:s, s:I}", "mediaType", layer_types[0], "digest", digest,
			  "size", (json_int_t)st.st_size);
	/* the config: one more diff_id and history entry */
	now_rfc3339(when, sizeof(when));
	json_t *rootfs = json_object_get(cfg, "rootfs");
	json_t *diffs = json_object_get(rootfs, "diff_ids");
	if (!json_is_object(rootfs) || !json_is_array(diffs)) {
		r = img_fail(&b, EBADMSG, "its config has no rootfs.diff_ids");
		goto out;
	}
	json_array_append_new(diffs, json_string(digest));
	json_t *hist = json_object_get(cfg, "history");
	if (!json_is_array(hist)) {
		hist = json_array();
		json_object_set_new(cfg, "history", hist);
	}
	json_array_append_new(hist, json_pack("{s:s, s:s, s:s}", "created", when, "created_by",
					      created_by, "comment", "layerfs commit"));
	json_object_set_new(cfg, "created", json_string(when));
	if (!(cdesc = put_json(&t, cfg, "application/vnd.oci.image.config.v1+json"))) {
		r = -EIO;
		goto out;
	}
	/* the manifest: the new config, the base's layers and the new one */
	json_t *man = json_deep_copy(b.manifest);
	json_object_set(man, "config", cdesc);
	json_array_append(json_object_get(man, "layers"), ldesc);
	json_object_set_new(man, "mediaType", json_string(manifest_types[0]));
	mdesc = put_json(&t, man, manifest_types[0]);
	json_decref(man);
	if (!mdesc) {
		r = -EIO;
		goto out;
	}
	r = put_index(&t, mdesc, t.ref);
out:
	json_decref(ldesc);
	json_decref(cdesc);
	json_decref(mdesc);
	json_decref(cfg);
	json_decref(b.manifest);
	free(lpath);
	free(b.where);
	free(t.where);
	return r;
}

int img_oci_dir(const char *spec, char **dir, struct lyr_error *err)
{
	struct img im = { .spec = spec, .err = err };
	int r;

	if (strncmp(spec, "oci:", 4))
		return img_fail(&im, EINVAL, "not oci:DIR:REF");
	if ((r = split_ref(&im, spec + 4, true)))
		return r;
	*dir = im.where;
	return 0;
}

void img_layers_free(struct img_layers *l)
{
	if (l->v)
		for (size_t i = 0; i < l->cap; i++)
			free(l->v[i].path);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
