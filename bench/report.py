# SPDX-License-Identifier: MIT
"""report.py - turns one benchmark run's measurements into the report.

usage: report.py SCRATCH RESULTS.md RESULTS.png PLOT

SCRATCH is run.sh's scratch directory: t/W.C.warm (one time a line),
t/W.C.first and t/W.C.firstin (first touch, from outside and inside the
launcher), t/W.C.KIND.fail (why a cell failed), avail, extra, machine and
stats (key=value lines).  PLOT is "yes" or the reason there is no plot.
Writes RESULTS.md, draws RESULTS.png with gnuplot, and prints the tables.
"""
import os
import statistics
import subprocess
import sys

WORKLOADS = [
    ("W1", "W1 stat-walk"),
    ("W2", "W2 read-all"),
    ("W3", "W3 big-read"),
    ("W4", "W4 copy-up small"),
    ("W5", "W5 copy-up big"),
    ("W6", "W6 create/delete"),
    ("W7s", "W7 spawn, 10³ entries"),
    ("W7m", "W7 spawn, 10⁵ entries"),
    ("W8", "W8 C build"),
    ("W9", "W9 Go vet+build, cold cache"),
    ("W9w", "W9 Go vet+build, warm cache"),
    ("P", "P passthrough"),
    ("K1", "K1 kernel: ls -laR"),
    ("K2", "K2 kernel: du -s"),
    ("K3", "K3 kernel: stat walk"),
    ("K4", "K4 kernel: find -printf"),
    ("K5", "K5 kernel: grep -rn"),
    ("A1", "A1 anchor: ls -laR, ×5"),
    ("A2", "A2 anchor: du -s, ×5"),
    ("A3", "A3 anchor: stat walk, ×5"),
    ("A4", "A4 anchor: find -printf, ×5"),
    ("A5", "A5 anchor: grep -rn, ×5"),
]
REAL = ("K1", "K2", "K3", "K4", "K5", "A1", "A2", "A3", "A4", "A5")
REAL_CONTENDERS = ("native", "kovl", "lfs-tar", "lfs-tgz", "lfs-txz", "base")
REAL_LFS = ["lfs-tar", "lfs-tgz", "lfs-txz"]
CONTENDERS = [
    ("native", "native"),
    ("extract-tar", "extract .tar"),
    ("extract-tgz", "extract .tar.gz"),
    ("kovl", "kernel overlayfs"),
    ("fovl", "fuse-overlayfs"),
    ("lfs-tar", "layerfs .tar"),
    ("lfs-tgz", "layerfs .tar.gz"),
    ("lfs-txz", "layerfs .tar.xz"),
    ("base", "baseline layerfs .tar"),
    ("proot", "proot"),
]
LFS = ["lfs-tar", "lfs-tgz"]
# Contenders that run some workloads only (run.sh's only_on).
ONLY_ON = {"base": ("W1", "W2", "W7s", "W7m", "P") + REAL, "proot": ("W9", "W9w"),
           "lfs-txz": ("K1", "K2", "K3", "K4", "K5")}
P_CONTENDERS = ("native", "lfs-tar", "base")
LABEL = dict(CONTENDERS)
WLABEL = dict(WORKLOADS)


def kvfile(path):
    out = {}
    if os.path.exists(path):
        for line in open(path):
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                out[k] = v
    return out


def power(n):
    """10³ for 1000 or 1001 (the root), else the number itself."""
    sup = {"3": "³", "4": "⁴", "5": "⁵", "6": "⁶"}
    for e, c in sup.items():
        if int(n) in (10 ** int(e), 10 ** int(e) + 1):
            return "10" + c
    return n


class Run:
    def __init__(self, s):
        self.s = s
        self.avail = {}
        for line in open(os.path.join(s, "avail")):
            c, why = line.rstrip("\n").split("\t", 1)
            self.avail[c] = why
        self.extra = kvfile(os.path.join(s, "extra"))
        self.mach = kvfile(os.path.join(s, "machine"))
        self.stats = kvfile(os.path.join(s, "stats"))
        # The start-up archives' sizes, as the labels say them.
        small = power(self.stats.get("small_entries", "0"))
        many = power(self.stats.get("many_entries", "0"))
        for i, (w, l) in enumerate(WORKLOADS):
            if w in ("W7s", "W7m"):
                WORKLOADS[i] = (w, "W7 spawn, %s entries" % (small if w == "W7s" else many))
        WLABEL.update(WORKLOADS)

    def times(self, w, c, kind="warm"):
        p = os.path.join(self.s, "t", "%s.%s.%s" % (w, c, kind))
        if not os.path.exists(p):
            return []
        return [float(x) for x in open(p).read().split()]

    def cpu_ratio(self, w, c, base="native"):
        """CPU time (user and system, tm.c's FILE.cpu) against base's: the
        median of the per-round ratios, as ratio's for warm runs."""
        def cpu(x):
            p = os.path.join(self.s, "t", "%s.%s.warm.cpu" % (w, x))
            return [float(v) for v in open(p).read().split()] if os.path.exists(p) else []
        if self.fail(w, c) or self.fail(w, base):
            return None
        a, b = cpu(c), cpu(base)
        if not a or len(a) != len(b) or min(b) <= 0:
            return None
        return statistics.median(x / y for x, y in zip(a, b))

    def fail(self, w, c, kind="warm"):
        p = os.path.join(self.s, "t", "%s.%s.%s.fail" % (w, c, kind))
        return open(p).read().strip() if os.path.exists(p) else None

    def med(self, w, c, kind="warm"):
        """The median, or None when failed, unavailable or not run."""
        if self.fail(w, c, kind if kind != "firstin" else "first"):
            return None
        t = self.times(w, c, kind)
        return statistics.median(t) if t else None

    def ratio(self, w, c, kind="warm", base=("native", "warm")):
        """Warm against warm: the median of the per-round ratios (a round
        runs every contender back to back, so this pairs runs made under
        the same load); otherwise the ratio of the medians."""
        a, b = self.med(w, c, kind), self.med(w, *base)
        if a is None or not b:
            return None
        ta, tb = self.times(w, c, kind), self.times(w, *base)
        if kind == "warm" and base[1] == "warm" and len(ta) == len(tb) and min(tb) > 0:
            return statistics.median(x / y for x, y in zip(ta, tb))
        return a / b


def secs(t):
    if t is None:
        return "—"
    if t >= 100:
        return "%.0f" % t
    if t >= 10:
        return "%.1f" % t
    if t >= 1:
        return "%.2f" % t
    if t >= 0.1:
        return "%.3f" % t
    return "%.4f" % t


def times_x(r):
    if r is None:
        return "—"
    if r >= 100:
        return "%.0f×" % r
    if r >= 10:
        return "%.1f×" % r
    return "%.2f×" % r


def runs_on(c, w):
    if w == "P" and c not in P_CONTENDERS:
        return False
    if w in REAL and c not in REAL_CONTENDERS:
        return False
    return w in ONLY_ON.get(c, (w,))


def cell(run, w, c):
    if not runs_on(c, w):
        return "—"
    if run.avail.get(c) != "yes":
        return "n/a"
    if run.fail(w, c):
        return "**FAIL**"
    t = run.med(w, c)
    if t is None:
        return "—"
    if c == "native":
        return secs(t)
    return "%s (%s)" % (secs(t), times_x(run.ratio(w, c)))


def shown(run):
    """The contenders of this run (the baseline only when one was given)."""
    return [(c, l) for c, l in CONTENDERS
            if c in run.avail and not run.avail[c].startswith("not ")]


def ran(run):
    """The workloads of this run (--only may have picked some)."""
    ws = run.mach.get("workloads")
    if not ws:
        return WORKLOADS
    ws = ws.split()
    return [(w, l) for w, l in WORKLOADS if w in ws or (w == "P" and run.times("P", "native"))]


def cpu_table(run):
    """The real trees' CPU-time ratios (tm.c), beside the wall-time ones."""
    cs = [(c, l) for c, l in shown(run) if c in REAL_CONTENDERS and c != "native"]
    rows = ["| workload | " + " | ".join(l for _, l in cs) + " |",
            "|" + "---|" * (len(cs) + 1)]
    any_ = False
    for w, wl in ran(run):
        if w not in REAL:
            continue
        cells = []
        for c, _ in cs:
            r = run.cpu_ratio(w, c) if runs_on(c, w) else None
            any_ = any_ or r is not None
            cells.append(times_x(r))
        rows.append("| %s | %s |" % (wl, " | ".join(cells)))
    return "\n".join(rows) if any_ else ""


def warm_table(run, real=False):
    cs = [(c, l) for c, l in shown(run)
          if (c in REAL_CONTENDERS) == real or (c in REAL_CONTENDERS and c != "lfs-txz")
          or (c == "base" and not real)]
    head = "| workload | " + " | ".join(l for _, l in cs) + " |"
    rows = [head, "|" + "---|" * (len(cs) + 1)]
    for w, wl in ran(run):
        if (w in REAL) != real:
            continue
        rows.append("| %s | %s |" % (wl, " | ".join(cell(run, w, c) for c, _ in cs)))
    return "\n".join(rows)


def before_after(run):
    """layerfs against the baseline build, per-round ratios."""
    if run.avail.get("base") != "yes":
        return ""
    rows = ["| workload | baseline (%s) | layerfs .tar (%s) | layerfs / baseline | "
            "the same in CPU time |"
            % (run.mach.get("baseline", "?"), run.mach.get("commit", "?")),
            "|---|---|---|---|---|"]
    for w, wl in ran(run):
        if not runs_on("base", w):
            continue
        rows.append("| %s | %s | %s | %s | %s |" % (
            wl, secs(run.med(w, "base")), secs(run.med(w, "lfs-tar")),
            times_x(run.ratio(w, "lfs-tar", "warm", ("base", "warm"))),
            times_x(run.cpu_ratio(w, "lfs-tar", "base"))))
    return "\n".join(rows)


def first_table(run):
    rows = ["| workload | layerfs .tar, first | layerfs .tar.gz, first | "
            "extract .tar | extract .tar.gz |", "|---|---|---|---|---|"]
    for w, wl in ran(run):
        if w == "P" or w in REAL:
            continue
        cells = []
        for c, x in (("lfs-tar", "extract-tar"), ("lfs-tgz", "extract-tgz")):
            if run.avail.get(c) != "yes":
                cells.append("n/a")
            elif run.fail(w, c, "first"):
                cells.append("**FAIL**")
            else:
                t, tin = run.med(w, c, "first"), run.med(w, c, "firstin")
                cells.append("%s (%s; %s of extract; workload alone %s)" % (
                    secs(t), times_x(run.ratio(w, c, "first")),
                    times_x(run.ratio(w, c, "first", (x, "warm"))), secs(tin)))
        for x in ("extract-tar", "extract-tgz"):
            cells.append(cell(run, w, x))
        rows.append("| %s | %s |" % (wl, " | ".join(cells)))
    return "\n".join(rows)


def real_first(run):
    """The kernel archives: index, first read, cache size (one run each)."""
    e = run.extra
    if "real.tree.kib" not in e:
        return ""
    tree_kib = int(e["real.tree.kib"])
    tar = int(e.get("real.tar.bytes", "0"))
    rows = ["| archive | size | decompressing it whole | `layerfs index` | first read of "
            "one small member | first read / whole decompression | index / decompressed "
            "size | reading every file once | cache after that | cache / extracted tree |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for f in ("tar", "tar.gz", "tar.xz"):
        dec, idx, first, readall = (_t(run, k, f) for k in ("decomp", "index", "first", "readall"))
        size = int(e.get("real.%s.bytes" % f, "0"))
        fail = e.get("real.%s.fail" % f)
        ib = e.get("real.%s.index.kib" % f)
        ck = e.get("real.%s.cache.kib" % f)
        rows.append("| `.%s` | %s | %s s | %s s | %s s | %s | %s | %s | %s | %s |" % (
            f, "%.0f MiB" % (size / 1048576), secs(dec), secs(idx), secs(first),
            times_x(first / dec) if first and dec else "—",
            "%.2f%%" % (100.0 * int(ib) * 1024 / tar) if ib and tar else "—",
            secs(readall) + " s" if readall else "—",
            "%.0f MiB" % (int(ck) / 1024) if ck else "—",
            times_x(int(ck) / tree_kib) if ck else "—"))
        if fail:
            rows[-1] = rows[-1][:-1] + " **failed**: %s |" % fail.replace("|", "/")
    return "\n".join([
        "The kernel source (%s): %s entries, %.0f MiB extracted (`du -sk`), %.0f MiB as "
        "`.tar`. One run each, timed from outside the launcher, into an empty cache: "
        "`layerfs index`, then `head -c 10` of the top `README` (the first read), then "
        "`cat` of every file (checked: the byte count); the cache's `du -sk` after that. "
        "\"Decompressing it whole\" is `gzip -dc`/`xz -dc` to `/dev/null` (for `.tar`: "
        "`cat`). Index size: the cache's `du -sk` after `layerfs index`."
        % (e.get("real.pkg", "?"), e.get("real.tree.entries", "?"), tree_kib / 1024,
           tar / 1048576), "", *rows])


def _t(run, k, f):
    p = os.path.join(run.s, "t", "real.%s.%s" % (k, f))
    if not os.path.exists(p):
        return None
    ts = [float(x) for x in open(p).read().split()]
    return statistics.median(ts) if ts else None


def extras(run):
    e, st, out = run.extra, run.stats, []
    n = int(st.get("many_entries", "0"))
    names = int(st.get("many_name_bytes", "0"))
    for a in ("many.tar", "many.tar.gz"):
        p = os.path.join(run.s, "t", "index." + a)
        ts = [float(x) for x in open(p).read().split()] if os.path.exists(p) else []
        size = e.get("index.%s.bytes" % a)
        if "index.%s.fail" % a in e:
            out.append("- index of `%s`: **failed**: %s" % (a, e["index.%s.fail" % a]))
        elif ts and size:
            size = int(size)
            out.append("- index of `%s` (%d entries): built in %s s (median of %d, "
                       "`layerfs index`, launcher included); %d bytes = %.1f bytes/entry, "
                       "%.1f bytes/entry besides the %d bytes of names"
                       % (a, n, secs(statistics.median(ts)), len(ts), size, size / n,
                          (size - names) / n, names))
    if "rss.stat.lfs" in e:
        out.append("- max RSS: `stat` of one file: %s KiB native, %s KiB with the shim "
                   "(%s-entry archive); `find` (W1): %s KiB native, %s KiB with the shim"
                   % (e.get("rss.stat.native", "?"), e.get("rss.stat.lfs", "?"),
                      power(st.get("many_entries", "0")),
                      e.get("rss.find.native", "?"), e.get("rss.find.lfs", "?")))
    if "callgrind.lfs" in e and "callgrind.native" in e:
        n_calls = int(e["callgrind.calls"])
        nat, lfs = int(e["callgrind.native"]), int(e["callgrind.lfs"])
        out.append("- instructions per `stat()` of a host path (callgrind, %d calls): "
                   "%.1f native, %.1f with the shim: **%.1f instructions per wrapped call** "
                   "on the passthrough path" % (n_calls, nat / n_calls, lfs / n_calls,
                                                (lfs - nat) / n_calls))
        if "callgrind.base" in e:
            b = int(e["callgrind.base"])
            out.append("- the same with the baseline's shim (%s): %.1f, %.1f instructions per "
                       "wrapped call" % (run.mach.get("baseline", "?"), b / n_calls,
                                         (b - nat) / n_calls))
    p = run.ratio("P", "lfs-tar")
    if p is not None:
        out.append("- P (`find /usr -printf '%%s\\n'`, %s runs each, interleaved): "
                   "%s s native, %s s with the shim loaded: %s"
                   % (run.mach.get("p_runs"), secs(run.med("P", "native")),
                      secs(run.med("P", "lfs-tar")), times_x(p)))
        pb = run.ratio("P", "base")
        if pb is not None:
            out.append("- P with the baseline's shim: %s s, %s of native; layerfs / baseline "
                       "%s" % (secs(run.med("P", "base")), times_x(pb),
                               times_x(run.ratio("P", "lfs-tar", "warm", ("base", "warm")))))
    return "\n".join(out)


def targets(run):
    """(target, measured, met) rows; met is yes/no/? (not measured)."""
    rows = []

    picked = [w for w, _ in ran(run)]

    def lfs_check(what, w, limit, base=("native", "warm"), kind="warm"):
        if w not in picked:
            return
        vals, ok = [], True
        for c in [x for x in LFS if run.avail.get(x) == "yes"]:
            r = run.ratio(w, c, kind, base)
            vals.append("%s %s" % (LABEL[c].split()[1], times_x(r)))
            ok = ok and r is not None and r <= limit
        known = any(run.ratio(w, c, kind, base) is not None for c in LFS)
        rows.append((what, ", ".join(vals), ("yes" if ok else "**no**") if known else "?"))

    lfs_check("W1 ≤ 1.0× native", "W1", 1.0)
    lfs_check("W2 warm ≤ 1.3× native", "W2", 1.3)
    r = run.ratio("W2", "lfs-tar", "first")
    if "W2" in picked:
        rows.append(("W2 first touch of the .tar ≤ 2× native", times_x(r),
                     "?" if r is None else ("yes" if r <= 2 else "**no**")))
    lfs_check("W3 ≤ 1.05× native", "W3", 1.05)
    lfs_check("W4 ≤ 0.5× kernel overlayfs", "W4", 0.5, ("kovl", "warm"))
    lfs_check("W5 ≤ 1.0× kernel overlayfs", "W5", 1.0, ("kovl", "warm"))
    lfs_check("W6 ≤ 1.5× native", "W6", 1.5)
    lfs_check("W7 ≤ 1.1× native, %s entries" % power(run.stats.get("small_entries", "0")),
              "W7s", 1.1)
    lfs_check("W7 ≤ 1.1× native, %s entries" % power(run.stats.get("many_entries", "0")),
              "W7m", 1.1)
    lfs_check("W8 ≤ 1.1× native", "W8", 1.1)
    r = run.ratio("P", "lfs-tar")
    if "P" in picked:
        rows.append(("P ≤ 1.03× native", times_x(r),
                     "?" if r is None else ("yes" if r <= 1.03 else "**no**")))
    for w in [x for x in ("W9", "W9w") if x in picked]:
        lfs_check("%s ≤ 1.5× native" % WLABEL[w], w, 1.5)
        vals, ok, known = [], True, False
        for c in [x for x in LFS if run.avail.get(x) == "yes"]:
            r = run.ratio(w, c, "warm", ("proot", "warm"))
            if r:
                known = True
            vals.append("%s %s" % (LABEL[c].split()[1], times_x(1 / r) if r else "—"))
            ok = ok and bool(r) and 1 / r >= 5
        rows.append(("%s ≥ 5× faster than proot (proot / layerfs)" % WLABEL[w],
                     ", ".join(vals), ("yes" if ok else "**no**") if known else "?"))
    if run.avail.get("base") == "yes":
        def vs_base(what, w, limit):
            r = run.ratio(w, "lfs-tar", "warm", ("base", "warm"))
            rows.append((what, times_x(r),
                         "?" if r is None else ("yes" if r <= limit else "**no**")))
        if "P" in picked:
            vs_base("P ≤ 1.03× baseline", "P", 1.03)
        for w, k in (("W7s", "small_entries"), ("W7m", "many_entries")):
            if w in picked:
                vs_base("W7 ≤ 1.05× baseline, %s entries" % power(run.stats.get(k, "0")),
                        w, 1.05)
        for w in [x for x in ("W1", "W2") if x in picked]:
            r = run.ratio(w, "lfs-tar", "warm", ("base", "warm"))
            rows.append(("%s unchanged against the baseline (within noise)" % w, times_x(r),
                         "see the warm table"))
    # Issue 16: real trees, warm, view / extracted copy, and against kernel
    # overlayfs; the kernel archives' first read, index and cache size.
    for w in [x for x in REAL if x in picked]:
        vals, ok, known = [], True, False
        for c in [x for x in REAL_LFS if run.avail.get(x) == "yes" and runs_on(x, w)]:
            r = run.ratio(w, c)
            known = known or r is not None
            vals.append("%s %s" % (LABEL[c].split()[1], times_x(r)))
            ok = ok and r is not None and r <= 1.1
        k = run.ratio(w, "kovl")
        if k is not None:
            vals.append("kernel overlayfs %s" % times_x(k))
        cr = run.cpu_ratio(w, "lfs-tar")
        if cr is not None:
            vals.append("CPU time .tar %s" % times_x(cr))
        rows.append(("%s ≤ 1.1× native (issue 16)" % WLABEL[w], ", ".join(vals),
                     ("yes" if ok else "**no**") if known else "?"))
    e = run.extra
    if "real.tree.kib" in e:
        tree_kib, tar = int(e["real.tree.kib"]), int(e.get("real.tar.bytes", "0"))
        for f in ("tar.gz", "tar.xz"):
            first, dec = _t(run, "first", f), _t(run, "decomp", f)
            r = first / dec if first and dec else None
            rows.append(("kernel .%s: first read of a small member ≤ 0.05× decompressing it "
                         "whole" % f, times_x(r), "?" if r is None else
                         ("yes" if r <= 0.05 else "**no**")))
            ib = e.get("real.%s.index.kib" % f)
            if ib and tar:
                pc = 100.0 * int(ib) * 1024 / tar
                rows.append(("kernel .%s: index ≤ 3%% of the decompressed size" % f,
                             "%.2f%%" % pc, "yes" if pc <= 3 else "**no**"))
            ck = e.get("real.%s.cache.kib" % f)
            rows.append(("kernel .%s: cache after reading every file once ≤ the extracted "
                         "tree" % f, times_x(int(ck) / tree_kib) if ck else "—",
                         "?" if not ck else ("yes" if int(ck) <= tree_kib else "**no**")))
    # The compressed archive's first run against extracting it.
    slow, known = [], False
    for w, _ in ran(run):
        if w == "P":
            continue
        r = run.ratio(w, "lfs-tgz", "first", ("extract-tgz", "warm"))
        if r is not None:
            known = True
            if r >= 1:
                slow.append("%s %s" % (w, times_x(r)))
    rows.append(("layerfs .tar.gz first run faster than extract .tar.gz, every workload",
                 "slower: " + ", ".join(slow) if slow else "all faster",
                 "?" if not known else ("**no**" if slow else "yes")))
    n = int(run.stats.get("many_entries", "0") or 0)
    names = int(run.stats.get("many_name_bytes", "0") or 0)
    for a in ("many.tar", "many.tar.gz"):
        p = os.path.join(run.s, "t", "index." + a)
        ts = [float(x) for x in open(p).read().split()] if os.path.exists(p) else []
        size = run.extra.get("index.%s.bytes" % a)
        t = statistics.median(ts) if ts else None
        rows.append(("index of %d entries (%s) built in ≤ 1 s" % (n, a),
                     secs(t) + " s", "?" if t is None else ("yes" if t <= 1 else "**no**")))
        if size:
            b = (int(size) - names) / n
            rows.append(("index ≤ 100 bytes/entry plus names (%s)" % a, "%.1f" % b,
                         "yes" if b <= 100 else "**no**"))
    for other in ("fovl", "extract"):
        slow, known = [], False
        for w, _ in ran(run):
            if w == "P":
                continue
            for c in LFS:
                base = other if other == "fovl" else "extract-" + c.split("-")[1]
                r = run.ratio(w, c, "warm", (base, "warm"))
                if r is None:
                    continue
                known = True
                if r >= 1:
                    slow.append("%s %s %s" % (w, LABEL[c].split()[1], times_x(r)))
        what = ("faster than fuse-overlayfs, every workload" if other == "fovl" else
                "faster than extract-then-run (same archive), every workload")
        rows.append((what, "slower: " + ", ".join(slow) if slow else "all faster",
                     "?" if not known else ("**no**" if slow else "yes")))
    return rows


def plot(run, png):
    dat = os.path.join(run.s, "plot.dat")
    cs = [(c, l) for c, l in shown(run) if c != "native"]
    with open(dat, "w") as f:
        f.write('"workload" ' + " ".join('"%s"' % l for _, l in cs) + "\n")
        for w, wl in ran(run):
            vals = []
            for c, _ in cs:
                r = run.ratio(w, c)
                vals.append("%.4f" % r if r else "?")
            f.write('"%s" %s\n' % (wl, " ".join(vals)))
    m = run.mach
    gp = os.path.join(run.s, "plot.gp")
    with open(gp, "w") as f:
        f.write("""set terminal pngcairo size 1600,650 font "sans,10"
set output '%s'
set title "layerfs benchmark: time relative to native (lower is better, log scale; medians, warm caches)\\n%s, %s, %s"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set logscale y
set yrange [0.1:*]
set grid ytics
set ylabel "time / native time"
set key outside top center horizontal
set datafile missing '?'
set xtics nomirror rotate by -15
set arrow from graph 0, first 1 to graph 1, first 1 nohead lc rgb 'black' dt 2 lw 2
plot for [i=2:%d] '%s' using i:xtic(1) title columnhead(i)
""" % (png, m.get("model", "?"), m.get("nproc", "?") + " cores", m.get("date", ""),
       len(cs) + 1, dat))
    r = subprocess.run(["gnuplot", gp], capture_output=True, text=True)
    if r.returncode:
        sys.stderr.write(r.stderr)
        return False
    return True


def main():
    s, md, png, want_plot = sys.argv[1:5]
    run = Run(s)
    m, st = run.mach, run.stats
    quick = m.get("quick") == "1"
    drew = want_plot == "yes" and plot(run, png)
    mib = lambda b: "%.0f MiB" % (int(b) / 1048576)
    out = ["# layerfs benchmark results", ""]
    if quick:
        out += ["**Quick run** (`--quick`: smaller corpus, 3 runs): a sanity check, not "
                "the numbers to quote.", ""]
    out += [
        "Written by `make bench` (`bench/run.sh`); see `bench/README.md` for what each "
        "workload does and how it is timed.", "",
        "- machine: %s, %s cores (`nproc`), %s RAM, %s; scratch on %s"
        % (m.get("model"), m.get("nproc"), m.get("mem"), m.get("kernel"), m.get("fs")),
        "- run: %s, layerfs %s%s; load average %s (other jobs may have been "
        "running: compare ratios within this run, not across runs)"
        % (m.get("date"), m.get("commit"),
           ", took %.0f min" % (int(m["duration"]) / 60) if "duration" in m else "",
           m.get("load")),
        "- workloads run: %s" % (" ".join(w for w, _ in ran(run))
                                  if m.get("workloads") else "all"),
        "- corpus: %s files (%s) in %s directories (up to 15 levels), %s symlinks, one "
        "%s file (`big.bin`), a %s-module C project; `.tar` %s, `.tar.gz` %s; "
        "start-up archives of %s and %s entries"
        % (st.get("files"), mib(int(st.get("bytes", 0)) - int(st.get("big", 0))),
           st.get("dirs"), st.get("symlinks"), mib(st.get("big", 0)), st.get("mods"),
           mib(m.get("size.corpus.tar", 0)), mib(m.get("size.corpus.tar.gz", 0)),
           st.get("small_entries"), st.get("many_entries")),
        "- Go job (W9): a module of %s packages and %s `.go` files (`.tar` %s), go %s, "
        "proot %s" % (st.get("go_pkgs"), st.get("go_files"),
                      "%.1f MiB" % (int(m.get("size.gomod.tar", 0)) / 1048576),
                      m.get("go", "?"), m.get("proot", "?")),
        "", "## Warm runs", "",
        "Median seconds of %s runs; in parentheses the ratio to native, the median of the "
        "per-round ratios (each round runs every contender once, back to back). "
        "Warm: page cache and layerfs's "
        "content cache filled by two untimed runs (a small member of a .tar is "
        "cached when opened a second time); every run of a writable "
        "contender starts from an empty upper directory. extract-then-run includes "
        "`tar -xf` into an empty directory. Set-up (mount, launcher) is not timed."
        % m.get("runs"), "", warm_table(run), "",
    ]
    if drew:
        out += ["![time relative to native](results.png)", ""]
    ba = before_after(run)
    if ba:
        out += ["## Before and after", "",
                "layerfs against the baseline build given with `--baseline` (its own launcher "
                "and library, over the same `.tar`), both in the rounds above: medians in "
                "seconds, and the median of the per-round ratios (P: %s rounds)."
                % m.get("p_runs"), "", ba, ""]
    out += ["## First touch", "",
            "layerfs with an empty cache: median of %s runs, timed from outside the "
            "launcher (index build, launcher and start-up included); in parentheses the "
            "ratio to native (warm) and to extracting the same archive, and the workload "
            "alone as timed inside. For the other contenders every run is a first touch "
            "of an empty upper (the page cache is warm for all)." % m.get("ft_runs"), "",
            first_table(run), "",
            "## Other measurements", "", extras(run), ""]
    if any(w in REAL for w, _ in ran(run)) or "real.tree.kib" in run.extra:
        a = st.get("anchor_dirs")
        out += ["## Real trees (issue 16)", "",
                "K: the Linux kernel source (%s), A: the anchor corpus, %s (%s entries, "
                "%s MiB). Warm, as above: median seconds of %s runs, in parentheses the "
                "median of the per-round ratios to native, the extracted copy. The view is "
                "the archive under an empty host upper directory; kernel overlayfs has the "
                "extracted copy as its lower. Run from the tree's top: `ls -laR`, `du -s`, "
                "`find . -print0 | xargs -0 stat`, `find . -printf '%%s %%m\\n'`, `grep -rn` "
                "(K: `EXPORT_SYMBOL_GPL`, A: `return`); A's commands run five times in a row "
                "in each timed run (each process started anew)."
                % (run.extra.get("real.pkg", "?"),
                   " and ".join("`/%s`" % d for d in a.split()) if a else "?",
                   st.get("anchor_entries", "?"),
                   "%.0f" % (int(st.get("anchor_kib", "0")) / 1024), m.get("runs")), "",
                warm_table(run, real=True), ""]
        ct = cpu_table(run)
        if ct:
            out += ["CPU time (user and system, of the workload's processes and every one "
                    "they waited for), the median of the per-round ratios to native's: time "
                    "spent waiting for a CPU on a loaded machine shows in the wall-clock "
                    "ratios above and not here.", "", ct, ""]
        rf = real_first(run)
        if rf:
            out += [rf, ""]
    out += ["## Targets (issues #6, #10, #11, #16)", "",
            "| target | measured | met |", "|---|---|---|"]
    for t, v, ok in targets(run):
        out.append("| %s | %s | %s |" % (t, v, ok))
    out.append("")
    notes = []
    for k in ("K", "A"):
        why = m.get("real_skip." + k)
        if why:
            notes.append("- %s workloads (real tree) skipped: %s" % (k, why))
    for c, why in run.avail.items():
        if why != "yes":
            notes.append("- %s: unavailable: %s" % (LABEL.get(c, c), why))
    for w, wl in ran(run):
        for c, cl in CONTENDERS:
            for kind in ("warm", "first"):
                f = run.fail(w, c, kind)
                if f:
                    notes.append("- %s, %s (%s): %s" % (wl, cl, kind, f))
    if want_plot != "yes":
        notes.append("- no plot: %s" % want_plot)
    elif not drew:
        notes.append("- no plot: gnuplot failed")
    if notes:
        out += ["## Unavailable contenders and failures", ""] + notes + [""]
    text = "\n".join(out)
    with open(md, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
