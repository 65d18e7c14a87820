/* Declarations shared by the kernel's files. */
#ifndef KERNEL_H
#define KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <abi.h>
#include <memory_set/memory_set.h>

#define RAM_SIZE ((uint64_t)RAM_MB << 20) /* qemu -m, from kernel/Makefile */
#define PAGE_ROUND_UP(x) (((x) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))
#define PAGE_ROUND_DOWN(x) ((x) & ~(PAGE_SIZE - 1))

/* Physical memory as the kernel reaches it: in the direct map (memlayout.h). */
static inline void *phys_to_virt(uint64_t pa)
{
	return (void *)(pa + DIRECT_MAP);
}

static inline uint64_t virt_to_phys(const void *va)
{
	return (uint64_t)va - DIRECT_MAP;
}

/* console.c */
void printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void console_write(const char *s, size_t len);
_Noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void shutdown(void);
#define TIMER_HZ 10000000ul /* QEMU virt's timebase-frequency */
void timer_set(uint64_t when);
uint64_t timer_now(void);

/* frame.c: 4 KiB physical frames, reference counted for copy-on-write. */
void frame_init(uint64_t first, uint64_t end);
uint64_t frame_alloc(void);             /* zeroed, 1 reference; 0 if none */
void frame_get(uint64_t pa);
void frame_put(uint64_t pa);            /* frees at the last reference */
unsigned frame_refs(uint64_t pa);
uint64_t frames_free(void);

/* vm.c: Sv39 page tables, the memory_set backend. */
struct pagetable {
	uint64_t *root;
	bool populate; /* set around one map call: allocate every page now */
};
extern const struct mapping_backend anon_backend;
void vm_init(void);
bool mm_init(struct memory_set *mm);
uint64_t mm_nodes_free(void);
bool pagetable_create(struct pagetable *pt);
void pagetable_destroy(struct pagetable *pt);
void pagetable_activate(const struct pagetable *pt);
int user_copy(struct memory_set *mm, struct pagetable *pt, uint64_t uva,
	      void *buf, size_t len, bool to_user);
void vm_load(const struct pagetable *pt, uint64_t va, const void *src,
	     size_t len);
const char *vm_check(const struct memory_set *mm, const struct pagetable *pt);
void vm_plant_stray_pte(struct pagetable *pt);

/* proc.c: processes and traps. */
struct trapframe {
	uint64_t epc;
	uint64_t x[31]; /* x[i - 1] is register xi */
};
#define TF_A(tf, i) ((tf)->x[9 + (i)]) /* a0..a7 */

enum proc_state { UNUSED, RUNNABLE, WAITING, ZOMBIE };

/* An open file of a Linux process (linux.c): the console or a ramfs file. */
enum fd_kind { FD_CLOSED, FD_CONSOLE, FD_FILE };
struct fd {
	enum fd_kind kind;
	const struct rfile *file;
	uint64_t pos;
};
#define NFD 16

struct proc {
	struct trapframe tf; /* first: the trap entry saves here */
	enum proc_state state;
	int pid;
	struct proc *parent;
	const char *name;
	struct memory_set mm;
	struct pagetable pt;
	uint64_t heap_start, brk;
	int status;            /* for wait(): exit code << 8 or KILL_* */
	uint64_t fault_addr;   /* for wait(): the address of a fatal fault */
	uint64_t last_fault_pc, last_fault_va; /* the last page fault... */
	int fault_repeats;     /* ...and how often since, with no system call */
	uint64_t wait_status, wait_addr; /* user pointers of a blocked wait */
	bool linux_abi;        /* Linux's system calls (linux.c), not syscall.c's */
	struct fd fds[NFD];    /* Linux processes' files */
	uint64_t fp[33];       /* f0..f31 and fcsr, while another process runs */
};

struct program {
	const char *name;
	const unsigned char *start, *end;
	uint64_t limit;     /* seconds it may take, its children included */
	uint64_t linux_abi; /* a Linux program (linux.c), else the kernel's ABI */
	uint64_t expect;    /* the wait() status it passes with: 0, exit 0 */
};
extern const struct program user_programs[]; /* programs.S, name 0 ends */

_Noreturn void schedule(void);
long proc_fork(struct proc *p);          /* child pid or -errno */
void proc_yield(void);
void proc_exit(struct proc *p, int status);
long proc_wait(struct proc *p, uint64_t status_ptr, uint64_t addr_ptr);
void proc_kill(struct proc *p, int reason, uint64_t addr, const char *why);

/* syscall.c; the memory calls are Linux programs' too, until the port. */
long syscall(struct proc *p);
long sys_write(struct proc *p, uint64_t buf, uint64_t len);
long sys_brk(struct proc *p, uint64_t addr);
long sys_mmap(struct proc *p, uint64_t addr, uint64_t len, uint64_t prot,
	      uint64_t flags);
long sys_munmap(struct proc *p, uint64_t addr, uint64_t len);
long sys_mprotect(struct proc *p, uint64_t addr, uint64_t len, uint64_t prot);
long sys_mremap(struct proc *p, uint64_t old, uint64_t old_len,
		uint64_t new_len, uint64_t flags, uint64_t new_addr);

/* exec.c: a static ELF64 program into a fresh process. */
int exec_load(struct proc *p, const unsigned char *image, uint64_t size,
	      const char *path);
void random_bytes(void *buf, size_t len);

/* ramfs.c: the read-only files, programs as RAMFS_BIN NAME. */
#define RAMFS_BIN "/bin/"
struct rfile;
void ramfs_init(void);
const struct rfile *ramfs_lookup(const char *path);
uint64_t ramfs_size(const struct rfile *f);
uint64_t ramfs_ino(const struct rfile *f);
long ramfs_read(struct proc *p, const struct rfile *f, uint64_t pos,
		uint64_t ubuf, uint64_t len);

/* linux.c */
long linux_syscall(struct proc *p);
void linux_files_init(struct proc *p);

#endif
