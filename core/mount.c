/* SPDX-License-Identifier: MIT */
/*
 * mount.c - a union seen at a host path, as the kernel shows a mount.
 *
 * lyr_mount_resolve walks an absolute host path as the kernel's namei
 * would if the union were mounted at the mount point.  Host components
 * are the host's and those at or below the mount point the union's; the
 * border is crossed both ways: ".." at the view's root climbs to the
 * host, a host symlink or a ".." that reaches the mount point enters the
 * view, a symlink in the view whose target is elsewhere goes on on the
 * host.  /proc's magic links (/proc/PID/fd/N, /proc/PID/cwd, and
 * /proc/self, /proc/thread-self and /dev/fd on the way) lead where they
 * stand for: into the view when the file or directory behind them is the
 * view's.  So what a path reaches depends on what it names, not on how it
 * is spelled.  It is one walk of the one walker (walk.h), whose step asks
 * the host or the union.
 *
 * The host is asked only where its answer can change the outcome.  The
 * mount point and its parents are directories (as a mount point's are,
 * whether or not the host has them); a name beside one of them is looked
 * at (it may be a symlink into the view); deeper, the host is asked only
 * while a ".." is still to come (a symlink followed by ".." lands
 * elsewhere than its name suggests) and under /proc and /dev.  Anywhere
 * else the rest of the path can only reach the host: the walk stops and
 * hands the kernel the host path, which then gives the kernel's own
 * answers and errors.
 */
#define _GNU_SOURCE
#include "union.h"
#include "walk.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* mw_readlink's answer for a magic link to the subject's own nameless
 * file, followed: not an errno, so the walk stops with it. */
#define MW_OWN_FD (-5000)

struct mount_walk {
	struct lyr_walk w;          /* first */
	char done[2 * PATH_MAX];    /* the walk's: the mount point, then a
				       layer path of up to PATH_MAX bytes */
	const struct lyr_mount *m;
	const char *mnt;            /* m->path without its leading '/' */
	size_t mlen;
	bool view;                  /* done is at or below the mount point */
	struct u_trail t;           /* the union's state, while view */
	char link[PATH_MAX];        /* the last step's symlink target */
	size_t linklen;
	bool magic;                 /* ... which a magic link into the view gave */
	bool links;                 /* LYR_RESOLVE_HOST_LINKS */
	int linkerr;                /* ... or why that magic link leads nowhere
				       (-errno, when it is followed), or
				       MW_OWN_FD */
	int ownfd;                  /* MW_OWN_FD: the subject's fd */
};

/* Is p (n bytes, a host path without its leading '/') the host root or a
 * parent of the mount point? */
static bool mw_above(const struct mount_walk *mw, const char *p, size_t n)
{
	return n == 0 || (n < mw->mlen && mw->mnt[n] == '/' && !memcmp(mw->mnt, p, n));
}

/* Is there a ".." component in what is left? */
static bool mw_dotdot_ahead(const char *rest)
{
	for (const char *p = rest; *p;) {
		while (*p == '/')
			p++;
		const char *e = strchrnul(p, '/');
		if (e - p == 2 && p[0] == '.' && p[1] == '.')
			return true;
		p = e;
	}
	return false;
}

/* "/" + done into buf (PATH_MAX + 1 bytes). */
static const char *mw_host(const struct lyr_walk *w, char *buf)
{
	buf[0] = '/';
	memcpy(buf + 1, w->done, w->dlen + 1);
	return buf;
}

/* A decimal number that is all of [p, p + n), written as /proc writes it
 * (no leading zero): its value, or -1. */
static long mw_number(const char *p, size_t n)
{
	long v = 0;

	if (n == 0 || n > 9 || (n > 1 && p[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* Sets the last step's link target (absolute view path of layer path lp,
 * or a host path): LYR_WALK_LINK, or -ENAMETOOLONG. */
static int mw_link(struct mount_walk *mw, const char *a, const char *b, bool magic)
{
	int n = snprintf(mw->link, sizeof(mw->link), "%s%s%s", a, *a && *b ? "/" : "", b);

	if (n < 0 || (size_t)n >= sizeof(mw->link))
		return -ENAMETOOLONG;
	mw->linklen = (size_t)n;
	mw->magic = magic;
	return LYR_WALK_LINK;
}

/*
 * A magic link of another process (or of this one, when the mount's
 * callback leaves it to us): where the kernel's link goes, as a path.  A
 * file the union opened is named by its view path (a lower file reopened
 * for writing is then copied up, never written in place); anything else
 * by the path the kernel gives, or the kernel's answer (LYR_WALK_STOP)
 * when it has no path.
 */
static int mw_magic_default(struct mount_walk *mw, const char *host)
{
	char lp[PATH_MAX];
	int fd = open(host, O_PATH | O_CLOEXEC);

	if (fd < 0)
		return LYR_WALK_STOP; /* the kernel says why */
	int r = lyr_fd_name(mw->m->fs, fd, lp, sizeof(lp));
	close(fd);
	if (r == 0)
		return mw_link(mw, mw->m->path, lp, true);
	if (r == -ENXIO) {
		/* The union's, but which entry is unknown: never the stand-in
		 * behind it (an error when followed). */
		mw->magic = true;
		mw->linkerr = -EACCES;
		return LYR_WALK_LINK;
	}
	ssize_t n = readlink(host, mw->link, sizeof(mw->link) - 1);
	if (n <= 0 || mw->link[0] != '/' || (size_t)n >= sizeof(mw->link) - 1)
		return LYR_WALK_STOP;
	mw->link[n] = '\0';
	if (n > 10 && !strcmp(mw->link + n - 10, " (deleted)"))
		return LYR_WALK_STOP;
	mw->linklen = (size_t)n;
	mw->magic = false;
	return LYR_WALK_LINK;
}

/*
 * /proc's links at done, which is under "proc/": self and thread-self
 * name the subject process (the mount's pid and tid, not the caller's);
 * PID/fd/N, PID/task/TID/fd/N and their cwd lead where the mount's magic
 * callback or mw_magic_default say.  0 when done is none of those.
 */
static int mw_proc(struct mount_walk *mw, const char *host, bool last)
{
	const struct lyr_mount *m = mw->m;
	const char *p = mw->w.done + 5, *end = mw->w.done + mw->w.dlen;
	pid_t pid = m->pid ? m->pid : getpid(), tid = m->tid ? m->tid : gettid();
	char num[48];

	if (!strcmp(p, "self")) {
		snprintf(num, sizeof(num), "%d", (int)pid);
		return mw_link(mw, num, "", false);
	}
	if (!strcmp(p, "thread-self")) {
		snprintf(num, sizeof(num), "%d/task/%d", (int)pid, (int)tid);
		return mw_link(mw, num, "", false);
	}
	/* PID[/task/TID]/(fd/N|cwd) */
	const char *s = memchr(p, '/', (size_t)(end - p));
	if (!s || mw_number(p, (size_t)(s - p)) < 0)
		return 0;
	long who = mw_number(p, (size_t)(s - p));
	p = s + 1;
	if (!strncmp(p, "task/", 5)) {
		s = memchr(p + 5, '/', (size_t)(end - p - 5));
		if (!s || mw_number(p + 5, (size_t)(s - p - 5)) < 0)
			return 0;
		p = s + 1;
	}
	long fd = -1;
	if (!strncmp(p, "fd/", 3)) {
		if ((fd = mw_number(p + 3, (size_t)(end - p - 3))) < 0)
			return 0;
	} else if (strcmp(p, "cwd")) {
		return 0;
	}
	if (m->magic) {
		char buf[PATH_MAX];
		int r = m->magic(m->magic_ctx, who == pid ? 0 : (pid_t)who, (int)fd, buf, sizeof(buf));
		if (r == LYR_MAGIC_NAMELESS && who != pid)
			r = 0;
		if (r < 0) {
			mw->magic = true;
			/* An error only when followed (struct lyr_mount). */
			mw->linkerr = r;
			return LYR_WALK_LINK;
		}
		if ((r == LYR_MAGIC_FILE || r == LYR_MAGIC_NAMELESS) && !last) {
			mw->magic = true;
			mw->linkerr = -ENOTDIR;
			return LYR_WALK_LINK;
		}
		if (r == LYR_MAGIC_NAMELESS) {
			mw->magic = true;
			mw->linkerr = MW_OWN_FD;
			mw->ownfd = (int)fd;
			return LYR_WALK_LINK;
		}
		if (r == LYR_MAGIC_FILE)
			r = LYR_MAGIC_VIEW;
		if (r == LYR_MAGIC_VIEW)
			return mw_link(mw, m->path, buf, true);
		if (r == LYR_MAGIC_HOST)
			return mw_link(mw, buf, "", false);
		if (r == LYR_MAGIC_KERNEL)
			return LYR_WALK_STOP;
	}
	return mw_magic_default(mw, host);
}

static int mw_step(struct lyr_walk *w, const char **rest, bool *last)
{
	struct mount_walk *mw = (struct mount_walk *)w;
	char host[PATH_MAX + 1];
	struct stat st;
	int r;

	mw->magic = false;
	mw->linkerr = 0;
	if (mw->view)
		return u_trail_step(&mw->t, w, mw->mlen, rest, last);
	if (w->dlen == mw->mlen && !memcmp(w->done, mw->mnt, mw->mlen)) {
		/* The mount point: the view's root. */
		mw->view = true;
		u_trail_reset(&mw->t);
		r = u_trail_here(&mw->t, w, mw->mlen);
		return r < 0 ? r : LYR_WALK_DIR;
	}
	if (mw_above(mw, w->done, w->dlen))
		return LYR_WALK_DIR;
	const char *slash = memrchr(w->done, '/', w->dlen);
	size_t plen = slash ? (size_t)(slash - w->done) : 0;
	bool proc = !strncmp(w->done, "proc/", 5), dev = !strncmp(w->done, "dev/", 4);
	if (!mw_above(mw, w->done, plen) && !proc && !dev && !mw->links &&
	    !mw_dotdot_ahead(*rest))
		return LYR_WALK_STOP; /* only the host is left */
	mw_host(w, host);
	if (proc && (r = mw_proc(mw, host, *last)) != 0) {
		/* Followed as the last component, a magic link leads to a file
		 * itself: what it names is not followed again. */
		if (r == LYR_WALK_LINK && mw->magic && *last)
			w->keep_target = true;
		return r;
	}
	if (lstat(host, &st) < 0)
		return LYR_WALK_STOP; /* the kernel says why */
	if (S_ISDIR(st.st_mode))
		return LYR_WALK_DIR;
	if (!S_ISLNK(st.st_mode))
		return LYR_WALK_OTHER;
	ssize_t n = readlink(host, mw->link, sizeof(mw->link));
	if (n < 0 || (size_t)n >= sizeof(mw->link))
		return LYR_WALK_STOP;
	mw->link[n] = '\0';
	mw->linklen = (size_t)n;
	return LYR_WALK_LINK;
}

static ssize_t mw_readlink(struct lyr_walk *w, char *buf, size_t size)
{
	struct mount_walk *mw = (struct mount_walk *)w;

	if (mw->linkerr)
		return mw->linkerr;
	if (mw->view && !mw->magic)
		return u_trail_readlink(&mw->t, w, mw->mlen, buf, size);
	if (mw->linklen > size)
		return -ENAMETOOLONG;
	memcpy(buf, mw->link, mw->linklen);
	return (ssize_t)mw->linklen;
}

/* done lost a component, or was emptied: below the mount point or not. */
static void mw_up(struct lyr_walk *w)
{
	struct mount_walk *mw = (struct mount_walk *)w;

	if (mw->view && w->dlen < mw->mlen)
		mw->view = false;
	else if (mw->view)
		u_trail_up(&mw->t);
}

static void mw_reset(struct lyr_walk *w)
{
	struct mount_walk *mw = (struct mount_walk *)w;

	mw->view = false;
	u_trail_reset(&mw->t);
}

static int mw_here(struct lyr_walk *w)
{
	struct mount_walk *mw = (struct mount_walk *)w;

	if (!mw->view && w->dlen == mw->mlen && !memcmp(w->done, mw->mnt, mw->mlen)) {
		mw->view = true; /* "/" + ".." + the mount point, say */
		u_trail_reset(&mw->t);
	}
	return mw->view ? u_trail_here(&mw->t, w, mw->mlen) : 0;
}

static const struct lyr_walk_ops mw_ops = {
	.step = mw_step,
	.readlink = mw_readlink,
	.up = mw_up,
	.reset = mw_reset,
	.here = mw_here,
};

/* The host path for what the walk left to the kernel: "/" + done + rest,
 * keeping a trailing '/' of the caller's path. */
static int mw_host_result(struct mount_walk *mw, const char *rest, bool slash,
			  struct lyr_found *f)
{
	const char *r = rest;
	size_t rlen;

	while (*r == '/')
		r++;
	for (rlen = strlen(r); rlen && r[rlen - 1] == '/'; rlen--)
		;
	int n = snprintf(f->path, sizeof(f->path), "/%.*s%s%.*s%s", (int)mw->w.dlen,
			 mw->w.done, mw->w.dlen && rlen ? "/" : "", (int)rlen, r,
			 slash && (mw->w.dlen || rlen) ? "/" : "");
	if (n < 0 || (size_t)n >= sizeof(f->path))
		return -ENAMETOOLONG;
	return LYR_ON_HOST;
}

dev_t lyr_mount_dev(const char *path)
{
	uint32_t h = 2166136261u;

	for (const char *p = path; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return makedev(0x4c46, h & 0xfff);
}

const char *lyr_mount_below(const struct lyr_mount *m, const char *p)
{
	if (strncmp(p, m->path, m->len) != 0)
		return NULL;
	if (p[m->len] == '\0')
		return p + m->len;
	return p[m->len] == '/' ? p + m->len + 1 : NULL;
}

bool lyr_mount_above(const struct lyr_mount *m, const char *path)
{
	size_t n = strlen(path);

	while (n > 1 && path[n - 1] == '/')
		n--;
	return path[0] == '/' && n < m->len && strncmp(path, m->path, n) == 0 &&
	       (m->path[n] == '/' || n == 1);
}

bool lyr_mount_near(const struct lyr_mount *m, const char *start, const char *path)
{
	char cur[PATH_MAX];
	size_t len = strlen(start);

	if (len >= sizeof(cur))
		return true;
	memcpy(cur, start, len + 1);
	while (len > 1 && cur[len - 1] == '/')
		cur[--len] = '\0';
	for (const char *p = path; *p;) {
		while (*p == '/')
			p++;
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			char *slash = memrchr(cur, '/', len);
			len = slash && slash != cur ? (size_t)(slash - cur) : 1;
			cur[len] = '\0';
		} else if (n && !(n == 1 && p[0] == '.')) {
			if (len + 1 + n >= sizeof(cur))
				return true;
			if (len > 1)
				cur[len++] = '/';
			memcpy(cur + len, p, n);
			len += n;
			cur[len] = '\0';
		}
		if (lyr_mount_below(m, cur) || lyr_mount_above(m, cur))
			return true;
		p = e;
	}
	return false;
}

void lyr_mount_ghost_stat(const struct lyr_mount *m, const char *path, struct stat *st)
{
	size_t n = strlen(path);

	while (n > 1 && path[n - 1] == '/')
		n--;
	*st = (struct stat){
		.st_dev = lyr_mount_dev(m->path),
		.st_ino = 1 + n,	/* distinct per level */
		.st_mode = S_IFDIR | 0755,
		.st_nlink = 2,
		.st_blksize = 4096,
	};
}

bool lyr_mount_leads_in(const struct lyr_mount *m, int dirfd, const char *path, bool follow)
{
	char pre[PATH_MAX], real[PATH_MAX], more[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(pre))
		return false;
	memcpy(pre, path, n + 1);
	while (n > 1 && pre[n - 1] == '/')
		pre[--n] = '\0';
	for (bool cut = !follow;; cut = true) {
		const char *rest = "";
		if (cut) {
			char *slash = strrchr(pre, '/');
			if (slash == pre) {
				slash[1] = '\0'; /* "/" itself resolves */
			} else if (slash) {
				*slash = '\0';
			} else {
				pre[0] = '.';
				pre[1] = '\0';
			}
			rest = path + strlen(pre);
		}
		while (*rest == '/')
			rest++;
		int fd = openat(dirfd, pre, O_PATH | O_CLOEXEC);
		if (fd >= 0) {
			bool named = lyr_fd_path(fd, real, sizeof(real)) > 0;
			close(fd);
			return named && (lyr_mount_below(m, real) || lyr_mount_near(m, real, rest));
		}
		if (!strcmp(pre, ".") || !strcmp(pre, "/"))
			return false;
		/* A symlink whose target is missing (the mount point?). */
		fd = openat(dirfd, pre, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t k = readlinkat(fd, "", more, sizeof(more) - 1);
		bool named = k > 0 && lyr_fd_path(fd, real, sizeof(real)) > 0;
		close(fd);
		if (!named)
			continue; /* not a symlink */
		more[k] = '\0';
		char *slash = strrchr(real, '/');
		slash[slash == real] = '\0'; /* the link's directory */
		size_t len = (size_t)k;
		if (*rest && len + 1 + strlen(rest) < sizeof(more))
			snprintf(more + len, sizeof(more) - len, "/%s", rest);
		return lyr_mount_near(m, more[0] == '/' ? "/" : real, more);
	}
}

/*
 * The directory the last walk of this thread started from (a directory of
 * the view that an fd or the working directory stands for), as the walk
 * left it: what the union merges at each level down to it.  A tree walk
 * (fts: openat and fstatat on a directory's fd; or paths relative to the
 * working directory) starts from the same few directories over and over,
 * and the walk down from the view's root asks every layer at every level.
 * Reused while the union's change token has not moved (u_change_token: a
 * union of archives under a host upper that counts its changes); any
 * other union walks down every time, and so does a walk made for another
 * process (the supervisor's: m->pid or m->tid set), which keeps no state
 * between calls.
 */
#define MW_MEMO_DEPTH 24
struct mw_memo {
	uint64_t serial;              /* the union's (0: empty) */
	uint64_t tok;                 /* its change token then */
	size_t dlen;                  /* done: the mount point and the layer path */
	char done[PATH_MAX];
	size_t depth;                 /* the trail */
	uint64_t masks[MW_MEMO_DEPTH];
	struct u_ent e;
};
static __thread struct mw_memo mw_memo;

static bool mw_memo_get(struct mount_walk *mw, const char *lp, size_t lplen, uint64_t tok)
{
	struct mw_memo *mm = &mw_memo;
	size_t want = mw->mlen + (lplen ? 1 + lplen : 0);

	if (mm->serial != mw->t.u->serial || mm->tok != tok || mm->dlen != want ||
	    memcmp(mm->done, mw->mnt, mw->mlen) ||
	    (lplen && (mm->done[mw->mlen] != '/' || memcmp(mm->done + mw->mlen + 1, lp, lplen))))
		return false;
	memcpy(mw->w.done, mm->done, mm->dlen);
	mw->w.done[mm->dlen] = '\0';
	mw->w.dlen = mm->dlen;
	mw->view = true;
	memcpy(mw->t.masks, mm->masks, (mm->depth + 1) * sizeof(*mm->masks));
	mw->t.depth = mm->depth;
	mw->t.e = mm->e;
	return true;
}

static void mw_memo_put(struct mount_walk *mw, uint64_t tok)
{
	struct mw_memo *mm = &mw_memo;

	mm->serial = 0;
	if (mw->t.depth >= MW_MEMO_DEPTH || mw->w.dlen >= sizeof(mm->done) || mw->w.links)
		return;
	memcpy(mm->done, mw->w.done, mw->w.dlen);
	mm->dlen = mw->w.dlen;
	memcpy(mm->masks, mw->t.masks, (mw->t.depth + 1) * sizeof(*mm->masks));
	mm->depth = mw->t.depth;
	mm->e = mw->t.e;
	mm->tok = tok;
	mm->serial = mw->t.u->serial;
}

/* Puts the walk at its start: the host root, or at (see lyr_at), which
 * must be a directory unless the path is empty (the start itself). */
static int mw_start(struct mount_walk *mw, const struct lyr_at *at, bool dir)
{
	const struct lyr_mount *m = mw->m;
	const char *lp = NULL;

	if (!at)
		return 0;
	if (at->kind == LYR_AT_VIEW) {
		lp = at->path;
	} else if (!strncmp(at->path, m->path, m->len) &&
		   (at->path[m->len] == '/' || !at->path[m->len])) {
		lp = at->path + m->len; /* a host directory of the mount point */
	} else {
		size_t n = strlen(at->path + 1);
		if (at->path[0] != '/' || n >= PATH_MAX)
			return -EINVAL;
		memcpy(mw->w.done, at->path + 1, n + 1);
		mw->w.dlen = n;
		while (mw->w.dlen && mw->w.done[mw->w.dlen - 1] == '/')
			mw->w.done[--mw->w.dlen] = '\0';
		return 0;
	}
	/* A directory of the view: down from its root, which builds the
	 * union's state on the way (the layer path has no symlink); or as
	 * the thread's last walk from it left it, when nothing changed. */
	uint64_t tok = 0;
	size_t lplen = strlen(lp);
	bool memo = !m->pid && !m->tid && u_change_token(mw->t.u, &tok);
	if (memo && mw_memo_get(mw, lp, lplen, tok))
		return 0;
	memcpy(mw->w.done, mw->mnt, mw->mlen + 1);
	mw->w.dlen = mw->mlen;
	mw->view = true;
	int r = u_trail_here(&mw->t, &mw->w, mw->mlen);
	if (r == 0 && *lp)
		r = lyr_walk_run(&mw->w, lp, 0, NULL, 0);
	if (r > 0)
		r = -ENOENT; /* removed meanwhile, or a symlink now */
	if (r == 0 && dir && !S_ISDIR(mw->t.e.st.st_mode))
		r = -ENOTDIR;
	if (r == 0 && memo && S_ISDIR(mw->t.e.st.st_mode))
		mw_memo_put(mw, tok);
	return r;
}

/* The thread's walk state (12 KiB: a malloc and free of that size cost as
 * much as a short walk), for a walk of the calling process's own, unless a
 * walk is already using it: a resolution made while one runs (a signal
 * handler's) gets its own. */
static __thread struct mount_walk mw_mine;
static __thread volatile bool mw_mine_busy;

int lyr_mount_resolve(const struct lyr_mount *m, const struct lyr_at *at, const char *path,
		      unsigned flags, struct lyr_found *f)
{
	struct mount_walk *mw;
	size_t plen = strlen(path);
	int r;

	if ((!at && path[0] != '/') || m->len < 2 || m->path[0] != '/')
		return -EINVAL;
	if (plen >= PATH_MAX)
		return -ENAMETOOLONG;
	if (!m->pid && !m->tid && !mw_mine_busy) {
		mw_mine_busy = true;
		mw = &mw_mine;
	} else if (!(mw = malloc(sizeof(*mw)))) {
		return -ENOMEM;
	}
	mw->m = m;
	mw->mnt = m->path + 1;
	mw->mlen = m->len - 1;
	mw->view = false;
	mw->magic = false;
	mw->links = flags & LYR_RESOLVE_HOST_LINKS;
	mw->linkerr = 0;
	mw->ownfd = -1;
	mw->linklen = 0;
	bool slash = plen > 1 && path[plen - 1] == '/';
	lyr_walk_init(&mw->w, &mw_ops, mw->done, NULL);
	mw->w.cap = mw->mlen + 1 + PATH_MAX;
	u_trail_init(&mw->t, u_of(m->fs));
	if ((r = mw_start(mw, at, *path)) == 0)
		r = lyr_walk_run(&mw->w, path, flags, f->path, sizeof(f->path));
	f->res = 0;
	f->fd = -1;
	if (r == MW_OWN_FD) {
		f->res = LYR_RESOLVE_OWN_FD;
		f->fd = mw->ownfd;
		f->path[0] = '\0';
		r = LYR_IN_VIEW;
	} else if (r == LYR_WALK_STOP) {
		r = mw_host_result(mw, mw->w.todo, slash, f);
	} else if (r >= 0 && !mw->view) {
		/* The whole path on the host; or the last component a magic
		 * link into the view, not followed (readlink and lstat). */
		f->res = mw->magic && r == 0 ? LYR_RESOLVE_MAGIC : 0;
		r = mw_host_result(mw, "", slash && r == 0, f);
	} else if (r == 0 || r == LYR_RESOLVE_MISSING) {
		const char *lp = mw->w.dlen > mw->mlen ? mw->w.done + mw->mlen + 1 : "";
		memcpy(f->path, lp, strlen(lp) + 1);
		f->res = r;
		u_found_set(u_of(m->fs), f, r == 0 ? &mw->t.e : NULL);
		r = LYR_IN_VIEW;
	}
	u_trail_free(&mw->t);
	lyr_walk_free(&mw->w, mw->done);
	if (mw == &mw_mine)
		mw_mine_busy = false;
	else
		free(mw);
	return r;
}
