/* SPDX-License-Identifier: MIT */
/*
 * wrap_exec.c - exec, posix_spawn, system, popen, fork and vfork.
 *
 * Two jobs.  (1) Children keep the view: every exec and spawn gets
 * LD_PRELOAD and the LAYERFS_* settings back (plus LAYERFS_CWD, the virtual
 * working directory), even when the program passes a reduced environment.
 * (2) Files stored in the view can be run: an ELF binary is executed from
 * the real file behind it; a "#!" script runs its interpreter (from the
 * view or the host) on the script's view path, as the kernel would; PATH
 * is searched through the view; ENOEXEC falls back to /bin/sh.  glibc's
 * execvp, system and popen call internal functions no wrapper sees, so they
 * are re-implemented here on top of the wrappers.
 *
 * vfork is run as fork: the exec path allocates (it builds an environment).
 */
#include "real.h"

#include <elf.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

extern char **environ;

#define MAX_INTERP_DEPTH 4

/* ---- the environment children get ---------------------------------- */

static bool env_is(const char *e, const char *name)
{
	size_t n = strlen(name);
	return strncmp(e, name, n) == 0 && e[n] == '=';
}

static bool env_managed(const char *e)
{
	return shim_env_owned(e) || env_is(e, "LD_PRELOAD");
}

/* Does the LD_PRELOAD list (after "LD_PRELOAD=") name this library? */
static bool preload_has_self(const char *list)
{
	char one[PATH_MAX], abs[PATH_MAX];

	for (const char *p = list; *p; ) {
		size_t n = strcspn(p, ": ");
		if (n > 0 && n < sizeof(one)) {
			memcpy(one, p, n);
			one[n] = '\0';
			if (strcmp(one, shim.self) == 0 ||
			    (strchr(one, '/') && REAL(realpath)(one, abs) && strcmp(abs, shim.self) == 0))
				return true;
		}
		p += n;
		p += strspn(p, ": ");
	}
	return false;
}

/*
 * The child's LD_PRELOAD: the program's own when it still loads this
 * library, else ours (what we were started with) followed by the program's.
 * Returns NULL to keep the program's entry as it is.
 */
static char *preload_merge(const char *keep, const char *theirs)
{
	if (!theirs)
		return strdup(keep);
	theirs += strlen("LD_PRELOAD=");
	if (preload_has_self(theirs))
		return NULL;
	size_t n = strlen(keep) + strlen(theirs) + 2;
	char *s = malloc(n);
	if (s)
		snprintf(s, n, "%s%s%s", keep, *theirs ? ":" : "", theirs);
	return s;
}

/* Which LAYERFS_CWD a child gets. */
enum { CWD_CURRENT, CWD_GIVEN, CWD_NONE };

/*
 * envp plus what the shim needs, with LAYERFS_CWD as cwd_mode says.  The
 * array is [the program's entries, ours, NULL, owned strings..., NULL] so
 * shim_env_free can find what it allocated.
 */
static char **env_build(char *const envp[], int cwd_mode, const char *cwd)
{
	size_t n = 0, k = 0, nowned = 0;
	const char *their_preload = NULL;
	char *owned[2];
	char rel[PATH_MAX];

	if (!shim.mnt.len)
		return (char **)envp;
	if (envp)
		for (; envp[n]; n++)
			if (env_is(envp[n], "LD_PRELOAD"))
				their_preload = envp[n];
	char **env = malloc((n + (size_t)shim.nenv_keep + 5) * sizeof(char *));
	if (!env)
		return (char **)envp;
	for (size_t i = 0; i < n; i++)
		if (!env_managed(envp[i]))
			env[k++] = envp[i];
	for (int i = 0; i < shim.nenv_keep; i++) {
		const char *e = shim.env_keep[i];
		if (!env_is(e, "LD_PRELOAD")) {
			env[k++] = (char *)e;
			continue;
		}
		char *m = preload_merge(e, their_preload);
		if (m)
			env[k++] = owned[nowned++] = m;
		else if (their_preload)
			env[k++] = (char *)their_preload;
	}
	if (cwd_mode == CWD_CURRENT &&
	    (shim_cwd_get(rel, sizeof(rel)) || shim_cwd_ghost(rel, sizeof(rel)))) {
		cwd = rel;	/* a layer path, or a ghost's absolute path */
		cwd_mode = CWD_GIVEN;
	}
	if (cwd_mode == CWD_GIVEN) {
		size_t len = strlen(cwd) + sizeof("LAYERFS_CWD=");
		char *c = malloc(len);
		if (c) {
			snprintf(c, len, "LAYERFS_CWD=%s", cwd);
			env[k++] = owned[nowned++] = c;
		}
	}
	env[k++] = NULL;
	for (size_t i = 0; i < nowned; i++)
		env[k++] = owned[i];
	env[k] = NULL;
	return env;
}

char **shim_env_fix(char *const envp[])
{
	return env_build(envp, CWD_CURRENT, NULL);
}

void shim_env_free(char **env, char *const envp[])
{
	if (env == (char **)envp)
		return;
	size_t k = 0;
	while (env[k])
		k++;
	for (char **o = env + k + 1; *o; o++)
		free(*o);
	free(env);
}

/* ---- the exec engine ------------------------------------------------ */

/*
 * Parses a "#!" line: interpreter and optional argument, in place in buf
 * (n bytes read).  Returns false when buf does not start with "#!".
 */
static bool parse_shebang(char *buf, size_t n, char **interp, char **arg)
{
	if (n < 2 || buf[0] != '#' || buf[1] != '!')
		return false;
	buf[n] = '\0';
	char *nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	char *p = buf + 2;
	while (*p == ' ' || *p == '\t')
		p++;
	*interp = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	*arg = NULL;
	if (*p) {
		*p++ = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		char *end = p + strlen(p);
		while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			*--end = '\0';
		if (*p)
			*arg = p;
	}
	return **interp != '\0';
}

/*
 * What an exec or a spawn runs, worked out once for execve, execveat,
 * fexecve and posix_spawn(p): the program resolved through the view, its
 * head read once; a "#!" script's interpreter (from the view or the host)
 * run on the script's path, as the kernel does; a program that makes its
 * own system calls put under the supervisor (layerfs-helper enter) or
 * refused.
 */
struct run {
	int fd;                  /* the program's file (ours), or -1: by path */
	int dirfd, flags;        /* path's execveat arguments when fd < 0 */
	char path[PATH_MAX];     /* fd < 0: the host path to run */
	char shown[PATH_MAX];    /* the program as named: a script's argument */
	char view[PATH_MAX];     /* fd >= 0: the program's absolute view path */
	char *const *argv;       /* what it gets */
	void *owned[2 * (MAX_INTERP_DEPTH + 1)]; /* what was allocated for it */
	int nowned;
	char trampoline[2][PATH_MAX]; /* enter's SOCK and CWD arguments' storage */
};

static void run_free(struct run *rn)
{
	if (rn->fd >= 0)
		REAL(close)(rn->fd);
	while (rn->nowned)
		free(rn->owned[--rn->nowned]);
}

/* argv with head before its first element (which it replaces when drop). */
static int run_prepend(struct run *rn, char *const *head, size_t nhead, bool drop)
{
	size_t argc = 0;

	while (rn->argv && rn->argv[argc])
		argc++;
	size_t skip = drop && argc ? 1 : 0;
	char **v = malloc((nhead + argc - skip + 1) * sizeof(char *));
	if (!v || rn->nowned == (int)(sizeof(rn->owned) / sizeof(rn->owned[0]))) {
		free(v);
		return -ENOMEM;
	}
	memcpy(v, head, nhead * sizeof(char *));
	for (size_t i = skip; i < argc; i++)
		v[nhead + i - skip] = rn->argv[i];
	v[nhead + argc - skip] = NULL;
	rn->argv = rn->owned[rn->nowned++] = v;
	return 0;
}

/*
 * A program that makes its own system calls: run through layerfs-helper
 * enter, which puts the process under the supervisor and moves it into
 * the view's working directory first; directly when it is supervised
 * already (the helper, which loads the filter after its shim started),
 * after a chdir the supervisor answers when the shim stands in the view;
 * refused (EACCES) when there is no supervisor, unless the user allowed it.
 */
static int run_own(struct run *rn, const char *why)
{
	char rel[PATH_MAX];
	bool virt = shim_cwd_get(rel, sizeof(rel));

	if (shim.sup_sock && shim.helper) {
		if (shim_supervised()) {
			/* A second filter cannot be loaded. */
			char cwd[PATH_MAX];
			if (!virt)
				return 0;
			if (shim_view_path(rel, cwd, sizeof(cwd)) < 0)
				return -ENAMETOOLONG;
			long r = REAL(syscall)(SYS_chdir, cwd, 0, 0, 0, 0, 0);
			return r < 0 ? -errno : 0;
		}
		/* The program by a path the helper can run: its view path, or
		 * the host path (through dirfd when relative to one). */
		char *prog = rn->trampoline[0], *cwd = rn->trampoline[1];
		int n = rn->fd >= 0 ? snprintf(prog, PATH_MAX, "%s", rn->view) :
			rn->path[0] == '/' || rn->dirfd == AT_FDCWD ?
			snprintf(prog, PATH_MAX, "%s", rn->path) :
			snprintf(prog, PATH_MAX, "/proc/self/fd/%d/%s", rn->dirfd, rn->path);
		if (n < 0 || n >= PATH_MAX)
			return -ENAMETOOLONG;
		cwd[0] = '\0';
		if (virt && shim_view_path(rel, cwd, PATH_MAX) < 0)
			return -ENAMETOOLONG;
		char *head[] = { (char *)"layerfs-helper", (char *)"enter", (char *)shim.sup_sock,
				 cwd, prog };
		int r = run_prepend(rn, head, 5, false);
		if (r < 0)
			return r;
		if (rn->fd >= 0)
			REAL(close)(rn->fd);
		rn->fd = -1;
		rn->dirfd = AT_FDCWD;
		rn->flags = 0;
		snprintf(rn->path, sizeof(rn->path), "%s", shim.helper);
		return 0;
	}
	char msg[PATH_MAX + 256];
	int n = snprintf(msg, sizeof(msg), "layerfs: %s is %s: it makes its own system calls, "
			 "which %s\n", rn->shown, why, shim.unsupervised ?
			 "bypass the view" : "only the launcher's supervisor sees: not run "
			 "(layerfs run --allow-unsupervised runs it anyway)");
	if (n > 0 && write(2, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg)) < 0)
		n = 0;
	return shim.unsupervised ? 0 : -EACCES;
}

/*
 * Works out what exec of (dirfd, path) runs into rn (see struct run): 0
 * or -errno, as execve would fail.  flags: execveat's.
 */
static int run_plan(int dirfd, const char *path, int flags, char *const argv[], struct run *rn)
{
	unsigned char head[LYR_EXEC_HEAD + 1];
	struct vpath vp;
	struct stat st;
	int r;

	rn->fd = -1;
	rn->nowned = 0;
	rn->argv = argv;
	if ((r = shim_path_err(path)) < 0)
		return r; /* a path the kernel cannot read: its EFAULT */
	for (int depth = 0;; depth++) {
		rn->dirfd = dirfd;
		rn->flags = flags;
		snprintf(rn->shown, sizeof(rn->shown), "%s", path);
		if (!shim_maybe_virtual(dirfd, path)) {
			r = VP_HOST;
			snprintf(vp.f.path, sizeof(vp.f.path), "%s", path);
		} else if ((r = shim_resolve(dirfd, path, ((flags & AT_SYMLINK_NOFOLLOW) ? 0 :
				SR_FOLLOW) | ((flags & AT_EMPTY_PATH) ? SR_EMPTY : 0), &vp)) < 0) {
			return r;
		}
		ssize_t n = -1;
		if (r == VP_HOST) {
			snprintf(rn->path, sizeof(rn->path), "%s", vp.f.path);
			/* One read serves the "#!" line and what the program is. */
			int fd = (flags & AT_EMPTY_PATH) && !*path ? -1 :
				 REAL(openat)(dirfd, vp.f.path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				n = pread(fd, head, LYR_EXEC_HEAD, 0);
				REAL(close)(fd);
			} else if ((flags & AT_EMPTY_PATH) && !*path) {
				n = pread(dirfd, head, LYR_EXEC_HEAD, 0); /* fexecve */
			}
		} else {
			if ((r = shim_vpath_stat(&vp, &st)) < 0)
				return r;
			if (S_ISLNK(st.st_mode))
				return -ELOOP; /* AT_SYMLINK_NOFOLLOW */
			if (!S_ISREG(st.st_mode))
				return -EACCES;
			if ((r = lyr_may_access(&st, X_OK, true)) < 0)
				return r;
			int err;
			struct lyr_layer *fs = shim_enter(&err);
			if (!fs)
				return -err;
			rn->fd = (int)shim_leave(lyr_open(fs, vp.f.path, O_RDONLY | O_CLOEXEC, 0),
						 "exec", vp.f.path);
			if (rn->fd < 0)
				return rn->fd;
			if ((r = shim_view_path(vp.f.path, rn->view, sizeof(rn->view))) < 0)
				return r;
			n = pread(rn->fd, head, LYR_EXEC_HEAD, 0);
		}
		const char *why = NULL;
		int kind = n > 0 ? lyr_exec_kind(head, (size_t)n, &why) : LYR_EXEC_UNKNOWN;
		if (kind == LYR_EXEC_OWN)
			return run_own(rn, why);
		if (kind != LYR_EXEC_SCRIPT)
			return r == VP_VIRT && kind == LYR_EXEC_UNKNOWN ? -ENOEXEC : 0;
		/* A script: its interpreter, with the script's path as the
		 * argument after the interpreter's own. */
		char *interp, *arg;
		if (depth == MAX_INTERP_DEPTH)
			return -ELOOP;
		if (!parse_shebang((char *)head, (size_t)n, &interp, &arg))
			return -ENOEXEC;
		/* [interp, arg?, script, argv[1..]]: interp and arg live in
		 * head, which the next round overwrites: kept in one string. */
		size_t ni = strlen(interp) + 1, na = arg ? strlen(arg) + 1 : 0;
		size_t ns = strlen(rn->shown) + 1;
		char *keep = malloc(ni + na + ns);
		if (!keep)
			return -ENOMEM;
		rn->owned[rn->nowned++] = keep;
		memcpy(keep, interp, ni);
		memcpy(keep + ni, arg ? arg : "", na);
		memcpy(keep + ni + na, rn->shown, ns);
		char *nh[3] = { keep, keep + ni, keep + ni + na };
		if (!arg)
			nh[1] = nh[2];
		if ((r = run_prepend(rn, nh, arg ? 3 : 2, true)) < 0)
			return r;
		if (rn->fd >= 0)
			REAL(close)(rn->fd);
		rn->fd = -1;
		path = keep;
		dirfd = AT_FDCWD;
		flags = 0;
	}
}

/* Runs rn (execveat); returns -errno on failure. */
static int run_exec(const struct run *rn, char **env)
{
	if (rn->fd >= 0)
		REAL(execveat)(rn->fd, "", rn->argv, env, AT_EMPTY_PATH);
	else
		REAL(execveat)(rn->dirfd, rn->path, rn->argv, env, rn->flags);
	return -errno;
}

static int vexecveat(int dirfd, const char *path, char *const argv[], char **env, int flags)
{
	struct run rn;
	int r = run_plan(dirfd, path, flags, argv, &rn);

	if (r == 0)
		r = run_exec(&rn, env);
	run_free(&rn);
	return r;
}

SHIM_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	SHIM_OPAQUE(path);
	if (!path || !shim.mnt.len) {
		shim_ensure_configured();
		if (!shim.mnt.len)
			return REAL(execve)(path, argv, envp);
	}
	char **env = shim_env_fix(envp);
	int r = vexecveat(AT_FDCWD, path, argv, env, 0);
	shim_env_free(env, envp);
	return (int)shim_ret(r);
}

SHIM_EXPORT int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

SHIM_EXPORT int execveat(int dirfd, const char *path, char *const argv[],
			 char *const envp[], int flags)
{
	SHIM_OPAQUE(path);
	shim_ensure_configured();
	if (!path || !shim.mnt.len)
		return REAL(execveat)(dirfd, path, argv, envp, flags);
	char **env = shim_env_fix(envp);
	int r = vexecveat(dirfd, path, argv, env, flags);
	shim_env_free(env, envp);
	return (int)shim_ret(r);
}

SHIM_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	SHIM_OPAQUE(argv);
	SHIM_OPAQUE(envp);
	if (fd < 0 || !argv || !envp)
		return (int)shim_ret(-EINVAL); /* as glibc checks first */
	return execveat(fd, "", argv, envp, AT_EMPTY_PATH);
}

/* execvpe's PATH search, through the wrappers; ENOEXEC runs /bin/sh. */
SHIM_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	SHIM_OPAQUE(file);
	if (!file || !*file)
		return (int)shim_ret(-ENOENT);
	shim_ensure_configured();
	if (!shim.mnt.len)
		return REAL(execvpe)(file, argv, envp);
	if (strchr(file, '/')) {
		execve(file, argv, envp);
		goto noexec;
	}
	const char *path = getenv("PATH");
	if (!path)
		path = "/bin:/usr/bin";
	size_t flen = strlen(file);
	bool eacces = false;
	for (const char *p = path;; ) {
		const char *end = strchrnul(p, ':');
		char cand[PATH_MAX];
		size_t dlen = (size_t)(end - p);
		if (dlen + flen + 2 <= sizeof(cand)) {
			if (dlen == 0)
				snprintf(cand, sizeof(cand), "%s", file);
			else
				snprintf(cand, sizeof(cand), "%.*s/%s", (int)dlen, p, file);
			execve(cand, argv, envp);
			if (errno == ENOEXEC) {
				file = cand;
				goto noexec_cand;
			}
			if (errno == EACCES)
				eacces = true;
			else if (errno != ENOENT && errno != ENOTDIR && errno != ESTALE &&
				 errno != ENODEV && errno != ETIMEDOUT)
				return -1;
		}
		if (!*end)
			break;
		p = end + 1;
	}
	errno = eacces ? EACCES : ENOENT;
	return -1;
noexec:
	if (errno != ENOEXEC)
		return -1;
noexec_cand: {
	size_t argc = 0;
	SHIM_OPAQUE(argv);
	while (argv && argv[argc])
		argc++;
	char **nargv = malloc((argc + 2) * sizeof(char *));
	if (!nargv)
		return (int)shim_ret(-ENOMEM);
	nargv[0] = (char *)"/bin/sh";
	nargv[1] = (char *)file;
	for (size_t i = 1; i < argc; i++)
		nargv[i + 1] = argv[i];
	nargv[argc < 1 ? 2 : argc + 1] = NULL;
	execve("/bin/sh", nargv, envp);
	int e = errno;
	free(nargv);
	errno = e;
	return -1;
	}
}

SHIM_EXPORT int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

/* Collects execl-style arguments into an argv on the heap. */
static char **collect_args(const char *arg, va_list ap, char ***envp)
{
	size_t n = 1, cap = 16;
	char **v = malloc(cap * sizeof(char *));

	if (!v)
		return NULL;
	v[0] = (char *)arg;
	while (arg) {
		arg = va_arg(ap, const char *);
		if (n + 1 >= cap) {
			cap *= 2;
			char **nv = realloc(v, cap * sizeof(char *));
			if (!nv) {
				free(v);
				return NULL;
			}
			v = nv;
		}
		v[n++] = (char *)arg;
	}
	if (envp)
		*envp = va_arg(ap, char **);
	return v;
}

#define EXECL_BODY(call, want_env) \
	va_list ap; \
	char **envp = environ; \
	va_start(ap, arg); \
	char **argv = collect_args(arg, ap, want_env ? &envp : NULL); \
	va_end(ap); \
	if (!argv) { \
		errno = ENOMEM; \
		return -1; \
	} \
	call; \
	int e = errno; \
	free(argv); \
	errno = e; \
	return -1;

SHIM_EXPORT int execl(const char *path, const char *arg, ...)
{
	EXECL_BODY(execve(path, argv, envp), false)
}

SHIM_EXPORT int execle(const char *path, const char *arg, ...)
{
	EXECL_BODY(execve(path, argv, envp), true)
}

SHIM_EXPORT int execlp(const char *file, const char *arg, ...)
{
	EXECL_BODY(execvpe(file, argv, envp), false)
}

/* ---- posix_spawn ---------------------------------------------------- */

/*
 * File actions naming view paths cannot run in the child (glibc's child
 * calls internal functions), so they are done here: addopen of a view path
 * opens it now and adds a dup2; addchdir into the view sets the child's
 * LAYERFS_CWD.  The notes live in a small table keyed by the actions.
 */
struct fa_note {
	const posix_spawn_file_actions_t *fa;
	int fds[16];          /* opened here, closed on destroy */
	int nfds;
	int cwd_mode;         /* CWD_CURRENT, or a chdir action's CWD_GIVEN/NONE */
	char cwd[PATH_MAX];   /* CWD_GIVEN: the child's virtual cwd */
	struct fa_note *next;
};

static struct fa_note *fa_notes;
static pthread_mutex_t fa_lock = PTHREAD_MUTEX_INITIALIZER;

/* Caller holds fa_lock. */
static struct fa_note *fa_find(const posix_spawn_file_actions_t *fa, bool create)
{
	for (struct fa_note *n = fa_notes; n; n = n->next)
		if (n->fa == fa)
			return n;
	if (!create)
		return NULL;
	struct fa_note *n = calloc(1, sizeof(*n));
	if (n) {
		n->fa = fa;
		n->next = fa_notes;
		fa_notes = n;
	}
	return n;
}

SHIM_EXPORT int posix_spawn_file_actions_addopen(posix_spawn_file_actions_t *fa, int fd,
						 const char *path, int flags, mode_t mode)
{
	if (!shim_maybe_virtual(AT_FDCWD, path))
		return REAL(posix_spawn_file_actions_addopen)(fa, fd, path, flags, mode);
	int pfd = open(path, flags | O_CLOEXEC, mode);
	if (pfd < 0)
		return errno;
	pthread_mutex_lock(&fa_lock);
	struct fa_note *n = fa_find(fa, true);
	int r = ENOMEM;
	if (n && n->nfds < (int)(sizeof(n->fds) / sizeof(n->fds[0]))) {
		n->fds[n->nfds++] = pfd;
		r = posix_spawn_file_actions_adddup2(fa, pfd, fd);
	}
	pthread_mutex_unlock(&fa_lock);
	if (r)
		close(pfd);
	return r;
}

static int fa_chdir_note(posix_spawn_file_actions_t *fa, const char *layer_path)
{
	pthread_mutex_lock(&fa_lock);
	struct fa_note *n = fa_find(fa, true);
	if (n) {
		snprintf(n->cwd, sizeof(n->cwd), "%s", layer_path ? layer_path : "");
		n->cwd_mode = layer_path ? CWD_GIVEN : CWD_NONE;
	}
	pthread_mutex_unlock(&fa_lock);
	return n ? 0 : ENOMEM;
}

SHIM_EXPORT int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *fa,
						     const char *path)
{
	struct vpath vp;

	if (!shim_maybe_virtual(AT_FDCWD, path)) {
		int r = REAL(posix_spawn_file_actions_addchdir_np)(fa, path);
		return r ? r : shim.mnt.len ? fa_chdir_note(fa, NULL) : 0;
	}
	int r = shim_resolve(AT_FDCWD, path, SR_FOLLOW, &vp);
	if (r < 0)
		return -r;
	if (r == VP_HOST) {
		r = REAL(posix_spawn_file_actions_addchdir_np)(fa, vp.f.path);
		return r ? r : fa_chdir_note(fa, NULL);
	}
	/* The child cannot fail its chdir into the view: the errors it would
	 * give come now (as addopen's do). */
	struct stat st;
	if ((r = shim_vstat(vp.f.path, &st)) < 0)
		return -r;
	if (!S_ISDIR(st.st_mode))
		return ENOTDIR;
	return fa_chdir_note(fa, vp.f.path);
}

SHIM_EXPORT int posix_spawn_file_actions_addfchdir_np(posix_spawn_file_actions_t *fa, int fd)
{
	if (!shim_fd_is_virtual(fd)) {
		int r = REAL(posix_spawn_file_actions_addfchdir_np)(fa, fd);
		return r ? r : shim.mnt.len ? fa_chdir_note(fa, NULL) : 0;
	}
	struct vfile *vf = shim_fd_get(fd);
	if (!vf)
		return EBADF;
	int r = (shim_vf_flags(vf) & VF_DIR) ? fa_chdir_note(fa, shim_vf_path(vf)) : ENOTDIR;
	shim_vfile_put(vf);
	return r;
}

SHIM_EXPORT int posix_spawn_file_actions_destroy(posix_spawn_file_actions_t *fa)
{
	pthread_mutex_lock(&fa_lock);
	for (struct fa_note **p = &fa_notes; *p; p = &(*p)->next) {
		struct fa_note *n = *p;
		if (n->fa != fa)
			continue;
		for (int i = 0; i < n->nfds; i++)
			close(n->fds[i]);
		*p = n->next;
		free(n);
		break;
	}
	pthread_mutex_unlock(&fa_lock);
	return REAL(posix_spawn_file_actions_destroy)(fa);
}

/* The child's environment: fixed, with the cwd a chdir action asked for. */
static char **spawn_env(const posix_spawn_file_actions_t *fa, char *const envp[])
{
	char rel[PATH_MAX];
	int mode = CWD_CURRENT;

	if (fa) {
		pthread_mutex_lock(&fa_lock);
		struct fa_note *n = fa_find(fa, false);
		if (n && n->cwd_mode != CWD_CURRENT) {
			snprintf(rel, sizeof(rel), "%s", n->cwd);
			mode = n->cwd_mode;
		}
		pthread_mutex_unlock(&fa_lock);
	}
	return env_build(envp, mode, rel);
}

static int vspawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		  const posix_spawnattr_t *attr, char *const argv[], char *const envp[],
		  bool search)
{
	char **env = spawn_env(fa, envp);
	struct run rn;
	int r;

	if (search) {
		r = REAL(posix_spawnp)(pid, path, fa, attr, argv, env);
	} else if (!(r = -run_plan(AT_FDCWD, path, 0, argv, &rn))) {
		/* The child runs what the exec engine found: the view's file
		 * through /proc, the host's by path. */
		char proc[64];
		if (rn.fd >= 0)
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d", rn.fd);
		r = REAL(posix_spawn)(pid, rn.fd >= 0 ? proc : rn.path, fa, attr, rn.argv, env);
	}
	if (!search)
		run_free(&rn);
	shim_env_free(env, envp);
	return r;
}

SHIM_EXPORT int posix_spawn(pid_t *pid, const char *path,
			    const posix_spawn_file_actions_t *fa,
			    const posix_spawnattr_t *attr, char *const argv[],
			    char *const envp[])
{
	shim_ensure_configured();
	if (!shim.mnt.len)
		return REAL(posix_spawn)(pid, path, fa, attr, argv, envp);
	return vspawn(pid, path, fa, attr, argv, envp, false);
}

/* PATH search through the view for posix_spawnp: the first candidate that
 * exists and is executable, as execvp would pick. */
static const char *spawn_search(const char *file, char *buf, size_t size)
{
	const char *path = getenv("PATH");

	if (!path)
		path = "/bin:/usr/bin";
	for (const char *p = path;; ) {
		const char *end = strchrnul(p, ':');
		int dlen = (int)(end - p);
		int n = dlen ? snprintf(buf, size, "%.*s/%s", dlen, p, file) :
			       snprintf(buf, size, "%s", file);
		struct stat st;
		if (n > 0 && (size_t)n < size && stat(buf, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(buf, X_OK) == 0)
			return buf;
		if (!*end)
			return NULL;
		p = end + 1;
	}
}

SHIM_EXPORT int posix_spawnp(pid_t *pid, const char *file,
			     const posix_spawn_file_actions_t *fa,
			     const posix_spawnattr_t *attr, char *const argv[],
			     char *const envp[])
{
	char buf[PATH_MAX];

	shim_ensure_configured();
	/* A name the shim cannot read is glibc's to answer, as without it. */
	if (!shim.mnt.len || shim_path_err(file) == -EFAULT)
		return REAL(posix_spawnp)(pid, file, fa, attr, argv, envp);
	if (strchr(file, '/'))
		return vspawn(pid, file, fa, attr, argv, envp, false);
	const char *found = spawn_search(file, buf, sizeof(buf));
	return vspawn(pid, found ? found : file, fa, attr, argv, envp, !found);
}

/* ---- system and popen ----------------------------------------------- */

SHIM_EXPORT int system(const char *cmd)
{
	shim_ensure_configured();
	if (!shim.mnt.len)
		return REAL(system)(cmd);
	if (!cmd)
		return access("/bin/sh", X_OK) == 0;

	struct sigaction ign = { .sa_handler = SIG_IGN }, oint, oquit;
	sigset_t chld, omask;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGINT, &ign, &oint);
	sigaction(SIGQUIT, &ign, &oquit);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &omask);

	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	sigset_t def;
	sigemptyset(&def);
	if (oint.sa_handler != SIG_IGN)
		sigaddset(&def, SIGINT);
	if (oquit.sa_handler != SIG_IGN)
		sigaddset(&def, SIGQUIT);
	posix_spawnattr_setsigdefault(&attr, &def);
	posix_spawnattr_setsigmask(&attr, &omask);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

	char *argv[] = { (char *)"sh", (char *)"-c", (char *)cmd, NULL };
	pid_t pid;
	int status = -1;
	int r = posix_spawn(&pid, "/bin/sh", NULL, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	if (r == 0) {
		while (waitpid(pid, &status, 0) < 0) {
			if (errno != EINTR) {
				status = -1;
				break;
			}
		}
	} else {
		status = 127 << 8;
	}
	int e = errno;
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGQUIT, &oquit, NULL);
	sigprocmask(SIG_SETMASK, &omask, NULL);
	errno = e;
	return status;
}

struct popen_ent {
	FILE *f;
	pid_t pid;
	struct popen_ent *next;
};
static struct popen_ent *popen_list;
static pthread_mutex_t popen_lock = PTHREAD_MUTEX_INITIALIZER;

SHIM_EXPORT FILE *popen(const char *cmd, const char *mode)
{
	shim_ensure_configured();
	if (!shim.mnt.len)
		return REAL(popen)(cmd, mode);
	bool rd = mode[0] == 'r', cloexec = strchr(mode, 'e') != NULL;
	if ((mode[0] != 'r' && mode[0] != 'w') || (mode[1] && mode[1] != 'e')) {
		errno = EINVAL;
		return NULL;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return NULL;
	int mine = rd ? p[0] : p[1], theirs = rd ? p[1] : p[0];
	int target = rd ? STDOUT_FILENO : STDIN_FILENO;

	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (theirs != target)
		posix_spawn_file_actions_adddup2(&fa, theirs, target);
	else
		REAL(fcntl)(theirs, F_SETFD, 0);
	/* POSIX: streams from earlier popen calls are closed in the child. */
	pthread_mutex_lock(&popen_lock);
	for (struct popen_ent *e = popen_list; e; e = e->next) {
		int ofd = fileno(e->f);
		if (ofd >= 0 && ofd != target)
			posix_spawn_file_actions_addclose(&fa, ofd);
	}
	pthread_mutex_unlock(&popen_lock);

	char *argv[] = { (char *)"sh", (char *)"-c", (char *)cmd, NULL };
	pid_t pid;
	int r = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	REAL(close)(theirs);
	if (r != 0) {
		REAL(close)(mine);
		errno = r;
		return NULL;
	}
	if (!cloexec)
		REAL(fcntl)(mine, F_SETFD, 0);
	FILE *f = REAL(fdopen)(mine, rd ? "r" : "w");
	struct popen_ent *e = f ? malloc(sizeof(*e)) : NULL;
	if (!e) {
		if (f)
			REAL(fclose)(f);
		else
			REAL(close)(mine);
		waitpid(pid, NULL, 0);
		errno = ENOMEM;
		return NULL;
	}
	e->f = f;
	e->pid = pid;
	pthread_mutex_lock(&popen_lock);
	e->next = popen_list;
	popen_list = e;
	pthread_mutex_unlock(&popen_lock);
	return f;
}

SHIM_EXPORT int pclose(FILE *f)
{
	struct popen_ent *e = NULL;

	pthread_mutex_lock(&popen_lock);
	for (struct popen_ent **p = &popen_list; *p; p = &(*p)->next) {
		if ((*p)->f == f) {
			e = *p;
			*p = e->next;
			break;
		}
	}
	pthread_mutex_unlock(&popen_lock);
	if (!e)
		return REAL(pclose)(f);
	pid_t pid = e->pid;
	free(e);
	REAL(fclose)(f);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

/* ---- fork ----------------------------------------------------------- */

SHIM_EXPORT pid_t fork(void)
{
	return REAL(fork)();
}

/* Run as fork: the exec wrappers allocate and take locks. */
SHIM_EXPORT pid_t vfork(void)
{
	return REAL(fork)();
}
