/*
 * Boot, and the way in and out of user mode.
 *
 * OpenSBI enters _start in S-mode at KERNEL_PA with the MMU off, a0 = hart
 * id and a1 = device tree. The kernel is linked at KERNEL_VA, in the upper
 * half (memlayout.h): until it jumps there, its code uses only pc-relative
 * addresses (lla), which hold at both places. kernel_root (vm.c) maps the
 * kernel's gigapage at both.
 *
 * The kernel has one stack: it never sleeps inside a system call (a
 * blocked wait() is finished later by the child's exit), so every trap
 * from user mode starts on an empty kernel stack.
 */
#include <memlayout.h>

	.section .text.entry
	.globl _start
_start:
	lla	t0, kernel_root
	srli	t0, t0, 12
	li	t1, SATP_SV39
	or	t0, t0, t1
	csrw	satp, t0
	sfence.vma zero, zero
	lla	t0, .Lupper
	li	t1, DIRECT_MAP
	add	t0, t0, t1
	jr	t0			/* to .Lupper, in the upper half */
.Lupper:
	lla	t0, kernel_vector
	csrw	stvec, t0		/* a fault in the kernel: panic, not a hang */
	lla	sp, kernel_stack_top
	lla	t0, __bss_start
	lla	t1, __bss_end
1:	bgeu	t0, t1, 2f
	sd	zero, 0(t0)
	addi	t0, t0, 8
	j	1b
2:	call	kmain
3:	wfi
	j	3b

/*
 * A trap from user mode. sscratch holds the current process's trapframe
 * (struct trapframe: epc, then x1..x31).
 */
	.text
	.balign 4
	.globl user_vector
user_vector:
	csrrw	a0, sscratch, a0
	sd	x1, 8(a0)
	sd	x2, 16(a0)
	sd	x3, 24(a0)
	sd	x4, 32(a0)
	sd	x5, 40(a0)
	sd	x6, 48(a0)
	sd	x7, 56(a0)
	sd	x8, 64(a0)
	sd	x9, 72(a0)
	sd	x11, 88(a0)
	sd	x12, 96(a0)
	sd	x13, 104(a0)
	sd	x14, 112(a0)
	sd	x15, 120(a0)
	sd	x16, 128(a0)
	sd	x17, 136(a0)
	sd	x18, 144(a0)
	sd	x19, 152(a0)
	sd	x20, 160(a0)
	sd	x21, 168(a0)
	sd	x22, 176(a0)
	sd	x23, 184(a0)
	sd	x24, 192(a0)
	sd	x25, 200(a0)
	sd	x26, 208(a0)
	sd	x27, 216(a0)
	sd	x28, 224(a0)
	sd	x29, 232(a0)
	sd	x30, 240(a0)
	sd	x31, 248(a0)
	csrr	t0, sscratch
	sd	t0, 80(a0)
	csrr	t0, sepc
	sd	t0, 0(a0)
	la	sp, kernel_stack_top
	call	user_trap		/* never returns */

/* user_return(tf): enter user mode with the registers of tf. */
	.globl user_return
user_return:
	ld	t0, 0(a0)
	csrw	sepc, t0
	csrw	sscratch, a0
	ld	x1, 8(a0)
	ld	x2, 16(a0)
	ld	x3, 24(a0)
	ld	x4, 32(a0)
	ld	x5, 40(a0)
	ld	x6, 48(a0)
	ld	x7, 56(a0)
	ld	x8, 64(a0)
	ld	x9, 72(a0)
	ld	x11, 88(a0)
	ld	x12, 96(a0)
	ld	x13, 104(a0)
	ld	x14, 112(a0)
	ld	x15, 120(a0)
	ld	x16, 128(a0)
	ld	x17, 136(a0)
	ld	x18, 144(a0)
	ld	x19, 152(a0)
	ld	x20, 160(a0)
	ld	x21, 168(a0)
	ld	x22, 176(a0)
	ld	x23, 184(a0)
	ld	x24, 192(a0)
	ld	x25, 200(a0)
	ld	x26, 208(a0)
	ld	x27, 216(a0)
	ld	x28, 224(a0)
	ld	x29, 232(a0)
	ld	x30, 240(a0)
	ld	x31, 248(a0)
	ld	a0, 80(a0)
	sret

/*
 * fp_save(fp), fp_restore(fp): the floating-point registers f0..f31 and
 * fcsr, to or from uint64_t fp[33]. Static glibc programs use them; the
 * kernel itself is built without them.
 */
	.option push
	.option arch, +d
	.globl fp_save
fp_save:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	fsd	f\n, \n*8(a0)
	.endr
	frcsr	t0
	sd	t0, 256(a0)
	ret

	.globl fp_restore
fp_restore:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	fld	f\n, \n*8(a0)
	.endr
	ld	t0, 256(a0)
	fscsr	t0
	ret
	.option pop

/* A trap in the kernel itself is a bug: report it. */
	.balign 4
	.globl kernel_vector
kernel_vector:
	la	sp, kernel_stack_top
	call	kernel_trap

	.bss
	.balign 16
	.space	16384
kernel_stack_top:
