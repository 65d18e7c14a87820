/*
 * fork(): the child's areas are the parent's, through the set's dup() hook,
 * area by area (Linux's dup_mmap()):
 *   private  every frame shared copy-on-write: the child's entries and the
 *            parent's lose their write right, and the next write on either
 *            side copies (or takes the frame, if the other side let go);
 *            an area with an identity gets a new one in the child, marked
 *            as a fork child's (Linux: its anon_vma chain is not single);
 *   shared   the same frames, with the same rights;
 *   MADV_WIPEONFORK  no page and no identity in the child;
 *   MADV_DONTFORK    not in the child (removed once the copy is made).
 * Nothing merges in the child, even areas that became alike there (two
 * wiped areas apart in the parent by their identities, areas that differed
 * only in VM_LOCKED, which the child does not inherit): Linux keeps them
 * apart until a call merges there. The parent's entries lose their write
 * right only once the child is made, so that on any failure the child is
 * not made and the parent is exactly as it was.
 */
#include "aspace_internal.h"

enum mapping_error aspace_hk_dup(void *data, uint64_t start, uint64_t size,
				 uint64_t flags, void *src_pt, void *dst_pt,
				 void **child_data)
{
	struct as_vma *d = data, *cd;
	struct aspace *as = d->as, *child = as->forking;
	bool private = aspace_private(flags);
	uint64_t va = start, end = start + size, frame;
	unsigned rights, cr;

	(void)src_pt;
	cd = aspace_vma_new(child, d->start, d->pgoff, d->obj, d->account);
	if (!cd)
		return MAPPING_ERR_NO_MEMORY;
	if (flags & (ASPACE_VM_DONTCOPY | ASPACE_VM_WIPEONFORK))
		goto out;
	if (d->anon) {
		struct as_anon *a = aspace_anon_new(child, true);

		if (!a)
			goto fail;
		aspace_set_anon(cd, a);
	}
	while (aspace_lookup(as, &va, end, &frame, &rights)) {
		cr = private ? rights & ~ASPACE_PTE_WRITE : rights;
		if (child->ops->pt_map(child->ctx, dst_pt, va, frame, cr)) {
			aspace_zap(child, start, va);
			goto fail;
		}
		as->ops->frame_get(as->ctx, frame);
		va += as->page_size;
	}
out:
	*child_data = cd;
	return MAPPING_OK;
fail:
	aspace_vma_free(cd);
	return MAPPING_ERR_NO_MEMORY;
}

/*
 * The child is made: the parent's writable private entries whose frame the
 * child now shares lose their write right too.
 */
static void protect_shared(struct aspace *as)
{
	const struct memory_area *a;
	struct memory_set_iter it;
	uint64_t va, frame;
	unsigned rights;
	bool any;

	memory_set_foreach(a, &it, &as->set)
	{
		if (!aspace_private(a->flags) || !(a->flags & ASPACE_VM_WRITE))
			continue;
		any = false;
		for (va = a->start;
		     aspace_lookup(as, &va, as_end(a), &frame, &rights);
		     va += as->page_size) {
			if (!(rights & ASPACE_PTE_WRITE) ||
			    as->ops->frame_refs(as->ctx, frame) == 1)
				continue;
			as->ops->pt_protect(as->ctx, as->pt, va, as->page_size,
					    rights & ~ASPACE_PTE_WRITE);
			any = true;
		}
		if (any)
			aspace_flush(as, a->start, a->size);
	}
}

/* Take the MADV_DONTFORK areas out of the child (they have no pages). */
static int drop_dontfork(struct aspace *child)
{
	const struct memory_area *a;
	struct memory_set_iter it;
	uint64_t at = 0, start, size;

	for (;;) {
		memory_set_iter_init(&it, &child->set, at);
		while ((a = memory_set_iter_next(&it)) &&
		       !(a->flags & ASPACE_VM_DONTCOPY))
			;
		if (!a)
			return 0;
		start = a->start;
		size = a->size;
		if (memory_set_unmap(&child->set, start, size, child->pt))
			return -ASPACE_ENOMEM;
		at = start + size;
	}
}

/* Does any area of @as hold a memory lock? */
static bool any_locked(const struct aspace *as)
{
	const struct memory_area *a;
	struct memory_set_iter it;

	memory_set_foreach(a, &it, &as->set)
	{
		if (a->flags & ASPACE_VM_LOCKED)
			return true;
	}
	return false;
}

int aspace_fork(struct aspace *child, struct aspace *parent,
		void *child_page_table)
{
	/* Memory locks are not inherited (VM_LOCKED_MASK). */
	static const struct as_change unlock = { 0, ASPACE_VM_LOCKED, false };
	struct aspace_options o;
	enum mapping_error e;
	int err;

	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.flags = parent->flags;
	o.ops = parent->ops;
	o.ctx = parent->ctx;
	o.page_table = child_page_table;
	o.allocator = parent->allocator;
	o.allocator_ctx = parent->allocator_ctx;
	o.page_size = parent->page_size;
	o.task_size = parent->task_size;
	o.mmap_base = parent->mmap_base;
	o.mmap_min_addr = parent->mmap_min_addr;
	o.unmapped_base = parent->unmapped_base;
	o.max_map_count = parent->max_map_count;
	o.thp_size = parent->thp_size;
	o.start_stack = parent->start_stack;
	err = aspace_init(child, &o);
	if (err)
		return err;
	child->start_brk = parent->start_brk;
	child->brk = parent->brk;
	err = aspace_names_copy(child, parent);
	if (err)
		goto fail;
	parent->forking = child;
	e = memory_set_dup(&child->set, &parent->set, parent->pt,
			   child_page_table);
	parent->forking = NULL;
	if (e != MAPPING_OK) {
		err = aspace_errno(e);
		goto fail;
	}
	err = drop_dontfork(child);
	if (!err && any_locked(child))
		err = aspace_change_flags(child, 0, child->task_size, &unlock);
	if (!err) {
		protect_shared(parent);
		return 0;
	}
fail:
	aspace_destroy(child);
	return err;
}
