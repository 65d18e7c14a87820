#!/usr/bin/env python3
"""Writes the seed corpus of the address-space layer's fuzz target
(fuzz/corpus-aspace/), in the byte encoding described at the top of
fuzz_aspace.c. Each seed is a small scenario worth starting from.

    make_corpus_aspace.py [OUTDIR]
"""
import os
import struct
import sys

MMAP, MUNMAP, MPROTECT, MREMAP, BRK, MADVISE, MSEAL, NAME = 0, 3, 5, 7, 9, 10, 11, 12
LOAD, STORE, FAULT, COPY, FORK, EXIT, MEMFD, PWRITE, TRUNC, FALLOC = (
    13, 14, 15, 16, 17, 18, 19, 20, 21, 22)
FAIL = 23

# mmap FLAGS byte: bits 0-1 the type (private, shared, droppable,
# shared-validate), bit 2 an object (not anonymous), bit 3 MAP_FIXED,
# bit 4 MAP_FIXED_NOREPLACE, bit 5 MAP_POPULATE, bit 6 MAP_NORESERVE.
PRIV, SHARED, OBJ, FIX, POP = 0, 1, 4, 8, 32
RW, RO = 3, 1


def call(kind, space=0):
    return bytes([kind + 24 * space])


def mmap(page, pages, prot, flags, obj=0, off=0, space=0):
    return call(MMAP, space) + bytes([obj, page, pages, prot, flags, off])


def store(page, at=0, n=8, space=0):
    return call(STORE, space) + bytes([0, page, at, n])


def load(page, at=0, n=8, space=0):
    return call(LOAD, space) + bytes([0, page, at, n])


def mprotect(page, pages, prot, space=0):
    return call(MPROTECT, space) + bytes([0, page, pages, prot])


def mremap(page, old, new, flags, target, space=0):
    return call(MREMAP, space) + bytes([0, page, old, new, flags, target])


def fork(space=0):
    return call(FORK, space) + bytes([0])


def fail(kind, after):
    return call(FAIL) + bytes([0, kind + 4 * after])


SEEDS = {
    "private_cow": mmap(0, 8, RW, PRIV | FIX) + store(1) + store(6) + fork()
    + store(1, space=1) + load(1) + mprotect(2, 2, RO),
    "shared_fork": mmap(10, 4, RW, SHARED | FIX) + store(10) + fork()
    + store(11, space=1) + load(11),
    "identities": mmap(0, 2, RW, PRIV | FIX) + store(0) + mmap(4, 2, RW, PRIV | FIX)
    + store(4) + mmap(2, 2, RW, PRIV | FIX) + mprotect(0, 6, RO),
    "remaps": mmap(0, 6, RW, PRIV | FIX) + store(1) + mremap(0, 3, 5, 1, 0)
    + mremap(3, 3, 3, 3, 20) + mremap(20, 2, 2, 7, 30),
    "brk_advice": call(BRK) + bytes([0, 44, 3]) + call(MADVISE) + bytes([0, 0, 4, 6])
    + call(MSEAL) + bytes([0, 0, 1, 0]) + call(NAME) + bytes([0, 0, 2, 0]),
    "memfd": call(MEMFD) + bytes([0, 0]) + call(PWRITE) + bytes([0, 3, 200])
    + mmap(0, 4, RW, SHARED | OBJ | FIX) + mmap(8, 4, RW, PRIV | OBJ | FIX, off=1)
    + store(0) + store(9) + call(TRUNC) + bytes([0, 5])
    + call(FALLOC) + bytes([0, 2, 3, 3]) + load(0) + load(9),
    "failures": mmap(0, 4, RW, PRIV | FIX) + fail(0, 0) + store(0) + fail(3, 1)
    + mprotect(1, 1, RO) + fail(1, 0) + fork() + fail(2, 0)
    + mremap(0, 2, 2, 3, 30),
    "populate": mmap(0, 6, RW, PRIV | FIX | POP) + mmap(8, 6, RO, SHARED | FIX | POP)
    + call(MUNMAP) + bytes([0, 2, 8]),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus-aspace")
    os.makedirs(out, exist_ok=True)
    for name, body in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(b"\x00" + body)


if __name__ == "__main__":
    main()
