/*
 * Processes, traps and the boot: the kernel runs every program built into
 * the image, one after the other, and prints one PASS or FAIL line for each.
 *
 * There is no preemption and one kernel stack: a process runs until it
 * traps; the kernel handles the trap to the end and returns to a process.
 * Only wait() blocks, and the exit of a child finishes it.
 */
#include "kernel.h"

#define NPROC 16
#define SCAUSE_ECALL_U 8
#define SCAUSE_FETCH_FAULT 12
#define SCAUSE_LOAD_FAULT 13
#define SCAUSE_STORE_FAULT 15
#define SSTATUS_SPP (1ul << 8)

void user_vector(void);
void kernel_vector(void);
_Noreturn void user_return(struct trapframe *tf);
extern char kernel_end[];

static struct proc procs[NPROC];
static struct proc *current;
static int next_pid = 1;
static bool yielding;

/* The program being run, its result, and what must be free after it. */
static const struct program *program = user_programs;
static int program_pid, program_status;
static uint64_t baseline_frames, baseline_nodes;
static int programs_failed;

static uint64_t csr_scause(void)
{
	uint64_t v;

	asm volatile("csrr %0, scause" : "=r"(v));
	return v;
}

static uint64_t csr_stval(void)
{
	uint64_t v;

	asm volatile("csrr %0, stval" : "=r"(v));
	return v;
}

static void set_stvec(void (*vector)(void))
{
	asm volatile("csrw stvec, %0" : : "r"(vector));
}

static struct proc *proc_alloc(void)
{
	for (int i = 0; i < NPROC; i++) {
		struct proc *p = &procs[i];

		if (p->state != UNUSED)
			continue;
		memset(p, 0, sizeof(*p));
		if (!pagetable_create(&p->pt))
			return NULL;
		mm_init(&p->mm);
		p->pid = next_pid++;
		p->state = RUNNABLE;
		return p;
	}
	return NULL;
}

/* Give back the memory of a process: its areas, their pages, its tables. */
static void proc_release(struct proc *p)
{
	memory_set_clear(&p->mm, &p->pt); /* the unmap hook cannot fail */
	memory_set_destroy(&p->mm);
	pagetable_destroy(&p->pt);
}

/* ---- Loading a program ---- */

struct elf_header {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf_segment {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

#define PT_LOAD 1
#define EM_RISCV 243

/* A fresh process running @prog: its segments, a stack, an empty heap. */
static struct proc *spawn(const struct program *prog)
{
	const struct elf_header *eh = (const void *)prog->start;
	struct proc *p;

	if (memcmp(eh->ident, "\177ELF", 4) || eh->machine != EM_RISCV)
		panic("%s: not a riscv64 ELF file", prog->name);
	p = proc_alloc();
	if (!p)
		panic("%s: no process", prog->name);
	p->name = prog->name;
	for (int i = 0; i < eh->phnum; i++) {
		const struct elf_segment *s = (const void *)(prog->start +
				eh->phoff + i * (uint64_t)eh->phentsize);
		uint64_t start = PAGE_ROUND_DOWN(s->vaddr);
		uint64_t end = PAGE_ROUND_UP(s->vaddr + s->memsz);
		/* ELF says x=1, w=2, r=4; the areas use r=1, w=2, x=4. */
		uint64_t flags = (s->flags & 4 ? PROT_READ : 0) |
				 (s->flags & 2 ? PROT_WRITE : 0) |
				 (s->flags & 1 ? PROT_EXEC : 0);

		if (s->type != PT_LOAD || s->memsz == 0)
			continue;
		p->pt.populate = true;
		if (memory_set_map(&p->mm, start, end - start, flags,
				   &anon_backend, &p->pt, false))
			panic("%s: cannot map segment %d", prog->name, i);
		p->pt.populate = false;
		vm_load(&p->pt, s->vaddr, prog->start + s->offset, s->filesz);
		if (end + PAGE_SIZE > p->heap_start)
			p->heap_start = end + PAGE_SIZE; /* a guard page */
	}
	if (memory_set_map(&p->mm, USER_TOP - STACK_SIZE, STACK_SIZE,
			   PROT_READ | PROT_WRITE, &anon_backend, &p->pt, false))
		panic("%s: no stack", prog->name);
	p->brk = p->heap_start;
	p->tf.epc = eh->entry;
	p->tf.x[1] = USER_TOP; /* sp */
	return p;
}

/* ---- Process life ---- */

long proc_fork(struct proc *parent)
{
	struct proc *child = proc_alloc();
	enum mapping_error err;

	if (!child)
		return -ENOMEM;
	err = memory_set_dup(&child->mm, &parent->mm, &parent->pt, &child->pt);
	if (err) {
		proc_release(child);
		child->state = UNUSED;
		return -mapping_error_to_errno(err);
	}
	child->tf = parent->tf;
	TF_A(&child->tf, 0) = 0;
	child->name = parent->name;
	child->heap_start = parent->heap_start;
	child->brk = parent->brk;
	child->parent = parent;
	return child->pid;
}

void proc_yield(void)
{
	yielding = true;
}

/* Hand a finished child to its parent's wait(); 0 or -EFAULT. */
static long reap(struct proc *parent, struct proc *child)
{
	long ret = child->pid;
	int status = child->status;

	if ((parent->wait_status &&
	     user_copy(&parent->mm, &parent->pt, parent->wait_status, &status,
		       sizeof(status), true)) ||
	    (parent->wait_addr &&
	     user_copy(&parent->mm, &parent->pt, parent->wait_addr,
		       &child->fault_addr, sizeof(uint64_t), true)))
		ret = -EFAULT;
	child->state = UNUSED;
	return ret;
}

long proc_wait(struct proc *p, uint64_t status_ptr, uint64_t addr_ptr)
{
	bool children = false;

	p->wait_status = status_ptr;
	p->wait_addr = addr_ptr;
	for (int i = 0; i < NPROC; i++) {
		if (procs[i].state == UNUSED || procs[i].parent != p)
			continue;
		if (procs[i].state == ZOMBIE)
			return reap(p, &procs[i]);
		children = true;
	}
	if (!children)
		return -ECHILD;
	p->state = WAITING; /* the exit of a child finishes this call */
	return 0;
}

void proc_exit(struct proc *p, int status)
{
	struct proc *parent = p->parent;

	p->status = status;
	proc_release(p);
	for (int i = 0; i < NPROC; i++) {
		if (procs[i].state == UNUSED || procs[i].parent != p)
			continue;
		procs[i].parent = NULL; /* orphans go when they exit */
		if (procs[i].state == ZOMBIE)
			procs[i].state = UNUSED;
	}
	if (p->pid == program_pid)
		program_status = status;
	if (!parent) {
		p->state = UNUSED;
	} else if (parent->state == WAITING) {
		TF_A(&parent->tf, 0) = (uint64_t)reap(parent, p);
		parent->state = RUNNABLE;
	} else {
		p->state = ZOMBIE;
	}
}

void proc_kill(struct proc *p, int reason, uint64_t addr, const char *why)
{
	printf("%s[%d]: killed: %s\n", p->name, p->pid, why);
	p->fault_addr = addr;
	proc_exit(p, reason);
}

/* ---- Running ---- */

static _Noreturn void run(struct proc *p)
{
	current = p;
	pagetable_activate(&p->pt);
	asm volatile("csrc sstatus, %0" : : "r"(SSTATUS_SPP)); /* to U-mode */
	set_stvec(user_vector);
	user_return(&p->tf);
}

/* The line the test script reads, once a program and its children are gone. */
static void report(void)
{
	int s = program_status;

	if (frames_free() != baseline_frames) {
		printf("FAIL %s: %ld frames not freed\n", program->name,
		       (long)(baseline_frames - frames_free()));
	} else if (mm_nodes_free() != baseline_nodes) {
		printf("FAIL %s: %ld set nodes not freed\n", program->name,
		       (long)(baseline_nodes - mm_nodes_free()));
	} else if (WIFEXITED(s) && WEXITSTATUS(s) == 0) {
		printf("PASS %s\n", program->name);
		return;
	} else if (WIFEXITED(s)) {
		printf("FAIL %s: exit %d\n", program->name, WEXITSTATUS(s));
	} else {
		printf("FAIL %s: killed: %s\n", program->name,
		       kill_reason_name(WKILLREASON(s)));
	}
	programs_failed++;
}

static _Noreturn void next_program(void)
{
	if (program_pid) {
		report();
		program++;
	}
	if (!program->name) {
		printf("kernel: %ld programs run, %d failed\n",
		       (long)(program - user_programs), programs_failed);
		shutdown();
	}
	baseline_frames = frames_free();
	baseline_nodes = mm_nodes_free();
	struct proc *p = spawn(program);

	program_pid = p->pid;
	program_status = -1;
	run(p);
}

_Noreturn void schedule(void)
{
	int first = current ? (int)(current - procs) + 1 : 0;

	yielding = false;
	for (int i = 0; i < NPROC; i++) {
		struct proc *p = &procs[(first + i) % NPROC];

		if (p->state == RUNNABLE)
			run(p);
	}
	for (int i = 0; i < NPROC; i++)
		if (procs[i].state != UNUSED)
			panic("no process can run");
	next_program();
}

/* ---- Traps ---- */

/*
 * A handled fault does not come back: one hart, no preemption, so nothing
 * changes the page table between the fault hook and the retried access.
 * The same fault again and again, with no system call between, means the
 * page table refuses what the set allows: a kernel bug, which kills the
 * process and says so rather than hang.
 */
#define FAULT_REPEATS 8

static void page_fault(struct proc *p, uint64_t scause, uint64_t addr)
{
	uint64_t access = scause == SCAUSE_STORE_FAULT ? MAPPING_ACCESS_WRITE :
			  scause == SCAUSE_LOAD_FAULT ? MAPPING_ACCESS_READ :
			  MAPPING_ACCESS_EXEC;
	const char *kind = access == MAPPING_ACCESS_WRITE ? "store" :
			   access == MAPPING_ACCESS_READ ? "load" : "fetch";
	enum mapping_error err;
	int reason;

	if (p->tf.epc != p->last_fault_pc || addr != p->last_fault_va) {
		p->last_fault_pc = p->tf.epc;
		p->last_fault_va = addr;
		p->fault_repeats = 0;
	}
	if (p->fault_repeats++ == FAULT_REPEATS) {
		reason = KILL_STUCK;
	} else {
		err = memory_set_handle_fault(&p->mm, addr, access, &p->pt, NULL);
		if (err == MAPPING_OK)
			return;
		reason = err == MAPPING_ERR_BAD_STATE ? KILL_UNMAPPED :
			 err == MAPPING_ERR_ACCESS_DENIED ? KILL_DENIED :
			 KILL_NOMEM;
	}
	printf("%s[%d]: killed: %s at 0x%lx: %s\n", p->name, p->pid, kind, addr,
	       kill_reason_name(reason));
	p->fault_addr = addr;
	proc_exit(p, reason);
}

_Noreturn void user_trap(struct trapframe *tf)
{
	struct proc *p = current;
	uint64_t scause = csr_scause();

	set_stvec(kernel_vector);
	if (tf != &p->tf)
		panic("trap: wrong trapframe");
	if (scause == SCAUSE_ECALL_U) {
		long ret;

		p->tf.epc += 4;
		p->fault_repeats = 0;
		ret = syscall(p);
		if (p->state == RUNNABLE)
			TF_A(&p->tf, 0) = (uint64_t)ret;
	} else if (scause == SCAUSE_FETCH_FAULT || scause == SCAUSE_LOAD_FAULT ||
		   scause == SCAUSE_STORE_FAULT) {
		page_fault(p, scause, csr_stval());
	} else {
		printf("%s[%d]: scause %lx at pc 0x%lx, stval 0x%lx\n", p->name,
		       p->pid, scause, tf->epc, csr_stval());
		proc_kill(p, KILL_TRAP, csr_stval(), "unexpected trap");
	}
#ifdef MEMORY_SET_DEBUG_CHECK
	if (scause == SCAUSE_ECALL_U &&
	    (p->state == RUNNABLE || p->state == WAITING)) {
		const char *msg = vm_check(&p->mm, &p->pt);

		if (msg) {
			printf("%s[%d]: check failed: %s\n", p->name, p->pid, msg);
			proc_kill(p, KILL_CHECK, 0, "the set and the page table disagree");
		}
	}
#endif
	if (p->state == RUNNABLE && !yielding)
		run(p);
	schedule();
}

void kernel_trap(void)
{
	uint64_t sepc;

	asm volatile("csrr %0, sepc" : "=r"(sepc));
	panic("kernel trap: scause %lx sepc %lx stval %lx", csr_scause(), sepc,
	      csr_stval());
}

void kmain(void)
{
	printf("kernel: memory_set on Sv39, %ld MiB of RAM\n", (long)(RAM_SIZE >> 20));
	frame_init(PAGE_ROUND_UP((uint64_t)kernel_end), RAM_BASE + RAM_SIZE);
	vm_init();
	printf("kernel: %ld frames free\n", (long)frames_free());
	asm volatile("csrw scounteren, %0" : : "r"(7ul)); /* rdtime in U-mode */
	schedule();
}
