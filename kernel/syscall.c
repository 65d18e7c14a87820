/*
 * The kernel's own system calls. Its memory calls are Linux's, through the
 * address-space layer, one for one (anonymous memory only: this ABI has
 * no files); the layer returns an address or a negative Linux errno.
 */
#include "kernel.h"

long sys_write(struct proc *p, uint64_t buf, uint64_t len)
{
	char chunk[128];

	for (uint64_t done = 0; done < len;) {
		uint64_t n = len - done < sizeof(chunk) ? len - done : sizeof(chunk);
		int err = copy_from_user(p, chunk, buf + done, n);

		if (err)
			return err;
		console_write(chunk, n);
		done += n;
	}
	return (long)len;
}

/* The /proc/PID/maps text into @buf (0: to the console); its length. */
static long sys_maps(struct proc *p, uint64_t buf, uint64_t len)
{
	uint64_t pos = 0, total = 0;
	char line[512];
	size_t n;

	while ((n = aspace_maps_line(&p->as, &pos, line, sizeof(line)))) {
		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		if (!buf) {
			console_write(line, n);
		} else if (total + n <= len) {
			int err = copy_to_user(p, buf + total, line, n);

			if (err)
				return err;
		}
		total += n;
	}
	return (long)total;
}

static long sys_debug(struct proc *p, uint64_t op)
{
#ifdef MEMORY_SET_DEBUG_CHECK
	if (op == DEBUG_STRAY_PTE) {
		vm_plant_stray_pte(&p->pt);
		return 0;
	}
	if (op == DEBUG_FREE_FRAMES)
		return (long)frames_free();
	return -EINVAL;
#else
	(void)p;
	(void)op;
	return -ENOSYS;
#endif
}

long syscall(struct proc *p)
{
	struct trapframe *tf = &p->tf;
	uint64_t a0 = TF_A(tf, 0), a1 = TF_A(tf, 1), a2 = TF_A(tf, 2);
	uint64_t a3 = TF_A(tf, 3), a4 = TF_A(tf, 4);

	switch (TF_A(tf, 7)) {
	case SYS_exit:
		proc_exit(p, (int)(a0 & 0xff) << 8);
		return 0;
	case SYS_write:
		return sys_write(p, a1, a2);
	case SYS_fork:
		return proc_fork(p);
	case SYS_wait:
		return proc_wait(p, -1, a0, a1);
	case SYS_yield:
		proc_yield();
		return 0;
	case SYS_getpid:
		return p->pid;
	case SYS_brk:
		return (long)aspace_brk(&p->as, a0);
	case SYS_mmap:
		return aspace_mmap(&p->as, a0, a1, a2, a3, NULL, 0);
	case SYS_munmap:
		return aspace_munmap(&p->as, a0, a1);
	case SYS_mprotect:
		return aspace_mprotect(&p->as, a0, a1, a2);
	case SYS_mremap:
		return aspace_mremap(&p->as, a0, a1, a2, a3, a4);
	case SYS_madvise:
		return aspace_madvise(&p->as, a0, a1, (int)a2);
	case SYS_maps:
		return sys_maps(p, a0, a1);
	case SYS_debug:
		return sys_debug(p, a0);
	}
	return -ENOSYS;
}
