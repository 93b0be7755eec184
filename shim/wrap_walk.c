/* SPDX-License-Identifier: MIT */
/*
 * wrap_walk.c - the tree walkers: ftw/nftw, fts and glob.
 *
 * glibc's walkers reach the file system through internal aliases
 * (__opendir, __readdir64, __lstat64, __fstatat64, __openat64_nocancel...)
 * that no wrapper sees, so on a path in the view they would walk the host.
 * For such paths this file walks with the exported names instead (opendir,
 * readdir64, closedir, stat, lstat, chdir, getcwd): inside liblayerfs.so
 * they bind to our own wrappers, which also follow a walk that leaves the
 * view through a symlink.  Every other call goes to the real function.
 * Only the starting paths are looked at: a host walk that enters the view
 * through a host symlink stays glibc's.
 *
 * Divisions:
 *   1. ftw, nftw   one walker (walk_*) with glibc's semantics and order
 *   2. fts         one implementation (wfts_*) behind fts_* and fts64_*
 *   3. glob        glibc's own glob, fed our wrappers via GLOB_ALTDIRFUNC
 *
 * Where this differs from glibc (POSIX allows each):
 *   - nftw's descriptor limit is ignored: a directory is opened, read whole
 *     and closed before the walk descends, so one descriptor is open at a
 *     time whatever the depth.
 *   - FTW_CHDIR changes directory by path (built on getcwd() at the start),
 *     not through directory descriptors.
 *   - fts never changes directory, as if FTS_NOCHDIR were always given (it
 *     is set in fts_options): fts_accpath equals fts_path, and each entry
 *     has its own fts_path string, valid as long as the entry.
 *   - FTS_NOSTAT skips the stat of entries whose d_type says they are not
 *     directories; it never guesses from a directory's link count.
 *   - fts_statp is always allocated and filled when the entry was stat'ed.
 */
#include "real.h"

#include <search.h>

_Static_assert(sizeof(struct stat) == sizeof(struct stat64),
	       "struct stat and stat64 differ on this ABI");

/* ---- 1. ftw and nftw ------------------------------------------------ */

enum walk_kind { WALK_FTW, WALK_FTW64, WALK_NFTW, WALK_NFTW64 };

struct walk {
	enum walk_kind kind;
	union {
		int (*ftw)(const char *, const struct stat *, int);
		int (*ftw64)(const char *, const struct stat64 *, int);
		int (*nftw)(const char *, const struct stat *, int, struct FTW *);
		int (*nftw64)(const char *, const struct stat64 *, int, struct FTW *);
	} fn;
	int flags;               /* FTW_* of nftw; 0 for ftw */
	char *buf;               /* path of the current entry, as fn sees it */
	size_t cap;              /* bytes allocated at buf */
	struct FTW ftw;          /* base and level of the current entry */
	dev_t dev;               /* the start directory's, for FTW_MOUNT */
	void *seen;              /* tsearch tree of directories met (logical walk) */
	char *cwd;               /* FTW_CHDIR: working directory at the start */
};

/* A directory already walked, by identity. */
struct walk_obj {
	dev_t dev;
	ino_t ino;
};

#define WALK_FLAGS (FTW_PHYS | FTW_MOUNT | FTW_CHDIR | FTW_DEPTH | FTW_ACTIONRETVAL)

/* What ftw (not nftw) reports for each nftw type. */
static const int walk_ftw_type[] = {
	[FTW_F] = FTW_F, [FTW_D] = FTW_D, [FTW_DNR] = FTW_DNR, [FTW_NS] = FTW_NS,
	[FTW_SL] = FTW_F, [FTW_DP] = FTW_D, [FTW_SLN] = FTW_NS,
};

static int walk_call(struct walk *w, const struct stat *st, int type)
{
	const struct stat64 *st64 = (const struct stat64 *)st;

	switch (w->kind) {
	case WALK_FTW:
		return w->fn.ftw(w->buf, st, walk_ftw_type[type]);
	case WALK_FTW64:
		return w->fn.ftw64(w->buf, st64, walk_ftw_type[type]);
	case WALK_NFTW:
		return w->fn.nftw(w->buf, st, type, &w->ftw);
	default:
		return w->fn.nftw64(w->buf, st64, type, &w->ftw);
	}
}

static bool name_is_dot(const char *name)
{
	return name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]));
}

static int walk_reserve(struct walk *w, size_t need)
{
	if (need <= w->cap)
		return 0;
	char *b = realloc(w->buf, 2 * need);
	if (!b)
		return (int)shim_ret(-ENOMEM);
	w->buf = b;
	w->cap = 2 * need;
	return 0;
}

/* The current entry as stat and opendir want it: relative to the working
 * directory (its parent) under FTW_CHDIR, else the whole path. */
static const char *walk_acc(const struct walk *w)
{
	if (!(w->flags & FTW_CHDIR))
		return w->buf;
	return w->buf[w->ftw.base] ? w->buf + w->ftw.base : ".";
}

/* FTW_CHDIR: changes to the directory named by the first n bytes of the
 * current path; a relative one is taken from the starting directory. */
static int walk_chdir(struct walk *w, size_t n)
{
	const char *pre = w->buf[0] == '/' ? "" : w->cwd;
	size_t plen = strlen(pre);
	bool slash = plen && pre[plen - 1] != '/';
	char *p = malloc(plen + slash + n + 1);
	int r, err;

	if (!p)
		return (int)shim_ret(-ENOMEM);
	memcpy(p, pre, plen);
	if (slash)
		p[plen] = '/';
	memcpy(p + plen + slash, w->buf, n);
	p[plen + slash + n] = '\0';
	r = chdir(p);
	err = errno;
	free(p);
	errno = err;
	return r;
}

static int walk_obj_cmp(const void *a, const void *b)
{
	const struct walk_obj *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return 0;
}

/* Logical walks see each directory once: 1 if st was met before, 0 if it
 * is new (and now remembered), -1 when out of memory. */
static int walk_remember(struct walk *w, const struct stat *st)
{
	struct walk_obj key = { st->st_dev, st->st_ino }, *o;

	if (tfind(&key, &w->seen, walk_obj_cmp))
		return 1;
	if (!(o = malloc(sizeof(*o))))
		return -1;
	*o = key;
	if (!tsearch(o, &w->seen, walk_obj_cmp)) {
		free(o);
		return (int)shim_ret(-ENOMEM);
	}
	return 0;
}

static void closedir_keep_errno(DIR *d)
{
	int err = errno;

	closedir(d);
	errno = err;
}

/* Every name in d, each NUL-terminated, then an empty one; closes d. */
static char *walk_names(DIR *d)
{
	size_t used = 0, cap = 256;
	char *names = malloc(cap), *n;
	struct dirent64 *e;

	while (names && (e = readdir64(d))) {
		size_t len = strlen(e->d_name) + 1;
		if (used + len + 1 > cap) {
			cap = 2 * (used + len + 1);
			if (!(n = realloc(names, cap))) {
				free(names);
				names = NULL;
				break;
			}
			names = n;
		}
		memcpy(names + used, e->d_name, len);
		used += len;
	}
	closedir_keep_errno(d);
	if (!names) {
		errno = ENOMEM;
		return NULL;
	}
	names[used] = '\0';
	return names;
}

/* Stats the current entry of a directory; returns its nftw type, or -1 on
 * an error that ends the walk (anything but EACCES and ENOENT). */
static int walk_stat(struct walk *w, struct stat *st)
{
	const char *acc = walk_acc(w);
	bool phys = w->flags & FTW_PHYS;

	if ((phys ? lstat(acc, st) : stat(acc, st)) == 0) {
		if (S_ISDIR(st->st_mode))
			return FTW_D;
		return S_ISLNK(st->st_mode) ? FTW_SL : FTW_F;
	}
	if (errno != EACCES && errno != ENOENT)
		return -1;
	/* A dangling symlink is reported with the link's own metadata. */
	if (!phys && lstat(acc, st) == 0 && S_ISLNK(st->st_mode))
		return FTW_SLN;
	memset(st, 0, sizeof(*st));
	return FTW_NS;
}

static int walk_entry(struct walk *w, const char *name);

/*
 * Walks directory w->buf (metadata st): FTW_D, the entries, FTW_DP.  top is
 * the starting directory, whose parent the walk does not return to.
 */
static int walk_dir(struct walk *w, const struct stat *st, bool top)
{
	size_t prev_base = (size_t)w->ftw.base, len;
	int r = 0;
	char *names;
	DIR *d;

	if (!(d = opendir(walk_acc(w))))
		return errno == EACCES ? walk_call(w, st, FTW_DNR) : -1;
	if (!(w->flags & FTW_DEPTH) && (r = walk_call(w, st, FTW_D)) != 0) {
		closedir_keep_errno(d);
		return r;
	}
	if (!(names = walk_names(d)))
		return -1;
	len = strlen(w->buf);
	if (((w->flags & FTW_CHDIR) && walk_chdir(w, len) < 0) ||
	    walk_reserve(w, len + 2) < 0) {
		free(names);
		return -1;
	}
	if (w->buf[len - 1] != '/')
		w->buf[len++] = '/';
	w->buf[len] = '\0';
	w->ftw.base = (int)len;
	w->ftw.level++;

	for (const char *n = names; *n && r == 0; n += strlen(n) + 1)
		r = walk_entry(w, n);
	free(names);
	if ((w->flags & FTW_ACTIONRETVAL) && r == FTW_SKIP_SIBLINGS)
		r = 0;

	w->buf[w->ftw.base - 1] = '\0';
	w->ftw.level--;
	w->ftw.base = (int)prev_base;
	if (r == 0 && (w->flags & FTW_DEPTH))
		r = walk_call(w, st, FTW_DP);
	if (!top && (w->flags & FTW_CHDIR) &&
	    (r == 0 || ((w->flags & FTW_ACTIONRETVAL) && r != -1 && r != FTW_STOP)) &&
	    walk_chdir(w, prev_base > 1 ? prev_base - 1 : 1) < 0)
		r = -1;
	return r;
}

/* One name of the directory being walked. */
static int walk_entry(struct walk *w, const char *name)
{
	size_t nlen = strlen(name);
	struct stat st;
	int type, r = 0;

	if (name_is_dot(name))
		return 0;
	if (walk_reserve(w, (size_t)w->ftw.base + nlen + 2) < 0)
		return -1;
	memcpy(w->buf + w->ftw.base, name, nlen + 1);
	if ((type = walk_stat(w, &st)) < 0)
		return -1;
	if (type == FTW_NS || !(w->flags & FTW_MOUNT) || st.st_dev == w->dev) {
		if (type != FTW_D) {
			r = walk_call(w, &st, type);
		} else {
			int seen = (w->flags & FTW_PHYS) ? 0 : walk_remember(w, &st);
			r = seen < 0 ? -1 : seen ? 0 : walk_dir(w, &st, false);
		}
	}
	if ((w->flags & FTW_ACTIONRETVAL) && r == FTW_SKIP_SUBTREE)
		r = 0;
	return r;
}

/* The starting point, whose failures end the walk without a callback
 * (except a dangling symlink in a logical walk). */
static int walk_root(struct walk *w)
{
	const char *acc = walk_acc(w);
	bool phys = w->flags & FTW_PHYS;
	struct stat st;

	if ((phys ? lstat(acc, &st) : stat(acc, &st)) < 0) {
		if (!phys && errno == ENOENT && lstat(acc, &st) == 0 && S_ISLNK(st.st_mode))
			return walk_call(w, &st, FTW_SLN);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return walk_call(w, &st, S_ISLNK(st.st_mode) ? FTW_SL : FTW_F);
	w->dev = st.st_dev;
	if (!phys && walk_remember(w, &st) < 0)
		return -1;
	return walk_dir(w, &st, true);
}

/* ftw/nftw on path with w's callback and flags; glibc's return values. */
static int walk_start(struct walk *w, const char *path)
{
	size_t len = strlen(path);
	int r = 0, err;

	if ((w->kind == WALK_NFTW || w->kind == WALK_NFTW64) && (w->flags & ~WALK_FLAGS))
		return (int)shim_ret(-EINVAL);
	if (!len) {
		return (int)shim_ret(-ENOENT);
	}
	if (walk_reserve(w, len + 256) < 0)
		return -1;
	memcpy(w->buf, path, len + 1);
	while (len > 1 && w->buf[len - 1] == '/')
		w->buf[--len] = '\0';
	while (len > 0 && w->buf[len - 1] != '/')
		len--;
	w->ftw.base = (int)len;
	w->ftw.level = 0;

	if (w->flags & FTW_CHDIR) {
		if (!(w->cwd = getcwd(NULL, 0)))
			r = -1;
		else if (w->ftw.base > 0)
			r = walk_chdir(w, w->ftw.base > 1 ? (size_t)w->ftw.base - 1 : 1);
	}
	if (r == 0) {
		r = walk_root(w);
		if ((w->flags & FTW_ACTIONRETVAL) &&
		    (r == FTW_SKIP_SUBTREE || r == FTW_SKIP_SIBLINGS))
			r = 0;
	}
	err = errno;
	/* Back where the walk started; glibc does not report a failure here. */
	if (w->cwd)
		(void)!chdir(w->cwd);
	tdestroy(w->seen, free);
	free(w->buf);
	free(w->cwd);
	errno = err;
	return r;
}

/*
 * ftw(3)/nftw(3) and their 64-bit forms.  nfd is ignored: the walk keeps at
 * most one directory open.
 */
SHIM_EXPORT int ftw(const char *path, int (*fn)(const char *, const struct stat *, int),
		    int nfd)
{
	if (!shim_maybe_virtual(AT_FDCWD, path))
		return REAL(ftw)(path, fn, nfd);
	struct walk w = { .kind = WALK_FTW, .fn.ftw = fn };
	return walk_start(&w, path);
}

SHIM_EXPORT int ftw64(const char *path, int (*fn)(const char *, const struct stat64 *, int),
		      int nfd)
{
	if (!shim_maybe_virtual(AT_FDCWD, path))
		return REAL(ftw64)(path, fn, nfd);
	struct walk w = { .kind = WALK_FTW64, .fn.ftw64 = fn };
	return walk_start(&w, path);
}

SHIM_EXPORT int nftw(const char *path,
		     int (*fn)(const char *, const struct stat *, int, struct FTW *),
		     int nfd, int flags)
{
	if (!shim_maybe_virtual(AT_FDCWD, path))
		return REAL(nftw)(path, fn, nfd, flags);
	struct walk w = { .kind = WALK_NFTW, .fn.nftw = fn, .flags = flags };
	return walk_start(&w, path);
}

SHIM_EXPORT int nftw64(const char *path,
		       int (*fn)(const char *, const struct stat64 *, int, struct FTW *),
		       int nfd, int flags)
{
	if (!shim_maybe_virtual(AT_FDCWD, path))
		return REAL(nftw64)(path, fn, nfd, flags);
	struct walk w = { .kind = WALK_NFTW64, .fn.nftw64 = fn, .flags = flags };
	return walk_start(&w, path);
}

/* ---- 2. fts --------------------------------------------------------- */

/* fts64 shares the code: on this ABI only the stat pointer types differ. */
_Static_assert(sizeof(FTS) == sizeof(FTS64) && sizeof(FTSENT) == sizeof(FTSENT64) &&
	       offsetof(FTSENT, fts_ino) == offsetof(FTSENT64, fts_ino) &&
	       offsetof(FTSENT, fts_statp) == offsetof(FTSENT64, fts_statp) &&
	       offsetof(FTSENT, fts_name) == offsetof(FTSENT64, fts_name) &&
	       sizeof(ino_t) == sizeof(ino64_t),
	       "FTS64 is not FTS with a 64-bit stat on this ABI");

/* One stream of ours.  The private bits FTS_NAMEONLY and FTS_STOP live in
 * fts_options, and fts_cur/fts_child hold the walk, as in glibc. */
struct wfts {
	FTS fts;                 /* first: the caller's FTS * (or FTS64 *) is ours */
	int (*cmp)(const FTSENT **, const FTSENT **);
	int (*cmp64)(const FTSENT64 **, const FTSENT64 **);
	struct wfts *next;       /* in wfts_list */
};

/* What wfts_build lists for. */
#define WFTS_BCHILD 1            /* fts_children */
#define WFTS_BNAMES 2            /* fts_children with FTS_NAMEONLY */
#define WFTS_BREAD  3            /* fts_read */

#define WFTS_ISSET(sp, opt) ((sp)->fts_options & (opt))

static pthread_mutex_t wfts_lock = PTHREAD_MUTEX_INITIALIZER;
static struct wfts *wfts_list;   /* every open stream of ours */
static int wfts_count;           /* its length; read without the lock */

static void wfts_register(struct wfts *s)
{
	pthread_mutex_lock(&wfts_lock);
	s->next = wfts_list;
	wfts_list = s;
	__atomic_add_fetch(&wfts_count, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&wfts_lock);
}

static void wfts_unregister(struct wfts *s)
{
	pthread_mutex_lock(&wfts_lock);
	for (struct wfts **pp = &wfts_list; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			__atomic_sub_fetch(&wfts_count, 1, __ATOMIC_RELEASE);
			break;
		}
	}
	pthread_mutex_unlock(&wfts_lock);
}

/* Our stream behind sp, or NULL when sp is glibc's. */
static struct wfts *wfts_find(const void *sp)
{
	struct wfts *s;

	if (!__atomic_load_n(&wfts_count, __ATOMIC_ACQUIRE))
		return NULL;
	pthread_mutex_lock(&wfts_lock);
	for (s = wfts_list; s && (const void *)s != sp; s = s->next)
		;
	pthread_mutex_unlock(&wfts_lock);
	return s;
}

/*
 * A new entry named name (namelen bytes) whose path is dir[0..dirlen) "/"
 * name, or name alone when dir is NULL.  One allocation holds the entry,
 * its name, its stat buffer and its path, so free() releases it.
 */
static FTSENT *wfts_new(const char *dir, size_t dirlen, const char *name, size_t namelen)
{
	size_t pathlen = dir ? dirlen + 1 + namelen : namelen;
	size_t name_off = offsetof(FTSENT, fts_name);
	size_t st_off = (name_off + namelen + 1 + _Alignof(struct stat) - 1) &
			~(_Alignof(struct stat) - 1);
	size_t path_off = st_off + sizeof(struct stat);
	char *mem, *path;
	FTSENT *p;

	if (pathlen >= USHRT_MAX) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if (!(mem = calloc(1, path_off + pathlen + 1)))
		return NULL;
	p = (FTSENT *)mem;
	memcpy(mem + name_off, name, namelen);
	path = mem + path_off;
	if (dir) {
		memcpy(path, dir, dirlen);
		path[dirlen] = '/';
		memcpy(path + dirlen + 1, name, namelen);
	} else {
		memcpy(path, name, namelen);
	}
	p->fts_statp = (struct stat *)(mem + st_off);
	p->fts_path = p->fts_accpath = path;
	p->fts_pathlen = (unsigned short)pathlen;
	p->fts_namelen = (unsigned short)namelen;
	p->fts_symfd = -1;
	p->fts_instr = FTS_NOINSTR;
	return p;
}

static void wfts_lfree(FTSENT *p)
{
	while (p) {
		FTSENT *next = p->fts_link;
		free(p);
		p = next;
	}
}

/* Length of p's path without one trailing '/' (glibc's NAPPEND). */
static size_t wfts_nappend(const FTSENT *p)
{
	size_t n = p->fts_pathlen;

	return n && p->fts_path[n - 1] == '/' ? n - 1 : n;
}

/* Stats p into fts_statp; returns its fts_info. */
static unsigned short wfts_stat(const FTS *sp, FTSENT *p, bool follow)
{
	struct stat *st = p->fts_statp;

	if (WFTS_ISSET(sp, FTS_LOGICAL) || follow) {
		if (stat(p->fts_accpath, st) < 0) {
			int err = errno;
			if (err == ENOENT && lstat(p->fts_accpath, st) == 0) {
				errno = 0;
				return FTS_SLNONE;
			}
			p->fts_errno = err;
			goto fail;
		}
	} else if (lstat(p->fts_accpath, st) < 0) {
		p->fts_errno = errno;
		goto fail;
	}
	p->fts_dev = st->st_dev;
	p->fts_ino = st->st_ino;
	p->fts_nlink = st->st_nlink;
	if (S_ISDIR(st->st_mode)) {
		if (name_is_dot(p->fts_name))
			return FTS_DOT;
		/* A cycle: the same directory as an ancestor. */
		for (FTSENT *t = p->fts_parent; t->fts_level >= FTS_ROOTLEVEL; t = t->fts_parent) {
			if (t->fts_ino == st->st_ino && t->fts_dev == st->st_dev) {
				p->fts_cycle = t;
				return FTS_DC;
			}
		}
		return FTS_D;
	}
	if (S_ISLNK(st->st_mode))
		return FTS_SL;
	return S_ISREG(st->st_mode) ? FTS_F : FTS_DEFAULT;
fail:
	memset(st, 0, sizeof(*st));
	return FTS_NS;
}

static int wfts_compare(const void *a, const void *b, void *ctx)
{
	const struct wfts *s = ctx;

	if (s->cmp64)
		return s->cmp64((const FTSENT64 **)a, (const FTSENT64 **)b);
	return s->cmp((const FTSENT **)a, (const FTSENT **)b);
}

/* The n entries of list head in the caller's order (unsorted when out of
 * memory, as glibc does). */
static FTSENT *wfts_sort(struct wfts *s, FTSENT *head, size_t n)
{
	FTSENT **v = malloc(n * sizeof(*v)), *p;
	size_t i = 0;

	if (!v)
		return head;
	for (p = head; p; p = p->fts_link)
		v[i++] = p;
	qsort_r(v, n, sizeof(*v), wfts_compare, s);
	for (i = 0; i + 1 < n; i++)
		v[i]->fts_link = v[i + 1];
	v[n - 1]->fts_link = NULL;
	head = v[0];
	free(v);
	return head;
}

/*
 * Lists the current directory (a WFTS_B* type) into *out, sorted.  Returns
 * 0 (an empty *out for an empty directory), or -1 with errno set: the
 * directory could not be opened (fts_read then sees FTS_DNR in fts_info),
 * or a fatal error set FTS_STOP.
 */
static int wfts_build(struct wfts *s, int type, FTSENT **out)
{
	FTS *sp = &s->fts;
	FTSENT *cur = sp->fts_cur, *head = NULL, *tail = NULL, *p;
	bool nostat = WFTS_ISSET(sp, FTS_NOSTAT) && WFTS_ISSET(sp, FTS_PHYSICAL);
	size_t dirlen = wfts_nappend(cur), n = 0;
	struct dirent64 *e;
	int err;
	DIR *d;

	*out = NULL;
	if (!(d = opendir(cur->fts_accpath))) {
		if (type == WFTS_BREAD) {
			cur->fts_info = FTS_DNR;
			cur->fts_errno = errno;
		}
		return -1;
	}
	while ((e = readdir64(d))) {
		if (!WFTS_ISSET(sp, FTS_SEEDOT) && name_is_dot(e->d_name))
			continue;
		if (!(p = wfts_new(cur->fts_path, dirlen, e->d_name, strlen(e->d_name))))
			goto out_stop;
		p->fts_level = (short)(cur->fts_level + 1);
		p->fts_parent = cur;
		if (type == WFTS_BNAMES ||
		    (nostat && e->d_type != DT_DIR && e->d_type != DT_UNKNOWN))
			p->fts_info = FTS_NSOK;
		else
			p->fts_info = wfts_stat(sp, p, false);
		if (tail)
			tail->fts_link = p;
		else
			head = p;
		tail = p;
		n++;
	}
	closedir_keep_errno(d);
	if (!n) {
		if (type == WFTS_BREAD)
			cur->fts_info = FTS_DP;
		return 0;
	}
	*out = (s->cmp || s->cmp64) && n > 1 ? wfts_sort(s, head, n) : head;
	return 0;
out_stop:
	err = errno;
	wfts_lfree(head);
	closedir(d);
	cur->fts_info = FTS_ERR;
	sp->fts_options |= FTS_STOP;
	errno = err;
	return -1;
}

/* A root becomes current: its name is the last component of its path. */
static void wfts_load(FTS *sp, FTSENT *p)
{
	char *name = p->fts_name;
	char *cp = strrchr(name, '/');

	if (cp && (cp != name || cp[1])) {
		size_t len = strlen(++cp);
		memmove(name, cp, len + 1);
		p->fts_namelen = (unsigned short)len;
	}
	sp->fts_dev = p->fts_dev;
}

static FTSENT *wfts_read(struct wfts *s)
{
	FTS *sp = &s->fts;
	FTSENT *p = sp->fts_cur, *tmp;
	int instr;

	if (!p || WFTS_ISSET(sp, FTS_STOP))
		return NULL;
	instr = p->fts_instr;
	p->fts_instr = FTS_NOINSTR;

	/* fts_set instructions on the current entry. */
	if (instr == FTS_AGAIN) {
		p->fts_info = wfts_stat(sp, p, false);
		return p;
	}
	if (instr == FTS_FOLLOW && (p->fts_info == FTS_SL || p->fts_info == FTS_SLNONE)) {
		p->fts_info = wfts_stat(sp, p, true);
		return p;
	}

	/* A directory in preorder: descend, unless skipped or on another device. */
	if (p->fts_info == FTS_D) {
		if (instr == FTS_SKIP ||
		    (WFTS_ISSET(sp, FTS_XDEV) && p->fts_dev != sp->fts_dev)) {
			wfts_lfree(sp->fts_child);
			sp->fts_child = NULL;
			p->fts_info = FTS_DP;
			return p;
		}
		/* fts_children(FTS_NAMEONLY) listed names only: list again. */
		if (sp->fts_child && WFTS_ISSET(sp, FTS_NAMEONLY)) {
			sp->fts_options &= ~FTS_NAMEONLY;
			wfts_lfree(sp->fts_child);
			sp->fts_child = NULL;
		}
		if (!sp->fts_child &&
		    wfts_build(s, WFTS_BREAD, &sp->fts_child) < 0 && WFTS_ISSET(sp, FTS_STOP))
			return NULL;
		if (!sp->fts_child)
			return p;        /* now FTS_DNR or FTS_DP */
		sp->fts_cur = sp->fts_child;
		sp->fts_child = NULL;
		return sp->fts_cur;
	}
	/* A child list that was not walked belongs to no one now. */
	wfts_lfree(sp->fts_child);
	sp->fts_child = NULL;

	/* The next sibling. */
	for (;;) {
		tmp = p;
		if (!(p = p->fts_link))
			break;
		sp->fts_cur = p;
		free(tmp);
		if (p->fts_level == FTS_ROOTLEVEL) {
			wfts_load(sp, p);
			return p;
		}
		if (p->fts_instr == FTS_SKIP)
			continue;
		if (p->fts_instr == FTS_FOLLOW) {
			p->fts_info = wfts_stat(sp, p, true);
			p->fts_instr = FTS_NOINSTR;
		}
		return p;
	}

	/* No more siblings: the parent, in postorder. */
	p = tmp->fts_parent;
	sp->fts_cur = p;
	free(tmp);
	if (p->fts_level == FTS_ROOTPARENTLEVEL) {
		free(p);
		sp->fts_cur = NULL;
		errno = 0;       /* end, not error */
		return NULL;
	}
	p->fts_info = p->fts_errno ? FTS_ERR : FTS_DP;
	return p;
}

static FTSENT *wfts_children(struct wfts *s, int instr)
{
	FTS *sp = &s->fts;
	FTSENT *p = sp->fts_cur;

	if (instr != 0 && instr != FTS_NAMEONLY) {
		errno = EINVAL;
		return NULL;
	}
	errno = 0;       /* tells an empty directory from an error */
	if (!p || WFTS_ISSET(sp, FTS_STOP))
		return NULL;
	if (p->fts_info == FTS_INIT)
		return p->fts_link;      /* the roots */
	if (p->fts_info != FTS_D)
		return NULL;
	wfts_lfree(sp->fts_child);
	sp->fts_child = NULL;
	if (instr == FTS_NAMEONLY)
		sp->fts_options |= FTS_NAMEONLY;
	if (wfts_build(s, instr == FTS_NAMEONLY ? WFTS_BNAMES : WFTS_BCHILD,
		       &sp->fts_child) < 0)
		return NULL;
	if (!sp->fts_child)
		errno = 0;
	return sp->fts_child;
}

/* An instruction for the next fts_read of e; 1 with EINVAL for a bad one. */
static int wfts_set(FTSENT *e, int instr)
{
	if (instr != 0 && instr != FTS_AGAIN && instr != FTS_FOLLOW &&
	    instr != FTS_NOINSTR && instr != FTS_SKIP) {
		errno = EINVAL;
		return 1;
	}
	e->fts_instr = (unsigned short)instr;
	return 0;
}

static int wfts_close(struct wfts *s)
{
	FTS *sp = &s->fts;
	FTSENT *p = sp->fts_cur, *next;

	wfts_unregister(s);
	/* What is left: the siblings after each entry on the way up, then the
	 * roots' parent. */
	if (p) {
		while (p->fts_level >= FTS_ROOTLEVEL) {
			next = p->fts_link ? p->fts_link : p->fts_parent;
			free(p);
			p = next;
		}
		free(p);
	}
	wfts_lfree(sp->fts_child);
	free(s);
	return 0;
}

static FTS *wfts_open(char *const *argv, int options,
		      int (*cmp)(const FTSENT **, const FTSENT **),
		      int (*cmp64)(const FTSENT64 **, const FTSENT64 **))
{
	FTSENT *parent, *root = NULL, *tail = NULL, *p;
	struct wfts *s;
	size_t n = 0;
	int err;

	if (options & ~FTS_OPTIONMASK) {
		errno = EINVAL;
		return NULL;
	}
	if (!(s = calloc(1, sizeof(*s))))
		return NULL;
	s->cmp = cmp;
	s->cmp64 = cmp64;
	s->fts.fts_compar = cmp64 ? (int (*)(const void *, const void *))cmp64 :
				    (int (*)(const void *, const void *))cmp;
	s->fts.fts_options = options | FTS_NOCHDIR;
	s->fts.fts_rfd = -1;
	if (!(parent = wfts_new(NULL, 0, "", 0)))
		goto out_free;
	parent->fts_level = FTS_ROOTPARENTLEVEL;

	for (; *argv; argv++, n++) {
		size_t len = strlen(*argv);
		if (!len) {
			errno = ENOENT;
			goto out_free_roots;
		}
		if (!(p = wfts_new(NULL, 0, *argv, len)))
			goto out_free_roots;
		p->fts_level = FTS_ROOTLEVEL;
		p->fts_parent = parent;
		p->fts_info = wfts_stat(&s->fts, p, WFTS_ISSET(&s->fts, FTS_COMFOLLOW));
		/* "." and ".." named by the caller are plain directories. */
		if (p->fts_info == FTS_DOT)
			p->fts_info = FTS_D;
		/* With a compar the order is the sort's; glibc sorts them reversed. */
		if (cmp || cmp64) {
			p->fts_link = root;
			root = p;
		} else {
			if (tail)
				tail->fts_link = p;
			else
				root = p;
			tail = p;
		}
	}
	if ((cmp || cmp64) && n > 1)
		root = wfts_sort(s, root, n);

	/* The current entry before the first read: "just finished" the
	 * entry before the roots. */
	if (!(p = wfts_new(NULL, 0, "", 0)))
		goto out_free_roots;
	p->fts_level = FTS_ROOTLEVEL;
	p->fts_parent = parent;
	p->fts_link = root;
	p->fts_info = FTS_INIT;
	s->fts.fts_cur = p;
	wfts_register(s);
	return &s->fts;

out_free_roots:
	err = errno;
	wfts_lfree(root);
	free(parent);
	errno = err;
out_free:
	err = errno;
	free(s);
	errno = err;
	return NULL;
}

/* fts_open handles the walk itself when any root may be in the view. */
static bool wfts_any_virtual(char *const *paths)
{
	SHIM_OPAQUE(paths);
	if (!paths)
		return false;
	for (; *paths; paths++)
		if (shim_maybe_virtual(AT_FDCWD, *paths))
			return true;
	return false;
}

/*
 * fts(3) and fts64.  A stream whose roots include a path in the view is
 * ours (see the file header for how it differs from glibc's); the others
 * are glibc's, told apart by the registry of ours.
 */
SHIM_EXPORT FTS *fts_open(char *const *paths, int options,
			  int (*cmp)(const FTSENT **, const FTSENT **))
{
	if (!wfts_any_virtual(paths))
		return REAL(fts_open)(paths, options, cmp);
	return wfts_open(paths, options, cmp, NULL);
}

SHIM_EXPORT FTSENT *fts_read(FTS *fts)
{
	struct wfts *s = wfts_find(fts);

	if (!s)
		return REAL(fts_read)(fts);
	return wfts_read(s);
}

SHIM_EXPORT FTSENT *fts_children(FTS *fts, int options)
{
	struct wfts *s = wfts_find(fts);

	if (!s)
		return REAL(fts_children)(fts, options);
	return wfts_children(s, options);
}

SHIM_EXPORT int fts_set(FTS *fts, FTSENT *e, int options)
{
	if (!wfts_find(fts))
		return REAL(fts_set)(fts, e, options);
	return wfts_set(e, options);
}

SHIM_EXPORT int fts_close(FTS *fts)
{
	struct wfts *s = wfts_find(fts);

	if (!s)
		return REAL(fts_close)(fts);
	return wfts_close(s);
}

SHIM_EXPORT FTS64 *fts64_open(char *const *paths, int options,
			      int (*cmp)(const FTSENT64 **, const FTSENT64 **))
{
	if (!wfts_any_virtual(paths))
		return REAL(fts64_open)(paths, options, cmp);
	return (FTS64 *)wfts_open(paths, options, NULL, cmp);
}

SHIM_EXPORT FTSENT64 *fts64_read(FTS64 *fts)
{
	struct wfts *s = wfts_find(fts);

	if (!s)
		return REAL(fts64_read)(fts);
	return (FTSENT64 *)wfts_read(s);
}

SHIM_EXPORT FTSENT64 *fts64_children(FTS64 *fts, int options)
{
	struct wfts *s = wfts_find(fts);

	if (!s)
		return REAL(fts64_children)(fts, options);
	return (FTSENT64 *)wfts_children(s, options);
}

SHIM_EXPORT int fts64_set(FTS64 *fts, FTSENT64 *e, int options)
{
	if (!wfts_find(fts))
		return REAL(fts64_set)(fts, e, options);
	return wfts_set((FTSENT *)e, options);
}

SHIM_EXPORT int fts64_close(FTS64 *fts)
{
	struct wfts *s = wfts_find(fts);

	if (!s)
		return REAL(fts64_close)(fts);
	return wfts_close(s);
}

/* ---- 3. glob -------------------------------------------------------- */

/* GLOB_ALTDIRFUNC hooks: our wrappers, with glob_t's types. */
static void *glob_opendir(const char *path)
{
	return opendir(path);
}

static void glob_closedir(void *d)
{
	closedir(d);
}

static struct dirent *glob_readdir(void *d)
{
	return readdir(d);
}

static struct dirent64 *glob_readdir64(void *d)
{
	return readdir64(d);
}

static int glob_stat(const char *restrict path, struct stat *restrict st)
{
	return stat(path, st);
}

static int glob_lstat(const char *restrict path, struct stat *restrict st)
{
	return lstat(path, st);
}

static int glob_stat64(const char *restrict path, struct stat64 *restrict st)
{
	return stat64(path, st);
}

static int glob_lstat64(const char *restrict path, struct stat64 *restrict st)
{
	return lstat64(path, st);
}

/*
 * May pattern match names in the view?  Absolute patterns under the mount
 * point, relative ones while the working directory is in or above it,
 * absolute ones whose first wildcard comes before the end of the mount
 * point ("/l*" may match it), and brace lists.  "~" patterns start at a
 * home directory, which is the host's.
 */
static bool glob_may_touch_view(const char *pattern, int flags)
{
	size_t lit;

	SHIM_OPAQUE(pattern);
	if (!pattern)
		return false;
	shim_ensure_configured();
	if (!shim.mnt.len)
		return false;
	if (pattern[0] == '~' && (flags & (GLOB_TILDE | GLOB_TILDE_CHECK)))
		return false;
	if ((flags & GLOB_BRACE) && strchr(pattern, '{'))
		return true;
	if (shim_maybe_virtual(AT_FDCWD, pattern))
		return true;
	if (pattern[0] != '/')
		return false;
	lit = strcspn(pattern, "*?[\\");
	return pattern[lit] && lit < shim.mnt.len &&
	       strncmp(pattern, shim.mnt.path, lit) == 0;
}

/*
 * glob(3)/glob64: glibc's matching over our directory functions.  A caller
 * that passes its own GLOB_ALTDIRFUNC keeps them (they reach our wrappers
 * anyway).  The hook fields and GLOB_ALTDIRFUNC in gl_flags are put back
 * as they were, so globfree and later GLOB_APPEND calls see no difference.
 */
SHIM_EXPORT int glob(const char *pattern, int flags, int (*errfn)(const char *, int),
		     glob_t *g)
{
	SHIM_OPAQUE(g);
	if (!g || (flags & GLOB_ALTDIRFUNC) || !glob_may_touch_view(pattern, flags))
		return REAL(glob)(pattern, flags, errfn, g);
	glob_t saved = *g;
	g->gl_opendir = glob_opendir;
	g->gl_readdir = glob_readdir;
	g->gl_closedir = glob_closedir;
	g->gl_stat = glob_stat;
	g->gl_lstat = glob_lstat;
	int r = REAL(glob)(pattern, flags | GLOB_ALTDIRFUNC, errfn, g);
	g->gl_flags &= ~GLOB_ALTDIRFUNC;
	g->gl_opendir = saved.gl_opendir;
	g->gl_readdir = saved.gl_readdir;
	g->gl_closedir = saved.gl_closedir;
	g->gl_stat = saved.gl_stat;
	g->gl_lstat = saved.gl_lstat;
	return r;
}

SHIM_EXPORT int glob64(const char *pattern, int flags, int (*errfn)(const char *, int),
		       glob64_t *g)
{
	SHIM_OPAQUE(g);
	if (!g || (flags & GLOB_ALTDIRFUNC) || !glob_may_touch_view(pattern, flags))
		return REAL(glob64)(pattern, flags, errfn, g);
	glob64_t saved = *g;
	g->gl_opendir = glob_opendir;
	g->gl_readdir = glob_readdir64;
	g->gl_closedir = glob_closedir;
	g->gl_stat = glob_stat64;
	g->gl_lstat = glob_lstat64;
	int r = REAL(glob64)(pattern, flags | GLOB_ALTDIRFUNC, errfn, g);
	g->gl_flags &= ~GLOB_ALTDIRFUNC;
	g->gl_opendir = saved.gl_opendir;
	g->gl_readdir = saved.gl_readdir;
	g->gl_closedir = saved.gl_closedir;
	g->gl_stat = saved.gl_stat;
	g->gl_lstat = saved.gl_lstat;
	return r;
}

/* globfree(3): the lists are glibc's whichever way glob ran. */
SHIM_EXPORT void globfree(glob_t *g)
{
	REAL(globfree)(g);
}

SHIM_EXPORT void globfree64(glob64_t *g)
{
	REAL(globfree64)(g);
}
