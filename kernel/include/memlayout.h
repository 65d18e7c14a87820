/*
 * The memory layout, in one place for C, the assembler and the linker
 * script: #defines only, UL() adding C's suffix.
 *
 * Physical: QEMU virt's RAM starts at RAM_BASE; OpenSBI keeps its first
 * 2 MiB and enters the kernel, a flat image, at KERNEL_PA.
 *
 * Virtual, Sv39: an address has 39 bits, and bits 63..39 repeat bit 38, so
 * there are two halves of 256 GiB each and a hole between them.
 *
 *   [0, USER_TOP)            user space: the whole lower half
 *   [USER_TOP, DIRECT_MAP)   the hole: no address there is valid
 *   [DIRECT_MAP, 2^64)       the kernel's half: physical address pa is at
 *                            DIRECT_MAP + pa, RAM and the kernel in it; the
 *                            kernel is linked at KERNEL_VA, its place there
 *
 * Every page table holds the same kernel half, not for U-mode, so the
 * kernel runs on the process's own table and a trap switches nothing.
 */
#ifndef KERNEL_MEMLAYOUT_H
#define KERNEL_MEMLAYOUT_H

#ifdef __ASSEMBLER__
#define UL(x) x
#else
#define UL(x) x##ul
#endif

#define RAM_BASE UL(0x80000000)
#define KERNEL_PA UL(0x80200000)
#define USER_TOP UL(0x4000000000)
#define DIRECT_MAP UL(0xffffffc000000000)
#define KERNEL_VA (DIRECT_MAP + KERNEL_PA)
#define SATP_SV39 (UL(8) << 60) /* satp's mode field: Sv39, no ASID */

#endif
