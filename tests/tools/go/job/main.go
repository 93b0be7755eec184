// SPDX-License-Identifier: MIT

// job: a script of reads and writes on a tree, made with Go's own system
// calls (no libc): supervised.sh runs it on a real directory and through
// the view and compares what it prints and leaves behind.
//
//	job ROOT      the script, in ROOT (see fixture in tests/integration/lib.sh)
//	job hello     prints its working directory (run from the script)
//	job uring     io_uring_setup's answer
package main

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

func p(format string, a ...interface{}) { fmt.Printf(format+"\n", a...) }

// e: an error as the system call's errno, without Go's wording around it.
func e(err error) string {
	switch v := err.(type) {
	case nil:
		return "ok"
	case *fs.PathError:
		return v.Op + ": " + v.Err.Error()
	case *os.LinkError:
		return v.Op + ": " + v.Err.Error()
	case *os.SyscallError:
		return v.Syscall + ": " + v.Err.Error()
	}
	return err.Error()
}

func cat(name string) {
	b, err := os.ReadFile(name)
	p("cat %s: %q %s", name, string(b), e(err))
}

// st: what stat says that a real directory and the view must agree on
// (a directory's size is the file system's own).
func st(name string) { stat(name, true) }

// stat without the times: for what the script changed (a second may pass
// between the real directory's run and the view's).  A directory's link
// count is 1 in the view once merged, as overlayfs says: not printed.
func stat(name string, times bool) {
	fi, err := os.Lstat(name)
	if err != nil {
		p("lstat %s: %s", name, e(err))
		return
	}
	s := fi.Sys().(*syscall.Stat_t)
	size := fi.Size()
	if fi.IsDir() {
		size = -1
	}
	nlink, mtime := s.Nlink, fi.ModTime().Unix()
	if fi.IsDir() {
		nlink = 0
	}
	if !times {
		mtime = 0
	}
	p("lstat %s: %v %d nlink=%d uid=%d mtime=%d", name, fi.Mode(), size, nlink, s.Uid, mtime)
}

func ino(name string) uint64 {
	var s syscall.Stat_t
	if syscall.Lstat(name, &s) != nil {
		return 0
	}
	return s.Ino
}

func ls(dir string) {
	ents, err := os.ReadDir(dir)
	var names []string
	for _, d := range ents {
		names = append(names, d.Name()+":"+d.Type().String())
	}
	sort.Strings(names)
	p("ls %s: %s %s", dir, strings.Join(names, " "), e(err))
}

func run(name string, args ...string) {
	out, err := exec.Command(name, args...).CombinedOutput()
	p("exec %s %v: %q %s", name, args, string(out), e(err))
}

// runBare: run with an empty environment (no LD_PRELOAD: a dynamic
// program then has no shim, and the supervisor answers all its calls).
func runBare(name string, args ...string) {
	c := exec.Command(name, args...)
	c.Env = []string{}
	out, err := c.CombinedOutput()
	p("exec bare %s %v: %q %s", name, args, string(out), e(err))
}

func max(a, b int) int {
	if a > b {
		return a
	}
	return b
}

func renameat2(from, to string, flags uintptr) error {
	f, _ := syscall.BytePtrFromString(from)
	t, _ := syscall.BytePtrFromString(to)
	_, _, errno := syscall.Syscall6(316, ^uintptr(99), uintptrOf(f), ^uintptr(99), uintptrOf(t),
		flags, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// openat2 with no RESOLVE_ flags: a read-only open, closed at once.
func openat2(name string) error {
	n, _ := syscall.BytePtrFromString(name)
	how := [3]uint64{uint64(syscall.O_RDONLY | syscall.O_CLOEXEC), 0, 0}
	fd, _, errno := syscall.Syscall6(437, ^uintptr(99), uintptrOf(n),
		uintptrOf((*byte)(unsafe.Pointer(&how[0]))), 24, 0, 0)
	if errno != 0 {
		return errno
	}
	syscall.Close(int(fd))
	return nil
}

// opath: an O_PATH fd of a symlink, named through /proc/self/fd, and
// changes made through the fd itself (AT_EMPTY_PATH): the symlink's own
// owner and times, as lstat then shows them.
func opath(name string) {
	const oPath, atEmptyPath = 0x200000, 0x1000
	fd, err := syscall.Open(name, oPath|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	p("open O_PATH|O_NOFOLLOW %s: %s", name, e(err))
	if err != nil {
		return
	}
	defer syscall.Close(fd)
	wd, _ := os.Getwd()
	link, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
	p("its /proc/self/fd link: %s %s", strings.TrimPrefix(link, wd+"/"), e(err))
	p("fchownat AT_EMPTY_PATH: %s", e(syscall.Fchownat(fd, "", 1, 1, atEmptyPath)))
	empty := []byte{0}
	ts := [2]syscall.Timespec{{Sec: 1000}, {Sec: 2000}}
	_, _, errno := syscall.Syscall6(syscall.SYS_UTIMENSAT, uintptr(fd),
		uintptrOf(&empty[0]), uintptr(unsafe.Pointer(&ts[0])), atEmptyPath, 0, 0)
	p("utimensat AT_EMPTY_PATH: %s", e(errnoErr(errno)))
	var st syscall.Stat_t
	err = syscall.Lstat(name, &st)
	p("lstat %s: uid %d mtime %d mode %o %s", name, st.Uid, st.Mtim.Sec, st.Mode, e(err))
}

func errnoErr(n syscall.Errno) error {
	if n == 0 {
		return nil
	}
	return n
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: job ROOT | hello | uring")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "hello":
		wd, err := os.Getwd()
		p("hello from %s in %s %s", os.Args[0], wd, e(err))
		return
	case "uring":
		var params [120]byte
		_, _, errno := syscall.Syscall(425, 1, uintptrOf(&params[0]), 0)
		p("io_uring_setup: %v", errno)
		return
	}
	root := os.Args[1]
	p("chdir: %s", e(os.Chdir(root)))
	wd, err := os.Getwd()
	p("getwd: %s %s", wd, e(err))
	cat("foo")
	cat("foo.link")
	cat("dangling")
	cat("missing")
	cat("docs")
	for _, n := range []string{"foo", "foo.hard", "foo.link", "dangling", "docs", "docs/empty",
		"bin/hello.sh", "readonly.txt", "deep/a/b/c/leaf.txt"} {
		st(n)
	}
	ls(".")
	ls("docs")
	ls("docs/empty")
	ls("foo")
	// writes
	before := ino("foo")
	p("mkdirall: %s", e(os.MkdirAll("x/y/z", 0755)))
	p("mkdir existing: %s", e(os.Mkdir("docs", 0755)))
	p("mkdir in missing: %s", e(os.Mkdir("nope/x", 0755)))
	p("write new: %s", e(os.WriteFile("x/y/z/new.txt", []byte("new file\n"), 0644)))
	f, err := os.OpenFile("foo", os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString("appended\n")
		f.Close()
	}
	p("append: %s", e(err))
	p("inode kept by copy-up: %v", before != 0 && ino("foo") == before)
	cat("foo")
	cat("foo.hard")
	p("write read-only: %s", e(func() error {
		_, err := os.OpenFile("readonly.txt", os.O_WRONLY, 0)
		return err
	}()))
	p("rename: %s", e(os.Rename("docs/readme.txt", "docs/renamed.txt")))
	p("rename dir: %s", e(os.Rename("src", "source")))
	p("rename missing: %s", e(os.Rename("missing", "x/m")))
	p("unlink: %s", e(os.Remove("foo.hard")))
	p("rmdir nonempty: %s", e(syscall.Rmdir("deep/a")))
	p("removeall: %s", e(os.RemoveAll("deep")))
	p("symlink: %s", e(os.Symlink("../../foo", "x/y/lnk")))
	t, err := os.Readlink("x/y/lnk")
	p("readlink: %s %s", t, e(err))
	cat("x/y/lnk")
	p("symlink exists: %s", e(os.Symlink("a", "foo")))
	p("link: %s", e(os.Link("docs/numbers.txt", "numbers.hard")))
	p("chmod: %s", e(os.Chmod("foo", 0600)))
	p("chmod dir: %s", e(os.Chmod("docs", 0700)))
	p("truncate: %s", e(os.Truncate("docs/numbers.txt", 10)))
	cat("numbers.hard")
	p("excl: %s", e(func() error {
		_, err := os.OpenFile("foo", os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0644)
		return err
	}()))
	p("rmdir empty: %s", e(os.Remove("docs/empty")))
	for _, n := range []string{"foo", "x/y/lnk", "numbers.hard", "docs", "x/y/z/new.txt"} {
		stat(n, false)
	}
	ls(".")
	ls("docs")
	ls("x/y")
	// relative paths after chdir into a subdirectory
	p("chdir x/y: %s", e(os.Chdir("x/y")))
	wd, err = os.Getwd()
	p("getwd: %s %s", wd, e(err))
	cat("z/new.txt")
	cat("../../foo")
	p("write relative: %s", e(os.WriteFile("z/rel.txt", []byte("rel\n"), 0644)))
	p("chdir ..: %s", e(os.Chdir("../..")))
	cat("x/y/z/rel.txt")
	// the *at calls with a directory fd of the view
	dfd, err := syscall.Open("source", syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	p("open dir: %s", e(err))
	if err == nil {
		fd, err := syscall.Openat(dfd, "main.c", syscall.O_RDONLY, 0)
		p("openat: %s", e(err))
		if err == nil {
			b := make([]byte, 100)
			n, _ := syscall.Read(fd, b)
			p("read: %q", string(b[:n]))
			var s syscall.Stat_t
			p("fstat: %s size %d mode %o", e(syscall.Fstat(fd, &s)), s.Size, s.Mode)
			syscall.Close(fd)
		}
		fd, err = syscall.Openat(dfd, "made.c", syscall.O_CREAT|syscall.O_WRONLY, 0640)
		p("openat creat: %s", e(err))
		if err == nil {
			syscall.Write(fd, []byte("made\n"))
			syscall.Close(fd)
		}
		p("mkdirat: %s", e(syscall.Mkdirat(dfd, "sub", 0750)))
		p("unlinkat: %s", e(syscall.Unlinkat(dfd, "lib/lib.c")))
		p("fchdir: %s", e(syscall.Fchdir(dfd)))
		wd, err = os.Getwd()
		p("getwd: %s %s", wd, e(err))
		cat("made.c")
		p("chdir ..: %s", e(os.Chdir("..")))
		syscall.Close(dfd)
	}
	// more of the calls the supervisor answers
	p("access foo W_OK: %s", e(syscall.Access("foo", 2)))
	p("access missing: %s", e(syscall.Access("missing", 0)))
	p("faccessat readonly.txt X_OK: %s", e(syscall.Faccessat(-100, "readonly.txt", 1, 0)))
	p("chtimes: %s", e(os.Chtimes("x/y/z/new.txt", time.Unix(1500000000, 0), time.Unix(1500000000, 0))))
	st("x/y/z/new.txt")
	p("lchown: %s", e(os.Lchown("x/y/lnk", os.Getuid(), os.Getgid())))
	p("mkfifo: %s", e(syscall.Mkfifo("x/fifo", 0640)))
	stat("x/fifo", false)
	p("setxattr: %s", e(syscall.Setxattr("docs/renamed.txt", "user.job", []byte("v1"), 0)))
	xb := make([]byte, 64)
	n, err := syscall.Getxattr("docs/renamed.txt", "user.job", xb)
	p("getxattr: %q %s", string(xb[:max(n, 0)]), e(err))
	n, err = syscall.Listxattr("docs/renamed.txt", xb)
	p("listxattr: %q %s", string(xb[:max(n, 0)]), e(err))
	_, err = syscall.Getxattr("docs/renamed.txt", "user.none", xb)
	p("getxattr missing: %s", e(err))
	p("removexattr: %s", e(syscall.Removexattr("docs/renamed.txt", "user.job")))
	var sfs syscall.Statfs_t
	p("statfs: %s", e(syscall.Statfs("docs", &sfs)))
	p("renameat2 noreplace: %s", e(renameat2("foo", "numbers.hard", 1)))
	p("renameat2 exchange: %s", e(renameat2("foo", "numbers.hard", 2)))
	cat("foo")
	p("openat2: %s", e(openat2("docs/renamed.txt")))
	p("rmdir file: %s", e(syscall.Rmdir("foo")))
	p("unlink dir: %s", e(syscall.Unlink("docs")))
	p("open dir for writing: %s", e(func() error {
		_, err := os.OpenFile("docs", os.O_WRONLY, 0)
		return err
	}()))
	p("mkdir under a file: %s", e(os.Mkdir("foo/x", 0755)))
	opath("foo.link")
	// the whole tree
	filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			p("walk %s: %s", path, e(err))
			return nil
		}
		p("walk %s %s", path, d.Type())
		return nil
	})
	// exec of a script and of programs stored in the view
	run("./bin/hello.sh", "a", "b")
	run("bin/strict.sh", "a", "b c")
	run(filepath.Join(root, "bin/hello.sh"), "absolute")
	run("bin/true")
	run("bin/gojob", "hello")
	run("sh", "-c", "cat foo; ls source; cd x && ../bin/gojob hello")
	runBare("/bin/cat", "foo", "x/y/z/new.txt")
	runBare("/bin/sh", "-c", "cd source && ls -a && cat made.c && echo new > n && ls && pwd -P | sed 's|.*/||'")
	runBare("/bin/ls", "-l", "--time-style=+", "x/y")
	run("./missing")
	run("./docs/renamed.txt")
}
