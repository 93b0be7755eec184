/* SPDX-License-Identifier: MIT */
/*
 * init.c - configuration, start-up and tracing.
 *
 * Start-up has two steps, both lazy and thread-safe, because libraries a
 * program links (libselinux) call wrapped functions before our constructor:
 *   shim_configure() reads the environment once into `shim` (no I/O that a
 *     wrapper would see): after it, the passthrough test works;
 *   shim_fs() opens the layers and the union on the first virtual call.
 * The environment is never read again, so programs that clear or rewrite
 * theirs keep the view, and their children get it back (wrap_exec.c).
 *
 * The first process of a tree (the one started without LAYERFS_CHECKED)
 * opens the layers in its constructor, so that a configuration that cannot
 * be used is reported at once, in one message.  It then hands its children
 * LAYERFS_CHECKED=ok:HASH (or failed:HASH once it has said why not), HASH
 * being a fingerprint of the configuration; a child whose configuration
 * has that fingerprint opens the layers only on its first virtual call,
 * so a process that never looks under the mount point pays nothing for
 * them, and stays silent when an ancestor already reported the failure.
 *
 * Environment:
 *   LAYERFS_MOUNT      absolute mount point (need not exist on the host)
 *   LAYERFS_LOWER      lower layers, topmost first, separated by ':'
 *                      ("\:" for a ':' in a name): archives or directories
 *   LAYERFS_UPPER      a host directory, or "mem" (this process only; the
 *                      default)
 *   LAYERFS_SEMANTICS  "read-only" (default) or "writable-files"
 *   LAYERFS_CACHE      index and content cache directory
 *   LAYERFS_TRACE      file that receives one line per virtual operation
 *   LAYERFS_CWD        (set by the shim for children) virtual working dir:
 *                      a layer path, or a ghost's absolute path
 *   LAYERFS_SUPERVISOR (set by the launcher) the supervisor's socket, and
 *   LAYERFS_HELPER     the helper that puts a program under it
 *   LAYERFS_UNSUPERVISED  "1": run programs that make their own system
 *                      calls even without a supervisor (wrap_exec.c)
 */
#include "real.h"

#include <dlfcn.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/syscall.h>

struct shim_state shim = { .trace_fd = -1 };
__thread int shim_depth;
static __thread int enter_errno;

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
enum { E_MOUNT, E_LOWER, E_UPPER, E_SEMANTICS, E_CACHE, E_TRACE, E_COUNT };
static const char *const env_names[E_COUNT] = {
	"LAYERFS_MOUNT", "LAYERFS_LOWER", "LAYERFS_UPPER", "LAYERFS_SEMANTICS",
	"LAYERFS_CACHE", "LAYERFS_TRACE",
};
/* Set by the launcher, kept like the above. */
static const char *const sup_names[] = {
	"LAYERFS_SUPERVISOR", "LAYERFS_HELPER", "LAYERFS_UNSUPERVISED",
};
static char *cfg_lower, *cfg_upper, *cfg_cache;
static unsigned cfg_union_flags;

/* What LAYERFS_CHECKED says about this configuration (see the top). */
enum { CHECKED_NONE, CHECKED_OK, CHECKED_FAILED };
static int cfg_checked;
static uint64_t cfg_hash;
static int mark_slot = -1;	/* LAYERFS_CHECKED's entry in shim.env_keep */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	int n = snprintf(buf, sizeof(buf), "layerfs: ");

	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(2, buf, (size_t)n) < 0)
		return;
}

/*
 * Memory for what the configuration keeps for the life of the process
 * (never freed), never from the program's malloc.  An allocator such as
 * jemalloc or mimalloc calls readlink, open or getenv while it sets itself
 * up, holding its own lock; the first wrapped call configures the shim,
 * and a malloc there would wait on that lock (or on the shim's own
 * pthread_once) forever.  NULL when there is no memory.
 */
static char *keep_alloc(size_t n)
{
	static char pool[32768] __attribute__((aligned(16)));
	static size_t used;

	n = (n + 15) & ~(size_t)15;
	size_t at = __atomic_fetch_add(&used, n, __ATOMIC_RELAXED);
	if (at <= sizeof(pool) && n <= sizeof(pool) - at)
		return pool + at;
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static char *keep_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = keep_alloc(n);

	return d ? memcpy(d, s, n) : NULL;
}

/* Moves an internal fd above the range programs use. */
static int fd_move_high(int fd)
{
	int hi = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, 900);
	if (hi < 0)
		return fd;
	REAL(close)(fd);
	return hi;
}

/* Adds NAME=value to what children get; returns its slot, -1 when full. */
static int keep_env(const char *name, const char *value)
{
	size_t n = strlen(name) + strlen(value) + 2;

	if (shim.nenv_keep == (int)(sizeof(shim.env_keep) / sizeof(shim.env_keep[0])))
		return -1;
	char *s = keep_alloc(n);
	if (!s)
		return -1;
	snprintf(s, n, "%s=%s", name, value);
	shim.env_keep[shim.nenv_keep] = s;
	return shim.nenv_keep++;
}

static bool env_is_one_of(const char *e, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(names[i]);
		if (strncmp(e, names[i], len) == 0 && e[len] == '=')
			return true;
	}
	return false;
}

/*
 * Whether environment entry e ("NAME=value") is one of the variables the
 * shim gives children itself (the view's configuration, the supervisor's,
 * LAYERFS_CHECKED and LAYERFS_CWD; LD_PRELOAD is merged apart): a
 * program's own value of one of these never reaches its children.  Any
 * other LAYERFS_* variable (the launcher's LAYERFS_LIBDIR,
 * LAYERFS_CACHE_LIMIT) is the program's, and passes as it set it.
 */
bool shim_env_owned(const char *e)
{
	static const char *const marks[] = { "LAYERFS_CHECKED", "LAYERFS_CWD" };

	return strncmp(e, "LAYERFS_", 8) == 0 &&
	       (env_is_one_of(e, env_names, E_COUNT) ||
		env_is_one_of(e, sup_names, sizeof(sup_names) / sizeof(sup_names[0])) ||
		env_is_one_of(e, marks, sizeof(marks) / sizeof(marks[0])));
}

/*
 * Sets LAYERFS_CHECKED for children: "ok" or "failed", with the
 * fingerprint.  A replaced string is not freed: another thread may be
 * building an exec environment from it.
 */
static void set_mark(const char *state)
{
	char v[48];

	snprintf(v, sizeof(v), "%s:%016" PRIx64, state, cfg_hash);
	if (mark_slot < 0) {
		mark_slot = keep_env("LAYERFS_CHECKED", v);
		return;
	}
	size_t n = sizeof("LAYERFS_CHECKED=") + strlen(v);
	char *s = keep_alloc(n);
	if (!s)
		return;
	snprintf(s, n, "LAYERFS_CHECKED=%s", v);
	__atomic_store_n(&shim.env_keep[mark_slot], s, __ATOMIC_RELEASE);
}

/*
 * The configuration's fingerprint (FNV-1a of the LAYERFS_* variables that
 * choose the layers) and what an ancestor said about it.
 */
static void read_mark(const char *const env[E_COUNT])
{
	uint64_t h = 14695981039346656037ull;
	char want[48];
	const char *m = getenv("LAYERFS_CHECKED");

	for (size_t i = 0; i < E_COUNT; i++) {
		const char *v = env[i];
		for (const char *p = env_names[i]; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
		h = (h ^ (v ? '=' : '!')) * 1099511628211ull;
		for (const char *p = v ? v : ""; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
		h = (h ^ 0) * 1099511628211ull;
	}
	cfg_hash = h;
	if (!m)
		return;
	snprintf(want, sizeof(want), "ok:%016" PRIx64, h);
	if (strcmp(m, want) == 0) {
		cfg_checked = CHECKED_OK;
		return;
	}
	snprintf(want, sizeof(want), "failed:%016" PRIx64, h);
	if (strcmp(m, want) == 0)
		cfg_checked = CHECKED_FAILED;
}

/*
 * LD_PRELOAD for children: what this process was started with, every
 * entry made absolute (a relative one breaks once a child changes
 * directory), and this library in it (first, unless the list already has
 * it: a sanitizer runtime must stay in front).
 */
static void keep_preload(void)
{
	Dl_info info;
	char list[4 * PATH_MAX], abs[PATH_MAX];
	const char *self = shim.self, *env = getenv("LD_PRELOAD");
	size_t len = 0;
	bool have_self = false;

	if (!dladdr((void *)shim_configure, &info) || !info.dli_fname ||
	    !REAL(realpath)(info.dli_fname, shim.self))
		return;
	list[0] = '\0';
	for (const char *p = env ? env : ""; *p; ) {
		size_t n = strcspn(p, ": ");
		if (n > 0 && n < PATH_MAX) {
			char one[PATH_MAX];
			memcpy(one, p, n);
			one[n] = '\0';
			/* this library's own name needs no second realpath */
			const char *e = strcmp(one, info.dli_fname) == 0 ? self :
				strchr(one, '/') && REAL(realpath)(one, abs) ? abs : one;
			have_self |= strcmp(e, self) == 0;
			if (strstr(list, e))
				goto next;	/* listed twice */
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
						len ? ":" : "", e);
			if (len >= sizeof(list))
				return;
		}
next:
		p += n;
		p += strspn(p, ": ");
	}
	if (!have_self) {
		char tmp[sizeof(list)];
		snprintf(tmp, sizeof(tmp), "%s%s%s", self, len ? ":" : "", list);
		keep_env("LD_PRELOAD", tmp);
		return;
	}
	keep_env("LD_PRELOAD", list);
}

static int config_mount(const char *m)
{
	char norm[PATH_MAX];

	if (m[0] != '/') {
		say("LAYERFS_MOUNT=%s: the mount point must be an absolute path", m);
		return -1;
	}
	if (lyr_path_normalize(m, norm, sizeof(norm)) < 0) {
		say("LAYERFS_MOUNT=%s: path too long", m);
		return -1;
	}
	if (!norm[0]) {
		say("LAYERFS_MOUNT=%s: the mount point cannot be /", m);
		return -1;
	}
	int n = snprintf(shim.mnt.path, sizeof(shim.mnt.path), "/%s", norm);
	shim.mnt.len = (size_t)n;
	shim.mnt.view.path = shim.mnt.path;
	shim.mnt.view.len = shim.mnt.len;
	shim.mnt.dev = lyr_mount_dev(shim.mnt.path);
	return 0;
}

/* Reads the umask without changing it for longer than a moment. */
static mode_t read_umask(void)
{
	mode_t m = REAL(umask)(022);
	REAL(umask)(m);
	return m;
}

/* Does a relative path start at p (in a ':' list when list)?  "\:" is a ':'. */
static bool starts_relative(const char *v, const char *p, bool list)
{
	bool start = p == v || (list && p[-1] == ':' && (p - 1 == v || p[-2] != '\\'));

	return start && *p != '/' && *p != ':';
}

/*
 * A relative path in LAYERFS_LOWER (each layer of the list), LAYERFS_UPPER,
 * LAYERFS_CACHE or LAYERFS_TRACE names a file from this process's working
 * directory.  It is made absolute here, once, and children get it so
 * (they get what this process keeps, whatever the program hands exec):
 * a child that changed directory still reaches the same layers.  Refusing
 * relative paths would break the ordinary `LAYERFS_LOWER=src.tar cmd`;
 * resolving them in every process is what made children read another
 * lower and write another upper.  Returns the value to use (v itself, or
 * one from keep_alloc, never freed: children's environments point at
 * it), or NULL with the reason it cannot be made absolute in why.
 */
static const char *absolute_env(size_t which, const char *v, char *why, size_t why_size)
{
	char cwd[PATH_MAX];
	bool list = which == E_LOWER;
	size_t rel = 0, cwd_len, n = 0;

	if (!*v || (which == E_UPPER && strcmp(v, "mem") == 0))
		return v;
	for (const char *p = v; *p; p++)
		rel += starts_relative(v, p, list);
	if (!rel)
		return v;
	if (getenv("LAYERFS_CWD") || !REAL(getcwd)(cwd, sizeof(cwd))) {
		snprintf(why, why_size, "%s=%s: a relative path, and the working directory is %s",
			 env_names[which], v, getenv("LAYERFS_CWD") ? "in the view" : "unknown");
		return NULL;
	}
	cwd_len = strlen(cwd);
	for (const char *c = cwd; *c; c++)
		cwd_len += list && *c == ':';	/* escaped as "\:" */
	char *out = keep_alloc(strlen(v) + rel * (cwd_len + 1) + 1);
	if (!out) {
		snprintf(why, why_size, "%s: out of memory", env_names[which]);
		return NULL;
	}
	for (const char *p = v; *p; p++) {
		if (starts_relative(v, p, list)) {
			for (const char *c = cwd; *c; c++) {
				if (list && *c == ':')
					out[n++] = '\\';
				out[n++] = *c;
			}
			out[n++] = '/';
		}
		out[n++] = *p;
	}
	out[n] = '\0';
	return out;
}

bool shim_supervised(void)
{
	long r = REAL(syscall)(SYS_getcwd, 0, LYR_SUP_PROBE, 0, 0, 0, LYR_SUP_MARK);

	return r < 0 && errno == ESRCH;
}

static void configure_once(void)
{
	const char *env[E_COUNT];
	const char *m = getenv("LAYERFS_MOUNT");

	shim.umask = read_umask();
	if (!m || !*m)
		goto out;
	/* Under the supervisor every call of the process reaches it: the
	 * supervisor answers them all, from the same union, and the shim
	 * stands aside.  Were both to answer, the supervisor would take the
	 * shim's own calls on the layers' files for calls on the view. */
	int e = errno;
	bool under_sup = shim_supervised();
	errno = e;
	if (under_sup)
		goto out;	/* no mount: every call passes through */
	if (config_mount(m) < 0) {
		/* Unusable: there is no mount point to fail under. */
		shim.mnt.len = 0;
		goto out;
	}
	keep_preload();
	char why[PATH_MAX + 128] = "";
	for (size_t i = 0; i < E_COUNT; i++) {
		env[i] = i == E_MOUNT ? m : getenv(env_names[i]);
		if (env[i] && (i == E_LOWER || i == E_UPPER || i == E_CACHE || i == E_TRACE)) {
			const char *a = absolute_env(i, env[i], why, sizeof(why));
			if (a)
				env[i] = a;
			else
				shim.mnt.broken = EIO;	/* why says why: said below */
		}
		if (env[i])
			keep_env(env_names[i], env[i]);
	}
	read_mark(env);
	if (why[0] && cfg_checked != CHECKED_FAILED)
		say("%s", why);
	const char *v;
	const char *sup[3];
	for (size_t i = 0; i < 3; i++)
		if ((sup[i] = getenv(sup_names[i])) && *sup[i])
			keep_env(sup_names[i], sup[i]);
	shim.sup_sock = sup[0] && *sup[0] ? keep_strdup(sup[0]) : NULL;
	shim.helper = sup[1] && *sup[1] ? keep_strdup(sup[1]) : NULL;
	shim.unsupervised = sup[2] && !strcmp(sup[2], "1");
	if ((v = env[E_LOWER]))
		cfg_lower = keep_strdup(v);
	if ((v = env[E_UPPER]) && *v)
		cfg_upper = keep_strdup(v);
	if ((v = env[E_CACHE]) && *v)
		cfg_cache = keep_strdup(v);
	if ((v = env[E_SEMANTICS]) && *v) {
		if (strcmp(v, "writable-files") == 0)
			cfg_union_flags |= LYR_UNION_WRITABLE_FILES;
		else if (strcmp(v, "read-only") != 0) {
			if (cfg_checked != CHECKED_FAILED)
				say("LAYERFS_SEMANTICS=%s: expected read-only or "
				    "writable-files", v);
			shim.mnt.broken = EIO;
		}
	}
	if ((v = env[E_TRACE]) && *v) {
		int fd = REAL(open)(v, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			say("LAYERFS_TRACE=%s: %s", v, strerror(errno));
		else
			shim.trace_fd = fd_move_high(fd);
	}
	if ((v = getenv("LAYERFS_CWD")) && v[0] == '/') {	/* a ghost */
		if (shim_is_ghost(v))
			shim_cwd_set_ghost(v);
		else
			shim_cwd_set_host();
	} else if (v) {		/* "" is the view's root */
		char norm[PATH_MAX];
		if (lyr_path_normalize(v, norm, sizeof(norm)) == 0)
			shim_cwd_set_virtual(norm);
	} else {
		shim_cwd_set_host();
	}
	/* Children: what an ancestor found still holds; otherwise the
	 * constructor finds out (shim_init) and sets the mark. */
	if (cfg_checked != CHECKED_NONE)
		set_mark(cfg_checked == CHECKED_OK ? "ok" : "failed");
	else if (shim.mnt.broken)
		set_mark("failed");	/* said above */
out:
	__atomic_store_n(&shim.configured, 1, __ATOMIC_RELEASE);
}

void shim_configure(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, configure_once);
}

static int open_lower(const char *path, struct lyr_layer **out, struct lyr_error *err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return lyr_seterr(err, errno, "lower layer %s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return lyr_seterr(err, EINVAL, "lower layer %s: %s, not an archive or a directory",
				  path, S_ISFIFO(st.st_mode) ? "a FIFO" :
				  S_ISSOCK(st.st_mode) ? "a socket" :
				  S_ISCHR(st.st_mode) ? "a character device" :
				  S_ISBLK(st.st_mode) ? "a block device" : "a special file");
	if (S_ISDIR(st.st_mode))
		return lyr_host_open(path, (cfg_union_flags & LYR_UNION_WRITABLE_FILES) ?
				     0 : LYR_HOST_RDONLY, out, err);
	struct lyr_archive_opts opts = { .cache_dir = cfg_cache };
	return lyr_archive_open(path, &opts, out, err);
}

static int start_fs(struct lyr_error *err)
{
	struct lyr_layer *upper = NULL, *lower[LYR_MAX_LOWER], *u = NULL;
	char *names[LYR_MAX_LOWER];
	size_t n = 0;
	int r;

	if (!cfg_lower || !*cfg_lower)
		return lyr_seterr(err, EINVAL, "LAYERFS_LOWER is not set");
	ssize_t got = lyr_lower_list_split(cfg_lower, names, LYR_MAX_LOWER);
	if (got < 0)
		return lyr_seterr(err, EINVAL, "LAYERFS_LOWER: more than %d layers",
				  LYR_MAX_LOWER);
	n = (size_t)got;
	for (size_t i = 0; i < n; i++) {
		r = open_lower(names[i], &lower[i], err);
		if (r < 0) {
			while (i--)
				lyr_destroy(lower[i]);
			return r;
		}
		/* The first process of a tree marks its archives' cache
		 * entries used (what the cache's pruning goes by); its
		 * children need not. */
		if (cfg_checked == CHECKED_NONE)
			lyr_archive_mark_used(lower[i]);
	}
	if (!cfg_upper || strcmp(cfg_upper, "mem") == 0)
		r = lyr_mem_open(&upper, err);
	else
		r = lyr_host_open(cfg_upper, LYR_HOST_UPPER, &upper, err);
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			lyr_destroy(lower[i]);
		return r;
	}
	struct lyr_union_opts opts = {
		.flags = cfg_union_flags,
		.copied_up = shim_fd_copied_up,
		.dev = shim.mnt.dev,
	};
	r = lyr_union_open(upper, lower, n, &opts, &u, err);
	if (r < 0)
		return r;
	shim.mnt.fs = u;
	return 0;
}

struct lyr_layer *shim_fs(int *err)
{
	struct lyr_layer *fs = __atomic_load_n(&shim.mnt.fs, __ATOMIC_ACQUIRE);

	if (__builtin_expect(fs != NULL, 1))
		return fs;
	if (shim.mnt.broken) {
		*err = shim.mnt.broken;
		return NULL;
	}
	pthread_mutex_lock(&init_lock);
	if (!shim.mnt.fs && !shim.mnt.broken) {
		struct lyr_error e = { "" };
		shim_enter_host();
		int r = (int)shim_leave(start_fs(&e), NULL, NULL);
		if (r < 0) {
			/* Said once per process tree: children inherit the mark. */
			if (cfg_checked != CHECKED_FAILED) {
				say("%s", e.msg[0] ? e.msg : strerror(-r));
				set_mark("failed");
				cfg_checked = CHECKED_FAILED;
			}
			shim.mnt.broken = EIO;
		}
	}
	pthread_mutex_unlock(&init_lock);
	fs = shim.mnt.fs;
	if (!fs)
		*err = shim.mnt.broken;
	return fs;
}

/* One trace line, written inside the core (it asks the union). */
static void trace_write(const char *op, const char *path, long result)
{
	char line[PATH_MAX + 256];
	const char *layer = "-";
	static const char *const names[] = { "upper", "lower" };
	int which = shim.mnt.fs && result >= 0 ? lyr_union_which(shim.mnt.fs, path) : -1;
	char lname[32];

	if (which == 0)
		layer = names[0];
	else if (which > 0) {
		snprintf(lname, sizeof(lname), "lower%d", which - 1);
		layer = lname;
	}
	int n;
	if (result < 0)
		n = snprintf(line, sizeof(line), "%d %s %s/%s %s -1 %s\n", (int)getpid(), op,
			     shim.mnt.path, path, layer, strerrorname_np((int)-result));
	else
		n = snprintf(line, sizeof(line), "%d %s %s/%s %s %ld\n", (int)getpid(), op,
			     shim.mnt.path, path, layer, result);
	if (n > (int)sizeof(line))
		n = (int)sizeof(line);
	if (write(shim.trace_fd, line, (size_t)n) < 0)
		return;
}

struct lyr_layer *shim_enter(int *err)
{
	int saved = errno;
	struct lyr_layer *fs = shim_fs(err);

	errno = saved;
	if (fs)
		shim_enter_host();
	return fs;
}

void shim_enter_host(void)
{
	if (shim_depth++ == 0)
		enter_errno = errno;
}

long shim_leave(long r, const char *op, const char *path)
{
	if (op && shim.trace_fd >= 0)
		trace_write(op, path, r);
	if (--shim_depth == 0)
		errno = enter_errno;
	return r;
}

void shim_trace(const char *op, const char *path, long result)
{
	int err;

	if (shim.trace_fd >= 0 && shim_enter(&err))
		shim_leave(result, op, path);
}

__attribute__((constructor)) static void shim_init(void)
{
	shim_configure();
	pthread_atfork(shim_fd_atfork_prepare, shim_fd_atfork_parent,
		       shim_fd_atfork_child);
	/* The first process of a tree checks the configuration now. */
	if (shim.mnt.len && cfg_checked == CHECKED_NONE) {
		int err;
		if (shim_fs(&err))
			set_mark("ok");
	}
}
