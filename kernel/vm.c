/*
 * Address spaces: a memory_set per process and its Sv39 page table, kept in
 * step by the backend below. The set decides (which areas exist, with which
 * flags); the backend hooks only write page-table entries:
 *
 *   map      nothing (pages come on demand), or every page with MAP_POPULATE
 *   unmap    drop the entries and their frames
 *   protect  rewrite the permission bits of the present entries
 *   dup      fork: share every present frame read-only in both tables
 *   move     mremap: move the entries, so the frames (the contents) move
 *   fault    demand-zero a page, or break copy-on-write
 *
 * The rule that ties them together is leaf(): a frame referenced by more
 * than one page table is never writable, so the first store to it faults
 * and the fault hook copies it.
 */
#include "kernel.h"

#define PTE_V (1ul << 0)
#define PTE_R (1ul << 1)
#define PTE_W (1ul << 2)
#define PTE_X (1ul << 3)
#define PTE_U (1ul << 4)
#define PTE_G (1ul << 5)
#define PTE_A (1ul << 6)
#define PTE_D (1ul << 7)
/* Software bit: not valid, but holds a frame (a PROT_NONE page keeps its data). */
#define PTE_KEPT (1ul << 8)

#define PTE_PA(pte) (((pte) >> 10) << 12)
#define PA_PTE(pa) (((pa) >> 12) << 10)
#define VPN(va, level) (((va) >> (12 + 9 * (level))) & 511)
#define LEVEL_SIZE(level) (1ul << (12 + 9 * (level)))

/* A gigapage of the kernel's half at physical @pa: global, not for U-mode. */
#define KERNEL_PTE(pa) (PA_PTE(pa) | PTE_V | PTE_R | PTE_W | PTE_X | PTE_G | \
			PTE_A | PTE_D)
#define GIGAPAGE_OF(pa) ((pa) & ~(LEVEL_SIZE(2) - 1))
#define KERNEL_HALF VPN(DIRECT_MAP, 2) /* the root's first entry of the kernel */

_Static_assert(RAM_BASE + RAM_SIZE <= -DIRECT_MAP,
	       "RAM beyond the direct map (physical addresses below 256 GiB)");

static void sfence_vma(void)
{
	asm volatile("sfence.vma zero, zero" ::: "memory");
}

static void sfence_vma_page(uint64_t va)
{
	asm volatile("sfence.vma %0, zero" : : "r"(va) : "memory");
}

/* ---- The set's nodes: one fixed pool for every process ---- */

#define NODES 2048
static uint64_t node_buffer[MEMORY_SET_POOL_BYTES(NODES) / sizeof(uint64_t)];
static struct memory_set_pool node_pool;

bool mm_init(struct memory_set *mm)
{
	struct memory_set_options o = { 0 };

	o.size = sizeof(o);
	o.allocator = &memory_set_pool_allocator;
	o.allocator_ctx = &node_pool;
	o.granule = PAGE_SIZE;
	o.merge = true;
	return memory_set_init(mm, &o) == MAPPING_OK;
}

uint64_t mm_nodes_free(void)
{
	return memory_set_pool_available(&node_pool);
}

/* ---- Page tables ---- */

/*
 * The kernel's own root, whose upper half every process's table copies.
 * entry.S turns the MMU on with it as the image holds it: the kernel's
 * gigapage at its physical address, where the boot code runs, and at its
 * place in the direct map, where it jumps. vm_init() maps the rest of RAM
 * and drops the first. (Not static: entry.S needs it before any C runs.)
 */
uint64_t kernel_root[512] __attribute__((aligned(PAGE_SIZE))) = {
	[VPN(KERNEL_PA, 2)] = KERNEL_PTE(GIGAPAGE_OF(KERNEL_PA)),
	[VPN(KERNEL_VA, 2)] = KERNEL_PTE(GIGAPAGE_OF(KERNEL_PA)),
};
static struct pagetable kernel_pt = { .root = kernel_root };
static const uint64_t *active_root = kernel_root;

void vm_init(void)
{
	/* Gigapages: the last may reach past the end of RAM, never used there. */
	for (uint64_t pa = GIGAPAGE_OF(RAM_BASE); pa < RAM_BASE + RAM_SIZE;
	     pa += LEVEL_SIZE(2))
		kernel_root[VPN(DIRECT_MAP + pa, 2)] = KERNEL_PTE(pa);
	kernel_root[VPN(KERNEL_PA, 2)] = 0;
	sfence_vma();
	if (memory_set_pool_init(&node_pool, node_buffer, sizeof(node_buffer)))
		panic("vm: node pool");
}

/* The table an entry points to, in the direct map. */
static uint64_t *table_of(uint64_t pte)
{
	return phys_to_virt(PTE_PA(pte));
}

bool pagetable_create(struct pagetable *pt)
{
	uint64_t root = frame_alloc();

	pt->root = NULL;
	pt->populate = false;
	if (!root)
		return false;
	pt->root = phys_to_virt(root);
	memcpy(&pt->root[KERNEL_HALF], &kernel_root[KERNEL_HALF],
	       (512 - KERNEL_HALF) * sizeof(uint64_t));
	return true;
}

/*
 * Free a page table and its tables. Its areas are unmapped by then; a leaf
 * still holding a frame (one the checker reported) is dropped too.
 */
void pagetable_destroy(struct pagetable *pt)
{
	for (uint64_t i = 0; i < KERNEL_HALF; i++) {
		uint64_t *l1 = table_of(pt->root[i]);

		if (!(pt->root[i] & PTE_V))
			continue;
		for (int j = 0; j < 512; j++) {
			uint64_t *l0 = table_of(l1[j]);

			if (!(l1[j] & PTE_V))
				continue;
			for (int k = 0; k < 512; k++)
				if (l0[k] & (PTE_V | PTE_KEPT))
					frame_put(PTE_PA(l0[k]));
			frame_put(virt_to_phys(l0));
		}
		frame_put(virt_to_phys(l1));
	}
	if (pt->root == active_root)
		pagetable_activate(&kernel_pt); /* the root frame may be reused */
	frame_put(virt_to_phys(pt->root));
	pt->root = NULL;
}

void pagetable_activate(const struct pagetable *pt)
{
	if (pt->root == active_root)
		return;
	active_root = pt->root;
	asm volatile("csrw satp, %0" : : "r"(SATP_SV39 | virt_to_phys(pt->root) >> 12));
	sfence_vma(); /* no ASIDs: the old translations must go */
}

/* The leaf entry of @va, making the tables on the way if @alloc. */
static uint64_t *walk(const struct pagetable *pt, uint64_t va, bool alloc)
{
	uint64_t *table = pt->root;

	for (int level = 2; level > 0; level--) {
		uint64_t *pte = &table[VPN(va, level)];

		if (!(*pte & PTE_V)) {
			uint64_t pa = alloc ? frame_alloc() : 0;

			if (!pa)
				return NULL;
			*pte = PA_PTE(pa) | PTE_V;
		}
		table = table_of(*pte);
	}
	return &table[VPN(va, 0)];
}

/*
 * The next leaf holding a frame at or after *va and below @end, or NULL;
 * *va becomes its address. Missing tables are skipped whole, so walking a
 * large, mostly empty range is cheap.
 */
static uint64_t *next_leaf(const struct pagetable *pt, uint64_t *va,
			   uint64_t end)
{
	while (*va < end) {
		uint64_t *table = pt->root;
		int level;

		for (level = 2; level > 0; level--) {
			uint64_t pte = table[VPN(*va, level)];

			if (!(pte & PTE_V))
				break;
			table = table_of(pte);
		}
		if (level > 0) {
			*va = (*va & ~(LEVEL_SIZE(level) - 1)) + LEVEL_SIZE(level);
			continue;
		}
		uint64_t *pte = &table[VPN(*va, 0)];

		if (*pte & (PTE_V | PTE_KEPT))
			return pte;
		*va += PAGE_SIZE;
	}
	return NULL;
}

#define for_each_leaf(pt, pte, va, start, end) \
	for ((va) = (start); ((pte) = next_leaf((pt), &(va), (end))) != NULL; \
	     (va) += PAGE_SIZE)

/*
 * The entry for frame @pa in an area with @flags. RISC-V has no write-only
 * pages, so write implies read. A shared frame is mapped read-only: the
 * first store faults and breaks the sharing.
 */
static uint64_t leaf(uint64_t pa, uint64_t flags)
{
	uint64_t perm = 0;

	if (flags & PROT_READ)
		perm |= PTE_R;
	if (flags & PROT_WRITE)
		perm |= PTE_R | PTE_W;
	if (flags & PROT_EXEC)
		perm |= PTE_X;
	if (!perm)
		return PA_PTE(pa) | PTE_KEPT;
	if (frame_refs(pa) > 1)
		perm &= ~PTE_W;
	return PA_PTE(pa) | perm | PTE_V | PTE_U | PTE_A | PTE_D;
}

/* ---- The backend ---- */

static enum mapping_error anon_unmap(void *data, uint64_t start,
				     uint64_t size, void *page_table)
{
	struct pagetable *pt = page_table;
	uint64_t va, *pte;

	(void)data;
	for_each_leaf(pt, pte, va, start, start + size) {
		frame_put(PTE_PA(*pte));
		*pte = 0;
	}
	sfence_vma();
	return MAPPING_OK;
}

static enum mapping_error anon_map(void *data, uint64_t start, uint64_t size,
				   uint64_t flags, void *page_table)
{
	struct pagetable *pt = page_table;

	if (!pt->populate)
		return MAPPING_OK; /* the fault hook brings each page in */
	for (uint64_t va = start; va < start + size; va += PAGE_SIZE) {
		uint64_t *pte = walk(pt, va, true);
		uint64_t pa = pte ? frame_alloc() : 0;

		if (!pa) {
			/* A failing hook leaves the range as it found it. */
			anon_unmap(data, start, va - start, pt);
			return MAPPING_ERR_NO_MEMORY;
		}
		*pte = leaf(pa, flags);
	}
	sfence_vma(); /* Sv39 may cache invalid entries too */
	return MAPPING_OK;
}

static enum mapping_error anon_protect(void *data, uint64_t start,
				       uint64_t size, uint64_t old_flags,
				       uint64_t new_flags, void *page_table)
{
	struct pagetable *pt = page_table;
	uint64_t va, *pte;

	(void)data;
	(void)old_flags;
	for_each_leaf(pt, pte, va, start, start + size)
		*pte = leaf(PTE_PA(*pte), new_flags);
	sfence_vma();
	return MAPPING_OK;
}

static enum mapping_error anon_dup(void *data, uint64_t start, uint64_t size,
				   uint64_t flags, void *src_page_table,
				   void *dst_page_table, void **child_data)
{
	struct pagetable *src = src_page_table, *dst = dst_page_table;
	uint64_t va, *pte;

	/* First the child's tables: once frames are shared nothing may fail. */
	for_each_leaf(src, pte, va, start, start + size)
		if (!walk(dst, va, true))
			return MAPPING_ERR_NO_MEMORY;
	for_each_leaf(src, pte, va, start, start + size) {
		frame_get(PTE_PA(*pte));
		*pte = leaf(PTE_PA(*pte), flags); /* now shared: read-only */
		*walk(dst, va, false) = *pte;
	}
	sfence_vma(); /* the parent's writable entries became read-only */
	*child_data = data;
	return MAPPING_OK;
}

static enum mapping_error anon_move(void *data, uint64_t old_start,
				    uint64_t new_start, uint64_t size,
				    uint64_t flags, void *page_table)
{
	struct pagetable *pt = page_table;
	uint64_t va, *pte;

	(void)data;
	(void)flags;
	for_each_leaf(pt, pte, va, old_start, old_start + size)
		if (!walk(pt, va - old_start + new_start, true))
			return MAPPING_ERR_NO_MEMORY;
	for_each_leaf(pt, pte, va, old_start, old_start + size) {
		*walk(pt, va - old_start + new_start, false) = *pte;
		*pte = 0;
	}
	sfence_vma();
	return MAPPING_OK;
}

static enum mapping_error anon_fault(void *data, const struct memory_area *area,
				     uint64_t addr, uint64_t access,
				     void *page_table)
{
	struct pagetable *pt = page_table;
	uint64_t va = PAGE_ROUND_DOWN(addr);
	uint64_t allowed = area->flags;
	uint64_t *pte;

	(void)data;
	if (allowed & PROT_WRITE)
		allowed |= PROT_READ;
	access &= MAPPING_ACCESS_READ | MAPPING_ACCESS_WRITE | MAPPING_ACCESS_EXEC;
	if ((allowed & access) != access)
		return MAPPING_ERR_ACCESS_DENIED;

	pte = walk(pt, va, true);
	if (!pte)
		return MAPPING_ERR_NO_MEMORY;
	if (!(*pte & PTE_V)) {
		/* Demand-zero: the first touch of a lazily mapped page. */
		uint64_t pa = frame_alloc();

		if (!pa)
			return MAPPING_ERR_NO_MEMORY;
		*pte = leaf(pa, area->flags);
	} else if ((access & MAPPING_ACCESS_WRITE) && !(*pte & PTE_W)) {
		/* Copy-on-write: copy a shared frame; the last sharer keeps it. */
		uint64_t old = PTE_PA(*pte), pa = old;

		if (frame_refs(old) > 1) {
			pa = frame_alloc();
			if (!pa)
				return MAPPING_ERR_NO_MEMORY;
			memcpy(phys_to_virt(pa), phys_to_virt(old), PAGE_SIZE);
			frame_put(old);
		}
		*pte = leaf(pa, area->flags);
	}
	/* Else another hart's stale view; here, a retry after the fence. */
	sfence_vma_page(va);
	return MAPPING_OK;
}

static const struct mapping_backend_ops anon_ops = {
	.version = MAPPING_BACKEND_OPS_VERSION,
	.map = anon_map,
	.unmap = anon_unmap,
	.protect = anon_protect,
	.dup = anon_dup,
	.move = anon_move,
	.fault = anon_fault,
};

/* Anonymous memory needs no per-area data, so touching areas merge. */
const struct mapping_backend anon_backend = { &anon_ops, NULL };

/* ---- The kernel's access to user memory ---- */

/*
 * Copy @len bytes between @buf and user address @uva of an address space,
 * through its page table: the kernel reads and writes the frames through
 * the direct map, so the target need not be the active one. A page
 * that is missing, or read-only for a copy to the user (copy-on-write), goes
 * through the fault path first, as the process's own access would.
 * Returns 0, or -EFAULT when the process itself could not do this access.
 */
int user_copy(struct memory_set *mm, struct pagetable *pt, uint64_t uva,
	      void *buf, size_t len, bool to_user)
{
	uint64_t need = PTE_V | PTE_U | (to_user ? PTE_W : PTE_R);
	uint64_t access = to_user ? MAPPING_ACCESS_WRITE : MAPPING_ACCESS_READ;
	char *p = buf;

	while (len) {
		uint64_t n = PAGE_SIZE - uva % PAGE_SIZE;
		uint64_t *pte = uva < USER_TOP ? walk(pt, uva, false) : NULL;

		if (!pte || (*pte & need) != need) {
			if (uva >= USER_TOP ||
			    memory_set_handle_fault(mm, uva, access, pt, NULL))
				return -EFAULT;
			pte = walk(pt, uva, false);
		}
		if (n > len)
			n = len;
		char *frame = (char *)phys_to_virt(PTE_PA(*pte)) + uva % PAGE_SIZE;

		if (to_user)
			memcpy(frame, p, n);
		else
			memcpy(p, frame, n);
		p += n;
		uva += n;
		len -= n;
	}
	return 0;
}

/* Copy a program's bytes into populated pages, read-only ones included. */
void vm_load(const struct pagetable *pt, uint64_t va, const void *src,
	     size_t len)
{
	const char *p = src;

	while (len) {
		uint64_t *pte = walk(pt, va, false);
		uint64_t n = PAGE_SIZE - va % PAGE_SIZE;

		if (!pte || !(*pte & PTE_V))
			panic("vm_load: %lx is not populated", va);
		if (n > len)
			n = len;
		memcpy((char *)phys_to_virt(PTE_PA(*pte)) + va % PAGE_SIZE, p, n);
		p += n;
		va += n;
		len -= n;
	}
}

/* ---- Debug checks ---- */

/*
 * Do the set and the page table agree? (The set's own invariants are
 * checked by the core after every mutation in debug builds.) Every entry that holds a frame lies in an area, inside the user window,
 * with exactly the bits leaf() gives for the area's flags (an unshared
 * frame may still be read-only after a copy-on-write partner left: the next
 * store makes it writable); and the frame is in use. NULL if all hold.
 */
const char *vm_check(const struct memory_set *mm, const struct pagetable *pt)
{
	struct memory_set_iter it;
	const struct memory_area *a;
	uint64_t va, *pte;

	memory_set_iter_init(&it, mm, 0);
	a = memory_set_iter_next(&it);
	if (a && a->start < USER_MIN)
		return "an area below the user window";
	memory_set_iter_init_end(&it, mm);
	a = memory_set_iter_prev(&it);
	if (a && memory_area_last(a) >= USER_TOP)
		return "an area above the user window";
	if (memcmp(&pt->root[KERNEL_HALF], &kernel_root[KERNEL_HALF],
		   (512 - KERNEL_HALF) * sizeof(uint64_t)))
		return "the kernel's half changed";

	/* Entries and areas both in address order: one pass over each. */
	memory_set_iter_init(&it, mm, 0);
	a = memory_set_iter_next(&it);
	for_each_leaf(pt, pte, va, 0, USER_TOP) {
		uint64_t pa = PTE_PA(*pte);

		while (a && memory_area_last(a) < va)
			a = memory_set_iter_next(&it);
		if (!a || !memory_area_contains(a, va))
			return "a page-table entry outside every area";
		if (pa < RAM_BASE || pa >= RAM_BASE + RAM_SIZE || !frame_refs(pa))
			return "a page-table entry maps a free frame";
		uint64_t want = leaf(pa, a->flags);

		if ((*pte & ~PTE_W) != (want & ~PTE_W) ||
		    ((*pte & PTE_W) && !(want & PTE_W)))
			return "a page-table entry's bits differ from its area's flags";
	}
	return NULL;
}

/* For the checker's own test: an entry no area accounts for. */
void vm_plant_stray_pte(struct pagetable *pt)
{
	uint64_t *pte = walk(pt, USER_MIN - PAGE_SIZE, true);
	uint64_t pa = pte ? frame_alloc() : 0;

	if (pa)
		*pte = leaf(pa, PROT_READ);
}
