/*
 * mmap, munmap and mprotect, with Linux 6.18's checks in Linux's order, and
 * the two operations other calls build on: mapping a new area over a range,
 * and changing the flags of a range (mprotect, madvise, mseal, names).
 *
 * Every check comes before the first change; the set's operation then runs
 * with its merge plan, and either changes nothing (out of nodes or records)
 * or completes.
 */
#include "aspace_internal.h"

#define LEGACY_MAP_MASK                                                        \
	(ASPACE_MAP_SHARED | ASPACE_MAP_PRIVATE | ASPACE_MAP_FIXED |           \
	 ASPACE_MAP_ANONYMOUS | ASPACE_MAP_DENYWRITE | ASPACE_MAP_EXECUTABLE | \
	 ASPACE_MAP_UNINITIALIZED | ASPACE_MAP_GROWSDOWN | ASPACE_MAP_LOCKED | \
	 ASPACE_MAP_NORESERVE | ASPACE_MAP_POPULATE | ASPACE_MAP_NONBLOCK |    \
	 ASPACE_MAP_STACK | ASPACE_MAP_HUGETLB | MAP_HUGE_MASK)

/* The size bits of MAP_HUGETLB (MAP_HUGE_SHIFT 26), legacy too. */
#define MAP_HUGE_MASK (0x3ful << 26)

static uint64_t page_mask(const struct aspace *as)
{
	return as->page_size - 1;
}

/* ---- Placement -------------------------------------------------------- */

/* Is [addr, addr+len) free and inside user space? */
static bool range_free(const struct aspace *as, uint64_t addr, uint64_t len)
{
	return addr <= as->task_size && len <= as->task_size - addr &&
	       !memory_set_overlaps(&as->set, addr, len);
}

static int64_t search(struct aspace *as, uint64_t len)
{
	uint64_t addr;

	if (memory_set_find_free_area_top(&as->set, 0, len, as->page_size,
					  as->mmap_min_addr, as->mmap_base - 1,
					  &addr) == MAPPING_OK)
		return (int64_t)addr;
	/* Linux falls back to a bottom-up search when top-down finds nothing. */
	if (memory_set_find_free_area(&as->set, 0, len, as->page_size,
				      as->unmapped_base, as->task_size - 1,
				      &addr) == MAPPING_OK)
		return (int64_t)addr;
	return -ASPACE_ENOMEM;
}

/*
 * Where a mapping of @len bytes goes without MAP_FIXED: the hint if the
 * range there is free, else the highest free range below mmap_base. A
 * private anonymous mapping whose length is a multiple of thp_size, placed
 * without a hint, is aligned to it as Linux's thp_get_unmapped_area() does:
 * a padded search, then the aligned address inside it (the top one when the
 * found range is aligned already).
 */
int64_t aspace_unmapped_area(struct aspace *as, uint64_t hint, uint64_t len,
			     bool thp)
{
	uint64_t t = as->thp_size;
	int64_t r;

	if (len > as->task_size)
		return -ASPACE_ENOMEM;
	if (hint && range_free(as, hint, len))
		return (int64_t)hint;
	if (thp && t && !hint && !(len & (t - 1)) && len + t > len) {
		r = search(as, len + t);
		if (r >= 0) {
			uint64_t off = (0 - (uint64_t)r) & (t - 1);

			return (int64_t)((uint64_t)r + (off ? off : t));
		}
	}
	return search(as, len);
}

/* ---- Building blocks -------------------------------------------------- */

/*
 * Map a new area [start, end) with @flags and record @d, replacing what is
 * there if @replace. On failure @d is still the caller's.
 */
int aspace_map_fixed(struct aspace *as, uint64_t start, uint64_t end,
		     uint64_t flags, struct as_vma *d, bool replace)
{
	struct mapping_backend b = { &aspace_backend_ops, d };
	struct as_plan plan;
	struct as_piece mid;
	enum mapping_error e;
	int err;

	aspace_plan_init(&plan, as);
	aspace_piece_new(&mid, start, end, flags, d);
	aspace_plan_insert(&plan, start, end, &mid);
	err = aspace_plan_start(&plan);
	if (err)
		return err;
	e = memory_set_map(&as->set, start, end - start, flags, &b, as->pt,
			   replace);
	aspace_plan_stop(&plan);
	return aspace_errno(e);
}

/* Unmap [start, end): areas there shrink, split or go; no merge follows. */
int aspace_unmap(struct aspace *as, uint64_t start, uint64_t end)
{
	return aspace_errno(
		memory_set_unmap(&as->set, start, end - start, as->pt));
}

static uint64_t changed_flags(uint64_t old, const struct as_change *c)
{
	return (old & ~c->clear) | c->set;
}

static bool update(void *ctx, uint64_t old, uint64_t *new_flags)
{
	*new_flags = changed_flags(old, ctx);
	return *new_flags != old;
}

/*
 * Change the flags of every area in [start, end) as @c says (the range has
 * no hole: the callers check), with Linux's merges: the plan reads the
 * areas from the one before the range to the one after it, as they will be.
 * Linux merges at the boundaries of the areas it changes only (an area
 * whose flags stay is skipped, mprotect_fixup()).
 */
int aspace_change_range(struct aspace *as, uint64_t start, uint64_t end,
			const struct as_change *c)
{
	struct memory_set_iter it;
	const struct memory_area *a;
	struct as_plan plan;
	struct as_piece p;
	enum mapping_error e;
	uint64_t lo, hi, nf;
	bool changed = false; /* the piece read last */
	int err;

	aspace_plan_init(&plan, as);
	memory_set_iter_init(&it, &as->set, start ? start - 1 : 0);
	while ((a = memory_set_iter_next(&it)) && a->start <= end) {
		lo = a->start;
		hi = as_end(a);
		nf = changed_flags(a->flags, c);
		if (nf == a->flags || hi <= start || lo >= end) {
			aspace_piece_of(a, lo, hi, &p);
			p.keep_left = !changed;
			aspace_plan_add(&plan, &p);
			changed = false;
			continue;
		}
		if (lo < start)
			aspace_plan_add_area(&plan, a, lo, start, true);
		aspace_piece_of(a, lo < start ? start : lo, hi > end ? end : hi,
				&p);
		p.flags = nf;
		if (c->mprotect)
			p.account = aspace_mprotect_account(a->flags, nf,
							    as_data(a));
		aspace_plan_add(&plan, &p);
		changed = true;
		if (hi > end) {
			aspace_plan_add_area(&plan, a, end, hi, false);
			changed = false;
		}
	}
	err = aspace_plan_start(&plan);
	if (err)
		return err;
	e = memory_set_protect(&as->set, start, end - start, update, (void *)c,
			       as->pt);
	aspace_plan_stop(&plan);
	return aspace_errno(e);
}

/*
 * Change the flags of the areas of [start, end), whole, as @c says, and
 * merge nothing, as Linux's vm_flags_clear() outside a merge (fork's
 * child, the area MREMAP_DONTUNMAP leaves). No split: nothing to reserve.
 */
int aspace_change_flags(struct aspace *as, uint64_t start, uint64_t end,
			const struct as_change *c)
{
	return aspace_errno(memory_set_protect(&as->set, start, end - start,
					       update, (void *)c, as->pt));
}

/* ---- mmap ------------------------------------------------------------- */

/* The VM_* bits of an mmap's protection and flags (calc_vm_*_bits()). */
static uint64_t vm_bits(unsigned long prot, unsigned long flags)
{
	uint64_t f = ASPACE_VM_MAYREAD | ASPACE_VM_MAYWRITE | ASPACE_VM_MAYEXEC;

	if (prot & ASPACE_PROT_READ)
		f |= ASPACE_VM_READ;
	if (prot & ASPACE_PROT_WRITE)
		f |= ASPACE_VM_WRITE;
	if (prot & ASPACE_PROT_EXEC)
		f |= ASPACE_VM_EXEC;
	if (flags & ASPACE_MAP_LOCKED)
		f |= ASPACE_VM_LOCKED;
	if (flags & ASPACE_MAP_SYNC)
		f |= AS_F_SYNC;
	if (flags & ASPACE_MAP_STACK)
		f |= ASPACE_VM_NOHUGEPAGE;
	return f;
}

/* The checks of the mapping type, in do_mmap()'s order. */
static int check_type(struct aspace_object *obj, unsigned long *flags,
		      unsigned long prot, uint64_t *vm)
{
	unsigned long type = *flags & ASPACE_MAP_TYPE;

	if (obj) {
		unsigned mode = aspace_obj_mode(obj);

		switch (type) {
		case ASPACE_MAP_SHARED:
			*flags &= LEGACY_MAP_MASK;
			/* fallthrough */
		case ASPACE_MAP_SHARED_VALIDATE:
			if (*flags & ~(unsigned long)LEGACY_MAP_MASK)
				return -ASPACE_EOPNOTSUPP;
			if ((prot & ASPACE_PROT_WRITE) &&
			    !(mode & ASPACE_OBJ_WRITE))
				return -ASPACE_EACCES;
			*vm |= ASPACE_VM_SHARED | ASPACE_VM_MAYSHARE;
			if (!(mode & ASPACE_OBJ_WRITE))
				*vm &= ~(ASPACE_VM_MAYWRITE | ASPACE_VM_SHARED);
			/* fallthrough */
		case ASPACE_MAP_PRIVATE:
			if (!(mode & ASPACE_OBJ_READ))
				return -ASPACE_EACCES;
			if (*flags & ASPACE_MAP_GROWSDOWN)
				return -ASPACE_EINVAL;
			return 0;
		default:
			return -ASPACE_EINVAL;
		}
	}
	switch (type) {
	case ASPACE_MAP_SHARED:
		if (*flags & ASPACE_MAP_GROWSDOWN)
			return -ASPACE_EINVAL;
		*vm |= ASPACE_VM_SHARED | ASPACE_VM_MAYSHARE;
		return 0;
	case ASPACE_MAP_DROPPABLE:
		if (*flags & (ASPACE_MAP_LOCKED | ASPACE_MAP_HUGETLB |
			      ASPACE_MAP_GROWSDOWN))
			return -ASPACE_EINVAL;
		*vm |= ASPACE_VM_DROPPABLE | ASPACE_VM_NORESERVE |
		       ASPACE_VM_WIPEONFORK | AS_F_DONTDUMP;
		/* fallthrough */
	case ASPACE_MAP_PRIVATE:
		/* Areas that grow down (stacks) are not supported. */
		if (*flags & ASPACE_MAP_GROWSDOWN)
			return -ASPACE_EINVAL;
		return 0;
	default:
		return -ASPACE_EINVAL;
	}
}

int64_t aspace_mmap(struct aspace *as, uint64_t addr, uint64_t len,
		    unsigned long prot, unsigned long flags,
		    struct aspace_object *obj, uint64_t offset)
{
	uint64_t vm, pgoff, end;
	struct aspace_object *shm = NULL;
	struct as_vma *d;
	bool fixed, shared_anon;
	int64_t r;
	int err;

	if (offset & page_mask(as))
		return -ASPACE_EINVAL;
	if (flags & ASPACE_MAP_ANONYMOUS)
		obj = NULL;
	else if (!obj)
		return -ASPACE_EBADF;
	if (flags & ASPACE_MAP_HUGETLB)
		return -ASPACE_EINVAL;
	if (!len)
		return -ASPACE_EINVAL;
	if (flags & ASPACE_MAP_FIXED_NOREPLACE)
		flags |= ASPACE_MAP_FIXED;
	fixed = flags & ASPACE_MAP_FIXED;
	if (!fixed && addr) {
		addr = (as->flags & ASPACE_OPT_HINT_ROUND_DOWN) ?
			       addr & ~page_mask(as) :
			       AS_PAGE_ROUND_UP(as, addr);
		if (addr < as->mmap_min_addr)
			addr = as->mmap_min_addr;
	}
	len = AS_PAGE_ROUND_UP(as, len);
	if (!len)
		return -ASPACE_ENOMEM;
	pgoff = offset >> as->page_shift;
	if (pgoff + (len >> as->page_shift) < pgoff)
		return -ASPACE_EOVERFLOW;
	if (memory_set_len(&as->set) > as->max_map_count)
		return -ASPACE_ENOMEM;
	vm = vm_bits(prot, flags);

	/* get_unmapped_area() */
	if (len > as->task_size)
		return -ASPACE_ENOMEM;
	if (fixed) {
		if (addr > as->task_size - len)
			return -ASPACE_ENOMEM;
		if (addr & page_mask(as))
			return -ASPACE_EINVAL;
	} else {
		r = aspace_unmapped_area(as, addr, len,
					 !obj && (flags & ASPACE_MAP_TYPE) !=
							 ASPACE_MAP_SHARED);
		if (r < 0)
			return r;
		addr = (uint64_t)r;
	}
	if (addr < as->mmap_min_addr && !(as->flags & ASPACE_OPT_LOW_MAP))
		return -ASPACE_EPERM;
	end = addr + len;
	if ((flags & ASPACE_MAP_FIXED_NOREPLACE) &&
	    memory_set_overlaps(&as->set, addr, len))
		return -ASPACE_EEXIST;

	err = check_type(obj, &flags, prot, &vm);
	if (err)
		return err;
	shared_anon = !obj && (vm & ASPACE_VM_SHARED);
	if (!obj && !shared_anon)
		pgoff = addr >> as->page_shift;
	else if (shared_anon)
		pgoff = 0;
	if (flags & ASPACE_MAP_NORESERVE)
		vm |= ASPACE_VM_NORESERVE;
	if (fixed && aspace_range_sealed(as, addr, end))
		return -ASPACE_EPERM;

	if (shared_anon) {
		err = aspace_shmem_new(as, len, &shm);
		if (err)
			return err;
		obj = shm;
	}
	d = aspace_vma_new(as, addr, pgoff, obj,
			   (vm & (ASPACE_VM_NORESERVE | ASPACE_VM_SHARED |
				  ASPACE_VM_WRITE)) == ASPACE_VM_WRITE);
	err = d ? aspace_map_fixed(as, addr, end, vm, d, fixed) :
		  -ASPACE_ENOMEM;
	if (err && d)
		aspace_vma_free(d);
	if (shm)
		aspace_object_put(shm); /* the area holds it now */
	if (err)
		return err;
	if ((vm & ASPACE_VM_LOCKED) ||
	    (flags & (ASPACE_MAP_POPULATE | ASPACE_MAP_NONBLOCK)) ==
		    ASPACE_MAP_POPULATE)
		aspace_populate(as, addr, end,
				(vm & (ASPACE_VM_WRITE | ASPACE_VM_SHARED)) ==
					ASPACE_VM_WRITE);
	return (int64_t)addr;
}

/* ---- munmap ----------------------------------------------------------- */

int aspace_munmap(struct aspace *as, uint64_t addr, uint64_t len)
{
	uint64_t end;

	if ((addr & page_mask(as)) || addr > as->task_size ||
	    len > as->task_size - addr)
		return -ASPACE_EINVAL;
	end = addr + AS_PAGE_ROUND_UP(as, len);
	if (end == addr)
		return -ASPACE_EINVAL;
	if (aspace_range_sealed(as, addr, end))
		return -ASPACE_EPERM;
	return aspace_unmap(as, addr, end);
}

/* ---- mprotect --------------------------------------------------------- */

/*
 * Linux's mprotect_fixup(): a locked private area that becomes writable is
 * populated with write faults, as mlock() would have populated it.
 */
static bool locked_becomes_writable(uint64_t old, uint64_t new_flags)
{
	return (old & (ASPACE_VM_WRITE | ASPACE_VM_SHARED | ASPACE_VM_LOCKED)) ==
		       ASPACE_VM_LOCKED &&
	       (new_flags & ASPACE_VM_WRITE);
}

/*
 * mprotect() of [start, end) as @c says, where @npop areas are locked and
 * become writable: their parts of the range are noted first (the change
 * merges and splits areas), then populated once the change is made (best
 * effort, as Linux).
 */
static int protect_populate(struct aspace *as, uint64_t start, uint64_t end,
			    const struct as_change *c, uint64_t npop)
{
	struct memory_set_iter it;
	const struct memory_area *a;
	uint64_t *r = aspace_alloc(as, 2 * npop * sizeof(*r)), n = 0, i;
	int err;

	if (!r)
		return -ASPACE_ENOMEM;
	memory_set_iter_init(&it, &as->set, start);
	while ((a = memory_set_iter_next(&it)) && a->start < end) {
		if (!locked_becomes_writable(a->flags,
					     changed_flags(a->flags, c)))
			continue;
		r[n++] = a->start > start ? a->start : start;
		r[n++] = as_end(a) < end ? as_end(a) : end;
	}
	err = aspace_change_range(as, start, end, c);
	for (i = 0; !err && i < n; i += 2)
		aspace_populate(as, r[i], r[i + 1], true);
	aspace_free(as, r, 2 * npop * sizeof(*r));
	return err;
}

int aspace_mprotect(struct aspace *as, uint64_t addr, uint64_t len,
		    unsigned long prot)
{
	unsigned long grows = prot &
			      (ASPACE_PROT_GROWSDOWN | ASPACE_PROT_GROWSUP);
	struct memory_set_iter it;
	const struct memory_area *a;
	struct as_change c;
	uint64_t end, at, nf, npop = 0;

	prot &= ~grows;
	if (grows == (ASPACE_PROT_GROWSDOWN | ASPACE_PROT_GROWSUP))
		return -ASPACE_EINVAL;
	if (addr & page_mask(as))
		return -ASPACE_EINVAL;
	if (!len)
		return 0;
	len = AS_PAGE_ROUND_UP(as, len);
	end = addr + len;
	if (end <= addr)
		return -ASPACE_ENOMEM;
	if (prot & ~(unsigned long)(ASPACE_PROT_READ | ASPACE_PROT_WRITE |
				    ASPACE_PROT_EXEC | ASPACE_PROT_SEM))
		return -ASPACE_EINVAL;

	memory_set_iter_init(&it, &as->set, addr);
	a = memory_set_iter_next(&it);
	if (!a || a->start >= end)
		return -ASPACE_ENOMEM;
	if (grows & ASPACE_PROT_GROWSDOWN)
		return -ASPACE_EINVAL; /* no area grows down */
	if (a->start > addr)
		return -ASPACE_ENOMEM;
	if (grows & ASPACE_PROT_GROWSUP)
		return -ASPACE_EINVAL;

	c.clear = AS_F_ACCESS;
	c.set = vm_bits(prot, 0) & AS_F_ACCESS;
	c.mprotect = true;
	/* Each area in turn, as Linux: the first one that fails decides. */
	for (at = a->start; a && a->start < end;
	     a = memory_set_iter_next(&it)) {
		if (a->start != at)
			return -ASPACE_ENOMEM;
		nf = changed_flags(a->flags, &c);
		if ((nf & ~(nf >> 4)) & AS_F_ACCESS)
			return -ASPACE_EACCES;
		if (a->flags & AS_F_SEALED)
			return -ASPACE_EPERM;
		if (locked_becomes_writable(a->flags, nf))
			npop++;
		at = as_end(a);
	}
	if (at < end)
		return -ASPACE_ENOMEM;
	if (!npop)
		return aspace_change_range(as, addr, end, &c);
	return protect_populate(as, addr, end, &c, npop);
}
