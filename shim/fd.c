/* SPDX-License-Identifier: MIT */
/*
 * fd.c - the fd table: which fds are virtual, and what they refer to.
 *
 * A bitmap answers "is fd virtual?" with one load and no lock (the
 * passthrough test); a uthash map from fd to struct vfile holds the rest
 * under a mutex.  Dups share one vfile, as they share one open file
 * description in the kernel, so a copy-up moves them together: every fd
 * whose vfile still reads a lower copy is re-pointed at the upper copy with
 * dup3 onto the same number, keeping offset, status flags and FD_CLOEXEC.
 *
 * The host's directories above the mount point are tracked the same way
 * (a bitmap, and a map to their paths): a relative path from one of them
 * may lead into the view.
 */
#include "real.h"

#include <sys/mman.h>
#include <sys/sendfile.h>
#include <uthash.h>

unsigned long shim_fd_bits[SHIM_FD_BITS / (8 * sizeof(unsigned long))];
int shim_fd_high;
unsigned long shim_fd_above_bits[SHIM_FD_BITS / (8 * sizeof(unsigned long))];
int shim_fd_above_high;

struct fd_ent {
	int fd;
	struct vfile *vf;
	UT_hash_handle hh;
};

/* A host directory above the mount point, or a ghost (shim_is_ghost). */
struct above_ent {
	int fd;
	char *path;              /* absolute, as it was opened */
	bool ghost;              /* fd is an O_PATH of its nearest ancestor the
				    host has: its listing is made up whole */
	int dots;                /* a ghost's: "." and ".." shown so far */
	bool shown;              /* its listing showed the mount point */
	struct dirent64 *ent;    /* readdir's record of it, or NULL */
	UT_hash_handle hh;
};

static struct fd_ent *fd_map;
static struct above_ent *above_map;
static pthread_mutex_t fd_lock = PTHREAD_MUTEX_INITIALIZER;

#define WORD_BITS (8 * sizeof(unsigned long))

static void bits_set(unsigned long *bits, int *high, int fd, bool on)
{
	if ((unsigned)fd >= SHIM_FD_BITS) {
		if (on)
			__atomic_add_fetch(high, 1, __ATOMIC_RELAXED);
		else
			__atomic_sub_fetch(high, 1, __ATOMIC_RELAXED);
		return;
	}
	unsigned long m = 1ul << (fd % WORD_BITS);
	if (on)
		__atomic_or_fetch(&bits[fd / WORD_BITS], m, __ATOMIC_RELAXED);
	else
		__atomic_and_fetch(&bits[fd / WORD_BITS], ~m, __ATOMIC_RELAXED);
}

static void bit_set(int fd, bool on)
{
	bits_set(shim_fd_bits, &shim_fd_high, fd, on);
}

/* Caller holds fd_lock.  Forgets fd as a directory above the mount. */
static void above_drop_locked(int fd)
{
	struct above_ent *a;

	HASH_FIND_INT(above_map, &fd, a);
	if (!a)
		return;
	HASH_DEL(above_map, a);
	bits_set(shim_fd_above_bits, &shim_fd_above_high, fd, false);
	free(a->ent);
	free(a->path);
	free(a);
}

/* Caller holds fd_lock.  fd is the host directory path above the mount
 * (ghost: fd stands for it). */
static void above_put_locked(int fd, const char *path, bool ghost)
{
	struct above_ent *a = malloc(sizeof(*a));

	above_drop_locked(fd);
	if (!a || !(a->path = strdup(path))) {
		free(a);
		return;
	}
	a->fd = fd;
	a->ghost = ghost;
	a->dots = 0;
	a->shown = false;
	a->ent = NULL;
	HASH_ADD_INT(above_map, fd, a);
	bits_set(shim_fd_above_bits, &shim_fd_above_high, fd, true);
}

void shim_fd_opened_host(int fd, const char *path)
{
	char buf[PATH_MAX];

	if (fd < 0 || !shim.mnt.len)
		return;
	if (!path) {
		char proc[32];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		ssize_t n = REAL(readlink)(proc, buf, sizeof(buf) - 1);
		if (n <= 0)
			return;
		buf[n] = '\0';
		path = buf;
	}
	if (!shim_above_mount(path))
		return;
	pthread_mutex_lock(&fd_lock);
	above_put_locked(fd, path, false);
	pthread_mutex_unlock(&fd_lock);
}

int shim_fd_open_ghost(const char *path, int flags)
{
	char anchor[PATH_MAX];
	int fd = -1;

	if (flags & (O_CREAT | O_TRUNC))
		return -EISDIR;
	if ((flags & O_ACCMODE) != O_RDONLY && !(flags & O_PATH))
		return -EISDIR;
	if (strlen(path) >= sizeof(anchor))
		return -ENAMETOOLONG;
	strcpy(anchor, path);
	/* O_PATH: nothing done through the fd can reach the ancestor (a
	 * fchmod is EBADF), and nothing of its listing shows. */
	while (fd < 0) {
		char *slash = strrchr(anchor, '/');
		if (!slash)
			return -ENOENT;
		slash[slash == anchor] = '\0';
		fd = REAL(open)(anchor, O_PATH | O_DIRECTORY | (flags & O_CLOEXEC));
		if (fd < 0 && errno != ENOENT)
			return -errno;
	}
	pthread_mutex_lock(&fd_lock);
	above_put_locked(fd, path, true);
	pthread_mutex_unlock(&fd_lock);
	return fd;
}

bool shim_fd_ghost(int fd, char *buf, size_t size)
{
	struct above_ent *a;
	bool ghost = false;

	if (shim_depth || !shim_fd_needs_look(fd))
		return false;
	pthread_mutex_lock(&fd_lock);
	HASH_FIND_INT(above_map, &fd, a);
	if (a && a->ghost && strlen(a->path) < size) {
		strcpy(buf, a->path);
		ghost = true;
	}
	pthread_mutex_unlock(&fd_lock);
	return ghost;
}

/* Is path (absolute, maybe with trailing slashes) above the mount point?
 * Then the next component of the mount point's path below it (its length
 * in *len), else NULL. */
static const char *next_name_in(const char *path, size_t *len)
{
	const char *m = shim.mnt.path;
	size_t plen = strlen(path);

	while (plen > 1 && path[plen - 1] == '/')
		plen--;
	if (plen == 1)
		plen = 0; /* "/" */
	if (strncmp(path, m, plen) || m[plen] != '/')
		return NULL;
	const char *name = m + plen + 1;
	*len = strcspn(name, "/");
	return name;
}

int shim_fd_mount_entry(int fd, struct dirent64 **ent)
{
	struct above_ent *a;
	struct stat st;
	int r = 0;

	pthread_mutex_lock(&fd_lock);
	HASH_FIND_INT(above_map, &fd, a);
	if (a && a->ghost && a->dots < 2) {
		/* A ghost's "." and "..", numbered as stat shows them. */
		if (!a->ent && !(a->ent = calloc(1, sizeof(struct dirent64)))) {
			pthread_mutex_unlock(&fd_lock);
			return -ENOMEM;
		}
		char up[PATH_MAX];
		snprintf(up, sizeof(up), "%s", a->path);
		char *slash = strrchr(up, '/');
		slash[slash == up] = '\0';
		const char *which = a->dots ? up : a->path;
		if (REAL(fstatat)(AT_FDCWD, which, &st, 0) < 0)
			lyr_mount_ghost_stat(&shim.mnt.view, which, &st);
		a->ent->d_ino = st.st_ino;
		a->ent->d_off = ++a->dots;
		a->ent->d_reclen = (unsigned short)((offsetof(struct dirent64, d_name) + 3 + 7) &
						    ~(size_t)7);
		a->ent->d_type = DT_DIR;
		strcpy(a->ent->d_name, a->dots == 1 ? "." : "..");
		*ent = a->ent;
		pthread_mutex_unlock(&fd_lock);
		return 1;
	}
	size_t len = 0;
	const char *name = a && !a->shown ? next_name_in(a->path, &len) : NULL;
	/* Its host path ends at name + len, in the mount point's path. */
	char full[PATH_MAX];
	size_t flen = name ? (size_t)(name - shim.mnt.path) + len : 0;
	if (name && flen < sizeof(full)) {
		memcpy(full, shim.mnt.path, flen);
		full[flen] = '\0';
	}
	if (name && flen < sizeof(full) &&
	    (a->ghost || (REAL(fstatat)(AT_FDCWD, full, &st, AT_SYMLINK_NOFOLLOW) < 0 &&
			  errno == ENOENT))) {
		size_t rec = (offsetof(struct dirent64, d_name) + len + 1 + 7) & ~(size_t)7;
		if (!a->ent && !(a->ent = calloc(1, sizeof(struct dirent64)))) {
			r = -ENOMEM;
		} else if (len < sizeof(a->ent->d_name)) {
			/* The mount point, or a ghost above it: a directory
			 * the host lacks, with a number of its own as
			 * stat_above_mount gives (wrap_stat.c). */
			a->ent->d_ino = 1 + flen;
			a->ent->d_off = INT64_MAX;
			a->ent->d_reclen = (unsigned short)rec;
			a->ent->d_type = DT_DIR;
			memcpy(a->ent->d_name, name, len);
			a->ent->d_name[len] = '\0';
			a->shown = true;
			*ent = a->ent;
			r = 1;
		}
	}
	pthread_mutex_unlock(&fd_lock);
	return r;
}

void shim_fd_mount_rewound(int fd)
{
	struct above_ent *a;

	pthread_mutex_lock(&fd_lock);
	HASH_FIND_INT(above_map, &fd, a);
	if (a) {
		a->shown = false;
		a->dots = 0;
	}
	pthread_mutex_unlock(&fd_lock);
}

bool shim_fd_above_path(int fd, char *buf, size_t size)
{
	struct above_ent *a;
	bool found = false;

	if (!shim_fd_needs_look(fd))
		return false;
	pthread_mutex_lock(&fd_lock);
	HASH_FIND_INT(above_map, &fd, a);
	if (a && strlen(a->path) < size) {
		strcpy(buf, a->path);
		found = true;
	}
	pthread_mutex_unlock(&fd_lock);
	return found;
}

static void vfile_free(struct vfile *vf)
{
	if (vf->lockfd >= 0) {
		lyr_fd_release(&vf->lockfd);
		REAL(close)(vf->lockfd);
	}
	lyr_dirlist_free(&vf->list);
	pthread_mutex_destroy(&vf->lock);
	for (size_t i = 0; i < vf->nretired; i++)
		free(vf->retired[i]);
	free(vf->retired);
	free(vf->path);
	free(vf);
}

void shim_vfile_put(struct vfile *vf)
{
	if (vf && __atomic_sub_fetch(&vf->refs, 1, __ATOMIC_ACQ_REL) == 0)
		vfile_free(vf);
}

/* Caller holds fd_lock.  Drops fd's entry, if any. */
static void fd_drop_locked(int fd)
{
	struct fd_ent *e;

	HASH_FIND_INT(fd_map, &fd, e);
	if (!e)
		return;
	HASH_DEL(fd_map, e);
	bit_set(fd, false);
	shim_vfile_put(e->vf);
	free(e);
}

/* Caller holds fd_lock.  fd refers to vf (reference already taken). */
static int fd_put_locked(int fd, struct vfile *vf)
{
	struct fd_ent *e = malloc(sizeof(*e));

	if (!e)
		return -ENOMEM;
	fd_drop_locked(fd);
	e->fd = fd;
	e->vf = vf;
	HASH_ADD_INT(fd_map, fd, e);
	bit_set(fd, true);
	above_drop_locked(fd);
	return 0;
}

int shim_fd_add(int fd, const char *path, const struct stat *st, int oflags,
		int layer)
{
	struct vfile *vf = calloc(1, sizeof(*vf));
	int r = -ENOMEM;

	if (!vf || !(vf->path = strdup(path)))
		goto out_free;
	vf->refs = 1;
	vf->lockfd = -1;
	vf->oflags = oflags;
	vf->st = *st;
	vf->ino = st->st_ino;
	if (layer < 0 && !S_ISDIR(st->st_mode)) {
		int err;
		struct lyr_layer *fs = shim_enter(&err);
		if (fs)
			layer = (int)shim_leave(lyr_union_which(fs, path), NULL, NULL);
	}
	if (S_ISDIR(st->st_mode))
		vf->flags |= VF_DIR;
	else if (layer > 0)
		vf->flags |= VF_LOWER;
	pthread_mutex_init(&vf->lock, NULL);
	pthread_mutex_lock(&fd_lock);
	r = fd_put_locked(fd, vf);
	pthread_mutex_unlock(&fd_lock);
	if (r == 0)
		return 0;
	pthread_mutex_destroy(&vf->lock);
out_free:
	if (vf)
		free(vf->path);
	free(vf);
	return r;
}

struct vfile *shim_fd_get(int fd)
{
	struct fd_ent *e;
	struct vfile *vf = NULL;

	pthread_mutex_lock(&fd_lock);
	HASH_FIND_INT(fd_map, &fd, e);
	if (e) {
		vf = e->vf;
		__atomic_add_fetch(&vf->refs, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&fd_lock);
	return vf;
}

void shim_fd_dup(int fd, int fd2)
{
	struct fd_ent *e;
	struct above_ent *a;

	if (fd == fd2)
		return;
	pthread_mutex_lock(&fd_lock);
	HASH_FIND_INT(fd_map, &fd, e);
	HASH_FIND_INT(above_map, &fd, a);
	if (e) {
		__atomic_add_fetch(&e->vf->refs, 1, __ATOMIC_RELAXED);
		if (fd_put_locked(fd2, e->vf) < 0)
			shim_vfile_put(e->vf);
	} else {
		fd_drop_locked(fd2);
		if (a)
			above_put_locked(fd2, a->path, a->ghost);
		else
			above_drop_locked(fd2);
	}
	pthread_mutex_unlock(&fd_lock);
}

void shim_fd_forget(int fd)
{
	pthread_mutex_lock(&fd_lock);
	fd_drop_locked(fd);
	above_drop_locked(fd);
	pthread_mutex_unlock(&fd_lock);
}

/* Caller holds fd_lock.  vf's path at or below from moves below to. */
static bool vf_rebase_locked(struct vfile *vf, const char *from, const char *to)
{
	size_t n = strlen(from);
	const char *p = vf->path;
	char *np, **r;

	if (strncmp(p, from, n) != 0 || (p[n] != '\0' && p[n] != '/'))
		return false;
	r = realloc(vf->retired, (vf->nretired + 1) * sizeof(*r));
	if (!r)
		return false;
	vf->retired = r;
	if (asprintf(&np, "%s%s", to, p + n) < 0)
		return false;
	vf->retired[vf->nretired++] = vf->path;
	__atomic_store_n(&vf->path, np, __ATOMIC_RELEASE);
	return true;
}

void shim_fd_renamed(const char *from, const char *to, bool exchange)
{
	static unsigned gen;
	struct fd_ent *e, *tmp;

	if (!*from || !*to || !strcmp(from, to))
		return;
	pthread_mutex_lock(&fd_lock);
	gen++;
	HASH_ITER(hh, fd_map, e, tmp) {
		struct vfile *vf = e->vf;
		if (vf->gen == gen)
			continue; /* a dup of one already moved */
		vf->gen = gen;
		if (!vf_rebase_locked(vf, from, to) && exchange)
			vf_rebase_locked(vf, to, from);
	}
	pthread_mutex_unlock(&fd_lock);
}

void shim_fd_removed(const char *path, const struct stat *st)
{
	struct fd_ent *e, *tmp;

	pthread_mutex_lock(&fd_lock);
	HASH_ITER(hh, fd_map, e, tmp) {
		struct vfile *vf = e->vf;
		if (!(vf->flags & VF_DIR) || (vf->flags & VF_GONE) || strcmp(vf->path, path))
			continue;
		__atomic_fetch_or(&vf->flags, VF_GONE, __ATOMIC_RELEASE);
		if (st && st->st_ino == vf->ino) {
			vf->st = *st;
			vf->st.st_nlink = 0;
		}
	}
	pthread_mutex_unlock(&fd_lock);
}

int shim_vf_lockfd(struct vfile *vf)
{
	int r = 0;

	pthread_mutex_lock(&vf->lock);
	if (vf->lockfd < 0) {
		int err;
		struct lyr_layer *fs = shim_enter(&err);
		if (!fs) {
			r = -err;
		} else {
			r = (int)shim_leave(lyr_lock_fd(fs, vf->ino), NULL, NULL);
			if (r >= 0) {
				vf->lockfd = r;
				lyr_fd_keep(&vf->lockfd);
			}
		}
	}
	if (r >= 0)
		r = vf->lockfd;
	pthread_mutex_unlock(&vf->lock);
	return r;
}

void shim_fd_meta(struct vfile *vf, struct stat *st)
{
	pthread_mutex_lock(&fd_lock);
	*st = vf->st;
	pthread_mutex_unlock(&fd_lock);
}

int shim_fd_meta_apply(struct vfile *vf, int (*fn)(struct stat *st, const void *arg),
		       const void *arg)
{
	pthread_mutex_lock(&fd_lock);
	struct stat st = vf->st;
	int r = fn(&st, arg);
	if (r == 0) {
		vf->st = st;
		__atomic_fetch_or(&vf->flags, VF_META, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&fd_lock);
	return r;
}

/*
 * Caller holds fd_lock.  Every vfile of view inode ino still backed by a
 * lower layer gets a new open file description, reopen(arg, its access
 * mode), which all its fds then share, keeping their offset, status flags
 * and close-on-exec; then it is the lower's no more.  0, or the first
 * reopen's -errno.
 */
static int repoint_locked(uint64_t ino, int (*reopen)(const void *arg, int acc),
			  const void *arg)
{
	struct fd_ent *e, *tmp;
	int err = 0;

	HASH_ITER(hh, fd_map, e, tmp) {
		struct vfile *vf = e->vf;
		if (!(vf->flags & VF_LOWER) || vf->ino != ino)
			continue;
		int nfd = reopen(arg, vf->oflags & O_ACCMODE);
		if (nfd < 0) {
			err = err ? err : nfd;
			continue;
		}
		off_t off = REAL(lseek)(e->fd, 0, SEEK_CUR);
		int fl = REAL(fcntl)(e->fd, F_GETFL);
		struct fd_ent *f, *ftmp;
		HASH_ITER(hh, fd_map, f, ftmp) {
			if (f->vf != vf)
				continue;
			int cloexec = REAL(fcntl)(f->fd, F_GETFD);
			REAL(dup3)(nfd, f->fd, cloexec > 0 && (cloexec & FD_CLOEXEC) ?
				   O_CLOEXEC : 0);
		}
		if (off >= 0)
			REAL(lseek)(e->fd, off, SEEK_SET);
		if (fl >= 0)
			REAL(fcntl)(e->fd, F_SETFL, fl);
		REAL(close)(nfd);
		__atomic_fetch_and(&vf->flags, ~VF_LOWER, __ATOMIC_RELEASE);
	}
	return err;
}

static int reopen_upper(const void *path, int acc)
{
	return lyr_open(shim.mnt.fs, path, acc | O_CLOEXEC, 0);
}

/*
 * Called by the union after it copied path up.  The copy-up happens inside
 * a wrapper that does not hold fd_lock, so taking it here is safe.
 */
void shim_fd_copied_up(void *ctx, const char *path, uint64_t ino)
{
	(void)ctx;
	pthread_mutex_lock(&fd_lock);
	repoint_locked(ino, reopen_upper, path);
	pthread_mutex_unlock(&fd_lock);
}

static int reopen_proc(const void *proc, int acc)
{
	int fd = REAL(open)(proc, acc | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int shim_fd_nameless_copy(int fd)
{
	struct fd_ent *e;
	struct stat real;
	char proc[32];
	int r = 0;

	pthread_mutex_lock(&fd_lock);
	HASH_FIND_INT(fd_map, &fd, e);
	struct vfile *vf = e ? e->vf : NULL;
	if (!vf || !(vf->flags & VF_LOWER))
		goto out;
	int m = memfd_create("layerfs-nameless", MFD_CLOEXEC);
	if (m < 0 || REAL(fstat)(fd, &real) < 0) {
		r = -errno;
		goto out_close;
	}
	for (off_t off = 0; off < real.st_size;) {
		ssize_t n = sendfile(m, fd, &off, (size_t)(real.st_size - off));
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			goto out_close;
		}
	}
	/* The memfd's own mode stays the owner's rw: the view's permissions
	 * are checked before a reopen (vreopen_own). */
	uint64_t ino = vf->ino;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", m);
	r = repoint_locked(ino, reopen_proc, proc);
	/* What fstat says of them is the view's, no more the memfd's. */
	struct fd_ent *tmp;
	HASH_ITER(hh, fd_map, e, tmp)
		if (e->vf->ino == ino && !(e->vf->flags & VF_LOWER))
			__atomic_fetch_or(&e->vf->flags, VF_META, __ATOMIC_RELEASE);
out_close:
	if (m >= 0)
		REAL(close)(m);
out:
	pthread_mutex_unlock(&fd_lock);
	return r;
}

void shim_fd_atfork_prepare(void)
{
	pthread_mutex_lock(&fd_lock);
}

void shim_fd_atfork_parent(void)
{
	pthread_mutex_unlock(&fd_lock);
}

void shim_fd_atfork_child(void)
{
	pthread_mutex_unlock(&fd_lock);
}
