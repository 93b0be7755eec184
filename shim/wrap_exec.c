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
	return strncmp(e, "LAYERFS_", 8) == 0 || env_is(e, "LD_PRELOAD");
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
	if (cwd_mode == CWD_CURRENT && shim_cwd_get(rel, sizeof(rel))) {
		cwd = rel;
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

/* ---- what a file is ------------------------------------------------- */

/* Warns once per process about a statically linked program. */
static void warn_static(const char *path, const unsigned char *buf, size_t n)
{
	static int warned;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;

	if (warned || n < sizeof(*eh) || memcmp(buf, ELFMAG, SELFMAG) != 0 ||
	    buf[EI_CLASS] != ELFCLASS64 || eh->e_phentsize != sizeof(Elf64_Phdr))
		return;
	bool interp = false, dynamic = false;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		size_t off = eh->e_phoff + (size_t)i * sizeof(Elf64_Phdr);
		if (off + sizeof(Elf64_Phdr) > n)
			return;	/* headers beyond what we read: don't guess */
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(buf + off);
		interp |= ph->p_type == PT_INTERP;
		dynamic |= ph->p_type == PT_DYNAMIC;
	}
	if (interp || (eh->e_type == ET_DYN && dynamic))
		return;
	warned = 1;
	char msg[PATH_MAX + 128];
	int len = snprintf(msg, sizeof(msg),
			   "layerfs: warning: %s is statically linked: its file accesses "
			   "bypass layerfs\n", path);
	if (len > 0 && write(2, msg, (size_t)len < sizeof(msg) ? (size_t)len : sizeof(msg)) < 0)
		return;
}

/*
 * Parses a "#!" line: interpreter and optional argument, in place in buf.
 * Returns false when buf does not start with "#!".
 */
static bool parse_shebang(char *buf, size_t n, char **interp, char **arg)
{
	if (n < 2 || buf[0] != '#' || buf[1] != '!')
		return false;
	buf[n < 256 ? n : 255] = '\0';
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

/* ---- exec ----------------------------------------------------------- */

static int vexecve_depth(const char *path, char *const argv[], char **env, int depth);

/* Runs a script's interpreter: argv becomes [interp, arg?, script, argv[1..]]. */
static int exec_script(const char *script, char *interp, char *arg, char *const argv[],
		       char **env, int depth)
{
	size_t argc = 0;

	if (depth >= MAX_INTERP_DEPTH)
		return -ELOOP;
	while (argv && argv[argc])
		argc++;
	char **nargv = malloc((argc + 4) * sizeof(char *));
	if (!nargv)
		return -ENOMEM;
	size_t k = 0;
	nargv[k++] = interp;
	if (arg)
		nargv[k++] = arg;
	nargv[k++] = (char *)script;
	for (size_t i = 1; i < argc; i++)
		nargv[k++] = argv[i];
	nargv[k] = NULL;
	int r = vexecve_depth(interp, nargv, env, depth + 1);
	free(nargv);
	return r;
}

/* A file in the view: check, read its head, run it.  Returns -errno. */
/* May the file at layer_path (shown: its view path) be executed?  0 or
 * the -errno execve gives. */
static int exec_check(const char *layer_path, const char *shown)
{
	struct stat st;
	int r = shim_vstat(layer_path, &st);

	if (r < 0)
		return r;
	if (!S_ISREG(st.st_mode))
		return -EACCES;
	if (faccessat(AT_FDCWD, shown, X_OK, AT_EACCESS) < 0)
		return -errno;
	return 0;
}

static int exec_view(const char *layer_path, const char *shown, char *const argv[],
		     char **env, int depth)
{
	unsigned char head[4096];
	int r = exec_check(layer_path, shown);

	if (r < 0)
		return r;
	int err;
	struct lyr_layer *fs = shim_enter(&err);
	int fd = fs ? (int)shim_leave(lyr_open(fs, layer_path, O_RDONLY | O_CLOEXEC, 0),
				      "exec", layer_path) : -err;
	if (fd < 0)
		return fd;
	ssize_t n = pread(fd, head, sizeof(head) - 1, 0);
	if (n < 0) {
		r = -errno;
		goto out_close;
	}
	char *interp, *arg;
	if (parse_shebang((char *)head, (size_t)n, &interp, &arg)) {
		REAL(close)(fd);
		return exec_script(shown, interp, arg, argv, env, depth);
	}
	if (n < 4 || memcmp(head, ELFMAG, SELFMAG) != 0) {
		r = -ENOEXEC;
		goto out_close;
	}
	warn_static(shown, head, (size_t)n);
	REAL(execveat)(fd, "", argv, env, AT_EMPTY_PATH);
	r = -errno;
out_close:
	REAL(close)(fd);
	return r;
}

/* A host file: the kernel runs it, unless its interpreter is in the view. */
static int exec_host(int dirfd, const char *path, char *const argv[], char **env,
		     int depth, int flags)
{
	unsigned char head[4096];

	if (shim.mnt.len) {
		/* One read serves the "#!" line and the static-binary check. */
		int fd = REAL(openat)(dirfd, path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = pread(fd, head, sizeof(head) - 1, 0);
			REAL(close)(fd);
			char *interp, *arg;
			if (n > 0 && parse_shebang((char *)head, (size_t)n, &interp, &arg)) {
				if (shim_maybe_virtual(AT_FDCWD, interp) && dirfd == AT_FDCWD)
					return exec_script(path, interp, arg, argv, env, depth);
			} else if (n > 0) {
				warn_static(path, head, (size_t)n);
			}
		}
	}
	REAL(execveat)(dirfd, path, argv, env, flags);
	return -errno;
}

static int vexecve_depth(const char *path, char *const argv[], char **env, int depth)
{
	struct vpath vp;

	if (!shim_maybe_virtual(AT_FDCWD, path))
		return exec_host(AT_FDCWD, path, argv, env, depth, 0);
	int r = shim_resolve(AT_FDCWD, path, SR_FOLLOW, &vp);
	if (r < 0)
		return r;
	if (r == VP_HOST)
		return exec_host(AT_FDCWD, vp.f.path, argv, env, depth, 0);
	return exec_view(vp.f.path, path, argv, env, depth);
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
	int r = vexecve_depth(path, argv, env, 0);
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
	struct vpath vp;

	if (!shim_maybe_virtual(dirfd, path)) {
		char **env = shim_env_fix(envp);
		int r = REAL(execveat)(dirfd, path, argv, env, flags);
		int e = errno;
		shim_env_free(env, envp);
		errno = e;
		return r;
	}
	int r = shim_resolve(dirfd, path, ((flags & AT_SYMLINK_NOFOLLOW) ? 0 : SR_FOLLOW) |
			     ((flags & AT_EMPTY_PATH) ? SR_EMPTY : 0), &vp);
	struct stat st;
	/* AT_SYMLINK_NOFOLLOW: a symlink is not run, as Linux says ELOOP. */
	if (r == VP_VIRT && (flags & AT_SYMLINK_NOFOLLOW) && shim_vstat(vp.f.path, &st) == 0 &&
	    S_ISLNK(st.st_mode))
		r = -ELOOP;
	if (r >= 0) {
		char full[PATH_MAX];
		char **env = shim_env_fix(envp);
		if (r == VP_HOST)
			r = exec_host(dirfd, vp.f.path, argv, env, 0, flags);
		else if ((r = shim_view_path(vp.f.path, full, sizeof(full))) >= 0)
			r = exec_view(vp.f.path, full, argv, env, 0);
		shim_env_free(env, envp);
	}
	return (int)shim_ret(r);
}

SHIM_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	char **env = shim_env_fix(envp);
	int r = REAL(fexecve)(fd, argv, env);
	int e = errno;

	shim_env_free(env, envp);
	errno = e;
	return r;
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
	struct vpath vp;
	char proc[64];
	const char *run = path;
	char *const *args = argv;
	char **nargv = NULL;
	int fd = -1, r;

	if (!search || strchr(path, '/')) {
		if (shim_maybe_virtual(AT_FDCWD, path)) {
			r = shim_resolve(AT_FDCWD, path, SR_FOLLOW, &vp);
			if (r < 0) {
				r = -r;
				goto out;
			}
			if (r == VP_HOST) {
				run = vp.f.path;
			} else {
				unsigned char head[256];
				if ((r = exec_check(vp.f.path, path)) < 0) {
					r = -r;
					goto out;
				}
				int err;
				struct lyr_layer *fs = shim_enter(&err);
				fd = fs ? (int)shim_leave(lyr_open(fs, vp.f.path,
								   O_RDONLY | O_CLOEXEC, 0),
							  "spawn", vp.f.path) : -err;
				if (fd < 0) {
					r = -fd;
					goto out;
				}
				ssize_t n = pread(fd, head, sizeof(head) - 1, 0);
				char *interp, *arg;
				if (n > 0 && parse_shebang((char *)head, (size_t)n, &interp, &arg)) {
					size_t argc = 0;
					while (argv && argv[argc])
						argc++;
					nargv = malloc((argc + 4) * sizeof(char *));
					if (!nargv) {
						r = ENOMEM;
						goto out;
					}
					size_t k = 0;
					nargv[k++] = interp;
					if (arg)
						nargv[k++] = arg;
					nargv[k++] = (char *)path;
					for (size_t i = 1; i < argc; i++)
						nargv[k++] = argv[i];
					nargv[k] = NULL;
					args = nargv;
					r = vspawn(pid, interp, fa, attr, nargv, env, false);
					goto out;
				}
				snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
				run = proc;
			}
		}
		r = REAL(posix_spawn)(pid, run, fa, attr, args, env);
		goto out;
	}
	r = REAL(posix_spawnp)(pid, path, fa, attr, args, env);
out:
	if (fd >= 0)
		REAL(close)(fd);
	free(nargv);
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
	if (!shim.mnt.len)
		return REAL(posix_spawnp)(pid, file, fa, attr, argv, envp);
	if (strchr(file, '/'))
		return vspawn(pid, file, fa, attr, argv, envp, false);
	const char *found = spawn_search(file, buf, sizeof(buf));
	if (found && shim_maybe_virtual(AT_FDCWD, found))
		return vspawn(pid, found, fa, attr, argv, envp, false);
	return vspawn(pid, file, fa, attr, argv, envp, true);
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
