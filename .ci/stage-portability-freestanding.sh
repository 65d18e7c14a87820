#!/usr/bin/env bash
# CI stage: the kernel drop-in check. The files docs/kernel.md tells kernel
# users to copy (tests/freestanding/kernel-files.txt) are copied alone into
# an empty tree and compiled freestanding (-ffreestanding -nostdlib
# -fno-builtin -nostdinc, -Wall -Wextra -Werror -O2) for x86_64 (kernel code
# model: -mno-red-zone -mcmodel=kernel -mgeneral-regs-only), aarch64,
# riscv64, i686 and armhf, with gcc and Debian's cross gcc and with clang as
# bare-metal ELF; each target's objects are linked with ld -r and nm checks
# that nothing is undefined beyond memcpy/memset/memmove/memcmp.
# Debian packages: gcc, clang, lld, llvm, binutils, gcc-aarch64-linux-gnu,
# gcc-riscv64-linux-gnu, gcc-i686-linux-gnu, gcc-arm-linux-gnueabihf.
set -euo pipefail
cd "$(dirname "$0")/.."
MS_FREESTANDING_STRICT=${MS_FREESTANDING_STRICT:-1} \
	timeout 600 bash tests/freestanding/check.sh .
