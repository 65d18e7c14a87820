/*
 * System calls. The memory calls are thin: they check what Linux checks,
 * pick an address when the caller did not, and let the set do the rest;
 * its errors become errno values through mapping_error_to_errno().
 */
#include "kernel.h"

#define PROT_ALL (PROT_READ | PROT_WRITE | PROT_EXEC)
#define MAP_KNOWN (MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_POPULATE | \
		   MAP_FIXED_NOREPLACE)

static long err(enum mapping_error e)
{
	return -mapping_error_to_errno(e);
}

/* [addr, addr+len) inside the user window? len is not 0. */
static bool user_range(uint64_t addr, uint64_t len)
{
	return addr >= USER_MIN && addr <= USER_TOP && len <= USER_TOP - addr;
}

long sys_write(struct proc *p, uint64_t buf, uint64_t len)
{
	char chunk[128];

	for (uint64_t done = 0; done < len;) {
		uint64_t n = len - done < sizeof(chunk) ? len - done : sizeof(chunk);

		if (user_copy(&p->mm, &p->pt, buf + done, chunk, n, false))
			return -EFAULT;
		console_write(chunk, n);
		done += n;
	}
	return (long)len;
}

long sys_mmap(struct proc *p, uint64_t addr, uint64_t len, uint64_t prot,
	      uint64_t flags)
{
	bool replace = (flags & MAP_FIXED) && !(flags & MAP_FIXED_NOREPLACE);
	enum mapping_error e;

	if ((prot & ~PROT_ALL) || (flags & ~MAP_KNOWN) ||
	    !(flags & MAP_ANONYMOUS) || len == 0)
		return -EINVAL;
	if (len > USER_TOP)
		return -ENOMEM;
	len = PAGE_ROUND_UP(len);
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		if (addr % PAGE_SIZE)
			return -EINVAL;
		if (!user_range(addr, len))
			return -ENOMEM;
	} else {
		/* A hint is taken when the range there is free, as Linux does. */
		addr = PAGE_ROUND_DOWN(addr);
		if (!addr || !user_range(addr, len) ||
		    memory_set_overlaps(&p->mm, addr, len)) {
			e = memory_set_find_free_area_top(&p->mm, 0, len,
							  PAGE_SIZE, MMAP_MIN,
							  MMAP_TOP - 1, &addr);
			if (e)
				return err(e);
		}
	}
	p->pt.populate = flags & MAP_POPULATE;
	e = memory_set_map(&p->mm, addr, len, prot, &anon_backend, &p->pt,
			   replace);
	p->pt.populate = false;
	return e ? err(e) : (long)addr;
}

long sys_munmap(struct proc *p, uint64_t addr, uint64_t len)
{
	if (addr % PAGE_SIZE || len == 0 || len > USER_TOP)
		return -EINVAL;
	len = PAGE_ROUND_UP(len);
	if (!user_range(addr, len))
		return -EINVAL;
	return err(memory_set_unmap(&p->mm, addr, len, &p->pt));
}

long sys_mprotect(struct proc *p, uint64_t addr, uint64_t len, uint64_t prot)
{
	if (addr % PAGE_SIZE || (prot & ~PROT_ALL) || len > USER_TOP)
		return -EINVAL;
	len = PAGE_ROUND_UP(len);
	if (len && !user_range(addr, len))
		return -ENOMEM;
	/* Linux refuses a range with a hole: the strict form does too. */
	return err(memory_set_protect_flags_strict(&p->mm, addr, len, prot,
						   PROT_ALL, &p->pt));
}

long sys_mremap(struct proc *p, uint64_t old, uint64_t old_len,
		uint64_t new_len, uint64_t flags, uint64_t new_addr)
{
	enum mapping_error e;

	if (old % PAGE_SIZE || (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED)) ||
	    (flags == MREMAP_FIXED) || old_len > USER_TOP || new_len > USER_TOP)
		return -EINVAL;
	old_len = PAGE_ROUND_UP(old_len);
	new_len = PAGE_ROUND_UP(new_len);
	if (!old_len || !new_len || !user_range(old, old_len))
		return -EINVAL;
	if (flags & MREMAP_FIXED) {
		if (new_addr % PAGE_SIZE || !user_range(new_addr, new_len))
			return -EINVAL;
		e = memory_set_remap_fixed(&p->mm, old, old_len, new_len,
					   new_addr, &p->pt);
		return e ? err(e) : (long)new_addr;
	}
	e = memory_set_remap(&p->mm, old, old_len, new_len, &p->pt);
	if (e == MAPPING_ERR_NO_MEMORY && new_len > old_len &&
	    (flags & MREMAP_MAYMOVE)) {
		/* No room to grow in place: move it where there is. */
		e = memory_set_find_free_area_top(&p->mm, 0, new_len, PAGE_SIZE,
						  MMAP_MIN, MMAP_TOP - 1,
						  &new_addr);
		if (!e)
			e = memory_set_remap_fixed(&p->mm, old, old_len,
						   new_len, new_addr, &p->pt);
		return e ? err(e) : (long)new_addr;
	}
	return e ? err(e) : (long)old;
}

/* brk: the heap is one area above the program, grown and shrunk by map and unmap. */
long sys_brk(struct proc *p, uint64_t addr)
{
	uint64_t old_end = PAGE_ROUND_UP(p->brk), new_end;
	enum mapping_error e = MAPPING_OK;

	if (addr < p->heap_start || addr > MMAP_MIN)
		return (long)p->brk;
	new_end = PAGE_ROUND_UP(addr);
	if (new_end > old_end)
		e = memory_set_map(&p->mm, old_end, new_end - old_end,
				   PROT_READ | PROT_WRITE, &anon_backend,
				   &p->pt, false);
	else if (new_end < old_end)
		e = memory_set_unmap(&p->mm, new_end, old_end - new_end, &p->pt);
	if (e == MAPPING_OK)
		p->brk = addr;
	return (long)p->brk;
}

/* One /proc/PID/maps line per area, with Linux's names for two of them. */
static long sys_maps(struct proc *p, uint64_t buf, uint64_t len)
{
	struct memory_set_iter it;
	const struct memory_area *a;
	uint64_t total = 0;
	char line[96];

	memory_set_foreach(a, &it, &p->mm) {
		size_t n = memory_set_format_area(line, sizeof(line) - 12, a,
						  NULL, NULL);

		if (memory_area_contains(a, p->heap_start))
			memcpy(line + n, "    [heap]", 10), n += 10;
		if (memory_area_contains(a, USER_TOP - 1))
			memcpy(line + n, "    [stack]", 11), n += 11;
		line[n++] = '\n';
		if (!buf)
			console_write(line, n);
		else if (total + n <= len &&
			 user_copy(&p->mm, &p->pt, buf + total, line, n, true))
			return -EFAULT;
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
		return proc_wait(p, a0, a1);
	case SYS_yield:
		proc_yield();
		return 0;
	case SYS_getpid:
		return p->pid;
	case SYS_brk:
		return sys_brk(p, a0);
	case SYS_mmap:
		return sys_mmap(p, a0, a1, a2, a3);
	case SYS_munmap:
		return sys_munmap(p, a0, a1);
	case SYS_mprotect:
		return sys_mprotect(p, a0, a1, a2);
	case SYS_mremap:
		return sys_mremap(p, a0, a1, a2, a3, a4);
	case SYS_maps:
		return sys_maps(p, a0, a1);
	case SYS_debug:
		return sys_debug(p, a0);
	}
	return -ENOSYS;
}
