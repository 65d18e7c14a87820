/* Declarations shared by the kernel's files. */
#ifndef KERNEL_H
#define KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <abi.h>
#include <memory_set/memory_set.h>

#define RAM_BASE 0x80000000ul
#define RAM_SIZE (64ul << 20)   /* qemu -m 64M */
#define PAGE_ROUND_UP(x) (((x) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))
#define PAGE_ROUND_DOWN(x) ((x) & ~(PAGE_SIZE - 1))

/* console.c */
void printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void console_write(const char *s, size_t len);
_Noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void shutdown(void);

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
};

struct program {
	const char *name;
	const unsigned char *start, *end;
};
extern const struct program user_programs[]; /* programs.S, name 0 ends */

_Noreturn void schedule(void);
long proc_fork(struct proc *p);          /* child pid or -errno */
void proc_yield(void);
void proc_exit(struct proc *p, int status);
long proc_wait(struct proc *p, uint64_t status_ptr, uint64_t addr_ptr);
void proc_kill(struct proc *p, int reason, uint64_t addr, const char *why);

/* syscall.c */
long syscall(struct proc *p);

#endif
