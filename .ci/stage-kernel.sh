#!/usr/bin/env bash
# CI stage: the riscv64 kernel of kernel/ boots under QEMU (OpenSBI, -bios
# default) and runs every user program, Linux's mm selftests included,
# with the debug checks on (the set's invariants after every mutation, the
# areas against the page table after every system call); `make
# kernel-test` fails on a FAIL line, a missing line, a selftest that does
# not pass by its rule (kernel/linux/tap-check.sh), a panic or a hang
# (kernel/run.sh's time limit).
# Debian packages: make, gcc-riscv64-linux-gnu, libc6-dev-riscv64-cross
# (the Linux programs), qemu-system-misc, linux-source-6.12 (the selftests).
set -euo pipefail
cd "$(dirname "$0")/.."
make kernel-test BUILD=build-kernel
