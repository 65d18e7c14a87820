/*
 * The layer's invariant checker, from scratch in O(n + pages mapped): the
 * core's invariants, every area's record, and the page table against the
 * areas.
 *
 *   areas     inside [0, task_size); a record of this space whose start is
 *             the area's; flags with known bits and a known name; shared
 *             memory has an object and no identity and is not accounted;
 *   entries   every entry holding a frame lies in an area, has no right the
 *             area lacks, holds a referenced frame; a writable private
 *             entry holds the frame's only reference; a shared entry holds
 *             its object's page for that offset.
 */
#include "aspace_internal.h"

#define KNOWN_FLAGS                                                         \
	(AS_F_ACCESS | ASPACE_VM_SHARED | ASPACE_VM_MAYREAD |               \
	 ASPACE_VM_MAYWRITE | ASPACE_VM_MAYEXEC | ASPACE_VM_MAYSHARE |      \
	 ASPACE_VM_LOCKED | ASPACE_VM_DONTCOPY | ASPACE_VM_SEQ_READ |       \
	 ASPACE_VM_RAND_READ | ASPACE_VM_NORESERVE | ASPACE_VM_WIPEONFORK | \
	 ASPACE_VM_DROPPABLE | ASPACE_VM_NOHUGEPAGE | AS_F_SYNC |           \
	 AS_F_DONTDUMP | AS_F_SEALED | AS_F_NAME_MASK)

static const char *check_area(const struct aspace *as,
			      const struct memory_area *a)
{
	const struct as_vma *d = as_data(a);

	if (a->backend.ops != &aspace_backend_ops || !d)
		return "an area without the layer's backend";
	if (d->as != as)
		return "an area's record belongs to another space";
	if (d->start != a->start)
		return "an area's record has another start";
	if (as_end(a) > as->task_size || !a->size)
		return "an area past task_size";
	if (a->flags & ~(uint64_t)KNOWN_FLAGS)
		return "an area with unknown flags";
	if (as_name_id(a->flags) > as->nnames)
		return "an area with an unknown name";
	if (!aspace_private(a->flags)) {
		if (!d->obj)
			return "shared memory without an object";
		if (d->anon)
			return "shared memory with an anonymous identity";
		if (d->account)
			return "shared memory accounted";
	}
	if ((a->flags & ASPACE_VM_SHARED) && !(a->flags & ASPACE_VM_MAYSHARE))
		return "VM_SHARED without VM_MAYSHARE";
	if (d->anon && !d->anon->refs)
		return "an identity without references";
	if (d->join)
		return "an area still marked to merge into the one before it";
	return NULL;
}

static const char *check_entry(const struct aspace *as,
			       const struct memory_area *a, uint64_t va,
			       uint64_t frame, unsigned rights)
{
	const struct as_vma *d = as_data(a);
	unsigned allowed = aspace_rights(as, a->flags, true);
	uint64_t refs = as->ops->frame_refs(as->ctx, frame);

	if (rights & ~allowed)
		return "an entry has a right its area lacks";
	if (!refs)
		return "an entry maps a free frame";
	if (!aspace_private(a->flags)) {
		if (!aspace_obj_holds(d->obj,
				      d->pgoff + ((va - a->start) >>
						  as->page_shift),
				      frame))
			return "a shared entry maps another frame than its object's page";
		return NULL;
	}
	if ((rights & ASPACE_PTE_WRITE) && refs != 1)
		return "a writable private entry maps a shared frame";
	return NULL;
}

const char *aspace_check(const struct aspace *as)
{
	const struct memory_area *a;
	struct memory_set_iter it;
	uint64_t va = 0, frame;
	unsigned rights;
	const char *err = memory_set_check(&as->set);

	if (err)
		return err;
	if (!memory_set_merge_enabled(&as->set))
		return "merging is off";
	memory_set_foreach(a, &it,
			   &as->set) if ((err = check_area(as, a))) return err;

	/* Entries and areas both in address order: one pass over each. */
	memory_set_iter_init(&it, &as->set, 0);
	a = memory_set_iter_next(&it);
	while (aspace_lookup(as, &va, as->task_size, &frame, &rights)) {
		while (a && as_end(a) <= va)
			a = memory_set_iter_next(&it);
		if (!a || a->start > va)
			return "an entry outside every area";
		if ((err = check_entry(as, a, va, frame, rights)))
			return err;
		va += as->page_size;
	}
	if (as->plan || as->node_reserve || as->rec_reserve || as->pt_reserved)
		return "a call's plan or reserve left behind";
	return NULL;
}
