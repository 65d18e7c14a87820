/*
 * Processes, traps and the boot: the kernel runs every program built into
 * the image, one after the other, and prints one PASS or FAIL line for each.
 *
 * There is no preemption and one kernel stack: a process runs until it
 * traps; the kernel handles the trap to the end and returns to a process.
 * Only wait() blocks, and the exit of a child finishes it.
 */
#include "kernel.h"
#include <linux_abi.h>

#define NPROC 16
#define SCAUSE_ECALL_U 8
#define SCAUSE_FETCH_FAULT 12
#define SCAUSE_LOAD_FAULT 13
#define SCAUSE_STORE_FAULT 15
#define SCAUSE_TIMER (1ul << 63 | 5)
#define SIE_STIE (1ul << 5)
#define SCAUSE_ILLEGAL 2
#define SSTATUS_SPP (1ul << 8)
#define SSTATUS_FS (3ul << 13)       /* the FPU's state: off, initial, clean, dirty */
#define SSTATUS_FS_CLEAN (2ul << 13)

void user_vector(void);
void kernel_vector(void);
_Noreturn void user_return(struct trapframe *tf);
extern char kernel_end[];
void fp_save(uint64_t *fp);          /* entry.S */
void fp_restore(const uint64_t *fp);

static struct proc procs[NPROC];
static struct proc *current;
static struct proc *fp_owner; /* whose registers the FPU holds */

/* The FPU holds what fp_owner->fp says (and may be used: not off). */
static void fpu_clean(void)
{
	asm volatile("csrc sstatus, %0\n\tcsrs sstatus, %1" : :
		     "r"(SSTATUS_FS), "r"(SSTATUS_FS_CLEAN));
}
static int next_pid = 1;
static bool yielding;

/* The program being run, its result, and what must be free after it. */
static const struct program *program = user_programs;
static int program_pid, program_status;
static bool program_timed_out;
static uint64_t baseline_frames, baseline_nodes, baseline_heap;
static int programs_failed;
#ifndef STOP_AT_FAIL
#define STOP_AT_FAIL 0 /* 1: no program runs after the first that fails */
#endif

static uint64_t csr_scause(void)
{
	uint64_t v;

	asm volatile("csrr %0, scause" : "=r"(v));
	return v;
}

static uint64_t csr_sstatus(void)
{
	uint64_t v;

	asm volatile("csrr %0, sstatus" : "=r"(v));
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
		if (fp_owner == p)
			fp_owner = NULL; /* a new process starts with zeros */
		if (!pagetable_create(&p->pt))
			return NULL;
		p->pid = next_pid++;
		p->state = RUNNABLE;
		return p;
	}
	return NULL;
}

/*
 * Give back the memory of a process: its areas and their pages, its open
 * files (a memfd goes with its last reference), its tables.
 */
static void proc_release(struct proc *p)
{
	aspace_destroy(&p->as); /* nothing if it was never made */
	linux_files_close(p);
	pagetable_destroy(&p->pt);
}

/* ---- Starting a program ---- */

/* A fresh process running @prog (exec.c loads it). */
static struct proc *spawn(const struct program *prog)
{
	char path[64] = RAMFS_BIN;
	struct proc *p = proc_alloc();
	int err;

	if (!p || vm_space_init(&p->as, &p->pt))
		panic("%s: no process", prog->name);
	p->name = prog->name;
	p->linux_abi = prog->linux_abi;
	if (p->linux_abi)
		linux_files_init(p);
	if (strlen(RAMFS_BIN) + strlen(prog->name) >= sizeof(path))
		panic("%s: name too long", prog->name);
	memcpy(path + strlen(RAMFS_BIN), prog->name, strlen(prog->name) + 1);
	err = exec_load(p, path);
	if (err)
		panic("%s: cannot load: error %d", prog->name, -err);
	return p;
}

/* ---- Process life ---- */

long proc_fork(struct proc *parent)
{
	struct proc *child = proc_alloc();
	int err;

	if (!child)
		return -ENOMEM;
	err = aspace_fork(&child->as, &parent->as, &child->pt);
	if (err) {
		pagetable_destroy(&child->pt);
		child->state = UNUSED;
		return err;
	}
	child->tf = parent->tf;
	TF_A(&child->tf, 0) = 0;
	child->linux_abi = parent->linux_abi;
	linux_files_fork(child, parent);
	memcpy(child->fp, parent->fp, sizeof(child->fp));
	child->name = parent->name;
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
	     copy_to_user(parent, parent->wait_status, &status, sizeof(status))) ||
	    (parent->wait_addr &&
	     copy_to_user(parent, parent->wait_addr, &child->fault_addr,
			  sizeof(uint64_t))))
		ret = -EFAULT;
	child->state = UNUSED;
	return ret;
}

struct proc *proc_find(int pid)
{
	for (int i = 0; i < NPROC; i++)
		if (procs[i].state != UNUSED && procs[i].pid == pid)
			return &procs[i];
	return NULL;
}

/* Is @c a child @p waits for (@pid: that one, or -1: any)? */
static bool waits_for(const struct proc *p, int pid, const struct proc *c)
{
	return c->state != UNUSED && c->parent == p && (pid == -1 || c->pid == pid);
}

long proc_wait(struct proc *p, int pid, uint64_t status_ptr, uint64_t addr_ptr)
{
	bool children = false;

	p->wait_pid = pid;
	p->wait_status = status_ptr;
	p->wait_addr = addr_ptr;
	for (int i = 0; i < NPROC; i++) {
		if (!waits_for(p, pid, &procs[i]))
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
	} else if (parent->state == WAITING && waits_for(parent, parent->wait_pid, p)) {
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
	if (fp_owner != p) {
		fpu_clean();
		fp_restore(p->fp);
		fp_owner = p;
	}
	fpu_clean();
	pagetable_activate(&p->pt);
	asm volatile("csrc sstatus, %0" : : "r"(SSTATUS_SPP)); /* to U-mode */
	set_stvec(user_vector);
	user_return(&p->tf);
}

/* The line the test script reads, once a program and its children are gone. */
static void report(void)
{
	int s = program_status;

	if (program_timed_out) {
		printf("FAIL %s: time limit of %ld s reached\n", program->name,
		       (long)program->limit);
	} else if (frames_free() != baseline_frames) {
		printf("FAIL %s: %ld frames not freed\n", program->name,
		       (long)(baseline_frames - frames_free()));
	} else if (mm_nodes_free() != baseline_nodes) {
		printf("FAIL %s: %ld set nodes not freed\n", program->name,
		       (long)(baseline_nodes - mm_nodes_free()));
	} else if (kalloc_used() != baseline_heap) {
		printf("FAIL %s: %ld bytes of the kernel's heap not freed\n",
		       program->name, (long)(kalloc_used() - baseline_heap));
	} else if (s == (int)program->expect) {
		printf("PASS %s\n", program->name);
		return;
	} else if (WIFEXITED(s)) {
		printf("FAIL %s: exit %d\n", program->name, WEXITSTATUS(s));
	} else {
		if (program->linux_abi)
			printf("FAIL %s: killed by signal %d\n", program->name,
			       WKILLREASON(s));
		else
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
	if (!program->name || (STOP_AT_FAIL && programs_failed)) {
		printf("kernel: %ld programs run, %d failed\n",
		       (long)(program - user_programs), programs_failed);
		shutdown();
	}
	baseline_frames = frames_free();
	baseline_nodes = mm_nodes_free();
	baseline_heap = kalloc_used();
	printf("kernel: running %s\n", program->name);
	struct proc *p = spawn(program);

	program_pid = p->pid;
	program_status = -1;
	program_timed_out = false;
	timer_set(timer_now() + program->limit * TIMER_HZ);
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

/* The program's time is up: it and every process it made go. */
static void time_limit(void)
{
	printf("%s: time limit of %ld s reached\n", program->name,
	       (long)program->limit);
	for (int i = 0; i < NPROC; i++) {
		if (procs[i].state == RUNNABLE || procs[i].state == WAITING)
			proc_release(&procs[i]);
		procs[i].state = UNUSED;
	}
	program_timed_out = true;
	timer_set(~0ul);
}

/*
 * A handled fault does not come back: one hart, no preemption, so nothing
 * changes the page table between the fault hook and the retried access.
 * The same fault again and again, with no system call between, means the
 * page table refuses what the set allows: a kernel bug, which kills the
 * process and says so rather than hang.
 */
#define FAULT_REPEATS 8

/* A kill reason of the kernel's ABI and its signal on Linux's. */
static const struct {
	int reason, signal;
} fault_kills[] = {
	[ASPACE_FAULT_SEGV_MAPERR] = { KILL_UNMAPPED, SIGSEGV },
	[ASPACE_FAULT_SEGV_ACCERR] = { KILL_DENIED, SIGSEGV },
	[ASPACE_FAULT_SIGBUS] = { KILL_BUS, SIGBUS },
	[ASPACE_FAULT_OOM] = { KILL_NOMEM, SIGKILL }, /* Linux's OOM killer */
};

static void page_fault(struct proc *p, uint64_t scause, uint64_t addr)
{
	unsigned access = scause == SCAUSE_STORE_FAULT ? ASPACE_ACCESS_WRITE :
			  scause == SCAUSE_LOAD_FAULT ? ASPACE_ACCESS_READ :
			  ASPACE_ACCESS_EXEC;
	const char *kind = access == ASPACE_ACCESS_WRITE ? "store" :
			   access == ASPACE_ACCESS_READ ? "load" : "fetch";
	int reason, signal = SIGSEGV;

	if (p->tf.epc != p->last_fault_pc || addr != p->last_fault_va) {
		p->last_fault_pc = p->tf.epc;
		p->last_fault_va = addr;
		p->fault_repeats = 0;
	}
	if (p->fault_repeats++ == FAULT_REPEATS) {
		reason = KILL_STUCK;
	} else {
		enum aspace_fault f = aspace_fault(&p->as, addr, access);

		if (f == ASPACE_FAULT_OK) {
			/* Sv39 may have cached the entry as it was, even an
			 * invalid one: the retried access must see it new. */
			vm_fence_page(addr);
			return;
		}
		reason = fault_kills[f].reason;
		signal = fault_kills[f].signal;
	}
	printf("%s[%d]: killed: %s at 0x%lx: %s\n", p->name, p->pid, kind, addr,
	       kill_reason_name(reason));
	p->fault_addr = addr;
	proc_exit(p, p->linux_abi ? signal : reason);
}

_Noreturn void user_trap(struct trapframe *tf)
{
	struct proc *p = current;
	uint64_t scause = csr_scause();

	set_stvec(kernel_vector);
	if (tf != &p->tf)
		panic("trap: wrong trapframe");
	if ((csr_sstatus() & SSTATUS_FS) == SSTATUS_FS) {
		fp_save(p->fp); /* dirty: another process may run next */
		fpu_clean();
	}
	if (scause == SCAUSE_ECALL_U) {
		long ret;

		p->tf.epc += 4;
		p->fault_repeats = 0;
		ret = p->linux_abi ? linux_syscall(p) : syscall(p);
		if (p->state == RUNNABLE)
			TF_A(&p->tf, 0) = (uint64_t)ret;
	} else if (scause == SCAUSE_FETCH_FAULT || scause == SCAUSE_LOAD_FAULT ||
		   scause == SCAUSE_STORE_FAULT) {
		page_fault(p, scause, csr_stval());
	} else if (scause == SCAUSE_TIMER) {
		time_limit();
	} else {
		printf("%s[%d]: scause %lx at pc 0x%lx, stval 0x%lx\n", p->name,
		       p->pid, scause, tf->epc, csr_stval());
		proc_kill(p, !p->linux_abi ? KILL_TRAP :
			  scause == SCAUSE_ILLEGAL ? SIGILL : SIGSEGV,
			  csr_stval(), "unexpected trap");
	}
#ifdef MEMORY_SET_DEBUG_CHECK
	if (scause == SCAUSE_ECALL_U &&
	    (p->state == RUNNABLE || p->state == WAITING)) {
		const char *msg = vm_check(&p->as, &p->pt);

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
	vm_init(); /* first: the direct map of all RAM, where the frames are */
	frame_init(PAGE_ROUND_UP(virt_to_phys(kernel_end)), RAM_BASE + RAM_SIZE);
	ramfs_init();
	printf("kernel: %ld frames free\n", (long)frames_free());
	asm volatile("csrw scounteren, %0" : : "r"(7ul)); /* rdtime in U-mode */
	/* Taken in U-mode only: the kernel runs with interrupts off. */
	asm volatile("csrs sie, %0" : : "r"(SIE_STIE));
	schedule();
}
