/*
 * The Linux side of the address-space oracle: executor processes that run
 * memory calls in windows of their own address space, on command.
 *
 * An executor is this test program started again (exec) with
 * "--executor": a fresh address space that calls no malloc and no mmap of
 * its own after setup, so that the windows hold only what the commands put
 * there. Setup picks two windows:
 *
 * - the mmap window [lo, hi): the highest free range of its size below the
 *   kernel's mmap base, with every gap between it and the mmap base filled
 *   (PROT_NONE probes kept where they land), so that a mapping placed
 *   without a usable hint lands top-down from hi, deterministically;
 *   a guard page that merges with nothing (shared anonymous, PROT_NONE)
 *   sits on each side;
 * - the heap window [start_brk, start_brk + heap size), the program break's
 *   range, with a guard on each side.
 *
 * Commands and replies are fixed-size messages on a SOCK_SEQPACKET socket;
 * fork sends the child's socket along (SCM_RIGHTS) and the child executor
 * answers on it. An executor that dies shows as a closed socket, never as
 * a crash of the harness.
 */
#ifndef ORACLE_HOST_H
#define ORACLE_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Bytes a read or write command moves at most. */
#define OX_DATA 256
/* Lines of /proc/self/maps in the windows, and pages, a state holds. */
#define OX_LINES 256
#define OX_PAGES 2048

enum ox_op {
	OX_SETUP = 1, /* a[0] mmap window bytes, a[1] heap window bytes */
	OX_MMAP,      /* a[0] addr, a[1] len, a[2] prot, a[3] flags, fd,
			 a[4] offset */
	OX_MUNMAP,    /* a[0] addr, a[1] len */
	OX_MPROTECT,  /* a[0] addr, a[1] len, a[2] prot */
	OX_MREMAP,    /* a[0] old, a[1] old len, a[2] new len, a[3] flags,
			 a[4] new addr */
	OX_BRK,       /* a[0] addr; ret: the break after */
	OX_MADVISE,   /* a[0] addr, a[1] len, a[2] advice */
	OX_MSEAL,     /* a[0] addr, a[1] len, a[2] flags */
	OX_READ,      /* user loads: a[0] addr, n bytes into data */
	OX_WRITE,     /* user stores: a[0] addr, n bytes from data */
	OX_COPY_TO,   /* the kernel writes user memory: read(2) of n bytes
			 of data from a pipe into a[0] */
	OX_COPY_FROM, /* the kernel reads user memory: write(2) of n bytes
			 at a[0] into a pipe; the bytes read back in data */
	OX_FORK,      /* the child's socket comes with it; ret: its pid */
	OX_EXIT,
	OX_MEMFD,     /* memfd_create(data as name, a[0] flags); ret: fd */
	OX_FTRUNCATE, /* fd, a[0] length */
	OX_FALLOCATE, /* fd, a[0] mode, a[1] offset, a[2] length */
	OX_PWRITE,    /* fd, a[0] offset, n bytes from data */
	OX_STATE,     /* reply: struct ox_state */
};

struct ox_req {
	uint32_t op;
	int32_t fd;
	uint64_t a[6];
	uint32_t n;
	uint8_t data[OX_DATA];
};

/* How a user access ended: all n bytes, or a signal at fault_addr after
 * done bytes. */
struct ox_rep {
	int64_t ret;
	int32_t err; /* errno, 0 on success */
	int32_t sig, code;
	uint64_t fault_addr, done;
	uint8_t data[OX_DATA];
};

/* Setup's answer. */
struct ox_layout {
	uint64_t page;
	uint64_t lo, hi;           /* the mmap window */
	uint64_t start_brk, brk;   /* the program break at setup */
	uint64_t heap_end;         /* the heap window's end */
	unsigned fillers;          /* probes kept above the window */
	bool heap_ok;              /* the heap window could be guarded */
	char why[128];             /* setup's complaint, if ret < 0 */
};

/* Linux's VM_* bits of an area, as /proc/PID/smaps shows them (VmFlags). */
#define OX_VM_READ 0x1ull
#define OX_VM_WRITE 0x2ull
#define OX_VM_EXEC 0x4ull
#define OX_VM_SHARED 0x8ull
#define OX_VM_MAYREAD 0x10ull
#define OX_VM_MAYWRITE 0x20ull
#define OX_VM_MAYEXEC 0x40ull
#define OX_VM_MAYSHARE 0x80ull
#define OX_VM_LOCKED 0x2000ull
#define OX_VM_SEQ_READ 0x8000ull
#define OX_VM_RAND_READ 0x10000ull
#define OX_VM_DONTCOPY 0x20000ull
#define OX_VM_DONTEXPAND 0x40000ull
#define OX_VM_ACCOUNT 0x100000ull
#define OX_VM_NORESERVE 0x200000ull
#define OX_VM_WIPEONFORK 0x2000000ull
#define OX_VM_HUGEPAGE 0x20000000ull
#define OX_VM_NOHUGEPAGE 0x40000000ull
#define OX_VM_SEALED 0x8000000000000000ull
/* Not a VmFlags mnemonic: a protection key other than 0 (smaps
 * ProtectionKey), Linux's VM_PKEY_BIT* (x86 gives execute-only memory a
 * key of its own). */
#define OX_VM_PKEY 0x100000000ull

/* Where a page's sum says it cannot be read even with FOLL_FORCE. */
#define OX_UNREADABLE 0xdeadbeefdeadbeefull

struct ox_page {
	uint64_t addr, sum;
};

/* One process's windows: their /proc/self/maps lines as text (whole
 * lines that meet a window), each line's VM_* flags, the sum of every page
 * those lines cover within the windows, and the program break. */
struct ox_state {
	uint64_t brk;
	uint32_t nlines, npages;
	uint32_t text_len;
	char text[OX_LINES * 128];
	uint64_t vmflags[OX_LINES];
	struct ox_page pages[OX_PAGES];
};

/* The harness's handle on one executor. */
struct ox_proc {
	pid_t pid;
	int sock;
};

/* The sum of one page's bytes, the same on both sides of the oracle. */
uint64_t ox_page_sum(const void *page, size_t size);

/*
 * Start a root executor: this program (argv0 resolved from
 * /proc/self/exe) run again with "--executor". On success fills *p and
 * *layout and returns 0; on a failed setup returns -1 with layout->why set.
 */
int ox_spawn(struct ox_proc *p, uint64_t win_bytes, uint64_t heap_bytes,
	     struct ox_layout *layout);

/* Send a command and wait for its reply. Returns 0, or -1 if the executor
 * is gone (its socket closed). */
int ox_call(struct ox_proc *p, const struct ox_req *req, struct ox_rep *rep);

/* Fork p; the new executor is *child. Returns the pid or -1. */
int ox_fork(struct ox_proc *p, struct ox_proc *child, struct ox_rep *rep);

/* The windows' state of p. Returns 0, or -1 if the executor is gone. */
int ox_get_state(struct ox_proc *p, struct ox_state *st);

/* Ask p to exit and forget it. */
void ox_exit(struct ox_proc *p);

/* Kill the executors given, in the order they were started, and reap
 * them. */
void ox_kill_all(const pid_t *pids, int n);

/*
 * The executor's main loop, run when main() sees "--executor" as argv[1]:
 * serves commands on file descriptor 3 until told to exit. Never returns.
 */
void ox_executor_main(void) __attribute__((noreturn));

#endif /* ORACLE_HOST_H */
