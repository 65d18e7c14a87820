#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz target (fuzz/corpus/), in the byte
encoding described at the top of fuzz_ops.c. Each seed is a small scenario
worth starting from; libFuzzer mutates them.

    make_corpus.py [OUTDIR]
"""
import os
import struct
import sys

MAP, REPLACE, UNMAP, PROTECT, FIND, OVERLAPS, FREE, FREETOP = 0, 2, 4, 6, 8, 9, 10, 11
GRANULE, MERGE_CLEAR, ITER, BAD = 12, 13, 14, 15
REMAP, REMAP_FIXED, REMAP_AIM, REMAP_FIXED_AIM, LIMIT = 16, 17, 18, 19, 20
ACCESS, GAPS, UNMAP_STRICT, PROTECT_STRICT, PROTECT_FLAGS = 21, 22, 23, 24, 25
DUP, FAULT = 26, 27


def low(k):        # k units from 0
    return bytes([k & 63])


def top(k):        # k units below 2^64 (k >= 1)
    return bytes([0x40 | (k - 1)])


def mid(k):        # k units above 2^32
    return bytes([0x80 | k])


def raw(v):        # 8 raw bytes
    return bytes([0xC0]) + struct.pack(">Q", v)


def units(k):
    return bytes([k & 63])


def to_top(d=0):   # size up to 2^64: 0 exact, 1 past, 2 unit short, 3 byte short
    return bytes([0x40 | d])


def plus_one(k):   # k units and one byte: misaligned
    return bytes([0x80 | k])


def flags(f):
    return bytes([f & 7]) if f < 8 else bytes([0x80]) + struct.pack(">Q", f)


def op(kind, *parts):
    return bytes([kind]) + b"".join(parts)


def mask(m):       # d_mask: 0 is ~0, 4..10 are 1..7
    return bytes([{~0: 0, 1: 4, 2: 5, 3: 6, 4: 7, 5: 8, 6: 9, 7: 10}[m]])


def header(token=False, merge=False):
    return bytes([(1 if token else 0) | (2 if merge else 0)])


def free(kind, hint, size, align_log, first, last):
    """hint/first/last None for 0 / 0 / 2^64-1."""
    b = bytes([kind])
    b += b"\x01" if hint is None else b"\x00" + hint
    b += size + bytes([align_log])
    b += b"\x01" if first is None else b"\x00" + first
    b += b"\x00" if last is None else b"\x01" + last + b"\x00"
    b += b"\x00"
    return b


SEEDS = {
    # Sixteen alternating areas, then an overlapping map refused and replacing.
    "alternating": header() + b"".join(op(MAP, low(2 * i), units(1), flags(i % 2)) for i in range(16))
    + op(MAP, low(3), units(6), flags(3)) + op(REPLACE, low(3), units(6), flags(3)),
    # Unmap shrinking at both ends and splitting in the middle.
    "unmap_shapes": header(token=True) + op(MAP, low(0), units(20), flags(1))
    + op(UNMAP, low(0), units(2)) + op(UNMAP, low(18), units(2)) + op(UNMAP, low(8), units(2)),
    # Protect with a three-bit mask: splits into two and three parts, skips areas already right.
    "protect_mask": header() + op(MAP, low(0), units(8), flags(7)) + op(MAP, low(8), units(8), flags(1))
    + op(PROTECT, low(4), units(8), flags(1), b"\x05") + op(PROTECT, low(1), units(2), flags(0), b"\x06"),
    # Areas ending exactly at 2^64, and ranges one unit past it.
    "top_of_space": header(token=True, merge=True) + op(MAP, top(4), to_top(0), flags(1))
    + op(MAP, top(8), to_top(1), flags(2)) + op(MAP, top(8), units(4), flags(1))
    + op(PROTECT, top(2), to_top(0), flags(3), b"\x00") + op(UNMAP, top(1), to_top(0))
    + op(FIND, top(1), b"\x01") + op(ITER, top(3)) + free(FREETOP, None, units(1), 12, None, None),
    # Merge on and off around maps of equal flags.
    "merge_toggle": header() + op(MAP, low(0), units(2), flags(1)) + op(MAP, low(2), units(2), flags(1))
    + op(MERGE_CLEAR, b"\x01") + op(MAP, low(4), units(2), flags(1)) + op(MERGE_CLEAR, b"\x00")
    + op(PROTECT, low(1), units(1), flags(2), b"\x00") + op(MERGE_CLEAR, b"\x01") + op(MERGE_CLEAR, b"\x02"),
    # Granule changes, misaligned ranges, invalid granules.
    "granule": header() + op(GRANULE, bytes([16])) + op(MAP, low(1), units(3), flags(1))
    + op(GRANULE, bytes([0])) + op(MAP, low(5), plus_one(2), flags(2)) + op(GRANULE, bytes([201]))
    + op(GRANULE, bytes([12])) + op(UNMAP, low(1), units(1)) + op(GRANULE, bytes([255])) + struct.pack(">Q", 0),
    # Free-space searches with hints, alignment and limits.
    "free_search": header() + op(MAP, low(1), units(2), flags(1)) + op(MAP, low(6), units(1), flags(1))
    + free(FREE, low(2), units(2), 12, None, None) + free(FREE, None, units(3), 14, low(1), low(40))
    + free(FREETOP, low(5), units(1), 12, None, low(8)) + free(FREETOP, None, units(2), 13, low(0), None)
    + free(FREE, None, units(0), 12, None, None) + free(FREE, None, units(1), 70, None, None),
    # Raw 64-bit values: wrapping ranges, huge flags, bad arguments.
    "raw_values": header(token=True) + op(MAP, raw(0xFFFFFFFFFFFFF000), raw(0x2000), flags(1))
    + op(MAP, raw(0x1000), raw(0x1000), flags(0xDEADBEEF00000000)) + op(OVERLAPS, raw(0), raw(0xFFFFFFFFFFFFFFFF))
    + op(BAD, b"\x00", low(1), units(1), b"\x00") + op(BAD, b"\x02", low(9), units(1), b"\x01")
    + op(BAD, b"\x03", low(1), units(1)) + op(ITER, low(0)) + op(MERGE_CLEAR, b"\x02"),
    # Replace across several areas with different flags.
    "replace_many": header(token=True, merge=True) + b"".join(op(MAP, low(i), units(1), flags(i % 3)) for i in range(12))
    + op(REPLACE, low(2), units(7), flags(1)) + op(PROTECT, low(0), units(12), flags(2), b"\x04")
    + op(UNMAP, low(5), units(3)) + op(ITER, low(4)),
    # Two areas that merge into one covering all 2^64 bytes: by map, by
    # turning merge on, by protect.
    "full_space_merge": header(merge=True) + op(MAP, top(1), units(1), flags(4))
    + op(REPLACE, low(0), to_top(2), flags(4)),
    "full_space_merge_on": header() + op(MAP, top(1), units(1), flags(4))
    + op(MAP, low(0), to_top(2), flags(4)) + op(MERGE_CLEAR, b"\x01") + op(ITER, low(0)),
    "full_space_protect": header(token=True, merge=True) + op(MAP, top(1), units(1), flags(4))
    + op(MAP, low(0), to_top(2), flags(5)) + op(PROTECT, low(0), to_top(2), flags(4), b"\x00")
    + op(FIND, top(1), b"\x01"),
    # Remap in place: shrink, grow up to the next area, blocked, equal,
    # not in one area, misaligned, past 2^64.
    "remap_in_place": header(token=True) + op(MAP, low(0), units(4), flags(1)) + op(MAP, low(8), units(2), flags(1))
    + op(REMAP, low(0), units(4), units(2)) + op(REMAP, low(0), units(2), units(8))
    + op(REMAP, low(0), units(8), units(12)) + op(REMAP, low(1), units(1), units(1))
    + op(REMAP, low(7), units(2), units(1)) + op(REMAP, low(20), units(1), units(2))
    + op(REMAP, low(8), plus_one(1), units(1)) + op(MAP, top(2), to_top(0), flags(1))
    + op(REMAP, top(2), units(2), units(3)) + op(REMAP, top(2), units(2), units(1)),
    # The same with merge on: growing joins the next area.
    "remap_merge": header(merge=True) + op(MAP, low(0), units(2), flags(1)) + op(MAP, low(4), units(2), flags(1))
    + op(MAP, low(6), units(2), flags(2)) + op(REMAP_AIM, low(0), b"\x00", units(4))
    + op(REMAP_AIM, low(0), b"\x02", units(3)) + op(REMAP_AIM, low(4), b"\x01", units(1)),
    # Moves: over areas, overlapping (invalid), shrinking, growing, from the
    # middle of an area, to the top of the space, into the area itself.
    "remap_fixed": header(token=True, merge=True) + op(MAP, low(0), units(8), flags(1))
    + op(MAP, low(20), units(4), flags(2)) + op(MAP, low(26), units(2), flags(2))
    + op(REMAP_FIXED, low(0), units(2), low(21), units(6)) + op(REMAP_FIXED, low(2), units(4), low(4), units(4))
    + op(REMAP_FIXED, low(2), units(4), low(40), units(2)) + op(REMAP_FIXED, low(40), units(2), low(44), units(5))
    + op(REMAP_FIXED_AIM, low(44), b"\x03", top(8), units(8)) + op(REMAP_FIXED_AIM, top(8), b"\x00", low(0), to_top(0))
    + op(REMAP_FIXED, low(6), units(1), low(12), units(1)),
    "remap_fixed_plain": header() + op(MAP, low(0), units(8), flags(3)) + op(MAP, low(16), units(8), flags(1))
    + op(REMAP_FIXED_AIM, low(0), b"\x01", low(18), units(9)) + op(REMAP_FIXED_AIM, low(16), b"\x02", low(1), units(1))
    + op(UNMAP, low(0), units(40)),
    # A limit: splits refused, merges and whole-area changes allowed.
    "limit": header(merge=True) + op(MAP, low(0), units(4), flags(1)) + op(MAP, low(8), units(4), flags(2))
    + op(LIMIT, b"\x02") + op(MAP, low(16), units(1), flags(1)) + op(UNMAP, low(1), units(1))
    + op(PROTECT, low(2), units(2), flags(2), b"\x00") + op(MAP, low(4), units(4), flags(1))
    + op(REMAP_FIXED, low(0), units(8), low(20), units(8)) + op(LIMIT, b"\x01") + op(UNMAP, low(20), units(1))
    + op(LIMIT, b"\x00") + op(UNMAP, low(21), units(1)),
    # Access checks and gaps, at both ends of the space.
    "access_gaps": header() + op(MAP, low(1), units(2), flags(3)) + op(MAP, low(3), units(2), flags(1))
    + op(MAP, top(2), to_top(0), flags(7)) + op(ACCESS, low(1), b"\x00", units(4), mask(1))
    + op(ACCESS, low(1), b"\x00", units(4), mask(2)) + op(ACCESS, low(3), b"\x85", units(1), mask(1))
    + op(ACCESS, top(1), b"\x07", units(1), mask(7)) + op(ACCESS, low(9), b"\x00", units(0), mask(7))
    + op(GAPS, low(0), raw(0xFFFFFFFFFFFFFFFF), b"\x00") + op(GAPS, low(2), low(9), b"\x01")
    + op(GAPS, low(9), low(2), b"\x00") + op(UNMAP, low(1), to_top(0)) + op(GAPS, low(0), raw(0xFFFFFFFFFFFFFFFF), b"\x00"),
    # Strict unmap and protect: holes refused; protect_flags skips them.
    "strict": header(token=True) + op(MAP, low(0), units(2), flags(1)) + op(MAP, low(2), units(2), flags(3))
    + op(MAP, low(5), units(1), flags(1)) + op(UNMAP_STRICT, low(0), units(6)) + op(PROTECT_STRICT, low(3), units(3), b"\x01", flags(4), mask(4))
    + op(PROTECT_STRICT, low(1), units(2), b"\x00", flags(4), mask(4)) + op(PROTECT_FLAGS, low(0), units(8), flags(2), mask(2))
    + op(UNMAP_STRICT, low(1), units(2)) + op(UNMAP_STRICT, low(4), units(0)),
    # Fork, faults of each kind, fork again after changes.
    "dup_fault": header(token=True, merge=True) + op(MAP, low(0), units(2), flags(1)) + op(MAP, low(4), units(2), flags(3))
    + op(MAP, top(1), units(1), flags(5)) + op(DUP) + op(FAULT, low(0), b"\x01", b"\x10")
    + op(FAULT, low(0), b"\x02", b"\x00") + op(FAULT, low(4), b"\x13", b"\xff") + op(FAULT, low(3), b"\x01", b"\x00")
    + op(FAULT, top(1), b"\x24", b"\x00") + op(PROTECT, low(1), units(4), flags(3), b"\x00") + op(DUP)
    + op(REMAP_FIXED_AIM, low(4), b"\x00", low(10), units(2)) + op(DUP) + op(MERGE_CLEAR, b"\x02") + op(DUP),
    "dup_plain": header() + b"".join(op(MAP, low(2 * i), units(1), flags(i % 3)) for i in range(20)) + op(DUP)
    + op(UNMAP, low(3), units(10)) + op(DUP),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
