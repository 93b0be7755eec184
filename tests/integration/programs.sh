#!/bin/bash
# SPDX-License-Identifier: MIT
# Real programs under the shim, compared with the same commands on a real
# directory holding the same tree (see lib.sh: diff_case).
. "$(dirname "$0")/lib.sh"
setup_fixture

# coreutils: reading
diff_case "cat/head/tail/wc" 'cat foo docs/readme.txt; head -n 3 docs/numbers.txt; tail -n 2 docs/numbers.txt; wc -l docs/numbers.txt; cat foo.link readme.link'
diff_case "cat of missing and dangling" 'cat missing; cat dangling; cat foo/x; echo done'
diff_case "ls" 'ls; ls -1a docs; ls -d src/*; ls -F bin; ls missing'
diff_case "ls -lR names and modes" 'ls -lR --time-style=+ . | awk "{print \$1, \$NF}"'
diff_case "stat" 'stat -c "%n %F %a %s %h" foo foo.link dangling docs bin/hello.sh readonly.txt; stat -L -c "%n %F %s" foo.link'
diff_case "readlink/realpath" 'readlink foo.link dangling; readlink -f readme.link; realpath docs/../foo; realpath -e missing; echo $?'
diff_case "du" 'du -a --apparent-size -b docs src | sort -k2'
# coreutils: writing
diff_case "append copies up" 'echo more >> foo; cat foo foo.hard; echo again >> docs/readme.txt; cat docs/readme.txt'
diff_case "overwrite and truncate" ': > docs/numbers.txt; wc -c docs/numbers.txt; truncate -s 5 foo; od -c foo'
diff_case "touch/mkdir -p/rmdir" 'touch newfile docs/new; mkdir -p x/y/z deep/a/new; rmdir docs/empty; rmdir docs; ls -a x/y docs deep/a'
diff_case "rm" 'rm foo; rm -f missing; rm docs/readme.txt readme.link; cat foo.hard; ls docs; rm -r deep; ls; cat deep/a/b/c/leaf.txt'
diff_case "rm -rf everything" 'rm -rf ./* ; ls -a; mkdir src; ls -a src'
diff_case "cp -a" 'cp -a src src2; cp -a docs/readme.txt docs/copy; cp foo.link copied; ls -l src2 | wc -l; cat docs/copy copied'
diff_case "mv files and dirs" 'mv foo bar; mv docs documents; mv src/lib src/library; mv bin/hello.sh .; ls . documents src; cat bar documents/readme.txt'
diff_case "mv over existing" 'echo new > n; mv n foo; cat foo foo.hard; mv -T src docs/empty; ls docs/empty'
diff_case "ln and ln -s" 'ln foo foo.hard2; ln -s docs d; ls d; cat d/readme.txt; echo x >> foo.hard2; cat foo; ln -s x foo 2>&1; ln foo missingdir/x'
diff_case "chmod" 'chmod 600 foo; chmod -R go-rx docs; chmod u+s bin/hello.sh; stat -c "%a %n" foo docs docs/readme.txt bin/hello.sh'
diff_case "sed -i" 'sed -i "s/line/LINE/" docs/readme.txt; cat docs/readme.txt; sed -i -e 1d foo; wc -c foo'
diff_case "sort -o" 'sort -r -o docs/numbers.txt docs/numbers.txt; head -n 2 docs/numbers.txt'
diff_case "grep -r" 'grep -rn line . | sort; grep -rl "return 42" src; grep -r nothing .; echo $?'
diff_case "find" 'find . -name "*.c" | sort; find . -type l | sort; find . -type d -empty; find . -newer missing 2>/dev/null; find docs -name "*.txt" -exec wc -l {} \; | sort'
diff_case "find -delete" 'find . -name "*.txt" -delete; find . | sort'
diff_case "tar c and x" 'tar -cf /tmp/lfs-it-$$.tar docs src && mkdir out && tar -C out -xf /tmp/lfs-it-$$.tar && rm /tmp/lfs-it-$$.tar; find out | sort'
diff_case "gzip" 'gzip docs/numbers.txt; ls docs; gunzip -c docs/numbers.txt.gz | tail -n 1; gzip -d docs/numbers.txt.gz; wc -l docs/numbers.txt'
# shells
diff_case "bash: cd, redirections, globbing, source" 'cd docs && pwd && echo *.txt && cd .. && echo "x=1" > vars && . ./vars && echo $x; cd deep/a/b && pwd -P && cd ../../.. && echo src/*/*.c; exec 3> fd3.txt; echo via fd3 >&3; exec 3>&-; cat fd3.txt; cd /; cd - >/dev/null; pwd'
diff_case "dash" 'dash -c "cd docs && pwd && echo *.txt > list && cat list && cd .. && ./bin/hello.sh a b"'
diff_case "exec of a script in the view" './bin/hello.sh one two; bin/hello.sh; sh bin/hello.sh three; PATH=$PWD/bin:$PATH hello.sh four'
diff_case "exec of a program stored in the archive" './bin/true && echo ran; PATH=$PWD/bin:$PATH true && echo via PATH; python3 -c "import subprocess; print(subprocess.run([\"bin/true\"]).returncode)"'
# interpreters
diff_case "python3" 'python3 -c "
import os, shutil, tempfile, subprocess
print(open(\"foo\").read(), end=\"\")
for root, dirs, files in sorted(os.walk(\".\")):
    print(root, sorted(dirs), sorted(files))
print(sorted(e.name for e in os.scandir(\"docs\")))
shutil.copytree(\"src\", \"src3\"); shutil.rmtree(\"deep\")
with tempfile.NamedTemporaryFile(dir=\"docs\", delete=False) as t: t.write(b\"tmp\"); name = t.name
print(os.path.exists(name), open(name).read()); os.unlink(name)
print(subprocess.run([\"cat\", \"foo\"], capture_output=True).stdout)
print(os.path.realpath(\"readme.link\").endswith(\"docs/readme.txt\"))
"'
diff_case "perl" 'perl -e "open(F, q{<}, q{docs/readme.txt}) or die; print <F>; opendir(D, q{src}) or die; print join(q{,}, sort readdir D), qq{\n}; open(O, q{>>}, q{foo}); print O qq{perl\n}; close O; print -s q{foo}, qq{\n}; unlink q{foo.hard}; rename q{docs}, q{d2}; print -d q{d2} ? qq{yes\n} : qq{no\n}"'
# toolchain
diff_case "gcc" 'gcc -o prog src/main.c src/lib/lib.c 2>&1 && ./prog; echo $?; gcc -c src/lib/lib.c -o lib.o && ls lib.o'
diff_case "make incremental" 'printf "prog: src/main.c src/lib/lib.c\n\tgcc -o prog src/main.c src/lib/lib.c\n\techo built\n" > Makefile; make; make; touch src/main.c; make; make -q; echo q=$?'
# names and limits
diff_case "255-byte names, ENAMETOOLONG beyond" 'n=$(printf "a%.0s" $(seq 255)); touch "$n"; echo x > "docs/$n"; cat "docs/$n"; touch "${n}b"; echo $?; mkdir -p "$n/$n/$n/$n/$n/$n/$n/$n/$n/$n/$n/$n/$n/$n/$n" 2>&1 | sed "s/a\{255\}/N/g"; ls | wc -l'
diff_case "ls -i is stable across copy-up and rename" 'a=$(ls -i foo | cut -d" " -f1); echo x >> foo; b=$(ls -i foo | cut -d" " -f1); mv foo moved; c=$(ls -i moved | cut -d" " -f1); h=$(ls -i foo.hard | cut -d" " -f1); [ "$a" = "$b" ] && [ "$b" = "$c" ] && echo stable; d1=$(ls -di docs | cut -d" " -f1); touch docs/new; d2=$(ls -di docs | cut -d" " -f1); [ "$d1" = "$d2" ] && echo dir-stable'
# real applications
if command -v git >/dev/null; then
diff_case "git init/add/commit/status" 'export GIT_AUTHOR_DATE="2020-01-01T00:00:00Z" GIT_COMMITTER_DATE="2020-01-01T00:00:00Z" GIT_CONFIG_NOSYSTEM=1 HOME=$PWD; git init -q repo && cp -a src docs repo/ && cd repo && git add . && git -c user.email=a@b.c -c user.name=n commit -qm first && echo change >> docs/readme.txt && git status --short && git diff --stat && git -c user.email=a@b.c -c user.name=n commit -qam second && git log --format="%H %s" && git ls-files | head -3; cd .. && rm -rf repo/.git .gitconfig'
fi
if command -v sqlite3 >/dev/null; then
diff_case "sqlite3: a database in the archive, read then written" 'sqlite3 data.db "select * from t;"; sqlite3 data.db "insert into t values (3); update t set x = x * 10 where x = 1;"; sqlite3 data.db "select * from t order by x;"; sqlite3 data.db "pragma integrity_check;"; sqlite3 data.db .dump > dump.sql; rm data.db'
fi

check_fixture_intact
finish
