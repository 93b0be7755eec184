#!/bin/bash
# SPDX-License-Identifier: MIT
# Programs that make their own system calls, under the launcher's
# supervisor (scripts/supervise.c): a Go program (static, and linked with
# libc through cgo) and the static busybox run a script of reads and writes
# through `layerfs run` over an archive lower and over a directory
# overlaid in place, and on an extracted copy of the same tree.  As
# programs.sh does for C programs: outputs equal, final trees equal, the
# lower byte-identical, nothing created on the host at the mount point,
# and `layerfs diff` listing exactly what the program changed.  Then the
# Go toolchain on a module stored in the view (its build cache in the
# view), io_uring_setup, and SIGKILL of a Go program with many threads in
# the middle of its calls.
. "$(dirname "$0")/lib.sh"
setup_fixture

export XDG_RUNTIME_DIR=$T/run	# the launcher's private directories: seen to go
mkdir -m 700 "$XDG_RUNTIME_DIR"
TO=60	# seconds any one launcher run may take
AT=/sandbox/layerfs-sup-$$	# the archive's mount point: nothing there on the host
sandbox_before=$([ -e /sandbox ] && echo yes || echo no)

# ---- the programs -------------------------------------------------------------

# Go, offline, everything under $T; one build cache for the builds made
# here, outside the view.
export HOME=$T/home GOPATH=$T/gopath GOCACHE=$T/gocache GOPROXY=off GOFLAGS= \
	GO111MODULE=on GOTOOLCHAIN=local GOTELEMETRY=off
mkdir -p "$HOME"
gosrc=$top/tests/tools/go
build_go() { # build_go OUT SRCDIR [ENV...]: builds the main package in SRCDIR
	local out=$1 src=$2; shift 2
	rm -rf "$T/gobuild" && mkdir -p "$T/gobuild" && cp "$src"/*.go "$T/gobuild/" &&
		printf 'module job\n\ngo 1.19\n' > "$T/gobuild/go.mod" &&
		(cd "$T/gobuild" && env "$@" go build -o "$out" .) > "$T/gobuild.log" 2>&1
}
if ! command -v go >/dev/null; then
	not_ok "go is installed (golang-go, see scripts/deps.sh)"
	finish; exit
fi
if ! build_go "$T/job-static" "$gosrc/job" CGO_ENABLED=0; then
	not_ok "go build: a static Go program" "$(cat "$T/gobuild.log")"
	finish; exit
fi
ok "go build: a static Go program"
progs=("$T/job-static")
if build_go "$T/job-cgo" "$gosrc/job" CGO_ENABLED=1 && file "$T/job-cgo" | grep -q dynamic; then
	ok "go build: a Go program linked with libc (cgo)"
	progs+=("$T/job-cgo")
else
	not_ok "go build: a Go program linked with libc (cgo)" "$(cat "$T/gobuild.log")"
fi
check "go build: the stress program" build_go "$T/stress" "$gosrc/stress" CGO_ENABLED=0
BB=/bin/busybox
if ! [ -x $BB ] || ! file -L $BB | grep -q 'statically linked'; then
	not_ok "a static busybox at $BB (busybox-static, see scripts/deps.sh)"
	finish; exit
fi
# Its applets by name, first on the PATH of its own shell's script.
mkdir "$T/bb"
for a in sh ls find cat cp mv rm mkdir ln chmod touch sed tar stat readlink du \
	pwd head tail wc sort md5sum rmdir grep env od; do
	ln -s $BB "$T/bb/$a"
done

# The fixture gets a Go program of its own, run from inside the view.
cp "$T/job-static" "$T/fixture/bin/gojob"
printf '#!/bin/sh  -e \necho "strict $0 $*"; false; echo not reached\n' > "$T/fixture/bin/strict.sh"
chmod 755 "$T/fixture/bin/strict.sh"
tar -C "$T/fixture" -cf "$T/fixture.tar" .
FIXSUM=$(md5sum < "$T/fixture.tar")
fixture_tree=$(tree_of "$T/fixture")

# ---- the differential cases -------------------------------------------------

# The busybox script (run by busybox's sh: every applet supervised; the
# dynamic programs it starts inherit the supervision and run the shim).
bb_script='cd "$1" || exit 99
PATH=${0%/*}:$PATH
pwd
cat foo foo.link docs/readme.txt
cat missing dangling; echo "rc=$?"
ls -lR . | grep -v "^total" | awk "{print \$1, \$3, \$NF}"
ls -a docs src
find . | sort
find . -type l | sort
stat -c "%n %F %a %s %h %Y" foo foo.link dangling bin/hello.sh readonly.txt docs/readme.txt
readlink foo.link; readlink dangling; readlink -f readme.link
du -a -b docs/readme.txt docs/numbers.txt src/main.c | sort -k2
mkdir -p x/y/z deep/a/new
echo new > x/y/z/new.txt
echo more >> foo
cat foo foo.hard
cp -a src src2
cp docs/readme.txt docs/copy
mv docs/numbers.txt numbers
mv src/lib src/library
rm foo.hard
rm -r deep/a/b
rmdir docs/empty
rmdir docs; echo "rc=$?"
ln -s ../foo x/lnk
cat x/lnk
ln -s x foo; echo "rc=$?"
chmod 600 foo; chmod -R go-rx src2
touch -d "2021-01-01 00:00:00" docs/copy newtouch
sed -i "s/line/LINE/" docs/readme.txt
cat docs/readme.txt
tar -cf x/a.tar src docs && tar -tf x/a.tar | sort && mkdir out && tar -C out -xf x/a.tar && rm x/a.tar && find out | sort
cd x/y && pwd && cat z/new.txt ../../foo && cd ../..
./bin/hello.sh one two
bin/strict.sh a "b c"; echo "rc=$?"
"$1/bin/hello.sh" absolute
bin/true && echo ran true
bin/gojob hello
sh bin/hello.sh three
/bin/ls docs src2 x
/bin/cat x/y/z/new.txt
stat -c "%n %a %s" foo numbers docs/copy newtouch x x/lnk src2/main.c
stat -c "%n %Y" docs/copy
ls -a . docs src src2 x out
md5sum numbers docs/readme.txt x/y/z/new.txt'

# The same job on a real copy: its output (the root spelled @R@), and the
# tree it leaves.
ref_run() { # ref_run PROG...: in $T/ref, a fresh copy
	rm -rf "$T/ref" && mkdir "$T/ref" && tar -C "$T/ref" -xf "$T/fixture.tar"
	ref_out=$(cd "$T/scratch" && "$@" "$T/ref" 2>&1; echo "exit=$?")
	ref_out=${ref_out//$T\/ref/@R@}
	ref_tree=$(tree_of "$T/ref")
}

# sup_case NAME EXPECTED-DIFF PROG...: PROG ROOT [ARGS] runs in ROOT; on a
# copy, then through the launcher over the archive at $AT and over a copy
# overlaid in place, each with a fresh --upper.
sup_case() {
	local name=$1 want_diff=$2; shift 2
	local mode root lower out tree d
	mkdir -p "$T/scratch"
	ref_run "$@"
	for mode in archive in-place; do
		rm -rf "$T/up" "$T/ip"
		if [ $mode = archive ]; then
			root=$AT lower=$T/fixture.tar
		else
			mkdir "$T/ip" && tar -C "$T/ip" -xf "$T/fixture.tar"
			root=$T/ip lower=$T/ip
		fi
		out=$(cd "$T/scratch" && timeout -k 5 $TO "$LAYERFS" run --lower "$lower" --at "$root" \
			--upper "$T/up" -- "$@" "$root" 2>&1; echo "exit=$?")
		out=${out//$root/@R@}
		tree=$(timeout -k 5 $TO "$LAYERFS" run --lower "$lower" --at "$root" --upper "$T/up" -- \
			bash -c "$(declare -f tree_of); tree_of $root")
		d=$(timeout -k 5 $TO "$LAYERFS" diff --lower "$lower" "$T/up" 2>&1)
		check_eq "$name, $mode: output as on a real directory" "$ref_out" "$out"
		check_eq "$name, $mode: final tree as on a real directory" "$ref_tree" "$tree"
		check_eq "$name, $mode: layerfs diff lists what it changed" "$want_diff" "$d"
		if [ $mode = archive ]; then
			check_eq "$name, $mode: the archive is byte-identical" "$FIXSUM" \
				"$(md5sum < "$T/fixture.tar")"
			if [ -e "$AT" ] || { [ $sandbox_before = no ] && [ -e /sandbox ]; }; then
				not_ok "$name, $mode: nothing created on the host at $AT"
			else
				ok "$name, $mode: nothing created on the host at the mount point"
			fi
		else
			check_eq "$name, $mode: the lower directory is unchanged" "$fixture_tree" \
				"$(tree_of "$T/ip")"
		fi
	done
}

# readonly.txt: opened for writing (and not written), which copies it up, as
# overlayfs does.  A directory is C when its own entries changed.
go_diff='D deep
C docs
D docs/empty
C docs/numbers.txt
D docs/readme.txt
A docs/renamed.txt
C foo
D foo.hard
C foo.link
A numbers.hard
C readonly.txt
A source
A source/lib
A source/made.c
A source/main.c
A source/n
A source/sub
D src
A x
A x/fifo
A x/y
A x/y/lnk
A x/y/z
A x/y/z/new.txt
A x/y/z/rel.txt'
for prog in "${progs[@]}"; do
	sup_case "go ${prog##*/}" "$go_diff" "$prog"
done

bb_diff='C deep/a
D deep/a/b
A deep/a/new
C docs
A docs/copy
D docs/empty
D docs/numbers.txt
C docs/readme.txt
C foo
D foo.hard
A newtouch
A numbers
A out
A out/docs
A out/docs/copy
A out/docs/readme.txt
A out/src
A out/src/library
A out/src/library/lib.c
A out/src/main.c
C src
D src/lib
A src/library
A src/library/lib.c
A src2
A src2/lib
A src2/lib/lib.c
A src2/main.c
A x
A x/lnk
A x/y
A x/y/z
A x/y/z/new.txt'
sup_case "busybox sh" "$bb_diff" "$T/bb/sh" -c "$bb_script" "$T/bb/sh"

# The README's CI recipe as a new user types it: the checkout overlaid in
# place from inside it, a Go program stored in it run by a relative path.
ref_run "$T/job-static"
rm -rf "$T/ci" "$T/ciup" && mkdir "$T/ci" && tar -C "$T/ci" -xf "$T/fixture.tar"
got=$(cd "$T/ci" && timeout -k 5 $TO "$LAYERFS" run --lower . --upper "$T/ciup" -- ./bin/gojob "$T/ci" 2>&1
	echo "exit=$?")
got=${got//$T\/ci/@R@}
check_eq "layerfs run --lower . -- ./bin/gojob: as on a real directory" "$ref_out" "$got"
check_eq "layerfs run --lower . -- ./bin/gojob: the checkout is unchanged" "$fixture_tree" \
	"$(tree_of "$T/ci")"

# ---- the Go toolchain in the view ------------------------------------------

# A module stored in an archive, built and tested at its mount point with
# the build cache in the view; then the same on a real copy.
mkdir -p "$T/mod" && cp -r "$gosrc/mod/." "$T/mod/" && tar -C "$T/mod" -cf "$T/mod.tar" .
modsum=$(md5sum < "$T/mod.tar")
gojob='cd "$1" && export GOCACHE=$1/.cache/go GOFLAGS=-mod=mod CGO_ENABLED=0 &&
go vet ./... && go build -o bin/greeter . && ./bin/greeter && go test -count=1 ./... | sed "s/\t[0-9.]*s$//" &&
ls bin && test -d .cache/go && echo cache in the view'
rm -rf "$T/modref" && mkdir "$T/modref" && tar -C "$T/modref" -xf "$T/mod.tar"
want=$(bash -c "$gojob" sh "$T/modref" 2>&1; echo "exit=$?")
want=${want//$T\/modref/@R@}
got=$(cd "$T/scratch" && timeout -k 5 120 "$LAYERFS" run --lower "$T/mod.tar" --at "$AT" \
	--upper "$T/modup" -- bash -c "$gojob" sh "$AT" 2>&1; echo "exit=$?")
got=${got//$AT/@R@}
check_eq "go vet, go build, go test of a module in the view, cache in the view" "$want" "$got"
check_eq "go build: the module's archive is byte-identical" "$modsum" "$(md5sum < "$T/mod.tar")"
if [ -x "$T/modup/bin/greeter" ] && [ -d "$T/modup/.cache/go" ] && ! [ -e "$AT" ]; then
	ok "go build: the program and the build cache went to the upper, nothing to the host"
else
	not_ok "go build: the program and the build cache went to the upper" \
		"$(ls -la "$T/modup" "$AT" 2>&1)"
fi

# ---- io_uring ---------------------------------------------------------------

got=$(timeout -k 5 $TO "$LAYERFS" run --lower "$T/fixture.tar" --at "$AT" -- "$T/job-static" uring 2>&1)
check_eq "io_uring_setup: ENOSYS under the supervisor" "io_uring_setup: function not implemented" "$got"

# ---- the user's umask ---------------------------------------------------------

got=$(umask 027; timeout -k 5 $TO "$LAYERFS" run --lower "$T/fixture.tar" --at "$AT" -- \
	$BB sh -c "umask; touch $AT/new; mkdir $AT/newdir; stat -c %a $AT/new $AT/newdir; /bin/sh -c umask")
check_eq "the job has the user's umask, supervised or not" "0027
640
750
0027" "$got"

# ---- SIGKILL in the middle of supervised calls ----------------------------

# Many threads of a Go program make calls in the view at once; it is killed
# with SIGKILL.  The launcher must return at once with 137, nothing of
# the job may stay (processes, the launcher's directories), the lower
# must be unchanged, and the next job must see exactly its own view.
for i in 1 2 3; do
	rm -f "$T/pid"
	(cd "$T/scratch" && exec timeout -k 5 $TO "$LAYERFS" run --lower "$T/fixture.tar" --at "$AT" -- \
		"$T/stress" "$AT" "$T/pid") > "$T/kill.out" 2>&1 &
	lpid=$!
	for _ in $(seq 100); do [ -s "$T/pid" ] && break; sleep 0.05; done
	sleep 0.3
	tpid=$(cat "$T/pid" 2>/dev/null)
	if [ -z "$tpid" ]; then
		not_ok "kill $i: the stress program started" "$(cat "$T/kill.out")"
		kill -9 $lpid 2>/dev/null; wait $lpid
		continue
	fi
	kill -9 "$tpid"
	wait $lpid; rc=$?
	check_eq "kill $i: the launcher returns the target's SIGKILL (137)" 137 $rc
	left=$(ps -eo pid=,args= | grep -F -- "$T/" | grep -v -e grep -e "ps -eo" || true)
	check_eq "kill $i: no process of the job is left" "" "$left"
	check_eq "kill $i: the launcher's directories are gone" "" "$(ls -A "$XDG_RUNTIME_DIR")"
	check_eq "kill $i: the archive is byte-identical" "$FIXSUM" "$(md5sum < "$T/fixture.tar")"
	got=$(cd "$T/scratch" && timeout -k 5 $TO "$LAYERFS" run --lower "$T/fixture.tar" --at "$AT" -- \
		$BB sh -c "cat $AT/foo $AT/docs/readme.txt; ls $AT; ls $AT/g0 2>&1" 2>&1)
	check_eq "kill $i: the next job sees its own view" "$(cd "$T/fixture" && cat foo docs/readme.txt; ls)
ls: $AT/g0: No such file or directory" "$got"
done

if [ -e "$AT" ]; then not_ok "nothing was ever created at $AT on the host"; else
	ok "nothing was ever created at the mount point on the host"; fi
check_fixture_intact
finish
