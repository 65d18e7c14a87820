/*
 * The part of Linux's riscv64 ABI the kernel implements for static
 * programs: system call numbers of the generic table (asm-generic/unistd.h),
 * the auxiliary vector, and the structures the calls fill in. The values
 * are Linux's; the kernel's own programs use abi.h instead.
 */
#ifndef KERNEL_LINUX_ABI_H
#define KERNEL_LINUX_ABI_H

#include <stdint.h>

/* System calls: number in a7, arguments in a0..a5, result or -errno in a0. */
#define LNR_ioctl 29
#define LNR_ftruncate 46
#define LNR_fallocate 47
#define LNR_openat 56
#define LNR_close 57
#define LNR_lseek 62
#define LNR_read 63
#define LNR_write 64
#define LNR_writev 66
#define LNR_pread64 67
#define LNR_pwrite64 68
#define LNR_readlinkat 78
#define LNR_newfstatat 79
#define LNR_fstat 80
#define LNR_exit 93
#define LNR_exit_group 94
#define LNR_set_tid_address 96
#define LNR_set_robust_list 99
#define LNR_clock_gettime 113
#define LNR_prctl 167
#define LNR_getpid 172
#define LNR_getuid 174
#define LNR_geteuid 175
#define LNR_getgid 176
#define LNR_getegid 177
#define LNR_gettid 178
#define LNR_brk 214
#define LNR_munmap 215
#define LNR_mremap 216
#define LNR_clone 220
#define LNR_mmap 222
#define LNR_mprotect 226
#define LNR_madvise 233
#define LNR_wait4 260
#define LNR_prlimit64 261
#define LNR_getrandom 278
#define LNR_memfd_create 279
#define LNR_mseal 462

/* errno values beyond abi.h's. */
#define ENOENT 2
#define ESRCH 3
#define ENOEXEC 8
#define ENODEV 19
#define EMFILE 24
#define ENOTTY 25
#define ESPIPE 29
#define EROFS 30
#define ENAMETOOLONG 36

/* Status of a process a signal ended, as wait() reports it. */
#define SIGILL 4
#define SIGBUS 7
#define SIGKILL 9
#define SIGSEGV 11
#define SIGCHLD 17

/* clone() flags: a fork is SIGCHLD with at most these. */
#define CLONE_VM 0x00000100
#define CLONE_PARENT_SETTID 0x00100000
#define CLONE_CHILD_CLEARTID 0x00200000
#define CLONE_CHILD_SETTID 0x01000000
#define CSIGNAL 0xff

#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0

/* Auxiliary vector. */
#define AT_NULL 0
#define AT_PHDR 3
#define AT_PHENT 4
#define AT_PHNUM 5
#define AT_PAGESZ 6
#define AT_BASE 7
#define AT_FLAGS 8
#define AT_ENTRY 9
#define AT_UID 11
#define AT_EUID 12
#define AT_GID 13
#define AT_EGID 14
#define AT_HWCAP 16
#define AT_CLKTCK 17
#define AT_SECURE 23
#define AT_RANDOM 25
#define AT_EXECFN 31

#define AT_FDCWD (-100)
#define AT_EMPTY_PATH 0x1000
#define O_ACCMODE 3
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2
#define TCGETS 0x5401
#define RLIMIT_STACK 3
#define RLIM_INFINITY (~0ul)
#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_MONOTONIC_RAW 4
#define CLOCK_REALTIME_COARSE 5
#define CLOCK_MONOTONIC_COARSE 6
#define CLOCK_BOOTTIME 7

#define S_IFCHR 0020000
#define S_IFREG 0100000

/* struct stat of the generic ABI (asm-generic/stat.h): 128 bytes. */
struct linux_stat {
	uint64_t st_dev, st_ino;
	uint32_t st_mode, st_nlink, st_uid, st_gid;
	uint64_t st_rdev, pad1;
	int64_t st_size;
	int32_t st_blksize, pad2;
	int64_t st_blocks;
	int64_t st_atime, st_atime_nsec, st_mtime, st_mtime_nsec;
	int64_t st_ctime, st_ctime_nsec;
	uint32_t unused[2];
};

/* struct termios of TCGETS (asm-generic/termbits.h). */
struct linux_termios {
	uint32_t c_iflag, c_oflag, c_cflag, c_lflag;
	uint8_t c_line, c_cc[19];
};

struct linux_timespec {
	int64_t tv_sec, tv_nsec;
};

struct linux_iovec {
	uint64_t base, len;
};

#endif
