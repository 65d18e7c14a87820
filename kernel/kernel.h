/* Declarations shared by the kernel's files. */
#ifndef KERNEL_H
#define KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <abi.h>
#include <memory_set/aspace.h>

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

/* kalloc.c: the kernel's heap (the layer's records). */
void kalloc_init(void);
void *kalloc(size_t size);              /* NULL if none */
void kfree(void *ptr, size_t size);
uint64_t kalloc_used(void);

/* vm.c: Sv39 page tables, the host side of the address-space layer. */
struct pagetable {
	uint64_t *root;
};
void vm_init(void);
uint64_t mm_nodes_free(void);
bool pagetable_create(struct pagetable *pt);
void pagetable_destroy(struct pagetable *pt);
void pagetable_activate(const struct pagetable *pt);
int vm_space_init(struct aspace *as, struct pagetable *pt);
void vm_fence_page(uint64_t va);
const char *vm_check(const struct aspace *as, const struct pagetable *pt);
void vm_plant_stray_pte(struct pagetable *pt);

/* proc.c: processes and traps. */
struct trapframe {
	uint64_t epc;
	uint64_t x[31]; /* x[i - 1] is register xi */
};
#define TF_A(tf, i) ((tf)->x[9 + (i)]) /* a0..a7 */

enum proc_state { UNUSED, RUNNABLE, WAITING, ZOMBIE };

/*
 * An open file of a Linux process (linux.c): the console, a ramfs file or
 * a memfd (an object of the layer, one reference per descriptor).
 */
enum fd_kind { FD_CLOSED, FD_CONSOLE, FD_FILE, FD_MEMFD };
struct fd {
	enum fd_kind kind;
	const struct rfile *file;
	struct aspace_object *obj;
	uint64_t pos;
};
#define NFD 16

struct proc {
	struct trapframe tf; /* first: the trap entry saves here */
	enum proc_state state;
	int pid;
	struct proc *parent;
	const char *name;
	struct aspace as;      /* its areas: the layer's, over pt */
	struct pagetable pt;
	int status;            /* for wait(): exit code << 8 or KILL_* */
	uint64_t fault_addr;   /* for wait(): the address of a fatal fault */
	uint64_t last_fault_pc, last_fault_va; /* the last page fault... */
	int fault_repeats;     /* ...and how often since, with no system call */
	int wait_pid;          /* the child a blocked wait waits for, or -1 */
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
long proc_wait(struct proc *p, int pid, uint64_t status_ptr, uint64_t addr_ptr);
struct proc *proc_find(int pid);
void proc_kill(struct proc *p, int reason, uint64_t addr, const char *why);

/*
 * The kernel's copies to and from a process's memory: the layer's, which
 * fault pages in as the process's own access would. 0 or -errno (EFAULT).
 */
static inline int copy_to_user(struct proc *p, uint64_t dst, const void *src,
			       size_t len)
{
	return aspace_copy_to_user(&p->as, dst, src, len, NULL);
}

static inline int copy_from_user(struct proc *p, void *dst, uint64_t src,
				 size_t len)
{
	return aspace_copy_from_user(&p->as, dst, src, len, NULL);
}

/* syscall.c: the kernel's own system calls. */
long syscall(struct proc *p);
long sys_write(struct proc *p, uint64_t buf, uint64_t len);

/* exec.c: a static ELF64 program into a fresh process. */
int exec_load(struct proc *p, const char *path);
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
const unsigned char *ramfs_data(const struct rfile *f);
int ramfs_object(struct proc *p, const struct rfile *f,
		 struct aspace_object **obj);

/* linux.c */
long linux_syscall(struct proc *p);
void linux_files_init(struct proc *p);
void linux_files_fork(struct proc *child, const struct proc *parent);
void linux_files_close(struct proc *p);

#endif
