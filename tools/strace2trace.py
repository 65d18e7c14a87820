#!/usr/bin/env python3
"""Turn an strace log of a real program into memory-set traces.

Record a log with:
  strace -f -e trace=mmap,munmap,mprotect,brk,mremap,clone,clone3,fork,vfork,execve \
         -o prog.strace PROGRAM ARGS...
then:
  strace2trace.py prog.strace OUTDIR [--name prog] [--finds K] [--seed S] [--min-ops N]

One trace is written per address space (threads share one; fork starts a copy
of the parent; execve starts a fresh one).  Sizes are rounded up to 4 KiB as
the kernel does.  Flags: bit0 R, bit1 W, bit2 X, bit3 shared, bit4 file-backed.
mprotect becomes `protect ... PROT 0x7` (only the protection bits change).
After each mutating call, K `find` lookups are added at addresses drawn from
the areas mapped at that moment (a stand-in for page faults), seeded so the
output is reproducible.  See docs/trace-format.md for the format.
"""
import argparse, bisect, os, random, re, sys

PAGE = 4096
PROT = {"PROT_READ": 1, "PROT_WRITE": 2, "PROT_EXEC": 4, "PROT_NONE": 0}


def pgup(x):
    return (x + PAGE - 1) & ~(PAGE - 1)


def prot_bits(s):
    v = 0
    for p in s.split("|"):
        p = p.strip()
        if p in PROT:
            v |= PROT[p]
        elif p.startswith("0x") or p.isdigit():
            v |= int(p, 0) & 7
    return v


class Shadow:
    """Sorted, non-overlapping [start, end) -> flags; just enough to follow a process."""

    def __init__(self):
        self.starts, self.ends, self.flags = [], [], []

    def copy(self):
        s = Shadow()
        s.starts, s.ends, s.flags = list(self.starts), list(self.ends), list(self.flags)
        return s

    def _carve(self, a, b):
        """Remove [a, b); return removed pieces as (start, end, flags)."""
        out = []
        i = bisect.bisect_right(self.starts, a) - 1
        if i < 0:
            i = 0
        while i < len(self.starts) and self.starts[i] < b:
            s, e, f = self.starts[i], self.ends[i], self.flags[i]
            if e <= a:
                i += 1
                continue
            del self.starts[i], self.ends[i], self.flags[i]
            keep = []
            if s < a:
                keep.append((s, a, f))
            if e > b:
                keep.append((b, e, f))
            out.append((max(s, a), min(e, b), f))
            for k in reversed(keep):
                self.starts.insert(i, k[0]); self.ends.insert(i, k[1]); self.flags.insert(i, k[2])
            i += len(keep)
        return out

    def overlaps(self, a, b):
        i = bisect.bisect_right(self.starts, a) - 1
        if i >= 0 and self.ends[i] > a:
            return True
        j = bisect.bisect_left(self.starts, a)
        return j < len(self.starts) and self.starts[j] < b

    def map(self, a, b, f):
        self._carve(a, b)
        i = bisect.bisect_left(self.starts, a)
        self.starts.insert(i, a); self.ends.insert(i, b); self.flags.insert(i, f)

    def unmap(self, a, b):
        self._carve(a, b)

    def protect(self, a, b, prot):
        for s, e, f in self._carve(a, b):
            self.map(s, e, (f & ~7) | prot)

    def flags_at(self, a):
        i = bisect.bisect_right(self.starts, a) - 1
        if i >= 0 and self.ends[i] > a:
            return self.flags[i]
        return None


LINE = re.compile(r"^(\d+)\s+(.*)$")
CALL = re.compile(r"^(\w+)\((.*)\)\s+=\s+(-?\w+)")


def split_args(s):
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip()); cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log")
    ap.add_argument("outdir")
    ap.add_argument("--name", default=None)
    ap.add_argument("--finds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--min-ops", type=int, default=50)
    a = ap.parse_args()
    name = a.name or os.path.basename(a.log).split(".")[0]
    rng = random.Random(a.seed)

    pending = {}          # pid -> text of an unfinished call
    as_of = {}            # pid -> address-space id
    shadows, lines, brk = {}, {}, {}
    next_as = [0]

    def new_as(parent=None):
        i = next_as[0]; next_as[0] += 1
        shadows[i] = shadows[parent].copy() if parent is not None else Shadow()
        lines[i] = ["granule 0x1000"]
        if parent is not None:
            lines[i].append("# forked: the parent's areas at the fork")
            sh = shadows[i]
            for s, e, f in zip(sh.starts, sh.ends, sh.flags):
                lines[i].append("map %#x %#x %#x" % (s, e - s, f))
        brk[i] = brk.get(parent) if parent is not None else None
        return i

    def finds(i):
        sh = shadows[i]
        for _ in range(a.finds):
            if sh.starts and rng.random() < 0.9:
                k = rng.randrange(len(sh.starts))
                addr = rng.randrange(sh.starts[k], sh.ends[k])
            else:
                addr = rng.randrange(0, 1 << 47)
            lines[i].append("find %#x" % addr)

    with open(a.log, errors="replace") as fh:
        for raw in fh:
            m = LINE.match(raw.rstrip("\n"))
            if not m:
                continue
            pid, rest = int(m.group(1)), m.group(2)
            if rest.endswith("<unfinished ...>"):
                pending[pid] = rest[: -len("<unfinished ...>")].rstrip()
                continue
            rm = re.match(r"^<\.\.\. \w+ resumed>(.*)$", rest)
            if rm:
                rest = pending.pop(pid, "") + rm.group(1)
            cm = CALL.match(rest)
            if not cm:
                continue
            call, args, ret = cm.group(1), split_args(cm.group(2)), cm.group(3)
            if pid not in as_of:
                as_of[pid] = new_as()
            asid = as_of[pid]
            ok = not ret.startswith("-")
            if call in ("clone", "clone3", "fork", "vfork") and ok:
                child = int(ret, 0)
                shares = "CLONE_VM" in cm.group(2) or call == "vfork"
                as_of[child] = asid if shares else new_as(asid)
                continue
            if call == "execve" and ok:
                as_of[pid] = new_as()
                continue
            sh, out = shadows[asid], lines[asid]
            if call == "mmap" and ok and len(args) >= 6:
                addr, length = int(ret, 0), pgup(int(args[1], 0))
                f = prot_bits(args[2]) | (8 if "MAP_SHARED" in args[3] else 0) | (0 if "MAP_ANONYMOUS" in args[3] else 16)
                replace = "MAP_FIXED" in args[3] or sh.overlaps(addr, addr + length)
                out.append("map %#x %#x %#x%s" % (addr, length, f, " replace" if replace else ""))
                sh.map(addr, addr + length, f)
            elif call == "munmap" and ret == "0":
                addr, length = int(args[0], 0), pgup(int(args[1], 0))
                out.append("unmap %#x %#x" % (addr, length))
                sh.unmap(addr, addr + length)
            elif call == "mprotect" and ret == "0":
                addr, length, p = int(args[0], 0), pgup(int(args[1], 0)), prot_bits(args[2])
                out.append("protect %#x %#x %#x 0x7" % (addr, length, p))
                sh.protect(addr, addr + length, p)
            elif call == "brk" and ok:
                new = int(ret, 0)
                cur = brk.get(asid)
                if cur is not None and pgup(new) > pgup(cur):
                    out.append("map %#x %#x 0x3 replace" % (pgup(cur), pgup(new) - pgup(cur)))
                    sh.map(pgup(cur), pgup(new), 3)
                elif cur is not None and pgup(new) < pgup(cur):
                    out.append("unmap %#x %#x" % (pgup(new), pgup(cur) - pgup(new)))
                    sh.unmap(pgup(new), pgup(cur))
                else:
                    continue
                brk[asid] = new
            elif call == "mremap" and ok:
                old, oldsz, newsz, new = int(args[0], 0), pgup(int(args[1], 0)), pgup(int(args[2], 0)), int(ret, 0)
                f = sh.flags_at(old)
                if f is None:
                    f = 3
                if new == old:
                    if newsz > oldsz:
                        out.append("map %#x %#x %#x replace" % (old + oldsz, newsz - oldsz, f))
                        sh.map(old + oldsz, old + newsz, f)
                    elif newsz < oldsz:
                        out.append("unmap %#x %#x" % (old + newsz, oldsz - newsz))
                        sh.unmap(old + newsz, old + oldsz)
                else:
                    out.append("unmap %#x %#x" % (old, oldsz))
                    sh.unmap(old, old + oldsz)
                    out.append("map %#x %#x %#x replace" % (new, newsz, f))
                    sh.map(new, new + newsz, f)
            else:
                if call == "brk" and brk.get(asid) is None and ok:
                    brk[asid] = int(ret, 0)
                continue
            finds(asid)

    os.makedirs(a.outdir, exist_ok=True)
    written = 0
    for i, ls in lines.items():
        nops = sum(1 for l in ls if l and not l.startswith("#") and not l.startswith("granule"))
        if nops < a.min_ops:
            continue
        ls.append("dump")
        path = os.path.join(a.outdir, "%s-%d.trace" % (name, i))
        with open(path, "w") as fh:
            fh.write("# from an strace log of %s, address space %d\n" % (name, i))
            fh.write("\n".join(ls) + "\n")
        written += 1
        print("%s: %d ops, %d areas at the end" % (path, nops, len(shadows[i].starts)))
    if not written:
        print("no address space had %d or more operations" % a.min_ops, file=sys.stderr)


if __name__ == "__main__":
    main()
