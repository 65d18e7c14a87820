/*
 * Page faults: demand-zero pages, the pages of objects, copy-on-write.
 *
 * Private memory: a read fault maps a zeroed frame (or the object's page)
 * without the write right; a write fault gives the area its anonymous
 * identity and then either takes the frame as it is, when the entry's
 * reference is the frame's only one, or copies it. Shared memory maps the
 * object's page with every right the area has.
 *
 * A fault that fails changes nothing: the frame and the identity it would
 * have taken are given back. But for one thing, as Linux: a write to a
 * private mapping of an object that ends in SIGBUS (past the object's end,
 * a page the host cannot read) leaves the area the identity it took first.
 */
#include "aspace_internal.h"

/* Does an area with @flags allow @access? Writing implies reading. */
static bool allowed(const struct aspace *as, uint64_t flags, unsigned access)
{
	uint64_t read = ASPACE_VM_READ | ASPACE_VM_WRITE;

	if (as->flags & ASPACE_OPT_EXEC_READABLE)
		read |= ASPACE_VM_EXEC;
	if ((access & ASPACE_ACCESS_WRITE) && !(flags & ASPACE_VM_WRITE))
		return false;
	if ((access & ASPACE_ACCESS_EXEC) && !(flags & ASPACE_VM_EXEC))
		return false;
	if ((access & ASPACE_ACCESS_READ) || !access)
		return (flags & read) != 0;
	return true;
}

/*
 * Execute-only memory that cannot be read is x86's with protection keys:
 * its area carries the execute-only key in its flags (VM_PKEY_BIT0), which
 * mprotect() to anything but PROT_EXEC takes away again.
 */
static bool exec_only_key(const struct aspace *as, uint64_t flags)
{
	return !(as->flags & ASPACE_OPT_EXEC_READABLE) &&
	       (flags & AS_F_ACCESS) == ASPACE_VM_EXEC;
}

/*
 * Linux's anon_vma_compatible(): could area @b, right after @a, share @a's
 * identity? The flags may differ in their access bits only (not in the
 * protection key those bits give).
 */
static bool identity_compatible(const struct memory_area *a,
				const struct memory_area *b)
{
	const struct as_vma *da = as_data(a), *db = as_data(b);
	const struct aspace *as = da->as;
	uint64_t keep = AS_F_VM & ~AS_F_ACCESS;

	return as_end(a) == b->start && da->obj == db->obj &&
	       ((a->flags ^ b->flags) & (keep | AS_F_SEALED)) == 0 &&
	       exec_only_key(as, a->flags) == exec_only_key(as, b->flags) &&
	       da->account == db->account &&
	       db->pgoff == da->pgoff + (a->size >> as->page_shift);
}

static struct as_anon *reusable(const struct memory_area *old,
				const struct memory_area *a,
				const struct memory_area *b)
{
	struct as_anon *anon = as_data(old)->anon;

	if (identity_compatible(a, b) && anon && !anon->forked)
		return anon;
	return NULL;
}

/*
 * Give area @a its identity before its first private page of its own
 * (Linux's anon_vma_prepare()): the next area's if it could share it, else
 * the previous one's, else a new one.
 * @return 1 if it was given now, 0 if it had one, -ASPACE_ENOMEM.
 */
static int anon_prepare(struct aspace *as, const struct memory_area *a)
{
	struct as_vma *d = as_data(a);
	const struct memory_area *n;
	struct as_anon *anon = NULL;

	if (d->anon)
		return 0;
	n = memory_set_find(&as->set, as_end(a));
	if (n)
		anon = reusable(n, a, n);
	if (!anon && a->start && (n = memory_set_find(&as->set, a->start - 1)))
		anon = reusable(n, n, a);
	if (!anon && !(anon = aspace_anon_new(as, false)))
		return -ASPACE_ENOMEM;
	aspace_set_anon(d, anon);
	return 1;
}

static void anon_undo(struct aspace *as, const struct memory_area *a, int given)
{
	struct as_vma *d = as_data(a);

	if (given > 0) {
		aspace_anon_put(as, d->anon);
		d->anon = NULL;
	}
}

static void copy_frame(struct aspace *as, uint64_t dst, uint64_t src)
{
	void *d = aspace_frame_map(as, dst), *s = aspace_frame_map(as, src);

	memcpy(d, s, as->page_size);
	aspace_frame_unmap(as, src, s);
	aspace_frame_unmap(as, dst, d);
}

/*
 * Map the object's page @frame at @va, taking a reference for the entry;
 * if the fault @made the page and fails, the page goes again.
 */
static enum aspace_fault map_ref(struct aspace *as, uint64_t va, uint64_t frame,
				 unsigned rights, struct aspace_object *obj,
				 uint64_t pgoff, bool made)
{
	as->ops->frame_get(as->ctx, frame);
	if (as->ops->pt_map(as->ctx, as->pt, va, frame, rights)) {
		as->ops->frame_put(as->ctx, frame);
		if (made)
			aspace_obj_unmake(obj, pgoff);
		return ASPACE_FAULT_OOM;
	}
	return ASPACE_FAULT_OK;
}

static enum aspace_fault obj_error(int err)
{
	return err == -ASPACE_ENOMEM ? ASPACE_FAULT_OOM : ASPACE_FAULT_SIGBUS;
}

static enum aspace_fault shared_fault(struct aspace *as,
				      const struct memory_area *a, uint64_t va,
				      uint64_t pgoff, bool present,
				      unsigned rights)
{
	struct aspace_object *obj = as_data(a)->obj;
	uint64_t frame;
	bool made;
	int err;

	if (present) {
		if (!(rights & ASPACE_PTE_WRITE) &&
		    (a->flags & ASPACE_VM_WRITE))
			as->ops->pt_protect(as->ctx, as->pt, va, as->page_size,
					    aspace_rights(as, a->flags, true));
		return ASPACE_FAULT_OK;
	}
	err = aspace_obj_page(obj, pgoff, &frame, &made);
	if (err)
		return obj_error(err);
	return map_ref(as, va, frame, aspace_rights(as, a->flags, true), obj,
		       pgoff, made);
}

/*
 * A private page not mapped yet. A write gives the area its identity first
 * (Linux's anon_vma_prepare() in do_anonymous_page() and do_cow_fault()),
 * so a write to an object's page that ends in SIGBUS keeps it, as Linux's.
 */
static enum aspace_fault private_new(struct aspace *as,
				     const struct memory_area *a, uint64_t va,
				     uint64_t pgoff, bool write)
{
	struct as_vma *d = as_data(a);
	uint64_t src = 0, frame;
	bool made = false;
	int given = 0, err;

	if (write && (given = anon_prepare(as, a)) < 0)
		return ASPACE_FAULT_OOM;
	if (d->obj) {
		err = aspace_obj_page(d->obj, pgoff, &src, &made);
		if (err == -ASPACE_ENOMEM)
			goto oom;
		if (err)
			return ASPACE_FAULT_SIGBUS;
		if (!write)
			return map_ref(as, va, src,
				       aspace_rights(as, a->flags, false),
				       d->obj, pgoff, made);
	}
	if (as->ops->frame_alloc(as->ctx, &frame))
		goto oom;
	if (d->obj)
		copy_frame(as, frame, src);
	if (!as->ops->pt_map(as->ctx, as->pt, va, frame,
			     aspace_rights(as, a->flags, write)))
		return ASPACE_FAULT_OK;
	as->ops->frame_put(as->ctx, frame);
oom:
	anon_undo(as, a, given);
	if (made)
		aspace_obj_unmake(d->obj, pgoff);
	return ASPACE_FAULT_OOM;
}

/* A write to a private page mapped without the write right. */
static enum aspace_fault private_write(struct aspace *as,
				       const struct memory_area *a, uint64_t va,
				       uint64_t old)
{
	unsigned rights = aspace_rights(as, a->flags, true);
	uint64_t frame;
	int given;

	if (as->ops->frame_refs(as->ctx, old) == 1) {
		/* The last reference takes the frame as it is. */
		if (anon_prepare(as, a) < 0)
			return ASPACE_FAULT_OOM;
		as->ops->pt_protect(as->ctx, as->pt, va, as->page_size, rights);
		return ASPACE_FAULT_OK;
	}
	if (as->ops->frame_alloc(as->ctx, &frame))
		return ASPACE_FAULT_OOM;
	copy_frame(as, frame, old);
	given = anon_prepare(as, a);
	if (given < 0 || as->ops->pt_map(as->ctx, as->pt, va, frame, rights)) {
		anon_undo(as, a, given);
		as->ops->frame_put(as->ctx, frame);
		return ASPACE_FAULT_OOM;
	}
	aspace_flush(as, va, as->page_size);
	as->ops->frame_put(as->ctx, old);
	return ASPACE_FAULT_OK;
}

/* Bring page @va of area @a in for a read, or a write if @write. */
static enum aspace_fault fault_page(struct aspace *as,
				    const struct memory_area *a, uint64_t va,
				    bool write)
{
	const struct as_vma *d = as_data(a);
	uint64_t at = va, frame = 0, pgoff;
	unsigned rights = 0;
	bool present;

	pgoff = d->pgoff + ((va - a->start) >> as->page_shift);
	if (d->obj && !aspace_obj_inside(d->obj, pgoff, as->page_size)) {
		/* Past the end: a private write takes its identity first. */
		if (write && aspace_private(a->flags) && anon_prepare(as, a) < 0)
			return ASPACE_FAULT_OOM;
		return ASPACE_FAULT_SIGBUS;
	}
	present = aspace_lookup(as, &at, va + as->page_size, &frame, &rights);
	if (!aspace_private(a->flags))
		return shared_fault(as, a, va, pgoff, present, rights);
	if (!present)
		return private_new(as, a, va, pgoff, write);
	if (!write || (rights & ASPACE_PTE_WRITE))
		return ASPACE_FAULT_OK;
	return private_write(as, a, va, frame);
}

enum aspace_fault aspace_fault_area(struct aspace *as,
				    const struct memory_area *a, uint64_t addr,
				    unsigned access)
{
	if (!allowed(as, a->flags, access))
		return ASPACE_FAULT_SEGV_ACCERR;
	return fault_page(as, a, addr & ~(as->page_size - 1),
			  access & ASPACE_ACCESS_WRITE);
}

enum aspace_fault aspace_fault(struct aspace *as, uint64_t addr,
			       unsigned access)
{
	const struct memory_area *a = NULL;

	if (addr < as->task_size)
		a = memory_set_find(&as->set, addr);
	if (!a)
		return ASPACE_FAULT_SEGV_MAPERR;
	return aspace_fault_area(as, a, addr, access);
}

/*
 * MAP_POPULATE, MAP_LOCKED and growing locked areas: bring the pages of
 * [start, end) in, with write faults where @write (private writable
 * memory, to break copy-on-write now). Best effort, as Linux: it stops at
 * the first page that cannot come (no memory, past an object's end) and
 * the rest come on demand.
 */
void aspace_populate(struct aspace *as, uint64_t start, uint64_t end,
		     bool write)
{
	const struct memory_area *a;
	uint64_t va;

	for (va = start; va < end; va += as->page_size) {
		a = memory_set_find(&as->set, va);
		if (!a || !(a->flags & AS_F_ACCESS))
			return;
		if (fault_page(as, a, va,
			       write && (a->flags & ASPACE_VM_WRITE)))
			return;
	}
}
