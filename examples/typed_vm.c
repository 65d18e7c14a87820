/*
 * The typed wrapper (docs/typed.md): a set whose page table, per-area data
 * and flags have types of their own, checked by the compiler. Valid C11 and
 * C++11; tests/examples builds it both ways.
 */
#include <stdio.h>
#include <string.h>

#include <memory_set/malloc.h>
#include <memory_set/typed.h>

/* Flags: an unsigned type, with names for its bits. (An enum type works
 * too, but C++ makes PROT_R | PROT_W an int that needs a cast back.) */
typedef uint32_t prot_t;
enum { PROT_R = 1, PROT_W = 2, PROT_X = 4 };

#define PAGE 4096u
#define NPAGES 64u

/* The page table: the flags of each of 64 pages from 0 (0: unmapped). */
struct page_table {
	prot_t page[NPAGES];
};

/* Per-area data: which object the area shows. */
struct vm_object {
	const char *name;
};

MEMORY_SET_TYPED(vm, prot_t, struct page_table, struct vm_object);

static void set_pages(struct page_table *pt, uint64_t start, uint64_t size,
		      prot_t flags)
{
	uint64_t a;

	for (a = start; a < start + size; a += PAGE)
		pt->page[a / PAGE] = flags;
}

static enum mapping_error obj_map(struct vm_object *o, uint64_t start,
				  uint64_t size, prot_t flags,
				  struct page_table *pt)
{
	(void)o;
	if (start / PAGE + size / PAGE > NPAGES)
		return MAPPING_ERR_INVALID_PARAM;
	set_pages(pt, start, size, flags);
	return MAPPING_OK;
}

static enum mapping_error obj_unmap(struct vm_object *o, uint64_t start,
				    uint64_t size, struct page_table *pt)
{
	(void)o;
	set_pages(pt, start, size, 0);
	return MAPPING_OK;
}

static enum mapping_error obj_protect(struct vm_object *o, uint64_t start,
				      uint64_t size, prot_t old_flags,
				      prot_t new_flags, struct page_table *pt)
{
	(void)o, (void)old_flags;
	set_pages(pt, start, size, new_flags);
	return MAPPING_OK;
}

/* fork: the child shows the same object; its page table gets the pages. */
static enum mapping_error obj_dup(struct vm_object *o, uint64_t start,
				  uint64_t size, prot_t flags,
				  struct page_table *src, struct page_table *dst,
				  struct vm_object **child)
{
	(void)src;
	set_pages(dst, start, size, flags);
	*child = o;
	return MAPPING_OK;
}

MEMORY_SET_TYPED_HOOK(vm, map, obj_map_hook, obj_map);
MEMORY_SET_TYPED_HOOK(vm, unmap, obj_unmap_hook, obj_unmap);
MEMORY_SET_TYPED_HOOK(vm, protect, obj_protect_hook, obj_protect);
MEMORY_SET_TYPED_HOOK(vm, dup, obj_dup_hook, obj_dup);

static const struct vm_backend_ops obj_ops = { {
	MAPPING_BACKEND_OPS_VERSION, 0u, obj_map_hook, obj_unmap_hook,
	obj_protect_hook, NULL, NULL, NULL, obj_dup_hook, NULL, NULL } };

int main(void)
{
	struct vm_object heap = { "heap" };
	struct vm_backend b = memory_set_typed_backend(vm, &obj_ops, &heap);
	struct page_table pt, child_pt;
	struct memory_set_options opts;
	struct vm set, child;
	const struct memory_area *a;
	enum mapping_error err;
	int failed = 0;

	memset(&pt, 0, sizeof(pt));
	memset(&child_pt, 0, sizeof(child_pt));
	memset(&opts, 0, sizeof(opts));
	opts.size = sizeof(opts);
	opts.allocator = &memory_set_malloc_allocator;
	if (memory_set_typed_init(vm, &set, &opts) != MAPPING_OK ||
	    memory_set_typed_init(vm, &child, &opts) != MAPPING_OK)
		return 1;

	err = memory_set_typed_map(vm, &set, 0x10000, 0x4000, PROT_R | PROT_W,
				   &b, &pt, false);
	if (err == MAPPING_OK) /* the second page: read-only */
		err = memory_set_typed_protect_flags(vm, &set, 0x11000, 0x1000,
						     PROT_R, PROT_R | PROT_W,
						     &pt);
	if (err == MAPPING_OK)
		err = memory_set_typed_dup(vm, &child, &set, &pt, &child_pt);
	if (err != MAPPING_OK) {
		printf("error: %s\n", mapping_strerror(err));
		failed = 1;
	}

	a = memory_set_typed_find(vm, &child, 0x11000);
	if (a)
		printf("child: [%#llx, %#llx) flags %u, object %s\n",
		       (unsigned long long)a->start,
		       (unsigned long long)memory_area_end(a),
		       (unsigned)vm_area_flags(a), vm_area_data(a)->name);
	printf("areas: %llu and %llu; page 0x11000: %u and %u\n",
	       (unsigned long long)memory_set_typed_len(vm, &set),
	       (unsigned long long)memory_set_typed_len(vm, &child),
	       (unsigned)pt.page[0x11], (unsigned)child_pt.page[0x11]);

	if (memory_set_typed_clear(vm, &set, &pt) != MAPPING_OK ||
	    memory_set_typed_clear(vm, &child, &child_pt) != MAPPING_OK)
		failed = 1;
	memory_set_typed_destroy(vm, &set);
	memory_set_typed_destroy(vm, &child);
	return failed;
}
