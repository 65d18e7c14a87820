/*
 * The address space: its set, the records of its areas, reservations for
 * calls made of several steps, and the backend through which the set's
 * decisions reach the page table.
 *
 * The backend's hooks never fail: map() maps nothing (pages come at the
 * first fault), unmap() drops the entries and their frames, protect()
 * rewrites the rights of the entries there are, split() takes a record from
 * the reserve or the host. So once the set has planned an operation (nodes
 * and split records reserved), it completes.
 */
#include "aspace_internal.h"

#define DEF_TASK_SIZE 0x7ffffffff000ull
#define DEF_MMAP_GAP (128ull << 20)
#define DEF_MMAP_MIN 65536ull
#define DEF_MAX_MAP_COUNT 65530ull

int aspace_errno(enum mapping_error err)
{
	return -mapping_error_to_errno(err);
}

/*
 * @v / @d and its remainder, a bit at a time, so that 32-bit kernels need
 * no division helper (maps' decimals, the default unmapped_base).
 */
uint64_t aspace_div_small(uint64_t v, uint32_t d, uint32_t *rem)
{
	uint64_t q = 0, r = 0;
	int i;

	for (i = 63; i >= 0; i--) {
		r = (r << 1) | ((v >> i) & 1);
		if (r >= d) {
			r -= d;
			q |= 1ull << i;
		}
	}
	if (rem)
		*rem = (uint32_t)r;
	return q;
}

/* ---- Memory: the host's, through a reserve while a call runs ---------- */

/* Blocks on a reserve list keep the list in their first word. */
static void *pop(void **list)
{
	void *p = *list;

	if (p)
		*list = *(void **)p;
	return p;
}

static void push(void **list, void *p)
{
	*(void **)p = *list;
	*list = p;
}

static void *node_alloc(void *ctx, size_t size)
{
	struct aspace *as = ctx;
	void *p = pop(&as->node_reserve);

	return p ? p : as->allocator->alloc(as->allocator_ctx, size);
}

static void node_free(void *ctx, void *ptr, size_t size)
{
	struct aspace *as = ctx;

	as->allocator->free(as->allocator_ctx, ptr, size);
}

static const struct memory_set_allocator node_allocator = {
	.version = MEMORY_SET_ALLOCATOR_VERSION,
	.alloc = node_alloc,
	.free = node_free,
};

void *aspace_alloc(struct aspace *as, size_t size)
{
	void *p = NULL;

	if (size == sizeof(struct as_vma))
		p = pop(&as->rec_reserve);
	return p ? p : as->ops->alloc(as->ctx, size);
}

void aspace_free(struct aspace *as, void *p, size_t size)
{
	if (p)
		as->ops->free(as->ctx, p, size);
}

static unsigned log2_up(uint64_t x)
{
	unsigned n = 0;

	while (n < 64 && (1ull << n) < x)
		n++;
	return n;
}

/*
 * Reserve what @changes operations on the set and @records split records
 * may need, so that a call made of several steps cannot fail after its
 * first: each operation adds at most two cuts, each of which may split
 * every node on its path to the root (the tree's height is at most
 * log2 of its nodes, plus one).
 */
int aspace_reserve(struct aspace *as, uint64_t changes, uint64_t records)
{
	/* Nodes in use: a bound from above (the node size is above 512). */
	uint64_t nodes = memory_set_memory_bytes(&as->set) >> 9;
	uint64_t need = changes * 2 * (log2_up(nodes + 2) + 3);
	void *p;

	while (need--) {
		p = as->allocator->alloc(as->allocator_ctx,
					 MEMORY_SET_NODE_SIZE);
		if (!p)
			goto fail;
		push(&as->node_reserve, p);
	}
	while (records--) {
		p = as->ops->alloc(as->ctx, sizeof(struct as_vma));
		if (!p)
			goto fail;
		push(&as->rec_reserve, p);
	}
	return 0;
fail:
	aspace_unreserve(as);
	return -ASPACE_ENOMEM;
}

/* Give back what a call reserved and did not use. */
void aspace_unreserve(struct aspace *as)
{
	void *p;

	while ((p = pop(&as->node_reserve)))
		as->allocator->free(as->allocator_ctx, p, MEMORY_SET_NODE_SIZE);
	while ((p = pop(&as->rec_reserve)))
		as->ops->free(as->ctx, p, sizeof(struct as_vma));
}

/* ---- Records ---------------------------------------------------------- */

struct as_vma *aspace_vma_new(struct aspace *as, uint64_t start, uint64_t pgoff,
			      struct aspace_object *obj, bool account)
{
	struct as_vma *d = aspace_alloc(as, sizeof(*d));

	if (!d)
		return NULL;
	memset(d, 0, sizeof(*d));
	d->as = as;
	d->start = start;
	d->pgoff = pgoff;
	d->account = account;
	d->obj = obj;
	if (obj)
		aspace_obj_link(d);
	return d;
}

void aspace_vma_free(struct as_vma *d)
{
	struct aspace *as = d->as;

	if (d->obj)
		aspace_obj_unlink(d);
	aspace_anon_put(as, d->anon);
	aspace_free(as, d, sizeof(*d));
}

struct as_anon *aspace_anon_new(struct aspace *as, bool forked)
{
	struct as_anon *a = aspace_alloc(as, sizeof(*a));

	if (a) {
		a->refs = 0;
		a->forked = forked;
	}
	return a;
}

void aspace_anon_put(struct aspace *as, struct as_anon *a)
{
	if (a && --a->refs == 0)
		aspace_free(as, a, sizeof(*a));
}

/* Give @d the identity @a (a reference); it had none. */
void aspace_set_anon(struct as_vma *d, struct as_anon *a)
{
	a->refs++;
	d->anon = a;
}

/* ---- The set's backend ------------------------------------------------ */

bool aspace_private(uint64_t flags)
{
	return !(flags & ASPACE_VM_SHARED) && !(flags & ASPACE_VM_MAYSHARE);
}

/*
 * Linux's mprotect_fixup(): memory that becomes writable is accounted if it
 * was not; unfaulted private anonymous memory that stops being writable is
 * not accounted any more.
 */
bool aspace_mprotect_account(uint64_t old_flags, uint64_t new_flags,
			     const struct as_vma *d)
{
	if (new_flags & ASPACE_VM_WRITE) {
		if (!d->account &&
		    !(old_flags & (ASPACE_VM_WRITE | ASPACE_VM_SHARED |
				   ASPACE_VM_NORESERVE)))
			return true;
	} else if (d->account && !d->obj && !d->anon) {
		return false;
	}
	return d->account;
}

static enum mapping_error hk_map(void *data, uint64_t start, uint64_t size,
				 uint64_t flags, void *pt)
{
	struct as_vma *d = data;

	(void)start, (void)size, (void)flags, (void)pt;
	aspace_plan_apply_known(d->as);
	return MAPPING_OK;
}

static enum mapping_error hk_unmap(void *data, uint64_t start, uint64_t size,
				   void *pt)
{
	struct as_vma *d = data;

	(void)pt;
	aspace_plan_apply_known(d->as);
	aspace_zap(d->as, start, start + size);
	return MAPPING_OK;
}

static enum mapping_error hk_protect(void *data, uint64_t start, uint64_t size,
				     uint64_t old_flags, uint64_t new_flags,
				     void *pt)
{
	struct as_vma *d = data; /* the area's, not necessarily the piece's */
	struct aspace *as = d->as;
	bool shared = !aspace_private(new_flags);

	(void)pt;
	aspace_plan_apply_known(as);
	if ((old_flags ^ new_flags) & AS_F_ACCESS) {
		/* Private pages get their write right at their write fault. */
		as->ops->pt_protect(as->ctx, as->pt, start, size,
				    aspace_rights(as, new_flags, shared));
		aspace_flush(as, start, size);
	}
	return MAPPING_OK;
}

static enum mapping_error hk_split(void *data, uint64_t start, uint64_t size,
				   uint64_t offset, void **right_data)
{
	struct as_vma *d = data, *r;

	(void)size;
	r = aspace_vma_new(d->as, start + offset,
			   d->pgoff + (offset >> d->as->page_shift), d->obj,
			   d->account);
	if (!r)
		return MAPPING_ERR_NO_MEMORY;
	if (d->anon)
		aspace_set_anon(r, d->anon);
	aspace_plan_apply_new(d->as, r);
	*right_data = r;
	return MAPPING_OK;
}

static void hk_release(void *data, uint64_t start, uint64_t size)
{
	(void)start, (void)size;
	aspace_vma_free(data);
}

const struct mapping_backend_ops aspace_backend_ops = {
	.version = MAPPING_BACKEND_OPS_VERSION,
	.map = hk_map,
	.unmap = hk_unmap,
	.protect = hk_protect,
	.split = hk_split,
	.release = hk_release,
	.can_merge = aspace_can_merge,
	.dup = aspace_hk_dup,
};

/* ---- Views of areas --------------------------------------------------- */

/* [start, end) with @flags as a piece whose record is @d, from @d's offset. */
void aspace_piece_new(struct as_piece *p, uint64_t start, uint64_t end,
		      uint64_t flags, struct as_vma *d)
{
	p->start = start;
	p->end = end;
	p->flags = flags;
	p->pgoff = d->pgoff;
	p->obj = d->obj;
	p->anon = d->anon;
	p->account = d->account;
	p->data = d;
	p->keep_left = false;
	p->new_range = false;
}

/* The part [lo, hi) of area @a as a piece: its flags and data, offset. */
void aspace_piece_of(const struct memory_area *a, uint64_t lo, uint64_t hi,
		     struct as_piece *p)
{
	struct as_vma *d = as_data(a);

	aspace_piece_new(p, lo, hi, a->flags, d);
	p->pgoff += (lo - a->start) >> d->as->page_shift;
	if (lo != a->start)
		p->data = NULL;
}

/* The area's VM_* bits as the API reports them. */
uint64_t aspace_area_flags(const struct memory_area *a)
{
	uint64_t f = a->flags & AS_F_VM;

	if (a->flags & AS_F_SEALED)
		f |= ASPACE_VM_SEALED;
	if (as_data(a)->account)
		f |= ASPACE_VM_ACCOUNT;
	return f;
}

/* Is every page of [start, end) in an area? */
bool aspace_range_mapped(const struct aspace *as, uint64_t start, uint64_t end)
{
	return memory_set_can_access(&as->set, start, end - start, 0) ==
	       MAPPING_OK;
}

/* Does a sealed area meet [start, end)? */
bool aspace_range_sealed(const struct aspace *as, uint64_t start, uint64_t end)
{
	struct memory_set_iter it;
	const struct memory_area *a;

	memory_set_iter_init(&it, &as->set, start);
	while ((a = memory_set_iter_next(&it)) && a->start < end)
		if (a->flags & AS_F_SEALED)
			return true;
	return false;
}

/* ---- The address space ------------------------------------------------ */

static bool ops_ok(const struct aspace_ops *o)
{
	return o && o->version >= 1 && o->alloc && o->free && o->frame_alloc &&
	       o->frame_get && o->frame_put && o->frame_refs && o->frame_map &&
	       o->pt_map && o->pt_unmap && o->pt_protect && o->pt_lookup;
}

static bool aligned(uint64_t x, uint64_t page)
{
	return (x & (page - 1)) == 0;
}

int aspace_init(struct aspace *as, const struct aspace_options *o)
{
	struct memory_set_options so;
	uint64_t page;

	if (!as || !o || o->size < sizeof(*o) || !ops_ok(o->ops) ||
	    !o->allocator || o->allocator->version < 1 ||
	    !o->allocator->alloc || !o->allocator->free)
		return -ASPACE_EINVAL;
	page = o->page_size ? o->page_size : 4096;
	if (page < 4096 || (page & (page - 1)))
		return -ASPACE_EINVAL;
	memset(as, 0, sizeof(*as));
	as->ops = o->ops;
	as->ctx = o->ctx;
	as->pt = o->page_table;
	as->allocator = o->allocator;
	as->allocator_ctx = o->allocator_ctx;
	as->page_size = page;
	while ((1ull << as->page_shift) < page)
		as->page_shift++;
	as->flags = o->flags;
	as->task_size = o->task_size ? o->task_size :
				       DEF_TASK_SIZE & ~(page - 1);
	as->mmap_base = o->mmap_base ? o->mmap_base :
				       (as->task_size > DEF_MMAP_GAP * 2 ?
						as->task_size - DEF_MMAP_GAP :
						as->task_size);
	as->mmap_min_addr = o->mmap_min_addr ? o->mmap_min_addr : DEF_MMAP_MIN;
	as->unmapped_base = o->unmapped_base ?
				    o->unmapped_base :
				    aspace_div_small(as->task_size, 3, NULL) &
					    ~(page - 1);
	as->max_map_count = o->max_map_count ? o->max_map_count :
					       DEF_MAX_MAP_COUNT;
	as->thp_size = o->thp_size;
	if (!aligned(as->task_size | as->mmap_base | as->mmap_min_addr |
			     as->unmapped_base | as->thp_size,
		     page) ||
	    as->mmap_min_addr >= as->mmap_base ||
	    as->mmap_base > as->task_size ||
	    as->unmapped_base >= as->task_size ||
	    (as->thp_size & (as->thp_size - 1)))
		return -ASPACE_EINVAL;
	as->start_brk = as->brk = AS_PAGE_ROUND_UP(as, o->start_brk);
	as->start_stack = o->start_stack;

	memset(&so, 0, sizeof(so));
	so.size = sizeof(so);
	so.merge = true;
	so.allocator = &node_allocator;
	so.allocator_ctx = as;
	so.granule = page;
	if (memory_set_init(&as->set, &so) != MAPPING_OK)
		return -ASPACE_EINVAL;
	/* vm.max_map_count, counted by the set exactly (Linux counts before
	 * merges: the two agree but at the limit). */
	memory_set_set_max_areas(&as->set, as->max_map_count);
	return 0;
}

void aspace_destroy(struct aspace *as)
{
	if (!as || !as->ops)
		return;
	memory_set_clear(&as->set, as->pt);
	memory_set_destroy(&as->set);
	aspace_names_free(as);
	aspace_unreserve(as);
	as->ops = NULL;
}

void aspace_set_brk(struct aspace *as, uint64_t start_brk)
{
	as->start_brk = as->brk = AS_PAGE_ROUND_UP(as, start_brk);
}

void aspace_set_stack(struct aspace *as, uint64_t start_stack)
{
	as->start_stack = start_stack;
}

uint64_t aspace_areas(const struct aspace *as)
{
	return memory_set_len(&as->set);
}

bool aspace_area(const struct aspace *as, uint64_t addr,
		 struct aspace_area_info *info)
{
	const struct memory_area *a = memory_set_find(&as->set, addr);
	const struct as_vma *d;

	if (!a)
		return false;
	d = as_data(a);
	info->start = a->start;
	info->end = as_end(a);
	info->flags = aspace_area_flags(a);
	info->pgoff = d->pgoff;
	info->object = d->obj;
	info->name = aspace_name_of(as, a->flags);
	info->anon = d->anon != NULL;
	return true;
}
