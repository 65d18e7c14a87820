/*
 * The kernel: one flat image, loaded at KERNEL_PA (where OpenSBI jumps)
 * and linked at KERNEL_VA, its place in the direct map (memlayout.h; the
 * Makefile runs this file through the C preprocessor).
 */
#include <memlayout.h>
OUTPUT_ARCH(riscv)
ENTRY(_start)

SECTIONS
{
	. = KERNEL_VA;
	.text : AT(KERNEL_PA) { *(.text.entry) *(.text .text.*) }
	.rodata : { *(.rodata .rodata.* .srodata .srodata.*) }
	.data : { *(.data .data.* .sdata .sdata.*) }
	.bss : {
		__bss_start = .;
		*(.bss .bss.* .sbss .sbss.* COMMON)
		. = ALIGN(8);
		__bss_end = .;
	}
	. = ALIGN(4096);
	kernel_end = .;
	/DISCARD/ : { *(.comment) *(.note .note.*) *(.eh_frame*) *(.riscv.attributes) }
}
