/* SPDX-License-Identifier: MIT */
/*
 * badptr - every wrapped call given a bad pointer: NULL, 0xdeadc0de, or a
 * read-only page where the call writes (issue 13 item 2).
 *
 * Usage: badptr DIR   (DIR holds a file "f" with the xattr user.x, a
 * directory "d" and a symlink "l" to f).  It works in DIR and prints one
 * line per call: its name and what it did, "ret R errno E" or the signal
 * that killed it (each call runs in a child of its own).  The integration
 * test (tests/integration/badptr.sh) compares the lines of a run on a real
 * directory without the shim with runs under the shim in the view and
 * outside it: the same return values and errnos, and no SIGSEGV where the
 * kernel answers EFAULT.  Only calls that fail are made, so the directory
 * is the same after as before.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

#define BAD ((void *)(uintptr_t)0xdeadc0de)
/* NULL, unknown to the compiler (it would refuse a literal NULL where
 * glibc marks an argument nonnull). */
static void *volatile nil;
#define NIL (nil)

static int fd_f, fd_d, sock;
static DIR *dp;
static char *ro;                 /* a read-only page */
static char buf[PATH_MAX];
static struct stat st;
static dev_t dev0;
static char abs_f[PATH_MAX], abs_l[PATH_MAX], abs_new[PATH_MAX]; /* DIR/f, DIR/l, DIR/new */
static char true_name[] = "true";
static char *const argv0[] = { true_name, NULL };
static char *const env0[] = { NULL };

/* Fortify and compatibility names glibc exports but no header declares. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
ssize_t __readlink_chk(const char *path, char *buf, size_t size, size_t buflen);
ssize_t __readlinkat_chk(int dirfd, const char *path, char *buf, size_t size, size_t buflen);
int __xmknod(int ver, const char *path, mode_t mode, dev_t *dev);
int __xmknodat(int ver, int dirfd, const char *path, mode_t mode, dev_t *dev);
char *__getcwd_chk(char *buf, size_t size, size_t buflen);
char *__realpath_chk(const char *path, char *resolved, size_t len);

/* getwd and tempnam by name: the linker warns of every reference to them. */
static void *sym(const char *name)
{
	void *f = dlsym(RTLD_DEFAULT, name);

	if (!f) {
		fprintf(stderr, "badptr: no %s\n", name);
		_exit(2);
	}
	return f;
}

static int ftw64_fn(const char *p, const struct stat64 *s, int f)
{
	(void)p; (void)s; (void)f;
	return 0;
}

static int nftw64_fn(const char *p, const struct stat64 *s, int f, struct FTW *w)
{
	(void)p; (void)s; (void)f; (void)w;
	return 0;
}

static int ftw_fn(const char *p, const struct stat *s, int f)
{
	(void)p; (void)s; (void)f;
	return 0;
}

static int nftw_fn(const char *p, const struct stat *s, int f, struct FTW *w)
{
	(void)p; (void)s; (void)f; (void)w;
	return 0;
}

/* C(name, expression): ret is (long) of it; pointers: 0 or 1. */
#define LONG(e) ((long)(e))
#define PTR(e) ((e) ? 1L : 0L)
#define CASES \
	/* open */ \
	C(open_null, LONG(open(NIL, O_RDONLY))) \
	C(open_bad, LONG(open(BAD, O_RDONLY))) \
	C(open_creat_bad, LONG(open(BAD, O_WRONLY | O_CREAT, 0644))) \
	C(openat_bad, LONG(openat(AT_FDCWD, BAD, O_RDONLY))) \
	C(openat_dirfd_bad, LONG(openat(fd_d, BAD, O_RDONLY))) \
	C(creat_bad, LONG(creat(BAD, 0644))) \
	C(open64_bad, LONG(open64(BAD, O_RDONLY))) \
	C(name_to_handle_at_bad, LONG(name_to_handle_at(AT_FDCWD, BAD, (void *)buf, (int *)buf, 0))) \
	C(fopen_bad, PTR(fopen(BAD, "r"))) \
	C(freopen_bad, PTR(freopen(BAD, "r", stdin))) \
	/* stat */ \
	C(stat_null, LONG(stat(NIL, &st))) \
	C(stat_bad, LONG(stat(BAD, &st))) \
	C(stat_buf_null, LONG(stat("f", NIL))) \
	C(stat_buf_bad, LONG(stat("f", BAD))) \
	C(stat_buf_ro, LONG(stat("f", (void *)ro))) \
	C(stat_missing_buf_bad, LONG(stat("nothing", BAD))) \
	C(lstat_bad, LONG(lstat(BAD, &st))) \
	C(lstat_buf_bad, LONG(lstat("l", BAD))) \
	C(fstat_buf_bad, LONG(fstat(fd_f, BAD))) \
	C(fstat_dir_buf_null, LONG(fstat(fd_d, NIL))) \
	C(fstatat_bad, LONG(fstatat(fd_d, BAD, &st, 0))) \
	C(fstatat_buf_bad, LONG(fstatat(AT_FDCWD, "f", BAD, 0))) \
	C(fstatat_empty_buf_bad, LONG(fstatat(fd_f, "", BAD, AT_EMPTY_PATH))) \
	C(statx_bad, LONG(statx(AT_FDCWD, BAD, 0, STATX_BASIC_STATS, (void *)buf))) \
	C(statx_buf_bad, LONG(statx(AT_FDCWD, "f", 0, STATX_BASIC_STATS, BAD))) \
	C(statx_buf_null, LONG(statx(AT_FDCWD, "f", 0, STATX_BASIC_STATS, NIL))) \
	/* statfs */ \
	C(statfs_bad, LONG(statfs(BAD, (void *)buf))) \
	C(statfs_buf_bad, LONG(statfs("f", BAD))) \
	C(fstatfs_buf_bad, LONG(fstatfs(fd_f, BAD))) \
	C(statvfs_bad, LONG(statvfs(BAD, (void *)buf))) \
	C(statvfs_buf_bad, LONG(statvfs("f", BAD))) \
	C(fstatvfs_buf_bad, LONG(fstatvfs(fd_f, BAD))) \
	C(pathconf_bad, LONG(pathconf(BAD, _PC_NAME_MAX))) \
	/* access */ \
	C(access_bad, LONG(access(BAD, F_OK))) \
	C(faccessat_bad, LONG(faccessat(fd_d, BAD, F_OK, 0))) \
	C(euidaccess_bad, LONG(euidaccess(BAD, F_OK))) \
	/* directories */ \
	C(opendir_bad, PTR(opendir(BAD))) \
	C(scandir_bad, LONG(scandir(BAD, (void *)buf, NULL, NULL))) \
	C(getdents64_buf_bad, LONG(getdents64(fd_d, BAD, 4096))) \
	C(getdents64_buf_ro, LONG(getdents64(fd_d, ro, 4096))) \
	/* walkers */ \
	C(ftw_bad, LONG(ftw(BAD, ftw_fn, 4))) \
	C(nftw_bad, LONG(nftw(BAD, nftw_fn, 4, 0))) \
	/* names */ \
	C(link_old_null, LONG(link(NIL, "new"))) \
	C(link_new_null, LONG(link("f", NIL))) \
	C(link_old_bad, LONG(link(BAD, "new"))) \
	C(link_new_bad, LONG(link("f", BAD))) \
	C(linkat_new_bad, LONG(linkat(fd_d, "../f", fd_d, BAD, 0))) \
	C(linkat_old_bad, LONG(linkat(fd_d, BAD, fd_d, "new", 0))) \
	C(symlink_target_null, LONG(symlink(NIL, "new"))) \
	C(symlink_target_bad, LONG(symlink(BAD, "new"))) \
	C(symlink_path_null, LONG(symlink("f", NIL))) \
	C(symlink_path_bad, LONG(symlink("f", BAD))) \
	C(symlinkat_target_bad, LONG(symlinkat(BAD, fd_d, "new"))) \
	C(symlinkat_path_bad, LONG(symlinkat("f", fd_d, BAD))) \
	C(readlink_bad, LONG(readlink(BAD, buf, sizeof(buf)))) \
	C(readlink_buf_bad, LONG(readlink("l", BAD, 64))) \
	C(readlink_buf_null, LONG(readlink("l", NIL, 64))) \
	C(readlink_buf_ro, LONG(readlink("l", ro, 64))) \
	C(readlinkat_buf_bad, LONG(readlinkat(AT_FDCWD, "l", BAD, 64))) \
	C(unlink_bad, LONG(unlink(BAD))) \
	C(unlinkat_bad, LONG(unlinkat(fd_d, BAD, 0))) \
	C(remove_bad, LONG(remove(BAD))) \
	C(rename_old_null, LONG(rename(NIL, "new"))) \
	C(rename_new_null, LONG(rename("f", NIL))) \
	C(rename_old_bad, LONG(rename(BAD, "new"))) \
	C(rename_new_bad, LONG(rename("f", BAD))) \
	C(renameat_new_bad, LONG(renameat(fd_d, "../f", AT_FDCWD, BAD))) \
	C(renameat2_old_bad, LONG(renameat2(AT_FDCWD, BAD, fd_d, "new", 0))) \
	C(renameat2_new_bad, LONG(renameat2(AT_FDCWD, "f", fd_d, BAD, RENAME_NOREPLACE))) \
	C(mkdir_bad, LONG(mkdir(BAD, 0755))) \
	C(mkdirat_bad, LONG(mkdirat(fd_d, BAD, 0755))) \
	C(rmdir_bad, LONG(rmdir(BAD))) \
	C(mknod_bad, LONG(mknod(BAD, S_IFIFO | 0644, 0))) \
	C(mknodat_bad, LONG(mknodat(fd_d, BAD, S_IFIFO | 0644, 0))) \
	C(mkfifo_bad, LONG(mkfifo(BAD, 0644))) \
	C(mkfifoat_bad, LONG(mkfifoat(fd_d, BAD, 0644))) \
	/* cwd */ \
	C(chdir_null, LONG(chdir(NIL))) \
	C(chdir_bad, LONG(chdir(BAD))) \
	C(getcwd_buf_bad, PTR(getcwd(BAD, 4096))) \
	C(getcwd_buf_ro, PTR(getcwd(ro, 4096))) \
	C(chroot_bad, LONG(chroot(BAD))) \
	/* metadata */ \
	C(chmod_bad, LONG(chmod(BAD, 0644))) \
	C(fchmodat_bad, LONG(fchmodat(fd_d, BAD, 0644, 0))) \
	C(chown_bad, LONG(chown(BAD, -1, -1))) \
	C(lchown_bad, LONG(lchown(BAD, -1, -1))) \
	C(fchownat_bad, LONG(fchownat(fd_d, BAD, -1, -1, 0))) \
	C(utime_bad, LONG(utime(BAD, NULL))) \
	C(utime_times_bad, LONG(utime("f", BAD))) \
	C(utimes_bad, LONG(utimes(BAD, NULL))) \
	C(utimes_times_bad, LONG(utimes("f", BAD))) \
	C(lutimes_times_bad, LONG(lutimes("l", BAD))) \
	C(futimes_times_bad, LONG(futimes(fd_f, BAD))) \
	C(futimesat_times_bad, LONG(futimesat(AT_FDCWD, "f", BAD))) \
	C(utimensat_bad, LONG(utimensat(AT_FDCWD, BAD, NULL, 0))) \
	C(utimensat_times_bad, LONG(utimensat(AT_FDCWD, "f", BAD, 0))) \
	C(futimens_times_bad, LONG(futimens(fd_f, BAD))) \
	C(truncate_bad, LONG(truncate(BAD, 0))) \
	/* xattr */ \
	C(getxattr_bad, LONG(getxattr(BAD, "user.x", buf, 64))) \
	C(getxattr_name_bad, LONG(getxattr("f", BAD, buf, 64))) \
	C(getxattr_name_null, LONG(getxattr("f", NIL, buf, 64))) \
	C(getxattr_buf_bad, LONG(getxattr("f", "user.x", BAD, 64))) \
	C(getxattr_buf_ro, LONG(getxattr("f", "user.x", ro, 64))) \
	C(lgetxattr_buf_bad, LONG(lgetxattr("f", "user.x", BAD, 64))) \
	C(fgetxattr_buf_bad, LONG(fgetxattr(fd_f, "user.x", BAD, 64))) \
	C(fgetxattr_name_bad, LONG(fgetxattr(fd_f, BAD, buf, 64))) \
	C(setxattr_bad, LONG(setxattr(BAD, "user.y", "1", 1, 0))) \
	C(setxattr_name_bad, LONG(setxattr("f", BAD, "1", 1, 0))) \
	C(setxattr_value_bad, LONG(setxattr("f", "user.y", BAD, 4, 0))) \
	C(lsetxattr_value_bad, LONG(lsetxattr("f", "user.y", BAD, 4, 0))) \
	C(fsetxattr_value_bad, LONG(fsetxattr(fd_f, "user.y", BAD, 4, 0))) \
	C(listxattr_bad, LONG(listxattr(BAD, buf, 64))) \
	C(listxattr_buf_bad, LONG(listxattr("f", BAD, 64))) \
	C(llistxattr_buf_bad, LONG(llistxattr("f", BAD, 64))) \
	C(flistxattr_buf_bad, LONG(flistxattr(fd_f, BAD, 64))) \
	C(removexattr_bad, LONG(removexattr(BAD, "user.x"))) \
	C(removexattr_name_bad, LONG(removexattr("f", BAD))) \
	C(fremovexattr_name_bad, LONG(fremovexattr(fd_f, BAD))) \
	/* resolution */ \
	C(realpath_bad, PTR(realpath(BAD, buf))) \
	C(canonicalize_file_name_bad, PTR(canonicalize_file_name(BAD))) \
	/* exec and spawn */ \
	C(execve_bad, LONG(execve(BAD, argv0, env0))) \
	C(execveat_bad, LONG(execveat(fd_d, BAD, argv0, env0, 0))) \
	C(posix_spawn_bad, LONG(posix_spawn(NULL, BAD, NULL, NULL, argv0, env0))) \
	/* sockets, inotify, syscall() */ \
	C(bind_addr_bad, LONG(bind(sock, BAD, sizeof(struct sockaddr_un)))) \
	C(connect_addr_bad, LONG(connect(sock, BAD, sizeof(struct sockaddr_un)))) \
	C(inotify_add_watch_bad, LONG(inotify_add_watch(fd_d, BAD, IN_ALL_EVENTS))) \
	C(syscall_openat_bad, LONG(syscall(SYS_openat, AT_FDCWD, BAD, O_RDONLY, 0))) \
	C(syscall_newfstatat_buf_bad, LONG(syscall(SYS_newfstatat, AT_FDCWD, "f", BAD, 0))) \
	C(syscall_renameat2_new_bad, LONG(syscall(SYS_renameat2, AT_FDCWD, "f", AT_FDCWD, BAD, 0))) \
	C(syscall_readlinkat_buf_bad, LONG(syscall(SYS_readlinkat, AT_FDCWD, "l", BAD, 64))) \
	C(syscall_getdents64_buf_bad, LONG(syscall(SYS_getdents64, fd_d, BAD, 4096))) \
	C(syscall_getcwd_buf_bad, LONG(syscall(SYS_getcwd, BAD, 4096))) \
	MORE_CASES

/* The other rows of shim/syscalls.def that take a pointer, and the
 * directory's own absolute paths (abs_*) beside a bad one.  Not here:
 * name_to_handle_at with a bad handle (Linux answers EOPNOTSUPP before
 * it reads one on a file system without file handles, as the view is, and
 * EFAULT on one with them) and popen of a bad command (the spawned shell's
 * exec fails; glibc reports ENOMEM for it, the shim the exec's EFAULT). */
#define MORE_CASES \
	C(__open_2_bad, LONG(__open_2(BAD, O_RDONLY))) \
	C(__open64_2_bad, LONG(__open64_2(BAD, O_RDONLY))) \
	C(__openat_2_bad, LONG(__openat_2(fd_d, BAD, O_RDONLY))) \
	C(openat64_bad, LONG(openat64(fd_d, BAD, O_RDONLY))) \
	C(creat64_bad, LONG(creat64(BAD, 0644))) \
	C(fopen64_bad, PTR(fopen64(BAD, "r"))) \
	C(stat64_buf_bad, LONG(stat64("f", BAD))) \
	C(stat64_abs_buf_bad, LONG(stat64(abs_f, BAD))) \
	C(lstat64_buf_bad, LONG(lstat64("l", BAD))) \
	C(fstat64_buf_bad, LONG(fstat64(fd_f, BAD))) \
	C(fstatat64_buf_bad, LONG(fstatat64(fd_d, "e", BAD, 0))) \
	C(statfs64_buf_bad, LONG(statfs64("f", BAD))) \
	C(fstatfs64_buf_bad, LONG(fstatfs64(fd_f, BAD))) \
	C(statvfs64_bad, LONG(statvfs64(BAD, (void *)buf))) \
	C(eaccess_bad, LONG(eaccess(BAD, F_OK))) \
	C(scandir64_bad, LONG(scandir64(BAD, (void *)buf, NULL, NULL))) \
	C(scandirat_bad, LONG(scandirat(fd_d, BAD, (void *)buf, NULL, NULL))) \
	C(getdirentries64_buf_bad, LONG(getdirentries64(fd_d, BAD, 4096, (void *)buf))) \
	C(ftw64_bad, LONG(ftw64(BAD, ftw64_fn, 4))) \
	C(nftw64_bad, LONG(nftw64(BAD, nftw64_fn, 4, 0))) \
	C(__readlink_chk_buf_bad, LONG(__readlink_chk("l", BAD, 64, 64))) \
	C(__readlinkat_chk_buf_bad, LONG(__readlinkat_chk(fd_d, "../l", BAD, 64, 64))) \
	C(readlink_abs_buf_bad, LONG(readlink(abs_l, BAD, 64))) \
	C(mkdirat_abs_ok_rename_bad, LONG(rename(abs_f, BAD))) \
	C(rename_abs_old_bad, LONG(rename(BAD, abs_f))) \
	C(link_abs_new_bad, LONG(link(abs_f, BAD))) \
	C(linkat_abs_new_null, LONG(linkat(AT_FDCWD, abs_f, fd_d, NIL, 0))) \
	C(symlink_abs_target_bad, LONG(symlink(BAD, abs_new))) \
	C(symlinkat_abs_target_null, LONG(symlinkat(NIL, AT_FDCWD, abs_new))) \
	C(renameat2_abs_new_bad, LONG(renameat2(fd_d, abs_f, fd_d, BAD, 0))) \
	C(__xmknod_bad, LONG(__xmknod(0, BAD, S_IFIFO | 0644, &dev0))) \
	C(__xmknodat_bad, LONG(__xmknodat(0, fd_d, BAD, S_IFIFO | 0644, &dev0))) \
	C(__getcwd_chk_buf_bad, PTR(__getcwd_chk(BAD, 4096, 4096))) \
	C(lchmod_bad, LONG(lchmod(BAD, 0644))) \
	C(truncate64_bad, LONG(truncate64(BAD, 0))) \
	C(futimesat_bad, LONG(futimesat(fd_d, BAD, NULL))) \
	C(lutimes_bad, LONG(lutimes(BAD, NULL))) \
	C(utimensat_abs_times_bad, LONG(utimensat(AT_FDCWD, abs_f, BAD, 0))) \
	C(lgetxattr_bad, LONG(lgetxattr(BAD, "user.x", buf, 64))) \
	C(lsetxattr_bad, LONG(lsetxattr(BAD, "user.y", "1", 1, 0))) \
	C(llistxattr_bad, LONG(llistxattr(BAD, buf, 64))) \
	C(lremovexattr_bad, LONG(lremovexattr(BAD, "user.x"))) \
	C(lremovexattr_name_bad, LONG(lremovexattr("f", BAD))) \
	C(getxattr_abs_buf_bad, LONG(getxattr(abs_f, "user.x", BAD, 64))) \
	C(listxattr_abs_buf_ro, LONG(listxattr(abs_f, ro, 64))) \
	C(__realpath_chk_bad, PTR(__realpath_chk(BAD, buf, sizeof(buf)))) \
	C(execv_bad, LONG(execv(BAD, argv0))) \
	C(execvp_bad, LONG(execvp(BAD, argv0))) \
	C(execvpe_bad, LONG(execvpe(BAD, argv0, env0))) \
	C(execl_bad, LONG(execl(BAD, "x", (char *)NULL))) \
	C(execle_bad, LONG(execle(BAD, "x", (char *)NULL, env0))) \
	C(execlp_bad, LONG(execlp(BAD, "x", (char *)NULL))) \
	C(posix_spawnp_bad, LONG(posix_spawnp(NULL, BAD, NULL, NULL, argv0, env0))) \
	C(inotify_add_watch_null, LONG(inotify_add_watch(fd_d, NIL, IN_ALL_EVENTS))) \
	C(syscall_renameat2_old_bad, LONG(syscall(SYS_renameat2, AT_FDCWD, BAD, AT_FDCWD, "new", 0))) \
	C(syscall_linkat_new_bad, LONG(syscall(SYS_linkat, AT_FDCWD, "f", AT_FDCWD, BAD, 0))) \
	C(syscall_symlinkat_target_bad, LONG(syscall(SYS_symlinkat, BAD, AT_FDCWD, "new"))) \
	C(syscall_statx_buf_bad, LONG(syscall(SYS_statx, AT_FDCWD, "f", 0, STATX_BASIC_STATS, BAD))) \
	C(syscall_utimensat_times_bad, LONG(syscall(SYS_utimensat, AT_FDCWD, "f", BAD, 0))) \
	C(syscall_getxattr_buf_bad, LONG(syscall(SYS_getxattr, "f", "user.x", BAD, 64))) \
	C(syscall_statfs_buf_bad, LONG(syscall(SYS_statfs, "f", BAD))) \
	C(getwd_buf_bad, PTR(((char *(*)(char *))sym("getwd"))(BAD))) \
	C(glob_bad, LONG(glob(BAD, 0, NULL, (void *)buf))) \
	C(fts_open_bad, PTR(fts_open(BAD, FTS_PHYSICAL, NULL))) \
	C(mkstemp_bad, LONG(mkstemp(BAD))) \
	C(mkdtemp_bad, PTR(mkdtemp(BAD))) \
	C(tempnam_bad, PTR(((char *(*)(const char *, const char *))sym("tempnam"))(BAD, "x"))) \
	C(fdopen_mode_bad, PTR(fdopen(fd_f, BAD))) \
	C(readdir_r_entry_bad, LONG(readdir_r(dp, BAD, (void *)buf))) \
	C(scandir_list_bad, LONG(scandir("d", BAD, NULL, NULL))) \
	C(realpath_buf_bad, PTR(realpath("f", BAD))) \
	C(opendir_abs_null, PTR(opendir(NIL)))

enum {
#define C(name, e) name,
	CASES
#undef C
	NCASES
};

static const char *const names[] = {
#define C(name, e) #name,
	CASES
#undef C
};

#pragma GCC diagnostic ignored "-Wdeprecated-declarations" /* readdir_r */
static long call(int i)
{
	switch (i) {
#define C(name, e) case name: return e;
	CASES
#undef C
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2 || chdir(argv[1]) < 0) {
		fprintf(stderr, "usage: badptr DIR (with f, d, l)\n");
		return 2;
	}
	snprintf(abs_f, sizeof(abs_f), "%s/f", argv[1]);
	snprintf(abs_l, sizeof(abs_l), "%s/l", argv[1]);
	snprintf(abs_new, sizeof(abs_new), "%s/new", argv[1]);
	fd_f = open("f", O_RDWR);
	fd_d = open("d", O_RDONLY | O_DIRECTORY);
	dp = opendir("d");
	sock = socket(AF_UNIX, SOCK_STREAM, 0);
	ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fd_f < 0 || fd_d < 0 || !dp || sock < 0 || ro == MAP_FAILED) {
		perror("badptr: setup");
		return 2;
	}
	for (int i = 0; i < NCASES; i++) {
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			errno = 0;
			long r = call(i);
			int e = errno;
			printf("%s ret %s errno %s\n", names[i], r > 0 ? "pos" : r == 0 ? "0" : "-1",
			       r <= 0 ? strerrorname_np(e) ? strerrorname_np(e) : "0" : "-");
			fflush(stdout);
			_exit(0);
		}
		int status;
		if (pid < 0 || waitpid(pid, &status, 0) < 0) {
			perror("badptr: fork");
			return 2;
		}
		if (WIFSIGNALED(status))
			printf("%s signal %s\n", names[i], sigabbrev_np(WTERMSIG(status)));
	}
	return 0;
}
