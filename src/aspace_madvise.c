/*
 * madvise and mseal.
 *
 * Linux walks the areas of the range one by one and applies the advice to
 * each (madvise_walk_vmas()): the first area whose advice fails stops the
 * walk with its error, after the areas before it were changed; holes give
 * ENOMEM at the end. Here the walk is made twice: once to find the error
 * Linux would return, changing nothing, then to apply the advice when there
 * is none.
 */
#include "aspace_internal.h"

int aspace_range_arg(const struct aspace *as, uint64_t addr, uint64_t len,
		     uint64_t *end)
{
	uint64_t alen = AS_PAGE_ROUND_UP(as, len);

	if ((addr & (as->page_size - 1)) || (len && !alen))
		return -ASPACE_EINVAL;
	*end = addr + alen;
	return *end < addr ? -ASPACE_EINVAL : 0;
}

/*
 * Linux's walk order of errors over [start, end): the first area whose
 * @visit fails decides; else ENOMEM if a hole was crossed.
 */
int aspace_walk_check(struct aspace *as, uint64_t start, uint64_t end,
		      as_visit_fn visit, void *arg)
{
	struct memory_set_iter it;
	const struct memory_area *a;
	bool hole = false;
	uint64_t at = start;
	int err;

	memory_set_iter_init(&it, &as->set, start);
	for (;;) {
		a = memory_set_iter_next(&it);
		if (!a || a->start >= end)
			return -ASPACE_ENOMEM; /* nothing at or after the range */
		if (a->start > at)
			hole = true;
		if (visit && (err = visit(as, a, arg)))
			return err;
		at = as_end(a);
		if (at >= end)
			return hole ? -ASPACE_ENOMEM : 0;
	}
}

/* mseal's madvise rule: discarding advice on sealed read-only private
 * anonymous memory is refused (can_madvise_modify()). */
static bool discards(int advice)
{
	return advice == ASPACE_MADV_DONTNEED || advice == ASPACE_MADV_FREE ||
	       advice == ASPACE_MADV_DONTFORK ||
	       advice == ASPACE_MADV_WIPEONFORK;
}

static bool ro_anon(const struct memory_area *a)
{
	return !as_data(a)->obj && aspace_private(a->flags) &&
	       !(a->flags & ASPACE_VM_WRITE);
}

static int check_advice(struct aspace *as, const struct memory_area *a,
			void *arg)
{
	int advice = *(int *)arg;
	const struct as_vma *d = as_data(a);

	(void)as;
	if ((a->flags & AS_F_SEALED) && ro_anon(a) && discards(advice))
		return -ASPACE_EPERM;
	switch (advice) {
	case ASPACE_MADV_DONTNEED:
	case ASPACE_MADV_FREE:
		/* madvise_dontneed_free_valid_vma(): locked memory stays. */
		if (a->flags & ASPACE_VM_LOCKED)
			return -ASPACE_EINVAL;
		if (advice == ASPACE_MADV_FREE &&
		    (d->obj || !aspace_private(a->flags)))
			return -ASPACE_EINVAL;
		return 0;
	case ASPACE_MADV_WIPEONFORK:
		if (d->obj || !aspace_private(a->flags))
			return -ASPACE_EINVAL;
		return 0;
	case ASPACE_MADV_KEEPONFORK:
		if (a->flags & ASPACE_VM_DROPPABLE)
			return -ASPACE_EINVAL;
		return 0;
	default:
		return 0;
	}
}

static bool valid_advice(int advice)
{
	switch (advice) {
	case ASPACE_MADV_NORMAL:
	case ASPACE_MADV_RANDOM:
	case ASPACE_MADV_SEQUENTIAL:
	case ASPACE_MADV_WILLNEED:
	case ASPACE_MADV_DONTNEED:
	case ASPACE_MADV_FREE:
	case ASPACE_MADV_DONTFORK:
	case ASPACE_MADV_DOFORK:
	case ASPACE_MADV_WIPEONFORK:
	case ASPACE_MADV_KEEPONFORK:
		return true;
	default:
		return false;
	}
}

/* Drop the pages of the mapped parts of [start, end). */
static void dontneed(struct aspace *as, uint64_t start, uint64_t end)
{
	struct memory_set_iter it;
	const struct memory_area *a;

	memory_set_iter_init(&it, &as->set, start);
	while ((a = memory_set_iter_next(&it)) && a->start < end)
		aspace_zap(as, a->start > start ? a->start : start,
			   as_end(a) < end ? as_end(a) : end);
}

int aspace_madvise(struct aspace *as, uint64_t addr, uint64_t len, int advice)
{
	struct as_change c = { 0, 0, false };
	uint64_t end;
	int err;

	if (!valid_advice(advice))
		return -ASPACE_EINVAL;
	err = aspace_range_arg(as, addr, len, &end);
	if (err || end == addr)
		return err;
	err = aspace_walk_check(as, addr, end, check_advice, &advice);
	if (err)
		return err;
	switch (advice) {
	case ASPACE_MADV_DONTNEED:
		dontneed(as, addr, end);
		return 0;
	case ASPACE_MADV_WILLNEED:
	case ASPACE_MADV_FREE:
		/* No memory pressure here: freed pages keep their contents
		 * until written, as Linux's without reclaim. */
		return 0;
	case ASPACE_MADV_NORMAL:
		c.clear = ASPACE_VM_SEQ_READ | ASPACE_VM_RAND_READ;
		break;
	case ASPACE_MADV_RANDOM:
		c.clear = ASPACE_VM_SEQ_READ;
		c.set = ASPACE_VM_RAND_READ;
		break;
	case ASPACE_MADV_SEQUENTIAL:
		c.clear = ASPACE_VM_RAND_READ;
		c.set = ASPACE_VM_SEQ_READ;
		break;
	case ASPACE_MADV_DONTFORK:
		c.set = ASPACE_VM_DONTCOPY;
		break;
	case ASPACE_MADV_DOFORK:
		c.clear = ASPACE_VM_DONTCOPY;
		break;
	case ASPACE_MADV_WIPEONFORK:
		c.set = ASPACE_VM_WIPEONFORK;
		break;
	case ASPACE_MADV_KEEPONFORK:
		c.clear = ASPACE_VM_WIPEONFORK;
		break;
	}
	err = aspace_change_range(as, addr, end, &c);
	/* madvise says EAGAIN when the kernel is short of memory. */
	return err == -ASPACE_ENOMEM ? -ASPACE_EAGAIN : err;
}

int aspace_mseal(struct aspace *as, uint64_t addr, uint64_t len,
		 unsigned long flags)
{
	struct as_change c = { AS_F_SEALED, 0, false };
	uint64_t end;
	int err;

	if (flags)
		return -ASPACE_EINVAL;
	err = aspace_range_arg(as, addr, len, &end);
	if (err || end == addr)
		return err;
	if (!aspace_range_mapped(as, addr, end))
		return -ASPACE_ENOMEM;
	return aspace_change_range(as, addr, end, &c);
}
