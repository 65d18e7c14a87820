/*
 * Address spaces: the host side of the address-space layer
 * (memory_set/aspace.h) on Sv39. The layer decides every area, every
 * page-table entry and every frame reference, as Linux does (mmap,
 * munmap, mprotect, mremap, brk, fork, page faults, copy-on-write); this
 * file only does what it asks of the machine:
 *
 *   frames      frame.c's, reached through the direct map
 *   pt_map      write one leaf entry, making the tables on the way
 *   pt_unmap    clear the leaves of a range
 *   pt_protect  rewrite the rights of the present leaves of a range
 *   pt_lookup   the next leaf holding a frame (missing tables skipped whole)
 *   pt_reserve  make the tables of a range, so that pt_map cannot fail
 *   pt_trim     free the tables of a range that map nothing any more
 *   tlb_flush   sfence.vma over a range
 *
 * and the debug check of the page table against the layer's areas.
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

void vm_fence_page(uint64_t va)
{
	asm volatile("sfence.vma %0, zero" : : "r"(va) : "memory");
}

/* ---- The set's nodes: one fixed pool for every process ---- */

#define NODES 2048
/* Aligned to cache lines, so are the nodes (9 lines each). */
static _Alignas(64) uint64_t node_buffer[MEMORY_SET_POOL_BYTES(NODES) / sizeof(uint64_t)];
static struct memory_set_pool node_pool;

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
	kalloc_init();
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
 * The one encoding of an entry: frame @pa with the layer's @rights
 * (ASPACE_PTE_*). No right at all (PROT_NONE) gives an invalid entry that
 * keeps its frame. The layer never asks for write without read (RISC-V
 * reserves that encoding) nor for write on a shared frame.
 */
static uint64_t leaf(uint64_t pa, unsigned rights)
{
	uint64_t perm = 0;

	if (rights & ASPACE_PTE_READ)
		perm |= PTE_R;
	if (rights & ASPACE_PTE_WRITE)
		perm |= PTE_W;
	if (rights & ASPACE_PTE_EXEC)
		perm |= PTE_X;
	if (!perm)
		return PA_PTE(pa) | PTE_KEPT;
	return PA_PTE(pa) | perm | PTE_V | PTE_U | PTE_A | PTE_D;
}

static unsigned rights_of(uint64_t pte)
{
	if (!(pte & PTE_V))
		return 0;
	return (pte & PTE_R ? ASPACE_PTE_READ : 0) |
	       (pte & PTE_W ? ASPACE_PTE_WRITE : 0) |
	       (pte & PTE_X ? ASPACE_PTE_EXEC : 0);
}

/* ---- The layer's hooks ---- */

static void *hk_alloc(void *ctx, size_t size)
{
	(void)ctx;
	return kalloc(size);
}

static void hk_free(void *ctx, void *ptr, size_t size)
{
	(void)ctx;
	kfree(ptr, size);
}

static int hk_frame_alloc(void *ctx, uint64_t *frame)
{
	(void)ctx;
	*frame = frame_alloc();
	return *frame ? 0 : -ASPACE_ENOMEM;
}

static void hk_frame_get(void *ctx, uint64_t frame)
{
	(void)ctx;
	frame_get(frame);
}

static void hk_frame_put(void *ctx, uint64_t frame)
{
	(void)ctx;
	frame_put(frame);
}

static uint64_t hk_frame_refs(void *ctx, uint64_t frame)
{
	(void)ctx;
	return frame_refs(frame);
}

static void *hk_frame_map(void *ctx, uint64_t frame)
{
	(void)ctx;
	return phys_to_virt(frame);
}

static int hk_pt_map(void *ctx, void *pt, uint64_t va, uint64_t frame,
		     unsigned rights)
{
	uint64_t *pte = walk(pt, va, true);

	(void)ctx;
	if (!pte)
		return -ASPACE_ENOMEM;
	*pte = leaf(frame, rights);
	return 0;
}

static void hk_pt_unmap(void *ctx, void *pt, uint64_t va, uint64_t size)
{
	uint64_t at, *pte;

	(void)ctx;
	for_each_leaf(pt, pte, at, va, va + size)
		*pte = 0;
}

static void hk_pt_protect(void *ctx, void *pt, uint64_t va, uint64_t size,
			  unsigned rights)
{
	uint64_t at, *pte;

	(void)ctx;
	for_each_leaf(pt, pte, at, va, va + size)
		*pte = leaf(PTE_PA(*pte), rights);
}

static bool hk_pt_lookup(void *ctx, void *pt, uint64_t *va, uint64_t end,
			 uint64_t *frame, unsigned *rights)
{
	uint64_t *pte = next_leaf(pt, va, end);

	(void)ctx;
	if (!pte)
		return false;
	*frame = PTE_PA(*pte);
	*rights = rights_of(*pte);
	return true;
}

/* Every table [va, va+size) needs: one leaf table per 2 MiB. */
static int hk_pt_reserve(void *ctx, void *pt, uint64_t va, uint64_t size)
{
	(void)ctx;
	for (uint64_t at = va; at < va + size;
	     at = (at & ~(LEVEL_SIZE(1) - 1)) + LEVEL_SIZE(1))
		if (!walk(pt, at, true))
			return -ASPACE_ENOMEM;
	return 0;
}

static bool table_empty(const uint64_t *table)
{
	for (int i = 0; i < 512; i++)
		if (table[i])
			return false;
	return true;
}

/* Free the leaf tables of [va, va+size) that map nothing, then their parents. */
static void hk_pt_trim(void *ctx, void *pt, uint64_t va, uint64_t size)
{
	uint64_t *root = ((struct pagetable *)pt)->root;
	bool freed = false;

	(void)ctx;
	for (uint64_t at = va & ~(LEVEL_SIZE(2) - 1); at < va + size;
	     at += LEVEL_SIZE(2)) {
		uint64_t *l1e = &root[VPN(at, 2)];

		if (!(*l1e & PTE_V))
			continue;
		uint64_t *l1 = table_of(*l1e);
		uint64_t lo = at < va ? VPN(va, 1) : 0;
		uint64_t hi = at + LEVEL_SIZE(2) > va + size ?
			      VPN(va + size - 1, 1) : 511;

		for (uint64_t j = lo; j <= hi; j++) {
			if (!(l1[j] & PTE_V) || !table_empty(table_of(l1[j])))
				continue;
			frame_put(PTE_PA(l1[j]));
			l1[j] = 0;
			freed = true;
		}
		if (table_empty(l1)) {
			frame_put(PTE_PA(*l1e));
			*l1e = 0;
			freed = true;
		}
	}
	if (freed)
		sfence_vma(); /* the hart may cache the entries that led there */
}

/* Small ranges a page at a time; larger ones are cheaper flushed whole. */
#define FLUSH_PAGES 32

static void hk_tlb_flush(void *ctx, void *pt, uint64_t va, uint64_t size)
{
	(void)ctx;
	(void)pt;
	if (size > FLUSH_PAGES * PAGE_SIZE) {
		sfence_vma();
		return;
	}
	for (uint64_t at = va; at < va + size; at += PAGE_SIZE)
		vm_fence_page(at);
}

static const struct aspace_ops sv39_ops = {
	.version = ASPACE_OPS_VERSION,
	.alloc = hk_alloc,
	.free = hk_free,
	.frame_alloc = hk_frame_alloc,
	.frame_get = hk_frame_get,
	.frame_put = hk_frame_put,
	.frame_refs = hk_frame_refs,
	.frame_map = hk_frame_map,
	.pt_map = hk_pt_map,
	.pt_unmap = hk_pt_unmap,
	.pt_protect = hk_pt_protect,
	.pt_lookup = hk_pt_lookup,
	.tlb_flush = hk_tlb_flush,
	.pt_reserve = hk_pt_reserve,
	.pt_trim = hk_pt_trim,
};

/*
 * A process's empty address space over its page table: user space is the
 * lower half, mmap places top-down below MMAP_TOP (the stack's room above
 * it), and, as for root on Linux, MAP_FIXED may go below mmap_min_addr.
 */
int vm_space_init(struct aspace *as, struct pagetable *pt)
{
	struct aspace_options o = { 0 };

	o.size = sizeof(o);
	o.flags = ASPACE_OPT_LOW_MAP;
	o.ops = &sv39_ops;
	o.page_table = pt;
	o.allocator = &memory_set_pool_allocator;
	o.allocator_ctx = &node_pool;
	o.task_size = USER_TOP;
	o.mmap_base = MMAP_TOP;
	o.mmap_min_addr = USER_MIN;
	o.start_stack = USER_TOP - PAGE_SIZE;
	return aspace_init(as, &o);
}

/* ---- Debug checks ---- */

/*
 * Do the areas and the page table agree? The layer's own checker first
 * (its invariants, and every entry, as pt_lookup reads it, inside an area
 * with rights the area allows and a frame it may use); then the entries as
 * the hart reads them, which pt_lookup's reading could hide: the kernel's
 * half as the kernel's root has it; tables that are only tables; leaves
 * that are exactly what leaf() makes (U, A, D, no G, no write without
 * read) of a frame in use, inside an area. NULL if all hold.
 */
const char *vm_check(const struct aspace *as, const struct pagetable *pt)
{
	const char *msg = aspace_check(as);
	struct aspace_area_info info = { 0 };

	if (msg)
		return msg;
	if (memcmp(&pt->root[KERNEL_HALF], &kernel_root[KERNEL_HALF],
		   (512 - KERNEL_HALF) * sizeof(uint64_t)))
		return "the kernel's half changed";
	for (uint64_t i = 0; i < KERNEL_HALF; i++) {
		if (pt->root[i] & ~(PTE_V | ~0x3fful))
			return "a root entry that is no table";
		if (!(pt->root[i] & PTE_V))
			continue;
		const uint64_t *l1 = table_of(pt->root[i]);

		for (int j = 0; j < 512; j++) {
			if (l1[j] & ~(PTE_V | ~0x3fful))
				return "a middle entry that is no table";
			if (!(l1[j] & PTE_V))
				continue;
			const uint64_t *l0 = table_of(l1[j]);

			for (int k = 0; k < 512; k++) {
				uint64_t e = l0[k], pa = PTE_PA(e);
				uint64_t va = (i << 30) | ((uint64_t)j << 21) |
					      ((uint64_t)k << 12);

				if (!e)
					continue;
				if (e != leaf(pa, rights_of(e)) ||
				    ((e & PTE_W) && !(e & PTE_R)))
					return "a page-table entry leaf() would not make";
				if (pa < RAM_BASE || pa >= RAM_BASE + RAM_SIZE ||
				    !frame_refs(pa))
					return "a page-table entry maps a free frame";
				if ((va < info.start || va >= info.end) &&
				    !aspace_area(as, va, &info))
					return "a page-table entry outside every area";
			}
		}
	}
	return NULL;
}

/* For the checker's own test: an entry no area accounts for. */
void vm_plant_stray_pte(struct pagetable *pt)
{
	uint64_t *pte = walk(pt, USER_MIN - PAGE_SIZE, true);
	uint64_t pa = pte ? frame_alloc() : 0;

	if (pa)
		*pte = leaf(pa, ASPACE_PTE_READ);
}
