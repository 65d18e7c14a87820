/*
 * Page-table entries and frames: the rights an area's flags give, dropping
 * the entries of a range with their frames, moving entries (mremap).
 *
 * Every entry holding a frame holds one reference to it. Entries of private
 * memory get their write right only at a write fault, once the frame is the
 * entry's alone (a copy-on-write frame is never writable).
 */
#include "aspace_internal.h"

/* The rights of an entry of an area with @flags; @write: may it write. */
unsigned aspace_rights(const struct aspace *as, uint64_t flags, bool write)
{
	unsigned r = 0;

	if (flags & (ASPACE_VM_READ | ASPACE_VM_WRITE))
		r |= ASPACE_PTE_READ;
	if ((flags & ASPACE_VM_EXEC) && (as->flags & ASPACE_OPT_EXEC_READABLE))
		r |= ASPACE_PTE_READ;
	if ((flags & ASPACE_VM_WRITE) && write)
		r |= ASPACE_PTE_WRITE;
	if (flags & ASPACE_VM_EXEC)
		r |= ASPACE_PTE_EXEC;
	return r;
}

bool aspace_lookup(const struct aspace *as, uint64_t *va, uint64_t end,
		   uint64_t *frame, unsigned *rights)
{
	return *va < end &&
	       as->ops->pt_lookup(as->ctx, as->pt, va, end, frame, rights);
}

void aspace_flush(struct aspace *as, uint64_t start, uint64_t size)
{
	if (as->ops->tlb_flush)
		as->ops->tlb_flush(as->ctx, as->pt, start, size);
}

#define ZAP_BATCH 32

static void zap_batch(struct aspace *as, uint64_t from, uint64_t to,
		      const uint64_t *frames, unsigned n)
{
	unsigned i;

	as->ops->pt_unmap(as->ctx, as->pt, from, to - from);
	aspace_flush(as, from, to - from);
	for (i = 0; i < n; i++)
		as->ops->frame_put(as->ctx, frames[i]);
}

/*
 * Drop every entry of [start, end) and the references they held. As
 * Linux's mmu_gather, frames go back only after their entries are gone and
 * flushed, a batch at a time.
 */
void aspace_zap(struct aspace *as, uint64_t start, uint64_t end)
{
	uint64_t frames[ZAP_BATCH], va = start, frame, from = start;
	unsigned rights, n = 0;

	while (aspace_lookup(as, &va, end, &frame, &rights)) {
		if (!n)
			from = va;
		frames[n++] = frame;
		va += as->page_size;
		if (n == ZAP_BATCH) {
			zap_batch(as, from, va, frames, n);
			n = 0;
		}
	}
	if (n)
		zap_batch(as, from, va, frames, n);
	if (!as->pt_reserved && as->ops->pt_trim)
		as->ops->pt_trim(as->ctx, as->pt, start, end - start);
}

/*
 * Reserve the tables that moving the entries of [src, src+size) to dst
 * needs, one run of pages at a time.
 */
int aspace_pt_reserve(struct aspace *as, uint64_t src, uint64_t dst,
		      uint64_t size)
{
	uint64_t va = src, end = src + size, frame, run = 0, run_len = 0;
	unsigned rights;
	int err;

	if (!as->ops->pt_reserve)
		return 0;
	as->pt_reserved = true;
	while (aspace_lookup(as, &va, end, &frame, &rights)) {
		if (run_len && run + run_len != va) {
			err = as->ops->pt_reserve(as->ctx, as->pt,
						  dst + (run - src), run_len);
			if (err)
				return err;
			run_len = 0;
		}
		if (!run_len)
			run = va;
		run_len += as->page_size;
		va += as->page_size;
	}
	if (run_len)
		return as->ops->pt_reserve(as->ctx, as->pt, dst + (run - src),
					   run_len);
	return 0;
}

/*
 * Move the entries of [src, src+size) to [dst, dst+size), which has none:
 * the frames and their references go along, so the contents move. The
 * tables were reserved (aspace_pt_reserve()), so nothing fails.
 */
void aspace_move_entries(struct aspace *as, uint64_t src, uint64_t dst,
			 uint64_t size)
{
	uint64_t va = src, end = src + size, frame;
	unsigned rights;
	bool any = false;

	while (aspace_lookup(as, &va, end, &frame, &rights)) {
		as->ops->pt_map(as->ctx, as->pt, dst + (va - src), frame,
				rights);
		any = true;
		va += as->page_size;
	}
	if (any) {
		as->ops->pt_unmap(as->ctx, as->pt, src, size);
		aspace_flush(as, src, size);
	}
}

void *aspace_frame_map(const struct aspace *as, uint64_t frame)
{
	return as->ops->frame_map(as->ctx, frame);
}

void aspace_frame_unmap(const struct aspace *as, uint64_t frame, void *p)
{
	if (as->ops->frame_unmap)
		as->ops->frame_unmap(as->ctx, frame, p);
}
