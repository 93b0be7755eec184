# SPDX-License-Identifier: MIT
"""gen_corpus.py - the benchmark's corpus, generated deterministically.

usage: gen_corpus.py SCRATCH [--quick]

Writes under SCRATCH (which must exist):
  lower/      the main tree: a deep tree of files of realistic sizes (log-normal,
              mostly text, some binary), symlinks, big.bin (the big file), and
              proj/ (a small C project with a Makefile, for W8)
  small/      a 10^3-entry tree and many/ a 10^5-entry tree (W7, index cost)
  gomod/      a Go module of a few hundred .go files, standard library only
              (W9: go vet and go build)
  lists/      the names each workload touches (relative to the tree root)
  expect/     what each workload's check must find, one value per file
  stats       key=value lines describing the corpus (for the report)

Everything comes from one seeded generator, so two runs write the same bytes.
The archives are packed from these trees by run.sh.
"""
import os
import random
import sys

SEED = 20240606
W4_LINE = b"appended by W4\n"


def words(rng, n):
    syll = ["ka", "lo", "mi", "ne", "ru", "ta", "shi", "ven", "dor", "pex",
            "al", "ob", "qui", "zen", "tri", "mon", "est", "ur", "fa", "gle"]
    out = set()
    while len(out) < n:
        out.add("".join(rng.choice(syll) for _ in range(rng.randint(1, 4))))
    return sorted(out)


def text_pool(rng, size):
    """size bytes of text-like data: lines of words, indented like code."""
    vocab = words(rng, 3000)
    lines, total = [], 0
    while total < size:
        ws = [rng.choice(vocab) for _ in range(rng.randint(2, 12))]
        line = "    " * rng.randint(0, 3) + " ".join(ws) + (";" if rng.random() < .3 else "") + "\n"
        lines.append(line)
        total += len(line)
    return "".join(lines).encode()[:size]


def name(rng, used, exts):
    syll = ["src", "lib", "util", "core", "io", "net", "test", "data", "conf",
            "doc", "img", "view", "model", "parse", "gen", "main", "api", "db"]
    while True:
        n = "_".join(rng.choice(syll) for _ in range(rng.randint(1, 3)))
        n += str(rng.randint(0, 999)) if rng.random() < .5 else ""
        n += rng.choice(exts)
        if n not in used:
            used.add(n)
            return n


def slice_of(rng, pool, size):
    if size <= len(pool):
        off = rng.randrange(0, len(pool) - size + 1)
        return pool[off:off + size]
    return (pool * (size // len(pool) + 1))[:size]


def write(path, data, mode=0o644):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def gen_main(rng, root, pool, nfiles, ndirs, big_mib, nmods):
    """The main tree; returns (regular files {rel: size}, dirs, symlinks)."""
    os.makedirs(root)
    dirs, depth, used = [""], {"": 0}, {"": set()}
    while len(dirs) < ndirs:
        # Bias toward recently made directories, so the tree gets deep.
        parent = dirs[int(len(dirs) * rng.random() ** 0.4) if len(dirs) > 1 else 0]
        if depth[parent] >= 14:
            continue
        d = os.path.join(parent, name(rng, used[parent], [""]))
        os.mkdir(os.path.join(root, d))
        dirs.append(d)
        depth[d], used[d] = depth[parent] + 1, set()
    files = {}
    exts = [".c", ".h", ".py", ".txt", ".md", ".json", ".html", ".js", ".rs", ".go"]
    bexts = [".png", ".o", ".gz", ".bin"]
    for _ in range(nfiles):
        d = rng.choice(dirs)
        binary = rng.random() < .08
        f = os.path.join(d, name(rng, used[d], bexts if binary else exts))
        size = min(int(rng.lognormvariate(7.8, 1.6)), 4 << 20)
        data = rng.randbytes(size) if binary else slice_of(rng, pool, size)
        write(os.path.join(root, f), data, 0o755 if rng.random() < .05 else 0o644)
        files[f] = size
    names = sorted(files)
    links = 0
    for _ in range(nfiles // 100):
        d = rng.choice(dirs)
        target = rng.choice(names)
        link = os.path.join(d, name(rng, used[d], [".lnk"]))
        os.symlink(os.path.relpath(target, d or "."), os.path.join(root, link))
        links += 1
    # The big file, in 1 MiB pieces of the text pool (compressible).
    with open(os.path.join(root, "big.bin"), "wb") as f:
        for _ in range(big_mib):
            f.write(slice_of(rng, pool, 1 << 20))
    os.chmod(os.path.join(root, "big.bin"), 0o644)
    nproj = gen_proj(rng, os.path.join(root, "proj"), nmods)
    return files, len(dirs), links, nproj  # dirs: root excluded, proj included


def gen_proj(rng, proj, nmods):
    """A small C project: nmods modules, a header, main.c, a Makefile."""
    os.mkdir(proj)
    write(os.path.join(proj, "Makefile"),
          b"CFLAGS = -O1 -Wall\n"
          b"OBJS = $(patsubst %.c,%.o,$(sort $(wildcard *.c)))\n"
          b"prog: $(OBJS)\n\t$(CC) $(CFLAGS) -o $@ $(OBJS)\n"
          b"%.o: %.c common.h\n\t$(CC) $(CFLAGS) -c $< -o $@\n")
    hdr = ["#include <stdint.h>", "#include <stdio.h>", "#include <string.h>"]
    calls = []
    for m in range(nmods):
        src = ['#include "common.h"', ""]
        for fn in range(24):
            f = "m%02d_f%02d" % (m, fn)
            a, b, c = rng.randint(3, 97), rng.randint(1, 31), rng.randint(5, 40)
            src += ["uint64_t %s(uint64_t x)" % f, "{",
                    "\tuint64_t acc = %d;" % a,
                    "\tchar buf[64];",
                    "\tfor (int i = 0; i < %d; i++) {" % c,
                    "\t\tacc = acc * %du + (x ^ (uint64_t)i);" % (2 * b + 1),
                    "\t\tif (acc %% %d == 0)" % (a + 2),
                    "\t\t\tacc += (uint64_t)snprintf(buf, sizeof(buf), \"%d\", i);",
                    "\t\tswitch (i & 3) {",
                    "\t\tcase 0: acc ^= acc >> %d; break;" % (b % 29 + 1),
                    "\t\tcase 1: acc += strlen(buf); break;",
                    "\t\tdefault: acc -= %d; break;" % a,
                    "\t\t}", "\t}", "\treturn acc;", "}", ""]
            hdr.append("uint64_t %s(uint64_t x);" % f)
            calls.append(f)
        write(os.path.join(proj, "m%02d.c" % m), "\n".join(src).encode())
    write(os.path.join(proj, "common.h"), ("\n".join(hdr) + "\n").encode())
    main = ['#include <inttypes.h>', '#include "common.h"', "", "int main(void)", "{",
            "\tuint64_t s = 1;"]
    main += ["\ts = s * 31 + %s(s);" % f for f in calls]
    main += ['\tprintf("%" PRIu64 "\\n", s);', "\treturn 0;", "}", ""]
    write(os.path.join(proj, "main.c"), "\n".join(main).encode())
    return nmods + 3


def gen_flat(rng, root, pool, ndirs, nfiles):
    """A two-level tree of nfiles small files (W7, index cost).
    Returns ({rel: size}, bytes of all names)."""
    os.makedirs(root)
    top = max(1, int(ndirs ** 0.5))
    dirs, name_bytes = [], 0
    for i in range(ndirs):
        d = "pkg%03d" % (i % top) if i < top else "pkg%03d/mod%04d" % (i % top, i)
        os.makedirs(os.path.join(root, d), exist_ok=True)
        dirs.append(d)
        name_bytes += len(os.path.basename(d))
    files = {}
    for i in range(nfiles):
        d = dirs[i % ndirs]
        f = "%s/item%06d_%s.dat" % (d, i, rng.choice(["a", "bc", "def", "ghij"]))
        size = rng.randint(0, 300)
        write(os.path.join(root, f), slice_of(rng, pool, size))
        files[f] = size
        name_bytes += len(os.path.basename(f))
    return files, name_bytes


def gen_gomod(rng, root, npkg, nfiles):
    """A Go module (standard library only): npkg packages of nfiles files,
    each package importing the one before it in runs of five, and a main
    package that calls them all.  Clean for go vet.  Returns its file count."""
    os.makedirs(root)
    write(os.path.join(root, "go.mod"), b"module example.com/gomod\n\ngo 1.19\n")
    count = 0
    for p in range(npkg):
        pkg = "p%03d" % p
        d = os.path.join(root, "internal", pkg)
        os.makedirs(d)
        dep = p - 1 if p % 5 else None
        names = []
        for f in range(nfiles):
            imports = ['"fmt"', '"sort"', '"strconv"', '"strings"']
            if dep is not None and f == 0:
                imports += ['', '"example.com/gomod/internal/p%03d"' % dep]
            src = ["// Code generated by bench/gen_corpus.py. DO NOT EDIT.", "",
                   "package " + pkg, "", "import ("] + [("\t" + i).rstrip() for i in imports] + [")", ""]
            t = "T%02d" % f
            src += ["// %s is a small value type." % t,
                    "type %s struct {" % t, "\tA, B uint64", "\tName string", "}", "",
                    "// Mix combines the fields.",
                    "func (t *%s) Mix(k uint64) uint64 {" % t,
                    "\treturn (t.A*%d ^ t.B) + k + uint64(len(t.Name))" % (2 * rng.randint(1, 999) + 1),
                    "}", ""]
            for fn in range(6):
                name = "F%02d_%d" % (f, fn)
                names.append(name)
                a, b, c = rng.randint(3, 97), rng.randint(1, 31), rng.randint(5, 40)
                src += ["// %s is generated." % name,
                        "func %s(x uint64) uint64 {" % name,
                        "\tacc := uint64(%d)" % a,
                        "\tparts := make([]string, 0, %d)" % c,
                        "\tfor i := 0; i < %d; i++ {" % c,
                        "\t\tacc = acc*%d + (x ^ uint64(i))" % (2 * b + 1),
                        "\t\tif acc%%%d == 0 {" % (a + 2),
                        "\t\t\tparts = append(parts, strconv.Itoa(i))",
                        "\t\t}",
                        "\t\tswitch i & 3 {",
                        "\t\tcase 0:",
                        "\t\t\tacc ^= acc >> %d" % (b % 29 + 1),
                        "\t\tcase 1:",
                        "\t\t\tacc += uint64(len(fmt.Sprintf(\"%%d-%%s\", i, %s)))" %
                        ("\"" + pkg + "\""),
                        "\t\tdefault:",
                        "\t\t\tacc -= %d" % a,
                        "\t\t}",
                        "\t}",
                        "\tsort.Strings(parts)",
                        "\tt := %s{A: acc, B: x, Name: strings.Join(parts, \",\")}" % t,
                        "\treturn t.Mix(acc)",
                        "}", ""]
            if f == 0:
                src += ["// Sum calls every function of the package.",
                        "func Sum(x uint64) uint64 {", "\ts := x"]
                if dep is not None:
                    src.append("\ts += p%03d.Sum(x)" % dep)
                src += ["\tfor _, f := range funcs {", "\t\ts = s*31 + f(s)", "\t}",
                        "\treturn s", "}", ""]
            write(os.path.join(d, "f%02d.go" % f), "\n".join(src).encode())
            count += 1
        lst = ["// Code generated by bench/gen_corpus.py. DO NOT EDIT.", "",
               "package " + pkg, "", "var funcs = []func(uint64) uint64{"]
        lst += ["\t%s," % n for n in names] + ["}", ""]
        write(os.path.join(d, "funcs.go"), "\n".join(lst).encode())
        count += 1
    main = ["// Code generated by bench/gen_corpus.py. DO NOT EDIT.", "", "package main", "",
            "import (", '\t"fmt"', ""]
    tops = [p for p in range(npkg) if p % 5 == 4 or p == npkg - 1]
    main += ['\t"example.com/gomod/internal/p%03d"' % p for p in tops]
    main += [")", "", "func main() {", "\ts := uint64(1)"]
    main += ["\ts = s*31 + p%03d.Sum(s)" % p for p in tops]
    main += ["\tfmt.Println(s)", "}", ""]
    write(os.path.join(root, "main.go"), "\n".join(main).encode())
    return count + 1


def main():
    args = sys.argv[1:]
    if not 1 <= len(args) <= 2 or args[0].startswith("-") or args[1:] not in ([], ["--quick"]):
        sys.exit("usage: gen_corpus.py SCRATCH [--quick]")
    scratch, quick = args[0], args[1:] == ["--quick"]
    if not os.path.isdir(scratch):
        sys.exit("gen_corpus.py: %s: not a directory" % scratch)
    rng = random.Random(SEED)
    pool = text_pool(rng, 4 << 20)
    nfiles, ndirs, big_mib, nmods = (2500, 250, 32, 6) if quick else (12000, 1200, 200, 16)
    nmany = 20000 if quick else 100000

    files, ndir, nlink, nproj = gen_main(rng, os.path.join(scratch, "lower"), pool,
                                         nfiles, ndirs, big_mib, nmods)
    small, _ = gen_flat(rng, os.path.join(scratch, "small"), pool, 10, 1000 - 10)
    many_dirs = nmany // 250
    many, many_names = gen_flat(rng, os.path.join(scratch, "many"), pool, many_dirs,
                                nmany - many_dirs)

    # W9's module, from a generator of its own: the trees above stay as
    # they were before it existed.
    npkg = 8 if quick else 30
    gofiles = gen_gomod(random.Random(SEED + 9), os.path.join(scratch, "gomod"), npkg, 10)

    lists = os.path.join(scratch, "lists")
    expect = os.path.join(scratch, "expect")
    os.makedirs(lists, exist_ok=True)
    os.makedirs(expect, exist_ok=True)
    names = sorted(files)
    pick = rng.sample(names, 2000)
    w4, w6_del = sorted(pick[:1000]), sorted(pick[1000:])
    new = []
    dirs = sorted({os.path.dirname(f) for f in names})
    for i in range(2000):
        new.append(os.path.join(rng.choice(dirs), "new%04d.txt" % i))
    w7s = rng.sample(sorted(small), 500)
    w7m = rng.sample(sorted(many), 500)

    def put(d, fname, text):
        with open(os.path.join(d, fname), "w") as f:
            f.write(text)

    put(lists, "w4", "".join(f + "\n" for f in w4))
    put(lists, "w6_del", "".join(f + "\n" for f in w6_del))
    put(lists, "w6_new", "".join(f + "\n" for f in new))
    put(lists, "w7_small", "".join(f + "\n" for f in w7s))
    put(lists, "w7_many", "".join(f + "\n" for f in w7m))

    nfile_all = len(files) + 1 + nproj  # + big.bin + the project's files
    entries = 1 + ndir + nfile_all + nlink  # find prints the root too
    big = big_mib << 20
    put(expect, "W1", "%d\n" % entries)
    put(expect, "W2", "%d\n" % (sum(files.values()) + sum(
        os.path.getsize(os.path.join(scratch, "lower", "proj", p))
        for p in os.listdir(os.path.join(scratch, "lower", "proj")))))
    put(expect, "W3", "%d\n" % big)
    put(expect, "W4", "%d\n" % (sum(files[f] for f in w4) + len(w4) * len(W4_LINE)))
    put(expect, "W5", "%d\n" % (big + 1))
    put(expect, "W6", "%d\n" % entries)
    put(expect, "W7s", "%d\n" % sum(small[f] for f in w7s))
    put(expect, "W7m", "%d\n" % sum(many[f] for f in w7m))
    put(scratch, "stats",
        "files=%d\ndirs=%d\nsymlinks=%d\nbytes=%d\nbig=%d\nmods=%d\n"
        "small_entries=%d\nmany_entries=%d\nmany_name_bytes=%d\n"
        "go_pkgs=%d\ngo_files=%d\n" % (
            nfile_all, ndir, nlink, sum(files.values()) + big, big, nmods,
            len(small) + 10 + 1, len(many) + many_dirs + 1, many_names, npkg + 1, gofiles))


if __name__ == "__main__":
    main()
