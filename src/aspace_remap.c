/*
 * mremap and brk, as Linux 6.18 (mm/mremap.c, the brk system call).
 *
 * A move is made of Linux's own steps: a new area at the target with the
 * source's flags, record, offset and identity (copy_vma(): it merges with
 * its new neighbours, the source itself included), the entries moved over
 * (their frames go along), then the source range unmapped (or, with
 * MREMAP_DONTUNMAP, kept, empty). Linux can fail between those steps and
 * leave them half done; here every check is made first, and the nodes,
 * records and page-table memory the steps need are reserved, so that the
 * call changes nothing or completes. A range over several areas moves area
 * by area (Linux 6.17 and later), the gaps between them kept.
 */
#include "aspace_internal.h"

enum remap_type { NO_RESIZE, SHRINK, EXPAND };

struct remap {
	uint64_t addr, old_len, new_len, new_addr;
	unsigned long flags;
	enum remap_type type;
};

static bool implies_new_addr(const struct remap *r)
{
	return r->flags & (ASPACE_MREMAP_FIXED | ASPACE_MREMAP_DONTUNMAP);
}

/* check_mremap_params(): the checks that need no area. */
static int check_params(const struct aspace *as, const struct remap *r)
{
	uint64_t mask = as->page_size - 1;

	if (r->flags &
	    ~(unsigned long)(ASPACE_MREMAP_MAYMOVE | ASPACE_MREMAP_FIXED |
			     ASPACE_MREMAP_DONTUNMAP))
		return -ASPACE_EINVAL;
	if (r->addr & mask)
		return -ASPACE_EINVAL;
	if (!r->new_len || r->new_len > as->task_size)
		return -ASPACE_EINVAL;
	if (!implies_new_addr(r))
		return 0;
	if (r->new_addr > as->task_size - r->new_len)
		return -ASPACE_EINVAL;
	if (r->new_addr & mask)
		return -ASPACE_EINVAL;
	if (!(r->flags & ASPACE_MREMAP_MAYMOVE))
		return -ASPACE_EINVAL;
	if ((r->flags & ASPACE_MREMAP_DONTUNMAP) && r->old_len != r->new_len)
		return -ASPACE_EINVAL;
	if (r->addr + r->old_len > r->new_addr &&
	    r->new_addr + r->new_len > r->addr)
		return -ASPACE_EINVAL;
	return 0;
}

/* check_prep_vma(): the checks of the area at r->addr. */
static int check_area(const struct aspace *as, const struct memory_area *a,
		      struct remap *r)
{
	uint64_t old_len, pgoff;

	if (!a)
		return -ASPACE_EFAULT;
	if (a->flags & AS_F_SEALED)
		return -ASPACE_EPERM;
	r->type = r->old_len == r->new_len ? NO_RESIZE :
		  r->old_len > r->new_len  ? SHRINK :
					     EXPAND;
	if (r->type != EXPAND && !implies_new_addr(r))
		return 0;
	if (!r->old_len && aspace_private(a->flags))
		return -ASPACE_EINVAL;
	old_len = r->type == SHRINK ? r->new_len : r->old_len;
	if (old_len > as_end(a) - r->addr)
		return -ASPACE_EFAULT;
	if (r->new_len == old_len)
		return 0;
	pgoff = as_data(a)->pgoff + ((r->addr - a->start) >> as->page_shift);
	if (pgoff + (r->new_len >> as->page_shift) < pgoff)
		return -ASPACE_EINVAL;
	return 0;
}

/* do_vmi_munmap()'s checks for the range a shrink unmaps. */
static int check_unmap(const struct aspace *as, uint64_t start, uint64_t len)
{
	if (start > as->task_size || len > as->task_size - start)
		return -ASPACE_EINVAL;
	if (aspace_range_sealed(as, start, start + len))
		return -ASPACE_EPERM;
	return 0;
}

/*
 * Move [addr, addr+old_len), inside one area, to a new area
 * [new_addr, new_addr+new_len) (replacing what is there if @replace);
 * everything it needs is reserved.
 */
static int move_area(struct aspace *as, uint64_t addr, uint64_t old_len,
		     uint64_t new_addr, uint64_t new_len, bool replace,
		     bool dontunmap)
{
	const struct memory_area *a = memory_set_find(&as->set, addr);
	const struct as_vma *src = as_data(a);
	uint64_t flags = a->flags, pgoff, a_start = a->start, a_end = as_end(a);
	struct as_vma *d;
	bool whole;
	int err;

	pgoff = src->pgoff + ((addr - a->start) >> as->page_shift);
	/* Unfaulted anonymous memory takes the offset of its new place, so
	 * that it merges there (copy_vma()). */
	if (!src->obj && !src->anon)
		pgoff = new_addr >> as->page_shift;
	d = aspace_vma_new(as, new_addr, pgoff, src->obj, src->account);
	if (!d)
		return -ASPACE_ENOMEM;
	if (src->anon)
		aspace_set_anon(d, src->anon);
	whole = addr == a_start && addr + old_len == a_end;
	err = aspace_map_fixed(as, new_addr, new_addr + new_len, flags, d,
			       replace);
	if (err) {
		aspace_vma_free(d);
		return err;
	}
	aspace_move_entries(as, addr, new_addr, old_len);
	if (!dontunmap)
		return old_len ? aspace_unmap(as, addr, addr + old_len) : 0;
	/* The old area stays, empty: it is not locked any more, and if it
	 * was moved whole it has no identity (dontunmap_complete()). Linux
	 * merges nothing there. */
	a = memory_set_find(&as->set, addr);
	if (whole && a->start == a_start && as_end(a) == a_end &&
	    as_data(a)->anon) {
		aspace_anon_put(as, as_data(a)->anon);
		as_data(a)->anon = NULL;
	}
	if (a->flags & ASPACE_VM_LOCKED) {
		struct as_change c = { 0, ASPACE_VM_LOCKED, false };

		return aspace_change_flags(as, a->start, as_end(a), &c);
	}
	return 0;
}

/* Reserve for @moves moves: a map, an unmap and a change each. */
static int reserve_moves(struct aspace *as, uint64_t moves, uint64_t src,
			 uint64_t dst, uint64_t len)
{
	int err = aspace_reserve(as, 3 * moves, 4 * moves);

	if (!err && (err = aspace_pt_reserve(as, src, dst, len))) {
		aspace_unreserve(as);
		as->pt_reserved = false;
	}
	return err;
}

static void end_moves(struct aspace *as, uint64_t src, uint64_t len)
{
	aspace_unreserve(as);
	as->pt_reserved = false;
	if (as->ops->pt_trim && len)
		as->ops->pt_trim(as->ctx, as->pt, src, len);
}

static int64_t move(struct aspace *as, struct remap *r, bool replace)
{
	bool dontunmap = r->flags & ASPACE_MREMAP_DONTUNMAP;
	const struct memory_area *a;
	bool populate;
	int err;

	if (memory_set_len(&as->set) + 2 > as->max_map_count)
		return -ASPACE_ENOMEM;
	err = reserve_moves(as, 1, r->addr, r->new_addr, r->old_len);
	if (err)
		return err;
	a = memory_set_find(&as->set, r->addr);
	populate = (a->flags & ASPACE_VM_LOCKED) && r->new_len > r->old_len;
	err = move_area(as, r->addr, r->old_len, r->new_addr, r->new_len,
			replace, dontunmap);
	end_moves(as, r->addr, r->old_len);
	if (err)
		return err;
	if (populate)
		aspace_populate(as, r->new_addr + r->old_len,
				r->new_addr + r->new_len, true);
	return (int64_t)r->new_addr;
}

/* Where a move without MREMAP_FIXED goes (vrm_set_new_addr()). */
static int set_new_addr(struct aspace *as, const struct memory_area *a,
			struct remap *r)
{
	uint64_t hint = (r->flags & ASPACE_MREMAP_DONTUNMAP) ? r->new_addr : 0;
	int64_t at;

	at = aspace_unmapped_area(as, hint, r->new_len,
				  !as_data(a)->obj && aspace_private(a->flags));
	if (at < 0)
		return (int)at;
	if ((uint64_t)at < as->mmap_min_addr &&
	    !(as->flags & ASPACE_OPT_LOW_MAP))
		return -ASPACE_EPERM;
	r->new_addr = (uint64_t)at;
	return 0;
}

/* vma_expandable(): may the area grow in place by @delta? */
static bool expandable(const struct aspace *as, const struct memory_area *a,
		       uint64_t delta)
{
	uint64_t end = as_end(a);

	return end + delta > end && end + delta <= as->task_size &&
	       !memory_set_overlaps(&as->set, end, delta);
}

static int64_t grow_in_place(struct aspace *as, const struct memory_area *a,
			     struct remap *r)
{
	struct as_plan plan;
	const struct memory_area *n;
	struct as_piece grown;
	uint64_t end = r->addr + r->new_len;
	bool locked = a->flags & ASPACE_VM_LOCKED;
	enum mapping_error e;
	int err;

	aspace_plan_init(&plan, as);
	aspace_piece_of(a, a->start, end, &grown);
	grown.end = end;
	/* Linux merges the growth as a new range with the area's identity
	 * and no area behind it (vma_merge_extend()). */
	grown.new_range = true;
	aspace_plan_add(&plan, &grown);
	if ((n = memory_set_find(&as->set, end)))
		aspace_plan_add_area(&plan, n, n->start, as_end(n), true);
	err = aspace_plan_start(&plan);
	if (err)
		return err;
	e = memory_set_remap(&as->set, r->addr, r->old_len, r->new_len, as->pt);
	aspace_plan_stop(&plan);
	if (e != MAPPING_OK)
		return aspace_errno(e);
	if (locked)
		aspace_populate(as, r->addr + r->old_len, end, true);
	return (int64_t)r->addr;
}

/* mremap_at(): no target address given. */
static int64_t remap_at(struct aspace *as, const struct memory_area *a,
			struct remap *r)
{
	int err;

	switch (r->type) {
	case NO_RESIZE:
		return (int64_t)r->addr;
	case SHRINK:
		err = check_unmap(as, r->addr + r->new_len,
				  r->old_len - r->new_len);
		if (!err)
			err = aspace_unmap(as, r->addr + r->new_len,
					   r->addr + r->old_len);
		return err ? err : (int64_t)r->addr;
	case EXPAND:
		break;
	}
	if (r->old_len == as_end(a) - r->addr &&
	    expandable(as, a, r->new_len - r->old_len))
		return grow_in_place(as, a, r);
	if (!(r->flags & ASPACE_MREMAP_MAYMOVE))
		return -ASPACE_ENOMEM;
	err = set_new_addr(as, a, r);
	return err ? err : move(as, r, false);
}

/*
 * mremap_to(): MREMAP_FIXED with a resize, or MREMAP_DONTUNMAP without
 * MREMAP_FIXED. Linux unmaps the target, then shrinks, then moves; both
 * unmaps are checked first here.
 */
static int64_t remap_to(struct aspace *as, const struct memory_area *a,
			struct remap *r)
{
	bool fixed = r->flags & ASPACE_MREMAP_FIXED;
	int err;

	if (fixed &&
	    aspace_range_sealed(as, r->new_addr, r->new_addr + r->new_len))
		return -ASPACE_EPERM;
	if (r->type == SHRINK) {
		err = check_unmap(as, r->addr + r->new_len,
				  r->old_len - r->new_len);
		if (err)
			return err;
	}
	if (!fixed) {
		err = set_new_addr(as, a, r);
		if (err)
			return err;
	}
	if (r->type == SHRINK) {
		/* The reserve below covers the move; the shrink comes first
		 * and changes nothing if it fails. */
		err = aspace_reserve(as, 4, 8);
		if (err)
			return err;
		err = aspace_pt_reserve(as, r->addr, r->new_addr, r->new_len);
		if (err) {
			end_moves(as, 0, 0);
			return err;
		}
		err = aspace_unmap(as, r->addr + r->new_len,
				   r->addr + r->old_len);
		r->old_len = r->new_len;
		if (!err)
			err = move_area(as, r->addr, r->old_len, r->new_addr,
					r->new_len, fixed,
					r->flags & ASPACE_MREMAP_DONTUNMAP);
		end_moves(as, r->addr, r->old_len);
		return err ? err : (int64_t)r->new_addr;
	}
	return move(as, r, fixed);
}

/*
 * remap_move(): MREMAP_FIXED without a resize moves every area of the
 * range, each to the same offset from the target, the gaps kept (only the
 * target of each area is unmapped). The range must start in an area.
 */
static int64_t remap_several(struct aspace *as, struct remap *r)
{
	uint64_t end = r->addr + r->old_len, lo, hi, n = 0, at;
	bool dontunmap = r->flags & ASPACE_MREMAP_DONTUNMAP;
	const struct memory_area *a;
	struct memory_set_iter it;
	int err;

	memory_set_iter_init(&it, &as->set, r->addr);
	while ((a = memory_set_iter_next(&it)) && a->start < end) {
		lo = a->start > r->addr ? a->start : r->addr;
		if (!n && lo > r->addr)
			return -ASPACE_EFAULT;
		if (a->flags & AS_F_SEALED)
			return -ASPACE_EPERM;
		hi = as_end(a) < end ? as_end(a) : end;
		if (aspace_range_sealed(as, r->new_addr + (lo - r->addr),
					r->new_addr + (hi - r->addr)))
			return -ASPACE_EPERM;
		n++;
	}
	if (!n)
		return -ASPACE_EFAULT;
	if (memory_set_len(&as->set) + 2 * n > as->max_map_count)
		return -ASPACE_ENOMEM;
	err = reserve_moves(as, n, r->addr, r->new_addr, r->old_len);
	if (err)
		return err;
	for (at = r->addr; at < end && !err;) {
		memory_set_iter_init(&it, &as->set, at);
		a = memory_set_iter_next(&it);
		if (!a || a->start >= end)
			break;
		lo = a->start > at ? a->start : at;
		hi = as_end(a) < end ? as_end(a) : end;
		err = move_area(as, lo, hi - lo, r->new_addr + (lo - r->addr),
				hi - lo, true, dontunmap);
		at = hi;
	}
	end_moves(as, r->addr, r->old_len);
	return err ? err : (int64_t)r->new_addr;
}

int64_t aspace_mremap(struct aspace *as, uint64_t old_addr, uint64_t old_len,
		      uint64_t new_len, unsigned long flags, uint64_t new_addr)
{
	struct remap r = {
		.addr = old_addr,
		.old_len = AS_PAGE_ROUND_UP(as, old_len),
		.new_len = AS_PAGE_ROUND_UP(as, new_len),
		.new_addr = new_addr,
		.flags = flags,
		.type = NO_RESIZE, /* check_area() classifies the call */
	};
	const struct memory_area *a;
	int err;

	err = check_params(as, &r);
	if (err)
		return err;
	if (memory_set_len(&as->set) + 4 > as->max_map_count)
		return -ASPACE_ENOMEM;
	if ((flags & ASPACE_MREMAP_FIXED) && r.old_len == r.new_len)
		return remap_several(as, &r);
	a = memory_set_find(&as->set, r.addr);
	err = check_area(as, a, &r);
	if (err)
		return err;
	return implies_new_addr(&r) ? remap_to(as, a, &r) : remap_at(as, a, &r);
}

/* ---- brk -------------------------------------------------------------- */

uint64_t aspace_brk(struct aspace *as, uint64_t brk)
{
	uint64_t oldbrk = AS_PAGE_ROUND_UP(as, as->brk), newbrk, len;
	const struct memory_area *a;
	struct memory_set_iter it;
	struct as_vma *d;

	if (brk < as->start_brk || brk > as->task_size)
		return as->brk;
	newbrk = AS_PAGE_ROUND_UP(as, brk);
	if (newbrk == oldbrk) {
		as->brk = brk;
		return brk;
	}
	if (brk <= as->brk) {
		/* Shrinking unmaps whatever is there, the heap's or not. */
		memory_set_iter_init(&it, &as->set, newbrk);
		a = memory_set_iter_next(&it);
		if (!a || a->start >= oldbrk ||
		    aspace_range_sealed(as, newbrk, oldbrk) ||
		    aspace_unmap(as, newbrk, oldbrk))
			return as->brk;
		as->brk = brk;
		return brk;
	}
	/* Growing needs the range free, and a free page after it. */
	len = newbrk - oldbrk;
	if (len > as->task_size || oldbrk > as->task_size - len ||
	    (oldbrk < as->mmap_min_addr && !(as->flags & ASPACE_OPT_LOW_MAP)))
		return as->brk;
	memory_set_iter_init(&it, &as->set, oldbrk);
	a = memory_set_iter_next(&it);
	if (a && newbrk + as->page_size > a->start)
		return as->brk;
	if (memory_set_len(&as->set) > as->max_map_count)
		return as->brk;
	d = aspace_vma_new(as, oldbrk, oldbrk >> as->page_shift, NULL, true);
	if (!d)
		return as->brk;
	if (aspace_map_fixed(as, oldbrk, newbrk,
			     ASPACE_VM_READ | ASPACE_VM_WRITE |
				     ASPACE_VM_MAYREAD | ASPACE_VM_MAYWRITE |
				     ASPACE_VM_MAYEXEC,
			     d, false)) {
		aspace_vma_free(d);
		return as->brk;
	}
	as->brk = brk;
	return brk;
}
