#!/usr/bin/env bash
# CI stage: the riscv64 kernel of kernel/ boots under QEMU (OpenSBI, -bios
# default) and runs every user program with the debug checks on (the set's
# invariants after every mutation, the set against the page table after
# every system call); `make kernel-test` fails on a FAIL line, a missing
# line, a panic or a hang (kernel/run.sh's time limit).
# Debian packages: make, gcc-riscv64-linux-gnu, libc6-dev-riscv64-cross
# (the Linux programs), qemu-system-misc.
set -euo pipefail
cd "$(dirname "$0")/.."
make kernel-test BUILD=build-kernel
