/*
 * What the kernel and its user programs agree on: system call numbers,
 * mmap flags, error numbers and the status wait() reports.
 */
#ifndef KERNEL_ABI_H
#define KERNEL_ABI_H

#include <memlayout.h> /* USER_TOP, and the kernel's addresses */

/* System calls: number in a7, arguments in a0..a4, result in a0. */
#define SYS_exit 1     /* exit(code) */
#define SYS_write 2    /* write(fd, buf, len) -> len */
#define SYS_fork 3     /* fork() -> child pid, 0 in the child */
#define SYS_wait 4     /* wait(&status, &fault_addr) -> pid */
#define SYS_yield 5    /* yield(): let the other processes run */
#define SYS_getpid 6
#define SYS_brk 7      /* brk(addr) -> new break (old one on failure) */
#define SYS_mmap 8     /* mmap(addr, len, prot, flags) -> addr */
#define SYS_munmap 9   /* munmap(addr, len) */
#define SYS_mprotect 10 /* mprotect(addr, len, prot) */
#define SYS_mremap 11  /* mremap(old, old_len, new_len, flags, new_addr) -> addr */
#define SYS_maps 12    /* maps(buf, len): /proc/self/maps text; buf 0: console */
#define SYS_debug 13   /* debug(op): debug builds only, see DEBUG_* */
#define SYS_madvise 14 /* madvise(addr, len, advice) */

/* The memory calls are Linux's (the address-space layer): Linux's values. */
#define PROT_NONE 0
#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_EXEC 4

#define MAP_PRIVATE 0x02
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MAP_POPULATE 0x8000
#define MAP_FIXED_NOREPLACE 0x100000

#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2
#define MREMAP_DONTUNMAP 4

#define MADV_DONTNEED 4

/* debug() operations. */
#define DEBUG_STRAY_PTE 1 /* plant a page-table entry outside every area */
#define DEBUG_FREE_FRAMES 2 /* -> the frames free now */

/* Errors are returned negated, as Linux does. */
#define EPERM 1
#define EBADF 9
#define ENOMEM 12
#define EACCES 13
#define EFAULT 14
#define EEXIST 17
#define EINVAL 22
#define ECHILD 10
#define EAGAIN 11
#define ENOSYS 38

/*
 * wait() status: an exit gives code << 8; a kill gives one of the KILL_*
 * reasons in the low byte.
 */
#define KILL_UNMAPPED 1  /* access to an address in no area (SEGV_MAPERR) */
#define KILL_DENIED 2    /* access the area's flags do not allow (SEGV_ACCERR) */
#define KILL_NOMEM 3     /* no frame for a page fault */
#define KILL_CHECK 4     /* the set and the page table disagree */
#define KILL_TRAP 5      /* any other exception */
#define KILL_STUCK 6     /* a fault the kernel handled keeps coming back */
#define KILL_BUS 7       /* access past the end of a shared object (SIGBUS) */
#define WIFEXITED(s) (((s) & 0xff) == 0)
#define WEXITSTATUS(s) (((s) >> 8) & 0xff)
#define WKILLREASON(s) ((s) & 0xff)

/* A kill reason in words, for messages. */
static inline const char *kill_reason_name(int reason)
{
	static const char *const names[] = {
		"?", "unmapped", "not allowed", "out of memory",
		"the set and the page table disagree", "unexpected trap",
		"the fault does not go away", "past the end of its object",
	};

	return reason > 0 && reason <= KILL_BUS ? names[reason] : "?";
}

/* The user address space: [USER_MIN, USER_TOP), USER_TOP in memlayout.h. */
#define USER_MIN 0x10000ul       /* programs are linked here */
#define MMAP_MIN 0x10000000ul    /* the programs map nothing below it but their heap */
#define MMAP_TOP (USER_TOP - 0x1000000ul) /* mmap places top-down below it */
#define STACK_SIZE 0x800000ul    /* [USER_TOP - STACK_SIZE, USER_TOP), lazy */
#define PAGE_SIZE 4096ul

#endif
